/* Unit tests: detector thresholds, whitelist, attack state (BAN, ONGOING,
 * end), window sequence, and attack classification. Decisions are captured
 * through the emit callback; time is given explicitly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/window.h"

#include "common/classes.h"
#include "common/config.h"
#include "common/decision.h"
#include "detector/attack.h"
#include "detector/classify.h"
#include "detector/detect.h"
#include "tests/harness.h"

#define T0 1700000000000ULL

static char *s_dir;
static fg_config_t *s_cfg;

/* What the emit callback saw. */
typedef struct {
    fg_addr_t addr;
    Floodgate__Action action;
    char attack_type[64], metric[16], hostgroup[FG_NAME_MAX];
    double value, threshold, pps;
    size_t n_top;
    uint64_t first_seen_ms, decided_ms;
    uint32_t ban_time;
    bool enable_ban;
    char attack_prefix[64];
    double baseline;
    uint32_t prefix_bans;
    bool normal;             /* carries a normal profile */
    uint32_t normal_windows;
    double normal_udp;       /* its udp class share */
    double normal_sport[2];  /* its shares of source ports 53 and 123 */
} seen_t;

#define SEEN_MAX 2048
static seen_t s_seen[SEEN_MAX];
static size_t s_n_seen;
static bool s_refuse; /* the emit callback pretends its queue is full */

static int s_emit(const Floodgate__Decision *d, void *arg)
{
    (void)arg;
    if (s_refuse)
        return -1;
    assert_true(s_n_seen < SEEN_MAX);
    seen_t *s = &s_seen[s_n_seen++];
    s->addr.hi = d->addr_hi;
    s->addr.lo = d->addr_lo;
    s->action = d->action;
    snprintf(s->attack_type, sizeof(s->attack_type), "%s", d->attack_type);
    snprintf(s->metric, sizeof(s->metric), "%s", d->metric);
    snprintf(s->hostgroup, sizeof(s->hostgroup), "%s", d->hostgroup);
    s->value = d->value;
    s->threshold = d->threshold;
    s->pps = d->total->pps;
    s->n_top = d->n_top;
    s->first_seen_ms = d->first_seen_ms;
    s->decided_ms = d->decided_ms;
    s->ban_time = d->ban_time;
    s->enable_ban = d->enable_ban;
    snprintf(s->attack_prefix, sizeof(s->attack_prefix), "%s",
             d->attack_prefix ? d->attack_prefix : "");
    s->baseline = d->baseline;
    s->prefix_bans = d->prefix_bans;
    s->normal = d->normal != NULL;
    if (d->normal) { /* whatever the windows held, the profile keeps the codec's limits */
        Floodgate__Decision only = FLOODGATE__DECISION__INIT;
        const char *why = NULL;
        only.normal = d->normal;
        if (dec_validate(&only, &why) != 0)
            fail_msg("the detector's profile breaks the codec's limits: %s", why);
    }
    s->normal_windows = d->normal ? d->normal->windows : 0;
    s->normal_udp = d->normal && d->normal->n_class_share > FG_CLS_UDP
                        ? d->normal->class_share[FG_CLS_UDP]
                        : -1;
    s->normal_sport[0] = s->normal_sport[1] = 0;
    for (size_t i = 0; d->normal && i < d->normal->n_top; i++) {
        const Floodgate__Contributor *c = d->normal->top[i];
        if (c->kind == FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT && c->key_lo == 53)
            s->normal_sport[0] = c->share;
        if (c->kind == FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT && c->key_lo == 123)
            s->normal_sport[1] = c->share;
    }
    return 0;
}

static int s_setup(void **state)
{
    (void)state;
    char path[600], err[1024];
    s_dir = hn_tmpdir("detector");
    snprintf(path, sizeof(path), "%s/floodgate.conf", s_dir);
    hn_write_file(path, "networks\n"
                        "    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
                        "    whitelist = \"10.0.0.53/32\"\n"
                        "aggregator\n"
                        "    shards = 2\n"
                        "detector\n"
                        "    ongoing_interval = 5\n"
                        "    attack_end = 30\n"
                        "hostgroup\n"
                        "    default\n"
                        "        ban_time = 1800\n"
                        "        average_time = 0\n"
                        "        consecutive_windows = 1\n"
                        "        threshold_pps = 20000\n"
                        "        threshold_mbps = 1000\n"
                        "        threshold_flows = 3500\n"
                        "    bandwidth_only\n"
                        "        networks = \"10.0.200.0/24\"\n"
                        "        ban_time = 600\n"
                        "        enable_ban = false\n"
                        "        average_time = 0\n"
                        "        consecutive_windows = 1\n"
                        "        threshold_pps = 0\n"
                        "        threshold_mbps = 100\n"
                        "        threshold_flows = 0\n"
                        "    tuned\n"
                        "        networks = \"10.0.100.0/24, 2001:db8:100:1::/64\"\n"
                        "        average_time = 0\n"
                        "        consecutive_windows = 3\n"
                        "        hysteresis = 0.5\n"
                        "        threshold_pps = 10000\n"
                        "        threshold_mbps = 0\n"
                        "        threshold_flows = 0\n"
                        "        threshold_tcp_syn_pps = 1000\n"
                        "        out_threshold_pps = 5000\n"
                        "        out_threshold_udp_mbps = 50\n"
                        "    carpet\n"
                        "        networks = \"10.0.50.0/24, 2001:db8:100:50::/64\"\n"
                        "        average_time = 0\n"
                        "        consecutive_windows = 2\n"
                        "        threshold_pps = 100000\n"
                        "        network_threshold_pps = 20000\n"
                        "        network_host_floor_pps = 500\n"
                        "        network_prefix_v6 = 56\n"
                        "    carpet16\n"
                        "        networks = \"10.1.0.0/16\"\n"
                        "        average_time = 0\n"
                        "        consecutive_windows = 2\n"
                        "        threshold_pps = 100000\n"
                        "        network_threshold_pps = 1500000\n"
                        "    smooth\n"
                        "        networks = \"10.0.60.0/24\"\n"
                        "        average_time = 5\n"
                        "        consecutive_windows = 1\n"
                        "        threshold_pps = 10000\n");
    s_cfg = fg_config_load(path, err, sizeof(err));
    if (!s_cfg)
        fail_msg("config: %s", err);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    fg_config_destroy(&s_cfg);
    hn_rmdir(s_dir);
    free(s_dir);
    return 0;
}

/* A host window with all its packets in one class. */
typedef struct {
    Floodgate__HostWindow hw;
    Floodgate__Rates total, tcp, syn, udp, icmp, frag, other;
    Floodgate__Contributor con[4];
    Floodgate__Contributor *conp[4];
} win_t;

static void s_win(win_t *w, const char *ip, double pps, double bps, double fps)
{
    memset(w, 0, sizeof(*w));
    floodgate__host_window__init(&w->hw);
    Floodgate__Rates *r[] = {&w->total, &w->tcp, &w->syn, &w->udp, &w->icmp, &w->frag, &w->other};
    for (size_t i = 0; i < 7; i++)
        floodgate__rates__init(r[i]);
    fg_addr_t a;
    assert_int_equal(fg_addr_parse(ip, &a), 0);
    w->hw.addr_hi = a.hi;
    w->hw.addr_lo = a.lo;
    w->hw.dir = FLOODGATE__DIRECTION__DIR_IN;
    w->hw.hostgroup = 0;
    w->total.pps = w->udp.pps = pps;
    w->total.bps = w->udp.bps = bps;
    w->total.fps = w->udp.fps = fps;
    w->hw.total = &w->total;
    w->hw.tcp = &w->tcp;
    w->hw.tcp_syn = &w->syn;
    w->hw.udp = &w->udp;
    w->hw.icmp = &w->icmp;
    w->hw.frag = &w->frag;
    w->hw.other = &w->other;
}

/* Give w a top source port with share. */
static void s_src_port(win_t *w, uint32_t port, double share)
{
    Floodgate__Contributor *c = &w->con[w->hw.n_top];
    floodgate__contributor__init(c);
    c->kind = FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT;
    c->key_lo = port;
    c->share = share;
    w->conp[w->hw.n_top++] = c;
    w->hw.top = w->conp;
}

static uint64_t s_seq[2];

