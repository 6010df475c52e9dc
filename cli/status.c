/* cli/status.c: `floodgate status`, one screen per deployment.
 *
 * Processes are found through their metrics endpoints: the metrics_listen
 * of each section of the config (one per aggregator shard), plus any given
 * with --target NAME=HOST:PORT (collectors on other hosts). Each is scraped
 * twice, --interval seconds apart, for rates; /healthz gives its verdict.
 * Redis is asked directly (PING, count of ban keys). Exit code 0 when all is
 * well, 1 when anything is wrong (each problem is listed), 2 bad usage. */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/scrape.h"
#include "common/fgjson.h"
#include "common/fgredis.h"

#define ST_TIMEOUT_MS 2500
#define ST_MAX_LOSS 6
#define ST_MAX_PROBLEMS 64

typedef struct {
    const char *name, *filter;
} st_series_t;

/* What flows in and out of each kind of process, and what counts as lost. */
typedef struct {
    const char *kind;
    st_series_t in, out;
    const char *in_what, *out_what;
    st_series_t loss[ST_MAX_LOSS];
} st_stage_t;

static const st_stage_t s_stages[] = {
    {"collector",
     {"floodgate_collector_records_total", "result=\"decoded\""},
     {"floodgate_collector_records_total", "result=\"sent\""},
     "records",
     "flows",
     {{"floodgate_collector_socket_drops_total", NULL},
      {"floodgate_collector_sequence_lost_records_total", NULL},
      {"floodgate_collector_records_total", "result=\"dropped\""},
      {"floodgate_collector_datagrams_malformed_total", NULL},
      {"floodgate_collector_sequence_lost_datagrams_total", NULL}}},
    {"aggregator",
     {"floodgate_aggregator_records_total", NULL},
     {"floodgate_aggregator_windows_total", NULL},
     "records",
     "windows",
     {{"floodgate_aggregator_batches_lost_total", NULL},
      {"floodgate_aggregator_batches_malformed_total", NULL},
      {"floodgate_aggregator_records_ignored_total", "reason=\"table_full\""},
      {"floodgate_aggregator_records_ignored_total", "reason=\"stale\""},
      {"floodgate_aggregator_windows_publish_failed_total", NULL}}},
    {"detector",
     {"floodgate_detector_windows_total", NULL},
     {"floodgate_detector_decisions_total", NULL},
     "windows",
     "decisions",
     {{"floodgate_detector_windows_lost_total", NULL},
      {"floodgate_detector_windows_malformed_total", NULL},
      {"floodgate_detector_decisions_dropped_total", NULL}}},
    {"actuator",
     {"floodgate_actuator_decisions_total", NULL},
     {"floodgate_actuator_bans_total", "result=\"applied\""},
     "decisions",
     "bans",
     {{"floodgate_actuator_queue_dropped_total", NULL},
      {"floodgate_actuator_decisions_malformed_total", NULL}}},
};

typedef struct {
    scrape_target_t t;
    char *m0, *m1;        /* the two scrapes, NULL when unreachable */
    double at1;           /* wall clock of the second scrape */
    bool second;          /* the pass s_scrape_thread does */
    char err[256];
    int health_code;
    char health[256];
    const st_stage_t *stage;
    double in_rate, out_rate, lost, lost_new;
} st_proc_t;

typedef struct {
    char items[ST_MAX_PROBLEMS][320];
    int n;
} st_problems_t;

