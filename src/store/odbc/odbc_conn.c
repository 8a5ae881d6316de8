/*
 * store/odbc/odbc_conn.c - ODBC connections: the environment, connecting
 * with errors that say what is wrong (driver not installed, DSN not
 * defined, server unreachable, login failed), diagnostics with SQLSTATEs,
 * UTF-8 <-> UTF-16, exec, text queries with cached prepared statements,
 * transactions.
 */
#include "store/odbc/odbc_int.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ environment */

static SQLHENV g_env = SQL_NULL_HENV;
static pthread_once_t g_env_once = PTHREAD_ONCE_INIT;

static void env_init(void)
{
    SQLHENV e = SQL_NULL_HENV;
    if (!pdi_odbc_ok(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &e)))
        return;
    if (!pdi_odbc_ok(SQLSetEnvAttr(e, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0))) {
        SQLFreeHandle(SQL_HANDLE_ENV, e);
        return;
    }
    g_env = e;
}

SQLHENV pdi_odbc_env(void)
{
    pthread_once(&g_env_once, env_init);
    return g_env;
}

/* ------------------------------------------------------------- UTF-16 */

long pdi_odbc_utf8_to_16(const char *s, size_t len, SQLWCHAR *dst, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    size_t o = 0;
    while (p < end) {
        uint32_t cp;
        unsigned c = *p;
        if (c < 0x80) {
            if (o >= cap)
                return -2;
            dst[o++] = (SQLWCHAR)c;
            p++;
            continue;
        }
        int n;
        if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return -1;
        }
        if (end - p <= n)
            return -1;
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return -1;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return -1;
        p += n + 1;
        if (cp >= 0x10000) {
            if (o + 2 > cap)
                return -2;
            cp -= 0x10000;
            dst[o++] = (SQLWCHAR)(0xD800 | (cp >> 10));
            dst[o++] = (SQLWCHAR)(0xDC00 | (cp & 0x3FF));
        } else {
            if (o >= cap)
                return -2;
            dst[o++] = (SQLWCHAR)cp;
        }
    }
    return (long)o;
}

SQLWCHAR *pdi_odbc_wide(const char *s, size_t len, size_t *units)
{
    size_t cap;
    if (!pdi_add_size(len, 1, &cap))
        return NULL;
    SQLWCHAR *w = pdi_calloc(cap, sizeof *w);
    if (!w)
        return NULL;
    long n = pdi_odbc_utf8_to_16(s, len, w, len);
    if (n < 0) {
        free(w);
        pd_set_error(PD_ERR_INVALID, "text is not valid UTF-8");
        return NULL;
    }
    w[n] = 0;
    if (units)
        *units = (size_t)n;
    return w;
}

int pdi_odbc_utf16_to_8(pd_buf *b, const SQLWCHAR *w, size_t n)
{
    if (pdi_buf_reserve(b, n * 3 + 1))
        return PD_ERR_NOMEM;
    unsigned char *o = (unsigned char *)b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = w[i];
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < n && w[i + 1] >= 0xDC00 && w[i + 1] <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (w[i + 1] - 0xDC00u);
            i++;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;
        }
        if (cp < 0x80) {
            *o++ = (unsigned char)cp;
        } else if (cp < 0x800) {
            *o++ = (unsigned char)(0xC0 | (cp >> 6));
            *o++ = (unsigned char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            *o++ = (unsigned char)(0xE0 | (cp >> 12));
            *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            *o++ = (unsigned char)(0x80 | (cp & 0x3F));
        } else {
            *o++ = (unsigned char)(0xF0 | (cp >> 18));
            *o++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            *o++ = (unsigned char)(0x80 | (cp & 0x3F));
        }
    }
    b->len = (size_t)((char *)o - b->data);
    b->data[b->len] = '\0';
    return PD_OK;
}

size_t pdi_odbc_wlen(const SQLWCHAR *w)
{
    size_t n = 0;
    while (w[n])
        n++;
    return n;
}

/* ------------------------------------------------------------ diagnostics */

static void scrub(char *s, const char *secret)
{
    if (!s || !secret || strlen(secret) < 1)
        return;
    size_t n = strlen(secret);
    char *p;
    while ((p = strstr(s, secret)) != NULL) {
        memset(p, '*', n);
    }
}