/* Deliver one window batch of shard 0 holding the given hosts. */
static void s_deliver(det_t *det, win_t *hosts, size_t n, uint64_t now_ms)
{
    Floodgate__HostWindow *hp[64];
    Floodgate__WindowBatch wb = FLOODGATE__WINDOW_BATCH__INIT;
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++)
        hp[i] = &hosts[i].hw;
    wb.shard = 0;
    wb.shards = 2;
    wb.seq = ++s_seq[0];
    wb.window_end_ms = now_ms - now_ms % 1000;
    wb.window_ms = 1000;
    wb.n_hosts = n;
    wb.hosts = n ? hp : NULL;
    det_window(det, &wb, now_ms);
}

static det_t *s_det(void)
{
    s_n_seen = 0;
    s_refuse = false;
    s_seq[0] = s_seq[1] = 0;
    det_t *det = det_new(s_cfg, s_emit, NULL);
    assert_non_null(det);
    return det;
}

/* ---- the one-window rule: a confidence bound of the window's rate ------- */

static void test_detector_confidence_bound(void **state)
{
    (void)state;
    /* the bound itself: 20 samples at 5x keep most of the rate, one
     * sample none, no samples (held long-flow rates) all of it */
    assert_true(det_lower_bound(100000, 5000, 3) > 40000);
    assert_true(det_lower_bound(100000, 5000, 3) < 100000);
    assert_float_equal(det_lower_bound(100000, 100000, 3), 0, 1e-9);
    assert_float_equal(det_lower_bound(30000, 5000, 3), 30000 * 0.18838, 30);
    assert_float_equal(det_lower_bound(100000, 0, 3), 100000, 1e-9);
    assert_float_equal(det_lower_bound(100000, 5000, 0), 100000, 1e-9);
    assert_true(det_lower_bound(1e6, 5000, 3) > det_lower_bound(1e6, 5000, 4));

    det_t *det = s_det();
    win_t w[3];
    Floodgate__Rates big[3];
    /* group tuned (10 000 pps, no averaging, 3 consecutive windows):
     * .1: 10x the threshold in 20 samples: banned on its first window;
     * .2: the same rate in one sample (one big record): not on one window;
     * .3: the same rate from an aggregator that says nothing of samples */
    const char *ip[3] = {"10.0.100.1", "10.0.100.2", "10.0.100.3"};
    const double largest[3] = {5000, 100000, 0};
    for (int i = 0; i < 3; i++) {
        s_win(&w[i], ip[i], 100000, 1e6, 10);
        floodgate__rates__init(&big[i]);
        big[i].pps = largest[i];
        w[i].hw.largest = i < 2 ? &big[i] : NULL;
        w[i].hw.hostgroup = 2;
    }
    s_deliver(det, w, 3, T0);
    assert_int_equal(s_n_seen, 1);
    assert_int_equal(s_seen[0].action, FLOODGATE__ACTION__BAN);
    assert_true(fg_addr_eq(&s_seen[0].addr, &(fg_addr_t){0, 0xffff0a006401ULL}));
    assert_string_equal(s_seen[0].hostgroup, "tuned");
    assert_string_equal(s_seen[0].metric, "pps");
    assert_float_equal(s_seen[0].value, 100000, 1e-9);
    /* the others as before: after consecutive_windows windows over */
    s_deliver(det, w, 3, T0 + 1000);
    assert_int_equal(s_n_seen, 1);
    s_deliver(det, w, 3, T0 + 2000);
    assert_int_equal(s_n_seen, 3);
    assert_int_equal(det_stats(det)->bans, 3);
    assert_int_equal(det_stats(det)->bans_one_window, 1);
    det_destroy(&det);
}

/* ---- thresholds ---------------------------------------------------------- */

static void test_detector_threshold_pps(void **state)
{
    (void)state;
    det_t *det = s_det();
    win_t w;
    s_win(&w, "10.0.0.1", 20000, 1e6, 10); /* at the threshold: not over */
    s_deliver(det, &w, 1, T0);
    assert_int_equal(s_n_seen, 0);
    s_win(&w, "10.0.0.1", 25000, 1e6, 10);
    s_deliver(det, &w, 1, T0 + 1000);
    assert_int_equal(s_n_seen, 1);
    assert_int_equal(s_seen[0].action, FLOODGATE__ACTION__BAN);
    assert_string_equal(s_seen[0].metric, "pps");
    assert_float_equal(s_seen[0].value, 25000, 1e-9);
    assert_float_equal(s_seen[0].threshold, 20000, 1e-9);
    assert_string_equal(s_seen[0].hostgroup, "default");
    assert_int_equal(s_seen[0].ban_time, 1800);
    assert_true(s_seen[0].enable_ban);
    assert_int_equal(s_seen[0].first_seen_ms, T0 + 1000);
    assert_int_equal(s_seen[0].decided_ms, T0 + 1000);
    assert_float_equal(s_seen[0].pps, 25000, 1e-9);
    assert_int_equal(det_stats(det)->bans, 1);
    det_destroy(&det);
}

/* One window of ip at pps / bps / fps on a fresh detector: exactly one
 * decision, over metric, at value against threshold. */
static void s_expect_one_over(const char *ip, double pps, double bps, double fps,
                              const char *metric, double value, double threshold)
{
    det_t *det = s_det();
    win_t w;
    s_win(&w, ip, pps, bps, fps);
    s_deliver(det, &w, 1, T0);
    assert_int_equal(s_n_seen, 1);
    assert_string_equal(s_seen[0].metric, metric);
    assert_float_equal(s_seen[0].value, value, 1e-9);
    assert_float_equal(s_seen[0].threshold, threshold, 1e-9);
    det_destroy(&det);
}

static void test_detector_threshold_mbps(void **state)
{
    (void)state;
    s_expect_one_over("10.0.0.2", 1000, 1.5e9, 10, "mbps", 1500, 1000);
}

static void test_detector_threshold_flows(void **state)
{
    (void)state;
    s_expect_one_over("10.0.0.3", 5000, 1e6, 4000, "flows", 4000, 3500);
}

static void test_detector_threshold_order_pps_first(void **state)
{
    (void)state;
    fg_thresholds_t t = {20000, 1000, 3500};
    Floodgate__Rates r = FLOODGATE__RATES__INIT;
    r.pps = 30000;
    r.bps = 2e9;
    r.fps = 9000;
    double v = 0, thr = 0;
    assert_string_equal(det_over_threshold(&t, &r, &v, &thr), "pps");
    r.pps = 100;
    assert_string_equal(det_over_threshold(&t, &r, &v, &thr), "mbps");
    r.bps = 1;
    assert_string_equal(det_over_threshold(&t, &r, &v, &thr), "flows");
    r.fps = 1;
    assert_null(det_over_threshold(&t, &r, &v, &thr));
    assert_null(det_over_threshold(&t, NULL, &v, &thr));
}

static void test_detector_threshold_disabled(void **state)
{
    (void)state;
    det_t *det = s_det();
    win_t w;
    /* bandwidth_only: pps and flows thresholds are 0, so huge rates there
     * are no attack; the hostgroup index is wrong, so it is recomputed. */
    s_win(&w, "10.0.200.9", 5e6, 50e6, 1e6);
    w.hw.hostgroup = 999;
    s_deliver(det, &w, 1, T0);
    assert_int_equal(s_n_seen, 0);
    s_win(&w, "10.0.200.9", 10, 200e6, 1);
    w.hw.hostgroup = 999;
    s_deliver(det, &w, 1, T0 + 1000);
    assert_int_equal(s_n_seen, 1);
    assert_string_equal(s_seen[0].metric, "mbps");
    assert_string_equal(s_seen[0].hostgroup, "bandwidth_only");
    assert_int_equal(s_seen[0].ban_time, 600);
    assert_false(s_seen[0].enable_ban);
    fg_thresholds_t off = {0, 0, 0};
    Floodgate__Rates r = FLOODGATE__RATES__INIT;
    r.pps = r.bps = r.fps = 1e12;
    double v, thr;
    assert_null(det_over_threshold(&off, &r, &v, &thr));
    det_destroy(&det);
}

