/* Unit tests: the small shared helpers of common/: the growable buffer
 * (fgbuf). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/fgbuf.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_buf_grows),
        cmocka_unit_test(test_common_buf_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
