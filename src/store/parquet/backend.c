/*
 * store/parquet/backend.c - the Parquet table store as a backend
 * (store/backend.h): the DuckDB backend for the catalog, plus the files.
 *
 * Sessions, statements, transactions and Arrow are the DuckDB backend's
 * (forwarded); what differs:
 *  - open: the catalog AND the files side (parquet_base_path checked, S3
 *    settings, cleanup of what a killed run left);
 *  - connect: on S3 every catalog session gets the pipedag_s3_local host
 *    function and the read_parquet macro (docs/parquet_store.md);
 *  - begin_stage: base views pointing into the new slot (a kill between
 *    the catalog and a separate metadata store) are re-pointed to the
 *    other slot; init_stage (before the stage's first write, never in a
 *    stage whose tasks are all cache-valid): the new slot's old files are
 *    deleted before its first write;
 *  - copy_table: a cache-valid table's file is hard-linked (local) or
 *    copied server-side (S3) into the new slot, then its view.
 * Tables are written and read by the hooks in hooks.c.
 */
#include "store/backend.h"
#include "store/dialect/parquet.h"
#include "store/duckdb/duck.h"
#include "store/parquet/parquet_store.h"
#include "store/parquet/pq_int.h"
#include <stdlib.h>
#include <string.h>

extern const pdi_backend pdi_backend_duckdb;
#define DUCK (&pdi_backend_duckdb)

typedef struct pq_be_db {
    pdi_db base;
    pdi_db *duck; /* the catalog, opened by the DuckDB backend */
    pdi_pq *pq;
} pq_be_db;

static pq_be_db *DB(pdi_db *db)
{
    return (pq_be_db *)db;
}

pdi_pq *pdi_parquet_of(pdi_db *db)
{
    return DB(db)->pq;
}

static const char *pa_instance(const pdi_open_args *a)
{
    return a->instance_id && *a->instance_id ? a->instance_id : "pipeline";
}

static int p_open(const pdi_open_args *a, pdi_db **out)
{
    *out = NULL;
    const pd_store_config *sc = a->sc;
    pq_be_db *db = pdi_calloc(1, sizeof *db);
    if (!db)
        return PD_ERR_NOMEM;
    pdi_open_args da = *a;
    da.d = pdi_dialect_get("duckdb");
    int rc = DUCK->open(&da, &db->duck);
    if (rc == PD_OK) {
        db->duck->be = DUCK;
        db->duck->d = da.d;
        db->duck->desc = a->desc;
        pdi_pq_args pa = {0};
        pa.base_path = sc->parquet_base_path;
        pa.instance_id = a->instance_id && *a->instance_id ? a->instance_id : "pipeline";
        pa.s3_endpoint_url = sc->s3_endpoint_url;
        pa.s3_url_style = sc->s3_url_style;
        pa.s3_region = sc->s3_region;
        pa.page_version = sc->parquet_data_page_version;
        pa.print_materialize = false; /* the store logs "Writing table" */
        rc = pdi_pq_open(&pa, &db->pq);
    }
    if (rc == PD_OK && sc->metadata_table_store) {
        /* team sharing: this catalog's user_id, sync_views in the
         * metadata store (a session of its own) */
        pdi_conn *c = NULL;
        char *cm =
            pdi_sql_physical_schema(sc->schema_prefix, "pipedag_metadata", sc->schema_suffix);
        rc = cm ? DUCK->connect(db->duck, &c) : PD_ERR_NOMEM;
        if (rc == PD_OK) {
            c->db = db->duck;
            rc = pdi_pq_sync_open(sc->metadata_table_store, pa_instance(a), pdi_duckdb_conn(c), cm,
                                  &db->pq->sync);
            DUCK->disconnect(c);
        }
        free(cm);
    }
    if (rc) {
        if (db->duck)
            DUCK->close(db->duck);
        free(db);
        return rc;
    }
    db->base.d = da.d;
    *out = &db->base;
    return PD_OK;
}

static void p_close(pdi_db *db)
{
    if (!db)
        return;
    pdi_pq_close(DB(db)->pq);
    DUCK->close(DB(db)->duck);
    free(db);
}

