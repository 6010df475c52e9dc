/* End to end: blackholing through real BGP daemons. bird2 plays the router:
 * it peers with gobgpd over loopback (each on its own 127.x address and a
 * free port; BIRD has no kernel protocol, so nothing reaches this machine's
 * routing table). floodgate-actuator drives gobgpd through its gobgp client,
 * with a real redis-server (append-only file on) as the ban truth. The test
 * reads BIRD's table with birdc and checks, in order:
 *
 *   1. decisions for an IPv4 and an IPv6 host: /32 and /128 arrive in BIRD
 *      with (65535,666), the extra community and the configured next hop;
 *   2. `floodgate unban` withdraws; `floodgate ban` (a hand-written HASH)
 *      announces; `redis-cli DEL` withdraws; a TTL expiry withdraws;
 *   3. a carpet bombing: 300 decisions at once are all in BIRD, all back
 *      after gobgpd restarts, and all withdrawn once their keys are
 *      deleted; gobgpd restarted (its RIB empty): the routes come back;
 *   4. actuator stopped, keys deleted and written meanwhile, actuator
 *      started: BIRD matches Redis exactly;
 *   5. Redis restarted (with persistence), a decision sent while it is down:
 *      announced at once, its key written when Redis returns; BIRD matches
 *      Redis;
 *   6. an attack reported ONGOING past its ban time: renewed (ban_count,
 *      event renew), the route never leaves BIRD; once the reports stop,
 *      the ban lapses and the route goes;
 *   7. ExaBGP (4.2) peered with the same BIRD, a second actuator as its API
 *      process: routes announced and withdrawn, and announced again after
 *      ExaBGP restarts;
 *   8. the actuator stops on SIGTERM. */
#include <czmq.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis.h>

#include "common/addr.h"
#include "floodgate.pb-c.h"
#include "tests/harness.h"
#include "tests/bgptest.h"

static bt_bed_t s_b;

/* ---- the daemons ---- */

/* A second actuator, run by ExaBGP as its API process, with its own key
 * prefix. */
static void s_write_exabgp_configs(bt_bed_t *b)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgexa\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    check_interval = 1\n"
             "    bgp_backend = exabgp\n    metrics_listen = \"\"\n"
             "    next_hop_v4 = 198.51.100.1\n    next_hop_v6 = 2001:db8::1\n"
             "    communities = 65000:666\n",
             b->redis_port, b->exa_act_port);
    bt_write_exabgp(b->dir, text, b->exa_addr, b->bird_addr, b->bird_port,
                    "ipv4 unicast; ipv6 unicast;");
}

static void s_write_configs(bt_bed_t *b)
{
    char text[4096], path[600];
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
             "    whitelist = 10.0.0.53/32\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgbgp\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    check_interval = 1\n"
             "    bgp_backend = gobgp\n    gobgp_api = 127.0.0.1:%d\n"
             "    next_hop_v4 = 198.51.100.1\n    next_hop_v6 = 2001:db8::1\n"
             "    communities = 65000:666\n    backend_timeout = 5\n"
             "    metrics_listen = 127.0.0.1:%d\n"
             "hostgroup\n    default\n        ban_time = 600\n",
             b->redis_port, b->act_port, b->api_port, b->m_act);
    hn_write_file(b->conf, text);

    const char *afis[] = {"ipv4-unicast", "ipv6-unicast", NULL};
    bt_write_gobgpd(b->dir, "gobgpd", b->gobgp_addr, b->bgp_port, b->bird_addr, b->bird_port,
                    afis);

    snprintf(text, sizeof(text), "router id %s;\nprotocol device {}\n", b->bird_addr);
    bt_bird_gobgp(text, sizeof(text), "gobgp", b->bird_addr, b->bird_port, b->gobgp_addr,
                  b->bgp_port,
                  "  ipv4 { import all; export none; };\n  ipv6 { import all; export none; };\n");
    snprintf(text + strlen(text), sizeof(text) - strlen(text),
             "protocol bgp exa {\n  local %s port %d as 65002;\n  neighbor %s as 65001;\n"
             "  multihop;\n  passive;\n"
             "  ipv4 { import all; export none; };\n  ipv6 { import all; export none; };\n}\n",
             b->bird_addr, b->bird_port, b->exa_addr);
    snprintf(path, sizeof(path), "%s/bird.conf", b->dir);
    hn_write_file(path, text);
    s_write_exabgp_configs(b);
}

