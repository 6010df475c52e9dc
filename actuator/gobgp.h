/* gobgp: the GoBGP backend's own interface (its constructor is in
 * backend.h): counters, and the parser of `gobgp global rib -j`, exported
 * for the tests. */
#ifndef FG_ACT_GOBGP_H
#define FG_ACT_GOBGP_H

#include <stdbool.h>
#include <stdint.h>

#include "actuator/backend.h"
#include "actuator/flowspec.h"

typedef struct {
    uint64_t announced;       /* `rib add` that succeeded */
    uint64_t withdrawn;       /* `rib del` that succeeded */
    uint64_t failed;          /* commands that failed (gobgpd down, timeout, ...) */
    uint64_t timed_out;       /* of which killed after backend_timeout */
    uint64_t dropped;         /* commands or routes refused: queue or injector buffer full */
    uint64_t resyncs;         /* complete RIB listings compared */
    uint64_t resync_added;    /* routes announced because the RIB lacked them */
    uint64_t resync_removed;  /* blackhole routes withdrawn because no ban wants them */
    uint64_t desired;         /* routes the bans want now */
    uint64_t rib_routes;      /* blackhole routes in the last listing */
    uint64_t queue;           /* commands queued or running */
    uint64_t fs_desired;      /* FlowSpec rules the bans want now */
    uint64_t fs_rib;          /* floodgate's FlowSpec rules in the last listing */
    uint64_t injected;        /* routes handed to the injector (`gobgp mrt inject`) */
    uint64_t injector_starts; /* injectors started (the first, then after each exit) */
    uint64_t inject_pending;  /* bytes the injector has not read yet */
} gobgp_stats_t;

/* Called for each route of a listing: its prefix ("10.0.0.5/32") and
 * whether it carries the BLACKHOLE community 65535:666. */
typedef void(gobgp_route_fn)(const char *prefix, bool blackhole, void *arg);

/* Walk the JSON that `gobgp global rib -a ipv4|ipv6 -j` prints ({} when
 * empty). Returns the number of routes, or -1 when the text is not such a
 * listing (fn may have been called for the routes before the fault). */
int gobgp_parse_rib(const char *json, gobgp_route_fn *fn, void *arg);

/* The gobgp client arguments that add (then the action) or delete rule r,
 * appended to argv from index n ("add -a ipv4-flowspec match destination
 * ... then discard"); max entries in argv at most, the texts in buf. The
 * new count (argv NULL-terminated), or -1 when it does not fit. */
int gobgp_fs_args(const fs_rule_t *r, fs_action_t act, double rate, const char *rt, bool add,
                  const char **argv, int n, int max, char *buf, size_t buflen);

/* Called with the fs_rule_key of each rule of a FlowSpec listing that has
 * the form floodgate's rules have (others are not floodgate's: skipped). */
typedef void(gobgp_fs_fn)(const char *key, void *arg);

/* Walk `gobgp global rib -a ipv4-flowspec|ipv6-flowspec -j` output ({} or
 * nothing when empty). Rules of floodgate's form, or -1 when the text is
 * not such a listing. */
int gobgp_fs_parse_rib(const char *json, gobgp_fs_fn *fn, void *arg);

/* The counters of a GoBGP backend (zeros for another backend). */
void gobgp_get_stats(const backend_t *b, gobgp_stats_t *out);

#endif
