/* End to end: the actuator when Redis refuses writes, is demoted to a
 * replica, loses its data, and the operator's hold on an address. A real
 * floodgate-actuator drives a real gobgpd (its global RIB is the BGP side
 * checked here; no peer is needed for that) with a real redis-server whose
 * data directory is a 1 MiB tmpfs, mounted in a private mount namespace of
 * this test (nobody else sees it; it goes with the process). In order:
 *
 *   1. disk full: a BGSAVE fails, writes get MISCONF. A ban decided
 *      meanwhile is announced at once, its decision waits in the queue
 *      (queue depth metric), /healthz says 503 and MISCONF, `floodgate
 *      status` says so in its PROBLEM line; decisions
 *      beyond actuator/redis_queue are dropped, counted and logged. Space
 *      freed and a BGSAVE done: the keys are written with their TTL, no
 *      route was ever withdrawn, /healthz 200, a new ban is immediate;
 *   2. failover: a second redis-server is promoted and ours made its
 *      replica (READONLY): the same; REPLICAOF NO ONE: the keys are written;
 *   3. `floodgate unban IP --hold 6`: ONGOING reports every 0.5 s do not ban
 *      it again until the hold ends, then they do; the hold is in `floodgate
 *      bans`, the history and the events, `floodgate status` does not call
 *      those refusals a problem; another host is banned meanwhile;
 *      a plain `unban` is banned again by the next report;
 *   4. `floodgate ban` of a held address clears the hold;
 *   5. Redis restarted empty (SHUTDOWN NOSAVE, no data file): every ban is
 *      written back with the time it had left, no route withdrawn at any
 *      look; a DEL by hand afterwards still unbans. */
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis.h>

#include "cli/scrape.h"
#include "common/addr.h"
#include "floodgate.pb-c.h"
#include "tests/harness.h"
#include "tests/bgptest.h"

#define FILL_MAX (64L << 20) /* bound of the disk filler, far above the tmpfs */

typedef struct {
    char *dir;
    char data[512], conf[512], fill[560];
    int redis_port, redis2_port, api_port, bgp_port, act_port, m_port;
    pid_t redis, redis2, gobgpd, actuator;
    bool mounted;
    zsock_t *push;
} bed_t;

static bed_t s_b;

/* ---- the daemons ---- */

static bool s_pongs(void *port)
{
    redisReply *r = hn_redis(*(int *)port, "PING");
    bool up = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    return up;
}

/* redis-server on port with its data in dir; a save point, so a failed
 * BGSAVE stops writes (stop-writes-on-bgsave-error, the default). */
static pid_t s_redis_start(const char *dir, int port)
{
    char p[16], log[600];
    snprintf(p, sizeof(p), "%d", port);
    snprintf(log, sizeof(log), "%s/redis-%d.log", s_b.dir, port);
    char *argv[] = {"redis-server", "--port", p, "--bind", "127.0.0.1", "--dir", (char *)dir,
                    "--save", "3600 1", "--appendonly", "no", "--daemonize", "no", NULL};
    pid_t pid = hn_spawn(argv, log);
    if (hn_wait_until(s_pongs, &port, 5000))
        return pid;
    fail_msg("redis-server on %d did not answer within 5 s (%s)", port, log);
    return -1;
}

static void s_write_configs(bed_t *b)
{
    char text[2048], path[600];
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16\"\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgr\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    check_interval = 1\n"
             "    bgp_backend = gobgp\n    gobgp_api = 127.0.0.1:%d\n"
             "    next_hop_v4 = 198.51.100.1\n    metrics_listen = 127.0.0.1:%d\n"
             "    redis_queue = 20\n"
             "collector\n    metrics_listen = \"\"\naggregator\n    metrics_listen = \"\"\n"
             "detector\n    metrics_listen = \"\"\n" /* status: the actuator alone */
             "hostgroup\n    default\n        ban_time = 600\n",
             b->redis_port, b->act_port, b->api_port, b->m_port);
    hn_write_file(b->conf, text);
    snprintf(text, sizeof(text),
             "[global.config]\n  as = 65001\n  router-id = \"127.0.0.2\"\n  port = %d\n"
             "  local-address-list = [\"127.0.0.1\"]\n",
             b->bgp_port);
    snprintf(path, sizeof(path), "%s/gobgpd.toml", b->dir);
    hn_write_file(path, text);
}

