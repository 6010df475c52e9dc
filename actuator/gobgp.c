/* The GoBGP backend: blackhole routes in gobgpd's global RIB, driven through
 * its `gobgp` client (no gRPC C library in Debian), never blocking the
 * actuator's loop:
 *
 * - announces are streamed: one long-running `gobgp mrt inject global
 *   /dev/stdin` (the injector) reads MRT records (actuator/mrt.c) from a
 *   pipe and sends each one to gobgpd over its gRPC stream as it arrives,
 *   so a route costs a write() instead of a process (~20-80 ms of CPU);
 *   one runs from the start; one that exited (gobgpd restarted or
 *   unreachable) is replaced after 1 s, the wait doubling up to 30 s while
 *   each dies young, at once when a RIB listing shows gobgpd answers; each
 *   new one is given every desired route;
 * - withdraws (the gobgp client has no batch form of them) and the
 *   announce of a prefix whose withdraw is still queued or running (so it
 *   cannot be overtaken) are short-lived `gobgp global rib add|del`
 *   processes, run by the runner.
 *
 * It keeps the desired routes (prefix -> number of bans behind it: with a
 * prefix length below /32 several bans share a route) and reconciles them
 * with the RIB every check_interval and after sync(): `gobgp global rib -a
 * ipv4|ipv6 -j` lists what gobgpd holds; a desired route missing is
 * announced, a blackhole route (65535:666) not desired is withdrawn. So a
 * gobgpd restart, a failed command or a route deleted by hand heals within
 * one interval. Adds and deletes are idempotent, so a listing that races
 * with a command costs at most one redundant command. Daemon layer: logs. */
#include "common/addr.h"
#include "actuator/gobgp.h"

#include <czmq.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actuator/injector.h"
#include "actuator/mrt.h"
#include "actuator/runner.h"
#include "common/fgbuf.h"
#include "common/log.h"

#define GOBGP_OUT_MAX (64u << 20) /* a RIB listing of a few 100 k routes */
#define GOBGP_RL_MS 10000
#define GOBGP_BLACKHOLE 4294902426ULL /* 65535:666 as gobgp's JSON prints it */
#define GOBGP_ATTR_COMMUNITIES 8   /* RFC 1997 COMMUNITIES path attribute type code */
#define GOBGP_INJECT_MAX (64u << 20) /* MRT bytes waiting for the injector: ~1 M routes */
#define GOBGP_RESTART_MS 1000        /* an injector that exited is replaced after 1 s, */
#define GOBGP_RESTART_MAX_MS 30000   /* doubling up to 30 s while each dies young */
#define GOBGP_YOUNG_MS 5000          /* (it exited within 5 s: gobgpd not answering) */
#define GOBGP_GRACE_MS 100           /* for the injector to pass on what it read */

enum { TAG_ADD, TAG_DEL, TAG_LIST4, TAG_LIST6, TAG_FS_ADD, TAG_FS_DEL, TAG_LIST_FS4, TAG_LIST_FS6 };
#define GOBGP_LISTINGS 4

/* A FlowSpec rule a ban wants: the rule and its action. */
typedef struct {
    fs_rule_t rule;
    fs_action_t act;
    double rate;
    char rt[32];
} gobgp_fs_t;

typedef struct {
    backend_t base;
    const fg_config_t *cfg;
    runner_t *runner;
    zhashx_t *desired;   /* prefix -> count of bans (as a pointer) */
    zhashx_t *seen;      /* blackhole prefixes of the listing being collected */
    zhashx_t *desired_fs; /* fs_rule_key -> gobgp_fs_t (owned) */
    zhashx_t *seen_fs;    /* floodgate's rules of the FlowSpec listings */
    int listing;         /* listing jobs still running */
    bool listing_failed;
    uint64_t next_resync_ms;
    char host[256], port[16];
    char communities[512]; /* "65535:666,a:b,..." */
    gobgp_stats_t st;
    bool down; /* the last command failed */
    injector_t *inj;
    mrt_attrs_t attrs;
    fg_buf_t rec; /* scratch for MRT records */
    uint32_t seq; /* MRT sequence number */
    uint64_t next_start_ms, started_ms;
    int restart_ms; /* the wait before the next injector after one exited */
    fg_ratelimit_t rl;
} gobgp_t;

