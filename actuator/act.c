#include "common/decision.h"
#include "actuator/act.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "actuator/act_int.h"
#include "actuator/trust.h"

static void s_ban_free(void **item)
{
    if (item && *item) {
        ban_clear((ban_t *)*item);
        free(*item);
        *item = NULL;
    }
}

act_opts_t act_opts_default(void)
{
    act_opts_t o = {true, 500, 10000, NULL};
    return o;
}

/* actuator/id, or "<hostname>/<bind>", then a per-process nonce (pid and
 * random bits): the lease is "<id> <nonce> <token>". Two processes never
 * share a nonce, so a second actuator configured with the same id (an
 * actuator/id copied between hosts) cannot renew the other's lease: it
 * waits as a standby (act_ha.c warns that the ids collide). */
static void s_lease_id(act_t *self)
{
    char host[64] = "localhost";
    uint32_t rnd = 0;
    if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
        rnd = (uint32_t)fg_now_ms() ^ (uint32_t)(uintptr_t)self;
    if (self->cfg->actuator.id[0]) {
        snprintf(self->lease_id, sizeof(self->lease_id), "%.100s", self->cfg->actuator.id);
    } else {
        gethostname(host, sizeof(host) - 1);
        snprintf(self->lease_id, sizeof(self->lease_id), "%.60s/%.60s", host,
                 self->cfg->actuator.bind);
    }
    snprintf(self->lease_name, sizeof(self->lease_name), "%s %x-%08x", self->lease_id,
             (unsigned)getpid(), rnd);
}

act_t *act_new(const fg_config_t *cfg, const act_opts_t *opts)
{
    act_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->opts = opts ? *opts : act_opts_default();
    if (!self->opts.mono_ms)
        self->opts.mono_ms = fg_mono_ms;
    if (self->opts.queue_max < 1)
        self->opts.queue_max = 1;
    self->store = store_new(cfg, self->opts.timeout_ms);
    self->trust = trust_new(cfg);
    self->known = zhashx_new();
    self->queue = calloc((size_t)self->opts.queue_max, sizeof(pending_t));
    self->queued = zhashx_new();
    self->recent = calloc(ACT_RECENT, sizeof(pending_t));
    self->backoff_ms = ACT_BACKOFF_MIN_MS;
    self->active = true; /* until the lease tells otherwise (Redis down at start) */
    s_lease_id(self);
    if (!self->store || !self->trust || !self->known || !self->queue || !self->queued ||
        !self->recent) {
        act_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->known, s_ban_free);
    return self;
}

void act_destroy(act_t **self_p)
{
    act_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    for (int i = 0; i < self->n_backends; i++)
        backend_destroy(&self->backends[i]);
    for (size_t i = 0; self->queue && i < self->qcount; i++)
        ban_clear(&self->queue[(self->qhead + i) % (size_t)self->opts.queue_max].ban);
    free(self->queue);
    zhashx_destroy(&self->queued);
    for (size_t i = 0; self->recent && i < ACT_RECENT; i++)
        ban_clear(&self->recent[i].ban);
    free(self->recent);
    zhashx_destroy(&self->known);
    zhashx_destroy(&self->detected);
    store_destroy(&self->store);
    trust_destroy(&self->trust);
    free(self);
    *self_p = NULL;
}

int act_add_backend(act_t *self, backend_t **backend_p)
{
    if (self->n_backends >= ACT_MAX_BACKENDS) {
        backend_destroy(backend_p);
        return -1;
    }
    self->backends[self->n_backends++] = *backend_p;
    *backend_p = NULL;
    return 0;
}

/* ---- backends ---- */

void act_backends_ban(act_t *self, const ban_t *b)
{
    for (int i = 0; i < self->n_backends; i++)
        if (self->backends[i]->ops->ban(self->backends[i], b) < 0)
            self->st.backend_errors++;
}

void act_backends_unban(act_t *self, const ban_t *b, const char *reason)
{
    for (int i = 0; i < self->n_backends; i++)
        if (self->backends[i]->ops->unban(self->backends[i], b, reason) < 0)
            self->st.backend_errors++;
}

