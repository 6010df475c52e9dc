/* Unit tests: IPFIX decoding (collector/ipfix.c) through the shared
 * template cache.
 *
 * The fixture is a real export: softflowd 1.1.0 -v 10 -A milli of
 * tests/data/flows_in.pcap (tests/data/ipfix_softflowd.pcap, made by
 * tests/data/make_captures.py); per-host totals must equal tshark's
 * decoding (ipfix_softflowd.oracle) and the times the input's. The other
 * cases are built here: variable-length and enterprise fields, withdrawal,
 * every time encoding, options (systemInitTime, packet interval/space),
 * and malformed messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/ipfix.h"
#include "collector/templates.h"
#include "tests/flowtest.h"

#define T_SECS 1795000000u

typedef struct {
    tpl_cache_t *cache;
    exp_entry_t exp;
    tpl_stats_t st;
    ft_sink_t sink;
    uint32_t data_records;
    bool unknown;
} fx_t;

static fx_t *s_fx(void)
{
    fx_t *f = calloc(1, sizeof(*f));
    f->cache = tpl_cache_new(1024);
    ft_sink_init(&f->sink);
    return f;
}

static void s_fx_free(fx_t *f)
{
    tpl_cache_destroy(&f->cache);
    free(f);
}

static ipfix_status_t s_feed(fx_t *f, const uint8_t *buf, size_t len)
{
    ipfix_header_t h;
    ipfix_status_t st = ipfix_header(buf, len, &h);
    if (st != IPFIX_OK && st != IPFIX_TRAILING)
        return st;
    tpl_env_t env = {0};
    env.cache = f->cache;
    env.exporter = fg_addr_from_v4(0x7f000001);
    env.exp = &f->exp;
    env.now_ms = 1000;
    env.max_per_stream = 64;
    env.st = &f->st;
    env.sink = &f->sink.sink;
    env.ctx.default_sampling = 1;
    st = ipfix_decode(buf, &h, &env);
    raw_sink_drain(&f->sink.sink);
    f->data_records = env.data_records;
    f->unknown = env.unknown_sets;
    return st;
}

static void s_hdr(ft_wr_t *w)
{
    w->n = 0;
    ft_u16(w, 10);
    ft_u16(w, 0);
    ft_u32(w, T_SECS);
    ft_u32(w, 0);
    ft_u32(w, 1);
}

static void s_done(ft_wr_t *w)
{
    ft_patch16(w, 2, 0);
}

static size_t s_set(ft_wr_t *w, uint16_t id)
{
    size_t at = w->n;
    ft_u16(w, id);
    ft_u16(w, 0);
    return at;
}

static void s_end(ft_wr_t *w, size_t at)
{
    ft_patch16(w, at + 2, at);
}

/* A template of n (id, len) fields; id with the top bit set gets PEN 9. */
static void s_tpl(ft_wr_t *w, uint16_t tid, const uint16_t (*fl)[2], int n)
{
    size_t at = s_set(w, IPFIX_TEMPLATE_SET);
    ft_u16(w, tid);
    ft_u16(w, (uint16_t)n);
    for (int i = 0; i < n; i++) {
        ft_u16(w, fl[i][0]);
        ft_u16(w, fl[i][1]);
        if (fl[i][0] & TPL_ENTERPRISE_BIT)
            ft_u32(w, 9);
    }
    s_end(w, at);
}

