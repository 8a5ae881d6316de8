/*
 * cli/main.c - the `pipedag` command: dispatch to subcommands, help,
 * --version, the shared option parser, and a weak fallback for
 * `pipedag parquet` used when the Parquet tools are not linked in.
 * Exit status: 0 success, 1 failure (a task failed, an error), 2 usage.
 */
#include "cli/cli.h"
#include "cli/cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: pipedag COMMAND [ARGS] [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  run FLOW            run a flow file (YAML)\n"
    "      --stage S         run (and commit) only stage S (repeatable)\n"
    "      --task T          run only task T or stage.T, never commit (repeatable)\n"
    "      --cache MODE      normal, assert_no_fresh_input, ignore_fresh_input,\n"
    "                        force_fresh_input, force_cache_invalid\n"
    "      --jobs N          number of worker threads (default: from config)\n"
    "      --fail-fast       stop at the first failing task\n"
    "      --no-fail-fast    run every task that can run (overrides fail_fast: true)\n"
    "      --json            print the result as one JSON object on stdout\n"
    "  show FLOW           what a run would do and why, without running or writing\n"
    "                      (takes --stage, --task and --cache like run)\n"
    "  explain FLOW TASK   which part of TASK's cache key changed\n"
    "  query SQL           run SQL on the table store; CSV with header on stdout\n"
    "  visualize FLOW      graph of the flow, coloured by the states of the last run\n"
    "      --format dot|svg  (default dot; svg needs graphviz `dot`)\n"
    "      -o FILE           write to FILE instead of stdout\n"
    "  config              print the resolved configuration (secrets masked)\n"
    "  delete-schemas      drop every schema of the instance [--yes]\n"
    "  clear-metadata      drop the pipedag_metadata schema [--yes]\n"
    "  sync-metadata       ParquetTableStore: bring this catalog's views in line\n"
    "                      with the shared metadata store (no run)\n"
    "  parquet ...         Parquet file tools (pipedag parquet help)\n"
    "  help                this text\n"
    "\n"
    "common options:\n"
    "  --config FILE       pipedag.yaml (default: $PIPEDAG_CONFIG, then ./pipedag.yaml\n"
    "                      and parents, else a SQLite store under ./.pipedag)\n"
    "  --instance NAME     instance of the config\n"
    "  --version           print the version\n";

/* Used when cmd_parquet.c is not part of the build. */
__attribute__((weak)) int pd_cli_parquet(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "pipedag: error: parquet support not built\n");
    return PDC_EXIT_FAIL;
}

void pdc_error(const char *what)
{
    const char *msg = pd_last_error();
    if (what && *msg) {
        fprintf(stderr, "pipedag: error: %s: %s\n", what, msg);
    } else {
        fprintf(stderr, "pipedag: error: %s\n", *msg ? msg : (what ? what : "failed"));
    }
}

int pdc_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("pipedag: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(see `pipedag help`)\n", stderr);
    va_end(ap);
    return PDC_EXIT_USAGE;
}

void pdc_opts_free(pdc_opts *o)
{
    pd_strv_free(&o->stages);
    pd_strv_free(&o->tasks);
    pd_strv_free(&o->args);
}

static bool allowed_opt(const char *allowed, const char *name)
{
    size_t n = strlen(name);
    const char *p = allowed;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) {
            return true;
        }
        p = e ? e + 1 : NULL;
    }
    return false;
}

