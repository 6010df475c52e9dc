/* Unit tests: sFlow v5 decoding (collector/sflow.c).
 *
 * The fixture is a real export: pmacctd's sfprobe (sampling 1) of
 * tests/data/sflow_in.pcap, which holds IPv4 / IPv6 TCP, UDP and ICMP,
 * 802.1Q and QinQ tags and IPv4 / IPv6 fragments (tests/data/
 * sflow_pmacct.pcap, made by tests/data/make_captures.py); per-host totals
 * must equal tshark's decoding (sflow_pmacct.oracle). The other cases are
 * built here: expanded samples, sampled IPv4 / IPv6 records, counter
 * samples, looped and lying counts, truncations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/sflow.h"
#include "common/flow.h"
#include "tests/flowtest.h"

#define NOW_MS 1795000000123ULL

typedef struct {
    ft_sink_t sink;
    sflow_stats_t st;
} fx_t;

static sflow_status_t s_feed(fx_t *f, const uint8_t *buf, size_t len, uint32_t override)
{
    sflow_header_t h;
    sflow_status_t st = sflow_header(buf, len, &h);
    if (st != SFLOW_OK)
        return st;
    uint32_t flows = 0;
    st = sflow_decode(buf, len, &h, NOW_MS, override, 1, &f->sink.sink, &f->st, &flows);
    raw_sink_drain(&f->sink.sink);
    return st;
}

static fx_t *s_fx(void)
{
    fx_t *f = calloc(1, sizeof(*f));
    ft_sink_init(&f->sink);
    return f;
}

static void test_sflow_pmacct_matches_tshark(void **state)
{
    (void)state;
    ft_pcap_t pc;
    ft_totals_t want, got;
    assert_int_equal(ft_pcap_load("tests/data/sflow_pmacct.pcap", &pc), 0);
    assert_int_equal(ft_oracle_load("tests/data/sflow_pmacct.oracle", &want), 0);
    fx_t *f = s_fx();
    for (int i = 0; i < pc.n; i++)
        assert_int_equal(s_feed(f, pc.data[i], pc.len[i], 0), SFLOW_OK);
    ft_totals_of(&f->sink, &got);
    assert_int_equal(ft_compare(&got, &want, 1), 0);
    int frags = 0, tagged = 0;
    for (int i = 0; i < f->sink.n; i++) {
        const raw_flow_t *r = &f->sink.recs[i];
        assert_int_equal(r->start_ms, NOW_MS);
        assert_int_equal(r->sampling, 1);
        frags += r->frag;
        if (fg_addr_is_v4(&r->dst) && fg_addr_v4(&r->dst) == 0x0a00000b) { /* 802.1Q */
            assert_int_equal(r->proto, 17);
            assert_int_equal(r->dport, 9);
            tagged++;
        }
        if (fg_addr_is_v4(&r->dst) && fg_addr_v4(&r->dst) == 0x0a000007) {
            assert_int_equal(r->tcp_flags, FG_TCP_SYN);
            assert_int_equal(r->dport, 80);
        }
    }
    assert_int_equal(tagged, 3);
    assert_int_equal(frags, 3 + 2); /* three IPv4 fragments, two IPv6 */
    assert_true(f->st.flow_samples >= (uint64_t)f->sink.n);
    ft_pcap_free(&pc);
    free(f);
}

static void test_sflow_truncations_are_safe(void **state)
{
    (void)state;
    ft_pcap_t pc;
    assert_int_equal(ft_pcap_load("tests/data/sflow_pmacct.pcap", &pc), 0);
    fx_t *f = s_fx();
    for (int i = 0; i < pc.n; i++) {
        f->sink.n = 0;
        s_feed(f, pc.data[i], pc.len[i], 0);
        int whole = f->sink.n;
        for (size_t len = 0; len < pc.len[i]; len++) {
            uint8_t *copy = malloc(len ? len : 1);
            memcpy(copy, pc.data[i], len);
            f->sink.n = 0;
            sflow_status_t st = s_feed(f, copy, len, 0);
            assert_true(st != SFLOW_OK || len >= 28);
            assert_true(f->sink.n <= whole);
            free(copy);
        }
    }
    ft_pcap_free(&pc);
    free(f);
}

/* ---- built datagrams ---- */

static void s_hdr(ft_wr_t *w, uint32_t samples)
{
    w->n = 0;
    ft_u32(w, 5);
    ft_u32(w, 1);
    ft_u32(w, 0x7f000001);
    ft_u32(w, 0);   /* sub-agent */
    ft_u32(w, 42);  /* sequence */
    ft_u32(w, 1000);
    ft_u32(w, samples);
}

