/* End to end: two actuators on one Redis, each with its own gobgpd peered
 * with one BIRD (the router), on loopback (each daemon its own 127.x address
 * and free port; BIRD has no kernel protocol). Two "detectors" (PUSH
 * sockets, one per actuator, as floodgate-detector has) send every decision
 * to both actuators. lease_ms = 1000. In order:
 *
 *   1. A takes the lease, B waits (standby: its speaker announces nothing);
 *      the same attacks reported by both detectors are banned once;
 *   2. host A dies (kill -9 of its actuator and its gobgpd) during an
 *      attack reported ONGOING, while one ban expires, one key is deleted
 *      and a new attack is decided: B holds the lease within 2 s (the routes
 *      that left BIRD with A's session are back through B; measured), records
 *      the deleted ban's unban once (owed: no one was active), bans the new
 *      attack, and BIRD's table equals Redis;
 *   3. A comes back (standby), B is frozen (SIGSTOP) past its lease: A takes
 *      over; B, thawed, finds its writes fenced and steps down, withdrawing
 *      what its speaker announced: BIRD equals Redis;
 *   4. the reports stop, every ban lapses;
 *   5. over the whole run: per address, the history alternates ban (renew*)
 *      unban; the events stream and the notify script (run by whichever
 *      actuator was active) saw each ban and unban exactly once. */
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

#include "common/addr.h"
#include "floodgate.pb-c.h"
#include "tests/harness.h"
#include "tests/bgptest.h"

#define HA_LEASE_MS 1000
#define HA_TAKEOVER_MAX_MS 2000

typedef struct {
    char addr[32], conf[600];
    int bgp_port, api_port, act_port;
    pid_t gobgpd, actuator;
} ha_host_t;

typedef struct {
    char *dir;
    char bird_sock[512], bird_addr[32], script_log[600];
    int redis_port, bird_port;
    pid_t redis, bird;
    ha_host_t h[2];      /* A, B */
    zsock_t *push[2][2]; /* [detector][actuator] */
} ha_t;

static ha_t s_t;

/* ---- the daemons ---- */

static void s_write_host(ha_t *t, int i)
{
    ha_host_t *h = &t->h[i];
    char text[4096];
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16\"\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgha\n"
             "detector\n    ongoing_interval = 1\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    check_interval = 1\n"
             "    id = host-%c\n    lease_ms = %d\n    renew_before = 2\n"
             "    notify_script = %s/notify.sh\n"
             "    bgp_backend = gobgp\n    gobgp_api = 127.0.0.1:%d\n"
             "    next_hop_v4 = 198.51.100.1\n    metrics_listen = \"\"\n"
             "hostgroup\n    default\n        ban_time = 600\n"
             "    short\n        networks = 10.0.1.0/24\n        ban_time = 3\n",
             t->redis_port, h->act_port, 'A' + i, HA_LEASE_MS, t->dir, h->api_port);
    hn_write_file(h->conf, text);
    char name[16];
    const char *afis[] = {"ipv4-unicast", NULL};
    snprintf(name, sizeof(name), "gobgpd-%c", 'A' + i);
    bt_write_gobgpd(t->dir, name, h->addr, h->bgp_port, t->bird_addr, t->bird_port, afis);
}

static void s_write_configs(ha_t *t)
{
    char text[4096], path[600];
    for (int i = 0; i < 2; i++)
        s_write_host(t, i);
    /* the notify script: one line "<ip> <action>" per run */
    snprintf(text, sizeof(text), "#!/bin/sh\ncat >/dev/null\necho \"$1 $4\" >> %s\n",
             t->script_log);
    snprintf(path, sizeof(path), "%s/notify.sh", t->dir);
    hn_write_file(path, text);
    chmod(path, 0755);
    snprintf(text, sizeof(text), "router id %s;\nprotocol device {}\n", t->bird_addr);
    for (int i = 0; i < 2; i++) {
        char proto[8];
        snprintf(proto, sizeof(proto), "g%c", 'a' + i);
        bt_bird_gobgp(text, sizeof(text), proto, t->bird_addr, t->bird_port, t->h[i].addr,
                      t->h[i].bgp_port, "  ipv4 { import all; export none; };\n");
    }
    snprintf(path, sizeof(path), "%s/bird.conf", t->dir);
    hn_write_file(path, text);
}

