/*
 * store/pg_commit.c - atomic stage commit on Postgres (transactional DDL).
 *
 * SCHEMA_SWAP: drop <stage>__swap, the three schema renames and the
 * metadata promotion; READ_VIEWS: drop the aliases in <stage>, re-create
 * them onto the new slot, upsert the `stages` row and promote the metadata.
 * Either runs inside ONE database transaction on one connection, so a kill
 * or an error at any point leaves the old version of tables and metadata.
 */
#include "store/pg_store.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static int run(pdi_conn *c, char *sql)
{
    if (!sql)
        return PD_ERR_NOMEM;
    int rc = c->ops->exec(c, sql);
    free(sql);
    return rc;
}

static int run_p(pdi_conn *c, char *sql, size_t n, const char *const *params)
{
    if (!sql)
        return PD_ERR_NOMEM;
    int rc = c->ops->query_params(c, sql, n, params, NULL, NULL);
    free(sql);
    return rc;
}

/* Delete this stage's committed metadata rows, mark this run's committed. */
static int promote(pdi_conn *c, const pdi_dialect *d, const char *meta, const char *stage)
{
    static const char *const tables[] = {"tasks", "lazy_tables", "raw_sql"};
    const char *p[1] = {stage};
    int rc = PD_OK;
    for (size_t i = 0; i < 3 && rc == PD_OK; i++) {
        char *q = pdi_sql_qualified(d, meta, tables[i]);
        if (!q)
            return PD_ERR_NOMEM;
        rc =
            run_p(c, pd_asprintf("DELETE FROM %s WHERE stage = ? AND NOT in_transaction_schema", q),
                  1, p);
        if (rc == PD_OK)
            rc = run_p(c,
                       pd_asprintf("UPDATE %s SET in_transaction_schema = FALSE WHERE stage = ? "
                                   "AND in_transaction_schema",
                                   q),
                       1, p);
        free(q);
    }
    return rc;
}

typedef struct rel_list {
    pd_strv names, kinds;
} rel_list;

static int rel_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    rel_list *l = user;
    if (ncols < 2 || !vals[0] || !vals[1])
        return PD_OK;
    if (pd_strv_push(&l->names, vals[0]) || pd_strv_push(&l->kinds, vals[1]))
        return PD_ERR_NOMEM;
    return PD_OK;
}

/* Drop every table and view in schema `phys` (the base schema of a
 * READ_VIEWS stage normally only holds views). */
static int drop_contents(pdi_conn *c, const pdi_dialect *d, const char *phys)
{
    rel_list l = {{0}, {0}};
    const char *p[1] = {phys};
    int rc = c->ops->query_params(c,
                                  "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace "
                                  "n ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relkind "
                                  "IN ('r', 'v', 'm', 'p', 'f') ORDER BY c.relname",
                                  1, p, rel_row, &l);
    for (size_t i = 0; i < l.names.n && rc == PD_OK; i++) {
        char *q = pdi_sql_qualified(d, phys, l.names.items[i]);
        const char *k = l.kinds.items[i];
        const char *what = k[0] == 'v'   ? "VIEW"
                           : k[0] == 'm' ? "MATERIALIZED VIEW"
                           : k[0] == 'f' ? "FOREIGN TABLE"
                                         : "TABLE";
        rc = q ? run(c, pd_asprintf("DROP %s IF EXISTS %s CASCADE", what, q)) : PD_ERR_NOMEM;
        free(q);
    }
    pd_strv_free(&l.names);
    pd_strv_free(&l.kinds);
    return rc;
}

static int strv_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    if (ncols < 1 || !vals[0])
        return PD_OK;
    return pd_strv_push(user, vals[0]);
}

static int repoint_views(pdi_conn *c, const pdi_dialect *d, const char *base, const char *slot)
{
    int rc = drop_contents(c, d, base);
    pd_strv objs = {0};
    if (rc == PD_OK) {
        char *q = pdi_sql_list_objects(d, slot);
        rc = q ? c->ops->query(c, q, strv_row, &objs) : PD_ERR_NOMEM;
        free(q);
    }
    for (size_t i = 0; i < objs.n && rc == PD_OK; i++) {
        char *src = pdi_sql_qualified(d, slot, objs.items[i]);
        char *sel = src ? pd_asprintf("SELECT * FROM %s", src) : NULL;
        rc = sel ? run(c, pdi_sql_create_view(d, base, objs.items[i], sel)) : PD_ERR_NOMEM;
        free(src);
        free(sel);
    }
    pd_strv_free(&objs);
    return rc;
}

int pdi_pg_commit_tx(pdi_conn *c, const pdi_pg_commit_args *a)
{
    const pdi_dialect *d = c->dialect;
    int rc = c->ops->begin(c);
    if (rc)
        return rc;
    if (a->changed && a->technique == PD_COMMIT_SCHEMA_SWAP) {
        rc = run(c, pdi_sql_drop_schema(d, a->swap_phys));
        if (rc == PD_OK)
            rc = run(c, pdi_sql_rename_schema(d, a->base_phys, a->swap_phys));
        if (rc == PD_OK)
            rc = run(c, pdi_sql_rename_schema(d, a->tx_phys, a->base_phys));
        if (rc == PD_OK)
            rc = run(c, pdi_sql_rename_schema(d, a->swap_phys, a->tx_phys));
    } else if (a->changed && a->technique == PD_COMMIT_READ_VIEWS) {
        rc = repoint_views(c, d, a->base_phys, a->tx_phys);
        if (rc == PD_OK && a->meta_phys) {
            char *st = pdi_sql_qualified(d, a->meta_phys, "stages");
            const char *p[2] = {a->stage, a->slot};
            rc = run_p(c, st ? pd_asprintf("DELETE FROM %s WHERE stage = ?", st) : NULL, 1, p);
            if (rc == PD_OK)
                rc = run_p(c,
                           st ? pd_asprintf("INSERT INTO %s (stage, cur_transaction_name) VALUES "
                                            "(?, ?)",
                                            st)
                              : NULL,
                           2, p);
            free(st);
        }
    }
    if (rc == PD_OK && a->meta_phys)
        rc = promote(c, d, a->meta_phys, a->stage);
    if (rc == PD_OK && a->crash_point)
        a->crash_point("pg_commit_before_commit");
    if (rc == PD_OK)
        rc = c->ops->commit(c);
    if (rc) {
        char *keep = pd_strdup(pd_last_error());
        c->ops->rollback(c);
        if (keep) {
            pd_set_error(rc, "%s (rolled back: stage '%s' and its metadata unchanged)", keep,
                         a->stage);
            free(keep);
        }
    }
    return rc;
}
