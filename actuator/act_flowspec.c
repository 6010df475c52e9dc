/* act_flowspec: the hostgroup's mitigation applied to a decision (private
 * to the actuator's logic, see act.h).
 *
 *   blackhole               the /32 (/128) route, as always;
 *   detect_only             no block: the decision is recorded detect_only;
 *   flowspec                the rules of flowspec.h, when a set is usable;
 *                           else no block now: counted, logged (rate
 *                           limited) and tried again on the next report
 *                           of the attack (the detector's next window);
 *   flowspec_then_blackhole the rules; the blackhole at once when no set is
 *                           usable, and instead of the rules when the
 *                           detector still reports the attack
 *                           flowspec_escalate_after seconds after the
 *                           rules went out (the flows the exporters send
 *                           are what the routers receive, before the
 *                           rules drop it: a report means the attack did
 *                           not stop at its source, and rate-limit or
 *                           redirect may not hold it).
 * The host's normal traffic breakdown comes with the decision when the
 * detector learnt one (detector/profile.h: the host was above the watch
 * floor in calm windows before the attack); the rules' collateral is
 * estimated from it. Without one, collateral is "unknown" and a rule
 * matching a whole protocol is not used (flowspec.h). The same trust checks as for bans
 * apply (act_decision checks the address before this runs): the rules'
 * destination is the banned address, inside networks/monitored, never
 * whitelisted. */
#include <stdlib.h>
#include <string.h>

#include "actuator/act_int.h"
#include "actuator/flowspec.h"

static const fg_hostgroup_t *s_group(const act_t *self, const char *name)
{
    for (int i = 0; i < self->cfg->n_groups; i++)
        if (strcmp(self->cfg->groups[i].name, name) == 0)
            return &self->cfg->groups[i];
    return NULL;
}

static fs_action_t s_action(const fg_hostgroup_t *g, double *rate)
{
    fs_action_t a = FS_DISCARD;
    fs_action_parse(g->flowspec_action, &a);
    *rate = g->flowspec_rate;
    return a;
}

void act_fs_plan(act_t *self, const fg_hostgroup_t *g, const Floodgate__Decision *d,
                 pending_t *p)
{
    const act_config_t *c = &self->cfg->actuator;
    if (strcmp(g->mitigation, "detect_only") == 0) {
        p->enable_ban = false;
        return;
    }
    if (strncmp(g->mitigation, "flowspec", 8) != 0)
        return;
    fs_params_t par = {.budget = c->flowspec_budget, .target = c->flowspec_target,
                       .max_collateral = c->flowspec_max_collateral,
                       .min_samples = c->flowspec_min_samples, .min_share = 0.01};
    fs_profile_t prof, normal;
    fs_set_t set;
    fg_addr_t dst = {d->addr_hi, d->addr_lo};
    fs_profile_from_decision(&prof, d);
    bool known = fs_profile_from_normal(&normal, d) == 0;
    fs_generate(&par, &dst, &prof, known ? &normal : NULL, &set);
    bool then_bh = strcmp(g->mitigation, "flowspec_then_blackhole") == 0;
    if (set.result != FS_OK) {
        snprintf(p->fs_wait, sizeof(p->fs_wait), "%s", fs_result_name(set.result));
        p->fs_fallback = then_bh;
        return;
    }
    double rate;
    fs_action_t act = s_action(g, &rate);
    p->ban.flowspec = fs_set_json(&set, act, rate, g->flowspec_redirect);
    if (p->ban.flowspec)
        strcpy(p->ban.mitigation, "flowspec");
}

/* Rules in force (the known bans' rule sets). */
static size_t s_rules_in_force(act_t *self)
{
    size_t n = 0;
    fs_set_t set;
    fs_action_t a;
    double rate;
    char rt[32];
    for (ban_t *b = zhashx_first(self->known); b; b = zhashx_next(self->known))
        if (ban_is_flowspec(b) && fs_set_parse(b->flowspec, &set, &a, &rate, rt, sizeof(rt)) == 0)
            n += (size_t)set.n;
    return n;
}

int act_fs_admit(act_t *self, pending_t *p)
{
    if (p->ban.flowspec) {
        fs_set_t set;
        fs_action_t a;
        double rate;
        char rt[32];
        int n = fs_set_parse(p->ban.flowspec, &set, &a, &rate, rt, sizeof(rt)) == 0 ? set.n : 0;
        if (s_rules_in_force(self) + (size_t)n <= (size_t)self->cfg->actuator.flowspec_max_rules)
            return 0;
        free(p->ban.flowspec);
        p->ban.flowspec = NULL;
        p->ban.mitigation[0] = '\0';
        snprintf(p->fs_wait, sizeof(p->fs_wait), "max_rules");
        const fg_hostgroup_t *g = s_group(self, p->ban.hostgroup);
        p->fs_fallback = g && strcmp(g->mitigation, "flowspec_then_blackhole") == 0;
    }
    if (!p->fs_wait[0])
        return 0;
    if (p->fs_fallback) {
        self->st.flowspec_fallbacks++;
        fg_log_rl(&self->rl_flowspec, ACT_RL_MS, FG_LOG_WARN,
                  "event=flowspec_fallback ip=%s reason=%s action=blackhole", p->ban.ip,
                  p->fs_wait);
        return 0;
    }
    self->st.flowspec_waits++;
    fg_log_rl(&self->rl_flowspec, ACT_RL_MS, FG_LOG_WARN,
              "event=flowspec_unusable ip=%s reason=%s action=wait hint=\"%s\"", p->ban.ip,
              p->fs_wait,
              strcmp(p->fs_wait, "max_rules") == 0
                  ? "actuator/flowspec_max_rules rules in force: raise it, or use "
                    "flowspec_then_blackhole"
                  : "no block until a window's breakdown supports rules; mitigation = "
                    "flowspec_then_blackhole falls back to the blackhole");
    return 1;
}

bool act_fs_escalate_due(const act_t *self, const ban_t *k)
{
    const fg_hostgroup_t *g = s_group(self, k->hostgroup);
    return ban_is_flowspec(k) && g && strcmp(g->mitigation, "flowspec_then_blackhole") == 0 &&
           fg_now_ms() / 1000 >= (uint64_t)k->banned_at + g->flowspec_escalate_after;
}

int act_fs_escalate(act_t *self, const ban_t *k)
{
    ban_t nb;
    uint64_t now = fg_now_ms();
    if (ban_copy(&nb, k) < 0)
        return 0;
    strcpy(nb.mitigation, "blackhole"); /* the rules stay in the record */
    if (store_write_ban(self->store, &nb, "escalate", now) < 0) {
        ban_clear(&nb);
        return act_redis_failed(self, "escalate");
    }
    self->st.flowspec_escalations++;
    fg_info("event=escalate ip=%s reason=attack_goes_on after_s=%lld action=blackhole", k->ip,
            (long long)(now / 1000) - (long long)k->banned_at);
    act_backends_unban(self, k, "escalated");
    ban_t *r = act_remember(self, &nb); /* replaces (and frees) k */
    if (r)
        act_backends_ban(self, r);
    return 0;
}
