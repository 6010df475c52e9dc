/* libFuzzer target: one NetFlow v5 datagram per input (collector/netflow_v5.c). */
#include "collector/netflow_v5.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nf5_header_t h;
    raw_flow_t recs[NF5_MAX_RECORDS];
    nf5_status_t st = nf5_decode(data, size, 1, &h, recs);
    if (st == NF5_OK || st == NF5_TRAILING)
        fz_flush(NULL, recs, h.count);
    return 0;
}
