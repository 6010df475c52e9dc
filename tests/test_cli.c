/* Unit tests: the CLI's readers of untrusted text: fgjson over jansson
 * (history lines and ban details from Redis) and scrape (Prometheus text
 * from the daemons). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "common/fgjson.h"
#include "cli/scrape.h"

static void test_cli_json_history_line(void **state)
{
    (void)state;
    const char *line =
        "{\"event\":\"ban\",\"ip\":\"10.0.0.5\",\"value\":47694.08,\"ban_count\":2,"
        "\"ok\":true,\"none\":null,\"details\":{\"total\":{\"pps\":6e4,\"bps\":-1.5E2},"
        "\"top\":[{\"kind\":\"proto\",\"key\":\"17\",\"share\":1}]},"
        "\"esc\":\"a\\\"b\\\\c\\n\\u00e9\\u0041\"}";
    json_t *v = fgjson_parse(line, 4096);
    assert_non_null(v);
    assert_true(json_is_object(v));
    assert_string_equal(fgjson_get_str(v, "event", ""), "ban");
    assert_true(fgjson_get_num(v, "value", 0) == 47694.08);
    assert_true(fgjson_get_num(v, "ban_count", 0) == 2);
    assert_true(json_is_boolean(json_object_get(v, "ok")));
    assert_true(json_is_null(json_object_get(v, "none")));
    const json_t *tot = json_object_get(json_object_get(v, "details"), "total");
    assert_true(fgjson_get_num(tot, "pps", 0) == 60000);
    assert_true(fgjson_get_num(tot, "bps", 0) == -150);
    const json_t *top = json_object_get(json_object_get(v, "details"), "top");
    assert_true(json_is_array(top));
    assert_int_equal(json_array_size(top), 1);
    assert_string_equal(fgjson_get_str(json_array_get(top, 0), "key", ""), "17");
    assert_string_equal(fgjson_get_str(v, "esc", ""), "a\"b\\c\n\xc3\xa9" "A");
    /* absent or mistyped members give the default */
    assert_string_equal(fgjson_get_str(v, "value", "def"), "def");
    assert_true(fgjson_get_num(v, "nope", -7) == -7);
    assert_true(fgjson_get_num(NULL, "x", 3) == 3);
    assert_null(json_object_get(NULL, "x"));
    json_decref(v);
    json_decref(NULL);
}

static void test_cli_json_refuses_bad_input(void **state)
{
    (void)state;
    const char *bad[] = {"", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "[1 2]", "\"abc",
                         "{\"a\":1} x", "tru", "{\"a\":\"\x01\"}", "\"\\x\"", "\"\\u12G4\"",
                         "{1:2}", "-", "\"\xff\"", NULL};
    for (int i = 0; bad[i]; i++) {
        json_t *v = fgjson_parse(bad[i], 4096);
        if (v)
            fail_msg("parsed bad JSON: %s", bad[i]);
    }
    assert_null(fgjson_parse(NULL, 4096));
    /* unclosed nesting, and text over the caller's cap */
    char deep[200];
    memset(deep, '[', sizeof(deep) - 1);
    deep[sizeof(deep) - 1] = '\0';
    assert_null(fgjson_parse(deep, 4096));
    char ok[2 * 32 + 1];
    memset(ok, '[', 32);
    memset(ok + 32, ']', 32);
    ok[2 * 32] = '\0';
    json_t *v = fgjson_parse(ok, 4096);
    assert_non_null(v);
    json_decref(v);
    assert_null(fgjson_parse(ok, 63));
    v = fgjson_parse("  [ ]  ", 4096);
    assert_non_null(v);
    assert_int_equal(json_array_size(v), 0);
    json_decref(v);
}

/* What floodgate writes: compact, in order, integral numbers as integers,
 * 15 digits, no NaN, bytes that are not UTF-8 as '?', controls escaped. */
