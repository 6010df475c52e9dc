/* libFuzzer target: the collector's whole datagram path (collector.c:
 * allow list, dispatch on version, decoders, template cache, exporter
 * table, filter, batches), for many datagrams from varying source
 * addresses. Flow exports are UDP: anyone can send any bytes from any
 * address. The input is a list of datagrams [selector][length, 2 bytes
 * BE][bytes]; the selector's low 4 bits pick one of 16 source addresses
 * (IPv4 and IPv6, more than the table has room for), its high 4 bits move
 * the clock by that many x 250 ms. Invariants: the exporter table, each
 * address's streams and templates and the template total stay within
 * their caps; every batch sent is a FlowBatch that fb_unpack takes, whose
 * records are all of monitored hosts. */
#include <string.h>

#include "collector/collector.h"
#include "collector/exporters.h"
#include "common/flowbatch.h"
#include "tests/fuzz/fuzz_cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0 1764500000000ULL
#define MAX_EXPORTERS 8
#define PER_ADDR 3
#define TPL_PER_ADDR 24
#define TPL_TOTAL 48

static fg_config_t *s_cfg;
static fg_addr_t s_addr[16];
static uint64_t s_batches;

static void s_batch(void *arg, int shard, const uint8_t *buf, size_t len)
{
    (void)arg;
    FZ_CHECK(shard >= 0 && shard < 2);
    size_t n = 0;
    Floodgate__FlowBatch *m = fb_unpack(buf, len, &n);
    FZ_CHECK(m && n > 0);
    FZ_CHECK(m->shard == (uint32_t)shard && m->shards == 2);
    for (size_t i = 0; i < n; i++) {
        fg_flow_t f;
        fb_record(m, i, &f);
        FZ_CHECK(fg_config_group(s_cfg, &f.host));
    }
    floodgate__flow_batch__free_unpacked(m, NULL);
    s_batches++;
}

static void s_init(void)
{
    if (s_cfg)
        return;
    s_cfg = fz_config("networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
                      "collector\n    batch_records = 64\n    batch_ms = 20\n"
                      "    template_hold_ms = 500\n    max_templates = 16\n"
                      "    max_exporters = 8\n    max_streams_per_address = 3\n"
                      "    max_templates_per_address = 24\n    max_templates_total = 48\n"
                      "    exporter_idle_timeout = 5\n    exporter_established_after = 1\n"
                      "    template_timeout = 3\n"
                      "    sampling_override = \"127.0.0.3=100\"\n"
                      "aggregator\n    shards = 2\n");
    for (uint32_t i = 0; i < 16; i++)
        s_addr[i] = i < 10 ? fg_addr_from_v4(0x7f000001u + i)
                           : (fg_addr_t){0x20010db8ffff0000ULL, 0x1000 + i};
}

static void s_check_table(const col_t *col)
{
    const exp_table_t *t = col_exporters(col);
    FZ_CHECK(exp_count(t) <= MAX_EXPORTERS);
    FZ_CHECK(exp_established(t) <= exp_count(t));
    size_t tpl = 0;
    for (size_t i = 0; i < exp_capacity(t); i++) {
        const exp_entry_t *e = exp_at(t, i);
        if (e)
            tpl += e->n_templates;
    }
    FZ_CHECK(tpl <= TPL_TOTAL);
    for (int i = 0; i < 16; i++) {
        FZ_CHECK(exp_addr_streams(t, &s_addr[i]) <= PER_ADDR);
        FZ_CHECK(exp_addr_templates(t, &s_addr[i]) <= TPL_PER_ADDR);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_init();
    char err[256];
    col_t *col = col_new_sink(s_cfg, s_batch, NULL, err, sizeof(err));
    FZ_CHECK(col);
    uint64_t now = 1000000, n = 0;
    size_t off = 0;
    while (off + 3 <= size) {
        uint8_t sel = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        len = len < size - off - 3 ? len : size - off - 3;
        now += (uint64_t)(sel >> 4) * 250;
        col_set_wall_ms(col, T0 + now);
        col_datagram(col, data + off + 3, len, &s_addr[sel & 15], now);
        col_flush_due(col, now);
        off += 3 + len;
        n++;
    }
    s_check_table(col);
    const col_stats_t *st = col_stats(col);
    FZ_CHECK(st->datagrams == n);
    FZ_CHECK(st->kept + st->filtered <= st->records);
    col_flush_all(col);
    FZ_CHECK(st->records_sent + st->records_dropped >= st->records_sent);
    col_destroy(&col);
    return 0;
}
