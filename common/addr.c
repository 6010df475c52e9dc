#include "common/addr.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Big-endian halves, one load or store each (the byte loops these were
 * compiled to a byte at a time: per record for IPv6, per datagram for the
 * exporter). */
fg_addr_t fg_addr_from_bytes16(const uint8_t b[16])
{
    uint64_t hi, lo;
    memcpy(&hi, b, sizeof(hi));
    memcpy(&lo, b + 8, sizeof(lo));
    return (fg_addr_t){be64toh(hi), be64toh(lo)};
}

void fg_addr_to_bytes16(const fg_addr_t *a, uint8_t b[16])
{
    uint64_t hi = htobe64(a->hi), lo = htobe64(a->lo);
    memcpy(b, &hi, sizeof(hi));
    memcpy(b + 8, &lo, sizeof(lo));
}

int fg_addr_parse(const char *s, fg_addr_t *out)
{
    struct in_addr v4;
    struct in6_addr v6;

    if (inet_pton(AF_INET, s, &v4) == 1) {
        *out = fg_addr_from_v4(ntohl(v4.s_addr));
        return 0;
    }
    if (inet_pton(AF_INET6, s, &v6) == 1) {
        *out = fg_addr_from_bytes16(v6.s6_addr);
        return 0;
    }
    return -1;
}

char *fg_addr_format(const fg_addr_t *a, char *buf)
{
    if (fg_addr_is_v4(a)) {
        struct in_addr v4 = {htonl(fg_addr_v4(a))};
        inet_ntop(AF_INET, &v4, buf, FG_ADDR_STRLEN);
    } else {
        struct in6_addr v6;
        fg_addr_to_bytes16(a, v6.s6_addr);
        inet_ntop(AF_INET6, &v6, buf, FG_ADDR_STRLEN);
    }
    return buf;
}

fg_addr_t fg_addr_mask(const fg_addr_t *a, unsigned len)
{
    fg_addr_t m = *a;
    if (len == 0) {
        m.hi = m.lo = 0;
    } else if (len < 64) {
        m.hi &= ~0ULL << (64 - len);
        m.lo = 0;
    } else if (len == 64) {
        m.lo = 0;
    } else if (len < 128) {
        m.lo &= ~0ULL << (128 - len);
    }
    return m;
}

int fg_prefix_parse(const char *s, fg_prefix_t *out, const char **why)
{
    char buf[FG_PREFIX_STRLEN];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    long len = -1;

    if (alen == 0 || alen >= FG_ADDR_STRLEN) {
        *why = "not an address";
        return -1;
    }
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    if (fg_addr_parse(buf, &out->addr) != 0) {
        *why = "not an IPv4 or IPv6 address";
        return -1;
    }
    bool v4 = strchr(buf, ':') == NULL;
    long max = v4 ? 32 : 128;
    if (slash) {
        char *end;
        len = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end != '\0' || len < 0 || len > max) {
            *why = v4 ? "prefix length must be 0..32" : "prefix length must be 0..128";
            return -1;
        }
    } else {
        len = max;
    }
    out->len = (uint8_t)(v4 ? len + 96 : len);
    fg_addr_t masked = fg_addr_mask(&out->addr, out->len);
    if (!fg_addr_eq(&masked, &out->addr)) {
        *why = "host bits set after the prefix length";
        return -1;
    }
    return 0;
}

char *fg_prefix_format(const fg_prefix_t *p, char *buf)
{
    char a[FG_ADDR_STRLEN];
    fg_addr_format(&p->addr, a);
    bool v4 = fg_addr_is_v4(&p->addr) && p->len >= 96;
    snprintf(buf, FG_PREFIX_STRLEN, "%s/%u", a, v4 ? p->len - 96u : p->len);
    return buf;
}

int fg_hostport_split(const char *hp, char *host, size_t hostlen, uint16_t *port)
{
    const char *colon = hp ? strrchr(hp, ':') : NULL;
    if (hostlen)
        host[0] = '\0';
    if (!colon || colon[1] < '0' || colon[1] > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || errno || p > 65535)
        return -1;
    size_t n = (size_t)(colon - hp);
    if (n >= 2 && hp[0] == '[' && hp[n - 1] == ']') {
        hp++;
        n -= 2;
    }
    if (n >= hostlen)
        return -1;
    memcpy(host, hp, n);
    host[n] = '\0';
    *port = (uint16_t)p;
    return 0;
}
