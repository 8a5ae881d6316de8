/*
 * store/dialect/checks.c - the SELECTs of column checks (docs/checks.md),
 * one function per check kind, common to every dialect (only quoting,
 * boolean literals and the row limit differ, through the dialect). Each
 * query returns the offending values of one check and nothing when the
 * table passes; the store runs it and formats the failure.
 */
#include "dialect_int.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A JSON number, string or boolean as an SQL literal. */
static int put_value(pd_buf *b, const pdi_dialect *d, const char *json)
{
    pd_jval *v = json ? pdi_json_parse(json, strlen(json)) : NULL;
    int rc = PD_OK;
    if (v && v->type == PD_J_NUM) {
        /* re-check the text: only a plain decimal number goes into SQL */
        const char *p = v->str;
        bool ok = *p != 0;
        for (; *p && ok; p++)
            ok = (*p >= '0' && *p <= '9') || *p == '-' || *p == '+' || *p == '.' || *p == 'e' ||
                 *p == 'E';
        if (ok)
            pdi_buf_puts(b, v->str);
        else
            rc = pd_set_error(PD_ERR_INVALID, "check value %s is not a plain number", json);
    } else if (v && v->type == PD_J_STR) {
        pdi_dl_literal(b, v->str);
    } else if (v && v->type == PD_J_BOOL) {
        pdi_buf_puts(b, pdi_sql_bool(d, v->b));
    } else {
        pd_clear_error();
        rc =
            pd_set_error(PD_ERR_INVALID, "check value '%s' is not a JSON number, string or boolean",
                         json ? json : "(null)");
    }
    pdi_jval_free(v);
    return rc;
}

static char *limited(const pdi_dialect *d, pd_buf *b, int64_t limit)
{
    char *sel = pdi_dl_finish(b);
    if (!sel || limit <= 0)
        return sel;
    char *q = pdi_sql_limit(d, sel, limit);
    free(sel);
    return q;
}

static void put_cols(pd_buf *b, const pdi_dialect *d, const char *const *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            pdi_buf_puts(b, ", ");
        pdi_dl_quoted(b, d, cols[i]);
    }
}

char *pdi_sql_check_literal(const pdi_dialect *d, const char *json)
{
    pd_buf b = {0};
    if (put_value(&b, d, json)) {
        pdi_buf_free(&b);
        return NULL;
    }
    return pdi_dl_finish(&b);
}

/* The predicate of a row violating a scan check. */
static int put_predicate(pd_buf *b,
                         const pdi_dialect *d,
                         pd_check_kind kind,
                         const char *const *cols,
                         size_t ncols,
                         const char *const *values,
                         size_t nvalues)
{
    switch (kind) {
    case PD_CHECK_NOT_NULL:
        for (size_t i = 0; i < ncols; i++) {
            if (i)
                pdi_buf_puts(b, " OR ");
            pdi_dl_quoted(b, d, cols[i]);
            pdi_buf_puts(b, " IS NULL");
        }
        return ncols ? PD_OK : pd_set_error(PD_ERR_INVALID, "not_null check without columns");
    case PD_CHECK_MIN:
    case PD_CHECK_MAX:
        if (ncols != 1 || nvalues != 1)
            return pd_set_error(PD_ERR_INVALID, "min/max check: one column and one value");
        pdi_dl_quoted(b, d, cols[0]);
        pdi_buf_puts(b, kind == PD_CHECK_MIN ? " < " : " > ");
        return put_value(b, d, values[0]);
    case PD_CHECK_ACCEPTED_VALUES:
        if (ncols != 1 || !nvalues)
            return pd_set_error(PD_ERR_INVALID, "accepted_values check without values");
        pdi_dl_quoted(b, d, cols[0]);
        pdi_buf_puts(b, " IS NOT NULL AND ");
        pdi_dl_quoted(b, d, cols[0]);
        pdi_buf_puts(b, " NOT IN (");
        for (size_t i = 0; i < nvalues; i++) {
            if (i)
                pdi_buf_puts(b, ", ");
            int rc = put_value(b, d, values[i]);
            if (rc)
                return rc;
        }
        pdi_buf_puts(b, ")");
        return PD_OK;
    default: return pd_set_error(PD_ERR_INVALID, "check kind %d is not a row predicate", (int)kind);
    }
}

