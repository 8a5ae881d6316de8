/*
 * store/odbc/odbc_sqlite.c - SQLite files through an ODBC driver
 * (libsqliteodbc): the table `pdi_backend_odbc_sqlite` serving
 * sqlite+odbc:///<store directory>?driver=SQLite3.
 *
 * The same store layout and stage commit as the native SQLite backend
 * (src/store/sqlite): schema S is the file <dir>/S.sqlite, ATTACHed to the
 * session under the name S when a statement names it (SQLite allows 10
 * attached files: the least recently used one the statement does not need
 * is detached first), and a SCHEMA_SWAP commit renames <stage>__tmp.sqlite
 * over <stage>.sqlite (journaled by the store; published() asks whether the
 * transaction file is gone). Every statement - ATTACH, DETACH, catalog
 * queries, the views' rewrite - goes through the driver as SQL text from
 * the dialect; only the file operations (create, rename, fsync, delete) are
 * done here. This works because the driver runs SQLite in this process on
 * local files: each session connects to an in-memory main database
 * (Database=:memory:) and attaches the store's files to it.
 *
 * Transactions are the dialect's BEGIN IMMEDIATE / COMMIT / ROLLBACK as SQL
 * on an autocommit session (the driver's own transactions begin deferred,
 * which makes two writers fail instead of waiting, and ATTACH cannot run
 * inside them).
 */
#include "store/odbc/odbc_be.h"
#include "store/sqlite/sqlite_files.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef pdi_odbc_db osq_db;
typedef pdi_odbc_conn osq_conn;

static const pdi_dialect *const D = &pdi_dialect_sqlite;

static osq_conn *Q(pdi_conn *c)
{
    return (osq_conn *)c;
}

static const char *dir_of(pdi_conn *c)
{
    return ((osq_db *)c->db)->dir;
}

/* ------------------------------------------------------------- attaching */

static int att_find(osq_conn *q, const char *name)
{
    for (int i = 0; i < q->natt; i++)
        if (strcasecmp(q->att[i].name, name) == 0)
            return i;
    return -1;
}

static int detach_idx(osq_conn *q, int i)
{
    /* prepared statements may name the schema: drop them first */
    pdi_odbc_forget_statements(q->c);
    char *sql = pdi_sql_drop_schema(D, q->att[i].name);
    int rc = sql ? pdi_odbc_exec(pdi_odbc_be_handle(&q->base), sql) : PD_ERR_NOMEM;
    free(sql);
    if (rc)
        return rc;
    free(q->att[i].name);
    q->att[i] = q->att[--q->natt];
    return PD_OK;
}

/* Attach `schema` unless attached; never evicts names in keep[0..nkeep). */
static int
attach(osq_conn *q, const char *schema, bool create, const char *const *keep, size_t nkeep)
{
    int i = att_find(q, schema);
    if (i >= 0) {
        q->att[i].last_use = ++q->tick;
        return PD_OK;
    }
    if (strchr(schema, '"') || strchr(schema, '/'))
        return pd_set_error(PD_ERR_INVALID, "sqlite (odbc): invalid schema name '%s'", schema);
    char *file = pdi_sqlite_schema_file(dir_of(&q->base), schema);
    if (!file)
        return PD_ERR_NOMEM;
    if (!create && !pdi_path_exists(file)) {
        free(file);
        return PD_ERR_NOT_FOUND;
    }
    int rc = PD_OK;
    while (rc == PD_OK && q->natt >= q->max_att) {
        int victim = -1;
        for (int k = 0; k < q->natt; k++) {
            bool kept = false;
            for (size_t j = 0; j < nkeep; j++)
                kept |= strcasecmp(keep[j], q->att[k].name) == 0;
            if (!kept && (victim < 0 || q->att[k].last_use < q->att[victim].last_use))
                victim = k;
        }
        if (victim < 0)
            rc = pd_set_error(PD_ERR_UNSUPPORTED,
                              "sqlite (odbc): one statement references more than %d schemas",
                              q->max_att);
        else
            rc = detach_idx(q, victim);
    }
    if (rc == PD_OK) {
        const char *params[2] = {file, schema};
        rc = pdi_odbc_query(pdi_odbc_be_handle(&q->base), pdi_sql_sqlite_attach(), 2, params, NULL,
                            NULL);
    }
    free(file);
    if (rc)
        return rc;
    q->att[q->natt].name = pdi_strdup(schema);
    if (!q->att[q->natt].name)
        return PD_ERR_NOMEM;
    q->att[q->natt].last_use = ++q->tick;
    q->natt++;
    /* per-file settings; best effort, as in the native backend */
    char *pr = pdi_sql_sqlite_file_pragmas(schema, strstr(schema, "pipedag_metadata") != NULL);
    pd_strv pieces = PD_STRV_INIT;
    if (pr && pdi_odbc_split_script(D->name, false, pr, &pieces) == PD_OK)
        for (size_t k = 0; k < pieces.n; k++)
            pdi_odbc_exec(q->c, pieces.items[k]);
    pdi_strv_free(&pieces);
    free(pr);
    pd_clear_error();
    return PD_OK;
}

