/*
 * tests/odbc/test_odbc_url.c - URLs of the seed and the odbc:// forms
 * turned into ODBC connection strings; masking; the unknown-dialect warning
 * is given once. No server needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipedag/common.h"
#include "store/odbc/odbc.h"

#include <stdlib.h>
#include <string.h>

static void parse_ok(const char *url, pdi_odbc_target *t)
{
    int rc = pdi_odbc_url_parse(url, t);
    if (rc)
        fail_msg("parse %s: %s", url, pd_last_error());
}

static void seed_mssql(void **st)
{
    (void)st;
    pdi_odbc_target t;
    parse_ok("mssql+pyodbc://user:password@127.0.0.1:1433/inst_1?driver=ODBC+Driver+18+for+SQL+"
             "Server&encrypt=no",
             &t);
    assert_string_equal(t.dialect, "mssql");
    assert_true(t.known);
    assert_string_equal(t.driver, "ODBC Driver 18 for SQL Server");
    assert_string_equal(t.connstr, "DRIVER={ODBC Driver 18 for SQL Server};SERVER=127.0.0.1,1433;"
                                   "DATABASE=inst_1;UID=user;PWD={password};encrypt=no");
    assert_string_equal(t.masked, "DRIVER={ODBC Driver 18 for SQL Server};SERVER=127.0.0.1,1433;"
                                  "DATABASE=inst_1;UID=user;PWD=***;encrypt=no");
    assert_null(strstr(t.masked, "password"));
    pdi_odbc_target_clear(&t);

    /* FreeTDS wants SERVER and PORT apart */
    parse_ok("mssql+pyodbc://sa:p%3Bw%7D@db.local:14330/x?driver=FreeTDS&TDS_Version=7.4", &t);
    assert_string_equal(t.password, "p;w}");
    assert_string_equal(t.connstr, "DRIVER={FreeTDS};SERVER=db.local;PORT=14330;DATABASE=x;UID=sa;"
                                   "PWD={p;w}}};TDS_Version=7.4");
    assert_string_equal(t.masked, "DRIVER={FreeTDS};SERVER=db.local;PORT=14330;DATABASE=x;UID=sa;"
                                  "PWD=***;TDS_Version=7.4");
    pdi_odbc_target_clear(&t);

    /* no driver given: Microsoft's */
    parse_ok("mssql://u:p@h/db", &t);
    assert_string_equal(
        t.connstr, "DRIVER={ODBC Driver 18 for SQL Server};SERVER=h;DATABASE=db;UID=u;PWD={p}");
    pdi_odbc_target_clear(&t);
}

static void seed_db2(void **st)
{
    (void)st;
    pdi_odbc_target t;
    parse_ok("db2+ibm_db://db2inst1:password@localhost:50000/testdb", &t);
    assert_string_equal(t.dialect, "db2");
    assert_string_equal(t.connstr,
                        "DRIVER={IBM DB2 ODBC DRIVER};DATABASE=testdb;HOSTNAME=localhost;"
                        "PORT=50000;PROTOCOL=TCPIP;UID=db2inst1;PWD={password}");
    assert_string_equal(t.masked, "DRIVER={IBM DB2 ODBC DRIVER};DATABASE=testdb;HOSTNAME=localhost;"
                                  "PORT=50000;PROTOCOL=TCPIP;UID=db2inst1;PWD=***");
    pdi_odbc_target_clear(&t);
    parse_ok("ibm_db_sa://a:b@h:1/d?driver=DB2", &t);
    assert_string_equal(t.dialect, "db2");
    assert_string_equal(t.driver, "DB2");
    pdi_odbc_target_clear(&t);
}

static void seed_snowflake(void **st)
{
    (void)st;
    pdi_odbc_target t;
    /* as the config loader leaves it after {$ENV} expansion */
    parse_ok("snowflake://alice:s3cr%40t@xy12345.eu-central-1/database_name?warehouse=warehouse_"
             "name&role=access_role",
             &t);
    assert_string_equal(t.dialect, "snowflake");
    assert_string_equal(t.password, "s3cr@t");
    assert_string_equal(
        t.connstr, "DRIVER={SnowflakeDSIIDriver};SERVER=xy12345.eu-central-1.snowflakecomputing."
                   "com;ACCOUNT=xy12345;DATABASE=database_name;UID=alice;PWD={s3cr@t};"
                   "warehouse=warehouse_name;role=access_role");
    assert_null(strstr(t.masked, "s3cr"));
    pdi_odbc_target_clear(&t);
    parse_ok("snowflake://u:p@acc/db/sch", &t);
    assert_string_equal(t.connstr, "DRIVER={SnowflakeDSIIDriver};SERVER=acc.snowflakecomputing.com;"
                                   "ACCOUNT=acc;DATABASE=db;SCHEMA=sch;UID=u;PWD={p}");
    pdi_odbc_target_clear(&t);
}