/* Run argv to completion (10 s at most); its output (static) in *out. */
static int s_run(char *const argv[], char **out)
{
    return hn_run(s_b.dir, argv, NULL, out);
}

/* ---- what the BGP side, Redis and the actuator say ---- */

/* gobgpd's global RIB (static text). */
static const char *s_rib(void)
{
    char p[16], *out;
    snprintf(p, sizeof(p), "%d", s_b.api_port);
    char *argv[] = {"gobgp", "-u", "127.0.0.1", "-p", p, "global", "rib", "-a", "ipv4", NULL};
    s_run(argv, &out);
    return out;
}

static bool s_in_rib(const char *rib, const char *ip)
{
    char pfx[64];
    snprintf(pfx, sizeof(pfx), " %s/32 ", ip);
    return strstr(rib, pfx) != NULL;
}

static bool s_route_present(void *ip)
{
    return s_in_rib(s_rib(), ip);
}

static bool s_route_absent(void *ip)
{
    return !s_in_rib(s_rib(), ip);
}

static void s_expect_route(const char *ip, int ms)
{
    if (!hn_wait_until(s_route_present, (void *)ip, ms))
        fail_msg("%s/32 not in gobgpd's RIB within %d ms; logs in %s\n%s", ip, ms, s_b.dir,
                 s_rib());
}

static void s_expect_no_route(const char *ip, int ms)
{
    if (!hn_wait_until(s_route_absent, (void *)ip, ms))
        fail_msg("%s/32 still in gobgpd's RIB after %d ms; logs in %s", ip, ms, s_b.dir);
}

/* A reply that must be there and no error; freed. */
static void s_ok(redisReply *r, const char *what)
{
    if (!r || r->type == REDIS_REPLY_ERROR)
        fail_msg("redis: %s: %s", what, r ? r->str : "no answer");
    freeReplyObject(r);
}

/* PTTL of fgr:ban:<ip> in ms (-2: no key). */
static long long s_pttl(const char *ip)
{
    redisReply *r = hn_redis(s_b.redis_port, "PTTL fgr:ban:%s", ip);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -3;
    if (r)
        freeReplyObject(r);
    return v;
}

static bool s_key_there(void *ip)
{
    return s_pttl(ip) > 0;
}

static void s_expect_key(const char *ip, int ms)
{
    if (!hn_wait_until(s_key_there, (void *)ip, ms))
        fail_msg("fgr:ban:%s not written within %d ms; logs in %s", ip, ms, s_b.dir);
}

static bool s_has(const redisReply *r, const char *needle)
{
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
        return strstr(r->str, needle) != NULL;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        if (s_has(r->element[i], needle))
            return true;
    return false;
}

/* Does the reply (INFO, history lines, stream entries...) contain needle
 * anywhere? */
static bool s_reply_has(const char *needle, const char *fmt, const char *arg)
{
    redisReply *r = hn_redis(s_b.redis_port, fmt, arg);
    bool has = r && s_has(r, needle);
    if (r)
        freeReplyObject(r);
    return has;
}

/* The sum of the samples of name{filter} on the actuator's /metrics. */
static double s_metric(const char *name, const char *filter)
{
    char hp[64], err[256], *body = NULL;
    snprintf(hp, sizeof(hp), "127.0.0.1:%d", s_b.m_port);
    int code = scrape_get(hp, "/metrics", 5000, &body, err, sizeof(err));
    if (code != 200)
        fail_msg("GET %s/metrics: %d %s", hp, code, err);
    int found = 0;
    double v = scrape_sum(body, name, filter, &found);
    free(body);
    if (!found)
        fail_msg("metric %s{%s} missing", name, filter ? filter : "");
    return v;
}

/* /healthz: the status code, the body (static) in *why. */
static int s_health(char **why)
{
    static char body_copy[512];
    char hp[64], err[256], *body = NULL;
    snprintf(hp, sizeof(hp), "127.0.0.1:%d", s_b.m_port);
    int code = scrape_get(hp, "/healthz", 5000, &body, err, sizeof(err));
    snprintf(body_copy, sizeof(body_copy), "%s", body ? body : err);
    free(body);
    *why = body_copy;
    return code;
}

