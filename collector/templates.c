/* Template cache and compiled-template record decoding; see templates.h. */
#include "collector/templates.h"

#include <stdlib.h>
#include <string.h>

#include "common/flow.h"
#include "common/rd.h"
#include "collector/tpl_int.h"

/* ---- field id -> slot (IANA IPFIX Information Elements; the same numbers
 * as NetFlow v9's field types, RFC 3954 8) ---- */

enum { K_ADDR4, K_ADDR6, K_UINT };

typedef struct {
    uint16_t id;
    uint8_t slot;
    uint8_t prio;
    uint8_t kind;
} field_map_t;

static const field_map_t s_map[] = {
    {1, TS_BYTES, 3, K_UINT},        /* octetDeltaCount / IN_BYTES */
    {2, TS_PKTS, 3, K_UINT},         /* packetDeltaCount / IN_PKTS */
    {4, TS_PROTO, 1, K_UINT},        /* protocolIdentifier */
    {6, TS_FLAGS, 1, K_UINT},        /* tcpControlBits */
    {7, TS_SPORT, 1, K_UINT},        /* sourceTransportPort */
    {8, TS_SRC4, 1, K_ADDR4},        /* sourceIPv4Address */
    {11, TS_DPORT, 1, K_UINT},       /* destinationTransportPort */
    {12, TS_DST4, 1, K_ADDR4},       /* destinationIPv4Address */
    {21, TS_LAST_UP, 1, K_UINT},     /* flowEndSysUpTime / LAST_SWITCHED */
    {22, TS_FIRST_UP, 1, K_UINT},    /* flowStartSysUpTime / FIRST_SWITCHED */
    {23, TS_BYTES, 1, K_UINT},       /* postOctetDeltaCount / OUT_BYTES */
    {24, TS_PKTS, 1, K_UINT},        /* postPacketDeltaCount / OUT_PKTS */
    {27, TS_SRC6, 1, K_ADDR6},       /* sourceIPv6Address */
    {28, TS_DST6, 1, K_ADDR6},       /* destinationIPv6Address */
    {32, TS_ICMP, 1, K_UINT},        /* icmpTypeCodeIPv4 */
    {34, TS_SAMPLING, 2, K_UINT},    /* samplingInterval / SAMPLING_INTERVAL */
    {48, TS_SAMPLER_ID, 1, K_UINT},  /* samplerId / FLOW_SAMPLER_ID */
    {50, TS_SAMPLING, 1, K_UINT},    /* samplerRandomInterval */
    {85, TS_BYTES, 2, K_UINT},       /* octetTotalCount */
    {86, TS_PKTS, 2, K_UINT},        /* packetTotalCount */
    {88, TS_FRAG_OFF, 1, K_UINT},    /* fragmentOffset */
    {139, TS_ICMP, 1, K_UINT},       /* icmpTypeCodeIPv6 */
    {150, TS_START_S, 1, K_UINT},    /* flowStartSeconds */
    {151, TS_END_S, 1, K_UINT},
    {152, TS_START_MS, 1, K_UINT},   /* flowStartMilliseconds */
    {153, TS_END_MS, 1, K_UINT},
    {154, TS_START_US, 1, K_UINT},   /* flowStartMicroseconds (NTP) */
    {155, TS_END_US, 1, K_UINT},
    {156, TS_START_NS, 1, K_UINT},   /* flowStartNanoseconds (NTP) */
    {157, TS_END_NS, 1, K_UINT},
    {158, TS_START_DUS, 1, K_UINT},  /* flowStartDeltaMicroseconds */
    {159, TS_END_DUS, 1, K_UINT},
    {160, TS_SYS_INIT_MS, 1, K_UINT}, /* systemInitTimeMilliseconds */
    {197, TS_FRAG_FLAGS, 1, K_UINT}, /* fragmentFlags */
    {302, TS_SAMPLER_ID, 2, K_UINT}, /* selectorId */
    {305, TS_PKT_INTERVAL, 1, K_UINT}, /* samplingPacketInterval */
    {306, TS_PKT_SPACE, 1, K_UINT},  /* samplingPacketSpace */
};

