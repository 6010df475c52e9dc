/* act_metrics: what the actuator exports. act_get_stats() makes a copy at
 * each render, so the families are written by a callback. */
#include "actuator/act_metrics.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "actuator/gobgp.h"
#include "common/log.h"

#define S(f) offsetof(act_stats_t, f)
/* Rows of fg_series_t (common/metrics.h): name, type, help, labels, field. */
static const fg_series_t s_series[] = {
    {"floodgate_actuator_decisions_total", "counter", "Decisions received from the detector.", "", S(decisions)},
    {"floodgate_actuator_decisions_malformed_total", "counter", "Decisions that did not unpack or were invalid.", "", S(malformed)},
    {"floodgate_actuator_bans_total", "counter", "Bans by what happened: applied (key written), already_banned (BAN while the key exists), ongoing (ONGOING while banned, nothing to do), renewed (extended by an ongoing attack, route kept), detect_only (enable_ban false), adopted (manual keys found).", "result=\"applied\"", S(bans)},
    {"floodgate_actuator_bans_total", "counter", "", "result=\"already_banned\"", S(already_banned)},
    {"floodgate_actuator_bans_total", "counter", "", "result=\"ongoing\"", S(ongoing)},
    {"floodgate_actuator_bans_total", "counter", "", "result=\"renewed\"", S(renewed)},
    {"floodgate_actuator_bans_total", "counter", "", "result=\"detect_only\"", S(detect_only)},
    {"floodgate_actuator_bans_total", "counter", "", "result=\"adopted\"", S(manual_adopted)},
    {"floodgate_actuator_unbans_total", "counter", "Bans lifted, by reason.", "reason=\"expired\"", S(unbans_expired)},
    {"floodgate_actuator_unbans_total", "counter", "", "reason=\"deleted\"", S(unbans_deleted)},
    {"floodgate_actuator_bans_active", "gauge", "Bans in force (known to the actuator).", "", S(known)},
    {"floodgate_actuator_redis_errors_total", "counter", "Redis command failures.", "", S(redis_errors)},
    {"floodgate_actuator_queue_depth", "gauge", "Decisions waiting for Redis.", "", S(queue_depth)},
    {"floodgate_actuator_queue_dropped_total", "counter", "Decisions dropped: the queue for Redis (actuator/redis_queue) was full.", "", S(queue_dropped)},
    {"floodgate_actuator_queue_coalesced_total", "counter", "Decisions not queued while Redis could not take them: one for the same address waits already (it bans or renews).", "", S(queue_coalesced)},
    {"floodgate_actuator_redis_refusals_total", "counter", "Writes Redis refused for now (MISCONF, READONLY, OOM, NOREPLICAS...): retried with backoff.", "", S(redis_refusals)},
    {"floodgate_actuator_redis_writable", "gauge", "1 while Redis is reachable and accepts writes.", "", S(redis_writable)},
    {"floodgate_actuator_bans_pending_total", "counter", "Bans announced before Redis took their key (Redis down or refusing).", "", S(provisional)},
    {"floodgate_actuator_bans_withheld_total", "counter", "Bans not announced before Redis took their key: the lease had lapsed, another actuator may be active.", "", S(pending_withheld)},
    {"floodgate_actuator_bans_restored_total", "counter", "Bans written back with the time they had left after Redis lost its data.", "", S(restored)},
    {"floodgate_actuator_redis_data_lost_total", "counter", "Times Redis came back (new run_id or replication id) without any of the bans known.", "", S(redis_data_lost)},
    {"floodgate_actuator_bad_keys_total", "counter", "Ban keys whose address is not canonical.", "", S(bad_keys)},
    {"floodgate_actuator_backend_errors_total", "counter", "Backend (script, BGP) failures.", "", S(backend_errors)},
    {"floodgate_actuator_repeat_offenders_total", "counter", "Bans and renewals of an address banned before within repeat_window.", "", S(repeat_offenders)},
    {"floodgate_actuator_attack_log_lines_total", "counter", "JSON lines written to attack_log.", "", S(attack_log_lines)},
    {"floodgate_actuator_attack_log_errors_total", "counter", "JSON lines that could not be written to attack_log.", "", S(attack_log_errors)},
    {"floodgate_actuator_flowspec_total", "counter", "FlowSpec outcomes other than rules sent: wait (policy flowspec, no usable rule set: no block yet), fallback (flowspec_then_blackhole: blackholed instead), escalated (the attack went on: rules replaced by the blackhole).", "result=\"wait\"", S(flowspec_waits)},
    {"floodgate_actuator_flowspec_total", "counter", "", "result=\"fallback\"", S(flowspec_fallbacks)},
    {"floodgate_actuator_flowspec_total", "counter", "", "result=\"escalated\"", S(flowspec_escalations)},
    {"floodgate_actuator_active", "gauge", "1 while this actuator holds the lease (active), 0 in standby.", "", S(active)},
    {"floodgate_actuator_takeovers_total", "counter", "Times this actuator became the active one.", "", S(takeovers)},
    {"floodgate_actuator_step_downs_total", "counter", "Times it found another actuator holding the lease and went standby.", "", S(step_downs)},
    {"floodgate_actuator_standby_decisions_total", "counter", "Decisions received in standby: kept for a takeover (kept), applied at one (replayed).", "result=\"kept\"", S(standby_ignored)},
    {"floodgate_actuator_standby_decisions_total", "counter", "", "result=\"replayed\"", S(replayed)},
    {"floodgate_actuator_unbans_owed_total", "counter", "Unbans found at a takeover: the key went while no actuator was active.", "", S(unbans_owed)},
    {"floodgate_actuator_fenced_writes_total", "counter", "Writes refused because the lease was no longer this actuator's.", "", S(fenced_writes)},
};
#undef S