static void s_problem(st_problems_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_problem(st_problems_t *p, const char *fmt, ...)
{
    if (p->n >= ST_MAX_PROBLEMS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->items[p->n++], sizeof(p->items[0]), fmt, ap);
    va_end(ap);
}

static const st_stage_t *s_stage_of(const char *kind, const char *metrics)
{
    for (size_t i = 0; i < sizeof(s_stages) / sizeof(s_stages[0]); i++) {
        if (kind[0] ? !strcmp(kind, s_stages[i].kind) : false)
            return &s_stages[i];
    }
    char proc[32];
    scrape_label(metrics ? metrics : "", "floodgate_build_info", "proc", proc, sizeof(proc));
    for (size_t i = 0; proc[0] && i < sizeof(s_stages) / sizeof(s_stages[0]); i++)
        if (!strcmp(proc, s_stages[i].kind))
            return &s_stages[i];
    return NULL;
}

static double s_val(const char *text, const st_series_t *s)
{
    return s->name ? scrape_sum(text, s->name, s->filter, NULL) : 0;
}

static double s_losses(const char *text, const st_stage_t *st)
{
    double sum = 0;
    for (int i = 0; i < ST_MAX_LOSS; i++)
        sum += s_val(text, &st->loss[i]);
    return sum;
}

static void s_scrape(st_proc_t *p, char **into)
{
    char *body = NULL;
    int code = scrape_get(p->t.hostport, "/metrics", ST_TIMEOUT_MS, &body, p->err,
                          sizeof(p->err));
    if (code != 200) {
        if (code > 0)
            snprintf(p->err, sizeof(p->err), "HTTP %d", code);
        free(body);
        body = NULL;
    }
    *into = body;
}

static void s_health(st_proc_t *p)
{
    char *body = NULL, err[256];
    p->health_code = scrape_get(p->t.hostport, "/healthz", ST_TIMEOUT_MS, &body, err,
                                sizeof(err));
    snprintf(p->health, sizeof(p->health), "%s", body ? body : err);
    p->health[strcspn(p->health, "\n")] = '\0';
    free(body);
}

/* One pass over one process: the first scrape, or the second one and the
 * health verdict. */
static void *s_scrape_thread(void *arg)
{
    st_proc_t *p = arg;
    if (!p->second) {
        s_scrape(p, &p->m0);
        return NULL;
    }
    s_scrape(p, &p->m1);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    p->at1 = (double)now.tv_sec + now.tv_nsec / 1e9;
    if (p->m1)
        s_health(p);
    return NULL;
}

/* Scrape every process at once: a daemon answers when its loop turns
 * (up to a tick), so one after the other would add up. */
static void s_scrape_all(st_proc_t *ps, int n, bool second)
{
    pthread_t th[SCRAPE_MAX_TARGETS];
    bool started[SCRAPE_MAX_TARGETS];
    for (int i = 0; i < n; i++) {
        ps[i].second = second;
        started[i] = pthread_create(&th[i], NULL, s_scrape_thread, &ps[i]) == 0;
        if (!started[i])
            s_scrape_thread(&ps[i]);
    }
    for (int i = 0; i < n; i++)
        if (started[i])
            pthread_join(th[i], NULL);
}

/* Rates between the two scrapes, over the processes' own heartbeat clock. */
static void s_rates(st_proc_t *p)
{
    p->stage = s_stage_of(p->t.kind, p->m1 ? p->m1 : p->m0);
    if (!p->stage || !p->m1)
        return;
    p->lost = s_losses(p->m1, p->stage);
    if (!p->m0)
        return;
    const char *hb = "floodgate_heartbeat_timestamp_seconds";
    double dt = scrape_sum(p->m1, hb, NULL, NULL) - scrape_sum(p->m0, hb, NULL, NULL);
    p->lost_new = p->lost - s_losses(p->m0, p->stage);
    if (dt <= 0)
        return;
    p->in_rate = (s_val(p->m1, &p->stage->in) - s_val(p->m0, &p->stage->in)) / dt;
    p->out_rate = (s_val(p->m1, &p->stage->out) - s_val(p->m0, &p->stage->out)) / dt;
}

/* Decisions and ban keys the actuator refused during the interval (forged
 * input, or a budget hit), with the total so far. Decisions refused because
 * the operator holds the address (unban --hold) are what was asked for: not
 * a problem. */
static void s_judge_refusals(const st_proc_t *p, double interval, st_problems_t *pr)
{
    static const char *names[2] = {"floodgate_actuator_decisions_refused_total",
                                   "floodgate_actuator_keys_refused_total"};
    static const char *held = "reason=\"hold\"";
    double now[2], before[2];
    for (int i = 0; i < 2; i++) {
        now[i] = scrape_sum(p->m1, names[i], NULL, NULL);
        before[i] = p->m0 ? scrape_sum(p->m0, names[i], NULL, NULL) : now[i];
    }
    double held_now = scrape_sum(p->m1, names[0], held, NULL);
    now[0] -= held_now;
    before[0] -= p->m0 ? scrape_sum(p->m0, names[0], held, NULL) : held_now;
    if (now[0] > before[0] || now[1] > before[1])
        s_problem(pr,
                  "actuator: refused %.0f decisions and %.0f ban keys in the last %.1f s "
                  "(%.0f and %.0f in all; by reason: %s{reason=...})",
                  now[0] - before[0], now[1] - before[1], interval, now[0], now[1], names[0]);
}

/* Every shard the detector names silent: which, and the share of hosts it
 * held (its hosts are not watched while it is missing). */
static void s_judge_shards(const st_proc_t *p, st_problems_t *pr)
{
    for (int i = 0; i < FG_MAX_SHARDS; i++) {
        char filter[32];
        int n = 0;
        snprintf(filter, sizeof(filter), "shard=\"%d\"", i);
        double up = scrape_sum(p->m1, "floodgate_detector_shard_up", filter, &n);
        if (n == 0)
            return;
        if (up >= 1)
            continue;
        double share = scrape_sum(p->m1, "floodgate_detector_shard_hosts_share", filter, NULL);
        s_problem(pr, "shard %d: missing (no window reaches %s): its hosts, %.0f%% of all, are "
                  "not watched", i, p->t.name, share * 100);
    }
}

static void s_judge(const st_proc_t *p, double interval, st_problems_t *pr)
{
    if (!p->m1) {
        s_problem(pr, "%s (%s): unreachable: %s", p->t.name, p->t.hostport, p->err);
        return;
    }
    if (p->health_code != 200)
        s_problem(pr, "%s: unhealthy: %s", p->t.name, p->health);
    if (p->lost_new > 0)
        s_problem(pr, "%s: lost %.0f in the last %.1f s (records, batches or windows)",
                  p->t.name, p->lost_new, interval);
    if (p->stage && !strcmp(p->stage->kind, "detector"))
        s_judge_shards(p, pr);
    if (p->stage && !strcmp(p->stage->kind, "actuator")) {
        int n = 0;
        double up = scrape_sum(p->m1, "floodgate_actuator_backend_up", NULL, &n);
        if (up < n)
            s_problem(pr, "actuator: %d of %d backends down", n - (int)up, n);
        if (scrape_sum(p->m1, "floodgate_actuator_redis_up", NULL, NULL) < 1)
            s_problem(pr, "actuator: cannot reach Redis");
        s_judge_refusals(p, interval, pr);
    }
}

static void s_print_text(const st_proc_t *ps, int n)
{
    printf("%-14s %-22s %-9s %-8s %-6s %-8s %-20s %-20s %s\n", "PROCESS", "ENDPOINT", "STATE",
           "UPTIME", "BEAT", "VERSION", "IN/s", "OUT/s", "LOST (total +new)");
    for (int i = 0; i < n; i++) {
        const st_proc_t *p = &ps[i];
        if (!p->m1) {
            printf("%-14s %-22s %-9s %s\n", p->t.name, p->t.hostport, "DOWN", p->err);
            continue;
        }
        char up[48], beat[48], ver[32], in[48] = "-", out[48] = "-";
        cli_duration((long long)scrape_sum(p->m1, "floodgate_uptime_seconds", NULL, NULL), up,
                     sizeof(up));
        double age = p->at1 - scrape_sum(p->m1, "floodgate_heartbeat_timestamp_seconds", NULL, NULL);
        snprintf(beat, sizeof(beat), "%.1fs", age < 0 ? 0 : age);
        scrape_label(p->m1, "floodgate_build_info", "version", ver, sizeof(ver));
        if (p->stage) {
            snprintf(in, sizeof(in), "%.1f %s", p->in_rate, p->stage->in_what);
            snprintf(out, sizeof(out), "%.1f %s", p->out_rate, p->stage->out_what);
        }
        printf("%-14s %-22s %-9s %-8s %-6s %-8s %-20s %-20s %.0f +%.0f\n", p->t.name,
               p->t.hostport, p->health_code == 200 ? "up" : "UNHEALTHY", up, beat, ver, in, out,
               p->lost, p->lost_new);
        if (p->health_code != 200)
            printf("%-14s   health: %s\n", "", p->health);
        double rd = scrape_sum(p->m1, "floodgate_actuator_decisions_refused_total", NULL, NULL);
        double rk = scrape_sum(p->m1, "floodgate_actuator_keys_refused_total", NULL, NULL);
        if (rd > 0 || rk > 0)
            printf("%-14s   refused: %.0f decisions, %.0f ban keys (by reason: "
                   "floodgate_actuator_*_refused_total)\n",
                   "", rd, rk);
    }
}

/* One process of `status --json`; NULL on OOM. */
static json_t *s_json_proc(const st_proc_t *p)
{
    bool ok = true;
    char ver[32];
    json_t *j = json_object();
    if (!j)
        return NULL;
    fgjson_set_str(j, "name", p->t.name, &ok);
    fgjson_set_str(j, "endpoint", p->t.hostport, &ok);
    fgjson_set_bool(j, "up", p->m1 != NULL, &ok);
    if (!p->m1) {
        fgjson_set_str(j, "error", p->err, &ok);
    } else {
        scrape_label(p->m1, "floodgate_build_info", "version", ver, sizeof(ver));
        fgjson_set_bool(j, "healthy", p->health_code == 200, &ok);
        fgjson_set_str(j, "health", p->health, &ok);
        fgjson_set_str(j, "version", ver, &ok);
        fgjson_set_fixed(j, "uptime_s", scrape_sum(p->m1, "floodgate_uptime_seconds", NULL, NULL),
                         1, &ok);
        fgjson_set_fixed(j, "heartbeat_age_s",
                         p->at1 - scrape_sum(p->m1, "floodgate_heartbeat_timestamp_seconds",
                                             NULL, NULL), 1, &ok);
        if (p->stage) {
            fgjson_set_fixed(j, "in_per_s", p->in_rate, 3, &ok);
            fgjson_set_str(j, "in", p->stage->in_what, &ok);
            fgjson_set_fixed(j, "out_per_s", p->out_rate, 3, &ok);
            fgjson_set_str(j, "out", p->stage->out_what, &ok);
        }
        if (p->stage && !strcmp(p->stage->kind, "actuator")) {
            fgjson_set_fixed(j, "refused_decisions",
                             scrape_sum(p->m1, "floodgate_actuator_decisions_refused_total",
                                        NULL, NULL), 0, &ok);
            fgjson_set_fixed(j, "refused_keys",
                             scrape_sum(p->m1, "floodgate_actuator_keys_refused_total", NULL,
                                        NULL), 0, &ok);
        }
        fgjson_set_fixed(j, "lost_total", p->lost, 0, &ok);
        fgjson_set_fixed(j, "lost_new", p->lost_new, 0, &ok);
    }
    if (!ok)
        json_decref(j);
    return ok ? j : NULL;
}

typedef struct {
    bool up;
    long long bans;
    char err[256];
    char lease[192]; /* "<id> <token>" of the active actuator, "" when none */
    long long lease_ms;
} st_redis_t;

/* The active actuator: <prefix>:actuator:lease and the ms it has left. */
static void s_lease(redisContext *c, const fg_config_t *cfg, st_redis_t *r)
{
    redisReply *rep = redisCommand(c, "GET %s:actuator:lease", cfg->redis.prefix);
    if (rep && rep->type == REDIS_REPLY_STRING)
        snprintf(r->lease, sizeof(r->lease), "%s", rep->str);
    freeReplyObject(rep);
    rep = r->lease[0] ? redisCommand(c, "PTTL %s:actuator:lease", cfg->redis.prefix) : NULL;
    if (rep && rep->type == REDIS_REPLY_INTEGER)
        r->lease_ms = rep->integer;
    freeReplyObject(rep);
}

static void s_redis(const fg_config_t *cfg, st_redis_t *r)
{
    r->bans = -1;
    redisContext *c = fg_redis_connect(cfg, 2000, r->err, sizeof(r->err));
    if (!c)
        return;
    redisReply *rep = redisCommand(c, "PING");
    r->up = rep && rep->type != REDIS_REPLY_ERROR;
    if (!r->up)
        snprintf(r->err, sizeof(r->err), "%s", rep && rep->str ? rep->str : c->errstr);
    freeReplyObject(rep);
    char pattern[FG_NAME_MAX + 16];
    snprintf(pattern, sizeof(pattern), "%s:ban:*", cfg->redis.prefix);
    unsigned long long cursor = 0;
    r->bans = 0;
    do {
        rep = r->up ? redisCommand(c, "SCAN %llu MATCH %s COUNT 1000", cursor, pattern) : NULL;
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
            r->bans = -1;
            freeReplyObject(rep);
            break;
        }
        cursor = strtoull(rep->element[0]->str, NULL, 10);
        r->bans += (long long)rep->element[1]->elements;
        freeReplyObject(rep);
    } while (cursor != 0);
    if (r->up)
        s_lease(c, cfg, r);
    redisFree(c);
}

