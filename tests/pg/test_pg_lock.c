/*
 * tests/pg/test_pg_lock.c - the Postgres DatabaseLockManager against the
 * private cluster: lock ids equal SHA-256 computed by the server, a second
 * process of the same instance waits until the holder is killed, a foreign
 * session holding the advisory lock makes us wait, other instances do not
 * block, and a terminated lock connection turns into PD_ERR_LOCK.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lock/dblock.h"
#include "pg_test_util.h"
#include "pipedag/common.h"
#include "store/postgres/libpq.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static char *g_url;

static pdi_pg *admin(void)
{
    pdi_pg *c = NULL;
    if (pdi_pg_connect(g_url, false, &c))
        fail_msg("connect: %s", pd_last_error());
    return c;
}

static long long count_sql(pdi_pg *c, const char *sql)
{
    char *v = NULL;
    if (pdi_pg_query_value(c, sql, &v))
        fail_msg("%s: %s", sql, pd_last_error());
    long long n = v ? atoll(v) : -1;
    free(v);
    return n;
}

/* Wait (no time limit: ctest's TIMEOUT bounds it) until `sql` counts >= n. */
static void wait_count(pdi_pg *c, const char *sql, long long n)
{
    while (count_sql(c, sql) < n)
        usleep(20000);
}

static void test_lock_id(void **st)
{
    (void)st;
    pdi_pg *c = admin();
    char *v = NULL;
    assert_int_equal(pdi_pg_query_value(c,
                                        "SELECT ('x' || substr(encode(sha256('my_instance#stage_1'"
                                        "::bytea), 'hex'), 1, 16))::bit(64)::bigint",
                                        &v),
                     PD_OK);
    char want[32];
    snprintf(want, sizeof want, "%lld", (long long)pdi_dblock_id("my_instance#stage_1"));
    assert_string_equal(v, want);
    free(v);
    pdi_pg_close(c);
}

#define WAITERS "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"

static void test_acquire_release(void **st)
{
    (void)st;
    pdi_dblock *l = NULL;
    assert_int_equal(pdi_dblock_open_url(g_url, false, "inst_a", &l), PD_OK);
    assert_int_equal(pdi_dblock_check(l, "s1"), PD_ERR_LOCK);
    assert_int_equal(pdi_dblock_acquire(l, "s1"), PD_OK);
    assert_int_equal(pdi_dblock_acquire(l, "s1"), PD_OK); /* re-entrant */
    assert_int_equal(pdi_dblock_acquire(l, "s2"), PD_OK);
    assert_int_equal(pdi_dblock_check(l, "s1"), PD_OK);
    pdi_pg *c = admin();
    char sql[256];
    int64_t id = pdi_dblock_id("inst_a#s1");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_locks WHERE locktype='advisory' AND granted AND "
             "classid=%u AND objid=%u",
             (unsigned)((uint64_t)id >> 32), (unsigned)((uint64_t)id & 0xffffffffu));
    assert_int_equal(count_sql(c, sql), 1);
    assert_int_equal(pdi_dblock_release(l, "s1"), PD_OK);
    assert_int_equal(count_sql(c, sql), 1); /* still held once */
    assert_int_equal(pdi_dblock_release(l, "s1"), PD_OK);
    assert_int_equal(count_sql(c, sql), 0);
    assert_int_equal(pdi_dblock_release(l, "s1"), PD_ERR_LOCK);

    /* another instance, same stage: does not block */
    pdi_dblock *l2 = NULL;
    assert_int_equal(pdi_dblock_open_url(g_url, false, "inst_b", &l2), PD_OK);
    assert_int_equal(pdi_dblock_acquire(l2, "s2"), PD_OK);
    pdi_dblock_close(l2);
    pdi_dblock_close(l);
    pdi_pg_close(c);
}

/* Child: take the lock, report on the pipe, then sleep until killed (or
 * exit after reporting when `then_exit`). */
