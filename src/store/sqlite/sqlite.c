/*
 * store/sqlite/sqlite.c - the SQLite backend (store/backend.h): the
 * sqlite3 connector and what only SQLite needs - a schema is a file, and a
 * SCHEMA_SWAP commit is a crash-safe file rename.
 *
 * A store is a directory; schema S is the database file <dir>/S.sqlite,
 * ATTACHed under the name S when a statement references it ("S". or S.
 * followed by a name) and the file exists. SQLite allows 10 attached
 * databases: the least recently used one not needed by the statement is
 * detached first. Prepared statements are cached by SQL text. Arrow batches
 * are inserted with one prepared INSERT; results are read back as Arrow with
 * column types recovered from the declared column types.
 */
#include "store/backend.h"
#include "store/sqlite/sqlite_files.h"
#include "store/sqlite/sqlite_session.h"
#include "store/sqlite/sqlite_unique.h"
#include "util/util.h"
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SQ_STMT_CACHE 48

typedef struct sq_stmt {
    char *sql;
    sqlite3_stmt *st;
    uint64_t last_use;
} sq_stmt;

typedef struct sq_db {
    pdi_db base;
    char *dir; /* the store directory */
} sq_db;

typedef struct sq_conn {
    pdi_sqlite_conn base; /* pdi_conn, and the attached schema files */
    sqlite3 *db;
    char *dir;
    uint64_t tick; /* of the statement cache */
    sq_stmt cache[SQ_STMT_CACHE];
    bool unique_hash; /* pd_unique_hash is registered (sqlite_unique.c) */
} sq_conn;

static sq_conn *SQ(pdi_conn *c)
{
    return (sq_conn *)c;
}

static int sq_err(sq_conn *q, const char *what, const char *sql)
{
    const char *msg = sqlite3_errmsg(q->db);
    if (sql) {
        size_t n = strlen(sql);
        return pd_set_error(PD_ERR_SQL, "sqlite: %s: %s (in: %.*s%s)", what, msg,
                            n > 300 ? 300 : (int)n, sql, n > 300 ? "..." : "");
    }
    return pd_set_error(PD_ERR_SQL, "sqlite: %s: %s", what, msg);
}

static int url_dir(const char *url, char **dir_out)
{
    *dir_out = NULL;
    const char *p = NULL;
    if (pdi_str_starts(url, "sqlite:///"))
        p = url + strlen("sqlite:///");
    else if (pdi_str_starts(url, "sqlite://"))
        p = url + strlen("sqlite://");
    else
        return pd_set_error(PD_ERR_CONFIG, "not a sqlite URL: %s", url ? url : "(null)");
    /* sqlite:////abs -> p = "/abs"; sqlite:///rel -> "rel" */
    size_t n = strcspn(p, "?");
    while (n > 1 && p[n - 1] == '/')
        n--;
    if (n == 0)
        return pd_set_error(PD_ERR_CONFIG, "sqlite URL without a path: %s", url);
    *dir_out = pdi_strndup(p, n);
    return *dir_out ? PD_OK : PD_ERR_NOMEM;
}

static void finalize_cache(sq_conn *q)
{
    for (int i = 0; i < SQ_STMT_CACHE; i++) {
        if (q->cache[i].st)
            sqlite3_finalize(q->cache[i].st);
        free(q->cache[i].sql);
        q->cache[i].st = NULL;
        q->cache[i].sql = NULL;
    }
}

/* ATTACH file AS schema (store/sqlite/sqlite_session.c keeps the set). */
static int sq_attach(pdi_conn *c, const char *sql, const char *file, const char *schema)
{
    sq_conn *q = SQ(c);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, file, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, schema, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
    }
    return rc == SQLITE_DONE ? PD_OK : sq_err(q, "attach", schema);
}

static int sq_detach(pdi_conn *c, const char *sql, const char *schema)
{
    sq_conn *q = SQ(c);
    /* cached statements may reference the schema: drop them */
    finalize_cache(q);
    if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return sq_err(q, "detach", schema);
    return PD_OK;
}

static void sq_pragmas(pdi_conn *c, const char *script)
{
    sqlite3_exec(SQ(c)->db, script, NULL, NULL, NULL);
}

