/* floodgate-detector: WindowBatch in from every shard (SUB), Decision out to
 * the actuator (PUSH). */
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/decision.h"
#include "common/daemon.h"
#include "common/log.h"
#include "detector/det_metrics.h"
#include "detector/detect.h"

#define DET_DRAIN_MAX 256
#define DET_STATS_MS 60000
#define DET_TICK_MS 1000
#define DET_DECISION_MAX 65536 /* packed Decision bytes; larger is dropped */

typedef struct {
    det_t *det;
    zsec_t *zs;
    zsock_t *sub[FG_MAX_SHARDS]; /* one per shard, so a window's source is known */
    int shards;
    zsock_t *push[ACT_MAX_CONNECT]; /* one per actuator: each gets every decision */
    int n_push;
    uint64_t windows_lost_logged;
    fg_ratelimit_t rl_lost, rl_drop, rl_malformed, rl_one;
    fg_config_t *cfg; /* reloaded in place on SIGHUP */
    bool net_attack[FG_MAX_GROUPS]; /* last logged network-wide state */
    fg_metrics_t *metrics;
} det_daemon_t;

static void s_log_decision(const Floodgate__Decision *d)
{
    char ip[FG_ADDR_STRLEN], net[FG_ADDR_STRLEN + 96] = "";
    fg_addr_t a = {d->addr_hi, d->addr_lo};
    if (d->attack_prefix && d->attack_prefix[0])
        snprintf(net, sizeof(net), " prefix=%s usual=%.2f prefix_bans=%u", d->attack_prefix,
                 d->baseline, d->prefix_bans);
    fg_info("event=%s ip=%s metric=%s value=%.2f threshold=%.2f attack_type=%s hostgroup=%s "
            "pps=%.0f mbps=%.2f fps=%.0f ban_time=%u enable_ban=%s top=%zu%s",
            d->action == FLOODGATE__ACTION__BAN ? "ban" : "ongoing", fg_addr_format(&a, ip),
            d->metric, d->value, d->threshold, d->attack_type, d->hostgroup, d->total->pps,
            d->total->bps / 1e6, d->total->fps, d->ban_time, d->enable_ban ? "true" : "false",
            d->n_top, net);
}

/* Queue one packed decision to every actuator without blocking. NULL when
 * at least one took it (the standbys keep it for a takeover), else why the
 * last one refused (EAGAIN: its queue is full). A refusal is logged with
 * its endpoint. */
static const char *s_send_all(det_daemon_t *dd, const uint8_t *buf, size_t len)
{
    const char *why = "no actuator";
    int sent = 0;
    for (int i = 0; i < dd->n_push; i++) {
        if (zmq_send(zsock_resolve(dd->push[i]), buf, len, ZMQ_DONTWAIT) >= 0) {
            sent++;
            continue;
        }
        why = zmq_strerror(zmq_errno());
        fg_log_rl(&dd->rl_one, 5000, FG_LOG_WARN,
                  "event=decision_not_queued endpoint=%s reason=\"%s\" hint=\"that actuator "
                  "is down or slow; the others got it\"",
                  dd->cfg->actuator.connect[i], why);
    }
    return sent ? NULL : why;
}

/* det_emit_fn: pack and queue without blocking; log what was sent. */
static int s_emit(const Floodgate__Decision *d, void *arg)
{
    det_daemon_t *dd = arg;
    static uint8_t buf[DET_DECISION_MAX];
    const char *why = NULL;
    size_t len = dec_pack(d, buf, sizeof(buf), &why);
    if (len > 0)
        why = s_send_all(dd, buf, len);
    if (why) {
        char ip[FG_ADDR_STRLEN];
        fg_addr_t a = {d->addr_hi, d->addr_lo};
        fg_log_rl(&dd->rl_drop, 5000, FG_LOG_WARN,
                  "event=decision_dropped ip=%s action=%s reason=\"%s\"", fg_addr_format(&a, ip),
                  d->action == FLOODGATE__ACTION__BAN ? "ban" : "ongoing", why);
        return -1;
    }
    s_log_decision(d);
    return 0;
}

/* Take the windows of shard's socket, at most DET_DRAIN_MAX. */
static void s_drain(det_daemon_t *dd, int shard)
{
    zsock_t *sock = dd->sub[shard];
    const det_stats_t *st = det_stats(dd->det);
    for (int i = 0; i < DET_DRAIN_MAX; i++) {
        zmq_msg_t msg;
        int rc = zsec_recv(dd->zs, sock, &msg);
        if (rc < 0)
            break;
        if (rc > 0) {
            fg_log_rl(&dd->rl_malformed, 10000, FG_LOG_WARN,
                      "event=window_refused shard=%d reason=oversized", shard);
            continue;
        }
        uint64_t wrong = st->wrong_shard;
        if (det_ingest(dd->det, zmq_msg_data(&msg), zmq_msg_size(&msg), shard, fg_now_ms()) != 0) {
            bool ws = st->wrong_shard != wrong;
            zsec_refuse(dd->zs, sock, ws ? ZSEC_WRONG_SHARD : ZSEC_MALFORMED);
            fg_log_rl(&dd->rl_malformed, 10000, FG_LOG_WARN,
                      "event=window_refused shard=%d reason=%s bytes=%zu", shard,
                      ws ? "wrong_shard" : "malformed", zmq_msg_size(&msg));
        }
        zmq_msg_close(&msg);
    }
}

