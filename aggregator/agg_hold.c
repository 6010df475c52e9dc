/* agg_hold: long records, whose rate is held over their duration.
 *
 * A record lasting more than one window tells its flow's rate over that
 * duration; the rate is held on the host from the open window on. Two
 * ways, by the rate's size against the host's watch floor:
 *   - a large one (1/16 of the floor or more) in the table of held flows
 *     (lflow), by the flow's identity: the flow's next record replaces it
 *     (an export a little early does not count the flow twice), and it is
 *     held a twentieth longer than its duration for a record a little late;
 *   - a small one in the host's pool (hring), without identity and with no
 *     work per record beyond one slot: held a twentieth less than its
 *     duration, so that the flow's next record, which adds to it instead of
 *     replacing it, rarely finds it still held. Held rates are sums of many
 *     such flows, which no single one can push over a floor.
 * How long either is held is bounded three ways:
 *   - by the exporter's active timeout: a flow still going on is exported
 *     again after it, so a rate held longer only repeats a claim. It is
 *     learnt per exporter (the longest duration three of its records in a
 *     row, of those longer than what is learnt, agree on within a second)
 *     and capped by aggregator/hold_max, which also holds for exporters
 *     not learnt yet;
 *   - by the batch's send time: a record that waited in a backlog is held
 *     only for what is left of its hold counted from when it was sent, so
 *     a backlog cannot stack holds (a hold already over is counted late);
 *   - the rate itself is clipped to aggregator/rate_ceiling_pps / _mbps. */
#include <math.h>
#include <string.h>

#include "aggregator/agg_int.h"

#define AGG_LEARN_HITS 3
#define AGG_LEARN_SLACK_MS 1000

/* Windows a long flow's rate is held past its duration of n windows: a
 * twentieth of n (rounded down), for the jitter of export times. A flow
 * that is not renewed is then held 5 % too long at most: a grace of a fixed
 * time would multiply the rate of short flows (a 200 ms flow held 1.2 s). */
static uint64_t s_grace(uint64_t n)
{
    return n / 20;
}

/* A pooled hold's share of its duration: a twentieth less (s_grace). */
#define AGG_POOL_SHORTEN 20
/* A rate of 1/AGG_POOL_SMALL of the host's floor or more is held by flow. */
#define AGG_POOL_SMALL 16

uint64_t agg_hold_buckets(const fg_config_t *cfg)
{
    uint64_t n_max =
        (uint64_t)cfg->aggregator.hold_max * 1000 / (uint64_t)cfg->aggregator.tick_ms + 1;
    return n_max + s_grace(n_max) + 2;
}

/* Learn from a record of dur_ms: a duration beyond the learnt timeout is a
 * candidate; three such records in a row agreeing on it (within a second)
 * make it the timeout, which only grows. Mutated or forged durations rarely
 * agree; until something is learnt, hold_max is the bound. */
static void s_learn(agg_exporter_t *x, uint64_t dur_ms, uint32_t cap_ms)
{
    uint32_t d = dur_ms > cap_ms ? cap_ms : (uint32_t)dur_ms;
    if (d <= x->timeout_ms + AGG_LEARN_SLACK_MS)
        return;
    uint32_t diff = d > x->cand_ms ? d - x->cand_ms : x->cand_ms - d;
    if (x->hits && diff <= AGG_LEARN_SLACK_MS) {
        if (d > x->cand_ms)
            x->cand_ms = d;
        if (++x->hits >= AGG_LEARN_HITS) {
            x->timeout_ms = x->cand_ms;
            x->hits = 0;
        }
        return;
    }
    x->cand_ms = d;
    x->hits = 1;
}

/* The longest hold the exporter's records may have: hold_max, or its learnt
 * active timeout and a second of slack when that is less. */
static uint64_t s_hold_lim(const agg_t *self, const agg_exporter_t *x)
{
    uint64_t lim = (uint64_t)self->cfg->aggregator.hold_max * 1000u;
    if (x && x->timeout_ms && x->timeout_ms + AGG_LEARN_SLACK_MS < lim)
        lim = x->timeout_ms + AGG_LEARN_SLACK_MS;
    return lim;
}

