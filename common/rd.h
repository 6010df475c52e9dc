/* rd: bounds-checked big-endian readers for bytes from the network.
 *
 * A cursor over a buffer; every read checks the bytes left and, when short,
 * marks the cursor failed and returns 0. Decoders read a whole header, then
 * test rd_ok() once, instead of checking every read. */
#ifndef FG_RD_H
#define FG_RD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *p;
    size_t left;
    bool bad;
} rd_t;

static inline rd_t rd_init(const void *buf, size_t len)
{
    rd_t r = {(const uint8_t *)buf, len, false};
    return r;
}

static inline bool rd_ok(const rd_t *r)
{
    return !r->bad;
}

static inline bool rd_need(rd_t *r, size_t n)
{
    if (r->bad || r->left < n) {
        r->bad = true;
        return false;
    }
    return true;
}

static inline uint8_t rd_u8(rd_t *r)
{
    if (!rd_need(r, 1))
        return 0;
    uint8_t v = r->p[0];
    r->p += 1;
    r->left -= 1;
    return v;
}

static inline uint16_t rd_be16(rd_t *r)
{
    if (!rd_need(r, 2))
        return 0;
    uint16_t v = (uint16_t)((r->p[0] << 8) | r->p[1]);
    r->p += 2;
    r->left -= 2;
    return v;
}

static inline uint32_t rd_be32(rd_t *r)
{
    if (!rd_need(r, 4))
        return 0;
    uint32_t v = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) |
                 ((uint32_t)r->p[2] << 8) | r->p[3];
    r->p += 4;
    r->left -= 4;
    return v;
}

static inline uint64_t rd_be64(rd_t *r)
{
    uint64_t hi = rd_be32(r);
    return (hi << 32) | rd_be32(r);
}

/* Skip n bytes. */
static inline void rd_skip(rd_t *r, size_t n)
{
    if (!rd_need(r, n))
        return;
    r->p += n;
    r->left -= n;
}

/* Copy n bytes out. */
static inline void rd_bytes(rd_t *r, void *out, size_t n)
{
    if (!rd_need(r, n))
        return;
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)out)[i] = r->p[i];
    r->p += n;
    r->left -= n;
}

/* Unchecked fixed-offset readers for code that has already checked the
 * length of the whole structure (compiled templates). */
static inline uint16_t rd_be16_at(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t rd_be32_at(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

#endif
