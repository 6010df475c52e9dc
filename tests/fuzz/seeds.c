/* seeds: write a fuzz target's seed corpus into OUTDIR, one file per input:
 *   seeds OUTDIR PCAP|BIN...         the UDP payloads of the pcaps in
 *                                    tests/data/, one per datagram (.bin
 *                                    files copied whole);
 *   seeds OUTDIR --copy FILE...      files copied whole (configs, listings);
 *   seeds OUTDIR --collector FILE... each capture as one input of
 *                                    fuzz_collector: its datagrams framed
 *                                    with a source selector and a length;
 *   seeds OUTDIR --gen TARGET        inputs made here: packed messages
 *                                    (window, decision, flowbatch_agg),
 *                                    texts (ban_hash, ban_hist, flowspec)
 *                                    and recipes (wbwrite: random bytes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/decision.h"
#include "common/flowbatch.h"
#include "common/window.h"
#include "tests/flowtest.h"

static int s_write(const char *dir, const char *base, int i, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s-%03d", dir, base, i);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f);
}

static const char *s_base(const char *path)
{
    return strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
}

static size_t s_read(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap, f) : 0;
    if (f)
        fclose(f);
    return n;
}

static ft_pcap_t s_pc;
static uint8_t s_raw[1 << 20];

/* fuzz_collector's input: [selector][length, 2 bytes BE][datagram]... */
static int s_collector(const char *dir, const char *path)
{
    size_t off = 0, l = strlen(path);
    if (l > 4 && !strcmp(path + l - 4, ".bin")) {
        static uint8_t one[FT_DGRAM_MAX];
        size_t n = s_read(path, one, sizeof(one));
        s_raw[0] = 1, s_raw[1] = (uint8_t)(n >> 8), s_raw[2] = (uint8_t)n;
        memcpy(s_raw + 3, one, n);
        return s_write(dir, s_base(path), 0, s_raw, n + 3);
    }
    if (ft_pcap_load(path, &s_pc) != 0)
        return -1;
    for (int i = 0; i < s_pc.n && off + 3 + s_pc.len[i] <= sizeof(s_raw); i++) {
        s_raw[off] = (uint8_t)(i % 3);
        s_raw[off + 1] = (uint8_t)(s_pc.len[i] >> 8);
        s_raw[off + 2] = (uint8_t)s_pc.len[i];
        memcpy(s_raw + off + 3, s_pc.data[i], s_pc.len[i]);
        off += 3 + s_pc.len[i];
    }
    ft_pcap_free(&s_pc);
    return s_write(dir, s_base(path), 0, s_raw, off);
}

static int s_gen_window(const char *dir)
{
    Floodgate__Rates r = FLOODGATE__RATES__INIT;
    Floodgate__Contributor c = FLOODGATE__CONTRIBUTOR__INIT, *cp[] = {&c};
    Floodgate__HostWindow h = FLOODGATE__HOST_WINDOW__INIT, *hp[] = {&h};
    Floodgate__GroupTotal g = FLOODGATE__GROUP_TOTAL__INIT, *gp[] = {&g};
    Floodgate__WindowBatch wb = FLOODGATE__WINDOW_BATCH__INIT;
    const char *why;
    fg_buf_t out = {0};
    r.pps = 50000, r.bps = 4e8, r.fps = 10;
    c.kind = FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT, c.key_lo = 53, c.share = 0.9, c.packets = 9;
    h.addr_lo = 0xffff0a000105ULL, h.total = h.udp = h.largest = &r, h.n_top = 1, h.top = cp;
    g.total = &r, g.hosts = 1;
    wb.shards = 2, wb.shard = 1, wb.seq = 7, wb.window_end_ms = 1764500000000ULL, wb.window_ms = 200;
    wb.n_hosts = 1, wb.hosts = hp, wb.n_groups = 1, wb.groups = gp;
    if (wb_pack(&wb, &out, &why) < 0 || s_write(dir, "window", 0, out.data, out.len) < 0)
        return -1;
    wb.n_hosts = 0;
    if (wb_pack(&wb, &out, &why) < 0 || s_write(dir, "window", 1, out.data, out.len) < 0)
        return -1;
    fg_buf_free(&out);
    return 0;
}

