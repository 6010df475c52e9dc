/* injector: one long-running child process fed through its stdin, for a
 * client that streams what it reads to a daemon (`gobgp mrt inject global
 * /dev/stdin` streams MRT records to gobgpd over one gRPC stream): one
 * process for any number of routes instead of one per route.
 *
 * Writes never block: bytes the pipe does not take now wait in a bounded
 * buffer that injector_poll() flushes; beyond max_pending they are refused.
 * A child that reads nothing while bytes wait for stall_ms is killed (its
 * process group, SIGKILL). The first bytes the child prints (stdout and
 * stderr) are kept for the caller's log line. Leaf module: it
 * reports, the caller logs and decides when to start a new child. */
#ifndef FG_ACT_INJECTOR_H
#define FG_ACT_INJECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define INJECTOR_ERR_MAX 256

typedef struct injector_t injector_t;

typedef struct {
    pid_t pid;
    int status;                 /* as from waitpid */
    bool killed;                /* stalled, killed by us */
    char err[INJECTOR_ERR_MAX]; /* the start of its output, NUL-terminated */
} injector_exit_t;

/* An injector with no child yet. NULL on OOM or a bad argument. */
injector_t *injector_new(size_t max_pending, int stall_ms);

/* Close the child's stdin (it sees end of file), give it wait_ms to exit,
 * then kill its group; reap, free, NULL the pointer. Idempotent. */
void injector_destroy(injector_t **self_p, int wait_ms);

/* Start argv (argv[0] a path, NULL-terminated) with an empty buffer. 0, or
 * -1 when a child still runs or it cannot be started. */
int injector_start(injector_t *self, const char *const argv[]);

bool injector_running(const injector_t *self);

/* Queue n bytes for the child and write what the pipe takes now. 0, or -1
 * (nothing queued) when no child runs or max_pending would be passed. */
int injector_write(injector_t *self, const void *p, size_t n);

/* Write what waits, read stderr, kill a stalled child, reap. True when the
 * child has exited (out describes it; the injector is then empty and a
 * new child may be started). Never blocks. */
bool injector_poll(injector_t *self, injector_exit_t *out);

/* Bytes the child has not read yet: ours waiting plus those in the pipe. */
size_t injector_pending(const injector_t *self);

#endif
