/* config: the loader behind config.h.
 *
 * zconfig parses the ZPL syntax; it keeps no line numbers, so the loader
 * numbers the nodes itself: zconfig makes one node per significant line
 * (not blank, not a comment) in file order, which is the pre-order of the
 * tree, so the n-th node visited is the n-th significant line. */
#include "common/config.h"

#include <ctype.h>
#include <czmq.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

typedef struct key_def key_def_t;
typedef int (*setter_fn)(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why);

struct key_def {
    const char *section;
    const char *key;
    setter_fn set;
    size_t off;  /* offset of the field in fg_config_t (or fg_hostgroup_t) */
    size_t size; /* string buffer size */
    const char *def;
    double min, max;
    bool list; /* may repeat; the first value from the file replaces the default */
};

/* Loader state: where we are, for error messages. */
typedef struct {
    fg_config_t *cfg;
    const char *path;
    int *lines; /* line number of each significant line */
    int n_lines;
    int node;   /* index of the node being visited */
    char *err;
    size_t errlen;
    int group;  /* hostgroup being read, for hostgroup keys */
    int seen[256];  /* line where each schema key was first set, 0 = not yet */
} loader_t;

/* ---- value setters: return 0, or -1 with a static reason ---- */

static int s_parse_num(const char *val, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (*val == '\0' || *end != '\0' || errno || isnan(v) || isinf(v))
        return -1;
    *out = v;
    return 0;
}

static int s_set_int(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why)
{
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (*val == '\0' || *end != '\0' || errno) {
        *why = "not an integer";
        return -1;
    }
    if (v < k->min || v > k->max) {
        *why = "out of range";
        return -1;
    }
    if (k->size == sizeof(uint32_t) + 1) /* marker for uint32_t fields */
        *(uint32_t *)((char *)cfg + k->off) = (uint32_t)v;
    else
        *(int *)((char *)cfg + k->off) = (int)v;
    return 0;
}

static int s_set_double(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why)
{
    double v;
    if (s_parse_num(val, &v) != 0) {
        *why = "not a number";
        return -1;
    }
    if (v < k->min || v > k->max) {
        *why = "out of range";
        return -1;
    }
    *(double *)((char *)cfg + k->off) = v;
    return 0;
}

static int s_set_bool(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why)
{
    bool v;
    if (!strcmp(val, "true") || !strcmp(val, "on") || !strcmp(val, "yes") || !strcmp(val, "1"))
        v = true;
    else if (!strcmp(val, "false") || !strcmp(val, "off") || !strcmp(val, "no") ||
             !strcmp(val, "0"))
        v = false;
    else {
        *why = "not a boolean (true/false, on/off, yes/no, 1/0)";
        return -1;
    }
    *(bool *)((char *)cfg + k->off) = v;
    return 0;
}

static int s_set_str(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why)
{
    if (strlen(val) >= k->size) {
        *why = "value too long";
        return -1;
    }
    strcpy((char *)cfg + k->off, val);
    return 0;
}

static int s_set_level(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why)
{
    (void)k;
    int l = fg_log_level_parse(val);
    if (l < 0) {
        *why = "not a log level (debug, info, warn, error)";
        return -1;
    }
    cfg->log_level = l;
    return 0;
}

/* Split a list value on whitespace and commas; call fn for each item. */
static int s_each_item(const char *val, int (*fn)(void *, const char *, const char **), void *arg,
                       const char **why)
{
    char item[FG_ENDPOINT_MAX];
    const char *p = val;
    while (*p) {
        while (*p && (isspace((unsigned char)*p) || *p == ','))
            p++;
        size_t n = 0;
        while (p[n] && !isspace((unsigned char)p[n]) && p[n] != ',')
            n++;
        if (n == 0)
            break;
        if (n >= sizeof(item)) {
            *why = "list item too long";
            return -1;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        if (fn(arg, item, why) != 0)
            return -1;
        p += n;
    }
    return 0;
}

typedef struct {
    ptrie_t *trie;
    int value;
    const ptrie_t *monitored; /* for hostgroups: clash check */
} prefix_arg_t;

static int s_add_prefix(void *arg, const char *item, const char **why)
{
    prefix_arg_t *a = arg;
    fg_prefix_t p;
    if (fg_prefix_parse(item, &p, why) != 0)
        return -1;
    if (a->value > 0 && ptrie_exact(a->trie, &p) > 0 && ptrie_exact(a->trie, &p) != a->value) {
        *why = "prefix already belongs to another hostgroup";
        return -1;
    }
    if (ptrie_insert(a->trie, &p, a->value) != 0) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}

static int s_set_monitored(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why)
{
    (void)k;
    prefix_arg_t a = {cfg->monitored, 0, NULL};
    return s_each_item(val, s_add_prefix, &a, why);
}

static int s_set_whitelist(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why)
{
    (void)k;
    prefix_arg_t a = {cfg->whitelist, 1, NULL};
    return s_each_item(val, s_add_prefix, &a, why);
}

typedef struct {
    char (*arr)[FG_ENDPOINT_MAX];
    int *n;
    int max;
    bool zmq; /* a ZeroMQ endpoint (else host:port) */
} ep_arg_t;

static int s_check_hostport(const char *s, const char **why)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s) {
        *why = "expected host:port";
        return -1;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535) {
        *why = "bad port";
        return -1;
    }
    return 0;
}

