#include "aggregator/topk.h"

#include <string.h>

void topk_reset(topk_t *self)
{
    self->n = 0;
}

void topk_decay(topk_t *self)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < self->n; i++) {
        topk_item_t t = self->it[i];
        t.count >>= 1;
        t.err >>= 1;
        if (t.count > 0)
            self->it[k++] = t;
    }
    self->n = k;
}

void topk_add(topk_t *self, uint64_t hi, uint64_t lo, uint64_t w, uint32_t aux)
{
    uint32_t min = 0;
    for (uint32_t i = 0; i < self->n; i++) {
        topk_item_t *t = &self->it[i];
        if (t->hi == hi && t->lo == lo) {
            t->count += w;
            t->aux = aux;
            return;
        }
        if (t->count < self->it[min].count)
            min = i;
    }
    topk_item_t *t;
    if (self->n < TOPK_SLOTS) {
        t = &self->it[self->n++];
        t->count = t->err = 0;
    } else {
        t = &self->it[min];
        t->err = t->count;
    }
    t->hi = hi;
    t->lo = lo;
    t->count += w;
    t->aux = aux;
}

size_t topk_top(const topk_t *self, topk_item_t *out, size_t max)
{
    size_t n = 0;
    for (uint32_t i = 0; i < self->n; i++) {
        const topk_item_t *t = &self->it[i];
        uint64_t lb = t->count - t->err;
        if (lb == 0)
            continue;
        /* Insertion into the sorted output, dropping what falls off. */
        size_t j = n < max ? n++ : max;
        while (j > 0 && out[j - 1].count - out[j - 1].err < lb) {
            if (j < max)
                out[j] = out[j - 1];
            j--;
        }
        if (j < max)
            out[j] = *t;
    }
    return n;
}
