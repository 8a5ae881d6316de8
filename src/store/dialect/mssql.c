/*
 * store/dialect/mssql.c - Microsoft SQL Server text: [quoted] names,
 * SELECT ... INTO instead of CREATE TABLE AS, schemas created through
 * EXEC, sp_rename, TOP n, bit booleans, no DROP SCHEMA CASCADE.
 */
#include "store/dialect/dialect_int.h"
#include <stdlib.h>
#include <string.h>

static char *ms_create_schema(const pdi_dialect *d, const char *schema)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "IF NOT EXISTS (SELECT * FROM sys.schemas WHERE name = ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, ") EXEC(");
    pd_buf q = {0};
    pdi_buf_puts(&q, "CREATE SCHEMA ");
    pdi_dl_quoted(&q, d, schema);
    char *qs = pdi_buf_detach(&q);
    pdi_dl_literal(&b, qs ? qs : "");
    free(qs);
    pdi_buf_putc(&b, ')');
    return pdi_dl_finish(&b);
}

static char *ms_drop_schema(const pdi_dialect *d, const char *schema)
{
    /* the store drops the contents first (drop_cascades is false) */
    pd_buf b = {0};
    pdi_buf_puts(&b, "DROP SCHEMA IF EXISTS ");
    pdi_dl_quoted(&b, d, schema);
    return pdi_dl_finish(&b);
}

static char *ms_ctas(
    const pdi_dialect *d, const char *schema, const char *table, const char *select, bool unlogged)
{
    (void)unlogged;
    char *target = pdi_sql_qualified(d, schema, table);
    if (!target)
        return NULL;
    char *r = pdi_sql_mssql_splice_into(select, target);
    free(target);
    return r;
}

static char *
ms_rename_table(const pdi_dialect *d, const char *schema, const char *from, const char *to)
{
    pd_buf q = {0};
    pdi_dl_qualified(&q, d, schema, from);
    char *qs = pdi_buf_detach(&q);
    pd_buf b = {0};
    pdi_buf_puts(&b, "EXEC sp_rename ");
    pdi_dl_literal(&b, qs ? qs : "");
    pdi_buf_puts(&b, ", ");
    pdi_dl_literal(&b, to);
    free(qs);
    return pdi_dl_finish(&b);
}

static char *ms_rename_schema(const pdi_dialect *d, const char *from, const char *to)
{
    /* SQL Server cannot rename a schema: the ODBC backend's publish moves
     * the objects (pdi_sql_mssql_transfer). Asking for a rename is an error,
     * never a statement that silently does nothing. */
    (void)d;
    pd_set_error(PD_ERR_UNSUPPORTED,
                 "SQL Server cannot rename schema [%s] to [%s]: objects are transferred "
                 "(ALTER SCHEMA .. TRANSFER) by the ODBC backend",
                 from, to);
    return NULL;
}

static char *ms_list_objects(const pdi_dialect *d, const char *schema)
{
    (void)d;
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT o.name FROM sys.objects o JOIN sys.schemas s ON o.schema_id = "
                     "s.schema_id WHERE s.name = ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, " AND o.type IN ('U', 'V', 'SN') ORDER BY o.name");
    return pdi_dl_finish(&b);
}

static char *ms_limit(const pdi_dialect *d, const char *select, int64_t n)
{
    (void)d;
    return pdi_asprintf("SELECT TOP %lld * FROM (%.*s) AS pd_limit_sub", (long long)n,
                        (int)pdi_dl_trimmed_len(select), select);
}

/* TOP n instead of LIMIT; NULL placement by a CASE key (T-SQL has no
 * NULLS FIRST/LAST); an ORDER BY without TOP needs OFFSET 0 ROWS in a
 * view. */
static char *ms_shaped_select(const pdi_dialect *d,
                              const char *from_item,
                              const char *const *names,
                              const char *const *sources,
                              size_t n_cols,
                              const pdi_sql_sort *sort,
                              size_t n_sort,
                              int64_t limit)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT ");
    if (limit >= 0)
        pdi_buf_printf(&b, "TOP %lld ", (long long)limit);
    pdi_dl_shaped_columns(&b, d, from_item, names, sources, n_cols);
    for (size_t i = 0; i < n_sort; i++) {
        pdi_buf_puts(&b, i ? ", CASE WHEN " : " ORDER BY CASE WHEN ");
        pdi_dl_quoted(&b, d, sort[i].column);
        pdi_buf_printf(&b, " IS NULL THEN %d ELSE %d END, ", sort[i].nulls_first ? 0 : 1,
                       sort[i].nulls_first ? 1 : 0);
        pdi_dl_quoted(&b, d, sort[i].column);
        pdi_buf_puts(&b, sort[i].desc ? " DESC" : " ASC");
    }
    if (n_sort && limit < 0)
        pdi_buf_puts(&b, " OFFSET 0 ROWS");
    return pdi_dl_finish(&b);
}

