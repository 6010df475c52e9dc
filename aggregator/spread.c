#include "aggregator/spread.h"

#include <stdlib.h>

typedef struct {
    uint32_t id;
    uint32_t next; /* 1 + next event in the bucket or free list, 0 = end */
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

int sp_add(sp_t *self, uint64_t due, uint32_t id)
{
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
    self->pool[ev].id = id;
    self->pool[ev].next = self->heads[b];
    self->heads[b] = ev + 1;
    self->pending++;
    return 0;
}

size_t sp_fire(sp_t *self, uint64_t due, sp_fire_fn fn, void *arg)
{
    uint32_t b = (uint32_t)(due % self->n_buckets);
    size_t n = 0;
    uint32_t ev = self->heads[b];
    self->heads[b] = 0;
    while (ev) {
        sp_event_t *e = &self->pool[ev - 1];
        uint32_t next = e->next, id = e->id;
        e->next = self->free_head;
        self->free_head = ev;
        self->pending--;
        fn(id, due, arg); /* may schedule again: the event is free already */
        ev = next;
        n++;
    }
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