static void s_start_host(ha_t *t, int i)
{
    ha_host_t *h = &t->h[i];
    char name[16], log[600], bin[512];
    snprintf(name, sizeof(name), "gobgpd-%c", 'A' + i);
    h->gobgpd = bt_start_gobgpd(t->dir, name, h->api_port);
    snprintf(bin, sizeof(bin), "%s/floodgate-actuator", hn_build_dir());
    snprintf(log, sizeof(log), "%s/actuator-%c.log", t->dir, 'A' + i);
    char *aargv[] = {bin, "-c", h->conf, NULL};
    h->actuator = hn_spawn(aargv, log);
}

/* kill -9 of the host's actuator and speaker: the host is gone. */
static void s_kill_host(ha_t *t, int i)
{
    kill(t->h[i].actuator, SIGKILL);
    kill(t->h[i].gobgpd, SIGKILL);
    hn_stop(t->h[i].actuator, 1000);
    hn_stop(t->h[i].gobgpd, 1000);
    t->h[i].actuator = t->h[i].gobgpd = 0;
}

/* Run argv (at most 10 s); its output (static) in *out; the exit code. */
static int s_run(char *const argv[], char **out)
{
    return hn_run(s_t.dir, argv, NULL, out);
}

/* ---- Redis, BIRD ---- */

static char *s_lease(void)
{
    static char v[256];
    redisReply *r = hn_redis(s_t.redis_port, "GET fgha:actuator:lease");
    v[0] = '\0';
    if (r && r->type == REDIS_REPLY_STRING)
        snprintf(v, sizeof(v), "%s", r->str);
    if (r)
        freeReplyObject(r);
    return v;
}

static bool s_lease_is(void *who)
{
    return strncmp(s_lease(), who, strlen(who)) == 0;
}

static bool s_session_up(void *proto)
{
    return bt_session_up(s_t.dir, s_t.bird_sock, proto);
}

/* Sorted, space-separated prefixes in BIRD's table (each once). */
static void s_bird_set(char *out, size_t len)
{
    char *all;
    char *argv[] = {"birdc", "-s", s_t.bird_sock, "show", "route", NULL};
    s_run(argv, &all);
    zlistx_t *l = bt_set_new();
    for (const char *p = all; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        const char *sp = strchr(p, ' ');
        if (*p >= '0' && *p <= '9' && sp && memchr(p, '/', (size_t)(sp - p)) && sp - p < 64)
            zlistx_add_end(l, zsys_sprintf("%.*s", (int)(sp - p), p));
    }
    bt_set_join(&l, out, len);
}

static void s_redis_set(char *out, size_t len)
{
    redisReply *r = hn_redis(s_t.redis_port, "KEYS fgha:ban:*");
    assert_non_null(r);
    zlistx_t *l = bt_set_new();
    for (size_t i = 0; i < r->elements; i++)
        zlistx_add_end(l, zsys_sprintf("%s/32", r->element[i]->str + strlen("fgha:ban:")));
    freeReplyObject(r);
    bt_set_join(&l, out, len);
}

static bool s_bird_matches_redis(void *arg)
{
    char bird[2048], redis[2048];
    s_bird_set(bird, sizeof(bird));
    s_redis_set(redis, sizeof(redis));
    snprintf(arg, 4200, "bird:  [%s]\nredis: [%s]", bird, redis);
    return strcmp(bird, redis) == 0;
}

static void s_expect_match(int ms)
{
    char why[4200];
    if (!hn_wait_until(s_bird_matches_redis, why, ms))
        fail_msg("BIRD does not match Redis after %d ms:\n%s\nlogs in %s", ms, why, s_t.dir);
}

static bool s_route_in_bird(void *prefix);

static bool s_route_not_in_bird(void *prefix)
{
    return !s_route_in_bird(prefix);
}

/* Is prefix in BIRD's table (from any session)? */
static bool s_route_in_bird(void *prefix)
{
    char bird[2048];
    s_bird_set(bird, sizeof(bird));
    return strstr(bird, prefix) != NULL;
}

static bool s_key_exists(void *ip)
{
    redisReply *r = hn_redis(s_t.redis_port, "EXISTS fgha:ban:%s", (char *)ip);
    bool yes = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    return yes;
}

