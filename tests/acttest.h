/* acttest: what the actuator's unit tests share (test_actuator.c,
 * test_trust.c, test_act_ha.c, test_act_flowspec.c): one real redis-server
 * per binary, started by the group set-up on a free port with its data in a
 * temporary directory (AC_DIR names it), Redis commands on a connection of
 * their own, and configs written to that directory and loaded.
 *
 * Also a backend that records what the actuator tells it.
 *
 * Header-only (static inline), like aggtest.h. Include after <cmocka.h>,
 * <hiredis.h>, "actuator/act.h", "common/config.h" and "tests/harness.h". */
#ifndef FG_TESTS_ACTTEST_H
#define FG_TESTS_ACTTEST_H

#ifndef AC_DIR
#error "define AC_DIR (the temporary directory's name) before including acttest.h"
#endif

#include <stdarg.h>

#include "actuator/ban.h"

static char *ac_dir;       /* the temporary directory */
static int ac_port;        /* redis-server's port on 127.0.0.1 */
static pid_t ac_redis_pid; /* and its PID */

/* cmocka group set-up: the directory and redis-server (no persistence). */
static inline int ac_group_setup(void **state)
{
    (void)state;
    ac_dir = hn_tmpdir(AC_DIR);
    ac_port = hn_free_port();
    ac_redis_pid = hn_redis_start(ac_dir, ac_port, false);
    return 0;
}

/* cmocka group teardown: redis-server stopped, the directory removed. */
static inline int ac_group_teardown(void **state)
{
    (void)state;
    hn_stop(ac_redis_pid, 3000);
    hn_rmdir(ac_dir);
    free(ac_dir);
    return 0;
}

/* A command (hiredis format, its arguments in ap) on a connection of its
 * own, bounded by 1 s; the reply is the caller's to free. Aborts the test
 * when Redis does not answer. */
static inline redisReply *ac_redisv(const char *fmt, va_list ap)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", ac_port, tv);
    assert_true(c && !c->err);
    redisSetTimeout(c, tv);
    redisReply *r = redisvCommand(c, fmt, ap);
    redisFree(c);
    assert_non_null(r);
    return r;
}

/* The same with the arguments inline. */
static inline redisReply *ac_redis(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = ac_redisv(fmt, ap);
    va_end(ap);
    return r;
}

/* A command that must succeed: an error reply fails the test. */
static inline void ac_cmd(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = ac_redisv(fmt, ap);
    va_end(ap);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("redis: %s", r->str);
    freeReplyObject(r);
}

/* The integer reply of a command with one string argument; the test fails
 * when the reply is not an integer. */
static inline long long ac_int(const char *fmt, const char *arg)
{
    redisReply *r = ac_redis(fmt, arg);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

/* Write text as the config file name in the directory (for a load or a
 * reload); its path in path. */
static inline void ac_write_config(const char *name, const char *text, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", ac_dir, name);
    hn_write_file(path, text);
}

/* Write text as the config file name and load it; the test fails, with the
 * loader's message, when it does not load. */
static inline fg_config_t *ac_config(const char *name, const char *text)
{
    char path[512], err[512];
    ac_write_config(name, text, path, sizeof(path));
    fg_config_t *cfg = fg_config_load(path, err, sizeof(err));
    if (!cfg)
        fail_msg("config: %s", err);
    return cfg;
}

/* ---- a backend that records what it was told ---- */

#define AC_REC_IPS 64

typedef struct {
    backend_t base;
    int bans, unbans, syncs;
    int rules, blackholes; /* bans that were FlowSpec rules, blackhole routes */
    size_t synced;         /* bans in the last sync */
    bool sync_bans;        /* count each synced ban as a ban (bans, ips) */
    char ips[AC_REC_IPS][FG_ADDR_STRLEN]; /* the first bans' addresses */
    char last_ip[FG_ADDR_STRLEN];         /* of the last ban or unban */
    char last_source[16];                 /* of the last ban */
    char last_reason[16];                 /* of the last unban */
} ac_rec_t;

static inline int ac_rec_ban(backend_t *self, const ban_t *b)
{
    ac_rec_t *r = (ac_rec_t *)self;
    if (r->bans < AC_REC_IPS)
        snprintf(r->ips[r->bans], FG_ADDR_STRLEN, "%s", b->ip);
    r->bans++;
    if (ban_is_flowspec(b))
        r->rules++;
    else
        r->blackholes++;
    snprintf(r->last_ip, sizeof(r->last_ip), "%s", b->ip);
    snprintf(r->last_source, sizeof(r->last_source), "%s", b->source);
    return 0;
}

static inline int ac_rec_unban(backend_t *self, const ban_t *b, const char *reason)
{
    ac_rec_t *r = (ac_rec_t *)self;
    r->unbans++;
    snprintf(r->last_ip, sizeof(r->last_ip), "%s", b->ip);
    snprintf(r->last_reason, sizeof(r->last_reason), "%s", reason);
    return 0;
}

static inline int ac_rec_sync(backend_t *self, const ban_t *const *bans, size_t n)
{
    ac_rec_t *r = (ac_rec_t *)self;
    r->syncs++;
    r->synced = n;
    for (size_t i = 0; r->sync_bans && i < n; i++)
        ac_rec_ban(self, bans[i]);
    return 0;
}

static inline void ac_rec_destroy(backend_t *self)
{
    free(self);
}

static const backend_ops_t ac_rec_ops = {.name = "rec",
                                         .ban = ac_rec_ban,
                                         .unban = ac_rec_unban,
                                         .sync = ac_rec_sync,
                                         .destroy = ac_rec_destroy};

/* A recording backend added to act (which owns it: act_destroy frees it). */
static inline ac_rec_t *ac_rec_add(act_t *act)
{
    ac_rec_t *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->base.ops = &ac_rec_ops;
    backend_t *b = &r->base;
    assert_int_equal(act_add_backend(act, &b), 0);
    return r;
}

#endif
