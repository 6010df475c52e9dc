/* floodgate-aggregator --shard i: FlowBatch in (PULL), WindowBatch out (PUB)
 * every tick, aligned to wall-clock multiples of tick_ms. */
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include "aggregator/agg.h"
#include "aggregator/agg_metrics.h"
#include "common/daemon.h"
#include "common/log.h"

#define AGG_DRAIN_MAX 256        /* messages taken per poll wake-up */
#define AGG_STATS_MS 60000
#define AGG_EVICT_QUIET_MS 10000 /* no eviction for this long: eviction stopped */

typedef struct {
    agg_t *agg;
    zsec_t *zs;
    zsock_t *pull, *pub; /* the zsec's */
    uint32_t shard;
    uint64_t publish_failed;
    fg_ratelimit_t rl_malformed, rl_publish;
    uint64_t malformed_seen;
    fg_metrics_t *metrics;
    fg_config_t *cfg; /* reloaded in place on SIGHUP, between two windows */
    bool reload;      /* SIGHUP seen: reload after the next window closes */
    /* host table eviction, logged when it starts and when it stops */
    bool evicting;
    uint64_t evicted_seen, evicted_at_start, last_evict_ms;
} agg_daemon_t;

static zsock_t *s_bind(zsec_t *zs, zsec_role_t role, const char *base, int shard)
{
    char ep[FG_ENDPOINT_MAX];
    if (fg_endpoint_offset(base, shard, ep, sizeof(ep)) != 0)
        fg_die(1, "event=bind_failed endpoint=%s reason=\"no numeric port\"", base);
    zsock_t *s = fg_daemon_bind(zs, role, ep);
    fg_info("event=bind socket=%s endpoint=%s curve=%d", role == ZSEC_AGG_PULL ? "pull" : "pub",
            ep, zsec_curve(zs));
    return s;
}

static void s_dump_stats(agg_daemon_t *d)
{
    char buf[1024];
    agg_format_stats(d->agg, buf, sizeof(buf));
    fg_info("event=stats shard=%u %s publish_failed=%" PRIu64, d->shard, buf, d->publish_failed);
}

/* Take what the PULL socket holds, up to AGG_DRAIN_MAX messages. */
static void s_drain(agg_daemon_t *d)
{
    for (int i = 0; i < AGG_DRAIN_MAX; i++) {
        zmq_msg_t msg;
        int rc = zsec_recv(d->zs, d->pull, &msg);
        if (rc < 0)
            return;
        if (rc > 0) {
            fg_log_rl(&d->rl_malformed, 10000, FG_LOG_WARN, "event=batch_refused reason=oversized "
                      "max_bytes=%zu", zsec_max_msg(d->zs, ZSEC_AGG_PULL));
            continue;
        }
        const agg_stats_t *st = agg_stats(d->agg);
        uint64_t wrong = st->refused_shard;
        if (agg_ingest(d->agg, zmq_msg_data(&msg), zmq_msg_size(&msg), fg_now_ms()) != 0) {
            bool shard = st->refused_shard != wrong;
            zsec_refuse(d->zs, d->pull, shard ? ZSEC_WRONG_SHARD : ZSEC_MALFORMED);
            fg_log_rl(&d->rl_malformed, 10000, FG_LOG_WARN,
                      "event=batch_refused reason=%s bytes=%zu malformed_total=%" PRIu64
                      " wrong_shard_total=%" PRIu64, shard ? "wrong_shard" : "malformed",
                      zmq_msg_size(&msg), st->malformed, st->refused_shard);
        }
        zmq_msg_close(&msg);
    }
}

static void s_publish(agg_daemon_t *d, uint64_t now_ms)
{
    size_t len = 0;
    const uint8_t *buf = agg_close_window(d->agg, now_ms, &len);
    if (!buf || zmq_send(zsock_resolve(d->pub), buf, len, ZMQ_DONTWAIT) < 0) {
        d->publish_failed++;
        fg_log_rl(&d->rl_publish, 10000, FG_LOG_WARN,
                  "event=publish_failed reason=\"%s\" total=%" PRIu64,
                  buf ? zmq_strerror(zmq_errno()) : "out of memory or over the WindowBatch limits",
                  d->publish_failed);
    }
}

/* Log once when the host table starts evicting idle hosts for new ones,
 * and once when it has not had to for AGG_EVICT_QUIET_MS. */
