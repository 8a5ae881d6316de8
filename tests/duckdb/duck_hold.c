/*
 * tests/duckdb/duck_hold.c - hold a DuckDB file open, as a SQL UI would:
 * opens FILE, prints "held <pid>" on stdout, sleeps MS milliseconds, closes.
 *   duck_hold FILE MS
 */
#include "store/duckdb/duck.h"
#include "util/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    pdi_duck_open_opts o = {30, true};
    pdi_duck_db *db = NULL;
    pdi_duck_conn *c = NULL;
    if (pdi_duck_db_open(argv[1], &o, &db) || pdi_duck_connect(db, &c)) {
        fprintf(stderr, "duck_hold: %s\n", pd_last_error());
        return 1;
    }
    printf("held %d\n", (int)getpid());
    fflush(stdout);
    usleep((useconds_t)atoi(argv[2]) * 1000);
    pdi_duck_disconnect(c);
    pdi_duck_db_release(db);
    return 0;
}
