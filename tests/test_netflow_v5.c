/* Unit tests: NetFlow v5 decoding, the filter that maps records to
 * host/peer/direction, and the flow_sequence accounting.
 *
 * The main fixture is a real datagram from softflowd (tests/data/
 * nf5_softflowd.bin, its tshark decoding in nf5_softflowd.txt); the error
 * cases are its truncated and corrupted variants, or datagrams built here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/netflow_v5.h"
#include "collector/raw.h"
#include "common/config.h"
#include "tests/harness.h"

#define FIXTURE "tests/data/nf5_softflowd.bin"
#define FIXTURE_LEN 408

static uint8_t s_fix[FIXTURE_LEN];

/* The fixture as tshark decodes it (tests/data/nf5_softflowd.txt): start
 * and end in ms of SysUptime. */
static const struct {
    const char *src, *dst;
    uint32_t packets, bytes, start, end;
    uint16_t sport, dport;
    uint8_t proto, flags;
} s_want[8] = {
    {"203.0.113.7", "10.0.0.5", 5, 640, 0, 400, 53, 40000, 17, 0x00},
    {"198.51.100.30", "203.0.113.40", 2, 56, 300, 400, 0, 2048, 1, 0x00},
    {"10.0.0.5", "10.0.0.9", 2, 156, 400, 500, 5000, 6000, 17, 0x00},
    {"10.0.0.5", "198.51.100.9", 3, 720, 50, 250, 443, 51000, 6, 0x18},
    {"198.51.100.20", "10.0.0.7", 1, 40, 200, 200, 1000, 80, 6, 0x02},
    {"198.51.100.20", "10.0.0.7", 1, 40, 210, 210, 1001, 80, 6, 0x02},
    {"198.51.100.20", "10.0.0.7", 1, 40, 220, 220, 1002, 80, 6, 0x02},
    {"198.51.100.20", "10.0.0.7", 1, 40, 230, 230, 1003, 80, 6, 0x02},
};
/* unix ms of SysUptime 0 in the fixture: 1795000000.5 s - 500 ms */
#define FIX_BOOT_MS 1795000000000ULL

static int s_load_fixture(void **state)
{
    (void)state;
    FILE *f = fopen(FIXTURE, "rb");
    if (!f)
        return -1;
    size_t n = fread(s_fix, 1, sizeof(s_fix), f);
    int extra = fgetc(f);
    fclose(f);
    return n == FIXTURE_LEN && extra == EOF ? 0 : -1;
}

static void s_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void s_put32(uint8_t *p, uint32_t v)
{
    s_put16(p, (uint16_t)(v >> 16));
    s_put16(p + 2, (uint16_t)v);
}

/* A datagram of count records built by hand: header times as given, every
 * record 10.0.0.1 -> 10.0.0.2, 7 packets, 700 bytes, First/Last as given. */
static size_t s_build(uint8_t *buf, uint16_t count, uint32_t uptime, uint32_t secs,
                      uint32_t nsecs, uint16_t sampling, uint32_t first, uint32_t last)
{
    memset(buf, 0, NF5_HEADER_LEN + (size_t)count * NF5_RECORD_LEN);
    s_put16(buf, 5);
    s_put16(buf + 2, count);
    s_put32(buf + 4, uptime);
    s_put32(buf + 8, secs);
    s_put32(buf + 12, nsecs);
    s_put32(buf + 16, 1234);
    buf[20] = 1;
    buf[21] = 2;
    s_put16(buf + 22, sampling);
    for (uint16_t i = 0; i < count; i++) {
        uint8_t *r = buf + NF5_HEADER_LEN + i * NF5_RECORD_LEN;
        s_put32(r, 0x0a000001);
        s_put32(r + 4, 0x0a000002);
        s_put32(r + 16, 7);
        s_put32(r + 20, 700);
        s_put32(r + 24, first);
        s_put32(r + 28, last);
        r[38] = 17;
    }
    return NF5_HEADER_LEN + (size_t)count * NF5_RECORD_LEN;
}

