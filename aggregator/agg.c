/* agg: the shard context, FlowBatch in, a record's time and class, and
 * top-contributor state. Long records: agg_hold.c; windows out:
 * agg_window.c; expiry and eviction: agg_expire.c. */
#include "aggregator/agg.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator/agg_int.h"

_Static_assert(FG_MAX_GROUPS <= HT_GROUPS_MAX, "a host's group is a uint8_t");
_Static_assert(AGG_MAX_WATCHED < 65536, "a host's watch index is a uint16_t");

#define AGG_PF 8 /* records between the prefetch stages of agg_ingest */
#define AGG_PF_STAGES 3
#define AGG_PF_RING 32 /* a power of two over AGG_PF_STAGES * AGG_PF */
_Static_assert(AGG_PF_RING > AGG_PF_STAGES * AGG_PF && !(AGG_PF_RING & (AGG_PF_RING - 1)),
               "the prefetch ring holds the records from the first stage to the last, "
               "which reads the hash the first wrote");

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

static void s_out_free(agg_out_t *o)
{
    free(o->grate);
    free(o->ghosts);
    fg_buf_free(&o->msg);
}

static int s_out_new(agg_out_t *o, size_t ng)
{
    o->grate = calloc(2 * ng, sizeof(*o->grate));
    o->ghosts = calloc(2 * ng, sizeof(*o->ghosts));
    return o->grate && o->ghosts ? 0 : -1;
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
    self->gheld = calloc(2 * ng, sizeof(*self->gheld));
    self->gholders = calloc(2 * ng, sizeof(*self->gholders));
    self->exporters = calloc(AGG_MAX_EXPORTERS, sizeof(*self->exporters));
    uint64_t nfl = max; /* long flows held: one per host on average */
    nfl = nfl < AGG_SPREAD_MIN_EVENTS ? AGG_SPREAD_MIN_EVENTS : nfl > (1u << 29) ? (1u << 29) : nfl;
    self->flows = lf_new((uint32_t)nfl);
    self->spread = sp_new((uint32_t)agg_hold_buckets(cfg), (uint32_t)(2 * nfl));
    self->pool = self->ht ? agg_hold_pool_new(cfg, self->ht) : NULL;
    if (!self->ht || !self->active || !self->watches || !self->watch_free || !self->floors ||
        !self->gheld || !self->gholders ||
        !self->exporters || !self->spread || !self->flows || !self->pool ||
        s_out_new(&self->out, ng) != 0) {
        agg_destroy(&self);
        return NULL;
    }
    for (uint32_t i = 0; i < nw; i++)
        self->watch_free[i] = nw - 1 - i;
    self->n_watch_free = nw;
    s_floors_init(self);
    return self;
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
    free(self->gheld);
    free(self->gholders);
    free(self->exporters);
    sp_destroy(&self->spread);
    lf_destroy(&self->flows);
    hr_destroy(&self->pool);
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

static int s_add(agg_t *self, const fg_flow_t *rec, const fg_addr_t *exporter, agg_exporter_t *x,
                 uint64_t now_ms, uint64_t h, uint32_t hint);

static void s_exporter_init(agg_exporter_t *x, const fg_addr_t *addr, uint64_t epoch)
{
    memset(x, 0, sizeof(*x));
    x->used = 1;
    x->addr = *addr;
    x->lag_cur = x->lag_prev = UINT64_MAX;
    x->epoch = epoch;
}

agg_exporter_t *agg_exporter(agg_t *self, const fg_addr_t *addr, uint64_t now_ms)
{
    if (!addr)
        return NULL;
    uint64_t h = fg_addr_hash(addr), epoch = now_ms / AGG_SKEW_EPOCH_MS;
    agg_exporter_t *idle = NULL; /* the longest silent one, if long enough */
    for (uint32_t k = 0; k < AGG_MAX_EXPORTERS / 4; k++) {
        agg_exporter_t *x = &self->exporters[(h + k) % AGG_MAX_EXPORTERS];
        if (x->used && fg_addr_eq(&x->addr, addr))
            return x;
        if (!x->used) {
            s_exporter_init(x, addr, epoch);
            return x;
        }
        if (x->epoch + AGG_EXPORTER_IDLE_EPOCHS <= epoch && (!idle || x->epoch < idle->epoch))
            idle = x;
    }
    if (idle) {
        s_exporter_init(idle, addr, epoch);
        return idle;
    }
    self->st.exporters_untracked++;
    return NULL;
}

/* The batch's send time bounds its records' times: a collector stamps it
 * when it sends, so no record in it can be later. A send time after now
 * (a collector's clock ahead of ours) or missing is taken as now. */
static uint64_t s_batch_time(uint64_t sent_ms, uint64_t now_ms)
{
    return sent_ms && sent_ms < now_ms ? sent_ms : now_ms;
}

/* The class of a FlowBatch record's meta, and whether it is a SYN. */
static int s_meta_class(uint32_t meta)
{
    return ht_class(fb_meta_proto(meta), fb_meta_frag(meta));
}

static int s_meta_syn(uint32_t meta)
{
    return ht_is_syn(fb_meta_proto(meta), fb_meta_frag(meta), fb_meta_flags(meta));
}

/* The pool slot record r of m would be held in, brought into the cache. */
static void s_prefetch_hold(const agg_t *self, const Floodgate__FlowBatch *m, size_t r,
                            uint32_t host, agg_exporter_t *const *xs, uint64_t now_ms)
{
    uint64_t s = m->start_ms[r], e = m->end_ms[r];
    /* fb_unpack checked the exporter indices */
    agg_hold_prefetch(self, host, e > s ? e - s : 0, xs[m->exporter[r]], now_ms);
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
    if (m->shard != self->shard || m->shards != (uint32_t)self->cfg->aggregator.shards) {
        /* Another shard's hosts (or another shard count's hashing): using
         * them would count hosts this shard does not own. */
        self->st.refused_shard++;
        floodgate__flow_batch__free_unpacked(m, NULL);
        return -1;
    }
    s_track_seq(self, m->collector_id, m->seq);

    fg_addr_t ex[FB_MAX_EXPORTERS];
    agg_exporter_t *xs[FB_MAX_EXPORTERS];
    for (size_t i = 0; i < m->n_exporters; i++) {
        ex[i] = fg_addr_from_bytes16(m->exporters[i].data);
        xs[i] = agg_exporter(self, &ex[i], now_ms);
    }
    self->sent_ms = s_batch_time(m->sent_ms, now_ms);
    /* Records are independent: the memory each needs (host slot, host
     * entry with its pool's head, the pool's block and bucket) is brought
     * into the cache a few records ahead, stage by stage, so that the
     * misses overlap instead of adding up. */
    uint64_t h[AGG_PF_RING];
    uint32_t idx[AGG_PF_RING];
    const size_t mask = AGG_PF_RING - 1;
    for (size_t i = 0; i < n + AGG_PF_STAGES * AGG_PF; i++) {
        if (i < n) {
            fg_addr_t a = {m->host_hi[i], m->host_lo[i]};
            h[i & mask] = ht_hash(&a, fb_meta_dir(m->meta[i]));
            ht_prefetch_slot(self->ht, h[i & mask]);
        }
        size_t r = i - AGG_PF; /* stage 1: the entry */
        if (i >= AGG_PF && r < n)
            idx[r & mask] = ht_prefetch_entry(self->ht, h[r & mask], s_meta_class(m->meta[r]),
                                              s_meta_syn(m->meta[r]));
        r = i - 2 * AGG_PF; /* stage 2: the pool's block and bucket */
        if (i >= 2 * AGG_PF && r < n && idx[r & mask])
            s_prefetch_hold(self, m, r, idx[r & mask] - 1, xs, now_ms);
        if (i >= AGG_PF_STAGES * AGG_PF) {
            size_t rec_i = i - AGG_PF_STAGES * AGG_PF;
            fg_flow_t rec;
            fb_record(m, rec_i, &rec);
            s_add(self, &rec, &ex[rec.exporter], xs[rec.exporter], now_ms, h[rec_i & mask],
                  idx[rec_i & mask]);
        }
    }
    self->sent_ms = 0;
    self->st.last_batch_ms = now_ms;
    floodgate__flow_batch__free_unpacked(m, NULL);
    return 0;
}

/* The time the host's window counts cover: from t_lo (the earliest record
 * time of the window, or where the last window's records ended) to the
 * latest record time, and at least the window. Records of a backlog, or
 * exported late, are so divided by the time they stand for. */
uint32_t agg_covered_ms(const agg_t *self, const ht_entry_t *e)
{
    uint32_t w = (uint32_t)self->cfg->aggregator.tick_ms;
    if (!(e->flags & AGG_F_TIMED))
        return w;
    int32_t span = (int32_t)(e->seen - e->t_lo);
    uint32_t max = (uint32_t)self->cfg->aggregator.horizon * 1000u;
    return span <= (int32_t)w ? w : (uint32_t)span > max ? max : (uint32_t)span;
}

/* Has the window (its counts over the time they cover, plus one window of
 * the held rates) reached the floor's counts? */
static bool s_count_reaches(const agg_t *self, const ht_entry_t *e, const agg_cnt_t *floor)
{
    int tick = self->cfg->aggregator.tick_ms;
    double scale = (double)tick / agg_covered_ms(self, e);
    ht_total_t t = ht_total(e);
    double held[2];
    ht_held_total(e, held);
    double p = (double)t.packets * scale + held[HT_HELD_PPS] * tick / 1000.0;
    double b = (double)t.bytes * scale + held[HT_HELD_BPS] * tick / 1000.0;
    return p >= (double)floor->packets || b >= (double)floor->bytes ||
           (double)t.flows * scale >= (double)floor->flows;
}

/* Start top-contributor state for a host that reached its floor. */
void agg_watch_start(agg_t *self, ht_entry_t *e)
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
    ht_total_t t = ht_total(e);
    ws->max_p = t.packets; /* the records before it: no one was larger */
    ws->max_b = t.bytes;
    e->watch = w + 1;
    self->st.watched++;
}

