/* flowbatch: FlowBatch messages, columnar (see proto/floodgate.proto).
 *
 * A builder collects records for one shard into column arrays allocated
 * once; packing a full batch costs about a memcpy per column. The reader
 * side checks that every column has one entry per record. */
#ifndef FG_FLOWBATCH_H
#define FG_FLOWBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/flow.h"
#include "floodgate.pb-c.h"

#define FB_MAX_EXPORTERS 256

typedef struct fb_builder fb_builder_t;

/* A builder holding up to cap records, or NULL when out of memory. */
fb_builder_t *fb_builder_new(size_t cap);

/* Free and NULL the caller's pointer. Idempotent. */
void fb_builder_destroy(fb_builder_t **self_p);

/* Add a record; its exporter field is ignored and replaced by the index of
 * exporter (16 bytes) in the batch's table. Returns 0, or -1 when the batch
 * is full (flush first) or the exporter table is full. */
int fb_add(fb_builder_t *self, const fg_flow_t *rec, const uint8_t exporter[16]);

/* Records in the batch. */
size_t fb_count(const fb_builder_t *self);

/* Pack the batch with its header into a new buffer (the caller's to free
 * with free()), and empty the builder. Returns the buffer and its length in
 * *len, or NULL when out of memory. */
uint8_t *fb_pack(fb_builder_t *self, uint32_t collector_id, uint32_t shard, uint32_t shards,
                 uint64_t seq, uint64_t sent_ms, size_t *len);

/* Unpack and validate a FlowBatch. Returns the message (free it with
 * floodgate__flow_batch__free_unpacked(msg, NULL)) or NULL when the bytes
 * are not a FlowBatch or its columns disagree in length. *n gets the record
 * count. */
Floodgate__FlowBatch *fb_unpack(const uint8_t *buf, size_t len, size_t *n);

/* A record's meta column: proto | tcp flags << 8 | dir << 16 | frag << 17
 * (fb_add writes it, fb_record and the aggregator's prefetch read it). */
static inline uint8_t fb_meta_proto(uint32_t meta)
{
    return (uint8_t)meta;
}

static inline uint8_t fb_meta_flags(uint32_t meta)
{
    return (uint8_t)(meta >> 8);
}

static inline uint8_t fb_meta_dir(uint32_t meta)
{
    return (uint8_t)((meta >> 16) & 1);
}

static inline uint8_t fb_meta_frag(uint32_t meta)
{
    return (uint8_t)((meta >> 17) & 1);
}

/* Record i of an unpacked, validated batch. Cannot fail. */
void fb_record(const Floodgate__FlowBatch *msg, size_t i, fg_flow_t *out);

#endif
