#include "actuator/runner.h"

#include "common/fgbuf.h"

#include <czmq.h>
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

#define RUNNER_ERR_MAX 512

typedef struct {
    char key[RUNNER_KEY_MAX];
    int tag;
    char **argv; /* owned, NULL-terminated */
    char *in;    /* owned, for its stdin; NULL = /dev/null */
    size_t in_len, in_off;
    pid_t pid;
    int in_fd, out_fd, err_fd; /* -1 when closed */
    fg_buf_t out;  /* stdout */
    bool out_over; /* stdout beyond out_max, or out of memory */
    char err[RUNNER_ERR_MAX];
    size_t err_len;
    uint64_t started_ms;
    bool killed;
} job_t;

struct runner_t {
    int timeout_ms;
    size_t out_max;
    job_t **queue; /* ring */
    size_t queue_max, head, count;
    job_t **running;
    int parallel;
    zhashx_t *busy; /* key -> number of jobs queued or running (as a pointer) */
    runner_done_fn *fn;
    void *arg;
    bool in_poll; /* a submit from the callback only queues */
    runner_stats_t stats;
};

static uint64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void s_busy_add(runner_t *self, const char *key, int delta)
{
    if (!key[0])
        return;
    intptr_t n = (intptr_t)zhashx_lookup(self->busy, key) + delta;
    if (n <= 0)
        zhashx_delete(self->busy, key);
    else
        zhashx_update(self->busy, key, (void *)n);
}

static void s_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void s_job_free(job_t **job_p)
{
    job_t *j = *job_p;
    if (!j)
        return;
    s_close(&j->in_fd);
    s_close(&j->out_fd);
    s_close(&j->err_fd);
    for (size_t i = 0; j->argv && j->argv[i]; i++)
        free(j->argv[i]);
    free(j->argv);
    free(j->in);
    fg_buf_free(&j->out);
    free(j);
    *job_p = NULL;
}

runner_t *runner_new(int queue_max, int parallel, int timeout_ms, size_t out_max,
                     runner_done_fn *fn, void *arg)
{
    if (queue_max < 1 || parallel < 1 || timeout_ms < 1)
        return NULL;
    runner_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->queue = calloc((size_t)queue_max, sizeof(job_t *));
    self->running = calloc((size_t)parallel, sizeof(job_t *));
    self->busy = zhashx_new();
    self->queue_max = (size_t)queue_max;
    self->parallel = parallel;
    self->timeout_ms = timeout_ms;
    self->out_max = out_max;
    self->fn = fn;
    self->arg = arg;
    if (!self->queue || !self->running || !self->busy)
        runner_destroy(&self);
    return self;
}

void runner_destroy(runner_t **self_p)
{
    runner_t *self = self_p ? *self_p : NULL;
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
    zhashx_destroy(&self->busy);
    free(self->running);
    free(self->queue);
    free(self);
    *self_p = NULL;
}

static job_t *s_job_new(const char *const argv[], const char *key, int tag, const char *input)
{
    size_t n = 0;
    while (argv[n] && n < RUNNER_MAX_ARGS - 1)
        n++;
    if (n == 0 || argv[n])
        return NULL;
    job_t *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->in_fd = j->out_fd = j->err_fd = j->pid = -1;
    j->tag = tag;
    j->in_len = input ? strlen(input) : 0;
    if (input && !(j->in = strdup(input))) {
        free(j);
        return NULL;
    }
    snprintf(j->key, sizeof(j->key), "%s", key ? key : "");
    j->argv = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; j->argv && i < n; i++)
        if (!(j->argv[i] = strdup(argv[i]))) {
            s_job_free(&j);
            return NULL;
        }
    if (!j->argv)
        s_job_free(&j);
    return j;
}

int runner_submit(runner_t *self, const char *const argv[], const char *key, int tag,
                  const char *input)
{
    job_t *j = self->count < self->queue_max ? s_job_new(argv, key, tag, input) : NULL;
    if (!j) {
        self->stats.dropped++;
        return -1;
    }
    self->queue[(self->head + self->count) % self->queue_max] = j;
    self->count++;
    s_busy_add(self, j->key, 1);
    if (!self->in_poll)
        runner_poll(self);
    return 0;
}

