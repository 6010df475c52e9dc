/* End to end: a dead aggregator shard is visible at once. Collector, two
 * shards, detector and actuator on loopback with a real redis-server;
 * floodgate-flowgen sends background traffic to 40 hosts (both shards hold
 * some). Shard 1 is killed (kill -9):
 *
 *   1. the detector's /healthz turns 503 within 3 s, naming shard 1 and the
 *      share of hosts it held; floodgate_detector_shard_up{shard="1"} is 0;
 *   2. `floodgate status` says PROBLEM: shard 1 missing, with that share;
 *   3. meanwhile a flood on hosts of the live shard is still banned;
 *   4. shard 1 restarted: /healthz is 200 again. */
#include <czmq.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis.h>

#include "cli/scrape.h"
#include "tests/harness.h"

typedef struct {
    char *dir, conf[600];
    int redis_port, nf_port, pull[2], pub[2], act_port, det_metrics;
    pid_t redis, collector, shard[2], detector, actuator;
} sh_t;

static sh_t s_t;

static void s_write_config(sh_t *t)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16\"\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgshard\n"
             "collector\n    netflow_listen = 127.0.0.1:%d\n    batch_ms = 10\n"
             "    metrics_listen = \"\"\n"
             "aggregator\n    shards = 2\n    pull_bind = tcp://127.0.0.1:5550\n"
             "    pub_bind = tcp://127.0.0.1:5560\n"
             "    pull_connect = \"tcp://127.0.0.1:%d tcp://127.0.0.1:%d\"\n"
             "    pub_connect = \"tcp://127.0.0.1:%d tcp://127.0.0.1:%d\"\n"
             "    tick_ms = 200\n    metrics_listen = \"\"\n    watch_floor = 0\n"
             "detector\n    ongoing_interval = 1\n    attack_end = 10\n"
             "    metrics_listen = 127.0.0.1:%d\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    connect = tcp://127.0.0.1:%d\n"
             "    metrics_listen = \"\"\n    check_interval = 1\n"
             "hostgroup\n    default\n        ban_time = 600\n        threshold_pps = 5000\n"
             "        threshold_mbps = 0\n        threshold_flows = 0\n",
             t->redis_port, t->nf_port, t->pull[0], t->pull[1], t->pub[0], t->pub[1],
             t->det_metrics, t->act_port, t->act_port);
    hn_write_file(t->conf, text);
}

/* One shard, its bind endpoints from the environment
 * (FLOODGATE_AGGREGATOR_PULL_BIND / _PUB_BIND): free ports, not a pair. */
static pid_t s_shard(sh_t *t, int i)
{
    char bin[512], log[600], shard[8], pull[64], pub[64];
    snprintf(bin, sizeof(bin), "%s/floodgate-aggregator", hn_build_dir());
    snprintf(log, sizeof(log), "%s/aggregator%d.log", t->dir, i);
    snprintf(shard, sizeof(shard), "%d", i);
    /* shard i binds the base port + i */
    snprintf(pull, sizeof(pull), "FLOODGATE_AGGREGATOR_PULL_BIND=tcp://127.0.0.1:%d", t->pull[i] - i);
    snprintf(pub, sizeof(pub), "FLOODGATE_AGGREGATOR_PUB_BIND=tcp://127.0.0.1:%d", t->pub[i] - i);
    char *argv[] = {bin, "-c", t->conf, "--shard", shard, NULL};
    char *env[] = {pull, pub, NULL};
    return hn_spawn_env(argv, env, log);
}

static pid_t s_flowgen(sh_t *t, const char *args, const char *name)
{
    char cmd[1024], log[600];
    snprintf(cmd, sizeof(cmd), "exec %s/floodgate-flowgen -d 127.0.0.1:%d %s", hn_build_dir(),
             t->nf_port, args);
    snprintf(log, sizeof(log), "%s/%s.log", t->dir, name);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return hn_spawn(argv, log);
}

/* GET path of the detector's metrics port: the code, the body in *body. */
static int s_get(const char *path, char **body)
{
    char hp[64], err[256];
    snprintf(hp, sizeof(hp), "127.0.0.1:%d", s_t.det_metrics);
    *body = NULL;
    return scrape_get(hp, path, 3000, body, err, sizeof(err));
}

static bool s_healthz_names_shard1(void *arg)
{
    char *body;
    int code = s_get("/healthz", &body);
    bool yes = code == 503 && body && strstr(body, "shard 1 of 2 silent");
    if (yes && arg)
        snprintf(arg, 300, "%s", body);
    free(body);
    return yes;
}

static bool s_healthy(void *arg)
{
    (void)arg;
    char *body;
    int code = s_get("/healthz", &body);
    free(body);
    return code == 200;
}

static int s_bans(void)
{
    redisReply *r = hn_redis(s_t.redis_port, "KEYS fgshard:ban:*");
    int n = r ? (int)r->elements : -1;
    if (r)
        freeReplyObject(r);
    return n;
}

