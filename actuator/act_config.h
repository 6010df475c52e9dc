/* act_config: the actuator's section of floodgate.conf, its schema, its
 * rules (BGP backend, next hops, communities, prefix lengths, renewal) and
 * its struct (cfg->actuator). */
#ifndef FG_ACT_CONFIG_H
#define FG_ACT_CONFIG_H

#include <limits.h>
#include <stdbool.h>

#include "common/addr.h"
#include "common/cfgbase.h"

#define ACT_MAX_CONNECT 8 /* actuators a detector sends to */

typedef struct {
    char bind[FG_ENDPOINT_MAX];
    char connect[ACT_MAX_CONNECT][FG_ENDPOINT_MAX]; /* detectors PUSH to each */
    int n_connect;
    char notify_script[PATH_MAX];
    int notify_timeout; /* seconds */
    int notify_queue;
    int notify_parallel;
    int check_interval; /* seconds */
    int history_max;
    int events_max;
    char metrics_listen[FG_ENDPOINT_MAX];
    /* blackholing */
    char bgp_backend[16];        /* none | gobgp | exabgp */
    char gobgp_api[256];         /* host:port of gobgpd's API */
    char gobgp_client[PATH_MAX]; /* path of the gobgp client */
    char exabgp_pipe[PATH_MAX];  /* ExaBGP API named pipe (.in); empty: stdout */
    char next_hop_v4[FG_ADDR_STRLEN];
    char next_hop_v6[FG_ADDR_STRLEN];
    char communities[256]; /* extra communities "a:b a:b", besides 65535:666 */
    int prefix_len_v4;     /* announced prefix length, 32 unless allowed */
    int prefix_len_v6;     /* 128 unless allowed */
    bool allow_short_prefixes;
    int max_bans;              /* simultaneous detector bans; further ones are refused */
    int new_bans_max;          /* new detector bans per new_bans_window, then refused */
    int new_bans_window;       /* seconds */
    bool allow_permanent_manual_bans; /* a manual key without TTL stays without one */
    bool dry_run;              /* Redis as usual, backends only log */
    char renewal[8];           /* renew | lift */
    int renew_before;          /* seconds of TTL left under which ONGOING renews */
    int repeat_window;         /* seconds: bans of one ip within it are repeats */
    char attack_log[PATH_MAX]; /* one JSON line per ban; empty: none */
    int backend_timeout;       /* seconds per gobgp command */
    int backend_parallel;      /* gobgp commands at once */
    int backend_queue;         /* route commands waiting */
    int redis_queue;           /* decisions waiting while Redis is down or refuses writes */
    /* FlowSpec (hostgroup mitigation = flowspec...) */
    int flowspec_budget;           /* rules per attack at most */
    double flowspec_target;        /* attack share the rules must cover */
    double flowspec_max_collateral; /* share of normal traffic they may also match */
    double flowspec_min_samples;   /* flow samples a breakdown needs to support a rule */
    int flowspec_max_rules;        /* rules in force in total */
    char id[96];               /* this actuator's name in the lease; "": <hostname>/<bind> */
    int lease_ms;              /* the active actuator's lease; a standby takes over after it */
    /* Curve (curve/enable): its certificate (secret file), the public key
     * of each actuator for the detectors (one for all, or one per connect),
     * the directory of the keys allowed to send. */
    char cert[PATH_MAX];
    char public_key[ACT_MAX_CONNECT][FG_ENDPOINT_MAX];
    int n_public_key;
    char allowed_keys[PATH_MAX];
} act_config_t;

/* The section "actuator" (checked once the whole file is read by
 * act_config_finish, given the fg_config_t). */
extern const zpl_section_t act_config_section;

#endif
