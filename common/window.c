#include "common/window.h"

#include <math.h>

#include "common/classes.h"
#include "common/pbcheck.h"

static bool s_num_ok(double v)
{
    return isfinite(v) && v >= 0;
}

/* Rates may be absent (a class without traffic); present, they are numbers. */
static bool s_rates_ok(const Floodgate__Rates *r)
{
    return !r || (s_num_ok(r->pps) && s_num_ok(r->bps) && s_num_ok(r->fps));
}

static bool s_dir_ok(Floodgate__Direction d)
{
    return d == FLOODGATE__DIRECTION__DIR_IN || d == FLOODGATE__DIRECTION__DIR_OUT;
}

static const char *s_contributor(const Floodgate__Contributor *c)
{
    if (!c)
        return "empty contributor";
    if (c->kind < FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR ||
        c->kind > FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER)
        return "contributor kind";
    return s_num_ok(c->share) ? NULL : "contributor share";
}

static const char *s_host(const Floodgate__HostWindow *h)
{
    if (!h)
        return "empty host";
    if (!s_dir_ok(h->dir))
        return "host direction";
    if (h->hostgroup >= FG_MAX_GROUPS)
        return "host hostgroup";
    for (int c = 0; c < FG_CLASSES; c++)
        if (!s_rates_ok(fg_class_rates(h, c)))
            return "host rate";
    if (!s_rates_ok(h->largest))
        return "host largest rate";
    if (h->n_top > WB_MAX_TOP)
        return "too many contributors";
    for (size_t i = 0; i < h->n_top; i++) {
        const char *why = s_contributor(h->top[i]);
        if (why)
            return why;
    }
    return NULL;
}

static const char *s_group(const Floodgate__GroupTotal *g)
{
    if (!g)
        return "empty group";
    if (!s_dir_ok(g->dir) || g->hostgroup >= FG_MAX_GROUPS)
        return "group direction or hostgroup";
    return s_rates_ok(g->total) ? NULL : "group rate";
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

Floodgate__WindowBatch *wb_unpack(const uint8_t *buf, size_t len, const char **why)
{
    if (len > WB_MAX_BYTES) {
        *why = "too large";
        return NULL;
    }
    Floodgate__WindowBatch *wb =
        pb_wellformed(&floodgate__window_batch__descriptor, buf, len) < 0
            ? NULL
            : floodgate__window_batch__unpack(NULL, len, buf);
    if (!wb) {
        *why = "not a WindowBatch";
        return NULL;
    }
    if (wb_validate(wb, why) < 0)
        wb_free(&wb);
    return wb;
}

void wb_free(Floodgate__WindowBatch **wb)
{
    if (wb && *wb) {
        floodgate__window_batch__free_unpacked(*wb, NULL);
        *wb = NULL;
    }
}
