/* config: floodgate.conf as one fg_config_t.
 *
 * The shared sections (general, networks, redis, hostgroup) have their
 * schema here; each daemon's section has its schema in the daemon's
 * directory (collector/col_config.c, ...). The table of sections below
 * binds them to their place in fg_config_t; zpl (common/zpl.c) reads the
 * file following it. */
#include "common/addr.h"
#include "common/config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static int s_set_level(void *root, void *target, const zpl_key_t *k, const char *val,
                       const char **why)
{
    (void)root;
    int l = fg_log_level_parse(val);
    if (l < 0) {
        *why = "not a log level (debug, info, warn, error)";
        return -1;
    }
    *(int *)(void *)((char *)target + k->off) = l;
    return 0;
}

/* redis/address: host:port, [v6]:port or unix:/path. */
static int s_set_redis(void *root, void *target, const zpl_key_t *k, const char *val,
                       const char **why)
{
    (void)root;
    (void)k;
    fg_redis_config_t *r = target;
    r->socket[0] = '\0';
    if (!strncmp(val, "unix:", 5)) {
        if (strlen(val + 5) == 0 || strlen(val + 5) >= sizeof(r->socket)) {
            *why = "bad unix socket path";
            return -1;
        }
        strcpy(r->socket, val + 5);
        return 0;
    }
    if (zpl_check_hostport(val, why) != 0)
        return -1;
    uint16_t port;
    if (fg_hostport_split(val, r->host, sizeof(r->host), &port) != 0 || !r->host[0]) {
        *why = "bad host";
        return -1;
    }
    r->port = port;
    return 0;
}

static int s_set_prefix_name(void *root, void *target, const zpl_key_t *k, const char *val,
                             const char **why)
{
    (void)root;
    for (const char *p = val; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_-.:", *p)) {
            *why = "key prefix may hold letters, digits and _ - . : only";
            return -1;
        }
    if (!*val) {
        *why = "key prefix must not be empty";
        return -1;
    }
    if (strlen(val) >= k->size) {
        *why = "value too long";
        return -1;
    }
    strcpy((char *)target + k->off, val);
    return 0;
}

/* A hostgroup's networks: its prefixes in networks/monitored, mapped to the
 * group's index. */
typedef struct {
    ptrie_t *trie;
    int group;
} group_net_t;

static int s_add_group_prefix(void *arg, const char *item, const char **why)
{
    group_net_t *a = arg;
    fg_prefix_t p;
    if (fg_prefix_parse(item, &p, why) != 0)
        return -1;
    int had = ptrie_exact(a->trie, &p);
    if (had > 0 && had != a->group) {
        *why = "prefix already belongs to another hostgroup";
        return -1;
    }
    if (ptrie_insert(a->trie, &p, a->group) != 0) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}

static int s_set_group_networks(void *root, void *target, const zpl_key_t *k, const char *val,
                                const char **why)
{
    (void)k;
    fg_config_t *cfg = root;
    group_net_t a = {cfg->networks.monitored, (int)((fg_hostgroup_t *)target - cfg->groups)};
    if (a.group == 0) {
        *why = "hostgroup default takes its networks from networks/monitored";
        return -1;
    }
    return zpl_each_item(val, s_add_group_prefix, &a, why);
}

