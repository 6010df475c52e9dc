/* exporters: per-exporter state of a collector, in a table allocated once.
 *
 * An exporter stream is keyed by (source address, wire protocol, domain):
 * the domain is engine_type << 8 | engine_id for NetFlow v5, and will be the
 * source id / observation domain for v9 / IPFIX, the sub-agent id for sFlow.
 * The table has a fixed capacity and never shrinks: a router fleet is small
 * and stable, and a flood of spoofed exporters must not grow memory. When it
 * is full, exp_get() returns NULL and the caller counts it. */
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

typedef struct {
    fg_addr_t addr;
    uint32_t domain;
    uint8_t proto; /* 5 = NetFlow v5, 9 = v9, 10 = IPFIX, EXP_SFLOW */
    uint8_t used;
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

/* A table for up to max exporter streams, or NULL when out of memory. */
exp_table_t *exp_table_new(size_t max);

/* Free and NULL the caller's pointer. Idempotent. */
void exp_table_destroy(exp_table_t **self_p);

/* The entry of this stream, created zeroed (but for its key) the first time.
 * Returns NULL when the table is full. The pointer stays valid until the
 * table is destroyed. */
exp_entry_t *exp_get(exp_table_t *self, const fg_addr_t *addr, uint8_t proto, uint32_t domain);

/* Streams in the table. */
size_t exp_count(const exp_table_t *self);

/* Entry i (0 <= i < capacity) when used, else NULL: a bounded walk for stats
 * dumps. exp_capacity() gives the bound. */
const exp_entry_t *exp_at(const exp_table_t *self, size_t i);
size_t exp_capacity(const exp_table_t *self);

#endif
