/* test_zsec: the ZeroMQ socket factory. Curve between real sockets on
 * 127.0.0.1 (an allowed key gets through, an unknown key and a plain client
 * are refused and counted, a key added to the directory is accepted without
 * a restart), size limits (oversized refused and counted, a frame beyond
 * ZMQ_MAXMSGSIZE cuts the connection, normal messages still pass), the bind
 * policy (non-loopback without Curve refused, allowed with curve/insecure;
 * a daemon exits 2 on it), and keygen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/zsec.h"
#include "tests/harness.h"

typedef struct {
    char *dir;
    char ep[64];
    fg_config_t *cfg;
} fx_t;

static fg_config_t *s_config(const char *dir, const char *extra)
{
    char path[512], text[1024], err[512];
    snprintf(text, sizeof(text), "networks\n    monitored = \"10.0.0.0/16\"\n%s", extra);
    snprintf(path, sizeof(path), "%s/floodgate.conf", dir);
    hn_write_file(path, text);
    fg_config_t *cfg = fg_config_load(path, err, sizeof(err));
    if (!cfg)
        fail_msg("config: %s", err);
    return cfg;
}

static void s_keygen(const fx_t *fx, const char *name, const char *sub)
{
    char dir[512], err[512];
    snprintf(dir, sizeof(dir), "%s/%s", fx->dir, sub);
    if (zsec_keygen(name, dir, err, sizeof(err)) != 0)
        fail_msg("keygen %s: %s", name, err);
}

static void s_path(const fx_t *fx, char *out, size_t len, const char *rel)
{
    snprintf(out, len, "%s/%s", fx->dir, rel);
}

static void s_setup(fx_t *fx, bool curve)
{
    fx->dir = hn_tmpdir("zsec");
    snprintf(fx->ep, sizeof(fx->ep), "tcp://127.0.0.1:%d", hn_free_port());
    fx->cfg = s_config(fx->dir, curve ? "curve\n    enable = true\n" : "");
    if (!curve)
        return;
    s_keygen(fx, "server", "keys");
    s_keygen(fx, "detector", "keys");
    s_keygen(fx, "stranger", "elsewhere");
    char a[512], from[512], to[512];
    s_path(fx, a, sizeof(a), "allowed");
    mkdir(a, 0755);
    s_path(fx, from, sizeof(from), "keys/detector.key");
    s_path(fx, to, sizeof(to), "allowed/detector.key");
    char *text = hn_read_file(from);
    assert_non_null(text);
    hn_write_file(to, text);
    free(text);
}

static void s_teardown(fx_t *fx)
{
    fg_config_destroy(&fx->cfg);
    hn_rmdir(fx->dir);
    free(fx->dir);
}

static zsec_t *s_zsec(const fx_t *fx, const char *cert, const char *allowed)
{
    char c[512], a[512], err[512];
    s_path(fx, c, sizeof(c), cert);
    if (allowed)
        s_path(fx, a, sizeof(a), allowed);
    zsec_t *zs = zsec_new(fx->cfg, c, allowed ? a : NULL, err, sizeof(err));
    if (!zs)
        fail_msg("zsec_new: %s", err);
    return zs;
}

/* Wait up to ms for a message on sock; its size, or -1. */
static long s_wait_msg(zsec_t *zs, zsock_t *sock, int ms, int *refused)
{
    uint64_t end = hn_ms() + (uint64_t)ms;
    while (hn_ms() < end) {
        zsec_tick(zs);
        zmq_msg_t msg;
        int rc = zsec_recv(zs, sock, &msg);
        if (rc == 0) {
            long n = (long)zmq_msg_size(&msg);
            zmq_msg_close(&msg);
            return n;
        }
        if (rc > 0 && refused)
            (*refused)++;
        zclock_sleep(10);
    }
    return -1;
}

static bool s_auth_failed(void *arg)
{
    void **a = arg;
    zsec_tick(a[0]);
    const zsec_stats_t *st = zsec_stats(a[0], a[1]);
    return st->hs_failed[ZSEC_HS_AUTH] + st->hs_failed[ZSEC_HS_PROTOCOL] +
               st->hs_failed[ZSEC_HS_NO_DETAIL] >
           0;
}

