/* metrics_http: /metrics and /healthz over HTTP with libmicrohttpd, from a
 * thread of its own, so that no client can hold the endpoint:
 *
 * - one epoll loop (MHD_USE_EPOLL, driven here: poll on MHD's epoll fd and
 *   on the registry's eventfd, then MHD_run) serves every connection
 *   concurrently; a slow or idle client costs a slot, never the others' turn;
 * - a request that needs a fresh render is suspended (MHD_suspend_connection)
 *   instead of blocking the loop, and resumed when the daemon's loop has
 *   rendered or its wait ran out (/metrics 2 s, /healthz 0.5 s: then the last
 *   verdict, at most a second old, plus the stalled-loop check);
 * - limits: M_CONN_MAX connections at most, and never more than a quarter of
 *   RLIMIT_NOFILE, so a flood of connections cannot take the process's
 *   descriptors; M_IDLE_S without a byte closes a connection
 *   (MHD_OPTION_CONNECTION_TIMEOUT), and M_DEADLINE_MS after it was accepted
 *   a connection is shut down whatever it does (a client sending one byte a
 *   second is not idle, but it is not served forever); M_CONN_MEM bytes of
 *   request memory per connection (a longer request head is refused);
 * - one response object per rendered /metrics text, shared (reference
 *   counted by MHD) by every request that reads it.
 *
 * Every MHD call, callback included, runs on this thread. */
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/metrics_priv.h"

#define M_CONN_MAX 4096     /* connections, at most (see the header) */
#define M_IDLE_S 5          /* a connection silent this long is closed */
#define M_DEADLINE_MS 10000 /* a connection's whole life, request and reply */
#define M_CONN_MEM 8192     /* request memory per connection */
#define M_METRICS_WAIT_MS 2000
#define M_HEALTH_WAIT_MS 500
#define M_REBIND_MS 5000
#define M_POLL_MS 200
#define M_BACKLOG 4096

enum { R_METRICS, R_HEALTH };

/* A request waiting for a render (suspended), in the wait list. */
typedef struct req {
    struct MHD_Connection *conn;
    int kind;
    uint64_t asked, until; /* mono ms */
    bool waiting;
    struct req *prev, *next;
} req_t;

/* A connection, in accept order (its deadline order) until shut down. */
typedef struct conn {
    int fd;
    uint64_t born; /* mono ms */
    bool listed;
    struct conn *prev, *next;
} conn_t;

struct fgm_http {
    pthread_t thread;
    bool running;
    atomic_int stop;
    atomic_int port;
    char hostport[256];
    int listen_fd; /* until MHD owns it */
    unsigned limit;
    struct MHD_Daemon *d;
    req_t *waiters;
    conn_t *conns_head, *conns_tail;
    struct MHD_Response *resp; /* /metrics text of generation resp_gen */
    uint64_t resp_gen;
    atomic_uint_fast64_t n_conns, deadline_closed;
};

/* Doubly linked list helpers (head-only list for waiters). */
static void s_req_unlink(fgm_http_t *h, req_t *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        h->waiters = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    r->waiting = false;
}

static void s_conn_unlink(fgm_http_t *h, conn_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        h->conns_tail = c->prev;
    c->prev = c->next = NULL;
    c->listed = false;
}

/* ---- responses ---- */

static enum MHD_Result s_queue(struct MHD_Connection *c, unsigned code, struct MHD_Response *r,
                               const char *ctype)
{
    if (!r)
        return MHD_NO; /* out of memory: MHD closes the connection */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    /* HTTP/1.0 and one request per connection, as the server always did */
    MHD_set_response_options(r, MHD_RF_HTTP_VERSION_1_0_ONLY | MHD_RF_HTTP_VERSION_1_0_RESPONSE,
                             MHD_RO_END);
    enum MHD_Result rc = MHD_queue_response(c, code, r);
    MHD_destroy_response(r); /* MHD holds its own reference */
    return rc;
}

static enum MHD_Result s_text(struct MHD_Connection *c, unsigned code, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    return s_queue(c, code, r, "text/plain");
}

/* The shared response for the current /metrics text (a new one per render
 * generation; the old one lives on while requests still send it). */
