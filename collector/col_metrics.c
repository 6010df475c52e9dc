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

static int s_register(fg_metrics_t *m, col_stats_t *st)
{
    static const char dg[] = "floodgate_collector_datagrams_total";
    static const char bad[] = "floodgate_collector_datagrams_malformed_total";
    static const char rec[] = "floodgate_collector_records_total";
    static const char badh[] = "Datagrams refused, by reason.";
    static const char rech[] =
        "Flow records: decoded from datagrams, kept (touching a monitored network), "
        "filtered (touching none), sent (flows sent to shards, both ends counted), "
        "dropped (in batches the shards' queues refused).";
    int rc = 0;
    rc |= fg_metrics_counter(m, dg, "Datagrams received.", "", &st->datagrams);
    rc |= fg_metrics_counter(m, bad, badh, "reason=\"bad_version\"", &st->bad_version);
    rc |= fg_metrics_counter(m, bad, badh, "reason=\"short_header\"", &st->short_header);
    rc |= fg_metrics_counter(m, bad, badh, "reason=\"bad_count\"", &st->bad_count);
    rc |= fg_metrics_counter(m, bad, badh, "reason=\"truncated\"", &st->truncated);
    rc |= fg_metrics_counter(m, bad, badh, "reason=\"oversize\"", &st->oversize);
    rc |= fg_metrics_counter(m, "floodgate_collector_datagrams_trailing_total",
                             "Datagrams longer than their records (decoded anyway).", "",
                             &st->trailing);
    rc |= fg_metrics_counter(m, rec, rech, "result=\"decoded\"", &st->records);
    rc |= fg_metrics_counter(m, rec, rech, "result=\"kept\"", &st->kept);
    rc |= fg_metrics_counter(m, rec, rech, "result=\"filtered\"", &st->filtered);
    rc |= fg_metrics_counter(m, rec, rech, "result=\"sent\"", &st->out_records);
    rc |= fg_metrics_counter(m, rec, rech, "result=\"dropped\"", &st->records_dropped);
    rc |= fg_metrics_counter(m, "floodgate_collector_batches_sent_total",
                             "FlowBatch messages queued to the shards.", "", &st->batches_sent);
    rc |= fg_metrics_counter(m, "floodgate_collector_batches_dropped_total",
                             "FlowBatch messages dropped: a shard's send queue was full.", "",
                             &st->batches_dropped);
    rc |= fg_metrics_counter(m, "floodgate_collector_sequence_lost_records_total",
                             "Records the exporters' sequence numbers say never arrived.", "",
                             &st->seq_lost);
    rc |= fg_metrics_counter(m, "floodgate_collector_sequence_resets_total",
                             "Sequence jumps taken as exporter restarts.", "", &st->seq_resets);
    rc |= fg_metrics_counter(m, "floodgate_collector_sequence_reorders_total",
                             "Datagrams older than the expected sequence.", "",
                             &st->seq_reorders);
    rc |= fg_metrics_counter(m, "floodgate_collector_exporters_untracked_datagrams_total",
                             "Datagrams of exporter streams the table refused (decoded without per-stream state).", "",
                             &st->exporters_untracked);
    rc |= fg_metrics_counter(m, "floodgate_collector_socket_drops_total",
                             "Datagrams the kernel dropped: the receive buffer was full.", "",
                             &st->kernel_drops);
    rc |= fg_metrics_counter(m, "floodgate_collector_receive_errors_total",
                             "recvmmsg failures.", "", &st->recv_errors);
    rc |= fg_metrics_counter(m, "floodgate_collector_datagrams_denied_total",
                             "Datagrams of exporters not in collector/exporter_allow.", "",
                             &st->denied);
    rc |= fg_metrics_counter(m, bad, badh, "reason=\"bad_set\"", &st->bad_sets);
    rc |= fg_metrics_counter(m, "floodgate_collector_sequence_lost_datagrams_total",
                             "Datagrams the v9 / sFlow sequence numbers say never arrived.", "",
                             &st->seq_lost_datagrams);
    return rc;
}