static void test_detector_whitelist_skipped(void **state)
{
    (void)state;
    det_t *det = s_det();
    win_t w;
    s_win(&w, "10.0.0.53", 1e7, 1e10, 1e6);
    s_deliver(det, &w, 1, T0);
    assert_int_equal(s_n_seen, 0);
    assert_int_equal(det_stats(det)->whitelisted, 1);
    assert_int_equal(det_attacks(det), 0);
    det_destroy(&det);
}

static void test_detector_outgoing_unmonitored(void **state)
{
    (void)state;
    det_t *det = s_det();
    win_t w[2];
    s_win(&w[0], "10.0.0.4", 1e6, 1e6, 1);
    w[0].hw.dir = FLOODGATE__DIRECTION__DIR_OUT;
    s_win(&w[1], "172.16.0.1", 1e6, 1e6, 1);
    w[1].hw.hostgroup = 77;
    s_deliver(det, w, 2, T0);
    assert_int_equal(s_n_seen, 0);
    assert_int_equal(det_stats(det)->hosts_out, 1);
    assert_int_equal(det_stats(det)->unmonitored, 1);
    det_destroy(&det);
}

/* ---- attack state -------------------------------------------------------- */

static void test_detector_ban_then_ongoing_rate_limited(void **state)
{
    (void)state;
    det_t *det = s_det();
    win_t w;
    s_win(&w, "10.0.0.8", 50000, 1e6, 10);
    for (uint64_t s = 0; s <= 10; s++)
        s_deliver(det, &w, 1, T0 + s * 1000);
    /* BAN at 0 s, ONGOING at 5 s and 10 s; never a second BAN. */
    assert_int_equal(s_n_seen, 3);
    assert_int_equal(s_seen[0].action, FLOODGATE__ACTION__BAN);
    assert_int_equal(s_seen[1].action, FLOODGATE__ACTION__ONGOING);
    assert_int_equal(s_seen[1].decided_ms, T0 + 5000);
    assert_int_equal(s_seen[1].first_seen_ms, T0);
    assert_int_equal(s_seen[2].action, FLOODGATE__ACTION__ONGOING);
    assert_int_equal(s_seen[2].decided_ms, T0 + 10000);
    assert_int_equal(det_stats(det)->bans, 1);
    assert_int_equal(det_stats(det)->ongoing, 2);
    assert_int_equal(det_attacks(det), 1);
    det_destroy(&det);
}

static void test_detector_attack_end_then_fresh_ban(void **state)
{
    (void)state;
    det_t *det = s_det();
    win_t w, quiet;
    s_win(&w, "10.0.0.9", 50000, 1e6, 10);
    s_win(&quiet, "10.0.0.9", 100, 1e5, 1);
    s_deliver(det, &w, 1, T0);
    /* Below threshold, then absent: still the same attack at 29 s. */
    s_deliver(det, &quiet, 1, T0 + 1000);
    s_deliver(det, NULL, 0, T0 + 20000);
    s_deliver(det, &w, 1, T0 + 29000);
    assert_int_equal(s_n_seen, 2);
    assert_int_equal(s_seen[1].action, FLOODGATE__ACTION__ONGOING);
    /* 30 s with nothing over threshold end it, heartbeats or not. */
    s_deliver(det, NULL, 0, T0 + 40000);
    assert_int_equal(det_attacks(det), 1);
    det_tick(det, T0 + 59000);
    assert_int_equal(det_attacks(det), 0);
    assert_int_equal(det_stats(det)->attacks_ended, 1);
    s_deliver(det, &w, 1, T0 + 60000);
    assert_int_equal(s_n_seen, 3);
    assert_int_equal(s_seen[2].action, FLOODGATE__ACTION__BAN);
    assert_int_equal(s_seen[2].first_seen_ms, T0 + 60000);
    det_destroy(&det);
}

/* The attack states expire in a sweep that goes on where it stopped: a
 * call visits its budget of slots, the expired states of a whole pass go,
 * the others stay. */
static void test_detector_attack_expiry_sweeps(void **state)
{
    (void)state;
    atk_table_t *t = atk_new(4096);
    assert_non_null(t);
    for (uint32_t k = 0; k < 2000; k++) {
        fg_addr_t a = fg_addr_from_v4(0x0a000000u + k);
        atk_state_t *st = atk_insert(t, &a, 0);
        assert_non_null(st);
        st->last_over_ms = k % 2 ? T0 : T0 + 30000; /* odd ones expire at T0 + 30 s */
        st->attacking = k % 4 == 1;
    }
    size_t slots = atk_slots(t), removed = 0, attacking = 0, calls = 0;
    assert_true(slots >= 4000);
    while (removed < 1000 && calls < 1000) {
        size_t att = 0, r = atk_expire(t, T0 + 30000, 30000, 100, &att);
        assert_true(r <= 100); /* a slot a visit, however many moved back */
        removed += r;
        attacking += att;
        calls++;
    }
    assert_int_equal(removed, 1000);
    assert_int_equal(attacking, 500);
    assert_true(calls >= slots / 100 / 2 && calls <= slots / 100 + 2);
    assert_int_equal(atk_size(t), 1000);
    for (uint32_t k = 0; k < 2000; k++) {
        fg_addr_t a = fg_addr_from_v4(0x0a000000u + k);
        assert_true((atk_find(t, &a, 0) != NULL) == (k % 2 == 0));
    }
    /* a budget of the whole table: all at once */
    assert_int_equal(atk_expire(t, T0 + 60000, 30000, atk_slots(t), NULL), 1000);
    assert_int_equal(atk_size(t), 0);
    atk_destroy(&t);
}

/* det_tick sweeps the states a second at a time: a tick 10 ms after the
 * last visits a hundredth of the table (and 64 slots), and a second of
 * such ticks expires every state. */
static size_t s_states_left(det_t *det, int n)
{
    char ip[32];
    fg_addr_t a;
    double v;
    size_t left = 0;
    for (int k = 0; k < n; k++) {
        snprintf(ip, sizeof(ip), "10.0.%d.%d", k / 200 + 1, k % 200 + 1);
        assert_int_equal(fg_addr_parse(ip, &a), 0);
        left += det_host_average(det, &a, FLOODGATE__DIRECTION__DIR_IN, 0, 0, &v);
    }
    return left;
}

static void test_detector_expiry_spread_over_ticks(void **state)
{
    (void)state;
    det_t *det = s_det();
    static win_t w[600];
    char ip[32];
    for (int k = 0; k < 600; k++) {
        snprintf(ip, sizeof(ip), "10.0.%d.%d", k / 200 + 1, k % 200 + 1);
        s_win(&w[k], ip, 100, 1e5, 1); /* under the threshold: states, no attack */
    }
    for (int k = 0; k < 600; k += 50)
        s_deliver(det, &w[k], 50, T0);
    assert_int_equal(s_states_left(det, 600), 600);
    det_tick(det, T0 + 29995); /* a whole sweep (a second since the last): none due */
    assert_int_equal(s_states_left(det, 600), 600);
    det_tick(det, T0 + 30005); /* 30 s after their last update: due, 10 ms of a sweep */
    size_t left = s_states_left(det, 600);
    assert_true(left > 450 && left < 600);
    for (uint64_t t = T0 + 30015; t <= T0 + 31005; t += 10)
        det_tick(det, t);
    assert_int_equal(s_states_left(det, 600), 0);
    /* the first tick after a second or more sweeps the whole table */
    for (int k = 0; k < 600; k += 50)
        s_deliver(det, &w[k], 50, T0 + 40000);
    assert_int_equal(s_states_left(det, 600), 600);
    det_tick(det, T0 + 75000);
    assert_int_equal(s_states_left(det, 600), 0);
    det_destroy(&det);
}

static void test_detector_dropped_ban_is_retried(void **state)
{
    (void)state;
    det_t *det = s_det();
    win_t w;
    s_win(&w, "10.0.0.10", 50000, 1e6, 10);
    s_refuse = true;
    s_deliver(det, &w, 1, T0);
    assert_int_equal(det_stats(det)->dropped, 1);
    assert_int_equal(det_attacks(det), 0);
    s_refuse = false;
    s_deliver(det, &w, 1, T0 + 1000);
    assert_int_equal(s_n_seen, 1);
    assert_int_equal(s_seen[0].action, FLOODGATE__ACTION__BAN);
    det_destroy(&det);
}

