/* End to end: FlowSpec mitigation through real BGP daemons into BIRD's
 * flow4 / flow6 tables. bird2 plays the router (no kernel protocol): it
 * peers with gobgpd (driven by floodgate-actuator through the gobgp client)
 * and with ExaBGP (a second actuator is its API process), both with the
 * ipv4/ipv6 flowspec families, each on its own 127.x address and a free
 * port; a real redis-server holds the bans. Decisions carry the breakdown
 * the aggregator sends (top contributors with shares, SYN rate, the
 * exporter's samples). In order:
 *
 *   1. DNS amplification on 10.0.0.5 (hostgroup mitigation = flowspec):
 *      flow4 { dst 10.0.0.5/32; proto 17; sport 53; } with traffic-rate 0
 *      (discard) in BIRD, no blackhole route; the ban hash says
 *      mitigation flowspec, <prefix>:flowspec:<ip> holds the rules with the
 *      ban's TTL, `floodgate bans` shows it;
 *   2. a SYN flood to 443 on 10.0.1.6 (group with rate-limit 125000 B/s):
 *      proto 6, dport 443, tcp flags SYN, traffic-rate 125000; a group with
 *      redirect 65000:100: the redirect extended community;
 *   3. NTP amplification on 2001:db8:100::5: flow6 with next header 17,
 *      sport 123; UDP floods from two /24s and two /48s: one rule per
 *      source prefix (flow4 and flow6);
 *   4. safety: a whitelisted address gets no rule; a window with 30
 *      samples (sFlow 1:10000) gets no rule and no ban (policy flowspec
 *      waits), the next window with enough samples does; a hand-written
 *      ban hash whose rules aim at another address is refused; meanwhile a
 *      real flood (10.0.0.12) gets its rule;
 *   5. the rules go on `redis-cli DEL` of the ban key (the flowspec key
 *      too), `floodgate unban`, and TTL expiry;
 *   6. gobgpd restarted (RIB empty): the rules come back;
 *   7. `floodgate ban IP --flowspec MATCH` sends rules; the actuator
 *      restarted with a ban deleted meanwhile: its rules go, the others stay;
 *   8. flowspec_then_blackhole: the attack still reported after
 *      flowspec_escalate_after: the blackhole route replaces the rule; no
 *      usable rule set: the blackhole at once;
 *   9. ExaBGP: the same rules (v4 and v6) through ExaBGP's flow routes,
 *      withdrawn on DEL;
 *  10. collateral from the host's normal traffic: the detector's logic
 *      (det_window, in this process) sees a web server (10.0.0.40, HTTPS)
 *      in calm windows, then a UDP flood of random ports from everywhere,
 *      which only a whole-protocol rule covers; its BAN carries the
 *      learnt profile, so flow4 { dst 10.0.0.40/32; proto 17; } goes to
 *      BIRD with collateral 0 as a number in Redis, the history and
 *      `floodgate report`; a host the detector never saw calm (10.0.0.41)
 *      gets no rule for the same flood (collateral unknown). */
#include <czmq.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis.h>
#include <jansson.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/decision.h"
#include "detector/detect.h"
#include "floodgate.pb-c.h"
#include "tests/harness.h"
#include "tests/bgptest.h"

static bt_bed_t s_b;

enum { ATT_DNS, ATT_NTP, ATT_SYN, ATT_DNS_SPARSE, ATT_UDP_NETS };

/* ---- the daemons ---- */

static const char *s_groups =
    "hostgroup\n    default\n        ban_time = 600\n        mitigation = flowspec\n"
    "    ratelimit\n        networks = 10.0.1.0/24\n        mitigation = flowspec\n"
    "        flowspec_action = rate-limit\n        flowspec_rate = 125000\n"
    "    escalate\n        networks = 10.0.2.0/24\n"
    "        mitigation = flowspec_then_blackhole\n        flowspec_escalate_after = 2\n"
    "    scrub\n        networks = 10.0.4.0/24\n        mitigation = flowspec\n"
    "        flowspec_action = redirect\n        flowspec_redirect = 65000:100\n";

/* A second actuator, run by ExaBGP as its API process, with its own key
 * prefix. */
