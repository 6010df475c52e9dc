/* log: one line per event, key=value, to stderr.
 *
 *   ts=2026-11-27T10:41:42.123Z level=info proc=collector event=start ...
 *
 * Leaf modules never log; daemons do, through these macros. Causes that
 * repeat per packet go through fg_log_rl(), at most one line per interval
 * with the count of lines it held back. */
#ifndef FG_LOG_H
#define FG_LOG_H

#include <stdint.h>

enum { FG_LOG_DEBUG = 0, FG_LOG_INFO, FG_LOG_WARN, FG_LOG_ERROR };

extern int fg_log_level;

/* Name the process in every line. */
void fg_log_init(const char *proc);

/* Parse "debug", "info", "warn", "error". Returns the level or -1. */
int fg_log_level_parse(const char *s);

void fg_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define fg_log(level, ...)                                                                 \
    do {                                                                                   \
        if ((level) >= fg_log_level)                                                       \
            fg_log_write((level), __VA_ARGS__);                                            \
    } while (0)
#define fg_debug(...) fg_log(FG_LOG_DEBUG, __VA_ARGS__)
#define fg_info(...) fg_log(FG_LOG_INFO, __VA_ARGS__)
#define fg_warn(...) fg_log(FG_LOG_WARN, __VA_ARGS__)
#define fg_error(...) fg_log(FG_LOG_ERROR, __VA_ARGS__)

/* A rate limit for one cause of log lines. Zero-initialise it. */
typedef struct {
    uint64_t last_ms;
    uint64_t held;
} fg_ratelimit_t;

/* Log at most once per interval_ms for this limiter; the line printed carries
 * held=N, the number of lines suppressed since the last one. */
void fg_log_rl(fg_ratelimit_t *rl, uint64_t interval_ms, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Start-up failure: log at error level and exit with the given code. */
void fg_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* Wall-clock time in ms since the epoch, and a monotonic clock in ms. */
uint64_t fg_now_ms(void);
uint64_t fg_mono_ms(void);

#endif
