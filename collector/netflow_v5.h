/* netflow_v5: decoder for Cisco NetFlow version 5 export datagrams.
 *
 * Wire format: Cisco, "NetFlow Export Datagram Format", Version 5
 * (NetFlow Services Solutions Guide, and the Cisco IOS NetFlow
 * documentation; the same layout nfdump's nf_v5_header_t / nf_v5_record_t
 * and Wireshark's packet-cflow.c decode). All fields big-endian.
 *
 *   header, 24 bytes                     record, 48 bytes
 *    0 version (= 5)          2           0 srcaddr        4
 *    2 count (1..30)          2           4 dstaddr        4
 *    4 SysUptime (ms)         4           8 nexthop        4
 *    8 unix_secs              4          12 input ifIndex  2
 *   12 unix_nsecs             4          14 output ifIndex 2
 *   16 flow_sequence          4          16 dPkts          4
 *   20 engine_type            1          20 dOctets        4
 *   21 engine_id              1          24 First (uptime) 4
 *   22 sampling_interval      2          28 Last (uptime)  4
 *      (bits 15-14 mode,                 32 srcport        2
 *       bits 13-0 interval)              34 dstport        2
 *                                        36 pad1           1
 *                                        37 tcp_flags      1
 *                                        38 prot           1
 *                                        39 tos            1
 *                                        40 src_as         2
 *                                        42 dst_as         2
 *                                        44 src_mask       1
 *                                        45 dst_mask       1
 *                                        46 pad2           2
 *
 * flow_sequence counts the flows the exporter sent before this datagram, so
 * the next datagram of the same (exporter, engine) should carry
 * flow_sequence + count; nf5_seq_update() turns that into lost records.
 *
 * A leaf module: no logging, no allocation; the caller owns every buffer. */
#ifndef FG_COLLECTOR_NETFLOW_V5_H
#define FG_COLLECTOR_NETFLOW_V5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/raw.h"

#define NF5_VERSION 5
#define NF5_HEADER_LEN 24
#define NF5_RECORD_LEN 48
/* Cisco: "count: number of flows exported in this packet (1-30)". */
#define NF5_MAX_RECORDS 30
#define NF5_MAX_DATAGRAM (NF5_HEADER_LEN + NF5_MAX_RECORDS * NF5_RECORD_LEN)
/* sampling_interval: the top 2 bits are the sampling mode, the low 14 bits
 * the interval (1 in N packets). */
#define NF5_SAMPLING_MODE_SHIFT 14
#define NF5_SAMPLING_INTERVAL_MASK 0x3fff

/* Result of nf5_decode(). NF5_OK and NF5_TRAILING decoded records; the
 * others decoded nothing. Each is one counter in the caller. */
typedef enum {
    NF5_OK = 0,
    NF5_TRAILING,         /* bytes after count records: decoded, counted */
    NF5_ERR_VERSION,      /* version field is not 5 */
    NF5_ERR_SHORT_HEADER, /* fewer than 24 bytes */
    NF5_ERR_COUNT,        /* count is 0 or more than 30 */
    NF5_ERR_TRUNCATED,    /* shorter than 24 + count * 48 */
} nf5_status_t;

typedef struct {
    uint16_t version;
    uint16_t count;
    uint32_t sys_uptime_ms;
    uint32_t unix_secs;
    uint32_t unix_nsecs;
    uint32_t flow_sequence;
    uint8_t engine_type;
    uint8_t engine_id;
    uint8_t sampling_mode;      /* bits 15-14 of sampling_interval */
    uint16_t sampling_interval; /* bits 13-0; 0 = not given */
    uint32_t sampling;          /* rate applied to the records, >= 1 */
    size_t trailing;            /* bytes after the last record */
} nf5_header_t;

/* Decode one datagram of len bytes. On NF5_OK / NF5_TRAILING, *hdr holds the
 * header and recs[0 .. hdr->count - 1] the records: addresses IPv4-mapped,
 * packets and bytes multiplied by the sampling interval (default_sampling
 * when the datagram says 0; values below 1 count as 1), First/Last converted
 * from SysUptime to unix ms. On an error, *hdr is filled as far as it was
 * read (version is always set when len >= 2) and recs is untouched or
 * partly written. recs must hold NF5_MAX_RECORDS entries. Never reads past
 * buf + len. */
nf5_status_t nf5_decode(const uint8_t *buf, size_t len, uint32_t default_sampling,
                        nf5_header_t *hdr, raw_flow_t recs[NF5_MAX_RECORDS]);

/* The unix time in ms of an uptime stamp (First or Last) of a datagram with
 * this header: unix_secs * 1000 + unix_nsecs / 1e6 - SysUptime + stamp. The
 * difference stamp - SysUptime is taken modulo 2^32 as a signed value, so a
 * SysUptime that wrapped (after 49.7 days) between First and the export still
 * gives the right time. Cannot fail. */
uint64_t nf5_uptime_to_unix_ms(const nf5_header_t *hdr, uint32_t stamp);

/* A static, lower-case name of a status ("ok", "bad_version", ...). */
const char *nf5_status_str(nf5_status_t st);

/* Sequence tracking of one (exporter, engine_type, engine_id) stream.
 * Zero-initialise it. */
typedef struct {
    uint32_t next;     /* flow_sequence expected in the next datagram */
    bool valid;        /* next is known */
    uint64_t lost;     /* records lost so far */
    uint64_t resets;   /* jumps too large to be losses: exporter restarts */
    uint64_t reorders; /* datagrams older than expected */
} nf5_seq_t;

/* A jump forward of more than this many flows is taken as a restart of the
 * exporter (or a new engine), not a loss. */
#define NF5_SEQ_MAX_GAP 1000000u
/* A datagram at most this many flows behind the expectation is a late one
 * (UDP reorders within a few datagrams); further behind, a restart. */
#define NF5_SEQ_REORDER_WINDOW 3000u

/* Account for a datagram of count records carrying flow_sequence seq.
 * Returns the records lost just before it (0 for the first datagram, a late
 * or duplicate datagram, or a reset) and adds them to s->lost. A late
 * datagram (at most NF5_SEQ_REORDER_WINDOW behind) does not move the
 * expectation;
 * anything else resynchronises on seq + count. Cannot fail. */
uint32_t nf5_seq_update(nf5_seq_t *s, uint32_t seq, uint16_t count);

#endif
