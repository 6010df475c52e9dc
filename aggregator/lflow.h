/* lflow: the long flows whose rate the aggregator holds.
 *
 * A flow record lasting more than one window tells the flow's rate over its
 * duration; the aggregator holds that rate on the host until the flow's next
 * record replaces it, or until the duration (plus a grace) has passed. This
 * table finds a flow's previous record by a 64-bit hash of (host,
 * direction, peer, protocol, ports): open addressing with linear probing and
 * backward-shift deletion over 8-byte slots (a 32-bit tag of the key and
 * the entry's index, so a probe reads the pool only on a tag match), entries
 * in a dense pool with a free list so that an entry's index stays valid
 * while it is held. 32 bytes per flow plus two slots. Leaf module: no
 * logging. */
#ifndef FG_LFLOW_H
#define FG_LFLOW_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t key;    /* hash of the flow's identity; 0 = free */
    uint32_t due;    /* window id (low 32 bits) whose close ends the held rate */
    uint32_t ev_due; /* window id (low 32 bits) of the flow's pending wheel event */
    uint32_t host;   /* host table index */
    float pps, Bps;  /* the rate held */
    uint8_t cls;     /* host table class */
    uint8_t syn;     /* also held in the SYN class */
} lf_entry_t;

typedef struct lf lf_t;

/* A table for up to max flows (>= 1), or NULL when out of memory. */
lf_t *lf_new(uint32_t max);

/* Free and NULL the caller's pointer. Idempotent. */
void lf_destroy(lf_t **self_p);

/* The index of flow key (nonzero), or -1 when not held. */
int64_t lf_find(const lf_t *self, uint64_t key);

/* Hold flow key (nonzero, not held yet): its zeroed entry's index, or -1
 * when the table is full. */
int64_t lf_insert(lf_t *self, uint64_t key);

/* The entry at index i. */
lf_entry_t *lf_at(lf_t *self, uint32_t i);

/* Stop holding the flow at index i. */
void lf_remove(lf_t *self, uint32_t i);

/* Flows held, and room for more. */
size_t lf_size(const lf_t *self);
size_t lf_room(const lf_t *self);

#endif
