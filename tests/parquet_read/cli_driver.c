/*
 * tests/parquet_read/cli_driver.c - runs `pipedag parquet ...` through
 * pdi_cli_parquet() so the command can be tested without the main CLI.
 * Usage: pq_cli_driver schema|meta|head|cat|convert ARGS...
 */
#include "cli/cli.h"

#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    argv[0] = "parquet";
    return pdi_cli_parquet(argc, argv);
}
