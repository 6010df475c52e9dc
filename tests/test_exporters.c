/* Unit tests: the exporter streams' table (collector/exporters.c) and, through
 * col_datagram(), the defences of the collector against floods of forged
 * exporters and templates: idle expiry, per-address caps, established
 * streams never displaced, bounded per-exporter output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <czmq.h>

#include "cli/scrape.h"
#include "collector/col_metrics.h"
#include "collector/collector.h"
#include "collector/exporters.h"
#include "collector/netflow_v5.h"
#include "collector/templates.h"
#include "common/config.h"
#include "tests/flowtest.h"
#include "tests/harness.h"

/* ---- the table alone ---- */

static exp_limits_t s_lim(size_t max, uint32_t per_addr)
{
    return (exp_limits_t){max, per_addr, 1000, 60000, 10000};
}

static fg_addr_t s_v4(uint32_t a)
{
    return fg_addr_from_v4(a);
}

/* Make e established the way the collector does: datagrams in sequence with
 * flow records for established_ms. */
static void s_establish(exp_table_t *t, exp_entry_t *e, uint64_t t0, uint64_t t1)
{
    e->st.records = 10;
    for (uint32_t i = 0; i < EXP_ESTABLISHED_DATAGRAMS; i++) {
        e->seq.run = i + 1;
        e->last_ms = i == 0 ? t0 : t1;
        exp_seen(t, e, e->last_ms);
    }
}

/* Streams idle for idle_ms are forgotten by the sweep; the others stay. */
static void test_exporters_idle_expiry(void **state)
{
    (void)state;
    exp_limits_t lim = s_lim(16, 16);
    exp_table_t *t = exp_table_new(&lim);
    for (uint32_t i = 0; i < 3; i++) {
        exp_entry_t *e = exp_get(t, &(fg_addr_t){0}, 9, i, false, 0);
        assert_non_null(e);
        e->last_ms = i == 2 ? 50000 : 1000;
    }
    assert_int_equal(exp_expire(t, 30000, 16), 0); /* idle 29 s < 60 s */
    assert_int_equal(exp_expire(t, 62000, 16), 2);
    assert_int_equal(exp_count(t), 1);
    assert_int_equal(exp_stats(t)->expired, 2);
    assert_int_equal(exp_addr_streams(t, &(fg_addr_t){0}), 1);
    /* the sweep is bounded: 4 slots per call */
    assert_int_equal(exp_expire(t, 200000, 4) + exp_expire(t, 200000, 4) +
                         exp_expire(t, 200000, 4) + exp_expire(t, 200000, 4),
                     1);
    assert_int_equal(exp_count(t), 0);
    exp_table_destroy(&t);
    exp_table_destroy(&t);
}

/* One address holds at most max_streams_per_addr streams: a new one
 * displaces one of them (never an established one; refused when all are),
 * and the other addresses are untouched. */
static void test_exporters_per_address_cap(void **state)
{
    (void)state;
    exp_limits_t lim = s_lim(64, 4);
    exp_table_t *t = exp_table_new(&lim);
    fg_addr_t a = s_v4(0x7f000001), b = s_v4(0x7f000002);
    exp_entry_t *eb = exp_get(t, &b, 10, 7, false, 0);
    for (uint32_t d = 0; d < 100; d++) {
        exp_entry_t *e = exp_get(t, &a, 10, d, false, d);
        assert_non_null(e);
        e->last_ms = d;
    }
    assert_int_equal(exp_addr_streams(t, &a), 4);
    assert_int_equal(exp_stats(t)->evicted, 96);
    assert_ptr_equal(exp_get(t, &b, 10, 7, false, 200), eb);
    /* establish the four of a: the next arrival of a is refused */
    for (size_t i = 0; i < exp_capacity(t); i++) {
        exp_entry_t *e = (exp_entry_t *)exp_at(t, i);
        if (e && fg_addr_eq(&e->addr, &a))
            s_establish(t, e, 1000, 20000);
    }
    assert_int_equal(exp_established(t), 4);
    assert_null(exp_get(t, &a, 10, 5000, false, 30000));
    assert_int_equal(exp_stats(t)->refused, 1);
    assert_int_equal(exp_addr_streams(t, &a), 4);
    exp_table_destroy(&t);
}

