/* benchlib: datagram builders, the paced sender and process counters
 * shared by the benchmarks (see benchlib.h). */
#include "bench/benchlib.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <sched.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collector/ipfix.h"
#include "collector/netflow_v9.h"

uint32_t bl_hosts = 65536;
#include "collector/sflow.h"
#include "tests/harness.h"
const char *const bl_names[P_N] = {"NetFlow v5", "NetFlow v9", "IPFIX", "sFlow v5"};


static uint64_t s_rng = 88172645463325252ULL;
static uint32_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t)s_rng;
}

double bl_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bl_wall_now(void)
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
    ft_u32(w, 0x0a000000u + s_rand() % bl_hosts);
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
        s_record(w, uptime - 100 - s_rand() % 60001, uptime - 100);
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
        ft_u32(w, 0xc6330000u | (s_rand() & 0xffff)), ft_u32(w, 0x0a000000u + s_rand() % bl_hosts);
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
        uint32_t src = 0xc6330000u | (s_rand() & 0xffff), dst = 0x0a000000u + s_rand() % bl_hosts;
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
int bl_make(int p, ft_wr_t *w, uint32_t seq)
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


double bl_proc_cpu(pid_t pid)
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

/* Send S seconds of protocol p to 127.0.0.1:port, paced at rate records/s
 * (0: flat out). Returns the records sent. */
uint64_t bl_send(int p, const int *ports, int n_ports, double seconds, double rate)
{
    enum { B = 32 };
    static ft_wr_t w[B];
    struct mmsghdr mm[B];
    struct iovec iov[B];
    struct sockaddr_in to[BL_MAX_PORTS];
    n_ports = n_ports < 1 ? 1 : n_ports > BL_MAX_PORTS ? BL_MAX_PORTS : n_ports;
    for (int i = 0; i < n_ports; i++) {
        to[i] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)ports[i])};
        to[i].sin_addr.s_addr = htonl(0x7f000001);
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int sb = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
    uint64_t sent = 0;
    uint32_t seq[BL_MAX_PORTS] = {0}; /* each port its own stream, templates included */
    double t0 = bl_wall_now();
    for (;;) {
        double now = bl_wall_now();
        if (now - t0 >= seconds)
            break;
        if (rate > 0 && (double)sent > rate * (now - t0)) {
            usleep(200);
            continue;
        }
        int per = 0;
        for (int i = 0; i < B; i++) {
            per = bl_make(p, &w[i], seq[i % n_ports] + (uint32_t)(i / n_ports));
            iov[i] = (struct iovec){w[i].b, w[i].n};
            mm[i].msg_hdr = (struct msghdr){.msg_name = &to[i % n_ports], .msg_namelen = sizeof(to[0]),
                                            .msg_iov = &iov[i], .msg_iovlen = 1};
        }
        int n = sendmmsg(fd, mm, B, 0);
        for (int i = 0; i < n; i++) /* what was not sent is built again */
            seq[i % n_ports]++;
        if (n > 0)
            sent += (uint64_t)n * (uint64_t)per;
    }
    close(fd);
    return sent;
}

/* The kernel's drop count of the UDP socket bound to 127.0.0.1:port (last
 * column of /proc/net/udp); *rxq gets the bytes waiting in it. */
uint64_t bl_udp_drops(int port, unsigned long *rxq)
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

int bl_pin(pid_t pid, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", pid ? (int)pid : (int)getpid());
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int rc = 0, n = 0;
    for (struct dirent *t; (t = readdir(d));) {
        if (t->d_name[0] == '.')
            continue;
        rc |= sched_setaffinity((pid_t)atoi(t->d_name), sizeof(set), &set);
        n++;
    }
    closedir(d);
    return rc || !n ? -1 : 0;
}

void bl_fnm_files(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/networks", dir);
    hn_write_file(path, "10.0.0.0/16\n");
    snprintf(path, sizeof(path), "%s/whitelist", dir);
    hn_write_file(path, "");
    snprintf(path, sizeof(path), "%s/notify.sh", dir);
    hn_write_file(path, "#!/bin/sh\ncat >/dev/null\n");
    chmod(path, 0755);
}
