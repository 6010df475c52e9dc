/* udp: the collector's receive sockets, read in batches with recvmmsg.
 *
 * One socket per listen endpoint, SO_REUSEPORT so several collectors share a
 * port, SO_RCVBUF as configured (the kernel caps it at net.core.rmem_max),
 * and SO_RXQ_OVFL so every batch tells how many datagrams the kernel dropped
 * on this socket because its buffer was full. */
#ifndef FG_COLLECTOR_UDP_H
#define FG_COLLECTOR_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/addr.h"

/* Datagrams per recvmmsg call, and the largest datagram kept whole (NetFlow
 * v5 needs 1464 bytes; v9 / IPFIX / sFlow rarely exceed a 9000-byte MTU). */
#define UDP_BATCH 64
#define UDP_DGRAM_MAX 9216

typedef struct {
    int fd;
    uint32_t ovfl_last; /* the kernel's cumulative drop count last seen */
    struct mmsghdr msgs[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    struct sockaddr_storage from[UDP_BATCH];
    char ctrl[UDP_BATCH][64];
    uint8_t bufs[UDP_BATCH][UDP_DGRAM_MAX];
} udp_rx_t;

/* Open a socket bound to "host:port" or "[v6]:port" (numeric addresses
 * only) with the options above; rcvbuf is the wanted SO_RCVBUF and *got
 * receives what the kernel granted (Linux reports twice the usable size).
 * Returns a receiver (the caller's to free with udp_close), or NULL with a
 * reason in err. */
udp_rx_t *udp_open(const char *hostport, int rcvbuf, int *got, char *err, size_t errlen);

/* Close and free; NULL the caller's pointer. Idempotent. */
void udp_close(udp_rx_t **self_p);

/* The drops SO_RXQ_OVFL has not told yet, read from the socket's counter
 * (SO_MEMINFO) into *kdrops: SO_RXQ_OVFL only comes with a datagram queued
 * after the drops, so the drops of a flood's last moments would otherwise
 * stay untold until the next datagram. 0, or -1 when the kernel cannot say. */
int udp_drops_sync(udp_rx_t *self, uint64_t *kdrops);

/* Receive up to UDP_BATCH datagrams without blocking. Returns how many
 * (0 when none is waiting), or -1 on a socket error (errno set). *kdrops
 * receives the datagrams the kernel dropped since the previous call. */
int udp_recv(udp_rx_t *self, uint64_t *kdrops);

/* Datagram i of the last udp_recv(): its bytes, length, whether it was cut
 * by UDP_DGRAM_MAX, and its source address (IPv4 as mapped). */
const uint8_t *udp_data(const udp_rx_t *self, int i, size_t *len, int *cut);
fg_addr_t udp_source(const udp_rx_t *self, int i);

#endif
