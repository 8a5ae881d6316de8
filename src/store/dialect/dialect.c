/*
 * store/dialect/dialect.c - SQL text per dialect (postgres, sqlite, duckdb,
 * mssql, db2, snowflake; unknown dialects behave like postgres).
 *
 * Pure string building: nothing here executes SQL. See store/sql.h for the
 * contract of each function and tests/store/test_dialect.c for the text.
 */
#include "store/sql.h"
#include "util/util.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const pdi_dialect g_dialects[] = {
    {PDI_DIALECT_POSTGRES, "postgresql", true, true, false, true, 63},
    {PDI_DIALECT_SQLITE, "sqlite", true, false, true, true, 63},
    {PDI_DIALECT_DUCKDB, "duckdb", false, true, true, true, 63},
    {PDI_DIALECT_MSSQL, "mssql", true, true, false, true, 63},
    {PDI_DIALECT_DB2, "db2", false, true, false, true, 63},
    {PDI_DIALECT_SNOWFLAKE, "snowflake", true, true, false, false, 63},
};

const pdi_dialect *pdi_dialect_get(const char *name)
{
    if (!name)
        return &g_dialects[0];
    if (pd_str_ieq(name, "postgres") || pd_str_ieq(name, "postgresql"))
        return &g_dialects[0];
    if (pd_str_ieq(name, "ibm_db_sa") || pd_str_ieq(name, "ibm_db"))
        return &g_dialects[4];
    for (size_t i = 0; i < sizeof g_dialects / sizeof g_dialects[0]; i++)
        if (pd_str_ieq(name, g_dialects[i].name))
            return &g_dialects[i];
    return &g_dialects[0];
}

static char *finish(pd_buf *b)
{
    char *s = pd_buf_detach(b);
    if (!s)
        pd_set_error(PD_ERR_NOMEM, "out of memory building SQL");
    return s;
}

static void put_quoted(pd_buf *b, const pdi_dialect *d, const char *id)
{
    char open = '"', close = '"';
    if (d->id == PDI_DIALECT_MSSQL) {
        open = '[';
        close = ']';
    }
    pd_buf_putc(b, open);
    for (const char *p = id ? id : ""; *p; p++) {
        if (*p == close)
            pd_buf_putc(b, close);
        pd_buf_putc(b, *p);
    }
    pd_buf_putc(b, close);
}

static void put_qualified(pd_buf *b, const pdi_dialect *d, const char *schema, const char *name)
{
    put_quoted(b, d, schema);
    pd_buf_putc(b, '.');
    put_quoted(b, d, name);
}

char *pdi_sql_quote(const pdi_dialect *d, const char *ident)
{
    pd_buf b = {0};
    put_quoted(&b, d, ident);
    return finish(&b);
}

char *pdi_sql_qualified(const pdi_dialect *d, const char *schema, const char *name)
{
    pd_buf b = {0};
    put_qualified(&b, d, schema, name);
    return finish(&b);
}

char *pdi_sql_physical_schema(const char *prefix, const char *logical, const char *suffix)
{
    return pd_asprintf("%s%s%s", prefix ? prefix : "", logical ? logical : "",
                       suffix ? suffix : "");
}

/* Escape a string literal body ('' doubling). */
static void put_literal(pd_buf *b, const char *s)
{
    pd_buf_putc(b, '\'');
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '\'')
            pd_buf_putc(b, '\'');
        pd_buf_putc(b, *p);
    }
    pd_buf_putc(b, '\'');
}

char *pdi_sql_create_schema(const pdi_dialect *d, const char *schema)
{
    pd_buf b = {0};
    switch (d->id) {
    case PDI_DIALECT_SQLITE:
        /* A schema is an attached file: the store attaches with create. */
        pd_buf_puts(&b, "ATTACH DATABASE ");
        put_literal(&b, schema);
        pd_buf_puts(&b, " AS ");
        put_quoted(&b, d, schema);
        break;
    case PDI_DIALECT_MSSQL:
        pd_buf_puts(&b, "IF NOT EXISTS (SELECT * FROM sys.schemas WHERE name = ");
        put_literal(&b, schema);
        pd_buf_puts(&b, ") EXEC('CREATE SCHEMA ");
        {
            pd_buf q = {0};
            put_quoted(&q, d, schema);
            char *qs = pd_buf_detach(&q);
            for (const char *p = qs ? qs : ""; *p; p++) {
                if (*p == '\'')
                    pd_buf_putc(&b, '\'');
                pd_buf_putc(&b, *p);
            }
            free(qs);
        }
        pd_buf_puts(&b, "')");
        break;
    case PDI_DIALECT_DB2:
        pd_buf_puts(&b, "BEGIN DECLARE CONTINUE HANDLER FOR SQLSTATE '42710' BEGIN END; "
                        "EXECUTE IMMEDIATE 'CREATE SCHEMA ");
        put_quoted(&b, d, schema);
        pd_buf_puts(&b, "'; END");
        break;
    default: pd_buf_puts(&b, "CREATE SCHEMA IF NOT EXISTS "); put_quoted(&b, d, schema);
    }
    return finish(&b);
}