static void test_zsec_curve_allowed_key_connects(void **state)
{
    (void)state;
    fx_t fx;
    s_setup(&fx, true);
    char err[512], srv_pub[512];
    zsec_t *srv = s_zsec(&fx, "keys/server.key_secret", "allowed");
    zsec_t *cli = s_zsec(&fx, "keys/detector.key_secret", NULL);
    zsock_t *pull = zsec_bind(srv, ZSEC_ACT_PULL, fx.ep, err, sizeof(err));
    if (!pull)
        fail_msg("bind: %s", err);
    s_path(&fx, srv_pub, sizeof(srv_pub), "keys/server.key");
    zsock_t *push = zsec_connect(cli, ZSEC_DET_PUSH, fx.ep, srv_pub, err, sizeof(err));
    if (!push)
        fail_msg("connect: %s", err);
    assert_int_equal(zmq_send(zsock_resolve(push), "decision", 8, 0), 8);
    assert_int_equal(s_wait_msg(srv, pull, 5000, NULL), 8);
    zsec_tick(srv);
    const zsec_stats_t *st = zsec_stats(srv, pull);
    assert_true(st->handshakes >= 1);
    assert_int_equal(st->hs_failed[ZSEC_HS_AUTH], 0);
    zsec_destroy(&cli);
    zsec_destroy(&srv);
    s_teardown(&fx);
}

/* An unknown key, even one that knows the server's public key, is refused
 * by zauth and counted; so is a client without Curve. Copying its public
 * key into the allowed directory lets it in without a restart. */
static void test_zsec_curve_unknown_key_refused(void **state)
{
    (void)state;
    fx_t fx;
    s_setup(&fx, true);
    char err[512], srv_pub[512];
    zsec_t *srv = s_zsec(&fx, "keys/server.key_secret", "allowed");
    zsec_t *evil = s_zsec(&fx, "elsewhere/stranger.key_secret", NULL);
    zsock_t *pull = zsec_bind(srv, ZSEC_ACT_PULL, fx.ep, err, sizeof(err));
    assert_non_null(pull);
    s_path(&fx, srv_pub, sizeof(srv_pub), "keys/server.key");
    zsock_t *push = zsec_connect(evil, ZSEC_DET_PUSH, fx.ep, srv_pub, err, sizeof(err));
    assert_non_null(push);
    zmq_send(zsock_resolve(push), "forged", 6, ZMQ_DONTWAIT);
    assert_int_equal(s_wait_msg(srv, pull, 1500, NULL), -1);
    void *arg[2] = {srv, pull};
    assert_true(hn_wait_until(s_auth_failed, arg, 3000));
    const zsec_stats_t *st = zsec_stats(srv, pull);
    assert_true(st->hs_failed[ZSEC_HS_AUTH] >= 1);
    assert_int_equal(st->handshakes, 0);

    /* a plain ZeroMQ client: refused at the handshake, counted */
    uint64_t failed = st->hs_failed[ZSEC_HS_PROTOCOL] + st->hs_failed[ZSEC_HS_NO_DETAIL];
    zsock_t *plain = zsock_new_push(NULL);
    zsock_connect(plain, "%s", fx.ep);
    zmq_send(zsock_resolve(plain), "forged", 6, ZMQ_DONTWAIT);
    assert_int_equal(s_wait_msg(srv, pull, 1500, NULL), -1);
    assert_true(st->hs_failed[ZSEC_HS_PROTOCOL] + st->hs_failed[ZSEC_HS_NO_DETAIL] > failed);
    zsock_destroy(&plain);

    /* the operator allows the new key: the refused client retries (libzmq
     * alone would not after an authentication failure) and gets in */
    char from[512], to[512];
    s_path(&fx, from, sizeof(from), "elsewhere/stranger.key");
    s_path(&fx, to, sizeof(to), "allowed/stranger.key");
    char *text = hn_read_file(from);
    hn_write_file(to, text);
    free(text);
    long got = -1;
    for (int i = 0; i < 40 && got < 0; i++) {
        zsec_tick(evil);
        zmq_send(zsock_resolve(push), "joined!", 7, ZMQ_DONTWAIT);
        got = s_wait_msg(srv, pull, 200, NULL);
    }
    assert_int_equal(got, 7);
    zsec_destroy(&evil);
    zsec_destroy(&srv);
    s_teardown(&fx);
}