static bool s_healthy(void *arg)
{
    char *why;
    (void)arg;
    return s_health(&why) == 200;
}

/* The withdraws the actuator ever asked of gobgpd (commands and resyncs). */
static double s_withdraws(void)
{
    return s_metric("floodgate_actuator_gobgp_commands_total", "result=\"withdrawn\"") +
           s_metric("floodgate_actuator_gobgp_resync_total", "action=\"withdraw\"");
}

/* ---- decisions and the CLI ---- */

static void s_decide(const char *ip, int action, uint32_t ban_time)
{
    Floodgate__Decision d;
    Floodgate__Rates total;
    hn_decision(&d, &total, ip, action, ban_time);
    zframe_t *f = bt_frame(&d);
    assert_int_equal(zframe_send(&f, s_b.push, 0), 0);
}

static char *s_cli_out;

static int s_cli(const char *cmd, const char *ip, const char *opt, const char *val)
{
    char bin[512];
    snprintf(bin, sizeof(bin), "%s/floodgate", hn_build_dir());
    char *argv[] = {bin, "-c", s_b.conf, (char *)cmd, (char *)ip, (char *)opt, (char *)val, NULL};
    return s_run(argv, &s_cli_out);
}

static void s_cli_says(const char *needle)
{
    if (!strstr(s_cli_out, needle))
        fail_msg("CLI output lacks \"%s\":\n%s", needle, s_cli_out);
}

static void s_log_says(const char *needle)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/actuator.log", s_b.dir);
    char *log = hn_read_file(path);
    bool has = log && strstr(log, needle);
    free(log);
    if (!has)
        fail_msg("actuator.log lacks \"%s\" (in %s)", needle, s_b.dir);
}

/* ---- the disk ---- */