static void s_write_exabgp_configs(bt_bed_t *b)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgfx\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    check_interval = 1\n"
             "    bgp_backend = exabgp\n    metrics_listen = \"\"\n"
             "    next_hop_v4 = 198.51.100.1\n    next_hop_v6 = 2001:db8::1\n%s",
             b->redis_port, b->exa_act_port, s_groups);
    bt_write_exabgp(b->dir, text, b->exa_addr, b->bird_addr, b->bird_port,
                    "ipv4 unicast; ipv6 unicast; ipv4 flow; ipv6 flow;");
}

static void s_write_configs(bt_bed_t *b)
{
    char text[4096], path[600];
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
             "    whitelist = 10.0.0.53/32\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgfs\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    check_interval = 1\n"
             "    bgp_backend = gobgp\n    gobgp_api = 127.0.0.1:%d\n"
             "    next_hop_v4 = 198.51.100.1\n    next_hop_v6 = 2001:db8::1\n"
             "    backend_timeout = 5\n    metrics_listen = 127.0.0.1:%d\n%s",
             b->redis_port, b->act_port, b->api_port, b->m_act, s_groups);
    hn_write_file(b->conf, text);
    const char *afis[] = {"ipv4-unicast", "ipv4-flowspec", "ipv6-flowspec", NULL};
    bt_write_gobgpd(b->dir, "gobgpd", b->gobgp_addr, b->bgp_port, b->bird_addr, b->bird_port,
                    afis);
    /* No kernel protocol: routes and rules stay in BIRD's own tables. */
    snprintf(text, sizeof(text),
             "router id %s;\nflow4 table flowtab4;\nflow6 table flowtab6;\nprotocol device {}\n",
             b->bird_addr);
    bt_bird_gobgp(text, sizeof(text), "gobgp", b->bird_addr, b->bird_port, b->gobgp_addr,
                  b->bgp_port,
                  "  ipv4 { import all; export none; };\n"
                  "  flow4 { table flowtab4; import all; export none; };\n"
                  "  flow6 { table flowtab6; import all; export none; };\n");
    snprintf(text + strlen(text), sizeof(text) - strlen(text),
             "protocol bgp exa {\n  local %s port %d as 65002;\n  neighbor %s as 65001;\n"
             "  multihop;\n  passive;\n"
             "  ipv4 { import all; export none; };\n  ipv6 { import all; export none; };\n"
             "  flow4 { table flowtab4; import all; export none; };\n"
             "  flow6 { table flowtab6; import all; export none; };\n}\n",
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

/* ---- BIRD's tables ---- */

/* `birdc show route table T all` (static). */
static char *s_table(const char *table)
{
    char *out;
    char *argv[] = {"birdc", "-s", s_b.bird_sock, "show", "route", "table", (char *)table,
                    "all", NULL};
    s_run(argv, &out);
    return out;
}

/* The block of the rule whose first line starts with head, or NULL. */
static const char *s_rule(const char *table, const char *head)
{
    static char block[4096];
    const char *all = s_table(table);
    size_t hl = strlen(head);
    for (const char *p = all; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, head, hl) != 0)
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

typedef struct {
    const char *table, *head;
} rule_q_t;

static bool s_rule_present(void *arg)
{
    rule_q_t *q = arg;
    return s_rule(q->table, q->head) != NULL;
}

static bool s_rule_absent(void *arg)
{
    return !s_rule_present(arg);
}

/* Wait for the rule; check its action (the extended community BIRD shows). */
static void s_expect_rule(const char *table, const char *head, const char *action, int ms)
{
    rule_q_t q = {table, head};
    if (!hn_wait_until(s_rule_present, &q, ms))
        fail_msg("rule \"%s\" not in %s within %d ms; logs in %s\n%s", head, table, ms, s_b.dir,
                 s_table(table));
    const char *blk = s_rule(table, head);
    if (!strstr(blk, action))
        fail_msg("rule \"%s\" lacks \"%s\":\n%s", head, action, blk);
}

static void s_expect_no_rule(const char *table, const char *head, int ms)
{
    rule_q_t q = {table, head};
    if (!hn_wait_until(s_rule_absent, &q, ms))
        fail_msg("rule \"%s\" still in %s after %d ms; logs in %s", head, table, ms, s_b.dir);
}

#define DISCARD "(generic, 0x80060000, 0x0)"
#define RATE_125000 "(generic, 0x80060000, 0x47f42400)" /* 125000.0f */

/* ---- decisions ---- */

static void s_contrib(Floodgate__Contributor *c, int kind, uint64_t lo, double share,
                      uint64_t packets)
{
    floodgate__contributor__init(c);
    c->kind = (Floodgate__ContribKind)kind;
    c->key_lo = lo;
    c->share = share;
    c->packets = packets;
}

/* A decision with the breakdown of attack att (99 % of the window). */
static void s_decide_to(zsock_t *push, const char *ip, int action, uint32_t ban_time, int att)
{
    Floodgate__Decision d;
    Floodgate__Rates total, syn = FLOODGATE__RATES__INIT;
    Floodgate__Contributor c[5], *cp[5] = {&c[0], &c[1], &c[2], &c[3], &c[4]};
    fg_addr_t a, src;
    assert_int_equal(fg_addr_parse(ip, &a), 0);
    hn_decision(&d, &total, ip, action, ban_time);
    total.pps = 100000;
    bool is_syn = att == ATT_SYN;
    s_contrib(&c[0], FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO, is_syn ? 6 : 17, 0.99, 99000);
    s_contrib(&c[1], is_syn ? FLOODGATE__CONTRIB_KIND__CONTRIB_DST_PORT
                            : FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT,
              att == ATT_NTP ? 123 : is_syn ? 443 : 53, 0.99, 99000);
    s_contrib(&c[2], FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO, 6, 0.01, 1000);
    s_contrib(&c[3], FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER, 1, 1, 300000);
    c[3].sampling = att == ATT_DNS_SPARSE ? 10000 : 1; /* 30 samples, or 300 000 */
    if (is_syn)
        c[2].key_lo = 17;
    if (att == ATT_UDP_NETS) { /* random ports, from two /24s (/48s): 49 % and 50 % */
        bool v6 = !fg_addr_is_v4(&a);
        s_contrib(&c[1], FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR, 0, 0.49, 49000);
        s_contrib(&c[4], FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR, 0, 0.50, 50000);
        assert_int_equal(fg_addr_parse(v6 ? "2001:db8:aaaa::7" : "198.18.10.7", &src), 0);
        c[1].key_hi = src.hi, c[1].key_lo = src.lo;
        assert_int_equal(fg_addr_parse(v6 ? "2001:db8:bbbb::9" : "198.18.11.9", &src), 0);
        c[4].key_hi = src.hi, c[4].key_lo = src.lo;
    }
    syn.pps = is_syn ? 99000 : 0;
    d.attack_type = is_syn                  ? "syn_flood"
                    : att == ATT_NTP        ? "amplification_ntp"
                    : att == ATT_UDP_NETS   ? "udp_flood"
                                            : "amplification_dns";
    d.value = 100000;
    d.tcp_syn = &syn;
    d.n_top = att == ATT_UDP_NETS ? 5 : 4;
    d.top = cp;
    zframe_t *f = bt_frame(&d);
    assert_int_equal(zframe_send(&f, push, 0), 0);
}

static void s_decide(const char *ip, int action, uint32_t ban_time, int att)
{
    s_decide_to(s_b.push, ip, action, ban_time, att);
}

static redisReply *s_redis(const char *fmt, const char *arg)
{
    redisReply *r = hn_redis(s_b.redis_port, fmt, arg);
    assert_non_null(r);
    return r;
}

static long long s_redis_int(const char *fmt, const char *arg)
{
    redisReply *r = s_redis(fmt, arg);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -100;
    freeReplyObject(r);
    return v;
}

static bool s_key_gone(void *key)
{
    return s_redis_int("EXISTS %s", key) == 0;
}

static char *s_cli_out;

static int s_cli(const char *cmd, const char *ip)
{
    char bin[512];
    snprintf(bin, sizeof(bin), "%s/floodgate", hn_build_dir());
    char *argv[] = {bin, "-c", s_b.conf, (char *)cmd, (char *)ip, NULL};
    return s_run(argv, &s_cli_out);
}

/* ---- fixtures ---- */

static int s_setup(void **state)
{
    (void)state;
    bt_bed_t *b = &s_b;
    bt_bed_init(b, "e2e-flowspec", 2 + (int)(getpid() % 200), 12);
    s_write_configs(b);
    b->redis = hn_redis_start(b->dir, b->redis_port, false);
    b->bird = bt_start_bird(b->dir, b->bird_sock);
    b->gobgpd = bt_start_gobgpd(b->dir, "gobgpd", b->api_port);
    b->actuator = hn_daemon(b->dir, b->conf, "actuator", NULL);
    b->exabgp = bt_start_exabgp(b->dir); /* its session comes up while the gobgp cases run */
    bt_bed_push(&b->push, b->act_port);
    bt_bed_push(&b->exa_push, b->exa_act_port);
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

static void test_fs_gobgp_dns_amplification(void **state)
{
    (void)state;
    uint64_t t0 = hn_ms();
    s_decide("10.0.0.5", FLOODGATE__ACTION__BAN, 600, ATT_DNS);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.0.5/32; proto 17; sport 53; }", DISCARD, 10000);
    fprintf(stderr, "# decision -> rule in BIRD (gobgp): %llu ms\n",
            (unsigned long long)(hn_ms() - t0));
    /* the rules, not the blackhole */
    char *out;
    char *argv[] = {"birdc", "-s", s_b.bird_sock, "show", "route", "10.0.0.5/32", NULL};
    s_run(argv, &out);
    assert_null(strstr(out, "10.0.0.5/32 "));
    redisReply *r = s_redis("HGET fgfs:ban:%s mitigation", "10.0.0.5");
    assert_string_equal(r->str, "flowspec");
    freeReplyObject(r);
    r = s_redis("HGET fgfs:flowspec:%s rules", "10.0.0.5");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_non_null(strstr(r->str, "dst=10.0.0.5/32 proto=17 sport=53"));
    freeReplyObject(r);
    r = s_redis("HGETALL fgfs:flowspec:%s", "10.0.0.5");
    for (size_t i = 0; i + 1 < r->elements; i += 2) /* for the README's example */
        fprintf(stderr, "#   %-11s %s\n", r->element[i]->str, r->element[i + 1]->str);
    freeReplyObject(r);
    r = s_redis("HGET fgfs:flowspec:%s coverage", "10.0.0.5");
    assert_true(atof(r->str) >= 0.95);
    freeReplyObject(r);
    long long ttl = s_redis_int("TTL fgfs:flowspec:%s", "10.0.0.5");
    assert_true(ttl > 590 && ttl <= 600);
    assert_int_equal(s_cli("bans", NULL), 0);
    if (!strstr(s_cli_out, "10.0.0.5") || !strstr(s_cli_out, "flowspec"))
        fail_msg("floodgate bans lacks the FlowSpec ban:\n%s", s_cli_out);
    assert_int_equal(s_cli("report", "10.0.0.5"), 0);
    if (!strstr(s_cli_out, "FlowSpec, discard, 1 rule covering") ||
        !strstr(s_cli_out, "rule:        dst=10.0.0.5/32 proto=17 sport=53"))
        fail_msg("floodgate report lacks the rules:\n%s", s_cli_out);
}

static void test_fs_gobgp_syn_rate_limit(void **state)
{
    (void)state;
    s_decide("10.0.1.6", FLOODGATE__ACTION__BAN, 600, ATT_SYN);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.1.6/32; proto 6; dport 443; tcp flags 0x2/0x2; }",
                  RATE_125000, 10000);
    fprintf(stderr, "%s", s_table("flowtab4"));
}

