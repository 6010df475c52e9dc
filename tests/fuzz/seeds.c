/* seeds: write the UDP payloads of the pcaps in tests/data/ as one file per
 * datagram into a fuzz seed corpus: seeds OUTDIR PCAP... (plus raw .bin
 * files, copied whole). */
#include <stdio.h>
#include <string.h>

#include "tests/flowtest.h"

static int s_write(const char *dir, const char *base, int i, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s-%03d", dir, base, i);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f);
}

int main(int argc, char **argv)
{
    static ft_pcap_t pc;
    static uint8_t raw[FT_DGRAM_MAX];
    for (int a = 2; a < argc; a++) {
        const char *base = strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a];
        size_t l = strlen(argv[a]);
        if (l > 4 && !strcmp(argv[a] + l - 4, ".bin")) {
            FILE *f = fopen(argv[a], "rb");
            size_t n = f ? fread(raw, 1, sizeof(raw), f) : 0;
            if (f)
                fclose(f);
            if (!n || s_write(argv[1], base, 0, raw, n) != 0)
                return 1;
            continue;
        }
        if (ft_pcap_load(argv[a], &pc) != 0)
            return 1;
        for (int i = 0; i < pc.n; i++)
            if (s_write(argv[1], base, i, pc.data[i], pc.len[i]) != 0)
                return 1;
        ft_pcap_free(&pc);
    }
    return 0;
}
