/* metrics: the registry, the text renderer and the HTTP server thread.
 *
 * Two threads touch a registry: the daemon's loop (registration, rendering:
 * everything that reads the daemon's counters) and the server thread
 * (sockets). They share only the snapshot (text + health verdict, under the
 * mutex) and two atomics: `wanted` (a scrape waits for a render) and
 * `last_tick` (the loop is alive). */
#include "common/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define M_RENDER_EVERY_MS 1000 /* a render at least this often, scraped or not */
#define M_WAIT_MS 2000         /* a scrape waits this long for a fresh render */
#define M_IO_TIMEOUT_S 2       /* per read / write on a client connection */
#define M_REQ_MAX 4096
#define M_REBIND_MS 5000
#define M_POLL_MS 200

enum { M_U64, M_DOUBLE };

typedef struct {
    const char *name;
    const char *help;
    const char *type; /* "counter" / "gauge" */
    char *labels;
    int kind;
    const void *value;
} m_entry_t;

typedef struct {
    fg_metrics_fn fn;
    void *arg;
} m_fn_t;

struct fg_mout {
    char *buf;
    size_t len, cap;
    bool oom;
};

struct fg_metrics {
    char proc[64];
    uint64_t start_ms; /* wall clock */
    m_entry_t *entries;
    size_t n_entries, cap_entries;
    m_fn_t *fns;
    size_t n_fns, cap_fns;
    void **owned;
    size_t n_owned;
    fg_health_fn health;
    void *health_arg;
    double healthy_gauge;
    fg_mout_t render; /* the loop's buffer */

    /* shared with the server thread */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    fg_mout_t snap;
    bool snap_healthy;
    char snap_why[256];
    uint64_t snap_ms; /* mono time of the last render */
    atomic_int wanted;
    atomic_uint_fast64_t last_tick;

    /* server thread */
    pthread_t thread;
    bool running;
    atomic_int stop;
    atomic_int port;
    int fd;
    char hostport[256];
};

/* ---- output buffer ---- */

static void s_out_reserve(fg_mout_t *o, size_t more)
{
    if (o->oom || o->len + more + 1 <= o->cap)
        return;
    size_t cap = o->cap ? o->cap : 4096;
    while (cap < o->len + more + 1)
        cap *= 2;
    char *b = realloc(o->buf, cap);
    if (!b) {
        o->oom = true;
        return;
    }
    o->buf = b;
    o->cap = cap;
}

static void s_out_printf(fg_mout_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_out_printf(fg_mout_t *o, const char *fmt, ...)
{
    va_list ap;
    for (int pass = 0; pass < 2 && !o->oom; pass++) {
        size_t room = o->cap > o->len ? o->cap - o->len : 0;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf ? o->buf + o->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            o->len += (size_t)n;
            return;
        }
        s_out_reserve(o, (size_t)n);
    }
}

void fg_mout_family(fg_mout_t *out, const char *name, const char *type, const char *help)
{
    s_out_printf(out, "# HELP %s ", name);
    for (const char *p = help; *p; p++) { /* help escapes: \\ and \n */
        if (*p == '\\')
            s_out_printf(out, "\\\\");
        else if (*p == '\n')
            s_out_printf(out, "\\n");
        else
            s_out_printf(out, "%c", *p);
    }
    s_out_printf(out, "\n# TYPE %s %s\n", name, type);
}

void fg_mout_u64(fg_mout_t *out, const char *name, const char *labels, uint64_t v)
{
    if (labels && *labels)
        s_out_printf(out, "%s{%s} %" PRIu64 "\n", name, labels, v);
    else
        s_out_printf(out, "%s %" PRIu64 "\n", name, v);
}

void fg_mout_double(fg_mout_t *out, const char *name, const char *labels, double v)
{
    char num[64];
    if (isnan(v))
        snprintf(num, sizeof(num), "NaN");
    else if (isinf(v))
        snprintf(num, sizeof(num), v > 0 ? "+Inf" : "-Inf");
    else
        snprintf(num, sizeof(num), "%.15g", v);
    if (labels && *labels)
        s_out_printf(out, "%s{%s} %s\n", name, labels, num);
    else
        s_out_printf(out, "%s %s\n", name, num);
}

char *fg_metrics_escape(const char *s, char *out, size_t len)
{
    size_t o = 0;
    if (len == 0)
        return out;
    for (; *s; s++) {
        const char *rep = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
        size_t n = rep ? 2 : 1;
        if (o + n >= len)
            break;
        if (rep)
            memcpy(out + o, rep, 2);
        else
            out[o] = *s;
        o += n;
    }
    out[o] = '\0';
    return out;
}

/* ---- registry ---- */

