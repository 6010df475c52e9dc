/* End to end: an exporter-table flood of forged v9 / IPFIX datagrams does
 * not blind floodgate (issue 12, item 1), against the real collector,
 * aggregator, detector, actuator and redis-server on loopback.
 *
 * The attacker sends, from 127.0.0.1 (through 8 sockets, so 8 source ports)
 * and from 100 more loopback addresses (127.0.1.1..100), datagrams with a
 * random v9 source id or IPFIX observation domain and 20 templates each:
 * 6 000 in about 1.5 s, then 2 more every millisecond for as long as the
 * test runs. After the first 6 000, a real IPFIX exporter starts at
 * 127.0.0.1 (its own socket, domain 7): a template set (refreshed every
 * second, as exporters do), then every 20 ms a data set describing a
 * 40 000 pps UDP flood on 10.0.0.150, sequence numbers counting its
 * records. The flood must be banned within 2 s of the exporter's start
 * (about 1 s on an idle machine), the collector's /metrics must stay under
 * 64 KiB with at most metrics_exporters + 1 label sets per exporter family,
 * the real exporter's data sets must all have found their template, and
 * the forged streams must have been displaced (counted), not kept.
 * Bounded: the attack sends at most 30 000 datagrams, for at most 8 s.
 *
 * Then sequence jumps (item 5): see test_e2e_spoof_sequence_jumps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "cli/scrape.h"
#include "tests/flowtest.h"
#include "tests/harness.h"

#define FORGED_FIRST 6000
#define FORGED_MAX 30000
#define N_PORTS 8     /* sockets of the attacker on 127.0.0.1 */
#define N_ADDRS 100   /* and one on each of 127.0.1.1..100 */
#define REAL_DOMAIN 7
#define FLOOD_PPS 40000
#define STEP_MS 20
#define RECS_PER_STEP 20
#define BAN_WITHIN_MS 2000
#define RUN_MAX_MS 8000
#define METRICS_MAX_BYTES 65536
#define TOP_N 32
#define FLOOD_IP "10.0.0.150"

typedef struct {
    hn_pipe_t p; /* the daemons */
    int sf_port;   /* the collector's sFlow port */
    int fd_port[N_PORTS], fd_addr[N_ADDRS], fd_real;
    struct sockaddr_in to;
} e2e_t;

static e2e_t s_e;

static void s_write_config(e2e_t *e)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "# written by e2e_spoof\n"
             "networks\n    monitored = \"10.0.0.0/16\"\n"
             "redis\n    address = 127.0.0.1:%d\n    prefix = fgspoof\n"
             "collector\n    netflow_listen = 127.0.0.1:%d\n    sflow_listen = 127.0.0.1:%d\n"
             "    batch_ms = 10\n"
             "    metrics_listen = 127.0.0.1:%d\n    metrics_exporters = %d\n"
             "aggregator\n    pull_bind = tcp://127.0.0.1:%d\n    pub_bind = tcp://127.0.0.1:%d\n"
             "    pull_connect = tcp://127.0.0.1:%d\n    pub_connect = tcp://127.0.0.1:%d\n"
             "    tick_ms = 100\n    metrics_listen = 127.0.0.1:%d\n"
             "detector\n    metrics_listen = 127.0.0.1:%d\n"
             "actuator\n    bind = tcp://127.0.0.1:%d\n    connect = tcp://127.0.0.1:%d\n"
             "    check_interval = 1\n    metrics_listen = 127.0.0.1:%d\n"
             "hostgroup\n    default\n        ban_time = 600\n        threshold_pps = 20000\n"
             "        threshold_mbps = 0\n        threshold_flows = 0\n",
             e->p.redis_port, e->p.nf_port, e->sf_port, e->p.m_col, TOP_N, e->p.pull_port,
             e->p.pub_port, e->p.pull_port, e->p.pub_port, e->p.m_agg, e->p.m_det, e->p.act_port,
             e->p.act_port, e->p.m_act);
    hn_write_file(e->p.conf, text);
}

