/* det_metrics: what the detector exports. */
#include "detector/det_metrics.h"

#include <stdio.h>

#include "common/log.h"

#define DET_HEALTH_IDLE_MS 5000

typedef struct {
    det_t *det;
    const fg_config_t *cfg;
    fg_progress_t windows;
} det_mctx_t;

static void s_gauges(fg_mout_t *o, void *arg)
{
    const det_mctx_t *c = arg;
    fg_mout_family(o, "floodgate_detector_attacks", "gauge",
                   "Hosts under attack now (attack state held).");
    fg_mout_u64(o, "floodgate_detector_attacks", NULL, det_attacks(c->det));
    fg_mout_family(o, "floodgate_detector_shards_seen", "gauge",
                   "Aggregator shards a window arrived from since start (of aggregator/shards).");
    fg_mout_u64(o, "floodgate_detector_shards_seen", NULL, (uint64_t)det_shards_seen(c->det));
    det_shard_t sh[FG_MAX_SHARDS];
    int n = c->cfg->aggregator.shards;
    det_shard_silent(c->det, fg_now_ms(), sh);
    fg_mout_family(o, "floodgate_detector_shard_up", "gauge",
                   "1 while windows arrive from the shard, 0 when it is silent (its hosts are "
                   "not watched).");
    for (int i = 0; i < n; i++) {
        char l[32];
        snprintf(l, sizeof(l), "shard=\"%d\"", i);
        fg_mout_u64(o, "floodgate_detector_shard_up", l, !sh[i].silent);
    }
    fg_mout_family(o, "floodgate_detector_shard_hosts_share", "gauge",
                   "Share of all hosts the shard tracked at its last window (1/shards before "
                   "any).");
    for (int i = 0; i < n; i++) {
        char l[32];
        snprintf(l, sizeof(l), "shard=\"%d\"", i);
        fg_mout_double(o, "floodgate_detector_shard_hosts_share", l, sh[i].share);
    }
}

/* Healthy only while every shard sends windows: a silent shard's hosts
 * are not watched (503 naming it and the share of hosts it held). */
static int s_health(char *why, size_t len, void *arg)
{
    det_mctx_t *c = arg;
    if (fg_progress_health(&c->windows, det_stats(c->det)->windows, DET_HEALTH_IDLE_MS,
                           "window received", why, len) != 0)
        return -1;
    det_shard_t sh[FG_MAX_SHARDS];
    int n = c->cfg->aggregator.shards;
    if (det_shard_silent(c->det, fg_now_ms(), sh) == 0)
        return 0;
    for (int i = 0; i < n; i++) {
        if (!sh[i].silent)
            continue;
        if (sh[i].age_ms == UINT64_MAX)
            snprintf(why, len, "shard %d of %d: no window yet (~%.0f%% of hosts not watched)", i,
                     n, sh[i].share * 100);
        else
            snprintf(why, len, "shard %d of %d silent for %.1f s: %.0f%% of hosts (%llu) not "
                     "watched", i, n, (double)sh[i].age_ms / 1000, sh[i].share * 100,
                     (unsigned long long)sh[i].hosts);
        break;
    }
    return -1;
}

static const fg_series_t s_series[] = {
    FG_COUNTER(det_stats_t, windows, "floodgate_detector_windows_total", "",
               "WindowBatch messages received."),
    FG_COUNTER(det_stats_t, windows_lost, "floodgate_detector_windows_lost_total", "",
               "WindowBatch messages lost between the shards and the detector (sequence gaps)."),
    FG_COUNTER(det_stats_t, malformed, "floodgate_detector_windows_malformed_total", "",
               "Messages that did not unpack."),
    FG_COUNTER(det_stats_t, shard_resets, "floodgate_detector_shard_resets_total", "",
               "A shard's sequence went back (restart)."),
    FG_COUNTER(det_stats_t, bad_shard, "floodgate_detector_bad_shard_total", "",
               "Windows of a shard outside the config: refused."),
    FG_COUNTER(det_stats_t, wrong_shard, "floodgate_detector_wrong_shard_total", "",
               "Windows whose shard is not the one of the socket they came from: refused."),
    FG_COUNTER(det_stats_t, dropped, "floodgate_detector_decisions_dropped_total", "",
               "Decisions the actuator's queue could not take."),
    FG_COUNTER(det_stats_t, attacks_full, "floodgate_detector_attacks_full_total", "",
               "Host windows without room for a state (table full, no quieter host to evict)."),
    FG_COUNTER(det_stats_t, evicted, "floodgate_detector_states_evicted_total", "",
               "Host states given up, when the table was full, for a new host with a higher "
               "rate."),
    FG_COUNTER(det_stats_t, attacks_ended, "floodgate_detector_attacks_ended_total", "",
               "Attacks ended after attack_end."),
    FG_COUNTER(det_stats_t, network_attacks, "floodgate_detector_network_attacks_total", "",
               "Hostgroup network-wide (carpet bombing) thresholds crossed."),
    FG_COUNTER(det_stats_t, network_bans, "floodgate_detector_network_bans_total", "",
               "Hosts banned by a network-wide threshold: they carried the increase."),
    FG_COUNTER(det_stats_t, network_spared, "floodgate_detector_network_spared_total", "",
               "Host windows above the network floor during a network-wide attack, at their usual "
               "rate: not banned."),
    FG_COUNTER(det_stats_t, bans, "floodgate_detector_decisions_total", "type=\"ban\"",
               "Decisions sent to the actuator, by type."),
    FG_COUNTER(det_stats_t, ongoing, "floodgate_detector_decisions_total", "type=\"ongoing\"", ""),
    FG_COUNTER(det_stats_t, bans_one_window, "floodgate_detector_bans_one_window_total", "",
               "BANs decided on one window, its rate's lower confidence bound over a threshold "
               "(the others after averaging and consecutive windows)."),
    FG_COUNTER(det_stats_t, hosts_evaluated, "floodgate_detector_host_windows_total",
               "result=\"evaluated\"", "Host windows received, by what became of them."),
    FG_COUNTER(det_stats_t, over_threshold, "floodgate_detector_host_windows_total",
               "result=\"over_threshold\"", ""),
    FG_COUNTER(det_stats_t, hosts_out, "floodgate_detector_host_windows_total",
               "result=\"outgoing\"", ""),
    FG_COUNTER(det_stats_t, unmonitored, "floodgate_detector_host_windows_total",
               "result=\"unmonitored\"", ""),
    FG_COUNTER(det_stats_t, whitelisted, "floodgate_detector_host_windows_total",
               "result=\"whitelisted\"", ""),
};

fg_metrics_t *det_metrics_start(const fg_config_t *cfg, det_t *det)
{
    fg_metrics_t *m = fg_metrics_start("detector", cfg->detector.metrics_listen);
    if (!m)
        return NULL;
    det_mctx_t *c = fg_metrics_calloc(m, sizeof(*c));
    if (!c || fg_metrics_table(m, s_series, FG_NSERIES(s_series), det_stats(det), "") != 0 ||
        fg_metrics_add_fn(m, s_gauges, c) != 0) {
        fg_error("event=metrics_failed reason=\"out of memory\"");
        fg_metrics_destroy(&m);
        return NULL;
    }
    c->det = det;
    c->cfg = cfg;
    fg_metrics_set_health(m, s_health, c);
    return m;
}