static fg_addr_t s_addr(const char *s)
{
    fg_addr_t a;
    assert_int_equal(fg_addr_parse(s, &a), 0);
    return a;
}

static void test_nf5_decode_softflowd_fixture(void **state)
{
    (void)state;
    nf5_header_t h;
    raw_flow_t r[NF5_MAX_RECORDS];
    assert_int_equal(nf5_decode(s_fix, FIXTURE_LEN, 1, &h, r), NF5_OK);
    assert_int_equal(h.version, 5);
    assert_int_equal(h.count, 8);
    assert_int_equal(h.sys_uptime_ms, 500);
    assert_int_equal(h.unix_secs, 1795000000u);
    assert_int_equal(h.unix_nsecs, 500000000u);
    assert_int_equal(h.flow_sequence, 0);
    assert_int_equal(h.sampling, 1);
    assert_int_equal(h.trailing, 0);
    for (int i = 0; i < 8; i++) {
        fg_addr_t src = s_addr(s_want[i].src), dst = s_addr(s_want[i].dst);
        assert_true(fg_addr_eq(&r[i].src, &src));
        assert_true(fg_addr_eq(&r[i].dst, &dst));
        assert_int_equal(r[i].packets, s_want[i].packets);
        assert_int_equal(r[i].bytes, s_want[i].bytes);
        assert_int_equal(r[i].start_ms, FIX_BOOT_MS + s_want[i].start);
        assert_int_equal(r[i].end_ms, FIX_BOOT_MS + s_want[i].end);
        assert_int_equal(r[i].sport, s_want[i].sport);
        assert_int_equal(r[i].dport, s_want[i].dport);
        assert_int_equal(r[i].proto, s_want[i].proto);
        assert_int_equal(r[i].tcp_flags, s_want[i].flags);
        assert_int_equal(r[i].sampling, 1);
        assert_int_equal(r[i].frag, 0);
    }
}

/* sampling_interval 0 (softflowd's) means unknown: the configured default
 * multiplies packets and bytes. */
static void test_nf5_zero_sampling_uses_default(void **state)
{
    (void)state;
    nf5_header_t h;
    raw_flow_t r[NF5_MAX_RECORDS];
    assert_int_equal(nf5_decode(s_fix, FIXTURE_LEN, 100, &h, r), NF5_OK);
    assert_int_equal(h.sampling_interval, 0);
    assert_int_equal(h.sampling, 100);
    assert_int_equal(r[0].packets, 500);
    assert_int_equal(r[0].bytes, 64000);
    assert_int_equal(r[0].sampling, 100);
    /* a default below 1 is taken as 1, never as "multiply by 0" */
    assert_int_equal(nf5_decode(s_fix, FIXTURE_LEN, 0, &h, r), NF5_OK);
    assert_int_equal(r[0].packets, 5);
}

static void test_nf5_sampling_multiplies(void **state)
{
    (void)state;
    uint8_t buf[NF5_MAX_DATAGRAM];
    nf5_header_t h;
    raw_flow_t r[NF5_MAX_RECORDS];
    /* mode 01 (packet interval), 1 in 1000: the default is ignored */
    size_t len = s_build(buf, 2, 5000, 1700000000, 0, 0x4000 | 1000, 4000, 4900);
    assert_int_equal(nf5_decode(buf, len, 7, &h, r), NF5_OK);
    assert_int_equal(h.sampling_mode, 1);
    assert_int_equal(h.sampling_interval, 1000);
    assert_int_equal(h.sampling, 1000);
    assert_int_equal(r[1].packets, 7000);
    assert_int_equal(r[1].bytes, 700000);
    assert_int_equal(r[1].sampling, 1000);
}

