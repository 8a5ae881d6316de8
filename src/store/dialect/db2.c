/*
 * store/dialect/db2.c - IBM DB2 text: CREATE TABLE .. AS (..) WITH DATA,
 * schemas created and dropped through compound statements that ignore
 * "exists"/"missing", RENAME, FETCH FIRST n ROWS, SYSCAT catalog queries,
 * indexes in the table's schema, no IF [NOT] EXISTS.
 */
#include "store/dialect/dialect_int.h"
#include <stdlib.h>
#include <string.h>

static char *db2_create_schema(const pdi_dialect *d, const char *schema)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "BEGIN DECLARE CONTINUE HANDLER FOR SQLSTATE '42710' BEGIN END; "
                     "EXECUTE IMMEDIATE 'CREATE SCHEMA ");
    pdi_dl_quoted(&b, d, schema);
    pdi_buf_puts(&b, "'; END");
    return pdi_dl_finish(&b);
}

static char *db2_drop_schema(const pdi_dialect *d, const char *schema)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "BEGIN DECLARE CONTINUE HANDLER FOR SQLSTATE '42704' BEGIN END; "
                     "EXECUTE IMMEDIATE 'DROP SCHEMA ");
    pdi_dl_quoted(&b, d, schema);
    pdi_buf_puts(&b, " RESTRICT'; END");
    return pdi_dl_finish(&b);
}

static char *
db2_rename_table(const pdi_dialect *d, const char *schema, const char *from, const char *to)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "RENAME ");
    pdi_dl_qualified(&b, d, schema, from);
    pdi_buf_puts(&b, " TO ");
    pdi_dl_quoted(&b, d, to);
    return pdi_dl_finish(&b);
}

static char *db2_list_objects(const pdi_dialect *d, const char *schema)
{
    (void)d;
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT TABNAME FROM SYSCAT.TABLES WHERE TABSCHEMA = ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, " AND TYPE IN ('T', 'V', 'A', 'N') ORDER BY TABNAME");
    return pdi_dl_finish(&b);
}

static char *db2_list_relations(const pdi_dialect *d, const char *schema)
{
    (void)d;
    pd_buf b = {0};
    pdi_buf_puts(&b, "SELECT TABNAME, CASE TYPE WHEN 'V' THEN 'VIEW' WHEN 'A' THEN 'ALIAS' WHEN "
                     "'N' THEN 'NICKNAME' ELSE 'TABLE' END FROM SYSCAT.TABLES WHERE TABSCHEMA = ");
    pdi_dl_literal(&b, schema);
    pdi_buf_puts(&b, " AND TYPE IN ('T', 'V', 'A', 'N') ORDER BY TABNAME");
    return pdi_dl_finish(&b);
}

static char *db2_limit(const pdi_dialect *d, const char *select, int64_t n)
{
    (void)d;
    return pdi_asprintf("SELECT * FROM (%.*s) AS pd_limit_sub FETCH FIRST %lld ROWS ONLY",
                        (int)pdi_dl_trimmed_len(select), select, (long long)n);
}

static const char *db2_type(const pdi_dialect *d, const char *f, char *buf, size_t cap)
{
    (void)d;
    static const pdi_dl_type_name names[] = {
        {"b", "BOOLEAN"},        {"c", "SMALLINT"},       {"s", "SMALLINT"}, {"i", "INTEGER"},
        {"l", "BIGINT"},         {"C", "SMALLINT"},       {"S", "INTEGER"},  {"I", "BIGINT"},
        {"L", "DECIMAL(20,0)"},  {"e", "REAL"},           {"f", "REAL"},     {"g", "DOUBLE"},
        {"u", "VARCHAR(32672)"}, {"U", "VARCHAR(32672)"}, {"z", "BLOB"},     {"Z", "BLOB"},
        {"tdD", "DATE"},         {"tdm", "DATE"},         {NULL, NULL},
    };
    static const pdi_dl_types types = {names, "TIMESTAMP", NULL, "TIME", "DECIMAL", 31};
    return pdi_dl_type_by(&types, f, buf, cap);
}

/* CREATE TABLE .. AS (..) DEFINITION ONLY, then the rows with ADMIN_CMD
 * LOAD FROM (<select>) OF CURSOR (statistics collected by the load). */
