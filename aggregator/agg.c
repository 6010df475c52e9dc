#include "aggregator/agg.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregator/hosttable.h"
#include "aggregator/lflow.h"
#include "aggregator/spread.h"
#include "aggregator/topk.h"
#include "common/flowbatch.h"

#define AGG_MAX_COLLECTORS 1024
#define AGG_MAX_WATCHED 16384
#define AGG_KINDS 5        /* one per ContribKind */
#define AGG_TOP_PER_KIND 5 /* contributors published per kind */
#define AGG_CONTRIBS (AGG_KINDS * AGG_TOP_PER_KIND)
#define AGG_RATES 7        /* total + six classes, per host */
#define AGG_SPREAD_MAX_MS 1800000ULL /* longest spread: 30 min (Cisco's active timeout) */
#define AGG_SPREAD_MIN_EVENTS 4096

/* ht_entry_t.flags */
#define AGG_F_ACTIVE 1  /* on this window's active list */
#define AGG_F_REFUSED 2 /* refused watch state this window (counted once) */

/* Top-contributor state of one watched host, for the current window. */
typedef struct {
    topk_t kind[AGG_KINDS];
    uint64_t packets; /* packets seen since the state was (re)started */
} agg_watch_t;

typedef struct {
    uint32_t collector_id;
    uint64_t seq;
} agg_seq_t;

typedef struct {
    uint64_t packets, bytes, flows;
} agg_cnt_t;

/* Watch floor of a hostgroup: as rates (window close) and as counts within
 * one window (to start top-contributor state mid-window). */
typedef struct {
    double pps, bps, fps;
    agg_cnt_t cnt;
} agg_floor_t;

/* Buffers the WindowBatch is built in, reused from window to window. */
typedef struct {
    size_t cap; /* hosts */
    Floodgate__HostWindow *hw;
    Floodgate__HostWindow **hwp;
    Floodgate__Rates *rates;
    Floodgate__Contributor *con;
    Floodgate__Contributor **conp;
    Floodgate__GroupTotal *gt;
    Floodgate__GroupTotal **gtp;
    Floodgate__Rates *grates;
    agg_cnt_t *gcnt;  /* per group and direction */
    double (*gheld)[2]; /* per group and direction: held pps, Bps */
    uint32_t *ghosts; /* per group and direction */
    uint8_t *buf;
    size_t buf_cap;
} agg_out_t;

struct agg {
    const fg_config_t *cfg;
    uint32_t shard;
    ht_t *ht;
    uint32_t *active; /* entry indices touched in this window */
    uint32_t n_active;
    agg_watch_t *watches;
    uint32_t *watch_free;
    uint32_t n_watch_free;
    agg_floor_t *floors; /* per hostgroup and direction: [2 * group + dir] */
    sp_t *spread;     /* when held long-flow rates end */
    lf_t *flows;      /* long flows whose rate is held */
    uint64_t open_id; /* id (start / tick_ms) of the window records go to; 0 = unknown */
    agg_seq_t seqs[AGG_MAX_COLLECTORS];
    uint32_t n_seqs;
    uint64_t seq; /* last WindowBatch sequence */
    agg_out_t out;
    agg_stats_t st;
};

static double s_floor(double wf, double threshold, double unit)
{
    return threshold > 0 ? wf * threshold * unit : INFINITY;
}

static uint64_t s_floor_count(double rate, int tick_ms)
{
    if (isinf(rate))
        return UINT64_MAX;
    double c = ceil(rate * tick_ms / 1000.0);
    return c < 1 ? 1 : (uint64_t)c;
}

/* The lower of two thresholds, 0 meaning disabled. */
static double s_min_enabled(double a, double b)
{
    if (a <= 0)
        return b;
    return b > 0 && b < a ? b : a;
}

/* Floors per hostgroup and direction come from the lowest threshold of
 * that direction over every class (a class rate never exceeds the total,
 * so the total reaching the floor is necessary) and, incoming, from the
 * network-wide per-host floor when a network-wide threshold is set. */