static int s_add_endpoint(void *arg, const char *item, const char **why)
{
    ep_arg_t *a = arg;
    if (*a->n >= a->max) {
        *why = "too many endpoints";
        return -1;
    }
    if (a->zmq && strncmp(item, "tcp://", 6) && strncmp(item, "ipc://", 6) &&
        strncmp(item, "inproc://", 9)) {
        *why = "not a ZeroMQ endpoint (tcp://host:port, ipc://path)";
        return -1;
    }
    if (!strncmp(item, "tcp://", 6) || !a->zmq)
        if (s_check_hostport(a->zmq ? item + 6 : item, why) != 0)
            return -1;
    strcpy(a->arr[(*a->n)++], item);
    return 0;
}

static int s_set_listen(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why)
{
    (void)k;
    ep_arg_t a = {cfg->netflow_listen, &cfg->n_netflow_listen, FG_MAX_LISTEN, false};
    return s_each_item(val, s_add_endpoint, &a, why);
}

static int s_set_sflow_listen(fg_config_t *cfg, const key_def_t *k, const char *val,
                              const char **why)
{
    (void)k;
    ep_arg_t a = {cfg->sflow_listen, &cfg->n_sflow_listen, FG_MAX_LISTEN, false};
    return s_each_item(val, s_add_endpoint, &a, why);
}

static int s_set_allow(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why)
{
    (void)k;
    prefix_arg_t a = {cfg->exporter_allow, 1, NULL};
    return s_each_item(val, s_add_prefix, &a, why);
}

/* "ADDRESS=RATE" items. */
static int s_add_override(void *arg, const char *item, const char **why)
{
    fg_config_t *cfg = arg;
    char addr[FG_ENDPOINT_MAX];
    const char *eq = strchr(item, '=');
    char *end;
    if (!eq || (size_t)(eq - item) >= sizeof(addr)) {
        *why = "expected ADDRESS=RATE";
        return -1;
    }
    memcpy(addr, item, (size_t)(eq - item));
    addr[eq - item] = '\0';
    long rate = strtol(eq + 1, &end, 10);
    if (eq[1] == '\0' || *end != '\0' || rate < 1 || rate > 1000000) {
        *why = "rate must be an integer 1..1000000";
        return -1;
    }
    if (cfg->n_sampling_override >= FG_MAX_OVERRIDES) {
        *why = "too many sampling overrides";
        return -1;
    }
    int i = cfg->n_sampling_override;
    if (fg_addr_parse(addr, &cfg->sampling_override[i].exporter) != 0) {
        *why = "bad exporter address";
        return -1;
    }
    cfg->sampling_override[i].rate = (uint32_t)rate;
    cfg->n_sampling_override++;
    return 0;
}

static int s_set_override(fg_config_t *cfg, const key_def_t *k, const char *val,
                          const char **why)
{
    (void)k;
    return s_each_item(val, s_add_override, cfg, why);
}

/* pull_connect / pub_connect: counts kept in the low slots; n is recounted
 * in s_finish. */
static int s_set_connects(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why)
{
    char(*arr)[FG_ENDPOINT_MAX] = (void *)((char *)cfg + k->off);
    int n = 0;
    while (n < FG_MAX_SHARDS && arr[n][0])
        n++;
    ep_arg_t a = {arr, &n, FG_MAX_SHARDS, true};
    return s_each_item(val, s_add_endpoint, &a, why);
}

static int s_set_zmq(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why)
{
    char one[1][FG_ENDPOINT_MAX];
    int n = 0;
    ep_arg_t a = {one, &n, 1, true};
    if (s_each_item(val, s_add_endpoint, &a, why) != 0)
        return -1;
    if (n != 1) {
        *why = "expected one ZeroMQ endpoint";
        return -1;
    }
    return s_set_str(cfg, k, val, why);
}

static int s_set_redis(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why)
{
    (void)k;
    cfg->redis_unix[0] = '\0';
    if (!strncmp(val, "unix:", 5)) {
        if (strlen(val + 5) == 0 || strlen(val + 5) >= sizeof(cfg->redis_unix)) {
            *why = "bad unix socket path";
            return -1;
        }
        strcpy(cfg->redis_unix, val + 5);
        return 0;
    }
    if (s_check_hostport(val, why) != 0)
        return -1;
    const char *colon = strrchr(val, ':');
    size_t hl = (size_t)(colon - val);
    if (val[0] == '[' && hl >= 2 && val[hl - 1] == ']') { /* [v6]:port */
        val++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(cfg->redis_host)) {
        *why = "bad host";
        return -1;
    }
    memcpy(cfg->redis_host, val, hl);
    cfg->redis_host[hl] = '\0';
    cfg->redis_port = atoi(colon + 1);
    return 0;
}

