/* det_metrics: the detector's Prometheus metrics (common/metrics.h). */
#ifndef FG_DET_METRICS_H
#define FG_DET_METRICS_H

#include "common/metrics.h"
#include "detector/detect.h"

/* Start the metrics server on detector/metrics_listen and register det's
 * counters (det must outlive the registry). NULL when metrics are off or
 * memory ran out (logged). Healthy while a window arrived in the last 5 s. */
fg_metrics_t *det_metrics_start(const fg_config_t *cfg, det_t *det);

#endif
