/* floodgate-flowgen: synthetic NetFlow v5 for demos, tests and benchmarks.
 *
 * Describes a flood of --pps packets per second against one or more hosts
 * (plus optional background hosts at a low rate) as NetFlow v5 records, and
 * sends them every 100 ms to a collector on loopback, so a collector that
 * multiplies by the sampling interval measures exactly the rate asked for.
 * Times are consistent: SysUptime counts from the generator's start, and
 * every record of a slice has First/Last inside that 100 ms slice. With
 * --count it instead sends N full datagrams as fast as it can (benchmarks).
 *
 * By default it only sends to 127.0.0.0/8 or ::1: the addresses inside the
 * records are payload, the datagrams themselves never leave the machine.
 * --allow-nonlocal lets it send to another address, for a collector in a
 * network namespace or on a lab host; 192.0.2.0/24 stays refused even then
 * (the test machines' uplink). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLICE_MS 100
#define MAX_DST 4096
#define MAX_DURATION 3600
#define MAX_COUNT 1000000000ULL
#define MAX_SOURCES 131072u /* 198.18.0.0/15, the benchmarking range (RFC 2544) */
#define SOURCE_BASE 0xc6120000u
#define BG_BASE 0x0a000101u /* 10.0.1.1 */
#define MAX_BACKGROUND 250
#define UPTIME_BASE_MS 3600000u /* pretend the router booted an hour ago */
#define V5_HDR 24
#define V5_REC 48
#define V5_MAX_REC 30
#define BATCH 64

typedef struct {
    struct sockaddr_storage to;
    socklen_t tolen;
    uint32_t dst[MAX_DST];
    int n_dst;
    double pps, rate_records, bg_pps;
    uint32_t bpp, sources, duration, sampling, background, seq_start;
    uint32_t active_timeout; /* seconds; 0: background records per slice */
    uint32_t bg_base;        /* the first background host */
    int sport, dport, tcp_flags; /* -1: default */
    uint8_t proto;
    uint64_t count;
    bool allow_nonlocal;
    const char *dest; /* -d as given: checked once every option is read */
} opts_t;

typedef struct {
    const opts_t *o;
    int fd;
    uint64_t t0_mono;    /* generator start: SysUptime = UPTIME_BASE + since t0 */
    uint32_t flow_seq;   /* flows sent so far, from --seq-start */
    uint32_t next_src;
    uint64_t next_rec; /* records built, varies the default source port */
    uint32_t uptime_now; /* SysUptime of the datagrams being built */
    double carry_pkts, carry_recs, carry_bg;
    uint8_t dg[BATCH][V5_HDR + V5_MAX_REC * V5_REC];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    int n_dg, n_rec;   /* datagrams ready, records in the open one */
    uint64_t sent_dg, sent_rec, described_pkts, send_errors;
} gen_t;

static volatile sig_atomic_t s_stop = 0;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static uint64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void s_be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void s_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Send the datagrams built so far in one sendmmsg call (a few if the kernel
 * takes part of them). A refused or failed send is counted, never fatal: the
 * collector may not be up yet. */
static void s_send(gen_t *g)
{
    int off = 0;
    for (int tries = 0; off < g->n_dg && tries < BATCH; tries++) {
        int n = sendmmsg(g->fd, g->msgs + off, (unsigned)(g->n_dg - off), 0);
        if (n <= 0) {
            g->send_errors += (uint64_t)(g->n_dg - off);
            break;
        }
        g->sent_dg += (uint64_t)n;
        off += n;
    }
    g->n_dg = 0;
}

/* Write the header of the open datagram and queue it. */
static void s_close_dgram(gen_t *g)
{
    if (g->n_rec == 0)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint8_t *h = g->dg[g->n_dg];
    s_be16(h, 5);
    s_be16(h + 2, (uint32_t)g->n_rec);
    s_be32(h + 4, g->uptime_now);
    s_be32(h + 8, (uint32_t)now.tv_sec);
    s_be32(h + 12, (uint32_t)now.tv_nsec);
    s_be32(h + 16, g->flow_seq);
    h[20] = 0; /* engine_type */
    h[21] = 1; /* engine_id */
    s_be16(h + 22, g->o->sampling > 1 ? (1u << 14 | (g->o->sampling & 0x3fff)) : 0);
    g->iov[g->n_dg].iov_len = (size_t)(V5_HDR + g->n_rec * V5_REC);
    g->flow_seq += (uint32_t)g->n_rec;
    g->sent_rec += (uint64_t)g->n_rec;
    g->n_rec = 0;
    if (++g->n_dg == BATCH)
        s_send(g);
}

