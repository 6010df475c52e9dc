/* Unit tests: data records decoded through a compiled template
 * (collector/templates.c).
 *
 * A fixed-length flow template is read by a straight plan (every slot from
 * its offset, tpl_t.at); a template with a variable-length field, or an
 * options template, by a walk of its ops. Random templates (mapped and
 * unmapped fields, uint lengths 1 to 16, addresses of the right and the
 * wrong length, enterprise fields, both address families, several fields
 * for one slot, every time encoding, per-record sampling) must give the
 * same records both ways: decoded as they are, and with a variable-length
 * field added, which sends them down the walk. One template is also
 * checked against values worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "collector/templates.h"

#define MAX_RECS 8
#define REC_MAX 1024

typedef struct {
    raw_flow_t recs[MAX_RECS];
    int n;
} sink_t;

static void s_flush(void *arg, const raw_flow_t *recs, int n)
{
    sink_t *s = arg;
    for (int i = 0; i < n && s->n < MAX_RECS; i++)
        s->recs[s->n++] = recs[i];
}

static int s_decode(const tpl_t *t, const uint8_t *buf, size_t len, const tpl_ctx_t *ctx,
                    sink_t *out)
{
    raw_flow_t slots[4];
    raw_sink_t sink = {slots, 0, 4, s_flush, out};
    bool cut = false;
    out->n = 0;
    int n = tpl_decode_set(t, buf, len, ctx, &sink, &cut);
    raw_sink_drain(&sink);
    assert_false(cut);
    assert_int_equal(n, out->n);
    return n;
}

static void s_same(const raw_flow_t *a, const raw_flow_t *b)
{
    assert_true(fg_addr_eq(&a->src, &b->src));
    assert_true(fg_addr_eq(&a->dst, &b->dst));
    assert_int_equal(a->packets, b->packets);
    assert_int_equal(a->bytes, b->bytes);
    assert_int_equal(a->start_ms, b->start_ms);
    assert_int_equal(a->end_ms, b->end_ms);
    assert_int_equal(a->sampling, b->sampling);
    assert_int_equal(a->sport, b->sport);
    assert_int_equal(a->dport, b->dport);
    assert_int_equal(a->proto, b->proto);
    assert_int_equal(a->tcp_flags, b->tcp_flags);
    assert_int_equal(a->frag, b->frag);
}

static uint64_t s_rng = 0x2545f4914f6cdd1dULL;
static uint32_t s_rand(uint32_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t)(s_rng % n);
}

/* Every field id the collector maps, and some it does not. */
static const uint16_t s_ids[] = {1,   2,   4,   6,   7,   8,   11,  12,  21,  22,  23,  24,
                                 27,  28,  32,  34,  48,  50,  85,  86,  88,  139, 150, 151,
                                 152, 153, 154, 155, 156, 157, 158, 159, 160, 197, 302, 305,
                                 306, 5,   10,  14,  15,  16,  17,  9,   13,  61};

static uint16_t s_len_of(uint16_t id)
{
    bool addr4 = id == 8 || id == 12, addr6 = id == 27 || id == 28;
    if (s_rand(8) == 0)
        return (uint16_t)(1 + s_rand(16)); /* often the wrong length */
    return addr4 ? 4 : addr6 ? 16 : (uint16_t)(1 + s_rand(8));
}

/* A random template of n fields; returns the record length. */
static size_t s_random_fields(tpl_field_t *f, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        uint16_t id = s_ids[s_rand(sizeof(s_ids) / sizeof(s_ids[0]))];
        f[i] = (tpl_field_t){id, s_len_of(id), s_rand(10) == 0 ? 9 + s_rand(1000) : 0};
        len += f[i].len;
    }
    return len;
}

