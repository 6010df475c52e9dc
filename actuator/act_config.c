/* act_config: the actuator's keys and their cross-checks. */
#include "actuator/act_config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"

/* An address of the family the key's value names (4 or 6), canonical. */
static int s_set_nexthop(void *root, void *target, const zpl_key_t *k, const char *val,
                         const char **why)
{
    (void)root;
    fg_addr_t a;
    bool want_v4 = k->value == 4;
    if (fg_addr_parse(val, &a) != 0 || fg_addr_is_v4(&a) != want_v4) {
        *why = want_v4 ? "not an IPv4 address" : "not an IPv6 address";
        return -1;
    }
    fg_addr_format(&a, (char *)target + k->off);
    return 0;
}

static int s_check_community(void *arg, const char *item, const char **why)
{
    (void)arg;
    unsigned a, b;
    int n = 0;
    if (sscanf(item, "%5u:%5u%n", &a, &b, &n) != 2 || item[n] != '\0' || a > 65535 || b > 65535 ||
        !isdigit((unsigned char)item[0])) {
        *why = "a community is ASN:VALUE, each 0..65535 (e.g. 65000:666)";
        return -1;
    }
    return 0;
}

/* A list of standard communities, stored space-separated. */
static int s_set_communities(void *root, void *target, const zpl_key_t *k, const char *val,
                             const char **why)
{
    (void)root;
    if (zpl_each_item(val, s_check_community, NULL, why) != 0)
        return -1;
    char out[256] = "";
    const char *p = val;
    size_t n = 0;
    for (; *p && n + 1 < sizeof(out); p++)
        if (!isspace((unsigned char)*p) && *p != ',')
            out[n++] = *p;
        else if (n && out[n - 1] != ' ')
            out[n++] = ' ';
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    if (n >= k->size) {
        *why = "value too long";
        return -1;
    }
    strcpy((char *)target + k->off, out);
    return 0;
}

/* public_key: the actuators' public keys, one for all or one per connect. */
static int s_add_key(void *arg, const char *item, const char **why)
{
    act_config_t *c = arg;
    if (c->n_public_key >= ACT_MAX_CONNECT) {
        *why = "too many keys (one, or one per actuator/connect endpoint)";
        return -1;
    }
    snprintf(c->public_key[c->n_public_key++], FG_ENDPOINT_MAX, "%s", item);
    return 0;
}

static int s_set_keys(void *root, void *target, const zpl_key_t *k, const char *val,
                      const char **why)
{
    (void)root;
    (void)k;
    return zpl_each_item(val, s_add_key, target, why);
}

