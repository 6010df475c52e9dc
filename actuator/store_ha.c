/* store_ha: what lets several actuators share one Redis -- the lease
 * (<prefix>:actuator:lease, "<id> <nonce> <token>", PX), its fencing token (INCR of
 * <prefix>:actuator:fence), the fence every write checks, and the record of
 * announced bans (<prefix>:announced, HASH ip -> the ban's history line)
 * that tells a new active actuator which unbans it owes. Part of the store
 * (store_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuator/store_int.h"

/* KEYS: lease, fence counter. ARGV: our name ("<id> <nonce>", unique per
 * process), the value we hold ("" when none), lease ms. Ours: extended.
 * Free, held under our name with an older token, or not a lease (no
 * expiry: written by hand, it would keep every actuator waiting forever):
 * taken with a new token. Another's: left.
 * Returns the value now. */
static const char s_acquire_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v and redis.call('PTTL', KEYS[1]) >= 0 then\n"
    "  if v == ARGV[2] then redis.call('PEXPIRE', KEYS[1], ARGV[3]) return v end\n"
    "  local id = string.match(v, '^(.*) %d+$')\n"
    "  if id ~= ARGV[1] then return v end\n"
    "end\n"
    "local nv = ARGV[1] .. ' ' .. redis.call('INCR', KEYS[2])\n"
    "redis.call('SET', KEYS[1], nv, 'PX', ARGV[3])\n"
    "return nv\n";

/* KEYS: lease. ARGV: the value we hold. Deleted only when still ours. */
static const char s_release_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                                    "  return redis.call('DEL', KEYS[1])\n"
                                    "end\n"
                                    "return 0\n";

static void s_lease_keys(const store_t *self, char *lease, char *fence)
{
    snprintf(lease, STORE_KEY_MAX, "%s:actuator:lease", self->cfg->redis.prefix);
    snprintf(fence, STORE_KEY_MAX, "%s:actuator:fence", self->cfg->redis.prefix);
}

void store_set_fence(store_t *self, const char *value)
{
    snprintf(self->fence, sizeof(self->fence), "%s", value ? value : "");
}

bool store_fenced(const store_t *self)
{
    return self->fenced;
}

uint64_t store_fenced_writes(const store_t *self)
{
    return self->fenced_writes;
}

int store_lease(store_t *self, const char *id, const char *held, int lease_ms, char *out,
                size_t len)
{
    char lease[STORE_KEY_MAX], fence[STORE_KEY_MAX], ms[16];
    s_lease_keys(self, lease, fence);
    snprintf(ms, sizeof(ms), "%d", lease_ms);
    redisReply *r = st_cmd(self, "lease", "EVAL %s 2 %s %s %s %s %s", s_acquire_lua, lease,
                           fence, id, held ? held : "", ms);
    if (!r)
        return -1;
    bool ok = st_is(self, r, REDIS_REPLY_STRING, "lease") && r->len < len;
    if (ok)
        memcpy(out, r->str, r->len + 1);
    else if (r->type == REDIS_REPLY_STRING)
        st_fail(self, "lease", "value too long");
    freeReplyObject(r);
    return ok ? 0 : -1;
}

int store_lease_release(store_t *self, const char *held)
{
    char lease[STORE_KEY_MAX], fence[STORE_KEY_MAX];
    s_lease_keys(self, lease, fence);
    redisReply *r = st_cmd(self, "release", "EVAL %s 1 %s %s", s_release_lua, lease, held);
    if (!r)
        return -1;
    bool ok = st_is(self, r, REDIS_REPLY_INTEGER, "release");
    freeReplyObject(r);
    return ok ? 0 : -1;
}

static void s_fenced(store_t *self, const char *holder)
{
    char why[STORE_FENCE_MAX + 64];
    snprintf(why, sizeof(why), "FENCED the lease is %s%s", holder ? "held by " : "free",
             holder ? holder : "");
    st_fail(self, "fence", why);
    self->fenced = true;
    self->fenced_writes++;
}

