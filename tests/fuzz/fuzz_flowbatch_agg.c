/* libFuzzer target: FlowBatch messages (common/flowbatch.c) into an
 * aggregator shard (aggregator/agg.c: agg_ingest, agg_close_window) on a
 * clock of our own. A collector, or anyone reaching the shard's PULL
 * socket, sends any bytes. The input is a list of steps
 * [op][length, 2 bytes BE][bytes]; op % 4:
 *   0, 1  the bytes as a FlowBatch;
 *   2     a well-formed FlowBatch made from the bytes (records of 24 bytes:
 *         hosts in a few monitored /24s, any counts, times around now);
 *   3     close the window;
 * and the clock moves op / 4 x 25 ms before each step. Invariants: the
 * host table never holds more than max_hosts; every WindowBatch the shard
 * publishes passes wb_unpack, has consecutive sequence numbers, at most
 * max_hosts hosts; no host's rate is above the ceiling times the records
 * that could have brought it (each record is clipped to the ceiling). */
#include <math.h>
#include <string.h>

#include "aggregator/agg.h"
#include "common/flowbatch.h"
#include "common/window.h"
#include "tests/fuzz/fuzz_cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0 1764500000000ULL
#define MAX_HOSTS 32
#define CEIL_PPS 1e6
#define CEIL_MBPS 1000.0

static fg_config_t *s_cfg;
static fb_builder_t *s_fb;

static void s_init(void)
{
    if (s_cfg)
        return;
    s_cfg = fz_config("networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
                      "aggregator\n    max_hosts = 32\n    tick_ms = 200\n"
                      "    rate_ceiling_pps = 1000000\n    rate_ceiling_mbps = 1000\n"
                      "    horizon = 10\n    hold_max = 30\n"
                      "hostgroup\n    default\n        threshold_pps = 1000\n"
                      "        threshold_mbps = 10\n        threshold_flows = 100\n"
                      "    web\n        networks = \"10.0.1.0/24\"\n        threshold_pps = 50\n");
    s_fb = fb_builder_new(512);
    FZ_CHECK(s_fb);
}

static uint64_t s_u(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* A well-formed batch of the records the bytes describe. */
static uint8_t *s_batch(const uint8_t *p, size_t n, uint64_t now, uint64_t seq, size_t *len)
{
    for (size_t off = 0; off + 24 <= n; off += 24) {
        const uint8_t *r = p + off;
        fg_flow_t f = {0};
        uint32_t h = r[0] % 64;
        f.host = r[1] & 0x80 ? fg_addr_from_v4(0x0a000000u | (h % 3) << 8 | h)
                             : (fg_addr_t){0x20010db801000000ULL, h};
        f.peer = fg_addr_from_v4(0xc6336400u | r[2]);
        f.dir = r[1] & 1;
        f.frag = (r[1] >> 1) & 1;
        f.proto = r[3];
        f.tcp_flags = r[4];
        f.sport = (uint16_t)s_u(r + 5, 2);
        f.dport = r[7];
        f.packets = s_u(r + 8, 4) << (r[1] & 0x40 ? 20 : 0);
        f.bytes = s_u(r + 12, 4) << (r[1] & 0x20 ? 24 : 0);
        f.end_ms = now - (s_u(r + 16, 2) * 10) + (r[1] & 0x10 ? 5000 : 0);
        f.start_ms = f.end_ms - s_u(r + 18, 2) * 10 + (r[1] & 0x08 ? 100000 : 0);
        f.sampling = r[20] ? r[20] : 1;
        uint8_t ex[16] = {[10] = 0xff, [11] = 0xff, [12] = 127, [15] = (uint8_t)(r[21] % 4)};
        if (fb_add(s_fb, &f, ex) < 0)
            break;
    }
    return fb_pack(s_fb, 1, 0, 1, seq, now - (p[0] & 0x7f), len);
}

static void s_check_window(agg_t *agg, const uint8_t *msg, size_t len, uint64_t seq,
                           uint64_t records)
{
    const char *why = NULL;
    Floodgate__WindowBatch *wb = wb_unpack(msg, len, &why);
    if (!wb)
        fprintf(stderr, "the shard published a WindowBatch it refuses: %s\n", why);
    FZ_CHECK(wb);
    FZ_CHECK(wb->seq == seq && wb->shard == 0 && wb->shards == 1);
    FZ_CHECK(wb->n_hosts <= MAX_HOSTS);
    const agg_stats_t *st = agg_stats(agg);
    /* each record clipped to the ceiling, held rates too */
    double n = (double)(records + st->spread) + 1;
    for (size_t i = 0; i < wb->n_hosts && !st->spread_refused; i++) {
        const Floodgate__HostWindow *h = wb->hosts[i];
        if (h->total) {
            FZ_CHECK(h->total->pps <= CEIL_PPS * n * (1 + 1e-9));
            FZ_CHECK(h->total->bps <= CEIL_MBPS * 1e6 * n * (1 + 1e-9));
        }
    }
    wb_free(&wb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_init();
    agg_t *agg = agg_new(s_cfg, 0);
    FZ_CHECK(agg);
    uint64_t now = T0, seq = 0, records = 0, bseq = 1;
    size_t off = 0;
    while (off + 3 <= size) {
        uint8_t op = data[off];
        size_t n = (size_t)s_u(data + off + 1, 2);
        const uint8_t *p = data + off + 3;
        n = n < size - off - 3 ? n : size - off - 3;
        off += 3 + n;
        now += (uint64_t)(op >> 2) * 25;
        uint64_t before = agg_stats(agg)->records;
        if (op % 4 < 2) {
            agg_ingest(agg, p, n, now);
        } else if (op % 4 == 2 && n >= 1) {
            size_t len;
            uint8_t *b = s_batch(p, n, now, bseq++, &len);
            FZ_CHECK(b);
            FZ_CHECK(agg_ingest(agg, b, len, now) == 0);
            free(b);
        } else {
            size_t len;
            const uint8_t *m = agg_close_window(agg, now, &len);
            FZ_CHECK(m);
            s_check_window(agg, m, len, ++seq, records);
            records = 0;
        }
        records += agg_stats(agg)->records - before;
        FZ_CHECK(agg_hosts_tracked(agg) <= MAX_HOSTS);
    }
    size_t len;
    const uint8_t *m = agg_close_window(agg, now + 200, &len);
    FZ_CHECK(m);
    s_check_window(agg, m, len, ++seq, records);
    FZ_CHECK(agg_hosts_tracked(agg) <= MAX_HOSTS);
    agg_destroy(&agg);
    return 0;
}