/* ---- the RIB listing ----
 *
 * {"<prefix>":[<path>,...],...} where a path is {"nlri":{"prefix":"..."},
 * "attrs":[{"type":8,"communities":[N,...]},...],...}. Each destination is
 * parsed on its own by jansson (JSON_DISABLE_EOF_CHECK stops after one
 * value), so a listing of a few 100 k routes never becomes one tree. */

static const char *s_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* The JSON value at *p (before end), *p moved past it; NULL when not JSON. */
static json_t *s_next_value(const char **p, const char *end)
{
    json_error_t err;
    json_t *v = json_loadb(*p, (size_t)(end - *p), JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &err);
    if (v)
        *p += err.position;
    return v;
}

/* True when the path's attributes hold the community attribute (type 8)
 * with BLACKHOLE (65535:666) among its values. */
static bool s_path_blackhole(const json_t *path)
{
    size_t i, k;
    const json_t *attr, *c;
    json_array_foreach(json_object_get(path, "attrs"), i, attr)
    {
        if (json_integer_value(json_object_get(attr, "type")) != GOBGP_ATTR_COMMUNITIES)
            continue;
        json_array_foreach(json_object_get(attr, "communities"), k, c)
        {
            if (json_is_integer(c) && (unsigned long long)json_integer_value(c) == GOBGP_BLACKHOLE)
                return true;
        }
    }
    return false;
}

/* The paths of one destination: fn for each. Count, or -1 on a path
 * without a usable nlri prefix. */
static int s_destination(const json_t *paths, gobgp_route_fn *fn, void *arg)
{
    size_t i;
    const json_t *path;
    if (!json_is_array(paths))
        return -1;
    json_array_foreach(paths, i, path)
    {
        const char *prefix = json_string_value(json_object_get(json_object_get(path, "nlri"),
                                                               "prefix"));
        if (!prefix || strlen(prefix) >= FG_PREFIX_STRLEN)
            return -1;
        fn(prefix, s_path_blackhole(path), arg);
    }
    return (int)json_array_size(paths);
}

/* One "<prefix>":[paths] member at *p: fn for each path. Count or -1. */
static int s_member(const char **p, const char *end, gobgp_route_fn *fn, void *arg)
{
    json_t *key = s_next_value(p, end);
    bool is_key = json_is_string(key);
    json_decref(key);
    *p = s_ws(*p, end);
    if (!is_key || *p >= end || **p != ':')
        return -1;
    *p = s_ws(*p + 1, end);
    json_t *paths = s_next_value(p, end);
    int n = s_destination(paths, fn, arg);
    json_decref(paths);
    return n;
}

int gobgp_parse_rib(const char *json, gobgp_route_fn *fn, void *arg)
{
    if (!json)
        return -1;
    const char *end = json + strlen(json), *p = s_ws(json, end);
    int n = 0;
    if (p == end)
        return 0; /* nothing printed: no route */
    if (*p != '{')
        return -1;
    p = s_ws(p + 1, end);
    if (p < end && *p == '}')
        return s_ws(p + 1, end) == end ? 0 : -1;
    for (;;) {
        int k = s_member(&p, end, fn, arg);
        if (k < 0 || k > INT_MAX - n)
            return -1;
        n += k;
        p = s_ws(p, end);
        if (p < end && *p == ',') {
            p = s_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}' && s_ws(p + 1, end) == end)
            return n;
        return -1;
    }
}

/* ---- commands ---- */

static void s_on_route(const char *prefix, bool blackhole, void *arg)
{
    gobgp_t *self = arg;
    if (blackhole)
        zhashx_update(self->seen, prefix, (void *)1);
}