static void s_log_lost(det_daemon_t *dd)
{
    const det_stats_t *st = det_stats(dd->det);
    if (st->windows_lost > dd->windows_lost_logged) {
        fg_log_rl(&dd->rl_lost, 10000, FG_LOG_WARN, "event=windows_lost lost=%" PRIu64
                  " total=%" PRIu64, st->windows_lost - dd->windows_lost_logged, st->windows_lost);
        dd->windows_lost_logged = st->windows_lost;
    }
}

/* The end of a network attack: how many hosts were banned for it and the
 * prefix that held most of them. */
static void s_log_network_end(det_daemon_t *dd, int g)
{
    const carpet_tally_t *t = det_network_tally(dd->det, g);
    const carpet_prefix_t *top = t ? carpet_tally_top(t) : NULL;
    char pfx[FG_ADDR_STRLEN + 4] = "none";
    if (top)
        fg_prefix_format(&top->prefix, pfx);
    fg_info("event=network_attack_end hostgroup=%s bans=%u prefix=%s prefix_bans=%u "
            "prefixes=%zu other_bans=%u",
            dd->cfg->groups[g].name, t ? t->bans : 0, pfx, top ? top->bans : 0, t ? t->n : 0,
            t ? t->other : 0);
}

/* Log when a hostgroup's network-wide threshold is crossed or released. */
static void s_log_network(det_daemon_t *dd)
{
    for (int g = 0; g < dd->cfg->n_groups; g++) {
        double pps = 0;
        bool on = det_network_attack(dd->det, g, &pps);
        if (on == dd->net_attack[g])
            continue;
        dd->net_attack[g] = on;
        if (on)
            fg_warn("event=network_attack hostgroup=%s pps=%.0f", dd->cfg->groups[g].name, pps);
        else
            s_log_network_end(dd, g);
    }
}

static void s_dump_stats(det_daemon_t *dd)
{
    char buf[1024];
    det_format_stats(dd->det, buf, sizeof(buf));
    fg_info("event=stats %s", buf);
}

static void s_loop(det_daemon_t *dd)
{
    uint64_t next_stats = fg_mono_ms() + DET_STATS_MS;
    zmq_pollitem_t items[FG_MAX_SHARDS];
    for (int i = 0; i < dd->shards; i++)
        items[i] = (zmq_pollitem_t){zsock_resolve(dd->sub[i]), 0, ZMQ_POLLIN, 0};
    while (!fg_stop) {
        int rc = zmq_poll(items, dd->shards, DET_TICK_MS);
        for (int i = 0; rc > 0 && i < dd->shards; i++)
            if (items[i].revents & ZMQ_POLLIN)
                s_drain(dd, i);
        if (rc < 0 && zmq_errno() != EINTR)
            fg_die(1, "event=poll_failed reason=\"%s\"", zmq_strerror(zmq_errno()));
        s_log_lost(dd);
        det_tick(dd->det, fg_now_ms());
        s_log_network(dd);
        zsec_tick(dd->zs);
        fg_metrics_tick(dd->metrics);
        if (fg_dump_stats || fg_mono_ms() >= next_stats) {
            fg_dump_stats = 0;
            next_stats = fg_mono_ms() + DET_STATS_MS;
            s_dump_stats(dd);
        }
        if (fg_reload) {
            fg_reload = 0;
            if (fg_daemon_reload(dd->cfg) == 0)
                det_reload(dd->det);
        }
    }
}

static void s_sockets(det_daemon_t *dd, const fg_config_t *cfg)
{
    dd->zs = fg_daemon_zsec(cfg, cfg->detector.cert, NULL);
    dd->shards = cfg->aggregator.shards;
    for (int i = 0; i < cfg->aggregator.shards; i++) {
        dd->sub[i] = fg_daemon_connect(dd->zs, ZSEC_DET_SUB, cfg->aggregator.pub_connect[i],
                                       cfg->aggregator.public_key[i]);
        fg_info("event=connect socket=sub shard=%d endpoint=%s curve=%d", i, cfg->aggregator.pub_connect[i],
                zsec_curve(dd->zs));
    }
    for (int i = 0; i < cfg->actuator.n_connect; i++) {
        dd->push[dd->n_push++] = fg_daemon_connect(dd->zs, ZSEC_DET_PUSH, cfg->actuator.connect[i],
                                                   cfg->actuator.public_key[i]);
        fg_info("event=connect socket=push endpoint=%s curve=%d", cfg->actuator.connect[i],
                zsec_curve(dd->zs));
    }
}

int main(int argc, char **argv)
{
    fg_args_t args;
    fg_config_t *cfg = fg_daemon_start("detector", argc, argv, false, &args);
    det_daemon_t dd = {0};
    dd.cfg = cfg;
    dd.det = det_new(cfg, s_emit, &dd);
    if (!dd.det)
        fg_die(1, "event=start_failed reason=\"out of memory\"");
    s_sockets(&dd, cfg);
    dd.metrics = det_metrics_start(cfg, dd.det);
    if (zsec_metrics(dd.zs, dd.metrics) != 0)
        fg_die(1, "event=start_failed reason=\"out of memory\"");
    fg_info("event=start shards=%d groups=%d ongoing_interval=%d attack_end=%d", cfg->aggregator.shards,
            cfg->n_groups, cfg->detector.ongoing_interval, cfg->detector.attack_end);

    s_loop(&dd);

    s_dump_stats(&dd);
    fg_info("event=stop");
    fg_metrics_destroy(&dd.metrics);
    zsec_destroy(&dd.zs);
    det_destroy(&dd.det);
    fg_config_destroy(&cfg);
    return 0;
}
