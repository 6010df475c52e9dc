/* Unit tests: addresses, prefixes and longest-prefix match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/addr.h"
#include "common/ptrie.h"

static fg_addr_t A(const char *s)
{
    fg_addr_t a;
    assert_int_equal(fg_addr_parse(s, &a), 0);
    return a;
}

static void P(ptrie_t *t, const char *s, int v)
{
    fg_prefix_t p;
    const char *why = NULL;
    assert_int_equal(fg_prefix_parse(s, &p, &why), 0);
    assert_int_equal(ptrie_insert(t, &p, v), 0);
}

static void test_addr_roundtrip(void **state)
{
    (void)state;
    const char *cases[] = {"10.0.0.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::1",
                           "2001:db8:100:ffff::abcd"};
    char buf[FG_ADDR_STRLEN];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fg_addr_t a = A(cases[i]);
        assert_string_equal(fg_addr_format(&a, buf), cases[i]);
    }
    fg_addr_t v4 = A("10.1.2.3");
    assert_true(fg_addr_is_v4(&v4));
    assert_int_equal(fg_addr_v4(&v4), 0x0a010203);
    fg_addr_t v6 = A("2001:db8::1");
    assert_false(fg_addr_is_v4(&v6));
    assert_int_not_equal(fg_addr_parse("10.0.0.256", &v4), 0);
    assert_int_not_equal(fg_addr_parse("", &v4), 0);
    assert_int_not_equal(fg_addr_parse("2001:db8:::1", &v4), 0);
}

static void test_addr_bytes16(void **state)
{
    (void)state;
    uint8_t b[16];
    fg_addr_t a = A("2001:db8::dead:beef");
    fg_addr_to_bytes16(&a, b);
    assert_int_equal(b[0], 0x20);
    assert_int_equal(b[1], 0x01);
    assert_int_equal(b[15], 0xef);
    fg_addr_t back = fg_addr_from_bytes16(b);
    assert_true(fg_addr_eq(&a, &back));
}

static void test_prefix_parse_errors(void **state)
{
    (void)state;
    fg_prefix_t p;
    const char *why = NULL;
    assert_int_equal(fg_prefix_parse("10.0.0.0/8", &p, &why), 0);
    assert_int_equal(p.len, 104);
    assert_int_equal(fg_prefix_parse("10.0.0.1", &p, &why), 0);
    assert_int_equal(p.len, 128);
    assert_int_equal(fg_prefix_parse("2001:db8::/32", &p, &why), 0);
    assert_int_equal(p.len, 32);
    assert_int_equal(fg_prefix_parse("10.0.0.1/8", &p, &why), -1);
    assert_non_null(strstr(why, "host bits"));
    assert_int_equal(fg_prefix_parse("10.0.0.0/33", &p, &why), -1);
    assert_int_equal(fg_prefix_parse("2001:db8::/129", &p, &why), -1);
    assert_int_equal(fg_prefix_parse("10.0.0.0/", &p, &why), -1);
    assert_int_equal(fg_prefix_parse("10.0.0.0/x", &p, &why), -1);
    assert_int_equal(fg_prefix_parse("foo/8", &p, &why), -1);
    assert_int_equal(fg_prefix_parse("/8", &p, &why), -1);
    char buf[FG_PREFIX_STRLEN];
    assert_int_equal(fg_prefix_parse("192.168.0.0/16", &p, &why), 0);
    assert_string_equal(fg_prefix_format(&p, buf), "192.168.0.0/16");
    assert_int_equal(fg_prefix_parse("2001:db8::/32", &p, &why), 0);
    assert_string_equal(fg_prefix_format(&p, buf), "2001:db8::/32");
}

static void test_ptrie_longest_match(void **state)
{
    (void)state;
    ptrie_t *t = ptrie_new();
    assert_non_null(t);
    P(t, "10.0.0.0/8", 1);
    P(t, "10.1.0.0/16", 2);
    P(t, "10.1.2.3/32", 3);
    P(t, "2001:db8::/32", 4);
    P(t, "2001:db8:1::/48", 5);
    fg_addr_t a;
    a = A("10.2.3.4");
    assert_int_equal(ptrie_lookup(t, &a), 1);
    a = A("10.1.9.9");
    assert_int_equal(ptrie_lookup(t, &a), 2);
    a = A("10.1.2.3");
    assert_int_equal(ptrie_lookup(t, &a), 3);
    a = A("10.1.2.4");
    assert_int_equal(ptrie_lookup(t, &a), 2);
    a = A("11.0.0.1");
    assert_int_equal(ptrie_lookup(t, &a), -1);
    a = A("2001:db8:1::5");
    assert_int_equal(ptrie_lookup(t, &a), 5);
    a = A("2001:db8:2::5");
    assert_int_equal(ptrie_lookup(t, &a), 4);
    a = A("2001:db9::1");
    assert_int_equal(ptrie_lookup(t, &a), -1);
    assert_int_equal(ptrie_size(t), 5);
    ptrie_destroy(&t);
    assert_null(t);
    ptrie_destroy(&t); /* idempotent */
}

