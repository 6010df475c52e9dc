/* classes: the traffic classes thresholds apply to, listed once.
 *
 * FG_CLS_* index every per-class array (thresholds, averaged rates); the
 * table gives each class its name (as in metric names, "tcp_syn_pps", and
 * in `floodgate top --json`) and its Rates field in a HostWindow, so no
 * module lists the classes again with its own offsets. */
#ifndef FG_CLASSES_H
#define FG_CLASSES_H

#include "floodgate.pb-c.h"

/* In the order of HostWindow's rates: the total, then tcp, tcp_syn (a
 * subset of tcp), udp, icmp, fragments, other. */
enum {
    FG_CLS_TOTAL = 0,
    FG_CLS_TCP,
    FG_CLS_TCP_SYN,
    FG_CLS_UDP,
    FG_CLS_ICMP,
    FG_CLS_FRAG,
    FG_CLS_OTHER,
    FG_CLASSES
};

/* "total", "tcp", "tcp_syn", "udp", "icmp", "frag", "other"; NULL for a
 * class out of range. */
const char *fg_class_name(int cls);

/* The metric name of class cls and metric m (0 pps, 1 mbps, 2 flows):
 * "pps" for the total, "tcp_syn_flows" for the others. NULL when out of
 * range. Static strings. */
const char *fg_class_metric(int cls, int m);

/* The Rates of class cls in hw (NULL when unset or cls out of range), and
 * the field itself, to fill a HostWindow. */
const Floodgate__Rates *fg_class_rates(const Floodgate__HostWindow *hw, int cls);
Floodgate__Rates **fg_class_field(Floodgate__HostWindow *hw, int cls);

#endif
