/* `floodgate replay` and `floodgate tune`: what-if detection on recorded
 * flow exports (engine in replay_run.c). Everything printed on standard
 * output depends on the captures and the config only; the speed line of
 * --max goes to standard error. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/replay.h"
#include "common/classes.h"
#include "common/fgjson.h"

typedef struct {
    const char *conf;
    const char *other; /* --diff */
    double speed;      /* 0: --max */
    double margin;     /* tune */
    int json;
    int max;
    char **caps;
    int n_caps;
} rp_args_t;

static const char *s_kind[] = {"src", "sport", "dport", "proto", "exporter"};

static char *s_time(uint64_t ms, char *buf, size_t len)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03uZ", (unsigned)(ms % 1000));
    return buf;
}

static char *s_contrib(const rp_contrib_t *t, char *buf, size_t len)
{
    char a[FG_ADDR_STRLEN];
    const char *k = t->kind >= 0 && t->kind < 5 ? s_kind[t->kind] : "?";
    if (t->kind == 0)
        snprintf(buf, len, "%s %s %.0f%%", k, fg_addr_format(&t->key, a), t->share * 100);
    else
        snprintf(buf, len, "%s %llu %.0f%%", k, (unsigned long long)t->key.lo, t->share * 100);
    return buf;
}

static void s_print_ban(const rp_ban_t *b, const char *mark)
{
    char a[FG_ADDR_STRLEN], t[40], c[80];
    printf("%s%s %s %s %s %s %.1f > %.1f hostgroup=%s", mark, s_time(b->decided_ms, t, sizeof(t)),
           fg_addr_format(&b->addr, a), b->dir ? "out" : "in", b->attack_type, b->metric, b->value,
           b->threshold, b->hostgroup);
    for (int i = 0; i < b->n_top; i++)
        printf("%s%s", i ? ", " : " top: ", s_contrib(&b->top[i], c, sizeof(c)));
    printf("\n");
}

static void s_print_rates(const fg_config_t *cfg, const rp_result_t *r)
{
    printf("rates of published host windows (peak / p99):\n");
    for (int g = 0; g < cfg->n_groups; g++)
        for (int d = 0; d < 2; d++) {
            const rp_group_stats_t *gs = r->groups[g][d];
            if (!gs)
                continue;
            printf("  hostgroup %s %s (%llu windows)\n", cfg->groups[g].name, d ? "out" : "in",
                   (unsigned long long)gs->s[0][0].n);
            for (int c = 0; c < FG_CLASSES; c++) {
                const rp_series_t *s = gs->s[c];
                if (s[0].peak <= 0 && s[1].peak <= 0 && s[2].peak <= 0)
                    continue;
                printf("    %-8s pps %.1f / %.1f  mbps %.3f / %.3f  flows %.1f / %.1f\n",
                       fg_class_name(c), s[0].peak, rp_quantile(&s[0], 0.99), s[1].peak,
                       rp_quantile(&s[1], 0.99), s[2].peak, rp_quantile(&s[2], 0.99));
            }
        }
}

static void s_print_text(const fg_config_t *cfg, const rp_result_t *r)
{
    char a[40], b[40];
    printf("replay: %llu packets, %llu datagrams, %llu skipped, %llu records (%llu monitored), "
           "%llu malformed, %llu windows\n",
           (unsigned long long)r->packets, (unsigned long long)r->datagrams,
           (unsigned long long)r->skipped, (unsigned long long)r->records,
           (unsigned long long)r->kept, (unsigned long long)r->malformed,
           (unsigned long long)r->windows);
    if (r->nfcapd_records)
        printf("nfcapd: %llu records read through nfdump\n",
               (unsigned long long)r->nfcapd_records);
    if (r->packets || r->nfcapd_records)
        printf("capture: %s to %s\n", s_time(r->first_ms, a, sizeof(a)),
               s_time(r->last_ms, b, sizeof(b)));
    else
        printf("capture: empty (no packets)\n");
    printf("bans: %zu (ongoing decisions %llu)\n", r->n_bans, (unsigned long long)r->ongoing);
    for (size_t i = 0; i < r->n_bans; i++)
        s_print_ban(&r->bans[i], "  ");
    s_print_rates(cfg, r);
}

