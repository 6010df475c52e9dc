/* agg_window: a window out. Every tick the window's counters become a
 * packed WindowBatch: the hosts at or above their watch floor with their
 * rates (counts over the time their records cover, plus held rates) and
 * top contributors, and the hostgroup totals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregator/agg_int.h"
#include "common/wbwrite.h"

#define AGG_CLOSE_PF 8 /* entries of the active list brought into the cache ahead */

static void s_rates(ww_rates_t *r, uint64_t packets, uint64_t bytes, uint64_t flows,
                    uint32_t window_ms)
{
    r->pps = (double)packets * 1000.0 / window_ms;
    r->bps = (double)bytes * 8.0 * 1000.0 / window_ms;
    r->fps = (double)flows * 1000.0 / window_ms;
}

/* Rates of the window plus held rates (pps, Bps). */
static void s_rates_held(ww_rates_t *r, uint64_t packets, uint64_t bytes, uint64_t flows,
                         uint32_t window_ms, const double held[2])
{
    s_rates(r, packets, bytes, flows, window_ms);
    r->pps += held[HT_HELD_PPS];
    r->bps += 8.0 * held[HT_HELD_BPS];
}

static void s_total_rates(const agg_t *self, const ht_entry_t *e, ww_rates_t *r)
{
    ht_total_t t = ht_total(e);
    double held[2];
    ht_held_total(e, held);
    s_rates_held(r, t.packets, t.bytes, t.flows, agg_covered_ms(self, e), held);
}

static bool s_above_floor(const agg_t *self, const ww_rates_t *r, const ht_entry_t *e)
{
    const agg_floor_t *f = &self->floors[2 * e->group + e->dir];
    return r->pps >= f->pps || r->bps >= f->bps || r->fps >= f->fps;
}

/* The top contributors of e from its watch state, into top; how many. */
static size_t s_fill_top(const agg_t *self, const ht_entry_t *e, ww_contrib_t top[AGG_CONTRIBS])
{
    size_t n = 0;
    if (!e->watch)
        return 0;
    const agg_watch_t *w = &self->watches[e->watch - 1];
    for (int k = 0; k < AGG_KINDS; k++) {
        topk_item_t items[AGG_TOP_PER_KIND];
        size_t m = topk_top(&w->kind[k], items, AGG_TOP_PER_KIND);
        for (size_t i = 0; i < m; i++) {
            ww_contrib_t *c = &top[n++];
            c->kind = k;
            c->key_hi = items[i].hi;
            c->key_lo = items[i].lo;
            c->packets = items[i].count - items[i].err;
            c->share = w->packets ? (double)c->packets / (double)w->packets : 0;
            c->sampling = k == FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER ? items[i].aux : 0;
        }
    }
    return n;
}

/* The rate the largest record counted whole brought to the window (one
 * flow), over the time the window covers; a host without watch state
 * (none free) says its whole count, the most any record could be. The
 * detector's confidence bound needs it (detect.c). */
static void s_fill_largest(const agg_t *self, const ht_entry_t *e, uint32_t covered, ww_rates_t *r)
{
    ht_total_t t = ht_total(e);
    uint64_t p = t.packets, b = t.bytes;
    if (e->watch) {
        const agg_watch_t *w = &self->watches[e->watch - 1];
        p = w->max_p < p ? w->max_p : p;
        b = w->max_b < b ? w->max_b : b;
    }
    r->pps = (double)p * 1000.0 / covered;
    r->bps = 8.0 * (double)b * 1000.0 / covered;
    r->fps = t.flows ? 1000.0 / covered : 0;
}

/* Write the HostWindow of entry e: its counts over the time they cover,
 * plus its held rates. */