/* Run argv to completion (at most 10 s), its output in *out (static). */
static int s_run(char *const argv[], char **out)
{
    return hn_run(s_b.dir, argv, NULL, out);
}

/* ---- BIRD's table ---- */

/* `birdc show route all` output (static). */
static char *s_bird_routes(void)
{
    char *out;
    char *argv[] = {"birdc", "-s", s_b.bird_sock, "show", "route", "all", NULL};
    s_run(argv, &out);
    return out;
}

/* The block of `show route all` for prefix (static copy), or NULL. */
static const char *s_bird_route(const char *prefix)
{
    static char block[4096];
    const char *all = s_bird_routes();
    size_t pl = strlen(prefix);
    for (const char *p = all; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, prefix, pl) != 0 || p[pl] != ' ')
            continue;
        const char *end = p + 1;
        while ((end = strchr(end, '\n')) && (end[1] == '\t' || end[1] == ' '))
            end++;
        size_t n = end ? (size_t)(end - p) : strlen(p);
        snprintf(block, sizeof(block), "%.*s", (int)n, p);
        return block;
    }
    return NULL;
}

static bool s_route_present(void *prefix)
{
    return s_bird_route(prefix) != NULL;
}

static bool s_route_absent(void *prefix)
{
    return s_bird_route(prefix) == NULL;
}

static void s_expect_route(const char *prefix, const char *next_hop, int ms)
{
    if (!hn_wait_until(s_route_present, (void *)prefix, ms))
        fail_msg("%s not in BIRD within %d ms; logs in %s\n%s", prefix, ms, s_b.dir,
                 s_bird_routes());
    const char *blk = s_bird_route(prefix);
    if (!strstr(blk, "(65535,666)") || !strstr(blk, "(65000,666)"))
        fail_msg("%s lacks the communities:\n%s", prefix, blk);
    char nh[128];
    snprintf(nh, sizeof(nh), "BGP.next_hop: %s", next_hop);
    if (!strstr(blk, nh))
        fail_msg("%s lacks %s:\n%s", prefix, nh, blk);
}

static void s_expect_no_route(const char *prefix, int ms)
{
    if (!hn_wait_until(s_route_absent, (void *)prefix, ms))
        fail_msg("%s still in BIRD after %d ms; logs in %s", prefix, ms, s_b.dir);
}

/* Sorted, space-separated prefixes of BIRD's blackhole routes. */
static void s_bird_set(char *out, size_t len)
{
    const char *all = s_bird_routes();
    zlistx_t *l = bt_set_new();
    for (const char *p = all; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')) || !strchr(p, '/'))
            continue;
        const char *sp = strchr(p, ' ');
        if (sp && (size_t)(sp - p) < FG_PREFIX_STRLEN)
            zlistx_add_end(l, zsys_sprintf("%.*s", (int)(sp - p), p));
    }
    bt_set_join(&l, out, len);
}

/* The same for the ban keys in Redis, each as a host route. */
static void s_redis_set(char *out, size_t len)
{
    redisReply *r = hn_redis(s_b.redis_port, "KEYS fgbgp:ban:*");
    assert_non_null(r);
    zlistx_t *l = bt_set_new();
    for (size_t i = 0; i < r->elements; i++) {
        const char *ip = r->element[i]->str + strlen("fgbgp:ban:");
        zlistx_add_end(l, zsys_sprintf("%s/%d", ip, strchr(ip, ':') ? 128 : 32));
    }
    freeReplyObject(r);
    bt_set_join(&l, out, len);
}

static bool s_bird_matches_redis(void *arg)
{
    char bird[4096], redis[4096];
    s_bird_set(bird, sizeof(bird));
    s_redis_set(redis, sizeof(redis));
    if (arg)
        snprintf(arg, 8192, "bird:  [%s]\nredis: [%s]", bird, redis);
    return strcmp(bird, redis) == 0;
}

static void s_expect_match(int ms)
{
    char why[8192];
    if (!hn_wait_until(s_bird_matches_redis, why, ms))
        fail_msg("BIRD does not match Redis after %d ms:\n%s\nlogs in %s", ms, why, s_b.dir);
}

/* ---- decisions and the CLI ---- */

static void s_decide_to(zsock_t *push, const char *ip, int action, uint32_t ban_time);

static void s_decide(const char *ip, int action, uint32_t ban_time)
{
    s_decide_to(s_b.push, ip, action, ban_time);
}

