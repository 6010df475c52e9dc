/* act_sync: the actuator's Redis side -- the connection and its retry with
 * backoff, the queue of decisions waiting for Redis, the scan that compares
 * the ban keys with the bans known, the keyspace events. act.c holds the
 * decisions, bans and unbans; both share act_int.h. */
#include <stdlib.h>
#include <string.h>

#include "actuator/act_int.h"

static void s_drain_queue(act_t *self);
static void s_sweep_pending(act_t *self);

static uint64_t s_backoff_next(act_t *self)
{
    uint64_t wait = self->backoff_ms;
    self->backoff_ms = self->backoff_ms * 2 > ACT_BACKOFF_MAX_MS ? ACT_BACKOFF_MAX_MS
                                                                 : self->backoff_ms * 2;
    return fg_mono_ms() + wait;
}

/* Redis refused a write for now (its code in store_refusal()): keep the
 * connection, retry with backoff. */
static void s_refused(act_t *self, const char *what, const char *code)
{
    self->st.redis_refusals++;
    if (!self->refusing[0])
        fg_warn("event=redis_refuses op=%s reason=%s err=\"%s\" queue=%zu retry_ms=%llu "
                "hint=\"decisions are queued and new bans announced at once; their keys are "
                "written when Redis accepts writes again\"",
                what, code, store_errstr(self->store), self->qcount,
                (unsigned long long)self->backoff_ms);
    snprintf(self->refusing, sizeof(self->refusing), "%s", code);
    self->next_retry_ms = s_backoff_next(self);
}

/* A store call failed: log (rate-limited) and, when the connection is gone
 * or Redis refused for now, schedule a retry. Returns 1 when the work should
 * be retried later, 0 when it is dropped (any other error reply). */
int act_redis_failed(act_t *self, const char *what)
{
    const char *code = store_refusal(self->store);
    if (store_connected(self->store) && store_fenced(self->store)) {
        act_ha_fenced(self);
        return 1;
    }
    if (store_connected(self->store) && code && !strcmp(code, "READONLY") &&
        self->cfg->redis.n_sentinels > 0) {
        /* the master we knew is a replica now: ask the sentinels again */
        fg_warn("event=redis_readonly op=%s hint=\"a Sentinel failover demoted it: connecting "
                "to the master the sentinels name\"", what);
        store_disconnect(self->store);
        self->next_connect_ms = s_backoff_next(self);
        return 1;
    }
    if (store_connected(self->store) && code) {
        s_refused(self, what, code);
        return 1;
    }
    if (store_connected(self->store)) {
        fg_log_rl(&self->rl_redis, ACT_RL_MS, FG_LOG_WARN, "event=redis_error op=%s err=\"%s\"",
                  what, store_errstr(self->store));
        return 0;
    }
    if (!self->down_logged)
        fg_warn("event=redis_down op=%s err=\"%s\" retry_ms=%llu", what,
                store_errstr(self->store), (unsigned long long)self->backoff_ms);
    self->down_logged = true;
    self->next_connect_ms = s_backoff_next(self);
    return 1;
}

/* While Redis refuses: does it accept writes again? 0 yes (logged once). */
static int s_probe(act_t *self)
{
    if (!self->refusing[0])
        return 0;
    if (fg_mono_ms() < self->next_retry_ms)
        return -1;
    if (store_probe_write(self->store) < 0) {
        act_redis_failed(self, "probe");
        return -1;
    }
    fg_warn("event=redis_accepts was=%s queue=%zu", self->refusing, self->qcount);
    self->refusing[0] = '\0';
    self->backoff_ms = ACT_BACKOFF_MIN_MS;
    return 0;
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
    if (cfg->redis.n_sentinels > 0)
        fg_info("event=redis_connected via=sentinels master_name=%s db=%d prefix=%s",
                cfg->redis.sentinel_master, cfg->redis.db, cfg->redis.prefix);
    else
        fg_info("event=redis_connected address=%s%s%d db=%d prefix=%s",
                cfg->redis.socket[0] ? cfg->redis.socket : cfg->redis.host,
                cfg->redis.socket[0] ? "" : ":", cfg->redis.socket[0] ? 0 : cfg->redis.port,
                cfg->redis.db, cfg->redis.prefix);
    self->down_logged = false;
    self->refusing[0] = '\0'; /* probed again by the first write */
    self->backoff_ms = ACT_BACKOFF_MIN_MS;
    self->next_lease_ms = 0;
    act_ha_tick(self); /* active: goes on below; standby: waits */
    if (self->active)
        act_sync_resume(self);
    return store_connected(self->store) ? 0 : -1;
}

