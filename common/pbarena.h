/* pbarena: memory for unpacking protobuf messages (protobuf-c's allocator)
 * taken from one block and given back all at once.
 *
 * A WindowBatch of 16 384 hosts unpacks into about 150 000 small pieces
 * (every host window, its rates, its contributors); malloc and free of each
 * was most of the detector's cost when every host of the network was over
 * its watch floor. Here a piece costs a pointer bump, and fg_pbarena_reset
 * frees them all: when the last message needed more than the block, the
 * block is replaced by one as large as all that message took (up to
 * PBARENA_KEEP_MAX: larger ones are given back), so the next message of the
 * same size takes no malloc at all. A message unpacked here is never freed
 * with protobuf-c's free_unpacked. Leaf module: no logging. */
#ifndef FG_PBARENA_H
#define FG_PBARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#define PBARENA_KEEP_MAX (64u << 20) /* the largest block kept between messages */

typedef struct fg_pbarena fg_pbarena_t;

/* An arena whose first block has size bytes (>= 4 KiB), or NULL when out
 * of memory. */
fg_pbarena_t *fg_pbarena_new(size_t size);

/* Free it and NULL the caller's pointer. Idempotent. */
void fg_pbarena_destroy(fg_pbarena_t **self_p);

/* The allocator to give protobuf-c's unpack (valid as long as the arena). */
ProtobufCAllocator *fg_pbarena_allocator(fg_pbarena_t *self);

/* Give back everything allocated since the last reset (the messages
 * unpacked here are gone). */
void fg_pbarena_reset(fg_pbarena_t *self);

/* Bytes handed out since the last reset, and the size of the block kept. */
size_t fg_pbarena_used(const fg_pbarena_t *self);
size_t fg_pbarena_block(const fg_pbarena_t *self);

#endif
