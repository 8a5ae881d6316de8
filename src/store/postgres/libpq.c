/*
 * store/postgres/libpq.c - PostgreSQL connector on libpq: URL parsing, connect
 * (optionally creating the database), SQL execution with SQLSTATE-bearing
 * errors that name host:port/db and the task but never the password, and
 * transactions. Arrow bulk transfer (binary COPY) is in libpq_copy.c.
 */
#include "store/postgres/libpq.h"
#include "store/dialect/dialect.h"
#include "store/postgres/libpq_int.h"
#include "util/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ URL */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n) into a new string. */
static char *pct_decode(const char *s, size_t n)
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
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

void pdi_pg_url_clear(pdi_pg_url *u)
{
    if (!u)
        return;
    free(u->user);
    if (u->password) {
        memset(u->password, 0, strlen(u->password));
        free(u->password);
    }
    free(u->host);
    free(u->port);
    free(u->dbname);
    for (size_t i = 0; i < u->n_opts; i++) {
        free(u->opt_keys[i]);
        free(u->opt_values[i]);
    }
    free(u->opt_keys);
    free(u->opt_values);
    memset(u, 0, sizeof *u);
}

static int add_opt(pdi_pg_url *u, char *k, char *v)
{
    char **nk = pdi_realloc(u->opt_keys, (u->n_opts + 1) * sizeof *nk);
    if (!nk)
        goto fail;
    u->opt_keys = nk;
    char **nv = pdi_realloc(u->opt_values, (u->n_opts + 1) * sizeof *nv);
    if (!nv)
        goto fail;
    u->opt_values = nv;
    u->opt_keys[u->n_opts] = k;
    u->opt_values[u->n_opts] = v;
    u->n_opts++;
    return PD_OK;
fail:
    free(k);
    free(v);
    return PD_ERR_NOMEM;
}

int pdi_pg_url_parse(const char *url, pdi_pg_url *out)
{
    memset(out, 0, sizeof *out);
    if (!url)
        return pd_set_error(PD_ERR_CONFIG, "postgres: no URL given");
    const char *p = strstr(url, "://");
    size_t slen = p ? (size_t)(p - url) : 0;
    if (!p || !((slen == 10 && strncmp(url, "postgresql", 10) == 0) ||
                (slen == 8 && strncmp(url, "postgres", 8) == 0) ||
                (slen > 11 && strncmp(url, "postgresql+", 11) == 0) ||
                (slen > 9 && strncmp(url, "postgres+", 9) == 0)))
        return pd_set_error(PD_ERR_CONFIG,
                            "postgres: URL must start with postgresql:// (scheme '%.*s')",
                            (int)(p ? slen : strcspn(url, ":")), url);
    p += 3;
    /* authority = up to first '/', '?' */
    size_t alen = strcspn(p, "/?");
    const char *auth_end = p + alen;
    const char *at = NULL;
    for (const char *q = p; q < auth_end; q++)
        if (*q == '@')
            at = q; /* last '@' (passwords may contain '@' unencoded) */
    int rc = PD_ERR_NOMEM;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            out->user = pct_decode(p, (size_t)(colon - p));
            out->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
            if (!out->password)
                goto fail;
        } else {
            out->user = pct_decode(p, (size_t)(at - p));
        }
        if (!out->user)
            goto fail;
        if (!out->user[0]) {
            free(out->user);
            out->user = NULL;
        }
        p = at + 1;
    }
    /* host[:port]; host may be [v6] */
    const char *hend = auth_end;
    const char *portp = NULL;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(auth_end - p));
        if (!rb) {
            rc = pd_set_error(PD_ERR_CONFIG, "postgres: URL has an unterminated [IPv6] host");
            goto fail;
        }
        out->host = pdi_strndup(p + 1, (size_t)(rb - p - 1));
        if (rb + 1 < auth_end && rb[1] == ':')
            portp = rb + 2;
    } else {
        const char *colon = memchr(p, ':', (size_t)(auth_end - p));
        if (colon) {
            hend = colon;
            portp = colon + 1;
        }
        if (hend > p)
            out->host = pct_decode(p, (size_t)(hend - p));
    }
    if (portp && portp < auth_end) {
        out->port = pdi_strndup(portp, (size_t)(auth_end - portp));
        if (!out->port)
            goto fail;
        for (const char *q = out->port; *q; q++)
            if (!isdigit((unsigned char)*q)) {
                rc = pd_set_error(PD_ERR_CONFIG, "postgres: bad port '%s' in URL", out->port);
                goto fail;
            }
    }
    p = auth_end;
    if (*p == '/') {
        p++;
        size_t dlen = strcspn(p, "?");
        if (dlen) {
            out->dbname = pct_decode(p, dlen);
            if (!out->dbname)
                goto fail;
        }
        p += dlen;
    }
    if (*p == '?') {
        p++;
        while (*p) {
            size_t plen = strcspn(p, "&");
            const char *eq = memchr(p, '=', plen);
            if (plen) {
                char *k = pct_decode(p, eq ? (size_t)(eq - p) : plen);
                char *v = eq ? pct_decode(eq + 1, plen - (size_t)(eq - p) - 1) : pdi_strdup("");
                if (!k || !v) {
                    free(k);
                    free(v);
                    goto fail;
                }
                if (add_opt(out, k, v))
                    goto fail;
            }
            p += plen;
            if (*p == '&')
                p++;
        }
    }
    return PD_OK;
