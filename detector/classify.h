/* classify: the attack type of one host's window, from its class rates and
 * top contributors. Pure functions, no state.
 *
 * The class holding most packets decides: tcp_syn -> "syn_flood", other TCP
 * -> "tcp_other", udp -> "udp_flood" or "amplification_<service>" when one
 * source port of a known amplification service carries at least half of the
 * host's packets, icmp -> "icmp_flood", frag -> "ip_fragmentation". When no
 * class holds 60 % of the packets, or the leading class is "other" (neither
 * TCP, UDP nor ICMP: no type of its own in the contract yet), "mixed". */
#ifndef FG_CLASSIFY_H
#define FG_CLASSIFY_H

#include <stdint.h>

#include "floodgate.pb-c.h"

/* Share of packets the leading class needs, and the share of the top source
 * port that makes a UDP flood an amplification. */
#define CLS_DOMINANT_SHARE 0.6
#define CLS_AMPLIFICATION_SHARE 0.5

/* The attack type of hw (a static string). Missing rates count as zero;
 * a window without packets is "mixed". Cannot fail. */
const char *cls_attack_type(const Floodgate__HostWindow *hw);

/* The amplification service name of a UDP source port ("dns", "ntp", ...),
 * or NULL when the port is not a known amplification vector. */
const char *cls_amplification_service(uint32_t port);

#endif