void act_sync_resume(act_t *self)
{
    s_subscribe(self);
    if (act_scan(self) == 0)
        s_drain_queue(self);
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
        fg_log_rl(&self->rl_queue, ACT_RL_MS, FG_LOG_WARN,
                  "event=decision_dropped ip=%s reason=queue_full queue=%zu redis=%s "
                  "hint=\"raise actuator/redis_queue, or make Redis writable\"",
                  p->ban.ip, max, self->refusing[0] ? self->refusing : "down");
        ban_clear(&p->ban);
        return;
    }
    if (p->action != ACT_RECORD) {
        uintptr_t n = (uintptr_t)zhashx_lookup(self->queued, p->ban.ip);
        zhashx_update(self->queued, p->ban.ip, (void *)(n + 1));
    }
    self->queue[(self->qhead + self->qcount) % max] = *p;
    self->qcount++;
    memset(p, 0, sizeof(*p));
}

bool act_queued(const act_t *self, const char *ip)
{
    return zhashx_lookup(self->queued, ip) != NULL;
}

/* The head of the queue is done: forget it. */
static void s_dequeue(act_t *self)
{
    pending_t *p = &self->queue[self->qhead];
    uintptr_t n = p->action != ACT_RECORD ? (uintptr_t)zhashx_lookup(self->queued, p->ban.ip) : 0;
    if (n > 1)
        zhashx_update(self->queued, p->ban.ip, (void *)(n - 1));
    else if (n == 1)
        zhashx_delete(self->queued, p->ban.ip);
    ban_clear(&p->ban);
    self->qhead = (self->qhead + 1) % (size_t)self->opts.queue_max;
    self->qcount--;
}

/* Write back the bans Redis lost (restore flag), until one has to wait. */
static void s_write_back(act_t *self)
{
    zlistx_t *ips = zlistx_new();
    if (!ips)
        return;
    zlistx_set_destructor(ips, (czmq_destructor *)zstr_free);
    zlistx_set_duplicator(ips, (czmq_duplicator *)strdup);
    for (ban_t *b = zhashx_first(self->known); b; b = zhashx_next(self->known))
        if (b->restore)
            zlistx_add_end(ips, b->ip);
    pending_t p;
    memset(&p, 0, sizeof(p));
    p.action = ACT_RESTORE;
    for (char *ip = zlistx_first(ips); ip; ip = zlistx_next(ips)) {
        snprintf(p.ban.ip, sizeof(p.ban.ip), "%s", ip);
        if (act_apply(self, &p) != 0)
            break;
        self->restores--;
    }
    if (!zlistx_cursor(ips)) /* all done: recount what may have been missed */
        self->restores = 0;
    zlistx_destroy(&ips);
}

static void s_drain_queue(act_t *self)
{
    if (s_probe(self) != 0)
        return;
    while (self->qcount > 0 && store_connected(self->store) && !self->refusing[0]) {
        if (act_apply(self, &self->queue[self->qhead]) != 0)
            return; /* stays at the head */
        s_dequeue(self);
    }
    if (self->qcount == 0 && self->restores > 0 && store_connected(self->store) &&
        !self->refusing[0])
        s_write_back(self);
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
        if (!b->pending && !zhashx_lookup(present, b->ip))
            zlistx_add_end(gone, b->ip); /* a pending ban's key is not written yet */
    for (char *ip = zlistx_first(gone); ip; ip = zlistx_next(gone)) {
        int exists = store_ban_exists(self->store, ip);
        if (exists < 0) {
            act_redis_failed(self, "exists");
            break;
        }
        ban_t *b = zhashx_lookup(self->known, ip);
        if (!exists && b && !b->pending)
            act_unban(self, ip, act_vanish_reason(b));
    }
    zlistx_destroy(&gone);
}

/* Did Redis lose data? Its identity (run_id, replication id) changed since
 * the last scan: then a known ban (written) whose key is missing was lost
 * with the old instance (a restart without persistence, the last writes
 * before a crash or a failover), not deleted. An operator's DEL or FLUSHALL
 * leaves the identity as it was: unbans. */
static bool s_data_lost(act_t *self)
{
    char id[ACT_ID_MAX];
    if (store_server_id(self->store, id, sizeof(id)) < 0)
        return false;
    bool changed = self->redis_id[0] && strcmp(id, self->redis_id) != 0;
    snprintf(self->redis_id, sizeof(self->redis_id), "%s", id);
    return changed;
}

/* Redis lost data: every known ban whose key is missing becomes pending
 * (route kept), to be written back with the time it has left once the
 * queue is applied (s_write_back). Those still there stay as they are. */