/* fragmentFlags (RFC 5102 5.4.8): bit 2 counted from the most significant
 * is MF, "more fragments". */
#define TPL_FRAG_MF 0x20
/* fragmentOffset holds the 13-bit offset. */
#define TPL_FRAG_OFF_MASK 0x1fff
/* Seconds from the NTP epoch (1900) to the unix epoch (1970). */
#define TPL_NTP_UNIX_OFFSET 2208988800ull

static const field_map_t *s_lookup(const tpl_field_t *f)
{
    if (f->pen != 0)
        return NULL; /* enterprise fields are skipped */
    for (size_t i = 0; i < sizeof(s_map) / sizeof(s_map[0]); i++)
        if (s_map[i].id == f->id)
            return &s_map[i];
    return NULL;
}

static bool s_kind_len_ok(uint8_t kind, unsigned len)
{
    if (kind == K_ADDR4)
        return len == 4;
    if (kind == K_ADDR6)
        return len == 16;
    return len >= 1 && len <= 8;
}

/* Add (or upgrade) the op of one field. */
static void s_add_op(tpl_t *t, const field_map_t *m, uint16_t off, uint16_t len)
{
    for (int i = 0; i < t->n_ops; i++) {
        if (t->ops[i].slot != m->slot)
            continue;
        if (m->prio > t->ops[i].prio)
            t->ops[i] = (tpl_op_t){off, len, m->slot, m->prio};
        return;
    }
    t->ops[t->n_ops++] = (tpl_op_t){off, len, m->slot, m->prio};
}

/* Which time encodings the records carry (the first present, most
 * precise first), and whether the rate can change record by record. */
static void s_compile_times(tpl_t *t)
{
    static const uint8_t starts[] = {TS_START_MS, TS_START_S,   TS_START_US,
                                     TS_START_NS, TS_START_DUS, TS_FIRST_UP};
    uint32_t have = 0;
    for (int i = 0; i < t->n_ops; i++)
        have |= 1u << t->ops[i].slot;
    t->t_start = t->t_end = TS_N; /* none: HAVE() of TS_N is always false */
    for (size_t i = 0; i < sizeof(starts); i++) {
        /* each start slot's end is the next slot, but FIRST_UP's is LAST_UP */
        uint8_t st = starts[i], en = st == TS_FIRST_UP ? TS_LAST_UP : (uint8_t)(st + 1);
        if (t->t_start == TS_N && (have & (1u << st)))
            t->t_start = st;
        if (t->t_end == TS_N && (have & (1u << en)))
            t->t_end = en;
    }
    t->per_record_rate = (have & (1u << TS_SAMPLING | 1u << TS_SAMPLER_ID)) != 0;
}

/* The straight plan of a fixed template (tpl_t.at, src, dst). */
static void s_compile_at(tpl_t *t)
{
    memset(t->at, 0, sizeof(t->at));
    t->src = t->dst = TS_N;
    for (int i = 0; i < t->n_ops; i++) {
        const tpl_op_t *o = &t->ops[i];
        t->at[o->slot] = (tpl_at_t){o->off, (uint8_t)o->len};
        if (o->slot == TS_SRC4 || o->slot == TS_SRC6)
            t->src = o->slot;
        if (o->slot == TS_DST4 || o->slot == TS_DST6)
            t->dst = o->slot;
    }
}

