/* act_int: the actuator's state, shared by act.c (decisions, bans, unbans)
 * and act_sync.c (the Redis side: connection, retry, the queue, the scan,
 * keyspace events). Private to those two files. */
#ifndef FG_ACT_INT_H
#define FG_ACT_INT_H

#include <czmq.h>

#include "actuator/act.h"
#include "actuator/store.h"
#include "actuator/trust.h"
#include "common/log.h"

#define ACT_BACKOFF_MIN_MS 100
#define ACT_BACKOFF_MAX_MS 5000
#define ACT_RESUBSCRIBE_MS 5000
#define ACT_DEFAULT_BAN_TIME 1800
#define ACT_RL_MS 10000

/* A decision waiting for Redis. */
typedef struct {
    int action;
    bool enable_ban;
    ban_t ban;
} pending_t;

struct act_t {
    const fg_config_t *cfg;
    act_opts_t opts;
    store_t *store;
    trust_t *trust;
    zhashx_t *known; /* ip -> ban_t * (owned) */
    backend_t *backends[ACT_MAX_BACKENDS];
    int n_backends;
    pending_t *queue; /* ring */
    size_t qhead, qcount;
    bool synced;           /* the first scan (silent adoption) is done */
    bool told_config_refused;
    bool down_logged;
    uint64_t backoff_ms;
    uint64_t next_connect_ms, next_subscribe_ms, next_scan_ms; /* monotonic */
    act_stats_t st;
    fg_ratelimit_t rl_malformed, rl_redis, rl_badkeys, rl_refused, rl_log;
};

/* act_sync.c */

/* A store call failed: log (rate-limited) and, when the connection is gone,
 * schedule a reconnect. Returns 1 when the work should be retried later,
 * 0 when it is dropped. */
int act_redis_failed(act_t *self, const char *what);

/* Queue p (moved: *p is zeroed) behind what already waits; counted and
 * logged when the queue is full. */
void act_enqueue(act_t *self, pending_t *p);

/* act.c */

/* Apply one decision against Redis. 0 done, 1 retry later. */
int act_apply(act_t *self, pending_t *p);

/* A ban key we did not know: learn it; unless silent (start-up), it is a
 * manual ban: record it and tell the backends. */
void act_adopt(act_t *self, const char *ip, bool silent);

/* The known ban of ip is over: record it, tell the backends, forget it. */
void act_unban(act_t *self, const char *ip, const char *reason);

/* Why a known ban's key is gone: "expired" or "deleted". */
const char *act_vanish_reason(const ban_t *b);

/* Hand every known ban to each backend's sync. */
void act_backends_sync(act_t *self);

#endif
