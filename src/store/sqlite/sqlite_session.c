/*
 * store/sqlite/sqlite_session.c - attached schema files, catalog, copy and
 * the file-rename stage commit of a SQLite session, over the steps its
 * backend supplies.
 */
#include "store/sqlite/sqlite_session.h"
#include "store/sqlite/sqlite_files.h"
#include "util/util.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const pdi_dialect *const D = &pdi_dialect_sqlite;

static pdi_sqlite_session *S(pdi_conn *c)
{
    return &((pdi_sqlite_conn *)c)->s;
}

void pdi_sqlite_session_init(pdi_sqlite_conn *c,
                             const pdi_sqlite_ops *ops,
                             const char *dir,
                             int max_att)
{
    pdi_sqlite_session *s = &c->s;
    memset(s, 0, sizeof *s);
    s->ops = ops;
    s->conn = &c->base;
    s->dir = dir;
    s->max_att = max_att > PDI_SQLITE_MAX_ATT ? PDI_SQLITE_MAX_ATT : max_att;
}

void pdi_sqlite_session_clear(pdi_sqlite_conn *c)
{
    pdi_sqlite_session *s = &c->s;
    for (int i = 0; i < s->natt; i++)
        free(s->att[i].name);
    s->natt = 0;
}

/* ------------------------------------------------------------- attaching */

static int att_find(pdi_sqlite_session *s, const char *name)
{
    for (int i = 0; i < s->natt; i++)
        if (strcasecmp(s->att[i].name, name) == 0)
            return i;
    return -1;
}

static int detach_idx(pdi_sqlite_session *s, int i)
{
    char *sql = pdi_sql_drop_schema(D, s->att[i].name);
    if (!sql)
        return PD_ERR_NOMEM;
    int rc = s->ops->detach(s->conn, sql, s->att[i].name);
    free(sql);
    if (rc)
        return rc;
    free(s->att[i].name);
    s->att[i] = s->att[--s->natt];
    return PD_OK;
}

/* The least recently used attached name not in keep[0..nkeep); -1: none. */
static int lru_victim(pdi_sqlite_session *s, const char *const *keep, size_t nkeep)
{
    int victim = -1;
    for (int k = 0; k < s->natt; k++) {
        bool kept = false;
        for (size_t j = 0; j < nkeep; j++)
            kept |= strcasecmp(keep[j], s->att[k].name) == 0;
        if (!kept && (victim < 0 || s->att[k].last_use < s->att[victim].last_use))
            victim = k;
    }
    return victim;
}

static int attach(
    pdi_sqlite_session *s, const char *schema, bool create, const char *const *keep, size_t nkeep)
{
    int i = att_find(s, schema);
    if (i >= 0) {
        s->att[i].last_use = ++s->tick;
        return PD_OK;
    }
    if (strchr(schema, '"') || strchr(schema, '/'))
        return pd_set_error(PD_ERR_INVALID, "%s: invalid schema name '%s'", s->ops->who, schema);
    char *file = pdi_sqlite_schema_file(s->dir, schema);
    if (!file)
        return PD_ERR_NOMEM;
    if (!create && !pdi_path_exists(file)) {
        free(file);
        return PD_ERR_NOT_FOUND;
    }
    int rc = PD_OK;
    while (rc == PD_OK && s->natt >= s->max_att) {
        int victim = lru_victim(s, keep, nkeep);
        if (victim < 0)
            rc = pd_set_error(PD_ERR_UNSUPPORTED,
                              "%s: one statement references more than %d schemas", s->ops->who,
                              s->max_att);
        else
            rc = detach_idx(s, victim);
    }
    if (rc == PD_OK)
        rc = s->ops->attach(s->conn, pdi_sql_sqlite_attach(), file, schema);
    free(file);
    if (rc)
        return rc;
    s->att[s->natt].name = pdi_strdup(schema);
    if (!s->att[s->natt].name)
        return PD_ERR_NOMEM;
    s->att[s->natt].last_use = ++s->tick;
    s->natt++;
    /* per-file settings, best effort */
    char *pr = pdi_sql_sqlite_file_pragmas(schema, strstr(schema, "pipedag_metadata") != NULL);
    if (pr)
        s->ops->pragmas(s->conn, pr);
    free(pr);
    return PD_OK;
}

