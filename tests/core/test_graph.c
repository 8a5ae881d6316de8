/*
 * tests/core/test_graph.c - unit tests of the core's flow graph and hashing:
 * stage name normalization, {{ }} reference parsing and resolution (with
 * errors naming task and origin), duplicates, cycles, topological order,
 * raw SQL outputs, position hashes, SQL canonicalization, cache mode names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core_int.h"
#include <stdlib.h>
#include <string.h>

static void test_stage_names(void **state)
{
    (void)state;
    pd_flow *f = pd_flow_new("f");
    pd_stage *s = pd_flow_add_stage(f, "  My/Stage ");
    assert_non_null(s);
    assert_string_equal(pd_stage_name(s), "my_stage");
    assert_null(pd_flow_add_stage(f, "MY/STAGE"));
    assert_non_null(strstr(pd_last_error(), "duplicate stage"));
    assert_ptr_equal(pd_flow_find_stage(f, "My/Stage"), s);
    assert_null(pd_flow_add_stage(f, "a.b"));
    pd_flow_free(f);
}

static void test_refs_and_order(void **state)
{
    (void)state;
    pd_flow *f = pd_flow_new("f");
    pd_stage *s1 = pd_flow_add_stage(f, "s1");
    pd_stage *s2 = pd_flow_add_stage(f, "s2");
    pd_task *b = pd_stage_add_sql(s1, "b", "SELECT * FROM {{a}}");
    pd_task *a = pd_stage_add_sql(s1, "a", "SELECT 1 AS x");
    pd_task *c = pd_stage_add_sql(s2, "c", "SELECT * FROM {{  s1.a }} JOIN {{ b }} USING (x)");
    pd_task *d = pd_stage_add_sql(s2, "d", "SELECT * FROM {{ c }}");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(d);
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    assert_int_equal(pd_task_input_count(b), 1);
    assert_ptr_equal(pd_task_input(b, 0), a);
    assert_int_equal(pd_task_input_count(c), 2);
    assert_ptr_equal(pd_task_input(d, 0), c);
    /* a before b (dependency beats declaration order), stage 1 before 2 */
    assert_true(a->topo < b->topo);
    assert_true(b->topo < c->topo);
    assert_true(c->topo < d->topo);
    /* commit node of s1 comes before c */
    size_t rc1 = f->rank[pdi_commit_node(f, 0)];
    assert_true(rc1 < f->rank[c->id]);
    assert_ptr_equal(pd_flow_find_task(f, "s2.c"), c);
    assert_ptr_equal(pd_flow_find_task(f, "D"), d);
    pd_flow_free(f);
}

static void test_ambiguous_and_unknown(void **state)
{
    (void)state;
    pd_flow *f = pd_flow_new("f");
    pd_stage *s1 = pd_flow_add_stage(f, "s1");
    pd_stage *s2 = pd_flow_add_stage(f, "s2");
    pd_stage *s3 = pd_flow_add_stage(f, "s3");
    pd_stage_add_sql(s1, "t", "SELECT 1 AS x");
    pd_stage_add_sql(s2, "t", "SELECT 2 AS x");
    pd_task *u = pd_stage_add_sql(s3, "u", "SELECT * FROM {{ t }}");
    pd_task_set_origin(u, "flow.yaml", 12);
    assert_int_equal(pd_flow_finalize(f), PD_ERR_CONFIG);
    assert_non_null(strstr(pd_last_error(), "ambiguous"));
    assert_non_null(strstr(pd_last_error(), "flow.yaml:12"));
    assert_non_null(strstr(pd_last_error(), "s3.u"));
    pd_flow_free(f);

    f = pd_flow_new("f");
    s1 = pd_flow_add_stage(f, "s1");
    u = pd_stage_add_sql(s1, "u", "SELECT * FROM {{ nope }}");
    pd_task_set_origin(u, "x.yaml", 3);
    assert_int_equal(pd_flow_finalize(f), PD_ERR_CONFIG);
    assert_non_null(strstr(pd_last_error(), "nope"));
    assert_non_null(strstr(pd_last_error(), "x.yaml:3"));
    pd_flow_free(f);

    f = pd_flow_new("f");
    s1 = pd_flow_add_stage(f, "s1");
    pd_stage_add_sql(s1, "u", "SELECT * FROM {{ s9.t }}");
    assert_int_equal(pd_flow_finalize(f), PD_ERR_CONFIG);
    assert_non_null(strstr(pd_last_error(), "unknown stage"));
    pd_flow_free(f);
}

static void test_cycles_and_duplicates(void **state)
{
    (void)state;
    pd_flow *f = pd_flow_new("f");
    pd_stage *s1 = pd_flow_add_stage(f, "s1");
    pd_stage_add_sql(s1, "a", "SELECT * FROM {{ b }}");
    pd_stage_add_sql(s1, "b", "SELECT * FROM {{ a }}");
    assert_int_equal(pd_flow_finalize(f), PD_ERR_CONFIG);
    assert_non_null(strstr(pd_last_error(), "cycle"));
    pd_flow_free(f);

    /* cycle through stage commits */
    f = pd_flow_new("f");
    s1 = pd_flow_add_stage(f, "s1");
    pd_stage *s2 = pd_flow_add_stage(f, "s2");
    pd_stage_add_sql(s1, "a", "SELECT * FROM {{ s2.b }}");
    pd_stage_add_sql(s2, "b", "SELECT 1");
    pd_stage_add_sql(s2, "c", "SELECT * FROM {{ s1.x }}");
    pd_stage_add_sql(s1, "x", "SELECT 1");
    assert_int_equal(pd_flow_finalize(f), PD_ERR_CONFIG);
    assert_non_null(strstr(pd_last_error(), "cycle"));
    pd_flow_free(f);

    f = pd_flow_new("f");
    s1 = pd_flow_add_stage(f, "s1");
    pd_stage_add_sql(s1, "a", "SELECT 1");
    pd_stage_add_sql(s1, "A", "SELECT 2");
    assert_int_equal(pd_flow_finalize(f), PD_ERR_CONFIG);
    assert_non_null(strstr(pd_last_error(), "duplicate table"));
    pd_flow_free(f);
}