static bool s_disconnected(void *arg)
{
    void **a = arg;
    zsec_tick(a[0]);
    return zsec_stats(a[0], a[1])->disconnected > 0;
}

/* A Decision above 64 KiB is refused and counted; one above twice that
 * (ZMQ_MAXMSGSIZE) cuts the sender's connection (counted as a disconnect);
 * a normal message still passes afterwards. */
static void test_zsec_oversized_counted(void **state)
{
    (void)state;
    fx_t fx;
    s_setup(&fx, false);
    char err[512];
    zsec_t *srv = s_zsec(&fx, "none", NULL);
    zsec_t *cli = s_zsec(&fx, "none", NULL);
    zsock_t *pull = zsec_bind(srv, ZSEC_ACT_PULL, fx.ep, err, sizeof(err));
    zsock_t *push = zsec_connect(cli, ZSEC_DET_PUSH, fx.ep, NULL, err, sizeof(err));
    assert_non_null(pull);
    assert_non_null(push);
    size_t max = zsec_max_msg(srv, ZSEC_ACT_PULL);
    assert_int_equal(max, 65536);
    char *big = calloc(1, 3 * max);
    assert_int_equal(zmq_send(zsock_resolve(push), big, max + 100, 0), (int)(max + 100));
    assert_int_equal(zmq_send(zsock_resolve(push), big, 100, 0), 100);
    int refused = 0;
    assert_int_equal(s_wait_msg(srv, pull, 5000, &refused), 100);
    assert_int_equal(refused, 1);
    assert_int_equal(zsec_stats(srv, pull)->refused[ZSEC_OVERSIZED], 1);

    zmq_send(zsock_resolve(push), big, 3 * max, 0); /* beyond ZMQ_MAXMSGSIZE */
    void *arg[2] = {srv, pull};
    assert_true(hn_wait_until(s_disconnected, arg, 3000));
    assert_int_equal(zmq_send(zsock_resolve(push), big, 10, 0), 10);
    assert_int_equal(s_wait_msg(srv, pull, 5000, &refused), 10);
    assert_int_equal(refused, 1);
    zsec_refuse(srv, pull, ZSEC_MALFORMED);
    assert_int_equal(zsec_stats(srv, pull)->refused[ZSEC_MALFORMED], 1);
    free(big);
    zsec_destroy(&cli);
    zsec_destroy(&srv);
    s_teardown(&fx);
}

static void test_zsec_bind_policy(void **state)
{
    (void)state;
    assert_true(zsec_endpoint_local("tcp://127.0.0.1:5550"));
    assert_true(zsec_endpoint_local("tcp://127.1.2.3:5550"));
    assert_true(zsec_endpoint_local("tcp://[::1]:5550"));
    assert_true(zsec_endpoint_local("tcp://localhost:5550"));
    assert_true(zsec_endpoint_local("ipc:///run/floodgate/agg.sock"));
    assert_false(zsec_endpoint_local("tcp://*:5550"));
    assert_false(zsec_endpoint_local("tcp://0.0.0.0:5550"));
    assert_false(zsec_endpoint_local("tcp://[::]:5550"));
    assert_false(zsec_endpoint_local("tcp://eth0:5550"));
    assert_false(zsec_endpoint_local("tcp://198.51.100.7:5550"));
    assert_false(zsec_endpoint_local("tcp://128.0.0.1:5550"));

    fx_t fx;
    s_setup(&fx, false);
    char err[512], ep[64];
    zsec_t *zs = s_zsec(&fx, "none", NULL);
    snprintf(ep, sizeof(ep), "tcp://*:%d", hn_free_port());
    assert_null(zsec_bind(zs, ZSEC_AGG_PULL, ep, err, sizeof(err)));
    assert_non_null(strstr(err, "without CurveZMQ"));
    assert_int_equal(zsec_check_bind(zs, "tcp://0.0.0.0:5550", err, sizeof(err)), -1);
    assert_non_null(zsec_bind(zs, ZSEC_AGG_PULL, fx.ep, err, sizeof(err)));
    zsec_destroy(&zs);

    /* curve/insecure: allowed, and the metric says so */
    fg_config_destroy(&fx.cfg);
    fx.cfg = s_config(fx.dir, "curve\n    insecure = true\n");
    zs = s_zsec(&fx, "none", NULL);
    assert_int_equal(zsec_check_bind(zs, "tcp://0.0.0.0:5550", err, sizeof(err)), 0);
    fg_metrics_t *m = fg_metrics_new("test");
    assert_int_equal(zsec_metrics(zs, m), 0);
    fg_metrics_render(m);
    char *text = fg_metrics_snapshot(m);
    assert_non_null(strstr(text, "\nfloodgate_insecure 1\n"));
    assert_non_null(strstr(text, "\nfloodgate_curve 0\n"));
    free(text);
    fg_metrics_destroy(&m);
    zsec_destroy(&zs);
    s_teardown(&fx);
}

