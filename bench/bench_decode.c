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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collector/ipfix.h"
#include "collector/netflow_v5.h"
#include "collector/netflow_v9.h"
#include "collector/sflow.h"
#include "collector/templates.h"
#include "common/flowbatch.h"
#include "tests/flowtest.h"
#include "tests/harness.h"

enum { P_V5, P_V9, P_IPFIX, P_SFLOW, P_N };
static const char *const s_names[P_N] = {"NetFlow v5", "NetFlow v9", "IPFIX", "sFlow v5"};

#define RECS_PER_DGRAM 30
#define SFLOW_SAMPLES 8
#define TEMPLATE_EVERY 64 /* datagrams between template refreshes */

static uint64_t s_rng = 88172645463325252ULL;
static uint32_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t)s_rng;
}

static double s_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double s_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- datagram builders ---- */

/* src4 dst4 sport dport proto flags pkts bytes first last in out tos
 * src_as dst_as src_mask dst_mask nexthop: 45 bytes, as Cisco IOS sends. */
static const uint16_t s_tpl[][2] = {{8, 4},  {12, 4}, {7, 2},  {11, 2}, {4, 1},  {6, 1},
                                    {2, 4},  {1, 4},  {22, 4}, {21, 4}, {10, 2}, {14, 2},
                                    {5, 1},  {16, 2}, {17, 2}, {9, 1},  {13, 1}, {15, 4}};
#define TPL_N (sizeof(s_tpl) / sizeof(s_tpl[0]))

static void s_record(ft_wr_t *w, uint32_t first, uint32_t last)
{
    ft_u32(w, 0xc6330000u | (s_rand() & 0xffff));
    ft_u32(w, 0x0a000000u | (s_rand() & 0xffff));
    ft_u16(w, (uint16_t)s_rand()), ft_u16(w, 80), ft_u8(w, 6), ft_u8(w, 0x02);
    ft_u32(w, 1 + (s_rand() & 15)), ft_u32(w, 40 + (s_rand() & 1023));
    ft_u32(w, first), ft_u32(w, last);
    ft_u16(w, 1), ft_u16(w, 2), ft_u8(w, 0), ft_u16(w, 64500), ft_u16(w, 64501);
    ft_u8(w, 24), ft_u8(w, 16), ft_u32(w, 0xc0a80001);
}

static void s_template_set(ft_wr_t *w, uint16_t set_id)
{
    size_t at = w->n;
    ft_u16(w, set_id), ft_u16(w, 0);
    ft_u16(w, 256), ft_u16(w, (uint16_t)TPL_N);
    for (size_t i = 0; i < TPL_N; i++)
        ft_u16(w, s_tpl[i][0]), ft_u16(w, s_tpl[i][1]);
    ft_patch16(w, at + 2, at);
}

static void s_data_set(ft_wr_t *w, uint32_t uptime)
{
    size_t at = w->n;
    ft_u16(w, 256), ft_u16(w, 0);
    for (int i = 0; i < RECS_PER_DGRAM; i++)
        s_record(w, uptime - 5000, uptime - 100);
    while ((w->n - at) % 4)
        ft_u8(w, 0);
    ft_patch16(w, at + 2, at);
}

static void s_v9(ft_wr_t *w, uint32_t seq, bool tpl)
{
    uint32_t now = (uint32_t)time(NULL);
    w->n = 0;
    ft_u16(w, 9), ft_u16(w, RECS_PER_DGRAM + (tpl ? 1 : 0));
    ft_u32(w, 600000), ft_u32(w, now), ft_u32(w, seq), ft_u32(w, 0);
    if (tpl)
        s_template_set(w, NF9_TEMPLATE_SET);
    s_data_set(w, 600000);
}

static void s_ipfix(ft_wr_t *w, uint32_t seq, bool tpl)
{
    /* first/last as sysUpTime is v9's; IPFIX gets ms timestamps instead */
    uint32_t now = (uint32_t)time(NULL);
    w->n = 0;
    ft_u16(w, 10), ft_u16(w, 0), ft_u32(w, now), ft_u32(w, seq * RECS_PER_DGRAM), ft_u32(w, 0);
    if (tpl)
        s_template_set(w, IPFIX_TEMPLATE_SET);
    size_t at = w->n;
    s_data_set(w, 600000);
    (void)at;
    ft_patch16(w, 2, 0);
}