typedef struct {
    uint32_t src, dst, pkts, bytes, first, last;
    uint16_t sport, dport;
    uint8_t flags, proto;
} rec_t;

static void s_add_record(gen_t *g, const rec_t *r)
{
    uint8_t *p = g->dg[g->n_dg] + V5_HDR + g->n_rec * V5_REC;
    memset(p, 0, V5_REC);
    s_be32(p, r->src);
    s_be32(p + 4, r->dst);
    s_be16(p + 12, 1); /* input ifIndex */
    s_be16(p + 14, 2); /* output ifIndex */
    s_be32(p + 16, r->pkts);
    s_be32(p + 20, r->bytes);
    s_be32(p + 24, r->first);
    s_be32(p + 28, r->last);
    s_be16(p + 32, r->sport);
    s_be16(p + 34, r->dport);
    p[37] = r->flags;
    p[38] = r->proto;
    if (++g->n_rec == V5_MAX_REC)
        s_close_dgram(g);
}

/* Take the whole part of want + *carry, keep the fraction for later. */
static uint32_t s_take(double want, double *carry)
{
    double v = want + *carry;
    double whole = floor(v + 1e-9); /* 10 x 0.1 is 0.999..., not 1 */
    *carry = v - whole > 0 ? v - whole : 0;
    return whole > 4e9 ? 4000000000u : (uint32_t)whole;
}

/* One attack record's fields but its packets. */
static rec_t s_attack_rec(gen_t *g, uint64_t k, uint32_t first, uint32_t last)
{
    const opts_t *o = g->o;
    rec_t r = {0};
    r.src = SOURCE_BASE + g->next_src;
    g->next_src = (g->next_src + 1) % o->sources;
    r.dst = o->dst[k % (uint64_t)o->n_dst];
    r.first = first;
    r.last = last;
    r.proto = o->proto;
    r.sport = (uint16_t)(o->sport >= 0 ? o->sport : 1024 + (int)((g->next_rec++ * 7919) % 64000));
    r.dport = (uint16_t)(o->dport >= 0 ? o->dport : o->proto == 1 ? 0x0800 : 80);
    if (o->proto == 1)
        r.sport = 0; /* v5 carries ICMP type << 8 | code in dstport */
    r.flags = (uint8_t)(o->tcp_flags >= 0 ? o->tcp_flags : o->proto == 6 ? 0x02 : 0);
    return r;
}

/* --active-timeout T: each background host's traffic is one long flow that a
 * router exports every T seconds, First/Last spanning those T seconds (the
 * flow began T seconds before its first export). Host h is first exported
 * in slice h * 20 / background (within the first 2 s), then every T s. */
static void s_background_long(gen_t *g, uint32_t first, uint32_t last)
{
    const opts_t *o = g->o;
    uint64_t k = (first - UPTIME_BASE_MS) / SLICE_MS, every = (uint64_t)o->active_timeout * 10;
    for (uint32_t h = 0; h < o->background; h++) {
        uint64_t k0 = (uint64_t)h * 20 / o->background;
        if (k < k0 || (k - k0) % every != 0)
            continue;
        double want = o->bg_pps * o->active_timeout / o->sampling;
        rec_t r = {0};
        r.src = SOURCE_BASE + h;
        r.dst = o->bg_base + h;
        r.pkts = want > 4e9 ? 4000000000u : (uint32_t)(want + 0.5);
        r.bytes = r.pkts > UINT32_MAX / 800 ? UINT32_MAX : r.pkts * 800;
        r.first = last - o->active_timeout * 1000 + 1;
        r.last = last;
        r.sport = 443;
        r.dport = (uint16_t)(20000 + h);
        r.flags = 0x18;
        r.proto = 6;
        s_add_record(g, &r);
        g->described_pkts += (uint64_t)r.pkts * o->sampling;
    }
}