/* A full table: new arrivals displace unestablished streams (idle ones
 * first, then those without records, then the longest silent), never an
 * established one; a table full of established streams refuses. */
static void test_exporters_established_not_displaced(void **state)
{
    (void)state;
    exp_limits_t lim = s_lim(8, 8);
    exp_table_t *t = exp_table_new(&lim);
    exp_entry_t *est[2], *busy;
    uint32_t gen[2];
    for (int i = 0; i < 2; i++) {
        fg_addr_t r = s_v4(0x0a000001u + (uint32_t)i);
        est[i] = exp_get(t, &r, 10, 1, false, 0);
        s_establish(t, est[i], 0, 20000);
        gen[i] = est[i]->gen;
    }
    /* not established, but it sends records and is not idle */
    fg_addr_t rb = s_v4(0x0a0000ffu);
    busy = exp_get(t, &rb, 10, 1, false, 0);
    busy->st.records = 5;
    uint32_t busy_gen = busy->gen;
    for (uint32_t i = 0; i < 1000; i++) {
        fg_addr_t f = s_v4(0xc6336400u + i); /* forged, each its own address */
        uint64_t now = 20000 + i;
        busy->last_ms = now; /* it keeps sending */
        exp_entry_t *e = exp_get(t, &f, 9, i, false, now);
        assert_non_null(e);
        e->last_ms = now;
    }
    assert_int_equal(exp_count(t), 8);
    for (int i = 0; i < 2; i++)
        assert_non_null(exp_live(t, est[i]->idx, gen[i]));
    assert_non_null(exp_live(t, busy->idx, busy_gen));
    assert_int_equal(exp_stats(t)->evicted, 1000 - 5);
    assert_int_equal(exp_stats(t)->refused, 0);
    /* an idle stream goes before a busy forged one */
    for (size_t i = 0; i < exp_capacity(t); i++) {
        exp_entry_t *e = (exp_entry_t *)exp_at(t, i);
        if (e && e != busy && !e->established)
            s_establish(t, e, 21000, 40000);
    }
    busy->last_ms = 0;
    fg_addr_t n1 = s_v4(0x01020304);
    assert_non_null(exp_get(t, &n1, 5, 0, false, 70000)); /* busy was idle: gone */
    assert_null(exp_live(t, busy->idx, busy_gen));
    /* n1 becomes established too: now nothing can be displaced */
    s_establish(t, (exp_entry_t *)exp_get(t, &n1, 5, 0, false, 70000), 70000, 90000);
    assert_int_equal(exp_established(t), 8);
    fg_addr_t n2 = s_v4(0x01020305);
    assert_null(exp_get(t, &n2, 5, 0, false, 90000));
    assert_int_equal(exp_stats(t)->refused, 1);
    exp_table_destroy(&t);
}

/* An allow-listed (trusted) stream is established with its first record;
 * without records it is not. */
static void test_exporters_trusted_established_by_records(void **state)
{
    (void)state;
    exp_limits_t lim = s_lim(8, 8);
    exp_table_t *t = exp_table_new(&lim);
    fg_addr_t r = s_v4(0x0a000001u);
    exp_entry_t *e = exp_get(t, &r, 9, 1, true, 0);
    e->seq.run = 1;
    exp_seen(t, e, 0);
    assert_false(e->established);
    e->st.records = 1;
    exp_seen(t, e, 1);
    assert_true(e->established);
    exp_table_destroy(&t);
}

/* The busiest streams by records, most first, at most n. */
static void test_exporters_top_bounded(void **state)
{
    (void)state;
    exp_limits_t lim = s_lim(256, 256);
    exp_table_t *t = exp_table_new(&lim);
    for (uint32_t i = 0; i < 200; i++) {
        fg_addr_t a = s_v4(0x0a000000u + (i * 7919u) % 200u);
        exp_entry_t *e = exp_get(t, &a, 5, 0, false, 0);
        e->st.records = (i * 7919u) % 200u;
    }
    uint32_t top[5];
    assert_int_equal(exp_top(t, top, 5), 5);
    for (int k = 0; k < 5; k++)
        assert_int_equal(exp_at(t, top[k])->st.records, 199 - k);
    uint32_t all[300];
    assert_int_equal(exp_top(t, all, 300), 200);
    exp_table_destroy(&t);
}

