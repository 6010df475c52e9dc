/* act_sync: the actuator's Redis side -- the connection and its retry with
 * backoff, the queue of decisions waiting for Redis, the scan that compares
 * the ban keys with the bans known, the keyspace events. act.c holds the
 * decisions, bans and unbans; both share act_int.h. */
#include <stdlib.h>
#include <string.h>

#include "actuator/act_int.h"

static void s_drain_queue(act_t *self);

/* A store call failed: log (rate-limited) and, when the connection is gone,
 * schedule a reconnect. Returns 1 when the work should be retried later
 * (connection lost), 0 when it is dropped (Redis refused it). */
int act_redis_failed(act_t *self, const char *what)
{
    if (store_connected(self->store)) {
        fg_log_rl(&self->rl_redis, ACT_RL_MS, FG_LOG_WARN, "event=redis_error op=%s err=\"%s\"",
                  what, store_errstr(self->store));
        return 0;
    }
    if (!self->down_logged)
        fg_warn("event=redis_down op=%s err=\"%s\" retry_ms=%llu", what,
                store_errstr(self->store), (unsigned long long)self->backoff_ms);
    self->down_logged = true;
    self->next_connect_ms = fg_mono_ms() + self->backoff_ms;
    self->backoff_ms = self->backoff_ms * 2 > ACT_BACKOFF_MAX_MS ? ACT_BACKOFF_MAX_MS
                                                                 : self->backoff_ms * 2;
    return 1;
}

/* Keyspace notifications and the subscription; failures leave the scan. */
static void s_subscribe(act_t *self)
{
    if (!self->opts.notifications)
        return;
    self->next_subscribe_ms = fg_mono_ms() + ACT_RESUBSCRIBE_MS;
    if (store_enable_notifications(self->store) < 0 && store_connected(self->store) &&
        !self->told_config_refused) {
        fg_warn("event=notifications_refused err=\"%s\" fallback=scan check_interval=%d",
                store_errstr(self->store), self->cfg->actuator.check_interval);
        self->told_config_refused = true;
    }
    if (!store_connected(self->store))
        return;
    if (store_subscribe(self->store) < 0)
        fg_log_rl(&self->rl_redis, ACT_RL_MS, FG_LOG_WARN,
                  "event=subscribe_failed err=\"%s\" fallback=scan", store_errstr(self->store));
    else
        self->next_scan_ms = 0; /* events may have been missed meanwhile */
}

/* Connect, subscribe, scan (silently the first time), apply the queue. */
static int s_connect(act_t *self)
{
    if (store_connect(self->store) < 0) {
        act_redis_failed(self, "connect");
        return -1;
    }
    const fg_config_t *cfg = self->cfg;
    fg_info("event=redis_connected address=%s%s%d db=%d prefix=%s",
            cfg->redis.socket[0] ? cfg->redis.socket : cfg->redis.host,
            cfg->redis.socket[0] ? "" : ":", cfg->redis.socket[0] ? 0 : cfg->redis.port,
            cfg->redis.db, cfg->redis.prefix);
    self->down_logged = false;
    self->backoff_ms = ACT_BACKOFF_MIN_MS;
    s_subscribe(self);
    if (act_scan(self) == 0)
        s_drain_queue(self);
    return store_connected(self->store) ? 0 : -1;
}

int act_start(act_t *self)
{
    return s_connect(self);
}

void act_enqueue(act_t *self, pending_t *p)
{
    size_t max = (size_t)self->opts.queue_max;
    if (self->qcount >= max) {
        self->st.queue_dropped++;
        fg_log_rl(&self->rl_redis, ACT_RL_MS, FG_LOG_WARN,
                  "event=decision_dropped ip=%s reason=queue_full queue=%zu", p->ban.ip, max);
        ban_clear(&p->ban);
        return;
    }
    self->queue[(self->qhead + self->qcount) % max] = *p;
    self->qcount++;
    memset(p, 0, sizeof(*p));
}

static void s_drain_queue(act_t *self)
{
    size_t max = (size_t)self->opts.queue_max;
    while (self->qcount > 0 && store_connected(self->store)) {
        pending_t *p = &self->queue[self->qhead];
        if (act_apply(self, p) != 0)
            return; /* stays at the head */
        ban_clear(&p->ban);
        self->qhead = (self->qhead + 1) % max;
        self->qcount--;
    }
}