/* An expanded flow sample with one sampled-IPv4 record (format 3). */
static void s_exp_sample_ipv4(ft_wr_t *w, uint32_t rate, uint32_t dst, uint32_t frame)
{
    ft_u32(w, SFLOW_FLOW_SAMPLE_EXP);
    size_t at = w->n;
    ft_u32(w, 0);
    ft_u32(w, 1), ft_u32(w, 0), ft_u32(w, 3);   /* seq, source type, index */
    ft_u32(w, rate), ft_u32(w, 100), ft_u32(w, 5); /* rate, pool, drops */
    ft_u32(w, 0), ft_u32(w, 1), ft_u32(w, 0), ft_u32(w, 2); /* in, out */
    ft_u32(w, 1);                               /* records */
    ft_u32(w, SFLOW_REC_IPV4);
    ft_u32(w, 32);
    ft_u32(w, frame), ft_u32(w, 6), ft_u32(w, 0xc6336401), ft_u32(w, dst);
    ft_u32(w, 4444), ft_u32(w, 443), ft_u32(w, 0x02), ft_u32(w, 0);
    w->b[at] = (uint8_t)((w->n - at - 4) >> 24);
    w->b[at + 1] = (uint8_t)((w->n - at - 4) >> 16);
    w->b[at + 2] = (uint8_t)((w->n - at - 4) >> 8);
    w->b[at + 3] = (uint8_t)(w->n - at - 4);
}

static void s_counter_sample(ft_wr_t *w)
{
    ft_u32(w, SFLOW_COUNTER_SAMPLE);
    ft_u32(w, 12);
    ft_u32(w, 1), ft_u32(w, 3), ft_u32(w, 0);
}

static void test_sflow_expanded_sample_and_rates(void **state)
{
    (void)state;
    fx_t *f = s_fx();
    ft_wr_t *w = malloc(sizeof(*w));
    s_hdr(w, 3);
    s_exp_sample_ipv4(w, 512, 0x0a000001, 1500);
    s_counter_sample(w);
    s_exp_sample_ipv4(w, 0, 0x0a000002, 64); /* rate 0: the default (1) */
    assert_int_equal(s_feed(f, w->b, w->n, 0), SFLOW_OK);
    assert_int_equal(f->sink.n, 2);
    const raw_flow_t *r = &f->sink.recs[0];
    assert_int_equal(fg_addr_v4(&r->dst), 0x0a000001);
    assert_int_equal(fg_addr_v4(&r->src), 0xc6336401);
    assert_int_equal(r->packets, 512);
    assert_int_equal(r->bytes, 1500 * 512);
    assert_int_equal(r->sampling, 512);
    assert_int_equal(r->proto, 6);
    assert_int_equal(r->sport, 4444);
    assert_int_equal(r->dport, 443);
    assert_int_equal(r->tcp_flags, 0x02);
    assert_int_equal(f->sink.recs[1].packets, 1);
    assert_int_equal(f->st.counter_samples, 1);
    assert_int_equal(f->st.agent_drops, 10);
    /* a configured override replaces the sample's rate */
    assert_int_equal(s_feed(f, w->b, w->n, 2000), SFLOW_OK);
    assert_int_equal(f->sink.recs[2].packets, 2000);
    assert_int_equal(f->sink.recs[2].bytes, 1500 * 2000);
    free(w);
    free(f);
}

/* A sample count far above what the datagram holds ends with the bytes. */
static void test_sflow_lying_counts(void **state)
{
    (void)state;
    fx_t *f = s_fx();
    ft_wr_t *w = malloc(sizeof(*w));
    s_hdr(w, 0xffffffffu);
    s_exp_sample_ipv4(w, 1, 0x0a000001, 100);
    assert_int_equal(s_feed(f, w->b, w->n, 0), SFLOW_ERR_TRUNCATED);
    assert_int_equal(f->sink.n, 1);
    /* a sample longer than the datagram */
    s_hdr(w, 1);
    ft_u32(w, SFLOW_FLOW_SAMPLE);
    ft_u32(w, 4000);
    ft_u32(w, 0);
    assert_int_equal(s_feed(f, w->b, w->n, 0), SFLOW_ERR_TRUNCATED);
    /* a flow record count of 2^32 - 1 inside a short sample */
    s_hdr(w, 1);
    ft_u32(w, SFLOW_FLOW_SAMPLE);
    ft_u32(w, 32);
    for (int i = 0; i < 7; i++)
        ft_u32(w, 1);
    ft_u32(w, 0xffffffffu);
    f->sink.n = 0;
    assert_int_equal(s_feed(f, w->b, w->n, 0), SFLOW_OK);
    assert_int_equal(f->sink.n, 0);
    assert_int_equal(f->st.no_flow_record, 1);
    /* header errors */
    sflow_header_t h;
    s_hdr(w, 0);
    assert_int_equal(sflow_header(w->b, w->n, &h), SFLOW_OK);
    assert_int_equal(sflow_header(w->b, 27, &h), SFLOW_ERR_SHORT_HEADER);
    w->b[7] = 7; /* agent address type 7 */
    assert_int_equal(sflow_header(w->b, w->n, &h), SFLOW_ERR_SHORT_HEADER);
    w->b[3] = 4;
    assert_int_equal(sflow_header(w->b, w->n, &h), SFLOW_ERR_VERSION);
    assert_string_equal(sflow_status_str(SFLOW_ERR_TRUNCATED), "truncated");
    free(w);
    free(f);
}

