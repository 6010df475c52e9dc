/* Unit tests: NetFlow v9 decoding (collector/netflow_v9.c) and the template
 * cache it shares with IPFIX (collector/templates.c).
 *
 * The fixture is a real export: softflowd 1.1.0 -v 9 of tests/data/
 * flows_in.pcap, as received (tests/data/nf9_softflowd.pcap, made by
 * tests/data/make_captures.py); its per-host totals must equal tshark's
 * decoding of the same capture (nf9_softflowd.oracle). The other cases are
 * datagrams built here: data before its template, redefinition, expiry,
 * caps, options with sampling, truncations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/netflow_v9.h"
#include "collector/templates.h"
#include "tests/flowtest.h"

#define T_SECS 1795000000u
#define T_UPTIME 100000u

typedef struct {
    tpl_cache_t *cache;
    exp_entry_t exp;
    tpl_stats_t st;
    ft_sink_t sink;
    uint32_t max_per_stream;
    uint64_t timeout_ms;
    uint32_t override;
    uint64_t hold_ms;
    uint32_t last_records;
} fx_t;

static fx_t *s_fx(void)
{
    fx_t *f = calloc(1, sizeof(*f));
    f->cache = tpl_cache_new(1024);
    f->max_per_stream = 16;
    f->timeout_ms = 60000;
    ft_sink_init(&f->sink);
    return f;
}

static void s_fx_free(fx_t *f)
{
    tpl_cache_destroy(&f->cache);
    assert_null(f->cache);
    tpl_cache_destroy(&f->cache); /* idempotent */
    free(f);
}

static nf9_status_t s_feed(fx_t *f, const uint8_t *buf, size_t len, uint64_t now_ms)
{
    nf9_header_t h;
    nf9_status_t st = nf9_header(buf, len, &h);
    if (st != NF9_OK)
        return st;
    tpl_env_t env = {0};
    env.cache = f->cache;
    env.exporter = fg_addr_from_v4(0x7f000001);
    env.exp = &f->exp;
    env.now_ms = now_ms;
    env.timeout_ms = f->timeout_ms;
    env.max_per_stream = f->max_per_stream;
    env.hold_ms = f->hold_ms;
    env.st = &f->st;
    env.sink = &f->sink.sink;
    env.ctx.default_sampling = 1;
    env.ctx.override = f->override;
    st = nf9_decode(buf, len, &h, &env);
    raw_sink_drain(&f->sink.sink);
    f->last_records = env.flows;
    return st;
}

/* ---- builders ---- */

static void s_hdr(ft_wr_t *w, uint32_t seq)
{
    w->n = 0;
    ft_u16(w, 9);
    ft_u16(w, 1);
    ft_u32(w, T_UPTIME);
    ft_u32(w, T_SECS);
    ft_u32(w, seq);
    ft_u32(w, 7); /* source id */
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
    while ((w->n - at) % 4)
        ft_u8(w, 0);
    ft_patch16(w, at + 2, at);
}

/* Template 256: src4 dst4 pkts bytes first last sport dport proto flags. */
static void s_tpl_a(ft_wr_t *w, uint16_t id)
{
    static const uint16_t f[][2] = {{8, 4}, {12, 4}, {2, 4}, {1, 4}, {22, 4},
                                    {21, 4}, {7, 2}, {11, 2}, {4, 1}, {6, 1}};
    size_t at = s_set(w, NF9_TEMPLATE_SET);
    ft_u16(w, id);
    ft_u16(w, 10);
    for (int i = 0; i < 10; i++) {
        ft_u16(w, f[i][0]);
        ft_u16(w, f[i][1]);
    }
    s_end(w, at);
}

static void s_rec_a(ft_wr_t *w, uint32_t src, uint32_t dst, uint32_t pkts, uint32_t bytes)
{
    ft_u32(w, src);
    ft_u32(w, dst);
    ft_u32(w, pkts);
    ft_u32(w, bytes);
    ft_u32(w, T_UPTIME - 2000); /* first: 2 s before the export */
    ft_u32(w, T_UPTIME - 500);
    ft_u16(w, 1234);
    ft_u16(w, 80);
    ft_u8(w, 6);
    ft_u8(w, 0x12);
}

/* ---- the real export ---- */