static bool s_no_keys(void *arg)
{
    (void)arg;
    char redis[2048];
    s_redis_set(redis, sizeof(redis));
    return redis[0] == '\0';
}

static bool s_log_has(int host, const char *needle)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/actuator-%c.log", s_t.dir, 'A' + host);
    char *text = hn_read_file(path);
    bool yes = text && strstr(text, needle);
    free(text);
    return yes;
}

static bool s_standby_logged(void *host)
{
    return s_log_has(*(int *)host, "event=standby") || s_log_has(*(int *)host, "event=step_down");
}

/* ---- decisions ---- */

static void s_send(zsock_t *push, const char *ip, int action, uint32_t ban_time)
{
    Floodgate__Decision d;
    Floodgate__Rates total;
    hn_decision(&d, &total, ip, action, ban_time);
    zframe_t *f = bt_frame(&d);
    zframe_send(&f, push, ZFRAME_DONTWAIT);
    zframe_destroy(&f);
}

/* Both detectors report ip to both actuators. */
static void s_report(const char *ip, int action, uint32_t ban_time)
{
    for (int d = 0; d < 2; d++)
        for (int a = 0; a < 2; a++)
            s_send(s_t.push[d][a], ip, action, ban_time);
}

/* The attack on 10.0.1.3 goes on: ONGOING every 300 ms for ms. */
static void s_ongoing_for(int ms)
{
    for (uint64_t end = hn_ms() + (uint64_t)ms; hn_ms() < end;) {
        s_report("10.0.1.3", FLOODGATE__ACTION__ONGOING, 3);
        usleep(300 * 1000);
    }
}

/* ---- the exactly-once checks ---- */

/* The history of ip, oldest first, as its events: "ban renew unban ban". */
static void s_history_events(const char *ip, char *out, size_t len)
{
    redisReply *r = hn_redis(s_t.redis_port, "LRANGE fgha:history:%s 0 -1", ip);
    assert_non_null(r);
    out[0] = '\0';
    for (size_t i = r->elements; i-- > 0;) {
        const char *e = strstr(r->element[i]->str, "\"event\":\"");
        assert_non_null(e);
        e += 9;
        snprintf(out + strlen(out), len - strlen(out), "%s%.*s", out[0] ? " " : "",
                 (int)(strchr(e, '"') - e), e);
    }
    freeReplyObject(r);
}

/* Events of ip in the stream, in order, the same way. */
static void s_stream_events(const char *ip, char *out, size_t len)
{
    redisReply *r = hn_redis(s_t.redis_port, "XRANGE fgha:events - +");
    assert_non_null(r);
    out[0] = '\0';
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        const char *event = NULL, *eip = NULL;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (!strcmp(f->element[k]->str, "event"))
                event = f->element[k + 1]->str;
            if (!strcmp(f->element[k]->str, "ip"))
                eip = f->element[k + 1]->str;
        }
        if (eip && event && !strcmp(eip, ip))
            snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? " " : "", event);
    }
    freeReplyObject(r);
}

/* The notify script's runs for ip, in order. */
static void s_script_events(const char *ip, char *out, size_t len)
{
    char *text = hn_read_file(s_t.script_log);
    size_t n = strlen(ip);
    out[0] = '\0';
    for (char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, ip, n) && p[n] == ' ')
            snprintf(out + strlen(out), len - strlen(out), "%s%.*s", out[0] ? " " : "",
                     (int)strcspn(p + n + 1, "\n"), p + n + 1);
    free(text);
}

/* "ban renew renew unban ban unban" -> "ban unban ban unban". */
static void s_without_renewals(const char *in, char *out, size_t len)
{
    out[0] = '\0';
    char *copy = strdup(in);
    for (char *w = strtok(copy, " "); w; w = strtok(NULL, " "))
        if (strcmp(w, "renew") != 0)
            snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? " " : "", w);
    free(copy);
}

/* ip: history and stream agree, alternate ban/unban starting with a ban and
 * ending with an unban, and the script ran once for each. */
/* For each of the 5 ips (arg), the script ran for every ban and unban of
 * its history. */
