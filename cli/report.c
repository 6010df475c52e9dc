/* cli/report.c: `floodgate report IP`, the attack report of an address.
 *
 * Read from Redis: the history list (one JSON line per ban, renewal and
 * unban, newest first, written by the actuator) and the ban hash when a ban
 * is in force. Entries are walked oldest first: a "ban" opens a ban, an
 * "unban" closes the open one, any other event of an open ban (a renewal)
 * adds to its peaks. For each ban: when, how long, attack type, trigger,
 * peak rates, top sources / ports / protocols, exporters and their sampling
 * rates (from the details of its peak entry), and for a carpet bombing ban
 * the prefix that held the attack. Text for a ticket, or --json.
 * Exit code 0 with at least one ban, 1 when none is recorded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/addr.h"
#include "common/fgjson.h"
#include "common/fgredis.h"

#define REP_MAX_BANS 1000
#define REP_LINE_MAX (1u << 20) /* longest history line read */

typedef struct {
    const json_t *open;   /* the "ban" entry */
    const json_t *end;    /* the "unban" entry, or NULL */
    const json_t *last;   /* the latest entry before the unban (a renewal) */
    int renewals;
    const json_t *escalated; /* the "escalate" entry (rules -> blackhole), or NULL */
    const json_t *peak;   /* the entry with the highest total pps */
    const json_t *peak_d; /* its details */
    double pps, bps, fps, value;
    int entries;
} rep_ban_t;

typedef struct {
    json_t **lines; /* parsed history, oldest first */
    json_t **details; /* details parsed from a string, owned */
    size_t n;
    rep_ban_t bans[REP_MAX_BANS];
    int n_bans;
    long long ttl; /* of the ban key: -2 none */
} rep_t;

static int64_t s_time(const char *iso)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = iso ? strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    return end && !*end ? (int64_t)timegm(&tm) : 0;
}

/* The details object of an entry (embedded, or a JSON string). */
static const json_t *s_details(rep_t *r, size_t i)
{
    const json_t *d = json_object_get(r->lines[i], "details");
    if (json_is_string(d) && !r->details[i])
        r->details[i] = fgjson_parse(json_string_value(d), REP_LINE_MAX);
    return json_is_object(d) ? d : r->details[i];
}

static void s_account(rep_t *r, rep_ban_t *b, size_t i)
{
    const json_t *d = s_details(r, i);
    const json_t *tot = json_object_get(d, "total");
    double pps = fgjson_get_num(tot, "pps", 0);
    b->entries++;
    b->last = r->lines[i];
    if (!b->peak || pps > b->pps) {
        b->peak = r->lines[i];
        b->peak_d = d;
    }
    if (pps > b->pps)
        b->pps = pps;
    if (fgjson_get_num(tot, "bps", 0) > b->bps)
        b->bps = fgjson_get_num(tot, "bps", 0);
    if (fgjson_get_num(tot, "fps", 0) > b->fps)
        b->fps = fgjson_get_num(tot, "fps", 0);
    if (fgjson_get_num(r->lines[i], "value", 0) > b->value)
        b->value = fgjson_get_num(r->lines[i], "value", 0);
}

static void s_build(rep_t *r)
{
    rep_ban_t *cur = NULL;
    for (size_t i = 0; i < r->n; i++) {
        const char *ev = fgjson_get_str(r->lines[i], "event", "");
        if (!strcmp(ev, "ban") && r->n_bans < REP_MAX_BANS) {
            cur = &r->bans[r->n_bans++];
            memset(cur, 0, sizeof(*cur));
            cur->open = r->lines[i];
            s_account(r, cur, i);
        } else if (!strcmp(ev, "unban") && cur) {
            cur->end = r->lines[i];
            cur = NULL;
        } else if (cur) {
            cur->renewals += !strcmp(ev, "renew");
            if (!strcmp(ev, "escalate"))
                cur->escalated = r->lines[i];
            s_account(r, cur, i);
        }
    }
}

