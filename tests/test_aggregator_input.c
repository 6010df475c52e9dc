/* Unit tests: what the aggregator does with hostile or untimely input
 * (issue 12): a full host table evicts idle or low-rate hosts, never one
 * above its floor; records count by their own time (a backlog shows its
 * true rate, stale records are dropped, future ones retimed, an exporter's
 * clock lag is learnt); long records' holds are bounded by the learnt
 * active timeout and hold_max, their rates clipped to the ceiling. No real
 * time: every window is closed with an explicit now_ms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aggregator/agg.h"
#include "aggregator/hosttable.h"
#include "common/flowbatch.h"
#include "tests/harness.h"

#define AT_DIR "agginput"
#include "tests/aggtest.h"
}

/* The pps of ip in the window closed at now, 0 when not published. */
static double s_pps(agg_t *agg, uint64_t now, const char *ip)
{
    Floodgate__WindowBatch *wb = at_close(agg, now);
    const Floodgate__HostWindow *hw = at_host(wb, ip, FLOODGATE__DIRECTION__DIR_IN);
    double pps = hw ? hw->total->pps : 0;
    floodgate__window_batch__free_unpacked(wb, NULL);
    return pps;
}

/* A full table evicts an idle host for a new one, or else the lowest-rate
 * one of this window; never a host above its floor. */
static void test_aggregator_full_table_evicts_idle_hosts(void **state)
{
    (void)state;
    fg_config_t *cfg = at_config(1000, 16, NULL);
    agg_t *agg = agg_new(cfg, 0);
    fg_flow_t flood = at_rec("10.0.9.9", "192.0.2.1", FG_PROTO_UDP, 0, 1, 2, 40000, 4e6);
    for (int i = 1; i <= 15; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.0.1.%d", i);
        fg_flow_t r = at_rec(ip, "192.0.2.1", FG_PROTO_UDP, 0, 1, 2, 1, 100);
        agg_add_record(agg, &r, NULL, T0);
    }
    for (uint64_t w = 0; w < 3; w++) { /* the flood goes on, the others fall idle */
        flood.end_ms = flood.start_ms = T0 + w * 1000;
        agg_add_record(agg, &flood, NULL, T0 + w * 1000);
        assert_float_equal(s_pps(agg, T0 + (w + 1) * 1000, "10.0.9.9"), 40000, 1e-6);
    }
    assert_int_equal(agg_hosts_tracked(agg), 16);
    for (int i = 1; i <= 30; i++) { /* 30 new hosts: 15 idle ones, then low-rate ones */
        char ip[32];
        snprintf(ip, sizeof(ip), "10.0.2.%d", i);
        fg_flow_t r = at_rec(ip, "192.0.2.1", FG_PROTO_UDP, 0, 1, 2, i == 30 ? 30000 : 1, 100);
        r.end_ms = r.start_ms = T0 + 3000;
        agg_add_record(agg, &r, NULL, T0 + 3000);
    }
    flood.end_ms = flood.start_ms = T0 + 3000;
    assert_int_equal(agg_add_record(agg, &flood, NULL, T0 + 3000), 0);
    const agg_stats_t *st = agg_stats(agg);
    assert_int_equal(st->hosts_evicted, 30);
    assert_int_equal(st->hosts_refused, 0);
    Floodgate__WindowBatch *wb = at_close(agg, T0 + 4000);
    assert_non_null(at_host(wb, "10.0.9.9", FLOODGATE__DIRECTION__DIR_IN));
    const Floodgate__HostWindow *hw = at_host(wb, "10.0.2.30", FLOODGATE__DIRECTION__DIR_IN);
    assert_non_null(hw); /* a new flood among the new hosts kept its slot */
    assert_float_equal(hw->total->pps, 30000, 1e-6);
    floodgate__window_batch__free_unpacked(wb, NULL);
    agg_destroy(&agg);
    fg_config_destroy(&cfg);
}

/* Pack recs[0..n) from exporter 127.0.0.<ex_last> into batches of at most
 * 1 000 records (one batch sequence for all of them), sent at sent,
 * ingested at now. */
static void s_ingest_from(agg_t *agg, const fg_flow_t *recs, size_t n, uint8_t ex_last,
                          uint64_t sent, uint64_t now)
{
    static uint64_t seq;
    uint8_t ex[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, ex_last};
    for (size_t i = 0; i < n;) {
        fb_builder_t *b = fb_builder_new(1000);
        for (; i < n && fb_add(b, &recs[i], ex) == 0; i++)
            ;
        size_t len = 0;
        uint8_t *buf = fb_pack(b, 1, 0, 1, ++seq, sent, &len);
        assert_int_equal(agg_ingest(agg, buf, len, now), 0);
        free(buf);
        fb_builder_destroy(&b);
    }
}