fg_metrics_t *fg_metrics_new(const char *proc)
{
    fg_metrics_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    snprintf(m->proc, sizeof(m->proc), "%s", proc);
    m->start_ms = fg_now_ms();
    m->fd = -1;
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &ca);
    pthread_condattr_destroy(&ca);
    atomic_store(&m->last_tick, fg_mono_ms());
    snprintf(m->snap_why, sizeof(m->snap_why), "no render yet");
    return m;
}

static int s_add(fg_metrics_t *m, const char *name, const char *help, const char *type,
                 const char *labels, int kind, const void *value)
{
    if (m->n_entries == m->cap_entries) {
        size_t cap = m->cap_entries ? m->cap_entries * 2 : 32;
        m_entry_t *e = realloc(m->entries, cap * sizeof(*e));
        if (!e)
            return -1;
        m->entries = e;
        m->cap_entries = cap;
    }
    char *l = strdup(labels ? labels : "");
    if (!l)
        return -1;
    m->entries[m->n_entries++] = (m_entry_t){name, help, type, l, kind, value};
    return 0;
}

int fg_metrics_counter(fg_metrics_t *self, const char *name, const char *help,
                       const char *labels, const uint64_t *value)
{
    return s_add(self, name, help, "counter", labels, M_U64, value);
}

int fg_metrics_gauge(fg_metrics_t *self, const char *name, const char *help,
                     const char *labels, const uint64_t *value)
{
    return s_add(self, name, help, "gauge", labels, M_U64, value);
}

int fg_metrics_gauge_double(fg_metrics_t *self, const char *name, const char *help,
                            const char *labels, const double *value)
{
    return s_add(self, name, help, "gauge", labels, M_DOUBLE, value);
}

int fg_metrics_add_fn(fg_metrics_t *self, fg_metrics_fn fn, void *arg)
{
    if (self->n_fns == self->cap_fns) {
        size_t cap = self->cap_fns ? self->cap_fns * 2 : 8;
        m_fn_t *f = realloc(self->fns, cap * sizeof(*f));
        if (!f)
            return -1;
        self->fns = f;
        self->cap_fns = cap;
    }
    self->fns[self->n_fns++] = (m_fn_t){fn, arg};
    return 0;
}

void *fg_metrics_calloc(fg_metrics_t *self, size_t size)
{
    void **o = realloc(self->owned, (self->n_owned + 1) * sizeof(*o));
    if (!o)
        return NULL;
    self->owned = o;
    void *p = calloc(1, size);
    if (p)
        self->owned[self->n_owned++] = p;
    return p;
}

void fg_metrics_set_health(fg_metrics_t *self, fg_health_fn fn, void *arg)
{
    self->health = fn;
    self->health_arg = arg;
}

/* ---- rendering (the loop's thread) ---- */

static void s_render_entry(fg_mout_t *o, const m_entry_t *e)
{
    if (e->kind == M_U64)
        fg_mout_u64(o, e->name, e->labels, *(const uint64_t *)e->value);
    else
        fg_mout_double(o, e->name, e->labels, *(const double *)e->value);
}

/* Registered entries grouped by family, in order of first registration. */
static void s_render_entries(fg_metrics_t *m, fg_mout_t *o)
{
    for (size_t i = 0; i < m->n_entries; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(m->entries[j].name, m->entries[i].name);
        if (seen)
            continue;
        fg_mout_family(o, m->entries[i].name, m->entries[i].type, m->entries[i].help);
        for (size_t k = i; k < m->n_entries; k++)
            if (!strcmp(m->entries[k].name, m->entries[i].name))
                s_render_entry(o, &m->entries[k]);
    }
}

static void s_render_common(fg_metrics_t *m, fg_mout_t *o, uint64_t now_ms)
{
    char labels[160];
    snprintf(labels, sizeof(labels), "proc=\"%s\",version=\"%s\"", m->proc, FG_VERSION);
    fg_mout_family(o, "floodgate_build_info", "gauge", "Always 1; the labels tell the build.");
    fg_mout_u64(o, "floodgate_build_info", labels, 1);
    fg_mout_family(o, "floodgate_process_start_time_seconds", "gauge",
                   "Start time of the process, seconds since the epoch.");
    fg_mout_double(o, "floodgate_process_start_time_seconds", NULL, (double)m->start_ms / 1e3);
    fg_mout_family(o, "floodgate_uptime_seconds", "gauge", "Seconds since the process started.");
    fg_mout_double(o, "floodgate_uptime_seconds", NULL, (double)(now_ms - m->start_ms) / 1e3);
    fg_mout_family(o, "floodgate_heartbeat_timestamp_seconds", "gauge",
                   "When the process's loop rendered these metrics, seconds since the epoch.");
    fg_mout_double(o, "floodgate_heartbeat_timestamp_seconds", NULL, (double)now_ms / 1e3);
    fg_mout_family(o, "floodgate_healthy", "gauge",
                   "1 when the process does its job (what /healthz answers), else 0.");
    fg_mout_double(o, "floodgate_healthy", NULL, m->healthy_gauge);
}

