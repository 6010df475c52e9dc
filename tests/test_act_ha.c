/* Unit tests: several actuators on one real redis-server (act_ha.c,
 * store_ha.c) without the ZeroMQ loop or sleeps: the lease is taken, kept
 * and lost by hand, so each test checks one decision of the logic. */
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
#include "actuator/store.h"
#include "common/config.h"
#include "tests/harness.h"

#define AC_DIR "act-ha"
#include "tests/acttest.h"

static fg_config_t *s_cfg[2];
static act_t *s_act[2];

static ac_rec_t *s_rec[2];

/* ---- Redis ---- */

/* The lease as "<id> <token>": the per-process nonce between them (an
 * actuator's lease is "<id> <nonce> <token>") left out. */
static char *s_lease(void)
{
    static char v[256];
    redisReply *r = ac_redis("GET floodgate:actuator:lease");
    snprintf(v, sizeof(v), "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    char *a = strchr(v, ' '), *b = a ? strchr(a + 1, ' ') : NULL;
    if (b)
        memmove(a, b, strlen(b) + 1);
    return v;
}

/* The events of ip's history, oldest first ("ban unban"). */
static char *s_history(const char *ip)
{
    static char out[512];
    redisReply *r = ac_redis("LRANGE floodgate:history:%s 0 -1", ip);
    out[0] = '\0';
    for (size_t i = r->elements; i-- > 0;) {
        const char *e = strstr(r->element[i]->str, "\"event\":\"");
        assert_non_null(e);
        e += 9;
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%.*s", out[0] ? " " : "",
                 (int)(strchr(e, '"') - e), e);
    }
    freeReplyObject(r);
    return out;
}

/* ---- fixtures ---- */

/* The actuators' monotonic clock: a lease poll is due when a test moves it. */
static uint64_t s_clock = 1000000;

static uint64_t s_mono(void)
{
    return s_clock;
}

/* Time passes for actuator i (past any lease poll or renewal), one tick. */
static void s_tick(int i)
{
    s_clock += 60000;
    act_tick(s_act[i]);
}

/* Actuator i ("A", "B") with a recording backend, started. */
static void s_make(int i)
{
    act_opts_t o = act_opts_default();
    o.notifications = false;
    o.mono_ms = s_mono;
    s_act[i] = act_new(s_cfg[i], &o);
    assert_non_null(s_act[i]);
    s_rec[i] = ac_rec_add(s_act[i]);
    assert_int_equal(act_start(s_act[i]), 0);
}

static int s_setup(void **state)
{
    (void)state;
    freeReplyObject(ac_redis("FLUSHALL"));
    for (int i = 0; i < 2; i++) {
        char name[32], text[1024];
        snprintf(name, sizeof(name), "floodgate-%d.conf", i);
        snprintf(text, sizeof(text),
                 "networks\n    monitored = \"10.0.0.0/16\"\n"
                 "redis\n    address = 127.0.0.1:%d\n"
                 "actuator\n    check_interval = 3600\n    id = %c\n    lease_ms = 60000\n",
                 ac_port, 'A' + i);
        s_cfg[i] = ac_config(name, text);
    }
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        act_destroy(&s_act[i]);
        fg_config_destroy(&s_cfg[i]);
        s_rec[i] = NULL;
    }
    return 0;
}

static Floodgate__Rates s_total;

static void s_decide(int i, const char *ip)
{
    Floodgate__Decision d;
    hn_decision(&d, &s_total, ip, FLOODGATE__ACTION__BAN, 600);
    assert_int_equal(act_decision(s_act[i], &d), 0);
}

static act_stats_t s_stats(int i)
{
    act_stats_t st;
    act_get_stats(s_act[i], &st);
    return st;
}

/* Actuator i dies (its lease lapses: deleted by hand, no sleep). */
static void s_die(int i)
{
    act_destroy(&s_act[i]); /* no release: as kill -9 */
    freeReplyObject(ac_redis("DEL floodgate:actuator:lease"));
}

/* ---- tests ---- */