char *pdi_odbc_diag_text(SQLSMALLINT htype, SQLHANDLE h, const char *secret)
{
    pd_buf b = PD_BUF_INIT;
    for (SQLSMALLINT i = 1; i <= 20; i++) {
        SQLWCHAR state[6], msg[2048];
        SQLINTEGER native = 0;
        SQLSMALLINT len = 0;
        SQLRETURN r = SQLGetDiagRecW(htype, h, i, state, &native, msg,
                                     (SQLSMALLINT)(sizeof msg / sizeof msg[0]), &len);
        if (!pdi_odbc_ok(r))
            break;
        if (b.len)
            pdi_buf_puts(&b, "; ");
        pdi_buf_putc(&b, '[');
        pdi_odbc_utf16_to_8(&b, state, 5);
        pdi_buf_puts(&b, "] ");
        size_t ml = pdi_odbc_wlen(msg);
        /* drop trailing newlines drivers like to add */
        while (ml > 0 && (msg[ml - 1] == '\n' || msg[ml - 1] == '\r' || msg[ml - 1] == ' ' ||
                          msg[ml - 1] == ';'))
            ml--;
        size_t mark = b.len;
        pdi_odbc_utf16_to_8(&b, msg, ml);
        /* drivers repeat records: keep one of each */
        if (b.data && mark >= 9) {
            const char *rec = b.data + mark - 8; /* "[SSSSS] " */
            size_t rl = b.len - (mark - 8);
            char *prev = pdi_strndup(rec, rl);
            b.data[mark - 8] = '\0';
            bool dup = prev && strstr(b.data, prev) != NULL;
            b.data[mark - 8] = '[';
            if (dup) {
                b.len = mark - 8 - 2; /* drop "; [S] msg" */
                b.data[b.len] = '\0';
            }
            free(prev);
        }
    }
    if (!b.data)
        return pdi_strdup("(no diagnostic record)");
    char *s = pdi_buf_detach(&b);
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    scrub(s, secret);
    return s;
}

void pdi_odbc_first_state(SQLSMALLINT htype, SQLHANDLE h, char state[6])
{
    SQLCHAR st[6] = {0};
    SQLINTEGER native = 0;
    SQLCHAR msg[8];
    SQLSMALLINT len = 0;
    state[0] = '\0';
    SQLRETURN r = SQLGetDiagRec(htype, h, 1, st, &native, msg, sizeof msg, &len);
    if (pdi_odbc_ok(r)) {
        memcpy(state, st, 5);
        state[5] = '\0';
    }
}

static bool state_is_connection(const char *st)
{
    return strncmp(st, "08", 2) == 0 || strcmp(st, "HYT00") == 0 || strcmp(st, "HYT01") == 0;
}

int pdi_odbc_fail(pdi_odbc *c, int code, SQLSMALLINT htype, SQLHANDLE h, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char st[6] = "";
    if (h)
        pdi_odbc_first_state(htype, h, st);
    char *diag = h ? pdi_odbc_diag_text(htype, h, c ? c->password : NULL) : NULL;
    if (state_is_connection(st))
        code = PD_ERR_IO;
    if (c && c->task)
        pd_set_error(code, "%s (%s, task %s): %s", what, c->server, c->task,
                     diag ? diag : "(no diagnostic record)");
    else if (c)
        pd_set_error(code, "%s (%s): %s", what, c->server, diag ? diag : "(no diagnostic record)");
    else
        pd_set_error(code, "%s: %s", what, diag ? diag : "(no diagnostic record)");
    free(diag);
    return code;
}

/* ------------------------------------------------------ driver listing */

typedef char *(*file_fn)(char *);

/* The two catalog functions of the driver manager, SQLDrivers and
 * SQLDataSources, have one shape: a name, a second string, and a
 * direction. */
typedef SQLRETURN (*catalog_fn)(SQLHENV,
                                SQLUSMALLINT,
                                SQLCHAR *,
                                SQLSMALLINT,
                                SQLSMALLINT *,
                                SQLCHAR *,
                                SQLSMALLINT,
                                SQLSMALLINT *);

/* Append `first` and then every name the catalog function lists, quoted
 * and comma-separated, or `none` when it lists nothing. */
static void list_catalog(pd_buf *b, catalog_fn fn, const char *first, const char *none)
{
    SQLHENV env = pdi_odbc_env();
    size_t n = 0;
    if (env) {
        SQLCHAR name[512], more[2048];
        SQLSMALLINT nl = 0, ml = 0;
        SQLUSMALLINT dir = SQL_FETCH_FIRST;
        while (pdi_odbc_ok(fn(env, dir, name, sizeof name, &nl, more, sizeof more, &ml))) {
            pdi_buf_puts(b, n == 0 ? first : ", ");
            pdi_buf_printf(b, "\"%s\"", (const char *)name);
            n++;
            dir = SQL_FETCH_NEXT;
        }
    }
    if (n == 0)
        pdi_buf_puts(b, none);
}

