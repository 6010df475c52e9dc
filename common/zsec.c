/* zsec: the sockets behind zsec.h. */
#include "common/zsec.h"

#include "common/decision.h"
#include "common/window.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZSEC_MAX_SOCKS (2 * FG_MAX_SHARDS + 4)
/* Bounds of the messages, from proto/floodgate.proto. A FlowBatch record is
 * 80 bytes of fixed-width columns (plus the exporter table, at most 256
 * entries of 18 bytes, in the header allowance). */
#define ZSEC_FB_RECORD 96
#define ZSEC_FB_HEADER 65536
/* A WindowBatch host with its 25 top contributors packs to under 1536
 * bytes, one without (the aggregator watches at most 16384 hosts) to under
 * 288; plus the group totals and the header. */
#define ZSEC_WB_WATCHED 16384
#define ZSEC_WB_HOST_TOP 1536
#define ZSEC_WB_HOST 288
#define ZSEC_WB_HEADER 65536
#define ZSEC_DECISION DEC_MAX_BYTES /* the codec's bound (64 KiB) */
/* Sockets that receive no messages: ZMTP commands (handshake, Curve
 * INITIATE with its metadata) and subscriptions are far smaller. */
#define ZSEC_CONTROL 4096

typedef struct {
    const char *name; /* the socket label in metrics */
    int type;
    bool server;
    int hwm;    /* the direction that carries the data; 0 = from the config */
    int linger; /* ms a closing socket keeps trying to hand over */
} zsec_role_def_t;

static const zsec_role_def_t s_roles[ZSEC_ROLES] = {
    [ZSEC_AGG_PULL] = {"pull", ZMQ_PULL, true, 0, 0}, /* aggregator/recv_hwm */
    [ZSEC_AGG_PUB] = {"pub", ZMQ_PUB, true, 1000, 0},
    [ZSEC_ACT_PULL] = {"pull", ZMQ_PULL, true, 1000, 0},
    [ZSEC_COL_PUSH] = {"push", ZMQ_PUSH, false, 0, 1000},
    [ZSEC_DET_SUB] = {"sub", ZMQ_SUB, false, 1000, 0},
    [ZSEC_DET_PUSH] = {"push", ZMQ_PUSH, false, 10000, 1000},
    [ZSEC_TOP_SUB] = {"sub", ZMQ_SUB, false, 100, 0},
};

typedef struct {
    zsock_t *sock;
    zsock_t *mon; /* PAIR receiving the socket's monitor events */
    zsec_role_t role;
    char endpoint[FG_ENDPOINT_MAX];
    uint64_t retry_ms; /* client refused at the handshake: reconnect then */
    size_t max;        /* message size, fixed when made (a reload keeps it) */
    zsec_stats_t st;
} zsec_sock_t;

struct zsec {
    const fg_config_t *cfg;
    zcert_t *cert;  /* Curve on: this process's key pair */
    zactor_t *auth; /* Curve on and an allowed directory: zauth */
    zsec_sock_t socks[ZSEC_MAX_SOCKS];
    int n_socks;
    struct {
        uint64_t curve, insecure;
    } g; /* gauges */
};

static int s_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static bool s_no_secret(zcert_t *cert)
{
    static const uint8_t zero[32];
    return memcmp(zcert_secret_key(cert), zero, sizeof(zero)) == 0;
}