static void test_act_ha_one_active_the_other_waits(void **state)
{
    (void)state;
    s_make(0);
    assert_true(act_is_active(s_act[0]));
    assert_string_equal(s_lease(), "A 1");
    s_make(1);
    assert_false(act_is_active(s_act[1]));
    assert_int_equal(s_rec[1]->syncs, 1); /* its backend announces nothing */
    assert_int_equal(s_rec[1]->synced, 0);
    s_decide(1, "10.0.0.1"); /* the standby keeps it, writes nothing */
    assert_int_equal(ac_int("EXISTS floodgate:ban:%s", "10.0.0.1"), 0);
    assert_int_equal(s_stats(1).standby_ignored, 1);
    s_decide(0, "10.0.0.1");
    s_decide(0, "10.0.0.1"); /* the second detector's */
    assert_int_equal(ac_int("EXISTS floodgate:ban:%s", "10.0.0.1"), 1);
    assert_string_equal(s_history("10.0.0.1"), "ban");
    assert_int_equal(s_stats(0).already_banned, 1);
    assert_int_equal(ac_int("HEXISTS floodgate:announced %s", "10.0.0.1"), 1);
    assert_int_equal(s_stats(0).active, 1);
    assert_int_equal(s_stats(1).active, 0);
}

static void test_act_ha_fenced_write_steps_down(void **state)
{
    (void)state;
    s_make(0);
    s_decide(0, "10.0.0.1");
    assert_int_equal(s_rec[0]->bans, 1);
    /* another actuator took the lease while A was frozen */
    freeReplyObject(ac_redis("SET floodgate:actuator:lease %s PX 60000", "B 7"));
    s_decide(0, "10.0.0.2");
    assert_int_equal(ac_int("EXISTS floodgate:ban:%s", "10.0.0.2"), 0);
    assert_false(act_is_active(s_act[0]));
    act_stats_t st = s_stats(0);
    assert_true(st.fenced_writes >= 1);
    assert_int_equal(st.step_downs, 1);
    assert_int_equal(st.known, 0);
    assert_int_equal(s_rec[0]->synced, 0); /* its routes withdrawn */
    assert_string_equal(s_lease(), "B 7");
    assert_string_equal(s_history("10.0.0.2"), "");
}

static void test_act_ha_takeover_settles_owed_unbans_once(void **state)
{
    (void)state;
    s_make(0);
    s_make(1);
    s_decide(0, "10.0.0.1");
    s_decide(0, "10.0.0.2");
    s_die(0);
    /* deleted while no one is active: its keyspace event goes nowhere */
    freeReplyObject(ac_redis("DEL floodgate:ban:10.0.0.2"));
    s_tick(1);
    assert_true(act_is_active(s_act[1]));
    assert_string_equal(s_lease(), "B 2");
    act_stats_t st = s_stats(1);
    assert_int_equal(st.takeovers, 1);
    assert_int_equal(st.unbans_owed, 1);
    assert_int_equal(st.known, 1);
    assert_int_equal(s_rec[1]->unbans, 1); /* the script runs once, the route goes */
    assert_string_equal(s_rec[1]->last_reason, "deleted");
    assert_int_equal(s_rec[1]->synced, 1); /* 10.0.0.1 announced */
    assert_string_equal(s_history("10.0.0.2"), "ban unban");
    assert_string_equal(s_history("10.0.0.1"), "ban");
    assert_int_equal(ac_int("HEXISTS floodgate:announced %s", "10.0.0.2"), 0);
    /* nothing is owed twice */
    assert_int_equal(act_scan(s_act[1]), 0);
    assert_string_equal(s_history("10.0.0.2"), "ban unban");
    assert_int_equal(s_rec[1]->unbans, 1);
}

static void test_act_ha_takeover_applies_the_kept_decision(void **state)
{
    (void)state;
    s_make(0);
    s_make(1);
    s_decide(1, "10.0.0.3"); /* reached the standby; the active one died with it */
    s_die(0);
    s_tick(1);
    assert_true(act_is_active(s_act[1]));
    assert_int_equal(s_stats(1).replayed, 1);
    assert_int_equal(ac_int("EXISTS floodgate:ban:%s", "10.0.0.3"), 1);
    assert_string_equal(s_history("10.0.0.3"), "ban");
    assert_int_equal(s_rec[1]->bans, 1);
}

static void test_act_ha_release_hands_over(void **state)
{
    (void)state;
    s_make(0);
    s_make(1);
    act_release(s_act[0]); /* SIGTERM */
    assert_string_equal(s_lease(), "");
    s_tick(1);
    assert_true(act_is_active(s_act[1]));
    /* killed and restarted under the same id: another process, so it waits
     * for its old lease to lapse (it cannot tell it from a live twin) */
    act_destroy(&s_act[1]);
    s_make(1);
    assert_false(act_is_active(s_act[1]));
    s_die(0); /* the lease lapses */
    s_tick(1);
    assert_true(act_is_active(s_act[1]));
    assert_string_equal(s_lease(), "B 3");
}

