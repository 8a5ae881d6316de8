/*
 * store/odbc/odbc_backend.c - the ODBC backend of the table store
 * (store/backend.h) on the connector of odbc.h.
 *
 * Four operation tables share these functions; they differ in what the
 * database can do (caps), which the store reads from the table:
 *   pdi_backend_odbc            <dialect>+odbc://, odbc:// (unknown dialects
 *                               run Postgres-like, with a one-time warning)
 *   pdi_backend_odbc_mssql      mssql://, mssql+pyodbc://
 *   pdi_backend_odbc_db2        db2://, db2+ibm_db://, ibm_db_sa:// (no schema
 *                               rename: READ_VIEWS only)
 *   pdi_backend_odbc_snowflake  snowflake:// (no indexes, DDL commits by
 *                               itself: journaled stage commits, no
 *                               DatabaseLockManager - use FileLockManager)
 */
#include "store/odbc/odbc_be.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef pdi_odbc_db odb_db;
typedef pdi_odbc_conn odb_conn;

static pdi_dialect_id dialect_id(pdi_conn *pc)
{
    return pc->db->d->id;
}

pdi_odbc *pdi_odbc_be_handle(pdi_conn *pc)
{
    odb_conn *oc = (odb_conn *)pc;
    pdi_odbc_set_print_sql(oc->c, pc->print_sql);
    return oc->c;
}

/* ------------------------------------------------------------ lifecycle */

/* 'database "x" does not exist' (psqlODBC reports it as 08001). */
static bool missing_database(const char *msg, const char *db)
{
    if (!db)
        return false;
    char *needle = pdi_asprintf("database \"%s\" does not exist", db);
    bool r = needle && strstr(msg, needle);
    free(needle);
    return r;
}

static int create_database(odb_db *db)
{
    /* Postgres-like: connect to database `postgres`, CREATE DATABASE,
     * tolerate a concurrent creation (42P04) */
    char *sql = pdi_sql_pg_create_database(db->t.database);
    if (!sql)
        return PD_ERR_NOMEM;
    pdi_odbc_target other;
    char *u = NULL;
    {
        /* the URL with its path replaced by /postgres */
        const char *url = db->sc->url;
        const char *auth = strstr(url, "://") + 3;
        const char *slash = strchr(auth, '/');
        const char *q = slash ? slash + strcspn(slash, "?#") : NULL;
        if (!slash) {
            free(sql);
            return pd_set_error(PD_ERR_CONFIG, "%s: no database in the URL to create",
                                db->base.desc);
        }
        u = pdi_asprintf("%.*s/postgres%s", (int)(slash - url), url, q ? q : "");
    }
    int rc = u ? pdi_odbc_url_parse(u, &other) : PD_ERR_NOMEM;
    if (u) {
        memset(u, 0, strlen(u));
        free(u);
    }
    if (rc) {
        free(sql);
        return rc;
    }
    pdi_odbc *c = NULL;
    rc = pdi_odbc_connect(&other, &c);
    pdi_odbc_target_clear(&other);
    if (rc == PD_OK) {
        rc = pdi_odbc_exec(c, sql);
        /* created meanwhile by another process: 42P04, or 23505 when the two
         * CREATE DATABASE statements race on pg_database's unique index */
        if (rc && (strstr(pd_last_error(), "[42P04]") || strstr(pd_last_error(), "[23505]")))
            rc = PD_OK;
        pdi_odbc_close(c);
    }
    free(sql);
    if (rc)
        pd_error_prefix("create_database_if_not_exists (%s)", db->base.desc);
    return rc;
}

