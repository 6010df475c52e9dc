/* test_recorder: the collector's recording (collector/recorder.c) of the
 * datagrams of tests/data/replay/attack_ipfix.pcap, with the capture's
 * times as the wall clock: rotation by size and by time, the files kept,
 * a directory that is not there, the files read by tshark, and the
 * recording replayed giving the same decisions as the original capture. */
#include <glob.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "cli/replay.h"
#include "collector/recorder.h"
#include "tests/harness.h"

#define CAPTURE "tests/data/replay/attack_ipfix.pcap"
#define CONF "tests/data/replay/replay.conf"

/* Every UDP payload of CAPTURE (Ethernet, IPv4 without options) into rec
 * at its capture time, plus extra_us. Returns the datagrams given. */
static size_t s_feed(rec_t *rec, uint64_t extra_us)
{
    char perr[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(CAPTURE, perr);
    assert_non_null(pc);
    struct pcap_pkthdr *h;
    const u_char *d;
    size_t n = 0;
    fg_addr_t from;
    assert_int_equal(fg_addr_parse("198.51.100.1", &from), 0);
    while (pcap_next_ex(pc, &h, &d) == 1) {
        assert_true(h->caplen > 42);
        uint64_t us = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec + extra_us;
        rec_datagram(rec, d + 42, h->caplen - 42, &from, 40000, 2055, us);
        rec_tick(rec, us);
        n++;
    }
    pcap_close(pc);
    return n;
}

static size_t s_files(const char *dir, glob_t *g)
{
    char pat[512];
    snprintf(pat, sizeof(pat), "%s/exports-*.pcap", dir);
    if (glob(pat, 0, NULL, g) != 0)
        return 0;
    return g->gl_pathc;
}

static fg_config_t *s_conf(void)
{
    char err[512];
    fg_config_t *cfg = fg_config_load(CONF, err, sizeof(err));
    if (!cfg)
        fail_msg("%s", err);
    return cfg;
}

/* 64 KiB files: several; replayed together they give the original's
 * records and bans, to the millisecond and the value. */
static void test_recorder_round_trip(void **state)
{
    (void)state;
    char *dir = hn_tmpdir("rec");
    char prefix[512];
    snprintf(prefix, sizeof(prefix), "%s/exports", dir);
    rec_t *rec = rec_new(prefix, 64 << 10, 3600, 1000);
    assert_non_null(rec);
    size_t n = s_feed(rec, 0);
    const rec_stats_t *st = rec_stats(rec);
    assert_int_equal(st->datagrams, n);
    assert_int_equal(st->dropped, 0);
    assert_int_equal(st->errors, 0);
    assert_true(st->files >= 3);
    rec_destroy(&rec);
    assert_null(rec);

    glob_t g;
    size_t nf = s_files(dir, &g);
    assert_true(nf >= 3);
    for (size_t i = 0; i < nf; i++) {
        struct stat sb;
        assert_int_equal(stat(g.gl_pathv[i], &sb), 0);
        assert_true(sb.st_size <= 64 << 10);
    }
    fg_config_t *cfg = s_conf();
    char err[256];
    rp_result_t orig, back;
    char *c1[] = {CAPTURE};
    assert_int_equal(rp_run(cfg, c1, 1, NULL, &orig, err, sizeof(err)), 0);
    assert_int_equal(rp_run(cfg, g.gl_pathv, (int)nf, NULL, &back, err, sizeof(err)), 0);
    assert_int_equal(back.datagrams, n);
    assert_int_equal(back.skipped, 0);
    assert_int_equal(back.records, orig.records);
    assert_int_equal(back.n_bans, orig.n_bans);
    assert_true(orig.n_bans >= 1);
    for (size_t i = 0; i < orig.n_bans; i++) {
        assert_true(fg_addr_eq(&orig.bans[i].addr, &back.bans[i].addr));
        assert_int_equal(orig.bans[i].decided_ms, back.bans[i].decided_ms);
        assert_true(orig.bans[i].value == back.bans[i].value);
    }
    rp_result_free(&orig);
    rp_result_free(&back);
    fg_config_destroy(&cfg);
    globfree(&g);
    hn_rmdir(dir);
    free(dir);
}

/* keep = 2: only the two newest files remain, the others counted removed;
 * a 10 s limit cuts the 60 s capture into about 6 files. */
static void test_recorder_keep_and_time(void **state)
{
    (void)state;
    char *dir = hn_tmpdir("rec");
    char prefix[512];
    snprintf(prefix, sizeof(prefix), "%s/exports", dir);
    rec_t *rec = rec_new(prefix, 64 << 10, 3600, 2);
    s_feed(rec, 0);
    uint64_t files = rec_stats(rec)->files;
    assert_int_equal(rec_stats(rec)->removed, files - 2);
    rec_destroy(&rec);
    glob_t g;
    assert_int_equal(s_files(dir, &g), 2);
    globfree(&g);
    hn_rmdir(dir);
    free(dir);

    dir = hn_tmpdir("rec");
    snprintf(prefix, sizeof(prefix), "%s/exports", dir);
    rec = rec_new(prefix, 1 << 30, 10, 100);
    s_feed(rec, 0);
    files = rec_stats(rec)->files;
    assert_true(files >= 6 && files <= 7);
    rec_destroy(&rec);
    assert_int_equal(s_files(dir, &g), files);
    globfree(&g);
    hn_rmdir(dir);
    free(dir);
}

/* A directory that is not there: every datagram counted dropped, errors
 * counted, tried again every 10 s (not per datagram), and recording
 * starts once the directory exists. */
static void test_recorder_missing_directory(void **state)
{
    (void)state;
    char *dir = hn_tmpdir("rec");
    char sub[512], prefix[600];
    snprintf(sub, sizeof(sub), "%s/not-yet", dir);
    snprintf(prefix, sizeof(prefix), "%s/exports", sub);
    rec_t *rec = rec_new(prefix, 1 << 20, 3600, 10);
    size_t n = s_feed(rec, 0);
    const rec_stats_t *st = rec_stats(rec);
    assert_int_equal(st->dropped, n);
    assert_int_equal(st->datagrams, 0);
    assert_true(st->errors >= 5 && st->errors <= 8); /* 60 s of capture, one try per 10 s */
    assert_int_equal(mkdir(sub, 0755), 0);
    s_feed(rec, 120 * 1000000ULL); /* the same datagrams two minutes later */
    assert_int_equal(st->datagrams, n);
    rec_destroy(&rec);
    glob_t g;
    snprintf(prefix, sizeof(prefix), "%s/exports-*.pcap", sub);
    assert_int_equal(glob(prefix, 0, NULL, &g), 0);
    assert_int_equal(g.gl_pathc, 1);
    globfree(&g);
    hn_rmdir(dir);
    free(dir);
}

/* tshark reads a recorded file: the exporter's address, the listening
 * port, and IPFIX (cflow) in the datagrams. */
static void test_recorder_tshark_reads_it(void **state)
{
    (void)state;
    char *dir = hn_tmpdir("rec");
    char prefix[512], cmd[1024], line[256] = "";
    snprintf(prefix, sizeof(prefix), "%s/exports", dir);
    rec_t *rec = rec_new(prefix, 1 << 30, 3600, 10);
    s_feed(rec, 0);
    rec_destroy(&rec);
    glob_t g;
    assert_int_equal(s_files(dir, &g), 1);
    snprintf(cmd, sizeof(cmd),
             "tshark -r %s -d udp.port==2055,cflow -T fields -e ip.src -e udp.dstport "
             "-e cflow.version -c 1 2>/dev/null",
             g.gl_pathv[0]);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(line, sizeof(line), p));
    pclose(p);
    assert_string_equal(line, "198.51.100.1\t2055\t10\n");
    globfree(&g);
    hn_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recorder_round_trip),
        cmocka_unit_test(test_recorder_keep_and_time),
        cmocka_unit_test(test_recorder_missing_directory),
        cmocka_unit_test(test_recorder_tshark_reads_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
