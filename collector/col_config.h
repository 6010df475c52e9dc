/* col_config: the collector's section of floodgate.conf, its schema and
 * its struct (cfg->collector). */
#ifndef FG_COL_CONFIG_H
#define FG_COL_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/cfgbase.h"
#include "common/ptrie.h"

#define FG_MAX_LISTEN 8
#define FG_MAX_OVERRIDES 256

typedef struct {
    uint32_t id;
    char netflow_listen[FG_MAX_LISTEN][FG_ENDPOINT_MAX];
    int n_netflow_listen;
    int rcvbuf;
    int batch_records;
    int batch_ms;
    int default_sampling;
    int send_hwm;
    char metrics_listen[FG_ENDPOINT_MAX]; /* "" = off */
    char sflow_listen[FG_MAX_LISTEN][FG_ENDPOINT_MAX];
    int n_sflow_listen;
    int template_timeout;        /* seconds; 0 = templates never expire */
    int max_templates;           /* per (exporter, source id / domain) */
    int template_hold_ms;        /* hold data sets this long for their template */
    ptrie_t *exporter_allow;     /* empty: every exporter is accepted */
    int max_exporters;            /* exporter streams in the table */
    int max_streams_per_address;
    int max_templates_per_address;
    int max_templates_total;
    int exporter_idle_timeout;    /* seconds; 0 = streams never expire */
    int exporter_established_after; /* seconds in sequence */
    int metrics_exporters;        /* per-exporter label sets: the busiest N */
    int seq_max_records_per_s;   /* v5 / IPFIX: the largest plausible gap rate */
    int seq_max_datagrams_per_s; /* v9 / sFlow: the same in datagrams */
    struct {
        fg_addr_t exporter;
        uint32_t rate;
    } sampling_override[FG_MAX_OVERRIDES];
    int n_sampling_override;
    /* recording of the datagrams received (collector/recorder.h) */
    char record_file[512];  /* PREFIX of the pcap files; "" = off */
    int record_max_mb;      /* per file */
    int record_max_seconds; /* per file */
    int record_keep;        /* files kept, the oldest deleted */
    char cert[PATH_MAX]; /* Curve certificate (secret file), curve/enable */
} col_config_t;

/* The section "collector" (offset of cfg->collector in fg_config_t given
 * by common/config.c). */
extern const zpl_section_t col_config_section;

/* The configured sampling rate of an exporter (sampling_override), 0 when
 * it has none. */
uint32_t col_config_sampling_override(const col_config_t *c, const fg_addr_t *exporter);

/* True when exporter_allow is empty or holds the address. */
bool col_config_exporter_allowed(const col_config_t *c, const fg_addr_t *exporter);

#endif
