/* raw: a flow record as a decoder hands it over, before filtering.
 *
 * Every wire decoder (NetFlow v5, v9, IPFIX, sFlow) fills
 * raw_flow_t records with source and destination as exported. raw_filter()
 * then keeps only the records that touch a monitored network and turns each
 * into one or two fg_flow_t, with host/peer/direction set. */
#ifndef FG_COLLECTOR_RAW_H
#define FG_COLLECTOR_RAW_H

#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/flow.h"

typedef struct raw_flow {
    fg_addr_t src;
    fg_addr_t dst;
    uint64_t packets;  /* already multiplied by sampling */
    uint64_t bytes;    /* already multiplied by sampling */
    uint64_t start_ms; /* unix ms */
    uint64_t end_ms;   /* unix ms */
    uint32_t sampling; /* rate applied, >= 1 */
    uint16_t sport;
    uint16_t dport;
    uint8_t proto;
    uint8_t tcp_flags;
    uint8_t frag; /* 1 when the record is of IP fragments */
} raw_flow_t;

/* Where a decoder puts its records: a buffer the caller owns, handed to
 * flush(arg, recs, n) whenever it is full (and by the caller at the end).
 * Decoders fill raw_sink_slot() in place and raw_sink_commit() it, so a
 * record found bad half-way is simply not committed. */
typedef struct {
    raw_flow_t *recs;
    int n;
    int cap;
    void (*flush)(void *arg, const raw_flow_t *recs, int n);
    void *arg;
} raw_sink_t;

static inline raw_flow_t *raw_sink_slot(raw_sink_t *s)
{
    if (s->n == s->cap) {
        s->flush(s->arg, s->recs, s->n);
        s->n = 0;
    }
    return &s->recs[s->n];
}

static inline void raw_sink_commit(raw_sink_t *s)
{
    s->n++;
}

/* Hand what is buffered to flush (nothing when empty). */
static inline void raw_sink_drain(raw_sink_t *s)
{
    if (s->n) {
        s->flush(s->arg, s->recs, s->n);
        s->n = 0;
    }
}

/* Map a raw record to the records the aggregators see, into out[0..1]:
 * destination monitored -> host = dst, peer = src, FG_DIR_IN; source
 * monitored -> host = src, peer = dst, FG_DIR_OUT; both -> two records (the
 * incoming one first). Returns how many were written: 0 means neither end is
 * monitored (the caller counts it as filtered). The exporter field of out is
 * set to 0. Cannot fail. */
int raw_filter(const fg_config_t *cfg, const raw_flow_t *raw, fg_flow_t out[2]);

#endif