typedef struct {
    double interval;
    bool json;
    scrape_target_t extra[16];
    int n_extra;
} st_opts_t;

static int s_parse(int argc, char **argv, st_opts_t *o)
{
    o->interval = 2.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            o->json = true;
        } else if ((!strcmp(argv[i], "--interval") || !strcmp(argv[i], "-i")) && i + 1 < argc) {
            char *end;
            o->interval = strtod(argv[++i], &end);
            if (*end || o->interval < 0 || o->interval > 60)
                return -1;
        } else if ((!strcmp(argv[i], "--target") || !strcmp(argv[i], "-T")) && i + 1 < argc &&
                   o->n_extra < 16) {
            scrape_target_t *t = &o->extra[o->n_extra++];
            const char *v = argv[++i], *eq = strchr(v, '=');
            snprintf(t->name, sizeof(t->name), "%.*s", eq ? (int)(eq - v) : (int)strlen(v), v);
            snprintf(t->hostport, sizeof(t->hostport), "%s", eq ? eq + 1 : v);
            t->kind[0] = '\0'; /* learnt from its build_info */
        } else {
            return -1;
        }
    }
    return 0;
}

static void s_redis_addr(const fg_config_t *cfg, char *out, size_t len)
{
    if (cfg->redis.socket[0])
        snprintf(out, len, "unix:%s", cfg->redis.socket);
    else
        snprintf(out, len, strchr(cfg->redis.host, ':') ? "[%s]:%d" : "%s:%d", cfg->redis.host,
                 cfg->redis.port);
}

