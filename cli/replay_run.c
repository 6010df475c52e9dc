/* replay_run: the replay engine (see replay.h). */
#include <math.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregator/agg.h"
#include "cli/replay.h"
#include "cli/replay_nfcapd.h"
#include "collector/collector.h"
#include "common/classes.h"
#include "common/window.h"
#include "detector/detect.h"

/* Windows closed after the last packet, so its records are published and
 * judged, and consecutive windows after the end still count. */
#define RP_TAIL_TICKS 3

typedef struct {
    pcap_t *pc;
    int link;
    const uint8_t *data;
    struct pcap_pkthdr hdr;
    uint64_t ts_ms;
    int live;   /* a packet is held */
    int failed; /* pcap_next_ex failed: the reason in err */
    char err[PCAP_ERRBUF_SIZE + 512];
    rp_nf_t *nf;   /* an nfcapd file, read through nfdump, instead of pc */
    raw_flow_t rec; /* its record held, ts_ms its end */
    fg_addr_t exporter;
} rp_src_t;

typedef struct {
    const fg_config_t *cfg;
    col_t *col;
    agg_t *agg[FG_MAX_SHARDS];
    det_t *det;
    uint64_t now_ms;
    uint64_t next_tick;
    rp_result_t *out;
    rp_opts_t opts;
    int failed; /* out of memory keeping a ban */
} rp_ctx_t;

/* ---- captures ---- */

static uint64_t s_ts_ms(const struct pcap_pkthdr *h)
{
    return (uint64_t)h->ts.tv_sec * 1000 + (uint64_t)h->ts.tv_usec / 1000;
}

static void s_nf_next(rp_src_t *s)
{
    int rc = rp_nf_next(s->nf, &s->rec, &s->exporter, s->err, sizeof(s->err));
    s->live = rc == 1;
    s->failed = rc < 0;
    if (s->live)
        s->ts_ms = s->rec.end_ms;
}

static void s_src_next(rp_src_t *s)
{
    if (s->nf) {
        s_nf_next(s);
        return;
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    int rc = pcap_next_ex(s->pc, &h, &d);
    s->live = rc == 1;
    if (rc == PCAP_ERROR) {
        s->failed = 1;
        snprintf(s->err, sizeof(s->err), "%s", pcap_geterr(s->pc));
    }
    if (s->live) {
        s->hdr = *h;
        s->data = d;
        s->ts_ms = s_ts_ms(h);
    }
}

/* The big-endian 16-bit value at p. */
static unsigned s_be16(const uint8_t *p)
{
    return (unsigned)(p[0] << 8 | p[1]);
}

/* Offset of the IP header for the link type, with *ethertype-like family:
 * 4 IPv4, 6 IPv6, 0 unknown. -1 when the frame is too short. */
static int s_link(const uint8_t *p, size_t len, int link, int *family)
{
    size_t off = 0;
    unsigned type = 0;
    *family = 0;
    switch (link) {
    case DLT_EN10MB:
        off = 12;
        if (len < off + 2)
            return -1;
        type = s_be16(p + off);
        while ((type == 0x8100 || type == 0x88a8) && len >= off + 6) {
            off += 4;
            type = s_be16(p + off);
        }
        off += 2;
        break;
    case DLT_LINUX_SLL:  /* 16-byte header, protocol at 14 */
    case DLT_LINUX_SLL2: /* 20-byte header, protocol at 0 */
        off = link == DLT_LINUX_SLL ? 16 : 20;
        if (len < off)
            return -1;
        type = s_be16(p + (link == DLT_LINUX_SLL ? 14 : 0));
        break;
    case DLT_NULL:
    case DLT_LOOP:
        off = 4;
        type = 0; /* family read from the IP header */
        break;
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
    case 101: /* LINKTYPE_RAW where DLT_RAW is 12 */
        break;
    default:
        return -1;
    }
    if (len < off + 1)
        return -1;
    if (type == 0x0800 || (type == 0 && p[off] >> 4 == 4))
        *family = 4;
    else if (type == 0x86dd || (type == 0 && p[off] >> 4 == 6))
        *family = 6;
    return (int)off;
}

/* The UDP payload of a frame and its source address. 0, or -1 when the
 * frame is not an unfragmented UDP datagram over IPv4 / IPv6 captured
 * whole. */
static int s_udp(const rp_src_t *s, const uint8_t **pl, size_t *pl_len, fg_addr_t *from)
{
    const uint8_t *p = s->data;
    size_t len = s->hdr.caplen, ip_len;
    int family, off = s_link(p, len, s->link, &family);
    if (off < 0 || family == 0)
        return -1;
    p += off;
    len -= (size_t)off;
    if (family == 4) {
        if (len < 20 || p[9] != 17 || (s_be16(p + 6) & 0x3fff) != 0)
            return -1; /* short, not UDP, or a fragment */
        ip_len = (size_t)(p[0] & 0x0f) * 4;
        if (ip_len < 20)
            return -1;
        *from = fg_addr_from_v4((uint32_t)p[12] << 24 | (uint32_t)p[13] << 16 |
                                (uint32_t)p[14] << 8 | p[15]);
    } else {
        if (len < 40 || p[6] != 17)
            return -1;
        ip_len = 40;
        *from = fg_addr_from_bytes16(p + 8);
    }
    if (len < ip_len + 8)
        return -1;
    size_t udp_len = (size_t)s_be16(p + ip_len + 4);
    if (udp_len < 8 || ip_len + udp_len > len)
        return -1; /* cut by the snap length */
    *pl = p + ip_len + 8;
    *pl_len = udp_len - 8;
    return 0;
}

/* ---- statistics ---- */

static int s_bucket(double v)
{
    if (!(v > 0))
        return 0;
    double b = (log2(v) + 10.0) * 32.0;
    if (b < 0)
        return 0;
    if (b >= RP_BUCKETS - 1)
        return RP_BUCKETS - 1;
    return (int)b + 1;
}

double rp_quantile(const rp_series_t *s, double q)
{
    if (s->n == 0)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)s->n), seen = 0;
    if (rank == 0)
        rank = 1;
    for (int b = 0; b < RP_BUCKETS; b++) {
        seen += s->hist[b];
        if (seen >= rank) {
            double edge = b == 0 ? 0 : exp2((double)b / 32.0 - 10.0);
            return edge < s->peak ? edge : s->peak;
        }
    }
    return s->peak;
}

