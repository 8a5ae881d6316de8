/*
 * store/duckdb/duck_arrow.c - Arrow tables in and out of DuckDB.
 *
 * Out: the query runs to a materialized DuckDB result; the stream converts
 * one DuckDB data chunk at a time to an Arrow struct array with DuckDB's
 * own converter (duckdb_data_chunk_to_arrow, schema by
 * duckdb_to_arrow_schema, both with the connection's Arrow options).
 *
 * In: the stream is registered as a view with DuckDB's Arrow scan (duckdb_arrow_scan) and loaded by
 * one INSERT INTO target SELECT * FROM that view (statements from the dialect). DuckDB's threads
 * read the stream a batch at a time and convert and insert in parallel, keeping insertion order;
 * the appender it replaces ran on the calling thread alone.
 */
#include "store/dialect/dialect.h"
#include "store/duckdb/duck_int.h"
#include "util/util.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ DuckDB out */

static const char *err_text(const pdi_duck_api *A, duck_error_data e)
{
    const char *m = e ? A->error_data_message(e) : NULL;
    return m ? m : "failed";
}

typedef struct duck_stream {
    const pdi_duck_api *A;
    pdi_duck_db *db; /* reference held: the result lives in its memory */
    duck_result r;
    duck_arrow_options opts;
    struct ArrowSchema schema;
    char *err;
} duck_stream;

static int ds_fail(duck_stream *s, const char *what, duck_error_data e)
{
    const pdi_duck_api *A = s->A;
    free(s->err);
    s->err = pdi_asprintf("duckdb: %s: %s", what,
                          e && A->error_data_message(e) ? A->error_data_message(e) : "failed");
    return 5; /* EIO */
}

static int ds_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    duck_stream *s = st->private_data;
    if (pd_arrow_schema_copy(&s->schema, out) != PD_OK) {
        free(s->err);
        s->err = pdi_strdup("out of memory copying the Arrow schema");
        return 12; /* ENOMEM */
    }
    return 0;
}

static int ds_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    duck_stream *s = st->private_data;
    const pdi_duck_api *A = s->A;
    memset(out, 0, sizeof *out);
    duck_data_chunk ch = A->fetch_chunk(s->r);
    if (!ch)
        return 0; /* end: out->release stays NULL */
    duck_error_data e = A->data_chunk_to_arrow(s->opts, ch, out);
    A->destroy_data_chunk(&ch);
    int rc = 0;
    if (e && A->error_data_has_error(e)) {
        rc = ds_fail(s, "converting a result chunk to Arrow", e);
        if (out->release)
            out->release(out);
        memset(out, 0, sizeof *out);
    }
    if (e)
        A->destroy_error_data(&e);
    return rc;
}

static const char *ds_last_error(struct ArrowArrayStream *st)
{
    duck_stream *s = st->private_data;
    return s->err;
}

static void ds_free(duck_stream *s)
{
    const pdi_duck_api *A = s->A;
    if (s->opts)
        A->destroy_arrow_options(&s->opts);
    A->destroy_result(&s->r);
    pd_arrow_schema_release(&s->schema);
    pdi_duck_db_release(s->db);
    free(s->err);
    free(s);
}

static void ds_release(struct ArrowArrayStream *st)
{
    if (!st || !st->release)
        return;
    ds_free(st->private_data);
    st->release = NULL;
    st->private_data = NULL;
}

/* Arrow options and schema of a materialized result. */
static int result_schema(const pdi_duck_api *A,
                         duck_result *r,
                         duck_arrow_options *opts,
                         struct ArrowSchema *out,
                         const char *what)
{
    *opts = A->result_get_arrow_options(r);
    duck_idx n = A->column_count(r);
    duck_logical_type *types = pdi_calloc(n ? n : 1, sizeof *types);
    const char **names = pdi_calloc(n ? n : 1, sizeof *names);
    int rc = types && names && *opts ? PD_OK : PD_ERR_NOMEM;
    for (duck_idx i = 0; rc == PD_OK && i < n; i++) {
        types[i] = A->column_logical_type(r, i);
        names[i] = A->column_name(r, i);
        if (!types[i])
            rc = pd_set_error(PD_ERR_SQL, "duckdb: no type for result column %llu",
                              (unsigned long long)i);
    }
    if (rc == PD_OK) {
        duck_error_data e = A->to_arrow_schema(*opts, types, names, n, out);
        if (e && A->error_data_has_error(e))
            rc = pd_set_error(PD_ERR_UNSUPPORTED,
                              "duckdb: the result of %.200s has no Arrow form: %s", what,
                              A->error_data_message(e));
        if (e)
            A->destroy_error_data(&e);
    }
    for (duck_idx i = 0; types && i < n; i++)
        if (types[i])
            A->destroy_logical_type(&types[i]);
    free(types);
    free(names);
    return rc;
}

