/* End to end: a shard offered more FlowBatch messages than it can count
 * keeps a bounded memory, and a real flood is still banned meanwhile.
 * Real redis-server, actuator, detector, one aggregator shard and collector
 * on free loopback ports.
 *
 * The test pushes FlowBatch messages of 4 096 records (65 536 hosts of
 * 10.1.0.0/16 at 1 packet a record, far below any threshold) straight into
 * the shard's PULL port, as fast as ZeroMQ takes them (up to 40 000 of them
 * or 8 s; each packed again every 50 ms with the time of now and resent
 * meanwhile), many times what one shard counts on this machine. Its PUSH
 * socket refuses what the shard's queue cannot take (ZMQ_DONTWAIT: EAGAIN),
 * counted here as a collector counts it. Meanwhile floodgate-flowgen sends a
 * 60 kpps flood (3x the threshold) for 10.0.0.9 through the collector.
 *
 * From 0.5 to 2.5 s the shard's main thread is stopped (ptrace), its ZeroMQ
 * I/O thread still receiving, as a shard far slower than its input.
 *
 * It checks that the shard's VmRSS grows by less than RSS_GROWTH_MAX over
 * the overload (aggregator/recv_hwm bounds its queue: 64 batches of
 * ~250 KB; it was 10 000 batches, and the shard grew by ~90 MB/s to GBs),
 * that the overload was real (the PUSH socket had batches refused), that
 * the shard still counted hostile records, and that the flood was banned
 * while the overload went on, and banned again (its key deleted at 3 s,
 * after the pause) before the overload ended; no hostile host banned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <czmq.h>
#include <errno.h>
#include <hiredis.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "common/flowbatch.h"
#include "tests/harness.h"

#define THRESHOLD 20000.0
#define BATCH 4096
#define MAX_BATCHES 40000
#define FLOOD_MS 8000
#define REPACK_MS 50 /* a batch is packed again with the time of now */
/* The shard's main thread is stopped (ptrace, that thread only) over this
 * span of the overload, its ZeroMQ I/O thread running: a shard slower than
 * its input whatever this machine's speeds, so the test fails for sure
 * with an unbounded queue (the pusher alone is not always faster). */
#define PAUSE_FROM_MS 500
#define PAUSE_TO_MS 2500
#define UNBAN_MS 3000 /* the flood's ban deleted: it must come back meanwhile */
/* The shard's queue (64 x ~250 KB), TCP buffers, 65 536 hosts' entries
 * and pools: ~60 MB measured; 10 000 batches would be 2.5 GB. */
#define RSS_GROWTH_MAX_KB (160 * 1024)

static hn_pipe_t s_e; /* the daemons, one shard */

static void s_write_config(hn_pipe_t *e)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "# written by e2e_agg_overload\n"
             "networks\n    monitored = 10.0.0.0/8\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgovl\n"
             "collector\n    netflow_listen = 127.0.0.1:%d\n    batch_ms = 20\n"
             "    metrics_listen = 127.0.0.1:%d\n"
             "aggregator\n    shards = 1\n"
             "    pull_bind = tcp://127.0.0.1:%d\n    pub_bind = tcp://127.0.0.1:%d\n"
             "    pull_connect = tcp://127.0.0.1:%d\n    pub_connect = tcp://127.0.0.1:%d\n"
             "    tick_ms = 200\n    max_hosts = 100000\n    hold_blocks = 1024\n"
             "    metrics_listen = 127.0.0.1:%d\n"
             "detector\n    ongoing_interval = 1\n    attack_end = 3\n"
             "    metrics_listen = 127.0.0.1:%d\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    connect = tcp://127.0.0.1:%d\n"
             "    check_interval = 1\n    metrics_listen = 127.0.0.1:%d\n"
             "hostgroup\n    default\n        ban_time = 600\n        threshold_pps = %.0f\n"
             "        threshold_mbps = 0\n        threshold_flows = 0\n"
             "        consecutive_windows = 1\n",
             e->redis_port, e->nf_port, e->m_col, e->pull_port, e->pub_port, e->pull_port,
             e->pub_port, e->m_agg, e->m_det, e->act_port, e->act_port, e->m_act, THRESHOLD);
    hn_write_file(e->conf, text);
}

