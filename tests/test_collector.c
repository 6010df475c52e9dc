/* Unit tests: the collector's datagram -> shard batch path (collector.c),
 * with real ZeroMQ PULL sockets on loopback standing in for the shards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <czmq.h>

#include "collector/collector.h"
#include "collector/exporters.h"
#include "collector/netflow_v5.h"
#include "tests/flowtest.h"
#include "common/config.h"
#include "common/flowbatch.h"
#include "tests/harness.h"

typedef struct {
    char *dir;
    fg_config_t *cfg;
    col_t *col;
    zsock_t *pull[2];
} fx_t;

static fg_addr_t s_exporter;
/* More collector keys for the next s_start() (one per line, indented). */
static const char *s_extra = "";

/* A collector with two shards whose PULL sockets are bound here (or, with
 * bind_pulls false, nowhere: the port of shard 0 is free). */
static void s_start(fx_t *fx, int batch_records, int send_hwm, bool bind_pulls, int *port0)
{
    char eps[2][64], text[1024], path[512], err[1024];
    memset(fx, 0, sizeof(*fx));
    fx->dir = hn_tmpdir("collector");
    for (int i = 0; i < 2; i++) {
        if (bind_pulls) {
            fx->pull[i] = zsock_new_pull("tcp://127.0.0.1:*");
            assert_non_null(fx->pull[i]);
            zsock_set_rcvtimeo(fx->pull[i], 2000);
            snprintf(eps[i], sizeof(eps[i]), "%s", zsock_endpoint(fx->pull[i]));
        } else {
            int p = hn_free_port();
            if (i == 0)
                *port0 = p;
            snprintf(eps[i], sizeof(eps[i]), "tcp://127.0.0.1:%d", p);
        }
    }
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16\"\n"
             "collector\n    batch_records = %d\n    batch_ms = 20\n    send_hwm = %d\n%s"
             "aggregator\n    shards = 2\n    pull_connect = \"%s, %s\"\n",
             batch_records, send_hwm, s_extra, eps[0], eps[1]);
    s_extra = "";
    snprintf(path, sizeof(path), "%s/floodgate.conf", fx->dir);
    hn_write_file(path, text);
    fx->cfg = fg_config_load(path, err, sizeof(err));
    if (!fx->cfg)
        fail_msg("config: %s", err);
    fx->col = col_new(fx->cfg, err, sizeof(err));
    if (!fx->col)
        fail_msg("col_new: %s", err);
    fg_addr_parse("127.0.0.9", &s_exporter);
}

static void s_stop(fx_t *fx)
{
    col_destroy(&fx->col);
    for (int i = 0; i < 2; i++)
        zsock_destroy(&fx->pull[i]);
    fg_config_destroy(&fx->cfg);
    hn_rmdir(fx->dir);
    free(fx->dir);
}

static void s_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A v5 datagram: n records src[i] -> dst[i] (host order IPv4), 3 packets
 * each, flow_sequence seq, engine id engine. */
static size_t s_dgram(uint8_t *buf, int n, const uint32_t *src, const uint32_t *dst,
                      uint32_t seq, uint8_t engine)
{
    memset(buf, 0, NF5_MAX_DATAGRAM);
    buf[1] = 5;
    buf[3] = (uint8_t)n;
    s_put32(buf + 4, 100000);
    s_put32(buf + 8, 1700000000);
    s_put32(buf + 16, seq);
    buf[21] = engine;
    for (int i = 0; i < n; i++) {
        uint8_t *r = buf + NF5_HEADER_LEN + i * NF5_RECORD_LEN;
        s_put32(r, src[i]);
        s_put32(r + 4, dst[i]);
        s_put32(r + 16, 3);
        s_put32(r + 20, 300);
        s_put32(r + 24, 99000);
        s_put32(r + 28, 99900);
        r[38] = 17;
    }
    return NF5_HEADER_LEN + (size_t)n * NF5_RECORD_LEN;
}

/* Receive one FlowBatch from sock (2 s at most); NULL on timeout. */
static Floodgate__FlowBatch *s_recv(zsock_t *sock, size_t *n)
{
    zframe_t *f = zframe_recv(sock);
    if (!f)
        return NULL;
    Floodgate__FlowBatch *m = fb_unpack(zframe_data(f), zframe_size(f), n);
    zframe_destroy(&f);
    assert_non_null(m);
    return m;
}