static int s_set_hostport(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why)
{
    if (s_check_hostport(val, why) != 0)
        return -1;
    return s_set_str(cfg, k, val, why);
}

static int s_set_prefix_name(fg_config_t *cfg, const key_def_t *k, const char *val,
                             const char **why)
{
    for (const char *p = val; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_-.:", *p)) {
            *why = "key prefix may hold letters, digits and _ - . : only";
            return -1;
        }
    if (!*val) {
        *why = "key prefix must not be empty";
        return -1;
    }
    return s_set_str(cfg, k, val, why);
}

/* metrics_listen: host:port of the /metrics server, or "" (off). */
static int s_set_metrics(fg_config_t *cfg, const key_def_t *k, const char *val,
                         const char **why)
{
    if (*val && s_check_hostport(val, why) != 0)
        return -1;
    return s_set_str(cfg, k, val, why);
}

/* One word of a fixed set: the key's choices are listed here,
 * space-separated. */
static int s_set_choice(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why)
{
    static const struct {
        const char *key, *words, *why;
    } choices[] = {{"bgp_backend", "none gobgp exabgp", "not a BGP backend (none, gobgp, exabgp)"},
                   {"renewal", "renew lift", "not a policy (renew, lift)"}};
    for (size_t i = 0; i < sizeof(choices) / sizeof(choices[0]); i++) {
        if (strcmp(choices[i].key, k->key) != 0)
            continue;
        size_t n = strlen(val);
        for (const char *w = choices[i].words; n && (w = strstr(w, val)); w += n)
            if ((w == choices[i].words || w[-1] == ' ') && (w[n] == ' ' || w[n] == '\0'))
                return s_set_str(cfg, k, val, why);
        *why = choices[i].why;
        return -1;
    }
    *why = "no choices for this key";
    return -1;
}

/* An address of the family the key names (..._v4 / ..._v6), canonical. */
static int s_set_nexthop(fg_config_t *cfg, const key_def_t *k, const char *val, const char **why)
{
    fg_addr_t a;
    bool want_v4 = strstr(k->key, "v4") != NULL;
    if (fg_addr_parse(val, &a) != 0 || fg_addr_is_v4(&a) != want_v4) {
        *why = want_v4 ? "not an IPv4 address" : "not an IPv6 address";
        return -1;
    }
    fg_addr_format(&a, (char *)cfg + k->off);
    return 0;
}

static int s_check_community(void *arg, const char *item, const char **why)
{
    (void)arg;
    unsigned a, b;
    int n = 0;
    if (sscanf(item, "%5u:%5u%n", &a, &b, &n) != 2 || item[n] != '\0' || a > 65535 ||
        b > 65535 || !isdigit((unsigned char)item[0])) {
        *why = "a community is ASN:VALUE, each 0..65535 (e.g. 65000:666)";
        return -1;
    }
    return 0;
}

/* A list of standard communities, stored space-separated. */
static int s_set_communities(fg_config_t *cfg, const key_def_t *k, const char *val,
                             const char **why)
{
    if (s_each_item(val, s_check_community, NULL, why) != 0)
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
    return s_set_str(cfg, k, out, why);
}

