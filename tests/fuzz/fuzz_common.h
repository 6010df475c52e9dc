/* fuzz_common: the sink and template environment the fuzz targets share.
 * Every decoded record is read back whole, so a field left uninitialised
 * or a bad address shows up under the sanitizers. */
#ifndef FG_FUZZ_COMMON_H
#define FG_FUZZ_COMMON_H

#include <stdint.h>
#include <string.h>

#include "collector/raw.h"
#include "collector/templates.h"

static uint64_t fz_sum;

static inline void fz_flush(void *arg, const raw_flow_t *recs, int n)
{
    (void)arg;
    for (int i = 0; i < n; i++)
        fz_sum += recs[i].packets + recs[i].bytes + recs[i].start_ms + recs[i].end_ms +
                  recs[i].sampling + recs[i].sport + recs[i].dport + recs[i].proto +
                  recs[i].tcp_flags + recs[i].frag + recs[i].src.lo + recs[i].dst.hi;
}

static raw_flow_t fz_buf[64];
static raw_sink_t fz_sink = {fz_buf, 0, 64, fz_flush, NULL};

/* Templates persist from one input to the next (as they do from one
 * datagram to the next), bounded by the cache's and the stream's caps. */
static tpl_cache_t *fz_cache;
static exp_entry_t fz_exp;
static tpl_stats_t fz_st;

static uint64_t fz_now_ms = 1000;

static inline void fz_env(tpl_env_t *env)
{
    fz_now_ms += 100; /* held sets expire after 10 inputs */
    if (!fz_cache)
        fz_cache = tpl_cache_new(512);
    memset(env, 0, sizeof(*env));
    env->cache = fz_cache;
    env->exporter = fg_addr_from_v4(0x7f000001);
    env->exp = &fz_exp;
    env->now_ms = fz_now_ms;
    env->timeout_ms = 0;
    env->hold_ms = 1000;
    env->max_per_stream = 64;
    env->st = &fz_st;
    env->sink = &fz_sink;
    env->ctx.default_sampling = 1;
}

#endif
