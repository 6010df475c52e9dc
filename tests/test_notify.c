/* Unit tests: the notify script runner (fork/execv, stdin, timeout, queue). */
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

#include "actuator/notify.h"
#include "tests/harness.h"

static char *s_dir;
static notify_t *s_n;
static int s_done, s_last_exit, s_last_timed_out;

static int s_setup(void **state)
{
    (void)state;
    s_dir = hn_tmpdir("notify");
    s_done = 0;
    s_last_exit = -1;
    s_last_timed_out = 0;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    notify_destroy(&s_n);
    hn_rmdir(s_dir);
    free(s_dir);
    return 0;
}

static void s_on_done(const notify_result_t *r, void *arg)
{
    (void)arg;
    s_done++;
    s_last_timed_out = r->timed_out;
    s_last_exit = r->status >= 0 && WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

/* Write an executable sh script with body into the temp dir; returns its path
 * (static buffer). */
static const char *s_script(const char *name, const char *body)
{
    static char path[512];
    char text[2048];
    snprintf(path, sizeof(path), "%s/%s", s_dir, name);
    snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);
    hn_write_file(path, text);
    chmod(path, 0755);
    return path;
}

static notify_stats_t s_stats(void)
{
    notify_stats_t st;
    notify_get_stats(s_n, &st);
    return st;
}

static void test_notify_args_and_stdin(void **state)
{
    (void)state;
    char body[1024];
    snprintf(body, sizeof(body), "echo \"$@\" > %s/args\ncat > %s/stdin", s_dir, s_dir);
    s_n = notify_new(s_script("rec.sh", body), 8, 2, 5);
    assert_non_null(s_n);
    assert_int_equal(notify_submit(s_n, "10.0.0.5", "incoming", 123456.4, "ban",
                                   "{\"attack_type\":\"syn_flood\"}"),
                     0);
    assert_true(notify_wait_idle(s_n, 5000, s_on_done, NULL));
    char path[512];
    snprintf(path, sizeof(path), "%s/args", s_dir);
    char *args = hn_read_file(path);
    assert_non_null(args);
    assert_string_equal(args, "10.0.0.5 incoming 123456 ban\n");
    free(args);
    snprintf(path, sizeof(path), "%s/stdin", s_dir);
    char *in = hn_read_file(path);
    assert_non_null(in);
    assert_string_equal(in, "{\"attack_type\":\"syn_flood\"}");
    free(in);
    assert_int_equal(s_done, 1);
    assert_int_equal(s_last_exit, 0);
    assert_int_equal(s_stats().run, 1);
    assert_int_equal(s_stats().failed, 0);
}

/* A /proc/<pid>/stat that is gone or a zombie: the process is dead. */
static bool s_dead(void *arg)
{
    char path[64], *st;
    snprintf(path, sizeof(path), "/proc/%d/stat", *(int *)arg);
    if (!(st = hn_read_file(path)))
        return true;
    char *p = strrchr(st, ')');
    bool zombie = p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
    free(st);
    return zombie;
}

static void test_notify_timeout_kills_group(void **state)
{
    (void)state;
    char body[512], path[512];
    /* The child sleep shares the script's process group: both must die. */
    snprintf(body, sizeof(body), "sleep 30 &\necho $! > %s/child\nwait", s_dir);
    s_n = notify_new(s_script("hang.sh", body), 8, 2, 1);
    uint64_t t0 = hn_ms();
    assert_int_equal(notify_submit(s_n, "10.0.0.6", "incoming", 1, "ban", NULL), 0);
    assert_true(notify_wait_idle(s_n, 4000, s_on_done, NULL));
    uint64_t took = hn_ms() - t0;
    assert_true(took >= 900 && took < 3000);
    assert_int_equal(s_stats().timed_out, 1);
    assert_int_equal(s_stats().failed, 0);
    assert_true(s_last_timed_out);
    snprintf(path, sizeof(path), "%s/child", s_dir);
    char *child = hn_read_file(path);
    assert_non_null(child);
    int pid = atoi(child);
    free(child);
    assert_true(pid > 0);
    assert_true(hn_wait_until(s_dead, &pid, 2000));
}

static void test_notify_exit_code_counted(void **state)
{
    (void)state;
    s_n = notify_new(s_script("fail.sh", "exit 3"), 8, 2, 5);
    assert_int_equal(notify_submit(s_n, "10.0.0.7", "outgoing", 1, "unban", "{}"), 0);
    assert_true(notify_wait_idle(s_n, 5000, s_on_done, NULL));
    assert_int_equal(s_stats().failed, 1);
    assert_int_equal(s_last_exit, 3);
}

