/* Unit tests: the CLI's readers of untrusted text: jsonr (history lines and
 * ban details from Redis) and scrape (Prometheus text from the daemons). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/jsonr.h"
#include "cli/scrape.h"

static void test_cli_jsonr_history_line(void **state)
{
    (void)state;
    const char *line =
        "{\"event\":\"ban\",\"ip\":\"10.0.0.5\",\"value\":47694.08,\"ban_count\":2,"
        "\"ok\":true,\"none\":null,\"details\":{\"total\":{\"pps\":6e4,\"bps\":-1.5E2},"
        "\"top\":[{\"kind\":\"proto\",\"key\":\"17\",\"share\":1}]},"
        "\"esc\":\"a\\\"b\\\\c\\n\\u00e9\\u0041\"}";
    jr_t *v = jr_parse(line);
    assert_non_null(v);
    assert_int_equal(v->type, JR_OBJ);
    assert_string_equal(jr_str(v, "event", ""), "ban");
    assert_true(jr_num(v, "value", 0) == 47694.08);
    assert_true(jr_num(v, "ban_count", 0) == 2);
    assert_int_equal(jr_get(v, "ok")->type, JR_BOOL);
    assert_int_equal(jr_get(v, "none")->type, JR_NULL);
    const jr_t *tot = jr_get(jr_get(v, "details"), "total");
    assert_true(jr_num(tot, "pps", 0) == 60000);
    assert_true(jr_num(tot, "bps", 0) == -150);
    const jr_t *top = jr_get(jr_get(v, "details"), "top");
    assert_int_equal(top->type, JR_ARR);
    assert_int_equal(top->n, 1);
    assert_string_equal(jr_str(top->items[0], "key", ""), "17");
    assert_string_equal(jr_str(v, "esc", ""), "a\"b\\c\n\xc3\xa9" "A");
    /* absent or mistyped members give the default */
    assert_string_equal(jr_str(v, "value", "def"), "def");
    assert_true(jr_num(v, "nope", -7) == -7);
    assert_null(jr_get(NULL, "x"));
    jr_free(v);
    jr_free(NULL);
}

static void test_cli_jsonr_refuses_bad_input(void **state)
{
    (void)state;
    const char *bad[] = {"", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "[1 2]", "\"abc",
                         "{\"a\":1} x", "tru", "{\"a\":\"\x01\"}", "\"\\x\"", "\"\\u12G4\"",
                         "{1:2}", "-", NULL};
    for (int i = 0; bad[i]; i++) {
        jr_t *v = jr_parse(bad[i]);
        if (v)
            fail_msg("parsed bad JSON: %s", bad[i]);
    }
    assert_null(jr_parse(NULL));
    /* nesting is capped */
    char deep[200];
    memset(deep, '[', sizeof(deep) - 1);
    deep[sizeof(deep) - 1] = '\0';
    assert_null(jr_parse(deep));
    char ok[2 * JSONR_MAX_DEPTH + 1];
    memset(ok, '[', JSONR_MAX_DEPTH);
    memset(ok + JSONR_MAX_DEPTH, ']', JSONR_MAX_DEPTH);
    ok[2 * JSONR_MAX_DEPTH] = '\0';
    jr_t *v = jr_parse(ok);
    assert_non_null(v);
    jr_free(v);
    v = jr_parse("  [ ]  ");
    assert_non_null(v);
    assert_int_equal(v->n, 0);
    jr_free(v);
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
        cmocka_unit_test(test_cli_jsonr_history_line),
        cmocka_unit_test(test_cli_jsonr_refuses_bad_input),
        cmocka_unit_test(test_cli_scrape_text),
        cmocka_unit_test(test_cli_scrape_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
