/* The ExaBGP backend: text API commands, one line each,
 *
 *   announce route 10.0.0.5/32 next-hop 192.0.2.1 community [65535:666 ...]
 *   withdraw route 10.0.0.5/32 next-hop 192.0.2.1
 *
 * written to stdout (the actuator runs as ExaBGP's API `process`, encoder
 * text) or to ExaBGP's API named pipe (exabgp_pipe). Writes never block: the
 * lines wait in a bounded buffer that poll() flushes. ExaBGP keeps no RIB we
 * can list here, so reconciliation is: every route desired is announced
 * again whenever the output is (re)opened (ExaBGP restarted: a new reader on
 * the pipe, or a new process for stdout) and after sync(); announcing a
 * route ExaBGP already has changes nothing on the wire. Daemon layer: logs. */
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actuator/backend.h"
#include "actuator/flowspec.h"
#include "common/fgbuf.h"
#include "common/log.h"

#define EXA_BUF_MAX (16u << 20)
#define EXA_REOPEN_MS 1000
#define EXA_RL_MS 10000

typedef struct {
    backend_t base;
    const fg_config_t *cfg;
    int fd;                /* -1: closed (pipe without a reader) */
    bool own_fd;           /* the pipe (not stdout) */
    zhashx_t *desired;     /* prefix -> count of bans */
    zhashx_t *desired_fs;  /* fs_rule_key -> its "flow route { ... }" text (owned) */
    fg_buf_t out;          /* API lines not yet written, at most EXA_BUF_MAX bytes */
    uint64_t next_open_ms;     /* on clock */
    uint64_t (*clock)(void);   /* monotonic ms: fg_mono_ms, or a test's */
    uint64_t lines, dropped, write_errors, reopens;
    fg_ratelimit_t rl;
} exa_t;

static void s_append(exa_t *self, const char *line)
{
    size_t n = strlen(line);
    bool full = self->out.len + n > EXA_BUF_MAX;
    if (full || fg_buf_append(&self->out, line, n) < 0) {
        self->dropped++;
        self->out.failed = false; /* a later, shorter line may fit */
        if (full)
            fg_log_rl(&self->rl, EXA_RL_MS, FG_LOG_WARN,
                      "event=backend_error backend=exabgp reason=buffer_full");
        return;
    }
    self->lines++;
}

static void s_route(exa_t *self, bool announce, const char *prefix)
{
    char line[FG_PREFIX_STRLEN + 512];
    const fg_config_t *cfg = self->cfg;
    const char *nh = strchr(prefix, ':') ? cfg->actuator.next_hop_v6 : cfg->actuator.next_hop_v4;
    if (announce)
        snprintf(line, sizeof(line), "announce route %s next-hop %s community [65535:666%s%s]\n",
                 prefix, nh, cfg->actuator.communities[0] ? " " : "", cfg->actuator.communities);
    else
        snprintf(line, sizeof(line), "withdraw route %s next-hop %s\n", prefix, nh);
    s_append(self, line);
}

/* "flow route { match { ... } then { ... } }" of one rule into out. */
static int s_flow_text(const fs_rule_t *r, fs_action_t act, double rate, const char *rt,
                       char *out, size_t len)
{
    char dst[FG_PREFIX_STRLEN], src[FG_PREFIX_STRLEN], m[512] = "", t[64];
    size_t n = 0;
    bool v6 = !fg_addr_is_v4(&r->dst.addr);
#define M(...) n += (size_t)snprintf(m + n, n < sizeof(m) ? sizeof(m) - n : 0, __VA_ARGS__)
    M("destination %s; ", fg_prefix_format(&r->dst, dst));
    if (r->src.len)
        M("source %s; ", fg_prefix_format(&r->src, src));
    if (r->proto >= 0)
        M("%s =%d; ", v6 ? "next-header" : "protocol", r->proto);
    if (r->sport >= 0)
        M("source-port =%d; ", r->sport);
    if (r->dport >= 0)
        M("destination-port =%d; ", r->dport);
    if (r->tcp_flags & FS_TCP_SYN)
        M("tcp-flags [ syn ]; ");
    if (r->fragment)
        M("fragment [ is-fragment ]; ");
#undef M
    if (n >= sizeof(m))
        return -1;
    if (act == FS_RATE_LIMIT)
        snprintf(t, sizeof(t), "rate-limit %.0f;", rate);
    else if (act == FS_REDIRECT_RT)
        snprintf(t, sizeof(t), "redirect %s;", rt);
    else
        snprintf(t, sizeof(t), "discard;");
    int k = snprintf(out, len, "flow route { match { %s} then { %s } }", m, t);
    return k < 0 || (size_t)k >= len ? -1 : 0;
}