/* `status --json` on stdout. 0, or -1 on OOM or a write error. */
static int s_print_json(const st_proc_t *ps, int n, const st_redis_t *r, const fg_config_t *cfg,
                        const st_problems_t *pr)
{
    bool ok = true;
    char addr[PATH_MAX + 16];
    json_t *j = json_object(), *procs = json_array(), *redis = json_object(),
           *problems = json_array();
    if (!j) {
        json_decref(procs), json_decref(redis), json_decref(problems);
        return -1;
    }
    fgjson_set_bool(j, "ok", pr->n == 0, &ok);
    fgjson_set_new(j, "processes", procs, &ok);
    fgjson_set_new(j, "redis", redis, &ok);
    fgjson_set_new(j, "problems", problems, &ok);
    for (int i = 0; ok && i < n; i++)
        fgjson_append_new(procs, s_json_proc(&ps[i]), &ok);
    s_redis_addr(cfg, addr, sizeof(addr));
    if (ok) {
        fgjson_set_str(redis, "address", addr, &ok);
        fgjson_set_bool(redis, "up", r->up, &ok);
        fgjson_set_num(redis, "bans_active", (double)r->bans, &ok);
        fgjson_set_str(redis, "actuator_lease", r->lease, &ok);
    }
    for (int i = 0; ok && i < pr->n; i++)
        fgjson_append_new(problems, fgjson_str(pr->items[i]), &ok);
    int rc = ok ? fgjson_print(j, stdout) : -1;
    json_decref(j);
    return rc;
}

