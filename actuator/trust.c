#include "common/decision.h"
#include "actuator/trust.h"

#include <czmq.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuator/ban.h"
#include "common/log.h"
#include "common/ptrie.h"

#define TRUST_BURST_MS 10000
#define TRUST_LOG_TABLE_MAX 4096 /* addresses remembered for the log; then forgotten at once */

struct trust_t {
    const fg_config_t *cfg;
    uint64_t *ring; /* monotonic ms of the last new_bans_max new bans */
    size_t ring_n, ring_head, ring_count;
    bool rate_told; /* this window's first refusal was logged */
    zhashx_t *logged; /* "reason/ip" -> (uintptr_t) mono ms of its last line */
    uint64_t burst_start, burst_lines;
    trust_stats_t st;
};

static const char *s_reasons[TRUST_NREASONS] = {"ok",        "unmonitored", "whitelisted",
                                                "bad_address", "bad_field", "ban_time",
                                                "ban_rate",  "max_bans",    "wrong_type",
                                                "hold"};
static const char *s_fixes[TRUST_NFIXES] = {"ip_field", "no_ttl", "ttl_cut",
                                            "hold_no_ttl"};

trust_t *trust_new(const fg_config_t *cfg)
{
    trust_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->ring_n = cfg->actuator.new_bans_max > 0 ? (size_t)cfg->actuator.new_bans_max : 1;
    self->ring = calloc(self->ring_n, sizeof(*self->ring));
    self->logged = zhashx_new();
    if (!self->ring || !self->logged) {
        trust_destroy(&self);
        return NULL;
    }
    return self;
}

void trust_destroy(trust_t **self_p)
{
    trust_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    free(self->ring);
    zhashx_destroy(&self->logged);
    free(self);
    *self_p = NULL;
}

const char *trust_reason_name(trust_reason_t r)
{
    return r < TRUST_NREASONS ? s_reasons[r] : "unknown";
}

const char *trust_fix_name(trust_fix_t f)
{
    return f < TRUST_NFIXES ? s_fixes[f] : "unknown";
}

/* Not a host one could blackhole: unspecified, loopback, multicast,
 * limited broadcast, IPv4 0/8 and 240/4, IPv6 link-local. */
static bool s_special(const fg_addr_t *a)
{
    if (fg_addr_is_v4(a)) {
        uint32_t v = fg_addr_v4(a);
        return (v >> 24) == 0 || (v >> 24) == 127 || (v >> 28) >= 14;
    }
    if (a->hi == 0 && (a->lo == 0 || a->lo == 1))
        return true; /* ::, ::1 */
    return (a->hi >> 56) == 0xff || (a->hi >> 54) == (0xfe80ULL >> 6);
}

/* Would the route of a ban of a cover a whitelisted address? Only with
 * allow_short_prefixes (prefix_len_v4 < 32 or _v6 < 128). */
static bool s_covers_whitelisted(const fg_config_t *cfg, const fg_addr_t *a)
{
    unsigned len = fg_addr_is_v4(a) ? 96u + (unsigned)cfg->actuator.prefix_len_v4
                                    : (unsigned)cfg->actuator.prefix_len_v6;
    if (len >= 128)
        return false;
    fg_prefix_t p = {.addr = fg_addr_mask(a, len), .len = (uint8_t)len};
    return ptrie_overlaps(cfg->networks.whitelist, &p);
}

trust_reason_t trust_check_addr(const trust_t *self, const fg_addr_t *a, bool force,
                                const fg_hostgroup_t **group)
{
    const fg_config_t *cfg = self->cfg;
    *group = &cfg->groups[0];
    if (s_special(a))
        return TRUST_BAD_ADDRESS;
    if (fg_config_whitelisted(cfg, a) || s_covers_whitelisted(cfg, a))
        return TRUST_WHITELISTED;
    const fg_hostgroup_t *g = fg_config_group(cfg, a);
    if (!g && !force)
        return TRUST_UNMONITORED;
    if (g)
        *group = g;
    return TRUST_OK;
}

trust_reason_t trust_check_decision(const trust_t *self, const Floodgate__Decision *d,
                                    const fg_hostgroup_t **group, uint32_t *ban_time)
{
    fg_addr_t a = {d->addr_hi, d->addr_lo};
    trust_reason_t r = trust_check_addr(self, &a, false, group);
    if (r != TRUST_OK)
        return r;
    const char *why;
    if (dec_validate(d, &why) < 0)
        return TRUST_BAD_FIELD;
    *ban_time = d->ban_time ? d->ban_time : (*group)->ban_time;
    if (*ban_time > (*group)->max_ban_time)
        return TRUST_BAN_TIME;
    return TRUST_OK;
}

