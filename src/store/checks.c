/*
 * store/checks.c - running the column checks of a table (docs/checks.md):
 * one query per check, written by the dialect (store/dialect/checks.c),
 * executed here through the store's query interface. Only the offending
 * values (at most PDI_CHECK_SHOW of them) ever leave the database.
 */
#include "store_int.h"
#include <stdlib.h>
#include <string.h>

#define PDI_CHECK_SHOW 5

/* The check's name (the store does not link the core's pd_check_kind_name). */
static const char *kind_name(pd_check_kind k)
{
    switch (k) {
    case PD_CHECK_NOT_NULL: return "not_null";
    case PD_CHECK_UNIQUE: return "unique";
    case PD_CHECK_MIN: return "min";
    case PD_CHECK_MAX: return "max";
    case PD_CHECK_ACCEPTED_VALUES: return "accepted_values";
    case PD_CHECK_REFERENCES: return "references";
    }
    return "?";
}

/* The offending rows of one check, as "v1, v2, ..." text. */
typedef struct offenders {
    pd_buf text;
    size_t rows;
    bool with_count; /* unique: the last column is the row count */
} offenders;

static int offender_row(void *user, int ncols, const char *const *names, const char *const *v)
{
    (void)names;
    offenders *o = user;
    if (o->rows >= PDI_CHECK_SHOW) {
        o->rows++;
        return PD_OK;
    }
    int nv = o->with_count ? ncols - 1 : ncols;
    if (o->rows)
        pdi_buf_puts(&o->text, ", ");
    if (nv > 1)
        pdi_buf_putc(&o->text, '(');
    for (int i = 0; i < nv; i++)
        pdi_buf_printf(&o->text, "%s%s", i ? ", " : "", v[i] ? v[i] : "NULL");
    if (nv > 1)
        pdi_buf_putc(&o->text, ')');
    if (o->with_count && ncols > 0)
        pdi_buf_printf(&o->text, " (%s rows)", v[ncols - 1] ? v[ncols - 1] : "?");
    o->rows++;
    return o->text.oom ? PD_ERR_NOMEM : PD_OK;
}

/* "check min 0" / "check accepted_values [0, 1]" / "check references s.t.c" */
static void describe(pd_buf *b, const pd_table_check *c)
{
    pdi_buf_printf(b, "check %s", kind_name(c->kind));
    if (c->kind == PD_CHECK_REFERENCES) {
        pdi_buf_printf(b, " %s.%s.%s", c->ref_schema, c->ref_table, c->ref_column);
    } else if (c->kind == PD_CHECK_ACCEPTED_VALUES) {
        pdi_buf_puts(b, " [");
        for (size_t i = 0; i < c->n_values; i++)
            pdi_buf_printf(b, "%s%s", i ? ", " : "", c->values[i]);
        pdi_buf_puts(b, "]");
    } else if (c->n_values) {
        pdi_buf_printf(b, " %s", c->values[0]);
    }
}

/* Run one query; a row means failure: PD_ERR_CHECK with `what`. */
static int run_one(pd_store *s,
                   const pd_table *t,
                   char *sql,
                   const char *what,
                   const char *column,
                   bool with_count,
                   bool is_count)
{
    if (!sql)
        return pd_last_error_code() ? pd_last_error_code() : PD_ERR_NOMEM;
    offenders o = {PD_BUF_INIT, 0, with_count};
    int rc = pdi_query(s, sql, 0, NULL, offender_row, &o);
    free(sql);
    if (rc == PD_OK && o.rows) {
        if (is_count)
            rc = pd_set_error(PD_ERR_CHECK,
                              "%s failed on column '%s' of table '%s': %s NULL value%s", what,
                              column, t->name, o.text.data ? o.text.data : "?",
                              o.text.data && strcmp(o.text.data, "1") == 0 ? "" : "s");
        else
            rc = pd_set_error(
                PD_ERR_CHECK, "%s failed on column '%s' of table '%s': offending value%s %s%s",
                what, column, t->name, o.rows > 1 ? "s" : "", o.text.data ? o.text.data : "",
                o.rows > PDI_CHECK_SHOW ? ", ..." : "");
    } else if (rc) {
        pd_error_prefix("running %s on column '%s' of table '%s'", what, column, t->name);
    }
    pdi_buf_free(&o.text);
    return rc;
}

