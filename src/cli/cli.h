/*
 * cli/cli.h - entry points of the `pipedag` command's subcommands.
 *
 * main.c dispatches on argv[1]; each cmd_*.c file implements one group.
 * Each returns the process exit status.
 */
#ifndef PD_CLI_H
#define PD_CLI_H

/* `pipedag parquet schema|meta|head|cat|convert FILE...` (cmd_parquet.c).
 * argv[0] is "parquet". */
int pdi_cli_parquet(int argc, char **argv);

#endif
