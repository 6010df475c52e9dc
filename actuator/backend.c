/* The notify-script and dry-run log backends (daemon layer: they log), and
 * what every backend shares. */
#include "actuator/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "actuator/notify.h"
#include "common/log.h"

void backend_destroy(backend_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    (*self_p)->ops->destroy(*self_p);
    *self_p = NULL;
}

bool backend_wait_idle(backend_t *self, int timeout_ms)
{
    return !self || !self->ops->wait_idle || self->ops->wait_idle(self, timeout_ms);
}

bool backend_any_busy(backend_t *const *backends, int n)
{
    for (int i = 0; i < n; i++)
        if (backends[i]->ops->busy && backends[i]->ops->busy(backends[i]))
            return true;
    return false;
}

int backend_prefix(const fg_config_t *cfg, const char *ip, char *out)
{
    fg_addr_t a;
    if (fg_addr_parse(ip, &a) != 0)
        return -1;
    bool v4 = fg_addr_is_v4(&a);
    fg_prefix_t p;
    p.len = (uint8_t)(v4 ? 96 + cfg->actuator.prefix_len_v4 : cfg->actuator.prefix_len_v6);
    p.addr = fg_addr_mask(&a, p.len);
    fg_prefix_format(&p, out);
    return 0;
}

/* ---- notify script ---- */

typedef struct {
    backend_t base;
    notify_t *notify;
    const fg_config_t *cfg; /* notify_script may change on reload */
} script_backend_t;

static void s_script_done(const notify_result_t *r, void *arg)
{
    (void)arg;
    if (r->timed_out)
        fg_warn("event=script_timeout ip=%s action=%s pid=%d ms=%llu", r->ip, r->action,
                (int)r->pid, (unsigned long long)r->ms);
    else if (r->status < 0)
        fg_warn("event=script_failed ip=%s action=%s reason=cannot_start", r->ip, r->action);
    else if (WIFSIGNALED(r->status))
        fg_warn("event=script_failed ip=%s action=%s pid=%d signal=%d", r->ip, r->action,
                (int)r->pid, WTERMSIG(r->status));
    else if (WEXITSTATUS(r->status) != 0)
        fg_warn("event=script_failed ip=%s action=%s pid=%d exit=%d%s", r->ip, r->action,
                (int)r->pid, WEXITSTATUS(r->status),
                WEXITSTATUS(r->status) == 127 ? " hint=cannot_exec" : "");
    else
        fg_debug("event=script_done ip=%s action=%s pid=%d ms=%llu", r->ip, r->action,
                 (int)r->pid, (unsigned long long)r->ms);
}

static int s_script_run(script_backend_t *self, const ban_t *b, const char *action,
                        const char *reason)
{
    const char *script = self->cfg->actuator.notify_script;
    if (*script && strcmp(script, notify_script(self->notify)) != 0 &&
        notify_set_script(self->notify, script) == 0)
        fg_info("event=script_changed script=%s", script);
    char *input = ban_json(b, action, reason, fg_now_ms());
    int rc = notify_submit(self->notify, b->ip, b->direction, b->pps, action, input);
    free(input);
    if (rc < 0)
        fg_warn("event=script_dropped ip=%s action=%s reason=queue_full", b->ip, action);
    return rc;
}

static int s_script_ban(backend_t *base, const ban_t *b)
{
    return s_script_run((script_backend_t *)base, b, "ban", NULL);
}

static int s_script_unban(backend_t *base, const ban_t *b, const char *reason)
{
    return s_script_run((script_backend_t *)base, b, "unban", reason);
}

static int s_script_sync(backend_t *base, const ban_t *const *bans, size_t n)
{
    (void)base, (void)bans, (void)n;
    return 0;
}

static void s_script_poll(backend_t *base)
{
    notify_poll(((script_backend_t *)base)->notify, s_script_done, NULL);
}

