/* fuzz_ban: what every ban the actuator holds keeps, whoever wrote it
 * (actuator/ban.c), and that its two written forms, the Redis hash
 * (ban_fields) and the history line (ban_json), read back the same. */
#ifndef FG_FUZZ_BAN_H
#define FG_FUZZ_BAN_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "actuator/ban.h"
#include "tests/fuzz/fuzz_cfg.h"

static inline bool fz_ban_str(const char *s, size_t size)
{
    return strnlen(s, size) < size;
}

static inline void fz_ban_ok(const ban_t *b)
{
    FZ_CHECK(fz_ban_str(b->ip, sizeof(b->ip)) && fz_ban_str(b->attack_type, sizeof(b->attack_type)));
    FZ_CHECK(fz_ban_str(b->metric, sizeof(b->metric)) && fz_ban_str(b->hostgroup, sizeof(b->hostgroup)));
    FZ_CHECK(!strcmp(b->direction, "incoming") || !strcmp(b->direction, "outgoing"));
    FZ_CHECK(!strcmp(b->source, "detector") || !strcmp(b->source, "manual") ||
             !strcmp(b->source, "manual_force"));
    FZ_CHECK(!b->mitigation[0] || !strcmp(b->mitigation, "blackhole") ||
             !strcmp(b->mitigation, "flowspec"));
    FZ_CHECK(isfinite(b->value) && b->value >= 0 && isfinite(b->threshold) && b->threshold >= 0);
    FZ_CHECK(!b->details || strlen(b->details) <= BAN_DETAILS_MAX);
}

/* The same ban, as far as its written forms carry it. */
static inline void fz_ban_same(const ban_t *a, const ban_t *b)
{
    FZ_CHECK(!strcmp(a->attack_type, b->attack_type) && !strcmp(a->direction, b->direction));
    FZ_CHECK(!strcmp(a->metric, b->metric) && !strcmp(a->hostgroup, b->hostgroup));
    FZ_CHECK(!strcmp(a->source, b->source) && a->ban_count == b->ban_count);
    FZ_CHECK(a->banned_at == b->banned_at);
    FZ_CHECK(!a->flowspec == !b->flowspec);
}

/* Write b as its hash and as its history line, read both back. */
static inline void fz_ban_roundtrip(const ban_t *b)
{
    ban_fields_t f;
    ban_t h = {0}, j;
    ban_fields(b, &f);
    snprintf(h.ip, sizeof(h.ip), "%s", b->ip);
    strcpy(h.direction, "incoming");
    strcpy(h.source, "manual");
    for (int i = 0; i < f.n; i++) {
        /* a time of 0 is written "" and never by the actuator: every ban
         * it writes has its times (ban_set_times, or store_read's now) */
        if (!strcmp(f.name[i], "ip") || !strcmp(f.name[i], "expires_at") ||
            (!strcmp(f.name[i], "banned_at") && !f.value[i][0]))
            continue;
        if (ban_set_field(&h, f.name[i], f.value[i]) != 0) {
            fprintf(stderr, "field %s=\"%.80s\" written, refused when read back\n", f.name[i],
                    f.value[i]);
            abort();
        }
    }
    fz_ban_ok(&h);
    fz_ban_same(b, &h);
    char *line = ban_json(b, "ban", NULL, 1764500000000ULL);
    FZ_CHECK(line);
    ban_hist_t hist;
    FZ_CHECK(ban_hist_parse(line, &hist) == 0 && !strcmp(hist.event, "ban"));
    FZ_CHECK(hist.ban_count == b->ban_count);
    FZ_CHECK(ban_from_json(&j, b->ip, line) == 0);
    fz_ban_ok(&j);
    fz_ban_same(b, &j);
    free(line);
    ban_clear(&j);
    ban_clear(&h);
}

#endif