char *pdi_sql_drop_schema(const pdi_dialect *d, const char *schema)
{
    pd_buf b = {0};
    switch (d->id) {
    case PDI_DIALECT_SQLITE:
        pd_buf_puts(&b, "DETACH DATABASE ");
        put_quoted(&b, d, schema);
        break;
    case PDI_DIALECT_MSSQL:
        /* Contents must be dropped first by the store (list_objects). */
        pd_buf_puts(&b, "DROP SCHEMA IF EXISTS ");
        put_quoted(&b, d, schema);
        break;
    case PDI_DIALECT_DB2:
        pd_buf_puts(&b, "BEGIN DECLARE CONTINUE HANDLER FOR SQLSTATE '42704' BEGIN END; "
                        "EXECUTE IMMEDIATE 'DROP SCHEMA ");
        put_quoted(&b, d, schema);
        pd_buf_puts(&b, " RESTRICT'; END");
        break;
    default:
        pd_buf_puts(&b, "DROP SCHEMA IF EXISTS ");
        put_quoted(&b, d, schema);
        pd_buf_puts(&b, " CASCADE");
    }
    return finish(&b);
}

char *pdi_sql_rename_schema(const pdi_dialect *d, const char *from, const char *to)
{
    pd_buf b = {0};
    if (d->id == PDI_DIALECT_MSSQL || d->id == PDI_DIALECT_SQLITE) {
        /* Not native: emulated by the store (object transfer / file rename). */
        pd_buf_puts(&b, "-- rename schema ");
        put_quoted(&b, d, from);
        pd_buf_puts(&b, " to ");
        put_quoted(&b, d, to);
        pd_buf_puts(&b, " is emulated by the store");
        return finish(&b);
    }
    pd_buf_puts(&b, "ALTER SCHEMA ");
    put_quoted(&b, d, from);
    pd_buf_puts(&b, " RENAME TO ");
    put_quoted(&b, d, to);
    return finish(&b);
}

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
        /* No clause: append at the end (trailing whitespace/; trimmed). */
        size_t n = strlen(select);
        while (n && (isspace((unsigned char)select[n - 1]) || select[n - 1] == ';'))
            n--;
        pd_buf_append(&b, select, n);
        pd_buf_puts(&b, " INTO ");
        pd_buf_puts(&b, target);
    } else {
        size_t n = (size_t)(at - select);
        while (n && (select[n - 1] == ' ' || select[n - 1] == '\t'))
            n--;
        pd_buf_append(&b, select, n);
        pd_buf_puts(&b, " INTO ");
        pd_buf_puts(&b, target);
        pd_buf_putc(&b, ' ');
        pd_buf_puts(&b, at);
    }
    return finish(&b);
}

const char *pdi_sql_create_table_kw(const pdi_dialect *d, bool unlogged)
{
    return unlogged && d->id == PDI_DIALECT_POSTGRES ? "CREATE UNLOGGED TABLE " : "CREATE TABLE ";
}

char *pdi_sql_ctas(
    const pdi_dialect *d, const char *schema, const char *table, const char *select, bool unlogged)
{
    pd_buf b = {0};
    switch (d->id) {
    case PDI_DIALECT_MSSQL: {
        char *target = pdi_sql_qualified(d, schema, table);
        if (!target)
            return NULL;
        char *r = pdi_sql_mssql_splice_into(select, target);
        free(target);
        return r;
    }
    case PDI_DIALECT_DB2:
        pd_buf_puts(&b, "CREATE TABLE ");
        put_qualified(&b, d, schema, table);
        pd_buf_puts(&b, " AS (");
        pd_buf_puts(&b, select);
        pd_buf_puts(&b, ") WITH DATA");
        break;
    default:
        pd_buf_puts(&b, pdi_sql_create_table_kw(d, unlogged));
        put_qualified(&b, d, schema, table);
        pd_buf_puts(&b, " AS ");
        pd_buf_puts(&b, select);
    }
    return finish(&b);
}