/* The background hosts 10.0.1.1 .. : light HTTPS-like traffic, one record
 * each per slice when their share of packets is not zero. */
static void s_background(gen_t *g, uint32_t first, uint32_t last)
{
    const opts_t *o = g->o;
    if (o->active_timeout) {
        s_background_long(g, first, last);
        return;
    }
    uint32_t pk = s_take(o->bg_pps * SLICE_MS / 1000.0 / o->sampling, &g->carry_bg);
    for (uint32_t h = 0; pk > 0 && h < o->background; h++) {
        rec_t r = {0};
        r.src = SOURCE_BASE + (g->next_src++ % o->sources);
        r.dst = o->bg_base + h;
        r.pkts = pk;
        r.bytes = pk * 800;
        r.first = first;
        r.last = last;
        r.sport = 443;
        r.dport = (uint16_t)(20000 + h);
        r.flags = 0x18; /* PSH ACK */
        r.proto = 6;
        s_add_record(g, &r);
        g->described_pkts += (uint64_t)pk * o->sampling;
    }
}

/* The records of one 100 ms slice [first, last] of SysUptime: pps / 10
 * packets (divided by the sampling interval) spread over rate_records / 10
 * records, at least one per attacked host. */
static void s_slice(gen_t *g, uint32_t first, uint32_t last)
{
    const opts_t *o = g->o;
    uint32_t pk = s_take(o->pps * SLICE_MS / 1000.0 / o->sampling, &g->carry_pkts);
    uint32_t nr = s_take(o->rate_records * SLICE_MS / 1000.0, &g->carry_recs);
    if (nr < (uint32_t)o->n_dst)
        nr = (uint32_t)o->n_dst;
    if (nr > pk)
        nr = pk;
    for (uint32_t i = 0; i < nr; i++) {
        rec_t r = s_attack_rec(g, i, first, last);
        r.pkts = pk / nr + (i < pk % nr ? 1 : 0);
        uint64_t bytes = (uint64_t)r.pkts * o->bpp;
        r.bytes = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
        s_add_record(g, &r);
        g->described_pkts += (uint64_t)r.pkts * o->sampling;
    }
    s_background(g, first, last);
    s_close_dgram(g);
    s_send(g);
}

static void s_run_paced(gen_t *g)
{
    uint64_t slices = (uint64_t)g->o->duration * (1000 / SLICE_MS);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t k = 0; k < slices && !s_stop; k++) {
        uint64_t end_ns = (uint64_t)t0.tv_nsec + (k + 1) * SLICE_MS * 1000000ULL;
        struct timespec at = {t0.tv_sec + (time_t)(end_ns / 1000000000ULL),
                              (long)(end_ns % 1000000000ULL)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR && !s_stop)
            ;
        uint32_t first = UPTIME_BASE_MS + (uint32_t)(k * SLICE_MS);
        g->uptime_now = first + SLICE_MS;
        s_slice(g, first, first + SLICE_MS - 1);
    }
}

/* --count: N full datagrams of attack records, as fast as possible. */
static void s_run_count(gen_t *g)
{
    uint64_t t0 = s_mono_ms();
    for (uint64_t n = 0; n < g->o->count && !s_stop; n++) {
        g->uptime_now = UPTIME_BASE_MS + (uint32_t)(s_mono_ms() - t0);
        for (int i = 0; i < V5_MAX_REC; i++) {
            rec_t r = s_attack_rec(g, n * V5_MAX_REC + (uint64_t)i, g->uptime_now - 50,
                                   g->uptime_now);
            r.pkts = 10;
            r.bytes = 10 * g->o->bpp;
            s_add_record(g, &r);
            g->described_pkts += 10ULL * g->o->sampling;
        }
    }
    s_close_dgram(g);
    s_send(g);
}

