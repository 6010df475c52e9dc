/* sFlow v5 decoding; the wire layout is drawn in sflow.h. */
#include "collector/sflow.h"

#include <string.h>

#include "common/flow.h"
#include "common/rd.h"

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define SFLOW_MAX_TAGS 4
#define SFLOW_MAX_EXT 8
#define IPV4_MF 0x2000
#define IPV4_OFF_MASK 0x1fff
#define IPV6_HLEN 40
/* IPv6 extension headers walked to the transport header. */
#define IP6_HOPOPTS 0
#define IP6_ROUTING 43
#define IP6_FRAGMENT 44
#define IP6_AH 51
#define IP6_DSTOPTS 60
#define SFLOW_ADDR_V4 1
#define SFLOW_ADDR_V6 2

sflow_status_t sflow_header(const uint8_t *buf, size_t len, sflow_header_t *h)
{
    rd_t r = rd_init(buf, len);
    *h = (sflow_header_t){0};
    h->version = rd_be32(&r);
    if (!rd_ok(&r))
        return SFLOW_ERR_SHORT_HEADER;
    if (h->version != SFLOW_VERSION)
        return SFLOW_ERR_VERSION;
    uint32_t type = rd_be32(&r);
    uint8_t a[16] = {0};
    if (type == SFLOW_ADDR_V4) {
        h->agent = fg_addr_from_v4(rd_be32(&r));
    } else if (type == SFLOW_ADDR_V6) {
        rd_bytes(&r, a, 16);
        h->agent = fg_addr_from_bytes16(a);
    } else {
        return SFLOW_ERR_SHORT_HEADER;
    }
    h->sub_agent = rd_be32(&r);
    h->sequence = rd_be32(&r);
    h->uptime_ms = rd_be32(&r);
    h->samples = rd_be32(&r);
    h->header_len = len - r.left;
    return rd_ok(&r) ? SFLOW_OK : SFLOW_ERR_SHORT_HEADER;
}

static void s_ports(const uint8_t *p, size_t len, uint8_t proto, raw_flow_t *r)
{
    if ((proto == FG_PROTO_TCP || proto == FG_PROTO_UDP) && len >= 4) {
        r->sport = rd_be16_at(p);
        r->dport = rd_be16_at(p + 2);
        if (proto == FG_PROTO_TCP && len >= 14)
            r->tcp_flags = p[13];
    } else if ((proto == FG_PROTO_ICMP || proto == FG_PROTO_ICMPV6) && len >= 2) {
        r->dport = (uint16_t)(p[0] << 8 | p[1]); /* type * 256 + code, as NetFlow */
    }
}

static int s_ipv4(const uint8_t *p, size_t len, raw_flow_t *r)
{
    if (len < 20 || p[0] >> 4 != 4)
        return -1;
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    uint16_t frag = rd_be16_at(p + 6);
    r->proto = p[9];
    r->src = fg_addr_from_v4(rd_be32_at(p + 12));
    r->dst = fg_addr_from_v4(rd_be32_at(p + 16));
    r->frag = (frag & (IPV4_MF | IPV4_OFF_MASK)) != 0;
    if (ihl >= 20 && ihl <= len && !(frag & IPV4_OFF_MASK))
        s_ports(p + ihl, len - ihl, r->proto, r);
    return 0;
}

