/* cli/util.c: small helpers shared by the CLI's commands. */
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"

char *cli_duration(long long s, char *out, size_t len)
{
    if (s < 0)
        snprintf(out, len, "never");
    else if (s >= 86400)
        snprintf(out, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        snprintf(out, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
    else if (s >= 60)
        snprintf(out, len, "%lldm%02llds", s / 60, s % 60);
    else
        snprintf(out, len, "%llds", s);
    return out;
}

redisReply *cli_command(redisContext *c, int type, const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (r && r->type == type)
        return r;
    fprintf(stderr, "floodgate: %s failed: %s\n", what,
            !r ? c->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
    freeReplyObject(r);
    return NULL;
}