char *
pdi_sql_create_view(const pdi_dialect *d, const char *schema, const char *view, const char *select)
{
    pd_buf b = {0};
    pd_buf_puts(&b, "CREATE VIEW ");
    put_qualified(&b, d, schema, view);
    pd_buf_puts(&b, " AS ");
    pd_buf_puts(&b, select);
    return finish(&b);
}

static char *drop_obj(const pdi_dialect *d, const char *what, const char *schema, const char *name)
{
    pd_buf b = {0};
    pd_buf_printf(&b, "DROP %s ", what);
    if (d->id != PDI_DIALECT_DB2)
        pd_buf_puts(&b, "IF EXISTS ");
    put_qualified(&b, d, schema, name);
    return finish(&b);
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
    pd_buf b = {0};
    switch (d->id) {
    case PDI_DIALECT_MSSQL: {
        pd_buf q = {0};
        put_qualified(&q, d, schema, from);
        char *qs = pd_buf_detach(&q);
        pd_buf_puts(&b, "EXEC sp_rename ");
        put_literal(&b, qs);
        pd_buf_puts(&b, ", ");
        put_literal(&b, to);
        free(qs);
        break;
    }
    case PDI_DIALECT_DB2:
        pd_buf_puts(&b, "RENAME ");
        put_qualified(&b, d, schema, from);
        pd_buf_puts(&b, " TO ");
        put_quoted(&b, d, to);
        break;
    case PDI_DIALECT_SNOWFLAKE:
        pd_buf_puts(&b, "ALTER TABLE ");
        put_qualified(&b, d, schema, from);
        pd_buf_puts(&b, " RENAME TO ");
        put_qualified(&b, d, schema, to);
        break;
    default:
        pd_buf_puts(&b, "ALTER TABLE ");
        put_qualified(&b, d, schema, from);
        pd_buf_puts(&b, " RENAME TO ");
        put_quoted(&b, d, to);
    }
    return finish(&b);
}

char *pdi_sql_constraint_name(const char *prefix,
                              const char *table,
                              const char *const *cols,
                              size_t ncols)
{
    pd_buf b = {0};
    pd_buf_printf(&b, "%s%s", prefix, table);
    for (size_t i = 0; i < ncols; i++)
        pd_buf_printf(&b, "_%s", cols[i]);
    if (b.len <= 63)
        return finish(&b);
    /* hash of table and columns */
    pd_buf h = {0};
    pd_buf_puts(&h, table);
    for (size_t i = 0; i < ncols; i++)
        pd_buf_printf(&h, "|%s", cols[i]);
    uint8_t dig[PD_SHA256_LEN];
    pd_sha256(h.data, h.len, dig);
    pd_buf_free(&h);
    char hex[2 * PD_SHA256_LEN + 1];
    pd_hex(dig, 4, hex);
    hex[8] = 0;
    pd_buf_clear(&b);
    pd_buf_printf(&b, "%s%s_%s", prefix, table, hex);
    if (b.len <= 63)
        return finish(&b);
    pd_buf_clear(&b);
    pd_buf_printf(&b, "%s%s_", prefix, hex);
    size_t room = 63 - b.len;
    pd_buf_append(&b, table, strlen(table) < room ? strlen(table) : room);
    return finish(&b);
}

