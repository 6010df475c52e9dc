/* exporters: per-exporter state of a collector, in a table allocated once.
 *
 * An exporter stream is keyed by (source address, wire protocol, domain):
 * the domain is engine_type << 8 | engine_id for NetFlow v5, the source id
 * / observation domain for v9 / IPFIX, the sub-agent id for sFlow.
 *
 * Flow exports are UDP: the source address, the domain and everything else
 * may be forged, so the table defends itself (limits in exp_limits_t):
 *  - a fixed capacity, allocated once; entries never move (pointers stay
 *    valid), a slot is reused with a new generation number;
 *  - streams idle for idle_ms are forgotten (exp_expire(), a bounded sweep);
 *  - at most max_streams_per_addr streams and max_templates_per_addr
 *    templates per source address: a new one displaces a stream of the same
 *    address, or is refused;
 *  - a stream is *established* when its address is allow-listed and it sent
 *    a flow record, or when it sent datagrams in sequence (no reset) for
 *    established_ms with flow records. An established stream is never
 *    displaced by a new arrival. A new arrival into a full table (or a full
 *    address) displaces the least valuable unestablished stream: an idle one
 *    first, then one that never sent a flow record, then the one silent for
 *    the longest. When every candidate is established, it is refused.
 * A leaf module: no logging; the caller reads the counters. */
#ifndef FG_COLLECTOR_EXPORTERS_H
#define FG_COLLECTOR_EXPORTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/netflow_v5.h"
#include "common/addr.h"

/* Sampler ids an exporter announced (v9 FLOW_SAMPLER_ID 48, IPFIX
 * selectorId 302) with their rates, from options data. */
#define EXP_MAX_SAMPLERS 8
typedef struct {
    uint32_t id;
    uint32_t rate;
} exp_sampler_t;

/* Per-stream counters, plain so any exporter (log line, metrics) can read
 * them. Records without a template cannot be counted one by one (their
 * length is in the template): sets_no_template counts the data sets. */
typedef struct {
    uint64_t datagrams;
    uint64_t malformed;        /* datagrams or sets that could not be decoded */
    uint64_t records;          /* flow records decoded */
    uint64_t filtered;         /* of those, touching no monitored network */
    uint64_t sets_no_template; /* data sets whose template is unknown */
    uint64_t templates;        /* template records received */
    uint64_t options;          /* options data records received */
} exp_stats_t;

/* No stream, no slot. */
#define EXP_NONE UINT32_MAX

typedef struct {
    fg_addr_t addr;
    uint32_t domain;
    uint8_t proto; /* 5 = NetFlow v5, 9 = v9, 10 = IPFIX, EXP_SFLOW */
    uint8_t used;
    uint8_t trusted;     /* its address is in collector/exporter_allow */
    uint8_t established; /* never displaced by a new arrival */
    uint32_t idx;        /* its slot; EXP_NONE outside a table */
    uint32_t gen;        /* bumped each time the slot is freed */
    uint32_t next_addr;  /* the next stream of the same address, EXP_NONE */
    uint64_t run_ms;     /* when the current run in sequence began */
    uint64_t datagrams; /* same as st.datagrams; kept for v5's callers */
    uint64_t last_ms;   /* monotonic time of the latest datagram */
    uint64_t gap_ms;    /* from the one before it to it */
    nf5_seq_t seq;      /* v5, IPFIX: records; v9, sFlow: datagrams */
    exp_stats_t st;
    uint32_t n_templates;     /* held in the template cache */
    uint32_t sampling;        /* learnt from options data; 0 = none */
    uint32_t n_samplers;
    exp_sampler_t samplers[EXP_MAX_SAMPLERS];
    uint64_t sys_init_ms;     /* IPFIX systemInitTimeMilliseconds; 0 = unknown */
} exp_entry_t;

/* The proto of sFlow v5 streams (NetFlow / IPFIX use their version). */
#define EXP_SFLOW 105

/* Learn a sampler's rate (id 0 with has_id false = the exporter's rate).
 * A full sampler table keeps its first entries. Cannot fail. */
void exp_learn_sampling(exp_entry_t *e, bool has_id, uint32_t id, uint32_t rate);

/* The rate learnt for sampler id (has_id) or for the exporter, 0 when none
 * was learnt. */
uint32_t exp_sampling(const exp_entry_t *e, bool has_id, uint32_t id);

