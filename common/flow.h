/* flow: one flow record as the collectors hand it to the aggregators. */
#ifndef FG_FLOW_H
#define FG_FLOW_H

#include <stdint.h>

#include "common/addr.h"

enum { FG_DIR_IN = 0, FG_DIR_OUT = 1 };

/* IP protocol numbers used for classes. */
enum { FG_PROTO_ICMP = 1, FG_PROTO_TCP = 6, FG_PROTO_UDP = 17, FG_PROTO_ICMPV6 = 58 };
#define FG_TCP_SYN 0x02
#define FG_TCP_ACK 0x10

typedef struct {
    fg_addr_t host;    /* the monitored address */
    fg_addr_t peer;    /* the other end */
    uint64_t packets;  /* already multiplied by sampling */
    uint64_t bytes;    /* already multiplied by sampling */
    uint64_t start_ms; /* unix ms */
    uint64_t end_ms;   /* unix ms */
    uint32_t sampling; /* rate applied, 1 = none */
    uint16_t sport;    /* as exported: source port of the record */
    uint16_t dport;
    uint8_t proto;
    uint8_t tcp_flags;
    uint8_t dir;       /* FG_DIR_IN: peer -> host; FG_DIR_OUT: host -> peer */
    uint8_t frag;      /* 1 when the record is of IP fragments */
    uint16_t exporter; /* index into the batch's exporter table */
} fg_flow_t;

#endif
