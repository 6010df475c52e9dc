/* agg_config: the aggregator's section of floodgate.conf, its schema and
 * its struct (cfg->aggregator). */
#ifndef FG_AGG_CONFIG_H
#define FG_AGG_CONFIG_H

#include <limits.h>

#include "common/cfgbase.h"

typedef struct {
    int shards;
    char pull_bind[FG_ENDPOINT_MAX]; /* shard i binds port + i */
    char pub_bind[FG_ENDPOINT_MAX];  /* shard i binds port + i */
    /* One per shard once loaded (a single one is offset per shard). */
    char pull_connect[FG_MAX_SHARDS][FG_ENDPOINT_MAX];
    int n_pull_connect;
    char pub_connect[FG_MAX_SHARDS][FG_ENDPOINT_MAX];
    int n_pub_connect;
    int tick_ms;
    double watch_floor;
    int host_idle; /* seconds */
    int max_hosts;
    int horizon;         /* seconds: older records are stale */
    int hold_max;        /* seconds: longest hold of a long record's rate */
    int hold_blocks;     /* pools (host x class) of small held rates */
    double ceiling_pps;  /* per record; 0 = none */
    double ceiling_mbps; /* per record; 0 = none */
    int recv_hwm;        /* FlowBatch messages queued per collector (ZMQ_RCVHWM) */
    char metrics_listen[FG_ENDPOINT_MAX]; /* shard i: port + i; "" = off */
    /* Curve (curve/enable): the shards' certificate (secret file), their
     * public key for the clients (one per shard once loaded), the directory
     * of the clients' public keys they accept. */
    char cert[PATH_MAX];
    char public_key[FG_MAX_SHARDS][FG_ENDPOINT_MAX];
    int n_public_key;
    char allowed_keys[PATH_MAX];
} agg_config_t;

/* The section "aggregator" (checked once the whole file is read by
 * agg_config_finish, given the fg_config_t). */
extern const zpl_section_t agg_config_section;

#endif
