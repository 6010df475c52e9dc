/* profile: a host's usual traffic breakdown, for FlowSpec collateral.
 *
 * Kept in each host's state (atk_state_t.prof, PROF_BYTES bytes): the
 * share of packets per class (tcp, tcp_syn, udp, icmp, fragments, other),
 * its usual incoming pps, and its PROF_ITEMS heaviest protocols, source
 * ports, destination ports and source prefixes (/24, /48) with their share
 * of packets, from the top contributors of the windows the aggregator
 * publishes. Learnt only from calm windows (the host not over a threshold
 * nor under attack, its group not under a network attack): the mean of the
 * first windows, then an exponential average over baseline_time, so an
 * attack never becomes the usual traffic. A window contributor not kept
 * replaces the lightest item once it weighs more; what the items of a kind
 * leave of 1 bounds the share of any value not listed (flowspec.h).
 * A profile counts once PROF_MIN_WINDOWS windows are learnt. Leaf module:
 * counts, never logs. */
#ifndef FG_PROFILE_H
#define FG_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "floodgate.pb-c.h"

#define PROF_ITEMS 8
#define PROF_CLASSES 6      /* FG_CLS_TCP .. FG_CLS_OTHER */
#define PROF_MIN_WINDOWS 5  /* calm windows before a profile is used */

/* kind[]: 0 empty, else one of these */
enum { PROF_SPORT = 1, PROF_DPORT, PROF_PROTO, PROF_SRC4, PROF_SRC6 };

typedef struct {
    uint64_t key[PROF_ITEMS];     /* port / protocol; PROF_SRC4: the /24's
                                     low half; PROF_SRC6: the /48's high half */
    float share[PROF_ITEMS];      /* of the host's packets (floats: a slow
                                     average in 16 bits would not decay) */
    float cls[PROF_CLASSES];      /* share of packets per class */
    float pps;                    /* usual incoming total */
    uint16_t windows;             /* calm windows learnt (saturates) */
    uint8_t kind[PROF_ITEMS];
} prof_t;

#define PROF_BYTES sizeof(prof_t)

/* Learn hw's window of window_ms into p (a calm window: the caller
 * decides). A window without packets is not learnt. Cannot fail. */
void prof_learn(prof_t *p, const Floodgate__HostWindow *hw, uint32_t window_ms,
                double baseline_time);

/* True when p has learnt PROF_MIN_WINDOWS windows. */
bool prof_known(const prof_t *p);

/* Room for one profile as a Decision's Profile message (see prof_fill). */
typedef struct {
    Floodgate__Profile msg;
    Floodgate__Contributor item[PROF_ITEMS];
    Floodgate__Contributor *ptr[PROF_ITEMS];
    double cls[PROF_CLASSES + 1]; /* FG_CLS_* order, the total first */
} prof_msg_t;

/* Fill out from p; out->msg points into out (valid while out is). Cannot
 * fail. */
void prof_fill(const prof_t *p, prof_msg_t *out);

#endif
