/* flowtest: helpers shared by the decoder tests (header-only).
 *
 * - pcap reading: the UDP payloads of a classic pcap of Ethernet / IPv4 /
 *   UDP frames, as the exporter captures in tests/data/ are;
 * - per-host totals: records summed per destination address, and the
 *   oracle files (*.oracle: "host packets bytes records" per line, from
 *   tshark) to compare them with;
 * - a byte writer to build datagrams;
 * - a record sink collecting into an array. */
#ifndef FG_TESTS_FLOWTEST_H
#define FG_TESTS_FLOWTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/raw.h"
#include "common/addr.h"

#define FT_MAX_DGRAMS 256
#define FT_DGRAM_MAX 65536

typedef struct {
    int n;
    size_t len[FT_MAX_DGRAMS];
    uint8_t *data[FT_MAX_DGRAMS];
} ft_pcap_t;

static inline uint32_t ft_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Load the UDP payloads of path into *pc. Returns 0 or -1. */
static inline int ft_pcap_load(const char *path, ft_pcap_t *pc)
{
    memset(pc, 0, sizeof(*pc));
    FILE *f = fopen(path, "rb");
    uint8_t gh[24], rh[16];
    static uint8_t frame[FT_DGRAM_MAX];
    if (!f || fread(gh, 1, 24, f) != 24 || ft_le32(gh) != 0xa1b2c3d4u) {
        if (f)
            fclose(f);
        return -1;
    }
    while (pc->n < FT_MAX_DGRAMS && fread(rh, 1, 16, f) == 16) {
        uint32_t cap = ft_le32(rh + 8);
        if (cap > sizeof(frame) || fread(frame, 1, cap, f) != cap)
            break;
        size_t ihl = (size_t)(frame[14] & 0x0f) * 4, off = 14 + ihl + 8;
        if (cap < off)
            continue;
        pc->len[pc->n] = cap - off;
        pc->data[pc->n] = malloc(cap - off + 1);
        memcpy(pc->data[pc->n], frame + off, cap - off);
        pc->n++;
    }
    fclose(f);
    return pc->n > 0 ? 0 : -1;
}

static inline void ft_pcap_free(ft_pcap_t *pc)
{
    for (int i = 0; i < pc->n; i++)
        free(pc->data[i]);
    pc->n = 0;
}

#define FT_MAX_HOSTS 64
typedef struct {
    int n;
    fg_addr_t host[FT_MAX_HOSTS];
    uint64_t packets[FT_MAX_HOSTS], bytes[FT_MAX_HOSTS], records[FT_MAX_HOSTS];
} ft_totals_t;

static inline void ft_add(ft_totals_t *t, const fg_addr_t *host, uint64_t packets,
                          uint64_t bytes)
{
    int i = 0;
    while (i < t->n && !fg_addr_eq(&t->host[i], host))
        i++;
    if (i == t->n) {
        if (t->n == FT_MAX_HOSTS)
            return;
        t->host[t->n++] = *host;
    }
    t->packets[i] += packets;
    t->bytes[i] += bytes;
    t->records[i]++;
}

/* Load an oracle file. Returns 0 or -1. */
static inline int ft_oracle_load(const char *path, ft_totals_t *t)
{
    char line[256], host[128];
    unsigned long long p, b, r;
    memset(t, 0, sizeof(*t));
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        fg_addr_t a;
        if (line[0] == '#' || sscanf(line, "%127s %llu %llu %llu", host, &p, &b, &r) != 4)
            continue;
        if (fg_addr_parse(host, &a) != 0 || t->n == FT_MAX_HOSTS)
            continue;
        t->host[t->n] = a;
        t->packets[t->n] = p;
        t->bytes[t->n] = b;
        t->records[t->n] = r;
        t->n++;
    }
    fclose(f);
    return t->n > 0 ? 0 : -1;
}

/* Compare got with want host by host; prints the first difference unless
 * quiet. Returns 0 when equal. check_records compares record counts too. */
static inline int ft_compare_q(const ft_totals_t *got, const ft_totals_t *want,
                               int check_records, int quiet)
{
    char a[FG_ADDR_STRLEN];
    if (got->n != want->n) {
        if (!quiet)
            fprintf(stderr, "hosts: got %d want %d\n", got->n, want->n);
        return -1;
    }
    for (int i = 0; i < want->n; i++) {
        int j = 0;
        while (j < got->n && !fg_addr_eq(&got->host[j], &want->host[i]))
            j++;
        if (j == got->n || got->packets[j] != want->packets[i] ||
            got->bytes[j] != want->bytes[i] ||
            (check_records && got->records[j] != want->records[i])) {
            if (quiet)
                return -1;
            fprintf(stderr, "host %s: got %llu/%llu/%llu want %llu/%llu/%llu\n",
                    fg_addr_format(&want->host[i], a),
                    j < got->n ? (unsigned long long)got->packets[j] : 0ULL,
                    j < got->n ? (unsigned long long)got->bytes[j] : 0ULL,
                    j < got->n ? (unsigned long long)got->records[j] : 0ULL,
                    (unsigned long long)want->packets[i], (unsigned long long)want->bytes[i],
                    (unsigned long long)want->records[i]);
            return -1;
        }
    }
    return 0;
}

static inline int ft_compare(const ft_totals_t *got, const ft_totals_t *want, int check_records)
{
    return ft_compare_q(got, want, check_records, 0);
}

/* A sink that keeps up to FT_MAX_RECS records in an array. */
#define FT_MAX_RECS 4096
typedef struct {
    raw_flow_t recs[FT_MAX_RECS];
    int n;
    raw_flow_t buf[16];
    raw_sink_t sink;
} ft_sink_t;

static inline void ft_sink_flush(void *arg, const raw_flow_t *recs, int n)
{
    ft_sink_t *s = arg;
    for (int i = 0; i < n && s->n < FT_MAX_RECS; i++)
        s->recs[s->n++] = recs[i];
}

static inline void ft_sink_init(ft_sink_t *s)
{
    s->n = 0;
    s->sink = (raw_sink_t){s->buf, 0, 16, ft_sink_flush, s};
}

static inline void ft_totals_of(const ft_sink_t *s, ft_totals_t *t)
{
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < s->n; i++)
        ft_add(t, &s->recs[i].dst, s->recs[i].packets, s->recs[i].bytes);
}

/* A byte writer for building datagrams. */
typedef struct {
    uint8_t b[FT_DGRAM_MAX];
    size_t n;
} ft_wr_t;

static inline void ft_u8(ft_wr_t *w, uint8_t v)
{
    w->b[w->n++] = v;
}

static inline void ft_u16(ft_wr_t *w, uint16_t v)
{
    ft_u8(w, (uint8_t)(v >> 8));
    ft_u8(w, (uint8_t)v);
}

static inline void ft_u32(ft_wr_t *w, uint32_t v)
{
    ft_u16(w, (uint16_t)(v >> 16));
    ft_u16(w, (uint16_t)v);
}

static inline void ft_u64(ft_wr_t *w, uint64_t v)
{
    ft_u32(w, (uint32_t)(v >> 32));
    ft_u32(w, (uint32_t)v);
}

static inline void ft_bytes(ft_wr_t *w, const void *p, size_t n)
{
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

/* Patch a 16-bit length at offset at to (w->n - from). */
static inline void ft_patch16(ft_wr_t *w, size_t at, size_t from)
{
    w->b[at] = (uint8_t)((w->n - from) >> 8);
    w->b[at + 1] = (uint8_t)(w->n - from);
}

#endif