/* Hand every known ban to each backend's sync. */
void act_backends_sync(act_t *self)
{
    size_t n = zhashx_size(self->known), i = 0;
    const ban_t **all = calloc(n ? n : 1, sizeof(*all));
    if (!all)
        return;
    for (ban_t *b = zhashx_first(self->known); b && i < n; b = zhashx_next(self->known))
        all[i++] = b;
    for (int k = 0; k < self->n_backends; k++)
        if (self->backends[k]->ops->sync(self->backends[k], all, i) < 0)
            self->st.backend_errors++;
    free(all);
}

/* ---- ban and unban ---- */

void act_log_ban(const ban_t *b, const char *event)
{
    char exp[BAN_TIME_STRLEN];
    fg_info("event=%s ip=%s source=%s attack_type=%s direction=%s metric=%s value=%.15g "
            "threshold=%.15g hostgroup=%s ban_time=%u ban_count=%u expires_at=%s "
            "repeat_offender=%d recent_bans=%u",
            event, b->ip, b->source, b->attack_type, b->direction, b->metric, b->value,
            b->threshold, b->hostgroup, b->ban_time, b->ban_count,
            b->expires_at ? ban_format_time(b->expires_at, exp) : "never", b->repeat_offender,
            b->recent_bans);
}

/* Move *b (its details included) into the known table. */
ban_t *act_remember(act_t *self, ban_t *b)
{
    ban_t *k = malloc(sizeof(*k));
    if (!k) {
        ban_clear(b);
        return NULL;
    }
    *k = *b;
    memset(b, 0, sizeof(*b));
    zhashx_update(self->known, k->ip, k);
    return k;
}

/* One JSON line per ban, renewal and unban in attack_log, for SIEMs. The
 * file is opened for each line (bans are rare), so logrotate needs no
 * signal. */
static void s_attack_log(act_t *self, const ban_t *b, const char *event, const char *reason)
{
    if (!self->cfg->actuator.attack_log[0])
        return;
    char *line = ban_json(b, event, reason, fg_now_ms());
    int fd =
        line ? open(self->cfg->actuator.attack_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)
             : -1;
    size_t n = line ? strlen(line) : 0;
    if (line)
        line[n] = '\n'; /* ban_json's NUL becomes the newline; written with its length */
    bool ok = fd >= 0 && write(fd, line, n + 1) == (ssize_t)(n + 1);
    if (fd >= 0)
        close(fd);
    free(line);
    if (ok) {
        self->st.attack_log_lines++;
        return;
    }
    self->st.attack_log_errors++;
    fg_log_rl(&self->rl_log, ACT_RL_MS, FG_LOG_WARN, "event=attack_log_failed path=%s err=\"%s\"",
              self->cfg->actuator.attack_log, strerror(errno));
}

void act_record(act_t *self, const ban_t *b, const char *event, const char *reason,
                bool with_history)
{
    pending_t p;
    uint64_t now = fg_now_ms();
    if (store_record(self->store, b, event, reason, with_history, now) == 0)
        return;
    bool fenced = store_fenced(self->store);
    if (!act_redis_failed(self, event))
        return;
    /* fenced, then the lapsed lease taken back: once more now */
    if (fenced && self->active && store_record(self->store, b, event, reason, with_history, now) == 0)
        return;
    memset(&p, 0, sizeof(p));
    if (ban_copy(&p.ban, b) < 0)
        return;
    p.action = ACT_RECORD;
    p.with_history = with_history;
    p.at_ms = now;
    snprintf(p.event, sizeof(p.event), "%s", event);
    snprintf(p.reason, sizeof(p.reason), "%s", reason ? reason : "");
    act_enqueue(self, &p);
}