void agg_watch_stop(agg_t *self, ht_entry_t *e)
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
        topk_add(&w->kind[FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER], exporter->hi, exporter->lo, p,
                 r->sampling);
}

/* The largest record counted whole in the window (HostWindow.largest). */
static void s_watch_largest(agg_watch_t *w, uint64_t p, uint64_t b)
{
    if (p > w->max_p)
        w->max_p = p;
    if (b > w->max_b)
        w->max_b = b;
}

static void s_watch_largest_unset(agg_watch_t *w, uint64_t p, uint64_t b)
{
    w->max_p -= p < w->max_p ? p : w->max_p;
    w->max_b -= b < w->max_b ? b : w->max_b;
}

static void s_activate(agg_t *self, ht_entry_t *e)
{
    if (!(e->flags & AGG_F_ACTIVE)) {
        e->flags |= AGG_F_ACTIVE;
        self->active[self->n_active++] = ht_index(self->ht, e);
    }
}

/* The id of the window records go to now. */
uint64_t agg_open_id(agg_t *self, uint64_t now_ms)
{
    if (!self->open_id)
        self->open_id = now_ms / (uint64_t)self->cfg->aggregator.tick_ms;
    return self->open_id;
}

/* The record's time t (low 32 bits of unix ms) joins the window: the
 * window's first one starts the time covered (or continues where the last
 * window's records ended), later ones widen it. */
