/* Unit tests: the actuator's store and decision logic against a real
 * redis-server (started on a free port in a temp dir), without the ZeroMQ
 * loop. */
#include <float.h>
#include <hiredis.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "actuator/act.h"
#include "common/fgjson.h"
#include "common/log.h"
#include "common/config.h"
#include "tests/harness.h"

#define AC_DIR "actuator"
#include "tests/acttest.h"


/* True when s is one complete JSON value. */
static bool s_json_valid(const char *s)
{
    json_t *v = fgjson_parse(s, 1u << 20);
    json_decref(v);
    return v != NULL;
}
static fg_config_t *s_cfg;
static act_t *s_act;

static ac_rec_t *s_rec;

/* ---- fixtures ---- */

/* A fresh database and config; the actuator is made by s_make(). */
static int s_setup(void **state)
{
    (void)state;
    char text[1024];
    freeReplyObject(ac_redis("FLUSHALL"));
    freeReplyObject(ac_redis("CONFIG SET notify-keyspace-events %s", ""));
    freeReplyObject(ac_redis("CONFIG SET min-replicas-to-write 0"));
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
             "    whitelist = \"10.0.0.53/32\"\n"
             "redis\n    address = 127.0.0.1:%d\nactuator\n    check_interval = 3600\n"
             "    history_max = 10\n    events_max = 1000\n",
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

static void s_make(bool notifications, bool start)
{
    act_opts_t o = act_opts_default();
    o.notifications = notifications;
    s_act = act_new(s_cfg, &o);
    assert_non_null(s_act);
    s_rec = ac_rec_add(s_act);
    if (start)
        assert_int_equal(act_start(s_act), 0);
}

/* ---- helpers ---- */

/* HGET floodgate:ban:<ip> field, the caller's to free, NULL when absent. */
static char *s_hget(const char *ip, const char *field)
{
    char key[128];
    snprintf(key, sizeof(key), "floodgate:ban:%s", ip);
    redisReply *r = ac_redis("HGET %s %s", key, field);
    char *v = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return v;
}

/* History entry idx of ip, the caller's to free, NULL when absent. */
static char *s_history(const char *ip, int idx)
{
    char key[128];
    snprintf(key, sizeof(key), "floodgate:history:%s", ip);
    redisReply *r = ac_redis("LINDEX %s %d", key, idx);
    char *v = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return v;
}

/* Field of the newest events stream entry, the caller's to free. */
static char *s_last_event(const char *field)
{
    redisReply *r = ac_redis("XREVRANGE floodgate:events + - COUNT 1");
    char *v = NULL;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        redisReply *kv = r->element[0]->element[1];
        for (size_t i = 0; i + 1 < kv->elements; i += 2)
            if (!strcmp(kv->element[i]->str, field))
                v = strdup(kv->element[i + 1]->str);
    }
    freeReplyObject(r);
    return v;
}

/* Entries of the events stream with event ev for ip. */
static size_t s_count_events(const char *ev, const char *ip)
{
    redisReply *r = ac_redis("XRANGE floodgate:events - +");
    size_t n = 0;
    for (size_t e = 0; r->type == REDIS_REPLY_ARRAY && e < r->elements; e++) {
        redisReply *kv = r->element[e]->element[1];
        bool is_ev = false, is_ip = false;
        for (size_t i = 0; i + 1 < kv->elements; i += 2) {
            is_ev |= !strcmp(kv->element[i]->str, "event") && !strcmp(kv->element[i + 1]->str, ev);
            is_ip |= !strcmp(kv->element[i]->str, "ip") && !strcmp(kv->element[i + 1]->str, ip);
        }
        n += is_ev && is_ip;
    }
    freeReplyObject(r);
    return n;
}

static void s_assert_contains(char *text, const char *needle)
{
    if (!text || !strstr(text, needle))
        fail_msg("\"%s\" not in \"%s\"", needle, text ? text : "(null)");
    free(text);
}

static Floodgate__Contributor s_top[2];
static Floodgate__Contributor *s_top_p[2] = {&s_top[0], &s_top[1]};
static Floodgate__Rates s_total;

/* A decision for ip with the attack details filled in. */
static Floodgate__Decision s_decision(const char *ip, int action, uint32_t ban_time,
                                      bool enable_ban)
{
    Floodgate__Decision d = FLOODGATE__DECISION__INIT;
    fg_addr_t a;
    assert_int_equal(fg_addr_parse(ip, &a), 0);
    floodgate__contributor__init(&s_top[0]);
    floodgate__contributor__init(&s_top[1]);
    floodgate__rates__init(&s_total);
    s_top[0].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR;
    s_top[0].key_lo = fg_addr_from_v4(0xC6336401).lo; /* 198.51.100.1 */
    s_top[0].share = 0.75;
    s_top[0].packets = 750;
    s_top[1].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT;
    s_top[1].key_lo = 53;
    s_top[1].share = 0.9;
    s_top[1].packets = 900;
    s_total.pps = 123456;
    s_total.bps = 1e9;
    s_total.fps = 10;
    d.addr_hi = a.hi;
    d.addr_lo = a.lo;
    d.action = action;
    d.attack_type = "amplification:dns";
    d.direction = FLOODGATE__DIRECTION__DIR_IN;
    d.metric = "pps";
    d.value = 123456;
    d.threshold = 20000;
    d.hostgroup = "default";
    d.n_top = 2;
    d.top = s_top_p;
    d.first_seen_ms = 1700000000000ULL;
    d.decided_ms = 1700000002000ULL;
    d.ban_time = ban_time;
    d.total = &s_total;
    d.enable_ban = enable_ban;
    return d;
}

static void s_decide(const char *ip, int action, uint32_t ban_time)
{
    Floodgate__Decision d = s_decision(ip, action, ban_time, true);
    assert_int_equal(act_decision(s_act, &d), 0);
}

static act_stats_t s_stats(void)
{
    act_stats_t st;
    act_get_stats(s_act, &st);
    return st;
}

/* Feed keyspace events to the actuator until cond holds (at most ms). */
static bool s_pump_events(bool (*cond)(void), int ms)
{
    uint64_t end = hn_ms() + (uint64_t)ms;
    while (!cond() && hn_ms() < end) {
        struct pollfd p = {act_sub_fd(s_act), POLLIN, 0};
        assert_true(p.fd >= 0);
        if (poll(&p, 1, 50) > 0)
            act_sub_ready(s_act);
    }
    return cond();
}