static void s_usage(FILE *out)
{
    fprintf(out,
        "usage: floodgate-flowgen -d HOST:PORT --dst IP [options]\n"
        "Send synthetic NetFlow v5 describing a flood, every 100 ms, to a collector.\n"
        "Only 127.0.0.0/8 and ::1 are accepted as HOST ([::1]:PORT for IPv6)\n"
        "unless --allow-nonlocal is given.\n"
        "\n"
        "  -d, --dest HOST:PORT    collector address (required)\n"
        "  --dst IP                attacked host (IPv4); repeatable (up to %d)\n"
        "  --dst-count N           N attacked hosts from the first --dst upwards\n"
        "  --pps N                 packets/s described towards the attacked hosts,\n"
        "                          in total (default 20000)\n"
        "  --bytes-per-packet N    bytes per packet (default 512)\n"
        "  --proto udp|tcp|icmp    IP protocol (default udp)\n"
        "  --sport N, --dport N    ports (default: source varies over 1024..65023,\n"
        "                          destination 80; ICMP: type<<8|code, default 0x0800)\n"
        "  --tcp-flags N           TCP flags of the records (default 2 = SYN for tcp,\n"
        "                          0 otherwise)\n"
        "  --sources N             distinct source addresses, from 198.18.0.0\n"
        "                          (default 100, at most %u)\n"
        "  --rate-records N        flow records/s carrying the attack packets\n"
        "                          (default 1000; at least one per host per slice)\n"
        "  --sampling N            header sampling interval 1..16383: records carry\n"
        "                          packets / N, so the collector's total is --pps\n"
        "  --background N          N other hosts 10.0.1.1.. at --background-pps each\n"
        "                          (at most %d)\n"
        "  --background-pps N      packets/s per background host (default 10)\n"
        "  --background-from IP    the first background host (default 10.0.1.1)\n"
        "  --active-timeout T      export each background host's traffic as one long\n"
        "                          flow every T seconds (1..3600), First/Last spanning\n"
        "                          the T seconds, first exports within the first 2 s\n"
        "  --duration SECONDS      how long to send, 1..%d (default 10)\n"
        "  --count N               send exactly N full datagrams (30 records) as fast\n"
        "                          as possible, then report datagrams/s (benchmarks)\n"
        "  --seq-start N           first flow_sequence (default 0)\n"
        "  --allow-nonlocal        accept a HOST outside loopback (a collector in a\n"
        "                          network namespace or a lab host); 192.0.2.0/24\n"
        "                          is refused all the same\n"
        "  -h, --help              this text\n"
        "\n"
        "On exit it prints datagrams, records and packets described on stderr.\n",
        MAX_DST, MAX_SOURCES, MAX_BACKGROUND, MAX_DURATION);
}

/* A number in [lo, hi] or exit 2 naming the option. */
static double s_num(const char *opt, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "floodgate-flowgen: %s: expected a number in %.0f..%.0f, got '%s'\n",
                opt, lo, hi, s);
        exit(2);
    }
    return v;
}

/* May we send to this IPv4 address (host order)? */
static bool s_v4_ok(const opts_t *o, uint32_t a)
{
    if ((a & 0xffffff00u) == 0xc0000200u) /* 192.0.2.0/24: never */
        return false;
    return (a >> 24) == 127 || o->allow_nonlocal;
}

/* -d: loopback only, unless --allow-nonlocal. */
static void s_dest(opts_t *o, const char *hostport)
{
    char host[64];
    const char *colon = strrchr(hostport, ':');
    size_t hl = colon ? (size_t)(colon - hostport) : 0;
    const char *h = hostport;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (!colon || hl == 0 || hl >= sizeof(host))
        goto bad;
    memcpy(host, h, hl);
    host[hl] = '\0';
    uint16_t port = (uint16_t)s_num("-d port", colon + 1, 1, 65535);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&o->to;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&o->to;
    memset(&o->to, 0, sizeof(o->to));
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        if (!s_v4_ok(o, ntohl(s4->sin_addr.s_addr)))
            goto refuse;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        o->tolen = sizeof(*s4);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) && !o->allow_nonlocal)
            goto refuse;
        const uint8_t *b = s6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
            !s_v4_ok(o, (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | b[14] << 8 | b[15]))
            goto refuse;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        o->tolen = sizeof(*s6);
    } else {
        goto bad;
    }
    return;
