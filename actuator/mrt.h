/* mrt: the MRT records (RFC 6396, TABLE_DUMP_V2) that `gobgp mrt inject
 * global` reads, so the GoBGP backend can stream routes to gobgpd through
 * one long-running client instead of one process per route.
 *
 * A stream is one PEER_INDEX_TABLE (a single peer: AS 0, router id
 * 0.0.0.0, so gobgp injects the paths as local ones, exactly like `gobgp
 * global rib add`, and `rib del` removes them) followed by any number of
 * RIB_IPV4_UNICAST / RIB_IPV6_UNICAST records, one prefix each, with the
 * attributes ORIGIN IGP, an empty AS_PATH, the next hop (NEXT_HOP for IPv4,
 * MP_REACH_NLRI for IPv6: gobgp reads the full RFC 4760 form, not the
 * abbreviated one of RFC 6396 section 4.3.4) and COMMUNITIES. Leaf module:
 * no logging, no I/O. */
#ifndef FG_ACT_MRT_H
#define FG_ACT_MRT_H

#include <stddef.h>
#include <stdint.h>

#include "common/fgbuf.h"

#define MRT_MAX_COMMUNITIES 32

typedef struct {
    uint32_t communities[MRT_MAX_COMMUNITIES]; /* (high << 16) | low */
    size_t n_communities;
    uint8_t nh4[4];  /* IPv4 next hop */
    uint8_t nh6[16]; /* IPv6 next hop */
    int has_nh6;     /* an IPv6 next hop is configured */
} mrt_attrs_t;

/* Fill a from next hops ("" = none) and a space- or comma-separated list
 * of standard communities "a:b" (65535:666 is always first). 0, or -1 on a
 * bad next hop or community, or more than MRT_MAX_COMMUNITIES. */
int mrt_attrs_init(mrt_attrs_t *a, const char *nh4, const char *nh6, const char *communities);

/* Append the PEER_INDEX_TABLE that must open a stream. 0 or -1 (buffer). */
int mrt_peer_index(fg_buf_t *out);

/* Append the RIB record of prefix ("10.0.0.5/32", "2001:db8::/64") with
 * a's attributes, sequence number seq. 0, or -1 on a bad prefix, an IPv6
 * prefix without an IPv6 next hop, or the buffer. */
int mrt_rib(fg_buf_t *out, uint32_t seq, const char *prefix, const mrt_attrs_t *a);

#endif