static void s_decide_to(zsock_t *push, const char *ip, int action, uint32_t ban_time)
{
    Floodgate__Decision d;
    Floodgate__Rates total;
    hn_decision(&d, &total, ip, action, ban_time);
    zframe_t *f = bt_frame(&d);
    assert_int_equal(zframe_send(&f, push, 0), 0);
}

static char *s_cli_out; /* output of the last s_cli (static) */

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

static void s_redis_cmd(const char *fmt, const char *arg)
{
    redisReply *r = hn_redis(s_b.redis_port, fmt, arg);
    assert_non_null(r);
    freeReplyObject(r);
}

static void s_redis_expect_no_key(const char *ip)
{
    redisReply *r = hn_redis(s_b.redis_port, "EXISTS fgbgp:ban:%s", ip);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_INTEGER || r->integer != 0)
        fail_msg("a ban key for %s was written", ip);
    freeReplyObject(r);
}

/* ---- fixtures ---- */

static bool s_session_up(void *proto)
{
    return bt_session_up(s_b.dir, s_b.bird_sock, proto);
}

static int s_setup(void **state)
{
    (void)state;
    bt_bed_t *b = &s_b;
    bt_bed_init(b, "e2e-bgp", 2 + (int)(getpid() % 200), 2);
    s_write_configs(b);
    b->redis = hn_redis_start(b->dir, b->redis_port, true);
    b->bird = bt_start_bird(b->dir, b->bird_sock);
    b->gobgpd = bt_start_gobgpd(b->dir, "gobgpd", b->api_port);
    b->actuator = hn_daemon(b->dir, b->conf, "actuator", NULL);
    bt_bed_push(&b->push, b->act_port);
    bt_bed_expect_session(b);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    bt_bed_stop(&s_b);
    return 0;
}

/* ---- tests ---- */

static void test_bgp_decision_announces_v4_and_v6(void **state)
{
    (void)state;
    uint64_t t0 = hn_ms();
    s_decide("10.0.0.5", FLOODGATE__ACTION__BAN, 600);
    s_decide("2001:db8:100::5", FLOODGATE__ACTION__BAN, 600);
    s_expect_route("10.0.0.5/32", "198.51.100.1", 10000);
    fprintf(stderr, "# decision -> route in BIRD: %llu ms\n", (unsigned long long)(hn_ms() - t0));
    s_expect_route("2001:db8:100::5/128", "2001:db8::1", 10000);
    /* the whitelisted address is never announced: the actuator refuses the
     * decision (counted), so no key is written and nothing to announce */
    double refused0 = hn_metric(s_b.m_act, "floodgate_actuator_decisions_refused_total",
                                "reason=\"whitelisted\"", NULL);
    s_decide("10.0.0.53", FLOODGATE__ACTION__BAN, 600);
    if (!hn_wait_metric(s_b.m_act, "floodgate_actuator_decisions_refused_total",
                        "reason=\"whitelisted\"", refused0 + 1, 5000))
        fail_msg("the whitelisted decision was not refused within 5 s; logs in %s", s_b.dir);
    s_redis_expect_no_key("10.0.0.53");
    assert_null(s_bird_route("10.0.0.53/32"));
    s_expect_match(5000);
}

static void test_bgp_cli_unban_and_ban(void **state)
{
    (void)state;
    /* the table: ip, attack type, pps, ttl left, ban count */
    assert_int_equal(s_cli("bans", NULL, NULL, NULL), 0);
    s_cli_says("PPS");
    s_cli_says("TTL LEFT");
    s_cli_says("BANS");
    s_cli_says("udp_flood");
    s_cli_says(" 50000 ");
    s_cli_says("2 bans");
    /* refusals with a reason, nothing written */
    assert_int_equal(s_cli("ban", "10.0.0.53", NULL, NULL), 1);
    s_cli_says("whitelist");
    assert_int_equal(s_cli("ban", "10.0.0.53", "--force", NULL), 1);
    assert_int_equal(s_cli("ban", "203.0.113.9", NULL, NULL), 1);
    s_cli_says("outside networks/monitored");
    assert_int_equal(s_cli("ban", "10.0.0.5/32", NULL, NULL), 2);
    s_cli_says("not an IPv4 or IPv6 address");
    assert_int_equal(s_cli("ban", "10.0.0.300", NULL, NULL), 2);
    assert_int_equal(s_cli("unban", "nonsense", NULL, NULL), 2);
    redisReply *r = hn_redis(s_b.redis_port, "KEYS fgbgp:ban:*");
    assert_int_equal(r->elements, 2);
    freeReplyObject(r);
    /* --force: an address outside the monitored networks, by hand */
    assert_int_equal(s_cli("ban", "203.0.113.9", "--force", NULL), 0);
    s_expect_route("203.0.113.9/32", "198.51.100.1", 10000);
    assert_int_equal(s_cli("unban", "203.0.113.9", NULL, NULL), 0);
    s_expect_no_route("203.0.113.9/32", 10000);
    assert_int_equal(s_cli("unban", "10.0.0.5", NULL, NULL), 0);
    s_expect_no_route("10.0.0.5/32", 10000);
    assert_int_equal(s_cli("ban", "10.0.0.6", "--ttl", "600"), 0);
    s_expect_route("10.0.0.6/32", "198.51.100.1", 10000);
    assert_int_equal(s_cli("unban", "2001:db8:100::5", NULL, NULL), 0);
    s_expect_no_route("2001:db8:100::5/128", 10000);
    s_expect_match(5000);
}

