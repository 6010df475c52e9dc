/* act_ha: several actuators on one Redis. One holds the lease
 * (<prefix>:actuator:lease, store_lease) and is active; every write it makes
 * is fenced by the lease's value, so an actuator that lost the lease (paused,
 * cut off) cannot write after another took over. The others are standby:
 * they ask for the lease every lease_ms / 10, keep the last decisions, write
 * nothing, run no script and announce no route (their backends are synced
 * to nothing). Taking over: the first scan again, with the record of
 * announced bans (act_ha_reconcile), then the decisions kept. */
#include <stdlib.h>
#include <string.h>

#include "actuator/act_int.h"

/* Is the lease value v held by this process ("<id> <nonce>", any token)? */
static bool s_ours(const act_t *self, const char *v)
{
    size_t n = strlen(self->lease_name);
    return strncmp(v, self->lease_name, n) == 0 && v[n] == ' ' && strchr(v + n + 1, ' ') == NULL;
}

/* Held under our id by another process: the ids collide (or a run of ours
 * that died has not lapsed yet). */
static bool s_same_id(const act_t *self, const char *v)
{
    size_t n = strlen(self->lease_id);
    return strncmp(v, self->lease_id, n) == 0 && v[n] == ' ' && !s_ours(self, v);
}

static void s_drop_queue(act_t *self)
{
    size_t max = (size_t)self->opts.queue_max;
    for (size_t i = 0; i < self->qcount; i++)
        ban_clear(&self->queue[(self->qhead + i) % max].ban);
    self->qhead = self->qcount = 0;
    self->restores = 0;
    zhashx_purge(self->queued);
}

/* Another actuator holds the lease: forget everything, announce nothing. */
static void s_standby(act_t *self, const char *holder, bool was_active)
{
    size_t queued = self->qcount;
    self->active = false;
    self->lease[0] = '\0';
    store_set_fence(self->store, NULL);
    zhashx_purge(self->known);
    s_drop_queue(self);
    act_backends_sync(self); /* empty: the active actuator announces them */
    if (was_active) {
        self->st.step_downs++;
        fg_warn("event=step_down id=\"%s\" lease=\"%s\" dropped_queue=%zu hint=\"another "
                "actuator holds the lease; its routes replace ours\"",
                self->lease_id, holder, queued);
    } else if (s_same_id(self, holder)) {
        fg_warn("event=id_collision id=\"%s\" lease=\"%s\" hint=\"another actuator holds the "
                "lease under our actuator/id; waiting as a standby. Give each actuator its own "
                "id (or this is our previous run, whose lease lapses within lease_ms)\"",
                self->lease_id, holder);
    } else {
        fg_info("event=standby id=\"%s\" lease=\"%s\"", self->lease_id, holder);
    }
}

/* Apply the decisions kept in standby that came within the last lease_ms
 * (+ 0.5 s): the dead actuator may have missed them (older ones it had
 * time to apply, and replaying them would ban again an address an operator
 * unbanned meanwhile). One it applied already is counted as
 * already_banned or ongoing. */
static void s_replay(act_t *self)
{
    uint64_t now = fg_now_ms(), max_age = (uint64_t)self->cfg->actuator.lease_ms + 500;
    for (size_t i = 0; i < self->rcount; i++) {
        pending_t *p = &self->recent[(self->rhead + i) % ACT_RECENT];
        if (p->at_ms + max_age >= now && self->active) {
            self->st.replayed++;
            act_submit(self, p);
        }
        ban_clear(&p->ban);
    }
    self->rhead = self->rcount = 0;
}

/* We hold the lease now (value v) and did not before. */
static void s_take_over(act_t *self, const char *v)
{
    snprintf(self->lease, sizeof(self->lease), "%s", v);
    store_set_fence(self->store, self->lease);
    self->active = true;
    self->st.takeovers++;
    zhashx_purge(self->known);
    self->synced = false; /* the next scan is a first one: adopt silently, settle owed unbans */
    self->redis_id[0] = '\0';
    fg_warn("event=active id=\"%s\" lease=\"%s\" kept_decisions=%zu", self->lease_id, v,
            self->rcount);
    act_sync_resume(self);
    s_replay(self);
}

/* The lease is ours (value v) and we were active: at start (active until
 * told otherwise: with Redis down, bans are announced at once), or after it
 * lapsed with no one else taking it (Redis slow or restarted). What we know
 * stays; the scan comes soon. */
static void s_keep_active(act_t *self, const char *v, bool first)
{
    if (first) {
        self->st.takeovers++;
        fg_warn("event=active id=\"%s\" lease=\"%s\"", self->lease_id, v);
    } else {
        fg_warn("event=lease_retaken id=\"%s\" was=\"%s\" lease=\"%s\"", self->lease_id,
                self->lease, v);
    }
    snprintf(self->lease, sizeof(self->lease), "%s", v);
    store_set_fence(self->store, self->lease);
    self->next_scan_ms = 0;
}

