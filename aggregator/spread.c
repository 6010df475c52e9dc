#include "aggregator/spread.h"

#include <stdlib.h>

#define SP_IDX_BITS 27
#define SP_IDX_MASK ((1u << SP_IDX_BITS) - 1)

typedef struct {
    uint32_t idx_cls; /* cls << 27 | entry index */
    uint32_t next;    /* 1 + next event in the bucket or free list, 0 = end */
    float pps, Bps;
} sp_event_t;

struct sp {
    uint32_t *heads; /* per bucket: 1 + first event, 0 = empty */
    uint32_t n_buckets;
    sp_event_t *pool;
    uint32_t max, top, free_head;
    size_t pending;
};

sp_t *sp_new(uint32_t n_buckets, uint32_t max_events)
{
    if (n_buckets < 2 || max_events == 0 || max_events == UINT32_MAX)
        return NULL;
    sp_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->heads = calloc(n_buckets, sizeof(*self->heads));
    self->pool = calloc(max_events, sizeof(*self->pool));
    self->n_buckets = n_buckets;
    self->max = max_events;
    if (!self->heads || !self->pool)
        sp_destroy(&self);
    return self;
}

void sp_destroy(sp_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->heads);
    free((*self_p)->pool);
    free(*self_p);
    *self_p = NULL;
}

int sp_add(sp_t *self, uint64_t due, uint32_t idx, int cls, float pps, float Bps)
{
    if (idx > SP_IDX_MASK || cls < 0 || cls > SP_MAX_CLASS)
        return -1;
    uint32_t ev;
    if (self->free_head) {
        ev = self->free_head - 1;
        self->free_head = self->pool[ev].next;
    } else if (self->top < self->max) {
        ev = self->top++;
    } else {
        return -1;
    }
    uint32_t b = (uint32_t)(due % self->n_buckets);
    sp_event_t *e = &self->pool[ev];
    e->idx_cls = (uint32_t)cls << SP_IDX_BITS | idx;
    e->pps = pps;
    e->Bps = Bps;
    e->next = self->heads[b];
    self->heads[b] = ev + 1;
    self->pending++;
    return 0;
}

size_t sp_fire(sp_t *self, uint64_t id, sp_fire_fn fn, void *arg)
{
    uint32_t b = (uint32_t)(id % self->n_buckets);
    size_t n = 0;
    uint32_t ev = self->heads[b];
    self->heads[b] = 0;
    while (ev) {
        sp_event_t *e = &self->pool[ev - 1];
        uint32_t next = e->next;
        fn(e->idx_cls & SP_IDX_MASK, (int)(e->idx_cls >> SP_IDX_BITS), e->pps, e->Bps, arg);
        e->next = self->free_head;
        self->free_head = ev;
        ev = next;
        n++;
    }
    self->pending -= n;
    return n;
}

uint32_t sp_buckets(const sp_t *self)
{
    return self->n_buckets;
}

size_t sp_pending(const sp_t *self)
{
    return self->pending;
}

size_t sp_room(const sp_t *self)
{
    return self->max - self->pending;
}
