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

#include "common/addr.h"
#include "common/ptrie.h"

#define FG_MAX_SHARDS 64
#define FG_MAX_GROUPS 256
#define FG_MAX_LISTEN 8
#define FG_NAME_MAX 64
#define FG_ENDPOINT_MAX 256
#define FG_MAX_OVERRIDES 256

/* Traffic classes thresholds apply to, in the order of HostWindow's rates:
 * the total, then tcp, tcp_syn (a subset of tcp), udp, icmp, fragments,
 * other. */
enum {
    FG_CLS_TOTAL = 0,
    FG_CLS_TCP,
    FG_CLS_TCP_SYN,
    FG_CLS_UDP,
    FG_CLS_ICMP,
    FG_CLS_FRAG,
    FG_CLS_OTHER,
    FG_CLASSES
};

/* Thresholds of one class and direction, per second; 0 disables one. */
typedef struct {
    double pps;
    double mbps;
    double flows;
} fg_thresholds_t;

typedef struct {
    char name[FG_NAME_MAX];
    uint32_t ban_time;     /* seconds */
    bool enable_ban;
    /* Per host: th[0] incoming, th[1] outgoing (FG_DIR_IN / FG_DIR_OUT),
     * indexed by FG_CLS_*. */
    fg_thresholds_t th[2][FG_CLASSES];
    /* Network-wide (sum over the group's hosts, incoming): carpet bombing.
     * While it is over, hosts above net_floor are banned. */
    fg_thresholds_t net;
    fg_thresholds_t net_floor;
    double average_time;   /* seconds of exponential averaging, 0 = none */
    int consecutive;       /* windows over threshold before a ban */
    double hysteresis;     /* an attack goes on while above this x threshold */
} fg_hostgroup_t;

typedef struct {
    char path[PATH_MAX];
    int log_level;

    /* networks: monitored maps an address to its hostgroup index (0 is the
     * default group); whitelist holds 1 for never-banned addresses. */
    ptrie_t *monitored;
    ptrie_t *whitelist;

    /* redis */
    char redis_host[256];
    int redis_port;
    char redis_unix[PATH_MAX]; /* non-empty: connect to this socket */
    char redis_user[FG_NAME_MAX];
    char redis_password[256];
    int redis_db;
    char redis_prefix[FG_NAME_MAX];

    /* collector */
    uint32_t collector_id;
    char netflow_listen[FG_MAX_LISTEN][FG_ENDPOINT_MAX];
    int n_netflow_listen;
    int rcvbuf;
    int batch_records;
    int batch_ms;
    int default_sampling;
    int send_hwm;
    char collector_metrics[FG_ENDPOINT_MAX]; /* metrics_listen; "" = off */
    char sflow_listen[FG_MAX_LISTEN][FG_ENDPOINT_MAX];
    int n_sflow_listen;
    int template_timeout;  /* seconds; 0 = templates never expire */
    int max_templates;     /* per (exporter, source id / domain) */
    int template_hold_ms;  /* hold data sets this long for their template */
    ptrie_t *exporter_allow; /* empty: every exporter is accepted */
    int seq_max_records_per_s;   /* v5 / IPFIX: the largest plausible gap rate */
    int seq_max_datagrams_per_s; /* v9 / sFlow: the same in datagrams */
    struct {
        fg_addr_t exporter;
        uint32_t rate;
    } sampling_override[FG_MAX_OVERRIDES];
    int n_sampling_override;

    /* aggregator */
    int shards;
    char pull_bind[FG_ENDPOINT_MAX];  /* shard i binds port + i */
    char pub_bind[FG_ENDPOINT_MAX];   /* shard i binds port + i */
    char pull_connect[FG_MAX_SHARDS][FG_ENDPOINT_MAX]; /* one per shard */
    char pub_connect[FG_MAX_SHARDS][FG_ENDPOINT_MAX];  /* one per shard */
    int tick_ms;
    double watch_floor;
    int host_idle;  /* seconds */
    int max_hosts;
    char aggregator_metrics[FG_ENDPOINT_MAX]; /* shard i: port + i; "" = off */

    /* detector */
    int ongoing_interval; /* seconds between ONGOING decisions per host */
    int attack_end;       /* seconds below threshold that end an attack */
    char detector_metrics[FG_ENDPOINT_MAX];

    /* actuator */
    char actuator_bind[FG_ENDPOINT_MAX];
    char actuator_connect[FG_ENDPOINT_MAX];
    char notify_script[PATH_MAX];
    int notify_timeout;  /* seconds */
    int notify_queue;
    int notify_parallel;
    int check_interval;  /* seconds */
    int history_max;
    int events_max;
    char actuator_metrics[FG_ENDPOINT_MAX];
    /* actuator: blackholing (issue 6) */
    char bgp_backend[16];               /* none | gobgp | exabgp */
    char gobgp_api[256];                /* host:port of gobgpd's API */
    char gobgp_client[PATH_MAX];        /* path of the gobgp client */
    char exabgp_pipe[PATH_MAX];         /* ExaBGP API named pipe (.in); empty: stdout */
    char next_hop_v4[FG_ADDR_STRLEN];
    char next_hop_v6[FG_ADDR_STRLEN];
    char communities[256];              /* extra communities "a:b a:b", besides 65535:666 */
    int prefix_len_v4;                  /* announced prefix length, 32 unless allowed */
    int prefix_len_v6;                  /* 128 unless allowed */
    bool allow_short_prefixes;
    int max_bans;                       /* simultaneous bans; further ones are refused */
    bool dry_run;                       /* Redis as usual, backends only log */
    char renewal[8];                    /* renew | lift */
    int renew_before;                   /* seconds of TTL left under which ONGOING renews */
    int repeat_window;                  /* seconds: bans of one ip within it are repeats */
    char attack_log[PATH_MAX];          /* one JSON line per ban; empty: none */
    int backend_timeout;                /* seconds per gobgp command */
    int backend_parallel;               /* gobgp commands at once */
    int backend_queue;                  /* route commands waiting */

    fg_hostgroup_t groups[FG_MAX_GROUPS];
    int n_groups;
} fg_config_t;

/* Load path into a new config (the caller's to free with
 * fg_config_destroy). On failure returns NULL and writes
 * "FILE:LINE: reason" (or "FILE: reason") into err. */
fg_config_t *fg_config_load(const char *path, char *err, size_t errlen);

/* Free a config and NULL the caller's pointer. Idempotent. */
void fg_config_destroy(fg_config_t **self_p);

/* The hostgroup of a monitored address, or NULL when it is not monitored. */
const fg_hostgroup_t *fg_config_group(const fg_config_t *cfg, const fg_addr_t *a);

/* The configured sampling rate of an exporter (collector/sampling_override),
 * 0 when it has none. */
uint32_t fg_config_sampling_override(const fg_config_t *cfg, const fg_addr_t *exporter);

/* True when collector/exporter_allow is empty or holds the address. */
bool fg_config_exporter_allowed(const fg_config_t *cfg, const fg_addr_t *exporter);

/* True when the address is on the whitelist. */
bool fg_config_whitelisted(const fg_config_t *cfg, const fg_addr_t *a);

/* The endpoint string with its port moved by delta ("tcp://host:5550", 2 ->
 * "tcp://host:5552"). Returns 0, or -1 when the endpoint has no numeric port or
 * out is too small. */
int fg_endpoint_offset(const char *endpoint, int delta, char *out, size_t outlen);

#endif