/* Ingest one batch of records to ip (exporter 127.0.0.7), at pps over
 * [from, from + span), a record every 100 ms lasting dur, sent at sent,
 * arriving at now. */
static void s_ingest_span(agg_t *agg, const char *ip, double pps, uint64_t from, uint64_t span,
                          uint64_t sent, uint64_t now, uint64_t dur)
{
    enum { MAX = 1000 };
    fg_flow_t *recs = calloc(MAX, sizeof(*recs));
    assert_non_null(recs);
    size_t n = 0;
    for (uint64_t t = from; t < from + span && n < MAX; t += 100, n++) {
        recs[n] = at_rec(ip, "192.0.2.1", FG_PROTO_UDP, 0, 1, 2, (uint64_t)(pps / 10), 100);
        recs[n].end_ms = t;
        recs[n].start_ms = t - dur;
    }
    s_ingest_from(agg, recs, n, 7, sent, now);
    free(recs);
}

/* A 10 s backlog arriving in one 200 ms window shows its true rate, not
 * 50 times it; records older than the horizon are stale; a record time
 * after the batch's send time is taken as the send time. */
static void test_aggregator_backlog_true_rate(void **state)
{
    (void)state;
    fg_config_t *cfg = at_config(200, 1000, NULL);
    agg_t *agg = agg_new(cfg, 0);
    uint64_t now = T0 + 60000;
    for (uint64_t t = now - 10000; t < now; t += 200) /* batches queued for 10 s */
        s_ingest_span(agg, "10.0.3.1", 15000, t, 200, t + 150, now, 0);
    s_ingest_span(agg, "10.0.3.1", 15000, now - 90000, 5000, now - 85000, now, 0);
    assert_int_equal(agg_stats(agg)->stale, 50);
    s_ingest_span(agg, "10.0.3.1", 15000, now, 200, now + 150, now + 150, 0); /* live */
    /* 102 records over 10 s: the first one counts at its batch's send time
     * (the exporter's lag is not known yet), the others 50 ms after their
     * end (its least age since): from t + 150 to now + 150 */
    assert_float_equal(s_pps(agg, now + 200, "10.0.3.1"), 15000 * 1.02, 1e-6);
    for (uint64_t t = now + 200; t < now + 1000; t += 200) { /* then live */
        s_ingest_span(agg, "10.0.3.1", 15000, t, 200, t + 150, t + 150, 0);
        assert_float_equal(s_pps(agg, t + 200, "10.0.3.1"), 15000, 1);
    }
    assert_true(agg_stats(agg)->folded >= 98);
    /* the future: a record claiming a later time counts at the send time */
    s_ingest_span(agg, "10.0.3.2", 50000, now + 999000, 100, now + 1050, now + 1050, 0);
    assert_int_equal(agg_stats(agg)->future, 1);
    assert_float_equal(s_pps(agg, now + 1200, "10.0.3.2"), 25000, 1);
    agg_destroy(&agg);
    fg_config_destroy(&cfg);
}

/* Windows (of 200 ms, from T0 + 200) in which ip is published. */
static int s_windows_held(agg_t *agg, const char *ip, uint64_t upto)
{
    int n = 0;
    for (uint64_t now = T0 + 200; now <= upto; now += 200)
        n += s_pps(agg, now, ip) > 0;
    return n;
}

/* A forged record claiming 30 min and 10^12 packets: its rate is clipped
 * to the ceiling and held no longer than the exporter's learnt active
 * timeout (5 s here), or hold_max (8 s) for an exporter not learnt. A long
 * record whose hold was over while its batch waited is late, not held. */
