/* zsec: every ZeroMQ socket of floodgate is made here, so that CurveZMQ,
 * the size limits, the handshake deadline, linger and high-water marks are
 * set in one place and the same way in every process.
 *
 * A process makes one zsec_t from the config with its own certificate (the
 * secret file of `floodgate keygen`) and, when it has server sockets, the
 * directory of the public keys its servers accept. With curve/enable on:
 *
 *   - server sockets (aggregator PULL and PUB, actuator PULL) are Curve
 *     servers; a ZAP handler (CZMQ zauth over a zcertstore of the allowed
 *     directory, re-read when the directory changes) refuses every client
 *     whose public key is not there;
 *   - client sockets (collector PUSH, detector SUB and PUSH, top's SUB)
 *     present the process's key pair and check the server's public key.
 *
 * Without Curve, binding anything but a loopback address (127.0.0.0/8, ::1,
 * localhost, ipc://, inproc://) is refused unless curve/insecure is set.
 *
 * Each role has a maximum message size fitting its message type. Two
 * levels: a message above the role's size is refused and counted
 * (zsec_recv, reason "oversized"); ZMQ_MAXMSGSIZE is twice that, so that a
 * peer announcing a larger frame has its connection cut by libzmq before
 * anything is allocated (libzmq reports that only as a disconnect).
 * Every socket has a handshake deadline (curve/handshake_ms, 2 s): a TCP
 * connection that has not completed its ZMTP (and Curve) handshake by then
 * is closed, so idle connections cannot pile up on a port.
 * Handshakes that fail (unknown key, wrong mechanism, garbage) are counted
 * by reason from a socket monitor, drained by zsec_tick().
 *
 * Leaf module: returns errors as text, never logs. */
#ifndef FG_ZSEC_H
#define FG_ZSEC_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/metrics.h"

typedef enum {
    ZSEC_AGG_PULL, /* aggregator: FlowBatch in (server) */
    ZSEC_AGG_PUB,  /* aggregator: WindowBatch out (server) */
    ZSEC_ACT_PULL, /* actuator: Decision in (server) */
    ZSEC_COL_PUSH, /* collector: FlowBatch out, one per shard (client) */
    ZSEC_DET_SUB,  /* detector: WindowBatch in, one per shard (client) */
    ZSEC_DET_PUSH, /* detector: Decision out (client) */
    ZSEC_TOP_SUB,  /* floodgate top: WindowBatch in (client) */
    ZSEC_ROLES
} zsec_role_t;

/* Why a received message was refused. */
typedef enum {
    ZSEC_OVERSIZED,   /* above the role's size */
    ZSEC_MALFORMED,   /* not the message type (protobuf), or bad fields */
    ZSEC_WRONG_SHARD, /* a batch or window of another shard */
    ZSEC_REASONS
} zsec_reason_t;

/* Why a handshake failed (ZMQ_EVENT_HANDSHAKE_FAILED_*). */
typedef enum {
    ZSEC_HS_AUTH,      /* the ZAP handler refused the client's key */
    ZSEC_HS_PROTOCOL,  /* wrong mechanism, bad command, bad key */
    ZSEC_HS_NO_DETAIL, /* garbage, a peer that closed or timed out */
    ZSEC_HS_REASONS
} zsec_hs_t;

typedef struct {
    uint64_t handshakes;                 /* succeeded */
    uint64_t hs_failed[ZSEC_HS_REASONS]; /* refused or failed */
    uint64_t accepted;                   /* TCP connections accepted (servers) */
    uint64_t disconnected;               /* connections closed, cut included */
    uint64_t refused[ZSEC_REASONS];      /* messages refused */
} zsec_stats_t;

typedef struct zsec zsec_t;

/* A socket factory for process proc with the config's Curve settings.
 * cert: this process's certificate (secret file); allowed: the directory of
 * accepted client keys, or NULL for a process with no server socket. Both
 * are ignored when curve/enable is off. Returns NULL with the reason in err
 * (a certificate that cannot be read or has no secret key, a missing
 * directory, zauth failing to start). */
zsec_t *zsec_new(const fg_config_t *cfg, const char *cert, const char *allowed, char *err,
                 size_t errlen);

/* Stop the monitors and zauth, close every socket made here, NULL the
 * caller's pointer. Idempotent. */
void zsec_destroy(zsec_t **self_p);

/* True when Curve is on. */
bool zsec_curve(const zsec_t *self);

/* True for an endpoint that only this host can reach: tcp:// on
 * 127.0.0.0/8, ::1 or localhost, ipc://, inproc://. */
bool zsec_endpoint_local(const char *endpoint);

/* 0 when endpoint may be bound: Curve is on, or it is local, or
 * curve/insecure is set. Else -1 with the reason in err. */
int zsec_check_bind(const zsec_t *self, const char *endpoint, char *err, size_t errlen);

/* Make a server socket of role bound to endpoint. The socket belongs to
 * self. NULL with the reason in err (refused by zsec_check_bind, or the
 * bind failed). */
zsock_t *zsec_bind(zsec_t *self, zsec_role_t role, const char *endpoint, char *err, size_t errlen);

/* Make a client socket of role connected to endpoint; server_key is the
 * path of the server's public certificate (used with Curve only). The
 * socket belongs to self. NULL with the reason in err. */
zsock_t *zsec_connect(zsec_t *self, zsec_role_t role, const char *endpoint, const char *server_key,
                      char *err, size_t errlen);

/* Receive one message from sock without blocking into msg (initialised
 * here). Returns 0 with the message in msg (the caller closes it), -1 when
 * none waits, 1 when one was refused as oversized (counted; msg closed). */
int zsec_recv(zsec_t *self, zsock_t *sock, zmq_msg_t *msg);

/* Count a message of sock refused by the caller. */
void zsec_refuse(zsec_t *self, zsock_t *sock, zsec_reason_t why);

/* The largest message (bytes) role accepts. */
size_t zsec_max_msg(const zsec_t *self, zsec_role_t role);

/* Drain the sockets' monitor events into the counters. Cheap; call it on
 * every loop turn. Does nothing with a NULL self. */
void zsec_tick(zsec_t *self);

/* The counters of sock, or NULL when sock is not one of self's. */
const zsec_stats_t *zsec_stats(const zsec_t *self, const zsock_t *sock);

/* Register floodgate_curve, floodgate_insecure and the per-socket counters
 * (floodgate_zmq_*{socket,endpoint,reason}) in m. 0 (nothing done with a
 * NULL m or self), or -1 out of memory. */
int zsec_metrics(zsec_t *self, fg_metrics_t *m);

/* Write a new key pair as dir/name.key (public, mode 0644) and
 * dir/name.key_secret (mode 0600), creating dir (0755) when missing.
 * Refuses to overwrite an existing pair. 0, or -1 with the reason in err. */
int zsec_keygen(const char *name, const char *dir, char *err, size_t errlen);

#endif