/* A queued record: written as of its time. 0 done, 1 retry later. */
static int s_apply_record(act_t *self, const pending_t *p)
{
    if (store_record(self->store, &p->ban, p->event, p->reason[0] ? p->reason : NULL,
                     p->with_history, p->at_ms) == 0)
        return 0;
    return act_redis_failed(self, p->event);
}

/* The known ban of ip is over: record it, tell the backends, forget it. */
void act_unban(act_t *self, const char *ip, const char *reason)
{
    ban_t *b = zhashx_lookup(self->known, ip);
    if (!b)
        return;
    act_record(self, b, "unban", reason, true);
    if (strcmp(reason, "expired") == 0)
        self->st.unbans_expired++;
    else
        self->st.unbans_deleted++;
    fg_info("event=unban ip=%s reason=%s source=%s attack_type=%s ban_count=%u", b->ip, reason,
            b->source, b->attack_type, b->ban_count);
    s_attack_log(self, b, "unban", reason);
    act_backends_unban(self, b, reason);
    if (b->flowspec && store_connected(self->store))
        store_drop_flowspec(self->store, ip); /* its TTL ends it otherwise */
    zhashx_delete(self->known, ip); /* frees b */
}

/* Why a known ban's key is gone: past its expiry (1 s of slack for the
 * rounding of TTLs) or deleted. */
const char *act_vanish_reason(const ban_t *b)
{
    return b->expires_ms && fg_now_ms() + 1000 >= b->expires_ms ? "expired" : "deleted";
}

static uint32_t s_group_ban_time(const act_t *self, const char *hostgroup)
{
    for (int i = 0; i < self->cfg->n_groups; i++)
        if (strcmp(self->cfg->groups[i].name, hostgroup) == 0 && self->cfg->groups[i].ban_time)
            return self->cfg->groups[i].ban_time;
    return self->cfg->n_groups > 0 && self->cfg->groups[0].ban_time ? self->cfg->groups[0].ban_time
                                                                    : ACT_DEFAULT_BAN_TIME;
}

/* From the history: the last ban_count (*last) and the repeat flags of b. 0,
 * or 1 when Redis went away (retry later). */
static int s_history(act_t *self, ban_t *b, uint64_t now, uint32_t *last)
{
    uint32_t recent = 0;
    if (store_history_info(self->store, b->ip, now, self->cfg->actuator.repeat_window, last,
                           &recent) < 0 &&
        act_redis_failed(self, "history"))
        return 1;
    b->recent_bans = recent;
    b->repeat_offender = recent > 0;
    self->st.repeat_offenders += b->repeat_offender;
    return 0;
}

/* max_bans in force: refuse p, count it, alert (log, and an event for the
 * attack's BAN only: its ONGOING reports every few seconds, refused too,
 * would push the stream's real events out of its events_max). */
static void s_refuse(act_t *self, pending_t *p)
{
    trust_refused(self->trust, false, p->ban.ip, TRUST_MAX_BANS, NULL);
    fg_log_rl(&self->rl_refused, ACT_RL_MS, FG_LOG_ERROR,
              "event=ban_refused ip=%s reason=max_bans max_bans=%d hint=\"raise actuator/max_bans "
              "if this is a real carpet bombing\"",
              p->ban.ip, self->cfg->actuator.max_bans);
    if (p->action != FLOODGATE__ACTION__BAN)
        return;
    ban_set_times(&p->ban, fg_now_ms());
    act_record(self, &p->ban, "refused", "max_bans", false);
}

/* Detector bans in force: max_bans counts these only, so manual bans are
 * never refused and never crowd out the detector's budget either. */
static size_t s_detector_bans(act_t *self)
{
    size_t n = 0;
    for (ban_t *b = zhashx_first(self->known); b; b = zhashx_next(self->known))
        n += strcmp(b->source, "detector") == 0;
    return n;
}

/* A hold key without a TTL (written by hand: `SET` without `EX`) would
 * refuse bans of ip forever: as a ban key without one, it gets a bounded
 * TTL, the hostgroup's max_ban_time (counted, logged). -1 retry later. */
