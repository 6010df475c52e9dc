/* Unit tests: the duration-aware rate estimator, from flow records through
 * the aggregator (agg_add_record, agg_close_window) into the detector
 * (det_ingest), with simulated time.
 *
 * The case that makes flow-based detectors ban innocent customers: a host
 * receiving steady traffic at 50 % of its threshold as long flows, exported
 * every 60 s (active timeout) so that their packets arrive in bursts. It
 * must never be banned and, once warmed up, its averaged rate must stay
 * within +-10 % of the true rate; floods at 2x the threshold (as sFlow
 * samples, and as long flow records) must still be banned within 1 s of
 * their first record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aggregator/agg.h"
#include "common/config.h"
#include "detector/detect.h"
#include "tests/harness.h"

#define T0 1700000000000ULL
#define STEP_MS 10
#define N_FLOWS 20
#define FLOW_PPS 500.0 /* x 20 flows = 10000 pps: 50 % of 20000 */
#define PKT_BYTES 1200
#define ACTIVE_TIMEOUT_MS 60000
#define SIM_MS 400000

static char *s_dir;
static fg_config_t *s_cfg;

typedef struct {
    fg_addr_t addr;
    uint64_t decided_ms;
    char type[64], metric[32];
} ban_t;

static ban_t s_bans[32];
static size_t s_n_bans;

static int s_emit(const Floodgate__Decision *d, void *arg)
{
    (void)arg;
    if (d->action != FLOODGATE__ACTION__BAN || s_n_bans == 32)
        return 0;
    ban_t *b = &s_bans[s_n_bans++];
    b->addr.hi = d->addr_hi;
    b->addr.lo = d->addr_lo;
    b->decided_ms = d->decided_ms;
    snprintf(b->type, sizeof(b->type), "%s", d->attack_type);
    snprintf(b->metric, sizeof(b->metric), "%s", d->metric);
    return 0;
}

