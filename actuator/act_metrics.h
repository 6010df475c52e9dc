/* act_metrics: the actuator's Prometheus metrics (common/metrics.h). */
#ifndef FG_ACT_METRICS_H
#define FG_ACT_METRICS_H

#include "actuator/act.h"
#include "common/metrics.h"

/* Start the metrics server on actuator/metrics_listen and export act's
 * counters (act must outlive the registry). NULL when metrics are off or
 * memory ran out (logged). Healthy while Redis is reachable and accepts
 * writes, and every backend is up. */
fg_metrics_t *act_metrics_start(const fg_config_t *cfg, act_t *act);

#endif
