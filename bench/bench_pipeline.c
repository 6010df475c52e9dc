/* bench_pipeline: the whole pipeline against FastNetMon on the same traffic.
 *
 *   floodgate-bench-pipeline [--seconds S] [--rate R] [--proto v9|sflow]
 *                            [--shards N] [--collectors C] [--fastnetmon] [--no-pin]
 *                            [--hosts H]
 *   floodgate-bench-pipeline --matrix [--seconds S] [--rate R]
 *
 * One run: redis-server, floodgate-actuator, floodgate-detector, N
 * aggregator shards (tick 200 ms, the example config's defaults otherwise)
 * and C collectors, all of the build, on loopback. This process is the
 * generator (sendmmsg, one thread: the other core): NetFlow v9 (30 records
 * of 0-60 s per datagram, every record a distinct flow, 65 536 destinations
 * in 10.0.0.0/16, or H from 10.0.0.0 in 10.0.0.0/12 with --hosts) or sFlow v5 (8 samples per datagram), round robin over the
 * collectors' ports, paced at R records/s (0: flat out) for S seconds; then
 * it waits until the shards' record counters stop moving. Records/s
 * processed: over the time from the first datagram sent to the last batch
 * a shard took in (its floodgate_aggregator_last_batch_timestamp_seconds).
 * Every record offered is then either processed (received by a shard), or counted as
 * dropped by a cause: the collector's socket (SO_RXQ_OVFL, datagrams x
 * records per datagram), v9 sets without a template, the collector's queue
 * to the shards (high-water mark), filtered; "unaccounted" is what is left
 * and must be 0. CPU seconds of every process from /proc/PID/stat.
 * With --fastnetmon, /usr/sbin/fastnetmon (Debian 1.2.4) gets the same
 * traffic on its own port: processed = its
 * fastnetmon_total_simple_packets_processed, loss = its socket's drops.
 * --matrix: v9 and sFlow, unpaced with 1, 2 and 4 shards each with 1 and 2
 * collectors and FastNetMon, then paced at R (default 400 000) with 1 shard
 * and FastNetMon. With two CPUs or more the generator runs on CPU 1 and
 * every thread of floodgate's processes (or FastNetMon's) on CPU 0, so the
 * figures are those of one core for the whole pipeline (--no-pin: let the
 * scheduler place them). Times on a shared 2-core machine vary: rerun when
 * quiet. */
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/benchlib.h"
#include "common/log.h"
#include "tests/harness.h"

#define MAX_SHARDS 4
#define MAX_COLS 2
#define MAX_PROCS (MAX_SHARDS + MAX_COLS + 3)

typedef struct {
    int proto, shards, cols;
    double seconds, rate;
} run_t;

static bool s_pin = true; /* generator on CPU 1, the processes on CPU 0 */

/* The processes measured on CPU 0 (all their threads), the generator on
 * CPU 1, when pinning and there are two CPUs. */
static void s_pin_procs(const pid_t *pids, int n)
{
    if (!s_pin || sysconf(_SC_NPROCESSORS_ONLN) < 2)
        return;
    for (int i = 0; i < n; i++)
        if (bl_pin(pids[i], 0) != 0)
            fprintf(stderr, "bench: could not pin pid %d to CPU 0\n", (int)pids[i]);
    if (bl_pin(0, 1) != 0)
        fprintf(stderr, "bench: could not pin the generator to CPU 1\n");
}

typedef struct {
    const char *name;
    pid_t pid;
    double cpu0, cpu;
} proc_t;

typedef struct {
    uint64_t offered, processed, sock, no_tpl, queue, filtered, malformed;
    double wall;
    proc_t procs[MAX_PROCS];
    int n_procs;
} res_t;

/* Sum of the samples of metric (whose labels contain label, "" = any) at
 * http://127.0.0.1:port/metrics. */
static double s_prom(int port, const char *metric, const char *label)
{
    char cmd[256], line[512];
    snprintf(cmd, sizeof(cmd), "curl -s --max-time 5 http://127.0.0.1:%d/metrics", port);
    FILE *f = popen(cmd, "r");
    double sum = 0;
    size_t ml = strlen(metric);
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, metric, ml) || (line[ml] != ' ' && line[ml] != '{'))
            continue;
        if (*label && !strstr(line, label))
            continue;
        const char *v = strrchr(line, ' ');
        sum += v ? atof(v + 1) : 0;
    }
    if (f)
        pclose(f);
    return sum;
}

