/* floodgate-bench-zsec: what CurveZMQ costs on the busiest link, collector
 * PUSH -> shard PULL over TCP on 127.0.0.1, with the sockets common/zsec.c
 * makes (same options as the daemons). Messages of a full FlowBatch
 * (collector/batch_records 4096 x 80 bytes = 320 KiB) and of a small one
 * (256 records, 20 KiB), Curve off and on; one core sends, one receives.
 *
 *   floodgate-bench-zsec [SECONDS]      (default 3 per case)
 *
 * Prints MB/s and messages/s per case. Not part of `make test`. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/zsec.h"
#include "tests/harness.h"

typedef struct {
    zsec_t *zs;
    zsock_t *pull;
    volatile int stop;
    uint64_t n, bytes;
} rx_t;

static void *s_rx(void *arg)
{
    rx_t *r = arg;
    zpoller_t *p = zpoller_new(r->pull, NULL);
    while (!r->stop) {
        if (!zpoller_wait(p, 100))
            continue;
        zmq_msg_t m;
        while (zsec_recv(r->zs, r->pull, &m) == 0) {
            r->n++;
            r->bytes += zmq_msg_size(&m);
            zmq_msg_close(&m);
        }
    }
    zpoller_destroy(&p);
    return NULL;
}

static fg_config_t *s_config(const char *dir, bool curve)
{
    char path[512], text[1024], err[512];
    snprintf(text, sizeof(text),
             "networks\n    monitored = 10.0.0.0/16\ncurve\n    enable = %s\n"
             "aggregator\n    allowed_keys = %s/allowed\n",
             curve ? "true" : "false", dir);
    snprintf(path, sizeof(path), "%s/%s.conf", dir, curve ? "curve" : "plain");
    hn_write_file(path, text);
    fg_config_t *cfg = fg_config_load(path, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "config: %s\n", err);
        exit(1);
    }
    return cfg;
}

static void s_case(const char *dir, bool curve, size_t size, int seconds)
{
    char err[512], cert[600], allowed[600], pub[600], ep[64];
    fg_config_t *cfg = s_config(dir, curve);
    snprintf(cert, sizeof(cert), "%s/aggregator.key_secret", dir);
    snprintf(allowed, sizeof(allowed), "%s/allowed", dir);
    snprintf(pub, sizeof(pub), "%s/aggregator.key", dir);
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", hn_free_port());
    zsec_t *srv = zsec_new(cfg, cert, allowed, err, sizeof(err));
    snprintf(cert, sizeof(cert), "%s/allowed/collector.key_secret", dir);
    zsec_t *cli = srv ? zsec_new(cfg, cert, NULL, err, sizeof(err)) : NULL;
    rx_t r = {.zs = srv};
    r.pull = srv ? zsec_bind(srv, ZSEC_AGG_PULL, ep, err, sizeof(err)) : NULL;
    zsock_t *push =
        r.pull && cli ? zsec_connect(cli, ZSEC_COL_PUSH, ep, pub, err, sizeof(err)) : NULL;
    if (!push) {
        fprintf(stderr, "bench-zsec: %s\n", err);
        exit(1);
    }
    pthread_t th;
    pthread_create(&th, NULL, s_rx, &r);
    uint8_t *buf = calloc(1, size);
    uint64_t end = hn_ms() + (uint64_t)seconds * 1000, t0 = hn_ms();
    while (hn_ms() < end)
        for (int i = 0; i < 16; i++)
            zmq_send(zsock_resolve(push), buf, size, 0);
    uint64_t sent_ms = hn_ms() - t0;
    zclock_sleep(500); /* the receiver drains what is queued */
    r.stop = 1;
    pthread_join(th, NULL);
    double s = (double)(sent_ms + 500) / 1000.0;
    printf("curve=%-3s message=%6zu B  %8.0f MB/s  %9.0f messages/s\n", curve ? "on" : "off", size,
           (double)r.bytes / s / 1e6, (double)r.n / s);
    free(buf);
    zsec_destroy(&cli);
    zsec_destroy(&srv);
    fg_config_destroy(&cfg);
}

int main(int argc, char **argv)
{
    int seconds = argc > 1 ? atoi(argv[1]) : 3;
    if (seconds < 1 || seconds > 60)
        seconds = 3;
    char *dir = hn_tmpdir("bench-zsec");
    char err[512], sub[600];
    snprintf(sub, sizeof(sub), "%s/allowed", dir);
    /* the collector's pair is made in the allowed directory: its public
     * key is what the shard accepts */
    if (zsec_keygen("aggregator", dir, err, sizeof(err)) != 0 ||
        zsec_keygen("collector", sub, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench-zsec: %s\n", err);
        return 1;
    }
    size_t sizes[] = {4096 * 80, 256 * 80};
    for (size_t i = 0; i < 2; i++)
        for (int c = 0; c < 2; c++)
            s_case(dir, c == 1, sizes[i], seconds);
    hn_rmdir(dir);
    free(dir);
    zsys_shutdown();
    return 0;
}
