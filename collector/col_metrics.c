/* col_metrics: what the collector exports. Every counter of col_stats_t,
 * grouped in families by cause, plus one series per exporter stream. */
#include "collector/col_metrics.h"

#include <inttypes.h>
#include <stdio.h>

#include "collector/exporters.h"
#include "collector/sflow.h"
#include "collector/templates.h"
#include "common/log.h"

#define COL_HEALTH_DROP_MS 10000

/* Per-exporter label sets, at most (collector/metrics_exporters). */
#define COL_METRICS_EXPORTERS_MAX 10000

typedef struct {
    col_t *col;
    int top_n;
    fg_progress_t drops;
} col_mctx_t;

#define COL_METRIC_FAMILIES 9

/* The values of one stream in the order of the families below. */
static void s_stream_values(const exp_entry_t *e, uint64_t v[COL_METRIC_FAMILIES])
{
    const uint64_t x[COL_METRIC_FAMILIES] = {
        e->st.datagrams, e->seq.lost, e->seq.resets, e->st.records, e->st.filtered,
        e->st.malformed, e->st.sets_no_template, e->n_templates, e->sampling};
    for (int i = 0; i < COL_METRIC_FAMILIES; i++)
        v[i] += x[i];
}

/* The label set "other": every stream not among the top ones, and those
 * that left the table (their counters were kept), so the sum over label
 * sets is the total. Sampling has no sum: 0. */
static void s_other_values(const exp_table_t *t, const uint32_t *top, size_t n,
                           uint64_t v[COL_METRIC_FAMILIES])
{
    const exp_table_stats_t *x = exp_stats(t);
    v[0] = x->gone.datagrams;
    v[1] = x->gone_lost;
    v[2] = x->gone_resets;
    v[3] = x->gone.records;
    v[4] = x->gone.filtered;
    v[5] = x->gone.malformed;
    v[6] = x->gone.sets_no_template;
    for (size_t i = 0; i < exp_capacity(t); i++) {
        const exp_entry_t *e = exp_at(t, i);
        bool in_top = false;
        for (size_t k = 0; e && k < n && !in_top; k++)
            in_top = top[k] == i;
        if (e && !in_top)
            s_stream_values(e, v);
    }
    v[8] = 0;
}

/* Per-exporter series, bounded: the collector/metrics_exporters streams
 * with the most records, then exporter="other". */
static void s_exporters(fg_mout_t *o, void *arg)
{
    const col_mctx_t *c = arg;
    const exp_table_t *t = col_exporters(c->col);
    static const struct {
        const char *name, *help;
    } fam[COL_METRIC_FAMILIES] = {
        {"floodgate_collector_exporter_datagrams_total", "Datagrams decoded per exporter stream."},
        {"floodgate_collector_exporter_sequence_lost_records_total",
         "Records (v5, IPFIX) or datagrams (v9, sFlow) the exporter's sequence numbers say "
         "never arrived, per exporter stream: plausible gaps only."},
        {"floodgate_collector_exporter_sequence_resets_total",
         "Sequence jumps beyond a plausible gap or backwards, per exporter stream."},
        {"floodgate_collector_exporter_records_total",
         "Flow records decoded per exporter stream."},
        {"floodgate_collector_exporter_records_filtered_total",
         "Flow records touching no monitored network, per exporter stream."},
        {"floodgate_collector_exporter_malformed_total",
         "Datagrams or sets that could not be decoded, per exporter stream."},
        {"floodgate_collector_exporter_sets_no_template_total",
         "v9 / IPFIX data sets whose template was unknown, per exporter stream."},
        {"floodgate_collector_exporter_templates",
         "v9 / IPFIX templates held, per exporter stream."},
        {"floodgate_collector_exporter_sampling",
         "Sampling rate the exporter announced (0: none), per exporter stream."},
    };
    uint32_t top[COL_METRICS_EXPORTERS_MAX];
    size_t want = (size_t)c->top_n;
    size_t n = exp_top(t, top, want < COL_METRICS_EXPORTERS_MAX ? want : COL_METRICS_EXPORTERS_MAX);
    uint64_t other[COL_METRIC_FAMILIES] = {0};
    s_other_values(t, top, n, other);
    for (size_t f = 0; f < COL_METRIC_FAMILIES; f++) {
        fg_mout_family(o, fam[f].name, f >= 7 ? "gauge" : "counter", fam[f].help);
        for (size_t k = 0; k < n; k++) {
            const exp_entry_t *e = exp_at(t, top[k]);
            char a[FG_ADDR_STRLEN], l[160];
            uint64_t v[COL_METRIC_FAMILIES] = {0};
            /* proto: 5, 9, 10 (NetFlow / IPFIX version) or 105 (sFlow v5) */
            snprintf(l, sizeof(l), "exporter=\"%s\",proto=\"%u\",domain=\"%" PRIu32 "\"",
                     fg_addr_format(&e->addr, a), e->proto, e->domain);
            s_stream_values(e, v);
            fg_mout_u64(o, fam[f].name, l, v[f]);
        }
        fg_mout_u64(o, fam[f].name, "exporter=\"other\",proto=\"\",domain=\"\"", other[f]);
    }
    fg_mout_family(o, "floodgate_collector_exporters", "gauge", "Exporter streams tracked.");
    fg_mout_u64(o, "floodgate_collector_exporters", NULL, exp_count(t));
    fg_mout_family(o, "floodgate_collector_exporters_established", "gauge",
                   "Exporter streams established (never displaced by new arrivals).");
    fg_mout_u64(o, "floodgate_collector_exporters_established", NULL, exp_established(t));
}

