/* Unit tests: the metrics registry, its text format, the HTTP server
 * (/metrics, /healthz, errors) on a real loopback socket, and the
 * metrics_listen config keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/config.h"
#include "common/metrics.h"
#include "tests/harness.h"

/* ---- a loop thread that ticks, like a daemon's ---- */

typedef struct {
    fg_metrics_t *m;
    atomic_int stop;
    pthread_t t;
} ticker_t;

static void *s_tick_loop(void *arg)
{
    ticker_t *t = arg;
    while (!atomic_load(&t->stop)) {
        fg_metrics_tick(t->m);
        usleep(5000);
    }
    return NULL;
}

static void s_ticker_start(ticker_t *t, fg_metrics_t *m)
{
    t->m = m;
    atomic_store(&t->stop, 0);
    assert_int_equal(pthread_create(&t->t, NULL, s_tick_loop, t), 0);
}

static void s_ticker_stop(ticker_t *t)
{
    atomic_store(&t->stop, 1);
    pthread_join(t->t, NULL);
}

/* Send req to 127.0.0.1:port, return the whole response (caller frees). */
static char *s_http(int port, const char *req)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return NULL;
    }
    assert_true(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while ((r = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    close(fd);
    return buf;
}

/* The daemon's stats struct, as a daemon has one. */
typedef struct {
    uint64_t things, level, by_a, by_b;
} test_stats_t;

static test_stats_t s_st = {.things = 7, .level = 3, .by_a = 11, .by_b = 12};
static double s_dbl = 0.25;

/* Rows of one family need not be consecutive for a registry. */
static const fg_series_t s_series[] = {
    FG_COUNTER(test_stats_t, things, "test_things_total", "", "Things."),
    FG_GAUGE(test_stats_t, level, "test_level", "", "A level."),
    FG_COUNTER(test_stats_t, by_a, "test_by_total", "reason=\"a\"", "By reason."),
    FG_COUNTER(test_stats_t, by_b, "test_by_total", "reason=\"b\"", ""),
};

/* Written from a callback over a copy; a family's rows are consecutive. */
static const fg_series_t s_copy_series[] = {
    FG_COUNTER(test_stats_t, by_a, "test_copy_total", "reason=\"a\"", "From a copy."),
    FG_COUNTER(test_stats_t, by_b, "test_copy_total", "reason=\"b\"", ""),
    FG_GAUGE(test_stats_t, level, "test_copy_level", "", "A level, from a copy."),
};

static void s_fn(fg_mout_t *o, void *arg)
{
    fg_mout_family(o, "test_dynamic_total", "counter", "From a callback.");
    fg_mout_u64(o, "test_dynamic_total", "exporter=\"10.0.0.1\"", *(uint64_t *)arg);
    fg_mout_family(o, "test_ratio", "gauge", "A ratio.");
    fg_mout_double(o, "test_ratio", NULL, s_dbl);
    /* the same table from a copy, with labels before each row's */
    test_stats_t copy = s_st;
    fg_mout_table(o, s_copy_series, FG_NSERIES(s_copy_series), &copy, "shard=\"1\"");
}

static atomic_int s_health_ok = 1;
static int s_health(char *why, size_t len, void *arg)
{
    (void)arg;
    if (s_health_ok)
        return 0;
    snprintf(why, len, "no window published for 9 s");
    return -1;
}

static fg_metrics_t *s_registry(void)
{
    fg_metrics_t *m = fg_metrics_new("testproc");
    assert_non_null(m);
    assert_int_equal(fg_metrics_table(m, s_series, FG_NSERIES(s_series), &s_st, ""), 0);
    assert_int_equal(fg_metrics_add_fn(m, s_fn, &s_st.things), 0);
    return m;
}

static int s_count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_metrics_text_format(void **state)
{
    (void)state;
    fg_metrics_t *m = s_registry();
    fg_metrics_render(m);
    char *t = fg_metrics_snapshot(m);
    assert_non_null(strstr(t, "# HELP test_things_total Things.\n# TYPE test_things_total counter\n"
                              "test_things_total 7\n"));
    assert_non_null(strstr(t, "# TYPE test_level gauge\ntest_level 3\n"));
    /* one family for both label sets, both samples under one header */
    assert_int_equal(s_count(t, "# TYPE test_by_total counter"), 1);
    assert_non_null(strstr(t, "test_by_total{reason=\"a\"} 11\ntest_by_total{reason=\"b\"} 12\n"));
    assert_non_null(strstr(t, "test_ratio 0.25\n"));
    assert_non_null(strstr(t, "test_dynamic_total{exporter=\"10.0.0.1\"} 7\n"));
    assert_non_null(strstr(t, "# HELP test_copy_total From a copy.\n# TYPE test_copy_total counter\n"
                              "test_copy_total{shard=\"1\",reason=\"a\"} 11\n"
                              "test_copy_total{shard=\"1\",reason=\"b\"} 12\n"
                              "# HELP test_copy_level A level, from a copy.\n"
                              "# TYPE test_copy_level gauge\ntest_copy_level{shard=\"1\"} 3\n"));
    assert_non_null(strstr(t, "floodgate_build_info{proc=\"testproc\",version=\"" FG_VERSION "\"} 1\n"));
    assert_non_null(strstr(t, "floodgate_uptime_seconds "));
    assert_non_null(strstr(t, "floodgate_healthy 1\n"));
    free(t);
    /* values are read at render time, not at registration */
    s_st.things = 8;
    fg_metrics_render(m);
    t = fg_metrics_snapshot(m);
    assert_non_null(strstr(t, "test_things_total 8\n"));
    free(t);
    s_st.things = 7;
    fg_metrics_destroy(&m);
    assert_null(m);
    fg_metrics_destroy(&m); /* idempotent */
}

static void test_metrics_escape(void **state)
{
    (void)state;
    char out[64];
    assert_string_equal(fg_metrics_escape("a\"b\\c\nd", out, sizeof(out)), "a\\\"b\\\\c\\nd");
    assert_string_equal(fg_metrics_escape("abcdef", out, 4), "abc");
    assert_string_equal(fg_metrics_escape("ab\"", out, 4), "ab"); /* no half escape */
}

static void test_metrics_http(void **state)
{
    (void)state;
    fg_metrics_t *m = s_registry();
    fg_metrics_set_health(m, s_health, NULL);
    char err[256];
    assert_int_equal(fg_metrics_listen(m, "127.0.0.1:0", err, sizeof(err)), 0);
    int port = fg_metrics_port(m);
    assert_true(port > 0);
    ticker_t t;
    s_ticker_start(&t, m);

    char *r = s_http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_non_null(r);
    assert_non_null(strstr(r, "HTTP/1.0 200 OK\r\n"));
    assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(r, "\r\n\r\n# HELP floodgate_build_info"));
    assert_non_null(strstr(r, "test_things_total 7\n"));
    free(r);

    /* a scrape gets a fresh render: the value changed since the last one */
    s_st.level = 42;
    r = s_http(port, "GET /metrics HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(r, "test_level 42\n"));
    free(r);

    r = s_http(port, "GET /healthz HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.0 200 OK"));
    assert_non_null(strstr(r, "\r\n\r\nok\n"));
    free(r);
    s_health_ok = 0;
    r = s_http(port, "GET /healthz?x=1 HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.0 503"));
    assert_non_null(strstr(r, "no window published for 9 s"));
    free(r);
    r = s_http(port, "GET /metrics HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(r, "floodgate_healthy 0\n"));
    free(r);
    s_health_ok = 1;

    r = s_http(port, "GET /nope HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.0 404"));
    free(r);
    r = s_http(port, "POST /metrics HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.0 405"));
    free(r);
    /* malformed requests: libmicrohttpd answers 400 in HTTP/1.1 itself, or
     * closes the connection when the line is not a request line at all */
    r = s_http(port, "garbage x\r\n\r\n");
    assert_non_null(strstr(r, " 400 Bad Request\r\n"));
    free(r);
    r = s_http(port, "garbage\r\n\r\n");
    assert_non_null(r);
    assert_null(strstr(r, " 200 "));
    free(r);
    r = s_http(port, "GET /healthz HTTP/1.0\r\n\r\n"); /* and it serves on */
    assert_non_null(strstr(r, "HTTP/1.0 200 OK"));
    free(r);

    /* the port is taken: a second registry reports it */
    fg_metrics_t *m2 = fg_metrics_new("other");
    char hp[64];
    snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
    assert_int_equal(fg_metrics_listen(m2, hp, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "in use"));
    fg_metrics_destroy(&m2);
    assert_int_equal(fg_metrics_listen(m, "nonsense", err, sizeof(err)), -1);

    s_ticker_stop(&t);
    s_st.level = 3;
    fg_metrics_destroy(&m);
    /* the port is closed after destroy */
    assert_null(s_http(port, "GET /metrics HTTP/1.0\r\n\r\n"));
}

