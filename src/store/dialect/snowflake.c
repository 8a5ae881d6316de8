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
    pd_buf_puts(&b, "ALTER TABLE ");
    pdi_dl_qualified(&b, d, schema, from);
    pd_buf_puts(&b, " RENAME TO ");
    pdi_dl_qualified(&b, d, schema, to);
    return pdi_dl_finish(&b);
}

static const char *sf_type(const pdi_dialect *d, const char *f, char *buf, size_t cap)
{
    (void)d;
    static const struct {
        const char *fmt, *type;
    } map[] = {
        {"b", "BOOLEAN"},      {"c", "SMALLINT"}, {"s", "SMALLINT"}, {"i", "INTEGER"},
        {"l", "BIGINT"},       {"C", "SMALLINT"}, {"S", "INTEGER"},  {"I", "BIGINT"},
        {"L", "NUMBER(20,0)"}, {"e", "FLOAT"},    {"f", "FLOAT"},    {"g", "DOUBLE"},
        {"u", "VARCHAR"},      {"U", "VARCHAR"},  {"z", "BINARY"},   {"Z", "BINARY"},
        {"tdD", "DATE"},       {"tdm", "DATE"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(f, map[i].fmt) == 0)
            return map[i].type;
    if (strncmp(f, "ts", 2) == 0 && f[2] && strchr("smun", f[2]) && f[3] == ':')
        return f[4] ? "TIMESTAMP_TZ" : "TIMESTAMP_NTZ";
    if (strncmp(f, "tt", 2) == 0 && f[2] && strchr("smun", f[2]) && !f[3])
        return "TIME";
    int p, s;
    if (pdi_dl_arrow_decimal(f, &p, &s) && s >= 0 && s <= p) {
        snprintf(buf, cap, "NUMBER(%d,%d)", p, s);
        return buf;
    }
    return NULL;
}

char *pdi_sql_snowflake_swap(const char *a, const char *b_schema)
{
    const pdi_dialect *d = &pdi_dialect_snowflake;
    pd_buf b = {0};
    pd_buf_puts(&b, "ALTER SCHEMA ");
    pdi_dl_quoted(&b, d, a);
    pd_buf_puts(&b, " SWAP WITH ");
    pdi_dl_quoted(&b, d, b_schema);
    return pdi_dl_finish(&b);
}

char *pdi_sql_snowflake_query_tag(const char *instance_id, const char *user, long pid)
{
    char *tag =
        pd_asprintf("pipedag|%s|%s|%ld", instance_id ? instance_id : "", user ? user : "", pid);
    if (!tag)
        return NULL;
    pd_buf b = {0};
    pd_buf_puts(&b, "ALTER SESSION SET QUERY_TAG = ");
    pdi_dl_literal(&b, tag);
    free(tag);
    return pdi_dl_finish(&b);
}

char *pdi_sql_snowflake_mark_schema(const char *schema, const char *mark)
{
    pd_buf b = {0};
    pd_buf_puts(&b, "COMMENT ON SCHEMA ");
    pdi_dl_quoted(&b, &pdi_dialect_snowflake, schema);
    pd_buf_puts(&b, " IS ");
    pdi_dl_literal(&b, mark);
    return pdi_dl_finish(&b);
}

char *pdi_sql_snowflake_schema_mark(const char *schema)
{
    pd_buf b = {0};
    pd_buf_puts(&b, "SELECT COMMENT FROM INFORMATION_SCHEMA.SCHEMATA WHERE SCHEMA_NAME = ");
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