/* A UDP socket bound to addr (host order), any port. */
static int s_socket(uint32_t addr)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(addr)};
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static int s_setup(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    hn_pipe_init(&e->p, "e2espoof", 1);
    e->sf_port = hn_free_port();
    s_write_config(e);
    hn_pipe_start(&e->p);
    for (int i = 0; i < N_PORTS; i++)
        e->fd_port[i] = s_socket(INADDR_LOOPBACK);
    for (int i = 0; i < N_ADDRS; i++)
        e->fd_addr[i] = s_socket(0x7f000101u + (uint32_t)i);
    e->fd_real = s_socket(INADDR_LOOPBACK);
    e->to = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)e->p.nf_port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    for (int i = 0; i < N_PORTS; i++)
        close(e->fd_port[i]);
    for (int i = 0; i < N_ADDRS; i++)
        close(e->fd_addr[i]);
    close(e->fd_real);
    hn_pipe_stop(&e->p);
    return 0;
}

static int s_sent; /* datagrams sent to the NetFlow port */

static void s_send(int fd, const ft_wr_t *w)
{
    ssize_t n = sendto(fd, w->b, w->n, 0, (struct sockaddr *)&s_e.to, sizeof(s_e.to));
    s_sent += n > 0; /* a full socket buffer loses a datagram: the collector counts it */
}

static uint32_t s_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* A forged datagram: v9 (source id) or IPFIX (domain), 20 templates of 4
 * fields, a random sequence number. */
static void s_forged(ft_wr_t *w, bool ipfix, uint32_t *rng)
{
    w->n = 0;
    ft_u16(w, ipfix ? 10 : 9);
    ft_u16(w, ipfix ? 0 : 20);
    if (!ipfix)
        ft_u32(w, 100000);
    ft_u32(w, (uint32_t)time(NULL));
    ft_u32(w, s_rand(rng));
    ft_u32(w, s_rand(rng) | 0x100); /* never the real domain */
    size_t set = w->n;
    ft_u16(w, ipfix ? 2 : 0);
    ft_u16(w, 0);
    for (int k = 0; k < 20; k++) {
        ft_u16(w, (uint16_t)(256 + k));
        ft_u16(w, 4);
        static const uint16_t f[4][2] = {{8, 4}, {12, 4}, {2, 4}, {1, 4}};
        for (int j = 0; j < 4; j++) {
            ft_u16(w, f[j][0]);
            ft_u16(w, f[j][1]);
        }
    }
    ft_patch16(w, set + 2, set);
    if (ipfix)
        ft_patch16(w, 2, 0);
}

/* The real exporter's IPFIX message header (RFC 7011 3.1). */
static void s_ipfix_hdr(ft_wr_t *w, uint32_t seq)
{
    w->n = 0;
    ft_u16(w, 10);
    ft_u16(w, 0);
    ft_u32(w, (uint32_t)time(NULL));
    ft_u32(w, seq);
    ft_u32(w, REAL_DOMAIN);
}

/* Template 256: src, dst, protocol, ports, packets, octets, flow start and
 * end in ms (IANA 8, 12, 4, 7, 11, 2, 1, 152, 153). */
static const uint16_t s_fields[][2] = {{8, 4}, {12, 4}, {4, 1}, {7, 2}, {11, 2},
                                       {2, 8}, {1, 8}, {152, 8}, {153, 8}};
#define N_FIELDS (sizeof(s_fields) / sizeof(s_fields[0]))

static void s_real_template(ft_wr_t *w, uint32_t seq)
{
    s_ipfix_hdr(w, seq);
    size_t set = w->n;
    ft_u16(w, 2);
    ft_u16(w, 0);
    ft_u16(w, 256);
    ft_u16(w, (uint16_t)N_FIELDS);
    for (size_t j = 0; j < N_FIELDS; j++) {
        ft_u16(w, s_fields[j][0]);
        ft_u16(w, s_fields[j][1]);
    }
    ft_patch16(w, set + 2, set);
    ft_patch16(w, 2, 0);
}

