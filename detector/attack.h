/* attack: the detector's attack state per (address, direction).
 *
 * A small open-addressing table (linear probing, backward-shift deletion)
 * that starts small and doubles while at most half full, up to max states;
 * expired states are removed by a sweep that goes on where it stopped.
 * Holds every host the detector averages (published above the watch floor),
 * attacking or not. Pointers to states are valid until the next insert or
 * expire. Leaf
 * module: no logging. */
#ifndef FG_ATTACK_H
#define FG_ATTACK_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "detector/profile.h"

/* Averaged rates of one host: [FG_CLS_*][ATK_PPS / ATK_MBPS / ATK_FLOWS]. */
enum { ATK_PPS = 0, ATK_MBPS, ATK_FLOWS, ATK_METRICS };

typedef struct {
    fg_addr_t addr;
    uint8_t dir;
    uint8_t used;
    uint8_t attacking;         /* a BAN was sent and the attack has not ended */
    uint8_t based;             /* base holds: 1 learnt, 2 provisional (see detect.c) */
    uint32_t over;             /* consecutive windows over threshold */
    uint64_t first_seen_ms;    /* window end of the first window over threshold */
    uint64_t last_over_ms;     /* attacking: last time above the release level;
                                  else: last update */
    uint64_t last_decision_ms; /* last BAN or ONGOING sent */
    uint64_t last_window_ms;   /* window end of the last update, 0 = none */
    double avg[7][ATK_METRICS];
    float base[ATK_METRICS];   /* incoming total's slow baseline (carpet bombing) */
    float pend[ATK_METRICS];   /* the last calm window, learnt once the next is calm */
    prof_t prof;               /* usual traffic breakdown (FlowSpec collateral) */
} atk_state_t;

typedef struct atk_table atk_table_t;

/* A table for up to max states (>= 1), or NULL when out of memory. */
atk_table_t *atk_new(uint32_t max);

/* Free and NULL the caller's pointer. Idempotent. */
void atk_destroy(atk_table_t **self_p);

/* The state of (addr, dir), or NULL. Cannot fail. */
atk_state_t *atk_find(atk_table_t *self, const fg_addr_t *addr, uint8_t dir);

/* A new zeroed state for (addr, dir), which must not be present, or NULL
 * when the table holds max states or cannot grow (out of memory). */
atk_state_t *atk_insert(atk_table_t *self, const fg_addr_t *addr, uint8_t dir);

/* When the table is full: remove the state that is not attacking and has
 * the lowest averaged total pps, below below, among up to 64 states from a
 * cursor that moves on with each call (so spoofed hosts cannot pin one
 * region). Returns 0 when one was removed, -1 when none qualifies. */
int atk_evict(atk_table_t *self, double below);

/* Remove the state of (addr, dir) if present. Cannot fail. */
void atk_remove(atk_table_t *self, const fg_addr_t *addr, uint8_t dir);

/* Visit up to budget slots, from where the last call stopped and wrapping
 * around, and remove the states whose last_over_ms is end_ms or more before
 * now_ms (budget atk_slots() or more: every slot). A caller spreads a pass
 * over its calls, so that its cost per call does not grow with the states
 * held (hosts sprayed above the watch floor) times the calls (windows of
 * every shard). Returns the number removed; *attacks (when not NULL) gets
 * how many of them were attacking. */
size_t atk_expire(atk_table_t *self, uint64_t now_ms, uint64_t end_ms, size_t budget,
                  size_t *attacks);

/* States held, and slots (the table's size). */
size_t atk_size(const atk_table_t *self);
size_t atk_slots(const atk_table_t *self);

#endif