static int s_gen_decision(const char *dir)
{
    Floodgate__Rates r = FLOODGATE__RATES__INIT;
    Floodgate__Contributor c = FLOODGATE__CONTRIBUTOR__INIT, *cp[] = {&c};
    Floodgate__Decision d = FLOODGATE__DECISION__INIT;
    uint8_t buf[4096];
    const char *why;
    r.pps = 50000, r.bps = 4e8, r.fps = 10;
    c.kind = FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT, c.key_lo = 53, c.share = 0.9;
    d.addr_lo = 0xffff0a000105ULL, d.action = FLOODGATE__ACTION__BAN;
    d.attack_type = "udp_flood", d.metric = "pps", d.hostgroup = "default";
    d.value = 50000, d.threshold = 20000, d.ban_time = 600, d.total = &r, d.n_top = 1, d.top = cp;
    d.enable_ban = 1, d.decided_ms = 1764500000000ULL;
    size_t n = dec_pack(&d, buf, sizeof(buf), &why);
    if (!n || s_write(dir, "decision", 0, buf, n) < 0)
        return -1;
    d.addr_lo = 0xffff0a000119ULL, d.direction = FLOODGATE__DIRECTION__DIR_OUT, d.metric = "mbps";
    n = dec_pack(&d, buf, sizeof(buf), &why);
    return n && s_write(dir, "decision", 1, buf, n) == 0 ? 0 : -1;
}

static int s_gen_flowbatch(const char *dir)
{
    fb_builder_t *b = fb_builder_new(64);
    uint8_t ex[16] = {[10] = 0xff, [11] = 0xff, [12] = 127, [15] = 9};
    size_t len;
    for (int i = 0; i < 40; i++) {
        fg_flow_t f = {0};
        f.host = fg_addr_from_v4(0x0a000100u + (uint32_t)(i % 5));
        f.peer = fg_addr_from_v4(0xc6336400u + (uint32_t)i);
        f.proto = i % 3 ? 17 : 6, f.tcp_flags = 2, f.sport = (uint16_t)(1000 + i), f.dport = 53;
        f.packets = 1000, f.bytes = 64000, f.sampling = 1;
        f.start_ms = 1764500000000ULL - (i % 4 ? 100 : 30000), f.end_ms = 1764500000000ULL;
        ex[15] = (uint8_t)(9 + i % 2);
        fb_add(b, &f, ex);
    }
    /* fuzz_flowbatch_agg's steps: [op][length, 2 bytes BE][bytes]: this
     * batch (op 0), a window closed 200 ms later (op 3 + 8 x 4), records
     * made by the target (op 2), a window closed */
    uint8_t *p = fb_pack(b, 1, 0, 1, 1, 1764500000000ULL, &len);
    static uint8_t steps[1 << 16];
    size_t n = 0;
    if (!p || len + 100 > sizeof(steps)) {
        free(p);
        fb_builder_destroy(&b);
        return -1;
    }
    steps[n++] = 0, steps[n++] = (uint8_t)(len >> 8), steps[n++] = (uint8_t)len;
    memcpy(steps + n, p, len);
    n += len;
    steps[n++] = 3 + 8 * 4, steps[n++] = 0, steps[n++] = 0;
    steps[n++] = 2, steps[n++] = 0, steps[n++] = 48;
    for (int i = 0; i < 48; i++)
        steps[n++] = (uint8_t)(i * 37 + 5);
    steps[n++] = 3 + 8 * 4, steps[n++] = 0, steps[n++] = 0;
    int rc = s_write(dir, "flowbatch", 0, steps, n);
    free(p);
    fb_builder_destroy(&b);
    return rc;
}

/* Texts: each seed a NUL-free string (fuzz targets add the NUL). */
static int s_texts(const char *dir, const char *base, const char *const *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s_write(dir, base, (int)i, t[i], strlen(t[i])) < 0)
            return -1;
    return 0;
}

static const char s_fs_set[] =
    "{\"action\":\"rate-limit\",\"rate\":125000,\"coverage\":0.95,\"collateral\":0.01,"
    "\"rules\":[{\"match\":\"dst=10.0.1.5/32 proto=17 sport=53\",\"coverage\":0.9},"
    "{\"match\":\"dst=10.0.1.5/32 src=198.51.100.0/24 proto=6 tcp_flags=syn\",\"coverage\":0.05}]}";

/* Inputs of 64 to 4 096 bytes from a fixed xorshift, their first byte 4
 * (four shards) so that some pass the header. */
