/*
 * store/parquet/pq_views.c - reading back the catalog's view definitions
 * (the text DuckDB stores, as duckdb_views().sql shows it): which Parquet
 * files a slot view reads, which slot view a base view selects from. The
 * texts are the ones the store itself created (store/dialect/parquet.h), so
 * this parser only needs their shapes; anything else is "not found".
 */
#include "store/parquet/pq_int.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Skip a '...' literal starting at p (p[0] == '\''); append its unescaped
 * text to *out when out != NULL. Returns the position after it, or NULL if
 * unterminated. */
static const char *literal(const char *p, pd_buf *out)
{
    p++;
    for (;;) {
        if (!*p)
            return NULL;
        if (*p == '\'') {
            if (p[1] == '\'') {
                if (out)
                    pd_buf_putc(out, '\'');
                p += 2;
                continue;
            }
            return p + 1;
        }
        if (out)
            pd_buf_putc(out, *p);
        p++;
    }
}

/* Position of the first `word` (case-insensitive, followed by `(` after
 * blanks) outside literals and quoted identifiers; NULL if none. Returns
 * the position after the '('. */
static const char *find_call(const char *sql, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = sql; *p;) {
        if (*p == '\'') {
            p = literal(p, NULL);
            if (!p)
                return NULL;
            continue;
        }
        if (*p == '"') {
            const char *e = strchr(p + 1, '"');
            if (!e)
                return NULL;
            p = e + 1;
            continue;
        }
        bool boundary = p == sql || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        if (boundary && !strncasecmp(p, word, n)) {
            const char *q = p + n;
            while (isspace((unsigned char)*q))
                q++;
            if (*q == '(')
                return q + 1;
        }
        p++;
    }
    return NULL;
}

int pdi_pq_files_of_view_sql(const char *sql, pd_strv *files, bool *found)
{
    *found = false;
    const char *p = find_call(sql, "read_parquet");
    if (!p)
        p = find_call(sql, "parquet_scan");
    if (!p)
        return PD_OK;
    int depth = 1;
    while (*p && depth > 0) {
        if (*p == '\'') {
            pd_buf b = {0};
            const char *e = literal(p, &b);
            char *s = pd_buf_detach(&b);
            if (!e || !s) {
                free(s);
                return e ? PD_ERR_NOMEM : PD_OK;
            }
            int rc = pd_strv_push_owned(files, s);
            if (rc)
                return rc;
            p = e;
            continue;
        }
        if (*p == '(')
            depth++;
        else if (*p == ')')
            depth--;
        p++;
    }
    *found = files->n > 0;
    return PD_OK;
}

/* One identifier at *pp (bare or "quoted" with "" escapes). */
static char *ident(const char **pp)
{
    const char *p = *pp;
    if (*p == '"') {
        pd_buf b = {0};
        p++;
        for (;;) {
            if (!*p) {
                pd_buf_free(&b);
                return NULL;
            }
            if (*p == '"') {
                if (p[1] == '"') {
                    pd_buf_putc(&b, '"');
                    p += 2;
                    continue;
                }
                p++;
                break;
            }
            pd_buf_putc(&b, *p++);
        }
        *pp = p;
        return pd_buf_detach(&b);
    }
    const char *s = p;
    while (isalnum((unsigned char)*p) || *p == '_' || (unsigned char)*p >= 0x80)
        p++;
    if (p == s)
        return NULL;
    *pp = p;
    return pd_strndup(s, (size_t)(p - s));
}

int pdi_pq_target_of_view_sql(const char *sql, char **schema, char **table, bool *found)
{
    *found = false;
    *schema = *table = NULL;
    const char *p = NULL;
    /* the last top-level " FROM " of "... SELECT * FROM a.b;" */
    for (const char *q = sql; *q; q++) {
        if (*q == '\'') {
            q = literal(q, NULL);
            if (!q)
                return PD_OK;
            q--;
            continue;
        }
        if (!strncasecmp(q, "FROM", 4) && (q == sql || isspace((unsigned char)q[-1])) &&
            isspace((unsigned char)q[4]))
            p = q + 4;
    }
    if (!p)
        return PD_OK;
    while (isspace((unsigned char)*p))
        p++;
    char *s = ident(&p);
    if (!s || *p != '.') {
        free(s);
        return PD_OK;
    }
    p++;
    char *t = ident(&p);
    while (t && (isspace((unsigned char)*p) || *p == ';'))
        p++;
    if (!t || *p) {
        free(s);
        free(t);
        return PD_OK;
    }
    *schema = s;
    *table = t;
    *found = true;
    return PD_OK;
}
