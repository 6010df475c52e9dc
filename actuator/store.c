#include "actuator/store.h"
#include "actuator/flowspec.h"

#include <hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuator/store_int.h"
#include "common/fgredis.h"

store_t *store_new(const fg_config_t *cfg, int timeout_ms)
{
    store_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->timeout_ms = timeout_ms > 0 ? timeout_ms : 500;
    strcpy(self->err, "not connected");
    return self;
}

void store_destroy(store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_disconnect(*self_p);
    free(*self_p);
    *self_p = NULL;
}

void store_disconnect(store_t *self)
{
    if (self->ctx)
        redisFree(self->ctx);
    if (self->sub)
        redisFree(self->sub);
    self->ctx = self->sub = NULL;
}

bool store_connected(const store_t *self)
{
    return self->ctx != NULL;
}

const char *store_errstr(const store_t *self)
{
    return self->err;
}

uint64_t store_errors(const store_t *self)
{
    return self->errors;
}

int store_sub_fd(const store_t *self)
{
    return self->sub ? self->sub->fd : -1;
}

/* Error replies that mean "not now" (the write may succeed later): disk
 * errors, a replica, memory, replicas missing, loading, busy, failover. */
static const char *const s_refusals[] = {"MISCONF",  "READONLY",  "OOM",      "NOREPLICAS",
                                         "LOADING",  "BUSY",      "MASTERDOWN", "TRYAGAIN",
                                         "CLUSTERDOWN", "NOTREADY"};

/* The refusal code that why starts with, or NULL. */
static const char *s_refusal_code(const char *why)
{
    for (size_t i = 0; why && i < sizeof(s_refusals) / sizeof(s_refusals[0]); i++) {
        size_t n = strlen(s_refusals[i]);
        if (strncmp(why, s_refusals[i], n) == 0 && (why[n] == ' ' || why[n] == '\0'))
            return s_refusals[i];
    }
    return NULL;
}

void st_fail(store_t *self, const char *what, const char *why)
{
    const char *code = s_refusal_code(why);
    snprintf(self->err, sizeof(self->err), "%s: %s", what, why && *why ? why : "failed");
    snprintf(self->refusal, sizeof(self->refusal), "%s", code ? code : "");
    self->fenced = false;
    self->errors++;
}

const char *store_refusal(const store_t *self)
{
    return self->refusal[0] ? self->refusal : NULL;
}

/* The command connection failed (I/O error or timeout): it is unusable. */
void st_lost(store_t *self, const char *what)
{
    st_fail(self, what, self->ctx && self->ctx->err ? self->ctx->errstr : "connection lost");
    if (self->ctx)
        redisFree(self->ctx); /* not the subscription: store_sub_read may be using it */
    self->ctx = NULL;
}