/* Raw headers: QinQ to IPv4 UDP, a later IPv4 fragment (no ports), IPv6
 * with hop-by-hop options to TCP, an IPv6 first fragment, ARP. */
static void test_sflow_packet_parsing(void **state)
{
    (void)state;
    raw_flow_t r;
    uint8_t p[128];
    memset(p, 0, sizeof(p));
    /* Ethernet, 802.1ad, 802.1Q, IPv4 UDP 10.0.0.1 -> 10.0.0.2, 53 -> 99 */
    p[12] = 0x88, p[13] = 0xa8, p[16] = 0x81, p[17] = 0x00, p[20] = 0x08, p[21] = 0x00;
    uint8_t *ip = p + 22;
    ip[0] = 0x45, ip[9] = 17;
    ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
    ip[20] = 0, ip[21] = 53, ip[22] = 0, ip[23] = 99;
    memset(&r, 0, sizeof(r));
    assert_int_equal(sflow_parse_packet(p, 64, 1, &r), 0);
    assert_int_equal(fg_addr_v4(&r.dst), 0x0a000002);
    assert_int_equal(r.sport, 53);
    assert_int_equal(r.dport, 99);
    assert_int_equal(r.frag, 0);
    ip[6] = 0x00, ip[7] = 0xb9; /* offset 185 * 8: a later fragment */
    memset(&r, 0, sizeof(r));
    assert_int_equal(sflow_parse_packet(p, 64, 1, &r), 0);
    assert_int_equal(r.frag, 1);
    assert_int_equal(r.sport, 0);
    ip[6] = 0x20, ip[7] = 0; /* MF, offset 0: a first fragment, ports kept */
    memset(&r, 0, sizeof(r));
    assert_int_equal(sflow_parse_packet(p, 64, 1, &r), 0);
    assert_int_equal(r.frag, 1);
    assert_int_equal(r.sport, 53);
    /* IPv6 without Ethernet: hop-by-hop (8 bytes) then TCP SYN */
    uint8_t *v6 = p;
    memset(p, 0, sizeof(p));
    v6[0] = 0x60, v6[6] = 0, v6[39] = 5;
    v6[40] = 6, v6[41] = 0;
    v6[48] = 0x1f, v6[49] = 0x90, v6[50] = 0, v6[51] = 80, v6[61] = 0x02;
    memset(&r, 0, sizeof(r));
    assert_int_equal(sflow_parse_packet(p, 80, 0, &r), 0);
    assert_int_equal(r.proto, 6);
    assert_int_equal(r.sport, 8080);
    assert_int_equal(r.dport, 80);
    assert_int_equal(r.tcp_flags, 0x02);
    /* IPv6 fragment header (first fragment, M set) then UDP */
    v6[6] = 44, v6[40] = 17, v6[42] = 0, v6[43] = 1;
    v6[48] = 0, v6[49] = 7, v6[50] = 0, v6[51] = 9;
    memset(&r, 0, sizeof(r));
    assert_int_equal(sflow_parse_packet(p, 80, 0, &r), 0);
    assert_int_equal(r.frag, 1);
    assert_int_equal(r.proto, 17);
    assert_int_equal(r.dport, 9);
    /* ARP, and cut headers */
    memset(p, 0, sizeof(p));
    p[12] = 0x08, p[13] = 0x06;
    assert_int_equal(sflow_parse_packet(p, 64, 1, &r), -1);
    assert_int_equal(sflow_parse_packet(p, 10, 1, &r), -1);
    assert_int_equal(sflow_parse_packet(p, 10, 0, &r), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sflow_pmacct_matches_tshark),
        cmocka_unit_test(test_sflow_truncations_are_safe),
        cmocka_unit_test(test_sflow_expanded_sample_and_rates),
        cmocka_unit_test(test_sflow_lying_counts),
        cmocka_unit_test(test_sflow_packet_parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