static int any_row(void *user, int ncols, const char *const *names, const char *const *v)
{
    (void)ncols;
    (void)names;
    (void)v;
    *(bool *)user = true;
    return PD_OK;
}

static int name_row(void *user, int ncols, const char *const *names, const char *const *v)
{
    (void)names;
    return ncols > 0 && v[0] ? pdi_strv_push(user, v[0]) : PD_OK;
}

/* May the unique probe compare `column` bytewise (COLLATE "C")? Only on
 * the Postgres backend (the dialect of unknown ODBC databases is the
 * Postgres one, without its catalog) and for a column of a deterministic
 * collation, where equal means byte-equal: then the sort compares bytes
 * instead of calling strcoll, and counts exactly the same duplicates. */
static int bytewise(pd_store *s, const char *ph, const pd_table *t, const char *column, bool *out)
{
    *out = false;
    if (s->be != &pdi_backend_postgres)
        return PD_OK;
    char *q = pdi_sql_check_bytewise_columns(s->d, ph, t->name);
    if (!q)
        return pd_last_error_code() ? pd_last_error_code() : PD_OK;
    pd_strv cols = PD_STRV_INIT;
    int rc = pdi_query(s, q, 0, NULL, name_row, &cols);
    free(q);
    *out = rc == PD_OK && pdi_strv_contains(&cols, column);
    pdi_strv_free(&cols);
    return rc;
}

/* The probe of one unique column already run, with the scan checks' pass
 * riding on its scan (run_scan_checks), for run_unique to reuse. */
typedef struct probe_memo {
    const char *column; /* NULL: none was run */
    bool probed, distinct;
} probe_memo;

/* The backend's hash probe of unique on one column (backend.h
 * unique_probe): *probed = false when there is none for this column;
 * `any_where` / *any as there (NULL any: no predicate). */
static int hash_probe(pd_store *s,
                      const char *ph,
                      const pd_table *t,
                      const char *column,
                      const char *any_where,
                      bool *probed,
                      bool *distinct,
                      int *any)
{
    *probed = *distinct = false;
    int any_unused = -1;
    if (!any)
        any = &any_unused;
    *any = -1;
    if (!s->be->unique_probe)
        return PD_OK;
    pdi_conn *c;
    int rc = pdi_pool_get(s, &c);
    if (rc)
        return rc;
    rc = s->be->unique_probe(c, ph, t->name, column, any_where, distinct, any);
    pdi_pool_put(s, c);
    if (rc == PD_ERR_UNSUPPORTED) {
        pd_clear_error();
        *any = -1;
        return PD_OK;
    }
    *probed = rc == PD_OK;
    return rc;
}

/* unique on one column: first a probe cheaper than the GROUP BY where
 * there is one - the backend's hash probe (SQLite, DuckDB, the Parquet
 * store: distinct 64-bit hashes of the values), else the dialect's exact
 * count (Postgres: COUNT(c) > COUNT(DISTINCT c), one sort) - and the
 * GROUP BY naming the duplicates only when the probe finds something. */
static int run_unique(pd_store *s,
                      const char *ph,
                      const pd_table *t,
                      const char *column,
                      const char *what,
                      const probe_memo *memo)
{
    const char *col[] = {column};
    bool dup = true, probed = false, distinct = false, bw = false;
    bool by_count = false;
    int rc = PD_OK;
    if (memo && memo->column && strcmp(memo->column, column) == 0) {
        probed = memo->probed;
        distinct = memo->distinct;
    } else {
        rc = hash_probe(s, ph, t, column, NULL, &probed, &distinct, NULL);
    }
    if (rc == PD_OK && probed)
        dup = !distinct;
    else if (rc == PD_OK && (by_count = pdi_sql_check_unique_by_count(s->d))) {
        rc = bytewise(s, ph, t, column, &bw);
        if (rc == PD_OK) {
            dup = false;
            char *q = pdi_sql_check_unique_any(s->d, ph, t->name, column, bw);
            rc = q ? pdi_query(s, q, 0, NULL, any_row, &dup) : PD_ERR_NOMEM;
            free(q);
        }
    }
    if (rc) {
        pd_error_prefix("running %s on column '%s' of table '%s'", what, column, t->name);
        return rc;
    }
    if (!dup)
        return PD_OK;
    /* the exact query decides: after a hash probe, finding no duplicate
     * means two distinct values shared a hash (the column passes) */
    rc = run_one(s, t, pdi_sql_check_unique(s->d, ph, t->name, col, 1, PDI_CHECK_SHOW + 1), what,
                 column, true, false);
    if (rc == PD_OK && by_count) /* the count said otherwise: never pass silently */
        rc = pd_set_error(PD_ERR_CHECK,
                          "%s failed on column '%s' of table '%s': a value occurs twice, but the "
                          "query naming it found none",
                          what, column, t->name);
    return rc;
}