static const fg_series_t s_gobgp_series[] = {
    FG_COUNTER(gobgp_stats_t, announced, "floodgate_actuator_gobgp_commands_total",
               "result=\"announced\"", "gobgp client commands by outcome."),
    FG_COUNTER(gobgp_stats_t, withdrawn, "floodgate_actuator_gobgp_commands_total",
               "result=\"withdrawn\"", ""),
    FG_COUNTER(gobgp_stats_t, failed, "floodgate_actuator_gobgp_commands_total",
               "result=\"failed\"", ""),
    FG_COUNTER(gobgp_stats_t, timed_out, "floodgate_actuator_gobgp_commands_total",
               "result=\"timed_out\"", ""),
    FG_COUNTER(gobgp_stats_t, dropped, "floodgate_actuator_gobgp_commands_total",
               "result=\"dropped\"", ""),
    FG_COUNTER(gobgp_stats_t, resync_added, "floodgate_actuator_gobgp_resync_total",
               "action=\"announce\"", "Routes fixed by comparing gobgpd's RIB with the bans."),
    FG_COUNTER(gobgp_stats_t, resync_removed, "floodgate_actuator_gobgp_resync_total",
               "action=\"withdraw\"", ""),
    FG_GAUGE(gobgp_stats_t, queue, "floodgate_actuator_gobgp_queue_depth", "",
             "gobgp commands queued or running."),
    FG_COUNTER(gobgp_stats_t, injected, "floodgate_actuator_gobgp_injected_total", "",
               "Routes streamed to gobgpd through the long-running `gobgp mrt inject`."),
    FG_COUNTER(gobgp_stats_t, injector_starts, "floodgate_actuator_gobgp_injector_starts_total",
               "", "`gobgp mrt inject` processes started (the first, then one after each exit)."),
    FG_GAUGE(gobgp_stats_t, inject_pending, "floodgate_actuator_gobgp_inject_pending_bytes", "",
             "MRT bytes the injector has not read yet."),
    FG_GAUGE(gobgp_stats_t, desired, "floodgate_actuator_gobgp_routes", "state=\"desired\"",
             "Blackhole routes: wanted by the bans, and in gobgpd's RIB at the last listing."),
    FG_GAUGE(gobgp_stats_t, rib_routes, "floodgate_actuator_gobgp_routes", "state=\"rib\"", ""),
};

static void s_write_gobgp(fg_mout_t *o, const act_t *act);