static void s_v5(ft_wr_t *w, uint32_t seq)
{
    uint32_t now = (uint32_t)time(NULL);
    w->n = 0;
    ft_u16(w, 5), ft_u16(w, RECS_PER_DGRAM), ft_u32(w, 600000), ft_u32(w, now), ft_u32(w, 0);
    ft_u32(w, seq * RECS_PER_DGRAM), ft_u8(w, 0), ft_u8(w, 0), ft_u16(w, 0);
    for (int i = 0; i < RECS_PER_DGRAM; i++) {
        ft_u32(w, 0xc6330000u | (s_rand() & 0xffff)), ft_u32(w, 0x0a000000u | (s_rand() & 0xffff));
        ft_u32(w, 0), ft_u16(w, 1), ft_u16(w, 2);
        ft_u32(w, 1 + (s_rand() & 15)), ft_u32(w, 40 + (s_rand() & 1023));
        ft_u32(w, 595000), ft_u32(w, 599900);
        ft_u16(w, (uint16_t)s_rand()), ft_u16(w, 80), ft_u8(w, 0), ft_u8(w, 2), ft_u8(w, 6);
        ft_u8(w, 0), ft_u16(w, 0), ft_u16(w, 0), ft_u8(w, 0), ft_u8(w, 0), ft_u16(w, 0);
    }
}

/* 8 flow samples, each a 128-byte raw Ethernet / IPv4 / TCP header. */
static void s_sflow(ft_wr_t *w, uint32_t seq)
{
    w->n = 0;
    ft_u32(w, 5), ft_u32(w, 1), ft_u32(w, 0x7f000001), ft_u32(w, 0), ft_u32(w, seq);
    ft_u32(w, 600000), ft_u32(w, SFLOW_SAMPLES);
    for (int s = 0; s < SFLOW_SAMPLES; s++) {
        ft_u32(w, SFLOW_FLOW_SAMPLE);
        size_t at = w->n;
        ft_u32(w, 0);
        ft_u32(w, seq * SFLOW_SAMPLES + (uint32_t)s), ft_u32(w, 3), ft_u32(w, 1000);
        ft_u32(w, 1000000), ft_u32(w, 0), ft_u32(w, 1), ft_u32(w, 2), ft_u32(w, 1);
        ft_u32(w, SFLOW_REC_RAW_HEADER), ft_u32(w, 16 + 128);
        ft_u32(w, SFLOW_PROTO_ETHERNET), ft_u32(w, 1518), ft_u32(w, 4), ft_u32(w, 128);
        uint8_t h[128] = {0};
        h[12] = 0x08, h[14] = 0x45, h[16] = 0x05, h[17] = 0xdc, h[23] = 6;
        uint32_t src = 0xc6330000u | (s_rand() & 0xffff), dst = 0x0a000000u | (s_rand() & 0xffff);
        for (int i = 0; i < 4; i++)
            h[26 + i] = (uint8_t)(src >> (24 - 8 * i)), h[30 + i] = (uint8_t)(dst >> (24 - 8 * i));
        h[34] = 0x30, h[35] = 0x39, h[37] = 80, h[47] = 0x10;
        ft_bytes(w, h, sizeof(h));
        uint32_t len = (uint32_t)(w->n - at - 4);
        w->b[at] = (uint8_t)(len >> 24), w->b[at + 1] = (uint8_t)(len >> 16);
        w->b[at + 2] = (uint8_t)(len >> 8), w->b[at + 3] = (uint8_t)len;
    }
}

/* One datagram of protocol p, number seq (a template in every
 * TEMPLATE_EVERY-th, from the first on). Returns its records. */
static int s_make(int p, ft_wr_t *w, uint32_t seq)
{
    bool tpl = seq % TEMPLATE_EVERY == 0;
    switch (p) {
    case P_V5:
        s_v5(w, seq);
        return RECS_PER_DGRAM;
    case P_V9:
        s_v9(w, seq, tpl);
        return RECS_PER_DGRAM;
    case P_IPFIX:
        s_ipfix(w, seq, tpl);
        return RECS_PER_DGRAM;
    default:
        s_sflow(w, seq);
        return SFLOW_SAMPLES;
    }
}

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
        per = s_make(p, &w[i], i == 0 ? 0 : i + 1); /* the first holds the template */
    uint64_t recs = 0;
    double t0 = s_cpu_now(), t1 = t0;
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
        t1 = s_cpu_now();
    }
    tpl_cache_destroy(&cache);
    return (double)recs / (t1 - t0);
}

/* ---- 2. / 3. through a socket ---- */

