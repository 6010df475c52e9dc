/* cli/top.c: `floodgate top`, the hosts with the highest incoming rates.
 *
 * Fed straight from the aggregator shards: a SUB socket on every shard's
 * pub_connect receives the same WindowBatch the detector gets, every tick.
 * So top shows the hosts above their watch floor (aggregator/watch_floor of
 * their lowest threshold): the hosts near or in an attack, with their class
 * breakdown, joined with their ban state in Redis. Live (refreshing every
 * --interval s, like top) until Ctrl-C; --once waits for one window of
 * every shard, prints and exits (1 when a shard sent nothing); --json. */
#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/window.h"
#include "cli/cli.h"
#include "common/addr.h"
#include "common/fgjson.h"
#include "common/fgredis.h"
#include "common/log.h"
#include "common/zsec.h"
#include "floodgate.pb-c.h"

#define TOP_MAX_ROWS 1000
#define TOP_NCLASS (FG_CLASSES - 1) /* the classes after the total */

typedef struct {
    char ip[FG_ADDR_STRLEN];
    const char *group;
    const Floodgate__HostWindow *hw;
    long long ttl; /* -2: not banned, -3: unknown (Redis down) */
    char attack[64];
} top_row_t;

typedef struct {
    int n;
    bool once, json, out;
    const char *sort; /* pps, bps, flows */
    double interval;
} top_opts_t;

static volatile sig_atomic_t s_stop;
static void s_on_int(int sig)
{
    (void)sig;
    s_stop = 1;
}

static double s_key(const Floodgate__HostWindow *h, const char *sort)
{
    if (!h->total)
        return 0;
    return !strcmp(sort, "bps") ? h->total->bps : !strcmp(sort, "flows") ? h->total->fps : h->total->pps;
}

