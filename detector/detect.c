#include "common/window.h"
#include "detector/detect.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "detector/attack.h"
#include "detector/carpet.h"
#include "detector/classify.h"

_Static_assert(FG_CLASSES == 7, "atk_state_t.avg has one row per class");

#define DET_SWEEP_MS 1000 /* a sweep of the attack states for expiry takes a second */

/* Latest incoming total of one hostgroup from one shard. */
typedef struct {
    double v[ATK_METRICS];
    uint64_t end_ms; /* window end, 0 = none */
} det_part_t;

/* Network-wide state of one hostgroup (incoming). */
typedef struct {
    uint64_t last_eval_ms; /* window end last evaluated */
    uint64_t last_over_ms; /* attacking: last time above the release level */
    uint32_t over;         /* consecutive evaluations over threshold */
    bool attacking;
    bool calm;             /* last evaluation: every shard fresh, nothing over */
    double v[ATK_METRICS]; /* the sum at the last evaluation */
    double floor[ATK_METRICS]; /* incoming watch floor (carpet_floor) */
    carpet_tally_t tally;  /* network bans of the current (or last) attack */
} det_net_t;

struct det {
    const fg_config_t *cfg;
    det_emit_fn emit;
    void *arg;
    atk_table_t *attacks;
    fg_pbarena_t *arena; /* the WindowBatch being judged (det_ingest) */
    size_t n_attacking;
    det_part_t *parts; /* [group * shards + shard] */
    det_net_t *nets;   /* [group] */
    uint64_t seq[FG_MAX_SHARDS]; /* last WindowBatch seq per shard, 0 = none */
    uint64_t seen_ms[FG_MAX_SHARDS]; /* when its last window arrived, 0 = none */
    uint64_t hosts[FG_MAX_SHARDS];   /* hosts it tracked then */
    uint64_t start_ms;               /* a shard never heard of is missing after a grace */
    uint64_t swept_ms;               /* the expiry sweep's last call (det_tick) */
    det_stats_t st;
    char (*names)[FG_NAME_MAX]; /* [group]: whose network state nets[] holds */
};

/* Each group index's name, so a reload can tell which states to keep. */
static void s_names(det_t *self)
{
    for (int g = 0; g < FG_MAX_GROUPS; g++)
        snprintf(self->names[g], FG_NAME_MAX, "%s", g < self->cfg->n_groups ? self->cfg->groups[g].name : "");
}

/* Each group's incoming watch floor, from its thresholds (carpet_floor). */
static void s_floors(det_t *self)
{
    for (int g = 0; g < self->cfg->n_groups; g++)
        carpet_floor(&self->cfg->groups[g], self->cfg->aggregator.watch_floor,
                     self->nets[g].floor);
}

det_t *det_new(const fg_config_t *cfg, det_emit_fn emit, void *arg)
{
    det_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->emit = emit;
    self->arg = arg;
    size_t ng = FG_MAX_GROUPS; /* a reload may add groups */
    self->attacks = atk_new((uint32_t)cfg->detector.max_hosts);
    self->arena = fg_pbarena_new(1u << 20);
    self->parts = calloc(ng * (size_t)(cfg->aggregator.shards > 0 ? cfg->aggregator.shards : 1),
                         sizeof(*self->parts));
    self->nets = calloc(ng, sizeof(*self->nets));
    self->names = calloc(ng, sizeof(*self->names));
    if (!self->attacks || !self->arena || !self->parts || !self->nets || !self->names) {
        det_destroy(&self);
        return NULL;
    }
    s_names(self);
    s_floors(self);
    return self;
}

void det_destroy(det_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    atk_destroy(&(*self_p)->attacks);
    fg_pbarena_destroy(&(*self_p)->arena);
    free((*self_p)->parts);
    free((*self_p)->nets);
    free((*self_p)->names);
    free(*self_p);
    *self_p = NULL;
}

