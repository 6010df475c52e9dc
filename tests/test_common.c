/* Unit tests: the small shared helpers of common/: the growable buffer
 * (fgbuf), host:port splitting, the table of traffic classes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/addr.h"
#include "common/classes.h"
#include "common/fgbuf.h"
#include "common/fgjson.h"

/* Appends grow it, keep it NUL-terminated, reset keeps the memory. */
static void test_common_buf_grows(void **state)
{
    (void)state;
    fg_buf_t b;
    fg_buf_init(&b, 0);
    assert_null(b.data);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(fg_buf_append(&b, "abcdefghij", 10), 0);
    assert_int_equal(b.len, 10000);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[b.len], '\0');
    assert_int_equal(strncmp(b.data + 9990, "abcdefghij", 10), 0);
    size_t cap = b.cap;
    fg_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.data, "");
    assert_int_equal(fg_buf_append(&b, "", 0), 0);
    assert_int_equal(fg_buf_reserve(&b, 5), 0);
    assert_string_equal(b.data, "");
    fg_buf_free(&b);
    assert_null(b.data);
    fg_buf_free(&b); /* idempotent */
}

/* A bounded buffer refuses what would pass max, keeps what it has, and
 * stays failed until reset. */
static void test_common_buf_bounded(void **state)
{
    (void)state;
    fg_buf_t b;
    fg_buf_init(&b, 8);
    assert_int_equal(fg_buf_append(&b, "12345", 5), 0);
    assert_int_equal(fg_buf_append(&b, "6789", 4), -1);
    assert_true(b.failed);
    assert_string_equal(b.data, "12345");
    assert_int_equal(fg_buf_append(&b, "6", 1), -1); /* failed: nothing more */
    fg_buf_reset(&b);
    assert_false(b.failed);
    assert_int_equal(fg_buf_append(&b, "12345678", 8), 0);
    assert_int_equal(fg_buf_reserve(&b, 1), -1);
    assert_int_equal(fg_buf_reserve(&b, SIZE_MAX), -1);
    fg_buf_free(&b);
    assert_int_equal(b.max, 8);
    fg_buf_init(&b, 0);
    assert_int_equal(fg_buf_reserve(&b, SIZE_MAX - 2), -1); /* no overflow */
    fg_buf_free(&b);
}

/* Arrays of structs grow by doubling from first, keep their content, and
 * refuse a size that would overflow. */
static void test_common_array_grow(void **state)
{
    (void)state;
    struct item {
        int a;
        double b;
    } *arr = NULL;
    size_t cap = 0;
    assert_int_equal(fg_array_grow(&arr, &cap, 1, sizeof(*arr), 4), 0);
    assert_int_equal(cap, 4);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(fg_array_grow(&arr, &cap, (size_t)i + 1, sizeof(*arr), 4), 0);
        arr[i].a = i;
    }
    assert_int_equal(cap, 128);
    assert_int_equal(arr[99].a, 99);
    assert_int_equal(arr[0].a, 0);
    assert_int_equal(fg_array_grow(&arr, &cap, 10, sizeof(*arr), 4), 0); /* no shrink */
    assert_int_equal(cap, 128);
    struct item *keep = arr;
    assert_int_equal(fg_array_grow(&arr, &cap, SIZE_MAX / 2, sizeof(*arr), 4), -1);
    assert_ptr_equal(arr, keep);
    assert_int_equal(cap, 128);
    free(arr);
}

/* host:port in every form the config takes; bad ports and overlong hosts
 * refused. */
static void test_common_hostport_split(void **state)
{
    (void)state;
    char host[16];
    uint16_t port = 0;
    assert_int_equal(fg_hostport_split("192.0.2.1:2055", host, sizeof(host), &port), 0);
    assert_string_equal(host, "192.0.2.1");
    assert_int_equal(port, 2055);
    assert_int_equal(fg_hostport_split("[2001:db8::1]:179", host, sizeof(host), &port), 0);
    assert_string_equal(host, "2001:db8::1");
    assert_int_equal(port, 179);
    assert_int_equal(fg_hostport_split("[::]:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::");
    assert_int_equal(port, 0);
    assert_int_equal(fg_hostport_split(":9560", host, sizeof(host), &port), 0);
    assert_string_equal(host, "");
    assert_int_equal(fg_hostport_split("*:65535", host, sizeof(host), &port), 0);
    assert_string_equal(host, "*");
    assert_int_equal(port, 65535);
    static const char *bad[] = {"noport", "h:", "h:65536", "h:-1", "h:12x", "h: 1",
                                "averyveryverylonghost:1", "h:99999999999999999999", NULL};
    for (int i = 0; bad[i]; i++) {
        if (fg_hostport_split(bad[i], host, sizeof(host), &port) == 0)
            fail_msg("accepted %s", bad[i]);
        assert_string_equal(host, "");
    }
    assert_int_equal(fg_hostport_split(NULL, host, sizeof(host), &port), -1);
}

/* Each class reaches its own HostWindow field, under the names the
 * thresholds' metrics and `top --json` use. */
static void test_common_classes_table(void **state)
{
    (void)state;
    Floodgate__HostWindow hw = FLOODGATE__HOST_WINDOW__INIT;
    Floodgate__Rates r[FG_CLASSES];
    for (int c = 0; c < FG_CLASSES; c++) {
        floodgate__rates__init(&r[c]);
        r[c].pps = c + 1;
        *fg_class_field(&hw, c) = &r[c];
    }
    assert_ptr_equal(hw.total, &r[FG_CLS_TOTAL]);
    assert_ptr_equal(hw.tcp_syn, &r[FG_CLS_TCP_SYN]);
    assert_ptr_equal(hw.other, &r[FG_CLS_OTHER]);
    assert_true(fg_class_rates(&hw, FG_CLS_UDP)->pps == FG_CLS_UDP + 1);
    assert_null(fg_class_rates(&hw, FG_CLASSES));
    assert_null(fg_class_rates(NULL, 0));
    assert_null(fg_class_field(&hw, -1));
    assert_string_equal(fg_class_name(FG_CLS_TCP_SYN), "tcp_syn");
    assert_string_equal(fg_class_metric(FG_CLS_TOTAL, 1), "mbps");
    assert_string_equal(fg_class_metric(FG_CLS_FRAG, 2), "frag_flows");
    assert_null(fg_class_metric(FG_CLS_FRAG, 3));
    assert_null(fg_class_name(FG_CLASSES));
}

/* Found by fuzz_ban_hash: text that is not UTF-8 but looks like it to a
 * loose check (overlong forms, surrogates, above U+10FFFF) made
 * fgjson_str fail, so a ban whose details held it had no history line.
 * Each line of the fixture becomes a JSON string with '?' for what is not
 * UTF-8, the rest kept. */
static void test_common_json_str_not_utf8(void **state)
{
    (void)state;
    char line[256];
    int n = 0;
    FILE *f = fopen("tests/data/fuzz/ban_details_utf8.txt", "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        json_t *v = fgjson_str(line);
        assert_non_null(v);
        assert_non_null(strchr(json_string_value(v), '?'));
        json_decref(v);
        n++;
    }
    fclose(f);
    assert_int_equal(n, 5);
    json_t *ok = fgjson_str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"); /* valid: kept */
    assert_string_equal(json_string_value(ok), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    json_decref(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_buf_grows),
        cmocka_unit_test(test_common_buf_bounded),
        cmocka_unit_test(test_common_array_grow),
        cmocka_unit_test(test_common_hostport_split),
        cmocka_unit_test(test_common_classes_table),
        cmocka_unit_test(test_common_json_str_not_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