int st_fence(store_t *self, bool watch)
{
    char lease[STORE_KEY_MAX], fence[STORE_KEY_MAX];
    redisReply *r[2];
    if (!self->fence[0])
        return 0;
    s_lease_keys(self, lease, fence);
    int n = watch ? 2 : 1;
    if (watch)
        redisAppendCommand(self->ctx, "WATCH %s", lease);
    redisAppendCommand(self->ctx, "GET %s", lease);
    if (st_replies(self, n, r, "fence") < 0)
        return -1;
    const redisReply *g = r[n - 1];
    bool ok = g->type == REDIS_REPLY_STRING && strcmp(g->str, self->fence) == 0;
    if (g->type == REDIS_REPLY_ERROR || (watch && r[0]->type == REDIS_REPLY_ERROR))
        st_fail(self, "fence", g->type == REDIS_REPLY_ERROR ? g->str : r[0]->str);
    else if (!ok)
        s_fenced(self, g->type == REDIS_REPLY_STRING ? g->str : NULL);
    st_free(r, n);
    if (!ok && watch) {
        redisReply *u = st_cmd(self, "unwatch", "UNWATCH");
        if (u)
            freeReplyObject(u);
    }
    return ok ? 0 : -1;
}

void st_exec_aborted(store_t *self, const char *what)
{
    (void)what;
    s_fenced(self, "another actuator (it changed during the write)");
}

void st_append_announced(store_t *self, const char *ip, const char *line)
{
    char key[STORE_KEY_MAX];
    snprintf(key, sizeof(key), "%s:announced", self->cfg->redis.prefix);
    if (line)
        redisAppendCommand(self->ctx, "HSET %s %s %s", key, ip, line);
    else
        redisAppendCommand(self->ctx, "HDEL %s %s", key, ip);
}

/* The lease is WATCHed and checked, the HSET/HDEL runs in MULTI/EXEC: an
 * actuator that lost the lease between the check and the write (another
 * took it meanwhile) writes nothing -- a stale entry would make the next
 * active one settle an unban nobody owed. */
int store_announce(store_t *self, const char *ip, const char *line)
{
    redisReply *r[3];
    if (!self->ctx) {
        st_fail(self, "announce", "not connected");
        return -1;
    }
    if (st_fence(self, true) < 0)
        return -1;
    bool fenced = self->fence[0] != '\0';
    int n = fenced ? 3 : 1;
    if (fenced)
        redisAppendCommand(self->ctx, "MULTI");
    st_append_announced(self, ip, line);
    if (fenced)
        redisAppendCommand(self->ctx, "EXEC");
    if (st_replies(self, n, r, "announce") < 0)
        return -1;
    const redisReply *x = r[n - 1];
    bool ok = !fenced || (st_is(self, r[0], REDIS_REPLY_STATUS, "multi") &&
                          st_is(self, r[1], REDIS_REPLY_STATUS, "queue"));
    if (ok && fenced && x->type == REDIS_REPLY_NIL) {
        st_exec_aborted(self, "announce");
        ok = false;
    } else if (ok && fenced) {
        ok = st_is(self, x, REDIS_REPLY_ARRAY, "announce") && x->elements == 1;
        x = ok ? x->element[0] : x;
    }
    ok = ok && st_is(self, x, REDIS_REPLY_INTEGER, "announce");
    st_free(r, n);
    return ok ? 0 : -1;
}

int store_announced(store_t *self, store_line_fn *fn, void *arg)
{
    char key[STORE_KEY_MAX];
    snprintf(key, sizeof(key), "%s:announced", self->cfg->redis.prefix);
    redisReply *r = st_cmd(self, "announced", "HGETALL %s", key);
    if (!r)
        return -1;
    if (!st_is(self, r, REDIS_REPLY_ARRAY, "announced")) {
        freeReplyObject(r);
        return -1;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            strlen(k->str) != k->len || strlen(v->str) != v->len || k->len >= FG_ADDR_STRLEN)
            continue;
        if (fn(k->str, v->str, arg) != 0)
            break;
    }
    freeReplyObject(r);
    return 0;
}