static void test_detector_ipv6_host(void **state)
{
    (void)state;
    det_t *det = s_det();
    win_t w;
    s_win(&w, "2001:db8:100::5", 90000, 1e6, 10);
    w.udp.pps = 0;
    w.icmp.pps = 90000;
    s_deliver(det, &w, 1, T0);
    assert_int_equal(s_n_seen, 1);
    fg_addr_t a;
    fg_addr_parse("2001:db8:100::5", &a);
    assert_true(fg_addr_eq(&s_seen[0].addr, &a));
    assert_string_equal(s_seen[0].attack_type, "icmp_flood");
    det_destroy(&det);
}

/* Pack one window of shard (of shards) holding w and hand it to the
 * detector as if it came from the socket of shard from. */
static int s_ingest_from(det_t *det, win_t *w, uint32_t shard, uint32_t shards, int from,
                         uint64_t seq, uint64_t now_ms)
{
    Floodgate__HostWindow *hp[1] = {&w->hw};
    Floodgate__WindowBatch wb = FLOODGATE__WINDOW_BATCH__INIT;
    wb.shard = shard;
    wb.shards = shards;
    wb.seq = seq;
    wb.window_end_ms = now_ms - now_ms % 1000;
    wb.window_ms = 1000;
    wb.n_hosts = 1;
    wb.hosts = hp;
    uint8_t buf[4096];
    size_t len = floodgate__window_batch__pack(&wb, buf);
    return det_ingest(det, buf, len, from, now_ms);
}

/* A window whose header names another shard than the socket it came from
 * (or another shard count, or a shard beyond its own count) is refused and
 * counted: a flood in it bans nothing. The same flood from the right
 * socket is banned. */
static void test_detector_wrong_shard_refused(void **state)
{
    (void)state;
    det_t *det = s_det();
    win_t w;
    s_win(&w, "10.0.0.7", 50000000, 1e6, 10);
    assert_int_equal(s_ingest_from(det, &w, 1, 2, 0, 1, T0), -1);      /* shard 1 on 0's socket */
    assert_int_equal(s_ingest_from(det, &w, 0, 3, 0, 2, T0 + 100), -1); /* 3 shards, not 2 */
    assert_int_equal(s_ingest_from(det, &w, 5, 2, 5, 3, T0 + 200), -1); /* shard 5 of 2 */
    const det_stats_t *st = det_stats(det);
    assert_int_equal(st->wrong_shard, 2);
    assert_int_equal(st->malformed, 1); /* the codec refuses shard >= shards */
    assert_int_equal(s_n_seen, 0);
    assert_int_equal(st->bans, 0);
    assert_int_equal(s_ingest_from(det, &w, 0, 2, 0, 1, T0 + 1000), 0);
    assert_int_equal(s_n_seen, 1);
    assert_int_equal(s_seen[0].action, FLOODGATE__ACTION__BAN);
    det_destroy(&det);
}

static void test_detector_window_sequence_lost(void **state)
{
    (void)state;
    det_t *det = s_det();
    Floodgate__WindowBatch wb = FLOODGATE__WINDOW_BATCH__INIT;
    uint64_t seqs[][2] = {{0, 1}, {0, 2}, {0, 5}, {1, 9}, {1, 10}, {1, 12}, {0, 1}, {7, 1}};
    int seen[] = {1, 1, 1, 2, 2, 2, 2, 2}; /* shard 7 is not of the config */
    assert_int_equal(det_shards_seen(det), 0);
    for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        wb.shard = (uint32_t)seqs[i][0];
        wb.seq = seqs[i][1];
        det_window(det, &wb, T0);
        assert_int_equal(det_shards_seen(det), seen[i]);
    }
    const det_stats_t *st = det_stats(det);
    assert_int_equal(st->windows, 8);
    assert_int_equal(st->windows_lost, 2 + 1);
    assert_int_equal(st->shard_resets, 1);
    assert_int_equal(st->bad_shard, 1);
    uint8_t junk[16];
    memset(junk, 0xff, sizeof(junk));
    assert_int_equal(det_ingest(det, junk, sizeof(junk), -1, T0), -1);
    assert_int_equal(det_stats(det)->malformed, 1);
    det_destroy(&det);
}

static void test_detector_decision_carries_top_and_type(void **state)
{
    (void)state;
    det_t *det = s_det();
    win_t w;
    s_win(&w, "10.0.0.11", 80000, 1e9, 10);
    s_src_port(&w, 53, 0.9);
    s_src_port(&w, 123, 0.05);
    s_deliver(det, &w, 1, T0);
    assert_int_equal(s_n_seen, 1);
    assert_int_equal(s_seen[0].n_top, 2);
    assert_string_equal(s_seen[0].attack_type, "amplification_dns");
    det_destroy(&det);
}

/* The host's usual breakdown is learnt in calm windows only: not in a
 * window near the threshold (over hysteresis x threshold), not during the
 * attack; the BAN and the ONGOING carry it, a host with too few calm
 * windows carries none (collateral unknown). */
static void test_detector_profile_learnt_in_calm_windows(void **state)
{
    (void)state;
    det_t *det = s_det();
    win_t w[2];
    uint64_t t = T0;
    for (int i = 0; i < 10; i++, t += 1000) { /* a resolver: DNS answers */
        s_win(&w[0], "10.0.0.21", 1000, 8e6, 50);
        s_src_port(&w[0], 53, 0.9);
        s_win(&w[1], "10.0.0.22", 1000, 8e6, 50);
        s_src_port(&w[1], 53, 0.9);
        s_deliver(det, w, i < 3 ? 2 : 1, t); /* 10.0.0.22: 3 windows only */
    }
    s_win(&w[0], "10.0.0.21", 18000, 1e8, 50); /* 0.9 x threshold: not usual */
    s_src_port(&w[0], 123, 0.9);
    s_deliver(det, w, 1, t);
    t += 1000;
    assert_int_equal(s_n_seen, 0);
    for (int i = 0; i < 7; i++, t += 1000) { /* NTP amplification */
        s_win(&w[0], "10.0.0.21", 80000, 1e9, 10);
        s_src_port(&w[0], 123, 0.99);
        s_win(&w[1], "10.0.0.22", 80000, 1e9, 10);
        s_src_port(&w[1], 123, 0.99);
        s_deliver(det, w, 2, t);
    }
    assert_int_equal(s_n_seen, 4); /* BAN each, then ONGOING each */
    for (size_t i = 0; i < s_n_seen; i++) {
        bool resolver = s_seen[i].addr.lo == w[0].hw.addr_lo;
        assert_int_equal(s_seen[i].normal, resolver);
        if (!resolver)
            continue;
        assert_int_equal(s_seen[i].normal_windows, 10);
        assert_true(fabs(s_seen[i].normal_sport[0] - 0.9) < 1e-3);
        assert_true(s_seen[i].normal_sport[1] == 0); /* the attack was not learnt */
        assert_true(fabs(s_seen[i].normal_udp - 1) < 1e-3);
    }
    assert_int_equal(s_seen[2].action, FLOODGATE__ACTION__ONGOING);
    det_destroy(&det);
}

/* Forged contributors in the calm windows (shares NaN, infinite, 7, a
 * port over 65535, an unknown kind, 64 of them): the profile keeps its
 * limits (checked in s_emit), counts the sane part only, and the flood
 * that follows is banned. */
static void test_detector_profile_forged_contributors(void **state)
{
    (void)state;
    det_t *det = s_det();
    Floodgate__Contributor con[64], *cp[64];
    win_t w;
    uint64_t t = T0;
    for (int i = 0; i < 10; i++, t += 1000) {
        s_win(&w, "10.0.0.23", 1000, 8e6, 50);
        for (int k = 0; k < 64; k++) {
            floodgate__contributor__init(&con[k]);
            con[k].kind = (Floodgate__ContribKind)(k % 6 == 5 ? 99 : k % 4);
            con[k].key_lo = k % 7 == 0 ? 70000 : (uint64_t)k;
            con[k].share = k % 5 == 0 ? NAN : k % 5 == 1 ? INFINITY : k % 5 == 2 ? 7.0 : 0.01;
            cp[k] = &con[k];
        }
        con[3].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT; /* one sane: port 53 */
        con[3].key_lo = 53;
        con[3].share = 0.8;
        w.hw.n_top = 64;
        w.hw.top = cp;
        s_deliver(det, &w, 1, t);
    }
    for (int i = 0; i < 2; i++, t += 1000) {
        s_win(&w, "10.0.0.23", 80000, 1e9, 10);
        s_src_port(&w, 123, 0.99);
        s_deliver(det, &w, 1, t);
    }
    assert_int_equal(s_n_seen, 1);
    assert_int_equal(s_seen[0].action, FLOODGATE__ACTION__BAN);
    assert_true(s_seen[0].normal);
    assert_true(s_seen[0].normal_sport[0] >= 0.8 - 1e-3);
    det_destroy(&det);
}