static int cached_prepare(sq_conn *q, const char *sql, sqlite3_stmt **out)
{
    int free_slot = -1, lru = 0;
    for (int i = 0; i < SQ_STMT_CACHE; i++) {
        if (q->cache[i].sql && strcmp(q->cache[i].sql, sql) == 0) {
            q->cache[i].last_use = ++q->tick;
            sqlite3_reset(q->cache[i].st);
            sqlite3_clear_bindings(q->cache[i].st);
            *out = q->cache[i].st;
            return PD_OK;
        }
        if (!q->cache[i].sql && free_slot < 0)
            free_slot = i;
        if (q->cache[i].last_use < q->cache[lru].last_use)
            lru = i;
    }
    int rc = pdi_sqlite_attach_for(&q->base.base, sql);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK)
        return sq_err(q, "prepare", sql);
    int slot = free_slot >= 0 ? free_slot : lru;
    if (q->cache[slot].st)
        sqlite3_finalize(q->cache[slot].st);
    free(q->cache[slot].sql);
    q->cache[slot].sql = pdi_strdup(sql);
    q->cache[slot].st = st;
    q->cache[slot].last_use = ++q->tick;
    if (!q->cache[slot].sql) {
        sqlite3_finalize(st);
        q->cache[slot].st = NULL;
        return PD_ERR_NOMEM;
    }
    *out = st;
    return PD_OK;
}

static int step_rows(sq_conn *q, sqlite3_stmt *st, const char *sql, pd_row_fn row, void *user)
{
    int ncol = sqlite3_column_count(st);
    const char *names[256];
    const char *vals[256];
    const char **pn = ncol <= 256 ? names : pdi_calloc((size_t)ncol, sizeof *pn);
    const char **pv = ncol <= 256 ? vals : pdi_calloc((size_t)ncol, sizeof *pv);
    int rc = PD_OK;
    if (!pn || !pv) {
        rc = PD_ERR_NOMEM;
        goto done;
    }
    for (;;) {
        int s = sqlite3_step(st);
        if (s == SQLITE_DONE)
            break;
        if (s != SQLITE_ROW) {
            rc = sq_err(q, "execute", sql);
            break;
        }
        if (!row)
            continue;
        for (int i = 0; i < ncol; i++) {
            pn[i] = sqlite3_column_name(st, i);
            pv[i] = (const char *)sqlite3_column_text(st, i);
        }
        int r = row(user, ncol, pn, pv);
        if (r) {
            rc = r;
            break;
        }
    }
done:
    sqlite3_reset(st);
    if (pn != names)
        free(pn);
    if (pv != vals)
        free(pv);
    return rc;
}

static int sq_query_params(
    pdi_conn *c, const char *sql, size_t np, const char *const *params, pd_row_fn row, void *user)
{
    sq_conn *q = SQ(c);
    pdi_log_sql(c, sql);
    sqlite3_stmt *st;
    int rc = cached_prepare(q, sql, &st);
    if (rc)
        return rc;
    for (size_t i = 0; i < np; i++) {
        if (params[i])
            sqlite3_bind_text(st, (int)i + 1, params[i], -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, (int)i + 1);
    }
    rc = step_rows(q, st, sql, row, user);
    sqlite3_clear_bindings(st);
    return rc;
}

/* Execute a script statement by statement (prepare tail handling). */
static int run_script(sq_conn *q, const char *sql, pd_row_fn row, void *user)
{
    int rc = pdi_sqlite_attach_for(&q->base.base, sql);
    if (rc)
        return rc;
    const char *p = sql;
    while (p && *p) {
        sqlite3_stmt *st = NULL;
        const char *tail = NULL;
        if (sqlite3_prepare_v2(q->db, p, -1, &st, &tail) != SQLITE_OK) {
            /* the statement may reference a schema created earlier in the script */
            if (pdi_sqlite_attach_for(&q->base.base, p) == PD_OK &&
                sqlite3_prepare_v2(q->db, p, -1, &st, &tail) == SQLITE_OK) {
            } else {
                return sq_err(q, "prepare", p);
            }
        }
        if (!st) { /* whitespace / comment only */
            p = tail;
            continue;
        }
        pdi_log_sql(&q->base.base, sqlite3_sql(st));
        rc = step_rows(q, st, sqlite3_sql(st), row, user);
        sqlite3_finalize(st);
        if (rc)
            return rc;
        p = tail;
    }
    return PD_OK;
}