/* ---- through the collector, with real packets ---- */

typedef struct {
    char *dir;
    fg_config_t *cfg;
    col_t *col;
} fx_t;

static void s_start(fx_t *fx, const char *extra)
{
    char text[2048], path[512], err[1024];
    memset(fx, 0, sizeof(*fx));
    fx->dir = hn_tmpdir("exporters");
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"0.0.0.0/0, ::/0\"\n"
             "collector\n    batch_records = 1000\n%s"
             "aggregator\n    shards = 1\n    pull_connect = \"tcp://127.0.0.1:%d\"\n",
             extra, hn_free_port());
    snprintf(path, sizeof(path), "%s/floodgate.conf", fx->dir);
    hn_write_file(path, text);
    fx->cfg = fg_config_load(path, err, sizeof(err));
    if (!fx->cfg)
        fail_msg("config: %s", err);
    fx->col = col_new(fx->cfg, err, sizeof(err));
    if (!fx->col)
        fail_msg("col_new: %s", err);
}

static void s_stop(fx_t *fx)
{
    col_destroy(&fx->col);
    fg_config_destroy(&fx->cfg);
    hn_rmdir(fx->dir);
    free(fx->dir);
}

/* A v9 (ipfix false) or IPFIX datagram defining n templates (ids 256..)
 * for source id / observation domain domain, sequence seq. */
static void s_templates(ft_wr_t *w, bool ipfix, uint32_t domain, uint32_t seq, int n)
{
    w->n = 0;
    ft_u16(w, ipfix ? 10 : 9);
    ft_u16(w, ipfix ? 0 : (uint16_t)n); /* IPFIX: length, patched below */
    if (!ipfix)
        ft_u32(w, 100000); /* sysUptime */
    ft_u32(w, 1795000000);
    ft_u32(w, seq);
    ft_u32(w, domain);
    size_t set = w->n;
    ft_u16(w, ipfix ? 2 : 0);
    ft_u16(w, 0);
    for (int k = 0; k < n; k++) {
        ft_u16(w, (uint16_t)(256 + k));
        ft_u16(w, 4);
        static const uint16_t f[4][2] = {{8, 4}, {12, 4}, {2, 4}, {1, 4}};
        for (int j = 0; j < 4; j++) {
            ft_u16(w, f[j][0]);
            ft_u16(w, f[j][1]);
        }
    }
    ft_patch16(w, set + 2, set);
    if (ipfix)
        ft_patch16(w, 2, 0);
}

