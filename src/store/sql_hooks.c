/*
 * store/sql_hooks.c - the SQL store's default table hooks: SQL queries
 * (CREATE TABLE AS), in-memory Arrow tables (typed CREATE TABLE + one
 * prepared bulk INSERT in one transaction), external tables (existence
 * check), views (a real view; on SQLite a table copy, since SQLite views
 * cannot reference other attached databases), and retrieval as Arrow or
 * as a quoted SQL name.
 */
#include "store/sql_int.h"
#include <stdlib.h>
#include <string.h>

#define PDI_ARROW_BATCH_ROWS 65536

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
    char *sel = pd_str_trim(t->sql);
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
    char *n = pd_store_sql_name(s, schema, name);
    if (!n)
        return PD_ERR_NOMEM;
    *(char **)out = n;
    return PD_OK;
}

static int sql_lazy_str(pd_store *s, const pd_table *t, char **out)
{
    (void)s;
    *out = pdi_sql_canonical(t->sql ? t->sql : "");
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
    char *q = ph ? pdi_sql_qualified(s->d, ph, t->name) : NULL;
    pd_buf ddl = {0};
    int rc = q ? PD_OK : PD_ERR_NOMEM;
    if (rc == PD_OK)
        pd_buf_printf(&ddl, "%s%s (", pdi_sql_create_table_kw(s->d, s->sc->unlogged), q);
    for (int64_t i = 0; rc == PD_OK && i < sch.n_children; i++) {
        const struct ArrowSchema *c = sch.children[i];
        char buf[64];
        const char *ty = s->is_sqlite ? pdi_sqlite_decl_for_arrow(c->format, buf, sizeof buf)
                                      : pdi_sql_type_for_arrow(s->d, c->format);
        if (!ty) {
            rc = pd_set_error(PD_ERR_UNSUPPORTED,
                              "column '%s' of table '%s' has Arrow type '%s', which %s cannot "
                              "store",
                              c->name ? c->name : "?", t->name, c->format, s->d->name);
            break;
        }
        char *cq = pdi_sql_quote(s->d, c->name ? c->name : "");
        pd_buf_printf(&ddl, "%s%s %s", i ? ", " : "", cq ? cq : "", ty);
        free(cq);
    }
    pd_buf_putc(&ddl, ')');
    char *ddl_s = pd_buf_detach(&ddl);
    if (rc == PD_OK && !ddl_s)
        rc = PD_ERR_NOMEM;
    pdi_conn *c = NULL;
    if (rc == PD_OK)
        rc = pdi_pool_get(s, &c);
    if (rc == PD_OK) {
        if (!c->ops->insert_arrow)
            rc = pd_set_error(PD_ERR_UNSUPPORTED, "connector %s cannot load Arrow tables",
                              c->ops->name);
        if (rc == PD_OK)
            rc = c->ops->exec(c, ddl_s);
        if (rc == PD_OK && s->is_sqlite)
            rc = pdi_sqlite_conn_attach(c, ph, false);
        if (rc == PD_OK)
            rc = c->ops->begin(c);
        bool began = rc == PD_OK;
        while (rc == PD_OK) {
            struct ArrowArray a = {0};
            if (st->get_next(st, &a) != 0) {
                rc = stream_err(st, "batch", t->name);
                break;
            }
            if (!a.release)
                break;
            if (a.length > 0)
                rc = c->ops->insert_arrow(c, q, &sch, &a);
            a.release(&a);
        }
        if (began) {
            if (rc == PD_OK)
                rc = c->ops->commit(c);
            else
                c->ops->rollback(c);
        }
        pdi_pool_put(s, c);
    }
    if (sch.release)
        sch.release(&sch);
    st->release(st);
    free(ddl_s);
    free(q);
    free(ph);
    return rc;
}

static int arrow_retrieve(
    pd_store *s, const char *schema, const char *name, pd_as_kind as, int64_t limit, void *out)
{
    (void)as;
    char *q = pd_store_sql_name(s, schema, name);
    char *sel = q ? pd_asprintf("SELECT * FROM %s", q) : NULL;
    char *sql = sel && limit >= 0 ? pdi_sql_limit(s->d, sel, limit) : pd_strdup(sel);
    free(q);
    free(sel);
    if (!sql)
        return PD_ERR_NOMEM;
    pdi_conn *c;
    int rc = pdi_pool_get(s, &c);
    if (rc == PD_OK) {
        if (!c->ops->query_arrow)
            rc = pd_set_error(PD_ERR_UNSUPPORTED, "connector %s cannot read Arrow tables",
                              c->ops->name);
        else
            rc = c->ops->query_arrow(c, sql, PDI_ARROW_BATCH_ROWS, out);
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
    char *lg = pd_strndup(src, (size_t)(dot - src));
    *ph = lg ? pdi_phys(s, lg) : NULL;
    *name = pd_strdup(dot + 1);
    free(lg);
    return *ph && *name ? PD_OK : PD_ERR_NOMEM;
}

static int view_materialize(pd_store *s, const pd_table *t, const char *schema)
{
    if (t->n_view_sources == 0)
        return pd_set_error(PD_ERR_INVALID, "view '%s' has no source tables", t->name);
    char *ph = pdi_phys(s, schema);
    if (!ph)
        return PD_ERR_NOMEM;
    pd_buf sel = {0};
    int rc = PD_OK;
    char *first_ph = NULL, *first_name = NULL;
    for (size_t i = 0; i < t->n_view_sources && rc == PD_OK; i++) {
        char *sph = NULL, *sname = NULL;
        rc = split_src(s, t->view_sources[i], &sph, &sname);
        if (rc == PD_OK) {
            char *q = pdi_sql_qualified(s->d, sph, sname);
            pd_buf_printf(&sel, "%sSELECT * FROM %s", i ? " UNION ALL " : "", q ? q : "");
            free(q);
        }
        if (i == 0) {
            first_ph = sph;
            first_name = sname;
        } else {
            free(sph);
            free(sname);
        }
    }
    char *sel_s = pd_buf_detach(&sel);
    if (rc == PD_OK && !sel_s)
        rc = PD_ERR_NOMEM;
    if (rc == PD_OK) {
        if (s->is_sqlite) /* a table copy: SQLite views cannot span files */
            rc = pdi_create_like_and_fill(s, first_ph, first_name, ph, t->name, sel_s);
        else
            rc = pdi_exec_free(s, pdi_sql_create_view(s->d, ph, t->name, sel_s));
    }
    free(sel_s);
    free(first_ph);
    free(first_name);
    free(ph);
    return rc;
}

static int view_lazy_str(pd_store *s, const pd_table *t, char **out)
{
    (void)s;
    pd_buf b = {0};
    pd_buf_puts(&b, "view:");
    for (size_t i = 0; i < t->n_view_sources; i++)
        pd_buf_printf(&b, "%s%s", i ? "," : "", t->view_sources[i]);
    char *r = pd_buf_detach(&b);
    *out = r ? pdi_sql_canonical(r) : NULL;
    free(r);
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