static void put_cols(pd_buf *b, const pdi_dialect *d, const char *const *cols, size_t ncols)
{
    pd_buf_putc(b, '(');
    for (size_t i = 0; i < ncols; i++) {
        if (i)
            pd_buf_puts(b, ", ");
        put_quoted(b, d, cols[i]);
    }
    pd_buf_putc(b, ')');
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
    pd_buf_printf(&b, "CREATE %sINDEX ", unique ? "UNIQUE " : "");
    if (d->id == PDI_DIALECT_SQLITE || d->id == PDI_DIALECT_DB2) {
        /* index lives in the table's schema: name is schema-qualified */
        put_qualified(&b, d, schema, name);
        pd_buf_puts(&b, " ON ");
        if (d->id == PDI_DIALECT_SQLITE)
            put_quoted(&b, d, table);
        else
            put_qualified(&b, d, schema, table);
    } else {
        put_quoted(&b, d, name);
        pd_buf_puts(&b, " ON ");
        put_qualified(&b, d, schema, table);
    }
    pd_buf_putc(&b, ' ');
    put_cols(&b, d, cols, ncols);
    free(name);
    return finish(&b);
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
    pd_buf_puts(&b, "ALTER TABLE ");
    put_qualified(&b, d, schema, table);
    pd_buf_puts(&b, " ADD CONSTRAINT ");
    put_quoted(&b, d, name);
    pd_buf_puts(&b, " PRIMARY KEY ");
    put_cols(&b, d, cols, ncols);
    free(name);
    return finish(&b);
}

char *pdi_sql_create_index(const pdi_dialect *d,
                           const char *schema,
                           const char *table,
                           const char *const *cols,
                           size_t ncols)
{
    if (!d->indexes_supported)
        return pd_strdup("");
    return create_index(d, schema, table, cols, ncols, "idx_", false);
}

char *pdi_sql_list_objects(const pdi_dialect *d, const char *schema)
{
    pd_buf b = {0};
    switch (d->id) {
    case PDI_DIALECT_SQLITE:
        pd_buf_puts(&b, "SELECT name FROM ");
        put_quoted(&b, d, schema);
        pd_buf_puts(&b, ".sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE "
                        "'sqlite\\_%' ESCAPE '\\' ORDER BY name");
        break;
    case PDI_DIALECT_MSSQL:
        pd_buf_puts(&b, "SELECT o.name FROM sys.objects o JOIN sys.schemas s ON o.schema_id = "
                        "s.schema_id WHERE s.name = ");
        put_literal(&b, schema);
        pd_buf_puts(&b, " AND o.type IN ('U', 'V', 'SN') ORDER BY o.name");
        break;
    case PDI_DIALECT_DB2:
        pd_buf_puts(&b, "SELECT TABNAME FROM SYSCAT.TABLES WHERE TABSCHEMA = ");
        put_literal(&b, schema);
        pd_buf_puts(&b, " AND TYPE IN ('T', 'V', 'A', 'N') ORDER BY TABNAME");
        break;
    default:
        pd_buf_puts(&b, "SELECT table_name FROM information_schema.tables WHERE "
                        "table_schema = ");
        put_literal(&b, schema);
        pd_buf_puts(&b, " ORDER BY table_name");
    }
    return finish(&b);
}

char *pdi_sql_insert_select(const pdi_dialect *d,
                            const char *schema,
                            const char *table,
                            const char *select)
{
    pd_buf b = {0};
    pd_buf_puts(&b, "INSERT INTO ");
    put_qualified(&b, d, schema, table);
    if (d->id == PDI_DIALECT_MSSQL)
        pd_buf_puts(&b, " WITH(TABLOCKX)");
    pd_buf_putc(&b, ' ');
    pd_buf_puts(&b, select);
    return finish(&b);
}

char *pdi_sql_limit(const pdi_dialect *d, const char *select, int64_t n)
{
    pd_buf b = {0};
    switch (d->id) {
    case PDI_DIALECT_MSSQL:
        pd_buf_printf(&b, "SELECT TOP %lld * FROM (%s) AS pd_limit_sub", (long long)n, select);
        break;
    case PDI_DIALECT_DB2:
        pd_buf_printf(&b, "SELECT * FROM (%s) AS pd_limit_sub FETCH FIRST %lld ROWS ONLY", select,
                      (long long)n);
        break;
    default:
        pd_buf_printf(&b, "SELECT * FROM (%s) AS pd_limit_sub LIMIT %lld", select, (long long)n);
    }
    return finish(&b);
}

