/* bench_agg: aggregator memory per host and CPU per window, 1 M active hosts.
 *
 *   floodgate-bench-agg [HOSTS [WINDOWS]]     (default 1000000 hosts, 10 windows)
 *   floodgate-bench-agg --mix HOSTS [WINDOWS [PPS [LAG]]] (phase 4 alone, HOSTS
 *       distinct hosts, max_hosts 2 x HOSTS; PPS the hostgroup's threshold,
 *       20 000 by default: 100 publishes every host in every window, as in
 *       a carpet bombing of all of them, so the WindowBatch is the largest;
 *       LAG ms: every batch sent that long before it is taken in, as from a
 *       shard's full queue, 0 by default)
 *
 * One shard context (agg_t, no sockets) with max_hosts = HOSTS and a 100 ms
 * tick. Every window, every host gets one record (so all HOSTS are active);
 * the host addresses are random in 10.0.0.0/8. Three phases:
 *   1. short records (sFlow-like, counted on arrival): RSS growth per host,
 *      records/s through agg_add_record, agg_close_window time;
 *   2. the same hosts each with one long flow (a 60 s record, rate held):
 *      RSS growth per held flow, close time with every host holding a rate;
 *   3. a fresh context: all HOSTS seen once, then windows where only 1 000
 *      of them send: the close time follows the active hosts, not the
 *      tracked ones;
 *   5. (after 4) a full table: max_hosts = HOSTS / 2, then 3 x HOSTS / 2
 *      distinct new hosts, one record each, 200 000 per window (issue 12's
 *      host-table flood): new hosts/s with eviction, evicted and refused;
 *   4. a fresh context, the mix of issue 14: every record a distinct flow
 *      lasting 0-60 s to 65 536 hosts, packed as FlowBatch messages of
 *      1 000 records beforehand and timed through agg_ingest (protobuf
 *      unpacking included), 100 ms windows of 200 000 records.
 * RSS is read from /proc/self/statm; times are CLOCK_MONOTONIC; one core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aggregator/agg.h"
#include "aggregator/hosttable.h"
#include "common/config.h"
#include "common/flowbatch.h"

static uint64_t s_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t s_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static long s_rss_kb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static int s_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static fg_config_t *s_config(uint32_t hosts, unsigned pps)
{
    char path[] = "/tmp/fg-bench-agg-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "w");
    fprintf(f, "networks\n    monitored = 10.0.0.0/8\n"
               "aggregator\n    tick_ms = 100\n    max_hosts = %u\n    hold_blocks = %u\n    metrics_listen = \"\"\n"
               "hostgroup\n    default\n        threshold_pps = %u\n",
            hosts, hosts < 1024 ? 1024 : hosts, pps);
    fclose(f);
    char err[512];
    fg_config_t *cfg = fg_config_load(path, err, sizeof(err));
    unlink(path);
    if (!cfg)
        fprintf(stderr, "config: %s\n", err);
    return cfg;
}

typedef struct {
    double add_mrps;      /* million records/s */
    uint64_t close_us[64]; /* per window */
    int windows;
} phase_t;

/* One phase: `windows` windows, one record per host each; long: 60 s. */
static void s_phase(agg_t *agg, const uint32_t *addr, uint32_t n, int windows, int long_flows,
                    uint64_t *now, phase_t *out)
{
    fg_flow_t r;
    memset(&r, 0, sizeof(r));
    r.peer = fg_addr_from_v4(0xc6120001u);
    r.proto = 17;
    r.sport = 53;
    r.dport = 40000;
    r.sampling = 1;
    uint64_t add_us = 0, recs = 0;
    for (int w = 0; w < windows && w < 64; w++) {
        uint64_t t0 = s_us();
        for (uint32_t i = 0; i < n; i++) {
            r.host = fg_addr_from_v4(addr[i]);
            r.packets = 10;
            r.bytes = 5000;
            r.end_ms = *now;
            r.start_ms = long_flows ? *now - 60000 : *now;
            if (long_flows)
                r.packets = r.bytes = 600;
            agg_add_record(agg, &r, NULL, *now);
        }
        add_us += s_us() - t0;
        recs += n;
        *now += 100;
        size_t len;
        t0 = s_us();
        agg_close_window(agg, *now, &len);
        out->close_us[w] = s_us() - t0;
    }
    out->windows = windows < 64 ? windows : 64;
    out->add_mrps = (double)recs / (double)add_us;
}

static void s_report(const char *name, const phase_t *p)
{
    uint64_t sorted[64];
    memcpy(sorted, p->close_us, sizeof(uint64_t) * (size_t)p->windows);
    qsort(sorted, (size_t)p->windows, sizeof(uint64_t), s_cmp);
    printf("%s: add %.2f M records/s; window close median %.1f ms, max %.1f ms (%d windows)\n",
           name, p->add_mrps, sorted[p->windows / 2] / 1000.0, sorted[p->windows - 1] / 1000.0,
           p->windows);
}