static void s_restore(act_t *self, zhashx_t *present)
{
    size_t n = 0, kept = 0;
    for (ban_t *b = zhashx_first(self->known); b; b = zhashx_next(self->known)) {
        if (b->pending)
            continue;
        if (zhashx_lookup(present, b->ip)) {
            kept++;
            continue;
        }
        b->pending = b->restore = true;
        n++;
    }
    if (n == 0)
        return;
    self->st.redis_data_lost++;
    self->restores = n;
    fg_warn("event=redis_data_lost redis_id=%s bans=%zu kept=%zu action=restore hint=\"Redis "
            "came back without them (restart without persistence, writes lost in a crash or a "
            "failover): the bans are written back with the time they had left, routes kept\"",
            self->redis_id, n, kept);
}

int act_scan(act_t *self)
{
    uint64_t bad = 0;
    act_ha_tick(self); /* a fresh lease before a long walk (when due) */
    if (!self->active)
        return 0;
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
    if (s_data_lost(self))
        s_restore(self, present);
    if (bad > self->st.bad_keys)
        fg_log_rl(&self->rl_badkeys, 600000, FG_LOG_WARN,
                  "event=bad_ban_keys count=%llu hint=\"%s:ban:<ip> needs the canonical "
                  "address (dotted quad, RFC 5952)\"",
                  (unsigned long long)bad, self->cfg->redis.prefix);
    self->st.bad_keys = bad;
    for (void *it = zhashx_first(present); it; it = zhashx_next(present)) {
        const char *ip = zhashx_cursor(present);
        ban_t *b = zhashx_lookup(self->known, ip);
        if (!b && store_connected(self->store))
            act_adopt(self, ip, silent);
        else if (b && !b->pending && b->expires_ms && fg_now_ms() > b->expires_ms + 2000 &&
                 trust_recheck_ttl(self->trust, self->store, b, fg_now_ms()) < 0)
            act_redis_failed(self, "recheck ttl");
    }
    if (silent)
        act_ha_reconcile(self, present);
    s_unban_vanished(self, present);
    zhashx_destroy(&present);
    if (!store_connected(self->store))
        return -1;
    if (silent) {
        self->synced = true;
        fg_info("event=bans_learned count=%zu", zhashx_size(self->known));
        act_backends_sync(self);
    }
    if (self->recheck_due)
        act_recheck(self); /* a reload came while Redis was away */
    return 0;
}

static void s_on_key_event(const char *ip, bool expired, void *arg)
{
    act_t *self = arg;
    const ban_t *b = zhashx_lookup(self->known, ip);
    if (!b || b->pending)
        return; /* not a ban we know (the scan adopts or ignores it), or not written yet */
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
    if ((self->qcount > 0 || self->restores > 0) && now >= self->next_sweep_ms) {
        self->next_sweep_ms = now + ACT_SWEEP_MS;
        s_sweep_pending(self);
    }
    if (!store_connected(self->store)) {
        if (now >= self->next_connect_ms)
            s_connect(self);
        return;
    }
    act_ha_tick(self);
    if (!self->active || !store_connected(self->store))
        return;
    if (self->opts.notifications && store_sub_fd(self->store) < 0 &&
        now >= self->next_subscribe_ms)
        s_subscribe(self);
    if (store_connected(self->store) && now >= self->next_scan_ms)
        act_scan(self);
    if (self->qcount > 0 || self->restores > 0 || self->refusing[0])
        s_drain_queue(self); /* probes a refusing Redis even with nothing queued */
}

bool act_redis_up(const act_t *self)
{
    return store_connected(self->store);
}

int act_redis_health(const act_t *self, char *why, size_t len)
{
    if (!store_connected(self->store))
        snprintf(why, len, "redis unreachable (%zu decisions queued)", self->qcount);
    else if (self->refusing[0])
        snprintf(why, len, "redis refuses writes: %s (%zu decisions queued)", self->refusing,
                 self->qcount);
    else {
        snprintf(why, len, "%s id=\"%s\" lease=\"%s\"", self->active ? "active" : "standby",
                 self->lease_id, self->holder);
        return 0;
    }
    return -1;
}

/* Pending bans whose time ran out before Redis took them: withdrawn. */
static void s_sweep_pending(act_t *self)
{
    uint64_t now = fg_now_ms();
    zlistx_t *done = zlistx_new();
    if (!done)
        return;
    zlistx_set_destructor(done, (czmq_destructor *)zstr_free);
    zlistx_set_duplicator(done, (czmq_duplicator *)strdup);
    for (ban_t *b = zhashx_first(self->known); b; b = zhashx_next(self->known))
        if (b->pending && b->expires_ms && now >= b->expires_ms)
            zlistx_add_end(done, b->ip);
    for (char *ip = zlistx_first(done); ip; ip = zlistx_next(done))
        act_unban(self, ip, "expired");
    zlistx_destroy(&done);
}