static json_t *s_ban_json(const rp_ban_t *b, bool *ok)
{
    char a[FG_ADDR_STRLEN], t[40], c[80];
    json_t *o = json_object(), *top = json_array();
    fgjson_set_str(o, "address", fg_addr_format(&b->addr, a), ok);
    fgjson_set_str(o, "time", s_time(b->decided_ms, t, sizeof(t)), ok);
    fgjson_set_uint(o, "time_ms", b->decided_ms, ok);
    fgjson_set_str(o, "direction", b->dir ? "out" : "in", ok);
    fgjson_set_str(o, "attack_type", b->attack_type, ok);
    fgjson_set_str(o, "metric", b->metric, ok);
    fgjson_set_fixed(o, "value", b->value, 1, ok);
    fgjson_set_fixed(o, "threshold", b->threshold, 1, ok);
    fgjson_set_str(o, "hostgroup", b->hostgroup, ok);
    for (int i = 0; i < b->n_top; i++)
        fgjson_append_new(top, fgjson_str(s_contrib(&b->top[i], c, sizeof(c))), ok);
    fgjson_set_new(o, "top", top, ok);
    return o;
}

static json_t *s_rates_json(const fg_config_t *cfg, const rp_result_t *r, bool *ok)
{
    json_t *arr = json_array();
    for (int g = 0; g < cfg->n_groups; g++)
        for (int d = 0; d < 2; d++) {
            const rp_group_stats_t *gs = r->groups[g][d];
            if (!gs)
                continue;
            json_t *o = json_object();
            fgjson_set_str(o, "hostgroup", cfg->groups[g].name, ok);
            fgjson_set_str(o, "direction", d ? "out" : "in", ok);
            fgjson_set_uint(o, "windows", gs->s[0][0].n, ok);
            for (int c = 0; c < FG_CLASSES; c++)
                for (int m = 0; m < RP_METRICS; m++) {
                    json_t *v = json_object();
                    fgjson_set_fixed(v, "peak", gs->s[c][m].peak, 3, ok);
                    fgjson_set_fixed(v, "p99", rp_quantile(&gs->s[c][m], 0.99), 3, ok);
                    fgjson_set_new(o, fg_class_metric(c, m), v, ok);
                }
            fgjson_append_new(arr, o, ok);
        }
    return arr;
}

static int s_print_json(const fg_config_t *cfg, const rp_result_t *r)
{
    bool ok = true;
    json_t *o = json_object(), *bans = json_array();
    fgjson_set_uint(o, "packets", r->packets, &ok);
    fgjson_set_uint(o, "datagrams", r->datagrams, &ok);
    if (r->nfcapd_records)
        fgjson_set_uint(o, "nfcapd_records", r->nfcapd_records, &ok);
    fgjson_set_uint(o, "skipped", r->skipped, &ok);
    fgjson_set_uint(o, "records", r->records, &ok);
    fgjson_set_uint(o, "monitored_records", r->kept, &ok);
    fgjson_set_uint(o, "malformed", r->malformed, &ok);
    fgjson_set_uint(o, "windows", r->windows, &ok);
    fgjson_set_uint(o, "first_ms", r->first_ms, &ok);
    fgjson_set_uint(o, "last_ms", r->last_ms, &ok);
    fgjson_set_uint(o, "ongoing", r->ongoing, &ok);
    fgjson_set_uint(o, "truncated_files", r->truncated_files, &ok);
    for (size_t i = 0; i < r->n_bans; i++)
        fgjson_append_new(bans, s_ban_json(&r->bans[i], &ok), &ok);
    fgjson_set_new(o, "bans", bans, &ok);
    fgjson_set_new(o, "rates", s_rates_json(cfg, r, &ok), &ok);
    int rc = ok ? fgjson_print(o, stdout) : -1;
    json_decref(o);
    return rc;
}

/* ---- arguments ---- */

static int s_usage(const char *cmd)
{
    if (!strcmp(cmd, "tune"))
        fprintf(stderr,
                "usage: floodgate [-c CONF] tune [--margin X] [--speed X | --max] CAPTURE...\n");
    else
        fprintf(stderr, "usage: floodgate [-c CONF] replay [--speed X | --max] [--json] "
                        "[--diff OTHER.conf] CAPTURE...\n");
    return 2;
}

static int s_num(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(v > 0) || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int s_args(int argc, char **argv, rp_args_t *a)
{
    a->margin = 2.0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *o = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(o, "--max")) {
            a->max = 1;
            a->speed = 0;
        } else if (!strcmp(o, "--json")) {
            a->json = 1;
        } else if (!strcmp(o, "--speed") && has) {
            if (s_num(argv[++i], &a->speed) != 0)
                return -1;
            a->max = 0;
        } else if (!strcmp(o, "--margin") && has) {
            if (s_num(argv[++i], &a->margin) != 0)
                return -1;
        } else if (!strcmp(o, "--diff") && has) {
            a->other = argv[++i];
        } else {
            return -1;
        }
    }
    a->caps = argv + i;
    a->n_caps = argc - i;
    return a->n_caps > 0 ? 0 : -1;
}

/* Replay with cfg, the rates without the hosts of exclude (may be NULL);
 * --max prints the records/s on stderr. */
