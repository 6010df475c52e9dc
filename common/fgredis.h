/* fgredis: connecting to the Redis that holds the ban state.
 *
 * One place that knows the config's Redis address forms (host:port,
 * [v6]:port, unix:/path), AUTH (password, or ACL user + password) and SELECT,
 * so the actuator and the CLI connect the same way. */
#ifndef FG_FGREDIS_H
#define FG_FGREDIS_H

#include <hiredis.h>
#include <stddef.h>

#include "common/config.h"

/* Connect, authenticate and select the database, with timeout_ms for the
 * connection and for every later command. With redis/sentinels, the master
 * is the one the first sentinel that answers names (SENTINEL
 * get-master-addr-by-name redis/sentinel_master), asked again at every
 * connection: a caller follows a failover by connecting again (after a
 * lost connection or a READONLY reply). Returns the context (free with
 * redisFree) or NULL with the reason in err. */
redisContext *fg_redis_connect(const fg_config_t *cfg, int timeout_ms, char *err, size_t errlen);

/* The key "<prefix>:<kind>:<ip>" (kind "ban", "history") or, with ip NULL,
 * "<prefix>:<kind>" ("events"). Returns out. */
char *fg_redis_key(const fg_config_t *cfg, const char *kind, const char *ip, char *out,
                   size_t outlen);

#endif
