/* End to end: the four daemons and a real redis-server on free loopback
 * ports; floodgate-flowgen sends NetFlow v5 floods; Redis must show the bans.
 *
 *   1. a flood against one monitored host plus background traffic to others:
 *      the host is banned (key with a TTL close to ban_time and every field),
 *      the background hosts and a whitelisted flooded host are not;
 *   2. a host in a hostgroup with a 3 s ban time, flooded for longer: its key
 *      expires, the unban is recorded (history, events, notify script), and
 *      the continuing attack bans it again (ban_count 2);
 *   3. every daemon stops cleanly on SIGTERM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis.h>

#include "tests/harness.h"

typedef hn_pipe_t e2e_t;

static e2e_t s_e;

static void s_write_config(e2e_t *e)
{
    char text[4096], script[600];
    snprintf(script, sizeof(script), "%s/notify.sh", e->dir);
    snprintf(text, sizeof(text),
             "# written by e2e_pipeline\n"
             "general\n    log_level = info\n"
             "networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
             "    whitelist = 10.0.0.53/32\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgtest\n"
             "collector\n    netflow_listen = 127.0.0.1:%d\n    batch_ms = 10\n"
             "    metrics_listen = 127.0.0.1:%d\n"
             "aggregator\n    pull_bind = tcp://127.0.0.1:%d\n    pub_bind = tcp://127.0.0.1:%d\n"
             "    pull_connect = tcp://127.0.0.1:%d\n    pub_connect = tcp://127.0.0.1:%d\n"
             "    tick_ms = 200\n    metrics_listen = 127.0.0.1:%d\n"
             "detector\n    ongoing_interval = 1\n    attack_end = 10\n"
             "    metrics_listen = 127.0.0.1:%d\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    connect = tcp://127.0.0.1:%d\n"
             "    notify_script = %s\n    check_interval = 1\n"
             "    metrics_listen = 127.0.0.1:%d\n"
             "    renewal = lift\n" /* the expiry test wants the ban to lapse */
             "hostgroup\n    default\n        ban_time = 600\n        threshold_pps = 5000\n"
             "        threshold_mbps = 0\n        threshold_flows = 0\n"
             "    short\n        networks = 10.0.2.0/24\n        ban_time = 3\n"
             "        threshold_pps = 5000\n        threshold_mbps = 0\n"
             "        threshold_flows = 0\n",
             e->redis_port, e->nf_port, e->m_col, e->pull_port, e->pub_port, e->pull_port,
             e->pub_port, e->m_agg, e->m_det, e->act_port, e->act_port, script, e->m_act);
    hn_write_file(e->conf, text);
    char body[1024];
    snprintf(body, sizeof(body),
             "#!/bin/sh\n# record the call and the details read from stdin\n"
             "details=$(cat)\n"
             "echo \"$1 $2 $3 $4 $(printf '%%s' \"$details\" | wc -c)\" >> %s/notify.log\n",
             e->dir);
    hn_write_file(script, body);
    chmod(script, 0755);
}

static int s_setup(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    hn_pipe_init(e, "e2e", 1);
    s_write_config(e);
    hn_pipe_start(e);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    hn_pipe_stop(e);
    return 0;
}

/* Start floodgate-flowgen with the given extra arguments; returns its PID. */
static pid_t s_flowgen(e2e_t *e, const char *args)
{
    char cmd[1024], log[512];
    snprintf(cmd, sizeof(cmd), "exec %s/floodgate-flowgen -d 127.0.0.1:%d %s", hn_build_dir(),
             e->nf_port, args);
    snprintf(log, sizeof(log), "%s/flowgen.log", e->dir);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return hn_spawn(argv, log);
}

static redisReply *R(const char *fmt, const char *arg)
{
    redisReply *r = hn_redis(s_e.redis_port, fmt, arg);
    assert_non_null(r);
    return r;
}

static bool s_key_exists(void *ip)
{
    redisReply *r = hn_redis(s_e.redis_port, "EXISTS fgtest:ban:%s", (char *)ip);
    bool yes = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    return yes;
}

/* The value of field in the ban hash of ip ("" when absent), static buffer. */
static const char *s_field(const char *ip, const char *field)
{
    static char buf[8][1024];
    static int next;
    char *out = buf[next++ % 8];
    redisReply *r = hn_redis(s_e.redis_port, "HGET fgtest:ban:%s %s", ip, field);
    assert_non_null(r);
    snprintf(out, 1024, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return out;
}

static long long s_count_bans(void)
{
    redisReply *r = hn_redis(s_e.redis_port, "KEYS fgtest:ban:*");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    long long n = (long long)r->elements;
    freeReplyObject(r);
    return n;
}

/* Does any entry of the events stream carry event=what and ip=ip? */
static bool s_event_seen(const char *what, const char *ip)
{
    redisReply *r = hn_redis(s_e.redis_port, "XRANGE fgtest:events - +");
    bool seen = false;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements && !seen; i++) {
        redisReply *fields = r->element[i]->element[1];
        bool ev = false, addr = false;
        for (size_t j = 0; j + 1 < fields->elements; j += 2) {
            const char *k = fields->element[j]->str, *v = fields->element[j + 1]->str;
            ev |= !strcmp(k, "event") && !strcmp(v, what);
            addr |= !strcmp(k, "ip") && !strcmp(v, ip);
        }
        seen = ev && addr;
    }
    if (r)
        freeReplyObject(r);
    return seen;
}

