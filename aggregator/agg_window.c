/* agg_window: a window out. Every tick the window's counters become a
 * packed WindowBatch: the hosts at or above their watch floor with their
 * rates (counts over the time their records cover, plus held rates) and
 * top contributors, and the hostgroup totals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregator/agg_int.h"
#include "common/window.h"

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

static void s_total_rates(const agg_t *self, const ht_entry_t *e, Floodgate__Rates *r)
{
    ht_total_t t = ht_total(e);
    double held[2];
    ht_held_total(e, held);
    s_rates_held(r, t.packets, t.bytes, t.flows, agg_covered_ms(self, e), held);
}

static bool s_above_floor(const agg_t *self, const Floodgate__Rates *r, const ht_entry_t *e)
{
    const agg_floor_t *f = &self->floors[2 * e->group + e->dir];
    return r->pps >= f->pps || r->bps >= f->bps || r->fps >= f->fps;
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

/* The rate the largest record counted whole brought to the window (one
 * flow), over the time the window covers; a host without watch state
 * (none free) says its whole count, the most any record could be. The
 * detector's confidence bound needs it (detect.c). */
static void s_fill_largest(const agg_t *self, const ht_entry_t *e, uint32_t covered,
                           Floodgate__Rates *r)
{
    ht_total_t t = ht_total(e);
    uint64_t p = t.packets, b = t.bytes;
    if (e->watch) {
        const agg_watch_t *w = &self->watches[e->watch - 1];
        p = w->max_p < p ? w->max_p : p;
        b = w->max_b < b ? w->max_b : b;
    }
    floodgate__rates__init(r);
    r->pps = (double)p * 1000.0 / covered;
    r->bps = 8.0 * (double)b * 1000.0 / covered;
    r->fps = t.flows ? 1000.0 / covered : 0;
}

/* Host slot h of the WindowBatch from entry e: its counts over the time
 * they cover, plus its held rates. */
static void s_fill_host(agg_t *self, const ht_entry_t *e, size_t h)
{
    uint32_t covered = agg_covered_ms(self, e);
    agg_out_t *o = &self->out;
    Floodgate__HostWindow *hw = &o->hw[h];
    Floodgate__Rates *r = &o->rates[h * AGG_RATES];
    floodgate__host_window__init(hw);
    hw->addr_hi = e->addr.hi;
    hw->addr_lo = e->addr.lo;
    hw->dir = e->dir ? FLOODGATE__DIRECTION__DIR_OUT : FLOODGATE__DIRECTION__DIR_IN;
    hw->hostgroup = e->group;
    s_total_rates(self, e, &r[0]);
    hw->total = &r[0];
    for (int c = 0; c < HT_CLASSES; c++) {
        const ht_counts_t *k = &e->cls[c];
        const double held[2] = {e->held[c][HT_HELD_PPS], e->held[c][HT_HELD_BPS]};
        s_rates_held(&r[1 + c], k->packets, k->bytes, k->flows, covered, held);
        *fg_class_field(hw, FG_CLS_TCP + c) = &r[1 + c]; /* HT_* follow FG_CLS_TCP */
    }
    s_fill_largest(self, e, covered, &r[FG_CLASSES]);
    hw->largest = &r[FG_CLASSES];
    s_fill_top(self, e, h);
    o->hwp[h] = hw;
}

/* Sum the window's rates into the hostgroup totals (each host's over the
 * time its records cover, so a backlog is not multiplied there either);
 * order the active list so the hosts to publish come first. Returns how
 * many to publish. */
static uint32_t s_sort_active(agg_t *self)
{
    uint32_t n_pub = 0;
    for (uint32_t i = 0; i < self->n_active; i++) {
        ht_entry_t *e = ht_at(self->ht, self->active[i]);
        ht_total_t t = ht_total(e);
        if (t.packets == 0 && t.flows == 0 && e->n_pend == 0)
            continue; /* carried over from the last window, silent since */
        size_t gi = (size_t)e->group * 2 + e->dir;
        Floodgate__Rates r;
        s_total_rates(self, e, &r);
        self->out.grate[gi][0] += r.pps;
        self->out.grate[gi][1] += r.bps;
        self->out.grate[gi][2] += r.fps;
        self->out.ghosts[gi]++;
        if (s_above_floor(self, &r, e)) {
            uint32_t tmp = self->active[n_pub];
            self->active[n_pub++] = self->active[i];
            self->active[i] = tmp;
        }
    }
    return n_pub;
}

static size_t s_fill_groups(agg_t *self)
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
        floodgate__rates__init(&o->grates[n]);
        o->grates[n].pps = o->grate[gi][0];
        o->grates[n].bps = o->grate[gi][1];
        o->grates[n].fps = o->grate[gi][2];
        g->total = &o->grates[n];
        o->gtp[n++] = g;
    }
    return n;
}

/* Pack the message into the reusable buffer (the codec checks it). Returns
 * it, or NULL (out of memory, or the window breaks the codec's limits). */
static const uint8_t *s_pack(agg_t *self, const Floodgate__WindowBatch *wb, size_t *len)
{
    const char *why;
    if (wb_pack(wb, &self->out.msg, &why) < 0)
        return NULL;
    *len = self->out.msg.len;
    return (const uint8_t *)self->out.msg.data;
}

/* Reset the window: counters, group sums, the active list. Watched hosts
 * that were published stay on the list, counters zeroed and contributor
 * weights halved, for one more window: if they fall silent their watch
 * state is released then. Hosts holding spread rates stay on it until
 * their spreads end, hosts with records in this window for one more (so
 * that the next window knows where their records' time left off). A
 * published host without watch state gets it for the next window. */
static void s_window_reset(agg_t *self, uint32_t n_pub)
{
    uint32_t keep = 0;
    for (uint32_t i = 0; i < self->n_active; i++) {
        ht_entry_t *e = ht_at(self->ht, self->active[i]);
        bool timed = e->flags & AGG_F_TIMED;
        ht_reset(e);
        e->flags = timed ? AGG_F_CONT : 0;
        if (i >= n_pub)
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
        if (!e->watch && e->n_pend == 0 && !timed)
            continue;
        e->flags |= AGG_F_ACTIVE;
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
    Floodgate__WindowBatch wb = FLOODGATE__WINDOW_BATCH__INIT;
    wb.shard = self->shard;
    wb.shards = (uint32_t)self->cfg->aggregator.shards;
    wb.seq = ++self->seq;
    wb.window_end_ms = now_ms - now_ms % window_ms;
    wb.window_ms = window_ms;
    wb.hosts_tracked = ht_size(self->ht);
    wb.batches_lost = self->st.batches_lost;

    uint32_t n_pub = s_sort_active(self);
    const uint8_t *out = NULL;
    if (s_out_reserve(&self->out, n_pub) == 0) {
        for (uint32_t i = 0; i < n_pub; i++)
            s_fill_host(self, ht_at(self->ht, self->active[i]), i);
        wb.n_hosts = n_pub;
        wb.hosts = n_pub ? self->out.hwp : NULL;
        wb.n_groups = s_fill_groups(self);
        wb.groups = wb.n_groups ? self->out.gtp : NULL;
        out = s_pack(self, &wb, len);
    }
    if (wb.window_end_ms >= window_ms)
        agg_hold_advance(self, wb.window_end_ms / window_ms - 1);
    s_window_reset(self, n_pub);
    agg_expire(self, now_ms);
    self->st.windows++;
    self->st.last_hosts_published = n_pub;
    self->st.long_flows = lf_size(self->flows);
    self->st.window_us = s_mono_us() - t0;
    return out;
}