static bool s_one_unban(void)
{
    act_stats_t st = s_stats();
    return st.unbans_expired + st.unbans_deleted >= 1;
}

/* ---- tests ---- */

static void test_actuator_ban_writes_hash_history_event(void **state)
{
    (void)state;
    static const char *fields[] = {"ip",        "attack_type", "direction", "metric",
                                   "value",     "threshold",   "hostgroup", "source",
                                   "banned_at", "expires_at",  "ban_count", "details"};
    s_make(false, true);
    s_decide("10.0.0.5", FLOODGATE__ACTION__BAN, 600);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        char *v = s_hget("10.0.0.5", fields[i]);
        if (!v)
            fail_msg("field %s missing", fields[i]);
        free(v);
    }
    long long ttl = ac_int("TTL %s", "floodgate:ban:10.0.0.5");
    assert_true(ttl >= 598 && ttl <= 600);
    s_assert_contains(s_hget("10.0.0.5", "ip"), "10.0.0.5");
    s_assert_contains(s_hget("10.0.0.5", "direction"), "incoming");
    s_assert_contains(s_hget("10.0.0.5", "source"), "detector");
    s_assert_contains(s_hget("10.0.0.5", "ban_count"), "1");
    s_assert_contains(s_hget("10.0.0.5", "attack_type"), "amplification:dns");
    char *banned = s_hget("10.0.0.5", "banned_at"), *expires = s_hget("10.0.0.5", "expires_at");
    int64_t b, e;
    assert_int_equal(ban_parse_time(banned, &b), 0);
    assert_int_equal(ban_parse_time(expires, &e), 0);
    assert_int_equal(e - b, 600);
    free(banned);
    free(expires);
    char *details = s_hget("10.0.0.5", "details");
    assert_true(s_json_valid(details));
    s_assert_contains(details, "\"key\":\"198.51.100.1\"");
    char *line = s_history("10.0.0.5", 0);
    assert_true(s_json_valid(line));
    s_assert_contains(line, "\"event\":\"ban\"");
    s_assert_contains(s_last_event("event"), "ban");
    s_assert_contains(s_last_event("ip"), "10.0.0.5");
    assert_int_equal(s_stats().bans, 1);
    assert_int_equal(s_rec->bans, 1);
    assert_non_null(act_known_ban(s_act, "10.0.0.5"));
}

/* A carpet bombing ban keeps the prefix that held the attack, the host's
 * usual rate and the prefix's bans so far in its details; a prefix that is
 * not one (bytes from the wire) is left out and the ban still made. */
static void test_actuator_ban_network_prefix_in_details(void **state)
{
    (void)state;
    s_make(false, true);
    Floodgate__Decision d = s_decision("10.0.201.7", FLOODGATE__ACTION__BAN, 600, true);
    d.metric = "network_pps";
    d.attack_prefix = "10.0.201.0/24";
    d.baseline = 1000;
    d.prefix_bans = 3;
    assert_int_equal(act_decision(s_act, &d), 0);
    char *details = s_hget("10.0.201.7", "details");
    assert_true(s_json_valid(details));
    s_assert_contains(details,
                      "\"network\":{\"prefix\":\"10.0.201.0/24\",\"usual\":1000,\"prefix_bans\":3}");
    d = s_decision("10.0.201.8", FLOODGATE__ACTION__BAN, 600, true);
    d.metric = "network_pps";
    d.attack_prefix = "10.0.201.0/24\",\"forged\":\"1";
    assert_int_equal(act_decision(s_act, &d), 0);
    details = s_hget("10.0.201.8", "details");
    assert_true(s_json_valid(details));
    assert_null(strstr(details, "network"));
    assert_null(strstr(details, "forged"));
    free(details);
    /* a plain ban has no network part */
    s_decide("10.0.0.5", FLOODGATE__ACTION__BAN, 600);
    details = s_hget("10.0.0.5", "details");
    assert_null(strstr(details, "\"network\""));
    free(details);
}

static void test_actuator_ongoing_while_banned_does_nothing(void **state)
{
    (void)state;
    s_make(false, true);
    s_decide("10.0.0.6", FLOODGATE__ACTION__BAN, 600);
    freeReplyObject(ac_redis("EXPIRE floodgate:ban:10.0.0.6 500"));
    s_decide("10.0.0.6", FLOODGATE__ACTION__ONGOING, 600);
    s_decide("10.0.0.6", FLOODGATE__ACTION__BAN, 600);
    act_stats_t st = s_stats();
    assert_int_equal(st.bans, 1);
    assert_int_equal(st.ongoing, 1);
    assert_int_equal(st.already_banned, 1);
    assert_true(ac_int("TTL %s", "floodgate:ban:10.0.0.6") <= 500); /* TTL untouched */
    assert_int_equal(ac_int("LLEN %s", "floodgate:history:10.0.0.6"), 1);
    assert_int_equal(s_rec->bans, 1);
}

static void test_actuator_ongoing_after_key_vanished_bans_again(void **state)
{
    (void)state;
    s_make(false, true);
    s_decide("10.0.0.7", FLOODGATE__ACTION__BAN, 600);
    freeReplyObject(ac_redis("DEL floodgate:ban:10.0.0.7"));
    s_decide("10.0.0.7", FLOODGATE__ACTION__ONGOING, 600);
    act_stats_t st = s_stats();
    assert_int_equal(st.bans, 2);
    assert_int_equal(st.unbans_deleted, 1);
    s_assert_contains(s_hget("10.0.0.7", "ban_count"), "2");
    s_assert_contains(s_history("10.0.0.7", 0), "\"ban_count\":2");
    s_assert_contains(s_history("10.0.0.7", 1), "\"event\":\"unban\"");
    assert_int_equal(s_rec->unbans, 1);
    assert_int_equal(s_rec->bans, 2);
}

static void test_actuator_detect_only_writes_no_key(void **state)
{
    (void)state;
    s_make(false, true);
    Floodgate__Decision d = s_decision("10.0.0.8", FLOODGATE__ACTION__BAN, 600, false);
    assert_int_equal(act_decision(s_act, &d), 0);
    assert_int_equal(ac_int("EXISTS %s", "floodgate:ban:10.0.0.8"), 0);
    s_assert_contains(s_last_event("event"), "detect_only");
    assert_int_equal(s_stats().detect_only, 1);
    assert_int_equal(s_rec->bans, 0);
}

