/* test_replay: `floodgate replay` and `tune` on the captures of
 * tests/data/replay/ (made by make_replay.py).
 *
 * The golden files hold the expected output of the CLI byte for byte: a
 * change to decoding, aggregation or detection that changes a decision (or
 * a rate) shows up here as a diff. Regenerate them only for a change that
 * is meant to change them: FG_REPLAY_UPDATE=1 build/tests/test_replay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "cli/replay.h"
#include "tests/harness.h"

#define DIR "tests/data/replay/"
#define CONF DIR "replay.conf"

/* The standard output of `floodgate -c CONF ARGS` (the caller's to free). */
static char *s_run_cli(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s/floodgate -c " CONF " %s 2>/dev/null", hn_build_dir(), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    for (size_t k; (k = fread(out + n, 1, cap - n - 1, p)) > 0;) {
        n += k;
        if (n + 1 == cap) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
    }
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    return out;
}

/* The output of args equals the golden file (or becomes it with
 * FG_REPLAY_UPDATE=1). */
static void s_golden(const char *args, const char *golden)
{
    char *got = s_run_cli(args);
    if (getenv("FG_REPLAY_UPDATE")) {
        hn_write_file(golden, got);
        free(got);
        return;
    }
    char *want = hn_read_file(golden);
    assert_non_null(want);
    if (strcmp(got, want) != 0) {
        hn_write_file("/tmp/floodgate-replay-got.txt", got);
        fail_msg("%s differs from `floodgate %s`: see diff %s "
                 "/tmp/floodgate-replay-got.txt",
                 golden, args, golden);
    }
    free(got);
    free(want);
}

static void test_replay_golden_attack_ipfix(void **state)
{
    (void)state;
    s_golden("replay " DIR "attack_ipfix.pcap", DIR "attack_ipfix.out");
}

static void test_replay_golden_longflow_v9(void **state)
{
    (void)state;
    s_golden("replay " DIR "longflow_v9.pcap", DIR "longflow_v9.out");
}

static void test_replay_golden_mix_v5(void **state)
{
    (void)state;
    s_golden("replay " DIR "mix_v5.pcap", DIR "mix_v5.out");
}

static void test_replay_golden_sflow_sampled(void **state)
{
    (void)state;
    s_golden("replay " DIR "sflow_sampled.pcap", DIR "sflow_sampled.out");
}

static void test_replay_golden_json(void **state)
{
    (void)state;
    s_golden("replay --json " DIR "attack_ipfix.pcap " DIR "sflow_sampled.pcap",
             DIR "attack_sflow.json");
}

static void test_replay_golden_diff(void **state)
{
    (void)state;
    s_golden("replay --diff " DIR "strict.conf " DIR "mix_v5.pcap " DIR "sflow_sampled.pcap",
             DIR "diff_strict.out");
}

static void test_replay_golden_tune(void **state)
{
    (void)state;
    s_golden("tune --margin 1.5 " DIR "longflow_v9.pcap " DIR "mix_v5.pcap", DIR "tune.out");
}

/* Paced at 100x (0.6 s for 60 s of capture): the same bytes as at full
 * speed, so the clock plays no part. */
static void test_replay_speed_same_output(void **state)
{
    (void)state;
    char *fast = s_run_cli("replay --max " DIR "attack_ipfix.pcap");
    char *paced = s_run_cli("replay --speed 100 " DIR "attack_ipfix.pcap");
    assert_string_equal(fast, paced);
    free(fast);
    free(paced);
}

static const rp_ban_t *s_find(const rp_result_t *r, const char *ip)
{
    fg_addr_t a;
    assert_int_equal(fg_addr_parse(ip, &a), 0);
    for (size_t i = 0; i < r->n_bans; i++)
        if (fg_addr_eq(&r->bans[i].addr, &a))
            return &r->bans[i];
    return NULL;
}

static fg_config_t *s_conf(void)
{
    char err[512];
    fg_config_t *cfg = fg_config_load(CONF, err, sizeof(err));
    if (!cfg)
        fail_msg("%s", err);
    return cfg;
}

