/* flowspec: FlowSpec rules (RFC 8955 / 8956) from an attack's fingerprint,
 * and their text forms for the backends and for Redis.
 *
 * Where the rules come from: the actuator builds them from the Decision's
 * top contributors (protocols, source ports, destination ports, source
 * addresses, each with its share of the host's packets in the window) and
 * its attack type, so the wire contract stays as it is. The shares are
 * marginal (per kind), so the share of a rule that pins two of them is
 * bounded below (Fréchet: P(A and B) >= P(A) + P(B) - 1): the coverage this
 * module reports is that lower bound, never an optimistic guess.
 *
 * Generation: the destination /32 or /128 always; the dominant protocol;
 * then one selector dimension (source port, destination port or source
 * prefix /24 or /48), one rule per value, rules added (at most budget) until
 * the covered share reaches target; the dimension needing the fewest rules
 * wins (ties: the lower collateral, then source port, destination port,
 * source prefix). syn_flood adds TCP flags SYN, ip_fragmentation the
 * fragment match. Failing that, one rule per protocol.
 * Collateral: the share of the host's normal traffic the rules would also
 * match, an upper bound from the normal profile's marginals (the least of
 * a rule's selectors' shares; a value the profile does not list weighs at
 * most what the listed values of its kind leave of 1); when the normal
 * profile is unknown, collateral is unknown (-1) and a rule that matches a
 * whole protocol (no port or source prefix) is not used. A set whose
 * collateral is above the limit is not used.
 * Leaf module: no logging. */
#ifndef FG_ACT_FLOWSPEC_H
#define FG_ACT_FLOWSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "floodgate.pb-c.h"

#define FS_MAX_RULES 16  /* per attack (the budget is at most this) */
#define FS_MAX_ITEMS 64  /* contributors kept in a profile */
#define FS_TCP_SYN 0x02
#define FS_RULE_STRLEN 256

enum { FS_SPORT, FS_DPORT, FS_SRC, FS_PROTO, FS_DIMS };

typedef enum {
    FS_DISCARD = 0,
    FS_RATE_LIMIT, /* rate = bytes/s */
    FS_REDIRECT_RT, /* redirect to the VRF of route target "asn:value" */
} fs_action_t;

/* One rule: every field that is set must match (-1 / len 0 = any). */
typedef struct {
    fg_prefix_t dst;
    fg_prefix_t src; /* len 0: any */
    int proto;       /* -1: any */
    int sport, dport;
    uint8_t tcp_flags; /* bits that must be set, 0: any */
    bool fragment;     /* is-fragment */
    double coverage;   /* lower bound of the attack share it matches */
} fs_rule_t;

/* A traffic profile: marginal shares of packets per kind and key. */
typedef struct {
    struct {
        int dim;        /* FS_SPORT, FS_DPORT, FS_SRC (an address), FS_PROTO */
        fg_addr_t addr; /* FS_SRC */
        uint32_t value; /* port or protocol */
        double share;
    } item[FS_MAX_ITEMS];
    int n;
    double samples;    /* flow samples behind the shares (packets / sampling) */
    bool syn, fragment; /* the attack type says SYN flood / fragments */
    double syn_share;   /* share of TCP SYN packets, -1 unknown */
    double frag_share;  /* share of fragments, -1 unknown */
    double rest[FS_DIMS]; /* most a value not listed may weigh (0: none) */
} fs_profile_t;

typedef struct {
    int budget;            /* rules at most, 1..FS_MAX_RULES */
    double target;         /* coverage wanted, 0..1 */
    double max_collateral; /* 0..1 */
    double min_samples;    /* fewer: the breakdown cannot support a rule */
    double min_share;      /* a value under this share never makes a rule */
} fs_params_t;

typedef enum {
    FS_OK = 0,
    FS_FEW_SAMPLES,  /* the breakdown has too few samples */
    FS_NO_COVERAGE,  /* no set within budget reaches target */
    FS_COLLATERAL,   /* the best set's collateral is above the limit */
    FS_TOO_BROAD,    /* a rule matches a whole protocol, normal traffic unknown */
} fs_result_t;

typedef struct {
    fs_rule_t rule[FS_MAX_RULES];
    int n;
    double coverage;   /* lower bound, 0..1 */
    double collateral; /* upper bound, 0..1; -1 unknown */
    fs_result_t result;
} fs_set_t;

/* The profile of a decision's top contributors and attack type. src
 * addresses are taken as they are (the /24 or /48 grouping is the
 * generator's). Cannot fail; contributors beyond FS_MAX_ITEMS are ignored. */
void fs_profile_from_decision(fs_profile_t *p, const Floodgate__Decision *d);

/* The host's normal profile from a decision (the detector's, learnt in
 * calm windows): 0, or -1 when the decision carries none (collateral then
 * unknown). Items beyond FS_MAX_ITEMS are ignored. Cannot fail otherwise. */
int fs_profile_from_normal(fs_profile_t *p, const Floodgate__Decision *d);

/* Add one item to a profile (for tests and the decision reader). */
void fs_profile_add(fs_profile_t *p, int dim, const fg_addr_t *addr, uint32_t value,
                    double share);

/* Rules for the attack on dst. normal: the host's normal profile, NULL when
 * unknown. out->result says whether the set may be used (FS_OK) and why
 * not; out holds the best set found either way. */
void fs_generate(const fs_params_t *par, const fg_addr_t *dst, const fs_profile_t *attack,
                 const fs_profile_t *normal, fs_set_t *out);

/* "ok", "few_samples", "no_coverage", "collateral", "too_broad". */
const char *fs_result_name(fs_result_t r);

/* Does the rule match a record (for the tests' oracle)? proto, ports,
 * tcp flags, fragment flag of the record; src its source address. */
bool fs_rule_matches(const fs_rule_t *r, const fg_addr_t *dst, const fg_addr_t *src, int proto,
                     int sport, int dport, uint8_t tcp_flags, bool fragment);

/* The canonical text of a rule's match: "dst=10.0.0.5/32 proto=17 sport=53"
 * in a fixed order (what a backend's reconciliation compares). 0 or -1. */
int fs_rule_key(const fs_rule_t *r, char *out, size_t len);

/* Parse a key written by fs_rule_key. 0 or -1 (untrusted text). */
int fs_rule_parse_key(const char *key, fs_rule_t *out);

/* The set as a JSON object {"action":..,"rate":..,"coverage":..,
 * "collateral":..,"rules":[{"match":"<key>","coverage":..},...]}. The
 * caller's to free; NULL on OOM. */
char *fs_set_json(const fs_set_t *s, fs_action_t act, double rate, const char *rt);

/* Read the rules of such a JSON text back (from Redis: untrusted): the
 * rules into out (at most FS_MAX_RULES, each parsed by fs_rule_parse_key),
 * the action, rate and route target. 0, or -1 when it is not such a text. */
int fs_set_parse(const char *json, fs_set_t *out, fs_action_t *act, double *rate, char *rt,
                 size_t rtlen);

/* "discard", "rate-limit", "redirect". */
const char *fs_action_name(fs_action_t a);

/* Parse an action name. 0 or -1. */
int fs_action_parse(const char *s, fs_action_t *out);

#endif
