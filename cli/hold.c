/* cli/hold.c: `floodgate unban IP --hold DURATION` -- the ban is lifted and
 * new bans of the address are held off: <prefix>:hold:<ip>, a STRING with
 * that TTL, which the actuator reads before each new ban (not before a
 * renewal, not for an operator's `floodgate ban`, which clears it). The
 * hold is recorded in the history and the events stream; `floodgate bans`
 * lists the holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actuator/ban.h"
#include "cli/cli.h"
#include "common/fgjson.h"
#include "common/fgredis.h"

#define HOLD_KEY_MAX 512
#define HOLD_MAX_S (366L * 86400)

long cli_parse_duration(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10), mul = 1;
    if (end == s || v <= 0)
        return -1;
    switch (*end) {
    case 's': mul = 1; end++; break;
    case 'm': mul = 60; end++; break;
    case 'h': mul = 3600; end++; break;
    case 'd': mul = 86400; end++; break;
    default: break;
    }
    if (*end || v > HOLD_MAX_S / mul)
        return -1;
    return v * mul;
}

static void s_iso(time_t t, char *buf, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The ban_count to carry in the hold's history line (the actuator numbers
 * the next ban from the newest entry): the ban's, else the newest entry's. */
static long s_ban_count(const fg_config_t *cfg, redisContext *c, const char *ip)
{
    char key[HOLD_KEY_MAX];
    long n = 0;
    fg_redis_key(cfg, "ban", ip, key, sizeof(key));
    redisReply *r = redisCommand(c, "HGET %s ban_count", key);
    if (r && r->type == REDIS_REPLY_STRING)
        n = atol(r->str);
    if (r)
        freeReplyObject(r);
    if (n > 0)
        return n;
    fg_redis_key(cfg, "history", ip, key, sizeof(key));
    r = redisCommand(c, "LINDEX %s 0", key);
    ban_hist_t hist;
    if (r && r->type == REDIS_REPLY_STRING && ban_hist_parse(r->str, &hist) == 0)
        n = hist.ban_count;
    if (r)
        freeReplyObject(r);
    return n;
}

/* The hold's history line: {"event":"hold","at","ip","source","hold_s",
 * "hold_until","ban_count"}. The caller's to free; NULL on OOM. */
static char *s_hold_line(const char *at, const char *ip, long hold_s, const char *until,
                         long count)
{
    bool ok = true;
    json_t *j = json_object();
    if (!j)
        return NULL;
    fgjson_set_str(j, "event", "hold", &ok);
    fgjson_set_str(j, "at", at, &ok);
    fgjson_set_str(j, "ip", ip, &ok);
    fgjson_set_str(j, "source", "manual", &ok);
    fgjson_set_num(j, "hold_s", (double)hold_s, &ok);
    fgjson_set_str(j, "hold_until", until, &ok);
    fgjson_set_num(j, "ban_count", (double)count, &ok);
    char *line = ok ? fgjson_dump(j) : NULL;
    json_decref(j);
    return line;
}

/* Queue the hold, the DEL of the ban, the history line and the event.
 * -1 (nothing queued) when out of memory. */