char *pdi_odbc_describe_drivers(void)
{
    pd_buf b = PD_BUF_INIT;
    /* the odbcinst.ini the driver manager reads (unixODBC's own functions,
     * looked up at run time: libodbc already depends on libodbcinst) */
    void *lib = dlopen("libodbcinst.so.2", RTLD_NOW | RTLD_LOCAL);
    if (lib) {
        file_fn fpath = (file_fn)(uintptr_t)dlsym(lib, "odbcinst_system_file_path");
        file_fn fname = (file_fn)(uintptr_t)dlsym(lib, "odbcinst_system_file_name");
        if (fpath && fname) {
            char p[4096] = "", n[4096] = "";
            const char *dir = fpath(p);
            const char *file = fname(n);
            pdi_buf_printf(&b, "The driver manager reads %s/%s", dir ? dir : "",
                           file ? file : "odbcinst.ini");
        }
        dlclose(lib);
    }
    if (!b.len)
        pdi_buf_puts(&b, "The driver manager's odbcinst.ini (see odbcinst -j)");
    list_catalog(&b, SQLDrivers, ", which lists the drivers: ", ", which lists no drivers");
    return b.oom ? (pdi_buf_free(&b), NULL) : pdi_buf_detach(&b);
}

static char *describe_dsns(void)
{
    pd_buf b = PD_BUF_INIT;
    list_catalog(&b, SQLDataSources, "data sources defined: ",
                 "no data source is defined (odbc.ini, ~/.odbc.ini; see odbcinst -j)");
    return b.oom ? (pdi_buf_free(&b), NULL) : pdi_buf_detach(&b);
}

/* ----------------------------------------------------------- connecting */

static char *describe_server(const pdi_odbc_target *t)
{
    pd_buf b = PD_BUF_INIT;
    if (t->dsn)
        pdi_buf_printf(&b, "%s via DSN \"%s\"", t->dialect, t->dsn);
    else
        pdi_buf_printf(&b, "%s via ODBC driver \"%s\"", t->dialect, t->driver ? t->driver : "?");
    if (t->host || t->database) {
        pdi_buf_puts(&b, " at ");
        if (t->host)
            pdi_buf_printf(&b, "%s%s%s", t->host, t->port ? ":" : "", t->port ? t->port : "");
        if (t->database)
            pdi_buf_printf(&b, t->host ? "/%s" : "%s", t->database);
    }
    return b.oom ? (pdi_buf_free(&b), NULL) : pdi_buf_detach(&b);
}

static void get_info_str(SQLHDBC dbc, SQLUSMALLINT what, char *out, size_t cap)
{
    SQLSMALLINT len = 0;
    out[0] = '\0';
    if (!pdi_odbc_ok(SQLGetInfo(dbc, what, out, (SQLSMALLINT)cap, &len)))
        out[0] = '\0';
}