static void odbc_forms(void **st)
{
    (void)st;
    pdi_odbc_target t;
    parse_ok("odbc://?dsn=warehouse", &t);
    assert_string_equal(t.dsn, "warehouse");
    assert_false(t.known);
    assert_string_equal(t.connstr, "DSN=warehouse");
    pdi_odbc_target_clear(&t);

    parse_ok("odbc://bob:pw@/?dsn=my+dsn&Trusted_Connection=no", &t);
    assert_string_equal(t.connstr, "DSN=my dsn;UID=bob;PWD={pw};Trusted_Connection=no");
    assert_string_equal(t.masked, "DSN=my dsn;UID=bob;PWD=***;Trusted_Connection=no");
    pdi_odbc_target_clear(&t);

    parse_ok("cockroachdb+odbc://root:pw@[::1]:26257/defaultdb?driver=%2Fusr%2Flib%2Fpsqlodbcw.so&"
             "sslmode=disable",
             &t);
    assert_string_equal(t.dialect, "cockroachdb");
    assert_false(t.known);
    assert_string_equal(t.host, "::1");
    assert_string_equal(t.connstr, "DRIVER={/usr/lib/psqlodbcw.so};SERVER=::1;PORT=26257;"
                                   "DATABASE=defaultdb;UID=root;PWD={pw};sslmode=disable;"
                                   "BoolsAsChar=0;ByteaAsLongVarBinary=1;BatchSize=1");
    pdi_odbc_target_clear(&t);

    parse_ok("postgresql+odbc://u:p@h:5432/db", &t);
    assert_true(t.known);
    assert_string_equal(t.driver, "PostgreSQL Unicode");
    pdi_odbc_target_clear(&t);

    parse_ok("sqlite+odbc:////tmp/x/db.sqlite", &t);
    assert_string_equal(t.connstr,
                        "DRIVER={SQLite3};DATABASE=/tmp/x/db.sqlite;BigInt=1;Timeout=60000;StepAPI=1");
    pdi_odbc_target_clear(&t);
    parse_ok("sqlite+odbc:///rel/db.sqlite?driver=SQLite3&Timeout=5000", &t);
    assert_string_equal(t.connstr, "DRIVER={SQLite3};DATABASE=rel/db.sqlite;Timeout=5000;BigInt=1;StepAPI=1");
    pdi_odbc_target_clear(&t);

    /* a raw connection string, password added masked */
    parse_ok("mssql+pyodbc://u:pw@/?odbc_connect=DRIVER%3D%7BFreeTDS%7D%3BSERVER%3Dh%3BPWD%3Dx",
             &t);
    assert_string_equal(t.connstr, "DRIVER={FreeTDS};SERVER=h;PWD=x;UID=u;PWD={pw}");
    assert_string_equal(t.masked, "DRIVER={FreeTDS};SERVER=h;PWD=***;UID=u;PWD=***");
    pdi_odbc_target_clear(&t);

    /* password given as a query parameter is masked too */
    parse_ok("odbc://?dsn=d&PWD=topsecret", &t);
    assert_null(strstr(t.masked, "topsecret"));
    pdi_odbc_target_clear(&t);
}

static void bad_urls(void **st)
{
    (void)st;
    pdi_odbc_target t;
    assert_int_equal(pdi_odbc_url_parse("cockroachdb+odbc://u:secretpw@h/db", &t), PD_ERR_CONFIG);
    assert_non_null(strstr(pd_last_error(), "driver"));
    assert_null(strstr(pd_last_error(), "secretpw"));
    assert_int_equal(pdi_odbc_url_parse("odbc://?dsn=a&driver=b", &t), PD_ERR_CONFIG);
    assert_int_equal(pdi_odbc_url_parse("mssql://u:secretpw@h:14x3/db", &t), PD_ERR_CONFIG);
    assert_null(strstr(pd_last_error(), "secretpw"));
    assert_int_equal(pdi_odbc_url_parse("no-scheme", &t), PD_ERR_CONFIG);
}

static void is_odbc(void **st)
{
    (void)st;
    assert_true(pdi_odbc_url_is_odbc("mssql+pyodbc://h/db"));
    assert_true(pdi_odbc_url_is_odbc("db2+ibm_db://h/db"));
    assert_true(pdi_odbc_url_is_odbc("snowflake://a/b"));
    assert_true(pdi_odbc_url_is_odbc("odbc://?dsn=x"));
    assert_true(pdi_odbc_url_is_odbc("postgresql+odbc://h/db"));
    assert_true(pdi_odbc_url_is_odbc("cockroachdb+odbc://h/db"));
    assert_false(pdi_odbc_url_is_odbc("postgresql://h/db"));
    assert_false(pdi_odbc_url_is_odbc("sqlite:///x"));
    assert_false(pdi_odbc_url_is_odbc("duckdb:///x"));
}