/* A duration beyond the limit is held for the exporter's timeout (when
 * learnt and less) or the limit. */
static uint64_t s_hold_bounded(const agg_exporter_t *x, uint64_t dur_ms, uint64_t lim)
{
    if (dur_ms <= lim)
        return dur_ms;
    return x && x->timeout_ms && x->timeout_ms < lim ? x->timeout_ms : lim;
}

/* How long the record's rate may be held: its duration, at most the
 * exporter's learnt active timeout (when learnt) and hold_max. */
static uint64_t s_hold_ms(agg_t *self, agg_exporter_t *x, uint64_t dur_ms)
{
    if (x)
        s_learn(x, dur_ms, (uint32_t)self->cfg->aggregator.hold_max * 1000u);
    uint64_t lim = s_hold_lim(self, x);
    if (dur_ms > lim)
        self->st.spread_capped++;
    return s_hold_bounded(x, dur_ms, lim);
}

/* The time the batch being taken in waited since it was sent: a record's
 * hold is what is left of it. */
static uint64_t s_lag_ms(const agg_t *self, uint64_t now_ms)
{
    return self->sent_ms && self->sent_ms < now_ms ? now_ms - self->sent_ms : 0;
}

/* The identity of a record's flow: host, direction, peer, protocol, ports. */
static uint64_t s_flow_key(const fg_flow_t *r)
{
    uint64_t v[4] = {r->host.hi ^ (r->peer.hi * 0x9e3779b97f4a7c15ULL), r->host.lo, r->peer.lo,
                     (uint64_t)r->proto << 40 | (uint64_t)r->dir << 32 | (uint64_t)r->sport << 16 |
                         r->dport};
    uint64_t h = 0x243f6a8885a308d3ULL;
    for (int i = 0; i < 4; i++) {
        h ^= v[i];
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    }
    return h ? h : 1;
}

/* v += d, never below 0: a small flow's rate added to a large one's is
 * lost to float rounding, so taking both off would leave the rest of the
 * host's flows negative, and a negative rate makes the whole WindowBatch
 * fail its checks (no host of the shard published). */
static void s_held_add(float *v, float d)
{
    *v += d;
    if (*v < 0)
        *v = 0;
}

/* Add (dp, dB) to host e's held rate of class c (never below 0); the
 * hostgroup's held sums follow the partition classes (tcp_syn is within
 * tcp). */
static void s_held_cls(agg_t *self, ht_entry_t *e, int c, float dp, float dB)
{
    float *v = e->cls[c].held, op = v[HT_HELD_PPS], oB = v[HT_HELD_BPS];
    s_held_add(&v[HT_HELD_PPS], dp);
    s_held_add(&v[HT_HELD_BPS], dB);
    if (c != HT_TCP_SYN) {
        double *g = self->gheld[2 * e->group + e->dir];
        g[0] += (double)v[HT_HELD_PPS] - op;
        g[1] += (double)v[HT_HELD_BPS] - oB;
        s_held_add(&e->held_sum[HT_HELD_PPS], v[HT_HELD_PPS] - op);
        s_held_add(&e->held_sum[HT_HELD_BPS], v[HT_HELD_BPS] - oB);
    }
}

/* Host e holds nothing any more: no rounding residue outlives the last
 * hold, in the host or in its group's sums. */
static void s_held_zero(agg_t *self, ht_entry_t *e)
{
    for (int c = 0; c < HT_CLASSES; c++) {
        s_held_cls(self, e, c, -e->cls[c].held[HT_HELD_PPS], -e->cls[c].held[HT_HELD_BPS]);
        e->cls[c].held[HT_HELD_PPS] = e->cls[c].held[HT_HELD_BPS] = 0;
    }
    e->held_sum[HT_HELD_PPS] = e->held_sum[HT_HELD_BPS] = 0;
}

/* Keep the group's count of hosts holding rates: e held (was) before. */
static void s_holders(agg_t *self, const ht_entry_t *e, bool was)
{
    bool now = agg_holding(self, e);
    size_t gi = 2 * (size_t)e->group + e->dir;
    if (now != was)
        self->gholders[gi] += now ? 1u : (uint32_t)-1;
    if (!self->gholders[gi]) /* the last holder gone: no rounding residue */
        self->gheld[gi][0] = self->gheld[gi][1] = 0;
}