static int s_hold_bounded(act_t *self, const char *ip, long long *left)
{
    char d[48];
    fg_addr_t a;
    const fg_hostgroup_t *g = fg_addr_parse(ip, &a) == 0 ? fg_config_group(self->cfg, &a) : NULL;
    if (!g && self->cfg->n_groups > 0)
        g = &self->cfg->groups[0];
    uint64_t ttl_ms = (uint64_t)(g ? g->max_ban_time : 86400) * 1000;
    if (store_fix_hold(self->store, ip, ttl_ms) < 0)
        return act_redis_failed(self, "hold") ? -1 : 0;
    snprintf(d, sizeof(d), "hold_ttl_s=%llu", (unsigned long long)(ttl_ms / 1000));
    trust_fixed(self->trust, ip, TRUST_FIX_HOLD_NO_TTL, d);
    *left = (long long)ttl_ms;
    return 0;
}

/* Does the operator hold ip (unban --hold)? 1 held (refused: counted,
 * logged), 0 not, -1 unknown now (retry later). */
static int s_held(act_t *self, const char *ip)
{
    long long left = store_hold_pttl(self->store, ip);
    if (left == -3)
        return act_redis_failed(self, "hold") ? -1 : 0;
    if (left == -2)
        return 0;
    if (left == -1 && s_hold_bounded(self, ip, &left) < 0)
        return -1;
    char detail[48];
    snprintf(detail, sizeof(detail), "hold_left_s=%lld", left / 1000);
    trust_refused(self->trust, false, ip, TRUST_HOLD, detail);
    return 1;
}

/* Is b's address still one to ban under the config in force? A reload may
 * have whitelisted it (or taken it out of networks/monitored) since its
 * decision was queued or its ban announced; refused: counted, logged. */
static bool s_still_allowed(act_t *self, const ban_t *b)
{
    const fg_hostgroup_t *g;
    fg_addr_t a;
    if (fg_addr_parse(b->ip, &a) < 0)
        return false;
    bool force = strcmp(b->source, "manual_force") == 0 && !b->flowspec;
    trust_reason_t r = trust_check_addr(self->trust, &a, force, &g);
    if (r != TRUST_OK)
        trust_refused(self->trust, false, b->ip, r, "after=reload");
    return r == TRUST_OK;
}

/* Write a new ban for p. 0 done, 1 retry later. */
static int s_ban(act_t *self, pending_t *p)
{
    ban_t *b = &p->ban;
    uint32_t last = 0;
    if (!s_still_allowed(self, b))
        return 0;
    if (s_detector_bans(self) >= (size_t)self->cfg->actuator.max_bans) {
        s_refuse(self, p);
        return 0;
    }
    if (act_fs_admit(self, p))
        return 0;
    if (!trust_budget_take(self->trust, self->opts.mono_ms())) {
        trust_refused(self->trust, false, b->ip, TRUST_BAN_RATE, NULL);
        return 0;
    }
    if (b->ban_time == 0)
        b->ban_time = s_group_ban_time(self, b->hostgroup);
    uint64_t now = fg_now_ms();
    if (s_history(self, b, now, &last) != 0) {
        trust_budget_return(self->trust);
        return 1;
    }
    b->ban_count = last + 1;
    ban_set_times(b, now);
    if (store_write_ban(self->store, b, "ban", now) < 0) {
        trust_budget_return(self->trust); /* not made: announced (and taken) again or dropped */
        return act_redis_failed(self, "ban");
    }
    self->st.bans++;
    ban_t *k = act_remember(self, b);
    if (!k)
        return 0;
    act_log_ban(k, "ban");
    s_attack_log(self, k, "ban", NULL);
    act_backends_ban(self, k);
    return 0;
}

/* Extend the known ban k by ban_time from now: ban_count + 1, event
 * "renew"; the backends are not told (the route stays). 0 done, 1 retry. */
