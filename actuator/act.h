/* act: the actuator's logic, callable without its ZeroMQ loop.
 *
 * Decisions become bans in Redis (store.h) and reach the backends
 * (backend.h). The actuator keeps the bans it knows in memory, with their
 * fields, so an unban can tell the backends what the attack was; Redis stays
 * the truth:
 *   - BAN or ONGOING for an ip whose ban key exists: nothing (counted),
 *     unless renewal = renew and less than min(renew_before, ban_time / 2)
 *     seconds are left: then the ban is renewed (ban_count + 1, expiry
 *     reset, event "renew"), the route untouched;
 *   - the same for a known ban whose key has just expired (its expiry not
 *     handled yet), renewal = renew: renewed, the route never withdrawn;
 *   - BAN or ONGOING for an ip without a ban key: a ban, ban_count = the
 *     ban_count of the newest history entry + 1 (so a continuing attack
 *     whose ban expired is banned again); a known ban whose key vanished is
 *     first recorded as lifted; refused (counted, alerted) when max_bans
 *     bans are in force;
 *   - bans and renewals of an ip within repeat_window carry
 *     repeat_offender and recent_bans in the event and history; each ban,
 *     renewal and unban is also a JSON line in attack_log;
 *   - a new ban (not a renewal) of an ip with a <prefix>:hold:<ip> key (the
 *     operator's `floodgate unban IP --hold D`): refused, counted;
 *   - enable_ban = false: an event "detect_only", no key;
 *   - a ban key that expires or is deleted (keyspace notification, or the
 *     periodic scan): an unban, reason expired or deleted;
 *   - a ban key the actuator did not write: adopted as a manual ban (at
 *     start-up silently: the previous run notified it).
 * While Redis is unreachable or refuses writes (MISCONF, READONLY, OOM,
 * NOREPLICAS...), decisions wait in a bounded queue (queue_max; beyond it
 * they are dropped, counted and logged) and Redis is retried with backoff; a
 * new ban is announced at once meanwhile (pending: the scan never withdraws
 * it) and its key written when Redis takes it. Redis back without any of
 * the bans known and with a new run_id / replication id (restarted empty):
 * the bans are written back with the time they had left, routes kept. No
 * call blocks longer than the command timeout per Redis command. This layer
 * logs (key=value lines).
 *
 * Several actuators may share one Redis: one holds the lease (act_ha.c) and
 * does all of the above, every write fenced by the lease's token; the others
 * (standby) only renew their claim, keep the last decisions, and announce
 * nothing. The one taking over reconciles with Redis: bans adopted
 * silently, unbans owed (announced bans whose key went while no one was
 * active) recorded once, routes synced, the decisions kept applied. */
#ifndef FG_ACT_ACT_H
#define FG_ACT_ACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actuator/backend.h"
#include "actuator/ban.h"
#include "actuator/trust.h"
#include "common/config.h"
#include "floodgate.pb-c.h"

#define ACT_MAX_BACKENDS 8

typedef struct act_t act_t;

typedef struct {
    bool notifications; /* keyspace notifications (the periodic scan runs regardless) */
    int timeout_ms;     /* per Redis connect and command */
    int queue_max;      /* decisions kept while Redis is down or refuses writes */
    uint64_t (*mono_ms)(void); /* the new-bans budget's and the lease's clock; NULL:
                                  fg_mono_ms (tests make time pass without waiting) */
} act_opts_t;

typedef struct {
    uint64_t decisions;      /* received */
    uint64_t malformed;      /* did not unpack, or invalid */
    uint64_t whitelisted;    /* refused: the address is on the whitelist (= trust's count) */
    uint64_t bans;           /* applied (written to Redis) */
    uint64_t already_banned; /* BAN for an ip with a ban key */
    uint64_t ongoing;        /* ONGOING for an ip with a ban key (or detect-only) */
    uint64_t detect_only;    /* BAN with enable_ban = false */
    uint64_t unbans_expired;
    uint64_t unbans_deleted;
    uint64_t manual_adopted; /* keys that appeared without us */
    uint64_t adopted_at_start;
    uint64_t redis_errors;
    uint64_t queue_depth;
    uint64_t queue_dropped;
    uint64_t bad_keys;       /* <prefix>:ban:<x> where x is not a canonical address */
    uint64_t backend_errors;
    uint64_t known;          /* bans in memory */
    uint64_t renewed;        /* bans extended by an ongoing attack (route kept) */
    uint64_t refused_max_bans; /* new bans refused: max_bans in force already */
    uint64_t repeat_offenders; /* bans and renewals flagged repeat_offender */
    uint64_t attack_log_lines;
    uint64_t attack_log_errors;
    trust_stats_t trust;       /* refusals by reason, key corrections, forced bans */
    uint64_t refused_hold;     /* new bans refused: the operator holds the address */
    uint64_t redis_refusals;   /* writes Redis refused for now (MISCONF, READONLY, OOM...) */
    uint64_t queue_coalesced;  /* decisions not queued: one for the same ip waits already */
    uint64_t provisional;      /* bans announced before Redis took their key */
    uint64_t pending_withheld; /* not announced early: the lease lapsed (act_ha_lapsed) */
    uint64_t restored;         /* bans written back after Redis lost its data */
    uint64_t redis_data_lost;  /* times Redis came back without any of our bans */
    uint64_t redis_writable;   /* 1 while Redis is up and accepts writes */
    uint64_t flowspec_waits;   /* new bans not made: no usable FlowSpec rules (policy flowspec) */
    uint64_t flowspec_fallbacks; /* blackholed instead: no usable rules (flowspec_then_blackhole) */
    uint64_t flowspec_escalations; /* rules replaced by the blackhole: the attack went on */
    uint64_t active;           /* 1 while this actuator holds the lease */
    uint64_t takeovers;        /* times it became the active one */
    uint64_t step_downs;       /* times it found another holding the lease */
    uint64_t standby_ignored;  /* decisions received in standby (kept for a takeover) */
    uint64_t replayed;         /* of those, applied at a takeover */
    uint64_t unbans_owed;      /* unbans found at a takeover (key gone, unban not recorded) */
    uint64_t fenced_writes;    /* writes refused: the lease was no longer ours */
} act_stats_t;

