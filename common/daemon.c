#include "common/daemon.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/log.h"

/* Below this many open files, a flood of TCP connections to a ZeroMQ port
 * can leave none for the backends (gobgp client pipes, the ExaBGP pipe,
 * Redis reconnects, the attack log). */
#define FG_NOFILE_WANT 65536

volatile sig_atomic_t fg_stop = 0;
volatile sig_atomic_t fg_reload = 0;
volatile sig_atomic_t fg_dump_stats = 0;

static bool s_level_forced; /* -l given: it beats general/log_level, reload too */

static void s_on_signal(int sig)
{
    if (sig == SIGHUP)
        fg_reload = 1;
    else if (sig == SIGUSR1)
        fg_dump_stats = 1;
    else
        fg_stop = 1;
}

/* Raise the open-file soft limit to the hard limit and log both: every
 * connection to a ZeroMQ port, handshaken or not, holds a descriptor until
 * ZeroMQ closes it. Warns when the result is still low. */
static void s_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    unsigned long long was = (unsigned long long)rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = (rlim_t)was;
    }
    fg_info("event=nofile soft=%llu hard=%llu was=%llu", (unsigned long long)rl.rlim_cur,
            (unsigned long long)rl.rlim_max, was);
    if (rl.rlim_cur < FG_NOFILE_WANT)
        fg_warn("event=nofile_low soft=%llu want=%d hint=\"raise the hard limit: LimitNOFILE= "
                "(systemd), ulimits nofile (compose), ulimit -Hn\"",
                (unsigned long long)rl.rlim_cur, FG_NOFILE_WANT);
}

static void s_usage(const char *proc, bool with_shard, FILE *out)
{
    fprintf(out,
            "usage: floodgate-%s [-c FILE] [-t] [-l LEVEL]%s\n"
            "  -c, --config FILE   configuration (default /etc/floodgate/floodgate.conf)\n"
            "  -t, --test          check the configuration and exit (0 when good)\n"
            "  -l, --log-level L   debug, info, warn or error (overrides general/log_level)\n"
            "%s",
            proc, with_shard ? " --shard N" : "",
            with_shard ? "  -s, --shard N       shard index, 0 .. aggregator/shards - 1\n" : "");
}

fg_config_t *fg_daemon_start(const char *proc, int argc, char **argv, bool with_shard,
                             fg_args_t *args)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"test", no_argument, NULL, 't'},
                                         {"log-level", required_argument, NULL, 'l'},
                                         {"shard", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *level = NULL;
    int c;
    args->config_path = "/etc/floodgate/floodgate.conf";
    args->check_only = false;
    args->shard = -1;
    fg_log_init(proc);
    while ((c = getopt_long(argc, argv, "c:tl:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            args->config_path = optarg;
            break;
        case 't':
            args->check_only = true;
            break;
        case 'l':
            level = optarg;
            break;
        case 's':
            if (!with_shard)
                goto usage;
            args->shard = atoi(optarg);
            if (args->shard < 0 || strspn(optarg, "0123456789") != strlen(optarg))
                goto usage;
            break;
        case 'h':
            s_usage(proc, with_shard, stdout);
            exit(0);
        default:
            goto usage;
        }
    }
    if (optind != argc || (level && fg_log_level_parse(level) < 0))
        goto usage;

    char err[1024];
    fg_config_t *cfg = fg_config_load(args->config_path, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "floodgate-%s: config error: %s\n", proc, err);
        exit(2);
    }
    if (with_shard) {
        if (args->shard < 0)
            args->shard = 0;
        if (args->shard >= cfg->aggregator.shards) {
            fprintf(stderr, "floodgate-%s: --shard %d but aggregator/shards = %d in %s\n", proc,
                    args->shard, cfg->aggregator.shards, args->config_path);
            exit(2);
        }
    }
    if (args->check_only) {
        printf("%s: configuration ok\n", args->config_path);
        fg_config_destroy(&cfg);
        exit(0);
    }
    fg_log_level = level ? fg_log_level_parse(level) : cfg->general.log_level;
    s_level_forced = level != NULL;
    s_raise_nofile();

    /* CZMQ would install its own SIGINT/SIGTERM handlers; we keep ours. */
    zsys_handler_set(NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return cfg;
usage:
    s_usage(proc, with_shard, stderr);
    exit(2);
}

/* Double quotes in a value logged inside "...". */
static void s_unquote(char *s)
{
    for (; *s; s++)
        if (*s == '"')
            *s = '\'';
}

int fg_daemon_reload(fg_config_t *cfg)
{
    char err[1024], restart[1024];
    int n = fg_config_reload(cfg, restart, sizeof(restart), err, sizeof(err));
    if (n < 0) {
        s_unquote(err);
        fg_error("event=reload_failed config=%s reason=\"%s\" kept=old", cfg->path, err);
        return -1;
    }
    if (!s_level_forced)
        fg_log_level = cfg->general.log_level;
    if (n > 0)
        fg_warn("event=reload config=%s groups=%d restart_needed=\"%s\" "
                "hint=\"these keys keep their running values until a restart\"",
                cfg->path, cfg->n_groups, restart);
    else
        fg_info("event=reload config=%s groups=%d", cfg->path, cfg->n_groups);
    return 0;
}

zsec_t *fg_daemon_zsec(const fg_config_t *cfg, const char *cert, const char *allowed)
{
    char err[512];
    zsec_t *zs = zsec_new(cfg, cert, allowed, err, sizeof(err));
    if (!zs) {
        fg_error("event=curve_failed reason=\"%s\"", err);
        exit(2);
    }
    fg_daemon_curve_log(cfg, cert, allowed);
    return zs;
}

void fg_daemon_curve_log(const fg_config_t *cfg, const char *cert, const char *allowed)
{
    if (cfg->curve.enable)
        fg_info("event=curve enable=1 cert=%s allowed_keys=%s", cert, allowed ? allowed : "-");
    else if (cfg->curve.insecure)
        fg_warn("event=insecure reason=\"curve/insecure is set: ZeroMQ endpoints beyond "
                "loopback are open to anyone who reaches them, without Curve\"");
    else
        fg_info("event=curve enable=0 reason=\"loopback endpoints only\"");
}

zsock_t *fg_daemon_bind(zsec_t *zs, zsec_role_t role, const char *endpoint)
{
    char err[512];
    if (zsec_check_bind(zs, endpoint, err, sizeof(err)) != 0) {
        fg_error("event=bind_refused endpoint=%s reason=\"%s\"", endpoint, err);
        exit(2);
    }
    zsock_t *s = zsec_bind(zs, role, endpoint, err, sizeof(err));
    if (!s)
        fg_die(1, "event=bind_failed endpoint=%s reason=\"%s\"", endpoint, err);
    return s;
}

zsock_t *fg_daemon_connect(zsec_t *zs, zsec_role_t role, const char *endpoint,
                           const char *server_key)
{
    char err[512];
    zsock_t *s = zsec_connect(zs, role, endpoint, server_key, err, sizeof(err));
    if (!s) {
        fg_error("event=connect_failed endpoint=%s reason=\"%s\"", endpoint, err);
        exit(zsec_curve(zs) ? 2 : 1);
    }
    return s;
}