static int forget(pdi_sqlite_session *s, const char *schema)
{
    int i = att_find(s, schema);
    return i < 0 ? PD_OK : detach_idx(s, i);
}

static int attach_for(pdi_sqlite_session *s, const char *sql)
{
    pd_strv names = PD_STRV_INIT;
    int rc = pdi_sql_sqlite_schema_refs(sql, &names);
    for (size_t i = 0; i < names.n && rc == PD_OK; i++) {
        const char *n = names.items[i];
        if (strcasecmp(n, "main") == 0 || strcasecmp(n, "temp") == 0)
            continue;
        int r = attach(s, n, false, (const char *const *)names.items, names.n);
        if (r != PD_OK && r != PD_ERR_NOT_FOUND)
            rc = r;
    }
    pdi_strv_free(&names);
    if (rc == PD_OK)
        pd_clear_error();
    return rc;
}

int pdi_sqlite_attach(
    pdi_conn *c, const char *schema, bool create, const char *const *keep, size_t nkeep)
{
    return attach(S(c), schema, create, keep, nkeep);
}

int pdi_sqlite_attach_for(pdi_conn *c, const char *sql)
{
    return attach_for(S(c), sql);
}

int pdi_sqlite_forget(pdi_conn *c, const char *schema)
{
    return forget(S(c), schema);
}

/* --------------------------------------------------------------- schemas */

static int touch_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0)
        return pd_set_error(PD_ERR_IO, "cannot create %s", path);
    close(fd);
    return PD_OK;
}

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return pd_set_error(PD_ERR_IO, "cannot open %s for fsync", path);
    int r = fsync(fd);
    close(fd);
    return r == 0 ? PD_OK : pd_set_error(PD_ERR_IO, "fsync %s failed", path);
}

int pdi_sqlite_create_schema(pdi_conn *c, const char *schema)
{
    pdi_sqlite_session *s = S(c);
    char *f = pdi_sqlite_schema_file(s->dir, schema);
    int rc = f ? (pdi_path_exists(f) ? PD_OK : touch_file(f)) : PD_ERR_NOMEM;
    free(f);
    return rc ? rc : attach(s, schema, true, NULL, 0);
}

/* Delete <dir>/<schema>.sqlite and its journal files (the store made every
 * other session forget the schema). */
int pdi_sqlite_drop_schema(pdi_conn *c, const char *schema)
{
    pdi_sqlite_session *s = S(c);
    int rc = forget(s, schema);
    return rc ? rc : pdi_sqlite_delete_schema_files(s->dir, schema);
}

static int strv_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    if (ncols < 1)
        return PD_OK;
    return pdi_strv_push(user, vals[0] ? vals[0] : "");
}

/* Run a catalog query of `schema` (attached first; `sql` is freed);
 * nothing when the schema's file does not exist. */
static int catalog(pdi_sqlite_session *s,
                   const char *schema,
                   char *sql,
                   size_t np,
                   const char *const *params,
                   pd_row_fn row,
                   void *user)
{
    int rc = sql ? PD_OK : PD_ERR_NOMEM;
    char *f = rc == PD_OK ? pdi_sqlite_schema_file(s->dir, schema) : NULL;
    if (rc == PD_OK && !f)
        rc = PD_ERR_NOMEM;
    if (rc == PD_OK && pdi_path_exists(f)) {
        rc = attach(s, schema, false, NULL, 0);
        if (rc == PD_OK)
            rc = s->ops->query(s->conn, sql, np, params, row, user);
    }
    free(f);
    free(sql);
    return rc;
}

