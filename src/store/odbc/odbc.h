/*
 * store/odbc/odbc.h - the ODBC connector (unixODBC), internal.
 *
 * Reaches Microsoft SQL Server, IBM DB2, Snowflake, and any database with an
 * ODBC driver ("unknown dialects", run with the Postgres-like dialect),
 * through the driver manager libodbc. It executes SQL text it is given and
 * never builds SQL itself (the INSERT of a load comes from the dialect).
 *
 *   URL -> connection string   pdi_odbc_url_parse (seed URLs as written,
 *                              odbc://?dsn=NAME, <dialect>+odbc://...?driver=)
 *   connect                    pdi_odbc_connect: errors name the driver, the
 *                              host:port and, for a driver that is not
 *                              installed, the odbcinst.ini found, the drivers
 *                              it lists and how to install the missing one
 *   exec / query / params      text in and out as UTF-8 (the W entry points of
 *                              ODBC are used, so non-ASCII text never depends
 *                              on the process locale)
 *   read_arrow                 block cursors (SQL_ATTR_ROW_ARRAY_SIZE,
 *                              column-wise binding) straight into Arrow arrays
 *   load_arrow                 parameter arrays (SQL_ATTR_PARAMSET_SIZE,
 *                              column-wise), one transaction
 *
 * Errors carry every ODBC diagnostic record as "[SQLSTATE] message", the
 * server (driver, host:port/database) and the task when one is set. The
 * password never appears in errors or logs: connection strings are only
 * shown masked (PWD=***), and driver messages are scrubbed of the password.
 *
 * Thread safety: one pdi_odbc is used by one thread at a time; different
 * connections may be used from different threads at once.
 */
#ifndef PD_STORE_ODBC_H
#define PD_STORE_ODBC_H

#include "pipedag/arrow.h"
#include "util/util.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ URLs */

/* What a URL says about where to connect. Every string is owned. */
typedef struct pdi_odbc_target {
    char *scheme;      /* as written, lower-cased: "mssql+pyodbc", "cockroachdb+odbc" */
    char *dialect;     /* "mssql", "db2", "snowflake", "postgresql", "sqlite",
                          "duckdb", or the unknown base scheme ("cockroachdb") */
    bool known;        /* dialect is one pipedag-c knows (false: Postgres-like) */
    char *driver;      /* DRIVER= value (name or path), NULL when a DSN is used */
    char *dsn;         /* DSN= value, NULL when a driver is used */
    char *host, *port; /* NULL when absent */
    char *database;    /* NULL when absent */
    char *user;        /* NULL when absent */
    char *password;    /* secret; NULL when absent */
    char *connstr;     /* the full ODBC connection string (secret inside) */
    char *masked;      /* the same with the password replaced by *** */
} pdi_odbc_target;

/* Parse a URL into a target:
 *   mssql+pyodbc://u:p@host:1433/db?driver=ODBC+Driver+18+for+SQL+Server&encrypt=no
 *     -> DRIVER={ODBC Driver 18 for SQL Server};SERVER=host,1433;DATABASE=db;
 *        UID=u;PWD={p};encrypt=no   (FreeTDS: SERVER=host;PORT=1433)
 *   db2+ibm_db://u:p@host:50000/testdb
 *     -> DRIVER={IBM DB2 ODBC DRIVER};DATABASE=testdb;HOSTNAME=host;PORT=50000;
 *        PROTOCOL=TCPIP;UID=u;PWD={p}
 *   snowflake://u:p@account/db[/schema]?warehouse=w&role=r
 *     -> DRIVER={SnowflakeDSIIDriver};SERVER=account.snowflakecomputing.com;
 *        ACCOUNT=account;DATABASE=db;[SCHEMA=schema;]UID=u;PWD={p};warehouse=w;role=r
 *   odbc://[u:p@]/?dsn=NAME                      -> DSN=NAME;[UID=u;PWD={p}]
 *   <dialect>+odbc://u:p@host:port/db?driver=X   -> DRIVER={X};SERVER=host;PORT=port;
 *                                                   DATABASE=db;UID=u;PWD={p}
 *   sqlite+odbc:///rel/file.db, sqlite+odbc:////abs/file.db -> DATABASE=<path>
 * Query parameters other than driver/dsn/odbc_connect pass through as
 * connection attributes (key=value, value braced when it needs it);
 * odbc_connect=<percent-encoded connection string> is used as it is.
 * Percent-escapes are decoded everywhere and '+' means a space in query
 * values. Errors never show the password. */