static bool s_banned(void *arg)
{
    (void)arg;
    return s_bans() > 0;
}

static int s_setup(void **state)
{
    (void)state;
    sh_t *t = &s_t;
    t->dir = hn_tmpdir("e2e-shard");
    snprintf(t->conf, sizeof(t->conf), "%s/floodgate.conf", t->dir);
    t->redis_port = hn_free_port();
    t->nf_port = hn_free_port();
    for (int i = 0; i < 2; i++) {
        t->pull[i] = hn_free_port();
        t->pub[i] = hn_free_port();
    }
    t->act_port = hn_free_port();
    t->det_metrics = hn_free_port();
    s_write_config(t);
    t->redis = hn_redis_start(t->dir, t->redis_port, false);
    t->actuator = hn_daemon(t->dir, t->conf, "actuator", NULL);
    t->detector = hn_daemon(t->dir, t->conf, "detector", NULL);
    for (int i = 0; i < 2; i++)
        t->shard[i] = s_shard(t, i);
    t->collector = hn_daemon(t->dir, t->conf, "collector", NULL);
    pid_t all[] = {t->actuator, t->detector, t->shard[0], t->shard[1], t->collector};
    hn_expect_alive(all, sizeof(all) / sizeof(all[0]), t->dir);
    hn_expect_ready(t->det_metrics, 2, &t->det_metrics, 1, 10000); /* both shards heard */
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    sh_t *t = &s_t;
    pid_t all[] = {t->collector, t->shard[0], t->shard[1], t->detector, t->actuator};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (all[i] > 0)
            hn_stop(all[i], 3000);
    hn_stop(t->redis, 3000);
    hn_tmpdir_done(&t->dir);
    return 0;
}

static void test_shard_dead_visible(void **state)
{
    (void)state;
    sh_t *t = &s_t;
    pid_t bg = s_flowgen(t, "--dst 10.0.3.1 --pps 100 --background 40 --background-pps 200 "
                            "--duration 14", "flowgen-bg");
    if (!hn_wait_until(s_healthy, NULL, 8000))
        fail_msg("detector not healthy with both shards up; logs in %s", t->dir);
    /* two more windows of each shard: their host shares are the background's */
    double w0 = hn_metric(t->det_metrics, "floodgate_detector_windows_total", NULL, NULL);
    if (!hn_wait_metric(t->det_metrics, "floodgate_detector_windows_total", NULL, w0 + 4, 5000))
        fail_msg("the detector took no more windows; logs in %s", t->dir);
    uint64_t t0 = hn_ms();
    kill(t->shard[1], SIGKILL);
    hn_stop(t->shard[1], 1000);
    t->shard[1] = 0;
    char why[300] = "";
    if (!hn_wait_until(s_healthz_names_shard1, why, 5000))
        fail_msg("the detector's /healthz does not name the dead shard; logs in %s", t->dir);
    uint64_t took = hn_ms() - t0;
    fprintf(stderr, "# shard 1 killed -> detector /healthz 503 in %llu ms: %s",
            (unsigned long long)took, why);
    assert_true(took < 3500);
    assert_non_null(strstr(why, "% of hosts"));
    char *m;
    assert_int_equal(s_get("/metrics", &m), 200);
    assert_non_null(strstr(m, "floodgate_detector_shard_up{shard=\"1\"} 0"));
    assert_non_null(strstr(m, "floodgate_detector_shard_up{shard=\"0\"} 1"));
    free(m);
    /* floodgate status names it with its share */
    char cmd[1400], out[600];
    snprintf(out, sizeof(out), "%s/status.out", t->dir);
    snprintf(cmd, sizeof(cmd), "%s/floodgate -c %s status -i 0 > %s 2>&1", hn_build_dir(),
             t->conf, out);
    int rc = system(cmd);
    char *text = hn_read_file(out);
    assert_non_null(text);
    fprintf(stderr, "# status exit %d:\n%s", WEXITSTATUS(rc), text);
    if (WEXITSTATUS(rc) != 1 || !strstr(text, "PROBLEM: shard 1: missing") ||
        !strstr(text, "% of all, are not watched"))
        fail_msg("floodgate status does not name the missing shard:\n%s", text);
    free(text);
    /* a flood on 16 hosts: those of the live shard are still banned */
    pid_t fl = s_flowgen(t, "--dst 10.0.2.1 --dst-count 16 --pps 160000 --duration 6", "flood");
    if (!hn_wait_until(s_banned, NULL, 8000))
        fail_msg("no host of the live shard banned while shard 1 is dead; logs in %s", t->dir);
    fprintf(stderr, "# flood on 16 hosts with shard 1 dead: %d banned\n", s_bans());
    hn_wait_exit(fl, 10000);
    t->shard[1] = s_shard(t, 1);
    if (!hn_wait_until(s_healthy, NULL, 6000))
        fail_msg("detector not healthy again after shard 1 came back; logs in %s", t->dir);
    hn_wait_exit(bg, 15000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shard_dead_visible, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