/* Check a reply's type; an error reply or another type is counted. */
bool st_is(store_t *self, const redisReply *r, int type, const char *what)
{
    if (r->type == type)
        return true;
    st_fail(self, what, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply type");
    return false;
}

/* One command on the command connection; the reply is the caller's to free,
 * NULL when the connection failed (then closed). */
redisReply *st_cmd(store_t *self, const char *what, const char *fmt, ...)
{
    if (!self->ctx) {
        st_fail(self, what, "not connected");
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(self->ctx, fmt, ap);
    va_end(ap);
    if (!r)
        st_lost(self, what);
    return r;
}

void st_key(const store_t *self, char *buf, const char *kind, const char *ip)
{
    snprintf(buf, STORE_KEY_MAX, "%s:%s:%s", self->cfg->redis.prefix, kind, ip);
}

/* A new authenticated connection on the configured database, or NULL. */
static redisContext *s_open(store_t *self)
{
    char why[200];
    redisContext *c = fg_redis_connect(self->cfg, self->timeout_ms, why, sizeof(why));
    if (!c)
        st_fail(self, "connect", why);
    return c;
}

int store_connect(store_t *self)
{
    store_disconnect(self);
    self->ctx = s_open(self);
    return self->ctx ? 0 : -1;
}

/* flags plus whatever of "Egx" they lack ('A' stands for g and x). */
static void s_merge_flags(const char *flags, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", flags);
    size_t n = strlen(out);
    bool all = strchr(flags, 'A') != NULL;
    for (const char *f = "Egx"; *f && n + 1 < outlen; f++) {
        if (strchr(out, *f) || (all && *f != 'E'))
            continue;
        out[n++] = *f;
        out[n] = '\0';
    }
}

int store_enable_notifications(store_t *self)
{
    char flags[64];
    redisReply *r = st_cmd(self, "config get", "CONFIG GET notify-keyspace-events");
    if (!r)
        return -1;
    bool ok = st_is(self, r, REDIS_REPLY_ARRAY, "config get") && r->elements == 2 &&
              r->element[1]->type == REDIS_REPLY_STRING && r->element[1]->len < 32;
    if (ok)
        s_merge_flags(r->element[1]->str, flags, sizeof(flags));
    else if (r->type == REDIS_REPLY_ARRAY)
        st_fail(self, "config get", "unexpected reply");
    bool same = ok && strcmp(flags, r->element[1]->str) == 0;
    freeReplyObject(r);
    if (!ok)
        return -1;
    if (same)
        return 0;
    r = st_cmd(self, "config set", "CONFIG SET notify-keyspace-events %s", flags);
    if (!r)
        return -1;
    ok = st_is(self, r, REDIS_REPLY_STATUS, "config set");
    freeReplyObject(r);
    return ok ? 0 : -1;
}

int store_subscribe(store_t *self)
{
    if (self->sub)
        redisFree(self->sub);
    self->sub = s_open(self);
    if (!self->sub)
        return -1;
    int db = self->cfg->redis.db;
    if (redisAppendCommand(self->sub, "SUBSCRIBE __keyevent@%d__:expired __keyevent@%d__:del",
                           db, db) != REDIS_OK)
        goto fail;
    for (int i = 0; i < 2; i++) {
        redisReply *r = NULL;
        if (redisGetReply(self->sub, (void **)&r) != REDIS_OK || !r) {
            st_fail(self, "subscribe", self->sub->errstr);
            goto fail;
        }
        bool ok = st_is(self, r, REDIS_REPLY_ARRAY, "subscribe") && r->elements == 3;
        freeReplyObject(r);
        if (!ok)
            goto fail;
    }
    return 0;
fail:
    redisFree(self->sub);
    self->sub = NULL;
    return -1;
}

/* The ip in "<prefix>:ban:<ip>" when it is a canonical address, else NULL. */
static const char *s_ban_ip(const store_t *self, const char *key, size_t len)
{
    const char *prefix = self->cfg->redis.prefix;
    size_t pl = strlen(prefix);
    if (len <= pl + 5 || strncmp(key, prefix, pl) != 0 || strncmp(key + pl, ":ban:", 5) != 0)
        return NULL;
    const char *ip = key + pl + 5;
    if (len - pl - 5 >= FG_ADDR_STRLEN || strlen(ip) != len - pl - 5)
        return NULL;
    fg_addr_t a;
    char canon[FG_ADDR_STRLEN];
    if (fg_addr_parse(ip, &a) < 0 || strcmp(fg_addr_format(&a, canon), ip) != 0)
        return NULL;
    return ip;
}

/* One pushed message: ["message", "__keyevent@<db>__:<event>", key]. */
static void s_on_message(store_t *self, const redisReply *r, store_event_fn *fn, void *arg)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        return;
    for (int i = 0; i < 3; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING)
            return;
    if (strcmp(r->element[0]->str, "message") != 0)
        return;
    const char *chan = strrchr(r->element[1]->str, ':');
    if (!chan || (strcmp(chan, ":expired") != 0 && strcmp(chan, ":del") != 0))
        return;
    const char *ip = s_ban_ip(self, r->element[2]->str, r->element[2]->len);
    if (ip)
        fn(ip, strcmp(chan, ":expired") == 0, arg);
}

int store_sub_read(store_t *self, store_event_fn *fn, void *arg)
{
    if (!self->sub)
        return -1;
    if (redisBufferRead(self->sub) != REDIS_OK)
        goto lost;
    for (int i = 0; i < 100000; i++) {
        redisReply *r = NULL;
        if (redisGetReplyFromReader(self->sub, (void **)&r) != REDIS_OK)
            goto lost;
        if (!r)
            break;
        s_on_message(self, r, fn, arg);
        freeReplyObject(r);
    }
    return 0;
lost:
    st_fail(self, "subscription", self->sub->errstr);
    redisFree(self->sub);
    self->sub = NULL;
    return -1;
}

/* The value of "name:" in an INFO reply, copied into out (up to len - 1
 * bytes); "" when absent. */
static void s_info_field(const char *info, const char *name, char *out, size_t len)
{
    size_t n = strlen(name), i = 0;
    out[0] = '\0';
    for (const char *p = info; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, name, n) != 0 || p[n] != ':')
            continue;
        for (p += n + 1; *p && *p != '\r' && *p != '\n' && i + 1 < len; p++)
            out[i++] = *p;
        out[i] = '\0';
        return;
    }
}

