/*
 * store/sqlite/sqlite_session.h - what a session of a SQLite table store
 * does the same way whether it reaches SQLite natively (sqlite.c) or
 * through ODBC (libsqliteodbc, store/odbc/odbc_sqlite.c): the set of schema
 * files ATTACHed to the session (the least recently used one a statement
 * does not need is detached first), creating and dropping a schema's file,
 * the catalog queries of one schema, copying a table, and the SCHEMA_SWAP
 * commit that renames <tx>.sqlite over <base>.sqlite. Each backend supplies
 * the few steps that touch its connection (pdi_sqlite_ops).
 */
#ifndef PD_STORE_SQLITE_SESSION_H
#define PD_STORE_SQLITE_SESSION_H

#include "store/backend.h"

#define PDI_SQLITE_MAX_ATT 16

/* The steps a backend runs on its connection for the shared code. */
typedef struct pdi_sqlite_ops {
    const char *who; /* prefix of messages: "sqlite", "sqlite (odbc)" */
    /* Run `sql` (pdi_sql_sqlite_attach()) with the parameters file, schema. */
    int (*attach)(pdi_conn *c, const char *sql, const char *file, const char *schema);
    /* Drop the prepared statements (they may name the schema), then run
     * `sql`, the DETACH of `schema`. */
    int (*detach)(pdi_conn *c, const char *sql, const char *schema);
    /* The per-file settings (a script of PRAGMAs); best effort. */
    void (*pragmas)(pdi_conn *c, const char *script);
    /* Execute SQL text; run a query with text parameters (row may be NULL). */
    int (*exec)(pdi_conn *c, const char *sql);
    int (*query)(pdi_conn *c,
                 const char *sql,
                 size_t np,
                 const char *const *params,
                 pd_row_fn row,
                 void *user);
} pdi_sqlite_ops;

typedef struct pdi_sqlite_att {
    char *name;
    uint64_t last_use;
} pdi_sqlite_att;

/* The SQLite side of a connection (in pdi_sqlite_conn). */
typedef struct pdi_sqlite_session {
    const pdi_sqlite_ops *ops;
    pdi_conn *conn;  /* the connection (what ops get) */
    const char *dir; /* the store directory (borrowed) */
    pdi_sqlite_att att[PDI_SQLITE_MAX_ATT];
    int natt, max_att;
    uint64_t tick;
} pdi_sqlite_session;

/* The start of a backend's connection: a pdi_conn with its session. The
 * functions below take the pdi_conn of such a connection; those with the
 * signature of a store/backend.h operation serve as that operation. */
typedef struct pdi_sqlite_conn {
    pdi_conn base;
    pdi_sqlite_session s;
} pdi_sqlite_conn;

/* Set up c's session (nothing attached; at most max_att files, and never
 * more than PDI_SQLITE_MAX_ATT). */
void pdi_sqlite_session_init(pdi_sqlite_conn *c,
                             const pdi_sqlite_ops *ops,
                             const char *dir,
                             int max_att);
/* Forget the attached names (the connection is closing). */
void pdi_sqlite_session_clear(pdi_sqlite_conn *c);

/* Attach `schema` unless attached; its file must exist unless `create`
 * (PD_ERR_NOT_FOUND, no error message, when it does not). Never evicts
 * the names keep[0..nkeep). */
int pdi_sqlite_attach(
    pdi_conn *c, const char *schema, bool create, const char *const *keep, size_t nkeep);
/* Attach every existing schema file `sql` names. */
int pdi_sqlite_attach_for(pdi_conn *c, const char *sql);
/* Detach `schema` if attached (forget_schema). */
int pdi_sqlite_forget(pdi_conn *c, const char *schema);

/* The operations of store/backend.h. */
int pdi_sqlite_create_schema(pdi_conn *c, const char *schema);
int pdi_sqlite_drop_schema(pdi_conn *c, const char *schema);
int pdi_sqlite_list_objects(pdi_conn *c, const char *schema, pd_strv *out);
int pdi_sqlite_table_exists(pdi_conn *c, const char *schema, const char *name, bool *exists);
int pdi_sqlite_list_columns(pdi_conn *c, const char *schema, const char *table, pd_strv *out);
int pdi_sqlite_list_indexes(
    pdi_conn *c, const char *schema, const char *table, pd_row_fn row, void *user);
int pdi_sqlite_copy_table(pdi_conn *c,
                          const char *from_schema,
                          const char *from_name,
                          const char *to_schema,
                          const char *to_name);
/* SCHEMA_SWAP: <tx>.sqlite renamed over <base>.sqlite (crash points
 * commit_before_rename and commit_after_rename around the rename). */
int pdi_sqlite_publish(pdi_conn *c, const pdi_stage_names *st);
/* Whether that rename happened: the transaction file is gone. */
int pdi_sqlite_published(const char *dir, const pdi_stage_names *st, bool *done);

/* The members of a SQLite backend's pdi_backend table that every SQLite
 * backend shares: what it can do, why READ_VIEWS is refused, and the
 * operations above. */
#define PDI_SQLITE_BACKEND_COMMON                                                               \
    .caps = PDI_CAP_SCHEMA_SWAP | PDI_CAP_INDEXES,                                              \
    .no_read_views_reason = "SQLite views cannot read tables of other schemas (each schema is " \
                            "its own database file)",                                           \
    .create_schema = pdi_sqlite_create_schema, .drop_schema = pdi_sqlite_drop_schema,           \
    .list_objects = pdi_sqlite_list_objects, .table_exists = pdi_sqlite_table_exists,           \
    .list_columns = pdi_sqlite_list_columns, .list_indexes = pdi_sqlite_list_indexes,           \
    .forget_schema = pdi_sqlite_forget, .copy_table = pdi_sqlite_copy_table,                    \
    .publish = pdi_sqlite_publish

#endif
