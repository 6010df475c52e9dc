#include "actuator/ban.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actuator/json.h"

static const char *s_field_names[BAN_NFIELDS] = {
    "ip",        "attack_type", "direction",  "metric",    "value",     "threshold",
    "hostgroup", "source",      "banned_at", "expires_at", "ban_count", "details"};

/* Copy a name-like string (attack type, metric, hostgroup, source), keeping
 * it printable and free of spaces and quotes so log lines and script
 * arguments stay one token each. Truncates to fit. */
static void s_copy_token(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < size; i++) {
        unsigned char c = (unsigned char)src[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  strchr("_.:-/+", c);
        dst[i] = ok ? (char)c : '_';
    }
    dst[i] = '\0';
}

char *ban_format_time(int64_t t, char buf[BAN_TIME_STRLEN])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0 ||
        strftime(buf, BAN_TIME_STRLEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        strcpy(buf, "1970-01-01T00:00:00Z");
    return buf;
}

int ban_parse_time(const char *s, int64_t *out)
{
    struct tm tm;
    int n = 0;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n == 0 || s[n] != '\0')
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

static const char *s_kind_name(int kind)
{
    switch (kind) {
    case FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR: return "src_addr";
    case FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT: return "src_port";
    case FLOODGATE__CONTRIB_KIND__CONTRIB_DST_PORT: return "dst_port";
    case FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO: return "proto";
    case FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER: return "exporter";
    default: return "unknown";
    }
}

static void s_json_contributor(json_buf_t *j, const Floodgate__Contributor *c)
{
    char key[FG_ADDR_STRLEN];
    if (c->kind == FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR ||
        c->kind == FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER) {
        fg_addr_t a = {c->key_hi, c->key_lo};
        fg_addr_format(&a, key);
    } else {
        snprintf(key, sizeof(key), "%llu", (unsigned long long)c->key_lo);
    }
    json_sep(j);
    json_raw(j, "{");
    json_kv_str(j, "kind", s_kind_name(c->kind));
    json_kv_str(j, "key", key);
    json_kv_num(j, "share", c->share);
    json_kv_uint(j, "packets", c->packets);
    if (c->kind == FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER)
        json_kv_uint(j, "sampling", c->sampling);
    json_raw(j, "}");
}

/* "network":{"prefix","usual","prefix_bans"} of a carpet bombing ban: the
 * prefix that held the attack (checked: a prefix, else left out), the
 * host's usual rate, the bans of that prefix so far. */
static void s_json_network(json_buf_t *j, const Floodgate__Decision *d)
{
    fg_prefix_t p;
    const char *why;
    char text[FG_ADDR_STRLEN + 4];
    if (strlen(d->attack_prefix) >= sizeof(text) || fg_prefix_parse(d->attack_prefix, &p, &why))
        return;
    json_key(j, "network");
    json_raw(j, "{");
    json_kv_str(j, "prefix", fg_prefix_format(&p, text));
    json_kv_num(j, "usual", isfinite(d->baseline) ? d->baseline : 0);
    json_kv_uint(j, "prefix_bans", d->prefix_bans);
    json_raw(j, "}");
}

/* details: {"total":{"pps","bps","fps"},"top":[...],"network":{...} (carpet
 * bombing only),"first_seen","decided"} */
static char *s_details(const Floodgate__Decision *d)
{
    json_buf_t j;
    char t[BAN_TIME_STRLEN];
    json_init(&j);
    json_raw(&j, "{");
    json_key(&j, "total");
    json_raw(&j, "{");
    json_kv_num(&j, "pps", d->total ? d->total->pps : 0);
    json_kv_num(&j, "bps", d->total ? d->total->bps : 0);
    json_kv_num(&j, "fps", d->total ? d->total->fps : 0);
    json_raw(&j, "}");
    json_key(&j, "top");
    json_raw(&j, "[");
    for (size_t i = 0; i < d->n_top && i < BAN_MAX_TOP; i++)
        if (d->top[i])
            s_json_contributor(&j, d->top[i]);
    json_raw(&j, "]");
    if (d->attack_prefix && d->attack_prefix[0])
        s_json_network(&j, d);
    json_kv_str(&j, "first_seen", ban_format_time((int64_t)(d->first_seen_ms / 1000), t));
    json_kv_str(&j, "decided", ban_format_time((int64_t)(d->decided_ms / 1000), t));
    json_raw(&j, "}");
    return json_take(&j);
}

int ban_from_decision(ban_t *b, const Floodgate__Decision *d)
{
    fg_addr_t a = {d->addr_hi, d->addr_lo};
    if (d->direction != FLOODGATE__DIRECTION__DIR_IN &&
        d->direction != FLOODGATE__DIRECTION__DIR_OUT)
        return -1;
    memset(b, 0, sizeof(*b));
    fg_addr_format(&a, b->ip);
    s_copy_token(b->attack_type, sizeof(b->attack_type), d->attack_type);
    strcpy(b->direction, d->direction == FLOODGATE__DIRECTION__DIR_OUT ? "outgoing" : "incoming");
    s_copy_token(b->metric, sizeof(b->metric), d->metric);
    b->value = isfinite(d->value) ? d->value : 0;
    b->threshold = isfinite(d->threshold) ? d->threshold : 0;
    s_copy_token(b->hostgroup, sizeof(b->hostgroup), d->hostgroup);
    strcpy(b->source, "detector");
    b->ban_time = d->ban_time;
    b->pps = d->total && isfinite(d->total->pps) ? d->total->pps
             : strcmp(b->metric, "pps") == 0    ? b->value
                                                : 0;
    b->details = s_details(d);
    if (!b->details) {
        ban_clear(b);
        return -1;
    }
    return 0;
}