static double s_proc_cpu(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, stt = 0;
    /* after ')': state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt) != 2)
        return -1;
    return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}

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

/* Send S seconds of protocol p to 127.0.0.1:port, paced at rate records/s
 * (0: flat out). Returns the records sent. */
static uint64_t s_send(int p, int port, double seconds, double rate)
{
    enum { B = 32 };
    static ft_wr_t w[B];
    struct mmsghdr mm[B];
    struct iovec iov[B];
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    to.sin_addr.s_addr = htonl(0x7f000001);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int sb = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
    uint64_t sent = 0;
    uint32_t seq = 0;
    double t0 = s_wall_now();
    for (;;) {
        double now = s_wall_now();
        if (now - t0 >= seconds)
            break;
        if (rate > 0 && (double)sent > rate * (now - t0)) {
            usleep(200);
            continue;
        }
        int per = 0;
        for (int i = 0; i < B; i++) {
            per = s_make(p, &w[i], seq++);
            iov[i] = (struct iovec){w[i].b, w[i].n};
            mm[i].msg_hdr = (struct msghdr){.msg_name = &to, .msg_namelen = sizeof(to),
                                            .msg_iov = &iov[i], .msg_iovlen = 1};
        }
        int n = sendmmsg(fd, mm, B, 0);
        if (n > 0)
            sent += (uint64_t)n * (uint64_t)per;
    }
    close(fd);
    return sent;
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
    double c0 = s_proc_cpu(pid), w0 = s_wall_now();
    r.sent = s_send(p, p == P_SFLOW ? sf : nf, seconds, rate);
    r.wall = s_wall_now() - w0;
    zclock_sleep(1000); /* let the last batches out */
    r.cpu = s_proc_cpu(pid) - c0;
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

/* The kernel's drop count of the UDP socket bound to 127.0.0.1:port (last
 * column of /proc/net/udp); *rxq gets the bytes waiting in it. */
static uint64_t s_udp_drops(int port, unsigned long *rxq)
{
    char line[512], want[32];
    unsigned long long drops = 0;
    *rxq = 0;
    snprintf(want, sizeof(want), "0100007F:%04X", port);
    FILE *f = fopen("/proc/net/udp", "r");
    while (f && fgets(line, sizeof(line), f)) {
        if (!strstr(line, want))
            continue;
        size_t l = strlen(line);
        while (l && (line[l - 1] == ' ' || line[l - 1] == '\n'))
            line[--l] = '\0';
        char *last = strrchr(line, ' ');
        if (last)
            drops = strtoull(last + 1, NULL, 10);
        char *q = strchr(strstr(line, want), ':');       /* local port */
        q = q ? strchr(q + 1, ':') : NULL;                /* remote port */
        q = q ? strchr(q + 1, ':') : NULL;                /* tx_queue:rx_queue */
        if (q)
            *rxq = strtoul(q + 1, NULL, 16);
    }
    if (f)
        fclose(f);
    return drops;
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
    char conf[512], text[2048], path[512], log[512], flog[512];
    snprintf(path, sizeof(path), "%s/networks", dir);
    hn_write_file(path, "10.0.0.0/16\n");
    snprintf(path, sizeof(path), "%s/whitelist", dir);
    hn_write_file(path, "");
    snprintf(path, sizeof(path), "%s/notify.sh", dir);
    hn_write_file(path, "#!/bin/sh\ncat >/dev/null\n");
    chmod(path, 0755);
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
    double i0 = s_proc_cpu(pid);
    zclock_sleep(3000);
    printf("(fastnetmon idle before the run: %.3f CPU s per s)\n", (s_proc_cpu(pid) - i0) / 3);
    uint64_t before = s_fnm_processed(prom);
    unsigned long rxq = 0;
    uint64_t d0 = s_udp_drops(nf, &rxq);
    double c0 = s_proc_cpu(pid), w0 = s_wall_now();
    r.sent = s_send(p, nf, seconds, rate);
    r.wall = s_wall_now() - w0;
    /* until its socket is read empty (30 s at most), then its counters
     * follow a few seconds later */
    for (int i = 0; i < 300 && (s_udp_drops(nf, &rxq), rxq > 0); i++)
        zclock_sleep(100);
    zclock_sleep(5000);
    r.cpu = s_proc_cpu(pid) - c0;
    r.out = s_fnm_processed(prom) - before;
    r.kdrops = s_udp_drops(nf, &rxq) - d0;
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
    printf("| protocol | decode from memory, records / CPU s |\n| --- | --- |\n");
    for (int p = 0; p < P_N; p++)
        printf("| %s | %.1f M |\n", s_names[p], s_mem(p, mem_s) / 1e6);
    fflush(stdout);
    if (only_mem)
        return (int)(s_sum & 0);
    printf("\n| process | protocol | s | offered | records out | lost | CPU s | CPU s / M records "
           "offered | records out / CPU s |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (int p = 0; p < P_N; p++) {
        if (only >= 0 && p != only)
            continue;
        sockres_t r = s_sock(p, sock_s, rate);
        s_row("floodgate-collector", s_names[p], &r);
        fflush(stdout);
        if (fnm && (p == P_V9 || p == P_SFLOW)) {
            r = s_fastnetmon(p, sock_s, rate);
            s_row("fastnetmon 1.2.4", s_names[p], &r);
            fflush(stdout);
        }
    }
    return (int)(s_sum & 0);
}
