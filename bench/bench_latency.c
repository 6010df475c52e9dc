/* bench_latency: detection latency, first attack record -> Decision sent.
 *
 *   floodgate-bench-latency MODE [TRIALS [CONSECUTIVE [AVERAGE_TIME [CONFIDENCE]]]]
 *
 * MODE: sflow (samples, first == last, sampling 1000), netflow (short
 * records, 0-80 ms long, many sources), v9sampled (the same records
 * sampled 1 in 100: one sampled packet x 100 each), ipv6 (as sflow, on an
 * IPv6 host), longflow (the flood as 4 flows of 25 000 pps, each reported
 * by a 60 s record, 10 ms apart).
 * Starts a real floodgate-aggregator (1 shard, tick 100 ms) and
 * floodgate-detector on loopback; this program is the collector (it pushes
 * FlowBatch to the shard) and the actuator (it PULLs the Decisions). Each
 * trial floods a fresh host at 5x its 20 000 pps threshold (100 000 pps)
 * while 100 background hosts send 1 000 pps each; the latency is from the
 * send of the first FlowBatch holding an attack record to the receipt of
 * the BAN for that host. Trials start at random offsets from the tick. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <czmq.h>

#include "common/addr.h"
#include "common/flow.h"
#include "common/flowbatch.h"
#include "floodgate.pb-c.h"
#include "tests/harness.h"

#define STEP_MS 10
#define FLOOD_PPS 100000.0
#define N_BG 100
#define MAX_TRIALS 200

typedef struct {
    char *dir;
    char conf[512];
    int pull_port, pub_port, act_port;
    pid_t agg, det;
    zsock_t *push, *pull;
    fb_builder_t *fb;
    uint64_t seq;
    const char *mode;
    uint32_t src;
} bench_t;

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static double s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

static void s_config(bench_t *b, int consecutive, double average_time, double confidence)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
             "aggregator\n    pull_bind = tcp://127.0.0.1:%d\n    pub_bind = tcp://127.0.0.1:%d\n"
             "    pull_connect = tcp://127.0.0.1:%d\n    pub_connect = tcp://127.0.0.1:%d\n"
             "    tick_ms = 100\n    metrics_listen = \"\"\n"
             "detector\n    metrics_listen = \"\"\n"
             "actuator\n    connect = tcp://127.0.0.1:%d\n"
             "hostgroup\n    default\n        threshold_pps = 20000\n"
             "        threshold_mbps = 0\n        threshold_flows = 0\n"
             "        consecutive_windows = %d\n        average_time = %g\n"
             "        confidence = %g\n",
             b->pull_port, b->pub_port, b->pull_port, b->pub_port, b->act_port, consecutive,
             average_time, confidence);
    hn_write_file(b->conf, text);
}

static pid_t s_daemon(bench_t *b, const char *name, const char *shard)
{
    char bin[512], log[512];
    snprintf(bin, sizeof(bin), "%s/floodgate-%s", hn_build_dir(), name);
    snprintf(log, sizeof(log), "%s/%s.log", b->dir, name);
    char *argv[] = {bin, "-c", b->conf, shard ? "--shard" : NULL, (char *)shard, NULL};
    return hn_spawn(argv, log);
}

static const uint8_t s_exporter[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 9};

static void s_add(bench_t *b, const fg_flow_t *r)
{
    if (fb_add(b->fb, r, s_exporter) == 0)
        return;
    size_t len;
    uint8_t *buf = fb_pack(b->fb, 7, 0, 1, ++b->seq, s_now_ms(), &len);
    zframe_t *f = zframe_new(buf, len);
    free(buf);
    zframe_send(&f, b->push, 0);
    fb_add(b->fb, r, s_exporter);
}

static void s_flush(bench_t *b)
{
    if (fb_count(b->fb) == 0)
        return;
    size_t len;
    uint8_t *buf = fb_pack(b->fb, 7, 0, 1, ++b->seq, s_now_ms(), &len);
    zframe_t *f = zframe_new(buf, len);
    free(buf);
    zframe_send(&f, b->push, 0);
}

/* The flooded host of trial host: 10.0.9.x, or 2001:db8:100::9:x in mode
 * ipv6. */
