#include "detector/classify.h"

#include <stddef.h>

typedef struct {
    uint32_t port;
    const char *service;
    const char *type;
} cls_amp_t;

static const cls_amp_t s_amp[] = {
    {53, "dns", "amplification_dns"},
    {123, "ntp", "amplification_ntp"},
    {1900, "ssdp", "amplification_ssdp"},
    {11211, "memcached", "amplification_memcached"},
    {389, "cldap", "amplification_cldap"},
    {19, "chargen", "amplification_chargen"},
    {161, "snmp", "amplification_snmp"},
};
#define CLS_N_AMP (sizeof(s_amp) / sizeof(s_amp[0]))

static const cls_amp_t *s_amp_find(uint32_t port)
{
    for (size_t i = 0; i < CLS_N_AMP; i++)
        if (s_amp[i].port == port)
            return &s_amp[i];
    return NULL;
}

const char *cls_amplification_service(uint32_t port)
{
    const cls_amp_t *a = s_amp_find(port);
    return a ? a->service : NULL;
}

static double s_pps(const Floodgate__Rates *r)
{
    return r && r->pps > 0 ? r->pps : 0;
}

/* The UDP type: amplification when the heaviest source port is a known
 * service and carries at least half of the packets. */
static const char *s_udp_type(const Floodgate__HostWindow *hw)
{
    const Floodgate__Contributor *top = NULL;
    for (size_t i = 0; i < hw->n_top; i++) {
        const Floodgate__Contributor *c = hw->top[i];
        if (c && c->kind == FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT &&
            (!top || c->share > top->share))
            top = c;
    }
    if (top && top->share >= CLS_AMPLIFICATION_SHARE && top->key_hi == 0) {
        const cls_amp_t *a = s_amp_find((uint32_t)top->key_lo);
        if (a && top->key_lo <= UINT16_MAX)
            return a->type;
    }
    return "udp_flood";
}

const char *cls_attack_type(const Floodgate__HostWindow *hw)
{
    enum { SYN, TCP_OTHER, UDP, ICMP, FRAG, OTHER, N };
    double syn = s_pps(hw->tcp_syn), tcp = s_pps(hw->tcp);
    double pps[N] = {syn, tcp > syn ? tcp - syn : 0, s_pps(hw->udp),
                     s_pps(hw->icmp), s_pps(hw->frag), s_pps(hw->other)};
    double total = s_pps(hw->total);
    double sum = 0;
    int best = 0;
    for (int i = 0; i < N; i++) {
        sum += pps[i];
        if (pps[i] > pps[best])
            best = i;
    }
    if (total < sum)
        total = sum;
    if (total <= 0 || pps[best] < CLS_DOMINANT_SHARE * total)
        return "mixed";
    switch (best) {
    case SYN:
        return "syn_flood";
    case TCP_OTHER:
        return "tcp_other";
    case UDP:
        return s_udp_type(hw);
    case ICMP:
        return "icmp_flood";
    case FRAG:
        return "ip_fragmentation";
    default:
        return "mixed";
    }
}
