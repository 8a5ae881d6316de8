/*
 * tests/parquet_read/pq_test_util.h - what the Parquet reader tests
 * (test_parquet_read.c, test_parquet_int96.c) share: reading cells of an
 * Arrow array and running the CLI driver (PQ_CLI_DRIVER). Include after
 * cmocka.h and util/util.h.
 */
#ifndef PQ_TEST_UTIL_H
#define PQ_TEST_UTIL_H

#include "pipedag/arrow.h"
#include "util/util.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Row i of `a` is not null (false for an array without buffers). */
static inline bool valid_at(const struct ArrowArray *a, int64_t i)
{
    if (a->n_buffers == 0)
        return false;
    const uint8_t *bm = a->buffers[0];
    int64_t j = a->offset + i;
    return !bm || ((bm[j >> 3] >> (j & 7)) & 1);
}

static inline int64_t i64_at(const struct ArrowArray *a, int64_t i)
{
    return ((const int64_t *)a->buffers[1])[a->offset + i];
}

/* stdout and stderr of `PQ_CLI_DRIVER args`, followed by a line
 * "exit=<status>" when `with_exit`. Caller frees. */
static inline char *pq_run_cli(const char *args, bool with_exit)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1%s", PQ_CLI_DRIVER, args,
             with_exit ? "; echo \"exit=$?\"" : "");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    pd_buf b = PD_BUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, p)) > 0)
        pdi_buf_append(&b, tmp, n);
    pclose(p);
    return b.data ? pdi_buf_detach(&b) : pdi_strdup("");
}

#endif
