/* spread: a timing wheel of the ends of long flow records' spreads.
 *
 * The aggregator holds, per host and class, the rate of the long records
 * being spread over their duration; each such record leaves here one event
 * "at the close of window id, take pps/Bps off entry idx, class cls". The
 * wheel has one bucket per window over the longest spread, each a list of
 * events threaded through one fixed pool (a free list, no allocation after
 * sp_new; untouched pool pages cost nothing). Memory follows the number of
 * long records in flight, 16 bytes each. Leaf module: no logging. */
#ifndef FG_SPREAD_H
#define FG_SPREAD_H

#include <stddef.h>
#include <stdint.h>

#define SP_MAX_CLASS 7 /* classes 0..7 fit the event's 3 bits */

typedef struct sp sp_t;

/* Called for each event fired: entry index, class, the rates to remove. */
typedef void (*sp_fire_fn)(uint32_t idx, int cls, float pps, float Bps, void *arg);

/* A wheel of n_buckets windows (>= 2) with room for max_events (>= 1)
 * events, entry indices below 2^27; NULL when out of memory or out of
 * range. */
sp_t *sp_new(uint32_t n_buckets, uint32_t max_events);

/* Free and NULL the caller's pointer. Idempotent. */
void sp_destroy(sp_t **self_p);

/* Schedule an event for the close of window id due (the caller keeps due
 * less than n_buckets windows ahead of the oldest window not fired yet).
 * Returns 0, or -1 when the pool is full or idx/cls are out of range. */
int sp_add(sp_t *self, uint64_t due, uint32_t idx, int cls, float pps, float Bps);

/* Fire and free every event of window id's bucket. Returns how many. */
size_t sp_fire(sp_t *self, uint64_t id, sp_fire_fn fn, void *arg);

/* Windows the wheel spans, events pending, and room for more. */
uint32_t sp_buckets(const sp_t *self);
size_t sp_pending(const sp_t *self);
size_t sp_room(const sp_t *self);

#endif