static int s_renew(act_t *self, const ban_t *k, uint32_t ban_time)
{
    ban_t nb;
    uint32_t last = 0;
    uint64_t now = fg_now_ms();
    if (ban_copy(&nb, k) < 0)
        return 0;
    if (s_history(self, &nb, now, &last) != 0) {
        ban_clear(&nb);
        return 1;
    }
    nb.ban_count = (last > k->ban_count ? last : k->ban_count) + 1;
    nb.ban_time = ban_time;
    nb.expires_ms = now + (uint64_t)ban_time * 1000;
    nb.expires_at = (int64_t)((nb.expires_ms + 500) / 1000);
    if (store_write_ban(self->store, &nb, "renew", now) < 0) {
        ban_clear(&nb);
        return act_redis_failed(self, "renew");
    }
    self->st.renewed++;
    ban_t *r = act_remember(self, &nb); /* replaces (and frees) k */
    if (r) {
        act_log_ban(r, "renew");
        s_attack_log(self, r, "renew", NULL);
    }
    return 0;
}

/* Does a ban with ttl_ms left get renewed by a decision now? */
static bool s_renew_due(const act_t *self, long long ttl_ms, uint32_t ban_time)
{
    long long window = (long long)self->cfg->actuator.renew_before * 1000;
    if (window > (long long)ban_time * 500)
        window = (long long)ban_time * 500; /* half the ban time at most */
    return ttl_ms >= 0 && ttl_ms <= window;
}

/* Write the pending known ban k (announced already) with the expiry it
 * has: event "ban" (ban_count from the history) or "restore" (written back
 * after Redis lost it, ban_count kept). Its time ran out: withdrawn. 0 done,
 * 1 retry later. */
static int s_write_pending(act_t *self, const ban_t *k, const char *event)
{
    uint64_t now = fg_now_ms();
    uint32_t last = 0;
    bool fresh = strcmp(event, "ban") == 0;
    int held = fresh ? s_held(self, k->ip) : 0;
    ban_t nb;
    if (held != 0) {
        if (held > 0)
            act_unban(self, k->ip, "held"); /* announced while the hold could not be read */
        return held < 0;
    }
    if (!s_still_allowed(self, k)) {
        act_unban(self, k->ip, "refused");
        return 0;
    }
    if (k->expires_ms && now + 1000 >= k->expires_ms) {
        act_unban(self, k->ip, "expired");
        return 0;
    }
    if (ban_copy(&nb, k) < 0)
        return 0;
    if (fresh && s_history(self, &nb, now, &last) != 0) {
        ban_clear(&nb);
        return 1;
    }
    if (fresh)
        nb.ban_count = last + 1;
    if (store_write_ban(self->store, &nb, event, now) < 0) {
        ban_clear(&nb);
        return act_redis_failed(self, event);
    }
    nb.pending = nb.restore = false;
    if (fresh)
        self->st.bans++;
    else
        self->st.restored++;
    ban_t *r = act_remember(self, &nb); /* replaces (and frees) k */
    if (r) {
        act_log_ban(r, event);
        s_attack_log(self, r, event, NULL);
    }
    return 0;
}

void act_announce_pending(act_t *self, const pending_t *p, const char *why)
{
    ban_t b;
    if (!p->enable_ban || p->action == ACT_RESTORE || zhashx_lookup(self->known, p->ban.ip) ||
        s_detector_bans(self) >= (size_t)self->cfg->actuator.max_bans)
        return; /* refused (and counted) when the decision is applied */
    if (act_ha_lapsed(self)) { /* cut off: the one active now (if any) announces it */
        self->st.pending_withheld++;
        fg_log_rl(&self->rl_redis, ACT_RL_MS, FG_LOG_WARN,
                  "event=ban_withheld ip=%s redis=%s hint=\"lease not renewed for lease_ms: "
                  "another actuator may be active; written if Redis gives the lease back\"",
                  p->ban.ip, why);
        return;
    }
    /* a hold that cannot be read (Redis down) does not stop it: checked
     * again before its key is written */
    long long hold = store_connected(self->store) ? store_hold_pttl(self->store, p->ban.ip) : -2;
    if (hold == -1 || hold >= 0 || !trust_budget_take(self->trust, self->opts.mono_ms()) ||
        ban_copy(&b, &p->ban) < 0)
        return;
    if (b.ban_time == 0)
        b.ban_time = s_group_ban_time(self, b.hostgroup);
    ban_set_times(&b, fg_now_ms());
    b.pending = true;
    ban_t *k = act_remember(self, &b);
    if (!k)
        return;
    self->st.provisional++;
    fg_info("event=ban_pending ip=%s redis=%s attack_type=%s ban_time=%u hint=\"announced now, "
            "its key is written when Redis takes it\"",
            k->ip, why, k->attack_type, k->ban_time);
    act_backends_ban(self, k);
}

