/* scrape: the CLI's view of the daemons' metrics endpoints: a small HTTP
 * GET, the Prometheus text format read back, and the list of endpoints a
 * config names. */
#ifndef FG_CLI_SCRAPE_H
#define FG_CLI_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"

#define SCRAPE_MAX_TARGETS (FG_MAX_SHARDS + 16)

typedef struct {
    char name[32];      /* "collector", "aggregator/0", ... */
    char kind[16];      /* "collector", "aggregator", "detector", "actuator", "" */
    char hostport[FG_ENDPOINT_MAX];
} scrape_target_t;

/* GET http://hostport/path, everything bounded by timeout_ms. Returns the
 * HTTP status code with the body in *body (the caller's to free), or -1 with
 * the reason in err (connection refused, timeout, bad answer). */
int scrape_get(const char *hostport, const char *path, int timeout_ms, char **body, char *err,
               size_t errlen);

/* Sum of the samples of metric name in text whose label text contains
 * filter ('result="decoded"'; NULL or "" for every sample). *found (may be
 * NULL) gets the number of samples summed. */
double scrape_sum(const char *text, const char *name, const char *filter, int *found);

/* The value of label key in the first sample of name, into out ("" when
 * absent). Returns out. */
char *scrape_label(const char *text, const char *name, const char *key, char *out, size_t len);

/* The endpoints of cfg's daemons: collector, each aggregator shard, detector,
 * actuator (those whose metrics_listen is set), with wildcard listen
 * addresses (0.0.0.0, ::, *) turned into loopback. Returns the count. */
int scrape_targets(const fg_config_t *cfg, scrape_target_t *out, int max);

#endif