int store_server_id(store_t *self, char *out, size_t len)
{
    char run[48], repl[48];
    redisReply *r = st_cmd(self, "info", "INFO server");
    if (!r)
        return -1;
    bool ok = st_is(self, r, REDIS_REPLY_STRING, "info");
    if (ok)
        s_info_field(r->str, "run_id", run, sizeof(run));
    freeReplyObject(r);
    if (!ok || !(r = st_cmd(self, "info", "INFO replication")))
        return -1;
    ok = st_is(self, r, REDIS_REPLY_STRING, "info");
    if (ok)
        s_info_field(r->str, "master_replid", repl, sizeof(repl));
    freeReplyObject(r);
    if (!ok || !run[0])
        return -1;
    snprintf(out, len, "%s/%s", run, repl);
    return 0;
}

int store_probe_write(store_t *self)
{
    char key[STORE_KEY_MAX];
    snprintf(key, sizeof(key), "%s:actuator:probe", self->cfg->redis.prefix);
    /* SET ... XX on a key that never exists: a write (refused by MISCONF,
     * READONLY, NOREPLICAS) that may use memory (refused by OOM), with no
     * effect when accepted. */
    redisReply *r = st_cmd(self, "probe", "SET %s 1 XX PX 1000", key);
    if (!r)
        return -1;
    bool ok = r->type == REDIS_REPLY_NIL || r->type == REDIS_REPLY_STATUS;
    if (!ok)
        st_is(self, r, REDIS_REPLY_NIL, "probe");
    freeReplyObject(r);
    return ok ? 0 : -1;
}

int store_ban_exists(store_t *self, const char *ip)
{
    char key[STORE_KEY_MAX];
    st_key(self, key, "ban", ip);
    redisReply *r = st_cmd(self, "exists", "EXISTS %s", key);
    if (!r)
        return -1;
    int rc = st_is(self, r, REDIS_REPLY_INTEGER, "exists") ? (r->integer > 0) : -1;
    freeReplyObject(r);
    return rc;
}

int store_last_ban_count(store_t *self, const char *ip, uint32_t *count)
{
    char key[STORE_KEY_MAX];
    st_key(self, key, "history", ip);
    redisReply *r = st_cmd(self, "lindex", "LINDEX %s 0", key);
    if (!r)
        return -1;
    int rc = 0;
    *count = 0;
    ban_hist_t h;
    if (r->type == REDIS_REPLY_STRING && ban_hist_parse(r->str, &h) == 0)
        *count = h.ban_count;
    else if (r->type != REDIS_REPLY_NIL)
        rc = st_is(self, r, REDIS_REPLY_NIL, "lindex") ? 0 : -1;
    freeReplyObject(r);
    return rc;
}

static long long s_pttl(store_t *self, const char *kind, const char *ip)
{
    char key[STORE_KEY_MAX];
    st_key(self, key, kind, ip);
    redisReply *r = st_cmd(self, "pttl", "PTTL %s", key);
    if (!r)
        return -3;
    long long rc = st_is(self, r, REDIS_REPLY_INTEGER, "pttl") ? r->integer : -3;
    freeReplyObject(r);
    return rc < -2 ? -3 : rc;
}

