/* topk: weighted Space-Saving heavy hitters over a handful of counters.
 *
 * TOPK_SLOTS counters per instance, keys of 128 bits (an address, or a port
 * or protocol number in lo). A key not held replaces the smallest counter and
 * inherits its count as error, so count - err is a lower bound of the key's
 * true weight and any key heavier than total / TOPK_SLOTS is held. Fixed
 * size, no allocation: one instance per kind per watched host. */
#ifndef FG_TOPK_H
#define FG_TOPK_H

#include <stddef.h>
#include <stdint.h>

#define TOPK_SLOTS 8

typedef struct {
    uint64_t hi, lo;
    uint64_t count; /* upper bound of the key's weight */
    uint64_t err;   /* count - err is a lower bound */
    uint32_t aux;   /* last value given with the key (e.g. sampling rate) */
} topk_item_t;

typedef struct {
    topk_item_t it[TOPK_SLOTS];
    uint32_t n;
} topk_t;

/* Forget everything. Cannot fail. */
void topk_reset(topk_t *self);

/* Halve every count (and error), dropping keys that reach 0: a window's
 * weight then counts 1/2 in the next window, 1/4 in the one after...
 * Cannot fail. */
void topk_decay(topk_t *self);

/* Add weight w to key (hi, lo), remembering aux. Cannot fail. */
void topk_add(topk_t *self, uint64_t hi, uint64_t lo, uint64_t w, uint32_t aux);

/* Copy up to max items into out, heaviest lower bound first, skipping keys
 * whose lower bound is 0. Returns the number copied. */
size_t topk_top(const topk_t *self, topk_item_t *out, size_t max);

#endif
