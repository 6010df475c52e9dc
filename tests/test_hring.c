/* Unit tests: hring, the pools of held rates without flow identity. A
 * model keeps every hold with its true end; at every window close the pool's
 * held rate (the sum of the changes it reported) is checked against it:
 * never above the rates of the holds whose last window is in the current
 * slot or later, never negative, the amount (rate x windows) kept, and
 * nothing held once every hold is over. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aggregator/hring.h"

#define HOSTS 8
#define W0 17000000000ULL /* a window id */

typedef struct {
    double held[HOSTS][HR_CODES][2];
    int empty[HOSTS]; /* "holds nothing" reports */
} sink_t;

static void s_delta(uint32_t host, uint8_t code, float dpps, float dBps, void *arg)
{
    sink_t *s = arg;
    assert_true(host < HOSTS);
    if (host >= HOSTS)
        return;
    if (code == HR_CODES) {
        s->empty[host]++;
        return;
    }
    s->held[host][code][0] += dpps;
    s->held[host][code][1] += dBps;
}

/* hr_hold, and on success the rate added to the sink as the caller does. */
static int s_hold(hr_t *hr, uint32_t host, uint8_t code, float pps, float Bps, uint64_t open,
                  uint64_t last, sink_t *s)
{
    int rc = hr_hold(hr, host, code, pps, Bps, open, last, s_delta, s);
    if (rc == 0)
        s_delta(host, code, pps, Bps, s);
    return rc;
}

static double s_host_pps(const sink_t *s, uint32_t h)
{
    double p = 0;
    for (int c = 0; c < HR_CODES; c++)
        p += s->held[h][c][0];
    return p;
}

static void test_hring_slot_width(void **state)
{
    (void)state;
    /* 30 slots span the longest hold, in whole windows, at most 63 */
    assert_int_equal(hr_slot_windows(600), 20);  /* 120 s of 200 ms */
    assert_int_equal(hr_slot_windows(1200), 40); /* 120 s of 100 ms */
    assert_int_equal(hr_slot_windows(80), 3);
    assert_int_equal(hr_slot_windows(1), 1);
    assert_int_equal(hr_slot_windows(18000), HR_MAX_SLOT_WINDOWS);
    for (uint64_t w = 1; w <= 1890; w++)
        assert_true(hr_max_windows(hr_slot_windows(w)) >= w);
}

/* One hold: held from its open window through its last, then nothing,
 * the block back in the pool; a steady stream of two-window holds shows
 * twice their rate in every window, no less (the short holds are exact). */
static void test_hring_one_hold(void **state)
{
    (void)state;
    sink_t s = {0};
    hr_t *hr = hr_new(HOSTS, 16, hr_slot_windows(80));
    assert_non_null(hr);
    assert_int_equal(s_hold(hr, 3, 2, 1000, 50000, W0, W0 + 49, &s), 0);
    assert_true(hr_holds(hr, 3));
    assert_int_equal(hr_blocks(hr), 1);
    int windows = 0;
    for (uint64_t w = W0; w < W0 + 100; w++) {
        if (fabs(s.held[3][2][0] - 1000) < 0.01)
            windows++;
        else
            assert_true(fabs(s.held[3][2][0]) < 0.01);
        hr_advance(hr, w, s_delta, &s);
    }
    assert_int_equal(windows, 50);
    assert_float_equal(s.held[3][2][1], 0, 0.01);
    assert_false(hr_holds(hr, 3));
    assert_int_equal(hr_blocks(hr), 0);
    assert_int_equal(s.empty[3], 1);
    for (uint64_t w = W0 + 100; w < W0 + 200; w++) {
        for (int k = 0; k < 30; k++)
            assert_int_equal(s_hold(hr, 4, 0, 150, 0, w, w + 1, &s), 0);
        if (w > W0 + 100)
            assert_float_equal(s.held[4][0][0], 9000, 0.1);
        hr_advance(hr, w, s_delta, &s);
    }
    hr_destroy(&hr);
    assert_null(hr);
    hr_destroy(&hr); /* idempotent */
}