static int ob_open(const pdi_open_args *a, pdi_db **out)
{
    *out = NULL;
    odb_db *db = pdi_calloc(1, sizeof *db);
    if (!db)
        return PD_ERR_NOMEM;
    db->sc = a->sc;
    db->d = a->d;
    db->instance_id = pdi_strdup(a->instance_id ? a->instance_id : "");
    db->base.desc = a->desc;
    int rc = pdi_odbc_url_parse(a->sc->url, &db->t);
    if (rc) {
        free(db->instance_id);
        free(db);
        return rc;
    }
    if (a->d->id == PDI_DIALECT_DUCKDB) {
        rc = pd_set_error(PD_ERR_UNSUPPORTED,
                          "%s: duckdb through ODBC cannot be a table store - use "
                          "duckdb:///<path> (the DuckDB backend)",
                          a->desc);
        pdi_odbc_target_clear(&db->t);
        free(db->instance_id);
        free(db);
        return rc;
    }
    if (!db->t.known)
        pdi_odbc_warn_unknown_dialect(db->t.dialect);
    /* reachable? (and the database there, or created) */
    pdi_odbc *c = NULL;
    rc = pdi_odbc_connect(&db->t, &c);
    if (rc && a->sc->create_database_if_not_exists && a->d->id == PDI_DIALECT_POSTGRES &&
        missing_database(pd_last_error(), db->t.database)) {
        rc = create_database(db);
        if (rc == PD_OK)
            rc = pdi_odbc_connect(&db->t, &c);
    }
    pdi_odbc_close(c);
    if (rc) {
        pdi_odbc_target_clear(&db->t);
        free(db->instance_id);
        free(db);
        return rc;
    }
    *out = &db->base;
    return PD_OK;
}

void pdi_odbc_be_close(pdi_db *pdb)
{
    odb_db *db = (odb_db *)pdb;
    if (!db)
        return;
    pdi_odbc_target_clear(&db->t);
    free(db->instance_id);
    free(db->dir);
    free(db);
}

int pdi_odbc_be_connect(pdi_db *pdb, pdi_conn **out)
{
    *out = NULL;
    odb_db *db = (odb_db *)pdb;
    odb_conn *oc = pdi_calloc(1, sizeof *oc);
    if (!oc)
        return PD_ERR_NOMEM;
    int rc = pdi_odbc_connect(&db->t, &oc->c);
    if (rc) {
        free(oc);
        return rc;
    }
    oc->whole_scripts = strcmp(pdi_odbc_dbms_name(oc->c), "PostgreSQL") == 0;
    char *setup = pdi_sql_session_setup(db->d);
    if (!setup)
        rc = PD_ERR_NOMEM;
    else if (*setup)
        rc = pdi_odbc_exec(oc->c, setup);
    free(setup);
    if (rc == PD_OK && db->d->id == PDI_DIALECT_SQLITE)
        /* BEGIN IMMEDIATE as SQL text (libsqliteodbc's own transactions
         * begin deferred, and ATTACH cannot run inside them) */
        pdi_odbc_set_tx_sql(oc->c, pdi_sql_begin(db->d), pdi_sql_commit(db->d),
                            pdi_sql_rollback(db->d));
    if (rc == PD_OK && db->d->id == PDI_DIALECT_SNOWFLAKE) {
        /* session query tag: pipedag|<instance_id>|<user>|<pid> */
        const char *user = getenv("USER");
        char *tag = pdi_sql_snowflake_query_tag(db->instance_id, user ? user : "", (long)getpid());
        rc = tag ? pdi_odbc_exec(oc->c, tag) : PD_ERR_NOMEM;
        free(tag);
    }
    if (rc) {
        pdi_odbc_close(oc->c);
        free(oc);
        return rc;
    }
    *out = &oc->base.base;
    return PD_OK;
}

void pdi_odbc_be_disconnect(pdi_conn *pc)
{
    odb_conn *oc = (odb_conn *)pc;
    if (!oc)
        return;
    pdi_odbc_close(oc->c);
    free(oc);
}

/* ----------------------------------------------------------- statements */

/* Does a T-SQL batch switch databases (USE x)? */
static bool starts_with_use(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return (s[0] == 'U' || s[0] == 'u') && (s[1] == 'S' || s[1] == 's') &&
           (s[2] == 'E' || s[2] == 'e') &&
           (s[3] == ' ' || s[3] == '\t' || s[3] == '\n' || s[3] == '[');
}

