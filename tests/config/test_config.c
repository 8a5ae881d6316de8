/*
 * tests/config/test_config.c - pipedag.yaml loader: the seed config loads as
 * written, __any__ merging, {$ENV} and placeholder expansion, defaults,
 * masking in pd_config_dump, file discovery, and robustness against
 * truncated/garbled YAML (no crash, always a positioned error or success).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/cfg_int.h"
#include "pipedag/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_test_util.h"

#ifndef PD_TEST_DATA
#    define PD_TEST_DATA "."
#endif

static char tmpdir[256];

static char *write_tmp(const char *name, const char *text)
{
    char *p = pdi_path_join(tmpdir, name);
    assert_non_null(p);
    assert_int_equal(write_file(p, text, strlen(text)), PD_OK);
    return p;
}

static void test_seed_loads(void **state)
{
    (void)state;
    pd_config *cfg = NULL;
    int rc = pd_config_load(PD_TEST_DATA "/seed_parquet_s3.yaml", NULL, &cfg);
    if (rc != PD_OK) {
        fail_msg("%s", pd_last_error());
    }
    assert_string_equal(cfg->instance, "__any__");
    assert_string_equal(cfg->instance_id, "pipedag_default");
    assert_true(cfg->fail_fast);
    assert_int_equal(cfg->table_store.klass, PD_STORE_PARQUET);
    assert_string_equal(cfg->table_store.url,
                        "duckdb:////tmp/pipedag/parquet_duckdb/pipedag_default.duckdb");
    assert_string_equal(cfg->table_store.dialect, "duckdb");
    assert_string_equal(cfg->table_store.parquet_base_path,
                        "s3://pipedag-test-bucket/table_store/");
    assert_string_equal(cfg->table_store.s3_endpoint_url, "http://localhost:9000");
    assert_string_equal(cfg->table_store.s3_url_style, "path");
    assert_string_equal(cfg->table_store.s3_region, "us-east-1");
    assert_true(cfg->table_store.create_database_if_not_exists);
    assert_true(cfg->table_store.print_sql);
    assert_non_null(cfg->table_store.hook_args);
    pd_store_config *m = cfg->table_store.metadata_table_store;
    assert_non_null(m);
    assert_int_equal(m->klass, PD_STORE_SQL);
    assert_string_equal(m->url, "postgresql://sa:Pydiverse23@127.0.0.1:6543/pipedag_default");
    assert_string_equal(m->dialect, "postgresql");
    assert_int_equal(cfg->stage_commit_technique, PD_COMMIT_READ_VIEWS);
    assert_int_equal(cfg->lock_manager, PD_LOCK_DATABASE);
    assert_int_equal(cfg->blob_store, PD_BLOB_FILE);
    assert_string_equal(cfg->blob_base_path, "/tmp/pipedag/blobs");
    assert_int_equal(cfg->engine_workers, 1);
    assert_string_equal(cfg->cache_mode, "normal");
    assert_string_equal(cfg->table_store.file, cfg->path);
    assert_true(cfg->table_store.line > 0);

    char *dump = pd_config_dump(cfg);
    assert_non_null(dump);
    assert_null(strstr(dump, "Pydiverse23"));
    assert_non_null(strstr(dump, "postgresql://sa:***@127.0.0.1:6543/pipedag_default"));
    assert_non_null(strstr(dump, "READ_VIEWS"));
    /* the dump is valid YAML that parses back */
    pdi_arena a = {0};
    pd_cfg_node *root = NULL;
    assert_int_equal(pdi_yaml_parse(&a, "<dump>", dump, strlen(dump), &root), PD_OK);
    assert_non_null(pd_cfg_get(root, "table_store"));
    pdi_arena_free(&a);
    free(dump);
    pd_config_free(cfg);
}

static void test_default_config(void **state)
{
    (void)state;
    char *old = getcwd(NULL, 0);
    assert_non_null(old);
    assert_int_equal(chdir(tmpdir), 0);
    unsetenv("PIPEDAG_CONFIG");
    const char *home = getenv("HOME");
    char *home_saved = home ? strdup(home) : NULL;
    setenv("HOME", tmpdir, 1);
    pd_config *cfg = NULL;
    int rc = pd_config_load(NULL, NULL, &cfg);
    assert_int_equal(chdir(old), 0);
    if (home_saved) {
        setenv("HOME", home_saved, 1);
    }
    free(home_saved);
    free(old);
    if (rc != PD_OK) {
        fail_msg("%s", pd_last_error());
    }
    assert_null(cfg->path);
    assert_string_equal(cfg->instance, "default");
    assert_string_equal(cfg->instance_id, "default");
    assert_string_equal(cfg->table_store.url, "sqlite:///.pipedag/default");
    assert_string_equal(cfg->table_store.dialect, "sqlite");
    assert_int_equal(cfg->lock_manager, PD_LOCK_FILE);
    assert_string_equal(cfg->lock_base_path, ".pipedag/locks");
    assert_string_equal(cfg->blob_base_path, ".pipedag/blobs");
    assert_int_equal(cfg->engine_workers, 1);
    pd_config_free(cfg);
}

