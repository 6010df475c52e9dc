/* Unit tests: FlowBatch columns, round trip and validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/flowbatch.h"

static fg_flow_t s_rec(uint32_t i)
{
    fg_flow_t r;
    memset(&r, 0, sizeof(r));
    r.host = fg_addr_from_v4(0x0a000000 + i);
    r.peer.hi = 0x20010db800000000ULL + i;
    r.peer.lo = 0x1234ULL * i;
    r.packets = 1000ULL * i + 1;
    r.bytes = 1500000ULL * i + 40;
    r.start_ms = 1790000000000ULL + i;
    r.end_ms = 1790000000500ULL + i;
    r.sampling = 1 + i % 7;
    r.sport = (uint16_t)(53 + i);
    r.dport = (uint16_t)(40000 + i);
    r.proto = i % 2 ? 17 : 6;
    r.tcp_flags = (uint8_t)(i & 0x3f);
    r.dir = i % 2;
    r.frag = (i % 3) == 0;
    return r;
}

static void test_flowbatch_roundtrip(void **state)
{
    (void)state;
    fb_builder_t *b = fb_builder_new(1000);
    assert_non_null(b);
    uint8_t ex[2][16] = {{1}, {2}};
    for (uint32_t i = 0; i < 1000; i++) {
        fg_flow_t r = s_rec(i);
        assert_int_equal(fb_add(b, &r, ex[i % 2]), 0);
    }
    fg_flow_t extra = s_rec(0);
    assert_int_equal(fb_add(b, &extra, ex[0]), -1); /* full */
    assert_int_equal(fb_count(b), 1000);
    size_t len;
    uint8_t *buf = fb_pack(b, 7, 2, 4, 99, 1790000001234ULL, &len);
    assert_non_null(buf);
    assert_int_equal(fb_count(b), 0);
    size_t n;
    Floodgate__FlowBatch *m = fb_unpack(buf, len, &n);
    assert_non_null(m);
    assert_int_equal(n, 1000);
    assert_int_equal(m->collector_id, 7);
    assert_int_equal(m->shard, 2);
    assert_int_equal(m->shards, 4);
    assert_int_equal(m->seq, 99);
    assert_int_equal(m->sent_ms, 1790000001234ULL);
    assert_int_equal(m->n_exporters, 2);
    for (uint32_t i = 0; i < 1000; i++) {
        fg_flow_t want = s_rec(i), got;
        memset(&got, 0xee, sizeof(got));
        fb_record(m, i, &got);
        want.exporter = (uint16_t)(i % 2);
        assert_true(fg_addr_eq(&want.host, &got.host) && fg_addr_eq(&want.peer, &got.peer));
        assert_int_equal(want.packets, got.packets);
        assert_int_equal(want.bytes, got.bytes);
        assert_int_equal(want.start_ms, got.start_ms);
        assert_int_equal(want.end_ms, got.end_ms);
        assert_int_equal(want.sampling, got.sampling);
        assert_int_equal(want.sport, got.sport);
        assert_int_equal(want.dport, got.dport);
        assert_int_equal(want.proto, got.proto);
        assert_int_equal(want.tcp_flags, got.tcp_flags);
        assert_int_equal(want.dir, got.dir);
        assert_int_equal(want.frag, got.frag);
        assert_int_equal(want.exporter, got.exporter);
    }
    floodgate__flow_batch__free_unpacked(m, NULL);
    free(buf);
    fb_builder_destroy(&b);
    assert_null(b);
}

static void test_flowbatch_rejects_bad_columns(void **state)
{
    (void)state;
    uint64_t hi[2] = {1, 2}, lo[1] = {3};
    Floodgate__FlowBatch m = FLOODGATE__FLOW_BATCH__INIT;
    m.n_host_hi = 2;
    m.host_hi = hi;
    m.n_host_lo = 1;
    m.host_lo = lo;
    uint8_t buf[256];
    size_t len = floodgate__flow_batch__pack(&m, buf);
    size_t n = 12345;
    assert_null(fb_unpack(buf, len, &n));
    /* garbage is not a batch */
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    assert_null(fb_unpack(junk, sizeof(junk), &n));
    /* an empty batch is valid with zero records */
    Floodgate__FlowBatch e = FLOODGATE__FLOW_BATCH__INIT;
    len = floodgate__flow_batch__pack(&e, buf);
    Floodgate__FlowBatch *u = fb_unpack(buf, len, &n);
    assert_non_null(u);
    assert_int_equal(n, 0);
    floodgate__flow_batch__free_unpacked(u, NULL);
}

static void test_flowbatch_exporter_index_checked(void **state)
{
    (void)state;
    fb_builder_t *b = fb_builder_new(4);
    uint8_t ex[16] = {9};
    fg_flow_t r = s_rec(1);
    fb_add(b, &r, ex);
    size_t len, n;
    uint8_t *buf = fb_pack(b, 1, 0, 1, 1, 0, &len);
    Floodgate__FlowBatch *m = fb_unpack(buf, len, &n);
    assert_non_null(m);
    /* re-pack with an exporter index out of range */
    m->exporter[0] = 5;
    uint8_t out[512];
    size_t l2 = floodgate__flow_batch__pack(m, out);
    floodgate__flow_batch__free_unpacked(m, NULL);
    assert_null(fb_unpack(out, l2, &n));
    free(buf);
    fb_builder_destroy(&b);
}

static void test_flowbatch_exporter_table_full(void **state)
{
    (void)state;
    fb_builder_t *b = fb_builder_new(FB_MAX_EXPORTERS + 10);
    fg_flow_t r = s_rec(1);
    uint8_t ex[16] = {0};
    for (int i = 0; i < FB_MAX_EXPORTERS; i++) {
        ex[0] = (uint8_t)i;
        ex[1] = (uint8_t)(i >> 8);
        assert_int_equal(fb_add(b, &r, ex), 0);
    }
    ex[2] = 1;
    assert_int_equal(fb_add(b, &r, ex), -1);
    fb_builder_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flowbatch_roundtrip),
        cmocka_unit_test(test_flowbatch_rejects_bad_columns),
        cmocka_unit_test(test_flowbatch_exporter_index_checked),
        cmocka_unit_test(test_flowbatch_exporter_table_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