static void s_time(ht_entry_t *e, uint32_t t)
{
    if (!(e->flags & AGG_F_TIMED)) {
        e->flags |= AGG_F_TIMED;
        e->t_lo = e->flags & AGG_F_CONT ? e->seen : t;
    } else if (!(e->flags & AGG_F_CONT) && (int32_t)(t - e->t_lo) < 0) {
        e->t_lo = t;
    }
    if ((int32_t)(t - e->seen) > 0)
        e->seen = t;
}

/* Packets and bytes of a short record, clipped to the rate ceiling over
 * the window (or its duration, if longer). */
static void s_clip(agg_t *self, uint64_t dur_ms, uint64_t *packets, uint64_t *bytes)
{
    const fg_config_t *cfg = self->cfg;
    double secs =
        (double)(dur_ms > (uint64_t)cfg->aggregator.tick_ms ? dur_ms
                                                            : (uint64_t)cfg->aggregator.tick_ms) /
        1e3;
    double maxp = cfg->aggregator.ceiling_pps * secs,
           maxb = cfg->aggregator.ceiling_mbps * 1e6 / 8 * secs;
    bool clip = false;
    if (cfg->aggregator.ceiling_pps > 0 && (double)*packets > maxp) {
        *packets = (uint64_t)maxp;
        clip = true;
    }
    if (cfg->aggregator.ceiling_mbps > 0 && (double)*bytes > maxb) {
        *bytes = (uint64_t)maxb;
        clip = true;
    }
    if (clip)
        self->st.clipped++;
}

/* A long record with no room to hold its rate: its share of one window
 * at its average rate (amount x window / duration), never all of it, so
 * that a full held-flow table (a spray of spoofed long records) makes no
 * long flow look like a flood; the rest of the flow is not counted. */