static void test_aggregator_long_record_hold_bounded(void **state)
{
    (void)state;
    fg_config_t *cfg =
        at_config(200, 1000, "aggregator\n    hold_max = 8\n    rate_ceiling_pps = 1000000\n");
    agg_t *agg = agg_new(cfg, 0);
    fg_addr_t ex = at_addr("192.0.2.50"), ex2 = at_addr("192.0.2.51");
    fg_flow_t r = at_rec("10.0.4.1", "192.0.2.1", FG_PROTO_UDP, 0, 1, 2, 5000, 500000);
    for (int i = 0; i < 3; i++) { /* three 5 s records: its active timeout */
        r.sport = (uint16_t)(100 + i);
        r.start_ms = T0 - 5000;
        agg_add_record(agg, &r, &ex, T0);
    }
    fg_flow_t forged = at_rec("10.0.4.2", "192.0.2.9", FG_PROTO_UDP, 0, 1, 2, 1000000000000ULL, 0);
    forged.start_ms = T0 - 1800000;
    agg_add_record(agg, &forged, &ex, T0);
    forged.host = at_addr("10.0.4.3");
    agg_add_record(agg, &forged, &ex2, T0);
    assert_int_equal(agg_stats(agg)->clipped, 2);
    assert_int_equal(agg_stats(agg)->spread_capped, 2);
    int n2 = 0, n3 = 0;
    for (uint64_t now = T0 + 200; now <= T0 + 20000; now += 200) {
        Floodgate__WindowBatch *wb = at_close(agg, now);
        const Floodgate__HostWindow *h2 = at_host(wb, "10.0.4.2", FLOODGATE__DIRECTION__DIR_IN);
        const Floodgate__HostWindow *h3 = at_host(wb, "10.0.4.3", FLOODGATE__DIRECTION__DIR_IN);
        if (h2)
            assert_true(h2->total->pps <= 1000000 * 1.0001);
        n2 += h2 != NULL;
        n3 += h3 != NULL;
        floodgate__window_batch__free_unpacked(wb, NULL);
    }
    assert_int_equal(n2, 25 + 1); /* 5 s, + 1/20 grace */
    assert_int_equal(n3, 40 + 2); /* hold_max 8 s, + grace */
    /* a 5 s record sent 6 s ago: its hold is over */
    s_ingest_span(agg, "10.0.4.4", 50000, T0 + 14000, 100, T0 + 14000, T0 + 20000, 5000);
    assert_int_equal(agg_stats(agg)->spread_late, 1);
    assert_int_equal(s_windows_held(agg, "10.0.4.4", T0 + 1000), 0);
    agg_destroy(&agg);
    fg_config_destroy(&cfg);
}

/* A router whose clock is 5 min behind: its records are not stale, its
 * rate is true; a replay of its datagrams of 2 min ago is stale. */
static void test_aggregator_exporter_clock_lag(void **state)
{
    (void)state;
    fg_config_t *cfg = at_config(200, 1000, NULL);
    agg_t *agg = agg_new(cfg, 0);
    uint64_t now = T0 + 600000, skew = 300000;
    for (uint64_t t = now; t < now + 1000; t += 200) {
        s_ingest_span(agg, "10.0.6.1", 15000, t - skew, 200, t + 150, t + 150, 0);
        assert_float_equal(s_pps(agg, t + 200, "10.0.6.1"), 15000, 1);
    }
    assert_int_equal(agg_stats(agg)->stale, 0);
    s_ingest_span(agg, "10.0.6.1", 15000, now - skew - 120000, 200, now + 1150, now + 1150, 0);
    assert_int_equal(agg_stats(agg)->stale, 2);
    /* 1 100 exporters fill the 1 024-entry table (untracked: lag 0, hold_max);
     * once they have been silent for 10 min, new ones get their places. */
    fg_flow_t r = at_rec("10.0.6.2", "192.0.2.1", FG_PROTO_UDP, 0, 1, 2, 1, 100);
    for (uint32_t i = 0; i < 1100; i++) {
        fg_addr_t x = fg_addr_from_v4(0xc6130000u + i);
        r.end_ms = r.start_ms = now + 2000;
        agg_add_record(agg, &r, &x, now + 2000);
    }
    uint64_t untracked = agg_stats(agg)->exporters_untracked;
    assert_true(untracked >= 1100 - 1024);
    for (uint32_t i = 0; i < 50; i++) {
        fg_addr_t x = fg_addr_from_v4(0xc6140000u + i);
        r.end_ms = r.start_ms = now + 602000;
        agg_add_record(agg, &r, &x, now + 602000);
    }
    assert_int_equal(agg_stats(agg)->exporters_untracked, untracked);
    agg_destroy(&agg);
    fg_config_destroy(&cfg);
}

/* Found by fuzz_flowbatch_agg: held rates are floats, so a small long
 * flow's rate added to a large one's is lost (100 B/s next to 10 GB/s);
 * when the large one ended, then the small one, its host's held rate went
 * negative while a third flow was held, and the shard published no
 * WindowBatch at all (a negative rate breaks the codec's limits) until the
 * third ended: a flood on another host went unseen all that time. */