/* A runaway (or forged) detector repeats its detect-only BAN: one event
 * per attack, every report counted; an attack after a silence longer than
 * its ban_time is a new one. A real ban next door is still made. */
static void test_actuator_detect_only_one_event_per_attack(void **state)
{
    (void)state;
    s_make(false, true);
    Floodgate__Decision d = s_decision("10.0.0.8", FLOODGATE__ACTION__BAN, 600, false);
    for (int i = 0; i < 50; i++)
        assert_int_equal(act_decision(s_act, &d), 0);
    d = s_decision("10.0.0.8", FLOODGATE__ACTION__ONGOING, 600, false);
    assert_int_equal(act_decision(s_act, &d), 0);
    assert_int_equal(s_count_events("detect_only", "10.0.0.8"), 1);
    assert_int_equal(s_stats().detect_only, 50);
    s_decide("10.0.0.9", FLOODGATE__ACTION__BAN, 600); /* the flood that bans */
    assert_int_equal(ac_int("EXISTS %s", "floodgate:ban:10.0.0.9"), 1);
    assert_int_equal(s_rec->bans, 1);
    d = s_decision("10.0.0.10", FLOODGATE__ACTION__BAN, 1, false);
    assert_int_equal(act_decision(s_act, &d), 0);
    assert_int_equal(act_decision(s_act, &d), 0);
    usleep(1100 * 1000); /* the attack ended (no report for ban_time) */
    assert_int_equal(act_decision(s_act, &d), 0);
    assert_int_equal(s_count_events("detect_only", "10.0.0.10"), 2);
    assert_int_equal(ac_int("EXISTS %s", "floodgate:ban:10.0.0.8"), 0);
}

static void test_actuator_malformed_message_counted(void **state)
{
    (void)state;
    s_make(false, true);
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    assert_int_equal(act_message(s_act, junk, sizeof(junk)), -1);
    Floodgate__Decision d = s_decision("10.0.0.9", 7, 600, true);
    assert_int_equal(act_decision(s_act, &d), -1);
    assert_int_equal(s_stats().malformed, 2);
    assert_int_equal(s_stats().decisions, 2);
}

static void test_actuator_whitelisted_never_banned(void **state)
{
    (void)state;
    s_make(false, true);
    s_decide("10.0.0.53", FLOODGATE__ACTION__BAN, 600);
    assert_int_equal(ac_int("EXISTS %s", "floodgate:ban:10.0.0.53"), 0);
    assert_int_equal(s_stats().whitelisted, 1);
}

static void test_actuator_manual_key_adopted(void **state)
{
    (void)state;
    s_make(false, true);
    freeReplyObject(ac_redis("HSET floodgate:ban:10.0.1.1 ip 10.0.1.1 attack_type manual"));
    freeReplyObject(ac_redis("EXPIRE floodgate:ban:10.0.1.1 300"));
    freeReplyObject(ac_redis("HSET floodgate:ban:10.0.01.1 ip bad")); /* not canonical */
    assert_int_equal(act_scan(s_act), 0);
    act_stats_t st = s_stats();
    assert_int_equal(st.manual_adopted, 1);
    assert_int_equal(st.bad_keys, 1);
    assert_int_equal(s_rec->bans, 1);
    assert_string_equal(s_rec->last_source, "manual");
    s_assert_contains(s_last_event("source"), "manual");
    s_assert_contains(s_history("10.0.1.1", 0), "\"source\":\"manual\"");
    const ban_t *b = act_known_ban(s_act, "10.0.1.1");
    assert_non_null(b);
    assert_true(b->expires_ms > 0);
    assert_int_equal(act_scan(s_act), 0); /* known now: no second adoption */
    assert_int_equal(s_stats().manual_adopted, 1);
}

static void test_actuator_startup_adopts_silently(void **state)
{
    (void)state;
    freeReplyObject(ac_redis("HSET floodgate:ban:10.0.1.2 ip 10.0.1.2 source detector"));
    freeReplyObject(ac_redis("EXPIRE floodgate:ban:10.0.1.2 300"));
    s_make(false, true);
    act_stats_t st = s_stats();
    assert_int_equal(st.adopted_at_start, 1);
    assert_int_equal(st.manual_adopted, 0);
    assert_int_equal(s_rec->bans, 0);
    assert_int_equal(s_rec->syncs, 1);
    assert_int_equal(s_rec->synced, 1);
    assert_int_equal(ac_int("EXISTS %s", "floodgate:events"), 0);
}

static void test_actuator_del_unbans_deleted_by_notification(void **state)
{
    (void)state;
    s_make(true, true);
    assert_true(act_sub_fd(s_act) >= 0);
    s_decide("10.0.2.1", FLOODGATE__ACTION__BAN, 600);
    freeReplyObject(ac_redis("DEL floodgate:ban:10.0.2.1"));
    assert_true(s_pump_events(s_one_unban, 3000));
    assert_int_equal(s_stats().unbans_deleted, 1);
    assert_string_equal(s_rec->last_reason, "deleted");
    s_assert_contains(s_history("10.0.2.1", 0), "\"reason\":\"deleted\"");
    s_assert_contains(s_last_event("event"), "unban");
    s_assert_contains(s_last_event("reason"), "deleted");
    assert_null(act_known_ban(s_act, "10.0.2.1"));
}

static void test_actuator_expiry_unbans_by_notification(void **state)
{
    (void)state;
    s_make(true, true);
    s_decide("10.0.2.2", FLOODGATE__ACTION__BAN, 2);
    uint64_t t0 = hn_ms();
    assert_true(s_pump_events(s_one_unban, 6000));
    assert_true(hn_ms() - t0 >= 1500);
    assert_int_equal(s_stats().unbans_expired, 1);
    assert_string_equal(s_rec->last_reason, "expired");
    s_assert_contains(s_history("10.0.2.2", 0), "\"reason\":\"expired\"");
}

static bool s_key_gone(void *arg)
{
    return ac_int("EXISTS %s", arg) == 0;
}

static void test_actuator_expiry_unbans_by_scan(void **state)
{
    (void)state;
    s_make(false, true);
    assert_int_equal(act_sub_fd(s_act), -1);
    s_decide("10.0.2.3", FLOODGATE__ACTION__BAN, 2);
    assert_true(hn_wait_until(s_key_gone, "floodgate:ban:10.0.2.3", 6000));
    assert_int_equal(act_scan(s_act), 0);
    assert_int_equal(s_stats().unbans_expired, 1);
    assert_string_equal(s_rec->last_reason, "expired");
    s_assert_contains(s_history("10.0.2.3", 0), "\"reason\":\"expired\"");
}

