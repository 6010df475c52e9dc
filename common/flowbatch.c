#include "common/flowbatch.h"

#include <stdlib.h>
#include <string.h>

struct fb_builder {
    size_t cap, n;
    uint64_t *host_hi, *host_lo, *peer_hi, *peer_lo;
    uint32_t *meta, *ports;
    uint64_t *packets, *bytes, *start_ms, *end_ms;
    uint32_t *sampling, *exporter;
    uint8_t exporters[FB_MAX_EXPORTERS][16];
    size_t n_exporters;
};

fb_builder_t *fb_builder_new(size_t cap)
{
    fb_builder_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->cap = cap;
    uint64_t **c64[] = {&self->host_hi, &self->host_lo, &self->peer_hi,  &self->peer_lo,
                        &self->packets, &self->bytes,   &self->start_ms, &self->end_ms};
    uint32_t **c32[] = {&self->meta, &self->ports, &self->sampling, &self->exporter};
    for (size_t i = 0; i < sizeof(c64) / sizeof(c64[0]); i++)
        if (!(*c64[i] = malloc(cap * sizeof(uint64_t))))
            goto fail;
    for (size_t i = 0; i < sizeof(c32) / sizeof(c32[0]); i++)
        if (!(*c32[i] = malloc(cap * sizeof(uint32_t))))
            goto fail;
    return self;
fail:
    fb_builder_destroy(&self);
    return NULL;
}

void fb_builder_destroy(fb_builder_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fb_builder_t *s = *self_p;
    free(s->host_hi);
    free(s->host_lo);
    free(s->peer_hi);
    free(s->peer_lo);
    free(s->packets);
    free(s->bytes);
    free(s->start_ms);
    free(s->end_ms);
    free(s->meta);
    free(s->ports);
    free(s->sampling);
    free(s->exporter);
    free(s);
    *self_p = NULL;
}

static int s_exporter_index(fb_builder_t *self, const uint8_t exporter[16])
{
    /* Batches come from few exporters; the last one used is the likely one. */
    for (size_t i = self->n_exporters; i-- > 0;)
        if (memcmp(self->exporters[i], exporter, 16) == 0)
            return (int)i;
    if (self->n_exporters == FB_MAX_EXPORTERS)
        return -1;
    memcpy(self->exporters[self->n_exporters], exporter, 16);
    return (int)self->n_exporters++;
}

int fb_add(fb_builder_t *self, const fg_flow_t *r, const uint8_t exporter[16])
{
    if (self->n == self->cap)
        return -1;
    int ex = s_exporter_index(self, exporter);
    if (ex < 0)
        return -1;
    size_t i = self->n++;
    self->host_hi[i] = r->host.hi;
    self->host_lo[i] = r->host.lo;
    self->peer_hi[i] = r->peer.hi;
    self->peer_lo[i] = r->peer.lo;
    self->meta[i] = (uint32_t)r->proto | (uint32_t)r->tcp_flags << 8 |
                    (uint32_t)(r->dir & 1) << 16 | (uint32_t)(r->frag & 1) << 17;
    self->ports[i] = (uint32_t)r->sport << 16 | r->dport;
    self->packets[i] = r->packets;
    self->bytes[i] = r->bytes;
    self->start_ms[i] = r->start_ms;
    self->end_ms[i] = r->end_ms;
    self->sampling[i] = r->sampling;
    self->exporter[i] = (uint32_t)ex;
    return 0;
}

size_t fb_count(const fb_builder_t *self)
{
    return self->n;
}

uint8_t *fb_pack(fb_builder_t *self, uint32_t collector_id, uint32_t shard, uint32_t shards,
                 uint64_t seq, uint64_t sent_ms, size_t *len)
{
    Floodgate__FlowBatch m = FLOODGATE__FLOW_BATCH__INIT;
    ProtobufCBinaryData ex[FB_MAX_EXPORTERS];
    size_t n = self->n;

    m.collector_id = collector_id;
    m.shard = shard;
    m.shards = shards;
    m.seq = seq;
    m.sent_ms = sent_ms;
    for (size_t i = 0; i < self->n_exporters; i++) {
        ex[i].len = 16;
        ex[i].data = self->exporters[i];
    }
    m.n_exporters = self->n_exporters;
    m.exporters = ex;
    m.n_host_hi = m.n_host_lo = m.n_peer_hi = m.n_peer_lo = n;
    m.n_meta = m.n_ports = m.n_packets = m.n_bytes = n;
    m.n_start_ms = m.n_end_ms = m.n_sampling = m.n_exporter = n;
    m.host_hi = self->host_hi;
    m.host_lo = self->host_lo;
    m.peer_hi = self->peer_hi;
    m.peer_lo = self->peer_lo;
    m.meta = self->meta;
    m.ports = self->ports;
    m.packets = self->packets;
    m.bytes = self->bytes;
    m.start_ms = self->start_ms;
    m.end_ms = self->end_ms;
    m.sampling = self->sampling;
    m.exporter = self->exporter;

    *len = floodgate__flow_batch__get_packed_size(&m);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (!buf)
        return NULL;
    floodgate__flow_batch__pack(&m, buf);
    self->n = 0;
    self->n_exporters = 0;
    return buf;
}

Floodgate__FlowBatch *fb_unpack(const uint8_t *buf, size_t len, size_t *n)
{
    Floodgate__FlowBatch *m = floodgate__flow_batch__unpack(NULL, len, buf);
    if (!m)
        return NULL;
    size_t k = m->n_host_hi;
    size_t cols[] = {m->n_host_lo, m->n_peer_hi,  m->n_peer_lo, m->n_meta,
                     m->n_ports,   m->n_packets,  m->n_bytes,   m->n_start_ms,
                     m->n_end_ms,  m->n_sampling, m->n_exporter};
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
        if (cols[i] != k)
            goto bad;
    for (size_t i = 0; i < m->n_exporters; i++)
        if (m->exporters[i].len != 16)
            goto bad;
    for (size_t i = 0; i < k; i++)
        if (m->exporter[i] >= m->n_exporters)
            goto bad;
    *n = k;
    return m;
bad:
    floodgate__flow_batch__free_unpacked(m, NULL);
    return NULL;
}

void fb_record(const Floodgate__FlowBatch *m, size_t i, fg_flow_t *r)
{
    r->host.hi = m->host_hi[i];
    r->host.lo = m->host_lo[i];
    r->peer.hi = m->peer_hi[i];
    r->peer.lo = m->peer_lo[i];
    uint32_t meta = m->meta[i];
    r->proto = fb_meta_proto(meta);
    r->tcp_flags = fb_meta_flags(meta);
    r->dir = fb_meta_dir(meta);
    r->frag = fb_meta_frag(meta);
    r->sport = (uint16_t)(m->ports[i] >> 16);
    r->dport = (uint16_t)m->ports[i];
    r->packets = m->packets[i];
    r->bytes = m->bytes[i];
    r->start_ms = m->start_ms[i];
    r->end_ms = m->end_ms[i];
    r->sampling = m->sampling[i];
    r->exporter = (uint16_t)m->exporter[i];
}