#define C(field) offsetof(fg_config_t, field)
#define U32 (sizeof(uint32_t) + 1)
/* clang-format off */
static const key_def_t s_keys[] = {
    {"general", "log_level", s_set_level, 0, 0, "info", 0, 0, false},

    {"networks", "monitored", s_set_monitored, 0, 0, "", 0, 0, true},
    {"networks", "whitelist", s_set_whitelist, 0, 0, "", 0, 0, true},

    {"redis", "address", s_set_redis, 0, 0, "127.0.0.1:6379", 0, 0, false},
    {"redis", "user", s_set_str, C(redis_user), sizeof(((fg_config_t *)0)->redis_user), "", 0, 0, false},
    {"redis", "password", s_set_str, C(redis_password), sizeof(((fg_config_t *)0)->redis_password), "", 0, 0, false},
    {"redis", "db", s_set_int, C(redis_db), 0, "0", 0, 15, false},
    {"redis", "prefix", s_set_prefix_name, C(redis_prefix), FG_NAME_MAX, "floodgate", 0, 0, false},

    {"collector", "id", s_set_int, C(collector_id), U32, "1", 0, 4294967295.0, false},
    {"collector", "netflow_listen", s_set_listen, 0, 0, "0.0.0.0:2055", 0, 0, true},
    {"collector", "rcvbuf", s_set_int, C(rcvbuf), 0, "8388608", 65536, 1073741824, false},
    {"collector", "batch_records", s_set_int, C(batch_records), 0, "4096", 1, 65536, false},
    {"collector", "batch_ms", s_set_int, C(batch_ms), 0, "20", 1, 1000, false},
    {"collector", "default_sampling", s_set_int, C(default_sampling), 0, "1", 1, 1000000, false},
    {"collector", "send_hwm", s_set_int, C(send_hwm), 0, "1000", 1, 1000000, false},
    {"collector", "metrics_listen", s_set_metrics, C(collector_metrics), FG_ENDPOINT_MAX, "127.0.0.1:9551", 0, 0, false},
    {"collector", "sflow_listen", s_set_sflow_listen, 0, 0, "0.0.0.0:6343", 0, 0, true},
    {"collector", "template_timeout", s_set_int, C(template_timeout), 0, "1800", 0, 604800, false},
    {"collector", "max_templates", s_set_int, C(max_templates), 0, "256", 1, 65536, false},
    {"collector", "template_hold_ms", s_set_int, C(template_hold_ms), 0, "0", 0, 60000, false},
    {"collector", "exporter_allow", s_set_allow, 0, 0, "", 0, 0, true},
    {"collector", "seq_max_records_per_s", s_set_int, C(seq_max_records_per_s), 0, "1000000", 1, 1000000000, false},
    {"collector", "seq_max_datagrams_per_s", s_set_int, C(seq_max_datagrams_per_s), 0, "100000", 1, 1000000000, false},
    {"collector", "sampling_override", s_set_override, 0, 0, "", 0, 0, true},

    {"aggregator", "shards", s_set_int, C(shards), 0, "1", 1, FG_MAX_SHARDS, false},
    {"aggregator", "pull_bind", s_set_zmq, C(pull_bind), FG_ENDPOINT_MAX, "tcp://*:5550", 0, 0, false},
    {"aggregator", "pub_bind", s_set_zmq, C(pub_bind), FG_ENDPOINT_MAX, "tcp://*:5560", 0, 0, false},
    {"aggregator", "pull_connect", s_set_connects, C(pull_connect), 0, "tcp://127.0.0.1:5550", 0, 0, true},
    {"aggregator", "pub_connect", s_set_connects, C(pub_connect), 0, "tcp://127.0.0.1:5560", 0, 0, true},
    {"aggregator", "tick_ms", s_set_int, C(tick_ms), 0, "200", 100, 1000, false},
    {"aggregator", "watch_floor", s_set_double, C(watch_floor), 0, "0.5", 0, 1, false},
    {"aggregator", "host_idle", s_set_int, C(host_idle), 0, "60", 1, 86400, false},
    {"aggregator", "max_hosts", s_set_int, C(max_hosts), 0, "1000000", 16, 100000000, false},
    {"aggregator", "metrics_listen", s_set_metrics, C(aggregator_metrics), FG_ENDPOINT_MAX, "127.0.0.1:9560", 0, 0, false},

    {"detector", "ongoing_interval", s_set_int, C(ongoing_interval), 0, "5", 1, 3600, false},
    {"detector", "attack_end", s_set_int, C(attack_end), 0, "30", 1, 86400, false},
    {"detector", "metrics_listen", s_set_metrics, C(detector_metrics), FG_ENDPOINT_MAX, "127.0.0.1:9552", 0, 0, false},

    {"actuator", "bind", s_set_zmq, C(actuator_bind), FG_ENDPOINT_MAX, "tcp://*:5570", 0, 0, false},
    {"actuator", "connect", s_set_zmq, C(actuator_connect), FG_ENDPOINT_MAX, "tcp://127.0.0.1:5570", 0, 0, false},
    {"actuator", "notify_script", s_set_str, C(notify_script), PATH_MAX, "", 0, 0, false},
    {"actuator", "notify_timeout", s_set_int, C(notify_timeout), 0, "10", 1, 3600, false},
    {"actuator", "notify_queue", s_set_int, C(notify_queue), 0, "256", 1, 100000, false},
    {"actuator", "notify_parallel", s_set_int, C(notify_parallel), 0, "4", 1, 256, false},
    {"actuator", "check_interval", s_set_int, C(check_interval), 0, "5", 1, 3600, false},
    {"actuator", "history_max", s_set_int, C(history_max), 0, "100", 1, 100000, false},
    {"actuator", "events_max", s_set_int, C(events_max), 0, "100000", 100, 100000000, false},
    {"actuator", "metrics_listen", s_set_metrics, C(actuator_metrics), FG_ENDPOINT_MAX, "127.0.0.1:9553", 0, 0, false},
    {"actuator", "bgp_backend", s_set_choice, C(bgp_backend), 16, "none", 0, 0, false},
    {"actuator", "gobgp_api", s_set_hostport, C(gobgp_api), 256, "127.0.0.1:50051", 0, 0, false},
    {"actuator", "gobgp_client", s_set_str, C(gobgp_client), PATH_MAX, "/usr/bin/gobgp", 0, 0, false},
    {"actuator", "exabgp_pipe", s_set_str, C(exabgp_pipe), PATH_MAX, "", 0, 0, false},
    {"actuator", "next_hop_v4", s_set_nexthop, C(next_hop_v4), FG_ADDR_STRLEN, "192.0.2.1", 0, 0, false},
    {"actuator", "next_hop_v6", s_set_nexthop, C(next_hop_v6), FG_ADDR_STRLEN, "100::1", 0, 0, false},
    {"actuator", "communities", s_set_communities, C(communities), 256, "", 0, 0, false},
    {"actuator", "prefix_len_v4", s_set_int, C(prefix_len_v4), 0, "32", 8, 32, false},
    {"actuator", "prefix_len_v6", s_set_int, C(prefix_len_v6), 0, "128", 16, 128, false},
    {"actuator", "allow_short_prefixes", s_set_bool, C(allow_short_prefixes), 0, "false", 0, 0, false},
    {"actuator", "max_bans", s_set_int, C(max_bans), 0, "10000", 1, 10000000, false},
    {"actuator", "dry_run", s_set_bool, C(dry_run), 0, "false", 0, 0, false},
    {"actuator", "renewal", s_set_choice, C(renewal), 8, "renew", 0, 0, false},
    {"actuator", "renew_before", s_set_int, C(renew_before), 0, "60", 0, 86400, false},
    {"actuator", "repeat_window", s_set_int, C(repeat_window), 0, "86400", 0, 31536000, false},
    {"actuator", "attack_log", s_set_str, C(attack_log), PATH_MAX, "", 0, 0, false},
    {"actuator", "backend_timeout", s_set_int, C(backend_timeout), 0, "5", 1, 3600, false},
    {"actuator", "backend_parallel", s_set_int, C(backend_parallel), 0, "4", 1, 64, false},
    {"actuator", "backend_queue", s_set_int, C(backend_queue), 0, "65536", 16, 10000000, false},
};

