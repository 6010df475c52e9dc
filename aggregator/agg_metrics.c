/* agg_metrics: what a shard exports; every series has shard="i". */
#include "aggregator/agg_metrics.h"

#include <inttypes.h>
#include <stdio.h>

#include "common/log.h"

#define AGG_HEALTH_IDLE_MS 5000

typedef struct {
    agg_t *agg;
    char shard[32]; /* shard="i" */
    fg_progress_t windows;
} agg_mctx_t;

static void s_gauges(fg_mout_t *o, void *arg)
{
    const agg_mctx_t *c = arg;
    const agg_stats_t *st = agg_stats(c->agg);
    fg_mout_family(o, "floodgate_aggregator_hosts", "gauge", "Hosts tracked in the host table.");
    fg_mout_u64(o, "floodgate_aggregator_hosts", c->shard, agg_hosts_tracked(c->agg));
    fg_mout_family(o, "floodgate_aggregator_window_close_seconds", "gauge",
                   "Time the last window close took (rates, packing, expiry).");
    fg_mout_double(o, "floodgate_aggregator_window_close_seconds", c->shard,
                   (double)st->window_us / 1e6);
    fg_mout_family(o, "floodgate_aggregator_last_batch_timestamp_seconds", "gauge",
                   "Unix time the shard last took in a FlowBatch (0: none yet); a shard that "
                   "hears from no collector stops moving it.");
    fg_mout_double(o, "floodgate_aggregator_last_batch_timestamp_seconds", c->shard,
                   (double)st->last_batch_ms / 1e3);
}

static int s_health(char *why, size_t len, void *arg)
{
    agg_mctx_t *c = arg;
    return fg_progress_health(&c->windows, agg_stats(c->agg)->windows, AGG_HEALTH_IDLE_MS,
                              "window published", why, len);
}