static int s_ipv6(const uint8_t *p, size_t len, raw_flow_t *r)
{
    if (len < IPV6_HLEN || p[0] >> 4 != 6)
        return -1;
    r->src = fg_addr_from_bytes16(p + 8);
    r->dst = fg_addr_from_bytes16(p + 24);
    uint8_t nh = p[6];
    size_t off = IPV6_HLEN;
    bool later_fragment = false;
    for (int i = 0; i < SFLOW_MAX_EXT && off + 8 <= len; i++) {
        size_t hl;
        if (nh == IP6_HOPOPTS || nh == IP6_ROUTING || nh == IP6_DSTOPTS)
            hl = ((size_t)p[off + 1] + 1) * 8;
        else if (nh == IP6_AH)
            hl = ((size_t)p[off + 1] + 2) * 4;
        else if (nh == IP6_FRAGMENT) {
            hl = 8;
            r->frag = 1;
            later_fragment = (rd_be16_at(p + off + 2) & 0xfff8) != 0;
        } else
            break;
        nh = p[off];
        off += hl;
    }
    r->proto = nh;
    if (off <= len && !later_fragment)
        s_ports(p + off, len - off, nh, r);
    return 0;
}

int sflow_parse_packet(const uint8_t *p, size_t len, int ethernet, raw_flow_t *r)
{
    if (!ethernet) {
        if (len >= 1 && p[0] >> 4 == 6)
            return s_ipv6(p, len, r);
        return s_ipv4(p, len, r);
    }
    if (len < ETH_HLEN)
        return -1;
    size_t off = 12;
    uint16_t type = rd_be16_at(p + off);
    for (int i = 0; i < SFLOW_MAX_TAGS && (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ ||
                                           type == ETHERTYPE_QINQ_OLD);
         i++) {
        off += 4;
        if (off + 2 > len)
            return -1;
        type = rd_be16_at(p + off);
    }
    off += 2;
    if (type == ETHERTYPE_IPV4)
        return s_ipv4(p + off, len - off, r);
    if (type == ETHERTYPE_IPV6)
        return s_ipv6(p + off, len - off, r);
    return -1;
}

/* Flow record of format 1 (raw header), 3 or 4 into r; returns 1 when r
 * was filled, 0 when the record is of another kind or unparsed. */
static int s_flow_record(uint32_t fmt, rd_t *d, raw_flow_t *r, uint64_t *frame_len,
                         sflow_stats_t *st)
{
    uint8_t a[16] = {0}; /* rd_bytes leaves it as is when cut */
    if (fmt == SFLOW_REC_RAW_HEADER) {
        uint32_t proto = rd_be32(d), frame = rd_be32(d);
        rd_skip(d, 4); /* stripped */
        uint32_t hlen = rd_be32(d);
        if (!rd_ok(d) || hlen > d->left)
            return 0;
        *frame_len = frame;
        if (proto != SFLOW_PROTO_ETHERNET && proto != SFLOW_PROTO_IPV4 &&
            proto != SFLOW_PROTO_IPV6)
            return 0;
        if (sflow_parse_packet(d->p, hlen, proto == SFLOW_PROTO_ETHERNET, r) != 0) {
            st->unparsed_headers++;
            return 0;
        }
        return 1;
    }
    if (fmt != SFLOW_REC_IPV4 && fmt != SFLOW_REC_IPV6)
        return 0;
    *frame_len = rd_be32(d);
    r->proto = (uint8_t)rd_be32(d);
    if (fmt == SFLOW_REC_IPV4) {
        r->src = fg_addr_from_v4(rd_be32(d));
        r->dst = fg_addr_from_v4(rd_be32(d));
    } else {
        rd_bytes(d, a, 16);
        r->src = fg_addr_from_bytes16(a);
        rd_bytes(d, a, 16);
        r->dst = fg_addr_from_bytes16(a);
    }
    r->sport = (uint16_t)rd_be32(d);
    r->dport = (uint16_t)rd_be32(d);
    r->tcp_flags = (uint8_t)rd_be32(d);
    return rd_ok(d) ? 1 : 0;
}

typedef struct {
    uint64_t now_ms;
    uint32_t override, default_sampling;
    raw_sink_t *sink;
    sflow_stats_t *st;
    uint32_t *flows;
} sf_env_t;

