/* bench_codec: what parsing gobgp's RIB listing and checking every message
 * cost.
 *
 *   floodgate-bench-codec [ROUTES [HOSTS]]   (default 100000 routes, 10000 hosts)
 *
 *   1. gobgp_parse_rib on a listing of ROUTES /32 routes in the exact form
 *      Debian's gobgp 3.10 prints (tests/data/gobgp_rib_ipv4.json), half of
 *      them with 65535:666: routes/s and the RSS it grows by (each
 *      destination is parsed on its own, so it should not grow with ROUTES);
 *   2. a WindowBatch of HOSTS hosts, 25 contributors each: pack with
 *      wb_pack (validation included) against protobuf-c's pack alone and
 *      the aggregator's writer (common/wbwrite.c, validation included, from
 *      the same values held as plain numbers), and wb_unpack against
 *      protobuf-c's unpack alone, so the validation's share shows.
 * Times are CLOCK_MONOTONIC, best of 5; RSS from /proc/self/statm. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actuator/gobgp.h"
#include "common/classes.h"
#include "common/wbwrite.h"
#include "common/window.h"

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double s_rss_mb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    if (f)
        fclose(f);
    return (double)rss * (double)sysconf(_SC_PAGESIZE) / 1e6;
}

/* The substring search gobgp_parse_rib replaced (main before 53419e9), kept
 * here only to measure against. */
/* The string value after `"name":` at p (bounded by end) into out. */
static bool s_json_string_at(const char *p, char *out, size_t outlen)
{
    if (*p != '"')
        return false;
    const char *q = strchr(p + 1, '"');
    if (!q || (size_t)(q - p - 1) >= outlen)
        return false;
    memcpy(out, p + 1, (size_t)(q - p - 1));
    out[q - p - 1] = '\0';
    return true;
}

/* True when the community array starting at p (just after '[') holds the
 * BLACKHOLE community before its ']'. */
static bool s_has_blackhole(const char *p, const char *end)
{
    while (p < end && *p != ']') {
        char *next;
        unsigned long long v = strtoull(p, &next, 10);
        if (next == p)
            return false;
        if (v == 4294902426ULL)
            return true;
        p = next;
        while (p < end && (*p == ',' || *p == ' '))
            p++;
    }
    return false;
}

static int s_old_parse_rib(const char *json, gobgp_route_fn *fn, void *arg)
{
    static const char nlri[] = "\"nlri\":{\"prefix\":";
    static const char comm[] = "\"communities\":[";
    int n = 0;
    if (!json || (json[0] != '{' && json[0] != '\0'))
        return -1;
    const char *p = strstr(json, nlri);
    while (p) {
        char prefix[FG_PREFIX_STRLEN];
        if (!s_json_string_at(p + sizeof(nlri) - 1, prefix, sizeof(prefix)))
            return -1;
        const char *next = strstr(p + 1, nlri);
        const char *end = next ? next : p + strlen(p);
        const char *c = strstr(p, comm);
        bool bh = c && c < end && s_has_blackhole(c + sizeof(comm) - 1, end);
        fn(prefix, bh, arg);
        n++;
        p = next;
    }
    return n;
}


static size_t s_routes;
static void s_count(const char *prefix, bool blackhole, void *arg)
{
    (void)prefix;
    *(size_t *)arg += blackhole;
    s_routes++;
}