/* Batches and records per destination shard, sent or dropped. */
static void s_shards(fg_mout_t *o, void *arg)
{
    const col_mctx_t *c = arg;
    static const char bn[] = "floodgate_collector_shard_batches_total";
    static const char rn[] = "floodgate_collector_shard_records_total";
    fg_mout_family(o, bn, "counter",
                   "FlowBatch messages per shard: sent, or dropped (send queue full).");
    fg_mout_family(o, rn, "counter", "Flow records per shard, in batches sent or dropped.");
    for (int i = 0; i < col_shard_count(c->col); i++) {
        const col_shard_stats_t *st = col_shard_stats(c->col, i);
        char l[64];
        snprintf(l, sizeof(l), "shard=\"%d\",result=\"sent\"", i);
        fg_mout_u64(o, bn, l, st->batches_sent);
        fg_mout_u64(o, rn, l, st->records_sent);
        snprintf(l, sizeof(l), "shard=\"%d\",result=\"dropped\"", i);
        fg_mout_u64(o, bn, l, st->batches_dropped);
        fg_mout_u64(o, rn, l, st->records_dropped);
    }
}

static int s_health(char *why, size_t len, void *arg)
{
    col_mctx_t *c = arg;
    const col_stats_t *st = col_stats(c->col);
    uint64_t idle = fg_progress_idle_ms(&c->drops, st->records_dropped + st->batches_dropped);
    if (st->records_dropped + st->batches_dropped > 0 && idle < COL_HEALTH_DROP_MS) {
        snprintf(why, len, "batches dropped in the last %d s (aggregator down?)",
                 COL_HEALTH_DROP_MS / 1000);
        return -1;
    }
    return 0;
}

