/* libFuzzer target: FlowSpec texts read back from Redis or from a GoBGP
 * listing (actuator/flowspec.c, actuator/gobgp_fs.c). The first byte picks
 * the reader, the rest is the text:
 *   even: a rule key (fs_rule_parse_key): one that parses is a host
 *         destination, its fields in range, its canonical key parses to
 *         the same key, and gobgp_fs_args turns it into arguments;
 *   odd:  a rule set (fs_set_parse, <prefix>:flowspec:<ip>): at most
 *         FS_MAX_RULES rules, a known action, a finite rate, and its JSON
 *         (fs_set_json) reads back the same. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "actuator/flowspec.h"
#include "actuator/gobgp.h"
#include "tests/fuzz/fuzz_cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_rule(const fs_rule_t *r)
{
    FZ_CHECK(r->dst.len == 128);
    FZ_CHECK(r->src.len <= 128);
    FZ_CHECK(r->proto >= -1 && r->proto <= 255);
    FZ_CHECK(r->sport >= -1 && r->sport <= 65535 && r->dport >= -1 && r->dport <= 65535);
    char key[FS_RULE_STRLEN], key2[FS_RULE_STRLEN];
    FZ_CHECK(fs_rule_key(r, key, sizeof(key)) == 0);
    fs_rule_t again;
    FZ_CHECK(fs_rule_parse_key(key, &again) == 0);
    FZ_CHECK(fs_rule_key(&again, key2, sizeof(key2)) == 0 && strcmp(key, key2) == 0);
    const char *argv[64];
    char buf[2048];
    FZ_CHECK(gobgp_fs_args(r, FS_DISCARD, 0, "", true, argv, 0, 64, buf, sizeof(buf)) > 0);
    FZ_CHECK(gobgp_fs_args(r, FS_RATE_LIMIT, 1e6, "", true, argv, 0, 64, buf, sizeof(buf)) > 0);
    FZ_CHECK(gobgp_fs_args(r, FS_DISCARD, 0, "", false, argv, 0, 64, buf, sizeof(buf)) > 0);
}

static void s_set(const char *text)
{
    fs_set_t s, s2;
    fs_action_t act, act2;
    double rate = -1, rate2;
    char rt[64], rt2[64];
    if (fs_set_parse(text, &s, &act, &rate, rt, sizeof(rt)) < 0)
        return;
    FZ_CHECK(s.n >= 0 && s.n <= FS_MAX_RULES);
    FZ_CHECK(act == FS_DISCARD || act == FS_RATE_LIMIT || act == FS_REDIRECT_RT);
    FZ_CHECK(isfinite(rate) && rate >= 0);
    FZ_CHECK(strlen(rt) < sizeof(rt));
    for (int i = 0; i < s.n; i++)
        s_rule(&s.rule[i]);
    char *json = fs_set_json(&s, act, rate, rt);
    FZ_CHECK(json);
    FZ_CHECK(fs_set_parse(json, &s2, &act2, &rate2, rt2, sizeof(rt2)) == 0);
    FZ_CHECK(s2.n == s.n && act2 == act);
    FZ_CHECK(act != FS_REDIRECT_RT || strcmp(rt, rt2) == 0);
    (void)rate2;
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] & 1) {
        s_set(text);
    } else {
        fs_rule_t r;
        if (fs_rule_parse_key(text, &r) == 0)
            s_rule(&r);
    }
    free(text);
    return 0;
}
