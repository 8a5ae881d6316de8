/*
 * store/dialect/parquet.c - SQL text of the Parquet table store (see
 * parquet.h). Catalog statements are DuckDB SQL; the sync_views statements
 * use the metadata store's dialect for quoting and types.
 */
#include "store/dialect/parquet.h"
#include "store/dialect/dialect.h"
#include "util/util.h"
#include <stdlib.h>
#include <string.h>

/* '<text>' with ' doubled. */
static void put_literal(pd_buf *b, const char *s)
{
    pdi_buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            pdi_buf_putc(b, '\'');
        pdi_buf_putc(b, *s);
    }
    pdi_buf_putc(b, '\'');
}

static char *strip_tail(const char *select)
{
    char *s = pdi_str_trim(select);
    if (s) {
        size_t n = strlen(s);
        while (n && (s[n - 1] == ';' || s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' ||
                     s[n - 1] == '\r'))
            s[--n] = 0;
    }
    return s;
}

char *pdi_sql_pq_copy_to(const char *select, const char *path)
{
    char *sel = strip_tail(select);
    if (!sel)
        return NULL;
    pd_buf b = {0};
    pdi_buf_printf(&b, "COPY (%s) TO ", sel);
    put_literal(&b, path);
    pdi_buf_puts(&b, " (FORMAT PARQUET)");
    free(sel);
    return pdi_buf_detach(&b);
}

char *pdi_sql_pq_describe(const char *select)
{
    char *sel = strip_tail(select);
    char *r = sel ? pdi_asprintf("DESCRIBE %s", sel) : NULL;
    free(sel);
    return r;
}

char *pdi_sql_pq_exact_select(const char *select, const char *const *cols, size_t n)
{
    char *sel = strip_tail(select);
    if (!sel)
        return NULL;
    const pdi_dialect *d = pdi_dialect_get("duckdb");
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT * REPLACE (");
    for (size_t i = 0; i < n; i++) {
        char *q = pdi_sql_quote(d, cols[i]);
        pdi_buf_printf(&b, "%sCAST(%s AS DECIMAL(38,0)) AS %s", i ? ", " : "", q ? q : "",
                       q ? q : "");
        free(q);
    }
    pdi_buf_printf(&b, ") FROM (%s) AS pd_exact", sel);
    free(sel);
    return pdi_buf_detach(&b);
}

char *pdi_sql_pq_read_select(const char *const *files, size_t n)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT * FROM read_parquet(");
    if (n != 1)
        pdi_buf_putc(&b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            pdi_buf_puts(&b, ", ");
        put_literal(&b, files[i]);
    }
    if (n != 1)
        pdi_buf_putc(&b, ']');
    pdi_buf_putc(&b, ')');
    return pdi_buf_detach(&b);
}

char *pdi_sql_pq_read_from(const char *const *files, size_t n)
{
    char *sel = pdi_sql_pq_read_select(files, n);
    static const char head[] = "SELECT * FROM ";
    if (!sel)
        return NULL;
    memmove(sel, sel + sizeof head - 1, strlen(sel) - (sizeof head - 1) + 1);
    return sel;
}

const char *pdi_sql_pq_shape_tag(void)
{
    return "pipedag-view-shape:";
}

char *pdi_sql_pq_comment_view(const char *schema, const char *view, const char *text)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "COMMENT ON VIEW ");
    char *q = pdi_sql_qualified(&pdi_dialect_duckdb, schema, view);
    pdi_buf_puts(&b, q ? q : "");
    free(q);
    pdi_buf_puts(&b, " IS ");
    put_literal(&b, text);
    return pdi_buf_detach(&b);
}

char *pdi_sql_pq_view_sql_comment(void)
{
    return pdi_strdup("SELECT sql, comment FROM duckdb_views() WHERE database_name = "
                      "current_database() AND schema_name = ? AND view_name = ?");
}

const char *pdi_sql_pq_s3_bind_function(void)
{
    return "pipedag_s3_footer";
}

char *pdi_sql_pq_s3_bind_macro(void)
{
    return pdi_strdup("CREATE OR REPLACE TEMP MACRO read_parquet(f) AS TABLE "
                      "SELECT * FROM parquet_scan(pipedag_s3_footer(f))");
}

const char *pdi_sql_pq_s3_function(void)
{
    return "pipedag_s3_local";
}

