/* Unit tests: the actuator trusts nothing it is given (actuator/trust.h).
 * Decisions and hand-written ban keys against a real redis-server, through
 * act_message / act_decision / act_scan, with a backend that records what
 * it is told (a refused ban must never reach it). */
#include <hiredis.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/decision.h"
#include "actuator/act.h"
#include "actuator/trust.h"
#include "common/config.h"
#include "common/log.h"
#include "tests/harness.h"

#define AC_DIR "trust"
#include "tests/acttest.h"

static fg_config_t *s_cfg;
static act_t *s_act;

static ac_rec_t *s_rec;

/* Did the backend hear of ip? */
static bool s_told(const char *ip)
{
    for (int i = 0; i < s_rec->bans && i < AC_REC_IPS; i++)
        if (!strcmp(s_rec->ips[i], ip))
            return true;
    return false;
}

static bool s_banned(const char *ip)
{
    char key[128];
    snprintf(key, sizeof(key), "floodgate:ban:%s", ip);
    return ac_int("EXISTS %s", key) == 1;
}

static char *s_hget(const char *ip, const char *field)
{
    char key[128];
    snprintf(key, sizeof(key), "floodgate:ban:%s", ip);
    redisReply *r = ac_redis("HGET %s %s", key, field);
    char *v = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return v;
}

static long long s_ttl(const char *ip)
{
    char key[128];
    snprintf(key, sizeof(key), "floodgate:ban:%s", ip);
    return ac_int("TTL %s", key);
}

/* ---- fixtures ---- */

static int s_setup(void **state)
{
    (void)state;
    char text[1024];
    ac_cmd("CONFIG SET min-replicas-to-write 0"); /* a failed test may have left it */
    ac_cmd("FLUSHALL");
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
             "    whitelist = \"10.0.0.53/32\"\n"
             "redis\n    address = 127.0.0.1:%d\nactuator\n    check_interval = 3600\n"
             "hostgroup\n    default\n        ban_time = 600\n        max_ban_time = 3600\n",
             ac_port);
    s_cfg = ac_config("floodgate.conf", text);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    act_destroy(&s_act);
    fg_config_destroy(&s_cfg);
    s_rec = NULL;
    return 0;
}

/* The new-bans budget's clock, moved by the tests that need its window to
 * pass; 0: the real one. */
static uint64_t s_clock_ms;
static uint64_t s_clock(void)
{
    return s_clock_ms ? s_clock_ms : fg_mono_ms();
}

static void s_make(void)
{
    act_opts_t o = act_opts_default();
    o.notifications = false;
    o.mono_ms = s_clock;
    s_act = act_new(s_cfg, &o);
    assert_non_null(s_act);
    s_rec = ac_rec_add(s_act);
    s_rec->sync_bans = true; /* a resync tells of bans too */
    assert_int_equal(act_start(s_act), 0);
}

static Floodgate__Rates s_total;

static Floodgate__Decision s_decision(const char *ip, uint32_t ban_time)
{
    Floodgate__Decision d;
    hn_decision(&d, &s_total, ip, FLOODGATE__ACTION__BAN, ban_time);
    return d;
}

/* Pack d into buf; its size. */
static size_t s_pack(const Floodgate__Decision *d, uint8_t *buf, size_t cap)
{
    size_t n = floodgate__decision__get_packed_size(d);
    assert_true(n <= cap);
    return floodgate__decision__pack(d, buf);
}

static void s_send(const Floodgate__Decision *d)
{
    uint8_t buf[1024];
    size_t n = s_pack(d, buf, sizeof(buf));
    assert_int_equal(act_message(s_act, buf, n), 0);
}

static act_stats_t s_stats(void)
{
    act_stats_t st;
    act_get_stats(s_act, &st);
    return st;
}

/* ---- tests ---- */

