#include "common/fgredis.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Run a command that must answer +OK; 0 or -1 with the reason in err. */
static int s_expect_ok(redisContext *c, char *err, size_t errlen, const char *what,
                       redisReply *r)
{
    int rc = 0;
    if (!r) {
        snprintf(err, errlen, "%s: %s", what, c->errstr);
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s: %s", what, r->str);
        rc = -1;
    } else if (r->type != REDIS_REPLY_STATUS) {
        snprintf(err, errlen, "%s: unexpected reply type %d", what, r->type);
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

/* One sentinel's answer to SENTINEL get-master-addr-by-name: the master's
 * address into host/port. 0, or -1 with the reason in err. */
static int s_ask_sentinel(const fg_config_t *cfg, const char *sentinel, struct timeval tv,
                          char *host, size_t hostlen, int *port, char *err, size_t errlen)
{
    char sh[256];
    uint16_t sp;
    if (fg_hostport_split(sentinel, sh, sizeof(sh), &sp) != 0) {
        snprintf(err, errlen, "sentinel %s: bad address", sentinel);
        return -1;
    }
    redisContext *c = redisConnectWithTimeout(sh, sp, tv);
    if (!c || c->err) {
        snprintf(err, errlen, "sentinel %s: %s", sentinel, c ? c->errstr : "out of memory");
        redisFree(c);
        return -1;
    }
    redisSetTimeout(c, tv);
    redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", cfg->redis.sentinel_master);
    bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
              r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len < hostlen &&
              r->element[1]->type == REDIS_REPLY_STRING;
    if (ok) {
        memcpy(host, r->element[0]->str, r->element[0]->len + 1);
        *port = atoi(r->element[1]->str);
        ok = *port > 0 && *port < 65536;
    }
    if (!ok)
        snprintf(err, errlen, "sentinel %s: %s", sentinel,
                 !r                               ? c->errstr
                 : r->type == REDIS_REPLY_ERROR   ? r->str
                 : r->type == REDIS_REPLY_NIL     ? "master name unknown (redis/sentinel_master)"
                                                  : "unexpected reply");
    freeReplyObject(r);
    redisFree(c);
    return ok ? 0 : -1;
}

/* The Redis to connect to: redis/address, or the master the first sentinel
 * that answers names. */
static redisContext *s_open(const fg_config_t *cfg, struct timeval tv, char *err, size_t errlen)
{
    const fg_redis_config_t *rc = &cfg->redis;
    char host[256];
    int port = rc->port;
    snprintf(host, sizeof(host), "%s", rc->host);
    if (rc->n_sentinels > 0) {
        int i = 0;
        while (i < rc->n_sentinels &&
               s_ask_sentinel(cfg, rc->sentinels[i], tv, host, sizeof(host), &port, err, errlen) < 0)
            i++;
        if (i == rc->n_sentinels)
            return NULL; /* the last sentinel's reason is in err */
    }
    redisContext *c = rc->socket[0] && rc->n_sentinels == 0
                          ? redisConnectUnixWithTimeout(rc->socket, tv)
                          : redisConnectWithTimeout(host, port, tv);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (c->err) {
        if (rc->socket[0] && rc->n_sentinels == 0)
            snprintf(err, errlen, "connect unix:%s: %s", rc->socket, c->errstr);
        else
            snprintf(err, errlen, "connect %s:%d%s: %s", host, port,
                     rc->n_sentinels ? " (the master the sentinels name)" : "", c->errstr);
        redisFree(c);
        return NULL;
    }
    return c;
}

redisContext *fg_redis_connect(const fg_config_t *cfg, int timeout_ms, char *err, size_t errlen)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = s_open(cfg, tv, err, errlen);
    if (!c)
        return NULL;
    redisSetTimeout(c, tv);
    if (cfg->redis.password[0]) {
        redisReply *r = cfg->redis.user[0]
                            ? redisCommand(c, "AUTH %s %s", cfg->redis.user, cfg->redis.password)
                            : redisCommand(c, "AUTH %s", cfg->redis.password);
        if (s_expect_ok(c, err, errlen, "AUTH", r) != 0)
            goto fail;
    }
    if (cfg->redis.db != 0 &&
        s_expect_ok(c, err, errlen, "SELECT", redisCommand(c, "SELECT %d", cfg->redis.db)) != 0)
        goto fail;
    return c;
fail:
    redisFree(c);
    return NULL;
}

char *fg_redis_key(const fg_config_t *cfg, const char *kind, const char *ip, char *out,
                   size_t outlen)
{
    if (ip)
        snprintf(out, outlen, "%s:%s:%s", cfg->redis.prefix, kind, ip);
    else
        snprintf(out, outlen, "%s:%s", cfg->redis.prefix, kind);
    return out;
}
