/* libFuzzer target: the listings the actuator reads from `gobgp global rib
 * -j` (actuator/gobgp.c, actuator/gobgp_fs.c). gobgpd is ours, but a peer
 * can put routes with any community and prefix in its RIB. The first byte
 * picks the reader: even, unicast (gobgp_parse_rib: the count it returns is
 * the number of routes handed over, each prefix a short string); odd,
 * FlowSpec (gobgp_fs_parse_rib: each key handed over is a rule key that
 * fs_rule_parse_key takes back). */
#include <stdlib.h>
#include <string.h>

#include "actuator/flowspec.h"
#include "actuator/gobgp.h"
#include "tests/fuzz/fuzz_cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int s_calls;

static void s_route(const char *prefix, bool blackhole, void *arg)
{
    (void)arg;
    (void)blackhole;
    FZ_CHECK(prefix && strlen(prefix) < FG_PREFIX_STRLEN);
    s_calls++;
}

static void s_fs_rule(const char *key, void *arg)
{
    (void)arg;
    fs_rule_t r;
    FZ_CHECK(key && fs_rule_parse_key(key, &r) == 0);
    s_calls++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    s_calls = 0;
    if (data[0] & 1) {
        int n = gobgp_fs_parse_rib(text, s_fs_rule, NULL);
        FZ_CHECK(n == -1 || n == s_calls);
    } else {
        int n = gobgp_parse_rib(text, s_route, NULL);
        FZ_CHECK(n >= -1);
        FZ_CHECK(n < 0 || n == s_calls);
    }
    free(text);
    return 0;
}