static int s_gen_recipes(const char *dir, const char *base)
{
    static uint8_t b[4096];
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 7; i++) {
        size_t n = (size_t)64 << i;
        for (size_t k = 0; k < n; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            b[k] = (uint8_t)x;
        }
        b[0] = 4;
        if (s_write(dir, base, i, b, n) < 0)
            return -1;
    }
    return 0;
}

static int s_gen(const char *dir, const char *t)
{
    if (!strcmp(t, "window"))
        return s_gen_window(dir);
    if (!strcmp(t, "decision"))
        return s_gen_decision(dir);
    if (!strcmp(t, "flowbatch_agg"))
        return s_gen_flowbatch(dir);
    if (!strcmp(t, "wbwrite"))
        return s_gen_recipes(dir, t);
    if (!strcmp(t, "flowspec")) {
        /* first byte: 0 a rule key, 1 a rule set */
        const char *x[] = {"dst=10.0.1.5/32 proto=17 sport=53 dport=80",
                           "dst=2001:db8:100::5/128 src=2001:db8:9::/48 proto=6 fragment",
                           s_fs_set};
        static uint8_t one[sizeof(s_fs_set) + 1];
        for (int i = 0; i < 3; i++) {
            one[0] = i == 2;
            memcpy(one + 1, x[i], strlen(x[i]));
            if (s_write(dir, "flowspec", i, one, strlen(x[i]) + 1) < 0)
                return -1;
        }
        return 0;
    }
    if (!strcmp(t, "ban_hist")) {
        const char *x[] = {
            "{\"event\":\"ban\",\"at\":\"2026-11-27T10:41:42Z\",\"ip\":\"10.0.1.5\","
            "\"attack_type\":\"udp_flood\",\"direction\":\"incoming\",\"metric\":\"pps\","
            "\"value\":50000,\"threshold\":20000,\"hostgroup\":\"default\",\"source\":\"detector\","
            "\"banned_at\":\"2026-11-27T10:41:42Z\",\"expires_at\":\"2026-11-27T11:11:42Z\","
            "\"ban_count\":3,\"details\":{\"total\":{\"pps\":50000}},\"mitigation\":\"blackhole\"}",
            "{\"event\":\"unban\",\"at\":\"2026-11-27T11:11:42Z\",\"ban_count\":\"12\"}"};
        return s_texts(dir, "ban_hist", x, 2);
    }
    if (!strcmp(t, "ban_hash")) {
        /* the key's address, then name, value, ... NUL-separated */
        static const char h[] =
            "10.0.1.5\0attack_type\0udp_flood\0direction\0incoming\0metric\0pps\0value\0"
            "50000\0threshold\0020000\0hostgroup\0default\0source\0manual_force\0banned_at\0"
            "2026-11-27T10:41:42Z\0ban_count\0003\0details\0{\"total\":{\"pps\":5}}\0mitigation\0"
            "flowspec\0flowspec\0{\"action\":\"discard\",\"rules\":[{\"match\":"
            "\"dst=10.0.1.5/32 proto=17\"}]}";
        return s_write(dir, "ban_hash", 0, h, sizeof(h) - 1);
    }
    fprintf(stderr, "seeds: no generator for %s\n", t);
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 1;
    if (argc == 4 && !strcmp(argv[2], "--gen"))
        return s_gen(argv[1], argv[3]) == 0 ? 0 : 1;
    bool copy = argc > 2 && !strcmp(argv[2], "--copy");
    bool col = argc > 2 && !strcmp(argv[2], "--collector");
    for (int a = copy || col ? 3 : 2; a < argc; a++) {
        size_t l = strlen(argv[a]);
        if (col) {
            if (s_collector(argv[1], argv[a]) != 0)
                return 1;
            continue;
        }
        if (copy || (l > 4 && !strcmp(argv[a] + l - 4, ".bin"))) {
            size_t n = s_read(argv[a], s_raw, sizeof(s_raw));
            if (!n || s_write(argv[1], s_base(argv[a]), 0, s_raw, n) != 0)
                return 1;
            continue;
        }
        if (ft_pcap_load(argv[a], &s_pc) != 0)
            return 1;
        for (int i = 0; i < s_pc.n; i++)
            if (s_write(argv[1], s_base(argv[a]), i, s_pc.data[i], s_pc.len[i]) != 0)
                return 1;
        ft_pcap_free(&s_pc);
    }
    return 0;
}
