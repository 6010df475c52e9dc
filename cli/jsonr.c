/* jsonr: recursive descent over RFC 8259 JSON, into malloc'd nodes. */
#include "cli/jsonr.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p;
    int depth;
} jr_in_t;

static jr_t *s_value(jr_in_t *in);

static void s_ws(jr_in_t *in)
{
    while (*in->p == ' ' || *in->p == '\t' || *in->p == '\n' || *in->p == '\r')
        in->p++;
}

static int s_hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i];
        if (!isxdigit(c))
            return -1;
        v = v * 16 + (unsigned)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
    }
    *out = v;
    return 0;
}

/* A string starting at the opening quote; returns it unescaped (UTF-8). */
static char *s_string(jr_in_t *in)
{
    const char *p = in->p + 1;
    size_t cap = 16, n = 0;
    char *out = malloc(cap);
    while (out && *p && *p != '"') {
        if (n + 8 >= cap) {
            char *o = realloc(out, cap *= 2);
            if (!o)
                break;
            out = o;
        }
        unsigned char c = (unsigned char)*p++;
        if (c < 0x20)
            goto fail;
        if (c != '\\') {
            out[n++] = (char)c;
            continue;
        }
        char e = *p++;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            out[n++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            continue;
        }
        unsigned u;
        if (e != 'u' || s_hex4(p, &u) != 0)
            goto fail;
        p += 4;
        if (u < 0x80) {
            out[n++] = (char)u;
        } else if (u < 0x800) {
            out[n++] = (char)(0xc0 | u >> 6);
            out[n++] = (char)(0x80 | (u & 0x3f));
        } else { /* surrogates are kept as their own code units */
            out[n++] = (char)(0xe0 | u >> 12);
            out[n++] = (char)(0x80 | ((u >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (u & 0x3f));
        }
    }
    if (!out || *p != '"')
        goto fail;
    out[n] = '\0';
    in->p = p + 1;
    return out;
fail:
    free(out);
    return NULL;
}

static int s_push(jr_t *v, jr_t *item)
{
    jr_t **it = realloc(v->items, (v->n + 1) * sizeof(*it));
    if (!it)
        return -1;
    v->items = it;
    v->items[v->n++] = item;
    return 0;
}

/* Array or object; in->p is at '[' or '{'. */
static jr_t *s_container(jr_in_t *in, jr_t *v)
{
    bool obj = *in->p == '{';
    char close = obj ? '}' : ']';
    v->type = obj ? JR_OBJ : JR_ARR;
    if (++in->depth > JSONR_MAX_DEPTH)
        goto fail;
    in->p++;
    s_ws(in);
    if (*in->p == close) {
        in->p++;
        in->depth--;
        return v;
    }
    for (;;) {
        char *key = NULL;
        s_ws(in);
        if (obj) {
            if (*in->p != '"' || !(key = s_string(in)))
                goto fail;
            s_ws(in);
            if (*in->p++ != ':') {
                free(key);
                goto fail;
            }
        }
        jr_t *item = s_value(in);
        if (!item || s_push(v, item) != 0) {
            free(key);
            jr_free(item);
            goto fail;
        }
        item->key = key;
        s_ws(in);
        if (*in->p == ',') {
            in->p++;
            continue;
        }
        if (*in->p++ != close)
            goto fail;
        in->depth--;
        return v;
    }
fail:
    jr_free(v);
    return NULL;
}

static jr_t *s_value(jr_in_t *in)
{
    s_ws(in);
    jr_t *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    const char *p = in->p;
    if (*p == '{' || *p == '[')
        return s_container(in, v);
    if (*p == '"') {
        v->type = JR_STR;
        if ((v->str = s_string(in)))
            return v;
    } else if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
        v->type = JR_BOOL;
        v->num = *p == 't';
        in->p += *p == 't' ? 4 : 5;
        return v;
    } else if (!strncmp(p, "null", 4)) {
        in->p += 4;
        return v;
    } else if (*p == '-' || isdigit((unsigned char)*p)) {
        char *end;
        v->type = JR_NUM;
        v->num = strtod(p, &end);
        if (end != p) {
            in->p = end;
            return v;
        }
    }
    free(v);
    return NULL;
}

jr_t *jr_parse(const char *text)
{
    jr_in_t in = {text ? text : "", 0};
    jr_t *v = s_value(&in);
    s_ws(&in);
    if (v && *in.p != '\0') {
        jr_free(v);
        return NULL;
    }
    return v;
}

void jr_free(jr_t *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++)
        jr_free(v->items[i]);
    free(v->items);
    free(v->str);
    free(v->key);
    free(v);
}

const jr_t *jr_get(const jr_t *v, const char *key)
{
    for (size_t i = 0; v && v->type == JR_OBJ && i < v->n; i++)
        if (v->items[i]->key && !strcmp(v->items[i]->key, key))
            return v->items[i];
    return NULL;
}

const char *jr_str(const jr_t *v, const char *key, const char *def)
{
    const jr_t *m = jr_get(v, key);
    return m && m->type == JR_STR ? m->str : def;
}

double jr_num(const jr_t *v, const char *key, double def)
{
    const jr_t *m = jr_get(v, key);
    return m && m->type == JR_NUM ? m->num : def;
}