static uint32_t s_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* n forged datagrams of 20 templates each, random source ids / domains
 * (never the real exporter's, 0), from `from` and from 50 other addresses
 * in turn. */
static void s_flood(fx_t *fx, const fg_addr_t *from, int n, uint32_t *rng, uint64_t now)
{
    ft_wr_t w;
    for (int i = 0; i < n; i++) {
        fg_addr_t a = i % 2 ? *from : s_v4(0x7f000100u + (uint32_t)(i % 50));
        s_templates(&w, i % 3 == 0, (s_rand(rng) | 1), s_rand(rng), 20);
        col_datagram(fx->col, w.b, w.n, &a, now);
    }
}

/* The stream of (addr, proto) with the most templates, or NULL. */
static const exp_entry_t *s_stream_of(fx_t *fx, const fg_addr_t *addr, uint8_t proto,
                                      uint32_t domain)
{
    const exp_table_t *t = col_exporters(fx->col);
    for (size_t i = 0; i < exp_capacity(t); i++) {
        const exp_entry_t *e = exp_at(t, i);
        if (e && e->proto == proto && e->domain == domain && fg_addr_eq(&e->addr, addr))
            return e;
    }
    return NULL;
}

/* Templates in the collector's cache, from its stats line. */
static long s_templates_held(fx_t *fx)
{
    char line[4096];
    const char *p = strstr(col_stats_format(fx->col, line, sizeof(line)), " templates=");
    assert_non_null(p);
    return strtol(p + strlen(" templates="), NULL, 10);
}

static uint64_t s_replay(fx_t *fx, const ft_pcap_t *pc, const fg_addr_t *from, uint64_t now)
{
    uint64_t r0 = col_stats(fx->col)->records;
    for (int i = 0; i < pc->n; i++)
        col_datagram(fx->col, pc->data[i], pc->len[i], from, now);
    return col_stats(fx->col)->records - r0;
}

/* The attack of issue 12: thousands of forged datagrams from one address
 * (and 50 others) with random source ids / domains and 20 templates each,
 * before and while a real IPFIX exporter at the same address exports: the
 * real exporter's templates are taken and its every record decoded, the
 * tables stay within their caps, and its stream outlives the flood. */
static void test_exporters_template_flood_then_real_ipfix(void **state)
{
    (void)state;
    fx_t base, fx;
    ft_pcap_t pc;
    assert_int_equal(ft_pcap_load("tests/data/ipfix_softflowd.pcap", &pc), 0);
    fg_addr_t real = s_v4(0x7f000001);
    s_start(&base, "");
    uint64_t want = s_replay(&base, &pc, &real, 1000); /* the records alone */
    assert_true(want > 0);
    s_stop(&base);
    s_start(&fx, "    max_exporters = 64\n    max_streams_per_address = 16\n"
                 "    max_templates_per_address = 200\n    max_templates_total = 512\n");
    uint32_t rng = 12345;
    s_flood(&fx, &real, 3000, &rng, 1000);
    const exp_table_t *t = col_exporters(fx.col);
    assert_true(exp_count(t) <= 64);
    assert_true(exp_addr_streams(t, &real) <= 16);
    assert_true(exp_addr_templates(t, &real) <= 200);
    assert_int_equal(s_replay(&fx, &pc, &real, 1100), want);
    const exp_entry_t *e = s_stream_of(&fx, &real, 10, 0);
    assert_non_null(e);
    uint32_t idx = e->idx, gen = e->gen, tpls = e->n_templates;
    assert_true(tpls > 0);
    s_flood(&fx, &real, 3000, &rng, 1200); /* and the flood goes on */
    assert_non_null(exp_live((exp_table_t *)t, idx, gen));
    assert_int_equal(e->n_templates, tpls);
    assert_int_equal(s_replay(&fx, &pc, &real, 1300), want);
    assert_int_equal(e->st.sets_no_template, 0);
    assert_true(s_templates_held(&fx) <= 512);
    assert_true(exp_addr_templates(t, &real) <= 200);
    assert_true(exp_stats(t)->evicted > 5000);
    char line[4096];
    col_stats_format(fx.col, line, sizeof(line));
    assert_non_null(strstr(line, "exporters_evicted="));
    ft_pcap_free(&pc);
    s_stop(&fx);
}

/* With an allow-list, streams are established by their first record: a
 * table full of them refuses new streams (counted), whose v5 records are
 * still decoded, without per-stream state. */
static void test_exporters_allow_listed_not_displaced(void **state)
{
    (void)state;
    fx_t fx;
    s_start(&fx, "    exporter_allow = \"127.0.0.0/8\"\n    max_exporters = 8\n");
    uint8_t buf[NF5_MAX_DATAGRAM];
    memset(buf, 0, sizeof(buf));
    buf[1] = 5;
    buf[3] = 1;
    buf[NF5_HEADER_LEN + 19] = 3; /* 3 packets */
    buf[NF5_HEADER_LEN + 38] = 17;
    size_t len = NF5_HEADER_LEN + NF5_RECORD_LEN;
    for (uint32_t i = 0; i < 8; i++) {
        fg_addr_t a = s_v4(0x7f000010u + i);
        col_datagram(fx.col, buf, len, &a, 1000);
    }
    const exp_table_t *t = col_exporters(fx.col);
    assert_int_equal(exp_established(t), 8);
    for (uint32_t i = 0; i < 100; i++) {
        fg_addr_t a = s_v4(0x7f000100u + i);
        col_datagram(fx.col, buf, len, &a, 2000);
    }
    assert_int_equal(exp_count(t), 8);
    assert_int_equal(exp_stats(t)->refused, 100);
    assert_int_equal(col_stats(fx.col)->exporters_untracked, 100);
    assert_int_equal(col_stats(fx.col)->records, 108);
    s_stop(&fx);
}

/* Idle streams and their templates go (exporter_idle_timeout); templates
 * not refreshed go (template_timeout); the sweeps run in col_flush_due(). */
static void test_exporters_streams_and_templates_expire(void **state)
{
    (void)state;
    fx_t fx;
    ft_wr_t w;
    fg_addr_t a = s_v4(0x7f000001), b = s_v4(0x7f000002);
    /* templates not refreshed for template_timeout go, streams stay */
    s_start(&fx, "    exporter_idle_timeout = 0\n    template_timeout = 5\n");
    s_templates(&w, false, 1, 1, 20);
    col_datagram(fx.col, w.b, w.n, &a, 1000);
    s_templates(&w, true, 2, 1, 20);
    col_datagram(fx.col, w.b, w.n, &b, 1000);
    const exp_table_t *t = col_exporters(fx.col);
    const tpl_stats_t *ts = col_template_stats(fx.col);
    assert_int_equal(exp_count(t), 2);
    assert_int_equal(ts->templates_added, 40);
    s_templates(&w, false, 1, 2, 20); /* a refreshes its templates at 5 s */
    col_datagram(fx.col, w.b, w.n, &a, 5000);
    for (int i = 0; i < 200; i++) /* bounded sweeps: 256 slots a turn */
        col_flush_due(fx.col, 7000 + (uint64_t)i * 10);
    assert_int_equal(ts->templates_expired, 20); /* b's, 6 s old */
    assert_int_equal(s_templates_held(&fx), 20);
    assert_int_equal(exp_addr_templates(t, &b), 0);
    assert_int_equal(exp_count(t), 2);
    s_stop(&fx);
    /* streams idle for exporter_idle_timeout go, their templates with them */
    s_start(&fx, "    exporter_idle_timeout = 10\n    template_timeout = 0\n");
    s_templates(&w, false, 1, 1, 20);
    col_datagram(fx.col, w.b, w.n, &a, 1000);
    s_templates(&w, true, 2, 1, 20);
    col_datagram(fx.col, w.b, w.n, &b, 1000);
    col_datagram(fx.col, w.b, w.n, &b, 6000); /* b again at 6 s */
    t = col_exporters(fx.col);
    ts = col_template_stats(fx.col);
    for (int i = 0; i < 200; i++)
        col_flush_due(fx.col, 12000 + (uint64_t)i * 10);
    assert_int_equal(exp_count(t), 1); /* a: idle 11 s */
    assert_int_equal(exp_stats(t)->expired, 1);
    assert_int_equal(s_templates_held(&fx), 20);
    for (int i = 0; i < 200; i++)
        col_flush_due(fx.col, 17000 + (uint64_t)i * 10);
    assert_int_equal(exp_count(t), 0);
    assert_int_equal(ts->templates_expired, 0); /* they left with their streams */
    char line[4096];
    assert_non_null(strstr(col_stats_format(fx.col, line, sizeof(line)), " templates=0"));
    s_stop(&fx);
}

/* An IPFIX withdrawal of all templates (RFC 7011 8.1: template id = set
 * id, field count 0) costs O(1) however full the cache: the stream's
 * templates become orphans at once (uncounted from the stream and its
 * address), its data no longer decodes, and the sweep frees their slots. */
static void test_exporters_withdraw_all_is_cheap(void **state)
{
    (void)state;
    fx_t fx;
    s_start(&fx, "");
    ft_wr_t w;
    fg_addr_t a = s_v4(0x7f000001);
    s_templates(&w, true, 3, 0, 20);
    col_datagram(fx.col, w.b, w.n, &a, 1000);
    const exp_table_t *t = col_exporters(fx.col);
    const exp_entry_t *e = s_stream_of(&fx, &a, 10, 3);
    assert_non_null(e);
    assert_int_equal(e->n_templates, 20);
    assert_int_equal(exp_addr_templates(t, &a), 20);
    w.n = 0; /* header, then a template set holding one withdrawal: id 2, 0 fields */
    ft_u16(&w, 10);
    ft_u16(&w, 24);
    ft_u32(&w, 1795000000);
    ft_u32(&w, 0);
    ft_u32(&w, 3);
    ft_u16(&w, 2);
    ft_u16(&w, 8);
    ft_u16(&w, 2);
    ft_u16(&w, 0);
    col_datagram(fx.col, w.b, w.n, &a, 1001);
    const tpl_stats_t *ts = col_template_stats(fx.col);
    assert_int_equal(ts->templates_withdrawn, 20);
    assert_int_equal(e->n_templates, 0);
    assert_int_equal(exp_addr_templates(t, &a), 0);
    assert_int_equal(s_templates_held(&fx), 20); /* orphans, until met */
    for (int i = 0; i < 200; i++)
        col_flush_due(fx.col, 2000 + (uint64_t)i * 10);
    assert_int_equal(s_templates_held(&fx), 0);
    assert_int_equal(ts->templates_expired, 0);
    s_stop(&fx);
}

/* Lines of text starting with prefix. */
static int s_count_lines(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, len) == 0)
            n++;
    return n;
}