static void test_bgp_redis_del_and_hand_written_hash(void **state)
{
    (void)state;
    s_redis_cmd("DEL fgbgp:ban:%s", "10.0.0.6");
    s_expect_no_route("10.0.0.6/32", 10000);
    s_redis_cmd("HSET fgbgp:ban:%s ip 2001:db8:100::7 attack_type manual", "2001:db8:100::7");
    s_redis_cmd("EXPIRE fgbgp:ban:%s 600", "2001:db8:100::7");
    s_expect_route("2001:db8:100::7/128", "2001:db8::1", 10000);
    s_expect_match(5000);
}

static void test_bgp_ttl_expiry_withdraws(void **state)
{
    (void)state;
    s_decide("10.0.0.8", FLOODGATE__ACTION__BAN, 2);
    s_expect_route("10.0.0.8/32", "198.51.100.1", 10000);
    s_expect_no_route("10.0.0.8/32", 10000);
    s_expect_match(5000);
}

/* Routes of BIRD inside set ("10.0.64.0/23+"), -1 when birdc fails. */
static int s_bird_count(const char *set)
{
    char cond[128], *out;
    int n = -1;
    snprintf(cond, sizeof(cond), "net ~ [ %s ]", set);
    char *argv[] = {"birdc", "-s", s_b.bird_sock, "show", "route", "where", cond, "count", NULL};
    if (s_run(argv, &out) != 0)
        return -1;
    const char *t = strstr(out, "Total: ");
    return t && sscanf(t, "Total: %d of", &n) == 1 ? n : -1;
}

static int s_carpet_want;
static bool s_carpet_count_is(void *arg)
{
    return s_bird_count(arg) == s_carpet_want;
}

/* A carpet bombing: 300 decisions at once all reach BIRD (through the one
 * `gobgp mrt inject` process), come back after gobgpd restarts, then their
 * keys are deleted and all 300 routes are withdrawn. */
static void test_bgp_carpet_300_at_once(void **state)
{
    (void)state;
    char ip[32], set[] = "10.0.64.0/23+";
    uint64_t t0 = hn_ms();
    for (int i = 0; i < 300; i++) {
        snprintf(ip, sizeof(ip), "10.0.%d.%d", 64 + i / 256, i % 256);
        s_decide(ip, FLOODGATE__ACTION__BAN, 600);
    }
    s_carpet_want = 300;
    if (!hn_wait_until(s_carpet_count_is, set, 20000))
        fail_msg("%d of 300 routes in BIRD after 20 s; logs in %s", s_bird_count(set), s_b.dir);
    printf("# 300 bans in BIRD %llu ms after the first decision\n",
           (unsigned long long)(hn_ms() - t0));
    /* gobgpd restarted under them: its RIB is empty, the injector's stream
     * is gone; a new injector announces all 300 again */
    hn_stop(s_b.gobgpd, 3000);
    s_carpet_want = 0;
    if (!hn_wait_until(s_carpet_count_is, set, 10000))
        fail_msg("BIRD kept %d routes after gobgpd stopped", s_bird_count(set));
    s_b.gobgpd = bt_start_gobgpd(s_b.dir, "gobgpd", s_b.api_port);
    t0 = hn_ms();
    s_carpet_want = 300;
    if (!hn_wait_until(s_carpet_count_is, set, 30000))
        fail_msg("%d of 300 routes back in BIRD 30 s after gobgpd restarted; logs in %s",
                 s_bird_count(set), s_b.dir);
    printf("# 300 routes back in BIRD %llu ms after gobgpd was started again\n",
           (unsigned long long)(hn_ms() - t0));
    redisReply *r = hn_redis(s_b.redis_port, "EVAL %s 0 %s",
                             "local n = 0 for _, k in ipairs(redis.call('keys', ARGV[1])) do "
                             "redis.call('del', k) n = n + 1 end return n",
                             "fgbgp:ban:10.0.6[45].*");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 300);
    freeReplyObject(r);
    s_carpet_want = 0;
    if (!hn_wait_until(s_carpet_count_is, set, 90000))
        fail_msg("%d routes of the 300 still in BIRD 90 s after their keys went; logs in %s",
                 s_bird_count(set), s_b.dir);
    s_expect_match(5000);
}

