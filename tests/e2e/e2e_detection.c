/* End to end: detection across two aggregator shards, with a real detector,
 * actuator and redis-server on free loopback ports. The test is the
 * collector: it pushes FlowBatch messages to shard hash(host) mod 2, the way
 * floodgate-collector does, so it can describe IPv6 hosts and long flows
 * exported with a 60 s active timeout without waiting a minute.
 *
 * At once, for about 8 s:
 *   - background: 10 IPv4 and 10 IPv6 hosts at 50 % of their threshold,
 *     each as 10 long flows exported as 60 s records (60 000 packets in one
 *     record: counted on arrival, each would look like 600 000 pps);
 *   - a SYN flood on 10.0.2.1 (sFlow-like samples, start == end);
 *   - a DNS amplification on 2001:db8:100::2:1 (2 s flow records from 40
 *     resolvers, source port 53);
 *   - a carpet bombing over 10.0.50.0/24: 50 hosts at 1 200 pps each (far
 *     under the host threshold, 60 000 pps together, over the hostgroup's
 *     network-wide 50 000), and 5 more at 100 pps, under the host floor;
 *   - a compromised 10.0.3.1 sending a flood out (outgoing threshold);
 *   - a flood on the whitelisted 10.0.0.53.
 * Redis must hold exactly the expected bans with the expected attack types
 * and directions: no background host, no host under the floor, not the
 * whitelisted one.
 *
 * Then the same through the real collector: floodgate-flowgen sends NetFlow
 * v5 with 20 background hosts at 50 % of the threshold, each one long flow
 * exported as a 60 s record (--active-timeout 60), and a UDP flood: only the
 * flooded host is banned. The background hosts' hostgroup bans after a
 * single window over the threshold, so one 60 s record counted on arrival
 * would ban them.
 *
 * Last, a heavy-tailed background (many small records, a few large flows
 * exported as 60 s records, three exporters, sampled): no false ban over
 * its run while a 5x flood is banned within 0.5 s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <czmq.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "common/flow.h"
#include "common/flowbatch.h"
#include "tests/harness.h"

#define SHARDS 2
#define STEP_MS 50
#define RUN_MS 8000
#define N_BG 10      /* hosts per family */
#define BG_FLOWS 10  /* long flows per background host */
#define BG_FLOW_PPS 1000.0
#define N_CARPET 50
#define N_UNDER 5
#define N_RESOLVERS 40

typedef struct {
    hn_pipe_t p; /* the daemons */
    zsock_t *push[SHARDS];
    fb_builder_t *fb[SHARDS];
    uint64_t seq[SHARDS];
} e2e_t;

static e2e_t s_e;

static void s_write_config(e2e_t *e)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "# written by e2e_detection\n"
             "networks\n    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
             "    whitelist = 10.0.0.53/32\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgdet\n"
             "collector\n    netflow_listen = 127.0.0.1:%d\n    batch_ms = 10\n"
             "    metrics_listen = 127.0.0.1:%d\n"
             "aggregator\n    shards = %d\n"
             "    pull_bind = tcp://127.0.0.1:%d\n    pub_bind = tcp://127.0.0.1:%d\n"
             "    pull_connect = tcp://127.0.0.1:%d\n    pub_connect = tcp://127.0.0.1:%d\n"
             "    tick_ms = 100\n    metrics_listen = 127.0.0.1:%d\n"
             "detector\n    ongoing_interval = 2\n    attack_end = 10\n"
             "    metrics_listen = 127.0.0.1:%d\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    connect = tcp://127.0.0.1:%d\n"
             "    check_interval = 1\n    metrics_listen = 127.0.0.1:%d\n"
             "hostgroup\n    default\n        ban_time = 600\n        threshold_pps = 20000\n"
             "        threshold_mbps = 0\n        threshold_flows = 0\n"
             "        out_threshold_pps = 20000\n"
             "    web\n        networks = 10.0.1.0/24\n        threshold_pps = 20000\n"
             "        threshold_mbps = 0\n        threshold_flows = 0\n"
             "        consecutive_windows = 1\n"
             "    carpet\n        networks = 10.0.50.0/24\n        threshold_pps = 20000\n"
             "        threshold_mbps = 0\n        threshold_flows = 0\n"
             "        network_threshold_pps = 50000\n        network_host_floor_pps = 300\n"
             "        network_host_floor_mbps = 0\n",
             e->p.redis_port, e->p.nf_port, e->p.m_col, SHARDS, e->p.pull_port, e->p.pub_port,
             e->p.pull_port, e->p.pub_port, e->p.m_agg, e->p.m_det, e->p.act_port, e->p.act_port,
             e->p.m_act);
    hn_write_file(e->p.conf, text);
}