/* Garbage between the flood's datagrams (random bytes, cut headers of every
 * version, a data set of an unknown template, frames cut by the snap
 * length, TCP, fragments): all counted, the flood still banned, at the same
 * time and with the same value as without the garbage. */
static void test_replay_hostile_flood_still_banned(void **state)
{
    (void)state;
    fg_config_t *cfg = s_conf();
    char err[256];
    rp_result_t clean, hostile;
    char *c1[] = {DIR "attack_ipfix.pcap"}, *c2[] = {DIR "hostile_ipfix.pcap"};
    assert_int_equal(rp_run(cfg, c1, 1, NULL, &clean, err, sizeof(err)), 0);
    assert_int_equal(rp_run(cfg, c2, 1, NULL, &hostile, err, sizeof(err)), 0);
    assert_int_equal(clean.malformed, 0);
    assert_true(hostile.malformed >= 400);
    assert_true(hostile.skipped >= 100);
    assert_int_equal(hostile.records, clean.records);
    const rp_ban_t *a = s_find(&clean, "10.0.1.7"), *b = s_find(&hostile, "10.0.1.7");
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(hostile.n_bans, 1);
    assert_string_equal(b->attack_type, "amplification_dns");
    assert_int_equal(a->decided_ms, b->decided_ms);
    assert_true(a->value == b->value);
    /* the flood starts at T0 + 20 s, its first records arrive at T0 + 21 s */
    assert_true(b->decided_ms >= 1795000021000ULL && b->decided_ms <= 1795000024000ULL);
    rp_result_free(&clean);
    rp_result_free(&hostile);
    fg_config_destroy(&cfg);
}

/* A 15 kpps backup exported once a minute is held at its rate (the peak of
 * the host windows is 15 kpps, not 60 x that) and not banned. */
static void test_replay_long_flows_spread(void **state)
{
    (void)state;
    fg_config_t *cfg = s_conf();
    char err[256];
    rp_result_t r;
    char *c[] = {DIR "longflow_v9.pcap"};
    assert_int_equal(rp_run(cfg, c, 1, NULL, &r, err, sizeof(err)), 0);
    assert_int_equal(r.n_bans, 0);
    assert_non_null(r.groups[0][0]);
    double peak = r.groups[0][0]->s[0][0].peak;
    assert_true(peak > 14000 && peak < 16000);
    rp_result_free(&r);
    fg_config_destroy(&cfg);
}

