/* col_config: the collector's keys. */
#include "collector/col_config.h"

#include "common/config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* "ADDRESS=RATE" items. */
static int s_add_override(void *arg, const char *item, const char **why)
{
    col_config_t *c = arg;
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
    if (c->n_sampling_override >= FG_MAX_OVERRIDES) {
        *why = "too many sampling overrides";
        return -1;
    }
    int i = c->n_sampling_override;
    if (fg_addr_parse(addr, &c->sampling_override[i].exporter) != 0) {
        *why = "bad exporter address";
        return -1;
    }
    c->sampling_override[i].rate = (uint32_t)rate;
    c->n_sampling_override++;
    return 0;
}

static int s_set_override(void *root, void *target, const zpl_key_t *k, const char *val,
                          const char **why)
{
    (void)root;
    (void)k;
    return zpl_each_item(val, s_add_override, target, why);
}

/* clang-format off */
#define F(field) offsetof(col_config_t, field)
#define SZ(field) sizeof(((col_config_t *)0)->field)
#define INT(key, d, lo, hi) {.name = #key, .kind = ZPL_INT, .off = F(key), .def = d, .min = lo, .max = hi}
#define INT_R(key, d, lo, hi) {.name = #key, .kind = ZPL_INT, .off = F(key), .def = d, .min = lo, .max = hi, .restart = true}
#define LISTS(key, d) \
    {.name = #key, .kind = ZPL_HOSTPORTS, .off = F(key), .size = FG_ENDPOINT_MAX, \
     .count_off = F(n_##key), .max_items = FG_MAX_LISTEN, .def = d, .list = true, .restart = true}
static const zpl_key_t s_keys[] = {
    {.restart = true, .name = "id", .kind = ZPL_UINT32, .off = F(id), .def = "1", .min = 0, .max = 4294967295.0},
    LISTS(netflow_listen, "0.0.0.0:2055"),
    INT_R(rcvbuf, "8388608", 65536, 1073741824),
    INT_R(batch_records, "4096", 1, 65536),
    INT(batch_ms, "20", 1, 1000),
    INT(default_sampling, "1", 1, 1000000),
    INT_R(send_hwm, "1000", 1, 1000000),
    {.restart = true, .name = "metrics_listen", .kind = ZPL_LISTEN, .off = F(metrics_listen), .size = SZ(metrics_listen), .def = "127.0.0.1:9551"},
    LISTS(sflow_listen, "0.0.0.0:6343"),
    INT(template_timeout, "1800", 0, 604800),
    INT(max_templates, "256", 1, 65536),
    INT(template_hold_ms, "0", 0, 60000),
    {.name = "exporter_allow", .kind = ZPL_PREFIXES, .off = F(exporter_allow), .value = 1, .def = "", .list = true},
    INT_R(max_exporters, "4096", 1, 1000000),
    INT_R(max_streams_per_address, "64", 1, 1000000),
    INT_R(max_templates_per_address, "1024", 1, 10000000),
    INT_R(max_templates_total, "16384", 1, 10000000),
    INT_R(exporter_idle_timeout, "600", 0, 604800),
    INT_R(exporter_established_after, "30", 0, 86400),
    INT_R(metrics_exporters, "32", 0, 10000),
    INT(seq_max_records_per_s, "1000000", 1, 1000000000),
    INT(seq_max_datagrams_per_s, "100000", 1, 1000000000),
    {.name = "sampling_override", .kind = ZPL_CUSTOM, .parse = s_set_override, .def = "", .list = true,
     .counted = true, .count_off = F(n_sampling_override)},
    {.restart = true, .name = "record_file", .kind = ZPL_STRING, .off = F(record_file), .size = SZ(record_file), .def = ""},
    INT_R(record_max_mb, "100", 1, 1048576),
    INT_R(record_max_seconds, "3600", 1, 604800),
    INT_R(record_keep, "24", 1, 100000),
    {.restart = true, .name = "cert", .kind = ZPL_STRING, .off = F(cert), .size = SZ(cert), .def = "/etc/floodgate/keys/collector.key_secret"},
};
/* clang-format on */

uint32_t col_config_sampling_override(const col_config_t *c, const fg_addr_t *exporter)
{
    for (int i = 0; i < c->n_sampling_override; i++)
        if (fg_addr_eq(&c->sampling_override[i].exporter, exporter))
            return c->sampling_override[i].rate;
    return 0;
}

bool col_config_exporter_allowed(const col_config_t *c, const fg_addr_t *exporter)
{
    return ptrie_size(c->exporter_allow) == 0 || ptrie_lookup(c->exporter_allow, exporter) >= 0;
}

const zpl_section_t col_config_section = {
    .name = "collector",
    .keys = s_keys,
    .n_keys = sizeof(s_keys) / sizeof(s_keys[0]),
    .off = offsetof(fg_config_t, collector),
};
