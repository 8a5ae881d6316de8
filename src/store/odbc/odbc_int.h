/*
 * store/odbc/odbc_int.h - internals shared by the ODBC connector's files
 * (odbc_conn.c, odbc_fetch.c, odbc_load.c). Not for other subsystems.
 */
#ifndef PD_STORE_ODBC_INT_H
#define PD_STORE_ODBC_INT_H

#include "store/odbc/odbc.h"
#include "util/util.h"

#include <sql.h>
#include <sqlext.h>
#include <sqlucode.h>

#define PDI_ODBC_STMT_CACHE 32

typedef struct pdi_odbc_cached {
    char *sql;
    SQLHSTMT stmt;
    uint64_t used; /* LRU tick */
} pdi_odbc_cached;

struct pdi_odbc {
    SQLHDBC dbc;
    char *server;   /* for messages: driver, host:port/db (no secret) */
    char *password; /* scrubbed from driver messages; wiped on close */
    char *dialect;
    char driver_name[128]; /* SQL_DRIVER_NAME */
    char dbms_name[128];   /* SQL_DBMS_NAME */
    bool gd_block;         /* SQLGetData works on block cursors (SQL_GD_BLOCK) */
    bool gd_any_column;    /* SQLGetData on bound columns / any order */
    bool print_sql;
    bool in_tx;
    const char *task;
    /* transactions as SQL text (NULL: the driver's autocommit switch and
     * SQLEndTran); static strings from the dialect */
    const char *tx_begin, *tx_commit, *tx_rollback;
    pdi_odbc_cached cache[PDI_ODBC_STMT_CACHE];
    uint64_t tick;
};

/* The process-wide environment handle (ODBC 3), created on first use. */
SQLHENV pdi_odbc_env(void);

/* Record a failure with every diagnostic record of handle h:
 * "<what> (<server>[, task T]): [SQLSTATE] message; ...". The code is
 * PD_ERR_IO for connection-class SQLSTATEs (08xxx, HYT00/01), else `code`.
 * The password (when known) is replaced by *** in driver messages. */
int pdi_odbc_fail(pdi_odbc *c, int code, SQLSMALLINT htype, SQLHANDLE h, const char *fmt, ...)
    PD_PRINTF(5, 6);
/* First SQLSTATE of handle h into state[6] ("" if none). */
void pdi_odbc_first_state(SQLSMALLINT htype, SQLHANDLE h, char state[6]);
/* Diagnostic records of h as "[S] msg; [S] msg" (new string, scrubbed of
 * `secret` when non-NULL). */
char *pdi_odbc_diag_text(SQLSMALLINT htype, SQLHANDLE h, const char *secret);

static inline bool pdi_odbc_ok(SQLRETURN r)
{
    return r == SQL_SUCCESS || r == SQL_SUCCESS_WITH_INFO;
}

/* UTF-8 -> UTF-16 (SQLWCHAR) into a new NUL-terminated buffer; *units gets
 * the length without the terminator (may be NULL). NULL on invalid UTF-8
 * (PD_ERR_INVALID naming the byte offset) or OOM. */
SQLWCHAR *pdi_odbc_wide(const char *s, size_t len, size_t *units);
/* Encode UTF-8 [s, s+len) as UTF-16 into dst (room for cap units); returns
 * the number of units, or -1 on invalid UTF-8, or -2 if it does not fit. */
long pdi_odbc_utf8_to_16(const char *s, size_t len, SQLWCHAR *dst, size_t cap);
/* Append UTF-16 [w, w+n) to b as UTF-8 (unpaired surrogates -> U+FFFD). */
int pdi_odbc_utf16_to_8(pd_buf *b, const SQLWCHAR *w, size_t n);
/* UTF-16 length of a NUL-terminated SQLWCHAR string. */
size_t pdi_odbc_wlen(const SQLWCHAR *w);

/* Allocate a statement handle (error recorded on failure). */
int pdi_odbc_stmt_new(pdi_odbc *c, SQLHSTMT *out);
/* A new statement *out with `sql` (as UTF-16) prepared (SQLPrepareW) or
 * executed directly (SQLExecDirectW); *r: what the driver returned, to be
 * judged by the caller, who reads the diagnostics from *out and frees it.
 * An error (no handle, invalid UTF-8, out of memory): *out is
 * SQL_NULL_HSTMT and the error is recorded. */
int pdi_odbc_stmt_sql(pdi_odbc *c, const char *sql, bool prepare, SQLHSTMT *out, SQLRETURN *r);
/* Log the statement at info level when print_sql is on. */
void pdi_odbc_log_sql(pdi_odbc *c, const char *sql);

#endif
