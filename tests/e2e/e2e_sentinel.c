/* End to end: Redis with Sentinel. A master and a replica (redis-server,
 * append-only file with appendfsync everysec, as the README asks) and three
 * sentinels (redis-server --sentinel, quorum 2, down-after 1000 ms) on
 * loopback; the actuator and the CLI find the master through the sentinels.
 *
 *   1. two bans are written to the master (and reach the replica);
 *   2. the master is killed (kill -9); a ban decided during the failover is
 *      announced at once (notify script) and queued;
 *   3. the sentinels promote the replica: the actuator follows (asks the
 *      sentinels again), writes the queued ban to the new master, and set
 *      the keyspace notifications there; the two earlier bans survived;
 *   4. every ban is recorded once (history, events, script); the CLI lists
 *      the three bans from the new master. */
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

typedef struct {
    char *dir;
    char conf[600], script_log[600];
    int port[2], sport[3], act_port;
    pid_t redis[2], sentinel[3], actuator;
    zsock_t *push;
} sen_t;

static sen_t s_s;

static pid_t s_redis_node(sen_t *t, int i)
{
    char port[16], dir[600], log[600], master[16];
    snprintf(port, sizeof(port), "%d", t->port[i]);
    snprintf(dir, sizeof(dir), "%s/node%d", t->dir, i);
    mkdir(dir, 0700);
    snprintf(log, sizeof(log), "%s/redis%d.log", t->dir, i);
    snprintf(master, sizeof(master), "%d", t->port[0]);
    char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", dir,
                    "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
                    "--notify-keyspace-events", "Egx",
                    i ? "--replicaof" : NULL, "127.0.0.1", master, NULL};
    return hn_spawn(argv, log);
}

static pid_t s_sentinel(sen_t *t, int i)
{
    char text[1024], path[600], log[600];
    snprintf(text, sizeof(text),
             "port %d\nbind 127.0.0.1\ndir %s\n"
             "sentinel monitor floodgate 127.0.0.1 %d 2\n"
             "sentinel down-after-milliseconds floodgate 1000\n"
             "sentinel failover-timeout floodgate 5000\n"
             "sentinel parallel-syncs floodgate 1\n",
             t->sport[i], t->dir, t->port[0]);
    snprintf(path, sizeof(path), "%s/sentinel%d.conf", t->dir, i);
    hn_write_file(path, text);
    snprintf(log, sizeof(log), "%s/sentinel%d.log", t->dir, i);
    char *argv[] = {"redis-server", path, "--sentinel", NULL};
    return hn_spawn(argv, log);
}

static void s_write_config(sen_t *t)
{
    char text[2048], path[600];
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16\"\n"
             "redis\n    sentinels = \"127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d\"\n"
             "    sentinel_master = floodgate\n    prefix = fgsen\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    check_interval = 1\n"
             "    metrics_listen = \"\"\n    notify_script = %s/notify.sh\n"
             "hostgroup\n    default\n        ban_time = 600\n",
             t->sport[0], t->sport[1], t->sport[2], t->act_port, t->dir);
    hn_write_file(t->conf, text);
    snprintf(text, sizeof(text), "#!/bin/sh\ncat >/dev/null\necho \"$1 $4\" >> %s\n",
             t->script_log);
    snprintf(path, sizeof(path), "%s/notify.sh", t->dir);
    hn_write_file(path, text);
    chmod(path, 0755);
    hn_write_file(t->script_log, "");
}

static void s_decide(const char *ip)
{
    Floodgate__Decision d;
    Floodgate__Rates total;
    hn_decision(&d, &total, ip, FLOODGATE__ACTION__BAN, 600);
    size_t n = floodgate__decision__get_packed_size(&d);
    zframe_t *f = zframe_new(NULL, n);
    floodgate__decision__pack(&d, zframe_data(f));
    assert_int_equal(zframe_send(&f, s_s.push, 0), 0);
}

