/* End to end, operability: the four daemons and a real redis-server on free
 * loopback ports, each daemon with its metrics endpoint on a free port.
 *
 *   1. a known burst of NetFlow v5 (flowgen --count: N datagrams of 30
 *      records): every daemon's /metrics agrees with what was sent (records
 *      in = records counted at each stage, losses zero), /healthz is 200;
 *   2. a flood: `floodgate top --once` shows the host with its rates and,
 *      once banned, its ban; `--json` too;
 *   3. `floodgate report` prints the ban made by the flood (text and JSON);
 *      exit 1 for an address never banned;
 *   4. the Grafana dashboard parses and uses only metrics the daemons export;
 *   5. `floodgate status` exits 0 with everything up, 1 once a daemon is
 *      stopped (and names it);
 *   6. socket drops at the end of a flood, that no later datagram reports
 *      through SO_RXQ_OVFL, are counted all the same (the kernel's count in
 *      /proc/net/udp), so the records offered add up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis.h>

#include "cli/scrape.h"
#include "tests/harness.h"

#define BURST_DGRAMS 50
#define BURST_RECORDS (BURST_DGRAMS * 30)
#define FLOOD_IP "10.0.0.7"

typedef hn_pipe_t e2e_t;

static e2e_t s_e;

static void s_write_config(e2e_t *e)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "# written by e2e_metrics\n"
             "networks\n    monitored = \"10.0.0.0/16\"\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgmet\n"
             "collector\n    netflow_listen = 127.0.0.1:%d\n    batch_ms = 10\n"
             "    rcvbuf = 262144\n" /* test 6 overflows it */
             "    metrics_listen = 127.0.0.1:%d\n"
             "aggregator\n    pull_bind = tcp://127.0.0.1:%d\n    pub_bind = tcp://127.0.0.1:%d\n"
             "    pull_connect = tcp://127.0.0.1:%d\n    pub_connect = tcp://127.0.0.1:%d\n"
             "    tick_ms = 200\n    metrics_listen = 127.0.0.1:%d\n"
             "detector\n    ongoing_interval = 1\n    metrics_listen = 127.0.0.1:%d\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    connect = tcp://127.0.0.1:%d\n"
             "    check_interval = 1\n    metrics_listen = 127.0.0.1:%d\n"
             "hostgroup\n    default\n        ban_time = 600\n        threshold_pps = 5000\n"
             "        threshold_mbps = 0\n        threshold_flows = 0\n"
             "    burst\n        networks = 10.0.0.9/32\n        threshold_pps = 200000\n"
             "        threshold_mbps = 0\n        threshold_flows = 0\n",
             e->redis_port, e->nf_port, e->m_col, e->pull_port, e->pub_port, e->pull_port,
             e->pub_port, e->m_agg, e->m_det, e->act_port, e->act_port, e->m_act);
    hn_write_file(e->conf, text);
}