static int s_submit(gobgp_t *self, int tag, const char *prefix)
{
    bool v6 = prefix && strchr(prefix, ':');
    const char *fam = tag == TAG_LIST_FS4   ? "ipv4-flowspec"
                      : tag == TAG_LIST_FS6 ? "ipv6-flowspec"
                      : (tag == TAG_LIST6 || v6) ? "ipv6"
                                                 : "ipv4";
    const char *nh = v6 ? self->cfg->actuator.next_hop_v6 : self->cfg->actuator.next_hop_v4;
    const char *head[] = {
        self->cfg->actuator.gobgp_client, "-u", self->host, "-p", self->port, "global", "rib"};
    const char *argv[RUNNER_MAX_ARGS];
    int n = 0;
    for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
        argv[n++] = head[i];
    if (tag == TAG_ADD || tag == TAG_DEL) {
        argv[n++] = tag == TAG_ADD ? "add" : "del";
        argv[n++] = "-a";
        argv[n++] = fam;
        argv[n++] = prefix;
        if (tag == TAG_ADD) {
            const char *tail[] = {"nexthop", nh, "community", self->communities};
            for (size_t i = 0; i < 4; i++)
                argv[n++] = tail[i];
        }
    } else {
        argv[n++] = "-a";
        argv[n++] = fam;
        argv[n++] = "-j";
    }
    argv[n] = NULL;
    int rc = runner_submit(self->runner, argv, prefix ? prefix : "", tag, NULL);
    if (rc < 0) {
        self->st.dropped++;
        fg_log_rl(&self->rl, GOBGP_RL_MS, FG_LOG_WARN,
                  "event=backend_error backend=gobgp op=%s prefix=%s reason=queue_full",
                  tag == TAG_ADD ? "announce" : tag == TAG_DEL ? "withdraw" : "list",
                  prefix ? prefix : "-");
    }
    return rc;
}

/* ---- the injector ---- */

/* One route's record to the injector. 0, or -1 (refused: counted). */
static int s_inject(gobgp_t *self, const char *prefix)
{
    fg_buf_reset(&self->rec);
    if (mrt_rib(&self->rec, self->seq++, prefix, &self->attrs) < 0 ||
        injector_write(self->inj, self->rec.data, self->rec.len) < 0) {
        self->st.dropped++;
        fg_log_rl(&self->rl, GOBGP_RL_MS, FG_LOG_WARN,
                  "event=backend_error backend=gobgp op=announce prefix=%s reason=%s", prefix,
                  self->rec.failed ? "out_of_memory" : "injector_full");
        return -1;
    }
    self->st.injected++;
    return 0;
}

/* A new injector, given every desired route. One runs from the start, so
 * the first ban does not wait for a process to start and connect. */
static void s_inject_start(gobgp_t *self)
{
    uint64_t now = fg_mono_ms();
    if (injector_running(self->inj) || now < self->next_start_ms)
        return;
    self->started_ms = now;
    const char *argv[] = {self->cfg->actuator.gobgp_client, "-u", self->host, "-p", self->port,
                          "mrt", "inject", "global", "/dev/stdin", NULL};
    fg_buf_reset(&self->rec);
    if (injector_start(self->inj, argv) < 0 || mrt_peer_index(&self->rec) < 0 ||
        injector_write(self->inj, self->rec.data, self->rec.len) < 0) {
        fg_log_rl(&self->rl, GOBGP_RL_MS, FG_LOG_WARN,
                  "event=backend_error backend=gobgp op=inject reason=cannot_start");
        return;
    }
    self->st.injector_starts++;
    for (void *it = zhashx_first(self->desired); it; it = zhashx_next(self->desired))
        s_inject(self, zhashx_cursor(self->desired));
}

/* Reap an injector that exited (it never does while gobgpd takes its
 * stream): log why; the next one announces everything again. */
static void s_inject_poll(gobgp_t *self)
{
    injector_exit_t ex;
    if (injector_poll(self->inj, &ex)) {
        uint64_t now = fg_mono_ms();
        bool young = now - self->started_ms < GOBGP_YOUNG_MS;
        self->restart_ms = !young                                  ? GOBGP_RESTART_MS
                           : self->restart_ms * 2 > GOBGP_RESTART_MAX_MS ? GOBGP_RESTART_MAX_MS
                                                                        : self->restart_ms * 2;
        self->next_start_ms = now + (uint64_t)self->restart_ms;
        self->down = true;
        self->st.failed++;
        self->st.timed_out += ex.killed;
        for (char *p = ex.err; *p; p++)
            if (*p == '\n' || *p == '"')
                *p = ' ';
        fg_log_rl(&self->rl, GOBGP_RL_MS, FG_LOG_WARN,
                  "event=backend_error backend=gobgp op=inject pid=%d status=%d killed=%d "
                  "err=\"%s\"",
                  (int)ex.pid, ex.status, ex.killed, ex.err);
    }
    s_inject_start(self);
}

