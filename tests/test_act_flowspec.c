/* Unit tests: the actuator's FlowSpec policy (actuator/act_flowspec.c)
 * against a real redis-server, through act_decision / act_scan, with a
 * backend that records what it is told: the rules reach the backend and
 * Redis; no usable set waits (flowspec) or falls back to the blackhole
 * (flowspec_then_blackhole); the cap on rules in total; detect_only; the
 * dry-run backend logs the rules; a hand-written hash with rules for
 * another address is refused while a real flood is still banned. */
#include <hiredis.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "actuator/act.h"
#include "actuator/flowspec.h"
#include "common/config.h"
#include "tests/harness.h"

#define AC_DIR "act-flowspec"
#include "tests/acttest.h"

static fg_config_t *s_cfg;
static act_t *s_act;

static ac_rec_t *s_rec;

static long long s_int(const char *fmt, const char *arg)
{
    redisReply *r = ac_redis(fmt, arg);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -100;
    freeReplyObject(r);
    return v;
}

/* ---- fixtures ---- */

/* A config with extra actuator keys; the groups: default flowspec,
 * 10.0.2.0/24 flowspec_then_blackhole, 10.0.3.0/24 detect_only. */
static void s_load(const char *actuator_extra)
{
    char text[2048];
    freeReplyObject(ac_redis("FLUSHALL"));
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
             "    whitelist = \"10.0.0.53/32\"\n"
             "redis\n    address = 127.0.0.1:%d\n"
             "actuator\n    check_interval = 3600\n%s"
             "hostgroup\n    default\n        ban_time = 600\n        mitigation = flowspec\n"
             "    thenbh\n        networks = 10.0.2.0/24\n"
             "        mitigation = flowspec_then_blackhole\n"
             "    quiet\n        networks = 10.0.3.0/24\n        mitigation = detect_only\n",
             ac_port, actuator_extra);
    s_cfg = ac_config("floodgate.conf", text);
    act_opts_t o = act_opts_default();
    o.notifications = false;
    s_act = act_new(s_cfg, &o);
    assert_non_null(s_act);
    s_rec = ac_rec_add(s_act);
    assert_int_equal(act_start(s_act), 0);
}

static int s_teardown(void **state)
{
    (void)state;
    act_destroy(&s_act);
    fg_config_destroy(&s_cfg);
    s_rec = NULL;
    return 0;
}

/* A DNS amplification's decision (99 % UDP from port 53) with samples
 * flow samples behind it. */
static void s_decide(const char *ip, int action, double samples)
{
    Floodgate__Decision d = FLOODGATE__DECISION__INIT;
    Floodgate__Rates total = FLOODGATE__RATES__INIT;
    Floodgate__Contributor c[3], *cp[3] = {&c[0], &c[1], &c[2]};
    fg_addr_t a;
    assert_int_equal(fg_addr_parse(ip, &a), 0);
    for (int i = 0; i < 3; i++)
        floodgate__contributor__init(&c[i]);
    c[0].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO;
    c[0].key_lo = 17;
    c[1].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT;
    c[1].key_lo = 53;
    c[0].share = c[1].share = 0.99;
    c[0].packets = c[1].packets = 99000;
    c[2].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER;
    c[2].packets = 100000;
    c[2].sampling = (uint32_t)(100000 / samples);
    c[2].share = 1;
    total.pps = 100000;
    d.addr_hi = a.hi;
    d.addr_lo = a.lo;
    d.action = action;
    d.attack_type = "amplification_dns";
    d.direction = FLOODGATE__DIRECTION__DIR_IN;
    d.metric = "pps";
    d.value = 100000;
    d.threshold = 20000;
    d.hostgroup = "default";
    d.ban_time = 600;
    d.total = &total;
    d.enable_ban = true;
    d.n_top = 3;
    d.top = cp;
    assert_int_equal(act_decision(s_act, &d), 0);
}

/* ---- tests ---- */