#define SRC_BASE 0xc6336400u /* 198.51.100.0: outside the monitored /16 */
#define HOST_BASE 0x0a000000u /* 10.0.0.0 */

/* A host of 10.0.0.0/24 whose shard (of 2) is shard. */
static uint32_t s_host_of_shard(int shard)
{
    for (uint32_t h = 1; h < 255; h++) {
        fg_addr_t a = fg_addr_from_v4(HOST_BASE + h);
        if ((int)(fg_addr_hash(&a) % 2) == shard)
            return HOST_BASE + h;
    }
    fail_msg("no host of shard %d", shard);
    return 0;
}

/* Every record reaches the shard of its host, with host/peer/direction
 * mapped; each shard numbers its batches from 1. */
static void test_collector_shards_and_sequence(void **state)
{
    (void)state;
    fx_t fx;
    s_start(&fx, 1000, 1000, true, NULL);
    uint8_t buf[NF5_MAX_DATAGRAM];
    uint32_t src[30], dst[30];
    for (int d = 0; d < 3; d++) {
        for (int i = 0; i < 30; i++) {
            src[i] = SRC_BASE + (uint32_t)i;
            dst[i] = HOST_BASE + 1 + (uint32_t)(d * 30 + i);
        }
        col_datagram(fx.col, buf, s_dgram(buf, 30, src, dst, (uint32_t)d * 30, 0), &s_exporter,
                     1000);
    }
    col_flush_all(fx.col);
    size_t total = 0;
    for (int s = 0; s < 2; s++) {
        size_t n;
        Floodgate__FlowBatch *m = s_recv(fx.pull[s], &n);
        assert_non_null(m);
        assert_int_equal(m->seq, 1);
        assert_int_equal(m->shard, s);
        assert_int_equal(m->shards, 2);
        assert_int_equal(m->collector_id, 1);
        for (size_t i = 0; i < n; i++) {
            fg_flow_t f;
            fb_record(m, i, &f);
            assert_int_equal(fg_addr_hash(&f.host) % 2, s);
            assert_int_equal(f.dir, FG_DIR_IN);
            assert_true(fg_addr_v4(&f.peer) >= SRC_BASE && fg_addr_v4(&f.peer) < SRC_BASE + 30);
            assert_int_equal(f.packets, 3);
            assert_int_equal(f.end_ms, 1700000000000ULL - 100);
        }
        /* the per-shard counters (exported as metrics) match what arrived */
        const col_shard_stats_t *ss = col_shard_stats(fx.col, s);
        assert_int_equal(ss->batches_sent, 1);
        assert_int_equal(ss->records_sent, n);
        assert_int_equal(ss->batches_dropped + ss->records_dropped, 0);
        total += n;
        floodgate__flow_batch__free_unpacked(m, NULL);
    }
    assert_int_equal(total, 90);
    col_stats_t *st = col_stats(fx.col);
    assert_int_equal(st->records, 90);
    assert_int_equal(st->kept, 90);
    assert_int_equal(st->batches_sent, 2);
    /* the next batch of shard 0 is number 2 */
    uint32_t h0 = s_host_of_shard(0), s0 = SRC_BASE;
    col_datagram(fx.col, buf, s_dgram(buf, 1, &s0, &h0, 90, 0), &s_exporter, 2000);
    col_flush_all(fx.col);
    size_t n;
    Floodgate__FlowBatch *m = s_recv(fx.pull[0], &n);
    assert_non_null(m);
    assert_int_equal(m->seq, 2);
    assert_int_equal(n, 1);
    floodgate__flow_batch__free_unpacked(m, NULL);
    s_stop(&fx);
}