static void test_trust_wire_overflow_found(void **state)
{
    (void)state;
    uint8_t buf[1100];
    Floodgate__Decision d = s_decision("10.0.0.7", 600);
    size_t n = s_pack(&d, buf, 1024);
    assert_int_equal(dec_wire_overflow(buf, n), 0);
    /* field 13 (ban_time) again, varint 2^32: protobuf-c keeps 0 */
    static const uint8_t big[] = {13 << 3, 0x80, 0x80, 0x80, 0x80, 0x10};
    memcpy(buf + n, big, sizeof(big));
    assert_int_equal(dec_wire_overflow(buf, n + sizeof(big)), 13);
    Floodgate__Decision *u = floodgate__decision__unpack(NULL, n + sizeof(big), buf);
    assert_non_null(u);
    assert_int_equal(u->ban_time, 0); /* what the check is for */
    floodgate__decision__free_unpacked(u, NULL);
    /* action (enum) 2^32 + 1 would read as BAN */
    static const uint8_t act[] = {3 << 3, 0x81, 0x80, 0x80, 0x80, 0x10};
    memcpy(buf + n, act, sizeof(act));
    assert_int_equal(dec_wire_overflow(buf, n + sizeof(act)), 3);
    static const uint8_t cut[] = {13 << 3, 0x80};
    memcpy(buf + n, cut, sizeof(cut));
    assert_int_equal(dec_wire_overflow(buf, n + sizeof(cut)), -1);
}

/* Every forged decision is refused by its reason (a forged normal
 * profile too), nothing reaches Redis or the backend, while a real one in
 * between is banned. */
static void test_trust_decisions_refused_by_reason(void **state)
{
    (void)state;
    s_make();
    Floodgate__Decision d;
    d = s_decision("8.8.8.8", 600);
    s_send(&d);
    d = s_decision("10.0.0.53", 600);
    s_send(&d);
    d = s_decision("0.0.0.0", 600);
    s_send(&d);
    d = s_decision("2001:db8:100::ff", 4000000000u);
    s_send(&d);
    d = s_decision("10.0.0.7", 600); /* the real one */
    s_send(&d);
    d = s_decision("10.0.0.8", 3601); /* just over max_ban_time */
    s_send(&d);
    d = s_decision("10.0.0.9", 600);
    d.value = NAN;
    s_send(&d);
    d = s_decision("10.0.0.10", 600);
    d.threshold = -1;
    s_send(&d);
    Floodgate__Rates bad_syn = FLOODGATE__RATES__INIT;
    bad_syn.pps = INFINITY;
    d = s_decision("10.0.0.13", 600);
    d.tcp_syn = &bad_syn;
    s_send(&d);
    /* forged normal profiles (FlowSpec collateral): a share of 5, and more
     * items than the codec allows */
    Floodgate__Profile prof = FLOODGATE__PROFILE__INIT;
    Floodgate__Contributor items[DEC_MAX_PROFILE_TOP + 1], *ip[DEC_MAX_PROFILE_TOP + 1];
    for (int i = 0; i <= DEC_MAX_PROFILE_TOP; i++) {
        floodgate__contributor__init(&items[i]);
        items[i].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_DST_PORT;
        items[i].key_lo = (uint64_t)i;
        items[i].share = 0.01;
        ip[i] = &items[i];
    }
    prof.windows = 30;
    prof.top = ip;
    prof.n_top = DEC_MAX_PROFILE_TOP + 1;
    d = s_decision("10.0.0.14", 600);
    d.normal = &prof;
    s_send(&d);
    items[0].share = 5;
    prof.n_top = 1;
    d = s_decision("10.0.0.15", 600);
    d.normal = &prof;
    s_send(&d);
    char long_type[100];
    memset(long_type, 'a', sizeof(long_type) - 1);
    long_type[99] = '\0';
    d = s_decision("10.0.0.11", 600);
    d.attack_type = long_type;
    s_send(&d);
    uint8_t buf[1100];
    d = s_decision("10.0.0.12", 600);
    size_t n = s_pack(&d, buf, 1024);
    static const uint8_t big[] = {13 << 3, 0x80, 0x80, 0x80, 0x80, 0x10}; /* 2^32 s */
    memcpy(buf + n, big, sizeof(big));
    assert_int_equal(act_message(s_act, buf, n + sizeof(big)), 0);

    act_stats_t st = s_stats();
    assert_int_equal(st.trust.decisions[TRUST_UNMONITORED], 1);
    assert_int_equal(st.trust.decisions[TRUST_WHITELISTED], 1);
    assert_int_equal(st.trust.decisions[TRUST_BAD_ADDRESS], 1);
    assert_int_equal(st.trust.decisions[TRUST_BAN_TIME], 3);
    assert_int_equal(st.trust.decisions[TRUST_BAD_FIELD], 6);
    assert_int_equal(st.whitelisted, 1);
    assert_int_equal(st.bans, 1);
    assert_int_equal(st.decisions, 13);
    redisReply *r = ac_redis("KEYS floodgate:ban:*");
    assert_int_equal(r->elements, 1);
    assert_string_equal(r->element[0]->str, "floodgate:ban:10.0.0.7");
    freeReplyObject(r);
    assert_int_equal(s_rec->bans, 1);
    assert_true(s_told("10.0.0.7"));
    long long ttl = s_ttl("10.0.0.7");
    assert_true(ttl > 590 && ttl <= 600);
}