int pdi_sqlite_list_objects(pdi_conn *c, const char *schema, pd_strv *out)
{
    pdi_sqlite_session *s = S(c);
    return catalog(s, schema, pdi_sql_list_objects(D, schema), 0, NULL, strv_row, out);
}

int pdi_sqlite_table_exists(pdi_conn *c, const char *schema, const char *name, bool *exists)
{
    pdi_sqlite_session *s = S(c);
    pd_strv v = PD_STRV_INIT;
    int rc = catalog(s, schema, pdi_sql_table_exists(D, schema), 1, &name, strv_row, &v);
    *exists = v.n > 0;
    pdi_strv_free(&v);
    return rc;
}

int pdi_sqlite_list_columns(pdi_conn *c, const char *schema, const char *table, pd_strv *out)
{
    pdi_sqlite_session *s = S(c);
    return catalog(s, schema, pdi_sql_list_columns(D, schema, table), 0, NULL, strv_row, out);
}

int pdi_sqlite_list_indexes(
    pdi_conn *c, const char *schema, const char *table, pd_row_fn row, void *user)
{
    pdi_sqlite_session *s = S(c);
    return catalog(s, schema, pdi_sql_list_indexes(D, schema, table), 0, NULL, row, user);
}

/* ---------------------------------------------------------------- tables */

/* A statement from a dialect function (NULL: error set / out of memory;
 * "": nothing to do), executed and freed. */
static int run(pdi_sqlite_session *s, char *sql)
{
    if (!sql)
        return pd_last_error_code() ? pd_last_error_code() : PD_ERR_NOMEM;
    int rc = *sql ? s->ops->exec(s->conn, sql) : PD_OK;
    free(sql);
    return rc;
}

typedef struct defs {
    pd_strv a, b, c;
} defs;

static int defs_row(void *user, int n, const char *const *names, const char *const *v)
{
    (void)names;
    defs *d = user;
    int rc = pdi_strv_push(&d->a, n > 0 && v[0] ? v[0] : "");
    if (rc == PD_OK)
        rc = pdi_strv_push(&d->b, n > 1 && v[1] ? v[1] : "");
    if (rc == PD_OK && n > 2)
        rc = pdi_strv_push(&d->c, v[2] ? v[2] : "");
    return rc;
}

static void defs_free(defs *d)
{
    pdi_strv_free(&d->a);
    pdi_strv_free(&d->b);
    pdi_strv_free(&d->c);
}

/* A table: its CREATE TABLE text re-targeted (declared types survive) +
 * INSERT SELECT; a view: its definition re-targeted, without qualifiers
 * naming its own (transaction) file. */
int pdi_sqlite_copy_table(pdi_conn *c,
                          const char *from_schema,
                          const char *from_name,
                          const char *to_schema,
                          const char *to_name)
{
    pdi_sqlite_session *s = S(c);
    defs df = {PD_STRV_INIT, PD_STRV_INIT, PD_STRV_INIT};
    int rc = attach(s, to_schema, false, NULL, 0);
    if (rc == PD_OK)
        rc = catalog(s, from_schema, pdi_sql_sqlite_object_ddl(from_schema), 1, &from_name,
                     defs_row, &df);
    if (rc == PD_OK && df.a.n == 0)
        rc = pd_set_error(PD_ERR_NOT_FOUND, "table %s.%s does not exist", from_schema, from_name);
    if (rc == PD_OK) {
        bool view = strcmp(df.a.items[0], "view") == 0;
        char *def =
            view ? pdi_sql_strip_qualifier(df.b.items[0], from_schema) : pdi_strdup(df.b.items[0]);
        rc = def ? run(s, pdi_sql_retarget_create(D, def, to_schema, to_name)) : PD_ERR_NOMEM;
        free(def);
        if (rc == PD_OK && !view) {
            char *sel = pdi_sql_select_all(D, from_schema, from_name);
            rc = sel ? run(s, pdi_sql_insert_select(D, to_schema, to_name, sel)) : PD_ERR_NOMEM;
            free(sel);
        }
    }
    defs_free(&df);
    return rc;
}