static int s_per_dgram(int proto)
{
    return proto == P_SFLOW ? SFLOW_SAMPLES : RECS_PER_DGRAM;
}

typedef struct {
    int redis, act, pull, pub, agg_m, det_m;
    int nf[MAX_COLS], sf[MAX_COLS], col_m[MAX_COLS];
} ports_t;

static void s_conf(const char *path, const run_t *run, const ports_t *p, int c)
{
    char t[2048];
    snprintf(t, sizeof(t),
             "networks\n    monitored = \"10.0.0.0/%d\"\n"
             "redis\n    address = 127.0.0.1:%d\n"
             "collector\n    id = %d\n    netflow_listen = \"127.0.0.1:%d\"\n"
             "    sflow_listen = \"127.0.0.1:%d\"\n    metrics_listen = \"127.0.0.1:%d\"\n"
             "aggregator\n    shards = %d\n    pull_bind = tcp://127.0.0.1:%d\n"
             "    pub_bind = tcp://127.0.0.1:%d\n    pull_connect = tcp://127.0.0.1:%d\n"
             "    pub_connect = tcp://127.0.0.1:%d\n    metrics_listen = \"127.0.0.1:%d\"\n"
             "    hold_blocks = %u\n"
             "detector\n    metrics_listen = \"127.0.0.1:%d\"\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    connect = tcp://127.0.0.1:%d\n"
             "    metrics_listen = \"\"\n"
             "hostgroup\n    default\n        threshold_pps = 20000\n",
             bl_hosts > 65536 ? 12 : 16, p->redis, c + 1, p->nf[c], p->sf[c], p->col_m[c],
             run->shards, p->pull, p->pub, p->pull, p->pub, p->agg_m,
             bl_hosts > 262144 ? bl_hosts : 262144, p->det_m, p->act, p->act);
    hn_write_file(path, t);
}

static void s_spawn(res_t *r, const char *name, char *const argv[], const char *dir)
{
    char log[512];
    snprintf(log, sizeof(log), "%s/%s.log", dir, name);
    proc_t *p = &r->procs[r->n_procs++];
    p->name = name;
    p->pid = hn_spawn(argv, log);
}

static uint64_t s_agg_records(const run_t *run, const ports_t *p)
{
    uint64_t n = 0;
    for (int i = 0; i < run->shards; i++)
        n += (uint64_t)s_prom(p->agg_m + i, "floodgate_aggregator_records_total", "");
    return n;
}

/* Until the shards' counters stop moving (2 s still, 30 s at most). */
static void s_drain(const run_t *run, const ports_t *p)
{
    uint64_t last = s_agg_records(run, p);
    double t_last = bl_wall_now();
    for (int i = 0; i < 150 && bl_wall_now() - t_last < 2.0; i++) {
        zclock_sleep(200);
        uint64_t n = s_agg_records(run, p);
        if (n != last)
            last = n, t_last = bl_wall_now();
    }
}

/* When the last batch reached a shard (unix seconds; 0: none did). The
 * run's processing ends there: the time a poll of the counters is answered
 * is later by up to a tick per idle shard (a scrape waits for a render,
 * which an idle shard makes at its next window), which made the wall time
 * of 4 shards about 0.75 s too long. */
static double s_last_batch(const run_t *run, const ports_t *p)
{
    double t = 0;
    for (int i = 0; i < run->shards; i++) {
        double s = s_prom(p->agg_m + i, "floodgate_aggregator_last_batch_timestamp_seconds", "");
        t = s > t ? s : t;
    }
    return t;
}

static void s_counts(const run_t *run, const ports_t *p, res_t *r)
{
    r->processed = s_agg_records(run, p);
    for (int c = 0; c < run->cols; c++) {
        int m = p->col_m[c];
        r->sock += (uint64_t)s_prom(m, "floodgate_collector_socket_drops_total", "") *
                   (uint64_t)s_per_dgram(run->proto);
        r->no_tpl += (uint64_t)s_prom(m, "floodgate_collector_sets_total", "no_template") *
                     RECS_PER_DGRAM;
        r->queue += (uint64_t)s_prom(m, "floodgate_collector_records_total", "\"dropped\"");
        r->filtered += (uint64_t)s_prom(m, "floodgate_collector_records_total", "\"filtered\"");
        r->malformed += (uint64_t)s_prom(m, "floodgate_collector_datagrams_malformed_total", "") *
                        (uint64_t)s_per_dgram(run->proto);
    }
}