/* The registry's clock, moved by the test (the server thread reads it). */
static atomic_uint_fast64_t s_clock_ms;
static uint64_t s_clock(void)
{
    return atomic_load(&s_clock_ms);
}

/* A loop that stops ticking makes /healthz fail, even with a healthy check;
 * until then it answers 200. Time passes on an injected clock. */
static void test_metrics_stalled_loop(void **state)
{
    (void)state;
    fg_metrics_t *m = s_registry();
    atomic_store(&s_clock_ms, 1000000);
    fg_metrics_set_clock(m, s_clock);
    char err[256];
    assert_int_equal(fg_metrics_listen(m, "127.0.0.1:0", err, sizeof(err)), 0);
    fg_metrics_tick(m);
    atomic_store(&s_clock_ms, 1000000 + FG_METRICS_STALE_MS); /* not yet */
    char *r = s_http(fg_metrics_port(m), "GET /healthz HTTP/1.0\r\n\r\n");
    assert_non_null(r);
    assert_non_null(strstr(r, "HTTP/1.0 200"));
    free(r);
    atomic_store(&s_clock_ms, 1000000 + FG_METRICS_STALE_MS + 1);
    r = s_http(fg_metrics_port(m), "GET /healthz HTTP/1.0\r\n\r\n");
    assert_non_null(r);
    assert_non_null(strstr(r, "HTTP/1.0 503"));
    assert_non_null(strstr(r, "loop stalled for 5001 ms"));
    free(r);
    fg_metrics_tick(m); /* the loop turns again: healthy at once */
    r = s_http(fg_metrics_port(m), "GET /healthz HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.0 200"));
    free(r);
    fg_metrics_destroy(&m);
}

