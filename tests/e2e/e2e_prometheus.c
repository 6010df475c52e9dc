/* End to end, the Grafana dashboard against a real Prometheus: the four
 * daemons (two aggregator shards), a real redis-server and a real gobgpd (the
 * actuator's BGP backend, no neighbour) on free loopback ports, and Debian's
 * prometheus scraping every daemon's /metrics each second, its data in the
 * test's directory under /tmp.
 *
 * With a NetFlow flood going on (and banned), every expression of every panel
 * of deploy/grafana/dashboards/floodgate.json ($__rate_interval as Grafana
 * makes it for a 1 s scrape: 4 s) is asked of Prometheus' HTTP API
 * (/api/v1/query) and must return data; and the panels an operator reads
 * first say what happened: every target up, one ban active, records coming
 * in, Redis and the backend up, no process unhealthy, an attack in progress.
 * So the dashboard is known to work with what the daemons export. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/harness.h"

#define SHARDS 2
#define FLOOD_IP "10.0.0.7"
#define DASHBOARD "deploy/grafana/dashboards/floodgate.json"
#define MAX_EXPRS 128

typedef struct {
    char *dir;
    char conf[512];
    int redis_port, nf_port, pull_port, pub_port, act_port, bgp_port, api_port, prom_port;
    int m_col, m_agg, m_det, m_act; /* metrics ports; m_agg is shard 0's, shard i m_agg + i */
    pid_t redis, gobgpd, prom, collector, aggregator[SHARDS], detector, actuator, flowgen;
} e2e_t;

static e2e_t s_e;

static void s_write_configs(e2e_t *e)
{
    char text[4096], path[600];
    snprintf(text, sizeof(text),
             "# written by e2e_prometheus\n"
             "networks\n    monitored = \"10.0.0.0/16\"\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgprom\n"
             "collector\n    netflow_listen = 127.0.0.1:%d\n    batch_ms = 10\n"
             "    metrics_listen = 127.0.0.1:%d\n"
             "aggregator\n    shards = %d\n"
             "    pull_bind = tcp://127.0.0.1:%d\n    pub_bind = tcp://127.0.0.1:%d\n"
             "    pull_connect = tcp://127.0.0.1:%d\n    pub_connect = tcp://127.0.0.1:%d\n"
             "    tick_ms = 200\n    metrics_listen = 127.0.0.1:%d\n"
             "detector\n    ongoing_interval = 1\n    metrics_listen = 127.0.0.1:%d\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    connect = tcp://127.0.0.1:%d\n"
             "    check_interval = 1\n    metrics_listen = 127.0.0.1:%d\n"
             "    bgp_backend = gobgp\n    gobgp_api = 127.0.0.1:%d\n"
             "    next_hop_v4 = 198.51.100.1\n    next_hop_v6 = 2001:db8::1\n"
             "hostgroup\n    default\n        ban_time = 600\n        threshold_pps = 5000\n"
             "        threshold_mbps = 0\n        threshold_flows = 0\n",
             e->redis_port, e->nf_port, e->m_col, SHARDS, e->pull_port, e->pub_port, e->pull_port,
             e->pub_port, e->m_agg, e->m_det, e->act_port, e->act_port, e->m_act, e->api_port);
    hn_write_file(e->conf, text);

    snprintf(text, sizeof(text),
             "[global.config]\n  as = 65001\n  router-id = \"127.0.0.1\"\n  port = %d\n"
             "  local-address-list = [\"127.0.0.1\"]\n",
             e->bgp_port);
    snprintf(path, sizeof(path), "%s/gobgpd.toml", e->dir);
    hn_write_file(path, text);

    /* one job per daemon, as deploy/prometheus/prometheus.yml has them */
    snprintf(text, sizeof(text),
             "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
             "scrape_configs:\n"
             "  - job_name: floodgate-collector\n    static_configs:\n"
             "      - targets: ['127.0.0.1:%d']\n"
             "  - job_name: floodgate-aggregator\n    static_configs:\n"
             "      - targets: ['127.0.0.1:%d', '127.0.0.1:%d']\n"
             "  - job_name: floodgate-detector\n    static_configs:\n"
             "      - targets: ['127.0.0.1:%d']\n"
             "  - job_name: floodgate-actuator\n    static_configs:\n"
             "      - targets: ['127.0.0.1:%d']\n",
             e->m_col, e->m_agg, e->m_agg + 1, e->m_det, e->m_act);
    snprintf(path, sizeof(path), "%s/prometheus.yml", e->dir);
    hn_write_file(path, text);
}