int pdc_parse(int argc, char **argv, const char *allowed, pdc_opts *o)
{
    memset(o, 0, sizeof *o);
    o->fail_fast = -1;
    bool only_args = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_args || a[0] != '-' || !a[1]) {
            if (pd_strv_push(&o->args, a) != PD_OK) {
                fprintf(stderr, "pipedag: error: %s: out of memory\n", argv[0]);
                return PDC_EXIT_FAIL;
            }
            continue;
        }
        if (!strcmp(a, "--")) {
            only_args = true;
            continue;
        }
        char name[64];
        const char *val = NULL;
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a - 2) : (int)strlen(a + 2), a + 2);
            val = eq ? eq + 1 : NULL;
        } else if (!strcmp(a, "-o")) {
            snprintf(name, sizeof name, "output");
        } else if (!strcmp(a, "-c")) {
            snprintf(name, sizeof name, "config");
        } else if (!strcmp(a, "-i")) {
            snprintf(name, sizeof name, "instance");
        } else if (!strcmp(a, "-j")) {
            snprintf(name, sizeof name, "jobs");
        } else if (!strcmp(a, "-y")) {
            snprintf(name, sizeof name, "yes");
        } else {
            return pdc_usage("%s: unknown option '%s'", argv[0], a);
        }
        if (!allowed_opt(allowed, name)) {
            return pdc_usage("%s: unknown option '%s'", argv[0], a);
        }
        bool is_flag = !strcmp(name, "fail-fast") || !strcmp(name, "no-fail-fast") ||
                       !strcmp(name, "json") || !strcmp(name, "yes");
        if (is_flag) {
            if (val) {
                return pdc_usage("%s: option --%s takes no value", argv[0], name);
            }
            if (!strcmp(name, "fail-fast") || !strcmp(name, "no-fail-fast")) {
                o->fail_fast = name[0] == 'f' ? 1 : 0;
            } else if (!strcmp(name, "json")) {
                o->json = true;
            } else {
                o->yes = true;
            }
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) {
                return pdc_usage("%s: option %s needs a value", argv[0], a);
            }
            val = argv[++i];
        }
        if (!strcmp(name, "config")) {
            o->config = val;
        } else if (!strcmp(name, "instance")) {
            o->instance = val;
        } else if (!strcmp(name, "stage") || !strcmp(name, "task")) {
            if (pd_strv_push(name[0] == 's' ? &o->stages : &o->tasks, val) != PD_OK) {
                fprintf(stderr, "pipedag: error: %s: out of memory\n", argv[0]);
                return PDC_EXIT_FAIL;
            }
        } else if (!strcmp(name, "cache")) {
            o->cache = val;
        } else if (!strcmp(name, "format")) {
            o->format = val;
        } else if (!strcmp(name, "output")) {
            o->output = val;
        } else if (!strcmp(name, "jobs")) {
            char *end = NULL;
            long j = strtol(val, &end, 10);
            if (!end || *end || j < 1 || j > 1024) {
                return pdc_usage("%s: --jobs needs a number between 1 and 1024", argv[0]);
            }
            o->jobs = (int)j;
        }
    }
    return PDC_EXIT_OK;
}

int pdc_parse_args(
    int argc, char **argv, const char *allowed, size_t nargs, const char *usage, pdc_opts *o)
{
    int ex = pdc_parse(argc, argv, allowed, o);
    if (ex == PDC_EXIT_OK && o->args.n != nargs) {
        if (usage) {
            ex = pdc_usage("%s", usage);
        } else {
            ex = pdc_usage("%s: unexpected argument '%s'", argv[0], o->args.items[0]);
        }
    }
    if (ex != PDC_EXIT_OK) {
        pdc_opts_free(o);
    }
    return ex;
}

int pdc_load_config(const pdc_opts *o, pd_config **cfg)
{
    int rc = pd_config_load(o->config, o->instance, cfg);
    if (rc != PD_OK) {
        pdc_error("config");
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return PDC_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("pipedag %s\n", pd_version());
        return PDC_EXIT_OK;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        fputs(usage_text, stdout);
        return PDC_EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"run", pdc_cmd_run},
        {"show", pdc_cmd_show},
        {"explain", pdc_cmd_explain},
        {"query", pdc_cmd_query},
        {"visualize", pdc_cmd_visualize},
        {"config", pdc_cmd_config},
        {"delete-schemas", pdc_cmd_delete_schemas},
        {"clear-metadata", pdc_cmd_clear_metadata},
        {"sync-metadata", pdc_cmd_sync_metadata},
        {"parquet", pd_cli_parquet},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (!strcmp(cmd, cmds[i].name)) {
            return cmds[i].fn(sub_argc, sub_argv);
        }
    }
    return pdc_usage("unknown command '%s'", cmd);
}