/* Two actuators configured with the same actuator/id (a config copied
 * between hosts): the second waits as a standby at every poll, it does not
 * take the lease from the first; the first bans, the second writes nothing. */
static void test_act_ha_same_id_waits(void **state)
{
    (void)state;
    snprintf(s_cfg[1]->actuator.id, sizeof(s_cfg[1]->actuator.id), "A");
    s_make(0);
    s_make(1);
    assert_true(act_is_active(s_act[0]));
    for (int i = 0; i < 3; i++) {
        s_tick(1);
        s_tick(0);
    }
    assert_false(act_is_active(s_act[1]));
    assert_true(act_is_active(s_act[0]));
    assert_string_equal(s_lease(), "A 1");
    assert_int_equal(s_stats(0).step_downs, 0);
    s_decide(1, "10.0.0.1");
    assert_int_equal(ac_int("EXISTS floodgate:ban:%s", "10.0.0.1"), 0);
    s_decide(0, "10.0.0.1");
    assert_string_equal(s_history("10.0.0.1"), "ban");
    assert_int_equal(s_rec[0]->bans, 1);
    assert_int_equal(s_rec[1]->bans, 0);
    s_die(0); /* the first dies: the second takes over */
    s_tick(1);
    assert_true(act_is_active(s_act[1]));
    assert_int_equal(s_rec[1]->synced, 1);
}

/* A lease written by hand without an expiry would keep every actuator
 * waiting forever: it is not a lease, and is taken. A hand-written one with
 * an expiry is respected until it lapses. */
static void test_act_ha_lease_without_expiry_is_taken(void **state)
{
    (void)state;
    freeReplyObject(ac_redis("SET floodgate:actuator:lease %s", "junk"));
    s_make(0);
    assert_true(act_is_active(s_act[0]));
    assert_string_equal(s_lease(), "A 1");
    assert_true(ac_int("PTTL %s", "floodgate:actuator:lease") > 0);
    s_decide(0, "10.0.0.7");
    assert_int_equal(ac_int("EXISTS floodgate:ban:%s", "10.0.0.7"), 1);
    act_destroy(&s_act[0]);
    freeReplyObject(ac_redis("SET floodgate:actuator:lease %s PX 60000", "someone 9"));
    s_make(1);
    assert_false(act_is_active(s_act[1]));
}

/* Actuator i reloaded with actuator/connect listing n actuators. */
static void s_connect_list(int i, int n)
{
    char name[32], text[1024];
    snprintf(name, sizeof(name), "floodgate-%d.conf", i);
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16\"\n"
             "redis\n    address = 127.0.0.1:%d\n"
             "actuator\n    check_interval = 3600\n    id = %c\n    lease_ms = 60000\n"
             "    connect = \"%s\"\n",
             ac_port, 'A' + i, n > 1 ? "tcp://127.0.0.1:1 tcp://127.0.0.1:2" : "tcp://127.0.0.1:1");
    fg_config_destroy(&s_cfg[i]);
    s_cfg[i] = ac_config(name, text);
}

/* A, active, loses Redis (its connections cut) after `after` ms without a
 * renewal; a ban decided then: announced early (1) or withheld (0)? */
static void s_cut_off_then_decide(int actuators, uint64_t after)
{
    s_connect_list(0, actuators);
    s_make(0);
    assert_true(act_is_active(s_act[0]));
    s_decide(0, "10.0.0.1");
    assert_int_equal(s_rec[0]->bans, 1);
    s_clock += after;
    freeReplyObject(ac_redis("CLIENT KILL TYPE normal SKIPME yes"));
    freeReplyObject(ac_redis("CLIENT KILL TYPE pubsub"));
    s_decide(0, "10.0.0.2");
    assert_int_equal(ac_int("EXISTS floodgate:ban:%s", "10.0.0.2"), 0);
}

/* Redundant (actuator/connect lists two), cut off from Redis past its
 * lease: another actuator may be active, so the new ban is neither
 * announced nor notified (counted); within its lease, or alone, it is. */
static void test_act_ha_cut_off_past_its_lease_withholds_new_bans(void **state)
{
    (void)state;
    s_cut_off_then_decide(2, 60001);
    act_stats_t st = s_stats(0);
    assert_int_equal(st.pending_withheld, 1);
    assert_int_equal(st.provisional, 0);
    assert_int_equal(s_rec[0]->bans, 1); /* 10.0.0.2 not announced */
}