/* Announce prefix: through the injector, or behind its withdraw when one
 * is queued or running (so the withdraw cannot overtake it). */
static int s_announce(gobgp_t *self, const char *prefix)
{
    if (runner_busy(self->runner, prefix))
        return s_submit(self, TAG_ADD, prefix);
    if (!injector_running(self->inj)) {
        s_inject_start(self); /* announces everything desired, prefix too */
        return injector_running(self->inj) ? 0 : -1;
    }
    return s_inject(self, prefix);
}

/* Both listings are in: announce what is missing, withdraw what is extra
 * (prefixes with a command queued or running are left to that command). */
static void s_reconcile(gobgp_t *self)
{
    uint64_t added = 0, removed = 0;
    self->st.resyncs++;
    self->st.rib_routes = zhashx_size(self->seen);
    for (void *it = zhashx_first(self->desired); it; it = zhashx_next(self->desired)) {
        const char *prefix = zhashx_cursor(self->desired);
        if (!zhashx_lookup(self->seen, prefix) && !runner_busy(self->runner, prefix) &&
            s_announce(self, prefix) == 0)
            added++;
    }
    for (void *it = zhashx_first(self->seen); it; it = zhashx_next(self->seen)) {
        const char *prefix = zhashx_cursor(self->seen);
        if (!zhashx_lookup(self->desired, prefix) && !runner_busy(self->runner, prefix) &&
            s_submit(self, TAG_DEL, prefix) == 0)
            removed++;
    }
    self->st.resync_added += added;
    self->st.resync_removed += removed;
    if (added + removed > 0)
        fg_info("event=backend_resync backend=gobgp rib=%zu desired=%zu announce=%llu "
                "withdraw=%llu",
                zhashx_size(self->seen), zhashx_size(self->desired), (unsigned long long)added,
                (unsigned long long)removed);
}

static void s_reconcile_fs(gobgp_t *self);

static void s_on_rule(const char *key, void *arg)
{
    gobgp_t *self = arg;
    fs_rule_t r;
    fg_addr_t a;
    /* only rules for monitored hosts are floodgate's to withdraw */
    if (fs_rule_parse_key(key, &r) == 0 && (a = r.dst.addr, fg_config_group(self->cfg, &a)))
        zhashx_update(self->seen_fs, key, (void *)1);
}

static void s_listing_done(gobgp_t *self, const runner_result_t *r)
{
    bool fs = r->tag == TAG_LIST_FS4 || r->tag == TAG_LIST_FS6;
    if (!r->ok || (fs ? gobgp_fs_parse_rib(r->out, s_on_rule, self)
                      : gobgp_parse_rib(r->out, s_on_route, self)) < 0)
        self->listing_failed = true;
    if (--self->listing > 0)
        return;
    if (!self->listing_failed) {
        if (!injector_running(self->inj)) /* gobgpd answers: no need to wait */
            self->next_start_ms = 0, self->restart_ms = GOBGP_RESTART_MS;
        s_reconcile(self);
        s_reconcile_fs(self);
    }
    zhashx_purge(self->seen);
    zhashx_purge(self->seen_fs);
}

static void s_done(const runner_result_t *r, void *arg)
{
    gobgp_t *self = arg;
    self->down = !r->ok;
    if (!r->ok) {
        self->st.failed++;
        self->st.timed_out += r->timed_out;
        char why[160];
        snprintf(why, sizeof(why), "%s", r->err[0] ? r->err : r->out);
        for (char *p = why; *p; p++)
            if (*p == '\n' || *p == '"')
                *p = ' ';
        fg_log_rl(&self->rl, GOBGP_RL_MS, FG_LOG_WARN,
                  "event=backend_error backend=gobgp op=%s prefix=%s status=%d timed_out=%d "
                  "err=\"%s\"",
                  r->tag == TAG_ADD ? "announce" : r->tag == TAG_DEL ? "withdraw" : "list",
                  r->key[0] ? r->key : "-", r->status, r->timed_out, why);
    } else if (r->tag == TAG_ADD) {
        self->st.announced++;
    } else if (r->tag == TAG_DEL) {
        self->st.withdrawn++;
    }
    if (r->tag == TAG_FS_ADD)
        self->st.announced++;
    else if (r->tag == TAG_FS_DEL)
        self->st.withdrawn++;
    if (r->tag == TAG_LIST4 || r->tag == TAG_LIST6 || r->tag == TAG_LIST_FS4 ||
        r->tag == TAG_LIST_FS6)
        s_listing_done(self, r);
}

