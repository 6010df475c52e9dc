/* bgptest: what the end-to-end tests with real BGP daemons share (e2e_bgp,
 * e2e_flowspec, e2e_trust, e2e_ha, e2e_redis): gobgpd's and BIRD's
 * configuration pieces, starting gobgpd, BIRD and ExaBGP with their files in
 * the test's directory, waiting for a BGP session, BIRD's table as a sorted
 * set, and a decision packed in a frame.
 *
 * Header-only (static inline), like aggtest.h: each test uses some of it.
 * Include after <cmocka.h>, <czmq.h>, "floodgate.pb-c.h", "common/addr.h"
 * and "tests/harness.h". Paths are <dir>/<name>.<ext>; logs stay in dir for
 * the post-mortem that FG_KEEP allows. */
#ifndef FG_TESTS_BGPTEST_H
#define FG_TESTS_BGPTEST_H

#include <signal.h>
#include <sys/stat.h>

/* ---- the test bed: Redis, BIRD, gobgpd, an actuator (and ExaBGP) ---- */

typedef struct {
    char *dir;
    char conf[512], bird_sock[512]; /* dir/floodgate.conf, dir/bird.ctl */
    char gobgp_addr[32], bird_addr[32], exa_addr[32];
    int redis_port, bgp_port, api_port, bird_port, act_port, exa_act_port, m_act;
    pid_t redis, gobgpd, bird, actuator, exabgp;
    zsock_t *push, *exa_push; /* to the actuator, to ExaBGP's actuator */
} bt_bed_t;

/* A fresh directory (tag), its paths, free ports, and addresses 127.0.net.host
 * (gobgpd), .host+1 (BIRD), .host+2 (ExaBGP): each daemon its own address,
 * net chosen per run by the caller so that runs do not collide. */
static inline void bt_bed_init(bt_bed_t *b, const char *tag, int net, int host)
{
    b->dir = hn_tmpdir(tag);
    snprintf(b->conf, sizeof(b->conf), "%s/floodgate.conf", b->dir);
    snprintf(b->bird_sock, sizeof(b->bird_sock), "%s/bird.ctl", b->dir);
    snprintf(b->gobgp_addr, sizeof(b->gobgp_addr), "127.0.%d.%d", net, host);
    snprintf(b->bird_addr, sizeof(b->bird_addr), "127.0.%d.%d", net, host + 1);
    snprintf(b->exa_addr, sizeof(b->exa_addr), "127.0.%d.%d", net, host + 2);
    int *ports[] = {&b->redis_port, &b->bgp_port,     &b->api_port, &b->bird_port,
                    &b->act_port,   &b->exa_act_port, &b->m_act};
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        *ports[i] = hn_free_port();
}

static inline void bt_stop_exabgp(const char *dir, pid_t *pid);

/* Stop what runs (by PID), close the sockets, and remove the directory. */
static inline void bt_bed_stop(bt_bed_t *b)
{
    zsock_destroy(&b->push);
    zsock_destroy(&b->exa_push);
    if (b->exabgp > 0)
        bt_stop_exabgp(b->dir, &b->exabgp);
    hn_stop(b->actuator, 3000);
    hn_stop(b->gobgpd, 3000);
    hn_stop(b->bird, 3000);
    hn_stop(b->redis, 3000);
    hn_tmpdir_done(&b->dir);
}

/* ---- configuration ---- */

/* gobgpd's TOML at dir/<name>.toml: AS 65001 on addr:port, one neighbour
 * (BIRD, AS 65002, at peer:peer_port, reconnecting every second) with the
 * address families afis (a NULL-terminated list: "ipv4-unicast", ...). */
static inline void bt_write_gobgpd(const char *dir, const char *name, const char *addr, int port,
                                   const char *peer, int peer_port, const char *const afis[])
{
    char text[4096], path[600];
    snprintf(text, sizeof(text),
             "[global.config]\n  as = 65001\n  router-id = \"%s\"\n  port = %d\n"
             "  local-address-list = [\"%s\"]\n"
             "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"%s\"\n"
             "    peer-as = 65002\n"
             "  [neighbors.transport.config]\n    remote-port = %d\n    local-address = \"%s\"\n"
             "  [neighbors.timers.config]\n    connect-retry = 1\n",
             addr, port, addr, peer, peer_port, addr);
    for (size_t i = 0; afis[i]; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text),
                 "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n"
                 "      afi-safi-name = \"%s\"\n",
                 afis[i]);
    snprintf(path, sizeof(path), "%s/%s.toml", dir, name);
    hn_write_file(path, text);
}