static bool s_scripts_caught_up(void *arg)
{
    const char **ips = arg;
    for (int i = 0; i < 5; i++) {
        char hist[2048], script[2048], bans[2048];
        s_history_events(ips[i], hist, sizeof(hist));
        s_script_events(ips[i], script, sizeof(script));
        s_without_renewals(hist, bans, sizeof(bans));
        if (strcmp(script, bans) != 0)
            return false;
    }
    return true;
}

static void s_expect_once(const char *ip, int min_bans)
{
    char hist[2048], stream[2048], script[2048], bans[2048], expect[2048] = "";
    s_history_events(ip, hist, sizeof(hist));
    s_stream_events(ip, stream, sizeof(stream));
    s_script_events(ip, script, sizeof(script));
    s_without_renewals(hist, bans, sizeof(bans));
    fprintf(stderr, "# %s: history [%s]; script [%s]\n", ip, hist, script);
    if (strcmp(hist, stream) != 0)
        fail_msg("%s: history [%s] != events [%s]; logs in %s", ip, hist, stream, s_t.dir);
    int n = 0;
    for (; strlen(expect) < strlen(bans); n++)
        snprintf(expect + strlen(expect), sizeof(expect) - strlen(expect), "%sban unban",
                 expect[0] ? " " : "");
    if (strcmp(bans, expect) != 0 || n < min_bans)
        fail_msg("%s: bans and unbans [%s] do not alternate (or fewer than %d); logs in %s", ip,
                 hist, min_bans, s_t.dir);
    if (strcmp(script, bans) != 0)
        fail_msg("%s: script runs [%s] != recorded [%s]; logs in %s", ip, script, bans, s_t.dir);
}

/* ---- fixture ---- */

static int s_setup(void **state)
{
    (void)state;
    ha_t *t = &s_t;
    t->dir = hn_tmpdir("e2e-ha");
    snprintf(t->bird_sock, sizeof(t->bird_sock), "%s/bird.ctl", t->dir);
    snprintf(t->script_log, sizeof(t->script_log), "%s/script.log", t->dir);
    int n = 2 + (int)(getpid() % 200);
    snprintf(t->bird_addr, sizeof(t->bird_addr), "127.0.%d.13", n);
    t->redis_port = hn_free_port();
    t->bird_port = hn_free_port();
    for (int i = 0; i < 2; i++) {
        ha_host_t *h = &t->h[i];
        snprintf(h->addr, sizeof(h->addr), "127.0.%d.%d", n, 11 + 3 * i);
        snprintf(h->conf, sizeof(h->conf), "%s/floodgate-%c.conf", t->dir, 'A' + i);
        h->bgp_port = hn_free_port();
        h->api_port = hn_free_port();
        h->act_port = hn_free_port();
    }
    s_write_configs(t);
    hn_write_file(t->script_log, "");
    t->redis = hn_redis_start(t->dir, t->redis_port, false);
    t->bird = bt_start_bird(t->dir, t->bird_sock);
    for (int d = 0; d < 2; d++)
        for (int a = 0; a < 2; a++) {
            t->push[d][a] = zsock_new(ZMQ_PUSH);
            zsock_set_sndhwm(t->push[d][a], 1000);
            zsock_set_linger(t->push[d][a], 0);
            assert_int_equal(
                zsock_connect(t->push[d][a], "tcp://127.0.0.1:%d", t->h[a].act_port), 0);
        }
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    ha_t *t = &s_t;
    for (int d = 0; d < 2; d++)
        for (int a = 0; a < 2; a++)
            zsock_destroy(&t->push[d][a]);
    for (int i = 0; i < 2; i++) {
        kill(t->h[i].actuator, SIGCONT);
        hn_stop(t->h[i].actuator, 3000);
        hn_stop(t->h[i].gobgpd, 3000);
    }
    hn_stop(t->bird, 3000);
    hn_stop(t->redis, 3000);
    hn_tmpdir_done(&t->dir);
    return 0;
}

/* ---- the test ---- */