/* redirect to the scrubbing VRF: route target 65000:100 (0xfde8, 0x64) */
static void test_fs_gobgp_redirect(void **state)
{
    (void)state;
    s_decide("10.0.4.5", FLOODGATE__ACTION__BAN, 600, ATT_DNS);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.4.5/32; proto 17; sport 53; }",
                  "(generic, 0x8008fde8, 0x64)", 10000);
}

static void test_fs_gobgp_ntp_v6(void **state)
{
    (void)state;
    s_decide("2001:db8:100::5", FLOODGATE__ACTION__BAN, 600, ATT_NTP);
    s_expect_rule("flowtab6", "flow6 { dst 2001:db8:100::5/128; next header 17; sport 123; }",
                  DISCARD, 10000);
}

/* A UDP flood from two networks: one rule per source /24 (/48). */
static void test_fs_gobgp_source_prefixes(void **state)
{
    (void)state;
    s_decide("10.0.0.30", FLOODGATE__ACTION__BAN, 600, ATT_UDP_NETS);
    s_decide("2001:db8:100::30", FLOODGATE__ACTION__BAN, 600, ATT_UDP_NETS);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.0.30/32; src 198.18.10.0/24; proto 17; }", DISCARD,
                  10000);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.0.30/32; src 198.18.11.0/24; proto 17; }", DISCARD,
                  10000);
    s_expect_rule("flowtab6", "flow6 { dst 2001:db8:100::30/128; src 2001:db8:aaaa::/48;",
                  "next header 17", 10000);
    s_expect_rule("flowtab6", "flow6 { dst 2001:db8:100::30/128; src 2001:db8:bbbb::/48;",
                  "next header 17", 10000);
}

