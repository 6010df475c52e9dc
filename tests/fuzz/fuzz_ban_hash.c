/* libFuzzer target: a ban HASH read back from Redis (<prefix>:ban:<ip>,
 * written by us, by `floodgate ban` or by hand): the fields go through
 * ban_set_field as store_read.c does, the key's address through the trust
 * checks (actuator/trust.c: trust_check_addr, forced for manual_force).
 * Input: the key's address, then field name, value, name, value, ...
 * separated by NUL bytes. Whatever the fields, the ban keeps every limit,
 * its hash and history line read back the same, and an address the trust
 * checks pass is a monitored (or forced) unicast host, never whitelisted. */
#include "actuator/flowspec.h"
#include "actuator/trust.h"
#include "tests/fuzz/fuzz_ban.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fg_config_t *s_cfg;
static trust_t *s_trust;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_cfg) {
        s_cfg = fz_config("networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
                          "    whitelist = \"10.0.0.53/32, 2001:db8:100::53/128\"\n"
                          "hostgroup\n    web\n        networks = \"10.0.1.0/24\"\n"
                          "        ban_time = 600\n        max_ban_time = 3600\n");
        s_trust = trust_new(s_cfg);
        FZ_CHECK(s_trust);
    }
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    const char *end = text + size, *p = text;
    ban_t b = {0};
    snprintf(b.ip, sizeof(b.ip), "%s", p);
    strcpy(b.direction, "incoming");
    strcpy(b.source, "manual");
    strcpy(b.attack_type, "manual");
    p += strlen(p) + 1;
    while (p < end) {
        const char *name = p, *value = p + strlen(p) + 1;
        if (value > end)
            break;
        ban_set_field(&b, name, value);
        p = value + strlen(value) + 1;
    }
    fz_ban_ok(&b);
    if (b.details)
        FZ_CHECK(ban_details_pps(b.details) >= -1);
    fg_addr_t a;
    if (fg_addr_parse(b.ip, &a) == 0) {
        const fg_hostgroup_t *g = NULL;
        bool force = strcmp(b.source, "manual_force") == 0 && !b.flowspec;
        trust_reason_t r = trust_check_addr(s_trust, &a, force, &g);
        FZ_CHECK(r < TRUST_NREASONS && g);
        if (r == TRUST_OK) {
            FZ_CHECK(!fg_config_whitelisted(s_cfg, &a));
            FZ_CHECK(force || fg_config_group(s_cfg, &a));
        }
        /* rules a hash may carry are for its own address only */
        fs_set_t set;
        fs_action_t act;
        double rate;
        char rt[32];
        if (b.flowspec && fs_set_parse(b.flowspec, &set, &act, &rate, rt, sizeof(rt)) == 0)
            for (int i = 0; i < set.n; i++)
                FZ_CHECK(fg_addr_eq(&set.rule[i].dst.addr, &a));
        fz_ban_roundtrip(&b);
    } else {
        FZ_CHECK(!b.flowspec);
    }
    ban_clear(&b);
    free(text);
    return 0;
}
