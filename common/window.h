/* window: the WindowBatch codec (see proto/floodgate.proto), in one place:
 * the aggregator packs, the detector and `floodgate top` unpack.
 *
 * Every message is validated, packed or unpacked, against the limits below,
 * so a consumer gets a checked message or none: counts capped, enums in
 * range, every rate and share a finite number >= 0, the shard within the
 * shard count. Leaf module: never logs, *why says what was wrong. */
#ifndef FG_WINDOW_H
#define FG_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "common/cfgbase.h"
#include "common/fgbuf.h"
#include "floodgate.pb-c.h"

#define WB_MAX_HOSTS 1000000             /* hosts published in one window */
#define WB_MAX_GROUPS (2 * FG_MAX_GROUPS) /* hostgroup totals: both directions */
#define WB_MAX_TOP 64                    /* contributors of one host */
#define WB_MAX_WINDOW_MS 3600000         /* a window of at most an hour */
#define WB_MAX_BYTES (256u << 20)        /* a packed message */

/* 0 when wb is within the limits, else -1 with the reason in *why (a
 * static string). Cannot fail otherwise. */
int wb_validate(const Floodgate__WindowBatch *wb, const char **why);

/* Validate wb and pack it into out (emptied first; reused from window to
 * window). 0, or -1 with *why: invalid, too large or out of memory. */
int wb_pack(const Floodgate__WindowBatch *wb, fg_buf_t *out, const char **why);

/* Unpack and validate len bytes. The message (free with wb_free), or NULL
 * with *why when the bytes are not a WindowBatch or break a limit. */
Floodgate__WindowBatch *wb_unpack(const uint8_t *buf, size_t len, const char **why);

/* Free an unpacked message and NULL the pointer. Idempotent. */
void wb_free(Floodgate__WindowBatch **wb);

#endif
