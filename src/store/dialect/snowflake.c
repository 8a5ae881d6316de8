/*
 * store/dialect/snowflake.c - Snowflake text: the common text, no
 * secondary indexes (skipped), ALTER TABLE .. RENAME TO a qualified name,
 * Snowflake column types.
 */
#include "store/dialect/dialect_int.h"
#include <stdlib.h>
#include <string.h>

static char *
sf_rename_table(const pdi_dialect *d, const char *schema, const char *from, const char *to)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "ALTER TABLE ");
    pdi_dl_qualified(&b, d, schema, from);
    pdi_buf_puts(&b, " RENAME TO ");
    pdi_dl_qualified(&b, d, schema, to);
    return pdi_dl_finish(&b);
}

static const char *sf_type(const pdi_dialect *d, const char *f, char *buf, size_t cap)
{
    (void)d;
    static const pdi_dl_type_name names[] = {
        {"b", "BOOLEAN"},      {"c", "SMALLINT"}, {"s", "SMALLINT"}, {"i", "INTEGER"},
        {"l", "BIGINT"},       {"C", "SMALLINT"}, {"S", "INTEGER"},  {"I", "BIGINT"},
        {"L", "NUMBER(20,0)"}, {"e", "FLOAT"},    {"f", "FLOAT"},    {"g", "DOUBLE"},
        {"u", "VARCHAR"},      {"U", "VARCHAR"},  {"z", "BINARY"},   {"Z", "BINARY"},
        {"tdD", "DATE"},       {"tdm", "DATE"},   {NULL, NULL},
    };
    static const pdi_dl_types types = {names, "TIMESTAMP_NTZ", "TIMESTAMP_TZ", "TIME", "NUMBER", 0};
    return pdi_dl_type_by(&types, f, buf, cap);
}

char *pdi_sql_snowflake_swap(const char *a, const char *b_schema)
{
    const pdi_dialect *d = &pdi_dialect_snowflake;
    pd_buf b = {0};
    pdi_buf_puts(&b, "ALTER SCHEMA ");
    pdi_dl_quoted(&b, d, a);
    pdi_buf_puts(&b, " SWAP WITH ");
    pdi_dl_quoted(&b, d, b_schema);
    return pdi_dl_finish(&b);
}

char *pdi_sql_snowflake_query_tag(const char *instance_id, const char *user, long pid)
{
    char *tag =
        pdi_asprintf("pipedag|%s|%s|%ld", instance_id ? instance_id : "", user ? user : "", pid);
    if (!tag)
        return NULL;
    pd_buf b = {0};
    pdi_buf_puts(&b, "ALTER SESSION SET QUERY_TAG = ");
    pdi_dl_literal(&b, tag);
    free(tag);
    return pdi_dl_finish(&b);
}

char *pdi_sql_snowflake_mark_schema(const char *schema, const char *mark)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "COMMENT ON SCHEMA ");
    pdi_dl_quoted(&b, &pdi_dialect_snowflake, schema);
    pdi_buf_puts(&b, " IS ");
    pdi_dl_literal(&b, mark);
    return pdi_dl_finish(&b);
}

char *pdi_sql_snowflake_schema_mark(const char *schema)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT COMMENT FROM INFORMATION_SCHEMA.SCHEMATA WHERE SCHEMA_NAME = ");
    pdi_dl_literal(&b, schema);
    return pdi_dl_finish(&b);
}

const pdi_dialect pdi_dialect_snowflake = {
    .id = PDI_DIALECT_SNOWFLAKE,
    .name = "snowflake",
    .quote_open = '"',
    .quote_close = '"',
    .has_indexes = false,
    .drop_cascades = true,
    .drop_if_exists = true,
    .if_not_exists = true,
    .text_type = "TEXT",
    .bool_type = "BOOLEAN",
    .meta_id_col = "id BIGINT AUTOINCREMENT PRIMARY KEY",
    .insert_hint = "",
    .max_ident_len = 63,
    .rename_table = sf_rename_table,
    .type_for_arrow = sf_type,
};
