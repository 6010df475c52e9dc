#include "actuator/mrt.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"

/* RFC 6396 section 4: MRT types; section 4.3: TABLE_DUMP_V2 subtypes. */
#define MRT_TABLE_DUMP_V2 13
#define MRT_PEER_INDEX_TABLE 1
#define MRT_RIB_IPV4_UNICAST 2
#define MRT_RIB_IPV6_UNICAST 4
/* RFC 6396 section 4.3.1: peer type bit 1 = 4-byte AS number. */
#define MRT_PEER_AS4 0x02
/* RFC 4271 section 4.3 (path attribute flags and type codes), RFC 1997,
 * RFC 4760. */
#define BGP_FLAG_OPTIONAL 0x80
#define BGP_FLAG_TRANSITIVE 0x40
#define BGP_ATTR_ORIGIN 1
#define BGP_ATTR_AS_PATH 2
#define BGP_ATTR_NEXT_HOP 3
#define BGP_ATTR_COMMUNITIES 8
#define BGP_ATTR_MP_REACH_NLRI 14
#define BGP_ORIGIN_IGP 0
#define BGP_AFI_IPV6 2
#define BGP_SAFI_UNICAST 1

static void s_be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void s_be32(uint8_t *p, uint32_t v)
{
    s_be16(p, v >> 16);
    s_be16(p + 2, v & 0xffff);
}

/* One standard community "a:b". 0 or -1. */
static int s_community(const char *s, size_t n, uint32_t *out)
{
    char tmp[32], *end;
    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *colon = strchr(tmp, ':');
    if (!colon)
        return -1;
    *colon = '\0';
    unsigned long hi = strtoul(tmp, &end, 10), lo;
    if (end == tmp || *end || hi > 0xffff)
        return -1;
    lo = strtoul(colon + 1, &end, 10);
    if (end == colon + 1 || *end || lo > 0xffff)
        return -1;
    *out = (uint32_t)(hi << 16 | lo);
    return 0;
}

int mrt_attrs_init(mrt_attrs_t *a, const char *nh4, const char *nh6, const char *communities)
{
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, nh4, a->nh4) != 1)
        return -1;
    a->has_nh6 = nh6[0] != '\0';
    if (a->has_nh6 && inet_pton(AF_INET6, nh6, a->nh6) != 1)
        return -1;
    a->communities[a->n_communities++] = 0xffff029au; /* 65535:666, RFC 7999 */
    for (const char *p = communities; *p;) {
        size_t n = strcspn(p, " ,");
        if (n > 0) {
            if (a->n_communities == MRT_MAX_COMMUNITIES ||
                s_community(p, n, &a->communities[a->n_communities]) < 0)
                return -1;
            a->n_communities++;
        }
        p += n + (p[n] != '\0');
    }
    return 0;
}

/* The common header (RFC 6396 section 2) then body. */
static int s_record(fg_buf_t *out, unsigned subtype, const uint8_t *body, size_t len)
{
    uint8_t h[12];
    s_be32(h, 0); /* timestamp: gobgp takes the path's age from the entry */
    s_be16(h + 4, MRT_TABLE_DUMP_V2);
    s_be16(h + 6, subtype);
    s_be32(h + 8, (uint32_t)len);
    if (fg_buf_append(out, h, sizeof(h)) < 0 || fg_buf_append(out, body, len) < 0)
        return -1;
    return 0;
}

int mrt_peer_index(fg_buf_t *out)
{
    uint8_t b[4 + 2 + 2 + 1 + 4 + 4 + 4];
    memset(b, 0, sizeof(b)); /* collector id 0, no view name */
    s_be16(b + 6, 1);        /* one peer: */
    b[8] = MRT_PEER_AS4;     /* IPv4 address, 4-byte AS; id, address, AS all 0 */
    return s_record(out, MRT_PEER_INDEX_TABLE, b, sizeof(b));
}

/* Append one attribute (flags, type, one-byte length, value) at p. */
static uint8_t *s_attr(uint8_t *p, uint8_t flags, uint8_t type, const void *v, size_t n)
{
    p[0] = flags;
    p[1] = type;
    p[2] = (uint8_t)n;
    if (n)
        memcpy(p + 3, v, n);
    return p + 3 + n;
}

/* The attributes of a route to (bytes, len bits) into p; their end. */
static uint8_t *s_attrs(uint8_t *p, const mrt_attrs_t *a, bool v6, const uint8_t *bytes,
                        unsigned len)
{
    uint8_t origin = BGP_ORIGIN_IGP, mp[2 + 1 + 1 + 16 + 1 + 1 + 16], comm[4 * MRT_MAX_COMMUNITIES];
    p = s_attr(p, BGP_FLAG_TRANSITIVE, BGP_ATTR_ORIGIN, &origin, 1);
    p = s_attr(p, BGP_FLAG_TRANSITIVE, BGP_ATTR_AS_PATH, NULL, 0);
    if (v6) {
        size_t nb = (len + 7) / 8;
        s_be16(mp, BGP_AFI_IPV6);
        mp[2] = BGP_SAFI_UNICAST;
        mp[3] = 16;
        memcpy(mp + 4, a->nh6, 16);
        mp[20] = 0; /* reserved */
        mp[21] = (uint8_t)len;
        memcpy(mp + 22, bytes, nb);
        p = s_attr(p, BGP_FLAG_OPTIONAL, BGP_ATTR_MP_REACH_NLRI, mp, 22 + nb);
    } else {
        p = s_attr(p, BGP_FLAG_TRANSITIVE, BGP_ATTR_NEXT_HOP, a->nh4, 4);
    }
    for (size_t i = 0; i < a->n_communities; i++)
        s_be32(comm + 4 * i, a->communities[i]);
    return s_attr(p, BGP_FLAG_OPTIONAL | BGP_FLAG_TRANSITIVE, BGP_ATTR_COMMUNITIES, comm,
                  4 * a->n_communities);
}

int mrt_rib(fg_buf_t *out, uint32_t seq, const char *prefix, const mrt_attrs_t *a)
{
    fg_prefix_t p;
    const char *why;
    if (fg_prefix_parse(prefix, &p, &why) != 0)
        return -1;
    bool v6 = !fg_addr_is_v4(&p.addr);
    if (v6 && !a->has_nh6)
        return -1;
    unsigned len = v6 ? p.len : p.len - 96u;
    uint8_t all[16], body[4 + 1 + 16 + 2 + 2 + 4 + 2 + 256], *bytes = v6 ? all : all + 12;
    fg_addr_to_bytes16(&p.addr, all);
    size_t nb = (len + 7) / 8;
    s_be32(body, seq);
    body[4] = (uint8_t)len;
    memcpy(body + 5, bytes, nb);
    uint8_t *e = body + 5 + nb;
    s_be16(e, 1);     /* one entry: */
    s_be16(e + 2, 0); /* peer index 0 */
    s_be32(e + 4, 0); /* originated time */
    uint8_t *end = s_attrs(e + 10, a, v6, bytes, len);
    s_be16(e + 8, (uint32_t)(end - (e + 10)));
    return s_record(out, v6 ? MRT_RIB_IPV6_UNICAST : MRT_RIB_IPV4_UNICAST, body,
                    (size_t)(end - body));
}