/* A decision asking no ban time gets its hostgroup's; the hostgroup is
 * the address's, not the one the decision names. */
static void test_trust_decision_group_from_address(void **state)
{
    (void)state;
    s_make();
    Floodgate__Decision d = s_decision("10.0.0.7", 0);
    d.hostgroup = "vip";
    s_send(&d);
    char *g = s_hget("10.0.0.7", "hostgroup");
    assert_non_null(g);
    assert_string_equal(g, "default");
    free(g);
    long long ttl = s_ttl("10.0.0.7");
    assert_true(ttl > 590 && ttl <= 600);
}

/* Hand-written keys: refused (deleted, counted, never announced) or
 * corrected, as the README states. */
static void test_trust_keys_refused_or_corrected(void **state)
{
    (void)state;
    s_make();
    ac_cmd("HSET floodgate:ban:10.0.2.1 ip 10.0.2.99 source manual");
    ac_cmd("EXPIRE floodgate:ban:10.0.2.1 300");
    ac_cmd("HSET floodgate:ban:10.0.2.2 ip 10.0.2.2"); /* no TTL */
    ac_cmd("HSET floodgate:ban:10.0.2.3 ip 10.0.2.3");
    ac_cmd("EXPIRE floodgate:ban:10.0.2.3 4000000000"); /* year 2153 */
    ac_cmd("SET floodgate:ban:10.0.2.4 1");
    ac_cmd("RPUSH floodgate:ban:10.0.2.5 a b");
    ac_cmd("HSET floodgate:ban:0.0.0.0 ip 0.0.0.0");
    ac_cmd("HSET floodgate:ban:10.0.0.53 ip 10.0.0.53");
    ac_cmd("HSET floodgate:ban:8.8.4.4 ip 8.8.4.4");
    ac_cmd("HSET floodgate:ban:10.0.2.6 ip 10.0.2.6 direction sideways");
    ac_cmd("HSET floodgate:ban:10.0.2.7 ip 10.0.2.7 ban_count abc");
    ac_cmd("HSET floodgate:ban:10.0.2.8 ip 10.0.2.8 value -5");
    ac_cmd("HSET floodgate:ban:10.0.2.9 ip 10.0.2.9 source superuser");
    for (const char *k = "10.0.2.6 10.0.2.7 10.0.2.8 10.0.2.9 0.0.0.0 10.0.0.53 8.8.4.4"; k;) {
        char key[64];
        int len = (int)strcspn(k, " ");
        snprintf(key, sizeof(key), "floodgate:ban:%.*s", len, k);
        ac_cmd("EXPIRE %s 300", key);
        k = k[len] ? k + len + 1 : NULL;
    }
    assert_int_equal(act_scan(s_act), 0);
    act_stats_t st = s_stats();
    assert_int_equal(st.trust.keys[TRUST_WRONG_TYPE], 2);
    assert_int_equal(st.trust.keys[TRUST_BAD_ADDRESS], 1);
    assert_int_equal(st.trust.keys[TRUST_WHITELISTED], 1);
    assert_int_equal(st.trust.keys[TRUST_UNMONITORED], 1);
    assert_int_equal(st.trust.keys[TRUST_BAD_FIELD], 4);
    assert_int_equal(st.trust.fixes[TRUST_FIX_IP_FIELD], 1);
    assert_int_equal(st.trust.fixes[TRUST_FIX_NO_TTL], 1);
    assert_int_equal(st.trust.fixes[TRUST_FIX_TTL_CUT], 1);
    /* refused: deleted and never told to the backend */
    const char *gone[] = {"10.0.2.4", "10.0.2.5", "0.0.0.0",  "10.0.0.53", "8.8.4.4",
                          "10.0.2.6", "10.0.2.7", "10.0.2.8", "10.0.2.9"};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
        if (s_banned(gone[i]) || s_told(gone[i]))
            fail_msg("%s was not refused", gone[i]);
    }
    /* corrected: the key name is the truth; TTLs within policy */
    char *ip = s_hget("10.0.2.1", "ip");
    assert_string_equal(ip, "10.0.2.1");
    free(ip);
    long long t2 = s_ttl("10.0.2.2"), t3 = s_ttl("10.0.2.3");
    assert_true(t2 > 590 && t2 <= 600);
    assert_true(t3 > 3590 && t3 <= 3600);
    assert_int_equal(s_rec->bans, 3);
    assert_true(s_told("10.0.2.1") && s_told("10.0.2.2") && s_told("10.0.2.3"));
    /* the refusal is on record */
    redisReply *r = ac_redis("XRANGE floodgate:events - +");
    int refused = 0;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *kv = r->element[i]->element[1];
        refused += kv->elements >= 2 && !strcmp(kv->element[1]->str, "refused");
    }
    freeReplyObject(r);
    assert_int_equal(refused, 9);
    assert_int_equal(act_scan(s_act), 0); /* nothing counted twice */
    assert_int_equal(s_stats().trust.keys[TRUST_BAD_FIELD], 4);
}

