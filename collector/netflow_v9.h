/* netflow_v9: decoder for Cisco NetFlow version 9 export packets (RFC 3954).
 *
 *   header, 20 bytes (RFC 3954 5.1)      flowset (5.2-5.4)
 *    0 version (= 9)          2           0 flowset id   2  0 template,
 *    2 count (records)        2                              1 options template,
 *    4 sysUptime (ms)         4                              >= 256 data
 *    8 unix secs              4           2 length       2  header included
 *   12 sequence (packets)     4           4 ... padded to 4 bytes
 *   16 source id              4
 *
 * Template record: id, field count, then (type, length) pairs. Options
 * template record: id, scope length and option length in bytes, then the
 * scope fields (System, Interface, ... not IEs: never mapped) and the
 * option fields. The header's count is not trusted (softflowd's is wrong);
 * flowset lengths are.
 *
 * The sequence counts export packets of the source id, so a gap is lost
 * datagrams. Templates and records go through collector/templates.c.
 *
 * A leaf module: no logging, no allocation. */
#ifndef FG_COLLECTOR_NETFLOW_V9_H
#define FG_COLLECTOR_NETFLOW_V9_H

#include <stddef.h>
#include <stdint.h>

#include "collector/templates.h"

#define NF9_VERSION 9
#define NF9_HEADER_LEN 20
#define NF9_TEMPLATE_SET 0
#define NF9_OPTIONS_SET 1
#define NF9_MIN_DATA_SET 256

typedef enum {
    NF9_OK = 0,
    NF9_ERR_VERSION,      /* version field is not 9 */
    NF9_ERR_SHORT_HEADER, /* fewer than 20 bytes */
    NF9_ERR_SET,          /* a flowset or template is cut or inconsistent:
                           * what came before it was decoded */
} nf9_status_t;

typedef struct {
    uint16_t version;
    uint16_t count;
    uint32_t sys_uptime_ms;
    uint32_t unix_secs;
    uint32_t sequence;
    uint32_t source_id;
} nf9_header_t;

/* Read the header of a datagram of len bytes into *h. Returns NF9_OK or
 * the header's error. Cannot fail otherwise. */
nf9_status_t nf9_header(const uint8_t *buf, size_t len, nf9_header_t *h);

/* Decode every flowset of the datagram (whose header h was read by
 * nf9_header): templates into env->cache, data records to env->sink,
 * counts into env (env->ctx is filled here from h). Returns NF9_OK or
 * NF9_ERR_SET. Never reads past buf + len. */
nf9_status_t nf9_decode(const uint8_t *buf, size_t len, const nf9_header_t *h, tpl_env_t *env);

/* A static, lower-case name of a status. */
const char *nf9_status_str(nf9_status_t st);

#endif