static void test_actuator_del_unbans_deleted_by_scan(void **state)
{
    (void)state;
    s_make(false, true);
    s_decide("10.0.2.4", FLOODGATE__ACTION__BAN, 600);
    freeReplyObject(ac_redis("DEL floodgate:ban:10.0.2.4"));
    assert_int_equal(act_scan(s_act), 0);
    assert_int_equal(s_stats().unbans_deleted, 1);
    assert_string_equal(s_rec->last_reason, "deleted");
}

static void test_actuator_ipv6_key(void **state)
{
    (void)state;
    s_make(false, true);
    s_decide("2001:db8:100::1", FLOODGATE__ACTION__BAN, 600);
    assert_int_equal(ac_int("EXISTS %s", "floodgate:ban:2001:db8:100::1"), 1);
    s_assert_contains(s_hget("2001:db8:100::1", "ip"), "2001:db8:100::1");
    freeReplyObject(ac_redis("DEL floodgate:ban:2001:db8:100::1"));
    assert_int_equal(act_scan(s_act), 0);
    assert_int_equal(s_stats().unbans_deleted, 1);
}

static void test_actuator_script_backend_runs_ban_and_unban(void **state)
{
    (void)state;
    char body[1024], path[512];
    snprintf(path, sizeof(path), "%s/notify.sh", ac_dir);
    snprintf(body, sizeof(body), "#!/bin/sh\necho \"$@\" >> %s/calls\ncat >> %s/calls\necho >> %s/calls\n",
             ac_dir, ac_dir, ac_dir);
    hn_write_file(path, body);
    chmod(path, 0755);
    snprintf(s_cfg->actuator.notify_script, sizeof(s_cfg->actuator.notify_script), "%s", path);
    s_make(false, true);
    backend_t *script = backend_script_new(s_cfg);
    assert_non_null(script);
    assert_int_equal(act_add_backend(s_act, &script), 0);
    s_decide("10.0.4.1", FLOODGATE__ACTION__BAN, 600);
    freeReplyObject(ac_redis("DEL floodgate:ban:10.0.4.1"));
    assert_int_equal(act_scan(s_act), 0);
    act_wait_backends(s_act, 5000);
    snprintf(path, sizeof(path), "%s/calls", ac_dir);
    char *calls = hn_read_file(path);
    assert_non_null(calls);
    assert_non_null(strstr(calls, "10.0.4.1 incoming 123456 ban\n{\"event\":\"ban\""));
    assert_non_null(strstr(calls, "10.0.4.1 incoming 123456 unban\n{\"event\":\"unban\""));
    assert_non_null(strstr(calls, "\"reason\":\"deleted\""));
    assert_non_null(strstr(calls, "\"top\":[{\"kind\":\"src_addr\""));
    free(calls);
    unlink(path);
}

static void test_actuator_config_refused_falls_back_to_scan(void **state)
{
    (void)state;
    /* An ACL user that may do everything but CONFIG: AUTH with user and
     * password works, notifications cannot be enabled, the scan still sees
     * the unban. */
    freeReplyObject(ac_redis("ACL SETUSER fgtest on >s3cret ~* &* +@all -config"));
    snprintf(s_cfg->redis.user, sizeof(s_cfg->redis.user), "fgtest");
    snprintf(s_cfg->redis.password, sizeof(s_cfg->redis.password), "s3cret");
    s_make(true, true);
    s_decide("10.0.5.1", FLOODGATE__ACTION__BAN, 600);
    assert_int_equal(s_stats().bans, 1);
    redisReply *r = ac_redis("CONFIG GET notify-keyspace-events");
    assert_string_equal(r->element[1]->str, ""); /* left as it was */
    freeReplyObject(r);
    freeReplyObject(ac_redis("DEL floodgate:ban:10.0.5.1"));
    assert_int_equal(act_scan(s_act), 0);
    assert_int_equal(s_stats().unbans_deleted, 1);
    freeReplyObject(ac_redis("ACL DELUSER fgtest"));
}

static bool s_applied(void *arg)
{
    (void)arg;
    act_tick(s_act);
    return s_stats().bans == 1;
}

static void test_actuator_redis_down_queues_then_applies(void **state)
{
    (void)state;
    s_make(true, true);
    hn_stop(ac_redis_pid, 3000);
    uint64_t t0 = hn_ms();
    s_decide("10.0.3.1", FLOODGATE__ACTION__BAN, 600);
    s_decide("10.0.3.1", FLOODGATE__ACTION__ONGOING, 600);
    act_tick(s_act);
    assert_true(hn_ms() - t0 < 1500); /* never blocked for long */
    act_stats_t st = s_stats();
    assert_int_equal(st.bans, 0);
    assert_int_equal(st.queue_depth, 1); /* the ONGOING joins the BAN that waits */
    assert_int_equal(st.queue_coalesced, 1);
    ac_redis_pid = hn_redis_start(ac_dir, ac_port, false);
    assert_true(hn_wait_until(s_applied, NULL, 10000));
    assert_int_equal(ac_int("EXISTS %s", "floodgate:ban:10.0.3.1"), 1);
    st = s_stats();
    assert_int_equal(st.queue_depth, 0);
    assert_true(act_sub_fd(s_act) >= 0); /* subscribed again */
}

static bool s_written(void *ip)
{
    char key[64];
    act_tick(s_act);
    snprintf(key, sizeof(key), "floodgate:ban:%s", (const char *)ip);
    return s_stats().queue_depth == 0 && ac_int("EXISTS %s", key) == 1;
}

static bool s_expired(void *key)
{
    return ac_int("EXISTS %s", key) == 0;
}