/* Fill the tmpfs to the last byte (bounded). */
static void s_fill_disk(void)
{
    static char block[65536];
    int fd = open(s_b.fill, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    long total = 0;
    ssize_t n = 1;
    for (size_t chunk = sizeof(block); chunk > 0 && total < FILL_MAX; chunk /= 2)
        while ((n = write(fd, block, chunk)) > 0 && total < FILL_MAX)
            total += n;
    close(fd);
    assert_true(total < FILL_MAX);
}

static bool s_bgsave_status(void *want)
{
    char line[64];
    snprintf(line, sizeof(line), "rdb_last_bgsave_status:%s", (const char *)want);
    return s_reply_has("rdb_bgsave_in_progress:0", "INFO %s", "persistence") &&
           s_reply_has(line, "INFO %s", "persistence");
}

/* BGSAVE and wait for its outcome to be want ("ok" or "err"). */
static void s_bgsave(const char *want)
{
    s_ok(hn_redis(s_b.redis_port, "BGSAVE"), "BGSAVE");
    if (!hn_wait_until(s_bgsave_status, (void *)want, 10000))
        fail_msg("BGSAVE did not end %s within 10 s", want);
}

/* ---- fixtures ---- */

static int s_setup(void **state)
{
    (void)state;
    bed_t *b = &s_b;
    b->dir = hn_tmpdir("e2e-redis");
    snprintf(b->conf, sizeof(b->conf), "%.400s/floodgate.conf", b->dir);
    snprintf(b->data, sizeof(b->data), "%.400s/data", b->dir);
    snprintf(b->fill, sizeof(b->fill), "%.500s/fill", b->data);
    mkdir(b->data, 0700);
    /* a private mount namespace (before any thread exists: ZeroMQ's come
     * later), so the tmpfs is ours alone; without root, the disk-full case
     * is skipped and the data goes to a plain directory */
    if (geteuid() == 0 &&
        (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
         mount("fgtmpfs", b->data, "tmpfs", 0, "size=1m,mode=0700") != 0))
        fail_msg("tmpfs in a private mount namespace: %s", strerror(errno));
    b->mounted = geteuid() == 0;
    int *ports[] = {&b->redis_port, &b->redis2_port, &b->api_port, &b->bgp_port, &b->act_port,
                    &b->m_port};
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        *ports[i] = hn_free_port();
    s_write_configs(b);
    b->redis = s_redis_start(b->data, b->redis_port);
    b->gobgpd = bt_start_gobgpd(b->dir, "gobgpd", b->api_port);
    b->actuator = hn_daemon(b->dir, b->conf, "actuator", NULL);
    b->push = zsock_new(ZMQ_PUSH);
    assert_non_null(b->push);
    assert_int_equal(zsock_connect(b->push, "tcp://127.0.0.1:%d", b->act_port), 0);
    /* a first ban: everything is up */
    s_decide("10.0.0.1", FLOODGATE__ACTION__BAN, 600);
    s_expect_route("10.0.0.1", 20000);
    s_expect_key("10.0.0.1", 5000);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    bed_t *b = &s_b;
    zsock_destroy(&b->push);
    hn_stop(b->actuator, 3000);
    hn_stop(b->gobgpd, 3000);
    if (b->redis2 > 0)
        hn_stop(b->redis2, 3000);
    hn_stop(b->redis, 3000);
    if (b->mounted)
        umount2(b->data, MNT_DETACH);
    hn_tmpdir_done(&b->dir);
    return 0;
}

/* ---- tests ---- */

/* Refusing: ban decided meanwhile is routed at once, /healthz 503 with
 * reason, queue depth seen. */
static void s_expect_refusing(const char *ip, const char *reason)
{
    char *why;
    uint64_t t0 = hn_ms();
    s_decide(ip, FLOODGATE__ACTION__BAN, 600);
    s_expect_route(ip, 5000);
    fprintf(stderr, "# %s: decision -> route while Redis refuses: %llu ms\n", reason,
            (unsigned long long)(hn_ms() - t0));
    assert_int_equal(s_pttl(ip), -2);
    int code = s_health(&why);
    if (code != 503 || !strstr(why, reason))
        fail_msg("/healthz %d \"%s\", expected 503 with %s", code, why, reason);
    assert_true(s_metric("floodgate_actuator_queue_depth", NULL) >= 1);
    assert_true(s_metric("floodgate_actuator_redis_writable", NULL) == 0);
}

/* Redis accepts again: the key of ip is written with about ban_time left,
 * /healthz 200, queue empty, and a new ban is immediate. */
static void s_expect_caught_up(const char *ip, const char *next_ip, double withdraws)
{
    uint64_t t0 = hn_ms();
    s_expect_key(ip, 15000);
    fprintf(stderr, "# Redis writable again -> key written: %llu ms\n",
            (unsigned long long)(hn_ms() - t0));
    long long ttl = s_pttl(ip);
    if (ttl < 540000 || ttl > 600000)
        fail_msg("%s written with %lld ms left, not about 600 s", ip, ttl);
    assert_true(hn_wait_until(s_healthy, NULL, 5000));
    assert_true(s_metric("floodgate_actuator_queue_depth", NULL) == 0);
    assert_true(s_route_present((void *)ip));
    assert_true(s_withdraws() == withdraws); /* never withdrawn meanwhile */
    s_decide(next_ip, FLOODGATE__ACTION__BAN, 600);
    s_expect_key(next_ip, 3000);
    s_expect_route(next_ip, 5000);
}

static void test_redis_disk_full_misconf(void **state)
{
    (void)state;
    if (!s_b.mounted) {
        fprintf(stderr, "# skipped: mounting a tmpfs needs root\n");
        skip();
    }
    double w0 = s_withdraws();
    s_fill_disk();
    s_bgsave("err");
    s_expect_refusing("10.0.1.1", "MISCONF");
    s_log_says("event=redis_refuses");
    assert_true(s_metric("floodgate_actuator_redis_refusals_total", NULL) >= 1);
    /* the operator's status line */
    assert_int_equal(s_cli("status", "-i", "1", NULL), 1);
    s_cli_says("actuator: unhealthy: redis refuses writes: MISCONF");
    /* more decisions than actuator/redis_queue (20): the rest is dropped,
     * counted, logged; none of those is announced */
    char ip[32];
    for (int i = 1; i <= 25; i++) {
        snprintf(ip, sizeof(ip), "10.0.11.%d", i);
        s_decide(ip, FLOODGATE__ACTION__BAN, 600);
    }
    /* all 25 taken: 20 queued, the rest dropped */
    hn_wait_metric(s_b.m_port, "floodgate_actuator_queue_dropped_total", NULL, 6, 5000);
    hn_wait_metric(s_b.m_port, "floodgate_actuator_queue_depth", NULL, 20, 5000);
    assert_true(s_metric("floodgate_actuator_queue_depth", NULL) == 20);
    assert_true(s_metric("floodgate_actuator_queue_dropped_total", NULL) == 6);
    s_log_says("event=decision_dropped");
    assert_false(s_route_present("10.0.11.25"));
    /* the attack on 10.0.1.1 goes on: its reports join the decision that
     * waits, none is dropped */
    for (int i = 0; i < 10; i++)
        s_decide("10.0.1.1", FLOODGATE__ACTION__ONGOING, 600);
    hn_wait_metric(s_b.m_port, "floodgate_actuator_queue_coalesced_total", NULL, 10, 5000);
    assert_true(s_metric("floodgate_actuator_queue_dropped_total", NULL) == 6);
    assert_true(s_metric("floodgate_actuator_queue_coalesced_total", NULL) == 10);
    assert_true(s_route_present("10.0.0.1")); /* a refusing Redis withdraws nothing */
    unlink(s_b.fill);
    s_bgsave("ok");
    s_expect_caught_up("10.0.1.1", "10.0.1.2", w0);
    s_expect_key("10.0.11.19", 5000); /* the queued ones too */
    s_log_says("event=redis_accepts was=MISCONF");
}

static bool s_link_up(void *port)
{
    redisReply *r = hn_redis(*(int *)port, "INFO replication");
    bool up = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "master_link_status:up");
    if (r)
        freeReplyObject(r);
    return up;
}