tpl_status_t tpl_compile(tpl_t *t, const tpl_field_t *fields, int n, bool options)
{
    if (n <= 0 || n > TPL_MAX_FIELDS)
        return TPL_ERR_FIELDS;
    t->options = options;
    t->varlen = 0;
    t->n_ops = 0;
    t->n_fields = (uint16_t)n;
    uint32_t off = 0, min = 0;
    for (int i = 0; i < n; i++)
        if (fields[i].len == TPL_VARLEN)
            t->varlen = 1;
    for (int i = 0; i < n; i++) {
        uint16_t len = fields[i].len;
        const field_map_t *m = s_lookup(&fields[i]);
        if (m && (len == TPL_VARLEN || s_kind_len_ok(m->kind, len)))
            s_add_op(t, m, t->varlen ? (uint16_t)i : (uint16_t)off, len);
        t->lens[i] = len;
        off += len == TPL_VARLEN ? 0 : len;
        min += len == TPL_VARLEN ? 1 : len;
    }
    if (min == 0 || off > UINT16_MAX || min > UINT16_MAX)
        return TPL_ERR_FIELDS;
    s_compile_times(t);
    s_compile_at(t);
    t->rec_len = t->varlen ? 0 : (uint16_t)off;
    t->min_len = (uint16_t)min;
    return TPL_ADDED;
}

/* ---- record decoding ---- */

typedef struct {
    uint64_t v[TS_N];
    uint32_t have; /* bit per slot */
} vals_t;

#define HAVE(vals, s) ((vals)->have & (1u << (s)))

static inline uint64_t s_uint(const uint8_t *p, unsigned len)
{
    switch (len) {
    case 1:
        return p[0];
    case 2:
        return rd_be16_at(p);
    case 4:
        return rd_be32_at(p);
    case 8:
        return (uint64_t)rd_be32_at(p) << 32 | rd_be32_at(p + 4);
    default: {
        uint64_t v = 0;
        for (unsigned i = 0; i < len; i++)
            v = v << 8 | p[i];
        return v;
    }
    }
}

static inline void s_apply(uint8_t slot, const uint8_t *p, unsigned len, raw_flow_t *r,
                           vals_t *vals)
{
    switch (slot) {
    case TS_SRC4:
        if (len == 4)
            r->src = fg_addr_from_v4(rd_be32_at(p));
        break;
    case TS_DST4:
        if (len == 4)
            r->dst = fg_addr_from_v4(rd_be32_at(p));
        break;
    case TS_SRC6:
        if (len == 16)
            r->src = fg_addr_from_bytes16(p);
        break;
    case TS_DST6:
        if (len == 16)
            r->dst = fg_addr_from_bytes16(p);
        break;
    default:
        if (len >= 1 && len <= 8) {
            vals->v[slot] = s_uint(p, len);
            vals->have |= 1u << slot;
        }
        break;
    }
}

uint64_t tpl_ntp_to_unix_ms(uint64_t ntp)
{
    uint64_t secs = ntp >> 32, frac = ntp & 0xffffffffu;
    if (secs < TPL_NTP_UNIX_OFFSET)
        return 0;
    return (secs - TPL_NTP_UNIX_OFFSET) * 1000 + (frac * 1000 >> 32);
}

static uint64_t s_sub_ms(uint64_t base, int64_t delta)
{
    if (delta < 0 && (uint64_t)-delta > base)
        return 0;
    return (uint64_t)((int64_t)base + delta);
}

/* The unix ms of one time field (slot, value v), 0 when it cannot tell. */
static inline uint64_t s_time1(int slot, uint64_t v, const tpl_ctx_t *ctx)
{
    switch (slot) {
    case TS_START_MS:
    case TS_END_MS:
        return v;
    case TS_START_S:
    case TS_END_S:
        return v * 1000;
    case TS_START_US:
    case TS_END_US:
    case TS_START_NS:
    case TS_END_NS:
        return tpl_ntp_to_unix_ms(v);
    case TS_START_DUS:
    case TS_END_DUS:
        return s_sub_ms(ctx->export_ms, -(int64_t)(v / 1000));
    case TS_FIRST_UP:
    case TS_LAST_UP:
        if (ctx->v9) /* RFC 3954 8: ms of sysUptime; the header gives the export's */
            return s_sub_ms(ctx->export_ms, (int32_t)((uint32_t)v - ctx->sys_uptime_ms));
        if (ctx->exp && ctx->exp->sys_init_ms)
            return ctx->exp->sys_init_ms + v;
        return 0;
    default:
        return 0;
    }
}

