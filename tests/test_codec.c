/* Unit tests: the WindowBatch and Decision codecs of common/ (window.c,
 * decision.c): round trips, every truncation and corruption of a packed
 * message refused or checked, each limit enforced on both sides. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/classes.h"
#include "common/decision.h"
#include "common/window.h"

/* ---- WindowBatch ---- */

typedef struct {
    Floodgate__WindowBatch wb;
    Floodgate__HostWindow hw[2], *hwp[2];
    Floodgate__Rates rates[2][FG_CLASSES];
    Floodgate__Contributor con[3], *conp[3];
    Floodgate__GroupTotal gt, *gtp;
    Floodgate__Rates gr;
} wb_fx_t;

static void s_wb(wb_fx_t *f)
{
    memset(f, 0, sizeof(*f));
    floodgate__window_batch__init(&f->wb);
    f->wb.shard = 1;
    f->wb.shards = 2;
    f->wb.seq = 42;
    f->wb.window_end_ms = 1795776102000ull;
    f->wb.window_ms = 200;
    for (int h = 0; h < 2; h++) {
        floodgate__host_window__init(&f->hw[h]);
        f->hw[h].addr_lo = 0x0000ffffc0000201ull + (uint64_t)h;
        f->hw[h].dir = h ? FLOODGATE__DIRECTION__DIR_OUT : FLOODGATE__DIRECTION__DIR_IN;
        f->hw[h].hostgroup = 3;
        for (int c = 0; c < FG_CLASSES; c++) {
            floodgate__rates__init(&f->rates[h][c]);
            f->rates[h][c].pps = 1000.5 * (c + 1);
            f->rates[h][c].bps = 8e6 * (c + 1);
            f->rates[h][c].fps = c;
            *fg_class_field(&f->hw[h], c) = &f->rates[h][c];
        }
        f->hwp[h] = &f->hw[h];
    }
    for (int i = 0; i < 3; i++) {
        floodgate__contributor__init(&f->con[i]);
        f->con[i].kind = (Floodgate__ContribKind)i;
        f->con[i].key_lo = 53 + (uint64_t)i;
        f->con[i].share = 0.25 * (i + 1);
        f->con[i].packets = 100;
        f->conp[i] = &f->con[i];
    }
    f->hw[0].n_top = 3;
    f->hw[0].top = f->conp;
    f->wb.n_hosts = 2;
    f->wb.hosts = f->hwp;
    floodgate__group_total__init(&f->gt);
    floodgate__rates__init(&f->gr);
    f->gr.pps = 5000;
    f->gt.total = &f->gr;
    f->gt.hostgroup = 3;
    f->gt.hosts = 2;
    f->gtp = &f->gt;
    f->wb.n_groups = 1;
    f->wb.groups = &f->gtp;
}

static void test_codec_window_round_trip(void **state)
{
    (void)state;
    wb_fx_t f;
    fg_buf_t out;
    const char *why = NULL;
    s_wb(&f);
    fg_buf_init(&out, 0);
    assert_int_equal(wb_pack(&f.wb, &out, &why), 0);
    Floodgate__WindowBatch *u = wb_unpack((const uint8_t *)out.data, out.len, &why);
    assert_non_null(u);
    assert_int_equal(u->shard, 1);
    assert_int_equal(u->seq, 42);
    assert_int_equal(u->n_hosts, 2);
    assert_int_equal(u->hosts[1]->dir, FLOODGATE__DIRECTION__DIR_OUT);
    assert_true(fg_class_rates(u->hosts[0], FG_CLS_FRAG)->pps == 1000.5 * (FG_CLS_FRAG + 1));
    assert_int_equal(u->hosts[0]->n_top, 3);
    assert_true(u->hosts[0]->top[2]->share == 0.75);
    assert_int_equal(u->groups[0]->hosts, 2);
    wb_free(&u);
    assert_null(u);
    wb_free(&u);
    /* the buffer is reused: a second pack of the same window is the same */
    size_t len = out.len;
    assert_int_equal(wb_pack(&f.wb, &out, &why), 0);
    assert_int_equal(out.len, len);
    fg_buf_free(&out);
}

/* Each limit, on the packing side (the aggregator's bug stays in the
 * aggregator) and on the unpacking side (bytes from the wire). */
