/* det_config: the detector's section of floodgate.conf, its schema and its
 * struct (cfg->detector). Thresholds live in the hostgroups (common). */
#ifndef FG_DET_CONFIG_H
#define FG_DET_CONFIG_H

#include <limits.h>

#include "common/cfgbase.h"

typedef struct {
    int ongoing_interval; /* seconds between ONGOING decisions per host */
    int attack_end;       /* seconds below threshold that end an attack */
    int max_hosts;        /* host states (averages, baselines, attacks) held */
    char metrics_listen[FG_ENDPOINT_MAX];
    char cert[PATH_MAX]; /* Curve certificate (secret file), curve/enable */
} det_config_t;

/* The section "detector". */
extern const zpl_section_t det_config_section;

#endif
