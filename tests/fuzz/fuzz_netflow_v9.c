/* libFuzzer target: one NetFlow v9 datagram per input (collector/netflow_v9.c). */
#include "collector/netflow_v9.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nf9_header_t h;
    if (nf9_header(data, size, &h) != NF9_OK)
        return 0;
    tpl_env_t env;
    fz_env(&env);
    nf9_decode(data, size, &h, &env);
    raw_sink_drain(&fz_sink);
    return 0;
}