static void s_resync(gobgp_t *self)
{
    self->next_resync_ms = fg_mono_ms() + (uint64_t)self->cfg->actuator.check_interval * 1000;
    if (self->listing > 0)
        return;
    self->listing_failed = false;
    zhashx_purge(self->seen);
    zhashx_purge(self->seen_fs);
    self->listing = GOBGP_LISTINGS;
    static const int tags[GOBGP_LISTINGS] = {TAG_LIST4, TAG_LIST6, TAG_LIST_FS4, TAG_LIST_FS6};
    for (int i = 0; i < GOBGP_LISTINGS; i++)
        if (s_submit(self, tags[i], NULL) < 0)
            self->listing--, self->listing_failed = true;
}

/* ---- FlowSpec ---- */

static void s_fs_free(void **item)
{
    free(*item);
    *item = NULL;
}

/* Add (then the rule's action) or delete one rule through the client. */
static int s_fs_submit(gobgp_t *self, const gobgp_fs_t *f, bool add, const char *key)
{
    const char *argv[RUNNER_MAX_ARGS];
    char buf[1024];
    const char *head[] = {
        self->cfg->actuator.gobgp_client, "-u", self->host, "-p", self->port, "global", "rib"};
    int n = 0;
    for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
        argv[n++] = head[i];
    if (gobgp_fs_args(&f->rule, f->act, f->rate, f->rt, add, argv, n, RUNNER_MAX_ARGS, buf,
                      sizeof(buf)) < 0)
        return -1;
    int tag = add ? TAG_FS_ADD : TAG_FS_DEL;
    if (runner_submit(self->runner, argv, key, tag, NULL) < 0) {
        self->st.dropped++;
        fg_log_rl(&self->rl, GOBGP_RL_MS, FG_LOG_WARN,
                  "event=backend_error backend=gobgp op=%s rule=\"%s\" reason=queue_full",
                  add ? "announce" : "withdraw", key);
        return -1;
    }
    return 0;
}

/* The rules of b's rule set, each with the set's action, to fn. */
static int s_fs_each(gobgp_t *self, const ban_t *b, bool add, bool submit)
{
    fs_set_t set;
    gobgp_fs_t f;
    char key[FS_RULE_STRLEN];
    if (fs_set_parse(b->flowspec, &set, &f.act, &f.rate, f.rt, sizeof(f.rt)) < 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < set.n; i++) {
        f.rule = set.rule[i];
        if (fs_rule_key(&f.rule, key, sizeof(key)) < 0)
            continue;
        if (add) {
            gobgp_fs_t *copy = malloc(sizeof(*copy));
            if (!copy)
                return -1;
            *copy = f;
            zhashx_update(self->desired_fs, key, copy);
        } else {
            zhashx_delete(self->desired_fs, key);
        }
        if (submit && s_fs_submit(self, &f, add, key) < 0)
            rc = -1;
    }
    return rc;
}

static int s_fs_ban(gobgp_t *self, const ban_t *b, bool submit)
{
    return s_fs_each(self, b, true, submit);
}

static int s_fs_unban(gobgp_t *self, const ban_t *b)
{
    return s_fs_each(self, b, false, true);
}

/* The FlowSpec listings are in: add the rules missing, delete floodgate's
 * rules no ban wants. */
static void s_reconcile_fs(gobgp_t *self)
{
    uint64_t added = 0, removed = 0;
    self->st.fs_rib = zhashx_size(self->seen_fs);
    for (gobgp_fs_t *f = zhashx_first(self->desired_fs); f; f = zhashx_next(self->desired_fs)) {
        const char *key = zhashx_cursor(self->desired_fs);
        if (!zhashx_lookup(self->seen_fs, key) && !runner_busy(self->runner, key) &&
            s_fs_submit(self, f, true, key) == 0)
            added++;
    }
    for (void *it = zhashx_first(self->seen_fs); it; it = zhashx_next(self->seen_fs)) {
        const char *key = zhashx_cursor(self->seen_fs);
        gobgp_fs_t f = {.act = FS_DISCARD};
        if (!zhashx_lookup(self->desired_fs, key) && !runner_busy(self->runner, key) &&
            fs_rule_parse_key(key, &f.rule) == 0 && s_fs_submit(self, &f, false, key) == 0)
            removed++;
    }
    self->st.resync_added += added;
    self->st.resync_removed += removed;
    if (added + removed > 0)
        fg_info("event=backend_resync backend=gobgp kind=flowspec rib=%zu desired=%zu "
                "announce=%llu withdraw=%llu",
                zhashx_size(self->seen_fs), zhashx_size(self->desired_fs),
                (unsigned long long)added, (unsigned long long)removed);
}

