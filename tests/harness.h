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

#include "floodgate.pb-c.h"

/* A TCP port free on 127.0.0.1 right now (bind to 0, read, close). Also
 * checks the UDP port of the same number is free. Aborts the test when none. */
int hn_free_port(void);

/* The first of n consecutive ports (shard i binds base + i), each free on
 * 127.0.0.1 (TCP and UDP) and not handed out before by this process.
 * Aborts the test when none is found. */
int hn_free_port_range(int n);

/* A fresh temporary directory (mkdtemp under /tmp), the caller's to free;
 * hn_rmdir() removes it recursively. */
char *hn_tmpdir(const char *tag);
void hn_rmdir(const char *dir);

/* The end of a test's temporary directory: removed (or, with FG_KEEP set in
 * the environment, kept and named on stderr for a post-mortem), then freed
 * and *dir_p set to NULL. */
void hn_tmpdir_done(char **dir_p);

/* Start argv[0] with argv, stdout and stderr appended to logfile (NULL:
 * inherit), in its own process group. Returns the PID; aborts the test when
 * fork/exec fails (exec failure shows as exit code 127 in hn_stop). */
pid_t hn_spawn(char *const argv[], const char *logfile);

/* Like hn_spawn with extra environment entries "K=V" (NULL-terminated). */
pid_t hn_spawn_env(char *const argv[], char *const env[], const char *logfile);

/* Run argv to completion (at most 10 s, then stopped), with the env entries
 * (NULL: none) as for hn_spawn_env and its output captured in dir/run.out.
 * *out (may be NULL) gets that output, a static buffer valid until the next
 * call. Returns the exit code, or -1 on timeout. For short commands a test
 * asks (birdc, gobgp, the floodgate CLI). */
int hn_run(const char *dir, char *const argv[], char *const env[], char **out);

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

/* ---- readiness: bounded waits on what a process shows, never a sleep ----
 * Each returns true as soon as the condition holds, false when timeout_ms
 * passed first (the caller fails the test, naming what did not happen). */

/* GET http://127.0.0.1:port/path (bounded by 2 s): the HTTP status with the
 * body in *body (the caller's to free; may be NULL to drop it), or -1. */
int hn_http_get(int port, const char *path, char **body);

/* /healthz of the daemon whose metrics are on port answers 200. */
bool hn_wait_healthz(int port, int timeout_ms);

/* The sum of the samples of metric name whose labels contain filter (NULL:
 * all) on port; *found (may be NULL) gets how many there were (0 also when
 * the port does not answer). */
double hn_metric(int port, const char *name, const char *filter, int *found);

/* That sum reaches at least want. */
bool hn_wait_metric(int port, const char *name, const char *filter, double want,
                    int timeout_ms);

/* The pipeline carries traffic: the detector on det_port has had a window
 * from each of its shards (floodgate_detector_shards_seen = shards; so every
 * PUB/SUB subscription works), and every daemon's /healthz on the n ports
 * answers 200. Fails the test, naming what was not ready, after timeout_ms. */
void hn_expect_ready(int det_port, int shards, const int *ports, size_t n, int timeout_ms);

/* Everything sent before the call has been judged: the detector on
 * det_port has taken `windows` more windows per shard (at least 2, so the
 * windows holding that traffic are closed and judged; more when an ongoing
 * attack must go on for a while), and the actuator on act_port has received
 * every decision the detector sent and has none queued. For tests that show
 * something did NOT happen (no ban of a bystander): it had its chance. Fails
 * the test after timeout_ms. */
void hn_expect_settled(int det_port, int act_port, int shards, int windows, int timeout_ms);

/* The file at path contains text (a log line appeared). */
bool hn_wait_log(const char *path, const char *text, int timeout_ms);

/* The time (ms since the epoch, from its ts= field) of the last line of the
 * daemon log at path that contains text; 0 when there is none. For waits
 * that must let a daemon's own window run out after what it logged. */
uint64_t hn_log_last_ms(const char *path, const char *text);

/* Milliseconds since the epoch (the clock of the daemons' ts= fields). */
uint64_t hn_wall_ms(void);

/* Occurrences of text in the file at path (0 when it cannot be read). */
int hn_log_count(const char *path, const char *text);

/* A ZeroMQ socket monitor on a zsock_t (or raw libzmq socket): create it
 * before the socket connects or binds, then wait for an event (ZMQ_EVENT_*,
 * e.g. ZMQ_EVENT_HANDSHAKE_SUCCEEDED: a peer is connected and its ZMTP
 * handshake done, so what is sent now reaches it). */
typedef struct hn_zmon hn_zmon_t;
hn_zmon_t *hn_zmon_new(void *sock);
bool hn_zmon_wait(hn_zmon_t *self, int event, int timeout_ms);
void hn_zmon_destroy(hn_zmon_t **self_p);

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

/* ---- a pipeline: redis-server and the daemons, one config ---- */

#define HN_PIPE_SHARDS 2 /* the most aggregator shards hn_pipe_start starts */

typedef struct {
    char *dir;
    char conf[512]; /* dir/floodgate.conf: the test writes it before hn_pipe_start */
    int shards;     /* aggregator shards, 1 to HN_PIPE_SHARDS */
    int redis_port, nf_port, act_port;
    int pull_port, pub_port, m_agg; /* shard i's: + i */
    int m_col, m_det, m_act;        /* the other metrics ports */
    pid_t redis, collector, detector, actuator;
    union {
        pid_t aggregator; /* with one shard */
        pid_t agg[HN_PIPE_SHARDS];
    };
} hn_pipe_t;

/* A fresh temporary directory (tag) and free ports for a pipeline with
 * shards aggregator shards. */
void hn_pipe_init(hn_pipe_t *p, const char *tag, int shards);

/* redis-server (no persistence), then the actuator, the detector, the
 * aggregator shards and the collector with p->conf. Fails the test when
 * one has exited at start-up, or when the pipeline does not carry traffic
 * (hn_expect_ready: the detector has heard every shard, every metrics port
 * answers) within 10 s. */
void hn_pipe_start(hn_pipe_t *p);

/* Stop the daemons still running (a PID of 0 is skipped), then Redis, and
 * remove the directory (hn_tmpdir_done). */
void hn_pipe_stop(hn_pipe_t *p);

/* d (with total, the caller's) as the detector sends it for a flood on ip:
 * 50000 pps of UDP over a 20000 pps threshold, inbound, group default, ban
 * enabled. The caller may change fields before packing it. */
void hn_decision(Floodgate__Decision *d, Floodgate__Rates *total, const char *ip, int action,
                 uint32_t ban_time);

/* Directory of the built binaries: $FG_BUILD or "build". */
const char *hn_build_dir(void);

/* Milliseconds on a monotonic clock. */
uint64_t hn_ms(void);

#endif