static void test_redis_failover_readonly(void **state)
{
    (void)state;
    bed_t *b = &s_b;
    double w0 = s_withdraws();
    char dir2[600];
    snprintf(dir2, sizeof(dir2), "%s/r2", b->dir);
    mkdir(dir2, 0700);
    b->redis2 = s_redis_start(dir2, b->redis2_port);
    /* a failover: the second one syncs, is promoted, ours becomes its
     * replica */
    s_ok(hn_redis(b->redis2_port, "REPLICAOF 127.0.0.1 %d", b->redis_port), "REPLICAOF");
    if (!hn_wait_until(s_link_up, &b->redis2_port, 10000))
        fail_msg("the second redis did not sync within 10 s");
    s_ok(hn_redis(b->redis2_port, "REPLICAOF NO ONE"), "promote");
    s_ok(hn_redis(b->redis_port, "REPLICAOF 127.0.0.1 %d", b->redis2_port), "demote");
    s_expect_refusing("10.0.2.1", "READONLY");
    assert_true(s_route_present("10.0.0.1")); /* a replica withdraws nothing */
    s_ok(hn_redis(b->redis_port, "REPLICAOF NO ONE"), "back");
    hn_stop(b->redis2, 3000);
    b->redis2 = 0;
    s_expect_caught_up("10.0.2.1", "10.0.2.2", w0);
    s_log_says("event=redis_accepts was=READONLY");
}

static bool s_hold_gone(void *ip)
{
    redisReply *r = hn_redis(s_b.redis_port, "EXISTS fgr:hold:%s", (const char *)ip);
    bool gone = r && r->type == REDIS_REPLY_INTEGER && r->integer == 0;
    if (r)
        freeReplyObject(r);
    return gone;
}

/* `floodgate status -i 1` while two reports of held ip are refused: the
 * refusals the operator asked for are not a PROBLEM. Returns 2. */
static int s_status_during_reports(const char *ip)
{
    char bin[512], log[600];
    snprintf(bin, sizeof(bin), "%s/floodgate", hn_build_dir());
    snprintf(log, sizeof(log), "%s/status.out", s_b.dir);
    char *argv[] = {bin, "-c", s_b.conf, "status", "-i", "1", NULL};
    pid_t pid = hn_spawn(argv, log);
    for (int i = 0; i < 2; i++) {
        usleep(400 * 1000);
        s_decide(ip, FLOODGATE__ACTION__ONGOING, 600);
    }
    int st = hn_wait_exit(pid, 10000);
    char *out = hn_read_file(log);
    if (st == -1 || WEXITSTATUS(st) != 0 || !out || strstr(out, "PROBLEM") ||
        !strstr(out, "refused"))
        fail_msg("status with only held refusals (exit %d):\n%s", st, out ? out : "(none)");
    free(out);
    return 2;
}