static void test_aggregator_held_rate_never_negative(void **state)
{
    (void)state;
    fg_config_t *cfg = at_config(200, 1000, NULL);
    agg_t *agg = agg_new(cfg, 0);
    const uint64_t dur[3] = {2000, 4000, 8000}, bytes[3] = {20000000000ULL, 400, 800};
    for (int i = 0; i < 3; i++) {
        fg_flow_t r = at_rec("10.0.4.5", "192.0.2.1", FG_PROTO_TCP, 0x10, (uint16_t)(100 + i), 443,
                             dur[i], bytes[i]);
        r.start_ms = T0 - dur[i];
        agg_add_record(agg, &r, NULL, T0);
    }
    assert_int_equal(agg_stats(agg)->spread, 3);
    int flood_seen = 0;
    for (uint64_t now = T0 + 200; now <= T0 + 10000; now += 200) {
        /* a UDP flood on the same host and on another one */
        for (int k = 0; k < 2; k++) {
            fg_flow_t flood = at_rec(k ? "10.0.4.9" : "10.0.4.5", "192.0.2.7", FG_PROTO_UDP, 0, 1,
                                     2, 10000, 600000);
            flood.start_ms = flood.end_ms = now - 100;
            agg_add_record(agg, &flood, NULL, now - 100);
        }
        Floodgate__WindowBatch *wb = at_close(agg, now); /* fails when not published */
        for (size_t h = 0; h < wb->n_hosts; h++)
            assert_true(wb->hosts[h]->total->bps >= 0 && wb->hosts[h]->tcp->bps >= 0);
        flood_seen += at_host(wb, "10.0.4.9", FLOODGATE__DIRECTION__DIR_IN) != NULL &&
                      at_host(wb, "10.0.4.5", FLOODGATE__DIRECTION__DIR_IN) != NULL;
        floodgate__window_batch__free_unpacked(wb, NULL);
    }
    assert_int_equal(flood_seen, 50);
    agg_destroy(&agg);
    fg_config_destroy(&cfg);
}

/* recs[0..n) from the tests' exporter 127.0.0.8. */
static void s_ingest_recs(agg_t *agg, const fg_flow_t *recs, size_t n, uint64_t sent, uint64_t now)
{
    s_ingest_from(agg, recs, n, 8, sent, now);
}

/* n spoofed 60 s UDP records of packets each, ending at t, sent and
 * ingested at sent: distinct flows from n peers to host, or (by_host) to
 * n hosts from host on. */
static void s_spray(agg_t *agg, const char *host, uint32_t n, uint64_t packets, bool by_host,
                    uint64_t t, uint64_t sent)
{
    fg_flow_t *spray = calloc(n, sizeof(*spray));
    assert_non_null(spray);
    for (uint32_t i = 0; i < n; i++) {
        spray[i] = at_rec(host, "192.0.2.1", FG_PROTO_UDP, 0, (uint16_t)(1 + i % 60000),
                          (uint16_t)(7 + i / 60000), packets, packets * 100);
        if (by_host)
            spray[i].host.lo += i;
        else
            spray[i].peer.lo += i;
        spray[i].end_ms = t;
        spray[i].start_ms = t - 60000;
    }
    s_ingest_recs(agg, spray, n, sent, sent);
    free(spray);
}

/* A spray of spoofed long records of distinct flows, each large enough
 * (1 000 pps, over 1/16 of the floor) to be held by flow, fills the
 * held-flow table (4 096 flows, the least); a legitimate 12 000 pps flow's 60 s
 * record (720 000 packets) on another host then has no room to be held:
 * it used to count whole in one 200 ms window (3.6 Mpps, a false ban);
 * it counts one window's share at its true rate, and the largest record
 * of the window says that share. A short-record flood on a third host is
 * still published at its rate meanwhile. */
static void test_aggregator_held_table_full_no_false_ban(void **state)
{
    (void)state;
    fg_config_t *cfg = at_config(200, 16, NULL);
    agg_t *agg = agg_new(cfg, 0);
    const uint64_t now = T0 + 600000, t = now + 100;
    enum { SPRAY = 6000 };
    s_spray(agg, "10.0.8.1", SPRAY, 60000, false, t, now + 150);
    const agg_stats_t *st = agg_stats(agg);
    assert_int_equal(st->spread, 4096);
    assert_int_equal(st->spread_pooled, 0);
    assert_int_equal(st->spread_refused, SPRAY - 4096);
    fg_flow_t recs[11];
    recs[0] = at_rec("10.0.8.2", "192.0.2.9", FG_PROTO_TCP, 0x18, 443, 50000, 720000, 720000000);
    recs[0].end_ms = t;
    recs[0].start_ms = t - 60000;
    for (int k = 1; k <= 10; k++) { /* 30 000 packets in 200 ms: 150 kpps */
        recs[k] = at_rec("10.0.8.3", "192.0.2.7", FG_PROTO_UDP, 0, (uint16_t)k, 53, 3000, 1800000);
        recs[k].start_ms = recs[k].end_ms = now + 10 * (uint64_t)k;
    }
    s_ingest_recs(agg, recs, 11, now + 150, now + 150);
    assert_int_equal(st->spread_refused, SPRAY - 4096 + 1);
    Floodgate__WindowBatch *wb = at_close(agg, now + 200);
    const Floodgate__HostWindow *hw = at_host(wb, "10.0.8.2", FLOODGATE__DIRECTION__DIR_IN);
    assert_non_null(hw);
    assert_float_equal(hw->total->pps, 12000, 1200);
    assert_float_equal(hw->total->bps, 12000 * 8000.0, 12000 * 800.0);
    assert_true(hw->largest->pps <= hw->total->pps * 1.0001);
    assert_float_equal(hw->largest->pps, 12000, 1200);
    const Floodgate__HostWindow *fl = at_host(wb, "10.0.8.3", FLOODGATE__DIRECTION__DIR_IN);
    assert_non_null(fl);
    assert_true(fl->total->pps > 20000);
    assert_float_equal(fl->total->pps, 150000, 1);
    floodgate__window_batch__free_unpacked(wb, NULL);
    agg_destroy(&agg);
    fg_config_destroy(&cfg);
}