static void s_start_fg(const run_t *run, const ports_t *p, const char *dir, res_t *r)
{
    static char bins[5][512], confs[MAX_COLS][512], shard_s[MAX_SHARDS][8];
    static const char *const names[] = {"actuator", "detector", "aggregator", "collector"};
    static const char *const shard_n[] = {"shard 0", "shard 1", "shard 2", "shard 3"};
    static const char *const col_n[] = {"collector 1", "collector 2"};
    for (int i = 0; i < 4; i++)
        snprintf(bins[i], sizeof(bins[i]), "%s/floodgate-%s", hn_build_dir(), names[i]);
    for (int c = 0; c < run->cols; c++) {
        snprintf(confs[c], sizeof(confs[c]), "%s/floodgate-%d.conf", dir, c);
        s_conf(confs[c], run, p, c);
    }
    r->procs[r->n_procs++] = (proc_t){"redis-server", hn_redis_start(dir, p->redis, false), 0, 0};
    for (int i = 0; i < 2; i++)
        s_spawn(r, names[i], (char *const[]){bins[i], "-c", confs[0], NULL}, dir);
    for (int i = 0; i < run->shards; i++) {
        snprintf(shard_s[i], sizeof(shard_s[i]), "%d", i);
        s_spawn(r, shard_n[i], (char *const[]){bins[2], "-c", confs[0], "--shard", shard_s[i], NULL},
                dir);
    }
    for (int c = 0; c < run->cols; c++)
        s_spawn(r, col_n[c], (char *const[]){bins[3], "-c", confs[c], NULL}, dir);
}

static res_t s_run_fg(const run_t *run)
{
    res_t r = {0};
    ports_t p = {.redis = hn_free_port(), .act = hn_free_port(), .det_m = hn_free_port()};
    p.pull = hn_free_port_range(run->shards);
    p.pub = hn_free_port_range(run->shards);
    p.agg_m = hn_free_port_range(run->shards);
    for (int c = 0; c < run->cols; c++)
        p.nf[c] = hn_free_port(), p.sf[c] = hn_free_port(), p.col_m[c] = hn_free_port();
    char *dir = hn_tmpdir("bench-pipeline");
    s_start_fg(run, &p, dir, &r);
    zclock_sleep(2000);
    pid_t pids[MAX_PROCS];
    for (int i = 0; i < r.n_procs; i++)
        pids[i] = r.procs[i].pid;
    s_pin_procs(pids, r.n_procs);
    for (int i = 0; i < r.n_procs; i++)
        r.procs[i].cpu0 = bl_proc_cpu(r.procs[i].pid);
    double w0 = (double)fg_now_ms() / 1e3; /* the shards' timestamps are unix time */
    r.offered = bl_send(run->proto, run->proto == P_SFLOW ? p.sf : p.nf, run->cols, run->seconds,
                        run->rate);
    s_drain(run, &p);
    r.wall = s_last_batch(run, &p) - w0;
    for (int i = 0; i < r.n_procs; i++)
        r.procs[i].cpu = bl_proc_cpu(r.procs[i].pid) - r.procs[i].cpu0;
    s_counts(run, &p, &r);
    for (int i = r.n_procs - 1; i >= 0; i--)
        hn_stop(r.procs[i].pid, 5000);
    if (getenv("BENCH_KEEP"))
        fprintf(stderr, "files kept in %s\n", dir);
    else
        hn_rmdir(dir);
    free(dir);
    return r;
}

