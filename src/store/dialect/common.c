/*
 * store/dialect/common.c - the SQL text every dialect shares (the
 * ANSI/Postgres-like default), the one identifier quoter, the dispatch to
 * a dialect's hooks, metadata statements and SQL text scanning.
 *
 * Pure string building: nothing here executes SQL, and nothing here asks
 * which dialect it writes for - differences are the data and hooks of the
 * pdi_dialect (one file per dialect beside this one).
 */
#include "store/dialect/dialect_int.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const pdi_dialect *pdi_dialect_get(const char *name)
{
    static const pdi_dialect *const all[] = {&pdi_dialect_postgres, &pdi_dialect_sqlite,
                                             &pdi_dialect_duckdb,   &pdi_dialect_mssql,
                                             &pdi_dialect_db2,      &pdi_dialect_snowflake};
    if (!name)
        return &pdi_dialect_postgres;
    /* "mssql+pyodbc", "postgresql+odbc": the dialect is before the '+' */
    char base[64];
    size_t bl = strcspn(name, "+");
    if (name[bl] == '+' && bl < sizeof base) {
        memcpy(base, name, bl);
        base[bl] = 0;
        name = base;
    }
    if (pdi_str_ieq(name, "postgres"))
        return &pdi_dialect_postgres;
    if (pdi_str_ieq(name, "ibm_db_sa") || pdi_str_ieq(name, "ibm_db"))
        return &pdi_dialect_db2;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (pdi_str_ieq(name, all[i]->name))
            return all[i];
    return &pdi_dialect_postgres;
}

char *pdi_dl_finish(pd_buf *b)
{
    char *s = pdi_buf_detach(b);
    if (!s)
        pd_set_error(PD_ERR_NOMEM, "out of memory building SQL");
    return s;
}

/* ------------------------------------------------------------- names */

void pdi_dl_quoted(pd_buf *b, const pdi_dialect *d, const char *id)
{
    pdi_buf_putc(b, d->quote_open);
    for (const char *p = id ? id : ""; *p; p++) {
        if (*p == d->quote_close)
            pdi_buf_putc(b, d->quote_close);
        pdi_buf_putc(b, *p);
    }
    pdi_buf_putc(b, d->quote_close);
}

void pdi_dl_qualified(pd_buf *b, const pdi_dialect *d, const char *schema, const char *name)
{
    pdi_dl_quoted(b, d, schema);
    pdi_buf_putc(b, '.');
    pdi_dl_quoted(b, d, name);
}

void pdi_dl_literal(pd_buf *b, const char *s)
{
    pdi_buf_putc(b, '\'');
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '\'')
            pdi_buf_putc(b, '\'');
        pdi_buf_putc(b, *p);
    }
    pdi_buf_putc(b, '\'');
}

char *pdi_sql_quote(const pdi_dialect *d, const char *ident)
{
    pd_buf b = {0};
    pdi_dl_quoted(&b, d, ident);
    return pdi_dl_finish(&b);
}

char *pdi_sql_qualified(const pdi_dialect *d, const char *schema, const char *name)
{
    pd_buf b = {0};
    pdi_dl_qualified(&b, d, schema, name);
    return pdi_dl_finish(&b);
}

char *pdi_sql_physical_schema(const char *prefix, const char *logical, const char *suffix)
{
    return pdi_asprintf("%s%s%s", prefix ? prefix : "", logical ? logical : "",
                        suffix ? suffix : "");
}

char *pdi_sql_literal(const char *text)
{
    pd_buf b = {0};
    pdi_dl_literal(&b, text);
    return pdi_dl_finish(&b);
}

/* ----------------------------------------------------------- schemas */

char *pdi_sql_create_schema(const pdi_dialect *d, const char *schema)
{
    if (d->create_schema)
        return d->create_schema(d, schema);
    pd_buf b = {0};
    pdi_buf_puts(&b, "CREATE SCHEMA IF NOT EXISTS ");
    pdi_dl_quoted(&b, d, schema);
    return pdi_dl_finish(&b);
}

char *pdi_sql_drop_schema(const pdi_dialect *d, const char *schema)
{
    if (d->drop_schema)
        return d->drop_schema(d, schema);
    pd_buf b = {0};
    pdi_buf_puts(&b, "DROP SCHEMA IF EXISTS ");
    pdi_dl_quoted(&b, d, schema);
    pdi_buf_puts(&b, " CASCADE");
    return pdi_dl_finish(&b);
}

char *pdi_sql_rename_schema(const pdi_dialect *d, const char *from, const char *to)
{
    if (d->rename_schema)
        return d->rename_schema(d, from, to);
    pd_buf b = {0};
    pdi_buf_puts(&b, "ALTER SCHEMA ");
    pdi_dl_quoted(&b, d, from);
    pdi_buf_puts(&b, " RENAME TO ");
    pdi_dl_quoted(&b, d, to);
    return pdi_dl_finish(&b);
}

char *pdi_sql_list_schemas(const pdi_dialect *d)
{
    if (d->list_schemas)
        return d->list_schemas(d);
    /* never a system schema (delete-schemas drops what this lists) */
    return pdi_strdup("SELECT schema_name FROM information_schema.schemata WHERE schema_name "
                      "NOT IN ('public', 'information_schema') AND schema_name NOT LIKE "
                      "'pg\\_%' ORDER BY 1");
}

