/* decision: the Decision codec (see proto/floodgate.proto), in one place:
 * the detector packs, the actuator unpacks.
 *
 * dec_validate holds the limits a Decision must keep (finite numbers >= 0,
 * strings that fit the ban they become, a capped contributor list, known
 * enums; a normal profile of at most DEC_MAX_PROFILE_TOP items and
 * DEC_MAX_CLASS_SHARES class shares, every share in 0..1, no exporter
 * item); dec_pack refuses a Decision that breaks them, and the actuator
 * checks each one it unpacks (through trust_check_decision, which decides
 * how a refusal is counted). dec_unpack also finds a varint too large for
 * its 32-bit field, which protobuf-c would silently cut. Leaf module: never
 * logs. */
#ifndef FG_DECISION_H
#define FG_DECISION_H

#include <stddef.h>
#include <stdint.h>

#include "floodgate.pb-c.h"

#define DEC_MAX_TOP 64           /* contributors */
#define DEC_ATTACK_TYPE_MAX 64   /* string sizes with the NUL: as a ban keeps them */
#define DEC_METRIC_MAX 32
#define DEC_HOSTGROUP_MAX 64
#define DEC_MAX_BYTES 65536      /* a packed Decision */
#define DEC_MAX_PROFILE_TOP 16   /* items of the normal profile */
#define DEC_MAX_CLASS_SHARES 7   /* FG_CLASSES */

/* 0 when d is within the limits, else -1 with the reason in *why (a static
 * string). The action is not checked here (the actuator counts a bad one
 * as malformed). Cannot fail otherwise. */
int dec_validate(const Floodgate__Decision *d, const char **why);

/* Validate d and pack it into buf of cap bytes. The length, or 0 with *why
 * when d is invalid or does not fit. */
size_t dec_pack(const Floodgate__Decision *d, uint8_t *buf, size_t cap, const char **why);

/* Unpack len bytes. NULL when they are not a Decision (or over
 * DEC_MAX_BYTES, or not well-formed protobuf: pbcheck.h). Otherwise the message (free with dec_free), not yet
 * validated, and *overflow_field: 0, or the number of a 32-bit field whose
 * varint was larger (protobuf-c kept its low 32 bits). */
Floodgate__Decision *dec_unpack(const uint8_t *buf, size_t len, int *overflow_field);

/* The first 32-bit field of a packed Decision whose varint is larger than
 * it: its number, 0 when none, -1 when the bytes are not protobuf. */
int dec_wire_overflow(const uint8_t *buf, size_t len);

/* Free an unpacked message and NULL the pointer. Idempotent. */
void dec_free(Floodgate__Decision **d);

#endif