static void test_redis_unban_hold_sticks(void **state)
{
    (void)state;
    const char *ip = "10.0.3.1";
    s_decide(ip, FLOODGATE__ACTION__BAN, 600);
    s_expect_route(ip, 5000);
    s_expect_key(ip, 3000);
    double refused0 = s_metric("floodgate_actuator_decisions_refused_total", "reason=\"hold\"");
    assert_int_equal(s_cli("unban", ip, "--hold", "6"), 0);
    uint64_t t0 = hn_ms();
    s_cli_says("unbanned 10.0.3.1");
    s_cli_says("held off for 6 s");
    s_expect_no_route(ip, 10000);
    assert_int_equal(s_cli("bans", NULL, NULL, NULL), 0);
    s_cli_says("HELD");
    s_cli_says("10.0.3.1");
    assert_true(s_reply_has("\"event\":\"hold\"", "LRANGE fgr:history:%s 0 1", ip));
    assert_true(s_reply_has("hold_until", "XREVRANGE fgr:events + - COUNT %s", "3"));
    /* the attack goes on: reports every 0.5 s; meanwhile another host is
     * attacked and banned */
    s_decide("10.0.3.2", FLOODGATE__ACTION__BAN, 600);
    int reports = s_status_during_reports(ip);
    while (!s_hold_gone((void *)ip) && hn_ms() - t0 < 15000) {
        s_decide(ip, FLOODGATE__ACTION__ONGOING, 600);
        reports++;
        usleep(500 * 1000);
        if (s_pttl(ip) != -2 && !s_hold_gone((void *)ip))
            fail_msg("%s banned again while held (report %d)", ip, reports);
    }
    uint64_t held_ms = hn_ms() - t0;
    assert_false(s_route_present((void *)ip));
    if (reports < 4) /* 6 s of hold, a report every ~0.5 s */
        fail_msg("only %d reports during the hold (%llu ms)", reports,
                 (unsigned long long)held_ms);
    s_expect_key("10.0.3.2", 3000);
    assert_true(s_metric("floodgate_actuator_decisions_refused_total", "reason=\"hold\"") >=
                refused0 + reports - 2);

    /* the hold is over: the next report bans */
    uint64_t t1 = hn_ms();
    s_decide(ip, FLOODGATE__ACTION__ONGOING, 600);
    s_expect_key(ip, 3000);
    s_expect_route(ip, 5000);
    fprintf(stderr, "# hold 6 s: %d reports refused over %llu ms; banned %llu ms after it ended\n",
            reports, (unsigned long long)held_ms, (unsigned long long)(hn_ms() - t1));
    /* a plain unban does not stick: the next report bans again */
    assert_int_equal(s_cli("unban", "10.0.3.2", NULL, NULL), 0);
    s_expect_no_route("10.0.3.2", 10000);
    s_decide("10.0.3.2", FLOODGATE__ACTION__ONGOING, 600);
    s_expect_key("10.0.3.2", 3000);
    s_expect_route("10.0.3.2", 5000);
}

static void test_redis_operator_ban_clears_hold(void **state)
{
    (void)state;
    const char *ip = "10.0.4.1";
    assert_int_equal(s_cli("unban", ip, "--hold", "10m"), 0);
    s_cli_says("no active ban on 10.0.4.1");
    s_cli_says("held off for 600 s");
    double held0 = s_metric("floodgate_actuator_decisions_refused_total", "reason=\"hold\"");
    s_decide(ip, FLOODGATE__ACTION__BAN, 600);
    if (!hn_wait_metric(s_b.m_port, "floodgate_actuator_decisions_refused_total",
                        "reason=\"hold\"", held0 + 1, 5000))
        fail_msg("the decision for held %s was not refused within 5 s", ip);
    assert_int_equal(s_pttl(ip), -2); /* held */
    assert_int_equal(s_cli("ban", ip, "--ttl", "300"), 0);
    s_cli_says("hold on new bans of 10.0.4.1 is cleared");
    assert_true(s_hold_gone((void *)ip));
    s_expect_route(ip, 10000);
    assert_int_equal(s_cli("unban", ip, "--hold", "bogus"), 2);
}