/* Add (sign 1) or take off (-1) a long flow's held rate on its host. */
static void s_hold(agg_t *self, ht_entry_t *e, const lf_entry_t *f, float sign)
{
    s_held_cls(self, e, f->cls, sign * f->pps, sign * f->Bps);
    if (f->syn)
        s_held_cls(self, e, HT_TCP_SYN, sign * f->pps, sign * f->Bps);
}

/* The flow entry for r on host e: its previous record's (rate taken off
 * the host), or a new one. NULL when there is no room (nothing changed). */
static lf_entry_t *s_flow_of(agg_t *self, ht_entry_t *e, const fg_flow_t *r)
{
    uint64_t key = s_flow_key(r);
    uint32_t host = ht_index(self->ht, e);
    if (sp_room(self->spread) == 0)
        return NULL;
    int64_t i = lf_find(self->flows, key);
    if (i >= 0) {
        lf_entry_t *f = lf_at(self->flows, (uint32_t)i);
        if (f->host != host)
            return NULL; /* a 64-bit hash collision across hosts */
        s_hold(self, e, f, -1);
        self->st.spread_renewed++;
        return f;
    }
    if (e->n_pend == HT_PEND_MAX || (i = lf_insert(self->flows, key)) < 0)
        return NULL;
    lf_entry_t *f = lf_at(self->flows, (uint32_t)i);
    f->host = host;
    bool was = agg_holding(self, e);
    e->n_pend++;
    s_holders(self, e, was);
    return f;
}

/* The rate of packets (or bytes) over secs, clipped to ceiling (per
 * second; 0 = none). */
static float s_rate(double amount, double secs, double ceiling, bool *clipped)
{
    double r = amount / secs;
    if (ceiling > 0 && r > ceiling) {
        *clipped = true;
        r = ceiling;
    }
    return (float)r;
}

/* A pooled rate's change on host e (code: the class, or HT_TCP_SYN for tcp
 * and tcp_syn both; HR_CODES: the pool is empty). */
static void s_pool_apply(agg_t *self, ht_entry_t *e, uint8_t code, float dpps, float dBps)
{
    if (code == HR_CODES) {
        bool was = agg_holding(self, e);
        e->flags &= (uint8_t)~AGG_F_POOLED;
        if (e->n_pend == 0)
            s_held_zero(self, e);
        s_holders(self, e, was);
        return;
    }
    if (!(e->flags & AGG_F_POOLED)) { /* its first pooled rate */
        bool was = agg_holding(self, e);
        e->flags |= AGG_F_POOLED;
        s_holders(self, e, was);
    }
    s_held_cls(self, e, code, dpps, dBps);
    if (code == HT_TCP_SYN)
        s_held_cls(self, e, HT_TCP, dpps, dBps);
}

/* hr_delta_fn: s_pool_apply on the host's entry. */
static void s_pool_delta(uint32_t host, uint8_t code, float dpps, float dBps, void *arg)
{
    agg_t *self = arg;
    s_pool_apply(self, ht_at(self->ht, host), code, dpps, dBps);
}

/* hr_prefetch_fn: a host whose pooled holds of code end soon (what
 * s_pool_delta touches). */
static void s_pool_prefetch(uint32_t host, uint8_t code, void *arg)
{
    const agg_t *self = arg;
    int syn = code == HT_TCP_SYN;
    ht_prefetch_index(self->ht, host, syn ? HT_TCP : code, syn);
}