/* The rate of a record: per record only when the template carries a rate
 * or a sampler id, else the set's (set_rate). */
static uint32_t s_rate(const vals_t *vals, const tpl_ctx_t *ctx)
{
    uint64_t rate = 0;
    if (ctx->override)
        return ctx->override;
    if (HAVE(vals, TS_SAMPLING))
        rate = vals->v[TS_SAMPLING];
    else if (ctx->exp)
        rate = exp_sampling(ctx->exp, HAVE(vals, TS_SAMPLER_ID),
                            HAVE(vals, TS_SAMPLER_ID) ? (uint32_t)vals->v[TS_SAMPLER_ID] : 0);
    if (rate == 0)
        rate = ctx->default_sampling;
    return rate == 0 ? 1 : rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
}

static void s_finish(const tpl_t *t, raw_flow_t *r, const vals_t *vals, const tpl_ctx_t *ctx,
                     uint32_t set_rate)
{
    const uint64_t *v = vals->v;
    r->sampling = set_rate ? set_rate : s_rate(vals, ctx);
    r->packets = v[TS_PKTS] * r->sampling;
    r->bytes = v[TS_BYTES] * r->sampling;
    r->proto = (uint8_t)v[TS_PROTO];
    r->tcp_flags = (uint8_t)v[TS_FLAGS];
    r->sport = (uint16_t)v[TS_SPORT];
    r->dport = (uint16_t)v[TS_DPORT];
    if ((r->proto == FG_PROTO_ICMP || r->proto == FG_PROTO_ICMPV6) && !r->dport)
        r->dport = (uint16_t)v[TS_ICMP];
    r->frag = (v[TS_FRAG_FLAGS] & TPL_FRAG_MF) || (v[TS_FRAG_OFF] & TPL_FRAG_OFF_MASK);
    r->end_ms = HAVE(vals, t->t_end) ? s_time1(t->t_end, v[t->t_end], ctx) : 0;
    r->start_ms = HAVE(vals, t->t_start) ? s_time1(t->t_start, v[t->t_start], ctx) : 0;
    if (!r->end_ms)
        r->end_ms = r->start_ms ? r->start_ms : ctx->export_ms;
    if (!r->start_ms)
        r->start_ms = r->end_ms;
}

/* An options data record: sampling rates and the exporter's boot time. */
static void s_options(const vals_t *vals, const tpl_ctx_t *ctx)
{
    exp_entry_t *e = ctx->exp;
    const uint64_t *v = vals->v;
    if (!e)
        return;
    e->st.options++;
    if (HAVE(vals, TS_SYS_INIT_MS))
        e->sys_init_ms = v[TS_SYS_INIT_MS];
    uint64_t rate = 0;
    if (HAVE(vals, TS_SAMPLING))
        rate = v[TS_SAMPLING];
    else if (HAVE(vals, TS_PKT_INTERVAL) && v[TS_PKT_INTERVAL]) /* RFC 5476 */
        rate = (v[TS_PKT_INTERVAL] + (HAVE(vals, TS_PKT_SPACE) ? v[TS_PKT_SPACE] : 0)) /
               v[TS_PKT_INTERVAL];
    if (rate > UINT32_MAX)
        rate = UINT32_MAX;
    exp_learn_sampling(e, HAVE(vals, TS_SAMPLER_ID),
                       HAVE(vals, TS_SAMPLER_ID) ? (uint32_t)v[TS_SAMPLER_ID] : 0, (uint32_t)rate);
}