/* Load the history (newest first in Redis) oldest first. 0, or -1. */
static int s_load(rep_t *r, redisContext *c, const fg_config_t *cfg, const char *ip)
{
    char key[FG_NAME_MAX + FG_ADDR_STRLEN + 16];
    fg_redis_key(cfg, "history", ip, key, sizeof(key));
    redisReply *h = redisCommand(c, "LRANGE %s 0 -1", key);
    fg_redis_key(cfg, "ban", ip, key, sizeof(key));
    redisReply *t = redisCommand(c, "TTL %s", key);
    if (!h || h->type != REDIS_REPLY_ARRAY || !t || t->type != REDIS_REPLY_INTEGER) {
        fprintf(stderr, "floodgate: report: redis: %s\n",
                h && h->type == REDIS_REPLY_ERROR ? h->str : c->errstr);
        freeReplyObject(h);
        freeReplyObject(t);
        return -1;
    }
    r->ttl = t->integer;
    r->lines = calloc(h->elements + 1, sizeof(*r->lines));
    r->details = calloc(h->elements + 1, sizeof(*r->details));
    for (size_t i = 0; r->lines && r->details && i < h->elements; i++) {
        const redisReply *e = h->element[h->elements - 1 - i];
        json_t *v = e->type == REDIS_REPLY_STRING ? fgjson_parse(e->str, REP_LINE_MAX) : NULL;
        if (json_is_object(v))
            r->lines[r->n++] = v;
        else
            json_decref(v); /* a line we cannot read is skipped */
    }
    freeReplyObject(h);
    freeReplyObject(t);
    return r->lines && r->details ? 0 : -1;
}

static const char *s_proto_name(const char *num)
{
    static const struct {
        const char *n, *name;
    } t[] = {{"1", "icmp"}, {"6", "tcp"}, {"17", "udp"}, {"47", "gre"},
             {"50", "esp"}, {"58", "icmpv6"}, {"132", "sctp"}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(num, t[i].n))
            return t[i].name;
    return num;
}

/* One line of the contributors of one kind: "key (share%), ...". */
static void s_print_kind(const json_t *d, const char *kind, const char *label)
{
    const json_t *top = json_object_get(d, "top");
    int shown = 0;
    for (size_t i = 0; i < json_array_size(top); i++) {
        const json_t *c = json_array_get(top, i);
        if (strcmp(fgjson_get_str(c, "kind", ""), kind))
            continue;
        const char *key = fgjson_get_str(c, "key", "?");
        if (!strcmp(kind, "proto"))
            key = s_proto_name(key);
        printf("%s%s (%.1f%%", shown ? ", " : label, key, 100 * fgjson_get_num(c, "share", 0));
        if (!strcmp(kind, "exporter"))
            printf(", sampling 1:%.0f", fgjson_get_num(c, "sampling", 1));
        printf(")");
        shown++;
    }
    if (shown)
        printf("\n");
    else
        printf("%snone recorded\n", label);
}

/* How long ban b lasted (or has lasted so far), its end and why. */
static int64_t s_span(const rep_t *r, const rep_ban_t *b, bool last, char *end, size_t len)
{
    int64_t start = s_time(fgjson_get_str(b->open, "banned_at", NULL));
    if (b->end) {
        const char *at = fgjson_get_str(b->end, "at", "?");
        snprintf(end, len, "lifted %s (%s)", at, fgjson_get_str(b->end, "reason", "?"));
        return s_time(at) - start;
    }
    int64_t now = (int64_t)time(NULL);
    if (last && r->ttl >= 0)
        snprintf(end, len, "ACTIVE, lifts in %llds (%s)", r->ttl,
                 fgjson_get_str(b->last, "expires_at", "?"));
    else if (last && r->ttl == -1)
        snprintf(end, len, "ACTIVE, no expiry set");
    else
        snprintf(end, len, "end not recorded (expected %s)", fgjson_get_str(b->last, "expires_at", "?"));
    return now - start;
}

/* A carpet bombing ban (details.network): the prefix that held the attack,
 * and the host's usual rate against which it rose. */