static void s_text_free(void **item)
{
    free(*item);
    *item = NULL;
}

static void s_flow(exa_t *self, bool announce, const char *text)
{
    char line[1100];
    snprintf(line, sizeof(line), "%s %s\n", announce ? "announce" : "withdraw", text);
    s_append(self, line);
}

/* The rules of b in or out of the desired set; their lines when emit. */
static int s_flows(exa_t *self, const ban_t *b, bool add, bool emit)
{
    fs_set_t set;
    fs_action_t act;
    double rate;
    char rt[32], key[FS_RULE_STRLEN], text[1024];
    if (fs_set_parse(b->flowspec, &set, &act, &rate, rt, sizeof(rt)) < 0)
        return -1;
    for (int i = 0; i < set.n; i++) {
        if (fs_rule_key(&set.rule[i], key, sizeof(key)) < 0 ||
            s_flow_text(&set.rule[i], act, rate, rt, text, sizeof(text)) < 0)
            return -1;
        if (add)
            zhashx_update(self->desired_fs, key, strdup(text));
        else
            zhashx_delete(self->desired_fs, key);
        if (emit)
            s_flow(self, add, text);
    }
    return 0;
}

static void s_announce_all(exa_t *self)
{
    for (void *it = zhashx_first(self->desired); it; it = zhashx_next(self->desired))
        s_route(self, true, zhashx_cursor(self->desired));
    for (char *t = zhashx_first(self->desired_fs); t; t = zhashx_next(self->desired_fs))
        s_flow(self, true, t);
}

/* Open the pipe when there is a reader (O_NONBLOCK write-only open fails
 * with ENXIO until ExaBGP opens it); everything desired is announced anew. */