static void s_record(const tpl_t *t, const tpl_op_t *ops, const uint8_t *rec,
                     const tpl_ctx_t *ctx, raw_sink_t *sink, int *n, uint32_t set_rate)
{
    vals_t vals;
    vals.have = 0;
    /* the slots s_finish reads whether or not the template has them */
    vals.v[TS_PKTS] = vals.v[TS_BYTES] = vals.v[TS_PROTO] = vals.v[TS_FLAGS] = 0;
    vals.v[TS_SPORT] = vals.v[TS_DPORT] = vals.v[TS_ICMP] = 0;
    vals.v[TS_FRAG_FLAGS] = vals.v[TS_FRAG_OFF] = 0;
    raw_flow_t *r = raw_sink_slot(sink);
    r->src = r->dst = (fg_addr_t){0, 0};
    for (int i = 0; i < t->n_ops; i++)
        s_apply(ops[i].slot, rec + ops[i].off, ops[i].len, r, &vals);
    (*n)++;
    if (t->options) {
        s_options(&vals, ctx);
        return;
    }
    s_finish(t, r, &vals, ctx, set_rate);
    raw_sink_commit(sink);
}

static inline uint64_t s_at(const uint8_t *rec, tpl_at_t a)
{
    return a.len ? s_uint(rec + a.off, a.len) : 0;
}

static inline fg_addr_t s_addr_at(const uint8_t *rec, uint8_t slot, const tpl_at_t *at)
{
    if (slot == TS_SRC4 || slot == TS_DST4)
        return fg_addr_from_v4(rd_be32_at(rec + at[slot].off));
    if (slot == TS_N)
        return (fg_addr_t){0, 0};
    return fg_addr_from_bytes16(rec + at[slot].off);
}

/* A slot s_finish and s_rate ask HAVE() of. */
static inline void s_have_at(const uint8_t *rec, const tpl_at_t *at, uint8_t slot, vals_t *vals)
{
    if (slot < TS_N && at[slot].len) {
        vals->v[slot] = s_uint(rec + at[slot].off, at[slot].len);
        vals->have |= 1u << slot;
    }
}

/* A flow record of a fixed template: what s_record does, with every slot
 * read from its place instead of a walk of the ops. Written out slot by
 * slot, not as a loop: each read then branches on its own field length,
 * the same for every record, so the branches predict. */
static void s_record_fixed(const tpl_t *t, const uint8_t *rec, const tpl_ctx_t *ctx,
                           raw_sink_t *sink, uint32_t set_rate)
{
    const tpl_at_t *at = t->at;
    vals_t vals;
    vals.have = 0;
    vals.v[TS_PKTS] = s_at(rec, at[TS_PKTS]);
    vals.v[TS_BYTES] = s_at(rec, at[TS_BYTES]);
    vals.v[TS_PROTO] = s_at(rec, at[TS_PROTO]);
    vals.v[TS_FLAGS] = s_at(rec, at[TS_FLAGS]);
    vals.v[TS_SPORT] = s_at(rec, at[TS_SPORT]);
    vals.v[TS_DPORT] = s_at(rec, at[TS_DPORT]);
    vals.v[TS_ICMP] = s_at(rec, at[TS_ICMP]);
    vals.v[TS_FRAG_FLAGS] = s_at(rec, at[TS_FRAG_FLAGS]);
    vals.v[TS_FRAG_OFF] = s_at(rec, at[TS_FRAG_OFF]);
    s_have_at(rec, at, t->t_start, &vals);
    s_have_at(rec, at, t->t_end, &vals);
    s_have_at(rec, at, TS_SAMPLING, &vals);
    s_have_at(rec, at, TS_SAMPLER_ID, &vals);
    raw_flow_t *r = raw_sink_slot(sink);
    r->src = s_addr_at(rec, t->src, at);
    r->dst = s_addr_at(rec, t->dst, at);
    s_finish(t, r, &vals, ctx, set_rate);
    raw_sink_commit(sink);
}