static void test_nf9_softflowd_matches_tshark(void **state)
{
    (void)state;
    ft_pcap_t pc;
    ft_totals_t want, got;
    assert_int_equal(ft_pcap_load("tests/data/nf9_softflowd.pcap", &pc), 0);
    assert_int_equal(ft_oracle_load("tests/data/nf9_softflowd.oracle", &want), 0);
    fx_t *f = s_fx();
    for (int i = 0; i < pc.n; i++)
        assert_int_equal(s_feed(f, pc.data[i], pc.len[i], 1000), NF9_OK);
    ft_totals_of(&f->sink, &got);
    assert_int_equal(ft_compare(&got, &want, 1), 0);
    assert_int_equal(f->st.sets_no_template, 0);
    assert_true(f->st.templates_added >= 2); /* IPv4 and IPv6 templates */
    /* times: the capture starts at 1795000000 s and lasts < 1 s; softflowd's
     * v9 stamps are up to ~0.5 s off (TESTBED.md) */
    for (int i = 0; i < f->sink.n; i++) {
        const raw_flow_t *r = &f->sink.recs[i];
        assert_true(r->start_ms <= r->end_ms);
        assert_true(r->start_ms >= 1795000000000ULL - 1000);
        assert_true(r->end_ms <= 1795000000000ULL + 2000);
        assert_int_equal(r->sampling, 1);
    }
    ft_pcap_free(&pc);
    s_fx_free(f);
}

/* Every prefix of every fixture datagram decodes without reading past it
 * (ASan in CI), and never yields more records than the whole one. */
static void test_nf9_truncations_are_safe(void **state)
{
    (void)state;
    ft_pcap_t pc;
    assert_int_equal(ft_pcap_load("tests/data/nf9_softflowd.pcap", &pc), 0);
    fx_t *f = s_fx();
    for (int i = 0; i < pc.n; i++)
        s_feed(f, pc.data[i], pc.len[i], 1000); /* learn the templates */
    for (int i = 0; i < pc.n; i++) {
        int whole = 0;
        f->sink.n = 0;
        s_feed(f, pc.data[i], pc.len[i], 1000);
        whole = f->sink.n;
        for (size_t len = 0; len < pc.len[i]; len++) {
            uint8_t *copy = malloc(len ? len : 1);
            memcpy(copy, pc.data[i], len);
            f->sink.n = 0;
            nf9_status_t st = s_feed(f, copy, len, 1000);
            assert_true(len >= NF9_HEADER_LEN || st == NF9_ERR_SHORT_HEADER);
            assert_true(f->sink.n <= whole);
            free(copy);
        }
    }
    ft_pcap_free(&pc);
    s_fx_free(f);
}

/* ---- templates ---- */

static void test_nf9_data_before_template_is_counted(void **state)
{
    (void)state;
    fx_t *f = s_fx();
    ft_wr_t *w = malloc(sizeof(*w));
    s_hdr(w, 0);
    size_t at = s_set(w, 256);
    s_rec_a(w, 0xc6336401, 0x0a000005, 10, 1000);
    s_end(w, at);
    assert_int_equal(s_feed(f, w->b, w->n, 1000), NF9_OK);
    assert_int_equal(f->sink.n, 0);
    assert_int_equal(f->st.sets_no_template, 1);
    assert_int_equal(f->exp.st.sets_no_template, 1);
    /* the template, then the same data in one datagram: decoded */
    s_hdr(w, 1);
    s_tpl_a(w, 256);
    at = s_set(w, 256);
    s_rec_a(w, 0xc6336401, 0x0a000005, 10, 1000);
    s_rec_a(w, 0xc6336402, 0x0a000006, 20, 3000);
    s_end(w, at);
    assert_int_equal(s_feed(f, w->b, w->n, 1000), NF9_OK);
    assert_int_equal(f->sink.n, 2);
    const raw_flow_t *r = &f->sink.recs[0];
    assert_true(fg_addr_eq(&r->src, &(fg_addr_t){fg_addr_from_v4(0xc6336401).hi,
                                                  fg_addr_from_v4(0xc6336401).lo}));
    assert_int_equal(fg_addr_v4(&r->dst), 0x0a000005);
    assert_int_equal(r->packets, 10);
    assert_int_equal(r->bytes, 1000);
    assert_int_equal(r->start_ms, (uint64_t)T_SECS * 1000 - 2000);
    assert_int_equal(r->end_ms, (uint64_t)T_SECS * 1000 - 500);
    assert_int_equal(r->sport, 1234);
    assert_int_equal(r->dport, 80);
    assert_int_equal(r->proto, 6);
    assert_int_equal(r->tcp_flags, 0x12);
    assert_int_equal(f->st.templates_added, 1);
    free(w);
    s_fx_free(f);
}