void act_ha_tick(act_t *self)
{
    uint64_t now = self->opts.mono_ms();
    int lease_ms = self->cfg->actuator.lease_ms;
    char v[ACT_LEASE_MAX];
    if (now < self->next_lease_ms || !store_connected(self->store))
        return;
    self->next_lease_ms = now + (uint64_t)lease_ms / (self->active ? 3 : 10);
    if (store_lease(self->store, self->lease_name, self->lease, lease_ms, v, sizeof(v)) < 0) {
        act_redis_failed(self, "lease");
        return;
    }
    snprintf(self->holder, sizeof(self->holder), "%s", v);
    if (s_ours(self, v))
        self->lease_ok_ms = now;
    bool first = !self->ha_started;
    self->ha_started = true;
    if (self->active && strcmp(v, self->lease) == 0)
        return; /* renewed */
    if (s_ours(self, v) && self->active)
        s_keep_active(self, v, first);
    else if (s_ours(self, v))
        s_take_over(self, v);
    else if (self->active || first)
        s_standby(self, v, self->active && !first);
}

bool act_ha_lapsed(const act_t *self)
{
    return self->active && self->cfg->actuator.n_connect > 1 &&
           self->opts.mono_ms() > self->lease_ok_ms + (uint64_t)self->cfg->actuator.lease_ms;
}

void act_ha_fenced(act_t *self)
{
    fg_log_rl(&self->rl_redis, ACT_RL_MS, FG_LOG_WARN, "event=write_fenced id=\"%s\" err=\"%s\"",
              self->lease_id, store_errstr(self->store));
    self->next_lease_ms = 0;
    act_ha_tick(self); /* step down, or take it back when it lapsed */
}

void act_ha_keep(act_t *self, pending_t *p)
{
    if (self->rcount == ACT_RECENT) { /* the oldest goes */
        ban_clear(&self->recent[self->rhead].ban);
        self->rhead = (self->rhead + 1) % ACT_RECENT;
        self->rcount--;
    }
    p->at_ms = fg_now_ms();
    self->recent[(self->rhead + self->rcount) % ACT_RECENT] = *p;
    self->rcount++;
    memset(p, 0, sizeof(*p));
}

bool act_is_active(const act_t *self)
{
    return self->active;
}

const char *act_lease_holder(const act_t *self)
{
    return self->holder;
}

void act_release(act_t *self)
{
    if (self->active && store_connected(self->store) &&
        store_lease_release(self->store, self->lease) == 0)
        fg_info("event=lease_released id=\"%s\"", self->lease_id);
}

/* ---- the record of announced bans ---- */

static int s_collect_line(const char *ip, const char *line, void *arg)
{
    char *dup = strdup(line);
    if (dup)
        zhashx_update(arg, ip, dup);
    return 0;
}

/* An announced ban whose key went while no one was active: its unban is
 * owed (recorded once: the record's entry goes in the same transaction). */
static void s_owed_unban(act_t *self, const char *ip, const char *line)
{
    ban_t b;
    fg_addr_t a;
    if (fg_addr_parse(ip, &a) < 0 || ban_from_json(&b, ip, line) < 0) {
        store_announce(self->store, ip, NULL); /* not ours to read: dropped */
        return;
    }
    b.pending = false;
    ban_t *k = malloc(sizeof(*k));
    if (!k) {
        ban_clear(&b);
        return;
    }
    *k = b;
    zhashx_update(self->known, k->ip, k);
    self->st.unbans_owed++;
    fg_info("event=unban_owed ip=%s expires_at=%lld", ip, (long long)k->expires_at);
    act_unban(self, k->ip, act_vanish_reason(k));
}

/* A key adopted silently without an entry: write one, so its unban is
 * found if it comes while no one is active. */
static void s_announce_known(act_t *self, const char *ip)
{
    const ban_t *b = zhashx_lookup(self->known, ip);
    char *line = b ? ban_json(b, "ban", NULL, fg_now_ms()) : NULL;
    if (line && store_announce(self->store, ip, line) < 0)
        act_redis_failed(self, "announce");
    free(line);
}

void act_ha_reconcile(act_t *self, zhashx_t *present)
{
    zhashx_t *announced = zhashx_new();
    if (!announced)
        return;
    zhashx_set_destructor(announced, (czmq_destructor *)zstr_free);
    if (store_announced(self->store, s_collect_line, announced) < 0) {
        act_redis_failed(self, "announced");
        zhashx_destroy(&announced);
        return;
    }
    for (void *it = zhashx_first(present); it && store_connected(self->store);
         it = zhashx_next(present)) {
        const char *ip = zhashx_cursor(present);
        if (!zhashx_lookup(announced, ip))
            s_announce_known(self, ip);
    }
    for (char *line = zhashx_first(announced); line && store_connected(self->store);
         line = zhashx_next(announced)) {
        const char *ip = zhashx_cursor(announced);
        if (!zhashx_lookup(present, ip) && !zhashx_lookup(self->known, ip))
            s_owed_unban(self, ip, line);
    }
    zhashx_destroy(&announced);
}