static fg_addr_t s_target(const bench_t *b, uint32_t host)
{
    if (strcmp(b->mode, "ipv6"))
        return fg_addr_from_v4(host);
    fg_addr_t a = {0, 0};
    fg_addr_parse("2001:db8:100::9:0", &a);
    a.lo += host & 0xffff;
    return a;
}

static fg_flow_t s_rec(uint32_t host, uint32_t peer, uint64_t packets, uint64_t dur,
                       uint64_t now)
{
    fg_flow_t r;
    memset(&r, 0, sizeof(r));
    r.host = fg_addr_from_v4(host);
    r.peer = fg_addr_from_v4(peer);
    r.proto = 17;
    r.sport = (uint16_t)(1024 + peer % 60000);
    r.dport = 80;
    r.packets = packets;
    r.bytes = packets * 500;
    r.start_ms = now - dur;
    r.end_ms = now;
    r.sampling = 1;
    r.dir = FG_DIR_IN;
    return r;
}

/* One step of background traffic: 1 000 pps per host, as samples. */
static void s_background(bench_t *b, uint64_t now)
{
    for (uint32_t h = 0; h < N_BG; h++) {
        fg_flow_t r = s_rec(0x0a000100u + h, 0xc6120000u + (b->src++ % 5000),
                            (uint64_t)(1000 * STEP_MS / 1000), 0, now);
        s_add(b, &r);
    }
}

/* One step of the flood on host, step k since its start. */
static void s_flood(bench_t *b, uint32_t host, uint64_t k, uint64_t now)
{
    uint64_t per_step = (uint64_t)(FLOOD_PPS * STEP_MS / 1000);
    if (!strcmp(b->mode, "sflow") || !strcmp(b->mode, "ipv6")) {
        for (uint64_t i = 0; i < per_step / 1000; i++) { /* 1 in 1000, 1000 packets each */
            fg_flow_t r = s_rec(host, 0xc6130000u + (b->src++ % 5000), 1000, 0, now);
            r.host = s_target(b, host);
            r.sampling = 1000;
            s_add(b, &r);
        }
    } else if (!strcmp(b->mode, "netflow") || !strcmp(b->mode, "v9sampled")) {
        bool sampled = b->mode[0] == 'v'; /* 10 short records per step */
        for (int i = 0; i < 10; i++) {
            uint32_t src = b->src++;
            fg_flow_t r = s_rec(host, 0xc6130000u + src % 5000, per_step / 10,
                                (uint64_t)(src % 80), now);
            r.sampling = sampled ? 100 : 1; /* packets / 10 = 1 sampled packet x 100 */
            s_add(b, &r);
        }
    } else if (k < 4) { /* longflow: 4 flows of 25 000 pps, 60 s records */
        fg_flow_t r = s_rec(host, 0xc6140000u + (uint32_t)k, 25000ULL * 60, 60000, now);
        s_add(b, &r);
    }
}

/* Drain decisions; returns the receive time of a BAN for host, or 0. */
static double s_decisions(bench_t *b, uint32_t host)
{
    fg_addr_t a = s_target(b, host);
    double when = 0;
    zmq_msg_t msg;
    void *sock = zsock_resolve(b->pull);
    for (;;) {
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return when;
        }
        double t = s_mono_ms();
        Floodgate__Decision *d =
            floodgate__decision__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
        if (d && d->action == FLOODGATE__ACTION__BAN && d->addr_hi == a.hi && d->addr_lo == a.lo)
            when = t;
        if (d)
            floodgate__decision__free_unpacked(d, NULL);
        zmq_msg_close(&msg);
    }
}

