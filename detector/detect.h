/* detect: the detector's logic without sockets.
 *
 * WindowBatch messages go in (det_ingest, or det_window for an unpacked
 * one). Every host window (incoming and outgoing) updates the host's
 * exponential average (the hostgroup's average_time), which is checked
 * against the hostgroup's thresholds of its direction, in total and per
 * class. consecutive_windows windows over a threshold make a BAN, and so
 * does one window whose rate's lower confidence bound (the hostgroup's
 * confidence, det_lower_bound) is over a threshold; then the
 * attack goes on while the average stays above hysteresis x threshold, with
 * at most one ONGOING per ongoing_interval, and after attack_end seconds
 * below that the state is forgotten so the next detection is a fresh BAN.
 * The hostgroup totals of every shard are summed for the network-wide
 * thresholds (carpet bombing): while one is crossed, the hosts of the
 * group above network_host_floor that carry the increase (network_rise x
 * their usual rate, see carpet.h) are banned, naming the prefix around
 * them; hosts at their usual rate are spared. Decisions go
 * out through a callback; one it cannot queue is counted as dropped (and a
 * dropped BAN is retried with the next window over threshold). Leaf module:
 * counts, never logs. Time is given by the caller. */
#ifndef FG_DETECT_H
#define FG_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "detector/carpet.h"
#include "floodgate.pb-c.h"

typedef struct {
    uint64_t windows;          /* WindowBatch messages taken */
    uint64_t windows_lost;     /* sequence gaps, summed over shards */
    uint64_t malformed;        /* messages that did not unpack */
    uint64_t shard_resets;     /* a shard's sequence went back (restart) */
    uint64_t bad_shard;        /* shard index outside the configured shards (refused) */
    uint64_t wrong_shard;      /* from another shard's socket, or shard count (refused) */
    uint64_t hosts_evaluated;  /* host windows checked (both directions) */
    uint64_t hosts_out;        /* outgoing host windows among them */
    uint64_t unmonitored;      /* hosts in no hostgroup of this config */
    uint64_t whitelisted;      /* skipped: on the whitelist */
    uint64_t over_threshold;   /* host windows over a threshold */
    uint64_t bans;             /* BAN decisions queued */
    uint64_t bans_one_window;  /* of them, on one window's confidence bound */
    uint64_t ongoing;          /* ONGOING decisions queued */
    uint64_t dropped;          /* decisions the callback could not queue */
    uint64_t attacks_full;     /* no room for a host's state (table full, none quieter) */
    uint64_t evicted;          /* states given up for a busier new host */
    uint64_t attacks_ended;    /* attack states forgotten after attack_end */
    uint64_t network_attacks;  /* hostgroup network-wide thresholds crossed */
    uint64_t network_bans;     /* BANs of hosts that carried a network attack */
    uint64_t network_spared;   /* host windows above the network floor during a
                                  network attack, at their usual rate: not banned */
} det_stats_t;

/* Queue one decision (borrowed for the call). Returns 0 when queued, -1
 * when it could not be (counted as dropped). */
typedef int (*det_emit_fn)(const Floodgate__Decision *d, void *arg);

typedef struct det det_t;

/* A detector for cfg (borrowed, must outlive it) sending decisions to emit
 * with arg, or NULL when out of memory. */
det_t *det_new(const fg_config_t *cfg, det_emit_fn emit, void *arg);

/* Free and NULL the caller's pointer. Idempotent. */
void det_destroy(det_t **self_p);

/* Unpack one WindowBatch that came from shard's socket and take it
 * (det_window). Returns 0, or -1 when the bytes are not a WindowBatch
 * (counted as malformed) or its header names another shard or shard count
 * (counted as wrong_shard, not used). shard -1: any shard. */
int det_ingest(det_t *self, const uint8_t *buf, size_t len, int shard, uint64_t now_ms);

/* Take one window batch received at now_ms: sequence check, thresholds,
 * decisions, then expiry of ended attacks. A shard index outside the
 * config is counted (bad_shard) and the window not used. */
void det_window(det_t *self, const Floodgate__WindowBatch *wb, uint64_t now_ms);

