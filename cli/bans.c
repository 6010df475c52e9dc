/* cli/bans.c: bans, ban, unban, history -- straight on the Redis ban state.
 *
 * A manual ban is the same HASH with a TTL that the actuator writes
 * (source=manual): the actuator adopts it, records the event and applies it.
 * An unban is a DEL, which the actuator sees and follows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "actuator/ban.h"
#include "actuator/flowspec.h"
#include "common/addr.h"
#include "common/fgbuf.h"
#include "common/fgjson.h"
#include "common/fgredis.h"

#define KEY_MAX 512
#define CLI_DETAILS_MAX 65536 /* as the actuator accepts (BAN_DETAILS_MAX) */
#define CLI_REASON_MAX 500     /* bytes of a manual ban's --reason kept */

static void s_iso8601(time_t t, char *buf, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Canonical text of an address typed by the operator; -1 when not one. */
static int s_canon_ip(const char *in, char *out)
{
    fg_addr_t a;
    if (fg_addr_parse(in, &a) != 0)
        return -1;
    fg_addr_format(&a, out);
    return 0;
}

/* The value of field name in an HGETALL reply, or "". */
const char *cli_hget(const redisReply *r, const char *name)
{
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && !strcmp(r->element[i]->str, name) &&
            r->element[i + 1]->type == REDIS_REPLY_STRING)
            return r->element[i + 1]->str;
    return "";
}

/* One row of the table. */
typedef struct {
    fg_addr_t addr;
    char ip[FG_ADDR_STRLEN];
    char attack[64];
    char source[16];
    double pps;
    long long ttl;
    char count[16];
    char block[16]; /* blackhole | flowspec */
} row_t;

/* Attack packets/s of a ban hash: details.total.pps, else value when the
 * metric is pps; -1 when unknown. */
static double s_pps(const redisReply *h)
{
    double pps = ban_details_pps(cli_hget(h, "details"));
    if (pps >= 0)
        return pps;
    if (!strcmp(cli_hget(h, "metric"), "pps"))
        return strtod(cli_hget(h, "value"), NULL);
    return -1;
}

static void s_row(row_t *r, const redisReply *h, const char *ip, long long ttl)
{
    memset(r, 0, sizeof(*r));
    fg_addr_parse(ip, &r->addr);
    snprintf(r->ip, sizeof(r->ip), "%s", ip);
    snprintf(r->attack, sizeof(r->attack), "%s", *cli_hget(h, "attack_type") ? cli_hget(h, "attack_type") : "-");
    snprintf(r->source, sizeof(r->source), "%s", *cli_hget(h, "source") ? cli_hget(h, "source") : "-");
    snprintf(r->count, sizeof(r->count), "%s", *cli_hget(h, "ban_count") ? cli_hget(h, "ban_count") : "-");
    snprintf(r->block, sizeof(r->block), "%s", !strcmp(cli_hget(h, "mitigation"), "flowspec") ? "flowspec" : "blackhole");
    r->pps = s_pps(h);
    r->ttl = ttl;
}

static int s_row_cmp(const void *a, const void *b)
{
    const fg_addr_t *x = &((const row_t *)a)->addr, *y = &((const row_t *)b)->addr;
    if (x->hi != y->hi)
        return x->hi < y->hi ? -1 : 1;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void s_print_rows(row_t *rows, int n)
{
    char ttl[32], pps[32];
    qsort(rows, (size_t)n, sizeof(*rows), s_row_cmp);
    printf("%-39s %-24s %12s %9s %5s  %-12s %s\n", "IP", "ATTACK", "PPS", "TTL LEFT", "BANS", "SOURCE",
           "BLOCK");
    for (int i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        if (r->pps >= 0)
            snprintf(pps, sizeof(pps), "%.0f", r->pps);
        else
            snprintf(pps, sizeof(pps), "-");
        printf("%-39s %-24s %12s %9s %5s  %-12s %s\n", r->ip, r->attack, pps,
               cli_duration(r->ttl, ttl, sizeof(ttl)), r->count, r->source, r->block);
    }
}

/* One ban as a JSON object holding every field of its hash and its ttl;
 * details embedded when they are JSON, a string otherwise. NULL on OOM. */
static json_t *s_ban_json(const redisReply *h, long long ttl)
{
    bool ok = true;
    json_t *j = json_object();
    if (!j)
        return NULL;
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const char *k = h->element[i]->str ? h->element[i]->str : "";
        const char *v = h->element[i + 1]->str ? h->element[i + 1]->str : "";
        json_t *d = !strcmp(k, "details") ? fgjson_parse(v, CLI_DETAILS_MAX) : NULL;
        if (d && !json_is_object(d) && !json_is_array(d)) {
            json_decref(d);
            d = NULL;
        }
        fgjson_set_new(j, k, d ? d : fgjson_str(v), &ok);
    }
    fgjson_set_num(j, "ttl", (double)ttl, &ok);
    if (!ok)
        json_decref(j);
    return ok ? j : NULL;
}

