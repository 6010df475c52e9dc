#include "common/wbwrite.h"

#include <endian.h>
#include <string.h>

#include "common/window.h"

/* Protobuf wire format (protobuf.dev/programming-guides/encoding): a
 * field is a tag, (field number << 3) | wire type, then a varint, 8
 * little-endian bytes, or a varint length and that many bytes. Every
 * field number here is below 16: its tag is one byte. */
#define WW_VARINT 0
#define WW_I64 1
#define WW_LEN 2
#define WW_TAG(field, type) ((uint8_t)((field) << 3 | (type)))

/* The most bytes a nested message takes, tag and length included: a Rates
 * (three doubles), a Contributor (an enum, three 8-byte fields, two
 * varints), a GroupTotal; each holds less than 128 bytes, so its length is
 * one byte. A host's length takes two (it holds less than 16 384). */
#define WW_RATES_MAX (2 + 3 * 9)
#define WW_CONTRIB_MAX (2 + 2 + 3 * 9 + 11 + 6)
#define WW_GROUP_MAX (2 + 6 + 2 + WW_RATES_MAX + 6)
#define WW_HOST_HEAD (3 + 2 * 9 + 2 + 6) /* tag, length, address, dir, group */
#define WW_HOST_MAX(n_top)                                                                         \
    (WW_HOST_HEAD + (FG_CLASSES + 1) * WW_RATES_MAX + WW_CONTRIB_MAX * (n_top))
_Static_assert(WW_CONTRIB_MAX - 2 < 128 && WW_GROUP_MAX - 2 < 128, "one-byte lengths");
_Static_assert(WW_HOST_MAX(WB_MAX_TOP) - 3 < 16384, "a host's length fits two bytes");
_Static_assert(WW_HOST_MAX(WB_MAX_TOP) < 4096, "the room promised in wbwrite.h");

/* HostWindow field numbers of the classes' Rates, FG_CLS_* order
 * (proto/floodgate.proto: total = 5 .. other = 11). */
static const uint8_t s_class_field[FG_CLASSES] = {5, 6, 7, 8, 9, 10, 11};

static uint8_t *s_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* little-endian: one store on most machines (a byte loop is not merged) */
static uint8_t *s_fixed64(uint8_t *p, uint64_t v)
{
    uint64_t le = htole64(v);
    memcpy(p, &le, sizeof(le));
    return p + 8;
}

/* proto3 scalars: a zero is left out. */
static uint8_t *s_opt_varint(uint8_t *p, uint8_t tag, uint64_t v)
{
    if (v) {
        *p++ = tag;
        p = s_varint(p, v);
    }
    return p;
}

static uint8_t *s_opt_fixed64(uint8_t *p, uint8_t tag, uint64_t v)
{
    if (v) {
        *p++ = tag;
        p = s_fixed64(p, v);
    }
    return p;
}

/* A double equal to 0 is left out, -0.0 too (protobuf-c compares with
 * 0, it does not look at the bits). */
static uint8_t *s_opt_double(uint8_t *p, uint8_t tag, double d)
{
    if (d != 0) {
        uint64_t v;
        memcpy(&v, &d, sizeof(v));
        *p++ = tag;
        p = s_fixed64(p, v);
    }
    return p;
}

static uint8_t *s_rates(uint8_t *p, uint8_t tag, const ww_rates_t *r)
{
    if (!r)
        return p;
    *p++ = tag;
    uint8_t *len = p++;
    p = s_opt_double(p, WW_TAG(1, WW_I64), r->pps);
    p = s_opt_double(p, WW_TAG(2, WW_I64), r->bps);
    p = s_opt_double(p, WW_TAG(3, WW_I64), r->fps);
    *len = (uint8_t)(p - len - 1);
    return p;
}

static uint8_t *s_contrib(uint8_t *p, const ww_contrib_t *c)
{
    *p++ = WW_TAG(12, WW_LEN);
    uint8_t *len = p++;
    p = s_opt_varint(p, WW_TAG(1, WW_VARINT), (uint32_t)c->kind);
    p = s_opt_fixed64(p, WW_TAG(2, WW_I64), c->key_hi);
    p = s_opt_fixed64(p, WW_TAG(3, WW_I64), c->key_lo);
    p = s_opt_double(p, WW_TAG(4, WW_I64), c->share);
    p = s_opt_varint(p, WW_TAG(5, WW_VARINT), c->packets);
    p = s_opt_varint(p, WW_TAG(6, WW_VARINT), c->sampling);
    *len = (uint8_t)(p - len - 1);
    return p;
}

/* The limits of wb_validate (common/window.h), with its reasons. */
static bool s_rates_ok(const ww_rates_t *r)
{
    return !r || wb_rates_ok(r->pps, r->bps, r->fps);
}

static const char *s_host_why(const ww_host_t *h)
{
    unsigned bad = !s_rates_ok(h->largest) << FG_CLASSES;
    for (int c = 0; c < FG_CLASSES; c++)
        bad |= (unsigned)!s_rates_ok(h->rates[c]) << c;
    const char *why = wb_host_why(h->dir, h->hostgroup, bad, h->n_top);
    for (size_t i = 0; i < h->n_top && !why; i++)
        why = wb_contrib_why(h->top[i].kind, h->top[i].share);
    return why;
}