static int s_setup(void **state)
{
    (void)state;
    hn_pipe_init(&s_e, "e2eovl", 1);
    s_write_config(&s_e);
    hn_pipe_start(&s_e);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    hn_pipe_stop(&s_e);
    return 0;
}

static bool s_banned(const char *ip)
{
    redisReply *r = hn_redis(s_e.redis_port, "EXISTS fgovl:ban:%s", ip);
    bool yes = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    return yes;
}

/* Bans whose key names a host of 10.1.0.0/16 (the hostile records'). */
static long s_hostile_bans(void)
{
    redisReply *r = hn_redis(s_e.redis_port, "KEYS fgovl:ban:10.1.*");
    long n = r && r->type == REDIS_REPLY_ARRAY ? (long)r->elements : -1;
    if (r)
        freeReplyObject(r);
    return n;
}

static long s_rss_kb(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    char *text = hn_read_file(path);
    const char *p = text ? strstr(text, "VmRSS:") : NULL;
    long kb = p ? strtol(p + 6, NULL, 10) : -1;
    free(text);
    return kb;
}

/* A FlowBatch of BATCH short records of now, to hosts 10.1.0.0/16 in turn. */
static uint8_t *s_batch(fb_builder_t *b, uint64_t seq, uint32_t *next_host, size_t *len)
{
    static const uint8_t ex[16] = {[10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1};
    uint64_t now = hn_wall_ms();
    for (int i = 0; i < BATCH; i++) {
        fg_flow_t r = {0};
        uint32_t h = (*next_host)++ & 0xffff;
        r.host = fg_addr_from_v4(0x0a010000u + h);
        r.peer = fg_addr_from_v4(0xc6120000u + (uint32_t)(seq * BATCH + (uint64_t)i) % 65536);
        r.packets = 1;
        r.bytes = 64;
        r.start_ms = now - 100;
        r.end_ms = now;
        r.sampling = 1;
        r.sport = (uint16_t)(1024 + i);
        r.dport = 80;
        r.proto = 17;
        r.dir = FG_DIR_IN;
        assert_int_equal(fb_add(b, &r, ex), 0);
    }
    return fb_pack(b, 9, 0, 1, seq, now, len);
}

typedef struct {
    long sent, refused, rss0, rss_max;
    uint64_t banned_at;   /* ms into the overload; 0 = not banned */
    uint64_t unbanned_at; /* when the test deleted the ban */
    uint64_t back_at;     /* when it was there again */
    bool paused, was_paused;
} overload_t;

/* Stop (on) or resume (off) the shard's main thread only: its pid is that
 * thread's id, and ptrace acts on one thread. It is the test's child. */
static void s_pause(overload_t *o, bool on)
{
    pid_t pid = s_e.aggregator;
    if (on == o->paused)
        return;
    if (on) {
        assert_int_equal(ptrace(PTRACE_SEIZE, pid, 0, 0), 0);
        assert_int_equal(ptrace(PTRACE_INTERRUPT, pid, 0, 0), 0);
        int st = 0;
        assert_int_equal(waitpid(pid, &st, __WALL), pid);
        assert_true(WIFSTOPPED(st));
        o->paused = o->was_paused = true;
    } else {
        o->paused = false;
        assert_int_equal(ptrace(PTRACE_DETACH, pid, 0, 0), 0);
    }
}

/* The flood's ban: when it comes, deleted once after the shard's pause,
 * and when it comes back (the shard went on publishing under overload). */
static void s_watch_ban(overload_t *o, uint64_t t)
{
    bool banned = s_banned("10.0.0.9");
    if (!o->banned_at && banned)
        o->banned_at = t;
    if (o->banned_at && !o->unbanned_at && t >= UNBAN_MS) {
        redisReply *r = hn_redis(s_e.redis_port, "DEL fgovl:ban:10.0.0.9");
        assert_non_null(r);
        freeReplyObject(r);
        o->unbanned_at = t;
    } else if (o->unbanned_at && !o->back_at && banned) {
        o->back_at = t;
    }
}

/* Push batches into the shard for FLOOD_MS (or MAX_BATCHES), watching its
 * RSS and the flood's ban every 100 ms; stops early once RSS is past the
 * bound (the test has failed: no need to take the machine's memory). */
static void s_overload(zsock_t *push, overload_t *o)
{
    fb_builder_t *b = fb_builder_new(BATCH);
    assert_non_null(b);
    uint32_t host = 0;
    size_t len = 0;
    uint8_t *buf = NULL;
    uint64_t t0 = hn_ms(), next_look = t0, packed = 0, seq = 0;
    while (o->sent < MAX_BATCHES && hn_ms() - t0 < FLOOD_MS) {
        if (hn_ms() - packed >= REPACK_MS) { /* resent meanwhile: far faster than a shard */
            free(buf);
            buf = s_batch(b, ++seq, &host, &len);
            assert_non_null(buf);
            packed = hn_ms();
        }
        if (zmq_send(zsock_resolve(push), buf, len, ZMQ_DONTWAIT) == (int)len) {
            o->sent++;
        } else {
            assert_int_equal(zmq_errno(), EAGAIN);
            o->refused++;
            usleep(1000);
        }
        if (hn_ms() < next_look)
            continue;
        next_look = hn_ms() + 100;
        s_pause(o, hn_ms() - t0 >= PAUSE_FROM_MS && hn_ms() - t0 < PAUSE_TO_MS);
        long rss = s_rss_kb(s_e.aggregator);
        o->rss_max = rss > o->rss_max ? rss : o->rss_max;
        s_watch_ban(o, hn_ms() - t0);
        if (o->rss_max - o->rss0 > 2 * RSS_GROWTH_MAX_KB)
            break;
    }
    s_pause(o, false);
    free(buf);
    fb_builder_destroy(&b);
}

static void test_e2e_agg_overload_bounded(void **state)
{
    (void)state;
    hn_pipe_t *e = &s_e;
    char cmd[512], log[600];
    snprintf(cmd, sizeof(cmd),
             "exec %s/floodgate-flowgen -d 127.0.0.1:%d --dst 10.0.0.9 --pps 60000 "
             "--duration 12",
             hn_build_dir(), e->nf_port);
    snprintf(log, sizeof(log), "%s/flowgen.log", e->dir);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};

    char ep[64];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", e->pull_port);
    zsock_t *push = zsock_new(ZMQ_PUSH);
    assert_non_null(push);
    zsock_set_sndhwm(push, 100);
    zsock_set_linger(push, 0);
    assert_int_equal(zsock_connect(push, "%s", ep), 0);

    int found = 0;
    double rec0 = hn_metric(e->m_agg, "floodgate_aggregator_records_total", NULL, &found);
    overload_t o = {.rss0 = s_rss_kb(e->aggregator)};
    assert_true(o.rss0 > 0);
    o.rss_max = o.rss0;
    pid_t g = hn_spawn(argv, log);
    s_overload(push, &o);
    bool alive = hn_alive(e->aggregator);
    double rec1 = hn_metric(e->m_agg, "floodgate_aggregator_records_total", NULL, &found);
    zsock_destroy(&push);
    hn_wait_exit(g, 15000);
    print_message("overload: %ld batches of %d records pushed, %ld refused (EAGAIN); shard "
                  "counted %.0f records; VmRSS %ld -> max %ld kB (+%ld, bound +%d); flood "
                  "banned at %llu ms, ban deleted at %llu ms, back at %llu ms; hostile hosts "
                  "banned %ld\n",
                  o.sent, BATCH, o.refused, rec1 - rec0, o.rss0, o.rss_max, o.rss_max - o.rss0,
                  RSS_GROWTH_MAX_KB, (unsigned long long)o.banned_at,
                  (unsigned long long)o.unbanned_at, (unsigned long long)o.back_at,
                  s_hostile_bans());
    assert_true(alive);
    assert_true(o.was_paused);
    assert_true(o.refused > 0);                          /* offered more than it took */
    assert_true(rec1 - rec0 >= 100.0 * BATCH);           /* and counted meanwhile */
    assert_true(o.rss_max - o.rss0 < RSS_GROWTH_MAX_KB); /* with a bounded queue */
    assert_true(o.banned_at > 0);                        /* a real flood banned during it */
    assert_true(o.back_at > 0);                          /* and again after the pause */
    assert_int_equal(s_hostile_bans(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_agg_overload_bounded),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