static int sq_exec(pdi_conn *c, const char *sql)
{
    return run_script(SQ(c), sql, NULL, NULL);
}

/* Parameterised statements are prepared once and cached; others (the
 * store's one-off catalog queries, user queries) run as scripts. */
static int sq_query(
    pdi_conn *c, const char *sql, size_t np, const char *const *params, pd_row_fn row, void *user)
{
    if (np)
        return sq_query_params(c, sql, np, params, row, user);
    return run_script(SQ(c), sql, row, user);
}

static int sq_simple(sq_conn *q, const char *sql)
{
    pdi_log_sql(&q->base.base, sql);
    if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return sq_err(q, sql, NULL);
    return PD_OK;
}

static int sq_begin(pdi_conn *c)
{
    return sq_simple(SQ(c), pdi_sql_begin(&pdi_dialect_sqlite));
}
static int sq_commit(pdi_conn *c)
{
    return sq_simple(SQ(c), pdi_sql_commit(&pdi_dialect_sqlite));
}
static int sq_rollback(pdi_conn *c)
{
    sq_conn *q = SQ(c);
    if (sqlite3_get_autocommit(q->db))
        return PD_OK;
    return sq_simple(q, pdi_sql_rollback(&pdi_dialect_sqlite));
}

/* ---------------------------------------------------------------- Arrow */

static int bind_value(sq_conn *q,
                      sqlite3_stmt *st,
                      int idx,
                      const struct ArrowSchema *cs,
                      const struct ArrowArray *ca,
                      int64_t row)
{
    (void)q;
    if (pd_arrow_is_null(ca, row))
        return sqlite3_bind_null(st, idx);
    const char *f = cs->format;
    switch (f[0]) {
    case 'b':
    case 'c':
    case 's':
    case 'i':
    case 'l':
    case 'C':
    case 'S':
    case 'I': return sqlite3_bind_int64(st, idx, pd_arrow_get_int(cs, ca, row));
    case 'L': {
        uint64_t u = (uint64_t)pd_arrow_get_int(cs, ca, row);
        if (u > (uint64_t)INT64_MAX)
            return sqlite3_bind_double(st, idx, (double)u);
        return sqlite3_bind_int64(st, idx, (int64_t)u);
    }
    case 'e':
    case 'f':
    case 'g': return sqlite3_bind_double(st, idx, pd_arrow_get_double(cs, ca, row));
    case 'u':
    case 'U': {
        size_t len = 0;
        const uint8_t *p = pd_arrow_get_bytes(cs, ca, row, &len);
        return sqlite3_bind_text64(st, idx, (const char *)p, len, SQLITE_STATIC, SQLITE_UTF8);
    }
    case 'z':
    case 'Z':
    case 'w': {
        size_t len = 0;
        const uint8_t *p = pd_arrow_get_bytes(cs, ca, row, &len);
        return sqlite3_bind_blob64(st, idx, p ? (const void *)p : "", len, SQLITE_STATIC);
    }
    default: {
        char buf[128];
        int n = pd_arrow_get_text(cs, ca, row, buf, sizeof buf);
        if (n < 0)
            return SQLITE_MISMATCH;
        if ((size_t)n >= sizeof buf) {
            char *big = pdi_malloc((size_t)n + 1);
            if (!big)
                return SQLITE_NOMEM;
            pd_arrow_get_text(cs, ca, row, big, (size_t)n + 1);
            return sqlite3_bind_text(st, idx, big, n, free);
        }
        return sqlite3_bind_text(st, idx, buf, n, SQLITE_TRANSIENT);
    }
    }
}

