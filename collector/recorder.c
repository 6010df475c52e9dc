/* recorder: rotating pcap files of the datagrams received (recorder.h). */
#include "collector/recorder.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REC_RETRY_US 10000000ULL /* a failed open is tried again after 10 s */
#define REC_FLUSH_US 1000000ULL
#define REC_LINKTYPE_RAW 101
#define REC_BUF 65536

struct rec {
    char prefix[PATH_MAX - 64];
    uint64_t max_bytes;
    uint64_t max_us;
    uint32_t keep;
    FILE *f;
    char *buf;          /* the FILE's buffer */
    uint64_t size;      /* bytes in the open file */
    uint64_t opened_us; /* when the open file was opened */
    uint64_t retry_us;  /* no open before this, after a failure */
    uint64_t flushed_us;
    uint32_t seq; /* numbers the files of one second */
    rec_stats_t st;
};

static void s_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void s_be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

rec_t *rec_new(const char *prefix, uint64_t max_bytes, uint32_t max_seconds, uint32_t keep)
{
    rec_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    if (snprintf(self->prefix, sizeof(self->prefix), "%s", prefix) >= (int)sizeof(self->prefix)) {
        free(self);
        return NULL;
    }
    self->max_bytes = max_bytes;
    self->max_us = (uint64_t)max_seconds * 1000000ULL;
    self->keep = keep ? keep : 1;
    return self;
}

static void s_close(rec_t *self)
{
    if (!self->f)
        return;
    if (fclose(self->f) != 0)
        self->st.errors++;
    self->f = NULL;
    free(self->buf);
    self->buf = NULL;
}

void rec_destroy(rec_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_close(*self_p);
    free(*self_p);
    *self_p = NULL;
}

/* Delete the oldest PREFIX-*.pcap beyond keep (the names sort by time). */
static void s_prune(rec_t *self)
{
    char pat[PATH_MAX];
    glob_t g;
    snprintf(pat, sizeof(pat), "%s-*.pcap", self->prefix);
    if (glob(pat, 0, NULL, &g) != 0)
        return;
    for (size_t i = 0; i + self->keep < g.gl_pathc; i++) {
        if (unlink(g.gl_pathv[i]) == 0)
            self->st.removed++;
        else
            self->st.errors++;
    }
    globfree(&g);
}

static int s_open(rec_t *self, uint64_t wall_us)
{
    char path[PATH_MAX + 64], when[32];
    time_t s = (time_t)(wall_us / 1000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
    /* never an existing file (another of the same second, or of a process
     * started in the same second): the next number */
    for (int k = 0; k < 100 && !self->f; k++) {
        snprintf(path, sizeof(path), "%s-%s-%04u.pcap", self->prefix, when,
                 (unsigned)(self->seq++ % 10000));
        self->f = fopen(path, "wbx");
        if (!self->f && errno != EEXIST)
            break;
    }
    self->buf = malloc(REC_BUF);
    if (!self->f || !self->buf) {
        if (self->f)
            fclose(self->f);
        self->f = NULL;
        free(self->buf);
        self->buf = NULL;
        self->st.errors++;
        self->retry_us = wall_us + REC_RETRY_US;
        return -1;
    }
    setvbuf(self->f, self->buf, _IOFBF, REC_BUF);
    { /* pcap header: magic, 2.4, zone, sigfigs, snaplen, link type */
        uint8_t h[24] = {0};
        s_le32(h, 0xa1b2c3d4);
        h[4] = 2;
        h[6] = 4;
        s_le32(h + 16, 65535);
        s_le32(h + 20, REC_LINKTYPE_RAW);
        if (fwrite(h, 1, sizeof(h), self->f) != sizeof(h)) {
            self->st.errors++;
            s_close(self);
            self->retry_us = wall_us + REC_RETRY_US;
            return -1;
        }
        self->size = sizeof(h);
    }
    self->opened_us = wall_us;
    self->flushed_us = wall_us;
    self->st.files++;
    s_prune(self);
    return 0;
}

/* The IPv4 header checksum (RFC 791) of h[0..19]. */
static uint16_t s_csum(const uint8_t *h)
{
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)(h[i] << 8 | h[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* The IP and UDP headers of a datagram into h; their length. */
static size_t s_headers(uint8_t *h, size_t len, const fg_addr_t *from, uint16_t sport,
                        uint16_t dport)
{
    size_t ip;
    if (fg_addr_is_v4(from)) {
        ip = 20;
        memset(h, 0, ip);
        h[0] = 0x45;
        s_be16(h + 2, (uint32_t)(ip + 8 + len));
        h[8] = 64;
        h[9] = 17;
        uint32_t a = fg_addr_v4(from);
        h[12] = (uint8_t)(a >> 24), h[13] = (uint8_t)(a >> 16), h[14] = (uint8_t)(a >> 8),
        h[15] = (uint8_t)a;
        s_be16(h + 10, s_csum(h));
    } else {
        ip = 40;
        memset(h, 0, ip);
        h[0] = 0x60;
        s_be16(h + 4, (uint32_t)(8 + len));
        h[6] = 17;
        h[7] = 64;
        fg_addr_to_bytes16(from, h + 8);
    }
    s_be16(h + ip, sport);
    s_be16(h + ip + 2, dport);
    s_be16(h + ip + 4, (uint32_t)(8 + len));
    h[ip + 6] = h[ip + 7] = 0; /* no UDP checksum */
    return ip + 8;
}

void rec_tick(rec_t *self, uint64_t wall_us)
{
    if (!self->f)
        return;
    if (wall_us - self->opened_us >= self->max_us && self->max_us) {
        s_close(self);
        return; /* the next datagram opens the next file */
    }
    if (wall_us - self->flushed_us >= REC_FLUSH_US) {
        self->flushed_us = wall_us;
        if (fflush(self->f) != 0) {
            self->st.errors++;
            s_close(self);
            self->retry_us = wall_us + REC_RETRY_US;
        }
    }
}

void rec_datagram(rec_t *self, const uint8_t *buf, size_t len, const fg_addr_t *exporter,
                  uint16_t sport, uint16_t dport, uint64_t wall_us)
{
    uint8_t rec[16], hdr[48];
    if (len > 65535 - 48) {
        self->st.dropped++;
        return;
    }
    size_t hl = s_headers(hdr, len, exporter, sport, dport);
    uint64_t need = 16 + hl + len;
    rec_tick(self, wall_us);
    if (self->f && self->size + need > self->max_bytes && self->size > 24)
        s_close(self);
    if (!self->f && (wall_us < self->retry_us || s_open(self, wall_us) != 0)) {
        self->st.dropped++;
        return;
    }
    s_le32(rec, (uint32_t)(wall_us / 1000000));
    s_le32(rec + 4, (uint32_t)(wall_us % 1000000));
    s_le32(rec + 8, (uint32_t)(hl + len));
    s_le32(rec + 12, (uint32_t)(hl + len));
    if (fwrite(rec, 1, 16, self->f) != 16 || fwrite(hdr, 1, hl, self->f) != hl ||
        fwrite(buf, 1, len, self->f) != len) {
        self->st.errors++;
        self->st.dropped++;
        s_close(self);
        self->retry_us = wall_us + REC_RETRY_US;
        return;
    }
    self->size += need;
    self->st.bytes += need;
    self->st.datagrams++;
}

const rec_stats_t *rec_stats(const rec_t *self)
{
    return &self->st;
}