/* Rules reach the backend and both keys, with the same TTL. */
static void test_act_flowspec_rules_and_keys(void **state)
{
    (void)state;
    s_load("");
    s_decide("10.0.0.5", FLOODGATE__ACTION__BAN, 1000);
    assert_int_equal(s_rec->rules, 1);
    assert_int_equal(s_rec->blackholes, 0);
    const ban_t *k = act_known_ban(s_act, "10.0.0.5");
    assert_non_null(k);
    assert_true(ban_is_flowspec(k));
    assert_non_null(strstr(k->flowspec, "dst=10.0.0.5/32 proto=17 sport=53"));
    long long t1 = s_int("TTL floodgate:ban:%s", "10.0.0.5");
    long long t2 = s_int("TTL floodgate:flowspec:%s", "10.0.0.5");
    assert_true(t1 > 590 && t1 <= 600 && t2 > 590 && t2 <= 600);
    /* the unban takes the flowspec key with it */
    assert_int_equal(s_int("DEL floodgate:ban:%s", "10.0.0.5"), 1);
    assert_int_equal(act_scan(s_act), 0);
    assert_int_equal(s_rec->unbans, 1);
    assert_int_equal(s_int("EXISTS floodgate:flowspec:%s", "10.0.0.5"), 0);
}

/* 30 samples: flowspec waits (no ban, counted); flowspec_then_blackhole
 * blackholes at once (counted); a later window with enough samples gets
 * the rules. */
static void test_act_flowspec_wait_and_fallback(void **state)
{
    (void)state;
    act_stats_t st;
    s_load("");
    s_decide("10.0.0.9", FLOODGATE__ACTION__BAN, 30);
    assert_int_equal(s_rec->bans, 0);
    assert_int_equal(s_int("EXISTS floodgate:ban:%s", "10.0.0.9"), 0);
    s_decide("10.0.2.9", FLOODGATE__ACTION__BAN, 30);
    assert_int_equal(s_rec->blackholes, 1);
    assert_false(ban_is_flowspec(act_known_ban(s_act, "10.0.2.9")));
    act_get_stats(s_act, &st);
    assert_int_equal(st.flowspec_waits, 1);
    assert_int_equal(st.flowspec_fallbacks, 1);
    s_decide("10.0.0.9", FLOODGATE__ACTION__ONGOING, 1000);
    assert_int_equal(s_rec->rules, 1);
    assert_true(ban_is_flowspec(act_known_ban(s_act, "10.0.0.9")));
}

/* flowspec_max_rules = 2: two attacks get rules, the third (policy
 * flowspec) waits, a flowspec_then_blackhole one is blackholed. */
static void test_act_flowspec_cap_in_total(void **state)
{
    (void)state;
    act_stats_t st;
    s_load("    flowspec_max_rules = 2\n");
    s_decide("10.0.0.1", FLOODGATE__ACTION__BAN, 1000);
    s_decide("10.0.0.2", FLOODGATE__ACTION__BAN, 1000);
    s_decide("10.0.0.3", FLOODGATE__ACTION__BAN, 1000);
    s_decide("10.0.2.4", FLOODGATE__ACTION__BAN, 1000);
    assert_int_equal(s_rec->rules, 2);
    assert_int_equal(s_rec->blackholes, 1);
    assert_null(act_known_ban(s_act, "10.0.0.3"));
    act_get_stats(s_act, &st);
    assert_int_equal(st.flowspec_waits, 1);
    assert_int_equal(st.flowspec_fallbacks, 1);
}

static void test_act_flowspec_detect_only(void **state)
{
    (void)state;
    act_stats_t st;
    s_load("");
    s_decide("10.0.3.7", FLOODGATE__ACTION__BAN, 1000);
    assert_int_equal(s_rec->bans, 0);
    assert_int_equal(s_int("EXISTS floodgate:ban:%s", "10.0.3.7"), 0);
    act_get_stats(s_act, &st);
    assert_int_equal(st.detect_only, 1);
}

/* Hand-written hashes: rules for another host are refused (key deleted,
 * nothing sent), rules for the key's own address are adopted; a real flood
 * in the middle is banned. */