bool trust_budget_take(trust_t *self, uint64_t now_ms)
{
    uint64_t window = (uint64_t)self->cfg->actuator.new_bans_window * 1000;
    while (self->ring_count > 0 && self->ring[self->ring_head] + window <= now_ms) {
        self->ring_head = (self->ring_head + 1) % self->ring_n;
        self->ring_count--;
    }
    if (self->ring_count >= self->ring_n) {
        if (!self->rate_told) {
            uint64_t wait = self->ring[self->ring_head] + window - now_ms;
            fg_warn("event=ban_rate_limit new_bans_max=%d new_bans_window=%d free_in_ms=%llu "
                    "hint=\"forged decisions, or a carpet bombing larger than the budget: "
                    "check floodgate_actuator_decisions_refused_total{reason=\\\"ban_rate\\\"}\"",
                    self->cfg->actuator.new_bans_max, self->cfg->actuator.new_bans_window,
                    (unsigned long long)wait);
            self->rate_told = true;
        }
        return false;
    }
    self->rate_told = false;
    self->ring[(self->ring_head + self->ring_count) % self->ring_n] = now_ms;
    self->ring_count++;
    return true;
}

void trust_budget_return(trust_t *self)
{
    if (self->ring_count > 0)
        self->ring_count--;
}

/* Log this line? Once per (what, ip) per TRUST_LOG_MS, TRUST_LOG_BURST per
 * 10 s in all. */
static bool s_may_log(trust_t *self, const char *what, const char *ip)
{
    char k[96];
    uint64_t now = fg_mono_ms();
    snprintf(k, sizeof(k), "%s/%s", what, ip);
    uintptr_t last = (uintptr_t)zhashx_lookup(self->logged, k);
    if (last && now < last + TRUST_LOG_MS)
        return false;
    if (now >= self->burst_start + TRUST_BURST_MS) {
        self->burst_start = now;
        self->burst_lines = 0;
    }
    if (self->burst_lines >= TRUST_LOG_BURST) {
        self->st.log_held++;
        return false;
    }
    self->burst_lines++;
    if (zhashx_size(self->logged) >= TRUST_LOG_TABLE_MAX)
        zhashx_purge(self->logged);
    zhashx_update(self->logged, k, (void *)(uintptr_t)(now ? now : 1));
    return true;
}

void trust_refused(trust_t *self, bool key, const char *ip, trust_reason_t r, const char *detail)
{
    if (r <= TRUST_OK || r >= TRUST_NREASONS)
        return;
    if (key)
        self->st.keys[r]++;
    else
        self->st.decisions[r]++;
    if (r == TRUST_BAN_RATE || r == TRUST_MAX_BANS || !s_may_log(self, s_reasons[r], ip))
        return; /* their callers log once per window */
    fg_warn("event=%s ip=%s reason=%s%s%s held=%llu", key ? "ban_key_refused" : "decision_refused",
            ip, s_reasons[r], detail ? " " : "", detail ? detail : "",
            (unsigned long long)self->st.log_held);
}

void trust_fixed(trust_t *self, const char *ip, trust_fix_t f, const char *detail)
{
    if (f >= TRUST_NFIXES)
        return;
    self->st.fixes[f]++;
    if (s_may_log(self, s_fixes[f], ip))
        fg_warn("event=ban_key_corrected ip=%s fix=%s%s%s", ip, s_fixes[f], detail ? " " : "",
                detail ? detail : "");
}

void trust_forced(trust_t *self, const char *ip)
{
    self->st.forced++;
    fg_warn("event=ban_forced ip=%s source=manual_force note=\"outside networks/monitored, "
            "banned by floodgate ban --force\"",
            ip);
}

void trust_get_stats(const trust_t *self, trust_stats_t *out)
{
    *out = self->st;
}

/* Refuse a ban key: delete it, count, log, record. Returns 0. */
static int s_refuse_key(trust_t *self, store_t *store, ban_t *b, const char *ip,
                        trust_reason_t r, const char *detail, uint64_t now_ms)
{
    snprintf(b->ip, sizeof(b->ip), "%s", ip);
    store_drop_ban(store, ip);
    trust_refused(self, true, ip, r, detail);
    store_record(store, b, "refused", s_reasons[r], false, now_ms);
    ban_clear(b);
    return 0;
}