static void s_script_stats(const backend_t *base, char *buf, size_t len)
{
    const notify_t *n = ((const script_backend_t *)base)->notify;
    notify_stats_t st;
    notify_get_stats(n, &st);
    snprintf(buf, len,
             " scripts_run=%llu scripts_failed=%llu scripts_timed_out=%llu scripts_dropped=%llu"
             " scripts_running=%d scripts_queued=%zu",
             (unsigned long long)st.run, (unsigned long long)st.failed,
             (unsigned long long)st.timed_out, (unsigned long long)st.dropped,
             notify_running(n), notify_queued(n));
}

static void s_script_destroy(backend_t *base)
{
    script_backend_t *self = (script_backend_t *)base;
    notify_destroy(&self->notify);
    free(self);
}

static bool s_script_wait_idle(backend_t *base, int timeout_ms);
static const backend_ops_t s_script_ops = {.name = "script",
                                           .ban = s_script_ban,
                                           .unban = s_script_unban,
                                           .sync = s_script_sync,
                                           .poll = s_script_poll,
                                           .stats = s_script_stats,
                                           .destroy = s_script_destroy,
                                           .wait_idle = s_script_wait_idle};

backend_t *backend_script_new(const fg_config_t *cfg)
{
    if (!cfg->actuator.notify_script[0])
        return NULL;
    script_backend_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->base.ops = &s_script_ops;
    self->cfg = cfg;
    self->notify = notify_new(cfg->actuator.notify_script, cfg->actuator.notify_queue,
                              cfg->actuator.notify_parallel, cfg->actuator.notify_timeout);
    if (!self->notify) {
        free(self);
        return NULL;
    }
    return &self->base;
}

static bool s_script_wait_idle(backend_t *base, int timeout_ms)
{
    return notify_wait_idle(((script_backend_t *)base)->notify, timeout_ms, s_script_done, NULL);
}

/* ---- dry run ---- */

typedef struct {
    backend_t base;
    const fg_config_t *cfg;
} log_backend_t;

static int s_log_ban(backend_t *base, const ban_t *b)
{
    const fg_config_t *cfg = ((log_backend_t *)base)->cfg;
    char prefix[FG_PREFIX_STRLEN];
    if (ban_is_flowspec(b)) {
        fg_info("event=backend_announce backend=log kind=flowspec ip=%s rules=%s", b->ip,
                b->flowspec);
        return 0;
    }
    if (backend_prefix(cfg, b->ip, prefix) < 0)
        return -1;
    fg_info("event=backend_announce backend=log prefix=%s next_hop=%s communities=65535:666%s%s",
            prefix, strchr(b->ip, ':') ? cfg->actuator.next_hop_v6 : cfg->actuator.next_hop_v4,
            cfg->actuator.communities[0] ? "," : "", cfg->actuator.communities);
    return 0;
}

static int s_log_unban(backend_t *base, const ban_t *b, const char *reason)
{
    char prefix[FG_PREFIX_STRLEN];
    if (ban_is_flowspec(b)) {
        fg_info("event=backend_withdraw backend=log kind=flowspec ip=%s reason=%s rules=%s",
                b->ip, reason, b->flowspec);
        return 0;
    }
    if (backend_prefix(((log_backend_t *)base)->cfg, b->ip, prefix) < 0)
        return -1;
    fg_info("event=backend_withdraw backend=log prefix=%s reason=%s", prefix, reason);
    return 0;
}

static int s_log_sync(backend_t *self, const ban_t *const *bans, size_t n)
{
    (void)self, (void)bans;
    fg_info("event=backend_sync backend=log routes=%zu", n);
    return 0;
}

static void s_log_destroy(backend_t *self)
{
    free(self);
}

static const backend_ops_t s_log_ops = {.name = "log",
                                        .ban = s_log_ban,
                                        .unban = s_log_unban,
                                        .sync = s_log_sync,
                                        .destroy = s_log_destroy};

backend_t *backend_log_new(const fg_config_t *cfg)
{
    log_backend_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->base.ops = &s_log_ops;
    self->cfg = cfg;
    return &self->base;
}
