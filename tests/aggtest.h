/* aggtest: what the aggregator's unit tests share (test_aggregator.c,
 * test_aggregator_input.c): a temporary directory per binary (AT_DIR names
 * it), a config with the default group at 20000 pps / 1000 mbps / 3500
 * flows, records, and reading what a closed window published. */
#ifndef FG_TESTS_AGGTEST_H
#define FG_TESTS_AGGTEST_H

#ifndef AT_DIR
#error "define AT_DIR (the temporary directory's name) before including aggtest.h"
#endif

#define T0 1700000000000ULL /* a multiple of every tick */

static char *at_dir;

static inline int at_setup(void **state)
{
    (void)state;
    at_dir = hn_tmpdir(AT_DIR);
    return 0;
}

static inline int at_teardown(void **state)
{
    (void)state;
    hn_rmdir(at_dir);
    free(at_dir);
    return 0;
}

/* A config with the default group at 20000 pps / 1000 mbps / 3500 flows. */
static inline fg_config_t *at_config(int tick_ms, int max_hosts, const char *extra)
{
    char path[600], text[2048], err[1024];
    snprintf(path, sizeof(path), "%s/floodgate.conf", at_dir);
    snprintf(text, sizeof(text),
             "networks\n"
             "    monitored = \"10.0.0.0/16, 2001:db8:100::/48\"\n"
             "aggregator\n"
             "    tick_ms = %d\n"
             "    watch_floor = 0.5\n"
             "    host_idle = 60\n"
             "    max_hosts = %d\n"
             "hostgroup\n"
             "    default\n"
             "        threshold_pps = 20000\n"
             "        threshold_mbps = 1000\n"
             "        threshold_flows = 3500\n"
             "%s",
             tick_ms, max_hosts, extra ? extra : "");
    hn_write_file(path, text);
    fg_config_t *cfg = fg_config_load(path, err, sizeof(err));
    if (!cfg)
        fail_msg("config: %s", err);
    return cfg;
}

/* Rewrite the config file with text and reload cfg from it (SIGHUP's
 * path); the test fails when it is refused. */
static inline void at_reload(fg_config_t *cfg, const char *text)
{
    char path[600], restart[256], err[1024];
    snprintf(path, sizeof(path), "%s/floodgate.conf", at_dir);
    hn_write_file(path, text);
    if (fg_config_reload(cfg, restart, sizeof(restart), err, sizeof(err)) != 0)
        fail_msg("reload: %s", err);
}

static inline fg_addr_t at_addr(const char *s)
{
    fg_addr_t a;
    assert_int_equal(fg_addr_parse(s, &a), 0);
    return a;
}

static inline fg_flow_t at_rec(const char *host, const char *peer, uint8_t proto, uint8_t flags,
                               uint16_t sport, uint16_t dport, uint64_t packets, uint64_t bytes)
{
    fg_flow_t r;
    memset(&r, 0, sizeof(r));
    r.host = at_addr(host);
    r.peer = at_addr(peer);
    r.proto = proto;
    r.tcp_flags = flags;
    r.sport = sport;
    r.dport = dport;
    r.packets = packets;
    r.bytes = bytes;
    r.sampling = 1;
    r.dir = FG_DIR_IN;
    r.start_ms = r.end_ms = T0;
    return r;
}

/* Close the window at now and unpack what it published. */
static inline Floodgate__WindowBatch *at_close(agg_t *agg, uint64_t now)
{
    size_t len = 0;
    const uint8_t *buf = agg_close_window(agg, now, &len);
    assert_non_null(buf);
    Floodgate__WindowBatch *wb = floodgate__window_batch__unpack(NULL, len, buf);
    assert_non_null(wb);
    return wb;
}

static inline const Floodgate__HostWindow *at_host(const Floodgate__WindowBatch *wb, const char *ip,
                                                   Floodgate__Direction dir)
{
    fg_addr_t a = at_addr(ip);
    for (size_t i = 0; i < wb->n_hosts; i++)
        if (wb->hosts[i]->addr_hi == a.hi && wb->hosts[i]->addr_lo == a.lo &&
            wb->hosts[i]->dir == dir)
            return wb->hosts[i];
    return NULL;

#endif
