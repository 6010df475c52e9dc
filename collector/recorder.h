/* recorder: what a collector receives, written to rotating pcap files, so
 * the traffic of an incident can be replayed (`floodgate replay`).
 *
 * Each datagram is written as it arrived, behind a synthesized IPv4 / IPv6
 * and UDP header (link type RAW): source = the exporter's address and port,
 * destination = the unspecified address and the listening port, time = the
 * wall clock at receipt (microseconds). A file is
 * PREFIX-YYYYmmddTHHMMSSZ.pcap (UTC, at its opening); it is closed and the
 * next one opened when it would pass max_bytes or has been open max_seconds;
 * after each opening, the oldest PREFIX-*.pcap files beyond keep are
 * deleted, so the recording holds at most keep x max_bytes on disk.
 *
 * Writes go through a stdio buffer (one write per 64 KiB, not one per
 * datagram), flushed by rec_tick every second. A file that cannot be opened
 * or written is counted (errors), its datagrams counted as dropped, and
 * opening is tried again 10 s later. Leaf module: counts, never logs. */
#ifndef FG_COLLECTOR_RECORDER_H
#define FG_COLLECTOR_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

typedef struct {
    uint64_t datagrams; /* written */
    uint64_t bytes;     /* written to files, headers included */
    uint64_t dropped;   /* not written: no file open, or a write failed */
    uint64_t files;     /* files opened */
    uint64_t removed;   /* old files deleted (keep) */
    uint64_t errors;    /* open, write or close failures */
} rec_stats_t;

typedef struct rec rec_t;

/* A recorder writing PREFIX-*.pcap files (prefix borrowed: copied). NULL
 * when out of memory or prefix is too long. No file is opened yet. */
rec_t *rec_new(const char *prefix, uint64_t max_bytes, uint32_t max_seconds, uint32_t keep);

/* Close the open file (flushed) and free; NULL the caller's pointer.
 * Idempotent. */
void rec_destroy(rec_t **self_p);

/* Write one datagram of len bytes received at wall_us (unix microseconds)
 * from exporter:sport on the local port dport. Cannot fail (counted). */
void rec_datagram(rec_t *self, const uint8_t *buf, size_t len, const fg_addr_t *exporter,
                  uint16_t sport, uint16_t dport, uint64_t wall_us);

/* Flush the buffer to the file at most once per second of wall_us, and
 * rotate when the file has been open max_seconds. Call from the loop. */
void rec_tick(rec_t *self, uint64_t wall_us);

const rec_stats_t *rec_stats(const rec_t *self);

#endif