/* ---- hostgroup settings: classes, direction, averaging, hysteresis ------- */

enum { G_DEFAULT, G_BANDWIDTH, G_TUNED, G_CARPET, G_CARPET16, G_SMOOTH };

/* Deliver one batch of shard with hosts and hostgroup totals; window W ms. */
static void s_deliver_shard(det_t *det, uint32_t shard, win_t *hosts, size_t n,
                            Floodgate__GroupTotal **groups, size_t ng, uint64_t now_ms)
{
    Floodgate__HostWindow *hp[600];
    Floodgate__WindowBatch wb = FLOODGATE__WINDOW_BATCH__INIT;
    assert_true(n <= 600);
    for (size_t i = 0; i < n; i++)
        hp[i] = &hosts[i].hw;
    wb.shard = shard;
    wb.shards = 2;
    wb.seq = ++s_seq[shard];
    wb.window_end_ms = now_ms - now_ms % 1000;
    wb.window_ms = 1000;
    wb.n_hosts = n;
    wb.hosts = n ? hp : NULL;
    wb.n_groups = ng;
    wb.groups = ng ? groups : NULL;
    det_window(det, &wb, now_ms);
}

static void test_detector_class_threshold_and_consecutive(void **state)
{
    (void)state;
    det_t *det = s_det();
    win_t w, calm;
    s_win(&w, "10.0.100.7", 1500, 1e6, 10);
    w.hw.hostgroup = G_TUNED;
    w.udp.pps = 0;
    w.tcp.pps = w.syn.pps = 1500; /* total far below 10000, syn over 1000 */
    s_win(&calm, "10.0.100.7", 100, 1e5, 1);
    calm.hw.hostgroup = G_TUNED;
    /* Two over, one under: the count starts again. */
    s_deliver(det, &w, 1, T0);
    s_deliver(det, &w, 1, T0 + 1000);
    s_deliver(det, &calm, 1, T0 + 2000);
    s_deliver(det, &w, 1, T0 + 3000);
    s_deliver(det, &w, 1, T0 + 4000);
    assert_int_equal(s_n_seen, 0);
    /* Two over, one not published at all (under the watch floor), two
     * over: not three in a row either. */
    s_deliver(det, NULL, 0, T0 + 5000);
    s_deliver(det, &w, 1, T0 + 6000);
    s_deliver(det, &w, 1, T0 + 7000);
    assert_int_equal(s_n_seen, 0);
    s_deliver(det, &w, 1, T0 + 8000); /* the third in a row */
    assert_int_equal(s_n_seen, 1);
    assert_int_equal(s_seen[0].action, FLOODGATE__ACTION__BAN);
    assert_string_equal(s_seen[0].metric, "tcp_syn_pps");
    assert_string_equal(s_seen[0].attack_type, "syn_flood");
    assert_string_equal(s_seen[0].hostgroup, "tuned");
    assert_float_equal(s_seen[0].threshold, 1000, 1e-9);
    assert_int_equal(s_seen[0].first_seen_ms, T0 + 6000);
    det_destroy(&det);
}

static void test_detector_outgoing_thresholds(void **state)
{
    (void)state;
    det_t *det = s_det();
    win_t w[2];
    s_win(&w[0], "10.0.100.9", 6000, 1e6, 10); /* out: over 5000 */
    w[0].hw.hostgroup = G_TUNED;
    w[0].hw.dir = FLOODGATE__DIRECTION__DIR_OUT;
    s_win(&w[1], "10.0.100.9", 6000, 1e6, 10); /* in: under 10000 */
    w[1].hw.hostgroup = G_TUNED;
    for (int i = 0; i < 3; i++)
        s_deliver(det, w, 2, T0 + (uint64_t)i * 1000);
    assert_int_equal(s_n_seen, 1);
    assert_int_equal(s_seen[0].action, FLOODGATE__ACTION__BAN);
    assert_string_equal(s_seen[0].metric, "pps");
    assert_int_equal(det_stats(det)->hosts_out, 3);
    /* A class threshold of the outgoing direction: udp mbps. */
    win_t u;
    s_win(&u, "10.0.100.10", 100, 80e6, 1);
    u.hw.hostgroup = G_TUNED;
    u.hw.dir = FLOODGATE__DIRECTION__DIR_OUT;
    for (int i = 0; i < 3; i++)
        s_deliver(det, &u, 1, T0 + 10000 + (uint64_t)i * 1000);
    assert_int_equal(s_n_seen, 2);
    assert_string_equal(s_seen[1].metric, "udp_mbps");
    det_destroy(&det);
}

/* Seen from the detector, a rate hovering around the threshold is one
 * attack: after the BAN only ONGOING while the average stays above
 * hysteresis x threshold, and the end needs attack_end below it. */
static void test_detector_hysteresis_no_flapping(void **state)
{
    (void)state;
    det_t *det = s_det();
    win_t hi, lo, gone;
    s_win(&hi, "10.0.100.20", 11000, 1e6, 10);
    s_win(&lo, "10.0.100.20", 6000, 1e6, 10);
    s_win(&gone, "10.0.100.20", 4000, 1e6, 10);
    hi.hw.hostgroup = lo.hw.hostgroup = gone.hw.hostgroup = G_TUNED;
    uint64_t t = T0;
    /* Over, then 40 s between the release level and the threshold (longer
     * than attack_end), then over again: one attack. */
    for (int i = 0; i < 100; i++, t += 1000)
        s_deliver(det, (i < 5 || i >= 45) && i % 7 ? &hi : &lo, 1, t);
    assert_int_equal(det_stats(det)->bans, 1);
    assert_true(det_stats(det)->ongoing >= 15);
    assert_int_equal(det_attacks(det), 1);
    /* Below the release level (5000) for attack_end: ended. */
    for (int i = 0; i < 31; i++, t += 1000)
        s_deliver(det, &gone, 1, t);
    assert_int_equal(det_attacks(det), 0);
    assert_int_equal(det_stats(det)->bans, 1);
    assert_int_equal(det_stats(det)->attacks_ended, 1);
    det_destroy(&det);
}

/* average_time = 5 s, windows of 1 s: a = 1 - exp(-0.2). */
static void test_detector_exponential_average(void **state)
{
    (void)state;
    det_t *det = s_det();
    win_t spike, zero, steady;
    s_win(&spike, "10.0.60.1", 30000, 1e6, 10);
    s_win(&zero, "10.0.60.1", 0, 0, 0);
    s_win(&steady, "10.0.60.2", 20000, 1e6, 10);
    spike.hw.hostgroup = zero.hw.hostgroup = steady.hw.hostgroup = G_SMOOTH;
    /* One window at 3x the threshold averages to 30000 * 0.181 = 5438. */
    s_deliver(det, &spike, 1, T0);
    for (int i = 1; i < 5; i++)
        s_deliver(det, &zero, 1, T0 + (uint64_t)i * 1000);
    assert_int_equal(s_n_seen, 0);
    /* 2x the threshold: 20000 (1 - exp(-0.2 n)) > 10000 from n = 4. */
    for (int i = 0; i < 3; i++)
        s_deliver(det, &steady, 1, T0 + 10000 + (uint64_t)i * 1000);
    assert_int_equal(s_n_seen, 0);
    s_deliver(det, &steady, 1, T0 + 13000);
    assert_int_equal(s_n_seen, 1);
    double expect = 20000 * (1 - exp(-0.8));
    assert_float_equal(s_seen[0].value, expect, 1e-6);
    /* Windows the host was absent from count as zero. */
    win_t back;
    s_win(&back, "10.0.60.3", 20000, 1e6, 10);
    back.hw.hostgroup = G_SMOOTH;
    for (int i = 0; i < 3; i++)
        s_deliver(det, &back, 1, T0 + 20000 + (uint64_t)i * 1000);
    s_deliver(det, &back, 1, T0 + 30000); /* after 6 silent windows */
    assert_int_equal(s_n_seen, 1);
    det_destroy(&det);
}

