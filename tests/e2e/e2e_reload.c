/* End to end: SIGHUP reloads the config in every daemon, with the real
 * collector, aggregator, detector, actuator and redis-server on free
 * loopback ports, floodgate-flowgen sending NetFlow v5.
 *
 *   1. A host receives a steady 5 000 pps, under the default hostgroup's
 *      threshold of 20 000 pps: not banned. The file is rewritten with a
 *      threshold of 2 000 pps (and a restart-only key changed), every daemon
 *      gets SIGHUP: the host is banned with the new threshold, without a
 *      restart, and no record is lost on the way (the collector dropped
 *      none, the shard received every record the collector sent, no batch
 *      lost); the restart-only key is named in the collector's log. A
 *      second SIGHUP does not restart the attack: ONGOING goes on, no
 *      second BAN.
 *   2. A bad file (an unparsable threshold) is refused by every daemon with
 *      FILE:LINE: reason in its log; all stay up, and a new 5 000 pps flood
 *      is banned under the config they kept (2 000 pps). */
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

#define N_DAEMONS 4

typedef struct {
    char *dir;
    char conf[512];
    int redis_port, nf_port, pull_port, pub_port, act_port, m_col, m_agg;
    pid_t redis, d[N_DAEMONS]; /* actuator, detector, aggregator, collector */
} e2e_t;

static e2e_t s_e;
static const char *s_names[N_DAEMONS] = {"actuator", "detector", "aggregator", "collector"};

/* The config with the default hostgroup's threshold_pps; extra lines go at
 * the end of the hostgroup (a bad value for the refusal test). */
static void s_write_config(e2e_t *e, int threshold_pps, int batch_records, const char *extra)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "# written by e2e_reload\n"
             "networks\n    monitored = \"10.0.0.0/16\"\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgreload\n"
             "collector\n    netflow_listen = 127.0.0.1:%d\n    batch_ms = 10\n"
             "    batch_records = %d\n    metrics_listen = 127.0.0.1:%d\n"
             "aggregator\n    pull_bind = tcp://127.0.0.1:%d\n    pub_bind = tcp://127.0.0.1:%d\n"
             "    pull_connect = tcp://127.0.0.1:%d\n    pub_connect = tcp://127.0.0.1:%d\n"
             "    tick_ms = 200\n    metrics_listen = 127.0.0.1:%d\n"
             "detector\n    ongoing_interval = 1\n    attack_end = 10\n    metrics_listen = \"\"\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    connect = tcp://127.0.0.1:%d\n"
             "    check_interval = 1\n    metrics_listen = \"\"\n"
             "hostgroup\n    default\n        ban_time = 600\n        threshold_pps = %d\n"
             "        threshold_mbps = 0\n        threshold_flows = 0\n%s",
             e->redis_port, e->nf_port, batch_records, e->m_col, e->pull_port, e->pub_port,
             e->pull_port, e->pub_port, e->m_agg, e->act_port, e->act_port, threshold_pps, extra);
    hn_write_file(e->conf, text);
}

/* A metric summed over its samples, or -1 when the daemon does not answer. */
static double s_metric(int port, const char *name, const char *filter)
{
    char hp[64], err[256];
    char *body = NULL;
    snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
    if (scrape_get(hp, "/metrics", 3000, &body, err, sizeof(err)) != 200) {
        free(body);
        return -1;
    }
    int found = 0;
    double v = scrape_sum(body, name, filter, &found);
    free(body);
    return found ? v : -1;
}

static bool s_metrics_up(void *arg)
{
    (void)arg;
    return s_metric(s_e.m_col, "floodgate_collector_records_total", NULL) >= 0 &&
           s_metric(s_e.m_agg, "floodgate_aggregator_records_total", NULL) >= 0;
}

