/* metrics: a daemon's Prometheus metrics and its /metrics + /healthz server.
 *
 * The daemon declares its counters once, at start-up, as a table of
 * fg_series_t (name, type, help, labels, offset of a uint64_t in its stats
 * struct) over the struct it keeps updating as before (fg_metrics_table), or
 * writes the same table from a callback over a copy (fg_mout_table). Metrics
 * whose label sets change at run time (one per exporter, per shard) come from
 * a callback that writes them with fg_mout_*(). Nothing is read from another
 * thread: the daemon's loop calls fg_metrics_tick() every turn, and when a
 * scrape is waiting (or at least once per second) the tick renders the text
 * exposition (and evaluates the health callback) on the loop's own thread
 * into a snapshot. An HTTP server thread (libmicrohttpd, one epoll loop,
 * common/metrics_http.c) hands out the latest snapshot, in HTTP/1.0, one
 * request per connection:
 *
 *   GET /metrics   text format 0.0.4, at most one loop turn old
 *   GET /healthz   200 "ok" (plus the callback's note, if any: "ok standby
 *                  active=...") or 503 with the reason: the health callback
 *                  failed, or the loop has not ticked for 5 s (stuck)
 *
 * A scrape waits up to 2 s for a fresh render, then gets the last one;
 * /healthz waits up to 0.5 s, then answers with the last verdict (at most a
 * second old). Waiting requests are suspended, not blocking: connections are
 * served concurrently, up to min(4096, RLIMIT_NOFILE / 4) at once; one silent
 * for 5 s is closed, and any is shut down 10 s after it was accepted.
 * Renders happen at most every 100 ms however many scrapes ask.
 *
 * Every registry has, from fg_metrics_new():
 *   floodgate_build_info{proc,version} 1
 *   floodgate_process_start_time_seconds, floodgate_uptime_seconds
 *   floodgate_heartbeat_timestamp_seconds   (time of the render)
 *   floodgate_healthy                       (1 / 0, the /healthz verdict)
 *
 * Naming follows Prometheus: floodgate_<proc>_<what>_<unit>, counters end
 * in _total, labels are given as text already formatted: exporter="10.0.0.1",
 * result="decoded" (fg_metrics_escape() makes a label value safe). */
#ifndef FG_METRICS_H
#define FG_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define FG_VERSION "0.2.0"

/* Health verdicts older than this make /healthz fail: the loop is stuck. */
#define FG_METRICS_STALE_MS 5000

typedef struct fg_metrics fg_metrics_t;
typedef struct fg_mout fg_mout_t;

/* Writes a set of metric families with fg_mout_family() / fg_mout_*(). */
typedef void (*fg_metrics_fn)(fg_mout_t *out, void *arg);

/* Health of the process: 0 when it does its job (why may then hold a note,
 * "" by default), else -1 with a short reason ("no window published for
 * 7 s") written into why. */
typedef int (*fg_health_fn)(char *why, size_t len, void *arg);

/* A registry for process proc ("collector", "aggregator", ...), with the
 * common metrics above. Not serving yet. NULL when out of memory. */
fg_metrics_t *fg_metrics_new(const char *proc);

/* Serve /metrics and /healthz on hostport ("127.0.0.1:9551",
 * "[::1]:9551", "0.0.0.0:9551") from a thread of its own. Returns 0 when
 * listening; -1 with the reason in err when the address is bad, the port is
 * taken or the thread cannot start. When the port is taken the thread is
 * still started and retries the bind every 5 s (so a restarted process gets
 * its port back), and -1 is returned so the caller logs it once. */
int fg_metrics_listen(fg_metrics_t *self, const char *hostport, char *err, size_t errlen);

/* The port actually bound (useful with port 0), or 0 when not listening. */
int fg_metrics_port(const fg_metrics_t *self);

/* How many connections the server accepts at once (0 when not serving):
 * min(4096, RLIMIT_NOFILE soft limit / 4), at least 16. */
unsigned fg_metrics_conn_limit(const fg_metrics_t *self);

/* The one way to declare a daemon's metrics: a table of series, each a
 * uint64_t field of the daemon's stats struct. Rows of one family (same name,
 * different labels) are consecutive; the first row's type and help count
 * (later rows may leave help ""). Name and help are string literals. */
typedef struct {
    const char *name;
    const char *type;   /* "counter" or "gauge" */
    const char *help;
    const char *labels; /* "" or 'k="v",k2="v2"' */
    size_t off;         /* offset of the uint64_t in the stats struct */
} fg_series_t;