static void s_bench_rib(size_t n)
{
    size_t cap = n * 300 + 16, len = 0;
    char *text = malloc(cap);
    text[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        char p[32];
        snprintf(p, sizeof(p), "10.%zu.%zu.%zu/32", i >> 16 & 255, i >> 8 & 255, i & 255);
        len += (size_t)snprintf(
            text + len, cap - len,
            "%s\"%s\":[{\"nlri\":{\"prefix\":\"%s\"},\"age\":1796073222,\"best\":true,"
            "\"attrs\":[{\"type\":1,\"value\":2},{\"type\":8,\"communities\":[%s]},{\"type\":3,"
            "\"nexthop\":\"198.51.100.1\"}],\"stale\":false}]",
            i ? "," : "", p, p, i % 2 ? "4294902426,4259905636" : "4259905636");
    }
    text[len++] = '}';
    text[len] = '\0';
    double best = 1e9, rss0 = s_rss_mb(), grown = 0;
    size_t bh = 0;
    for (int r = 0; r < 5; r++) {
        bh = 0;
        s_routes = 0;
        double t0 = s_now();
        int got = gobgp_parse_rib(text, s_count, &bh);
        double t = s_now() - t0;
        if (got != (int)n || bh != n / 2)
            printf("rib: parse gave %d routes, %zu blackholes\n", got, bh);
        best = t < best ? t : best;
        grown = s_rss_mb() - rss0 > grown ? s_rss_mb() - rss0 : grown;
    }
    double old = 1e9;
    for (int r = 0; r < 5; r++) {
        bh = 0;
        double t0 = s_now();
        s_old_parse_rib(text, s_count, &bh);
        double t = s_now() - t0;
        old = t < old ? t : old;
    }
    printf("rib: %zu routes, %.1f MB of JSON: best %.1f ms, %.2f M routes/s, %.1f MB/s, "
           "RSS grown %.1f MB; the substring search it replaced: %.1f ms\n",
           n, (double)len / 1e6, best * 1e3, (double)n / best / 1e6, (double)len / best / 1e6,
           grown, old * 1e3);
    free(text);
}

/* The same hosts through the writer, from plain values: seconds, or -1
 * when it refused the message or its bytes are not wb_pack's (packed). */
static double s_bench_writer(const Floodgate__WindowBatch *wb, const fg_buf_t *packed)
{
    size_t n = wb->n_hosts, top = n ? wb->hosts[0]->n_top : 0;
    ww_rates_t *r = calloc(n * FG_CLASSES, sizeof(*r));
    ww_contrib_t *con = calloc(n * top + 1, sizeof(*con));
    for (size_t h = 0; h < n; h++) {
        for (int c = 0; c < FG_CLASSES; c++) {
            const Floodgate__Rates *x = fg_class_rates(wb->hosts[h], c);
            r[h * FG_CLASSES + (size_t)c] = (ww_rates_t){x->pps, x->bps, x->fps};
        }
        for (size_t k = 0; k < top; k++) {
            const Floodgate__Contributor *x = wb->hosts[h]->top[k];
            con[h * top + k] = (ww_contrib_t){(int)x->kind, x->key_hi,  x->key_lo,
                                              x->share,     x->packets, x->sampling};
        }
    }
    ww_header_t hd = {.shards = wb->shards, .window_ms = wb->window_ms};
    fg_buf_t out;
    fg_buf_init(&out, 0);
    double best = 1e9;
    const char *why = NULL;
    for (int i = 0; i < 5; i++) {
        double t0 = s_now();
        ww_t w;
        ww_begin(&w, &out, &hd);
        for (size_t h = 0; h < n; h++) {
            const Floodgate__HostWindow *x = wb->hosts[h];
            ww_host_t wh = {
                .addr_hi = x->addr_hi, .addr_lo = x->addr_lo, .top = &con[h * top], .n_top = top};
            for (int c = 0; c < FG_CLASSES; c++)
                wh.rates[c] = &r[h * FG_CLASSES + (size_t)c];
            ww_host(&w, &wh);
        }
        int rc = ww_finish(&w, &why);
        double t1 = s_now();
        if (rc < 0 || out.len != packed->len || memcmp(out.data, packed->data, out.len) != 0)
            best = -1;
        best = best >= 0 && t1 - t0 < best ? t1 - t0 : best;
    }
    fg_buf_free(&out);
    free(r);
    free(con);
    return best;
}

