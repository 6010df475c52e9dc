/* libFuzzer target: the streaming WindowBatch writer (common/wbwrite.c)
 * against protobuf-c. The input is a recipe for a WindowBatch whose values
 * may break any limit (shards, window_ms, directions, hostgroups, NaN,
 * infinities, negative numbers and -0.0, contributor kinds and counts,
 * group counts): wb_pack and the writer must both accept it with the same
 * bytes, or both refuse it with the same reason. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "common/window.h"
#include "tests/fuzz/fuzz_cfg.h"
#include "tests/wbtest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_HOSTS 8
#define FZ_TOP (WB_MAX_TOP + 2)

typedef struct {
    const uint8_t *p;
    size_t n;
} rd_t;

/* The next byte, 0 once the input is spent. */
static uint8_t s_byte(rd_t *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

static uint64_t s_raw(rd_t *r, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | s_byte(r);
    return v;
}

/* An integer: a varint length boundary or the input's bytes. */
static uint64_t s_u64(rd_t *r)
{
    static const uint64_t edge[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, UINT64_MAX};
    uint8_t s = s_byte(r);
    return s < 8 ? edge[s] : s_raw(r, 1 + s % 8);
}

static double s_num(rd_t *r)
{
    static const double edge[] = {0.0,  -0.0,    DBL_TRUE_MIN, -DBL_TRUE_MIN, DBL_MIN / 3,
                                  -1.0, DBL_MAX, INFINITY,     -INFINITY,     1.0};
    uint8_t s = s_byte(r);
    if (s < 10)
        return edge[s];
    if (s < 12)
        return NAN;
    uint64_t v = s_raw(r, 8);
    double d;
    memcpy(&d, &v, sizeof(d));
    return d;
}

/* A direction or kind: mostly in range, sometimes just outside. */
static int s_enum(rd_t *r, int max)
{
    return (int)(s_byte(r) % (max + 3)) - 1;
}

static uint32_t s_group(rd_t *r)
{
    uint8_t s = s_byte(r);
    return s == 255 ? FG_MAX_GROUPS : s == 254 ? (uint32_t)s_u64(r) : s % 4;
}

typedef struct {
    Floodgate__WindowBatch wb;
    Floodgate__HostWindow hw[FZ_HOSTS], *hwp[FZ_HOSTS];
    Floodgate__Rates rates[FZ_HOSTS][FG_CLASSES + 1];
    Floodgate__Contributor con[FZ_HOSTS][FZ_TOP], *conp[FZ_HOSTS][FZ_TOP];
    Floodgate__GroupTotal gt[8], *gtp[WB_MAX_GROUPS + 1];
    Floodgate__Rates gr[8];
} fz_msg_t;

static Floodgate__Rates *s_rates(rd_t *r, Floodgate__Rates *to, bool present)
{
    if (!present)
        return NULL;
    floodgate__rates__init(to);
    to->pps = s_num(r);
    to->bps = s_num(r);
    to->fps = s_num(r);
    return to;
}

static void s_host(rd_t *r, fz_msg_t *m, size_t h)
{
    Floodgate__HostWindow *hw = &m->hw[h];
    floodgate__host_window__init(hw);
    hw->addr_hi = s_u64(r);
    hw->addr_lo = s_u64(r);
    hw->dir = (Floodgate__Direction)s_enum(r, 1);
    hw->hostgroup = s_group(r);
    unsigned present = s_byte(r);
    for (int c = 0; c < FG_CLASSES; c++)
        *fg_class_field(hw, c) = s_rates(r, &m->rates[h][c], present >> c & 1);
    hw->largest = s_rates(r, &m->rates[h][FG_CLASSES], present >> 7);
    hw->n_top = s_byte(r) % (FZ_TOP + 1);
    hw->top = m->conp[h];
    for (size_t k = 0; k < hw->n_top; k++) {
        Floodgate__Contributor *c = &m->con[h][k];
        floodgate__contributor__init(c);
        c->kind = (Floodgate__ContribKind)s_enum(r, 4);
        c->key_hi = s_u64(r);
        c->key_lo = s_u64(r);
        c->share = s_num(r);
        c->packets = s_u64(r);
        c->sampling = (uint32_t)s_u64(r);
        m->conp[h][k] = c;
    }
    m->hwp[h] = hw;
}

/* Up to 8 groups, or (the selector's top values) the most allowed and one
 * more, repeating the last. */
static void s_groups(rd_t *r, fz_msg_t *m)
{
    uint8_t s = s_byte(r);
    size_t n = s % 9;
    for (size_t g = 0; g < n; g++) {
        floodgate__group_total__init(&m->gt[g]);
        m->gt[g].hostgroup = s_group(r);
        m->gt[g].dir = (Floodgate__Direction)s_enum(r, 1);
        m->gt[g].total = s_rates(r, &m->gr[g], s_byte(r) & 1);
        m->gt[g].hosts = (uint32_t)s_u64(r);
        m->gtp[g] = &m->gt[g];
    }
    m->wb.n_groups = n;
    m->wb.groups = m->gtp;
    if (n && s >= 250) {
        m->wb.n_groups = s == 255 ? WB_MAX_GROUPS + 1 : WB_MAX_GROUPS;
        for (size_t g = n; g < m->wb.n_groups; g++)
            m->gtp[g] = &m->gt[n - 1];
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_msg_t m;
    rd_t r = {data, size};
    floodgate__window_batch__init(&m.wb);
    m.wb.shards = s_byte(&r) % (FG_MAX_SHARDS + 3);
    m.wb.shard = s_byte(&r) % (FG_MAX_SHARDS + 3);
    m.wb.seq = s_u64(&r);
    m.wb.window_end_ms = s_u64(&r);
    uint8_t w = s_byte(&r);
    m.wb.window_ms = w == 255 ? WB_MAX_WINDOW_MS + 1 : w == 254 ? WB_MAX_WINDOW_MS : w;
    m.wb.hosts_tracked = s_u64(&r);
    m.wb.batches_lost = s_u64(&r);
    m.wb.n_hosts = s_byte(&r) % (FZ_HOSTS + 1);
    m.wb.hosts = m.hwp;
    for (size_t h = 0; h < m.wb.n_hosts; h++)
        s_host(&r, &m, h);
    s_groups(&r, &m);

    fg_buf_t a = {0}, b = {0};
    const char *why_a = NULL, *why_b = NULL;
    int ra = wb_pack(&m.wb, &a, &why_a), rb = wbt_write(&m.wb, &b, &why_b);
    FZ_CHECK(ra == rb);
    if (ra == 0) {
        FZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
        FZ_CHECK(b.data[b.len] == '\0');
    } else if (m.wb.n_groups <= WB_MAX_GROUPS) {
        /* wb_validate counts the groups before it looks at the hosts; the
         * writer sees the hosts first */
        FZ_CHECK(why_a && why_b && strcmp(why_a, why_b) == 0);
    }
    fg_buf_free(&a);
    fg_buf_free(&b);
    return 0;
}
