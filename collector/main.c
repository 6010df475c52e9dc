/* floodgate-collector: NetFlow v5 / v9, IPFIX and sFlow v5 in, FlowBatch
 * messages out.
 *
 * Reads top to bottom: args and config (fg_daemon_start) -> shard sockets
 * (col_new) -> UDP sockets -> loop. The loop polls the UDP sockets with a
 * timeout that is the next batch's deadline (at most batch_ms), drains each
 * readable socket with recvmmsg, sends due batches, and dumps the counters
 * and the per-exporter counters on SIGUSR1 and every 60 s. SIGTERM / SIGINT end it after a last
 * flush. */
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <time.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "collector/col_metrics.h"
#include "collector/collector.h"
#include "collector/recorder.h"
#include "collector/udp.h"
#include "common/daemon.h"
#include "common/log.h"

#define STATS_EVERY_MS 60000
#define DROPS_SYNC_MS 1000 /* socket drops read from the kernel's counter */
/* recvmmsg calls per socket per wake-up, so flushes and signals are served
 * even when a socket never runs dry. */
#define DRAIN_ROUNDS 16
/* While datagrams keep coming, the loop wakes at most every SETTLE_US: a
 * wake-up (poll sleeping and waking, a recvmmsg for a few datagrams) cost
 * more than the records it brought (sFlow flat out: wake-ups were half
 * the collector's CPU). The datagrams wait in the socket meanwhile (1 ms
 * at 5 M v9 records/s: about 170 datagrams, a few hundred kB of the 8 MB
 * rcvbuf); a flood that fills every recvmmsg never waits. */
#define SETTLE_US 1000

typedef struct {
    fg_config_t *cfg; /* reloaded in place on SIGHUP */
    col_t *col;
    udp_rx_t *rx[2 * FG_MAX_LISTEN];
    struct pollfd pfd[2 * FG_MAX_LISTEN];
    uint16_t port[2 * FG_MAX_LISTEN]; /* each socket's local port, for the recording */
    int n_rx;
    rec_t *rec; /* NULL: not recording */
    uint64_t rec_errors_logged;
    fg_ratelimit_t rl_recv, rl_cut, rl_rec;
    fg_metrics_t *metrics;
} ctx_t;

/* Open one receive socket on ep; warn once when rmem_max capped it. */
static void s_open_one(ctx_t *c, const char *ep, const char *proto, bool *warned)
{
    char err[512];
    int got = 0;
    if (c->n_rx >= (int)(sizeof(c->rx) / sizeof(c->rx[0])))
        fg_die(1, "event=listen_failed reason=\"too many listen endpoints\"");
    udp_rx_t *rx = udp_open(ep, c->cfg->collector.rcvbuf, &got, err, sizeof(err));
    if (!rx)
        fg_die(1, "event=listen_failed endpoint=%s reason=\"%s\"", ep, err);
    /* Linux grants twice the value asked for (the other half is its
     * bookkeeping); less than that means net.core.rmem_max capped it. */
    if (got / 2 < c->cfg->collector.rcvbuf && !*warned) {
        fg_warn("event=rcvbuf_capped wanted=%d got=%d hint=\"sysctl -w "
                "net.core.rmem_max=%d\"",
                c->cfg->collector.rcvbuf, got / 2, c->cfg->collector.rcvbuf);
        *warned = true;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    c->port[c->n_rx] = 0;
    if (getsockname(rx->fd, (struct sockaddr *)&ss, &sl) == 0)
        c->port[c->n_rx] = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                          : ((struct sockaddr_in *)&ss)->sin_port);
    c->rx[c->n_rx] = rx;
    c->pfd[c->n_rx].fd = rx->fd;
    c->pfd[c->n_rx].events = POLLIN;
    c->n_rx++;
    fg_info("event=listen proto=%s endpoint=%s rcvbuf=%d", proto, ep, got / 2);
}

/* NetFlow v5 / v9 and IPFIX share their sockets (the version field tells
 * them apart); sFlow has its own. */