typedef struct {
    uint32_t host;
    uint8_t code;
    float pps;
    uint64_t open, last;
} hold_t;

/* Random holds of 1 to 80 windows on random hosts and codes, each
 * window: the pool never holds more than the holds whose last window is in
 * the current slot or later, never less than zero, keeps the amount (rate x
 * windows) within 1 %, and holds nothing at the end. */
static void test_hring_model(void **state)
{
    (void)state;
    enum { N = 20000 };
    uint32_t gw = hr_slot_windows(80);
    hold_t *h = calloc(N, sizeof(*h));
    sink_t s = {0};
    hr_t *hr = hr_new(HOSTS, 64, gw);
    assert_non_null(h);
    assert_non_null(hr);
    uint64_t x = 0x9e3779b97f4a7c15ULL, n = 0;
    double amount_true = 0, amount_held = 0;
    for (uint64_t w = W0; w < W0 + 400; w++) {
        for (int k = 0; k < 50 && w < W0 + 300; k++) { /* holds arrive during 300 windows */
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            hold_t *o = &h[n++];
            o->host = (uint32_t)(x % HOSTS);
            o->code = (uint8_t)((x >> 8) % HR_CODES);
            o->pps = (float)(1 + (x >> 16) % 1000);
            o->open = w;
            o->last = w + (x >> 40) % 80;
            assert_int_equal(
                s_hold(hr, o->host, o->code, o->pps, 0, o->open, o->last, &s), 0);
            amount_true += o->pps * (double)(o->last - o->open + 1);
        }
        uint64_t slot_start = w / gw * gw;
        for (uint32_t host = 0; host < HOSTS; host++) {
            double bound = 0, p = s_host_pps(&s, host);
            for (uint64_t i = 0; i < n; i++)
                if (h[i].host == host && h[i].last >= slot_start)
                    bound += h[i].pps;
            assert_true(p >= -0.01);
            assert_true(p <= bound * 1.0001 + 0.01);
            amount_held += p;
        }
        hr_advance(hr, w, s_delta, &s);
    }
    print_message("amount held %.0f, true %.0f (%.5f)\n", amount_held, amount_true,
                  amount_held / amount_true);
    assert_true(fabs(amount_held - amount_true) / amount_true < 0.01);
    for (uint32_t host = 0; host < HOSTS; host++) {
        assert_float_equal(s_host_pps(&s, host), 0, 0.5);
        assert_false(hr_holds(hr, host));
    }
    assert_int_equal(hr_blocks(hr), 0);
    hr_destroy(&hr);
    free(h);
}

/* A full pool refuses (nothing changed) and has room again once holds end;
 * bad arguments are refused; a jump in time ends everything. */