static void test_fs_safety(void **state)
{
    (void)state;
    double white0 = hn_metric(s_b.m_act, "floodgate_actuator_decisions_refused_total",
                              "reason=\"whitelisted\"", NULL);
    double wait0 = hn_metric(s_b.m_act, "floodgate_actuator_flowspec_total", "result=\"wait\"",
                             NULL);
    s_decide("10.0.0.53", FLOODGATE__ACTION__BAN, 600, ATT_DNS); /* whitelisted */
    s_decide("10.0.0.9", FLOODGATE__ACTION__BAN, 600, ATT_DNS_SPARSE); /* 30 samples */
    /* rules aimed at another host from a hand-written ban hash */
    redisReply *r = hn_redis(s_b.redis_port,
                             "HSET fgfs:ban:10.0.0.11 ip 10.0.0.11 mitigation flowspec flowspec %s",
                             "{\"action\":\"discard\",\"rules\":[{\"match\":"
                             "\"dst=10.0.0.99/32 proto=17\"}]}");
    freeReplyObject(r);
    s_redis_int("EXPIRE fgfs:ban:%s 600", "10.0.0.11");
    /* a real flood meanwhile */
    s_decide("10.0.0.12", FLOODGATE__ACTION__BAN, 600, ATT_DNS);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.0.12/32; proto 17; sport 53; }", DISCARD, 10000);
    if (!hn_wait_until(s_key_gone, "fgfs:ban:10.0.0.11", 5000))
        fail_msg("the ban hash with rules for another host was not refused");
    /* the whitelisted decision refused, the sparse one waiting for samples:
     * nothing of theirs can be sent any more */
    if (!hn_wait_metric(s_b.m_act, "floodgate_actuator_decisions_refused_total",
                        "reason=\"whitelisted\"", white0 + 1, 5000) ||
        !hn_wait_metric(s_b.m_act, "floodgate_actuator_flowspec_total", "result=\"wait\"",
                        wait0 + 1, 5000))
        fail_msg("the whitelisted or sparse decision was not counted within 5 s");
    assert_null(s_rule("flowtab4", "flow4 { dst 10.0.0.53/32;"));
    assert_null(s_rule("flowtab4", "flow4 { dst 10.0.0.99/32;"));
    assert_null(s_rule("flowtab4", "flow4 { dst 10.0.0.11/32;"));
    assert_null(s_rule("flowtab4", "flow4 { dst 10.0.0.9/32;"));
    assert_int_equal(s_redis_int("EXISTS fgfs:ban:%s", "10.0.0.9"), 0);
    /* the next window has enough samples: the rule */
    s_decide("10.0.0.9", FLOODGATE__ACTION__ONGOING, 600, ATT_DNS);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.0.9/32; proto 17; sport 53; }", DISCARD, 10000);
}

