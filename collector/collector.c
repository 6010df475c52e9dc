#include "collector/collector.h"

#include <czmq.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/exporters.h"
#include "collector/netflow_v5.h"
#include "collector/raw.h"
#include "common/flowbatch.h"
#include "common/log.h"

/* A ZeroMQ socket waits this long at exit to hand over queued batches. */
#define COL_LINGER_MS 1000
#define COL_LOG_EVERY_MS 10000

typedef struct {
    fb_builder_t *fb;
    zsock_t *push;
    uint64_t next_seq;   /* starts at 1; spent by every batch built */
    uint64_t oldest_ms;  /* monotonic time of the batch's first record */
} col_shard_t;

struct col {
    const fg_config_t *cfg;
    col_shard_t shards[FG_MAX_SHARDS];
    int n_shards;
    exp_table_t *exporters;
    col_stats_t st;
    fg_ratelimit_t rl_malformed, rl_dropped, rl_seq, rl_exporters;
};

static int s_shard_open(col_shard_t *sh, const fg_config_t *cfg, int i, char *err, size_t errlen)
{
    sh->next_seq = 1;
    sh->fb = fb_builder_new((size_t)cfg->batch_records);
    sh->push = zsock_new(ZMQ_PUSH);
    if (!sh->fb || !sh->push) {
        snprintf(err, errlen, "out of memory or ZeroMQ sockets for shard %d", i);
        return -1;
    }
    zsock_set_sndhwm(sh->push, cfg->send_hwm);
    zsock_set_linger(sh->push, COL_LINGER_MS);
    if (zsock_connect(sh->push, "%s", cfg->pull_connect[i]) != 0) {
        snprintf(err, errlen, "cannot connect shard %d to %s: %s", i, cfg->pull_connect[i],
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

col_t *col_new(const fg_config_t *cfg, char *err, size_t errlen)
{
    col_t *self = calloc(1, sizeof(*self));
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->n_shards = cfg->shards;
    self->exporters = exp_table_new(COL_MAX_EXPORTERS);
    if (!self->exporters) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (int i = 0; i < self->n_shards; i++)
        if (s_shard_open(&self->shards[i], cfg, i, err, errlen) != 0)
            goto fail;
    return self;
fail:
    col_destroy(&self);
    return NULL;
}

void col_destroy(col_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    col_t *self = *self_p;
    for (int i = 0; i < self->n_shards; i++) {
        fb_builder_destroy(&self->shards[i].fb);
        zsock_destroy(&self->shards[i].push);
    }
    exp_table_destroy(&self->exporters);
    free(self);
    *self_p = NULL;
}

static void s_free_batch(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* Pack and send shard i's batch without blocking; a batch the socket will
 * not take now is dropped and counted. Its sequence number is spent either
 * way, so the shard counts the loss. */
static void s_flush(col_t *self, int i)
{
    col_shard_t *sh = &self->shards[i];
    size_t n = fb_count(sh->fb), len = 0;
    if (n == 0)
        return;
    uint64_t seq = sh->next_seq++;
    uint8_t *buf = fb_pack(sh->fb, self->cfg->collector_id, (uint32_t)i,
                           (uint32_t)self->n_shards, seq, fg_now_ms(), &len);
    zmq_msg_t msg;
    if (!buf) {
        self->st.batches_dropped++; /* fb_pack kept the records for the next one */
        return;
    }
    if (zmq_msg_init_data(&msg, buf, len, s_free_batch, NULL) != 0) {
        free(buf);
        self->st.batches_dropped++;
        self->st.records_dropped += n;
        return;
    }
    if (zmq_msg_send(&msg, zsock_resolve(sh->push), ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        self->st.batches_dropped++;
        self->st.records_dropped += n;
        fg_log_rl(&self->rl_dropped, COL_LOG_EVERY_MS, FG_LOG_WARN,
                  "event=batch_dropped shard=%d seq=%llu records=%zu reason=%s", i,
                  (unsigned long long)seq, n, zmq_strerror(zmq_errno()));
        return;
    }
    self->st.batches_sent++;
}

static void s_add(col_t *self, const fg_flow_t *f, const uint8_t exporter[16], uint64_t now_ms)
{
    int i = (int)(fg_addr_hash(&f->host) % (uint64_t)self->n_shards);
    col_shard_t *sh = &self->shards[i];
    if (fb_count(sh->fb) == 0)
        sh->oldest_ms = now_ms;
    if (fb_add(sh->fb, f, exporter) != 0) {
        /* full, or its exporter table is: send it and start a new one */
        s_flush(self, i);
        sh->oldest_ms = now_ms;
        if (fb_add(sh->fb, f, exporter) != 0) {
            self->st.records_dropped++;
            return;
        }
    }
    self->st.out_records++;
    if (fb_count(sh->fb) >= (size_t)self->cfg->batch_records)
        s_flush(self, i);
}

/* The raw records of one datagram: filter, then batch per shard. */
static void s_records(col_t *self, const raw_flow_t *recs, int n, const fg_addr_t *exporter,
                      uint64_t now_ms)
{
    uint8_t ex[16];
    fg_addr_to_bytes16(exporter, ex);
    self->st.records += (uint64_t)n;
    for (int r = 0; r < n; r++) {
        fg_flow_t out[2];
        int k = raw_filter(self->cfg, &recs[r], out);
        if (k == 0) {
            self->st.filtered++;
            continue;
        }
        self->st.kept++;
        for (int j = 0; j < k; j++)
            s_add(self, &out[j], ex, now_ms);
    }
}

static void s_count_malformed(col_t *self, nf5_status_t st, const fg_addr_t *exporter,
                              unsigned version, size_t len)
{
    uint64_t *c = st == NF5_ERR_VERSION        ? &self->st.bad_version
                  : st == NF5_ERR_SHORT_HEADER ? &self->st.short_header
                  : st == NF5_ERR_COUNT        ? &self->st.bad_count
                                               : &self->st.truncated;
    (*c)++;
    char a[FG_ADDR_STRLEN];
    fg_log_rl(&self->rl_malformed, COL_LOG_EVERY_MS, FG_LOG_WARN,
              "event=malformed exporter=%s version=%u reason=%s len=%zu",
              fg_addr_format(exporter, a), version, nf5_status_str(st), len);
}

static void s_sequence(col_t *self, const nf5_header_t *h, const fg_addr_t *exporter)
{
    uint32_t domain = (uint32_t)h->engine_type << 8 | h->engine_id;
    exp_entry_t *e = exp_get(self->exporters, exporter, NF5_VERSION, domain);
    if (!e) {
        self->st.exporters_untracked++;
        fg_log_rl(&self->rl_exporters, COL_LOG_EVERY_MS, FG_LOG_WARN,
                  "event=exporter_table_full max=%d", COL_MAX_EXPORTERS);
        return;
    }
    e->datagrams++;
    uint64_t resets = e->seq.resets, reorders = e->seq.reorders;
    uint32_t lost = nf5_seq_update(&e->seq, h->flow_sequence, h->count);
    self->st.seq_lost += lost;
    self->st.seq_resets += e->seq.resets - resets;
    self->st.seq_reorders += e->seq.reorders - reorders;
    if (lost) {
        char a[FG_ADDR_STRLEN];
        fg_log_rl(&self->rl_seq, COL_LOG_EVERY_MS, FG_LOG_INFO,
                  "event=sequence_gap proto=netflow_v5 exporter=%s engine=%u/%u lost=%u",
                  fg_addr_format(exporter, a), h->engine_type, h->engine_id, lost);
    }
}

static void s_netflow_v5(col_t *self, const uint8_t *buf, size_t len, const fg_addr_t *exporter,
                         uint64_t now_ms)
{
    nf5_header_t h;
    raw_flow_t recs[NF5_MAX_RECORDS];
    nf5_status_t st = nf5_decode(buf, len, (uint32_t)self->cfg->default_sampling, &h, recs);
    if (st != NF5_OK && st != NF5_TRAILING) {
        s_count_malformed(self, st, exporter, NF5_VERSION, len);
        return;
    }
    if (st == NF5_TRAILING)
        self->st.trailing++;
    s_sequence(self, &h, exporter);
    s_records(self, recs, h.count, exporter, now_ms);
}

void col_datagram(col_t *self, const uint8_t *buf, size_t len, const fg_addr_t *exporter,
                  uint64_t now_ms)
{
    self->st.datagrams++;
    /* Every export format starts with a 16-bit version: NetFlow v5 = 5,
     * v9 = 9, IPFIX = 10 (RFC 7011 3.1); sFlow v5 has a 32-bit version 5,
     * so its first two bytes are 0 (and it arrives on its own port). */
    uint16_t version = len >= 2 ? (uint16_t)(buf[0] << 8 | buf[1]) : 0;
    switch (version) {
    case NF5_VERSION:
        s_netflow_v5(self, buf, len, exporter, now_ms);
        break;
    default:
        s_count_malformed(self, len >= 2 ? NF5_ERR_VERSION : NF5_ERR_SHORT_HEADER, exporter,
                          version, len);
        break;
    }
}

void col_flush_due(col_t *self, uint64_t now_ms)
{
    for (int i = 0; i < self->n_shards; i++) {
        col_shard_t *sh = &self->shards[i];
        if (fb_count(sh->fb) && now_ms - sh->oldest_ms >= (uint64_t)self->cfg->batch_ms)
            s_flush(self, i);
    }
}

void col_flush_all(col_t *self)
{
    for (int i = 0; i < self->n_shards; i++)
        s_flush(self, i);
}

int col_next_flush_ms(const col_t *self, uint64_t now_ms)
{
    int best = self->cfg->batch_ms;
    for (int i = 0; i < self->n_shards; i++) {
        const col_shard_t *sh = &self->shards[i];
        if (fb_count(sh->fb) == 0)
            continue;
        uint64_t age = now_ms - sh->oldest_ms;
        int left = age >= (uint64_t)self->cfg->batch_ms ? 0 : self->cfg->batch_ms - (int)age;
        if (left < best)
            best = left;
    }
    return best;
}

col_stats_t *col_stats(col_t *self)
{
    return &self->st;
}

#define COL_STAT(name) {#name, offsetof(col_stats_t, name)}
static const struct {
    const char *name;
    size_t off;
} s_stat_names[] = {
    COL_STAT(datagrams),       COL_STAT(bad_version),     COL_STAT(short_header),
    COL_STAT(bad_count),       COL_STAT(truncated),       COL_STAT(trailing),
    COL_STAT(oversize),        COL_STAT(records),         COL_STAT(kept),
    COL_STAT(filtered),        COL_STAT(out_records),     COL_STAT(batches_sent),
    COL_STAT(batches_dropped), COL_STAT(records_dropped), COL_STAT(seq_lost),
    COL_STAT(seq_resets),      COL_STAT(seq_reorders),    COL_STAT(exporters_untracked),
    COL_STAT(kernel_drops),    COL_STAT(recv_errors),
};

char *col_stats_format(const col_t *self, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(s_stat_names) / sizeof(s_stat_names[0]); i++) {
        uint64_t v = *(const uint64_t *)((const char *)&self->st + s_stat_names[i].off);
        int w = snprintf(buf + used, len - used, "%s%s=%llu", i ? " " : "",
                         s_stat_names[i].name, (unsigned long long)v);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    if (used + 32 < len)
        snprintf(buf + used, len - used, " exporters=%zu", exp_count(self->exporters));
    return buf;
}

const struct exp_table *col_exporters(const col_t *self)
{
    return self->exporters;
}

void col_log_exporters(const col_t *self)
{
    for (size_t i = 0; i < exp_capacity(self->exporters); i++) {
        const exp_entry_t *e = exp_at(self->exporters, i);
        if (!e)
            continue;
        char a[FG_ADDR_STRLEN];
        fg_info("event=exporter addr=%s proto=%u domain=%u datagrams=%llu seq_lost=%llu "
                "seq_resets=%llu seq_reorders=%llu",
                fg_addr_format(&e->addr, a), e->proto, e->domain,
                (unsigned long long)e->datagrams, (unsigned long long)e->seq.lost,
                (unsigned long long)e->seq.resets, (unsigned long long)e->seq.reorders);
    }
}