static uint64_t s_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* RECS_PER_STEP records of the last STEP_MS: FLOOD_PPS towards FLOOD_IP. */
static void s_real_data(ft_wr_t *w, uint32_t seq, uint32_t step)
{
    s_ipfix_hdr(w, seq);
    size_t set = w->n;
    ft_u16(w, 256);
    ft_u16(w, 0);
    uint64_t now = s_unix_ms();
    struct in_addr dst;
    inet_pton(AF_INET, FLOOD_IP, &dst);
    for (uint32_t r = 0; r < RECS_PER_STEP; r++) {
        ft_u32(w, 0xc6120000u + (step * RECS_PER_STEP + r) % 5000); /* 198.18.x.y */
        ft_u32(w, ntohl(dst.s_addr));
        ft_u8(w, 17);
        ft_u16(w, (uint16_t)(1024 + r));
        ft_u16(w, 53);
        ft_u64(w, FLOOD_PPS * STEP_MS / 1000 / RECS_PER_STEP);
        ft_u64(w, FLOOD_PPS * STEP_MS / 1000 / RECS_PER_STEP * 512);
        ft_u64(w, now - STEP_MS);
        ft_u64(w, now);
    }
    ft_patch16(w, set + 2, set);
    ft_patch16(w, 2, 0);
}

static int s_forged_sent;

/* n forged datagrams, spread over the attacker's sockets. */
static void s_forge(int n, uint32_t *rng)
{
    ft_wr_t w;
    for (int i = 0; i < n && s_forged_sent < FORGED_MAX; i++, s_forged_sent++) {
        int k = s_forged_sent % (N_PORTS + N_ADDRS);
        int fd = k < N_PORTS ? s_e.fd_port[k] : s_e.fd_addr[k - N_PORTS];
        s_forged(&w, s_forged_sent % 2, rng);
        s_send(fd, &w);
    }
}

static bool s_banned_ip(const char *ip)
{
    redisReply *r = hn_redis(s_e.p.redis_port, "EXISTS fgspoof:ban:%s", ip);
    bool yes = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    return yes;
}

static bool s_banned(void)
{
    return s_banned_ip(FLOOD_IP);
}

static char *s_metrics(void)
{
    char hp[64], err[256];
    char *body = NULL;
    snprintf(hp, sizeof(hp), "127.0.0.1:%d", s_e.p.m_col);
    int code = scrape_get(hp, "/metrics", 5000, &body, err, sizeof(err));
    if (code != 200)
        fail_msg("GET %s/metrics: %d %s", hp, code, code < 0 ? err : "");
    return body;
}

/* Lines of text starting with prefix. */
static int s_count_lines(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, len) == 0)
            n++;
    return n;
}

/* The real exporter's run, with the forgeries going on: returns the ms
 * from its first datagram to the ban (or -1). */
static int64_t s_real_exporter(uint32_t *rng)
{
    ft_wr_t w;
    uint32_t seq = 0;
    uint64_t t0 = hn_ms();
    int64_t banned_after = -1;
    for (uint32_t step = 0; hn_ms() - t0 < RUN_MAX_MS; step++) {
        uint64_t due = t0 + (uint64_t)step * STEP_MS;
        while (hn_ms() < due) {
            s_forge(2, rng);
            usleep(1000);
        }
        if (step % (1000 / STEP_MS) == 0) { /* template refresh, every second */
            s_real_template(&w, seq);
            s_send(s_e.fd_real, &w);
        }
        s_real_data(&w, seq, step);
        s_send(s_e.fd_real, &w);
        seq += RECS_PER_STEP;
        if (banned_after < 0 && step % 5 == 0 && s_banned())
            banned_after = (int64_t)(hn_ms() - t0);
        if (banned_after >= 0 && hn_ms() - t0 > (uint64_t)banned_after + 1000)
            break; /* a second more of both, for the metrics */
    }
    return banned_after;
}

static bool s_all_read(void *arg)
{
    (void)arg;
    double got = hn_metric(s_e.p.m_col, "floodgate_collector_datagrams_total", NULL, NULL) +
                 hn_metric(s_e.p.m_col, "floodgate_collector_socket_drops_total", NULL, NULL);
    return got >= s_sent;
}