static void test_codec_window_limits(void **state)
{
    (void)state;
    wb_fx_t f;
    const char *why = NULL;
    fg_buf_t out;
    fg_buf_init(&out, 0);
    for (int k = 0; k < 10; k++) {
        s_wb(&f);
        switch (k) {
        case 0: f.wb.shard = 2; break;
        case 1: f.wb.shards = FG_MAX_SHARDS + 1; f.wb.shard = 0; break;
        case 2: f.wb.window_ms = 0; break;
        case 3: f.rates[1][FG_CLS_UDP].pps = NAN; break;
        case 4: f.rates[0][FG_CLS_TOTAL].bps = -1; break;
        case 5: f.con[1].share = INFINITY; break;
        case 6: f.hw[1].dir = (Floodgate__Direction)7; break;
        case 7: f.hw[0].hostgroup = FG_MAX_GROUPS; break;
        case 8: f.con[0].kind = (Floodgate__ContribKind)9; break;
        case 9: f.gr.fps = NAN; break;
        }
        why = NULL;
        if (wb_pack(&f.wb, &out, &why) == 0)
            fail_msg("case %d packed", k);
        assert_non_null(why);
        /* the same message forged on the wire: protobuf-c packs it anyway */
        size_t n = floodgate__window_batch__get_packed_size(&f.wb);
        uint8_t *raw = malloc(n);
        floodgate__window_batch__pack(&f.wb, raw);
        assert_null(wb_unpack(raw, n, &why));
        free(raw);
    }
    /* counts */
    s_wb(&f);
    Floodgate__Contributor *many[WB_MAX_TOP + 1];
    for (int i = 0; i <= WB_MAX_TOP; i++)
        many[i] = &f.con[0];
    f.hw[0].n_top = WB_MAX_TOP + 1;
    f.hw[0].top = many;
    assert_int_equal(wb_pack(&f.wb, &out, &why), -1);
    assert_string_equal(why, "too many contributors");
    f.hw[0].n_top = WB_MAX_TOP;
    assert_int_equal(wb_pack(&f.wb, &out, &why), 0);
    assert_null(wb_unpack((const uint8_t *)out.data, WB_MAX_BYTES + 1, &why));
    assert_string_equal(why, "too large");
    fg_buf_free(&out);
}

/* Every truncation of a packed window is refused or, when it happens to
 * end on a field boundary, still within the limits; a flipped byte never
 * yields a message outside them. */
static void test_codec_window_truncated_corrupted(void **state)
{
    (void)state;
    wb_fx_t f;
    fg_buf_t out;
    const char *why;
    s_wb(&f);
    fg_buf_init(&out, 0);
    assert_int_equal(wb_pack(&f.wb, &out, &why), 0);
    int refused = 0;
    for (size_t cut = 0; cut < out.len; cut++) {
        Floodgate__WindowBatch *u = wb_unpack((const uint8_t *)out.data, cut, &why);
        if (u)
            assert_int_equal(wb_validate(u, &why), 0);
        else
            refused++;
        wb_free(&u);
    }
    assert_true(refused > (int)out.len / 2);
    uint8_t *copy = malloc(out.len);
    for (size_t i = 0; i < out.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, out.data, out.len);
            copy[i] ^= (uint8_t)(1u << bit);
            Floodgate__WindowBatch *u = wb_unpack(copy, out.len, &why);
            if (u)
                assert_int_equal(wb_validate(u, &why), 0);
            wb_free(&u);
        }
    }
    free(copy);
    fg_buf_free(&out);
}

/* wb_unpack_in: the same message as wb_unpack's from pieces of one arena
 * block (grown to what a message took, so the next of that size takes no
 * more), aligned for any field; bytes cut or flipped are refused or valid,
 * the arena reset after each. */