/* One ban key found by SCAN: appended to arr (--json), or kept as a row. */
static void s_one_ban(const fg_config_t *cfg, redisContext *c, const char *key, json_t *arr,
                      row_t **rows, int *n, size_t *cap)
{
    redisReply *h = redisCommand(c, "HGETALL %s", key);
    redisReply *t = redisCommand(c, "TTL %s", key);
    if (h && h->type == REDIS_REPLY_ARRAY && h->elements > 0 && t &&
        t->type == REDIS_REPLY_INTEGER) {
        if (arr) {
            bool ok = true;
            fgjson_append_new(arr, s_ban_json(h, t->integer), &ok);
            *n += ok;
        } else if (fg_array_grow(rows, cap, (size_t)*n + 1, sizeof(**rows), 64) == 0) {
            s_row(&(*rows)[(*n)++], h, key + strlen(cfg->redis.prefix) + 5, t->integer);
        }
    }
    if (h)
        freeReplyObject(h);
    if (t)
        freeReplyObject(t);
}

static int s_cmd_bans(const fg_config_t *cfg, redisContext *c, bool json)
{
    char pattern[KEY_MAX];
    fg_redis_key(cfg, "ban", "*", pattern, sizeof(pattern));
    unsigned long long cursor = 0;
    int n = 0;
    size_t cap = 0;
    row_t *rows = NULL;
    json_t *arr = json ? json_array() : NULL;
    if (json && !arr)
        return 1;
    do {
        redisReply *r = cli_command(c, REDIS_REPLY_ARRAY, "SCAN", "SCAN %llu MATCH %s COUNT 1000",
                                    cursor, pattern);
        if (!r || r->elements != 2) {
            if (r)
                fprintf(stderr, "floodgate: SCAN failed: bad reply\n");
            freeReplyObject(r);
            free(rows);
            json_decref(arr);
            return 1;
        }
        cursor = strtoull(r->element[0]->str, NULL, 10);
        for (size_t i = 0; i < r->element[1]->elements; i++)
            s_one_ban(cfg, c, r->element[1]->element[i]->str, arr, &rows, &n, &cap);
        freeReplyObject(r);
    } while (cursor != 0);
    int rc = 0;
    if (json) {
        rc = fgjson_print(arr, stdout) < 0 ? 1 : 0;
        json_decref(arr);
    } else {
        s_print_rows(rows, n);
        printf("%d ban%s\n", n, n == 1 ? "" : "s");
        cli_holds_print(cfg, c);
    }
    free(rows);
    return rc;
}

/* May ip be banned by hand? Prints why not and returns -1. */
static int s_ban_allowed(const fg_config_t *cfg, const char *ip, bool force)
{
    fg_addr_t a;
    fg_addr_parse(ip, &a);
    if (fg_config_whitelisted(cfg, &a)) {
        fprintf(stderr,
                "floodgate ban: %s is on networks/whitelist in %s: whitelisted addresses are "
                "never banned (remove it from the whitelist first)\n",
                ip, cfg->path);
        return -1;
    }
    if (!fg_config_group(cfg, &a) && !force) {
        fprintf(stderr,
                "floodgate ban: %s is outside networks/monitored in %s: it is not one of "
                "yours; --force bans it anyway\n",
                ip, cfg->path);
        return -1;
    }
    return 0;
}

