/* End to end: the actuator trusts nothing it is given, runs its backend
 * through a flood of connections, and lives with the minimal Redis ACL.
 *
 * Real parts: redis-server with the ACL users of deploy/redis-users.acl
 * (passwords filled in), bird2 as the router peered with gobgpd on 127.x
 * addresses (no kernel protocol), floodgate-actuator driving gobgpd (as the
 * floodgate-actuator Redis user, started under a soft open-file limit of
 * 1024), the floodgate CLI as floodgate-ro and floodgate-ops. Curve is off,
 * everything on loopback. In order:
 *
 *   1. forged decisions (unmonitored, whitelisted, 0.0.0.0, ban time
 *      4 000 000 000 s, 2^32 s on the wire) refused by reason, nothing in
 *      Redis or BIRD, while a real decision among them is announced;
 *   2. hand-written keys: wrong ip field and no TTL corrected (announced
 *      for the key name's address, TTL = ban_time), STRING, LIST, 0.0.0.0,
 *      whitelisted, unmonitored, direction sideways, ban_count abc refused
 *      (deleted, never in BIRD), counted by reason; BIRD matches Redis;
 *   3. the new-bans budget (5 per 3 s): forged decisions use it up, the
 *      rest counted as ban_rate; `floodgate ban` (ops user) works
 *      meanwhile, the read-only user cannot ban but can list; the real
 *      attack, reported every second as the detector does, is announced
 *      once the window frees; `floodgate ban --force` outside the monitored
 *      networks is announced as manual_force;
 *   4. 1 500 plain TCP connections held open to the PULL port: the
 *      actuator raised its limit (logged), and a decision still reaches
 *      BIRD within 10 s;
 *   5. nothing the actuator sent was refused by the ACL but CONFIG. */
#include <arpa/inet.h>
#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis.h>

#include "common/addr.h"
#include "floodgate.pb-c.h"
#include "tests/harness.h"
#include "tests/bgptest.h"

#define FLOOD_CONNS 1500

static bt_bed_t s_t;

/* ---- Redis with the ACL users ---- */

/* deploy/redis-users.acl as shipped, comments and all, with its CHANGE-ME
 * passwords replaced, loaded the way the README says (an `include` from
 * redis.conf: an aclfile takes no comments), plus an admin default user
 * for the test itself. */
static void s_write_acl(const char *path)
{
    char *acl = hn_read_file("deploy/redis-users.acl");
    assert_non_null(acl);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("user default on nopass ~* &* +@all\n", f);
    int users = 0;
    for (char *line = strtok(acl, "\n"); line; line = strtok(NULL, "\n")) {
        char *pw = strstr(line, ">CHANGE-ME-");
        if (line[0] != 'u' || !pw) {
            fprintf(f, "%s\n", line);
            continue;
        }
        fprintf(f, "%.*s>pw-%s\n", (int)(pw - line), line, pw + strlen(">CHANGE-ME-"));
        users++;
    }
    assert_int_equal(users, 3);
    fclose(f);
    free(acl);
}

static bool s_redis_up(void *arg)
{
    (void)arg;
    redisReply *r = hn_redis(s_t.redis_port, "PING");
    bool ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    return ok;
}

static pid_t s_start_redis(bt_bed_t *t)
{
    char port[16], acl[600], log[600];
    snprintf(port, sizeof(port), "%d", t->redis_port);
    snprintf(acl, sizeof(acl), "%s/users.acl", t->dir);
    snprintf(log, sizeof(log), "%s/redis.log", t->dir);
    s_write_acl(acl);
    char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", t->dir,
                    "--save", "", "--appendonly", "no", "--include", acl,
                    "--notify-keyspace-events", "Egx", NULL};
    pid_t pid = hn_spawn(argv, log);
    if (!hn_wait_until(s_redis_up, NULL, 5000))
        fail_msg("redis-server with ACL did not start; see %s", log);
    return pid;
}

/* Commands (words split on spaces) on one admin connection, in one
 * MULTI/EXEC when there are several, so the actuator's scan never sees half
 * a key. */