/* Text of an Arrow interval value (formats tiM, tiD, tin), which the
 * general renderers do not cover: "<m> months <d> days HH:MM:SS[.f]" with
 * zero parts left out (all zero: "00:00:00"). NULL for other formats. */
static char *interval_text(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i)
{
    const char *f = s->format;
    if (strncmp(f, "ti", 2) != 0 || !f[2] || f[3] || !strchr("MDn", f[2]) || a->n_buffers < 2)
        return NULL;
    int64_t k = a->offset + i;
    int32_t months = 0, days = 0;
    int64_t nanos = 0;
    if (f[2] == 'M') {
        months = ((const int32_t *)a->buffers[1])[k];
    } else if (f[2] == 'D') {
        days = ((const int32_t *)a->buffers[1])[2 * k];
        nanos = (int64_t)((const int32_t *)a->buffers[1])[2 * k + 1] * 1000000;
    } else {
        const uint8_t *p = (const uint8_t *)a->buffers[1] + 16 * k;
        memcpy(&months, p, 4);
        memcpy(&days, p + 4, 4);
        memcpy(&nanos, p + 8, 8);
    }
    pd_buf b = {0};
    if (months)
        pdi_buf_printf(&b, "%d month%s", months, months == 1 || months == -1 ? "" : "s");
    if (days)
        pdi_buf_printf(&b, "%s%d day%s", b.len ? " " : "", days,
                       days == 1 || days == -1 ? "" : "s");
    if (nanos || !b.len) {
        uint64_t u = nanos < 0 ? (uint64_t)0 - (uint64_t)nanos : (uint64_t)nanos;
        uint64_t secs = u / 1000000000u, frac = u % 1000000000u;
        pdi_buf_printf(&b, "%s%s%02llu:%02llu:%02llu", b.len ? " " : "", nanos < 0 ? "-" : "",
                       (unsigned long long)(secs / 3600), (unsigned long long)(secs / 60 % 60),
                       (unsigned long long)(secs % 60));
        if (frac) {
            char fs[16];
            snprintf(fs, sizeof fs, "%09llu", (unsigned long long)frac);
            size_t n = strlen(fs);
            while (n && fs[n - 1] == '0')
                fs[--n] = 0;
            pdi_buf_printf(&b, ".%s", fs);
        }
    }
    return pdi_buf_detach(&b);
}

