/* bench_profile: what the normal profile (detector/profile.h) costs the
 * detector.
 *
 *   floodgate-bench-profile [HOSTS [WINDOWS]]   (default 10000 hosts, 20 windows)
 *
 *   1. prof_learn alone on a host window of 25 contributors (8 source
 *      addresses, source ports and destination ports, 1 protocol), their
 *      keys changing every window as a busy host's do: ns per call;
 *   2. det_window on WindowBatches of HOSTS such calm hosts (the profile
 *      learnt in each), per host window: ns, so the profile's share shows;
 *   3. the host state's size with and without the profile.
 * Times are CLOCK_MONOTONIC, best of 5. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/config.h"
#include "detector/attack.h"
#include "detector/detect.h"
#include "detector/profile.h"

#define NTOP 25

typedef struct {
    Floodgate__HostWindow hw;
    Floodgate__Rates total, tcp;
    Floodgate__Contributor c[NTOP];
    Floodgate__Contributor *cp[NTOP];
} hw_t;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Host h's window w: 12 000 pps of TCP, its contributors' keys moving. */
static void s_hw(hw_t *x, uint32_t h, uint32_t w)
{
    floodgate__host_window__init(&x->hw);
    floodgate__rates__init(&x->total);
    floodgate__rates__init(&x->tcp);
    x->hw.addr_lo = 0x0000ffff0a000000ull + h;
    x->total.pps = x->tcp.pps = 12000;
    x->hw.total = &x->total;
    x->hw.tcp = &x->tcp;
    for (int i = 0; i < NTOP; i++) {
        Floodgate__Contributor *c = &x->c[i];
        floodgate__contributor__init(c);
        c->kind = (Floodgate__ContribKind)(i == NTOP - 1 ? 3 : i % 3);
        c->key_lo = c->kind == 0   ? 0x0000ffffc6120000ull + ((w * 7 + (uint32_t)i) << 8)
                    : c->kind == 3 ? 6
                                   : 1024 + (w * 13 + (uint32_t)i * 101) % 60000;
        c->share = c->kind == 3 ? 1 : 0.9 / 8;
        x->cp[i] = c;
    }
    x->hw.n_top = NTOP;
    x->hw.top = x->cp;
}

static int s_emit(const Floodgate__Decision *d, void *arg)
{
    (void)d;
    (void)arg;
    return 0;
}

int main(int argc, char **argv)
{
    uint32_t hosts = argc > 1 ? (uint32_t)atoi(argv[1]) : 10000;
    uint32_t windows = argc > 2 ? (uint32_t)atoi(argv[2]) : 20;
    hw_t *hw = calloc(hosts, sizeof(*hw));
    Floodgate__HostWindow **hp = calloc(hosts, sizeof(*hp));
    char path[] = "/tmp/fg-bench-profile-XXXXXX", err[512];
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!hw || !hp || !f)
        return 1;
    fprintf(f, "networks\n    monitored = 10.0.0.0/8\ndetector\n    max_hosts = %u\n",
            hosts * 2);
    fclose(f);
    fg_config_t *cfg = fg_config_load(path, err, sizeof(err));
    remove(path);
    if (!cfg) {
        fprintf(stderr, "config: %s\n", err);
        return 1;
    }
    double best_learn = 1e9, best_det = 1e9;
    for (int run = 0; run < 5; run++) {
        prof_t p;
        memset(&p, 0, sizeof(p));
        hw_t one[16];
        for (uint32_t w = 0; w < 16; w++)
            s_hw(&one[w], 1, w);
        double t0 = s_now();
        for (uint32_t k = 0; k < 1000000; k++)
            prof_learn(&p, &one[k % 16].hw, 1000, 900);
        double ns = (s_now() - t0) * 1e9 / 1e6;
        best_learn = ns < best_learn ? ns : best_learn;
        det_t *det = det_new(cfg, s_emit, NULL);
        Floodgate__WindowBatch wb = FLOODGATE__WINDOW_BATCH__INIT;
        wb.shards = 1;
        wb.window_ms = 1000;
        wb.n_hosts = hosts;
        wb.hosts = hp;
        double spent = 0;
        for (uint32_t w = 0; w < windows; w++) {
            for (uint32_t h = 0; h < hosts; h++) {
                s_hw(&hw[h], h, w);
                hp[h] = &hw[h].hw;
            }
            wb.seq = w + 1;
            wb.window_end_ms = 1700000000000ULL + 1000ULL * w;
            t0 = s_now();
            det_window(det, &wb, wb.window_end_ms);
            spent += s_now() - t0;
        }
        det_destroy(&det);
        ns = spent * 1e9 / ((double)hosts * windows);
        best_det = ns < best_det ? ns : best_det;
    }
    printf("prof_learn, 25 contributors: %.0f ns/call\n", best_learn);
    printf("det_window, %u calm hosts x %u windows: %.0f ns/host window (profile %.0f %%)\n",
           hosts, windows, best_det, 100 * best_learn / best_det);
    printf("host state: %zu B, of which profile %zu B\n", sizeof(atk_state_t), sizeof(prof_t));
    fg_config_destroy(&cfg);
    free(hw);
    free(hp);
    return 0;
}