static void test_fs_rules_go_with_the_ban(void **state)
{
    (void)state;
    s_redis_int("DEL fgfs:ban:%s", "10.0.0.5");
    s_expect_no_rule("flowtab4", "flow4 { dst 10.0.0.5/32;", 10000);
    assert_true(hn_wait_until(s_key_gone, "fgfs:flowspec:10.0.0.5", 5000));
    assert_int_equal(s_cli("unban", "10.0.1.6"), 0);
    s_expect_no_rule("flowtab4", "flow4 { dst 10.0.1.6/32;", 10000);
    s_decide("10.0.0.7", FLOODGATE__ACTION__BAN, 3, ATT_NTP);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.0.7/32; proto 17; sport 123; }", DISCARD, 10000);
    s_expect_no_rule("flowtab4", "flow4 { dst 10.0.0.7/32;", 10000); /* expired */
    assert_int_equal(s_redis_int("EXISTS fgfs:flowspec:%s", "10.0.0.7"), 0);
}

static void test_fs_gobgpd_restart_rules_return(void **state)
{
    (void)state;
    hn_stop(s_b.gobgpd, 5000);
    s_expect_no_rule("flowtab6", "flow6 { dst 2001:db8:100::5/128;", 15000);
    s_b.gobgpd = bt_start_gobgpd(s_b.dir, "gobgpd", s_b.api_port);
    s_expect_rule("flowtab6", "flow6 { dst 2001:db8:100::5/128; next header 17; sport 123; }",
                  DISCARD, 30000);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.0.12/32; proto 17; sport 53; }", DISCARD, 10000);
}