static void test_actuator_refusal_routed_now_written_later(void **state)
{
    (void)state;
    char why[128];
    s_make(false, true);
    s_decide("10.0.3.8", FLOODGATE__ACTION__BAN, 1);
    /* no replica: every write is refused with NOREPLICAS, reads work */
    freeReplyObject(ac_redis("CONFIG SET min-replicas-to-write 1"));
    s_decide("10.0.3.5", FLOODGATE__ACTION__BAN, 600);
    if (!hn_wait_until(s_expired, "floodgate:ban:10.0.3.8", 5000)) /* its 1 s in Redis */
        fail_msg("the 1 s ban of 10.0.3.8 did not expire within 5 s");
    assert_int_equal(act_scan(s_act), 0); /* 10.0.3.8 expired: its unban record waits */
    assert_int_equal(s_stats().unbans_expired, 1);
    act_stats_t st = s_stats();
    assert_int_equal(st.bans, 1);
    assert_int_equal(st.provisional, 1);
    assert_int_equal(st.queue_depth, 2);
    assert_true(st.redis_refusals >= 1);
    assert_int_equal(st.redis_writable, 0);
    assert_int_equal(s_rec->bans, 2); /* routed at once */
    assert_int_equal(act_redis_health(s_act, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "NOREPLICAS"));
    assert_int_equal(act_scan(s_act), 0); /* its key is missing: not withdrawn */
    for (int i = 0; i < 5; i++)
        act_tick(s_act);
    assert_int_equal(s_rec->unbans, 1); /* 10.0.3.8 only */
    assert_int_equal(ac_int("EXISTS %s", "floodgate:ban:10.0.3.5"), 0);
    freeReplyObject(ac_redis("CONFIG SET min-replicas-to-write 0"));
    assert_true(hn_wait_until(s_written, "10.0.3.5", 10000));
    long long ttl = ac_int("PTTL %s", "floodgate:ban:10.0.3.5");
    assert_true(ttl > 590000 && ttl <= 600000);
    assert_int_equal(s_stats().bans, 2);
    assert_int_equal(s_rec->bans, 2); /* not announced twice */
    assert_int_equal(s_rec->unbans, 1);
    assert_int_equal(act_redis_health(s_act, why, sizeof(why)), 0);
    s_assert_contains(s_history("10.0.3.5", 0), "\"event\":\"ban\"");
    s_assert_contains(s_history("10.0.3.8", 0), "\"event\":\"unban\""); /* kept, not lost */
}

static bool s_restored_two(void *arg)
{
    (void)arg;
    struct pollfd p = {act_sub_fd(s_act), POLLIN, 0};
    if (p.fd >= 0 && poll(&p, 1, 0) > 0)
        act_sub_ready(s_act); /* the subscription sees the restart, as in the daemon */
    act_tick(s_act);
    return s_stats().restored == 2;
}

static void test_actuator_redis_empty_restores_flush_unbans(void **state)
{
    (void)state;
    s_make(true, true);
    s_decide("10.0.3.6", FLOODGATE__ACTION__BAN, 600);
    s_decide("10.0.3.7", FLOODGATE__ACTION__BAN, 100);
    assert_int_equal(s_stats().bans, 2);
    hn_stop(ac_redis_pid, 3000); /* no persistence: back empty, new run_id */
    ac_redis_pid = hn_redis_start(ac_dir, ac_port, false);
    assert_true(hn_wait_until(s_restored_two, NULL, 10000));
    long long ttl = ac_int("PTTL %s", "floodgate:ban:10.0.3.7");
    assert_true(ttl > 90000 && ttl <= 100000); /* the time it had left */
    assert_int_equal(s_rec->unbans, 0);
    assert_int_equal(s_stats().redis_data_lost, 1);
    s_assert_contains(s_history("10.0.3.7", 0), "\"event\":\"restore\"");
    /* the same Redis emptied by hand (same identity): unbans */
    freeReplyObject(ac_redis("FLUSHALL"));
    assert_int_equal(act_scan(s_act), 0);
    assert_int_equal(s_rec->unbans, 2);
    assert_int_equal(s_stats().unbans_deleted, 2);
    assert_int_equal(s_stats().redis_data_lost, 1);
}

static bool s_restored_one(void *arg)
{
    (void)arg;
    struct pollfd p = {act_sub_fd(s_act), POLLIN, 0};
    if (p.fd >= 0 && poll(&p, 1, 0) > 0)
        act_sub_ready(s_act);
    act_tick(s_act);
    return s_stats().restored == 1;
}

/* Redis back with some of the bans only (the last writes lost in a crash,
 * or not yet replicated before a failover): the lost one is written back
 * with the time it had left, not unbanned; the one still there is kept. */
static void test_actuator_redis_partial_loss_restores(void **state)
{
    (void)state;
    s_make(true, true);
    s_decide("10.0.3.6", FLOODGATE__ACTION__BAN, 600);
    s_decide("10.0.3.7", FLOODGATE__ACTION__BAN, 100);
    assert_int_equal(s_stats().bans, 2);
    redisReply *d = ac_redis("DUMP %s", "floodgate:ban:10.0.3.6");
    assert_int_equal(d->type, REDIS_REPLY_STRING);
    long long ttl6 = ac_int("PTTL %s", "floodgate:ban:10.0.3.6");
    hn_stop(ac_redis_pid, 3000); /* a new instance, with 10.0.3.6 only */
    ac_redis_pid = hn_redis_start(ac_dir, ac_port, false);
    freeReplyObject(ac_redis("RESTORE %s %lld %b", "floodgate:ban:10.0.3.6", ttl6, d->str,
                            (size_t)d->len));
    freeReplyObject(d);
    assert_true(hn_wait_until(s_restored_one, NULL, 10000));
    long long ttl = ac_int("PTTL %s", "floodgate:ban:10.0.3.7");
    assert_true(ttl > 90000 && ttl <= 100000); /* the time it had left */
    assert_int_equal(s_rec->unbans, 0);
    assert_int_equal(s_stats().redis_data_lost, 1);
    s_assert_contains(s_history("10.0.3.7", 0), "\"event\":\"restore\"");
    assert_int_equal(ac_int("EXISTS %s", "floodgate:ban:10.0.3.6"), 1);
}

static void test_actuator_queue_overflow_counted(void **state)
{
    (void)state;
    act_opts_t o = act_opts_default();
    o.queue_max = 2;
    o.notifications = false;
    s_act = act_new(s_cfg, &o);
    assert_non_null(s_act); /* never started: Redis "down" */
    s_decide("10.0.3.2", FLOODGATE__ACTION__BAN, 600);
    s_decide("10.0.3.3", FLOODGATE__ACTION__BAN, 600);
    s_decide("10.0.3.4", FLOODGATE__ACTION__BAN, 600);
    s_decide("10.0.3.2", FLOODGATE__ACTION__ONGOING, 600); /* waits already: not queued */
    assert_int_equal(s_stats().queue_depth, 2);
    assert_int_equal(s_stats().queue_dropped, 1);
    assert_int_equal(s_stats().queue_coalesced, 1);
}