int pdi_odbc_connect(const pdi_odbc_target *t, pdi_odbc **out)
{
    *out = NULL;
    SQLHENV env = pdi_odbc_env();
    if (!env)
        return pd_set_error(PD_ERR, "ODBC: the driver manager (unixODBC) could not allocate an "
                                    "environment handle");
    pdi_odbc *c = pdi_calloc(1, sizeof *c);
    if (!c)
        return PD_ERR_NOMEM;
    c->server = describe_server(t);
    c->password = pdi_strdup(t->password);
    c->dialect = pdi_strdup(t->dialect);
    if (!c->server || !c->dialect || (t->password && !c->password)) {
        pdi_odbc_close(c);
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    }
    if (!pdi_odbc_ok(SQLAllocHandle(SQL_HANDLE_DBC, env, &c->dbc))) {
        c->dbc = SQL_NULL_HDBC;
        pdi_odbc_close(c);
        return pdi_odbc_fail(NULL, PD_ERR, SQL_HANDLE_ENV, env,
                             "ODBC: cannot allocate a connection handle");
    }
    long timeout = 15;
    const char *te = getenv("PD_ODBC_LOGIN_TIMEOUT");
    if (te && *te)
        timeout = strtol(te, NULL, 10);
    SQLSetConnectAttr(c->dbc, SQL_ATTR_LOGIN_TIMEOUT, (SQLPOINTER)(intptr_t)timeout, 0);

    size_t wl = 0;
    SQLWCHAR *wcs = pdi_odbc_wide(t->connstr, strlen(t->connstr), &wl);
    if (!wcs) {
        pdi_odbc_close(c);
        return pd_error_prefix("ODBC connection string %s", t->masked);
    }
    SQLWCHAR outbuf[1024];
    SQLSMALLINT outlen = 0;
    SQLRETURN r = SQLDriverConnectW(c->dbc, NULL, wcs, (SQLSMALLINT)wl, outbuf,
                                    (SQLSMALLINT)(sizeof outbuf / sizeof outbuf[0]), &outlen,
                                    SQL_DRIVER_NOPROMPT);
    memset(wcs, 0, wl * sizeof *wcs);
    memset(outbuf, 0, sizeof outbuf);
    free(wcs);
    if (!pdi_odbc_ok(r)) {
        char st[6];
        pdi_odbc_first_state(SQL_HANDLE_DBC, c->dbc, st);
        char *diag = pdi_odbc_diag_text(SQL_HANDLE_DBC, c->dbc, t->password);
        int rc;
        if (strcmp(st, "IM002") == 0 && t->dsn) {
            char *dsns = describe_dsns();
            rc = pd_set_error(PD_ERR_CONFIG,
                              "ODBC data source \"%s\" is not defined (%s); %s; connection "
                              "string %s",
                              t->dsn, diag, dsns ? dsns : "", t->masked);
            free(dsns);
        } else if (strcmp(st, "IM002") == 0 || strcmp(st, "IM003") == 0 ||
                   (strcmp(st, "01000") == 0 && diag && strstr(diag, "Can't open lib"))) {
            /* unixODBC takes a name it does not know for a library path:
             * "[01000] Can't open lib 'NAME' : file not found" */
            char *drivers = pdi_odbc_describe_drivers();
            bool path = t->driver && strchr(t->driver, '/');
            rc = pd_set_error(PD_ERR_CONFIG,
                              "ODBC driver \"%s\" for %s is %s (%s). To fix: %s. %s; "
                              "connection string %s",
                              t->driver ? t->driver : "?", t->dialect,
                              path ? "not a loadable driver library" : "not installed", diag,
                              pdi_odbc_install_hint(t->driver), drivers ? drivers : "", t->masked);
            free(drivers);
        } else {
            pd_buf m = PD_BUF_INIT;
            pdi_buf_printf(&m, "cannot connect to %s", c->server);
            pdi_buf_printf(&m, ": %s; connection string %s", diag, t->masked);
            rc = pd_set_error(state_is_connection(st) ? PD_ERR_IO : PD_ERR_SQL, "%s",
                              m.data ? m.data : "cannot connect");
            pdi_buf_free(&m);
        }
        free(diag);
        pdi_odbc_close(c);
        return rc;
    }
    get_info_str(c->dbc, SQL_DRIVER_NAME, c->driver_name, sizeof c->driver_name);
    get_info_str(c->dbc, SQL_DBMS_NAME, c->dbms_name, sizeof c->dbms_name);
    SQLUINTEGER gd = 0;
    if (pdi_odbc_ok(SQLGetInfo(c->dbc, SQL_GETDATA_EXTENSIONS, &gd, sizeof gd, NULL))) {
        c->gd_block = (gd & SQL_GD_BLOCK) != 0;
        c->gd_any_column = (gd & SQL_GD_ANY_COLUMN) != 0;
    }
    *out = c;
    return PD_OK;
}

int pdi_odbc_connect_url(const char *url, pdi_odbc **out)
{
    pdi_odbc_target t;
    *out = NULL;
    int rc = pdi_odbc_url_parse(url, &t);
    if (rc)
        return rc;
    rc = pdi_odbc_connect(&t, out);
    pdi_odbc_target_clear(&t);
    return rc;
}

void pdi_odbc_close(pdi_odbc *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < PDI_ODBC_STMT_CACHE; i++) {
        if (c->cache[i].stmt)
            SQLFreeHandle(SQL_HANDLE_STMT, c->cache[i].stmt);
        free(c->cache[i].sql);
    }
    if (c->dbc) {
        if (c->in_tx)
            SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK);
        SQLDisconnect(c->dbc);
        SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
    }
    if (c->password) {
        memset(c->password, 0, strlen(c->password));
        free(c->password);
    }
    free(c->server);
    free(c->dialect);
    free(c);
}

const char *pdi_odbc_server(const pdi_odbc *c)
{
    return c->server;
}

const char *pdi_odbc_driver_name(const pdi_odbc *c)
{
    return c->driver_name;
}

const char *pdi_odbc_dbms_name(const pdi_odbc *c)
{
    return c->dbms_name;
}

void pdi_odbc_set_task(pdi_odbc *c, const char *task)
{
    c->task = task;
}

void pdi_odbc_set_print_sql(pdi_odbc *c, bool on)
{
    c->print_sql = on;
}

