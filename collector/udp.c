#include "common/addr.h"
#include "collector/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif
#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif
#define UDP_MEMINFO_DROPS 8 /* SK_MEMINFO_DROPS */
#define UDP_MEMINFO_VARS 16

/* "1.2.3.4:2055" or "[::]:2055" into a socket address. */
static int s_parse(const char *hostport, struct sockaddr_storage *ss, socklen_t *sl)
{
    char host[64];
    uint16_t port;
    if (fg_hostport_split(hostport, host, sizeof(host), &port) != 0)
        return -1;
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *sl = sizeof(*s4);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *sl = sizeof(*s6);
    } else {
        return -1;
    }
    return 0;
}

static int s_socket(const struct sockaddr_storage *ss, socklen_t sl, int rcvbuf, int *got)
{
    int one = 1, fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    socklen_t gl = sizeof(*got);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_RCVBUF, got, &gl) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) != 0 ||
        bind(fd, (const struct sockaddr *)ss, sl) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

udp_rx_t *udp_open(const char *hostport, int rcvbuf, int *got, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (s_parse(hostport, &ss, &sl) != 0) {
        snprintf(err, errlen, "%s: expected a numeric host:port or [v6]:port", hostport);
        return NULL;
    }
    udp_rx_t *self = calloc(1, sizeof(*self));
    if (!self) {
        snprintf(err, errlen, "%s: out of memory", hostport);
        return NULL;
    }
    self->fd = s_socket(&ss, sl, rcvbuf, got);
    if (self->fd < 0) {
        snprintf(err, errlen, "%s: %s", hostport, strerror(errno));
        free(self);
        return NULL;
    }
    for (int i = 0; i < UDP_BATCH; i++) {
        self->iov[i].iov_base = self->bufs[i];
        self->iov[i].iov_len = UDP_DGRAM_MAX;
    }
    return self;
}

void udp_close(udp_rx_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    close((*self_p)->fd);
    free(*self_p);
    *self_p = NULL;
}

/* The kernel's drop counter from a message's control data, if present. */
static void s_ovfl(udp_rx_t *self, struct msghdr *mh, uint64_t *kdrops)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL)
            continue;
        uint32_t v;
        memcpy(&v, CMSG_DATA(c), sizeof(v));
        /* a datagram queued before the last udp_drops_sync tells less */
        if ((int32_t)(v - self->ovfl_last) > 0) {
            *kdrops += (uint32_t)(v - self->ovfl_last);
            self->ovfl_last = v;
        }
    }
}

int udp_drops_sync(udp_rx_t *self, uint64_t *kdrops)
{
    uint32_t mi[UDP_MEMINFO_VARS] = {0};
    socklen_t len = sizeof(mi);
    *kdrops = 0;
    if (getsockopt(self->fd, SOL_SOCKET, SO_MEMINFO, mi, &len) != 0 ||
        len <= UDP_MEMINFO_DROPS * sizeof(mi[0]))
        return -1;
    uint32_t v = mi[UDP_MEMINFO_DROPS];
    if ((int32_t)(v - self->ovfl_last) > 0) {
        *kdrops = (uint32_t)(v - self->ovfl_last);
        self->ovfl_last = v;
    }
    return 0;
}

int udp_recv(udp_rx_t *self, uint64_t *kdrops)
{
    *kdrops = 0;
    for (int i = 0; i < UDP_BATCH; i++) {
        struct msghdr *mh = &self->msgs[i].msg_hdr;
        memset(mh, 0, sizeof(*mh));
        mh->msg_iov = &self->iov[i];
        mh->msg_iovlen = 1;
        mh->msg_name = &self->from[i];
        mh->msg_namelen = sizeof(self->from[i]);
        mh->msg_control = self->ctrl[i];
        mh->msg_controllen = sizeof(self->ctrl[i]);
    }
    int n = recvmmsg(self->fd, self->msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++)
        s_ovfl(self, &self->msgs[i].msg_hdr, kdrops);
    return n;
}

const uint8_t *udp_data(const udp_rx_t *self, int i, size_t *len, int *cut)
{
    *len = self->msgs[i].msg_len;
    *cut = (self->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    return self->bufs[i];
}

fg_addr_t udp_source(const udp_rx_t *self, int i)
{
    const struct sockaddr_storage *ss = &self->from[i];
    if (ss->ss_family == AF_INET)
        return fg_addr_from_v4(ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr));
    if (ss->ss_family == AF_INET6)
        return fg_addr_from_bytes16(((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr);
    return (fg_addr_t){0, 0};
}
