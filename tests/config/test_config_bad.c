/*
 * tests/config/test_config_bad.c - the malformed-input corpus: every
 * tests/config/bad/<case>.yaml must fail to load and the error must contain
 * the text of <case>.expect (file:line:column included). Files named
 * flow_*.yaml are flow files (pd_flow_load), the others pipedag.yaml configs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipedag/pipedag.h"
#include "util/util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PD_BAD_DIR
#    define PD_BAD_DIR "."
#endif

static int run_case(const char *name)
{
    char *yaml = pdi_asprintf("%s/%s", PD_BAD_DIR, name);
    char *exp_path = pdi_asprintf("%s/%.*s.expect", PD_BAD_DIR, (int)(strlen(name) - 5), name);
    char *expect = pdi_file_read(exp_path, NULL);
    if (!expect) {
        fail_msg("%s: missing %s", name, exp_path);
    }
    expect[strcspn(expect, "\n")] = '\0';
    /* "{DIR}" in the expectation stands for the corpus directory */
    char *want = pdi_str_replace(expect, "{DIR}", PD_BAD_DIR);
    int rc;
    if (pdi_str_starts(name, "flow_")) {
#ifdef PD_HAVE_CORE
        pd_flow *flow = NULL;
        rc = pd_flow_load(yaml, &flow);
        assert_null(flow);
#else
        print_message("skip %s (core not built)\n", name);
        free(want);
        free(expect);
        free(exp_path);
        free(yaml);
        return 0;
#endif
    } else {
        pd_config *cfg = NULL;
        rc = pd_config_load(yaml, NULL, &cfg);
        assert_null(cfg);
    }
    int bad = 0;
    if (rc == PD_OK) {
        print_error("%s: loaded without error\n", name);
        bad = 1;
    } else if (!strstr(pd_last_error(), want)) {
        print_error("%s: error\n  %s\ndoes not contain\n  %s\n", name, pd_last_error(), want);
        bad = 1;
    }
    free(want);
    free(expect);
    free(exp_path);
    free(yaml);
    return bad;
}

static void test_corpus(void **state)
{
    (void)state;
    DIR *d = opendir(PD_BAD_DIR);
    assert_non_null(d);
    pd_strv names = PD_STRV_INIT;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (pdi_str_ends(e->d_name, ".yaml")) {
            pdi_strv_push(&names, e->d_name);
        }
    }
    closedir(d);
    pdi_strv_sort(&names);
    assert_true(names.n >= 10);
    int failures = 0;
    for (size_t i = 0; i < names.n; i++) {
        failures += run_case(names.items[i]);
    }
    assert_int_equal(failures, 0);
    print_message("%zu malformed inputs checked\n", names.n);
    pdi_strv_free(&names);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_corpus)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