int pdi_odbc_be_exec(pdi_conn *pc, const char *sql)
{
    odb_conn *oc = (odb_conn *)pc;
    odb_db *db = (odb_db *)pc->db;
    pdi_odbc *c = pdi_odbc_be_handle(pc);
    pd_strv pieces = PD_STRV_INIT;
    int rc = pdi_odbc_split_script(pc->db->d->name, oc->whole_scripts, sql, &pieces);
    bool used = false;
    for (size_t i = 0; i < pieces.n && rc == PD_OK; i++) {
        used |= dialect_id(pc) == PDI_DIALECT_MSSQL && starts_with_use(pieces.items[i]);
        rc = pdi_odbc_exec(c, pieces.items[i]);
    }
    pdi_strv_free(&pieces);
    /* a T-SQL script that switched databases: back to the configured one,
     * so the pooled session stays where the store expects it */
    if (used && db->t.database) {
        int rc2 = pdi_odbc_be_run(pc, pdi_sql_mssql_use(db->t.database));
        if (rc == PD_OK)
            rc = rc2;
    }
    return rc;
}

int pdi_odbc_be_run(pdi_conn *pc, char *sql)
{
    if (!sql)
        return pd_last_error_code() ? pd_last_error_code() : PD_ERR_NOMEM;
    int rc = *sql ? pdi_odbc_be_exec(pc, sql) : PD_OK;
    free(sql);
    return rc;
}

int pdi_odbc_be_query(pdi_conn *pc,
                      const char *sql,
                      size_t nparams,
                      const char *const *params,
                      pd_row_fn row,
                      void *user)
{
    return pdi_odbc_query(pdi_odbc_be_handle(pc), sql, nparams, params, row, user);
}

/* SQLite's declared types (the driver reports the name): the Arrow types
 * the SQLite dialect declares them for. */
static const char *sqlite_type_by_name(const char *name, char *buf, size_t cap)
{
    return pdi_sql_arrow_for_type(&pdi_dialect_sqlite, name, buf, cap);
}

int pdi_odbc_be_query_arrow(pdi_conn *pc, const char *sql, struct ArrowArrayStream *out)
{
    return pdi_odbc_be_query_arrow_as(pc, sql, NULL, 0, out);
}

int pdi_odbc_be_query_arrow_as(pdi_conn *pc,
                               const char *sql,
                               const char *const *formats,
                               size_t nformats,
                               struct ArrowArrayStream *out)
{
    /* materialised: the stream must outlive the session's checkout */
    struct ArrowArrayStream st;
    pdi_odbc_read_opts o = PDI_ODBC_READ_OPTS_INIT;
    o.lower_upper_names = dialect_id(pc) == PDI_DIALECT_DB2;
    if (dialect_id(pc) == PDI_DIALECT_SQLITE)
        o.type_by_name = sqlite_type_by_name;
    o.formats = formats;
    o.nformats = nformats;
    int rc = pdi_odbc_read_arrow(pdi_odbc_be_handle(pc), sql, &o, &st);
    if (rc)
        return rc;
    struct ArrowSchema schema;
    memset(&schema, 0, sizeof schema);
    struct ArrowArray *batches = NULL;
    size_t n = 0, cap = 0;
    if (st.get_schema(&st, &schema) != 0) {
        const char *e = st.get_last_error(&st);
        rc = pd_set_error(PD_ERR_SQL, "%s", e ? e : "reading the result schema failed");
        goto done;
    }
    for (;;) {
        struct ArrowArray *nb = pdi_grow(batches, &cap, n, sizeof *batches, 4);
        if (!nb) {
            rc = PD_ERR_NOMEM;
            goto done;
        }
        batches = nb;
        if (st.get_next(&st, &batches[n]) != 0) {
            const char *e = st.get_last_error(&st);
            rc = pd_set_error(pd_last_error_code() ? pd_last_error_code() : PD_ERR_SQL, "%s",
                              e ? e : "reading the result failed");
            goto done;
        }
        if (!batches[n].release)
            break;
        n++;
    }
    rc = pd_arrow_stream_from_batches(&schema, batches, n, out);
    n = 0;
done:
    for (size_t i = 0; i < n; i++)
        pd_arrow_array_release(&batches[i]);
    free(batches);
    pd_arrow_schema_release(&schema);
    st.release(&st);
    return rc;
}