static void test_ipfix_softflowd_matches_tshark(void **state)
{
    (void)state;
    ft_pcap_t pc;
    ft_totals_t want, got;
    assert_int_equal(ft_pcap_load("tests/data/ipfix_softflowd.pcap", &pc), 0);
    assert_int_equal(ft_oracle_load("tests/data/ipfix_softflowd.oracle", &want), 0);
    fx_t *f = s_fx();
    for (int i = 0; i < pc.n; i++)
        assert_int_equal(s_feed(f, pc.data[i], pc.len[i]), IPFIX_OK);
    ft_totals_of(&f->sink, &got);
    assert_int_equal(ft_compare(&got, &want, 1), 0);
    /* -A milli: exact times. The UDP flow to 10.0.0.5 is the capture's
     * first six packets, 10 ms apart from 1795000000.000 */
    int seen = 0;
    for (int i = 0; i < f->sink.n; i++) {
        const raw_flow_t *r = &f->sink.recs[i];
        if (!fg_addr_is_v4(&r->dst) || fg_addr_v4(&r->dst) != 0x0a000005)
            continue;
        assert_int_equal(r->start_ms, 1795000000000ULL);
        assert_int_equal(r->end_ms, 1795000000050ULL);
        assert_int_equal(r->proto, 17);
        assert_int_equal(r->sport, 53);
        assert_int_equal(r->dport, 40000);
        seen++;
    }
    assert_int_equal(seen, 1);
    ft_pcap_free(&pc);
    s_fx_free(f);
}

static void test_ipfix_truncations_are_safe(void **state)
{
    (void)state;
    ft_pcap_t pc;
    assert_int_equal(ft_pcap_load("tests/data/ipfix_softflowd.pcap", &pc), 0);
    fx_t *f = s_fx();
    for (int i = 0; i < pc.n; i++)
        s_feed(f, pc.data[i], pc.len[i]);
    for (int i = 0; i < pc.n; i++)
        for (size_t len = 0; len < pc.len[i]; len++) {
            uint8_t *copy = malloc(len ? len : 1);
            memcpy(copy, pc.data[i], len);
            if (len >= 4) { /* claim the cut length, as a short message would */
                copy[2] = (uint8_t)(len >> 8);
                copy[3] = (uint8_t)len;
            }
            ipfix_status_t st = s_feed(f, copy, len);
            assert_true(len >= IPFIX_HEADER_LEN || st == IPFIX_ERR_SHORT_HEADER);
            free(copy);
        }
    ft_pcap_free(&pc);
    s_fx_free(f);
}

static void test_ipfix_header_errors(void **state)
{
    (void)state;
    ft_wr_t *w = malloc(sizeof(*w));
    ipfix_header_t h;
    s_hdr(w);
    s_done(w);
    assert_int_equal(ipfix_header(w->b, w->n, &h), IPFIX_OK);
    assert_int_equal(ipfix_header(w->b, w->n + 4, &h), IPFIX_TRAILING);
    assert_int_equal(ipfix_header(w->b, 15, &h), IPFIX_ERR_SHORT_HEADER);
    w->b[3] = 40; /* longer than the datagram */
    assert_int_equal(ipfix_header(w->b, w->n, &h), IPFIX_ERR_LENGTH);
    w->b[3] = 8; /* shorter than a header */
    assert_int_equal(ipfix_header(w->b, w->n, &h), IPFIX_ERR_LENGTH);
    w->b[1] = 9;
    assert_int_equal(ipfix_header(w->b, w->n, &h), IPFIX_ERR_VERSION);
    assert_string_equal(ipfix_status_str(IPFIX_ERR_LENGTH), "bad_length");
    free(w);
}

/* Variable-length fields (1- and 3-byte length prefixes) and an enterprise
 * field between the ones we map. */