/* Defaults: notifications on, 500 ms timeout, 10000 queued decisions. */
act_opts_t act_opts_default(void);

/* A new actuator for cfg (borrowed, must outlive it). Not connected yet.
 * NULL on OOM. */
act_t *act_new(const fg_config_t *cfg, const act_opts_t *opts);

/* Free everything, backends included; NULL the pointer. Idempotent. */
void act_destroy(act_t **self_p);

/* Add a backend; ownership moves (*backend_p is NULLed). 0, or -1 when full
 * (the backend is destroyed). */
int act_add_backend(act_t *self, backend_t **backend_p);

/* Connect to Redis, enable keyspace notifications, subscribe, learn the
 * existing bans (silently) and sync the backends. 0, or -1 when Redis is not
 * reachable (logged; act_tick() retries). */
int act_start(act_t *self);

/* One message from the detector: unpack and act. 0, or -1 when malformed
 * (counted). */
int act_message(act_t *self, const void *data, size_t size);

/* Act on one decision (borrowed). 0, or -1 when it is invalid (counted as
 * malformed). A decision that cannot be applied now is queued. */
int act_decision(act_t *self, const Floodgate__Decision *d);

/* Periodic work, every loop turn: backends' poll, reconnect, resubscribe,
 * the scan every check_interval, the queue. Never blocks longer than a few
 * Redis commands. */
void act_tick(act_t *self);

/* Compare the ban keys in Redis with the bans known: adopt new keys, unban
 * vanished ones. 0 or -1 (Redis error). */
int act_scan(act_t *self);

/* After a reload of the config: check every known ban again (address,
 * TTL); those now refused (whitelisted, no longer monitored) lose their key
 * and are unbanned (reason refused), announced bans whose key waits for
 * Redis too. With Redis away, the next scan does it. */
void act_recheck(act_t *self);

/* The keyspace subscription's fd (poll it for input), or -1. */
int act_sub_fd(const act_t *self);

/* The subscription fd is readable: handle the events that arrived. */
void act_sub_ready(act_t *self);

/* The known ban of ip, or NULL. Borrowed: valid until the next call. */
const ban_t *act_known_ban(const act_t *self, const char *ip);

void act_get_stats(const act_t *self, act_stats_t *out);

/* True while the Redis connection is up. */
bool act_redis_up(const act_t *self);

/* 0 while Redis is up and accepts writes; else -1 and why ("redis
 * unreachable", "redis refuses writes: MISCONF", with the queue depth) in
 * why. */
int act_redis_health(const act_t *self, char *why, size_t len);

/* The backends, for the metrics: how many, and backend i (borrowed). */
int act_backend_count(const act_t *self);
const backend_t *act_backend(const act_t *self, int i);

/* True while this actuator holds the lease (the active one). */
bool act_is_active(const act_t *self);

/* The lease value last seen ("<id> <token>" of the active actuator), "" when
 * none yet. Borrowed. */
const char *act_lease_holder(const act_t *self);

/* A clean stop: give the lease up so a standby takes over at once. */
void act_release(act_t *self);

/* Log the stats line (event=stats ...). */
void act_log_stats(const act_t *self);

/* Wait up to timeout_ms for the backends' running work (scripts). */
void act_wait_backends(act_t *self, int timeout_ms);

/* True while a backend has work in flight that its poll() should see within
 * milliseconds (its commands finishing): the loop then turns faster. */
bool act_busy(const act_t *self);

#endif
