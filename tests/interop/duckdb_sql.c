/*
 * tests/interop/duckdb_sql.c - run SQL in an in-memory DuckDB loaded with
 * dlopen (libduckdb.so ships with the npm package @duckdb/node-bindings-*,
 * without a header, so the few C API functions used are declared here) and
 * print every row of the last statement's result, columns separated by tabs,
 * NULL as "NULL". Used by the Parquet interop tests to write files with
 * DuckDB and to render what DuckDB reads from ours.
 *
 * Usage: duckdb_sql LIBDUCKDB.so SQL...   (the arguments are joined by ' ')
 *        duckdb_sql LIBDUCKDB.so -f FILE.sql
 *        duckdb_sql LIBDUCKDB.so --jsonl FILE.parquet
 * --jsonl prints one JSON object per row of the file, as DuckDB reads it
 * (to_json of every column; BLOB columns as lower-case hex strings).
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Opaque handles and the result struct of the DuckDB 1.x C API. The result
 * struct is 48 bytes (six 8-byte fields); it is only passed by pointer, and
 * we reserve more room than needed. */
typedef struct {
    void *internal_ptr;
} * ddb_database;
typedef struct {
    void *internal_ptr;
} * ddb_connection;
typedef uint64_t ddb_idx;
typedef struct {
    uint64_t words[16];
} ddb_result;

typedef int (*fn_open)(const char *, ddb_database *);
typedef int (*fn_connect)(ddb_database, ddb_connection *);
typedef int (*fn_query)(ddb_connection, const char *, ddb_result *);
typedef const char *(*fn_result_error)(ddb_result *);
typedef ddb_idx (*fn_count)(ddb_result *);
typedef char *(*fn_value_varchar)(ddb_result *, ddb_idx, ddb_idx);
typedef _Bool (*fn_value_is_null)(ddb_result *, ddb_idx, ddb_idx);
typedef void (*fn_free)(void *);
typedef void (*fn_destroy_result)(ddb_result *);
typedef void (*fn_disconnect)(ddb_connection *);
typedef void (*fn_close)(ddb_database *);

static void *sym(void *h, const char *name)
{
    void *p = dlsym(h, name);
    if (!p) {
        fprintf(stderr, "duckdb_sql: symbol %s missing: %s\n", name, dlerror());
        exit(2);
    }
    return p;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    if (!buf) {
        exit(2);
    }
    buf[len] = '\0';
    return buf;
}

static fn_query d_query;
static fn_result_error d_error;
static fn_count d_rows, d_cols;
static fn_value_varchar d_varchar;
static fn_value_is_null d_is_null;
static fn_free d_free;
static fn_destroy_result d_destroy;

/* Run sql; if out is non-NULL print the rows to it. If cells is non-NULL,
 * store the first two columns of every row there (malloc'd strings). */
static int run(ddb_connection con, const char *sql, FILE *out, char ***cells, size_t *ncells)
{
    ddb_result res;
    memset(&res, 0, sizeof res);
    int rc = 0;
    if (d_query(con, sql, &res) != 0) {
        const char *e = d_error(&res);
        fprintf(stderr, "duckdb_sql: %s\n", e ? e : "query failed");
        rc = 1;
    } else {
        ddb_idx rows = d_rows(&res), cols = d_cols(&res);
        if (cells) {
            *cells = calloc(rows * 2 + 1, sizeof **cells);
            *ncells = 0;
        }
        for (ddb_idx r = 0; r < rows; r++) {
            for (ddb_idx c = 0; c < cols; c++) {
                char *v = d_is_null(&res, c, r) ? NULL : d_varchar(&res, c, r);
                if (out) {
                    if (c) {
                        fputc('\t', out);
                    }
                    fputs(v ? v : "NULL", out);
                }
                if (cells && c < 2 && *cells) {
                    (*cells)[(*ncells)++] = strdup(v ? v : "NULL");
                }
                if (v) {
                    d_free(v);
                }
            }
            if (out) {
                fputc('\n', out);
            }
        }
    }
    d_destroy(&res);
    return rc;
}

