/* floodgate-actuator: decisions in (ZeroMQ PULL), bans out (Redis keys with
 * TTLs, backends: notify script or the dry-run log).
 *
 *   args -> log -> config (-t) -> backends -> socket -> Redis -> loop */
#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuator/act.h"
#include "actuator/act_metrics.h"
#include "actuator/backend.h"
#include "common/daemon.h"
#include "common/log.h"

#define ACT_POLL_MS 100          /* loop turn: scripts are fed and reaped this often */
#define ACT_BUSY_POLL_MS 5       /* loop turn while a backend has commands in flight */
#define ACT_BATCH 1000           /* messages read per turn before other work */
#define ACT_STATS_MS 60000
#define ACT_SHUTDOWN_WAIT_MS 2000 /* running scripts get this long at exit */

static void s_add(act_t *act, backend_t *b, const char *name)
{
    if (!b)
        fg_die(1, "event=start_failed reason=backend backend=%s", name);
    act_add_backend(act, &b);
}

/* dry_run: the log backend alone. Otherwise the BGP backend and the notify
 * script, each when configured; the log backend when neither is. */
static void s_add_backends(act_t *act, const fg_config_t *cfg)
{
    bool gobgp = !strcmp(cfg->actuator.bgp_backend, "gobgp"),
         exabgp = !strcmp(cfg->actuator.bgp_backend, "exabgp");
    if (cfg->actuator.dry_run) {
        fg_info("event=backend name=log dry_run=1 ignored_bgp_backend=%s ignored_script=%s",
                cfg->actuator.bgp_backend,
                cfg->actuator.notify_script[0] ? cfg->actuator.notify_script : "-");
        s_add(act, backend_log_new(cfg), "log");
        return;
    }
    if (gobgp) {
        fg_info("event=backend name=gobgp api=%s client=%s next_hop_v4=%s next_hop_v6=%s "
                "communities=\"65535:666 %s\"",
                cfg->actuator.gobgp_api, cfg->actuator.gobgp_client, cfg->actuator.next_hop_v4,
                cfg->actuator.next_hop_v6, cfg->actuator.communities);
        s_add(act, backend_gobgp_new(cfg), "gobgp");
    }
    if (exabgp) {
        fg_info("event=backend name=exabgp output=%s",
                cfg->actuator.exabgp_pipe[0] ? cfg->actuator.exabgp_pipe : "stdout");
        s_add(act, backend_exabgp_new(cfg), "exabgp");
    }
    if (cfg->actuator.notify_script[0]) {
        fg_info("event=backend name=script script=%s", cfg->actuator.notify_script);
        s_add(act, backend_script_new(cfg), "script");
    }
    if (!gobgp && !exabgp && !cfg->actuator.notify_script[0]) {
        fg_info("event=backend name=log");
        s_add(act, backend_log_new(cfg), "log");
    }
}

/* Read what waits on the socket, at most ACT_BATCH messages. Oversized ones
 * are counted by zsec; act_message counts the malformed. */
static void s_read_decisions(act_t *act, zsec_t *zs, zsock_t *pull)
{
    static fg_ratelimit_t rl;
    zmq_msg_t msg;
    for (int i = 0; i < ACT_BATCH; i++) {
        int rc = zsec_recv(zs, pull, &msg);
        if (rc < 0)
            return;
        if (rc > 0) {
            fg_log_rl(&rl, 10000, FG_LOG_WARN, "event=decision_refused reason=oversized "
                      "max_bytes=%zu", zsec_max_msg(zs, ZSEC_ACT_PULL));
            continue;
        }
        act_message(act, zmq_msg_data(&msg), zmq_msg_size(&msg));
        zmq_msg_close(&msg);
    }
}

/* SIGHUP: policy (max_bans, renewal, renew_before, repeat_window, the
 * hostgroups' ban_time and enable_ban), whitelist, monitored networks,
 * attack_log and a new notify_script path apply to the next decision (the
 * actuator reads them from cfg); the bans in force are checked again
 * (act_recheck). Adding or removing the script changes the
 * backends: that needs a restart, so the running value is kept. */
static void s_reload(fg_config_t *cfg, act_t *act)
{
    char script[sizeof(cfg->actuator.notify_script)];
    memcpy(script, cfg->actuator.notify_script, sizeof(script));
    if (fg_daemon_reload(cfg) != 0)
        return;
    act_recheck(act); /* a ban now whitelisted or unmonitored is lifted */
    if (!script[0] == !cfg->actuator.notify_script[0])
        return;
    fg_warn("event=reload restart_needed=\"actuator/notify_script\" script=%s kept=%s "
            "hint=\"adding or removing the notify script takes a restart\"",
            cfg->actuator.notify_script[0] ? cfg->actuator.notify_script : "-",
            script[0] ? script : "-");
    memcpy(cfg->actuator.notify_script, script, sizeof(script));
}

static void s_loop(act_t *act, zsec_t *zs, zsock_t *pull, fg_metrics_t *metrics,
                   fg_config_t *cfg)
{
    uint64_t next_stats = fg_mono_ms() + ACT_STATS_MS;
    while (!fg_stop) {
        int sub = act_sub_fd(act);
        zmq_pollitem_t items[2] = {{zsock_resolve(pull), 0, ZMQ_POLLIN, 0},
                                   {NULL, sub, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, sub >= 0 ? 2 : 1, act_busy(act) ? ACT_BUSY_POLL_MS : ACT_POLL_MS);
        if (rc < 0 && zmq_errno() != EINTR)
            fg_die(1, "event=poll_failed err=\"%s\"", zmq_strerror(zmq_errno()));
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN))
            s_read_decisions(act, zs, pull);
        if (rc > 0 && sub >= 0 && (items[1].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
            act_sub_ready(act);
        act_tick(act);
        zsec_tick(zs);
        fg_metrics_tick(metrics);
        if (fg_dump_stats || fg_mono_ms() >= next_stats) {
            fg_dump_stats = 0;
            next_stats = fg_mono_ms() + ACT_STATS_MS;
            act_log_stats(act);
        }
        if (fg_reload) {
            fg_reload = 0;
            s_reload(cfg, act);
        }
    }
}

int main(int argc, char **argv)
{
    fg_args_t args;
    fg_config_t *cfg = fg_daemon_start("actuator", argc, argv, false, &args);
    act_opts_t opts = act_opts_default();
    opts.queue_max = cfg->actuator.redis_queue;
    act_t *act = act_new(cfg, &opts);
    if (!act)
        fg_die(1, "event=start_failed reason=out_of_memory");
    s_add_backends(act, cfg);

    zsec_t *zs = fg_daemon_zsec(cfg, cfg->actuator.cert, cfg->actuator.allowed_keys);
    zsock_t *pull = fg_daemon_bind(zs, ZSEC_ACT_PULL, cfg->actuator.bind);
    fg_info("event=start bind=%s curve=%d config=%s", cfg->actuator.bind, zsec_curve(zs),
            args.config_path);

    act_start(act); /* Redis down is not fatal: act_tick retries */
    fg_metrics_t *metrics = act_metrics_start(cfg, act);
    if (zsec_metrics(zs, metrics) != 0)
        fg_die(1, "event=start_failed reason=out_of_memory");
    s_loop(act, zs, pull, metrics, cfg);
    fg_metrics_destroy(&metrics);

    fg_info("event=stop");
    act_release(act); /* a standby takes over at once */
    act_log_stats(act);
    act_wait_backends(act, ACT_SHUTDOWN_WAIT_MS);
    act_destroy(&act);
    zsec_destroy(&zs);
    fg_config_destroy(&cfg);
    return 0;
}
