/* floodgate-forge: the attacker of the security tests. From wherever it
 * runs (an outsider's network namespace), it tries to steer floodgate
 * through its ZeroMQ ports:
 *
 *   floodgate-forge decision ENDPOINT IP [opts]     forged Decisions (BAN)
 *   floodgate-forge flowbatch ENDPOINT HOST [opts]  forged FlowBatches (a flood)
 *   floodgate-forge sub ENDPOINT [opts]             read a shard's windows
 *
 *   --curve SERVER_KEY  speak Curve with a fresh key pair of its own (so
 *                       it knows the server's public key, not an allowed
 *                       client key); without it, plain ZeroMQ
 *   --count N           messages to send (default 20)
 *   --seconds S         how long to try / listen (default 3)
 *   --ban-time S        the Decision's ban time (default 4000000000)
 *   --shard I --shards S  the FlowBatch header (default 0 of 1)
 *
 * It prints one line: "forge: MODE sent=N" (queued to the socket) or
 * "forge: sub received=N". Test tool; not installed. */
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/flowbatch.h"
#include "floodgate.pb-c.h"

typedef struct {
    const char *mode, *endpoint, *target, *server_key;
    int count, seconds;
    uint32_t ban_time, shard, shards;
} forge_t;

__attribute__((noreturn)) static void s_usage(void)
{
    fprintf(stderr, "usage: floodgate-forge decision|flowbatch|sub ENDPOINT [IP] [--curve KEY] "
                    "[--count N] [--seconds S] [--ban-time S] [--shard I --shards S]\n");
    exit(2);
}

static zsock_t *s_socket(const forge_t *f, int type)
{
    zsock_t *s = zsock_new(type);
    zsock_set_linger(s, 0);
    if (f->server_key) {
        zcert_t *srv = zcert_load(f->server_key);
        if (!srv) {
            fprintf(stderr, "forge: cannot read %s\n", f->server_key);
            exit(1);
        }
        zcert_t *mine = zcert_new(); /* a key no server has allowed */
        zcert_apply(mine, s);
        zsock_set_curve_serverkey(s, zcert_public_txt(srv));
        zcert_destroy(&mine);
        zcert_destroy(&srv);
    }
    if (type == ZMQ_SUB)
        zsock_set_subscribe(s, "");
    if (zsock_connect(s, "%s", f->endpoint) != 0) {
        fprintf(stderr, "forge: cannot connect to %s\n", f->endpoint);
        exit(1);
    }
    return s;
}

static size_t s_decision(const forge_t *f, uint8_t *buf, size_t cap)
{
    fg_addr_t a;
    if (fg_addr_parse(f->target, &a) != 0)
        s_usage();
    Floodgate__Decision d = FLOODGATE__DECISION__INIT;
    Floodgate__Rates total = FLOODGATE__RATES__INIT;
    total.pps = 50000000;
    d.addr_hi = a.hi;
    d.addr_lo = a.lo;
    d.action = FLOODGATE__ACTION__BAN;
    d.attack_type = "udp_flood";
    d.metric = "pps";
    d.value = 50000000;
    d.threshold = 20000;
    d.hostgroup = "default";
    d.ban_time = f->ban_time;
    d.enable_ban = true;
    d.total = &total;
    d.decided_ms = (uint64_t)zclock_time();
    d.first_seen_ms = d.decided_ms;
    size_t len = floodgate__decision__get_packed_size(&d);
    if (len > cap)
        exit(1);
    return floodgate__decision__pack(&d, buf);
}

/* A batch of 100 records of 1 s each describing 50 Mpps towards HOST. */
static uint8_t *s_flowbatch(const forge_t *f, uint64_t seq, size_t *len)
{
    fb_builder_t *b = fb_builder_new(100);
    uint8_t ex[16] = {0};
    uint64_t now = (uint64_t)zclock_time();
    for (int i = 0; i < 100; i++) {
        fg_flow_t r;
        memset(&r, 0, sizeof(r));
        if (fg_addr_parse(f->target, &r.host) != 0 || fg_addr_parse("203.0.113.66", &r.peer) != 0)
            s_usage();
        r.peer.lo += (uint64_t)i;
        r.packets = 500000;
        r.bytes = r.packets * 100;
        r.start_ms = now - 1000;
        r.end_ms = now;
        r.sampling = 1;
        r.sport = (uint16_t)(1024 + i);
        r.dport = 53;
        r.proto = 17;
        fb_add(b, &r, ex);
    }
    uint8_t *buf = fb_pack(b, 666, f->shard, f->shards, seq, now, len);
    fb_builder_destroy(&b);
    return buf;
}

static int s_send(const forge_t *f)
{
    bool dec = !strcmp(f->mode, "decision");
    zsock_t *s = s_socket(f, ZMQ_PUSH);
    int sent = 0;
    int64_t end = zclock_mono() + f->seconds * 1000;
    for (int i = 0; i < f->count && zclock_mono() < end; i++) {
        uint8_t dbuf[4096], *buf = dbuf;
        size_t len = dec ? s_decision(f, dbuf, sizeof(dbuf)) : 0;
        if (!dec)
            buf = s_flowbatch(f, (uint64_t)i + 1, &len);
        if (zmq_send(zsock_resolve(s), buf, len, ZMQ_DONTWAIT) == (int)len)
            sent++;
        if (!dec)
            free(buf);
        zclock_sleep(f->seconds * 1000 / (f->count ? f->count : 1));
    }
    printf("forge: %s sent=%d\n", f->mode, sent);
    zsock_destroy(&s);
    return 0;
}

static int s_sub(const forge_t *f)
{
    zsock_t *s = s_socket(f, ZMQ_SUB);
    int got = 0;
    int64_t end = zclock_mono() + f->seconds * 1000;
    zpoller_t *p = zpoller_new(s, NULL);
    while (zclock_mono() < end) {
        if (!zpoller_wait(p, (int)(end - zclock_mono())))
            continue;
        zframe_t *fr = zframe_recv(s);
        got += fr != NULL;
        zframe_destroy(&fr);
    }
    printf("forge: sub received=%d\n", got);
    zpoller_destroy(&p);
    zsock_destroy(&s);
    return 0;
}

int main(int argc, char **argv)
{
    forge_t f = {.count = 20, .seconds = 3, .ban_time = 4000000000u, .shards = 1};
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--curve") && has)
            f.server_key = argv[++i];
        else if (!strcmp(a, "--count") && has)
            f.count = atoi(argv[++i]);
        else if (!strcmp(a, "--seconds") && has)
            f.seconds = atoi(argv[++i]);
        else if (!strcmp(a, "--ban-time") && has)
            f.ban_time = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--shard") && has)
            f.shard = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(a, "--shards") && has)
            f.shards = (uint32_t)atoi(argv[++i]);
        else if (a[0] == '-')
            s_usage();
        else if (pos == 0 && ++pos)
            f.mode = a;
        else if (pos == 1 && ++pos)
            f.endpoint = a;
        else if (pos == 2 && ++pos)
            f.target = a;
        else
            s_usage();
    }
    if (!f.mode || !f.endpoint || f.seconds < 1 || f.seconds > 60 || f.count < 1 ||
        f.count > 100000)
        s_usage();
    zsys_handler_set(NULL);
    int rc;
    if (!strcmp(f.mode, "sub"))
        rc = s_sub(&f);
    else if ((!strcmp(f.mode, "decision") || !strcmp(f.mode, "flowbatch")) && f.target)
        rc = s_send(&f);
    else
        s_usage();
    zsys_shutdown();
    return rc;
}
