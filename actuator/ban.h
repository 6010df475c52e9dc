/* ban: one ban as the actuator knows it, and its text forms.
 *
 * The Redis schema (DESIGN.md) in one place: ban_fields() gives the fields
 * of the <prefix>:ban:<ip> hash in order, ban_json() the history line, and
 * ban_set_field() reads a hash back (written by us, by `floodgate ban` or by
 * hand, so every value is checked). */
#ifndef FG_ACT_BAN_H
#define FG_ACT_BAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "floodgate.pb-c.h"

#define BAN_NFIELDS 14 /* 12, plus mitigation and flowspec when the ban has rules */
#define BAN_TIME_STRLEN 24 /* "2026-11-27T10:41:42Z" + NUL */
#define BAN_MAX_TOP 32     /* contributors kept in details */
#define BAN_DETAILS_MAX 65536 /* longest details text accepted from Redis */

typedef struct {
    char ip[FG_ADDR_STRLEN];
    char attack_type[64];
    char direction[16]; /* incoming | outgoing */
    char metric[32];
    double value;
    double threshold;
    char hostgroup[64];
    char source[16];    /* detector | manual | manual_force (floodgate ban --force) */
    int64_t banned_at;  /* unix seconds */
    int64_t expires_at; /* unix seconds, 0 = no expiry known */
    uint64_t expires_ms; /* the key's expiry in unix ms, 0 = none (memory only) */
    uint32_t ban_time;  /* seconds (memory only) */
    uint32_t ban_count;
    double pps;         /* attack packets/s, for the notify script (memory only) */
    uint32_t recent_bans;  /* bans and renewals of ip within repeat_window before this one
                            * (events and history only, not in the hash) */
    bool repeat_offender;  /* recent_bans > 0: a targeted host */
    bool pending;          /* announced, its key not (re)written yet: Redis refused,
                            * was down or lost its data (memory only) */
    bool restore;          /* pending because Redis lost it: to be written back */
    char *details;      /* JSON text, owned; NULL = "{}" */
    /* FlowSpec: the rules (fs_set_json text, owned; NULL = none) and how the
     * ban blocks: "flowspec" (the rules) or "blackhole" ("" = blackhole) */
    char *flowspec;
    char mitigation[16];
} ban_t;

/* Does the ban block with FlowSpec rules (not the blackhole route)? */
bool ban_is_flowspec(const ban_t *b);

/* The hash fields of a ban: names and values, valid while both the ban and
 * this struct live. The numbers and times are formatted into the named
 * buffers; name[] and value[] list them in schema order for HSET/XADD. */
typedef struct {
    int n; /* fields in use */
    const char *name[BAN_NFIELDS];
    const char *value[BAN_NFIELDS];
    char value_text[32];
    char threshold_text[32];
    char ban_count_text[16];
    char banned_at[BAN_TIME_STRLEN];
    char expires_at[BAN_TIME_STRLEN];
    char recent[16];    /* recent_bans, for the events stream */
    const char *repeat; /* "1" or "0" */
} ban_fields_t;

/* What the actuator reads back from a history line: the top-level event,
 * its time and the ban_count (what "details" embeds is not looked into). */
typedef struct {
    char event[16];     /* "" when absent or too long */
    int64_t at;         /* unix seconds, 0 when absent or bad */
    uint32_t ban_count; /* 0 when absent or bad */
} ban_hist_t;

#define BAN_LINE_MAX (1u << 20) /* longest history line parsed */

/* Fill b from a decision: ip, attack type, direction, metric, value,
 * threshold, hostgroup, ban_time, pps, details (JSON of the top contributors
 * and the total rates); source "detector". Times and ban_count are left 0.
 * Returns 0, or -1 on an unknown direction or out of memory (b is then
 * cleared). b must be zeroed or cleared before. */
int ban_from_decision(ban_t *b, const Floodgate__Decision *d);

/* Set banned_at = now and the expiry ban_time seconds later. Cannot fail. */
void ban_set_times(ban_t *b, uint64_t now_ms);

/* Free the details and zero b. Idempotent. */
void ban_clear(ban_t *b);

/* Deep copy src into dst (dst's old content is not freed). 0 or -1 (OOM). */
int ban_copy(ban_t *dst, const ban_t *src);

/* The hash fields of b, in schema order. Cannot fail. */
void ban_fields(const ban_t *b, ban_fields_t *f);

/* Set one field from a hash read back from Redis; unknown names are ignored,
 * bad values leave the field as it was. Bad: a direction other than
 * incoming/outgoing, a number not finite or negative, a count not an
 * integer, a name longer than its field, a source other than detector,
 * manual or manual_force, details over BAN_DETAILS_MAX. Returns 0, or -1
 * on a bad value. */
int ban_set_field(ban_t *b, const char *name, const char *value);

/* The ban as one JSON line (no newline): event, at, reason (when not NULL)
 * and every hash field; details is embedded as an object when it is valid
 * JSON, as a string otherwise. The caller's to free; NULL on OOM. Numbers
 * are JSON numbers, times ISO 8601 strings (fgjson's conventions). */
char *ban_json(const ban_t *b, const char *event, const char *reason, uint64_t now_ms);

/* ISO 8601 UTC "YYYY-MM-DDTHH:MM:SSZ" of unix seconds into buf. Returns buf. */
char *ban_format_time(int64_t t, char buf[BAN_TIME_STRLEN]);

/* Parse the form ban_format_time writes. 0 or -1. */
int ban_parse_time(const char *s, int64_t *out);

/* details.total.pps of a ban's details text (untrusted, at most
 * BAN_DETAILS_MAX bytes), or -1 when it is not there or not a number >= 0.
 * Cannot fail otherwise. */
double ban_details_pps(const char *details);

/* Parse a history line written by ban_json (read back from Redis, so
 * untrusted: at most BAN_LINE_MAX bytes). Returns 0, or -1 when line is not a
 * JSON object (out is then zeroed). */
int ban_hist_parse(const char *line, ban_hist_t *out);

/* A ban of ip from its history line (ban_json's form, from Redis: every
 * field checked as ban_set_field does; unknown members ignored). b is
 * zeroed first; its details are the caller's (ban_clear). 0, or -1 when
 * line is not a JSON object. */
int ban_from_json(ban_t *b, const char *ip, const char *line);

#endif
