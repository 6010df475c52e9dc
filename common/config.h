/* config: floodgate.conf, read the same way by every process.
 *
 * The file is ZPL (CZMQ's zconfig format): sections, 4-space indentation,
 * "key = value", '#' comments. Every process loads and checks the whole file,
 * so a mistake anywhere is caught by whichever daemon starts first. Every key
 * has a default (deploy/floodgate.conf lists them all). An unknown key, a bad
 * value or a bad prefix is an error naming the file, the line and the reason.
 *
 * After the file, environment variables FLOODGATE_<SECTION>_<KEY> (upper
 * case) override single keys, for per-host settings in containers, e.g.
 * FLOODGATE_COLLECTOR_ID=2 or FLOODGATE_REDIS_ADDRESS=redis:6379. */
#ifndef FG_CONFIG_H
#define FG_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actuator/act_config.h"
#include "aggregator/agg_config.h"
#include "collector/col_config.h"
#include "common/addr.h"
#include "common/cfgbase.h"
#include "common/classes.h"
#include "common/ptrie.h"
#include "detector/det_config.h"


/* Thresholds of one class and direction, per second; 0 disables one. */
typedef struct {
    double pps;
    double mbps;
    double flows;
} fg_thresholds_t;

typedef struct {
    char name[FG_NAME_MAX];
    uint32_t ban_time;     /* seconds */
    uint32_t max_ban_time; /* seconds: the longest ban the actuator applies here */
    bool enable_ban;
    /* Per host: th[0] incoming, th[1] outgoing (FG_DIR_IN / FG_DIR_OUT),
     * indexed by FG_CLS_*. */
    fg_thresholds_t th[2][FG_CLASSES];
    /* Network-wide (sum over the group's hosts, incoming): carpet bombing.
     * While it is over, hosts above net_floor whose rate is at least
     * net_rise x their baseline (a slow average over net_baseline_time
     * seconds) are banned; 0 = every host above the floor. Bans name the
     * host's /net_prefix_v4 (IPv4) or /net_prefix_v6 (IPv6). */
    fg_thresholds_t net;
    fg_thresholds_t net_floor;
    double net_rise;
    double net_baseline_time; /* seconds */
    int net_prefix_v4;
    int net_prefix_v6;
    double average_time;   /* seconds of exponential averaging, 0 = none */
    int consecutive;       /* windows over threshold before a ban */
    /* z of the one-window ban: a window whose rate's lower confidence bound
     * (given its samples, HostWindow.largest) is over a threshold bans at
     * once; 0 = off (averaging and consecutive windows only) */
    double confidence;
    double hysteresis;     /* an attack goes on while above this x threshold */
    /* mitigation: blackhole | flowspec | flowspec_then_blackhole | detect_only */
    char mitigation[32];
    char flowspec_action[16];  /* discard | rate-limit | redirect */
    double flowspec_rate;      /* rate-limit: bytes per second */
    char flowspec_redirect[24]; /* redirect: route target "asn:value" */
    uint32_t flowspec_escalate_after; /* seconds before flowspec_then_blackhole escalates */
} fg_hostgroup_t;

/* general */
typedef struct {
    int log_level;
} fg_general_config_t;

/* networks: monitored maps an address to its hostgroup index (0 is the
 * default group); whitelist holds 1 for never-banned addresses. */
typedef struct {
    ptrie_t *monitored;
    ptrie_t *whitelist;
} fg_networks_config_t;

/* redis */
#define FG_MAX_SENTINELS 8
typedef struct {
    char host[256];
    int port;
    char socket[PATH_MAX]; /* non-empty: connect to this unix socket */
    char user[FG_NAME_MAX];
    char password[256];
    int db;
    char prefix[FG_NAME_MAX];
    /* Redis Sentinel: when set, the master of sentinel_master is asked of
     * these (in order) at every connection, and address is not used */
    char sentinels[FG_MAX_SENTINELS][FG_ENDPOINT_MAX];
    int n_sentinels;
    char sentinel_master[FG_NAME_MAX];
} fg_redis_config_t;

/* curve: CurveZMQ on the ZeroMQ links (common/zsec.h); each daemon's own
 * certificate and key paths are in its section. */
typedef struct {
    bool enable;
    bool insecure;           /* non-loopback binds without Curve allowed */
    int handshake_ms;        /* ZeroMQ handshake deadline, 0 = none */
    char cli_cert[PATH_MAX]; /* floodgate top's certificate (secret file) */
} fg_curve_config_t;

/* The whole file: the shared sections, each daemon's own section (its
 * schema and struct live in the daemon's directory), the hostgroups. */
typedef struct {
    char path[PATH_MAX];
    fg_general_config_t general;
    fg_networks_config_t networks;
    fg_redis_config_t redis;
    fg_curve_config_t curve;
    col_config_t collector;
    agg_config_t aggregator;
    det_config_t detector;
    act_config_t actuator;
    fg_hostgroup_t groups[FG_MAX_GROUPS];
    int n_groups;
} fg_config_t;

/* Load path into a new config (the caller's to free with
 * fg_config_destroy). On failure returns NULL and writes
 * "FILE:LINE: reason" (or "FILE: reason") into err. */
fg_config_t *fg_config_load(const char *path, char *err, size_t errlen);

/* Load cfg->path again for a running process (SIGHUP). On success the new
 * values replace cfg's in place, at the same address, so that everything
 * holding cfg sees them; keys that take effect only at start (endpoints,
 * shards, backends, ...: `.restart` in their schema) keep their running
 * values, and those whose value changed are listed in restart ("section/key
 * ...") for the log. Returns how many restart-only keys changed (>= 0), or
 * -1 with "FILE:LINE: reason" in err and cfg untouched. */
int fg_config_reload(fg_config_t *cfg, char *restart, size_t restartlen, char *err,
                     size_t errlen);

/* Free a config and NULL the caller's pointer. Idempotent. */
void fg_config_destroy(fg_config_t **self_p);

/* The hostgroup of a monitored address, or NULL when it is not monitored. */
const fg_hostgroup_t *fg_config_group(const fg_config_t *cfg, const fg_addr_t *a);

/* True when the address is on the whitelist. */
bool fg_config_whitelisted(const fg_config_t *cfg, const fg_addr_t *a);

/* The endpoint string with its port moved by delta ("tcp://host:5550", 2 ->
 * "tcp://host:5552"). Returns 0, or -1 when the endpoint has no numeric port or
 * out is too small. */
int fg_endpoint_offset(const char *endpoint, int delta, char *out, size_t outlen);

#endif
