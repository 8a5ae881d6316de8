/*
 * tests/parquet_write/pqw_duck.c - dlopen wrapper around libduckdb's C API.
 *
 * Declares the few functions we call ourselves (no duckdb.h ships with the
 * npm package); duckdb_result is 48 bytes in DuckDB 1.x (six pointer-sized
 * deprecated fields), we only pass its address around.
 */
#include "pqw_duck.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct duck_result {
    uint64_t a, b, c;
    void *d, *e, *f;
} duck_result;

typedef int (*open_fn)(const char *, void **);
typedef int (*connect_fn)(void *, void **);
typedef int (*query_fn)(void *, const char *, duck_result *);
typedef void (*destroy_fn)(duck_result *);
typedef uint64_t (*rows_fn)(duck_result *);
typedef char *(*varchar_fn)(duck_result *, uint64_t, uint64_t);
typedef int64_t (*i64_fn)(duck_result *, uint64_t, uint64_t);
typedef const char *(*error_fn)(duck_result *);
typedef void (*free_fn)(void *);
typedef void (*disconnect_fn)(void **);
typedef void (*close_fn)(void **);

struct pqw_duck {
    void *lib;
    void *db, *con;
    open_fn open;
    connect_fn connect;
    query_fn query;
    destroy_fn destroy;
    rows_fn rows;
    varchar_fn varchar;
    i64_fn i64;
    error_fn error;
    free_fn dfree;
    disconnect_fn disconnect;
    close_fn close;
};

struct pqw_result {
    pqw_duck *d;
    duck_result r;
};

pqw_duck *pqw_duck_open(const char *libpath, char *err, size_t errlen)
{
    const char *env = getenv("PD_LIBDUCKDB");
    if (env && env[0]) {
        libpath = env;
    }
    void *lib = dlopen(libpath, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(err, errlen, "dlopen %s: %s", libpath, dlerror());
        return NULL;
    }
    pqw_duck *d = calloc(1, sizeof *d);
    if (!d) {
        dlclose(lib);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->lib = lib;
#define SYM(field, name, type)                                 \
    do {                                                       \
        void *s_ = dlsym(lib, name);                           \
        if (!s_) {                                             \
            snprintf(err, errlen, "libduckdb lacks %s", name); \
            dlclose(lib);                                      \
            free(d);                                           \
            return NULL;                                       \
        }                                                      \
        memcpy(&d->field, &s_, sizeof s_);                     \
    } while (0)
    SYM(open, "duckdb_open", open_fn);
    SYM(connect, "duckdb_connect", connect_fn);
    SYM(query, "duckdb_query", query_fn);
    SYM(destroy, "duckdb_destroy_result", destroy_fn);
    SYM(rows, "duckdb_row_count", rows_fn);
    SYM(varchar, "duckdb_value_varchar", varchar_fn);
    SYM(i64, "duckdb_value_int64", i64_fn);
    SYM(error, "duckdb_result_error", error_fn);
    SYM(dfree, "duckdb_free", free_fn);
    SYM(disconnect, "duckdb_disconnect", disconnect_fn);
    SYM(close, "duckdb_close", close_fn);
#undef SYM
    if (d->open(NULL, &d->db) != 0 || d->connect(d->db, &d->con) != 0) {
        snprintf(err, errlen, "duckdb_open/connect failed");
        if (d->db) {
            d->close(&d->db);
        }
        dlclose(lib);
        free(d);
        return NULL;
    }
    return d;
}

void pqw_duck_close(pqw_duck *d)
{
    if (!d) {
        return;
    }
    d->disconnect(&d->con);
    d->close(&d->db);
    /* libduckdb registers thread-local destructors: never dlclose it */
    free(d);
}

pqw_result *pqw_duck_query(pqw_duck *d, const char *sql, char *err, size_t errlen)
{
    pqw_result *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->d = d;
    if (d->query(d->con, sql, &r->r) != 0) {
        const char *m = d->error(&r->r);
        snprintf(err, errlen, "%s", m ? m : "query failed");
        d->destroy(&r->r);
        free(r);
        return NULL;
    }
    return r;
}

int pqw_duck_exec(pqw_duck *d, const char *sql, char *err, size_t errlen)
{
    pqw_result *r = pqw_duck_query(d, sql, err, errlen);
    if (!r) {
        return -1;
    }
    pqw_result_free(r);
    return 0;
}

uint64_t pqw_result_rows(pqw_result *r)
{
    return r->d->rows(&r->r);
}

char *pqw_result_text(pqw_result *r, uint64_t col, uint64_t row)
{
    char *v = r->d->varchar(&r->r, col, row);
    if (!v) {
        return NULL;
    }
    char *c = strdup(v);
    r->d->dfree(v);
    return c;
}

int64_t pqw_result_i64(pqw_result *r, uint64_t col, uint64_t row)
{
    return r->d->i64(&r->r, col, row);
}

void pqw_result_free(pqw_result *r)
{
    if (!r) {
        return;
    }
    r->d->destroy(&r->r);
    free(r);
}