/* Insert one batch with the cached prepared INSERT `sql`. */
static int insert_batch(sq_conn *q,
                        const char *sql,
                        const struct ArrowSchema *schema,
                        const struct ArrowArray *batch)
{
    sqlite3_stmt *st;
    int rc = cached_prepare(q, sql, &st);
    if (rc)
        return rc;
    for (int64_t r = 0; r < batch->length && rc == PD_OK; r++) {
        for (int64_t k = 0; k < schema->n_children; k++) {
            const struct ArrowArray *ca = batch->children[k];
            int brc = bind_value(q, st, (int)k + 1, schema->children[k], ca, r + batch->offset);
            if (brc != SQLITE_OK) {
                rc =
                    pd_set_error(PD_ERR_SQL, "sqlite: cannot bind column '%s' (format %s) row %lld",
                                 schema->children[k]->name ? schema->children[k]->name : "?",
                                 schema->children[k]->format, (long long)r);
                break;
            }
        }
        if (rc)
            break;
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = sq_err(q, "insert", sql);
        sqlite3_reset(st);
    }
    sqlite3_clear_bindings(st);
    return rc;
}

static int sq_load_arrow(
    pdi_conn *c, const char *schema, const char *table, struct ArrowArrayStream *in, int64_t *rows)
{
    sq_conn *q = SQ(c);
    if (rows)
        *rows = 0;
    struct ArrowSchema sch = {0};
    if (in->get_schema(in, &sch) != 0) {
        const char *m = in->get_last_error ? in->get_last_error(in) : NULL;
        return pd_set_error(PD_ERR_INVALID, "reading Arrow schema of table '%s': %s", table,
                            m ? m : "stream error");
    }
    char *sql = pdi_sql_insert_values(&pdi_dialect_sqlite, schema, table, (size_t)sch.n_children);
    int rc = sql ? pdi_sqlite_attach(&q->base.base, schema, false, NULL, 0) : PD_ERR_NOMEM;
    bool own = rc == PD_OK && sqlite3_get_autocommit(q->db);
    if (own)
        rc = sq_begin(c);
    while (rc == PD_OK) {
        struct ArrowArray a = {0};
        if (in->get_next(in, &a) != 0) {
            const char *m = in->get_last_error ? in->get_last_error(in) : NULL;
            rc = pd_set_error(PD_ERR_INVALID, "reading Arrow batch of table '%s': %s", table,
                              m ? m : "stream error");
            break;
        }
        if (!a.release)
            break;
        if (a.length > 0)
            rc = insert_batch(q, sql, &sch, &a);
        if (rc == PD_OK && rows)
            *rows += a.length;
        a.release(&a);
    }
    if (own) {
        if (rc == PD_OK)
            rc = sq_commit(c);
        else
            sq_rollback(c);
    }
    if (sch.release)
        sch.release(&sch);
    free(sql);
    return rc;
}

/* Arrow format from a sqlite declared type: the dialect's inverse type
 * map; "" (no usable declared type) -> from the storage class. */
static const char *format_for_decl(const char *decl, int first_type, char *buf, size_t cap)
{
    const char *f = pdi_sql_arrow_for_type(&pdi_dialect_sqlite, decl, buf, cap);
    if (f && *f)
        return f;
    switch (first_type) {
    case SQLITE_INTEGER: return "l";
    case SQLITE_FLOAT: return "g";
    case SQLITE_BLOB: return "z";
    default: return "u";
    }
}

typedef struct sq_stream {
    sqlite3_stmt *st; /* owned (not cached) */
    pd_arrow_builder *b;
    struct ArrowSchema schema;
    int64_t batch_rows;
    bool done, have_row;
    char *err;
} sq_stream;

static int append_cell(pd_arrow_builder *b, size_t k, sqlite3_stmt *st)
{
    int t = sqlite3_column_type(st, (int)k);
    const char *fmt = pd_arrow_builder_column_format(b, k);
    if (t == SQLITE_NULL)
        return pd_arrow_builder_append_null(b, k);
    if (fmt[0] == 'b')
        return pd_arrow_builder_append_bool(b, k, sqlite3_column_int64(st, (int)k) != 0);
    if (t == SQLITE_INTEGER && fmt[0] != 't' && fmt[0] != 'u')
        return pd_arrow_builder_append_int(b, k, sqlite3_column_int64(st, (int)k));
    if (t == SQLITE_FLOAT && (fmt[0] == 'g' || fmt[0] == 'f' || fmt[0] == 'e'))
        return pd_arrow_builder_append_double(b, k, sqlite3_column_double(st, (int)k));
    if (t == SQLITE_BLOB || fmt[0] == 'z') {
        const void *p = sqlite3_column_blob(st, (int)k);
        int n = sqlite3_column_bytes(st, (int)k);
        return pd_arrow_builder_append_bytes(b, k, p ? p : "", (size_t)n);
    }
    const unsigned char *s = sqlite3_column_text(st, (int)k);
    int n = sqlite3_column_bytes(st, (int)k);
    return pd_arrow_builder_append_bytes(b, k, s ? (const void *)s : "", (size_t)n);
}