/* The details of a manual ban: {"reason":"..."} with the reason cut to
 * CLI_REASON_MAX bytes. The caller's to free; NULL on OOM. */
static char *s_manual_details(const char *reason)
{
    char cut[CLI_REASON_MAX + 1];
    bool ok = true;
    snprintf(cut, sizeof(cut), "%s", reason);
    json_t *j = json_object();
    if (!j)
        return NULL;
    fgjson_set_str(j, "reason", cut, &ok);
    char *text = ok ? fgjson_dump(j) : NULL;
    json_decref(j);
    return text;
}

/* The ban time of a manual ban: --ttl, or the hostgroup's ban_time; -1
 * (printed why) when it is over the hostgroup's max_ban_time, which the
 * actuator would cut it to. secs 0 = permanent (checked by the caller). */
static long s_ban_secs(const fg_config_t *cfg, const fg_hostgroup_t *g, long secs)
{
    if (!g)
        g = &cfg->groups[0];
    if (secs < 0)
        return (long)g->ban_time;
    if (secs > (long)g->max_ban_time) {
        fprintf(stderr,
                "floodgate ban: --ttl %ld is longer than hostgroup %s's max_ban_time (%u s) "
                "in %s\n",
                secs, g->name, g->max_ban_time, cfg->path);
        return -1;
    }
    return secs;
}

/* The rule set of `ban --flowspec MATCH...` for ip, with the hostgroup's
 * action: JSON (the caller's to free), or NULL with the reason printed. */
static char *s_manual_rules(const fg_hostgroup_t *g, const char *ip, const char *const *match,
                            int n)
{
    fs_set_t set;
    fs_action_t act = FS_DISCARD;
    char key[FS_RULE_STRLEN];
    memset(&set, 0, sizeof(set));
    set.collateral = -1;
    for (int i = 0; i < n && i < FS_MAX_RULES; i++) {
        snprintf(key, sizeof(key), "dst=%s/%d %s", ip, strchr(ip, ':') ? 128 : 32, match[i]);
        if (fs_rule_parse_key(key, &set.rule[set.n]) < 0) {
            fprintf(stderr, "floodgate ban: --flowspec \"%s\" is not a match (e.g. \"proto=17 "
                            "sport=53\"; keys src=PREFIX proto sport dport tcp_flags=syn "
                            "fragment)\n", match[i]);
            return NULL;
        }
        set.n++;
    }
    if (g)
        fs_action_parse(g->flowspec_action, &act);
    return fs_set_json(&set, act, g ? g->flowspec_rate : 0, g ? g->flowspec_redirect : "");
}