fail:
    pdi_pg_url_clear(out);
    if (rc == PD_ERR_NOMEM)
        return pd_set_error(PD_ERR_NOMEM, "postgres: out of memory parsing URL");
    return rc;
}

/* ------------------------------------------------------------ messages */

/* Copy msg with every occurrence of the password replaced by "***" and the
 * trailing newline libpq adds removed. */
static char *scrub(const pdi_pg *c, const char *msg)
{
    char *m = NULL;
    if (c && c->password && c->password[0] && msg && strstr(msg, c->password))
        m = pdi_str_replace(msg, c->password, "***");
    else
        m = pdi_strdup(msg ? msg : "");
    if (m) {
        size_t n = strlen(m);
        while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
            m[--n] = '\0';
    }
    return m;
}

int pdi_pg_fail(pdi_pg *c, int code, const PGresult *res, const char *what)
{
    const char *raw = res ? PQresultErrorMessage(res) : NULL;
    if (!raw || !raw[0])
        raw = c && c->conn ? PQerrorMessage(c->conn) : "unknown error";
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    char *m = scrub(c, raw);
    int rc = pd_set_error(code, "postgres %s%s%s%s: %s%s%s%s%s", c ? c->server : "?",
                          c && c->task ? " (task " : "", c && c->task ? c->task : "",
                          c && c->task ? ")" : "", m ? m : "error", state ? " [SQLSTATE " : "",
                          state ? state : "", state ? "]" : "", what ? what : "");
    free(m);
    return rc;
}

/* ------------------------------------------------------------- connect */

static void notice_quiet(void *arg, const char *msg)
{
    (void)arg;
    pdi_log(PD_LOG_DEBUG, "postgres notice: %s", msg);
}

static PGconn *connect_db(const pdi_pg_url *u, const char *dbname)
{
    const char *keys[64], *vals[64];
    int n = 0;
#define KV(k, v)             \
    do {                     \
        if ((v) && n < 60) { \
            keys[n] = (k);   \
            vals[n] = (v);   \
            n++;             \
        }                    \
    } while (0)
    KV("host", u->host);
    KV("port", u->port);
    KV("user", u->user);
    KV("password", u->password);
    KV("dbname", dbname);
    KV("application_name", "pipedag");
    for (size_t i = 0; i < u->n_opts; i++)
        KV(u->opt_keys[i], u->opt_values[i]);
#undef KV
    keys[n] = NULL;
    vals[n] = NULL;
    return PQconnectdbParams(keys, vals, 0);
}

static char *make_server(const pdi_pg_url *u, const char *dbname)
{
    const char *host = u->host ? u->host : "localhost";
    bool v6 = strchr(host, ':') != NULL;
    return pdi_asprintf("%s%s%s:%s/%s", v6 ? "[" : "", host, v6 ? "]" : "",
                        u->port ? u->port : "5432", dbname ? dbname : (u->user ? u->user : ""));
}