static int sq_stream_fill(sq_stream *s, struct ArrowArray *out)
{
    out->release = NULL;
    if (s->done && !s->have_row)
        return PD_OK;
    while (pd_arrow_builder_num_rows(s->b) < s->batch_rows) {
        if (!s->have_row) {
            int r = sqlite3_step(s->st);
            if (r == SQLITE_DONE) {
                s->done = true;
                break;
            }
            if (r != SQLITE_ROW)
                return pd_set_error(PD_ERR_SQL, "sqlite: %s",
                                    sqlite3_errmsg(sqlite3_db_handle(s->st)));
        }
        s->have_row = false;
        size_t nc = pd_arrow_builder_num_columns(s->b);
        for (size_t k = 0; k < nc; k++) {
            int rc = append_cell(s->b, k, s->st);
            if (rc)
                return rc;
        }
    }
    if (pd_arrow_builder_num_rows(s->b) == 0 && s->done)
        return PD_OK;
    return pd_arrow_builder_finish(s->b, NULL, out);
}

static void sqs_free(sq_stream *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->st);
    pd_arrow_builder_free(s->b);
    if (s->schema.release)
        s->schema.release(&s->schema);
    free(s->err);
    free(s);
}

/* The whole result is read into batches before returning (the stream must
 * not touch the connection, which goes back to the pool); the first row
 * gives the types of undeclared columns. */
static int sq_query_arrow(pdi_conn *c, const char *sql, struct ArrowArrayStream *out)
{
    const int64_t batch_rows = 65536;
    sq_conn *q = SQ(c);
    memset(out, 0, sizeof *out);
    int rc = pdi_sqlite_attach_for(&q->base.base, sql);
    if (rc)
        return rc;
    sq_stream *s = pdi_calloc(1, sizeof *s);
    if (!s)
        return PD_ERR_NOMEM;
    s->batch_rows = batch_rows > 0 ? batch_rows : 65536;
    if (sqlite3_prepare_v2(q->db, sql, -1, &s->st, NULL) != SQLITE_OK || !s->st) {
        rc = sq_err(q, "prepare", sql);
        free(s);
        return rc;
    }
    int r = sqlite3_step(s->st);
    if (r == SQLITE_ROW)
        s->have_row = true;
    else if (r == SQLITE_DONE)
        s->done = true;
    else {
        rc = sq_err(q, "query", sql);
        sqlite3_finalize(s->st);
        free(s);
        return rc;
    }
    rc = pd_arrow_builder_new(&s->b);
    int ncol = sqlite3_column_count(s->st);
    /* Columns without a usable declared type (expressions, NUM): the
     * storage classes of ALL rows decide, so one pass over the result
     * first (only when such columns exist). */
    int *seen = pdi_calloc(ncol > 0 ? (size_t)ncol : 1, sizeof *seen);
    bool scan = false;
    for (int k = 0; k < ncol; k++) {
        const char *decl = sqlite3_column_decltype(s->st, k);
        if (!decl || !*decl || strcasecmp(decl, "NUM") == 0)
            scan = true;
    }
    if (!seen)
        rc = PD_ERR_NOMEM;
    if (rc == PD_OK && scan && s->have_row) {
        int sr;
        do {
            for (int k = 0; k < ncol; k++)
                seen[k] |= 1 << sqlite3_column_type(s->st, k);
            sr = sqlite3_step(s->st);
        } while (sr == SQLITE_ROW);
        if (sr != SQLITE_DONE)
            rc = sq_err(q, "query", sql);
        sqlite3_reset(s->st);
        if (rc == PD_OK && sqlite3_step(s->st) != SQLITE_ROW)
            rc = sq_err(q, "query", sql);
    }
    for (int k = 0; k < ncol && rc == PD_OK; k++) {
        const char *decl = sqlite3_column_decltype(s->st, k);
        int m = seen[k], ty = SQLITE_NULL;
        if (!scan && s->have_row)
            ty = sqlite3_column_type(s->st, k);
        else if (m & (1 << SQLITE_TEXT) ||
                 ((m & (1 << SQLITE_BLOB)) && (m & ((1 << SQLITE_INTEGER) | (1 << SQLITE_FLOAT)))))
            ty = SQLITE_TEXT;
        else if (m & (1 << SQLITE_BLOB))
            ty = SQLITE_BLOB;
        else if (m & (1 << SQLITE_FLOAT))
            ty = SQLITE_FLOAT;
        else if (m & (1 << SQLITE_INTEGER))
            ty = SQLITE_INTEGER;
        else if (s->have_row)
            ty = sqlite3_column_type(s->st, k);
        char dec[48];
        const char *fmt = format_for_decl(decl, ty, dec, sizeof dec);
        rc = pd_arrow_builder_add_column(s->b, sqlite3_column_name(s->st, k), fmt, 1);
    }
    free(seen);
    if (rc == PD_OK) {
        /* schema: finish an empty batch once to obtain it */
        struct ArrowArray empty;
        bool had = s->have_row;
        s->have_row = false;
        rc = pd_arrow_builder_finish(s->b, &s->schema, &empty);
        if (rc == PD_OK && empty.release)
            empty.release(&empty);
        s->have_row = had;
    }
    struct ArrowArray *batches = NULL;
    size_t nb = 0, cap = 0;
    while (rc == PD_OK) {
        struct ArrowArray a;
        rc = sq_stream_fill(s, &a);
        if (rc || !a.release)
            break;
        struct ArrowArray *nbv = pdi_grow(batches, &cap, nb, sizeof *nbv, 4);
        if (!nbv) {
            a.release(&a);
            rc = PD_ERR_NOMEM;
            break;
        }
        batches = nbv;
        batches[nb++] = a;
    }
    if (rc == PD_OK) {
        struct ArrowSchema sch;
        pd_arrow_schema_move(&s->schema, &sch);
        rc = pd_arrow_stream_from_batches(&sch, batches, nb, out);
        nb = 0;
    }
    for (size_t i = 0; i < nb; i++)
        if (batches[i].release)
            batches[i].release(&batches[i]);
    free(batches);
    sqs_free(s);
    return rc;
}

