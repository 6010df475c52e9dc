/* ipfix: decoder for IPFIX messages (RFC 7011).
 *
 *   message header, 16 bytes (3.1)       set header (3.3.2)
 *    0 version (= 10)         2           0 set id   2  2 template, 3 options
 *    2 length (message)       2                         template, >= 256 data
 *    4 export time (s)        4           2 length   2  header included
 *    8 sequence (records)     4
 *   12 observation domain     4
 *
 * Template record (3.4.1): id, field count, field specifiers; a specifier
 * with the enterprise bit carries a 4-byte enterprise number (skipped by
 * the mapping). Options template record (3.4.2): id, field count, scope
 * field count, specifiers. A template record of field count 0 withdraws its
 * template; id 2 (3 for options) withdraws all (8.1). Variable-length
 * fields (7) are resolved record by record.
 *
 * The sequence counts data records of the observation domain sent before
 * this message, so a gap is lost records; decoders report how many data
 * records a message held. Times: flowStart/End in seconds, ms, us, ns, as
 * deltas, or sysUpTime relative to systemInitTimeMilliseconds learnt from
 * options data.
 *
 * A leaf module: no logging, no allocation. */
#ifndef FG_COLLECTOR_IPFIX_H
#define FG_COLLECTOR_IPFIX_H

#include <stddef.h>
#include <stdint.h>

#include "collector/templates.h"

#define IPFIX_VERSION 10
#define IPFIX_HEADER_LEN 16
#define IPFIX_TEMPLATE_SET 2
#define IPFIX_OPTIONS_SET 3
#define IPFIX_MIN_DATA_SET 256

typedef enum {
    IPFIX_OK = 0,
    IPFIX_TRAILING,         /* bytes after the message length: decoded anyway */
    IPFIX_ERR_VERSION,      /* version field is not 10 */
    IPFIX_ERR_SHORT_HEADER, /* fewer than 16 bytes */
    IPFIX_ERR_LENGTH,       /* length below 16 or beyond the datagram */
    IPFIX_ERR_SET,          /* a set or template cut or inconsistent: what
                             * came before it was decoded */
} ipfix_status_t;

typedef struct {
    uint16_t version;
    uint16_t length;
    uint32_t export_time;
    uint32_t sequence;
    uint32_t domain;
} ipfix_header_t;

/* Read and check the header of a datagram of len bytes. Returns IPFIX_OK,
 * IPFIX_TRAILING (len is longer than the message) or a header error. */
ipfix_status_t ipfix_header(const uint8_t *buf, size_t len, ipfix_header_t *h);

/* Decode every set of the message (h->length bytes of buf, its header read
 * by ipfix_header): templates into env->cache, data records to env->sink,
 * counts into env (env->ctx is filled here). Returns IPFIX_OK or
 * IPFIX_ERR_SET. Never reads past buf + h->length. */
ipfix_status_t ipfix_decode(const uint8_t *buf, const ipfix_header_t *h, tpl_env_t *env);

/* A static, lower-case name of a status. */
const char *ipfix_status_str(ipfix_status_t st);

#endif