static void s_group_total(Floodgate__GroupTotal *g, Floodgate__Rates *r, uint32_t group,
                          double pps)
{
    floodgate__group_total__init(g);
    floodgate__rates__init(r);
    r->pps = pps;
    g->hostgroup = group;
    g->dir = FLOODGATE__DIRECTION__DIR_IN;
    g->total = r;
    g->hosts = 100;
}

/* The carpet group's totals as the two shards report them. */
typedef struct {
    Floodgate__GroupTotal g[2];
    Floodgate__Rates r[2]; /* r[s].pps: shard s's share */
    Floodgate__GroupTotal *gp[2];
} carpet_t;

static void s_carpet(carpet_t *c, uint32_t group, double pps_per_shard)
{
    for (int s = 0; s < 2; s++) {
        s_group_total(&c->g[s], &c->r[s], group, pps_per_shard);
        c->gp[s] = &c->g[s];
    }
}

/* Window i of the carpet group: shard 1 reports its total alone, shard 0
 * its total and the n hosts h, 10 ms later. */
static void s_carpet_window(det_t *det, carpet_t *c, win_t *h, size_t n, uint64_t i)
{
    s_deliver_shard(det, 1, NULL, 0, &c->gp[1], 1, T0 + i * 1000);
    s_deliver_shard(det, 0, h, n, &c->gp[0], 1, T0 + i * 1000 + 10);
}

/* Carpet bombing: no host over its threshold, the group's sum over both
 * shards over the network-wide one: the hosts above the floor are banned. */
static void test_detector_network_wide_carpet(void **state)
{
    (void)state;
    det_t *det = s_det();
    carpet_t c;
    s_carpet(&c, G_CARPET, 12000);
    win_t h[2];
    s_win(&h[0], "10.0.50.1", 600, 1e6, 1);
    s_win(&h[1], "10.0.50.2", 300, 1e6, 1); /* below the floor */
    h[0].hw.hostgroup = h[1].hw.hostgroup = G_CARPET;
    /* One shard alone is under 20000. */
    for (int i = 0; i < 3; i++)
        s_deliver_shard(det, 0, h, 2, &c.gp[0], 1, T0 + (uint64_t)i * 1000);
    assert_int_equal(s_n_seen, 0);
    assert_false(det_network_attack(det, G_CARPET, NULL));
    /* The host carries the increase: 1500 is 3x its usual rate (the floor:
     * it was seen only while the group was not calm, one shard missing). */
    h[0].total.pps = h[0].udp.pps = 1500;
    for (uint64_t i = 3; i < 6; i++)
        s_carpet_window(det, &c, h, 2, i);
    double v = 0;
    assert_true(det_network_attack(det, G_CARPET, &v));
    assert_float_equal(v, 24000, 1e-9);
    assert_int_equal(det_stats(det)->network_attacks, 1);
    assert_int_equal(s_n_seen, 1);
    assert_string_equal(s_seen[0].metric, "network_pps");
    assert_float_equal(s_seen[0].threshold, 20000, 1e-9);
    assert_string_equal(s_seen[0].attack_prefix, "10.0.50.0/24");
    assert_float_equal(s_seen[0].baseline, 500, 1e-9);
    assert_int_equal(s_seen[0].prefix_bans, 1);
    fg_addr_t a;
    fg_addr_parse("10.0.50.1", &a);
    assert_true(fg_addr_eq(&s_seen[0].addr, &a));
    /* The sum falls: the network attack ends after attack_end. */
    c.r[0].pps = c.r[1].pps = 100;
    h[0].total.pps = h[0].udp.pps = 10;
    for (uint64_t i = 6; i < 40; i++)
        s_carpet_window(det, &c, h, 1, i);
    assert_false(det_network_attack(det, G_CARPET, NULL));
    assert_int_equal(det_attacks(det), 0);
    det_destroy(&det);
}

/* ---- carpet bombing: ban the hosts that carry the increase --------------- */

#define CB_BG 64   /* background hosts in 10.1.0.0/22 */
#define CB_ATK 256 /* attacked hosts: 10.1.201.0/24 */

/* One window of the carpet16 group on both shards: the background hosts
 * (those with flicker set absent every other window, as a host hovering at
 * the floor is), the attacked ones when attack, and the group's totals
 * (half per shard). */
static void s_cb_window(det_t *det, win_t *bg, win_t *atk, bool attack, double total, int i)
{
    static win_t sh[2][CB_BG + CB_ATK];
    size_t n[2] = {0, 0};
    for (int k = 0; k < CB_BG; k++)
        if (k % 4 != 0 || i % 2 == 0)
            sh[k % 2][n[k % 2]++] = bg[k];
    for (int k = 0; attack && k < CB_ATK; k++)
        sh[k % 2][n[k % 2]++] = atk[k];
    /* the copies point into the originals' rates: fix the pointers */
    for (int s = 0; s < 2; s++)
        for (size_t k = 0; k < n[s]; k++) {
            win_t *w = &sh[s][k];
            w->hw.total = &w->total;
            w->hw.udp = &w->udp;
            w->hw.tcp = &w->tcp;
            w->hw.tcp_syn = &w->syn;
            w->hw.icmp = &w->icmp;
            w->hw.frag = &w->frag;
            w->hw.other = &w->other;
        }
    Floodgate__GroupTotal g[2];
    Floodgate__Rates r[2];
    Floodgate__GroupTotal *gp[2] = {&g[0], &g[1]};
    uint64_t t = T0 + (uint64_t)i * 1000;
    for (uint32_t s = 0; s < 2; s++) {
        s_group_total(&g[s], &r[s], G_CARPET16, total / 2);
        s_deliver_shard(det, s, sh[s], n[s], &gp[s], 1, t + s * 10);
    }
}

/* The case: a group over its network threshold (1.5 Mpps for a
 * usual 1 Mpps) because 10.1.201.0/24 went from nothing to 256 x 5 kpps,
 * while hosts of 10.1.0.0/22 stay at their usual ~1 kpps, just above the
 * default per-host floor (some of them hovering in and out of sight). Only
 * the /24's hosts are banned, each decision naming the /24; the background
 * hosts are spared and counted. */
static void test_detector_carpet_bans_only_the_attacked_prefix(void **state)
{
    (void)state;
    det_t *det = s_det();
    static win_t bg[CB_BG], atk[CB_ATK];
    char ip[32];
    for (int k = 0; k < CB_BG; k++) {
        snprintf(ip, sizeof(ip), "10.1.%d.%d", k % 4, 10 + k);
        s_win(&bg[k], ip, 1001 + k % 50, 1e6, 1);
        bg[k].hw.hostgroup = G_CARPET16;
    }
    for (int k = 0; k < CB_ATK; k++) {
        snprintf(ip, sizeof(ip), "10.1.201.%d", k);
        s_win(&atk[k], ip, 5000, 1e6, 1);
        atk[k].hw.hostgroup = G_CARPET16;
    }
    for (int i = 0; i < 20; i++)
        s_cb_window(det, bg, atk, false, 1e6, i);
    assert_int_equal(s_n_seen, 0);
    for (int i = 20; i < 24; i++)
        s_cb_window(det, bg, atk, true, 1e6 + CB_ATK * 5000.0, i);
    assert_true(det_network_attack(det, G_CARPET16, NULL));
    size_t bans = 0;
    for (size_t k = 0; k < s_n_seen; k++) {
        char a[FG_ADDR_STRLEN];
        fg_addr_format(&s_seen[k].addr, a);
        assert_int_equal(strncmp(a, "10.1.201.", 9), 0); /* never a bystander */
        assert_string_equal(s_seen[k].metric, "network_pps");
        assert_string_equal(s_seen[k].attack_prefix, "10.1.201.0/24");
        assert_float_equal(s_seen[k].baseline, 1000, 1e-9); /* new: the floor */
        bans += s_seen[k].action == FLOODGATE__ACTION__BAN;
    }
    assert_int_equal(bans, CB_ATK); /* every attacked host, once */
    assert_int_equal(det_stats(det)->network_bans, CB_ATK);
    assert_true(det_stats(det)->network_spared > 0);
    const carpet_tally_t *t = det_network_tally(det, G_CARPET16);
    assert_non_null(t);
    assert_int_equal(t->bans, CB_ATK);
    assert_int_equal(t->n, 1);
    char p[64];
    assert_string_equal(fg_prefix_format(&carpet_tally_top(t)->prefix, p), "10.1.201.0/24");
    assert_int_equal(carpet_tally_top(t)->bans, CB_ATK);
    det_destroy(&det);
}

