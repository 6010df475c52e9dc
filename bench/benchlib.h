/* benchlib: what the benchmarks share: the datagrams they send (NetFlow v5,
 * v9, IPFIX, sFlow v5, built here), a paced sender over loopback, and the
 * CPU and socket counters of another process. Not part of any daemon. */
#ifndef FG_BENCHLIB_H
#define FG_BENCHLIB_H

#include <stdint.h>
#include <sys/types.h>

#include "tests/flowtest.h"

enum { P_V5, P_V9, P_IPFIX, P_SFLOW, P_N };
extern const char *const bl_names[P_N];

#define RECS_PER_DGRAM 30
#define SFLOW_SAMPLES 8
#define TEMPLATE_EVERY 64 /* datagrams between template refreshes */
#define BL_MAX_PORTS 8

/* CPU seconds of this process; monotonic wall seconds. */
/* Destinations are 10.0.0.0 + random % bl_hosts (65 536 by default, at
 * most 1 048 576: 10.0.0.0/12). */
extern uint32_t bl_hosts;

double bl_cpu_now(void);
double bl_wall_now(void);

/* One datagram of protocol p, number seq (a template in every
 * TEMPLATE_EVERY-th, from the first on), into w. Returns its records.
 * Destinations are random among bl_hosts from 10.0.0.0, sources and source
 * ports random, so every record is a distinct flow; v9 / IPFIX records last
 * 0-60 s and end 100 ms before the export; sFlow samples are packets. */
int bl_make(int p, ft_wr_t *w, uint32_t seq);

/* Send protocol p for `seconds` to 127.0.0.1:ports[i], round robin over
 * n_ports (<= BL_MAX_PORTS), paced at rate records/s (0: flat out), with
 * sendmmsg. Returns the records sent. */
uint64_t bl_send(int p, const int *ports, int n_ports, double seconds, double rate);

/* utime + stime of process pid in seconds, or -1. */
double bl_proc_cpu(pid_t pid);

/* FastNetMon's side files in dir: networks (10.0.0.0/16), an empty
 * whitelist, a notify script that reads and drops its input. */
void bl_fnm_files(const char *dir);

/* Run every thread of process pid (0: this one) on CPU cpu only. 0, or -1
 * (no such CPU, or the process is gone). */
int bl_pin(pid_t pid, int cpu);

/* The kernel's drop count of the UDP socket bound to 127.0.0.1:port (last
 * column of /proc/net/udp); *rxq gets the bytes waiting in it. */
uint64_t bl_udp_drops(int port, unsigned long *rxq);

#endif