refuse:
    fprintf(stderr,
            "floodgate-flowgen: refusing to send to %s: only 127.0.0.0/8 and ::1%s\n", host,
            o->allow_nonlocal ? " and, with --allow-nonlocal, addresses outside 192.0.2.0/24"
                              : " (--allow-nonlocal for another address)");
    exit(2);
bad:
    fprintf(stderr, "floodgate-flowgen: -d: expected IPv4:PORT or [IPv6]:PORT, got '%s'\n",
            hostport);
    exit(2);
}

static void s_add_dst(opts_t *o, const char *s)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1) {
        fprintf(stderr, "floodgate-flowgen: --dst: not an IPv4 address: '%s'\n", s);
        exit(2);
    }
    if (o->n_dst == MAX_DST) {
        fprintf(stderr, "floodgate-flowgen: --dst: at most %d hosts\n", MAX_DST);
        exit(2);
    }
    o->dst[o->n_dst++] = ntohl(a.s_addr);
}

static uint32_t s_v4(const char *opt, const char *s)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1) {
        fprintf(stderr, "floodgate-flowgen: %s: not an IPv4 address: '%s'\n", opt, s);
        exit(2);
    }
    return ntohl(a.s_addr);
}

static uint8_t s_proto(const char *s)
{
    if (!strcmp(s, "udp"))
        return 17;
    if (!strcmp(s, "tcp"))
        return 6;
    if (!strcmp(s, "icmp"))
        return 1;
    fprintf(stderr, "floodgate-flowgen: --proto: udp, tcp or icmp, not '%s'\n", s);
    exit(2);
}

enum {
    O_DST = 256, O_DST_COUNT, O_PPS, O_BPP, O_PROTO, O_SPORT, O_DPORT, O_FLAGS, O_SOURCES,
    O_DURATION, O_RATE_REC, O_SAMPLING, O_BG, O_BG_PPS, O_COUNT, O_SEQ, O_NONLOCAL, O_ACTIVE,
    O_BG_FROM
};

static void s_option(opts_t *o, int c, const char *arg, uint32_t *dst_count)
{
    switch (c) {
    case 'd': o->dest = arg; break;
    case O_NONLOCAL: o->allow_nonlocal = true; break;
    case O_DST: s_add_dst(o, arg); break;
    case O_DST_COUNT: *dst_count = (uint32_t)s_num("--dst-count", arg, 1, MAX_DST); break;
    case O_PPS: o->pps = s_num("--pps", arg, 0, 1e10); break;
    case O_BPP: o->bpp = (uint32_t)s_num("--bytes-per-packet", arg, 1, 65535); break;
    case O_PROTO: o->proto = s_proto(arg); break;
    case O_SPORT: o->sport = (int)s_num("--sport", arg, 0, 65535); break;
    case O_DPORT: o->dport = (int)s_num("--dport", arg, 0, 65535); break;
    case O_FLAGS: o->tcp_flags = (int)s_num("--tcp-flags", arg, 0, 255); break;
    case O_SOURCES: o->sources = (uint32_t)s_num("--sources", arg, 1, MAX_SOURCES); break;
    case O_DURATION: o->duration = (uint32_t)s_num("--duration", arg, 1, MAX_DURATION); break;
    case O_RATE_REC: o->rate_records = s_num("--rate-records", arg, 1, 1e8); break;
    case O_SAMPLING: o->sampling = (uint32_t)s_num("--sampling", arg, 1, 16383); break;
    case O_BG: o->background = (uint32_t)s_num("--background", arg, 0, MAX_BACKGROUND); break;
    case O_BG_PPS: o->bg_pps = s_num("--background-pps", arg, 0, 1e6); break;
    case O_BG_FROM: o->bg_base = s_v4("--background-from", arg); break;
    case O_ACTIVE: o->active_timeout = (uint32_t)s_num("--active-timeout", arg, 1, 3600); break;
    case O_COUNT: o->count = (uint64_t)s_num("--count", arg, 1, (double)MAX_COUNT); break;
    case O_SEQ: o->seq_start = (uint32_t)s_num("--seq-start", arg, 0, UINT32_MAX); break;
    case 'h': s_usage(stdout); exit(0);
    default: s_usage(stderr); exit(2);
    }
}