static struct MHD_Response *s_metrics_resp(fg_metrics_t *m)
{
    fgm_http_t *h = m->http;
    pthread_mutex_lock(&m->mu);
    if (!h->resp || h->resp_gen != m->snap_gen) {
        struct MHD_Response *r =
            MHD_create_response_from_buffer(m->snap.b.len, m->snap.b.data, MHD_RESPMEM_MUST_COPY);
        if (r) {
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                    "text/plain; version=0.0.4; charset=utf-8");
            MHD_set_response_options(
                r, MHD_RF_HTTP_VERSION_1_0_ONLY | MHD_RF_HTTP_VERSION_1_0_RESPONSE, MHD_RO_END);
            if (h->resp)
                MHD_destroy_response(h->resp);
            h->resp = r;
            h->resp_gen = m->snap_gen;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return h->resp;
}

static enum MHD_Result s_reply(fg_metrics_t *m, struct MHD_Connection *c, int kind)
{
    if (kind == R_METRICS) {
        struct MHD_Response *r = s_metrics_resp(m);
        if (!r)
            return s_text(c, 503, "out of memory\n");
        return MHD_queue_response(c, MHD_HTTP_OK, r);
    }
    char body[300];
    pthread_mutex_lock(&m->mu);
    bool healthy = m->snap_healthy;
    snprintf(body, sizeof(body), "%s\n", m->snap_why);
    pthread_mutex_unlock(&m->mu);
    uint64_t idle = m->clock() - atomic_load(&m->last_tick);
    if (idle > FG_METRICS_STALE_MS) {
        healthy = false;
        snprintf(body, sizeof(body), "loop stalled for %" PRIu64 " ms\n", idle);
    }
    return s_text(c, healthy ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

/* ---- MHD callbacks ---- */

/* First call: route; /metrics and /healthz wait (suspended) for a render.
 * Second call, once resumed: reply from the snapshot. */
static enum MHD_Result s_handler(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_len, void **req_cls)
{
    (void)version, (void)upload, (void)upload_len;
    fg_metrics_t *m = cls;
    fgm_http_t *h = m->http;
    if (*req_cls)
        return s_reply(m, c, ((req_t *)*req_cls)->kind);
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return s_text(c, 405, "GET only\n");
    bool metrics = !strcmp(url, "/metrics");
    if (!metrics && strcmp(url, "/healthz"))
        return s_text(c, strcmp(url, "/") ? 404 : 200, "floodgate: /metrics /healthz\n");
    req_t *r = calloc(1, sizeof(*r));
    if (!r)
        return s_text(c, 503, "out of memory\n");
    r->conn = c;
    r->kind = metrics ? R_METRICS : R_HEALTH;
    r->asked = fg_mono_ms();
    r->until = r->asked + (metrics ? M_METRICS_WAIT_MS : M_HEALTH_WAIT_MS);
    r->waiting = true;
    r->next = h->waiters;
    if (h->waiters)
        h->waiters->prev = r;
    h->waiters = r;
    *req_cls = r;
    atomic_store(&m->wanted, 1); /* after r->asked: the render it causes is fresh */
    MHD_suspend_connection(c);
    return MHD_YES;
}

static void s_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)c, (void)toe;
    fg_metrics_t *m = cls;
    req_t *r = *req_cls;
    if (!r)
        return;
    if (r->waiting)
        s_req_unlink(m->http, r);
    free(r);
    *req_cls = NULL;
}

static void s_notify(void *cls, struct MHD_Connection *c, void **sock_ctx,
                     enum MHD_ConnectionNotificationCode toe)
{
    fgm_http_t *h = ((fg_metrics_t *)cls)->http;
    conn_t *k = *sock_ctx;
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (k && k->listed)
            s_conn_unlink(h, k);
        free(k);
        *sock_ctx = NULL;
        atomic_fetch_sub(&h->n_conns, 1);
        return;
    }
    atomic_fetch_add(&h->n_conns, 1);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    k = ci ? calloc(1, sizeof(*k)) : NULL;
    if (!k)
        return; /* no deadline for this one; the idle timeout still holds */
    k->fd = ci->connect_fd;
    k->born = fg_mono_ms();
    k->listed = true;
    k->prev = h->conns_tail;
    if (h->conns_tail)
        h->conns_tail->next = k;
    else
        h->conns_head = k;
    h->conns_tail = k;
    *sock_ctx = k;
}

/* ---- the loop ---- */

/* Resume the waiters whose render came or whose wait ran out; returns the ms
 * until the next wait runs out (at most M_POLL_MS). */
