/* daemon: what every floodgate process does the same way at start-up.
 *
 *   args -> log -> config (-t: check and exit) -> signals -> the process's own
 *   sockets and loop.
 *
 * Exit codes: 0 clean stop, 1 start-up failure, 2 bad usage or bad config. */
#ifndef FG_DAEMON_H
#define FG_DAEMON_H

#include <signal.h>
#include <stdbool.h>

#include "common/config.h"
#include "common/zsec.h"

typedef struct {
    const char *config_path;
    bool check_only;
    int shard; /* --shard, aggregator only; -1 when not given */
} fg_args_t;

/* Set by signal handlers; the loops poll them. */
extern volatile sig_atomic_t fg_stop;       /* SIGINT, SIGTERM */
extern volatile sig_atomic_t fg_reload;     /* SIGHUP */
extern volatile sig_atomic_t fg_dump_stats; /* SIGUSR1 */

/* Parse the common options (-c FILE, -t, -l LEVEL, --shard N when
 * with_shard), load the config, and install signal handlers. Prints usage
 * and exits 2 on bad options, prints "FILE:LINE: reason" and exits 2 on a
 * bad config, exits 0 after -t. Returns the config, the caller's to free. */
fg_config_t *fg_daemon_start(const char *proc, int argc, char **argv, bool with_shard,
                             fg_args_t *args);

/* SIGHUP: load the config file again into cfg (fg_config_reload: same
 * address, restart-only keys keep their running values), apply the log
 * level (unless -l was given) and log the outcome: event=reload, with
 * restart_needed="section/key ..." when such keys changed, or
 * event=reload_failed reason="FILE:LINE: reason" kept=old, cfg untouched.
 * Returns 0, or -1 when the file was refused. The caller then refreshes
 * what it derived from cfg. */
int fg_daemon_reload(fg_config_t *cfg);

/* The process's ZeroMQ socket factory: its own certificate (cert) and, for
 * a process with server sockets, the directory of the accepted client keys
 * (allowed, else NULL). Logs whether Curve is on, warns when curve/insecure
 * is set; exits 2 with the reason when the keys are unusable. */
zsec_t *fg_daemon_zsec(const fg_config_t *cfg, const char *cert, const char *allowed);

/* Log the Curve state as fg_daemon_zsec does (for a process whose sockets
 * are made by a module). */
void fg_daemon_curve_log(const fg_config_t *cfg, const char *cert, const char *allowed);

/* A server socket of role on endpoint, or exit: 2 when the bind is refused
 * (a non-loopback endpoint without Curve), 1 when it fails. */
zsock_t *fg_daemon_bind(zsec_t *zs, zsec_role_t role, const char *endpoint);

/* A client socket of role to endpoint, or exit 2 (the server key cannot be
 * read) / 1. */
zsock_t *fg_daemon_connect(zsec_t *zs, zsec_role_t role, const char *endpoint,
                           const char *server_key);

#endif