/* floodgate ban --force writes source manual_force: the one way outside
 * the monitored networks; never for a whitelisted address. At start-up
 * the same checks apply to the keys found. */
static void test_trust_forced_ban_and_startup_checks(void **state)
{
    (void)state;
    ac_cmd("HSET floodgate:ban:8.8.4.4 ip 8.8.4.4 source manual_force");
    ac_cmd("EXPIRE floodgate:ban:8.8.4.4 300");
    ac_cmd("HSET floodgate:ban:10.0.0.53 ip 10.0.0.53 source manual_force");
    ac_cmd("EXPIRE floodgate:ban:10.0.0.53 300");
    ac_cmd("HSET floodgate:ban:8.8.8.8 ip 8.8.8.8 source detector");
    ac_cmd("EXPIRE floodgate:ban:8.8.8.8 300");
    s_make(); /* the start-up scan */
    act_stats_t st = s_stats();
    assert_int_equal(st.trust.forced, 1);
    assert_int_equal(st.trust.keys[TRUST_WHITELISTED], 1);
    assert_int_equal(st.trust.keys[TRUST_UNMONITORED], 1);
    assert_true(s_banned("8.8.4.4") && s_told("8.8.4.4"));
    assert_false(s_banned("10.0.0.53") || s_told("10.0.0.53"));
    assert_false(s_banned("8.8.8.8") || s_told("8.8.8.8"));
    const ban_t *b = act_known_ban(s_act, "8.8.4.4");
    assert_non_null(b);
    assert_string_equal(b->source, "manual_force");
}