hr_t *agg_hold_pool_new(const fg_config_t *cfg, ht_t *ht)
{
    uint64_t tick = (uint64_t)cfg->aggregator.tick_ms;
    uint64_t max = ((uint64_t)cfg->aggregator.hold_max * 1000 + tick - 1) / tick;
    hr_t *pool = hr_new((uint32_t)ht_max(ht), (uint32_t)cfg->aggregator.hold_blocks,
                        hr_slot_windows(max));
    if (pool) {
        hr_set_prefetch(pool, s_pool_prefetch);
        /* each host's memory of the pool in its entry, which a record
         * reads anyway (an entry is zeroed at insert; a holding host is
         * never removed) */
        _Static_assert(sizeof(ht_at(ht, 0)->pool) == HR_HOST_BYTES, "the pool's memory of a host");
        hr_set_heads(pool, ht_at(ht, 0)->pool, sizeof(ht_entry_t));
    }
    return pool;
}

bool agg_holding(const agg_t *self, const ht_entry_t *e)
{
    (void)self;
    return e->n_pend || (e->flags & AGG_F_POOLED);
}

/* Is a held rate (pps, Bps) small next to the host's watch floor? */
static bool s_small(const agg_t *self, const ht_entry_t *e, double pps, double Bps)
{
    const agg_floor_t *fl = &self->floors[2 * e->group + e->dir];
    return pps * AGG_POOL_SMALL < fl->pps && Bps * 8 * AGG_POOL_SMALL < fl->bps;
}

/* The pool block a record's rate goes to: its class, or HT_TCP_SYN for a
 * SYN record (held in tcp and tcp_syn). */
static int s_pool_code(int cls, int syn)
{
    return syn ? HT_TCP_SYN : cls;
}

/* Windows a pooled hold of n windows lasts: a twentieth fewer. */
static uint64_t s_pool_windows(uint64_t n)
{
    return n - n / AGG_POOL_SHORTEN;
}

/* The windows a pooled hold of hold_ms, lag_ms after its batch was sent,
 * lasts (what is left of it, in whole windows, a twentieth fewer), at most
 * the pool's span (*capped set). */
static uint64_t s_pool_n(const agg_t *self, uint64_t hold, uint64_t lag, bool *capped)
{
    uint64_t tick = (uint64_t)self->cfg->aggregator.tick_ms;
    uint64_t n = s_pool_windows((hold - lag + tick - 1) / tick);
    *capped = n > hr_span(self->pool); /* a hold_max beyond the pool's 31 x 63 windows */
    return *capped ? hr_span(self->pool) : n;
}

/* Hold a small rate in the host's pool, like a flow's from the open
 * window on for what is left of its hold, in whole windows, but a
 * twentieth fewer of them. 0, or -1 when the pool has no room (nothing
 * changed). */
static int s_pool_hold(agg_t *self, ht_entry_t *e, int code, float pps, float Bps, uint64_t hold,
                       uint64_t lag, uint64_t now_ms)
{
    bool capped;
    uint64_t n = s_pool_n(self, hold, lag, &capped), open = agg_open_id(self, now_ms);
    if (capped)
        self->st.spread_capped++;
    if (hr_hold(self->pool, ht_index(self->ht, e), (uint8_t)code, pps, Bps, open, open + n - 1,
                s_pool_delta, self) < 0)
        return -1;
    s_pool_apply(self, e, (uint8_t)code, pps, Bps);
    return 0;
}

void agg_hold_prefetch(const agg_t *self, uint32_t host, uint64_t dur_ms,
                       const agg_exporter_t *x, uint64_t now_ms)
{
    uint64_t tick = (uint64_t)self->cfg->aggregator.tick_ms;
    if (dur_ms <= tick || !self->open_id)
        return;
    /* the hold agg_hold will compute (but for what this record teaches the
     * exporter's timeout): its slot, not one a guess from the duration
     * alone would name when the batch waited in a queue */
    uint64_t hold = s_hold_bounded(x, dur_ms, s_hold_lim(self, x)), lag = s_lag_ms(self, now_ms);
    if (lag >= hold)
        return;
    bool capped;
    hr_prefetch_first(self->pool, host, self->open_id + s_pool_n(self, hold, lag, &capped) - 1);
}