static pid_t s_start_gobgpd(e2e_t *e)
{
    char toml[600], api[64], log[600];
    snprintf(toml, sizeof(toml), "%s/gobgpd.toml", e->dir);
    snprintf(api, sizeof(api), "--api-hosts=127.0.0.1:%d", e->api_port);
    snprintf(log, sizeof(log), "%s/gobgpd.log", e->dir);
    char *argv[] = {"gobgpd", "-f", toml, "-p", api, "--pprof-disable", NULL};
    return hn_spawn(argv, log);
}

static pid_t s_start_prometheus(e2e_t *e)
{
    char conf[600], data[600], listen[64], log[600];
    snprintf(conf, sizeof(conf), "--config.file=%s/prometheus.yml", e->dir);
    snprintf(data, sizeof(data), "--storage.tsdb.path=%s/prometheus-data", e->dir);
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", e->prom_port);
    snprintf(log, sizeof(log), "%s/prometheus.log", e->dir);
    char *argv[] = {"prometheus", conf, data, listen, "--storage.tsdb.retention.time=1h",
                    "--log.level=warn", NULL};
    return hn_spawn(argv, log);
}

static bool s_prom_ready(void *arg)
{
    return hn_http_get(*(int *)arg, "/-/ready", NULL) == 200;
}

static int s_setup(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    e->dir = hn_tmpdir("e2eprom");
    snprintf(e->conf, sizeof(e->conf), "%s/floodgate.conf", e->dir);
    e->pull_port = hn_free_port_range(SHARDS);
    e->pub_port = hn_free_port_range(SHARDS);
    e->m_agg = hn_free_port_range(SHARDS);
    int *ports[] = {&e->redis_port, &e->nf_port, &e->act_port, &e->bgp_port, &e->api_port,
                    &e->prom_port,  &e->m_col,   &e->m_det,    &e->m_act};
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        *ports[i] = hn_free_port();
    s_write_configs(e);
    e->redis = hn_redis_start(e->dir, e->redis_port, false);
    e->gobgpd = s_start_gobgpd(e);
    e->prom = s_start_prometheus(e);
    e->actuator = hn_daemon(e->dir, e->conf, "actuator", NULL);
    e->detector = hn_daemon(e->dir, e->conf, "detector", NULL);
    for (int i = 0; i < SHARDS; i++) {
        char shard[8];
        snprintf(shard, sizeof(shard), "%d", i);
        e->aggregator[i] = hn_daemon(e->dir, e->conf, "aggregator", shard);
    }
    e->collector = hn_daemon(e->dir, e->conf, "collector", NULL);
    int mports[] = {e->m_col, e->m_agg, e->m_agg + 1, e->m_det, e->m_act};
    hn_expect_ready(e->m_det, SHARDS, mports, 5, 15000);
    if (!hn_wait_until(s_prom_ready, &e->prom_port, 15000))
        fail_msg("prometheus not ready within 15 s; see %s/prometheus.log", e->dir);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    pid_t all[] = {e->flowgen,  e->collector, e->aggregator[0], e->aggregator[1],
                   e->detector, e->actuator,  e->prom,          e->gobgpd,
                   e->redis};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (all[i] > 0)
            hn_stop(all[i], 5000);
    hn_tmpdir_done(&e->dir);
    return 0;
}

/* ---- Prometheus' HTTP API ---- */

