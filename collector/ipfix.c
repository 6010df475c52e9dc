/* IPFIX decoding; the wire layout is drawn in ipfix.h. */
#include "collector/ipfix.h"

#include "common/rd.h"

ipfix_status_t ipfix_header(const uint8_t *buf, size_t len, ipfix_header_t *h)
{
    rd_t r = rd_init(buf, len);
    *h = (ipfix_header_t){0};
    if (len >= 2)
        h->version = rd_be16_at(buf);
    if (len >= 2 && h->version != IPFIX_VERSION)
        return IPFIX_ERR_VERSION;
    h->version = rd_be16(&r);
    h->length = rd_be16(&r);
    h->export_time = rd_be32(&r);
    h->sequence = rd_be32(&r);
    h->domain = rd_be32(&r);
    if (!rd_ok(&r))
        return IPFIX_ERR_SHORT_HEADER;
    if (h->length < IPFIX_HEADER_LEN || h->length > len)
        return IPFIX_ERR_LENGTH;
    return h->length < len ? IPFIX_TRAILING : IPFIX_OK;
}

/* Read n field specifiers into f[from ..] (those beyond TPL_MAX_FIELDS are
 * skipped; the template is then refused). Returns -1 when they run out. */
static int s_fields(rd_t *r, tpl_field_t *f, int n)
{
    for (int i = 0; i < n; i++) {
        uint16_t id = rd_be16(r);
        uint16_t len = rd_be16(r);
        uint32_t pen = id & TPL_ENTERPRISE_BIT ? rd_be32(r) : 0;
        if (i < TPL_MAX_FIELDS)
            f[i] = (tpl_field_t){(uint16_t)(id & ~TPL_ENTERPRISE_BIT), len, pen};
    }
    return rd_ok(r) ? 0 : -1;
}

static void s_withdraw(tpl_env_t *env, const ipfix_header_t *h, uint16_t id, uint16_t set_id)
{
    bool all = id == set_id;
    int n = tpl_withdraw(env, IPFIX_VERSION, h->domain, id, all);
    env->st->templates_withdrawn += (uint64_t)n;
}

/* A template or options template set (set_id says which). */
static int s_templates(tpl_env_t *env, const ipfix_header_t *h, uint16_t set_id, rd_t *r)
{
    tpl_field_t f[TPL_MAX_FIELDS];
    bool options = set_id == IPFIX_OPTIONS_SET;
    while (r->left >= 4) {
        uint16_t id = rd_be16(r), n = rd_be16(r);
        if (n == 0 && (id >= IPFIX_MIN_DATA_SET || id == set_id)) {
            s_withdraw(env, h, id, set_id);
            continue;
        }
        if (id < IPFIX_MIN_DATA_SET)
            return n == 0 ? 0 : -1; /* padding, or garbage */
        uint16_t scope = options ? rd_be16(r) : 0;
        if (options && (scope == 0 || scope > n))
            return -1; /* RFC 7011 3.4.2.2: at least one scope field */
        if ((size_t)n * 4 > r->left || s_fields(r, f, n) != 0)
            return -1;
        tpl_define(env, IPFIX_VERSION, h->domain, id, f, n, options);
    }
    return 0;
}

static int s_set(tpl_env_t *env, const void *hdr, uint16_t id, const uint8_t *body, size_t len)
{
    const ipfix_header_t *h = hdr;
    rd_t r = rd_init(body, len);
    if (id == IPFIX_TEMPLATE_SET || id == IPFIX_OPTIONS_SET)
        return s_templates(env, h, id, &r);
    if (id < IPFIX_MIN_DATA_SET) {
        env->st->sets_reserved++;
        return 0;
    }
    return tpl_data_set(env, IPFIX_VERSION, h->domain, id, body, len);
}

ipfix_status_t ipfix_decode(const uint8_t *buf, const ipfix_header_t *h, tpl_env_t *env)
{
    env->ctx.export_ms = (uint64_t)h->export_time * 1000;
    env->ctx.sys_uptime_ms = 0;
    env->ctx.v9 = false;
    env->ctx.exp = env->exp;
    return tpl_walk_sets(env, buf + IPFIX_HEADER_LEN, (size_t)h->length - IPFIX_HEADER_LEN,
                         s_set, h) == 0
               ? IPFIX_OK
               : IPFIX_ERR_SET;
}

const char *ipfix_status_str(ipfix_status_t st)
{
    switch (st) {
    case IPFIX_OK:
        return "ok";
    case IPFIX_TRAILING:
        return "trailing_bytes";
    case IPFIX_ERR_VERSION:
        return "bad_version";
    case IPFIX_ERR_SHORT_HEADER:
        return "short_header";
    case IPFIX_ERR_LENGTH:
        return "bad_length";
    case IPFIX_ERR_SET:
        return "bad_set";
    }
    return "unknown";
}
