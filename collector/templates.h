/* templates: the template cache shared by NetFlow v9 and IPFIX, and the
 * decoding of data records through a compiled template.
 *
 * A template (RFC 3954 5.2, RFC 7011 3.4.1) lists the fields of the data
 * records that follow it. It is kept per (exporter address, protocol,
 * source id / observation domain, template id), replaced when the exporter
 * redefines it, withdrawn by IPFIX withdrawal records, and expired when it
 * was not refreshed for the configured timeout. When it arrives it is
 * compiled: every field the collector uses becomes an operation (slot,
 * offset, length), so a data record costs a handful of loads, not a walk
 * of the field list. Templates with variable-length fields (RFC 7011 7)
 * keep their field lengths and resolve the offsets record by record.
 *
 * Caps against floods of templates: TPL_MAX_FIELDS fields per template, a
 * per-stream cap passed in by the caller, and the table's fixed capacity.
 *
 * A leaf module: no logging, one allocation at tpl_cache_new(); callers
 * count the statuses it returns. */
#ifndef FG_COLLECTOR_TEMPLATES_H
#define FG_COLLECTOR_TEMPLATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/exporters.h"
#include "collector/raw.h"
#include "common/addr.h"

/* Fields per template: real templates have a few dozen; more is a flood. */
/* First data set id, v9 (RFC 3954 5.3) and IPFIX (RFC 7011 3.3.2) alike. */
#define TPL_MIN_DATA_SET 256
#define TPL_MAX_FIELDS 128
/* RFC 7011 7: a length of 65535 marks a variable-length field. */
#define TPL_VARLEN 65535
/* IPFIX field specifier: the top bit of the id marks an enterprise field,
 * followed by a 4-byte enterprise number (RFC 7011 3.2). */
#define TPL_ENTERPRISE_BIT 0x8000

/* Data sets held while their template is missing (when the caller asks for
 * it): at most TPL_HOLD_SLOTS sets of at most TPL_HOLD_SET_MAX bytes. */
#define TPL_HOLD_SLOTS 32
#define TPL_HOLD_SET_MAX 1500

/* What the collector extracts; one slot per meaning. */
typedef enum {
    TS_SRC4, TS_DST4, TS_SRC6, TS_DST6, TS_SPORT, TS_DPORT, TS_PROTO, TS_FLAGS,
    TS_PKTS, TS_BYTES,
    TS_FIRST_UP, TS_LAST_UP,         /* ms of sysUptime (v9 21/22, IPFIX 22/21) */
    TS_START_S, TS_END_S,            /* 150/151 seconds */
    TS_START_MS, TS_END_MS,          /* 152/153 milliseconds */
    TS_START_US, TS_END_US,          /* 154/155 NTP-format microseconds */
    TS_START_NS, TS_END_NS,          /* 156/157 NTP-format nanoseconds */
    TS_START_DUS, TS_END_DUS,        /* 158/159 microseconds before export */
    TS_FRAG_FLAGS, TS_FRAG_OFF,      /* 197, 88 */
    TS_ICMP,                         /* 32 / 139 type * 256 + code */
    TS_SAMPLING,                     /* 34 samplingInterval, 50 random interval */
    TS_SAMPLER_ID,                   /* 48 flowSamplerId, 302 selectorId */
    TS_PKT_INTERVAL, TS_PKT_SPACE,   /* 305 / 306 */
    TS_SYS_INIT_MS,                  /* 160 systemInitTimeMilliseconds */
    TS_N
} tpl_slot_t;

typedef struct {
    uint16_t off;  /* fixed templates: byte offset; else the field index */
    uint16_t len;
    uint8_t slot;
    uint8_t prio;  /* when several fields fill one slot, the highest wins */
} tpl_op_t;

/* Where a fixed-length template's record holds a slot: len 0 = absent. */
typedef struct {
    uint16_t off;
    uint8_t len;
} tpl_at_t;

typedef struct {
    /* key */
    fg_addr_t exporter;
    uint32_t domain;
    uint16_t id;
    uint8_t proto;
    uint8_t used;
    /* compiled */
    uint8_t options;     /* an options template: records update the exporter */
    uint8_t varlen;      /* has variable-length fields */
    uint8_t n_ops;
    uint8_t t_start, t_end;  /* time slots used (TS_N: none) */
    uint8_t per_record_rate; /* the records carry a rate or a sampler id */
    uint16_t n_fields;
    uint16_t rec_len;    /* fixed templates: record length */
    uint16_t min_len;    /* variable templates: the shortest possible record */
    uint64_t seen_ms;    /* last definition or refresh, monotonic */
    uint32_t stream;     /* the owning stream's slot and generation: */
    uint32_t stream_gen; /* when it changed, the template is an orphan */
    tpl_op_t ops[TS_N];
    /* fixed flow templates: each slot's place, read straight (no walk of
     * ops); src / dst: the address slot that wins when both families are
     * there (the later op), TS_N when neither */
    tpl_at_t at[TS_N];
    uint8_t src, dst;
    uint16_t lens[TPL_MAX_FIELDS]; /* variable templates only */
} tpl_t;