/* With hold_ms, data before its template waits for it (with the times of
 * its own datagram); held too long, it is counted as without template. */
static void test_nf9_data_held_until_template(void **state)
{
    (void)state;
    fx_t *f = s_fx();
    f->hold_ms = 2000;
    ft_wr_t *w = malloc(sizeof(*w));
    s_hdr(w, 0);
    size_t at = s_set(w, 256);
    s_rec_a(w, 0xc6336401, 0x0a000005, 10, 1000);
    s_end(w, at);
    at = s_set(w, 257);
    s_rec_a(w, 0xc6336401, 0x0a000006, 10, 1000);
    s_end(w, at);
    assert_int_equal(s_feed(f, w->b, w->n, 1000), NF9_OK);
    assert_int_equal(f->sink.n, 0);
    assert_int_equal(f->st.sets_held, 2);
    assert_int_equal(f->st.sets_no_template, 0);
    /* 500 ms later, from a datagram with another header time */
    s_hdr(w, 1);
    w->b[11] += 7; /* unix secs + 7 */
    s_tpl_a(w, 256);
    assert_int_equal(s_feed(f, w->b, w->n, 1500), NF9_OK);
    assert_int_equal(f->sink.n, 1);
    assert_int_equal(f->st.sets_replayed, 1);
    assert_int_equal(f->sink.recs[0].packets, 10);
    assert_int_equal(f->sink.recs[0].end_ms, (uint64_t)T_SECS * 1000 - 500);
    /* 257 never comes: expired after 2 s, counted */
    tpl_hold_expire(f->cache, 2999, 2000, &f->st);
    assert_int_equal(f->st.sets_no_template, 0);
    tpl_hold_expire(f->cache, 3000, 2000, &f->st);
    assert_int_equal(f->st.sets_no_template, 1);
    assert_int_equal(f->exp.st.sets_no_template, 1);
    /* more sets than slots: the rest counted at once */
    s_hdr(w, 2);
    for (int i = 0; i < TPL_HOLD_SLOTS + 3; i++) {
        at = s_set(w, 300);
        s_rec_a(w, 1, 2, 3, 4);
        s_end(w, at);
    }
    assert_int_equal(s_feed(f, w->b, w->n, 4000), NF9_OK);
    assert_int_equal(f->st.sets_held, 2 + TPL_HOLD_SLOTS);
    assert_int_equal(f->st.sets_no_template, 1 + 3);
    free(w);
    s_fx_free(f);
}

static void test_nf9_template_redefined_and_expired(void **state)
{
    (void)state;
    fx_t *f = s_fx();
    ft_wr_t *w = malloc(sizeof(*w));
    s_hdr(w, 0);
    s_tpl_a(w, 300);
    assert_int_equal(s_feed(f, w->b, w->n, 1000), NF9_OK);
    /* redefine 300 as: dst4, pkts(8 bytes), bytes(2 bytes: reduced size) */
    s_hdr(w, 1);
    size_t at = s_set(w, NF9_TEMPLATE_SET);
    ft_u16(w, 300);
    ft_u16(w, 3);
    ft_u16(w, 12), ft_u16(w, 4);
    ft_u16(w, 2), ft_u16(w, 8);
    ft_u16(w, 1), ft_u16(w, 2);
    s_end(w, at);
    at = s_set(w, 300);
    ft_u32(w, 0x0a000009);
    ft_u64(w, 5000000000ULL);
    ft_u16(w, 1500);
    s_end(w, at);
    assert_int_equal(s_feed(f, w->b, w->n, 2000), NF9_OK);
    assert_int_equal(f->st.templates_replaced, 1);
    assert_int_equal(f->exp.n_templates, 1);
    assert_int_equal(f->sink.n, 1);
    assert_int_equal(f->sink.recs[0].packets, 5000000000ULL);
    assert_int_equal(f->sink.recs[0].bytes, 1500);
    /* no times in the record: the export time */
    assert_int_equal(f->sink.recs[0].start_ms, (uint64_t)T_SECS * 1000);
    /* 61 s later (timeout 60 s), the data set finds no template */
    s_hdr(w, 2);
    at = s_set(w, 300);
    ft_u32(w, 0x0a000009);
    ft_u64(w, 1);
    ft_u16(w, 1);
    s_end(w, at);
    assert_int_equal(s_feed(f, w->b, w->n, 2000 + 61000), NF9_OK);
    assert_int_equal(f->sink.n, 1);
    assert_int_equal(f->st.templates_expired, 1);
    assert_int_equal(f->st.sets_no_template, 1);
    assert_int_equal(f->exp.n_templates, 0);
    assert_int_equal(tpl_count(f->cache), 0);
    free(w);
    s_fx_free(f);
}

