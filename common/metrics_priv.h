/* metrics_priv: the registry's struct, shared by common/metrics.c (registry,
 * renderer: the daemon's loop thread) and common/metrics_http.c (the HTTP
 * server thread, libmicrohttpd). Not for other modules.
 *
 * The two threads share only the snapshot (text, health verdict, render
 * time and generation, under mu), the atomics `wanted` (a request waits for
 * a render) and `last_tick` (the loop is alive), and wake_fd (an eventfd the
 * render writes to wake the server). The daemon's counters are read by the
 * loop's thread alone, so its hot path takes no lock and needs no atomics. */
#ifndef FG_METRICS_PRIV_H
#define FG_METRICS_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "common/fgbuf.h"
#include "common/metrics.h"

typedef struct {
    const char *name;
    const char *help;
    const char *type; /* "counter" / "gauge" */
    char *labels;
    const uint64_t *value;
} fgm_entry_t;

typedef struct {
    fg_metrics_fn fn;
    void *arg;
} fgm_fn_t;

struct fg_mout {
    fg_buf_t b; /* the exposition text; b.failed: out of memory, text cut */
};

typedef struct fgm_http fgm_http_t;

struct fg_metrics {
    char proc[64];
    uint64_t start_ms; /* wall clock */
    fgm_entry_t *entries;
    size_t n_entries, cap_entries;
    fgm_fn_t *fns;
    size_t n_fns, cap_fns;
    void **owned;
    size_t n_owned;
    fg_health_fn health;
    void *health_arg;
    double healthy_gauge;
    fg_mout_t render; /* the loop's buffer */

    /* shared with the server thread */
    pthread_mutex_t mu;
    fg_mout_t snap;
    bool snap_healthy;
    char snap_why[256 + 8]; /* "ok " and a health reason of up to 255 bytes */
    uint64_t snap_ms;  /* mono time at which the last render started */
    uint64_t snap_gen; /* +1 per render */
    atomic_int wanted;
    atomic_uint_fast64_t last_tick; /* on clock */
    uint64_t (*clock)(void);        /* tells a stalled loop; set before serving */
    int wake_fd; /* eventfd, -1 when not serving */

    fgm_http_t *http; /* metrics_http.c's; NULL when not serving */
};

/* Stop the server thread and free its state (metrics_http.c). Idempotent. */
void fgm_http_stop(fg_metrics_t *m);

/* Render the server's own metrics (connections, limit, deadline closes). */
void fgm_http_render(fg_metrics_t *m, fg_mout_t *o);

#endif
