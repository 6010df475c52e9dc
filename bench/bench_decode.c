/* bench_decode: collector decode speed, from memory and through the socket,
 * and FastNetMon on the same traffic.
 *
 *   floodgate-bench-decode [--mem-seconds S] [--sock-seconds S] [--rate R]
 *                          [--fastnetmon] [--only-mem]
 *
 * 1. From memory, one core: NetFlow v5, v9, IPFIX and sFlow v5 datagrams
 *    built here (v9 / IPFIX: a 45-byte Cisco-like template, 30 records per
 *    datagram; sFlow: 8 flow samples with 128-byte raw headers; v5: 30
 *    records) are decoded over and over into a sink that only sums them:
 *    records per CPU second (CLOCK_PROCESS_CPUTIME_ID).
 *    Then the collector's whole datagram path from memory (col_datagram:
 *    dispatch, decode, filter, sharding to 1 or 4 shards, FlowBatch
 *    packing; no sockets): CPU ns per record.
 * 2. Through the socket: a floodgate-collector process (the build's) on
 *    loopback gets the datagrams over UDP for S seconds (sendmmsg, paced at
 *    R records/s, 0 = as fast as possible) and pushes FlowBatch messages to
 *    a PULL socket here; every destination is monitored. Reported: records
 *    sent, records that came out in FlowBatch messages, the collector's CPU
 *    seconds (utime + stime from /proc/PID/stat), so records per CPU second
 *    including decode, filter, sharding and FlowBatch packing.
 * 3. With --fastnetmon, /usr/sbin/fastnetmon (Debian 1.2.4) gets the same
 *    v9 stream on its own port; its CPU seconds and the records it counted
 *    (fastnetmon_total_simple_packets_processed from its Prometheus
 *    endpoint) give its CPU seconds per million records.
 * Times on a shared 2-core machine: run it when the machine is quiet. */
#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "collector/collector.h"
#include "collector/ipfix.h"
#include "collector/netflow_v5.h"
#include "collector/netflow_v9.h"
#include "collector/sflow.h"
#include "collector/templates.h"
#include "common/flowbatch.h"
#include "bench/benchlib.h"
#include "tests/flowtest.h"
#include "tests/harness.h"

/* ---- 1. from memory ---- */

static uint64_t s_sum;
static void s_flush(void *arg, const raw_flow_t *recs, int n)
{
    (void)arg;
    for (int i = 0; i < n; i++)
        s_sum += recs[i].packets + recs[i].bytes + recs[i].dst.lo;
}

#define MEM_DGRAMS 256

static double s_mem(int p, double seconds)
{
    static ft_wr_t w[MEM_DGRAMS];
    static raw_flow_t buf[256];
    raw_sink_t sink = {buf, 0, 256, s_flush, NULL};
    tpl_cache_t *cache = tpl_cache_new(64);
    exp_entry_t exp = {0};
    tpl_stats_t st = {0};
    int per = 0;
    for (uint32_t i = 0; i < MEM_DGRAMS; i++)
        per = bl_make(p, &w[i], i == 0 ? 0 : i + 1); /* the first holds the template */
    uint64_t recs = 0;
    double t0 = bl_cpu_now(), t1 = t0;
    while (t1 - t0 < seconds) {
        for (int i = 0; i < MEM_DGRAMS; i++) {
            const uint8_t *b = w[i].b;
            size_t len = w[i].n;
            if (p == P_V5) {
                nf5_header_t h;
                raw_flow_t r[NF5_MAX_RECORDS];
                nf5_decode(b, len, 1, &h, r);
                s_flush(NULL, r, h.count);
            } else if (p == P_SFLOW) {
                sflow_header_t h;
                sflow_stats_t ss = {0};
                uint32_t flows;
                sflow_header(b, len, &h);
                sflow_decode(b, len, &h, 1, 0, 1, &sink, &ss, &flows);
            } else {
                tpl_env_t env = {.cache = cache, .exp = &exp, .now_ms = 1, .max_per_stream = 8,
                                 .st = &st, .sink = &sink};
                env.ctx.default_sampling = 1;
                if (p == P_V9) {
                    nf9_header_t h;
                    nf9_header(b, len, &h);
                    nf9_decode(b, len, &h, &env);
                } else {
                    ipfix_header_t h;
                    ipfix_header(b, len, &h);
                    ipfix_decode(b, &h, &env);
                }
            }
            recs += (uint64_t)per;
        }
        raw_sink_drain(&sink);
        t1 = bl_cpu_now();
    }
    tpl_cache_destroy(&cache);
    return (double)recs / (t1 - t0);
}