static void s_floors_init(agg_t *self)
{
    const fg_config_t *cfg = self->cfg;
    for (int g = 0; g < cfg->n_groups; g++) {
        const fg_hostgroup_t *hg = &cfg->groups[g];
        bool net = hg->net.pps > 0 || hg->net.mbps > 0 || hg->net.flows > 0;
        for (int d = 0; d < 2; d++) {
            double pps = 0, mbps = 0, fps = 0;
            for (int c = 0; c < FG_CLASSES; c++) {
                pps = s_min_enabled(pps, hg->th[d][c].pps);
                mbps = s_min_enabled(mbps, hg->th[d][c].mbps);
                fps = s_min_enabled(fps, hg->th[d][c].flows);
            }
            agg_floor_t *f = &self->floors[2 * g + d];
            f->pps = s_floor(cfg->aggregator.watch_floor, pps, 1);
            f->bps = s_floor(cfg->aggregator.watch_floor, mbps, 1e6);
            f->fps = s_floor(cfg->aggregator.watch_floor, fps, 1);
            if (d == FG_DIR_IN && net) { /* the floor itself, not a fraction */
                f->pps = fmin(f->pps, s_floor(1, hg->net_floor.pps, 1));
                f->bps = fmin(f->bps, s_floor(1, hg->net_floor.mbps, 1e6));
                f->fps = fmin(f->fps, s_floor(1, hg->net_floor.flows, 1));
            }
            f->cnt.packets = s_floor_count(f->pps, cfg->aggregator.tick_ms);
            f->cnt.bytes = s_floor_count(f->bps / 8, cfg->aggregator.tick_ms);
            f->cnt.flows = s_floor_count(f->fps, cfg->aggregator.tick_ms);
        }
    }
}

/* Windows a long flow's rate is held past its duration of n windows: a
 * twentieth of n (rounded down), for the jitter of export times. A flow
 * that is not renewed is then held 5 % too long at most: a grace of a fixed
 * time would multiply the rate of short flows (a 200 ms flow held 1.2 s). */
static uint64_t s_grace(uint64_t n)
{
    return n / 20;
}

agg_t *agg_new(const fg_config_t *cfg, uint32_t shard)
{
    agg_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->shard = shard;
    uint32_t max = cfg->aggregator.max_hosts > 0 ? (uint32_t)cfg->aggregator.max_hosts : 1;
    uint32_t nw = max < AGG_MAX_WATCHED ? max : AGG_MAX_WATCHED;
    size_t ng = FG_MAX_GROUPS; /* a reload may add groups */
    self->ht = ht_new(max);
    self->active = malloc(max * sizeof(*self->active));
    self->watches = calloc(nw, sizeof(*self->watches));
    self->watch_free = malloc(nw * sizeof(*self->watch_free));
    self->floors = calloc(2 * ng, sizeof(*self->floors));
    self->out.gt = calloc(2 * ng, sizeof(*self->out.gt));
    self->out.gtp = calloc(2 * ng, sizeof(*self->out.gtp));
    self->out.grates = calloc(2 * ng, sizeof(*self->out.grates));
    self->out.gcnt = calloc(2 * ng, sizeof(*self->out.gcnt));
    self->out.gheld = calloc(2 * ng, sizeof(*self->out.gheld));
    uint64_t n_max = AGG_SPREAD_MAX_MS / (uint64_t)cfg->aggregator.tick_ms;
    uint64_t nb = n_max + s_grace(n_max) + 2;
    uint64_t nfl = max; /* long flows held: one per host on average */
    nfl = nfl < AGG_SPREAD_MIN_EVENTS ? AGG_SPREAD_MIN_EVENTS : nfl > (1u << 29) ? (1u << 29) : nfl;
    self->flows = lf_new((uint32_t)nfl);
    self->spread = sp_new((uint32_t)nb, (uint32_t)(2 * nfl));
    self->out.ghosts = calloc(2 * ng, sizeof(*self->out.ghosts));
    if (!self->ht || !self->active || !self->watches || !self->watch_free || !self->floors ||
        !self->out.gt || !self->out.gtp || !self->out.grates || !self->out.gcnt ||
        !self->out.ghosts || !self->out.gheld || !self->spread || !self->flows) {
        agg_destroy(&self);
        return NULL;
    }
    for (uint32_t i = 0; i < nw; i++)
        self->watch_free[i] = nw - 1 - i;
    self->n_watch_free = nw;
    s_floors_init(self);
    return self;
}

static void s_out_free(agg_out_t *o)
{
    free(o->hw);
    free(o->hwp);
    free(o->rates);
    free(o->con);
    free(o->conp);
    free(o->gt);
    free(o->gtp);
    free(o->grates);
    free(o->gcnt);
    free(o->gheld);
    free(o->ghosts);
    free(o->buf);
}

void agg_destroy(agg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    agg_t *self = *self_p;
    ht_destroy(&self->ht);
    free(self->active);
    free(self->watches);
    free(self->watch_free);
    free(self->floors);
    sp_destroy(&self->spread);
    lf_destroy(&self->flows);
    s_out_free(&self->out);
    free(self);
    *self_p = NULL;
}