/* ============================================================ backend */

/* What store/sqlite/sqlite_session.c runs on this connection (in the
 * order of pdi_sqlite_ops). */
static const pdi_sqlite_ops k_ops = {"sqlite", sq_attach, sq_detach, sq_pragmas, sq_exec, sq_query};

static void sq_disconnect(pdi_conn *c)
{
    if (!c)
        return;
    sq_conn *q = SQ(c);
    finalize_cache(q);
    pdi_sqlite_session_clear(&q->base);
    if (q->db)
        sqlite3_close_v2(q->db);
    free(q->dir);
    free(q);
}

static int sq_connect(pdi_db *dbp, pdi_conn **out)
{
    *out = NULL;
    sq_db *d = (sq_db *)dbp;
    sq_conn *q = pdi_calloc(1, sizeof *q);
    if (!q)
        return PD_ERR_NOMEM;
    q->dir = pdi_strdup(d->dir);
    int rc = sqlite3_open_v2(
        ":memory:", &q->db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
    if (rc != SQLITE_OK || !q->dir) {
        int code = q->dir ? PD_ERR_SQL : PD_ERR_NOMEM;
        pd_set_error(code, "sqlite: cannot open connection for %s: %s", d->dir,
                     q->dir ? sqlite3_errstr(rc) : "out of memory");
        sq_disconnect(&q->base.base);
        return code;
    }
    sqlite3_busy_timeout(q->db, 60000);
    pdi_sqlite_session_init(&q->base, &k_ops, q->dir,
                            sqlite3_limit(q->db, SQLITE_LIMIT_ATTACHED, -1));
    q->unique_hash = pdi_sq_unique_register(q->db);
    *out = &q->base.base;
    return PD_OK;
}

static int sq_open(const pdi_open_args *a, pdi_db **out)
{
    *out = NULL;
    sq_db *d = pdi_calloc(1, sizeof *d);
    if (!d)
        return PD_ERR_NOMEM;
    int rc = url_dir(a->sc->url ? a->sc->url : "sqlite:///.pipedag", &d->dir);
    if (rc == PD_OK)
        rc = pdi_mkdir_p(d->dir);
    if (rc) {
        free(d->dir);
        free(d);
        return rc;
    }
    *out = &d->base;
    return PD_OK;
}

static void sq_close_db(pdi_db *dbp)
{
    sq_db *d = (sq_db *)dbp;
    if (!d)
        return;
    free(d->dir);
    free(d);
}

static int sq_list_schemas(pdi_conn *c, pd_strv *out)
{
    return pdi_sqlite_list_schema_files(SQ(c)->dir, out);
}

static int sq_published(pdi_db *dbp, const pdi_stage_names *st, bool *done)
{
    return pdi_sqlite_published(((sq_db *)dbp)->dir, st, done);
}

/* One run of pd_unique_hash over schema.table.column (see sqlite_unique.c
 * for what *out means; *any: the second column, when there is one). */
static int probe_pass(sq_conn *q,
                      const char *sql,
                      const char *schema,
                      const char *table,
                      const char *column,
                      int64_t *out,
                      int *any)
{
    pdi_log_sql(&q->base.base, sql);
    sqlite3_stmt *st;
    int rc = cached_prepare(q, sql, &st); /* attaches the schema's file */
    if (rc)
        return rc;
    /* only a BINARY column compares values by their bytes (and numbers by
     * value), as the canonical hash does; a view (no column metadata) or
     * another collation (NOCASE, RTRIM, a custom one): no probe */
    const char *coll = NULL;
    if (sqlite3_table_column_metadata(q->db, schema, table, column, NULL, &coll, NULL, NULL,
                                      NULL) != SQLITE_OK ||
        !coll || strcasecmp(coll, "BINARY") != 0) {
        sqlite3_reset(st);
        return PD_ERR_UNSUPPORTED;
    }
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        if (sqlite3_column_count(st) > 1)
            *any = sqlite3_column_int64(st, 1) ? 1 : 0;
    }
    rc = s == SQLITE_ROW ? PD_OK : sq_err(q, "execute", sql);
    sqlite3_reset(st);
    return rc;
}

