/* collector: from flow-export datagrams to FlowBatch messages per shard.
 *
 * The daemon layer of floodgate-collector, apart from its sockets' receive
 * loop (main.c) so tests can drive it datagram by datagram. For each
 * datagram: drop it unless its exporter is allowed, dispatch on the version
 * field (NetFlow v5, v9, IPFIX; sFlow's first two bytes are 0), decode
 * into raw records (v9 / IPFIX through the template cache), keep those that
 * touch a monitored network (raw_filter), and add each to the batch of its
 * shard, hash(host) % shards. A shard's batch is sent when it holds
 * batch_records records or its oldest record waited batch_ms, on a ZeroMQ
 * PUSH socket connected to aggregator/pull_connect[shard], never blocking: a
 * batch the socket cannot take now (SNDHWM reached) is dropped and counted,
 * and its sequence number is spent, so the shard sees the gap.
 *
 * Causes that repeat per packet are logged rate-limited; the counters are
 * the real record. */
#ifndef FG_COLLECTOR_COLLECTOR_H
#define FG_COLLECTOR_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"

typedef struct {
    uint64_t datagrams;        /* handed to col_datagram() */
    uint64_t bad_version;      /* version field of no supported protocol */
    uint64_t short_header;     /* shorter than the protocol's header */
    uint64_t bad_count;        /* record count 0 or above the protocol's cap */
    uint64_t truncated;        /* shorter than its count of records says */
    uint64_t trailing;         /* longer than its records: decoded anyway */
    uint64_t oversize;         /* cut by the receive buffer (main.c) */
    uint64_t records;          /* decoded */
    uint64_t kept;             /* records touching a monitored network */
    uint64_t filtered;         /* records touching none */
    uint64_t out_records;      /* fg_flow_t added to a batch (kept + both-ends extra) */
    uint64_t records_sent;     /* records in batches ZeroMQ accepted */
    uint64_t batches_sent;
    uint64_t batches_dropped;  /* send queue full (or out of memory) */
    uint64_t records_dropped;  /* records in those batches, or not added */
    uint64_t seq_lost;         /* records v5 / IPFIX sequences say we missed */
    uint64_t seq_resets;       /* sequence jumps taken as exporter restarts */
    uint64_t seq_reorders;     /* datagrams older than the expected sequence */
    uint64_t exporters_untracked; /* datagrams of streams the table refused */
    uint64_t kernel_drops;     /* SO_RXQ_OVFL: dropped by the socket (main.c) */
    uint64_t recv_errors;      /* recvmmsg failures (main.c) */
    uint64_t denied;           /* datagrams of exporters not in exporter_allow */
    uint64_t bad_sets;         /* v9 / IPFIX datagrams with a malformed set:
                                * decoded up to it */
    uint64_t seq_lost_datagrams; /* datagrams v9 / sFlow sequences say we missed */
    uint64_t recorded;         /* datagrams written to the recording (main.c) */
    uint64_t record_dropped;   /* datagrams the recording could not take */
    uint64_t record_files;     /* recording files opened */
    uint64_t record_errors;    /* recording open / write / delete failures */
} col_stats_t;

typedef struct col col_t;

/* A collector for cfg (borrowed: it must outlive the collector): one batch
 * builder and one PUSH socket per shard, connected to pull_connect[i] with
 * SNDHWM send_hwm. Returns NULL (with a reason in err) when a socket cannot
 * be made or memory runs out. */
col_t *col_new(const fg_config_t *cfg, char *err, size_t errlen);

/* Where a collector made by col_new_sink hands each packed FlowBatch of
 * len bytes for shard (borrowed for the call), instead of a socket. */
typedef void (*col_batch_fn)(void *arg, int shard, const uint8_t *buf, size_t len);

/* A collector without sockets, for `floodgate replay`: the same decoding,
 * filtering and batching as col_new, each batch handed to fn(arg, ...)
 * (every one counted as sent). NULL (reason in err) when out of memory. */
col_t *col_new_sink(const fg_config_t *cfg, col_batch_fn fn, void *arg, char *err,
                    size_t errlen);

/* From now on, use wall_ms (unix ms) as the wall-clock time: a batch's send
 * time and an sFlow sample's time; 0 goes back to the clock. A replay sets
 * the capture's time before each datagram, so nothing reads the clock.
 * Cannot fail. */
void col_set_wall_ms(col_t *self, uint64_t wall_ms);

/* Flush nothing, free everything, NULL the caller's pointer. Idempotent.
 * Call col_flush_all() first to send what is pending. */
void col_destroy(col_t **self_p);

/* The collector's ZeroMQ sockets (zsec.h): for zsec_tick and metrics;
 * NULL for a collector made by col_new_sink (no sockets). */
struct zsec;
struct zsec *col_zsec(col_t *self);

/* Handle one datagram of len bytes from exporter (its source address).
 * now_ms is a monotonic clock used for batch ages. Counts everything in the
 * stats; sends the batches that become full. Cannot fail. */
void col_datagram(col_t *self, const uint8_t *buf, size_t len, const fg_addr_t *exporter,
                  uint64_t now_ms);

/* The exporter-stream protocol of records handed over already decoded. */
#define COL_PROTO_NFCAPD 1

/* Handle n records already decoded (an nfcapd file read by `floodgate
 * replay`) of exporter as if one datagram brought them: the same exporter
 * check, filtering and batching as col_datagram's. Cannot fail. */
struct raw_flow;
void col_records(col_t *self, const struct raw_flow *recs, int n, const fg_addr_t *exporter,
                 uint64_t now_ms);

/* Send the batches whose oldest record is batch_ms old or older. */
void col_flush_due(col_t *self, uint64_t now_ms);

/* Send every non-empty batch (shutdown). */
void col_flush_all(col_t *self);

/* Milliseconds until the next batch is due (0 when one is due now), or
 * batch_ms when every batch is empty: a poll() timeout. */
int col_next_flush_ms(const col_t *self, uint64_t now_ms);

/* The counters, for main.c to add socket-level ones and to read. */
col_stats_t *col_stats(col_t *self);

/* The counters as "key=value key=value ..." into buf (truncated to len).
 * Returns buf. */
char *col_stats_format(const col_t *self, char *buf, size_t len);

/* The v9 / IPFIX template counters and the sFlow counters (borrowed, for
 * the metrics). */
const struct tpl_stats *col_template_stats(const col_t *self);
const struct sflow_stats *col_sflow_stats(const col_t *self);

/* What went to one shard. */
typedef struct {
    uint64_t batches_sent;
    uint64_t batches_dropped; /* its send queue was full (or out of memory) */
    uint64_t records_sent;
    uint64_t records_dropped;
} col_shard_stats_t;

/* Number of shards, and shard i's counters (borrowed; 0 <= i < count).
 * Cannot fail. */
int col_shard_count(const col_t *self);
const col_shard_stats_t *col_shard_stats(const col_t *self, int i);

/* The exporter streams' table (borrowed), for the metrics: see
 * collector/exporters.h. */
const struct exp_table *col_exporters(const col_t *self);

/* Log one line per exporter stream with its counters, sampling and
 * sequence accounting, for the collector/metrics_exporters streams with the
 * most records (at most 256), and one line counting the others, at info
 * level. */
void col_log_exporters(const col_t *self);

#endif
