/* End to end: a carpet bombing bans the attacked, not the bystanders.
 *
 * The real daemons (collector, two aggregator shards, detector, actuator)
 * and a real redis-server on free loopback ports; floodgate-flowgen sends
 * NetFlow v5 to the collector on 127.0.0.1.
 *
 *   - background: 200 hosts of 10.0.1.0/24 at 1 100 pps each, just above
 *     the default per-host floor of a network threshold (1 000 pps), from
 *     the start: the group's usual total is 220 000 pps, its network
 *     threshold 330 000 pps (1.5 x);
 *   - after 4 s, a carpet bombing of 10.0.201.0/24: 256 hosts x 5 000 pps
 *     (1.28 Mpps together), and a single-host flood of 60 000 pps on
 *     10.0.2.9 (the per-host threshold still bans during a network attack).
 *
 * Every host of the /24 must be banned within CB_BAN_MS of the start of the
 * attack, 10.0.2.9 too, and none of the 200 background hosts while the
 * attack goes on. The bans name 10.0.201.0/24 (Redis details, `floodgate
 * report`, the detector's log line at the end of the network attack), and
 * the detector's metrics count the spared host windows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "cli/scrape.h"
#include "tests/harness.h"

#define N_BG 200
#define BG_PPS 1100
#define N_ATK 256
#define ATK_PPS 5000
#define CB_BAN_MS 5000 /* every attacked host banned within this of the start */

typedef hn_pipe_t e2e_t;

static e2e_t s_e;

static void s_write_config(e2e_t *e)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "# written by e2e_carpet\n"
             "networks\n    monitored = \"10.0.0.0/16\"\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgcb\n"
             "collector\n    netflow_listen = 127.0.0.1:%d\n    batch_ms = 10\n"
             "    metrics_listen = 127.0.0.1:%d\n"
             "aggregator\n    shards = 2\n"
             "    pull_bind = tcp://127.0.0.1:%d\n    pub_bind = tcp://127.0.0.1:%d\n"
             "    pull_connect = tcp://127.0.0.1:%d\n    pub_connect = tcp://127.0.0.1:%d\n"
             "    metrics_listen = 127.0.0.1:%d\n"
             "detector\n    attack_end = 3\n    metrics_listen = 127.0.0.1:%d\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    connect = tcp://127.0.0.1:%d\n"
             "    check_interval = 1\n    metrics_listen = 127.0.0.1:%d\n"
             "hostgroup\n    default\n        ban_time = 600\n"
             "        network_threshold_pps = 330000\n",
             e->redis_port, e->nf_port, e->m_col, e->pull_port, e->pub_port, e->pull_port,
             e->pub_port, e->m_agg, e->m_det, e->act_port, e->act_port, e->m_act);
    hn_write_file(e->conf, text);
}

