#include "actuator/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char ip[64];
    char direction[16];
    char pps[32];
    char action[16];
    char *input;
    size_t input_len;
    size_t input_off;
    pid_t pid;
    int fd; /* our end of the script's stdin, -1 when done */
    uint64_t started_ms;
    bool killed;
} job_t;

struct notify_t {
    char *script;
    int timeout_ms;
    job_t **queue; /* ring */
    size_t queue_max, head, count;
    job_t **running;
    int parallel;
    notify_stats_t stats;
};

static uint64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void s_job_free(job_t **job_p)
{
    job_t *j = *job_p;
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    free(j->input);
    free(j);
    *job_p = NULL;
}

notify_t *notify_new(const char *script, int queue_max, int parallel, int timeout_s)
{
    if (!script || !*script || queue_max < 1 || parallel < 1 || timeout_s < 1)
        return NULL;
    notify_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->script = strdup(script);
    self->queue = calloc((size_t)queue_max, sizeof(job_t *));
    self->running = calloc((size_t)parallel, sizeof(job_t *));
    self->queue_max = (size_t)queue_max;
    self->parallel = parallel;
    self->timeout_ms = timeout_s * 1000;
    if (!self->script || !self->queue || !self->running)
        notify_destroy(&self);
    return self;
}

void notify_destroy(notify_t **self_p)
{
    notify_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    for (int i = 0; self->running && i < self->parallel; i++) {
        job_t *j = self->running[i];
        if (!j)
            continue;
        kill(-j->pid, SIGKILL);
        while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        s_job_free(&self->running[i]);
    }
    while (self->queue && self->count > 0) {
        s_job_free(&self->queue[self->head]);
        self->head = (self->head + 1) % self->queue_max;
        self->count--;
    }
    free(self->running);
    free(self->queue);
    free(self->script);
    free(self);
    *self_p = NULL;
}

int notify_submit(notify_t *self, const char *ip, const char *direction, double pps,
                  const char *action, const char *input)
{
    job_t *j = self->count < self->queue_max ? calloc(1, sizeof(*j)) : NULL;
    if (j && input && !(j->input = strdup(input)))
        s_job_free(&j);
    if (!j) {
        self->stats.dropped++;
        return -1;
    }
    snprintf(j->ip, sizeof(j->ip), "%s", ip);
    snprintf(j->direction, sizeof(j->direction), "%s", direction);
    snprintf(j->pps, sizeof(j->pps), "%.0f", pps >= 0 && pps < 1e18 ? pps : 0);
    snprintf(j->action, sizeof(j->action), "%s", action);
    j->input_len = input ? strlen(input) : 0;
    j->fd = -1;
    j->pid = -1;
    self->queue[(self->head + self->count) % self->queue_max] = j;
    self->count++;
    notify_poll(self, NULL, NULL);
    return 0;
}

/* In the child: only async-signal-safe calls from here to execv. */
static void s_child(const notify_t *self, job_t *j, int fd)
{
    char *argv[] = {self->script, j->ip, j->direction, j->pps, j->action, NULL};
    setpgid(0, 0);
    if (fd != STDIN_FILENO && dup2(fd, STDIN_FILENO) < 0)
        _exit(126);
    if (fd == STDIN_FILENO)
        fcntl(fd, F_SETFD, 0);
    close_range(3, ~0U, 0);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGPIPE, SIG_DFL); /* the daemon ignores it; the script should not */
    execv(self->script, argv);
    _exit(127);
}

/* Start j; 0 or -1 (nothing to clean up but j). */
static int s_start(notify_t *self, job_t *j)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0)
        s_child(self, j, sv[1]);
    setpgid(pid, pid); /* also here, so a kill right after fork finds the group */
    close(sv[1]);
    shutdown(sv[0], SHUT_RD);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    j->pid = pid;
    j->fd = sv[0];
    j->started_ms = s_mono_ms();
    self->stats.run++;
    return 0;
}

/* Write what the script's stdin takes now; close it when done or broken. */
static void s_feed(job_t *j)
{
    while (j->fd >= 0 && j->input_off < j->input_len) {
        ssize_t n = send(j->fd, j->input + j->input_off, j->input_len - j->input_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            j->input_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            break; /* EPIPE and the like: the script does not want it */
        }
    }
    if (j->fd >= 0) {
        close(j->fd);
        j->fd = -1;
    }
}

static void s_report(notify_t *self, job_t *j, int status, notify_done_fn *fn, void *arg)
{
    bool ok = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok && !j->killed)
        self->stats.failed++;
    notify_result_t r = {j->ip, j->action, j->pid, status, j->killed,
                         j->started_ms ? s_mono_ms() - j->started_ms : 0};
    if (fn)
        fn(&r, arg);
}

/* One running job: feed, reap or kill. True when it is finished. */
static bool s_check(notify_t *self, job_t *j, uint64_t now, notify_done_fn *fn, void *arg)
{
    int status = 0;
    s_feed(j);
    pid_t r = waitpid(j->pid, &status, WNOHANG);
    if (r == j->pid || (r < 0 && errno == ECHILD)) {
        s_report(self, j, r == j->pid ? status : -1, fn, arg);
        return true;
    }
    if (!j->killed && now - j->started_ms >= (uint64_t)self->timeout_ms) {
        kill(-j->pid, SIGKILL);
        j->killed = true;
        self->stats.timed_out++;
    }
    return false;
}

static bool s_ip_running(const notify_t *self, const char *ip)
{
    for (int i = 0; i < self->parallel; i++)
        if (self->running[i] && strcmp(self->running[i]->ip, ip) == 0)
            return true;
    return false;
}

/* Move queued jobs into free slots, in order. The runs of one address never
 * overlap, so its unban cannot overtake its ban: the queue waits behind a
 * head whose address is still running. */
static void s_start_queued(notify_t *self, notify_done_fn *fn, void *arg)
{
    for (int i = 0; i < self->parallel && self->count > 0; i++) {
        if (self->running[i])
            continue;
        if (s_ip_running(self, self->queue[self->head]->ip))
            return;
        job_t *j = self->queue[self->head];
        self->queue[self->head] = NULL;
        self->head = (self->head + 1) % self->queue_max;
        self->count--;
        if (s_start(self, j) < 0) {
            s_report(self, j, -1, fn, arg);
            s_job_free(&j);
            i--; /* the slot is still free */
            continue;
        }
        s_feed(j);
        self->running[i] = j;
    }
}

void notify_poll(notify_t *self, notify_done_fn *fn, void *arg)
{
    uint64_t now = s_mono_ms();
    for (int i = 0; i < self->parallel; i++)
        if (self->running[i] && s_check(self, self->running[i], now, fn, arg))
            s_job_free(&self->running[i]);
    s_start_queued(self, fn, arg);
}

bool notify_wait_idle(notify_t *self, int timeout_ms, notify_done_fn *fn, void *arg)
{
    uint64_t end = s_mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        notify_poll(self, fn, arg);
        if (self->count == 0 && notify_running(self) == 0)
            return true;
        if (s_mono_ms() >= end)
            return false;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
}

size_t notify_queued(const notify_t *self)
{
    return self->count;
}

int notify_running(const notify_t *self)
{
    int n = 0;
    for (int i = 0; i < self->parallel; i++)
        n += self->running[i] != NULL;
    return n;
}

void notify_get_stats(const notify_t *self, notify_stats_t *out)
{
    *out = self->stats;
}
