#include "actuator/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "actuator/runner.h"

struct notify_t {
    char *script;
    runner_t *runner;       /* key = the address, so its runs never overlap */
    notify_done_fn *fn;     /* the caller's, while notify_poll() runs */
    void *arg;
    uint64_t failed;        /* the runner's failed counts timeouts too */
};

/* Every finished run, from runner_poll(): count it, pass it on. */
static void s_done(const runner_result_t *r, void *arg)
{
    notify_t *self = arg;
    bool ok = r->status >= 0 && WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
    if (!ok && !r->timed_out)
        self->failed++;
    notify_result_t res = {r->argv[1], r->argv[4], r->pid, r->status, r->timed_out, r->ms};
    if (self->fn)
        self->fn(&res, self->arg);
}

notify_t *notify_new(const char *script, int queue_max, int parallel, int timeout_s)
{
    if (!script || !*script || queue_max < 1 || parallel < 1 || timeout_s < 1)
        return NULL;
    notify_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->script = strdup(script);
    /* out_max 0: the script's stdout and stderr are ours, as before */
    self->runner = runner_new(queue_max, parallel, timeout_s * 1000, 0, s_done, self);
    if (!self->script || !self->runner)
        notify_destroy(&self);
    return self;
}

int notify_set_script(notify_t *self, const char *script)
{
    char *s = script && *script ? strdup(script) : NULL;
    if (!s)
        return -1;
    free(self->script);
    self->script = s;
    return 0;
}

const char *notify_script(const notify_t *self)
{
    return self->script;
}

void notify_destroy(notify_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    runner_destroy(&(*self_p)->runner);
    free((*self_p)->script);
    free(*self_p);
    *self_p = NULL;
}

int notify_submit(notify_t *self, const char *ip, const char *direction, double pps,
                  const char *action, const char *input)
{
    char pps_s[32];
    snprintf(pps_s, sizeof(pps_s), "%.0f", pps >= 0 && pps < 1e18 ? pps : 0);
    const char *argv[] = {self->script, ip, direction, pps_s, action, NULL};
    /* always a socket on stdin, empty when there is no input */
    return runner_submit(self->runner, argv, ip, 0, input ? input : "");
}

void notify_poll(notify_t *self, notify_done_fn *fn, void *arg)
{
    self->fn = fn;
    self->arg = arg;
    runner_poll(self->runner);
    self->fn = NULL;
    self->arg = NULL;
}

bool notify_wait_idle(notify_t *self, int timeout_ms, notify_done_fn *fn, void *arg)
{
    self->fn = fn;
    self->arg = arg;
    bool idle = runner_wait_idle(self->runner, timeout_ms);
    self->fn = NULL;
    self->arg = NULL;
    return idle;
}

size_t notify_queued(const notify_t *self)
{
    return runner_queued(self->runner);
}

int notify_running(const notify_t *self)
{
    return runner_running(self->runner);
}

void notify_get_stats(const notify_t *self, notify_stats_t *out)
{
    runner_stats_t st;
    runner_get_stats(self->runner, &st);
    *out = (notify_stats_t){st.run, self->failed, st.timed_out, st.dropped};
}