static void test_codec_window_arena(void **state)
{
    (void)state;
    wb_fx_t f;
    fg_buf_t out, again;
    const char *why = NULL;
    s_wb(&f);
    static Floodgate__HostWindow *many[2000];
    for (int i = 0; i < 2000; i++)
        many[i] = &f.hw[i % 2];
    f.wb.hosts = many;
    f.wb.n_hosts = 2000;
    fg_buf_init(&out, 0);
    fg_buf_init(&again, 0);
    assert_int_equal(wb_pack(&f.wb, &out, &why), 0);
    fg_pbarena_t *a = fg_pbarena_new(4096);
    assert_non_null(a);
    assert_int_equal(fg_pbarena_block(a), 4096);
    Floodgate__WindowBatch *u = wb_unpack_in(a, (const uint8_t *)out.data, out.len, &why);
    assert_non_null(u);
    assert_int_equal(u->n_hosts, 2000);
    assert_true(u->hosts[1999]->top == NULL && u->hosts[1998]->n_top == 3);
    assert_int_equal(wb_pack(u, &again, &why), 0);
    assert_int_equal(again.len, out.len);
    assert_memory_equal(again.data, out.data, out.len);
    size_t used = fg_pbarena_used(a);
    assert_true(used > 100 * 1024); /* 2000 hosts, 16 000 pieces: many blocks */
    fg_pbarena_reset(a);
    assert_int_equal(fg_pbarena_used(a), 0);
    size_t block = fg_pbarena_block(a);
    assert_true(block >= used);
    u = wb_unpack_in(a, (const uint8_t *)out.data, out.len, &why);
    assert_non_null(u);
    assert_int_equal(fg_pbarena_used(a), used);
    fg_pbarena_reset(a);
    assert_int_equal(fg_pbarena_block(a), block); /* it fit: nothing new */
    ProtobufCAllocator *al = fg_pbarena_allocator(a);
    for (size_t n = 0; n < 40; n += 3) {
        void *p = al->alloc(al->allocator_data, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
    }
    fg_pbarena_reset(a);
    for (size_t cut = 0; cut < 2000; cut += 7) {
        u = wb_unpack_in(a, (const uint8_t *)out.data, cut, &why);
        if (u)
            assert_int_equal(wb_validate(u, &why), 0);
        fg_pbarena_reset(a);
    }
    uint8_t *copy = malloc(out.len);
    for (size_t i = 0; i < 600; i++) {
        memcpy(copy, out.data, out.len);
        copy[i] ^= (uint8_t)(1u << (i % 8));
        u = wb_unpack_in(a, copy, out.len, &why);
        if (u)
            assert_int_equal(wb_validate(u, &why), 0);
        fg_pbarena_reset(a);
    }
    free(copy);
    fg_pbarena_destroy(&a);
    assert_null(a);
    fg_pbarena_destroy(&a);
    fg_buf_free(&out);
    fg_buf_free(&again);
}

/* ---- Decision ---- */

static Floodgate__Decision s_dec(Floodgate__Rates *total, Floodgate__Contributor **top,
                                 Floodgate__Contributor *con)
{
    Floodgate__Decision d = FLOODGATE__DECISION__INIT;
    d.addr_lo = 0x0000ffff0a000005ull;
    d.action = FLOODGATE__ACTION__BAN;
    d.attack_type = "amplification:dns";
    d.direction = FLOODGATE__DIRECTION__DIR_IN;
    d.metric = "pps";
    d.value = 123456;
    d.threshold = 20000;
    d.hostgroup = "default";
    d.ban_time = 600;
    floodgate__rates__init(total);
    total->pps = 123456;
    d.total = total;
    floodgate__contributor__init(con);
    con->kind = FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT;
    con->key_lo = 53;
    con->share = 0.9;
    top[0] = con;
    d.n_top = 1;
    d.top = top;
    return d;
}

static void test_codec_decision_round_trip(void **state)
{
    (void)state;
    Floodgate__Rates total;
    Floodgate__Contributor con, *top[1];
    Floodgate__Decision d = s_dec(&total, top, &con);
    uint8_t buf[DEC_MAX_BYTES];
    const char *why = NULL;
    int field = -1;
    size_t n = dec_pack(&d, buf, sizeof(buf), &why);
    assert_true(n > 0);
    Floodgate__Decision *u = dec_unpack(buf, n, &field);
    assert_non_null(u);
    assert_int_equal(field, 0);
    assert_int_equal(dec_validate(u, &why), 0);
    assert_string_equal(u->attack_type, "amplification:dns");
    assert_int_equal(u->ban_time, 600);
    assert_true(u->top[0]->share == 0.9);
    dec_free(&u);
    assert_null(u);
    dec_free(&u);
    /* too small a buffer */
    assert_int_equal(dec_pack(&d, buf, n - 1, &why), 0);
    assert_string_equal(why, "too large");
}

static void test_codec_decision_limits(void **state)
{
    (void)state;
    Floodgate__Rates total;
    Floodgate__Contributor con, *top[1];
    uint8_t buf[DEC_MAX_BYTES];
    char long_type[DEC_ATTACK_TYPE_MAX + 1];
    memset(long_type, 'a', sizeof(long_type) - 1);
    long_type[sizeof(long_type) - 1] = '\0';
    Floodgate__Rates syn;
    floodgate__rates__init(&syn);
    for (int k = 0; k < 8; k++) {
        Floodgate__Decision d = s_dec(&total, top, &con);
        switch (k) {
        case 0: d.value = NAN; break;
        case 1: d.threshold = -5; break;
        case 2: total.bps = INFINITY; break;
        case 3: con.share = NAN; break;
        case 4: d.attack_type = long_type; break;
        case 5: d.direction = (Floodgate__Direction)3; break;
        case 6: d.n_top = DEC_MAX_TOP + 1; break;
        case 7: syn.pps = NAN; d.tcp_syn = &syn; break;
        }
        const char *why = NULL;
        if (k != 6) { /* n_top past the array: only validated, never packed */
            assert_int_equal(dec_pack(&d, buf, sizeof(buf), &why), 0);
            assert_non_null(why);
        }
        assert_int_equal(dec_validate(&d, &why), -1);
    }
    /* one byte shorter fits */
    Floodgate__Decision d = s_dec(&total, top, &con);
    long_type[DEC_ATTACK_TYPE_MAX - 1] = '\0';
    d.attack_type = long_type;
    const char *why;
    assert_true(dec_pack(&d, buf, sizeof(buf), &why) > 0);
    /* a baseline that is not finite is informational: the ban writes 0 */
    d.baseline = NAN;
    assert_int_equal(dec_validate(&d, &why), 0);
}

/* The normal profile travels intact, and every one of its limits is
 * refused (too many items or class shares, a share outside 0..1, an
 * exporter item, a rate that is not finite). */
static void test_codec_decision_profile(void **state)
{
    (void)state;
    Floodgate__Rates total;
    Floodgate__Contributor con, *top[1];
    Floodgate__Contributor items[DEC_MAX_PROFILE_TOP + 1], *pt[DEC_MAX_PROFILE_TOP + 1];
    double cls[DEC_MAX_CLASS_SHARES + 1] = {1, 0, 0, 0.97, 0.03, 0, 0, 0};
    uint8_t buf[DEC_MAX_BYTES];
    for (int i = 0; i <= DEC_MAX_PROFILE_TOP; i++) {
        floodgate__contributor__init(&items[i]);
        items[i].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT;
        items[i].key_lo = 1000 + (uint64_t)i;
        items[i].share = 0.01;
        pt[i] = &items[i];
    }
    items[0].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO;
    items[0].key_lo = 17;
    items[0].share = 0.97;
    for (int k = 0; k < 7; k++) {
        Floodgate__Decision d = s_dec(&total, top, &con);
        Floodgate__Profile p = FLOODGATE__PROFILE__INIT;
        p.windows = 30;
        p.pps = 1500;
        p.n_class_share = FG_CLASSES;
        p.class_share = cls;
        p.n_top = DEC_MAX_PROFILE_TOP;
        p.top = pt;
        d.normal = &p;
        items[1].share = 0.01;
        items[2].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT;
        cls[4] = 0.03;
        switch (k) {
        case 1: p.n_top = DEC_MAX_PROFILE_TOP + 1; break;
        case 2: p.n_class_share = DEC_MAX_CLASS_SHARES + 1; break;
        case 3: items[1].share = 1.5; break;
        case 4: cls[4] = NAN; break;
        case 5: items[2].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER; break;
        case 6: p.pps = INFINITY; break;
        }
        const char *why = NULL;
        size_t n = dec_pack(&d, buf, sizeof(buf), &why);
        if (k > 0) {
            assert_int_equal(n, 0);
            assert_non_null(why);
            assert_int_equal(dec_validate(&d, &why), -1);
            continue;
        }
        int field;
        Floodgate__Decision *u = dec_unpack(buf, n, &field);
        assert_non_null(u);
        assert_non_null(u->normal);
        assert_int_equal(dec_validate(u, &why), 0);
        assert_int_equal(u->normal->windows, 30);
        assert_int_equal(u->normal->n_top, DEC_MAX_PROFILE_TOP);
        assert_int_equal(u->normal->top[0]->key_lo, 17);
        assert_true(u->normal->top[0]->share == 0.97);
        assert_int_equal(u->normal->n_class_share, FG_CLASSES);
        assert_true(u->normal->class_share[FG_CLS_UDP] == 0.97);
        dec_free(&u);
    }
}

/* A ban_time of 2^32 on the wire: protobuf-c keeps 0; the codec names the
 * field. Truncations never pass as a whole Decision with a bigger field. */
static void test_codec_decision_overflow_truncated(void **state)
{
    (void)state;
    Floodgate__Rates total;
    Floodgate__Contributor con, *top[1];
    Floodgate__Decision d = s_dec(&total, top, &con);
    d.ban_time = 0;
    uint8_t buf[512];
    const char *why;
    size_t n = dec_pack(&d, buf, sizeof(buf) - 8, &why);
    assert_true(n > 0);
    static const uint8_t big[] = {13 << 3, 0x80, 0x80, 0x80, 0x80, 0x10}; /* 2^32 */
    memcpy(buf + n, big, sizeof(big));
    int field = 0;
    Floodgate__Decision *u = dec_unpack(buf, n + sizeof(big), &field);
    assert_non_null(u);
    assert_int_equal(field, 13);
    assert_int_equal(u->ban_time, 0);
    dec_free(&u);
    assert_int_equal(dec_wire_overflow(buf, n), 0);
    assert_int_equal(dec_wire_overflow(buf, n + 3), -1);
    for (size_t cut = 0; cut < n; cut++) {
        u = dec_unpack(buf, cut, &field);
        if (u)
            assert_int_equal(field, 0);
        dec_free(&u);
    }
    assert_null(dec_unpack(buf, DEC_MAX_BYTES + 1, &field));
}

/* Found by fuzz_decision and fuzz_window: 80 00 00 is a field number 0 (in
 * a non-minimal tag) that protobuf-c took as an unknown field, so a message
 * that packs into bytes that do not unpack: not a Decision, nor a
 * WindowBatch, at any depth. */
static void test_codec_decision_not_protobuf_fixture(void **state)
{
    (void)state;
    uint8_t buf[64];
    FILE *f = fopen("tests/data/fuzz/decision_field0.bin", "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(n, 3);
    int field = 7;
    assert_int_equal(dec_wire_overflow(buf, n), -1);
    assert_null(dec_unpack(buf, n, &field));
    /* nor inside a message it holds: a contributor (field 10) whose field
     * number is 0 */
    static const uint8_t nested[] = {10 << 3 | 2, 3, 0x80, 0x00, 0x26};
    assert_int_equal(dec_wire_overflow(nested, sizeof(nested)), 0);
    assert_null(dec_unpack(nested, sizeof(nested), &field));
    /* the same in a WindowBatch (found by fuzz_window) */
    f = fopen("tests/data/fuzz/window_field0.bin", "rb");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(n, 13);
    const char *why = NULL;
    assert_null(wb_unpack(buf, n, &why));
    assert_string_equal(why, "not a WindowBatch");
    buf[8] = 0x88; /* field 1 (shard) in a non-minimal tag: well-formed */
    Floodgate__WindowBatch *wb = wb_unpack(buf, n, &why);
    assert_non_null(wb);
    wb_free(&wb);
    /* the empty message is still a Decision */
    Floodgate__Decision *d = dec_unpack(buf, 0, &field);
    assert_non_null(d);
    assert_int_equal(field, 0);
    dec_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_window_round_trip),
        cmocka_unit_test(test_codec_window_limits),
        cmocka_unit_test(test_codec_window_truncated_corrupted),
        cmocka_unit_test(test_codec_window_arena),
        cmocka_unit_test(test_codec_decision_round_trip),
        cmocka_unit_test(test_codec_decision_limits),
        cmocka_unit_test(test_codec_decision_profile),
        cmocka_unit_test(test_codec_decision_overflow_truncated),
        cmocka_unit_test(test_codec_decision_not_protobuf_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