/* A batch leaves when it is full, or batch_ms after its first record. */
static void test_collector_flush_when_full_or_old(void **state)
{
    (void)state;
    fx_t fx;
    s_start(&fx, 4, 1000, true, NULL);
    uint8_t buf[NF5_MAX_DATAGRAM];
    uint32_t src[10], dst[10], h = s_host_of_shard(1);
    for (int i = 0; i < 10; i++) {
        src[i] = SRC_BASE + (uint32_t)i;
        dst[i] = h;
    }
    col_datagram(fx.col, buf, s_dgram(buf, 10, src, dst, 0, 0), &s_exporter, 5000);
    col_stats_t *st = col_stats(fx.col);
    assert_int_equal(st->batches_sent, 2);
    assert_int_equal(col_next_flush_ms(fx.col, 5000), 20);
    assert_int_equal(col_next_flush_ms(fx.col, 5015), 5);
    col_flush_due(fx.col, 5019);
    assert_int_equal(st->batches_sent, 2);
    col_flush_due(fx.col, 5020);
    assert_int_equal(st->batches_sent, 3);
    assert_int_equal(col_next_flush_ms(fx.col, 5020), 20); /* empty: batch_ms */
    size_t want[3] = {4, 4, 2};
    for (int b = 0; b < 3; b++) {
        size_t n;
        Floodgate__FlowBatch *m = s_recv(fx.pull[1], &n);
        assert_non_null(m);
        assert_int_equal(m->seq, b + 1);
        assert_int_equal(n, want[b]);
        floodgate__flow_batch__free_unpacked(m, NULL);
    }
    s_stop(&fx);
}

/* Each malformed cause has its counter; kept/filtered/both are told apart. */
static void test_collector_counts_by_cause(void **state)
{
    (void)state;
    fx_t fx;
    s_start(&fx, 1000, 1000, true, NULL);
    uint8_t buf[NF5_MAX_DATAGRAM + 8];
    uint32_t src[3] = {SRC_BASE, HOST_BASE + 1, SRC_BASE + 1};
    uint32_t dst[3] = {HOST_BASE + 2, HOST_BASE + 3, SRC_BASE + 2}; /* in, both, neither */
    size_t len = s_dgram(buf, 3, src, dst, 0, 0);
    col_datagram(fx.col, buf, len, &s_exporter, 1);
    col_datagram(fx.col, buf, len - 1, &s_exporter, 1); /* truncated */
    col_datagram(fx.col, buf, 1, &s_exporter, 1);       /* short header */
    col_datagram(fx.col, buf, 20, &s_exporter, 1);      /* short header */
    memset(buf + len, 0, 8);
    col_datagram(fx.col, buf, len + 8, &s_exporter, 1); /* trailing: decoded */
    buf[3] = 0;
    col_datagram(fx.col, buf, len, &s_exporter, 1); /* count 0 */
    buf[3] = 3;
    buf[1] = 7;
    col_datagram(fx.col, buf, len, &s_exporter, 1); /* NetFlow v7: not supported */
    col_stats_t *st = col_stats(fx.col);
    assert_int_equal(st->datagrams, 7);
    assert_int_equal(st->truncated, 1);
    assert_int_equal(st->short_header, 2);
    assert_int_equal(st->trailing, 1);
    assert_int_equal(st->bad_count, 1);
    assert_int_equal(st->bad_version, 1);
    assert_int_equal(st->records, 6);
    assert_int_equal(st->kept, 4);
    assert_int_equal(st->filtered, 2);
    assert_int_equal(st->out_records, 6); /* the both-ends record counts twice */
    char line[1024];
    col_stats_format(fx.col, line, sizeof(line));
    assert_non_null(strstr(line, "datagrams=7 bad_version=1 short_header=2 bad_count=1"));
    assert_non_null(strstr(line, " kept=4 filtered=2 "));
    s_stop(&fx);
}