/* fd onto to, without close-on-exec. */
static int s_dup_to(int fd, int to)
{
    if (fd == to)
        return fcntl(fd, F_SETFD, 0);
    return dup2(fd, to) < 0 ? -1 : 0;
}

/* In the child: only async-signal-safe calls from here to execv. out_fd
 * and err_fd are -1 when the child keeps ours. */
static void s_child(job_t *j, int in_fd, int out_fd, int err_fd)
{
    setpgid(0, 0);
    if (in_fd < 0)
        in_fd = open("/dev/null", O_RDONLY);
    if (in_fd < 0 || s_dup_to(in_fd, STDIN_FILENO) < 0 ||
        (out_fd >= 0 && s_dup_to(out_fd, STDOUT_FILENO) < 0) ||
        (err_fd >= 0 && s_dup_to(err_fd, STDERR_FILENO) < 0))
        _exit(126);
    close_range(3, ~0U, 0);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGPIPE, SIG_DFL); /* the daemon ignores it; the child should not */
    execv(j->argv[0], j->argv);
    _exit(127);
}

/* The fds of a job: in (a socket pair, when it has input), out, err (pipes,
 * when output is captured); [0] is ours, [1] the child's; -1 when unused. */
static int s_fds_open(const runner_t *self, const job_t *j, int fds[3][2])
{
    for (int i = 0; i < 3; i++)
        fds[i][0] = fds[i][1] = -1;
    if (j->in && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds[0]) < 0)
        return -1;
    for (int i = 1; i < 3 && self->out_max > 0; i++)
        if (pipe2(fds[i], O_CLOEXEC) < 0)
            return -1;
    return 0;
}

static void s_fds_close(int fds[3][2], int end)
{
    for (int i = 0; i < 3; i++)
        s_close(&fds[i][end]);
}

static int s_start(runner_t *self, job_t *j)
{
    int fds[3][2];
    pid_t pid = s_fds_open(self, j, fds) < 0 ? -1 : fork();
    if (pid == 0)
        s_child(j, fds[0][1], fds[1][1], fds[2][1]);
    s_fds_close(fds, 1);
    if (pid < 0) {
        s_fds_close(fds, 0);
        return -1;
    }
    setpgid(pid, pid); /* also here, so a kill right after fork finds the group */
    if (fds[0][0] >= 0)
        shutdown(fds[0][0], SHUT_RD);
    for (int i = 0; i < 3; i++)
        if (fds[i][0] >= 0)
            fcntl(fds[i][0], F_SETFL, fcntl(fds[i][0], F_GETFL) | O_NONBLOCK);
    j->pid = pid;
    j->in_fd = fds[0][0];
    j->out_fd = fds[1][0];
    j->err_fd = fds[2][0];
    j->started_ms = s_mono_ms();
    self->stats.run++;
    return 0;
}

