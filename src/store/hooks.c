/*
 * store/hooks.c - the SQL store's default table hooks: SQL queries
 * (CREATE TABLE AS), in-memory Arrow tables (CREATE TABLE from the
 * dialect's type map + the backend's bulk load), external tables
 * (existence check), views (a real view where the backend has
 * PDI_CAP_READ_VIEWS; otherwise - SQLite, whose views cannot reference
 * other database files - a table copy), and retrieval as Arrow or as a
 * quoted SQL name.
 */
#include "store/store_int.h"
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ SQL */

static pd_can sql_can_mat(pd_obj_kind k)
{
    return k == PD_OBJ_SQL ? PD_CAN_YES : PD_CAN_NO;
}

static pd_can sql_can_ret(pd_as_kind as)
{
    return as == PD_AS_SQL_NAME ? PD_CAN_YES : PD_CAN_NO;
}

static int sql_materialize(pd_store *s, const pd_table *t, const char *schema)
{
    if (!t->sql)
        return pd_set_error(PD_ERR_INVALID, "table '%s' has no SQL", t->name);
    char *ph = pdi_phys(s, schema);
    if (!ph)
        return PD_ERR_NOMEM;
    /* trailing semicolons would end the CREATE TABLE statement early */
    char *sel = pdi_str_trim(t->sql);
    if (sel) {
        size_t n = strlen(sel);
        while (n && (sel[n - 1] == ';' || sel[n - 1] == ' ' || sel[n - 1] == '\n'))
            sel[--n] = 0;
    }
    int rc = sel ? pdi_exec_free(s, pdi_sql_ctas(s->d, ph, t->name, sel, s->sc->unlogged))
                 : PD_ERR_NOMEM;
    free(sel);
    free(ph);
    return rc;
}

static int sql_retrieve(
    pd_store *s, const char *schema, const char *name, pd_as_kind as, int64_t limit, void *out)
{
    (void)as;
    (void)limit;
    char *n = pdi_store_sql_name(s, schema, name);
    if (!n)
        return PD_ERR_NOMEM;
    *(char **)out = n;
    return PD_OK;
}

/* The query text itself: the core canonicalises it (one canonicaliser,
 * core/hash.c). */
static int sql_lazy_str(pd_store *s, const pd_table *t, char **out)
{
    (void)s;
    *out = pdi_strdup(t->sql ? t->sql : "");
    return *out ? PD_OK : PD_ERR_NOMEM;
}

static const pd_table_hook g_sql_hook = {
    .name = "sql",
    .can_materialize = sql_can_mat,
    .can_retrieve = sql_can_ret,
    .materialize = sql_materialize,
    .retrieve = sql_retrieve,
    .lazy_query_str = sql_lazy_str,
};

/* ---------------------------------------------------------------- Arrow */

static pd_can arrow_can_mat(pd_obj_kind k)
{
    return k == PD_OBJ_ARROW ? PD_CAN_YES : PD_CAN_NO;
}

static pd_can arrow_can_ret(pd_as_kind as)
{
    return as == PD_AS_ARROW ? PD_CAN_YES : PD_CAN_NO;
}

static int stream_err(struct ArrowArrayStream *st, const char *what, const char *table)
{
    const char *m = st->get_last_error ? st->get_last_error(st) : NULL;
    return pd_set_error(PD_ERR_INVALID, "reading Arrow %s of table '%s': %s", what, table,
                        m ? m : "stream error");
}

static int arrow_materialize(pd_store *s, const pd_table *t, const char *schema)
{
    struct ArrowArrayStream *st = t->stream;
    if (!st || !st->release)
        return pd_set_error(PD_ERR_INVALID, "table '%s' has no Arrow stream", t->name);
    struct ArrowSchema sch = {0};
    if (st->get_schema(st, &sch) != 0)
        return stream_err(st, "schema", t->name);
    char *ph = pdi_phys(s, schema);
    char *ddl = ph ? pdi_sql_create_table_arrow(s->d, ph, t->name, &sch, s->sc->unlogged) : NULL;
    int rc = ddl ? PD_OK : pd_last_error_code() ? pd_last_error_code() : PD_ERR_NOMEM;
    pdi_conn *c = NULL;
    if (rc == PD_OK)
        rc = pdi_pool_get(s, &c);
    if (rc == PD_OK) {
        rc = s->be->exec(c, ddl);
        if (rc == PD_OK)
            rc = s->be->load_arrow(c, ph, t->name, st, NULL);
        pdi_pool_put(s, c);
    }
    if (sch.release)
        sch.release(&sch);
    st->release(st);
    free(ddl);
    free(ph);
    return rc;
}