/* flow_sequence gaps are counted per exporter address and engine. */
static void test_collector_sequence_gaps_per_exporter(void **state)
{
    (void)state;
    fx_t fx;
    s_start(&fx, 1000, 1000, true, NULL);
    uint8_t buf[NF5_MAX_DATAGRAM];
    uint32_t src[30], dst[30];
    for (int i = 0; i < 30; i++) {
        src[i] = SRC_BASE;
        dst[i] = HOST_BASE + 1;
    }
    fg_addr_t other;
    fg_addr_parse("::1", &other);
    col_datagram(fx.col, buf, s_dgram(buf, 30, src, dst, 0, 1), &s_exporter, 1);
    col_datagram(fx.col, buf, s_dgram(buf, 30, src, dst, 500, 2), &s_exporter, 1); /* new engine */
    col_datagram(fx.col, buf, s_dgram(buf, 30, src, dst, 9000, 1), &other, 1); /* new exporter */
    col_datagram(fx.col, buf, s_dgram(buf, 30, src, dst, 60, 1), &s_exporter, 1); /* 30 lost */
    col_datagram(fx.col, buf, s_dgram(buf, 30, src, dst, 530, 2), &s_exporter, 1);
    col_datagram(fx.col, buf, s_dgram(buf, 30, src, dst, 9035, 1), &other, 1); /* 5 lost */
    col_stats_t *st = col_stats(fx.col);
    assert_int_equal(st->seq_lost, 35);
    assert_int_equal(st->seq_resets, 0);
    char line[1024];
    assert_non_null(strstr(col_stats_format(fx.col, line, sizeof(line)), " exporters=3"));
    s_stop(&fx);
}

/* With no shard listening and SNDHWM 1, sending never blocks: batches beyond
 * the queue are dropped and counted, and their sequence numbers are spent,
 * so the shard sees the gap when it comes up. */
static void test_collector_drops_never_block(void **state)
{
    (void)state;
    fx_t fx;
    int port = 0;
    s_start(&fx, 1, 1, false, &port);
    uint8_t buf[NF5_MAX_DATAGRAM];
    uint32_t src[20], dst[20], h = s_host_of_shard(0);
    for (int i = 0; i < 20; i++) {
        src[i] = SRC_BASE + (uint32_t)i;
        dst[i] = h;
    }
    uint64_t t0 = hn_ms();
    col_datagram(fx.col, buf, s_dgram(buf, 20, src, dst, 0, 0), &s_exporter, 1);
    assert_true(hn_ms() - t0 < 500);
    col_stats_t *st = col_stats(fx.col);
    assert_int_equal(st->batches_sent + st->batches_dropped, 20);
    assert_true(st->batches_dropped >= 15);
    assert_int_equal(st->records_dropped, st->batches_dropped);
    /* sent means accepted by ZeroMQ: a dropped batch's records are not sent */
    assert_int_equal(st->out_records, 20);
    assert_int_equal(st->records_sent, st->batches_sent);
    assert_int_equal(st->records_sent + st->records_dropped, st->out_records);
    assert_int_equal(col_shard_stats(fx.col, 0)->records_sent, st->records_sent);
    assert_int_equal(col_shard_stats(fx.col, 0)->batches_dropped, st->batches_dropped);
    assert_int_equal(col_shard_stats(fx.col, 0)->records_dropped, st->records_dropped);

    char ep[64];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", port);
    fx.pull[0] = zsock_new_pull(ep);
    assert_non_null(fx.pull[0]);
    zsock_set_rcvtimeo(fx.pull[0], 3000);
    uint64_t last = 0;
    for (uint64_t k = 0; k < st->batches_sent; k++) { /* the queued ones, in order */
        size_t n;
        Floodgate__FlowBatch *m = s_recv(fx.pull[0], &n);
        assert_non_null(m);
        assert_true(m->seq > last);
        last = m->seq;
        floodgate__flow_batch__free_unpacked(m, NULL);
    }
    /* Once the shard is back, batches flow again. ZeroMQ returns send credit
     * to the PUSH side asynchronously, so the first sends after the backlog
     * drained may still be refused: each such refusal must be counted as a
     * drop and leave its gap in the sequence. */
    zsock_set_rcvtimeo(fx.pull[0], 200);
    uint64_t dropped_before = st->batches_dropped;
    Floodgate__FlowBatch *m = NULL;
    uint32_t attempts = 0;
    size_t n;
    while (!m && attempts < 25) {
        col_datagram(fx.col, buf, s_dgram(buf, 1, src, dst, 20 + attempts, 0), &s_exporter,
                     2 + attempts);
        attempts++;
        m = s_recv(fx.pull[0], &n);
    }
    assert_non_null(m);
    assert_int_equal(m->seq, 20 + attempts);
    assert_int_equal(st->batches_dropped - dropped_before, attempts - 1);
    floodgate__flow_batch__free_unpacked(m, NULL);
    s_stop(&fx);
}

