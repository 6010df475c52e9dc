/* store_int: the store's state and the helpers its files share (store.c:
 * bans, history, events, scan; store_ha.c: the lease, the fence, the record
 * of announced bans). Private to the store: st_ names are not API. */
#ifndef FG_ACT_STORE_INT_H
#define FG_ACT_STORE_INT_H

#include <hiredis.h>

#include "actuator/store.h"

#define STORE_KEY_MAX (FG_NAME_MAX + 16 + FG_ADDR_STRLEN)
#define STORE_SCAN_MAX_CALLS 1000000 /* a server that never ends a SCAN */
#define STORE_HASH_MAX_FIELDS 64     /* fields of a hand-written hash we look at */
#define STORE_XADD_MAX_ARGS (8 + 4 + 4 + 2 * BAN_NFIELDS)
#define STORE_FENCE_MAX 192

struct store_t {
    const fg_config_t *cfg;
    int timeout_ms;
    redisContext *ctx; /* commands */
    redisContext *sub; /* subscribed to keyevents */
    uint64_t errors;
    char err[256];
    char refusal[16]; /* code of the last failure when Redis refused for now, else "" */
    char fence[STORE_FENCE_MAX]; /* the lease value every write must find, "" = none */
    bool fenced;      /* the last failure was the lease held by another actuator */
    uint64_t fenced_writes;
};

/* Count a failure of what (why: Redis's error text or ours). */
void st_fail(store_t *self, const char *what, const char *why);

/* The command connection failed: count it and close it. */
void st_lost(store_t *self, const char *what);

/* Is r of type? Otherwise count it (an error reply's text is kept). */
bool st_is(store_t *self, const redisReply *r, int type, const char *what);

/* One command; the reply is the caller's to free, NULL when the connection
 * failed (then closed). */
redisReply *st_cmd(store_t *self, const char *what, const char *fmt, ...);

/* "<prefix>:<kind>:<ip>" into buf (STORE_KEY_MAX bytes). */
void st_key(const store_t *self, char *buf, const char *kind, const char *ip);

/* Read n pipelined replies into out; on a connection failure free what was
 * read, close the connection and return -1. */
int st_replies(store_t *self, int n, redisReply **out, const char *what);

void st_free(redisReply **r, int n);

/* Before a write: when a fence is set, WATCH the lease key (watch) and
 * check that it still holds the fence. 0 go on (a MULTI/EXEC that follows
 * aborts if the lease changes meanwhile), -1 fenced (counted, store_fenced()
 * true) or the connection failed. */
int st_fence(store_t *self, bool watch);

/* EXEC answered nil: the lease changed under the WATCH. Counted as fenced. */
void st_exec_aborted(store_t *self, const char *what);

/* Queue HSET <prefix>:announced ip line (a ban recorded) or, line NULL,
 * HDEL (its unban recorded). */
void st_append_announced(store_t *self, const char *ip, const char *line);

#endif