static void s_redis_cmds(const char *const *cmds, int n)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", s_t.redis_port, tv);
    assert_true(c && !c->err);
    if (n > 1)
        redisAppendCommand(c, "MULTI");
    for (int i = 0; i < n; i++) {
        char cmd[512];
        const char *argv[16];
        int k = 0;
        snprintf(cmd, sizeof(cmd), "%s", cmds[i]);
        for (char *p = strtok(cmd, " "); p && k < 16; p = strtok(NULL, " "))
            argv[k++] = p;
        redisAppendCommandArgv(c, k, argv, NULL);
    }
    if (n > 1)
        redisAppendCommand(c, "EXEC");
    for (int i = 0; i < n + (n > 1 ? 2 : 0); i++) {
        redisReply *r = NULL;
        assert_int_equal(redisGetReply(c, (void **)&r), REDIS_OK);
        assert_non_null(r);
        if (r->type == REDIS_REPLY_ERROR)
            fail_msg("redis: %s", r->str);
        freeReplyObject(r);
    }
    redisFree(c);
}

static void s_redis_cmd(const char *cmd)
{
    s_redis_cmds(&cmd, 1);
}

static long long s_redis_int(const char *fmt, const char *arg)
{
    redisReply *r = hn_redis(s_t.redis_port, fmt, arg);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static bool s_key_exists(const char *ip)
{
    char key[128];
    snprintf(key, sizeof(key), "floodgate:ban:%s", ip);
    return s_redis_int("EXISTS %s", key) == 1;
}

/* ---- BGP daemons ---- */

static void s_write_configs(bt_bed_t *t)
{
    char text[4096], path[600];
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
             "    whitelist = 10.0.0.53/32\n"
             "redis\n    address = 127.0.0.1:%d\n    user = floodgate-actuator\n"
             "    password = pw-actuator\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    check_interval = 1\n"
             "    bgp_backend = gobgp\n    gobgp_api = 127.0.0.1:%d\n"
             "    next_hop_v4 = 198.51.100.1\n    next_hop_v6 = 2001:db8::1\n"
             "    communities = 65000:666\n    metrics_listen = 127.0.0.1:%d\n"
             "    new_bans_max = 5\n    new_bans_window = 3\n"
             "hostgroup\n    default\n        ban_time = 600\n        max_ban_time = 3600\n"
             /* The ZeroMQ handshake deadline (2 s) would close the idle
              * connections of the flood test: lifted, to test the
              * descriptor limit on its own. */
             "curve\n    handshake_ms = 0\n",
             t->redis_port, t->act_port, t->api_port, t->m_act);
    hn_write_file(t->conf, text);
    const char *afis[] = {"ipv4-unicast", "ipv6-unicast", NULL};
    bt_write_gobgpd(t->dir, "gobgpd", t->gobgp_addr, t->bgp_port, t->bird_addr, t->bird_port,
                    afis);
    /* No kernel protocol: routes stay in BIRD's own tables. */
    snprintf(text, sizeof(text), "router id %s;\nprotocol device {}\n", t->bird_addr);
    bt_bird_gobgp(text, sizeof(text), "gobgp", t->bird_addr, t->bird_port, t->gobgp_addr,
                  t->bgp_port,
                  "  ipv4 { import all; export none; };\n  ipv6 { import all; export none; };\n");
    snprintf(path, sizeof(path), "%s/bird.conf", t->dir);
    hn_write_file(path, text);
}

/* The actuator under a soft open-file limit of 1024 (as systemd gives
 * by default), the hard limit left as it is. */
static pid_t s_start_actuator(bt_bed_t *t)
{
    struct rlimit saved, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
    low = saved;
    low.rlim_cur = 1024;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    pid_t pid = hn_daemon(t->dir, t->conf, "actuator", NULL);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
    return pid;
}

static char *s_bird_routes(void)
{
    char *out;
    char *argv[] = {"birdc", "-s", s_t.bird_sock, "show", "route", "all", NULL};
    char *env[] = {NULL};
    hn_run(s_t.dir, argv, env, &out);
    return out;
}

/* Is prefix in BIRD's table (at the start of a line)? */
static bool s_in_bird(const char *prefix)
{
    const char *all = s_bird_routes();
    size_t pl = strlen(prefix);
    for (const char *p = all; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, pl) == 0 && p[pl] == ' ')
            return true;
    return false;
}

static bool s_route_present(void *prefix)
{
    return s_in_bird(prefix);
}