/* A decision for ip whose known ban k is pending: write it when the key is
 * still missing (1: retry), or take the key that appeared meanwhile as the
 * truth. -1: go on with the usual logic. */
static int s_apply_pending(act_t *self, const pending_t *p, ban_t *k, long long ttl)
{
    if (ttl != -2) {
        k->pending = k->restore = false; /* written by someone else meanwhile: Redis's truth */
        return -1;
    }
    if (p->action == ACT_RESTORE || p->enable_ban)
        return s_write_pending(self, k, p->action == ACT_RESTORE || k->restore ? "restore" : "ban");
    self->st.ongoing++;
    return 0;
}

/* Apply one decision against Redis. 0 done, 1 retry later. */
int act_apply(act_t *self, pending_t *p)
{
    if (!store_connected(self->store))
        return 1;
    if (p->action == ACT_RECORD)
        return s_apply_record(self, p);
    long long ttl = store_ban_pttl(self->store, p->ban.ip);
    if (ttl == -3)
        return act_redis_failed(self, "pttl");
    ban_t *old = zhashx_lookup(self->known, p->ban.ip);
    int rc = old && old->pending ? s_apply_pending(self, p, old, ttl) : -1;
    if (rc >= 0 || p->action == ACT_RESTORE)
        return rc > 0 ? rc : 0;
    bool renew = p->enable_ban && strcmp(self->cfg->actuator.renewal, "renew") == 0;
    uint32_t ban_time = p->ban.ban_time ? p->ban.ban_time : s_group_ban_time(self, p->ban.hostgroup);
    if (ttl != -2) { /* banned */
        if (old && act_fs_escalate_due(self, old))
            return act_fs_escalate(self, old);
        if (renew && old && s_renew_due(self, ttl, ban_time))
            return s_renew(self, old, ban_time);
        if (p->action == FLOODGATE__ACTION__BAN)
            self->st.already_banned++;
        else
            self->st.ongoing++;
        return 0;
    }
    if (old && renew && strcmp(act_vanish_reason(old), "expired") == 0)
        return s_renew(self, old, ban_time); /* just expired: the route never went */
    if (old)
        act_unban(self, p->ban.ip, act_vanish_reason(old));
    int held = p->enable_ban ? s_held(self, p->ban.ip) : 0;
    if (held != 0)
        return held < 0;
    return p->enable_ban ? s_ban(self, p) : act_detect_only(self, p, ban_time);
}

/* ---- decisions ---- */

int act_message(act_t *self, const void *data, size_t size)
{
    int field;
    Floodgate__Decision *d = dec_unpack(data, size, &field);
    if (!d) {
        self->st.decisions++;
        self->st.malformed++;
        fg_log_rl(&self->rl_malformed, ACT_RL_MS, FG_LOG_WARN,
                  "event=decision_malformed size=%zu reason=unpack", size);
        return -1;
    }
    if (field > 0) { /* protobuf-c kept the low 32 bits of a larger number */
        char ip[FG_ADDR_STRLEN], detail[32];
        fg_addr_t a = {d->addr_hi, d->addr_lo};
        snprintf(detail, sizeof(detail), "overflow_field=%d", field);
        self->st.decisions++;
        trust_refused(self->trust, false, fg_addr_format(&a, ip),
                      field == 13 ? TRUST_BAN_TIME : TRUST_BAD_FIELD, detail);
        dec_free(&d);
        return 0;
    }
    int rc = act_decision(self, d);
    dec_free(&d);
    return rc;
}