/* clang-format off */
#define R(field) offsetof(fg_redis_config_t, field)
#define RSZ(field) sizeof(((fg_redis_config_t *)0)->field)
static const zpl_key_t s_general_keys[] = {
    {.name = "log_level", .kind = ZPL_CUSTOM, .parse = s_set_level, .off = offsetof(fg_general_config_t, log_level), .def = "info"},
};
static const zpl_key_t s_networks_keys[] = {
    {.name = "monitored", .kind = ZPL_PREFIXES, .off = offsetof(fg_networks_config_t, monitored), .value = 0, .def = "", .list = true},
    {.name = "whitelist", .kind = ZPL_PREFIXES, .off = offsetof(fg_networks_config_t, whitelist), .value = 1, .def = "", .list = true},
};
static const zpl_key_t s_redis_keys[] = {
    /* address sets host, port and socket: restart keeps those bytes */
    {.restart = true, .name = "address", .kind = ZPL_CUSTOM, .parse = s_set_redis, .off = R(host),
     .size = R(socket) + RSZ(socket) - R(host), .def = "127.0.0.1:6379"},
    {.restart = true, .name = "user", .kind = ZPL_STRING, .off = R(user), .size = RSZ(user), .def = ""},
    {.restart = true, .name = "password", .kind = ZPL_STRING, .off = R(password), .size = RSZ(password), .def = ""},
    {.restart = true, .name = "db", .kind = ZPL_INT, .off = R(db), .def = "0", .min = 0, .max = 15},
    {.restart = true, .name = "prefix", .kind = ZPL_CUSTOM, .parse = s_set_prefix_name, .off = R(prefix), .size = RSZ(prefix), .def = "floodgate"},
    {.restart = true, .name = "sentinels", .kind = ZPL_HOSTPORTS, .off = R(sentinels), .size = FG_ENDPOINT_MAX,
     .count_off = R(n_sentinels), .max_items = FG_MAX_SENTINELS, .def = "", .list = true},
    {.restart = true, .name = "sentinel_master", .kind = ZPL_STRING, .off = R(sentinel_master), .size = RSZ(sentinel_master), .def = "floodgate"},
};
static const zpl_key_t s_curve_keys[] = {
    {.restart = true, .name = "enable", .kind = ZPL_BOOL, .off = offsetof(fg_curve_config_t, enable), .def = "false"},
    {.restart = true, .name = "insecure", .kind = ZPL_BOOL, .off = offsetof(fg_curve_config_t, insecure), .def = "false"},
    {.restart = true, .name = "handshake_ms", .kind = ZPL_INT, .off = offsetof(fg_curve_config_t, handshake_ms), .def = "2000", .min = 0, .max = 600000},
    {.restart = true, .name = "cli_cert", .kind = ZPL_STRING, .off = offsetof(fg_curve_config_t, cli_cert), .size = PATH_MAX, .def = "/etc/floodgate/keys/cli.key_secret"},
};

#define G(field) offsetof(fg_hostgroup_t, field)
#define GD(key, field, d, hi) {.name = key, .kind = ZPL_DOUBLE, .off = G(field), .def = d, .min = 0, .max = hi}
/* One threshold key: dir 0/1, class FG_CLS_*, metric pps/mbps/flows. */
#define TH(pfx, d, c, cname, m, def, max) GD(pfx "threshold" cname "_" #m, th[d][c].m, def, max)
#define TH3(pfx, d, c, cname, p, b, f) \
    TH(pfx, d, c, cname, pps, p, 1e12), TH(pfx, d, c, cname, mbps, b, 1e9), \
    TH(pfx, d, c, cname, flows, f, 1e12)
#define TH_DIR(pfx, d, p, b, f) \
    TH3(pfx, d, FG_CLS_TOTAL, "", p, b, f), TH3(pfx, d, FG_CLS_TCP, "_tcp", "0", "0", "0"), \
    TH3(pfx, d, FG_CLS_TCP_SYN, "_tcp_syn", "0", "0", "0"), \
    TH3(pfx, d, FG_CLS_UDP, "_udp", "0", "0", "0"), \
    TH3(pfx, d, FG_CLS_ICMP, "_icmp", "0", "0", "0"), \
    TH3(pfx, d, FG_CLS_FRAG, "_frag", "0", "0", "0"), \
    TH3(pfx, d, FG_CLS_OTHER, "_other", "0", "0", "0")
/* Hostgroup keys, fields of fg_hostgroup_t. threshold_<class>_<metric> is
 * incoming, out_threshold_... outgoing. */