static void test_bgp_gobgpd_restart_restores_routes(void **state)
{
    (void)state;
    bt_bed_t *b = &s_b;
    s_decide("10.0.0.9", FLOODGATE__ACTION__BAN, 600);
    s_expect_route("10.0.0.9/32", "198.51.100.1", 10000);
    hn_stop(b->gobgpd, 3000);
    s_expect_no_route("10.0.0.9/32", 10000); /* BIRD dropped the session */
    b->gobgpd = bt_start_gobgpd(b->dir, "gobgpd", b->api_port);
    s_expect_route("10.0.0.9/32", "198.51.100.1", 20000);
    s_expect_route("2001:db8:100::7/128", "2001:db8::1", 5000);
    s_expect_match(5000);
}

static void test_bgp_actuator_restart_converges(void **state)
{
    (void)state;
    bt_bed_t *b = &s_b;
    assert_int_equal(WEXITSTATUS(hn_stop(b->actuator, 5000)), 0);
    /* while it is down: one ban lifted, one written by hand */
    s_redis_cmd("DEL fgbgp:ban:%s", "10.0.0.9");
    s_redis_cmd("HSET fgbgp:ban:%s ip 10.0.0.10 attack_type manual", "10.0.0.10");
    s_redis_cmd("EXPIRE fgbgp:ban:%s 600", "10.0.0.10");
    /* the actuator is reaped: nothing withdraws the route while it is away */
    assert_non_null(s_bird_route("10.0.0.9/32"));
    b->actuator = hn_daemon(b->dir, b->conf, "actuator", NULL);
    s_expect_no_route("10.0.0.9/32", 10000);
    s_expect_route("10.0.0.10/32", "198.51.100.1", 10000);
    s_expect_match(5000);
}

/* No AOF rewrite running nor scheduled (INFO persistence). */
static bool s_aof_rewritten(void *arg)
{
    (void)arg;
    redisReply *r = hn_redis(s_b.redis_port, "INFO persistence");
    bool done = r && r->type == REDIS_REPLY_STRING &&
                strstr(r->str, "aof_rewrite_in_progress:0") &&
                strstr(r->str, "aof_rewrite_scheduled:0");
    if (r)
        freeReplyObject(r);
    return done;
}

static void test_bgp_redis_restart_with_queue(void **state)
{
    (void)state;
    bt_bed_t *b = &s_b;
    redisReply *r = hn_redis(b->redis_port, "BGREWRITEAOF");
    if (r)
        freeReplyObject(r);
    if (!hn_wait_until(s_aof_rewritten, NULL, 10000))
        fail_msg("redis did not finish BGREWRITEAOF within 10 s");
    hn_stop(b->redis, 5000);
    s_decide("10.0.0.11", FLOODGATE__ACTION__BAN, 600); /* Redis is down: queued */
    /* announced at once all the same (the customer is protected now); the
     * key follows when Redis is back */
    s_expect_route("10.0.0.11/32", "198.51.100.1", 10000);
    assert_non_null(s_bird_route("10.0.0.10/32")); /* Redis down withdraws nothing */
    b->redis = hn_redis_start(b->dir, b->redis_port, true);
    r = NULL;
    for (uint64_t end = hn_ms() + 15000; hn_ms() < end; usleep(200 * 1000)) {
        if (r)
            freeReplyObject(r);
        r = hn_redis(b->redis_port, "EXISTS fgbgp:ban:10.0.0.11");
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1)
            break;
    }
    assert_true(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
    freeReplyObject(r);
    assert_non_null(s_bird_route("10.0.0.11/32")); /* never withdrawn meanwhile */
    s_expect_route("10.0.0.10/32", "198.51.100.1", 5000);
    s_expect_match(5000);
}

static long long s_ban_count(const char *ip)
{
    redisReply *r = hn_redis(s_b.redis_port, "HGET fgbgp:ban:%s ban_count", ip);
    long long n = r && r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
    if (r)
        freeReplyObject(r);
    return n;
}