/* ---- records in ---------------------------------------------------------- */

static void s_track_seq(agg_t *self, uint32_t collector_id, uint64_t seq)
{
    agg_seq_t *s = NULL;
    for (uint32_t i = 0; i < self->n_seqs && !s; i++)
        if (self->seqs[i].collector_id == collector_id)
            s = &self->seqs[i];
    if (!s) {
        /* A collector seen for the first time may have sent batches before
         * this shard started: they are not ours to count as lost. */
        if (self->n_seqs == AGG_MAX_COLLECTORS) {
            self->st.collectors_untracked++;
            return;
        }
        s = &self->seqs[self->n_seqs++];
        s->collector_id = collector_id;
        s->seq = seq;
        return;
    }
    if (seq > s->seq)
        self->st.batches_lost += seq - s->seq - 1;
    else
        self->st.collector_resets++;
    s->seq = seq;
}

int agg_ingest(agg_t *self, const uint8_t *buf, size_t len, uint64_t now_ms)
{
    size_t n = 0;
    Floodgate__FlowBatch *m = fb_unpack(buf, len, &n);
    if (!m || m->n_exporters > FB_MAX_EXPORTERS) {
        if (m)
            floodgate__flow_batch__free_unpacked(m, NULL);
        self->st.malformed++;
        return -1;
    }
    self->st.batches++;
    if (m->shard != self->shard)
        self->st.misrouted++;
    s_track_seq(self, m->collector_id, m->seq);

    fg_addr_t ex[FB_MAX_EXPORTERS];
    for (size_t i = 0; i < m->n_exporters; i++)
        ex[i] = fg_addr_from_bytes16(m->exporters[i].data);
    for (size_t i = 0; i < n; i++) {
        fg_flow_t rec;
        fb_record(m, i, &rec);
        agg_add_record(self, &rec, &ex[rec.exporter], now_ms);
    }
    floodgate__flow_batch__free_unpacked(m, NULL);
    return 0;
}

/* Has the window (its counts plus one window of the held rates) reached
 * the floor's counts? */
static bool s_count_reaches(const ht_entry_t *e, const agg_cnt_t *floor, int tick_ms)
{
    ht_total_t t = ht_total(e);
    double held[2];
    ht_held_total(e, held);
    double p = (double)t.packets + held[HT_HELD_PPS] * tick_ms / 1000.0;
    double b = (double)t.bytes + held[HT_HELD_BPS] * tick_ms / 1000.0;
    return p >= (double)floor->packets || b >= (double)floor->bytes || t.flows >= floor->flows;
}

/* Start top-contributor state for a host that reached its floor. */
static void s_watch_start(agg_t *self, ht_entry_t *e)
{
    if (self->n_watch_free == 0) {
        if (!(e->flags & AGG_F_REFUSED))
            self->st.watch_refused++;
        e->flags |= AGG_F_REFUSED;
        return;
    }
    uint32_t w = self->watch_free[--self->n_watch_free];
    agg_watch_t *ws = &self->watches[w];
    for (int k = 0; k < AGG_KINDS; k++)
        topk_reset(&ws->kind[k]);
    ws->packets = 0;
    e->watch = w + 1;
    self->st.watched++;
}

static void s_watch_stop(agg_t *self, ht_entry_t *e)
{
    if (e->watch) {
        self->watch_free[self->n_watch_free++] = e->watch - 1;
        e->watch = 0;
        self->st.watched--;
    }
}

static void s_watch_add(agg_t *self, const ht_entry_t *e, const fg_flow_t *r,
                        const fg_addr_t *exporter, uint64_t p)
{
    agg_watch_t *w = &self->watches[e->watch - 1];
    w->packets += p;
    topk_add(&w->kind[FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR], r->peer.hi, r->peer.lo, p, 0);
    topk_add(&w->kind[FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT], 0, r->sport, p, 0);
    topk_add(&w->kind[FLOODGATE__CONTRIB_KIND__CONTRIB_DST_PORT], 0, r->dport, p, 0);
    topk_add(&w->kind[FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO], 0, r->proto, p, 0);
    if (exporter)
        topk_add(&w->kind[FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER], exporter->hi, exporter->lo,
                 p, r->sampling);
}

static void s_activate(agg_t *self, ht_entry_t *e)
{
    if (!(e->flags & AGG_F_ACTIVE)) {
        e->flags |= AGG_F_ACTIVE;
        self->active[self->n_active++] = ht_index(self->ht, e);
    }
}