static void test_actuator_ongoing_low_ttl_renews_route_kept(void **state)
{
    (void)state;
    s_make(false, true);
    s_decide("10.0.6.1", FLOODGATE__ACTION__BAN, 600);
    freeReplyObject(ac_redis("EXPIRE floodgate:ban:10.0.6.1 30")); /* < renew_before 60 */
    s_decide("10.0.6.1", FLOODGATE__ACTION__ONGOING, 600);
    act_stats_t st = s_stats();
    assert_int_equal(st.renewed, 1);
    assert_int_equal(st.bans, 1);
    long long ttl = ac_int("TTL %s", "floodgate:ban:10.0.6.1");
    assert_true(ttl >= 598 && ttl <= 600);
    s_assert_contains(s_hget("10.0.6.1", "ban_count"), "2");
    s_assert_contains(s_history("10.0.6.1", 0), "\"event\":\"renew\"");
    s_assert_contains(s_last_event("event"), "renew");
    s_assert_contains(s_last_event("repeat_offender"), "1"); /* banned minutes ago */
    assert_int_equal(s_rec->bans, 1); /* the route was neither re-announced... */
    assert_int_equal(s_rec->unbans, 0); /* ...nor withdrawn */
    assert_int_equal(act_known_ban(s_act, "10.0.6.1")->ban_count, 2);
    /* plenty of TTL left: an ONGOING changes nothing */
    s_decide("10.0.6.1", FLOODGATE__ACTION__ONGOING, 600);
    assert_int_equal(s_stats().renewed, 1);
    assert_int_equal(s_stats().ongoing, 1);
}

static void test_actuator_lift_policy_never_renews(void **state)
{
    (void)state;
    snprintf(s_cfg->actuator.renewal, sizeof(s_cfg->actuator.renewal), "lift");
    s_make(false, true);
    s_decide("10.0.6.2", FLOODGATE__ACTION__BAN, 600);
    freeReplyObject(ac_redis("EXPIRE floodgate:ban:10.0.6.2 30"));
    s_decide("10.0.6.2", FLOODGATE__ACTION__ONGOING, 600);
    assert_int_equal(s_stats().renewed, 0);
    assert_true(ac_int("TTL %s", "floodgate:ban:10.0.6.2") <= 30);
    /* a ban that expires: lifted and withdrawn, the next detection bans again */
    s_decide("10.0.6.12", FLOODGATE__ACTION__BAN, 1);
    assert_true(hn_wait_until(s_key_gone, "floodgate:ban:10.0.6.12", 5000));
    s_decide("10.0.6.12", FLOODGATE__ACTION__ONGOING, 600);
    assert_int_equal(s_stats().renewed, 0);
    assert_int_equal(s_stats().unbans_expired, 1);
    assert_int_equal(s_rec->unbans, 1);
    assert_string_equal(s_rec->last_reason, "expired");
    assert_int_equal(s_stats().bans, 3);
    assert_int_equal(s_rec->bans, 3);
    s_assert_contains(s_hget("10.0.6.12", "ban_count"), "2");
}

static void test_actuator_renews_just_after_expiry_without_withdraw(void **state)
{
    (void)state;
    s_make(false, true);
    s_decide("10.0.6.3", FLOODGATE__ACTION__BAN, 1);
    assert_true(hn_wait_until(s_key_gone, "floodgate:ban:10.0.6.3", 5000));
    /* the ONGOING arrives before the expiry was handled */
    s_decide("10.0.6.3", FLOODGATE__ACTION__ONGOING, 600);
    assert_int_equal(s_stats().renewed, 1);
    assert_int_equal(s_stats().unbans_expired, 0);
    assert_int_equal(ac_int("EXISTS %s", "floodgate:ban:10.0.6.3"), 1);
    s_assert_contains(s_hget("10.0.6.3", "ban_count"), "2");
    s_assert_contains(s_hget("10.0.6.3", "source"), "detector");
    assert_int_equal(act_scan(s_act), 0); /* the key is back: nothing to unban */
    assert_int_equal(s_rec->unbans, 0);
    assert_int_equal(s_rec->bans, 1);
}

/* A history line is read as JSON: its own "event" and "ban_count" count,
 * never the same bytes inside its details (an unban whose details embed an
 * old ban line, a hand-written line with details first). */
static void test_actuator_history_event_in_details_not_counted(void **state)
{
    (void)state;
    ban_hist_t h;
    static const char line[] =
        "{\"details\":{\"event\":\"ban\",\"ban_count\":99,\"note\":\"\\\"event\\\":\\\"ban\\\"\"},"
        "\"event\":\"unban\",\"at\":\"2026-11-27T10:41:42Z\",\"ban_count\":3}";
    assert_int_equal(ban_hist_parse(line, &h), 0);
    assert_string_equal(h.event, "unban");
    assert_int_equal(h.ban_count, 3);
    assert_int_equal(h.at, 1795776102);
    assert_int_equal(ban_hist_parse("\"event\":\"ban\"", &h), -1);
    assert_int_equal(ban_hist_parse("{\"event\":\"hold\",\"ban_count\":\"4\"}", &h), 0);
    assert_int_equal(h.ban_count, 4); /* a hand-written count as a string */
    /* details.total.pps, not the first "pps" in the text */
    assert_true(ban_details_pps("{\"top\":[{\"pps\":999}],\"total\":{\"pps\":5}}") == 5);
    assert_true(ban_details_pps("{\"note\":\"\\\"pps\\\":7\"}") == -1);
    assert_true(ban_details_pps("{\"total\":{\"pps\":-3}}") == -1);
    assert_true(ban_details_pps("not json") == -1);
    assert_true(ban_details_pps(NULL) == -1);
    assert_int_equal(ban_hist_parse("{\"event\":\"ban\",\"ban_count\":-1,\"at\":1}", &h), 0);
    assert_string_equal(h.event, "ban");
    assert_int_equal(h.ban_count, 0);
    assert_int_equal(h.at, 0);
    /* in Redis: an unban stamped now whose details say "event":"ban" is no
     * recent ban, so the next ban of that host is no repeat offence */
    s_make(false, true);
    char at[BAN_TIME_STRLEN], text[512];
    ban_format_time((int64_t)(fg_now_ms() / 1000), at);
    snprintf(text, sizeof(text),
             "{\"event\":\"unban\",\"at\":\"%s\",\"ban_count\":2,\"details\":"
             "{\"event\":\"ban\",\"at\":\"%s\",\"ban_count\":7}}", at, at);
    freeReplyObject(ac_redis("LPUSH floodgate:history:10.0.6.9 %s", text));
    s_decide("10.0.6.9", FLOODGATE__ACTION__BAN, 600);
    s_assert_contains(s_last_event("recent_bans"), "0");
    s_assert_contains(s_last_event("repeat_offender"), "0");
    s_assert_contains(s_hget("10.0.6.9", "ban_count"), "3");
}