int pdi_duck_rows_via_arrow(pdi_duck_conn *c, duck_result *r, pd_row_fn row, void *user)
{
    const pdi_duck_api *A = c->A;
    duck_arrow_options opts = NULL;
    struct ArrowSchema sch = {0};
    int rc = result_schema(A, r, &opts, &sch, "a query");
    int64_t nc = sch.n_children;
    const char **names = pdi_calloc(nc ? (size_t)nc : 1, sizeof *names);
    char **vals = pdi_calloc(nc ? (size_t)nc : 1, sizeof *vals);
    if (rc == PD_OK && (!names || !vals))
        rc = PD_ERR_NOMEM;
    for (int64_t j = 0; rc == PD_OK && j < nc; j++)
        names[j] = sch.children[j]->name;
    while (rc == PD_OK) {
        duck_data_chunk ch = A->fetch_chunk(*r);
        if (!ch)
            break;
        struct ArrowArray a = {0};
        duck_error_data e = A->data_chunk_to_arrow(opts, ch, &a);
        A->destroy_data_chunk(&ch);
        if (e && A->error_data_has_error(e))
            rc = pd_set_error(PD_ERR_SQL, "duckdb: converting a result chunk to Arrow: %s",
                              err_text(A, e));
        if (e)
            A->destroy_error_data(&e);
        for (int64_t i = 0; rc == PD_OK && i < a.length; i++) {
            for (int64_t j = 0; rc == PD_OK && j < nc; j++) {
                const struct ArrowSchema *cs = sch.children[j];
                const struct ArrowArray *ca = a.children[j];
                vals[j] = NULL;
                if (pd_arrow_is_null(ca, i))
                    continue;
                char small[128];
                int n = pd_arrow_get_text(cs, ca, i, small, sizeof small);
                if (n >= 0 && (size_t)n < sizeof small) {
                    vals[j] = pdi_strdup(small);
                } else if (n >= 0) {
                    vals[j] = pdi_malloc((size_t)n + 1);
                    if (vals[j])
                        pd_arrow_get_text(cs, ca, i, vals[j], (size_t)n + 1);
                } else if (!(vals[j] = interval_text(cs, ca, i))) {
                    vals[j] = pd_arrow_value_to_json(cs, ca, i, NULL);
                    if (!vals[j])
                        rc = pd_set_error(PD_ERR_UNSUPPORTED,
                                          "duckdb: column '%s' (Arrow type %s) has no text form",
                                          cs->name ? cs->name : "?", cs->format);
                }
                if (rc == PD_OK && !vals[j])
                    rc = PD_ERR_NOMEM;
            }
            if (rc == PD_OK)
                rc = row(user, (int)nc, names, (const char *const *)vals);
            for (int64_t j = 0; j < nc; j++) {
                free(vals[j]);
                vals[j] = NULL;
            }
        }
        if (a.release)
            a.release(&a);
    }
    free(names);
    free(vals);
    pd_arrow_schema_release(&sch);
    if (opts)
        A->destroy_arrow_options(&opts);
    return rc;
}

int pdi_duck_query_arrow(pdi_duck_conn *c, const char *sql, struct ArrowArrayStream *out)
{
    const pdi_duck_api *A = c->A;
    memset(out, 0, sizeof *out);
    if (c->print_sql)
        pdi_log(PD_LOG_INFO, "SQL: %s", sql);
    duck_stream *s = pdi_calloc(1, sizeof *s);
    if (!s)
        return PD_ERR_NOMEM;
    s->A = A;
    if (A->query(c->conn, sql, &s->r) != 0) {
        int rc = pdi_duck_err(c, A->result_error(&s->r), sql);
        A->destroy_result(&s->r);
        free(s);
        return rc;
    }
    pdi_duck_db_retain(c->db);
    s->db = c->db;
    int rc = result_schema(A, &s->r, &s->opts, &s->schema, sql);
    if (rc) {
        ds_free(s);
        return rc;
    }
    out->get_schema = ds_get_schema;
    out->get_next = ds_get_next;
    out->get_last_error = ds_last_error;
    out->release = ds_release;
    out->private_data = s;
    return PD_OK;
}

/* -------------------------------------------------------------- DuckDB in */

/* The stream handed to DuckDB: forwards get_next to the caller's stream
 * and counts the rows (DuckDB's threads call it one at a time, under its
 * scan lock). duckdb_arrow_scan and the scan's bind take the schema
 * without ever releasing it, so get_schema lends the schema read once
 * here (no-op release) instead of handing out copies that would leak.
 * Releasing this stream never releases the caller's. */
typedef struct in_stream {
    struct ArrowArrayStream *src;
    struct ArrowSchema schema; /* owned; lent to DuckDB */
    int64_t rows;
} in_stream;

static void lent_schema_release(struct ArrowSchema *s)
{
    s->release = NULL;
}

static int in_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    in_stream *w = st->private_data;
    *out = w->schema;
    out->release = lent_schema_release;
    return 0;
}

static int in_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    in_stream *w = st->private_data;
    int rc = w->src->get_next(w->src, out);
    if (rc == 0 && out->release)
        w->rows += out->length;
    return rc;
}

static const char *in_last_error(struct ArrowArrayStream *st)
{
    in_stream *w = st->private_data;
    return w->src->get_last_error ? w->src->get_last_error(w->src) : NULL;
}

static void in_release(struct ArrowArrayStream *st)
{
    st->release = NULL; /* the caller's stream stays the caller's */
}

/* A name for the view of one load, unique in the process. DuckDB's C API
 * creates it in the connection's default schema (not as a temporary view),
 * so it is dropped right after the load, in the caller's transaction. */
