/* floodgate-bench-bgp: how fast a Decision becomes a route in a router's
 * table (bird2 as the router), through the real actuator, Redis and BGP
 * daemon (gobgpd through its client, or ExaBGP through its text API).
 *
 *   1. latency: N bans (default 1000) sent at R per second (default 20);
 *      for each, the time from sending the Decision to BIRD importing the
 *      route (BIRD logs each import with a microsecond timestamp: `debug {
 *      routes }`, `timeformat log "%s.%6f"`); p50 / p90 / p99 / max;
 *   2. carpet bombing: every address of a /22 (1024 bans, --carpet N) sent
 *      at once; bans per second = N / (last route in BIRD - first Decision
 *      sent), routes per second from the first route to the last; also the
 *      time until every key is in Redis;
 *   3. the carpet lifted: every key deleted at once, the time until BIRD
 *      has removed every route (withdraws per second).
 *
 *   floodgate-bench-bgp [--backend gobgp|exabgp] [--bans N] [--rate R]
 *                       [--parallel P] [--flowspec] [--carpet N]
 *
 * --flowspec: the hostgroup's mitigation is flowspec and each Decision
 * carries a DNS amplification's breakdown: the time is to the FlowSpec rule
 * (flow4 { dst ...; proto 17; sport 53; }) in BIRD's flow4 table; the
 * carpet bombing part is skipped.
 *
 * Everything runs on loopback in a temporary directory, stopped by PID at the
 * end. Not part of `make test`: `make bench-bgp`. */
#include <czmq.h>
#include <hiredis.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/addr.h"
#include "floodgate.pb-c.h"
#include "tests/harness.h"

typedef struct {
    char *dir;
    char conf[512], bird_sock[512], bird_log[512];
    char peer_addr[32], bird_addr[32];
    int redis_port, bgp_port, api_port, bird_port, act_port;
    bool exabgp, flowspec;
    int parallel;
    pid_t redis, peer, bird, actuator;
    zsock_t *push;
} bench_t;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_write(bench_t *b)
{
    char text[4096], path[600];
    snprintf(text, sizeof(text),
             "general\n    log_level = warn\n"
             "networks\n    monitored = \"10.0.0.0/8\"\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgbench\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    check_interval = 5\n"
             "    bgp_backend = %s\n    gobgp_api = 127.0.0.1:%d\n    metrics_listen = \"\"\n"
             "    next_hop_v4 = 198.51.100.1\n    backend_parallel = %d\n    max_bans = 100000\n"
             "    new_bans_max = 100000\n"
             "hostgroup\n    default\n        ban_time = 3600\n        mitigation = %s\n",
             b->redis_port, b->act_port, b->exabgp ? "exabgp" : "gobgp", b->api_port, b->parallel,
             b->flowspec ? "flowspec" : "blackhole");
    hn_write_file(b->conf, text);
    snprintf(text, sizeof(text),
             "log \"%s\" all;\ntimeformat log \"%%s.%%6f\";\nrouter id %s;\nprotocol device {}\n"
             "flow4 table flowtab4;\n"
             "protocol bgp peer {\n  local %s port %d as 65002;\n  neighbor %s%s as 65001;\n"
             "  multihop;\n%s  debug { routes };\n  ipv4 { import all; export none; };\n"
             "  flow4 { table flowtab4; import all; export none; };\n}\n",
             b->bird_log, b->bird_addr, b->bird_addr, b->bird_port, b->peer_addr,
             b->exabgp ? "" : zsys_sprintf(" port %d", b->bgp_port), b->exabgp ? "  passive;\n" : "");
    snprintf(path, sizeof(path), "%s/bird.conf", b->dir);
    hn_write_file(path, text);
    if (b->exabgp) {
        char *bin = realpath(hn_build_dir(), NULL);
        snprintf(text, sizeof(text),
                 "#!/bin/sh\necho $$ > %s/actuator.pid\n"
                 "exec %s/floodgate-actuator -c %s 2>>%s/actuator.log\n",
                 b->dir, bin, b->conf, b->dir);
        free(bin);
        snprintf(path, sizeof(path), "%s/act.sh", b->dir);
        hn_write_file(path, text);
        chmod(path, 0755);
        snprintf(text, sizeof(text),
                 "process floodgate {\n    run %s/act.sh;\n    encoder text;\n}\n"
                 "neighbor %s {\n    router-id %s;\n    local-address %s;\n    local-as 65001;\n"
                 "    peer-as 65002;\n    connect %d;\n    api { processes [ floodgate ]; }\n"
                 "    family { ipv4 unicast; ipv4 flow; }\n}\n",
                 b->dir, b->bird_addr, b->peer_addr, b->peer_addr, b->bird_port);
        snprintf(path, sizeof(path), "%s/exabgp.conf", b->dir);
    } else {
        snprintf(text, sizeof(text),
                 "[global.config]\n  as = 65001\n  router-id = \"%s\"\n  port = %d\n"
                 "  local-address-list = [\"%s\"]\n[[neighbors]]\n  [neighbors.config]\n"
                 "    neighbor-address = \"%s\"\n    peer-as = 65002\n"
                 "  [neighbors.transport.config]\n    remote-port = %d\n    local-address = \"%s\"\n"
                 "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n"
                 "      afi-safi-name = \"ipv4-unicast\"\n"
                 "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n"
                 "      afi-safi-name = \"ipv4-flowspec\"\n",
                 b->peer_addr, b->bgp_port, b->peer_addr, b->bird_addr, b->bird_port, b->peer_addr);
        snprintf(path, sizeof(path), "%s/gobgpd.toml", b->dir);
    }
    hn_write_file(path, text);
}