int pdi_odbc_url_parse(const char *url, pdi_odbc_target *out);
void pdi_odbc_target_clear(pdi_odbc_target *t);
/* Is this URL one the ODBC connector serves? (mssql, db2/ibm_db_sa,
 * snowflake, odbc://, and any <x>+odbc://) */
bool pdi_odbc_url_is_odbc(const char *url);
/* Mask PWD=/Password= values of a connection string (new string). */
char *pdi_odbc_mask_connstr(const char *connstr);
/* Warn once per process and scheme that `dialect` is unknown and runs with
 * the Postgres-like dialect. Returns true the first time. */
bool pdi_odbc_warn_unknown_dialect(const char *dialect);

/* ----------------------------------------------------------- connections */

typedef struct pdi_odbc pdi_odbc;

/* Connect. The login timeout is $PD_ODBC_LOGIN_TIMEOUT seconds (default 15). */
int pdi_odbc_connect(const pdi_odbc_target *t, pdi_odbc **out);
/* Parse + connect. */
int pdi_odbc_connect_url(const char *url, pdi_odbc **out);
void pdi_odbc_close(pdi_odbc *c); /* NULL-safe; rolls back an open transaction */
/* "driver <name>, host:port/db" or "DSN <name>" (never a secret). */
const char *pdi_odbc_server(const pdi_odbc *c);
/* Name of the driver as the driver manager reports it (SQL_DRIVER_NAME),
 * and the DBMS name (SQL_DBMS_NAME: "PostgreSQL", "SQLite", ...). */
const char *pdi_odbc_driver_name(const pdi_odbc *c);
const char *pdi_odbc_dbms_name(const pdi_odbc *c);
/* Task named in error messages (borrowed; NULL to clear). */
void pdi_odbc_set_task(pdi_odbc *c, const char *task);
/* Log every statement at info level. */
void pdi_odbc_set_print_sql(pdi_odbc *c, bool on);
/* Raw handles (SQLHDBC), for tests and the lock manager. */
void *pdi_odbc_raw_dbc(pdi_odbc *c);

/* Execute SQL text (one statement, or a batch where the driver allows). */
int pdi_odbc_exec(pdi_odbc *c, const char *sql);
/* Rows as text (NULL = SQL NULL); a non-zero return of `row` stops and is
 * passed back. */
typedef int (*pdi_odbc_row_fn)(void *user,
                               int ncols,
                               const char *const *names,
                               const char *const *values);
/* Query with `nparams` positional ? parameters bound as text (NULL = SQL
 * NULL); `row` may be NULL for statements without results. Prepared
 * statements are cached by SQL text. */
int pdi_odbc_query(pdi_odbc *c,
                   const char *sql,
                   size_t nparams,
                   const char *const *params,
                   pdi_odbc_row_fn row,
                   void *user);
/* The result columns of `sql` without running it (prepared only): their
 * names and the type names the driver reports (SQL_DESC_TYPE_NAME). */
int pdi_odbc_describe(pdi_odbc *c, const char *sql, pd_strv *names, pd_strv *type_names);
/* First column of the first row (NULL if no row or SQL NULL). */
int pdi_odbc_query_value(pdi_odbc *c, const char *sql, char **out);

/* Drop every cached prepared statement (before a schema they may name goes
 * away: SQLite's DETACH). */
void pdi_odbc_forget_statements(pdi_odbc *c);
/* Run transactions as these SQL statements on an autocommit session instead
 * of switching autocommit off (SQLite through libsqliteodbc: its own
 * deferred BEGIN cannot be BEGIN IMMEDIATE, and ATTACH must run outside a
 * transaction). Static strings; NULL restores the default. */
void pdi_odbc_set_tx_sql(pdi_odbc *c, const char *begin, const char *commit, const char *rollback);

/* Transactions: autocommit is on outside begin/commit. */
int pdi_odbc_begin(pdi_odbc *c);
int pdi_odbc_commit(pdi_odbc *c);
int pdi_odbc_rollback(pdi_odbc *c);
bool pdi_odbc_in_transaction(const pdi_odbc *c);

/* ----------------------------------------------------------------- Arrow */