void *pdi_odbc_raw_dbc(pdi_odbc *c)
{
    return c->dbc;
}

void pdi_odbc_log_sql(pdi_odbc *c, const char *sql)
{
    if (c->print_sql)
        pdi_log(PD_LOG_INFO, "SQL (%s): %s", c->server, sql);
}

int pdi_odbc_stmt_new(pdi_odbc *c, SQLHSTMT *out)
{
    *out = SQL_NULL_HSTMT;
    if (!pdi_odbc_ok(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, out))) {
        *out = SQL_NULL_HSTMT;
        return pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_DBC, c->dbc,
                             "ODBC: cannot allocate a statement");
    }
    return PD_OK;
}

int pdi_odbc_stmt_sql(pdi_odbc *c, const char *sql, bool prepare, SQLHSTMT *out, SQLRETURN *r)
{
    int rc = pdi_odbc_stmt_new(c, out);
    if (rc)
        return rc;
    size_t wl = 0;
    SQLWCHAR *w = pdi_odbc_wide(sql, strlen(sql), &wl);
    if (!w) {
        SQLFreeHandle(SQL_HANDLE_STMT, *out);
        *out = SQL_NULL_HSTMT;
        return pd_error_prefix("SQL (%s)", c->server);
    }
    *r = prepare ? SQLPrepareW(*out, w, (SQLINTEGER)wl) : SQLExecDirectW(*out, w, (SQLINTEGER)wl);
    free(w);
    return PD_OK;
}

/* ------------------------------------------------------------------ exec */

static int short_sql(const char *sql, char *buf, size_t cap)
{
    size_t n = strlen(sql);
    if (n < cap) {
        memcpy(buf, sql, n + 1);
    } else {
        memcpy(buf, sql, cap - 4);
        memcpy(buf + cap - 4, "...", 4);
    }
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    return 0;
}

int pdi_odbc_exec(pdi_odbc *c, const char *sql)
{
    pdi_odbc_log_sql(c, sql);
    SQLHSTMT st = SQL_NULL_HSTMT;
    SQLRETURN r = SQL_ERROR;
    int rc = pdi_odbc_stmt_sql(c, sql, false, &st, &r);
    if (rc)
        return rc;
    for (;;) {
        if (r != SQL_SUCCESS && r != SQL_SUCCESS_WITH_INFO && r != SQL_NO_DATA) {
            char s[200];
            short_sql(sql, s, sizeof s);
            rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st, "SQL failed: %s", s);
            break;
        }
        r = SQLMoreResults(st);
        if (r == SQL_NO_DATA)
            break;
    }
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    return rc;
}

/* ------------------------------------------------------------ text rows */

/* Cached prepared statement for `sql` (prepared on first use). */
static int prepared(pdi_odbc *c, const char *sql, SQLHSTMT *out)
{
    size_t victim = 0;
    for (size_t i = 0; i < PDI_ODBC_STMT_CACHE; i++) {
        if (c->cache[i].sql && strcmp(c->cache[i].sql, sql) == 0) {
            c->cache[i].used = ++c->tick;
            *out = c->cache[i].stmt;
            return PD_OK;
        }
        if (c->cache[i].used < c->cache[victim].used)
            victim = i;
    }
    for (size_t i = 0; i < PDI_ODBC_STMT_CACHE; i++)
        if (!c->cache[i].sql) {
            victim = i;
            break;
        }
    SQLHSTMT st = SQL_NULL_HSTMT;
    SQLRETURN r = SQL_ERROR;
    int rc = pdi_odbc_stmt_sql(c, sql, true, &st, &r);
    if (rc)
        return rc;
    if (!pdi_odbc_ok(r)) {
        char s[200];
        short_sql(sql, s, sizeof s);
        rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st, "SQL prepare failed: %s", s);
        SQLFreeHandle(SQL_HANDLE_STMT, st);
        return rc;
    }
    char *copy = pdi_strdup(sql);
    if (!copy) {
        SQLFreeHandle(SQL_HANDLE_STMT, st);
        return PD_ERR_NOMEM;
    }
    if (c->cache[victim].stmt)
        SQLFreeHandle(SQL_HANDLE_STMT, c->cache[victim].stmt);
    free(c->cache[victim].sql);
    c->cache[victim].sql = copy;
    c->cache[victim].stmt = st;
    c->cache[victim].used = ++c->tick;
    *out = st;
    return PD_OK;
}