static void s_print_network(const json_t *n, const char *metric)
{
    if (!json_is_object(n))
        return;
    const char *unit = strstr(metric, "mbps") ? "Mbit/s" : strstr(metric, "flows") ? "flows/s"
                                                                                  : "packets/s";
    printf("  Carpet bombing: prefix %s held the attack (%.0f of its hosts banned by then); "
           "this host's usual rate %.0f %s\n",
           fgjson_get_str(n, "prefix", "?"), fgjson_get_num(n, "prefix_bans", 0), fgjson_get_num(n, "usual", 0), unit);
}

/* "network" of the --json output: the carpet bombing prefix, or null. */
static json_t *s_json_network(const json_t *n)
{
    bool ok = true;
    if (!json_is_object(n))
        return json_null();
    json_t *o = json_object();
    if (!o)
        return NULL;
    fgjson_set_str(o, "prefix", fgjson_get_str(n, "prefix", ""), &ok);
    fgjson_set_num(o, "usual", fgjson_get_num(n, "usual", 0), &ok);
    fgjson_set_num(o, "prefix_bans", fgjson_get_num(n, "prefix_bans", 0), &ok);
    if (!ok)
        json_decref(o);
    return ok ? o : NULL;
}

/* How the ban blocked: the blackhole, or FlowSpec rules (and whether they
 * were replaced by the blackhole). */
static void s_print_block(const rep_ban_t *b)
{
    const json_t *fs = json_object_get(b->open, "flowspec"), *rule;
    size_t k;
    if (!fs) {
        printf("  Blocked by:    blackhole route\n");
        return;
    }
    const json_t *col = json_object_get(fs, "collateral");
    char colt[32];
    if (json_is_number(col))
        snprintf(colt, sizeof(colt), "%.1f %%", 100 * json_number_value(col));
    else
        snprintf(colt, sizeof(colt), "unknown");
    printf("  Blocked by:    FlowSpec, %s, %zu rule%s covering %.1f %% of the attack "
           "(lower bound), collateral %s\n",
           fgjson_get_str(fs, "action", "?"), json_array_size(json_object_get(fs, "rules")),
           json_array_size(json_object_get(fs, "rules")) == 1 ? "" : "s",
           100 * fgjson_get_num(fs, "coverage", 0), colt);
    json_array_foreach(json_object_get(fs, "rules"), k, rule)
        printf("    rule:        %s (%.1f %%)\n", fgjson_get_str(rule, "match", "?"),
               100 * fgjson_get_num(rule, "coverage", 0));
    if (b->escalated)
        printf("  Escalated:     %s: the attack went on, blackhole route instead of the rules\n",
               fgjson_get_str(b->escalated, "at", "?"));
}

static void s_print_ban(const rep_t *r, int i)
{
    const rep_ban_t *b = &r->bans[i];
    const json_t *o = b->open;
    char end[160], dur[32];
    int64_t secs = s_span(r, b, i == r->n_bans - 1, end, sizeof(end));
    cli_duration(secs < 0 ? 0 : (long long)secs, dur, sizeof(dur));
    const json_t *d = b->peak_d;
    printf("Ban %d of %d: %s, %s\n", i + 1, r->n_bans, fgjson_get_str(o, "attack_type", "?"),
           fgjson_get_str(o, "direction", "?"));
    printf("  When:          %s (attack first seen %s)\n", fgjson_get_str(o, "banned_at", "?"),
           fgjson_get_str(json_object_get(o, "details"), "first_seen", "?"));
    printf("  How long:      %s, %s", dur, end);
    if (b->renewals)
        printf("; renewed %d time%s while the attack went on", b->renewals,
               b->renewals == 1 ? "" : "s");
    printf("\n");
    printf("  Hostgroup:     %s; banned by %s; ban number %.0f of this address\n",
           fgjson_get_str(o, "hostgroup", "?"), fgjson_get_str(o, "source", "?"), fgjson_get_num(o, "ban_count", 0));
    printf("  Trigger:       %s %.0f over the threshold %.0f\n", fgjson_get_str(o, "metric", "?"),
           fgjson_get_num(o, "value", 0), fgjson_get_num(o, "threshold", 0));
    s_print_block(b);
    s_print_network(json_object_get(d, "network"), fgjson_get_str(o, "metric", "?"));
    printf("  Peak rates:    %.0f packets/s, %.2f Mbit/s, %.0f flows/s\n", b->pps, b->bps / 1e6,
           b->fps);
    s_print_kind(d, "src_addr", "  Top sources:   ");
    s_print_kind(d, "src_port", "  Source ports:  ");
    s_print_kind(d, "dst_port", "  Dest ports:    ");
    s_print_kind(d, "proto", "  Protocols:     ");
    s_print_kind(d, "exporter", "  Exporters:     ");
    printf("\n");
}