static const char *s_group_why(const ww_group_t *g)
{
    const char *why = wb_group_why(g->dir, g->hostgroup);
    return why ? why : s_rates_ok(g->total) ? NULL : "group rate";
}

/* Room for more bytes at the end of the message, or the refusal. */
static uint8_t *s_room(ww_t *w, size_t more)
{
    if (w->why)
        return NULL;
    if (fg_buf_reserve(w->out, more) < 0) {
        w->why = "out of memory";
        return NULL;
    }
    return (uint8_t *)w->out->data + w->out->len;
}

/* The message's length is now p - start more; refused when too large. */
static int s_grown(ww_t *w, const uint8_t *start, const uint8_t *p)
{
    w->out->len += (size_t)(p - start);
    if (w->out->len > WB_MAX_BYTES)
        w->why = "too large";
    return w->why ? -1 : 0;
}

int ww_begin(ww_t *w, fg_buf_t *out, const ww_header_t *h)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
    w->hosts_tracked = h->hosts_tracked;
    w->batches_lost = h->batches_lost;
    fg_buf_reset(out);
    if (h->shards == 0 || h->shards > FG_MAX_SHARDS || h->shard >= h->shards)
        w->why = "shard";
    else if (h->window_ms == 0 || h->window_ms > WB_MAX_WINDOW_MS)
        w->why = "window_ms";
    uint8_t *start = s_room(w, 4 * 11);
    if (!start)
        return -1;
    uint8_t *p = s_opt_varint(start, WW_TAG(1, WW_VARINT), h->shard);
    p = s_opt_varint(p, WW_TAG(2, WW_VARINT), h->shards);
    p = s_opt_varint(p, WW_TAG(3, WW_VARINT), h->seq);
    p = s_opt_varint(p, WW_TAG(4, WW_VARINT), h->window_end_ms);
    p = s_opt_varint(p, WW_TAG(5, WW_VARINT), h->window_ms);
    return s_grown(w, start, p);
}

/* The host's fields after its tag and length, from body on. */
static uint8_t *s_host_body(uint8_t *p, const ww_host_t *h)
{
    p = s_opt_fixed64(p, WW_TAG(1, WW_I64), h->addr_hi);
    p = s_opt_fixed64(p, WW_TAG(2, WW_I64), h->addr_lo);
    p = s_opt_varint(p, WW_TAG(3, WW_VARINT), (uint32_t)h->dir);
    p = s_opt_varint(p, WW_TAG(4, WW_VARINT), h->hostgroup);
    for (int c = 0; c < FG_CLASSES; c++)
        p = s_rates(p, WW_TAG(s_class_field[c], WW_LEN), h->rates[c]);
    for (size_t i = 0; i < h->n_top; i++)
        p = s_contrib(p, &h->top[i]);
    return s_rates(p, WW_TAG(13, WW_LEN), h->largest);
}

int ww_host(ww_t *w, const ww_host_t *h)
{
    if (!w->why && w->n_groups)
        w->why = "host after the groups";
    if (!w->why && w->n_hosts >= WB_MAX_HOSTS)
        w->why = "too many hosts";
    if (!w->why)
        w->why = s_host_why(h);
    uint8_t *start = s_room(w, WW_HOST_MAX(h->n_top));
    if (!start)
        return -1;
    /* the body goes after a two-byte length; one byte is enough for less
     * than 128, and the body moves back by one */
    uint8_t *body = start + 3;
    size_t n = (size_t)(s_host_body(body, h) - body);
    start[0] = WW_TAG(6, WW_LEN);
    uint8_t *p = s_varint(start + 1, n);
    if (p != body)
        memmove(p, body, n);
    w->n_hosts++;
    return s_grown(w, start, p + n);
}

int ww_group(ww_t *w, const ww_group_t *g)
{
    if (!w->why && w->n_groups >= WB_MAX_GROUPS)
        w->why = "too many groups";
    if (!w->why)
        w->why = s_group_why(g);
    uint8_t *start = s_room(w, WW_GROUP_MAX);
    if (!start)
        return -1;
    uint8_t *p = start;
    *p++ = WW_TAG(7, WW_LEN);
    uint8_t *len = p++;
    p = s_opt_varint(p, WW_TAG(1, WW_VARINT), g->hostgroup);
    p = s_opt_varint(p, WW_TAG(2, WW_VARINT), (uint32_t)g->dir);
    p = s_rates(p, WW_TAG(3, WW_LEN), g->total);
    p = s_opt_varint(p, WW_TAG(4, WW_VARINT), g->hosts);
    *len = (uint8_t)(p - len - 1);
    w->n_groups++;
    return s_grown(w, start, p);
}

int ww_finish(ww_t *w, const char **why)
{
    uint8_t *start = s_room(w, 2 * 11);
    if (start) {
        uint8_t *p = s_opt_varint(start, WW_TAG(8, WW_VARINT), w->hosts_tracked);
        p = s_opt_varint(p, WW_TAG(9, WW_VARINT), w->batches_lost);
        s_grown(w, start, p);
    }
    if (w->why) {
        *why = w->why;
        return -1;
    }
    w->out->data[w->out->len] = '\0';
    return 0;
}