static void test_actuator_repeat_offender_flagged(void **state)
{
    (void)state;
    s_make(false, true);
    s_decide("10.0.6.4", FLOODGATE__ACTION__BAN, 600);
    s_assert_contains(s_last_event("repeat_offender"), "0");
    s_assert_contains(s_history("10.0.6.4", 0), "\"repeat_offender\":false");
    freeReplyObject(ac_redis("DEL floodgate:ban:10.0.6.4"));
    assert_int_equal(act_scan(s_act), 0);
    s_decide("10.0.6.4", FLOODGATE__ACTION__BAN, 600);
    s_assert_contains(s_last_event("repeat_offender"), "1");
    s_assert_contains(s_last_event("recent_bans"), "1");
    s_assert_contains(s_history("10.0.6.4", 0), "\"repeat_offender\":true");
    assert_int_equal(s_stats().repeat_offenders, 1);
    /* a ban older than the window does not count */
    s_cfg->actuator.repeat_window = 0;
    freeReplyObject(ac_redis("DEL floodgate:ban:10.0.6.4"));
    assert_int_equal(act_scan(s_act), 0);
    s_decide("10.0.6.4", FLOODGATE__ACTION__BAN, 600);
    s_assert_contains(s_last_event("repeat_offender"), "0");
}

static void test_actuator_max_bans_refused_and_alerted(void **state)
{
    (void)state;
    s_cfg->actuator.max_bans = 2;
    s_make(false, true);
    s_decide("10.0.7.1", FLOODGATE__ACTION__BAN, 600);
    s_decide("10.0.7.2", FLOODGATE__ACTION__BAN, 600);
    s_decide("10.0.7.3", FLOODGATE__ACTION__BAN, 600);
    act_stats_t st = s_stats();
    assert_int_equal(st.bans, 2);
    assert_int_equal(st.refused_max_bans, 1);
    assert_int_equal(ac_int("EXISTS %s", "floodgate:ban:10.0.7.3"), 0);
    s_assert_contains(s_last_event("event"), "refused");
    s_assert_contains(s_last_event("reason"), "max_bans");
    assert_int_equal(s_rec->bans, 2);
    /* the attack's reports go on: each refused, one event for the attack */
    for (int i = 0; i < 3; i++)
        s_decide("10.0.7.3", FLOODGATE__ACTION__ONGOING, 600);
    assert_int_equal(s_stats().refused_max_bans, 4);
    assert_int_equal(s_count_events("refused", "10.0.7.3"), 1);
    /* one lifted: room again */
    freeReplyObject(ac_redis("DEL floodgate:ban:10.0.7.1"));
    assert_int_equal(act_scan(s_act), 0);
    s_decide("10.0.7.3", FLOODGATE__ACTION__BAN, 600);
    assert_int_equal(s_stats().bans, 3);
}

static void test_actuator_attack_log_one_json_line_each(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof(path), "%s/attacks.log", ac_dir);
    unlink(path);
    snprintf(s_cfg->actuator.attack_log, sizeof(s_cfg->actuator.attack_log), "%s", path);
    s_make(false, true);
    s_decide("10.0.8.1", FLOODGATE__ACTION__BAN, 600);
    freeReplyObject(ac_redis("DEL floodgate:ban:10.0.8.1"));
    assert_int_equal(act_scan(s_act), 0);
    char *text = hn_read_file(path);
    assert_non_null(text);
    char *nl = strchr(text, '\n');
    assert_non_null(nl);
    *nl = '\0';
    assert_true(s_json_valid(text));
    assert_non_null(strstr(text, "\"event\":\"ban\""));
    assert_non_null(strstr(text, "\"attack_type\":\"amplification:dns\""));
    assert_non_null(strstr(text, "\"key\":\"198.51.100.1\"")); /* the vectors */
    char *second = nl + 1, *nl2 = strchr(second, '\n');
    assert_non_null(nl2);
    *nl2 = '\0';
    assert_true(s_json_valid(second));
    assert_non_null(strstr(second, "\"event\":\"unban\""));
    assert_string_equal(nl2 + 1, "");
    free(text);
    assert_int_equal(s_stats().attack_log_lines, 2);
    /* an unwritable path is counted, never fatal */
    snprintf(s_cfg->actuator.attack_log, sizeof(s_cfg->actuator.attack_log), "%s/no/such/dir/a.log",
             ac_dir);
    s_decide("10.0.8.2", FLOODGATE__ACTION__BAN, 600);
    assert_int_equal(s_stats().attack_log_errors, 1);
    assert_int_equal(s_stats().bans, 2);
    unlink(path);
}

static bool s_unix_up(void *arg)
{
    redisContext *c = redisConnectUnix(arg);
    bool ok = c && !c->err;
    if (c)
        redisFree(c);
    return ok;
}

static void test_actuator_redis_unix_socket(void **state)
{
    (void)state;
    char sock[512], log[512], err[512], path[512], text[1024];
    snprintf(sock, sizeof(sock), "%s/redis.sock", ac_dir);
    snprintf(log, sizeof(log), "%s/redis-unix.log", ac_dir);
    char *argv[] = {"redis-server", "--port", "0", "--unixsocket", sock, "--dir", ac_dir,
                    "--save", "", "--appendonly", "no", NULL};
    pid_t pid = hn_spawn(argv, log);
    assert_true(hn_wait_until(s_unix_up, sock, 5000));
    snprintf(path, sizeof(path), "%s/unix.conf", ac_dir);
    snprintf(text, sizeof(text),
             "networks\n    monitored = 10.0.0.0/16\nredis\n    address = unix:%s\n"
             "    prefix = fgunix\n",
             sock);
    hn_write_file(path, text);
    fg_config_t *cfg = fg_config_load(path, err, sizeof(err));
    assert_non_null(cfg);
    act_t *act = act_new(cfg, NULL);
    assert_non_null(act);
    assert_int_equal(act_start(act), 0);
    Floodgate__Decision d = s_decision("10.0.9.9", FLOODGATE__ACTION__BAN, 600, true);
    assert_int_equal(act_decision(act, &d), 0);
    redisContext *c = redisConnectUnix(sock);
    redisReply *r = redisCommand(c, "HGET fgunix:ban:10.0.9.9 ip");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "10.0.9.9");
    freeReplyObject(r);
    redisFree(c);
    act_destroy(&act);
    fg_config_destroy(&cfg);
    hn_stop(pid, 3000);
}

