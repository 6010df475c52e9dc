/* floodgate: the operator's command line.
 *
 *   floodgate [-c FILE] COMMAND [ARGS]
 *
 * The commands live in the files of cli/ and are listed in s_cmds below. Everything
 * about bans goes through Redis, the ban truth. Exit codes: 0 done,
 * 1 failure, 2 bad usage or config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/fgredis.h"

static const cli_cmd_t s_cmds[] = {
    {"bans", "bans [--json]                   active bans with the time left", cli_bans},
    {"ban", "ban IP [--ttl S | --permanent] [--reason TEXT] [--force] [--flowspec MATCH]...\n"
            "                                  ban an address by hand (default: the ban_time\n"
            "                                  of its hostgroup, at most its max_ban_time);\n"
            "                                  whitelisted addresses are refused, unmonitored\n"
            "                                  ones unless --force (source=manual_force);\n"
            "                                  --flowspec \"proto=17 sport=53\": FlowSpec rules\n"
            "                                  to IP instead of the blackhole",
     cli_ban},
    {"unban", "unban IP [--hold DURATION]      lift a ban (deletes its key); --hold 30m also\n"
              "                                  refuses new bans of it for that long (without\n"
              "                                  it, an attack still going on is banned again)",
     cli_unban},
    {"history", "history IP                      ban history of an address, newest first",
     cli_history},
    {"status", "status [--json] [-i S]          every process, rates, losses, Redis; exit 1 on trouble", cli_status},
    {"top", "top [--once] [--json] [-n N]    hosts with the highest incoming rates, live", cli_top},
    {"report", "report IP [--json]              attack report of an address, for a ticket", cli_report},
    {"replay", "replay [--speed X | --max] [--json] [--diff OTHER.conf] CAPTURE...\n"
               "                                  replay pcap/pcapng captures of flow exports\n"
               "                                  through the detection code: the bans it makes\n"
               "                                  and the rates per hostgroup (no Redis, no BGP)",
     cli_replay},
    {"tune", "tune [--margin X] CAPTURE...     propose thresholds from the rates of a capture",
     cli_tune},
    {"keygen", "keygen NAME [DIR]               a CurveZMQ key pair: DIR/NAME.key (public) and\n"
               "                                  DIR/NAME.key_secret (0600); DIR: /etc/floodgate/keys",
     cli_keygen},
};
#define N_CMDS (sizeof(s_cmds) / sizeof(s_cmds[0]))

static void s_usage(FILE *out)
{
    fprintf(out, "usage: floodgate [-c FILE] COMMAND [ARGS]\n");
    for (size_t i = 0; i < N_CMDS; i++)
        fprintf(out, "  %s\n", s_cmds[i].usage);
    fprintf(out, "  -c FILE   configuration (default $FLOODGATE_CONFIG or\n"
                 "            /etc/floodgate/floodgate.conf); FLOODGATE_REDIS_ADDRESS\n"
                 "            overrides redis/address\n");
}

fg_config_t *cli_config(const char *conf)
{
    char err[1024];
    fg_config_t *cfg = fg_config_load(conf, err, sizeof(err));
    if (!cfg)
        fprintf(stderr, "floodgate: config error: %s\n", err);
    return cfg;
}

redisContext *cli_redis(const fg_config_t *cfg)
{
    char err[1024];
    redisContext *c = fg_redis_connect(cfg, 2000, err, sizeof(err));
    if (!c)
        fprintf(stderr, "floodgate: redis: %s\n", err);
    return c;
}

int main(int argc, char **argv)
{
    const char *conf = getenv("FLOODGATE_CONFIG");
    if (!conf)
        conf = "/etc/floodgate/floodgate.conf";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc) {
            conf = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            s_usage(stdout);
            return 0;
        } else {
            s_usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        s_usage(stderr);
        return 2;
    }
    for (size_t k = 0; k < N_CMDS; k++)
        if (!strcmp(argv[i], s_cmds[k].name))
            return s_cmds[k].run(argc - i, argv + i, conf);
    fprintf(stderr, "floodgate: unknown command \"%s\"\n", argv[i]);
    s_usage(stderr);
    return 2;
}