static void test_bgp_ongoing_attack_renews_route_stays(void **state)
{
    (void)state;
    const char *ip = "10.0.0.12";
    s_decide(ip, FLOODGATE__ACTION__BAN, 4);
    s_expect_route("10.0.0.12/32", "198.51.100.1", 10000);
    /* 9 s of reports every 0.5 s, more than twice the 4 s ban time: the
     * route must be there at every look */
    uint64_t end = hn_ms() + 9000;
    int looks = 0;
    while (hn_ms() < end) {
        s_decide(ip, FLOODGATE__ACTION__ONGOING, 4);
        usleep(500 * 1000);
        if (!s_bird_route("10.0.0.12/32"))
            fail_msg("route withdrawn during a renewed ban (look %d); logs in %s", looks, s_b.dir);
        looks++;
    }
    long long count = s_ban_count(ip);
    if (count < 3)
        fail_msg("ban_count %lld after 9 s of a 4 s ban: not renewed", count);
    redisReply *r = hn_redis(s_b.redis_port, "LRANGE fgbgp:history:%s 0 -1", ip);
    assert_non_null(r);
    int renews = 0, unbans = 0;
    for (size_t i = 0; i < r->elements; i++) {
        renews += strstr(r->element[i]->str, "\"event\":\"renew\"") != NULL;
        unbans += strstr(r->element[i]->str, "\"event\":\"unban\"") != NULL;
    }
    freeReplyObject(r);
    assert_true(renews >= 2);
    assert_int_equal(unbans, 0);
    /* the reports stop: the ban lapses, the route goes */
    s_expect_no_route("10.0.0.12/32", 10000);
    s_expect_match(5000);
}

static void test_bgp_exabgp_announces_and_withdraws(void **state)
{
    (void)state;
    bt_bed_t *b = &s_b;
    b->exabgp = bt_start_exabgp(b->dir);
    if (!hn_wait_until(s_session_up, "exa", 20000))
        fail_msg("BGP session ExaBGP-BIRD not up within 20 s; logs in %s", b->dir);
    b->exa_push = zsock_new(ZMQ_PUSH);
    assert_int_equal(zsock_connect(b->exa_push, "tcp://127.0.0.1:%d", b->exa_act_port), 0);
    s_decide_to(b->exa_push, "10.0.9.1", FLOODGATE__ACTION__BAN, 600);
    s_decide_to(b->exa_push, "2001:db8:100::9", FLOODGATE__ACTION__BAN, 600);
    s_expect_route("10.0.9.1/32", "198.51.100.1", 10000);
    s_expect_route("2001:db8:100::9/128", "2001:db8::1", 10000);
    assert_non_null(strstr(s_bird_route("10.0.9.1/32"), "[exa "));
    s_redis_cmd("DEL fgexa:ban:%s", "10.0.9.1");
    s_expect_no_route("10.0.9.1/32", 10000);
    /* ExaBGP restarted (its actuator with it): the ban in Redis comes back */
    bt_stop_exabgp(b->dir, &b->exabgp);
    s_expect_no_route("2001:db8:100::9/128", 10000);
    b->exabgp = bt_start_exabgp(b->dir);
    s_expect_route("2001:db8:100::9/128", "2001:db8::1", 20000);
    assert_null(s_bird_route("10.0.9.1/32"));
    bt_stop_exabgp(b->dir, &b->exabgp);
}

static void test_bgp_daemons_stop_cleanly(void **state)
{
    (void)state;
    bt_bed_t *b = &s_b;
    int st = hn_stop(b->actuator, 5000);
    b->actuator = 0;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bgp_decision_announces_v4_and_v6),
        cmocka_unit_test(test_bgp_cli_unban_and_ban),
        cmocka_unit_test(test_bgp_redis_del_and_hand_written_hash),
        cmocka_unit_test(test_bgp_ttl_expiry_withdraws),
        cmocka_unit_test(test_bgp_carpet_300_at_once),
        cmocka_unit_test(test_bgp_gobgpd_restart_restores_routes),
        cmocka_unit_test(test_bgp_actuator_restart_converges),
        cmocka_unit_test(test_bgp_redis_restart_with_queue),
        cmocka_unit_test(test_bgp_ongoing_attack_renews_route_stays),
        cmocka_unit_test(test_bgp_exabgp_announces_and_withdraws),
        cmocka_unit_test(test_bgp_daemons_stop_cleanly),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