/* ----------------------------------------------------- stage transaction */

/* Views and triggers of the transaction file that qualify names with the
 * transaction schema are rewritten unqualified (SQLite resolves a view's
 * unqualified names in the view's own file, published under the base
 * name). */
static int fix_views(pdi_sqlite_session *s, const char *tx)
{
    char *upd = pdi_sql_sqlite_set_definition(tx);
    char *on = pdi_sql_sqlite_writable_schema(tx, true);
    char *off = pdi_sql_sqlite_writable_schema(tx, false);
    defs df = {PD_STRV_INIT, PD_STRV_INIT, PD_STRV_INIT};
    int rc = upd && on && off ? PD_OK : PD_ERR_NOMEM;
    if (rc == PD_OK)
        rc = catalog(s, tx, pdi_sql_sqlite_view_defs(tx), 0, NULL, defs_row, &df);
    bool writable = false;
    for (size_t i = 0; rc == PD_OK && i < df.a.n; i++) {
        char *fixed = pdi_sql_strip_qualifier(df.b.items[i], tx);
        if (!fixed) {
            rc = PD_ERR_NOMEM;
            break;
        }
        if (strcmp(fixed, df.b.items[i]) != 0) {
            if (!writable) {
                rc = s->ops->exec(s->conn, on);
                writable = rc == PD_OK;
            }
            const char *p[3] = {fixed, df.c.items[i], df.a.items[i]};
            if (rc == PD_OK)
                rc = s->ops->query(s->conn, upd, 3, p, NULL, NULL);
        }
        free(fixed);
    }
    if (writable) {
        int r2 = s->ops->exec(s->conn, off);
        if (rc == PD_OK)
            rc = r2;
    }
    defs_free(&df);
    free(upd);
    free(on);
    free(off);
    return rc;
}

/* <tx>.sqlite renamed over <base>.sqlite (atomic), with fsyncs around; the
 * journal row the store wrote before makes a kill at any point recoverable
 * (pdi_sqlite_published). */
int pdi_sqlite_publish(pdi_conn *c, const pdi_stage_names *st)
{
    pdi_sqlite_session *s = S(c);
    char *fbase = pdi_sqlite_schema_file(s->dir, st->base);
    char *ftx = pdi_sqlite_schema_file(s->dir, st->tx);
    int rc = fbase && ftx ? PD_OK : PD_ERR_NOMEM;
    if (rc == PD_OK && !pdi_path_exists(ftx))
        rc = pd_set_error(PD_ERR_NOT_FOUND, "transaction file %s is missing", ftx);
    if (rc == PD_OK)
        rc = fix_views(s, st->tx);
    if (rc == PD_OK)
        rc = forget(s, st->tx);
    if (rc == PD_OK)
        rc = forget(s, st->base);
    if (rc == PD_OK)
        rc = fsync_path(ftx);
    pdi_crash_point("commit_before_rename");
    if (rc == PD_OK && rename(ftx, fbase) != 0)
        rc = pd_set_error(PD_ERR_IO, "cannot rename %s to %s", ftx, fbase);
    if (rc == PD_OK)
        rc = pdi_fsync_dir(s->dir);
    pdi_crash_point("commit_after_rename");
    free(fbase);
    free(ftx);
    return rc;
}

int pdi_sqlite_published(const char *dir, const pdi_stage_names *st, bool *done)
{
    char *f = pdi_sqlite_schema_file(dir, st->tx);
    if (!f)
        return PD_ERR_NOMEM;
    *done = !pdi_path_exists(f);
    free(f);
    return PD_OK;
}
