/* libFuzzer target: floodgate.conf (common/zpl.c, common/config.c and each
 * daemon's schema), loaded from a file as the daemons do. Every file is
 * loaded or refused with "FILE:LINE: reason" (or "FILE: reason" for what
 * belongs to no line); one that loads reloads (SIGHUP) to the same
 * config, with no restart-only key changed. */
#include <string.h>

#include "tests/fuzz/fuzz_cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char s_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_path[0]) {
        snprintf(s_path, sizeof(s_path), "/tmp/fg-fuzz-config-%d.conf", (int)getpid());
        unsetenv("FLOODGATE_COLLECTOR_ID"); /* no environment override */
    }
    FILE *f = fopen(s_path, "wb");
    FZ_CHECK(f && fwrite(data, 1, size, f) == size && fclose(f) == 0);
    char err[1024] = "", restart[1024];
    fg_config_t *cfg = fg_config_load(s_path, err, sizeof(err));
    if (!cfg) {
        size_t n = strlen(s_path);
        FZ_CHECK(!strncmp(err, s_path, n) && err[n] == ':');
        const char *p = err + n + 1;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p > err + n + 1)
            FZ_CHECK(*p++ == ':');
        FZ_CHECK(*p == ' ' && p[1]);
    } else {
        FZ_CHECK(cfg->n_groups >= 1 && cfg->n_groups <= FG_MAX_GROUPS);
        int rc = fg_config_reload(cfg, restart, sizeof(restart), err, sizeof(err));
        if (rc != 0)
            fprintf(stderr, "reload: rc=%d restart=%s err=%s\n", rc, restart, err);
        FZ_CHECK(rc == 0);
        fg_config_destroy(&cfg);
    }
    unlink(s_path);
    return 0;
}