static const char *s_sort_key;
static int s_cmp(const void *a, const void *b)
{
    double x = s_key(((const top_row_t *)a)->hw, s_sort_key);
    double y = s_key(((const top_row_t *)b)->hw, s_sort_key);
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The rows of every shard's latest window, sorted, cut to o->n. */
static int s_rows(Floodgate__WindowBatch **wb, int shards, const fg_config_t *cfg,
                  const top_opts_t *o, top_row_t *rows)
{
    int n = 0;
    for (int s = 0; s < shards; s++) {
        for (size_t i = 0; wb[s] && i < wb[s]->n_hosts && n < TOP_MAX_ROWS; i++) {
            const Floodgate__HostWindow *h = wb[s]->hosts[i];
            if ((h->dir == FLOODGATE__DIRECTION__DIR_OUT) != o->out)
                continue;
            fg_addr_t a = {h->addr_hi, h->addr_lo};
            fg_addr_format(&a, rows[n].ip);
            rows[n].group = h->hostgroup < (uint32_t)cfg->n_groups ? cfg->groups[h->hostgroup].name
                                                                 : "?";
            rows[n].hw = h;
            rows[n].ttl = -3;
            rows[n].attack[0] = '\0';
            n++;
        }
    }
    s_sort_key = o->sort;
    qsort(rows, (size_t)n, sizeof(rows[0]), s_cmp);
    return n < o->n ? n : o->n;
}

/* TTL and attack type of each row's ban key, pipelined. */
static void s_bans(redisContext *c, const fg_config_t *cfg, top_row_t *rows, int n)
{
    if (!c)
        return;
    for (int i = 0; i < n; i++) {
        char key[FG_NAME_MAX + FG_ADDR_STRLEN + 16];
        fg_redis_key(cfg, "ban", rows[i].ip, key, sizeof(key));
        redisAppendCommand(c, "TTL %s", key);
        redisAppendCommand(c, "HGET %s attack_type", key);
    }
    for (int i = 0; i < n; i++) {
        redisReply *t = NULL, *a = NULL;
        if (redisGetReply(c, (void **)&t) != REDIS_OK || redisGetReply(c, (void **)&a) != REDIS_OK) {
            freeReplyObject(t);
            return;
        }
        if (t && t->type == REDIS_REPLY_INTEGER)
            rows[i].ttl = t->integer;
        if (a && a->type == REDIS_REPLY_STRING)
            snprintf(rows[i].attack, sizeof(rows[i].attack), "%s", a->str);
        freeReplyObject(t);
        freeReplyObject(a);
    }
}

/* Class k of the breakdown (0 = tcp: the classes after the total). */
static const Floodgate__Rates *s_class(const Floodgate__HostWindow *h, int k)
{
    return fg_class_rates(h, FG_CLS_TCP + k);
}

static void s_ban_text(const top_row_t *r, char *out, size_t len)
{
    if (r->ttl == -3)
        snprintf(out, len, "?");
    else if (r->ttl == -2)
        snprintf(out, len, "-");
    else if (r->ttl == -1)
        snprintf(out, len, "BANNED (no TTL) %s", r->attack);
    else
        snprintf(out, len, "BANNED %llds %s", r->ttl, r->attack);
}

static void s_print_text(const top_row_t *rows, int n, int seen, int shards, uint64_t tracked,
                         const top_opts_t *o)
{
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(ts, sizeof(ts), "%H:%M:%S", localtime_r(&now, &tm));
    printf("floodgate top  %s  shards %d/%d  %s hosts above the watch floor: %d  tracked: %llu\n\n",
           ts, seen, shards, o->out ? "outgoing" : "incoming", n, (unsigned long long)tracked);
    printf("%-39s %-12s %10s %9s %9s %5s %5s %5s %5s %5s %5s  %s\n", "IP", "GROUP", "PPS", "MBPS",
           "FLOWS/s", "TCP%", "SYN%", "UDP%", "ICMP%", "FRAG%", "OTH%", "BAN");
    for (int i = 0; i < n; i++) {
        const Floodgate__HostWindow *h = rows[i].hw;
        double pps = h->total ? h->total->pps : 0;
        printf("%-39s %-12.12s %10.0f %9.2f %9.0f", rows[i].ip, rows[i].group, pps,
               h->total ? h->total->bps / 1e6 : 0, h->total ? h->total->fps : 0);
        for (int k = 0; k < TOP_NCLASS; k++) {
            const Floodgate__Rates *r = s_class(h, k);
            printf(" %5.0f", pps > 0 && r ? 100.0 * r->pps / pps : 0);
        }
        char ban[96];
        s_ban_text(&rows[i], ban, sizeof(ban));
        printf("  %s\n", ban);
    }
    if (n == 0)
        printf("(no host above its watch floor)\n");
}

static json_t *s_json_rates(const Floodgate__Rates *r, bool *ok)
{
    json_t *j = json_object();
    if (j) {
        fgjson_set_fixed(j, "pps", r ? r->pps : 0, 3, ok);
        fgjson_set_fixed(j, "bps", r ? r->bps : 0, 3, ok);
        fgjson_set_fixed(j, "fps", r ? r->fps : 0, 3, ok);
    }
    return j;
}

/* One row of `top --json`; NULL on OOM. */
static json_t *s_json_row(const top_row_t *row)
{
    const Floodgate__HostWindow *h = row->hw;
    bool ok = true;
    json_t *j = json_object(), *classes = json_object();
    if (!j || !classes) {
        json_decref(j);
        json_decref(classes);
        return NULL;
    }
    fgjson_set_str(j, "ip", row->ip, &ok);
    fgjson_set_str(j, "direction", h->dir == FLOODGATE__DIRECTION__DIR_OUT ? "outgoing" : "incoming",
                   &ok);
    fgjson_set_str(j, "hostgroup", row->group, &ok);
    fgjson_set_new(j, "total", s_json_rates(h->total, &ok), &ok);
    fgjson_set_new(j, "classes", classes, &ok);
    for (int k = 0; k < TOP_NCLASS; k++)
        fgjson_set_new(classes, fg_class_name(FG_CLS_TCP + k), s_json_rates(s_class(h, k), &ok), &ok);
    fgjson_set_bool(j, "banned", row->ttl >= -1, &ok);
    fgjson_set_num(j, "ttl", row->ttl >= -1 ? (double)row->ttl : 0, &ok);
    fgjson_set_str(j, "attack_type", row->attack, &ok);
    if (!ok)
        json_decref(j);
    return ok ? j : NULL;
}

static void s_print_json(const top_row_t *rows, int n, int seen, int shards)
{
    bool ok = true;
    json_t *j = json_object(), *hosts = json_array();
    if (!j || !hosts) {
        json_decref(j);
        json_decref(hosts);
        return;
    }
    fgjson_set_num(j, "time", (double)time(NULL), &ok);
    fgjson_set_num(j, "shards", shards, &ok);
    fgjson_set_num(j, "shards_seen", seen, &ok);
    fgjson_set_new(j, "hosts", hosts, &ok);
    for (int i = 0; ok && i < n; i++)
        fgjson_append_new(hosts, s_json_row(&rows[i]), &ok);
    if (!ok || fgjson_print(j, stdout) < 0)
        fprintf(stderr, "floodgate: top: out of memory or output error\n");
    json_decref(j);
}

static int s_parse(int argc, char **argv, top_opts_t *o)
{
    *o = (top_opts_t){.n = 20, .sort = "pps", .interval = 1.0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--once"))
            o->once = true;
        else if (!strcmp(a, "--json"))
            o->json = true;
        else if (!strcmp(a, "--out"))
            o->out = true;
        else if (!strcmp(a, "-n") && i + 1 < argc)
            o->n = atoi(argv[++i]);
        else if (!strcmp(a, "--sort") && i + 1 < argc)
            o->sort = argv[++i];
        else if ((!strcmp(a, "--interval") || !strcmp(a, "-i")) && i + 1 < argc)
            o->interval = atof(argv[++i]);
        else
            return -1;
    }
    if (o->n < 1 || o->n > TOP_MAX_ROWS || o->interval < 0.1 ||
        (strcmp(o->sort, "pps") && strcmp(o->sort, "bps") && strcmp(o->sort, "flows")))
        return -1;
    return 0;
}

/* The index of sock in sub, or -1. */
static int s_index(zsock_t **sub, int shards, void *sock)
{
    for (int i = 0; i < shards; i++)
        if (sub[i] == sock)
            return i;
    return -1;
}

/* Keep each shard's latest window (only from that shard's socket); returns
 * how many shards sent one. */
static int s_receive(zsec_t *zs, zsock_t **sub, Floodgate__WindowBatch **wb, int shards,
                     int wait_ms)
{
    zpoller_t *p = zpoller_new(NULL);
    for (int i = 0; i < shards; i++)
        zpoller_add(p, sub[i]);
    uint64_t end = fg_mono_ms() + (uint64_t)wait_ms;
    while (!s_stop && fg_mono_ms() < end) {
        void *ready = zpoller_wait(p, (int)(end - fg_mono_ms()));
        int i = ready ? s_index(sub, shards, ready) : -1;
        zmq_msg_t msg;
        if (i < 0 || zsec_recv(zs, sub[i], &msg) != 0)
            continue;
        const char *why;
        Floodgate__WindowBatch *m = wb_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg), &why);
        zmq_msg_close(&msg);
        if (!m)
            continue;
        if (m->shard != (uint32_t)i) {
            wb_free(&m);
            continue;
        }
        wb_free(&wb[m->shard]);
        wb[m->shard] = m;
    }
    zpoller_destroy(&p);
    int seen = 0;
    for (int s = 0; s < shards; s++)
        seen += wb[s] != NULL;
    return seen;
}