static int s_setup(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    hn_pipe_init(e, "e2emetrics", 1);
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

/* /metrics of the daemon on port; the caller frees. Fails the test when the
 * endpoint does not answer 200. */
static char *s_metrics(int port)
{
    char hp[64], err[256];
    char *body = NULL;
    snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
    int code = scrape_get(hp, "/metrics", 5000, &body, err, sizeof(err));
    if (code != 200)
        fail_msg("GET %s/metrics: %d %s", hp, code, code < 0 ? err : "");
    return body;
}

static double s_get(int port, const char *name, const char *filter)
{
    char *m = s_metrics(port);
    int found = 0;
    double v = scrape_sum(m, name, filter, &found);
    free(m);
    if (!found)
        fail_msg("metric %s{%s} not exported on port %d", name, filter ? filter : "", port);
    return v;
}

typedef struct {
    int port;
    const char *name, *filter;
    double want;
} want_t;

static bool s_reaches(void *arg)
{
    const want_t *w = arg;
    return s_get(w->port, w->name, w->filter) >= w->want;
}

/* Run a shell command line; its stdout into out_path; returns the exit code. */
static int s_run(const char *cmdline, const char *out_path)
{
    char cmd[2048], log[600];
    snprintf(cmd, sizeof(cmd), "exec %s > %s", cmdline, out_path);
    snprintf(log, sizeof(log), "%s/cli.log", s_e.dir);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    pid_t p = hn_spawn(argv, log);
    int st = hn_wait_exit(p, 30000);
    if (st < 0) {
        hn_stop(p, 1000);
        fail_msg("timeout: %s", cmdline);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* `floodgate -c CONF args`: exit code, stdout in *out (caller frees). */
static int s_cli(const char *args, char **out)
{
    char cmd[1024], path[600];
    snprintf(cmd, sizeof(cmd), "%s/floodgate -c %s %s", hn_build_dir(), s_e.conf, args);
    snprintf(path, sizeof(path), "%s/cli.out", s_e.dir);
    int rc = s_run(cmd, path);
    *out = hn_read_file(path);
    assert_non_null(*out);
    return rc;
}

static pid_t s_flowgen(const char *args)
{
    char cmd[1024], log[512];
    snprintf(cmd, sizeof(cmd), "exec %s/floodgate-flowgen -d 127.0.0.1:%d %s", hn_build_dir(),
             s_e.nf_port, args);
    snprintf(log, sizeof(log), "%s/flowgen.log", s_e.dir);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return hn_spawn(argv, log);
}

static void s_healthz_ok(int port)
{
    char hp[64], err[256];
    char *body = NULL;
    snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
    int code = scrape_get(hp, "/healthz", 5000, &body, err, sizeof(err));
    if (code != 200)
        fail_msg("GET %s/healthz: %d %s", hp, code, body ? body : err);
    free(body);
}

static void test_e2e_metrics_agree_with_traffic(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    /* 15 000 packets within one window, 75 000 pps over it: its host's
     * group (burst) has a threshold above that, so it is counted, never
     * banned (at the default group's 5 000 pps one window bans it) */
    pid_t g = s_flowgen("--dst 10.0.0.9 --count " "50");
    assert_true(hn_wait_exit(g, 10000) >= 0);
    /* every stage counts all of it (bounded waits: batches and windows) */
    want_t col = {e->m_col, "floodgate_collector_records_total", "result=\"sent\"", BURST_RECORDS};
    assert_true(hn_wait_until(s_reaches, &col, 10000));
    want_t agg = {e->m_agg, "floodgate_aggregator_records_total", NULL, BURST_RECORDS};
    assert_true(hn_wait_until(s_reaches, &agg, 10000));

    assert_int_equal(s_get(e->m_col, "floodgate_collector_datagrams_total", NULL), BURST_DGRAMS);
    assert_int_equal(s_get(e->m_col, "floodgate_collector_records_total", "result=\"decoded\""),
                     BURST_RECORDS);
    assert_int_equal(s_get(e->m_col, "floodgate_collector_records_total", "result=\"kept\""),
                     BURST_RECORDS);
    assert_int_equal(s_get(e->m_col, "floodgate_collector_records_total", "result=\"sent\""),
                     BURST_RECORDS);
    assert_int_equal(s_get(e->m_col, "floodgate_collector_records_total", "result=\"dropped\""), 0);
    assert_int_equal(s_get(e->m_col, "floodgate_collector_socket_drops_total", NULL), 0);
    assert_int_equal(s_get(e->m_col, "floodgate_collector_sequence_lost_records_total", NULL), 0);
    assert_int_equal(s_get(e->m_col, "floodgate_collector_datagrams_malformed_total", NULL), 0);
    assert_int_equal(s_get(e->m_col, "floodgate_collector_exporter_datagrams_total",
                           "exporter=\"127.0.0.1\""),
                     BURST_DGRAMS);
    /* what the collector sent is what the shard got, batch for batch */
    double sent = s_get(e->m_col, "floodgate_collector_batches_sent_total", NULL);
    assert_true(sent >= 1);
    assert_int_equal(s_get(e->m_agg, "floodgate_aggregator_batches_total", NULL), sent);
    /* and per shard (one here): sent, nothing dropped */
    assert_int_equal(s_get(e->m_col, "floodgate_collector_shard_batches_total",
                           "shard=\"0\",result=\"sent\""),
                     sent);
    assert_int_equal(s_get(e->m_col, "floodgate_collector_shard_records_total",
                           "shard=\"0\",result=\"sent\""),
                     BURST_RECORDS);
    assert_int_equal(s_get(e->m_col, "floodgate_collector_shard_records_total",
                           "result=\"dropped\""),
                     0);
    assert_int_equal(s_get(e->m_agg, "floodgate_aggregator_records_total", NULL), BURST_RECORDS);
    assert_int_equal(s_get(e->m_agg, "floodgate_aggregator_batches_lost_total", NULL), 0);
    assert_int_equal(s_get(e->m_agg, "floodgate_aggregator_records_ignored_total", NULL), 0);
    assert_true(s_get(e->m_agg, "floodgate_aggregator_hosts", NULL) >= 1);
    /* windows flow to the detector without loss */
    double built = s_get(e->m_agg, "floodgate_aggregator_windows_total", NULL);
    assert_true(built >= 1);
    want_t det = {e->m_det, "floodgate_detector_windows_total", NULL, built};
    assert_true(hn_wait_until(s_reaches, &det, 5000));
    assert_int_equal(s_get(e->m_det, "floodgate_detector_windows_lost_total", NULL), 0);
    assert_int_equal(s_get(e->m_det, "floodgate_detector_decisions_total", NULL), 0);
    assert_int_equal(s_get(e->m_act, "floodgate_actuator_redis_up", NULL), 1);
    assert_int_equal(s_get(e->m_act, "floodgate_actuator_bans_active", NULL), 0);
    int ports[] = {e->m_col, e->m_agg, e->m_det, e->m_act};
    for (size_t i = 0; i < 4; i++) {
        s_healthz_ok(ports[i]);
        assert_int_equal(s_get(ports[i], "floodgate_build_info", NULL), 1);
    }
}

static bool s_banned(void *arg)
{
    (void)arg;
    redisReply *r = hn_redis(s_e.redis_port, "EXISTS fgmet:ban:" FLOOD_IP);
    bool yes = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    return yes;
}

/* `top --once` succeeds and shows the flooded host of the one shard; its
 * last output in *(char **)arg. */
static bool s_top_shows_flood(void *arg)
{
    char **out = arg;
    free(*out);
    *out = NULL;
    int rc = s_cli("top --once", out);
    return rc == 0 && strstr(*out, FLOOD_IP) && strstr(*out, "shards 1/1");
}

/* The kernel's drop count of the UDP socket on 127.0.0.1:port. */
static uint64_t s_udp_drops(int port)
{
    char line[512], want[32];
    uint64_t drops = 0;
    snprintf(want, sizeof(want), "0100007F:%04X", port);
    FILE *f = fopen("/proc/net/udp", "r");
    while (f && fgets(line, sizeof(line), f)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == ' ' || line[l - 1] == '\n'))
            line[--l] = '\0'; /* the lines end in spaces */
        char *last = strrchr(line, ' ');
        if (strstr(line, want) && last)
            drops = strtoull(last + 1, NULL, 10);
    }
    if (f)
        fclose(f);
    return drops;
}

typedef struct {
    int port;
    uint64_t want;
} drops_t;

static bool s_drops_told(void *arg)
{
    const drops_t *d = arg;
    return (uint64_t)s_get(d->port, "floodgate_collector_socket_drops_total", NULL) == d->want;
}

static void test_e2e_socket_drops_at_the_end_counted(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    double before = s_get(e->m_col, "floodgate_collector_socket_drops_total", NULL);
    uint64_t k0 = s_udp_drops(e->nf_port);
    assert_int_equal(kill(e->collector, SIGSTOP), 0);
    /* unmonitored destinations: filtered, nothing downstream changes */
    pid_t g = s_flowgen("--dst 10.1.0.9 --count 6000");
    int st = hn_wait_exit(g, 20000);
    uint64_t dropped = s_udp_drops(e->nf_port) - k0;
    assert_int_equal(kill(e->collector, SIGCONT), 0);
    assert_true(st >= 0);
    assert_true(dropped > 0); /* the socket's buffer overflowed */
    /* no datagram comes after the drops: only the kernel's counter tells */
    drops_t d = {e->m_col, (uint64_t)before + dropped};
    assert_true(hn_wait_until(s_drops_told, &d, 5000));
}

static void test_e2e_top_once_shows_the_flood(void **state)
{
    (void)state;
    pid_t g = s_flowgen("--dst " FLOOD_IP " --pps 20000 --proto udp --duration 6");
    char *out = NULL;
    if (!hn_wait_until(s_top_shows_flood, &out, 10000))
        fail_msg("top --once does not show " FLOOD_IP " within 10 s:\n%s", out);
    free(out);
    assert_true(hn_wait_until(s_banned, NULL, 10000));
    assert_int_equal(s_cli("top --once --json", &out), 0);
    if (!strstr(out, "\"ip\":\"" FLOOD_IP "\"") || !strstr(out, "\"banned\":true") ||
        !strstr(out, "\"attack_type\":\"udp_flood\""))
        fail_msg("top --once --json lacks the banned host:\n%s", out);
    free(out);
    /* the ban is in the metrics too */
    assert_int_equal(s_get(s_e.m_act, "floodgate_actuator_bans_active", NULL), 1);
    assert_int_equal(s_get(s_e.m_act, "floodgate_actuator_bans_total", "result=\"applied\""), 1);
    assert_true(s_get(s_e.m_det, "floodgate_detector_decisions_total", "type=\"ban\"") >= 1);
    assert_true(hn_wait_exit(g, 15000) >= 0);
}

static void test_e2e_report_of_the_ban(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(s_cli("report " FLOOD_IP, &out), 0);
    const char *want[] = {"Attack report for " FLOOD_IP ": 1 ban",
                          "Ban 1 of 1: udp_flood, incoming",
                          "ACTIVE, lifts in",
                          "Trigger:       pps",
                          "Peak rates:",
                          "Top sources:   198.18.",
                          "Protocols:     udp (100.0%)",
                          "Exporters:     127.0.0.1 (100.0%, sampling 1:1)"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(out, want[i]))
            fail_msg("report lacks \"%s\":\n%s", want[i], out);
    free(out);
    assert_int_equal(s_cli("report " FLOOD_IP " --json", &out), 0);
    if (!strstr(out, "\"ip\":\"" FLOOD_IP "\"") || !strstr(out, "\"attack_type\":\"udp_flood\"") ||
        !strstr(out, "\"active\":true") || !strstr(out, "\"exporter\":[{\"key\":\"127.0.0.1\""))
        fail_msg("report --json:\n%s", out);
    free(out);
    assert_int_equal(s_cli("report 10.0.0.250", &out), 1);
    assert_non_null(strstr(out, "No ban recorded"));
    free(out);
    assert_int_equal(s_cli("report not-an-ip", &out), 2);
    free(out);
}

/* The dashboard parses and every floodgate_* name in its queries is one a
 * daemon exports (scraped now, with the flood's series present). */
static void test_e2e_grafana_dashboard(void **state)
{
    (void)state;
    int ports[] = {s_e.m_col, s_e.m_agg, s_e.m_det, s_e.m_act};
    char all[600];
    snprintf(all, sizeof(all), "%s/all.metrics", s_e.dir);
    FILE *f = fopen(all, "w");
    assert_non_null(f);
    for (size_t i = 0; i < 4; i++) {
        char *m = s_metrics(ports[i]);
        fputs(m, f);
        free(m);
    }
    fclose(f);
    char cmd[1200], out[600];
    snprintf(cmd, sizeof(cmd), "python3 tests/check_dashboard.py deploy/grafana/dashboards/floodgate.json %s",
             all);
    snprintf(out, sizeof(out), "%s/dash.out", s_e.dir);
    int rc = s_run(cmd, out);
    if (rc != 0) {
        char *t = hn_read_file(out);
        fail_msg("dashboard check failed (%d):\n%s", rc, t ? t : "");
    }
}

static void test_e2e_status_exit_codes(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = s_cli("status -i 1", &out);
    if (rc != 0 || !strstr(out, "OK: 4 processes up"))
        fail_msg("status with everything up: exit %d\n%s", rc, out);
    free(out);
    assert_int_equal(s_cli("status -i 0.5 --json", &out), 0);
    assert_non_null(strstr(out, "\"ok\":true"));
    assert_non_null(strstr(out, "\"bans_active\":1"));
    free(out);
    hn_stop(s_e.detector, 3000);
    s_e.detector = 0;
    rc = s_cli("status -i 0.5", &out);
    if (rc != 1 || !strstr(out, "PROBLEM: detector") || !strstr(out, "DOWN"))
        fail_msg("status with the detector stopped: exit %d\n%s", rc, out);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_metrics_agree_with_traffic),
        cmocka_unit_test(test_e2e_socket_drops_at_the_end_counted),
        cmocka_unit_test(test_e2e_top_once_shows_the_flood),
        cmocka_unit_test(test_e2e_report_of_the_ban),
        cmocka_unit_test(test_e2e_grafana_dashboard),
        cmocka_unit_test(test_e2e_status_exit_codes),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