/* The records of every shard's batches (flushed first), summed per host. */
static void s_collect(fx_t *fx, ft_totals_t *t)
{
    col_flush_all(fx->col);
    memset(t, 0, sizeof(*t));
    for (int s = 0; s < 2; s++) {
        size_t n;
        Floodgate__FlowBatch *m;
        zsock_set_rcvtimeo(fx->pull[s], 300);
        while ((m = s_recv(fx->pull[s], &n)) != NULL) {
            for (size_t i = 0; i < n; i++) {
                fg_flow_t f;
                fb_record(m, i, &f);
                if (f.dir == FG_DIR_IN)
                    ft_add(t, &f.host, f.packets, f.bytes);
            }
            floodgate__flow_batch__free_unpacked(m, NULL);
        }
    }
}

static void s_replay(fx_t *fx, const char *pcap, int skip)
{
    ft_pcap_t pc;
    assert_int_equal(ft_pcap_load(pcap, &pc), 0);
    for (int i = 0; i < pc.n; i++)
        if (i != skip)
            col_datagram(fx->col, pc.data[i], pc.len[i], &s_exporter, 1000);
    ft_pcap_free(&pc);
}

/* The real v9, IPFIX and sFlow exports through col_datagram: every record
 * reaches the shards with tshark's per-host totals (all the test hosts are
 * monitored here), each export is its own exporter stream. */
static void test_collector_all_protocols_match_tshark(void **state)
{
    (void)state;
    static const char *const caps[][2] = {
        {"tests/data/nf9_softflowd.pcap", "tests/data/nf9_softflowd.oracle"},
        {"tests/data/ipfix_softflowd.pcap", "tests/data/ipfix_softflowd.oracle"},
        {"tests/data/sflow_pmacct.pcap", "tests/data/sflow_pmacct.oracle"},
    };
    for (int c = 0; c < 3; c++) {
        fx_t fx;
        ft_totals_t got, want, in;
        s_extra = "";
        s_start(&fx, 1000, 1000, true, NULL);
        fg_config_destroy(&fx.cfg); /* monitor everything the captures hold */
        char path[512], err[512], text[1024];
        snprintf(text, sizeof(text),
                 "networks\n    monitored = \"0.0.0.0/0, ::/0\"\naggregator\n    shards = 2\n"
                 "    pull_connect = \"%s, %s\"\n",
                 zsock_endpoint(fx.pull[0]), zsock_endpoint(fx.pull[1]));
        snprintf(path, sizeof(path), "%s/all.conf", fx.dir);
        hn_write_file(path, text);
        col_destroy(&fx.col);
        fx.cfg = fg_config_load(path, err, sizeof(err));
        assert_non_null(fx.cfg);
        fx.col = col_new(fx.cfg, err, sizeof(err));
        assert_non_null(fx.col);
        s_replay(&fx, caps[c][0], -1);
        s_collect(&fx, &got);
        assert_int_equal(ft_oracle_load(caps[c][1], &want), 0);
        /* records with both ends monitored arrive twice: once per end; the
         * incoming copies are the destinations' totals */
        memcpy(&in, &got, sizeof(in));
        assert_int_equal(ft_compare(&in, &want, 1), 0);
        col_stats_t *st = col_stats(fx.col);
        assert_int_equal(st->seq_lost + st->seq_lost_datagrams, 0);
        assert_int_equal(st->bad_sets + st->truncated + st->short_header, 0);
        s_stop(&fx);
    }
}

/* Replay pcap, then its last datagram again with the sequence number (at
 * offset seq_at) moved forward by ahead. */
static void s_replay_gap(fx_t *fx, const char *pcap, size_t seq_at, uint32_t ahead)
{
    ft_pcap_t pc;
    assert_int_equal(ft_pcap_load(pcap, &pc), 0);
    for (int i = 0; i < pc.n; i++)
        col_datagram(fx->col, pc.data[i], pc.len[i], &s_exporter, 1000);
    uint8_t *last = pc.data[pc.n - 1];
    uint32_t seq = (uint32_t)last[seq_at] << 24 | (uint32_t)last[seq_at + 1] << 16 |
                   (uint32_t)last[seq_at + 2] << 8 | last[seq_at + 3];
    s_put32(last + seq_at, seq + ahead);
    col_datagram(fx->col, last, pc.len[pc.n - 1], &s_exporter, 1000);
    ft_pcap_free(&pc);
}

