/* runner: run short-lived commands (the `gobgp` client, the notify script)
 * without ever blocking the caller, and capture what they print.
 *
 * Each job is an argv run with fork+execv (no shell) in its own process
 * group. Its stdin is /dev/null, or, when the job has an input, a socket we
 * write non-blocking as the child reads it (a child that never reads cannot
 * stall us; one that exits early raises no SIGPIPE in us, whatever our
 * disposition). With out_max > 0, stdout and stderr are read through
 * non-blocking pipes (stdout kept up to out_max bytes, stderr up to 512);
 * with out_max 0 the child inherits ours. At most `parallel` run at once;
 * further jobs wait in a FIFO queue of `queue_max` (overflow is refused and
 * counted). A job still running after timeout_ms is killed with SIGKILL to
 * its group. Jobs that share a non-empty key never overlap and start in the
 * order submitted, so the withdraw of a prefix cannot overtake its announce.
 * runner_poll(), called every loop turn, feeds stdins, reads the pipes,
 * reaps, kills and starts. Leaf module: it counts and reports each finished
 * job to a callback; the caller logs. */
#ifndef FG_ACT_RUNNER_H
#define FG_ACT_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RUNNER_MAX_ARGS 32
#define RUNNER_KEY_MAX 64

typedef struct runner_t runner_t;

typedef struct {
    uint64_t run;       /* started */
    uint64_t failed;    /* exit != 0, signal, could not start, output over out_max */
    uint64_t timed_out; /* killed after the timeout (also counted in failed) */
    uint64_t dropped;   /* refused: queue full or out of memory */
} runner_stats_t;

/* A finished job, valid during the callback. */
typedef struct {
    const char *key;
    int tag;           /* the caller's, from runner_submit */
    const char *const *argv; /* as submitted, NULL-terminated */
    pid_t pid;
    int status;        /* as from waitpid; -1 when it could not be started */
    bool ok;           /* exited 0, not killed, output complete */
    bool timed_out;
    const char *out;   /* stdout, NUL-terminated (may be "") */
    size_t out_len;
    const char *err;   /* stderr, first 512 bytes */
    uint64_t ms;       /* how long it ran */
} runner_result_t;

typedef void(runner_done_fn)(const runner_result_t *r, void *arg);

/* A runner; fn (may be NULL) is called with arg for every finished job,
 * from runner_poll() only. fn may submit new jobs. out_max 0: the children
 * inherit our stdout and stderr (out and err are then ""). NULL on OOM or a
 * bad argument (queue_max, parallel or timeout_ms < 1). */
runner_t *runner_new(int queue_max, int parallel, int timeout_ms, size_t out_max,
                     runner_done_fn *fn, void *arg);

/* Kill (SIGKILL to the group) and reap every running job, drop the queue,
 * free, NULL the pointer. Idempotent. */
void runner_destroy(runner_t **self_p);

/* Queue argv (copied; at most RUNNER_MAX_ARGS - 1 entries, NULL-terminated;
 * argv[0] is a path) under key (NULL or "" = no ordering) with the caller's
 * tag; input (copied; NULL = stdin /dev/null) is written to its stdin, which
 * is then closed. Starts it at once when allowed. 0, or -1 when refused
 * (counted). */
int runner_submit(runner_t *self, const char *const argv[], const char *key, int tag,
                  const char *input);

/* Feed stdins, read output, kill jobs past the timeout, reap finished ones
 * (reporting each), start queued ones. Never blocks. */
void runner_poll(runner_t *self);

/* Poll every 5 ms until nothing runs or waits, at most timeout_ms. True when
 * idle. For shutdown and tests. */
bool runner_wait_idle(runner_t *self, int timeout_ms);

size_t runner_queued(const runner_t *self);
int runner_running(const runner_t *self);

/* True when a job with this key is queued or running. */
bool runner_busy(const runner_t *self, const char *key);

void runner_get_stats(const runner_t *self, runner_stats_t *out);

#endif
