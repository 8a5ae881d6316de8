/*
 * bench/odbc/bench_odbc.c - the ODBC connector through Debian's
 * odbc-postgresql driver (psqlODBC) against a local Postgres, on the
 * benchmark table of PARQUET.md §18 (rows generated in C as Arrow batches
 * before timing starts), in one run:
 *
 *   load   parameter arrays (SQL_ATTR_PARAMSET_SIZE, column-wise)   ours
 *          row-at-a-time prepared INSERT, SQLExecute per row         peer
 *          binary COPY through libpq (our native backend)            reference
 *   fetch  block cursor (SQL_ATTR_ROW_ARRAY_SIZE) into Arrow         ours
 *          SQLFetch + SQLGetData per row and column into Arrow       peer
 *          binary COPY out through libpq                             reference
 *
 * The fetch peer is the standard row-at-a-time pattern of an ODBC
 * application (SQLGetData per column with the natural C type). Both ODBC
 * peers run over the same driver and connection settings
 * ($PD_BENCH_ODBC_ATTRS adds attributes to both); $PD_BENCH_FETCH_ONLY=1
 * loads the table by COPY and runs only the fetches (profiling: the
 * callgrind figures and why psqlODBC bounds the fetch ratio are in
 * docs/odbc.md). The row-at-a-time load is measured on the first
 * PEER_ROWS rows (default 200000: at one round trip per row a full run
 * would take minutes) and compared as rows/s; everything else uses all
 * rows. Prints rows/s and the ratios.
 *
 *   bench_odbc PG_URL PSQLODBC_SO [ROWS] [PEER_ROWS]   (defaults 2000000, 200000)
 */
#include "bench_table.h"
#include "pipedag/arrow.h"
#include "pipedag/common.h"
#include "store/dialect/dialect.h"
#include "store/odbc/odbc.h"
#include "store/postgres/libpq.h"
#include "util/util.h"

#include <inttypes.h>
#include <sql.h>
#include <sqlext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void die(const char *what)
{
    fprintf(stderr, "bench_odbc: %s: %s\n", what, pd_last_error());
    exit(1);
}

#define BATCH 500000

static void generate(int64_t rows, struct ArrowArrayStream *out)
{
    if (pdi_bench_table_generate(rows, BATCH, out))
        die("generating the table");
}

static const char *DDL = PDI_BENCH_TABLE_PG_DDL;
#define INS "INSERT INTO %s (id, a, x, cat, s, ts, n) VALUES (?, ?, ?, ?, ?, ?, ?)"

static int64_t count(pdi_odbc *c, const char *table)
{
    char sql[256], *v = NULL;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    if (pdi_odbc_query_value(c, sql, &v))
        die("count");
    int64_t n = v ? atoll(v) : -1;
    free(v);
    return n;
}