static int s_append_hold(const fg_config_t *cfg, redisContext *c, const char *ip, long hold_s,
                          long count)
{
    char ban[HOLD_KEY_MAX], hold[HOLD_KEY_MAX], hist[HOLD_KEY_MAX], events[HOLD_KEY_MAX];
    char now_s[32], until_s[32], hs[24], maxlen[24];
    time_t now = time(NULL);
    s_iso(now, now_s, sizeof(now_s));
    s_iso(now + hold_s, until_s, sizeof(until_s));
    fg_redis_key(cfg, "ban", ip, ban, sizeof(ban));
    fg_redis_key(cfg, "hold", ip, hold, sizeof(hold));
    fg_redis_key(cfg, "history", ip, hist, sizeof(hist));
    fg_redis_key(cfg, "events", NULL, events, sizeof(events));
    char *line = s_hold_line(now_s, ip, hold_s, until_s, count);
    if (!line)
        return -1;
    snprintf(hs, sizeof(hs), "%ld", hold_s);
    snprintf(maxlen, sizeof(maxlen), "%d", cfg->actuator.events_max);
    redisAppendCommand(c, "MULTI");
    redisAppendCommand(c, "SET %s %s PX %lld", hold, until_s, (long long)hold_s * 1000);
    redisAppendCommand(c, "DEL %s", ban);
    redisAppendCommand(c, "LPUSH %s %s", hist, line);
    redisAppendCommand(c, "LTRIM %s 0 %d", hist, cfg->actuator.history_max - 1);
    const char *xadd[] = {"XADD", events, "MAXLEN", "~", maxlen, "*", "event", "hold", "ip", ip,
                          "source", "manual", "hold_s", hs, "hold_until", until_s};
    redisAppendCommandArgv(c, 16, xadd, NULL);
    redisAppendCommand(c, "EXEC");
    free(line); /* formatted into the output buffer by now */
    return 0;
}

int cli_hold_unban(const fg_config_t *cfg, redisContext *c, const char *ip, long hold_s)
{
    enum { N = 7 };
    char until_s[32];
    int rc = 0;
    long long deleted = 0;
    if (s_append_hold(cfg, c, ip, hold_s, s_ban_count(cfg, c, ip)) < 0) {
        fprintf(stderr, "floodgate: unban --hold failed: out of memory\n");
        return 1;
    }
    for (int i = 0; i < N; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "floodgate: unban --hold failed: %s\n", r ? r->str : c->errstr);
            rc = 1;
        } else if (i == N - 1 && r->type == REDIS_REPLY_ARRAY && r->elements > 1 &&
                   r->element[1]->type == REDIS_REPLY_INTEGER) {
            deleted = r->element[1]->integer;
        } else if (i == N - 1) {
            fprintf(stderr, "floodgate: unban --hold failed: transaction refused\n");
            rc = 1;
        }
        if (r)
            freeReplyObject(r);
        if (rc && !c->err && i < N - 1)
            continue; /* read the rest of the replies */
        if (rc)
            return rc;
    }
    if (rc)
        return rc;
    s_iso(time(NULL) + hold_s, until_s, sizeof(until_s));
    printf("%s %s; new bans of it are held off for %ld s (until %s); `floodgate ban %s` "
           "clears the hold\n",
           deleted ? "unbanned" : "no active ban on", ip, hold_s, until_s, ip);
    return 0;
}

int cli_holds_print(const fg_config_t *cfg, redisContext *c)
{
    char pattern[HOLD_KEY_MAX];
    unsigned long long cursor = 0;
    int n = 0;
    fg_redis_key(cfg, "hold", "*", pattern, sizeof(pattern));
    size_t skip = strlen(pattern) - 1;
    do {
        redisReply *r = redisCommand(c, "SCAN %llu MATCH %s COUNT 1000", cursor, pattern);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            if (r)
                freeReplyObject(r);
            return -1;
        }
        cursor = strtoull(r->element[0]->str, NULL, 10);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *key = r->element[1]->element[i]->str;
            redisReply *t = redisCommand(c, "TTL %s", key);
            if (t && t->type == REDIS_REPLY_INTEGER && t->integer != -2) {
                if (n++ == 0)
                    printf("\n%-39s %9s  %s\n", "HELD (new bans refused)", "TIME LEFT", "UNTIL");
                time_t until = time(NULL) + (t->integer > 0 ? t->integer : 0);
                char u[32];
                s_iso(until, u, sizeof(u));
                printf("%-39s %8llds  %s\n", key + skip, (long long)t->integer,
                       t->integer < 0 ? "never" : u);
            }
            if (t)
                freeReplyObject(t);
        }
        freeReplyObject(r);
    } while (cursor != 0);
    if (n)
        printf("%d hold%s\n", n, n == 1 ? "" : "s");
    return n;
}