/* Risen or usual, known or new: A steady, B doubled, C new at 6x the floor,
 * D new just above the floor, E a big host known from calm times and
 * steady, F an IPv6 host new at 4x the floor (its /56 named). */
static void test_detector_carpet_risen_steady_and_new_hosts(void **state)
{
    (void)state;
    det_t *det = s_det();
    carpet_t c;
    s_carpet(&c, G_CARPET, 5000);
    win_t h[6];
    s_win(&h[0], "10.0.50.10", 1000, 1e6, 1); /* A */
    s_win(&h[1], "10.0.50.11", 1000, 1e6, 1); /* B */
    s_win(&h[2], "10.0.50.12", 3000, 1e6, 1); /* C */
    s_win(&h[3], "10.0.50.13", 800, 1e6, 1);  /* D */
    s_win(&h[4], "10.0.50.14", 8000, 1e6, 1); /* E */
    s_win(&h[5], "2001:db8:100:50::7", 2000, 1e6, 1); /* F */
    for (int k = 0; k < 6; k++)
        h[k].hw.hostgroup = G_CARPET;
    win_t calm[3] = {h[0], h[1], h[4]};
    for (int k = 0; k < 3; k++) {
        calm[k].hw.total = &calm[k].total;
        calm[k].hw.udp = &calm[k].udp;
    }
    for (uint64_t i = 0; i < 10; i++) /* calm: A, B, E learnt */
        s_carpet_window(det, &c, calm, 3, i);
    c.r[0].pps = c.r[1].pps = 15000; /* 30000 > 20000 */
    h[1].total.pps = h[1].udp.pps = 2000;
    for (uint64_t i = 10; i < 14; i++)
        s_carpet_window(det, &c, h, 6, i);
    assert_true(det_network_attack(det, G_CARPET, NULL));
    const char *want[] = {"10.0.50.11", "10.0.50.12", "2001:db8:100:50::7"};
    const double usual[] = {1000, 500, 500};
    const char *pfx[] = {"10.0.50.0/24", "10.0.50.0/24", "2001:db8:100::/56"};
    assert_int_equal(s_n_seen, 3);
    for (size_t k = 0; k < 3; k++) {
        fg_addr_t a;
        fg_addr_parse(want[k], &a);
        assert_true(fg_addr_eq(&s_seen[k].addr, &a));
        assert_int_equal(s_seen[k].action, FLOODGATE__ACTION__BAN);
        assert_float_equal(s_seen[k].baseline, usual[k], 1e-3);
        assert_string_equal(s_seen[k].attack_prefix, pfx[k]);
    }
    assert_int_equal(s_seen[1].prefix_bans, 2); /* B then C in 10.0.50.0/24 */
    det_destroy(&det);
}

/* An attack does not become a host's usual rate: the baseline is frozen
 * while the group is over (even before the network attack is declared),
 * so a host ramping up during a long network attack is still banned once
 * it doubles; and calm windows teach the baseline again. */
static void test_detector_carpet_attack_not_learnt(void **state)
{
    (void)state;
    det_t *det = s_det();
    carpet_t c;
    s_carpet(&c, G_CARPET, 5000);
    win_t h;
    s_win(&h, "10.0.50.20", 1000, 1e6, 1);
    h.hw.hostgroup = G_CARPET;
    uint64_t i = 0;
    for (; i < 10; i++)
        s_carpet_window(det, &c, &h, 1, i);
    c.r[0].pps = c.r[1].pps = 15000;
    /* 1000 -> 1950 in steps of 50 over 20 windows: never doubled */
    for (; i < 30; i++) {
        h.total.pps = h.udp.pps = 1000 + 50.0 * (double)(i - 10);
        s_carpet_window(det, &c, &h, 1, i);
    }
    assert_true(det_network_attack(det, G_CARPET, NULL));
    assert_int_equal(s_n_seen, 0);
    h.total.pps = h.udp.pps = 2000; /* doubled against the frozen baseline */
    s_carpet_window(det, &c, &h, 1, i);
    assert_int_equal(s_n_seen, 1);
    assert_float_equal(s_seen[0].baseline, 1000, 1e-3);
    assert_true(det_stats(det)->network_spared >= 15);
    det_destroy(&det);
}

/* ---- bounded state: spoofed hosts cannot hide a flood -------------------- */

/* The state table holds detector/max_hosts hosts. Filled by hosts under
 * their threshold (spoofed destinations, say), a new flood still gets a
 * slot: it takes the place of the quietest host not under attack, counted;
 * a new host quieter than every held one is counted as full instead; a host
 * under attack is never given up. */
/* Windows as bytes through det_ingest (the WindowBatch codec): forged ones
 * (a bystander at an infinite rate, negative or NaN rates, a shard beyond
 * the count, too many contributors) are refused whole and counted as
 * malformed, never turned into a ban, while a real flood sent between them
 * is banned. */
static void test_detector_forged_windows_refused_flood_banned(void **state)
{
    (void)state;
    det_t *det = s_det();
    fg_buf_t out;
    const char *why;
    fg_buf_init(&out, 0);
    int forged = 0;
    for (int i = 0; i < 20; i++) {
        win_t w[2];
        Floodgate__HostWindow *hp[2] = {&w[0].hw, &w[1].hw};
        Floodgate__Contributor *many[WB_MAX_TOP + 1];
        Floodgate__WindowBatch wb = FLOODGATE__WINDOW_BATCH__INIT;
        s_win(&w[0], "10.0.0.40", 80000, 1e9, 10); /* the real flood */
        s_win(&w[1], "10.0.0.41", 10, 1e4, 1);     /* a bystander */
        wb.shards = 2;
        wb.seq = ++s_seq[0];
        wb.window_ms = 1000;
        wb.window_end_ms = T0 + (uint64_t)i * 1000;
        wb.n_hosts = 2;
        wb.hosts = hp;
        assert_int_equal(wb_pack(&wb, &out, &why), 0);
        det_ingest(det, (const uint8_t *)out.data, out.len, 0, T0 + (uint64_t)i * 1000);
        /* the forgery of this round, packed by protobuf-c as a forger would */
        switch (i % 5) {
        case 0: w[1].total.pps = INFINITY; break;
        case 1: w[1].udp.bps = -1e9; break;
        case 2: w[1].total.fps = NAN; break;
        case 3: wb.shard = 2; break;
        case 4:
            s_src_port(&w[1], 53, 0.5);
            for (int k = 0; k <= WB_MAX_TOP; k++)
                many[k] = w[1].conp[0];
            w[1].hw.n_top = WB_MAX_TOP + 1;
            w[1].hw.top = many;
            break;
        }
        w[1].total.pps = i % 5 == 0 ? INFINITY : 1e9; /* would cross any threshold */
        size_t n = floodgate__window_batch__get_packed_size(&wb);
        uint8_t *raw = malloc(n);
        floodgate__window_batch__pack(&wb, raw);
        assert_int_equal(det_ingest(det, raw, n, 0, T0 + (uint64_t)i * 1000 + 500), -1);
        free(raw);
        forged++;
    }
    fg_addr_t flood, bystander;
    fg_addr_parse("10.0.0.40", &flood);
    fg_addr_parse("10.0.0.41", &bystander);
    size_t flood_bans = 0;
    for (size_t i = 0; i < s_n_seen; i++) {
        assert_false(fg_addr_eq(&s_seen[i].addr, &bystander));
        flood_bans += fg_addr_eq(&s_seen[i].addr, &flood) && s_seen[i].action == FLOODGATE__ACTION__BAN;
    }
    assert_int_equal(flood_bans, 1);
    assert_int_equal(det_stats(det)->malformed, (uint64_t)forged);
    fg_buf_free(&out);
    det_destroy(&det);
}