static void s_parse(opts_t *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"dest", required_argument, NULL, 'd'}, {"dst", required_argument, NULL, O_DST},
        {"dst-count", required_argument, NULL, O_DST_COUNT},
        {"pps", required_argument, NULL, O_PPS},
        {"bytes-per-packet", required_argument, NULL, O_BPP},
        {"proto", required_argument, NULL, O_PROTO}, {"sport", required_argument, NULL, O_SPORT},
        {"dport", required_argument, NULL, O_DPORT},
        {"tcp-flags", required_argument, NULL, O_FLAGS},
        {"sources", required_argument, NULL, O_SOURCES},
        {"duration", required_argument, NULL, O_DURATION},
        {"rate-records", required_argument, NULL, O_RATE_REC},
        {"sampling", required_argument, NULL, O_SAMPLING},
        {"background", required_argument, NULL, O_BG},
        {"background-pps", required_argument, NULL, O_BG_PPS},
        {"active-timeout", required_argument, NULL, O_ACTIVE},
        {"background-from", required_argument, NULL, O_BG_FROM},
        {"count", required_argument, NULL, O_COUNT}, {"seq-start", required_argument, NULL, O_SEQ},
        {"allow-nonlocal", no_argument, NULL, O_NONLOCAL},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    *o = (opts_t){.pps = 20000, .rate_records = 1000, .bg_pps = 10, .bg_base = BG_BASE, .bpp = 512, .sources = 100,
                  .duration = 10, .sampling = 1, .sport = -1, .dport = -1, .tcp_flags = -1,
                  .proto = 17};
    uint32_t dst_count = 0;
    int c;
    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1)
        s_option(o, c, optarg, &dst_count);
    if (o->dest)
        s_dest(o, o->dest);
    if (optind != argc || o->tolen == 0 || (o->n_dst == 0 && o->background == 0)) {
        fprintf(stderr, "floodgate-flowgen: -d HOST:PORT and --dst IP (or --background N) "
                        "are required\n");
        s_usage(stderr);
        exit(2);
    }
    if (dst_count > 1 && o->n_dst != 1) {
        fprintf(stderr, "floodgate-flowgen: --dst-count needs exactly one --dst, the base\n");
        exit(2);
    }
    for (uint32_t i = 1; i < dst_count; i++)
        o->dst[o->n_dst++] = o->dst[0] + i;
    if (o->n_dst == 0)
        o->pps = 0; /* background only */
}

static int s_open(gen_t *g)
{
    g->fd = socket(g->o->to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (g->fd < 0)
        return -1;
    int sndbuf = 4 << 20;
    setsockopt(g->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    for (int i = 0; i < BATCH; i++) {
        g->iov[i].iov_base = g->dg[i];
        g->msgs[i].msg_hdr.msg_iov = &g->iov[i];
        g->msgs[i].msg_hdr.msg_iovlen = 1;
        g->msgs[i].msg_hdr.msg_name = (void *)&g->o->to;
        g->msgs[i].msg_hdr.msg_namelen = g->o->tolen;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static opts_t o;
    static gen_t g;
    s_parse(&o, argc, argv);
    g.o = &o;
    g.flow_seq = o.seq_start;
    if (s_open(&g) != 0) {
        fprintf(stderr, "floodgate-flowgen: socket: %s\n", strerror(errno));
        return 1;
    }
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    uint64_t t0 = s_mono_ms();
    if (o.count)
        s_run_count(&g);
    else
        s_run_paced(&g);
    double secs = (double)(s_mono_ms() - t0) / 1000.0;
    fprintf(stderr,
            "flowgen: datagrams=%llu records=%llu packets_described=%llu send_errors=%llu "
            "seconds=%.3f datagrams_per_s=%.0f records_per_s=%.0f\n",
            (unsigned long long)g.sent_dg, (unsigned long long)g.sent_rec,
            (unsigned long long)g.described_pkts, (unsigned long long)g.send_errors, secs,
            secs > 0 ? (double)g.sent_dg / secs : 0, secs > 0 ? (double)g.sent_rec / secs : 0);
    close(g.fd);
    return 0;
}