static char *db2_ctas(
    const pdi_dialect *d, const char *schema, const char *table, const char *select, bool unlogged)
{
    (void)unlogged;
    size_t n = pdi_dl_trimmed_len(select);
    pd_buf b = {0};
    pdi_buf_puts(&b, "CREATE TABLE ");
    pdi_dl_qualified(&b, d, schema, table);
    pdi_buf_puts(&b, " AS (");
    pdi_buf_append(&b, select, n);
    pdi_buf_puts(&b, ") DEFINITION ONLY;\nCALL SYSPROC.ADMIN_CMD('LOAD FROM (");
    for (size_t i = 0; i < n; i++) {
        pdi_buf_putc(&b, select[i]);
        if (select[i] == '\'')
            pdi_buf_putc(&b, '\'');
    }
    pdi_buf_puts(&b, ") OF CURSOR REPLACE RESETDICTIONARY INTO ");
    pd_buf q = {0};
    pdi_dl_qualified(&q, d, schema, table);
    char *qs = pdi_buf_detach(&q);
    pdi_buf_puts(&b, qs ? qs : "");
    free(qs);
    pdi_buf_puts(&b, " STATISTICS YES NONRECOVERABLE')");
    return pdi_dl_finish(&b);
}

/* DB2 LUW cannot rename a schema: SCHEMA_SWAP is refused by the backend's
 * caps; this text is never run, asking for it is an error. */
static char *db2_rename_schema(const pdi_dialect *d, const char *from, const char *to)
{
    (void)d;
    pd_set_error(PD_ERR_UNSUPPORTED, "DB2 cannot rename schema \"%s\" to \"%s\" (use READ_VIEWS)",
                 from, to);
    return NULL;
}

/* DB2 has no advisory locks: one lock per instance, an exclusive table lock
 * held by the lock session's open transaction (created when missing);
 * releasing ends that transaction. */
static char *db2_lock(const pdi_dialect *d, int64_t id, int op)
{
    (void)d;
    (void)id;
    if (op != 0)
        return pdi_strdup("ROLLBACK");
    return pdi_strdup("BEGIN DECLARE CONTINUE HANDLER FOR SQLSTATE '42710' BEGIN END; "
                      "EXECUTE IMMEDIATE 'CREATE TABLE PIPEDAG_LOCK (ID INTEGER)'; END;\n"
                      "LOCK TABLE PIPEDAG_LOCK IN EXCLUSIVE MODE");
}

char *pdi_sql_db2_create_alias(const char *schema,
                               const char *name,
                               const char *target_schema,
                               const char *target)
{
    const pdi_dialect *d = &pdi_dialect_db2;
    pd_buf b = {0};
    pdi_buf_puts(&b, "CREATE ALIAS ");
    pdi_dl_qualified(&b, d, schema, name);
    pdi_buf_puts(&b, " FOR TABLE ");
    pdi_dl_qualified(&b, d, target_schema, target);
    return pdi_dl_finish(&b);
}

char *pdi_sql_db2_drop_alias(const char *schema, const char *name)
{
    pd_buf b = {0};
    pdi_buf_puts(&b, "DROP ALIAS ");
    pdi_dl_qualified(&b, &pdi_dialect_db2, schema, name);
    return pdi_dl_finish(&b);
}

char *pdi_sql_db2_runstats(const char *schema, const char *table)
{
    pd_buf q = {0};
    pdi_dl_qualified(&q, &pdi_dialect_db2, schema, table);
    char *qs = pdi_buf_detach(&q);
    if (!qs)
        return NULL;
    pd_buf b = {0};
    pdi_buf_puts(&b, "CALL SYSPROC.ADMIN_CMD('RUNSTATS ON TABLE ");
    for (const char *p = qs; *p; p++) {
        pdi_buf_putc(&b, *p);
        if (*p == '\'')
            pdi_buf_putc(&b, '\'');
    }
    pdi_buf_puts(&b, " WITH DISTRIBUTION AND DETAILED INDEXES ALL')");
    free(qs);
    return pdi_dl_finish(&b);
}

const pdi_dialect pdi_dialect_db2 = {
    .id = PDI_DIALECT_DB2,
    .name = "db2",
    .quote_open = '"',
    .quote_close = '"',
    .index_in_table_schema = true,
    .has_indexes = true,
    .text_type = "CLOB",
    .bool_type = "BOOLEAN",
    .meta_id_col = "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    .insert_hint = "",
    .max_ident_len = 63,
    .create_schema = db2_create_schema,
    .drop_schema = db2_drop_schema,
    .ctas = db2_ctas,
    .rename_schema = db2_rename_schema,
    .rename_table = db2_rename_table,
    .list_objects = db2_list_objects,
    .list_relations = db2_list_relations,
    .limit = db2_limit,
    .type_for_arrow = db2_type,
    .lock = db2_lock,
};