static const char s_fnm_conf[] =
    "logging_level = info\ndisable_usage_report = on\nenable_api = off\n"
    "enable_ban = on\nban_for_pps = on\nban_for_bandwidth = off\nban_for_flows = off\n"
    "threshold_pps = 20000\nprocess_incoming_traffic = on\nprocess_outgoing_traffic = off\n"
    "networks_list_path = %s/networks\nwhite_list_path = %s/whitelist\n"
    "notify_script_path = %s/notify.sh\n"
    "netflow = %s\nsflow = %s\nnetflow_port = %d\nnetflow_host = 127.0.0.1\n"
    "sflow_port = %d\nsflow_host = 127.0.0.1\nnetflow_sampling_ratio = 1\n"
    "mirror_afpacket = off\npcap = off\nredis_enabled = off\nmongodb_enabled = off\n"
    "exabgp = off\ngobgp = off\ngraphite = off\ninfluxdb = off\nclickhouse_metrics = off\n"
    "prometheus = on\nprometheus_port = %d\nprometheus_host = 127.0.0.1\n"
    "average_calculation_time = 5\nspeed_calculation_delay = 1\n";

static void s_fnm_files(const char *dir, const run_t *run, int port, int prom, char *conf,
                        size_t len)
{
    char text[2048];
    bl_fnm_files(dir);
    bool sf = run->proto == P_SFLOW;
    snprintf(text, sizeof(text), s_fnm_conf, dir, dir, dir, sf ? "off" : "on", sf ? "on" : "off",
             port, port, prom);
    snprintf(conf, len, "%s/fastnetmon.conf", dir);
    hn_write_file(conf, text);
}

/* FastNetMon on the same traffic, one process, one port. */
static res_t s_run_fnm(const run_t *run)
{
    res_t r = {0};
    char *dir = hn_tmpdir("bench-fnm");
    int port = hn_free_port(), prom = hn_free_port();
    char conf[512], log[512], flog[512];
    s_fnm_files(dir, run, port, prom, conf, sizeof(conf));
    snprintf(log, sizeof(log), "%s/fastnetmon.out", dir);
    snprintf(flog, sizeof(flog), "%s/fastnetmon.log", dir);
    char *argv[] = {"/usr/sbin/fastnetmon", "--configuration_file", conf, "--log_file", flog,
                    "--disable_pid_logic", NULL};
    proc_t *p = &r.procs[r.n_procs++];
    *p = (proc_t){"fastnetmon", hn_spawn(argv, log), 0, 0};
    zclock_sleep(4000);
    s_pin_procs(&p->pid, 1);
    uint64_t before = (uint64_t)s_prom(prom, "fastnetmon_total_simple_packets_processed", "");
    unsigned long rxq = 0;
    uint64_t d0 = bl_udp_drops(port, &rxq);
    p->cpu0 = bl_proc_cpu(p->pid);
    double w0 = bl_wall_now();
    r.offered = bl_send(run->proto, &port, 1, run->seconds, run->rate);
    for (int i = 0; i < 300 && (bl_udp_drops(port, &rxq), rxq > 0); i++)
        zclock_sleep(100);
    r.wall = bl_wall_now() - w0;
    zclock_sleep(3000); /* its counters follow a little later */
    p->cpu = bl_proc_cpu(p->pid) - p->cpu0;
    r.processed = (uint64_t)s_prom(prom, "fastnetmon_total_simple_packets_processed", "") - before;
    r.sock = (bl_udp_drops(port, &rxq) - d0) * (uint64_t)s_per_dgram(run->proto);
    hn_stop(p->pid, 5000);
    hn_rmdir(dir);
    free(dir);
    return r;
}

static double s_pct(uint64_t a, uint64_t b)
{
    return b ? 100.0 * (double)a / (double)b : 0;
}

static void s_row(const char *who, const run_t *run, const res_t *r, double fg_rate)
{
    uint64_t acc = r->processed + r->sock + r->no_tpl + r->queue + r->filtered + r->malformed;
    int64_t unacc = (int64_t)r->offered - (int64_t)acc;
    double rate = r->wall > 0 ? (double)r->processed / r->wall : 0;
    printf("| %s | %s | %d | %d | %s | %.2f M/s | %.2f M | %.2f M/s |", who,
           run->proto == P_SFLOW ? "sFlow" : "v9", run->shards, run->cols,
           run->rate > 0 ? "paced" : "unpaced", (double)r->offered / run->seconds / 1e6,
           (double)r->offered / 1e6, rate / 1e6);
    printf(" socket %.1f %%, no template %.1f %%, queue %.1f %%, filtered %.1f %% | %lld |",
           s_pct(r->sock, r->offered), s_pct(r->no_tpl, r->offered), s_pct(r->queue, r->offered),
           s_pct(r->filtered, r->offered), (long long)unacc);
    double total = 0;
    for (int i = 0; i < r->n_procs; i++)
        total += r->procs[i].cpu;
    double m = (double)r->processed / 1e6;
    printf(" %.2f |", m > 0 ? total / m : 0);
    for (int i = 0; i < r->n_procs; i++)
        if (r->procs[i].cpu >= 0.005)
            printf(" %s %.2f", r->procs[i].name, m > 0 ? r->procs[i].cpu / m : 0);
    if (fg_rate > 0)
        printf(" | floodgate / FastNetMon: %.2fx records/s", rate > 0 ? fg_rate / rate : 0);
    printf(" |\n");
    fflush(stdout);
}