/* A spray of small spoofed long records (10 pps each) over 3 000 hosts
 * fills the pools (hold_blocks 1 024, one per host and class): the rest are
 * refused and counted, each counting one window's share at its average
 * rate. A legitimate host with forty 400 pps long flows (each small, 16 000
 * pps in all) then gets no pool: it shows its true 16 000 pps, not the 3.2
 * Mpps its records would make counted whole; a short-record flood on
 * another host is published at its rate; once the spray's holds end (a
 * twentieth before their 60 s), the pools are free again and the next
 * small record is held. */
static void test_aggregator_pool_full_no_false_ban(void **state)
{
    (void)state;
    fg_config_t *cfg = at_config(200, 8192, "aggregator\n    hold_blocks = 1024\n");
    agg_t *agg = agg_new(cfg, 0);
    const uint64_t now = T0 + 600000, t = now + 100;
    enum { SPRAY = 3000 };
    s_spray(agg, "10.0.16.0", SPRAY, 600, true, t, now + 150);
    const agg_stats_t *st = agg_stats(agg);
    assert_int_equal(st->spread_pooled, 1024);
    assert_int_equal(st->spread_refused, SPRAY - 1024);
    fg_flow_t recs[50];
    for (int k = 0; k < 40; k++) { /* 24 000 packets in 60 s: 400 pps each */
        recs[k] = at_rec("10.0.8.2", "192.0.2.9", FG_PROTO_TCP, 0x18, 443, (uint16_t)(50000 + k),
                         24000, 24000000);
        recs[k].end_ms = t;
        recs[k].start_ms = t - 60000;
    }
    for (int k = 40; k < 50; k++) { /* 30 000 packets in 200 ms: 150 kpps */
        recs[k] = at_rec("10.0.8.3", "192.0.2.7", FG_PROTO_UDP, 0, (uint16_t)k, 53, 3000, 1800000);
        recs[k].start_ms = recs[k].end_ms = now + 10 * (uint64_t)(k - 39);
    }
    s_ingest_recs(agg, recs, 50, now + 150, now + 150);
    assert_int_equal(st->spread_refused, SPRAY - 1024 + 40);
    Floodgate__WindowBatch *wb = at_close(agg, now + 200);
    const Floodgate__HostWindow *hw = at_host(wb, "10.0.8.2", FLOODGATE__DIRECTION__DIR_IN);
    assert_non_null(hw);
    assert_float_equal(hw->total->pps, 16000, 1600);
    const Floodgate__HostWindow *fl = at_host(wb, "10.0.8.3", FLOODGATE__DIRECTION__DIR_IN);
    assert_non_null(fl);
    assert_float_equal(fl->total->pps, 150000, 1);
    floodgate__window_batch__free_unpacked(wb, NULL);
    size_t len;
    for (uint64_t c = now + 400; c <= now + 60000; c += 200)
        assert_non_null(agg_close_window(agg, c, &len));
    assert_int_equal(st->hold_pools, 0);
    fg_flow_t late = at_rec("10.0.8.4", "192.0.2.9", FG_PROTO_TCP, 0x18, 443, 50000, 6000, 6000000);
    late.end_ms = now + 60050;
    late.start_ms = late.end_ms - 30000;
    s_ingest_recs(agg, &late, 1, now + 60100, now + 60100);
    assert_int_equal(st->spread_pooled, 1025);
    assert_int_equal(st->spread_refused, SPRAY - 1024 + 40);
    agg_destroy(&agg);
    fg_config_destroy(&cfg);
}

/* The shard stalls for 10 min (a stopped process, a VM paused): at the
 * next close, longer after the last than any hold, every hold ends, the
 * flow table's (whose wheel events then fire with other windows' ids: they
 * used to be taken as stale, the flow and its rate held for ever) and the
 * pools'. A flood after it is published at its rate, no more. */