/* ---- 1b. the collector's whole datagram path, from memory ---- */

static uint64_t s_col_bytes;
static void s_col_batch(void *arg, int shard, const uint8_t *buf, size_t len)
{
    (void)arg;
    (void)shard;
    s_col_bytes += len + buf[0];
}

/* col_datagram over the same datagrams (allow list, dispatch, decode,
 * filter, sharding, FlowBatch packing; no sockets): records per CPU
 * second. */
static double s_col(int p, double seconds, int shards)
{
    static ft_wr_t w[MEM_DGRAMS];
    char text[512], err[512], *dir = hn_tmpdir("bench-col"), path[600];
    snprintf(text, sizeof(text),
             "general\n    log_level = warn\nnetworks\n    monitored = \"10.0.0.0/16\"\naggregator\n    shards = %d\n", shards);
    snprintf(path, sizeof(path), "%s/floodgate.conf", dir);
    hn_write_file(path, text);
    fg_config_t *cfg = fg_config_load(path, err, sizeof(err));
    col_t *col = cfg ? col_new_sink(cfg, s_col_batch, NULL, err, sizeof(err)) : NULL;
    if (!col) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
    int per = 0;
    for (uint32_t i = 0; i < MEM_DGRAMS; i++)
        per = bl_make(p, &w[i], i == 0 ? 0 : i + 1);
    fg_addr_t from = fg_addr_from_v4(0x7f000001);
    uint64_t recs = 0, now = 1000;
    double t0 = bl_cpu_now(), t1 = t0;
    while (t1 - t0 < seconds) {
        for (int i = 0; i < MEM_DGRAMS; i++)
            col_datagram(col, w[i].b, w[i].n, &from, now);
        recs += (uint64_t)per * MEM_DGRAMS;
        col_flush_due(col, ++now);
        t1 = bl_cpu_now();
    }
    col_flush_all(col);
    if (col_stats(col)->records_sent != recs || col_stats(col)->records_dropped)
        fprintf(stderr, "bench: %s: %llu records, %llu sent, %llu dropped\n", bl_names[p],
                (unsigned long long)recs, (unsigned long long)col_stats(col)->records_sent,
                (unsigned long long)col_stats(col)->records_dropped);
    col_destroy(&col);
    fg_config_destroy(&cfg);
    hn_rmdir(dir);
    free(dir);
    return (double)recs / (t1 - t0);
}

/* ---- 2. / 3. through a socket ---- */

typedef struct {
    zsock_t *pull;
    volatile int stop;
    volatile uint64_t records;
} sinkthr_t;

static void *s_pull_thread(void *arg)
{
    sinkthr_t *t = arg;
    zsock_set_rcvtimeo(t->pull, 200);
    while (!t->stop) {
        zframe_t *f = zframe_recv(t->pull);
        if (!f)
            continue;
        size_t n = 0;
        Floodgate__FlowBatch *m = fb_unpack(zframe_data(f), zframe_size(f), &n);
        if (m)
            floodgate__flow_batch__free_unpacked(m, NULL);
        zframe_destroy(&f);
        t->records += n;
    }
    return NULL;
}

typedef struct {
    uint64_t sent, out;
    double cpu, wall;
    uint64_t kdrops, bdrops; /* the collector's kernel_drops, records_dropped */
} sockres_t;

/* A counter of the collector's exit stats line in its log. */
static uint64_t s_stat(const char *log, const char *key)
{
    const char *line = log ? strstr(log, "why=exit") : NULL;
    char k[64];
    snprintf(k, sizeof(k), " %s=", key);
    const char *p = line ? strstr(line, k) : NULL;
    return p ? strtoull(p + strlen(k), NULL, 10) : 0;
}

