/* libFuzzer target: one sFlow v5 datagram per input (collector/sflow.c). */
#include "collector/sflow.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sflow_header_t h;
    sflow_stats_t st = {0};
    uint32_t flows = 0;
    if (sflow_header(data, size, &h) != SFLOW_OK)
        return 0;
    sflow_decode(data, size, &h, 1795000000000ULL, 0, 1, &fz_sink, &st, &flows);
    raw_sink_drain(&fz_sink);
    return 0;
}