/* --once: until every shard sent a window or the deadline passed. */
static int s_receive_all(zsec_t *zs, zsock_t **sub, Floodgate__WindowBatch **wb, int shards,
                         int wait_ms)
{
    uint64_t end = fg_mono_ms() + (uint64_t)wait_ms;
    int seen = 0;
    while (!s_stop && seen < shards && fg_mono_ms() < end)
        seen = s_receive(zs, sub, wb, shards, 100);
    return seen;
}

static void s_show(Floodgate__WindowBatch **wb, int seen, const fg_config_t *cfg,
                   const top_opts_t *o, redisContext *rc)
{
    static top_row_t rows[TOP_MAX_ROWS];
    int n = s_rows(wb, cfg->aggregator.shards, cfg, o, rows);
    s_bans(rc, cfg, rows, n);
    uint64_t tracked = 0;
    for (int s = 0; s < cfg->aggregator.shards; s++)
        tracked += wb[s] ? wb[s]->hosts_tracked : 0;
    if (o->json) {
        s_print_json(rows, n, seen, cfg->aggregator.shards);
    } else {
        if (!o->once)
            printf("\033[H\033[2J");
        s_print_text(rows, n, seen, cfg->aggregator.shards, tracked, o);
    }
    fflush(stdout);
}

static int s_top(const fg_config_t *cfg, const top_opts_t *o)
{
    char err[512];
    zsec_t *zs = zsec_new(cfg, cfg->curve.cli_cert, NULL, err, sizeof(err));
    if (!zs) {
        fprintf(stderr, "floodgate: top: %s\n", err);
        return 2;
    }
    zsock_t *sub[FG_MAX_SHARDS];
    for (int i = 0; i < cfg->aggregator.shards; i++)
        if (!(sub[i] = zsec_connect(zs, ZSEC_TOP_SUB, cfg->aggregator.pub_connect[i], cfg->aggregator.public_key[i],
                                    err, sizeof(err)))) {
            fprintf(stderr, "floodgate: top: %s\n", err);
            zsec_destroy(&zs);
            return 1;
        }
    redisContext *rc = fg_redis_connect(cfg, 1000, err, sizeof(err));
    if (!rc)
        fprintf(stderr, "floodgate: top: redis: %s (ban state unknown)\n", err);
    Floodgate__WindowBatch *wb[FG_MAX_SHARDS] = {0};
    int rcode = 0;
    if (o->once) {
        int seen = s_receive_all(zs, sub, wb, cfg->aggregator.shards, 2 * cfg->aggregator.tick_ms + 3000);
        s_show(wb, seen, cfg, o, rc);
        if (seen < cfg->aggregator.shards) {
            fprintf(stderr, "floodgate: top: %d of %d shards sent no window\n",
                    cfg->aggregator.shards - seen, cfg->aggregator.shards);
            rcode = 1;
        }
    } else {
        while (!s_stop) {
            int seen = s_receive(zs, sub, wb, cfg->aggregator.shards, (int)(o->interval * 1000));
            s_show(wb, seen, cfg, o, rc);
        }
    }
    for (int s = 0; s < cfg->aggregator.shards; s++)
        if (wb[s])
            wb_free(&wb[s]);
    if (rc)
        redisFree(rc);
    zsec_destroy(&zs);
    return rcode;
}

int cli_top(int argc, char **argv, const char *conf)
{
    top_opts_t o;
    if (s_parse(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: floodgate top [--once] [--json] [-n ROWS] [--sort pps|bps|flows] "
                        "[--out] [--interval S]\n");
        return 2;
    }
    fg_config_t *cfg = cli_config(conf);
    if (!cfg)
        return 2;
    zsys_handler_set(NULL);
    signal(SIGINT, s_on_int);
    signal(SIGTERM, s_on_int);
    int rc = s_top(cfg, &o);
    fg_config_destroy(&cfg);
    zsys_shutdown();
    return rc;
}