static void test_aggregator_holds_end_after_gap(void **state)
{
    (void)state;
    fg_config_t *cfg = at_config(200, 1000, NULL);
    agg_t *agg = agg_new(cfg, 0);
    fg_flow_t big = at_rec("10.0.9.1", "192.0.2.1", FG_PROTO_UDP, 0, 1, 2, 600000, 60000000);
    fg_flow_t small = at_rec("10.0.9.2", "192.0.2.1", FG_PROTO_UDP, 0, 1, 2, 600, 60000);
    big.start_ms = small.start_ms = T0 - 60000;
    big.end_ms = small.end_ms = T0;
    agg_add_record(agg, &big, NULL, T0 + 10);
    agg_add_record(agg, &small, NULL, T0 + 10);
    const agg_stats_t *st = agg_stats(agg);
    assert_int_equal(st->spread, 2);
    assert_int_equal(st->spread_pooled, 1);
    for (uint64_t now = T0 + 200; now <= T0 + 1000; now += 200)
        assert_float_equal(s_pps(agg, now, "10.0.9.1"), 10000, 1);
    assert_int_equal(st->long_flows, 1);
    assert_int_equal(st->hold_pools, 1);
    uint64_t later = T0 + 600000;
    assert_float_equal(s_pps(agg, later, "10.0.9.1"), 0, 0);
    assert_int_equal(st->long_flows, 0);
    assert_int_equal(st->hold_pools, 0);
    s_ingest_span(agg, "10.0.9.1", 50000, later + 20, 100, later + 150, later + 150, 0);
    assert_float_equal(s_pps(agg, later + 200, "10.0.9.1"), 25000, 1);
    agg_destroy(&agg);
    fg_config_destroy(&cfg);
}

/* The group total of the window closed at now (hostgroup 0, in). */
static void s_group_at(agg_t *agg, uint64_t now, double *pps, uint32_t *hosts, int *published)
{
    Floodgate__WindowBatch *wb = at_close(agg, now);
    *pps = 0, *hosts = 0;
    for (size_t g = 0; g < wb->n_groups; g++)
        if (wb->groups[g]->hostgroup == 0 && wb->groups[g]->dir == FLOODGATE__DIRECTION__DIR_IN)
            *pps = wb->groups[g]->total->pps, *hosts = wb->groups[g]->hosts;
    *published = (int)wb->n_hosts;
    floodgate__window_batch__free_unpacked(wb, NULL);
}

/* Hosts that only hold long records' rates (no records since) are not
 * visited at a window close unless over their floor, but their rates stay
 * in their hostgroup's total: a 12 000 pps long flow's 120 s record (held
 * by flow, over the 10 000 pps floor) is published in every window; forty
 * 100 pps long flows on another host (pooled, 4 000 pps, under it) are
 * not, and both count in the group (16 000 pps, 2 hosts) in every window,
 * also past host_idle (60 s: a holder is not forgotten while it holds). A
 * reload that lowers the floor under 4 000 pps publishes the second one,
 * silent. */
/* A host's held total (kept in its entry as the rates change, not summed
 * per record) equals the sum of its classes' held rates in every window,
 * while pooled holds of five classes and SYNs of 2-60 s start and end, and
 * goes to nothing with them. */
static void test_aggregator_held_sum_follows_classes(void **state)
{
    (void)state;
    fg_config_t *cfg = at_config(200, 1000, NULL);
    agg_t *agg = agg_new(cfg, 0);
    static const uint8_t protos[] = {FG_PROTO_TCP, FG_PROTO_TCP, FG_PROTO_UDP, FG_PROTO_ICMP, 47,
                                     FG_PROTO_UDP};
    fg_flow_t recs[60];
    for (int k = 0; k < 60; k++) {
        uint64_t dur = 2000 + (uint64_t)k * 977 % 58000, pps = 100 + (uint64_t)k * 7;
        recs[k] = at_rec("10.0.11.1", "192.0.2.9", protos[k % 6], k % 6 == 0 ? 0x02 : 0x10, 443,
                         (uint16_t)(40000 + k), pps * dur / 1000, pps * dur / 1000 * 100);
        recs[k].frag = k % 6 == 5;
        recs[k].start_ms = T0 - 10 - dur;
        recs[k].end_ms = T0 - 10;
    }
    s_ingest_recs(agg, recs, 60, T0, T0 + 5);
    assert_int_equal(agg_stats(agg)->spread_pooled, 60);
    int seen = 0;
    for (uint64_t now = T0 + 200; now <= T0 + 70000; now += 200) {
        Floodgate__WindowBatch *wb = at_close(agg, now);
        const Floodgate__HostWindow *hw = at_host(wb, "10.0.11.1", FLOODGATE__DIRECTION__DIR_IN);
        if (hw) {
            seen++;
            double sum = hw->tcp->pps + hw->udp->pps + hw->icmp->pps + hw->frag->pps +
                         hw->other->pps;
            assert_float_equal(hw->total->pps, sum, 1e-4 * sum + 0.01);
            assert_float_equal(hw->total->bps,
                               hw->tcp->bps + hw->udp->bps + hw->icmp->bps + hw->frag->bps +
                                   hw->other->bps,
                               1e-4 * hw->total->bps + 1);
            assert_true(hw->tcp_syn->pps <= hw->tcp->pps + 0.01);
            assert_true(hw->udp->pps > 0 || now > T0 + 40000);
        }
        floodgate__window_batch__free_unpacked(wb, NULL);
    }
    assert_true(seen > 50); /* published while over its floor */
    Floodgate__WindowBatch *wb = at_close(agg, T0 + 70200);
    assert_null(at_host(wb, "10.0.11.1", FLOODGATE__DIRECTION__DIR_IN));
    floodgate__window_batch__free_unpacked(wb, NULL);
    agg_destroy(&agg);
    fg_config_destroy(&cfg);
}