static void s_phase_start(ha_t *t)
{
    int b = 1;
    s_start_host(t, 0);
    if (!hn_wait_until(s_lease_is, "host-A ", 5000))
        fail_msg("A did not take the lease: [%s]; logs in %s", s_lease(), t->dir);
    s_start_host(t, 1);
    if (!hn_wait_until(s_standby_logged, &b, 5000))
        fail_msg("B not standby; logs in %s", t->dir);
    if (!hn_wait_until(s_session_up, "ga", 20000) || !hn_wait_until(s_session_up, "gb", 20000))
        fail_msg("BGP sessions not up within 20 s; logs in %s", t->dir);
    /* both detectors report the same attacks to both actuators */
    s_report("10.0.1.1", FLOODGATE__ACTION__BAN, 3);   /* expires during the takeover */
    s_report("10.0.0.2", FLOODGATE__ACTION__BAN, 600); /* deleted while no one is active */
    s_report("10.0.0.4", FLOODGATE__ACTION__BAN, 600); /* stays */
    s_report("10.0.1.3", FLOODGATE__ACTION__BAN, 3);   /* reported ONGOING throughout */
    s_ongoing_for(1500);
    s_expect_match(5000);
    char bird[2048];
    s_bird_set(bird, sizeof(bird));
    assert_non_null(strstr(bird, "10.0.0.2/32"));
    assert_non_null(strstr(bird, "10.0.1.3/32"));
}

static void s_phase_kill_a(ha_t *t)
{
    uint64_t t0 = hn_ms();
    s_kill_host(t, 0);
    bool gone = hn_wait_until(s_route_not_in_bird, "10.0.0.4/32", 800);
    fprintf(stderr, "# kill -9 of host A -> its routes %s BIRD after %llu ms\n",
            gone ? "left" : "still in", (unsigned long long)(hn_ms() - t0));
    redisReply *r = hn_redis(t->redis_port, "DEL fgha:ban:10.0.0.2");
    assert_non_null(r);
    freeReplyObject(r);
    s_report("10.0.0.5", FLOODGATE__ACTION__BAN, 600); /* a new attack, decided in the gap */
    while (!s_lease_is("host-B ") && hn_ms() - t0 < 5000)
        s_ongoing_for(100);
    uint64_t took = hn_ms() - t0;
    fprintf(stderr, "# kill -9 of host A -> B holds the lease: %llu ms\n",
            (unsigned long long)took);
    if (took > HA_TAKEOVER_MAX_MS)
        fail_msg("B took %llu ms to take over (lease %d ms); logs in %s",
                 (unsigned long long)took, HA_LEASE_MS, t->dir);
    if (!hn_wait_until(s_route_in_bird, "10.0.0.4/32", 5000))
        fail_msg("10.0.0.4 (banned before) not announced again by B; logs in %s", t->dir);
    fprintf(stderr, "# kill -9 of host A -> 10.0.0.4 announced again through B: %llu ms\n",
            (unsigned long long)(hn_ms() - t0));
    if (!hn_wait_until(s_key_exists, "10.0.0.5", 3000))
        fail_msg("the attack decided in the gap was not banned; logs in %s", t->dir);
    if (!hn_wait_until(s_route_in_bird, "10.0.0.5/32", 5000))
        fail_msg("10.0.0.5 (decided in the gap) not in BIRD; logs in %s", t->dir);
    fprintf(stderr, "# kill -9 of host A -> 10.0.0.5 (decided in the gap) in BIRD: %llu ms\n",
            (unsigned long long)(hn_ms() - t0));
    s_ongoing_for(2500);
    s_expect_match(5000);
    if (!s_log_has(1, "event=unban_owed ip=10.0.0.2"))
        fail_msg("B did not find the unban it owed; logs in %s", t->dir);
}

static void s_phase_freeze_b(ha_t *t)
{
    int b = 1;
    s_start_host(t, 0);
    s_ongoing_for(1000);
    kill(t->h[1].actuator, SIGSTOP);
    uint64_t t0 = hn_ms();
    while (!s_lease_is("host-A ") && hn_ms() - t0 < 5000)
        s_ongoing_for(100);
    fprintf(stderr, "# B frozen -> A holds the lease: %llu ms\n",
            (unsigned long long)(hn_ms() - t0));
    assert_true(s_lease_is("host-A "));
    if (!hn_wait_until(s_session_up, "ga", 20000))
        fail_msg("BGP session of A not up again within 20 s; logs in %s", t->dir);
    s_ongoing_for(1000);
    kill(t->h[1].actuator, SIGCONT);
    if (!hn_wait_until(s_standby_logged, &b, 5000))
        fail_msg("B, thawed, did not step down; logs in %s", t->dir);
    s_ongoing_for(1500);
    s_expect_match(5000);
}

