/* fuzz_cfg: a config loaded once from text (through a temporary file, as
 * the daemons load theirs), for the targets that need one, and the
 * invariant check every target uses. */
#ifndef FG_FUZZ_CFG_H
#define FG_FUZZ_CFG_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/config.h"

/* An invariant of the code under test broke: abort with where and why, so
 * libFuzzer keeps the input as a crash. */
#define FZ_CHECK(c)                                                                            \
    do {                                                                                       \
        if (!(c)) {                                                                            \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);         \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

static inline fg_config_t *fz_config(const char *text)
{
    char path[] = "/tmp/fg-fuzz-XXXXXX", err[1024];
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "fuzz: cannot write %s\n", path);
        abort();
    }
    fg_config_t *cfg = fg_config_load(path, err, sizeof(err));
    unlink(path);
    if (!cfg) {
        fprintf(stderr, "fuzz: config: %s\n", err);
        abort();
    }
    return cfg;
}

#endif
