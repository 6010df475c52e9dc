#include "detector/detect.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "detector/attack.h"
#include "detector/classify.h"

struct det {
    const fg_config_t *cfg;
    det_emit_fn emit;
    void *arg;
    atk_table_t *attacks;
    uint64_t seq[FG_MAX_SHARDS]; /* last WindowBatch seq per shard, 0 = none */
    det_stats_t st;
};

det_t *det_new(const fg_config_t *cfg, det_emit_fn emit, void *arg)
{
    det_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->emit = emit;
    self->arg = arg;
    self->attacks = atk_new(DET_MAX_ATTACKS);
    if (!self->attacks)
        det_destroy(&self);
    return self;
}

void det_destroy(det_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    atk_destroy(&(*self_p)->attacks);
    free(*self_p);
    *self_p = NULL;
}

int det_ingest(det_t *self, const uint8_t *buf, size_t len, uint64_t now_ms)
{
    Floodgate__WindowBatch *wb = floodgate__window_batch__unpack(NULL, len, buf);
    if (!wb) {
        self->st.malformed++;
        return -1;
    }
    det_window(self, wb, now_ms);
    floodgate__window_batch__free_unpacked(wb, NULL);
    return 0;
}

const char *det_over_threshold(const fg_thresholds_t *t, const Floodgate__Rates *total,
                               double *value, double *threshold)
{
    if (!total)
        return NULL;
    const char *names[] = {"pps", "mbps", "flows"};
    double values[] = {total->pps, total->bps / 1e6, total->fps};
    double limits[] = {t->pps, t->mbps, t->flows};
    for (int i = 0; i < 3; i++) {
        if (limits[i] > 0 && values[i] > limits[i]) {
            *value = values[i];
            *threshold = limits[i];
            return names[i];
        }
    }
    return NULL;
}

static void s_track_seq(det_t *self, const Floodgate__WindowBatch *wb)
{
    if (wb->shard >= (uint32_t)self->cfg->shards || wb->shard >= FG_MAX_SHARDS) {
        self->st.bad_shard++;
        return;
    }
    uint64_t last = self->seq[wb->shard];
    if (last && wb->seq > last)
        self->st.windows_lost += wb->seq - last - 1;
    else if (last)
        self->st.shard_resets++;
    self->seq[wb->shard] = wb->seq;
}

/* The hostgroup of a host window: by its index when valid, else by
 * address; NULL when this config does not monitor the address. */
static const fg_hostgroup_t *s_group(const det_t *self, const Floodgate__HostWindow *hw,
                                     const fg_addr_t *addr)
{
    if (hw->hostgroup < (uint32_t)self->cfg->n_groups)
        return &self->cfg->groups[hw->hostgroup];
    return fg_config_group(self->cfg, addr);
}

typedef struct {
    const Floodgate__HostWindow *hw;
    const fg_hostgroup_t *group;
    const char *metric;
    double value, threshold;
} det_over_t;

/* Send one decision about an over-threshold host. Returns 0 when queued. */
static int s_decide(det_t *self, const det_over_t *o, Floodgate__Action action,
                    uint64_t first_seen_ms, uint64_t now_ms)
{
    static Floodgate__Rates zero = FLOODGATE__RATES__INIT;
    Floodgate__Decision d = FLOODGATE__DECISION__INIT;
    d.addr_hi = o->hw->addr_hi;
    d.addr_lo = o->hw->addr_lo;
    d.action = action;
    d.attack_type = (char *)cls_attack_type(o->hw);
    d.direction = o->hw->dir;
    d.metric = (char *)o->metric;
    d.value = o->value;
    d.threshold = o->threshold;
    d.hostgroup = (char *)o->group->name;
    d.n_top = o->hw->n_top;
    d.top = o->hw->top;
    d.first_seen_ms = first_seen_ms;
    d.decided_ms = now_ms;
    d.ban_time = o->group->ban_time;
    d.total = o->hw->total ? o->hw->total : &zero;
    d.enable_ban = o->group->enable_ban;
    if (self->emit(&d, self->arg) != 0) {
        self->st.dropped++;
        return -1;
    }
    if (action == FLOODGATE__ACTION__BAN)
        self->st.bans++;
    else
        self->st.ongoing++;
    return 0;
}

