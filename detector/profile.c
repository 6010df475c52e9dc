/* A host's usual traffic breakdown (see profile.h). */
#include "detector/profile.h"

#include <math.h>
#include <string.h>

#include "common/classes.h"

#define PROF_WIN_MAX 64 /* window contributors taken (a WindowBatch has 4 x 8) */

typedef struct {
    uint64_t key;
    double share;
    uint8_t kind;
} prof_item_t;

/* A contributor as (kind, key); false for one the profile does not keep
 * (exporter, bad port or protocol). Source addresses by /24 or /48. */
static bool s_item(const Floodgate__Contributor *c, prof_item_t *out)
{
    out->share = c->share;
    switch (c->kind) {
    case FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT:
    case FLOODGATE__CONTRIB_KIND__CONTRIB_DST_PORT:
        out->kind = c->kind == FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT ? PROF_SPORT : PROF_DPORT;
        out->key = c->key_lo;
        return c->key_hi == 0 && c->key_lo <= 0xffff;
    case FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO:
        out->kind = PROF_PROTO;
        out->key = c->key_lo;
        return c->key_hi == 0 && c->key_lo <= 255;
    case FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR:
        if (c->key_hi == 0 && (c->key_lo >> 32) == 0xffff) {
            out->kind = PROF_SRC4;
            out->key = c->key_lo & ~0xffull;
        } else {
            out->kind = PROF_SRC6;
            out->key = c->key_hi & ~0xffffull;
        }
        return true;
    default: return false;
    }
}

/* The window's contributors, sources of one prefix summed. Returns the
 * count. */
static int s_window(const Floodgate__HostWindow *hw, prof_item_t *out)
{
    int n = 0;
    for (size_t i = 0; i < hw->n_top && n < PROF_WIN_MAX; i++) {
        prof_item_t it;
        if (!hw->top[i] || !s_item(hw->top[i], &it) || !isfinite(it.share) || it.share <= 0)
            continue;
        int k = n; /* a shard lists a port or protocol once: only sources share a /24 */
        if (it.kind == PROF_SRC4 || it.kind == PROF_SRC6)
            for (k = 0; k < n && !(out[k].kind == it.kind && out[k].key == it.key); k++)
                ;
        if (k == n)
            out[n++] = it;
        else
            out[k].share += it.share;
    }
    return n;
}

/* Add weight w of one window item: to its slot, an empty one, or in place
 * of the lightest when it weighs more. */
static void s_add(prof_t *p, const prof_item_t *it, float w)
{
    int light = 0;
    for (int i = 0; i < PROF_ITEMS; i++) {
        if (p->kind[i] == it->kind && p->key[i] == it->key) {
            p->share[i] = fminf(p->share[i] + w, 1);
            return;
        }
        if (!p->kind[i] || (p->kind[light] && p->share[i] < p->share[light]))
            light = i;
    }
    if (p->kind[light] && p->share[light] >= w)
        return;
    p->kind[light] = it->kind;
    p->key[light] = it->key;
    p->share[light] = fminf(w, 1);
}

void prof_learn(prof_t *p, const Floodgate__HostWindow *hw, uint32_t window_ms,
                double baseline_time)
{
    double total = hw->total ? hw->total->pps : 0;
    if (!isfinite(total) || total <= 0)
        return;
    double w = window_ms ? window_ms : 1000;
    double a = baseline_time > 0 ? 1 - exp(-w / (baseline_time * 1000)) : 1;
    a = fmax(a, 1.0 / (p->windows + 1.0)); /* the mean of the first windows */
    float keep = (float)(1 - a);
    for (int i = 0; i < PROF_ITEMS; i++)
        p->share[i] *= keep;
    prof_item_t win[PROF_WIN_MAX];
    int n = s_window(hw, win);
    for (int i = 0; i < n; i++)
        s_add(p, &win[i], (float)(a * fmin(win[i].share, 1)));
    for (int i = 0; i < PROF_ITEMS; i++)
        if (p->share[i] < 1e-4f)
            p->kind[i] = 0, p->share[i] = 0;
    for (int c = 0; c < PROF_CLASSES; c++) {
        const Floodgate__Rates *r = fg_class_rates(hw, FG_CLS_TCP + c);
        double s = r && isfinite(r->pps) && r->pps > 0 ? fmin(r->pps / total, 1) : 0;
        p->cls[c] = (float)(p->cls[c] * keep + a * s);
    }
    p->pps = (float)(p->pps * keep + a * total);
    if (p->windows < UINT16_MAX)
        p->windows++;
}

bool prof_known(const prof_t *p)
{
    return p->windows >= PROF_MIN_WINDOWS;
}

void prof_fill(const prof_t *p, prof_msg_t *out)
{
    static const Floodgate__ContribKind kinds[] = {
        [PROF_SPORT] = FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT,
        [PROF_DPORT] = FLOODGATE__CONTRIB_KIND__CONTRIB_DST_PORT,
        [PROF_PROTO] = FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO,
        [PROF_SRC4] = FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR,
        [PROF_SRC6] = FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR};
    floodgate__profile__init(&out->msg);
    out->msg.windows = p->windows;
    out->msg.pps = p->pps;
    out->cls[FG_CLS_TOTAL] = 1;
    for (int c = 0; c < PROF_CLASSES; c++)
        out->cls[FG_CLS_TCP + c] = fmin(fmax(p->cls[c], 0), 1);
    out->msg.n_class_share = PROF_CLASSES + 1;
    out->msg.class_share = out->cls;
    size_t n = 0;
    for (int i = 0; i < PROF_ITEMS; i++) {
        if (!p->kind[i] || p->kind[i] > PROF_SRC6)
            continue;
        Floodgate__Contributor *c = &out->item[n];
        floodgate__contributor__init(c);
        c->kind = kinds[p->kind[i]];
        c->key_hi = p->kind[i] == PROF_SRC6 ? p->key[i] : 0;
        c->key_lo = p->kind[i] == PROF_SRC6 ? 0 : p->key[i];
        c->share = fmin(fmax(p->share[i], 0), 1);
        out->ptr[n++] = c;
    }
    out->msg.n_top = n;
    out->msg.top = out->ptr;
}
