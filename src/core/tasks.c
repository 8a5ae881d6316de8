/*
 * core/tasks.c - running one task once its cache decision is taken: the
 * task kinds sql, raw_sql (with its own cache lookup by script hash), view,
 * external and load (computed C tasks run in ctx.c), and the metadata row
 * of the finished task.
 */
#include "core_int.h"
#include "store/dialect/dialect.h" /* the SQL text scanners pdi_sql_skip_comment/_quoted */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- statements of SQL text (literals, quoted names and comments skipped) */

/* Past whitespace and comments. */
static const char *skip_space(const char *p)
{
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        const char *c = pdi_sql_skip_comment(p);
        if (!c)
            return p;
        p = c;
    }
}

/* p in a statement: the position after its terminating ';', or NULL when
 * the text ends first. A ';' inside a literal, quoted identifier or comment
 * does not end a statement. */
static const char *statement_end(const char *p)
{
    while (*p) {
        const char *skip = *p == '\'' || *p == '"' || *p == '`' || *p == '['
                               ? pdi_sql_skip_quoted(p)
                               : pdi_sql_skip_comment(p);
        if (skip) {
            p = skip;
        } else if (*p++ == ';') {
            return p;
        }
    }
    return NULL;
}

/* The start of the statement after the one at p (empty statements and
 * trailing ';' skipped), or NULL when there is none. */
static const char *next_statement(const char *p)
{
    const char *e = statement_end(p);
    while (e) {
        e = skip_space(e);
        if (*e != ';')
            return *e ? e : NULL;
        e++;
    }
    return NULL;
}

/* A sql: body is one statement: anything after it would be dropped by the
 * store (it prepares one statement), so more is an error. */
static int check_one_statement(const pd_task *t)
{
    const char *second = next_statement(skip_space(t->sql));
    if (!second)
        return PD_OK;
    size_t n = 0;
    while (second[n] && second[n] != '\n' && n < 60)
        n++;
    return pd_set_error(PD_ERR_INVALID,
                        "the sql: body holds more than one statement (the second begins "
                        "'%.*s'); a sql task is one SELECT - use raw_sql for scripts",
                        (int)n, second);
}

/* The word at p (ASCII letters and _) equals kw, case-insensitively; *end
 * is set past it. */
static bool word_is(const char *p, const char *kw, const char **end)
{
    size_t n = 0;
    while (isalpha((unsigned char)p[n]) || p[n] == '_')
        n++;
    if (n != strlen(kw) || strncasecmp(p, kw, n) != 0)
        return false;
    *end = p + n;
    return true;
}

/* A raw SQL script creates its tables and views in {{ this_stage }}; one
 * created anywhere else is not part of the stage (it is not tracked,
 * copied or committed), so say so, naming it. Temporary ones are helpers. */
static void warn_created_outside(const pd_task *t)
{
    for (const char *p = skip_space(t->sql); p && *p; p = next_statement(p)) {
        const char *q = p, *e;
        if (!word_is(q, "create", &e))
            continue;
        q = skip_space(e);
        bool temp = false, object = false;
        for (;;) {
            if (word_is(q, "temp", &e) || word_is(q, "temporary", &e))
                temp = true;
            else if (word_is(q, "table", &e) || word_is(q, "view", &e))
                object = true;
            else if (!(word_is(q, "or", &e) || word_is(q, "replace", &e) ||
                       word_is(q, "unlogged", &e) || word_is(q, "materialized", &e) ||
                       word_is(q, "global", &e) || word_is(q, "local", &e)))
                break;
            q = skip_space(e);
            if (object)
                break;
        }
        if (!object || temp)
            continue;
        if (word_is(q, "if", &e)) {
            q = skip_space(e);
            if (word_is(q, "not", &e))
                q = skip_space(e);
            if (word_is(q, "exists", &e))
                q = skip_space(e);
        }
        if (strncmp(q, "{{", 2) == 0) {
            const char *c = strstr(q, "}}");
            char *inner = c ? pdi_strndup(q + 2, (size_t)(c - q - 2)) : NULL;
            char *n = inner ? pdi_normalize_name(inner) : NULL;
            bool here = n && strcmp(n, "this_stage") == 0;
            free(inner);
            free(n);
            if (here)
                continue;
        }
        size_t n = 0;
        while (q[n] && !isspace((unsigned char)q[n]) && q[n] != '(' && q[n] != ';' && n < 120)
            n++;
        const char *origin = pdi_task_origin(t);
        pdi_log(PD_LOG_WARN,
                "task %s.%s%s%s%s: raw SQL creates %.*s outside {{ this_stage }}: it is not part "
                "of stage %s (not tracked, cached or committed); write {{ this_stage }}.name",
                t->stage->name, t->name, *origin ? " (" : "", origin, *origin ? ")" : "", (int)n, q,
                t->stage->name);
    }
}

