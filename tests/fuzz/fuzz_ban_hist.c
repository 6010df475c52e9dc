/* libFuzzer target: a history line read back from Redis (actuator/ban.c:
 * ban_hist_parse, ban_from_json, ban_details_pps), written by us or by
 * anyone with write access to <prefix>:history:<ip>. A line either is
 * refused or gives a ban that keeps every limit and whose written forms
 * read back the same. */
#include "tests/fuzz/fuzz_ban.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    memcpy(line, data, size);
    line[size] = '\0';
    ban_hist_t h;
    int rc = ban_hist_parse(line, &h);
    FZ_CHECK(strnlen(h.event, sizeof(h.event)) < sizeof(h.event));
    if (rc < 0)
        FZ_CHECK(h.at == 0 && h.ban_count == 0 && !h.event[0]);
    ban_t b;
    if (ban_from_json(&b, "10.0.1.5", line) == 0) {
        FZ_CHECK(rc == 0);
        fz_ban_ok(&b);
        if (b.details)
            FZ_CHECK(ban_details_pps(b.details) >= -1);
        fz_ban_roundtrip(&b);
        ban_clear(&b);
    }
    FZ_CHECK(ban_details_pps(line) >= -1);
    free(line);
    return 0;
}
