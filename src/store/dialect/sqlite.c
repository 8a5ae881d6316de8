/*
 * store/dialect/sqlite.c - SQLite text. A schema is an attached database
 * file (the backend creates and attaches it); indexes live in the table's
 * schema and name the table unqualified; booleans are 1/0; the declared
 * column types are chosen so that Arrow tables read back with the types
 * they were written with (BOOLEAN, TINYINT, INT32, UBIGINT, DECIMAL(p,s),
 * TIMESTAMPTZ...).
 */
#include "store/dialect/dialect_int.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *sq_create_schema(const pdi_dialect *d, const char *schema)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "ATTACH DATABASE ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, " AS ");
    pdi_dl_quoted(&b, d, schema);
    return pdi_dl_finish(&b);
}

static char *sq_drop_schema(const pdi_dialect *d, const char *schema)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "DETACH DATABASE ");
    pdi_dl_quoted(&b, d, schema);
    return pdi_dl_finish(&b);
}

static char *sq_rename_schema(const pdi_dialect *d, const char *from, const char *to)
{
    /* not SQL: the backend renames the file */
    pd_buf b = {0};
    pdi_buf_puts(&b, "-- rename schema ");
    pdi_dl_quoted(&b, d, from);
    pdi_buf_puts(&b, " to ");
    pdi_dl_quoted(&b, d, to);
    pdi_buf_puts(&b, " is a file rename");
    return pdi_dl_finish(&b);
}

static char *
master_query(const pdi_dialect *d, const char *schema, const char *cols, const char *where)
{
    pd_buf b = {0};
    pdi_buf_printf(&b, "SELECT %s FROM ", cols);
    pdi_dl_quoted(&b, d, schema);
    pdi_buf_printf(&b, ".sqlite_master WHERE %s", where);
    return pdi_dl_finish(&b);
}

