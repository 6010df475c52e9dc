#include "tests/harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <czmq.h>

#include "cli/scrape.h"
#include "common/addr.h"

extern char **environ;

uint64_t hn_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Bind port 0 of the given type on 127.0.0.1 and return the port, or the
 * result of binding the given port (0 when it is taken). */
static int s_bind_port(int type, int port)
{
    int fd = socket(AF_INET, type, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    int got = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        got = ntohs(sa.sin_port);
    close(fd);
    return got;
}

/* Ports handed out recently are skipped so two calls in a row differ even
 * though nothing holds the first one yet. */
static int s_recent[256];
static int s_n_recent;

static bool s_handed_out(int p)
{
    for (int i = 0; i < s_n_recent && i < 256; i++)
        if (s_recent[i] == p)
            return true;
    return false;
}

static void s_hand_out(int p)
{
    s_recent[s_n_recent++ % 256] = p;
}

/* Port p is free for TCP and UDP on 127.0.0.1 and not handed out before. */
static bool s_port_ok(int p)
{
    return p > 0 && p <= 65000 && !s_handed_out(p) && s_bind_port(SOCK_STREAM, p) == p &&
           s_bind_port(SOCK_DGRAM, p) == p;
}

int hn_free_port(void)
{
    for (int tries = 0; tries < 200; tries++) {
        int p = s_bind_port(SOCK_STREAM, 0);
        if (!s_port_ok(p))
            continue;
        s_hand_out(p);
        return p;
    }
    fail_msg("no free port found");
    return -1;
}

int hn_free_port_range(int n)
{
    for (int tries = 0; tries < 200; tries++) {
        int base = s_bind_port(SOCK_STREAM, 0);
        int i = 0;
        while (i < n && s_port_ok(base + i))
            i++;
        if (i < n)
            continue;
        for (i = 0; i < n; i++)
            s_hand_out(base + i);
        return base;
    }
    fail_msg("no range of %d free ports found", n);
    return -1;
}

char *hn_tmpdir(const char *tag)
{
    char *dir = malloc(256);
    assert_non_null(dir);
    snprintf(dir, 256, "/tmp/fg-%s-XXXXXX", tag);
    if (!mkdtemp(dir))
        fail_msg("mkdtemp: %s", strerror(errno));
    return dir;
}

void hn_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            hn_rmdir(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

void hn_tmpdir_done(char **dir_p)
{
    if (!*dir_p)
        return;
    if (getenv("FG_KEEP"))
        fprintf(stderr, "kept %s\n", *dir_p);
    else
        hn_rmdir(*dir_p);
    free(*dir_p);
    *dir_p = NULL;
}

pid_t hn_spawn_env(char *const argv[], char *const env[], const char *logfile)
{
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        if (logfile) {
            int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
        }
        for (size_t i = 0; env && env[i]; i++)
            putenv(env[i]);
        execvp(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid);
    return pid;
}

pid_t hn_spawn(char *const argv[], const char *logfile)
{
    return hn_spawn_env(argv, NULL, logfile);
}

int hn_run(const char *dir, char *const argv[], char *const env[], char **out)
{
    static char *last;
    char log[600];
    snprintf(log, sizeof(log), "%s/run.out", dir);
    unlink(log);
    pid_t pid = hn_spawn_env(argv, env, log);
    int st = hn_wait_exit(pid, 10000);
    if (st == -1)
        hn_stop(pid, 1000);
    free(last);
    last = hn_read_file(log);
    if (out)
        *out = last ? last : "";
    return st == -1 ? -1 : WEXITSTATUS(st);
}

bool hn_alive(pid_t pid)
{
    int st;
    return waitpid(pid, &st, WNOHANG) == 0;
}

int hn_wait_exit(pid_t pid, int timeout_ms)
{
    uint64_t end = hn_ms() + (uint64_t)timeout_ms;
    int st;
    do {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0)
            return -1;
        s_sleep_ms(10);
    } while (hn_ms() < end);
    return -1;
}

int hn_stop(pid_t pid, int timeout_ms)
{
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    int st = hn_wait_exit(pid, timeout_ms);
    if (st != -1)
        return st;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    return hn_wait_exit(pid, 5000);
}

void *hn_redis(int port, const char *fmt, ...)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    return r;
}