static void forget_prepared(pdi_odbc *c, SQLHSTMT st)
{
    for (size_t i = 0; i < PDI_ODBC_STMT_CACHE; i++)
        if (c->cache[i].stmt == st) {
            SQLFreeHandle(SQL_HANDLE_STMT, st);
            free(c->cache[i].sql);
            memset(&c->cache[i], 0, sizeof c->cache[i]);
        }
}

void pdi_odbc_forget_statements(pdi_odbc *c)
{
    for (size_t i = 0; i < PDI_ODBC_STMT_CACHE; i++)
        if (c->cache[i].stmt)
            forget_prepared(c, c->cache[i].stmt);
}

/* Column value of the current row as UTF-8 text appended to b; *is_null.
 * The pieces of a long value are joined as UTF-16 first, so a surrogate
 * pair split between two pieces stays whole. */
static int get_text(pdi_odbc *c, SQLHSTMT st, SQLUSMALLINT col, pd_buf *b, bool *is_null)
{
    SQLWCHAR chunk[2048];
    pd_buf wide = PD_BUF_INIT;
    int rc = PD_OK;
    *is_null = false;
    for (;;) {
        SQLLEN ind = 0;
        SQLRETURN r = SQLGetData(st, col, SQL_C_WCHAR, chunk, sizeof chunk, &ind);
        if (r == SQL_NO_DATA)
            break;
        if (!pdi_odbc_ok(r)) {
            rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st, "ODBC: reading column %u failed",
                               (unsigned)col);
            break;
        }
        if (ind == SQL_NULL_DATA) {
            *is_null = true;
            break;
        }
        size_t maxu = sizeof chunk / sizeof chunk[0] - 1;
        size_t got = (ind == SQL_NO_TOTAL || (size_t)ind / sizeof(SQLWCHAR) > maxu)
                         ? maxu
                         : (size_t)ind / sizeof(SQLWCHAR);
        if (pdi_buf_append(&wide, chunk, got * sizeof(SQLWCHAR))) {
            rc = PD_ERR_NOMEM;
            break;
        }
        if (r == SQL_SUCCESS || (ind != SQL_NO_TOTAL && (size_t)ind / sizeof(SQLWCHAR) <= maxu))
            break;
    }
    if (!rc && !*is_null &&
        pdi_odbc_utf16_to_8(b, (const SQLWCHAR *)(wide.data ? wide.data : ""),
                            wide.len / sizeof(SQLWCHAR)))
        rc = PD_ERR_NOMEM;
    pdi_buf_free(&wide);
    return rc;
}

static int emit_rows(pdi_odbc *c, SQLHSTMT st, pdi_odbc_row_fn row, void *user)
{
    SQLSMALLINT ncols = 0;
    if (!pdi_odbc_ok(SQLNumResultCols(st, &ncols)))
        return pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st, "ODBC: SQLNumResultCols");
    if (ncols <= 0 || !row)
        return PD_OK;
    int rc = PD_OK;
    char **names = pdi_calloc((size_t)ncols, sizeof *names);
    const char **vals = pdi_calloc((size_t)ncols, sizeof *vals);
    pd_buf *bufs = pdi_calloc((size_t)ncols, sizeof *bufs);
    if (!names || !vals || !bufs) {
        rc = PD_ERR_NOMEM;
        goto done;
    }
    for (SQLSMALLINT i = 0; i < ncols; i++) {
        SQLWCHAR nm[256];
        SQLSMALLINT nl = 0, type = 0, dd = 0, nul = 0;
        SQLULEN size = 0;
        if (!pdi_odbc_ok(SQLDescribeColW(st, (SQLUSMALLINT)(i + 1), nm, 256, &nl, &type, &size, &dd,
                                         &nul))) {
            rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st, "ODBC: SQLDescribeCol");
            goto done;
        }
        pd_buf nb = PD_BUF_INIT;
        if (pdi_odbc_utf16_to_8(&nb, nm, nl < 255 ? (size_t)nl : 255)) {
            rc = PD_ERR_NOMEM;
            goto done;
        }
        names[i] = pdi_buf_detach(&nb);
    }
    for (;;) {
        SQLRETURN r = SQLFetch(st);
        if (r == SQL_NO_DATA)
            break;
        if (!pdi_odbc_ok(r)) {
            rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st, "ODBC: fetching a row failed");
            break;
        }
        for (SQLSMALLINT i = 0; i < ncols && !rc; i++) {
            bool isnull;
            pdi_buf_clear(&bufs[i]);
            rc = get_text(c, st, (SQLUSMALLINT)(i + 1), &bufs[i], &isnull);
            if (!rc && !isnull && !bufs[i].data && pdi_buf_reserve(&bufs[i], 1))
                rc = PD_ERR_NOMEM;
            vals[i] = isnull ? NULL : bufs[i].data;
            if (vals[i] && bufs[i].len == 0)
                bufs[i].data[0] = '\0';
        }
        if (rc)
            break;
        rc = row(user, ncols, (const char *const *)names, vals);
        if (rc)
            break;
    }