/* The contributors of one kind, as an array of {key,share,packets[,sampling]}. */
static json_t *s_json_top(const json_t *d, const char *kind)
{
    const json_t *top = json_object_get(d, "top");
    json_t *out = json_array();
    bool ok = out != NULL;
    for (size_t i = 0; ok && i < json_array_size(top); i++) {
        const json_t *c = json_array_get(top, i);
        if (strcmp(fgjson_get_str(c, "kind", ""), kind))
            continue;
        json_t *o = json_object();
        fgjson_append_new(out, o, &ok);
        if (!o)
            break;
        fgjson_set_str(o, "key", fgjson_get_str(c, "key", ""), &ok);
        fgjson_set_num(o, "share", fgjson_get_num(c, "share", 0), &ok);
        fgjson_set_num(o, "packets", fgjson_get_num(c, "packets", 0), &ok);
        if (!strcmp(kind, "exporter"))
            fgjson_set_num(o, "sampling", fgjson_get_num(c, "sampling", 1), &ok);
    }
    if (!ok)
        json_decref(out);
    return ok ? out : NULL;
}

/* peak: the highest total rates of the ban's entries. */
static json_t *s_json_peak_rates(const rep_ban_t *b, bool *ok)
{
    json_t *p = json_object();
    if (p) {
        fgjson_set_num(p, "pps", b->pps, ok);
        fgjson_set_num(p, "bps", b->bps, ok);
        fgjson_set_num(p, "fps", b->fps, ok);
    }
    return p;
}

/* top: the contributors of the peak entry, by kind. */
static json_t *s_json_tops(const rep_ban_t *b, bool *ok)
{
    static const char *kinds[] = {"src_addr", "src_port", "dst_port", "proto", "exporter"};
    json_t *top = json_object();
    for (size_t k = 0; top && k < sizeof(kinds) / sizeof(kinds[0]); k++)
        fgjson_set_new(top, kinds[k], s_json_top(b->peak_d, kinds[k]), ok);
    return top;
}

/* Ban i of the report as a JSON object; NULL on OOM. */
static json_t *s_json_ban(const rep_t *r, int i)
{
    const rep_ban_t *b = &r->bans[i];
    const json_t *o = b->open;
    char end[160];
    int64_t secs = s_span(r, b, i == r->n_bans - 1, end, sizeof(end));
    static const char *strs[] = {"banned_at", "expires_at", "attack_type", "direction",
                                 "hostgroup", "source", "metric"};
    bool ok = true;
    json_t *j = json_object();
    if (!j)
        return NULL;
    /* a renewal moves the expiry: the latest entry has it */
    for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
        fgjson_set_str(j, strs[k], fgjson_get_str(k == 1 ? b->last : o, strs[k], ""), &ok);
    fgjson_set_num(j, "renewals", b->renewals, &ok);
    fgjson_set_new(j, "network", s_json_network(json_object_get(b->peak_d, "network")), &ok);
    fgjson_set_num(j, "value", fgjson_get_num(o, "value", 0), &ok);
    fgjson_set_num(j, "threshold", fgjson_get_num(o, "threshold", 0), &ok);
    fgjson_set_num(j, "ban_count", fgjson_get_num(o, "ban_count", 0), &ok);
    fgjson_set_num(j, "duration_s", (double)secs, &ok);
    fgjson_set_bool(j, "active", !b->end && i == r->n_bans - 1 && r->ttl != -2, &ok);
    fgjson_set_str(j, "ended_at", b->end ? fgjson_get_str(b->end, "at", "") : "", &ok);
    fgjson_set_str(j, "end_reason", b->end ? fgjson_get_str(b->end, "reason", "") : "", &ok);
    fgjson_set_new(j, "peak", s_json_peak_rates(b, &ok), &ok);
    fgjson_set_num(j, "entries", b->entries, &ok);
    fgjson_set_new(j, "top", s_json_tops(b, &ok), &ok);
    if (json_object_get(o, "flowspec"))
        fgjson_set_new(j, "flowspec", json_deep_copy(json_object_get(o, "flowspec")), &ok);
    fgjson_set_str(j, "escalated_at", b->escalated ? fgjson_get_str(b->escalated, "at", "") : "",
                   &ok);
    if (!ok)
        json_decref(j);
    return ok ? j : NULL;
}

