/* harness: helpers for tests that run real processes.
 *
 * Everything here is bounded: waits take a timeout, processes are stopped by
 * PID (never by name), ports are found free by binding port 0 on 127.0.0.1.
 * Failures abort the test through cmocka's fail_msg() where noted. */
#ifndef FG_HARNESS_H
#define FG_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A TCP port free on 127.0.0.1 right now (bind to 0, read, close). Also
 * checks the UDP port of the same number is free. Aborts the test when none. */
int hn_free_port(void);

/* A fresh temporary directory (mkdtemp under /tmp), the caller's to free;
 * hn_rmdir() removes it recursively. */
char *hn_tmpdir(const char *tag);
void hn_rmdir(const char *dir);

/* Start argv[0] with argv, stdout and stderr appended to logfile (NULL:
 * inherit), in its own process group. Returns the PID; aborts the test when
 * fork/exec fails (exec failure shows as exit code 127 in hn_stop). */
pid_t hn_spawn(char *const argv[], const char *logfile);

/* Like hn_spawn with extra environment entries "K=V" (NULL-terminated). */
pid_t hn_spawn_env(char *const argv[], char *const env[], const char *logfile);

/* Is the process still running (not exited, not a zombie we reaped)? */
bool hn_alive(pid_t pid);

/* SIGTERM, wait up to timeout_ms, then SIGKILL; reap. Returns the exit
 * status as from waitpid, or -1 when pid was not a child. */
int hn_stop(pid_t pid, int timeout_ms);

/* Wait until the process exits (up to timeout_ms); its waitpid status, or -1
 * on timeout (the process is left running). */
int hn_wait_exit(pid_t pid, int timeout_ms);

/* Start redis-server on 127.0.0.1:port with its data in dir (no persistence
 * unless persist), keyspace notifications off (the actuator enables them).
 * Waits until it answers PING (up to 5 s). Returns the PID. */
pid_t hn_redis_start(const char *dir, int port, bool persist);

/* Run a redis command (printf-style, hiredis format) against 127.0.0.1:port
 * and return the reply (redisReply *, free with freeReplyObject), or NULL
 * when Redis cannot be reached. */
void *hn_redis(int port, const char *fmt, ...);

/* Poll cond(arg) every 20 ms until it returns true or timeout_ms passes.
 * Returns true when it became true. */
bool hn_wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms);

/* Write text to path (creating or truncating). Aborts the test on failure. */
void hn_write_file(const char *path, const char *text);

/* The whole file as a NUL-terminated string (the caller's to free), or NULL. */
char *hn_read_file(const char *path);

/* Start the daemon floodgate-<name> of the build directory with -c conf
 * (and --shard shard when shard is not NULL), its output in
 * dir/<name><shard>.log. Returns the PID; aborts the test when fork fails. */
pid_t hn_daemon(const char *dir, const char *conf, const char *name, const char *shard);

/* Fail the test, pointing at the logs in dir, when any of the n processes
 * has already exited. */
void hn_expect_alive(const pid_t *pids, size_t n, const char *dir);

/* Directory of the built binaries: $FG_BUILD or "build". */
const char *hn_build_dir(void);

/* Milliseconds on a monotonic clock. */
uint64_t hn_ms(void);

#endif