static void mask_connstr(void **st)
{
    (void)st;
    char *m = pdi_odbc_mask_connstr("DRIVER={x};Password={a;b}}c};UID=u;pwd=zz");
    assert_string_equal(m, "DRIVER={x};Password=***;UID=u;pwd=***");
    free(m);
}

static void warn_once(void **st)
{
    (void)st;
    assert_true(pdi_odbc_warn_unknown_dialect("frobdb"));
    assert_false(pdi_odbc_warn_unknown_dialect("frobdb"));
    assert_true(pdi_odbc_warn_unknown_dialect("otherdb"));
}

static void hints(void **st)
{
    (void)st;
    assert_non_null(strstr(pdi_odbc_install_hint("FreeTDS"), "tdsodbc"));
    assert_non_null(strstr(pdi_odbc_install_hint("ODBC Driver 18 for SQL Server"), "msodbcsql18"));
    assert_non_null(strstr(pdi_odbc_install_hint("IBM DB2 ODBC DRIVER"), "clidriver"));
    assert_non_null(strstr(pdi_odbc_install_hint("SnowflakeDSIIDriver"), "Snowflake"));
    assert_non_null(strstr(pdi_odbc_install_hint("PostgreSQL Unicode"), "odbc-postgresql"));
}

static void expect_split(const char *dialect, const char *sql, const char *const *want, size_t n)
{
    pd_strv v = PD_STRV_INIT;
    assert_int_equal(pdi_odbc_split_script(dialect, false, sql, &v), PD_OK);
    if (v.n != n) {
        for (size_t i = 0; i < v.n; i++)
            print_message("piece %zu: [%s]\n", i, v.items[i]);
        fail_msg("%s: %zu pieces, expected %zu", sql, v.n, n);
    }
    for (size_t i = 0; i < n; i++)
        assert_string_equal(v.items[i], want[i]);
    pdi_strv_free(&v);
}

static void split_scripts(void **st)
{
    (void)st;
    const char *a[] = {"CREATE TABLE a (x int)", "INSERT INTO a VALUES (';')",
                       "-- c;\nSELECT \"x;y\" FROM a"};
    expect_split("db2",
                 "CREATE TABLE a (x int);\n INSERT INTO a VALUES (';');\n-- c;\nSELECT "
                 "\"x;y\" FROM a;\n;  \n-- trailing comment;\n",
                 a, 3);
    const char *b[] = {"BEGIN DECLARE CONTINUE HANDLER FOR SQLSTATE '42710' BEGIN END; "
                       "EXECUTE IMMEDIATE 'CREATE SCHEMA s'; END",
                       "SELECT CASE WHEN 1=1 THEN 'a;' END FROM t"};
    expect_split("db2",
                 "BEGIN DECLARE CONTINUE HANDLER FOR SQLSTATE '42710' BEGIN END; "
                 "EXECUTE IMMEDIATE 'CREATE SCHEMA s'; END;\nSELECT CASE WHEN 1=1 THEN 'a;' "
                 "END FROM t;",
                 b, 2);
    const char *c[] = {"BEGIN", "INSERT INTO t VALUES (1)", "COMMIT"};
    expect_split("sqlite", "BEGIN; INSERT INTO t VALUES (1); COMMIT;", c, 3);
    const char *d[] = {"CREATE PROCEDURE p AS\nBEGIN\n  SELECT 1; SELECT 2;\nEND",
                       "PRINT 'go'\nEXEC p", "SELECT [go\ngo] FROM t"};
    expect_split("mssql",
                 "CREATE PROCEDURE p AS\nBEGIN\n  SELECT 1; SELECT 2;\nEND\nGO\nPRINT "
                 "'go'\nEXEC p\n  go  \nSELECT [go\ngo] FROM t\nGO -- done\n",
                 d, 3);
    pd_strv v = PD_STRV_INIT;
    assert_int_equal(pdi_odbc_split_script("postgresql", true, "SELECT 1; SELECT 2", &v), PD_OK);
    assert_int_equal(v.n, 1);
    pdi_strv_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seed_mssql),     cmocka_unit_test(seed_db2),
        cmocka_unit_test(seed_snowflake), cmocka_unit_test(odbc_forms),
        cmocka_unit_test(bad_urls),       cmocka_unit_test(is_odbc),
        cmocka_unit_test(mask_connstr),   cmocka_unit_test(warn_once),
        cmocka_unit_test(hints),          cmocka_unit_test(split_scripts),
    };
    return cmocka_run_group_tests_name("odbc/url", tests, NULL, NULL);
}