static const fg_series_t s_series[] = {
    FG_COUNTER(col_stats_t, datagrams, "floodgate_collector_datagrams_total", "",
               "Datagrams received."),
    FG_COUNTER(col_stats_t, bad_version, "floodgate_collector_datagrams_malformed_total",
               "reason=\"bad_version\"", "Datagrams refused, by reason."),
    FG_COUNTER(col_stats_t, short_header, "floodgate_collector_datagrams_malformed_total",
               "reason=\"short_header\"", ""),
    FG_COUNTER(col_stats_t, bad_count, "floodgate_collector_datagrams_malformed_total",
               "reason=\"bad_count\"", ""),
    FG_COUNTER(col_stats_t, truncated, "floodgate_collector_datagrams_malformed_total",
               "reason=\"truncated\"", ""),
    FG_COUNTER(col_stats_t, oversize, "floodgate_collector_datagrams_malformed_total",
               "reason=\"oversize\"", ""),
    FG_COUNTER(col_stats_t, bad_sets, "floodgate_collector_datagrams_malformed_total",
               "reason=\"bad_set\"", ""),
    FG_COUNTER(col_stats_t, recorded, "floodgate_collector_recorded_datagrams_total",
               "result=\"written\"",
               "Datagrams of the recording (collector/record_file): written, or dropped (no "
               "file could be opened or written)."),
    FG_COUNTER(col_stats_t, record_dropped, "floodgate_collector_recorded_datagrams_total",
               "result=\"dropped\"", ""),
    FG_COUNTER(col_stats_t, record_files, "floodgate_collector_record_files_total", "",
               "Recording files opened."),
    FG_COUNTER(col_stats_t, record_errors, "floodgate_collector_record_errors_total", "",
               "Recording failures: a file not opened, written or deleted."),
    FG_COUNTER(col_stats_t, trailing, "floodgate_collector_datagrams_trailing_total", "",
               "Datagrams longer than their records (decoded anyway)."),
    FG_COUNTER(col_stats_t, records, "floodgate_collector_records_total", "result=\"decoded\"",
               "Flow records: decoded from datagrams, kept (touching a monitored network), "
               "filtered (touching none), batched (flows added to a batch for a shard, both "
               "ends counted), sent (in batches ZeroMQ accepted), dropped (in batches the "
               "shards' queues refused, or not batched)."),
    FG_COUNTER(col_stats_t, kept, "floodgate_collector_records_total", "result=\"kept\"", ""),
    FG_COUNTER(col_stats_t, filtered, "floodgate_collector_records_total", "result=\"filtered\"",
               ""),
    FG_COUNTER(col_stats_t, out_records, "floodgate_collector_records_total",
               "result=\"batched\"", ""),
    FG_COUNTER(col_stats_t, records_sent, "floodgate_collector_records_total", "result=\"sent\"",
               ""),
    FG_COUNTER(col_stats_t, records_dropped, "floodgate_collector_records_total",
               "result=\"dropped\"", ""),
    FG_COUNTER(col_stats_t, batches_sent, "floodgate_collector_batches_sent_total", "",
               "FlowBatch messages queued to the shards."),
    FG_COUNTER(col_stats_t, batches_dropped, "floodgate_collector_batches_dropped_total", "",
               "FlowBatch messages dropped: a shard's send queue was full."),
    FG_COUNTER(col_stats_t, seq_lost, "floodgate_collector_sequence_lost_records_total", "",
               "Records the exporters' sequence numbers say never arrived."),
    FG_COUNTER(col_stats_t, seq_resets, "floodgate_collector_sequence_resets_total", "",
               "Sequence jumps taken as exporter restarts."),
    FG_COUNTER(col_stats_t, seq_reorders, "floodgate_collector_sequence_reorders_total", "",
               "Datagrams older than the expected sequence."),
    FG_COUNTER(
        col_stats_t, exporters_untracked, "floodgate_collector_exporters_untracked_datagrams_total",
        "", "Datagrams of exporter streams the table refused (decoded without per-stream state)."),
    FG_COUNTER(col_stats_t, kernel_drops, "floodgate_collector_socket_drops_total", "",
               "Datagrams the kernel dropped: the receive buffer was full."),
    FG_COUNTER(col_stats_t, recv_errors, "floodgate_collector_receive_errors_total", "",
               "recvmmsg failures."),
    FG_COUNTER(col_stats_t, denied, "floodgate_collector_datagrams_denied_total", "",
               "Datagrams of exporters not in collector/exporter_allow."),
    FG_COUNTER(col_stats_t, seq_lost_datagrams, "floodgate_collector_sequence_lost_datagrams_total",
               "", "Datagrams the v9 / sFlow sequence numbers say never arrived."),
};

