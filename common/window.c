#include "common/window.h"

#include "common/classes.h"
#include "common/pbcheck.h"

/* Rates may be absent (a class without traffic); present, they are numbers. */
static bool s_rates_ok(const Floodgate__Rates *r)
{
    return !r || wb_rates_ok(r->pps, r->bps, r->fps);
}

static const char *s_host(const Floodgate__HostWindow *h)
{
    if (!h)
        return "empty host";
    unsigned bad = !s_rates_ok(h->largest) << FG_CLASSES;
    for (int c = 0; c < FG_CLASSES; c++)
        bad |= (unsigned)!s_rates_ok(fg_class_rates(h, c)) << c;
    const char *why = wb_host_why((int)h->dir, h->hostgroup, bad, h->n_top);
    for (size_t i = 0; i < h->n_top && !why; i++)
        why = h->top[i] ? wb_contrib_why((int)h->top[i]->kind, h->top[i]->share)
                        : "empty contributor";
    return why;
}

static const char *s_group(const Floodgate__GroupTotal *g)
{
    if (!g)
        return "empty group";
    const char *why = wb_group_why((int)g->dir, g->hostgroup);
    return why ? why : s_rates_ok(g->total) ? NULL : "group rate";
}

int wb_validate(const Floodgate__WindowBatch *wb, const char **why)
{
    const char *w = NULL;
    if (wb->shards == 0 || wb->shards > FG_MAX_SHARDS || wb->shard >= wb->shards)
        w = "shard";
    else if (wb->window_ms == 0 || wb->window_ms > WB_MAX_WINDOW_MS)
        w = "window_ms";
    else if (wb->n_hosts > WB_MAX_HOSTS)
        w = "too many hosts";
    else if (wb->n_groups > WB_MAX_GROUPS)
        w = "too many groups";
    for (size_t i = 0; !w && i < wb->n_hosts; i++)
        w = s_host(wb->hosts[i]);
    for (size_t i = 0; !w && i < wb->n_groups; i++)
        w = s_group(wb->groups[i]);
    if (w)
        *why = w;
    return w ? -1 : 0;
}

int wb_pack(const Floodgate__WindowBatch *wb, fg_buf_t *out, const char **why)
{
    if (wb_validate(wb, why) < 0)
        return -1;
    size_t need = floodgate__window_batch__get_packed_size(wb);
    fg_buf_reset(out);
    if (need > WB_MAX_BYTES || fg_buf_reserve(out, need) < 0) {
        *why = need > WB_MAX_BYTES ? "too large" : "out of memory";
        return -1;
    }
    out->len = floodgate__window_batch__pack(wb, (uint8_t *)out->data);
    out->data[out->len] = '\0';
    return 0;
}

/* wb_unpack with protobuf-c's allocator alloc (NULL: malloc). */
static Floodgate__WindowBatch *s_unpack(ProtobufCAllocator *alloc, const uint8_t *buf, size_t len,
                                        const char **why)
{
    if (len > WB_MAX_BYTES) {
        *why = "too large";
        return NULL;
    }
    Floodgate__WindowBatch *wb = pb_wellformed(&floodgate__window_batch__descriptor, buf, len) < 0
                                     ? NULL
                                     : floodgate__window_batch__unpack(alloc, len, buf);
    if (!wb) {
        *why = "not a WindowBatch";
        return NULL;
    }
    if (wb_validate(wb, why) < 0) {
        if (!alloc)
            wb_free(&wb);
        return NULL;
    }
    return wb;
}

Floodgate__WindowBatch *wb_unpack(const uint8_t *buf, size_t len, const char **why)
{
    return s_unpack(NULL, buf, len, why);
}

Floodgate__WindowBatch *wb_unpack_in(fg_pbarena_t *arena, const uint8_t *buf, size_t len,
                                     const char **why)
{
    return s_unpack(fg_pbarena_allocator(arena), buf, len, why);
}

void wb_free(Floodgate__WindowBatch **wb)
{
    if (wb && *wb) {
        floodgate__window_batch__free_unpacked(*wb, NULL);
        *wb = NULL;
    }
}