static int s_resume_due(fg_metrics_t *m, uint64_t now)
{
    fgm_http_t *h = m->http;
    pthread_mutex_lock(&m->mu);
    uint64_t rendered = m->snap_ms;
    pthread_mutex_unlock(&m->mu);
    int next = M_POLL_MS;
    for (req_t *r = h->waiters, *nx; r; r = nx) {
        nx = r->next;
        if (rendered >= r->asked || now >= r->until) {
            s_req_unlink(h, r);
            MHD_resume_connection(r->conn);
        } else if (r->until - now < (uint64_t)next) {
            next = (int)(r->until - now);
        }
    }
    return next;
}

/* Shut down connections past their deadline (MHD sees the end and closes
 * them); the oldest are first in the list. */
static void s_enforce_deadlines(fgm_http_t *h, uint64_t now)
{
    while (h->conns_head && now - h->conns_head->born >= M_DEADLINE_MS) {
        conn_t *k = h->conns_head;
        shutdown(k->fd, SHUT_RDWR);
        s_conn_unlink(h, k);
        atomic_fetch_add(&h->deadline_closed, 1);
    }
}

static unsigned s_conn_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return M_CONN_MAX;
    rlim_t quarter = rl.rlim_cur / 4;
    return quarter < 16 ? 16 : quarter < M_CONN_MAX ? (unsigned)quarter : M_CONN_MAX;
}

static int s_start_mhd(fg_metrics_t *m)
{
    fgm_http_t *h = m->http;
    h->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, s_handler, m,
                            MHD_OPTION_LISTEN_SOCKET, h->listen_fd, MHD_OPTION_CONNECTION_LIMIT,
                            h->limit, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)M_IDLE_S,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)M_CONN_MEM,
                            MHD_OPTION_NOTIFY_COMPLETED, s_completed, m,
                            MHD_OPTION_NOTIFY_CONNECTION, s_notify, m, MHD_OPTION_END);
    if (!h->d)
        return -1;
    h->listen_fd = -1; /* MHD closes it */
    return 0;
}

static void s_turn(fg_metrics_t *m)
{
    fgm_http_t *h = m->http;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
    if (!di) { /* cannot happen with MHD_USE_EPOLL; do not spin */
        usleep(M_POLL_MS * 1000);
        return;
    }
    int ms = s_resume_due(m, fg_mono_ms());
    MHD_UNSIGNED_LONG_LONG to;
    if (MHD_get_timeout(h->d, &to) == MHD_YES && to < (MHD_UNSIGNED_LONG_LONG)ms)
        ms = (int)to;
    struct pollfd p[2] = {{.fd = di->epoll_fd, .events = POLLIN},
                          {.fd = m->wake_fd, .events = POLLIN}};
    if (poll(p, 2, ms) > 0 && (p[1].revents & POLLIN)) {
        uint64_t n;
        ssize_t r = read(m->wake_fd, &n, sizeof(n));
        (void)r;
    }
    uint64_t now = fg_mono_ms();
    s_resume_due(m, now);
    s_enforce_deadlines(h, now);
    MHD_run(h->d);
}

static int s_bind(const char *hostport, char *err, size_t errlen);
static int s_bound_port(int fd);

static void *s_thread(void *arg)
{
    fg_metrics_t *m = arg;
    fgm_http_t *h = m->http;
    uint64_t next_bind = fg_mono_ms() + M_REBIND_MS;
    while (!atomic_load(&h->stop)) {
        if (h->d) {
            s_turn(m);
            continue;
        }
        if (h->listen_fd < 0 && fg_mono_ms() >= next_bind) {
            char err[256];
            h->listen_fd = s_bind(h->hostport, err, sizeof(err));
            next_bind = fg_mono_ms() + M_REBIND_MS;
            if (h->listen_fd >= 0)
                atomic_store(&h->port, s_bound_port(h->listen_fd));
        }
        if (h->listen_fd < 0 || s_start_mhd(m) != 0)
            usleep(M_POLL_MS * 1000);
    }
    return NULL;
}

/* ---- sockets ---- */

/* host ("" for "*", any address) and port of hostport. 0 or -1. */
static int s_split_hostport(const char *hp, char *host, size_t hlen, char *port, size_t plen)
{
    uint16_t p;
    if (fg_hostport_split(hp, host, hlen, &p) != 0)
        return -1;
    if (!strcmp(host, "*"))
        host[0] = '\0';
    snprintf(port, plen, "%u", (unsigned)p);
    return 0;
}