/* The top two bits are the mode, not part of the interval. */
static void test_nf5_sampling_mode_bits(void **state)
{
    (void)state;
    uint8_t buf[NF5_MAX_DATAGRAM];
    nf5_header_t h;
    raw_flow_t r[NF5_MAX_RECORDS];
    size_t len = s_build(buf, 1, 5000, 1700000000, 0, 0xc00a, 4000, 4900);
    assert_int_equal(nf5_decode(buf, len, 1, &h, r), NF5_OK);
    assert_int_equal(h.sampling_mode, 3);
    assert_int_equal(h.sampling_interval, 10);
    assert_int_equal(r[0].packets, 70);
    /* mode set, interval 0: still unknown, so the default applies */
    len = s_build(buf, 1, 5000, 1700000000, 0, 0x4000, 4000, 4900);
    assert_int_equal(nf5_decode(buf, len, 3, &h, r), NF5_OK);
    assert_int_equal(h.sampling_mode, 1);
    assert_int_equal(r[0].packets, 21);
}

/* unix ms = unix_secs * 1000 + unix_nsecs / 1e6 - SysUptime + stamp */
static void test_nf5_time_conversion(void **state)
{
    (void)state;
    uint8_t buf[NF5_MAX_DATAGRAM];
    nf5_header_t h;
    raw_flow_t r[NF5_MAX_RECORDS];
    size_t len = s_build(buf, 1, 10000, 1700000000, 250999999, 0, 9000, 9900);
    assert_int_equal(nf5_decode(buf, len, 1, &h, r), NF5_OK);
    assert_int_equal(r[0].start_ms, 1700000000250ULL - 1000);
    assert_int_equal(r[0].end_ms, 1700000000250ULL - 100);
    /* SysUptime wrapped (49.7 days) after First: still 1 s before export */
    len = s_build(buf, 1, 500, 1700000000, 0, 0, 0xfffffe0cu, 400);
    assert_int_equal(nf5_decode(buf, len, 1, &h, r), NF5_OK);
    assert_int_equal(r[0].start_ms, 1700000000000ULL - 1000);
    assert_int_equal(r[0].end_ms, 1700000000000ULL - 100);
    /* Last a little after the header's SysUptime (exporter clock skew) */
    len = s_build(buf, 1, 500, 1700000000, 0, 0, 400, 520);
    assert_int_equal(nf5_decode(buf, len, 1, &h, r), NF5_OK);
    assert_int_equal(r[0].end_ms, 1700000000000ULL + 20);
}

static void test_nf5_truncated_header(void **state)
{
    (void)state;
    nf5_header_t h;
    raw_flow_t r[NF5_MAX_RECORDS];
    size_t lens[] = {0, 1, 2, 10, 23};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint8_t *copy = malloc(lens[i] ? lens[i] : 1); /* exact size: ASan sees overreads */
        memcpy(copy, s_fix, lens[i]);
        assert_int_equal(nf5_decode(copy, lens[i], 1, &h, r), NF5_ERR_SHORT_HEADER);
        free(copy);
    }
}

static void test_nf5_truncated_records(void **state)
{
    (void)state;
    nf5_header_t h;
    raw_flow_t r[NF5_MAX_RECORDS];
    size_t lens[] = {24, 25, 24 + 7 * 48, FIXTURE_LEN - 1};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint8_t *copy = malloc(lens[i]);
        memcpy(copy, s_fix, lens[i]);
        assert_int_equal(nf5_decode(copy, lens[i], 1, &h, r), NF5_ERR_TRUNCATED);
        assert_int_equal(h.count, 8);
        free(copy);
    }
}

static void test_nf5_bad_count(void **state)
{
    (void)state;
    uint8_t buf[FIXTURE_LEN + 48];
    nf5_header_t h;
    raw_flow_t r[NF5_MAX_RECORDS];
    uint16_t counts[] = {0, 31, 0xffff};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        memcpy(buf, s_fix, FIXTURE_LEN);
        s_put16(buf + 2, counts[i]);
        assert_int_equal(nf5_decode(buf, FIXTURE_LEN, 1, &h, r), NF5_ERR_COUNT);
    }
    /* 9 announced, 8 present: truncated, not garbage */
    memcpy(buf, s_fix, FIXTURE_LEN);
    s_put16(buf + 2, 9);
    assert_int_equal(nf5_decode(buf, FIXTURE_LEN, 1, &h, r), NF5_ERR_TRUNCATED);
    /* 30 full records is the largest valid datagram */
    uint8_t big[NF5_MAX_DATAGRAM];
    size_t len = s_build(big, 30, 1000, 1700000000, 0, 0, 10, 20);
    assert_int_equal(len, NF5_MAX_DATAGRAM);
    assert_int_equal(nf5_decode(big, len, 1, &h, r), NF5_OK);
    assert_int_equal(h.count, 30);
}