char *pdi_sql_list_objects(const pdi_dialect *d, const char *schema)
{
    if (d->list_objects)
        return d->list_objects(d, schema);
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT table_name FROM information_schema.tables WHERE table_schema = ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, " ORDER BY table_name");
    return pdi_dl_finish(&b);
}

/* " IN ('a', 'b')" */
void pdi_dl_in_list(pd_buf *b, const char *const *v, size_t n)
{
    pdi_buf_puts(b, " IN (");
    for (size_t i = 0; i < n; i++) {
        if (i)
            pdi_buf_puts(b, ", ");
        pdi_dl_literal(b, v[i]);
    }
    pdi_buf_puts(b, ")");
}

char *pdi_sql_list_objects_in(const pdi_dialect *d, const char *const *schemas, size_t n)
{
    if (d->list_objects_in)
        return d->list_objects_in(d, schemas, n);
    if (d->list_objects || n == 0) {
        pd_set_error(PD_ERR_UNSUPPORTED, "%s: objects are listed one schema at a time", d->name);
        return NULL;
    }
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT table_schema, table_name FROM information_schema.tables WHERE "
                     "table_schema");
    pdi_dl_in_list(&b, schemas, n);
    pdi_buf_puts(&b, " ORDER BY table_schema, table_name");
    return pdi_dl_finish(&b);
}

char *pdi_sql_list_relations(const pdi_dialect *d, const char *schema)
{
    if (d->list_relations)
        return d->list_relations(d, schema);
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT table_name, CASE WHEN table_type = 'VIEW' THEN 'VIEW' ELSE 'TABLE' "
                     "END FROM information_schema.tables WHERE table_schema = ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, " ORDER BY table_name");
    return pdi_dl_finish(&b);
}

char *
pdi_sql_drop_object(const pdi_dialect *d, const char *kind, const char *schema, const char *name)
{
    pd_buf b = {0};
    pdi_buf_printf(&b, "DROP %s ", kind);
    if (d->drop_if_exists)
        pdi_buf_puts(&b, "IF EXISTS ");
    pdi_dl_qualified(&b, d, schema, name);
    if (d->drop_cascades)
        pdi_buf_puts(&b, " CASCADE");
    return pdi_dl_finish(&b);
}

char *pdi_sql_table_exists(const pdi_dialect *d, const char *schema)
{
    if (d->table_exists)
        return d->table_exists(d, schema);
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT table_name FROM information_schema.tables WHERE table_schema = ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, " AND table_name = ?");
    return pdi_dl_finish(&b);
}

char *pdi_sql_list_columns(const pdi_dialect *d, const char *schema, const char *table)
{
    if (d->list_columns)
        return d->list_columns(d, schema, table);
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT column_name FROM information_schema.columns WHERE table_schema = ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, " AND table_name = ");
    pdi_dl_literal(&b, table);
    pdi_buf_puts(&b, " ORDER BY ordinal_position");
    return pdi_dl_finish(&b);
}

char *pdi_sql_list_indexes(const pdi_dialect *d, const char *schema, const char *table)
{
    if (d->list_indexes)
        return d->list_indexes(d, schema, table);
    pd_set_error(PD_ERR_UNSUPPORTED, "%s: listing the indexes of a table is not supported",
                 d->name);
    return NULL;
}

/* ------------------------------------------------------------ tables */

const char *pdi_sql_create_table_kw(const pdi_dialect *d, bool unlogged)
{
    return unlogged && d->has_unlogged ? "CREATE UNLOGGED TABLE " : "CREATE TABLE ";
}

char *pdi_sql_ctas(
    const pdi_dialect *d, const char *schema, const char *table, const char *select, bool unlogged)
{
    if (d->ctas)
        return d->ctas(d, schema, table, select, unlogged);
    pd_buf b = {0};
    pdi_buf_puts(&b, pdi_sql_create_table_kw(d, unlogged));
    pdi_dl_qualified(&b, d, schema, table);
    pdi_buf_puts(&b, " AS ");
    pdi_buf_puts(&b, select);
    return pdi_dl_finish(&b);
}

char *pdi_sql_create_table_arrow(const pdi_dialect *d,
                                 const char *schema,
                                 const char *table,
                                 const struct ArrowSchema *arrow,
                                 bool unlogged)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, pdi_sql_create_table_kw(d, unlogged));
    pdi_dl_qualified(&b, d, schema, table);
    pdi_buf_puts(&b, " (");
    for (int64_t i = 0; i < arrow->n_children; i++) {
        const struct ArrowSchema *c = arrow->children[i];
        char buf[64];
        const char *ty =
            c->dictionary ? NULL : pdi_sql_type_for_arrow(d, c->format, buf, sizeof buf);
        if (!ty) {
            pdi_buf_free(&b);
            pd_set_error(PD_ERR_UNSUPPORTED,
                         "column '%s' of table '%s' has Arrow type '%s'%s, which %s cannot store",
                         c->name ? c->name : "?", table, c->format ? c->format : "?",
                         c->dictionary ? " (dictionary-encoded)" : "", d->name);
            return NULL;
        }
        if (i)
            pdi_buf_puts(&b, ", ");
        pdi_dl_quoted(&b, d, c->name ? c->name : "");
        pdi_buf_putc(&b, ' ');
        pdi_buf_puts(&b, ty);
    }
    pdi_buf_putc(&b, ')');
    return pdi_dl_finish(&b);
}