int pdi_odbc_be_load_arrow(
    pdi_conn *pc, const char *schema, const char *table, struct ArrowArrayStream *in, int64_t *rows)
{
    struct ArrowSchema s;
    memset(&s, 0, sizeof s);
    if (in->get_schema(in, &s) != 0)
        return pd_set_error(PD_ERR, "load into %s.%s: reading the input schema failed: %s", schema,
                            table, in->get_last_error ? in->get_last_error(in) : "unknown error");
    size_t ncols = (size_t)s.n_children;
    pd_arrow_schema_release(&s);
    char *ins = pdi_sql_insert_values(pc->db->d, schema, table, ncols);
    if (!ins)
        return PD_ERR_NOMEM;
    /* the multi-row form: as many tuples as keep under 2,000 parameters
     * (MSSQL allows 2,100 per statement), at most 64 */
    size_t tuples = ncols ? 2000 / ncols : 1;
    if (tuples > 64)
        tuples = 64;
    char *multi =
        tuples > 1 ? pdi_sql_insert_values_rows(pc->db->d, schema, table, ncols, tuples) : NULL;
    if (tuples > 1 && !multi) {
        free(ins);
        return PD_ERR_NOMEM;
    }
    int rc = pdi_odbc_load_arrow(pdi_odbc_be_handle(pc), ins, multi, tuples, in, 0, rows);
    free(ins);
    free(multi);
    if (rc == PD_OK && dialect_id(pc) == PDI_DIALECT_DB2)
        rc = pdi_odbc_be_run(pc, pdi_sql_db2_runstats(schema, table));
    return rc;
}

int pdi_odbc_be_begin(pdi_conn *pc)
{
    return pdi_odbc_begin(pdi_odbc_be_handle(pc));
}

int pdi_odbc_be_commit(pdi_conn *pc)
{
    return pdi_odbc_commit(pdi_odbc_be_handle(pc));
}

int pdi_odbc_be_rollback(pdi_conn *pc)
{
    return pdi_odbc_rollback(pdi_odbc_be_handle(pc));
}

/* ---------------------------------------------------------------- locks */

static int ob_lock(pdi_conn *pc, int64_t id, pdi_lock_op op)
{
    odb_conn *oc = (odb_conn *)pc;
    const pdi_dialect *d = pc->db->d;
    if (d->id == PDI_DIALECT_DB2) {
        /* one instance-level lock: an exclusive table lock held by this
         * dedicated session's open transaction, counted per stage */
        if (op == PDI_LOCK_ACQUIRE) {
            if (oc->db2_locks++ > 0)
                return PD_OK;
            int rc = pdi_odbc_begin(pdi_odbc_be_handle(pc));
            if (rc == PD_OK)
                rc = pdi_odbc_be_run(pc, pdi_sql_lock(d, id));
            if (rc) {
                pdi_odbc_rollback(pdi_odbc_be_handle(pc));
                oc->db2_locks = 0;
            }
            return rc;
        }
        if (op == PDI_LOCK_RELEASE && oc->db2_locks > 1) {
            oc->db2_locks--;
            return PD_OK;
        }
        oc->db2_locks = 0;
        return pdi_odbc_rollback(pdi_odbc_be_handle(pc));
    }
    char *sql = op == PDI_LOCK_ACQUIRE   ? pdi_sql_lock(d, id)
                : op == PDI_LOCK_RELEASE ? pdi_sql_unlock(d, id)
                                         : pdi_sql_unlock_all(d);
    if (!sql)
        return pd_last_error_code() ? pd_last_error_code() : PD_ERR_NOMEM;
    int rc = pdi_odbc_query(pdi_odbc_be_handle(pc), sql, 0, NULL, NULL, NULL);
    free(sql);
    return rc;
}

/* ----------------------------------------------------- stage transaction */

static int strv_row(void *user, int ncols, const char *const *names, const char *const *values)
{
    (void)names;
    if (ncols < 1 || !values[0])
        return PD_OK;
    return pdi_strv_push(user, values[0]) ? PD_ERR_NOMEM : PD_OK;
}

static int query_names(pdi_conn *pc, char *sql, pd_strv *out)
{
    if (!sql)
        return PD_ERR_NOMEM;
    int rc = pdi_odbc_query(pdi_odbc_be_handle(pc), sql, 0, NULL, strv_row, out);
    free(sql);
    return rc;
}