static const fg_series_t s_series[] = {
    FG_COUNTER(agg_stats_t, batches, "floodgate_aggregator_batches_total", "",
               "FlowBatch messages received."),
    FG_COUNTER(agg_stats_t, malformed, "floodgate_aggregator_batches_malformed_total", "",
               "Messages that did not unpack."),
    FG_COUNTER(agg_stats_t, batches_lost, "floodgate_aggregator_batches_lost_total", "",
               "FlowBatch messages lost between collectors and this shard (sequence gaps)."),
    FG_COUNTER(agg_stats_t, refused_shard, "floodgate_aggregator_batches_wrong_shard_total", "",
               "Batches of another shard or shard count: refused, not used."),
    FG_COUNTER(agg_stats_t, collector_resets, "floodgate_aggregator_collector_resets_total", "",
               "A collector's batch sequence went back (collector restart)."),
    FG_COUNTER(agg_stats_t, records, "floodgate_aggregator_records_total", "",
               "Flow records received."),
    FG_COUNTER(agg_stats_t, hosts_removed, "floodgate_aggregator_hosts_removed_total", "",
               "Hosts forgotten after host_idle."),
    FG_COUNTER(agg_stats_t, watch_refused, "floodgate_aggregator_watch_refused_total", "",
               "Host windows above the watch floor without room for top-contributor state."),
    FG_COUNTER(agg_stats_t, windows, "floodgate_aggregator_windows_total", "",
               "WindowBatch messages built."),
    FG_COUNTER(agg_stats_t, hosts_evicted, "floodgate_aggregator_hosts_evicted_total", "",
               "Idle or lowest-rate hosts evicted from a full host table for new ones."),
    FG_COUNTER(agg_stats_t, folded, "floodgate_aggregator_records_folded_total", "",
               "Records of a window already published, counted in the open one over the time "
               "they cover (late export, backlog)."),
    FG_COUNTER(agg_stats_t, future, "floodgate_aggregator_records_future_total", "",
               "Records later than their batch's send time, counted at the send time."),
    FG_COUNTER(agg_stats_t, clipped, "floodgate_aggregator_records_clipped_total", "",
               "Records whose rate was above rate_ceiling_pps / rate_ceiling_mbps, clipped."),
    FG_COUNTER(agg_stats_t, unmonitored, "floodgate_aggregator_records_ignored_total",
               "reason=\"unmonitored\"",
               "Records not counted: host in no hostgroup, host table full (nothing to "
               "evict), or older than the horizon (stale)."),
    FG_COUNTER(agg_stats_t, hosts_refused, "floodgate_aggregator_records_ignored_total",
               "reason=\"table_full\"", ""),
    FG_COUNTER(agg_stats_t, stale, "floodgate_aggregator_records_ignored_total",
               "reason=\"stale\"", ""),
    FG_COUNTER(agg_stats_t, spread, "floodgate_aggregator_long_records_total", "result=\"held\"",
               "Flow records longer than a tick, by what became of them: held "
               "(rate held over their duration), late (hold already over at arrival: not "
               "held), renewed (replaced their flow's rate), pooled (held in their host's pool "
               "without flow identity: under 1/16 of the watch floor), bounded (held less than "
               "their duration: exporter active timeout or hold_max), refused (no room to hold: "
               "one window of it counted at its average rate, the rest not)."),
    FG_COUNTER(agg_stats_t, spread_late, "floodgate_aggregator_long_records_total",
               "result=\"late\"", ""),
    FG_COUNTER(agg_stats_t, spread_renewed, "floodgate_aggregator_long_records_total",
               "result=\"renewed\"", ""),
    FG_COUNTER(agg_stats_t, spread_pooled, "floodgate_aggregator_long_records_total",
               "result=\"pooled\"", ""),
    FG_COUNTER(agg_stats_t, spread_capped, "floodgate_aggregator_long_records_total",
               "result=\"bounded\"", ""),
    FG_COUNTER(agg_stats_t, spread_refused, "floodgate_aggregator_long_records_total",
               "result=\"refused\"", ""),
    FG_COUNTER(agg_stats_t, bad_times, "floodgate_aggregator_records_bad_times_total", "",
               "Records ending before they start (counted on arrival)."),
    FG_GAUGE(agg_stats_t, long_flows, "floodgate_aggregator_long_flows", "",
             "Long flows whose rate is held now."),
    FG_GAUGE(agg_stats_t, hold_pools, "floodgate_aggregator_hold_pools", "",
             "Pools (host and class) of small long records' held rates in use now (at most "
             "aggregator/hold_blocks)."),
    FG_GAUGE(agg_stats_t, watched, "floodgate_aggregator_hosts_watched", "",
             "Hosts holding top-contributor state."),
    FG_GAUGE(agg_stats_t, last_hosts_published, "floodgate_aggregator_window_hosts", "",
             "Hosts published in the last WindowBatch (above the watch floor)."),
};

/* A counter the daemon keeps outside agg_stats_t (its PUB socket's). */
static const fg_series_t s_publish_failed[] = {
    {"floodgate_aggregator_windows_publish_failed_total", "counter",
     "Windows that could not be sent on the PUB socket.", "", 0},
};

fg_metrics_t *agg_metrics_start(const fg_config_t *cfg, uint32_t shard, agg_t *agg,
                                const uint64_t *publish_failed)
{
    char listen[FG_ENDPOINT_MAX] = "";
    if (cfg->aggregator.metrics_listen[0] &&
        fg_endpoint_offset(cfg->aggregator.metrics_listen, (int)shard, listen, sizeof(listen)) != 0)
        listen[0] = '\0'; /* the config loader checked the range */
    fg_metrics_t *m = fg_metrics_start("aggregator", listen);
    if (!m)
        return NULL;
    agg_mctx_t *c = fg_metrics_calloc(m, sizeof(*c));
    if (c) {
        c->agg = agg;
        snprintf(c->shard, sizeof(c->shard), "shard=\"%" PRIu32 "\"", shard);
    }
    if (!c || fg_metrics_table(m, s_series, FG_NSERIES(s_series), agg_stats(agg), c->shard) != 0 ||
        fg_metrics_table(m, s_publish_failed, 1, publish_failed, c->shard) != 0 ||
        fg_metrics_add_fn(m, s_gauges, c) != 0) {
        fg_error("event=metrics_failed reason=\"out of memory\"");
        fg_metrics_destroy(&m);
        return NULL;
    }
    fg_metrics_set_health(m, s_health, c);
    return m;
}