char *
pdi_sql_create_view(const pdi_dialect *d, const char *schema, const char *view, const char *select)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "CREATE VIEW ");
    pdi_dl_qualified(&b, d, schema, view);
    pdi_buf_puts(&b, " AS ");
    pdi_buf_puts(&b, select);
    return pdi_dl_finish(&b);
}

static char *drop_obj(const pdi_dialect *d, const char *what, const char *schema, const char *name)
{
    pd_buf b = {0};
    pdi_buf_printf(&b, "DROP %s ", what);
    if (d->drop_if_exists)
        pdi_buf_puts(&b, "IF EXISTS ");
    pdi_dl_qualified(&b, d, schema, name);
    return pdi_dl_finish(&b);
}

char *pdi_sql_drop_table(const pdi_dialect *d, const char *schema, const char *table)
{
    return drop_obj(d, "TABLE", schema, table);
}

char *pdi_sql_drop_view(const pdi_dialect *d, const char *schema, const char *view)
{
    return drop_obj(d, "VIEW", schema, view);
}

char *
pdi_sql_rename_table(const pdi_dialect *d, const char *schema, const char *from, const char *to)
{
    if (d->rename_table)
        return d->rename_table(d, schema, from, to);
    pd_buf b = {0};
    pdi_buf_puts(&b, "ALTER TABLE ");
    pdi_dl_qualified(&b, d, schema, from);
    pdi_buf_puts(&b, " RENAME TO ");
    pdi_dl_quoted(&b, d, to);
    return pdi_dl_finish(&b);
}

char *pdi_sql_select_all(const pdi_dialect *d, const char *schema, const char *table)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT * FROM ");
    pdi_dl_qualified(&b, d, schema, table);
    return pdi_dl_finish(&b);
}

char *pdi_sql_delete_all(const pdi_dialect *d, const char *schema, const char *table)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "DELETE FROM ");
    pdi_dl_qualified(&b, d, schema, table);
    return pdi_dl_finish(&b);
}

char *pdi_sql_insert_select(const pdi_dialect *d,
                            const char *schema,
                            const char *table,
                            const char *select)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "INSERT INTO ");
    pdi_dl_qualified(&b, d, schema, table);
    pdi_buf_puts(&b, d->insert_hint ? d->insert_hint : "");
    pdi_buf_putc(&b, ' ');
    pdi_buf_puts(&b, select);
    return pdi_dl_finish(&b);
}

size_t pdi_dl_trimmed_len(const char *select)
{
    size_t n = strlen(select);
    while (n && (select[n - 1] == ';' || isspace((unsigned char)select[n - 1])))
        n--;
    return n;
}

char *pdi_sql_limit(const pdi_dialect *d, const char *select, int64_t n)
{
    if (d->limit)
        return d->limit(d, select, n);
    pd_buf b = {0};
    pdi_buf_printf(&b, "SELECT * FROM (%.*s) AS pd_limit_sub LIMIT %lld",
                   (int)pdi_dl_trimmed_len(select), select, (long long)n);
    return pdi_dl_finish(&b);
}

/* ------------------------------------------------------ keys, indexes */

char *pdi_sql_constraint_name(const char *prefix,
                              const char *table,
                              const char *const *cols,
                              size_t ncols)
{
    pd_buf b = {0};
    pdi_buf_printf(&b, "%s%s", prefix, table);
    for (size_t i = 0; i < ncols; i++)
        pdi_buf_printf(&b, "_%s", cols[i]);
    if (b.len <= 63)
        return pdi_dl_finish(&b);
    pd_buf h = {0};
    pdi_buf_puts(&h, table);
    for (size_t i = 0; i < ncols; i++)
        pdi_buf_printf(&h, "|%s", cols[i]);
    uint8_t dig[PD_SHA256_LEN];
    pdi_sha256(h.data, h.len, dig);
    pdi_buf_free(&h);
    char hex[2 * PD_SHA256_LEN + 1];
    pdi_hex(dig, 4, hex);
    hex[8] = 0;
    pdi_buf_clear(&b);
    pdi_buf_printf(&b, "%s%s_%s", prefix, table, hex);
    if (b.len <= 63)
        return pdi_dl_finish(&b);
    pdi_buf_clear(&b);
    pdi_buf_printf(&b, "%s%s_", prefix, hex);
    size_t room = 63 - b.len;
    pdi_buf_append(&b, table, strlen(table) < room ? strlen(table) : room);
    return pdi_dl_finish(&b);
}

static void put_cols(pd_buf *b, const pdi_dialect *d, const char *const *cols, size_t ncols)
{
    pdi_buf_putc(b, '(');
    for (size_t i = 0; i < ncols; i++) {
        if (i)
            pdi_buf_puts(b, ", ");
        pdi_dl_quoted(b, d, cols[i]);
    }
    pdi_buf_putc(b, ')');
}

static char *create_index(const pdi_dialect *d,
                          const char *schema,
                          const char *table,
                          const char *const *cols,
                          size_t ncols,
                          const char *prefix,
                          bool unique)
{
    char *name = pdi_sql_constraint_name(prefix, table, cols, ncols);
    if (!name)
        return NULL;
    pd_buf b = {0};
    pdi_buf_printf(&b, "CREATE %sINDEX ", unique ? "UNIQUE " : "");
    if (d->index_in_table_schema)
        pdi_dl_qualified(&b, d, schema, name);
    else
        pdi_dl_quoted(&b, d, name);
    pdi_buf_puts(&b, " ON ");
    if (d->index_on_bare_table)
        pdi_dl_quoted(&b, d, table);
    else
        pdi_dl_qualified(&b, d, schema, table);
    pdi_buf_putc(&b, ' ');
    put_cols(&b, d, cols, ncols);
    free(name);
    return pdi_dl_finish(&b);
}