typedef struct {
    const char *what, *ip;
} ev_arg_t;

static bool s_event_cond(void *arg)
{
    ev_arg_t *a = arg;
    return s_event_seen(a->what, a->ip);
}

static void test_e2e_flood_is_banned(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    /* 20 000 pps against 10.0.0.5 (threshold 5 000), the same against the
     * whitelisted 10.0.0.53, and 30 background hosts at 10 pps each. */
    uint64_t t0 = hn_ms();
    pid_t g1 = s_flowgen(e, "--dst 10.0.0.5 --pps 20000 --duration 6 --background 30");
    pid_t g2 = s_flowgen(e, "--dst 10.0.0.53 --pps 20000 --duration 6");
    bool banned = hn_wait_until(s_key_exists, "10.0.0.5", 8000);
    uint64_t took = hn_ms() - t0;
    if (!banned)
        fail_msg("10.0.0.5 not banned within 8 s; logs in %s", e->dir);
    fprintf(stderr, "# ban key appeared %llu ms after the flood started\n",
            (unsigned long long)took);
    hn_wait_exit(g1, 10000);
    hn_wait_exit(g2, 10000);

    redisReply *r = R("TTL fgtest:ban:%s", "10.0.0.5");
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_in_range(r->integer, 590, 600);
    freeReplyObject(r);

    assert_string_equal(s_field("10.0.0.5", "ip"), "10.0.0.5");
    assert_string_equal(s_field("10.0.0.5", "direction"), "incoming");
    assert_string_equal(s_field("10.0.0.5", "metric"), "pps");
    assert_string_equal(s_field("10.0.0.5", "hostgroup"), "default");
    assert_string_equal(s_field("10.0.0.5", "source"), "detector");
    assert_string_equal(s_field("10.0.0.5", "ban_count"), "1");
    assert_string_equal(s_field("10.0.0.5", "attack_type"), "udp_flood");
    assert_in_range(atoi(s_field("10.0.0.5", "threshold")), 5000, 5000);
    double value = atof(s_field("10.0.0.5", "value"));
    if (value < 5000 || value > 40000)
        fail_msg("ban value %.0f pps is not near the 20000 pps sent", value);
    assert_true(strlen(s_field("10.0.0.5", "banned_at")) >= 20);
    assert_true(strlen(s_field("10.0.0.5", "expires_at")) >= 20);
    assert_non_null(strchr(s_field("10.0.0.5", "details"), '{'));

    /* only the flooded host: not the background ones, not the whitelisted */
    assert_false(s_key_exists("10.0.0.53"));
    assert_int_equal(s_count_bans(), 1);
    assert_true(s_event_seen("ban", "10.0.0.5"));

    r = R("LLEN fgtest:history:%s", "10.0.0.5");
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
}

/* Does the history of ip (newest first) hold, oldest first, a ban, then an
 * unban, then a ban with ban_count 2? */
static bool s_history_ban_unban_ban(void *ip)
{
    redisReply *r = hn_redis(s_e.redis_port, "LRANGE fgtest:history:%s 0 -1", (char *)ip);
    const char *want[] = {"\"event\":\"ban\"", "\"event\":\"unban\"", "\"event\":\"ban\""};
    size_t found = 0;
    bool count_ok = false;
    for (size_t i = r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0; i-- > 0 && found < 3;) {
        const char *line = r->element[i]->str;
        if (!strstr(line, want[found]))
            continue;
        if (++found == 3)
            count_ok = strstr(line, "\"ban_count\":2") != NULL;
    }
    if (r)
        freeReplyObject(r);
    return found == 3 && count_ok;
}

static void test_e2e_expiry_unban_and_reban(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    const char *ip = "10.0.2.7"; /* hostgroup short: ban_time 3 s */
    pid_t g = s_flowgen(e, "--dst 10.0.2.7 --pps 20000 --duration 12");
    if (!hn_wait_until(s_key_exists, (void *)ip, 8000))
        fail_msg("%s not banned; logs in %s", ip, e->dir);
    redisReply *r = R("TTL fgtest:ban:%s", ip);
    assert_in_range(r->integer, 1, 3);
    freeReplyObject(r);
    /* The key expires by itself, the unban is recorded, and the attack still
     * going on bans the host again. The gap between expiry and the new ban
     * can be shorter than a poll of the key, so the order is read from the
     * history, which records every step. */
    ev_arg_t unban = {"unban", ip};
    if (!hn_wait_until(s_event_cond, &unban, 9000))
        fail_msg("no unban event for %s", ip);
    if (!hn_wait_until(s_history_ban_unban_ban, (void *)ip, 8000))
        fail_msg("history of %s lacks ban, unban, ban (ban_count 2) in order; logs in %s", ip,
                 e->dir);
    hn_wait_exit(g, 20000);

    /* the notify script saw ban, unban, ban with details on stdin */
    char path[600];
    snprintf(path, sizeof(path), "%s/notify.log", e->dir);
    hn_wait_log(path, " unban ", 5000);
    char *log = hn_read_file(path);
    if (!log || !strstr(log, "10.0.2.7 incoming") || !strstr(log, " ban ") ||
        !strstr(log, " unban "))
        fail_msg("notify script calls missing: %s", log ? log : "(no log)");
    free(log);
}