static void test_aggregator_silent_holders(void **state)
{
    (void)state;
    fg_config_t *cfg = at_config(200, 1000, NULL);
    agg_t *agg = agg_new(cfg, 0);
    fg_flow_t recs[41];
    recs[0] = at_rec("10.0.10.1", "192.0.2.9", FG_PROTO_TCP, 0x18, 443, 50000, 1440000, 144000000);
    for (int k = 1; k <= 40; k++)
        recs[k] = at_rec("10.0.10.2", "192.0.2.9", FG_PROTO_TCP, 0x18, 443, (uint16_t)(50000 + k),
                         12000, 1200000);
    for (int k = 0; k <= 40; k++) {
        recs[k].start_ms = T0 - 120000;
        recs[k].end_ms = T0 - 10;
    }
    s_ingest_recs(agg, recs, 41, T0, T0 + 5);
    const agg_stats_t *st = agg_stats(agg);
    assert_int_equal(st->spread_pooled, 40);
    for (uint64_t now = T0 + 200; now <= T0 + 100000; now += 200) {
        double pps;
        uint32_t hosts;
        int published;
        s_group_at(agg, now, &pps, &hosts, &published);
        assert_float_equal(pps, 16000, 16);
        assert_int_equal(hosts, 2);
        assert_int_equal(published, 1);
    }
    assert_int_equal(agg_hosts_tracked(agg), 2);
    assert_int_equal(st->hosts_removed, 0);
    at_reload(cfg,
             "networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
             "aggregator\n    tick_ms = 200\n    max_hosts = 1000\n"
             "hostgroup\n    default\n        threshold_pps = 6000\n");
    agg_reload(agg);
    Floodgate__WindowBatch *wb = at_close(agg, T0 + 100200);
    const Floodgate__HostWindow *hw = at_host(wb, "10.0.10.2", FLOODGATE__DIRECTION__DIR_IN);
    assert_non_null(hw);
    assert_float_equal(hw->total->pps, 4000, 4);
    assert_int_equal(wb->n_hosts, 2);
    floodgate__window_batch__free_unpacked(wb, NULL);
    agg_destroy(&agg);
    fg_config_destroy(&cfg);
}

/* A pool spans 31 slots of at most 63 windows: with hold_max 600 s at
 * 100 ms windows, a small 600 s record is held 195.3 s in it (bounded,
 * counted), not refused. */
static void test_aggregator_pool_span_bounds_hold(void **state)
{
    (void)state;
    fg_config_t *cfg = at_config(100, 1000, "aggregator\n    hold_max = 600\n");
    agg_t *agg = agg_new(cfg, 0);
    fg_flow_t r = at_rec("10.0.11.1", "192.0.2.9", FG_PROTO_UDP, 0, 53, 5353, 60000, 6000000);
    r.start_ms = T0 - 600000;
    r.end_ms = T0 - 10;
    agg_add_record(agg, &r, NULL, T0);
    const agg_stats_t *st = agg_stats(agg);
    assert_int_equal(st->spread_pooled, 1);
    assert_int_equal(st->spread_refused, 0);
    assert_true(st->spread_capped >= 1);
    double pps;
    uint32_t hosts;
    int published;
    for (uint64_t now = T0 + 100; now <= T0 + 200000; now += 100) {
        s_group_at(agg, now, &pps, &hosts, &published);
        if (now <= T0 + 195300)
            assert_float_equal(pps, 100, 0.01);
        else
            assert_float_equal(pps, 0, 0);
    }
    agg_destroy(&agg);
    fg_config_destroy(&cfg);
}