static void test_ipfix_varlen_and_enterprise(void **state)
{
    (void)state;
    static const uint16_t fl[][2] = {
        {8, 4}, {0x8000 | 12, 4}, {82, TPL_VARLEN}, {12, 4}, {0x8000 | 1, TPL_VARLEN}, {2, 2}};
    fx_t *f = s_fx();
    ft_wr_t *w = malloc(sizeof(*w));
    s_hdr(w);
    s_tpl(w, 300, fl, 6);
    size_t at = s_set(w, 300);
    /* record 1: interfaceName "eth0" (1-byte length), enterprise 300 bytes */
    ft_u32(w, 0xc6336401), ft_u32(w, 0xffffffff);
    ft_u8(w, 4), ft_bytes(w, "eth0", 4);
    ft_u32(w, 0x0a000001);
    ft_u8(w, 255), ft_u16(w, 300);
    for (int i = 0; i < 300; i++)
        ft_u8(w, 0xee);
    ft_u16(w, 7);
    /* record 2: empty strings */
    ft_u32(w, 0xc6336402), ft_u32(w, 0xffffffff);
    ft_u8(w, 0);
    ft_u32(w, 0x0a000002);
    ft_u8(w, 0);
    ft_u16(w, 9);
    ft_u8(w, 0), ft_u8(w, 0); /* padding */
    s_end(w, at);
    s_done(w);
    assert_int_equal(s_feed(f, w->b, w->n), IPFIX_OK);
    assert_int_equal(f->sink.n, 2);
    assert_int_equal(fg_addr_v4(&f->sink.recs[0].dst), 0x0a000001);
    assert_int_equal(fg_addr_v4(&f->sink.recs[0].src), 0xc6336401);
    assert_int_equal(f->sink.recs[0].packets, 7);
    assert_int_equal(fg_addr_v4(&f->sink.recs[1].dst), 0x0a000002);
    assert_int_equal(f->sink.recs[1].packets, 9);
    assert_int_equal(f->data_records, 2);
    /* a record whose variable field runs past its set: malformed, the
     * record before it kept */
    s_hdr(w);
    at = s_set(w, 300);
    ft_u32(w, 1), ft_u32(w, 2), ft_u8(w, 0), ft_u32(w, 0x0a000003), ft_u8(w, 0), ft_u16(w, 1);
    ft_u32(w, 1), ft_u32(w, 2), ft_u8(w, 200);
    for (int i = 0; i < 5; i++)
        ft_u32(w, 0); /* 20 of the 200 bytes: longer than padding can be */
    s_end(w, at);
    s_done(w);
    f->sink.n = 0;
    assert_int_equal(s_feed(f, w->b, w->n), IPFIX_ERR_SET);
    assert_int_equal(f->sink.n, 1);
    assert_int_equal(f->st.sets_malformed, 1);
    assert_int_equal(f->exp.st.malformed, 1);
    free(w);
    s_fx_free(f);
}

static void test_ipfix_withdrawal(void **state)
{
    (void)state;
    static const uint16_t fl[][2] = {{12, 4}, {2, 4}};
    fx_t *f = s_fx();
    ft_wr_t *w = malloc(sizeof(*w));
    s_hdr(w);
    s_tpl(w, 256, fl, 2);
    s_tpl(w, 257, fl, 2);
    s_tpl(w, 258, fl, 2);
    s_done(w);
    assert_int_equal(s_feed(f, w->b, w->n), IPFIX_OK);
    assert_int_equal(tpl_count(f->cache), 3);
    assert_int_equal(f->exp.n_templates, 3);
    s_hdr(w);
    s_tpl(w, 256, fl, 0); /* withdraw 256 */
    s_done(w);
    assert_int_equal(s_feed(f, w->b, w->n), IPFIX_OK);
    assert_int_equal(tpl_count(f->cache), 2);
    s_hdr(w);
    size_t at = s_set(w, 256);
    ft_u32(w, 1), ft_u32(w, 1);
    s_end(w, at);
    at = s_set(w, 257);
    ft_u32(w, 1), ft_u32(w, 1);
    s_end(w, at);
    s_done(w);
    assert_int_equal(s_feed(f, w->b, w->n), IPFIX_OK);
    assert_int_equal(f->sink.n, 1);
    assert_true(f->unknown);
    assert_int_equal(f->st.sets_no_template, 1);
    s_hdr(w);
    s_tpl(w, IPFIX_TEMPLATE_SET, fl, 0); /* withdraw all */
    s_done(w);
    assert_int_equal(s_feed(f, w->b, w->n), IPFIX_OK);
    assert_int_equal(tpl_count(f->cache), 0);
    assert_int_equal(f->exp.n_templates, 0);
    assert_int_equal(f->st.templates_withdrawn, 3);
    free(w);
    s_fx_free(f);
}