/* Manual rules from the CLI; actuator restarted with a ban deleted while it
 * was down: BIRD follows Redis. */
static void test_fs_manual_and_actuator_restart(void **state)
{
    (void)state;
    char bin[512];
    snprintf(bin, sizeof(bin), "%s/floodgate", hn_build_dir());
    char *argv[] = {bin, "-c", s_b.conf, "ban", "10.0.0.20", "--flowspec", "proto=17 sport=123",
                    "--flowspec", "proto=17 sport=19", "--ttl", "600", NULL};
    if (s_run(argv, &s_cli_out) != 0)
        fail_msg("floodgate ban --flowspec failed:\n%s", s_cli_out);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.0.20/32; proto 17; sport 123; }", DISCARD, 10000);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.0.20/32; proto 17; sport 19; }", DISCARD, 10000);
    char *bad[] = {bin, "-c", s_b.conf, "ban", "10.0.0.21", "--flowspec", "dst=10.0.0.99/32", NULL};
    assert_int_equal(s_run(bad, &s_cli_out), 2); /* the destination is IP's own */
    hn_stop(s_b.actuator, 5000);
    s_redis_int("DEL fgfs:ban:%s", "10.0.0.20");
    s_b.actuator = hn_daemon(s_b.dir, s_b.conf, "actuator", NULL);
    s_expect_no_rule("flowtab4", "flow4 { dst 10.0.0.20/32;", 15000);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.0.12/32; proto 17; sport 53; }", DISCARD, 1000);
}

static bool s_blackholed(void *ip)
{
    char *out;
    char *argv[] = {"birdc", "-s", s_b.bird_sock, "show", "route", "all", (char *)ip, NULL};
    s_run(argv, &out);
    return strstr(out, "(65535,666)") != NULL;
}

static bool s_wall_past(void *ms)
{
    return hn_wall_ms() >= *(uint64_t *)ms;
}

static void test_fs_escalation_to_blackhole(void **state)
{
    (void)state;
    s_decide("10.0.2.7", FLOODGATE__ACTION__BAN, 600, ATT_DNS);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.2.7/32; proto 17; sport 53; }", DISCARD, 10000);
    assert_false(s_blackholed("10.0.2.7/32"));
    redisReply *r;
    /* flowspec_escalate_after = 2: 2 s after the actuator applied the rules */
    char log[600];
    snprintf(log, sizeof(log), "%s/actuator.log", s_b.dir);
    uint64_t due = hn_log_last_ms(log, "ip=10.0.2.7 ") + 2000 + 50;
    assert_true(due > 2050);
    assert_true(hn_wait_until(s_wall_past, &due, 5000));
    s_decide("10.0.2.7", FLOODGATE__ACTION__ONGOING, 600, ATT_DNS); /* not fallen */
    if (!hn_wait_until(s_blackholed, "10.0.2.7/32", 10000))
        fail_msg("no blackhole for 10.0.2.7 after escalation; logs in %s", s_b.dir);
    s_expect_no_rule("flowtab4", "flow4 { dst 10.0.2.7/32;", 10000);
    r = s_redis("HGET fgfs:ban:%s mitigation", "10.0.2.7");
    assert_string_equal(r->str, "blackhole");
    freeReplyObject(r);
}

/* ---- collateral from the normal traffic the detector learnt ---- */

typedef struct {
    Floodgate__HostWindow hw;
    Floodgate__Rates total, tcp, udp;
    Floodgate__Contributor c[12];
    Floodgate__Contributor *cp[12];
} hw_t;

/* A window of ip: calm (HTTPS, 12 000 pps: above the watch floor, 0.5 x
 * the 20 000 pps threshold, so the aggregator publishes it) or flooded (random UDP ports
 * from everywhere, 99 % of 100 000 pps), as the aggregator reports it. */