char *pdi_sql_add_primary_key(const pdi_dialect *d,
                              const char *schema,
                              const char *table,
                              const char *const *cols,
                              size_t ncols)
{
    if (d->pk_as_unique_index)
        return create_index(d, schema, table, cols, ncols, "pk_", true);
    char *name = pdi_sql_constraint_name("pk_", table, cols, ncols);
    if (!name)
        return NULL;
    pd_buf b = {0};
    pdi_buf_puts(&b, "ALTER TABLE ");
    pdi_dl_qualified(&b, d, schema, table);
    pdi_buf_puts(&b, " ADD CONSTRAINT ");
    pdi_dl_quoted(&b, d, name);
    pdi_buf_puts(&b, " PRIMARY KEY ");
    put_cols(&b, d, cols, ncols);
    free(name);
    return pdi_dl_finish(&b);
}

char *pdi_sql_create_index(const pdi_dialect *d,
                           const char *schema,
                           const char *table,
                           const char *const *cols,
                           size_t ncols)
{
    if (!d->has_indexes)
        return pdi_strdup("");
    return create_index(d, schema, table, cols, ncols, "idx_", false);
}

bool pdi_sql_has_indexes(const pdi_dialect *d)
{
    return d->has_indexes;
}

bool pdi_sql_same_ident(const pdi_dialect *d, const char *a, const char *b)
{
    return d->ident_nocase ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

/* ------------------------------------------------------------- types */

const char *pdi_sql_type_for_arrow(const pdi_dialect *d, const char *format, char *buf, size_t cap)
{
    if (!format || !*format || !buf || cap < 64)
        return NULL;
    return d->type_for_arrow(d, format, buf, cap);
}

/* Arrow "d:p,s" from "...(p,s)" / "...(p)" in a type name; NULL if absent. */
const char *pdi_dl_decimal_format(const char *type, char *buf, size_t cap)
{
    const char *o = strchr(type, '(');
    int p = 0, s = 0;
    if (!o || sscanf(o, "(%d,%d)", &p, &s) < 1 || p < 1 || p > 38)
        return NULL;
    snprintf(buf, cap, "d:%d,%d", p, s);
    return buf;
}

const char *pdi_sql_arrow_for_type(const pdi_dialect *d, const char *t, char *buf, size_t cap)
{
    if (d->arrow_for_type)
        return d->arrow_for_type(d, t, buf, cap);
    if (!t || !*t)
        return "u";
    char *lt = pdi_str_lower(t);
    if (!lt)
        return "u";
    const char *r = "u";
    if (strstr(lt, "bool") || pdi_str_eq(lt, "bit"))
        r = "b";
    else if (strstr(lt, "bigint") || strstr(lt, "int8") || pdi_str_eq(lt, "integer") ||
             pdi_str_eq(lt, "int") || strstr(lt, "smallint") || strstr(lt, "tinyint"))
        r = "l";
    else if (strstr(lt, "double") || strstr(lt, "float") || strstr(lt, "real"))
        r = "g";
    else if (strstr(lt, "timestamp with time zone") || strstr(lt, "timestamptz"))
        r = "tsu:UTC";
    else if (strstr(lt, "timestamp") || strstr(lt, "datetime"))
        r = "tsu:";
    else if (pdi_str_eq(lt, "date"))
        r = "tdD";
    else if (pdi_str_eq(lt, "time"))
        r = "ttu";
    else if (strstr(lt, "blob") || strstr(lt, "bytea") || strstr(lt, "binary"))
        r = "z";
    else if (strstr(lt, "decimal") || strstr(lt, "numeric"))
        r = "g";
    free(lt);
    return r;
}

const char *pdi_sql_bool(const pdi_dialect *d, bool v)
{
    if (d->bool_is_bit)
        return v ? "1" : "0";
    return v ? "TRUE" : "FALSE";
}

/* ------------------------------------------------ transactions, loads */

const char *pdi_sql_begin(const pdi_dialect *d)
{
    return d->begin_kw ? d->begin_kw : "BEGIN";
}

const char *pdi_sql_commit(const pdi_dialect *d)
{
    (void)d;
    return "COMMIT";
}

const char *pdi_sql_rollback(const pdi_dialect *d)
{
    (void)d;
    return "ROLLBACK";
}

char *
pdi_sql_insert_values(const pdi_dialect *d, const char *schema, const char *table, size_t ncols)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "INSERT INTO ");
    pdi_dl_qualified(&b, d, schema, table);
    pdi_buf_puts(&b, " VALUES (");
    for (size_t i = 0; i < ncols; i++)
        pdi_buf_puts(&b, i ? ", ?" : "?");
    pdi_buf_putc(&b, ')');
    return pdi_dl_finish(&b);
}

char *pdi_sql_insert_values_rows(
    const pdi_dialect *d, const char *schema, const char *table, size_t ncols, size_t rows)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "INSERT INTO ");
    pdi_dl_qualified(&b, d, schema, table);
    pdi_buf_puts(&b, " VALUES ");
    for (size_t r = 0; r < rows; r++) {
        pdi_buf_puts(&b, r ? ", (" : "(");
        for (size_t i = 0; i < ncols; i++)
            pdi_buf_puts(&b, i ? ", ?" : "?");
        pdi_buf_putc(&b, ')');
    }
    return pdi_dl_finish(&b);
}

