/* store: the ban state in Redis (hiredis, synchronous, every command bounded
 * by a timeout).
 *
 * Two connections: one for commands, one subscribed to the keyevent channels
 * (expired, del) of the configured database. Keys (DESIGN.md):
 *   <prefix>:ban:<ip>      HASH with EXPIRE = ban time (ban_fields())
 *   <prefix>:history:<ip>  LIST, newest first, one ban_json() line per event
 *   <prefix>:events        STREAM, MAXLEN ~ events_max
 *   <prefix>:flowspec:<ip> HASH with the ban's TTL: its FlowSpec rules
 *   <prefix>:announced     HASH ip -> ban line: bans recorded, unban not yet
 *   <prefix>:actuator:lease, :fence   the active actuator (store_ha.c)
 *
 * Every function returns -1 on failure; when the cause was the connection
 * (I/O error, timeout) the store is disconnected (store_connected() turns
 * false) and store_connect() must be called again. Leaf module: no logging;
 * store_errstr() tells the last failure. */
#ifndef FG_ACT_STORE_H
#define FG_ACT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "actuator/ban.h"
#include "common/config.h"

typedef struct store_t store_t;

/* Keyevent callback: ip of a ban key that expired (expired = true) or was
 * deleted. */
typedef void(store_event_fn)(const char *ip, bool expired, void *arg);

/* Key callback for store_scan: ip of one ban key. Return 0 to go on. */
typedef int(store_key_fn)(const char *ip, void *arg);

/* A store for cfg's redis section (cfg is borrowed and must outlive it);
 * timeout_ms bounds each connect and command. Not connected yet. NULL on
 * OOM. */
store_t *store_new(const fg_config_t *cfg, int timeout_ms);

/* Close the connections, free the store, NULL the pointer. Idempotent. */
void store_destroy(store_t **self_p);

/* Connect the command connection: AUTH (user and password, or password
 * only) when a password is set, then SELECT db. 0 or -1. */
int store_connect(store_t *self);

/* Close both connections. Idempotent. */
void store_disconnect(store_t *self);

bool store_connected(const store_t *self);

/* The last failure, for logs. Never NULL. */
const char *store_errstr(const store_t *self);

/* When the last failure was Redis refusing a command for now (an error
 * reply MISCONF, READONLY, OOM, NOREPLICAS, LOADING, BUSY, MASTERDOWN,
 * TRYAGAIN, CLUSTERDOWN, NOTREADY): its code; NULL after any other failure.
 * The connection stays up: such work is to be retried later. */
const char *store_refusal(const store_t *self);

/* A write with no effect (SET <prefix>:actuator:probe XX on a key never
 * written): does Redis accept writes now? 0 yes, -1 no (store_refusal()
 * tells whether it refused or the connection was lost). */
int store_probe_write(store_t *self);

/* "<run_id>/<master_replid>" from INFO server and INFO replication: it
 * changes when Redis restarts and when a replica resyncs in full. 0 or -1. */
int store_server_id(store_t *self, char *out, size_t len);

/* Counted failures: commands refused by Redis plus connection losses. */
uint64_t store_errors(const store_t *self);

/* Add "Egx" to notify-keyspace-events, keeping the flags already set.
 * Returns 0 (set or already enough) or -1 (CONFIG refused, or connection
 * lost: check store_connected()). */
int store_enable_notifications(store_t *self);

/* Open the second connection and SUBSCRIBE to __keyevent@<db>__:expired and
 * __keyevent@<db>__:del. 0 or -1. */
int store_subscribe(store_t *self);

/* The subscribed connection's fd, or -1 when there is none. */
int store_sub_fd(const store_t *self);

/* Read what arrived on the subscribed connection (call when its fd is
 * readable) and call fn for each ban key event. 0, or -1 when the
 * subscription was lost (it is closed; subscribe again). */
int store_sub_read(store_t *self, store_event_fn *fn, void *arg);

/* Does <prefix>:ban:<ip> exist? 1, 0 or -1. */
int store_ban_exists(store_t *self, const char *ip);

/* The ban_count of the newest history entry of ip, 0 when none. 0 or -1. */
int store_last_ban_count(store_t *self, const char *ip, uint32_t *count);

/* From the history of ip: the ban_count of the newest entry (*last, 0 when
 * none) and how many "ban" and "renew" entries are stamped within
 * window_s seconds before now (*recent). 0 or -1. */
int store_history_info(store_t *self, const char *ip, uint64_t now_ms, int window_s,
                       uint32_t *last, uint32_t *recent);

/* Milliseconds left on <prefix>:ban:<ip>: >= 0, -1 no expiry, -2 no such
 * key; -3 on error. */