static void test_cli_json_writer_conventions(void **state)
{
    (void)state;
    bool ok = true;
    json_t *j = json_object();
    assert_non_null(j);
    fgjson_set_str(j, "z", "a\"b\x01\xff/", &ok);
    fgjson_set_num(j, "a", 5, &ok);
    fgjson_set_num(j, "v", 47694.08, &ok);
    fgjson_set_num(j, "nan", 0.0 / 0.0, &ok);
    fgjson_set_fixed(j, "f", 1.23456, 3, &ok);
    fgjson_set_uint(j, "u", 18446744073709551615ull, &ok);
    fgjson_set_bool(j, "b", false, &ok);
    assert_true(ok);
    char *text = fgjson_dump(j);
    assert_string_equal(text, "{\"z\":\"a\\\"b\\u0001?/\",\"a\":5,\"v\":47694.08,\"nan\":0,"
                              "\"f\":1.235,\"u\":1.84467440737096e19,\"b\":false}");
    free(text);
    json_decref(j);
}

/* One duration format for bans, status and report. */
static void test_cli_duration(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(cli_duration(-1, b, sizeof(b)), "never");
    assert_string_equal(cli_duration(0, b, sizeof(b)), "0s");
    assert_string_equal(cli_duration(59, b, sizeof(b)), "59s");
    assert_string_equal(cli_duration(1798, b, sizeof(b)), "29m58s");
    assert_string_equal(cli_duration(3720, b, sizeof(b)), "1h02m");
    assert_string_equal(cli_duration(3 * 86400 + 4 * 3600 + 5, b, sizeof(b)), "3d04h");
}

static void test_cli_scrape_text(void **state)
{
    (void)state;
    const char *t = "# HELP x_total X.\n# TYPE x_total counter\n"
                    "x_total{result=\"decoded\"} 10\n"
                    "x_total{result=\"sent\"} 7\n"
                    "x_total_other 99\n"
                    "y 1.5\n"
                    "floodgate_build_info{proc=\"collector\",version=\"0.2.0\"} 1\n"
                    "z{a=\"1\"} NaN";
    int n = 0;
    assert_true(scrape_sum(t, "x_total", NULL, &n) == 17);
    assert_int_equal(n, 2);
    assert_true(scrape_sum(t, "x_total", "result=\"sent\"", &n) == 7);
    assert_int_equal(n, 1);
    assert_true(scrape_sum(t, "y", "", &n) == 1.5);
    assert_true(scrape_sum(t, "missing", NULL, &n) == 0);
    assert_int_equal(n, 0);
    char out[32];
    assert_string_equal(scrape_label(t, "floodgate_build_info", "version", out, sizeof(out)),
                        "0.2.0");
    assert_string_equal(scrape_label(t, "floodgate_build_info", "nope", out, sizeof(out)), "");
    assert_string_equal(scrape_label(t, "absent", "proc", out, sizeof(out)), "");
}

static void test_cli_scrape_targets(void **state)
{
    (void)state;
    fg_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.aggregator.shards = 2;
    snprintf(cfg.collector.metrics_listen, sizeof(cfg.collector.metrics_listen), "0.0.0.0:9551");
    snprintf(cfg.aggregator.metrics_listen, sizeof(cfg.aggregator.metrics_listen), "[::]:9560");
    snprintf(cfg.actuator.metrics_listen, sizeof(cfg.actuator.metrics_listen), "10.1.2.3:9553");
    scrape_target_t t[8];
    int n = scrape_targets(&cfg, t, 8);
    assert_int_equal(n, 4); /* the detector's is off */
    assert_string_equal(t[0].hostport, "127.0.0.1:9551");
    assert_string_equal(t[1].name, "aggregator/0");
    assert_string_equal(t[1].hostport, "[::1]:9560");
    assert_string_equal(t[2].hostport, "[::1]:9561");
    assert_string_equal(t[3].kind, "actuator");
    assert_string_equal(t[3].hostport, "10.1.2.3:9553");
    char *body = NULL, err[128];
    /* nothing listens on port 1 of loopback */
    assert_int_equal(scrape_get("127.0.0.1:1", "/metrics", 1000, &body, err, sizeof(err)), -1);
    assert_null(body);
    assert_int_equal(scrape_get("nocolon", "/metrics", 1000, &body, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_json_history_line),
        cmocka_unit_test(test_cli_json_refuses_bad_input),
        cmocka_unit_test(test_cli_json_writer_conventions),
        cmocka_unit_test(test_cli_duration),
        cmocka_unit_test(test_cli_scrape_text),
        cmocka_unit_test(test_cli_scrape_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