static void test_templates_fixed_plan_matches_walk(void **state)
{
    (void)state;
    int compared = 0;
    for (int round = 0; round < 4000; round++) {
        tpl_field_t f[TPL_MAX_FIELDS], fv[TPL_MAX_FIELDS];
        int n = 1 + (int)s_rand(24), at = (int)s_rand((uint32_t)n + 1);
        size_t rec_len = s_random_fields(f, n), before = 0;
        /* the same fields with a variable-length one (unmapped) at `at` */
        for (int i = 0, j = 0; i <= n; i++) {
            if (i == at)
                fv[j++] = (tpl_field_t){82, TPL_VARLEN, 0};
            if (i < n)
                fv[j++] = f[i];
            if (i < at && i < n)
                before += f[i].len;
        }
        static tpl_t tf, tv;
        if (tpl_compile(&tf, f, n, false) != TPL_ADDED)
            continue;
        assert_int_equal(tpl_compile(&tv, fv, n + 1, false), TPL_ADDED);
        assert_false(tf.varlen);
        assert_true(tv.varlen);
        int k = 1 + (int)s_rand(MAX_RECS);
        static uint8_t fixed[MAX_RECS * REC_MAX], var[MAX_RECS * (REC_MAX + 8)];
        size_t flen = 0, vlen = 0;
        for (int r = 0; r < k; r++) {
            uint8_t rec[REC_MAX];
            for (size_t i = 0; i < rec_len; i++)
                rec[i] = (uint8_t)(s_rand(2) ? s_rand(256) : s_rand(2)); /* small values:
                                       * sampler ids 0 and 1, ICMP, ports of 0 */
            memcpy(fixed + flen, rec, rec_len);
            flen += rec_len;
            uint8_t extra = (uint8_t)s_rand(4);
            memcpy(var + vlen, rec, before);
            var[vlen + before] = extra;
            memset(var + vlen + before + 1, 0xab, extra);
            memcpy(var + vlen + before + 1 + extra, rec + before, rec_len - before);
            vlen += rec_len + 1 + extra;
        }
        exp_entry_t e = {0};
        e.sampling = s_rand(3) ? 0 : 1 + s_rand(5000);
        e.n_samplers = s_rand(3); /* sampler ids 0 and 1 of 1-byte fields */
        for (uint32_t i = 0; i < e.n_samplers; i++)
            e.samplers[i] = (exp_sampler_t){.id = i, .rate = 100 + i};
        tpl_ctx_t ctx = {.export_ms = 1795000000000ULL + s_rand(1000000),
                         .sys_uptime_ms = s_rand(4000000000u),
                         .v9 = s_rand(2),
                         .default_sampling = 1 + s_rand(3),
                         .override = s_rand(4) ? 0 : 1 + s_rand(100),
                         .exp = s_rand(4) ? &e : NULL};
        sink_t a, b;
        assert_int_equal(s_decode(&tf, fixed, flen, &ctx, &a), k);
        assert_int_equal(s_decode(&tv, var, vlen, &ctx, &b), k);
        for (int r = 0; r < k; r++)
            s_same(&a.recs[r], &b.recs[r]);
        compared++;
    }
    assert_true(compared > 3000);
}

/* A v9 template worked out by hand: odd lengths, an enterprise field and a
 * wrong-length address skipped, packets in 3 bytes, bytes in 8, uptime
 * stamps. */
static void test_templates_fixed_known_record(void **state)
{
    (void)state;
    static const tpl_field_t f[] = {
        {8, 4, 0},  /* src 192.0.2.1 */
        {12, 4, 0}, /* dst 10.0.0.5 */
        {12, 3, 0}, /* a dst of 3 bytes: not an address, skipped */
        {2, 3, 0},  /* packets, 3 bytes */
        {1, 8, 0},  /* bytes, 8 bytes */
        {1, 4, 77}, /* an enterprise field with the bytes' id: skipped */
        {4, 1, 0},  /* protocol */
        {6, 1, 0},  /* TCP flags */
        {7, 2, 0},  /* source port */
        {11, 2, 0}, /* destination port */
        {22, 4, 0}, /* first switched */
        {21, 4, 0}, /* last switched */
    };
    static const uint8_t rec[] = {
        192, 0, 2, 1,                         /* src */
        10, 0, 0, 5,                          /* dst */
        9, 9, 9,                              /* 3-byte dst */
        0x01, 0x02, 0x03,                     /* packets */
        0, 0, 0, 0x01, 0xff, 0xff, 0xff, 0xff, /* bytes */
        0xee, 0xee, 0xee, 0xee,               /* enterprise */
        6, 0x12,                              /* protocol, flags */
        0x30, 0x39, 0x00, 0x50,               /* ports 12345, 80 */
        0x00, 0x01, 0x86, 0xa0,               /* first: uptime 100 000 */
        0x00, 0x01, 0x8a, 0x88,               /* last: uptime 101 000 */
        0xee,                                 /* padding */
    };
    tpl_t t;
    assert_int_equal(tpl_compile(&t, f, sizeof(f) / sizeof(f[0]), false), TPL_ADDED);
    assert_int_equal(t.rec_len, sizeof(rec) - 1);
    tpl_ctx_t ctx = {.export_ms = 1795000000000ULL, .sys_uptime_ms = 101000, .v9 = true,
                     .default_sampling = 10};
    sink_t out;
    assert_int_equal(s_decode(&t, rec, sizeof(rec), &ctx, &out), 1);
    const raw_flow_t *r = &out.recs[0];
    fg_addr_t src = fg_addr_from_v4(0xc0000201), dst = fg_addr_from_v4(0x0a000005);
    assert_true(fg_addr_eq(&r->src, &src));
    assert_true(fg_addr_eq(&r->dst, &dst));
    assert_int_equal(r->sampling, 10);
    assert_int_equal(r->packets, 0x010203ULL * 10);
    assert_int_equal(r->bytes, 0x01ffffffffULL * 10);
    assert_int_equal(r->proto, 6);
    assert_int_equal(r->tcp_flags, 0x12);
    assert_int_equal(r->sport, 12345);
    assert_int_equal(r->dport, 80);
    assert_int_equal(r->start_ms, 1795000000000ULL - 1000); /* uptime 100 000 */
    assert_int_equal(r->end_ms, 1795000000000ULL); /* uptime 101 000 */
    assert_int_equal(r->frag, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_templates_fixed_plan_matches_walk),
        cmocka_unit_test(test_templates_fixed_known_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