/* The whole report as JSON on stdout. 0, or -1 (OOM, write error). */
static int s_print_json(const rep_t *r, const char *ip)
{
    bool ok = true;
    json_t *j = json_object(), *bans = json_array();
    if (j) {
        fgjson_set_str(j, "ip", ip, &ok);
        fgjson_set_bool(j, "banned_now", r->ttl != -2, &ok);
        fgjson_set_new(j, "bans", bans, &ok);
    } else {
        json_decref(bans);
    }
    for (int i = 0; ok && j && i < r->n_bans; i++)
        fgjson_append_new(bans, s_json_ban(r, i), &ok);
    int rc = ok && j ? fgjson_print(j, stdout) : -1;
    json_decref(j);
    return rc;
}

static void s_free(rep_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        json_decref(r->lines[i]);
        json_decref(r->details[i]);
    }
    free(r->lines);
    free(r->details);
}

static int s_report(const fg_config_t *cfg, redisContext *c, const char *ip, bool json)
{
    static rep_t r;
    memset(&r, 0, sizeof(r));
    if (s_load(&r, c, cfg, ip) != 0) {
        s_free(&r);
        return 1;
    }
    s_build(&r);
    if (json) {
        if (s_print_json(&r, ip) < 0)
            fprintf(stderr, "floodgate: report: out of memory or output error\n");
    } else if (r.n_bans == 0) {
        printf("No ban recorded for %s%s.\n", ip,
               r.ttl != -2 ? " in the history (but a ban key exists: see `floodgate bans`)" : "");
    } else {
        char now[32];
        time_t t = time(NULL);
        struct tm tm;
        strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        printf("Attack report for %s: %d ban%s (report made %s, times in UTC)\n\n", ip, r.n_bans,
               r.n_bans == 1 ? "" : "s", now);
        for (int i = 0; i < r.n_bans; i++)
            s_print_ban(&r, i);
    }
    int rc = r.n_bans > 0 ? 0 : 1;
    s_free(&r);
    return rc;
}

int cli_report(int argc, char **argv, const char *conf)
{
    const char *ip_arg = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!ip_arg && argv[i][0] != '-')
            ip_arg = argv[i];
        else
            ip_arg = NULL, argc = -1;
    }
    fg_addr_t a;
    char ip[FG_ADDR_STRLEN];
    if (argc < 0 || !ip_arg || fg_addr_parse(ip_arg, &a) != 0) {
        fprintf(stderr, "usage: floodgate report IP [--json]\n");
        return 2;
    }
    fg_addr_format(&a, ip);
    fg_config_t *cfg = cli_config(conf);
    if (!cfg)
        return 2;
    redisContext *c = cli_redis(cfg);
    int rc = c ? s_report(cfg, c, ip, json) : 1;
    if (c)
        redisFree(c);
    fg_config_destroy(&cfg);
    return rc;
}