static const zpl_key_t s_group_keys[] = {
    {.name = "networks", .kind = ZPL_CUSTOM, .parse = s_set_group_networks, .def = "", .list = true},
    {.name = "ban_time", .kind = ZPL_UINT32, .off = G(ban_time), .def = "1800", .min = 1, .max = 31536000},
    {.name = "max_ban_time", .kind = ZPL_UINT32, .off = G(max_ban_time), .def = "86400", .min = 1, .max = 31536000},
    {.name = "enable_ban", .kind = ZPL_BOOL, .off = G(enable_ban), .def = "true"},
    TH_DIR("", 0, "20000", "1000", "3500"),
    TH_DIR("out_", 1, "0", "0", "0"),
    GD("network_threshold_pps", net.pps, "0", 1e12),
    GD("network_threshold_mbps", net.mbps, "0", 1e9),
    GD("network_threshold_flows", net.flows, "0", 1e12),
    GD("network_host_floor_pps", net_floor.pps, "1000", 1e12),
    GD("network_host_floor_mbps", net_floor.mbps, "10", 1e9),
    GD("network_host_floor_flows", net_floor.flows, "0", 1e12),
    {.name = "network_rise", .kind = ZPL_DOUBLE, .off = G(net_rise), .def = "2", .min = 0, .max = 1000},
    {.name = "network_baseline_time", .kind = ZPL_DOUBLE, .off = G(net_baseline_time), .def = "900", .min = 1, .max = 604800},
    {.name = "network_prefix_v4", .kind = ZPL_INT, .off = G(net_prefix_v4), .def = "24", .min = 8, .max = 32},
    {.name = "network_prefix_v6", .kind = ZPL_INT, .off = G(net_prefix_v6), .def = "64", .min = 16, .max = 128},
    GD("average_time", average_time, "1", 3600),
    {.name = "consecutive_windows", .kind = ZPL_INT, .off = G(consecutive), .def = "2", .min = 1, .max = 1000},
    GD("confidence", confidence, "3", 10),
    {.name = "hysteresis", .kind = ZPL_DOUBLE, .off = G(hysteresis), .def = "0.8", .min = 0.1, .max = 1},
    {.name = "mitigation", .kind = ZPL_WORD, .off = G(mitigation), .size = sizeof(((fg_hostgroup_t *)0)->mitigation), .def = "blackhole",
     .words = "blackhole flowspec flowspec_then_blackhole detect_only", .why = "not a mitigation (blackhole, flowspec, flowspec_then_blackhole, detect_only)"},
    {.name = "flowspec_action", .kind = ZPL_WORD, .off = G(flowspec_action), .size = sizeof(((fg_hostgroup_t *)0)->flowspec_action), .def = "discard",
     .words = "discard rate-limit redirect", .why = "not a FlowSpec action (discard, rate-limit, redirect)"},
    {.name = "flowspec_rate", .kind = ZPL_DOUBLE, .off = G(flowspec_rate), .def = "0", .min = 0, .max = 1e12},
    {.name = "flowspec_redirect", .kind = ZPL_STRING, .off = G(flowspec_redirect), .size = sizeof(((fg_hostgroup_t *)0)->flowspec_redirect), .def = ""},
    {.name = "flowspec_escalate_after", .kind = ZPL_UINT32, .off = G(flowspec_escalate_after), .def = "60", .min = 1, .max = 86400},
};
/* clang-format on */

static int s_networks_finish(void *root, char *why, size_t whylen)
{
    if (ptrie_size(((fg_config_t *)root)->networks.monitored) == 0) {
        snprintf(why, whylen, "networks/monitored is empty: nothing to protect");
        return -1;
    }
    return 0;
}

static int s_groups_finish(void *root, char *why, size_t whylen)
{
    const fg_config_t *cfg = root;
    for (int g = 0; g < cfg->n_groups; g++) {
        const fg_hostgroup_t *hg = &cfg->groups[g];
        if (hg->ban_time > hg->max_ban_time) {
            snprintf(why, whylen, "hostgroup %s: ban_time (%u s) is longer than its max_ban_time "
                     "(%u s)", hg->name, hg->ban_time, hg->max_ban_time);
            return -1;
        }
        if ((hg->net.pps > 0 || hg->net.mbps > 0 || hg->net.flows > 0) && hg->net_floor.pps <= 0 &&
            hg->net_floor.mbps <= 0 && hg->net_floor.flows <= 0) {
            snprintf(why, whylen,
                     "hostgroup %s: a network_threshold needs a network_host_floor (else every "
                     "host of the group would be banned)",
                     hg->name);
            return -1;
        }
        if (!strcmp(hg->flowspec_action, "rate-limit") && hg->flowspec_rate <= 0) {
            snprintf(why, whylen, "hostgroup %s: flowspec_action = rate-limit needs "
                     "flowspec_rate (bytes/s) above 0", hg->name);
            return -1;
        }
        unsigned rt_a, rt_b;
        int rt_n = 0;
        if (!strcmp(hg->flowspec_action, "redirect") &&
            (sscanf(hg->flowspec_redirect, "%5u:%10u%n", &rt_a, &rt_b, &rt_n) != 2 ||
             hg->flowspec_redirect[rt_n] || rt_a > 65535)) {
            snprintf(why, whylen, "hostgroup %s: flowspec_action = redirect needs "
                     "flowspec_redirect, a route target ASN:VALUE (e.g. 65000:100)", hg->name);
            return -1;
        }
        if (hg->net_rise > 0 && hg->net_rise < 1) {
            snprintf(why, whylen,
                     "hostgroup %s: network_rise must be 0 (off) or at least 1 (a host below its "
                     "usual rate did not carry an increase)",
                     hg->name);
            return -1;
        }
    }
    return 0;
}

static void *s_group(void *root, const char *name, const char **why);

#define S_STR_(x) #x
#define S_STR(x) S_STR_(x)
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SEC(nm, tab, field, fin)                                                                   \
    {                                                                                              \
        .name = nm, .keys = tab, .n_keys = N(tab), .off = offsetof(fg_config_t, field),            \
        .finish = fin                                                                              \
    }
