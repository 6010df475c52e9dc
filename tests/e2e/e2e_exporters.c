/* End-to-end: real exporters into the real floodgate-collector.
 *
 * softflowd (NetFlow v5, v9, IPFIX) replays tests/data/flows_in.pcap and
 * pmacctd's sfprobe (sFlow v5) replays tests/data/sflow_in.pcap to a
 * floodgate-collector process on loopback; a ZeroMQ PULL socket here
 * stands in for the aggregator shard. The per-destination totals of the
 * FlowBatch records must equal tshark's decoding of the same exports
 * (the .oracle files in tests/data/, made by tests/data/make_captures.py), and the
 * collector must count no malformed datagram. Bounded: each exporter
 * gets 20 s to finish, each comparison 10 s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <czmq.h>

#include "common/flowbatch.h"
#include "tests/flowtest.h"
#include "tests/harness.h"

typedef struct {
    char *dir;
    char log[512];
    pid_t collector;
    zsock_t *pull;
    int nf_port, sf_port;
} ctx_t;

static ctx_t s_ctx;

static int s_setup(void **state)
{
    (void)state;
    ctx_t *c = &s_ctx;
    char path[512], text[2048], bin[512];
    c->dir = hn_tmpdir("exporters");
    c->pull = zsock_new(ZMQ_PULL);
    if (!c->pull)
        return -1;
    hn_zmon_t *mon = hn_zmon_new(c->pull); /* before the bind: sees the collector come */
    if (zsock_bind(c->pull, "tcp://127.0.0.1:*") < 0)
        return -1;
    c->nf_port = hn_free_port();
    c->sf_port = hn_free_port();
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/8, 198.51.100.0/24, 203.0.113.0/24, "
             "2001:db8::/32\"\n"
             "collector\n    netflow_listen = \"127.0.0.1:%d\"\n"
             "    sflow_listen = \"127.0.0.1:%d\"\n    batch_ms = 20\n"
             "    metrics_listen = \"\"\n"
             "aggregator\n    shards = 1\n    pull_connect = \"%s\"\n",
             c->nf_port, c->sf_port, zsock_endpoint(c->pull));
    snprintf(path, sizeof(path), "%s/floodgate.conf", c->dir);
    hn_write_file(path, text);
    snprintf(bin, sizeof(bin), "%s/floodgate-collector", hn_build_dir());
    snprintf(c->log, sizeof(c->log), "%s/collector.log", c->dir);
    char *argv[] = {bin, "-c", path, NULL};
    c->collector = hn_spawn(argv, c->log);
    /* its UDP sockets are bound (it logs event=start after) and its PUSH is
     * connected to ours: what the exporters send now reaches the test */
    bool up = hn_wait_log(c->log, "event=start", 10000) &&
              hn_zmon_wait(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 10000);
    hn_zmon_destroy(&mon);
    if (!up)
        fail_msg("the collector did not start and connect within 10 s; see %s", c->log);
    return hn_alive(c->collector) ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    ctx_t *c = &s_ctx;
    if (c->collector > 0)
        hn_stop(c->collector, 5000);
    char *log = hn_read_file(c->log);
    if (log && strstr(log, "event=malformed"))
        fprintf(stderr, "collector log:\n%s\n", log);
    free(log);
    zsock_destroy(&c->pull);
    hn_rmdir(c->dir);
    free(c->dir);
    return 0;
}

/* Add the incoming records of every batch that arrives within wait_ms. */
static void s_receive(ft_totals_t *t, int wait_ms)
{
    zsock_set_rcvtimeo(s_ctx.pull, wait_ms);
    zframe_t *f;
    while ((f = zframe_recv(s_ctx.pull)) != NULL) {
        size_t n;
        Floodgate__FlowBatch *m = fb_unpack(zframe_data(f), zframe_size(f), &n);
        zframe_destroy(&f);
        assert_non_null(m);
        for (size_t i = 0; i < n; i++) {
            fg_flow_t fl;
            fb_record(m, i, &fl);
            if (fl.dir == FG_DIR_IN)
                ft_add(t, &fl.host, fl.packets, fl.bytes);
        }
        floodgate__flow_batch__free_unpacked(m, NULL);
    }
}

/* Run an exporter to its end, then compare what reached the shard with
 * the oracle (its IPv4 hosts only when v4_only). */