/* The port the sentinels name as the master (0 when they disagree or fail). */
static int s_master_port(void)
{
    int port = 0;
    for (int i = 0; i < 3; i++) {
        redisReply *r = hn_redis(s_s.sport[i], "SENTINEL get-master-addr-by-name floodgate");
        int p = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 ? atoi(r->element[1]->str)
                                                                      : -1;
        if (r)
            freeReplyObject(r);
        if (p <= 0 || (port && p != port))
            return 0;
        port = p;
    }
    return port;
}

static bool s_promoted(void *arg)
{
    (void)arg;
    return s_master_port() == s_s.port[1];
}

static bool s_has_key(int port, const char *ip)
{
    redisReply *r = hn_redis(port, "EXISTS fgsen:ban:%s", ip);
    bool yes = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    return yes;
}

static bool s_on_master(void *ip)
{
    return s_has_key(s_s.port[0], ip);
}

static bool s_on_replica(void *ip)
{
    return s_has_key(s_s.port[1], ip);
}

static bool s_sentinels_ready(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        redisReply *r = hn_redis(s_s.sport[i], "SENTINEL replicas floodgate");
        bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1;
        if (r)
            freeReplyObject(r);
        if (!ok)
            return false;
    }
    return s_master_port() == s_s.port[0];
}

/* History lines of ip that are bans. */
static int s_history_bans(int port, const char *ip)
{
    redisReply *r = hn_redis(port, "LRANGE fgsen:history:%s 0 -1", ip);
    assert_non_null(r);
    int n = 0;
    for (size_t i = 0; i < r->elements; i++)
        n += strstr(r->element[i]->str, "\"event\":\"ban\"") != NULL;
    freeReplyObject(r);
    return n;
}

/* Stream entries that are a ban of ip. */
static int s_stream_bans(int port, const char *ip)
{
    redisReply *r = hn_redis(port, "XRANGE fgsen:events - +");
    assert_non_null(r);
    int n = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        bool is_ip = false, is_ban = false;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            is_ip |= !strcmp(f->element[k]->str, "ip") && !strcmp(f->element[k + 1]->str, ip);
            is_ban |= !strcmp(f->element[k]->str, "event") && !strcmp(f->element[k + 1]->str, "ban");
        }
        n += is_ip && is_ban;
    }
    freeReplyObject(r);
    return n;
}

static void s_expect_once(const char *ip)
{
    int hist = s_history_bans(s_s.port[1], ip), events = s_stream_bans(s_s.port[1], ip);
    char needle[64];
    snprintf(needle, sizeof(needle), "%s ban\n", ip);
    char *text = hn_read_file(s_s.script_log);
    int runs = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
        runs++;
    free(text);
    fprintf(stderr, "# %s on the new master: history %d, events %d, script %d\n", ip, hist,
            events, runs);
    if (hist != 1 || events != 1 || runs != 1)
        fail_msg("%s not recorded exactly once; logs in %s", ip, s_s.dir);
}

static int s_setup(void **state)
{
    (void)state;
    sen_t *t = &s_s;
    t->dir = hn_tmpdir("e2e-sentinel");
    snprintf(t->conf, sizeof(t->conf), "%s/floodgate.conf", t->dir);
    snprintf(t->script_log, sizeof(t->script_log), "%s/script.log", t->dir);
    for (int i = 0; i < 2; i++)
        t->port[i] = hn_free_port();
    for (int i = 0; i < 3; i++)
        t->sport[i] = hn_free_port();
    t->act_port = hn_free_port();
    s_write_config(t);
    for (int i = 0; i < 2; i++)
        t->redis[i] = s_redis_node(t, i);
    for (int i = 0; i < 3; i++)
        t->sentinel[i] = s_sentinel(t, i);
    if (!hn_wait_until(s_sentinels_ready, NULL, 15000))
        fail_msg("sentinels not ready within 15 s; logs in %s", t->dir);
    char bin[512], log[600];
    snprintf(bin, sizeof(bin), "%s/floodgate-actuator", hn_build_dir());
    snprintf(log, sizeof(log), "%s/actuator.log", t->dir);
    char *argv[] = {bin, "-c", t->conf, NULL};
    t->actuator = hn_spawn(argv, log);
    t->push = zsock_new(ZMQ_PUSH);
    assert_int_equal(zsock_connect(t->push, "tcp://127.0.0.1:%d", t->act_port), 0);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    sen_t *t = &s_s;
    zsock_destroy(&t->push);
    hn_stop(t->actuator, 3000);
    for (int i = 0; i < 3; i++)
        hn_stop(t->sentinel[i], 3000);
    for (int i = 0; i < 2; i++)
        if (t->redis[i] > 0)
            hn_stop(t->redis[i], 3000);
    hn_tmpdir_done(&t->dir);
    return 0;
}