static void s_expect_route(const char *prefix, int ms)
{
    if (!hn_wait_until(s_route_present, (void *)prefix, ms))
        fail_msg("%s not in BIRD within %d ms; logs in %s\n%s", prefix, ms, s_t.dir,
                 s_bird_routes());
}

static void s_expect_no_route(const char *prefix)
{
    if (s_in_bird(prefix))
        fail_msg("%s is in BIRD: it was refused; logs in %s", prefix, s_t.dir);
}

/* Number of routes in BIRD's table. */
static int s_bird_count(void)
{
    int n = 0;
    const char *all = s_bird_routes();
    for (const char *p = all; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        n += ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')) && strchr(p, '/') &&
             strchr(p, '/') < strchr(p, ' ');
    return n;
}

/* ---- decisions, metrics, CLI ---- */

static size_t s_pack(const char *ip, int action, uint32_t ban_time, uint8_t *buf)
{
    Floodgate__Decision d;
    Floodgate__Rates total;
    hn_decision(&d, &total, ip, action, ban_time);
    assert_true(floodgate__decision__get_packed_size(&d) < 900);
    return floodgate__decision__pack(&d, buf);
}

static void s_send_bytes(const uint8_t *buf, size_t n)
{
    zframe_t *f = zframe_new(buf, n);
    assert_int_equal(zframe_send(&f, s_t.push, 0), 0);
}

static void s_decide(const char *ip, int action, uint32_t ban_time)
{
    uint8_t buf[1024];
    s_send_bytes(buf, s_pack(ip, action, ban_time, buf));
}

/* GET /metrics of the actuator (static buffer). */
static const char *s_metrics(void)
{
    static char buf[65536];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s_t.m_act)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    buf[0] = '\0';
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0)
            close(fd);
        return buf;
    }
    const char *req = "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n";
    assert_true(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
    size_t n = 0;
    ssize_t k;
    while (n + 1 < sizeof(buf) && (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = '\0';
    close(fd);
    return buf;
}

/* The value of one series line "name{labels} v" (-1 when absent). */
static double s_metric(const char *series)
{
    const char *m = s_metrics();
    size_t sl = strlen(series);
    for (const char *p = m; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, sl) == 0 && p[sl] == ' ')
            return strtod(p + sl + 1, NULL);
    return -1;
}

typedef struct {
    const char *series;
    double want;
} metric_wait_t;

static bool s_metric_reached(void *arg)
{
    metric_wait_t *w = arg;
    return s_metric(w->series) >= w->want;
}

static void s_expect_metric(const char *series, double want)
{
    metric_wait_t w = {series, want};
    if (!hn_wait_until(s_metric_reached, &w, 10000) || s_metric(series) != want)
        fail_msg("%s = %g, want %g; logs in %s", series, s_metric(series), want, s_t.dir);
}

static char *s_cli_out;

/* floodgate -c conf ARGS... as Redis user user (password pw-<user minus
 * "floodgate-">). */
static int s_cli(const char *user, const char *a1, const char *a2, const char *a3)
{
    char bin[512], u[96], p[96];
    snprintf(bin, sizeof(bin), "%s/floodgate", hn_build_dir());
    snprintf(u, sizeof(u), "FLOODGATE_REDIS_USER=%s", user);
    snprintf(p, sizeof(p), "FLOODGATE_REDIS_PASSWORD=pw-%s", user + strlen("floodgate-"));
    char *argv[] = {bin, "-c", s_t.conf, (char *)a1, (char *)a2, (char *)a3, NULL};
    char *env[] = {u, p, NULL};
    return hn_run(s_t.dir, argv, env, &s_cli_out);
}

static char *s_actuator_log(void)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/actuator.log", s_t.dir);
    return hn_read_file(path);
}

/* ---- fixtures ---- */

static int s_setup(void **state)
{
    (void)state;
    bt_bed_t *t = &s_t;
    bt_bed_init(t, "e2e-trust", 2 + (int)((getpid() + 100) % 200), 12);
    s_write_configs(t);
    t->redis = s_start_redis(t);
    t->bird = bt_start_bird(t->dir, t->bird_sock);
    t->gobgpd = bt_start_gobgpd(t->dir, "gobgpd", t->api_port);
    t->actuator = s_start_actuator(t);
    bt_bed_push(&t->push, t->act_port);
    bt_bed_expect_session(t);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    bt_bed_stop(&s_t);
    return 0;
}

