/* test_replay_nfcapd: `floodgate replay` of nfcapd files (nfdump's format),
 * read through a real nfdump (Debian's 1.7.1, deploy/deps.sh).
 *
 * tests/data/replay/attack_ipfix.nfcapd is attack_ipfix.pcap's datagrams
 * written by a real nfcapd (make_nfcapd.sh): the same traffic, so the same
 * ban. Files with nfcapd's magic and garbage behind it, or of a layout
 * nfdump does not know, and a missing nfdump, are refused with a clear
 * error naming the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "cli/replay.h"
#include "tests/harness.h"

#define DIR "tests/data/replay/"
#define CONF DIR "replay.conf"

static fg_config_t *s_conf(void)
{
    char err[512];
    fg_config_t *cfg = fg_config_load(CONF, err, sizeof(err));
    if (!cfg)
        fail_msg("%s", err);
    return cfg;
}

/* A file of nfcapd's magic, layout version layout, then n pseudo-random
 * bytes (seeded: the same every run). */
static void s_garbage(const char *path, unsigned layout, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char h[4] = {0x0c, 0xa5, (unsigned char)layout, 0};
    assert_int_equal(fwrite(h, 1, 4, f), 4);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        fputc((int)(x & 0xff), f);
    }
    assert_int_equal(fclose(f), 0);
}

/* The nfcapd file of the pcap's traffic gives the same ban: address,
 * direction, attack type, metric, hostgroup, and its time within a second
 * (the file keeps each record's end time, the pcap its datagram's). */
static void test_nfcapd_same_ban_as_pcap(void **state)
{
    (void)state;
    fg_config_t *cfg = s_conf();
    char err[512] = "";
    rp_result_t p, n;
    char *cp[] = {DIR "attack_ipfix.pcap"}, *cn[] = {DIR "attack_ipfix.nfcapd"};
    assert_int_equal(rp_run(cfg, cp, 1, NULL, &p, err, sizeof(err)), 0);
    if (rp_run(cfg, cn, 1, NULL, &n, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(n.nfcapd_records, 4600);
    assert_int_equal(n.records, p.records);
    assert_int_equal(n.kept, p.kept);
    assert_int_equal(n.malformed, 0);
    assert_int_equal(p.n_bans, 1);
    assert_int_equal(n.n_bans, 1);
    const rp_ban_t *a = &p.bans[0], *b = &n.bans[0];
    char s[FG_ADDR_STRLEN];
    assert_string_equal(fg_addr_format(&b->addr, s), "10.0.1.7");
    assert_true(fg_addr_eq(&a->addr, &b->addr));
    assert_int_equal(a->dir, b->dir);
    assert_string_equal(b->attack_type, a->attack_type);
    assert_string_equal(b->metric, a->metric);
    assert_string_equal(b->hostgroup, a->hostgroup);
    uint64_t d = a->decided_ms > b->decided_ms ? a->decided_ms - b->decided_ms
                                               : b->decided_ms - a->decided_ms;
    assert_true(d <= 1000);
    rp_result_free(&p);
    rp_result_free(&n);
    fg_config_destroy(&cfg);
}

/* nfcapd's magic with garbage behind it: refused, the file and nfdump's
 * reason named; the same behind a pcap of a flood: the whole replay is
 * refused rather than judged on part of its input. An unknown layout is
 * refused before nfdump runs. */
static void test_nfcapd_garbage_refused(void **state)
{
    (void)state;
    fg_config_t *cfg = s_conf();
    char err[512] = "", path[64], path9[64];
    snprintf(path, sizeof(path), "/tmp/fg-nfcapd-garbage-%d", (int)getpid());
    snprintf(path9, sizeof(path9), "/tmp/fg-nfcapd-layout9-%d", (int)getpid());
    s_garbage(path, 2, 3000);
    s_garbage(path9, 9, 100);
    rp_result_t r;
    char *c1[] = {path}, *c2[] = {DIR "attack_ipfix.pcap", path}, *c3[] = {path9};
    assert_int_equal(rp_run(cfg, c1, 1, NULL, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "nfdump says"));
    err[0] = '\0';
    assert_int_equal(rp_run(cfg, c2, 2, NULL, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    err[0] = '\0';
    assert_int_equal(rp_run(cfg, c3, 1, NULL, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "layout 9"));
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s/floodgate -c " CONF " replay %s >/dev/null 2>&1",
             hn_build_dir(), path);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
    remove(path);
    remove(path9);
    fg_config_destroy(&cfg);
}

/* Without nfdump on the PATH: a clear error saying to install it. */
static void test_nfcapd_without_nfdump(void **state)
{
    (void)state;
    fg_config_t *cfg = s_conf();
    char err[512] = "", *old = getenv("PATH");
    char *saved = old ? strdup(old) : NULL;
    rp_result_t r;
    char *c[] = {DIR "attack_ipfix.nfcapd"};
    setenv("PATH", "/nonexistent-fg", 1);
    int rc = rp_run(cfg, c, 1, NULL, &r, err, sizeof(err));
    if (saved)
        setenv("PATH", saved, 1);
    free(saved);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "install nfdump"));
    fg_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nfcapd_same_ban_as_pcap),
        cmocka_unit_test(test_nfcapd_garbage_refused),
        cmocka_unit_test(test_nfcapd_without_nfdump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