static void test_nf9_template_caps(void **state)
{
    (void)state;
    fx_t *f = s_fx();
    ft_wr_t *w = malloc(sizeof(*w));
    /* a flood of 40 templates: 16 kept (the stream's cap), 24 refused */
    s_hdr(w, 0);
    for (int i = 0; i < 40; i++)
        s_tpl_a(w, (uint16_t)(256 + i));
    assert_int_equal(s_feed(f, w->b, w->n, 1000), NF9_OK);
    assert_int_equal(f->st.templates_added, 16);
    assert_int_equal(f->st.templates_capped, 24);
    assert_int_equal(tpl_count(f->cache), 16);
    /* 129 fields: refused; 0-byte fields only: refused */
    s_hdr(w, 1);
    size_t at = s_set(w, NF9_TEMPLATE_SET);
    ft_u16(w, 256);
    ft_u16(w, TPL_MAX_FIELDS + 1);
    for (int i = 0; i < TPL_MAX_FIELDS + 1; i++)
        ft_u16(w, 1), ft_u16(w, 4);
    ft_u16(w, 257);
    ft_u16(w, 2);
    ft_u16(w, 1), ft_u16(w, 0);
    ft_u16(w, 2), ft_u16(w, 0);
    s_end(w, at);
    assert_int_equal(s_feed(f, w->b, w->n, 1000), NF9_OK);
    assert_int_equal(f->st.templates_bad, 2);
    /* a zero-length field among others is skipped: no destination */
    s_hdr(w, 2);
    at = s_set(w, NF9_TEMPLATE_SET);
    ft_u16(w, 258);
    ft_u16(w, 3);
    ft_u16(w, 8), ft_u16(w, 4);
    ft_u16(w, 12), ft_u16(w, 0);
    ft_u16(w, 2), ft_u16(w, 4);
    s_end(w, at);
    at = s_set(w, 258);
    ft_u32(w, 0x0a000001), ft_u32(w, 5);
    s_end(w, at);
    assert_int_equal(s_feed(f, w->b, w->n, 1000), NF9_OK);
    assert_int_equal(f->sink.n, 1);
    assert_int_equal(fg_addr_v4(&f->sink.recs[0].src), 0x0a000001);
    assert_int_equal(f->sink.recs[0].dst.hi | f->sink.recs[0].dst.lo, 0);
    assert_int_equal(f->sink.recs[0].packets, 5);
    /* a template whose field list runs past its flowset */
    s_hdr(w, 2);
    at = s_set(w, NF9_TEMPLATE_SET);
    ft_u16(w, 256);
    ft_u16(w, 50);
    ft_u16(w, 1), ft_u16(w, 4);
    s_end(w, at);
    assert_int_equal(s_feed(f, w->b, w->n, 1000), NF9_ERR_SET);
    assert_int_equal(f->st.sets_malformed, 1);
    free(w);
    s_fx_free(f);
}

static void test_nf9_bad_flowsets(void **state)
{
    (void)state;
    fx_t *f = s_fx();
    ft_wr_t *w = malloc(sizeof(*w));
    s_hdr(w, 0);
    s_tpl_a(w, 256);
    size_t at = s_set(w, 256);
    s_rec_a(w, 1, 2, 3, 4);
    s_end(w, at);
    size_t good = w->n;
    ft_u16(w, 256);
    ft_u16(w, 2); /* length below 4 */
    assert_int_equal(s_feed(f, w->b, w->n, 1000), NF9_ERR_SET);
    assert_int_equal(f->sink.n, 1); /* the records before it are kept */
    w->n = good;
    ft_u16(w, 256);
    ft_u16(w, 400); /* past the datagram */
    ft_u32(w, 0);
    assert_int_equal(s_feed(f, w->b, w->n, 1000), NF9_ERR_SET);
    w->n = good;
    at = s_set(w, 77); /* reserved flowset id: skipped, counted */
    ft_u32(w, 0);
    s_end(w, at);
    assert_int_equal(s_feed(f, w->b, w->n, 1000), NF9_OK);
    assert_int_equal(f->st.sets_reserved, 1);
    w->b[1] = 10;
    nf9_header_t h;
    assert_int_equal(nf9_header(w->b, w->n, &h), NF9_ERR_VERSION);
    assert_int_equal(nf9_header(w->b, 19, &h), NF9_ERR_VERSION);
    w->b[1] = 9;
    assert_int_equal(nf9_header(w->b, 19, &h), NF9_ERR_SHORT_HEADER);
    assert_string_equal(nf9_status_str(NF9_ERR_SET), "bad_flowset");
    free(w);
    s_fx_free(f);
}

