/* Unit tests: the streaming WindowBatch writer (common/wbwrite.c) against
 * protobuf-c: random messages with edge values written both ways are the
 * same bytes, read back through wb_unpack; every limit of wb_validate
 * refuses the message with wb_pack's reason. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/window.h"
#include "tests/wbtest.h"

#define MAX_HOSTS 24 /* per random message */

/* A message and the storage its pointers point into. */
typedef struct {
    Floodgate__WindowBatch wb;
    Floodgate__HostWindow hw[MAX_HOSTS], *hwp[MAX_HOSTS];
    Floodgate__Rates rates[MAX_HOSTS][FG_CLASSES + 1];
    Floodgate__Contributor con[MAX_HOSTS][WB_MAX_TOP + 1], *conp[MAX_HOSTS][WB_MAX_TOP + 1];
    Floodgate__GroupTotal gt[WB_MAX_GROUPS + 1], *gtp[WB_MAX_GROUPS + 1];
    Floodgate__Rates gr[WB_MAX_GROUPS + 1];
} msg_t;

static uint64_t s_rnd(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

/* 0, varint length boundaries, the largest, or a random width. */
static uint64_t s_u64(uint64_t *x)
{
    static const uint64_t edge[] = {
        0, 1, 127, 128, 16383, 16384, UINT32_MAX, UINT32_MAX + 1ull, UINT64_MAX - 1, UINT64_MAX};
    uint64_t r = s_rnd(x);
    if (r % 3 == 0)
        return edge[(r >> 8) % (sizeof(edge) / sizeof(edge[0]))];
    return s_rnd(x) >> (r >> 16) % 64;
}

static uint32_t s_u32(uint64_t *x)
{
    uint64_t v = s_u64(x);
    return v > UINT32_MAX ? (uint32_t)(v >> 32) : (uint32_t)v;
}

/* A finite number >= 0: 0, -0.0, denormals, the extremes, or random. */
static double s_num(uint64_t *x)
{
    static const double edge[] = {0.0, -0.0, DBL_TRUE_MIN, DBL_MIN / 3, DBL_MIN, DBL_MAX,
                                  1.0, 0.5,  1e-300,       1e300,       200000.0};
    uint64_t r = s_rnd(x);
    if (r % 3 == 0)
        return edge[(r >> 8) % (sizeof(edge) / sizeof(edge[0]))];
    return (double)(s_rnd(x) >> 11) * 0x1p-53 * pow(10, (double)((r >> 16) % 30));
}

static Floodgate__Rates *s_rates(uint64_t *x, Floodgate__Rates *r)
{
    if (s_rnd(x) % 4 == 0)
        return NULL; /* absent */
    floodgate__rates__init(r);
    r->pps = s_num(x);
    r->bps = s_num(x);
    r->fps = s_num(x);
    return r;
}

static void s_host(uint64_t *x, msg_t *m, size_t h)
{
    Floodgate__HostWindow *hw = &m->hw[h];
    floodgate__host_window__init(hw);
    hw->addr_hi = s_u64(x);
    hw->addr_lo = s_u64(x);
    hw->dir = (Floodgate__Direction)(s_rnd(x) % 2);
    hw->hostgroup = (uint32_t)(s_rnd(x) % 3 == 0 ? FG_MAX_GROUPS - 1 : s_rnd(x) % 4);
    for (int c = 0; c < FG_CLASSES; c++)
        *fg_class_field(hw, c) = s_rates(x, &m->rates[h][c]);
    hw->largest = s_rates(x, &m->rates[h][FG_CLASSES]);
    uint64_t r = s_rnd(x) % 4;
    hw->n_top = r == 0 ? 0 : r == 1 ? WB_MAX_TOP : s_rnd(x) % (WB_MAX_TOP + 1);
    hw->top = m->conp[h];
    for (size_t k = 0; k < hw->n_top; k++) {
        Floodgate__Contributor *c = &m->con[h][k];
        floodgate__contributor__init(c);
        c->kind = (Floodgate__ContribKind)(s_rnd(x) % 5);
        c->key_hi = s_u64(x);
        c->key_lo = s_u64(x);
        c->share = s_num(x);
        c->packets = s_u64(x);
        c->sampling = s_u32(x);
        m->conp[h][k] = c;
    }
    m->hwp[h] = hw;
}

static void s_random(uint64_t *x, msg_t *m)
{
    floodgate__window_batch__init(&m->wb);
    m->wb.shards = 1 + (uint32_t)(s_rnd(x) % FG_MAX_SHARDS);
    m->wb.shard = (uint32_t)(s_rnd(x) % m->wb.shards);
    m->wb.seq = s_u64(x);
    m->wb.window_end_ms = s_u64(x);
    m->wb.window_ms = 1 + (uint32_t)(s_rnd(x) % 3 == 0 ? WB_MAX_WINDOW_MS - 1 : s_rnd(x) % 1000);
    m->wb.hosts_tracked = s_u64(x);
    m->wb.batches_lost = s_u64(x);
    m->wb.n_hosts = s_rnd(x) % 4 == 0 ? 0 : s_rnd(x) % (MAX_HOSTS + 1);
    m->wb.hosts = m->hwp;
    for (size_t h = 0; h < m->wb.n_hosts; h++)
        s_host(x, m, h);
    m->wb.n_groups = s_rnd(x) % 8 == 0 ? WB_MAX_GROUPS : s_rnd(x) % 6;
    m->wb.groups = m->gtp;
    for (size_t g = 0; g < m->wb.n_groups; g++) {
        floodgate__group_total__init(&m->gt[g]);
        m->gt[g].hostgroup = (uint32_t)(g / 2 % FG_MAX_GROUPS);
        m->gt[g].dir = (Floodgate__Direction)(g % 2);
        m->gt[g].total = s_rates(x, &m->gr[g]);
        m->gt[g].hosts = s_u32(x);
        m->gtp[g] = &m->gt[g];
    }
}

/* Both ways give the same bytes, which read back. */
static void s_same(const Floodgate__WindowBatch *wb)
{
    fg_buf_t a = {0}, b = {0};
    const char *why = NULL;
    assert_int_equal(wb_pack(wb, &a, &why), 0);
    assert_int_equal(wbt_write(wb, &b, &why), 0);
    assert_int_equal(b.len, a.len);
    assert_memory_equal(b.data, a.data, a.len);
    assert_int_equal(b.data[b.len], '\0');
    Floodgate__WindowBatch *u = wb_unpack((const uint8_t *)b.data, b.len, &why);
    assert_non_null(u);
    assert_int_equal(u->n_hosts, wb->n_hosts);
    assert_int_equal(u->n_groups, wb->n_groups);
    assert_true(u->seq == wb->seq && u->hosts_tracked == wb->hosts_tracked &&
                u->batches_lost == wb->batches_lost);
    for (size_t h = 0; h < wb->n_hosts; h++) {
        assert_true(u->hosts[h]->addr_lo == wb->hosts[h]->addr_lo);
        assert_int_equal(u->hosts[h]->n_top, wb->hosts[h]->n_top);
        assert_int_equal(!u->hosts[h]->largest, !wb->hosts[h]->largest);
    }
    assert_int_equal(wb_pack(u, &a, &why), 0); /* and pack again the same */
    assert_int_equal(b.len, a.len);
    assert_memory_equal(b.data, a.data, a.len);
    wb_free(&u);
    fg_buf_free(&a);
    fg_buf_free(&b);
}

static void test_wbwrite_random_same_bytes(void **state)
{
    (void)state;
    msg_t *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 3000; i++) {
        s_random(&x, m);
        s_same(&m->wb);
    }
    free(m);
}