int det_ingest(det_t *self, const uint8_t *buf, size_t len, int shard, uint64_t now_ms)
{
    const char *why;
    Floodgate__WindowBatch *wb = wb_unpack_in(self->arena, buf, len, &why);
    int rc = 0;
    uint32_t shards = (uint32_t)self->cfg->aggregator.shards;
    if (!wb) {
        self->st.malformed++;
        rc = -1;
    } else if (shard >= 0 && (wb->shard != (uint32_t)shard || wb->shards != shards)) {
        self->st.wrong_shard++;
        rc = -1;
    } else {
        det_window(self, wb, now_ms);
    }
    fg_pbarena_reset(self->arena);
    return rc;
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

static void s_track_seq(det_t *self, const Floodgate__WindowBatch *wb, uint64_t now_ms)
{
    if (!self->start_ms)
        self->start_ms = now_ms;
    uint64_t last = self->seq[wb->shard];
    if (last && wb->seq > last)
        self->st.windows_lost += wb->seq - last - 1;
    else if (last)
        self->st.shard_resets++;
    self->seq[wb->shard] = wb->seq;
    self->seen_ms[wb->shard] = now_ms;
    self->hosts[wb->shard] = wb->hosts_tracked;
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


const char *det_over_any(const fg_thresholds_t th[FG_CLASSES], const double avg[][3],
                         double scale, double *value, double *threshold)
{
    for (int c = 0; c < FG_CLASSES; c++) {
        const double lim[ATK_METRICS] = {th[c].pps, th[c].mbps, th[c].flows};
        for (int m = 0; m < ATK_METRICS; m++) {
            if (lim[m] > 0 && avg[c][m] > lim[m] * scale) {
                *value = avg[c][m];
                *threshold = lim[m];
                return fg_class_metric(c, m);
            }
        }
    }
    return NULL;
}

/* The rates of hw as [class][metric] (pps, mbps, flows). */
static void s_rates_of(const Floodgate__HostWindow *hw, double out[FG_CLASSES][ATK_METRICS])
{
    for (int c = 0; c < FG_CLASSES; c++) {
        const Floodgate__Rates *r = fg_class_rates(hw, c);
        out[c][ATK_PPS] = r ? r->pps : 0;
        out[c][ATK_MBPS] = r ? r->bps / 1e6 : 0;
        out[c][ATK_FLOWS] = r ? r->fps : 0;
    }
}

double det_lower_bound(double rate, double largest, double z)
{
    if (!(rate > 0))
        return 0;
    if (!(largest > 0) || z <= 0)
        return rate; /* held rates only: measured over their whole flow */
    double k = rate / largest;
    double c = 1 - 1 / (9 * k) - z / (3 * sqrt(k));
    return c > 0 ? largest * k * c * c * c : 0;
}

const char *det_over_bound(const fg_thresholds_t th[FG_CLASSES], const double x[][3],
                           const double largest[3], double z, double *value, double *threshold)
{
    for (int c = 0; c < FG_CLASSES; c++) {
        const double lim[ATK_METRICS] = {th[c].pps, th[c].mbps, th[c].flows};
        for (int m = 0; m < ATK_METRICS; m++) {
            if (lim[m] > 0 && x[c][m] > lim[m] &&
                det_lower_bound(x[c][m], largest[m], z) > lim[m]) {
                *value = x[c][m];
                *threshold = lim[m];
                return fg_class_metric(c, m);
            }
        }
    }
    return NULL;
}

/* Exponential average over average_time: each window of length W weighs
 * a = 1 - exp(-W / average_time); windows the host was not published in
 * (below the watch floor, or silent) count as zero. */
static void s_average(atk_state_t *st, const Floodgate__HostWindow *hw, uint64_t end_ms,
                      uint32_t window_ms, double average_time)
{
    double x[FG_CLASSES][ATK_METRICS];
    s_rates_of(hw, x);
    double w = window_ms ? window_ms : 1000;
    double a = average_time > 0 ? 1 - exp(-w / (average_time * 1000)) : 1;
    double keep = 1 - a;
    if (st->last_window_ms && end_ms > st->last_window_ms + (uint64_t)w) {
        double missed = (double)(end_ms - st->last_window_ms) / w - 1;
        keep *= pow(1 - a, missed);
    }
    if (!st->last_window_ms)
        keep = 1 - a; /* first sight: start from zero */
    for (int c = 0; c < FG_CLASSES; c++)
        for (int m = 0; m < ATK_METRICS; m++)
            st->avg[c][m] = st->avg[c][m] * keep + a * x[c][m];
    st->last_window_ms = end_ms;
}

typedef struct {
    const Floodgate__HostWindow *hw;
    const fg_hostgroup_t *group;
    const char *metric;
    double value, threshold;
    bool network; /* over by the hostgroup's network-wide threshold */
    bool blatant; /* the window's lower confidence bound is over: ban now */
    double usual; /* network: the host's usual rate in that metric */
    const prof_t *prof; /* the host's usual traffic, NULL when not tracked */
} det_over_t;

/* A network decision names the prefix around the host that held the
 * attack (pfx: its text, FG_ADDR_STRLEN + 4 bytes), the host's usual rate
 * and the bans of that prefix so far (a BAN counts itself). */
static void s_network_fields(const det_t *self, const det_over_t *o, Floodgate__Action action,
                             Floodgate__Decision *d, char *pfx)
{
    fg_prefix_t p = carpet_prefix(o->group, &(fg_addr_t){o->hw->addr_hi, o->hw->addr_lo});
    const carpet_tally_t *t = &self->nets[o->hw->hostgroup].tally;
    uint32_t n = carpet_tally_get(t, &p);
    d->attack_prefix = fg_prefix_format(&p, pfx);
    d->baseline = o->usual;
    d->prefix_bans = n + (action == FLOODGATE__ACTION__BAN);
}

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
    d.tcp_syn = o->hw->tcp_syn;
    d.frag = o->hw->frag;
    d.enable_ban = o->group->enable_ban;
    prof_msg_t normal;
    if (o->prof && prof_known(o->prof)) {
        prof_fill(o->prof, &normal);
        d.normal = &normal.msg;
    }
    char pfx[FG_ADDR_STRLEN + 4];
    if (o->network)
        s_network_fields(self, o, action, &d, pfx);
    if (self->emit(&d, self->arg) != 0) {
        self->st.dropped++;
        return -1;
    }
    if (action == FLOODGATE__ACTION__BAN && o->network) {
        fg_prefix_t p = carpet_prefix(o->group, &(fg_addr_t){o->hw->addr_hi, o->hw->addr_lo});
        carpet_tally_ban(&self->nets[o->hw->hostgroup].tally, &p);
        self->st.network_bans++;
    }
    if (action == FLOODGATE__ACTION__BAN && o->blatant && !o->network)
        self->st.bans_one_window++;
    if (action == FLOODGATE__ACTION__BAN)
        self->st.bans++;
    else
        self->st.ongoing++;
    return 0;
}

/* The one-window rule: over when the lower confidence bound of this
 * window's rate (z = the hostgroup's confidence, samples from
 * HostWindow.largest) is over a threshold; never without largest (an
 * older aggregator) or with confidence 0. */
static void s_blatant(const Floodgate__HostWindow *hw, const fg_hostgroup_t *g,
                      det_over_t *o)
{
    if (!hw->largest || g->confidence <= 0)
        return;
    double x[FG_CLASSES][ATK_METRICS], v, t;
    s_rates_of(hw, x);
    const double l[ATK_METRICS] = {hw->largest->pps, hw->largest->bps / 1e6, hw->largest->fps};
    const char *m = det_over_bound(g->th[hw->dir], (const double(*)[3])x, l, g->confidence, &v, &t);
    if (!m)
        return;
    o->blatant = true;
    if (!o->metric) {
        o->metric = m;
        o->value = v;
        o->threshold = t;
    }
}

/* Not attacking yet: BAN after consecutive windows over threshold (at once
 * when the window's lower confidence bound is over, or when the
 * hostgroup's network-wide threshold is what is over: it counted its own
 * windows). */
static void s_candidate(det_t *self, atk_state_t *st, const det_over_t *o, uint64_t end_ms,
                        uint64_t now_ms)
{
    st->last_over_ms = now_ms; /* keeps the average alive */
    if (!o->metric) {
        st->over = 0;
        return;
    }
    self->st.over_threshold++;
    if (st->over++ == 0)
        st->first_seen_ms = end_ms;
    if (st->over < (uint32_t)o->group->consecutive && !o->network && !o->blatant)
        return;
    if (s_decide(self, o, FLOODGATE__ACTION__BAN, st->first_seen_ms, now_ms) != 0)
        return; /* not banned: retried with the next window over threshold */
    st->attacking = 1;
    st->last_decision_ms = now_ms;
    self->n_attacking++;
}

/* Attacking: the attack goes on while the average stays above hysteresis x
 * threshold (so a rate hovering around the threshold does not flap), with
 * an ONGOING at most once per ongoing_interval. */
static void s_ongoing(det_t *self, atk_state_t *st, det_over_t *o, const double (*avg)[3],
                      uint64_t now_ms)
{
    if (!o->metric)
        o->metric = det_over_any(o->group->th[o->hw->dir], avg, o->group->hysteresis, &o->value,
                                 &o->threshold);
    if (!o->metric)
        return;
    self->st.over_threshold++;
    st->last_over_ms = now_ms;
    if (now_ms < st->last_decision_ms ||
        now_ms - st->last_decision_ms < (uint64_t)self->cfg->detector.ongoing_interval * 1000)
        return;
    if (s_decide(self, o, FLOODGATE__ACTION__ONGOING, st->first_seen_ms, now_ms) == 0)
        st->last_decision_ms = now_ms;
}

/* True when any enabled floor of f is reached by the host's average. */
static bool s_above_floor(const fg_thresholds_t *f, const double (*avg)[3])
{
    return (f->pps > 0 && avg[FG_CLS_TOTAL][ATK_PPS] >= f->pps) ||
           (f->mbps > 0 && avg[FG_CLS_TOTAL][ATK_MBPS] >= f->mbps) ||
           (f->flows > 0 && avg[FG_CLS_TOTAL][ATK_FLOWS] >= f->flows);
}

/* A host in a hostgroup under a network-wide attack, above the floor, is
 * over when it carries the increase: its rate rose to network_rise x its
 * usual rate in a metric over the network threshold. One at its usual rate
 * is spared (counted). */
static void s_network_over(det_t *self, const atk_state_t *st, det_over_t *o,
                           const double (*avg)[3])
{
    const det_net_t *n = &self->nets[o->hw->hostgroup];
    if (o->metric || o->hw->dir != FLOODGATE__DIRECTION__DIR_IN || !n->attacking ||
        !s_above_floor(&o->group->net_floor, avg))
        return;
    const double lim[ATK_METRICS] = {o->group->net.pps, o->group->net.mbps, o->group->net.flows};
    static const char *names[ATK_METRICS] = {"network_pps", "network_mbps", "network_flows"};
    for (int m = 0; m < ATK_METRICS; m++)
        if (lim[m] > 0 && n->v[m] > lim[m] * o->group->hysteresis &&
            carpet_risen(st, avg[FG_CLS_TOTAL][m], m, o->group->net_rise, n->floor, &o->usual)) {
            o->metric = names[m];
            o->value = n->v[m];
            o->threshold = lim[m];
            o->network = true;
            return;
        }
    self->st.network_spared++;
}

/* Update the host's baseline (carpet.h) in a group with a network
 * threshold. */
static void s_learn(det_t *self, atk_state_t *st, const Floodgate__HostWindow *hw,
                    uint32_t window_ms)
{
    const fg_hostgroup_t *hg = &self->cfg->groups[hw->hostgroup];
    if (hg->net.pps <= 0 && hg->net.mbps <= 0 && hg->net.flows <= 0)
        return;
    const det_net_t *n = &self->nets[hw->hostgroup];
    const double x[ATK_METRICS] = {hw->total ? hw->total->pps : 0,
                                   hw->total ? hw->total->bps / 1e6 : 0,
                                   hw->total ? hw->total->fps : 0};
    carpet_learn(st, x, n->calm && !st->attacking, window_ms, hg->net_baseline_time);
}

/* Learn the host's usual breakdown (profile.h) from a calm window: its
 * average over no threshold, its own rates under hysteresis x every
 * threshold (an attack's first windows, before the average crosses, are
 * not usual), not under attack, its group (incoming, with a network
 * threshold) calm. */
static void s_profile(const det_t *self, atk_state_t *st, const det_over_t *o,
                      uint32_t window_ms)
{
    if (o->metric || st->attacking || st->over)
        return;
    const fg_hostgroup_t *hg = o->group;
    bool net = hg->net.pps > 0 || hg->net.mbps > 0 || hg->net.flows > 0;
    if (net && o->hw->dir == FLOODGATE__DIRECTION__DIR_IN &&
        (o->hw->hostgroup >= (uint32_t)self->cfg->n_groups ||
         !self->nets[o->hw->hostgroup].calm))
        return;
    double x[FG_CLASSES][ATK_METRICS], v, t;
    s_rates_of(o->hw, x);
    if (det_over_any(hg->th[o->hw->dir], (const double(*)[3])x, hg->hysteresis, &v, &t))
        return;
    prof_learn(&st->prof, o->hw, window_ms, hg->net_baseline_time);
}

/* The state of a host whose window has rate pps. When the table is full, a
 * new host takes the slot of a quieter one that is not under attack (its
 * average and baseline are lost: it comes back as a new host), so spoofed
 * hosts that fill the table cannot keep a flood from being seen. */
static atk_state_t *s_state(det_t *self, const fg_addr_t *addr, uint8_t dir, double pps)
{
    atk_state_t *st = atk_find(self->attacks, addr, dir);
    if (st || (st = atk_insert(self->attacks, addr, dir)))
        return st;
    if (atk_evict(self->attacks, pps) == 0 && (st = atk_insert(self->attacks, addr, dir))) {
        self->st.evicted++;
        return st;
    }
    self->st.attacks_full++;
    return NULL;
}

static void s_host(det_t *self, const Floodgate__HostWindow *hw, uint64_t end_ms,
                   uint32_t window_ms, uint64_t now_ms)
{
    if (hw->dir != FLOODGATE__DIRECTION__DIR_IN && hw->dir != FLOODGATE__DIRECTION__DIR_OUT)
        return;
    if (hw->dir == FLOODGATE__DIRECTION__DIR_OUT)
        self->st.hosts_out++;
    self->st.hosts_evaluated++;
    fg_addr_t addr = {hw->addr_hi, hw->addr_lo};
    det_over_t o = {hw, s_group(self, hw, &addr), NULL, 0, 0, false, false, 0, NULL};
    if (!o.group) {
        self->st.unmonitored++;
        return;
    }
    if (fg_config_whitelisted(self->cfg, &addr)) {
        self->st.whitelisted++;
        return;
    }
    atk_state_t *st = s_state(self, &addr, (uint8_t)hw->dir, hw->total ? hw->total->pps : 0);
    if (!st)
        return;
    /* consecutive means consecutive: a window the host was not published
     * in (under the watch floor) breaks the count */
    if (!st->last_window_ms || end_ms > st->last_window_ms + (window_ms ? window_ms : 1000))
        st->over = 0;
    s_average(st, hw, end_ms, window_ms, o.group->average_time);
    const double(*avg)[3] = (const double(*)[3])st->avg;
    o.metric = det_over_any(o.group->th[hw->dir], avg, 1.0, &o.value, &o.threshold);
    if (hw->hostgroup < (uint32_t)self->cfg->n_groups &&
        o.group == &self->cfg->groups[hw->hostgroup] && hw->dir == FLOODGATE__DIRECTION__DIR_IN) {
        s_learn(self, st, hw, window_ms);
        s_network_over(self, st, &o, avg);
    }
    o.prof = &st->prof;
    s_profile(self, st, &o, window_ms);
    if (st->attacking) {
        s_ongoing(self, st, &o, avg, now_ms);
        return;
    }
    s_blatant(hw, o.group, &o);
    s_candidate(self, st, &o, end_ms, now_ms);
}

/* ---- network-wide thresholds (carpet bombing) ---------------------------- */

static void s_net_store(det_t *self, const Floodgate__WindowBatch *wb)
{
    uint32_t shards = (uint32_t)self->cfg->aggregator.shards;
    if (wb->shard >= shards)
        return;
    for (size_t i = 0; i < wb->n_groups; i++) {
        const Floodgate__GroupTotal *g = wb->groups[i];
        if (!g || !g->total || g->dir != FLOODGATE__DIRECTION__DIR_IN ||
            g->hostgroup >= (uint32_t)self->cfg->n_groups)
            continue;
        det_part_t *p = &self->parts[(size_t)g->hostgroup * shards + wb->shard];
        p->v[ATK_PPS] = g->total->pps;
        p->v[ATK_MBPS] = g->total->bps / 1e6;
        p->v[ATK_FLOWS] = g->total->fps;
        p->end_ms = wb->window_end_ms;
    }
}

/* Sum the shards' latest totals of group g (those no older than two
 * windows) and update its network-wide attack state. */
static void s_net_eval(det_t *self, uint32_t g, uint64_t end_ms, uint32_t window_ms,
                       uint64_t now_ms)
{
    const fg_hostgroup_t *hg = &self->cfg->groups[g];
    det_net_t *n = &self->nets[g];
    const double lim[ATK_METRICS] = {hg->net.pps, hg->net.mbps, hg->net.flows};
    if ((lim[0] <= 0 && lim[1] <= 0 && lim[2] <= 0) || end_ms <= n->last_eval_ms)
        return;
    n->last_eval_ms = end_ms;
    uint32_t shards = (uint32_t)self->cfg->aggregator.shards;
    memset(n->v, 0, sizeof(n->v));
    uint32_t fresh = 0;
    for (uint32_t s = 0; s < shards; s++) {
        const det_part_t *p = &self->parts[(size_t)g * shards + s];
        if (p->end_ms && p->end_ms + 2ULL * window_ms >= end_ms) {
            fresh++;
            for (int m = 0; m < ATK_METRICS; m++)
                n->v[m] += p->v[m];
        }
    }
    bool over = false, on = false;
    for (int m = 0; m < ATK_METRICS; m++) {
        over |= lim[m] > 0 && n->v[m] > lim[m];
        on |= lim[m] > 0 && n->v[m] > lim[m] * hg->hysteresis;
    }
    n->over = over ? n->over + 1 : 0;
    if (!n->attacking && n->over >= (uint32_t)hg->consecutive) {
        n->attacking = true;
        carpet_tally_reset(&n->tally);
        self->st.network_attacks++;
    }
    n->calm = fresh == shards && !over && !n->attacking;
    if (n->attacking && on)
        n->last_over_ms = now_ms;
}

static void s_net_window(det_t *self, const Floodgate__WindowBatch *wb, uint64_t now_ms)
{
    s_net_store(self, wb);
    for (size_t i = 0; i < wb->n_groups; i++)
        if (wb->groups[i] && wb->groups[i]->hostgroup < (uint32_t)self->cfg->n_groups)
            s_net_eval(self, wb->groups[i]->hostgroup, wb->window_end_ms, wb->window_ms,
                       now_ms);
}

void det_window(det_t *self, const Floodgate__WindowBatch *wb, uint64_t now_ms)
{
    self->st.windows++;
    if (wb->shard >= (uint32_t)self->cfg->aggregator.shards || wb->shard >= FG_MAX_SHARDS) {
        self->st.bad_shard++; /* no shard of this config: refused */
        return;
    }
    s_track_seq(self, wb, now_ms);
    s_net_window(self, wb, now_ms);
    for (size_t i = 0; i < wb->n_hosts; i++)
        if (wb->hosts[i])
            s_host(self, wb->hosts[i], wb->window_end_ms, wb->window_ms, now_ms);
    det_tick(self, now_ms);
}

void det_tick(det_t *self, uint64_t now_ms)
{
    size_t ended = 0;
    if (!self->start_ms)
        self->start_ms = now_ms; /* shards never heard of are missing after a grace */
    /* the states expire in a sweep of the whole table a second, spread
     * over the calls (one per window of every shard, one per poll): a full
     * scan each time made the cost (states x shards x windows) grow with
     * hosts sprayed above the watch floor */
    uint64_t el = !self->swept_ms               ? DET_SWEEP_MS
                  : now_ms > self->swept_ms ? now_ms - self->swept_ms
                                            : 0;
    size_t slots = atk_slots(self->attacks);
    size_t budget = el >= DET_SWEEP_MS ? slots : (size_t)(slots * el / DET_SWEEP_MS) + 64;
    if (el > 0)
        self->swept_ms = now_ms;
    atk_expire(self->attacks, now_ms, (uint64_t)self->cfg->detector.attack_end * 1000, budget,
               &ended);
    self->st.attacks_ended += ended;
    self->n_attacking -= ended < self->n_attacking ? ended : self->n_attacking;
    uint64_t end_ms = (uint64_t)self->cfg->detector.attack_end * 1000;
    for (int g = 0; g < self->cfg->n_groups; g++) {
        det_net_t *n = &self->nets[g];
        if (n->attacking && now_ms >= n->last_over_ms && now_ms - n->last_over_ms >= end_ms) {
            n->attacking = false;
            n->over = 0;
        }
    }
}

bool det_network_attack(const det_t *self, int group, double *value)
{
    if (group < 0 || group >= self->cfg->n_groups || !self->nets[group].attacking)
        return false;
    if (value)
        *value = self->nets[group].v[ATK_PPS];
    return true;
}

const det_stats_t *det_stats(const det_t *self)
{
    return &self->st;
}

bool det_host_average(det_t *self, const fg_addr_t *addr, int dir, int cls, int metric,
                      double *value)
{
    if (dir < 0 || dir > 1 || cls < 0 || cls >= FG_CLASSES || metric < 0 ||
        metric >= ATK_METRICS)
        return false;
    const atk_state_t *st = atk_find(self->attacks, addr, (uint8_t)dir);
    if (!st)
        return false;
    *value = st->avg[cls][metric];
    return true;
}

size_t det_attacks(const det_t *self)
{
    return self->n_attacking;
}

int det_shard_silent(const det_t *self, uint64_t now_ms, det_shard_t *out)
{
    int shards = self->cfg->aggregator.shards, silent = 0;
    uint64_t max_ms = (uint64_t)self->cfg->aggregator.tick_ms * 3, all = 0;
    if (max_ms < DET_SHARD_SILENT_MS)
        max_ms = DET_SHARD_SILENT_MS;
    for (int i = 0; i < shards && i < FG_MAX_SHARDS; i++)
        all += self->hosts[i];
    for (int i = 0; i < shards && i < FG_MAX_SHARDS; i++) {
        det_shard_t *d = &out[i];
        d->age_ms = self->seen_ms[i] ? now_ms - self->seen_ms[i] : UINT64_MAX;
        d->hosts = self->hosts[i];
        d->share = all ? (double)self->hosts[i] / (double)all : 1.0 / shards;
        d->silent = self->seen_ms[i] ? now_ms > self->seen_ms[i] && d->age_ms > max_ms
                                     : self->start_ms &&
                                           now_ms > self->start_ms + max_ms + DET_SHARD_GRACE_MS;
        silent += d->silent;
    }
    return silent;
}

int det_shards_seen(const det_t *self)
{
    int n = 0;
    for (int i = 0; i < self->cfg->aggregator.shards && i < FG_MAX_SHARDS; i++)
        n += self->seq[i] != 0; /* shards number their windows from 1 */
    return n;
}

void det_format_stats(const det_t *self, char *buf, size_t len)
{
    const det_stats_t *s = &self->st;
    snprintf(buf, len,
             "windows=%" PRIu64 " windows_lost=%" PRIu64 " malformed=%" PRIu64
             " shard_resets=%" PRIu64 " bad_shard=%" PRIu64 " hosts_evaluated=%" PRIu64
             " hosts_out=%" PRIu64 " unmonitored=%" PRIu64 " whitelisted=%" PRIu64
             " over_threshold=%" PRIu64 " bans=%" PRIu64 " bans_one_window=%" PRIu64
             " ongoing=%" PRIu64
             " dropped=%" PRIu64 " attacks_full=%" PRIu64 " attacks_ended=%" PRIu64
             " attacks_active=%zu hosts_averaged=%zu network_attacks=%" PRIu64
             " network_bans=%" PRIu64 " network_spared=%" PRIu64 " evicted=%" PRIu64,
             s->windows, s->windows_lost, s->malformed, s->shard_resets, s->bad_shard,
             s->hosts_evaluated, s->hosts_out, s->unmonitored, s->whitelisted,
             s->over_threshold, s->bans, s->bans_one_window, s->ongoing, s->dropped, s->attacks_full,
             s->attacks_ended, self->n_attacking, atk_size(self->attacks), s->network_attacks,
             s->network_bans, s->network_spared, s->evicted);
}

const carpet_tally_t *det_network_tally(const det_t *self, int group)
{
    if (group < 0 || group >= self->cfg->n_groups)
        return NULL;
    return &self->nets[group].tally;
}

void det_reload(det_t *self)
{
    size_t shards = (size_t)self->cfg->aggregator.shards;
    for (int g = 0; g < FG_MAX_GROUPS; g++) {
        const char *now = g < self->cfg->n_groups ? self->cfg->groups[g].name : "";
        if (strcmp(now, self->names[g]) == 0)
            continue;
        memset(&self->nets[g], 0, sizeof(self->nets[g]));
        memset(&self->parts[(size_t)g * shards], 0, shards * sizeof(*self->parts));
    }
    s_names(self);
    s_floors(self);
}
