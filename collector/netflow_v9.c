/* NetFlow v9 decoding; the wire layout is drawn in netflow_v9.h. */
#include "collector/netflow_v9.h"

#include "common/rd.h"

/* Scope fields of v9 options templates are not information elements
 * (RFC 3954 6.1: 1 System, 2 Interface, ...): this enterprise number keeps
 * them from being mapped. */
#define NF9_SCOPE_PEN 0xffffffffu

nf9_status_t nf9_header(const uint8_t *buf, size_t len, nf9_header_t *h)
{
    rd_t r = rd_init(buf, len);
    *h = (nf9_header_t){0};
    if (len >= 2)
        h->version = rd_be16_at(buf);
    if (len >= 2 && h->version != NF9_VERSION)
        return NF9_ERR_VERSION;
    h->version = rd_be16(&r);
    h->count = rd_be16(&r);
    h->sys_uptime_ms = rd_be32(&r);
    h->unix_secs = rd_be32(&r);
    h->sequence = rd_be32(&r);
    h->source_id = rd_be32(&r);
    return rd_ok(&r) ? NF9_OK : NF9_ERR_SHORT_HEADER;
}

/* Read n (type, length) pairs; fields beyond TPL_MAX_FIELDS are skipped
 * (the template is then refused by tpl_compile). */
static void s_fields(rd_t *r, tpl_field_t *f, int from, int n, uint32_t pen)
{
    for (int i = from; i < from + n; i++) {
        uint16_t id = rd_be16(r);
        uint16_t len = rd_be16(r);
        if (i < TPL_MAX_FIELDS)
            f[i] = (tpl_field_t){id, len, pen};
    }
}

static int s_templates(tpl_env_t *env, const nf9_header_t *h, rd_t *r)
{
    tpl_field_t f[TPL_MAX_FIELDS];
    while (r->left >= 4) {
        uint16_t id = rd_be16(r), n = rd_be16(r);
        if (id < NF9_MIN_DATA_SET && n == 0)
            return 0; /* padding */
        if ((size_t)n * 4 > r->left || id < NF9_MIN_DATA_SET)
            return -1;
        s_fields(r, f, 0, n, 0);
        tpl_define(env, NF9_VERSION, h->source_id, id, f, n, false);
    }
    return 0;
}

static int s_options(tpl_env_t *env, const nf9_header_t *h, rd_t *r)
{
    tpl_field_t f[TPL_MAX_FIELDS];
    while (r->left >= 6) {
        uint16_t id = rd_be16(r), scope_len = rd_be16(r), opt_len = rd_be16(r);
        if (id < NF9_MIN_DATA_SET && scope_len == 0 && opt_len == 0)
            return 0; /* padding */
        size_t bytes = (size_t)scope_len + opt_len;
        if (id < NF9_MIN_DATA_SET || scope_len % 4 || opt_len % 4 || bytes > r->left)
            return -1;
        int ns = scope_len / 4, n = (int)(bytes / 4);
        s_fields(r, f, 0, ns, NF9_SCOPE_PEN);
        s_fields(r, f, ns, n - ns, 0);
        tpl_define(env, NF9_VERSION, h->source_id, id, f, n, true);
    }
    return 0;
}

static int s_flowset(tpl_env_t *env, const void *hdr, uint16_t id, const uint8_t *body,
                     size_t len)
{
    const nf9_header_t *h = hdr;
    rd_t r = rd_init(body, len);
    if (id == NF9_TEMPLATE_SET)
        return s_templates(env, h, &r);
    if (id == NF9_OPTIONS_SET)
        return s_options(env, h, &r);
    if (id < NF9_MIN_DATA_SET) {
        env->st->sets_reserved++;
        return 0;
    }
    return tpl_data_set(env, NF9_VERSION, h->source_id, id, body, len);
}

nf9_status_t nf9_decode(const uint8_t *buf, size_t len, const nf9_header_t *h, tpl_env_t *env)
{
    env->ctx.export_ms = (uint64_t)h->unix_secs * 1000;
    env->ctx.sys_uptime_ms = h->sys_uptime_ms;
    env->ctx.v9 = true;
    env->ctx.exp = env->exp;
    return tpl_walk_sets(env, buf + NF9_HEADER_LEN, len - NF9_HEADER_LEN, s_flowset, h) == 0
               ? NF9_OK
               : NF9_ERR_SET;
}

const char *nf9_status_str(nf9_status_t st)
{
    switch (st) {
    case NF9_OK:
        return "ok";
    case NF9_ERR_VERSION:
        return "bad_version";
    case NF9_ERR_SHORT_HEADER:
        return "short_header";
    case NF9_ERR_SET:
        return "bad_flowset";
    }
    return "unknown";
}
