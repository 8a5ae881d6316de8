/*
 * store/odbc/odbc_sqlite.c - SQLite files through an ODBC driver
 * (libsqliteodbc): the table `pdi_backend_odbc_sqlite` serving
 * sqlite+odbc:///<store directory>?driver=SQLite3.
 *
 * The same store layout and stage commit as the native SQLite backend,
 * by the same code (src/store/sqlite/sqlite_session.c): schema S is the
 * file <dir>/S.sqlite, ATTACHed to the session under the name S when a
 * statement names it (SQLite allows 10 attached files: the least recently
 * used one the statement does not need is detached first), and a
 * SCHEMA_SWAP commit renames <stage>__tmp.sqlite over <stage>.sqlite
 * (journaled by the store; published() asks whether the transaction file
 * is gone). Every statement - ATTACH, DETACH, catalog
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

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* The steps store/sqlite/sqlite_session.c runs on this session (k_ops, in
 * the order of pdi_sqlite_ops). */
static int osq_attach(pdi_conn *c, const char *sql, const char *file, const char *schema)
{
    const char *params[2] = {file, schema};
    return pdi_odbc_query(pdi_odbc_be_handle(c), sql, 2, params, NULL, NULL);
}

static int osq_detach(pdi_conn *c, const char *sql, const char *schema)
{
    (void)schema;
    /* prepared statements may name the schema: drop them first */
    pdi_odbc_forget_statements(Q(c)->c);
    return pdi_odbc_exec(pdi_odbc_be_handle(c), sql);
}

static void osq_pragmas(pdi_conn *c, const char *script)
{
    pd_strv pieces = PD_STRV_INIT;
    if (pdi_odbc_split_script(D->name, false, script, &pieces) == PD_OK)
        for (size_t k = 0; k < pieces.n; k++)
            pdi_odbc_exec(Q(c)->c, pieces.items[k]);
    pdi_strv_free(&pieces);
    pd_clear_error();
}

static const pdi_sqlite_ops k_ops = {"sqlite (odbc)", osq_attach,       osq_detach,
                                     osq_pragmas,     pdi_odbc_be_exec, pdi_odbc_be_query};

/* ------------------------------------------------------------ statements */

static int osq_exec(pdi_conn *c, const char *sql)
{
    /* one statement per SQLExecDirect (the driver refuses more); each
     * attaches what it names, so a statement may use a schema an earlier
     * one of the script created */
    pd_strv pieces = PD_STRV_INIT;
    int rc = pdi_odbc_split_script(D->name, false, sql, &pieces);
    for (size_t i = 0; i < pieces.n && rc == PD_OK; i++) {
        rc = pdi_sqlite_attach_for(c, pieces.items[i]);
        if (rc == PD_OK)
            rc = pdi_odbc_exec(pdi_odbc_be_handle(c), pieces.items[i]);
    }
    pdi_strv_free(&pieces);
    return rc;
}

static int osq_query(
    pdi_conn *c, const char *sql, size_t np, const char *const *params, pd_row_fn row, void *user)
{
    int rc = pdi_sqlite_attach_for(c, sql);
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
    int rc = pdi_sqlite_attach_for(c, sql);
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
    int rc = pdi_sqlite_attach(c, schema, false, NULL, 0);
    if (rc == PD_ERR_NOT_FOUND)
        rc = pd_set_error(PD_ERR_NOT_FOUND, "load into %s.%s: the schema's file does not exist",
                          schema, table);
    return rc ? rc : pdi_odbc_be_load_arrow(c, schema, table, in, rows);
}

/* --------------------------------------------------------------- schemas */

static int osq_list_schemas(pdi_conn *c, pd_strv *out)
{
    return pdi_sqlite_list_schema_files(dir_of(c), out);
}

static int osq_published(pdi_db *pdb, const pdi_stage_names *st, bool *done)
{
    return pdi_sqlite_published(((osq_db *)pdb)->dir, st, done);
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
        pdi_sqlite_session_init(&Q(*out)->base, &k_ops, ((osq_db *)pdb)->dir, 10);
    return rc;
}

static void osq_disconnect(pdi_conn *c)
{
    osq_conn *q = Q(c);
    if (!q)
        return;
    pdi_sqlite_session_clear(&q->base);
    pdi_odbc_be_disconnect(c);
}

static const char *const k_sqlite_odbc[] = {"sqlite+odbc", NULL};

const pdi_backend pdi_backend_odbc_sqlite = {
    .version = PDI_BACKEND_VERSION,
    .name = "SQLite (ODBC)",
    .dialects = k_sqlite_odbc,
    PDI_SQLITE_BACKEND_COMMON,
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
    .list_schemas = osq_list_schemas,
    .published = osq_published,
};