static int arrow_retrieve(
    pd_store *s, const char *schema, const char *name, pd_as_kind as, int64_t limit, void *out)
{
    (void)as;
    char *ph = pdi_phys(s, schema);
    char *sel = ph ? pdi_sql_select_all(s->d, ph, name) : NULL;
    char *sql = sel && limit >= 0 ? pdi_sql_limit(s->d, sel, limit) : pdi_strdup(sel);
    free(ph);
    free(sel);
    if (!sql)
        return PD_ERR_NOMEM;
    pdi_conn *c;
    int rc = pdi_pool_get(s, &c);
    if (rc == PD_OK) {
        rc = s->be->query_arrow(c, sql, out);
        pdi_pool_put(s, c);
    }
    free(sql);
    if (rc)
        pd_error_prefix("reading table '%s.%s'", schema, name);
    return rc;
}

static const pd_table_hook g_arrow_hook = {
    .name = "arrow",
    .can_materialize = arrow_can_mat,
    .can_retrieve = arrow_can_ret,
    .materialize = arrow_materialize,
    .retrieve = arrow_retrieve,
    .lazy_query_str = NULL,
};

/* ------------------------------------------------------------- external */

static pd_can ext_can_mat(pd_obj_kind k)
{
    return k == PD_OBJ_EXTERNAL ? PD_CAN_YES : PD_CAN_NO;
}

static pd_can no_ret(pd_as_kind as)
{
    (void)as;
    return PD_CAN_NO;
}

static int ext_materialize(pd_store *s, const pd_table *t, const char *schema)
{
    (void)schema;
    if (!t->ext_schema || !t->ext_name)
        return pd_set_error(PD_ERR_INVALID, "external table '%s' needs a schema and a name",
                            t->name);
    bool ex = false;
    int rc = pdi_table_exists_phys(s, t->ext_schema, t->ext_name, &ex);
    if (rc == PD_OK && !ex)
        rc = pd_set_error(PD_ERR_NOT_FOUND, "external table %s.%s does not exist in %s",
                          t->ext_schema, t->ext_name, s->desc);
    return rc;
}

static const pd_table_hook g_ext_hook = {
    .name = "external",
    .can_materialize = ext_can_mat,
    .can_retrieve = no_ret,
    .materialize = ext_materialize,
};

/* ----------------------------------------------------------------- view */

static pd_can view_can_mat(pd_obj_kind k)
{
    return k == PD_OBJ_VIEW ? PD_CAN_YES : PD_CAN_NO;
}

/* Split "schema.table" (logical) into physical schema + name. */
static int split_src(pd_store *s, const char *src, char **ph, char **name)
{
    *ph = *name = NULL;
    const char *dot = strchr(src, '.');
    if (!dot)
        return pd_set_error(PD_ERR_INVALID, "view source '%s' is not schema.table", src);
    char *lg = pdi_strndup(src, (size_t)(dot - src));
    *ph = lg ? pdi_phys(s, lg) : NULL;
    *name = pdi_strdup(dot + 1);
    free(lg);
    return *ph && *name ? PD_OK : PD_ERR_NOMEM;
}

/* The shape's select over a FROM item (dialect text). */
static char *shaped(pd_store *s, const pd_table *t, const char *from_item)
{
    const pd_view_shape *v = t->view_shape;
    size_t nc = v->n_cols, ns = v->n_sort;
    const char **names = pdi_calloc(nc ? nc : 1, sizeof *names);
    const char **srcs = pdi_calloc(nc ? nc : 1, sizeof *srcs);
    pdi_sql_sort *so = pdi_calloc(ns ? ns : 1, sizeof *so);
    char *q = NULL;
    if (names && srcs && so) {
        for (size_t i = 0; i < nc; i++) {
            names[i] = v->cols[i].name;
            srcs[i] = v->cols[i].source;
        }
        for (size_t i = 0; i < ns; i++)
            so[i] = (pdi_sql_sort){v->sort[i].column, v->sort[i].desc, v->sort[i].nulls_first};
        q = pdi_sql_shaped_select(s->d, from_item, names, srcs, nc, so, ns, v->limit);
    }
    free(names);
    free(srcs);
    free(so);
    return q;
}

/* SQLite (no cross-file views): the union is built as a table under a
 * helper name, the shape read from it as Arrow (declared types travel with
 * the columns) and written as the view's table, the helper dropped. */
static int shape_into_table(
    pd_store *s, const pd_table *t, const char *schema, const char *ph, const char *tmp)
{
    char *from = pdi_sql_qualified(s->d, ph, tmp);
    char *sel = from ? shaped(s, t, from) : NULL;
    free(from);
    if (!sel)
        return PD_ERR_NOMEM;
    pdi_conn *c = NULL;
    int rc = pdi_pool_get(s, &c);
    struct ArrowArrayStream st = {0};
    if (rc == PD_OK) {
        rc = s->be->query_arrow(c, sel, &st);
        pdi_pool_put(s, c);
    }
    free(sel);
    if (rc == PD_OK) {
        pd_table a;
        memset(&a, 0, sizeof a);
        a.name = t->name;
        a.kind = PD_OBJ_ARROW;
        a.stream = &st;
        a.task_name = t->task_name;
        rc = g_arrow_hook.materialize(s, &a, schema);
    }
    if (st.release)
        st.release(&st);
    return rc;
}