/* ---- tests ---- */

static void test_trust_e2e_forged_decisions_refused(void **state)
{
    (void)state;
    uint8_t buf[1100];
    s_decide("8.8.8.8", FLOODGATE__ACTION__BAN, 600);
    s_decide("10.0.0.53", FLOODGATE__ACTION__BAN, 600);
    s_decide("0.0.0.0", FLOODGATE__ACTION__BAN, 600);
    s_decide("10.0.1.1", FLOODGATE__ACTION__BAN, 4000000000u);
    size_t n = s_pack("10.0.1.2", FLOODGATE__ACTION__BAN, 600, buf);
    static const uint8_t big[] = {13 << 3, 0x80, 0x80, 0x80, 0x80, 0x10}; /* ban_time 2^32 */
    memcpy(buf + n, big, sizeof(big));
    s_send_bytes(buf, n + sizeof(big));
    s_decide("10.0.1.3", FLOODGATE__ACTION__BAN, 600); /* the real one */
    s_expect_route("10.0.1.3/32", 10000);
    s_expect_metric("floodgate_actuator_decisions_refused_total{reason=\"unmonitored\"}", 1);
    s_expect_metric("floodgate_actuator_decisions_refused_total{reason=\"whitelisted\"}", 1);
    s_expect_metric("floodgate_actuator_decisions_refused_total{reason=\"bad_address\"}", 1);
    s_expect_metric("floodgate_actuator_decisions_refused_total{reason=\"ban_time\"}", 2);
    const char *refused[] = {"8.8.8.8", "10.0.0.53", "0.0.0.0", "10.0.1.1", "10.0.1.2"};
    for (size_t i = 0; i < 5; i++) {
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "%s/32", refused[i]);
        assert_false(s_key_exists(refused[i]));
        s_expect_no_route(prefix);
    }
    assert_int_equal(s_bird_count(), 1);
}

/* Lines of the actuator's log holding needle. */
static int s_log_lines(const char *needle)
{
    char *log = s_actuator_log();
    int n = 0;
    for (const char *p = log; p && (p = strstr(p, needle)); p++)
        n++;
    free(log);
    return n;
}

/* A flood of forged decisions: 20 000 for 10 000 unmonitored addresses and
 * 5 000 for a whitelisted one, a real decision in the middle. The real one
 * is announced, every forged one counted, the log holds at most
 * TRUST_LOG_BURST (20) refusal lines per 10 s. */
static void test_trust_e2e_forged_flood(void **state)
{
    (void)state;
    uint8_t buf[1024];
    char ip[32];
    int lines0 = s_log_lines("event=decision_refused");
    uint64_t t0 = hn_ms(), t_real = 0;
    for (int i = 0; i < 25000; i++) {
        if (i == 12500) {
            s_decide("10.0.1.4", FLOODGATE__ACTION__BAN, 600);
            t_real = hn_ms();
        }
        if (i % 5 == 4)
            snprintf(ip, sizeof(ip), "10.0.0.53");
        else /* the k-th unmonitored one: 10 000 addresses, each twice */
            snprintf(ip, sizeof(ip), "100.64.%d.%d", (i - i / 5) % 10000 / 250,
                     (i - i / 5) % 250 + 1);
        s_send_bytes(buf, s_pack(ip, FLOODGATE__ACTION__BAN, 600, buf));
    }
    s_expect_route("10.0.1.4/32", 10000);
    uint64_t took_real = hn_ms() - t_real;
    s_expect_metric("floodgate_actuator_decisions_refused_total{reason=\"unmonitored\"}",
                    1 + 20000);
    uint64_t took = hn_ms() - t0;
    s_expect_metric("floodgate_actuator_decisions_refused_total{reason=\"whitelisted\"}",
                    1 + 5000);
    int lines = s_log_lines("event=decision_refused") - lines0;
    print_message("25 000 forged decisions refused in %llu ms; the real one in BIRD %llu ms "
                  "after it was sent; %d refusal log lines\n",
                  (unsigned long long)took, (unsigned long long)took_real, lines);
    if (lines > 20 * (int)(took / 10000 + 2))
        fail_msg("%d refusal lines for a %llu ms flood", lines, (unsigned long long)took);
    redisReply *r = hn_redis(s_t.redis_port, "KEYS floodgate:ban:100.64.*");
    assert_non_null(r);
    assert_int_equal(r->elements, 0);
    freeReplyObject(r);
    assert_int_equal(s_bird_count(), 2);
}

