/*
 * tests/support/pd_test_flow.h - helpers shared by the end-to-end tests
 * (tests/acceptance, tests/pg): each test runs in a fresh temporary
 * directory holding its pipedag.yaml, runs flows with pd_run, checks task
 * states and reads single cells back from the committed store. Failures are
 * cmocka failures. Library target pd_test_flow (tests/support/CMakeLists.txt);
 * the test links the pipedag subsystems itself.
 */
#ifndef PD_TEST_FLOW_H
#define PD_TEST_FLOW_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipedag/arrow.h"
#include "pipedag/pipedag.h"
#include "store/store.h"

/* Make /tmp/<prefix>_XXXXXX and change into it (0, or -1: a cmocka setup
 * result). pdt_leave_temp_dir() goes back and removes it. */
int pdt_enter_temp_dir(const char *prefix);
int pdt_leave_temp_dir(void);

/* Write pipedag.yaml: the built-in default configuration (SQLite store
 * under ./.pipedag/) with project name and instance_id `name`. 0 or -1. */
int pdt_write_default_config(const char *name);

/* Write pipedag.yaml for a Postgres store: project name and instance_id
 * `name`, a fresh database <db_prefix>_<n>_<random> on the server of
 * `server_url` (its last path part is replaced), created if missing, the
 * DatabaseLockManager, then `extra_yaml` (NULL: none; more keys of the
 * instance, indented by four spaces). 0 or -1 (a cmocka setup result). */
int pdt_write_pg_config(const char *server_url,
                        const char *name,
                        const char *db_prefix,
                        const char *extra_yaml);

/* pd_config_load("pipedag.yaml"), asserting success. */
pd_config *pdt_load_cfg(void);

/* Run `f` with options `o` (NULL: defaults) on pipedag.yaml, assert that
 * pd_run returns `expect` and a result, and return the result. */
pd_result *pdt_run_flow(pd_flow *f, const pd_run_options *o, int expect);

/* State of `task` (of `stage`; NULL: of any stage) in `r`; fails the test
 * when the result has no such task. */
pd_task_state pdt_state_of(const pd_result *r, const char *stage, const char *task);

/* Fail the test (at the caller's line) unless `task` (of `stage`, or of any
 * stage when NULL) ended in state `want`. */
#define PDT_ASSERT_STATE(r, stage, task, want) \
    pdt_assert_state_at(r, stage, task, want, __FILE__, __LINE__)
void pdt_assert_state_at(const pd_result *r,
                         const char *stage,
                         const char *task,
                         pd_task_state want,
                         const char *file,
                         int line);

/* The store of pipedag.yaml, opened and set up (asserting success); *cfg
 * is its configuration. pdt_close_store() closes both. */
pd_store *pdt_open_store(pd_config **cfg);
void pdt_close_store(pd_store *s, pd_config *cfg);

/* First cell (as text, "NULL" for NULL; NULL when no row) of `fmt_sql`
 * run on the committed store, where the one "%s" of fmt_sql stands for
 * the physical name of stage.table. Caller frees. */
char *pdt_query_cell(const char *fmt_sql, const char *stage, const char *table);

/* pdt_query_cell() must give `want`. */
void pdt_assert_cell(const char *fmt_sql, const char *stage, const char *table, const char *want);

/* Task body: read the table `input` as Arrow and output its row count as
 * the task's value. */
int pdt_output_row_count(pd_task_ctx *ctx, const char *input);

#endif
