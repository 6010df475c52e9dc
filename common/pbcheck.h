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

#endif