static void test_hring_full_and_refusals(void **state)
{
    (void)state;
    sink_t s = {0};
    uint32_t gw = hr_slot_windows(80);
    hr_t *hr = hr_new(HOSTS, 4, gw);
    for (uint32_t host = 0; host < 4; host++)
        assert_int_equal(s_hold(hr, host, 0, 10, 10, W0, W0 + 20, &s), 0);
    assert_int_equal(s_hold(hr, 1, 0, 10, 10, W0, W0 + 30, &s), 0); /* its block */
    assert_int_equal(s_hold(hr, 4, 0, 10, 10, W0, W0 + 20, &s), -1);
    assert_int_equal(s_hold(hr, 1, 3, 10, 10, W0, W0 + 20, &s), -1);
    assert_float_equal(s_host_pps(&s, 4), 0, 0);
    assert_int_equal(hr_room(hr), 0);
    /* out of range: host, code, last before open or beyond the span, NaN */
    assert_int_equal(s_hold(hr, HOSTS, 0, 1, 1, W0, W0, &s), -1);
    assert_int_equal(s_hold(hr, 0, HR_CODES, 1, 1, W0, W0, &s), -1);
    assert_int_equal(s_hold(hr, 0, 0, 1, 1, W0, W0 - 1, &s), -1);
    assert_int_equal(s_hold(hr, 0, 0, 1, 1, W0, W0 + hr_max_windows(gw), &s), -1);
    assert_int_equal(s_hold(hr, 0, 0, NAN, 1, W0, W0, &s), -1);
    assert_int_equal(s_hold(hr, 0, 0, 1, -1, W0, W0, &s), -1);
    for (uint64_t w = W0; w <= W0 + 30; w++)
        hr_advance(hr, w, s_delta, &s);
    assert_int_equal(hr_room(hr), 4);
    assert_int_equal(s_hold(hr, 4, 0, 10, 10, W0 + 31, W0 + 80, &s), 0);
    assert_int_equal(s_hold(hr, 5, 1, 10, 10, W0 + 31, W0 + 35, &s), 0);
    hr_advance(hr, W0 + 6000, s_delta, &s); /* 10 min later */
    assert_int_equal(hr_blocks(hr), 0);
    assert_float_equal(s_host_pps(&s, 4), 0, 0.01);
    assert_float_equal(s_host_pps(&s, 5), 0, 0.01);
    /* and it goes on from there */
    assert_int_equal(s_hold(hr, 6, 0, 10, 10, W0 + 6001, W0 + 6010, &s), 0);
    for (uint64_t w = W0 + 6001; w <= W0 + 6010; w++) {
        assert_float_equal(s_host_pps(&s, 6), 10, 0.01);
        hr_advance(hr, w, s_delta, &s);
    }
    assert_int_equal(hr_blocks(hr), 0);
    hr_destroy(&hr);
    assert_null(hr_new(HOSTS, 4, HR_MAX_SLOT_WINDOWS + 1));
    assert_null(hr_new(0, 4, 3));
}

/* Heads in the caller's memory (hr_set_heads, every stride bytes): the
 * same changes as a pool with heads of its own for the same random holds,
 * window by window; the heads are set while a host holds and 0 after; the
 * bytes around them are never written. */
typedef struct {
    uint64_t before;
    uint32_t head[2];
    uint32_t after;
    uint8_t pad[12];
} host_mem_t;

static void test_hring_heads_in_caller_memory(void **state)
{
    (void)state;
    sink_t a = {0}, b = {0};
    uint32_t gw = hr_slot_windows(80);
    hr_t *own = hr_new(HOSTS, 64, gw), *ext = hr_new(HOSTS, 64, gw);
    assert_non_null(own);
    assert_non_null(ext);
    host_mem_t mem[HOSTS];
    memset(mem, 0xa5, sizeof(mem));
    for (int h = 0; h < HOSTS; h++)
        mem[h].head[0] = mem[h].head[1] = 0;
    hr_set_heads(ext, mem[0].head, sizeof(mem[0]));
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (uint64_t w = W0; w < W0 + 300; w++) {
        for (int k = 0; w < W0 + 200 && k < 6; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            uint32_t host = (uint32_t)(x % (HOSTS - 1)); /* the last host never holds */
            uint8_t code = (uint8_t)(x >> 8) % HR_CODES;
            uint64_t last = w + (x >> 16) % 80;
            float pps = (float)(1 + (x >> 40) % 1000);
            hr_prefetch_first(ext, host, last); /* a hint: changes nothing */
            assert_int_equal(s_hold(own, host, code, pps, 8 * pps, w, last, &a),
                             s_hold(ext, host, code, pps, 8 * pps, w, last, &b));
        }
        hr_advance(own, w, s_delta, &a);
        hr_advance(ext, w, s_delta, &b);
        assert_memory_equal(&a, &b, sizeof(a));
        for (uint32_t h = 0; h < HOSTS; h++) {
            assert_int_equal(hr_holds(own, h), hr_holds(ext, h));
            assert_int_equal(mem[h].head[0] != 0, hr_holds(ext, h));
            assert_int_equal(mem[h].before, 0xa5a5a5a5a5a5a5a5ULL);
            assert_int_equal(mem[h].after, 0xa5a5a5a5u);
        }
        if (w == W0 + 100)
            assert_true(hr_blocks(ext) > 5);
    }
    assert_int_equal(hr_blocks(ext), 0);
    for (uint32_t h = 0; h < HOSTS; h++) {
        assert_int_equal(mem[h].head[0], 0);
        assert_int_equal(mem[h].head[1], 0);
    }
    hr_destroy(&own);
    hr_destroy(&ext);
}

