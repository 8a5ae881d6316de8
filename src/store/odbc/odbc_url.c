/*
 * store/odbc/odbc_url.c - URLs of the seed (and odbc:// forms) turned into
 * ODBC connection strings; masking; the one-time unknown-dialect warning;
 * install hints per driver.
 */
#include "store/odbc/odbc.h"
#include "util/util.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- decoding */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode [s, s+n); plus_space: '+' is a space (query strings). */
static char *decode(const char *s, size_t n, bool plus_space)
{
    char *out = pdi_malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
            hexval((unsigned char)s[i + 2]) >= 0) {
            out[o++] =
                (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        } else if (plus_space && s[i] == '+') {
            out[o++] = ' ';
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* --------------------------------------------------- connection strings */

/* Does an attribute value need {braces}? */
static bool needs_braces(const char *v)
{
    if (!*v)
        return false;
    if (isspace((unsigned char)v[0]) || isspace((unsigned char)v[strlen(v) - 1]))
        return true;
    return strpbrk(v, ";{}=") != NULL;
}

static void put_value(pd_buf *b, const char *v, bool force_braces)
{
    if (!force_braces && !needs_braces(v)) {
        pdi_buf_puts(b, v);
        return;
    }
    pdi_buf_putc(b, '{');
    for (const char *p = v; *p; p++) {
        pdi_buf_putc(b, *p);
        if (*p == '}')
            pdi_buf_putc(b, '}');
    }
    pdi_buf_putc(b, '}');
}

static void put_attr(pd_buf *b, const char *key, const char *v, bool braces)
{
    if (!v)
        return;
    if (b->len > 0)
        pdi_buf_putc(b, ';');
    pdi_buf_puts(b, key);
    pdi_buf_putc(b, '=');
    put_value(b, v, braces);
}

static bool key_is_password(const char *k)
{
    return pdi_str_ieq(k, "pwd") || pdi_str_ieq(k, "password");
}

char *pdi_odbc_mask_connstr(const char *cs)
{
    if (!cs)
        return NULL;
    pd_buf b = PD_BUF_INIT;
    const char *p = cs;
    while (*p) {
        const char *eq = strchr(p, '=');
        if (!eq) {
            pdi_buf_puts(&b, p);
            break;
        }
        size_t klen = (size_t)(eq - p);
        char key[64];
        const char *ks = p;
        while (ks < eq && isspace((unsigned char)*ks))
            ks++;
        size_t kl = (size_t)(eq - ks);
        while (kl > 0 && isspace((unsigned char)ks[kl - 1]))
            kl--;
        snprintf(key, sizeof key, "%.*s", (int)(kl < sizeof key ? kl : sizeof key - 1), ks);
        /* value: {...} with }} escapes, or up to ';' */
        const char *v = eq + 1;
        const char *end;
        if (*v == '{') {
            end = v + 1;
            while (*end) {
                if (*end == '}') {
                    if (end[1] == '}') {
                        end += 2;
                        continue;
                    }
                    end++;
                    break;
                }
                end++;
            }
            while (*end && *end != ';')
                end++;
        } else {
            end = v + strcspn(v, ";");
        }
        pdi_buf_append(&b, p, klen + 1);
        if (key_is_password(key))
            pdi_buf_puts(&b, "***");
        else
            pdi_buf_append(&b, v, (size_t)(end - v));
        if (*end == ';') {
            pdi_buf_putc(&b, ';');
            end++;
        }
        p = end;
    }
    if (!b.data)
        return pdi_strdup("");
    return pdi_buf_detach(&b);
}

/* ------------------------------------------------------------ dialects */

static const struct {
    const char *base, *dialect;
} g_known[] = {
    {"mssql", "mssql"},         {"db2", "db2"},
    {"ibm_db_sa", "db2"},       {"ibm_db", "db2"},
    {"snowflake", "snowflake"}, {"postgresql", "postgresql"},
    {"postgres", "postgresql"}, {"sqlite", "sqlite"},
    {"duckdb", "duckdb"},
};

static const char *known_dialect(const char *base)
{
    for (size_t i = 0; i < sizeof g_known / sizeof g_known[0]; i++)
        if (strcmp(base, g_known[i].base) == 0)
            return g_known[i].dialect;
    return NULL;
}

bool pdi_odbc_url_is_odbc(const char *url)
{
    if (!url)
        return false;
    const char *sep = strstr(url, "://");
    if (!sep)
        return false;
    char scheme[64];
    size_t n = (size_t)(sep - url);
    if (n == 0 || n >= sizeof scheme)
        return false;
    for (size_t i = 0; i < n; i++)
        scheme[i] = (char)tolower((unsigned char)url[i]);
    scheme[n] = '\0';
    if (strcmp(scheme, "odbc") == 0)
        return true;
    char *plus = strchr(scheme, '+');
    if (plus && strcmp(plus + 1, "odbc") == 0)
        return true;
    if (plus)
        *plus = '\0';
    const char *d = known_dialect(scheme);
    if (!d)
        return false;
    /* mssql, db2 and snowflake are only reachable through ODBC here */
    return strcmp(d, "mssql") == 0 || strcmp(d, "db2") == 0 || strcmp(d, "snowflake") == 0;
}

static const char *default_driver(const char *dialect)
{
    if (strcmp(dialect, "mssql") == 0)
        return "ODBC Driver 18 for SQL Server";
    if (strcmp(dialect, "db2") == 0)
        return "IBM DB2 ODBC DRIVER";
    if (strcmp(dialect, "snowflake") == 0)
        return "SnowflakeDSIIDriver";
    if (strcmp(dialect, "postgresql") == 0)
        return "PostgreSQL Unicode";
    if (strcmp(dialect, "sqlite") == 0)
        return "SQLite3";
    return NULL;
}

static bool is_freetds(const char *driver)
{
    char *l = pdi_str_lower(driver ? driver : "");
    bool r = l && (strstr(l, "freetds") || strstr(l, "tdsodbc"));
    free(l);
    return r;
}

static bool is_psqlodbc(const char *driver)
{
    char *l = pdi_str_lower(driver ? driver : "");
    bool r = l && (strstr(l, "psqlodbc") || strstr(l, "postgresql"));
    free(l);
    return r;
}

void pdi_odbc_target_clear(pdi_odbc_target *t)
{
    if (!t)
        return;
    free(t->scheme);
    free(t->dialect);
    free(t->driver);
    free(t->dsn);
    free(t->host);
    free(t->port);
    free(t->database);
    free(t->user);
    if (t->password) {
        memset(t->password, 0, strlen(t->password));
        free(t->password);
    }
    if (t->connstr) {
        memset(t->connstr, 0, strlen(t->connstr));
        free(t->connstr);
    }
    free(t->masked);
    memset(t, 0, sizeof *t);
}

typedef struct qparam {
    char *key, *value;
} qparam;

static void qparams_free(qparam *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(q[i].key);
        if (q[i].value) {
            memset(q[i].value, 0, strlen(q[i].value));
            free(q[i].value);
        }
    }
    free(q);
}

/* Build connstr (with the password, or *** when `masked`). */
static char *
build_connstr(const pdi_odbc_target *t, const qparam *q, size_t nq, const char *raw, bool masked)
{
    pd_buf b = PD_BUF_INIT;
    const char *pw = t->password ? (masked ? "***" : t->password) : NULL;
    if (raw) {
        /* odbc_connect=...: used as given, user/password of the URL added */
        char *m = masked ? pdi_odbc_mask_connstr(raw) : pdi_strdup(raw);
        if (!m)
            return NULL;
        size_t l = strlen(m);
        while (l > 0 && m[l - 1] == ';')
            m[--l] = '\0';
        pdi_buf_puts(&b, m);
        free(m);
        put_attr(&b, "UID", t->user, false);
        put_attr(&b, "PWD", pw, !masked);
        goto params;
    }
    if (t->dsn)
        put_attr(&b, "DSN", t->dsn, false);
    else
        put_attr(&b, "DRIVER", t->driver, true);
    if (strcmp(t->dialect, "mssql") == 0) {
        if (t->host) {
            if (t->port && is_freetds(t->driver)) {
                put_attr(&b, "SERVER", t->host, false);
                put_attr(&b, "PORT", t->port, false);
            } else if (t->port) {
                char *hp = pdi_asprintf("%s,%s", t->host, t->port);
                if (!hp) {
                    pdi_buf_free(&b);
                    return NULL;
                }
                put_attr(&b, "SERVER", hp, false);
                free(hp);
            } else {
                put_attr(&b, "SERVER", t->host, false);
            }
        }
        put_attr(&b, "DATABASE", t->database, false);
    } else if (strcmp(t->dialect, "db2") == 0) {
        put_attr(&b, "DATABASE", t->database, false);
        put_attr(&b, "HOSTNAME", t->host, false);
        put_attr(&b, "PORT", t->port, false);
        if (t->host)
            put_attr(&b, "PROTOCOL", "TCPIP", false);
    } else if (strcmp(t->dialect, "snowflake") == 0) {
        if (t->host) {
            char *server = strstr(t->host, "snowflakecomputing")
                               ? pdi_strdup(t->host)
                               : pdi_asprintf("%s.snowflakecomputing.com", t->host);
            char *account = pdi_strndup(t->host, strcspn(t->host, "."));
            if (!server || !account) {
                free(server);
                free(account);
                pdi_buf_free(&b);
                return NULL;
            }
            put_attr(&b, "SERVER", server, false);
            put_attr(&b, "ACCOUNT", account, false);
            free(server);
            free(account);
        }
        if (t->database) {
            const char *slash = strchr(t->database, '/');
            if (slash) {
                char *db = pdi_strndup(t->database, (size_t)(slash - t->database));
                if (!db) {
                    pdi_buf_free(&b);
                    return NULL;
                }
                put_attr(&b, "DATABASE", db, false);
                free(db);
                if (slash[1])
                    put_attr(&b, "SCHEMA", slash + 1, false);
            } else {
                put_attr(&b, "DATABASE", t->database, false);
            }
        }
    } else {
        put_attr(&b, "SERVER", t->host, false);
        put_attr(&b, "PORT", t->port, false);
        put_attr(&b, "DATABASE", t->database, false);
    }
    put_attr(&b, "UID", t->user, false);
    put_attr(&b, "PWD", pw, !masked);
params:
    for (size_t i = 0; i < nq; i++) {
        if (key_is_password(q[i].key))
            put_attr(&b, q[i].key, masked ? "***" : q[i].value, !masked);
        else
            put_attr(&b, q[i].key, q[i].value, false);
    }
    /* psqlODBC: booleans as BIT (not '1'/'0' text), bytea as binary, and
     * parameter sets executed one by one as a server-side prepared
     * statement (BatchSize=1) instead of being inlined as literals into
     * multi-statement text, which the server then has to parse (measured
     * 1.7x faster for the multi-row INSERTs of a load) */
    static const char *const psql_defs[][2] = {
        {"BoolsAsChar", "0"}, {"ByteaAsLongVarBinary", "1"}, {"BatchSize", "1"}, {NULL, NULL}};
    /* libsqliteodbc: INTEGER columns as BIGINT (SQLite integers are 64-bit;
     * the driver's default SQL_INTEGER would cut them to 32 bits), the busy
     * timeout of the native backend (60 s), and results stepped through
     * (StepAPI: not first held whole as text, and a column without a
     * declared type reported as such - 'varchar' - instead of a type
     * guessed from its first value) */
    static const char *const sqlite_defs[][2] = {
        {"BigInt", "1"}, {"Timeout", "60000"}, {"StepAPI", "1"}, {NULL, NULL}};
    const char *const(*defs)[2] = NULL;
    if (!raw && is_psqlodbc(t->driver))
        defs = psql_defs;
    else if (!raw && strcmp(t->dialect, "sqlite") == 0)
        defs = sqlite_defs;
    for (size_t k = 0; defs && defs[k][0]; k++) {
        bool given = false;
        for (size_t i = 0; i < nq; i++)
            given |= pdi_str_ieq(q[i].key, defs[k][0]);
        if (!given)
            put_attr(&b, defs[k][0], defs[k][1], false);
    }
    if (b.oom) {
        pdi_buf_free(&b);
        pd_set_error(PD_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return b.data ? pdi_buf_detach(&b) : pdi_strdup("");
}

int pdi_odbc_url_parse(const char *url, pdi_odbc_target *out)
{
    memset(out, 0, sizeof *out);
    const char *sep = url ? strstr(url, "://") : NULL;
    if (!sep || sep == url)
        return pd_set_error(PD_ERR_CONFIG, "ODBC URL without a scheme (expected "
                                           "<dialect>+odbc://..., odbc://?dsn=NAME, "
                                           "mssql+pyodbc://, db2+ibm_db:// or snowflake://)");
    int rc = PD_OK;
    qparam *q = NULL;
    size_t nq = 0, capq = 0;
    char *raw = NULL;
    {
        char *s = pdi_strndup(url, (size_t)(sep - url));
        out->scheme = s ? pdi_str_lower(s) : NULL;
        free(s);
    }
    if (!out->scheme)
        return PD_ERR_NOMEM;
    char base[64];
    size_t bl = strcspn(out->scheme, "+");
    snprintf(base, sizeof base, "%.*s", (int)(bl < sizeof base ? bl : sizeof base - 1),
             out->scheme);
    const char *kd = known_dialect(base);
    out->known = kd != NULL;
    out->dialect = pdi_strdup(kd ? kd : base);
    if (!out->dialect) {
        rc = PD_ERR_NOMEM;
        goto fail;
    }

    /* authority */
    const char *auth = sep + 3;
    const char *auth_end = auth + strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < auth_end; p++)
        if (*p == '@')
            at = p;
    const char *hostp = auth;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon) {
            out->user = decode(auth, (size_t)(colon - auth), false);
            out->password = decode(colon + 1, (size_t)(at - colon - 1), false);
        } else {
            out->user = decode(auth, (size_t)(at - auth), false);
        }
        hostp = at + 1;
        if (out->user && !*out->user) {
            free(out->user);
            out->user = NULL;
        }
    }
    if (hostp < auth_end) {
        const char *port = NULL;
        const char *hend = auth_end;
        if (*hostp == '[') {
            const char *rb = memchr(hostp, ']', (size_t)(auth_end - hostp));
            if (!rb) {
                rc =
                    pd_set_error(PD_ERR_CONFIG, "%s:// URL: unterminated [IPv6] host", out->scheme);
                goto fail;
            }
            out->host = pdi_strndup(hostp + 1, (size_t)(rb - hostp - 1));
            if (rb[1] == ':')
                port = rb + 2;
        } else {
            const char *colon = memchr(hostp, ':', (size_t)(auth_end - hostp));
            if (colon) {
                hend = colon;
                port = colon + 1;
            }
            out->host = decode(hostp, (size_t)(hend - hostp), false);
        }
        if (port && port < auth_end) {
            out->port = pdi_strndup(port, (size_t)(auth_end - port));
            for (const char *c = out->port; c && *c; c++)
                if (!isdigit((unsigned char)*c)) {
                    rc = pd_set_error(PD_ERR_CONFIG, "%s:// URL: port \"%s\" is not a number",
                                      out->scheme, out->port);
                    goto fail;
                }
        }
        if (out->host && !*out->host) {
            free(out->host);
            out->host = NULL;
        }
    }

    /* path */
    const char *path = auth_end;
    const char *query = NULL;
    if (*path == '/') {
        const char *pend = path + 1 + strcspn(path + 1, "?#");
        if (pend > path + 1)
            out->database = decode(path + 1, (size_t)(pend - path - 1), false);
        if (*pend == '?')
            query = pend + 1;
    } else if (*path == '?') {
        query = path + 1;
    }

    /* query */
    while (query && *query && *query != '#') {
        size_t n = strcspn(query, "&#");
        const char *eq = memchr(query, '=', n);
        if (n > 0) {
            char *k = decode(query, eq ? (size_t)(eq - query) : n, true);
            char *v = eq ? decode(eq + 1, n - (size_t)(eq + 1 - query), true) : pdi_strdup("");
            if (!k || !v) {
                free(k);
                free(v);
                rc = PD_ERR_NOMEM;
                goto fail;
            }
            if (pdi_str_ieq(k, "driver")) {
                free(out->driver);
                out->driver = v;
                free(k);
            } else if (pdi_str_ieq(k, "dsn")) {
                free(out->dsn);
                out->dsn = v;
                free(k);
            } else if (pdi_str_ieq(k, "odbc_connect")) {
                free(raw);
                raw = v;
                free(k);
            } else if (key_is_password(k) && !out->password) {
                out->password = v;
                free(k);
            } else if ((pdi_str_ieq(k, "uid") || pdi_str_ieq(k, "user")) && !out->user) {
                out->user = v;
                free(k);
            } else {
                qparam *nqp = pdi_grow(q, &capq, nq, sizeof *q, 8);
                if (!nqp) {
                    free(k);
                    free(v);
                    rc = PD_ERR_NOMEM;
                    goto fail;
                }
                q = nqp;
                q[nq].key = k;
                q[nq].value = v;
                nq++;
            }
        }
        query += n;
        if (*query == '&')
            query++;
    }

    /* sqlite+odbc:///rel and sqlite+odbc:////abs: `database` holds what
     * followed the third slash ("rel" or "/abs"), the file's path */

    if (out->dsn && out->driver) {
        rc = pd_set_error(PD_ERR_CONFIG, "%s:// URL gives both driver= and dsn=: give one",
                          out->scheme);
        goto fail;
    }
    if (!out->dsn && !out->driver && !raw) {
        const char *dd = default_driver(out->dialect);
        if (!dd) {
            rc = pd_set_error(PD_ERR_CONFIG,
                              "%s:// URL: say which ODBC driver to use (?driver=NAME as "
                              "listed in odbcinst.ini, or the path of the driver's .so) or "
                              "which data source (?dsn=NAME)",
                              out->scheme);
            goto fail;
        }
        out->driver = pdi_strdup(dd);
        if (!out->driver) {
            rc = PD_ERR_NOMEM;
            goto fail;
        }
    }
    out->connstr = build_connstr(out, q, nq, raw, false);
    out->masked = build_connstr(out, q, nq, raw, true);
    if (!out->connstr || !out->masked) {
        rc = PD_ERR_NOMEM;
        goto fail;
    }
    if (raw) {
        memset(raw, 0, strlen(raw));
        free(raw);
    }
    qparams_free(q, nq);
    return PD_OK;
fail:
    if (raw) {
        memset(raw, 0, strlen(raw));
        free(raw);
    }
    qparams_free(q, nq);
    pdi_odbc_target_clear(out);
    if (rc == PD_ERR_NOMEM)
        pd_set_error(PD_ERR_NOMEM, "out of memory");
    return rc;
}

