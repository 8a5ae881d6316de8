/*
 * store/dialect/postgres.c - PostgreSQL text (also every unknown dialect):
 * the common text plus the type map of binary COPY, session settings,
 * advisory locks and the catalog queries.
 */
#include "store/dialect/dialect_int.h"
#include <string.h>

bool pdi_dl_arrow_decimal(const char *f, int *p, int *s)
{
    int w = 128;
    *p = *s = 0;
    if (!f || strncmp(f, "d:", 2) != 0)
        return false;
    int n = sscanf(f + 2, "%d,%d,%d", p, s, &w);
    return n >= 2 && w == 128 && *p >= 1 && *p <= 38;
}

/* The column types the binary COPY encoder of src/store/postgres writes. */
static const char *pg_type(const pdi_dialect *d, const char *f, char *buf, size_t cap)
{
    (void)d;
    static const struct {
        const char *fmt, *type;
    } map[] = {
        {"b", "boolean"},       {"c", "smallint"}, {"s", "smallint"}, {"i", "integer"},
        {"l", "bigint"},        {"C", "smallint"}, {"S", "integer"},  {"I", "bigint"},
        {"L", "numeric(20,0)"}, {"e", "real"},     {"f", "real"},     {"g", "double precision"},
        {"u", "text"},          {"U", "text"},     {"z", "bytea"},    {"Z", "bytea"},
        {"n", "text"},          {"tdD", "date"},   {"tdm", "date"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(f, map[i].fmt) == 0)
            return map[i].type;
    if (strncmp(f, "ts", 2) == 0 && f[2] && strchr("smun", f[2]) && f[3] == ':')
        return f[4] ? "timestamp with time zone" : "timestamp without time zone";
    if (strncmp(f, "tt", 2) == 0 && f[2] && strchr("smun", f[2]) && !f[3])
        return "time without time zone";
    int p, s;
    if (pdi_dl_arrow_decimal(f, &p, &s)) {
        if (s >= 0)
            snprintf(buf, cap, "numeric(%d,%d)", p, s);
        else
            snprintf(buf, cap, "numeric(%d,0)", p - s);
        return buf;
    }
    return NULL;
}

static char *pg_session(const pdi_dialect *d)
{
    (void)d;
    return pdi_strdup("SET TIME ZONE 'UTC'; SET extra_float_digits = 3");
}

static char *pg_lock(const pdi_dialect *d, int64_t id, int op)
{
    (void)d;
    if (op == 2)
        return pdi_strdup("SELECT pg_advisory_unlock_all()");
    return pdi_asprintf("SELECT pg_advisory_%s(%lld)", op == 0 ? "lock" : "unlock", (long long)id);
}

static char *pg_list_indexes(const pdi_dialect *d, const char *schema, const char *table)
{
    (void)d;
    pd_buf b = {0};
    pdi_buf_puts(&b,
                 "SELECT i.relname, ix.indisunique, ix.indisprimary, a.attname FROM pg_index ix "
                 "JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = "
                 "t.relnamespace JOIN pg_class i ON i.oid = ix.indexrelid JOIN LATERAL "
                 "unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) ON true JOIN "
                 "pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum WHERE "
                 "n.nspname = ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, " AND t.relname = ");
    pdi_dl_literal(&b, table);
    pdi_buf_puts(&b, " ORDER BY i.relname, k.ord");
    return pdi_dl_finish(&b);
}

/* The columns of schema.table with a deterministic collation (equal means
 * byte-equal), which the unique check compares COLLATE "C". */
static char *pg_bytewise_columns(const pdi_dialect *d, const char *schema, const char *table)
{
    (void)d;
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT a.attname FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid "
                     "JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_collation co ON "
                     "co.oid = a.attcollation WHERE n.nspname = ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, " AND t.relname = ");
    pdi_dl_literal(&b, table);
    pdi_buf_puts(&b, " AND a.attnum > 0 AND NOT a.attisdropped AND co.collisdeterministic");
    return pdi_dl_finish(&b);
}

static char *pg_list_relations(const pdi_dialect *d, const char *schema)
{
    (void)d;
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT c.relname, CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN "
                     "'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END FROM "
                     "pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, " AND c.relkind IN ('r', 'v', 'm', 'p', 'f') ORDER BY c.relname");
    return pdi_dl_finish(&b);
}

/* ------------------------------------- statements of the postgres backend */

char *pdi_sql_pg_create_database(const char *name)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "CREATE DATABASE ");
    pdi_dl_quoted(&b, &pdi_dialect_postgres, name);
    return pdi_dl_finish(&b);
}

char *pdi_sql_pg_copy_in(const char *schema, const char *table, const struct ArrowSchema *cols)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "COPY ");
    pdi_dl_qualified(&b, &pdi_dialect_postgres, schema, table);
    pdi_buf_puts(&b, " (");
    for (int64_t i = 0; i < cols->n_children; i++) {
        if (i)
            pdi_buf_puts(&b, ", ");
        pdi_dl_quoted(&b, &pdi_dialect_postgres, cols->children[i]->name);
    }
    pdi_buf_puts(&b, ") FROM STDIN (FORMAT binary)");
    return pdi_dl_finish(&b);
}

char *pdi_sql_pg_copy_out(const char *select)
{
    return pdi_asprintf("COPY (%.*s) TO STDOUT (FORMAT binary)", (int)pdi_dl_trimmed_len(select),
                        select);
}

char *pdi_sql_pg_text_cast(const char *select, const char *const *cols, const bool *cast, size_t n)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT ");
    for (size_t i = 0; i < n; i++) {
        pdi_buf_puts(&b, i ? ", pd_q." : "pd_q.");
        pdi_dl_quoted(&b, &pdi_dialect_postgres, cols[i]);
        if (cast[i])
            pdi_buf_puts(&b, "::text");
    }
    pdi_buf_printf(&b, " FROM (%.*s) AS pd_q", (int)pdi_dl_trimmed_len(select), select);
    return pdi_dl_finish(&b);
}

const pdi_dialect pdi_dialect_postgres = {
    .id = PDI_DIALECT_POSTGRES,
    .name = "postgresql",
    .quote_open = '"',
    .quote_close = '"',
    .has_indexes = true,
    .drop_cascades = true,
    .drop_if_exists = true,
    .if_not_exists = true,
    .has_unlogged = true,
    .text_type = "TEXT",
    .bool_type = "BOOLEAN",
    .meta_id_col = "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    .insert_hint = "",
    .max_ident_len = 63,
    .unique_by_count = true,
    .list_relations = pg_list_relations,
    .bytewise_columns = pg_bytewise_columns,
    .list_indexes = pg_list_indexes,
    .session_setup = pg_session,
    .lock = pg_lock,
    .type_for_arrow = pg_type,
};
