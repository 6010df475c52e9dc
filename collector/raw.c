#include "collector/raw.h"

static void s_fill(fg_flow_t *f, const raw_flow_t *raw, const fg_addr_t *host,
                   const fg_addr_t *peer, uint8_t dir)
{
    f->host = *host;
    f->peer = *peer;
    f->packets = raw->packets;
    f->bytes = raw->bytes;
    f->start_ms = raw->start_ms;
    f->end_ms = raw->end_ms;
    f->sampling = raw->sampling;
    f->sport = raw->sport;
    f->dport = raw->dport;
    f->proto = raw->proto;
    f->tcp_flags = raw->tcp_flags;
    f->dir = dir;
    f->frag = raw->frag;
    f->exporter = 0;
}

int raw_filter(const fg_config_t *cfg, const raw_flow_t *raw, fg_flow_t out[2])
{
    int n = 0;
    if (fg_config_group(cfg, &raw->dst))
        s_fill(&out[n++], raw, &raw->dst, &raw->src, FG_DIR_IN);
    if (fg_config_group(cfg, &raw->src))
        s_fill(&out[n++], raw, &raw->src, &raw->dst, FG_DIR_OUT);
    return n;
}