#define FG_COUNTER(T, field, name, labels, help) {name, "counter", help, labels, offsetof(T, field)}
#define FG_GAUGE(T, field, name, labels, help) {name, "gauge", help, labels, offsetof(T, field)}
#define FG_NSERIES(table) (sizeof(table) / sizeof((table)[0]))

/* Register the n rows of table over the stats struct at base, read at every
 * render (the daemon keeps updating it; base must outlive the registry).
 * labels ("" or NULL, or 'shard="0"') go before each row's own. Returns 0,
 * or -1 when out of memory. */
int fg_metrics_table(fg_metrics_t *self, const fg_series_t *table, size_t n, const void *base,
                     const char *labels);

/* The same table written from a callback over a copy of the stats (for a
 * daemon that copies its stats at each render, or stats that come and go). */
void fg_mout_table(fg_mout_t *out, const fg_series_t *table, size_t n, const void *base,
                   const char *labels);

/* Call fn(out, arg) at every render, after the registered values. Returns 0,
 * or -1 when out of memory. */
int fg_metrics_add_fn(fg_metrics_t *self, fg_metrics_fn fn, void *arg);

/* Zeroed memory of size bytes owned by the registry (freed with it): the
 * context of a daemon's callbacks. NULL when out of memory. */
void *fg_metrics_calloc(fg_metrics_t *self, size_t size);

/* The process's health check, evaluated at every render (one only; a second
 * call replaces the first). Without one the process is healthy while its
 * loop ticks. */
void fg_metrics_set_health(fg_metrics_t *self, fg_health_fn fn, void *arg);

/* Call on every loop turn (cheap: an atomic load when nothing is due).
 * Renders a fresh snapshot when a scrape waits for one or a second passed. */
void fg_metrics_tick(fg_metrics_t *self);

/* The monotonic clock (milliseconds) that tells a stalled loop: ticks are
 * stamped with it and /healthz compares it with FG_METRICS_STALE_MS. NULL
 * restores the default, fg_mono_ms. For tests, which make time pass without
 * waiting; call before fg_metrics_listen (the server thread reads it). */
void fg_metrics_set_clock(fg_metrics_t *self, uint64_t (*clock)(void));

/* Render now (tests, or a daemon about to exit). */
void fg_metrics_render(fg_metrics_t *self);

/* The last rendered text, copied into a new string the caller frees, or NULL
 * when out of memory. For tests and the daemon's own use. */
char *fg_metrics_snapshot(fg_metrics_t *self);

/* Stop the server thread, free everything, NULL the caller's pointer.
 * Idempotent. */
void fg_metrics_destroy(fg_metrics_t **self_p);

/* For daemons: a registry for proc serving on listen (its section's
 * metrics_listen), or NULL when listen is "" (metrics off) or memory runs
 * out. Logs event=metrics_listen, or event=metrics_bind_failed (at error
 * level: the daemon runs on, and the server retries the bind every 5 s).
 * Defined in common/metrics_start.c. */
fg_metrics_t *fg_metrics_start(const char *proc, const char *listen);

/* A progress watchdog for health checks: feed it a counter at every render;
 * it tells how long the counter has not moved. Zero-initialise it. */
typedef struct {
    uint64_t last_value;
    uint64_t last_change_ms; /* monotonic; 0 = not fed yet */
} fg_progress_t;

/* Milliseconds since value last changed (0 on the first call). */
uint64_t fg_progress_idle_ms(fg_progress_t *p, uint64_t value);

/* The same at monotonic time now (ms): for callers with a clock of their
 * own, and tests. */
uint64_t fg_progress_idle_at(fg_progress_t *p, uint64_t value, uint64_t now);

/* A health check on progress: -1 with "no WHAT for N s" in why when value
 * has not moved for limit_ms, else 0. */
int fg_progress_health(fg_progress_t *p, uint64_t value, uint64_t limit_ms, const char *what,
                       char *why, size_t len);

/* ---- writing metrics from a callback ---- */

/* Start a family: "# HELP name help" and "# TYPE name type" (type is
 * "counter" or "gauge"). Write each family's header once per render. */
void fg_mout_family(fg_mout_t *out, const char *name, const char *type, const char *help);

/* One sample: name{labels} value. labels may be "" or NULL. */
void fg_mout_u64(fg_mout_t *out, const char *name, const char *labels, uint64_t v);
void fg_mout_double(fg_mout_t *out, const char *name, const char *labels, double v);

/* Copy s into out (size len) as a label value: backslash, double quote and
 * newline escaped; truncated to fit. Returns out. */
char *fg_metrics_escape(const char *s, char *out, size_t len);

#endif