/* A field as read from a template record. */
typedef struct {
    uint16_t id;  /* without the enterprise bit */
    uint16_t len; /* TPL_VARLEN = variable */
    uint32_t pen; /* enterprise number, 0 = IETF / Cisco */
} tpl_field_t;

typedef enum {
    TPL_ADDED = 0,
    TPL_REPLACED,   /* same key, new definition (or a refresh) */
    TPL_ERR_FIELDS, /* 0 fields, more than TPL_MAX_FIELDS, or records of 0 bytes */
    TPL_ERR_CAP,    /* the stream holds max_per_stream templates already */
    TPL_ERR_FULL,   /* the table is full */
} tpl_status_t;

/* Per-datagram context the record decoder needs: times of the header, the
 * sampling to apply, and the exporter state options records update. */
typedef struct {
    uint64_t export_ms;     /* unix ms of the export (header) */
    uint32_t sys_uptime_ms; /* v9 header's sysUptime */
    bool v9;                /* uptime stamps: v9 from sysUptime, IPFIX from
                             * exp->sys_init_ms when the exporter sent it */
    uint32_t default_sampling; /* config default; >= 1 */
    uint32_t override;      /* configured per-exporter rate; 0 = none */
    exp_entry_t *exp;       /* sampling state, counters; may be NULL */
} tpl_ctx_t;

typedef struct tpl_cache tpl_cache_t;

/* A cache holding at most max templates (all streams together), or NULL
 * when out of memory. */
tpl_cache_t *tpl_cache_new(size_t max);

/* Free and NULL the caller's pointer. Idempotent. */
void tpl_cache_destroy(tpl_cache_t **self_p);

/* Compile fields[0 .. n-1] into *t (key fields untouched). options marks an
 * options template. Returns TPL_ADDED, or TPL_ERR_FIELDS when the template
 * can never describe a record. Cannot fail otherwise. */
tpl_status_t tpl_compile(tpl_t *t, const tpl_field_t *fields, int n, bool options);

/* Templates held. */
size_t tpl_count(const tpl_cache_t *self);

/* Decode the data records of one set (after its 4-byte header: buf, len)
 * through t, appending flow records to sink (options templates update
 * ctx->exp instead). Trailing bytes shorter than a record are padding.
 * Returns the records decoded (flow or options); *cut is set when a
 * variable-length record runs past the set (the records before it are
 * kept). Never reads past buf + len. */
int tpl_decode_set(const tpl_t *t, const uint8_t *buf, size_t len, const tpl_ctx_t *ctx,
                   raw_sink_t *sink, bool *cut);

/* ---- what NetFlow v9 and IPFIX share above the cache ---- */

/* Counters of template and set handling, all exporters together. */
typedef struct tpl_stats {
    uint64_t templates_added;
    uint64_t templates_replaced;
    uint64_t templates_bad;       /* 0 or too many fields, 0-byte records */
    uint64_t templates_capped;    /* over the per-stream, per-address or table cap */
    uint64_t templates_expired;
    uint64_t templates_evicted;   /* dropped to make room in a full table
                                   * (those of a stream that left go with
                                   * it, counted with the stream) */
    uint64_t templates_withdrawn;
    uint64_t sets_no_template;    /* data sets dropped: template unknown
                                   * (and not held, or held in vain) */
    uint64_t sets_malformed;      /* set or template record cut short */
    uint64_t sets_reserved;       /* set ids 2..255 (v9) / 4..255 (IPFIX) */
    uint64_t options_records;
    uint64_t sets_held;           /* held for their template (hold_ms) */
    uint64_t sets_replayed;       /* of those, decoded when it came */
} tpl_stats_t;

