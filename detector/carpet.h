/* carpet: who carries a network-wide (carpet bombing) attack.
 *
 * When a hostgroup's summed incoming rate crosses its network threshold,
 * only the hosts that carry the increase are banned: those whose averaged
 * rate is at least network_rise x their baseline, a slow exponential
 * average (network_baseline_time) of their incoming total that the
 * detector keeps in each host's state (atk_state_t.base).
 *
 * The baseline learns only while the group is calm (every shard reported,
 * no network metric over, no network attack) and the host is not under
 * attack, so an attack never teaches itself as usual; and a calm window
 * is learnt only once the next one is calm too (the group's sum lags the
 * hosts by a window, so an attack's first window can look calm). A host the detector
 * sees for the first time has the group's watch floor as its usual rate: it
 * was not published before, so it was below the floor. Its own rate
 * becomes its baseline only after CARPET_SETTLE calm windows in a row (the
 * first windows of an attack can look calm: the group's sum lags a window
 * behind the hosts). The usual rate never counts below the watch floor
 * either (a host near the floor is published only now and then). A host's
 * baseline is forgotten with its state (attack_end seconds unpublished); it
 * then comes back as a new host.
 *
 * The prefix around each banned host (network_prefix_v4 / _v6) is tallied
 * per hostgroup and attack (up to CARPET_PREFIXES prefixes, the rest
 * counted as other) so logs and reports say which prefix held the attack.
 * Leaf module: counts, never logs. */
#ifndef FG_CARPET_H
#define FG_CARPET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "detector/attack.h"

#define CARPET_PREFIXES 16
#define CARPET_SETTLE 5 /* calm windows in a row before a new host's rate is usual */

typedef struct {
    fg_prefix_t prefix;
    uint32_t bans;
} carpet_prefix_t;

/* Network bans of one hostgroup's network attack, by prefix. */
typedef struct {
    carpet_prefix_t top[CARPET_PREFIXES];
    size_t n;
    uint32_t bans;  /* every network ban of this attack */
    uint32_t other; /* bans in prefixes beyond the first CARPET_PREFIXES */
} carpet_tally_t;

/* The incoming watch floor of hg per metric (ATK_PPS, ATK_MBPS,
 * ATK_FLOWS), as the aggregator derives it (aggregator/agg.c): the lowest
 * incoming threshold over the classes x watch_floor, lowered to the
 * network_host_floor when a network threshold is set; 0 where none
 * applies. Cannot fail. */
void carpet_floor(const fg_hostgroup_t *hg, double watch_floor, double out[ATK_METRICS]);

/* Update st's baseline with the window's incoming total x (per metric) of
 * window_ms. calm: the group is calm and the host not under attack (see
 * above). Cannot fail. */
void carpet_learn(atk_state_t *st, const double x[ATK_METRICS], bool calm, uint32_t window_ms,
                  double baseline_time);

/* True when the averaged rate avg (in metric m) is at least rise x the
 * host's usual rate (its baseline, never below floor[m]); *usual gets that
 * usual rate. rise 0 (off): always true. */
bool carpet_risen(const atk_state_t *st, double avg, int m, double rise,
                  const double floor[ATK_METRICS], double *usual);

/* The prefix of hg's network_prefix_v4 / _v6 around addr. */
fg_prefix_t carpet_prefix(const fg_hostgroup_t *hg, const fg_addr_t *addr);

/* Forget the tally (a new network attack starts). */
void carpet_tally_reset(carpet_tally_t *t);

/* Count one network ban in prefix p. Returns the bans of p so far (this one
 * included), or 0 when p is beyond the tallied prefixes (counted as
 * other). */
uint32_t carpet_tally_ban(carpet_tally_t *t, const fg_prefix_t *p);

/* The bans of p so far, 0 when not tallied. */
uint32_t carpet_tally_get(const carpet_tally_t *t, const fg_prefix_t *p);

/* The tallied prefix with the most bans, or NULL when none. */
const carpet_prefix_t *carpet_tally_top(const carpet_tally_t *t);

#endif