static void s_start(bench_t *b)
{
    char a[600], c[600], d[600], log[600];
    b->redis = hn_redis_start(b->dir, b->redis_port, false);
    snprintf(a, sizeof(a), "%s/bird.conf", b->dir);
    snprintf(c, sizeof(c), "%s/bird.pid", b->dir);
    snprintf(log, sizeof(log), "%s/bird.out", b->dir);
    char *bird[] = {"bird", "-f", "-c", a, "-s", b->bird_sock, "-P", c, NULL};
    b->bird = hn_spawn(bird, log);
    if (b->exabgp) {
        snprintf(a, sizeof(a), "%s/exabgp.conf", b->dir);
        snprintf(log, sizeof(log), "%s/exabgp.log", b->dir);
        char *argv[] = {"/usr/sbin/exabgp", a, NULL};
        char *env[] = {"exabgp.daemon.user=root", "exabgp.daemon.drop=false", "exabgp.tcp.bind=",
                       "exabgp.log.destination=stdout", "exabgp.log.level=WARNING", NULL};
        b->peer = hn_spawn_env(argv, env, log);
        return;
    }
    snprintf(a, sizeof(a), "%s/gobgpd.toml", b->dir);
    snprintf(c, sizeof(c), "--api-hosts=127.0.0.1:%d", b->api_port);
    snprintf(log, sizeof(log), "%s/gobgpd.log", b->dir);
    char *gobgpd[] = {"gobgpd", "-f", a, "-p", c, "--pprof-disable", "-l", "warn", NULL};
    b->peer = hn_spawn(gobgpd, log);
    snprintf(d, sizeof(d), "%s/floodgate-actuator", hn_build_dir());
    snprintf(log, sizeof(log), "%s/actuator.log", b->dir);
    char *act[] = {d, "-c", b->conf, NULL};
    b->actuator = hn_spawn(act, log);
}

static bench_t *s_b;

static bool s_session_up(void *arg)
{
    (void)arg;
    char log[600];
    snprintf(log, sizeof(log), "%s/birdc.out", s_b->dir);
    unlink(log);
    char *argv[] = {"birdc", "-s", s_b->bird_sock, "show", "protocols", "peer", NULL};
    hn_wait_exit(hn_spawn(argv, log), 5000);
    char *out = hn_read_file(log);
    bool up = out && strstr(out, "Established");
    free(out);
    return up;
}

static void s_send(bench_t *b, uint32_t v4)
{
    Floodgate__Decision d = FLOODGATE__DECISION__INIT;
    Floodgate__Rates total = FLOODGATE__RATES__INIT;
    fg_addr_t a = fg_addr_from_v4(v4);
    total.pps = 100000;
    d.addr_hi = a.hi;
    d.addr_lo = a.lo;
    d.action = FLOODGATE__ACTION__BAN;
    d.attack_type = "udp_flood";
    d.direction = FLOODGATE__DIRECTION__DIR_IN;
    d.metric = "pps";
    d.value = 100000;
    d.threshold = 20000;
    d.hostgroup = "default";
    d.total = &total;
    d.enable_ban = true;
    /* a DNS amplification's breakdown, for --flowspec */
    Floodgate__Contributor c[2] = {FLOODGATE__CONTRIBUTOR__INIT, FLOODGATE__CONTRIBUTOR__INIT};
    Floodgate__Contributor *cp[2] = {&c[0], &c[1]};
    c[0].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO;
    c[0].key_lo = 17;
    c[1].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT;
    c[1].key_lo = 53;
    c[0].share = c[1].share = 0.99;
    c[0].packets = c[1].packets = 99000;
    if (b->flowspec) {
        d.attack_type = "amplification_dns";
        d.n_top = 2;
        d.top = cp;
    }
    size_t n = floodgate__decision__get_packed_size(&d);
    zframe_t *f = zframe_new(NULL, n);
    floodgate__decision__pack(&d, zframe_data(f));
    zframe_send(&f, b->push, 0);
}