/* A host of zeros is an empty message (length 0); -0.0 is left out as 0
 * is (protobuf-c compares with 0); a denormal is written; a present but
 * empty Rates is two bytes. */
static void test_wbwrite_edge_values(void **state)
{
    (void)state;
    msg_t *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    Floodgate__WindowBatch *wb = &m->wb;
    floodgate__window_batch__init(wb);
    wb->shards = 1;
    wb->window_ms = 1;
    wb->n_hosts = 3;
    wb->hosts = m->hwp;
    for (int h = 0; h < 3; h++) {
        floodgate__host_window__init(&m->hw[h]);
        m->hwp[h] = &m->hw[h];
    }
    floodgate__rates__init(&m->rates[1][0]);
    m->rates[1][0].pps = -0.0;
    m->rates[1][0].bps = -0.0;
    m->hw[1].total = &m->rates[1][0];
    floodgate__rates__init(&m->rates[2][0]);
    m->rates[2][0].fps = DBL_TRUE_MIN;
    m->hw[2].largest = &m->rates[2][0];
    s_same(wb);
    fg_buf_t b = {0};
    const char *why;
    assert_int_equal(wbt_write(wb, &b, &why), 0);
    static const uint8_t want[] = {0x10, 1, 0x28, 1, 0x32, 0, 0x32, 2, 0x2a, 0, 0x32, 11,
                                   0x6a, 9, 0x19, 1, 0,    0, 0,    0, 0,    0, 0};
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.data, want, sizeof(want));
    fg_buf_free(&b);
    free(m);
}

