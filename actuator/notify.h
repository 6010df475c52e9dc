/* notify: run the operator's notify script, FastNetMon style, without ever
 * blocking the caller.
 *
 *   script <ip> <incoming|outgoing> <pps> <ban|unban>   (details on stdin)
 *
 * Each run is fork+execv (no shell) in its own process group, its stdin a
 * socket written non-blocking (a script that never reads it cannot stall
 * us, and a script that exits early raises no SIGPIPE). At most `parallel`
 * run at once; further runs wait in a queue of `queue_max` (overflow is
 * dropped and counted). A run still going after `timeout_s` is killed with
 * SIGKILL to its process group. Runs for one address never overlap and
 * start in the order submitted. Children are reaped with WNOHANG by
 * notify_poll(), which the owner calls every loop turn (every 100 ms or so).
 * Leaf module, a thin layer over runner (actuator/runner.h): it counts and
 * reports each finished run to a callback; the caller logs. */
#ifndef FG_ACT_NOTIFY_H
#define FG_ACT_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct notify_t notify_t;

typedef struct {
    uint64_t run;          /* started */
    uint64_t failed;       /* exited != 0, killed by a signal, or could not start */
    uint64_t timed_out;    /* killed after the timeout */
    uint64_t dropped;      /* queue full */
} notify_stats_t;

/* A finished run, valid during the callback. */
typedef struct {
    const char *ip;
    const char *action;
    pid_t pid;
    int status;     /* as from waitpid; -1 when it could not be started */
    bool timed_out; /* it was killed for running too long */
    uint64_t ms;    /* how long it ran */
} notify_result_t;

typedef void(notify_done_fn)(const notify_result_t *r, void *arg);

/* A runner for script (copied). NULL on OOM or a bad argument. */
notify_t *notify_new(const char *script, int queue_max, int parallel, int timeout_s);

/* The script runs from now on use (copied); runs queued or going keep
 * theirs. Returns 0, or -1 (empty, OOM) with the script unchanged. */
int notify_set_script(notify_t *self, const char *script);

/* The script runs use now. */
const char *notify_script(const notify_t *self);

/* Kill (SIGKILL to the group) and reap every running script, drop the queue,
 * free, NULL the pointer. Idempotent. */
void notify_destroy(notify_t **self_p);

/* Queue one run; input (may be NULL) is copied and written to its stdin.
 * Starts it at once when a slot is free. Returns 0, or -1 when the queue is
 * full or memory ran out (counted as dropped). */
int notify_submit(notify_t *self, const char *ip, const char *direction, double pps,
                  const char *action, const char *input);

/* Feed stdins, kill runs past the timeout, reap finished ones (fn, may be
 * NULL, is called for each; it may submit), start queued ones. Never
 * blocks. */
void notify_poll(notify_t *self, notify_done_fn *fn, void *arg);

/* Poll every 5 ms until nothing runs or waits, at most timeout_ms. Returns
 * true when idle. For shutdown and tests. */
bool notify_wait_idle(notify_t *self, int timeout_ms, notify_done_fn *fn, void *arg);

size_t notify_queued(const notify_t *self);
int notify_running(const notify_t *self);
void notify_get_stats(const notify_t *self, notify_stats_t *out);

#endif