static void test_ha_takeover_exactly_once(void **state)
{
    (void)state;
    ha_t *t = &s_t;
    s_phase_start(t);
    s_phase_kill_a(t);
    s_phase_freeze_b(t);
    /* the reports stop: the short bans lapse; the others are lifted by hand */
    redisReply *r = hn_redis(t->redis_port, "DEL fgha:ban:10.0.0.4 fgha:ban:10.0.0.5");
    assert_non_null(r);
    freeReplyObject(r);
    if (!hn_wait_until(s_no_keys, NULL, 8000))
        fail_msg("bans still in Redis; logs in %s", t->dir);
    s_expect_match(5000);
    /* the notify scripts have run for everything recorded */
    const char *ips[] = {"10.0.1.1", "10.0.0.2", "10.0.0.4", "10.0.1.3", "10.0.0.5"};
    if (!hn_wait_until(s_scripts_caught_up, ips, 5000))
        fail_msg("the notify scripts did not catch up with the history within 5 s");
    s_expect_once("10.0.1.1", 1);
    s_expect_once("10.0.0.2", 1);
    s_expect_once("10.0.0.4", 1);
    s_expect_once("10.0.1.3", 1);
    s_expect_once("10.0.0.5", 1);
}

/* ---- two detectors, the real pipeline ---- */

static bool s_lease_port_is_a(void *arg);

typedef struct {
    char *dir;
    char conf[2][600], script_log[600];
    int redis_port, nf_port, pull_port, pub_port, act_port[2];
    int m_det[2]; /* the detectors' metrics ports (the second one's by environment) */
    pid_t redis, collector, aggregator, detector[2], actuator[2];
} pipe_t;

static pipe_t s_p;

static void s_pipe_configs(pipe_t *e)
{
    char text[4096], path[600];
    for (int i = 0; i < 2; i++) {
        snprintf(text, sizeof(text),
                 "networks\n    monitored = \"10.0.0.0/16\"\n"
                 "redis\n    address = 127.0.0.1:%d\n    prefix = fgha2\n"
                 "collector\n    netflow_listen = 127.0.0.1:%d\n    batch_ms = 10\n"
                 "    metrics_listen = \"\"\n"
                 "aggregator\n    pull_bind = tcp://127.0.0.1:%d\n    pub_bind = tcp://127.0.0.1:%d\n"
                 "    pull_connect = tcp://127.0.0.1:%d\n    pub_connect = tcp://127.0.0.1:%d\n"
                 "    tick_ms = 200\n    metrics_listen = \"\"\n"
                 "detector\n    ongoing_interval = 1\n    attack_end = 10\n"
                 "    metrics_listen = 127.0.0.1:%d\n"
                 "actuator\n    bind = tcp://127.0.0.1:%d\n"
                 "    connect = \"tcp://127.0.0.1:%d tcp://127.0.0.1:%d\"\n"
                 "    id = pipe-%c\n    lease_ms = %d\n    metrics_listen = \"\"\n"
                 "    notify_script = %s/notify.sh\n    check_interval = 1\n"
                 "hostgroup\n    default\n        ban_time = 600\n        threshold_pps = 5000\n"
                 "        threshold_mbps = 0\n        threshold_flows = 0\n",
                 e->redis_port, e->nf_port, e->pull_port, e->pub_port, e->pull_port, e->pub_port,
                 e->m_det[0], e->act_port[i], e->act_port[0], e->act_port[1], 'A' + i, HA_LEASE_MS, e->dir);
        hn_write_file(e->conf[i], text);
    }
    snprintf(text, sizeof(text), "#!/bin/sh\ncat >/dev/null\necho \"$1 $4\" >> %s\n",
             e->script_log);
    snprintf(path, sizeof(path), "%s/notify.sh", e->dir);
    hn_write_file(path, text);
    chmod(path, 0755);
    hn_write_file(e->script_log, "");
}

/* floodgate-<name> -c conf, its log in dir/<name><tag>.log. */
static pid_t s_daemon(const char *dir, const char *conf, const char *name, const char *tag)
{
    char bin[512], log[600];
    snprintf(bin, sizeof(bin), "%s/floodgate-%s", hn_build_dir(), name);
    snprintf(log, sizeof(log), "%s/%s%s.log", dir, name, tag);
    char *argv[] = {bin, "-c", (char *)conf, NULL};
    return hn_spawn(argv, log);
}