/* The id of the window records go to now. */
static uint64_t s_open_id(agg_t *self, uint64_t now_ms)
{
    if (!self->open_id)
        self->open_id = now_ms / (uint64_t)self->cfg->aggregator.tick_ms;
    return self->open_id;
}

/* The identity of a record's flow: host, direction, peer, protocol, ports. */
static uint64_t s_flow_key(const fg_flow_t *r)
{
    uint64_t v[4] = {r->host.hi ^ (r->peer.hi * 0x9e3779b97f4a7c15ULL), r->host.lo,
                     r->peer.lo, (uint64_t)r->proto << 40 | (uint64_t)r->dir << 32 |
                                     (uint64_t)r->sport << 16 | r->dport};
    uint64_t h = 0x243f6a8885a308d3ULL;
    for (int i = 0; i < 4; i++) {
        h ^= v[i];
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    }
    return h ? h : 1;
}

/* Add (sign 1) or take off (-1) a long flow's held rate on its host. */
static void s_hold(ht_entry_t *e, const lf_entry_t *f, float sign)
{
    e->held[f->cls][HT_HELD_PPS] += sign * f->pps;
    e->held[f->cls][HT_HELD_BPS] += sign * f->Bps;
    if (f->syn) {
        e->held[HT_TCP_SYN][HT_HELD_PPS] += sign * f->pps;
        e->held[HT_TCP_SYN][HT_HELD_BPS] += sign * f->Bps;
    }
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
        s_hold(e, f, -1);
        self->st.spread_renewed++;
        return f;
    }
    if ((i = lf_insert(self->flows, key)) < 0)
        return NULL;
    lf_entry_t *f = lf_at(self->flows, (uint32_t)i);
    f->host = host;
    e->n_pend++;
    return f;
}

/* A record lasting dur_ms, more than one window: hold its rate, packets
 * and bytes / (n = ceil(dur / tick) windows), on the host from the open
 * window until the flow's next record replaces it or n + grace windows
 * have closed (grace: a twentieth of n, for the jitter of
 * export times). Its flow counts now. Returns the packets it adds to one
 * window, or 0 when there is no room (nothing done). */
static uint64_t s_spread(agg_t *self, ht_entry_t *e, const fg_flow_t *r, uint64_t dur_ms,
                         uint64_t now_ms)
{
    uint64_t tick = (uint64_t)self->cfg->aggregator.tick_ms;
    uint64_t n = (dur_ms + tick - 1) / tick, n_max = AGG_SPREAD_MAX_MS / tick;
    lf_entry_t *f = s_flow_of(self, e, r);
    if (!f)
        return 0;
    if (n > n_max) {
        n = n_max;
        self->st.spread_capped++;
    }
    uint64_t g = s_grace(n);
    double secs = (double)(n * tick) / 1000.0;
    uint64_t open = s_open_id(self, now_ms);
    f->pps = (float)((double)r->packets / secs);
    f->Bps = (float)((double)r->bytes / secs);
    f->cls = (uint8_t)ht_class(r->proto, r->frag);
    f->syn = (uint8_t)ht_is_syn(r->proto, r->frag, r->tcp_flags);
    uint64_t due = open + n - 1 + g;
    f->due = (uint32_t)due;
    /* One wheel event per flow: a pending one at or before the new end
     * moves itself on when it fires (s_spread_end). */
    if (!f->ev_due || (int32_t)(f->ev_due - f->due) > 0) {
        f->ev_due = f->due;
        sp_add(self->spread, due, (uint32_t)(f - lf_at(self->flows, 0)));
    }
    s_hold(e, f, 1);
    ht_count(e, f->cls, 0, 0, 1);
    if (f->syn)
        ht_count(e, HT_TCP_SYN, 0, 0, 1);
    self->st.spread++;
    if (r->end_ms < open * tick)
        self->st.spread_late++;
    uint64_t per_window = r->packets / n;
    return per_window ? per_window : 1;
}

/* Count the record in the host's current window: a record lasting more
 * than one window is spread over its duration (s_spread); a shorter one,
 * an sFlow sample (start == end) or one the wheel has no room for (counted)
 * counts whole in the open window. */