static int p_connect(pdi_db *db, pdi_conn **out)
{
    int rc = DUCK->connect(DB(db)->duck, out);
    if (rc)
        return rc;
    (*out)->db = DB(db)->duck;
    rc = pdi_pq_conn_setup(DB(db)->pq, pdi_duckdb_conn(*out));
    if (rc) {
        DUCK->disconnect(*out);
        *out = NULL;
    }
    return rc;
}

static void p_disconnect(pdi_conn *c)
{
    DUCK->disconnect(c);
}

static int p_exec(pdi_conn *c, const char *sql)
{
    return DUCK->exec(c, sql);
}

static int p_query(pdi_conn *c,
                   const char *sql,
                   size_t nparams,
                   const char *const *params,
                   pd_row_fn row,
                   void *user)
{
    return DUCK->query(c, sql, nparams, params, row, user);
}

static int p_query_arrow(pdi_conn *c, const char *sql, struct ArrowArrayStream *out)
{
    return DUCK->query_arrow(c, sql, out);
}

static int p_load_arrow(
    pdi_conn *c, const char *schema, const char *table, struct ArrowArrayStream *in, int64_t *rows)
{
    return DUCK->load_arrow(c, schema, table, in, rows);
}

static int p_begin(pdi_conn *c)
{
    return DUCK->begin(c);
}

static int p_commit(pdi_conn *c)
{
    return DUCK->commit(c);
}

static int p_rollback(pdi_conn *c)
{
    return DUCK->rollback(c);
}

/* ------------------------------------------------------------- stages */

static int strv_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    return ncols > 0 && vals[0] ? pdi_strv_push(user, vals[0]) : PD_OK;
}

typedef struct targets {
    bool into_tx;
    const char *tx;
} targets;

static int target_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    targets *t = user;
    if (ncols < 2 || !vals[1])
        return PD_OK;
    char *sc = NULL, *tb = NULL;
    bool found = false;
    int rc = pdi_pq_target_of_view_sql(vals[1], &sc, &tb, &found);
    if (rc == PD_OK && found && !strcmp(sc, t->tx))
        t->into_tx = true;
    free(sc);
    free(tb);
    return rc;
}

/* On c (no transaction of its own): drop the views of base, create
 * base.x = SELECT * FROM slot.x for each object of slot (slot NULL: none);
 * with team sharing, base's sync_views rows follow. */
static int repoint_body(pdi_pq *P, pdi_conn *c, const char *base, const char *slot)
{
    const pdi_dialect *d = pdi_dialect_get("duckdb");
    pd_strv old = {0}, objs = {0};
    char *q = pdi_sql_list_objects(d, base);
    int rc = q ? DUCK->query(c, q, 0, NULL, strv_row, &old) : PD_ERR_NOMEM;
    free(q);
    for (size_t i = 0; i < old.n && rc == PD_OK; i++) {
        char *s = pdi_sql_drop_view(d, base, old.items[i]);
        rc = s ? DUCK->exec(c, s) : PD_ERR_NOMEM;
        free(s);
    }
    pdi_crash_point("parquet_mid_repoint");
    if (rc == PD_OK && slot) {
        q = pdi_sql_list_objects(d, slot);
        rc = q ? DUCK->query(c, q, 0, NULL, strv_row, &objs) : PD_ERR_NOMEM;
        free(q);
    }
    pdi_strv_sort(&objs);
    /* binding the base views needs the slot files' footers only */
    bool bind = rc == PD_OK && objs.n;
    if (bind)
        rc = pdi_pq_bind_views(P, pdi_duckdb_conn(c), true);
    for (size_t i = 0; i < objs.n && rc == PD_OK; i++) {
        char *sel = pdi_sql_select_all(d, slot, objs.items[i]);
        char *v = sel ? pdi_sql_create_view(d, base, objs.items[i], sel) : NULL;
        rc = v ? DUCK->exec(c, v) : PD_ERR_NOMEM;
        free(sel);
        free(v);
    }
    if (bind) {
        int r2 = pdi_pq_bind_views(P, pdi_duckdb_conn(c), false);
        if (rc == PD_OK)
            rc = r2;
    }
    if (rc == PD_OK && P->sync) {
        rc = pdi_pq_sync_clear_schema(P->sync, base);
        for (size_t i = 0; i < objs.n && rc == PD_OK; i++)
            rc = pdi_pq_sync_record(P->sync, base, objs.items[i], slot, "schema");
    }
    pdi_strv_free(&old);
    pdi_strv_free(&objs);
    return rc;
}

