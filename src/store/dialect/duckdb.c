/*
 * store/dialect/duckdb.c - DuckDB text: the common text, sequence-backed
 * metadata ids, primary keys as unique indexes, DuckDB's own column types
 * (unsigned integers, TIMESTAMP_S/MS/NS, TIME_NS, DECIMAL(p,s)), catalog
 * queries limited to the store's own database, indexes from
 * duckdb_indexes(), metadata tables without ART indexes.
 */
#include "store/dialect/dialect_int.h"
#include <string.h>

static const char *dk_type(const pdi_dialect *d, const char *f, char *buf, size_t cap)
{
    (void)d;
    static const struct {
        const char *fmt, *type;
    } map[] = {
        {"b", "BOOLEAN"},  {"c", "TINYINT"},   {"s", "SMALLINT"}, {"i", "INTEGER"}, {"l", "BIGINT"},
        {"C", "UTINYINT"}, {"S", "USMALLINT"}, {"I", "UINTEGER"}, {"L", "UBIGINT"}, {"e", "FLOAT"},
        {"f", "FLOAT"},    {"g", "DOUBLE"},    {"u", "VARCHAR"},  {"U", "VARCHAR"}, {"z", "BLOB"},
        {"Z", "BLOB"},     {"n", "VARCHAR"},   {"tdD", "DATE"},   {"tdm", "DATE"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(f, map[i].fmt) == 0)
            return map[i].type;
    if (strncmp(f, "ts", 2) == 0 && f[2] && strchr("smun", f[2]) && f[3] == ':') {
        if (f[4]) /* TIMESTAMPTZ holds microseconds: nanoseconds would be cut */
            return f[2] == 'n' ? NULL : "TIMESTAMPTZ";
        return f[2] == 's'   ? "TIMESTAMP_S"
               : f[2] == 'm' ? "TIMESTAMP_MS"
               : f[2] == 'n' ? "TIMESTAMP_NS"
                             : "TIMESTAMP";
    }
    if (strncmp(f, "tt", 2) == 0 && f[2] && strchr("smun", f[2]) && !f[3])
        return f[2] == 'n' ? "TIME_NS" : "TIME";
    int p, s;
    if (pdi_dl_arrow_decimal(f, &p, &s) && s >= 0 && s <= p) {
        snprintf(buf, cap, "DECIMAL(%d,%d)", p, s);
        return buf;
    }
    return NULL;
}

/* The catalog queries look at the store's own database only: DuckDB's
 * information_schema also lists the system and temp catalogs (schemas
 * main, information_schema, pg_catalog), which are not ours to list or
 * drop. */
static void dk_where_schema(pd_buf *b, const char *schema)
{
    pdi_buf_puts(b, " WHERE table_catalog = current_database() AND table_schema = ");
    pdi_dl_literal(b, schema);
}

static char *dk_list_schemas(const pdi_dialect *d)
{
    (void)d;
    return pdi_strdup("SELECT schema_name FROM information_schema.schemata WHERE catalog_name = "
                      "current_database() AND schema_name NOT IN ('main', 'information_schema', "
                      "'pg_catalog') ORDER BY 1");
}

static char *dk_list_objects(const pdi_dialect *d, const char *schema)
{
    (void)d;
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT table_name FROM information_schema.tables");
    dk_where_schema(&b, schema);
    pdi_buf_puts(&b, " ORDER BY table_name");
    return pdi_dl_finish(&b);
}

/* duckdb_tables() builds a row for every table of the file (~50 ms with
 * 1,500 tables): one query for every stage of a run, not one per stage. */
static char *dk_list_objects_in(const pdi_dialect *d, const char *const *schemas, size_t n)
{
    (void)d;
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT table_schema, table_name FROM information_schema.tables WHERE "
                     "table_catalog = current_database() AND table_schema");
    pdi_dl_in_list(&b, schemas, n);
    pdi_buf_puts(&b, " ORDER BY table_schema, table_name");
    return pdi_dl_finish(&b);
}

static char *dk_list_relations(const pdi_dialect *d, const char *schema)
{
    (void)d;
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT table_name, CASE WHEN table_type = 'VIEW' THEN 'VIEW' ELSE 'TABLE' "
                     "END FROM information_schema.tables");
    dk_where_schema(&b, schema);
    pdi_buf_puts(&b, " ORDER BY table_name");
    return pdi_dl_finish(&b);
}

static char *dk_table_exists(const pdi_dialect *d, const char *schema)
{
    (void)d;
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT table_name FROM information_schema.tables");
    dk_where_schema(&b, schema);
    pdi_buf_puts(&b, " AND table_name = ?");
    return pdi_dl_finish(&b);
}