/* The peer load: one prepared INSERT, SQLExecute per row, one transaction. */
static void load_row_at_a_time(pdi_odbc *c, const char *table, int64_t rows)
{
    SQLHDBC dbc = pdi_odbc_raw_dbc(c);
    SQLHSTMT st = SQL_NULL_HSTMT;
    char sql[256];
    snprintf(sql, sizeof sql, INS, table);
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &st)) ||
        !SQL_SUCCEEDED(SQLPrepare(st, (SQLCHAR *)sql, SQL_NTS)))
        die("peer prepare");
    SQLBIGINT id, n;
    SQLINTEGER a;
    double x;
    char cat[16], s[16];
    SQL_TIMESTAMP_STRUCT ts;
    SQLLEN ind[7] = {0, 0, 0, SQL_NTS, SQL_NTS, 0, 0};
    SQLBindParameter(st, 1, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0, &id, 0, &ind[0]);
    SQLBindParameter(st, 2, SQL_PARAM_INPUT, SQL_C_SLONG, SQL_INTEGER, 0, 0, &a, 0, &ind[1]);
    SQLBindParameter(st, 3, SQL_PARAM_INPUT, SQL_C_DOUBLE, SQL_DOUBLE, 0, 0, &x, 0, &ind[2]);
    SQLBindParameter(st, 4, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, 15, 0, cat, 16, &ind[3]);
    SQLBindParameter(st, 5, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, 15, 0, s, 16, &ind[4]);
    SQLBindParameter(st, 6, SQL_PARAM_INPUT, SQL_C_TYPE_TIMESTAMP, SQL_TYPE_TIMESTAMP, 26, 6, &ts,
                     0, &ind[5]);
    SQLBindParameter(st, 7, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0, &n, 0, &ind[6]);
    if (pdi_odbc_begin(c))
        die("begin");
    for (int64_t i = 0; i < rows; i++) {
        uint64_t u = (uint64_t)i;
        id = i;
        a = (SQLINTEGER)((int64_t)(pdi_bench_sm64(8 * u + 1) >> 32) - 2147483648LL);
        x = (double)(pdi_bench_sm64(8 * u + 2) >> 11) * 0x1p-53;
        snprintf(cat, sizeof cat, "cat_%02d", (int)(pdi_bench_sm64(8 * u + 3) % 100));
        snprintf(s, sizeof s, "%012" PRIx64, pdi_bench_sm64(8 * u + 4) >> 16);
        int64_t us =
            1704067200000000LL + i * 1000000 + (int64_t)(pdi_bench_sm64(8 * u + 5) % 1000000);
        int64_t secs = us / 1000000, days = secs / 86400, sod = secs % 86400;
        /* civil date of `days` (>= 2024, positive) */
        int64_t z = days + 719468, era = z / 146097;
        unsigned doe = (unsigned)(z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
        unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
        ts.year = (SQLSMALLINT)((int64_t)yoe + era * 400 + (m <= 2));
        ts.month = (SQLUSMALLINT)m;
        ts.day = (SQLUSMALLINT)d;
        ts.hour = (SQLUSMALLINT)(sod / 3600);
        ts.minute = (SQLUSMALLINT)(sod / 60 % 60);
        ts.second = (SQLUSMALLINT)(sod % 60);
        ts.fraction = (SQLUINTEGER)(us % 1000000 * 1000);
        if (pdi_bench_sm64(8 * u + 6) % 10 == 0) {
            ind[6] = SQL_NULL_DATA;
        } else {
            ind[6] = 0;
            n = (SQLBIGINT)(pdi_bench_sm64(8 * u + 7) % 1000000000);
        }
        if (!SQL_SUCCEEDED(SQLExecute(st))) {
            pd_set_error(PD_ERR_SQL, "row %lld", (long long)i);
            die("peer insert");
        }
    }
    if (pdi_odbc_commit(c))
        die("commit");
    SQLFreeHandle(SQL_HANDLE_STMT, st);
}

static char *digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + n;
}

/* "YYYY-MM-DD HH:MM:SS.ffffff" (years 0..9999): the text the Arrow
 * builder takes for a timestamp, written without snprintf (which cost the
 * peer 13% of its instructions in the first profile). */
static size_t format_ts(char *out, const SQL_TIMESTAMP_STRUCT *t)
{
    char *p = digits(out, (unsigned)t->year, 4);
    *p++ = '-';
    p = digits(p, t->month, 2);
    *p++ = '-';
    p = digits(p, t->day, 2);
    *p++ = ' ';
    p = digits(p, t->hour, 2);
    *p++ = ':';
    p = digits(p, t->minute, 2);
    *p++ = ':';
    p = digits(p, t->second, 2);
    *p++ = '.';
    p = digits(p, t->fraction / 1000, 6);
    return (size_t)(p - out);
}

/* The peer fetch, the standard row-at-a-time pattern of an ODBC
 * application: SQLFetch per row, SQLGetData per column with the natural C
 * type (SQL_C_SBIGINT, SQL_C_SLONG, SQL_C_DOUBLE, SQL_C_CHAR,
 * SQL_C_TYPE_TIMESTAMP), each value appended to an Arrow builder. */
static __attribute__((noinline)) int64_t fetch_row_at_a_time(pdi_odbc *c, const char *sql)
{
    SQLHDBC dbc = pdi_odbc_raw_dbc(c);
    SQLHSTMT st = SQL_NULL_HSTMT;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &st)) ||
        !SQL_SUCCEEDED(SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS)))
        die("peer select");
    pd_arrow_builder *b = NULL;
    if (pdi_bench_table_builder(&b))
        die("builder");
    int64_t rows = 0;
    while (SQL_SUCCEEDED(SQLFetch(st))) {
        SQLBIGINT id = 0, n = 0;
        SQLINTEGER a = 0;
        double x = 0;
        char cat[64], s[64];
        SQL_TIMESTAMP_STRUCT ts;
        SQLLEN ind;
        SQLGetData(st, 1, SQL_C_SBIGINT, &id, 0, &ind);
        pd_arrow_builder_append_int(b, 0, id);
        SQLGetData(st, 2, SQL_C_SLONG, &a, 0, &ind);
        pd_arrow_builder_append_int(b, 1, a);
        SQLGetData(st, 3, SQL_C_DOUBLE, &x, 0, &ind);
        pd_arrow_builder_append_double(b, 2, x);
        SQLGetData(st, 4, SQL_C_CHAR, cat, sizeof cat, &ind);
        pd_arrow_builder_append_bytes(b, 3, cat, (size_t)ind);
        SQLGetData(st, 5, SQL_C_CHAR, s, sizeof s, &ind);
        pd_arrow_builder_append_bytes(b, 4, s, (size_t)ind);
        SQLGetData(st, 6, SQL_C_TYPE_TIMESTAMP, &ts, 0, &ind);
        char tb[32];
        pd_arrow_builder_append_bytes(b, 5, tb, format_ts(tb, &ts));
        SQLGetData(st, 7, SQL_C_SBIGINT, &n, 0, &ind);
        if (ind == SQL_NULL_DATA)
            pd_arrow_builder_append_null(b, 6);
        else
            pd_arrow_builder_append_int(b, 6, n);
        rows++;
        if (pd_arrow_builder_num_rows(b) == 65536) {
            struct ArrowArray arr;
            pd_arrow_builder_finish(b, NULL, &arr);
            arr.release(&arr);
        }
    }
    struct ArrowArray arr;
    pd_arrow_builder_finish(b, NULL, &arr);
    arr.release(&arr);
    pd_arrow_builder_free(b);
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    return rows;
}