static int osq_forget(pdi_conn *c, const char *schema)
{
    osq_conn *q = Q(c);
    int i = att_find(q, schema);
    return i < 0 ? PD_OK : detach_idx(q, i);
}

/* Attach every existing schema file `sql` names. */
static int attach_for(osq_conn *q, const char *sql)
{
    pd_strv names = PD_STRV_INIT;
    int rc = pdi_sql_sqlite_schema_refs(sql, &names);
    for (size_t i = 0; i < names.n && rc == PD_OK; i++) {
        const char *n = names.items[i];
        if (strcasecmp(n, "main") == 0 || strcasecmp(n, "temp") == 0)
            continue;
        int r = attach(q, n, false, (const char *const *)names.items, names.n);
        if (r != PD_OK && r != PD_ERR_NOT_FOUND)
            rc = r;
    }
    pdi_strv_free(&names);
    if (rc == PD_OK)
        pd_clear_error();
    return rc;
}

/* ------------------------------------------------------------ statements */

static int osq_exec(pdi_conn *c, const char *sql)
{
    /* one statement per SQLExecDirect (the driver refuses more); each
     * attaches what it names, so a statement may use a schema an earlier
     * one of the script created */
    pd_strv pieces = PD_STRV_INIT;
    int rc = pdi_odbc_split_script(D->name, false, sql, &pieces);
    for (size_t i = 0; i < pieces.n && rc == PD_OK; i++) {
        rc = attach_for(Q(c), pieces.items[i]);
        if (rc == PD_OK)
            rc = pdi_odbc_exec(pdi_odbc_be_handle(c), pieces.items[i]);
    }
    pdi_strv_free(&pieces);
    return rc;
}

static int osq_query(
    pdi_conn *c, const char *sql, size_t np, const char *const *params, pd_row_fn row, void *user)
{
    int rc = attach_for(Q(c), sql);
    return rc ? rc : pdi_odbc_be_query(c, sql, np, params, row, user);
}

typedef struct classes {
    size_t n;
    char *seen; /* 4 per scanned column: integer, real, text, blob */
} classes;

static int classes_row(void *user, int ncols, const char *const *names, const char *const *v)
{
    (void)names;
    classes *cl = user;
    for (size_t i = 0; i < cl->n * 4 && i < (size_t)ncols; i++)
        cl->seen[i] = v[i] && strcmp(v[i], "1") == 0;
    return PD_OK;
}

/* A column without a declared type (the driver says "varchar" in
 * lower case) or of NUMERIC affinity ("NUM") is typed like the native
 * backend does: by the storage classes of all its values. */
static bool undeclared(const char *type_name)
{
    return !*type_name || strcmp(type_name, "varchar") == 0 || strcasecmp(type_name, "num") == 0;
}

static const char *format_of_classes(const char *s)
{
    bool i = s[0], r = s[1], t = s[2], b = s[3];
    if (t || (b && (i || r)))
        return "u";
    if (b)
        return "z";
    if (r)
        return "g";
    return i ? "l" : "u";
}