/* MSSQL: move every object of `from` into `to` (ALTER SCHEMA .. TRANSFER;
 * tables keep their constraints and indexes). */
static int ms_transfer_all(pdi_conn *pc, const char *from, const char *to)
{
    pd_strv objs = PD_STRV_INIT;
    int rc = query_names(pc, pdi_sql_mssql_list_transferable(from), &objs);
    for (size_t i = 0; i < objs.n && rc == PD_OK; i++)
        rc = pdi_odbc_be_run(pc, pdi_sql_mssql_transfer(to, from, objs.items[i]));
    pdi_strv_free(&objs);
    return rc;
}

/* Replace the contents of `base` by one alias object per object of `tx`:
 * MSSQL synonyms, DB2 aliases (neither can be renamed: dropped and made
 * anew). */
static int publish_aliases(pdi_conn *pc, const pdi_stage_names *st)
{
    bool ms = dialect_id(pc) == PDI_DIALECT_MSSQL;
    const pdi_dialect *d = pc->db->d;
    pd_strv old = PD_STRV_INIT, objs = PD_STRV_INIT;
    int rc = query_names(pc, pdi_sql_list_objects(d, st->base), &old);
    for (size_t i = 0; i < old.n && rc == PD_OK; i++)
        rc = pdi_odbc_be_run(pc, ms ? pdi_sql_mssql_drop_synonym(st->base, old.items[i])
                                    : pdi_sql_db2_drop_alias(st->base, old.items[i]));
    if (rc == PD_OK)
        rc = query_names(pc, pdi_sql_list_objects(d, st->tx), &objs);
    for (size_t i = 0; i < objs.n && rc == PD_OK; i++)
        rc = pdi_odbc_be_run(
            pc, ms ? pdi_sql_mssql_create_synonym(st->base, objs.items[i], st->tx, objs.items[i])
                   : pdi_sql_db2_create_alias(st->base, objs.items[i], st->tx, objs.items[i]));
    pdi_strv_free(&old);
    pdi_strv_free(&objs);
    return rc;
}

static int ms_publish(pdi_conn *pc, const pdi_stage_names *st)
{
    if (st->technique == PD_COMMIT_READ_VIEWS)
        return publish_aliases(pc, st);
    /* SCHEMA_SWAP without a schema rename: three object transfers through
     * an empty scratch schema, inside the store's transaction */
    int rc = pdi_odbc_be_run(pc, pdi_sql_create_schema(pc->db->d, st->swap));
    pd_strv left = PD_STRV_INIT;
    if (rc == PD_OK)
        rc = query_names(pc, pdi_sql_mssql_list_transferable(st->swap), &left);
    if (rc == PD_OK && left.n > 0)
        rc = pd_set_error(PD_ERR_INVALID,
                          "publishing stage '%s': the scratch schema [%s] is not empty (holds "
                          "[%s]%s); drop it and run again",
                          st->stage, st->swap, left.items[0], left.n > 1 ? " and more" : "");
    pdi_strv_free(&left);
    if (rc == PD_OK)
        rc = ms_transfer_all(pc, st->base, st->swap);
    if (rc == PD_OK)
        rc = ms_transfer_all(pc, st->tx, st->base);
    if (rc == PD_OK)
        rc = ms_transfer_all(pc, st->swap, st->tx);
    if (rc == PD_OK)
        rc = pdi_odbc_be_run(pc, pdi_sql_drop_schema(pc->db->d, st->swap));
    return rc;
}

static int db2_publish(pdi_conn *pc, const pdi_stage_names *st)
{
    return publish_aliases(pc, st);
}

/* Snowflake: DDL commits by itself, so the store journals the commit and
 * asks published() after a crash. The swap is one atomic statement; schema
 * comments tell which side of it we are on: init_stage marks the fresh
 * transaction schema "pipedag:new" and the published base "pipedag:published",
 * the swap carries the marks along, so after it the base says "new". */
static const char k_mark_new[] = "pipedag:new";
static const char k_mark_published[] = "pipedag:published";