static bool s_keys_gone(void *arg)
{
    (void)arg;
    static const char *gone[] = {"10.0.2.4", "10.0.2.5", "0.0.0.0", "10.0.0.53",
                                 "8.8.4.4",  "10.0.2.6", "10.0.2.7"};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
        if (s_key_exists(gone[i]))
            return false;
    return true;
}

static void test_trust_e2e_hand_written_keys(void **state)
{
    (void)state;
    const char *wrong_ip[] = {"HSET floodgate:ban:10.0.2.1 ip 10.0.2.99 source manual",
                              "EXPIRE floodgate:ban:10.0.2.1 300"};
    s_redis_cmds(wrong_ip, 2);
    s_redis_cmd("HSET floodgate:ban:10.0.2.2 ip 10.0.2.2"); /* no TTL */
    s_redis_cmd("SET floodgate:ban:10.0.2.4 1");
    s_redis_cmd("RPUSH floodgate:ban:10.0.2.5 a b");
    s_redis_cmd("HSET floodgate:ban:0.0.0.0 ip 0.0.0.0");
    s_redis_cmd("HSET floodgate:ban:10.0.0.53 ip 10.0.0.53");
    s_redis_cmd("HSET floodgate:ban:8.8.4.4 ip 8.8.4.4");
    s_redis_cmd("HSET floodgate:ban:10.0.2.6 ip 10.0.2.6 direction sideways");
    s_redis_cmd("HSET floodgate:ban:10.0.2.7 ip 10.0.2.7 ban_count abc");
    s_expect_route("10.0.2.1/32", 10000);
    s_expect_route("10.0.2.2/32", 10000);
    if (!hn_wait_until(s_keys_gone, NULL, 10000))
        fail_msg("refused keys still in Redis after 10 s; logs in %s", s_t.dir);
    s_expect_metric("floodgate_actuator_keys_refused_total{reason=\"wrong_type\"}", 2);
    s_expect_metric("floodgate_actuator_keys_refused_total{reason=\"bad_address\"}", 1);
    s_expect_metric("floodgate_actuator_keys_refused_total{reason=\"whitelisted\"}", 1);
    s_expect_metric("floodgate_actuator_keys_refused_total{reason=\"unmonitored\"}", 1);
    s_expect_metric("floodgate_actuator_keys_refused_total{reason=\"bad_field\"}", 2);
    s_expect_metric("floodgate_actuator_keys_corrected_total{fix=\"ip_field\"}", 1);
    s_expect_metric("floodgate_actuator_keys_corrected_total{fix=\"no_ttl\"}", 1);
    long long ttl = s_redis_int("TTL %s", "floodgate:ban:10.0.2.2");
    assert_true(ttl > 590 && ttl <= 600);
    redisReply *r = hn_redis(s_t.redis_port, "HGET floodgate:ban:10.0.2.1 ip");
    assert_non_null(r);
    assert_string_equal(r->str, "10.0.2.1");
    freeReplyObject(r);
    const char *never[] = {"10.0.2.99/32", "10.0.2.4/32", "10.0.2.5/32", "0.0.0.0/32",
                           "10.0.0.53/32", "8.8.4.4/32",  "10.0.2.6/32", "10.0.2.7/32"};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        s_expect_no_route(never[i]);
    assert_int_equal(s_bird_count(), 4);
}

static bool s_real_banned(void *arg)
{
    (void)arg;
    s_decide("10.0.6.1", FLOODGATE__ACTION__ONGOING, 600); /* as the detector reports */
    usleep(200 * 1000);
    return s_key_exists("10.0.6.1");
}

static bool s_wall_past(void *ms)
{
    return hn_wall_ms() >= *(uint64_t *)ms;
}

