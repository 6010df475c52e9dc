/* agg: one aggregator shard's state, without sockets (agg.c, agg_hold.c,
 * agg_window.c, agg_expire.c; shared internals in agg_int.h).
 *
 * FlowBatch bytes go in (agg_ingest), records land in the host table
 * (agg_add_record), and every tick agg_close_window turns the window's
 * counters into a packed WindowBatch holding the hosts at or above their
 * watch floor, the hostgroup totals, and top contributors of watched hosts.
 * Time is always given by the caller, so tests need no clock. Leaf module:
 * everything refused or lost is counted in agg_stats_t, nothing is logged. */
#ifndef FG_AGG_H
#define FG_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/flow.h"

typedef struct {
    uint64_t batches;          /* FlowBatch messages received */
    uint64_t malformed;        /* messages that did not unpack */
    uint64_t batches_lost;     /* sequence gaps, summed over collectors */
    uint64_t refused_shard;    /* batches of another shard or shard count (refused) */
    uint64_t collector_resets; /* a collector's sequence went back (restart) */
    uint64_t collectors_untracked; /* too many collectors to track sequences */
    uint64_t records;          /* records received */
    uint64_t unmonitored;      /* records whose host is in no hostgroup (ignored) */
    uint64_t stale;            /* records older than the horizon (dropped) */
    uint64_t folded;           /* records of a window already published, counted in the open one */
    uint64_t future;           /* records later than their batch's send time (retimed) */
    uint64_t clipped;          /* records whose rate was clipped to the ceiling */
    uint64_t hosts_refused;    /* records of new hosts while the table was full */
    uint64_t hosts_evicted;    /* idle hosts evicted to make room for new ones */
    uint64_t hosts_removed;    /* hosts forgotten after host_idle */
    uint64_t watched;          /* hosts holding top-contributor state now */
    uint64_t watch_refused;    /* hosts above the floor without top-contributor state */
    uint64_t windows;          /* WindowBatch messages built */
    uint64_t window_us;        /* last window close, microseconds */
    uint64_t last_batch_ms;    /* unix ms of the last FlowBatch taken in (0: none yet) */
    uint64_t last_hosts_published; /* hosts in the last WindowBatch */
    uint64_t spread;           /* long records whose rate is held (spread) */
    uint64_t spread_renewed;   /* ... that replaced the held rate of their flow */
    uint64_t spread_pooled;    /* ... held in their host's pool, without flow identity */
    uint64_t spread_late;      /* long records whose hold was over at arrival (backlog) */
    uint64_t spread_capped;    /* ... held less than their duration (active timeout, hold_max) */
    uint64_t spread_refused;   /* long records counted at arrival: no room to spread */
    uint64_t bad_times;        /* records ending before they start: counted at arrival */
    uint64_t long_flows;       /* long flows held after the last window close */
    uint64_t hold_pools;       /* host pools of small held rates in use, idem */
    uint64_t exporters_untracked; /* long records of exporters beyond the timeout table */
} agg_stats_t;

typedef struct agg agg_t;

/* A shard context for cfg (borrowed: it must outlive the context) and shard
 * index, or NULL when out of memory. */
agg_t *agg_new(const fg_config_t *cfg, uint32_t shard);

/* Free and NULL the caller's pointer. Idempotent. */
void agg_destroy(agg_t **self_p);

/* Take one FlowBatch message: check its sequence, add its records. Returns
 * 0, or -1 when the bytes are not a valid FlowBatch (counted as malformed)
 * or are a batch for another shard or shard count (counted as
 * refused_shard); nothing is added then. */
int agg_ingest(agg_t *self, const uint8_t *buf, size_t len, uint64_t now_ms);

/* Add one record to its host's window; exporter is the exporter's
 * address (may be NULL). This is the single place where a record meets the
 * counters. A record's time is its end (flow end, or sample time: start ==
 * end), bounded by the send time of the batch being ingested (now_ms
 * outside agg_ingest); a record older than the horizon is stale (counted,
 * dropped). A short record (or an sFlow sample) counts whole in the open
 * window, whose rate divides the counts by the time the host's records
 * cover (so a backlog or late export is not multiplied). A record lasting
 * more than one tick has its rate (packets / duration, clipped to the
 * ceiling) held from the open window until the next record of the same
 * flow (host, peer, protocol, ports) replaces it, or its hold ends: its
 * duration, bounded by the exporter's learnt active timeout and hold_max,
 * less the time the batch waited, plus a grace (1/20); its flow counts
 * now; with no room to hold it (held-flow table or wheel full), one
 * window's share of it (packets x window / duration) counts, the rest
 * not. When the table is full an idle host is evicted for a new one.
 * Returns 0, or -1 when the record was not counted (stale, unmonitored
 * host or table full, all counted). */
int agg_add_record(agg_t *self, const fg_flow_t *rec, const fg_addr_t *exporter,
                   uint64_t now_ms);

/* Close the window ending at now_ms rounded down to a multiple of tick_ms:
 * compute rates, build and pack the WindowBatch (seq consecutive from 1),
 * reset the window, forget idle hosts. Returns the packed message, valid
 * until the next call (owned by the context), with its length in *len, or
 * NULL when out of memory (the window is still reset). */
const uint8_t *agg_close_window(agg_t *self, uint64_t now_ms, size_t *len);

/* Counters, and hosts tracked right now. */
const agg_stats_t *agg_stats(const agg_t *self);

/* The config agg_new was given changed in place (SIGHUP): recompute the
 * watch floors and map every tracked host to its hostgroup again, so that
 * new prefixes and thresholds take effect at once. Counters, rate histories
 * and held long flows stay. Call between windows (after agg_close_window).
 * Returns how many hosts changed group. Cannot fail. */
size_t agg_reload(agg_t *self);
size_t agg_hosts_tracked(const agg_t *self);

/* The key=value form of every counter, for one log line. */
void agg_format_stats(const agg_t *self, char *buf, size_t len);

#endif