/* Options of a columnar read. */
typedef struct pdi_odbc_read_opts {
    int64_t batch_rows; /* rows per Arrow batch (<= 0: 65536) */
    int64_t rowset;     /* rows per SQLFetch (<= 0: chosen from the row width) */
    int64_t limit;      /* stop after this many rows (< 0: all) */
    /* DB2 reports unquoted names upper-cased: column names without a
     * lower-case letter are lower-cased (pipedag's normalisation). */
    bool lower_upper_names;
    /* Drivers that report declared column types only by name (SQLite
     * through libsqliteodbc: DECIMAL, UBIGINT, LARGEBLOB come as VARCHAR):
     * the Arrow format for a type name ("decimal(10,2)" with the reported
     * precision and scale appended), NULL or "" to keep the SQL type's
     * mapping. Formats the reader does not produce are read as the nearest
     * one that holds every value (int8 -> int16, uint32 -> int64, large
     * utf8/binary -> utf8/binary, date64 -> date32). */
    const char *(*type_by_name)(const char *type_name, char *buf, size_t cap);
    /* The Arrow format of result column i where formats[i] is not NULL
     * (i < nformats), read as type_by_name describes; before type_by_name. */
    const char *const *formats;
    size_t nformats;
} pdi_odbc_read_opts;
#define PDI_ODBC_READ_OPTS_INIT        \
    {                                  \
        0, 0, -1, false, NULL, NULL, 0 \
    }

/* Run a SELECT; its rows as an Arrow stream (one batch at a time, fetched
 * with block cursors; the statement stays open until the stream is
 * released, so the connection is busy until then). Type mapping (SQL type
 * from SQLDescribeCol, refined by the type name):
 *   BIT -> bool; TINYINT/SMALLINT -> int16; INTEGER -> int32; BIGINT -> int64;
 *   REAL -> float32; FLOAT/DOUBLE -> float64; DECIMAL/NUMERIC(p<=38,s) ->
 *   decimal128(p,s) (text transfer, exact), wider or unknown precision ->
 *   utf8 text of the exact value; CHAR/VARCHAR/LONGVARCHAR and the W forms ->
 *   utf8 (transferred as UTF-16); BINARY/VARBINARY/LONGVARBINARY -> binary;
 *   DATE -> date32; TIME -> time64[us]; TIMESTAMP -> timestamp[us];
 *   timestamptz/datetimeoffset/TIMESTAMP WITH TIME ZONE -> timestamp[us, UTC];
 *   GUID and anything else -> utf8 text.
 * Values longer than the bound width are fetched whole with SQLGetData
 * (SQLSetPos) when the driver can, else the query is read a row at a time
 * from the start; nothing is ever cut short silently. */
int pdi_odbc_read_arrow(pdi_odbc *c,
                        const char *sql,
                        const pdi_odbc_read_opts *opts,
                        struct ArrowArrayStream *out);

/* Load every batch of `in` through prepared INSERTs from the dialect:
 * `insert_one` has one tuple of ? (one per top-level column, schema order),
 * `insert_multi` (may be NULL) the same tuple `multi_rows` times
 * (VALUES (?, ..), (?, ..), ...). Rows go in chunks of `chunk_rows`
 * (<= 0: 4096) per SQLExecute: parameter arrays (SQL_ATTR_PARAMSET_SIZE)
 * of multi-row tuples, row-wise bound, and the remainder through
 * insert_one - so the server parses one statement per multi_rows rows and
 * the driver sends a chunk in one round trip where it batches (psqlODBC
 * BatchSize). Runs in one transaction (committed here) unless the caller
 * already opened one (then left open). The stream is consumed but not
 * released. Arrow types bound: bool, int8..64, uint8..32 (uint64 checked to
 * fit int64), float32/64, utf8/large utf8 (as UTF-16), binary/large
 * binary/fixed-size binary, decimal128 (as text), date32, date64,
 * time32/64, timestamp (any unit; with a zone: the UTC value),
 * dictionary-encoded utf8. Others: PD_ERR_UNSUPPORTED naming the column.
 * A failure names the rows of the failing parameter set and the SQLSTATE. */
int pdi_odbc_load_arrow(pdi_odbc *c,
                        const char *insert_one,
                        const char *insert_multi,
                        size_t multi_rows,
                        struct ArrowArrayStream *in,
                        int64_t chunk_rows,
                        int64_t *rows_out);

/* ---------------------------------------------------------------- scripts */

/* Split a script into what one SQLExecDirect runs: MSSQL -> the T-SQL
 * batches between lines holding only GO; `whole` (drivers that take several
 * statements at once, e.g. psqlODBC) -> the script as one piece; else the
 * statements between top-level `;` (quotes, comments and compound
 * BEGIN ... END / CASE ... END kept whole). Blank pieces are dropped. */
int pdi_odbc_split_script(const char *dialect, bool whole, const char *sql, pd_strv *out);

/* --------------------------------------------------- driver diagnostics */

/* Text listing the drivers the driver manager knows and the odbcinst.ini it
 * reads ("odbcinst.ini: /etc/odbcinst.ini; drivers: A, B"); new string. */
char *pdi_odbc_describe_drivers(void);
/* How to install the driver called `driver` (static text). */
const char *pdi_odbc_install_hint(const char *driver);

#endif