static void test_detector_full_table_still_bans_a_flood(void **state)
{
    (void)state;
    char path[600], err[1024];
    snprintf(path, sizeof(path), "%s/small.conf", s_dir);
    hn_write_file(path, "networks\n    monitored = \"10.0.0.0/16\"\n"
                        "aggregator\n    shards = 2\n"
                        "detector\n    max_hosts = 16\n"
                        "hostgroup\n    default\n        average_time = 0\n"
                        "        consecutive_windows = 1\n        threshold_pps = 50000\n");
    fg_config_t *cfg = fg_config_load(path, err, sizeof(err));
    if (!cfg)
        fail_msg("config: %s", err);
    s_n_seen = 0;
    s_seq[0] = s_seq[1] = 0;
    det_t *det = det_new(cfg, s_emit, NULL);
    assert_non_null(det);
    static win_t spoof[32];
    char ip[32];
    for (int k = 0; k < 32; k++) {
        snprintf(ip, sizeof(ip), "10.0.9.%d", k + 1);
        s_win(&spoof[k], ip, k < 16 ? 12000 : 30000, 1e6, 1);
    }
    s_deliver(det, spoof, 16, T0); /* the table is full */
    win_t flood, quiet, flood2;
    s_win(&flood, "10.0.2.1", 60000, 1e6, 1);
    s_win(&quiet, "10.0.2.2", 5000, 1e6, 1);
    s_win(&flood2, "10.0.2.3", 80000, 1e6, 1);
    s_deliver(det, &flood, 1, T0 + 1000);
    assert_int_equal(s_n_seen, 1);
    assert_int_equal(det_stats(det)->evicted, 1);
    s_deliver(det, &quiet, 1, T0 + 1000);
    assert_int_equal(det_stats(det)->attacks_full, 1);
    /* 16 busier newcomers: they push out the quieter hosts, never the flood */
    for (int k = 16; k < 32; k++)
        s_deliver(det, &spoof[k], 1, T0 + 2000);
    fg_addr_t a;
    double v;
    fg_addr_parse("10.0.2.1", &a);
    assert_true(det_host_average(det, &a, 0, 0, 0, &v));
    assert_int_equal(det_attacks(det), 1);
    s_deliver(det, &flood2, 1, T0 + 3000);
    assert_int_equal(s_n_seen, 2);
    fg_addr_parse("10.0.2.3", &a);
    assert_true(fg_addr_eq(&s_seen[1].addr, &a));
    assert_int_equal(s_seen[1].action, FLOODGATE__ACTION__BAN);
    assert_int_equal(det_attacks(det), 2);
    det_destroy(&det);
    fg_config_destroy(&cfg);
}

/* ---- classification ------------------------------------------------------ */

static void test_detector_classify_syn_flood(void **state)
{
    (void)state;
    win_t w;
    s_win(&w, "10.0.0.1", 1000, 0, 0);
    w.udp.pps = 0;
    w.tcp.pps = 1000;
    w.syn.pps = 950;
    assert_string_equal(cls_attack_type(&w.hw), "syn_flood");
    w.syn.pps = 100; /* mostly ACK / SYN-ACK */
    assert_string_equal(cls_attack_type(&w.hw), "tcp_other");
    w.syn.pps = 500; /* half and half: neither reaches 60 % */
    assert_string_equal(cls_attack_type(&w.hw), "mixed");
}

static void test_detector_classify_udp_and_amplification(void **state)
{
    (void)state;
    win_t w;
    s_win(&w, "10.0.0.1", 1000, 0, 0);
    assert_string_equal(cls_attack_type(&w.hw), "udp_flood");
    s_src_port(&w, 53, 0.4); /* the top port below 50 % */
    assert_string_equal(cls_attack_type(&w.hw), "udp_flood");
    s_win(&w, "10.0.0.1", 1000, 0, 0);
    s_src_port(&w, 123, 0.5);
    assert_string_equal(cls_attack_type(&w.hw), "amplification_ntp");
    s_win(&w, "10.0.0.1", 1000, 0, 0);
    s_src_port(&w, 11211, 0.97);
    assert_string_equal(cls_attack_type(&w.hw), "amplification_memcached");
    s_win(&w, "10.0.0.1", 1000, 0, 0);
    s_src_port(&w, 4444, 0.99); /* dominant but not a known service */
    assert_string_equal(cls_attack_type(&w.hw), "udp_flood");
    assert_string_equal(cls_amplification_service(1900), "ssdp");
    assert_string_equal(cls_amplification_service(389), "cldap");
    assert_string_equal(cls_amplification_service(19), "chargen");
    assert_string_equal(cls_amplification_service(161), "snmp");
    assert_null(cls_amplification_service(80));
}

static void test_detector_classify_icmp_frag_mixed(void **state)
{
    (void)state;
    win_t w;
    s_win(&w, "10.0.0.1", 1000, 0, 0);
    w.udp.pps = 0;
    w.icmp.pps = 700;
    w.other.pps = 300;
    assert_string_equal(cls_attack_type(&w.hw), "icmp_flood");
    w.icmp.pps = 100;
    w.frag.pps = 900;
    w.other.pps = 0;
    assert_string_equal(cls_attack_type(&w.hw), "ip_fragmentation");
    w.frag.pps = 0;
    w.other.pps = 1000; /* no type of its own yet */
    assert_string_equal(cls_attack_type(&w.hw), "mixed");
    w.other.pps = 300;
    w.udp.pps = 300;
    w.icmp.pps = 400;
    assert_string_equal(cls_attack_type(&w.hw), "mixed");
    s_win(&w, "10.0.0.1", 0, 0, 0);
    assert_string_equal(cls_attack_type(&w.hw), "mixed");
    w.hw.total = NULL; /* missing rates count as zero */
    w.hw.udp = NULL;
    assert_string_equal(cls_attack_type(&w.hw), "mixed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detector_confidence_bound),
        cmocka_unit_test(test_detector_threshold_pps),
        cmocka_unit_test(test_detector_threshold_mbps),
        cmocka_unit_test(test_detector_threshold_flows),
        cmocka_unit_test(test_detector_threshold_order_pps_first),
        cmocka_unit_test(test_detector_threshold_disabled),
        cmocka_unit_test(test_detector_whitelist_skipped),
        cmocka_unit_test(test_detector_outgoing_unmonitored),
        cmocka_unit_test(test_detector_ban_then_ongoing_rate_limited),
        cmocka_unit_test(test_detector_attack_end_then_fresh_ban),
        cmocka_unit_test(test_detector_attack_expiry_sweeps),
        cmocka_unit_test(test_detector_expiry_spread_over_ticks),
        cmocka_unit_test(test_detector_dropped_ban_is_retried),
        cmocka_unit_test(test_detector_ipv6_host),
        cmocka_unit_test(test_detector_window_sequence_lost),
        cmocka_unit_test(test_detector_wrong_shard_refused),
        cmocka_unit_test(test_detector_decision_carries_top_and_type),
        cmocka_unit_test(test_detector_profile_learnt_in_calm_windows),
        cmocka_unit_test(test_detector_profile_forged_contributors),
        cmocka_unit_test(test_detector_class_threshold_and_consecutive),
        cmocka_unit_test(test_detector_outgoing_thresholds),
        cmocka_unit_test(test_detector_hysteresis_no_flapping),
        cmocka_unit_test(test_detector_exponential_average),
        cmocka_unit_test(test_detector_network_wide_carpet),
        cmocka_unit_test(test_detector_carpet_bans_only_the_attacked_prefix),
        cmocka_unit_test(test_detector_carpet_risen_steady_and_new_hosts),
        cmocka_unit_test(test_detector_carpet_attack_not_learnt),
        cmocka_unit_test(test_detector_full_table_still_bans_a_flood),
        cmocka_unit_test(test_detector_forged_windows_refused_flood_banned),
        cmocka_unit_test(test_detector_classify_syn_flood),
        cmocka_unit_test(test_detector_classify_udp_and_amplification),
        cmocka_unit_test(test_detector_classify_icmp_frag_mixed),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