/* Refusals by reason (decisions and ban keys), key corrections, forced bans. */
static void s_write_trust(fg_mout_t *o, const trust_stats_t *t)
{
    char l[64];
    fg_mout_family(o, "floodgate_actuator_decisions_refused_total", "counter",
                   "Decisions refused, by reason: unmonitored, whitelisted, bad_address, "
                   "bad_field, ban_time (over max_ban_time), ban_rate (new_bans_max), max_bans, "
                   "hold (floodgate unban --hold).");
    for (int r = TRUST_UNMONITORED; r < TRUST_NREASONS; r++)
        if (r != TRUST_WRONG_TYPE) {
            snprintf(l, sizeof(l), "reason=\"%s\"", trust_reason_name(r));
            fg_mout_u64(o, "floodgate_actuator_decisions_refused_total", l, t->decisions[r]);
        }
    fg_mout_family(o, "floodgate_actuator_keys_refused_total", "counter",
                   "Ban keys found in Redis and refused (deleted), by reason: unmonitored, "
                   "whitelisted, bad_address, bad_field, wrong_type (not a HASH).");
    for (int r = TRUST_UNMONITORED; r < TRUST_NREASONS; r++)
        if (r <= TRUST_BAD_FIELD || r == TRUST_WRONG_TYPE) {
            snprintf(l, sizeof(l), "reason=\"%s\"", trust_reason_name(r));
            fg_mout_u64(o, "floodgate_actuator_keys_refused_total", l, t->keys[r]);
        }
    fg_mout_family(o, "floodgate_actuator_keys_corrected_total", "counter",
                   "Ban keys corrected: ip_field (rewritten from the key name), no_ttl (given "
                   "the ban_time), ttl_cut (cut to max_ban_time), hold_no_ttl (a hold key "
                   "given max_ban_time).");
    for (int f = 0; f < TRUST_NFIXES; f++) {
        snprintf(l, sizeof(l), "fix=\"%s\"", trust_fix_name(f));
        fg_mout_u64(o, "floodgate_actuator_keys_corrected_total", l, t->fixes[f]);
    }
    fg_mout_family(o, "floodgate_actuator_bans_forced_total", "counter",
                   "Bans outside networks/monitored made by floodgate ban --force.");
    fg_mout_u64(o, "floodgate_actuator_bans_forced_total", NULL, t->forced);
}

static void s_write(fg_mout_t *o, void *arg)
{
    const act_t *act = arg;
    act_stats_t st;
    act_get_stats(act, &st);
    fg_mout_table(o, s_series, FG_NSERIES(s_series), &st, "");
    s_write_trust(o, &st.trust);
    fg_mout_family(o, "floodgate_actuator_redis_up", "gauge", "1 while Redis is reachable.");
    fg_mout_u64(o, "floodgate_actuator_redis_up", NULL, act_redis_up(act));
    fg_mout_family(o, "floodgate_actuator_backend_up", "gauge",
                   "1 while a backend can block (BGP session established).");
    for (int i = 0; i < act_backend_count(act); i++) {
        const backend_t *b = act_backend(act, i);
        char l[96], esc[64];
        snprintf(l, sizeof(l), "backend=\"%s\"", fg_metrics_escape(b->ops->name, esc, sizeof(esc)));
        fg_mout_u64(o, "floodgate_actuator_backend_up", l, b->ops->up ? b->ops->up(b) != 0 : 1);
    }
    s_write_gobgp(o, act);
}

/* The GoBGP backend's own counters, when it is there. */
static void s_write_gobgp(fg_mout_t *o, const act_t *act)
{
    for (int i = 0; i < act_backend_count(act); i++) {
        const backend_t *b = act_backend(act, i);
        if (strcmp(b->ops->name, "gobgp") != 0)
            continue;
        gobgp_stats_t g;
        gobgp_get_stats(b, &g);
        fg_mout_table(o, s_gobgp_series, FG_NSERIES(s_gobgp_series), &g, "");
        return;
    }
}

static int s_health(char *why, size_t len, void *arg)
{
    const act_t *act = arg;
    if (act_redis_health(act, why, len) != 0)
        return -1;
    for (int i = 0; i < act_backend_count(act); i++) {
        const backend_t *b = act_backend(act, i);
        if (b->ops->up && !b->ops->up(b)) {
            snprintf(why, len, "backend %s down", b->ops->name);
            return -1;
        }
    }
    return 0;
}

fg_metrics_t *act_metrics_start(const fg_config_t *cfg, act_t *act)
{
    fg_metrics_t *m = fg_metrics_start("actuator", cfg->actuator.metrics_listen);
    if (!m)
        return NULL;
    if (fg_metrics_add_fn(m, s_write, act) != 0) {
        fg_error("event=metrics_failed reason=\"out of memory\"");
        fg_metrics_destroy(&m);
        return NULL;
    }
    fg_metrics_set_health(m, s_health, act);
    return m;
}
