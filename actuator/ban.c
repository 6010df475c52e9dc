#include "actuator/ban.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actuator/flowspec.h"
#include "common/fgjson.h"

static const char *s_field_names[BAN_NFIELDS] = {
    "ip",        "attack_type", "direction",  "metric",    "value",     "threshold",
    "hostgroup", "source",      "banned_at", "expires_at", "ban_count", "details",
    "mitigation", "flowspec"};

bool ban_is_flowspec(const ban_t *b)
{
    return b->flowspec && strcmp(b->mitigation, "flowspec") == 0;
}

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
    /* not strftime: its %Y does not pad a year below 1000 to 4 digits */
    if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
        strcpy(buf, "1970-01-01T00:00:00Z");
    else
        snprintf(buf, BAN_TIME_STRLEN, "%04u-%02u-%02uT%02u:%02u:%02uZ", /* % keeps gcc sure */
                 (unsigned)(tm.tm_year + 1900) % 10000, (unsigned)(tm.tm_mon + 1) % 13,
                 (unsigned)tm.tm_mday % 32, (unsigned)tm.tm_hour % 24, (unsigned)tm.tm_min % 60,
                 (unsigned)tm.tm_sec % 61);
    return buf;
}

int ban_parse_time(const char *s, int64_t *out)
{
    struct tm tm;
    int n = 0;
    memset(&tm, 0, sizeof(tm));
    /* exactly that form: sscanf alone takes a sign or spaces ("-026-...",
     * a time before year 0 that ban_format_time cannot write back) */
    static const char form[] = "dddd-dd-ddTdd:dd:ddZ";
    for (size_t i = 0; i < sizeof(form) - 1; i++)
        if (form[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != form[i])
            return -1;
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

static json_t *s_json_contributor(const Floodgate__Contributor *c)
{
    char key[FG_ADDR_STRLEN];
    bool ok = true;
    if (c->kind == FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR ||
        c->kind == FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER) {
        fg_addr_t a = {c->key_hi, c->key_lo};
        fg_addr_format(&a, key);
    } else {
        snprintf(key, sizeof(key), "%llu", (unsigned long long)c->key_lo);
    }
    json_t *o = json_object();
    if (!o)
        return NULL;
    fgjson_set_str(o, "kind", s_kind_name(c->kind), &ok);
    fgjson_set_str(o, "key", key, &ok);
    fgjson_set_num(o, "share", c->share, &ok);
    fgjson_set_uint(o, "packets", c->packets, &ok);
    if (c->kind == FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER)
        fgjson_set_uint(o, "sampling", c->sampling, &ok);
    if (!ok)
        json_decref(o);
    return ok ? o : NULL;
}

/* "network":{"prefix","usual","prefix_bans"} of a carpet bombing ban: the
 * prefix that held the attack (checked: a prefix, else left out), the
 * host's usual rate, the bans of that prefix so far. */
static void s_json_network(json_t *details, const Floodgate__Decision *d, bool *ok)
{
    fg_prefix_t p;
    const char *why;
    char text[FG_ADDR_STRLEN + 4];
    if (strlen(d->attack_prefix) >= sizeof(text) || fg_prefix_parse(d->attack_prefix, &p, &why))
        return;
    json_t *n = json_object();
    fgjson_set_new(details, "network", n, ok);
    if (!n)
        return;
    fgjson_set_str(n, "prefix", fg_prefix_format(&p, text), ok);
    fgjson_set_num(n, "usual", d->baseline, ok);
    fgjson_set_uint(n, "prefix_bans", d->prefix_bans, ok);
}

static void s_json_total(json_t *details, const Floodgate__Decision *d, bool *ok)
{
    json_t *t = json_object();
    fgjson_set_new(details, "total", t, ok);
    if (!t)
        return;
    fgjson_set_num(t, "pps", d->total ? d->total->pps : 0, ok);
    fgjson_set_num(t, "bps", d->total ? d->total->bps : 0, ok);
    fgjson_set_num(t, "fps", d->total ? d->total->fps : 0, ok);
}

/* details: {"total":{"pps","bps","fps"},"top":[...],"network":{...} (carpet
 * bombing only),"first_seen","decided"} */
static char *s_details(const Floodgate__Decision *d)
{
    char t[BAN_TIME_STRLEN];
    bool ok = true;
    json_t *j = json_object(), *top = json_array();
    if (!j || !top) {
        json_decref(j);
        json_decref(top);
        return NULL;
    }
    s_json_total(j, d, &ok);
    fgjson_set_new(j, "top", top, &ok);
    for (size_t i = 0; i < d->n_top && i < BAN_MAX_TOP; i++)
        if (d->top[i])
            fgjson_append_new(top, s_json_contributor(d->top[i]), &ok);
    if (d->attack_prefix && d->attack_prefix[0])
        s_json_network(j, d, &ok);
    fgjson_set_str(j, "first_seen", ban_format_time((int64_t)(d->first_seen_ms / 1000), t), &ok);
    fgjson_set_str(j, "decided", ban_format_time((int64_t)(d->decided_ms / 1000), t), &ok);
    char *text = ok ? fgjson_dump(j) : NULL;
    json_decref(j);
    return text;
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
    free(b->flowspec);
    memset(b, 0, sizeof(*b));
}

int ban_copy(ban_t *dst, const ban_t *src)
{
    *dst = *src;
    dst->details = dst->flowspec = NULL;
    if ((src->details && !(dst->details = strdup(src->details))) ||
        (src->flowspec && !(dst->flowspec = strdup(src->flowspec)))) {
        free(dst->details);
        dst->details = NULL;
        return -1;
    }
    return 0;
}

/* A number as the hash keeps it: 15 digits, or 17 when 15 round it past
 * the largest double (it would read back as infinite, and be refused). */
static void s_number_text(char *buf, size_t len, double v)
{
    snprintf(buf, len, "%.15g", v);
    if (!isfinite(strtod(buf, NULL)))
        snprintf(buf, len, "%.17g", v);
}

void ban_fields(const ban_t *b, ban_fields_t *f)
{
    s_number_text(f->value_text, sizeof(f->value_text), b->value);
    s_number_text(f->threshold_text, sizeof(f->threshold_text), b->threshold);
    snprintf(f->ban_count_text, sizeof(f->ban_count_text), "%u", b->ban_count);
    f->banned_at[0] = f->expires_at[0] = '\0';
    if (b->banned_at)
        ban_format_time(b->banned_at, f->banned_at);
    if (b->expires_at)
        ban_format_time(b->expires_at, f->expires_at);
    const char *v[BAN_NFIELDS] = {b->ip,           b->attack_type,     b->direction,
                                  b->metric,       f->value_text,      f->threshold_text,
                                  b->hostgroup,    b->source,          f->banned_at,
                                  f->expires_at,   f->ban_count_text,  b->details ? b->details : "{}",
                                  b->mitigation[0] ? b->mitigation : "blackhole",
                                  b->flowspec ? b->flowspec : ""};
    f->n = b->flowspec ? BAN_NFIELDS : BAN_NFIELDS - 2;
    memcpy(f->name, s_field_names, sizeof(f->name));
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
    /* ERANGE for a tiny number is an underflow to a subnormal (or 0): a
     * number all the same, as ban_fields writes one */
    bool under = errno == ERANGE && isfinite(v) && fabs(v) <= 1.0;
    if (*value == '\0' || *end != '\0' || (errno && !under) || !isfinite(v) || v < 0)
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

/* The rules of a ban read back: kept only when they parse as a rule set
 * ("" clears them). */
static int s_set_flowspec(ban_t *b, const char *value)
{
    fs_set_t set;
    fs_action_t act;
    double rate;
    char rt[32];
    char *p = NULL;
    fg_addr_t ip;
    if (value[0] && fs_set_parse(value, &set, &act, &rate, rt, sizeof(rt)) < 0)
        return -1;
    /* every rule is for the ban's own address: a hand-written hash must not
     * aim rules at another host */
    for (int i = 0; value[0] && i < set.n; i++)
        if (fg_addr_parse(b->ip, &ip) < 0 || !fg_addr_eq(&ip, &set.rule[i].dst.addr))
            return -1;
    if (value[0] && !(p = strdup(value)))
        return -1;
    free(b->flowspec);
    b->flowspec = p;
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
    else if (strcmp(name, "mitigation") == 0) {
        if (strcmp(value, "blackhole") && strcmp(value, "flowspec"))
            return -1;
        strcpy(b->mitigation, value);
    } else if (strcmp(name, "flowspec") == 0)
        return s_set_flowspec(b, value);
    else if (strcmp(name, "details") == 0) {
        char *p = strlen(value) <= BAN_DETAILS_MAX ? strdup(value) : NULL;
        if (!p)
            return -1;
        free(b->details);
        b->details = p;
    }
    return 0;
}

/* details as an object when it is JSON, as a string otherwise. */
static json_t *s_details_value(const char *details)
{
    json_t *v = fgjson_parse(details ? details : "{}", BAN_DETAILS_MAX);
    return v ? v : fgjson_str(details);
}

/* The hash fields of b by name, in schema order (as ban_fields lists them). */
static void s_json_fields(json_t *j, const ban_t *b, bool *ok)
{
    char banned[BAN_TIME_STRLEN] = "", expires[BAN_TIME_STRLEN] = "";
    if (b->banned_at)
        ban_format_time(b->banned_at, banned);
    if (b->expires_at)
        ban_format_time(b->expires_at, expires);
    fgjson_set_str(j, "ip", b->ip, ok);
    fgjson_set_str(j, "attack_type", b->attack_type, ok);
    fgjson_set_str(j, "direction", b->direction, ok);
    fgjson_set_str(j, "metric", b->metric, ok);
    fgjson_set_num(j, "value", b->value, ok);
    fgjson_set_num(j, "threshold", b->threshold, ok);
    fgjson_set_str(j, "hostgroup", b->hostgroup, ok);
    fgjson_set_str(j, "source", b->source, ok);
    fgjson_set_str(j, "banned_at", banned, ok);
    fgjson_set_str(j, "expires_at", expires, ok);
    fgjson_set_uint(j, "ban_count", b->ban_count, ok);
    if (b->flowspec) {
        json_t *fs = fgjson_parse(b->flowspec, BAN_DETAILS_MAX);
        fgjson_set_str(j, "mitigation", b->mitigation[0] ? b->mitigation : "blackhole", ok);
        if (fs)
            fgjson_set_new(j, "flowspec", fs, ok);
    }
}

char *ban_json(const ban_t *b, const char *event, const char *reason, uint64_t now_ms)
{
    char at[BAN_TIME_STRLEN];
    bool ok = true;
    json_t *j = json_object();
    if (!j)
        return NULL;
    fgjson_set_str(j, "event", event, &ok);
    fgjson_set_str(j, "at", ban_format_time((int64_t)(now_ms / 1000), at), &ok);
    if (reason)
        fgjson_set_str(j, "reason", reason, &ok);
    s_json_fields(j, b, &ok);
    fgjson_set_uint(j, "ban_time", b->ban_time, &ok);
    fgjson_set_uint(j, "recent_bans", b->recent_bans, &ok);
    fgjson_set_bool(j, "repeat_offender", b->repeat_offender, &ok);
    fgjson_set_new(j, "details", s_details_value(b->details), &ok);
    char *line = ok ? fgjson_dump(j) : NULL;
    json_decref(j);
    return line;
}

double ban_details_pps(const char *details)
{
    json_t *j = fgjson_parse(details, BAN_DETAILS_MAX);
    double pps = fgjson_get_num(json_object_get(j, "total"), "pps", -1);
    json_decref(j);
    return isfinite(pps) && pps >= 0 ? pps : -1;
}

/* A count as an integer, or as a string of digits (a hand-written line). */
static uint32_t s_json_count(const json_t *c)
{
    const char *s = json_string_value(c);
    if (s) {
        uint32_t v = 0;
        return s_set_count(&v, s) == 0 ? v : 0;
    }
    json_int_t v = json_integer_value(c);
    return json_is_integer(c) && v >= 0 && v <= UINT32_MAX ? (uint32_t)v : 0;
}

int ban_hist_parse(const char *line, ban_hist_t *out)
{
    memset(out, 0, sizeof(*out));
    json_t *j = fgjson_parse(line, BAN_LINE_MAX);
    if (!json_is_object(j)) {
        json_decref(j);
        return -1;
    }
    const char *ev = fgjson_get_str(j, "event", "");
    if (strlen(ev) < sizeof(out->event))
        strcpy(out->event, ev);
    if (ban_parse_time(fgjson_get_str(j, "at", ""), &out->at) < 0)
        out->at = 0;
    out->ban_count = s_json_count(json_object_get(j, "ban_count"));
    json_decref(j);
    return 0;
}

/* One member of a history line as the text ban_set_field reads. */
static char *s_member_text(const json_t *v, char *num, size_t len)
{
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(num, len, "%lld", (long long)json_integer_value(v));
        return strdup(num);
    }
    if (json_is_real(v)) {
        snprintf(num, len, "%.17g", json_real_value(v));
        return strdup(num);
    }
    return json_is_object(v) || json_is_array(v) ? fgjson_dump(v) : NULL;
}

int ban_from_json(ban_t *b, const char *ip, const char *line)
{
    memset(b, 0, sizeof(*b));
    json_t *j = fgjson_parse(line, BAN_LINE_MAX);
    if (!json_is_object(j)) {
        json_decref(j);
        return -1;
    }
    snprintf(b->ip, sizeof(b->ip), "%s", ip);
    strcpy(b->direction, "incoming");
    strcpy(b->source, "detector");
    const char *key;
    json_t *v;
    char num[64];
    json_object_foreach(j, key, v) {
        char *text = s_member_text(v, num, sizeof(num));
        if (text)
            ban_set_field(b, key, text); /* unknown names (event, at, ip) are ignored */
        free(text);
    }
    if (ban_parse_time(fgjson_get_str(j, "expires_at", ""), &b->expires_at) < 0)
        b->expires_at = 0;
    json_decref(j);
    if (b->expires_at > 0) {
        b->expires_ms = (uint64_t)b->expires_at * 1000;
        if (b->banned_at > 0 && b->expires_at > b->banned_at)
            b->ban_time = (uint32_t)(b->expires_at - b->banned_at);
    }
    if (strcmp(b->metric, "pps") == 0)
        b->pps = b->value;
    return 0;
}