/* The most hosts, groups and contributors pass; one more is refused, by
 * the writer as by wb_pack. */
static void test_wbwrite_max_counts(void **state)
{
    (void)state;
    msg_t *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    uint64_t x = 7;
    do
        s_random(&x, m);
    while (m->wb.n_hosts == 0 || m->wb.n_groups == 0);
    Floodgate__HostWindow **many = malloc((WB_MAX_HOSTS + 1) * sizeof(*many)), empty;
    assert_non_null(many);
    floodgate__host_window__init(&empty); /* two bytes each */
    for (size_t i = 0; i <= WB_MAX_HOSTS; i++)
        many[i] = i < m->wb.n_hosts ? m->hwp[i] : &empty;
    m->wb.hosts = many;
    m->wb.n_hosts = WB_MAX_HOSTS;
    for (size_t g = m->wb.n_groups; g <= WB_MAX_GROUPS; g++)
        m->gtp[g] = m->gtp[0];
    m->wb.n_groups = WB_MAX_GROUPS;
    m->hw[0].n_top = WB_MAX_TOP;
    for (size_t k = 0; k <= WB_MAX_TOP; k++)
        m->conp[0][k] = &m->con[0][0];
    floodgate__contributor__init(&m->con[0][0]);
    m->con[0][0].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER;
    s_same(&m->wb);

    fg_buf_t b = {0};
    const char *why = NULL, *why2 = NULL;
    struct {
        size_t *n, max;
        const char *why;
    } over[] = {{&m->wb.n_hosts, WB_MAX_HOSTS, "too many hosts"},
                {&m->wb.n_groups, WB_MAX_GROUPS, "too many groups"},
                {&m->hw[0].n_top, WB_MAX_TOP, "too many contributors"}};
    for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
        *over[i].n = over[i].max + 1;
        assert_int_equal(wbt_write(&m->wb, &b, &why), -1);
        assert_string_equal(why, over[i].why);
        assert_int_equal(wb_pack(&m->wb, &b, &why2), -1);
        assert_string_equal(why2, over[i].why);
        *over[i].n = over[i].max;
    }
    fg_buf_free(&b);
    free(many);
    free(m);
}