void rp_series_add(rp_series_t *s, double v)
{
    s->n++;
    if (v > s->peak)
        s->peak = v;
    s->hist[s_bucket(v)]++;
}

static int s_excluded(const rp_opts_t *o, const Floodgate__HostWindow *hw)
{
    for (size_t i = 0; i < o->n_exclude; i++)
        if (o->exclude[i].addr.hi == hw->addr_hi && o->exclude[i].addr.lo == hw->addr_lo &&
            o->exclude[i].dir == (int)hw->dir)
            return 1;
    return 0;
}

static void s_stats_window(rp_result_t *r, const rp_opts_t *o, const Floodgate__WindowBatch *wb)
{
    for (size_t i = 0; i < wb->n_hosts; i++) {
        const Floodgate__HostWindow *hw = wb->hosts[i];
        if (hw->hostgroup >= FG_MAX_GROUPS || (int)hw->dir < 0 || (int)hw->dir > 1 ||
            s_excluded(o, hw))
            continue;
        rp_group_stats_t **g = &r->groups[hw->hostgroup][hw->dir];
        if (!*g && !(*g = calloc(1, sizeof(**g))))
            continue;
        for (int c = 0; c < FG_CLASSES; c++) {
            const Floodgate__Rates *rt = fg_class_rates(hw, c);
            double pps = rt ? rt->pps : 0, mbps = rt ? rt->bps / 1e6 : 0, fps = rt ? rt->fps : 0;
            rp_series_add(&(*g)->s[c][0], pps);
            rp_series_add(&(*g)->s[c][1], mbps);
            rp_series_add(&(*g)->s[c][2], fps);
        }
    }
}

/* ---- the pipeline ---- */

static int s_keep_ban(const Floodgate__Decision *d, void *arg)
{
    rp_ctx_t *c = arg;
    rp_result_t *r = c->out;
    if (d->action != FLOODGATE__ACTION__BAN) {
        r->ongoing++;
        return 0;
    }
    if (r->n_bans == r->cap_bans) {
        size_t cap = r->cap_bans ? r->cap_bans * 2 : 64;
        rp_ban_t *b = realloc(r->bans, cap * sizeof(*b));
        if (!b) {
            c->failed = 1;
            return -1;
        }
        r->bans = b;
        r->cap_bans = cap;
    }
    rp_ban_t *b = &r->bans[r->n_bans++];
    memset(b, 0, sizeof(*b));
    b->addr = (fg_addr_t){d->addr_hi, d->addr_lo};
    b->dir = d->direction;
    b->decided_ms = d->decided_ms;
    b->first_ms = d->first_seen_ms;
    snprintf(b->attack_type, sizeof(b->attack_type), "%s", d->attack_type ? d->attack_type : "");
    snprintf(b->metric, sizeof(b->metric), "%s", d->metric ? d->metric : "");
    snprintf(b->hostgroup, sizeof(b->hostgroup), "%s", d->hostgroup ? d->hostgroup : "");
    b->value = d->value;
    b->threshold = d->threshold;
    for (size_t i = 0; i < d->n_top && b->n_top < RP_TOP; i++) {
        rp_contrib_t *t = &b->top[b->n_top++];
        t->kind = d->top[i]->kind;
        t->key = (fg_addr_t){d->top[i]->key_hi, d->top[i]->key_lo};
        t->share = d->top[i]->share;
    }
    return 0;
}

