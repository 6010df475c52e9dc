#include "collector/collector.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/exporters.h"
#include "collector/ipfix.h"
#include "collector/netflow_v5.h"
#include "collector/netflow_v9.h"
#include "collector/raw.h"
#include "collector/sflow.h"
#include "collector/templates.h"
#include "common/flowbatch.h"
#include "common/log.h"
#include "common/zsec.h"

#define COL_LOG_EVERY_MS 10000
/* Records buffered between a decoder and the filter. */
#define COL_SINK_RECORDS 256
/* Exporter stream lines per stats dump, at most (metrics_exporters). */
#define COL_LOG_EXPORTERS_MAX 256

typedef struct {
    fb_builder_t *fb;
    zsock_t *push; /* the zsec's */
    uint64_t next_seq;   /* starts at 1; spent by every batch built */
    uint64_t oldest_ms;  /* monotonic time of the batch's first record */
    col_shard_stats_t st;
} col_shard_t;

struct col {
    const fg_config_t *cfg;
    zsec_t *zs; /* the PUSH sockets, Curve, their counters */
    col_shard_t shards[FG_MAX_SHARDS];
    int n_shards;
    exp_table_t *exporters;
    exp_entry_t scratch; /* the stream state of exporters beyond the table */
    tpl_cache_t *templates;
    col_stats_t st;
    tpl_stats_t tst;
    sflow_stats_t sst;
    /* the decoders' output, and whose it is while a datagram is decoded */
    raw_sink_t sink;
    raw_flow_t sink_buf[COL_SINK_RECORDS];
    uint8_t cur_ex[16];
    exp_entry_t *cur_exp;
    uint64_t cur_now_ms;
    uint64_t next_sweep_ms; /* of the exporter table and template cache */
    uint64_t wall_ms;       /* col_set_wall_ms: the time to use, 0 = the clock */
    col_batch_fn batch_fn;  /* col_new_sink: batches go here, not to sockets */
    void *batch_arg;
    fg_ratelimit_t rl_malformed, rl_dropped, rl_seq, rl_reset, rl_exporters, rl_evicted;
};

static void s_sink_flush(void *arg, const raw_flow_t *recs, int n);

static int s_shard_open(col_shard_t *sh, zsec_t *zs, const fg_config_t *cfg, int i, bool sinked,
                        char *err, size_t errlen)
{
    sh->next_seq = 1;
    sh->fb = fb_builder_new((size_t)cfg->collector.batch_records);
    if (!sh->fb) {
        snprintf(err, errlen, "out of memory for shard %d", i);
        return -1;
    }
    if (sinked)
        return 0;
    char why[512];
    sh->push = zsec_connect(zs, ZSEC_COL_PUSH, cfg->aggregator.pull_connect[i],
                            cfg->aggregator.public_key[i], why, sizeof(why));
    if (!sh->push) {
        snprintf(err, errlen, "shard %d: %s", i, why);
        return -1;
    }
    return 0;
}

col_t *col_new(const fg_config_t *cfg, char *err, size_t errlen)
{
    return col_new_sink(cfg, NULL, NULL, err, errlen);
}

col_t *col_new_sink(const fg_config_t *cfg, col_batch_fn fn, void *arg, char *err, size_t errlen)
{
    col_t *self = calloc(1, sizeof(*self));
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->n_shards = cfg->aggregator.shards;
    self->batch_fn = fn;
    self->batch_arg = arg;
    const col_config_t *cc = &cfg->collector;
    exp_limits_t lim = {
        .max_streams = (size_t)cc->max_exporters,
        .max_streams_per_addr = (uint32_t)cc->max_streams_per_address,
        .max_templates_per_addr = (uint32_t)cc->max_templates_per_address,
        .idle_ms = (uint64_t)cc->exporter_idle_timeout * 1000,
        .established_ms = (uint64_t)cc->exporter_established_after * 1000,
    };
    self->exporters = exp_table_new(&lim);
    self->templates = tpl_cache_new((size_t)cc->max_templates_total);
    self->scratch.idx = EXP_NONE;
    self->sink = (raw_sink_t){self->sink_buf, 0, COL_SINK_RECORDS, s_sink_flush, self};
    if (!self->exporters || !self->templates) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!fn && !(self->zs = zsec_new(cfg, cfg->collector.cert, NULL, err, errlen)))
        goto fail;
    for (int i = 0; i < self->n_shards; i++)
        if (s_shard_open(&self->shards[i], self->zs, cfg, i, fn != NULL, err, errlen) != 0)
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
    for (int i = 0; i < self->n_shards; i++)
        fb_builder_destroy(&self->shards[i].fb);
    zsec_destroy(&self->zs);
    exp_table_destroy(&self->exporters);
    tpl_cache_destroy(&self->templates);
    free(self);
    *self_p = NULL;
}