static int s_pipe_setup(void **state)
{
    (void)state;
    pipe_t *e = &s_p;
    e->dir = hn_tmpdir("e2e-ha2");
    snprintf(e->script_log, sizeof(e->script_log), "%s/script.log", e->dir);
    e->redis_port = hn_free_port();
    e->nf_port = hn_free_port();
    e->pull_port = hn_free_port();
    e->pub_port = hn_free_port();
    for (int i = 0; i < 2; i++) {
        e->act_port[i] = hn_free_port();
        e->m_det[i] = hn_free_port();
        snprintf(e->conf[i], sizeof(e->conf[i]), "%s/floodgate-%c.conf", e->dir, 'A' + i);
    }
    s_pipe_configs(e);
    e->redis = hn_redis_start(e->dir, e->redis_port, false);
    e->actuator[0] = hn_daemon(e->dir, e->conf[0], "actuator", NULL);
    if (!hn_wait_until(s_lease_port_is_a, NULL, 5000))
        fail_msg("actuator A did not take the lease; logs in %s", e->dir);
    e->actuator[1] = s_daemon(e->dir, e->conf[1], "actuator", "-b");
    e->detector[0] = s_daemon(e->dir, e->conf[0], "detector", "");
    char bin[512], log[600], env_m[96];
    snprintf(bin, sizeof(bin), "%s/floodgate-detector", hn_build_dir());
    snprintf(log, sizeof(log), "%s/detector-2.log", e->dir);
    snprintf(env_m, sizeof(env_m), "FLOODGATE_DETECTOR_METRICS_LISTEN=127.0.0.1:%d", e->m_det[1]);
    char *argv[] = {bin, "-c", e->conf[0], NULL};
    char *env[] = {env_m, NULL};
    e->detector[1] = hn_spawn_env(argv, env, log);
    e->aggregator = hn_daemon(e->dir, e->conf[0], "aggregator", "0");
    e->collector = hn_daemon(e->dir, e->conf[0], "collector", NULL);
    pid_t all[] = {e->actuator[0], e->actuator[1], e->detector[0], e->detector[1],
                   e->aggregator, e->collector};
    hn_expect_alive(all, sizeof(all) / sizeof(all[0]), e->dir);
    for (int i = 0; i < 2; i++) /* both detectors hear the shard before traffic starts */
        hn_expect_ready(e->m_det[i], 1, &e->m_det[i], 1, 10000);
    return 0;
}

static int s_pipe_teardown(void **state)
{
    (void)state;
    pipe_t *e = &s_p;
    pid_t all[] = {e->collector, e->aggregator, e->detector[0], e->detector[1],
                   e->actuator[0], e->actuator[1]};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        hn_stop(all[i], 3000);
    hn_stop(e->redis, 3000);
    hn_tmpdir_done(&e->dir);
    return 0;
}

static pid_t s_flood(pipe_t *e, const char *dst, int seconds, const char *name)
{
    char cmd[1024], log[600];
    snprintf(cmd, sizeof(cmd),
             "exec %s/floodgate-flowgen -d 127.0.0.1:%d --dst %s --pps 40000 --duration %d",
             hn_build_dir(), e->nf_port, dst, seconds);
    snprintf(log, sizeof(log), "%s/%s.log", e->dir, name);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return hn_spawn(argv, log);
}

static bool s_pipe_key(void *ip)
{
    redisReply *r = hn_redis(s_p.redis_port, "EXISTS fgha2:ban:%s", (char *)ip);
    bool yes = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    return yes;
}

/* Lines of the file at path containing needle. */
static int s_count_in(const char *path, const char *needle)
{
    char *text = hn_read_file(path);
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    free(text);
    return n;
}

/* Per address in fgha2: "ban" lines in the history, events in the stream,
 * script runs. */