/* The import time BIRD logged for each "a.b.c.d/32" with prefix text
 * starting with want (e.g. "10.1."), into t[index] where index is the
 * address minus base. Returns how many were found. */
static int s_bird_times(bench_t *b, const char *verb, const char *want, uint32_t base, int n,
                        double *t)
{
    char *log = hn_read_file(b->bird_log);
    int found = 0;
    for (int i = 0; i < n; i++)
        t[i] = 0;
    for (char *line = log; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *added = strstr(line, verb);
        char *pfx = added ? strstr(added, want) : NULL;
        fg_addr_t a;
        char ip[FG_ADDR_STRLEN];
        if (pfx && sscanf(pfx, "%45[0-9.]", ip) == 1 && fg_addr_parse(ip, &a) == 0) {
            int64_t k = (int64_t)fg_addr_v4(&a) - base;
            if (k >= 0 && k < n && t[k] == 0) {
                t[k] = strtod(line, NULL);
                found++;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    free(log);
    return found;
}

static int s_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, c = *(const double *)y;
    return a < c ? -1 : a > c;
}

static int s_wait_routes(bench_t *b, const char *verb, const char *want, uint32_t base, int n,
                         double *t, int secs)
{
    int found = 0;
    for (int i = 0; i < secs * 10; i++) {
        found = s_bird_times(b, verb, want, base, n, t);
        if (found == n)
            break;
        usleep(100 * 1000);
    }
    return found;
}

static void s_latency(bench_t *b, int n, double rate)
{
    uint32_t base = 0x0A010000; /* 10.1.0.0 */
    double *sent = calloc((size_t)n, sizeof(double)), *got = calloc((size_t)n, sizeof(double));
    for (int i = 0; i < n; i++) {
        sent[i] = s_now();
        s_send(b, base + (uint32_t)i);
        double next = sent[0] + (i + 1) / rate;
        double wait = next - s_now();
        if (wait > 0)
            usleep((useconds_t)(wait * 1e6));
    }
    int found = s_wait_routes(b, " added ", "10.1.", base, n, got, 120);
    double *lat = calloc((size_t)n, sizeof(double));
    int k = 0;
    for (int i = 0; i < n; i++)
        if (got[i] > 0)
            lat[k++] = (got[i] - sent[i]) * 1000;
    qsort(lat, (size_t)k, sizeof(double), s_cmp);
    printf("latency: %d bans at %.0f/s, %d routes in BIRD; Decision sent -> route imported by "
           "BIRD, ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n",
           n, rate, found, k ? lat[k / 2] : 0, k ? lat[k * 9 / 10] : 0,
           k ? lat[(int)(k * 0.99)] : 0, k ? lat[k - 1] : 0);
    free(sent);
    free(got);
    free(lat);
}

static bool s_keys_n;
static int s_keys_want;
static bool s_keys_all(void *arg)
{
    bench_t *b = arg;
    redisReply *r = hn_redis(b->redis_port, "EVAL %s 0",
                             "return #redis.call('keys', 'fgbench:ban:10.2.*')");
    bool ok = r && r->type == REDIS_REPLY_INTEGER && r->integer >= s_keys_want;
    if (r)
        freeReplyObject(r);
    s_keys_n = ok;
    return ok;
}

/* The first and last of n times (0 = missing). */
static void s_span(const double *t, int n, double *first, double *last)
{
    *first = 0, *last = 0;
    for (int i = 0; i < n; i++) {
        if (t[i] > 0 && (*first == 0 || t[i] < *first))
            *first = t[i];
        *last = t[i] > *last ? t[i] : *last;
    }
}

/* Every key of the carpet deleted at once: the time until BIRD has
 * removed every route. */
static void s_carpet_lift(bench_t *b, int n, uint32_t base)
{
    double *got = calloc((size_t)n, sizeof(double)), first, last;
    double t0 = s_now();
    redisReply *r = hn_redis(b->redis_port, "EVAL %s 0",
                             "local n = 0 for _, k in ipairs(redis.call('keys', "
                             "'fgbench:ban:10.2.*')) do redis.call('del', k) n = n + 1 end "
                             "return n");
    if (r)
        freeReplyObject(r);
    int found = s_wait_routes(b, " removed ", "10.2.", base, n, got, 300);
    s_span(got, n, &first, &last);
    printf("carpet lifted (all %d keys deleted at once): %d routes removed from BIRD, the last "
           "after %.0f ms: %.0f withdraws/s\n",
           n, found, (last - t0) * 1000, found / (last - t0));
    free(got);
}

static void s_carpet(bench_t *b, int n)
{
    uint32_t base = 0x0A020000; /* 10.2.0.0/22 for 1024 */
    double *got = calloc((size_t)n, sizeof(double)), first, last;
    double t0 = s_now();
    for (int i = 0; i < n; i++)
        s_send(b, base + (uint32_t)i);
    double t_sent = s_now();
    s_keys_want = n;
    hn_wait_until(s_keys_all, b, 120000);
    double t_redis = s_now();
    int found = s_wait_routes(b, " added ", "10.2.", base, n, got, 300);
    s_span(got, n, &first, &last);
    printf("carpet bombing: %d Decisions sent in %.1f ms; all %d keys in Redis after %.0f ms "
           "(%.0f bans/s); %d routes in BIRD, the first after %.0f ms, the last after %.0f ms: "
           "%.0f bans/s sustained to the router, %.0f routes/s from first to last route\n",
           n, (t_sent - t0) * 1000, n, (t_redis - t0) * 1000, n / (t_redis - t0), found,
           (first - t0) * 1000, (last - t0) * 1000, found / (last - t0),
           last > first ? (found - 1) / (last - first) : 0);
    free(got);
    s_carpet_lift(b, n, base);
}

int main(int argc, char **argv)
{
    bench_t b = {.parallel = 4};
    int n = 1000, carpet = 1024;
    setvbuf(stdout, NULL, _IOLBF, 0); /* figures out as they come */
    double rate = 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc)
            b.exabgp = !strcmp(argv[++i], "exabgp");
        else if (!strcmp(argv[i], "--bans") && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
            rate = atof(argv[++i]);
        else if (!strcmp(argv[i], "--parallel") && i + 1 < argc)
            b.parallel = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--flowspec"))
            b.flowspec = true;
        else if (!strcmp(argv[i], "--carpet") && i + 1 < argc)
            carpet = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--backend gobgp|exabgp] [--bans N] [--rate R] "
                            "[--parallel P] [--flowspec] [--carpet N]\n", argv[0]);
            return 2;
        }
    }
    s_b = &b;
    b.dir = hn_tmpdir("bench-bgp");
    snprintf(b.conf, sizeof(b.conf), "%s/floodgate.conf", b.dir);
    snprintf(b.bird_sock, sizeof(b.bird_sock), "%s/bird.ctl", b.dir);
    snprintf(b.bird_log, sizeof(b.bird_log), "%s/bird.log", b.dir);
    int net = 2 + (int)(getpid() % 200);
    snprintf(b.peer_addr, sizeof(b.peer_addr), "127.1.%d.2", net);
    snprintf(b.bird_addr, sizeof(b.bird_addr), "127.1.%d.3", net);
    b.redis_port = hn_free_port();
    b.bgp_port = hn_free_port();
    b.api_port = hn_free_port();
    b.bird_port = hn_free_port();
    b.act_port = hn_free_port();
    s_write(&b);
    s_start(&b);
    b.push = zsock_new(ZMQ_PUSH);
    zsock_set_sndhwm(b.push, 100000);
    zsock_connect(b.push, "tcp://127.0.0.1:%d", b.act_port);
    printf("backend %s, backend_parallel %d, in %s\n", b.exabgp ? "exabgp" : "gobgp", b.parallel,
           b.dir);
    if (!hn_wait_until(s_session_up, NULL, 30000)) {
        fprintf(stderr, "BGP session not up\n");
    } else {
        usleep(1000 * 1000);
        s_latency(&b, n, rate);
        if (!b.flowspec && carpet > 0 && carpet <= 65536) /* the carpet is the routes' */
            s_carpet(&b, carpet);
    }
    zsock_destroy(&b.push);
    hn_stop(b.actuator, 5000);
    hn_stop(b.peer, 5000);
    if (b.exabgp) { /* its API process: ExaBGP killed after the timeout leaves it behind */
        char path[600], *pid;
        snprintf(path, sizeof(path), "%s/actuator.pid", b.dir);
        pid_t p = (pid = hn_read_file(path)) ? (pid_t)atoi(pid) : 0;
        free(pid);
        if (p > 0 && kill(p, SIGTERM) == 0) { /* not our child: gone when kill(p, 0) fails */
            int i = 0;
            while (i++ < 500 && kill(p, 0) == 0)
                usleep(10 * 1000);
            if (i > 500)
                kill(p, SIGKILL);
        }
    }
    hn_stop(b.bird, 3000);
    hn_stop(b.redis, 3000);
    if (!getenv("FG_KEEP"))
        hn_rmdir(b.dir);
    free(b.dir);
    return 0;
}