static pid_t child_lock(const char *inst, const char *stage, int wfd, bool then_exit)
{
    pid_t p = fork();
    if (p == 0) {
        pdi_dblock *l = NULL;
        if (pdi_dblock_open_url(g_url, false, inst, &l) || pdi_dblock_acquire(l, stage))
            _exit(2);
        char ch = 'L';
        if (write(wfd, &ch, 1) != 1)
            _exit(3);
        if (then_exit) {
            pdi_dblock_close(l);
            _exit(0);
        }
        for (;;)
            pause();
    }
    return p;
}

static void test_two_processes(void **st)
{
    (void)st;
    pdi_pg *c = admin();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    long long base = count_sql(c, WAITERS);
    pid_t a = child_lock("inst_p", "stage_1", fds[1], false);
    char ch;
    assert_int_equal(read(fds[0], &ch, 1), 1); /* A holds the lock */
    pid_t b = child_lock("inst_p", "stage_1", fds[1], true);
    /* B waits: it shows up as an ungranted advisory lock */
    wait_count(c, WAITERS, base + 1);
    /* killing the holder frees it: B gets the lock */
    kill(a, SIGKILL);
    int status;
    waitpid(a, &status, 0);
    assert_int_equal(read(fds[0], &ch, 1), 1);
    waitpid(b, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(fds[0]);
    close(fds[1]);
    pdi_pg_close(c);
}

static void test_foreign_holder(void **st)
{
    (void)st;
    pdi_pg *holder = admin();
    pdi_pg *c = admin();
    /* a third session holds the advisory lock computed by the server */
    assert_int_equal(pdi_pg_exec(holder, "SELECT pg_advisory_lock(('x' || substr(encode(sha256("
                                         "'inst_f#stage_x'::bytea), 'hex'), 1, 16))::bit(64)::"
                                         "bigint)"),
                     PD_OK);
    char *pid = NULL;
    assert_int_equal(pdi_pg_query_value(holder, "SELECT pg_backend_pid()", &pid), PD_OK);
    long long base = count_sql(c, WAITERS);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t b = child_lock("inst_f", "stage_x", fds[1], true);
    wait_count(c, WAITERS, base + 1);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%s)", pid);
    assert_int_equal(pdi_pg_exec(c, sql), PD_OK);
    char ch;
    assert_int_equal(read(fds[0], &ch, 1), 1);
    int status;
    waitpid(b, &status, 0);
    assert_int_equal(WEXITSTATUS(status), 0);
    free(pid);
    close(fds[0]);
    close(fds[1]);
    pdi_pg_close(holder);
    pdi_pg_close(c);
}

static void test_lost_connection(void **st)
{
    (void)st;
    pdi_dblock *l = NULL;
    assert_int_equal(pdi_dblock_open_url(g_url, false, "inst_lost", &l), PD_OK);
    assert_int_equal(pdi_dblock_acquire(l, "s"), PD_OK);
    assert_int_equal(pdi_dblock_check(l, "s"), PD_OK);
    pdi_pg *c = admin();
    /* only this database's advisory locks: other tests share the cluster */
    assert_int_equal(pdi_pg_exec(c, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE "
                                    "locktype='advisory' AND granted AND pid <> "
                                    "pg_backend_pid() AND database = (SELECT oid FROM "
                                    "pg_database WHERE datname = current_database())"),
                     PD_OK);
    assert_int_equal(pdi_dblock_check(l, "s"), PD_ERR_LOCK);
    const char *m = pd_last_error();
    assert_non_null(strstr(m, "inst_lost#s"));
    assert_null(strstr(m, "pdtest_pw_4711"));
    assert_int_equal(pdi_dblock_acquire(l, "t"), PD_ERR_LOCK);
    pdi_dblock_close(l);
    pdi_pg_close(c);
}

int main(void)
{
    g_url = pg_test_url_required();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_id),         cmocka_unit_test(test_acquire_release),
        cmocka_unit_test(test_two_processes),   cmocka_unit_test(test_foreign_holder),
        cmocka_unit_test(test_lost_connection),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    free(g_url);
    return r;
}