void fg_metrics_render(fg_metrics_t *self)
{
    uint64_t started = fg_mono_ms(); /* a scrape asked before this gets it */
    char why[256] = "";
    bool ok = !self->health || self->health(why, sizeof(why), self->health_arg) == 0;
    self->healthy_gauge = ok ? 1 : 0;
    fg_mout_t *o = &self->render;
    o->len = 0;
    o->oom = false;
    s_render_common(self, o, fg_now_ms());
    s_render_entries(self, o);
    for (size_t i = 0; i < self->n_fns; i++)
        self->fns[i].fn(o, self->fns[i].arg);

    pthread_mutex_lock(&self->mu);
    if (!o->oom) { /* keep the previous text rather than a cut one */
        fg_mout_t t = self->snap;
        self->snap = *o;
        *o = t;
    }
    self->snap_healthy = ok;
    snprintf(self->snap_why, sizeof(self->snap_why), "%s", ok ? "ok" : why);
    self->snap_ms = started;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->mu);
}

void fg_metrics_tick(fg_metrics_t *self)
{
    if (!self)
        return;
    uint64_t now = fg_mono_ms();
    atomic_store(&self->last_tick, now);
    if (atomic_exchange(&self->wanted, 0) || now - self->snap_ms >= M_RENDER_EVERY_MS)
        fg_metrics_render(self);
}

char *fg_metrics_snapshot(fg_metrics_t *self)
{
    pthread_mutex_lock(&self->mu);
    char *s = malloc(self->snap.len + 1);
    if (s) {
        if (self->snap.len)
            memcpy(s, self->snap.buf, self->snap.len);
        s[self->snap.len] = '\0';
    }
    pthread_mutex_unlock(&self->mu);
    return s;
}

/* ---- the server thread ---- */

static int s_split_hostport(const char *hp, char *host, size_t hlen, char *port, size_t plen)
{
    const char *colon = strrchr(hp, ':');
    if (!colon || colon[1] == '\0' || strlen(colon + 1) >= plen)
        return -1;
    size_t n = (size_t)(colon - hp);
    const char *h = hp;
    if (n >= 2 && hp[0] == '[' && hp[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n >= hlen)
        return -1;
    memcpy(host, h, n);
    host[n] = '\0';
    if (!strcmp(host, "*"))
        host[0] = '\0';
    snprintf(port, plen, "%s", colon + 1);
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
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
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
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 16) != 0) {
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

static void s_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void s_respond(int fd, int code, const char *ctype, const char *body, size_t len,
                      bool head)
{
    const char *reason = code == 200   ? "OK"
                         : code == 404 ? "Not Found"
                         : code == 405 ? "Method Not Allowed"
                         : code == 503 ? "Service Unavailable"
                                       : "Bad Request";
    char hdr[256];
    int n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     code, reason, ctype, len);
    s_write_all(fd, hdr, (size_t)n);
    if (!head)
        s_write_all(fd, body, len);
}