/* The e2e heavy-tailed case (flowgen --background 20 --background-pps 12000
 * --active-timeout 60 --sampling 100), 100 ms windows: a new exporter's
 * first datagram holds 10.0.6.1's 60 s record (720 000 packets), one more
 * host's in each of the next 19, while another exporter reports 800 pps of
 * short records per host. Every window shows 12 800 pps for each of them,
 * the first host too (before the exporter's lag and active timeout are
 * learnt): the rate is never above the truth. A host that also holds ten
 * 1 000 pps long flows (another exporter, as the first e2e test leaves on
 * 10.0.4.x) shows the sum, 22 800 pps, and no more. */
static void test_aggregator_first_long_record_true_rate(void **state)
{
    (void)state;
    fg_config_t *cfg = at_config(100, 1000, NULL);
    agg_t *agg = agg_new(cfg, 0);
    fg_flow_t held[10];
    for (int f = 0; f < 10; f++) {
        held[f] = at_rec("10.0.6.20", "203.0.113.1", FG_PROTO_TCP, 0x18, 443, (uint16_t)(30000 + f),
                         60000, 72000000);
        held[f].start_ms = T0 - 60000;
        held[f].end_ms = T0 - 50;
    }
    s_ingest_from(agg, held, 10, 9, T0 - 40, T0 - 38);
    double worst = 0;
    for (int k = 0; k < 100; k++) { /* 10 s of 100 ms slices */
        uint64_t first = T0 + (uint64_t)k * 100, last = first + 99, sent = first + 110;
        fg_flow_t small[20];
        for (int h = 0; h < 20; h++) {
            char ip[32];
            snprintf(ip, sizeof(ip), "10.0.6.%d", h + 1);
            small[h] =
                at_rec(ip, "198.18.0.9", FG_PROTO_TCP, 0x18, 443, (uint16_t)(20000 + h), 80, 64000);
            small[h].start_ms = first;
            small[h].end_ms = last;
        }
        s_ingest_from(agg, small, 20, 8, sent, sent + 1);
        if (k < 20) { /* flowgen: host k's 60 s record, alone in its datagram */
            char ip[32];
            snprintf(ip, sizeof(ip), "10.0.6.%d", k + 1);
            fg_flow_t r = at_rec(ip, "198.18.0.0", FG_PROTO_TCP, 0x18, 443, (uint16_t)(20000 + k),
                                 720000, 576000000);
            r.sampling = 100;
            r.start_ms = last - 60000 + 1;
            r.end_ms = last;
            s_ingest_from(agg, &r, 1, 7, sent, sent + 2);
        }
        Floodgate__WindowBatch *wb = at_close(agg, first + 200);
        for (int h = 0; h < 20 && k >= 20; h++) {
            char ip[32];
            snprintf(ip, sizeof(ip), "10.0.6.%d", h + 1);
            const Floodgate__HostWindow *hw = at_host(wb, ip, FLOODGATE__DIRECTION__DIR_IN);
            assert_non_null(hw);
            double want = h == 19 ? 22800 : 12800;
            if (hw->total->pps / want > worst)
                worst = hw->total->pps / want;
            assert_float_equal(hw->total->pps, want, want * 0.01);
        }
        const Floodgate__HostWindow *h1 = at_host(wb, "10.0.6.1", FLOODGATE__DIRECTION__DIR_IN);
        if (h1) /* from its first window on: never above its true rate */
            assert_true(h1->total->pps <= 12800 * 1.01);
        floodgate__window_batch__free_unpacked(wb, NULL);
    }
    print_message("worst window: %.4f x the true rate\n", worst);
    assert_int_equal(agg_stats(agg)->spread_late, 0);
    agg_destroy(&agg);
    fg_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aggregator_full_table_evicts_idle_hosts),
        cmocka_unit_test(test_aggregator_backlog_true_rate),
        cmocka_unit_test(test_aggregator_long_record_hold_bounded),
        cmocka_unit_test(test_aggregator_held_rate_never_negative),
        cmocka_unit_test(test_aggregator_held_table_full_no_false_ban),
        cmocka_unit_test(test_aggregator_pool_full_no_false_ban),
        cmocka_unit_test(test_aggregator_holds_end_after_gap),
        cmocka_unit_test(test_aggregator_held_sum_follows_classes),
        cmocka_unit_test(test_aggregator_silent_holders),
        cmocka_unit_test(test_aggregator_pool_span_bounds_hold),
        cmocka_unit_test(test_aggregator_exporter_clock_lag),
        cmocka_unit_test(test_aggregator_first_long_record_true_rate),
    };
    return cmocka_run_group_tests(tests, at_setup, at_teardown);
}