/* Each time encoding gives the same flow times: 1795000000.250 to .750. */
static void test_ipfix_time_encodings(void **state)
{
    (void)state;
    const uint64_t start = 1795000000250ULL, end = 1795000000750ULL;
    const uint64_t ntp_s = 1795000000ULL + 2208988800ULL;
    static const uint16_t f_ms[][2] = {{12, 4}, {152, 8}, {153, 8}};
    static const uint16_t f_s[][2] = {{12, 4}, {150, 4}, {151, 4}};
    static const uint16_t f_us[][2] = {{12, 4}, {154, 8}, {155, 8}};
    static const uint16_t f_ns[][2] = {{12, 4}, {156, 8}, {157, 8}};
    static const uint16_t f_d[][2] = {{12, 4}, {158, 4}, {159, 4}};
    fx_t *f = s_fx();
    ft_wr_t *w = malloc(sizeof(*w));
    s_hdr(w);
    w->b[4 + 3] += 1; /* export time T_SECS + 1 for the deltas */
    s_tpl(w, 256, f_ms, 3);
    s_tpl(w, 257, f_s, 3);
    s_tpl(w, 258, f_us, 3);
    s_tpl(w, 259, f_ns, 3);
    s_tpl(w, 260, f_d, 3);
    size_t at = s_set(w, 256);
    ft_u32(w, 1), ft_u64(w, start), ft_u64(w, end);
    s_end(w, at);
    at = s_set(w, 257);
    ft_u32(w, 2), ft_u32(w, T_SECS), ft_u32(w, T_SECS + 1);
    s_end(w, at);
    at = s_set(w, 258); /* NTP: 0.25 s = 2^30, 0.75 s = 3 * 2^30 */
    ft_u32(w, 3), ft_u64(w, ntp_s << 32 | 1u << 30), ft_u64(w, ntp_s << 32 | 3u << 30);
    s_end(w, at);
    at = s_set(w, 259);
    ft_u32(w, 4), ft_u64(w, ntp_s << 32 | 1u << 30), ft_u64(w, ntp_s << 32 | 3u << 30);
    s_end(w, at);
    at = s_set(w, 260); /* microseconds before the export (T_SECS + 1) */
    ft_u32(w, 5), ft_u32(w, 750000), ft_u32(w, 250000);
    s_end(w, at);
    s_done(w);
    assert_int_equal(s_feed(f, w->b, w->n), IPFIX_OK);
    assert_int_equal(f->sink.n, 5);
    for (int i = 0; i < 5; i++) {
        const raw_flow_t *r = &f->sink.recs[i];
        uint64_t want_start = i == 1 ? 1795000000000ULL : start;
        uint64_t want_end = i == 1 ? 1795000001000ULL : end;
        assert_int_equal(r->start_ms, want_start);
        assert_int_equal(r->end_ms, want_end);
    }
    assert_int_equal(tpl_ntp_to_unix_ms(5), 0);
    free(w);
    s_fx_free(f);
}

/* Options: systemInitTimeMilliseconds makes sysUpTime stamps absolute;
 * samplingPacketInterval / Space give the rate (1 of every 1 + 99). */