static int osq_query_arrow(pdi_conn *c, const char *sql, struct ArrowArrayStream *out)
{
    int rc = attach_for(Q(c), sql);
    if (rc)
        return rc;
    pdi_odbc *h = pdi_odbc_be_handle(c);
    pd_strv names = PD_STRV_INIT, types = PD_STRV_INIT;
    rc = pdi_odbc_describe(h, sql, &names, &types);
    size_t n = types.n, ns = 0;
    size_t *scan = rc == PD_OK ? pdi_calloc(n ? n : 1, sizeof *scan) : NULL;
    const char **fmts = rc == PD_OK ? pdi_calloc(n ? n : 1, sizeof *fmts) : NULL;
    classes cl = {0, NULL};
    if (rc == PD_OK && (!scan || !fmts))
        rc = PD_ERR_NOMEM;
    for (size_t i = 0; rc == PD_OK && i < n; i++)
        if (undeclared(types.items[i]))
            scan[ns++] = i;
    if (rc == PD_OK && ns > 0) {
        char *q = pdi_sql_sqlite_storage_classes(sql, n, scan, ns);
        cl.n = ns;
        cl.seen = pdi_calloc(ns * 4, 1);
        rc = q && cl.seen ? pdi_odbc_query(h, q, 0, NULL, classes_row, &cl) : PD_ERR_NOMEM;
        free(q);
        for (size_t k = 0; rc == PD_OK && k < ns; k++)
            fmts[scan[k]] = format_of_classes(cl.seen + 4 * k);
    }
    if (rc == PD_OK)
        rc = pdi_odbc_be_query_arrow_as(c, sql, ns ? fmts : NULL, n, out);
    free(cl.seen);
    free(scan);
    free(fmts);
    pdi_strv_free(&names);
    pdi_strv_free(&types);
    return rc;
}