static void s_account(agg_t *self, ht_entry_t *e, const fg_flow_t *r, const fg_addr_t *exporter,
                      uint64_t now_ms)
{
    uint64_t dur = 0, weight = 0;
    if (r->end_ms < r->start_ms)
        self->st.bad_times++;
    else
        dur = r->end_ms - r->start_ms;
    if (dur > (uint64_t)self->cfg->aggregator.tick_ms) {
        weight = s_spread(self, e, r, dur, now_ms);
        if (!weight)
            self->st.spread_refused++;
    }
    if (!weight) {
        ht_count(e, ht_class(r->proto, r->frag), r->packets, r->bytes, 1);
        if (ht_is_syn(r->proto, r->frag, r->tcp_flags))
            ht_count(e, HT_TCP_SYN, r->packets, r->bytes, 1);
        weight = r->packets;
    }
    s_activate(self, e);
    if (!e->watch &&
        s_count_reaches(e, &self->floors[2 * e->group + e->dir].cnt, self->cfg->aggregator.tick_ms))
        s_watch_start(self, e);
    if (e->watch)
        s_watch_add(self, e, r, exporter, weight);
}

int agg_add_record(agg_t *self, const fg_flow_t *rec, const fg_addr_t *exporter, uint64_t now_ms)
{
    uint32_t now_s = (uint32_t)(now_ms / 1000);
    self->st.records++;
    ht_entry_t *e = ht_find(self->ht, &rec->host, rec->dir);
    if (!e) {
        int g = ptrie_lookup(self->cfg->networks.monitored, &rec->host);
        if (g < 0 || g >= self->cfg->n_groups) {
            self->st.unmonitored++;
            return -1;
        }
        e = ht_insert(self->ht, &rec->host, rec->dir, (uint16_t)g, now_s);
        if (!e) {
            self->st.hosts_refused++;
            return -1;
        }
    }
    e->last_seen_s = now_s;
    s_account(self, e, rec, exporter, now_ms);
    return 0;
}

/* ---- window out ---------------------------------------------------------- */

static void s_rates(Floodgate__Rates *r, uint64_t packets, uint64_t bytes, uint64_t flows,
                    uint32_t window_ms)
{
    floodgate__rates__init(r);
    r->pps = (double)packets * 1000.0 / window_ms;
    r->bps = (double)bytes * 8.0 * 1000.0 / window_ms;
    r->fps = (double)flows * 1000.0 / window_ms;
}

/* Rates of the window plus held rates (pps, Bps). */
static void s_rates_held(Floodgate__Rates *r, uint64_t packets, uint64_t bytes, uint64_t flows,
                         uint32_t window_ms, const double held[2])
{
    s_rates(r, packets, bytes, flows, window_ms);
    r->pps += held[HT_HELD_PPS];
    r->bps += 8.0 * held[HT_HELD_BPS];
}

static void s_total_rates(const ht_entry_t *e, uint32_t window_ms, Floodgate__Rates *r)
{
    ht_total_t t = ht_total(e);
    double held[2];
    ht_held_total(e, held);
    s_rates_held(r, t.packets, t.bytes, t.flows, window_ms, held);
}

static bool s_above_floor(const agg_t *self, const ht_entry_t *e, uint32_t window_ms)
{
    const agg_floor_t *f = &self->floors[2 * e->group + e->dir];
    Floodgate__Rates r;
    s_total_rates(e, window_ms, &r);
    return r.pps >= f->pps || r.bps >= f->bps || r.fps >= f->fps;
}

static int s_out_reserve(agg_out_t *o, size_t hosts)
{
    if (hosts <= o->cap)
        return 0;
    size_t cap = o->cap ? o->cap : 64;
    while (cap < hosts)
        cap *= 2;
    void *p[5] = {realloc(o->hw, cap * sizeof(*o->hw)), NULL, NULL, NULL, NULL};
    if (p[0])
        o->hw = p[0];
    if ((p[1] = realloc(o->hwp, cap * sizeof(*o->hwp))))
        o->hwp = p[1];
    if ((p[2] = realloc(o->rates, cap * AGG_RATES * sizeof(*o->rates))))
        o->rates = p[2];
    if ((p[3] = realloc(o->con, cap * AGG_CONTRIBS * sizeof(*o->con))))
        o->con = p[3];
    if ((p[4] = realloc(o->conp, cap * AGG_CONTRIBS * sizeof(*o->conp))))
        o->conp = p[4];
    for (int i = 0; i < 5; i++)
        if (!p[i])
            return -1;
    o->cap = cap;
    return 0;
}

