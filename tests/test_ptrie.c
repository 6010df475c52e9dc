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
    static const uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                     0,    0,    0,    0,    0xde, 0xad, 0xbe, 0xef};
    assert_memory_equal(b, want, 16); /* every byte, in network order */
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

/* ---- against a linear scan: lookups skip chains of one-child nodes, so
 * every shape of trie (nested, forking, inserted in any order, values
 * replaced) must give what the longest matching prefix gives ---- */

#define REF_MAX 600

typedef struct {
    fg_prefix_t p[REF_MAX];
    int v[REF_MAX];
    int n;
} ref_t;

static uint64_t s_rng = 88172645463325252ULL;
static uint64_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static bool s_in(const fg_prefix_t *p, const fg_addr_t *a)
{
    for (unsigned i = 0; i < p->len; i++) {
        unsigned x = i < 64 ? (unsigned)(a->hi >> (63 - i)) & 1 : (unsigned)(a->lo >> (127 - i)) & 1;
        unsigned y = i < 64 ? (unsigned)(p->addr.hi >> (63 - i)) & 1
                            : (unsigned)(p->addr.lo >> (127 - i)) & 1;
        if (x != y)
            return false;
    }
    return true;
}

static int s_ref_lookup(const ref_t *r, const fg_addr_t *a)
{
    int best = -1, len = -1;
    for (int i = 0; i < r->n; i++)
        if ((int)r->p[i].len > len && s_in(&r->p[i], a))
            best = r->v[i], len = r->p[i].len;
    return best;
}

static void s_ref_insert(ref_t *r, ptrie_t *t, const fg_prefix_t *p, int v)
{
    assert_int_equal(ptrie_insert(t, p, v), 0);
    for (int i = 0; i < r->n; i++)
        if (r->p[i].len == p->len && s_in(&r->p[i], &p->addr) && s_in(p, &r->p[i].addr)) {
            r->v[i] = v;
            return;
        }
    r->p[r->n] = *p;
    r->v[r->n++] = v;
}

/* An address near one of four bases (so prefixes nest and fork), v4 or v6. */
static fg_addr_t s_near(void)
{
    static const fg_addr_t base[4] = {{0, 0x0000ffff0a000000ULL},
                                      {0, 0x0000ffffc0a80100ULL},
                                      {0x20010db800000000ULL, 0},
                                      {0, 0}};
    fg_addr_t a = base[s_rand() % 4];
    unsigned flip = (unsigned)(s_rand() % 128), flips = (unsigned)(s_rand() % 3);
    for (unsigned k = 0; k < flips; k++, flip = (unsigned)(s_rand() % 128))
        if (flip >= 96 || !fg_addr_is_v4(&a)) {
            if (flip < 64)
                a.hi ^= 1ULL << (63 - flip);
            else
                a.lo ^= 1ULL << (127 - flip);
        }
    return a;
}

static void test_ptrie_matches_linear_scan(void **state)
{
    (void)state;
    static ref_t r;
    for (int round = 0; round < 20; round++) {
        ptrie_t *t = ptrie_new();
        r.n = 0;
        int want = 5 + (int)(s_rand() % (REF_MAX - 5));
        for (int k = 0; k < want; k++) {
            fg_prefix_t p = {s_near(), 0};
            p.len = (uint8_t)(fg_addr_is_v4(&p.addr) ? 96 + s_rand() % 33 : s_rand() % 129);
            fg_prefix_t q = p; /* mask it */
            for (unsigned i = p.len; i < 128; i++) {
                if (i < 64)
                    q.addr.hi &= ~(1ULL << (63 - i));
                else
                    q.addr.lo &= ~(1ULL << (127 - i));
            }
            s_ref_insert(&r, t, &q, (int)(s_rand() % 1000));
            for (int j = 0; j < 8; j++) {
                fg_addr_t a = j == 0 ? q.addr : s_near();
                assert_int_equal(ptrie_lookup(t, &a), s_ref_lookup(&r, &a));
            }
        }
        assert_int_equal(ptrie_size(t), (size_t)r.n);
        ptrie_destroy(&t);
    }
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
        cmocka_unit_test(test_ptrie_matches_linear_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
