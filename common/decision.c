#include "common/decision.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "common/pbcheck.h"

static bool s_num_ok(double v)
{
    return isfinite(v) && v >= 0;
}

/* A string fits size bytes with its NUL (NULL counts as empty). */
static bool s_str_ok(const char *s, size_t size)
{
    return !s || strnlen(s, size) < size;
}

static const char *s_numbers(const Floodgate__Decision *d)
{
    /* baseline is informational: the ban writes 0 for one that is not finite */
    if (!s_num_ok(d->value) || !s_num_ok(d->threshold))
        return "value or threshold";
    const Floodgate__Rates *r[] = {d->total, d->tcp_syn, d->frag};
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
        if (r[i] && (!s_num_ok(r[i]->pps) || !s_num_ok(r[i]->bps) || !s_num_ok(r[i]->fps)))
            return "rates";
    if (d->n_top > DEC_MAX_TOP)
        return "too many contributors";
    for (size_t i = 0; i < d->n_top; i++)
        if (d->top[i] && (!s_num_ok(d->top[i]->share) ||
                          d->top[i]->kind < FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR ||
                          d->top[i]->kind > FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER))
            return "contributor";
    return NULL;
}

static bool s_share_ok(double v)
{
    return isfinite(v) && v >= 0 && v <= 1;
}

/* The normal profile's limits (proto Profile): NULL when within them. */
static const char *s_profile(const Floodgate__Profile *p)
{
    if (!p)
        return NULL;
    if (!s_num_ok(p->pps))
        return "profile rate";
    if (p->n_class_share > DEC_MAX_CLASS_SHARES || p->n_top > DEC_MAX_PROFILE_TOP)
        return "profile too large";
    for (size_t i = 0; i < p->n_class_share; i++)
        if (!s_share_ok(p->class_share[i]))
            return "profile share";
    for (size_t i = 0; i < p->n_top; i++)
        if (!p->top[i] || !s_share_ok(p->top[i]->share) ||
            p->top[i]->kind < FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR ||
            p->top[i]->kind > FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO)
            return "profile item";
    return NULL;
}

int dec_validate(const Floodgate__Decision *d, const char **why)
{
    const char *w = s_numbers(d);
    if (!w)
        w = s_profile(d->normal);
    if (!w && (!s_str_ok(d->attack_type, DEC_ATTACK_TYPE_MAX) ||
               !s_str_ok(d->metric, DEC_METRIC_MAX) || !s_str_ok(d->hostgroup, DEC_HOSTGROUP_MAX)))
        w = "string too long";
    if (!w && d->direction != FLOODGATE__DIRECTION__DIR_IN &&
        d->direction != FLOODGATE__DIRECTION__DIR_OUT)
        w = "direction";
    if (w)
        *why = w;
    return w ? -1 : 0;
}

size_t dec_pack(const Floodgate__Decision *d, uint8_t *buf, size_t cap, const char **why)
{
    if (dec_validate(d, why) < 0)
        return 0;
    size_t len = floodgate__decision__get_packed_size(d);
    if (len > cap || len > DEC_MAX_BYTES) {
        *why = "too large";
        return 0;
    }
    return floodgate__decision__pack(d, buf);
}


/* Does varint v overflow the field number fn of a Decision? */
static bool s_overflows(uint32_t fn, uint64_t v)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&floodgate__decision__descriptor, (unsigned)fn);
    if (!f)
        return false;
    if (f->type == PROTOBUF_C_TYPE_UINT32)
        return v > UINT32_MAX;
    if (f->type == PROTOBUF_C_TYPE_ENUM)
        return v > INT32_MAX;
    return false;
}

/* pb_walk's callback of dec_wire_overflow. */
static int s_overflow_field(uint32_t fn, unsigned wt, uint64_t v, const uint8_t *val, void *ctx)
{
    (void)val;
    (void)ctx;
    return wt == 0 && s_overflows(fn, v) ? (int)fn : 0;
}

int dec_wire_overflow(const uint8_t *p, size_t size)
{
    return pb_walk(p, size, s_overflow_field, NULL);
}

Floodgate__Decision *dec_unpack(const uint8_t *buf, size_t len, int *overflow_field)
{
    *overflow_field = 0;
    if (len > DEC_MAX_BYTES)
        return NULL;
    /* protobuf-c takes some bytes that are not protobuf (pbcheck.h) */
    int f = dec_wire_overflow(buf, len);
    Floodgate__Decision *d = f < 0 || pb_wellformed(&floodgate__decision__descriptor, buf, len) < 0
                                 ? NULL
                                 : floodgate__decision__unpack(NULL, len, buf);
    if (!d)
        return NULL;
    *overflow_field = f;
    return d;
}

void dec_free(Floodgate__Decision **d)
{
    if (d && *d) {
        floodgate__decision__free_unpacked(*d, NULL);
        *d = NULL;
    }
}
