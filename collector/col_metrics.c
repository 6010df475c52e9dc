/* col_metrics: what the collector exports. Every counter of col_stats_t,
 * grouped in families by cause, plus one series per exporter stream. */
#include "collector/col_metrics.h"

#include <inttypes.h>
#include <stdio.h>

#include "collector/exporters.h"
#include "common/log.h"

#define COL_HEALTH_DROP_MS 10000

typedef struct {
    col_t *col;
    fg_progress_t drops;
} col_mctx_t;

static void s_exporters(fg_mout_t *o, void *arg)
{
    const col_mctx_t *c = arg;
    const exp_table_t *t = col_exporters(c->col);
    static const struct {
        const char *name, *help;
    } fam[] = {
        {"floodgate_collector_exporter_datagrams_total", "Datagrams decoded per exporter stream."},
        {"floodgate_collector_exporter_sequence_lost_records_total",
         "Records the exporter's sequence numbers say never arrived, per exporter stream."},
        {"floodgate_collector_exporter_sequence_resets_total",
         "Sequence jumps taken as exporter restarts, per exporter stream."},
    };
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        fg_mout_family(o, fam[f].name, "counter", fam[f].help);
        for (size_t i = 0; i < exp_capacity(t); i++) {
            const exp_entry_t *e = exp_at(t, i);
            if (!e)
                continue;
            char a[FG_ADDR_STRLEN], l[160];
            snprintf(l, sizeof(l), "exporter=\"%s\",proto=\"%u\",domain=\"%" PRIu32 "\"",
                     fg_addr_format(&e->addr, a), e->proto, e->domain);
            uint64_t v = f == 0 ? e->datagrams : f == 1 ? e->seq.lost : e->seq.resets;
            fg_mout_u64(o, fam[f].name, l, v);
        }
    }
    fg_mout_family(o, "floodgate_collector_exporters", "gauge", "Exporter streams seen.");
    fg_mout_u64(o, "floodgate_collector_exporters", NULL, exp_count(t));
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
                             "Datagrams of exporters beyond the exporter table.", "",
                             &st->exporters_untracked);
    rc |= fg_metrics_counter(m, "floodgate_collector_socket_drops_total",
                             "Datagrams the kernel dropped: the receive buffer was full.", "",
                             &st->kernel_drops);
    rc |= fg_metrics_counter(m, "floodgate_collector_receive_errors_total",
                             "recvmmsg failures.", "", &st->recv_errors);
    return rc;
}

fg_metrics_t *col_metrics_start(const fg_config_t *cfg, col_t *col)
{
    fg_metrics_t *m = fg_metrics_start("collector", cfg->collector_metrics);
    if (!m)
        return NULL;
    col_mctx_t *c = fg_metrics_calloc(m, sizeof(*c));
    if (!c || s_register(m, col_stats(col)) != 0 || fg_metrics_add_fn(m, s_exporters, c) != 0) {
        fg_error("event=metrics_failed reason=\"out of memory\"");
        fg_metrics_destroy(&m);
        return NULL;
    }
    c->col = col;
    fg_metrics_set_health(m, s_health, c);
    return m;
}