static void test_notify_missing_script_counted(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof(path), "%s/no-such-script", s_dir);
    s_n = notify_new(path, 8, 2, 5);
    assert_int_equal(notify_submit(s_n, "10.0.0.7", "incoming", 1, "ban", NULL), 0);
    assert_true(notify_wait_idle(s_n, 5000, s_on_done, NULL));
    assert_int_equal(s_stats().failed, 1);
    assert_int_equal(s_last_exit, 127);
}

static void test_notify_unread_stdin_does_not_block(void **state)
{
    (void)state;
    size_t big = 4 << 20; /* far more than a socket buffer */
    char *input = malloc(big + 1);
    assert_non_null(input);
    memset(input, 'x', big);
    input[big] = '\0';
    s_n = notify_new(s_script("deaf.sh", "sleep 0.3"), 8, 2, 5);
    uint64_t t0 = hn_ms();
    assert_int_equal(notify_submit(s_n, "10.0.0.8", "incoming", 1, "ban", input), 0);
    assert_true(hn_ms() - t0 < 200); /* submit returned at once */
    free(input);
    assert_true(notify_wait_idle(s_n, 3000, s_on_done, NULL)); /* no SIGPIPE either */
    assert_int_equal(s_last_exit, 0);
    assert_int_equal(s_stats().failed, 0);
}

static void test_notify_queue_overflow_counted(void **state)
{
    (void)state;
    s_n = notify_new(s_script("slow.sh", "sleep 0.2"), 2, 1, 5);
    int rc[4];
    for (int i = 0; i < 4; i++)
        rc[i] = notify_submit(s_n, "10.0.0.9", "incoming", 1, "ban", NULL);
    /* one runs, two wait, the fourth finds the queue full */
    assert_int_equal(rc[0], 0);
    assert_int_equal(rc[1], 0);
    assert_int_equal(rc[2], 0);
    assert_int_equal(rc[3], -1);
    assert_int_equal(notify_running(s_n), 1);
    assert_int_equal(notify_queued(s_n), 2);
    assert_int_equal(s_stats().dropped, 1);
    assert_true(notify_wait_idle(s_n, 5000, s_on_done, NULL));
    assert_int_equal(s_stats().run, 3);
    assert_int_equal(s_done, 3);
}

static void test_notify_parallel_bounded(void **state)
{
    (void)state;
    s_n = notify_new(s_script("slow2.sh", "sleep 0.2"), 16, 2, 5);
    static const char *ips[] = {"10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.0.14"};
    for (int i = 0; i < 5; i++)
        assert_int_equal(notify_submit(s_n, ips[i], "incoming", 1, "ban", NULL), 0);
    assert_int_equal(notify_running(s_n), 2);
    uint64_t end = hn_ms() + 5000;
    while ((notify_running(s_n) || notify_queued(s_n)) && hn_ms() < end) {
        notify_poll(s_n, s_on_done, NULL);
        assert_true(notify_running(s_n) <= 2);
    }
    assert_int_equal(s_done, 5);
}

static void test_notify_same_ip_runs_in_order(void **state)
{
    (void)state;
    char body[512], path[512];
    /* A slow ban and a fast unban of one address: the unban must wait. */
    snprintf(body, sizeof(body), "[ \"$4\" = ban ] && sleep 0.3\necho $4 >> %s/order", s_dir);
    s_n = notify_new(s_script("order.sh", body), 8, 4, 5);
    assert_int_equal(notify_submit(s_n, "10.0.0.11", "incoming", 1, "ban", NULL), 0);
    assert_int_equal(notify_submit(s_n, "10.0.0.11", "incoming", 1, "unban", NULL), 0);
    assert_int_equal(notify_running(s_n), 1);
    assert_true(notify_wait_idle(s_n, 5000, s_on_done, NULL));
    snprintf(path, sizeof(path), "%s/order", s_dir);
    char *order = hn_read_file(path);
    assert_non_null(order);
    assert_string_equal(order, "ban\nunban\n");
    free(order);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, s_setup, s_teardown)
        T(test_notify_args_and_stdin),
        T(test_notify_timeout_kills_group),
        T(test_notify_exit_code_counted),
        T(test_notify_missing_script_counted),
        T(test_notify_unread_stdin_does_not_block),
        T(test_notify_queue_overflow_counted),
        T(test_notify_parallel_bounded),
        T(test_notify_same_ip_runs_in_order),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