/* Resolve the field offsets of one variable-length record at p (left bytes
 * available) into ops; returns its length, or 0 when it runs past left. */
static size_t s_resolve(const tpl_t *t, const uint8_t *p, size_t left, tpl_op_t *ops)
{
    uint16_t off[TPL_MAX_FIELDS], len[TPL_MAX_FIELDS];
    size_t pos = 0;
    for (int i = 0; i < t->n_fields; i++) {
        size_t l = t->lens[i];
        if (l == TPL_VARLEN) { /* RFC 7011 7: 1 byte, or 255 then 2 bytes */
            if (pos + 1 > left)
                return 0;
            l = p[pos++];
            if (l == 255) {
                if (pos + 2 > left)
                    return 0;
                l = rd_be16_at(p + pos);
                pos += 2;
            }
        }
        if (pos + l > left)
            return 0;
        off[i] = (uint16_t)pos;
        len[i] = (uint16_t)l;
        pos += l;
    }
    for (int i = 0; i < t->n_ops; i++)
        ops[i] = (tpl_op_t){off[t->ops[i].off], len[t->ops[i].off], t->ops[i].slot, 0};
    return pos;
}

int tpl_decode_set(const tpl_t *t, const uint8_t *buf, size_t len, const tpl_ctx_t *ctx,
                   raw_sink_t *sink, bool *cut)
{
    *cut = false;
    int n = 0;
    size_t pos = 0;
    uint32_t set_rate = 0; /* 0: per record */
    if (!t->per_record_rate) {
        vals_t none;
        none.have = 0;
        set_rate = s_rate(&none, ctx);
    }
    if (!t->varlen && !t->options) {
        for (; len - pos >= t->rec_len; pos += t->rec_len, n++)
            s_record_fixed(t, buf + pos, ctx, sink, set_rate);
        return n; /* what is left is shorter than a record: padding */
    }
    if (!t->varlen) {
        for (; len - pos >= t->rec_len; pos += t->rec_len)
            s_record(t, t->ops, buf + pos, ctx, sink, &n, set_rate);
        return n;
    }
    tpl_op_t ops[TS_N];
    while (len - pos >= t->min_len) {
        size_t rl = s_resolve(t, buf + pos, len - pos, ops);
        if (rl == 0) {
            *cut = len - pos >= 4; /* else padding */
            return n;
        }
        s_record(t, ops, buf + pos, ctx, sink, &n, set_rate);
        pos += rl;
    }
    return n;
}

/* ---- shared by v9 and IPFIX ---- */

static bool s_held_match(const tpl_held_t *h, const fg_addr_t *a, uint8_t proto,
                         uint32_t domain, uint16_t id)
{
    return h->used && h->id == id && h->domain == domain && h->proto == proto &&
           fg_addr_eq(&h->exporter, a);
}

/* Decode the sets held for template t, oldest first (they were stored in
 * arrival order only as far as slots allow; order does not matter to the
 * totals). */
static void s_replay(tpl_env_t *env, const tpl_t *t)
{
    tpl_cache_t *c = env->cache;
    for (int i = 0; i < TPL_HOLD_SLOTS; i++) {
        tpl_held_t *h = &c->held[i];
        if (!s_held_match(h, &t->exporter, t->proto, t->domain, t->id))
            continue;
        bool cut = false;
        int n = tpl_decode_set(t, h->data, h->len, &h->ctx, env->sink, &cut);
        h->used = 0;
        env->st->sets_replayed++;
        if (t->options)
            env->st->options_records += (uint64_t)n;
        else
            env->flows += (uint32_t)n;
        if (cut) {
            env->st->sets_malformed++;
            env->exp->st.malformed++;
        }
    }
}

