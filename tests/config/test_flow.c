/*
 * tests/config/test_flow.c - flow-file loading: every body kind, paths
 * relative to the flow file, names normalized, inputs resolved by the core,
 * and file:line errors from the core for problems found at finalize.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipedag/pipedag.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_test_util.h"

#ifndef PD_TEST_DATA
#    define PD_TEST_DATA "."
#endif

static void test_everything(void **state)
{
    (void)state;
    pd_flow *flow = NULL;
    int rc = pd_flow_load(PD_TEST_DATA "/flow1/flow.yaml", &flow);
    if (rc != PD_OK) {
        fail_msg("%s", pd_last_error());
    }
    assert_string_equal(pd_flow_name(flow), "everything");
    assert_int_equal(pd_flow_stage_count(flow), 2);
    assert_string_equal(pd_stage_name(pd_flow_stage(flow, 0)), "raw_input");
    pd_task *people = pd_flow_find_task(flow, "raw_input.people");
    assert_non_null(people);
    assert_int_equal(pd_task_get_kind(people), PD_TASK_LOAD);
    pd_task *adults = pd_flow_find_task(flow, "adults");
    assert_non_null(adults);
    assert_int_equal(pd_task_get_kind(adults), PD_TASK_SQL);
    assert_string_equal(pd_task_version(adults), "1.0");
    assert_int_equal(pd_task_input_count(adults), 1);
    assert_ptr_equal(pd_task_input(adults, 0), people);
    pd_task *joined = pd_flow_find_task(flow, "features.joined");
    assert_non_null(joined);
    assert_int_equal(pd_task_input_count(joined), 2);
    pd_task *both = pd_flow_find_task(flow, "both");
    assert_int_equal(pd_task_get_kind(both), PD_TASK_VIEW);
    assert_int_equal(pd_task_input_count(both), 2);
    pd_task *computed = pd_flow_find_task(flow, "computed");
    assert_int_equal(pd_task_get_kind(computed), PD_TASK_C);
    assert_int_equal(pd_task_input_count(computed), 1);
    assert_int_equal(pd_task_get_kind(pd_flow_find_task(flow, "ext")), PD_TASK_EXTERNAL);
    assert_int_equal(pd_task_get_kind(pd_flow_find_task(flow, "script")), PD_TASK_RAW_SQL);
    pd_flow_free(flow);
}

static void test_missing_file(void **state)
{
    (void)state;
    pd_flow *flow = NULL;
    assert_int_not_equal(pd_flow_load("/nonexistent/flow.yaml", &flow), PD_OK);
    assert_null(flow);
    assert_non_null(strstr(pd_last_error(), "/nonexistent/flow.yaml"));
}

/* Write data[0..len) to path and load it as a flow: true if it loaded; a
 * failure must leave no flow and say why. */
static bool load_variant(const char *path, const char *data, size_t len)
{
    assert_int_equal(write_file(path, data, len), PD_OK);
    pd_flow *flow = NULL;
    int rc = pd_flow_load(path, &flow);
    if (rc != PD_OK) {
        assert_null(flow);
        assert_true(strlen(pd_last_error()) > 0);
    }
    pd_flow_free(flow);
    return rc == PD_OK;
}

/* Truncated and garbled variants of the flow file never crash. */
static void test_truncated_and_garbled(void **state)
{
    (void)state;
    size_t len = 0;
    char *text = pdi_file_read(PD_TEST_DATA "/flow1/flow.yaml", &len);
    assert_non_null(text);
    char *path = pdi_asprintf("%s/flow1/.trunc_%d.yaml", PD_TEST_DATA, (int)getpid());
    int errs = 0;
    for (size_t cut = 0; cut < len; cut += 5) {
        errs += !load_variant(path, text, cut);
    }
    /* garbled: a few bytes replaced by YAML punctuation */
    static const char junk[] = ":-{}[]&*!|>'\"#%@`\n\t ?,";
    uint32_t rng = 777;
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    for (int iter = 0; iter < 300; iter++) {
        garble(buf, text, len, &rng, 3, junk);
        errs += !load_variant(path, buf, len);
    }
    free(buf);
    remove(path);
    assert_true(errs > 0);
    free(path);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_everything),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_truncated_and_garbled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