static void test_replay_bad_capture(void **state)
{
    (void)state;
    fg_config_t *cfg = s_conf();
    char err[256] = "";
    rp_result_t r;
    char *missing[] = {DIR "no-such.pcap"}, *notpcap[] = {CONF};
    assert_int_equal(rp_run(cfg, missing, 1, NULL, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no-such.pcap"));
    assert_int_equal(rp_run(cfg, notpcap, 1, NULL, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "replay.conf"));
    fg_config_destroy(&cfg);
}

/* A capture cut in its last packet (a recorder killed mid-write) is read
 * up to there, with a warning; the bans are those of the whole capture
 * (its last datagram comes after the flood). */
static void test_replay_truncated_capture(void **state)
{
    (void)state;
    char *dir = hn_tmpdir("replaycut");
    char path[512];
    snprintf(path, sizeof(path), "%s/cut.pcap", dir);
    FILE *in = fopen(DIR "attack_ipfix.pcap", "rb"), *out = fopen(path, "wb");
    assert_non_null(in);
    assert_non_null(out);
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    fseek(in, 0, SEEK_SET);
    for (long i = 0; i < size - 100; i++)
        fputc(fgetc(in), out);
    fclose(in);
    fclose(out);
    fg_config_t *cfg = s_conf();
    char err[256];
    rp_result_t whole, cut;
    char *c1[] = {DIR "attack_ipfix.pcap"}, *c2[] = {path};
    assert_int_equal(rp_run(cfg, c1, 1, NULL, &whole, err, sizeof(err)), 0);
    assert_int_equal(rp_run(cfg, c2, 1, NULL, &cut, err, sizeof(err)), 0);
    assert_int_equal(whole.truncated_files, 0);
    assert_int_equal(cut.truncated_files, 1);
    assert_non_null(strstr(cut.warning, "cut.pcap"));
    assert_int_equal(cut.packets, whole.packets - 1);
    assert_int_equal(cut.n_bans, whole.n_bans);
    assert_int_equal(cut.bans[0].decided_ms, whole.bans[0].decided_ms);
    rp_result_free(&whole);
    rp_result_free(&cut);
    fg_config_destroy(&cfg);
    hn_rmdir(dir);
    free(dir);
}

/* attack_ipfix.pcap (Ethernet) rewritten to dst with link type link: each
 * frame's 14-byte Ethernet header replaced by hdr (hlen bytes). */
static void s_relink(const char *dst, int link, const uint8_t *hdr, size_t hlen)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *in = pcap_open_offline(DIR "attack_ipfix.pcap", err);
    assert_non_null(in);
    assert_int_equal(pcap_datalink(in), DLT_EN10MB);
    pcap_t *dead = pcap_open_dead(link, 65535);
    pcap_dumper_t *out = pcap_dump_open(dead, dst);
    assert_non_null(out);
    struct pcap_pkthdr *h;
    const u_char *data;
    uint8_t buf[65536];
    while (pcap_next_ex(in, &h, &data) == 1) {
        assert_true(h->caplen > 14 && h->caplen - 14 + hlen <= sizeof(buf));
        memcpy(buf, hdr, hlen);
        memcpy(buf + hlen, data + 14, h->caplen - 14);
        struct pcap_pkthdr o = *h;
        o.caplen = o.len = (bpf_u_int32)(h->caplen - 14 + hlen);
        pcap_dump((u_char *)out, &o, buf);
    }
    pcap_dump_close(out);
    pcap_close(dead);
    pcap_close(in);
}

/* The same capture taken on Linux "any" (cooked v1 and v2) or behind a
 * VLAN and a QinQ tag gives the packets and bans of the Ethernet one. */
static void test_replay_link_types(void **state)
{
    (void)state;
    char *dir = hn_tmpdir("replaylink");
    static const uint8_t sll[16] = {[14] = 0x08, [15] = 0x00};
    static const uint8_t sll2[20] = {[0] = 0x08, [1] = 0x00};
    static const uint8_t qinq[22] = {[12] = 0x88, [13] = 0xa8, [16] = 0x81, [17] = 0x00,
                                     [20] = 0x08, [21] = 0x00};
    const struct {
        const char *name;
        int link;
        const uint8_t *hdr;
        size_t hlen;
    } cases[] = {{"sll.pcap", DLT_LINUX_SLL, sll, sizeof(sll)},
                 {"sll2.pcap", DLT_LINUX_SLL2, sll2, sizeof(sll2)},
                 {"qinq.pcap", DLT_EN10MB, qinq, sizeof(qinq)}};
    fg_config_t *cfg = s_conf();
    char err[256];
    rp_result_t want;
    char *c1[] = {DIR "attack_ipfix.pcap"};
    assert_int_equal(rp_run(cfg, c1, 1, NULL, &want, err, sizeof(err)), 0);
    assert_true(want.n_bans > 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, cases[i].name);
        s_relink(path, cases[i].link, cases[i].hdr, cases[i].hlen);
        rp_result_t got;
        char *c2[] = {path};
        assert_int_equal(rp_run(cfg, c2, 1, NULL, &got, err, sizeof(err)), 0);
        assert_int_equal(got.packets, want.packets);
        assert_int_equal(got.n_bans, want.n_bans);
        assert_int_equal(got.bans[0].decided_ms, want.bans[0].decided_ms);
        rp_result_free(&got);
    }
    rp_result_free(&want);
    fg_config_destroy(&cfg);
    hn_rmdir(dir);
    free(dir);
}

