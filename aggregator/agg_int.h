/* agg_int: what the aggregator's files share (not for other modules).
 *
 *   agg.c         the context, FlowBatch in, a record's time and class,
 *                 top-contributor state;
 *   agg_hold.c    long records: their rate held over their duration,
 *                 bounded by the exporter's active timeout, clipped;
 *   agg_window.c  a window out: rates over the time the records cover,
 *                 hostgroup totals, the WindowBatch;
 *   agg_expire.c  idle hosts forgotten, and room made for new hosts when
 *                 the table is full. */
#ifndef FG_AGG_INT_H
#define FG_AGG_INT_H

#include <stdbool.h>

#include "aggregator/agg.h"
#include "aggregator/hosttable.h"
#include "aggregator/hring.h"
#include "aggregator/lflow.h"
#include "aggregator/spread.h"
#include "aggregator/topk.h"
#include "common/fgbuf.h"
#include "common/flowbatch.h"

#define AGG_MAX_COLLECTORS 1024
#define AGG_MAX_WATCHED 16384
#define AGG_MAX_EXPORTERS 1024 /* exporters whose active timeout is learnt */
#define AGG_KINDS 5            /* one per ContribKind */
#define AGG_TOP_PER_KIND 5     /* contributors published per kind */
#define AGG_CONTRIBS (AGG_KINDS * AGG_TOP_PER_KIND)
#define AGG_RATES (FG_CLASSES + 1) /* total + six classes + largest, per host */
_Static_assert(HT_CLASSES == FG_CLASSES - 1 && HT_TCP == FG_CLS_TCP - 1 &&
                   HT_OTHER == FG_CLS_OTHER - 1,
               "the host table's classes are FG_CLS_TCP.. in order");
#define AGG_SPREAD_MIN_EVENTS 4096
#define AGG_HOLD_LATE UINT64_MAX /* agg_hold: the hold was over at arrival */

/* ht_entry_t.flags */
#define AGG_F_ACTIVE 1  /* on this window's active list */
#define AGG_F_REFUSED 2 /* refused watch state this window (counted once) */
#define AGG_F_TIMED 4   /* a record counted in this window set t_lo / seen */
#define AGG_F_CONT 8    /* had records in the last window: t_lo continues it */
#define AGG_F_POOLED 16 /* holds rates in the pool (hring); kept across windows */

/* Top-contributor state of one watched host, for the current window. */
typedef struct {
    topk_t kind[AGG_KINDS];
    uint64_t packets; /* packets seen since the state was (re)started */
    /* This window: packets and bytes of the largest record or sample
     * counted whole (not held); when the state starts mid-window, what was
     * counted before it (an upper bound of any earlier record). */
    uint64_t max_p, max_b;
} agg_watch_t;

typedef struct {
    uint32_t collector_id;
    uint64_t seq;
} agg_seq_t;

typedef struct {
    uint64_t packets, bytes, flows;
} agg_cnt_t;

/* Watch floor of a hostgroup: as rates (window close) and as counts within
 * one window (to start top-contributor state mid-window). */
typedef struct {
    double pps, bps, fps;
    agg_cnt_t cnt;
} agg_floor_t;

/* What is learnt of an exporter from its records: its active timeout (the
 * longest duration three consecutive records beyond it agreed on, within a
 * second), and its clock's lag (the least age of its records at their
 * batch's send time, over this epoch of AGG_SKEW_EPOCH_MS and the last). */
typedef struct {
    fg_addr_t addr;
    uint32_t timeout_ms; /* learnt; 0 = not yet */
    uint32_t cand_ms;    /* candidate being confirmed */
    uint32_t hits;       /* records agreeing with the candidate */
    uint32_t used;
    uint64_t lag_cur, lag_prev; /* least record age, this epoch and the last */
    uint64_t epoch;
} agg_exporter_t;

#define AGG_SKEW_EPOCH_MS 10000
#define AGG_EXPORTER_IDLE_EPOCHS 60 /* 10 min silent: its entry may be reused */

/* The window's hostgroup sums and the WindowBatch written from them and
 * the hosts, reused from window to window. */
