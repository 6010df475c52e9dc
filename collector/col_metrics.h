/* col_metrics: the collector's Prometheus metrics (common/metrics.h). */
#ifndef FG_COL_METRICS_H
#define FG_COL_METRICS_H

#include "collector/collector.h"
#include "common/metrics.h"

/* Start the metrics server on cfg's collector/metrics_listen and register
 * col's counters (col must outlive the registry). NULL when metrics are off
 * or memory ran out (logged). Healthy while no batch was dropped for 10 s. */
fg_metrics_t *col_metrics_start(const fg_config_t *cfg, col_t *col);

#endif
