/*
 * tests/lock/test_lock.c - lock managers: none, file (re-entrant counting,
 * a second process waits until the first releases), database without a
 * postgres store (clear error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lock/lock.h"
#include "util/util.h"

static char g_dir[256];

static void cfg_for(pd_config *cfg, pd_lock_class k)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->instance_id = "inst";
    cfg->lock_manager = k;
    cfg->lock_base_path = g_dir;
    cfg->table_store.klass = PD_STORE_SQL;
    cfg->table_store.url = "sqlite:///.pipedag/x";
    cfg->table_store.dialect = "sqlite";
}

static void test_none(void **st)
{
    (void)st;
    pd_config cfg;
    cfg_for(&cfg, PD_LOCK_NONE);
    pd_lock_manager *lm = NULL;
    assert_int_equal(pdi_lock_manager_open(&cfg, &lm), PD_OK);
    assert_int_equal(pdi_lock_acquire(lm, "a"), PD_OK);
    assert_int_equal(pdi_lock_check(lm, "a"), PD_OK);
    assert_int_equal(pdi_lock_release(lm, "a"), PD_OK);
    pdi_lock_manager_close(lm);
}

static void test_database_needs_pg(void **st)
{
    (void)st;
    pd_config cfg;
    cfg_for(&cfg, PD_LOCK_DATABASE);
    pd_lock_manager *lm = NULL;
    assert_int_not_equal(pdi_lock_manager_open(&cfg, &lm), PD_OK);
    assert_null(lm);
    assert_non_null(strstr(pd_last_error(), "DatabaseLockManager"));
}

static void test_file_reentrant(void **st)
{
    (void)st;
    pd_config cfg;
    cfg_for(&cfg, PD_LOCK_FILE);
    pd_lock_manager *lm = NULL;
    assert_int_equal(pdi_lock_manager_open(&cfg, &lm), PD_OK);
    assert_int_equal(pdi_lock_check(lm, "s1"), PD_ERR_LOCK);
    assert_int_equal(pdi_lock_acquire(lm, "s1"), PD_OK);
    assert_int_equal(pdi_lock_acquire(lm, "s1"), PD_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/inst/s1.lock", g_dir);
    assert_true(pdi_path_exists(path));
    assert_int_equal(pdi_lock_release(lm, "s1"), PD_OK);
    assert_int_equal(pdi_lock_check(lm, "s1"), PD_OK);
    /* still held: another open file description cannot take it */
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_not_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    assert_int_equal(pdi_lock_release(lm, "s1"), PD_OK);
    assert_int_equal(pdi_lock_check(lm, "s1"), PD_ERR_LOCK);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    close(fd);
    assert_int_equal(pdi_lock_release(lm, "s1"), PD_ERR_LOCK);
    assert_int_equal(pdi_lock_acquire(lm, "_pipedag_setup_"), PD_OK);
    pdi_lock_release_all(lm);
    assert_int_equal(pdi_lock_check(lm, "_pipedag_setup_"), PD_ERR_LOCK);
    pdi_lock_manager_close(lm);
}

static void test_file_two_processes(void **st)
{
    (void)st;
    pd_config cfg;
    cfg_for(&cfg, PD_LOCK_FILE);
    pd_lock_manager *lm = NULL;
    assert_int_equal(pdi_lock_manager_open(&cfg, &lm), PD_OK);
    assert_int_equal(pdi_lock_acquire(lm, "stage"), PD_OK);
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        pd_lock_manager *l2 = NULL;
        if (pdi_lock_manager_open(&cfg, &l2))
            _exit(2);
        if (write(p[1], "w", 1) != 1) /* about to wait */
            _exit(3);
        if (pdi_lock_acquire(l2, "stage"))
            _exit(4);
        if (write(p[1], "g", 1) != 1) /* got it */
            _exit(5);
        pdi_lock_manager_close(l2);
        _exit(0);
    }
    close(p[1]);
    char c = 0;
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(c, 'w');
    /* the child must still be waiting while we hold the lock */
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 300), 0);
    /* another independent lock does not block */
    assert_int_equal(pdi_lock_acquire(lm, "other"), PD_OK);
    assert_int_equal(pdi_lock_release(lm, "stage"), PD_OK);
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(c, 'g');
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(p[0]);
    pdi_lock_manager_close(lm);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/pd_lock_test_%d", (int)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_database_needs_pg),
        cmocka_unit_test(test_file_reentrant),
        cmocka_unit_test(test_file_two_processes),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    pdi_rm_rf(g_dir);
    return r;
}