static void s_check_eviction(agg_daemon_t *d, uint64_t mono_ms)
{
    const agg_stats_t *st = agg_stats(d->agg);
    if (st->hosts_evicted != d->evicted_seen) {
        if (!d->evicting) {
            d->evicting = true;
            d->evicted_at_start = d->evicted_seen;
            fg_warn("event=host_table_full shard=%u hosts=%zu action=evicting_idle_hosts "
                    "refused_total=%" PRIu64,
                    d->shard, agg_hosts_tracked(d->agg), st->hosts_refused);
        }
        d->evicted_seen = st->hosts_evicted;
        d->last_evict_ms = mono_ms;
    } else if (d->evicting && mono_ms - d->last_evict_ms >= AGG_EVICT_QUIET_MS) {
        d->evicting = false;
        fg_warn("event=host_table_eviction_stopped shard=%u evicted=%" PRIu64
                " refused_total=%" PRIu64,
                d->shard, d->evicted_seen - d->evicted_at_start, st->hosts_refused);
    }
}

static uint64_t s_next_tick(uint64_t now_ms, uint64_t tick)
{
    return (now_ms / tick + 1) * tick;
}

/* SIGHUP, right after a window closed: the group sums are empty, so hosts
 * can move to another hostgroup without mixing two configs in a window. */
static void s_reload(agg_daemon_t *d)
{
    d->reload = false;
    if (fg_daemon_reload(d->cfg) != 0)
        return;
    size_t moved = agg_reload(d->agg);
    fg_info("event=reload_applied shard=%u hosts=%zu hosts_moved=%zu watch_floor=%g", d->shard,
            agg_hosts_tracked(d->agg), moved, d->cfg->aggregator.watch_floor);
}

static void s_loop(agg_daemon_t *d, const fg_config_t *cfg)
{
    uint64_t tick = (uint64_t)cfg->aggregator.tick_ms;
    uint64_t next = s_next_tick(fg_now_ms(), tick);
    uint64_t next_stats = fg_mono_ms() + AGG_STATS_MS;
    zmq_pollitem_t item = {zsock_resolve(d->pull), 0, ZMQ_POLLIN, 0};
    while (!fg_stop) {
        uint64_t now = fg_now_ms();
        if (now >= next) {
            s_publish(d, now);
            s_check_eviction(d, fg_mono_ms());
            next = s_next_tick(now, tick);
            if (d->reload)
                s_reload(d);
        } else if (next - now > tick) { /* the clock went back */
            next = s_next_tick(now, tick);
        }
        zsec_tick(d->zs);
        fg_metrics_tick(d->metrics);
        if (fg_dump_stats || fg_mono_ms() >= next_stats) {
            fg_dump_stats = 0;
            next_stats = fg_mono_ms() + AGG_STATS_MS;
            s_dump_stats(d);
        }
        if (fg_reload) {
            fg_reload = 0;
            d->reload = true;
        }
        now = fg_now_ms();
        long timeout = next > now ? (long)(next - now) : 0;
        int rc = zmq_poll(&item, 1, timeout);
        if (rc > 0)
            s_drain(d);
        else if (rc < 0 && zmq_errno() != EINTR)
            fg_die(1, "event=poll_failed reason=\"%s\"", zmq_strerror(zmq_errno()));
    }
}

int main(int argc, char **argv)
{
    fg_args_t args;
    fg_config_t *cfg = fg_daemon_start("aggregator", argc, argv, true, &args);
    agg_daemon_t d = {.cfg = cfg};
    d.shard = (uint32_t)args.shard;
    d.agg = agg_new(cfg, d.shard);
    if (!d.agg)
        fg_die(1, "event=start_failed reason=\"out of memory for %d hosts\"", cfg->aggregator.max_hosts);
    d.zs = fg_daemon_zsec(cfg, cfg->aggregator.cert, cfg->aggregator.allowed_keys);
    d.pull = s_bind(d.zs, ZSEC_AGG_PULL, cfg->aggregator.pull_bind, args.shard);
    d.pub = s_bind(d.zs, ZSEC_AGG_PUB, cfg->aggregator.pub_bind, args.shard);
    d.metrics = agg_metrics_start(cfg, d.shard, d.agg, &d.publish_failed);
    if (zsec_metrics(d.zs, d.metrics) != 0)
        fg_die(1, "event=start_failed reason=\"out of memory\"");
    fg_info("event=start shard=%u shards=%d tick_ms=%d watch_floor=%g max_hosts=%d horizon=%d "
            "hold_max=%d",
            d.shard, cfg->aggregator.shards, cfg->aggregator.tick_ms, cfg->aggregator.watch_floor,
            cfg->aggregator.max_hosts, cfg->aggregator.horizon, cfg->aggregator.hold_max);

    s_loop(&d, cfg);

    s_dump_stats(&d);
    fg_info("event=stop shard=%u", d.shard);
    fg_metrics_destroy(&d.metrics);
    zsec_destroy(&d.zs);
    agg_destroy(&d.agg);
    fg_config_destroy(&cfg);
    return 0;
}
