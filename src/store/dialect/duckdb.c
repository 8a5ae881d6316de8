/*
 * store/dialect/duckdb.c - DuckDB text: the common text, sequence-backed
 * metadata ids, primary keys as unique indexes, DuckDB's own column types
 * (unsigned integers, TIMESTAMP_S/MS/NS, DECIMAL(p,s)).
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
        if (f[4])
            return "TIMESTAMPTZ";
        return f[2] == 's'   ? "TIMESTAMP_S"
               : f[2] == 'm' ? "TIMESTAMP_MS"
               : f[2] == 'n' ? "TIMESTAMP_NS"
                             : "TIMESTAMP";
    }
    if (strncmp(f, "tt", 2) == 0 && f[2] && strchr("smun", f[2]) && !f[3])
        return "TIME";
    int p, s;
    if (pdi_dl_arrow_decimal(f, &p, &s) && s >= 0 && s <= p) {
        snprintf(buf, cap, "DECIMAL(%d,%d)", p, s);
        return buf;
    }
    return NULL;
}

static char *dk_session(const pdi_dialect *d)
{
    (void)d;
    return pd_strdup("SET TimeZone = 'UTC'");
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
    .max_ident_len = 63,
    .session_setup = dk_session,
    .type_for_arrow = dk_type,
};