/* One flow sample (expanded when exp) of body d. Returns -1 when cut. */
static int s_flow_sample(const sf_env_t *env, rd_t *d, bool exp)
{
    rd_skip(d, exp ? 12 : 8); /* sequence, source id (type, index) */
    uint32_t rate = rd_be32(d);
    rd_skip(d, 4); /* sample pool */
    env->st->agent_drops += rd_be32(d);
    rd_skip(d, exp ? 16 : 8); /* input, output */
    uint32_t n = rd_be32(d);
    if (!rd_ok(d))
        return -1;
    raw_flow_t *r = raw_sink_slot(env->sink);
    int got = 0, got_raw = 0;
    uint64_t frame = 0;
    for (uint32_t i = 0; i < n && d->left >= 8; i++) {
        uint32_t fmt = rd_be32(d), rlen = rd_be32(d);
        if (rlen > d->left)
            return -1;
        rd_t rec = rd_init(d->p, rlen);
        rd_skip(d, rlen);
        if (got_raw || (fmt >> 12) != 0)
            continue; /* a raw header wins over sampled IPv4/IPv6 */
        /* parsed in place while there is nothing to keep (a copy of a
         * record just written stalls on store forwarding), else aside */
        raw_flow_t tmp, *into = got ? &tmp : r;
        memset(into, 0, sizeof(*into));
        uint64_t fl = 0;
        if (s_flow_record(fmt & 0xfff, &rec, into, &fl, env->st)) {
            if (into != r)
                *r = tmp;
            frame = fl;
            got = 1;
            got_raw = (fmt & 0xfff) == SFLOW_REC_RAW_HEADER;
        }
    }
    env->st->flow_samples++;
    if (!got) {
        env->st->no_flow_record++;
        return 0;
    }
    uint32_t s = env->override ? env->override : rate ? rate : env->default_sampling;
    r->sampling = s ? s : 1;
    r->packets = r->sampling;
    r->bytes = frame * r->sampling;
    r->start_ms = r->end_ms = env->now_ms;
    raw_sink_commit(env->sink);
    (*env->flows)++;
    return 0;
}

sflow_status_t sflow_decode(const uint8_t *buf, size_t len, const sflow_header_t *h,
                            uint64_t now_ms, uint32_t override, uint32_t default_sampling,
                            raw_sink_t *sink, sflow_stats_t *st, uint32_t *flows)
{
    sf_env_t env = {now_ms, override, default_sampling, sink, st, flows};
    rd_t r = rd_init(buf + h->header_len, len - h->header_len);
    *flows = 0;
    /* the sample count is not trusted: every sample takes 8 bytes at least */
    for (uint32_t i = 0; i < h->samples; i++) {
        if (r.left < 8)
            return SFLOW_ERR_TRUNCATED;
        uint32_t fmt = rd_be32(&r), slen = rd_be32(&r);
        if (slen > r.left)
            return SFLOW_ERR_TRUNCATED;
        rd_t d = rd_init(r.p, slen);
        rd_skip(&r, slen);
        uint32_t kind = fmt >> 12 ? 0 : fmt;
        if (kind == SFLOW_FLOW_SAMPLE || kind == SFLOW_FLOW_SAMPLE_EXP) {
            if (s_flow_sample(&env, &d, kind == SFLOW_FLOW_SAMPLE_EXP) != 0)
                return SFLOW_ERR_TRUNCATED;
        } else if (kind == SFLOW_COUNTER_SAMPLE || kind == SFLOW_COUNTER_SAMPLE_EXP) {
            st->counter_samples++;
        } else {
            st->other_samples++;
        }
    }
    return SFLOW_OK;
}

const char *sflow_status_str(sflow_status_t st)
{
    switch (st) {
    case SFLOW_OK:
        return "ok";
    case SFLOW_ERR_VERSION:
        return "bad_version";
    case SFLOW_ERR_SHORT_HEADER:
        return "short_header";
    case SFLOW_ERR_TRUNCATED:
        return "truncated";
    }
    return "unknown";
}