/* ------------------------------------------------------- unknown dialect */

static pthread_mutex_t g_warn_mu = PTHREAD_MUTEX_INITIALIZER;
static pd_strv g_warned = PD_STRV_INIT;

static void warned_free(void)
{
    pdi_strv_free(&g_warned);
}

bool pdi_odbc_warn_unknown_dialect(const char *dialect)
{
    bool first = false;
    pthread_mutex_lock(&g_warn_mu);
    if (!pdi_strv_contains(&g_warned, dialect)) {
        if (g_warned.n == 0)
            atexit(warned_free);
        pdi_strv_push(&g_warned, dialect);
        first = true;
    }
    pthread_mutex_unlock(&g_warn_mu);
    if (first)
        pdi_log(PD_LOG_WARN,
                "dialect \"%s\" is unknown to pipedag-c: it runs through ODBC with the "
                "Postgres-like dialect (issues are likely)",
                dialect);
    return first;
}

/* --------------------------------------------------------------- hints */

const char *pdi_odbc_install_hint(const char *driver)
{
    char *l = pdi_str_lower(driver ? driver : "");
    const char *h = "install the vendor's ODBC driver and register it in odbcinst.ini "
                    "(odbcinst -i -d -f FILE), or give the path of its shared library as "
                    "driver=/path/to/driver.so";
    if (!l)
        return h;
    if (strstr(l, "freetds") || strstr(l, "tdsodbc"))
        h = "install FreeTDS's ODBC driver: apt-get install tdsodbc (registers \"FreeTDS\")";
    else if (strstr(l, "sql server"))
        h = "install Microsoft's ODBC driver (msodbcsql18, see "
            "https://learn.microsoft.com/sql/connect/odbc/linux-mac/"
            "installing-the-microsoft-odbc-driver-for-sql-server), or use FreeTDS: "
            "apt-get install tdsodbc and driver=FreeTDS";
    else if (strstr(l, "db2") || strstr(l, "ibm"))
        h = "install IBM's Data Server Driver for ODBC and CLI (clidriver, "
            "https://www.ibm.com/support/pages/db2-odbc-cli-driver-download-and-"
            "installation-information) and register libdb2o.so in odbcinst.ini as "
            "\"IBM DB2 ODBC DRIVER\"";
    else if (strstr(l, "snowflake"))
        h = "install Snowflake's ODBC driver (https://docs.snowflake.com/en/developer-guide/"
            "odbc/odbc-linux), which registers \"SnowflakeDSIIDriver\"";
    else if (strstr(l, "postgres") || strstr(l, "psqlodbc"))
        h = "install the PostgreSQL ODBC driver: apt-get install odbc-postgresql "
            "(registers \"PostgreSQL Unicode\")";
    else if (strstr(l, "sqlite"))
        h = "install the SQLite ODBC driver: apt-get install libsqliteodbc "
            "(registers \"SQLite3\")";
    free(l);
    return h;
}