static int view_materialize(pd_store *s, const pd_table *t, const char *schema)
{
    if (t->n_view_sources == 0)
        return pd_set_error(PD_ERR_INVALID, "view '%s' has no source tables", t->name);
    char *ph = pdi_phys(s, schema);
    if (!ph)
        return PD_ERR_NOMEM;
    bool shape = pdi_view_shape_active(t->view_shape);
    bool as_view = (s->be->caps & PDI_CAP_READ_VIEWS) != 0;
    /* SQLite with a shape: the union goes to a helper table first */
    char *tmp = shape && !as_view ? pdi_asprintf("%s__pd_union", t->name) : NULL;
    const char *target = tmp ? tmp : t->name;
    pd_buf sel = {0};
    int rc = shape && !as_view && !tmp ? PD_ERR_NOMEM : PD_OK;
    char **src_ph = pdi_calloc(t->n_view_sources, sizeof *src_ph);
    char **src_name = pdi_calloc(t->n_view_sources, sizeof *src_name);
    if (!src_ph || !src_name)
        rc = PD_ERR_NOMEM;
    for (size_t i = 0; i < t->n_view_sources && rc == PD_OK; i++) {
        rc = split_src(s, t->view_sources[i], &src_ph[i], &src_name[i]);
        if (rc == PD_OK) {
            char *q = pdi_sql_select_all(s->d, src_ph[i], src_name[i]);
            pdi_buf_printf(&sel, "%s%s", i ? " UNION ALL " : "", q ? q : "");
            free(q);
        }
    }
    char *sel_s = pdi_buf_detach(&sel);
    if (rc == PD_OK && !sel_s)
        rc = PD_ERR_NOMEM;
    if (rc == PD_OK && shape && as_view) {
        /* one source: its name; several: the parenthesised union */
        char *from = t->n_view_sources == 1 ? pdi_sql_qualified(s->d, src_ph[0], src_name[0])
                                            : pdi_asprintf("(%s) AS pd_view_src", sel_s);
        char *q = from ? shaped(s, t, from) : NULL;
        free(from);
        free(sel_s);
        sel_s = q;
        if (!q)
            rc = PD_ERR_NOMEM;
    }
    if (rc == PD_OK && as_view) {
        rc = pdi_exec_free(s, pdi_sql_create_view(s->d, ph, t->name, sel_s));
    } else if (rc == PD_OK) {
        /* views cannot read other schemas here: a table with the first
         * source's columns and types, then the rows of the others */
        pdi_conn *c;
        bool made = false; /* the helper table is ours to drop */
        rc = pdi_pool_get(s, &c);
        if (rc == PD_OK) {
            rc = pdi_be_copy_table(s, c, src_ph[0], src_name[0], ph, target);
            made = rc == PD_OK;
            pdi_pool_put(s, c);
        }
        for (size_t i = 1; i < t->n_view_sources && rc == PD_OK; i++) {
            char *q = pdi_sql_select_all(s->d, src_ph[i], src_name[i]);
            rc = q ? pdi_exec_free(s, pdi_sql_insert_select(s->d, ph, target, q)) : PD_ERR_NOMEM;
            free(q);
        }
        if (rc == PD_OK && tmp)
            rc = shape_into_table(s, t, schema, ph, tmp);
        if (tmp && made) {
            int r2 = pdi_exec_free(s, pdi_sql_drop_table(s->d, ph, tmp));
            if (rc == PD_OK)
                rc = r2;
        }
    }
    for (size_t i = 0; i < t->n_view_sources && src_ph && src_name; i++) {
        free(src_ph[i]);
        free(src_name[i]);
    }
    free(src_ph);
    free(src_name);
    free(sel_s);
    free(tmp);
    free(ph);
    if (rc)
        pd_error_prefix("view %s", t->name);
    return rc;
}

static int view_lazy_str(pd_store *s, const pd_table *t, char **out)
{
    (void)s;
    pd_buf b = {0};
    pdi_buf_puts(&b, "view:");
    for (size_t i = 0; i < t->n_view_sources; i++)
        pdi_buf_printf(&b, "%s%s", i ? "," : "", t->view_sources[i]);
    if (t->view_shape_json) /* plain views keep their keys */
        pdi_buf_printf(&b, ";shape:%s", t->view_shape_json);
    *out = pdi_buf_detach(&b);
    return *out ? PD_OK : PD_ERR_NOMEM;
}

static const pd_table_hook g_view_hook = {
    .name = "view",
    .can_materialize = view_can_mat,
    .can_retrieve = no_ret,
    .materialize = view_materialize,
    .lazy_query_str = view_lazy_str,
};

const pd_table_hook *const *pdi_default_hooks(size_t *n)
{
    static const pd_table_hook *const hooks[] = {&g_sql_hook, &g_arrow_hook, &g_ext_hook,
                                                 &g_view_hook};
    *n = sizeof hooks / sizeof hooks[0];
    return hooks;
}