static void test_trust_e2e_new_bans_budget(void **state)
{
    (void)state;
    /* the new-bans window (3 s) of the earlier bans is over: 3 s after the
     * last one the actuator logged */
    char log[600];
    snprintf(log, sizeof(log), "%s/actuator.log", s_t.dir);
    uint64_t last = hn_log_last_ms(log, "event=ban ip=");
    uint64_t pending = hn_log_last_ms(log, "event=ban_pending ip=");
    assert_true(last > 0); /* the earlier tests banned the real attacks */
    uint64_t free_at = (last > pending ? last : pending) + 3000 + 50;
    assert_true(hn_wait_until(s_wall_past, &free_at, 4000));
    char ip[32];
    for (int i = 1; i <= 12; i++) {
        snprintf(ip, sizeof(ip), "10.0.3.%d", i);
        s_decide(ip, FLOODGATE__ACTION__BAN, 600);
    }
    s_expect_metric("floodgate_actuator_decisions_refused_total{reason=\"ban_rate\"}", 7);
    uint64_t spent = hn_ms();
    redisReply *r = hn_redis(s_t.redis_port, "KEYS floodgate:ban:10.0.3.*");
    assert_non_null(r);
    assert_int_equal(r->elements, 5);
    freeReplyObject(r);
    /* the operator acts meanwhile; the read-only user cannot ban */
    assert_int_equal(s_cli("floodgate-ro", "ban", "10.0.5.2", NULL), 1);
    if (!strstr(s_cli_out, "NOPERM"))
        fail_msg("read-only ban did not fail on the ACL:\n%s", s_cli_out);
    assert_false(s_key_exists("10.0.5.2"));
    assert_int_equal(s_cli("floodgate-ops", "ban", "10.0.5.1", NULL), 0);
    s_expect_route("10.0.5.1/32", 10000);
    assert_int_equal(s_cli("floodgate-ro", "bans", NULL, NULL), 0);
    assert_non_null(strstr(s_cli_out, "10.0.5.1"));
    /* the real attack: banned by a report once the window has room */
    if (!hn_wait_until(s_real_banned, NULL, 10000))
        fail_msg("the real attack was not banned within 10 s; logs in %s", s_t.dir);
    assert_true(hn_ms() - spent < 10000);
    s_expect_route("10.0.6.1/32", 10000);
    /* --force: outside the monitored networks, recorded as such */
    assert_int_equal(s_cli("floodgate-ops", "ban", "198.51.100.66", NULL), 1);
    assert_int_equal(s_cli("floodgate-ops", "ban", "203.0.113.66", "--force"), 0);
    s_expect_route("203.0.113.66/32", 10000);
    r = hn_redis(s_t.redis_port, "HGET floodgate:ban:203.0.113.66 source");
    assert_non_null(r);
    assert_string_equal(r->str, "manual_force");
    freeReplyObject(r);
    s_expect_metric("floodgate_actuator_bans_forced_total", 1);
    assert_int_equal(s_cli("floodgate-ops", "unban", "203.0.113.66", NULL), 0);
}

/* Open descriptors of pid. */
static int s_fd_count(pid_t pid)
{
    char path[64];
    int n = 0;
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static bool s_flood_accepted(void *arg)
{
    (void)arg;
    return s_fd_count(s_t.actuator) > FLOOD_CONNS;
}

static void test_trust_e2e_connection_flood(void **state)
{
    (void)state;
    /* this process holds the flood's sockets: its own soft limit up too */
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max < FLOOD_CONNS + 256) {
        print_message("skipped: the hard open-file limit (%llu) cannot hold %d connections\n",
                      (unsigned long long)rl.rlim_max, FLOOD_CONNS);
        skip();
    }
    rl.rlim_cur = rl.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    static int fds[FLOOD_CONNS];
    int open_n = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s_t.act_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Each connect bounded by 3 s (a SYN dropped on a full accept queue is
     * sent again after 1 s), the whole flood by 20 s: a listener that stops
     * accepting (out of descriptors) leaves the rest unopened. */
    struct timeval tv = {3, 0};
    uint64_t deadline = hn_ms() + 20000;
    for (int i = 0; i < FLOOD_CONNS; i++) {
        fds[i] = -1;
        if (hn_ms() > deadline)
            continue;
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] >= 0)
            setsockopt(fds[i], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (fds[i] >= 0 && connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) == 0)
            open_n++;
    }
    assert_int_equal(open_n, FLOOD_CONNS);
    /* the actuator has accepted them (1 024 would be all it could hold
     * without raising its limit) */
    if (!hn_wait_until(s_flood_accepted, NULL, 10000))
        fail_msg("the actuator holds %d descriptors, not the %d connections; logs in %s",
                 s_fd_count(s_t.actuator), FLOOD_CONNS, s_t.dir);
    uint64_t t0 = hn_ms();
    s_decide("10.0.7.1", FLOODGATE__ACTION__BAN, 600);
    s_expect_route("10.0.7.1/32", 5000);
    uint64_t took = hn_ms() - t0;
    print_message("decision -> BIRD with %d idle connections open: %llu ms\n", FLOOD_CONNS,
                  (unsigned long long)took);
    for (int i = 0; i < FLOOD_CONNS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    char *log = s_actuator_log();
    assert_non_null(log);
    if (!strstr(log, "event=nofile") || !strstr(log, "was=1024"))
        fail_msg("the actuator did not log its raised open-file limit:\n%s", log);
    free(log);
    pid_t pids[] = {s_t.actuator};
    hn_expect_alive(pids, 1, s_t.dir);
}

