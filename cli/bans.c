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
#include "common/addr.h"
#include "common/fgredis.h"

#define KEY_MAX 512

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

void cli_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* Print one ban: a table row, or a JSON object holding every field. */
static void s_print_ban(const redisReply *h, long long ttl, bool json, bool first)
{
    if (json) {
        printf("%s{", first ? "" : ",");
        for (size_t i = 0; i + 1 < h->elements; i += 2) {
            const char *k = h->element[i]->str, *v = h->element[i + 1]->str;
            cli_json_str(stdout, k ? k : "");
            putchar(':');
            if (!strcmp(k ? k : "", "details") && v && (*v == '{' || *v == '['))
                fputs(v, stdout); /* already JSON */
            else
                cli_json_str(stdout, v ? v : "");
            putchar(',');
        }
        printf("\"ttl\":%lld}", ttl);
        return;
    }
    printf("%-40s %-22s %-9s %12s %12s %-9s %5s %8lld\n", cli_hget(h, "ip"),
           cli_hget(h, "attack_type"), cli_hget(h, "direction"), cli_hget(h, "value"),
           cli_hget(h, "threshold"), cli_hget(h, "source"), cli_hget(h, "ban_count"), ttl);
}

static int s_cmd_bans(const fg_config_t *cfg, redisContext *c, bool json)
{
    char pattern[KEY_MAX];
    fg_redis_key(cfg, "ban", "*", pattern, sizeof(pattern));
    unsigned long long cursor = 0;
    int n = 0;
    if (json)
        printf("[");
    else
        printf("%-40s %-22s %-9s %12s %12s %-9s %5s %8s\n", "IP", "ATTACK", "DIRECTION",
               "VALUE", "THRESHOLD", "SOURCE", "COUNT", "TTL");
    do {
        redisReply *r = redisCommand(c, "SCAN %llu MATCH %s COUNT 1000", cursor, pattern);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            fprintf(stderr, "floodgate: SCAN failed: %s\n", r ? "bad reply" : c->errstr);
            if (r)
                freeReplyObject(r);
            return 1;
        }
        cursor = strtoull(r->element[0]->str, NULL, 10);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *key = r->element[1]->element[i]->str;
            redisReply *h = redisCommand(c, "HGETALL %s", key);
            redisReply *t = redisCommand(c, "TTL %s", key);
            if (h && h->type == REDIS_REPLY_ARRAY && h->elements > 0 && t &&
                t->type == REDIS_REPLY_INTEGER)
                s_print_ban(h, t->integer, json, n++ == 0);
            if (h)
                freeReplyObject(h);
            if (t)
                freeReplyObject(t);
        }
        freeReplyObject(r);
    } while (cursor != 0);
    if (json)
        printf("]\n");
    else
        printf("%d ban%s\n", n, n == 1 ? "" : "s");
    return 0;
}

static int s_cmd_ban(const fg_config_t *cfg, redisContext *c, const char *ip, long secs,
                     const char *reason)
{
    fg_addr_t a;
    fg_addr_parse(ip, &a);
    const fg_hostgroup_t *g = fg_config_group(cfg, &a);
    if (secs <= 0)
        secs = g ? (long)g->ban_time : (long)cfg->groups[0].ban_time;
    char key[KEY_MAX], now_s[32], exp_s[32], details[512];
    time_t now = time(NULL);
    s_iso8601(now, now_s, sizeof(now_s));
    s_iso8601(now + secs, exp_s, sizeof(exp_s));
    snprintf(details, sizeof(details), "{\"reason\":\"%s\"}", reason);
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
    redisAppendCommand(c, "MULTI");
    redisAppendCommand(c,
                       "HSET %s ip %s attack_type manual direction incoming metric manual "
                       "value 0 threshold 0 hostgroup %s source manual banned_at %s "
                       "expires_at %s ban_count 1 details %s",
                       key, ip, g ? g->name : "-", now_s, exp_s, details);
    redisAppendCommand(c, "EXPIRE %s %ld", key, secs);
    redisAppendCommand(c, "EXEC");
    int rc = 0;
    for (int i = 0; i < 4; i++) {
        r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "floodgate: ban failed: %s\n", r ? r->str : c->errstr);
            rc = 1;
        }
        if (r)
            freeReplyObject(r);
        if (rc)
            return rc;
    }
    printf("banned %s for %ld s (until %s); the actuator applies it within %d s\n", ip, secs,
           exp_s, cfg->check_interval);
    return 0;
}

static int s_cmd_unban(const fg_config_t *cfg, redisContext *c, const char *ip)
{
    char key[KEY_MAX];
    fg_redis_key(cfg, "ban", ip, key, sizeof(key));
    redisReply *r = redisCommand(c, "DEL %s", key);
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        fprintf(stderr, "floodgate: DEL failed: %s\n", r ? "bad reply" : c->errstr);
        if (r)
            freeReplyObject(r);
        return 1;
    }
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
    redisReply *r = redisCommand(c, "LRANGE %s 0 -1", key);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "floodgate: LRANGE failed: %s\n", r ? "bad reply" : c->errstr);
        if (r)
            freeReplyObject(r);
        return 1;
    }
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
    if (argc < 2 || s_canon_ip(argv[1], ip) != 0) {
        fprintf(stderr, "floodgate %s: needs an IPv4 or IPv6 address\n", argv[0]);
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
} ban_args_t;

static int s_run_ban(const fg_config_t *cfg, redisContext *c, void *arg)
{
    ban_args_t *a = arg;
    return s_cmd_ban(cfg, c, a->ip, a->secs, a->reason);
}

int cli_ban(int argc, char **argv, const char *conf)
{
    ban_args_t a = {.secs = 0, .reason = "manual"};
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
        } else {
            fprintf(stderr, "floodgate ban: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (strchr(a.reason, '"') || strchr(a.reason, '\\')) {
        fprintf(stderr, "floodgate ban: a reason may not hold quotes or backslashes\n");
        return 2;
    }
    return s_with_redis(conf, s_run_ban, &a);
}

static int s_run_unban(const fg_config_t *cfg, redisContext *c, void *arg)
{
    return s_cmd_unban(cfg, c, arg);
}

int cli_unban(int argc, char **argv, const char *conf)
{
    char ip[FG_ADDR_STRLEN];
    if (s_ip_arg(argc, argv, ip) != 0 || argc > 2)
        return 2;
    return s_with_redis(conf, s_run_unban, ip);
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