static const char merge_yaml[] =
    "name: proj\n"
    "instances:\n"
    "  __any__:\n"
    "    instance_id: base\n"
    "    fail_fast: false\n"
    "    table_store:\n"
    "      class: SQLTableStore\n"
    "      args:\n"
    "        url: \"postgresql+psycopg2://u:{$PD_TEST_PW}@h:5432/{instance_id}\"\n"
    "        schema_prefix: \"{name}_{instance_id}_\"\n"
    "        print_sql: true\n"
    "    attrs:\n"
    "      a: 1\n"
    "      nested: {x: 1, y: 2}\n"
    "  full:\n"
    "    instance_id: full_{$PD_TEST_SUFFIX}\n"
    "    table_store:\n"
    "      args:\n"
    "        print_sql: false\n"
    "    attrs:\n"
    "      nested: {y: 3}\n"
    "    orchestration:\n"
    "      class: pydiverse.pipedag.engine.ParallelEngine\n"
    "      args: {max_workers: 3}\n"
    "    cache_validation:\n"
    "      mode: FORCE_CACHE_INVALID\n"
    "      disable_cache_function: true\n"
    "  mini:\n"
    "    stage_commit_technique: read_views\n";

static void test_merge_and_env(void **state)
{
    (void)state;
    char *p = write_tmp("merge.yaml", merge_yaml);
    setenv("PD_TEST_PW", "s3cr3t", 1);
    setenv("PD_TEST_SUFFIX", "x", 1);
    pd_config *cfg = NULL;
    int rc = pd_config_load(p, "full", &cfg);
    if (rc != PD_OK) {
        fail_msg("%s", pd_last_error());
    }
    assert_string_equal(cfg->name, "proj");
    assert_string_equal(cfg->instance_id, "full_x");
    assert_string_equal(cfg->table_store.url, "postgresql+psycopg2://u:s3cr3t@h:5432/full_x");
    assert_string_equal(cfg->table_store.dialect, "postgresql");
    assert_string_equal(cfg->table_store.schema_prefix, "proj_full_x_");
    assert_false(cfg->table_store.print_sql);
    assert_int_equal(cfg->engine_workers, 3);
    assert_string_equal(cfg->cache_mode, "force_cache_invalid");
    assert_true(cfg->disable_cache_function);
    const pd_cfg_node *nested = pd_cfg_get(cfg->attrs, "nested");
    assert_string_equal(pd_cfg_get(nested, "x")->scalar, "1");
    assert_string_equal(pd_cfg_get(nested, "y")->scalar, "3");
    assert_string_equal(pd_cfg_get(cfg->attrs, "a")->scalar, "1");
    char *dump = pd_config_dump(cfg);
    assert_null(strstr(dump, "s3cr3t"));
    free(dump);
    pd_config_free(cfg);

    assert_int_equal(pd_config_load(p, "mini", &cfg), PD_OK);
    assert_int_equal(cfg->stage_commit_technique, PD_COMMIT_READ_VIEWS);
    assert_string_equal(cfg->instance_id, "base");
    pd_config_free(cfg);

    /* several instances and none named: error */
    assert_int_equal(pd_config_load(p, NULL, &cfg), PD_ERR_CONFIG);
    assert_non_null(strstr(pd_last_error(), "--instance"));
    /* unknown instance with strict lookup */
    assert_int_equal(pd_config_load(p, "nope", &cfg), PD_ERR_CONFIG);
    assert_non_null(strstr(pd_last_error(), "instance 'nope' not found"));

    unsetenv("PD_TEST_PW");
    assert_int_equal(pd_config_load(p, "full", &cfg), PD_ERR_CONFIG);
    assert_non_null(strstr(pd_last_error(), "PD_TEST_PW"));
    assert_non_null(strstr(pd_last_error(), "merge.yaml:9:"));
    assert_null(cfg);
    free(p);
}

static void test_dialects(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"sqlite:///x.db", "sqlite"},      {"postgres://h/db", "postgresql"},
        {"duckdb:///x.duckdb", "duckdb"},  {"mssql+pyodbc://u:p@h/db", "mssql"},
        {"db2+ibm_db://u:p@h/db", "db2"},  {"snowflake://u:p@acct/db", "snowflake"},
        {"oracle+cx://h/db", "oracle+cx"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "instances:\n  x:\n    table_store:\n      class: SQLTableStore\n"
                 "      args:\n        url: \"%s\"\n",
                 cases[i][0]);
        char *p = write_tmp("dialect.yaml", text);
        pd_config *cfg = NULL;
        int rc = pd_config_load(p, NULL, &cfg);
        if (rc != PD_OK) {
            fail_msg("%s", pd_last_error());
        }
        assert_string_equal(cfg->table_store.dialect, cases[i][1]);
        assert_string_equal(cfg->instance_id, "pipeline");
        pd_config_free(cfg);
        free(p);
    }
}

