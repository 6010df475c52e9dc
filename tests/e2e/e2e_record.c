/* End to end: the real floodgate-collector records what it receives
 * (collector/record_file) while floodgate-flowgen sends a 50 kpps UDP
 * flood on 10.0.0.77 with 20 background hosts, and a hostile sender on
 * another socket sends 2 000 datagrams of garbage (random bytes, cut v5 /
 * v9 / IPFIX / sFlow headers) at the same time. Every datagram the
 * collector received is in the recording (its metrics agree), and
 * replaying the recording with the same config bans the flood, the
 * garbage counted as malformed. Loopback only; flowgen runs 3 s, the
 * garbage is bounded in count. */
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
#include <glob.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "cli/replay.h"
#include "tests/harness.h"

#define GARBAGE 2000
#define FLOOD_IP "10.0.0.77"

static void s_garbage(int nf_port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)nf_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    uint8_t b[300];
    unsigned seed = 17;
    for (int i = 0; i < GARBAGE; i++) {
        size_t len = 2 + (size_t)(rand_r(&seed) % 200);
        for (size_t k = 0; k < len; k++)
            b[k] = (uint8_t)rand_r(&seed);
        static const uint8_t ver[] = {5, 9, 10, 0, 77};
        b[0] = 0;
        b[1] = ver[i % 5];
        if (i % 5 == 3) /* sFlow: version 5 in 32 bits, then cut */
            len = 6, b[2] = 0, b[3] = 5;
        sendto(fd, b, len, 0, (struct sockaddr *)&to, sizeof(to));
        if (i % 100 == 99)
            usleep(100 * 1000); /* spread over the flood's 2 s */
    }
    close(fd);
}

static void test_e2e_record_replay(void **state)
{
    (void)state;
    char *dir = hn_tmpdir("e2erec");
    char conf[512], text[2048], rec_dir[600];
    int nf = hn_free_port(), sf = hn_free_port(), pull = hn_free_port(), m = hn_free_port();
    snprintf(conf, sizeof(conf), "%s/floodgate.conf", dir);
    snprintf(rec_dir, sizeof(rec_dir), "%s/rec", dir);
    assert_int_equal(mkdir(rec_dir, 0755), 0);
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16\"\n"
             "collector\n    netflow_listen = 127.0.0.1:%d\n    sflow_listen = 127.0.0.1:%d\n"
             "    metrics_listen = 127.0.0.1:%d\n    record_file = %s/exports\n"
             "    record_max_mb = 1\n"
             "aggregator\n    pull_connect = tcp://127.0.0.1:%d\n"
             "hostgroup\n    default\n        threshold_pps = 20000\n",
             nf, sf, m, rec_dir, pull);
    hn_write_file(conf, text);
    pid_t col = hn_daemon(dir, conf, "collector", NULL);
    if (!hn_wait_healthz(m, 5000))
        fail_msg("the collector did not come up; see %s/collector.log", dir);

    char bin[512], dest[64], log[600];
    snprintf(bin, sizeof(bin), "%s/floodgate-flowgen", hn_build_dir());
    snprintf(dest, sizeof(dest), "127.0.0.1:%d", nf);
    snprintf(log, sizeof(log), "%s/flowgen.log", dir);
    char *argv[] = {bin,      "-d",
                    dest,     "--dst",
                    FLOOD_IP, "--pps",
                    "50000",  "--background",
                    "20",     "--background-pps",
                    "100",    "--duration",
                    "3",      NULL};
    pid_t gen = hn_spawn(argv, log);
    s_garbage(nf);
    assert_int_equal(hn_wait_exit(gen, 10000), 0);

    /* everything received is recorded: written = datagrams, none dropped */
    double got = 0;
    for (int k = 0; k < 50; k++) { /* the collector drains its socket: bounded wait */
        got = hn_metric(m, "floodgate_collector_datagrams_total", NULL, NULL);
        if (hn_wait_metric(m, "floodgate_collector_recorded_datagrams_total", "result=\"written\"",
                           got, 100) &&
            hn_metric(m, "floodgate_collector_datagrams_total", NULL, NULL) == got)
            break;
    }
    assert_true(got >= GARBAGE + 20);
    assert_true(hn_metric(m, "floodgate_collector_recorded_datagrams_total", "result=\"written\"",
                          NULL) == got);
    assert_true(hn_metric(m, "floodgate_collector_recorded_datagrams_total", "result=\"dropped\"",
                          NULL) == 0);
    assert_true(hn_metric(m, "floodgate_collector_record_files_total", NULL, NULL) >= 1);
    assert_int_equal(hn_stop(col, 5000), 0); /* SIGTERM: the last buffer written */

    glob_t g;
    char pat[700];
    snprintf(pat, sizeof(pat), "%s/exports-*.pcap", rec_dir);
    assert_int_equal(glob(pat, 0, NULL, &g), 0);
    char err[512];
    fg_config_t *cfg = fg_config_load(conf, err, sizeof(err));
    assert_non_null(cfg);
    rp_result_t r;
    assert_int_equal(rp_run(cfg, g.gl_pathv, (int)g.gl_pathc, NULL, &r, err, sizeof(err)), 0);
    assert_true((double)r.datagrams == got);
    assert_true(r.malformed >= GARBAGE * 3 / 5); /* the cut headers at least */
    fg_addr_t flood;
    assert_int_equal(fg_addr_parse(FLOOD_IP, &flood), 0);
    size_t bans_of_flood = 0;
    for (size_t i = 0; i < r.n_bans; i++) {
        if (fg_addr_eq(&r.bans[i].addr, &flood))
            bans_of_flood++;
        else
            fail_msg("a background host was banned in the replay");
    }
    assert_int_equal(bans_of_flood, 1);
    rp_result_free(&r);
    fg_config_destroy(&cfg);
    globfree(&g);
    hn_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_record_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