/* Fill the top contributors of host slot h from its watch state. */
static void s_fill_top(agg_t *self, const ht_entry_t *e, size_t h)
{
    agg_out_t *o = &self->out;
    Floodgate__HostWindow *hw = &o->hw[h];
    hw->top = &o->conp[h * AGG_CONTRIBS];
    hw->n_top = 0;
    if (!e->watch)
        return;
    const agg_watch_t *w = &self->watches[e->watch - 1];
    for (int k = 0; k < AGG_KINDS; k++) {
        topk_item_t items[AGG_TOP_PER_KIND];
        size_t n = topk_top(&w->kind[k], items, AGG_TOP_PER_KIND);
        for (size_t i = 0; i < n; i++) {
            Floodgate__Contributor *c = &o->con[h * AGG_CONTRIBS + hw->n_top];
            floodgate__contributor__init(c);
            c->kind = (Floodgate__ContribKind)k;
            c->key_hi = items[i].hi;
            c->key_lo = items[i].lo;
            c->packets = items[i].count - items[i].err;
            c->share = w->packets ? (double)c->packets / (double)w->packets : 0;
            c->sampling = k == FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER ? items[i].aux : 0;
            hw->top[hw->n_top++] = c;
        }
    }
}

/* Host slot h of the WindowBatch from entry e. */
static void s_fill_host(agg_t *self, const ht_entry_t *e, size_t h, uint32_t window_ms)
{
    agg_out_t *o = &self->out;
    Floodgate__HostWindow *hw = &o->hw[h];
    Floodgate__Rates *r = &o->rates[h * AGG_RATES];
    floodgate__host_window__init(hw);
    hw->addr_hi = e->addr.hi;
    hw->addr_lo = e->addr.lo;
    hw->dir = e->dir ? FLOODGATE__DIRECTION__DIR_OUT : FLOODGATE__DIRECTION__DIR_IN;
    hw->hostgroup = e->group;
    s_total_rates(e, window_ms, &r[0]);
    Floodgate__Rates **dst[HT_CLASSES] = {&hw->tcp, &hw->tcp_syn, &hw->udp,
                                          &hw->icmp, &hw->frag, &hw->other};
    hw->total = &r[0];
    for (int c = 0; c < HT_CLASSES; c++) {
        const ht_counts_t *k = &e->cls[c];
        const double held[2] = {e->held[c][HT_HELD_PPS], e->held[c][HT_HELD_BPS]};
        s_rates_held(&r[1 + c], k->packets, k->bytes, k->flows, window_ms, held);
        *dst[c] = &r[1 + c];
    }
    s_fill_top(self, e, h);
    o->hwp[h] = hw;
}

/* Sum the window into the hostgroup totals; order the active list so the
 * hosts to publish come first. Returns how many to publish. */
static uint32_t s_sort_active(agg_t *self, uint32_t window_ms)
{
    uint32_t n_pub = 0;
    for (uint32_t i = 0; i < self->n_active; i++) {
        ht_entry_t *e = ht_at(self->ht, self->active[i]);
        ht_total_t t = ht_total(e);
        if (t.packets == 0 && t.flows == 0 && e->n_pend == 0)
            continue; /* carried over from the last window, silent since */
        size_t gi = (size_t)e->group * 2 + e->dir;
        double held[2];
        ht_held_total(e, held);
        self->out.gcnt[gi].packets += t.packets;
        self->out.gcnt[gi].bytes += t.bytes;
        self->out.gcnt[gi].flows += t.flows;
        self->out.gheld[gi][0] += held[0];
        self->out.gheld[gi][1] += held[1];
        self->out.ghosts[gi]++;
        if (s_above_floor(self, e, window_ms)) {
            uint32_t tmp = self->active[n_pub];
            self->active[n_pub++] = self->active[i];
            self->active[i] = tmp;
        }
    }
    return n_pub;
}

static size_t s_fill_groups(agg_t *self, uint32_t window_ms)
{
    agg_out_t *o = &self->out;
    size_t n = 0;
    for (size_t gi = 0; gi < 2 * (size_t)self->cfg->n_groups; gi++) {
        if (o->ghosts[gi] == 0)
            continue;
        Floodgate__GroupTotal *g = &o->gt[n];
        floodgate__group_total__init(g);
        g->hostgroup = (uint32_t)(gi / 2);
        g->dir = gi % 2 ? FLOODGATE__DIRECTION__DIR_OUT : FLOODGATE__DIRECTION__DIR_IN;
        g->hosts = o->ghosts[gi];
        s_rates_held(&o->grates[n], o->gcnt[gi].packets, o->gcnt[gi].bytes, o->gcnt[gi].flows,
                     window_ms, o->gheld[gi]);
        g->total = &o->grates[n];
        o->gtp[n++] = g;
    }
    return n;
}