static void s_open_sockets(ctx_t *c)
{
    bool warned = false;
    for (int i = 0; i < c->cfg->collector.n_netflow_listen; i++)
        s_open_one(c, c->cfg->collector.netflow_listen[i], "netflow", &warned);
    for (int i = 0; i < c->cfg->collector.n_sflow_listen; i++)
        s_open_one(c, c->cfg->collector.sflow_listen[i], "sflow", &warned);
}

static uint64_t s_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint16_t s_sport(const udp_rx_t *rx, int i)
{
    const struct sockaddr_storage *ss = &rx->from[i];
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* The recording's counters into the collector's; a new failure logged
 * (rate-limited). */
static void s_rec_sync(ctx_t *c)
{
    const rec_stats_t *rs = rec_stats(c->rec);
    col_stats_t *st = col_stats(c->col);
    st->recorded = rs->datagrams;
    st->record_dropped = rs->dropped;
    st->record_files = rs->files;
    st->record_errors = rs->errors;
    if (rs->errors != c->rec_errors_logged) {
        c->rec_errors_logged = rs->errors;
        fg_log_rl(&c->rl_rec, 10000, FG_LOG_WARN,
                  "event=record_failed file=%s errors=%" PRIu64 " dropped=%" PRIu64
                  " hint=\"directory missing, not writable, or disk full\"",
                  c->cfg->collector.record_file, rs->errors, rs->dropped);
    }
}

/* Hand every datagram of one recvmmsg batch to the collector (and to the
 * recording, when on) with one clock read per batch: the batch's datagrams
 * arrived together, an sFlow sample's time is the batch's. */
static void s_batch(ctx_t *c, int k, int n, uint64_t now)
{
    udp_rx_t *rx = c->rx[k];
    col_stats_t *st = col_stats(c->col);
    uint64_t wall_us = s_wall_us();
    col_set_wall_ms(c->col, wall_us / 1000);
    for (int i = 0; i < n; i++) {
        size_t len;
        int cut;
        const uint8_t *d = udp_data(rx, i, &len, &cut);
        fg_addr_t from = udp_source(rx, i);
        if (cut) {
            st->datagrams++;
            st->oversize++;
            fg_log_rl(&c->rl_cut, 10000, FG_LOG_WARN, "event=oversize_datagram max=%d",
                      UDP_DGRAM_MAX);
            continue;
        }
        if (c->rec)
            rec_datagram(c->rec, d, len, &from, s_sport(rx, i), c->port[k], wall_us);
        col_datagram(c->col, d, len, &from, now);
    }
    col_set_wall_ms(c->col, 0); /* the clock again, for timed flushes */
    if (c->rec)
        s_rec_sync(c);
}

/* Read socket k until it runs dry or DRAIN_ROUNDS times; true when it
 * did not run dry. */
static bool s_drain(ctx_t *c, int k)
{
    udp_rx_t *rx = c->rx[k];
    col_stats_t *st = col_stats(c->col);
    for (int round = 0; round < DRAIN_ROUNDS; round++) {
        uint64_t kdrops = 0;
        int n = udp_recv(rx, &kdrops);
        st->kernel_drops += kdrops;
        if (n < 0) {
            st->recv_errors++;
            fg_log_rl(&c->rl_recv, 10000, FG_LOG_WARN, "event=recv_error reason=\"%s\"",
                      strerror(errno));
            return false;
        }
        if (n == 0)
            return false;
        s_batch(c, k, n, fg_mono_ms());
        col_flush_due(c->col, fg_mono_ms());
        if (n < UDP_BATCH)
            return false;
    }
    return true;
}

static uint64_t s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Let datagrams gather until SETTLE_US after the wake-up at woke_us. */
static void s_settle(uint64_t woke_us)
{
    uint64_t t = s_mono_us();
    if (t - woke_us >= SETTLE_US)
        return;
    uint64_t left = SETTLE_US - (t - woke_us);
    struct timespec ts = {0, (long)(left * 1000)};
    clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

/* collector/record_file set: record every datagram received. */
static void s_open_recording(ctx_t *c)
{
    const col_config_t *cc = &c->cfg->collector;
    if (!cc->record_file[0])
        return;
    c->rec = rec_new(cc->record_file, (uint64_t)cc->record_max_mb << 20,
                     (uint32_t)cc->record_max_seconds, (uint32_t)cc->record_keep);
    if (!c->rec)
        fg_die(1, "event=start_failed reason=\"recording: out of memory or path too long\"");
    fg_info("event=recording file=%s max_mb=%d max_seconds=%d keep=%d", cc->record_file,
            cc->record_max_mb, cc->record_max_seconds, cc->record_keep);
}

static void s_log_stats(ctx_t *c, const char *why)
{
    char line[4096];
    fg_info("event=stats why=%s %s", why, col_stats_format(c->col, line, sizeof(line)));
}

/* Count the socket drops no datagram has told yet (udp_drops_sync). */
static void s_drops_sync(ctx_t *c)
{
    for (int i = 0; i < c->n_rx; i++) {
        uint64_t kdrops = 0;
        if (udp_drops_sync(c->rx[i], &kdrops) == 0)
            col_stats(c->col)->kernel_drops += kdrops;
    }
}

static void s_loop(ctx_t *c)
{
    uint64_t next_stats = fg_mono_ms() + STATS_EVERY_MS, next_sync = 0, woke_us = 0;
    bool settle = false; /* the last wake-up emptied the sockets it read */
    while (!fg_stop) {
        if (settle)
            s_settle(woke_us);
        int timeout = col_next_flush_ms(c->col, fg_mono_ms());
        int rc = poll(c->pfd, (nfds_t)c->n_rx, timeout);
        if (rc < 0 && errno != EINTR)
            fg_die(1, "event=poll_failed reason=\"%s\"", strerror(errno));
        settle = rc > 0;
        woke_us = rc > 0 ? s_mono_us() : woke_us;
        for (int i = 0; rc > 0 && i < c->n_rx; i++)
            if ((c->pfd[i].revents & POLLIN) && s_drain(c, i))
                settle = false;
        uint64_t now = fg_mono_ms();
        col_flush_due(c->col, now);
        if (c->rec) {
            rec_tick(c->rec, s_wall_us());
            s_rec_sync(c);
        }
        zsec_tick(col_zsec(c->col));
        if (now >= next_sync) {
            next_sync = now + DROPS_SYNC_MS;
            s_drops_sync(c);
        }
        fg_metrics_tick(c->metrics);
        if (fg_dump_stats) {
            fg_dump_stats = 0;
            s_log_stats(c, "signal");
            col_log_exporters(c->col);
        }
        if (fg_reload) { /* monitored networks, exporter_allow, sampling_override: read
                            from cfg per datagram, so they apply from the next one */
            fg_reload = 0;
            fg_daemon_reload(c->cfg);
        }
        if (now >= next_stats) {
            next_stats = now + STATS_EVERY_MS;
            s_log_stats(c, "timer");
            col_log_exporters(c->col);
        }
    }
}

int main(int argc, char **argv)
{
    fg_args_t args;
    fg_config_t *cfg = fg_daemon_start("collector", argc, argv, false, &args);
    ctx_t c = {.cfg = cfg};
    char err[512];
    fg_daemon_curve_log(cfg, cfg->collector.cert, NULL);
    c.col = col_new(cfg, err, sizeof(err));
    if (!c.col)
        fg_die(cfg->curve.enable ? 2 : 1, "event=start_failed reason=\"%s\"", err);
    s_open_sockets(&c);
    s_open_recording(&c);
    c.metrics = col_metrics_start(cfg, c.col);
    if (zsec_metrics(col_zsec(c.col), c.metrics) != 0)
        fg_die(1, "event=start_failed reason=\"out of memory\"");
    fg_info("event=start id=%u shards=%d batch_records=%d batch_ms=%d", cfg->collector.id,
            cfg->aggregator.shards, cfg->collector.batch_records, cfg->collector.batch_ms);
    s_loop(&c);
    col_flush_all(c.col);
    s_drops_sync(&c);
    rec_destroy(&c.rec);
    s_log_stats(&c, "exit");
    fg_metrics_destroy(&c.metrics);
    for (int i = 0; i < c.n_rx; i++)
        udp_close(&c.rx[i]);
    col_destroy(&c.col);
    fg_config_destroy(&cfg);
    zsys_shutdown();
    fg_info("event=stop");
    return 0;
}