/* ------------------------------------------------------ session, locks */

char *pdi_sql_session_setup(const pdi_dialect *d)
{
    return d->session_setup ? d->session_setup(d) : pdi_strdup("");
}

static char *lock_sql(const pdi_dialect *d, int64_t id, int op)
{
    if (!d->lock) {
        pd_set_error(PD_ERR_UNSUPPORTED, "%s has no advisory locks", d->name);
        return NULL;
    }
    return d->lock(d, id, op);
}

char *pdi_sql_lock(const pdi_dialect *d, int64_t id)
{
    return lock_sql(d, id, 0);
}

char *pdi_sql_unlock(const pdi_dialect *d, int64_t id)
{
    return lock_sql(d, id, 1);
}

char *pdi_sql_unlock_all(const pdi_dialect *d)
{
    return lock_sql(d, 0, 2);
}

/* ---------------------------------------------------------- metadata */

char **pdi_sql_metadata_ddl(const pdi_dialect *d, const char *schema)
{
    static const char *const tables[] = {"stages", "tasks", "lazy_tables", "raw_sql",
                                         "commit_journal"};
    const char *cols[] = {
        "stage VARCHAR(64), cur_transaction_name VARCHAR(256)",  NULL, NULL, NULL,
        "stage VARCHAR(64), run_id VARCHAR(32), started BIGINT",
    };
    char *tasks_cols =
        pdi_asprintf("name VARCHAR(128), stage VARCHAR(64), version VARCHAR(64), timestamp BIGINT, "
                     "run_id VARCHAR(32), position_hash VARCHAR(32), input_hash VARCHAR(32), "
                     "cache_fn_hash VARCHAR(32), output_json %s, in_transaction_schema %s",
                     d->text_type, d->bool_type);
    char *lazy_cols = pdi_asprintf("name VARCHAR(128), stage VARCHAR(64), query_hash VARCHAR(32), "
                                   "task_hash VARCHAR(32), in_transaction_schema %s",
                                   d->bool_type);
    char *raw_cols =
        pdi_asprintf("prev_objects %s, new_objects %s, stage VARCHAR(64), query_hash VARCHAR(32), "
                     "task_hash VARCHAR(32), in_transaction_schema %s",
                     d->text_type, d->text_type, d->bool_type);
    cols[1] = tasks_cols;
    cols[2] = lazy_cols;
    cols[3] = raw_cols;
    char **v = pdi_calloc(32, sizeof *v);
    size_t n = 0;
    if (!v || !tasks_cols || !lazy_cols || !raw_cols)
        goto oom;
    const char *ine = d->if_not_exists ? "IF NOT EXISTS " : "";
    pd_buf b = {0};
    pdi_buf_printf(&b, "CREATE TABLE %s", ine);
    pdi_dl_qualified(&b, d, schema, "metadata_version");
    pdi_buf_puts(&b, " (version VARCHAR(32))");
    v[n++] = pdi_buf_detach(&b);
    for (size_t i = 0; i < 5; i++) {
        char seq[64];
        snprintf(seq, sizeof seq, "%s_id_seq", tables[i]);
        if (!d->meta_id_col) {
            pdi_buf_printf(&b, "CREATE SEQUENCE %s", ine);
            pdi_dl_qualified(&b, d, schema, seq);
            v[n++] = pdi_buf_detach(&b);
        }
        pdi_buf_printf(&b, "CREATE TABLE %s", ine);
        pdi_dl_qualified(&b, d, schema, tables[i]);
        pdi_buf_puts(&b, " (");
        if (d->meta_id_col) {
            pdi_buf_puts(&b, d->meta_id_col);
        } else {
            pdi_buf_printf(&b, "id BIGINT%s DEFAULT nextval('",
                           d->meta_unindexed ? "" : " PRIMARY KEY");
            pdi_buf_puts(&b, schema);
            pdi_buf_printf(&b, ".%s')", seq);
        }
        pdi_buf_printf(&b, ", %s)", cols[i]);
        v[n++] = pdi_buf_detach(&b);
    }
    static const char *const idx[][3] = {
        {"tasks", "idx_tasks_lookup", "name, stage, version, input_hash"},
        {"tasks", "idx_tasks_pos", "name, stage, position_hash"},
        {"lazy_tables", "idx_lazy_lookup", "stage, query_hash, task_hash"},
        {"raw_sql", "idx_raw_sql_lookup", "stage, query_hash, task_hash"},
    };
    for (size_t i = 0; i < 4 && d->has_indexes && !d->meta_unindexed; i++) {
        pdi_buf_printf(&b, "CREATE INDEX %s", ine);
        if (d->index_in_table_schema)
            pdi_dl_qualified(&b, d, schema, idx[i][1]);
        else
            pdi_dl_quoted(&b, d, idx[i][1]);
        pdi_buf_puts(&b, " ON ");
        if (d->index_on_bare_table)
            pdi_dl_quoted(&b, d, idx[i][0]);
        else
            pdi_dl_qualified(&b, d, schema, idx[i][0]);
        pdi_buf_printf(&b, " (%s)", idx[i][2]);
        v[n++] = pdi_buf_detach(&b);
    }
    for (size_t i = 0; i < n; i++)
        if (!v[i])
            goto oom;
    free(tasks_cols);
    free(lazy_cols);
    free(raw_cols);
    return v;
oom:
    free(tasks_cols);
    free(lazy_cols);
    free(raw_cols);
    pdi_sql_strv_free(v);
    pd_set_error(PD_ERR_NOMEM, "out of memory building metadata DDL");
    return NULL;
}