static void test_e2e_spoof_exporter_table_flood(void **state)
{
    (void)state;
    uint32_t rng = 0x9e3779b9u;
    uint64_t t0 = hn_ms();
    for (int ms = 0; s_forged_sent < FORGED_FIRST && ms < 3000; ms++) { /* ~4 a ms */
        while (hn_ms() < t0 + (uint64_t)ms)
            usleep(200);
        s_forge(4, &rng);
    }
    print_message("forged: %d datagrams in %llu ms before the real exporter\n", s_forged_sent,
                  (unsigned long long)(hn_ms() - t0));
    int64_t ban_ms = s_real_exporter(&rng);
    print_message("forged: %d in all; %s banned after %lld ms\n", s_forged_sent, FLOOD_IP,
                  (long long)ban_ms);
    /* the collector has read every datagram sent (or counted it dropped) */
    if (!hn_wait_until(s_all_read, NULL, 5000))
        fail_msg("the collector did not account for the %d datagrams sent within 5 s", s_sent);
    char *m = s_metrics();
    size_t size = strlen(m);
    int labels = s_count_lines(m, "floodgate_collector_exporter_datagrams_total{");
    int found = 0;
    double evicted = scrape_sum(m, "floodgate_collector_exporter_streams_total",
                                "event=\"evicted\"", &found);
    double streams = scrape_sum(m, "floodgate_collector_exporters", NULL, NULL);
    char real[96];
    snprintf(real, sizeof(real), "exporter=\"127.0.0.1\",proto=\"10\",domain=\"%d\"", REAL_DOMAIN);
    int real_found = 0;
    double real_recs = scrape_sum(m, "floodgate_collector_exporter_records_total", real,
                                  &real_found);
    double real_nt = scrape_sum(m, "floodgate_collector_exporter_sets_no_template_total", real,
                                NULL);
    print_message("/metrics: %zu bytes, %d exporter label sets, %.0f streams, %.0f evicted, "
                  "real exporter %.0f records, %.0f sets without template\n",
                  size, labels, streams, evicted, real_recs, real_nt);
    free(m);
    assert_true(s_forged_sent >= FORGED_FIRST);
    assert_true(ban_ms >= 0);
    assert_true(ban_ms <= BAN_WITHIN_MS);
    assert_true(size < METRICS_MAX_BYTES);
    assert_true(labels <= TOP_N + 1);
    assert_int_equal(found, 1);
    assert_true(evicted > FORGED_FIRST / 2);
    assert_true(streams <= 4096);
    assert_int_equal(real_found, 1); /* among the busiest: it has the records */
    assert_true(real_recs > 0);
    assert_true(real_nt == 0);
}

/* ---- sequence jumps (issue 12, item 5) ---- */

#define SEQ_FORGED 2000
#define SEQ_FLOOD_IP "10.0.0.151"

/* A v5 datagram of one record to an unmonitored host, engine 0/1 (the
 * stream of floodgate-flowgen), flow_sequence seq. */
static void s_v5_forged(ft_wr_t *w, uint32_t seq)
{
    w->n = 0;
    ft_u16(w, 5);
    ft_u16(w, 1);
    ft_u32(w, 100000);
    ft_u32(w, (uint32_t)time(NULL));
    ft_u32(w, 0);
    ft_u32(w, seq);
    ft_u8(w, 0);
    ft_u8(w, 1);
    ft_u16(w, 0);
    ft_u32(w, 0xc6120001u); /* 198.18.0.1 -> 172.16.0.1: not monitored */
    ft_u32(w, 0xac100001u);
    for (int i = 0; i < 40; i++)
        ft_u8(w, 0);
}

/* An sFlow v5 datagram without samples, sub-agent 0, sequence seq. */
static void s_sflow_forged(ft_wr_t *w, uint32_t seq)
{
    w->n = 0;
    ft_u32(w, 5);
    ft_u32(w, 1);
    ft_u32(w, 0x7f000001);
    ft_u32(w, 0);
    ft_u32(w, seq);
    ft_u32(w, 100000);
    ft_u32(w, 0);
}

