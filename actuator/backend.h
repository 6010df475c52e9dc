/* backend: how a ban reaches the network. A small vtable: GoBGP, ExaBGP,
 * the notify script and the dry-run log.
 *
 * The actuator calls ban() for every ban it applies or adopts, unban() for
 * every ban that ends, and sync() with the complete list after it learned
 * the bans in Redis (start-up, reconnect): a route backend announces what is
 * missing and withdraws what is extra; the script backend does nothing (the
 * previous run already notified those). poll() runs every loop turn. */
#ifndef FG_ACT_BACKEND_H
#define FG_ACT_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actuator/ban.h"
#include "common/config.h"

typedef struct backend_t backend_t;

typedef struct {
    const char *name;
    /* Block b->ip. 0, or -1 (counted by the caller). */
    int (*ban)(backend_t *self, const ban_t *b);
    /* Lift the block of b->ip; reason is "expired" or "deleted". 0 or -1. */
    int (*unban)(backend_t *self, const ban_t *b, const char *reason);
    /* Make the backend's state match these bans exactly. 0 or -1. */
    int (*sync)(backend_t *self, const ban_t *const *bans, size_t n);
    /* Periodic work; never blocks. May be NULL. */
    void (*poll)(backend_t *self);
    /* Append " key=value..." counters for the stats line. May be NULL. */
    void (*stats)(const backend_t *self, char *buf, size_t len);
    void (*destroy)(backend_t *self);
    /* 1 when the backend can block now (BGP session established), 0 when
     * not; for the metrics (floodgate_actuator_backend_up) and `floodgate
     * status`. May be NULL: always up. */
    int (*up)(const backend_t *self);
    /* Wait up to timeout_ms for the work in flight; true when none is left.
     * May be NULL (nothing ever in flight). For tests and shutdown. */
    bool (*wait_idle)(backend_t *self, int timeout_ms);
    /* True while work in flight needs poll() soon (commands running or
     * queued, bytes waiting for a pipe): the daemon's loop then turns every
     * few milliseconds instead of every 100. May be NULL: never. */
    bool (*busy)(const backend_t *self);
} backend_ops_t;

/* Every backend starts with this header. */
struct backend_t {
    const backend_ops_t *ops;
};

/* The notify script backend for cfg's actuator section (notify_script,
 * notify_timeout, notify_queue, notify_parallel). It logs each failed run.
 * cfg is borrowed for the backend's life: a notify_script changed in it
 * (reload) is used from the next run. NULL when notify_script is empty or
 * on OOM. */
backend_t *backend_script_new(const fg_config_t *cfg);

/* The GoBGP backend (actuator/gobgp.c): routes in gobgpd's RIB through the
 * gobgp client at gobgp_client, API gobgp_api, next hops, communities,
 * prefix lengths and backend_* limits of cfg (borrowed). NULL on OOM or a
 * bad gobgp_api. */
backend_t *backend_gobgp_new(const fg_config_t *cfg);

/* The ExaBGP backend (actuator/exabgp.c): text API commands written to
 * exabgp_pipe, or to stdout when it is empty (the actuator runs as ExaBGP's
 * API process). NULL on OOM or when the pipe cannot be opened. */
backend_t *backend_exabgp_new(const fg_config_t *cfg);

/* The monotonic clock (ms) by which the ExaBGP backend retries opening its
 * pipe every second (default fg_mono_ms; NULL restores it): tests make that
 * second pass without waiting. Does nothing to another backend. */
void backend_exabgp_set_clock(backend_t *be, uint64_t (*clock)(void));

/* The prefix announced for a ban of ip: ip/32 or /128, or the configured
 * shorter length with the host bits cleared ("10.0.0.0/24"). out holds
 * FG_PREFIX_STRLEN. 0, or -1 when ip is not an address. */
int backend_prefix(const fg_config_t *cfg, const char *ip, char *out);

/* The dry-run backend: logs the prefix, next hop and communities a route
 * backend would announce or withdraw (cfg borrowed). NULL on OOM. */
backend_t *backend_log_new(const fg_config_t *cfg);

/* Destroy through the vtable and NULL the pointer. Idempotent. */
void backend_destroy(backend_t **self_p);

/* True when any of the n backends is busy (see backend_ops_t.busy). */
bool backend_any_busy(backend_t *const *backends, int n);

/* Wait (at most timeout_ms) for a backend's work in flight (script runs,
 * gobgp commands); true when none is left. */
bool backend_wait_idle(backend_t *self, int timeout_ms);

#endif
