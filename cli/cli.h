/* cli: the commands of `floodgate`, one file per group of commands.
 *
 * A command gets its own arguments (argv[0] is the command name) and the
 * config path; it returns the process exit code: 0 done, 1 failure (Redis
 * unreachable, no such ban, something wrong found), 2 bad usage or config.
 * To add a command, write its run function and add a line to s_cmds in
 * cli/main.c. */
#ifndef FG_CLI_H
#define FG_CLI_H

#include <hiredis.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/config.h"

typedef struct {
    const char *name;
    const char *usage; /* "bans [--json]    list active bans" */
    int (*run)(int argc, char **argv, const char *conf);
} cli_cmd_t;

/* Load the config or print "floodgate: config error: ..." and return NULL. */
fg_config_t *cli_config(const char *conf);

/* Connect to the config's Redis or print why and return NULL. */
redisContext *cli_redis(const fg_config_t *cfg);

/* s seconds as "45s", "29m58s", "1h02m", "3d04h" (two units at most);
 * "never" when negative. Returns out. */
char *cli_duration(long long s, char *out, size_t len);

/* A Redis command (hiredis format) whose reply must be of type
 * (REDIS_REPLY_*): the reply, the caller's to free, or NULL after printing
 * "floodgate: WHAT failed: reason". */
redisReply *cli_command(redisContext *c, int type, const char *what, const char *fmt, ...);

/* The value of field name in an HGETALL reply, or "". */
const char *cli_hget(const redisReply *r, const char *name);

/* Commands of cli/bans.c */
int cli_bans(int argc, char **argv, const char *conf);
int cli_ban(int argc, char **argv, const char *conf);
int cli_unban(int argc, char **argv, const char *conf);
int cli_history(int argc, char **argv, const char *conf);

/* cli/hold.c */

/* "90", "90s", "15m", "2h", "1d" as seconds (at most 366 days); -1 when
 * not a positive duration. */
long cli_parse_duration(const char *s);

/* Hold new bans of ip for hold_s seconds: SET <prefix>:hold:<ip> with that
 * TTL, DEL its ban key, a history line and an event "hold", in one
 * transaction. Prints what it did; exit code 0 or 1. */
int cli_hold_unban(const fg_config_t *cfg, redisContext *c, const char *ip, long hold_s);

/* Print the holds (address, time left, until) after the bans table; how
 * many, or -1 when the SCAN failed. */
int cli_holds_print(const fg_config_t *cfg, redisContext *c);

/* cli/status.c, cli/top.c, cli/report.c */
int cli_status(int argc, char **argv, const char *conf);
int cli_top(int argc, char **argv, const char *conf);
int cli_report(int argc, char **argv, const char *conf);

/* cli/replay.c: what-if replay of captures and threshold tuning */
int cli_replay(int argc, char **argv, const char *conf);
int cli_tune(int argc, char **argv, const char *conf);

/* cli/keygen.c */
int cli_keygen(int argc, char **argv, const char *conf);

#endif
