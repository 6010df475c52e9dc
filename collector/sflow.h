/* sflow: decoder for sFlow version 5 datagrams (sflow.org, "sFlow Version
 * 5", 2004; XDR encoding: every field a multiple of 4 bytes, big-endian).
 *
 *   datagram                              flow sample (format 1)
 *    version (= 5)            4            sequence         4
 *    agent address type       4  1 v4,     source id        4
 *    agent address         4/16  2 v6      sampling rate    4
 *    sub-agent id             4            sample pool      4
 *    sequence (datagrams)     4            drops            4
 *    uptime (ms)              4            input, output    4+4
 *    samples                  4            records          4, then records
 *    then samples: format 4 (enterprise << 12 | format), length 4, data.
 *   expanded flow sample (format 3): sequence, source id type, source id
 *   index, sampling rate, sample pool, drops, input format and value,
 *   output format and value, records.
 *   flow record: format 4, length 4, data. Decoded: 1 raw packet header
 *   (header protocol, frame length, stripped, header length, header bytes
 *   padded to 4), 3 sampled IPv4, 4 sampled IPv6. Counter samples (2, 4)
 *   and other records are skipped by their length.
 *
 * One flow record per flow sample: packets = sampling rate, bytes = frame
 * length * sampling rate, start = end = the time of receipt. The raw header
 * is parsed through Ethernet, 802.1Q / 802.1ad (QinQ) tags, IPv4 / IPv6
 * (with extension headers) to TCP, UDP, ICMP; a fragment (IPv4 MF or
 * offset, an IPv6 fragment header) sets frag, and a non-first fragment
 * has no ports. Counts are never trusted: every loop ends with the bytes.
 *
 * A leaf module: no logging, no allocation. */
#ifndef FG_COLLECTOR_SFLOW_H
#define FG_COLLECTOR_SFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "collector/raw.h"
#include "common/addr.h"

#define SFLOW_VERSION 5
#define SFLOW_FLOW_SAMPLE 1
#define SFLOW_COUNTER_SAMPLE 2
#define SFLOW_FLOW_SAMPLE_EXP 3
#define SFLOW_COUNTER_SAMPLE_EXP 4
#define SFLOW_REC_RAW_HEADER 1
#define SFLOW_REC_IPV4 3
#define SFLOW_REC_IPV6 4
#define SFLOW_PROTO_ETHERNET 1
#define SFLOW_PROTO_IPV4 11
#define SFLOW_PROTO_IPV6 12

typedef enum {
    SFLOW_OK = 0,
    SFLOW_ERR_VERSION,      /* not version 5 */
    SFLOW_ERR_SHORT_HEADER, /* header cut, or an unknown agent address type */
    SFLOW_ERR_TRUNCATED,    /* a sample or record runs past the datagram:
                             * the samples before it were decoded */
} sflow_status_t;

typedef struct {
    uint32_t version;
    fg_addr_t agent;
    uint32_t sub_agent;
    uint32_t sequence;
    uint32_t uptime_ms;
    uint32_t samples;
    size_t header_len; /* bytes before the first sample */
} sflow_header_t;

typedef struct sflow_stats {
    uint64_t flow_samples;
    uint64_t counter_samples;  /* skipped */
    uint64_t other_samples;    /* unknown formats or enterprises, skipped */
    uint64_t no_flow_record;   /* flow samples with no record we decode */
    uint64_t unparsed_headers; /* raw headers of no IP we know (e.g. ARP) */
    uint64_t agent_drops;      /* "drops" of the samples: packets the agent
                                * could not sample */
} sflow_stats_t;

/* Read the datagram header into *h. Returns SFLOW_OK or a header error. */
sflow_status_t sflow_header(const uint8_t *buf, size_t len, sflow_header_t *h);

/* Decode the samples of the datagram (header read by sflow_header) into
 * sink, with times now_ms (unix ms), rates from each sample (override, when
 * not 0, replaces them; a rate of 0 counts as default_sampling). Counts
 * into *st and *flows. Returns SFLOW_OK or SFLOW_ERR_TRUNCATED. Never reads
 * past buf + len. */
sflow_status_t sflow_decode(const uint8_t *buf, size_t len, const sflow_header_t *h,
                            uint64_t now_ms, uint32_t override, uint32_t default_sampling,
                            raw_sink_t *sink, sflow_stats_t *st, uint32_t *flows);

/* Parse a raw packet header (Ethernet when ethernet, else starting at the
 * IP header) into r's addresses, ports, protocol, flags and frag. Returns
 * 0, or -1 when no IPv4 / IPv6 header is found. */
int sflow_parse_packet(const uint8_t *p, size_t len, int ethernet, raw_flow_t *r);

/* A static, lower-case name of a status. */
const char *sflow_status_str(sflow_status_t st);

#endif