/* floodgate status shows what the actuator refused (the other daemons are
 * not running here, so it exits 1 anyway). */
static void test_trust_e2e_status_shows_refusals(void **state)
{
    (void)state;
    s_cli("floodgate-ro", "status", "--json", NULL);
    if (!strstr(s_cli_out, "\"refused_decisions\":") || !strstr(s_cli_out, "\"refused_keys\":7"))
        fail_msg("status --json lacks the refusals:\n%s", s_cli_out);
    /* a refusal during its 3 s interval is a problem */
    char bin[512], log[600];
    snprintf(bin, sizeof(bin), "%s/floodgate", hn_build_dir());
    snprintf(log, sizeof(log), "%s/status.out", s_t.dir);
    char *argv[] = {bin, "-c", s_t.conf, "status", "-i", "3", NULL};
    char *env[] = {"FLOODGATE_REDIS_USER=floodgate-ro", "FLOODGATE_REDIS_PASSWORD=pw-ro", NULL};
    pid_t pid = hn_spawn_env(argv, env, log);
    usleep(1000 * 1000);
    s_decide("8.8.8.8", FLOODGATE__ACTION__BAN, 600);
    int st = hn_wait_exit(pid, 10000);
    assert_int_not_equal(st, -1);
    char *out = hn_read_file(log);
    assert_non_null(out);
    if (!strstr(out, "refused: ") || !strstr(out, "PROBLEM: actuator: refused 1 "))
        fail_msg("status lacks the refusals:\n%s", out);
    free(out);
}

/* Under the ACL, nothing but CONFIG (keyspace notifications, set in
 * redis.conf instead) was refused. */
static void test_trust_e2e_acl_enough(void **state)
{
    (void)state;
    char *log = s_actuator_log();
    assert_non_null(log);
    for (const char *p = log; (p = strstr(p, "NOPERM")); p++) {
        const char *bol = p, *eol = strchr(p, '\n');
        while (bol > log && bol[-1] != '\n')
            bol--;
        char line[512];
        snprintf(line, sizeof(line), "%.*s", eol ? (int)(eol - bol) : (int)strlen(bol), bol);
        if (!strstr(line, "event=notifications_refused"))
            fail_msg("the actuator was refused by the ACL:\n%s", line);
    }
    free(log);
    /* the ACL log of the server: only CONFIG */
    redisReply *r = hn_redis(s_t.redis_port, "ACL LOG");
    assert_non_null(r);
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        const char *user = "", *obj = "";
        for (size_t k = 0; k + 1 < e->elements; k += 2) {
            if (!strcmp(e->element[k]->str, "username"))
                user = e->element[k + 1]->str;
            if (!strcmp(e->element[k]->str, "object"))
                obj = e->element[k + 1]->str;
        }
        if (!strcmp(user, "floodgate-actuator") && strcmp(obj, "config|get") &&
            strcmp(obj, "config|set") && strcmp(obj, "config"))
            fail_msg("ACL refused floodgate-actuator: %s", obj);
    }
    freeReplyObject(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trust_e2e_forged_decisions_refused),
        cmocka_unit_test(test_trust_e2e_forged_flood),
        cmocka_unit_test(test_trust_e2e_hand_written_keys),
        cmocka_unit_test(test_trust_e2e_new_bans_budget),
        cmocka_unit_test(test_trust_e2e_connection_flood),
        cmocka_unit_test(test_trust_e2e_status_shows_refusals),
        cmocka_unit_test(test_trust_e2e_acl_enough),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
