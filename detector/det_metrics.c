/* det_metrics: what the detector exports. */
#include "detector/det_metrics.h"

#include <inttypes.h>
#include <stdio.h>

#include "common/log.h"

#define DET_HEALTH_IDLE_MS 5000

typedef struct {
    det_t *det;
    fg_progress_t windows;
} det_mctx_t;

static void s_gauges(fg_mout_t *o, void *arg)
{
    const det_mctx_t *c = arg;
    fg_mout_family(o, "floodgate_detector_attacks", "gauge",
                   "Hosts under attack now (attack state held).");
    fg_mout_u64(o, "floodgate_detector_attacks", NULL, det_attacks(c->det));
}

static int s_health(char *why, size_t len, void *arg)
{
    det_mctx_t *c = arg;
    uint64_t idle = fg_progress_idle_ms(&c->windows, det_stats(c->det)->windows);
    if (idle >= DET_HEALTH_IDLE_MS) {
        snprintf(why, len, "no window received for %" PRIu64 " s", idle / 1000);
        return -1;
    }
    return 0;
}

static int s_register(fg_metrics_t *m, const det_stats_t *st)
{
    static const char dec[] = "floodgate_detector_decisions_total";
    static const char dech[] = "Decisions sent to the actuator, by type.";
    static const char hw[] = "floodgate_detector_host_windows_total";
    static const char hwh[] = "Host windows received, by what became of them.";
    int rc = 0;
#define CNT(name, help, field) rc |= fg_metrics_counter(m, name, help, "", &st->field)
    CNT("floodgate_detector_windows_total", "WindowBatch messages received.", windows);
    CNT("floodgate_detector_windows_lost_total",
        "WindowBatch messages lost between the shards and the detector (sequence gaps).",
        windows_lost);
    CNT("floodgate_detector_windows_malformed_total", "Messages that did not unpack.",
        malformed);
    CNT("floodgate_detector_shard_resets_total", "A shard's sequence went back (restart).",
        shard_resets);
    CNT("floodgate_detector_bad_shard_total", "Windows of a shard outside the config.",
        bad_shard);
    CNT("floodgate_detector_decisions_dropped_total",
        "Decisions the actuator's queue could not take.", dropped);
    CNT("floodgate_detector_attacks_full_total",
        "Hosts over a threshold without room for attack state.", attacks_full);
    CNT("floodgate_detector_attacks_ended_total", "Attacks ended after attack_end.",
        attacks_ended);
    CNT("floodgate_detector_network_attacks_total",
        "Hostgroup network-wide (carpet bombing) thresholds crossed.", network_attacks);
    CNT("floodgate_detector_network_bans_total",
        "Hosts banned by a network-wide threshold: they carried the increase.", network_bans);
    CNT("floodgate_detector_network_spared_total",
        "Host windows above the network floor during a network-wide attack, at their usual "
        "rate: not banned.",
        network_spared);
#undef CNT
    rc |= fg_metrics_counter(m, dec, dech, "type=\"ban\"", &st->bans);
    rc |= fg_metrics_counter(m, dec, dech, "type=\"ongoing\"", &st->ongoing);
    rc |= fg_metrics_counter(m, hw, hwh, "result=\"evaluated\"", &st->hosts_evaluated);
    rc |= fg_metrics_counter(m, hw, hwh, "result=\"over_threshold\"", &st->over_threshold);
    rc |= fg_metrics_counter(m, hw, hwh, "result=\"outgoing\"", &st->hosts_out);
    rc |= fg_metrics_counter(m, hw, hwh, "result=\"unmonitored\"", &st->unmonitored);
    rc |= fg_metrics_counter(m, hw, hwh, "result=\"whitelisted\"", &st->whitelisted);
    return rc;
}

fg_metrics_t *det_metrics_start(const fg_config_t *cfg, det_t *det)
{
    fg_metrics_t *m = fg_metrics_start("detector", cfg->detector.metrics_listen);
    if (!m)
        return NULL;
    det_mctx_t *c = fg_metrics_calloc(m, sizeof(*c));
    if (!c || s_register(m, det_stats(det)) != 0 ||
        fg_metrics_add_fn(m, s_gauges, c) != 0) {
        fg_error("event=metrics_failed reason=\"out of memory\"");
        fg_metrics_destroy(&m);
        return NULL;
    }
    c->det = det;
    fg_metrics_set_health(m, s_health, c);
    return m;
}
