/* hring: held rates without flow identity, pooled per host.
 *
 * Most long flow records are small: their flow's rate is a sliver of the
 * host's watch floor, and what matters is the sum of them on the host. So
 * instead of an entry per flow, a host keeps one block per class code
 * (tcp, tcp SYN, udp, icmp, fragment, other) in which a record's rate is
 * added to the bucket of the window its hold ends with: no event, no
 * identity, no allocation per record.
 *
 * A block has a fine ring of one bucket per window for the holds ending
 * within the next slot, exact to the window, and HR_SLOTS coarse slots of
 * slot_windows windows each for the later ones. Every slot and bucket
 * carries the number of the slot or window it holds rates for, so a hold
 * writes that one place and nothing else (no block header, no list: a
 * stale number is an empty slot); each host counts its live slots and
 * buckets, and its blocks go back when the count falls to 0. When a
 * slot's time comes, one pass over that slot of every block in order
 * finds the live ones, and each one's rate is set to end with its holds'
 * mean last window (weighted by rate; an entry on that window's ends list,
 * with the host and code): a hold ending in the same slot may so end up to
 * a slot early or late, its amount kept on average. A fine bucket's first
 * hold puts it on its window's list.
 *
 * What is lost against a flow table: a flow's next record cannot replace
 * its held rate (it adds to it); the caller keeps flows whose rate is a
 * large part of a floor in its flow table for that.
 *
 * Every change of a host's held rate is reported to the caller (hr_delta_fn)
 * with the class code, so the caller keeps the host's totals. Leaf module:
 * no logging. */
#ifndef FG_HRING_H
#define FG_HRING_H

#include <stddef.h>
#include <stdint.h>

#define HR_SLOTS 32
#define HR_CODES 6          /* class codes: the caller's, 0 .. HR_CODES - 1 */
#define HR_MAX_SLOT_WINDOWS 63 /* the fine ring is at most 64 windows */

typedef struct hr hr_t;

/* A change of the rate held for (host, code): dpps packets/s and dBps
 * bytes/s (negative when a hold ends). code HR_CODES (and no change) says
 * the host holds nothing here any more. */
typedef void (*hr_delta_fn)(uint32_t host, uint8_t code, float dpps, float dBps, void *arg);

/* Windows per slot for holds of up to max_windows windows (the slots but
 * two span them), at most HR_MAX_SLOT_WINDOWS. */
uint32_t hr_slot_windows(uint64_t max_windows);

/* The longest hold (windows) a pool of slot_windows takes. */
uint64_t hr_max_windows(uint32_t slot_windows);

/* The longest hold (windows) this pool takes: hr_max_windows of its slots. */
uint64_t hr_span(const hr_t *self);

/* Pools for hosts 0 .. max_hosts - 1 with room for max_blocks blocks and
 * slots of slot_windows windows. NULL when out of memory or the arguments
 * are out of range. */
hr_t *hr_new(uint32_t max_hosts, uint32_t max_blocks, uint32_t slot_windows);

/* Free and NULL the caller's pointer. Idempotent. */
void hr_destroy(hr_t **self_p);

/* Hold pps/Bps for (host, code) in the open window (open) and every one
 * after it up to last (open <= last < open + hr_max_windows). Returns 0,
 * and the caller adds (pps, Bps) to the rate it keeps for (host, code)
 * itself (the host's memory is in its hands already: no call to fn); or
 * -1 when the host has no block for code and none is free, or the
 * arguments are out of range (nothing changed; fn may hear that the host
 * holds nothing, code HR_CODES). Every later change (holds ending) goes
 * to hr_advance's fn. */
int hr_hold(hr_t *self, uint32_t host, uint8_t code, float pps, float Bps, uint64_t open,
            uint64_t last, hr_delta_fn fn, void *arg);

/* The close of window closed: the holds ending with it end, the slots
 * whose time has come move to their fine buckets; changes go to fn. Call it
 * for every window in order (a gap is caught up; one longer than the
 * longest hold ends everything). */
void hr_advance(hr_t *self, uint64_t closed, hr_delta_fn fn, void *arg);

/* Called (when set) for the (host, code) whose holds are about to end in
 * hr_advance, a few ahead, with hr_advance's arg: the caller brings into
 * the cache what its hr_delta_fn will touch. A hint only. */
typedef void (*hr_prefetch_fn)(uint32_t host, uint8_t code, void *arg);
void hr_set_prefetch(hr_t *self, hr_prefetch_fn pf);

/* Keep each host's HR_HOST_BYTES (its first block, 0 while it holds
 * nothing, and its count of live slots) at first + host * stride, in the
 * caller's memory, instead of an array of the pool's own: a caller that
 * reads its host's memory anyway saves a cache line a hold. first and
 * stride are multiples of 4 (ignored otherwise). The caller zeroes those
 * bytes before first use and keeps them while the host holds anything
 * (hr_holds). Call it before the first hold. */
#define HR_HOST_BYTES 8
void hr_set_heads(hr_t *self, void *first, size_t stride);

/* For a batch, ahead of hr_hold (the host's memory in the cache by then):
 * bring the slot or bucket a hold of last would go to in the host's first
 * block into the cache (most hosts hold in one class). A hint only. */
void hr_prefetch_first(const hr_t *self, uint32_t host, uint64_t last);

/* Does the host hold anything here? */
int hr_holds(const hr_t *self, uint32_t host);

/* Blocks in use, and room for more. */
size_t hr_blocks(const hr_t *self);
size_t hr_room(const hr_t *self);

#endif