static void test_trust_permanent_only_when_allowed(void **state)
{
    (void)state;
    s_cfg->actuator.allow_permanent_manual_bans = true;
    s_make();
    ac_cmd("HSET floodgate:ban:10.0.3.1 ip 10.0.3.1 source manual");
    ac_cmd("HSET floodgate:ban:10.0.3.2 ip 10.0.3.2 source detector");
    assert_int_equal(act_scan(s_act), 0);
    assert_int_equal(s_ttl("10.0.3.1"), -1);
    long long t = s_ttl("10.0.3.2");
    assert_true(t > 590 && t <= 600);
    assert_int_equal(s_stats().trust.fixes[TRUST_FIX_NO_TTL], 1);
}

/* new_bans_max per new_bans_window: forged decisions use it up, the rest
 * are refused (counted); a manual ban still works meanwhile; a real attack
 * is banned by its next report once the window frees. */
static void test_trust_new_bans_budget(void **state)
{
    (void)state;
    s_cfg->actuator.new_bans_max = 3;
    s_cfg->actuator.new_bans_window = 1;
    s_clock_ms = 5000000;
    s_make();
    char ip[32];
    for (int i = 1; i <= 20; i++) {
        snprintf(ip, sizeof(ip), "10.0.4.%d", i);
        Floodgate__Decision d = s_decision(ip, 600);
        s_send(&d);
    }
    act_stats_t st = s_stats();
    assert_int_equal(st.bans, 3);
    assert_int_equal(st.trust.decisions[TRUST_BAN_RATE], 17);
    redisReply *r = ac_redis("KEYS floodgate:ban:*");
    assert_int_equal(r->elements, 3);
    freeReplyObject(r);
    /* the operator acts while the budget is spent */
    ac_cmd("HSET floodgate:ban:10.0.5.1 ip 10.0.5.1 source manual");
    ac_cmd("EXPIRE floodgate:ban:10.0.5.1 300");
    assert_int_equal(act_scan(s_act), 0);
    assert_true(s_told("10.0.5.1"));
    /* the real attack, reported again (ONGOING) after the window */
    Floodgate__Decision d = s_decision("10.0.6.1", 600);
    s_send(&d);
    assert_false(s_banned("10.0.6.1"));
    d.action = FLOODGATE__ACTION__ONGOING;
    s_clock_ms += 999; /* the window (1 s) is not over yet */
    s_send(&d);
    assert_false(s_banned("10.0.6.1"));
    s_clock_ms += 1;
    s_send(&d);
    s_clock_ms = 0;
    assert_true(s_banned("10.0.6.1"));
    assert_true(s_told("10.0.6.1"));
}

/* Redis refusing writes (NOREPLICAS): the ban whose key write was refused
 * is announced at once and written later; that costs one ban of the
 * budget, not two, so a second victim within the budget is still banned. */
static bool s_both_written(void *arg)
{
    (void)arg;
    act_tick(s_act);
    return s_banned("10.0.4.1") && s_banned("10.0.4.2");
}

static void test_trust_budget_once_per_refused_write(void **state)
{
    (void)state;
    s_cfg->actuator.new_bans_max = 2;
    s_make();
    ac_cmd("CONFIG SET min-replicas-to-write 1");
    Floodgate__Decision d = s_decision("10.0.4.1", 600);
    s_send(&d);
    d = s_decision("10.0.4.2", 600);
    s_send(&d);
    assert_true(s_told("10.0.4.1"));
    assert_true(s_told("10.0.4.2")); /* announced: the budget had room for it */
    assert_int_equal(s_stats().trust.decisions[TRUST_BAN_RATE], 0);
    d = s_decision("10.0.4.3", 600); /* a third is over the budget */
    s_send(&d);
    assert_false(s_told("10.0.4.3"));
    ac_cmd("CONFIG SET min-replicas-to-write 0");
    assert_true(hn_wait_until(s_both_written, NULL, 10000));
    act_stats_t st = s_stats();
    assert_int_equal(st.bans, 2);
    assert_int_equal(st.trust.decisions[TRUST_BAN_RATE], 1);
    assert_false(s_banned("10.0.4.3"));
}