static void s_hw(hw_t *w, const char *ip, bool flood, uint32_t seed)
{
    fg_addr_t a;
    memset(w, 0, sizeof(*w));
    floodgate__host_window__init(&w->hw);
    floodgate__rates__init(&w->total);
    floodgate__rates__init(&w->tcp);
    floodgate__rates__init(&w->udp);
    assert_int_equal(fg_addr_parse(ip, &a), 0);
    w->hw.addr_hi = a.hi, w->hw.addr_lo = a.lo;
    w->hw.dir = FLOODGATE__DIRECTION__DIR_IN;
    w->hw.hostgroup = 0;
    w->total.pps = flood ? 100000 : 12000;
    w->total.bps = w->total.pps * 8000;
    w->total.fps = flood ? 3000 : 50;
    w->tcp.pps = flood ? 1000 : 12000;
    w->udp.pps = flood ? 99000 : 0;
    w->hw.total = &w->total, w->hw.tcp = &w->tcp, w->hw.udp = &w->udp;
    size_t n = 0;
    s_contrib(&w->c[n++], FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO, flood ? 17 : 6,
              flood ? 0.99 : 1, (uint64_t)w->total.pps);
    if (flood)
        s_contrib(&w->c[n++], FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO, 6, 0.01, 1000);
    s_contrib(&w->c[n++], FLOODGATE__CONTRIB_KIND__CONTRIB_DST_PORT, 443, flood ? 0.007 : 0.7,
              1400);
    for (uint32_t i = 0; i < 6; i++) /* ports and sources spread: 0.2 % each */
        s_contrib(&w->c[n++],
                  i % 2 ? FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT
                        : FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR,
                  i % 2 ? 1024 + (seed * 7919 + i * 104729) % 60000
                        : 0x0000ffffc6120000ull + ((seed * 31 + i) << 8) + 7,
                  0.002, 200);
    s_contrib(&w->c[n++], FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER, 1, 1,
              (uint64_t)w->total.pps);
    for (size_t i = 0; i < n; i++)
        w->cp[i] = &w->c[i];
    w->hw.n_top = n;
    w->hw.top = w->cp;
}

/* The detector's decisions go to the actuator as floodgate-detector sends
 * them (dec_pack, one frame). */
static int s_det_emit(const Floodgate__Decision *d, void *arg)
{
    uint8_t buf[DEC_MAX_BYTES];
    const char *why = NULL;
    size_t n = dec_pack(d, buf, sizeof(buf), &why);
    if (!n)
        fail_msg("dec_pack: %s", why ? why : "?");
    if (d->addr_lo == *(uint64_t *)arg && !d->normal)
        fail_msg("the BAN of the host seen calm carries no normal profile");
    zframe_t *f = zframe_new(buf, n);
    return zframe_send(&f, s_b.push, 0);
}

static void test_fs_collateral_from_normal_traffic(void **state)
{
    (void)state;
    char err[1024];
    fg_config_t *cfg = fg_config_load(s_b.conf, err, sizeof(err));
    if (!cfg)
        fail_msg("config: %s", err);
    fg_addr_t web;
    assert_int_equal(fg_addr_parse("10.0.0.40", &web), 0);
    det_t *det = det_new(cfg, s_det_emit, &web.lo);
    assert_non_null(det);
    Floodgate__WindowBatch wb = FLOODGATE__WINDOW_BATCH__INIT;
    Floodgate__HostWindow *hp[2];
    hw_t w[2];
    uint64_t t = hn_ms() / 1000 * 1000;
    wb.shards = 1;
    wb.window_ms = 1000;
    wb.hosts = hp;
    hp[0] = &w[0].hw, hp[1] = &w[1].hw;
    for (uint32_t i = 0; i < 40 && det_attacks(det) < 2; i++) {
        bool flood = i >= 10; /* ten calm windows of the web server first */
        s_hw(&w[0], "10.0.0.40", flood, i);
        s_hw(&w[1], "10.0.0.41", true, i);
        wb.n_hosts = flood ? 2 : 1;
        wb.seq = i + 1;
        wb.window_end_ms = t + 1000ULL * i;
        det_window(det, &wb, t + 1000ULL * i);
    }
    assert_int_equal(det_attacks(det), 2);
    det_destroy(&det);
    fg_config_destroy(&cfg);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.0.40/32; proto 17; }", DISCARD, 10000);
    redisReply *r = s_redis("HGETALL fgfs:flowspec:%s", "10.0.0.40");
    for (size_t i = 0; i + 1 < r->elements; i += 2) /* for the README's example */
        fprintf(stderr, "#   %-11s %s\n", r->element[i]->str, r->element[i + 1]->str);
    freeReplyObject(r);
    r = s_redis("HGET fgfs:flowspec:%s collateral", "10.0.0.40");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    char *end;
    double col = strtod(r->str, &end);
    if (end == r->str || *end || col > 0.01)
        fail_msg("collateral of the web server's rule: \"%s\", want a number ~0", r->str);
    freeReplyObject(r);
    r = s_redis("LRANGE fgfs:history:%s 0 -1", "10.0.0.40"); /* the ban's line */
    assert_true(r->elements >= 1);
    json_t *line = json_loads(r->element[r->elements - 1]->str, 0, NULL);
    json_t *hc = json_object_get(json_object_get(line, "flowspec"), "collateral");
    if (!json_is_number(hc) || json_number_value(hc) > 0.01)
        fail_msg("history line lacks a numeric collateral: %s", r->element[r->elements - 1]->str);
    json_decref(line);
    freeReplyObject(r);
    assert_int_equal(s_cli("report", "10.0.0.40"), 0);
    if (!strstr(s_cli_out, "collateral 0.0 %"))
        fail_msg("floodgate report lacks the collateral:\n%s", s_cli_out);
    /* the host never seen calm: a whole-protocol rule without a profile is
     * not used (the actuator waits; no ban, no rule) */
    s_expect_no_rule("flowtab4", "flow4 { dst 10.0.0.41/32", 2000);
    assert_int_equal(s_redis_int("EXISTS fgfs:flowspec:%s", "10.0.0.41"), 0);
    s_redis_int("DEL fgfs:ban:%s", "10.0.0.40");
    s_expect_no_rule("flowtab4", "flow4 { dst 10.0.0.40/32; proto 17; }", 10000);
}