long long store_ban_pttl(store_t *self, const char *ip);

/* The same for <prefix>:hold:<ip>, the operator's hold on new bans of ip
 * (`floodgate unban IP --hold D`). */
long long store_hold_pttl(store_t *self, const char *ip);

/* Give <prefix>:hold:<ip> a TTL of ttl_ms (a hold key written by hand
 * without one). Fenced. 0 or -1. */
int store_fix_hold(store_t *self, const char *ip, uint64_t ttl_ms);

/* Write a ban atomically (MULTI/EXEC): the hash with every field and its
 * EXPIRE in ms up to b->expires_ms (b->ban_time s when that is unset), the
 * history line (event: "ban", or "renew" for a renewal) trimmed to
 * history_max, the events stream entry. 0 or -1 (then nothing was written,
 * or at most the history and events without the hash). */
int store_write_ban(store_t *self, const ban_t *b, const char *event, uint64_t now_ms);

/* Record an event without touching the ban key: the events stream entry
 * (event, reason when not NULL, the ban fields) and, when with_history, the
 * history line. 0 or -1. */
int store_record(store_t *self, const ban_t *b, const char *event, const char *reason,
                 bool with_history, uint64_t now_ms);

/* Read the ban hash of ip into out (zeroed first; expires from PTTL).
 * Returns 1 found, 0 no such key (or not a hash: counted), -1 error. */
int store_read_ban(store_t *self, const char *ip, uint64_t now_ms, ban_t *out);

/* What store_read_ban_checked found wrong with a ban key. */
typedef struct {
    bool wrong_type;    /* the key is not a HASH */
    bool ip_mismatch;   /* its ip field is not the key's address */
    char bad_field[32]; /* the first field with a bad value (ban_set_field), "" when none */
    long long pttl;     /* ms left, -1 when the key has no expiry */
} store_check_t;

/* store_read_ban, telling what is wrong in *chk: returns 1 found (out
 * filled as far as the fields are good), 2 the key is not a hash, 0 no such
 * key, -1 error. */
int store_read_ban_checked(store_t *self, const char *ip, uint64_t now_ms, ban_t *out,
                           store_check_t *chk);

/* Correct a ban key: its ip field set to ip when fix_ip, its TTL set to
 * ttl_ms when > 0. 0 or -1. */
int store_fix_ban(store_t *self, const char *ip, bool fix_ip, uint64_t ttl_ms);

/* Delete <prefix>:flowspec:<ip> (the ban ended). 0 or -1. */
int store_drop_flowspec(store_t *self, const char *ip);

/* Delete the ban key of ip (a refused key). 0 or -1. */
int store_drop_ban(store_t *self, const char *ip);

/* SCAN MATCH <prefix>:ban:* COUNT 1000 over the whole keyspace; fn gets the
 * ip of every key whose suffix is a canonical address (others are counted in
 * *bad_keys when not NULL). A key may be reported twice (SCAN's contract).
 * 0 or -1. */
int store_scan(store_t *self, store_key_fn *fn, void *arg, uint64_t *bad_keys);

/* ---- several actuators on one Redis (store_ha.c) ---- */

/* One entry of the record of announced bans: ip and its ban line. */
typedef int(store_line_fn)(const char *ip, const char *line, void *arg);

/* Take or extend the lease <prefix>:actuator:lease for id, in one script:
 * held ("<id> <token>", or "" when we hold none) is extended when it is
 * still the value; a free lease, or one a previous run under the same id
 * left, is taken with a new token (INCR <prefix>:actuator:fence) for
 * lease_ms. The value now (ours or the holder's) goes to out. 0 or -1. */
int store_lease(store_t *self, const char *id, const char *held, int lease_ms, char *out,
                size_t len);

/* Delete the lease when it still holds held (a clean stop). 0 or -1. */
int store_lease_release(store_t *self, const char *held);

/* Every write from now on checks (WATCH + GET, then MULTI/EXEC) that the
 * lease still holds value; "" or NULL: no check. */
void store_set_fence(store_t *self, const char *value);

/* The last failure was the fence: another actuator holds the lease. */
bool store_fenced(const store_t *self);

/* Writes refused by the fence. */
uint64_t store_fenced_writes(const store_t *self);

/* HSET <prefix>:announced ip line (a ban adopted without an entry), or,
 * line NULL, HDEL (an entry that cannot be read). 0 or -1. */
int store_announce(store_t *self, const char *ip, const char *line);

/* Call fn for every entry of <prefix>:announced. 0 or -1. */
int store_announced(store_t *self, store_line_fn *fn, void *arg);

#endif