/* Every one of ips is in the RIB at one look. */
static bool s_all_routes(const char *const *ips, size_t n)
{
    const char *rib = s_rib();
    for (size_t i = 0; i < n; i++)
        if (!s_in_rib(rib, ips[i]))
            return false;
    return true;
}

static void test_redis_restarted_empty_writes_bans_back(void **state)
{
    (void)state;
    bed_t *b = &s_b;
    const char *ips[] = {"10.0.0.1", "10.0.5.1", "10.0.5.3"};
    size_t n = sizeof(ips) / sizeof(ips[0]);
    s_decide("10.0.5.1", FLOODGATE__ACTION__BAN, 100); /* 100 s: its TTL must come back */
    s_decide("10.0.5.3", FLOODGATE__ACTION__BAN, 600);
    for (size_t i = 0; i < n; i++) {
        s_expect_key(ips[i], 3000);
        s_expect_route(ips[i], 5000);
    }
    double w0 = s_withdraws();
    long long left_before = s_pttl("10.0.0.1");
    /* restarted empty: no save on the way down, no data file */
    redisReply *r = hn_redis(b->redis_port, "SHUTDOWN NOSAVE");
    if (r)
        freeReplyObject(r);
    assert_true(hn_wait_exit(b->redis, 5000) != -1);
    char rdb[600];
    snprintf(rdb, sizeof(rdb), "%.500s/dump.rdb", b->data);
    unlink(rdb);
    uint64_t t0 = hn_ms();
    b->redis = s_redis_start(b->data, b->redis_port);
    int looks = 0;
    while (hn_ms() - t0 < 15000) {
        if (!s_all_routes(ips, n))
            fail_msg("a route was withdrawn after Redis came back empty (look %d); logs in %s",
                     looks, b->dir);
        looks++;
        size_t back = 0;
        for (size_t i = 0; i < n; i++)
            back += s_pttl(ips[i]) > 0;
        if (back == n)
            break;
        usleep(100 * 1000);
    }
    uint64_t back_ms = hn_ms() - t0;
    for (uint64_t end = hn_ms() + 3000; hn_ms() < end; looks++) /* 3 more scans */
        if (!s_all_routes(ips, n))
            fail_msg("a route was withdrawn after the bans were written back (look %d)", looks);
    fprintf(stderr, "# Redis restarted empty -> %zu bans written back in %llu ms, %d looks at "
            "the RIB over %llu ms, all routes in at each\n",
            n, (unsigned long long)back_ms, looks, (unsigned long long)(hn_ms() - t0));
    for (size_t i = 0; i < n; i++)
        s_expect_key(ips[i], 100);
    long long ttl = s_pttl("10.0.5.1"), elapsed = (long long)(hn_ms() - t0);
    if (ttl > 100000 || ttl < 100000 - elapsed - 8000)
        fail_msg("10.0.5.1 written back with %lld ms left, not its 100 s minus the time spent",
                 ttl);
    long long left_after = s_pttl("10.0.0.1");
    if (left_after > left_before || left_after < left_before - elapsed - 5000)
        fail_msg("10.0.0.1 had %lld ms left, written back with %lld", left_before, left_after);
    assert_true(s_withdraws() == w0);
    assert_true(s_metric("floodgate_actuator_redis_data_lost_total", NULL) == 1);
    assert_true(s_metric("floodgate_actuator_bans_restored_total", NULL) >= (double)n);
    assert_true(s_reply_has("\"event\":\"restore\"", "LINDEX fgr:history:%s 0", "10.0.5.1"));
    s_log_says("event=redis_data_lost");
    /* an operator's DEL is still an unban */
    s_ok(hn_redis(b->redis_port, "DEL fgr:ban:10.0.5.1"), "DEL");
    s_expect_no_route("10.0.5.1", 10000);
    assert_true(s_route_present("10.0.5.3"));
    /* and a new attack is banned */
    s_decide("10.0.5.2", FLOODGATE__ACTION__BAN, 600);
    s_expect_key("10.0.5.2", 3000);
    s_expect_route("10.0.5.2", 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_disk_full_misconf),
        cmocka_unit_test(test_redis_failover_readonly),
        cmocka_unit_test(test_redis_unban_hold_sticks),
        cmocka_unit_test(test_redis_operator_ban_clears_hold),
        cmocka_unit_test(test_redis_restarted_empty_writes_bans_back),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