static void test_nf5_wrong_version(void **state)
{
    (void)state;
    uint8_t buf[FIXTURE_LEN];
    nf5_header_t h;
    raw_flow_t r[NF5_MAX_RECORDS];
    uint16_t versions[] = {1, 7, 9, 10, 0x0500, 0};
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        memcpy(buf, s_fix, FIXTURE_LEN);
        s_put16(buf, versions[i]);
        assert_int_equal(nf5_decode(buf, FIXTURE_LEN, 1, &h, r), NF5_ERR_VERSION);
        assert_int_equal(h.version, versions[i]);
    }
    /* the version is checked before the length of the rest */
    assert_int_equal(nf5_decode((const uint8_t *)"\x00\x09\x00", 3, 1, &h, r), NF5_ERR_VERSION);
}

/* Bytes after the last record are counted but do not cost the records. */
static void test_nf5_trailing_bytes(void **state)
{
    (void)state;
    uint8_t buf[FIXTURE_LEN + 10];
    nf5_header_t h;
    raw_flow_t r[NF5_MAX_RECORDS];
    memcpy(buf, s_fix, FIXTURE_LEN);
    memset(buf + FIXTURE_LEN, 0xee, 10);
    assert_int_equal(nf5_decode(buf, sizeof(buf), 1, &h, r), NF5_TRAILING);
    assert_int_equal(h.trailing, 10);
    assert_int_equal(h.count, 8);
    assert_int_equal(r[7].sport, 1003);
    assert_string_equal(nf5_status_str(NF5_TRAILING), "trailing_bytes");
}

/* Every prefix of the fixture and bounded random corruptions, each in a
 * buffer of its exact size: only the whole datagram decodes, and nothing
 * crashes or reads outside (run under SAN=1 for the reads). */
static void test_nf5_prefixes_and_corruptions(void **state)
{
    (void)state;
    nf5_header_t h;
    raw_flow_t r[NF5_MAX_RECORDS];
    for (size_t len = 0; len < FIXTURE_LEN; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, s_fix, len);
        nf5_status_t st = nf5_decode(copy, len, 1, &h, r);
        assert_true(st == NF5_ERR_SHORT_HEADER || st == NF5_ERR_TRUNCATED);
        free(copy);
    }
    uint32_t seed = 12345;
    for (int i = 0; i < 2000; i++) {
        uint8_t *copy = malloc(FIXTURE_LEN);
        memcpy(copy, s_fix, FIXTURE_LEN);
        seed = seed * 1103515245u + 12345u;
        copy[(seed >> 8) % 24] = (uint8_t)(seed >> 20); /* corrupt the header */
        nf5_status_t st = nf5_decode(copy, FIXTURE_LEN, 1, &h, r);
        if (st == NF5_OK || st == NF5_TRAILING)
            assert_true(h.count >= 1 && h.count <= 8 && h.sampling >= 1);
        else
            assert_true(st >= NF5_ERR_VERSION && st <= NF5_ERR_TRUNCATED);
        free(copy);
    }
}

/* ---- filtering: which end is monitored decides host, peer, direction ---- */

static fg_config_t *s_cfg;
static char *s_dir;

static int s_setup_cfg(void **state)
{
    (void)state;
    char path[512], err[1024];
    s_dir = hn_tmpdir("nf5");
    snprintf(path, sizeof(path), "%s/floodgate.conf", s_dir);
    hn_write_file(path, "networks\n"
                        "    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n");
    s_cfg = fg_config_load(path, err, sizeof(err));
    if (!s_cfg)
        fprintf(stderr, "config: %s\n", err);
    return s_cfg ? 0 : -1;
}

static int s_teardown_cfg(void **state)
{
    (void)state;
    fg_config_destroy(&s_cfg);
    hn_rmdir(s_dir);
    free(s_dir);
    return 0;
}