/* Run the CLI with args; its exit status, and its output in *out (caller frees). */
static int s_cli(const char *args, char **out)
{
    char cmd[1024], log[600];
    snprintf(log, sizeof(log), "%s/cli.log", s_e.dir);
    unlink(log);
    snprintf(cmd, sizeof(cmd), "exec %s/floodgate -c %s %s", hn_build_dir(), s_e.conf, args);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int st = hn_wait_exit(hn_spawn(argv, log), 10000);
    *out = hn_read_file(log);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_e2e_cli_manual_ban_unban(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(s_cli("bans --json", &out), 0);
    assert_non_null(strstr(out, "\"ip\":\"10.0.0.5\""));
    free(out);
    assert_int_equal(s_cli("ban 10.0.0.77 --ttl 120 --reason ticket-42", &out), 0);
    free(out);
    assert_string_equal(s_field("10.0.0.77", "source"), "manual");
    redisReply *r = R("TTL fgtest:ban:%s", "10.0.0.77");
    assert_in_range(r->integer, 115, 120);
    freeReplyObject(r);
    /* the actuator adopts it: a ban event with source manual */
    ev_arg_t ban = {"ban", "10.0.0.77"};
    if (!hn_wait_until(s_event_cond, &ban, 5000))
        fail_msg("manual ban of 10.0.0.77 not adopted by the actuator");
    assert_int_equal(s_cli("ban 10.0.0.77", &out), 1); /* already banned */
    free(out);
    assert_int_equal(s_cli("bans", &out), 0);
    assert_non_null(strstr(out, "10.0.0.77"));
    assert_non_null(strstr(out, "manual"));
    free(out);
    assert_int_equal(s_cli("unban 10.0.0.77", &out), 0);
    free(out);
    assert_false(s_key_exists("10.0.0.77"));
    ev_arg_t unban = {"unban", "10.0.0.77"};
    if (!hn_wait_until(s_event_cond, &unban, 5000))
        fail_msg("manual unban of 10.0.0.77 not recorded by the actuator");
    assert_int_equal(s_cli("unban 10.0.0.77", &out), 1); /* not banned any more */
    free(out);
    assert_int_equal(s_cli("history 10.0.0.77", &out), 0);
    assert_non_null(strstr(out, "unban"));
    free(out);
    assert_int_equal(s_cli("ban not-an-ip", &out), 2);
    free(out);
}

static void test_e2e_clean_shutdown(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    pid_t *all[] = {&e->collector, &e->aggregator, &e->detector, &e->actuator};
    const char *names[] = {"collector", "aggregator", "detector", "actuator"};
    for (size_t i = 0; i < 4; i++) {
        int st = hn_stop(*all[i], 5000);
        *all[i] = 0;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail_msg("floodgate-%s did not exit cleanly on SIGTERM (status 0x%x)", names[i], st);
    }
}

/* Every daemon: -t on a good file exits 0; on a bad one exits 2 and names
 * file:line and the reason. */
static void test_e2e_config_check_exit_codes(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    char bad[600], log[600];
    snprintf(bad, sizeof(bad), "%s/bad.conf", e->dir);
    snprintf(log, sizeof(log), "%s/check.log", e->dir);
    hn_write_file(bad, "networks\n    monitored = 10.0.0.0/16\ncollector\n    batch_ms = soon\n");
    const char *names[] = {"collector", "aggregator", "detector", "actuator"};
    for (size_t i = 0; i < 4; i++) {
        char bin[512];
        snprintf(bin, sizeof(bin), "%s/floodgate-%s", hn_build_dir(), names[i]);
        char *good_argv[] = {bin, "-c", e->conf, "-t", NULL};
        int st = hn_wait_exit(hn_spawn(good_argv, log), 5000);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        unlink(log);
        char *bad_argv[] = {bin, "-c", bad, "-t", NULL};
        st = hn_wait_exit(hn_spawn(bad_argv, log), 5000);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 2);
        char *out = hn_read_file(log);
        char want[700];
        snprintf(want, sizeof(want), "%s:4: collector/batch_ms", bad);
        if (!out || !strstr(out, want) || !strstr(out, "not an integer"))
            fail_msg("floodgate-%s: expected \"%s ... not an integer\", got: %s", names[i], want,
                     out ? out : "(nothing)");
        free(out);
        unlink(log);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_config_check_exit_codes),
        cmocka_unit_test(test_e2e_flood_is_banned),
        cmocka_unit_test(test_e2e_expiry_unban_and_reban),
        cmocka_unit_test(test_e2e_cli_manual_ban_unban),
        cmocka_unit_test(test_e2e_clean_shutdown),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
