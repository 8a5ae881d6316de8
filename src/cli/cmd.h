/*
 * cli/cmd.h - shared option parsing and helpers of the `pipedag` command's
 * subcommands (main.c, cmd_run.c, cmd_store.c, cmd_visualize.c).
 */
#ifndef PD_CLI_CMD_H
#define PD_CLI_CMD_H

#include "pipedag/pipedag.h"
#include "util/util.h"
#include <stdbool.h>

#define PDC_EXIT_OK    0
#define PDC_EXIT_FAIL  1
#define PDC_EXIT_USAGE 2

typedef struct pdc_opts {
    const char *config;
    const char *instance;
    pd_strv stages;
    pd_strv tasks;
    const char *cache;
    int jobs;      /* 0 = from config */
    int fail_fast; /* -1: from the config, 0: --no-fail-fast, 1: --fail-fast */
    bool json;
    bool yes;
    const char *format;
    const char *output;
    pd_strv args; /* positional arguments */
} pdc_opts;

/* Parse argv[1..] (argv[0] is the subcommand). `allowed` lists the long
 * option names this command accepts, e.g. "config,instance,json". Returns
 * PDC_EXIT_OK or PDC_EXIT_USAGE (message printed). */
int pdc_parse(int argc, char **argv, const char *allowed, pdc_opts *o);
void pdc_opts_free(pdc_opts *o);
/* pdc_parse, then require exactly `nargs` positional arguments: otherwise
 * print `usage` (NULL: "<cmd>: unexpected argument '<first>'", for nargs 0)
 * and return PDC_EXIT_USAGE. On any non-OK return `o` is already freed. */
int pdc_parse_args(
    int argc, char **argv, const char *allowed, size_t nargs, const char *usage, pdc_opts *o);
/* Print "pipedag: error: <pd_last_error()>" (or msg) to stderr. */
void pdc_error(const char *what);
int pdc_usage(const char *fmt, ...) PD_PRINTF(1, 2);
int pdc_load_config(const pdc_opts *o, pd_config **cfg);

int pdc_cmd_run(int argc, char **argv);
int pdc_cmd_show(int argc, char **argv);
int pdc_cmd_explain(int argc, char **argv);
int pdc_cmd_query(int argc, char **argv);
int pdc_cmd_config(int argc, char **argv);
int pdc_cmd_delete_schemas(int argc, char **argv);
int pdc_cmd_clear_metadata(int argc, char **argv);
int pdc_cmd_sync_metadata(int argc, char **argv);
int pdc_cmd_visualize(int argc, char **argv);

#endif
