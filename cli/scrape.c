/* scrape: HTTP/1.0 GET and Prometheus text reading for the CLI. */
#include "common/addr.h"
#include "cli/scrape.h"

#include "common/fgbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

#define SCRAPE_BODY_MAX (64u << 20)

static int s_connect(const char *hostport, int timeout_ms, char *err, size_t errlen)
{
    char host[256], port[16];
    uint16_t pnum;
    if (fg_hostport_split(hostport, host, sizeof(host), &pnum) != 0) {
        snprintf(err, errlen, "bad address %s", hostport);
        return -1;
    }
    snprintf(port, sizeof(port), "%u", (unsigned)pnum);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s", gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS) {
        snprintf(err, errlen, "%s", strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return -1;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) ||
        soerr) {
        snprintf(err, errlen, "%s", soerr ? strerror(soerr) : "connect timeout");
        close(fd);
        return -1;
    }
    return fd;
}

/* Read until EOF or the deadline, at most SCRAPE_BODY_MAX bytes. Returns the
 * bytes (NUL-terminated, the caller's to free) or NULL. */
static char *s_read_all(int fd, uint64_t deadline, size_t *len, char *err, size_t errlen)
{
    enum { CHUNK = 65536 };
    fg_buf_t b;
    fg_buf_init(&b, SCRAPE_BODY_MAX);
    for (;;) {
        uint64_t now = fg_mono_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (now >= deadline || poll(&p, 1, (int)(deadline - now)) != 1) {
            snprintf(err, errlen, "read timeout");
            break;
        }
        size_t want = b.max - b.len < CHUNK ? b.max - b.len : CHUNK;
        if (want == 0 || fg_buf_reserve(&b, want) < 0) {
            snprintf(err, errlen, "answer too large");
            break;
        }
        ssize_t r = recv(fd, b.data + b.len, want, 0);
        if (r == 0) {
            *len = b.len;
            return b.data; /* the caller's now */
        }
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            snprintf(err, errlen, "%s", strerror(errno));
            break;
        }
        b.len += (size_t)r;
        b.data[b.len] = '\0';
    }
    fg_buf_free(&b);
    return NULL;
}

int scrape_get(const char *hostport, const char *path, int timeout_ms, char **body, char *err,
               size_t errlen)
{
    uint64_t deadline = fg_mono_ms() + (uint64_t)timeout_ms;
    *body = NULL;
    int fd = s_connect(hostport, timeout_ms, err, errlen);
    if (fd < 0)
        return -1;
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, hostport);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        snprintf(err, errlen, "send failed");
        close(fd);
        return -1;
    }
    size_t len = 0;
    char *resp = s_read_all(fd, deadline, &len, err, errlen);
    close(fd);
    if (!resp)
        return -1;
    int code = 0;
    char *sep = strstr(resp, "\r\n\r\n");
    if (sscanf(resp, "HTTP/%*d.%*d %d", &code) != 1 || !sep) {
        snprintf(err, errlen, "not an HTTP answer");
        free(resp);
        return -1;
    }
    memmove(resp, sep + 4, len - (size_t)(sep + 4 - resp) + 1);
    *body = resp;
    return code;
}

/* The sample on line l (up to eol) when its name is name: labels and value. */
static bool s_sample(const char *l, const char *eol, const char *name, const char **labels,
                     size_t *llen, double *v)
{
    size_t nl = strlen(name);
    if ((size_t)(eol - l) <= nl || strncmp(l, name, nl) || (l[nl] != '{' && l[nl] != ' '))
        return false;
    const char *p = l + nl;
    *labels = "";
    *llen = 0;
    if (*p == '{') {
        const char *close = memchr(p, '}', (size_t)(eol - p));
        if (!close)
            return false;
        *labels = p + 1;
        *llen = (size_t)(close - p - 1);
        p = close + 1;
    }
    char *end;
    *v = strtod(p, &end);
    return end != p;
}

/* The next sample of name at or after *pos (moved past it): labels and
 * value. False when there is none left. */
static bool s_next_sample(const char **pos, const char *name, const char **labels, size_t *llen,
                          double *v)
{
    for (const char *l = *pos; l && *l;) {
        const char *eol = strchr(l, '\n');
        if (!eol)
            eol = l + strlen(l);
        const char *next = *eol ? eol + 1 : eol;
        if (*l != '#' && s_sample(l, eol, name, labels, llen, v)) {
            *pos = next;
            return true;
        }
        l = next;
    }
    return false;
}

double scrape_sum(const char *text, const char *name, const char *filter, int *found)
{
    double sum = 0, v;
    int n = 0;
    const char *labels;
    size_t llen;
    for (const char *pos = text; s_next_sample(&pos, name, &labels, &llen, &v);) {
        if (!filter || !*filter || memmem(labels, llen, filter, strlen(filter))) {
            sum += v;
            n++;
        }
    }
    if (found)
        *found = n;
    return sum;
}

char *scrape_label(const char *text, const char *name, const char *key, char *out, size_t len)
{
    const char *pos = text, *labels;
    size_t llen;
    double v;
    out[0] = '\0';
    if (!s_next_sample(&pos, name, &labels, &llen, &v))
        return out;
    char pat[80];
    snprintf(pat, sizeof(pat), "%s=\"", key);
    const char *k = memmem(labels, llen, pat, strlen(pat));
    if (k) {
        k += strlen(pat);
        const char *q = memchr(k, '"', (size_t)(labels + llen - k));
        size_t n = q ? (size_t)(q - k) : 0;
        snprintf(out, len, "%.*s", (int)n, k);
    }
    return out;
}

/* listen address -> an address to connect to. */
static void s_connectable(const char *listen, char *out, size_t len)
{
    char host[256];
    uint16_t port;
    if (fg_hostport_split(listen, host, sizeof(host), &port) != 0)
        snprintf(out, len, "%s", listen);
    else if (!host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "*"))
        snprintf(out, len, "127.0.0.1:%u", (unsigned)port);
    else if (!strcmp(host, "::"))
        snprintf(out, len, "[::1]:%u", (unsigned)port);
    else
        snprintf(out, len, "%s", listen);
}

static int s_add(scrape_target_t *out, int n, int max, const char *name, const char *kind,
                 const char *listen)
{
    if (!listen[0] || n >= max)
        return n;
    snprintf(out[n].name, sizeof(out[n].name), "%s", name);
    snprintf(out[n].kind, sizeof(out[n].kind), "%s", kind);
    s_connectable(listen, out[n].hostport, sizeof(out[n].hostport));
    return n + 1;
}

int scrape_targets(const fg_config_t *cfg, scrape_target_t *out, int max)
{
    int n = s_add(out, 0, max, "collector", "collector", cfg->collector.metrics_listen);
    for (int i = 0; cfg->aggregator.metrics_listen[0] && i < cfg->aggregator.shards; i++) {
        char ep[FG_ENDPOINT_MAX], name[32];
        if (fg_endpoint_offset(cfg->aggregator.metrics_listen, i, ep, sizeof(ep)) != 0)
            continue;
        snprintf(name, sizeof(name), "aggregator/%d", i);
        n = s_add(out, n, max, name, "aggregator", ep);
    }
    n = s_add(out, n, max, "detector", "detector", cfg->detector.metrics_listen);
    return s_add(out, n, max, "actuator", "actuator", cfg->actuator.metrics_listen);
}
