#include "collector/exporters.h"

#include <stdlib.h>

struct exp_table {
    exp_entry_t *slots;
    size_t cap; /* power of two, at least 4/3 of max */
    size_t max;
    size_t n;
};

exp_table_t *exp_table_new(size_t max)
{
    exp_table_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->max = max ? max : 1;
    self->cap = 2;
    while (self->cap < self->max + self->max / 3 + 1)
        self->cap *= 2;
    self->slots = calloc(self->cap, sizeof(exp_entry_t));
    if (!self->slots)
        exp_table_destroy(&self);
    return self;
}

void exp_table_destroy(exp_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

exp_entry_t *exp_get(exp_table_t *self, const fg_addr_t *addr, uint8_t proto, uint32_t domain)
{
    fg_addr_t k = {addr->hi ^ ((uint64_t)proto << 32 | domain), addr->lo};
    size_t i = fg_addr_hash(&k) & (self->cap - 1);
    /* The load stays below 3/4, so a free slot ends every probe. */
    for (size_t probes = 0; probes < self->cap; probes++, i = (i + 1) & (self->cap - 1)) {
        exp_entry_t *e = &self->slots[i];
        if (!e->used) {
            if (self->n == self->max)
                return NULL;
            e->used = 1;
            e->addr = *addr;
            e->proto = proto;
            e->domain = domain;
            self->n++;
            return e;
        }
        if (e->proto == proto && e->domain == domain && fg_addr_eq(&e->addr, addr))
            return e;
    }
    return NULL;
}

size_t exp_count(const exp_table_t *self)
{
    return self->n;
}

const exp_entry_t *exp_at(const exp_table_t *self, size_t i)
{
    return i < self->cap && self->slots[i].used ? &self->slots[i] : NULL;
}

size_t exp_capacity(const exp_table_t *self)
{
    return self->cap;
}

void exp_learn_sampling(exp_entry_t *e, bool has_id, uint32_t id, uint32_t rate)
{
    if (rate == 0)
        return;
    e->sampling = rate; /* the latest announcement is the exporter's rate */
    if (!has_id)
        return;
    for (uint32_t i = 0; i < e->n_samplers; i++)
        if (e->samplers[i].id == id) {
            e->samplers[i].rate = rate;
            return;
        }
    if (e->n_samplers < EXP_MAX_SAMPLERS)
        e->samplers[e->n_samplers++] = (exp_sampler_t){id, rate};
}

uint32_t exp_sampling(const exp_entry_t *e, bool has_id, uint32_t id)
{
    if (has_id)
        for (uint32_t i = 0; i < e->n_samplers; i++)
            if (e->samplers[i].id == id)
                return e->samplers[i].rate;
    return e->sampling;
}
