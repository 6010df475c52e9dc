/* agg_config: the aggregator's keys and their cross-checks. */
#include "aggregator/agg_config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"

/* A list of file paths (public_key): one for every shard, or one per shard. */
static int s_add_path(void *arg, const char *item, const char **why)
{
    agg_config_t *c = arg;
    if (c->n_public_key >= FG_MAX_SHARDS) {
        *why = "too many paths (one, or one per shard)";
        return -1;
    }
    snprintf(c->public_key[c->n_public_key++], FG_ENDPOINT_MAX, "%s", item);
    return 0;
}

static int s_set_paths(void *root, void *target, const zpl_key_t *k, const char *val,
                       const char **why)
{
    (void)root;
    (void)k;
    return zpl_each_item(val, s_add_path, target, why);
}

/* clang-format off */
#define F(field) offsetof(agg_config_t, field)
#define SZ(field) sizeof(((agg_config_t *)0)->field)
#define INT(key, d, lo, hi) {.name = #key, .kind = ZPL_INT, .off = F(key), .def = d, .min = lo, .max = hi}
#define INT_R(key, d, lo, hi) {.name = #key, .kind = ZPL_INT, .off = F(key), .def = d, .min = lo, .max = hi, .restart = true}
#define ZMQ(key, d) {.name = #key, .kind = ZPL_ZMQ, .off = F(key), .size = SZ(key), .def = d}
#define ZMQ_R(key, d) {.name = #key, .kind = ZPL_ZMQ, .off = F(key), .size = SZ(key), .def = d, .restart = true}
#define ZMQS(key, d) \
    {.name = #key, .kind = ZPL_ZMQ_LIST, .off = F(key), .size = FG_ENDPOINT_MAX, \
     .count_off = F(n_##key), .max_items = FG_MAX_SHARDS, .def = d, .list = true, .restart = true}
static const zpl_key_t s_keys[] = {
    INT_R(shards, "1", 1, FG_MAX_SHARDS),
    ZMQ_R(pull_bind, "tcp://127.0.0.1:5550"),
    ZMQ_R(pub_bind, "tcp://127.0.0.1:5560"),
    ZMQS(pull_connect, "tcp://127.0.0.1:5550"),
    ZMQS(pub_connect, "tcp://127.0.0.1:5560"),
    INT_R(tick_ms, "200", 100, 1000),
    {.name = "watch_floor", .kind = ZPL_DOUBLE, .off = F(watch_floor), .def = "0.5", .min = 0, .max = 1},
    INT(host_idle, "60", 1, 86400),
    INT_R(max_hosts, "1000000", 16, 100000000),
    INT(horizon, "60", 1, 3600),
    INT_R(hold_max, "120", 1, 1800), /* sizes the hold wheel */
    INT_R(hold_blocks, "262144", 1024, 100000000), /* hosts' pools of small held rates */
    {.name = "rate_ceiling_pps", .kind = ZPL_DOUBLE, .off = F(ceiling_pps), .def = "150000000", .min = 0, .max = 1e12},
    {.name = "rate_ceiling_mbps", .kind = ZPL_DOUBLE, .off = F(ceiling_mbps), .def = "100000", .min = 0, .max = 1e9},
    INT_R(recv_hwm, "64", 2, 10000), /* batches queued per collector: bounds the shard's memory */
    {.restart = true, .name = "metrics_listen", .kind = ZPL_LISTEN, .off = F(metrics_listen), .size = SZ(metrics_listen), .def = "127.0.0.1:9560"},
    {.restart = true, .name = "cert", .kind = ZPL_STRING, .off = F(cert), .size = SZ(cert), .def = "/etc/floodgate/keys/aggregator.key_secret"},
    {.restart = true, .name = "public_key", .kind = ZPL_CUSTOM, .parse = s_set_paths, .off = F(public_key), .size = FG_ENDPOINT_MAX,
     .count_off = F(n_public_key), .max_items = FG_MAX_SHARDS, .def = "/etc/floodgate/keys/aggregator.key", .list = true, .counted = true},
    {.restart = true, .name = "allowed_keys", .kind = ZPL_STRING, .off = F(allowed_keys), .size = SZ(allowed_keys), .def = "/etc/floodgate/keys/aggregator.allowed"},
};
/* clang-format on */

/* One endpoint per shard: a single one is offset by the shard index. */
static int s_per_shard(char (*list)[FG_ENDPOINT_MAX], int *n, int shards, const char *name,
                       char *why, size_t whylen)
{
    if (*n == 1 && shards > 1) {
        char base[FG_ENDPOINT_MAX];
        strcpy(base, list[0]);
        for (int s = 0; s < shards; s++)
            if (fg_endpoint_offset(base, s, list[s], FG_ENDPOINT_MAX) != 0) {
                snprintf(why, whylen, "aggregator/%s: %s has no port to offset per shard", name,
                         base);
                return -1;
            }
        *n = shards;
    } else if (*n != shards) {
        snprintf(why, whylen,
                 "aggregator/%s lists %d endpoints for %d shards (give one, whose port is "
                 "offset per shard, or one per shard)",
                 name, *n, shards);
        return -1;
    }
    return 0;
}

static int s_finish(void *root, char *why, size_t whylen)
{
    agg_config_t *c = &((fg_config_t *)root)->aggregator;
    if (s_per_shard(c->pull_connect, &c->n_pull_connect, c->shards, "pull_connect", why, whylen) !=
            0 ||
        s_per_shard(c->pub_connect, &c->n_pub_connect, c->shards, "pub_connect", why, whylen))
        return -1;
    if (c->n_public_key == 1) /* one key pair for every shard */
        for (int s = 1; s < c->shards; s++)
            strcpy(c->public_key[s], c->public_key[0]);
    else if (c->n_public_key != c->shards && ((fg_config_t *)root)->curve.enable) {
        snprintf(why, whylen, "aggregator/public_key lists %d keys for %d shards (give one for "
                              "all, or one per shard)", c->n_public_key, c->shards);
        return -1;
    }
    char tmp[FG_ENDPOINT_MAX];
    if (fg_endpoint_offset(c->pull_bind, c->shards - 1, tmp, sizeof(tmp)) != 0 ||
        fg_endpoint_offset(c->pub_bind, c->shards - 1, tmp, sizeof(tmp)) != 0) {
        snprintf(why, whylen, "aggregator/pull_bind and pub_bind need a numeric port");
        return -1;
    }
    if (c->metrics_listen[0] &&
        fg_endpoint_offset(c->metrics_listen, c->shards - 1, tmp, sizeof(tmp)) != 0) {
        snprintf(why, whylen, "aggregator/metrics_listen: port + shard is out of range");
        return -1;
    }
    return 0;
}

const zpl_section_t agg_config_section = {
    .name = "aggregator",
    .keys = s_keys,
    .n_keys = sizeof(s_keys) / sizeof(s_keys[0]),
    .off = offsetof(fg_config_t, aggregator),
    .finish = s_finish,
};
