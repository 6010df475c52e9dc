/* End to end, hostile clients on a metrics port: the four daemons and a real
 * redis-server on free loopback ports. Against the actuator's /metrics +
 * /healthz port, a thread holds HOSTILE_IDLE idle TCP connections (reopening
 * those the server closes, as an attacker would) and a slowloris client that
 * sends one byte per second and never ends its request. Meanwhile:
 *
 *   1. /healthz answers 200 within 1 s, HEALTH_CHECKS times over several
 *      seconds (each latency printed), and /metrics answers too, showing the
 *      open connections;
 *   2. a real flood (flowgen, 20 000 pps at one address) is banned in Redis;
 *   3. the actuator's descriptors stay bounded: at most the connection
 *      limit it exports plus its own (count printed);
 *   4. the slowloris connection is cut at its 10 s deadline (counted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/scrape.h"
#include "tests/harness.h"

#define HOSTILE_IDLE 2000
#define HEALTH_CHECKS 5
#define FLOOD_IP "10.0.0.7"

typedef hn_pipe_t e2e_t;

static e2e_t s_e;

/* ---- the hostile clients (a thread; the test asserts in the main one) ---- */

typedef struct {
    int port;
    atomic_int stop;
    atomic_int open;       /* idle connections open now */
    atomic_int reopened;   /* idle connections the server closed, reopened */
    atomic_int slow_cut;   /* slowloris connections the server ended */
    atomic_int slow_bytes; /* bytes the slowloris sent */
    pthread_t t;
    int fds[HOSTILE_IDLE];
    int slow;
} hostile_t;

static hostile_t s_h;

static int s_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Did the server close fd (EOF or error)? Reads and drops what it sent. */
static bool s_closed(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
        return false;
    char buf[512];
    ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN) || (p.revents & (POLLHUP | POLLERR));
}

static void s_keep_idle(hostile_t *h, bool first)
{
    int open = 0;
    for (int i = 0; i < HOSTILE_IDLE; i++) {
        if (h->fds[i] >= 0 && !first && s_closed(h->fds[i])) {
            close(h->fds[i]);
            h->fds[i] = -1;
            atomic_fetch_add(&h->reopened, 1);
        }
        if (h->fds[i] < 0)
            h->fds[i] = s_connect(h->port);
        open += h->fds[i] >= 0;
    }
    atomic_store(&h->open, open);
}

static void s_slowloris(hostile_t *h)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nX-Slow: ";
    if (h->slow >= 0 && s_closed(h->slow)) {
        close(h->slow);
        h->slow = -1;
        atomic_fetch_add(&h->slow_cut, 1);
    }
    if (h->slow < 0)
        h->slow = s_connect(h->port);
    int n = atomic_load(&h->slow_bytes);
    char c = n < (int)sizeof(req) - 1 ? req[n] : 'a';
    if (h->slow >= 0 && send(h->slow, &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
        atomic_fetch_add(&h->slow_bytes, 1);
}

static void *s_hostile(void *arg)
{
    hostile_t *h = arg;
    s_keep_idle(h, true);
    uint64_t next_byte = hn_ms();
    for (int turn = 0; !atomic_load(&h->stop) && turn < 60 * 10; turn++) { /* 60 s at most */
        if (hn_ms() >= next_byte) {
            s_slowloris(h);
            next_byte += 1000;
        }
        s_keep_idle(h, false);
        usleep(100 * 1000);
    }
    return NULL;
}

static void s_hostile_start(hostile_t *h, int port)
{
    memset(h, 0, sizeof(*h));
    h->port = port;
    h->slow = -1;
    for (int i = 0; i < HOSTILE_IDLE; i++)
        h->fds[i] = -1;
    assert_int_equal(pthread_create(&h->t, NULL, s_hostile, h), 0);
}

static void s_hostile_stop(hostile_t *h)
{
    atomic_store(&h->stop, 1);
    pthread_join(h->t, NULL);
    for (int i = 0; i < HOSTILE_IDLE; i++)
        if (h->fds[i] >= 0)
            close(h->fds[i]);
    if (h->slow >= 0)
        close(h->slow);
}

/* ---- the pipeline ---- */

static void s_write_config(e2e_t *e)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "# written by e2e_http\n"
             "networks\n    monitored = \"10.0.0.0/16\"\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fghttp\n"
             "collector\n    netflow_listen = 127.0.0.1:%d\n    batch_ms = 10\n"
             "    metrics_listen = 127.0.0.1:%d\n"
             "aggregator\n    pull_bind = tcp://127.0.0.1:%d\n    pub_bind = tcp://127.0.0.1:%d\n"
             "    pull_connect = tcp://127.0.0.1:%d\n    pub_connect = tcp://127.0.0.1:%d\n"
             "    tick_ms = 200\n    metrics_listen = 127.0.0.1:%d\n"
             "detector\n    metrics_listen = 127.0.0.1:%d\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    connect = tcp://127.0.0.1:%d\n"
             "    check_interval = 1\n    metrics_listen = 127.0.0.1:%d\n"
             "hostgroup\n    default\n        ban_time = 600\n        threshold_pps = 5000\n"
             "        threshold_mbps = 0\n        threshold_flows = 0\n",
             e->redis_port, e->nf_port, e->m_col, e->pull_port, e->pub_port, e->pull_port,
             e->pub_port, e->m_agg, e->m_det, e->act_port, e->act_port, e->m_act);
    hn_write_file(e->conf, text);
}