static char *in_view_name(void)
{
    static int64_t counter;
    int64_t n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    return pdi_asprintf("__pdi_arrow_in_%ld_%lld", (long)getpid(), (long long)n);
}

/* Keep the error of a failed load across the cleanup statement. */
static void drop_view_keep_error(pdi_duck_conn *c, const char *drop)
{
    pd_buf keep = {0};
    pdi_buf_puts(&keep, pd_last_error());
    int code = pd_last_error_code();
    pdi_duck_exec(c, drop);
    char *k = pdi_buf_detach(&keep);
    if (code != PD_OK && k)
        pd_set_error(code, "%s", k);
    free(k);
}

static int count_row(void *user, int n, const char *const *names, const char *const *v)
{
    (void)names;
    if (n > 0 && v[0])
        *(int64_t *)user = strtoll(v[0], NULL, 10);
    return PD_OK;
}

int pdi_duck_append_stream(pdi_duck_conn *c,
                           const char *schema,
                           const char *table,
                           struct ArrowArrayStream *st,
                           int64_t *rows)
{
    const pdi_duck_api *A = c->A;
    const pdi_dialect *d = pdi_dialect_get("duckdb");
    if (rows)
        *rows = 0;
    in_stream w = {st, {0}, 0};
    struct ArrowArrayStream fwd = {
        .get_schema = in_get_schema,
        .get_next = in_get_next,
        .get_last_error = in_last_error,
        .release = in_release,
        .private_data = &w,
    };
    char *view = in_view_name();
    char *sel = view ? pdi_sql_select_all(d, "main", view) : NULL;
    char *ins = sel ? pdi_sql_insert_select(d, schema, table, sel) : NULL;
    char *drop = view ? pdi_sql_drop_view(d, "main", view) : NULL;
    int rc = ins && drop ? PD_OK : PD_ERR_NOMEM;
    if (rc == PD_OK && st->get_schema(st, &w.schema) != 0) {
        const char *m = st->get_last_error ? st->get_last_error(st) : NULL;
        rc = pd_set_error(PD_ERR_INVALID, "reading the Arrow schema of %s.%s: %s", schema, table,
                          m ? m : "stream error");
    }
    /* (DuckDB aborts the process on a schema without columns) */
    if (rc == PD_OK && (!w.schema.format || strcmp(w.schema.format, "+s") != 0 ||
                        w.schema.n_children < 1 || !w.schema.children))
        rc = pd_set_error(PD_ERR_INVALID,
                          "the Arrow stream for %s.%s is not a table (a struct of at least one "
                          "column): format '%s'",
                          schema, table, w.schema.format ? w.schema.format : "");
    /* DuckDB's Arrow scan: the stream becomes a view, scanned by DuckDB's
     * threads in parallel (a batch per thread at a time, converted by
     * DuckDB, insertion order kept) */
    if (rc == PD_OK && A->arrow_scan(c->conn, view, &fwd) != 0) {
        const char *m = st->get_last_error ? st->get_last_error(st) : NULL;
        rc =
            pd_set_error(PD_ERR_INVALID, "duckdb: the Arrow stream for %s.%s cannot be scanned%s%s",
                         schema, table, m ? ": " : "", m ? m : "");
    }
    int64_t inserted = -1;
    bool registered = rc == PD_OK;
    if (rc == PD_OK)
        rc = pdi_duck_query(c, ins, 0, NULL, count_row, &inserted);
    if (rc == PD_OK) {
        rc = pdi_duck_exec(c, drop);
    } else if (registered) {
        pd_error_prefix("duckdb: loading Arrow rows into %s.%s", schema, table);
        drop_view_keep_error(c, drop); /* fails in an aborted transaction: its rollback drops it */
    }
    if (rc == PD_OK && inserted >= 0 && inserted != w.rows)
        rc = pd_set_error(PD_ERR_SQL, "duckdb: %lld Arrow rows read for %s.%s but %lld inserted",
                          (long long)w.rows, schema, table, (long long)inserted);
    if (rc == PD_OK && rows)
        *rows = w.rows;
    if (w.schema.release)
        w.schema.release(&w.schema);
    free(view);
    free(sel);
    free(ins);
    free(drop);
    return rc;
}
