/* trust: what the actuator accepts as a ban, whoever sent it (issue 11).
 *
 * A second wall behind CurveZMQ and the Redis ACL: every decision and every
 * ban key found in Redis passes the same checks before it becomes a ban:
 *   - the address is a unicast host address (not 0.0.0.0, ::, loopback,
 *     multicast, broadcast), inside networks/monitored (a manual_force key
 *     may be outside) and not whitelisted (never, forced or not);
 *   - its fields are well formed (direction, numbers finite and >= 0,
 *     bounded strings, integers where integers belong);
 *   - its ban time is within its hostgroup's max_ban_time.
 * It also holds the budget of new detector bans (new_bans_max per
 * new_bans_window), the refusal and correction counters, and the refusal
 * log: one line per address and reason per TRUST_LOG_MS, at most
 * TRUST_LOG_BURST lines per 10 s in all (the rest counted as held). This
 * layer logs. */
#ifndef FG_ACT_TRUST_H
#define FG_ACT_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actuator/ban.h"
#include "actuator/store.h"
#include "common/config.h"
#include "floodgate.pb-c.h"

#define TRUST_LOG_MS 600000 /* an address's refusal is logged again after this */
#define TRUST_LOG_BURST 20  /* refusal lines per 10 s, all addresses together */

typedef enum {
    TRUST_OK = 0,
    TRUST_UNMONITORED, /* outside networks/monitored */
    TRUST_WHITELISTED,
    TRUST_BAD_ADDRESS, /* not a unicast host address */
    TRUST_BAD_FIELD,   /* a field malformed or out of range */
    TRUST_BAN_TIME,    /* longer than the hostgroup's max_ban_time */
    TRUST_BAN_RATE,    /* new_bans_max new bans within new_bans_window */
    TRUST_MAX_BANS,    /* max_bans detector bans in force */
    TRUST_WRONG_TYPE,  /* a key under <prefix>:ban: that is not a HASH */
    TRUST_HOLD,        /* the operator holds the address (<prefix>:hold:<ip>, unban --hold) */
    TRUST_NREASONS
} trust_reason_t;

typedef enum {
    TRUST_FIX_IP_FIELD = 0, /* the ip field disagreed with the key name */
    TRUST_FIX_NO_TTL,       /* no TTL: given the hostgroup's ban_time */
    TRUST_FIX_TTL_CUT,      /* TTL beyond max_ban_time: cut to it */
    TRUST_FIX_HOLD_NO_TTL,  /* a hold key without TTL: given max_ban_time */
    TRUST_NFIXES
} trust_fix_t;

typedef struct {
    uint64_t decisions[TRUST_NREASONS]; /* decisions refused, by reason */
    uint64_t keys[TRUST_NREASONS];      /* ban keys refused (deleted), by reason */
    uint64_t fixes[TRUST_NFIXES];       /* ban keys corrected, by fix */
    uint64_t forced;                    /* manual_force bans outside networks/monitored */
    uint64_t log_held;                  /* refusal lines held back by the log limit */
} trust_stats_t;

typedef struct trust_t trust_t;

/* A new trust state for cfg (borrowed, must outlive it). NULL on OOM. */
trust_t *trust_new(const fg_config_t *cfg);

/* Free it and NULL the pointer. Idempotent. */
void trust_destroy(trust_t **self_p);

/* The metric label of a reason or a fix. */
const char *trust_reason_name(trust_reason_t r);
const char *trust_fix_name(trust_fix_t f);

/* Check an address. force: a manual_force ban, allowed outside the
 * monitored networks. *group gets the address's hostgroup (the default
 * group when forced outside). TRUST_OK or the reason. */
trust_reason_t trust_check_addr(const trust_t *self, const fg_addr_t *a, bool force,
                                const fg_hostgroup_t **group);

/* Check a decision (borrowed) as received: address, fields, ban time.
 * *group gets the address's hostgroup; *ban_time the ban time to apply
 * (the decision's, or the group's ban_time when it asks none). */
trust_reason_t trust_check_decision(const trust_t *self, const Floodgate__Decision *d,
                                    const fg_hostgroup_t **group, uint32_t *ban_time);

/* Take one new detector ban from the budget at monotonic time now_ms: true
 * when it fits, false when new_bans_max bans were made within the window
 * (the first refusal of a window is logged at warn). */
bool trust_budget_take(trust_t *self, uint64_t now_ms);

/* Give back the ban taken last (its key was not written: Redis refused or
 * failed), so a retry, or the provisional announce that follows, does not
 * spend the budget a second time for one ban. */
void trust_budget_return(trust_t *self);

/* Count a refusal (of a decision when key is false, of a ban key when
 * true) and log it once per address (rate-limited). detail: a short
 * key=value text for the log, or NULL. */
void trust_refused(trust_t *self, bool key, const char *ip, trust_reason_t r,
                   const char *detail);

/* Count a correction of a ban key and log it (rate-limited like refusals). */
void trust_fixed(trust_t *self, const char *ip, trust_fix_t f, const char *detail);

/* Count and log (warn) a forced ban outside the monitored networks. */
void trust_forced(trust_t *self, const char *ip);

/* Read the ban key of ip from store and vet it (the README's rules):
 *   - not a HASH, an address refused by trust_check_addr (source
 *     manual_force may be outside networks/monitored), a malformed field:
 *     refused: the key is deleted, the refusal counted, logged and recorded
 *     in the events stream (event refused);
 *   - an ip field that is not the key's address: rewritten (the key name
 *     is the truth);
 *   - no TTL: the hostgroup's ban_time (kept permanent only for a manual
 *     ban when allow_permanent_manual_bans is on);
 *   - a TTL beyond max_ban_time: cut to it.
 * Returns 1 with the ban in *out (to adopt), 0 refused or gone, -1 Redis
 * error (out is clear unless 1). */
int trust_vet_key(trust_t *self, store_t *store, const char *ip, uint64_t now_ms, ban_t *out);

/* A known ban whose key outlived its expiry (someone changed its TTL, e.g.
 * PERSIST): read the TTL again and apply trust_vet_key's TTL rules; b's
 * expiry is updated. 0, or -1 on a Redis error. */
int trust_recheck_ttl(trust_t *self, store_t *store, ban_t *b, uint64_t now_ms);

/* After a reload: may the known ban b stay? Its address is checked again
 * (a manual_force ban may stay outside the monitored networks); refused:
 * its key is deleted, the refusal counted and logged, and the reason is
 * returned (the caller unbans it). TRUST_OK otherwise, its TTL checked
 * against the hostgroup's max_ban_time as trust_recheck_ttl does. */
trust_reason_t trust_recheck(trust_t *self, store_t *store, ban_t *b, uint64_t now_ms);

void trust_get_stats(const trust_t *self, trust_stats_t *out);

#endif