void pdi_sql_strv_free(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

#define TASK_COLS                                                                         \
    "name, stage, version, timestamp, run_id, position_hash, input_hash, cache_fn_hash, " \
    "output_json, in_transaction_schema"

char *pdi_sql_meta(const pdi_dialect *d, const char *schema, pdi_meta_q q)
{
    char *s = pdi_sql_quote(d, schema);
    if (!s)
        return NULL;
    const char *F = pdi_sql_bool(d, false), *T = pdi_sql_bool(d, true);
    static const char *const tabs[3] = {"tasks", "lazy_tables", "raw_sql"};
    char *r = NULL;
    switch (q) {
    case PDI_MQ_VERSION_GET: r = pdi_asprintf("SELECT version FROM %s.metadata_version", s); break;
    case PDI_MQ_VERSION_PUT:
        r = pdi_asprintf("INSERT INTO %s.metadata_version (version) VALUES (?)", s);
        break;
    case PDI_MQ_VERSION_DELETE: r = pdi_asprintf("DELETE FROM %s.metadata_version", s); break;
    case PDI_MQ_TASK_INSERT:
        r = pdi_asprintf(
            "INSERT INTO %s.tasks (" TASK_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", s);
        break;
    case PDI_MQ_TASK_FIND:
        r = pdi_asprintf("SELECT " TASK_COLS " FROM %s.tasks WHERE name = ? AND stage = ? AND "
                         "version = ? AND input_hash = ? AND in_transaction_schema = %s",
                         s, F);
        break;
    case PDI_MQ_TASK_FIND_FN:
        r = pdi_asprintf("SELECT " TASK_COLS " FROM %s.tasks WHERE name = ? AND stage = ? AND "
                         "version = ? AND input_hash = ? AND in_transaction_schema = %s AND "
                         "cache_fn_hash = ?",
                         s, F);
        break;
    case PDI_MQ_TASK_LATEST:
        r = pdi_asprintf("SELECT " TASK_COLS " FROM %s.tasks WHERE name = ? AND stage = ? "
                         "ORDER BY timestamp DESC, id DESC",
                         s);
        break;
    case PDI_MQ_TASK_LATEST_POS:
        r = pdi_asprintf("SELECT " TASK_COLS " FROM %s.tasks WHERE name = ? AND stage = ? AND "
                         "position_hash = ? ORDER BY timestamp DESC, id DESC",
                         s);
        break;
    case PDI_MQ_TASK_STAGE:
        r = pdi_asprintf("SELECT " TASK_COLS " FROM %s.tasks WHERE stage = ? AND "
                         "in_transaction_schema = %s",
                         s, F);
        break;
    case PDI_MQ_LAZY_INSERT:
        r = pdi_asprintf("INSERT INTO %s.lazy_tables (name, stage, query_hash, task_hash, "
                         "in_transaction_schema) VALUES (?, ?, ?, ?, ?)",
                         s);
        break;
    case PDI_MQ_LAZY_STAGE:
        r = pdi_asprintf("SELECT name, stage, query_hash, task_hash, in_transaction_schema FROM "
                         "%s.lazy_tables WHERE stage = ? AND in_transaction_schema = %s",
                         s, F);
        break;
    case PDI_MQ_RAW_INSERT:
        r = pdi_asprintf("INSERT INTO %s.raw_sql (prev_objects, new_objects, stage, query_hash, "
                         "task_hash, in_transaction_schema) VALUES (?, ?, ?, ?, ?, ?)",
                         s);
        break;
    case PDI_MQ_RAW_FIND:
        r = pdi_asprintf("SELECT prev_objects, new_objects, stage, query_hash, task_hash, "
                         "in_transaction_schema FROM %s.raw_sql WHERE stage = ? AND query_hash = "
                         "? AND task_hash = ? AND in_transaction_schema = %s",
                         s, F);
        break;
    case PDI_MQ_RAW_STAGE:
        r = pdi_asprintf("SELECT prev_objects, new_objects, stage, query_hash, task_hash, "
                         "in_transaction_schema FROM %s.raw_sql WHERE stage = ? AND "
                         "in_transaction_schema = %s",
                         s, F);
        break;
    case PDI_MQ_UNCOMMITTED_STAGES:
        r = pdi_asprintf("SELECT stage FROM %s.tasks WHERE in_transaction_schema = %s UNION "
                         "SELECT stage FROM %s.lazy_tables WHERE in_transaction_schema = %s "
                         "UNION SELECT stage FROM %s.raw_sql WHERE in_transaction_schema = %s",
                         s, T, s, T, s, T);
        break;
    case PDI_MQ_DEL_UNCOMMITTED_TASKS:
    case PDI_MQ_DEL_UNCOMMITTED_LAZY:
    case PDI_MQ_DEL_UNCOMMITTED_RAW:
        r = pdi_asprintf("DELETE FROM %s.%s WHERE stage = ? AND in_transaction_schema = %s", s,
                         tabs[q - PDI_MQ_DEL_UNCOMMITTED_TASKS], T);
        break;
    case PDI_MQ_DEL_COMMITTED_TASKS:
    case PDI_MQ_DEL_COMMITTED_LAZY:
    case PDI_MQ_DEL_COMMITTED_RAW:
        r = pdi_asprintf("DELETE FROM %s.%s WHERE stage = ? AND in_transaction_schema = %s", s,
                         tabs[q - PDI_MQ_DEL_COMMITTED_TASKS], F);
        break;
    case PDI_MQ_PROMOTE_TASKS:
    case PDI_MQ_PROMOTE_LAZY:
    case PDI_MQ_PROMOTE_RAW:
        r = pdi_asprintf("UPDATE %s.%s SET in_transaction_schema = %s WHERE stage = ?", s,
                         tabs[q - PDI_MQ_PROMOTE_TASKS], F);
        break;
    case PDI_MQ_JOURNAL_ADD:
        r = pdi_asprintf("INSERT INTO %s.commit_journal (stage, run_id, started) VALUES (?, ?, ?)",
                         s);
        break;
    case PDI_MQ_JOURNAL_DEL:
        r = pdi_asprintf("DELETE FROM %s.commit_journal WHERE stage = ?", s);
        break;
    case PDI_MQ_JOURNAL_LIST:
        r = pdi_asprintf("SELECT stage, run_id FROM %s.commit_journal ORDER BY id", s);
        break;
    case PDI_MQ_JOURNAL_LIST_STAGE:
        r = pdi_asprintf("SELECT stage, run_id FROM %s.commit_journal WHERE stage = ? ORDER BY id",
                         s);
        break;
    case PDI_MQ_STAGE_GET:
        r = pdi_asprintf("SELECT cur_transaction_name FROM %s.stages WHERE stage = ?", s);
        break;
    case PDI_MQ_STAGE_DEL: r = pdi_asprintf("DELETE FROM %s.stages WHERE stage = ?", s); break;
    case PDI_MQ_STAGE_PUT:
        r = pdi_asprintf("INSERT INTO %s.stages (stage, cur_transaction_name) VALUES (?, ?)", s);
        break;
    case PDI_MQ_N: break;
    }
    free(s);
    if (!r)
        pd_set_error(PD_ERR_NOMEM, "out of memory building SQL");
    return r;
}

char *pdi_sql_meta_insert_rows(const pdi_dialect *d, const char *schema, pdi_meta_q q, size_t rows)
{
    char *one = pdi_sql_meta(d, schema, q);
    if (!one || rows <= 1)
        return one;
    const char *tuple = strstr(one, " VALUES ");
    if (!tuple)
        return one;
    tuple += strlen(" VALUES ");
    pd_buf b = {0};
    pdi_buf_puts(&b, one);
    for (size_t i = 1; i < rows; i++) {
        pdi_buf_putc(&b, ',');
        pdi_buf_puts(&b, tuple);
    }
    free(one);
    return pdi_dl_finish(&b);
}

/* ------------------------------------------------------- text scanning */

static bool is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$' || c == '#' || c == '@';
}

static bool kw_at(const char *p, const char *start, const char *kw)
{
    size_t n = strlen(kw);
    if (p > start && is_ident_char(p[-1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)p[i]) != kw[i])
            return false;
    return !is_ident_char(p[n]);
}

const char *pdi_sql_skip_comment(const char *p)
{
    if (p[0] == '-' && p[1] == '-') {
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

const char *pdi_sql_skip_quoted(const char *p)
{
    char close = *p == '[' ? ']' : *p;
    p++;
    while (*p && !(*p == close && p[1] != close))
        p += *p == close ? 2 : 1;
    return *p ? p + 1 : p;
}

char *pdi_sql_mssql_splice_into(const char *select, const char *target)
{
    static const char *const kws[] = {"from",  "where", "group",  "window",    "having",
                                      "order", "union", "except", "intersect", NULL};
    const char *p = select;
    int depth = 0;
    const char *at = NULL;
    while (*p && !at) {
        char c = *p;
        const char *skip =
            c == '\'' || c == '"' || c == '[' ? pdi_sql_skip_quoted(p) : pdi_sql_skip_comment(p);
        if (skip) {
            p = skip;
            continue;
        }
        if (c == '(') {
            depth++;
        } else if (c == ')') {
            depth--;
        } else if (depth == 0 && isalpha((unsigned char)c)) {
            for (int k = 0; kws[k]; k++)
                if (kw_at(p, select, kws[k])) {
                    at = p;
                    break;
                }
            if (at)
                break;
            while (is_ident_char(*p))
                p++;
            continue;
        }
        p++;
    }
    pd_buf b = {0};
    if (!at) {
        pdi_buf_append(&b, select, pdi_dl_trimmed_len(select));
        pdi_buf_puts(&b, " INTO ");
        pdi_buf_puts(&b, target);
    } else {
        size_t n = (size_t)(at - select);
        while (n && (select[n - 1] == ' ' || select[n - 1] == '\t'))
            n--;
        pdi_buf_append(&b, select, n);
        pdi_buf_puts(&b, " INTO ");
        pdi_buf_puts(&b, target);
        pdi_buf_putc(&b, ' ');
        pdi_buf_puts(&b, at);
    }
    return pdi_dl_finish(&b);
}

char *pdi_sql_strip_qualifier(const char *sql, const char *schema)
{
    pd_buf b = {0};
    size_t n = strlen(schema);
    const char *p = sql;
    while (*p) {
        if (*p == '\'') {
            const char *e = pdi_sql_skip_quoted(p);
            pdi_buf_append(&b, p, (size_t)(e - p));
            p = e;
            continue;
        }
        bool boundary = p == sql || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        if (boundary) {
            char open = *p, close = 0;
            if (open == '"' || open == '`')
                close = open;
            else if (open == '[')
                close = ']';
            const char *id = close ? p + 1 : p;
            if (strncasecmp(id, schema, n) == 0) {
                const char *after = id + n;
                if (close && *after == close && after[1] == '.') {
                    p = after + 2;
                    continue;
                }
                if (!close && *after == '.') {
                    p = after + 1;
                    continue;
                }
            }
        }
        pdi_buf_putc(&b, *p++);
    }
    return pdi_dl_finish(&b);
}

char *
pdi_sql_retarget_create(const pdi_dialect *d, const char *ddl, const char *schema, const char *name)
{
    /* CREATE [TEMP] TABLE|VIEW [IF NOT EXISTS] <name> <rest> */
    const char *p = ddl;
    while (isspace((unsigned char)*p))
        p++;
    const char *kw = NULL;
    if (strncasecmp(p, "CREATE TABLE", 12) == 0)
        kw = "CREATE TABLE ", p += 12;
    else if (strncasecmp(p, "CREATE VIEW", 11) == 0)
        kw = "CREATE VIEW ", p += 11;
    if (!kw) {
        pd_set_error(PD_ERR_SQL, "cannot re-target the definition '%.60s'", ddl);
        return NULL;
    }
    while (isspace((unsigned char)*p))
        p++;
    if (strncasecmp(p, "IF NOT EXISTS", 13) == 0) {
        p += 13;
        while (isspace((unsigned char)*p))
            p++;
    }
    /* the old name: quoted or bare, possibly schema-qualified */
    for (;;) {
        if (*p == '"' || *p == '[' || *p == '`')
            p = pdi_sql_skip_quoted(p);
        else
            while (is_ident_char(*p))
                p++;
        if (*p != '.')
            break;
        p++;
    }
    pd_buf b = {0};
    pdi_buf_puts(&b, kw);
    pdi_dl_qualified(&b, d, schema, name);
    if (*p != ' ')
        pdi_buf_putc(&b, ' ');
    pdi_buf_puts(&b, p);
    return pdi_dl_finish(&b);
}

/* ------------------------------------------------------- Column types */

const char *pdi_dl_type_by(const pdi_dl_types *t, const char *f, char *buf, size_t cap)
{
    for (const pdi_dl_type_name *n = t->names; n->fmt; n++)
        if (strcmp(f, n->fmt) == 0)
            return n->type;
    if (strncmp(f, "ts", 2) == 0 && f[2] && strchr("smun", f[2]) && f[3] == ':')
        return f[4] ? t->timestamp_tz : t->timestamp;
    if (strncmp(f, "tt", 2) == 0 && f[2] && strchr("smun", f[2]) && !f[3])
        return t->time;
    int p, s;
    if (pdi_dl_arrow_decimal(f, &p, &s) && s >= 0 && s <= p &&
        (!t->max_precision || p <= t->max_precision)) {
        snprintf(buf, cap, "%s(%d,%d)", t->decimal, p, s);
        return buf;
    }
    return NULL;
}

/* ------------------------------------------------------- View shapes */

void pdi_dl_shaped_columns(pd_buf *b,
                           const pdi_dialect *d,
                           const char *from_item,
                           const char *const *names,
                           const char *const *sources,
                           size_t n_cols)
{
    if (!n_cols)
        pdi_buf_putc(b, '*');
    for (size_t i = 0; i < n_cols; i++) {
        if (i)
            pdi_buf_puts(b, ", ");
        pdi_dl_quoted(b, d, sources[i]);
        pdi_buf_puts(b, " AS ");
        pdi_dl_quoted(b, d, names[i]);
    }
    pdi_buf_puts(b, " FROM ");
    pdi_buf_puts(b, from_item);
}

char *pdi_sql_shaped_select(const pdi_dialect *d,
                            const char *from_item,
                            const char *const *names,
                            const char *const *sources,
                            size_t n_cols,
                            const pdi_sql_sort *sort,
                            size_t n_sort,
                            int64_t limit)
{
    if (d->shaped_select)
        return d->shaped_select(d, from_item, names, sources, n_cols, sort, n_sort, limit);
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT ");
    pdi_dl_shaped_columns(&b, d, from_item, names, sources, n_cols);
    for (size_t i = 0; i < n_sort; i++) {
        pdi_buf_puts(&b, i ? ", " : " ORDER BY ");
        pdi_dl_quoted(&b, d, sort[i].column);
        pdi_buf_puts(&b, sort[i].desc ? " DESC" : " ASC");
        pdi_buf_puts(&b, sort[i].nulls_first ? " NULLS FIRST" : " NULLS LAST");
    }
    if (limit >= 0) {
        if (d->id == PDI_DIALECT_DB2)
            pdi_buf_printf(&b, " FETCH FIRST %lld ROWS ONLY", (long long)limit);
        else
            pdi_buf_printf(&b, " LIMIT %lld", (long long)limit);
    }
    return pdi_dl_finish(&b);
}