int act_decision(act_t *self, const Floodgate__Decision *d)
{
    pending_t p;
    memset(&p, 0, sizeof(p));
    self->st.decisions++;
    if ((d->action != FLOODGATE__ACTION__BAN && d->action != FLOODGATE__ACTION__ONGOING) ||
        ban_from_decision(&p.ban, d) < 0) {
        self->st.malformed++;
        fg_log_rl(&self->rl_malformed, ACT_RL_MS, FG_LOG_WARN,
                  "event=decision_malformed reason=action_or_direction action=%d",
                  (int)d->action);
        return -1;
    }
    const fg_hostgroup_t *g;
    uint32_t ban_time = 0;
    trust_reason_t why = trust_check_decision(self->trust, d, &g, &ban_time);
    if (why != TRUST_OK) {
        char detail[64];
        snprintf(detail, sizeof(detail), "ban_time=%u source=detector", d->ban_time);
        trust_refused(self->trust, false, p.ban.ip, why, detail);
        ban_clear(&p.ban);
        return 0;
    }
    snprintf(p.ban.hostgroup, sizeof(p.ban.hostgroup), "%s", g->name); /* the address's */
    p.ban.ban_time = ban_time;
    p.action = d->action;
    p.enable_ban = d->enable_ban;
    act_fs_plan(self, g, d, &p);
    if (!self->active) {
        self->st.standby_ignored++;
        act_ha_keep(self, &p);
        return 0;
    }
    act_submit(self, &p);
    return 0;
}

void act_submit(act_t *self, pending_t *p)
{
    if (self->qcount > 0 && act_queued(self, p->ban.ip)) {
        self->st.queue_coalesced++; /* the one waiting already bans or renews it */
    } else if (self->qcount > 0 || act_apply(self, p) != 0) {
        if (!self->active) { /* fenced: another actuator holds the lease now */
            ban_clear(&p->ban);
            return;
        }
        /* Redis cannot take it now: route at once, key later (unless the
         * queue is full: then nothing, counted and logged) */
        if (self->qcount < (size_t)self->opts.queue_max)
            act_announce_pending(self, p, !act_redis_up(self) ? "down"
                                          : self->refusing[0] ? self->refusing : "busy");
        act_enqueue(self, p); /* keep the order behind what already waits */
    }
    ban_clear(&p->ban);
}

/* ---- manual bans ---- */

/* A ban key we did not know: learn it; unless silent (start-up), it is a
 * manual ban: record it and tell the backends. */
void act_adopt(act_t *self, const char *ip, bool silent)
{
    ban_t tmp;
    uint64_t now = fg_now_ms();
    int rc = trust_vet_key(self->trust, self->store, ip, now, &tmp);
    if (rc <= 0) {
        if (rc < 0)
            act_redis_failed(self, "read ban");
        return; /* gone meanwhile, or refused */
    }
    uint32_t last = 0;
    if (!silent) {
        if (strcmp(tmp.source, "manual_force") != 0)
            strcpy(tmp.source, "manual");
        if (tmp.ban_count == 0 && store_last_ban_count(self->store, ip, &last) == 0)
            tmp.ban_count = last + 1;
    }
    ban_t *b = act_remember(self, &tmp);
    if (!b)
        return;
    if (silent) {
        self->st.adopted_at_start++;
        fg_debug("event=adopt ip=%s source=%s", b->ip, b->source);
        return;
    }
    self->st.manual_adopted++;
    act_record(self, b, "ban", NULL, true);
    act_log_ban(b, "ban");
    s_attack_log(self, b, "ban", NULL);
    act_backends_ban(self, b);
}

const ban_t *act_known_ban(const act_t *self, const char *ip)
{
    return zhashx_lookup(self->known, ip);
}

