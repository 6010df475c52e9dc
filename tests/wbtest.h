/* wbtest: a WindowBatch struct written through common/wbwrite.h, for the
 * tests that compare the writer with protobuf-c (tests/test_wbwrite.c,
 * tests/fuzz/fuzz_window.c, tests/fuzz/fuzz_wbwrite.c). The hosts' NULL
 * entries, which the writer cannot be given, are not handled. */
#ifndef FG_WBTEST_H
#define FG_WBTEST_H

#include <stdlib.h>

#include "common/classes.h"
#include "common/wbwrite.h"

static inline void wbt_rates(ww_rates_t *to, const ww_rates_t **field, const Floodgate__Rates *r)
{
    *field = NULL;
    if (r) {
        *to = (ww_rates_t){r->pps, r->bps, r->fps};
        *field = to;
    }
}

/* Write wb with the writer into out: ww_finish's result. */
static inline int wbt_write(const Floodgate__WindowBatch *wb, fg_buf_t *out, const char **why)
{
    ww_t w;
    ww_header_t hd = {wb->shard,     wb->shards,        wb->seq,         wb->window_end_ms,
                      wb->window_ms, wb->hosts_tracked, wb->batches_lost};
    ww_begin(&w, out, &hd);
    for (size_t i = 0; i < wb->n_hosts; i++) {
        const Floodgate__HostWindow *hw = wb->hosts[i];
        ww_rates_t r[FG_CLASSES + 1];
        ww_host_t h = {hw->addr_hi, hw->addr_lo, (int)hw->dir, hw->hostgroup,
                       {NULL},      NULL,        NULL,         hw->n_top};
        for (int c = 0; c < FG_CLASSES; c++)
            wbt_rates(&r[c], &h.rates[c], fg_class_rates(hw, c));
        wbt_rates(&r[FG_CLASSES], &h.largest, hw->largest);
        ww_contrib_t *top = calloc(hw->n_top + 1, sizeof(*top));
        for (size_t k = 0; top && k < hw->n_top; k++) {
            const Floodgate__Contributor *c = hw->top[k];
            top[k] = (ww_contrib_t){(int)c->kind, c->key_hi,  c->key_lo,
                                    c->share,     c->packets, c->sampling};
        }
        h.top = top;
        h.n_top = top ? hw->n_top : 0;
        ww_host(&w, &h);
        free(top);
    }
    for (size_t i = 0; i < wb->n_groups; i++) {
        const Floodgate__GroupTotal *gt = wb->groups[i];
        ww_rates_t r;
        ww_group_t g = {gt->hostgroup, (int)gt->dir, NULL, gt->hosts};
        wbt_rates(&r, &g.total, gt->total);
        ww_group(&w, &g);
    }
    return ww_finish(&w, why);
}

#endif