void ban_set_times(ban_t *b, uint64_t now_ms)
{
    b->banned_at = (int64_t)(now_ms / 1000);
    b->expires_ms = now_ms + (uint64_t)b->ban_time * 1000;
    b->expires_at = b->banned_at + (int64_t)b->ban_time;
}

void ban_clear(ban_t *b)
{
    free(b->details);
    memset(b, 0, sizeof(*b));
}

int ban_copy(ban_t *dst, const ban_t *src)
{
    *dst = *src;
    dst->details = NULL;
    if (src->details && !(dst->details = strdup(src->details)))
        return -1;
    return 0;
}

void ban_fields(const ban_t *b, ban_fields_t *f)
{
    memcpy(f->name, s_field_names, sizeof(f->name));
    snprintf(f->num[0], sizeof(f->num[0]), "%.15g", b->value);
    snprintf(f->num[1], sizeof(f->num[1]), "%.15g", b->threshold);
    snprintf(f->num[2], sizeof(f->num[2]), "%u", b->ban_count);
    if (b->banned_at)
        ban_format_time(b->banned_at, f->times[0]);
    else
        f->times[0][0] = '\0';
    if (b->expires_at)
        ban_format_time(b->expires_at, f->times[1]);
    else
        f->times[1][0] = '\0';
    const char *v[BAN_NFIELDS] = {b->ip,        b->attack_type, b->direction, b->metric,
                                  f->num[0],    f->num[1],      b->hostgroup, b->source,
                                  f->times[0],  f->times[1],    f->num[2],
                                  b->details ? b->details : "{}"};
    memcpy(f->value, v, sizeof(f->value));
    snprintf(f->recent, sizeof(f->recent), "%u", b->recent_bans);
    f->repeat = b->repeat_offender ? "1" : "0";
}

/* A name-like field from Redis: refused when it does not fit (a forged key
 * must not smuggle a long string into logs and scripts). */
static int s_set_token(char *dst, size_t size, const char *value)
{
    if (strlen(value) >= size)
        return -1;
    s_copy_token(dst, size, value);
    return 0;
}

static int s_set_number(double *out, const char *value)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (*value == '\0' || *end != '\0' || errno || !isfinite(v) || v < 0)
        return -1;
    *out = v;
    return 0;
}

static int s_set_count(uint32_t *out, const char *value)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(value, &end, 10);
    if (*value < '0' || *value > '9' || *end != '\0' || errno || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int ban_set_field(ban_t *b, const char *name, const char *value)
{
    if (strcmp(name, "attack_type") == 0)
        return s_set_token(b->attack_type, sizeof(b->attack_type), value);
    else if (strcmp(name, "direction") == 0) {
        if (strcmp(value, "incoming") != 0 && strcmp(value, "outgoing") != 0)
            return -1;
        strcpy(b->direction, value);
    } else if (strcmp(name, "metric") == 0)
        return s_set_token(b->metric, sizeof(b->metric), value);
    else if (strcmp(name, "value") == 0)
        return s_set_number(&b->value, value);
    else if (strcmp(name, "threshold") == 0)
        return s_set_number(&b->threshold, value);
    else if (strcmp(name, "hostgroup") == 0)
        return s_set_token(b->hostgroup, sizeof(b->hostgroup), value);
    else if (strcmp(name, "source") == 0) {
        if (strcmp(value, "detector") && strcmp(value, "manual") && strcmp(value, "manual_force"))
            return -1;
        strcpy(b->source, value);
    }
    else if (strcmp(name, "banned_at") == 0)
        return ban_parse_time(value, &b->banned_at);
    else if (strcmp(name, "ban_count") == 0)
        return s_set_count(&b->ban_count, value);
    else if (strcmp(name, "details") == 0) {
        char *p = strlen(value) <= BAN_DETAILS_MAX ? strdup(value) : NULL;
        if (!p)
            return -1;
        free(b->details);
        b->details = p;
    }
    return 0;
}

char *ban_json(const ban_t *b, const char *event, const char *reason, uint64_t now_ms)
{
    json_buf_t j;
    ban_fields_t f;
    char at[BAN_TIME_STRLEN];
    ban_fields(b, &f);
    json_init(&j);
    json_raw(&j, "{");
    json_kv_str(&j, "event", event);
    json_kv_str(&j, "at", ban_format_time((int64_t)(now_ms / 1000), at));
    if (reason)
        json_kv_str(&j, "reason", reason);
    for (int i = 0; i < BAN_NFIELDS - 1; i++) {
        if (i == 4 || i == 5)
            json_kv_num(&j, f.name[i], i == 4 ? b->value : b->threshold);
        else if (i == 10)
            json_kv_uint(&j, f.name[i], b->ban_count);
        else
            json_kv_str(&j, f.name[i], f.value[i]);
    }
    json_kv_uint(&j, "ban_time", b->ban_time);
    json_kv_uint(&j, "recent_bans", b->recent_bans);
    json_key(&j, "repeat_offender");
    json_raw(&j, b->repeat_offender ? "true" : "false");
    json_key(&j, "details");
    if (json_valid(f.value[11]))
        json_raw(&j, f.value[11]);
    else
        json_str(&j, f.value[11]);
    json_raw(&j, "}");
    return json_take(&j);
}

uint32_t ban_count_in_json(const char *line)
{
    const char *p = line ? strstr(line, "\"ban_count\":") : NULL;
    if (!p)
        return 0;
    p += strlen("\"ban_count\":");
    char *end;
    errno = 0;
    unsigned long v = strtoul(p, &end, 10);
    if (end == p || errno || v > UINT32_MAX)
        return 0;
    return (uint32_t)v;
}