/* ---- the vtable ---- */

static int s_ban(backend_t *base, const ban_t *b)
{
    gobgp_t *self = (gobgp_t *)base;
    char prefix[FG_PREFIX_STRLEN];
    if (ban_is_flowspec(b))
        return s_fs_ban(self, b, true);
    if (backend_prefix(self->cfg, b->ip, prefix) < 0)
        return -1;
    intptr_t n = (intptr_t)zhashx_lookup(self->desired, prefix);
    zhashx_update(self->desired, prefix, (void *)(n + 1));
    return n > 0 ? 0 : s_announce(self, prefix);
}

static int s_unban(backend_t *base, const ban_t *b, const char *reason)
{
    (void)reason;
    gobgp_t *self = (gobgp_t *)base;
    char prefix[FG_PREFIX_STRLEN];
    if (ban_is_flowspec(b))
        return s_fs_unban(self, b);
    if (backend_prefix(self->cfg, b->ip, prefix) < 0)
        return -1;
    intptr_t n = (intptr_t)zhashx_lookup(self->desired, prefix);
    if (n > 1) {
        zhashx_update(self->desired, prefix, (void *)(n - 1));
        return 0;
    }
    zhashx_delete(self->desired, prefix);
    return s_submit(self, TAG_DEL, prefix);
}

static int s_sync(backend_t *base, const ban_t *const *bans, size_t n)
{
    gobgp_t *self = (gobgp_t *)base;
    char prefix[FG_PREFIX_STRLEN];
    zhashx_purge(self->desired);
    zhashx_purge(self->desired_fs);
    for (size_t i = 0; i < n; i++) {
        if (ban_is_flowspec(bans[i])) {
            s_fs_ban(self, bans[i], false);
            continue;
        }
        if (backend_prefix(self->cfg, bans[i]->ip, prefix) < 0)
            continue;
        intptr_t c = (intptr_t)zhashx_lookup(self->desired, prefix);
        zhashx_update(self->desired, prefix, (void *)(c + 1));
    }
    s_resync(self);
    return 0;
}

static void s_poll(backend_t *base)
{
    gobgp_t *self = (gobgp_t *)base;
    runner_poll(self->runner);
    s_inject_poll(self);
    if (fg_mono_ms() >= self->next_resync_ms)
        s_resync(self);
}

static void s_stats(const backend_t *base, char *buf, size_t len)
{
    gobgp_stats_t s;
    gobgp_get_stats(base, &s);
    snprintf(buf, len,
             " gobgp_announced=%llu gobgp_withdrawn=%llu gobgp_failed=%llu gobgp_timed_out=%llu"
             " gobgp_dropped=%llu gobgp_resyncs=%llu gobgp_resync_added=%llu"
             " gobgp_resync_removed=%llu gobgp_routes_desired=%llu gobgp_rib_routes=%llu"
             " gobgp_queue=%llu gobgp_injected=%llu gobgp_injector_starts=%llu"
             " gobgp_inject_pending=%llu",
             (unsigned long long)s.announced, (unsigned long long)s.withdrawn,
             (unsigned long long)s.failed, (unsigned long long)s.timed_out,
             (unsigned long long)s.dropped, (unsigned long long)s.resyncs,
             (unsigned long long)s.resync_added, (unsigned long long)s.resync_removed,
             (unsigned long long)s.desired, (unsigned long long)s.rib_routes,
             (unsigned long long)s.queue, (unsigned long long)s.injected,
             (unsigned long long)s.injector_starts, (unsigned long long)s.inject_pending);
}

/* The commands done and the injector's pipe read, then GOBGP_GRACE_MS for
 * the injector to hand on what it read last. */