/* One bad value refuses the whole message, with wb_pack's reason. */
static void test_wbwrite_refusals(void **state)
{
    (void)state;
    msg_t *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    uint64_t x = 11;
    do
        s_random(&x, m);
    while (m->wb.n_hosts < 2 || m->wb.n_groups == 0);
    Floodgate__HostWindow *hw = m->wb.hosts[1];
    Floodgate__Rates *cls = &m->rates[1][FG_CLS_UDP], *lg = &m->rates[1][FG_CLASSES];
    floodgate__rates__init(cls);
    floodgate__rates__init(lg);
    cls->pps = lg->bps = 1;
    *fg_class_field(hw, FG_CLS_UDP) = cls;
    hw->largest = lg;
    hw->n_top = 3;
    for (size_t k = 0; k < 3; k++) {
        floodgate__contributor__init(&m->con[1][k]);
        m->con[1][k].share = 0.5;
        hw->top[k] = &m->con[1][k];
    }
    Floodgate__GroupTotal *gt = m->wb.groups[0];
    floodgate__rates__init(&m->gr[0]);
    gt->total = &m->gr[0];
    s_same(&m->wb);
    const Floodgate__WindowBatch saved = m->wb;
    const Floodgate__HostWindow hsaved = *hw;
    const Floodgate__Rates csaved = *cls, lsaved = *lg;
    const Floodgate__Contributor con = m->con[1][2];
    const Floodgate__GroupTotal gsaved = *gt;
    const Floodgate__Rates grsaved = m->gr[0];
    for (int t = 0; t < 22; t++) {
        const char *want = NULL;
        switch (t) {
#define CASE(n, stmt, reason)                                                                      \
    case n:                                                                                        \
        stmt;                                                                                      \
        want = reason;                                                                             \
        break;
            CASE(0, m->wb.shards = 0, "shard")
            CASE(1, m->wb.shards = FG_MAX_SHARDS + 1, "shard")
            CASE(2, (m->wb.shards = 4, m->wb.shard = 4), "shard")
            CASE(3, m->wb.window_ms = 0, "window_ms")
            CASE(4, m->wb.window_ms = WB_MAX_WINDOW_MS + 1, "window_ms")
            CASE(5, hw->dir = (Floodgate__Direction)2, "host direction")
            CASE(6, hw->dir = (Floodgate__Direction)-1, "host direction")
            CASE(7, hw->hostgroup = FG_MAX_GROUPS, "host hostgroup")
            CASE(8, cls->pps = NAN, "host rate")
            CASE(9, cls->bps = -1e-300, "host rate")
            CASE(10, cls->fps = INFINITY, "host rate")
            CASE(11, lg->pps = -INFINITY, "host largest rate")
            CASE(12, lg->fps = NAN, "host largest rate")
            CASE(13, m->con[1][2].kind = (Floodgate__ContribKind)5, "contributor kind")
            CASE(14, m->con[1][2].kind = (Floodgate__ContribKind)-1, "contributor kind")
            CASE(15, m->con[1][2].share = NAN, "contributor share")
            CASE(16, m->con[1][2].share = -DBL_TRUE_MIN, "contributor share")
            CASE(17, gt->dir = (Floodgate__Direction)3, "group direction or hostgroup")
            CASE(18, gt->hostgroup = FG_MAX_GROUPS, "group direction or hostgroup")
            CASE(19, m->gr[0].bps = NAN, "group rate")
            CASE(20, m->gr[0].pps = -1, "group rate")
            CASE(21, m->wb.shard = m->wb.shards, "shard")
#undef CASE
        }
        fg_buf_t b = {0};
        const char *why = NULL, *why2 = NULL;
        assert_int_equal(wbt_write(&m->wb, &b, &why), -1);
        assert_string_equal(why, want);
        assert_int_equal(wb_pack(&m->wb, &b, &why2), -1);
        assert_string_equal(why2, want);
        fg_buf_free(&b);
        m->wb = saved, *hw = hsaved, *cls = csaved, *lg = lsaved, m->con[1][2] = con;
        *gt = gsaved, m->gr[0] = grsaved;
        s_same(&m->wb);
    }
    free(m);
}

static void s_header(ww_header_t *hd)
{
    *hd = (ww_header_t){.shard = 0, .shards = 1, .seq = 1, .window_ms = 200};
}

/* A host after the groups (the fields would be out of order), memory
 * running out (a bounded buffer) and a message over WB_MAX_BYTES are
 * refused; the first reason stays. */
