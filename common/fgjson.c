#include "common/fgjson.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FGJSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
#define FGJSON_INT_MAX 1e15

json_t *fgjson_num(double v)
{
    if (!isfinite(v))
        v = 0;
    if (v == floor(v) && fabs(v) < FGJSON_INT_MAX)
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* Length of the UTF-8 sequence at p (1..4) or 0 when it is not one. */
/* The length of the UTF-8 sequence at p, 0 when it is not one jansson
 * takes: no overlong form, no surrogate, nothing above U+10FFFF. */
static size_t s_utf8_len(const unsigned char *p)
{
    size_t n = *p < 0x80 ? 1 : *p >= 0xc2 && *p <= 0xdf ? 2 : (*p & 0xf0) == 0xe0 ? 3
                             : *p >= 0xf0 && *p <= 0xf4 ? 4 : 0;
    /* the second byte's range where the first byte narrows it */
    unsigned lo = *p == 0xe0 ? 0xa0 : *p == 0xf0 ? 0x90 : 0x80;
    unsigned hi = *p == 0xed ? 0x9f : *p == 0xf4 ? 0x8f : 0xbf;
    if (n > 1 && (p[1] < lo || p[1] > hi))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

json_t *fgjson_str(const char *s)
{
    json_t *v = json_string(s ? s : "");
    if (v || !s)
        return v;
    /* Not UTF-8 (or out of memory): keep what is readable. */
    size_t len = strlen(s);
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p) {
        size_t n = s_utf8_len(p);
        if (n == 0) {
            copy[o++] = '?';
            p++;
        } else {
            memcpy(copy + o, p, n);
            o += n;
            p += n;
        }
    }
    copy[o] = '\0';
    v = json_string(copy);
    free(copy);
    return v;
}

void fgjson_set_new(json_t *obj, const char *key, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        *ok = false;
}

void fgjson_append_new(json_t *arr, json_t *v, bool *ok)
{
    if (!v || json_array_append_new(arr, v) != 0)
        *ok = false;
}

void fgjson_set_str(json_t *obj, const char *key, const char *s, bool *ok)
{
    fgjson_set_new(obj, key, fgjson_str(s), ok);
}

void fgjson_set_num(json_t *obj, const char *key, double v, bool *ok)
{
    fgjson_set_new(obj, key, fgjson_num(v), ok);
}

void fgjson_set_fixed(json_t *obj, const char *key, double v, int decimals, bool *ok)
{
    static const double scale[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
    double m = scale[decimals < 0 ? 0 : decimals > 6 ? 6 : decimals];
    fgjson_set_num(obj, key, isfinite(v) ? round(v * m) / m : 0, ok);
}

void fgjson_set_uint(json_t *obj, const char *key, uint64_t v, bool *ok)
{
    fgjson_set_new(obj, key, v <= INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v),
                   ok);
}

void fgjson_set_bool(json_t *obj, const char *key, bool v, bool *ok)
{
    fgjson_set_new(obj, key, json_boolean(v), ok);
}

char *fgjson_dump(const json_t *v)
{
    return json_dumps(v, FGJSON_FLAGS | JSON_ENCODE_ANY);
}

int fgjson_print(const json_t *v, FILE *out)
{
    char *s = fgjson_dump(v);
    int rc = s && fputs(s, out) >= 0 && fputc('\n', out) != EOF ? 0 : -1;
    free(s);
    return rc;
}

json_t *fgjson_parse(const char *text, size_t max)
{
    if (!text)
        return NULL;
    size_t len = strnlen(text, max + 1);
    if (len > max)
        return NULL;
    return json_loadb(text, len, JSON_DECODE_ANY, NULL);
}

const char *fgjson_get_str(const json_t *v, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(v, key));
    return s ? s : def;
}

double fgjson_get_num(const json_t *v, const char *key, double def)
{
    const json_t *n = json_object_get(v, key);
    return json_is_number(n) ? json_number_value(n) : def;
}