zsec_t *col_zsec(col_t *self)
{
    return self->zs;
}

static void s_free_batch(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* Pack and send shard i's batch without blocking; a batch the socket will
 * not take now is dropped and counted. Its sequence number is spent either
 * way, so the shard counts the loss. */
/* A batch of n records that will not reach shard sh: counted in total and
 * per shard. */
static void s_count_drop(col_t *self, col_shard_t *sh, size_t n)
{
    self->st.batches_dropped++;
    self->st.records_dropped += n;
    sh->st.batches_dropped++;
    sh->st.records_dropped += n;
}

static void s_count_sent(col_t *self, col_shard_t *sh, size_t n)
{
    self->st.batches_sent++;
    self->st.records_sent += n;
    sh->st.batches_sent++;
    sh->st.records_sent += n;
}

static uint64_t s_wall(const col_t *self)
{
    return self->wall_ms ? self->wall_ms : fg_now_ms();
}

void col_set_wall_ms(col_t *self, uint64_t wall_ms)
{
    self->wall_ms = wall_ms;
}

static void s_flush(col_t *self, int i)
{
    col_shard_t *sh = &self->shards[i];
    size_t n = fb_count(sh->fb), len = 0;
    if (n == 0)
        return;
    uint64_t seq = sh->next_seq++;
    uint8_t *buf = fb_pack(sh->fb, self->cfg->collector.id, (uint32_t)i, (uint32_t)self->n_shards,
                           seq, s_wall(self), &len);
    zmq_msg_t msg;
    if (!buf) {
        self->st.batches_dropped++; /* fb_pack kept the records for the next one */
        sh->st.batches_dropped++;
        return;
    }
    if (self->batch_fn) {
        self->batch_fn(self->batch_arg, i, buf, len);
        free(buf);
        s_count_sent(self, sh, n);
        return;
    }
    if (zmq_msg_init_data(&msg, buf, len, s_free_batch, NULL) != 0) {
        free(buf);
        s_count_drop(self, sh, n);
        return;
    }
    if (zmq_msg_send(&msg, zsock_resolve(sh->push), ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        s_count_drop(self, sh, n);
        fg_log_rl(&self->rl_dropped, COL_LOG_EVERY_MS, FG_LOG_WARN,
                  "event=batch_dropped shard=%d seq=%llu records=%zu reason=%s", i,
                  (unsigned long long)seq, n, zmq_strerror(zmq_errno()));
        return;
    }
    s_count_sent(self, sh, n);
}

/* The shard of a host: its hash modulo the shard count (DESIGN: every
 * collector must agree), with no hash for 1 shard and no division for a
 * power of two. */
static inline int s_shard_of(const col_t *self, const fg_addr_t *host)
{
    uint64_t n = (uint64_t)self->n_shards;
    if (n == 1)
        return 0;
    uint64_t h = fg_addr_hash(host);
    return (int)((n & (n - 1)) == 0 ? h & (n - 1) : h % n);
}

static void s_add(col_t *self, const fg_flow_t *f, const uint8_t exporter[16], uint64_t now_ms)
{
    int i = s_shard_of(self, &f->host);
    col_shard_t *sh = &self->shards[i];
    size_t n = fb_count(sh->fb);
    if (n == 0)
        sh->oldest_ms = now_ms;
    if (fb_add(sh->fb, f, exporter) != 0) {
        /* full, or its exporter table is: send it and start a new one */
        s_flush(self, i);
        sh->oldest_ms = now_ms;
        if (fb_add(sh->fb, f, exporter) != 0) {
            self->st.records_dropped++;
            return;
        }
        n = fb_count(sh->fb) - 1; /* 0, unless packing failed and kept them */
    }
    self->st.out_records++;
    if (n + 1 >= (size_t)self->cfg->collector.batch_records)
        s_flush(self, i);
}

/* The decoders' records: filter, then batch per shard; counted for the
 * exporter of the datagram being decoded. */
static void s_sink_flush(void *arg, const raw_flow_t *recs, int n)
{
    col_t *self = arg;
    exp_entry_t *e = self->cur_exp;
    self->st.records += (uint64_t)n;
    e->st.records += (uint64_t)n;
    for (int r = 0; r < n; r++) {
        fg_flow_t out[2];
        int k = raw_filter(self->cfg, &recs[r], out);
        if (k == 0) {
            self->st.filtered++;
            e->st.filtered++;
            continue;
        }
        self->st.kept++;
        for (int j = 0; j < k; j++)
            s_add(self, &out[j], self->cur_ex, self->cur_now_ms);
    }
}

/* A datagram that could not be decoded (or not all of it): count it in
 * *counter and for its stream (e, may be NULL), log rate-limited. */
static void s_malformed(col_t *self, uint64_t *counter, exp_entry_t *e,
                        const fg_addr_t *exporter, unsigned version, const char *why, size_t len)
{
    (*counter)++;
    if (e)
        e->st.malformed++;
    char a[FG_ADDR_STRLEN];
    fg_log_rl(&self->rl_malformed, COL_LOG_EVERY_MS, FG_LOG_WARN,
              "event=malformed exporter=%s version=%u reason=%s len=%zu",
              fg_addr_format(exporter, a), version, why, len);
}

static const char *s_proto_name(uint8_t proto)
{
    return proto == NF5_VERSION      ? "netflow_v5"
           : proto == NF9_VERSION    ? "netflow_v9"
           : proto == IPFIX_VERSION  ? "ipfix"
           : proto == COL_PROTO_NFCAPD ? "nfcapd"
                                     : "sflow";
}

/* The state of one exporter stream, counted as a datagram; the scratch
 * entry when the table refused it (counted). */
static exp_entry_t *s_stream(col_t *self, const fg_addr_t *exporter, uint8_t proto,
                             uint32_t domain, uint64_t now_ms)
{
    bool trusted = ptrie_size(self->cfg->collector.exporter_allow) > 0; /* and it passed */
    const exp_table_stats_t *x = exp_stats(self->exporters);
    uint64_t evicted = x->evicted;
    exp_entry_t *e = exp_get(self->exporters, exporter, proto, domain, trusted, now_ms);
    if (x->evicted != evicted)
        fg_log_rl(&self->rl_evicted, COL_LOG_EVERY_MS, FG_LOG_WARN,
                  "event=exporter_evicted reason=\"a new stream displaced one not established\" "
                  "streams=%zu established=%zu evicted=%llu",
                  exp_count(self->exporters), exp_established(self->exporters),
                  (unsigned long long)x->evicted);
    if (!e) {
        self->st.exporters_untracked++;
        char a[FG_ADDR_STRLEN];
        fg_log_rl(&self->rl_exporters, COL_LOG_EVERY_MS, FG_LOG_WARN,
                  "event=exporter_refused exporter=%s proto=%s domain=%u streams=%zu "
                  "established=%zu address_streams=%u refused=%llu",
                  fg_addr_format(exporter, a), s_proto_name(proto), domain,
                  exp_count(self->exporters), exp_established(self->exporters),
                  exp_addr_streams(self->exporters, exporter),
                  (unsigned long long)exp_stats(self->exporters)->refused);
        e = &self->scratch;
        e->seq.valid = false; /* streams mix here: no sequence accounting */
    }
    e->gap_ms = e->datagrams && now_ms > e->last_ms ? now_ms - e->last_ms : 0;
    e->last_ms = now_ms;
    e->datagrams++;
    e->st.datagrams++;
    return e;
}

/* Sequence accounting: count units (records for v5 / IPFIX, datagrams for
 * v9 / sFlow) of this datagram carrying sequence seq. A gap is plausible
 * (lost) up to what the exporter can have sent since its previous
 * datagram at collector/seq_max_records_per_s (datagrams_per_s); beyond,
 * or backwards, it is a reset. */
static void s_sequence(col_t *self, exp_entry_t *e, uint32_t seq, uint32_t count,
                       const fg_addr_t *exporter)
{
    if (e == &self->scratch)
        return;
    uint64_t resets = e->seq.resets, reorders = e->seq.reorders;
    uint32_t expected = e->seq.next;
    bool datagrams = e->proto == NF9_VERSION || e->proto == EXP_SFLOW;
    uint64_t rate = (uint64_t)(datagrams ? self->cfg->collector.seq_max_datagrams_per_s
                                         : self->cfg->collector.seq_max_records_per_s);
    uint32_t lost = nf5_seq_update(&e->seq, seq, (uint16_t)(count > UINT16_MAX ? UINT16_MAX : count),
                                   nf5_seq_max_gap(rate, e->gap_ms));
    *(datagrams ? &self->st.seq_lost_datagrams : &self->st.seq_lost) += lost;
    self->st.seq_resets += e->seq.resets - resets;
    self->st.seq_reorders += e->seq.reorders - reorders;
    if (lost) {
        char a[FG_ADDR_STRLEN];
        fg_log_rl(&self->rl_seq, COL_LOG_EVERY_MS, FG_LOG_INFO,
                  "event=sequence_gap proto=%s exporter=%s domain=%u lost=%u unit=%s",
                  s_proto_name(e->proto), fg_addr_format(exporter, a), e->domain, lost,
                  datagrams ? "datagrams" : "records");
    }
    if (e->seq.resets != resets) {
        char a[FG_ADDR_STRLEN];
        fg_log_rl(&self->rl_reset, COL_LOG_EVERY_MS, FG_LOG_INFO,
                  "event=sequence_reset proto=%s exporter=%s domain=%u expected=%u got=%u "
                  "max_gap=%u resets=%llu",
                  s_proto_name(e->proto), fg_addr_format(exporter, a), e->domain, expected,
                  seq, nf5_seq_max_gap(rate, e->gap_ms), (unsigned long long)self->st.seq_resets);
    }
}

static void s_begin(col_t *self, const fg_addr_t *exporter, exp_entry_t *e, uint64_t now_ms)
{
    fg_addr_to_bytes16(exporter, self->cur_ex);
    self->cur_exp = e;
    self->cur_now_ms = now_ms;
}

static void s_netflow_v5(col_t *self, const uint8_t *buf, size_t len, const fg_addr_t *exporter,
                         uint64_t now_ms)
{
    nf5_header_t h;
    raw_flow_t recs[NF5_MAX_RECORDS];
    nf5_status_t st =
        nf5_decode(buf, len, (uint32_t)self->cfg->collector.default_sampling, &h, recs);
    if (st != NF5_OK && st != NF5_TRAILING) {
        uint64_t *c = st == NF5_ERR_SHORT_HEADER ? &self->st.short_header
                      : st == NF5_ERR_COUNT      ? &self->st.bad_count
                                                 : &self->st.truncated;
        s_malformed(self, c, NULL, exporter, NF5_VERSION, nf5_status_str(st), len);
        return;
    }
    if (st == NF5_TRAILING)
        self->st.trailing++;
    uint32_t domain = (uint32_t)h.engine_type << 8 | h.engine_id;
    exp_entry_t *e = s_stream(self, exporter, NF5_VERSION, domain, now_ms);
    if (h.sampling_interval)
        e->sampling = h.sampling_interval;
    s_sequence(self, e, h.flow_sequence, h.count, exporter);
    uint32_t over = col_config_sampling_override(&self->cfg->collector, exporter);
    for (int i = 0; over && over != h.sampling && i < h.count; i++) {
        recs[i].packets = recs[i].packets / h.sampling * over;
        recs[i].bytes = recs[i].bytes / h.sampling * over;
        recs[i].sampling = over;
    }
    s_begin(self, exporter, e, now_ms);
    s_sink_flush(self, recs, h.count);
    exp_seen(self->exporters, e, now_ms);
}

static void s_env(col_t *self, tpl_env_t *env, const fg_addr_t *exporter, exp_entry_t *e,
                  uint64_t now_ms)
{
    *env = (tpl_env_t){0};
    env->cache = self->templates;
    env->streams = self->exporters;
    env->exporter = *exporter;
    env->exp = e;
    env->now_ms = now_ms;
    env->timeout_ms = (uint64_t)self->cfg->collector.template_timeout * 1000;
    env->max_per_stream = (uint32_t)self->cfg->collector.max_templates;
    env->hold_ms = (uint64_t)self->cfg->collector.template_hold_ms;
    env->st = &self->tst;
    env->sink = &self->sink;
    env->ctx.default_sampling = (uint32_t)self->cfg->collector.default_sampling;
    env->ctx.override = col_config_sampling_override(&self->cfg->collector, exporter);
    s_begin(self, exporter, e, now_ms);
}

static void s_netflow_v9(col_t *self, const uint8_t *buf, size_t len, const fg_addr_t *exporter,
                         uint64_t now_ms)
{
    nf9_header_t h;
    nf9_status_t st = nf9_header(buf, len, &h);
    if (st != NF9_OK) {
        s_malformed(self, &self->st.short_header, NULL, exporter, NF9_VERSION,
                    nf9_status_str(st), len);
        return;
    }
    exp_entry_t *e = s_stream(self, exporter, NF9_VERSION, h.source_id, now_ms);
    s_sequence(self, e, h.sequence, 1, exporter);
    tpl_env_t env;
    s_env(self, &env, exporter, e, now_ms);
    st = nf9_decode(buf, len, &h, &env);
    raw_sink_drain(&self->sink);
    exp_seen(self->exporters, e, now_ms);
    if (st != NF9_OK)
        s_malformed(self, &self->st.bad_sets, NULL, exporter, NF9_VERSION, nf9_status_str(st),
                    len);
}

static void s_ipfix(col_t *self, const uint8_t *buf, size_t len, const fg_addr_t *exporter,
                    uint64_t now_ms)
{
    ipfix_header_t h;
    ipfix_status_t st = ipfix_header(buf, len, &h);
    if (st != IPFIX_OK && st != IPFIX_TRAILING) {
        uint64_t *c = st == IPFIX_ERR_LENGTH ? &self->st.truncated : &self->st.short_header;
        s_malformed(self, c, NULL, exporter, IPFIX_VERSION, ipfix_status_str(st), len);
        return;
    }
    if (st == IPFIX_TRAILING)
        self->st.trailing++;
    exp_entry_t *e = s_stream(self, exporter, IPFIX_VERSION, h.domain, now_ms);
    tpl_env_t env;
    s_env(self, &env, exporter, e, now_ms);
    st = ipfix_decode(buf, &h, &env);
    raw_sink_drain(&self->sink);
    s_sequence(self, e, h.sequence, env.data_records, exporter);
    if (env.unknown_sets || st != IPFIX_OK)
        e->seq.valid = false; /* records we could not count: resynchronise */
    exp_seen(self->exporters, e, now_ms);
    if (st != IPFIX_OK)
        s_malformed(self, &self->st.bad_sets, NULL, exporter, IPFIX_VERSION,
                    ipfix_status_str(st), len);
}

static void s_sflow(col_t *self, const uint8_t *buf, size_t len, const fg_addr_t *exporter,
                    uint64_t now_ms)
{
    sflow_header_t h;
    sflow_status_t st = sflow_header(buf, len, &h);
    if (st != SFLOW_OK) {
        uint64_t *c = st == SFLOW_ERR_VERSION ? &self->st.bad_version : &self->st.short_header;
        s_malformed(self, c, NULL, exporter, h.version, sflow_status_str(st), len);
        return;
    }
    exp_entry_t *e = s_stream(self, exporter, EXP_SFLOW, h.sub_agent, now_ms);
    s_sequence(self, e, h.sequence, 1, exporter);
    s_begin(self, exporter, e, now_ms);
    uint32_t flows = 0;
    st = sflow_decode(
        buf, len, &h, s_wall(self), col_config_sampling_override(&self->cfg->collector, exporter),
        (uint32_t)self->cfg->collector.default_sampling, &self->sink, &self->sst, &flows);
    raw_sink_drain(&self->sink);
    exp_seen(self->exporters, e, now_ms);
    if (st != SFLOW_OK)
        s_malformed(self, &self->st.truncated, e, exporter, SFLOW_VERSION, sflow_status_str(st),
                    len);
}

void col_datagram(col_t *self, const uint8_t *buf, size_t len, const fg_addr_t *exporter,
                  uint64_t now_ms)
{
    self->st.datagrams++;
    if (!col_config_exporter_allowed(&self->cfg->collector, exporter)) {
        self->st.denied++;
        return;
    }
    /* Every export format starts with a 16-bit version: NetFlow v5 = 5,
     * v9 = 9, IPFIX = 10 (RFC 7011 3.1); sFlow v5 has a 32-bit version 5,
     * so its first two bytes are 0 (and it arrives on its own port). */
    uint16_t version = len >= 2 ? (uint16_t)(buf[0] << 8 | buf[1]) : 0;
    switch (version) {
    case NF5_VERSION:
        s_netflow_v5(self, buf, len, exporter, now_ms);
        break;
    case NF9_VERSION:
        s_netflow_v9(self, buf, len, exporter, now_ms);
        break;
    case IPFIX_VERSION:
        s_ipfix(self, buf, len, exporter, now_ms);
        break;
    case 0:
        s_sflow(self, buf, len, exporter, now_ms);
        break;
    default:
        s_malformed(self, &self->st.bad_version, NULL, exporter, version, "bad_version", len);
        break;
    }
}

void col_records(col_t *self, const raw_flow_t *recs, int n, const fg_addr_t *exporter,
                 uint64_t now_ms)
{
    self->st.datagrams++;
    if (!col_config_exporter_allowed(&self->cfg->collector, exporter)) {
        self->st.denied++;
        return;
    }
    exp_entry_t *e = s_stream(self, exporter, COL_PROTO_NFCAPD, 0, now_ms);
    s_begin(self, exporter, e, now_ms);
    s_sink_flush(self, recs, n);
    exp_seen(self->exporters, e, now_ms);
}

/* Slots of the exporter table and of the template cache looked at every
 * COL_SWEEP_EVERY_MS for idle streams and stale or orphaned templates: the
 * default tables (4 096 streams, 32 768 template slots) in about 1.3 s. */
#define COL_SWEEP_EVERY_MS 10
#define COL_EXPIRE_STREAMS 64
#define COL_EXPIRE_TEMPLATES 256

void col_flush_due(col_t *self, uint64_t now_ms)
{
    if (now_ms >= self->next_sweep_ms) { /* at most every COL_SWEEP_EVERY_MS */
        self->next_sweep_ms = now_ms + COL_SWEEP_EVERY_MS;
        exp_expire(self->exporters, now_ms, COL_EXPIRE_STREAMS);
        tpl_expire(self->templates, self->exporters, now_ms,
                   (uint64_t)self->cfg->collector.template_timeout * 1000, COL_EXPIRE_TEMPLATES,
                   &self->tst);
    }
    if (self->cfg->collector.template_hold_ms)
        tpl_hold_expire(self->templates, now_ms, (uint64_t)self->cfg->collector.template_hold_ms,
                        &self->tst);
    for (int i = 0; i < self->n_shards; i++) {
        col_shard_t *sh = &self->shards[i];
        if (fb_count(sh->fb) && now_ms - sh->oldest_ms >= (uint64_t)self->cfg->collector.batch_ms)
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
    int best = self->cfg->collector.batch_ms;
    for (int i = 0; i < self->n_shards; i++) {
        const col_shard_t *sh = &self->shards[i];
        if (fb_count(sh->fb) == 0)
            continue;
        uint64_t age = now_ms - sh->oldest_ms;
        int left = age >= (uint64_t)self->cfg->collector.batch_ms
                       ? 0
                       : self->cfg->collector.batch_ms - (int)age;
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
    COL_STAT(filtered),        COL_STAT(out_records),     COL_STAT(records_sent),
    COL_STAT(batches_sent),
    COL_STAT(batches_dropped), COL_STAT(records_dropped), COL_STAT(seq_lost),
    COL_STAT(seq_resets),      COL_STAT(seq_reorders),    COL_STAT(exporters_untracked),
    COL_STAT(kernel_drops),    COL_STAT(recv_errors),     COL_STAT(denied),
    COL_STAT(bad_sets),        COL_STAT(seq_lost_datagrams), COL_STAT(recorded),
    COL_STAT(record_dropped),  COL_STAT(record_files),    COL_STAT(record_errors),
};
#define TPL_STAT(name) {#name, offsetof(tpl_stats_t, name)}
static const struct {
    const char *name;
    size_t off;
} s_tpl_names[] = {
    TPL_STAT(templates_added),   TPL_STAT(templates_replaced), TPL_STAT(templates_bad),
    TPL_STAT(templates_capped),  TPL_STAT(templates_expired),  TPL_STAT(templates_withdrawn),
    TPL_STAT(templates_evicted),
    TPL_STAT(sets_no_template),  TPL_STAT(sets_malformed),     TPL_STAT(sets_reserved),
    TPL_STAT(options_records),   TPL_STAT(sets_held),          TPL_STAT(sets_replayed),
};
#define SF_STAT(name) {"sflow_" #name, offsetof(sflow_stats_t, name)}
static const struct {
    const char *name;
    size_t off;
} s_sf_names[] = {
    SF_STAT(flow_samples),   SF_STAT(counter_samples),  SF_STAT(other_samples),
    SF_STAT(no_flow_record), SF_STAT(unparsed_headers), SF_STAT(agent_drops),
};

/* Append "name=value" pairs of a counter struct. */
static size_t s_format_table(char *buf, size_t len, size_t used, const void *base,
                             const char *const *names, const size_t *offs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = *(const uint64_t *)((const char *)base + offs[i]);
        int w = snprintf(buf + used, len - used, "%s%s=%llu", used ? " " : "", names[i],
                         (unsigned long long)v);
        if (w < 0 || (size_t)w >= len - used)
            return used;
        used += (size_t)w;
    }
    return used;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
/* The names and offsets of one of the tables above, as two arrays. */
#define COL_TABLE(tbl, names, offs)                                                            \
    const char *names[N_OF(tbl)];                                                              \
    size_t offs[N_OF(tbl)];                                                                    \
    for (size_t i_ = 0; i_ < N_OF(tbl); i_++) {                                                \
        names[i_] = tbl[i_].name;                                                              \
        offs[i_] = tbl[i_].off;                                                                \
    }

char *col_stats_format(const col_t *self, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    COL_TABLE(s_stat_names, n1, o1);
    COL_TABLE(s_tpl_names, n2, o2);
    COL_TABLE(s_sf_names, n3, o3);
    used = s_format_table(buf, len, used, &self->st, n1, o1, N_OF(n1));
    used = s_format_table(buf, len, used, &self->tst, n2, o2, N_OF(n2));
    used = s_format_table(buf, len, used, &self->sst, n3, o3, N_OF(n3));
    const exp_table_stats_t *x = exp_stats(self->exporters);
    if (used + 200 < len)
        snprintf(buf + used, len - used,
                 " exporters=%zu established=%zu exporters_added=%llu exporters_expired=%llu "
                 "exporters_evicted=%llu exporters_refused=%llu templates=%zu",
                 exp_count(self->exporters), exp_established(self->exporters),
                 (unsigned long long)x->added, (unsigned long long)x->expired,
                 (unsigned long long)x->evicted, (unsigned long long)x->refused,
                 tpl_count(self->templates));
    return buf;
}

const struct tpl_stats *col_template_stats(const col_t *self)
{
    return &self->tst;
}

const struct sflow_stats *col_sflow_stats(const col_t *self)
{
    return &self->sst;
}

const struct exp_table *col_exporters(const col_t *self)
{
    return self->exporters;
}

int col_shard_count(const col_t *self)
{
    return self->n_shards;
}

const col_shard_stats_t *col_shard_stats(const col_t *self, int i)
{
    return &self->shards[i].st;
}

/* One exporter stream's log line. */
static void s_log_stream(const exp_entry_t *e)
{
    char a[FG_ADDR_STRLEN];
    bool dgrams = e->proto == NF9_VERSION || e->proto == EXP_SFLOW;
    fg_info("event=exporter addr=%s proto=%s domain=%u established=%d datagrams=%llu "
            "records=%llu filtered=%llu malformed=%llu sets_no_template=%llu templates=%u "
            "template_records=%llu options_records=%llu sampling=%u seq_lost=%llu "
            "seq_unit=%s seq_resets=%llu seq_reorders=%llu",
            fg_addr_format(&e->addr, a), s_proto_name(e->proto), e->domain, e->established,
            (unsigned long long)e->st.datagrams, (unsigned long long)e->st.records,
            (unsigned long long)e->st.filtered, (unsigned long long)e->st.malformed,
            (unsigned long long)e->st.sets_no_template, e->n_templates,
            (unsigned long long)e->st.templates, (unsigned long long)e->st.options, e->sampling,
            (unsigned long long)e->seq.lost, dgrams ? "datagrams" : "records",
            (unsigned long long)e->seq.resets, (unsigned long long)e->seq.reorders);
}

void col_log_exporters(const col_t *self)
{
    uint32_t top[COL_LOG_EXPORTERS_MAX];
    size_t want = (size_t)self->cfg->collector.metrics_exporters;
    size_t n = exp_top(self->exporters, top, want < COL_LOG_EXPORTERS_MAX ? want : COL_LOG_EXPORTERS_MAX);
    for (size_t i = 0; i < n; i++)
        s_log_stream(exp_at(self->exporters, top[i]));
    if (exp_count(self->exporters) > n)
        fg_info("event=exporters_other streams=%zu", exp_count(self->exporters) - n);
}