/* Per-exporter metrics are the metrics_exporters busiest streams plus
 * exporter="other", whatever the number of streams seen; the label sets
 * together still count every datagram (those of streams that left the
 * table included), and the busiest stream is the real exporter. */
static void test_exporters_metric_labels_bounded(void **state)
{
    (void)state;
    fx_t fx;
    char extra[256];
    snprintf(extra, sizeof(extra),
             "    metrics_exporters = 5\n    max_exporters = 256\n"
             "    metrics_listen = 127.0.0.1:%d\n", hn_free_port());
    s_start(&fx, extra);
    fg_metrics_t *m = col_metrics_start(fx.cfg, fx.col);
    assert_non_null(m);
    ft_pcap_t pc;
    assert_int_equal(ft_pcap_load("tests/data/ipfix_softflowd.pcap", &pc), 0);
    fg_addr_t real = s_v4(0x7f000001);
    uint32_t rng = 777;
    s_replay(&fx, &pc, &real, 1000);
    s_flood(&fx, &real, 2000, &rng, 1100); /* 2000 streams through a 256-slot table */
    s_replay(&fx, &pc, &real, 1200);
    fg_metrics_render(m);
    char *text = fg_metrics_snapshot(m);
    assert_non_null(text);
    int sets = s_count_lines(text, "floodgate_collector_exporter_datagrams_total{");
    int found = 0;
    double all = scrape_sum(text, "floodgate_collector_exporter_datagrams_total", NULL, &found);
    const col_stats_t *st = col_stats(fx.col);
    char top[64];
    scrape_label(text, "floodgate_collector_exporter_records_total", "exporter", top, sizeof(top));
    double other = scrape_sum(text, "floodgate_collector_exporter_datagrams_total",
                              "exporter=\"other\"", NULL);
    print_message("%zu bytes, %d label sets, %.0f datagrams (%.0f as other), busiest %s\n",
                  strlen(text), sets, all, other, top);
    assert_int_equal(sets, 6);
    assert_int_equal(found, 6);
    assert_true(all == (double)(st->datagrams - st->exporters_untracked));
    assert_true(other > 1000);
    assert_string_equal(top, "127.0.0.1");
    assert_true(strlen(text) < 32768);
    free(text);
    fg_metrics_destroy(&m);
    ft_pcap_free(&pc);
    s_stop(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exporters_idle_expiry),
        cmocka_unit_test(test_exporters_per_address_cap),
        cmocka_unit_test(test_exporters_established_not_displaced),
        cmocka_unit_test(test_exporters_trusted_established_by_records),
        cmocka_unit_test(test_exporters_top_bounded),
        cmocka_unit_test(test_exporters_template_flood_then_real_ipfix),
        cmocka_unit_test(test_exporters_allow_listed_not_displaced),
        cmocka_unit_test(test_exporters_streams_and_templates_expire),
        cmocka_unit_test(test_exporters_metric_labels_bounded),
        cmocka_unit_test(test_exporters_withdraw_all_is_cheap),
    };
    zsys_init();
    zsys_set_linger(0);
    int failed = cmocka_run_group_tests_name("exporters", tests, NULL, NULL);
    zsys_shutdown();
    return failed;
}