/* clang-format off */
#define F(field) offsetof(act_config_t, field)
#define SZ(field) sizeof(((act_config_t *)0)->field)
#define INT(key, d, lo, hi) {.name = #key, .kind = ZPL_INT, .off = F(key), .def = d, .min = lo, .max = hi}
#define INT_R(key, d, lo, hi) {.name = #key, .kind = ZPL_INT, .off = F(key), .def = d, .min = lo, .max = hi, .restart = true}
#define STR(key, kd, d) {.name = #key, .kind = kd, .off = F(key), .size = SZ(key), .def = d}
#define STR_R(key, kd, d) {.name = #key, .kind = kd, .off = F(key), .size = SZ(key), .def = d, .restart = true}
#define BOOL(key, d) {.name = #key, .kind = ZPL_BOOL, .off = F(key), .def = d}
#define BOOL_R(key, d) {.name = #key, .kind = ZPL_BOOL, .off = F(key), .def = d, .restart = true}
static const zpl_key_t s_keys[] = {
    STR_R(bind, ZPL_ZMQ, "tcp://127.0.0.1:5570"),
    {.name = "connect", .kind = ZPL_ZMQ_LIST, .off = F(connect), .size = FG_ENDPOINT_MAX,
     .count_off = F(n_connect), .max_items = ACT_MAX_CONNECT, .def = "tcp://127.0.0.1:5570",
     .list = true, .restart = true},
    STR(notify_script, ZPL_STRING, ""),
    INT_R(notify_timeout, "10", 1, 3600),
    INT_R(notify_queue, "256", 1, 100000),
    INT_R(notify_parallel, "4", 1, 256),
    INT(check_interval, "5", 1, 3600),
    INT(history_max, "100", 1, 100000),
    INT(events_max, "100000", 100, 100000000),
    STR_R(metrics_listen, ZPL_LISTEN, "127.0.0.1:9553"),
    {.restart = true, .name = "bgp_backend", .kind = ZPL_WORD, .off = F(bgp_backend), .size = SZ(bgp_backend), .def = "none",
     .words = "none gobgp exabgp", .why = "not a BGP backend (none, gobgp, exabgp)"},
    STR_R(gobgp_api, ZPL_HOSTPORT, "127.0.0.1:50051"),
    STR_R(gobgp_client, ZPL_STRING, "/usr/bin/gobgp"),
    STR_R(exabgp_pipe, ZPL_STRING, ""),
    {.restart = true, .name = "next_hop_v4", .kind = ZPL_CUSTOM, .parse = s_set_nexthop, .off = F(next_hop_v4), .size = SZ(next_hop_v4), .value = 4, .def = "192.0.2.1"},
    {.restart = true, .name = "next_hop_v6", .kind = ZPL_CUSTOM, .parse = s_set_nexthop, .off = F(next_hop_v6), .size = SZ(next_hop_v6), .value = 6, .def = "100::1"},
    {.restart = true, .name = "communities", .kind = ZPL_CUSTOM, .parse = s_set_communities, .off = F(communities), .size = SZ(communities), .def = ""},
    INT_R(prefix_len_v4, "32", 8, 32),
    INT_R(prefix_len_v6, "128", 16, 128),
    BOOL_R(allow_short_prefixes, "false"),
    INT(max_bans, "10000", 1, 10000000),
    INT_R(new_bans_max, "1000", 1, 100000),
    INT(new_bans_window, "60", 1, 3600),
    BOOL(allow_permanent_manual_bans, "false"),
    BOOL_R(dry_run, "false"),
    {.name = "renewal", .kind = ZPL_WORD, .off = F(renewal), .size = SZ(renewal), .def = "renew",
     .words = "renew lift", .why = "not a policy (renew, lift)"},
    INT(renew_before, "60", 0, 86400),
    INT(repeat_window, "86400", 0, 31536000),
    STR(attack_log, ZPL_STRING, ""),
    INT_R(backend_timeout, "5", 1, 3600),
    INT_R(backend_parallel, "4", 1, 64),
    INT_R(backend_queue, "65536", 16, 10000000),
    INT_R(redis_queue, "10000", 1, 10000000),
    INT(flowspec_budget, "4", 1, 16),
    {.name = "flowspec_target", .kind = ZPL_DOUBLE, .off = F(flowspec_target), .def = "0.95", .min = 0.5, .max = 1},
    {.name = "flowspec_max_collateral", .kind = ZPL_DOUBLE, .off = F(flowspec_max_collateral), .def = "0.05", .min = 0, .max = 1},
    {.name = "flowspec_min_samples", .kind = ZPL_DOUBLE, .off = F(flowspec_min_samples), .def = "100", .min = 0, .max = 1e9},
    INT(flowspec_max_rules, "2000", 1, 1000000),
    STR_R(id, ZPL_STRING, ""),
    INT_R(lease_ms, "1500", 300, 60000),
    STR_R(cert, ZPL_STRING, "/etc/floodgate/keys/actuator.key_secret"),
    {.name = "public_key", .kind = ZPL_CUSTOM, .parse = s_set_keys, .off = F(public_key), .size = FG_ENDPOINT_MAX,
     .count_off = F(n_public_key), .max_items = ACT_MAX_CONNECT, .def = "/etc/floodgate/keys/actuator.key",
     .list = true, .counted = true, .restart = true},
    STR_R(allowed_keys, ZPL_STRING, "/etc/floodgate/keys/actuator.allowed"),
};
/* clang-format on */

static int s_finish(void *root, char *why, size_t whylen)
{
    const fg_config_t *cfg = root;
    act_config_t *c = &((fg_config_t *)root)->actuator;
    if (c->n_public_key == 1) /* one key pair for every actuator */
        for (int i = 1; i < c->n_connect; i++)
            strcpy(c->public_key[i], c->public_key[0]);
    else if (c->n_public_key != c->n_connect && cfg->curve.enable) {
        snprintf(why, whylen,
                 "actuator/public_key lists %d keys for %d connect endpoints (give one for all, "
                 "or one per endpoint)",
                 c->n_public_key, c->n_connect);
        return -1;
    }
    if (!c->allow_short_prefixes && (c->prefix_len_v4 < 32 || c->prefix_len_v6 < 128)) {
        snprintf(why, whylen,
                 "actuator/prefix_len_v4 = %d, prefix_len_v6 = %d: shorter than a host route "
                 "blackholes neighbours too; set actuator/allow_short_prefixes = true to allow it",
                 c->prefix_len_v4, c->prefix_len_v6);
        return -1;
    }
    if (!strcmp(c->renewal, "renew") && c->renew_before <= cfg->detector.ongoing_interval) {
        snprintf(why, whylen,
                 "actuator/renew_before (%d s) must be longer than detector/ongoing_interval "
                 "(%d s), or an ongoing attack's ban lapses between two reports",
                 c->renew_before, cfg->detector.ongoing_interval);
        return -1;
    }
    return 0;
}

const zpl_section_t act_config_section = {
    .name = "actuator",
    .keys = s_keys,
    .n_keys = sizeof(s_keys) / sizeof(s_keys[0]),
    .off = offsetof(fg_config_t, actuator),
    .finish = s_finish,
};