#define G(field) offsetof(fg_hostgroup_t, field)
/* One threshold key: dir 0/1, class FG_CLS_*, metric pps/mbps/flows. */
#define TH(pfx, d, c, cname, m, def, max) \
    {"hostgroup", pfx "threshold" cname "_" #m, s_set_double, G(th[d][c].m), 0, def, 0, max, false}
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
/* Hostgroup keys: offsets into fg_hostgroup_t; the setters get the group
 * cast as the config (they only use the offset). "networks" is special.
 * threshold_<class>_<metric> is incoming, out_threshold_... outgoing. */
static const key_def_t s_group_keys[] = {
    {"hostgroup", "networks", NULL, 0, 0, "", 0, 0, true},
    {"hostgroup", "ban_time", s_set_int, G(ban_time), U32, "1800", 1, 31536000, false},
    {"hostgroup", "enable_ban", s_set_bool, G(enable_ban), 0, "true", 0, 0, false},
    TH_DIR("", 0, "20000", "1000", "3500"),
    TH_DIR("out_", 1, "0", "0", "0"),
    {"hostgroup", "network_threshold_pps", s_set_double, G(net.pps), 0, "0", 0, 1e12, false},
    {"hostgroup", "network_threshold_mbps", s_set_double, G(net.mbps), 0, "0", 0, 1e9, false},
    {"hostgroup", "network_threshold_flows", s_set_double, G(net.flows), 0, "0", 0, 1e12, false},
    {"hostgroup", "network_host_floor_pps", s_set_double, G(net_floor.pps), 0, "1000", 0, 1e12, false},
    {"hostgroup", "network_host_floor_mbps", s_set_double, G(net_floor.mbps), 0, "10", 0, 1e9, false},
    {"hostgroup", "network_host_floor_flows", s_set_double, G(net_floor.flows), 0, "0", 0, 1e12, false},
    {"hostgroup", "average_time", s_set_double, G(average_time), 0, "1", 0, 3600, false},
    {"hostgroup", "consecutive_windows", s_set_int, G(consecutive), 0, "2", 1, 1000, false},
    {"hostgroup", "hysteresis", s_set_double, G(hysteresis), 0, "0.8", 0.1, 1, false},
};
/* clang-format on */
#define N_KEYS (sizeof(s_keys) / sizeof(s_keys[0]))
#define N_GROUP_KEYS (sizeof(s_group_keys) / sizeof(s_group_keys[0]))

static const char *s_sections[] = {"general",    "networks", "redis",    "collector",
                                   "aggregator", "detector", "actuator", "hostgroup"};

/* ---- errors and line numbers ---- */

static int s_fail(loader_t *l, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int s_fail(loader_t *l, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(l->err, l->errlen, "%s:%d: %s", l->path, line, msg);
    else if (line == 0)
        snprintf(l->err, l->errlen, "%s: %s", l->path, msg);
    else
        snprintf(l->err, l->errlen, "environment: %s", msg);
    return -1;
}

/* Line numbers of the significant lines of the file, in order. */
static int s_index_lines(loader_t *l)
{
    FILE *f = fopen(l->path, "r");
    if (!f)
        return s_fail(l, 0, "cannot open: %s", strerror(errno));
    char buf[4096];
    int lineno = 0, cap = 0, level = -1;
    while (fgets(buf, sizeof(buf), f)) {
        size_t len = strlen(buf);
        if (len && buf[len - 1] == '\n')
            lineno++;
        else if (!feof(f)) { /* a line longer than buf: zconfig rejects it */
            continue;
        } else
            lineno++;
        const char *p = buf;
        while (*p == ' ')
            p++;
        if (*p == '\0' || *p == '\n' || *p == '\r' || *p == '#')
            continue;
        /* The common syntax mistakes, caught here to name the line. */
        int indent = (int)(p - buf);
        if (*p == '\t') {
            fclose(f);
            return s_fail(l, lineno, "syntax error: tab in indentation (use 4 spaces)");
        }
        if (indent % 4 || indent / 4 > level + 1) {
            fclose(f);
            return s_fail(l, lineno, "syntax error: indentation must be 4 spaces per level, "
                                     "one level deeper at most");
        }
        level = indent / 4;
        if (l->n_lines == cap) {
            cap = cap ? cap * 2 : 64;
            int *n = realloc(l->lines, (size_t)cap * sizeof(int));
            if (!n) {
                fclose(f);
                return s_fail(l, 0, "out of memory");
            }
            l->lines = n;
        }
        l->lines[l->n_lines++] = lineno;
    }
    fclose(f);
    return 0;
}

/* Line of the node being visited (0 when unknown). */
static int s_line(const loader_t *l)
{
    return l->node < l->n_lines ? l->lines[l->node] : 0;
}

/* ---- applying values ---- */

static int s_apply(loader_t *l, const key_def_t *k, size_t idx, void *target, const char *val,
                   int line)
{
    const char *why = "bad value";
    if (line != 0 && l->seen[idx] && !k->list)
        return s_fail(l, line, "%s/%s given twice (first at line %d)", k->section, k->key,
                      l->seen[idx]);
    if (line != 0 && !l->seen[idx] && k->list && k->set == s_set_connects)
        memset((char *)target + k->off, 0, sizeof(l->cfg->pull_connect));
    if (line != 0 && !l->seen[idx] && k->list && k->set == s_set_listen)
        l->cfg->n_netflow_listen = 0;
    if (line != 0 && !l->seen[idx] && k->list && k->set == s_set_sflow_listen)
        l->cfg->n_sflow_listen = 0;
    if (line > 0)
        l->seen[idx] = line;
    if (k->set((fg_config_t *)target, k, val, &why) != 0)
        return s_fail(l, line, "%s/%s = \"%s\": %s", k->section, k->key, val, why);
    return 0;
}

static int s_group_new(loader_t *l, const char *name, int line)
{
    fg_config_t *cfg = l->cfg;
    for (int i = 0; i < cfg->n_groups; i++)
        if (!strcmp(cfg->groups[i].name, name))
            return i;
    if (cfg->n_groups == FG_MAX_GROUPS)
        return s_fail(l, line, "too many hostgroups (at most %d)", FG_MAX_GROUPS);
    if (strlen(name) >= FG_NAME_MAX)
        return s_fail(l, line, "hostgroup name too long");
    int g = cfg->n_groups++;
    fg_hostgroup_t *hg = &cfg->groups[g];
    strcpy(hg->name, name);
    for (size_t i = 1; i < N_GROUP_KEYS; i++) {
        const char *why = "bad default";
        if (s_group_keys[i].set((fg_config_t *)(void *)hg, &s_group_keys[i], s_group_keys[i].def,
                                &why) != 0)
            return s_fail(l, line, "default of %s: %s", s_group_keys[i].key, why);
    }
    return g;
}

static int s_read_group(loader_t *l, zconfig_t *grp)
{
    const char *name = zconfig_name(grp);
    int gline = s_line(l);
    const char *v = zconfig_value(grp);
    if (v && *v)
        return s_fail(l, gline, "hostgroup %s takes no value", name);
    if (zconfig_child(grp) == NULL && strcmp(name, "default"))
        return s_fail(l, gline, "hostgroup %s is empty", name);
    int g = s_group_new(l, name, gline);
    if (g < 0)
        return -1;
    int seen[N_GROUP_KEYS] = {0};
    for (zconfig_t *k = zconfig_child(grp); k; k = zconfig_next(k)) {
        l->node++;
        int line = s_line(l);
        const char *key = zconfig_name(k), *val = zconfig_value(k) ? zconfig_value(k) : "";
        if (zconfig_child(k))
            return s_fail(l, line, "hostgroup/%s/%s: unexpected subsection", name, key);
        size_t i;
        for (i = 0; i < N_GROUP_KEYS; i++)
            if (!strcmp(s_group_keys[i].key, key))
                break;
        if (i == N_GROUP_KEYS)
            return s_fail(l, line, "unknown key hostgroup/%s/%s", name, key);
        if (seen[i] && !s_group_keys[i].list)
            return s_fail(l, line, "hostgroup/%s/%s given twice (first at line %d)", name, key,
                          seen[i]);
        seen[i] = line;
        const char *why = "bad value";
        int rc;
        if (i == 0) {
            if (g == 0)
                return s_fail(l, line, "hostgroup default takes its networks from "
                                       "networks/monitored");
            prefix_arg_t a = {l->cfg->monitored, g, NULL};
            rc = s_each_item(val, s_add_prefix, &a, &why);
        } else {
            rc = s_group_keys[i].set((fg_config_t *)(void *)&l->cfg->groups[g], &s_group_keys[i],
                                     val, &why);
        }
        if (rc != 0)
            return s_fail(l, line, "hostgroup/%s/%s = \"%s\": %s", name, key, val, why);
    }
    return 0;
}

/* Nodes in the subtree of k, k included. */
static int s_count_tree(zconfig_t *k)
{
    int n = 1;
    for (zconfig_t *c = zconfig_child(k); c; c = zconfig_next(c))
        n += s_count_tree(c);
    return n;
}

static int s_read_section(loader_t *l, zconfig_t *sec, bool groups_pass)
{
    const char *name = zconfig_name(sec);
    int line = s_line(l);
    bool is_groups = !strcmp(name, "hostgroup");
    size_t si;
    for (si = 0; si < sizeof(s_sections) / sizeof(s_sections[0]); si++)
        if (!strcmp(s_sections[si], name))
            break;
    if (si == sizeof(s_sections) / sizeof(s_sections[0]))
        return s_fail(l, line, "unknown section \"%s\"", name);
    if (zconfig_value(sec) && *zconfig_value(sec))
        return s_fail(l, line, "section %s takes no value (keys go indented below it)", name);
    for (zconfig_t *k = zconfig_child(sec); k; k = zconfig_next(k)) {
        l->node++;
        if (is_groups) {
            if (groups_pass && s_read_group(l, k) != 0)
                return -1;
            if (!groups_pass)
                l->node += s_count_tree(k) - 1;
            continue;
        }
        if (groups_pass) {
            l->node += s_count_tree(k) - 1;
            continue;
        }
        const char *key = zconfig_name(k), *val = zconfig_value(k) ? zconfig_value(k) : "";
        if (zconfig_child(k))
            return s_fail(l, s_line(l), "%s/%s: unexpected subsection", name, key);
        size_t i;
        for (i = 0; i < N_KEYS; i++)
            if (!strcmp(s_keys[i].section, name) && !strcmp(s_keys[i].key, key))
                break;
        if (i == N_KEYS)
            return s_fail(l, s_line(l), "unknown key %s/%s", name, key);
        if (s_apply(l, &s_keys[i], i, l->cfg, val, s_line(l)) != 0)
            return -1;
    }
    return 0;
}

/* FLOODGATE_<SECTION>_<KEY> overrides. */
static int s_read_env(loader_t *l)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        char name[128];
        snprintf(name, sizeof(name), "FLOODGATE_%s_%s", s_keys[i].section, s_keys[i].key);
        for (char *p = name; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        const char *val = getenv(name);
        if (!val)
            continue;
        l->seen[i] = 0; /* an override replaces lists as well */
        if (s_apply(l, &s_keys[i], i, l->cfg, val, -1) != 0)
            return -1;
    }
    return 0;
}

/* Cross-key checks once everything is read. */
static int s_finish(loader_t *l)
{
    fg_config_t *cfg = l->cfg;
    char(*lists[2])[FG_ENDPOINT_MAX] = {cfg->pull_connect, cfg->pub_connect};
    const char *names[2] = {"pull_connect", "pub_connect"};
    for (int j = 0; j < 2; j++) {
        int n = 0;
        while (n < FG_MAX_SHARDS && lists[j][n][0])
            n++;
        if (n == 1 && cfg->shards > 1) {
            char base[FG_ENDPOINT_MAX];
            strcpy(base, lists[j][0]);
            for (int s = 0; s < cfg->shards; s++)
                if (fg_endpoint_offset(base, s, lists[j][s], FG_ENDPOINT_MAX) != 0)
                    return s_fail(l, 0, "aggregator/%s: %s has no port to offset per shard",
                                  names[j], base);
        } else if (n != cfg->shards) {
            return s_fail(l, 0, "aggregator/%s lists %d endpoints for %d shards (give one, "
                                "whose port is offset per shard, or one per shard)",
                          names[j], n, cfg->shards);
        }
    }
    char tmp[FG_ENDPOINT_MAX];
    if (fg_endpoint_offset(cfg->pull_bind, cfg->shards - 1, tmp, sizeof(tmp)) != 0 ||
        fg_endpoint_offset(cfg->pub_bind, cfg->shards - 1, tmp, sizeof(tmp)) != 0)
        return s_fail(l, 0, "aggregator/pull_bind and pub_bind need a numeric port");
    if (cfg->aggregator_metrics[0] &&
        fg_endpoint_offset(cfg->aggregator_metrics, cfg->shards - 1, tmp, sizeof(tmp)) != 0)
        return s_fail(l, 0, "aggregator/metrics_listen: port + shard is out of range");
    if (!cfg->allow_short_prefixes && (cfg->prefix_len_v4 < 32 || cfg->prefix_len_v6 < 128))
        return s_fail(l, 0, "actuator/prefix_len_v4 = %d, prefix_len_v6 = %d: shorter than a "
                            "host route blackholes neighbours too; set "
                            "actuator/allow_short_prefixes = true to allow it",
                      cfg->prefix_len_v4, cfg->prefix_len_v6);
    if (!strcmp(cfg->renewal, "renew") && cfg->renew_before <= cfg->ongoing_interval)
        return s_fail(l, 0, "actuator/renew_before (%d s) must be longer than "
                            "detector/ongoing_interval (%d s), or an ongoing attack's ban lapses "
                            "between two reports",
                      cfg->renew_before, cfg->ongoing_interval);
    if (ptrie_size(cfg->monitored) == 0)
        return s_fail(l, 0, "networks/monitored is empty: nothing to protect");
    for (int g = 0; g < cfg->n_groups; g++) {
        const fg_hostgroup_t *hg = &cfg->groups[g];
        if ((hg->net.pps > 0 || hg->net.mbps > 0 || hg->net.flows > 0) &&
            hg->net_floor.pps <= 0 && hg->net_floor.mbps <= 0 && hg->net_floor.flows <= 0)
            return s_fail(l, 0, "hostgroup %s: a network_threshold needs a network_host_floor "
                                "(else every host of the group would be banned)", hg->name);
    }
    return 0;
}

fg_config_t *fg_config_load(const char *path, char *err, size_t errlen)
{
    loader_t l = {0};
    zconfig_t *root = NULL;
    fg_config_t *cfg = calloc(1, sizeof(*cfg));
    l.cfg = cfg;
    l.path = path;
    l.err = err;
    l.errlen = errlen;
    if (!cfg || !(cfg->monitored = ptrie_new()) || !(cfg->whitelist = ptrie_new()) ||
        !(cfg->exporter_allow = ptrie_new())) {
        s_fail(&l, 0, "out of memory");
        goto fail;
    }
    snprintf(cfg->path, sizeof(cfg->path), "%s", path);
    for (size_t i = 0; i < N_KEYS; i++)
        if (s_apply(&l, &s_keys[i], i, cfg, s_keys[i].def, 0) != 0)
            goto fail;
    if (s_group_new(&l, "default", 0) != 0)
        goto fail;
    if (s_index_lines(&l) != 0)
        goto fail;

    root = zconfig_load(path);
    if (!root) {
        /* zconfig printed its reason with the line number on stdout */
        s_fail(&l, 0, "syntax error (see the zconfig message above)");
        goto fail;
    }
    for (int pass = 0; pass < 2; pass++) {
        l.node = -1;
        for (zconfig_t *sec = zconfig_child(root); sec; sec = zconfig_next(sec)) {
            l.node++;
            if (s_read_section(&l, sec, pass == 1) != 0)
                goto fail;
        }
    }
    if (s_read_env(&l) != 0 || s_finish(&l) != 0)
        goto fail;
    zconfig_destroy(&root);
    free(l.lines);
    return cfg;
fail:
    zconfig_destroy(&root);
    free(l.lines);
    fg_config_destroy(&cfg);
    return NULL;
}

void fg_config_destroy(fg_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ptrie_destroy(&(*self_p)->monitored);
    ptrie_destroy(&(*self_p)->whitelist);
    ptrie_destroy(&(*self_p)->exporter_allow);
    free(*self_p);
    *self_p = NULL;
}

const fg_hostgroup_t *fg_config_group(const fg_config_t *cfg, const fg_addr_t *a)
{
    int g = ptrie_lookup(cfg->monitored, a);
    return g < 0 ? NULL : &cfg->groups[g];
}

uint32_t fg_config_sampling_override(const fg_config_t *cfg, const fg_addr_t *exporter)
{
    for (int i = 0; i < cfg->n_sampling_override; i++)
        if (fg_addr_eq(&cfg->sampling_override[i].exporter, exporter))
            return cfg->sampling_override[i].rate;
    return 0;
}

bool fg_config_exporter_allowed(const fg_config_t *cfg, const fg_addr_t *exporter)
{
    return ptrie_size(cfg->exporter_allow) == 0 || ptrie_lookup(cfg->exporter_allow, exporter) >= 0;
}

bool fg_config_whitelisted(const fg_config_t *cfg, const fg_addr_t *a)
{
    return ptrie_lookup(cfg->whitelist, a) >= 0;
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