static bool s_wait_idle(backend_t *base, int timeout_ms)
{
    gobgp_t *self = (gobgp_t *)base;
    uint64_t end = fg_mono_ms() + (uint64_t)timeout_ms;
    for (;;) {
        s_inject_poll(self);
        bool idle = runner_wait_idle(self->runner, 0) && injector_pending(self->inj) == 0;
        if (idle || fg_mono_ms() >= end) {
            if (idle && injector_running(self->inj))
                usleep(GOBGP_GRACE_MS * 1000);
            return idle;
        }
        usleep(5000);
    }
}

/* Commands queued or running, or routes the injector has not read yet. */
static bool s_busy(const backend_t *base)
{
    const gobgp_t *self = (const gobgp_t *)base;
    return runner_queued(self->runner) > 0 || runner_running(self->runner) > 0 ||
           injector_pending(self->inj) > 0;
}

static void s_destroy(backend_t *base)
{
    gobgp_t *self = (gobgp_t *)base;
    runner_destroy(&self->runner);
    injector_destroy(&self->inj, 500);
    fg_buf_free(&self->rec);
    zhashx_destroy(&self->desired);
    zhashx_destroy(&self->seen);
    zhashx_destroy(&self->desired_fs);
    zhashx_destroy(&self->seen_fs);
    free(self);
}

/* Up while the last command or listing reached gobgpd. */
static int s_up(const backend_t *base)
{
    return !((const gobgp_t *)base)->down;
}

static const backend_ops_t s_ops = {.name = "gobgp",
                                    .ban = s_ban,
                                    .unban = s_unban,
                                    .sync = s_sync,
                                    .poll = s_poll,
                                    .stats = s_stats,
                                    .destroy = s_destroy,
                                    .up = s_up,
                                    .wait_idle = s_wait_idle,
                                    .busy = s_busy};

void gobgp_get_stats(const backend_t *base, gobgp_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!base || base->ops != &s_ops)
        return;
    const gobgp_t *self = (const gobgp_t *)base;
    *out = self->st;
    out->desired = zhashx_size(self->desired);
    out->fs_desired = zhashx_size(self->desired_fs);
    out->queue = runner_queued(self->runner) + (size_t)runner_running(self->runner);
    out->inject_pending = injector_pending(self->inj);
}

/* host and port of "host:port" / "[v6]:port". */
static int s_split_api(gobgp_t *self, const char *api)
{
    uint16_t port;
    if (fg_hostport_split(api, self->host, sizeof(self->host), &port) != 0 || !self->host[0])
        return -1;
    snprintf(self->port, sizeof(self->port), "%u", (unsigned)port);
    return 0;
}

backend_t *backend_gobgp_new(const fg_config_t *cfg)
{
    gobgp_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->base.ops = &s_ops;
    self->cfg = cfg;
    self->runner = runner_new(cfg->actuator.backend_queue, cfg->actuator.backend_parallel,
                              cfg->actuator.backend_timeout * 1000, GOBGP_OUT_MAX, s_done, self);
    self->desired = zhashx_new();
    self->seen = zhashx_new();
    self->desired_fs = zhashx_new();
    self->seen_fs = zhashx_new();
    if (self->desired_fs)
        zhashx_set_destructor(self->desired_fs, s_fs_free);
    self->inj = injector_new(GOBGP_INJECT_MAX, cfg->actuator.backend_timeout * 1000);
    self->restart_ms = GOBGP_RESTART_MS / 2; /* doubled by the first young exit */
    fg_buf_init(&self->rec, 0);
    snprintf(self->communities, sizeof(self->communities), "65535:666%s%s",
             cfg->actuator.communities[0] ? "," : "", cfg->actuator.communities);
    for (char *p = self->communities; *p; p++)
        if (*p == ' ')
            *p = ',';
    if (!self->runner || !self->desired || !self->seen || !self->desired_fs || !self->seen_fs ||
        !self->inj ||
        mrt_attrs_init(&self->attrs, cfg->actuator.next_hop_v4, cfg->actuator.next_hop_v6,
                       cfg->actuator.communities) < 0 ||
        s_split_api(self, cfg->actuator.gobgp_api) < 0) {
        s_destroy(&self->base);
        return NULL;
    }
    s_inject_start(self);
    return &self->base;
}
