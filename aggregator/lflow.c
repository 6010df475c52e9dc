#include "aggregator/lflow.h"

#include <stdlib.h>
#include <string.h>

/* A slot: the key's low 32 bits (its tag) << 32 | (1 + entry index); 0 =
 * empty. The tag settles most probes and gives a slot's home without
 * reading the pool, whose entries are scattered cache misses. */
struct lf {
    uint64_t *slots;
    uint64_t mask;
    lf_entry_t *pool;
    uint32_t n, max, top, free_head; /* free list threaded through host */
};

lf_t *lf_new(uint32_t max)
{
    if (max == 0 || max > (1u << 30))
        return NULL;
    lf_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    uint64_t slots = 16;
    while (slots < 2 * (uint64_t)max)
        slots <<= 1;
    self->mask = slots - 1;
    self->max = max;
    self->slots = calloc(slots, sizeof(*self->slots));
    self->pool = calloc(max, sizeof(*self->pool));
    if (!self->slots || !self->pool)
        lf_destroy(&self);
    return self;
}

void lf_destroy(lf_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free((*self_p)->pool);
    free(*self_p);
    *self_p = NULL;
}

static uint64_t s_tag(uint64_t key)
{
    return key << 32;
}

/* The slot holding key, or the empty slot where it would go. */
static uint64_t s_probe(const lf_t *self, uint64_t key)
{
    uint64_t tag = s_tag(key);
    for (uint64_t i = key & self->mask;; i = (i + 1) & self->mask) {
        uint64_t s = self->slots[i];
        if (s == 0 || ((s & 0xffffffff00000000ULL) == tag && self->pool[(uint32_t)s - 1].key == key))
            return i;
    }
}

int64_t lf_find(const lf_t *self, uint64_t key)
{
    uint64_t s = self->slots[s_probe(self, key)];
    return s ? (int64_t)(uint32_t)s - 1 : -1;
}

int64_t lf_insert(lf_t *self, uint64_t key)
{
    if (self->n == self->max || key == 0)
        return -1;
    uint32_t idx;
    if (self->free_head) {
        idx = self->free_head - 1;
        self->free_head = self->pool[idx].host;
    } else {
        idx = self->top++;
    }
    self->slots[s_probe(self, key)] = s_tag(key) | (idx + 1);
    memset(&self->pool[idx], 0, sizeof(self->pool[idx]));
    self->pool[idx].key = key;
    self->n++;
    return idx;
}

lf_entry_t *lf_at(lf_t *self, uint32_t i)
{
    return &self->pool[i];
}

void lf_remove(lf_t *self, uint32_t i)
{
    uint64_t hole = s_probe(self, self->pool[i].key);
    for (uint64_t j = (hole + 1) & self->mask; self->slots[j]; j = (j + 1) & self->mask) {
        uint64_t home = (self->slots[j] >> 32) & self->mask; /* the tag's low bits */
        if (((j - home) & self->mask) >= ((j - hole) & self->mask)) {
            self->slots[hole] = self->slots[j];
            hole = j;
        }
    }
    self->slots[hole] = 0;
    self->pool[i].key = 0;
    self->pool[i].host = self->free_head;
    self->free_head = i + 1;
    self->n--;
}

size_t lf_size(const lf_t *self)
{
    return self->n;
}

size_t lf_room(const lf_t *self)
{
    return self->max - self->n;
}