static int s_setup(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    hn_pipe_init(&e->p, "e2edet", SHARDS);
    s_write_config(e);
    hn_pipe_start(&e->p);
    for (int i = 0; i < SHARDS; i++) {
        char ep[64];
        snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", e->p.pull_port + i);
        e->push[i] = zsock_new_push(ep);
        e->fb[i] = fb_builder_new(4096);
        assert_non_null(e->push[i]);
        assert_non_null(e->fb[i]);
    }
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    for (int i = 0; i < SHARDS; i++) {
        zsock_destroy(&e->push[i]);
        fb_builder_destroy(&e->fb[i]);
    }
    hn_pipe_stop(&e->p);
    return 0;
}

/* ---- the test's collector ------------------------------------------------ */

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void s_flush(e2e_t *e, int sh)
{
    if (fb_count(e->fb[sh]) == 0)
        return;
    size_t len = 0;
    uint8_t *buf = fb_pack(e->fb[sh], 99, (uint32_t)sh, SHARDS, ++e->seq[sh], s_now_ms(), &len);
    assert_non_null(buf);
    zframe_t *f = zframe_new(buf, len);
    free(buf);
    assert_int_equal(zframe_send(&f, e->push[sh], 0), 0);
}

static const uint8_t s_exporter[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 9};

static void s_send(e2e_t *e, const fg_flow_t *r)
{
    int sh = (int)(fg_addr_hash(&r->host) % SHARDS);
    if (fb_add(e->fb[sh], r, s_exporter) != 0) {
        s_flush(e, sh);
        assert_int_equal(fb_add(e->fb[sh], r, s_exporter), 0);
    }
}

static fg_flow_t s_rec(const char *host, uint32_t peer_v4, uint8_t proto, uint8_t flags,
                       uint16_t sport, uint16_t dport, uint64_t packets, uint32_t bpp,
                       uint64_t dur_ms, uint64_t now)
{
    fg_flow_t r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(fg_addr_parse(host, &r.host), 0);
    r.peer = fg_addr_from_v4(peer_v4);
    r.proto = proto;
    r.tcp_flags = flags;
    r.sport = sport;
    r.dport = dport;
    r.packets = packets;
    r.bytes = packets * bpp;
    r.start_ms = now - dur_ms;
    r.end_ms = now;
    r.sampling = 1;
    r.dir = FG_DIR_IN;
    return r;
}

static void s_host_name(char *out, size_t len, int v6, int i)
{
    if (v6)
        snprintf(out, len, "2001:db8:100::4:%x", i + 1);
    else
        snprintf(out, len, "10.0.4.%d", i + 1);
}

/* Background: every long flow exports a 60 s record at a time of its own
 * in the first 2 s, and again 4 s later (replacing its rate). */
static void s_background(e2e_t *e, uint64_t t, uint64_t now)
{
    for (int v6 = 0; v6 < 2; v6++)
        for (int h = 0; h < N_BG; h++)
            for (int f = 0; f < BG_FLOWS; f++) {
                uint64_t at = (uint64_t)((h * BG_FLOWS + f) * 37 % 2000);
                if (!(t / STEP_MS == at / STEP_MS || t / STEP_MS == (at + 4000) / STEP_MS))
                    continue;
                char host[64];
                s_host_name(host, sizeof(host), v6, h);
                fg_flow_t r = s_rec(host, 0xcb007100u + (uint32_t)f, 6, 0x18, 443,
                                    (uint16_t)(30000 + f), (uint64_t)(BG_FLOW_PPS * 60), 1200,
                                    60000, now);
                s_send(e, &r);
            }
}

static void s_attacks(e2e_t *e, uint64_t t, uint64_t now)
{
    static uint32_t src;
    uint64_t per_step = STEP_MS; /* packets per step = pps * STEP_MS / 1000 */
    /* SYN flood at 60 000 pps: 3 samples per step from changing sources. */
    for (int i = 0; i < 3; i++) {
        src++;
        fg_flow_t r = s_rec("10.0.2.1", 0xc6120000u + src % 5000, 6, 0x02,
                            (uint16_t)(1024 + src % 60000), 80, 60 * per_step / 3, 60, 0, now);
        s_send(e, &r);
    }
    /* DNS amplification at 60 000 pps: each resolver reports a 2 s record
     * every second (1 500 pps each). */
    for (int j = 0; j < N_RESOLVERS; j++) {
        if ((t / STEP_MS) % 20 != (uint64_t)(j % 20))
            continue;
        fg_flow_t r = s_rec("2001:db8:100::2:1", 0xc0a80000u + (uint32_t)j, 17, 0, 53, 33333,
                            3000, 1400, 2000, now);
        s_send(e, &r);
    }
    /* Carpet bombing: 1 200 pps per host, and 100 pps under the floor. */
    for (int h = 0; h < N_CARPET + N_UNDER; h++) {
        char host[32];
        snprintf(host, sizeof(host), "10.0.50.%d", h + 1);
        uint64_t pk = (h < N_CARPET ? 1200 : 100) * per_step / 1000;
        src++;
        fg_flow_t r = s_rec(host, 0xc6130000u + src % 5000, 17, 0,
                            (uint16_t)(1024 + src % 60000), 8000, pk, 500, 0, now);
        s_send(e, &r);
    }
    /* A compromised server sending 40 000 pps out. */
    fg_flow_t out = s_rec("10.0.3.1", 0xc6140001u, 17, 0, 40000, 80, 40 * per_step, 100, 0,
                          now);
    out.dir = FG_DIR_OUT;
    s_send(e, &out);
    /* The whitelisted resolver under a flood. */
    fg_flow_t wl = s_rec("10.0.0.53", 0xc6150001u, 17, 0, 4444, 53, 80 * per_step, 100, 0, now);
    s_send(e, &wl);
}