static int s_setup(void **state)
{
    (void)state;
    char path[600], err[1024];
    s_dir = hn_tmpdir("estimator");
    snprintf(path, sizeof(path), "%s/floodgate.conf", s_dir);
    /* Default averaging, consecutive windows and hysteresis on purpose. */
    hn_write_file(path, "networks\n"
                        "    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
                        "aggregator\n"
                        "    tick_ms = 200\n"
                        "    watch_floor = 0.3\n"
                        "hostgroup\n"
                        "    default\n"
                        "        threshold_pps = 20000\n"
                        "        threshold_mbps = 1000\n"
                        "        threshold_flows = 3500\n");
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

static uint64_t s_rng = 88172645463325252ULL;

static uint64_t s_rand(uint64_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng % n;
}

/* One long flow, exported every active timeout: each record covers
 * [last export, this export] and reaches the aggregator after a delay. */
typedef struct {
    fg_addr_t host, peer;
    uint8_t proto;
    uint16_t sport;
    double pps;
    uint64_t start_ms, next_export_ms;
    uint64_t last_end_ms;
    uint64_t arrive_ms; /* arrival of the pending record, 0 = none */
    fg_flow_t pending;
} lflow_t;

static void s_lflow_init(lflow_t *f, const char *host, uint32_t peer, uint8_t proto,
                         uint16_t sport, double pps, uint64_t start_ms, uint64_t first_ms)
{
    memset(f, 0, sizeof(*f));
    fg_addr_parse(host, &f->host);
    f->peer = fg_addr_from_v4(peer);
    f->proto = proto;
    f->sport = sport;
    f->pps = pps;
    f->start_ms = f->last_end_ms = start_ms;
    f->next_export_ms = first_ms;
}

/* At t: export when due (exporter scan jitter 0-500 ms on each export, so
 * records last 60-60.5 s), deliver when the record has travelled (network
 * and the collector's batching: 20-120 ms). */
static void s_lflow_step(lflow_t *f, agg_t *agg, uint64_t t)
{
    if (!f->arrive_ms && t >= f->next_export_ms) {
        uint64_t end = t;
        fg_flow_t *r = &f->pending;
        memset(r, 0, sizeof(*r));
        r->host = f->host;
        r->peer = f->peer;
        r->proto = f->proto;
        r->tcp_flags = f->proto == 6 ? 0x18 : 0;
        r->sport = f->sport;
        r->dport = 443;
        r->packets = (uint64_t)(f->pps * (double)(end - f->last_end_ms) / 1000.0 + 0.5);
        r->bytes = r->packets * PKT_BYTES;
        r->start_ms = f->last_end_ms;
        r->end_ms = end;
        r->sampling = 1;
        r->dir = FG_DIR_IN;
        f->last_end_ms = end;
        f->next_export_ms = end + ACTIVE_TIMEOUT_MS + s_rand(500);
        f->arrive_ms = end + 20 + s_rand(100);
    }
    if (f->arrive_ms && t >= f->arrive_ms) {
        agg_add_record(agg, &f->pending, NULL, t);
        f->arrive_ms = 0;
    }
}

/* sFlow-like samples: start == end == arrival, pps packets per second in
 * records of one sample each STEP_MS, random sources. */
static void s_samples(agg_t *agg, const char *host, double pps, uint8_t proto, uint16_t sport,
                      uint64_t t)
{
    fg_flow_t r;
    memset(&r, 0, sizeof(r));
    fg_addr_parse(host, &r.host);
    r.peer = fg_addr_from_v4(0xc6336400u + (uint32_t)s_rand(200));
    r.proto = proto;
    r.tcp_flags = proto == 6 ? 0x02 : 0;
    r.sport = sport;
    r.dport = 80;
    r.packets = (uint64_t)(pps * STEP_MS / 1000);
    r.bytes = r.packets * 500;
    r.start_ms = r.end_ms = t;
    r.sampling = 1000;
    r.dir = FG_DIR_IN;
    agg_add_record(agg, &r, NULL, t);
}

static const ban_t *s_ban_of(const char *ip)
{
    fg_addr_t a;
    fg_addr_parse(ip, &a);
    for (size_t i = 0; i < s_n_bans; i++)
        if (fg_addr_eq(&s_bans[i].addr, &a))
            return &s_bans[i];
    return NULL;
}

/* sFlow at 1:1000 as a router samples: each 1 ms a sample (1 000 packets)
 * with probability pps / 1e6, random sources. */
static void s_sflow(agg_t *agg, const char *host, double pps, uint64_t t)
{
    for (uint64_t ms = 0; ms < STEP_MS; ms++) {
        if ((double)s_rand(1000000) >= pps)
            continue;
        fg_flow_t r;
        memset(&r, 0, sizeof(r));
        fg_addr_parse(host, &r.host);
        r.peer = fg_addr_from_v4(0xc6336400u + (uint32_t)s_rand(200));
        r.proto = 17;
        r.sport = (uint16_t)(1024 + s_rand(60000));
        r.dport = 80;
        r.packets = 1000;
        r.bytes = r.packets * 500;
        r.start_ms = r.end_ms = t + ms;
        r.sampling = 1000;
        r.dir = FG_DIR_IN;
        agg_add_record(agg, &r, NULL, t + ms);
    }
}

/* Step the aggregator to now and hand its window to the detector at each
 * tick. */
static void s_close_if_due(agg_t *agg, det_t *det, uint64_t now)
{
    if (now % (uint64_t)s_cfg->aggregator.tick_ms)
        return;
    size_t len = 0;
    const uint8_t *buf = agg_close_window(agg, now, &len);
    assert_non_null(buf);
    assert_int_equal(det_ingest(det, buf, len, 0, now), 0);
}

/* The confidence bound (hostgroup confidence, default 3): a flood at 5x
 * the threshold in sFlow samples is banned on its first whole window; one
 * at 1.2x only after averaging; a host at half the threshold in sparse
 * samples (about 2 a window, some windows with 5 or 6: a naive one-window
 * rule bans it) and a host that receives one record of 20 000 packets
 * (5x the threshold over a window) never. */
static void test_estimator_confidence_bound(void **state)
{
    (void)state;
    s_n_bans = 0;
    agg_t *agg = agg_new(s_cfg, 0);
    det_t *det = det_new(s_cfg, s_emit, NULL);
    assert_non_null(agg);
    assert_non_null(det);
    const uint64_t flood_at = T0 + 60000, border_at = T0 + 90000, big_at = T0 + 45000;
    for (uint64_t t = T0; t < T0 + 120000; t += STEP_MS) {
        s_sflow(agg, "10.0.2.1", 10000, t); /* half the threshold, all along */
        if (t >= flood_at)
            s_sflow(agg, "10.0.2.2", 100000, t);
        if (t >= border_at)
            s_sflow(agg, "10.0.2.3", 24000, t);
        if (t == big_at) {
            fg_flow_t r;
            memset(&r, 0, sizeof(r));
            fg_addr_parse("10.0.2.4", &r.host);
            r.peer = fg_addr_from_v4(0xc6336401u);
            r.proto = 17;
            r.packets = 20000;
            r.bytes = r.packets * 500;
            r.start_ms = r.end_ms = t;
            r.sampling = 1;
            r.dir = FG_DIR_IN;
            agg_add_record(agg, &r, NULL, t);
        }
        s_close_if_due(agg, det, t + STEP_MS);
    }
    assert_null(s_ban_of("10.0.2.1"));
    assert_null(s_ban_of("10.0.2.4"));
    const ban_t *f = s_ban_of("10.0.2.2"), *b = s_ban_of("10.0.2.3");
    assert_non_null(f);
    assert_non_null(b);
    printf("# 5x sFlow flood banned %llu ms after its first sample, 1.2x after %llu ms\n",
           (unsigned long long)(f->decided_ms - flood_at),
           (unsigned long long)(b->decided_ms - border_at));
    /* the flood starts on a tick: its first window is whole */
    assert_int_equal(f->decided_ms - flood_at, s_cfg->aggregator.tick_ms);
    /* 1.2x: the 1 s average needs about 1.8 s to cross it */
    assert_true(b->decided_ms - border_at > 3 * (uint64_t)s_cfg->aggregator.tick_ms);
    assert_true(b->decided_ms - border_at <= 5000);
    assert_int_equal(s_n_bans, 2);
    det_destroy(&det);
    agg_destroy(&agg);
}

static void test_estimator_long_flows_never_banned_floods_are(void **state)
{
    (void)state;
    agg_t *agg = agg_new(s_cfg, 0);
    det_t *det = det_new(s_cfg, s_emit, NULL);
    assert_non_null(agg);
    assert_non_null(det);
    enum { N = 2 * N_FLOWS + 1 };
    lflow_t fl[N];
    /* 10.0.1.1: 20 flows exported all at once (the worst burst);
     * 10.0.1.2: 20 flows at random phases. */
    for (int i = 0; i < N_FLOWS; i++) {
        s_lflow_init(&fl[i], "10.0.1.1", 0xcb007100u + (uint32_t)i, 6, (uint16_t)(40000 + i),
                     FLOW_PPS, T0, T0 + ACTIVE_TIMEOUT_MS);
        /* started up to 60 s before T0, so first exported before T0 + 60 s */
        uint64_t first = T0 + ACTIVE_TIMEOUT_MS - s_rand(ACTIVE_TIMEOUT_MS);
        s_lflow_init(&fl[N_FLOWS + i], "10.0.1.2", 0xcb007100u + (uint32_t)i, 17,
                     (uint16_t)(40000 + i), FLOW_PPS, first - ACTIVE_TIMEOUT_MS, first);
    }
    /* 10.0.1.4: a UDP flood at 2x the threshold from 150 s, one long flow
     * exported every 60 s: its first record arrives about 210 s. */
    s_lflow_init(&fl[N - 1], "10.0.1.4", 0xc6336401u, 17, 53, 40000, T0 + 150000,
                 T0 + 210000);
    double worst[2] = {0, 0}, lo[2] = {1e18, 1e18}, hi[2] = {0, 0};
    uint64_t first_c = 0, first_d = 0;
    for (uint64_t t = T0; t < T0 + SIM_MS; t += STEP_MS) {
        for (int i = 0; i < N; i++) {
            uint64_t before = fl[i].arrive_ms;
            s_lflow_step(&fl[i], agg, t);
            if (i == N - 1 && before && !fl[i].arrive_ms && !first_d)
                first_d = t;
        }
        /* 10.0.1.3: an sFlow-sampled SYN flood at 2x the threshold from 300 s. */
        if (t >= T0 + 300000) {
            if (!first_c)
                first_c = t;
            s_samples(agg, "10.0.1.3", 40000, 6, 1234, t);
        }
        uint64_t now = t + STEP_MS;
        if (now % (uint64_t)s_cfg->aggregator.tick_ms)
            continue;
        size_t len = 0;
        const uint8_t *buf = agg_close_window(agg, now, &len);
        assert_non_null(buf);
        assert_int_equal(det_ingest(det, buf, len, 0, now), 0);
        if (now < T0 + 65000)
            continue; /* warm-up: every flow has been exported once */
        for (int h = 0; h < 2; h++) {
            fg_addr_t a;
            fg_addr_parse(h ? "10.0.1.2" : "10.0.1.1", &a);
            double v = 0;
            if (!det_host_average(det, &a, FG_DIR_IN, FG_CLS_TOTAL, 0, &v))
                fail_msg("no average for host %d at %llu ms", h,
                         (unsigned long long)(now - T0));
            lo[h] = v < lo[h] ? v : lo[h];
            hi[h] = v > hi[h] ? v : hi[h];
            double err = v / (N_FLOWS * FLOW_PPS) - 1;
            if (err < 0)
                err = -err;
            if (err > worst[h])
                worst[h] = err;
        }
    }
    printf("# averaged rate after warm-up, true 10000 pps: %.0f..%.0f (one burst), "
           "%.0f..%.0f (random phases): worst error %.2f %% / %.2f %%\n", lo[0], hi[0], lo[1],
           hi[1], worst[0] * 100, worst[1] * 100);
    assert_true(worst[0] <= 0.10);
    assert_true(worst[1] <= 0.10);
    assert_null(s_ban_of("10.0.1.1"));
    assert_null(s_ban_of("10.0.1.2"));
    const ban_t *c = s_ban_of("10.0.1.3"), *d = s_ban_of("10.0.1.4");
    assert_non_null(c);
    assert_non_null(d);
    printf("# 2x floods banned %llu ms (sFlow samples) and %llu ms (60 s flow records) "
           "after their first record\n", (unsigned long long)(c->decided_ms - first_c),
           (unsigned long long)(d->decided_ms - first_d));
    assert_true(c->decided_ms - first_c <= 1000);
    assert_true(d->decided_ms - first_d <= 1000);
    assert_string_equal(c->type, "syn_flood");
    assert_string_equal(d->type, "amplification_dns");
    assert_int_equal(s_n_bans, 2);
    const agg_stats_t *st = agg_stats(agg);
    assert_true(st->spread > 0);
    assert_int_equal(st->spread_refused, 0);
    det_destroy(&det);
    agg_destroy(&agg);
}

/* A lone record (its flow's last) holds its rate for its duration plus
 * the grace (a twentieth: 2 of 45 windows of 200 ms), then nothing. */
static void test_estimator_spread_conserves_packets(void **state)
{
    (void)state;
    agg_t *agg = agg_new(s_cfg, 0);
    fg_flow_t r;
    memset(&r, 0, sizeof(r));
    fg_addr_parse("10.0.2.1", &r.host);
    r.peer = fg_addr_from_v4(0x0a000001u);
    r.proto = 17;
    r.packets = 90000; /* 9 s: 45 windows of 200 ms, 10000 pps */
    r.bytes = 90000 * 100;
    r.start_ms = T0 - 9000;
    r.end_ms = T0 - 1;
    r.sampling = 1;
    agg_add_record(agg, &r, NULL, T0 + 50);
    double sum = 0;
    int windows = 0;
    for (uint64_t now = T0 + 200; now <= T0 + 20000; now += 200) {
        size_t len = 0;
        const uint8_t *buf = agg_close_window(agg, now, &len);
        Floodgate__WindowBatch *wb = floodgate__window_batch__unpack(NULL, len, buf);
        assert_non_null(wb);
        for (size_t i = 0; i < wb->n_hosts; i++) {
            assert_float_equal(wb->hosts[i]->total->pps, 10000, 1e-2);
            assert_float_equal(wb->hosts[i]->udp->pps, 10000, 1e-2);
            assert_float_equal(wb->hosts[i]->total->bps, 8e6, 1);
            sum += wb->hosts[i]->total->pps * 0.2;
            windows++;
        }
        floodgate__window_batch__free_unpacked(wb, NULL);
    }
    assert_int_equal(windows, 45 + 2);
    assert_float_equal(sum, 90000 + 2 * 2000, 1);
    assert_int_equal(agg_stats(agg)->spread, 1);
    /* it ended before the open window: folded into it, held whole (the
     * batch did not wait: it is not late) */
    assert_int_equal(agg_stats(agg)->folded, 1);
    assert_int_equal(agg_stats(agg)->spread_late, 0);
    agg_destroy(&agg);
}

/* Records whose times make no sense are counted and count at arrival;
 * a record longer than hold_max (120 s by default) has its true rate
 * (packets / duration) held for hold_max only, counted as bounded. */
static void test_estimator_bad_and_overlong_times_counted(void **state)
{
    (void)state;
    agg_t *agg = agg_new(s_cfg, 0);
    fg_flow_t r;
    memset(&r, 0, sizeof(r));
    fg_addr_parse("10.0.2.2", &r.host);
    r.proto = 6;
    r.packets = 1000;
    r.bytes = 1000 * 60;
    r.start_ms = T0 + 5000;
    r.end_ms = T0; /* ends before it starts */
    agg_add_record(agg, &r, NULL, T0);
    r.start_ms = T0 - 7200000; /* two hours */
    r.end_ms = T0;
    agg_add_record(agg, &r, NULL, T0);
    const agg_stats_t *st = agg_stats(agg);
    assert_int_equal(st->bad_times, 1);
    assert_int_equal(st->spread, 1);
    assert_int_equal(st->spread_capped, 1);
    size_t len = 0;
    const uint8_t *buf = agg_close_window(agg, T0 + 200, &len);
    Floodgate__WindowBatch *wb = floodgate__window_batch__unpack(NULL, len, buf);
    assert_non_null(wb);
    assert_int_equal(wb->n_groups, 1);
    /* 1000 packets in 200 ms, plus 1000 packets over 7200 s. */
    assert_float_equal(wb->groups[0]->total->pps, 5000 + 1000.0 / 7200, 1e-3);
    floodgate__window_batch__free_unpacked(wb, NULL);
    agg_destroy(&agg);
}

/* The pps 10.0.2.3 shows in the window closed at now (0 when unpublished). */
static double s_pps_at(agg_t *agg, uint64_t now)
{
    size_t len = 0;
    const uint8_t *buf = agg_close_window(agg, now, &len);
    Floodgate__WindowBatch *wb = floodgate__window_batch__unpack(NULL, len, buf);
    assert_non_null(wb);
    double pps = wb->n_hosts ? wb->hosts[0]->total->pps : 0;
    floodgate__window_batch__free_unpacked(wb, NULL);
    return pps;
}

/* A flow's next record replaces its held rate, whether it ends later or
 * sooner than the previous one; then the hold ends with the last one. */
static void test_estimator_renewal_replaces_rate(void **state)
{
    (void)state;
    agg_t *agg = agg_new(s_cfg, 0);
    fg_flow_t r;
    memset(&r, 0, sizeof(r));
    fg_addr_parse("10.0.2.3", &r.host);
    r.peer = fg_addr_from_v4(0x0a000009u);
    r.proto = 17;
    r.sport = 5000;
    r.dport = 6000;
    r.sampling = 1;
    r.packets = 600000; /* 60 s at 10000 pps */
    r.bytes = r.packets * 100;
    r.start_ms = T0 - 60000;
    r.end_ms = T0;
    agg_add_record(agg, &r, NULL, T0 + 10);
    assert_float_equal(s_pps_at(agg, T0 + 200), 10000, 1e-2);
    /* 2 s later, a 2 s record at 20000 pps: the same flow, replaced. */
    for (uint64_t now = T0 + 400; now <= T0 + 2000; now += 200)
        assert_float_equal(s_pps_at(agg, now), 10000, 1e-2);
    r.packets = 40000;
    r.start_ms = T0;
    r.end_ms = T0 + 2000;
    agg_add_record(agg, &r, NULL, T0 + 2010);
    assert_float_equal(s_pps_at(agg, T0 + 2200), 20000, 1e-2);
    assert_int_equal(agg_stats(agg)->spread_renewed, 1);
    /* It lasts 2 s (10 windows, no grace under 20), not what is left of 63 s. */
    int held = 1;
    for (uint64_t now = T0 + 2400; now <= T0 + 10000; now += 200)
        if (s_pps_at(agg, now) > 0)
            held++;
    assert_int_equal(held, 10);
    assert_int_equal(agg_stats(agg)->long_flows, 0);
    agg_destroy(&agg);
}

/* Many short flows (300 ms, just over a tick), never renewed: the rate
 * shown is the true one, not multiplied by a fixed grace. */
static void test_estimator_short_flows_not_inflated(void **state)
{
    (void)state;
    agg_t *agg = agg_new(s_cfg, 0);
    fg_flow_t r;
    memset(&r, 0, sizeof(r));
    fg_addr_parse("10.0.2.3", &r.host);
    r.proto = 6;
    r.tcp_flags = 0x1b;
    r.dport = 443;
    r.sampling = 1;
    r.packets = 60;
    r.bytes = 60 * 800;
    uint16_t port = 1024;
    for (uint64_t now = T0; now < T0 + 10000; now += 200) {
        for (int i = 0; i < 30; i++) { /* 30 flows of 60 packets per 200 ms */
            r.sport = port++;
            r.peer = fg_addr_from_v4(0x0b000000u + port);
            r.start_ms = now - 300;
            r.end_ms = now;
            agg_add_record(agg, &r, NULL, now + 1);
        }
        double pps = s_pps_at(agg, now + 200);
        if (now >= T0 + 400)
            assert_float_equal(pps, 9000, 1e-2);
    }
    agg_destroy(&agg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_estimator_long_flows_never_banned_floods_are),
        cmocka_unit_test(test_estimator_confidence_bound),
        cmocka_unit_test(test_estimator_spread_conserves_packets),
        cmocka_unit_test(test_estimator_bad_and_overlong_times_counted),
        cmocka_unit_test(test_estimator_renewal_replaces_rate),
        cmocka_unit_test(test_estimator_short_flows_not_inflated),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
