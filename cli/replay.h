/* replay: recorded flow exports through the daemons' own code, in-process.
 *
 * Captures (pcap / pcapng, read by libpcap) hold UDP datagrams of NetFlow
 * v5 / v9, IPFIX or sFlow; each datagram's payload goes to col_datagram
 * (the collector's decoders tell the protocol; the exporter is the IP
 * source), its FlowBatches straight to agg_ingest of their shard, every
 * tick each shard's agg_close_window to det_window, and the detector's
 * decisions are kept. Time is the capture's only: a packet's timestamp is
 * "now" for all three, windows close at the ticks the capture passes
 * through, so the same captures and config give the same result at any
 * speed. Several captures are merged by timestamp (ties: the earlier file
 * on the command line). No Redis, no BGP, no sockets. nfcapd files
 * (replay_nfcapd.h) hold records already decoded: each goes to col_records
 * at its end time, merged with the captures by that time.
 *
 * The engine also keeps, per hostgroup and direction, the peak and a
 * histogram of every published host window's rates per class and metric
 * (hosts below the watch floor are not published, so not counted). */
#ifndef FG_CLI_REPLAY_H
#define FG_CLI_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"

#define RP_TOP 5        /* contributors kept per ban */
#define RP_BUCKETS 1600 /* log histogram: 32 per doubling, from 2^-10 */
#define RP_METRICS 3    /* pps, mbps, flows */

typedef struct {
    int kind; /* FLOODGATE__CONTRIB_KIND__* */
    fg_addr_t key;
    double share;
} rp_contrib_t;

typedef struct {
    fg_addr_t addr;
    int dir;
    uint64_t decided_ms;
    uint64_t first_ms;
    char attack_type[64];
    char metric[32];
    char hostgroup[64];
    double value;
    double threshold;
    int n_top;
    rp_contrib_t top[RP_TOP];
} rp_ban_t;

/* Rates of one class and metric in one hostgroup and direction. */
typedef struct {
    uint64_t n;
    double peak;
    uint32_t hist[RP_BUCKETS];
} rp_series_t;

typedef struct {
    rp_series_t s[FG_CLASSES][RP_METRICS];
} rp_group_stats_t;

typedef struct {
    uint64_t packets;           /* read from the captures */
    uint64_t datagrams;         /* UDP payloads handed to the collector */
    uint64_t nfcapd_records;    /* records read from nfcapd files (nfdump) */
    uint64_t skipped;           /* not UDP over IPv4 / IPv6, fragments, cut by the snap length */
    uint64_t records;           /* decoded by the collector */
    uint64_t kept;              /* records touching a monitored network */
    uint64_t malformed;         /* datagrams the collector found bad (any reason) */
    uint64_t windows;           /* windows closed (all shards) */
    uint64_t ongoing;           /* ONGOING decisions */
    uint64_t first_ms, last_ms; /* capture time of the first and last packet */
    uint64_t truncated_files;   /* captures cut in their last packet: read up to it */
    char warning[512];          /* the last of them, why */
    rp_ban_t *bans;             /* in the order the detector made them */
    size_t n_bans, cap_bans;
    rp_group_stats_t *groups[FG_MAX_GROUPS][2]; /* NULL: no window seen */
} rp_result_t;

typedef struct {
    /* > 0: pace the replay at speed x capture time (it sleeps; the result
     * is the same); 0: as fast as it can */
    double speed;
    /* host windows of these hosts (address and direction) are left out of
     * the rates (borrowed; tune leaves out the hosts a config banned) */
    const rp_ban_t *exclude;
    size_t n_exclude;
} rp_opts_t;

/* Replay the n captures through cfg (borrowed) with opts (NULL: defaults).
 * Fills *out (free with rp_result_free). Returns 0, or -1 with the reason
 * in err (a capture that cannot be opened or read, out of memory) and
 * nothing left in *out to free. */
int rp_run(const fg_config_t *cfg, char *const *captures, int n, const rp_opts_t *opts,
           rp_result_t *out, char *err, size_t errlen);

void rp_result_free(rp_result_t *r);

/* Count v in a series. Cannot fail. */
void rp_series_add(rp_series_t *s, double v);

/* The q-quantile (0..1) of a series, the upper edge of its bucket: within
 * 2.2 % of the true value. 0 when the series is empty. */
double rp_quantile(const rp_series_t *s, double q);

#endif