static void s_traffic(e2e_t *e)
{
    uint64_t t0 = hn_ms();
    for (uint64_t t = 0; t < RUN_MS; t += STEP_MS) {
        uint64_t wait = t0 + t;
        while (hn_ms() < wait)
            usleep(2000);
        uint64_t now = s_now_ms();
        s_background(e, t, now);
        if (t >= 2500) /* the background has its rates by then */
            s_attacks(e, t, now);
        for (int sh = 0; sh < SHARDS; sh++)
            s_flush(e, sh);
    }
}

/* ---- Redis --------------------------------------------------------------- */

static redisReply *s_keys(void)
{
    redisReply *r = hn_redis(s_e.p.redis_port, "KEYS fgdet:ban:*");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    return r;
}

static const char *s_field(const char *ip, const char *field)
{
    static char buf[8][8192];
    static int next;
    char *out = buf[next++ % 8];
    redisReply *r = hn_redis(s_e.p.redis_port, "HGET fgdet:ban:%s %s", ip, field);
    assert_non_null(r);
    snprintf(out, 8192, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return out;
}

static bool s_all_expected(void *arg)
{
    (void)arg;
    redisReply *r = hn_redis(s_e.p.redis_port, "KEYS fgdet:ban:*");
    bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements >= 3 + N_CARPET;
    if (r)
        freeReplyObject(r);
    return ok;
}

static void test_e2e_detection_two_shards(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    s_traffic(e);
    bool all = hn_wait_until(s_all_expected, NULL, 5000);
    /* anything unexpected had its chance */
    hn_expect_settled(e->p.m_det, e->p.m_act, SHARDS, 2, 5000);
    redisReply *keys = s_keys();
    int carpet = 0, other = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        const char *ip = keys->element[i]->str + strlen("fgdet:ban:");
        unsigned a, b, c, d;
        if (sscanf(ip, "%u.%u.%u.%u", &a, &b, &c, &d) == 4 && a == 10 && b == 0 && c == 50 &&
            d >= 1 && d <= N_CARPET) {
            carpet++;
            assert_string_equal(s_field(ip, "metric"), "network_pps");
            assert_string_equal(s_field(ip, "attack_type"), "udp_flood");
            assert_string_equal(s_field(ip, "hostgroup"), "carpet");
            continue;
        }
        if (strcmp(ip, "10.0.2.1") && strcmp(ip, "2001:db8:100::2:1") && strcmp(ip, "10.0.3.1")) {
            print_message("unexpected ban: %s (%s, %s)\n", ip, s_field(ip, "attack_type"),
                          s_field(ip, "metric"));
            other++;
        }
    }
    print_message("bans: %zu keys, %d carpet hosts\n", keys->elements, carpet);
    freeReplyObject(keys);
    assert_true(all);
    assert_int_equal(other, 0);
    assert_int_equal(carpet, N_CARPET);
    assert_string_equal(s_field("10.0.2.1", "attack_type"), "syn_flood");
    assert_string_equal(s_field("10.0.2.1", "direction"), "incoming");
    assert_string_equal(s_field("2001:db8:100::2:1", "attack_type"), "amplification_dns");
    assert_string_equal(s_field("10.0.3.1", "direction"), "outgoing");
    assert_string_equal(s_field("10.0.3.1", "attack_type"), "udp_flood");
    const char *details = s_field("2001:db8:100::2:1", "details");
    if (!strstr(details, "\"kind\":\"src_port\",\"key\":\"53\""))
        fail_msg("no source port 53 among the contributors: %s", details);
    details = s_field("10.0.2.1", "details");
    if (!strstr(details, "\"kind\":\"proto\",\"key\":\"6\""))
        fail_msg("no protocol 6 among the contributors: %s", details);
}