char *pdi_sql_check_predicate(const pdi_dialect *d,
                              pd_check_kind kind,
                              const char *const *cols,
                              size_t ncols,
                              const char *const *values,
                              size_t nvalues)
{
    pd_buf b = {0};
    if (put_predicate(&b, d, kind, cols, ncols, values, nvalues)) {
        pdi_buf_free(&b);
        return NULL;
    }
    return pdi_dl_finish(&b);
}

char *pdi_sql_check_any(const pdi_dialect *d,
                        const char *schema,
                        const char *table,
                        const char *const *predicates,
                        size_t n)
{
    if (!n) {
        pd_set_error(PD_ERR_INVALID, "check scan without predicates");
        return NULL;
    }
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT 1 AS pd_any FROM ");
    pdi_dl_qualified(&b, d, schema, table);
    pdi_buf_puts(&b, " WHERE ");
    char *any = pdi_sql_check_or(predicates, n);
    if (!any) {
        pdi_buf_free(&b);
        return NULL;
    }
    pdi_buf_puts(&b, any);
    free(any);
    return limited(d, &b, 1);
}

char *pdi_sql_check_not_null(const pdi_dialect *d,
                             const char *schema,
                             const char *table,
                             const char *const *cols,
                             size_t ncols)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT COUNT(*) AS pd_nulls FROM ");
    pdi_dl_qualified(&b, d, schema, table);
    pdi_buf_puts(&b, " WHERE ");
    if (put_predicate(&b, d, PD_CHECK_NOT_NULL, cols, ncols, NULL, 0)) {
        pdi_buf_free(&b);
        return NULL;
    }
    pdi_buf_puts(&b, " HAVING COUNT(*) > 0");
    return pdi_dl_finish(&b);
}

char *pdi_sql_check_unique(const pdi_dialect *d,
                           const char *schema,
                           const char *table,
                           const char *const *cols,
                           size_t ncols,
                           int64_t limit)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT ");
    put_cols(&b, d, cols, ncols);
    pdi_buf_puts(&b, ", COUNT(*) AS pd_rows FROM ");
    pdi_dl_qualified(&b, d, schema, table);
    pdi_buf_puts(&b, " WHERE ");
    for (size_t i = 0; i < ncols; i++) {
        if (i)
            pdi_buf_puts(&b, " AND ");
        pdi_dl_quoted(&b, d, cols[i]);
        pdi_buf_puts(&b, " IS NOT NULL");
    }
    pdi_buf_puts(&b, " GROUP BY ");
    put_cols(&b, d, cols, ncols);
    pdi_buf_puts(&b, " HAVING COUNT(*) > 1");
    return limited(d, &b, limit);
}

/* SELECT DISTINCT c FROM s.t WHERE <the check's predicate> */
static char *distinct_offenders(const pdi_dialect *d,
                                const char *schema,
                                const char *table,
                                const char *column,
                                pd_check_kind kind,
                                const char *const *values,
                                size_t nvalues,
                                int64_t limit)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT DISTINCT ");
    pdi_dl_quoted(&b, d, column);
    pdi_buf_puts(&b, " FROM ");
    pdi_dl_qualified(&b, d, schema, table);
    pdi_buf_puts(&b, " WHERE ");
    if (put_predicate(&b, d, kind, &column, 1, values, nvalues)) {
        pdi_buf_free(&b);
        return NULL;
    }
    return limited(d, &b, limit);
}

char *pdi_sql_check_min(const pdi_dialect *d,
                        const char *schema,
                        const char *table,
                        const char *column,
                        const char *value,
                        int64_t limit)
{
    return distinct_offenders(d, schema, table, column, PD_CHECK_MIN, &value, 1, limit);
}

char *pdi_sql_check_max(const pdi_dialect *d,
                        const char *schema,
                        const char *table,
                        const char *column,
                        const char *value,
                        int64_t limit)
{
    return distinct_offenders(d, schema, table, column, PD_CHECK_MAX, &value, 1, limit);
}