static int s_setup(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    e->dir = hn_tmpdir("e2ereload");
    snprintf(e->conf, sizeof(e->conf), "%s/floodgate.conf", e->dir);
    int *ports[] = {&e->redis_port, &e->nf_port, &e->pull_port, &e->pub_port,
                    &e->act_port,   &e->m_col,   &e->m_agg};
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        *ports[i] = hn_free_port();
    s_write_config(e, 20000, 4096, "");
    e->redis = hn_redis_start(e->dir, e->redis_port, false);
    for (int i = 0; i < N_DAEMONS; i++)
        e->d[i] = hn_daemon(e->dir, e->conf, s_names[i], i == 2 ? "0" : NULL);
    if (!hn_wait_until(s_metrics_up, NULL, 10000))
        fail_msg("the collector's and the shard's /metrics did not come up (logs in %s)", e->dir);
    hn_expect_alive(e->d, N_DAEMONS, e->dir);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    for (int i = N_DAEMONS - 1; i >= 0; i--)
        hn_stop(e->d[i], 3000);
    hn_stop(e->redis, 3000);
    hn_tmpdir_done(&e->dir);
    return 0;
}

static pid_t s_flowgen(e2e_t *e, const char *args, const char *log_name)
{
    char cmd[1024], log[512];
    snprintf(cmd, sizeof(cmd), "exec %s/floodgate-flowgen -d 127.0.0.1:%d %s", hn_build_dir(),
             e->nf_port, args);
    snprintf(log, sizeof(log), "%s/%s", e->dir, log_name);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return hn_spawn(argv, log);
}

static bool s_key_exists(void *ip)
{
    redisReply *r = hn_redis(s_e.redis_port, "EXISTS fgreload:ban:%s", (char *)ip);
    bool yes = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    return yes;
}

static double s_ban_threshold(const char *ip)
{
    redisReply *r = hn_redis(s_e.redis_port, "HGET fgreload:ban:%s threshold", ip);
    assert_non_null(r);
    double v = r->type == REDIS_REPLY_STRING ? atof(r->str) : -1;
    freeReplyObject(r);
    return v;
}

/* How many times the log of daemon i holds text. */
static int s_log_count(int i, const char *text)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s%s.log", s_e.dir, s_names[i], i == 2 ? "0" : "");
    char *log = hn_read_file(path);
    int n = 0;
    for (const char *p = log; p && (p = strstr(p, text)); p += strlen(text))
        n++;
    free(log);
    return n;
}

typedef struct {
    const char *text;
    int want; /* in every daemon's log at least this many times */
} log_wait_t;

static bool s_logged_everywhere(void *arg)
{
    const log_wait_t *w = arg;
    for (int i = 0; i < N_DAEMONS; i++)
        if (s_log_count(i, w->text) < w->want)
            return false;
    return true;
}

static void s_hup_all(void)
{
    for (int i = 0; i < N_DAEMONS; i++)
        assert_int_equal(kill(s_e.d[i], SIGHUP), 0);
}

typedef struct {
    double want;
} agg_wait_t;

static bool s_agg_has(void *arg)
{
    const agg_wait_t *w = arg;
    return s_metric(s_e.m_agg, "floodgate_aggregator_records_total", NULL) >= w->want;
}

static bool s_shard_caught_up(void *arg)
{
    (void)arg;
    double sent = s_metric(s_e.m_col, "floodgate_collector_records_total", "result=\"sent\"");
    double got = s_metric(s_e.m_agg, "floodgate_aggregator_records_total", NULL);
    return sent > 0 && got >= sent;
}

/* flowgen's own count of the records it sent, from its exit line. */
static double s_flowgen_records(const char *log_name)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", s_e.dir, log_name);
    char *log = hn_read_file(path);
    const char *p = log ? strstr(log, " records=") : NULL;
    double n = p ? atof(p + strlen(" records=")) : -1;
    free(log);
    return n;
}