typedef struct exp_table exp_table_t;

typedef struct {
    size_t max_streams;             /* the table's capacity, >= 1 */
    uint32_t max_streams_per_addr;  /* >= 1 */
    uint32_t max_templates_per_addr;
    uint64_t idle_ms;               /* forget a stream this idle; 0 = never */
    uint64_t established_ms;        /* in sequence this long: established */
} exp_limits_t;

/* A run in sequence needs at least this many datagrams too. */
#define EXP_ESTABLISHED_DATAGRAMS 8
/* Unestablished streams compared per eviction, and the slots walked at
 * most to find them: the work per new stream stays bounded when the table
 * is nearly all established. */
#define EXP_EVICT_SAMPLE 32
#define EXP_EVICT_SCAN 1024

/* What happened to streams, and the counters of those that left. */
typedef struct {
    uint64_t added;
    uint64_t expired;     /* idle for idle_ms */
    uint64_t evicted;     /* displaced by a new arrival */
    uint64_t refused;     /* new streams turned away: no candidate to displace */
    uint64_t established; /* streams that became established */
    exp_stats_t gone;     /* the per-stream counters of expired and evicted ones */
    uint64_t gone_lost, gone_resets; /* their sequence losses and resets */
} exp_table_stats_t;

/* A table with these limits (copied), or NULL when out of memory. */
exp_table_t *exp_table_new(const exp_limits_t *lim);

/* Free and NULL the caller's pointer. Idempotent. */
void exp_table_destroy(exp_table_t **self_p);

/* The entry of this stream, created zeroed (but for its key) the first time
 * (trusted: the address is allow-listed), displacing an unestablished stream
 * when the table or the address is full. Returns NULL when it is refused
 * (counted). The pointer stays valid until the table is destroyed; its
 * stream is gone once e->gen changed. */
exp_entry_t *exp_get(exp_table_t *self, const fg_addr_t *addr, uint8_t proto, uint32_t domain,
                     bool trusted, uint64_t now_ms);

/* After a datagram of e was accounted (e->seq, e->st, e->last_ms): start a
 * run in sequence, or make e established when its run is long enough.
 * Cannot fail. */
void exp_seen(exp_table_t *self, exp_entry_t *e, uint64_t now_ms);

/* Forget the streams idle for idle_ms, walking at most budget slots from
 * where the last call stopped. Returns the number forgotten. */
size_t exp_expire(exp_table_t *self, uint64_t now_ms, size_t budget);

/* The stream in slot idx if it still has generation gen, else NULL. */
exp_entry_t *exp_live(exp_table_t *self, uint32_t idx, uint32_t gen);

/* Room for one more template of stream e: below max_templates_per_addr for
 * its address, displacing an unestablished stream of the same address (not
 * e) whose templates then go (they become orphans: see templates.h). 0, or
 * -1 when there is none. */
int exp_template_room(exp_table_t *self, exp_entry_t *e, uint64_t now_ms);

/* Count delta templates held for stream e (and its address). self may be
 * NULL (an entry outside a table). */
void exp_templates_add(exp_table_t *self, exp_entry_t *e, int delta);

/* Disown every template of stream e at once (IPFIX withdrawal of all):
 * its generation changes, so they become orphans, and its counts (and its
 * address's) drop. Returns how many it held. Cannot fail. */
uint32_t exp_templates_orphan(exp_table_t *self, exp_entry_t *e);

/* Streams in the table, established ones among them. */
size_t exp_count(const exp_table_t *self);
size_t exp_established(const exp_table_t *self);

/* Streams and templates of one address (0 when it has none). */
uint32_t exp_addr_streams(const exp_table_t *self, const fg_addr_t *addr);
uint32_t exp_addr_templates(const exp_table_t *self, const fg_addr_t *addr);

/* The table's counters (borrowed). */
const exp_table_stats_t *exp_stats(const exp_table_t *self);

/* Entry i (0 <= i < capacity) when used, else NULL: a bounded walk for stats
 * dumps. exp_capacity() gives the bound. */
const exp_entry_t *exp_at(const exp_table_t *self, size_t i);
size_t exp_capacity(const exp_table_t *self);

/* The indexes of the (at most) n streams with the most flow records,
 * most first, into top; returns how many. For bounded metric labels. */
size_t exp_top(const exp_table_t *self, uint32_t *top, size_t n);

#endif