/* Pack the message into the reusable buffer. Returns it, or NULL. */
static const uint8_t *s_pack(agg_t *self, const Floodgate__WindowBatch *wb, size_t *len)
{
    size_t need = floodgate__window_batch__get_packed_size(wb);
    if (need > self->out.buf_cap || !self->out.buf) {
        uint8_t *b = realloc(self->out.buf, need ? need : 1);
        if (!b)
            return NULL;
        self->out.buf = b;
        self->out.buf_cap = need ? need : 1;
    }
    *len = floodgate__window_batch__pack(wb, self->out.buf);
    return self->out.buf;
}

/* Reset the window: counters, group sums, the active list. Watched hosts
 * that were published stay on the list, counters zeroed and contributor
 * weights halved, for one more window: if they fall silent their watch
 * state is released then. Hosts
 * holding spread rates stay on it until their spreads end. A published
 * host without watch state gets it for the next window. */
static void s_window_reset(agg_t *self, uint32_t n_pub)
{
    uint32_t keep = 0;
    for (uint32_t i = 0; i < self->n_active; i++) {
        ht_entry_t *e = ht_at(self->ht, self->active[i]);
        ht_reset(e);
        e->flags = 0;
        if (i >= n_pub)
            s_watch_stop(self, e);
        else if (!e->watch)
            s_watch_start(self, e);
        if (e->watch) { /* contributors fade over a few windows, so that
                           a long flow seen once stays among them */
            agg_watch_t *w = &self->watches[e->watch - 1];
            for (int k = 0; k < AGG_KINDS; k++)
                topk_decay(&w->kind[k]);
            w->packets >>= 1;
        }
        if (!e->watch && e->n_pend == 0)
            continue;
        e->flags = AGG_F_ACTIVE;
        self->active[keep++] = self->active[i];
    }
    self->n_active = keep;
    size_t ng = 2 * (size_t)self->cfg->n_groups;
    memset(self->out.gcnt, 0, ng * sizeof(*self->out.gcnt));
    memset(self->out.gheld, 0, ng * sizeof(*self->out.gheld));
    memset(self->out.ghosts, 0, ng * sizeof(*self->out.ghosts));
}

/* sp_fire_fn: a long flow's hold ends; or, when a later record of the flow
 * moved its end, the event moves there (an event another one replaced is
 * stale and ignored). */
static void s_spread_end(uint32_t id, uint64_t due, void *arg)
{
    agg_t *self = arg;
    lf_entry_t *f = lf_at(self->flows, id);
    if (f->key == 0 || f->ev_due != (uint32_t)due)
        return;
    if ((int32_t)(f->due - (uint32_t)due) > 0) {
        f->ev_due = f->due;
        sp_add(self->spread, due + (uint32_t)(f->due - (uint32_t)due), id); /* room: just freed */
        return;
    }
    ht_entry_t *e = ht_at(self->ht, f->host);
    s_hold(e, f, -1);
    if (e->n_pend > 0)
        e->n_pend--;
    if (e->n_pend == 0) /* no rounding residue outlives the last flow */
        memset(e->held, 0, sizeof(e->held));
    lf_remove(self->flows, id);
}

/* End the spreads due at the close of every window up to closed_id (all
 * of them once when more than the wheel's span was skipped). */
static void s_spread_advance(agg_t *self, uint64_t closed_id)
{
    uint64_t from = self->open_id ? self->open_id : closed_id;
    uint64_t nb = sp_buckets(self->spread);
    if (closed_id + 1 > from + nb)
        from = closed_id + 1 - nb;
    for (uint64_t id = from; id <= closed_id; id++)
        sp_fire(self->spread, id, s_spread_end, self);
    if (closed_id + 1 > self->open_id)
        self->open_id = closed_id + 1;
}

/* ht_expire_fn: keep hosts still on the active list, else let go. */
static int s_expire_cb(ht_entry_t *e, void *arg)
{
    agg_t *self = arg;
    if (e->flags & AGG_F_ACTIVE)
        return 1;
    s_watch_stop(self, e);
    self->st.hosts_removed++;
    return 0;
}

/* Forget idle hosts, a slice per window so that every entry position is
 * visited about once per host_idle. */