long long store_ban_pttl(store_t *self, const char *ip)
{
    return s_pttl(self, "ban", ip);
}

long long store_hold_pttl(store_t *self, const char *ip)
{
    return s_pttl(self, "hold", ip);
}

/* One history line: is it a ban or a renewal stamped at or after since?
 * (The event is the line's own, not one inside its details.) */
static bool s_recent_ban(const ban_hist_t *h, int64_t since)
{
    return (strcmp(h->event, "ban") == 0 || strcmp(h->event, "renew") == 0) && h->at > 0 &&
           h->at >= since;
}

int store_history_info(store_t *self, const char *ip, uint64_t now_ms, int window_s,
                       uint32_t *last, uint32_t *recent)
{
    char key[STORE_KEY_MAX];
    *last = *recent = 0;
    st_key(self, key, "history", ip);
    redisReply *r =
        st_cmd(self, "lrange", "LRANGE %s 0 %d", key, self->cfg->actuator.history_max - 1);
    if (!r)
        return -1;
    if (!st_is(self, r, REDIS_REPLY_ARRAY, "lrange")) {
        freeReplyObject(r);
        return -1;
    }
    int64_t since = (int64_t)(now_ms / 1000) - window_s;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_STRING || strlen(e->str) != e->len)
            continue;
        ban_hist_t h;
        if (ban_hist_parse(e->str, &h) < 0)
            continue;
        if (i == 0)
            *last = h.ban_count;
        *recent += window_s > 0 && s_recent_ban(&h, since);
    }
    freeReplyObject(r);
    return 0;
}

/* Read n pipelined replies into out; on a connection failure free what was
 * read, close the connection and return -1. */
int st_replies(store_t *self, int n, redisReply **out, const char *what)
{
    for (int i = 0; i < n; i++) {
        out[i] = NULL;
        if (redisGetReply(self->ctx, (void **)&out[i]) != REDIS_OK || !out[i]) {
            for (int k = 0; k < i; k++)
                freeReplyObject(out[k]);
            st_lost(self, what);
            return -1;
        }
    }
    return 0;
}

void st_free(redisReply **r, int n)
{
    for (int i = 0; i < n; i++)
        freeReplyObject(r[i]);
}

/* Queue XADD <prefix>:events MAXLEN ~ N * event E [reason R] <fields>. */
static void s_append_xadd(store_t *self, const ban_fields_t *f, const char *event,
                          const char *reason)
{
    char key[STORE_KEY_MAX], maxlen[16];
    const char *argv[STORE_XADD_MAX_ARGS];
    int n = 0;
    snprintf(key, sizeof(key), "%s:events", self->cfg->redis.prefix);
    snprintf(maxlen, sizeof(maxlen), "%d", self->cfg->actuator.events_max);
    const char *head[] = {"XADD", key, "MAXLEN", "~", maxlen, "*", "event", event};
    for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
        argv[n++] = head[i];
    if (reason) {
        argv[n++] = "reason";
        argv[n++] = reason;
    }
    for (int i = 0; i < f->n; i++) {
        argv[n++] = f->name[i];
        argv[n++] = f->value[i];
    }
    const char *tail[] = {"recent_bans", f->recent, "repeat_offender", f->repeat};
    for (size_t i = 0; i < 4; i++)
        argv[n++] = tail[i];
    redisAppendCommandArgv(self->ctx, n, argv, NULL);
}

/* Queue LPUSH <prefix>:history:<ip> line, LTRIM to history_max. */
static void s_append_history(store_t *self, const char *ip, const char *line)
{
    char key[STORE_KEY_MAX];
    st_key(self, key, "history", ip);
    redisAppendCommand(self->ctx, "LPUSH %s %s", key, line);
    redisAppendCommand(self->ctx, "LTRIM %s 0 %d", key, self->cfg->actuator.history_max - 1);
}