static int s_redis_port;
static bool s_redis_pings(void *arg)
{
    (void)arg;
    redisReply *r = hn_redis(s_redis_port, "PING");
    bool ok = r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG");
    if (r)
        freeReplyObject(r);
    return ok;
}

pid_t hn_redis_start(const char *dir, int port, bool persist)
{
    char portstr[16], log[512];
    snprintf(portstr, sizeof(portstr), "%d", port);
    snprintf(log, sizeof(log), "%s/redis.log", dir);
    char *argv[] = {"redis-server", "--port", portstr, "--bind", "127.0.0.1", "--dir",
                    (char *)dir, "--save", persist ? "1 1" : "", "--appendonly",
                    persist ? "yes" : "no", "--daemonize", "no", NULL};
    pid_t pid = hn_spawn(argv, log);
    s_redis_port = port;
    if (!hn_wait_until(s_redis_pings, NULL, 5000)) {
        hn_stop(pid, 1000);
        fail_msg("redis-server on port %d did not answer PING within 5 s (see %s)", port, log);
    }
    return pid;
}

bool hn_wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
    uint64_t end = hn_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (cond(arg))
            return true;
        if (hn_ms() >= end)
            return false;
        s_sleep_ms(20);
    }
}

void hn_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

char *hn_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

const char *hn_build_dir(void)
{
    const char *b = getenv("FG_BUILD");
    return b && *b ? b : "build";
}

pid_t hn_daemon(const char *dir, const char *conf, const char *name, const char *shard)
{
    char bin[512], log[512];
    snprintf(bin, sizeof(bin), "%s/floodgate-%s", hn_build_dir(), name);
    snprintf(log, sizeof(log), "%s/%s%s.log", dir, name, shard ? shard : "");
    char *argv[] = {bin, "-c", (char *)conf, shard ? "--shard" : NULL, (char *)shard, NULL};
    return hn_spawn(argv, log);
}

void hn_pipe_init(hn_pipe_t *p, const char *tag, int shards)
{
    assert_true(shards >= 1 && shards <= HN_PIPE_SHARDS);
    p->shards = shards;
    p->dir = hn_tmpdir(tag);
    snprintf(p->conf, sizeof(p->conf), "%s/floodgate.conf", p->dir);
    p->redis_port = hn_free_port();
    p->pull_port = hn_free_port_range(shards);
    p->pub_port = hn_free_port_range(shards);
    p->m_agg = hn_free_port_range(shards);
    int *ports[] = {&p->nf_port, &p->act_port, &p->m_col, &p->m_det, &p->m_act};
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        *ports[i] = hn_free_port();
}

void hn_pipe_start(hn_pipe_t *p)
{
    pid_t all[HN_PIPE_SHARDS + 3];
    int mports[HN_PIPE_SHARDS + 3];
    size_t n = 0;
    p->redis = hn_redis_start(p->dir, p->redis_port, false);
    all[n++] = p->actuator = hn_daemon(p->dir, p->conf, "actuator", NULL);
    all[n++] = p->detector = hn_daemon(p->dir, p->conf, "detector", NULL);
    for (int i = 0; i < p->shards; i++) {
        char shard[12];
        snprintf(shard, sizeof(shard), "%d", i);
        all[n++] = p->agg[i] = hn_daemon(p->dir, p->conf, "aggregator", shard);
    }
    all[n++] = p->collector = hn_daemon(p->dir, p->conf, "collector", NULL);
    hn_expect_alive(all, n, p->dir);
    n = 0;
    mports[n++] = p->m_col;
    for (int i = 0; i < p->shards; i++)
        mports[n++] = p->m_agg + i;
    mports[n++] = p->m_det;
    mports[n++] = p->m_act;
    hn_expect_ready(p->m_det, p->shards, mports, n, 10000); /* before traffic starts */
}