static int s_setup_filter(void **state)
{
    return s_load_fixture(state) == 0 ? s_setup_cfg(state) : -1;
}

/* Decode the fixture and filter its record i. */
static int s_filter_fixture(int i, raw_flow_t *raw, fg_flow_t out[2])
{
    nf5_header_t h;
    raw_flow_t r[NF5_MAX_RECORDS];
    assert_int_equal(nf5_decode(s_fix, FIXTURE_LEN, 1, &h, r), NF5_OK);
    *raw = r[i];
    memset(out, 0xab, 2 * sizeof(fg_flow_t));
    return raw_filter(s_cfg, &r[i], out);
}

static void s_assert_copied(const fg_flow_t *f, const raw_flow_t *raw)
{
    assert_int_equal(f->packets, raw->packets);
    assert_int_equal(f->bytes, raw->bytes);
    assert_int_equal(f->start_ms, raw->start_ms);
    assert_int_equal(f->end_ms, raw->end_ms);
    assert_int_equal(f->sport, raw->sport);
    assert_int_equal(f->dport, raw->dport);
    assert_int_equal(f->proto, raw->proto);
    assert_int_equal(f->tcp_flags, raw->tcp_flags);
    assert_int_equal(f->sampling, raw->sampling);
    assert_int_equal(f->frag, 0);
}

static void s_assert_ends(const fg_flow_t *f, const char *host, const char *peer, int dir)
{
    fg_addr_t h = s_addr(host), p = s_addr(peer);
    assert_true(fg_addr_eq(&f->host, &h));
    assert_true(fg_addr_eq(&f->peer, &p));
    assert_int_equal(f->dir, dir);
}

static void test_nf5_filter_in(void **state)
{
    (void)state;
    raw_flow_t raw;
    fg_flow_t out[2];
    assert_int_equal(s_filter_fixture(0, &raw, out), 1); /* 203.0.113.7 -> 10.0.0.5 */
    s_assert_ends(&out[0], "10.0.0.5", "203.0.113.7", FG_DIR_IN);
    s_assert_copied(&out[0], &raw);
}

static void test_nf5_filter_out(void **state)
{
    (void)state;
    raw_flow_t raw;
    fg_flow_t out[2];
    assert_int_equal(s_filter_fixture(3, &raw, out), 1); /* 10.0.0.5 -> 198.51.100.9 */
    s_assert_ends(&out[0], "10.0.0.5", "198.51.100.9", FG_DIR_OUT);
    s_assert_copied(&out[0], &raw);
    assert_int_equal(out[0].tcp_flags, 0x18);
}

static void test_nf5_filter_both(void **state)
{
    (void)state;
    raw_flow_t raw;
    fg_flow_t out[2];
    assert_int_equal(s_filter_fixture(2, &raw, out), 2); /* 10.0.0.5 -> 10.0.0.9 */
    s_assert_ends(&out[0], "10.0.0.9", "10.0.0.5", FG_DIR_IN);
    s_assert_ends(&out[1], "10.0.0.5", "10.0.0.9", FG_DIR_OUT);
    s_assert_copied(&out[0], &raw);
    s_assert_copied(&out[1], &raw);
}

static void test_nf5_filter_neither(void **state)
{
    (void)state;
    raw_flow_t raw;
    fg_flow_t out[2];
    assert_int_equal(s_filter_fixture(1, &raw, out), 0); /* 198.51.100.30 -> 203.0.113.40 */
    /* just outside the monitored /16 */
    raw.src = s_addr("10.1.0.0");
    raw.dst = s_addr("9.255.255.255");
    assert_int_equal(raw_filter(s_cfg, &raw, out), 0);
    raw.dst = s_addr("2001:db8:100:ffff::1"); /* IPv6 inside */
    assert_int_equal(raw_filter(s_cfg, &raw, out), 1);
    assert_int_equal(out[0].dir, FG_DIR_IN);
}

/* ---- flow_sequence: lost records per (exporter, engine) ---- */

/* The plausible gap of the tests below. */
#define G 1000000u

