/* libFuzzer target: Decision bytes (common/decision.c) as the actuator
 * takes them from whoever reaches its PULL socket. A decision that
 * dec_validate accepts keeps every documented limit, packs again, passes
 * or is refused by the actuator's trust checks (actuator/trust.c) without
 * harm, and becomes a ban whose history line reads back the same. */
#include <math.h>
#include <string.h>

#include "actuator/ban.h"
#include "actuator/trust.h"
#include "common/decision.h"
#include "tests/fuzz/fuzz_ban.h"
#include "tests/fuzz/fuzz_cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fg_config_t *s_cfg;
static trust_t *s_trust;

static void s_init(void)
{
    if (s_cfg)
        return;
    s_cfg = fz_config("networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
                      "    whitelist = \"10.0.0.53/32\"\n"
                      "hostgroup\n    web\n        networks = \"10.0.1.0/24\"\n"
                      "        ban_time = 600\n        max_ban_time = 3600\n");
    s_trust = trust_new(s_cfg);
    FZ_CHECK(s_trust);
}

static void s_num(double v)
{
    FZ_CHECK(isfinite(v) && v >= 0);
}

/* The limits dec_validate promises. */
static void s_limits(const Floodgate__Decision *d)
{
    s_num(d->value);
    s_num(d->threshold);
    const Floodgate__Rates *r[] = {d->total, d->tcp_syn, d->frag};
    for (size_t i = 0; i < 3; i++)
        if (r[i]) {
            s_num(r[i]->pps);
            s_num(r[i]->bps);
            s_num(r[i]->fps);
        }
    FZ_CHECK(d->n_top <= DEC_MAX_TOP);
    for (size_t i = 0; i < d->n_top; i++)
        if (d->top[i]) {
            s_num(d->top[i]->share);
            FZ_CHECK(d->top[i]->kind <= FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER);
        }
    FZ_CHECK(!d->attack_type || strlen(d->attack_type) < DEC_ATTACK_TYPE_MAX);
    FZ_CHECK(!d->metric || strlen(d->metric) < DEC_METRIC_MAX);
    FZ_CHECK(!d->hostgroup || strlen(d->hostgroup) < DEC_HOSTGROUP_MAX);
    FZ_CHECK(d->direction == FLOODGATE__DIRECTION__DIR_IN ||
             d->direction == FLOODGATE__DIRECTION__DIR_OUT);
}

/* The ban it becomes, and its written forms read back. */
static void s_ban(const Floodgate__Decision *d)
{
    ban_t b = {0};
    FZ_CHECK(ban_from_decision(&b, d) == 0);
    ban_set_times(&b, 1764500000000ULL);
    fz_ban_ok(&b);
    fz_ban_roundtrip(&b);
    ban_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_init();
    int overflow = -1;
    FZ_CHECK(dec_wire_overflow(data, size) >= -1);
    Floodgate__Decision *d = dec_unpack(data, size, &overflow);
    if (!d)
        return 0;
    FZ_CHECK(overflow >= 0);
    const fg_hostgroup_t *g = NULL;
    uint32_t ban_time = 0;
    trust_reason_t tr = trust_check_decision(s_trust, d, &g, &ban_time);
    FZ_CHECK(tr < TRUST_NREASONS && g);
    const char *why = NULL;
    if (dec_validate(d, &why) < 0) {
        FZ_CHECK(why && *why);
        FZ_CHECK(tr != TRUST_OK);
        dec_free(&d);
        return 0;
    }
    s_limits(d);
    if (tr == TRUST_OK)
        FZ_CHECK(ban_time > 0 && ban_time <= g->max_ban_time);
    static uint8_t buf[DEC_MAX_BYTES];
    size_t n = dec_pack(d, buf, sizeof(buf), &why);
    if (n) {
        int ov2;
        Floodgate__Decision *again = dec_unpack(buf, n, &ov2);
        FZ_CHECK(again && dec_validate(again, &why) == 0);
        dec_free(&again);
    }
    s_ban(d);
    dec_free(&d);
    return 0;
}