/* A host over threshold: BAN when no attack is known, else ONGOING at most
 * once per ongoing_interval. */
static void s_attack(det_t *self, const det_over_t *o, const fg_addr_t *addr, uint64_t end_ms,
                     uint64_t now_ms)
{
    uint8_t dir = (uint8_t)o->hw->dir;
    atk_state_t *s = atk_find(self->attacks, addr, dir);
    if (!s) {
        if (!(s = atk_insert(self->attacks, addr, dir))) {
            self->st.attacks_full++;
            return;
        }
        s->first_seen_ms = end_ms;
        s->last_over_ms = s->last_decision_ms = now_ms;
        if (s_decide(self, o, FLOODGATE__ACTION__BAN, end_ms, now_ms) != 0)
            atk_remove(self->attacks, addr, dir); /* not banned: retry as a BAN */
        return;
    }
    s->last_over_ms = now_ms;
    if (now_ms < s->last_decision_ms ||
        now_ms - s->last_decision_ms < (uint64_t)self->cfg->ongoing_interval * 1000)
        return;
    if (s_decide(self, o, FLOODGATE__ACTION__ONGOING, s->first_seen_ms, now_ms) == 0)
        s->last_decision_ms = now_ms;
}

static void s_host(det_t *self, const Floodgate__HostWindow *hw, uint64_t end_ms,
                   uint64_t now_ms)
{
    if (hw->dir != FLOODGATE__DIRECTION__DIR_IN) {
        self->st.hosts_out++;
        return;
    }
    self->st.hosts_evaluated++;
    fg_addr_t addr = {hw->addr_hi, hw->addr_lo};
    det_over_t o = {hw, s_group(self, hw, &addr), NULL, 0, 0};
    if (!o.group) {
        self->st.unmonitored++;
        return;
    }
    if (fg_config_whitelisted(self->cfg, &addr)) {
        self->st.whitelisted++;
        return;
    }
    o.metric = det_over_threshold(&o.group->in, hw->total, &o.value, &o.threshold);
    if (!o.metric)
        return;
    self->st.over_threshold++;
    s_attack(self, &o, &addr, end_ms, now_ms);
}

void det_window(det_t *self, const Floodgate__WindowBatch *wb, uint64_t now_ms)
{
    self->st.windows++;
    s_track_seq(self, wb);
    for (size_t i = 0; i < wb->n_hosts; i++)
        if (wb->hosts[i])
            s_host(self, wb->hosts[i], wb->window_end_ms, now_ms);
    det_tick(self, now_ms);
}

void det_tick(det_t *self, uint64_t now_ms)
{
    self->st.attacks_ended +=
        atk_expire(self->attacks, now_ms, (uint64_t)self->cfg->attack_end * 1000);
}

const det_stats_t *det_stats(const det_t *self)
{
    return &self->st;
}

size_t det_attacks(const det_t *self)
{
    return atk_size(self->attacks);
}

void det_format_stats(const det_t *self, char *buf, size_t len)
{
    const det_stats_t *s = &self->st;
    snprintf(buf, len,
             "windows=%" PRIu64 " windows_lost=%" PRIu64 " malformed=%" PRIu64
             " shard_resets=%" PRIu64 " bad_shard=%" PRIu64 " hosts_evaluated=%" PRIu64
             " hosts_out=%" PRIu64 " unmonitored=%" PRIu64 " whitelisted=%" PRIu64
             " over_threshold=%" PRIu64 " bans=%" PRIu64 " ongoing=%" PRIu64
             " dropped=%" PRIu64 " attacks_full=%" PRIu64 " attacks_ended=%" PRIu64
             " attacks_active=%zu",
             s->windows, s->windows_lost, s->malformed, s->shard_resets, s->bad_shard,
             s->hosts_evaluated, s->hosts_out, s->unmonitored, s->whitelisted,
             s->over_threshold, s->bans, s->ongoing, s->dropped, s->attacks_full,
             s->attacks_ended, atk_size(self->attacks));
}