static void s_bench_window(size_t hosts)
{
    enum { TOP = 25 };
    Floodgate__HostWindow *hw = calloc(hosts, sizeof(*hw));
    Floodgate__HostWindow **hwp = calloc(hosts, sizeof(*hwp));
    Floodgate__Rates *r = calloc(hosts * FG_CLASSES, sizeof(*r));
    Floodgate__Contributor *con = calloc(hosts * TOP, sizeof(*con));
    Floodgate__Contributor **conp = calloc(hosts * TOP, sizeof(*conp));
    for (size_t h = 0; h < hosts; h++) {
        floodgate__host_window__init(&hw[h]);
        hw[h].addr_lo = 0x0000ffff0a000000ull + h;
        for (int c = 0; c < FG_CLASSES; c++) {
            floodgate__rates__init(&r[h * FG_CLASSES + (size_t)c]);
            r[h * FG_CLASSES + (size_t)c].pps = 1000.0 + (double)h;
            *fg_class_field(&hw[h], c) = &r[h * FG_CLASSES + (size_t)c];
        }
        for (int k = 0; k < TOP; k++) {
            Floodgate__Contributor *x = &con[h * TOP + (size_t)k];
            floodgate__contributor__init(x);
            x->kind = (Floodgate__ContribKind)(k % 5);
            x->share = 0.04;
            x->packets = 100;
            conp[h * TOP + (size_t)k] = x;
        }
        hw[h].n_top = TOP;
        hw[h].top = &conp[h * TOP];
        hwp[h] = &hw[h];
    }
    Floodgate__WindowBatch wb = FLOODGATE__WINDOW_BATCH__INIT;
    wb.shards = 1;
    wb.window_ms = 200;
    wb.n_hosts = hosts;
    wb.hosts = hwp;
    fg_buf_t out;
    fg_buf_init(&out, 0);
    const char *why;
    double b_pack = 1e9, b_raw = 1e9, b_unpack = 1e9, b_rawu = 1e9;
    uint8_t *raw = malloc(floodgate__window_batch__get_packed_size(&wb));
    for (int i = 0; i < 5; i++) {
        double t0 = s_now();
        if (wb_pack(&wb, &out, &why) < 0)
            printf("window: pack refused: %s\n", why);
        double t1 = s_now();
        if (floodgate__window_batch__get_packed_size(&wb) > 0) /* as agg.c did before */
            floodgate__window_batch__pack(&wb, raw);
        double t2 = s_now();
        Floodgate__WindowBatch *u = wb_unpack((const uint8_t *)out.data, out.len, &why);
        double t3 = s_now();
        Floodgate__WindowBatch *v = floodgate__window_batch__unpack(NULL, out.len, raw);
        double t4 = s_now();
        wb_free(&u);
        floodgate__window_batch__free_unpacked(v, NULL);
        b_pack = t1 - t0 < b_pack ? t1 - t0 : b_pack;
        b_raw = t2 - t1 < b_raw ? t2 - t1 : b_raw;
        b_unpack = t3 - t2 < b_unpack ? t3 - t2 : b_unpack;
        b_rawu = t4 - t3 < b_rawu ? t4 - t3 : b_rawu;
    }
    double b_ww = s_bench_writer(&wb, &out);
    printf("window: %zu hosts x %d contributors, %.1f MB: wb_pack %.2f ms (protobuf-c size + pack "
           "alone %.2f ms), writer %.2f ms%s, wb_unpack %.2f ms (unpack alone %.2f ms)\n",
           hosts, TOP, (double)out.len / 1e6, b_pack * 1e3, b_raw * 1e3, b_ww * 1e3,
           b_ww < 0 ? " (NOT THE SAME BYTES)" : "", b_unpack * 1e3, b_rawu * 1e3);
    fg_buf_free(&out);
    free(raw);
    free(hw);
    free(hwp);
    free(r);
    free(con);
    free(conp);
}

int main(int argc, char **argv)
{
    size_t routes = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    size_t hosts = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
    s_bench_rib(routes);
    s_bench_window(hosts);
    return 0;
}