/* ---- sampling ---- */

/* Options template 512: scope System (4 bytes), options SAMPLING_INTERVAL
 * (34, 4 bytes), FLOW_SAMPLER_ID (48, 1 byte) when with_id. */
static void s_sampling_options(ft_wr_t *w, uint32_t rate, int with_id, uint8_t id)
{
    size_t at = s_set(w, NF9_OPTIONS_SET);
    ft_u16(w, 512);
    ft_u16(w, 4);
    ft_u16(w, with_id ? 8 : 4);
    ft_u16(w, 1), ft_u16(w, 4); /* scope: System, which is also IE 1: never mapped */
    ft_u16(w, 34), ft_u16(w, 4);
    if (with_id)
        ft_u16(w, 48), ft_u16(w, 1);
    s_end(w, at);
    at = s_set(w, 512);
    ft_u32(w, 0xdeadbeef);
    ft_u32(w, rate);
    if (with_id)
        ft_u8(w, id);
    s_end(w, at);
}

static void test_nf9_sampling_from_options(void **state)
{
    (void)state;
    fx_t *f = s_fx();
    ft_wr_t *w = malloc(sizeof(*w));
    s_hdr(w, 0);
    s_sampling_options(w, 100, 0, 0);
    s_tpl_a(w, 256);
    size_t at = s_set(w, 256);
    s_rec_a(w, 1, 2, 3, 400);
    s_end(w, at);
    assert_int_equal(s_feed(f, w->b, w->n, 1000), NF9_OK);
    assert_int_equal(f->st.options_records, 1);
    assert_int_equal(f->exp.sampling, 100);
    assert_int_equal(f->sink.n, 1);
    assert_int_equal(f->sink.recs[0].sampling, 100);
    assert_int_equal(f->sink.recs[0].packets, 300);
    assert_int_equal(f->sink.recs[0].bytes, 40000);
    /* a configured override beats what the exporter announces */
    f->override = 7;
    assert_int_equal(s_feed(f, w->b, w->n, 1000), NF9_OK);
    assert_int_equal(f->sink.recs[1].sampling, 7);
    assert_int_equal(f->sink.recs[1].packets, 21);
    free(w);
    s_fx_free(f);
}

static void test_nf9_sampler_table(void **state)
{
    (void)state;
    fx_t *f = s_fx();
    ft_wr_t *w = malloc(sizeof(*w));
    s_hdr(w, 0);
    s_sampling_options(w, 1000, 1, 3);
    /* template 260: dst4, pkts, sampler id */
    size_t at = s_set(w, NF9_TEMPLATE_SET);
    ft_u16(w, 260);
    ft_u16(w, 3);
    ft_u16(w, 12), ft_u16(w, 4);
    ft_u16(w, 2), ft_u16(w, 4);
    ft_u16(w, 48), ft_u16(w, 1);
    s_end(w, at);
    at = s_set(w, 260);
    ft_u32(w, 0x0a000001), ft_u32(w, 2), ft_u8(w, 3);
    s_end(w, at);
    assert_int_equal(s_feed(f, w->b, w->n, 1000), NF9_OK);
    assert_int_equal(f->exp.n_samplers, 1);
    assert_int_equal(f->sink.n, 1);
    assert_int_equal(f->sink.recs[0].packets, 2000);
    free(w);
    s_fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nf9_softflowd_matches_tshark),
        cmocka_unit_test(test_nf9_truncations_are_safe),
        cmocka_unit_test(test_nf9_data_before_template_is_counted),
        cmocka_unit_test(test_nf9_data_held_until_template),
        cmocka_unit_test(test_nf9_template_redefined_and_expired),
        cmocka_unit_test(test_nf9_template_caps),
        cmocka_unit_test(test_nf9_bad_flowsets),
        cmocka_unit_test(test_nf9_sampling_from_options),
        cmocka_unit_test(test_nf9_sampler_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