/* The plausible gap grows with the time since the previous datagram and
 * never reaches half the sequence space. */
static void test_nf5_seq_max_gap_bounds(void **state)
{
    (void)state;
    assert_int_equal(nf5_seq_max_gap(1000000, 0), 1000);   /* a burst: 1 ms */
    assert_int_equal(nf5_seq_max_gap(1000000, 99), 100000);
    assert_int_equal(nf5_seq_max_gap(100000, 9), 1000);
    assert_int_equal(nf5_seq_max_gap(1000000, 86400000), NF5_SEQ_GAP_CEILING);
    assert_int_equal(nf5_seq_max_gap(1000000000, UINT64_MAX), NF5_SEQ_GAP_CEILING);
}

/* Forged jumps of about 2^31 (forward or backward) and jumps just above
 * the plausible gap are resets, never loss; a plausible gap is loss. 2 000
 * hostile datagrams leave the loss counter where it was. */
static void test_nf5_seq_resets_not_loss(void **state)
{
    (void)state;
    nf5_seq_t s = {0};
    nf5_seq_update(&s, 1000, 30, 1000);
    assert_int_equal(nf5_seq_update(&s, 1030 + 0x80000000u, 30, 1000), 0);
    assert_int_equal(s.resets, 1);
    assert_int_equal(s.lost, 0);
    uint32_t seq = 77;
    for (int i = 0; i < 2000; i++) {
        seq += 0x7ff00000u + (uint32_t)i * 7919u; /* ~2^31 each time */
        assert_int_equal(nf5_seq_update(&s, seq, 30, 1000), 0);
    }
    assert_int_equal(s.lost, 0);
    assert_int_equal(s.resets, 2001);
    /* in order again: nothing; 1001 ahead with 1000 plausible: a reset */
    nf5_seq_update(&s, s.next, 30, 1000);
    uint64_t resets = s.resets;
    assert_int_equal(nf5_seq_update(&s, s.next + 1001, 30, 1000), 0);
    assert_int_equal(s.resets, resets + 1);
    /* 1000 ahead: lost */
    assert_int_equal(nf5_seq_update(&s, s.next + 1000, 30, 1000), 1000);
    assert_int_equal(s.lost, 1000);
    /* far backwards (beyond the reorder window): a reset, not 4 G lost */
    assert_int_equal(nf5_seq_update(&s, s.next - NF5_SEQ_REORDER_WINDOW - 1, 30, G), 0);
    assert_int_equal(s.resets, resets + 2);
    assert_int_equal(s.lost, 1000);
    /* a gap above the ceiling is never loss, whatever the caller allows */
    assert_int_equal(nf5_seq_update(&s, s.next + 0x90000000u, 30, UINT32_MAX), 0);
    assert_int_equal(s.lost, 1000);
}

static void test_nf5_seq_in_order_and_gaps(void **state)
{
    (void)state;
    nf5_seq_t s = {0};
    assert_int_equal(nf5_seq_update(&s, 1000, 30, G), 0); /* first: no history */
    assert_int_equal(nf5_seq_update(&s, 1030, 30, G), 0);
    assert_int_equal(nf5_seq_update(&s, 1060, 10, G), 0);
    assert_int_equal(nf5_seq_update(&s, 1100, 30, G), 30); /* 1070..1099 missed */
    assert_int_equal(nf5_seq_update(&s, 1130, 5, G), 0);
    assert_int_equal(nf5_seq_update(&s, 1136, 5, G), 1);
    assert_int_equal(s.lost, 31);
    assert_int_equal(s.resets, 0);
}