static int run_check(
    pd_store *s, const char *ph, const pd_table *t, const pd_table_check *c, const probe_memo *memo)
{
    pd_buf w = PD_BUF_INIT;
    describe(&w, c);
    if (w.oom) {
        pdi_buf_free(&w);
        return PD_ERR_NOMEM;
    }
    const char *what = w.data;
    const char *col[] = {c->column};
    char *q = NULL;
    int rc = PD_OK;
    switch (c->kind) {
    case PD_CHECK_NOT_NULL:
        rc = run_one(s, t, pdi_sql_check_not_null(s->d, ph, t->name, col, 1), what, c->column,
                     false, true);
        break;
    case PD_CHECK_UNIQUE: rc = run_unique(s, ph, t, c->column, what, memo); break;
    case PD_CHECK_MIN:
    case PD_CHECK_MAX:
        if (c->n_values != 1) {
            rc =
                pd_set_error(PD_ERR_INVALID, "%s on column '%s': needs one value", what, c->column);
            break;
        }
        q = c->kind == PD_CHECK_MIN
                ? pdi_sql_check_min(s->d, ph, t->name, c->column, c->values[0], PDI_CHECK_SHOW + 1)
                : pdi_sql_check_max(s->d, ph, t->name, c->column, c->values[0], PDI_CHECK_SHOW + 1);
        rc = run_one(s, t, q, what, c->column, false, false);
        break;
    case PD_CHECK_ACCEPTED_VALUES:
        rc = run_one(s, t,
                     pdi_sql_check_accepted_values(s->d, ph, t->name, c->column, c->values,
                                                   c->n_values, PDI_CHECK_SHOW + 1),
                     what, c->column, false, false);
        break;
    case PD_CHECK_REFERENCES: {
        char *rph = c->ref_schema ? pdi_phys(s, c->ref_schema) : NULL;
        if (!rph || !c->ref_table || !c->ref_column) {
            rc =
                rph ? pd_set_error(PD_ERR_INVALID, "%s: incomplete reference", what) : PD_ERR_NOMEM;
        } else {
            rc = run_one(s, t,
                         pdi_sql_check_references(s->d, ph, t->name, c->column, rph, c->ref_table,
                                                  c->ref_column, PDI_CHECK_SHOW + 1),
                         what, c->column, false, false);
        }
        free(rph);
        break;
    }
    default: rc = pd_set_error(PD_ERR_INVALID, "unknown check kind %d", (int)c->kind);
    }
    pdi_buf_free(&w);
    return rc;
}

static bool is_scan(pd_check_kind k)
{
    return k == PD_CHECK_NOT_NULL || k == PD_CHECK_MIN || k == PD_CHECK_MAX ||
           k == PD_CHECK_ACCEPTED_VALUES;
}

/* "a, b" for messages */
static char *col_list(const char *const *cols, size_t n)
{
    pd_buf b = PD_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        pdi_buf_printf(&b, "%s%s", i ? ", " : "", cols[i]);
    if (b.oom || !b.data) {
        pdi_buf_free(&b);
        return pdi_strdup("");
    }
    return pdi_buf_detach(&b);
}

static int run_pk_not_null(pd_store *s, const char *ph, const pd_table *t)
{
    char *cols = col_list(t->primary_key, t->n_primary_key);
    int rc =
        run_one(s, t, pdi_sql_check_not_null(s->d, ph, t->name, t->primary_key, t->n_primary_key),
                "primary key check not_null", cols ? cols : "?", false, true);
    free(cols);
    return rc;
}