/* The hash probe of a unique check (backend.h): one pass while the
 * non-NULL values fit PDI_UNIQUE_MAX_HASHES hashes, else as many passes
 * over the table as make each pass's share fit (pdi_unique_passes).
 * The scan checks' predicate rides along on the first pass's scan. */
static int sq_unique_probe(pdi_conn *c,
                           const char *schema,
                           const char *table,
                           const char *column,
                           const char *any_where,
                           bool *distinct,
                           int *any)
{
    sq_conn *q = SQ(c);
    *distinct = false;
    *any = -1;
    if (!q->unique_hash)
        return PD_ERR_UNSUPPORTED;
    int64_t passes = 1, r = 0;
    for (int64_t pass = 0; pass < passes; pass++) {
        const char *w = *any < 0 ? any_where : NULL;
        char *sql = pdi_sql_check_unique_hash(c->db->d, schema, table, column, pass, passes, w);
        int rc = sql ? probe_pass(q, sql, schema, table, column, &r, any) : PD_ERR_NOMEM;
        free(sql);
        if (rc)
            return rc;
        if (r > 0) /* a repeated hash */
            return PD_OK;
        if (r < 0) {
            if (passes > 1) /* a share still too big (a skewed hash): no probe */
                return PD_ERR_UNSUPPORTED;
            passes = pdi_unique_passes(-r);
            pass = -1;
        }
    }
    *distinct = true;
    return PD_OK;
}

static const char *const g_names[] = {"sqlite", NULL};

const pdi_backend pdi_backend_sqlite = {
    .version = PDI_BACKEND_VERSION,
    .name = "SQLite",
    .dialects = g_names,
    PDI_SQLITE_BACKEND_COMMON,
    .open = sq_open,
    .close = sq_close_db,
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .exec = sq_exec,
    .query = sq_query,
    .query_arrow = sq_query_arrow,
    .load_arrow = sq_load_arrow,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .list_schemas = sq_list_schemas,
    .published = sq_published,
    .unique_probe = sq_unique_probe,
};
