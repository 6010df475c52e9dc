#include "common/fgredis.h"

#include <stdio.h>
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

redisContext *fg_redis_connect(const fg_config_t *cfg, int timeout_ms, char *err, size_t errlen)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = cfg->redis.socket[0]
                          ? redisConnectUnixWithTimeout(cfg->redis.socket, tv)
                          : redisConnectWithTimeout(cfg->redis.host, cfg->redis.port, tv);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (c->err) {
        if (cfg->redis.socket[0])
            snprintf(err, errlen, "connect unix:%s: %s", cfg->redis.socket, c->errstr);
        else
            snprintf(err, errlen, "connect %s:%d: %s", cfg->redis.host, cfg->redis.port, c->errstr);
        goto fail;
    }
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
