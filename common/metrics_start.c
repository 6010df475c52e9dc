/* metrics_start: the daemon side of metrics.h (it logs, metrics.c does not). */
#include "common/log.h"
#include "common/metrics.h"

#include <stdio.h>

fg_metrics_t *fg_metrics_start(const char *proc, const char *listen)
{
    if (!listen || !*listen) {
        fg_info("event=metrics_off");
        return NULL;
    }
    fg_metrics_t *m = fg_metrics_new(proc);
    if (!m) {
        fg_error("event=metrics_failed reason=\"out of memory\"");
        return NULL;
    }
    char err[512];
    if (fg_metrics_listen(m, listen, err, sizeof(err)) != 0)
        fg_error("event=metrics_bind_failed listen=%s reason=\"%s\" retry_s=5", listen, err);
    else
        fg_info("event=metrics_listen listen=%s port=%d conn_limit=%u", listen,
                fg_metrics_port(m), fg_metrics_conn_limit(m));
    if (fg_metrics_conn_limit(m) < 2048)
        fg_warn("event=metrics_conn_limit_low conn_limit=%u reason=\"RLIMIT_NOFILE / 4; "
                "a few thousand idle connections can lock out /healthz: raise LimitNOFILE\"",
                fg_metrics_conn_limit(m));
    return m;
}

uint64_t fg_progress_idle_ms(fg_progress_t *p, uint64_t value)
{
    return fg_progress_idle_at(p, value, fg_mono_ms());
}

uint64_t fg_progress_idle_at(fg_progress_t *p, uint64_t value, uint64_t now)
{
    if (p->last_change_ms == 0 || value != p->last_value) {
        p->last_value = value;
        p->last_change_ms = now;
    }
    return now - p->last_change_ms;
}

int fg_progress_health(fg_progress_t *p, uint64_t value, uint64_t limit_ms, const char *what,
                       char *why, size_t len)
{
    uint64_t idle = fg_progress_idle_ms(p, value);
    if (idle < limit_ms)
        return 0;
    snprintf(why, len, "no %s for %llu s", what, (unsigned long long)(idle / 1000));
    return -1;
}