/* A listening socket on hostport, or -1 with a reason. */
static int s_bind(const char *hostport, char *err, size_t errlen)
{
    char host[256], port[16];
    if (s_split_hostport(hostport, host, sizeof(host), port, sizeof(port)) != 0) {
        snprintf(err, errlen, "%s: expected host:port", hostport);
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", hostport, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, M_BACKLOG) != 0) {
        snprintf(err, errlen, "%s: %s", hostport, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int s_bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* ---- the public side ---- */

int fg_metrics_listen(fg_metrics_t *self, const char *hostport, char *err, size_t errlen)
{
    char host[256], port[16];
    if (self->http || s_split_hostport(hostport, host, sizeof(host), port, sizeof(port))) {
        snprintf(err, errlen, "%s: %s", hostport,
                 self->http ? "already listening" : "expected host:port");
        return -1;
    }
    fgm_http_t *h = calloc(1, sizeof(*h));
    int wfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!h || wfd < 0) {
        snprintf(err, errlen, "cannot start the metrics server: %s", strerror(errno));
        free(h);
        if (wfd >= 0)
            close(wfd);
        return -1;
    }
    snprintf(h->hostport, sizeof(h->hostport), "%s", hostport);
    h->limit = s_conn_limit();
    h->listen_fd = s_bind(hostport, err, errlen);
    if (h->listen_fd >= 0)
        atomic_store(&h->port, s_bound_port(h->listen_fd));
    self->http = h;
    self->wake_fd = wfd;
    if (h->listen_fd >= 0 && s_start_mhd(self) != 0) {
        snprintf(err, errlen, "%s: libmicrohttpd did not start", hostport);
        close(h->listen_fd);
        h->listen_fd = -1;
        atomic_store(&h->port, 0);
    }
    if (pthread_create(&h->thread, NULL, s_thread, self) != 0) {
        snprintf(err, errlen, "cannot start the metrics thread");
        fgm_http_stop(self); /* no thread yet: frees what is there */
        return -1;
    }
    h->running = true;
    return h->d ? 0 : -1;
}

int fg_metrics_port(const fg_metrics_t *self)
{
    return self->http ? atomic_load(&self->http->port) : 0;
}

unsigned fg_metrics_conn_limit(const fg_metrics_t *self)
{
    return self->http ? self->http->limit : 0;
}

void fgm_http_stop(fg_metrics_t *m)
{
    fgm_http_t *h = m->http;
    if (!h)
        return;
    if (h->running) {
        atomic_store(&h->stop, 1);
        uint64_t one = 1;
        ssize_t w = write(m->wake_fd, &one, sizeof(one));
        (void)w;
        pthread_join(h->thread, NULL);
    }
    if (h->d) { /* MHD may not stop with suspended connections */
        while (h->waiters) {
            req_t *r = h->waiters;
            s_req_unlink(h, r);
            MHD_resume_connection(r->conn);
        }
        MHD_run(h->d);
        MHD_stop_daemon(h->d); /* closes the connections and the listening socket */
    }
    if (h->listen_fd >= 0)
        close(h->listen_fd);
    if (h->resp)
        MHD_destroy_response(h->resp);
    close(m->wake_fd);
    m->wake_fd = -1;
    free(h);
    m->http = NULL;
}

void fgm_http_render(fg_metrics_t *m, fg_mout_t *o)
{
    fgm_http_t *h = m->http;
    fg_mout_family(o, "floodgate_http_connections", "gauge",
                   "Open connections to this process's /metrics and /healthz port.");
    fg_mout_u64(o, "floodgate_http_connections", NULL, atomic_load(&h->n_conns));
    fg_mout_family(o, "floodgate_http_connection_limit", "gauge",
                   "Connections the port accepts at once (min(4096, RLIMIT_NOFILE / 4)).");
    fg_mout_u64(o, "floodgate_http_connection_limit", NULL, h->limit);
    fg_mout_family(o, "floodgate_http_deadline_closed_total", "counter",
                   "Connections shut down because they were still open 10 s after accept.");
    fg_mout_u64(o, "floodgate_http_deadline_closed_total", NULL, atomic_load(&h->deadline_closed));
}