static void test_e2e_reload_lowers_threshold(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    pid_t g =
        s_flowgen(e, "--dst 10.0.2.9 --pps 5000 --rate-records 500 --duration 12", "flowgen1.log");
    /* 3 s of steady traffic under the threshold reach the shard: no ban */
    agg_wait_t three_s = {1500};
    assert_true(hn_wait_until(s_agg_has, &three_s, 8000));
    assert_false(s_key_exists("10.0.2.9"));

    s_write_config(e, 2000, 2048, "");
    uint64_t t0 = hn_ms();
    s_hup_all();
    log_wait_t reloaded = {"event=reload ", 1};
    assert_true(hn_wait_until(s_logged_everywhere, &reloaded, 5000));
    bool banned = hn_wait_until(s_key_exists, "10.0.2.9", 6000);
    print_message("ban %s %llu ms after SIGHUP\n", banned ? "came" : "did not come",
                  (unsigned long long)(hn_ms() - t0));
    assert_true(banned);
    assert_true(s_ban_threshold("10.0.2.9") == 2000);
    assert_int_equal(s_log_count(3, "restart_needed=\"collector/batch_records\""), 1);
    assert_int_equal(s_log_count(2, "event=reload_applied shard=0"), 1);

    /* the attack in progress survives a reload: reports go on as ONGOING,
     * no second BAN (the detector kept its state, the shard its host) */
    s_hup_all();
    log_wait_t again = {"event=reload ", 2};
    assert_true(hn_wait_until(s_logged_everywhere, &again, 5000));
    int ongoing = s_log_count(1, "event=ongoing ip=10.0.2.9 ");
    agg_wait_t more = {s_metric(e->m_agg, "floodgate_aggregator_records_total", NULL) + 1000};
    assert_true(hn_wait_until(s_agg_has, &more, 6000)); /* 2 s more of the flood */
    assert_int_equal(s_log_count(1, "event=ban ip=10.0.2.9 "), 1);
    assert_true(s_log_count(1, "event=ongoing ip=10.0.2.9 ") > ongoing);

    /* no record lost: all the collector decoded was sent, all it sent
     * reached the shard, nothing dropped anywhere */
    assert_true(hn_wait_exit(g, 20000) >= 0);
    assert_true(hn_wait_until(s_shard_caught_up, NULL, 5000));
    double fg = s_flowgen_records("flowgen1.log");
    double decoded = s_metric(e->m_col, "floodgate_collector_records_total", "result=\"decoded\"");
    double sent = s_metric(e->m_col, "floodgate_collector_records_total", "result=\"sent\"");
    double got = s_metric(e->m_agg, "floodgate_aggregator_records_total", NULL);
    print_message("records: flowgen %.0f, decoded %.0f, sent %.0f, shard %.0f\n", fg, decoded, sent,
                  got);
    assert_true(fg > 0 && decoded == fg && sent == fg && got == fg);
    assert_true(s_metric(e->m_col, "floodgate_collector_records_total", "result=\"dropped\"") == 0);
    assert_true(s_metric(e->m_col, "floodgate_collector_socket_drops_total", NULL) == 0);
    assert_true(s_metric(e->m_col, "floodgate_collector_batches_dropped_total", NULL) == 0);
    assert_true(s_metric(e->m_agg, "floodgate_aggregator_batches_lost_total", NULL) == 0);
    hn_expect_alive(e->d, N_DAEMONS, e->dir);
}

static void test_e2e_reload_bad_file_keeps_old(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    /* line 34: the line after the hostgroup's */
    s_write_config(e, 2000, 2048, "        threshold_udp_pps = lots\n");
    s_hup_all();
    char want[1400];
    snprintf(want, sizeof(want),
             "event=reload_failed config=%s reason=\"%s:34: hostgroup/default/"
             "threshold_udp_pps = 'lots': not a number\" kept=old",
             e->conf, e->conf);
    log_wait_t refused = {want, 1};
    if (!hn_wait_until(s_logged_everywhere, &refused, 5000))
        fail_msg("not every daemon logged %s (logs in %s)", want, e->dir);
    hn_expect_alive(e->d, N_DAEMONS, e->dir);

    /* the kept config (2 000 pps) still bans a 5 000 pps flood */
    pid_t g =
        s_flowgen(e, "--dst 10.0.2.20 --pps 5000 --rate-records 500 --duration 8", "flowgen2.log");
    bool banned = hn_wait_until(s_key_exists, "10.0.2.20", 8000);
    hn_wait_exit(g, 15000);
    assert_true(banned);
    assert_true(s_ban_threshold("10.0.2.20") == 2000);
    hn_expect_alive(e->d, N_DAEMONS, e->dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_reload_lowers_threshold),
        cmocka_unit_test(test_e2e_reload_bad_file_keeps_old),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