typedef struct {
    double (*grate)[3]; /* per group and direction: pps, Bps, fps */
    uint32_t *ghosts;   /* per group and direction */
    fg_buf_t msg;       /* the packed WindowBatch, reused */
} agg_out_t;

struct agg {
    const fg_config_t *cfg;
    uint32_t shard;
    ht_t *ht;
    uint32_t *active; /* entry indices touched in this window */
    uint32_t n_active;
    agg_watch_t *watches;
    uint32_t *watch_free;
    uint32_t n_watch_free;
    agg_floor_t *floors;       /* per hostgroup and direction: [2 * group + dir] */
    /* Per hostgroup and direction: the held rates (pps, Bps) of all its
     * hosts, and how many hosts hold any, kept as they change: a host that
     * only holds (no records) is not visited at a window close unless it is
     * over its floor. */
    double (*gheld)[2];
    uint32_t *gholders;
    sp_t *spread;              /* when held long-flow rates end */
    lf_t *flows;               /* long flows whose rate is held */
    hr_t *pool;                /* small long records' rates, per host and class */
    uint64_t open_id;          /* id (start / tick_ms) of the window records go to; 0 = unknown */
    uint64_t sent_ms;          /* send time of the batch being ingested, bounded by now */
    agg_exporter_t *exporters; /* AGG_MAX_EXPORTERS, open addressing */
    agg_seq_t seqs[AGG_MAX_COLLECTORS];
    uint32_t n_seqs;
    uint64_t seq; /* last WindowBatch sequence */
    agg_out_t out;
    agg_stats_t st;
};

/* agg.c */
/* The exporter's entry (inserted when new, in place of one silent for
 * AGG_EXPORTER_IDLE_EPOCHS if the table is full), or NULL when the table
 * is full of live ones (counted) or addr is NULL. */
agg_exporter_t *agg_exporter(agg_t *self, const fg_addr_t *addr, uint64_t now_ms);
void agg_watch_start(agg_t *self, ht_entry_t *e);
void agg_watch_stop(agg_t *self, ht_entry_t *e);
uint64_t agg_open_id(agg_t *self, uint64_t now_ms);
uint32_t agg_covered_ms(const agg_t *self, const ht_entry_t *e);

/* agg_hold.c: a record lasting dur_ms, more than one window, whose time
 * is t_ms: hold its rate. Returns the packets it adds to one window (its
 * weight among the contributors), or 0 when it was not held (no room:
 * counted; the caller counts it whole). */
uint64_t agg_hold(agg_t *self, ht_entry_t *e, const fg_flow_t *r, agg_exporter_t *x,
                  uint64_t dur_ms, uint64_t now_ms);
/* Bring into the cache the pool slot a record of host lasting dur_ms, of
 * exporter x (NULL: none), would be held in now (its hold as agg_hold
 * bounds it, less its batch's wait), in the host's first block (most hosts
 * hold in one class), for agg_ingest's prefetch stages. */
void agg_hold_prefetch(const agg_t *self, uint32_t host, uint64_t dur_ms,
                       const agg_exporter_t *x, uint64_t now_ms);
/* End the holds due at the close of every window up to closed_id. */
void agg_hold_advance(agg_t *self, uint64_t closed_id);
/* Spread wheel span in windows, for agg_new. */
uint64_t agg_hold_buckets(const fg_config_t *cfg);
/* The pools of held rates for agg_new, for the hosts of ht. */
hr_t *agg_hold_pool_new(const fg_config_t *cfg, ht_t *ht);
/* Does the host hold long records' rates (flows or pooled)? */
bool agg_holding(const agg_t *self, const ht_entry_t *e);

/* agg_expire.c */
void agg_expire(agg_t *self, uint64_t now_ms);
/* Room for one more host: when the table is full, an idle host is evicted,
 * or else the lowest-rate one neither watched nor holding rates; then
 * *reuse_active tells that the evicted host's index, which the next
 * ht_insert reuses, is on the active list. Returns 0 when there is room,
 * -1 when every host visited must stay (the new host is refused, counted
 * by the caller). */
int agg_make_room(agg_t *self, bool *reuse_active);

#endif