/* s percent-encoded for a query string into out. */
static void s_urlencode(const char *s, char *out, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-_.~", c)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* Ask Prometheus expr (instant query, now): the number of series in the
 * answer, their values summed into *sum (may be NULL); -1 when the query
 * failed (with the answer in why). */
static int s_query(const char *expr, double *sum, char *why, size_t whylen)
{
    char enc[4096], path[4200];
    s_urlencode(expr, enc, sizeof(enc));
    snprintf(path, sizeof(path), "/api/v1/query?query=%s", enc);
    char *body = NULL;
    int code = hn_http_get(s_e.prom_port, path, &body);
    json_t *j = body ? json_loads(body, 0, NULL) : NULL;
    json_t *res = json_object_get(json_object_get(j, "data"), "result");
    int n = -1;
    if (code == 200 && json_is_array(res)) {
        n = (int)json_array_size(res);
        double s = 0;
        for (int i = 0; i < n; i++) { /* "value": [ts, "v"] */
            json_t *val = json_object_get(json_array_get(res, (size_t)i), "value");
            const char *txt = json_string_value(json_array_get(val, 1));
            s += txt ? atof(txt) : 0;
        }
        if (sum)
            *sum = s;
    } else {
        snprintf(why, whylen, "HTTP %d: %.300s", code, body ? body : "");
    }
    json_decref(j);
    free(body);
    return n;
}

typedef struct {
    const char *expr;
    double want; /* the sum of the answer reaches it */
} want_t;

static bool s_answers(void *arg)
{
    const want_t *w = arg;
    char why[512];
    double v = 0;
    return s_query(w->expr, &v, why, sizeof(why)) > 0 && v >= w->want;
}

/* ---- the dashboard's expressions ---- */

typedef struct {
    char title[128];
    char expr[1024];
} panel_expr_t;

/* Grafana's variables as Grafana sets them for a 1 s scrape interval. */
static void s_grafana_vars(const char *in, char *out, size_t len)
{
    size_t o = 0;
    while (*in && o + 1 < len) {
        const char *var = "$__rate_interval";
        if (!strncmp(in, var, strlen(var))) {
            o += (size_t)snprintf(out + o, len - o, "4s");
            in += strlen(var);
        } else if (!strncmp(in, "$__interval", 11)) {
            o += (size_t)snprintf(out + o, len - o, "1s");
            in += 11;
        } else {
            out[o++] = *in++;
        }
    }
    out[o < len ? o : len - 1] = '\0';
}

/* Every targets[].expr of the panels (nested rows too) into out. */
static void s_collect(json_t *node, const char *title, panel_expr_t *out, int *n)
{
    if (json_is_object(node)) {
        const char *t = json_string_value(json_object_get(node, "title"));
        if (t)
            title = t;
        json_t *targets = json_object_get(node, "targets");
        size_t i;
        json_t *v;
        json_array_foreach(targets, i, v)
        {
            const char *e = json_string_value(json_object_get(v, "expr"));
            if (e && *n < MAX_EXPRS) {
                snprintf(out[*n].title, sizeof(out[*n].title), "%s", title);
                s_grafana_vars(e, out[*n].expr, sizeof(out[*n].expr));
                (*n)++;
            }
        }
        const char *k;
        json_object_foreach(node, k, v)
        {
            if (strcmp(k, "targets"))
                s_collect(v, title, out, n);
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) s_collect(v, title, out, n);
    }
}

/* ---- the test ---- */

static pid_t s_flood(void)
{
    char cmd[1024], log[512];
    snprintf(cmd, sizeof(cmd),
             "exec %s/floodgate-flowgen -d 127.0.0.1:%d --dst " FLOOD_IP
             " --pps 20000 --proto udp --background 20 --duration 60",
             hn_build_dir(), s_e.nf_port);
    snprintf(log, sizeof(log), "%s/flowgen.log", s_e.dir);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return hn_spawn(argv, log);
}

static void s_expect(const char *expr, double want, int timeout_ms)
{
    want_t w = {expr, want};
    if (!hn_wait_until(s_answers, &w, timeout_ms)) {
        char why[512] = "";
        double v = 0;
        int n = s_query(expr, &v, why, sizeof(why));
        fail_msg("prometheus: %s gave %d series summing to %g (want >= %g) %s", expr, n, v, want,
                 why);
    }
}

static void test_e2e_prometheus_answers_every_panel(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    json_error_t jerr;
    json_t *dash = json_load_file(DASHBOARD, 0, &jerr);
    if (!dash)
        fail_msg("%s: %s (line %d)", DASHBOARD, jerr.text, jerr.line);
    static panel_expr_t exprs[MAX_EXPRS];
    int n = 0;
    s_collect(json_object_get(dash, "panels"), "", exprs, &n);
    json_decref(dash);
    assert_true(n >= 10);

    uint64_t t0 = hn_ms();
    e->flowgen = s_flood();
    /* every daemon scraped, the flood seen and banned (the panels operators
     * look at first show it) */
    s_expect("count(up{job=~\"floodgate-.*\"} == 1)", 5, 15000);
    s_expect("sum(floodgate_actuator_bans_active)", 1, 20000);
    s_expect("sum(floodgate_detector_attacks)", 1, 5000);
    s_expect("min(floodgate_actuator_backend_up)", 1, 5000);
    s_expect("min(floodgate_actuator_redis_up)", 1, 5000);
    /* flowgen describes the flood in 1 000 records/s, plus the background */
    s_expect("sum(rate(floodgate_collector_records_total{result=\"decoded\"}[4s]))", 500, 10000);
    s_expect("min(floodgate_healthy)", 1, 5000);
    assert_int_equal(s_query("count(floodgate_healthy == 0) or vector(0)", NULL, (char[8]){0}, 8),
                     1);

    /* then every panel's expression returns data (a rate needs two scrapes
     * in its range: bounded wait for each) */
    int empty = 0;
    for (int i = 0; i < n; i++) {
        want_t w = {exprs[i].expr, -1e300};
        if (!hn_wait_until(s_answers, &w, 6000)) {
            fprintf(stderr, "panel \"%s\": no data for %s\n", exprs[i].title, exprs[i].expr);
            empty++;
        }
    }
    fprintf(stderr, "# %d panel expressions answered by prometheus, %llu ms after the flood began\n",
            n - empty, (unsigned long long)(hn_ms() - t0));
    if (empty)
        fail_msg("%d of %d dashboard expressions return no data (see above)", empty, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_prometheus_answers_every_panel),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