static int s_status(const fg_config_t *cfg, const st_opts_t *o)
{
    static st_proc_t ps[SCRAPE_MAX_TARGETS];
    scrape_target_t ts[SCRAPE_MAX_TARGETS];
    int n = scrape_targets(cfg, ts, SCRAPE_MAX_TARGETS);
    for (int i = 0; i < o->n_extra && n < SCRAPE_MAX_TARGETS; i++)
        ts[n++] = o->extra[i];
    for (int i = 0; i < n; i++) {
        memset(&ps[i], 0, sizeof(ps[i]));
        ps[i].t = ts[i];
    }
    if (o->interval > 0) {
        s_scrape_all(ps, n, false);
        usleep((useconds_t)(o->interval * 1e6));
    }
    s_scrape_all(ps, n, true);
    st_problems_t pr = {.n = 0};
    for (int i = 0; i < n; i++) {
        s_rates(&ps[i]);
        s_judge(&ps[i], o->interval, &pr);
    }
    if (n == 0)
        s_problem(&pr, "no metrics endpoint in the config (every metrics_listen is empty)");
    st_redis_t r = {0};
    s_redis(cfg, &r);
    if (!r.up)
        s_problem(&pr, "redis: unreachable: %s", r.err);
    else if (!r.lease[0])
        s_problem(&pr, "actuator: none holds the lease %s:actuator:lease (no actuator active)",
                  cfg->redis.prefix);
    if (o->json) {
        s_print_json(ps, n, &r, cfg, &pr);
    } else {
        s_print_text(ps, n);
        char addr[PATH_MAX + 16];
        s_redis_addr(cfg, addr, sizeof(addr));
        printf("\nredis          %-22s %s", addr, r.up ? "up" : "DOWN");
        if (r.bans >= 0)
            printf(", %lld active bans", r.bans);
        if (r.lease[0])
            printf("\nactuator lease %s (active; %lld ms left)", r.lease, r.lease_ms);
        printf("\n\n");
        for (int i = 0; i < pr.n; i++)
            printf("PROBLEM: %s\n", pr.items[i]);
        if (!pr.n)
            printf("OK: %d processes up and healthy, nothing lost in the last %.1f s\n", n,
                   o->interval);
    }
    for (int i = 0; i < n; i++) {
        free(ps[i].m0);
        free(ps[i].m1);
    }
    return pr.n ? 1 : 0;
}

int cli_status(int argc, char **argv, const char *conf)
{
    st_opts_t o;
    memset(&o, 0, sizeof(o));
    if (s_parse(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: floodgate status [--json] [--interval S] "
                        "[--target NAME=HOST:PORT]...\n");
        return 2;
    }
    fg_config_t *cfg = cli_config(conf);
    if (!cfg)
        return 2;
    int rc = s_status(cfg, &o);
    fg_config_destroy(&cfg);
    return rc;
}