static void test_wbwrite_order_memory_size(void **state)
{
    (void)state;
    ww_header_t hd;
    s_header(&hd);
    ww_rates_t r = {1, 2, 3};
    ww_host_t h = {.addr_lo = 1, .rates = {&r, &r}, .largest = &r};
    ww_group_t g = {.total = &r, .hosts = 1};
    ww_t w;
    fg_buf_t b = {0};
    const char *why = NULL;
    assert_int_equal(ww_begin(&w, &b, &hd), 0);
    assert_int_equal(ww_host(&w, &h), 0);
    assert_int_equal(ww_group(&w, &g), 0);
    assert_int_equal(ww_host(&w, &h), -1);
    assert_int_equal(ww_group(&w, &g), -1);
    assert_int_equal(ww_finish(&w, &why), -1);
    assert_string_equal(why, "host after the groups");

    fg_buf_t small;
    fg_buf_init(&small, 100);
    assert_int_equal(ww_begin(&w, &small, &hd), 0);
    assert_int_equal(ww_host(&w, &h), -1);
    h.hostgroup = FG_MAX_GROUPS; /* a later fault does not replace the first */
    assert_int_equal(ww_host(&w, &h), -1);
    assert_int_equal(ww_finish(&w, &why), -1);
    assert_string_equal(why, "out of memory");
    fg_buf_free(&small);

    /* the biggest hosts (64 contributors of the longest encoding) until
     * the message passes 256 MiB: refused as wb_pack refuses it */
    ww_contrib_t c = {FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER,
                      UINT64_MAX,
                      UINT64_MAX,
                      1,
                      UINT64_MAX,
                      UINT32_MAX};
    ww_contrib_t top[WB_MAX_TOP];
    for (int k = 0; k < WB_MAX_TOP; k++)
        top[k] = c;
    ww_host_t big = {UINT64_MAX, UINT64_MAX, 1, FG_MAX_GROUPS - 1, {&r, &r, &r, &r, &r, &r, &r}, &r,
                     top,        WB_MAX_TOP};
    assert_int_equal(ww_begin(&w, &b, &hd), 0);
    size_t n = 0;
    while (ww_host(&w, &big) == 0)
        n++;
    assert_true(n < WB_MAX_HOSTS);
    assert_true(b.len > WB_MAX_BYTES && b.len < WB_MAX_BYTES + 4096);
    assert_int_equal(ww_finish(&w, &why), -1);
    assert_string_equal(why, "too large");
    /* wb_pack on the same message: n + 1 such hosts */
    Floodgate__Rates pr = FLOODGATE__RATES__INIT;
    pr.pps = 1, pr.bps = 2, pr.fps = 3;
    Floodgate__Contributor pc = FLOODGATE__CONTRIBUTOR__INIT, *pcp[WB_MAX_TOP];
    pc.kind = FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER;
    pc.key_hi = pc.key_lo = pc.packets = UINT64_MAX;
    pc.share = 1;
    pc.sampling = UINT32_MAX;
    for (int k = 0; k < WB_MAX_TOP; k++)
        pcp[k] = &pc;
    Floodgate__HostWindow phw = FLOODGATE__HOST_WINDOW__INIT;
    phw.addr_hi = phw.addr_lo = UINT64_MAX;
    phw.dir = FLOODGATE__DIRECTION__DIR_OUT;
    phw.hostgroup = FG_MAX_GROUPS - 1;
    for (int k = 0; k < FG_CLASSES; k++)
        *fg_class_field(&phw, k) = &pr;
    phw.largest = &pr;
    phw.n_top = WB_MAX_TOP;
    phw.top = pcp;
    Floodgate__HostWindow **hosts = malloc((n + 1) * sizeof(*hosts));
    assert_non_null(hosts);
    for (size_t i = 0; i <= n; i++)
        hosts[i] = &phw;
    Floodgate__WindowBatch wb = FLOODGATE__WINDOW_BATCH__INIT;
    wb.shards = 1, wb.seq = 1, wb.window_ms = 200;
    wb.n_hosts = n + 1, wb.hosts = hosts;
    assert_int_equal(wb_pack(&wb, &b, &why), -1);
    assert_string_equal(why, "too large");
    wb.n_hosts = n; /* one host fewer fits, and is the same */
    fg_buf_t a = {0};
    assert_int_equal(wb_pack(&wb, &a, &why), 0);
    assert_int_equal(wbt_write(&wb, &b, &why), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    fg_buf_free(&a);
    free(hosts);
    fg_buf_free(&b);
}

/* A buffer reused for a shorter message holds just that message. */
static void test_wbwrite_reused_buffer(void **state)
{
    (void)state;
    msg_t *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    uint64_t x = 3;
    fg_buf_t b = {0}, a = {0};
    const char *why;
    size_t last = 0;
    for (int i = 0; i < 200; i++) {
        s_random(&x, m);
        assert_int_equal(wbt_write(&m->wb, &b, &why), 0);
        assert_int_equal(wb_pack(&m->wb, &a, &why), 0);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        if (b.len < last)
            assert_int_equal(b.data[b.len], '\0');
        last = b.len;
    }
    fg_buf_free(&a);
    fg_buf_free(&b);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wbwrite_random_same_bytes),
        cmocka_unit_test(test_wbwrite_edge_values),
        cmocka_unit_test(test_wbwrite_max_counts),
        cmocka_unit_test(test_wbwrite_refusals),
        cmocka_unit_test(test_wbwrite_order_memory_size),
        cmocka_unit_test(test_wbwrite_reused_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