/* Found by fuzz_decision and fuzz_ban_hash: a ban's hash fields read back
 * by ban_set_field as they were written. A number near the largest double
 * was written with 15 digits, rounded up past it, and read back as
 * infinite; a subnormal one read back with ERANGE: either refused, so the
 * actuator would have deleted its own ban key as malformed. Details that
 * are not UTF-8 (tests/data/fuzz/ban_details_utf8.txt) made the history
 * line NULL. */
static void test_actuator_ban_fields_read_back(void **state)
{
    (void)state;
    const double values[] = {DBL_MAX, 1.7976931348623150e308, 5e-324, 7.64167479920113e-313,
                             0, 0.1, 20000};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        ban_t b = {.value = values[i], .threshold = values[i], .banned_at = 1764500000};
        strcpy(b.ip, "10.0.1.5");
        strcpy(b.direction, "incoming");
        strcpy(b.source, "detector");
        ban_fields_t f;
        ban_fields(&b, &f);
        ban_t r = {0};
        for (int k = 1; k < f.n; k++)
            if (strcmp(f.name[k], "expires_at") != 0)
                assert_int_equal(ban_set_field(&r, f.name[k], f.value[k]), 0);
        assert_true(r.value == b.value || fabs(r.value - b.value) <= 1e-14 * b.value);
        assert_true(r.threshold == b.threshold || fabs(r.threshold - b.threshold) <= 1e-14 * b.threshold);
        ban_clear(&r);
    }
    /* found by fuzz_ban_hist: a year with a sign or spaces, which sscanf
     * took ("-026" gave a time ban_format_time wrote back as 1970) */
    FILE *fh = fopen("tests/data/fuzz/ban_hist_signed_year.json", "r");
    char line[256];
    assert_non_null(fh);
    assert_non_null(fgets(line, sizeof(line), fh));
    fclose(fh);
    ban_t hb;
    assert_int_equal(ban_from_json(&hb, "10.0.1.5", line), 0);
    assert_int_equal(hb.banned_at, 0); /* refused: as if absent */
    ban_clear(&hb);
    int64_t t = 0;
    const char *bad[] = {"-026-11-27T10:41:42Z", "+2026-11-27T10:41:42Z", " 2026-11-27T10:41:42Z",
                         "2026-1-27T10:41:42Z", "2026-11-27T10:41:42Z "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ban_parse_time(bad[i], &t), -1);
    assert_int_equal(ban_parse_time("2026-11-27T10:41:42Z", &t), 0);
    char tb[BAN_TIME_STRLEN];
    assert_string_equal(ban_format_time(t, tb), "2026-11-27T10:41:42Z");
    /* a year below 1000 is written with 4 digits, so it reads back */
    assert_int_equal(ban_parse_time("0247-11-27T10:41:42Z", &t), 0);
    assert_string_equal(ban_format_time(t, tb), "0247-11-27T10:41:42Z");
    FILE *fx = fopen("tests/data/fuzz/ban_details_utf8.txt", "r");
    assert_non_null(fx);
    while (fgets(line, sizeof(line), fx)) {
        ban_t b = {0};
        strcpy(b.ip, "10.0.1.5");
        strcpy(b.direction, "incoming");
        strcpy(b.source, "manual");
        assert_int_equal(ban_set_field(&b, "details", line), 0);
        char *j = ban_json(&b, "ban", NULL, 1764500000000ULL);
        assert_non_null(j);
        assert_true(s_json_valid(j));
        ban_hist_t h;
        assert_int_equal(ban_hist_parse(j, &h), 0);
        assert_string_equal(h.event, "ban");
        free(j);
        ban_clear(&b);
    }
    fclose(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, s_setup, s_teardown)
        T(test_actuator_ban_writes_hash_history_event),
        T(test_actuator_ban_network_prefix_in_details),
        T(test_actuator_ongoing_while_banned_does_nothing),
        T(test_actuator_ongoing_after_key_vanished_bans_again),
        T(test_actuator_detect_only_writes_no_key),
        T(test_actuator_detect_only_one_event_per_attack),
        T(test_actuator_malformed_message_counted),
        T(test_actuator_whitelisted_never_banned),
        T(test_actuator_manual_key_adopted),
        T(test_actuator_startup_adopts_silently),
        T(test_actuator_del_unbans_deleted_by_notification),
        T(test_actuator_expiry_unbans_by_notification),
        T(test_actuator_expiry_unbans_by_scan),
        T(test_actuator_del_unbans_deleted_by_scan),
        T(test_actuator_ipv6_key),
        T(test_actuator_script_backend_runs_ban_and_unban),
        T(test_actuator_config_refused_falls_back_to_scan),
        T(test_actuator_redis_down_queues_then_applies),
        T(test_actuator_queue_overflow_counted),
        T(test_actuator_refusal_routed_now_written_later),
        T(test_actuator_redis_empty_restores_flush_unbans),
        T(test_actuator_redis_partial_loss_restores),
        T(test_actuator_ongoing_low_ttl_renews_route_kept),
        T(test_actuator_lift_policy_never_renews),
        T(test_actuator_renews_just_after_expiry_without_withdraw),
        T(test_actuator_repeat_offender_flagged),
        T(test_actuator_history_event_in_details_not_counted),
        T(test_actuator_max_bans_refused_and_alerted),
        T(test_actuator_attack_log_one_json_line_each),
        cmocka_unit_test(test_actuator_ban_fields_read_back),
        T(test_actuator_redis_unix_socket),
#undef T
    };
    return cmocka_run_group_tests(tests, ac_group_setup, ac_group_teardown);
}
