/* hosttable: the aggregator's per-host, per-direction window counters.
 *
 * Open addressing with linear probing over a slot array of 8-byte slots
 * (hash tag << 32 | entry index + 1); the entries themselves live in one
 * dense array, so a tracked host costs sizeof(ht_entry_t) plus two slots
 * (the slot array is kept at most half full). Both arrays are allocated once
 * for max_hosts, untouched pages cost nothing until hosts arrive. Removal
 * is backward-shift deletion in the slots; the freed entry goes on a free
 * list threaded through the free entries, so an entry's index and pointer
 * stay valid for as long as it is tracked.
 *
 * Classes partition a host's records: a fragment record counts as frag only;
 * otherwise by protocol (tcp, udp, icmp incl. ICMPv6, other). tcp_syn counts
 * the TCP records with SYN set and ACK clear, a subset of tcp. The total is
 * the sum of tcp, udp, icmp, frag and other (ht_total). Leaf module: no
 * logging; callers count what is refused. */
#ifndef FG_HOSTTABLE_H
#define FG_HOSTTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/flow.h"

enum { HT_TCP = 0, HT_TCP_SYN, HT_UDP, HT_ICMP, HT_FRAG, HT_OTHER, HT_CLASSES };

/* Counts of one class in the current window. packets and flows saturate at
 * UINT32_MAX per window (over 4 G packets in one tick is not a real rate).
 * held: owner's use, the rate of long flow records being spread over their
 * duration (added when a record arrives, removed when its spread ends),
 * packets/s and bytes/s; not reset with the window. A class's counts and
 * held rate sit together: a record touches one of these. */
typedef struct {
    uint32_t packets;
    uint32_t flows;
    uint64_t bytes;
    float held[2];
} ht_counts_t;

enum { HT_HELD_PPS = 0, HT_HELD_BPS }; /* held[.]: packets/s, bytes/s */

#define HT_PEND_MAX 0xffffu /* each one 1/16 of a floor or more: 16 make a flood */
#define HT_GROUPS_MAX 256 /* group is a uint8_t */

/* What a record reads and writes is in the first 64 bytes (key, times,
 * flags, the window's totals, the pool head) and its class's 24: two cache
 * lines most often (ht_prefetch_entry brings those only). */
typedef struct {
    fg_addr_t addr;
    /* Times are the low 32 bits of unix milliseconds, compared wrap-safe
     * (int32_t differences: right within 24 days of each other). */
    uint32_t seen;  /* the latest record time; what ht_expire compares */
    uint32_t t_lo;  /* owner's use: start of the time the window's records cover */
    uint16_t watch; /* owner's use: 1 + watch slot index, 0 = none */
    uint8_t group;  /* hostgroup index, set at insert (owner may remap) */
    uint8_t dir;    /* FG_DIR_IN / FG_DIR_OUT */
    uint32_t n_pend : 16; /* owner's use: long flows held (HT_PEND_MAX at most) */
    uint32_t cmask : 8;   /* the classes counted in this window (ht_reset's) */
    uint32_t flags : 8;   /* owner's use; zeroed at insert */
    /* The window's totals over the partition classes (all but tcp_syn),
     * kept by ht_count (saturating like the classes'): ht_total. */
    uint32_t tot_packets, tot_flows;
    uint64_t tot_bytes;
    /* Owner's use: the held rates' sum over the partition classes, kept
     * with them (ht_held_total). */
    float held_sum[2];
    uint32_t pool[2]; /* owner's use (its hold pool's memory of the host); zeroed at insert */
    ht_counts_t cls[HT_CLASSES];
} ht_entry_t;

/* Totals of a window over the partition classes. */
typedef struct {
    uint64_t packets;
    uint64_t bytes;
    uint64_t flows;
} ht_total_t;

typedef struct ht ht_t;

/* Called for each idle entry ht_expire is about to remove, or each entry
 * ht_victim considers: returns 0 to let it go, nonzero to keep it. */
typedef int (*ht_expire_fn)(ht_entry_t *e, void *arg);

/* A table for up to max_hosts entries (>= 1), or NULL when out of memory. */
ht_t *ht_new(uint32_t max_hosts);

/* Free the table and NULL the caller's pointer. Idempotent. */
void ht_destroy(ht_t **self_p);

/* The entry of (addr, dir), or NULL when not tracked. Cannot fail. */
ht_entry_t *ht_find(ht_t *self, const fg_addr_t *addr, uint8_t dir);

/* ht_find for a key whose hash (ht_hash) is h, trying first the entry at
 * hint - 1 (hint: ht_prefetch_entry's answer, perhaps stale by now; 0 =
 * none), which is taken only when it holds the key. */
ht_entry_t *ht_find_hinted(ht_t *self, const fg_addr_t *addr, uint8_t dir, uint64_t h,
                           uint32_t hint);

/* For a batch of lookups, ahead of them: the hash of (addr, dir); bring
 * its home slot into the cache; then (the slot read) bring the entry it
 * points at into the cache, returning that entry's index + 1 (0: none, or
 * another key's). Hints only: nothing changes. */
uint64_t ht_hash(const fg_addr_t *addr, uint8_t dir);
void ht_prefetch_slot(const ht_t *self, uint64_t h);
/* Of the entry, what a record of class cls (and tcp_syn too when syn)
 * touches: its first 64 bytes and the class's counts. */
