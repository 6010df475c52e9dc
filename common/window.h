/* window: the WindowBatch codec (see proto/floodgate.proto), in one place:
 * the aggregator packs, the detector and `floodgate top` unpack.
 *
 * Every message is validated, packed or unpacked, against the limits below,
 * so a consumer gets a checked message or none: counts capped, enums in
 * range, every rate and share a finite number >= 0, the shard within the
 * shard count. Leaf module: never logs, *why says what was wrong. */
#ifndef FG_WINDOW_H
#define FG_WINDOW_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cfgbase.h"
#include "common/classes.h"
#include "common/fgbuf.h"
#include "common/pbarena.h"
#include "floodgate.pb-c.h"

#define WB_MAX_HOSTS 1000000              /* hosts published in one window */
#define WB_MAX_GROUPS (2 * FG_MAX_GROUPS) /* hostgroup totals: both directions */
#define WB_MAX_TOP 64                     /* contributors of one host */
#define WB_MAX_WINDOW_MS 3600000          /* a window of at most an hour */
#define WB_MAX_BYTES (256u << 20)         /* a packed message */

/* The limits on single values, for wb_validate and the writer of the
 * aggregator (common/wbwrite.c): a rate or share is a finite number >= 0
 * (-0.0 too), a direction is a Direction, a contributor's kind a
 * ContribKind, a hostgroup an index below FG_MAX_GROUPS. */
static inline bool wb_num_ok(double v)
{
    return isfinite(v) && v >= 0;
}

static inline bool wb_rates_ok(double pps, double bps, double fps)
{
    return wb_num_ok(pps) && wb_num_ok(bps) && wb_num_ok(fps);
}

static inline bool wb_dir_ok(int dir)
{
    return dir == FLOODGATE__DIRECTION__DIR_IN || dir == FLOODGATE__DIRECTION__DIR_OUT;
}

/* NULL, or wb_validate's reason against a host: its direction, hostgroup,
 * rates (bit c of bad_rates: class c's are not numbers; bit FG_CLASSES:
 * the largest record's) and count of contributors, in that order. */
static inline const char *wb_host_why(int dir, uint32_t hostgroup, unsigned bad_rates, size_t n_top)
{
    if (!wb_dir_ok(dir))
        return "host direction";
    if (hostgroup >= FG_MAX_GROUPS)
        return "host hostgroup";
    if (bad_rates & ((1u << FG_CLASSES) - 1))
        return "host rate";
    if (bad_rates)
        return "host largest rate";
    return n_top > WB_MAX_TOP ? "too many contributors" : NULL;
}

static inline const char *wb_contrib_why(int kind, double share)
{
    if (kind < FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR ||
        kind > FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER)
        return "contributor kind";
    return wb_num_ok(share) ? NULL : "contributor share";
}

static inline const char *wb_group_why(int dir, uint32_t hostgroup)
{
    return wb_dir_ok(dir) && hostgroup < FG_MAX_GROUPS ? NULL : "group direction or hostgroup";
}

/* 0 when wb is within the limits, else -1 with the reason in *why (a
 * static string). Cannot fail otherwise. */
int wb_validate(const Floodgate__WindowBatch *wb, const char **why);

/* Validate wb and pack it into out (emptied first; reused from window to
 * window). 0, or -1 with *why: invalid, too large or out of memory. */
int wb_pack(const Floodgate__WindowBatch *wb, fg_buf_t *out, const char **why);

/* Unpack and validate len bytes. The message (free with wb_free), or NULL
 * with *why when the bytes are not a WindowBatch or break a limit. */
Floodgate__WindowBatch *wb_unpack(const uint8_t *buf, size_t len, const char **why);

/* wb_unpack into arena: the message lives until fg_pbarena_reset (never
 * wb_free it); the pieces of one refused stay there until then too. */
Floodgate__WindowBatch *wb_unpack_in(fg_pbarena_t *arena, const uint8_t *buf, size_t len,
                                     const char **why);

/* Free an unpacked message and NULL the pointer. Idempotent. */
void wb_free(Floodgate__WindowBatch **wb);

#endif
