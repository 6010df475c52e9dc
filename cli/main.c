/* floodgate: the operator's command line.
 *
 *   floodgate [-c FILE] bans [--json]        active bans, with time left
 *   floodgate [-c FILE] ban IP [-t SECONDS] [-r REASON]   manual ban
 *   floodgate [-c FILE] unban IP             manual unban (deletes the key)
 *   floodgate [-c FILE] history IP           ban history of an address
 *
 * Everything goes through Redis, the ban truth: a manual ban is the same HASH
 * with a TTL that the actuator writes (source=manual), and the actuator turns
 * it into routes; an unban is a DEL. Exit codes: 0 done, 1 failure (Redis
 * unreachable, no such ban), 2 bad usage or config. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/fgredis.h"

#define KEY_MAX 512

static void s_usage(FILE *out)
{
    fprintf(out, "usage: floodgate [-c FILE] COMMAND [ARGS]\n"
                 "  bans [--json]                 list active bans with the time left\n"
                 "  ban IP [-t SECONDS] [-r TEXT] ban an address by hand (default: the\n"
                 "                                ban_time of its hostgroup)\n"
                 "  unban IP                      lift a ban (deletes its key)\n"
                 "  history IP                    ban history of an address, newest first\n"
                 "  -c FILE   configuration (default $FLOODGATE_CONFIG or\n"
                 "            /etc/floodgate/floodgate.conf); FLOODGATE_REDIS_ADDRESS\n"
                 "            overrides redis/address\n");
}

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
static const char *s_hget(const redisReply *r, const char *name)
{
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && !strcmp(r->element[i]->str, name) &&
            r->element[i + 1]->type == REDIS_REPLY_STRING)
            return r->element[i + 1]->str;
    return "";
}

static void s_json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* Print one ban: a table row, or a JSON object holding every field. */
static void s_print_ban(const redisReply *h, long long ttl, bool json, bool first)
{
    if (json) {
        printf("%s{", first ? "" : ",");
        for (size_t i = 0; i + 1 < h->elements; i += 2) {
            const char *k = h->element[i]->str, *v = h->element[i + 1]->str;
            s_json_str(k ? k : "");
            putchar(':');
            if (!strcmp(k ? k : "", "details") && v && (*v == '{' || *v == '['))
                fputs(v, stdout); /* already JSON */
            else
                s_json_str(v ? v : "");
            putchar(',');
        }
        printf("\"ttl\":%lld}", ttl);
        return;
    }
    printf("%-40s %-22s %-9s %12s %12s %-9s %5s %8lld\n", s_hget(h, "ip"),
           s_hget(h, "attack_type"), s_hget(h, "direction"), s_hget(h, "value"),
           s_hget(h, "threshold"), s_hget(h, "source"), s_hget(h, "ban_count"), ttl);
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

int main(int argc, char **argv)
{
    const char *conf = getenv("FLOODGATE_CONFIG");
    if (!conf)
        conf = "/etc/floodgate/floodgate.conf";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc)
            conf = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            s_usage(stdout);
            return 0;
        } else {
            s_usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        s_usage(stderr);
        return 2;
    }
    const char *cmd = argv[i++];
    if (strcmp(cmd, "bans") && strcmp(cmd, "ban") && strcmp(cmd, "unban") &&
        strcmp(cmd, "history")) {
        fprintf(stderr, "floodgate: unknown command \"%s\"\n", cmd);
        s_usage(stderr);
        return 2;
    }
    char err[1024], ip[FG_ADDR_STRLEN] = "";
    bool json = false;
    long secs = 0;
    const char *reason = "manual";
    bool needs_ip = strcmp(cmd, "bans") != 0;
    if (needs_ip && (i >= argc || s_canon_ip(argv[i++], ip) != 0)) {
        fprintf(stderr, "floodgate: %s needs an IPv4 or IPv6 address\n", cmd);
        return 2;
    }
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "-t") && i + 1 < argc)
            secs = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-r") && i + 1 < argc)
            reason = argv[++i];
        else {
            s_usage(stderr);
            return 2;
        }
    }
    if (strchr(reason, '"') || strchr(reason, '\\')) {
        fprintf(stderr, "floodgate: a reason may not hold quotes or backslashes\n");
        return 2;
    }
    fg_config_t *cfg = fg_config_load(conf, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "floodgate: config error: %s\n", err);
        return 2;
    }
    redisContext *c = fg_redis_connect(cfg, 2000, err, sizeof(err));
    int rc = 1;
    if (!c)
        fprintf(stderr, "floodgate: redis: %s\n", err);
    else if (!strcmp(cmd, "bans"))
        rc = s_cmd_bans(cfg, c, json);
    else if (!strcmp(cmd, "ban"))
        rc = s_cmd_ban(cfg, c, ip, secs, reason);
    else if (!strcmp(cmd, "unban"))
        rc = s_cmd_unban(cfg, c, ip);
    else
        rc = s_cmd_history(cfg, c, ip);
    if (c)
        redisFree(c);
    fg_config_destroy(&cfg);
    return rc;
}