static void test_act_flowspec_hand_written(void **state)
{
    (void)state;
    s_load("");
    freeReplyObject(ac_redis("HSET floodgate:ban:10.0.0.11 ip 10.0.0.11 mitigation flowspec "
                            "flowspec %s",
                            "{\"action\":\"discard\",\"rules\":[{\"match\":"
                            "\"dst=10.0.0.99/32 proto=17\"}]}"));
    freeReplyObject(ac_redis("EXPIRE floodgate:ban:10.0.0.11 600"));
    s_decide("10.0.0.12", FLOODGATE__ACTION__BAN, 1000);
    freeReplyObject(ac_redis("HSET floodgate:ban:10.0.0.13 ip 10.0.0.13 mitigation flowspec "
                            "flowspec %s",
                            "{\"action\":\"discard\",\"rules\":[{\"match\":"
                            "\"dst=10.0.0.13/32 proto=17 sport=123\"}]}"));
    freeReplyObject(ac_redis("EXPIRE floodgate:ban:10.0.0.13 600"));
    assert_int_equal(act_scan(s_act), 0);
    assert_int_equal(s_int("EXISTS floodgate:ban:%s", "10.0.0.11"), 0);
    assert_null(act_known_ban(s_act, "10.0.0.11"));
    assert_true(ban_is_flowspec(act_known_ban(s_act, "10.0.0.12")));
    const ban_t *k = act_known_ban(s_act, "10.0.0.13");
    assert_non_null(k);
    assert_true(ban_is_flowspec(k));
    assert_int_equal(s_rec->rules, 2); /* 10.0.0.12 and 10.0.0.13, never 10.0.0.99 */
    /* rules outside networks/monitored, even forced: refused */
    freeReplyObject(ac_redis("HSET floodgate:ban:203.0.113.9 ip 203.0.113.9 source manual_force "
                            "mitigation flowspec flowspec %s",
                            "{\"action\":\"discard\",\"rules\":[{\"match\":"
                            "\"dst=203.0.113.9/32 proto=17\"}]}"));
    freeReplyObject(ac_redis("EXPIRE floodgate:ban:203.0.113.9 600"));
    assert_int_equal(act_scan(s_act), 0);
    assert_int_equal(s_int("EXISTS floodgate:ban:%s", "203.0.113.9"), 0);
    assert_int_equal(s_rec->rules, 2);
}

/* dry_run: the log backend logs the rules, it sends nothing. */
static void test_act_flowspec_dry_run_logs(void **state)
{
    (void)state;
    s_load("");
    backend_t *log = backend_log_new(s_cfg);
    assert_non_null(log);
    char path[512];
    snprintf(path, sizeof(path), "%s/dry.log", ac_dir);
    FILE *saved = fdopen(dup(2), "w");
    assert_non_null(freopen(path, "w", stderr));
    assert_int_equal(act_add_backend(s_act, &log), 0);
    s_decide("10.0.0.21", FLOODGATE__ACTION__BAN, 1000);
    fflush(stderr);
    assert_int_equal(dup2(fileno(saved), 2), 2);
    fclose(saved);
    char *text = hn_read_file(path);
    assert_non_null(text);
    if (!strstr(text, "backend=log kind=flowspec ip=10.0.0.21") ||
        !strstr(text, "dst=10.0.0.21/32 proto=17 sport=53"))
        fail_msg("the dry-run log lacks the rules:\n%s", text);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_act_flowspec_rules_and_keys, s_teardown),
        cmocka_unit_test_teardown(test_act_flowspec_wait_and_fallback, s_teardown),
        cmocka_unit_test_teardown(test_act_flowspec_cap_in_total, s_teardown),
        cmocka_unit_test_teardown(test_act_flowspec_detect_only, s_teardown),
        cmocka_unit_test_teardown(test_act_flowspec_hand_written, s_teardown),
        cmocka_unit_test_teardown(test_act_flowspec_dry_run_logs, s_teardown),
    };
    return cmocka_run_group_tests(tests, ac_group_setup, ac_group_teardown);
}
