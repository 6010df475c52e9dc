/* wbwrite: a WindowBatch written straight to protobuf wire bytes from plain
 * values, as the aggregator publishes one every tick, without building the
 * protobuf-c structs first and without protobuf-c's two generic walks over
 * them (size, then pack).
 *
 * The bytes are the ones floodgate__window_batch__pack gives for the same
 * message (fields in field-number order, proto3: a zero scalar or double,
 * -0.0 included, is left out; an absent Rates is left out, a present one
 * is written even when empty), and the message keeps the limits of
 * wb_validate (common/window.h), checked as the values come: one bad value
 * and the whole message is refused, ww_finish saying why (the same static
 * strings as wb_pack).
 *
 *   ww_t w;
 *   ww_begin(&w, &buf, &header);
 *   for each host: ww_host(&w, &host);
 *   for each hostgroup total: ww_group(&w, &group);   (after the hosts)
 *   if (ww_finish(&w, &why) == 0) send buf.data, buf.len
 *
 * Leaf module: never logs. */
#ifndef FG_WBWRITE_H
#define FG_WBWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "common/classes.h"
#include "common/fgbuf.h"

/* A Rates message: packets/s, bits/s, flows/s. */
typedef struct {
    double pps, bps, fps;
} ww_rates_t;

/* A Contributor; kind is a Floodgate__ContribKind. */
typedef struct {
    int kind;
    uint64_t key_hi, key_lo;
    double share;
    uint64_t packets;
    uint32_t sampling;
} ww_contrib_t;

/* A HostWindow. rates[FG_CLS_*] and largest are borrowed, NULL = absent;
 * dir is a Floodgate__Direction. */
typedef struct {
    uint64_t addr_hi, addr_lo;
    int dir;
    uint32_t hostgroup;
    const ww_rates_t *rates[FG_CLASSES];
    const ww_rates_t *largest;
    const ww_contrib_t *top;
    size_t n_top;
} ww_host_t;

/* A GroupTotal; total NULL = absent. */
typedef struct {
    uint32_t hostgroup;
    int dir;
    const ww_rates_t *total;
    uint32_t hosts;
} ww_group_t;

/* The WindowBatch's scalar fields. */
typedef struct {
    uint32_t shard, shards;
    uint64_t seq, window_end_ms;
    uint32_t window_ms;
    uint64_t hosts_tracked, batches_lost;
} ww_header_t;

/* A message being written (on the caller's stack; owns nothing). */
typedef struct {
    fg_buf_t *out;
    const char *why; /* the first refusal, NULL while the message is good */
    size_t n_hosts, n_groups;
    uint64_t hosts_tracked, batches_lost; /* fields 8 and 9, after the lists */
} ww_t;

/* Start a message in out (emptied first, reused from window to window;
 * unbounded, or bounded 4 KiB above WB_MAX_BYTES at least: a host is given
 * room for its longest encoding before it is written) with the header's
 * fields.
 * 0, or -1 when the header breaks a limit (shard, window_ms). */
int ww_begin(ww_t *w, fg_buf_t *out, const ww_header_t *h);

/* Append a host. 0, or -1 when it breaks a limit, the message grows over
 * WB_MAX_BYTES, memory runs out, a group came before it, or the message
 * was refused already: then the whole message is refused. */
int ww_host(ww_t *w, const ww_host_t *h);

/* Append a hostgroup total (all hosts come first). 0, or -1 as ww_host. */
int ww_group(ww_t *w, const ww_group_t *g);

/* End the message: out holds its bytes (NUL after them) and 0 is
 * returned, or -1 with the first refusal's reason in *why (a static
 * string); out's content is then undefined. */
int ww_finish(ww_t *w, const char **why);

#endif