/* Read the request head; returns its length or -1. */
static ssize_t s_read_request(int fd, char *req, size_t cap)
{
    size_t got = 0;
    while (got + 1 < cap) {
        ssize_t r = recv(fd, req + got, cap - 1 - got, 0);
        if (r <= 0)
            return got ? (ssize_t)got : -1;
        got += (size_t)r;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[got] = '\0';
    return (ssize_t)got;
}

/* Ask the loop for a render and wait for it (bounded); then copy the
 * snapshot. Returns the text (caller frees) and the health verdict. */
static char *s_fresh_snapshot(fg_metrics_t *m, size_t *len, bool *healthy, char *why,
                              size_t wlen)
{
    uint64_t asked = fg_mono_ms();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += M_WAIT_MS / 1000;
    pthread_mutex_lock(&m->mu);
    atomic_store(&m->wanted, 1);
    while (m->snap_ms <= asked && !atomic_load(&m->stop))
        if (pthread_cond_timedwait(&m->cond, &m->mu, &ts) == ETIMEDOUT)
            break;
    char *s = malloc(m->snap.len + 1);
    if (s) {
        if (m->snap.len)
            memcpy(s, m->snap.buf, m->snap.len);
        s[m->snap.len] = '\0';
        *len = m->snap.len;
    }
    *healthy = m->snap_healthy;
    snprintf(why, wlen, "%s", m->snap_why);
    pthread_mutex_unlock(&m->mu);
    uint64_t idle = fg_mono_ms() - atomic_load(&m->last_tick);
    if (idle > FG_METRICS_STALE_MS) {
        *healthy = false;
        snprintf(why, wlen, "loop stalled for %" PRIu64 " ms", idle);
    }
    return s;
}

static void s_serve(fg_metrics_t *m, int fd)
{
    char req[M_REQ_MAX];
    if (s_read_request(fd, req, sizeof(req)) < 0)
        return;
    char method[16] = "", path[256] = "";
    if (sscanf(req, "%15s %255s", method, path) != 2) {
        s_respond(fd, 400, "text/plain", "bad request\n", 12, false);
        return;
    }
    bool head = !strcmp(method, "HEAD");
    if (strcmp(method, "GET") && !head) {
        s_respond(fd, 405, "text/plain", "GET only\n", 9, false);
        return;
    }
    path[strcspn(path, "?")] = '\0';
    bool metrics = !strcmp(path, "/metrics");
    if (!metrics && strcmp(path, "/healthz")) {
        static const char idx[] = "floodgate: /metrics /healthz\n";
        s_respond(fd, strcmp(path, "/") ? 404 : 200, "text/plain", idx, sizeof(idx) - 1, head);
        return;
    }
    size_t len = 0;
    bool healthy;
    char why[256], body[300];
    char *text = s_fresh_snapshot(m, &len, &healthy, why, sizeof(why));
    if (metrics) {
        if (text)
            s_respond(fd, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, head);
        else
            s_respond(fd, 503, "text/plain", "out of memory\n", 14, head);
    } else {
        int n = snprintf(body, sizeof(body), "%s\n", healthy ? "ok" : why);
        s_respond(fd, healthy ? 200 : 503, "text/plain", body, (size_t)n, head);
    }
    free(text);
}

static void s_accept_one(fg_metrics_t *m)
{
    int c = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    struct timeval tv = {.tv_sec = M_IO_TIMEOUT_S};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    s_serve(m, c);
    close(c);
}

static void *s_thread(void *arg)
{
    fg_metrics_t *m = arg;
    uint64_t next_bind = fg_mono_ms() + M_REBIND_MS;
    while (!atomic_load(&m->stop)) {
        if (m->fd < 0) {
            if (fg_mono_ms() >= next_bind) {
                char err[256];
                m->fd = s_bind(m->hostport, err, sizeof(err));
                next_bind = fg_mono_ms() + M_REBIND_MS;
                if (m->fd >= 0)
                    atomic_store(&m->port, s_bound_port(m->fd));
            }
            if (m->fd < 0) {
                usleep(M_POLL_MS * 1000);
                continue;
            }
        }
        struct pollfd p = {.fd = m->fd, .events = POLLIN};
        if (poll(&p, 1, M_POLL_MS) > 0)
            s_accept_one(m);
    }
    return NULL;
}

int fg_metrics_listen(fg_metrics_t *self, const char *hostport, char *err, size_t errlen)
{
    char host[256], port[16];
    if (self->running || s_split_hostport(hostport, host, sizeof(host), port, sizeof(port))) {
        snprintf(err, errlen, "%s: %s", hostport,
                 self->running ? "already listening" : "expected host:port");
        return -1;
    }
    snprintf(self->hostport, sizeof(self->hostport), "%s", hostport);
    self->fd = s_bind(hostport, err, errlen);
    if (self->fd >= 0)
        atomic_store(&self->port, s_bound_port(self->fd));
    if (pthread_create(&self->thread, NULL, s_thread, self) != 0) {
        snprintf(err, errlen, "cannot start the metrics thread");
        if (self->fd >= 0)
            close(self->fd);
        self->fd = -1;
        return -1;
    }
    self->running = true;
    return self->fd >= 0 ? 0 : -1;
}

int fg_metrics_port(const fg_metrics_t *self)
{
    return atomic_load(&((fg_metrics_t *)self)->port);
}

void fg_metrics_destroy(fg_metrics_t **self_p)
{
    fg_metrics_t *m = self_p ? *self_p : NULL;
    if (!m)
        return;
    if (m->running) {
        atomic_store(&m->stop, 1);
        pthread_mutex_lock(&m->mu);
        pthread_cond_broadcast(&m->cond);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->thread, NULL);
    }
    if (m->fd >= 0)
        close(m->fd);
    for (size_t i = 0; i < m->n_entries; i++)
        free(m->entries[i].labels);
    free(m->entries);
    free(m->fns);
    for (size_t i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    free(m->render.buf);
    free(m->snap.buf);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->mu);
    free(m);
    *self_p = NULL;
}