static void test_raw_sql_outputs(void **state)
{
    (void)state;
    pd_flow *f = pd_flow_new("f");
    pd_stage *s1 = pd_flow_add_stage(f, "s1");
    pd_stage *s2 = pd_flow_add_stage(f, "s2");
    pd_task *r =
        pd_stage_add_raw_sql(s1, "script",
                             "CREATE TABLE {{ this_stage }}.t1 AS SELECT 1 AS x;\n"
                             "create table if not exists {{this_stage}}.\"T2\" (y int);\n"
                             "INSERT INTO {{ this_stage }}.t2 SELECT x FROM {{ this_stage }}.t1");
    assert_non_null(r);
    assert_int_equal(r->declared_outputs.n, 2);
    pd_task *c = pd_stage_add_sql(s2, "c", "SELECT * FROM {{ t2 }}");
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    assert_ptr_equal(pd_task_input(c, 0), r);
    pd_flow_free(f);
}

static void test_position_hash(void **state)
{
    (void)state;
    char h1[PD_HASH_LEN + 1], h2[PD_HASH_LEN + 1], h3[PD_HASH_LEN + 1];
    for (int round = 0; round < 3; round++) {
        pd_flow *f = pd_flow_new("f");
        pd_stage *s1 = pd_flow_add_stage(f, round == 2 ? "other" : "s1");
        pd_stage_add_sql(s1, "a", round == 1 ? "SELECT 2" : "SELECT 1");
        pd_task *b = pd_stage_add_sql(s1, "b", "SELECT * FROM {{ a }}");
        assert_int_equal(pd_flow_finalize(f), PD_OK);
        memcpy(round == 0 ? h1 : round == 1 ? h2 : h3, b->pos_hash, sizeof h1);
        pd_flow_free(f);
    }
    assert_string_equal(h1, h2); /* SQL text is not part of the position */
    assert_string_not_equal(h1, h3);
    assert_int_equal(strlen(h1), PD_HASH_LEN);
}

static void test_canonical_sql(void **state)
{
    (void)state;
    char *c = pdi_canonical_sql("SELECT \"X\" FROM \"s__tmp\".\"T\" JOIN [s__odd].t2 "
                                "JOIN s__even.t3 WHERE a__tmpx = 1");
    /* only the transaction-schema suffixes of qualifiers are normalised */
    assert_string_equal(c, "SELECT \"X\" FROM \"s\".\"T\" JOIN [s].t2 JOIN s.t3 WHERE a__tmpx = 1");
    free(c);
    /* literals, quoted identifiers and comments keep their text; whitespace
     * outside them collapses */
    c = pdi_canonical_sql("  SELECT  'de   __tmp.'  AS\n\t\"Co  l\" -- x  'y\n FROM s__tmp.t ; ");
    assert_string_equal(c, "SELECT 'de   __tmp.' AS \"Co  l\" -- x  'y FROM s.t ;");
    free(c);
    char *lo = pdi_canonical_sql("SELECT 'de' AS country");
    char *up = pdi_canonical_sql("SELECT 'DE' AS country");
    assert_string_not_equal(lo, up);
    free(lo);
    free(up);
    char a[PD_HASH_LEN + 1], b[PD_HASH_LEN + 1];
    pdi_task_hash("t", NULL, "ih", "", a);
    pdi_task_hash("t", "None", "ih", "", b);
    assert_string_equal(a, b);
    pdi_task_hash("t", "1", "ih", "", b);
    assert_string_not_equal(a, b);
}

static void test_mode_names(void **state)
{
    (void)state;
    pd_cache_mode m;
    assert_int_equal(pd_cache_mode_from_name("FORCE_CACHE_INVALID", &m), PD_OK);
    assert_int_equal(m, PD_CACHE_FORCE_CACHE_INVALID);
    assert_string_equal(pd_cache_mode_name(PD_CACHE_IGNORE_FRESH_INPUT), "ignore_fresh_input");
    assert_int_equal(pd_cache_mode_from_name("bogus", &m), PD_ERR_INVALID);
    assert_string_equal(pd_task_state_name(PD_STATE_CACHE_VALID), "cache_valid");
    assert_string_equal(pd_task_state_name(PD_STATE_NOT_RUN), "not_run");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stage_names),           cmocka_unit_test(test_refs_and_order),
        cmocka_unit_test(test_ambiguous_and_unknown), cmocka_unit_test(test_cycles_and_duplicates),
        cmocka_unit_test(test_raw_sql_outputs),       cmocka_unit_test(test_position_hash),
        cmocka_unit_test(test_canonical_sql),         cmocka_unit_test(test_mode_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