uint64_t agg_hold(agg_t *self, ht_entry_t *e, const fg_flow_t *r, agg_exporter_t *x,
                  uint64_t dur_ms, uint64_t now_ms)
{
    uint64_t tick = (uint64_t)self->cfg->aggregator.tick_ms;
    uint64_t hold = s_hold_ms(self, x, dur_ms), lag = s_lag_ms(self, now_ms);
    int cls = ht_class(r->proto, r->frag), syn = ht_is_syn(r->proto, r->frag, r->tcp_flags);
    if (lag >= hold) {
        self->st.spread_late++;
        ht_count(e, cls, 0, 0, 1);
        return AGG_HOLD_LATE;
    }
    double secs = (double)((dur_ms + tick - 1) / tick * tick) / 1000.0;
    bool clipped = false;
    float pps = s_rate((double)r->packets, secs, self->cfg->aggregator.ceiling_pps, &clipped);
    float Bps = s_rate((double)r->bytes, secs, self->cfg->aggregator.ceiling_mbps * 1e6 / 8, &clipped);
    lf_entry_t *f = NULL;
    if (s_small(self, e, pps, Bps)) {
        if (s_pool_hold(self, e, s_pool_code(cls, syn), pps, Bps, hold, lag, now_ms) < 0)
            return 0;
        self->st.spread_pooled++;
    } else if (!(f = s_flow_of(self, e, r))) {
        return 0;
    }
    if (clipped)
        self->st.clipped++;
    ht_count(e, cls, 0, 0, 1);
    if (syn)
        ht_count(e, HT_TCP_SYN, 0, 0, 1);
    self->st.spread++;
    uint64_t per_window = (uint64_t)((double)pps * (double)tick / 1000.0);
    if (!f)
        return per_window ? per_window : 1;
    uint64_t n = (hold - lag + tick - 1) / tick, g = s_grace(n);
    uint64_t open = agg_open_id(self, now_ms);
    f->pps = pps;
    f->Bps = Bps;
    f->cls = (uint8_t)cls;
    f->syn = (uint8_t)syn;
    uint64_t due = open + n - 1 + g;
    f->due = (uint32_t)due;
    /* One wheel event per flow: a pending one at or before the new end
     * moves itself on when it fires (s_spread_end). */
    if (!f->ev_due || (int32_t)(f->ev_due - f->due) > 0) {
        f->ev_due = f->due;
        sp_add(self->spread, due, (uint32_t)(f - lf_at(self->flows, 0)));
    }
    s_hold(self, e, f, 1);
    return per_window ? per_window : 1;
}

/* sp_fire_fn: a long flow's hold ends; or, when a later record of the flow
 * moved its end, the event moves there (an event another one replaced is
 * stale and ignored). */
static void s_spread_end(uint32_t id, uint64_t due, void *arg)
{
    agg_t *self = arg;
    lf_entry_t *f = lf_at(self->flows, id);
    if (f->key == 0 || (int32_t)(f->ev_due - (uint32_t)due) > 0)
        return; /* stale (fired with a later id than its own after a gap:
                   not stale, it ends) */
    if ((int32_t)(f->due - (uint32_t)due) > 0) {
        f->ev_due = f->due;
        sp_add(self->spread, due + (uint32_t)(f->due - (uint32_t)due), id); /* room: just freed */
        return;
    }
    ht_entry_t *e = ht_at(self->ht, f->host);
    bool was = agg_holding(self, e);
    s_hold(self, e, f, -1);
    if (e->n_pend > 0)
        e->n_pend--;
    if (e->n_pend == 0 && !(e->flags & AGG_F_POOLED))
        s_held_zero(self, e);
    s_holders(self, e, was);
    lf_remove(self->flows, id);
}

/* End the spreads due at the close of every window up to closed_id (all
 * of them once when more than the wheel's span was skipped). */
void agg_hold_advance(agg_t *self, uint64_t closed_id)
{
    uint64_t from = self->open_id ? self->open_id : closed_id;
    uint64_t nb = sp_buckets(self->spread);
    if (closed_id + 1 > from + nb)
        from = closed_id + 1 - nb;
    for (uint64_t id = from; id <= closed_id; id++)
        sp_fire(self->spread, id, s_spread_end, self);
    hr_advance(self->pool, closed_id, s_pool_delta, self);
    if (closed_id + 1 > self->open_id)
        self->open_id = closed_id + 1;
}