static int run_sql_task(pdi_run *r, pd_task *t)
{
    char *sql = NULL;
    int rc = check_one_statement(t);
    if (rc)
        return rc;
    rc = pdi_render_sql(r, t, t->sql, &sql);
    if (rc)
        return rc;
    pd_table tbl;
    memset(&tbl, 0, sizeof tbl);
    tbl.name = t->table;
    tbl.kind = PD_OBJ_SQL;
    tbl.sql = sql;
    rc = pdi_store_table(r, t, &tbl);
    free(sql);
    return rc;
}

static int strv_from_json(const char *json, pd_strv *out)
{
    pd_jval *v = json ? pdi_json_parse(json, strlen(json)) : NULL;
    if (!v)
        return json ? PD_ERR_CORRUPT : PD_OK;
    int rc = PD_OK;
    for (size_t i = 0; v->type == PD_J_ARR && i < v->n && !rc; i++)
        if (v->items[i]->type == PD_J_STR)
            rc = pdi_strv_push(out, v->items[i]->str);
    pdi_jval_free(v);
    return rc;
}

static char *strv_to_json(const pd_strv *v)
{
    pd_json j;
    pdi_json_init(&j);
    pdi_json_arr_begin(&j);
    for (size_t i = 0; i < v->n; i++)
        pdi_json_str(&j, v->items[i]);
    pdi_json_arr_end(&j);
    return pdi_json_finish(&j);
}

static int run_raw_sql(pdi_run *r, pd_task *t)
{
    pdi_trun *tr = &r->t[t->id];
    pd_stage *st = t->stage;
    pdi_srun *sr = &r->s[st->id];
    char *script = NULL;
    int rc = pdi_render_sql(r, t, t->sql, &script);
    if (rc)
        return rc;
    char *canon = pdi_canonical_sql(script);
    if (!canon) {
        free(script);
        return PD_ERR_NOMEM;
    }
    char qh[PD_HASH_LEN + 1], ck[PD_HASH_LEN + 1];
    const char *qp[] = {"RAW-SQL", canon};
    pdi_stable_hash(qp, 2, qh);
    free(canon);
    const char *kp[] = {"LAZY_TABLE", tr->task_hash, qh};
    pdi_stable_hash(kp, 3, ck);
    pd_strv prev = PD_STRV_INIT, after = PD_STRV_INIT, created = PD_STRV_INIT;
    bool hit = false;
    if (!pdi_is_forced(r, t) && r->caching_ok) {
        pd_raw_sql_meta m;
        memset(&m, 0, sizeof m);
        int count = 0;
        rc = pdi_meta_find_raw_sql(r->store, st->name, qh, tr->task_hash, &m, &count);
        if (!rc && count == 1) {
            pd_strv objs = PD_STRV_INIT;
            rc = strv_from_json(m.new_objects, &objs);
            bool all = !rc;
            for (size_t i = 0; all && i < objs.n; i++) {
                bool ex = false;
                if (pdi_base_has(r, st, objs.items[i], &ex) || !ex) {
                    pd_clear_error();
                    all = false;
                }
            }
            if (all) {
                hit = true;
                strv_from_json(m.prev_objects, &prev);
                for (size_t i = 0; i < objs.n && !rc; i++) {
                    const char *where = NULL;
                    rc = pdi_place_cached_table(r, st, objs.items[i], objs.items[i], &where);
                    if (!rc)
                        rc = pdi_add_out(tr, objs.items[i], PDI_OUT_TABLE, ck, qh, where);
                }
                for (size_t i = 0; i < objs.n; i++)
                    pdi_strv_push(&created, objs.items[i]);
            }
            pdi_strv_free(&objs);
        }
        pdi_raw_sql_meta_clear(&m);
    }
    if (!rc && !hit) {
        tr->cache_valid = false;
        if (r->mode == PD_CACHE_ASSERT_NO_FRESH_INPUT) {
            rc = pd_set_error(PD_ERR_CACHE, "ASSERT_NO_FRESH_INPUT: raw SQL would be executed");
        } else if (r->dry) {
            tr->would_run = true;
            if (!tr->why)
                tr->why = pdi_dry_reason(r, t, NULL, NULL);
            if (!tr->why)
                tr->why = pdi_strdup("script changed or no cached copy");
            for (size_t i = 0; i < t->declared_outputs.n && !rc; i++)
                rc = pdi_add_out(tr, t->declared_outputs.items[i], PDI_OUT_TABLE, ck, qh, st->name);
        } else if (!(rc = pdi_stage_mark_changed(r, st))) {
            const char *txs = pdi_tx_schema(r, st);
            warn_created_outside(t);
            pthread_rwlock_wrlock(&sr->rw);
            rc = pdi_store_list_objects(r->store, txs, &prev);
            if (!rc)
                rc = pdi_store_execute_script(r->store, script);
            if (!rc)
                rc = pdi_store_list_objects(r->store, txs, &after);
            pthread_rwlock_unlock(&sr->rw);
            for (size_t i = 0; !rc && i < after.n; i++)
                if (!pdi_strv_contains(&prev, after.items[i])) {
                    rc = pdi_strv_push(&created, after.items[i]);
                    if (!rc)
                        rc = pdi_add_out(tr, after.items[i], PDI_OUT_TABLE, ck, qh, txs);
                }
            if (rc)
                pd_error_prefix("running raw SQL script");
        }
    }
    if (!rc && !r->dry) {
        pdi_strv_sort(&created);
        char *pj = strv_to_json(&prev), *nj = strv_to_json(&created);
        pd_raw_sql_meta m = {pj, nj, (char *)st->name, qh, tr->task_hash, true};
        rc = (pj && nj) ? pdi_meta_insert_raw_sql(r->store, &m) : PD_ERR_NOMEM;
        free(pj);
        free(nj);
    }
    pdi_strv_free(&prev);
    pdi_strv_free(&after);
    pdi_strv_free(&created);
    free(script);
    return rc;
}