static bool s_key_exists(void *ip)
{
    redisReply *r = hn_redis(s_e.p.redis_port, "EXISTS fgdet:ban:%s", (char *)ip);
    bool yes = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    return yes;
}

static void test_e2e_detection_netflow_active_timeout(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    char cmd[1024], log[600];
    snprintf(cmd, sizeof(cmd),
             "exec %s/floodgate-flowgen -d 127.0.0.1:%d --background 20 "
             "--background-pps 10000 --active-timeout 60 --dst 10.0.2.9 --pps 60000 "
             "--duration 6",
             hn_build_dir(), e->p.nf_port);
    snprintf(log, sizeof(log), "%s/flowgen.log", e->p.dir);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    pid_t g = hn_spawn(argv, log);
    bool banned = hn_wait_until(s_key_exists, "10.0.2.9", 8000);
    hn_wait_exit(g, 10000);
    hn_expect_settled(e->p.m_det, e->p.m_act, SHARDS, 2, 5000); /* the last export was judged */
    assert_true(banned);
    assert_string_equal(s_field("10.0.2.9", "attack_type"), "udp_flood");
    int bg = 0;
    for (int h = 1; h <= 20; h++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.0.1.%d", h);
        if (s_key_exists(ip)) {
            print_message("background host banned: %s\n", ip);
            bg++;
        }
    }
    assert_int_equal(bg, 0);
}

/* Spawn floodgate-flowgen with args to the collector (its own socket: one
 * exporter each). */
static pid_t s_flowgen(const e2e_t *e, const char *tag, const char *args)
{
    char cmd[1024], log[600];
    snprintf(cmd, sizeof(cmd), "exec %s/floodgate-flowgen -d 127.0.0.1:%d %s", hn_build_dir(),
             e->p.nf_port, args);
    snprintf(log, sizeof(log), "%s/flowgen-%s.log", e->p.dir, tag);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return hn_spawn(argv, log);
}

/* A heavy-tailed background from three exporters, sampled: 250 hosts
 * (10.0.6.1..) get many small records (1:10 and unsampled), and 20 of them
 * a large flow each at 12 000 pps exported as one 60 s record (1:100;
 * 720 000 packets in one record), so those 20 sit at about 65 % of their
 * 20 000 pps threshold, in the default hostgroup (1 s average, 2 windows,
 * confidence 3). None may be banned while, from 3 s on, a 5x flood
 * (100 000 pps, 1:100) is, within 0.5 s of its first datagram. Not
 * 10.0.4.x: the first test's long flows (10 x 1 000 pps, 60 s records) are
 * still held there, and 10 000 + 12 000 pps is over the threshold. */
static void test_e2e_detection_heavy_tailed(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    pid_t bg[3] = {
        s_flowgen(e, "large", "--background 20 --background-from 10.0.6.1 "
                              "--background-pps 12000 --active-timeout 60 --sampling 100 "
                              "--duration 8"),
        s_flowgen(e, "small", "--background 250 --background-from 10.0.6.1 "
                              "--background-pps 800 --sampling 10 --duration 8"),
        s_flowgen(e, "tiny", "--background 250 --background-from 10.0.6.1 "
                             "--background-pps 100 --duration 8"),
    };
    usleep(3000 * 1000); /* the large flows have all been exported (first 2 s) */
    for (int h = 1; h <= 250; h++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.0.6.%d", h);
        if (s_key_exists(ip))
            print_message("banned early: %s metric %s value %s\n", ip, s_field(ip, "metric"),
                          s_field(ip, "value"));
        assert_false(s_key_exists(ip));
    }
    uint64_t t0 = hn_ms();
    pid_t f = s_flowgen(e, "flood", "--dst 10.0.2.77 --pps 100000 --sampling 100 --duration 3");
    bool banned = hn_wait_until(s_key_exists, "10.0.2.77", 3000);
    uint64_t took = hn_ms() - t0;
    hn_wait_exit(f, 10000);
    for (int i = 0; i < 3; i++)
        hn_wait_exit(bg[i], 15000);
    hn_expect_settled(e->p.m_det, e->p.m_act, SHARDS, 2, 5000); /* the last export was judged */
    assert_true(banned);
    print_message("5x flood over a heavy-tailed background: ban key in Redis %llu ms after "
                  "flowgen started\n", (unsigned long long)took);
    assert_true(took <= 500);
    assert_string_equal(s_field("10.0.2.77", "attack_type"), "udp_flood");
    int n = 0;
    for (int h = 1; h <= 250; h++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.0.6.%d", h);
        if (s_key_exists(ip)) {
            print_message("background host banned: %s\n", ip);
            n++;
        }
    }
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_detection_two_shards),
        cmocka_unit_test(test_e2e_detection_netflow_active_timeout),
        cmocka_unit_test(test_e2e_detection_heavy_tailed),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