/* max_bans counts detector bans: manual bans neither count nor are
 * refused by it. */
static void test_trust_max_bans_leaves_manual_bans(void **state)
{
    (void)state;
    s_cfg->actuator.max_bans = 2;
    s_make();
    ac_cmd("HSET floodgate:ban:10.0.5.1 ip 10.0.5.1 source manual");
    ac_cmd("EXPIRE floodgate:ban:10.0.5.1 300");
    assert_int_equal(act_scan(s_act), 0);
    Floodgate__Decision d = s_decision("10.0.7.1", 600);
    s_send(&d);
    d = s_decision("10.0.7.2", 600);
    s_send(&d);
    d = s_decision("10.0.7.3", 600);
    s_send(&d);
    act_stats_t st = s_stats();
    assert_int_equal(st.bans, 2);
    assert_int_equal(st.refused_max_bans, 1);
    ac_cmd("HSET floodgate:ban:10.0.5.2 ip 10.0.5.2 source manual");
    ac_cmd("EXPIRE floodgate:ban:10.0.5.2 300");
    assert_int_equal(act_scan(s_act), 0);
    assert_true(s_told("10.0.5.2"));
    assert_int_equal(s_stats().known, 4);
}

/* A hold key without TTL (`redis-cli SET floodgate:hold:IP x`, the EX
 * forgotten) would refuse bans of the address forever: it is given the
 * hostgroup's max_ban_time (counted once), still refuses meanwhile, and the
 * address is banned again once it lapses. Another address is banned all
 * along. */
static void test_trust_hold_without_ttl_is_bounded(void **state)
{
    (void)state;
    s_make();
    ac_cmd("SET floodgate:hold:10.0.8.1 forever");
    Floodgate__Decision d = s_decision("10.0.8.1", 600);
    s_send(&d);
    s_send(&d);
    assert_false(s_banned("10.0.8.1"));
    long long pttl = ac_int("PTTL %s", "floodgate:hold:10.0.8.1");
    assert_true(pttl > 3590000 && pttl <= 3600000);
    act_stats_t st = s_stats();
    assert_int_equal(st.trust.fixes[TRUST_FIX_HOLD_NO_TTL], 1);
    assert_int_equal(st.trust.decisions[TRUST_HOLD], 2);
    d = s_decision("10.0.8.2", 600); /* the flood next door */
    s_send(&d);
    assert_true(s_banned("10.0.8.2"));
    ac_cmd("PEXPIRE floodgate:hold:10.0.8.1 1"); /* the hour passes */
    usleep(20000);
    d = s_decision("10.0.8.1", 600);
    s_send(&d);
    assert_true(s_banned("10.0.8.1"));
    assert_int_equal(s_stats().trust.fixes[TRUST_FIX_HOLD_NO_TTL], 1);
}

/* A known ban's key made permanent after adoption (PERSIST): once past its
 * expiry, the scan gives it the hostgroup's ban_time again. */
static bool s_wall_past(void *ms)
{
    return fg_now_ms() > *(uint64_t *)ms;
}