static int create_database(pdi_pg *c, const pdi_pg_url *u)
{
    PGconn *admin = connect_db(u, "postgres");
    if (!admin || PQstatus(admin) != CONNECTION_OK) {
        char *m = scrub(c, admin ? PQerrorMessage(admin) : "out of memory");
        int rc = pd_set_error(PD_ERR_IO,
                              "postgres %s: cannot connect to database 'postgres' to create "
                              "database '%s': %s",
                              c->server, u->dbname, m ? m : "");
        free(m);
        PQfinish(admin);
        return rc;
    }
    PQsetNoticeProcessor(admin, notice_quiet, NULL);
    char *sql = pdi_sql_pg_create_database(u->dbname);
    if (!sql) {
        PQfinish(admin);
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    }
    PGresult *r = PQexec(admin, sql);
    free(sql);
    int rc = PD_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        /* 42P04 duplicate_database; 23505 unique_violation on the catalog
         * when two sessions create the same database concurrently. */
        if (!st || (strcmp(st, "42P04") != 0 && strcmp(st, "23505") != 0)) {
            PGconn *keep = c->conn;
            c->conn = admin;
            rc = pdi_pg_fail(c, PD_ERR_SQL, r, " (CREATE DATABASE)");
            c->conn = keep;
        }
    }
    PQclear(r);
    PQfinish(admin);
    return rc;
}

int pdi_pg_connect(const char *url, bool create_db, pdi_pg **out)
{
    *out = NULL;
    pdi_pg *c = pdi_calloc(1, sizeof *c);
    if (!c)
        return PD_ERR_NOMEM;
    pdi_pg_url u;
    int rc = pdi_pg_url_parse(url, &u);
    if (rc) {
        free(c);
        return rc;
    }
    c->password = pdi_strdup(u.password);
    c->server = make_server(&u, u.dbname);
    if (!c->server) {
        rc = PD_ERR_NOMEM;
        goto fail;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        c->conn = connect_db(&u, u.dbname);
        if (c->conn && PQstatus(c->conn) == CONNECTION_OK)
            break;
        const char *em = c->conn ? PQerrorMessage(c->conn) : "out of memory";
        bool missing_db = em && strstr(em, "does not exist") && strstr(em, "database");
        if (attempt == 0 && missing_db && create_db && u.dbname) {
            PQfinish(c->conn);
            c->conn = NULL;
            rc = create_database(c, &u);
            if (rc)
                goto fail;
            continue;
        }
        rc = pdi_pg_fail(c, missing_db ? PD_ERR_NOT_FOUND : PD_ERR_IO, NULL,
                         missing_db && !create_db
                             ? " (set create_database_if_not_exists: true to create it)"
                             : "");
        goto fail;
    }
    PQsetNoticeProcessor(c->conn, notice_quiet, NULL);
    pdi_pg_url_clear(&u);
    *out = c;
    return PD_OK;
fail:
    pdi_pg_url_clear(&u);
    pdi_pg_close(c);
    return rc;
}

void pdi_pg_close(pdi_pg *c)
{
    if (!c)
        return;
    if (c->conn)
        PQfinish(c->conn);
    if (c->password) {
        memset(c->password, 0, strlen(c->password));
        free(c->password);
    }
    free(c->server);
    free(c);
}

const char *pdi_pg_server(const pdi_pg *c)
{
    return c ? c->server : "?";
}
void pdi_pg_set_task(pdi_pg *c, const char *task)
{
    c->task = task;
}
void pdi_pg_set_print_sql(pdi_pg *c, bool on)
{
    c->print_sql = on;
}
bool pdi_pg_alive(pdi_pg *c)
{
    if (!c || !c->conn || PQstatus(c->conn) != CONNECTION_OK)
        return false;
    /* A round trip notices a terminated backend or a dead socket. */
    PGresult *r = PQexec(c->conn, "");
    bool ok = r && PQresultStatus(r) == PGRES_EMPTY_QUERY;
    PQclear(r);
    return ok && PQstatus(c->conn) == CONNECTION_OK;
}

/* ---------------------------------------------------------------- exec */

