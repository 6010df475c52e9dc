/* spread: a timing wheel of window ids.
 *
 * One bucket per window over the longest span, each a list of events
 * (a 32-bit id of the owner's choosing) threaded through one fixed pool: a
 * free list, no allocation after sp_new, untouched pool pages cost nothing.
 * The aggregator schedules here the end of each long flow's held rate.
 * 12 bytes per event. Leaf module: no logging. */
#ifndef FG_SPREAD_H
#define FG_SPREAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct sp sp_t;

/* Called for each event fired, with its id and the window id fired. */
typedef void (*sp_fire_fn)(uint32_t id, uint64_t due, void *arg);

/* A wheel of n_buckets windows (>= 2) with room for max_events (>= 1), or
 * NULL when out of memory. */
sp_t *sp_new(uint32_t n_buckets, uint32_t max_events);

/* Free and NULL the caller's pointer. Idempotent. */
void sp_destroy(sp_t **self_p);

/* Schedule id for the close of window due (the caller keeps due less than
 * n_buckets windows ahead of the oldest window not fired yet). Returns 0,
 * or -1 when the pool is full. */
int sp_add(sp_t *self, uint64_t due, uint32_t id);

/* Fire and free every event of window due's bucket. Returns how many. */
size_t sp_fire(sp_t *self, uint64_t due, sp_fire_fn fn, void *arg);

/* Windows the wheel spans, events pending, and room for more. */
uint32_t sp_buckets(const sp_t *self);
size_t sp_pending(const sp_t *self);
size_t sp_room(const sp_t *self);

#endif