static void test_trust_persisted_key_gets_ttl_again(void **state)
{
    (void)state;
    s_make();
    ac_cmd("HSET floodgate:ban:10.0.8.1 ip 10.0.8.1 source manual");
    ac_cmd("EXPIRE floodgate:ban:10.0.8.1 1");
    assert_int_equal(act_scan(s_act), 0);
    assert_true(s_told("10.0.8.1"));
    ac_cmd("PERSIST floodgate:ban:10.0.8.1");
    /* the scan rechecks a known ban 2 s past the expiry it knows (1 s) */
    const ban_t *known = act_known_ban(s_act, "10.0.8.1");
    assert_non_null(known);
    uint64_t due = known->expires_ms + 2001;
    assert_true(due < fg_now_ms() + 4000);
    assert_true(hn_wait_until(s_wall_past, &due, 4000));
    assert_int_equal(act_scan(s_act), 0);
    long long t = s_ttl("10.0.8.1");
    assert_true(t > 590 && t <= 600);
    assert_int_equal(s_stats().trust.fixes[TRUST_FIX_NO_TTL], 1);
    const ban_t *b = act_known_ban(s_act, "10.0.8.1");
    assert_non_null(b);
    assert_true(b->expires_ms > (uint64_t)time(NULL) * 1000 + 590000);
}

/* Reload the config with 10.0.9.1 whitelisted, and recheck. */
static void s_reload_whitelisting_9_1(void)
{
    char path[512], text[1024], restart[256], err[512];
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
             "    whitelist = \"10.0.0.53/32, 10.0.9.1/32\"\n"
             "redis\n    address = 127.0.0.1:%d\nactuator\n    check_interval = 3600\n"
             "hostgroup\n    default\n        ban_time = 600\n        max_ban_time = 3600\n",
             ac_port);
    ac_write_config("floodgate.conf", text, path, sizeof(path));
    assert_true(fg_config_reload(s_cfg, restart, sizeof(restart), err, sizeof(err)) >= 0);
    act_recheck(s_act);
}

/* SIGHUP whitelists a banned address: the ban is lifted (key deleted,
 * route withdrawn); a forced ban outside the monitored networks stays. */
static void test_trust_reload_lifts_newly_whitelisted(void **state)
{
    (void)state;
    s_make();
    Floodgate__Decision d = s_decision("10.0.9.1", 600);
    s_send(&d);
    d = s_decision("10.0.9.2", 600);
    s_send(&d);
    ac_cmd("HSET floodgate:ban:8.8.4.4 ip 8.8.4.4 source manual_force");
    ac_cmd("EXPIRE floodgate:ban:8.8.4.4 300");
    assert_int_equal(act_scan(s_act), 0);
    assert_int_equal(s_rec->bans, 3);
    s_reload_whitelisting_9_1();
    assert_false(s_banned("10.0.9.1"));
    assert_null(act_known_ban(s_act, "10.0.9.1"));
    assert_int_equal(s_rec->unbans, 1);
    assert_true(s_banned("10.0.9.2") && s_banned("8.8.4.4"));
    assert_int_equal(s_stats().trust.keys[TRUST_WHITELISTED], 1);
}

static bool s_tick_9_2_written(void *arg)
{
    (void)arg;
    act_tick(s_act);
    return s_banned("10.0.9.2");
}

/* SIGHUP whitelists an address whose ban is announced while Redis refuses
 * writes: its route is withdrawn at once, and neither its announced ban nor
 * its queued decision writes a key once Redis accepts; the other victim's
 * ban is written. */
static void test_trust_reload_lifts_pending_ban(void **state)
{
    (void)state;
    s_make();
    ac_cmd("CONFIG SET min-replicas-to-write 1");
    Floodgate__Decision d = s_decision("10.0.9.1", 600);
    s_send(&d);
    d = s_decision("10.0.9.2", 600);
    s_send(&d);
    assert_int_equal(s_rec->bans, 2); /* announced at once */
    s_reload_whitelisting_9_1();
    assert_null(act_known_ban(s_act, "10.0.9.1"));
    assert_int_equal(s_rec->unbans, 1);
    ac_cmd("CONFIG SET min-replicas-to-write 0");
    assert_true(hn_wait_until(s_tick_9_2_written, NULL, 10000));
    assert_false(s_banned("10.0.9.1"));
    assert_int_equal(s_rec->bans, 2);
    assert_int_equal(s_rec->unbans, 1);
    assert_true(s_stats().trust.decisions[TRUST_WHITELISTED] >= 1);
}