/* v9 sequences count datagrams, IPFIX ones records. */
static void test_collector_v9_ipfix_sequence_gaps(void **state)
{
    (void)state;
    fx_t fx;
    s_start(&fx, 1000, 1000, true, NULL);
    s_replay_gap(&fx, "tests/data/nf9_softflowd.pcap", 12, 2); /* one datagram missed */
    col_stats_t *st = col_stats(fx.col);
    assert_int_equal(st->seq_lost_datagrams, 1);
    assert_int_equal(st->seq_lost, 0);
    /* IPFIX: expected is the last sequence + its records (a few dozen) */
    s_replay_gap(&fx, "tests/data/ipfix_softflowd.pcap", 8, 1000);
    assert_true(st->seq_lost > 900 && st->seq_lost < 1000);
    char line[4096];
    col_stats_format(fx.col, line, sizeof(line));
    assert_non_null(strstr(line, "seq_lost_datagrams=1"));
    assert_non_null(strstr(line, "templates_added="));
    col_log_exporters(fx.col);
    s_stop(&fx);
}

/* Send dgram (len bytes, its own copy) with the sequence number at seq_at
 * set to seq, at now_ms. */
static void s_send_seq(fx_t *fx, const uint8_t *dgram, size_t len, size_t seq_at, uint32_t seq,
                       uint64_t now_ms)
{
    uint8_t copy[65536];
    memcpy(copy, dgram, len);
    s_put32(copy + seq_at, seq);
    col_datagram(fx->col, copy, len, &s_exporter, now_ms);
}

/* For each protocol, a stream in sequence, then: a forged jump of about
 * 2^31 and 200 more of them (resets, no loss), a jump backwards beyond the
 * reorder window (a reset), a gap of what the exporter can have sent in a
 * second (loss), and the same gap 1 ms later (a reset: more than it can
 * have sent). v5 and IPFIX count records (per datagram: units), v9 and
 * sFlow datagrams. */