/* One trial: flood host until its BAN (or 5 s). Returns the latency, or -1. */
static double s_trial(bench_t *b, uint32_t host)
{
    double t_first = 0, t_ban = 0, t0 = s_mono_ms();
    for (uint64_t k = 0; k < 5000 / STEP_MS && !t_ban; k++) {
        double at = t0 + (double)(k * STEP_MS);
        while (s_mono_ms() < at)
            usleep(500);
        uint64_t now = s_now_ms();
        s_background(b, now);
        s_flush(b);
        s_flood(b, host, k, now);
        if (!t_first)
            t_first = s_mono_ms();
        s_flush(b);
        t_ban = s_decisions(b, host);
    }
    return t_ban ? t_ban - t_first : -1;
}

/* Background only for ms milliseconds (between trials). */
static void s_quiet(bench_t *b, int ms)
{
    double t0 = s_mono_ms();
    for (int k = 0; k < ms / STEP_MS; k++) {
        while (s_mono_ms() < t0 + k * STEP_MS)
            usleep(500);
        s_background(b, s_now_ms());
        s_flush(b);
        s_decisions(b, 0);
    }
}

static int s_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, c = *(const double *)y;
    return a < c ? -1 : a > c;
}

int main(int argc, char **argv)
{
    bench_t b = {0};
    b.mode = argc > 1 ? argv[1] : "sflow";
    int trials = argc > 2 ? atoi(argv[2]) : 30;
    int consecutive = argc > 3 ? atoi(argv[3]) : 2;
    double average = argc > 4 ? atof(argv[4]) : 1;
    double confidence = argc > 5 ? atof(argv[5]) : 3;
    if (trials < 1 || trials > MAX_TRIALS) {
        fprintf(stderr, "usage: %s sflow|netflow|v9sampled|ipv6|longflow [TRIALS [CONSECUTIVE [AVG_S [CONFIDENCE]]]]\n",
                argv[0]);
        return 2;
    }
    b.dir = hn_tmpdir("benchlat");
    snprintf(b.conf, sizeof(b.conf), "%s/floodgate.conf", b.dir);
    b.pull_port = hn_free_port();
    b.pub_port = hn_free_port();
    b.act_port = hn_free_port();
    s_config(&b, consecutive, average, confidence);
    char ep[64];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", b.act_port);
    b.pull = zsock_new_pull(ep);
    b.agg = s_daemon(&b, "aggregator", "0");
    b.det = s_daemon(&b, "detector", NULL);
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", b.pull_port);
    b.push = zsock_new_push(ep);
    b.fb = fb_builder_new(4096);
    s_quiet(&b, 1500);
    double lat[MAX_TRIALS];
    int ok = 0, missed = 0;
    srand((unsigned)time(NULL));
    for (int i = 0; i < trials; i++) {
        double l = s_trial(&b, 0x0a000900u + (uint32_t)i);
        if (l < 0)
            missed++;
        else
            lat[ok++] = l;
        s_quiet(&b, 1000 + rand() % 100);
    }
    qsort(lat, (size_t)ok, sizeof(double), s_cmp);
    if (ok > 0)
        printf("mode=%s consecutive=%d average_time=%g confidence=%g tick=100ms trials=%d banned=%d "
               "missed=%d latency_ms min=%.0f p50=%.0f p90=%.0f p99=%.0f max=%.0f\n",
               b.mode, consecutive, average, confidence, trials, ok, missed, lat[0], lat[ok / 2],
               lat[(ok * 9) / 10], lat[(ok * 99) / 100 < ok ? (ok * 99) / 100 : ok - 1],
               lat[ok - 1]);
    else
        printf("mode=%s: no ban in %d trials (logs in %s)\n", b.mode, trials, b.dir);
    zsock_destroy(&b.push);
    zsock_destroy(&b.pull);
    fb_builder_destroy(&b.fb);
    hn_stop(b.det, 3000);
    hn_stop(b.agg, 3000);
    if (ok > 0)
        hn_rmdir(b.dir);
    free(b.dir);
    return ok > 0 ? 0 : 1;
}