/* Keep a copy of a data set without template; false when it cannot be. */
static bool s_hold(tpl_env_t *env, uint8_t proto, uint32_t domain, uint16_t id,
                   const uint8_t *body, size_t len)
{
    tpl_cache_t *c = env->cache;
    if (!env->hold_ms || len > TPL_HOLD_SET_MAX)
        return false;
    tpl_hold_expire(c, env->now_ms, env->hold_ms, env->st);
    for (int i = 0; i < TPL_HOLD_SLOTS; i++) {
        tpl_held_t *h = &c->held[i];
        if (h->used)
            continue;
        h->exporter = env->exporter;
        h->proto = proto;
        h->domain = domain;
        h->id = id;
        h->at_ms = env->now_ms;
        h->ctx = env->ctx;
        h->len = (uint16_t)len;
        memcpy(h->data, body, len);
        h->used = 1;
        env->st->sets_held++;
        return true;
    }
    return false;
}

void tpl_hold_expire(tpl_cache_t *self, uint64_t now_ms, uint64_t hold_ms, tpl_stats_t *st)
{
    for (int i = 0; i < TPL_HOLD_SLOTS; i++) {
        tpl_held_t *h = &self->held[i];
        if (!h->used || now_ms < h->at_ms + hold_ms)
            continue;
        h->used = 0;
        st->sets_no_template++;
        if (h->ctx.exp)
            h->ctx.exp->st.sets_no_template++;
    }
}

tpl_status_t tpl_define(tpl_env_t *env, uint8_t proto, uint32_t domain, uint16_t id,
                        const tpl_field_t *fields, int n, bool options)
{
    tpl_t t;
    t.exporter = env->exporter;
    t.proto = proto;
    t.domain = domain;
    t.id = id;
    t.used = 1;
    t.seen_ms = env->now_ms;
    env->exp->st.templates++;
    tpl_status_t st = tpl_compile(&t, fields, n, options);
    if (st == TPL_ADDED)
        st = tpl_put(env, &t);
    if (st == TPL_ADDED || st == TPL_REPLACED)
        s_replay(env, &t);
    switch (st) {
    case TPL_ADDED:
        env->st->templates_added++;
        break;
    case TPL_REPLACED:
        env->st->templates_replaced++;
        break;
    case TPL_ERR_FIELDS:
        env->st->templates_bad++;
        break;
    case TPL_ERR_CAP:
    case TPL_ERR_FULL:
        env->st->templates_capped++;
        break;
    }
    return st;
}

int tpl_data_set(tpl_env_t *env, uint8_t proto, uint32_t domain, uint16_t id,
                 const uint8_t *body, size_t len)
{
    const tpl_t *t = tpl_get(env, proto, domain, id);
    if (!t) {
        env->unknown_sets = true;
        if (s_hold(env, proto, domain, id, body, len))
            return 0;
        env->st->sets_no_template++;
        env->exp->st.sets_no_template++;
        return 0;
    }
    bool cut = false;
    int n = tpl_decode_set(t, body, len, &env->ctx, env->sink, &cut);
    env->data_records += (uint32_t)n;
    if (t->options)
        env->st->options_records += (uint64_t)n;
    else
        env->flows += (uint32_t)n;
    if (cut) {
        env->st->sets_malformed++;
        env->exp->st.malformed++;
        return -1;
    }
    return 0;
}

int tpl_walk_sets(tpl_env_t *env, const uint8_t *body, size_t len, tpl_set_fn fn,
                  const void *hdr)
{
    rd_t r = rd_init(body, len);
    while (r.left >= 4) {
        const uint8_t *set = r.p;
        uint16_t id = rd_be16(&r), slen = rd_be16(&r);
        bool bad = slen < 4 || (size_t)slen - 4 > r.left;
        if (!bad) {
            rd_skip(&r, (size_t)slen - 4);
            if (fn(env, hdr, id, set + 4, (size_t)slen - 4) == 0)
                continue;
            if (id >= TPL_MIN_DATA_SET) /* tpl_data_set counted it */
                return -1;
        }
        env->st->sets_malformed++;
        env->exp->st.malformed++;
        return -1;
    }
    return 0;
}