void hn_pipe_stop(hn_pipe_t *p)
{
    pid_t all[HN_PIPE_SHARDS + 3];
    size_t n = 0;
    all[n++] = p->collector;
    for (int i = 0; i < p->shards; i++)
        all[n++] = p->agg[i];
    all[n++] = p->detector;
    all[n++] = p->actuator;
    for (size_t i = 0; i < n; i++)
        if (all[i] > 0)
            hn_stop(all[i], 3000);
    hn_stop(p->redis, 3000);
    hn_tmpdir_done(&p->dir);
}

void hn_decision(Floodgate__Decision *d, Floodgate__Rates *total, const char *ip, int action,
                 uint32_t ban_time)
{
    fg_addr_t a;
    assert_int_equal(fg_addr_parse(ip, &a), 0);
    floodgate__decision__init(d);
    floodgate__rates__init(total);
    total->pps = 50000;
    d->addr_hi = a.hi;
    d->addr_lo = a.lo;
    d->action = action;
    d->attack_type = "udp_flood";
    d->direction = FLOODGATE__DIRECTION__DIR_IN;
    d->metric = "pps";
    d->value = 50000;
    d->threshold = 20000;
    d->hostgroup = "default";
    d->ban_time = ban_time;
    d->total = total;
    d->enable_ban = true;
}

void hn_expect_alive(const pid_t *pids, size_t n, const char *dir)
{
    for (size_t i = 0; i < n; i++)
        if (!hn_alive(pids[i]))
            fail_msg("a daemon exited at start-up; see the logs in %s", dir);
}

/* ---- readiness ---- */

int hn_http_get(int port, const char *path, char **body)
{
    char hp[64], err[256];
    char *b = NULL;
    snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
    int code = scrape_get(hp, path, 2000, &b, err, sizeof(err));
    if (body)
        *body = b;
    else
        free(b);
    return code;
}

static bool s_healthy(void *arg)
{
    return hn_http_get(*(int *)arg, "/healthz", NULL) == 200;
}

bool hn_wait_healthz(int port, int timeout_ms)
{
    return hn_wait_until(s_healthy, &port, timeout_ms);
}

double hn_metric(int port, const char *name, const char *filter, int *found)
{
    char *text = NULL;
    int n = 0;
    double v = 0;
    if (hn_http_get(port, "/metrics", &text) == 200)
        v = scrape_sum(text, name, filter, &n);
    free(text);
    if (found)
        *found = n;
    return v;
}

typedef struct {
    int port;
    const char *name, *filter;
    double want;
} s_want_t;

static bool s_reaches(void *arg)
{
    const s_want_t *w = arg;
    int found = 0;
    double v = hn_metric(w->port, w->name, w->filter, &found);
    return found > 0 && v >= w->want;
}

bool hn_wait_metric(int port, const char *name, const char *filter, double want, int timeout_ms)
{
    s_want_t w = {port, name, filter, want};
    return hn_wait_until(s_reaches, &w, timeout_ms);
}

void hn_expect_ready(int det_port, int shards, const int *ports, size_t n, int timeout_ms)
{
    uint64_t end = hn_ms() + (uint64_t)timeout_ms;
    for (size_t i = 0; i < n; i++) {
        int left = (int)(end > hn_ms() ? end - hn_ms() : 0);
        if (!hn_wait_healthz(ports[i], left))
            fail_msg("/healthz on port %d not 200 within %d ms", ports[i], timeout_ms);
    }
    int left = (int)(end > hn_ms() ? end - hn_ms() : 0);
    if (det_port > 0 &&
        !hn_wait_metric(det_port, "floodgate_detector_shards_seen", NULL, shards, left))
        fail_msg("the detector (port %d) did not hear from its %d shards within %d ms", det_port,
                 shards, timeout_ms);
}

static bool s_queue_empty(void *arg)
{
    int found = 0;
    return hn_metric(*(int *)arg, "floodgate_actuator_queue_depth", NULL, &found) == 0 && found;
}

