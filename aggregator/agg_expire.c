/* agg_expire: hosts forgotten when idle, and room made for a new host
 * when the table is full. */
#include "aggregator/agg_int.h"

#define AGG_EVICT_BUDGET 64 /* entries visited for a victim per new host */

/* ht_expire_fn: keep hosts still on the active list or holding long
 * records' rates (off the list while under their floor and silent), else
 * let go. */
static int s_expire_cb(ht_entry_t *e, void *arg)
{
    agg_t *self = arg;
    if ((e->flags & AGG_F_ACTIVE) || agg_holding(self, e))
        return 1;
    agg_watch_stop(self, e);
    self->st.hosts_removed++;
    return 0;
}

/* Forget idle hosts, a slice per window so that every entry position is
 * visited about once per host_idle. */
void agg_expire(agg_t *self, uint64_t now_ms)
{
    uint64_t ticks =
        (uint64_t)self->cfg->aggregator.host_idle * 1000 / (uint64_t)self->cfg->aggregator.tick_ms;
    size_t budget = ht_max(self->ht) / (ticks ? ticks : 1) + 64;
    ht_expire(self->ht, (uint32_t)now_ms, (uint32_t)self->cfg->aggregator.host_idle * 1000u, budget,
              s_expire_cb, self);
}

/* The choice of a host to evict: the first idle one (not on the active
 * list: no records in this window or the last, no held rate, not watched)
 * or else the active one with the fewest packets this window among those
 * neither watched (above the floor) nor holding long-flow rates. */
typedef struct {
    agg_t *agg;
    int64_t low; /* index of the lowest-rate active candidate, -1 = none */
    uint64_t low_pkts;
} agg_victim_t;

/* ht_expire_fn for eviction: 0 for an idle host (taken); notes the
 * lowest-rate unprotected active one and keeps looking. */
static int s_victim_cb(ht_entry_t *e, void *arg)
{
    agg_victim_t *v = arg;
    if (agg_holding(v->agg, e))
        return 1;
    if (!(e->flags & AGG_F_ACTIVE))
        return 0;
    if (e->watch)
        return 1;
    uint64_t p = ht_total(e).packets;
    if (v->low < 0 || p < v->low_pkts) {
        v->low = ht_index(v->agg->ht, e);
        v->low_pkts = p;
    }
    return 1;
}

int agg_make_room(agg_t *self, bool *reuse_active)
{
    *reuse_active = false;
    if (ht_size(self->ht) < ht_max(self->ht))
        return 0;
    agg_victim_t v = {self, -1, 0};
    int64_t i = ht_victim(self->ht, AGG_EVICT_BUDGET, s_victim_cb, &v);
    if (i < 0 && v.low >= 0) {
        i = v.low; /* its place on the active list goes to the new host */
        *reuse_active = true;
    }
    if (i < 0)
        return -1;
    ht_remove(self->ht, (uint32_t)i);
    self->st.hosts_evicted++;
    return 0;
}