static const char *ms_type(const pdi_dialect *d, const char *f, char *buf, size_t cap)
{
    (void)d;
    static const pdi_dl_type_name names[] = {
        {"b", "BIT"},
        {"c", "SMALLINT"},
        {"s", "SMALLINT"},
        {"i", "INT"},
        {"l", "BIGINT"},
        {"C", "SMALLINT"},
        {"S", "INT"},
        {"I", "BIGINT"},
        {"L", "DECIMAL(20,0)"},
        {"e", "REAL"},
        {"f", "REAL"},
        {"g", "FLOAT"},
        {"u", "NVARCHAR(MAX)"},
        {"U", "NVARCHAR(MAX)"},
        {"z", "VARBINARY(MAX)"},
        {"Z", "VARBINARY(MAX)"},
        {"tdD", "DATE"},
        {"tdm", "DATE"},
        {NULL, NULL},
    };
    static const pdi_dl_types types = {names, "DATETIME2", "DATETIMEOFFSET", "TIME", "DECIMAL", 0};
    return pdi_dl_type_by(&types, f, buf, cap);
}

/* ------------------------------------------- statements of the ODBC backend */

static char *ms_lock(const pdi_dialect *d, int64_t id, int op)
{
    (void)d;
    if (op == 2) /* session app locks end with the session; nothing else holds one */
        return pdi_strdup("SELECT 1");
    if (op == 1)
        return pdi_asprintf("EXEC sp_releaseapplock @Resource = N'pipedag_%lld', "
                            "@LockOwner = 'Session'",
                            (long long)id);
    return pdi_asprintf("DECLARE @pd_rc INT; EXEC @pd_rc = sp_getapplock @Resource = "
                        "N'pipedag_%lld', @LockMode = 'Exclusive', @LockOwner = 'Session', "
                        "@LockTimeout = -1; IF @pd_rc < 0 RAISERROR('sp_getapplock pipedag_%lld "
                        "failed: %%d', 16, 1, @pd_rc)",
                        (long long)id, (long long)id);
}

char *pdi_sql_mssql_transfer(const char *to_schema, const char *from_schema, const char *name)
{
    const pdi_dialect *d = &pdi_dialect_mssql;
    pd_buf b = {0};
    pdi_buf_puts(&b, "ALTER SCHEMA ");
    pdi_dl_quoted(&b, d, to_schema);
    pdi_buf_puts(&b, " TRANSFER ");
    pdi_dl_qualified(&b, d, from_schema, name);
    return pdi_dl_finish(&b);
}

char *pdi_sql_mssql_list_transferable(const char *schema)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT o.name FROM sys.objects o JOIN sys.schemas s ON o.schema_id = "
                     "s.schema_id WHERE s.name = ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, " AND o.parent_object_id = 0 AND o.is_ms_shipped = 0 ORDER BY o.name");
    return pdi_dl_finish(&b);
}

char *pdi_sql_mssql_use(const char *database)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "USE ");
    pdi_dl_quoted(&b, &pdi_dialect_mssql, database);
    return pdi_dl_finish(&b);
}

char *pdi_sql_mssql_create_synonym(const char *schema,
                                   const char *name,
                                   const char *target_schema,
                                   const char *target)
{
    const pdi_dialect *d = &pdi_dialect_mssql;
    pd_buf b = {0};
    pdi_buf_puts(&b, "CREATE SYNONYM ");
    pdi_dl_qualified(&b, d, schema, name);
    pdi_buf_puts(&b, " FOR ");
    pdi_dl_qualified(&b, d, target_schema, target);
    return pdi_dl_finish(&b);
}

char *pdi_sql_mssql_drop_synonym(const char *schema, const char *name)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "DROP SYNONYM IF EXISTS ");
    pdi_dl_qualified(&b, &pdi_dialect_mssql, schema, name);
    return pdi_dl_finish(&b);
}

char *pdi_sql_mssql_columnstore(const char *schema, const char *table)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "CREATE CLUSTERED COLUMNSTORE INDEX ccidx ON ");
    pdi_dl_qualified(&b, &pdi_dialect_mssql, schema, table);
    return pdi_dl_finish(&b);
}

const pdi_dialect pdi_dialect_mssql = {
    .id = PDI_DIALECT_MSSQL,
    .name = "mssql",
    .quote_open = '[',
    .quote_close = ']',
    .has_indexes = true,
    .drop_if_exists = true,
    .bool_is_bit = true,
    .text_type = "NVARCHAR(MAX)",
    .bool_type = "BIT",
    .meta_id_col = "id BIGINT IDENTITY(1,1) PRIMARY KEY",
    .insert_hint = " WITH(TABLOCKX)",
    .ident_nocase = true,
    .max_ident_len = 63,
    .create_schema = ms_create_schema,
    .drop_schema = ms_drop_schema,
    .rename_schema = ms_rename_schema,
    .ctas = ms_ctas,
    .rename_table = ms_rename_table,
    .list_objects = ms_list_objects,
    .limit = ms_limit,
    .shaped_select = ms_shaped_select,
    .type_for_arrow = ms_type,
    .lock = ms_lock,
};