static void s_to_shard(void *arg, int shard, const uint8_t *buf, size_t len)
{
    rp_ctx_t *c = arg;
    agg_ingest(c->agg[shard], buf, len, c->now_ms);
}

/* Close every shard's window ending at t and judge it. */
static void s_tick(rp_ctx_t *c, uint64_t t)
{
    c->now_ms = t;
    col_set_wall_ms(c->col, t);
    col_flush_due(c->col, t);
    for (int i = 0; i < c->cfg->aggregator.shards; i++) {
        size_t len = 0;
        const uint8_t *buf = agg_close_window(c->agg[i], t, &len);
        const char *why = NULL;
        Floodgate__WindowBatch *wb = buf ? wb_unpack(buf, len, &why) : NULL;
        if (!wb)
            continue;
        c->out->windows++;
        s_stats_window(c->out, &c->opts, wb);
        det_window(c->det, wb, t);
        wb_free(&wb);
    }
    det_tick(c->det, t);
}

/* Run the ticks due up to t (a packet's time). */
static void s_advance(rp_ctx_t *c, uint64_t t)
{
    uint64_t tick = (uint64_t)c->cfg->aggregator.tick_ms;
    if (c->next_tick == 0)
        c->next_tick = (t / tick + 1) * tick;
    while (c->next_tick <= t) {
        s_tick(c, c->next_tick);
        c->next_tick += tick;
    }
    c->now_ms = t;
}

