/* replay_nfcapd: the flow records of an nfcapd file (nfdump's format).
 *
 * Debian's nfdump (1.7) has no C library, so the file is converted by
 * running `nfdump -r FILE -q -N -6 -o fmt:...` as a child process (no
 * shell, TZ=UTC) and reading one record a line from its output (standard
 * error merged, so any message of nfdump refuses the file). nfcapd has
 * already multiplied packets and bytes by the exporter's sampling rate;
 * each record's exporter is nfdump's "router IP". Leaf module: no logging. */
#ifndef FG_CLI_REPLAY_NFCAPD_H
#define FG_CLI_REPLAY_NFCAPD_H

#include <stddef.h>

#include "collector/raw.h"
#include "common/addr.h"

typedef struct rp_nf rp_nf_t;

/* 1 when path starts with nfcapd's magic (0xA50C, layout 1 or 2), 0 when
 * it does not (or cannot be read: libpcap will say why), -1 (reason in err)
 * for the magic with a layout version nfdump 1.7 does not know. */
int rp_nf_probe(const char *path, char *err, size_t errlen);

/* Start nfdump on path. NULL (reason in err) when it cannot be started. */
rp_nf_t *rp_nf_open(const char *path, char *err, size_t errlen);

/* The next record into *rec and its exporter into *exporter: 1, 0 at the
 * end (nfdump exited 0), -1 (reason in err: nfdump missing, failed, or a
 * line that is not a record) -- the child is then stopped. */
int rp_nf_next(rp_nf_t *self, raw_flow_t *rec, fg_addr_t *exporter, char *err, size_t errlen);

/* Stop the child (by its PID) if it still runs, free, NULL the pointer.
 * Idempotent. */
void rp_nf_close(rp_nf_t **self_p);

#endif
