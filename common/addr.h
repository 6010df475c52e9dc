/* addr: IPv4 and IPv6 addresses as one 128-bit value.
 *
 * An address is two 64-bit halves in host byte order: hi holds bytes 0..7 of
 * the IPv6 address read big-endian, lo bytes 8..15. IPv4 addresses are kept
 * IPv4-mapped (::ffff:a.b.c.d), so one table and one trie serve both. */
#ifndef FG_ADDR_H
#define FG_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t hi;
    uint64_t lo;
} fg_addr_t;

/* Longest text form: IPv6 with embedded IPv4, plus NUL. */
#define FG_ADDR_STRLEN 46
/* Longest prefix text: address, '/', up to 3 digits, NUL. */
#define FG_PREFIX_STRLEN (FG_ADDR_STRLEN + 4)

#define FG_V4MAPPED_HI 0ULL
#define FG_V4MAPPED_LO_TAG 0x0000ffff00000000ULL

/* An IPv4 address (host byte order) as a mapped address. */
static inline fg_addr_t fg_addr_from_v4(uint32_t v4)
{
    fg_addr_t a = {FG_V4MAPPED_HI, FG_V4MAPPED_LO_TAG | v4};
    return a;
}

static inline bool fg_addr_is_v4(const fg_addr_t *a)
{
    return a->hi == 0 && (a->lo >> 32) == 0xffffULL;
}

static inline uint32_t fg_addr_v4(const fg_addr_t *a)
{
    return (uint32_t)a->lo;
}

static inline bool fg_addr_eq(const fg_addr_t *a, const fg_addr_t *b)
{
    return a->hi == b->hi && a->lo == b->lo;
}

/* 64-bit mixing hash of an address; stable across processes and hosts, so
 * every collector sends a host to the same shard. */
static inline uint64_t fg_addr_hash(const fg_addr_t *a)
{
    uint64_t h = a->hi * 0x9e3779b97f4a7c15ULL ^ a->lo;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* The address from 16 network-order bytes (an IPv6 address). */
fg_addr_t fg_addr_from_bytes16(const uint8_t b[16]);
/* The 16 network-order bytes of an address (mapped form for IPv4). */
void fg_addr_to_bytes16(const fg_addr_t *a, uint8_t b[16]);

/* Parse "a.b.c.d" or an IPv6 text address. Returns 0 or -1. */
int fg_addr_parse(const char *s, fg_addr_t *out);

/* Format as dotted quad for IPv4-mapped, RFC 5952 text otherwise.
 * buf must hold FG_ADDR_STRLEN bytes. Returns buf. Cannot fail. */
char *fg_addr_format(const fg_addr_t *a, char *buf);

/* A prefix: address plus length counted on the 128-bit form (an IPv4 /24 is
 * stored as /120). */
typedef struct {
    fg_addr_t addr;
    uint8_t len;
} fg_prefix_t;

/* Parse "10.0.0.0/8", "2001:db8::/32" or a bare address (host prefix).
 * Host bits that are set are an error (a typo guard). Returns 0 or -1 with a
 * reason in *why (static string). */
int fg_prefix_parse(const char *s, fg_prefix_t *out, const char **why);

/* Format a prefix with its family's own length ("10.0.0.0/8"). */
char *fg_prefix_format(const fg_prefix_t *p, char *buf);

/* The address with all bits after len cleared. */
fg_addr_t fg_addr_mask(const fg_addr_t *a, unsigned len);

/* Split "host:port" at its last colon: "192.0.2.1:2055", "[2001:db8::1]:179"
 * (the brackets removed), "name:80", ":9560" (empty host). The port must be
 * a decimal number 0..65535. Returns 0, or -1 when there is no colon, the
 * port is bad or the host does not fit hostlen (host is then ""). */
int fg_hostport_split(const char *hp, char *host, size_t hostlen, uint16_t *port);

#endif