uint32_t ht_prefetch_entry(const ht_t *self, uint64_t h, int cls, int syn);
/* Bring what ht_prefetch_entry brings of the entry at index i into the
 * cache (a hint; the first 64 bytes only when cls is not a class). */
void ht_prefetch_index(const ht_t *self, uint32_t i, int cls, int syn);
/* For a pass over many entries (a window's close): bring an entry's first
 * 64 bytes into the cache, then (those read) the classes counted in its
 * window (what ht_reset writes). Hints only. */
void ht_prefetch_head(const ht_t *self, uint32_t i);
void ht_prefetch_counted(const ht_t *self, uint32_t i);

/* Track (addr, dir), which must not be tracked yet, with zeroed counters.
 * The entry removed last is the one reused first (so a caller that removes
 * one to make room gets its index back). Returns the new entry, or NULL
 * when the table holds max_hosts entries. */
ht_entry_t *ht_insert(ht_t *self, const fg_addr_t *addr, uint8_t dir, uint8_t group,
                      uint32_t now);

/* Entry at index i (of a tracked entry), and the index of an entry. Cannot
 * fail. */
ht_entry_t *ht_at(ht_t *self, uint32_t i);
uint32_t ht_index(const ht_t *self, const ht_entry_t *e);

/* Stop tracking the entry at index i. Other entries do not move. Cannot
 * fail. */
void ht_remove(ht_t *self, uint32_t i);

/* Visit up to budget entry positions, continuing where the last call
 * stopped and wrapping around, and remove the entries whose seen is idle
 * or more before now (same unit) that fn (when not NULL) lets go. A full
 * pass takes about max(size, highest index used) / budget calls. Returns
 * the number removed. */
size_t ht_expire(ht_t *self, uint32_t now, uint32_t idle, size_t budget, ht_expire_fn fn,
                 void *arg);

/* Call fn on every tracked entry. Cannot fail. */
void ht_each(ht_t *self, void (*fn)(ht_entry_t *e, void *arg), void *arg);

/* Visit up to budget entry positions from a cursor of its own (a clock
 * hand: wrapping around, continuing where the last call stopped), calling
 * fn on each tracked entry; stop at the first for which it returns 0 and
 * return its index (nothing is removed: the caller decides), or -1 when
 * there was none within budget. */
int64_t ht_victim(ht_t *self, size_t budget, ht_expire_fn fn, void *arg);

/* Entries tracked, and the maximum. */
size_t ht_size(const ht_t *self);
size_t ht_max(const ht_t *self);






/* Per record: inline. */

/* The class of a record (HT_TCP_SYN is not returned: it is tcp plus a flag,
 * see ht_is_syn). */
static inline int ht_class(uint8_t proto, uint8_t frag)
{
    if (frag)
        return HT_FRAG;
    switch (proto) {
    case FG_PROTO_TCP:
        return HT_TCP;
    case FG_PROTO_UDP:
        return HT_UDP;
    case FG_PROTO_ICMP:
    case FG_PROTO_ICMPV6:
        return HT_ICMP;
    default:
        return HT_OTHER;
    }
}

/* True for a TCP record with SYN set and ACK clear (and not a fragment). */
static inline int ht_is_syn(uint8_t proto, uint8_t frag, uint8_t tcp_flags)
{
    return !frag && proto == FG_PROTO_TCP && (tcp_flags & (FG_TCP_SYN | FG_TCP_ACK)) == FG_TCP_SYN;
}

static inline uint32_t ht_add32(uint32_t a, uint64_t b)
{
    uint64_t s = (uint64_t)a + b;
    return s > UINT32_MAX || s < b ? UINT32_MAX : (uint32_t)s;
}

static inline uint64_t ht_add64(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

/* Add packets, bytes and flows to the entry's class cls (saturating), and
 * to its totals but for tcp_syn (within tcp). */
static inline void ht_count(ht_entry_t *e, int cls, uint64_t packets, uint64_t bytes,
                            uint32_t flows)
{
    ht_counts_t *c = &e->cls[cls];
    e->cmask |= 1u << cls;
    c->packets = ht_add32(c->packets, packets);
    c->flows = ht_add32(c->flows, flows);
    c->bytes = ht_add64(c->bytes, bytes);
    if (cls != HT_TCP_SYN) {
        e->tot_packets = ht_add32(e->tot_packets, packets);
        e->tot_flows = ht_add32(e->tot_flows, flows);
        e->tot_bytes = ht_add64(e->tot_bytes, bytes);
    }
}

/* The entry's window totals (the partition classes: all but tcp_syn, which
 * is within tcp). */
static inline ht_total_t ht_total(const ht_entry_t *e)
{
    return (ht_total_t){e->tot_packets, e->tot_bytes, e->tot_flows};
}

/* The entry's held rate over the partition classes (held_sum, which its
 * owner keeps): packets/s in out[HT_HELD_PPS], bytes/s in out[HT_HELD_BPS]. */
static inline void ht_held_total(const ht_entry_t *e, double out[2])
{
    out[HT_HELD_PPS] = e->held_sum[HT_HELD_PPS];
    out[HT_HELD_BPS] = e->held_sum[HT_HELD_BPS];
}

/* Zero the entry's window counters and totals (not the held rates): the
 * classes counted since the last reset only. */
void ht_reset(ht_entry_t *e);

#endif