static void s_open(exa_t *self)
{
    if (self->fd >= 0 || !self->own_fd || self->clock() < self->next_open_ms)
        return;
    self->next_open_ms = self->clock() + EXA_REOPEN_MS;
    self->fd = open(self->cfg->actuator.exabgp_pipe, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (self->fd < 0)
        return;
    self->reopens++;
    fg_buf_free(&self->out); /* lines for the old reader: the full set replaces them */
    s_announce_all(self);
}

static void s_flush(exa_t *self)
{
    s_open(self);
    size_t off = 0;
    while (self->fd >= 0 && off < self->out.len) {
        ssize_t n = write(self->fd, self->out.data + off, self->out.len - off);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        self->write_errors++;
        fg_log_rl(&self->rl, EXA_RL_MS, FG_LOG_WARN,
                  "event=backend_error backend=exabgp op=write err=\"%s\"", strerror(errno));
        if (self->own_fd)
            close(self->fd);
        self->fd = -1; /* the reader went away: reopen, announce all again */
        break;
    }
    if (off == 0)
        return;
    memmove(self->out.data, self->out.data + off, self->out.len - off + 1);
    self->out.len -= off;
}

static int s_count(exa_t *self, const char *prefix, int delta)
{
    intptr_t n = (intptr_t)zhashx_lookup(self->desired, prefix) + delta;
    if (n <= 0)
        zhashx_delete(self->desired, prefix);
    else
        zhashx_update(self->desired, prefix, (void *)n);
    return (int)n;
}

static int s_ban(backend_t *base, const ban_t *b)
{
    exa_t *self = (exa_t *)base;
    char prefix[FG_PREFIX_STRLEN];
    if (ban_is_flowspec(b)) {
        int rc = s_flows(self, b, true, true);
        s_flush(self);
        return rc;
    }
    if (backend_prefix(self->cfg, b->ip, prefix) < 0)
        return -1;
    if (s_count(self, prefix, 1) == 1)
        s_route(self, true, prefix);
    s_flush(self);
    return 0;
}

static int s_unban(backend_t *base, const ban_t *b, const char *reason)
{
    (void)reason;
    exa_t *self = (exa_t *)base;
    char prefix[FG_PREFIX_STRLEN];
    if (ban_is_flowspec(b)) {
        int rc = s_flows(self, b, false, true);
        s_flush(self);
        return rc;
    }
    if (backend_prefix(self->cfg, b->ip, prefix) < 0)
        return -1;
    if (s_count(self, prefix, -1) == 0)
        s_route(self, false, prefix);
    s_flush(self);
    return 0;
}

static int s_sync(backend_t *base, const ban_t *const *bans, size_t n)
{
    exa_t *self = (exa_t *)base;
    char prefix[FG_PREFIX_STRLEN];
    zhashx_purge(self->desired);
    zhashx_purge(self->desired_fs);
    for (size_t i = 0; i < n; i++)
        if (ban_is_flowspec(bans[i]))
            s_flows(self, bans[i], true, false);
        else if (backend_prefix(self->cfg, bans[i]->ip, prefix) == 0)
            s_count(self, prefix, 1);
    s_announce_all(self);
    s_flush(self);
    return 0;
}

static void s_poll(backend_t *base)
{
    s_flush((exa_t *)base);
}

static void s_stats(const backend_t *base, char *buf, size_t len)
{
    const exa_t *self = (const exa_t *)base;
    snprintf(buf, len,
             " exabgp_lines=%llu exabgp_dropped=%llu exabgp_write_errors=%llu exabgp_reopens=%llu"
             " exabgp_routes_desired=%zu exabgp_pending_bytes=%zu exabgp_connected=%d",
             (unsigned long long)self->lines, (unsigned long long)self->dropped,
             (unsigned long long)self->write_errors, (unsigned long long)self->reopens,
             zhashx_size(self->desired), self->out.len, self->fd >= 0);
}

static bool s_wait_idle(backend_t *base, int timeout_ms)
{
    exa_t *self = (exa_t *)base;
    uint64_t end = fg_mono_ms() + (uint64_t)timeout_ms;
    for (;;) {
        s_flush(self);
        if (self->out.len == 0 || fg_mono_ms() >= end)
            return self->out.len == 0;
        usleep(5000);
    }
}

/* Lines waiting for a reader that is there. */
static bool s_busy(const backend_t *base)
{
    const exa_t *self = (const exa_t *)base;
    return self->fd >= 0 && self->out.len > 0;
}

static void s_destroy(backend_t *base)
{
    exa_t *self = (exa_t *)base;
    if (self->own_fd && self->fd >= 0)
        close(self->fd);
    zhashx_destroy(&self->desired);
    zhashx_destroy(&self->desired_fs);
    fg_buf_free(&self->out);
    free(self);
}

/* Up while ExaBGP reads what we write. */
static int s_up(const backend_t *base)
{
    return ((const exa_t *)base)->fd >= 0;
}

static const backend_ops_t s_ops = {.name = "exabgp",
                                    .ban = s_ban,
                                    .unban = s_unban,
                                    .sync = s_sync,
                                    .poll = s_poll,
                                    .stats = s_stats,
                                    .destroy = s_destroy,
                                    .up = s_up,
                                    .wait_idle = s_wait_idle,
                                    .busy = s_busy};

backend_t *backend_exabgp_new(const fg_config_t *cfg)
{
    exa_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->base.ops = &s_ops;
    self->cfg = cfg;
    self->clock = fg_mono_ms;
    self->desired = zhashx_new();
    self->desired_fs = zhashx_new();
    if (self->desired_fs)
        zhashx_set_destructor(self->desired_fs, s_text_free);
    self->own_fd = cfg->actuator.exabgp_pipe[0] != '\0';
    self->fd = self->own_fd ? -1 : STDOUT_FILENO;
    if (!self->own_fd)
        fcntl(STDOUT_FILENO, F_SETFL, fcntl(STDOUT_FILENO, F_GETFL) | O_NONBLOCK);
    if (!self->desired || !self->desired_fs) {
        s_destroy(&self->base);
        return NULL;
    }
    s_open(self);
    return &self->base;
}

void backend_exabgp_set_clock(backend_t *be, uint64_t (*clock)(void))
{
    if (!be || be->ops != &s_ops)
        return;
    exa_t *self = (exa_t *)be;
    self->clock = clock ? clock : fg_mono_ms;
    if (self->fd < 0) /* as if the last open had just failed */
        self->next_open_ms = self->clock() + EXA_REOPEN_MS;
}