/* The TTL a key must get (ms), 0 to keep it; counts the fix. */
static uint64_t s_key_ttl(trust_t *self, const ban_t *b, long long pttl, const fg_hostgroup_t *g)
{
    char d[64];
    bool manual = strncmp(b->source, "manual", 6) == 0;
    if (pttl == -1) {
        if (manual && self->cfg->actuator.allow_permanent_manual_bans)
            return 0;
        snprintf(d, sizeof(d), "ban_time=%u", g->ban_time);
        trust_fixed(self, b->ip, TRUST_FIX_NO_TTL, d);
        return (uint64_t)g->ban_time * 1000;
    }
    if (pttl > (long long)g->max_ban_time * 1000) {
        snprintf(d, sizeof(d), "ttl_ms=%lld max_ban_time=%u", pttl, g->max_ban_time);
        trust_fixed(self, b->ip, TRUST_FIX_TTL_CUT, d);
        return (uint64_t)g->max_ban_time * 1000;
    }
    return 0;
}

int trust_vet_key(trust_t *self, store_t *store, const char *ip, uint64_t now_ms, ban_t *out)
{
    store_check_t chk;
    const fg_hostgroup_t *g;
    char detail[64];
    fg_addr_t a;
    int rc = store_read_ban_checked(store, ip, now_ms, out, &chk);
    if (rc == 2)
        return s_refuse_key(self, store, out, ip, TRUST_WRONG_TYPE, NULL, now_ms);
    if (rc <= 0 || fg_addr_parse(ip, &a) < 0)
        return rc < 0 ? -1 : 0;
    /* FlowSpec rules only inside networks/monitored, forced or not */
    bool force = strcmp(out->source, "manual_force") == 0 && !out->flowspec;
    trust_reason_t r = trust_check_addr(self, &a, force, &g);
    snprintf(detail, sizeof(detail), "source=%s", out->source);
    if (r == TRUST_OK && chk.bad_field[0]) {
        r = TRUST_BAD_FIELD;
        snprintf(detail, sizeof(detail), "field=%s", chk.bad_field);
    }
    if (r != TRUST_OK)
        return s_refuse_key(self, store, out, ip, r, detail, now_ms);
    if (chk.ip_mismatch)
        trust_fixed(self, ip, TRUST_FIX_IP_FIELD, NULL);
    uint64_t ttl = s_key_ttl(self, out, chk.pttl, g);
    if ((chk.ip_mismatch || ttl) && store_fix_ban(store, ip, chk.ip_mismatch, ttl) < 0) {
        ban_clear(out);
        return -1;
    }
    if (ttl) {
        out->expires_ms = now_ms + ttl;
        out->expires_at = (int64_t)((out->expires_ms + 500) / 1000);
        out->ban_time = (uint32_t)(ttl / 1000);
    }
    if (fg_config_group(self->cfg, &a))
        snprintf(out->hostgroup, sizeof(out->hostgroup), "%s", g->name);
    else
        trust_forced(self, ip);
    return 1;
}

int trust_recheck_ttl(trust_t *self, store_t *store, ban_t *b, uint64_t now_ms)
{
    const fg_hostgroup_t *g;
    fg_addr_t a;
    long long pttl = store_ban_pttl(store, b->ip);
    if (pttl == -3)
        return -1;
    if (pttl == -2 || fg_addr_parse(b->ip, &a) < 0)
        return 0; /* gone: the scan or the keyspace event unbans it */
    trust_check_addr(self, &a, true, &g);
    uint64_t ttl = s_key_ttl(self, b, pttl, g);
    if (ttl && store_fix_ban(store, b->ip, false, ttl) < 0)
        return -1;
    if (ttl)
        pttl = (long long)ttl;
    b->expires_ms = pttl > 0 ? now_ms + (uint64_t)pttl : 0;
    b->expires_at = pttl > 0 ? (int64_t)((b->expires_ms + 500) / 1000) : 0;
    return 0;
}

trust_reason_t trust_recheck(trust_t *self, store_t *store, ban_t *b, uint64_t now_ms)
{
    const fg_hostgroup_t *g;
    fg_addr_t a;
    if (fg_addr_parse(b->ip, &a) < 0)
        return TRUST_BAD_ADDRESS;
    trust_reason_t r = trust_check_addr(self, &a, strcmp(b->source, "manual_force") == 0, &g);
    if (r == TRUST_OK) {
        trust_recheck_ttl(self, store, b, now_ms);
        return TRUST_OK;
    }
    store_drop_ban(store, b->ip);
    trust_refused(self, true, b->ip, r, "after=reload");
    store_record(store, b, "refused", s_reasons[r], false, now_ms);
    return r;
}
