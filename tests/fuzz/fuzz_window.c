/* libFuzzer target: WindowBatch bytes (common/window.c), as the detector
 * and `floodgate top` take them from an aggregator (or whoever reaches
 * its PUB socket). A message wb_unpack accepts must keep every documented
 * limit, pack again, and come back identical; the aggregator's writer
 * (common/wbwrite.c) must give it the same bytes as protobuf-c (but for
 * the unknown fields protobuf-c keeps); the detector's unpacking into an
 * arena must give the same verdict and message. */
#include <math.h>
#include <string.h>

#include "common/classes.h"
#include "common/window.h"
#include "tests/fuzz/fuzz_cfg.h"
#include "tests/wbtest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_rates(const Floodgate__Rates *r)
{
    if (r)
        FZ_CHECK(isfinite(r->pps) && r->pps >= 0 && isfinite(r->bps) && r->bps >= 0 &&
                 isfinite(r->fps) && r->fps >= 0);
}

static void s_host(const Floodgate__HostWindow *h)
{
    FZ_CHECK(h->dir == FLOODGATE__DIRECTION__DIR_IN || h->dir == FLOODGATE__DIRECTION__DIR_OUT);
    FZ_CHECK(h->hostgroup < FG_MAX_GROUPS);
    for (int c = 0; c < FG_CLASSES; c++)
        s_rates(fg_class_rates(h, c));
    s_rates(h->largest);
    FZ_CHECK(h->n_top <= WB_MAX_TOP);
    for (size_t i = 0; i < h->n_top; i++) {
        const Floodgate__Contributor *c = h->top[i];
        FZ_CHECK(c->kind >= FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR &&
                 c->kind <= FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER);
        FZ_CHECK(isfinite(c->share) && c->share >= 0);
    }
}

/* Fields protobuf-c kept without knowing them: it packs them again, the
 * writer (which writes values) has none. */
static size_t s_unknown(const Floodgate__WindowBatch *wb)
{
    size_t n = wb->base.n_unknown_fields;
    for (size_t i = 0; i < wb->n_hosts; i++) {
        const Floodgate__HostWindow *h = wb->hosts[i];
        n += h->base.n_unknown_fields + (h->largest ? h->largest->base.n_unknown_fields : 0);
        for (int c = 0; c < FG_CLASSES; c++)
            n += fg_class_rates(h, c) ? fg_class_rates(h, c)->base.n_unknown_fields : 0;
        for (size_t k = 0; k < h->n_top; k++)
            n += h->top[k]->base.n_unknown_fields;
    }
    for (size_t i = 0; i < wb->n_groups; i++) {
        const Floodgate__GroupTotal *g = wb->groups[i];
        n += g->base.n_unknown_fields + (g->total ? g->total->base.n_unknown_fields : 0);
    }
    return n;
}

/* The writer gives wb the bytes wb_pack gave (packed), unknown fields
 * aside; what it writes reads back and packs the same both ways. */
static void s_writer(const Floodgate__WindowBatch *wb, const fg_buf_t *packed)
{
    fg_buf_t w = {0}, again = {0};
    const char *why = NULL;
    FZ_CHECK(wbt_write(wb, &w, &why) == 0);
    if (s_unknown(wb) == 0)
        FZ_CHECK(w.len == packed->len && memcmp(w.data, packed->data, w.len) == 0);
    Floodgate__WindowBatch *u = wb_unpack((const uint8_t *)w.data, w.len, &why);
    FZ_CHECK(u && s_unknown(u) == 0);
    FZ_CHECK(wb_pack(u, &again, &why) == 0);
    FZ_CHECK(again.len == w.len && memcmp(again.data, w.data, w.len) == 0);
    FZ_CHECK(wbt_write(u, &again, &why) == 0);
    FZ_CHECK(again.len == w.len && memcmp(again.data, w.data, w.len) == 0);
    wb_free(&u);
    fg_buf_free(&w);
    fg_buf_free(&again);
}

/* The detector's way (wb_unpack_in, an arena reset after each message):
 * the same verdict as wb_unpack's, and what it accepts packs to the bytes
 * wb_unpack's message packs to (packed: NULL when refused). */
static void s_arena(const uint8_t *data, size_t size, const fg_buf_t *packed)
{
    static fg_pbarena_t *arena;
    if (!arena)
        arena = fg_pbarena_new(4096);
    FZ_CHECK(arena);
    const char *why = NULL;
    Floodgate__WindowBatch *wb = wb_unpack_in(arena, data, size, &why);
    FZ_CHECK((wb != NULL) == (packed != NULL));
    if (wb) {
        fg_buf_t out = {0};
        FZ_CHECK(wb_pack(wb, &out, &why) == 0);
        FZ_CHECK(out.len == packed->len && memcmp(out.data, packed->data, out.len) == 0);
        fg_buf_free(&out);
    }
    fg_pbarena_reset(arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    Floodgate__WindowBatch *wb = wb_unpack(data, size, &why);
    if (!wb) {
        FZ_CHECK(why && *why);
        s_arena(data, size, NULL);
        return 0;
    }
    FZ_CHECK(wb->shards >= 1 && wb->shards <= FG_MAX_SHARDS && wb->shard < wb->shards);
    FZ_CHECK(wb->window_ms >= 1 && wb->window_ms <= WB_MAX_WINDOW_MS);
    FZ_CHECK(wb->n_hosts <= WB_MAX_HOSTS && wb->n_groups <= WB_MAX_GROUPS);
    for (size_t i = 0; i < wb->n_hosts; i++)
        s_host(wb->hosts[i]);
    for (size_t i = 0; i < wb->n_groups; i++) {
        const Floodgate__GroupTotal *g = wb->groups[i];
        FZ_CHECK(g->dir == FLOODGATE__DIRECTION__DIR_IN || g->dir == FLOODGATE__DIRECTION__DIR_OUT);
        FZ_CHECK(g->hostgroup < FG_MAX_GROUPS);
        s_rates(g->total);
    }
    /* what was accepted packs again (the aggregator's side of the same
     * limits) and reads back the same */
    fg_buf_t out = {0};
    FZ_CHECK(wb_pack(wb, &out, &why) == 0);
    Floodgate__WindowBatch *again = wb_unpack((const uint8_t *)out.data, out.len, &why);
    FZ_CHECK(again);
    FZ_CHECK(again->n_hosts == wb->n_hosts && again->n_groups == wb->n_groups &&
             again->seq == wb->seq && again->shard == wb->shard);
    fg_buf_t out2 = {0};
    FZ_CHECK(wb_pack(again, &out2, &why) == 0);
    FZ_CHECK(out2.len == out.len && memcmp(out2.data, out.data, out.len) == 0);
    s_writer(wb, &out);
    s_arena(data, size, &out);
    fg_buf_free(&out);
    fg_buf_free(&out2);
    wb_free(&again);
    wb_free(&wb);
    FZ_CHECK(!wb);
    return 0;
}