void hn_expect_settled(int det_port, int act_port, int shards, int windows, int timeout_ms)
{
    uint64_t end = hn_ms() + (uint64_t)timeout_ms;
    double w0 = hn_metric(det_port, "floodgate_detector_windows_total", NULL, NULL);
    if (!hn_wait_metric(det_port, "floodgate_detector_windows_total", NULL, w0 + (double)(windows > 2 ? windows : 2) * shards,
                        timeout_ms))
        fail_msg("the detector (port %d) took no new windows within %d ms", det_port, timeout_ms);
    double d = hn_metric(det_port, "floodgate_detector_decisions_total", NULL, NULL);
    int left = (int)(end > hn_ms() ? end - hn_ms() : 0);
    if (!hn_wait_metric(act_port, "floodgate_actuator_decisions_total", NULL, d, left) ||
        !hn_wait_until(s_queue_empty, &act_port, (int)(end > hn_ms() ? end - hn_ms() : 0)))
        fail_msg("the actuator (port %d) did not take the detector's %.0f decisions within %d ms",
                 act_port, d, timeout_ms);
}

int hn_log_count(const char *path, const char *text)
{
    char *s = hn_read_file(path);
    int n = 0;
    for (const char *p = s; p && (p = strstr(p, text)); p += strlen(text))
        n++;
    free(s);
    return n;
}

uint64_t hn_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t hn_log_last_ms(const char *path, const char *text)
{
    char *s = hn_read_file(path);
    const char *last = NULL;
    for (const char *p = s; p && (p = strstr(p, text)); p += strlen(text))
        last = p;
    uint64_t ms = 0;
    while (last && last > s && last[-1] != '\n') /* to the start of its line */
        last--;
    struct tm tm = {0};
    int msec = 0;
    if (last && sscanf(last, "ts=%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                       &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &msec) == 7) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        ms = (uint64_t)timegm(&tm) * 1000 + (uint64_t)msec;
    }
    free(s);
    return ms;
}

typedef struct {
    const char *path, *text;
} s_log_t;

static bool s_logged(void *arg)
{
    const s_log_t *l = arg;
    return hn_log_count(l->path, l->text) > 0;
}

bool hn_wait_log(const char *path, const char *text, int timeout_ms)
{
    s_log_t l = {path, text};
    return hn_wait_until(s_logged, &l, timeout_ms);
}

struct hn_zmon {
    zsock_t *pair;
    void *watched;
};

hn_zmon_t *hn_zmon_new(void *sock)
{
    static int seq;
    char ep[64];
    snprintf(ep, sizeof(ep), "inproc://hn-zmon-%d-%d", (int)getpid(), seq++);
    hn_zmon_t *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->watched = zsock_resolve(sock);
    if (zmq_socket_monitor(m->watched, ep, ZMQ_EVENT_ALL) != 0)
        fail_msg("zmq_socket_monitor: %s", zmq_strerror(zmq_errno()));
    m->pair = zsock_new(ZMQ_PAIR);
    assert_non_null(m->pair);
    if (zsock_connect(m->pair, "%s", ep) != 0)
        fail_msg("cannot connect to the monitor %s", ep);
    return m;
}

bool hn_zmon_wait(hn_zmon_t *self, int event, int timeout_ms)
{
    uint64_t end = hn_ms() + (uint64_t)timeout_ms;
    while (hn_ms() < end) {
        zsock_set_rcvtimeo(self->pair, (int)(end - hn_ms()) + 1);
        zmsg_t *msg = zmsg_recv(self->pair);
        if (!msg)
            return false;
        zframe_t *f = zmsg_first(msg);
        uint16_t ev = 0;
        if (f && zframe_size(f) >= 2)
            memcpy(&ev, zframe_data(f), 2); /* host order, as libzmq writes it */
        zmsg_destroy(&msg);
        if (ev == event)
            return true;
    }
    return false;
}

void hn_zmon_destroy(hn_zmon_t **self_p)
{
    hn_zmon_t *m = *self_p;
    if (!m)
        return;
    zmq_socket_monitor(m->watched, NULL, 0);
    zsock_destroy(&m->pair);
    free(m);
    *self_p = NULL;
}