/* The backend's proof from metadata that no row offends a scan check
 * (backend.h scan_proof): the primary key's columns as not_null checks,
 * then the table's scan checks. */
static int scan_proof(pd_store *s, const char *ph, const pd_table *t, bool *proven)
{
    *proven = false;
    size_t npk = t->primary_key ? t->n_primary_key : 0, n = npk, k = 0;
    for (size_t i = 0; i < t->n_checks; i++)
        n += is_scan(t->checks[i].kind);
    if (!s->be->scan_proof || !n)
        return PD_OK;
    pd_table_check *all = pdi_calloc(n, sizeof *all);
    if (!all)
        return PD_ERR_NOMEM;
    for (size_t i = 0; i < npk; i++)
        all[k++] = (pd_table_check){.kind = PD_CHECK_NOT_NULL, .column = t->primary_key[i]};
    for (size_t i = 0; i < t->n_checks; i++)
        if (is_scan(t->checks[i].kind))
            all[k++] = t->checks[i];
    pdi_conn *c;
    int rc = pdi_pool_get(s, &c);
    if (rc == PD_OK) {
        rc = s->be->scan_proof(c, ph, t->name, all, n, proven);
        pdi_pool_put(s, c);
    }
    free(all);
    if (rc)
        pd_error_prefix("checks of table '%s' from the files' statistics", t->name);
    return rc;
}

/* The scan checks (the primary key's not null, then not_null, min, max and
 * accepted_values in declaration order) in ONE pass over the table, which
 * stops at the first offending row; only then each runs its own query, to
 * name its offending values. Where the backend can, that pass rides on the
 * scan of the first unique column's hash probe instead (SQLite: one scan
 * of the table for both), whose result goes to *memo. Before any scan, the
 * backend may decide them all from metadata (scan_proof: the Parquet
 * store's footer statistics). */
static int run_scan_checks(pd_store *s, const char *ph, const pd_table *t, probe_memo *memo)
{
    bool pk = t->primary_key && t->n_primary_key;
    size_t n = (pk ? 1 : 0), k = 0;
    for (size_t i = 0; i < t->n_checks; i++)
        n += is_scan(t->checks[i].kind);
    if (!n)
        return PD_OK;
    bool proven = false;
    int prc = scan_proof(s, ph, t, &proven);
    if (prc || proven)
        return prc; /* every scan check passes: no scan */
    char **preds = pdi_calloc(n, sizeof *preds);
    int rc = preds ? PD_OK : PD_ERR_NOMEM;
    if (!rc && pk &&
        !(preds[k++] = pdi_sql_check_predicate(s->d, PD_CHECK_NOT_NULL, t->primary_key,
                                               t->n_primary_key, NULL, 0)))
        rc = pd_last_error_code() ? pd_last_error_code() : PD_ERR_NOMEM;
    for (size_t i = 0; !rc && i < t->n_checks; i++) {
        const pd_table_check *c = &t->checks[i];
        if (is_scan(c->kind) && !(preds[k++] = pdi_sql_check_predicate(s->d, c->kind, &c->column, 1,
                                                                       c->values, c->n_values)))
            rc = pd_last_error_code() ? pd_last_error_code() : PD_ERR_NOMEM;
    }
    bool any = false, scanned = false;
    const char *uc = NULL;
    for (size_t i = 0; !uc && i < t->n_checks; i++)
        if (t->checks[i].kind == PD_CHECK_UNIQUE)
            uc = t->checks[i].column;
    if (!rc && uc && s->be->unique_probe) {
        char *w = pdi_sql_check_or((const char *const *)preds, n);
        int a = -1;
        bool probed = false, distinct = false;
        rc = w ? hash_probe(s, ph, t, uc, w, &probed, &distinct, &a) : PD_ERR_NOMEM;
        free(w);
        if (rc)
            pd_error_prefix("running the checks of table '%s'", t->name);
        *memo = (probe_memo){uc, probed, distinct};
        scanned = a >= 0;
        any = a > 0;
    }
    if (!rc && !scanned) {
        char *q = pdi_sql_check_any(s->d, ph, t->name, (const char *const *)preds, n);
        rc = q ? pdi_query(s, q, 0, NULL, any_row, &any) : PD_ERR_NOMEM;
        free(q);
        if (rc)
            pd_error_prefix("running the checks of table '%s'", t->name);
    }
    if (!rc && any) {
        if (pk)
            rc = run_pk_not_null(s, ph, t);
        for (size_t i = 0; !rc && i < t->n_checks; i++)
            if (is_scan(t->checks[i].kind))
                rc = run_check(s, ph, t, &t->checks[i], NULL);
        if (!rc) /* the scan said otherwise: never pass silently */
            rc = pd_set_error(PD_ERR_CHECK,
                              "checks of table '%s': a row offends a check, but no single check "
                              "names it",
                              t->name);
    }
    for (size_t i = 0; preds && i < n; i++)
        free(preds[i]);
    free(preds);
    return rc;
}