static int s_run_x(const fg_config_t *cfg, const rp_args_t *a, const rp_result_t *exclude,
                   rp_result_t *r)
{
    char err[512];
    struct timespec t0, t1;
    rp_opts_t o = {.speed = a->speed};
    if (exclude) {
        o.exclude = exclude->bans;
        o.n_exclude = exclude->n_bans;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (rp_run(cfg, a->caps, a->n_caps, &o, r, err, sizeof(err)) != 0) {
        fprintf(stderr, "floodgate: replay: %s\n", err);
        return -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (r->truncated_files)
        fprintf(stderr, "floodgate: replay: warning: %llu capture(s) cut short; %s\n",
                (unsigned long long)r->truncated_files, r->warning);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (a->max) {
        double span = (double)(r->last_ms - r->first_ms) / 1000.0;
        fprintf(stderr, "replay: %llu records in %.3f s: %.0f records/s, %.1fx real time\n",
                (unsigned long long)r->records, s, s > 0 ? (double)r->records / s : 0,
                s > 0 ? span / s : 0);
    }
    return 0;
}

static int s_run(const fg_config_t *cfg, const rp_args_t *a, rp_result_t *r)
{
    return s_run_x(cfg, a, NULL, r);
}

/* ---- --diff ---- */

static int s_same_host(const rp_ban_t *x, const rp_ban_t *y)
{
    return fg_addr_eq(&x->addr, &y->addr) && x->dir == y->dir;
}

/* The k-th ban of x's host and direction in r (k from 0), or NULL. */
static const rp_ban_t *s_nth(const rp_result_t *r, const rp_ban_t *x, int k)
{
    for (size_t i = 0; i < r->n_bans; i++)
        if (s_same_host(&r->bans[i], x) && k-- == 0)
            return &r->bans[i];
    return NULL;
}

static int s_rank(const rp_result_t *r, size_t idx)
{
    int k = 0;
    for (size_t i = 0; i < idx; i++)
        k += s_same_host(&r->bans[i], &r->bans[idx]);
    return k;
}

/* Bans of a (this config) against b (OTHER): "-" only in a, "+" only in
 * b, "~" in both with another time, type or metric (b's shown, a's after
 * "was"). Returns how many differ. */
static int s_diff(const rp_result_t *a, const rp_result_t *b)
{
    int n = 0;
    char t[40];
    for (size_t i = 0; i < a->n_bans; i++) {
        const rp_ban_t *x = &a->bans[i], *y = s_nth(b, x, s_rank(a, i));
        if (!y) {
            s_print_ban(x, "- ");
            n++;
        } else if (x->decided_ms != y->decided_ms || strcmp(x->attack_type, y->attack_type) ||
                   strcmp(x->metric, y->metric)) {
            s_print_ban(y, "~ ");
            printf("    was %s %s %s %.1f > %.1f\n", s_time(x->decided_ms, t, sizeof(t)),
                   x->attack_type, x->metric, x->value, x->threshold);
            n++;
        }
    }
    for (size_t i = 0; i < b->n_bans; i++)
        if (!s_nth(a, &b->bans[i], s_rank(b, i))) {
            s_print_ban(&b->bans[i], "+ ");
            n++;
        }
    return n;
}

static int s_replay_diff(const fg_config_t *cfg, const rp_args_t *a, rp_result_t *r)
{
    fg_config_t *other = cli_config(a->other);
    rp_result_t r2;
    if (!other)
        return 2;
    if (s_run(other, a, &r2) != 0) {
        fg_config_destroy(&other);
        return 1;
    }
    printf("diff: %s (%zu bans) -> %s (%zu bans)\n", cfg->path, r->n_bans, other->path, r2.n_bans);
    int n = s_diff(r, &r2);
    printf("%d bans differ\n", n);
    rp_result_free(&r2);
    fg_config_destroy(&other);
    return 0;
}

int cli_replay(int argc, char **argv, const char *conf)
{
    rp_args_t a = {.conf = conf};
    if (s_args(argc, argv, &a) != 0)
        return s_usage("replay");
    fg_config_t *cfg = cli_config(conf);
    if (!cfg)
        return 2;
    rp_result_t r;
    int rc = 1;
    if (s_run(cfg, &a, &r) == 0) {
        if (a.other)
            rc = s_replay_diff(cfg, &a, &r);
        else
            rc = (a.json ? s_print_json(cfg, &r) : (s_print_text(cfg, &r), 0)) == 0 ? 0 : 1;
        rp_result_free(&r);
    }
    fg_config_destroy(&cfg);
    return rc;
}

/* ---- tune ---- */

/* v rounded up to two significant digits (0 stays 0). */
static double s_round_up(double v)
{
    if (!(v > 0))
        return 0;
    double p = pow(10, floor(log10(v)) - 1);
    return ceil(v / p - 1e-9) * p;
}

/* The proposal for one group and direction into th (classes FG_CLS_*):
 * the total from margin x the peak of the host windows; a class only where
 * margin x its peak is under half the total's (so it catches a flood of
 * that class before the total does). */
static void s_propose(const rp_group_stats_t *gs, double margin, fg_thresholds_t th[FG_CLASSES])
{
    memset(th, 0, sizeof(fg_thresholds_t) * FG_CLASSES);
    for (int c = 0; c < FG_CLASSES; c++) {
        double v[RP_METRICS];
        for (int m = 0; m < RP_METRICS; m++)
            v[m] = s_round_up(margin * gs->s[c][m].peak);
        if (c == FG_CLS_TOTAL) {
            th[c] = (fg_thresholds_t){v[0], v[1], v[2]};
            continue;
        }
        if (c == FG_CLS_TCP || c == FG_CLS_OTHER)
            continue; /* the total covers them */
        if (v[0] > 0 && v[0] < th[0].pps / 2)
            th[c].pps = v[0];
    }
}

static void s_print_fragment(const fg_config_t *cfg, const fg_config_t *tuned,
                             const rp_result_t *rates, const rp_result_t *now, double margin)
{
    printf("# floodgate tune: thresholds = %.2f x the peak rate of the host windows of each\n"
           "# hostgroup in the capture (every host, rounded up to two digits), leaving out\n"
           "# the %zu hosts the current config bans:\n",
           margin, now->n_bans);
    for (size_t i = 0; i < now->n_bans; i++)
        s_print_ban(&now->bans[i], "#   ");
    printf("hostgroup\n");
    for (int g = 0; g < cfg->n_groups; g++) {
        if (!rates->groups[g][0] && !rates->groups[g][1])
            continue;
        printf("    %s\n", cfg->groups[g].name);
        for (int d = 0; d < 2; d++) {
            if (!rates->groups[g][d])
                continue;
            for (int c = 0; c < FG_CLASSES; c++)
                for (int m = 0; m < RP_METRICS; m++) {
                    const double *th = &tuned->groups[g].th[d][c].pps;
                    if (th[m] > 0)
                        printf("        %sthreshold_%s = %g\n", d ? "out_" : "",
                               fg_class_metric(c, m), th[m]);
                }
        }
    }
}

/* Propose from the rates of every host (watch floor 0) but those banned
 * now, then replay the proposal. */
static int s_tune(const fg_config_t *cfg, fg_config_t *tuned, rp_args_t *a)
{
    rp_result_t now, rates, after;
    if (s_run(cfg, a, &now) != 0)
        return 1;
    a->max = 0;    /* one speed line is enough */
    *tuned = *cfg; /* shares cfg's tries: never destroyed itself */
    tuned->aggregator.watch_floor = 0;
    int rc = 1;
    if (s_run_x(tuned, a, &now, &rates) != 0)
        goto out_now;
    *tuned = *cfg;
    int seen = 0;
    for (int g = 0; g < cfg->n_groups; g++)
        for (int d = 0; d < 2; d++)
            if (rates.groups[g][d]) {
                s_propose(rates.groups[g][d], a->margin, tuned->groups[g].th[d]);
                seen++;
            }
    if (!seen) {
        fprintf(stderr,
                "floodgate: tune: no traffic of a monitored host in the capture "
                "(%llu records, %llu monitored): nothing to propose\n",
                (unsigned long long)rates.records, (unsigned long long)rates.kept);
        rp_result_free(&rates);
        goto out_now;
    }
    s_print_fragment(cfg, tuned, &rates, &now, a->margin);
    if (s_run(tuned, a, &after) == 0) {
        printf("# with these thresholds: %zu bans (now %zu)\n", after.n_bans, now.n_bans);
        for (size_t i = 0; i < after.n_bans; i++)
            s_print_ban(&after.bans[i], "#   ");
        rp_result_free(&after);
        rc = 0;
    }
    rp_result_free(&rates);
out_now:
    rp_result_free(&now);
    return rc;
}

int cli_tune(int argc, char **argv, const char *conf)
{
    rp_args_t a = {.conf = conf};
    if (s_args(argc, argv, &a) != 0 || a.other || a.json)
        return s_usage("tune");
    fg_config_t *cfg = cli_config(conf);
    if (!cfg)
        return 2;
    fg_config_t *tuned = malloc(sizeof(*tuned));
    int rc = tuned ? s_tune(cfg, tuned, &a) : 1;
    free(tuned);
    fg_config_destroy(&cfg);
    return rc;
}