/* Append s to the growing string *buf. */
static void cat(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        while (*len + n + 1 > *cap) {
            *cap = *cap ? *cap * 2 : 1024;
        }
        *buf = realloc(*buf, *cap);
        if (!*buf) {
            exit(2);
        }
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

static void cat_quoted(char **buf, size_t *len, size_t *cap, const char *s, char q)
{
    char one[2] = {q, 0};
    cat(buf, len, cap, one);
    for (const char *p = s; *p; p++) {
        char c[3] = {*p, 0, 0};
        if (*p == q) {
            c[1] = q;
        }
        cat(buf, len, cap, c);
    }
    cat(buf, len, cap, one);
}

static int jsonl(ddb_connection con, const char *file)
{
    char *sql = NULL;
    size_t len = 0, cap = 0;
    cat(&sql, &len, &cap, "DESCRIBE SELECT * FROM read_parquet(");
    cat_quoted(&sql, &len, &cap, file, '\'');
    cat(&sql, &len, &cap, ")");
    char **cells = NULL;
    size_t n = 0;
    if (run(con, sql, NULL, &cells, &n) != 0) {
        free(sql);
        return 1;
    }
    len = 0;
    cat(&sql, &len, &cap, "SELECT to_json(struct_pack(");
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (i) {
            cat(&sql, &len, &cap, ", ");
        }
        cat_quoted(&sql, &len, &cap, cells[i], '"');
        cat(&sql, &len, &cap, " := ");
        if (strcmp(cells[i + 1], "BLOB") == 0) {
            cat(&sql, &len, &cap, "lower(hex(");
            cat_quoted(&sql, &len, &cap, cells[i], '"');
            cat(&sql, &len, &cap, "))");
        } else {
            cat_quoted(&sql, &len, &cap, cells[i], '"');
        }
    }
    cat(&sql, &len, &cap, ")) FROM read_parquet(");
    cat_quoted(&sql, &len, &cap, file, '\'');
    cat(&sql, &len, &cap, ")");
    for (size_t i = 0; i < n; i++) {
        free(cells[i]);
    }
    free(cells);
    int rc = run(con, sql, stdout, NULL, NULL);
    free(sql);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: duckdb_sql LIBDUCKDB.so SQL... | -f FILE | --jsonl FILE\n");
        return 2;
    }
    const char *jsonl_file = NULL;
    char *sql = NULL;
    if (strcmp(argv[2], "--jsonl") == 0 && argc == 4) {
        jsonl_file = argv[3];
    } else if (strcmp(argv[2], "-f") == 0 && argc == 4) {
        sql = read_all(argv[3]);
    } else {
        size_t total = 1;
        for (int i = 2; i < argc; i++) {
            total += strlen(argv[i]) + 1;
        }
        sql = malloc(total);
        if (!sql) {
            return 2;
        }
        sql[0] = '\0';
        for (int i = 2; i < argc; i++) {
            strcat(sql, argv[i]);
            strcat(sql, " ");
        }
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "duckdb_sql: cannot load %s: %s\n", argv[1], dlerror());
        return 2;
    }
    fn_open d_open = (fn_open)sym(h, "duckdb_open");
    fn_connect d_connect = (fn_connect)sym(h, "duckdb_connect");
    d_query = (fn_query)sym(h, "duckdb_query");
    d_error = (fn_result_error)sym(h, "duckdb_result_error");
    d_rows = (fn_count)sym(h, "duckdb_row_count");
    d_cols = (fn_count)sym(h, "duckdb_column_count");
    d_varchar = (fn_value_varchar)sym(h, "duckdb_value_varchar");
    d_is_null = (fn_value_is_null)sym(h, "duckdb_value_is_null");
    d_free = (fn_free)sym(h, "duckdb_free");
    d_destroy = (fn_destroy_result)sym(h, "duckdb_destroy_result");
    fn_disconnect d_disconnect = (fn_disconnect)sym(h, "duckdb_disconnect");
    fn_close d_close = (fn_close)sym(h, "duckdb_close");

    ddb_database db = NULL;
    ddb_connection con = NULL;
    if (d_open(NULL, &db) != 0 || d_connect(db, &con) != 0) {
        fprintf(stderr, "duckdb_sql: cannot open an in-memory database\n");
        return 2;
    }
    int rc = run(con, "SET TimeZone = 'UTC'", NULL, NULL, NULL);
    if (rc == 0) {
        rc = jsonl_file ? jsonl(con, jsonl_file) : run(con, sql, stdout, NULL, NULL);
    }
    d_disconnect(&con);
    d_close(&db);
    free(sql);
    /* libduckdb is not unloaded: its static destructors run at exit. */
    return rc;
}