/* Append to BIRD's config text the session named name with a gobgpd:
 * BIRD (AS 65002) on local:local_port, gobgpd (AS 65001) at peer:peer_port,
 * retrying every second, with the channels given (e.g. "  ipv4 { import
 * all; export none; };\n"). BIRD imports, never exports: no kernel
 * protocol, so nothing reaches this machine's routing table. */
static inline void bt_bird_gobgp(char *text, size_t len, const char *name, const char *local,
                                 int local_port, const char *peer, int peer_port,
                                 const char *channels)
{
    snprintf(text + strlen(text), len - strlen(text),
             "protocol bgp %s {\n  local %s port %d as 65002;\n"
             "  neighbor %s port %d as 65001;\n  multihop;\n  connect retry time 1;\n%s}\n",
             name, local, local_port, peer, peer_port, channels);
}

/* ExaBGP's files in dir for a second actuator that ExaBGP runs as its API
 * process (encoder text): that actuator's config (act_conf, written to
 * dir/exa-floodgate.conf), a wrapper that records its PID in
 * dir/exa-actuator.pid and its log in dir/exa-actuator.log, and
 * dir/exabgp.conf peering from addr (AS 65001) with BIRD (AS 65002) at
 * bird:bird_port with the families given ("ipv4 unicast; ..."). */
static inline void bt_write_exabgp(const char *dir, const char *act_conf, const char *addr,
                                   const char *bird, int bird_port, const char *families)
{
    char text[4096], path[600];
    snprintf(path, sizeof(path), "%s/exa-floodgate.conf", dir);
    hn_write_file(path, act_conf);
    char *bin = realpath(hn_build_dir(), NULL); /* ExaBGP runs it from elsewhere */
    assert_non_null(bin);
    snprintf(text, sizeof(text), "#!/bin/sh\necho $$ > %s/exa-actuator.pid\n"
             "exec %s/floodgate-actuator -c %s/exa-floodgate.conf 2>>%s/exa-actuator.log\n",
             dir, bin, dir, dir);
    free(bin);
    snprintf(path, sizeof(path), "%s/exa-actuator.sh", dir);
    hn_write_file(path, text);
    chmod(path, 0755);
    snprintf(text, sizeof(text),
             "process floodgate {\n    run %s/exa-actuator.sh;\n    encoder text;\n}\n"
             "neighbor %s {\n    router-id %s;\n    local-address %s;\n    local-as 65001;\n"
             "    peer-as 65002;\n    connect %d;\n    api { processes [ floodgate ]; }\n"
             "    family { %s }\n}\n",
             dir, bird, addr, addr, bird_port, families);
    snprintf(path, sizeof(path), "%s/exabgp.conf", dir);
    hn_write_file(path, text);
}

/* ---- the daemons ---- */

/* gobgpd with dir/<name>.toml, its gRPC API on 127.0.0.1:api_port, its log
 * in dir/<name>.log. */
static inline pid_t bt_start_gobgpd(const char *dir, const char *name, int api_port)
{
    char toml[600], api[64], log[600];
    snprintf(toml, sizeof(toml), "%s/%s.toml", dir, name);
    snprintf(api, sizeof(api), "--api-hosts=127.0.0.1:%d", api_port);
    snprintf(log, sizeof(log), "%s/%s.log", dir, name);
    char *argv[] = {"gobgpd", "-f", toml, "-p", api, "--pprof-disable", NULL};
    return hn_spawn(argv, log);
}

/* BIRD in the foreground with dir/bird.conf, its control socket at sock. */
static inline pid_t bt_start_bird(const char *dir, const char *sock)
{
    char conf[600], pidf[600], log[600];
    snprintf(conf, sizeof(conf), "%s/bird.conf", dir);
    snprintf(pidf, sizeof(pidf), "%s/bird.pid", dir);
    snprintf(log, sizeof(log), "%s/bird.log", dir);
    char *argv[] = {"bird", "-f", "-c", conf, "-s", (char *)sock, "-P", pidf, NULL};
    return hn_spawn(argv, log);
}