static int s_cmd_ban(const fg_config_t *cfg, redisContext *c, const char *ip, long secs,
                     const char *reason, const char *const *match, int n_match)
{
    fg_addr_t a;
    fg_addr_parse(ip, &a);
    const fg_hostgroup_t *g = fg_config_group(cfg, &a);
    if ((secs = s_ban_secs(cfg, g, secs)) < 0)
        return 1;
    char key[KEY_MAX], hold[KEY_MAX], now_s[32], exp_s[32];
    time_t now = time(NULL);
    s_iso8601(now, now_s, sizeof(now_s));
    s_iso8601(now + secs, exp_s, sizeof(exp_s));
    fg_redis_key(cfg, "ban", ip, key, sizeof(key));
    /* HSETNX on ip first: an existing ban is left alone (its TTL too). */
    redisReply *r = redisCommand(c, "EXISTS %s", key);
    bool exists = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    if (exists) {
        fprintf(stderr, "floodgate: %s is already banned (see: floodgate bans)\n", ip);
        return 1;
    }
    if (n_match && !g) {
        fprintf(stderr, "floodgate ban: --flowspec only for an address in networks/monitored\n");
        return 1;
    }
    char *rules = n_match ? s_manual_rules(g, ip, match, n_match) : NULL;
    if (n_match && !rules)
        return 2;
    char *details = s_manual_details(reason);
    if (!details) {
        fprintf(stderr, "floodgate: ban failed: out of memory\n");
        free(rules);
        return 1;
    }
    redisAppendCommand(c, "MULTI");
    redisAppendCommand(c,
                       "HSET %s ip %s attack_type manual direction incoming metric manual "
                       "value 0 threshold 0 hostgroup %s source %s banned_at %s "
                       "expires_at %s ban_count 1 details %s",
                       key, ip, g ? g->name : "-", g ? "manual" : "manual_force", now_s,
                       secs ? exp_s : "", details);
    free(details); /* formatted into the output buffer by now */
    if (rules)
        redisAppendCommand(c, "HSET %s mitigation flowspec flowspec %s", key, rules);
    free(rules);
    if (secs)
        redisAppendCommand(c, "EXPIRE %s %ld", key, secs);
    fg_redis_key(cfg, "hold", ip, hold, sizeof(hold));
    redisAppendCommand(c, "DEL %s", hold); /* the operator's ban wins over a hold */
    redisAppendCommand(c, "EXEC");
    int rc = 0, n = (secs ? 5 : 4) + (n_match ? 1 : 0);
    bool held = false;
    for (int i = 0; i < n; i++) {
        r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "floodgate: ban failed: %s\n", r ? r->str : c->errstr);
            rc = 1;
        }
        held = held || (i == n - 1 && r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
                        r->element[r->elements - 1]->type == REDIS_REPLY_INTEGER &&
                        r->element[r->elements - 1]->integer);
        if (r)
            freeReplyObject(r);
        if (rc)
            return rc;
    }
    if (secs)
        printf("banned %s for %ld s (until %s)%s; the actuator applies it within %d s\n", ip,
               secs, exp_s, g ? "" : " as source=manual_force", cfg->actuator.check_interval);
    else
        printf("banned %s permanently; the actuator applies it within %d s\n", ip,
               cfg->actuator.check_interval);
    if (held)
        printf("the hold on new bans of %s is cleared (an operator's ban wins)\n", ip);
    return 0;
}

static int s_cmd_unban(const fg_config_t *cfg, redisContext *c, const char *ip)
{
    char key[KEY_MAX];
    fg_redis_key(cfg, "ban", ip, key, sizeof(key));
    redisReply *r = cli_command(c, REDIS_REPLY_INTEGER, "DEL", "DEL %s", key);
    if (!r)
        return 1;
    long long n = r->integer;
    freeReplyObject(r);
    if (n == 0) {
        fprintf(stderr, "floodgate: %s is not banned\n", ip);
        return 1;
    }
    printf("unbanned %s\n", ip);
    return 0;
}

static int s_cmd_history(const fg_config_t *cfg, redisContext *c, const char *ip)
{
    char key[KEY_MAX];
    fg_redis_key(cfg, "history", ip, key, sizeof(key));
    redisReply *r = cli_command(c, REDIS_REPLY_ARRAY, "LRANGE", "LRANGE %s 0 -1", key);
    if (!r)
        return 1;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            printf("%s\n", r->element[i]->str);
    if (r->elements == 0)
        fprintf(stderr, "floodgate: no history for %s\n", ip);
    freeReplyObject(r);
    return 0;
}

/* The canonical text of the address in argv[1] (the form the actuator uses in
 * keys) into ip; prints why and returns -1 when there is none. */
static int s_ip_arg(int argc, char **argv, char *ip)
{
    if (argc < 2) {
        fprintf(stderr, "floodgate %s: needs an IPv4 or IPv6 address\n", argv[0]);
        return -1;
    }
    if (strchr(argv[1], '/') || s_canon_ip(argv[1], ip) != 0) {
        fprintf(stderr,
                "floodgate %s: \"%s\" is not an IPv4 or IPv6 address (a single host, no "
                "prefix length: 10.0.0.5, 2001:db8::5)\n",
                argv[0], argv[1]);
        return -1;
    }
    return 0;
}

/* Shared tail of every command: config, Redis, run, clean up. */
typedef int (*with_redis_fn)(const fg_config_t *cfg, redisContext *c, void *arg);