static const zpl_section_t s_general = SEC("general", s_general_keys, general, NULL);
static const zpl_section_t s_networks =
    SEC("networks", s_networks_keys, networks, s_networks_finish);
static const zpl_section_t s_redis = SEC("redis", s_redis_keys, redis, NULL);
static const zpl_section_t s_curve = SEC("curve", s_curve_keys, curve, NULL);
static const zpl_section_t s_hostgroup = {.name = "hostgroup",
                                          .keys = s_group_keys,
                                          .n_keys = N(s_group_keys),
                                          .group = s_group,
                                          .builtin = "default",
                                          .finish = s_groups_finish};

/* Every section of the file: the shared ones and each daemon's. Every
 * process reads them all, so a mistake anywhere stops whichever starts. */
static const zpl_section_t *const s_sections[] = {
    &s_general,          &s_networks,         &s_redis,
    &col_config_section, &agg_config_section, &det_config_section,
    &act_config_section, &s_curve,            &s_hostgroup,
};

/* The hostgroup called name, created with the defaults when new. */
static void *s_group(void *root, const char *name, const char **why)
{
    fg_config_t *cfg = root;
    for (int i = 0; i < cfg->n_groups; i++)
        if (!strcmp(cfg->groups[i].name, name))
            return &cfg->groups[i];
    if (cfg->n_groups == FG_MAX_GROUPS) {
        *why = "too many hostgroups (at most " S_STR(FG_MAX_GROUPS) ")";
        return NULL;
    }
    if (strlen(name) >= FG_NAME_MAX) {
        *why = "hostgroup name too long";
        return NULL;
    }
    fg_hostgroup_t *hg = &cfg->groups[cfg->n_groups];
    char err[256];
    strcpy(hg->name, name);
    if (zpl_defaults(&s_hostgroup, root, hg, err, sizeof(err)) != 0) {
        *why = "bad hostgroup default";
        return NULL;
    }
    cfg->n_groups++;
    return hg;
}

fg_config_t *fg_config_load(const char *path, char *err, size_t errlen)
{
    fg_config_t *cfg = calloc(1, sizeof(*cfg));
    const char *why = "out of memory";
    if (!cfg || !(cfg->networks.monitored = ptrie_new()) ||
        !(cfg->networks.whitelist = ptrie_new()) ||
        !(cfg->collector.exporter_allow = ptrie_new()) || !s_group(cfg, "default", &why)) {
        snprintf(err, errlen, "%s: %s", path, why);
        fg_config_destroy(&cfg);
        return NULL;
    }
    snprintf(cfg->path, sizeof(cfg->path), "%s", path);
    if (zpl_load(path, s_sections, N(s_sections), "FLOODGATE", cfg, err, errlen) != 0)
        fg_config_destroy(&cfg);
    return cfg;
}

int fg_config_reload(fg_config_t *cfg, char *restart, size_t restartlen, char *err,
                     size_t errlen)
{
    fg_config_t *next = fg_config_load(cfg->path, err, errlen);
    if (!next)
        return -1;
    int n = zpl_keep_restart(s_sections, N(s_sections), cfg, next, restart, restartlen);
    fg_config_t *old = malloc(sizeof(*old));
    if (!old) {
        snprintf(err, errlen, "%s: out of memory", cfg->path);
        fg_config_destroy(&next);
        return -1;
    }
    *old = *cfg; /* the old values move out, the new ones in, same address */
    *cfg = *next;
    *next = *old;
    free(old);
    fg_config_destroy(&next);
    return n;
}

void fg_config_destroy(fg_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ptrie_destroy(&(*self_p)->networks.monitored);
    ptrie_destroy(&(*self_p)->networks.whitelist);
    ptrie_destroy(&(*self_p)->collector.exporter_allow);
    free(*self_p);
    *self_p = NULL;
}

const fg_hostgroup_t *fg_config_group(const fg_config_t *cfg, const fg_addr_t *a)
{
    int g = ptrie_lookup(cfg->networks.monitored, a);
    return g < 0 ? NULL : &cfg->groups[g];
}

bool fg_config_whitelisted(const fg_config_t *cfg, const fg_addr_t *a)
{
    return ptrie_lookup(cfg->networks.whitelist, a) >= 0;
}

int fg_endpoint_offset(const char *endpoint, int delta, char *out, size_t outlen)
{
    const char *colon = strrchr(endpoint, ':');
    if (!colon || !isdigit((unsigned char)colon[1]))
        return -1;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port + delta > 65535 || port + delta < 0)
        return -1;
    int n = snprintf(out, outlen, "%.*s:%ld", (int)(colon - endpoint), endpoint, port + delta);
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}