/* ExaBGP with dir/exabgp.conf (bt_write_exabgp), as root without dropping
 * privileges, listening nowhere (it connects), logging to dir/exabgp.log. */
static inline pid_t bt_start_exabgp(const char *dir)
{
    char conf[600], log[600];
    snprintf(conf, sizeof(conf), "%s/exabgp.conf", dir);
    snprintf(log, sizeof(log), "%s/exabgp.log", dir);
    char *argv[] = {"/usr/sbin/exabgp", conf, NULL};
    char *env[] = {"exabgp.daemon.user=root", "exabgp.daemon.drop=false", "exabgp.tcp.bind=",
                   "exabgp.log.destination=stdout", NULL};
    return hn_spawn_env(argv, env, log);
}

static inline bool bt_gone(void *pid)
{
    return kill(*(int *)pid, 0) != 0;
}

/* Stop ExaBGP (*pid, then 0) and, should it have left it behind, its
 * actuator: not our child, so stopped by the PID its wrapper recorded. */
static inline void bt_stop_exabgp(const char *dir, pid_t *pid)
{
    char path[600];
    hn_stop(*pid, 5000);
    *pid = 0;
    snprintf(path, sizeof(path), "%s/exa-actuator.pid", dir);
    char *text = hn_read_file(path);
    if (text && atoi(text) > 0 && kill(atoi(text), 0) == 0) {
        int p = atoi(text); /* gone when kill(p, 0) fails */
        kill(p, SIGTERM);
        if (!hn_wait_until(bt_gone, &p, 3000))
            kill(p, SIGKILL);
    }
    free(text);
    unlink(path);
}

/* Is BIRD's session proto (on control socket sock) Established? birdc's
 * scratch output goes to dir. */
static inline bool bt_session_up(const char *dir, const char *sock, const char *proto)
{
    char *out;
    char *argv[] = {"birdc", "-s", (char *)sock, "show", "protocols", (char *)proto, NULL};
    return hn_run(dir, argv, NULL, &out) == 0 && strstr(out, "Established");
}

static inline bool bt_bed_session_up(void *b)
{
    return bt_session_up(((bt_bed_t *)b)->dir, ((bt_bed_t *)b)->bird_sock, "gobgp");
}

/* The bed's BGP session gobgpd-BIRD is up within 20 s, or the test fails. */
static inline void bt_bed_expect_session(bt_bed_t *b)
{
    if (!hn_wait_until(bt_bed_session_up, b, 20000))
        fail_msg("BGP session gobgpd-BIRD not up within 20 s; logs in %s", b->dir);
}

/* The bed's PUSH socket (*push) connected to the actuator on port. */
static inline void bt_bed_push(zsock_t **push, int port)
{
    *push = zsock_new(ZMQ_PUSH);
    assert_non_null(*push);
    assert_int_equal(zsock_connect(*push, "tcp://127.0.0.1:%d", port), 0);
}

/* ---- BIRD's table and Redis as sets ---- */

/* A list of strings for a set: owns them, sorts with strcmp. */
static inline zlistx_t *bt_set_new(void)
{
    zlistx_t *l = zlistx_new();
    zlistx_set_destructor(l, (czmq_destructor *)zstr_free);
    zlistx_set_comparator(l, (czmq_comparator *)strcmp);
    return l;
}

/* The set, sorted and space-separated, in out; the list is destroyed. */
static inline void bt_set_join(zlistx_t **l_p, char *out, size_t len)
{
    zlistx_sort(*l_p);
    out[0] = '\0';
    for (char *s = zlistx_first(*l_p); s; s = zlistx_next(*l_p))
        snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? " " : "", s);
    zlistx_destroy(l_p);
}

/* ---- decisions ---- */

/* d packed in a new frame (the caller's, to send or destroy). */
static inline zframe_t *bt_frame(const Floodgate__Decision *d)
{
    zframe_t *f = zframe_new(NULL, floodgate__decision__get_packed_size(d));
    floodgate__decision__pack(d, zframe_data(f));
    return f;
}

#endif