static void test_sentinel_failover_keeps_bans(void **state)
{
    (void)state;
    sen_t *t = &s_s;
    s_decide("10.0.0.1");
    s_decide("10.0.0.2");
    if (!hn_wait_until(s_on_master, "10.0.0.1", 5000) ||
        !hn_wait_until(s_on_master, "10.0.0.2", 5000))
        fail_msg("bans not written to the master; logs in %s", t->dir);
    if (!hn_wait_until(s_on_replica, "10.0.0.2", 5000))
        fail_msg("bans not replicated; logs in %s", t->dir);
    uint64_t t0 = hn_ms();
    kill(t->redis[0], SIGKILL);
    hn_stop(t->redis[0], 1000);
    t->redis[0] = 0;
    usleep(200 * 1000);
    s_decide("10.0.0.3"); /* decided during the failover */
    if (!hn_wait_until(s_promoted, NULL, 20000))
        fail_msg("the sentinels did not promote the replica within 20 s; logs in %s", t->dir);
    fprintf(stderr, "# master killed -> replica promoted: %llu ms\n",
            (unsigned long long)(hn_ms() - t0));
    if (!hn_wait_until(s_on_replica, "10.0.0.3", 15000))
        fail_msg("the ban decided during the failover is not on the new master; logs in %s",
                 t->dir);
    fprintf(stderr, "# master killed -> queued ban on the new master: %llu ms\n",
            (unsigned long long)(hn_ms() - t0));
    assert_true(s_has_key(t->port[1], "10.0.0.1"));
    assert_true(s_has_key(t->port[1], "10.0.0.2"));
    redisReply *r = hn_redis(t->port[1], "CONFIG GET notify-keyspace-events");
    assert_non_null(r);
    assert_true(r->elements == 2 && strchr(r->element[1]->str, 'E') &&
                strchr(r->element[1]->str, 'x'));
    freeReplyObject(r);
    /* the notify script has run for the three bans */
    hn_wait_log(t->script_log, "10.0.0.1 ban\n", 5000);
    hn_wait_log(t->script_log, "10.0.0.2 ban\n", 5000);
    hn_wait_log(t->script_log, "10.0.0.3 ban\n", 5000);
    s_expect_once("10.0.0.1");
    s_expect_once("10.0.0.2");
    s_expect_once("10.0.0.3");
    /* the CLI finds the new master through the sentinels too */
    char cmd[2048], out[600];
    snprintf(out, sizeof(out), "%s/bans.out", t->dir);
    snprintf(cmd, sizeof(cmd), "%s/floodgate -c %s bans > %s 2>&1", hn_build_dir(), t->conf, out);
    assert_int_equal(system(cmd), 0);
    char *bans = hn_read_file(out);
    assert_non_null(bans);
    if (!strstr(bans, "10.0.0.1") || !strstr(bans, "10.0.0.2") || !strstr(bans, "10.0.0.3"))
        fail_msg("floodgate bans through the sentinels:\n%s", bans);
    free(bans);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sentinel_failover_keeps_bans, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