#define MIX_HOSTS 65536 /* default; --mix HOSTS */
#define MIX_BATCH 1000
#define MIX_PER_WINDOW 200 /* batches per 100 ms window */

/* Phase 4: distinct flows lasting 0-60 s through agg_ingest. */
static void s_mix(const fg_config_t *cfg, int windows, uint32_t hosts, uint64_t lag)
{
    static const uint8_t ex[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
    size_t nb = (size_t)windows * MIX_PER_WINDOW;
    uint8_t **buf = calloc(nb, sizeof(*buf));
    size_t *len = calloc(nb, sizeof(*len));
    fb_builder_t *fb = fb_builder_new(MIX_BATCH);
    agg_t *agg = agg_new(cfg, 0);
    uint64_t now = 1700000000000ULL, x = 88172645463325252ULL, us = 0;
    size_t msg_len = 0;
    fg_flow_t r;
    memset(&r, 0, sizeof(r));
    r.proto = 6;
    r.sampling = 1;
    for (size_t b = 0; b < nb; b++) {
        uint64_t t = now + (b / MIX_PER_WINDOW) * 100;
        for (int i = 0; i < MIX_BATCH; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            r.host = fg_addr_from_v4(0x0a000000u | (uint32_t)(x % hosts));
            r.peer = fg_addr_from_v4((uint32_t)(x >> 32));
            r.sport = (uint16_t)(x >> 20);
            r.dport = 443;
            r.packets = 1 + x % 500;
            r.bytes = r.packets * 800;
            r.end_ms = t;
            r.start_ms = t - (x >> 40) % 60001;
            fb_add(fb, &r, ex);
        }
        buf[b] = fb_pack(fb, 1, 0, 1, b + 1, t - lag, &len[b]); /* sent lag ms ago */
    }
    /* the first third of the windows warms up (every host's entry and
     * pool touched for the first time, page faults); the rest is the
     * steady state; CPU time of this thread besides wall time, since the
     * machine is shared */
    int warm = windows / 3;
    uint64_t cpu = 0, us_steady = 0, cpu_steady = 0, close_steady = 0;
    for (int w = 0; w < windows; w++) {
        uint64_t t0 = s_us(), c0 = s_cpu_us();
        for (size_t b = (size_t)w * MIX_PER_WINDOW; b < (size_t)(w + 1) * MIX_PER_WINDOW; b++)
            agg_ingest(agg, buf[b], len[b], now);
        now += 100;
        uint64_t cc = s_cpu_us();
        if (!agg_close_window(agg, now, &msg_len))
            msg_len = 0;
        uint64_t dus = s_us() - t0, dcpu = s_cpu_us() - c0;
        if (w >= warm)
            close_steady += s_cpu_us() - cc;
        us += dus;
        cpu += dcpu;
        if (w >= warm) {
            us_steady += dus;
            cpu_steady += dcpu;
        }
    }
    double steady = (double)(windows - warm) * MIX_PER_WINDOW * MIX_BATCH;
    printf("mix (issue 14: distinct flows of 0-60 s, %u hosts, through agg_ingest): "
           "%.2f M records/s including window closes (%d windows of %d records); "
           "per CPU second: %.2f M all, %.2f M after the first %d windows (wall %.2f M/s)\n",
           hosts, (double)nb * MIX_BATCH / (double)us, windows, MIX_PER_WINDOW * MIX_BATCH,
           (double)nb * MIX_BATCH / (double)cpu, steady / (double)cpu_steady, warm,
           steady / (double)us_steady);
    printf("  steady state: window close %.1f ms CPU per window, %.0f ns CPU per record besides\n",
           (double)close_steady / 1000.0 / (windows - warm),
           (double)(cpu_steady - close_steady) * 1000.0 / steady);
    const agg_stats_t *st = agg_stats(agg);
    printf("  long records held %llu (pooled %llu), refused (no room: counted on arrival) "
           "%llu, late %llu; flows held at the end %llu; RSS %.0f MiB; last window %llu hosts "
           "published, %zu bytes\n",
           (unsigned long long)st->spread, (unsigned long long)st->spread_pooled,
           (unsigned long long)st->spread_refused,
           (unsigned long long)st->spread_late, (unsigned long long)st->long_flows,
           (double)s_rss_kb() / 1024, (unsigned long long)st->last_hosts_published, msg_len);
    for (size_t b = 0; b < nb; b++)
        free(buf[b]);
    free(buf);
    free(len);
    fb_builder_destroy(&fb);
    agg_destroy(&agg);
}

/* Phase 5: a host-table flood: distinct new hosts into a full table. */
static void s_table_flood(uint32_t n)
{
    fg_config_t *cfg = s_config(n / 2 > 16 ? n / 2 : 16, 20000);
    agg_t *agg = agg_new(cfg, 0);
    fg_flow_t r;
    memset(&r, 0, sizeof(r));
    r.peer = fg_addr_from_v4(0xc6120001u);
    r.proto = 17;
    r.packets = 1;
    r.bytes = 100;
    r.sampling = 1;
    uint64_t now = 1700000000000ULL, us = 0, total = 3ULL * n / 2;
    for (uint64_t i = 0; i < total; i++) {
        if (i && i % 200000 == 0) {
            size_t len;
            now += 100;
            agg_close_window(agg, now, &len);
        }
        /* distinct addresses in 10.0.0.0/8 (an odd multiplier mod 2^24) */
        r.host = fg_addr_from_v4(0x0a000000u + (uint32_t)((i * 2654435761u) % 0x1000000u));
        r.end_ms = r.start_ms = now;
        uint64_t t0 = s_us();
        agg_add_record(agg, &r, NULL, now);
        us += s_us() - t0;
    }
    const agg_stats_t *st = agg_stats(agg);
    printf("host-table flood: %llu distinct hosts into a table of %u: %.2f M new hosts/s, "
           "%llu evicted, %llu refused\n",
           (unsigned long long)total, n / 2, (double)total / (double)us,
           (unsigned long long)st->hosts_evicted, (unsigned long long)st->hosts_refused);
    agg_destroy(&agg);
    fg_config_destroy(&cfg);
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "--mix")) {
        uint32_t hosts = (uint32_t)strtoul(argv[2], NULL, 10);
        unsigned pps = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 20000;
        fg_config_t *mc = hosts && pps ? s_config(2 * hosts, pps) : NULL;
        if (!mc || hosts > 0x1000000u)
            return 2;
        s_mix(mc, argc > 3 ? atoi(argv[3]) : 50, hosts,
              argc > 5 ? strtoull(argv[5], NULL, 10) : 0);
        fg_config_destroy(&mc);
        return 0;
    }
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000000;
    int windows = argc > 2 ? atoi(argv[2]) : 10;
    fg_config_t *cfg = s_config(n, 20000);
    if (!cfg || n == 0 || windows <= 0)
        return 2;
    uint32_t *addr = malloc(n * sizeof(*addr));
    /* distinct scattered addresses in 10.0.0.0/8 (an odd multiplier and an
     * xor are bijections of the 24 host bits) */
    for (uint32_t i = 0; i < n; i++)
        addr[i] = 0x0a000000u | (((i * 2654435761u) ^ 0x5bd1e9u) & 0xffffff);
    long rss0 = s_rss_kb();
    agg_t *agg = agg_new(cfg, 0);
    long rss1 = s_rss_kb();
    uint64_t now = 1700000000000ULL;
    phase_t p1, p2;
    s_phase(agg, addr, n, windows, 0, &now, &p1);
    long rss2 = s_rss_kb();
    s_phase(agg, addr, n, windows, 1, &now, &p2);
    long rss3 = s_rss_kb();
    printf("hosts %u, tick 100 ms, one record per host per window\n", n);
    printf("RSS: %ld KiB before, %ld KiB after agg_new, %ld KiB with the hosts (%.1f B/host), "
           "%ld KiB with a long flow held per host (%.1f B/host in all)\n",
           rss0, rss1, rss2, (double)(rss2 - rss1) * 1024 / n, rss3,
           (double)(rss3 - rss1) * 1024 / n);
    printf("hosts tracked %zu; host entry %zu B + two 8-byte hash slots = %zu B per host\n",
           agg_hosts_tracked(agg), sizeof(ht_entry_t), sizeof(ht_entry_t) + 16);
    s_report("short records", &p1);
    s_report("long records (rate held)", &p2);
    char st[2048];
    agg_format_stats(agg, st, sizeof(st));
    printf("stats: %s\n", st);
    agg_destroy(&agg);
    agg = agg_new(cfg, 0);
    phase_t p3, p4;
    s_phase(agg, addr, n, 1, 0, &now, &p3);
    s_phase(agg, addr, n < 1000 ? n : 1000, windows, 0, &now, &p4);
    printf("%zu hosts tracked, ", agg_hosts_tracked(agg));
    s_report("1000 of them active", &p4);
    agg_destroy(&agg);
    s_mix(cfg, 50, MIX_HOSTS, 0);
    s_table_flood(n);
    fg_config_destroy(&cfg);
    free(addr);
    return 0;
}