/* Three aggregator shards (hosts split by their hash, the detector
 * merging the shards' windows) ban the same hosts at the same times with
 * the same values as one. */
static void test_replay_shards_same_bans(void **state)
{
    (void)state;
    fg_config_t *cfg = s_conf();
    char err[256];
    rp_result_t one, three;
    char *c[] = {DIR "mix_v5.pcap", DIR "attack_ipfix.pcap", DIR "sflow_sampled.pcap"};
    assert_int_equal(rp_run(cfg, c, 3, NULL, &one, err, sizeof(err)), 0);
    cfg->aggregator.shards = 3; /* no sockets in a replay: the endpoints are not used */
    assert_int_equal(rp_run(cfg, c, 3, NULL, &three, err, sizeof(err)), 0);
    assert_int_equal(three.windows, 3 * one.windows);
    assert_int_equal(one.n_bans, 3);
    assert_int_equal(three.n_bans, one.n_bans);
    for (size_t i = 0; i < one.n_bans; i++) {
        assert_true(fg_addr_eq(&one.bans[i].addr, &three.bans[i].addr));
        assert_int_equal(one.bans[i].decided_ms, three.bans[i].decided_ms);
        assert_true(one.bans[i].value == three.bans[i].value);
        assert_string_equal(one.bans[i].attack_type, three.bans[i].attack_type);
    }
    rp_result_free(&one);
    rp_result_free(&three);
    fg_config_destroy(&cfg);
}

/* A capture with no packet: replay says it is empty, tune refuses to
 * propose anything (exit status 1) instead of printing empty thresholds. */
static void test_replay_empty_capture(void **state)
{
    (void)state;
    char *dir = hn_tmpdir("replayempty");
    char path[512], cmd[1024];
    snprintf(path, sizeof(path), "%s/empty.pcap", dir);
    FILE *in = fopen(DIR "attack_ipfix.pcap", "rb"), *out = fopen(path, "wb");
    assert_non_null(in);
    assert_non_null(out);
    for (int i = 0; i < 24; i++) /* the file header only */
        fputc(fgetc(in), out);
    fclose(in);
    fclose(out);
    snprintf(cmd, sizeof(cmd), "replay %s", path);
    char *got = s_run_cli(cmd);
    assert_non_null(strstr(got, "capture: empty (no packets)"));
    assert_non_null(strstr(got, "bans: 0"));
    free(got);
    snprintf(cmd, sizeof(cmd), "%s/floodgate -c " CONF " tune %s >/dev/null 2>&1", hn_build_dir(),
             path);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    hn_rmdir(dir);
    free(dir);
}

static void test_replay_quantile(void **state)
{
    (void)state;
    rp_series_t *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    assert_true(rp_quantile(s, 0.99) == 0);
    /* 1..1000: p99 is 990 within the bucket width (2.2 %) */
    for (int i = 1; i <= 1000; i++)
        rp_series_add(s, i);
    double q = rp_quantile(s, 0.99);
    assert_true(q >= 990 && q <= 990 * 1.022);
    assert_true(rp_quantile(s, 1.0) == 1000);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_golden_attack_ipfix),
        cmocka_unit_test(test_replay_golden_longflow_v9),
        cmocka_unit_test(test_replay_golden_mix_v5),
        cmocka_unit_test(test_replay_golden_sflow_sampled),
        cmocka_unit_test(test_replay_golden_json),
        cmocka_unit_test(test_replay_golden_diff),
        cmocka_unit_test(test_replay_golden_tune),
        cmocka_unit_test(test_replay_speed_same_output),
        cmocka_unit_test(test_replay_hostile_flood_still_banned),
        cmocka_unit_test(test_replay_long_flows_spread),
        cmocka_unit_test(test_replay_bad_capture),
        cmocka_unit_test(test_replay_truncated_capture),
        cmocka_unit_test(test_replay_shards_same_bans),
        cmocka_unit_test(test_replay_empty_capture),
        cmocka_unit_test(test_replay_quantile),
        cmocka_unit_test(test_replay_link_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