static int sf_init_stage(pdi_conn *pc, const pdi_stage_names *st)
{
    int rc = pdi_odbc_be_run(pc, pdi_sql_snowflake_mark_schema(st->base, k_mark_published));
    if (rc == PD_OK)
        rc = pdi_odbc_be_run(pc, pdi_sql_snowflake_mark_schema(st->tx, k_mark_new));
    return rc;
}

static int sf_publish(pdi_conn *pc, const pdi_stage_names *st)
{
    return pdi_odbc_be_run(pc, pdi_sql_snowflake_swap(st->base, st->tx));
}

static int sf_published(pdi_db *pdb, const pdi_stage_names *st, bool *done)
{
    *done = false;
    pdi_conn *pc = NULL;
    int rc = pdi_odbc_be_connect(pdb, &pc);
    if (rc)
        return rc;
    pc->db = pdb;
    pd_strv mark = PD_STRV_INIT;
    rc = query_names(pc, pdi_sql_snowflake_schema_mark(st->base), &mark);
    if (rc == PD_OK)
        *done = mark.n == 1 && strcmp(mark.items[0], k_mark_new) == 0;
    pdi_strv_free(&mark);
    pdi_odbc_be_disconnect(pc);
    return rc;
}

/* --------------------------------------------------------------- tables */

static const char *const k_generic[] = {"odbc", NULL};
static const char *const k_mssql[] = {"mssql", NULL};
static const char *const k_db2[] = {"db2", "ibm_db_sa", NULL};
static const char *const k_snowflake[] = {"snowflake", NULL};

#define ODBC_OPS                                                                                \
    .open = ob_open, .close = pdi_odbc_be_close, .connect = pdi_odbc_be_connect,                \
    .disconnect = pdi_odbc_be_disconnect, .exec = pdi_odbc_be_exec, .query = pdi_odbc_be_query, \
    .query_arrow = pdi_odbc_be_query_arrow, .load_arrow = pdi_odbc_be_load_arrow,               \
    .begin = pdi_odbc_be_begin, .commit = pdi_odbc_be_commit, .rollback = pdi_odbc_be_rollback

const pdi_backend pdi_backend_odbc = {
    .version = PDI_BACKEND_VERSION,
    .name = "ODBC",
    .dialects = k_generic,
    .caps = PDI_CAP_SCHEMA_SWAP | PDI_CAP_READ_VIEWS | PDI_CAP_INDEXES | PDI_CAP_TRANSACTIONAL_DDL |
            PDI_CAP_LOCKS,
    ODBC_OPS,
    .lock = ob_lock,
};

const pdi_backend pdi_backend_odbc_mssql = {
    .version = PDI_BACKEND_VERSION,
    .name = "mssql (odbc)",
    .dialects = k_mssql,
    .caps = PDI_CAP_SCHEMA_SWAP | PDI_CAP_READ_VIEWS | PDI_CAP_INDEXES | PDI_CAP_TRANSACTIONAL_DDL |
            PDI_CAP_LOCKS,
    ODBC_OPS,
    .publish = ms_publish,
    .lock = ob_lock,
};

const pdi_backend pdi_backend_odbc_db2 = {
    .version = PDI_BACKEND_VERSION,
    .name = "db2 (odbc)",
    .dialects = k_db2,
    .caps = PDI_CAP_READ_VIEWS | PDI_CAP_INDEXES | PDI_CAP_TRANSACTIONAL_DDL | PDI_CAP_LOCKS,
    .no_schema_swap_reason = "DB2 cannot rename schemas",
    ODBC_OPS,
    .publish = db2_publish,
    .lock = ob_lock,
};

const pdi_backend pdi_backend_odbc_snowflake = {
    .version = PDI_BACKEND_VERSION,
    .name = "snowflake (odbc)",
    .dialects = k_snowflake,
    .caps = PDI_CAP_SCHEMA_SWAP,
    .no_read_views_reason = "its views would be replaced one by one without a transaction "
                            "(DDL commits by itself); SCHEMA_SWAP is one atomic SWAP WITH",
    ODBC_OPS,
    .init_stage = sf_init_stage,
    .publish = sf_publish,
    .published = sf_published,
};