static char *sq_list_objects(const pdi_dialect *d, const char *schema)
{
    return master_query(d, schema, "name",
                        "type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                        "ORDER BY name");
}

static char *sq_list_relations(const pdi_dialect *d, const char *schema)
{
    return master_query(d, schema, "name, upper(type)",
                        "type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                        "ORDER BY name");
}

static char *sq_table_exists(const pdi_dialect *d, const char *schema)
{
    return master_query(d, schema, "name", "type IN ('table', 'view') AND name = ?");
}

static char *sq_list_columns(const pdi_dialect *d, const char *schema, const char *table)
{
    (void)d;
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT name FROM pragma_table_info(");
    pdi_dl_literal(&b, table);
    pdi_buf_puts(&b, ", ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, ") ORDER BY cid");
    return pdi_dl_finish(&b);
}

static char *sq_list_indexes(const pdi_dialect *d, const char *schema, const char *table)
{
    (void)d;
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT il.name, il.\"unique\", il.origin = 'pk', ii.name FROM "
                     "pragma_index_list(");
    pdi_dl_literal(&b, table);
    pdi_buf_puts(&b, ", ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, ") AS il, pragma_index_info(il.name, ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, ") AS ii ORDER BY il.name, ii.seqno");
    return pdi_dl_finish(&b);
}

static const char *sq_type(const pdi_dialect *d, const char *f, char *buf, size_t cap)
{
    (void)d;
    static const struct {
        const char *fmt, *type;
    } map[] = {
        {"b", "BOOLEAN"}, {"c", "TINYINT"},   {"s", "SMALLINT"},  {"i", "INT32"},
        {"l", "BIGINT"},  {"C", "UTINYINT"},  {"S", "USMALLINT"}, {"I", "UINTEGER"},
        {"L", "UBIGINT"}, {"e", "FLOAT"},     {"f", "FLOAT"},     {"g", "DOUBLE"},
        {"u", "TEXT"},    {"U", "LARGETEXT"}, {"z", "BLOB"},      {"Z", "LARGEBLOB"},
        {"tdD", "DATE"},  {"tdm", "DATE64"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(f, map[i].fmt) == 0)
            return map[i].type;
    if (strncmp(f, "ts", 2) == 0 && f[2] && strchr("smun", f[2]) && f[3] == ':')
        return f[4] ? "TIMESTAMPTZ" : "TIMESTAMP";
    if (strncmp(f, "tt", 2) == 0 && f[2] && strchr("smun", f[2]) && !f[3])
        return "TIME";
    int p, s;
    if (pdi_dl_arrow_decimal(f, &p, &s)) {
        /* NUMERIC affinity keeps integers of up to 18 digits and decimals of
         * up to 15 exactly; wider values would become REAL. Those columns get
         * TEXT affinity ("TEXT" in the type name): every digit is kept, read
         * back by the name's (p,s); SQL compares them as text. */
        bool exact = s == 0 ? p <= 18 : p <= 15;
        snprintf(buf, cap, exact ? "DECIMAL(%d,%d)" : "DECIMAL_TEXT(%d,%d)", p, s);
        return buf;
    }
    return NULL;
}

/* Exact inverse of sq_type for the types it declares; the common best
 * effort for others. "" -> "" (the caller infers from the values). */
static const char *sq_arrow(const pdi_dialect *d, const char *t, char *buf, size_t cap)
{
    (void)d;
    static const struct {
        const char *decl, *fmt;
    } map[] = {
        {"BOOLEAN", "b"},      {"TINYINT", "c"},
        {"SMALLINT", "s"},     {"INTEGER", "l"},
        {"LARGETEXT", "U"},    {"LARGEBLOB", "Z"},
        {"DATE64", "tdm"},     {"INT32", "i"},
        {"BIGINT", "l"},       {"UTINYINT", "C"},
        {"USMALLINT", "S"},    {"UINTEGER", "I"},
        {"UBIGINT", "L"},      {"FLOAT", "f"},
        {"REAL", "g"},         {"DOUBLE", "g"},
        {"TEXT", "u"},         {"BLOB", "z"},
        {"DATE", "tdD"},       {"TIME", "ttu"},
        {"TIMESTAMP", "tsu:"}, {"TIMESTAMPTZ", "tsu:UTC"},
        {"INT", "l"},          {"NUM", ""},
    };
    if (!t || !*t)
        return "";
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(t, map[i].decl) == 0)
            return map[i].fmt;
    if (strncasecmp(t, "DECIMAL", 7) == 0)
        return pdi_dl_decimal_format(t, buf, cap) ? buf : "g";
    return pdi_sql_arrow_for_type(&pdi_dialect_postgres, t, buf, cap);
}

/* --------------------------------------- statements of the sqlite backend */

const char *pdi_sql_sqlite_attach(void)
{
    return "ATTACH DATABASE ?1 AS ?2";
}

char *pdi_sql_sqlite_file_pragmas(const char *schema, bool metadata)
{
    pd_buf q = {0};
    pdi_dl_quoted(&q, &pdi_dialect_sqlite, schema);
    char *s = pdi_dl_finish(&q);
    char *r =
        s ? pdi_asprintf(metadata ? "PRAGMA %s.journal_mode=WAL; PRAGMA %s.synchronous=NORMAL"
                                  : "PRAGMA %s.journal_mode=DELETE; PRAGMA %s.synchronous=OFF",
                         s, s)
          : NULL;
    free(s);
    return r;
}

char *pdi_sql_sqlite_object_ddl(const char *schema)
{
    return master_query(&pdi_dialect_sqlite, schema, "type, sql",
                        "type IN ('table', 'view') AND name = ?");
}

char *pdi_sql_sqlite_view_defs(const char *schema)
{
    return master_query(&pdi_dialect_sqlite, schema, "name, sql, type",
                        "type IN ('view', 'trigger') AND sql IS NOT NULL");
}

char *pdi_sql_sqlite_set_definition(const char *schema)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "UPDATE ");
    pdi_dl_quoted(&b, &pdi_dialect_sqlite, schema);
    pdi_buf_puts(&b, ".sqlite_master SET sql = ? WHERE type = ? AND name = ?");
    return pdi_dl_finish(&b);
}

char *pdi_sql_sqlite_writable_schema(const char *schema, bool on)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "PRAGMA ");
    pdi_dl_quoted(&b, &pdi_dialect_sqlite, schema);
    pdi_buf_puts(&b, on ? ".writable_schema = ON" : ".writable_schema = OFF");
    return pdi_dl_finish(&b);
}