/* One datagram's environment, set up by the collector. */
typedef struct {
    tpl_cache_t *cache;
    exp_table_t *streams;      /* owners of the templates; NULL: every
                                * template is exp's (no per-address caps) */
    fg_addr_t exporter;
    exp_entry_t *exp;          /* the stream's state; never NULL */
    uint64_t now_ms;           /* monotonic */
    uint64_t timeout_ms;       /* template lifetime; 0 = forever */
    uint32_t max_per_stream;   /* templates per (exporter, domain) */
    uint64_t hold_ms;          /* hold data sets this long for their
                                * template; 0 = drop them at once */
    tpl_stats_t *st;
    raw_sink_t *sink;
    tpl_ctx_t ctx;             /* times and sampling for the records */
    /* out, per datagram */
    uint32_t data_records;     /* flow and options data records decoded */
    uint32_t flows;            /* flow records handed to the sink */
    bool unknown_sets;         /* some data set had no template */
} tpl_env_t;

/* Store the compiled template t (its key fields set) for env->exp,
 * replacing the one of the same key. A new one needs room: below
 * env->max_per_stream for the stream (else TPL_ERR_CAP), below the
 * per-address cap of env->streams, which may displace an unestablished
 * stream of the same address (else TPL_ERR_CAP), and a free slot, which a
 * full cache makes by dropping an orphan, a timed-out template or the
 * oldest of an unestablished stream (else TPL_ERR_FULL). A stream the
 * table refused (idx EXP_NONE) gets TPL_ERR_FULL. */
tpl_status_t tpl_put(tpl_env_t *env, const tpl_t *t);

/* The template (env->exporter, proto, domain, id), or NULL. A template
 * older than env->timeout_ms (0 = never) is removed and counted expired; an
 * orphan (its stream left or withdrew it) is removed. */
const tpl_t *tpl_get(tpl_env_t *env, uint8_t proto, uint32_t domain, uint16_t id);

/* Remove one template (id) or, with all, every template of the stream
 * (IPFIX withdrawal). Returns how many were removed (uncounted from their
 * stream). With env->streams, "all" costs O(1): the stream's templates
 * become orphans (exp_templates_orphan), dropped when met; without, it
 * walks the cache. */
int tpl_withdraw(tpl_env_t *env, uint8_t proto, uint32_t domain, uint16_t id, bool all);

/* Remove the templates older than timeout_ms (counted expired) and those
 * whose stream left or withdrew them (orphans: not counted again), looking at no more than budget slots from
 * where the last call stopped. Returns how many. */
size_t tpl_expire(tpl_cache_t *self, exp_table_t *streams, uint64_t now_ms, uint64_t timeout_ms,
                  size_t budget, tpl_stats_t *st);

/* Define (or redefine) template id of stream (proto, domain) from fields,
 * counting the outcome in env->st, then decode the data sets held for it
 * into env->sink. Returns the status. */
tpl_status_t tpl_define(tpl_env_t *env, uint8_t proto, uint32_t domain, uint16_t id,
                        const tpl_field_t *fields, int n, bool options);

/* Decodes one set (body after its 4-byte header) of the message whose
 * protocol header is hdr; 0, or -1 when the set is malformed. */
typedef int (*tpl_set_fn)(tpl_env_t *env, const void *hdr, uint16_t id, const uint8_t *body,
                          size_t len);

/* Walk the sets of a v9 / IPFIX message body: v9 flowsets (RFC 3954 5.1)
 * and IPFIX sets (RFC 7011 3.3) share the header (id, length including the
 * header) and the data set ids from 256. Calls fn for each set. A set whose
 * length is short or runs past the body, or that fn refuses, ends the walk:
 * counted malformed (data sets count their own in tpl_data_set) and -1.
 * Fewer than 4 bytes left over are padding. Returns 0 or -1. */
int tpl_walk_sets(tpl_env_t *env, const uint8_t *body, size_t len, tpl_set_fn fn,
                  const void *hdr);

/* Decode one data set (body after the set header) of stream (proto,
 * domain) through its template, counting in env. Returns 0, or -1 when the
 * set is malformed (counted). A set without a template is held for
 * env->hold_ms when a hold slot is free and it fits (decoded by the
 * tpl_define() of its template), else counted and dropped (returns 0). */
int tpl_data_set(tpl_env_t *env, uint8_t proto, uint32_t domain, uint16_t id,
                 const uint8_t *body, size_t len);

/* Drop (and count as sets_no_template, for the cache and their exporter)
 * the held sets older than hold_ms. Cannot fail. */
void tpl_hold_expire(tpl_cache_t *self, uint64_t now_ms, uint64_t hold_ms, tpl_stats_t *st);

/* The unix ms of an NTP timestamp (RFC 5905: seconds since 1900 in the high
 * 32 bits, fraction in the low), 0 for times before 1970. */
uint64_t tpl_ntp_to_unix_ms(uint64_t ntp);

#endif
