#include "detector/carpet.h"

#include <math.h>
#include <string.h>

#include "common/flow.h"

/* atk_state_t.based: 0 none; 1 learnt; 2 + k provisional, k calm windows
 * seen in a row (the mean of their rates in base); CARPET_PENDING set when
 * pend holds a calm window's rates not learnt yet. */
enum { CARPET_LEARNT = 1, CARPET_PROVISIONAL = 2, CARPET_PENDING = 0x80 };

/* A float baseline of a steady rate may end a hair above it. */
#define CARPET_ROUNDING 1e-6

static double s_metric(const fg_thresholds_t *t, int m)
{
    return m == ATK_PPS ? t->pps : m == ATK_MBPS ? t->mbps : t->flows;
}

void carpet_floor(const fg_hostgroup_t *hg, double watch_floor, double out[ATK_METRICS])
{
    bool net = hg->net.pps > 0 || hg->net.mbps > 0 || hg->net.flows > 0;
    for (int m = 0; m < ATK_METRICS; m++) {
        double low = 0;
        for (int c = 0; c < FG_CLASSES; c++) {
            double t = s_metric(&hg->th[FG_DIR_IN][c], m);
            if (t > 0 && (low <= 0 || t < low))
                low = t;
        }
        double f = low > 0 ? watch_floor * low : INFINITY;
        double nf = s_metric(&hg->net_floor, m);
        if (net && nf > 0)
            f = fmin(f, nf);
        out[m] = isinf(f) ? 0 : f;
    }
}

/* A new host: its rate counts as usual only after CARPET_SETTLE calm
 * windows in a row, since the windows that start an attack may still look
 * calm (the other shards' totals arrive a window later, the group's sum
 * lags). Until then its usual rate is the floor. */
static void s_provisional(atk_state_t *st, const float x[ATK_METRICS], bool calm)
{
    unsigned k = st->based ? st->based - CARPET_PROVISIONAL : 0;
    if (!calm)
        k = 0;
    for (int m = 0; m < ATK_METRICS; m++)
        st->base[m] = calm ? st->base[m] * ((float)k / (float)(k + 1)) + x[m] / (float)(k + 1)
                           : 0;
    k += calm;
    st->based = k >= CARPET_SETTLE ? CARPET_LEARNT : (uint8_t)(CARPET_PROVISIONAL + k);
}

/* Learn one calm window's rates x. */
static void s_commit(atk_state_t *st, const float x[ATK_METRICS], uint32_t window_ms,
                     double baseline_time)
{
    if (st->based != CARPET_LEARNT) {
        s_provisional(st, x, true);
        return;
    }
    /* windows the host was not published in do not count: its rate then is
     * unknown (below the floor), and a host near the floor would otherwise
     * learn a usual rate below what it usually sends */
    double w = window_ms ? window_ms : 1000;
    double a = baseline_time > 0 ? 1 - exp(-w / (baseline_time * 1000)) : 1;
    for (int m = 0; m < ATK_METRICS; m++)
        st->base[m] += (float)(a * (x[m] - st->base[m]));
}

/* A calm window is learnt only once the next one is calm too: the window
 * that starts an attack may look calm (the group's sum lags a window behind
 * the hosts), and must not count. */
void carpet_learn(atk_state_t *st, const double x[ATK_METRICS], bool calm, uint32_t window_ms,
                  double baseline_time)
{
    bool pending = st->based & CARPET_PENDING;
    st->based &= (uint8_t)~CARPET_PENDING;
    if (!calm) { /* frozen: an attack must not become the usual rate */
        if (st->based != CARPET_LEARNT)
            s_provisional(st, NULL, false);
        return;
    }
    if (pending)
        s_commit(st, st->pend, window_ms, baseline_time);
    for (int m = 0; m < ATK_METRICS; m++)
        st->pend[m] = (float)x[m];
    st->based |= CARPET_PENDING;
}

bool carpet_risen(const atk_state_t *st, double avg, int m, double rise,
                  const double floor[ATK_METRICS], double *usual)
{
    bool learnt = (st->based & (uint8_t)~CARPET_PENDING) == CARPET_LEARNT;
    double u = learnt ? fmax(st->base[m], floor[m]) : floor[m];
    *usual = u;
    if (rise <= 0)
        return true;
    return avg > 0 && avg >= rise * u * (1 - CARPET_ROUNDING);
}

fg_prefix_t carpet_prefix(const fg_hostgroup_t *hg, const fg_addr_t *addr)
{
    fg_prefix_t p;
    p.len = (uint8_t)(fg_addr_is_v4(addr) ? 96 + hg->net_prefix_v4 : hg->net_prefix_v6);
    p.addr = fg_addr_mask(addr, p.len);
    return p;
}

void carpet_tally_reset(carpet_tally_t *t)
{
    memset(t, 0, sizeof(*t));
}

static carpet_prefix_t *s_find(const carpet_tally_t *t, const fg_prefix_t *p)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->top[i].prefix.len == p->len && fg_addr_eq(&t->top[i].prefix.addr, &p->addr))
            return (carpet_prefix_t *)&t->top[i];
    return NULL;
}

uint32_t carpet_tally_ban(carpet_tally_t *t, const fg_prefix_t *p)
{
    t->bans++;
    carpet_prefix_t *e = s_find(t, p);
    if (!e && t->n < CARPET_PREFIXES) {
        e = &t->top[t->n++];
        e->prefix = *p;
        e->bans = 0;
    }
    if (!e) {
        t->other++;
        return 0;
    }
    return ++e->bans;
}

uint32_t carpet_tally_get(const carpet_tally_t *t, const fg_prefix_t *p)
{
    const carpet_prefix_t *e = s_find(t, p);
    return e ? e->bans : 0;
}

const carpet_prefix_t *carpet_tally_top(const carpet_tally_t *t)
{
    const carpet_prefix_t *best = NULL;
    for (size_t i = 0; i < t->n; i++)
        if (!best || t->top[i].bans > best->bans)
            best = &t->top[i];
    return best;
}