static void s_check(char *const argv[], const char *oracle, bool v4_only)
{
    ft_totals_t got = {0}, want, all;
    s_receive(&got, 100); /* nothing left over from before */
    memset(&got, 0, sizeof(got));
    char log[600];
    snprintf(log, sizeof(log), "%s/exporter.log", s_ctx.dir);
    pid_t pid = hn_spawn(argv, log);
    int st = hn_wait_exit(pid, 20000);
    if (st == -1) {
        hn_stop(pid, 2000);
        fail_msg("%s did not finish in 20 s", argv[0]);
    }
    assert_true(WIFEXITED(st));
    assert_int_equal(ft_oracle_load(oracle, &all), 0);
    memset(&want, 0, sizeof(want));
    for (int i = 0; i < all.n; i++)
        if (!v4_only || fg_addr_is_v4(&all.host[i])) {
            want.host[want.n] = all.host[i];
            want.packets[want.n] = all.packets[i];
            want.bytes[want.n] = all.bytes[i];
            want.records[want.n] = all.records[i];
            want.n++;
        }
    uint64_t end = hn_ms() + 10000;
    while (hn_ms() < end && ft_compare_q(&got, &want, 1, 1) != 0)
        s_receive(&got, 500);
    assert_int_equal(ft_compare(&got, &want, 1), 0); /* flows per host too */
    assert_true(hn_alive(s_ctx.collector));
}

static void s_softflowd(const char *version, const char *extra, const char *oracle, bool v4)
{
    char dst[64];
    snprintf(dst, sizeof(dst), "127.0.0.1:%d", s_ctx.nf_port);
    char *argv[] = {"softflowd", "-d", "-6", "-r", "tests/data/flows_in.pcap", "-n", dst,
                    "-v", (char *)version, "-c", "none", (char *)extra, NULL};
    if (!extra)
        argv[11] = NULL;
    s_check(argv, oracle, v4);
}

static void test_e2e_softflowd_v5(void **state)
{
    (void)state;
    /* v5 carries no IPv6 flows: the IPv4 hosts of the v9 oracle */
    s_softflowd("5", NULL, "tests/data/nf9_softflowd.oracle", true);
}

static void test_e2e_softflowd_v9(void **state)
{
    (void)state;
    s_softflowd("9", NULL, "tests/data/nf9_softflowd.oracle", false);
}

static void test_e2e_softflowd_ipfix(void **state)
{
    (void)state;
    s_softflowd("10", "-Amilli", "tests/data/ipfix_softflowd.oracle", false);
}

static void test_e2e_pmacct_sflow(void **state)
{
    (void)state;
    char conf[512], text[1024], cwd[512];
    if (!getcwd(cwd, sizeof(cwd)))
        fail_msg("getcwd");
    snprintf(conf, sizeof(conf), "%s/pmacctd.conf", s_ctx.dir);
    snprintf(text, sizeof(text),
             "daemonize: false\npcap_savefile: %s/tests/data/sflow_in.pcap\n"
             "pcap_savefile_wait: false\nplugins: sfprobe[sf]\n"
             "sfprobe_receiver[sf]: 127.0.0.1:%d\nsampling_rate: 1\n"
             "sfprobe_agentip[sf]: 127.0.0.1\n",
             cwd, s_ctx.sf_port);
    hn_write_file(conf, text);
    char *argv[] = {"pmacctd", "-f", conf, NULL};
    s_check(argv, "tests/data/sflow_pmacct.oracle", false);
}

static void test_e2e_nothing_malformed(void **state)
{
    (void)state;
    kill(s_ctx.collector, SIGUSR1);
    hn_wait_log(s_ctx.log, "why=signal", 5000);
    hn_wait_log(s_ctx.log, "event=exporter addr=127.0.0.1 proto=sflow", 5000);
    char *log = hn_read_file(s_ctx.log);
    assert_non_null(log);
    assert_null(strstr(log, "event=malformed"));
    assert_non_null(strstr(log, "event=exporter addr=127.0.0.1 proto=sflow"));
    assert_non_null(strstr(log, "proto=ipfix"));
    assert_non_null(strstr(log, " bad_sets=0 "));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_softflowd_v5),
        cmocka_unit_test(test_e2e_softflowd_v9),
        cmocka_unit_test(test_e2e_softflowd_ipfix),
        cmocka_unit_test(test_e2e_pmacct_sflow),
        cmocka_unit_test(test_e2e_nothing_malformed),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