void act_get_stats(const act_t *self, act_stats_t *out)
{
    *out = self->st;
    trust_get_stats(self->trust, &out->trust);
    out->whitelisted = out->trust.decisions[TRUST_WHITELISTED];
    out->refused_max_bans = out->trust.decisions[TRUST_MAX_BANS];
    out->refused_hold = out->trust.decisions[TRUST_HOLD];
    out->redis_errors = store_errors(self->store);
    out->queue_depth = self->qcount;
    out->known = zhashx_size(self->known);
    out->redis_writable = store_connected(self->store) && !self->refusing[0];
    out->active = self->active;
    out->fenced_writes = store_fenced_writes(self->store);
}

int act_backend_count(const act_t *self)
{
    return self->n_backends;
}

const backend_t *act_backend(const act_t *self, int i)
{
    return i >= 0 && i < self->n_backends ? self->backends[i] : NULL;
}

void act_recheck(act_t *self)
{
    zlistx_t *gone = zlistx_new();
    if (!gone || !store_connected(self->store)) {
        zlistx_destroy(&gone);
        self->recheck_due = true; /* the next scan (act_scan) checks them */
        return;
    }
    self->recheck_due = false;
    zlistx_set_destructor(gone, (czmq_destructor *)zstr_free);
    zlistx_set_duplicator(gone, (czmq_duplicator *)strdup);
    for (ban_t *b = zhashx_first(self->known); b; b = zhashx_next(self->known))
        if (b->pending ? !s_still_allowed(self, b) /* announced, key not written yet */
                       : trust_recheck(self->trust, self->store, b, fg_now_ms()) != TRUST_OK)
            zlistx_add_end(gone, b->ip);
    for (char *ip = zlistx_first(gone); ip; ip = zlistx_next(gone))
        act_unban(self, ip, "refused");
    zlistx_destroy(&gone);
}

void act_log_stats(const act_t *self)
{
    act_stats_t s;
    char extra[512] = "";
    act_get_stats(self, &s);
    for (int i = 0; i < self->n_backends; i++)
        if (self->backends[i]->ops->stats)
            self->backends[i]->ops->stats(self->backends[i], extra + strlen(extra),
                                          sizeof(extra) - strlen(extra));
#define U(x) (unsigned long long)s.x
    fg_info("event=stats decisions=%llu malformed=%llu whitelisted=%llu bans=%llu "
            "already_banned=%llu ongoing=%llu detect_only=%llu unbans_expired=%llu "
            "unbans_deleted=%llu manual_adopted=%llu adopted_at_start=%llu bans_active=%llu "
            "redis_errors=%llu redis_up=%d queue_depth=%llu queue_dropped=%llu bad_keys=%llu "
            "backend_errors=%llu renewed=%llu refused_max_bans=%llu repeat_offenders=%llu "
            "attack_log_lines=%llu attack_log_errors=%llu redis_refusing=%s redis_refusals=%llu "
            "provisional=%llu restored=%llu redis_data_lost=%llu refused_hold=%llu%s",
            U(decisions), U(malformed), U(whitelisted), U(bans), U(already_banned), U(ongoing),
            U(detect_only), U(unbans_expired), U(unbans_deleted), U(manual_adopted),
            U(adopted_at_start), U(known), U(redis_errors), store_connected(self->store),
            U(queue_depth), U(queue_dropped), U(bad_keys), U(backend_errors), U(renewed),
            U(refused_max_bans), U(repeat_offenders), U(attack_log_lines), U(attack_log_errors),
            self->refusing[0] ? self->refusing : "no", U(redis_refusals), U(provisional),
            U(restored), U(redis_data_lost), U(refused_hold), extra);
#undef U
}

bool act_busy(const act_t *self)
{
    return backend_any_busy(self->backends, self->n_backends);
}

void act_wait_backends(act_t *self, int timeout_ms)
{
    for (int i = 0; i < self->n_backends; i++)
        backend_wait_idle(self->backends[i], timeout_ms);
}