char *pdi_sql_pq_s3_macro(void)
{
    return pdi_strdup("CREATE OR REPLACE TEMP MACRO read_parquet(f) AS TABLE "
                      "SELECT * FROM parquet_scan(pipedag_s3_local(f))");
}

char *pdi_sql_pq_view_sql(void)
{
    return pdi_strdup("SELECT sql FROM duckdb_views() WHERE database_name = current_database() "
                      "AND schema_name = ? AND view_name = ?");
}

char *pdi_sql_pq_views_of_schema(void)
{
    return pdi_strdup("SELECT view_name, sql FROM duckdb_views() WHERE database_name = "
                      "current_database() AND schema_name = ? ORDER BY view_name");
}

/* ------------------------------------------------------- team sharing */

static char *q2(const pdi_dialect *d, const char *meta, const char *table)
{
    return pdi_sql_qualified(d, meta, table);
}

char *pdi_sql_pq_sync_views_ddl(const pdi_dialect *d, const char *meta)
{
    char *t = q2(d, meta, "sync_views");
    char *r = t ? pdi_asprintf("CREATE TABLE IF NOT EXISTS %s (schema VARCHAR(128) NOT NULL, "
                               "view_name VARCHAR(128) NOT NULL, user_id VARCHAR(64) NOT NULL, "
                               "target VARCHAR(1024), target_type VARCHAR(64), obsolete "
                               "SMALLINT NOT NULL DEFAULT 0, PRIMARY KEY (schema, view_name, "
                               "user_id))",
                               t)
                : NULL;
    free(t);
    return r;
}

char *pdi_sql_pq_user_id_ddl(const pdi_dialect *d, const char *meta)
{
    char *t = q2(d, meta, "user_id");
    char *r = t ? pdi_asprintf("CREATE TABLE IF NOT EXISTS %s (user_id VARCHAR(64))", t) : NULL;
    free(t);
    return r;
}

char *pdi_sql_pq_user_id_get(const pdi_dialect *d, const char *meta)
{
    char *t = q2(d, meta, "user_id");
    char *r = t ? pdi_asprintf("SELECT user_id FROM %s", t) : NULL;
    free(t);
    return r;
}

char *pdi_sql_pq_user_id_set(const pdi_dialect *d, const char *meta)
{
    char *t = q2(d, meta, "user_id");
    char *r = t ? pdi_asprintf("INSERT INTO %s (user_id) VALUES (?)", t) : NULL;
    free(t);
    return r;
}

/* `before` <meta>.sync_views `after` */
static char *
sync_stmt(const pdi_dialect *d, const char *meta, const char *before, const char *after)
{
    char *t = q2(d, meta, "sync_views");
    char *r = t ? pdi_asprintf("%s%s%s", before, t, after) : NULL;
    free(t);
    return r;
}

char *pdi_sql_pq_sync_delete_row(const pdi_dialect *d, const char *meta)
{
    return sync_stmt(d, meta, "DELETE FROM ",
                     " WHERE schema = ? AND view_name = ? AND user_id = ?");
}

char *pdi_sql_pq_sync_insert(const pdi_dialect *d, const char *meta)
{
    return sync_stmt(d, meta, "INSERT INTO ",
                     " (schema, view_name, user_id, target, target_type, obsolete) "
                     "VALUES (?, ?, ?, ?, ?, 0)");
}

char *pdi_sql_pq_sync_obsolete_others(const pdi_dialect *d, const char *meta)
{
    return sync_stmt(d, meta, "UPDATE ",
                     " SET obsolete = 1 WHERE schema = ? AND view_name = ? AND user_id <> ?");
}

char *pdi_sql_pq_sync_clear_schema(const pdi_dialect *d, const char *meta)
{
    return sync_stmt(d, meta, "DELETE FROM ", " WHERE schema = ?");
}

char *pdi_sql_pq_sync_rows(const pdi_dialect *d, const char *meta)
{
    return sync_stmt(d, meta, "SELECT view_name, user_id, target, target_type, obsolete FROM ",
                     " WHERE schema = ? ORDER BY view_name, user_id");
}

char *pdi_sql_pq_sync_schemas(const pdi_dialect *d, const char *meta)
{
    return sync_stmt(d, meta, "SELECT DISTINCT schema FROM ", " ORDER BY schema");
}