static bool s_tick_9_1_lifted(void *arg)
{
    (void)arg;
    act_tick(s_act);
    return act_redis_up(s_act) && !s_banned("10.0.9.1");
}

/* SIGHUP whitelists a banned address while the actuator has lost Redis:
 * the ban is lifted by the first scan once Redis is back, not left in
 * force until it expires. */
static void test_trust_reload_while_redis_away(void **state)
{
    (void)state;
    s_make();
    Floodgate__Decision d = s_decision("10.0.9.1", 600);
    s_send(&d);
    d = s_decision("10.0.9.2", 600);
    s_send(&d);
    assert_true(s_banned("10.0.9.1") && s_banned("10.0.9.2"));
    ac_cmd("CLIENT KILL TYPE normal");
    s_clock_ms = fg_mono_ms() + 60000; /* its lease is due: the tick finds the connection gone */
    act_tick(s_act);
    s_clock_ms = 0;
    assert_false(act_redis_up(s_act));
    s_reload_whitelisting_9_1();
    assert_non_null(act_known_ban(s_act, "10.0.9.1")); /* nothing to check it against yet */
    assert_true(hn_wait_until(s_tick_9_1_lifted, NULL, 10000));
    assert_null(act_known_ban(s_act, "10.0.9.1"));
    assert_int_equal(s_rec->unbans, 1);
    assert_true(s_banned("10.0.9.2"));
    assert_int_equal(s_stats().trust.keys[TRUST_WHITELISTED], 1);
}

/* With allow_short_prefixes, a ban whose route (here a /24) would cover a
 * whitelisted address (10.0.0.53) is refused, decision or key; a flood in
 * another /24 is banned. */
static void test_trust_short_prefix_never_covers_whitelisted(void **state)
{
    (void)state;
    s_cfg->actuator.allow_short_prefixes = true;
    s_cfg->actuator.prefix_len_v4 = 24;
    s_make();
    Floodgate__Decision d = s_decision("10.0.0.7", 600);
    s_send(&d);
    assert_false(s_banned("10.0.0.7") || s_told("10.0.0.7"));
    assert_int_equal(s_stats().trust.decisions[TRUST_WHITELISTED], 1);
    ac_cmd("HSET floodgate:ban:10.0.0.8 ip 10.0.0.8 source manual");
    ac_cmd("EXPIRE floodgate:ban:10.0.0.8 300");
    assert_int_equal(act_scan(s_act), 0);
    assert_false(s_banned("10.0.0.8") || s_told("10.0.0.8"));
    assert_int_equal(s_stats().trust.keys[TRUST_WHITELISTED], 1);
    d = s_decision("10.0.4.1", 600);
    s_send(&d);
    assert_true(s_banned("10.0.4.1") && s_told("10.0.4.1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trust_wire_overflow_found),
#define T(f) cmocka_unit_test_setup_teardown(f, s_setup, s_teardown)
        T(test_trust_decisions_refused_by_reason),
        T(test_trust_decision_group_from_address),
        T(test_trust_keys_refused_or_corrected),
        T(test_trust_forced_ban_and_startup_checks),
        T(test_trust_permanent_only_when_allowed),
        T(test_trust_new_bans_budget),
        T(test_trust_budget_once_per_refused_write),
        T(test_trust_max_bans_leaves_manual_bans),
        T(test_trust_hold_without_ttl_is_bounded),
        T(test_trust_persisted_key_gets_ttl_again),
        T(test_trust_reload_lifts_newly_whitelisted),
        T(test_trust_reload_lifts_pending_ban),
        T(test_trust_reload_while_redis_away),
        T(test_trust_short_prefix_never_covers_whitelisted),
#undef T
    };
    return cmocka_run_group_tests(tests, ac_group_setup, ac_group_teardown);
}