static int repoint_tx(pdi_pq *P, pdi_conn *c, const char *base, const char *slot)
{
    int rc = DUCK->begin(c);
    if (rc)
        return rc;
    rc = repoint_body(P, c, base, slot);
    if (rc == PD_OK)
        rc = DUCK->commit(c);
    else
        DUCK->rollback(c);
    return rc;
}

/* <stage>__odd <-> <stage>__even, physical (prefix + slot + suffix). */
static char *other_slot(const pdi_stage_names *st)
{
    const char *tl = st->tx_logical;
    bool odd = pdi_str_ends(tl, "__odd");
    size_t stem = strlen(tl) - (odd ? strlen("__odd") : strlen("__even"));
    /* the physical name is prefix + logical + suffix: swap the suffix part
     * at the same place */
    const char *at = strstr(st->tx, tl);
    if (!at)
        return NULL;
    pd_buf b = {0};
    pdi_buf_append(&b, st->tx, (size_t)(at - st->tx) + stem);
    pdi_buf_puts(&b, odd ? "__even" : "__odd");
    pdi_buf_puts(&b, at + strlen(tl));
    return pdi_buf_detach(&b);
}

/* Stage init, before anything reads the stage (the new slot itself is
 * prepared by p_init_stage before the stage's first write). */
static int p_begin_stage(pdi_conn *c, const pdi_stage_names *st)
{
    pdi_pq *P = pdi_parquet_of(c->db);
    char *other = other_slot(st);
    int rc = other ? PD_OK : pd_set_error(PD_ERR_INVALID, "not a READ_VIEWS slot: %s", st->tx);
    pdi_duck_conn *dc = pdi_duckdb_conn(c);
    /* team sharing: the committed slot and the base come from whoever
     * committed last; views of other users are bound on footers only */
    if (rc == PD_OK && P->sync) {
        rc = pdi_pq_bind_views(P, dc, true);
        if (rc == PD_OK)
            rc = pdi_pq_sync_schema(P->sync, dc, other, NULL);
        if (rc == PD_OK)
            rc = pdi_pq_sync_schema(P->sync, dc, st->base, NULL);
        int r2 = pdi_pq_bind_views(P, dc, false);
        if (rc == PD_OK)
            rc = r2;
    }
    /* base views must not read from the slot about to be cleared (a kill
     * between the catalog and a separate metadata store): back to the
     * other (committed) slot */
    targets t = {false, st->tx};
    if (rc == PD_OK) {
        char *q = pdi_sql_pq_views_of_schema();
        const char *p[1] = {st->base};
        rc = q ? DUCK->query(c, q, 1, p, target_row, &t) : PD_ERR_NOMEM;
        free(q);
    }
    if (rc == PD_OK && t.into_tx) {
        pdi_log(PD_LOG_WARN,
                "stage '%s': the catalog's views read the slot %s that the metadata does not "
                "show as committed (a commit was interrupted): re-pointing them to %s",
                st->stage, st->tx, other);
        rc = repoint_tx(P, c, st->base, other);
    }
    free(other);
    return rc;
}

/* Before the stage's first write: the new slot's sync rows go (team
 * sharing), its old files are deleted before its first file is written. */
static int p_init_stage(pdi_conn *c, const pdi_stage_names *st)
{
    pdi_pq *P = pdi_parquet_of(c->db);
    int rc = PD_OK;
    if (P->sync)
        rc = pdi_pq_sync_clear_schema(P->sync, st->tx);
    if (rc == PD_OK)
        rc = pdi_pq_slot_init(P, st->tx);
    return rc;
}

/* Journaled commit with a separate metadata store: did publish of this
 * slot complete (do the base views read it)? */
static int p_published(pdi_db *db, const pdi_stage_names *st, bool *done)
{
    *done = false;
    pdi_conn *c = NULL;
    int rc = DUCK->connect(DB(db)->duck, &c);
    if (rc)
        return rc;
    c->db = db;
    targets t = {false, st->tx};
    char *q = pdi_sql_pq_views_of_schema();
    const char *p[1] = {st->base};
    rc = q ? DUCK->query(c, q, 1, p, target_row, &t) : PD_ERR_NOMEM;
    free(q);
    DUCK->disconnect(c);
    *done = rc == PD_OK && t.into_tx;
    return rc;
}