static void s_append_hset(store_t *self, const ban_fields_t *f, const char *ip)
{
    char key[STORE_KEY_MAX];
    const char *argv[2 + 2 * BAN_NFIELDS];
    int n = 0;
    st_key(self, key, "ban", ip);
    argv[n++] = "HSET";
    argv[n++] = key;
    for (int i = 0; i < f->n; i++) {
        argv[n++] = f->name[i];
        argv[n++] = f->value[i];
    }
    redisAppendCommandArgv(self->ctx, n, argv, NULL);
}

/* Queue the <prefix>:flowspec:<ip> hash of a ban with rules (3 commands:
 * DEL, HSET, PEXPIRE): ip, mitigation, action, coverage, collateral and the
 * rules (the ban's flowspec JSON), with the ban's TTL. */
static void s_append_flowspec(store_t *self, const ban_t *b, uint64_t ttl_ms)
{
    char key[STORE_KEY_MAX], cov[32], col[32];
    fs_set_t set;
    fs_action_t act = FS_DISCARD;
    double rate = 0;
    char rt[32];
    if (fs_set_parse(b->flowspec, &set, &act, &rate, rt, sizeof(rt)) < 0)
        memset(&set, 0, sizeof(set));
    snprintf(cov, sizeof(cov), "%.4f", set.coverage);
    if (set.collateral >= 0)
        snprintf(col, sizeof(col), "%.4f", set.collateral);
    else
        snprintf(col, sizeof(col), "unknown");
    st_key(self, key, "flowspec", b->ip);
    redisAppendCommand(self->ctx, "DEL %s", key);
    const char *argv[] = {"HSET",       key,     "ip",       b->ip,
                          "mitigation", b->mitigation[0] ? b->mitigation : "blackhole",
                          "action",     fs_action_name(act), "coverage", cov,
                          "collateral", col,     "rules",    b->flowspec};
    redisAppendCommandArgv(self->ctx, (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL);
    redisAppendCommand(self->ctx, "PEXPIRE %s %llu", key, (unsigned long long)ttl_ms);
}

int store_drop_flowspec(store_t *self, const char *ip)
{
    char key[STORE_KEY_MAX];
    if (self->ctx && st_fence(self, false) < 0)
        return -1;
    st_key(self, key, "flowspec", ip);
    redisReply *r = st_cmd(self, "del flowspec", "DEL %s", key);
    int rc = r && st_is(self, r, REDIS_REPLY_INTEGER, "del flowspec") ? 0 : -1;
    if (r)
        freeReplyObject(r);
    return rc;
}

/* EXEC's reply: the hash and its TTL must have been set; the history and the
 * stream entry are counted when they failed. */
static int s_check_exec(store_t *self, const redisReply *r, size_t n)
{
    if (r->type == REDIS_REPLY_NIL) {
        st_exec_aborted(self, "ban");
        return -1;
    }
    if (!st_is(self, r, REDIS_REPLY_ARRAY, "exec") || r->elements != n) {
        if (r->type == REDIS_REPLY_ARRAY)
            st_fail(self, "exec", "unexpected reply");
        return -1;
    }
    if (!st_is(self, r->element[0], REDIS_REPLY_INTEGER, "hset") ||
        !st_is(self, r->element[1], REDIS_REPLY_INTEGER, "pexpire"))
        return -1;
    st_is(self, r->element[2], REDIS_REPLY_INTEGER, "lpush history");
    st_is(self, r->element[3], REDIS_REPLY_STATUS, "ltrim history");
    st_is(self, r->element[4], REDIS_REPLY_STRING, "xadd events");
    st_is(self, r->element[5], REDIS_REPLY_INTEGER, "hset announced");
    return 0;
}

static int s_check_queued(store_t *self, redisReply **r, int n);

int store_write_ban(store_t *self, const ban_t *b, const char *event, uint64_t now_ms)
{
    enum { NMAX = 11 };
    int N = b->flowspec ? NMAX : NMAX - 3;
    char key[STORE_KEY_MAX];
    ban_fields_t f;
    redisReply *r[NMAX];
    if (!self->ctx) {
        st_fail(self, "ban", "not connected");
        return -1;
    }
    char *line = ban_json(b, event, NULL, now_ms);
    if (!line) {
        st_fail(self, "ban", "out of memory");
        return -1;
    }
    if (st_fence(self, true) < 0) {
        free(line);
        return -1;
    }
    ban_fields(b, &f);
    st_key(self, key, "ban", b->ip);
    redisAppendCommand(self->ctx, "MULTI");
    s_append_hset(self, &f, b->ip);
    uint64_t ttl_ms = b->expires_ms > now_ms ? b->expires_ms - now_ms : (uint64_t)b->ban_time * 1000;
    redisAppendCommand(self->ctx, "PEXPIRE %s %llu", key, (unsigned long long)(ttl_ms ? ttl_ms : 1));
    s_append_history(self, b->ip, line);
    s_append_xadd(self, &f, event, NULL);
    st_append_announced(self, b->ip, line);
    if (b->flowspec)
        s_append_flowspec(self, b, ttl_ms ? ttl_ms : 1);
    redisAppendCommand(self->ctx, "EXEC");
    free(line);
    if (st_replies(self, N, r, "ban") < 0)
        return -1;
    int rc = s_check_queued(self, r, N);
    if (rc == 0)
        rc = s_check_exec(self, r[N - 1], (size_t)N - 2);
    st_free(r, N);
    return rc;
}

/* The replies before EXEC's: MULTI's +OK and a +QUEUED per command. */
static int s_check_queued(store_t *self, redisReply **r, int n)
{
    if (!st_is(self, r[0], REDIS_REPLY_STATUS, "multi"))
        return -1;
    for (int i = 1; i < n - 1; i++)
        if (!st_is(self, r[i], REDIS_REPLY_STATUS, "queue"))
            return -1;
    return 0;
}

/* EXEC's reply to a record: the history (when with_history) and the stream
 * entry must be there; the record of announced bans is counted only. */
static int s_check_record(store_t *self, const redisReply *r, size_t k, bool with_history,
                          const char *what)
{
    if (r->type == REDIS_REPLY_NIL) {
        st_exec_aborted(self, what);
        return -1;
    }
    if (!st_is(self, r, REDIS_REPLY_ARRAY, what) || r->elements != k) {
        if (r->type == REDIS_REPLY_ARRAY)
            st_fail(self, what, "unexpected reply");
        return -1;
    }
    size_t x = with_history ? 2 : 0;
    if (with_history && (!st_is(self, r->element[0], REDIS_REPLY_INTEGER, "lpush history") ||
                         !st_is(self, r->element[1], REDIS_REPLY_STATUS, "ltrim history")))
        return -1;
    if (!st_is(self, r->element[x], REDIS_REPLY_STRING, "xadd events"))
        return -1;
    if (k > x + 1)
        st_is(self, r->element[x + 1], REDIS_REPLY_INTEGER, "announced");
    return 0;
}

int store_record(store_t *self, const ban_t *b, const char *event, const char *reason,
                 bool with_history, uint64_t now_ms)
{
    ban_fields_t f;
    redisReply *r[6];
    bool ban = strcmp(event, "ban") == 0, unban = strcmp(event, "unban") == 0;
    if (!self->ctx) {
        st_fail(self, event, "not connected");
        return -1;
    }
    char *line = with_history || ban ? ban_json(b, event, reason, now_ms) : NULL;
    if ((with_history || ban) && !line) {
        st_fail(self, event, "out of memory");
        return -1;
    }
    if (st_fence(self, true) < 0) {
        free(line);
        return -1;
    }
    ban_fields(b, &f);
    redisAppendCommand(self->ctx, "MULTI");
    if (with_history)
        s_append_history(self, b->ip, line);
    s_append_xadd(self, &f, event, reason);
    if (ban || unban)
        st_append_announced(self, b->ip, ban ? line : NULL);
    redisAppendCommand(self->ctx, "EXEC");
    free(line);
    size_t k = 1 + (with_history ? 2 : 0) + (ban || unban);
    int n = (int)k + 2;
    if (st_replies(self, n, r, event) < 0)
        return -1;
    int rc = s_check_queued(self, r, n);
    if (rc == 0)
        rc = s_check_record(self, r[n - 1], k, with_history, event);
    st_free(r, n);
    return rc;
}

/* Pipeline n commands already appended; 0 when none failed. */
static int s_check_all(store_t *self, int n, const char *what)
{
    redisReply *r[2];
    if (st_replies(self, n, r, what) < 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < n; i++)
        if (r[i]->type == REDIS_REPLY_ERROR) {
            st_fail(self, what, r[i]->str);
            rc = -1;
        }
    st_free(r, n);
    return rc;
}

int store_fix_ban(store_t *self, const char *ip, bool fix_ip, uint64_t ttl_ms)
{
    char key[STORE_KEY_MAX];
    int n = 0;
    if (!self->ctx) {
        st_fail(self, "fix ban", "not connected");
        return -1;
    }
    if (st_fence(self, false) < 0)
        return -1;
    st_key(self, key, "ban", ip);
    if (fix_ip && ++n)
        redisAppendCommand(self->ctx, "HSET %s ip %s", key, ip);
    if (ttl_ms > 0 && ++n)
        redisAppendCommand(self->ctx, "PEXPIRE %s %llu", key, (unsigned long long)ttl_ms);
    return n ? s_check_all(self, n, "fix ban") : 0;
}

int store_drop_ban(store_t *self, const char *ip)
{
    char key[STORE_KEY_MAX];
    if (!self->ctx) {
        st_fail(self, "drop ban", "not connected");
        return -1;
    }
    if (st_fence(self, false) < 0)
        return -1;
    st_key(self, key, "ban", ip);
    redisAppendCommand(self->ctx, "DEL %s", key);
    return s_check_all(self, 1, "drop ban");
}

int store_fix_hold(store_t *self, const char *ip, uint64_t ttl_ms)
{
    char key[STORE_KEY_MAX];
    if (!self->ctx) {
        st_fail(self, "fix hold", "not connected");
        return -1;
    }
    if (st_fence(self, false) < 0)
        return -1;
    st_key(self, key, "hold", ip);
    redisAppendCommand(self->ctx, "PEXPIRE %s %llu", key, (unsigned long long)ttl_ms);
    return s_check_all(self, 1, "fix hold");
}

/* One SCAN reply: [cursor, [keys...]]; copies the next cursor. */
static int s_scan_page(store_t *self, const redisReply *r, char *cursor, size_t cursor_len,
                       store_key_fn *fn, void *arg, uint64_t *bad_keys)
{
    if (!st_is(self, r, REDIS_REPLY_ARRAY, "scan") || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= cursor_len ||
        r->element[1]->type != REDIS_REPLY_ARRAY) {
        if (r->type == REDIS_REPLY_ARRAY)
            st_fail(self, "scan", "unexpected reply");
        return -1;
    }
    memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
    const redisReply *keys = r->element[1];
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        const char *ip =
            k->type == REDIS_REPLY_STRING ? s_ban_ip(self, k->str, k->len) : NULL;
        if (!ip) {
            if (bad_keys)
                (*bad_keys)++;
        } else if (fn(ip, arg) != 0) {
            return 1;
        }
    }
    return 0;
}

int store_scan(store_t *self, store_key_fn *fn, void *arg, uint64_t *bad_keys)
{
    char cursor[32] = "0", pattern[STORE_KEY_MAX];
    snprintf(pattern, sizeof(pattern), "%s:ban:*", self->cfg->redis.prefix);
    for (int calls = 0; calls < STORE_SCAN_MAX_CALLS; calls++) {
        redisReply *r = st_cmd(self, "scan", "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!r)
            return -1;
        int rc = s_scan_page(self, r, cursor, sizeof(cursor), fn, arg, bad_keys);
        freeReplyObject(r);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
        if (strcmp(cursor, "0") == 0)
            return 0;
    }
    st_fail(self, "scan", "too many iterations");
    return -1;
}