int pdi_sql_sqlite_schema_refs(const char *sql, pd_strv *out)
{
    const char *p = sql;
    while (*p) {
        char c = *p;
        const char *skip = c == '\'' ? pdi_sql_skip_quoted(p) : pdi_sql_skip_comment(p);
        if (skip) {
            p = skip;
            continue;
        }
        if (c == '"' || c == '`' || c == '[') {
            char close = c == '[' ? ']' : c;
            pd_buf b = {0};
            p++;
            while (*p) {
                if (*p == close) {
                    if (close != ']' && p[1] == close) {
                        pdi_buf_putc(&b, close);
                        p += 2;
                        continue;
                    }
                    break;
                }
                pdi_buf_putc(&b, *p++);
            }
            if (*p)
                p++;
            char *id = pdi_buf_detach(&b);
            if (id && *p == '.' && !pdi_strv_contains(out, id))
                pdi_strv_push_owned(out, id);
            else
                free(id);
            continue;
        }
        if (isalpha((unsigned char)c) || c == '_') {
            const char *s = p;
            while (isalnum((unsigned char)*p) || *p == '_' || *p == '$')
                p++;
            if (*p == '.' && (s == sql || s[-1] != '.')) {
                char *id = pdi_strndup(s, (size_t)(p - s));
                if (id && !pdi_strv_contains(out, id))
                    pdi_strv_push_owned(out, id);
                else
                    free(id);
            }
            continue;
        }
        p++;
    }
    return PD_OK;
}

char *pdi_sql_sqlite_storage_classes(const char *select, size_t ncols, const size_t *cols, size_t n)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "WITH pd_q(");
    for (size_t i = 0; i < ncols; i++)
        pdi_buf_printf(&b, "%spd_c%zu", i ? ", " : "", i + 1);
    pdi_buf_printf(&b, ") AS (%.*s) SELECT ", (int)pdi_dl_trimmed_len(select), select);
    static const char *const cls[] = {"integer", "real", "text", "blob"};
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < 4; j++)
            pdi_buf_printf(&b, "%smax(typeof(pd_c%zu) = '%s')", k || j ? ", " : "", cols[k] + 1,
                           cls[j]);
    pdi_buf_puts(&b, " FROM pd_q");
    return pdi_dl_finish(&b);
}

/* SELECT pd_unique_hash("c", pass, passes) AS pd_dup[, MAX(CASE WHEN
 * <any_where> THEN 1 ELSE 0 END) AS pd_any] FROM "s"."t" */
static char *sq_unique_hash(const pdi_dialect *d,
                            const char *schema,
                            const char *table,
                            const char *column,
                            int64_t pass,
                            int64_t passes,
                            const char *any_where)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT pd_unique_hash(");
    pdi_dl_quoted(&b, d, column);
    pdi_buf_printf(&b, ", %lld, %lld) AS pd_dup", (long long)pass, (long long)passes);
    if (any_where)
        pdi_buf_printf(&b, ", MAX(CASE WHEN %s THEN 1 ELSE 0 END) AS pd_any", any_where);
    pdi_buf_puts(&b, " FROM ");
    pdi_dl_qualified(&b, d, schema, table);
    return pdi_dl_finish(&b);
}

const pdi_dialect pdi_dialect_sqlite = {
    .id = PDI_DIALECT_SQLITE,
    .name = "sqlite",
    .quote_open = '"',
    .quote_close = '"',
    .pk_as_unique_index = true,
    .index_in_table_schema = true,
    .index_on_bare_table = true,
    .has_indexes = true,
    .drop_if_exists = true,
    .if_not_exists = true,
    .bool_is_bit = true,
    .begin_kw = "BEGIN IMMEDIATE",
    .text_type = "TEXT",
    .bool_type = "BOOLEAN",
    .meta_id_col = "id INTEGER PRIMARY KEY AUTOINCREMENT",
    .insert_hint = "",
    .ident_nocase = true,
    .max_ident_len = 63,
    .create_schema = sq_create_schema,
    .drop_schema = sq_drop_schema,
    .rename_schema = sq_rename_schema,
    .list_objects = sq_list_objects,
    .list_relations = sq_list_relations,
    .table_exists = sq_table_exists,
    .list_columns = sq_list_columns,
    .list_indexes = sq_list_indexes,
    .type_for_arrow = sq_type,
    .arrow_for_type = sq_arrow,
    .unique_hash = sq_unique_hash,
};
