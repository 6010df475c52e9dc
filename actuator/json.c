#include "actuator/json.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 32

void json_init(json_buf_t *b)
{
    memset(b, 0, sizeof(*b));
}

void json_reset(json_buf_t *b)
{
    free(b->data);
    json_init(b);
}

static bool s_reserve(json_buf_t *b, size_t more)
{
    if (b->failed)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

static void s_append(json_buf_t *b, const char *s, size_t n)
{
    if (!s_reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void json_raw(json_buf_t *b, const char *s)
{
    s_append(b, s, strlen(s));
}

void json_sep(json_buf_t *b)
{
    if (b->len == 0 || b->failed)
        return;
    char last = b->data[b->len - 1];
    if (last != '{' && last != '[' && last != ':')
        s_append(b, ",", 1);
}

void json_str(json_buf_t *b, const char *s)
{
    s_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            s_append(b, esc, 2);
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", *p);
            s_append(b, esc, 6);
        } else {
            s_append(b, (const char *)p, 1);
        }
    }
    s_append(b, "\"", 1);
}

void json_num(json_buf_t *b, double v)
{
    char tmp[64];
    if (!isfinite(v))
        v = 0;
    snprintf(tmp, sizeof(tmp), "%.15g", v);
    json_raw(b, tmp);
}

void json_uint(json_buf_t *b, uint64_t v)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
    json_raw(b, tmp);
}

void json_key(json_buf_t *b, const char *key)
{
    json_sep(b);
    json_str(b, key);
    s_append(b, ":", 1);
}

void json_kv_str(json_buf_t *b, const char *key, const char *v)
{
    json_key(b, key);
    json_str(b, v);
}

void json_kv_num(json_buf_t *b, const char *key, double v)
{
    json_key(b, key);
    json_num(b, v);
}

void json_kv_uint(json_buf_t *b, const char *key, uint64_t v)
{
    json_key(b, key);
    json_uint(b, v);
}

char *json_take(json_buf_t *b)
{
    char *p = b->failed ? NULL : b->data;
    if (b->failed)
        free(b->data);
    else if (!p)
        p = strdup("");
    json_init(b);
    return p;
}

/* ---- validation: recursive descent, each returns the end or NULL ---- */

static const char *s_value(const char *p, int depth);

static const char *s_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *s_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    for (; *p && *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p != '\\')
            continue;
        p++;
        if (*p == 'u') {
            for (int i = 1; i <= 4; i++)
                if (!isxdigit((unsigned char)p[i]))
                    return NULL;
            p += 4;
        } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
            return NULL;
        }
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *s_number(const char *p)
{
    const char *start = p;
    if (*p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return NULL;
    if (*p == '0')
        p++;
    else
        while (isdigit((unsigned char)*p))
            p++;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return p > start ? p : NULL;
}

/* Members of an object (is_object) or items of an array, after the opener. */
static const char *s_container(const char *p, bool is_object, int depth)
{
    char close = is_object ? '}' : ']';
    p = s_ws(p);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (is_object) {
            if (!(p = s_string(p)))
                return NULL;
            p = s_ws(p);
            if (*p++ != ':')
                return NULL;
        }
        if (!(p = s_value(p, depth + 1)))
            return NULL;
        p = s_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
        p = s_ws(p);
    }
}

static const char *s_value(const char *p, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return NULL;
    p = s_ws(p);
    switch (*p) {
    case '{':
        return s_container(p + 1, true, depth);
    case '[':
        return s_container(p + 1, false, depth);
    case '"':
        return s_string(p);
    case 't':
        return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f':
        return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n':
        return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default:
        return s_number(p);
    }
}

bool json_valid(const char *s)
{
    if (!s)
        return false;
    const char *end = s_value(s, 0);
    return end && *s_ws(end) == '\0';
}