static int64_t drain(struct ArrowArrayStream *st)
{
    int64_t rows = 0;
    for (;;) {
        struct ArrowArray a;
        if (st->get_next(st, &a) != 0) {
            fprintf(stderr, "bench_odbc: %s\n", st->get_last_error(st));
            exit(1);
        }
        if (!a.release)
            break;
        rows += a.length;
        a.release(&a);
    }
    st->release(st);
    return rows;
}

/* Ours: block cursors into Arrow (a function of its own for profiles). */
static __attribute__((noinline)) int64_t fetch_block(pdi_odbc *c, const char *sql)
{
    struct ArrowArrayStream out;
    if (pdi_odbc_read_arrow(c, sql, NULL, &out))
        die("block read");
    return drain(&out);
}

/* The native backend's read: binary COPY out through libpq. */
static __attribute__((noinline)) int64_t fetch_libpq(pdi_pg *pg, const char *sql)
{
    struct ArrowArrayStream out;
    if (pdi_pg_read_arrow(pg, sql, &out))
        die("libpq read");
    return drain(&out);
}

/* The three loads, timed, and their ratios. Consumes `in`. */
static void
load_all(pdi_odbc *c, pdi_pg *pg, struct ArrowArrayStream *in0, int64_t rows, int64_t peer_rows)
{
    struct ArrowArrayStream in = *in0;
    double t0;
    char ins[256];
    snprintf(ins, sizeof ins, INS, "pdbo.arrays");
    /* the multi-row form the dialect gives the backend: 64 tuples */
    pd_buf mb = PD_BUF_INIT;
    pdi_buf_puts(&mb, ins);
    for (int i = 1; i < 64; i++)
        pdi_buf_puts(&mb, ", (?, ?, ?, ?, ?, ?, ?)");
    pdi_odbc_exec(c, "CHECKPOINT");
    t0 = pdi_bench_now();
    int64_t loaded = 0;
    if (pdi_odbc_load_arrow(c, ins, mb.data, 64, &in, 0, &loaded))
        die("array load");
    double t_arrays = pdi_bench_now() - t0;
    in.release(&in);
    if (count(c, "pdbo.arrays") != rows)
        die("array load count");

    pdi_odbc_exec(c, "CHECKPOINT");
    t0 = pdi_bench_now();
    load_row_at_a_time(c, "pdbo.rows", peer_rows);
    double t_rows = pdi_bench_now() - t0;
    if (count(c, "pdbo.rows") != peer_rows)
        die("row load count");

    generate(rows, &in);
    pdi_odbc_exec(c, "CHECKPOINT");
    t0 = pdi_bench_now();
    struct ArrowSchema cs;
    if (in.get_schema(&in, &cs))
        die("schema");
    char *copy_sql = pdi_sql_pg_copy_in("pdbo", "copy", &cs);
    cs.release(&cs);
    if (!copy_sql || pdi_pg_load_arrow(pg, copy_sql, "pdbo.copy", &in, &loaded))
        die("libpq load");
    free(copy_sql);
    double t_copy = pdi_bench_now() - t0;
    in.release(&in);

    double r_arrays = (double)rows / t_arrays, r_rows = (double)peer_rows / t_rows,
           r_copy = (double)rows / t_copy;
    printf("\nload (psqlODBC %s)\n", pdi_odbc_driver_name(c));
    printf("  ODBC parameter arrays     %8.2f s  %10.0f rows/s\n", t_arrays, r_arrays);
    printf("  ODBC row-at-a-time        %8.2f s  %10.0f rows/s  (%lld rows)\n", t_rows, r_rows,
           (long long)peer_rows);
    printf("  libpq binary COPY         %8.2f s  %10.0f rows/s\n", t_copy, r_copy);
    printf("  ratio arrays / row-at-a-time: %.1fx   arrays / libpq COPY: %.2fx\n",
           r_arrays / r_rows, r_arrays / r_copy);
    pdi_buf_free(&mb);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_odbc PG_URL PSQLODBC_SO [ROWS] [PEER_ROWS]\n");
        return 2;
    }
    const char *url = argv[1];
    const char *driver = argv[2];
    int64_t rows = argc > 3 ? atoll(argv[3]) : 2000000;
    int64_t peer_rows = argc > 4 ? atoll(argv[4]) : 200000;
    if (peer_rows > rows)
        peer_rows = rows;
    const char *rest = strstr(url, "://");
    if (!rest)
        return 2;
    /* $PD_BENCH_ODBC_ATTRS: more connection attributes for both ODBC
     * paths (e.g. UseDeclareFetch=1&Fetch=10000) */
    const char *attrs = getenv("PD_BENCH_ODBC_ATTRS");
    char *ourl = pdi_asprintf("postgresql+odbc://%s?driver=%s%s%s", rest + 3, driver,
                              attrs && *attrs ? "&" : "", attrs ? attrs : "");
    pdi_odbc *c = NULL;
    if (pdi_odbc_connect_url(ourl, &c))
        die("odbc connect");
    pdi_pg *pg = NULL;
    if (pdi_pg_connect(url, false, &pg))
        die("libpq connect");
    if (pdi_odbc_exec(c, "DROP SCHEMA IF EXISTS pdbo CASCADE") ||
        pdi_odbc_exec(c, "CREATE SCHEMA pdbo"))
        die("schema");
    char ddl[512];
    const char *tables[] = {"pdbo.arrays", "pdbo.rows", "pdbo.copy"};
    for (int i = 0; i < 3; i++) {
        snprintf(ddl, sizeof ddl, "CREATE TABLE %s %s", tables[i], DDL);
        if (pdi_odbc_exec(c, ddl))
            die("ddl");
    }
    printf("rows: %lld (row-at-a-time load peer: %lld rows)\n", (long long)rows,
           (long long)peer_rows);
    double t0 = pdi_bench_now();
    struct ArrowArrayStream in;
    generate(rows, &in);
    printf("generate Arrow batches in C: %.2f s (not timed)\n", pdi_bench_now() - t0);

    const char *fo = getenv("PD_BENCH_FETCH_ONLY");
    if (fo && *fo && strcmp(fo, "0") != 0) {
        /* profiling the fetch (valgrind): the table loaded by libpq COPY */
        struct ArrowSchema cs;
        if (in.get_schema(&in, &cs))
            die("schema");
        char *copy_sql = pdi_sql_pg_copy_in("pdbo", "arrays", &cs);
        cs.release(&cs);
        int64_t loaded = 0;
        if (!copy_sql || pdi_pg_load_arrow(pg, copy_sql, "pdbo.arrays", &in, &loaded))
            die("libpq load");
        free(copy_sql);
        in.release(&in);
    } else {
        load_all(c, pg, &in, rows, peer_rows);
    }

    /* ---- fetch ---- */
    const char *sel = "SELECT id, a, x, cat, s, ts, n FROM pdbo.arrays";
    t0 = pdi_bench_now();
    int64_t got = fetch_block(c, sel);
    double t_block = pdi_bench_now() - t0;
    if (got != rows)
        die("block read count");
    t0 = pdi_bench_now();
    got = fetch_row_at_a_time(c, sel);
    double t_rowf = pdi_bench_now() - t0;
    if (got != rows)
        die("row fetch count");
    t0 = pdi_bench_now();
    got = fetch_libpq(pg, sel);
    double t_copyout = pdi_bench_now() - t0;
    printf("\nfetch into Arrow\n");
    printf("  ODBC block cursor         %8.2f s  %10.0f rows/s\n", t_block, rows / t_block);
    printf("  ODBC SQLFetch row loop    %8.2f s  %10.0f rows/s\n", t_rowf, rows / t_rowf);
    printf("  libpq binary COPY out     %8.2f s  %10.0f rows/s\n", t_copyout, rows / t_copyout);
    printf("  ratio block / row loop: %.1fx   block / libpq COPY: %.2fx\n", t_rowf / t_block,
           t_copyout / t_block);

    pdi_odbc_exec(c, "DROP SCHEMA pdbo CASCADE");
    pdi_odbc_close(c);
    pdi_pg_close(pg);
    free(ourl);
    return 0;
}