typedef struct {
    int port;
    uint64_t ms;
    char *resp;
    pthread_t t;
} slow_req_t;

static void *s_slow_metrics(void *arg)
{
    slow_req_t *q = arg;
    uint64_t t0 = hn_ms();
    q->resp = s_http(q->port, "GET /metrics HTTP/1.0\r\n\r\n");
    q->ms = hn_ms() - t0;
    return NULL;
}

/* A scrape waiting for a render the loop does not make (the loop is busy)
 * holds no one else: /healthz answers meanwhile, with the last verdict, and
 * so does a client that has not finished its request. */
static void test_metrics_waits_do_not_block(void **state)
{
    (void)state;
    fg_metrics_t *m = s_registry();
    char err[256];
    assert_int_equal(fg_metrics_listen(m, "127.0.0.1:0", err, sizeof(err)), 0);
    fg_metrics_tick(m); /* one render, then the loop goes quiet */
    usleep(20 * 1000);  /* (a request in the render's millisecond counts it fresh) */
    int port = fg_metrics_port(m);
    int slow = socket(AF_INET, SOCK_STREAM, 0); /* half a request, never ended */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(slow, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(write(slow, "GET /hea", 8), 8);
    slow_req_t q = {.port = port};
    assert_int_equal(pthread_create(&q.t, NULL, s_slow_metrics, &q), 0);
    usleep(100 * 1000);
    uint64_t t0 = hn_ms();
    char *r = s_http(port, "GET /healthz HTTP/1.0\r\n\r\n");
    uint64_t health_ms = hn_ms() - t0;
    assert_non_null(strstr(r, "HTTP/1.0 200 OK"));
    free(r);
    pthread_join(q.t, NULL);
    /* the scrape waited its 2 s for a fresh render, then got the last one */
    assert_true(q.ms >= 1900);
    assert_non_null(strstr(q.resp, "test_things_total 7\n"));
    free(q.resp);
    assert_true(health_ms < 1000);
    close(slow);
    fg_metrics_destroy(&m);
}

static void test_metrics_progress(void **state)
{
    (void)state;
    fg_progress_t p = {0};
    assert_int_equal(fg_progress_idle_ms(&p, 5), 0);
    assert_int_equal(fg_progress_idle_at(&p, 5, p.last_change_ms + 30), 30);
    assert_int_equal(fg_progress_idle_at(&p, 5, p.last_change_ms + 7000), 7000);
    assert_int_equal(fg_progress_idle_at(&p, 6, p.last_change_ms + 7001), 0);
    assert_int_equal(fg_progress_idle_at(&p, 6, p.last_change_ms + 10), 10); /* since the change */
    /* the health check on it: a fresh watchdog is healthy */
    char why[64] = "";
    fg_progress_t q = {0};
    assert_int_equal(fg_progress_health(&q, 1, 1000, "window received", why, sizeof(why)), 0);
    assert_string_equal(why, "");
    q.last_change_ms -= 1 + 2500; /* as if fed 2.5 s ago: over a 1 s limit */
    assert_int_equal(fg_progress_health(&q, 1, 1000, "window received", why, sizeof(why)), -1);
    assert_string_equal(why, "no window received for 2 s");
}

static void test_metrics_config_keys(void **state)
{
    (void)state;
    char *dir = hn_tmpdir("metricscfg");
    char path[512], err[1024];
    snprintf(path, sizeof(path), "%s/f.conf", dir);
    hn_write_file(path, "networks\n    monitored = 10.0.0.0/16\n");
    fg_config_t *cfg = fg_config_load(path, err, sizeof(err));
    assert_non_null(cfg);
    assert_string_equal(cfg->collector.metrics_listen, "127.0.0.1:9551");
    assert_string_equal(cfg->detector.metrics_listen, "127.0.0.1:9552");
    assert_string_equal(cfg->actuator.metrics_listen, "127.0.0.1:9553");
    assert_string_equal(cfg->aggregator.metrics_listen, "127.0.0.1:9560");
    fg_config_destroy(&cfg);
    hn_write_file(path, "networks\n    monitored = 10.0.0.0/16\ndetector\n"
                        "    metrics_listen = \"\"\n");
    cfg = fg_config_load(path, err, sizeof(err));
    assert_non_null(cfg);
    assert_string_equal(cfg->detector.metrics_listen, "");
    fg_config_destroy(&cfg);
    hn_write_file(path, "networks\n    monitored = 10.0.0.0/16\ncollector\n"
                        "    metrics_listen = 9551\n");
    assert_null(fg_config_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, ":4: "));
    hn_write_file(path, "networks\n    monitored = 10.0.0.0/16\naggregator\n"
                        "    shards = 4\n    metrics_listen = 127.0.0.1:65534\n");
    assert_null(fg_config_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, "metrics_listen"));
    hn_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_text_format),  cmocka_unit_test(test_metrics_escape),
        cmocka_unit_test(test_metrics_http),         cmocka_unit_test(test_metrics_stalled_loop),
        cmocka_unit_test(test_metrics_progress),     cmocka_unit_test(test_metrics_config_keys),
        cmocka_unit_test(test_metrics_waits_do_not_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