static void test_collector_sequence_resets_each_protocol(void **state)
{
    (void)state;
    static const struct {
        const char *pcap; /* NULL: a v5 datagram of 30 records */
        size_t seq_at;
        bool datagrams;
    } p[] = {
        {NULL, 16, false},
        {"tests/data/nf9_softflowd.pcap", 12, true},
        {"tests/data/ipfix_softflowd.pcap", 8, false},
        {"tests/data/sflow_pmacct.pcap", 0, true}, /* offset from the agent type */
    };
    for (size_t c = 0; c < sizeof(p) / sizeof(p[0]); c++) {
        fx_t fx;
        s_extra = "    seq_max_records_per_s = 100000\n    seq_max_datagrams_per_s = 1000\n";
        s_start(&fx, 1000, 1000, true, NULL);
        uint8_t v5[NF5_MAX_DATAGRAM];
        uint32_t src[30], dst[30];
        for (int i = 0; i < 30; i++) {
            src[i] = SRC_BASE;
            dst[i] = HOST_BASE + 1;
        }
        ft_pcap_t pc = {0};
        const uint8_t *d = v5;
        size_t len = s_dgram(v5, 30, src, dst, 0, 0), at = p[c].seq_at;
        if (p[c].pcap) {
            assert_int_equal(ft_pcap_load(p[c].pcap, &pc), 0);
            /* a data datagram whose templates came before it */
            for (int i = 0; i < pc.n - 1; i++)
                col_datagram(fx.col, pc.data[i], pc.len[i], &s_exporter, 1000);
            d = pc.data[pc.n - 1];
            len = pc.len[pc.n - 1];
            if (at == 0) /* sFlow: version, agent type (1 = IPv4), agent, sub-agent */
                at = 12 + (d[7] == 1 ? 4 : 16);
        }
        uint32_t seq = 1000;
        s_send_seq(&fx, d, len, at, seq, 1000);
        col_stats_t *st = col_stats(fx.col);
        uint64_t *lost = p[c].datagrams ? &st->seq_lost_datagrams : &st->seq_lost;
        uint64_t lost0 = *lost, resets0 = st->seq_resets;
        /* units of this datagram: the next in order carries seq + units */
        uint32_t units = 1;
        if (!p[c].datagrams) { /* the stream's expectation tells */
            const exp_table_t *tb = col_exporters(fx.col);
            for (size_t i = 0; i < exp_capacity(tb); i++)
                if (exp_at(tb, i))
                    units = exp_at(tb, i)->seq.next - seq;
        }
        seq += units;
        s_send_seq(&fx, d, len, at, seq, 1002); /* in order */
        seq += units;
        assert_int_equal(*lost, lost0);
        uint64_t t = 1003;
        for (int i = 0; i <= 200; i++, t++) {
            seq += 0x7ff00000u + (uint32_t)i * 7919u;
            s_send_seq(&fx, d, len, at, seq, t);
            seq += units;
        }
        assert_int_equal(*lost, lost0);
        assert_int_equal(st->seq_resets, resets0 + 201);
        seq -= NF5_SEQ_REORDER_WINDOW + 1 + units; /* backwards */
        s_send_seq(&fx, d, len, at, seq, t);
        seq += units;
        assert_int_equal(st->seq_resets, resets0 + 202);
        assert_int_equal(*lost, lost0);
        /* one second later: up to 100 000 records / 1 000 datagrams */
        uint32_t gap = p[c].datagrams ? 900 : 90000;
        t += 1000;
        s_send_seq(&fx, d, len, at, seq + gap, t);
        seq += gap + units;
        assert_int_equal(*lost, lost0 + gap);
        s_send_seq(&fx, d, len, at, seq + gap, t + 1);
        assert_int_equal(*lost, lost0 + gap);
        assert_int_equal(st->seq_resets, resets0 + 203);
        ft_pcap_free(&pc);
        ft_totals_t got; /* take every batch, or it may reach the next test's socket */
        s_collect(&fx, &got);
        s_stop(&fx);
    }
}

/* exporter_allow drops (and counts) datagrams of other exporters;
 * sampling_override replaces the v5 header's rate. */
static void test_collector_allow_list_and_override(void **state)
{
    (void)state;
    fx_t fx;
    s_extra = "    exporter_allow = \"127.0.0.0/24\"\n    sampling_override = \"127.0.0.9=10\"\n";
    s_start(&fx, 1000, 1000, true, NULL);
    uint8_t buf[NF5_MAX_DATAGRAM];
    uint32_t src = SRC_BASE, dst = HOST_BASE + 1;
    fg_addr_t stranger;
    fg_addr_parse("192.0.2.200", &stranger);
    col_datagram(fx.col, buf, s_dgram(buf, 1, &src, &dst, 0, 0), &stranger, 1000);
    assert_int_equal(col_stats(fx.col)->denied, 1);
    assert_int_equal(col_stats(fx.col)->records, 0);
    col_datagram(fx.col, buf, s_dgram(buf, 1, &src, &dst, 0, 0), &s_exporter, 1000);
    ft_totals_t got;
    s_collect(&fx, &got);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.packets[0], 3 * 10);
    assert_int_equal(got.bytes[0], 300 * 10);
    s_stop(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collector_shards_and_sequence),
        cmocka_unit_test(test_collector_flush_when_full_or_old),
        cmocka_unit_test(test_collector_counts_by_cause),
        cmocka_unit_test(test_collector_sequence_gaps_per_exporter),
        cmocka_unit_test(test_collector_drops_never_block),
        cmocka_unit_test(test_collector_all_protocols_match_tshark),
        cmocka_unit_test(test_collector_v9_ipfix_sequence_gaps),
        cmocka_unit_test(test_collector_sequence_resets_each_protocol),
        cmocka_unit_test(test_collector_allow_list_and_override),
    };
    zsys_init();
    zsys_set_linger(0);
    int failed = cmocka_run_group_tests_name("collector", tests, NULL, NULL);
    zsys_shutdown();
    return failed;
}