static bool s_exa_up(void *arg)
{
    (void)arg;
    return bt_session_up(s_b.dir, s_b.bird_sock, "exa");
}

static void test_fs_exabgp(void **state)
{
    (void)state;
    if (!hn_wait_until(s_exa_up, NULL, 20000))
        fail_msg("ExaBGP session not up within 20 s; logs in %s", s_b.dir);
    uint64_t t0 = hn_ms();
    s_decide_to(s_b.exa_push, "10.0.3.5", FLOODGATE__ACTION__BAN, 600, ATT_DNS);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.3.5/32; proto 17; sport 53; }", DISCARD, 10000);
    fprintf(stderr, "# decision -> rule in BIRD (exabgp): %llu ms\n",
            (unsigned long long)(hn_ms() - t0));
    s_decide_to(s_b.exa_push, "10.0.1.35", FLOODGATE__ACTION__BAN, 600, ATT_SYN);
    s_expect_rule("flowtab4", "flow4 { dst 10.0.1.35/32; proto 6; dport 443; tcp flags", RATE_125000,
                  10000);
    s_decide_to(s_b.exa_push, "2001:db8:100::36", FLOODGATE__ACTION__BAN, 600, ATT_UDP_NETS);
    s_expect_rule("flowtab6", "flow6 { dst 2001:db8:100::36/128; src 2001:db8:aaaa::/48;",
                  "next header 17", 10000);
    s_decide_to(s_b.exa_push, "2001:db8:100::35", FLOODGATE__ACTION__BAN, 600, ATT_NTP);
    s_expect_rule("flowtab6", "flow6 { dst 2001:db8:100::35/128; next header 17; sport 123; }",
                  DISCARD, 10000);
    redisReply *r = hn_redis(s_b.redis_port, "DEL fgfx:ban:10.0.3.5 fgfx:ban:2001:db8:100::35");
    freeReplyObject(r);
    s_expect_no_rule("flowtab4", "flow4 { dst 10.0.3.5/32;", 10000);
    s_expect_no_rule("flowtab6", "flow6 { dst 2001:db8:100::35/128;", 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fs_gobgp_dns_amplification),
        cmocka_unit_test(test_fs_gobgp_syn_rate_limit),
        cmocka_unit_test(test_fs_gobgp_redirect),
        cmocka_unit_test(test_fs_gobgp_ntp_v6),
        cmocka_unit_test(test_fs_gobgp_source_prefixes),
        cmocka_unit_test(test_fs_safety),
        cmocka_unit_test(test_fs_rules_go_with_the_ban),
        cmocka_unit_test(test_fs_gobgpd_restart_rules_return),
        cmocka_unit_test(test_fs_manual_and_actuator_restart),
        cmocka_unit_test(test_fs_escalation_to_blackhole),
        cmocka_unit_test(test_fs_collateral_from_normal_traffic),
        cmocka_unit_test(test_fs_exabgp),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