static void s_fill_host(const agg_t *self, ww_t *w, const ht_entry_t *e)
{
    uint32_t covered = agg_covered_ms(self, e);
    ww_rates_t r[AGG_RATES];
    ww_contrib_t top[AGG_CONTRIBS];
    ww_host_t h = {.addr_hi = e->addr.hi,
                   .addr_lo = e->addr.lo,
                   .dir = e->dir ? FLOODGATE__DIRECTION__DIR_OUT : FLOODGATE__DIRECTION__DIR_IN,
                   .hostgroup = e->group,
                   .largest = &r[FG_CLASSES],
                   .top = top};
    s_total_rates(self, e, &r[FG_CLS_TOTAL]);
    h.rates[FG_CLS_TOTAL] = &r[FG_CLS_TOTAL];
    for (int c = 0; c < HT_CLASSES; c++) { /* HT_* follow FG_CLS_TCP */
        const ht_counts_t *k = &e->cls[c];
        const double held[2] = {k->held[HT_HELD_PPS], k->held[HT_HELD_BPS]};
        s_rates_held(&r[1 + c], k->packets, k->bytes, k->flows, covered, held);
        h.rates[FG_CLS_TCP + c] = &r[1 + c];
    }
    s_fill_largest(self, e, covered, &r[FG_CLASSES]);
    h.n_top = s_fill_top(self, e, top);
    ww_host(w, &h);
}

/* The window's end for host e: counters zeroed. Watched hosts that were
 * published stay on the active list, counters zeroed and contributor
 * weights halved, for one more window: if they fall silent their watch
 * state is released then. Hosts holding long records' rates stay on it
 * while published, hosts with records in this window for one more
 * (so that the next window knows where their records' time left off). A
 * published host without watch state gets it for the next window. Returns
 * whether it stays on the list. */
static bool s_reset_host(agg_t *self, ht_entry_t *e, bool published)
{
    bool timed = e->flags & AGG_F_TIMED;
    ht_reset(e);
    e->flags = (uint8_t)((timed ? AGG_F_CONT : 0) | (e->flags & AGG_F_POOLED));
    if (!published)
        agg_watch_stop(self, e);
    else if (!e->watch)
        agg_watch_start(self, e);
    if (e->watch) { /* contributors fade over a few windows, so that
                       a long flow seen once stays among them */
        agg_watch_t *w = &self->watches[e->watch - 1];
        for (int k = 0; k < AGG_KINDS; k++)
            topk_decay(&w->kind[k]);
        w->packets >>= 1;
        w->max_p = w->max_b = 0;
    }
    if (!e->watch && !timed && !(published && agg_holding(self, e)))
        return false; /* a holder under its floor leaves too: its group's
                         sums have its held rates, and they only grow with
                         a record, which puts it back */
    e->flags |= AGG_F_ACTIVE;
    return true;
}

#define AGG_DROP UINT32_MAX /* an active list place whose host leaves it */

/* Sum the window's rates into the hostgroup totals (each host's over the
 * time its records cover, so a backlog is not multiplied there either; the
 * held rates are summed as they change, agg_hold.c, so that a host that
 * only holds is visited here only while over its floor);
 * order the active list so the hosts to publish come first. The others
 * are done with in the same pass (reset; AGG_DROP in their place when they
 * leave the list), so that a close reads each of them once. Returns how
 * many to publish. */
static uint32_t s_sort_active(agg_t *self)
{
    uint32_t n_pub = 0;
    for (uint32_t i = 0; i < self->n_active; i++) {
        if (i + 2 * AGG_CLOSE_PF < self->n_active)
            ht_prefetch_head(self->ht, self->active[i + 2 * AGG_CLOSE_PF]);
        if (i + AGG_CLOSE_PF < self->n_active)
            ht_prefetch_counted(self->ht, self->active[i + AGG_CLOSE_PF]);
        ht_entry_t *e = ht_at(self->ht, self->active[i]);
        ht_total_t t = ht_total(e);
        bool holding = agg_holding(self, e);
        if (t.packets || t.flows || holding) {
            ww_rates_t r;
            s_rates(&r, t.packets, t.bytes, t.flows, agg_covered_ms(self, e));
            if (t.packets || t.flows) { /* held rates: in gheld already */
                size_t gi = (size_t)e->group * 2 + e->dir;
                self->out.grate[gi][0] += r.pps;
                self->out.grate[gi][1] += r.bps;
                self->out.grate[gi][2] += r.fps;
                self->out.ghosts[gi] += !holding;
            }
            double held[2];
            ht_held_total(e, held);
            r.pps += held[HT_HELD_PPS];
            r.bps += 8.0 * held[HT_HELD_BPS];
            if (s_above_floor(self, &r, e)) {
                uint32_t tmp = self->active[n_pub];
                self->active[n_pub++] = self->active[i];
                self->active[i] = tmp;
                continue;
            }
        } /* else carried over from the last window, silent since */
        if (!s_reset_host(self, e, false))
            self->active[i] = AGG_DROP;
    }
    return n_pub;
}

