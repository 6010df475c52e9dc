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
 * flow_sequence + count; nf5_seq_update() turns that into lost records
 * (or a reset, when the jump is more than the exporter can have sent).
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

/* Sequence tracking of one (exporter, engine_type, engine_id) stream; the
 * same accounting serves v9 and sFlow (units: datagrams) and IPFIX (units:
 * records). Zero-initialise it. */
typedef struct {
    uint32_t next;     /* sequence expected in the next datagram */
    bool valid;        /* next is known */
    uint32_t run;      /* datagrams in sequence since the first or the last reset */
    uint64_t lost;     /* units lost so far: plausible gaps only */
    uint64_t resets;   /* implausible jumps, forward or backward */
    uint64_t reorders; /* datagrams a little older than expected */
} nf5_seq_t;

/* A datagram at most this many units behind the expectation is a late one
 * (UDP reorders within a few datagrams); further behind, a reset. */
#define NF5_SEQ_REORDER_WINDOW 3000u
/* No gap is plausible beyond half the 32-bit space: it is as far backwards. */
#define NF5_SEQ_GAP_CEILING 0x7fffffffu

/* The largest gap an exporter sending at most max_per_s units a second can
 * have left in elapsed_ms since its previous datagram: max_per_s times
 * (elapsed_ms + 1) / 1000 (a millisecond at least, for datagrams read in
 * one burst), at most NF5_SEQ_GAP_CEILING. Cannot fail. */
uint32_t nf5_seq_max_gap(uint64_t max_per_s, uint64_t elapsed_ms);

/* Account for a datagram of count units carrying sequence seq. A jump
 * forward of at most max_gap units is a loss: returned and added to
 * s->lost. A datagram at most NF5_SEQ_REORDER_WINDOW behind is late (a
 * reorder or duplicate) and does not move the expectation. Any other jump,
 * forward beyond max_gap or backward beyond the window, is a reset (the
 * exporter restarted, or the datagram is forged): counted in s->resets,
 * never as loss, and the expectation resynchronises on seq + count, as it
 * does after every datagram but a late one. Returns the units lost just
 * before this datagram (0 for the first, a late one or a reset). Cannot
 * fail. */
uint32_t nf5_seq_update(nf5_seq_t *s, uint32_t seq, uint16_t count, uint32_t max_gap);

#endif