done:
    if (names)
        for (SQLSMALLINT i = 0; i < ncols; i++)
            free(names[i]);
    if (bufs)
        for (SQLSMALLINT i = 0; i < ncols; i++)
            pdi_buf_free(&bufs[i]);
    free(names);
    free(vals);
    free(bufs);
    return rc;
}

int pdi_odbc_query(pdi_odbc *c,
                   const char *sql,
                   size_t nparams,
                   const char *const *params,
                   pdi_odbc_row_fn row,
                   void *user)
{
    pdi_odbc_log_sql(c, sql);
    int rc;
    if (nparams == 0) {
        SQLHSTMT st = SQL_NULL_HSTMT;
        SQLRETURN r = SQL_ERROR;
        rc = pdi_odbc_stmt_sql(c, sql, false, &st, &r);
        if (rc)
            return rc;
        if (r != SQL_SUCCESS && r != SQL_SUCCESS_WITH_INFO && r != SQL_NO_DATA) {
            char s[200];
            short_sql(sql, s, sizeof s);
            rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st, "SQL failed: %s", s);
        } else {
            rc = r == SQL_NO_DATA ? PD_OK : emit_rows(c, st, row, user);
        }
        SQLFreeHandle(SQL_HANDLE_STMT, st);
        return rc;
    }
    SQLHSTMT st = SQL_NULL_HSTMT;
    rc = prepared(c, sql, &st);
    if (rc)
        return rc;
    SQLWCHAR **wv = pdi_calloc(nparams, sizeof *wv);
    SQLLEN *ind = pdi_calloc(nparams, sizeof *ind);
    if (!wv || !ind) {
        free(wv);
        free(ind);
        return PD_ERR_NOMEM;
    }
    for (size_t i = 0; i < nparams && !rc; i++) {
        size_t wl = 0;
        if (!params[i]) {
            ind[i] = SQL_NULL_DATA;
            wv[i] = pdi_calloc(1, sizeof(SQLWCHAR));
        } else {
            wv[i] = pdi_odbc_wide(params[i], strlen(params[i]), &wl);
            ind[i] = (SQLLEN)(wl * sizeof(SQLWCHAR));
        }
        if (!wv[i]) {
            rc = pd_error_prefix("SQL parameter %zu (%s)", i + 1, c->server);
            break;
        }
        SQLRETURN r = SQLBindParameter(st, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_WCHAR,
                                       SQL_WVARCHAR, wl > 0 ? wl : 1, 0, wv[i],
                                       (SQLLEN)((wl + 1) * sizeof(SQLWCHAR)), &ind[i]);
        if (!pdi_odbc_ok(r))
            rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st,
                               "ODBC: binding parameter %zu failed", i + 1);
    }
    if (!rc) {
        SQLRETURN r = SQLExecute(st);
        if (r != SQL_SUCCESS && r != SQL_SUCCESS_WITH_INFO && r != SQL_NO_DATA) {
            char s[200];
            short_sql(sql, s, sizeof s);
            rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st, "SQL failed: %s", s);
            char state[6];
            pdi_odbc_first_state(SQL_HANDLE_STMT, st, state);
            if (state_is_connection(state))
                forget_prepared(c, st), st = SQL_NULL_HSTMT;
        } else if (r != SQL_NO_DATA) {
            rc = emit_rows(c, st, row, user);
        }
    }
    if (st) {
        SQLFreeStmt(st, SQL_CLOSE);
        SQLFreeStmt(st, SQL_RESET_PARAMS);
    }
    for (size_t i = 0; i < nparams; i++)
        free(wv[i]);
    free(wv);
    free(ind);
    return rc;
}

static int wide_attr(pd_buf *b, const SQLWCHAR *w, size_t units)
{
    return pdi_odbc_utf16_to_8(b, w, units > 255 ? 255 : units);
}