static void s_fill_groups(const agg_t *self, ww_t *w)
{
    const agg_out_t *o = &self->out;
    for (size_t gi = 0; gi < 2 * (size_t)self->cfg->n_groups; gi++) {
        uint32_t hosts = o->ghosts[gi] + self->gholders[gi];
        if (hosts == 0)
            continue;
        int dir = gi % 2 ? FLOODGATE__DIRECTION__DIR_OUT : FLOODGATE__DIRECTION__DIR_IN;
        /* the held sums of every holder, silent ones too (never below 0:
         * rounding of many changes) */
        ww_rates_t r = {o->grate[gi][0] + fmax(self->gheld[gi][0], 0),
                        o->grate[gi][1] + 8.0 * fmax(self->gheld[gi][1], 0), o->grate[gi][2]};
        ww_group_t g = {(uint32_t)(gi / 2), dir, &r, hosts};
        ww_group(w, &g);
    }
}

/* Reset the window: the published hosts (the others were in
 * s_sort_active), group sums, the active list. */
static void s_window_reset(agg_t *self, uint32_t n_pub)
{
    uint32_t keep = 0;
    for (uint32_t i = 0; i < self->n_active; i++) {
        if (i < n_pub && !s_reset_host(self, ht_at(self->ht, self->active[i]), true))
            continue;
        if (self->active[i] != AGG_DROP)
            self->active[keep++] = self->active[i];
    }
    self->n_active = keep;
    size_t ng = 2 * (size_t)self->cfg->n_groups;
    memset(self->out.grate, 0, ng * sizeof(*self->out.grate));
    memset(self->out.ghosts, 0, ng * sizeof(*self->out.ghosts));
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
    ww_header_t wb = {.shard = self->shard,
                      .shards = (uint32_t)self->cfg->aggregator.shards,
                      .seq = ++self->seq,
                      .window_end_ms = now_ms - now_ms % window_ms,
                      .window_ms = window_ms,
                      .hosts_tracked = ht_size(self->ht),
                      .batches_lost = self->st.batches_lost};

    /* holds due in windows never closed (the shard stalled) end first */
    if (wb.window_end_ms >= 2 * (uint64_t)window_ms)
        agg_hold_advance(self, wb.window_end_ms / window_ms - 2);
    uint32_t n_pub = s_sort_active(self);
    /* written as it is filled; the writer checks the codec's limits */
    ww_t w;
    ww_begin(&w, &self->out.msg, &wb);
    for (uint32_t i = 0; i < n_pub; i++)
        s_fill_host(self, &w, ht_at(self->ht, self->active[i]));
    s_fill_groups(self, &w);
    const char *why;
    const uint8_t *out = NULL;
    if (ww_finish(&w, &why) == 0) {
        out = (const uint8_t *)self->out.msg.data;
        *len = self->out.msg.len;
    }
    if (wb.window_end_ms >= window_ms)
        agg_hold_advance(self, wb.window_end_ms / window_ms - 1);
    s_window_reset(self, n_pub);
    agg_expire(self, now_ms);
    self->st.windows++;
    self->st.last_hosts_published = n_pub;
    self->st.long_flows = lf_size(self->flows);
    self->st.hold_pools = hr_blocks(self->pool);
    self->st.window_us = s_mono_us() - t0;
    return out;
}