char *pdi_sql_check_accepted_values(const pdi_dialect *d,
                                    const char *schema,
                                    const char *table,
                                    const char *column,
                                    const char *const *values,
                                    size_t nvalues,
                                    int64_t limit)
{
    return distinct_offenders(d, schema, table, column, PD_CHECK_ACCEPTED_VALUES, values, nvalues,
                              limit);
}

char *pdi_sql_check_references(const pdi_dialect *d,
                               const char *schema,
                               const char *table,
                               const char *column,
                               const char *ref_schema,
                               const char *ref_table,
                               const char *ref_column,
                               int64_t limit)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT DISTINCT pd_c.");
    pdi_dl_quoted(&b, d, column);
    pdi_buf_puts(&b, " FROM ");
    pdi_dl_qualified(&b, d, schema, table);
    pdi_buf_puts(&b, " AS pd_c WHERE pd_c.");
    pdi_dl_quoted(&b, d, column);
    pdi_buf_puts(&b, " IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ");
    pdi_dl_qualified(&b, d, ref_schema, ref_table);
    pdi_buf_puts(&b, " AS pd_r WHERE pd_r.");
    pdi_dl_quoted(&b, d, ref_column);
    pdi_buf_puts(&b, " = pd_c.");
    pdi_dl_quoted(&b, d, column);
    pdi_buf_puts(&b, ")");
    return limited(d, &b, limit);
}

bool pdi_sql_check_unique_by_count(const pdi_dialect *d)
{
    return d->unique_by_count;
}

/* SELECT 1 AS pd_dup FROM (SELECT COUNT(c) AS pd_n, COUNT(DISTINCT c
 * [COLLATE "C"]) AS pd_d FROM s.t) AS pd_u WHERE pd_n > pd_d: a single
 * sort of the column (no GROUP BY of every value, no gather of groups). */
char *pdi_sql_check_unique_any(
    const pdi_dialect *d, const char *schema, const char *table, const char *column, bool bytewise)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT 1 AS pd_dup FROM (SELECT COUNT(");
    pdi_dl_quoted(&b, d, column);
    pdi_buf_puts(&b, ") AS pd_n, COUNT(DISTINCT ");
    pdi_dl_quoted(&b, d, column);
    if (bytewise)
        pdi_buf_puts(&b, " COLLATE \"C\"");
    pdi_buf_puts(&b, ") AS pd_d FROM ");
    pdi_dl_qualified(&b, d, schema, table);
    pdi_buf_puts(&b, ") AS pd_u WHERE pd_n > pd_d");
    return pdi_dl_finish(&b);
}

char *pdi_sql_check_bytewise_columns(const pdi_dialect *d, const char *schema, const char *table)
{
    return d->bytewise_columns ? d->bytewise_columns(d, schema, table) : NULL;
}

char *pdi_sql_check_unique_hash(const pdi_dialect *d,
                                const char *schema,
                                const char *table,
                                const char *column,
                                int64_t pass,
                                int64_t passes,
                                const char *any_where)
{
    if (!d->unique_hash) {
        pd_set_error(PD_ERR_UNSUPPORTED, "%s has no hash probe for unique checks", d->name);
        return NULL;
    }
    return d->unique_hash(d, schema, table, column, pass, passes, any_where);
}

char *pdi_sql_check_or(const char *const *predicates, size_t n)
{
    if (!n) {
        pd_set_error(PD_ERR_INVALID, "check scan without predicates");
        return NULL;
    }
    pd_buf b = {0};
    for (size_t i = 0; i < n; i++)
        pdi_buf_printf(&b, "%s(%s)", i ? " OR " : "", predicates[i]);
    return pdi_dl_finish(&b);
}

char *pdi_sql_check_unique_hash_column(const pdi_dialect *d)
{
    if (!d->unique_hash_column) {
        pd_set_error(PD_ERR_UNSUPPORTED, "%s has no hash probe for unique checks", d->name);
        return NULL;
    }
    return d->unique_hash_column(d);
}

char *pdi_sql_check_row_count(const pdi_dialect *d, const char *schema, const char *table)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT COUNT(*) AS pd_rows FROM ");
    pdi_dl_qualified(&b, d, schema, table);
    return pdi_dl_finish(&b);
}