static void test_act_ha_cut_off_within_its_lease_announces(void **state)
{
    (void)state;
    s_cut_off_then_decide(2, 30000);
    assert_int_equal(s_stats(0).pending_withheld, 0);
    assert_int_equal(s_stats(0).provisional, 1);
    assert_int_equal(s_rec[0]->bans, 2);
}

static void test_act_ha_alone_announces_past_its_lease(void **state)
{
    (void)state;
    s_cut_off_then_decide(1, 60001);
    assert_int_equal(s_stats(0).pending_withheld, 0);
    assert_int_equal(s_stats(0).provisional, 1);
    assert_int_equal(s_rec[0]->bans, 2);
}

/* Wait (bounded) until Redis holds n clients blocked (a CLIENT PAUSE). */
static void s_wait_blocked(redisContext *c, int n)
{
    char want[32];
    snprintf(want, sizeof(want), "blocked_clients:%d\r", n);
    for (int i = 0; i < 200; i++) {
        redisReply *r = redisCommand(c, "INFO clients");
        assert_non_null(r);
        bool found = r->type == REDIS_REPLY_STRING && strstr(r->str, want);
        freeReplyObject(r);
        if (found)
            return;
        usleep(5000);
    }
    fail_msg("no %d blocked clients", n);
}

/* The lease changes between announce's check and its write: Redis is
 * paused for writes, another actuator's SET of the lease waits first in
 * line, A's check still reads its own lease, its write queues after the SET.
 * The write must not land: a stale entry would be an owed unban (a history
 * line, a script run) at the next takeover. The new holder still bans. */
static void test_act_ha_announce_after_losing_the_lease_writes_nothing(void **state)
{
    (void)state;
    struct timeval tv = {2, 0};
    freeReplyObject(ac_redis("SET floodgate:actuator:lease %s PX 60000", "A 1"));
    store_t *st = store_new(s_cfg[0], 2000);
    assert_non_null(st);
    assert_int_equal(store_connect(st), 0);
    store_set_fence(st, "A 1");
    redisContext *x = redisConnectWithTimeout("127.0.0.1", ac_port, tv);
    redisContext *y = redisConnectWithTimeout("127.0.0.1", ac_port, tv);
    assert_true(x && !x->err && y && !y->err);
    redisSetTimeout(x, tv);
    redisSetTimeout(y, tv);
    freeReplyObject(redisCommand(x, "CLIENT PAUSE 400 WRITE"));
    redisAppendCommand(y, "SET floodgate:actuator:lease %s PX 60000", "B 7");
    int done = 0;
    while (!done)
        assert_int_equal(redisBufferWrite(y, &done), REDIS_OK);
    s_wait_blocked(x, 1);
    assert_int_equal(store_announce(st, "10.0.0.9", "{\"event\":\"ban\"}"), -1);
    redisReply *r = NULL;
    assert_int_equal(redisGetReply(y, (void **)&r), REDIS_OK);
    freeReplyObject(r);
    redisFree(x);
    redisFree(y);
    assert_true(store_fenced(st));
    assert_int_equal(ac_int("HEXISTS floodgate:announced %s", "10.0.0.9"), 0);
    store_destroy(&st);
    freeReplyObject(ac_redis("DEL floodgate:actuator:lease"));
    s_make(1); /* B, the next holder: takes it, owes nothing, bans */
    assert_true(act_is_active(s_act[1]));
    assert_int_equal(s_stats(1).unbans_owed, 0);
    s_decide(1, "10.0.0.1");
    assert_int_equal(ac_int("EXISTS floodgate:ban:%s", "10.0.0.1"), 1);
    assert_string_equal(s_history("10.0.0.1"), "ban");
    assert_int_equal(s_rec[1]->unbans, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, s_setup, s_teardown)
        T(test_act_ha_one_active_the_other_waits),
        T(test_act_ha_fenced_write_steps_down),
        T(test_act_ha_takeover_settles_owed_unbans_once),
        T(test_act_ha_takeover_applies_the_kept_decision),
        T(test_act_ha_release_hands_over),
        T(test_act_ha_same_id_waits),
        T(test_act_ha_lease_without_expiry_is_taken),
        T(test_act_ha_cut_off_past_its_lease_withholds_new_bans),
        T(test_act_ha_cut_off_within_its_lease_announces),
        T(test_act_ha_alone_announces_past_its_lease),
        T(test_act_ha_announce_after_losing_the_lease_writes_nothing),
#undef T
    };
    return cmocka_run_group_tests(tests, ac_group_setup, ac_group_teardown);
}