int pdi_pg_exec(pdi_pg *c, const char *sql)
{
    if (c->print_sql)
        pdi_log(PD_LOG_INFO, "SQL (%s): %s", c->server, sql);
    PGresult *r = PQexec(c->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = PD_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
        rc = pdi_pg_fail(c, PQstatus(c->conn) == CONNECTION_OK ? PD_ERR_SQL : PD_ERR_IO, r, "");
    PQclear(r);
    return rc;
}

int pdi_pg_query(pdi_pg *c, const char *sql, pdi_pg_row_fn row, void *user)
{
    if (c->print_sql)
        pdi_log(PD_LOG_INFO, "SQL (%s): %s", c->server, sql);
    PGresult *r = PQexec(c->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        int rc = pdi_pg_fail(c, PQstatus(c->conn) == CONNECTION_OK ? PD_ERR_SQL : PD_ERR_IO, r, "");
        PQclear(r);
        return rc;
    }
    int nf = PQnfields(r), nt = PQntuples(r);
    int rc = PD_OK;
    const char **names = pdi_calloc((size_t)nf + 1, sizeof *names);
    const char **vals = pdi_calloc((size_t)nf + 1, sizeof *vals);
    if (!names || !vals) {
        rc = PD_ERR_NOMEM;
        goto done;
    }
    for (int f = 0; f < nf; f++)
        names[f] = PQfname(r, f);
    for (int t = 0; t < nt && row; t++) {
        for (int f = 0; f < nf; f++)
            vals[f] = PQgetisnull(r, t, f) ? NULL : PQgetvalue(r, t, f);
        rc = row(user, nf, names, vals);
        if (rc)
            break;
    }
done:
    free(names);
    free(vals);
    PQclear(r);
    return rc;
}

static int first_value(void *user, int ncols, const char *const *names, const char *const *values)
{
    (void)names;
    char **out = user;
    if (!*out && ncols > 0 && values[0]) {
        *out = pdi_strdup(values[0]);
        if (!*out)
            return PD_ERR_NOMEM;
    }
    return 1; /* stop after the first row */
}

int pdi_pg_query_value(pdi_pg *c, const char *sql, char **out)
{
    *out = NULL;
    int rc = pdi_pg_query(c, sql, first_value, out);
    return rc == 1 ? PD_OK : rc;
}

int pdi_pg_begin(pdi_pg *c)
{
    return pdi_pg_exec(c, pdi_sql_begin(&pdi_dialect_postgres));
}
int pdi_pg_commit(pdi_pg *c)
{
    return pdi_pg_exec(c, pdi_sql_commit(&pdi_dialect_postgres));
}
int pdi_pg_rollback(pdi_pg *c)
{
    if (!c || !c->conn || PQtransactionStatus(c->conn) == PQTRANS_IDLE)
        return PD_OK;
    PGresult *r = PQexec(c->conn, pdi_sql_rollback(&pdi_dialect_postgres));
    PQclear(r);
    return PD_OK;
}

int pdi_pg_query_params(pdi_pg *p,
                        const char *sql,
                        size_t nparams,
                        const char *const *params,
                        pdi_pg_row_fn row,
                        void *user)
{
    /* ? -> $n (the store never puts ? inside literals) */
    pd_buf b = PD_BUF_INIT;
    int n = 0;
    for (const char *s = sql; *s; s++) {
        if (*s == '?')
            pdi_buf_printf(&b, "$%d", ++n);
        else
            pdi_buf_putc(&b, *s);
    }
    if (b.oom || !b.data) {
        pdi_buf_free(&b);
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    }
    if ((size_t)n != nparams) {
        pdi_buf_free(&b);
        return pd_set_error(PD_ERR_INVALID, "postgres %s: %d placeholders but %zu parameters",
                            p->server, n, nparams);
    }
    if (p->print_sql)
        pdi_log(PD_LOG_INFO, "SQL (%s): %s", p->server, b.data);
    PGresult *r = PQexecParams(p->conn, b.data, (int)nparams, NULL, params, NULL, NULL, 0);
    pdi_buf_free(&b);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        int rc = pdi_pg_fail(p, PQstatus(p->conn) == CONNECTION_OK ? PD_ERR_SQL : PD_ERR_IO, r, "");
        PQclear(r);
        return rc;
    }
    int rc = PD_OK;
    int nf = PQnfields(r), nt = PQntuples(r);
    if (row && nt > 0) {
        const char **names = pdi_calloc((size_t)nf + 1, sizeof *names);
        const char **vals = pdi_calloc((size_t)nf + 1, sizeof *vals);
        if (!names || !vals) {
            rc = PD_ERR_NOMEM;
        } else {
            for (int f = 0; f < nf; f++)
                names[f] = PQfname(r, f);
            for (int t = 0; t < nt && !rc; t++) {
                for (int f = 0; f < nf; f++)
                    vals[f] = PQgetisnull(r, t, f) ? NULL : PQgetvalue(r, t, f);
                rc = row(user, nf, names, vals);
            }
        }
        free(names);
        free(vals);
    }
    PQclear(r);
    return rc;
}
