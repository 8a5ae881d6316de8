/*
 * store/duckdb/duck_arrow.c - Arrow tables in and out of DuckDB.
 *
 * Out: the query runs to a materialized DuckDB result; the stream converts
 * one DuckDB data chunk at a time to an Arrow struct array with DuckDB's
 * own converter (duckdb_data_chunk_to_arrow, schema by
 * duckdb_to_arrow_schema, both with the connection's Arrow options).
 *
 * In: an appender on the target table is fed data chunks that DuckDB
 * converts from Arrow (duckdb_data_chunk_from_arrow). A data chunk holds at
 * most 2048 rows, so each Arrow batch is cut into windows of that size:
 * shallow views sharing the batch's buffers (column offsets advanced,
 * no-op release), appended and dropped before the batch itself is released.
 */
#include "store/duckdb/duck_int.h"
#include "util/util.h"
#include <stdlib.h>
#include <string.h>

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

static void noop_release(struct ArrowArray *a)
{
    a->release = NULL;
}

/* Views of rows [from, from+n) of a struct batch: `top` points at `kids`
 * (one shallow copy per column). */
typedef struct slice {
    struct ArrowArray top;
    struct ArrowArray *kids;
    struct ArrowArray **kid_ptrs;
    int64_t nkids;
} slice;

static int slice_init(slice *sl, int64_t nkids)
{
    memset(sl, 0, sizeof *sl);
    sl->kids = pdi_calloc(nkids ? (size_t)nkids : 1, sizeof *sl->kids);
    sl->kid_ptrs = pdi_calloc(nkids ? (size_t)nkids : 1, sizeof *sl->kid_ptrs);
    sl->nkids = nkids;
    return sl->kids && sl->kid_ptrs ? PD_OK : PD_ERR_NOMEM;
}

static void slice_free(slice *sl)
{
    free(sl->kids);
    free(sl->kid_ptrs);
}

static void slice_set(slice *sl, const struct ArrowArray *b, int64_t from, int64_t n)
{
    static const void *no_buffers[1] = {NULL};
    for (int64_t i = 0; i < sl->nkids; i++) {
        sl->kids[i] = *b->children[i];
        sl->kids[i].offset += b->offset + from;
        sl->kids[i].length = n;
        if (sl->kids[i].null_count != 0)
            sl->kids[i].null_count = -1;
        sl->kids[i].release = noop_release;
        sl->kids[i].private_data = NULL;
        sl->kid_ptrs[i] = &sl->kids[i];
    }
    memset(&sl->top, 0, sizeof sl->top);
    sl->top.length = n;
    sl->top.null_count = 0;
    sl->top.n_buffers = 1;
    sl->top.buffers = no_buffers;
    sl->top.n_children = sl->nkids;
    sl->top.children = sl->kid_ptrs;
    sl->top.release = noop_release;
}

typedef struct appender_ctx {
    pdi_duck_conn *c;
    const char *schema, *table;
    duck_appender app;
    duck_arrow_converted_schema cs;
} appender_ctx;

static int app_open(appender_ctx *ax, struct ArrowSchema *sch)
{
    const pdi_duck_api *A = ax->c->A;
    duck_error_data e = A->schema_from_arrow(ax->c->conn, sch, &ax->cs);
    int rc = PD_OK;
    if (e && A->error_data_has_error(e))
        rc = pd_set_error(PD_ERR_UNSUPPORTED,
                          "duckdb: the Arrow schema of table %s.%s cannot be loaded: %s",
                          ax->schema, ax->table, err_text(A, e));
    if (e)
        A->destroy_error_data(&e);
    if (rc == PD_OK &&
        A->appender_create_ext(ax->c->conn, NULL, ax->schema, ax->table, &ax->app) != 0) {
        rc = pd_set_error(PD_ERR_SQL, "duckdb: cannot append to %s.%s: %s", ax->schema, ax->table,
                          ax->app && A->appender_error(ax->app) ? A->appender_error(ax->app)
                                                                : "no such table");
    }
    return rc;
}