static char *dk_list_columns(const pdi_dialect *d, const char *schema, const char *table)
{
    (void)d;
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT column_name FROM information_schema.columns");
    dk_where_schema(&b, schema);
    pdi_buf_puts(&b, " AND table_name = ");
    pdi_dl_literal(&b, table);
    pdi_buf_puts(&b, " ORDER BY ordinal_position");
    return pdi_dl_finish(&b);
}

/* duckdb_indexes() gives an index's columns as one text "[a, '\"b c\"']":
 * one row per column, in order, the quotes around a name removed. */
static char *dk_list_indexes(const pdi_dialect *d, const char *schema, const char *table)
{
    (void)d;
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT index_name, is_unique, is_primary, trim(col, '''\"') FROM (SELECT "
                     "index_name, is_unique, is_primary, unnest(string_split(expressions[2:-2], "
                     "', ')) AS col, generate_subscripts(string_split(expressions[2:-2], ', '), "
                     "1) AS pos FROM duckdb_indexes() WHERE database_name = current_database() "
                     "AND schema_name = ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, " AND table_name = ");
    pdi_dl_literal(&b, table);
    pdi_buf_puts(&b, ") ORDER BY index_name, pos");
    return pdi_dl_finish(&b);
}

/* Session setup. disable_checkpoint_on_shutdown (database-wide, repeated
 * per session harmlessly): closing the file does not rewrite DuckDB's
 * whole catalog (0.3-1 s with ~3,000 tables and views); committed work is
 * already durable in the fsync'd WAL, which the next open replays. The
 * connector still checkpoints at close when the WAL has grown large
 * (store/duckdb/duck_db.c), and DuckDB itself at checkpoint_threshold. */
static char *dk_session(const pdi_dialect *d)
{
    (void)d;
    return pdi_strdup("SET TimeZone = 'UTC'; PRAGMA disable_checkpoint_on_shutdown");
}

/* SELECT hash("c") AS pd_h FROM "s"."t" WHERE "c" IS NOT NULL [AND
 * hash("c") % passes = pass]: DuckDB's hash of the value itself (no
 * collation applied: the backend offers the probe only where equality is
 * that of the bytes), to be checked for repeats by the caller. */
static char *dk_unique_hash(const pdi_dialect *d,
                            const char *schema,
                            const char *table,
                            const char *column,
                            int64_t pass,
                            int64_t passes,
                            const char *any_where)
{
    if (any_where) {
        pd_set_error(PD_ERR_UNSUPPORTED, "duckdb: the hash probe carries no scan predicate");
        return NULL;
    }
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT hash(");
    pdi_dl_quoted(&b, d, column);
    pdi_buf_puts(&b, ") AS pd_h FROM ");
    pdi_dl_qualified(&b, d, schema, table);
    pdi_buf_puts(&b, " WHERE ");
    pdi_dl_quoted(&b, d, column);
    pdi_buf_puts(&b, " IS NOT NULL");
    if (passes > 1) {
        pdi_buf_puts(&b, " AND hash(");
        pdi_dl_quoted(&b, d, column);
        pdi_buf_printf(&b, ") %% %lld = %lld", (long long)passes, (long long)pass);
    }
    return pdi_dl_finish(&b);
}

/* The column's type, its table's CREATE statement (NULL for a view) and
 * the default collation; parameters schema, table, column. */
static char *dk_unique_hash_column(const pdi_dialect *d)
{
    (void)d;
    return pdi_strdup(
        "SELECT c.data_type, t.sql, current_setting('default_collation') FROM duckdb_columns() "
        "AS c LEFT JOIN duckdb_tables() AS t ON t.database_name = c.database_name AND "
        "t.schema_name = c.schema_name AND t.table_name = c.table_name WHERE c.database_name = "
        "current_database() AND c.schema_name = ? AND c.table_name = ? AND c.column_name = ?");
}

const pdi_dialect pdi_dialect_duckdb = {
    .id = PDI_DIALECT_DUCKDB,
    .name = "duckdb",
    .quote_open = '"',
    .quote_close = '"',
    .pk_as_unique_index = true,
    .has_indexes = true,
    .meta_unindexed = true,
    .drop_cascades = true,
    .drop_if_exists = true,
    .if_not_exists = true,
    .text_type = "TEXT",
    .bool_type = "BOOLEAN",
    .meta_id_col = NULL, /* sequences */
    .insert_hint = "",
    .ident_nocase = true,
    .max_ident_len = 63,
    .list_schemas = dk_list_schemas,
    .list_objects = dk_list_objects,
    .list_objects_in = dk_list_objects_in,
    .list_relations = dk_list_relations,
    .table_exists = dk_table_exists,
    .list_columns = dk_list_columns,
    .list_indexes = dk_list_indexes,
    .session_setup = dk_session,
    .type_for_arrow = dk_type,
    .unique_hash = dk_unique_hash,
    .unique_hash_column = dk_unique_hash_column,
};
