/*
 * store/odbc/odbc_script.c - splitting SQL scripts into what one ODBC
 * SQLExecDirect takes: T-SQL batches separated by GO lines (MSSQL), or
 * statements separated by top-level `;` (SQLite, DB2, Snowflake and
 * drivers that run one statement at a time), keeping compound statements
 * (BEGIN ... END, CASE ... END) whole. Text is only cut, never built.
 */
#include "store/odbc/odbc.h"
#include "util/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The scanning helpers of the dialect layer (declared in dialect.h; kept
 * local here so this file does not depend on the store's headers). */
static const char *skip_comment(const char *p)
{
    if (p[0] == '-' && p[1] == '-') {
        p += 2;
        while (*p && *p != '\n')
            p++;
        return p;
    }
    if (p[0] == '/' && p[1] == '*') {
        const char *e = strstr(p + 2, "*/");
        return e ? e + 2 : p + strlen(p);
    }
    return NULL;
}

static const char *skip_quoted(const char *p)
{
    char close = *p == '[' ? ']' : *p;
    p++;
    while (*p) {
        if (*p == close) {
            if (p[1] == close) {
                p += 2;
                continue;
            }
            return p + 1;
        }
        p++;
    }
    return p;
}

static bool is_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$' || c == '#' || c == '@';
}

/* Keyword `kw` (upper case) at p, as a whole word? */
static bool word_at(const char *start, const char *p, const char *kw)
{
    size_t n = strlen(kw);
    if (p > start && is_word_char(p[-1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (toupper((unsigned char)p[i]) != kw[i])
            return false;
    return !is_word_char(p[n]);
}

static const char *skip_ws(const char *p)
{
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (isspace((unsigned char)s[i]) || s[i] == ';')
            continue;
        /* a piece of comments only is blank too */
        const char *e = skip_comment(s + i);
        if (e) {
            i = (size_t)(e - s) - 1;
            if (!*e)
                return true;
            continue;
        }
        return false;
    }
    return true;
}

static int push_piece(pd_strv *out, const char *s, size_t n)
{
    if (blank(s, n))
        return PD_OK;
    /* trim surrounding blanks */
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    char *piece = pd_strndup(s, n);
    if (!piece || pd_strv_push_owned(out, piece))
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    return PD_OK;
}

/* Statements separated by top-level `;`. */
static int split_semicolons(const char *sql, pd_strv *out)
{
    const char *start = sql, *p = sql;
    int depth = 0;
    while (*p) {
        const char *e = skip_comment(p);
        if (e) {
            p = e;
            continue;
        }
        if (*p == '\'' || *p == '"' || *p == '`') {
            p = skip_quoted(p);
            continue;
        }
        if (word_at(sql, p, "BEGIN")) {
            /* BEGIN; / BEGIN TRANSACTION / BEGIN WORK start a transaction,
             * not a block */
            const char *n = skip_ws(p + 5);
            if (*n != ';' && *n && !word_at(sql, n, "TRANSACTION") && !word_at(sql, n, "WORK") &&
                !word_at(sql, n, "TRAN"))
                depth++;
            p += 5;
            continue;
        }
        if (word_at(sql, p, "CASE")) {
            depth++;
            p += 4;
            continue;
        }
        if (word_at(sql, p, "END")) {
            const char *n = skip_ws(p + 3);
            bool closes_other = word_at(sql, n, "IF") || word_at(sql, n, "LOOP") ||
                                word_at(sql, n, "WHILE") || word_at(sql, n, "FOR") ||
                                word_at(sql, n, "REPEAT");
            if (!closes_other && depth > 0)
                depth--;
            p += 3;
            continue;
        }
        if (*p == ';' && depth == 0) {
            int rc = push_piece(out, start, (size_t)(p - start));
            if (rc)
                return rc;
            start = p + 1;
        }
        p++;
    }
    return push_piece(out, start, (size_t)(p - start));
}

/* T-SQL batches separated by lines holding only GO. */
static int split_go(const char *sql, pd_strv *out)
{
    const char *start = sql, *p = sql;
    bool line_start = true;
    while (*p) {
        if (line_start) {
            const char *q = p;
            while (*q == ' ' || *q == '\t')
                q++;
            if ((q[0] == 'G' || q[0] == 'g') && (q[1] == 'O' || q[1] == 'o') &&
                !is_word_char(q[2])) {
                const char *r = q + 2;
                while (*r == ' ' || *r == '\t')
                    r++;
                if (*r == '\n' || *r == '\r' || *r == '\0' || (r[0] == '-' && r[1] == '-')) {
                    int rc = push_piece(out, start, (size_t)(p - start));
                    if (rc)
                        return rc;
                    while (*r && *r != '\n')
                        r++;
                    p = start = r;
                    continue;
                }
            }
        }
        const char *e = skip_comment(p);
        if (e) {
            line_start = false;
            p = e;
            continue;
        }
        if (*p == '\'' || *p == '"' || *p == '[') {
            p = skip_quoted(p);
            line_start = false;
            continue;
        }
        line_start = *p == '\n';
        p++;
    }
    return push_piece(out, start, (size_t)(p - start));
}

int pdi_odbc_split_script(const char *dialect, bool whole, const char *sql, pd_strv *out)
{
    if (dialect && strcmp(dialect, "mssql") == 0)
        return split_go(sql, out);
    if (whole)
        return push_piece(out, sql, strlen(sql));
    return split_semicolons(sql, out);
}