static int s_collect_key(const char *ip, void *arg)
{
    zhashx_t *present = arg;
    zhashx_update(present, ip, (void *)present); /* any non-NULL item */
    return 0;
}

/* Known bans whose key is not in present (and really gone): unban. */
static void s_unban_vanished(act_t *self, zhashx_t *present)
{
    zlistx_t *gone = zlistx_new();
    if (!gone)
        return;
    zlistx_set_destructor(gone, (czmq_destructor *)zstr_free);
    zlistx_set_duplicator(gone, (czmq_duplicator *)strdup);
    for (ban_t *b = zhashx_first(self->known); b; b = zhashx_next(self->known))
        if (!zhashx_lookup(present, b->ip))
            zlistx_add_end(gone, b->ip);
    for (char *ip = zlistx_first(gone); ip; ip = zlistx_next(gone)) {
        int exists = store_ban_exists(self->store, ip);
        if (exists < 0) {
            act_redis_failed(self, "exists");
            break;
        }
        ban_t *b = zhashx_lookup(self->known, ip);
        if (!exists && b)
            act_unban(self, ip, act_vanish_reason(b));
    }
    zlistx_destroy(&gone);
}

int act_scan(act_t *self)
{
    uint64_t bad = 0;
    bool silent = !self->synced;
    self->next_scan_ms = fg_mono_ms() + (uint64_t)self->cfg->actuator.check_interval * 1000;
    zhashx_t *present = zhashx_new();
    if (!present)
        return -1;
    if (store_scan(self->store, s_collect_key, present, &bad) < 0) {
        zhashx_destroy(&present);
        act_redis_failed(self, "scan");
        return -1;
    }
    if (bad > self->st.bad_keys)
        fg_log_rl(&self->rl_badkeys, 600000, FG_LOG_WARN,
                  "event=bad_ban_keys count=%llu hint=\"%s:ban:<ip> needs the canonical "
                  "address (dotted quad, RFC 5952)\"",
                  (unsigned long long)bad, self->cfg->redis.prefix);
    self->st.bad_keys = bad;
    for (void *it = zhashx_first(present); it; it = zhashx_next(present)) {
        const char *ip = zhashx_cursor(present);
        if (!zhashx_lookup(self->known, ip) && store_connected(self->store))
            act_adopt(self, ip, silent);
    }
    s_unban_vanished(self, present);
    zhashx_destroy(&present);
    if (!store_connected(self->store))
        return -1;
    if (silent) {
        self->synced = true;
        fg_info("event=bans_learned count=%zu", zhashx_size(self->known));
        act_backends_sync(self);
    }
    return 0;
}

static void s_on_key_event(const char *ip, bool expired, void *arg)
{
    act_t *self = arg;
    if (!zhashx_lookup(self->known, ip))
        return; /* not a ban we know: the scan adopts or ignores it */
    int exists = store_ban_exists(self->store, ip);
    if (exists < 0)
        act_redis_failed(self, "exists");
    if (exists != 0)
        return; /* banned again already, or unknown: the scan decides */
    act_unban(self, ip, expired ? "expired" : "deleted");
}

int act_sub_fd(const act_t *self)
{
    return store_sub_fd(self->store);
}

void act_sub_ready(act_t *self)
{
    if (store_sub_read(self->store, s_on_key_event, self) < 0) {
        fg_warn("event=subscription_lost err=\"%s\" fallback=scan", store_errstr(self->store));
        self->next_subscribe_ms = fg_mono_ms() + ACT_BACKOFF_MIN_MS;
        self->next_scan_ms = 0;
    }
}

void act_tick(act_t *self)
{
    uint64_t now = fg_mono_ms();
    for (int i = 0; i < self->n_backends; i++)
        if (self->backends[i]->ops->poll)
            self->backends[i]->ops->poll(self->backends[i]);
    if (!store_connected(self->store)) {
        if (now >= self->next_connect_ms)
            s_connect(self);
        return;
    }
    if (self->opts.notifications && store_sub_fd(self->store) < 0 &&
        now >= self->next_subscribe_ms)
        s_subscribe(self);
    if (store_connected(self->store) && now >= self->next_scan_ms)
        act_scan(self);
    if (self->qcount > 0)
        s_drain_queue(self);
}

bool act_redis_up(const act_t *self)
{
    return store_connected(self->store);
}
