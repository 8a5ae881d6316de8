/*
 * store/duckdb/duck_unique.c - the hash probe of a `unique` check on a
 * DuckDB session (docs/checks.md), for the DuckDB backend and the Parquet
 * store's catalog.
 *
 * DuckDB computes hash(c) of every non-NULL value in parallel (the SQL is
 * the dialect's); the hashes come out as Arrow UBIGINT batches and are
 * checked for repeats here (kept in 256 parts by their top bits, each part
 * checked by a hash set that fits the cache: pd_u64_parts), which costs a
 * fraction of DuckDB's own DISTINCT or
 * GROUP BY over ten million groups. Distinct hashes prove distinct values;
 * a repeat sends the store to the exact GROUP BY.
 *
 * hash(c) is that of the value, with no collation applied, so the probe is
 * offered only where equal values are equal bytes: a column type from the
 * list below (no floating point: -0.0 = 0.0; no nested or decimal types),
 * no COLLATE anywhere in its table's CREATE statement, no default
 * collation on the session; a view only when the caller knows it reads
 * Parquet files (whose strings carry no collation). Anything else answers
 * PD_ERR_UNSUPPORTED and the store runs the exact query.
 *
 * Memory: at most PDI_UNIQUE_MAX_HASHES hashes are held at once (and
 * DuckDB's materialized result of as many); a table with more rows is
 * probed in passes, each keeping the hashes h with h % passes == pass.
 */
#include "store/dialect/dialect.h"
#include "store/duckdb/duck_int.h"
#include "util/util.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* DuckDB types whose equality is that of the stored value's bytes. */
static bool bytewise_type(const char *t)
{
    static const char *const ok[] = {"VARCHAR",  "BLOB",      "BOOLEAN",   "TINYINT",
                                     "SMALLINT", "INTEGER",   "BIGINT",    "HUGEINT",
                                     "UTINYINT", "USMALLINT", "UINTEGER",  "UBIGINT",
                                     "UHUGEINT", "DATE",      "TIMESTAMP", "UUID"};
    for (size_t i = 0; t && i < sizeof ok / sizeof *ok; i++)
        if (strcmp(t, ok[i]) == 0)
            return true;
    return false;
}

static bool has_collate(const char *sql)
{
    for (const char *p = sql; p && *p; p++)
        if (strncasecmp(p, "COLLATE", 7) == 0)
            return true;
    return false;
}

typedef struct col_info {
    bool found;
    char *type, *sql, *coll;
} col_info;

static int col_row(void *user, int n, const char *const *names, const char *const *v)
{
    (void)names;
    col_info *ci = user;
    if (n < 3 || ci->found)
        return PD_OK;
    ci->found = true;
    ci->type = v[0] ? pdi_strdup(v[0]) : NULL;
    ci->sql = v[1] ? pdi_strdup(v[1]) : NULL;
    ci->coll = v[2] ? pdi_strdup(v[2]) : NULL;
    return (v[0] && !ci->type) || (v[1] && !ci->sql) || (v[2] && !ci->coll) ? PD_ERR_NOMEM : PD_OK;
}

static int count_row(void *user, int n, const char *const *names, const char *const *v)
{
    (void)names;
    if (n > 0 && v[0])
        *(int64_t *)user = strtoll(v[0], NULL, 10);
    return PD_OK;
}

/* May schema.table.column use the probe? */
static int eligible(pdi_duck_conn *c,
                    const pdi_dialect *d,
                    const char *schema,
                    const char *table,
                    const char *column,
                    bool file_view,
                    bool *ok)
{
    *ok = false;
    char *q = pdi_sql_check_unique_hash_column(d);
    if (!q)
        return pd_last_error_code() ? pd_last_error_code() : PD_ERR_NOMEM;
    col_info ci = {0};
    const char *p[3] = {schema, table, column};
    int rc = pdi_duck_query(c, q, 3, p, col_row, &ci);
    free(q);
    if (rc == PD_OK)
        *ok = ci.found && bytewise_type(ci.type) && (!ci.coll || !*ci.coll) &&
              (ci.sql ? !has_collate(ci.sql) : file_view);
    free(ci.type);
    free(ci.sql);
    free(ci.coll);
    return rc;
}

/* The hashes of one pass into *p (at most `max`: *over when more). */
static int collect(pdi_duck_conn *c, const char *sql, pd_u64_parts *p, int64_t max, bool *over)
{
    struct ArrowArrayStream st;
    int rc = pdi_duck_query_arrow(c, sql, &st);
    if (rc)
        return rc;
    *over = false;
    while (rc == PD_OK && !*over) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0) {
            const char *e = st.get_last_error(&st);
            rc = pd_set_error(PD_ERR_SQL, "duckdb: reading hashes: %s", e ? e : "failed");
            break;
        }
        if (!a.release)
            break;
        const struct ArrowArray *h = a.n_children == 1 ? a.children[0] : NULL;
        if (!h || h->n_buffers < 2 || !h->buffers[1] || h->null_count) {
            rc = pd_set_error(PD_ERR_SQL, "duckdb: unexpected hash result (in: %s)", sql);
        } else if ((int64_t)p->total + h->length > max) {
            *over = true;
        } else {
            const uint64_t *src = (const uint64_t *)h->buffers[1] + h->offset;
            for (int64_t i = 0; i < h->length && rc == PD_OK; i++)
                rc = pdi_u64_parts_add(p, pdi_unique_hash_reduce(src[i]));
        }
        a.release(&a);
    }
    st.release(&st);
    return rc;
}

int pdi_duck_unique_probe(pdi_duck_conn *c,
                          const char *schema,
                          const char *table,
                          const char *column,
                          bool file_view,
                          bool *distinct)
{
    *distinct = false;
    const pdi_dialect *d = pdi_dialect_get("duckdb");
    bool ok = false;
    int rc = eligible(c, d, schema, table, column, file_view, &ok);
    if (rc == PD_OK && !ok)
        return PD_ERR_UNSUPPORTED;
    /* the passes: every row may hold a value (COUNT(*) is metadata in
     * DuckDB tables and Parquet footers) */
    int64_t rows = 0;
    char *q = rc == PD_OK ? pdi_sql_check_row_count(d, schema, table) : NULL;
    if (rc == PD_OK)
        rc = q ? pdi_duck_query(c, q, 0, NULL, count_row, &rows) : PD_ERR_NOMEM;
    free(q);
    int64_t passes = pdi_unique_passes(rows);
    bool repeat = false;
    for (int64_t pass = 0; rc == PD_OK && !repeat && pass < passes; pass++) {
        pd_u64_parts p;
        pdi_u64_parts_init(&p);
        bool over = false;
        q = pdi_sql_check_unique_hash(d, schema, table, column, pass, passes, NULL);
        rc = q ? collect(c, q, &p, PDI_UNIQUE_MAX_HASHES, &over) : PD_ERR_NOMEM;
        free(q);
        if (rc == PD_OK && over) /* rows were added meanwhile: no decision */
            rc = PD_ERR_UNSUPPORTED;
        if (rc == PD_OK)
            repeat = pdi_u64_parts_repeats(&p);
        pdi_u64_parts_free(&p);
    }
    if (rc == PD_OK)
        *distinct = !repeat;
    return rc;
}