static void test_ipfix_options(void **state)
{
    (void)state;
    static const uint16_t fl[][2] = {{12, 4}, {2, 4}, {1, 4}, {22, 4}, {21, 4}};
    fx_t *f = s_fx();
    ft_wr_t *w = malloc(sizeof(*w));
    s_hdr(w);
    size_t at = s_set(w, IPFIX_OPTIONS_SET);
    ft_u16(w, 400), ft_u16(w, 4), ft_u16(w, 1);
    ft_u16(w, 149), ft_u16(w, 4); /* scope: observationDomainId */
    ft_u16(w, 160), ft_u16(w, 8);
    ft_u16(w, 305), ft_u16(w, 4);
    ft_u16(w, 306), ft_u16(w, 4);
    s_end(w, at);
    at = s_set(w, 400);
    ft_u32(w, 1), ft_u64(w, 1794999000000ULL), ft_u32(w, 1), ft_u32(w, 99);
    s_end(w, at);
    s_tpl(w, 256, fl, 5);
    at = s_set(w, 256);
    ft_u32(w, 0x0a000001), ft_u32(w, 2), ft_u32(w, 100), ft_u32(w, 1000250), ft_u32(w, 1000750);
    s_end(w, at);
    s_done(w);
    assert_int_equal(s_feed(f, w->b, w->n), IPFIX_OK);
    assert_int_equal(f->exp.sys_init_ms, 1794999000000ULL);
    assert_int_equal(f->exp.sampling, 100);
    assert_int_equal(f->data_records, 2); /* options data records count too */
    assert_int_equal(f->sink.n, 1);
    const raw_flow_t *r = &f->sink.recs[0];
    assert_int_equal(r->start_ms, 1795000000250ULL);
    assert_int_equal(r->end_ms, 1795000000750ULL);
    assert_int_equal(r->sampling, 100);
    assert_int_equal(r->packets, 200);
    assert_int_equal(r->bytes, 10000);
    /* an options template without scope is refused */
    s_hdr(w);
    at = s_set(w, IPFIX_OPTIONS_SET);
    ft_u16(w, 401), ft_u16(w, 1), ft_u16(w, 0);
    ft_u16(w, 160), ft_u16(w, 8);
    s_end(w, at);
    s_done(w);
    assert_int_equal(s_feed(f, w->b, w->n), IPFIX_ERR_SET);
    free(w);
    s_fx_free(f);
}

/* IPv6 addresses, fragment flags and offset, ICMP type/code. */
static void test_ipfix_ipv6_frag_icmp(void **state)
{
    (void)state;
    static const uint16_t fl[][2] = {{27, 16}, {28, 16}, {4, 1}, {197, 1}, {88, 2}, {139, 2}};
    uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 5};
    fx_t *f = s_fx();
    ft_wr_t *w = malloc(sizeof(*w));
    s_hdr(w);
    s_tpl(w, 256, fl, 6);
    size_t at = s_set(w, 256);
    ft_bytes(w, a6, 16), ft_bytes(w, a6, 16);
    ft_u8(w, 58), ft_u8(w, 0x20), ft_u16(w, 0), ft_u16(w, 0x8000);
    ft_bytes(w, a6, 16), ft_bytes(w, a6, 16);
    ft_u8(w, 17), ft_u8(w, 0x40), ft_u16(w, 0), ft_u16(w, 0); /* DF only */
    ft_bytes(w, a6, 16), ft_bytes(w, a6, 16);
    ft_u8(w, 17), ft_u8(w, 0), ft_u16(w, 185), ft_u16(w, 0); /* later fragment */
    s_end(w, at);
    s_done(w);
    assert_int_equal(s_feed(f, w->b, w->n), IPFIX_OK);
    assert_int_equal(f->sink.n, 3);
    fg_addr_t want = fg_addr_from_bytes16(a6);
    assert_true(fg_addr_eq(&f->sink.recs[0].dst, &want));
    assert_int_equal(f->sink.recs[0].frag, 1);
    assert_int_equal(f->sink.recs[0].dport, 0x8000); /* echo request */
    assert_int_equal(f->sink.recs[1].frag, 0);
    assert_int_equal(f->sink.recs[2].frag, 1);
    free(w);
    s_fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipfix_softflowd_matches_tshark),
        cmocka_unit_test(test_ipfix_truncations_are_safe),
        cmocka_unit_test(test_ipfix_header_errors),
        cmocka_unit_test(test_ipfix_varlen_and_enterprise),
        cmocka_unit_test(test_ipfix_withdrawal),
        cmocka_unit_test(test_ipfix_time_encodings),
        cmocka_unit_test(test_ipfix_options),
        cmocka_unit_test(test_ipfix_ipv6_frag_icmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
