/*
 * tests/duckdb/duck_hold.c - hold a DuckDB file open, as a SQL UI would:
 * opens FILE, prints "held <pid>" on stdout, sleeps MS milliseconds, closes.
 * With RELEASE, it closes as soon as the file RELEASE exists (MS is then only
 * the upper bound), so a test decides when the holder lets go instead of
 * racing a fixed duration against a loaded machine.
 *   duck_hold FILE MS [RELEASE]
 */
#include "store/duckdb/duck.h"
#include "util/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4)
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
    long ms = atol(argv[2]);
    if (argc == 4) {
        for (long t = 0; t < ms && access(argv[3], F_OK) != 0; t += 20)
            usleep(20 * 1000);
    } else {
        usleep((useconds_t)ms * 1000);
    }
    pdi_duck_disconnect(c);
    pdi_duck_db_release(db);
    return 0;
}
