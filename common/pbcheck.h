/* pbcheck: is a protobuf message well-formed on the wire?
 *
 * protobuf-c takes some bytes that are not protobuf: a tag whose first
 * byte is not zero but whose field number is (80 00), kept as an unknown
 * field that packs back as bytes nothing unpacks. The codecs check with
 * this first (common/decision.c, common/window.c). Leaf module. */
#ifndef FG_PBCHECK_H
#define FG_PBCHECK_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* 0 when every field of the message of type desc in buf (and of the
 * messages it holds, walked through desc) has a field number from 1 to
 * 2^29 - 1, a wire type of 0, 1, 2 or 5, and its bytes within len; -1
 * otherwise. Cannot fail otherwise. */
int pb_wellformed(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len);

/* One varint at p, at most n bytes (and 10): the bytes it takes, 0 when
 * it is cut or too long. */
size_t pb_varint(const uint8_t *p, size_t n, uint64_t *v);

/* Called by pb_walk for each field: its number fn, wire type wt (0, 1, 2
 * or 5), v the varint (wt 0) or the length of the bytes at val (wt 2;
 * val NULL otherwise, v 0 for wt 1 and 5). Non-zero ends the walk. */
typedef int (*pb_field_cb)(uint32_t fn, unsigned wt, uint64_t v, const uint8_t *val, void *ctx);

/* Walks the fields of buf (not into the messages they hold), calling each
 * (may be NULL) once a field is read whole: -1 as soon as the bytes are
 * not well-formed (as pb_wellformed), the first non-zero value each
 * returns, else 0. */
int pb_walk(const uint8_t *buf, size_t len, pb_field_cb each, void *ctx);

#endif