const char *pdi_sql_type_for_arrow(const pdi_dialect *d, const char *f)
{
    bool ms = d->id == PDI_DIALECT_MSSQL;
    if (!f)
        return NULL;
    switch (f[0]) {
    case 'b': return ms ? "BIT" : "BOOLEAN";
    case 'c':
    case 's':
    case 'C': return "SMALLINT";
    case 'i':
    case 'S': return "INTEGER";
    case 'l':
    case 'I':
    case 'L': return "BIGINT";
    case 'e':
    case 'f': return ms ? "REAL" : "FLOAT";
    case 'g': return ms ? "FLOAT" : "DOUBLE PRECISION";
    case 'u':
    case 'U':
        switch (d->id) {
        case PDI_DIALECT_SQLITE:
        case PDI_DIALECT_POSTGRES: return "TEXT";
        case PDI_DIALECT_MSSQL: return "NVARCHAR(MAX)";
        case PDI_DIALECT_DB2: return "VARCHAR(32672)";
        default: return "VARCHAR";
        }
    case 'z':
    case 'Z':
        switch (d->id) {
        case PDI_DIALECT_POSTGRES: return "BYTEA";
        case PDI_DIALECT_MSSQL: return "VARBINARY(MAX)";
        default: return "BLOB";
        }
    case 'd': return "DECIMAL";
    case 't':
        if (f[1] == 'd')
            return "DATE";
        if (f[1] == 't')
            return "TIME";
        if (f[1] == 's')
            return ms ? "DATETIME2" : (strlen(f) > 4 ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP");
        return NULL;
    default: return NULL;
    }
}

const char *pdi_sql_arrow_for_type(const pdi_dialect *d, const char *t)
{
    (void)d;
    if (!t || !*t)
        return "u";
    char *lt = pd_str_lower(t);
    if (!lt)
        return "u";
    const char *r = "u";
    if (strstr(lt, "bool") || pd_str_eq(lt, "bit"))
        r = "b";
    else if (strstr(lt, "bigint") || strstr(lt, "int8") || pd_str_eq(lt, "integer") ||
             pd_str_eq(lt, "int") || strstr(lt, "smallint") || strstr(lt, "tinyint"))
        r = "l";
    else if (strstr(lt, "double") || strstr(lt, "float") || strstr(lt, "real"))
        r = "g";
    else if (strstr(lt, "timestamp with time zone") || strstr(lt, "timestamptz"))
        r = "tsu:UTC";
    else if (strstr(lt, "timestamp") || strstr(lt, "datetime"))
        r = "tsu:";
    else if (pd_str_eq(lt, "date"))
        r = "tdD";
    else if (pd_str_eq(lt, "time"))
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
    switch (d->id) {
    case PDI_DIALECT_SQLITE:
    case PDI_DIALECT_MSSQL: return v ? "1" : "0";
    default: return v ? "TRUE" : "FALSE";
    }
}

char **pdi_sql_metadata_ddl(const pdi_dialect *d, const char *schema)
{
    const char *idcol;
    switch (d->id) {
    case PDI_DIALECT_SQLITE: idcol = "id INTEGER PRIMARY KEY AUTOINCREMENT"; break;
    case PDI_DIALECT_MSSQL: idcol = "id BIGINT IDENTITY(1,1) PRIMARY KEY"; break;
    case PDI_DIALECT_DUCKDB:
        idcol = NULL; /* sequence-backed, see below */
        break;
    case PDI_DIALECT_SNOWFLAKE: idcol = "id BIGINT AUTOINCREMENT PRIMARY KEY"; break;
    default: idcol = "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";
    }
    const char *bool_t = d->id == PDI_DIALECT_MSSQL ? "BIT" : "BOOLEAN";
    const char *text_t = d->id == PDI_DIALECT_MSSQL ? "NVARCHAR(MAX)"
                         : d->id == PDI_DIALECT_DB2 ? "CLOB"
                                                    : "TEXT";
    static const char *const tables[] = {"stages", "tasks", "lazy_tables", "raw_sql",
                                         "commit_journal"};
    const char *cols[] = {
        "stage VARCHAR(64), cur_transaction_name VARCHAR(256)",  NULL, NULL, NULL,
        "stage VARCHAR(64), run_id VARCHAR(32), started BIGINT",
    };
    char *tasks_cols =
        pd_asprintf("name VARCHAR(128), stage VARCHAR(64), version VARCHAR(64), timestamp BIGINT, "
                    "run_id VARCHAR(32), position_hash VARCHAR(32), input_hash VARCHAR(32), "
                    "cache_fn_hash VARCHAR(32), output_json %s, in_transaction_schema %s",
                    text_t, bool_t);
    char *lazy_cols = pd_asprintf("name VARCHAR(128), stage VARCHAR(64), query_hash VARCHAR(32), "
                                  "task_hash VARCHAR(32), in_transaction_schema %s",
                                  bool_t);
    char *raw_cols =
        pd_asprintf("prev_objects %s, new_objects %s, stage VARCHAR(64), query_hash VARCHAR(32), "
                    "task_hash VARCHAR(32), in_transaction_schema %s",
                    text_t, text_t, bool_t);
    cols[1] = tasks_cols;
    cols[2] = lazy_cols;
    cols[3] = raw_cols;
    char **v = pd_calloc(32, sizeof *v);
    size_t n = 0;
    if (!v || !tasks_cols || !lazy_cols || !raw_cols)
        goto oom;
    bool ine = d->id != PDI_DIALECT_MSSQL && d->id != PDI_DIALECT_DB2;
    pd_buf b = {0};
    pd_buf_printf(&b, "CREATE TABLE %s", ine ? "IF NOT EXISTS " : "");
    put_qualified(&b, d, schema, "metadata_version");
    pd_buf_puts(&b, " (version VARCHAR(32))");
    v[n++] = pd_buf_detach(&b);
    for (size_t i = 0; i < 5; i++) {
        if (d->id == PDI_DIALECT_DUCKDB) {
            char seq[64];
            snprintf(seq, sizeof seq, "%s_id_seq", tables[i]);
            pd_buf_puts(&b, "CREATE SEQUENCE IF NOT EXISTS ");
            put_qualified(&b, d, schema, seq);
            v[n++] = pd_buf_detach(&b);
        }
        pd_buf_printf(&b, "CREATE TABLE %s", ine ? "IF NOT EXISTS " : "");
        put_qualified(&b, d, schema, tables[i]);
        pd_buf_puts(&b, " (");
        if (idcol) {
            pd_buf_puts(&b, idcol);
        } else {
            char seq[64];
            snprintf(seq, sizeof seq, "%s_id_seq", tables[i]);
            /* no PRIMARY KEY / indexes on DuckDB: its ART indexes fail
             * ("Failed to delete all rows from index") when rows inserted
             * by a killed process are replayed from the WAL and deleted */
            pd_buf_puts(&b, "id BIGINT DEFAULT nextval('");
            pd_buf_puts(&b, schema);
            pd_buf_printf(&b, ".%s')", seq);
        }
        pd_buf_printf(&b, ", %s)", cols[i]);
        v[n++] = pd_buf_detach(&b);
    }
    static const char *const idx[][3] = {
        {"tasks", "idx_tasks_lookup", "name, stage, version, input_hash"},
        {"tasks", "idx_tasks_pos", "name, stage, position_hash"},
        {"lazy_tables", "idx_lazy_lookup", "stage, query_hash, task_hash"},
        {"raw_sql", "idx_raw_sql_lookup", "stage, query_hash, task_hash"},
    };
    for (size_t i = 0; i < 4 && d->id != PDI_DIALECT_DUCKDB; i++) {
        pd_buf_printf(&b, "CREATE INDEX %s", ine ? "IF NOT EXISTS " : "");
        if (d->id == PDI_DIALECT_SQLITE) {
            put_qualified(&b, d, schema, idx[i][1]);
            pd_buf_puts(&b, " ON ");
            put_quoted(&b, d, idx[i][0]);
        } else {
            put_quoted(&b, d, idx[i][1]);
            pd_buf_puts(&b, " ON ");
            put_qualified(&b, d, schema, idx[i][0]);
        }
        pd_buf_printf(&b, " (%s)", idx[i][2]);
        v[n++] = pd_buf_detach(&b);
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

char *pdi_sql_canonical(const char *sql)
{
    static const char *const sfx[] = {"__tmp", "__even", "__odd", NULL};
    pd_buf b = {0};
    const char *p = sql ? sql : "";
    while (*p) {
        char c = *p;
        if (c == '"' || c == '[' || c == ']') {
            p++;
            continue;
        }
        bool skipped = false;
        for (int k = 0; sfx[k]; k++) {
            size_t n = strlen(sfx[k]);
            if (strncasecmp(p, sfx[k], n) == 0) {
                char nx = p[n];
                if (nx == 0 || isspace((unsigned char)nx) || nx == '.' || nx == ';' || nx == '"' ||
                    nx == ']') {
                    p += n;
                    skipped = true;
                    break;
                }
            }
        }
        if (skipped)
            continue;
        pd_buf_putc(&b, (char)tolower((unsigned char)c));
        p++;
    }
    return finish(&b);
}