int pdi_odbc_describe(pdi_odbc *c, const char *sql, pd_strv *names, pd_strv *type_names)
{
    SQLHSTMT st = SQL_NULL_HSTMT;
    SQLRETURN r = SQL_ERROR;
    int rc = pdi_odbc_stmt_sql(c, sql, true, &st, &r);
    if (rc)
        return rc;
    SQLSMALLINT ncols = 0;
    if (!pdi_odbc_ok(r) || !pdi_odbc_ok(SQLNumResultCols(st, &ncols))) {
        char s[200];
        short_sql(sql, s, sizeof s);
        rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st, "SQL prepare failed: %s", s);
    }
    for (SQLSMALLINT i = 1; i <= ncols && rc == PD_OK; i++) {
        SQLWCHAR nm[256], tn[256];
        SQLSMALLINT nl = 0, tl = 0, type = 0, dd = 0, nul = 0;
        SQLULEN size = 0;
        pd_buf bn = PD_BUF_INIT, bt = PD_BUF_INIT;
        if (!pdi_odbc_ok(
                SQLDescribeColW(st, (SQLUSMALLINT)i, nm, 256, &nl, &type, &size, &dd, &nul)))
            rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st,
                               "ODBC: describing result column %d", (int)i);
        if (rc == PD_OK && !pdi_odbc_ok(SQLColAttributeW(st, (SQLUSMALLINT)i, SQL_DESC_TYPE_NAME,
                                                         tn, sizeof tn, &tl, NULL)))
            tl = 0;
        if (rc == PD_OK && (wide_attr(&bn, nm, nl > 0 ? (size_t)nl : 0) ||
                            wide_attr(&bt, tn, tl > 0 ? (size_t)tl / sizeof(SQLWCHAR) : 0) ||
                            pdi_strv_push(names, bn.data ? bn.data : "") ||
                            pdi_strv_push(type_names, bt.data ? bt.data : "")))
            rc = PD_ERR_NOMEM;
        pdi_buf_free(&bn);
        pdi_buf_free(&bt);
    }
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    return rc;
}

static int first_value(void *user, int ncols, const char *const *names, const char *const *values)
{
    (void)names;
    char **out = user;
    if (ncols > 0 && !*out && values[0]) {
        *out = pdi_strdup(values[0]);
        if (!*out)
            return PD_ERR_NOMEM;
    }
    return 1; /* stop after the first row */
}

int pdi_odbc_query_value(pdi_odbc *c, const char *sql, char **out)
{
    *out = NULL;
    int rc = pdi_odbc_query(c, sql, 0, NULL, first_value, out);
    return rc == 1 ? PD_OK : rc;
}

/* ---------------------------------------------------------- transactions */

void pdi_odbc_set_tx_sql(pdi_odbc *c, const char *begin, const char *commit, const char *rollback)
{
    c->tx_begin = begin;
    c->tx_commit = commit;
    c->tx_rollback = rollback;
}

int pdi_odbc_begin(pdi_odbc *c)
{
    if (c->in_tx)
        return pd_set_error(PD_ERR_INVALID, "ODBC (%s): a transaction is already open", c->server);
    if (c->tx_begin) {
        int rc = pdi_odbc_exec(c, c->tx_begin);
        c->in_tx = rc == PD_OK;
        return rc;
    }
    if (!pdi_odbc_ok(SQLSetConnectAttr(c->dbc, SQL_ATTR_AUTOCOMMIT,
                                       (SQLPOINTER)(uintptr_t)SQL_AUTOCOMMIT_OFF, 0)))
        return pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_DBC, c->dbc, "ODBC: BEGIN failed");
    c->in_tx = true;
    return PD_OK;
}

static int end_tx(pdi_odbc *c, SQLSMALLINT how)
{
    if (!c->in_tx)
        return PD_OK;
    if (c->tx_begin) {
        c->in_tx = false;
        return pdi_odbc_exec(c, how == SQL_COMMIT ? c->tx_commit : c->tx_rollback);
    }
    SQLRETURN r = SQLEndTran(SQL_HANDLE_DBC, c->dbc, how);
    int rc = PD_OK;
    if (!pdi_odbc_ok(r))
        rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_DBC, c->dbc, "ODBC: %s failed",
                           how == SQL_COMMIT ? "COMMIT" : "ROLLBACK");
    c->in_tx = false;
    if (!pdi_odbc_ok(SQLSetConnectAttr(c->dbc, SQL_ATTR_AUTOCOMMIT,
                                       (SQLPOINTER)(uintptr_t)SQL_AUTOCOMMIT_ON, 0)) &&
        rc == PD_OK)
        rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_DBC, c->dbc,
                           "ODBC: switching autocommit back on failed");
    return rc;
}

int pdi_odbc_commit(pdi_odbc *c)
{
    return end_tx(c, SQL_COMMIT);
}

int pdi_odbc_rollback(pdi_odbc *c)
{
    return end_tx(c, SQL_ROLLBACK);
}

bool pdi_odbc_in_transaction(const pdi_odbc *c)
{
    return c->in_tx;
}