/* v9 / IPFIX template handling and sFlow sample counters. */
static int s_register_decoders(fg_metrics_t *m, col_t *col)
{
    static const char tn[] = "floodgate_collector_templates_total";
    static const char th[] = "v9 / IPFIX template records, by outcome.";
    static const char sn[] = "floodgate_collector_sets_total";
    static const char sh[] = "v9 / IPFIX sets not decoded, by reason.";
    static const char fn[] = "floodgate_collector_sflow_samples_total";
    static const char fh[] = "sFlow samples, by kind and outcome.";
    tpl_stats_t *t = (tpl_stats_t *)col_template_stats(col);
    sflow_stats_t *f = (sflow_stats_t *)col_sflow_stats(col);
    int rc = 0;
    rc |= fg_metrics_counter(m, tn, th, "result=\"added\"", &t->templates_added);
    rc |= fg_metrics_counter(m, tn, th, "result=\"replaced\"", &t->templates_replaced);
    rc |= fg_metrics_counter(m, tn, th, "result=\"bad\"", &t->templates_bad);
    rc |= fg_metrics_counter(m, tn, th, "result=\"capped\"", &t->templates_capped);
    rc |= fg_metrics_counter(m, tn, th, "result=\"expired\"", &t->templates_expired);
    rc |= fg_metrics_counter(m, tn, th, "result=\"withdrawn\"", &t->templates_withdrawn);
    rc |= fg_metrics_counter(m, tn, th, "result=\"evicted\"", &t->templates_evicted);
    exp_table_stats_t *x = (exp_table_stats_t *)exp_stats(col_exporters(col));
    static const char xn[] = "floodgate_collector_exporter_streams_total";
    static const char xh[] = "Exporter streams: added, expired (idle), evicted (displaced by a "
                             "new one), refused (no stream could be displaced), established.";
    rc |= fg_metrics_counter(m, xn, xh, "event=\"added\"", &x->added);
    rc |= fg_metrics_counter(m, xn, xh, "event=\"expired\"", &x->expired);
    rc |= fg_metrics_counter(m, xn, xh, "event=\"evicted\"", &x->evicted);
    rc |= fg_metrics_counter(m, xn, xh, "event=\"refused\"", &x->refused);
    rc |= fg_metrics_counter(m, xn, xh, "event=\"established\"", &x->established);
    rc |= fg_metrics_counter(m, sn, sh, "reason=\"no_template\"", &t->sets_no_template);
    rc |= fg_metrics_counter(m, sn, sh, "reason=\"malformed\"", &t->sets_malformed);
    rc |= fg_metrics_counter(m, sn, sh, "reason=\"reserved_id\"", &t->sets_reserved);
    rc |= fg_metrics_counter(m, "floodgate_collector_sets_held_total",
                             "v9 / IPFIX data sets held for their template "
                             "(collector/template_hold_ms).", "", &t->sets_held);
    rc |= fg_metrics_counter(m, "floodgate_collector_sets_replayed_total",
                             "Held data sets decoded when their template came.", "",
                             &t->sets_replayed);
    rc |= fg_metrics_counter(m, "floodgate_collector_options_records_total",
                             "v9 / IPFIX options data records (sampling, boot time).", "",
                             &t->options_records);
    rc |= fg_metrics_counter(m, fn, fh, "kind=\"flow\"", &f->flow_samples);
    rc |= fg_metrics_counter(m, fn, fh, "kind=\"counter\"", &f->counter_samples);
    rc |= fg_metrics_counter(m, fn, fh, "kind=\"other\"", &f->other_samples);
    rc |= fg_metrics_counter(m, fn, fh, "kind=\"flow_no_record\"", &f->no_flow_record);
    rc |= fg_metrics_counter(m, fn, fh, "kind=\"flow_unparsed_header\"",
                             &f->unparsed_headers);
    rc |= fg_metrics_counter(m, "floodgate_collector_sflow_agent_drops_total",
                             "Packets sFlow agents say they could not sample.", "",
                             &f->agent_drops);
    return rc;
}

fg_metrics_t *col_metrics_start(const fg_config_t *cfg, col_t *col)
{
    fg_metrics_t *m = fg_metrics_start("collector", cfg->collector.metrics_listen);
    if (!m)
        return NULL;
    col_mctx_t *c = fg_metrics_calloc(m, sizeof(*c));
    if (!c || s_register(m, col_stats(col)) != 0 || s_register_decoders(m, col) != 0 ||
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
