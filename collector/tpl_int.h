/* tpl_int: the template cache's structure, shared by the cache
 * (tpl_cache.c) and the decoding above it (templates.c). Not an interface:
 * include it from those two files only. */
#ifndef FG_COLLECTOR_TPL_INT_H
#define FG_COLLECTOR_TPL_INT_H

#include "collector/templates.h"

/* A data set waiting for its template (collector/template_hold_ms). */
typedef struct {
    fg_addr_t exporter;
    uint32_t domain;
    uint16_t id;
    uint8_t proto;
    uint8_t used;
    uint16_t len;
    uint64_t at_ms;
    tpl_ctx_t ctx; /* the times and sampling of its datagram */
    uint8_t data[TPL_HOLD_SET_MAX];
} tpl_held_t;

/* Slots a full cache looks at to free one. */
#define TPL_RECLAIM_SCAN 1024

struct tpl_cache {
    tpl_t *slots;
    size_t cap; /* power of two, at least 4/3 of max */
    size_t max;
    size_t n;
    size_t cursor; /* s_reclaim() resumes here */
    size_t sweep;  /* tpl_expire() resumes here */
    tpl_held_t held[TPL_HOLD_SLOTS];
};

#endif