static int run_view_or_external(pdi_run *r, pd_task *t)
{
    pd_table tbl;
    memset(&tbl, 0, sizeof tbl);
    tbl.name = t->table;
    int rc = PD_OK;
    pd_strv srcs = PD_STRV_INIT;
    pd_view_shape shape;
    memset(&shape, 0, sizeof shape);
    if (t->kind == PD_TASK_EXTERNAL) {
        tbl.kind = PD_OBJ_EXTERNAL;
        tbl.ext_schema = t->ext_schema;
        tbl.ext_name = t->ext_table;
    } else {
        tbl.kind = PD_OBJ_VIEW;
        for (size_t i = 0; i < t->view_sources.n && !rc; i++) {
            pd_task *p = NULL;
            pdi_out *o = NULL;
            const char *val = NULL;
            rc = pdi_ref_output(r, t, t->view_sources.items[i], &p, &o, &val);
            if (!rc && (!o || o->kind != PDI_OUT_TABLE))
                rc = pd_set_error(PD_ERR_INVALID, "view source %s is not a table",
                                  t->view_sources.items[i]);
            if (!rc)
                rc = pdi_strv_push_owned(
                    &srcs, pdi_asprintf("%s.%s", pdi_out_schema(r, t, p, o), pdi_out_table(o)));
        }
        tbl.view_sources = (const char *const *)srcs.items;
        tbl.n_view_sources = srcs.n;
        if (!rc && t->view_opts) {
            rc = pdi_view_shape_parse(t->view_opts, t->name, &shape, NULL);
            tbl.view_shape = &shape;
            tbl.view_shape_json = t->view_opts;
        }
    }
    if (!rc)
        rc = pdi_store_table(r, t, &tbl);
    pdi_view_shape_free(&shape);
    pdi_strv_free(&srcs);
    return rc;
}

typedef struct load_sink {
    pdi_run *r;
    pd_task *t;
} load_sink;

static int load_to_store(void *user, const char *table, struct ArrowArrayStream *in)
{
    load_sink *ls = user;
    struct ArrowArrayStream st;
    pd_arrow_stream_move(in, &st);
    pd_table tbl;
    memset(&tbl, 0, sizeof tbl);
    tbl.name = table;
    tbl.kind = PD_OBJ_ARROW;
    tbl.stream = &st;
    int rc = pdi_store_table(ls->r, ls->t, &tbl);
    if (st.release)
        st.release(&st);
    return rc;
}

static int run_load(pdi_run *r, pd_task *t)
{
    char *path = pdi_resolve_path(r, t->csv_path);
    if (!path)
        return PD_ERR_NOMEM;
    load_sink ls = {r, t};
    int rc = pdi_load_run(path, t->load_opts, t->table, load_to_store, &ls);
    free(path);
    return rc;
}

/* One task: its cache decision (cache.c), then, unless that settled it, its
 * body by kind, and its metadata row. */
int pdi_exec_task(pdi_run *r, pd_task *t)
{
    pdi_trun *tr = &r->t[t->id];
    bool settled = false;
    int rc = pdi_decide_task(r, t, &settled);
    if (rc || settled)
        return rc;
    switch (t->kind) {
    case PD_TASK_SQL: rc = run_sql_task(r, t); break;
    case PD_TASK_RAW_SQL: rc = run_raw_sql(r, t); break;
    case PD_TASK_VIEW:
    case PD_TASK_EXTERNAL: rc = run_view_or_external(r, t); break;
    case PD_TASK_LOAD: rc = run_load(r, t); break;
    case PD_TASK_C:
        if (r->dry) {
            tr->would_run = true;
            if (!tr->why)
                tr->why = pdi_strdup("lazy computed task: always runs");
            char rnd[PD_HASH_LEN + 1];
            pdi_random_id(rnd);
            rc = pdi_dry_outputs(tr, t, rnd);
        } else {
            rc = pdi_run_c_task(r, t);
        }
        break;
    }
    if (rc)
        return pdi_task_fail(tr, t, NULL);
    pd_task_state state = tr->cache_valid ? PD_STATE_CACHE_VALID : PD_STATE_COMPLETED;
    if ((rc = pdi_insert_task_row(r, t, state, NULL)))
        return pdi_task_fail(tr, t, "metadata: ");
    tr->state = state;
    return PD_OK;
}