/* Write what the child's stdin takes now; close it when done or broken. */
static void s_feed(job_t *j)
{
    while (j->in_fd >= 0 && j->in_off < j->in_len) {
        ssize_t n = send(j->in_fd, j->in + j->in_off, j->in_len - j->in_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            j->in_off += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        else
            break; /* EPIPE and the like: the child does not want it */
    }
    s_close(&j->in_fd);
}

/* Keep n bytes of stdout, within out_max; beyond it (or out of memory) the
 * job has failed. */
static void s_keep_out(runner_t *self, job_t *j, const char *buf, size_t n)
{
    if (j->out_over || j->out.len + n + 1 > self->out_max || fg_buf_append(&j->out, buf, n) < 0)
        j->out_over = true;
}

/* Read what one pipe holds now; close it at EOF or error. */
static void s_drain(runner_t *self, job_t *j, bool is_out)
{
    int *fd = is_out ? &j->out_fd : &j->err_fd;
    char buf[16384];
    while (*fd >= 0) {
        ssize_t n = read(*fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            s_close(fd);
            return;
        }
        if (is_out)
            s_keep_out(self, j, buf, (size_t)n);
        else if (!is_out && j->err_len + 1 < RUNNER_ERR_MAX) {
            size_t k = (size_t)n < RUNNER_ERR_MAX - 1 - j->err_len ? (size_t)n
                                                                   : RUNNER_ERR_MAX - 1 - j->err_len;
            memcpy(j->err + j->err_len, buf, k);
            j->err_len += k;
        }
    }
}

static void s_report(runner_t *self, job_t *j, int status)
{
    bool ok = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && !j->killed &&
              !j->out_over;
    if (!ok)
        self->stats.failed++;
    j->err[j->err_len] = '\0';
    runner_result_t r = {.key = j->key,
                         .tag = j->tag,
                         .argv = (const char *const *)j->argv,
                         .pid = j->pid,
                         .status = status,
                         .ok = ok,
                         .timed_out = j->killed,
                         .out = j->out.data ? j->out.data : "",
                         .out_len = j->out.len,
                         .err = j->err,
                         .ms = j->started_ms ? s_mono_ms() - j->started_ms : 0};
    if (self->fn)
        self->fn(&r, self->arg);
    s_busy_add(self, j->key, -1);
}

/* One running job: feed, read, reap or kill. True when it is finished. */
static bool s_check(runner_t *self, job_t *j, uint64_t now)
{
    int status = 0;
    s_feed(j);
    s_drain(self, j, true);
    s_drain(self, j, false);
    pid_t r = waitpid(j->pid, &status, WNOHANG);
    if (r == j->pid || (r < 0 && errno == ECHILD)) {
        s_drain(self, j, true); /* what it wrote just before exiting */
        s_drain(self, j, false);
        s_report(self, j, r == j->pid ? status : -1);
        return true;
    }
    if (!j->killed && now - j->started_ms >= (uint64_t)self->timeout_ms) {
        kill(-j->pid, SIGKILL);
        j->killed = true;
        self->stats.timed_out++;
    }
    return false;
}

static bool s_key_running(const runner_t *self, const char *key)
{
    if (!key[0])
        return false;
    for (int i = 0; i < self->parallel; i++)
        if (self->running[i] && strcmp(self->running[i]->key, key) == 0)
            return true;
    return false;
}

/* Move queued jobs into free slots, in order; the queue waits behind a head
 * whose key is still running. */
static void s_start_queued(runner_t *self)
{
    for (int i = 0; i < self->parallel && self->count > 0; i++) {
        if (self->running[i])
            continue;
        if (s_key_running(self, self->queue[self->head]->key))
            return;
        job_t *j = self->queue[self->head];
        self->queue[self->head] = NULL;
        self->head = (self->head + 1) % self->queue_max;
        self->count--;
        if (s_start(self, j) < 0) {
            s_report(self, j, -1);
            s_job_free(&j);
            i--; /* the slot is still free */
            continue;
        }
        s_feed(j);
        self->running[i] = j;
    }
}

void runner_poll(runner_t *self)
{
    if (self->in_poll)
        return;
    self->in_poll = true;
    uint64_t now = s_mono_ms();
    for (int i = 0; i < self->parallel; i++)
        if (self->running[i] && s_check(self, self->running[i], now))
            s_job_free(&self->running[i]);
    s_start_queued(self);
    self->in_poll = false;
}

bool runner_wait_idle(runner_t *self, int timeout_ms)
{
    uint64_t end = s_mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        runner_poll(self);
        if (self->count == 0 && runner_running(self) == 0)
            return true;
        if (s_mono_ms() >= end)
            return false;
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
    }
}

size_t runner_queued(const runner_t *self)
{
    return self->count;
}

int runner_running(const runner_t *self)
{
    int n = 0;
    for (int i = 0; i < self->parallel; i++)
        n += self->running[i] != NULL;
    return n;
}

bool runner_busy(const runner_t *self, const char *key)
{
    return key && key[0] && zhashx_lookup(self->busy, key) != NULL;
}

void runner_get_stats(const runner_t *self, runner_stats_t *out)
{
    *out = self->stats;
}
