#include "common/classes.h"

#include <stddef.h>

static const struct {
    const char *name;
    const char *metric[3];
    size_t off; /* of the Floodgate__Rates * in a HostWindow */
} s_classes[FG_CLASSES] = {
#define CLS(n, f, p)                                                                           \
    {n, {p "pps", p "mbps", p "flows"}, offsetof(Floodgate__HostWindow, f)}
    [FG_CLS_TOTAL] = CLS("total", total, ""),
    [FG_CLS_TCP] = CLS("tcp", tcp, "tcp_"),
    [FG_CLS_TCP_SYN] = CLS("tcp_syn", tcp_syn, "tcp_syn_"),
    [FG_CLS_UDP] = CLS("udp", udp, "udp_"),
    [FG_CLS_ICMP] = CLS("icmp", icmp, "icmp_"),
    [FG_CLS_FRAG] = CLS("frag", frag, "frag_"),
    [FG_CLS_OTHER] = CLS("other", other, "other_"),
#undef CLS
};

const char *fg_class_name(int cls)
{
    return cls >= 0 && cls < FG_CLASSES ? s_classes[cls].name : NULL;
}

const char *fg_class_metric(int cls, int m)
{
    return cls >= 0 && cls < FG_CLASSES && m >= 0 && m < 3 ? s_classes[cls].metric[m] : NULL;
}

Floodgate__Rates **fg_class_field(Floodgate__HostWindow *hw, int cls)
{
    if (cls < 0 || cls >= FG_CLASSES)
        return NULL;
    return (Floodgate__Rates **)((char *)hw + s_classes[cls].off);
}

const Floodgate__Rates *fg_class_rates(const Floodgate__HostWindow *hw, int cls)
{
    if (!hw || cls < 0 || cls >= FG_CLASSES)
        return NULL;
    return *(Floodgate__Rates *const *)((const char *)hw + s_classes[cls].off);
}
