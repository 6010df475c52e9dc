/* NetFlow v5 decoding; the wire layout is drawn in netflow_v5.h. */
#include "collector/netflow_v5.h"

#include "common/rd.h"

static void s_read_header(rd_t *r, nf5_header_t *h)
{
    h->version = rd_be16(r);
    h->count = rd_be16(r);
    h->sys_uptime_ms = rd_be32(r);
    h->unix_secs = rd_be32(r);
    h->unix_nsecs = rd_be32(r);
    h->flow_sequence = rd_be32(r);
    h->engine_type = rd_u8(r);
    h->engine_id = rd_u8(r);
    uint16_t si = rd_be16(r);
    h->sampling_mode = (uint8_t)(si >> NF5_SAMPLING_MODE_SHIFT);
    h->sampling_interval = si & NF5_SAMPLING_INTERVAL_MASK;
}

/* One 48-byte record; the caller has checked that it is all there. */
static void s_read_record(rd_t *r, const nf5_header_t *h, raw_flow_t *f)
{
    f->src = fg_addr_from_v4(rd_be32(r));
    f->dst = fg_addr_from_v4(rd_be32(r));
    rd_skip(r, 4 + 2 + 2); /* nexthop, input, output */
    f->packets = (uint64_t)rd_be32(r) * h->sampling;
    f->bytes = (uint64_t)rd_be32(r) * h->sampling;
    f->start_ms = nf5_uptime_to_unix_ms(h, rd_be32(r));
    f->end_ms = nf5_uptime_to_unix_ms(h, rd_be32(r));
    f->sport = rd_be16(r);
    f->dport = rd_be16(r);
    rd_skip(r, 1); /* pad1 */
    f->tcp_flags = rd_u8(r);
    f->proto = rd_u8(r);
    rd_skip(r, 1 + 2 + 2 + 1 + 1 + 2); /* tos, src_as, dst_as, masks, pad2 */
    f->sampling = h->sampling;
    f->frag = 0; /* v5 carries no fragment information */
}

nf5_status_t nf5_decode(const uint8_t *buf, size_t len, uint32_t default_sampling,
                        nf5_header_t *hdr, raw_flow_t recs[NF5_MAX_RECORDS])
{
    rd_t r = rd_init(buf, len);
    *hdr = (nf5_header_t){0};
    if (len >= 2)
        hdr->version = rd_be16_at(buf);
    if (len >= 2 && hdr->version != NF5_VERSION)
        return NF5_ERR_VERSION;
    s_read_header(&r, hdr);
    if (!rd_ok(&r))
        return NF5_ERR_SHORT_HEADER;
    if (hdr->count == 0 || hdr->count > NF5_MAX_RECORDS)
        return NF5_ERR_COUNT;
    size_t need = (size_t)hdr->count * NF5_RECORD_LEN;
    if (r.left < need)
        return NF5_ERR_TRUNCATED;
    hdr->trailing = r.left - need;
    hdr->sampling = hdr->sampling_interval ? hdr->sampling_interval : default_sampling;
    if (hdr->sampling < 1)
        hdr->sampling = 1;
    for (uint16_t i = 0; i < hdr->count; i++)
        s_read_record(&r, hdr, &recs[i]);
    return hdr->trailing ? NF5_TRAILING : NF5_OK;
}

uint64_t nf5_uptime_to_unix_ms(const nf5_header_t *hdr, uint32_t stamp)
{
    uint64_t export_ms = (uint64_t)hdr->unix_secs * 1000 + hdr->unix_nsecs / 1000000;
    int64_t delta = (int32_t)(stamp - hdr->sys_uptime_ms);
    if (delta < 0 && (uint64_t)-delta > export_ms)
        return 0;
    return (uint64_t)((int64_t)export_ms + delta);
}

const char *nf5_status_str(nf5_status_t st)
{
    switch (st) {
    case NF5_OK:
        return "ok";
    case NF5_TRAILING:
        return "trailing_bytes";
    case NF5_ERR_VERSION:
        return "bad_version";
    case NF5_ERR_SHORT_HEADER:
        return "short_header";
    case NF5_ERR_COUNT:
        return "bad_count";
    case NF5_ERR_TRUNCATED:
        return "truncated";
    }
    return "unknown";
}

uint32_t nf5_seq_max_gap(uint64_t max_per_s, uint64_t elapsed_ms)
{
    if (elapsed_ms > NF5_SEQ_GAP_CEILING)
        return NF5_SEQ_GAP_CEILING;
    uint64_t gap = max_per_s * (elapsed_ms + 1) / 1000;
    return gap > NF5_SEQ_GAP_CEILING ? NF5_SEQ_GAP_CEILING : (uint32_t)gap;
}

uint32_t nf5_seq_update(nf5_seq_t *s, uint32_t seq, uint16_t count, uint32_t max_gap)
{
    uint32_t ahead = seq - s->next; /* modulo 2^32: the counter wraps */
    uint32_t behind = s->next - seq;
    uint32_t lost = 0;
    if (max_gap > NF5_SEQ_GAP_CEILING)
        max_gap = NF5_SEQ_GAP_CEILING;
    if (!s->valid) {
        s->valid = true;
    } else if (ahead == 0) {
        /* in order */
    } else if (behind <= NF5_SEQ_REORDER_WINDOW) {
        s->reorders++;
        return 0; /* late or duplicate: keep expecting next */
    } else if (ahead <= max_gap) {
        lost = ahead;
    } else {
        s->resets++;
        s->run = 0;
    }
    s->run++;
    s->lost += lost;
    s->next = seq + count;
    return lost;
}