static int p_publish(pdi_conn *c, const pdi_stage_names *st)
{
    if (st->technique != PD_COMMIT_READ_VIEWS)
        return pd_set_error(PD_ERR_CONFIG, "ParquetTableStore supports only READ_VIEWS");
    return repoint_body(pdi_parquet_of(c->db), c, st->base, st->tx);
}

static int p_copy_table(
    pdi_conn *c, const char *from_schema, const char *from, const char *to_schema, const char *to)
{
    return pdi_pq_copy(pdi_parquet_of(c->db), pdi_duckdb_conn(c), from_schema, from, to_schema, to);
}

/* The files behind view schema.table of the catalog (*found), and whether
 * it reads them plainly (*plain: no View shape of columns, sort or limit),
 * as the probes from the files need. */
static int plain_files(
    pdi_conn *c, const char *schema, const char *table, pd_strv *files, bool *found, bool *plain)
{
    char *shape = NULL;
    int rc = pdi_pq_view_of(pdi_duckdb_conn(c), schema, table, files, &shape, NULL, found);
    *plain = rc == PD_OK && *found && !shape;
    free(shape);
    return rc;
}

/* The hash probe of a unique check on a view that reads Parquet files (the
 * store's own views; Parquet strings carry no collation): a plain table's
 * column straight from its files with our codec (pq_unique.c); a shaped
 * View, or a column type our probe does not hash, through DuckDB's hash on
 * the view (store/duckdb/duck_unique.c). */
static int p_unique_probe(pdi_conn *c,
                          const char *schema,
                          const char *table,
                          const char *column,
                          const char *any_where,
                          bool *distinct,
                          int *any)
{
    (void)any_where;
    *any = -1;
    *distinct = false;
    pd_strv files = PD_STRV_INIT;
    bool found = false, plain = false;
    int rc = plain_files(c, schema, table, &files, &found, &plain);
    if (rc == PD_OK && plain)
        rc = pdi_pq_unique_probe(pdi_parquet_of(c->db)->fs, &files, column, distinct);
    else if (rc == PD_OK)
        rc = PD_ERR_UNSUPPORTED;
    pdi_strv_free(&files);
    if (rc == PD_ERR_UNSUPPORTED && found) {
        pd_clear_error();
        rc = pdi_duck_unique_probe(pdi_duckdb_conn(c), schema, table, column, true, distinct);
    }
    return rc;
}

/* The scan checks decided from the footers of a plain table's files
 * (pq_unique.c); a shaped View, or what the statistics do not decide: the
 * scan in the catalog. */
static int p_scan_proof(pdi_conn *c,
                        const char *schema,
                        const char *table,
                        const pd_table_check *checks,
                        size_t n,
                        bool *proven)
{
    *proven = false;
    pd_strv files = PD_STRV_INIT;
    bool found = false, plain = false;
    int rc = plain_files(c, schema, table, &files, &found, &plain);
    if (rc == PD_OK && plain)
        rc = pdi_pq_scan_proof(pdi_parquet_of(c->db)->fs, &files, checks, n, proven);
    pdi_strv_free(&files);
    return rc;
}

const pdi_backend pdi_backend_parquet = {
    .version = PDI_BACKEND_VERSION,
    .name = "parquet",
    .dialects = NULL, /* chosen by class ParquetTableStore, never by URL */
    .caps = PDI_CAP_READ_VIEWS | PDI_CAP_TRANSACTIONAL_DDL | PDI_CAP_NO_KEYS,
    .no_schema_swap_reason = "ParquetTableStore supports only READ_VIEWS (tables are files that "
                             "are never moved, and its DuckDB catalog cannot rename schemas)",
    .open = p_open,
    .close = p_close,
    .connect = p_connect,
    .disconnect = p_disconnect,
    .exec = p_exec,
    .query = p_query,
    .query_arrow = p_query_arrow,
    .load_arrow = p_load_arrow,
    .begin = p_begin,
    .commit = p_commit,
    .rollback = p_rollback,
    .copy_table = p_copy_table,
    .init_stage = p_init_stage,
    .begin_stage = p_begin_stage,
    .publish = p_publish,
    .published = p_published,
    .unique_probe = p_unique_probe,
    .scan_proof = p_scan_proof,
};