/* Load this process's certificate and start zauth on the allowed keys. */
static int s_curve_start(zsec_t *self, const char *cert, const char *allowed, char *err,
                         size_t errlen)
{
    if (!cert || !*cert)
        return s_err(err, errlen, "curve/enable is on but this process has no cert configured");
    if (access(cert, R_OK) != 0)
        return s_err(err, errlen,
                     "cannot read certificate %s: %s (make one with: floodgate "
                     "keygen NAME DIR)",
                     cert, strerror(errno));
    self->cert = zcert_load(cert);
    if (!self->cert)
        return s_err(err, errlen, "%s is not a certificate (floodgate keygen writes them)", cert);
    if (s_no_secret(self->cert))
        return s_err(err, errlen, "%s holds no secret key: give the _secret file of the pair",
                     cert);
    if (!allowed)
        return 0;
    struct stat sb;
    if (stat(allowed, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return s_err(err, errlen,
                     "allowed_keys %s is not a directory (put the public "
                     "certificates of the accepted clients there)",
                     allowed);
    self->auth = zactor_new(zauth, NULL);
    if (!self->auth)
        return s_err(err, errlen, "cannot start the ZAP handler (zauth)");
    if (zstr_sendx(self->auth, "CURVE", allowed, NULL) != 0 || zsock_wait(self->auth) != 0)
        return s_err(err, errlen, "zauth refused the allowed_keys directory %s", allowed);
    return 0;
}

zsec_t *zsec_new(const fg_config_t *cfg, const char *cert, const char *allowed, char *err,
                 size_t errlen)
{
    zsec_t *self = calloc(1, sizeof(*self));
    if (!self) {
        s_err(err, errlen, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->g.curve = cfg->curve.enable;
    self->g.insecure = cfg->curve.insecure;
    zsys_init();
    if (cfg->curve.enable && s_curve_start(self, cert, allowed, err, errlen) != 0)
        zsec_destroy(&self);
    return self;
}

void zsec_destroy(zsec_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsec_t *self = *self_p;
    for (int i = 0; i < self->n_socks; i++) {
        zsec_sock_t *s = &self->socks[i];
        zmq_socket_monitor(zsock_resolve(s->sock), NULL, 0);
        zsock_destroy(&s->mon);
        zsock_destroy(&s->sock);
    }
    zactor_destroy(&self->auth);
    zcert_destroy(&self->cert);
    free(self);
    *self_p = NULL;
}

bool zsec_curve(const zsec_t *self)
{
    return self->cfg->curve.enable;
}

bool zsec_endpoint_local(const char *ep)
{
    if (!strncmp(ep, "ipc://", 6) || !strncmp(ep, "inproc://", 9))
        return true;
    if (strncmp(ep, "tcp://", 6))
        return false;
    char host[FG_ENDPOINT_MAX];
    const char *h = ep + 6, *colon = strrchr(h, ':');
    size_t n = colon ? (size_t)(colon - h) : strlen(h);
    if (n && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n >= sizeof(host))
        return false;
    memcpy(host, h, n);
    host[n] = '\0';
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return !strcmp(host, "localhost");
}

int zsec_check_bind(const zsec_t *self, const char *endpoint, char *err, size_t errlen)
{
    if (self->cfg->curve.enable || self->cfg->curve.insecure || zsec_endpoint_local(endpoint))
        return 0;
    return s_err(err, errlen,
                 "refusing to bind %s without CurveZMQ: anyone who reaches it could "
                 "steer the blackholing; set curve/enable = true (keys: floodgate "
                 "keygen), bind 127.0.0.1, or set curve/insecure = true",
                 endpoint);
}

size_t zsec_max_msg(const zsec_t *self, zsec_role_t role)
{
    const fg_config_t *cfg = self->cfg;
    size_t hosts = cfg->aggregator.max_hosts > 0 ? (size_t)cfg->aggregator.max_hosts : 1;
    size_t top = hosts < ZSEC_WB_WATCHED ? hosts : ZSEC_WB_WATCHED;
    switch (role) {
    case ZSEC_AGG_PULL:
        return (size_t)cfg->collector.batch_records * ZSEC_FB_RECORD + ZSEC_FB_HEADER;
    case ZSEC_DET_SUB:
    case ZSEC_TOP_SUB: {
        size_t n = top * ZSEC_WB_HOST_TOP + (hosts - top) * ZSEC_WB_HOST + ZSEC_WB_HEADER;
        return n < WB_MAX_BYTES ? n : WB_MAX_BYTES; /* the codec refuses more */
    }
    case ZSEC_ACT_PULL:
        return ZSEC_DECISION;
    default:
        return ZSEC_CONTROL;
    }
}

static zsec_sock_t *s_find(const zsec_t *self, const zsock_t *sock)
{
    for (int i = 0; i < self->n_socks; i++)
        if (self->socks[i].sock == sock)
            return (zsec_sock_t *)&self->socks[i];
    return NULL;
}

/* A socket of role with its options and monitor, not yet bound or
 * connected; NULL with the reason in err. */
static zsec_sock_t *s_new(zsec_t *self, zsec_role_t role, const char *endpoint, char *err,
                          size_t errlen)
{
    if (self->n_socks == ZSEC_MAX_SOCKS) {
        s_err(err, errlen, "too many sockets");
        return NULL;
    }
    const zsec_role_def_t *d = &s_roles[role];
    zsec_sock_t *s = &self->socks[self->n_socks];
    memset(s, 0, sizeof(*s));
    s->role = role;
    snprintf(s->endpoint, sizeof(s->endpoint), "%s", endpoint);
    s->sock = zsock_new(d->type);
    if (!s->sock) {
        s_err(err, errlen, "cannot make a socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    self->n_socks++; /* from here zsec_destroy closes it */
    int hwm = d->hwm                  ? d->hwm
              : role == ZSEC_AGG_PULL ? self->cfg->aggregator.recv_hwm
                                      : self->cfg->collector.send_hwm;
    zsock_set_sndhwm(s->sock, hwm);
    zsock_set_rcvhwm(s->sock, hwm);
    zsock_set_linger(s->sock, d->linger);
    s->max = zsec_max_msg(self, role);
    int64_t max = (int64_t)s->max;
    max = max > INT64_MAX / 2 ? INT64_MAX : 2 * max;
    zmq_setsockopt(zsock_resolve(s->sock), ZMQ_MAXMSGSIZE, &max, sizeof(max));
    zsock_set_handshake_ivl(s->sock, self->cfg->curve.handshake_ms);
    if (d->type == ZMQ_SUB)
        zsock_set_subscribe(s->sock, "");
    /* A name never used before in this process: a closed socket's monitor
     * endpoint is released asynchronously. */
    static unsigned s_mon_seq;
    char mon[64];
    snprintf(mon, sizeof(mon), "inproc://zsec-mon-%u",
             __atomic_add_fetch(&s_mon_seq, 1, __ATOMIC_RELAXED));
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(zsock_resolve(s->sock), mon, events) != 0 ||
        !(s->mon = zsock_new_pair(NULL)) || zsock_connect(s->mon, "%s", mon) != 0) {
        s_err(err, errlen, "cannot monitor the socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    return s;
}

zsock_t *zsec_bind(zsec_t *self, zsec_role_t role, const char *endpoint, char *err, size_t errlen)
{
    if (zsec_check_bind(self, endpoint, err, errlen) != 0)
        return NULL;
    zsec_sock_t *s = s_new(self, role, endpoint, err, errlen);
    if (!s)
        return NULL;
    if (self->cert) {
        zcert_apply(self->cert, s->sock);
        zsock_set_curve_server(s->sock, 1);
        zsock_set_zap_domain(s->sock, "floodgate");
    }
    if (zsock_bind(s->sock, "%s", endpoint) < 0) {
        s_err(err, errlen, "cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        return NULL;
    }
    return s->sock;
}

zsock_t *zsec_connect(zsec_t *self, zsec_role_t role, const char *endpoint, const char *server_key,
                      char *err, size_t errlen)
{
    zsec_sock_t *s = s_new(self, role, endpoint, err, errlen);
    if (!s)
        return NULL;
    if (self->cert) {
        zcert_t *srv = server_key && *server_key ? zcert_load(server_key) : NULL;
        if (!srv) {
            s_err(err, errlen, "cannot read the server's public key %s for %s",
                  server_key && *server_key ? server_key : "(none configured)", endpoint);
            return NULL;
        }
        zcert_apply(self->cert, s->sock);
        zsock_set_curve_serverkey(s->sock, zcert_public_txt(srv));
        zcert_destroy(&srv);
    }
    if (zsock_connect(s->sock, "%s", endpoint) != 0) {
        s_err(err, errlen, "cannot connect to %s: %s", endpoint, zmq_strerror(zmq_errno()));
        return NULL;
    }
    return s->sock;
}

int zsec_recv(zsec_t *self, zsock_t *sock, zmq_msg_t *msg)
{
    zmq_msg_init(msg);
    if (zmq_msg_recv(msg, zsock_resolve(sock), ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(msg);
        return -1;
    }
    zsec_sock_t *s = s_find(self, sock);
    if (s && zmq_msg_size(msg) > s->max) {
        s->st.refused[ZSEC_OVERSIZED]++;
        zmq_msg_close(msg);
        return 1;
    }
    return 0;
}

void zsec_refuse(zsec_t *self, zsock_t *sock, zsec_reason_t why)
{
    zsec_sock_t *s = s_find(self, sock);
    if (s && why < ZSEC_REASONS)
        s->st.refused[why]++;
}

/* libzmq ends a client's session for good when its handshake fails (key
 * not yet allowed, server re-keyed): reconnect after ZSEC_RETRY_MS so the
 * link comes back once the operator fixed the keys, without a restart. */
#define ZSEC_RETRY_MS 1000

static void s_retry(zsec_sock_t *s)
{
    if (!s->retry_ms || zclock_mono() < (int64_t)s->retry_ms)
        return;
    s->retry_ms = 0;
    zsock_disconnect(s->sock, "%s", s->endpoint);
    zsock_connect(s->sock, "%s", s->endpoint);
}

static void s_count_event(zsec_sock_t *s, uint16_t ev)
{
    bool failed =
        ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
    if (failed && !s_roles[s->role].server && !s->retry_ms)
        s->retry_ms = (uint64_t)zclock_mono() + ZSEC_RETRY_MS;
    switch (ev) {
    case ZMQ_EVENT_ACCEPTED:
        s->st.accepted++;
        break;
    case ZMQ_EVENT_DISCONNECTED:
        s->st.disconnected++;
        break;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        s->st.handshakes++;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        s->st.hs_failed[ZSEC_HS_AUTH]++;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        s->st.hs_failed[ZSEC_HS_PROTOCOL]++;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        s->st.hs_failed[ZSEC_HS_NO_DETAIL]++;
        break;
    default:
        break;
    }
}

void zsec_tick(zsec_t *self)
{
    if (!self)
        return;
    for (int i = 0; i < self->n_socks; i++) {
        zsec_sock_t *s = &self->socks[i];
        void *mon = zsock_resolve(s->mon);
        for (int n = 0; n < 1000; n++) { /* event: [u16 id, u32 value] [endpoint] */
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            uint16_t ev = 0;
            if (zmq_msg_size(&m) >= 2)
                memcpy(&ev, zmq_msg_data(&m), 2);
            bool more = zmq_msg_more(&m);
            zmq_msg_close(&m);
            while (more) {
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, mon, 0) < 0) {
                    zmq_msg_close(&m);
                    break;
                }
                more = zmq_msg_more(&m);
                zmq_msg_close(&m);
            }
            s_count_event(s, ev);
        }
        s_retry(s);
    }
}

const zsec_stats_t *zsec_stats(const zsec_t *self, const zsock_t *sock)
{
    const zsec_sock_t *s = s_find(self, sock);
    return s ? &s->st : NULL;
}

/* ---- metrics ---- */

static void s_labels(const zsec_sock_t *s, const char *extra, char *out, size_t len)
{
    char ep[FG_ENDPOINT_MAX * 2];
    fg_metrics_escape(s->endpoint, ep, sizeof(ep));
    snprintf(out, len, "socket=\"%s\",endpoint=\"%s\"%s%s", s_roles[s->role].name, ep,
             extra ? "," : "", extra ? extra : "");
}

static void s_metrics_fn(fg_mout_t *out, void *arg)
{
    zsec_t *self = arg;
    static const char *hs[ZSEC_HS_REASONS] = {"reason=\"auth\"", "reason=\"protocol\"",
                                              "reason=\"no_detail\""};
    static const char *why[ZSEC_REASONS] = {"reason=\"oversized\"", "reason=\"malformed\"",
                                            "reason=\"wrong_shard\""};
    char l[FG_ENDPOINT_MAX * 2 + 96];
    fg_mout_family(out, "floodgate_zmq_handshakes_total", "counter",
                   "ZeroMQ handshakes completed (with Curve: authenticated peers).");
    for (int i = 0; i < self->n_socks; i++) {
        s_labels(&self->socks[i], NULL, l, sizeof(l));
        fg_mout_u64(out, "floodgate_zmq_handshakes_total", l, self->socks[i].st.handshakes);
    }
    fg_mout_family(out, "floodgate_zmq_handshakes_refused_total", "counter",
                   "ZeroMQ handshakes refused: auth = key not allowed, protocol = wrong "
                   "mechanism or bad command, no_detail = garbage, closed or timed out.");
    for (int i = 0; i < self->n_socks; i++)
        for (int r = 0; r < ZSEC_HS_REASONS; r++) {
            s_labels(&self->socks[i], hs[r], l, sizeof(l));
            fg_mout_u64(out, "floodgate_zmq_handshakes_refused_total", l,
                        self->socks[i].st.hs_failed[r]);
        }
    fg_mout_family(out, "floodgate_zmq_disconnects_total", "counter",
                   "ZeroMQ connections closed (peers leaving, and peers cut for a frame above "
                   "ZMQ_MAXMSGSIZE).");
    for (int i = 0; i < self->n_socks; i++) {
        s_labels(&self->socks[i], NULL, l, sizeof(l));
        fg_mout_u64(out, "floodgate_zmq_disconnects_total", l, self->socks[i].st.disconnected);
    }
    fg_mout_family(out, "floodgate_zmq_messages_refused_total", "counter",
                   "Messages received and refused, by reason.");
    for (int i = 0; i < self->n_socks; i++)
        for (int r = 0; r < ZSEC_REASONS; r++) {
            s_labels(&self->socks[i], why[r], l, sizeof(l));
            fg_mout_u64(out, "floodgate_zmq_messages_refused_total", l,
                        self->socks[i].st.refused[r]);
        }
}

int zsec_metrics(zsec_t *self, fg_metrics_t *m)
{
    static const fg_series_t gauges[] = {
        {"floodgate_curve", "gauge", "1 when CurveZMQ protects the ZeroMQ links.", "",
         offsetof(struct zsec, g.curve)},
        {"floodgate_insecure", "gauge",
         "1 when curve/insecure allows non-loopback binds without Curve.", "",
         offsetof(struct zsec, g.insecure)},
    };
    if (!m || !self)
        return 0;
    if (fg_metrics_table(m, gauges, FG_NSERIES(gauges), self, "") != 0)
        return -1;
    return fg_metrics_add_fn(m, s_metrics_fn, self);
}

/* ---- keygen ---- */

int zsec_keygen(const char *name, const char *dir, char *err, size_t errlen)
{
    char pub[PATH_MAX], sec[PATH_MAX];
    if (!*name || strchr(name, '/') || name[0] == '.')
        return s_err(err, errlen, "bad name '%s' (letters, digits, - and _)", name);
    if (snprintf(pub, sizeof(pub), "%s/%s.key", dir, name) >= (int)sizeof(pub) ||
        snprintf(sec, sizeof(sec), "%s/%s.key_secret", dir, name) >= (int)sizeof(sec))
        return s_err(err, errlen, "path too long");
    if (access(pub, F_OK) == 0 || access(sec, F_OK) == 0)
        return s_err(err, errlen,
                     "%s or its _secret exists already: remove both to replace the "
                     "pair (every peer then needs the new public key)",
                     pub);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return s_err(err, errlen, "cannot create %s: %s", dir, strerror(errno));
    zcert_t *cert = zcert_new();
    if (!cert)
        return s_err(err, errlen, "cannot make a key pair");
    zcert_set_meta(cert, "name", "%s", name);
    mode_t old = umask(077); /* the secret file is created 0600 */
    int rc = zcert_save_secret(cert, sec);
    umask(022);
    rc |= zcert_save_public(cert, pub);
    umask(old);
    zcert_destroy(&cert);
    if (rc != 0)
        return s_err(err, errlen, "cannot write %s: %s", pub, strerror(errno));
    if (chmod(sec, 0600) != 0 || chmod(pub, 0644) != 0)
        return s_err(err, errlen, "cannot set the modes of %s: %s", sec, strerror(errno));
    return 0;
}