/* Room for the test's own HOSTILE_IDLE descriptors (and the daemons', which
 * inherit the limit): the soft limit raised to min(hard, 20000) if lower. */
static void s_raise_nofile(void)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rlim_t want = rl.rlim_max < 20000 ? rl.rlim_max : 20000;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    if (rl.rlim_cur < HOSTILE_IDLE + 200)
        fail_msg("RLIMIT_NOFILE %llu: too low for %d connections", (unsigned long long)rl.rlim_cur,
                 HOSTILE_IDLE);
}

static int s_setup(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    s_raise_nofile();
    hn_pipe_init(e, "e2ehttp", 1);
    s_write_config(e);
    hn_pipe_start(e);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    hn_pipe_stop(e);
    return 0;
}

/* ---- checks ---- */

static double s_get(int port, const char *name)
{
    char hp[64], err[256];
    char *body = NULL;
    snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
    int code = scrape_get(hp, "/metrics", 2000, &body, err, sizeof(err));
    if (code != 200)
        fail_msg("GET %s/metrics under load: %d %s", hp, code, code < 0 ? err : "");
    int found = 0;
    double v = scrape_sum(body, name, NULL, &found);
    free(body);
    if (!found)
        fail_msg("%s not exported on port %d", name, port);
    return v;
}

/* GET /healthz: asserts 200; returns the latency in ms. */
static uint64_t s_healthz(int port)
{
    char hp[64], err[256];
    char *body = NULL;
    snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
    uint64_t t0 = hn_ms();
    int code = scrape_get(hp, "/healthz", 3000, &body, err, sizeof(err));
    uint64_t ms = hn_ms() - t0;
    if (code != 200)
        fail_msg("GET %s/healthz under load: %d %s (%llu ms)", hp, code, body ? body : err,
                 (unsigned long long)ms);
    free(body);
    return ms;
}

static int s_count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static bool s_banned(void *arg)
{
    (void)arg;
    redisReply *r = hn_redis(s_e.redis_port, "EXISTS fghttp:ban:" FLOOD_IP);
    bool yes = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    return yes;
}

static bool s_all_open(void *arg)
{
    (void)arg;
    return atomic_load(&s_h.open) >= HOSTILE_IDLE;
}

static bool s_slow_cut(void *arg)
{
    (void)arg;
    return atomic_load(&s_h.slow_cut) >= 1;
}

static void test_e2e_http_healthz_under_hostile_clients(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    int fds_before = s_count_fds(e->actuator);
    uint64_t t_start = hn_ms();
    s_hostile_start(&s_h, e->m_act);
    assert_true(hn_wait_until(s_all_open, NULL, 10000));
    /* the server has accepted them all */
    hn_wait_metric(e->m_act, "floodgate_http_connections", NULL, HOSTILE_IDLE, 5000);
    double conns = s_get(e->m_act, "floodgate_http_connections");
    double limit = s_get(e->m_act, "floodgate_http_connection_limit");
    int fds = s_count_fds(e->actuator);
    printf("# actuator: %.0f connections open (limit %.0f), fds %d (%d before)\n", conns, limit,
           fds, fds_before);
    assert_true(conns >= HOSTILE_IDLE);
    assert_true(limit > HOSTILE_IDLE);
    assert_true(fds <= fds_before + (int)limit + 8);

    /* a real flood, banned while the hostile clients go on */
    char cmd[1024], log[512];
    snprintf(cmd, sizeof(cmd),
             "exec %s/floodgate-flowgen -d 127.0.0.1:%d --dst " FLOOD_IP
             " --pps 20000 --proto udp --duration 6",
             hn_build_dir(), e->nf_port);
    snprintf(log, sizeof(log), "%s/flowgen.log", e->dir);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    pid_t g = hn_spawn(argv, log);

    uint64_t worst = 0;
    for (int i = 0; i < HEALTH_CHECKS; i++) {
        uint64_t ms = s_healthz(e->m_act);
        printf("# /healthz %d under %d idle + slowloris: %llu ms\n", i + 1, atomic_load(&s_h.open),
               (unsigned long long)ms);
        assert_true(ms < 1000);
        worst = ms > worst ? ms : worst;
        usleep(1000 * 1000);
    }
    assert_true(hn_wait_until(s_banned, NULL, 10000));
    assert_true(hn_wait_exit(g, 15000) >= 0);

    /* the slowloris is cut at its deadline (10 s after it connected) */
    assert_true(hn_wait_until(s_slow_cut, NULL, 15000));
    assert_true(s_get(e->m_act, "floodgate_http_deadline_closed_total") >= 1);
    uint64_t ms = s_healthz(e->m_act);
    assert_true(ms < 1000);
    printf("# worst /healthz %llu ms; slowloris sent %d bytes, cut %d time(s); "
           "%d idle connections reopened after the server closed them; %.1f s\n",
           (unsigned long long)(worst > ms ? worst : ms), atomic_load(&s_h.slow_bytes),
           atomic_load(&s_h.slow_cut), atomic_load(&s_h.reopened),
           (double)(hn_ms() - t_start) / 1e3);
    s_hostile_stop(&s_h);
    pid_t all[] = {e->actuator, e->detector, e->aggregator, e->collector};
    hn_expect_alive(all, 4, e->dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_http_healthz_under_hostile_clients),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