static void s_pipe_once(pipe_t *e, const char *ip)
{
    char needle[64], path[600];
    redisReply *h = hn_redis(e->redis_port, "LRANGE fgha2:history:%s 0 -1", ip);
    assert_non_null(h);
    int bans = 0;
    for (size_t i = 0; i < h->elements; i++)
        bans += strstr(h->element[i]->str, "\"event\":\"ban\"") != NULL;
    freeReplyObject(h);
    redisReply *x = hn_redis(e->redis_port, "XRANGE fgha2:events - +");
    assert_non_null(x);
    int events = 0;
    for (size_t i = 0; i < x->elements; i++) {
        const redisReply *f = x->element[i]->element[1];
        bool is_ip = false, is_ban = false;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            is_ip |= !strcmp(f->element[k]->str, "ip") && !strcmp(f->element[k + 1]->str, ip);
            is_ban |= !strcmp(f->element[k]->str, "event") && !strcmp(f->element[k + 1]->str, "ban");
        }
        events += is_ip && is_ban;
    }
    freeReplyObject(x);
    snprintf(needle, sizeof(needle), "%s ban\n", ip);
    int runs = s_count_in(e->script_log, needle);
    snprintf(needle, sizeof(needle), "event=ban ip=%s ", ip);
    snprintf(path, sizeof(path), "%s/detector.log", e->dir);
    int det1 = s_count_in(path, needle);
    snprintf(path, sizeof(path), "%s/detector-2.log", e->dir);
    int det2 = s_count_in(path, needle);
    fprintf(stderr, "# %s: BAN decided by detector 1: %d, 2: %d; recorded: history %d, "
            "events %d, script %d\n", ip, det1, det2, bans, events, runs);
    if (bans != 1 || events != 1 || runs != 1)
        fail_msg("%s banned more or less than once; logs in %s", ip, e->dir);
}

static bool s_lease_port_is_a(void *arg)
{
    (void)arg;
    redisReply *r = hn_redis(s_p.redis_port, "GET fgha2:actuator:lease");
    bool yes = r && r->type == REDIS_REPLY_STRING && !strncmp(r->str, "pipe-A ", 7);
    if (r)
        freeReplyObject(r);
    return yes;
}

static void test_ha_two_detectors(void **state)
{
    (void)state;
    pipe_t *e = &s_p;
    pid_t f1 = s_flood(e, "10.0.0.9", 12, "flood-1");
    if (!hn_wait_until(s_pipe_key, "10.0.0.9", 8000))
        fail_msg("10.0.0.9 not banned; logs in %s", e->dir);
    char dlog[2][600]; /* both detectors report it */
    snprintf(dlog[0], sizeof(dlog[0]), "%s/detector.log", e->dir);
    snprintf(dlog[1], sizeof(dlog[1]), "%s/detector-2.log", e->dir);
    for (int i = 0; i < 2; i++)
        if (!hn_wait_log(dlog[i], "event=ban ip=10.0.0.9 ", 5000))
            fail_msg("detector %d did not decide the first ban; logs in %s", i + 1, e->dir);
    kill(e->detector[0], SIGKILL); /* one detector dies during the attack */
    hn_stop(e->detector[0], 1000);
    e->detector[0] = 0;
    pid_t f2 = s_flood(e, "10.0.0.10", 6, "flood-2");
    if (!hn_wait_until(s_pipe_key, "10.0.0.10", 8000))
        fail_msg("10.0.0.10 (flood after detector 1 died) not banned; logs in %s", e->dir);
    hn_wait_exit(f1, 15000);
    hn_wait_exit(f2, 15000);
    assert_true(s_pipe_key("10.0.0.9"));
    /* the notify scripts have run for both bans */
    hn_wait_log(e->script_log, "10.0.0.9 ban\n", 5000);
    hn_wait_log(e->script_log, "10.0.0.10 ban\n", 5000);
    s_pipe_once(e, "10.0.0.9");
    s_pipe_once(e, "10.0.0.10");
    char path[600];
    snprintf(path, sizeof(path), "%s/detector.log", e->dir);
    if (s_count_in(path, "event=ban ip=10.0.0.9 ") != 1)
        fail_msg("detector 1 did not decide the first ban; logs in %s", e->dir);
    snprintf(path, sizeof(path), "%s/detector-2.log", e->dir);
    if (s_count_in(path, "event=ban ip=10.0.0.9 ") != 1)
        fail_msg("detector 2 did not decide the first ban; logs in %s", e->dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ha_takeover_exactly_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ha_two_detectors, s_pipe_setup, s_pipe_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