static int s_setup(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    hn_pipe_init(e, "e2ecarpet", 2);
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

/* floodgate-flowgen with args (bounded by --duration), its log in name. */
static pid_t s_flowgen(const char *args, const char *name)
{
    char cmd[1024], log[600];
    snprintf(cmd, sizeof(cmd), "exec %s/floodgate-flowgen -d 127.0.0.1:%d %s", hn_build_dir(),
             s_e.nf_port, args);
    snprintf(log, sizeof(log), "%s/%s.log", s_e.dir, name);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return hn_spawn(argv, log);
}

static int s_count(const char *pattern)
{
    redisReply *r = hn_redis(s_e.redis_port, "KEYS %s", pattern);
    int n = r && r->type == REDIS_REPLY_ARRAY ? (int)r->elements : -1;
    if (r)
        freeReplyObject(r);
    return n;
}

static bool s_all_attacked(void *arg)
{
    (void)arg;
    return s_count("fgcb:ban:10.0.201.*") >= N_ATK;
}

static const char *s_field(const char *ip, const char *field)
{
    static char buf[4][8192];
    static int next;
    char *out = buf[next++ % 4];
    redisReply *r = hn_redis(s_e.redis_port, "HGET fgcb:ban:%s %s", ip, field);
    assert_non_null(r);
    snprintf(out, 8192, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return out;
}

static double s_metric(const char *name)
{
    char hp[64], err[256];
    char *body = NULL;
    snprintf(hp, sizeof(hp), "127.0.0.1:%d", s_e.m_det);
    int code = scrape_get(hp, "/metrics", 5000, &body, err, sizeof(err));
    if (code != 200)
        fail_msg("GET %s/metrics: %d %s", hp, code, code < 0 ? err : "");
    int found = 0;
    double v = scrape_sum(body, name, NULL, &found);
    free(body);
    if (!found)
        fail_msg("metric %s not exported", name);
    return v;
}

/* The output of `floodgate report ip`; the caller frees. */
static char *s_report(const char *ip)
{
    char cmd[2048], out[600];
    snprintf(out, sizeof(out), "%s/report.txt", s_e.dir);
    snprintf(cmd, sizeof(cmd), "%s/floodgate -c %s report %s > %s 2>&1", hn_build_dir(),
             s_e.conf, ip, out);
    assert_int_equal(system(cmd), 0);
    return hn_read_file(out);
}

static bool s_attack_end_logged(void *arg)
{
    (void)arg;
    char path[600];
    snprintf(path, sizeof(path), "%s/detector.log", s_e.dir);
    char *log = hn_read_file(path);
    bool yes = log && strstr(log, "event=network_attack_end hostgroup=default");
    free(log);
    return yes;
}

static int s_background_banned(void)
{
    int n = 0;
    for (int h = 1; h <= N_BG; h++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.0.1.%d", h);
        if (s_field(ip, "ip")[0]) {
            print_message("bystander banned: %s (%s)\n", ip, s_field(ip, "metric"));
            n++;
        }
    }
    return n;
}

static void test_e2e_carpet_bans_only_the_attacked_prefix(void **state)
{
    (void)state;
    char args[256];
    snprintf(args, sizeof(args), "--background %d --background-pps %d --duration 14", N_BG,
             BG_PPS);
    double w0 = s_metric("floodgate_detector_windows_total");
    pid_t bg = s_flowgen(args, "flowgen-bg");
    /* the detector learns the background's usual rates: 4 s of windows of
     * both shards (tick 200 ms), however long the loaded machine takes */
    if (!hn_wait_metric(s_e.m_det, "floodgate_detector_windows_total", NULL, w0 + 2 * 20, 15000))
        fail_msg("the detector did not take 4 s of windows within 15 s");
    assert_int_equal(s_count("fgcb:ban:*"), 0);
    snprintf(args, sizeof(args),
             "--dst 10.0.201.0 --dst-count %d --pps %d --rate-records %d --duration 7 "
             "--seq-start 1000000000",
             N_ATK, N_ATK * ATK_PPS, 2 * N_ATK * 10);
    uint64_t t0 = hn_ms();
    pid_t atk = s_flowgen(args, "flowgen-carpet");
    pid_t one = s_flowgen("--dst 10.0.2.9 --pps 60000 --duration 7 --seq-start 2000000000",
                          "flowgen-flood");
    bool all = hn_wait_until(s_all_attacked, NULL, CB_BAN_MS);
    uint64_t took = hn_ms() - t0;
    int attacked = s_count("fgcb:ban:10.0.201.*");
    print_message("carpet: %d of %d attacked hosts banned in %llu ms\n", attacked, N_ATK,
                  (unsigned long long)took);
    /* the attack goes on for 2 s more of windows (10 a shard), every decision
     * taken: a bystander ban has had its chance */
    hn_expect_settled(s_e.m_det, s_e.m_act, 2, 10, 10000);
    int bystanders = s_background_banned();
    bool flood = s_field("10.0.2.9", "ip")[0] != 0;
    double spared = s_metric("floodgate_detector_network_spared_total");
    double nbans = s_metric("floodgate_detector_network_bans_total");
    print_message("bystanders banned: %d, spared host windows: %.0f, network bans: %.0f\n",
                  bystanders, spared, nbans);
    hn_wait_exit(atk, 12000);
    hn_wait_exit(one, 12000);
    hn_wait_exit(bg, 12000);
    assert_true(all);
    assert_int_equal(attacked, N_ATK);
    assert_int_equal(bystanders, 0);
    assert_true(flood);
    /* banned by whichever crossed first: it carries part of the increase */
    const char *m = s_field("10.0.2.9", "metric");
    if (strcmp(m, "pps") && strcmp(m, "network_pps"))
        fail_msg("10.0.2.9 banned by %s", m);
    assert_true(spared > 0);
    assert_true(nbans >= N_ATK);
    assert_string_equal(s_field("10.0.201.77", "metric"), "network_pps");
    const char *details = s_field("10.0.201.77", "details");
    if (!strstr(details, "\"network\":{\"prefix\":\"10.0.201.0/24\""))
        fail_msg("no prefix in the details: %s", details);
    char *rep = s_report("10.0.201.77");
    if (!strstr(rep, "Carpet bombing: prefix 10.0.201.0/24 held the attack"))
        fail_msg("no prefix in the report:\n%s", rep);
    free(rep);
    /* the attack is over: the detector says which prefix held it */
    assert_true(hn_wait_until(s_attack_end_logged, NULL, 10000));
    char path[600];
    snprintf(path, sizeof(path), "%s/detector.log", s_e.dir);
    char *log = hn_read_file(path);
    const char *end = strstr(log, "event=network_attack_end hostgroup=default");
    assert_non_null(end);
    if (!strstr(end, "prefix=10.0.201.0/24 prefix_bans=256"))
        fail_msg("network_attack_end line without the prefix: %.300s", end);
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_carpet_bans_only_the_attacked_prefix),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
