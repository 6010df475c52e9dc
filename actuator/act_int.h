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
#define ACT_RESTORE 1000 /* action: write a known ban back (Redis lost it) */
#define ACT_RECORD 1001  /* queued action: a history line and event to write */
#define ACT_SWEEP_MS 1000
#define ACT_ID_MAX 96    /* run_id + master_replid */
#define ACT_RECENT 256   /* decisions a standby keeps for a takeover */
#define ACT_LEASE_MAX 192

/* A decision waiting for Redis (or, action ACT_RESTORE, a known ban to
 * write back, never queued). */
typedef struct {
    int action;
    bool enable_ban;
    ban_t ban;
    /* ACT_RECORD: what store_record() is to write, as of at_ms */
    char event[16], reason[24];
    bool with_history;
    uint64_t at_ms;
    /* FlowSpec: why no rule set is usable ("" = usable or not asked), and
     * whether the hostgroup then falls back to the blackhole */
    char fs_wait[16];
    bool fs_fallback;
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
    size_t restores;  /* known bans to write back (restore flag) */
    zhashx_t *queued; /* ip -> decisions of it in the queue (a count, as a pointer) */
    zhashx_t *detected; /* detect-only: ip -> its attack's end (mono ms, as a pointer) */
    bool synced;           /* the first scan (silent adoption) is done */
    bool recheck_due;      /* a reload came while Redis was away: the next scan rechecks */
    bool told_config_refused;
    bool down_logged;
    char refusing[16];     /* Redis refuses writes: the code (MISCONF...), else "" */
    char redis_id[ACT_ID_MAX]; /* run_id and master_replid at the last scan */
    uint64_t backoff_ms;
    uint64_t next_connect_ms, next_subscribe_ms, next_scan_ms; /* monotonic */
    uint64_t next_retry_ms, next_sweep_ms;                    /* monotonic */
    /* several actuators on one Redis (act_ha.c) */
    bool active;           /* holds the lease: writes Redis, drives the backends */
    bool ha_started;       /* the first lease answer came */
    char lease_id[128];    /* this actuator's id (actuator/id or host/bind) */
    char lease_name[160];  /* "<id> <nonce>": the lease is "<lease_name> <token>" */
    char lease[ACT_LEASE_MAX];  /* the lease value we hold ("" standby) */
    char holder[ACT_LEASE_MAX]; /* the lease value last seen */
    uint64_t next_lease_ms;     /* monotonic */
    uint64_t lease_ok_ms;       /* monotonic: the lease last taken or renewed */
    pending_t *recent;     /* standby: the last ACT_RECENT decisions (at_ms = arrival) */
    size_t rhead, rcount;
    act_stats_t st;
    fg_ratelimit_t rl_flowspec, rl_malformed, rl_redis, rl_badkeys, rl_refused, rl_log, rl_queue;
};

/* act_sync.c */

/* A store call failed: log (rate-limited) and, when the connection is gone,
 * schedule a reconnect. Returns 1 when the work should be retried later,
 * 0 when it is dropped. */
int act_redis_failed(act_t *self, const char *what);

/* Queue p (moved: *p is zeroed) behind what already waits; counted and
 * logged when the queue is full. */
void act_enqueue(act_t *self, pending_t *p);

/* Is a decision for ip waiting in the queue already? */
bool act_queued(const act_t *self, const char *ip);

/* Connected (or active again): subscribe, scan, apply the queue. */
void act_sync_resume(act_t *self);

/* act_ha.c */

/* The lease, every lease_ms / 3 (active) or / 10 (standby): renew, take
 * over (reconcile with Redis, replay the decisions kept), or step down. */
void act_ha_tick(act_t *self);

/* A write was fenced: ask for the lease at once (step down or re-take). */
void act_ha_fenced(act_t *self);
/* Active, redundant (actuator/connect lists several), and the lease not
 * renewed for lease_ms: another actuator may be active now. */
bool act_ha_lapsed(const act_t *self);

/* A standby keeps decision p (moved) for a takeover. */
void act_ha_keep(act_t *self, pending_t *p);

/* The first scan after a start or takeover: the record of announced bans
 * against the keys present (ip -> any): unbans owed for announced bans
 * without a key (recorded once, routes withdrawn, scripts run), entries
 * written for keys adopted without one. */
void act_ha_reconcile(act_t *self, zhashx_t *present);

/* A decision with enable_ban = false: one "detect_only" event per attack
 * (act_detect.c), every BAN counted. 0 done, 1 retry later. */
int act_detect_only(act_t *self, pending_t *p, uint32_t ban_time);

/* Log a ban-like event of b (ban, renew, detect_only) at info. */
void act_log_ban(const ban_t *b, const char *event);

/* act.c */

/* Apply p now or queue it (Redis busy): what act_decision does once the
 * decision is checked. p's ban is consumed. */
void act_submit(act_t *self, pending_t *p);

/* Record an event of b (store_record); when Redis cannot take it now, it
 * is queued with its time and written later. */
void act_record(act_t *self, const ban_t *b, const char *event, const char *reason,
                bool with_history);

/* While Redis cannot take it: announce the ban of p at once (pending: its
 * key is written when the queued decision is applied). Nothing when p is
 * not a ban, ip is banned already or max_bans bans are in force. */
void act_announce_pending(act_t *self, const pending_t *p, const char *why);

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

/* Tell every backend of a ban / its end (failures counted). */
void act_backends_ban(act_t *self, const ban_t *b);
void act_backends_unban(act_t *self, const ban_t *b, const char *reason);

/* Move *b into the known table (replacing and freeing a ban of the same
 * ip); NULL on OOM (b is cleared). */
ban_t *act_remember(act_t *self, ban_t *b);

/* act_flowspec.c */

/* The hostgroup g's mitigation for decision d into p: detect_only clears
 * enable_ban; flowspec... make p->ban's rules or say in p->fs_wait why
 * none are usable. */
void act_fs_plan(act_t *self, const fg_hostgroup_t *g, const Floodgate__Decision *d,
                 pending_t *p);

/* Before a new ban of p: the cap on rules in force; 1 when the ban waits
 * (policy flowspec, no usable rules: counted, logged), 0 to go on (with
 * the rules, or with the blackhole as fallback). */
int act_fs_admit(act_t *self, pending_t *p);

/* Is the known ban k (rules) to escalate to the blackhole now? */
bool act_fs_escalate_due(const act_t *self, const ban_t *k);

/* Escalate k: the blackhole instead of its rules. 0 done, 1 retry. */
int act_fs_escalate(act_t *self, const ban_t *k);

#endif