static int app_batch(appender_ctx *ax, const struct ArrowSchema *sch, const struct ArrowArray *b)
{
    const pdi_duck_api *A = ax->c->A;
    if (b->n_children != sch->n_children)
        return pd_set_error(PD_ERR_INVALID,
                            "Arrow batch for %s.%s has %lld columns, its schema %lld", ax->schema,
                            ax->table, (long long)b->n_children, (long long)sch->n_children);
    slice sl;
    int rc = slice_init(&sl, b->n_children);
    for (int64_t from = 0; rc == PD_OK && from < b->length; from += PDI_DUCK_CHUNK_ROWS) {
        int64_t n = b->length - from < PDI_DUCK_CHUNK_ROWS ? b->length - from : PDI_DUCK_CHUNK_ROWS;
        slice_set(&sl, b, from, n);
        duck_data_chunk ch = NULL;
        duck_error_data e = A->data_chunk_from_arrow(ax->c->conn, &sl.top, ax->cs, &ch);
        if (e && A->error_data_has_error(e))
            rc = pd_set_error(PD_ERR_INVALID, "duckdb: Arrow rows for %s.%s: %s", ax->schema,
                              ax->table, err_text(A, e));
        if (e)
            A->destroy_error_data(&e);
        if (rc == PD_OK && A->append_data_chunk(ax->app, ch) != 0)
            rc = pd_set_error(PD_ERR_SQL, "duckdb: appending to %s.%s: %s", ax->schema, ax->table,
                              A->appender_error(ax->app) ? A->appender_error(ax->app)
                                                         : "append failed");
        if (ch)
            A->destroy_data_chunk(&ch);
        if (sl.top.release)
            sl.top.release(&sl.top);
    }
    slice_free(&sl);
    return rc;
}

static int app_close(appender_ctx *ax, int rc)
{
    const pdi_duck_api *A = ax->c->A;
    if (ax->app) {
        if (rc == PD_OK && A->appender_close(ax->app) != 0)
            rc = pd_set_error(
                PD_ERR_SQL, "duckdb: finishing the load of %s.%s: %s", ax->schema, ax->table,
                A->appender_error(ax->app) ? A->appender_error(ax->app) : "flush failed");
        A->appender_destroy(&ax->app);
    }
    if (ax->cs)
        A->destroy_arrow_converted_schema(&ax->cs);
    return rc;
}

int pdi_duck_append_batch(pdi_duck_conn *c,
                          const char *schema,
                          const char *table,
                          const struct ArrowSchema *sch,
                          const struct ArrowArray *batch)
{
    appender_ctx ax = {c, schema, table, NULL, NULL};
    int rc = app_open(&ax, (struct ArrowSchema *)sch);
    if (rc == PD_OK)
        rc = app_batch(&ax, sch, batch);
    return app_close(&ax, rc);
}

int pdi_duck_append_stream(pdi_duck_conn *c,
                           const char *schema,
                           const char *table,
                           struct ArrowArrayStream *st,
                           int64_t *rows)
{
    if (rows)
        *rows = 0;
    struct ArrowSchema sch = {0};
    appender_ctx ax = {c, schema, table, NULL, NULL};
    int rc = PD_OK;
    if (st->get_schema(st, &sch) != 0) {
        const char *m = st->get_last_error ? st->get_last_error(st) : NULL;
        rc = pd_set_error(PD_ERR_INVALID, "reading the Arrow schema of %s.%s: %s", schema, table,
                          m ? m : "stream error");
    }
    if (rc == PD_OK)
        rc = app_open(&ax, &sch);
    while (rc == PD_OK) {
        struct ArrowArray a = {0};
        if (st->get_next(st, &a) != 0) {
            const char *m = st->get_last_error ? st->get_last_error(st) : NULL;
            rc = pd_set_error(PD_ERR_INVALID, "reading an Arrow batch of %s.%s: %s", schema, table,
                              m ? m : "stream error");
            break;
        }
        if (!a.release)
            break;
        if (a.length > 0)
            rc = app_batch(&ax, &sch, &a);
        if (rc == PD_OK && rows)
            *rows += a.length;
        a.release(&a);
    }
    rc = app_close(&ax, rc);
    pd_arrow_schema_release(&sch);
    return rc;
}