static sockres_t s_sock(int p, double seconds, double rate)
{
    sockres_t r = {0};
    char *dir = hn_tmpdir("bench-decode");
    sinkthr_t t = {.pull = zsock_new_pull("tcp://127.0.0.1:*")};
    int nf = hn_free_port(), sf = hn_free_port();
    char conf[512], text[1024], bin[512], log[512];
    snprintf(text, sizeof(text),
             "general\n    log_level = info\nnetworks\n    monitored = \"10.0.0.0/16\"\n"
             "collector\n    netflow_listen = \"127.0.0.1:%d\"\n    sflow_listen = \"127.0.0.1:%d\"\n"
             "    rcvbuf = 33554432\n    metrics_listen = \"\"\n"
             "aggregator\n    shards = 1\n    pull_connect = \"%s\"\n",
             nf, sf, zsock_endpoint(t.pull));
    snprintf(conf, sizeof(conf), "%s/floodgate.conf", dir);
    hn_write_file(conf, text);
    snprintf(bin, sizeof(bin), "%s/floodgate-collector", hn_build_dir());
    snprintf(log, sizeof(log), "%s/collector.log", dir);
    char *argv[] = {bin, "-c", conf, NULL};
    pid_t pid = hn_spawn(argv, log);
    pthread_t th;
    pthread_create(&th, NULL, s_pull_thread, &t);
    zclock_sleep(500);
    double c0 = bl_proc_cpu(pid), w0 = bl_wall_now();
    r.sent = bl_send(p, &(int){p == P_SFLOW ? sf : nf}, 1, seconds, rate);
    r.wall = bl_wall_now() - w0;
    zclock_sleep(1000); /* let the last batches out */
    r.cpu = bl_proc_cpu(pid) - c0;
    r.out = t.records;
    t.stop = 1;
    pthread_join(th, NULL);
    hn_stop(pid, 5000);
    char *text_log = hn_read_file(log);
    r.kdrops = s_stat(text_log, "kernel_drops");
    r.bdrops = s_stat(text_log, "records_dropped");
    free(text_log);
    zsock_destroy(&t.pull);
    hn_rmdir(dir);
    free(dir);
    return r;
}

/* FastNetMon on the same v9 stream: its CPU and its processed count. */
static uint64_t s_fnm_processed(int port)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd),
             "curl -s http://127.0.0.1:%d/metrics | awk '/^fastnetmon_total_simple_packets_processed /"
             "{print $2}'",
             port);
    FILE *f = popen(cmd, "r");
    double v = 0;
    if (f) {
        if (fscanf(f, "%lf", &v) != 1)
            v = 0;
        pclose(f);
    }
    return (uint64_t)v;
}

static sockres_t s_fastnetmon(int p, double seconds, double rate)
{
    sockres_t r = {0};
    char *dir = hn_tmpdir("bench-fnm");
    int nf = hn_free_port(), prom = hn_free_port();
    char conf[512], text[2048], log[512], flog[512];
    bl_fnm_files(dir);
    snprintf(text, sizeof(text),
             "logging_level = info\ndisable_usage_report = on\nenable_api = off\n"
             "enable_ban = off\nprocess_incoming_traffic = on\nprocess_outgoing_traffic = on\n"
             "networks_list_path = %s/networks\nwhite_list_path = %s/whitelist\n"
             "notify_script_path = %s/notify.sh\n"
             "netflow = %s\nsflow = %s\nnetflow_port = %d\nnetflow_host = 127.0.0.1\n"
             "sflow_port = %d\nsflow_host = 127.0.0.1\nnetflow_sampling_ratio = 1\n"
             "mirror_afpacket = off\npcap = off\nredis_enabled = off\nmongodb_enabled = off\n"
             "prometheus = on\nprometheus_port = %d\nprometheus_host = 127.0.0.1\n"
             "average_calculation_time = 5\nspeed_calculation_delay = 1\n",
             dir, dir, dir, p == P_SFLOW ? "off" : "on", p == P_SFLOW ? "on" : "off", nf, nf,
             prom);
    snprintf(conf, sizeof(conf), "%s/fastnetmon.conf", dir);
    hn_write_file(conf, text);
    snprintf(log, sizeof(log), "%s/fastnetmon.out", dir);
    snprintf(flog, sizeof(flog), "%s/fastnetmon.log", dir);
    char *argv[] = {"/usr/sbin/fastnetmon", "--configuration_file", conf, "--log_file", flog,
                    "--disable_pid_logic", NULL};
    pid_t pid = hn_spawn(argv, log);
    zclock_sleep(2000);
    double i0 = bl_proc_cpu(pid);
    zclock_sleep(3000);
    printf("(fastnetmon idle before the run: %.3f CPU s per s)\n", (bl_proc_cpu(pid) - i0) / 3);
    uint64_t before = s_fnm_processed(prom);
    unsigned long rxq = 0;
    uint64_t d0 = bl_udp_drops(nf, &rxq);
    double c0 = bl_proc_cpu(pid), w0 = bl_wall_now();
    r.sent = bl_send(p, &(int){nf}, 1, seconds, rate);
    r.wall = bl_wall_now() - w0;
    /* until its socket is read empty (30 s at most), then its counters
     * follow a few seconds later */
    for (int i = 0; i < 300 && (bl_udp_drops(nf, &rxq), rxq > 0); i++)
        zclock_sleep(100);
    zclock_sleep(5000);
    r.cpu = bl_proc_cpu(pid) - c0;
    r.out = s_fnm_processed(prom) - before;
    r.kdrops = bl_udp_drops(nf, &rxq) - d0;
    if (rxq)
        printf("(fastnetmon still has %lu bytes to read)\n", rxq);
    if (getenv("BENCH_FNM_METRICS")) { /* all of its counters, to stderr */
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "curl -s http://127.0.0.1:%d/metrics | grep -v '^#' >&2",
                 prom);
        if (system(cmd) != 0)
            fprintf(stderr, "(no metrics)\n");
    }
    hn_stop(pid, 5000);
    if (getenv("BENCH_KEEP"))
        fprintf(stderr, "fastnetmon files kept in %s\n", dir);
    else
        hn_rmdir(dir);
    free(dir);
    return r;
}

