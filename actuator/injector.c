#include "actuator/injector.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fgbuf.h"

#define INJECTOR_PIPE_BYTES (1 << 20) /* the pipe itself holds ~18 000 routes */

struct injector_t {
    pid_t pid;    /* 0: no child */
    int in_fd;    /* our end of its stdin, -1 when closed */
    int err_fd;   /* our end of its stderr, -1 when closed */
    fg_buf_t out; /* bytes not yet in the pipe */
    char err[INJECTOR_ERR_MAX];
    size_t err_len;
    int stall_ms;
    uint64_t progress_ms; /* the last time the child took bytes, or had none waiting */
    uint64_t written;     /* bytes put into the pipe */
    uint64_t consumed;    /* of which the child had read at the last poll */
    bool killed;
};

static uint64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void s_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

injector_t *injector_new(size_t max_pending, int stall_ms)
{
    if (max_pending == 0 || stall_ms < 1)
        return NULL;
    injector_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->in_fd = self->err_fd = -1;
    self->stall_ms = stall_ms;
    fg_buf_init(&self->out, max_pending);
    return self;
}

/* Reap the child, waiting at most wait_ms before killing its group. */
static int s_reap(injector_t *self, int wait_ms)
{
    int status = 0;
    uint64_t end = s_mono_ms() + (uint64_t)wait_ms;
    for (;;) {
        pid_t r = waitpid(self->pid, &status, WNOHANG);
        if (r == self->pid || (r < 0 && errno != EINTR))
            return r == self->pid ? status : -1;
        if (r == 0 && s_mono_ms() >= end) {
            kill(-self->pid, SIGKILL);
            self->killed = true;
            end = UINT64_MAX; /* now wait for it to go */
        }
        struct timespec ts = {0, 2 * 1000000};
        nanosleep(&ts, NULL);
    }
}

static void s_reset(injector_t *self)
{
    s_close(&self->in_fd);
    s_close(&self->err_fd);
    fg_buf_reset(&self->out);
    self->pid = 0;
    self->err_len = 0;
    self->written = self->consumed = 0;
    self->killed = false;
}

void injector_destroy(injector_t **self_p, int wait_ms)
{
    injector_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    s_close(&self->in_fd);
    if (self->pid > 0)
        s_reap(self, wait_ms);
    s_reset(self);
    fg_buf_free(&self->out);
    free(self);
    *self_p = NULL;
}

/* In the child: only async-signal-safe calls until execv. */
static void s_child(const char *const argv[], int in_fd, int err_fd)
{
    setpgid(0, 0);
    if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(err_fd, STDOUT_FILENO) < 0 ||
        dup2(err_fd, STDERR_FILENO) < 0)
        _exit(126);
    close_range(3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    execv(argv[0], (char *const *)argv);
    _exit(127);
}

int injector_start(injector_t *self, const char *const argv[])
{
    int in[2], err[2];
    if (self->pid > 0 || !argv || !argv[0] || pipe2(in, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(err, O_CLOEXEC) < 0) {
        close(in[0]), close(in[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0)
        s_child(argv, in[0], err[1]);
    close(in[0]);
    close(err[1]);
    if (pid < 0) {
        close(in[1]), close(err[0]);
        return -1;
    }
    setpgid(pid, pid);
    s_reset(self);
    self->pid = pid;
    self->in_fd = in[1];
    self->err_fd = err[0];
    fcntl(in[1], F_SETPIPE_SZ, INJECTOR_PIPE_BYTES); /* best effort */
    fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
    fcntl(err[0], F_SETFL, fcntl(err[0], F_GETFL) | O_NONBLOCK);
    self->progress_ms = s_mono_ms();
    return 0;
}

bool injector_running(const injector_t *self)
{
    return self->pid > 0;
}

/* Write what the pipe takes now; on a broken pipe stop writing (the child
 * is reaped by poll). */
static void s_flush(injector_t *self)
{
    size_t off = 0;
    while (self->in_fd >= 0 && off < self->out.len) {
        ssize_t n = write(self->in_fd, self->out.data + off, self->out.len - off);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        else
            s_close(&self->in_fd);
    }
    self->written += off;
    if (off == 0)
        return;
    memmove(self->out.data, self->out.data + off, self->out.len - off + 1);
    self->out.len -= off;
}

int injector_write(injector_t *self, const void *p, size_t n)
{
    if (self->pid <= 0 || self->in_fd < 0)
        return -1;
    if (injector_pending(self) == 0)
        self->progress_ms = s_mono_ms(); /* the stall clock starts now */
    if (fg_buf_append(&self->out, p, n) < 0) {
        self->out.failed = false; /* a later, shorter write may fit */
        return -1;
    }
    s_flush(self);
    return 0;
}

static void s_read_err(injector_t *self)
{
    char buf[4096];
    while (self->err_fd >= 0) {
        ssize_t n = read(self->err_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            s_close(&self->err_fd);
            return;
        }
        size_t room = INJECTOR_ERR_MAX - 1 - self->err_len, k = (size_t)n < room ? (size_t)n : room;
        memcpy(self->err + self->err_len, buf, k);
        self->err_len += k;
    }
}

bool injector_poll(injector_t *self, injector_exit_t *out)
{
    if (self->pid <= 0)
        return false;
    s_flush(self);
    s_read_err(self);
    uint64_t now = s_mono_ms();
    size_t pending = injector_pending(self);
    uint64_t consumed = self->written - (pending - self->out.len);
    if (pending == 0 || consumed > self->consumed)
        self->progress_ms = now;
    self->consumed = consumed;
    if (!self->killed && pending > 0 && now - self->progress_ms >= (uint64_t)self->stall_ms) {
        kill(-self->pid, SIGKILL);
        self->killed = true;
    }
    int status = 0;
    pid_t r = waitpid(self->pid, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return false;
    s_read_err(self);
    memset(out, 0, sizeof(*out));
    out->pid = self->pid;
    out->status = r == self->pid ? status : -1;
    out->killed = self->killed;
    memcpy(out->err, self->err, self->err_len);
    out->err[self->err_len] = '\0';
    s_reset(self);
    return true;
}

size_t injector_pending(const injector_t *self)
{
    int in_pipe = 0;
    if (self->in_fd >= 0 && ioctl(self->in_fd, FIONREAD, &in_pipe) < 0)
        in_pipe = 0;
    return self->out.len + (size_t)(in_pipe > 0 ? in_pipe : 0);
}