static void s_refused_share(uint64_t tick, uint64_t dur, uint64_t *packets, uint64_t *bytes)
{
    *packets = (uint64_t)((double)*packets * (double)tick / (double)dur);
    *bytes = (uint64_t)((double)*bytes * (double)tick / (double)dur);
}

/* Count the record in the host's current window: a record lasting more
 * than one window has its rate held (agg_hold), or, with no room to hold
 * it (counted), one window's share of it counted; a shorter one or an
 * sFlow sample (start == end) counts whole in the open window, over the
 * time the window's records cover. */
static void s_account(agg_t *self, ht_entry_t *e, const fg_flow_t *r, const fg_addr_t *exporter,
                      agg_exporter_t *x, uint64_t t_ms, uint64_t now_ms)
{
    uint64_t dur = 0, weight = 0, whole_p = 0, whole_b = 0,
             tick = (uint64_t)self->cfg->aggregator.tick_ms;
    if (r->end_ms < r->start_ms)
        self->st.bad_times++;
    else
        dur = r->end_ms - r->start_ms;
    if (dur > tick) {
        weight = agg_hold(self, e, r, x, dur, now_ms);
        if (!weight)
            self->st.spread_refused++;
    }
    if (!weight) {
        uint64_t p = r->packets, b = r->bytes;
        if (dur > tick)
            s_refused_share(tick, dur, &p, &b);
        s_clip(self, dur > tick ? tick : dur, &p, &b);
        ht_count(e, ht_class(r->proto, r->frag), p, b, 1);
        if (ht_is_syn(r->proto, r->frag, r->tcp_flags))
            ht_count(e, HT_TCP_SYN, p, b, 1);
        s_time(e, (uint32_t)t_ms);
        weight = whole_p = p;
        whole_b = b;
    }
    if (t_ms < agg_open_id(self, now_ms) * (uint64_t)self->cfg->aggregator.tick_ms)
        self->st.folded++;
    s_activate(self, e);
    if (!e->watch && s_count_reaches(self, e, &self->floors[2 * e->group + e->dir].cnt)) {
        agg_watch_start(self, e);
        if (e->watch) /* it took this record in its bound: taken back below */
            s_watch_largest_unset(&self->watches[e->watch - 1], whole_p, whole_b);
    }
    if (e->watch && weight != AGG_HOLD_LATE)
        s_watch_add(self, e, r, exporter, weight);
    if (e->watch)
        s_watch_largest(&self->watches[e->watch - 1], whole_p, whole_b);
}

/* The host's entry, inserted (room made if the table is full) when new;
 * NULL when not counted (counted why). */
static ht_entry_t *s_entry(agg_t *self, const fg_flow_t *rec, uint32_t t, uint64_t h,
                           uint32_t hint)
{
    ht_entry_t *e = ht_find_hinted(self->ht, &rec->host, rec->dir, h, hint);
    if (e)
        return e;
    int g = ptrie_lookup(self->cfg->networks.monitored, &rec->host);
    if (g < 0 || g >= self->cfg->n_groups) {
        self->st.unmonitored++;
        return NULL;
    }
    bool on_list = false;
    if (agg_make_room(self, &on_list) != 0 ||
        !(e = ht_insert(self->ht, &rec->host, rec->dir, (uint8_t)g, t))) {
        self->st.hosts_refused++;
        return NULL;
    }
    if (on_list) /* the evicted host's index, already on the active list */
        e->flags |= AGG_F_ACTIVE;
    return e;
}

/* The exporter's clock lag: the least age (at its batch's send time) of its
 * records over this epoch and the last, so that a router whose clock is
 * behind, or which always exports late, is not taken for a backlog; a
 * replay of its old datagrams still is. An exporter not tracked: none. */
static uint64_t s_lag(agg_exporter_t *x, uint64_t age, uint64_t now_ms)
{
    if (!x)
        return 0;
    uint64_t epoch = now_ms / AGG_SKEW_EPOCH_MS;
    if (epoch != x->epoch) {
        x->lag_prev = epoch == x->epoch + 1 ? x->lag_cur : UINT64_MAX;
        x->lag_cur = UINT64_MAX;
        x->epoch = epoch;
    }
    if (age < x->lag_cur)
        x->lag_cur = age;
    return x->lag_cur < x->lag_prev ? x->lag_cur : x->lag_prev;
}

/* A record's own time: flow end, or sample time (start == end), moved on by
 * its exporter's clock lag, and never after its batch's send time. */