static void s_expire(agg_t *self, uint64_t now_ms)
{
    uint64_t ticks =
        (uint64_t)self->cfg->aggregator.host_idle * 1000 / (uint64_t)self->cfg->aggregator.tick_ms;
    size_t budget = ht_max(self->ht) / (ticks ? ticks : 1) + 64;
    ht_expire(self->ht, (uint32_t)(now_ms / 1000), (uint32_t)self->cfg->aggregator.host_idle,
              budget, s_expire_cb, self);
}

static uint64_t s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const uint8_t *agg_close_window(agg_t *self, uint64_t now_ms, size_t *len)
{
    uint64_t t0 = s_mono_us();
    uint32_t window_ms = (uint32_t)self->cfg->aggregator.tick_ms;
    Floodgate__WindowBatch wb = FLOODGATE__WINDOW_BATCH__INIT;
    wb.shard = self->shard;
    wb.shards = (uint32_t)self->cfg->aggregator.shards;
    wb.seq = ++self->seq;
    wb.window_end_ms = now_ms - now_ms % window_ms;
    wb.window_ms = window_ms;
    wb.hosts_tracked = ht_size(self->ht);
    wb.batches_lost = self->st.batches_lost;

    uint32_t n_pub = s_sort_active(self, window_ms);
    const uint8_t *out = NULL;
    if (s_out_reserve(&self->out, n_pub) == 0) {
        for (uint32_t i = 0; i < n_pub; i++)
            s_fill_host(self, ht_at(self->ht, self->active[i]), i, window_ms);
        wb.n_hosts = n_pub;
        wb.hosts = n_pub ? self->out.hwp : NULL;
        wb.n_groups = s_fill_groups(self, window_ms);
        wb.groups = wb.n_groups ? self->out.gtp : NULL;
        out = s_pack(self, &wb, len);
    }
    if (wb.window_end_ms >= window_ms)
        s_spread_advance(self, wb.window_end_ms / window_ms - 1);
    s_window_reset(self, n_pub);
    s_expire(self, now_ms);
    self->st.windows++;
    self->st.last_hosts_published = n_pub;
    self->st.long_flows = lf_size(self->flows);
    self->st.window_us = s_mono_us() - t0;
    return out;
}

/* ---- counters ------------------------------------------------------------ */

const agg_stats_t *agg_stats(const agg_t *self)
{
    return &self->st;
}

size_t agg_hosts_tracked(const agg_t *self)
{
    return ht_size(self->ht);
}

void agg_format_stats(const agg_t *self, char *buf, size_t len)
{
    const agg_stats_t *s = &self->st;
    snprintf(buf, len,
             "batches=%" PRIu64 " malformed=%" PRIu64 " batches_lost=%" PRIu64
             " misrouted=%" PRIu64 " collector_resets=%" PRIu64
             " collectors_untracked=%" PRIu64 " records=%" PRIu64 " unmonitored=%" PRIu64
             " hosts_tracked=%zu hosts_refused=%" PRIu64 " hosts_removed=%" PRIu64
             " watched=%" PRIu64 " watch_refused=%" PRIu64 " windows=%" PRIu64
             " last_window_hosts=%" PRIu64 " last_window_us=%" PRIu64 " spread=%" PRIu64
             " spread_late=%" PRIu64 " spread_capped=%" PRIu64 " spread_refused=%" PRIu64
             " spread_renewed=%" PRIu64 " long_flows=%zu bad_times=%" PRIu64,
             s->batches, s->malformed, s->batches_lost, s->misrouted, s->collector_resets,
             s->collectors_untracked, s->records, s->unmonitored, ht_size(self->ht),
             s->hosts_refused, s->hosts_removed,
             s->watched,
             s->watch_refused, s->windows, s->last_hosts_published, s->window_us, s->spread,
             s->spread_late, s->spread_capped, s->spread_refused, s->spread_renewed,
             lf_size(self->flows),
             s->bad_times);
}

/* ht_each: the host's group under the new config; a host no longer
 * monitored counts in the default group until it idles out (the collectors
 * stop sending its records). */
typedef struct {
    const fg_config_t *cfg;
    size_t moved;
} agg_remap_t;

static void s_remap(ht_entry_t *e, void *arg)
{
    agg_remap_t *r = arg;
    int g = ptrie_lookup(r->cfg->networks.monitored, &e->addr);
    uint16_t to = g >= 0 && g < r->cfg->n_groups ? (uint16_t)g : 0;
    r->moved += e->group != to;
    e->group = to;
}

size_t agg_reload(agg_t *self)
{
    agg_remap_t r = {self->cfg, 0};
    s_floors_init(self);
    ht_each(self->ht, s_remap, &r);
    return r.moved;
}