static void s_row(const char *who, const char *proto, const sockres_t *r)
{
    printf("| %s | %s | %.0f | %.0f k/s | %.0f k | %.1f %% (%.0f k socket, %.0f k queue) | %.2f | "
           "%.2f | %.2f M/s |\n",
           who, proto,
           r->wall, (double)r->sent / r->wall / 1e3, (double)r->out / 1e3,
           r->sent ? 100.0 * (double)(r->sent > r->out ? r->sent - r->out : 0) / (double)r->sent
                   : 0.0,
           (double)r->kdrops * (strcmp(proto, "sFlow v5") ? RECS_PER_DGRAM : SFLOW_SAMPLES) / 1e3,
           (double)r->bdrops / 1e3, r->cpu, r->out ? r->cpu / ((double)r->out / 1e6) : 0.0,
           r->cpu > 0 ? (double)r->out / r->cpu / 1e6 : 0.0);
}

int main(int argc, char **argv)
{
    double mem_s = 2, sock_s = 10, rate = 0;
    bool fnm = false, only_mem = false;
    int only = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mem-seconds") && i + 1 < argc)
            mem_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--sock-seconds") && i + 1 < argc)
            sock_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
            rate = atof(argv[++i]);
        else if (!strcmp(argv[i], "--fastnetmon"))
            fnm = true;
        else if (!strcmp(argv[i], "--only-mem"))
            only_mem = true;
        else if (!strcmp(argv[i], "--proto") && i + 1 < argc)
            only = atoi(argv[++i]); /* 0 v5, 1 v9, 2 IPFIX, 3 sFlow */
        else {
            fprintf(stderr, "usage: %s [--mem-seconds S] [--sock-seconds S] [--rate R] "
                            "[--fastnetmon] [--only-mem] [--proto 0-3]\n", argv[0]);
            return 2;
        }
    }
    printf("| protocol | decode from memory, records / CPU s | whole datagram path (col_datagram, "
           "1 shard): ns per record | 4 shards |\n| --- | --- | --- | --- |\n");
    for (int p = 0; p < P_N; p++) {
        if (only >= 0 && p != only)
            continue;
        double d = s_mem(p, mem_s), c1 = s_col(p, mem_s, 1), c4 = s_col(p, mem_s, 4);
        printf("| %s | %.1f M | %.1f | %.1f |\n", bl_names[p], d / 1e6, 1e9 / c1, 1e9 / c4);
    }
    fflush(stdout);
    if (only_mem)
        return (int)(s_sum & 0);
    printf("\n| process | protocol | s | offered | records out | lost | CPU s | CPU s / M records "
           "offered | records out / CPU s |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (int p = 0; p < P_N; p++) {
        if (only >= 0 && p != only)
            continue;
        sockres_t r = s_sock(p, sock_s, rate);
        s_row("floodgate-collector", bl_names[p], &r);
        fflush(stdout);
        if (fnm && (p == P_V9 || p == P_SFLOW)) {
            r = s_fastnetmon(p, sock_s, rate);
            s_row("fastnetmon 1.2.4", bl_names[p], &r);
            fflush(stdout);
        }
    }
    return (int)(s_sum & 0);
}
