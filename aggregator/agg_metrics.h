/* agg_metrics: an aggregator shard's Prometheus metrics (common/metrics.h). */
#ifndef FG_AGG_METRICS_H
#define FG_AGG_METRICS_H

#include "aggregator/agg.h"
#include "common/metrics.h"

/* Start the metrics server of shard on aggregator/metrics_listen (port +
 * shard) and register agg's counters and publish_failed (the daemon's
 * count of windows it could not send; both must outlive the registry).
 * NULL when metrics are off or memory ran out (logged). Healthy while a
 * window was built in the last 5 s. */
fg_metrics_t *agg_metrics_start(const fg_config_t *cfg, uint32_t shard, agg_t *agg,
                                const uint64_t *publish_failed);

#endif