/* The daemon refuses to start on a non-loopback bind without Curve: exit 2
 * with the reason, before any socket is bound. */
static void test_zsec_daemon_refuses_open_bind(void **state)
{
    (void)state;
    char *dir = hn_tmpdir("zsec-daemon");
    char conf[512], text[512], log[512], bin[512];
    snprintf(text, sizeof(text),
             "networks\n    monitored = \"10.0.0.0/16\"\nactuator\n    bind = tcp://*:%d\n"
             "    metrics_listen = \"\"\n",
             hn_free_port());
    snprintf(conf, sizeof(conf), "%s/floodgate.conf", dir);
    hn_write_file(conf, text);
    snprintf(bin, sizeof(bin), "%s/floodgate-actuator", hn_build_dir());
    snprintf(log, sizeof(log), "%s/actuator.log", dir);
    char *argv[] = {bin, "-c", conf, NULL};
    pid_t pid = hn_spawn(argv, log);
    int st = hn_wait_exit(pid, 5000);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    char *out = hn_read_file(log);
    assert_non_null(out);
    assert_non_null(strstr(out, "refusing to bind"));
    free(out);
    hn_rmdir(dir);
    free(dir);
}

static void test_zsec_keygen_files(void **state)
{
    (void)state;
    fx_t fx;
    s_setup(&fx, true);
    char sec[512], pub[512], err[512];
    s_path(&fx, sec, sizeof(sec), "keys/server.key_secret");
    s_path(&fx, pub, sizeof(pub), "keys/server.key");
    struct stat sb;
    assert_int_equal(stat(sec, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(stat(pub, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0644);
    char dir[512];
    s_path(&fx, dir, sizeof(dir), "keys");
    assert_int_equal(zsec_keygen("server", dir, err, sizeof(err)), -1); /* never overwritten */
    assert_non_null(strstr(err, "exists"));
    assert_int_equal(zsec_keygen("../x", dir, err, sizeof(err)), -1);
    /* a public key alone is no certificate for a process */
    char only[512];
    s_path(&fx, only, sizeof(only), "keys/public-only");
    char *text = hn_read_file(pub);
    hn_write_file(only, text);
    free(text);
    assert_null(zsec_new(fx.cfg, only, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "no secret key"));
    /* a missing allowed directory is an error, not an open door */
    s_path(&fx, dir, sizeof(dir), "nowhere");
    assert_null(zsec_new(fx.cfg, sec, dir, err, sizeof(err)));
    assert_non_null(strstr(err, "not a directory"));
    s_teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zsec_curve_allowed_key_connects),
        cmocka_unit_test(test_zsec_curve_unknown_key_refused),
        cmocka_unit_test(test_zsec_oversized_counted),
        cmocka_unit_test(test_zsec_bind_policy),
        cmocka_unit_test(test_zsec_daemon_refuses_open_bind),
        cmocka_unit_test(test_zsec_keygen_files),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zsys_shutdown();
    return rc;
}
