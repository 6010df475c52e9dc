#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int fg_log_level = FG_LOG_INFO;
static const char *s_proc = "floodgate";
static const char *s_names[] = {"debug", "info", "warn", "error"};

void fg_log_init(const char *proc)
{
    s_proc = proc;
}

int fg_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, s_names[i]) == 0)
            return i;
    return -1;
}

uint64_t fg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t fg_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void s_vwrite(int level, const char *suffix, const char *fmt, va_list ap)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s proc=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, s_names[level & 3], s_proc);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    size_t used = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (used >= sizeof(line) - 1)
        used = sizeof(line) - 2;
    if (suffix) {
        int k = snprintf(line + used, sizeof(line) - used, "%s", suffix);
        used += k < 0 ? 0 : (size_t)k;
        if (used >= sizeof(line) - 1)
            used = sizeof(line) - 2;
    }
    line[used++] = '\n';
    fwrite(line, 1, used, stderr);
}

void fg_log_write(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vwrite(level, NULL, fmt, ap);
    va_end(ap);
}

void fg_log_rl(fg_ratelimit_t *rl, uint64_t interval_ms, int level, const char *fmt, ...)
{
    if (level < fg_log_level)
        return;
    uint64_t now = fg_mono_ms();
    if (rl->last_ms && now - rl->last_ms < interval_ms) {
        rl->held++;
        return;
    }
    char suffix[48];
    snprintf(suffix, sizeof(suffix), " held=%llu", (unsigned long long)rl->held);
    rl->last_ms = now;
    rl->held = 0;
    va_list ap;
    va_start(ap, fmt);
    s_vwrite(level, suffix, fmt, ap);
    va_end(ap);
}

void fg_die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vwrite(FG_LOG_ERROR, NULL, fmt, ap);
    va_end(ap);
    exit(code);
}