/* v9 / IPFIX template handling, exporter streams and sFlow sample counters. */
static const fg_series_t s_tpl_series[] = {
    FG_COUNTER(tpl_stats_t, templates_added, "floodgate_collector_templates_total",
               "result=\"added\"", "v9 / IPFIX template records, by outcome."),
    FG_COUNTER(tpl_stats_t, templates_replaced, "floodgate_collector_templates_total",
               "result=\"replaced\"", ""),
    FG_COUNTER(tpl_stats_t, templates_bad, "floodgate_collector_templates_total", "result=\"bad\"",
               ""),
    FG_COUNTER(tpl_stats_t, templates_capped, "floodgate_collector_templates_total",
               "result=\"capped\"", ""),
    FG_COUNTER(tpl_stats_t, templates_expired, "floodgate_collector_templates_total",
               "result=\"expired\"", ""),
    FG_COUNTER(tpl_stats_t, templates_withdrawn, "floodgate_collector_templates_total",
               "result=\"withdrawn\"", ""),
    FG_COUNTER(tpl_stats_t, templates_evicted, "floodgate_collector_templates_total",
               "result=\"evicted\"", ""),
    FG_COUNTER(tpl_stats_t, sets_no_template, "floodgate_collector_sets_total",
               "reason=\"no_template\"", "v9 / IPFIX sets not decoded, by reason."),
    FG_COUNTER(tpl_stats_t, sets_malformed, "floodgate_collector_sets_total",
               "reason=\"malformed\"", ""),
    FG_COUNTER(tpl_stats_t, sets_reserved, "floodgate_collector_sets_total",
               "reason=\"reserved_id\"", ""),
    FG_COUNTER(tpl_stats_t, sets_held, "floodgate_collector_sets_held_total", "",
               "v9 / IPFIX data sets held for their template "
               "(collector/template_hold_ms)."),
    FG_COUNTER(tpl_stats_t, sets_replayed, "floodgate_collector_sets_replayed_total", "",
               "Held data sets decoded when their template came."),
    FG_COUNTER(tpl_stats_t, options_records, "floodgate_collector_options_records_total", "",
               "v9 / IPFIX options data records (sampling, boot time)."),
};

static const fg_series_t s_stream_series[] = {
    FG_COUNTER(exp_table_stats_t, added, "floodgate_collector_exporter_streams_total",
               "event=\"added\"",
               "Exporter streams: added, expired (idle), evicted (displaced by a "
               "new one), refused (no stream could be displaced), established."),
    FG_COUNTER(exp_table_stats_t, expired, "floodgate_collector_exporter_streams_total",
               "event=\"expired\"", ""),
    FG_COUNTER(exp_table_stats_t, evicted, "floodgate_collector_exporter_streams_total",
               "event=\"evicted\"", ""),
    FG_COUNTER(exp_table_stats_t, refused, "floodgate_collector_exporter_streams_total",
               "event=\"refused\"", ""),
    FG_COUNTER(exp_table_stats_t, established, "floodgate_collector_exporter_streams_total",
               "event=\"established\"", ""),
};

static const fg_series_t s_sflow_series[] = {
    FG_COUNTER(sflow_stats_t, flow_samples, "floodgate_collector_sflow_samples_total",
               "kind=\"flow\"", "sFlow samples, by kind and outcome."),
    FG_COUNTER(sflow_stats_t, counter_samples, "floodgate_collector_sflow_samples_total",
               "kind=\"counter\"", ""),
    FG_COUNTER(sflow_stats_t, other_samples, "floodgate_collector_sflow_samples_total",
               "kind=\"other\"", ""),
    FG_COUNTER(sflow_stats_t, no_flow_record, "floodgate_collector_sflow_samples_total",
               "kind=\"flow_no_record\"", ""),
    FG_COUNTER(sflow_stats_t, unparsed_headers, "floodgate_collector_sflow_samples_total",
               "kind=\"flow_unparsed_header\"", ""),
    FG_COUNTER(sflow_stats_t, agent_drops, "floodgate_collector_sflow_agent_drops_total", "",
               "Packets sFlow agents say they could not sample."),
};

fg_metrics_t *col_metrics_start(const fg_config_t *cfg, col_t *col)
{
    fg_metrics_t *m = fg_metrics_start("collector", cfg->collector.metrics_listen);
    if (!m)
        return NULL;
    col_mctx_t *c = fg_metrics_calloc(m, sizeof(*c));
    if (!c || fg_metrics_table(m, s_series, FG_NSERIES(s_series), col_stats(col), "") ||
        fg_metrics_table(m, s_tpl_series, FG_NSERIES(s_tpl_series), col_template_stats(col), "") ||
        fg_metrics_table(m, s_stream_series, FG_NSERIES(s_stream_series),
                         exp_stats(col_exporters(col)), "") ||
        fg_metrics_table(m, s_sflow_series, FG_NSERIES(s_sflow_series), col_sflow_stats(col), "") ||
        fg_metrics_add_fn(m, s_exporters, c) != 0 || fg_metrics_add_fn(m, s_shards, c) != 0) {
        fg_error("event=metrics_failed reason=\"out of memory\"");
        fg_metrics_destroy(&m);
        return NULL;
    }
    c->col = col;
    c->top_n = cfg->collector.metrics_exporters;
    fg_metrics_set_health(m, s_health, c);
    return m;
}
