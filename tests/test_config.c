/* Unit tests: floodgate.conf loading, defaults, errors with file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/flow.h"
#include "tests/harness.h"

static char *s_dir;
static char s_path[512];
static char s_err[1024];

static int s_setup(void **state)
{
    (void)state;
    s_dir = hn_tmpdir("config");
    snprintf(s_path, sizeof(s_path), "%s/floodgate.conf", s_dir);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    hn_rmdir(s_dir);
    free(s_dir);
    return 0;
}

static fg_config_t *s_load(const char *text)
{
    hn_write_file(s_path, text);
    s_err[0] = '\0';
    return fg_config_load(s_path, s_err, sizeof(s_err));
}

/* The config must fail, with an error naming line and holding reason. */
static void s_expect_error(const char *text, int line, const char *reason)
{
    fg_config_t *cfg = s_load(text);
    if (cfg) {
        fg_config_destroy(&cfg);
        fail_msg("config loaded, expected an error at line %d: %s", line, reason);
    }
    char want[600];
    if (line > 0)
        snprintf(want, sizeof(want), "%s:%d: ", s_path, line);
    else
        snprintf(want, sizeof(want), "%s: ", s_path);
    if (strncmp(s_err, want, strlen(want)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", s_err, want);
    if (!strstr(s_err, reason))
        fail_msg("error \"%s\" does not say \"%s\"", s_err, reason);
}

#define MIN "networks\n    monitored = 10.0.0.0/16\n"

static void test_config_example_file_loads(void **state)
{
    (void)state;
    fg_config_t *cfg = fg_config_load("deploy/floodgate.conf", s_err, sizeof(s_err));
    if (!cfg)
        fail_msg("deploy/floodgate.conf: %s", s_err);
    assert_int_equal(cfg->groups[0].ban_time, 1800);
    assert_string_equal(cfg->redis.prefix, "floodgate");
    fg_config_destroy(&cfg);
}

static void test_config_defaults(void **state)
{
    (void)state;
    fg_config_t *cfg = s_load(MIN);
    assert_non_null(cfg);
    assert_int_equal(cfg->n_groups, 1);
    assert_string_equal(cfg->groups[0].name, "default");
    assert_int_equal(cfg->groups[0].ban_time, 1800);
    assert_true(cfg->groups[0].enable_ban);
    assert_true(cfg->groups[0].th[0][0].pps > 0);
    assert_int_equal(cfg->aggregator.shards, 1);
    assert_string_equal(cfg->aggregator.pull_connect[0], "tcp://127.0.0.1:5550");
    assert_string_equal(cfg->redis.host, "127.0.0.1");
    assert_int_equal(cfg->redis.port, 6379);
    assert_int_equal(cfg->collector.n_netflow_listen, 1);
    assert_int_equal(cfg->aggregator.tick_ms, 200);
    fg_config_destroy(&cfg);
}

static void test_config_values_and_lists(void **state)
{
    (void)state;
    fg_config_t *cfg = s_load("# comment\n\n" MIN "    monitored = \"2001:db8::/32, 10.1.0.0/24\"\n"
                              "    whitelist = 10.0.0.53 2001:db8::53\n"
                              "redis\n    address = unix:/run/redis.sock\n    prefix = fg-test\n"
                              "collector\n    netflow_listen = 127.0.0.1:9995 [::1]:9995\n"
                              "aggregator\n    shards = 3\n    tick_ms = 100\n"
                              "hostgroup\n    default\n        ban_time = 60\n"
                              "        enable_ban = off\n"
                              "    web\n        networks = 10.0.5.0/24\n"
                              "        threshold_pps = 100\n"
                              "        threshold_tcp_syn_pps = 70\n"
                              "        out_threshold_udp_mbps = 50\n"
                              "        network_threshold_pps = 1e6\n"
                              "        network_host_floor_pps = 300\n"
                              "        average_time = 2.5\n"
                              "        consecutive_windows = 4\n"
                              "        hysteresis = 0.7\n");
    if (!cfg)
        fail_msg("%s", s_err);
    fg_addr_t a;
    fg_addr_parse("10.0.5.9", &a);
    const fg_hostgroup_t *g = fg_config_group(cfg, &a);
    assert_non_null(g);
    assert_string_equal(g->name, "web");
    assert_true(g->th[0][0].pps == 100);
    assert_true(g->th[FG_DIR_IN][FG_CLS_TCP_SYN].pps == 70);
    assert_true(g->th[FG_DIR_OUT][FG_CLS_UDP].mbps == 50);
    assert_true(g->th[FG_DIR_OUT][FG_CLS_TOTAL].pps == 0); /* outgoing: off by default */
    assert_true(g->th[FG_DIR_IN][FG_CLS_TOTAL].mbps == 1000);
    assert_true(g->net.pps == 1e6);
    assert_true(g->net_floor.pps == 300);
    assert_true(g->net_floor.mbps == 10);
    assert_true(g->average_time == 2.5);
    assert_int_equal(g->consecutive, 4);
    assert_true(g->hysteresis == 0.7);
    assert_int_equal(g->ban_time, 1800); /* built-in default */
    fg_addr_parse("10.0.6.9", &a);
    assert_string_equal(fg_config_group(cfg, &a)->name, "default");
    assert_int_equal(fg_config_group(cfg, &a)->ban_time, 60);
    assert_false(fg_config_group(cfg, &a)->enable_ban);
    fg_addr_parse("2001:db8::1", &a);
    assert_non_null(fg_config_group(cfg, &a));
    fg_addr_parse("10.1.1.1", &a);
    assert_null(fg_config_group(cfg, &a));
    fg_addr_parse("10.0.0.53", &a);
    assert_true(fg_config_whitelisted(cfg, &a));
    fg_addr_parse("10.0.0.54", &a);
    assert_false(fg_config_whitelisted(cfg, &a));
    assert_string_equal(cfg->redis.socket, "/run/redis.sock");
    assert_string_equal(cfg->redis.prefix, "fg-test");
    assert_int_equal(cfg->collector.n_netflow_listen, 2);
    assert_string_equal(cfg->collector.netflow_listen[1], "[::1]:9995");
    /* one connect endpoint, 3 shards: ports offset per shard */
    assert_string_equal(cfg->aggregator.pull_connect[2], "tcp://127.0.0.1:5552");
    assert_string_equal(cfg->aggregator.pub_connect[1], "tcp://127.0.0.1:5561");
    assert_int_equal(cfg->aggregator.tick_ms, 100);
    fg_config_destroy(&cfg);
}

/* Hostgroups nest: the longest prefix wins, IPv4 and IPv6; the whitelist
 * is a separate lookup. */
static void test_config_hostgroup_longest_prefix(void **state)
{
    (void)state;
    fg_config_t *cfg = s_load("networks\n    monitored = \"10.0.0.0/8, 2001:db8::/32\"\n"
                              "    whitelist = 10.0.5.130/32\n"
                              "hostgroup\n"
                              "    big\n        networks = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
                              "    small\n        networks = 10.0.5.0/24\n"
                              "    tiny\n        networks = 10.0.5.128/25\n"
                              "    v6small\n        networks = 2001:db8:100:5::/64\n");
    if (!cfg)
        fail_msg("%s", s_err);
    const char *cases[][2] = {
        {"10.1.0.1", "default"},  {"10.0.4.1", "big"},         {"10.0.5.1", "small"},
        {"10.0.5.127", "small"},  {"10.0.5.128", "tiny"},      {"10.0.5.255", "tiny"},
        {"2001:db8:1::1", "default"}, {"2001:db8:100::1", "big"},
        {"2001:db8:100:5::1", "v6small"}, {"2001:db8:100:6::1", "big"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fg_addr_t a;
        assert_int_equal(fg_addr_parse(cases[i][0], &a), 0);
        const fg_hostgroup_t *g = fg_config_group(cfg, &a);
        if (!g || strcmp(g->name, cases[i][1]))
            fail_msg("%s: group %s, expected %s", cases[i][0], g ? g->name : "none",
                     cases[i][1]);
    }
    fg_addr_t w;
    fg_addr_parse("10.0.5.130", &w);
    assert_true(fg_config_whitelisted(cfg, &w));
    assert_string_equal(fg_config_group(cfg, &w)->name, "tiny");
    fg_config_destroy(&cfg);
}

static void test_config_errors_name_line(void **state)
{
    (void)state;
    s_expect_error(MIN "collector\n    batchms = 3\n", 4, "unknown key collector/batchms");
    s_expect_error(MIN "bogus\n    a = 1\n", 3, "unknown section");
    s_expect_error(MIN "collector\n    batch_ms = fast\n", 4, "not an integer");
    s_expect_error(MIN "collector\n    batch_ms = 0\n", 4, "out of range");
    s_expect_error(MIN "networks2\n", 3, "unknown section");
    s_expect_error("networks\n    monitored = 10.0.0.1/16\n", 2, "host bits set");
    s_expect_error("networks\n    monitored = 10.0.0.0/40\n", 2, "prefix length");
    s_expect_error("networks\n    monitored = 10.0.0.0/16 bad\n", 2, "not an IPv4 or IPv6");
    s_expect_error(MIN "redis\n    address = localhost\n", 4, "host:port");
    s_expect_error(MIN "redis\n    db = 1\n    db = 2\n", 5, "given twice (first at line 4)");
    s_expect_error(MIN "hostgroup\n    default\n        enable_ban = maybe\n", 5, "not a boolean");
    s_expect_error(MIN "hostgroup\n    web\n        networks = 10.0.1.0/24\n"
                       "        threshold_pps = -1\n", 6, "out of range");
    s_expect_error(MIN "hostgroup\n    web\n        networks = 10.0.1.0/24\n"
                       "        consecutive_windows = 0\n", 6, "out of range");
    s_expect_error(MIN "hostgroup\n    web\n        networks = 10.0.1.0/24\n"
                       "        network_threshold_pps = 5000\n"
                       "        network_host_floor_pps = 0\n"
                       "        network_host_floor_mbps = 0\n", 0, "network_host_floor");
    s_expect_error(MIN "hostgroup\n    web\n        thresold_pps = 1\n", 5,
                   "unknown key hostgroup/web/thresold_pps");
    s_expect_error(MIN "hostgroup\n    a\n        networks = 10.0.1.0/24\n"
                       "    b\n        networks = 10.0.1.0/24\n", 7, "another hostgroup");
    s_expect_error(MIN "aggregator\n    pull_bind = 5550\n", 4, "ZeroMQ endpoint");
    s_expect_error(MIN "# ok\n  redis\n", 4, "indentation");
    s_expect_error(MIN "redis\n\taddress = x:1\n", 4, "tab");
    s_expect_error(MIN "redis = 1\n", 3, "takes no value");
    s_expect_error("general\n    log_level = loud\n", 2, "not a log level");
    /* errors that are about the whole file name no line */
    s_expect_error("general\n    log_level = info\n", 0, "networks/monitored is empty");
    s_expect_error(MIN "aggregator\n    shards = 2\n"
                       "    pull_connect = tcp://a:1 tcp://b:1 tcp://c:1\n",
                   0, "3 endpoints for 2 shards");
    /* a missing file */
    s_err[0] = '\0';
    assert_null(fg_config_load("/nonexistent/floodgate.conf", s_err, sizeof(s_err)));
    assert_non_null(strstr(s_err, "cannot open"));
}

static void test_config_env_override(void **state)
{
    (void)state;
    setenv("FLOODGATE_COLLECTOR_ID", "42", 1);
    setenv("FLOODGATE_REDIS_ADDRESS", "redis:6380", 1);
    fg_config_t *cfg = s_load(MIN "collector\n    id = 7\n");
    unsetenv("FLOODGATE_COLLECTOR_ID");
    unsetenv("FLOODGATE_REDIS_ADDRESS");
    assert_non_null(cfg);
    assert_int_equal(cfg->collector.id, 42);
    assert_string_equal(cfg->redis.host, "redis");
    assert_int_equal(cfg->redis.port, 6380);
    fg_config_destroy(&cfg);
    setenv("FLOODGATE_COLLECTOR_BATCH_MS", "zero", 1);
    assert_null(s_load(MIN));
    unsetenv("FLOODGATE_COLLECTOR_BATCH_MS");
    assert_non_null(strstr(s_err, "environment: collector/batch_ms"));
}

static void test_config_endpoint_offset(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(fg_endpoint_offset("tcp://*:5550", 3, out, sizeof(out)), 0);
    assert_string_equal(out, "tcp://*:5553");
    assert_int_equal(fg_endpoint_offset("tcp://[::1]:80", 1, out, sizeof(out)), 0);
    assert_string_equal(out, "tcp://[::1]:81");
    assert_int_equal(fg_endpoint_offset("ipc:///tmp/x", 1, out, sizeof(out)), -1);
    assert_int_equal(fg_endpoint_offset("tcp://*:65535", 1, out, sizeof(out)), -1);
}

/* The collector's exporter keys: sFlow endpoints, allow-list, overrides. */
static void test_config_collector_exporter_keys(void **state)
{
    (void)state;
    fg_config_t *cfg = s_load(MIN "collector\n    sflow_listen = \"127.0.0.1:6343, [::1]:6343\"\n"
                                  "    exporter_allow = \"192.0.2.0/24, 2001:db8::/32\"\n"
                                  "    sampling_override = \"192.0.2.1=1000 2001:db8::1=64\"\n"
                                  "    template_timeout = 0\n    template_hold_ms = 500\n");
    assert_non_null(cfg);
    assert_int_equal(cfg->collector.n_sflow_listen, 2);
    assert_string_equal(cfg->collector.sflow_listen[1], "[::1]:6343");
    fg_addr_t a;
    fg_addr_parse("192.0.2.1", &a);
    assert_true(col_config_exporter_allowed(&cfg->collector, &a));
    assert_int_equal(col_config_sampling_override(&cfg->collector, &a), 1000);
    fg_addr_parse("2001:db8::1", &a);
    assert_int_equal(col_config_sampling_override(&cfg->collector, &a), 64);
    fg_addr_parse("198.51.100.1", &a);
    assert_false(col_config_exporter_allowed(&cfg->collector, &a));
    assert_int_equal(col_config_sampling_override(&cfg->collector, &a), 0);
    assert_int_equal(cfg->collector.template_timeout, 0);
    assert_int_equal(cfg->collector.template_hold_ms, 500);
    fg_config_destroy(&cfg);
    cfg = s_load(MIN); /* defaults: everyone allowed, 6343, 1800 s, 256 */
    assert_non_null(cfg);
    assert_true(col_config_exporter_allowed(&cfg->collector, &a));
    assert_string_equal(cfg->collector.sflow_listen[0], "0.0.0.0:6343");
    assert_int_equal(cfg->collector.template_timeout, 1800);
    assert_int_equal(cfg->collector.max_templates, 256);
    fg_config_destroy(&cfg);
    s_expect_error(MIN "collector\n    sampling_override = 192.0.2.1\n", 4, "ADDRESS=RATE");
    s_expect_error(MIN "collector\n    sampling_override = 192.0.2.1=0\n", 4, "1..1000000");
    s_expect_error(MIN "collector\n    sampling_override = host=10\n", 4, "bad exporter");
    s_expect_error(MIN "collector\n    exporter_allow = 192.0.2.1/8\n", 4, "host bits set");
    s_expect_error(MIN "collector\n    sflow_listen = 6343\n", 4, "host:port");
    s_expect_error(MIN "collector\n    max_templates = 0\n", 4, "out of range");
}

/* A reload takes the new thresholds, hostgroups and whitelist, keeps the
 * running value of each restart-only key and names those that changed; a
 * bad file leaves the config as it was. */
#define RELOAD_A MIN "networks\n    whitelist = 10.0.0.53/32\n" \
    "hostgroup\n    default\n        threshold_pps = 20000\n"
#define RELOAD_B "networks\n    monitored = 10.0.0.0/16 10.1.0.0/16\n" \
    "aggregator\n    shards = 2\n    watch_floor = 0.25\n" \
    "actuator\n    bind = tcp://*:6570\n    max_bans = 7\n" \
    "redis\n    address = 127.0.0.1:6380\n" \
    "collector\n    sampling_override = 192.0.2.9=100\n" \
    "hostgroup\n    default\n        threshold_pps = 500\n" \
    "    web\n        networks = 10.1.0.0/24\n        threshold_pps = 100\n"

static void test_config_reload_diff(void **state)
{
    (void)state;
    fg_config_t *cfg = s_load(RELOAD_A);
    assert_non_null(cfg);
    char restart[256], err[1024];
    hn_write_file(s_path, RELOAD_A);
    assert_int_equal(fg_config_reload(cfg, restart, sizeof(restart), err, sizeof(err)), 0);
    assert_string_equal(restart, "");

    hn_write_file(s_path, RELOAD_B);
    /* shards = 2 also turns the one pull/pub_connect into one per shard */
    assert_int_equal(fg_config_reload(cfg, restart, sizeof(restart), err, sizeof(err)), 5);
    assert_string_equal(restart, "redis/address aggregator/shards aggregator/pull_connect "
                                 "aggregator/pub_connect actuator/bind");
    /* restart-only keys keep their running values, consistently */
    assert_int_equal(cfg->aggregator.shards, 1);
    assert_int_equal(cfg->aggregator.n_pull_connect, 1);
    assert_string_equal(cfg->actuator.bind, "tcp://127.0.0.1:5570"); /* the default */
    assert_int_equal(cfg->redis.port, 6379);
    /* the rest is new */
    assert_true(cfg->aggregator.watch_floor == 0.25);
    assert_int_equal(cfg->actuator.max_bans, 7);
    assert_true(cfg->groups[0].th[0][0].pps == 500);
    fg_addr_t a;
    fg_addr_parse("10.1.0.9", &a);
    assert_string_equal(fg_config_group(cfg, &a)->name, "web");
    fg_addr_parse("10.0.0.53", &a);
    assert_false(fg_config_whitelisted(cfg, &a));
    fg_addr_parse("192.0.2.9", &a);
    assert_int_equal(col_config_sampling_override(&cfg->collector, &a), 100);

    /* a bad file: refused with FILE:LINE: reason, nothing changes */
    hn_write_file(s_path, RELOAD_B "        threshold_pps = 1\n");
    assert_int_equal(fg_config_reload(cfg, restart, sizeof(restart), err, sizeof(err)), -1);
    char want[600];
    snprintf(want, sizeof(want), "%s:19: hostgroup/web/threshold_pps given twice", s_path);
    assert_memory_equal(err, want, strlen(want));
    assert_true(cfg->groups[0].th[0][0].pps == 500);
    assert_int_equal(cfg->n_groups, 2);
    hn_write_file(s_path, MIN "collector\n    batch_ms = fast\n");
    assert_int_equal(fg_config_reload(cfg, restart, sizeof(restart), err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":4: collector/batch_ms = \"fast\": not an integer"));
    assert_int_equal(cfg->actuator.max_bans, 7);
    fg_config_destroy(&cfg);
}

/* Found by fuzz_config: a file zconfig cannot parse leaked the zfile_t
 * zconfig_load opened (seen under make SAN=1 unit). */
static void test_config_syntax_error_fixture(void **state)
{
    (void)state;
    const char *path = "tests/data/fuzz/config_syntax.conf";
    s_err[0] = '\0';
    assert_null(fg_config_load(path, s_err, sizeof(s_err)));
    assert_int_equal(strncmp(s_err, path, strlen(path)), 0);
    assert_non_null(strstr(s_err, "syntax error"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_example_file_loads),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_syntax_error_fixture),
        cmocka_unit_test(test_config_values_and_lists),
        cmocka_unit_test(test_config_hostgroup_longest_prefix),
        cmocka_unit_test(test_config_errors_name_line),
        cmocka_unit_test(test_config_collector_exporter_keys),
        cmocka_unit_test(test_config_env_override),
        cmocka_unit_test(test_config_endpoint_offset),
        cmocka_unit_test(test_config_reload_diff),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
