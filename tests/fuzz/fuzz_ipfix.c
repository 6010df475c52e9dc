/* libFuzzer target: one IPFIX message per input (collector/ipfix.c). */
#include "collector/ipfix.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ipfix_header_t h;
    ipfix_status_t st = ipfix_header(data, size, &h);
    if (st != IPFIX_OK && st != IPFIX_TRAILING)
        return 0;
    tpl_env_t env;
    fz_env(&env);
    ipfix_decode(data, &h, &env);
    raw_sink_drain(&fz_sink);
    return 0;
}
