/* exporters: per-exporter state of a collector, in a table allocated once.
 *
 * An exporter stream is keyed by (source address, wire protocol, domain):
 * the domain is engine_type << 8 | engine_id for NetFlow v5, and will be the
 * source id / observation domain for v9 / IPFIX, the agent sub-id for sFlow.
 * The table has a fixed capacity and never shrinks: a router fleet is small
 * and stable, and a flood of spoofed exporters must not grow memory. When it
 * is full, exp_get() returns NULL and the caller counts it. */
#ifndef FG_COLLECTOR_EXPORTERS_H
#define FG_COLLECTOR_EXPORTERS_H

#include <stddef.h>
#include <stdint.h>

#include "collector/netflow_v5.h"
#include "common/addr.h"

typedef struct {
    fg_addr_t addr;
    uint32_t domain;
    uint8_t proto; /* 5 = NetFlow v5; 9, 10, ... later */
    uint8_t used;
    uint64_t datagrams;
    nf5_seq_t seq;
} exp_entry_t;

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