static int s_with_redis(const char *conf, with_redis_fn fn, void *arg)
{
    fg_config_t *cfg = cli_config(conf);
    if (!cfg)
        return 2;
    redisContext *c = cli_redis(cfg);
    int rc = c ? fn(cfg, c, arg) : 1;
    if (c)
        redisFree(c);
    fg_config_destroy(&cfg);
    return rc;
}

static int s_run_bans(const fg_config_t *cfg, redisContext *c, void *arg)
{
    return s_cmd_bans(cfg, c, *(bool *)arg);
}

int cli_bans(int argc, char **argv, const char *conf)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") != 0) {
            fprintf(stderr, "floodgate bans: unknown option %s\n", argv[i]);
            return 2;
        }
        json = true;
    }
    return s_with_redis(conf, s_run_bans, &json);
}

typedef struct {
    char ip[FG_ADDR_STRLEN];
    long secs;
    const char *reason;
    bool force;
    const char *match[FS_MAX_RULES]; /* --flowspec MATCH */
    int n_match;
} ban_args_t;

static int s_run_ban(const fg_config_t *cfg, redisContext *c, void *arg)
{
    ban_args_t *a = arg;
    if (s_ban_allowed(cfg, a->ip, a->force) != 0)
        return 1;
    if (a->secs == 0 && !cfg->actuator.allow_permanent_manual_bans) {
        fprintf(stderr, "floodgate ban: --permanent needs actuator/allow_permanent_manual_bans "
                        "= true in %s\n",
                cfg->path);
        return 1;
    }
    return s_cmd_ban(cfg, c, a->ip, a->secs, a->reason, a->match, a->n_match);
}

int cli_ban(int argc, char **argv, const char *conf)
{
    ban_args_t a = {.secs = -1, .reason = "manual"};
    if (s_ip_arg(argc, argv, a.ip) != 0)
        return 2;
    for (int i = 2; i < argc; i++) {
        if ((!strcmp(argv[i], "-t") || !strcmp(argv[i], "--ttl")) && i + 1 < argc) {
            char *end;
            a.secs = strtol(argv[++i], &end, 10);
            if (*end || a.secs <= 0) {
                fprintf(stderr, "floodgate ban: --ttl needs a positive number of seconds\n");
                return 2;
            }
        } else if ((!strcmp(argv[i], "-r") || !strcmp(argv[i], "--reason")) && i + 1 < argc) {
            a.reason = argv[++i];
        } else if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--force")) {
            a.force = true;
        } else if (!strcmp(argv[i], "--permanent")) {
            a.secs = 0;
        } else if (!strcmp(argv[i], "--flowspec") && i + 1 < argc && a.n_match < FS_MAX_RULES) {
            a.match[a.n_match++] = argv[++i];
        } else {
            fprintf(stderr, "floodgate ban: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    return s_with_redis(conf, s_run_ban, &a);
}

typedef struct {
    char ip[FG_ADDR_STRLEN];
    long hold_s; /* 0: a plain unban */
} unban_args_t;

static int s_run_unban(const fg_config_t *cfg, redisContext *c, void *arg)
{
    const unban_args_t *a = arg;
    return a->hold_s ? cli_hold_unban(cfg, c, a->ip, a->hold_s) : s_cmd_unban(cfg, c, a->ip);
}

int cli_unban(int argc, char **argv, const char *conf)
{
    unban_args_t a = {.hold_s = 0};
    if (s_ip_arg(argc, argv, a.ip) != 0)
        return 2;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--hold") != 0 || i + 1 >= argc ||
            (a.hold_s = cli_parse_duration(argv[++i])) <= 0) {
            fprintf(stderr, "floodgate unban: usage: unban IP [--hold DURATION] (DURATION: 90, "
                            "90s, 15m, 2h, 1d)\n");
            return 2;
        }
    }
    return s_with_redis(conf, s_run_unban, &a);
}

static int s_run_history(const fg_config_t *cfg, redisContext *c, void *arg)
{
    return s_cmd_history(cfg, c, arg);
}

int cli_history(int argc, char **argv, const char *conf)
{
    char ip[FG_ADDR_STRLEN];
    if (s_ip_arg(argc, argv, ip) != 0 || argc > 2)
        return 2;
    return s_with_redis(conf, s_run_history, ip);
}