static void test_nf5_seq_late_duplicate_reset_wrap(void **state)
{
    (void)state;
    nf5_seq_t s = {0};
    nf5_seq_update(&s, 100000, 30, G);
    assert_int_equal(nf5_seq_update(&s, 100060, 30, G), 30); /* 100030 is late */
    assert_int_equal(nf5_seq_update(&s, 100030, 30, G), 0);  /* it arrives: no loss */
    assert_int_equal(s.reorders, 1);
    assert_int_equal(nf5_seq_update(&s, 100090, 30, G), 0); /* expectation kept */
    assert_int_equal(nf5_seq_update(&s, 100090, 30, G), 0); /* duplicate */
    assert_int_equal(s.reorders, 2);
    assert_int_equal(s.resets, 0);
    /* the exporter restarted: sequence back to 0, neither 4 G lost nor late */
    assert_int_equal(nf5_seq_update(&s, 0, 30, G), 0);
    assert_int_equal(s.resets, 1);
    assert_int_equal(nf5_seq_update(&s, 30, 30, G), 0);
    assert_int_equal(nf5_seq_update(&s, 90, 30, G), 30); /* and losses count again */
    /* a jump of more than the plausible gap is a reset too */
    assert_int_equal(nf5_seq_update(&s, 120 + G + 1, 30, G), 0);
    assert_int_equal(s.resets, 2);
    assert_int_equal(s.lost, 60);
    assert_int_equal(s.run, 1); /* a reset starts a new run */
    /* the 32-bit counter wraps */
    nf5_seq_t w = {0};
    nf5_seq_update(&w, 0xfffffff0u, 16, G);
    assert_int_equal(nf5_seq_update(&w, 0, 30, G), 0);
    assert_int_equal(nf5_seq_update(&w, 40, 30, G), 10);
    assert_int_equal(w.lost, 10);
    assert_int_equal(w.resets + w.reorders, 0);
}

/* Decoded headers drive the accounting: the flow_sequence of each datagram
 * and its count. */
static void test_nf5_seq_from_datagrams(void **state)
{
    (void)state;
    uint8_t buf[NF5_MAX_DATAGRAM];
    nf5_header_t h;
    raw_flow_t r[NF5_MAX_RECORDS];
    nf5_seq_t s = {0};
    uint32_t seqs[] = {5000, 5020, 5060, 5080}; /* 20 records each: 5040 lost */
    uint32_t lost = 0;
    for (int i = 0; i < 4; i++) {
        size_t len = s_build(buf, 20, 1000, 1700000000, 0, 0, 10, 20);
        s_put32(buf + 16, seqs[i]);
        assert_int_equal(nf5_decode(buf, len, 1, &h, r), NF5_OK);
        lost += nf5_seq_update(&s, h.flow_sequence, h.count, G);
    }
    assert_int_equal(lost, 20);
    assert_int_equal(s.next, 5100);
}

int main(void)
{
    const struct CMUnitTest decode[] = {
        cmocka_unit_test(test_nf5_decode_softflowd_fixture),
        cmocka_unit_test(test_nf5_zero_sampling_uses_default),
        cmocka_unit_test(test_nf5_sampling_multiplies),
        cmocka_unit_test(test_nf5_sampling_mode_bits),
        cmocka_unit_test(test_nf5_time_conversion),
        cmocka_unit_test(test_nf5_truncated_header),
        cmocka_unit_test(test_nf5_truncated_records),
        cmocka_unit_test(test_nf5_bad_count),
        cmocka_unit_test(test_nf5_wrong_version),
        cmocka_unit_test(test_nf5_trailing_bytes),
        cmocka_unit_test(test_nf5_prefixes_and_corruptions),
        cmocka_unit_test(test_nf5_seq_in_order_and_gaps),
        cmocka_unit_test(test_nf5_seq_max_gap_bounds),
        cmocka_unit_test(test_nf5_seq_resets_not_loss),
        cmocka_unit_test(test_nf5_seq_late_duplicate_reset_wrap),
        cmocka_unit_test(test_nf5_seq_from_datagrams),
    };
    const struct CMUnitTest filter[] = {
        cmocka_unit_test(test_nf5_filter_in),
        cmocka_unit_test(test_nf5_filter_out),
        cmocka_unit_test(test_nf5_filter_both),
        cmocka_unit_test(test_nf5_filter_neither),
    };
    int failed = cmocka_run_group_tests_name("netflow_v5", decode, s_load_fixture, NULL);
    failed += cmocka_run_group_tests_name("netflow_v5 filter", filter, s_setup_filter,
                                          s_teardown_cfg);
    return failed;
}