static void test_ptrie_default_routes(void **state)
{
    (void)state;
    ptrie_t *t = ptrie_new();
    fg_addr_t v4 = A("198.51.100.7"), v6 = A("2001:db8::7");
    assert_int_equal(ptrie_lookup(t, &v4), -1);
    P(t, "0.0.0.0/0", 7); /* covers all IPv4, not IPv6 */
    assert_int_equal(ptrie_lookup(t, &v4), 7);
    assert_int_equal(ptrie_lookup(t, &v6), -1);
    P(t, "::/0", 9); /* covers everything */
    assert_int_equal(ptrie_lookup(t, &v6), 9);
    assert_int_equal(ptrie_lookup(t, &v4), 7);
    fg_prefix_t p;
    const char *why;
    fg_prefix_parse("0.0.0.0/0", &p, &why);
    assert_int_equal(ptrie_exact(t, &p), 7);
    fg_prefix_parse("10.0.0.0/8", &p, &why);
    assert_int_equal(ptrie_exact(t, &p), -1);
    P(t, "0.0.0.0/0", 8); /* reinsert replaces */
    assert_int_equal(ptrie_lookup(t, &v4), 8);
    assert_int_equal(ptrie_size(t), 2);
    ptrie_destroy(&t);
}

static void test_ptrie_many_prefixes(void **state)
{
    (void)state;
    ptrie_t *t = ptrie_new();
    char buf[64];
    for (int i = 0; i < 4096; i++) {
        snprintf(buf, sizeof(buf), "10.%d.%d.0/24", i / 256, i % 256);
        P(t, buf, i);
    }
    for (int i = 0; i < 4096; i += 97) {
        snprintf(buf, sizeof(buf), "10.%d.%d.77", i / 256, i % 256);
        fg_addr_t a = A(buf);
        assert_int_equal(ptrie_lookup(t, &a), i);
    }
    fg_addr_t out = A("10.16.0.1");
    assert_int_equal(ptrie_lookup(t, &out), -1);
    ptrie_destroy(&t);
}

/* ptrie_overlaps: a prefix inside the one asked about, or one holding it. */
static bool s_overlaps(const ptrie_t *t, const char *s)
{
    fg_prefix_t p;
    const char *why = NULL;
    assert_int_equal(fg_prefix_parse(s, &p, &why), 0);
    return ptrie_overlaps(t, &p);
}

static void test_ptrie_overlaps(void **state)
{
    (void)state;
    ptrie_t *t = ptrie_new();
    assert_non_null(t);
    assert_false(s_overlaps(t, "10.0.0.0/24")); /* empty: the v4 root's path holds nothing */
    P(t, "10.0.0.53/32", 1);
    P(t, "2001:db8::/48", 1);
    assert_true(s_overlaps(t, "10.0.0.0/24"));
    assert_true(s_overlaps(t, "10.0.0.0/8"));
    assert_true(s_overlaps(t, "10.0.0.53/32"));
    assert_false(s_overlaps(t, "10.0.1.0/24"));
    assert_false(s_overlaps(t, "10.0.0.0/27")); /* .0-.31 */
    assert_true(s_overlaps(t, "2001:db8::1/128")); /* held by the /48 */
    assert_true(s_overlaps(t, "2001:db8::/32"));
    assert_false(s_overlaps(t, "2001:db9::/64"));
    ptrie_destroy(&t);
}

static void test_addr_hash_spreads(void **state)
{
    (void)state;
    int buckets[4] = {0};
    for (uint32_t i = 0; i < 4000; i++) {
        fg_addr_t a = fg_addr_from_v4(0x0a000000 + i);
        buckets[fg_addr_hash(&a) % 4]++;
    }
    for (int i = 0; i < 4; i++)
        assert_in_range(buckets[i], 850, 1150);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_roundtrip),      cmocka_unit_test(test_addr_bytes16),
        cmocka_unit_test(test_prefix_parse_errors), cmocka_unit_test(test_ptrie_longest_match),
        cmocka_unit_test(test_ptrie_default_routes), cmocka_unit_test(test_ptrie_many_prefixes),
        cmocka_unit_test(test_addr_hash_spreads), cmocka_unit_test(test_ptrie_overlaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