static double s_one(const run_t *run, bool fnm)
{
    res_t r = s_run_fg(run);
    char who[64];
    snprintf(who, sizeof(who), "floodgate");
    s_row(who, run, &r, 0);
    double rate = r.wall > 0 ? (double)r.processed / r.wall : 0;
    if (fnm) {
        res_t f = s_run_fnm(run);
        s_row("FastNetMon 1.2.4", run, &f, rate);
    }
    return rate;
}

static void s_header(void)
{
    printf("| tool | traffic | shards | collectors | pacing | offered | records sent | processed "
           "records/s | loss by cause | unaccounted records | CPU s per 1 M records, all | per "
           "process | ratio |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | "
           "--- | --- |\n");
}

static void s_matrix(double seconds, double rate, bool fnm)
{
    static const int shards[] = {1, 2, 4, 1, 2, 4};
    static const int cols[] = {1, 1, 1, 2, 2, 2};
    s_header();
    for (int p = P_V9; p <= P_SFLOW; p += P_SFLOW - P_V9) {
        for (size_t i = 0; i < sizeof(shards) / sizeof(shards[0]); i++) {
            run_t run = {p, shards[i], cols[i], seconds, 0};
            s_one(&run, fnm && i == 0);
        }
        run_t paced = {p, 1, 1, seconds, rate};
        s_one(&paced, fnm);
    }
}

int main(int argc, char **argv)
{
    run_t run = {P_V9, 1, 1, 5, 0};
    bool fnm = false, matrix = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--fastnetmon"))
            fnm = true;
        else if (!strcmp(a, "--matrix"))
            matrix = true;
        else if (!strcmp(a, "--no-pin"))
            s_pin = false;
        else if (v && !strcmp(a, "--hosts") && ++i)
            bl_hosts = (uint32_t)atoi(v);
        else if (v && !strcmp(a, "--seconds") && ++i)
            run.seconds = atof(v);
        else if (v && !strcmp(a, "--rate") && ++i)
            run.rate = atof(v);
        else if (v && !strcmp(a, "--proto") && ++i)
            run.proto = !strcmp(v, "sflow") ? P_SFLOW : P_V9;
        else if (v && !strcmp(a, "--shards") && ++i)
            run.shards = atoi(v);
        else if (v && !strcmp(a, "--collectors") && ++i)
            run.cols = atoi(v);
        else {
            fprintf(stderr, "usage: %s [--matrix] [--seconds S] [--rate R] [--proto v9|sflow] "
                            "[--shards 1-4] [--collectors 1-2] [--fastnetmon] [--no-pin] "
                            "[--hosts 1-1048576]\n",
                    argv[0]);
            return 2;
        }
    }
    if (run.shards < 1 || run.shards > MAX_SHARDS || run.cols < 1 || run.cols > MAX_COLS ||
        run.seconds <= 0 || run.seconds > 600 || bl_hosts < 1 || bl_hosts > (1u << 20))
        return 2;
    if (fnm && bl_hosts > 65536) {
        fprintf(stderr, "FastNetMon's networks stay 10.0.0.0/16: no --fastnetmon with --hosts\n");
        fnm = false;
    }
    if (fnm && access("/usr/sbin/fastnetmon", X_OK)) {
        fprintf(stderr, "no /usr/sbin/fastnetmon: apt-get install fastnetmon\n");
        fnm = false;
    }
    if (matrix) {
        s_matrix(run.seconds, run.rate > 0 ? run.rate : 400000, fnm);
        return 0;
    }
    s_header();
    s_one(&run, fnm);
    return 0;
}