static void test_discovery(void **state)
{
    (void)state;
    char *sub = pdi_path_join(tmpdir, "proj/a/b");
    assert_int_equal(pdi_mkdir_p(sub), PD_OK);
    char *cfgp = write_tmp("proj/pipedag.yml",
                           "instances:\n  only:\n    instance_id: disc\n    table_store:\n"
                           "      class: SQLTableStore\n      args: {url: \"sqlite:///d\"}\n");
    char *old = getcwd(NULL, 0);
    unsetenv("PIPEDAG_CONFIG");
    assert_int_equal(chdir(sub), 0);
    pd_config *cfg = NULL;
    int rc = pd_config_load(NULL, NULL, &cfg);
    assert_int_equal(chdir(old), 0);
    if (rc != PD_OK) {
        fail_msg("%s", pd_last_error());
    }
    assert_string_equal(cfg->instance_id, "disc");
    pd_config_free(cfg);
    /* PIPEDAG_CONFIG naming a directory */
    char *projdir = pdi_path_join(tmpdir, "proj");
    setenv("PIPEDAG_CONFIG", projdir, 1);
    assert_int_equal(pd_config_load(NULL, "only", &cfg), PD_OK);
    assert_string_equal(cfg->instance, "only");
    pd_config_free(cfg);
    setenv("PIPEDAG_CONFIG", "/nonexistent/pipedag.yaml", 1);
    assert_int_equal(pd_config_load(NULL, NULL, &cfg), PD_ERR_NOT_FOUND);
    assert_non_null(strstr(pd_last_error(), "PIPEDAG_CONFIG"));
    unsetenv("PIPEDAG_CONFIG");
    free(projdir);
    free(old);
    free(cfgp);
    free(sub);
}

static void test_url_attrs_and_anchors(void **state)
{
    (void)state;
    char *attrs = write_tmp("secrets.yaml", "user: bob\npassword: hunter2\n");
    free(attrs);
    char *p =
        write_tmp("anchors.yaml", "table_store_connections:\n"
                                  "  pg:\n"
                                  "    class: SQLTableStore\n"
                                  "    args:\n"
                                  "      url: \"postgresql://{user}:{password}@h/{instance_id}\"\n"
                                  "      url_attrs_file: secrets.yaml\n"
                                  "instances:\n"
                                  "  __any__: &base\n"
                                  "    instance_id: anc\n"
                                  "    table_store:\n"
                                  "      table_store_connection: pg\n"
                                  "      args:\n"
                                  "        schema_suffix: _s\n"
                                  "  other:\n"
                                  "    <<: *base\n"
                                  "    instance_id: other\n");
    pd_config *cfg = NULL;
    int rc = pd_config_load(p, "other", &cfg);
    if (rc != PD_OK) {
        fail_msg("%s", pd_last_error());
    }
    assert_string_equal(cfg->instance_id, "other");
    assert_string_equal(cfg->table_store.url, "postgresql://bob:hunter2@h/other");
    assert_string_equal(cfg->table_store.schema_suffix, "_s");
    char *dump = pd_config_dump(cfg);
    assert_null(strstr(dump, "hunter2"));
    free(dump);
    pd_config_free(cfg);
    free(p);
}

/* Write data[0..len) to path and load it: true if it loaded (and dumps);
 * a failure must leave no config and say why. */
static bool load_variant(const char *path, const char *data, size_t len)
{
    assert_int_equal(write_file(path, data, len), PD_OK);
    pd_config *cfg = NULL;
    if (pd_config_load(path, NULL, &cfg) != PD_OK) {
        assert_null(cfg);
        assert_true(strlen(pd_last_error()) > 0);
        return false;
    }
    free(pd_config_dump(cfg));
    pd_config_free(cfg);
    return true;
}

/* Truncate / garble the seed config: every variant must return cleanly. */
static void test_fuzz_robustness(void **state)
{
    (void)state;
    size_t len = 0;
    char *seed = pdi_file_read(PD_TEST_DATA "/seed_parquet_s3.yaml", &len);
    assert_non_null(seed);
    char *path = pdi_path_join(tmpdir, "fuzz.yaml");
    int ok = 0, errs = 0;
    uint32_t rng = 12345;
    for (size_t cut = 0; cut <= len; cut += 7) {
        if (load_variant(path, seed, cut)) {
            ok++;
        } else {
            errs++;
        }
    }
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    static const char junk[] = ":-{}[]&*!|>'\"#%@`\n\t ?,\x01\xff";
    for (int iter = 0; iter < 400; iter++) {
        garble(buf, seed, len, &rng, 4, junk);
        if (load_variant(path, buf, len)) {
            ok++;
        } else {
            errs++;
        }
    }
    assert_true(ok > 0);
    assert_true(errs > 0);
    free(buf);
    free(path);
    free(seed);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pd_test_config_%d", (int)getpid());
    pdi_rm_rf(tmpdir);
    pdi_mkdir_p(tmpdir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_loads),      cmocka_unit_test(test_default_config),
        cmocka_unit_test(test_merge_and_env),   cmocka_unit_test(test_dialects),
        cmocka_unit_test(test_discovery),       cmocka_unit_test(test_url_attrs_and_anchors),
        cmocka_unit_test(test_fuzz_robustness),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pdi_rm_rf(tmpdir);
    return rc;
}