static void s_pace(double speed, uint64_t t0, uint64_t t, const struct timespec *start)
{
    double due = (double)(t - t0) / 1000.0 / speed;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double el = (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
    if (due > el) {
        double w = due - el;
        struct timespec ts = {(time_t)w, (long)((w - floor(w)) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* Replay time moves to ts_ms, a packet's or record's time, which widens
 * the capture's span; one older than the last (merged files, reordering)
 * keeps the time already reached: time never goes back. The time reached. */
static uint64_t s_reach(rp_ctx_t *c, uint64_t ts_ms)
{
    rp_result_t *r = c->out;
    if (r->first_ms == 0)
        r->first_ms = ts_ms;
    if (ts_ms > r->last_ms)
        r->last_ms = ts_ms;
    uint64_t t = ts_ms > c->now_ms ? ts_ms : c->now_ms;
    s_advance(c, t);
    return t;
}

/* An nfcapd file's record, at its end time: what a collector would have
 * decoded from the datagram that brought it. */
static void s_record(rp_ctx_t *c, rp_src_t *s)
{
    rp_result_t *r = c->out;
    r->nfcapd_records++;
    uint64_t t = s_reach(c, s->ts_ms);
    col_set_wall_ms(c->col, t);
    col_records(c->col, &s->rec, 1, &s->exporter, t);
    col_flush_due(c->col, t);
}

static void s_packet(rp_ctx_t *c, rp_src_t *s)
{
    rp_result_t *r = c->out;
    if (s->nf) {
        s_record(c, s);
        return;
    }
    r->packets++;
    uint64_t t = s_reach(c, s->ts_ms);
    const uint8_t *pl;
    size_t pl_len;
    fg_addr_t from;
    if (s_udp(s, &pl, &pl_len, &from) != 0) {
        r->skipped++;
        return;
    }
    r->datagrams++;
    col_set_wall_ms(c->col, t);
    col_datagram(c->col, pl, pl_len, &from, t);
    col_flush_due(c->col, t);
}

static rp_src_t *s_earliest(rp_src_t *src, int n)
{
    rp_src_t *best = NULL;
    for (int i = 0; i < n; i++)
        if (src[i].live && (!best || src[i].ts_ms < best->ts_ms))
            best = &src[i];
    return best;
}

static void s_finish(rp_ctx_t *c)
{
    col_flush_all(c->col);
    if (c->next_tick)
        for (int k = 0; k < RP_TAIL_TICKS; k++) {
            s_tick(c, c->next_tick);
            c->next_tick += (uint64_t)c->cfg->aggregator.tick_ms;
        }
    const col_stats_t *cs = col_stats(c->col);
    c->out->records = cs->records;
    c->out->kept = cs->kept;
    c->out->malformed =
        cs->bad_version + cs->short_header + cs->bad_count + cs->truncated + cs->bad_sets;
}

static int s_open(rp_src_t *src, char *const *captures, int n, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE];
    for (int i = 0; i < n; i++) {
        int nf = rp_nf_probe(captures[i], err, errlen);
        if (nf < 0 || (nf && !(src[i].nf = rp_nf_open(captures[i], err, errlen))))
            return -1;
        if (nf) {
            s_src_next(&src[i]);
            continue;
        }
        src[i].pc =
            pcap_open_offline_with_tstamp_precision(captures[i], PCAP_TSTAMP_PRECISION_MICRO, perr);
        if (!src[i].pc) {
            snprintf(err, errlen, "%s: %s", captures[i], perr);
            return -1;
        }
        src[i].link = pcap_datalink(src[i].pc);
        s_src_next(&src[i]);
    }
    return 0;
}

static int s_pipeline(rp_ctx_t *c, char *err, size_t errlen)
{
    c->col = col_new_sink(c->cfg, s_to_shard, c, err, errlen);
    if (!c->col)
        return -1;
    for (int i = 0; i < c->cfg->aggregator.shards; i++)
        if (!(c->agg[i] = agg_new(c->cfg, (uint32_t)i))) {
            snprintf(err, errlen, "out of memory for shard %d", i);
            return -1;
        }
    if (!(c->det = det_new(c->cfg, s_keep_ban, c))) {
        snprintf(err, errlen, "out of memory for the detector");
        return -1;
    }
    return 0;
}

static void s_teardown(rp_ctx_t *c, rp_src_t *src, int n)
{
    for (int i = 0; i < n; i++)
        if (src[i].pc)
            pcap_close(src[i].pc);
    for (int i = 0; i < n; i++)
        rp_nf_close(&src[i].nf);
    free(src);
    det_destroy(&c->det);
    for (int i = 0; i < FG_MAX_SHARDS; i++)
        agg_destroy(&c->agg[i]);
    col_destroy(&c->col);
}

int rp_run(const fg_config_t *cfg, char *const *captures, int n, const rp_opts_t *opts,
           rp_result_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    rp_ctx_t c = {.cfg = cfg, .out = out};
    if (opts)
        c.opts = *opts;
    double speed = c.opts.speed;
    rp_src_t *src = calloc((size_t)(n > 0 ? n : 1), sizeof(*src));
    int rc = -1;
    if (!src) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (s_open(src, captures, n, err, errlen) != 0 || s_pipeline(&c, err, errlen) != 0)
        goto done;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    rp_src_t *s;
    uint64_t t0 = 0;
    while ((s = s_earliest(src, n))) {
        if (!t0)
            t0 = s->ts_ms;
        if (speed > 0 && s->ts_ms > t0)
            s_pace(speed, t0, s->ts_ms, &start);
        s_packet(&c, s);
        s_src_next(s);
    }
    s_finish(&c);
    for (int i = 0; i < n; i++) {
        if (!src[i].failed)
            continue;
        /* a file cut in its last packet (a recorder killed, a copy in
         * progress) is read up to there, and said so */
        if (!src[i].nf && strstr(src[i].err, "truncated")) {
            out->truncated_files++;
            snprintf(out->warning, sizeof(out->warning), "%s: %.256s: read up to there",
                     captures[i], src[i].err);
            continue;
        }
        if (src[i].nf)
            snprintf(err, errlen, "%s", src[i].err);
        else
            snprintf(err, errlen, "%s: %s", captures[i], src[i].err);
        goto done;
    }
    if (c.failed) {
        snprintf(err, errlen, "out of memory keeping the bans");
        goto done;
    }
    rc = 0;
done:
    s_teardown(&c, src, n);
    if (rc != 0)
        rp_result_free(out); /* a failed run keeps nothing */
    return rc;
}

void rp_result_free(rp_result_t *r)
{
    free(r->bans);
    for (int g = 0; g < FG_MAX_GROUPS; g++)
        for (int d = 0; d < 2; d++)
            free(r->groups[g][d]);
    memset(r, 0, sizeof(*r));
}