/* A gap longer than any hold ends the rates of every pending slot, the
 * farthest one too, and of every fine bucket: nothing held, every block
 * back, the host told once. */
static void test_hring_gap_ends_every_slot(void **state)
{
    (void)state;
    sink_t s = {0};
    uint32_t gw = hr_slot_windows(80);
    uint64_t span = hr_max_windows(gw);
    hr_t *hr = hr_new(HOSTS, 16, gw);
    assert_non_null(hr);
    hr_advance(hr, W0 - 1, s_delta, &s);
    for (uint64_t d = 0; d < span; d++)
        assert_int_equal(s_hold(hr, 2, (uint8_t)(d % 2), 1, 0, W0, W0 + d, &s), 0);
    /* an open window ahead of the last closed one: the farthest slot */
    assert_int_equal(s_hold(hr, 2, 4, 1, 0, W0 + 2 * gw, W0 + 2 * gw + span - 1, &s), 0);
    assert_float_equal(s_host_pps(&s, 2), (double)span + 1, 0.01);
    assert_int_equal(hr_blocks(hr), 3);
    hr_advance(hr, W0 + 10 * span, s_delta, &s);
    assert_float_equal(s_host_pps(&s, 2), 0, 0.01);
    assert_false(hr_holds(hr, 2));
    assert_int_equal(hr_blocks(hr), 0);
    assert_int_equal(s.empty[2], 1);
    hr_destroy(&hr);
}

/* A slot whose number is a multiple of 2^32 - 1 (where a 32-bit tag
 * wraps): its hold counts like any other; the host keeps its block while a
 * later hold is pending, and gives it back after. */
static void test_hring_slot_number_wrap(void **state)
{
    (void)state;
    sink_t s = {0};
    uint32_t gw = hr_slot_windows(80);
    uint64_t k = 0xffffffffULL, w = k * gw; /* slot k's first window */
    hr_t *hr = hr_new(HOSTS, 16, gw);
    assert_non_null(hr);
    hr_advance(hr, w - 11, s_delta, &s);
    assert_int_equal(s_hold(hr, 1, 0, 100, 0, w - 10, w + 1, &s), 0);
    assert_int_equal(s_hold(hr, 1, 0, 7, 0, w - 10, w + 10 * gw, &s), 0);
    for (uint64_t c = w - 10; c <= w + gw; c++)
        hr_advance(hr, c, s_delta, &s);
    assert_true(hr_holds(hr, 1));
    assert_int_equal(hr_blocks(hr), 1);
    assert_float_equal(s_host_pps(&s, 1), 7, 0.01);
    for (uint64_t c = w + gw + 1; c <= w + 12 * gw; c++)
        hr_advance(hr, c, s_delta, &s);
    assert_false(hr_holds(hr, 1));
    assert_int_equal(hr_blocks(hr), 0);
    assert_float_equal(s_host_pps(&s, 1), 0, 0.01);
    hr_destroy(&hr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hring_slot_width),
        cmocka_unit_test(test_hring_one_hold),
        cmocka_unit_test(test_hring_model),
        cmocka_unit_test(test_hring_full_and_refusals),
        cmocka_unit_test(test_hring_heads_in_caller_memory),
        cmocka_unit_test(test_hring_gap_ends_every_slot),
        cmocka_unit_test(test_hring_slot_number_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
