/* act_detect: decisions of a hostgroup that only detects (enable_ban =
 * false): no key, no route, one "detect_only" event per attack. An attack
 * is an address reported (BAN or ONGOING) with no silence longer than its
 * ban_time: a runaway or forged detector that repeats its BAN every
 * window would otherwise write an event each time and push the real
 * events out of the stream (events_max). Every BAN report is still counted
 * in detect_only. */
#include "actuator/act_int.h"

#define ACT_DETECT_MAX 65536 /* addresses remembered (beyond: an event each) */

/* Forget the attacks that ended before now. */
static void s_sweep(act_t *self, uint64_t now)
{
    zlistx_t *keys = zhashx_keys(self->detected);
    for (const char *ip = keys ? zlistx_first(keys) : NULL; ip; ip = zlistx_next(keys))
        if ((uint64_t)(uintptr_t)zhashx_lookup(self->detected, ip) <= now)
            zhashx_delete(self->detected, ip);
    zlistx_destroy(&keys);
}

/* Is p's address under attack already (an event written for it)? Every
 * report moves the attack's end to now + ban_time. */
static bool s_known_attack(act_t *self, const pending_t *p, uint64_t now, uint64_t until)
{
    if (!self->detected && !(self->detected = zhashx_new()))
        return false;
    uintptr_t end = (uintptr_t)zhashx_lookup(self->detected, p->ban.ip);
    if (end && end > now) {
        zhashx_update(self->detected, p->ban.ip, (void *)(uintptr_t)until);
        return true;
    }
    return false;
}

int act_detect_only(act_t *self, pending_t *p, uint32_t ban_time)
{
    uint64_t now = self->opts.mono_ms(), until = now + (uint64_t)(ban_time ? ban_time : 1) * 1000;
    bool known = s_known_attack(self, p, now, until);
    if (p->action == FLOODGATE__ACTION__ONGOING || known) {
        if (p->action == FLOODGATE__ACTION__ONGOING)
            self->st.ongoing++;
        else
            self->st.detect_only++;
        return 0;
    }
    ban_set_times(&p->ban, fg_now_ms());
    if (store_record(self->store, &p->ban, "detect_only", NULL, false, fg_now_ms()) < 0 &&
        act_redis_failed(self, "detect_only"))
        return 1;
    self->st.detect_only++;
    act_log_ban(&p->ban, "detect_only");
    if (self->detected && zhashx_size(self->detected) >= ACT_DETECT_MAX)
        s_sweep(self, now);
    if (self->detected && zhashx_size(self->detected) < ACT_DETECT_MAX)
        zhashx_update(self->detected, p->ban.ip, (void *)(uintptr_t)until);
    return 0;
}