static double s_metric(const char *name, const char *filter)
{
    char *m = s_metrics();
    int found = 0;
    double v = scrape_sum(m, name, filter, &found);
    free(m);
    if (!found)
        fail_msg("metric %s not exported", name);
    return v;
}

/* While floodgate-flowgen exports a 40 kpps flood in NetFlow v5 from
 * 127.0.0.1, 2 000 forged datagrams of its stream (same address and
 * engine) jump its sequence by about 2^31 or by 900 000 (what a fixed cap of
 * 1 M counted as lost), and 2 000 sFlow datagrams do the same to an sFlow
 * stream: the jumps are resets, the loss counters
 * stay where the real losses put them (none here: below 1 000 records and
 * 10 datagrams, not the 259 M / 30 G of the issue), and the flood is
 * banned within 2 s. */
static void test_e2e_spoof_sequence_jumps(void **state)
{
    (void)state;
    e2e_t *e = &s_e;
    double lost0 = s_metric("floodgate_collector_sequence_lost_records_total", NULL);
    double lostd0 = s_metric("floodgate_collector_sequence_lost_datagrams_total", NULL);
    double resets0 = s_metric("floodgate_collector_sequence_resets_total", NULL);
    char cmd[512], log[600];
    snprintf(cmd, sizeof(cmd),
             "exec %s/floodgate-flowgen -d 127.0.0.1:%d --dst %s --pps 40000 --duration 4",
             hn_build_dir(), e->p.nf_port, SEQ_FLOOD_IP);
    snprintf(log, sizeof(log), "%s/flowgen.log", e->p.dir);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    uint64_t t0 = hn_ms();
    pid_t g = hn_spawn(argv, log);
    struct sockaddr_in sf = e->to;
    sf.sin_port = htons((uint16_t)e->sf_port);
    ft_wr_t w;
    uint32_t seq = 77;
    int64_t banned_after = -1;
    for (int i = 0; i < SEQ_FORGED && hn_ms() - t0 < RUN_MAX_MS; i++) {
        /* ~2^31, or 900 000: under the fixed 1 M cap that counted as loss */
        seq += i % 2 ? 0x7ff00000u + (uint32_t)i * 7919u : 900000u;
        s_v5_forged(&w, seq);
        s_send(e->fd_port[0], &w);
        s_sflow_forged(&w, seq);
        ssize_t n = sendto(e->fd_port[1], w.b, w.n, 0, (struct sockaddr *)&sf, sizeof(sf));
        (void)n;
        usleep(1000);
        if (banned_after < 0 && i % 50 == 0 && s_banned_ip(SEQ_FLOOD_IP))
            banned_after = (int64_t)(hn_ms() - t0);
    }
    while (banned_after < 0 && hn_ms() - t0 < RUN_MAX_MS) {
        if (s_banned_ip(SEQ_FLOOD_IP))
            banned_after = (int64_t)(hn_ms() - t0);
        usleep(50 * 1000);
    }
    hn_wait_exit(g, 10000);
    /* every jump read (the count asserted below), then the loss counters */
    hn_wait_metric(e->p.m_col, "floodgate_collector_sequence_resets_total", NULL,
                   resets0 + 2 * SEQ_FORGED, 5000);
    double lost = s_metric("floodgate_collector_sequence_lost_records_total", NULL) - lost0;
    double lostd = s_metric("floodgate_collector_sequence_lost_datagrams_total", NULL) - lostd0;
    double resets = s_metric("floodgate_collector_sequence_resets_total", NULL) - resets0;
    print_message("sequence: %.0f records and %.0f datagrams lost, %.0f resets; %s banned "
                  "after %lld ms\n",
                  lost, lostd, resets, SEQ_FLOOD_IP, (long long)banned_after);
    assert_true(banned_after >= 0 && banned_after <= BAN_WITHIN_MS);
    assert_true(lost < 1000);
    assert_true(lostd < 10);
    assert_true(resets >= 2 * SEQ_FORGED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_spoof_exporter_table_flood),
        cmocka_unit_test(test_e2e_spoof_sequence_jumps),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