static int osq_load_arrow(
    pdi_conn *c, const char *schema, const char *table, struct ArrowArrayStream *in, int64_t *rows)
{
    int rc = attach(Q(c), schema, false, NULL, 0);
    if (rc == PD_ERR_NOT_FOUND)
        rc = pd_set_error(PD_ERR_NOT_FOUND, "load into %s.%s: the schema's file does not exist",
                          schema, table);
    return rc ? rc : pdi_odbc_be_load_arrow(c, schema, table, in, rows);
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

static int osq_create_schema(pdi_conn *c, const char *schema)
{
    char *f = pdi_sqlite_schema_file(dir_of(c), schema);
    int rc = f ? (pdi_path_exists(f) ? PD_OK : touch_file(f)) : PD_ERR_NOMEM;
    free(f);
    return rc ? rc : attach(Q(c), schema, true, NULL, 0);
}

/* Delete <dir>/<schema>.sqlite and its journal files (the store made every
 * other session forget the schema). */
static int osq_drop_schema(pdi_conn *c, const char *schema)
{
    int rc = osq_forget(c, schema);
    return rc ? rc : pdi_sqlite_delete_schema_files(dir_of(c), schema);
}

static int osq_list_schemas(pdi_conn *c, pd_strv *out)
{
    return pdi_sqlite_list_schema_files(dir_of(c), out);
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
static int catalog(pdi_conn *c,
                   const char *schema,
                   char *sql,
                   size_t np,
                   const char *const *params,
                   pd_row_fn row,
                   void *user)
{
    int rc = sql ? PD_OK : PD_ERR_NOMEM;
    char *f = rc == PD_OK ? pdi_sqlite_schema_file(dir_of(c), schema) : NULL;
    if (rc == PD_OK && !f)
        rc = PD_ERR_NOMEM;
    if (rc == PD_OK && pdi_path_exists(f)) {
        rc = attach(Q(c), schema, false, NULL, 0);
        if (rc == PD_OK)
            rc = pdi_odbc_be_query(c, sql, np, params, row, user);
    }
    free(f);
    free(sql);
    return rc;
}

static int osq_list_objects(pdi_conn *c, const char *schema, pd_strv *out)
{
    return catalog(c, schema, pdi_sql_list_objects(D, schema), 0, NULL, strv_row, out);
}

static int osq_table_exists(pdi_conn *c, const char *schema, const char *name, bool *exists)
{
    pd_strv v = PD_STRV_INIT;
    int rc = catalog(c, schema, pdi_sql_table_exists(D, schema), 1, &name, strv_row, &v);
    *exists = v.n > 0;
    pdi_strv_free(&v);
    return rc;
}

static int osq_list_columns(pdi_conn *c, const char *schema, const char *table, pd_strv *out)
{
    return catalog(c, schema, pdi_sql_list_columns(D, schema, table), 0, NULL, strv_row, out);
}

static int
osq_list_indexes(pdi_conn *c, const char *schema, const char *table, pd_row_fn row, void *user)
{
    return catalog(c, schema, pdi_sql_list_indexes(D, schema, table), 0, NULL, row, user);
}

/* ---------------------------------------------------------------- tables */

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
static int osq_copy_table(pdi_conn *c,
                          const char *from_schema,
                          const char *from_name,
                          const char *to_schema,
                          const char *to_name)
{
    defs df = {PD_STRV_INIT, PD_STRV_INIT, PD_STRV_INIT};
    int rc = attach(Q(c), to_schema, false, NULL, 0);
    if (rc == PD_OK)
        rc = catalog(c, from_schema, pdi_sql_sqlite_object_ddl(from_schema), 1, &from_name,
                     defs_row, &df);
    if (rc == PD_OK && df.a.n == 0)
        rc = pd_set_error(PD_ERR_NOT_FOUND, "table %s.%s does not exist", from_schema, from_name);
    if (rc == PD_OK) {
        bool view = strcmp(df.a.items[0], "view") == 0;
        char *def =
            view ? pdi_sql_strip_qualifier(df.b.items[0], from_schema) : pdi_strdup(df.b.items[0]);
        rc = def ? pdi_odbc_be_run(c, pdi_sql_retarget_create(D, def, to_schema, to_name))
                 : PD_ERR_NOMEM;
        free(def);
        if (rc == PD_OK && !view) {
            char *sel = pdi_sql_select_all(D, from_schema, from_name);
            rc = sel ? pdi_odbc_be_run(c, pdi_sql_insert_select(D, to_schema, to_name, sel))
                     : PD_ERR_NOMEM;
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
static int fix_views(pdi_conn *c, const char *tx)
{
    pdi_odbc *h = pdi_odbc_be_handle(c);
    char *upd = pdi_sql_sqlite_set_definition(tx);
    char *on = pdi_sql_sqlite_writable_schema(tx, true);
    char *off = pdi_sql_sqlite_writable_schema(tx, false);
    defs df = {PD_STRV_INIT, PD_STRV_INIT, PD_STRV_INIT};
    int rc = upd && on && off ? PD_OK : PD_ERR_NOMEM;
    if (rc == PD_OK)
        rc = catalog(c, tx, pdi_sql_sqlite_view_defs(tx), 0, NULL, defs_row, &df);
    bool writable = false;
    for (size_t i = 0; rc == PD_OK && i < df.a.n; i++) {
        char *fixed = pdi_sql_strip_qualifier(df.b.items[i], tx);
        if (!fixed) {
            rc = PD_ERR_NOMEM;
            break;
        }
        if (strcmp(fixed, df.b.items[i]) != 0) {
            if (!writable) {
                rc = pdi_odbc_exec(h, on);
                writable = rc == PD_OK;
            }
            const char *p[3] = {fixed, df.c.items[i], df.a.items[i]};
            if (rc == PD_OK)
                rc = pdi_odbc_query(h, upd, 3, p, NULL, NULL);
        }
        free(fixed);
    }
    if (writable) {
        int r2 = pdi_odbc_exec(h, off);
        if (rc == PD_OK)
            rc = r2;
    }
    defs_free(&df);
    free(upd);
    free(on);
    free(off);
    return rc;
}

/* SCHEMA_SWAP: <tx>.sqlite renamed over <base>.sqlite (atomic), with
 * fsyncs around; the store's journal row makes a kill at any point
 * recoverable (osq_published). */
static int osq_publish(pdi_conn *c, const pdi_stage_names *st)
{
    const char *dir = dir_of(c);
    char *fbase = pdi_sqlite_schema_file(dir, st->base);
    char *ftx = pdi_sqlite_schema_file(dir, st->tx);
    int rc = fbase && ftx ? PD_OK : PD_ERR_NOMEM;
    if (rc == PD_OK && !pdi_path_exists(ftx))
        rc = pd_set_error(PD_ERR_NOT_FOUND, "transaction file %s is missing", ftx);
    if (rc == PD_OK)
        rc = fix_views(c, st->tx);
    if (rc == PD_OK)
        rc = osq_forget(c, st->tx);
    if (rc == PD_OK)
        rc = osq_forget(c, st->base);
    if (rc == PD_OK)
        rc = fsync_path(ftx);
    pdi_crash_point("commit_before_rename");
    if (rc == PD_OK && rename(ftx, fbase) != 0)
        rc = pd_set_error(PD_ERR_IO, "cannot rename %s to %s", ftx, fbase);
    if (rc == PD_OK)
        rc = pdi_fsync_dir(dir);
    pdi_crash_point("commit_after_rename");
    free(fbase);
    free(ftx);
    return rc;
}

static int osq_published(pdi_db *pdb, const pdi_stage_names *st, bool *done)
{
    char *f = pdi_sqlite_schema_file(((osq_db *)pdb)->dir, st->tx);
    if (!f)
        return PD_ERR_NOMEM;
    *done = !pdi_path_exists(f);
    free(f);
    return PD_OK;
}

/* ------------------------------------------------------------- lifecycle */

/* sqlite+odbc:///<dir>?<query>: the store directory, and the target every
 * session connects to - the same driver and attributes with an in-memory
 * main database. */
static int osq_open(const pdi_open_args *a, pdi_db **out)
{
    *out = NULL;
    osq_db *db = pdi_calloc(1, sizeof *db);
    if (!db)
        return PD_ERR_NOMEM;
    db->sc = a->sc;
    db->d = a->d;
    db->base.desc = a->desc;
    db->instance_id = pdi_strdup(a->instance_id ? a->instance_id : "");
    pdi_odbc_target given;
    int rc = db->instance_id ? pdi_odbc_url_parse(a->sc->url, &given) : PD_ERR_NOMEM;
    if (rc) {
        free(db->instance_id);
        free(db);
        return rc;
    }
    if (!given.database || !*given.database)
        rc = pd_set_error(PD_ERR_CONFIG,
                          "%s: say which directory holds the store's files "
                          "(sqlite+odbc:///<dir>?driver=SQLite3)",
                          a->desc);
    else if (strcmp(given.database, ":memory:") == 0)
        rc = pd_set_error(PD_ERR_CONFIG,
                          "%s: a store is a directory of files, not :memory: (the sessions' "
                          "in-memory main database is made here)",
                          a->desc);
    if (rc == PD_OK) {
        db->dir = pdi_strdup(given.database);
        rc = db->dir ? pdi_mkdir_p(db->dir) : PD_ERR_NOMEM;
    }
    if (rc == PD_OK) {
        const char *url = a->sc->url;
        const char *qm = strchr(url, '?');
        size_t sl = strcspn(url, ":");
        char *mem = pdi_asprintf("%.*s:///:memory:%s", (int)sl, url, qm ? qm : "");
        rc = mem ? pdi_odbc_url_parse(mem, &db->t) : PD_ERR_NOMEM;
        if (mem) {
            memset(mem, 0, strlen(mem));
            free(mem);
        }
    }
    pdi_odbc_target_clear(&given);
    if (rc == PD_OK) {
        /* messages name the store directory, not the main database */
        free(db->t.database);
        db->t.database = pdi_strdup(db->dir);
        if (!db->t.database)
            rc = PD_ERR_NOMEM;
    }
    if (rc == PD_OK) {
        /* the driver is there and loads */
        pdi_odbc *c = NULL;
        rc = pdi_odbc_connect(&db->t, &c);
        pdi_odbc_close(c);
    }
    if (rc) {
        pdi_odbc_be_close(&db->base);
        return rc;
    }
    *out = &db->base;
    return PD_OK;
}

static int osq_connect(pdi_db *pdb, pdi_conn **out)
{
    int rc = pdi_odbc_be_connect(pdb, out);
    if (rc == PD_OK)
        /* SQLite's default limit of attached databases */
        Q(*out)->max_att = 10;
    return rc;
}

static void osq_disconnect(pdi_conn *c)
{
    osq_conn *q = Q(c);
    if (!q)
        return;
    for (int i = 0; i < q->natt; i++)
        free(q->att[i].name);
    q->natt = 0;
    pdi_odbc_be_disconnect(c);
}

static const char *const k_sqlite_odbc[] = {"sqlite+odbc", NULL};

const pdi_backend pdi_backend_odbc_sqlite = {
    .version = PDI_BACKEND_VERSION,
    .name = "SQLite (ODBC)",
    .dialects = k_sqlite_odbc,
    .caps = PDI_CAP_SCHEMA_SWAP | PDI_CAP_INDEXES,
    .no_read_views_reason = "SQLite views cannot read tables of other schemas (each schema is "
                            "its own database file)",
    .open = osq_open,
    .close = pdi_odbc_be_close,
    .connect = osq_connect,
    .disconnect = osq_disconnect,
    .exec = osq_exec,
    .query = osq_query,
    .query_arrow = osq_query_arrow,
    .load_arrow = osq_load_arrow,
    .begin = pdi_odbc_be_begin,
    .commit = pdi_odbc_be_commit,
    .rollback = pdi_odbc_be_rollback,
    .create_schema = osq_create_schema,
    .drop_schema = osq_drop_schema,
    .list_schemas = osq_list_schemas,
    .list_objects = osq_list_objects,
    .table_exists = osq_table_exists,
    .list_columns = osq_list_columns,
    .list_indexes = osq_list_indexes,
    .forget_schema = osq_forget,
    .copy_table = osq_copy_table,
    .publish = osq_publish,
    .published = osq_published,
};