/* The primary key's uniqueness as a check query (offending values named). */
static int run_pk_unique(pd_store *s, const char *ph, const pd_table *t)
{
    if (t->n_primary_key == 1)
        return run_unique(s, ph, t, t->primary_key[0], "primary key check unique", NULL);
    char *cols = col_list(t->primary_key, t->n_primary_key);
    int rc = run_one(s, t,
                     pdi_sql_check_unique(s->d, ph, t->name, t->primary_key, t->n_primary_key,
                                          PDI_CHECK_SHOW + 1),
                     "primary key check unique", cols ? cols : "?", true, false);
    free(cols);
    return rc;
}

int pdi_pk_failure(pd_store *s, const char *ph, const pd_table *t, int rc)
{
    if (!t->primary_key || !t->n_primary_key)
        return rc;
    char *saved = pdi_strdup(pd_last_error());
    int urc = run_pk_unique(s, ph, t);
    if (urc == PD_ERR_CHECK) {
        free(saved);
        return urc;
    }
    pd_set_error(rc, "%s", saved ? saved : "creating the primary key");
    free(saved);
    return rc;
}

int pdi_run_checks(pd_store *s, const char *ph, const pd_table *t)
{
    if (!t->n_checks && !(t->primary_key && t->n_primary_key))
        return PD_OK;
    /* every column named must exist (the quoted identifiers need the exact name) */
    pd_strv have = PD_STRV_INIT;
    int rc = pdi_table_columns(s, ph, t->name, &have);
    for (size_t i = 0; rc == PD_OK && t->primary_key && i < t->n_primary_key; i++)
        if (!pdi_strv_contains(&have, t->primary_key[i]))
            rc = pd_set_error(PD_ERR_INVALID,
                              "task '%s': primary_key names column '%s', which table '%s' does "
                              "not have",
                              t->task_name ? t->task_name : "?", t->primary_key[i], t->name);
    for (size_t i = 0; rc == PD_OK && i < t->n_checks; i++)
        if (!pdi_strv_contains(&have, t->checks[i].column))
            rc = pd_set_error(PD_ERR_INVALID,
                              "task '%s': check %s names column '%s', which table '%s' does not "
                              "have",
                              t->task_name ? t->task_name : "?", kind_name(t->checks[i].kind),
                              t->checks[i].column, t->name);
    pdi_strv_free(&have);
    probe_memo memo = {NULL, false, false};
    if (rc == PD_OK)
        rc = run_scan_checks(s, ph, t, &memo);
    /* the primary key's uniqueness: where the database enforces it, creating
     * the key checks it (pdi_pk_failure names the duplicates when that
     * fails); elsewhere (keys not enforced: snowflake; no keys at all: the
     * Parquet store) a query here */
    if (rc == PD_OK && t->primary_key && t->n_primary_key &&
        (!pdi_sql_has_indexes(s->d) || (s->be->caps & PDI_CAP_NO_KEYS)))
        rc = run_pk_unique(s, ph, t);
    for (size_t i = 0; i < t->n_checks && rc == PD_OK; i++)
        if (!is_scan(t->checks[i].kind))
            rc = run_check(s, ph, t, &t->checks[i], &memo);
    return rc;
}