/* Forget attacks with no window over threshold for attack_end seconds;
 * call it periodically so attacks end even when no windows arrive. */
void det_tick(det_t *self, uint64_t now_ms);

/* The first metric over scale x its threshold in th (indexed by FG_CLS_*;
 * per class pps, then mbps, then flows; 0 disables one), given the rates
 * avg[class][pps, mbps, flows]. Returns its name ("pps", "udp_mbps", ...)
 * with the value and the (unscaled) threshold, or NULL when none is over. */
const char *det_over_any(const fg_thresholds_t th[FG_CLASSES], const double avg[][3],
                         double scale, double *value, double *threshold);

/* Lower confidence bound (one-sided, z standard deviations) of a rate
 * measured in one window where the largest single record or sample
 * brought largest (same unit): the window holds k = rate / largest
 * samples, counted as Poisson, and the bound is largest x the Poisson
 * lower limit of k (Wilson-Hilferty: k (1 - 1/9k - z/3 sqrt k)^3, 0 when
 * negative). largest 0 (held long-flow rates only) or z 0: rate itself. */
double det_lower_bound(double rate, double largest, double z);

/* The first metric whose rate x[class][metric] has a lower bound
 * (det_lower_bound with largest[metric] and z) over its threshold in th;
 * its name, with the rate and the threshold, or NULL. */
const char *det_over_bound(const fg_thresholds_t th[FG_CLASSES], const double x[][3],
                           const double largest[3], double z, double *value, double *threshold);

/* True while hostgroup group's network-wide (carpet bombing) threshold is
 * crossed; *value (when not NULL) gets the summed pps. */
bool det_network_attack(const det_t *self, int group, double *value);

/* The network bans of hostgroup group's current (or last) network attack
 * by prefix, or NULL for a bad group. */
const carpet_tally_t *det_network_tally(const det_t *self, int group);

/* The first metric of hw's total over a threshold of t (pps, then mbps,
 * then flows; a threshold of 0 is disabled). Returns its name ("pps",
 * "mbps", "flows") with value and threshold in that metric's unit, or NULL
 * when none is over. */
const char *det_over_threshold(const fg_thresholds_t *t, const Floodgate__Rates *total,
                               double *value, double *threshold);

const det_stats_t *det_stats(const det_t *self);

/* The config det_new was given changed in place (SIGHUP): thresholds,
 * hostgroups, whitelist and timings apply from the next window. Per-host
 * rate averages and attacks stay; a hostgroup's network-wide state stays
 * while the group keeps its name and place. Cannot fail. */
void det_reload(det_t *self);
/* The averaged rate of (addr, dir) in class cls (FG_CLS_*) and metric
 * (0 pps, 1 mbps, 2 flows) into *value. Returns false when the detector
 * holds no average for that host (never published, or forgotten). */
bool det_host_average(det_t *self, const fg_addr_t *addr, int dir, int cls, int metric,
                      double *value);

/* Hosts under attack (a BAN sent, not ended yet). */
size_t det_attacks(const det_t *self);

/* Shards of the config from which a window arrived since start: all of
 * them once every subscription works (a PUB drops what it sends before). */
int det_shards_seen(const det_t *self);

#define DET_SHARD_SILENT_MS 2000 /* a shard silent this long (or 3 ticks) is missing */
#define DET_SHARD_GRACE_MS 3000  /* and one never heard of, after this long more */

/* One shard as the detector sees it. */
typedef struct {
    uint64_t age_ms; /* since its last window; UINT64_MAX: none yet */
    uint64_t hosts;  /* hosts it tracked at its last window */
    double share;    /* of all the shards' hosts (1 / shards before any count) */
    bool silent;     /* no window for DET_SHARD_SILENT_MS (or 3 ticks), or none
                      * since start + that + DET_SHARD_GRACE_MS */
} det_shard_t;

/* Fill out[0..shards-1] as of now_ms (the clock det_window was given).
 * Returns how many shards are silent: their hosts are not watched. */
int det_shard_silent(const det_t *self, uint64_t now_ms, det_shard_t *out);

/* The key=value form of every counter, for one log line. */
void det_format_stats(const det_t *self, char *buf, size_t len);

#endif