static uint64_t s_record_time(agg_t *self, const fg_flow_t *rec, agg_exporter_t *x, uint64_t now_ms)
{
    uint64_t bound = self->sent_ms ? self->sent_ms : now_ms, t = rec->end_ms;
    if (t > bound) {
        self->st.future++;
        t = bound;
    }
    t += s_lag(x, bound - t, now_ms);
    return t < bound ? t : bound;
}

/* Count record rec; h is ht_hash of its host and direction, hint a guess of
 * its entry (ht_find_hinted). */
static int s_add(agg_t *self, const fg_flow_t *rec, const fg_addr_t *exporter, agg_exporter_t *x,
                 uint64_t now_ms, uint64_t h, uint32_t hint)
{
    self->st.records++;
    uint64_t t = s_record_time(self, rec, x, now_ms);
    if (t + (uint64_t)self->cfg->aggregator.horizon * 1000 < now_ms) {
        self->st.stale++;
        return -1;
    }
    ht_entry_t *e = s_entry(self, rec, (uint32_t)t, h, hint);
    if (!e)
        return -1;
    s_account(self, e, rec, exporter, x, t, now_ms);
    return 0;
}

int agg_add_record(agg_t *self, const fg_flow_t *rec, const fg_addr_t *exporter, uint64_t now_ms)
{
    return s_add(self, rec, exporter, agg_exporter(self, exporter, now_ms), now_ms,
                 ht_hash(&rec->host, rec->dir), 0);
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
             "batches=%" PRIu64 " malformed=%" PRIu64 " batches_lost=%" PRIu64 " wrong_shard=%" PRIu64
             " collector_resets=%" PRIu64 " collectors_untracked=%" PRIu64 " records=%" PRIu64
             " unmonitored=%" PRIu64 " stale=%" PRIu64 " folded=%" PRIu64 " future=%" PRIu64
             " clipped=%" PRIu64 " hosts_tracked=%zu hosts_refused=%" PRIu64
             " hosts_evicted=%" PRIu64 " hosts_removed=%" PRIu64 " watched=%" PRIu64
             " watch_refused=%" PRIu64 " windows=%" PRIu64 " last_window_hosts=%" PRIu64
             " last_window_us=%" PRIu64 " spread=%" PRIu64 " spread_late=%" PRIu64
             " spread_bounded=%" PRIu64 " spread_refused=%" PRIu64 " spread_renewed=%" PRIu64
             " spread_pooled=%" PRIu64 " long_flows=%zu hold_pools=%zu"
             " bad_times=%" PRIu64,
             s->batches, s->malformed, s->batches_lost, s->refused_shard, s->collector_resets,
             s->collectors_untracked, s->records, s->unmonitored, s->stale, s->folded, s->future,
             s->clipped, ht_size(self->ht), s->hosts_refused, s->hosts_evicted, s->hosts_removed,
             s->watched, s->watch_refused, s->windows, s->last_hosts_published, s->window_us,
             s->spread, s->spread_late, s->spread_capped, s->spread_refused, s->spread_renewed,
             s->spread_pooled, lf_size(self->flows), hr_blocks(self->pool), s->bad_times);
}

/* ht_each: the host's group under the new config; a host no longer
 * monitored counts in the default group until it idles out (the collectors
 * stop sending its records). A host holding rates takes them (and itself)
 * to its new group's sums, and goes on the active list: its floor may have
 * changed. */
typedef struct {
    agg_t *agg;
    size_t moved;
} agg_remap_t;

static void s_remap(ht_entry_t *e, void *arg)
{
    agg_remap_t *r = arg;
    agg_t *self = r->agg;
    int g = ptrie_lookup(self->cfg->networks.monitored, &e->addr);
    uint8_t to = g >= 0 && g < self->cfg->n_groups ? (uint8_t)g : 0;
    if (agg_holding(self, e)) {
        double held[2];
        ht_held_total(e, held);
        size_t a = 2 * (size_t)e->group + e->dir, b = 2 * (size_t)to + e->dir;
        for (int k = 0; k < 2; k++) {
            self->gheld[a][k] -= held[k];
            self->gheld[b][k] += held[k];
        }
        self->gholders[a]--;
        self->gholders[b]++;
        s_activate(self, e);
    }
    r->moved += e->group != to;
    e->group = to;
}

size_t agg_reload(agg_t *self)
{
    agg_remap_t r = {self, 0};
    s_floors_init(self);
    ht_each(self->ht, s_remap, &r);
    return r.moved;
}
