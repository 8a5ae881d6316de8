/*
 * cli/cmd_store.c - commands that talk to the table store directly or show
 * the configuration: `pipedag query` (CSV to stdout), `pipedag config`
 * (resolved, secrets masked), `pipedag delete-schemas`, `pipedag
 * clear-metadata` (both ask for confirmation unless --yes).
 */
#include "cli/cmd.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void csv_field(FILE *f, const char *v)
{
    if (!v) {
        return;
    }
    if (!strpbrk(v, ",\"\r\n")) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (const char *p = v; *p; p++) {
        if (*p == '"') {
            fputc('"', f);
        }
        fputc(*p, f);
    }
    fputc('"', f);
}

typedef struct csv_state {
    bool header_done;
    size_t rows;
} csv_state;

static int csv_row(void *user, int ncols, const char *const *names, const char *const *values)
{
    csv_state *st = user;
    if (!st->header_done) {
        for (int i = 0; i < ncols; i++) {
            if (i) {
                fputc(',', stdout);
            }
            csv_field(stdout, names[i]);
        }
        fputc('\n', stdout);
        st->header_done = true;
    }
    if (!values) {
        return PD_OK; /* header-only call (zero rows) */
    }
    for (int i = 0; i < ncols; i++) {
        if (i) {
            fputc(',', stdout);
        }
        csv_field(stdout, values[i]);
    }
    fputc('\n', stdout);
    st->rows++;
    return PD_OK;
}

static int open_store(const pdc_opts *o, pd_config **cfg, pd_store **store)
{
    if (pdc_load_config(o, cfg) != PD_OK) {
        return PD_ERR_CONFIG;
    }
    int rc = pdi_store_open(*cfg, store);
    if (rc != PD_OK) {
        pdc_error("table store");
    }
    return rc;
}

int pdc_cmd_query(int argc, char **argv)
{
    pdc_opts o;
    int ex = pdc_parse_args(argc, argv, "config,instance", 1,
                            "query: expected one SQL statement (quote it)", &o);
    if (ex != PDC_EXIT_OK) {
        return ex;
    }
    pd_config *cfg = NULL;
    pd_store *store = NULL;
    ex = PDC_EXIT_FAIL;
    if (open_store(&o, &cfg, &store) == PD_OK) {
        csv_state st = {false, 0};
        if (pdi_store_query(store, o.args.items[0], csv_row, &st) != PD_OK) {
            pdc_error("query");
        } else {
            ex = PDC_EXIT_OK;
        }
        fflush(stdout);
    }
    pdi_store_close(store);
    pd_config_free(cfg);
    pdc_opts_free(&o);
    return ex;
}

int pdc_cmd_config(int argc, char **argv)
{
    pdc_opts o;
    int ex = pdc_parse_args(argc, argv, "config,instance", 0, NULL, &o);
    if (ex != PDC_EXIT_OK) {
        return ex;
    }
    pd_config *cfg = NULL;
    ex = PDC_EXIT_FAIL;
    if (pdc_load_config(&o, &cfg) == PD_OK) {
        char *text = pd_config_dump(cfg);
        if (text) {
            fputs(text, stdout);
            free(text);
            ex = PDC_EXIT_OK;
        } else {
            pdc_error("config dump");
        }
    }
    pd_config_free(cfg);
    pdc_opts_free(&o);
    return ex;
}

/* Ask on the terminal; without a terminal, --yes is required. */
static bool confirm(const char *question, bool yes)
{
    if (yes) {
        return true;
    }
    if (!isatty(STDIN_FILENO)) {
        fprintf(stderr, "pipedag: refusing without --yes (stdin is not a terminal)\n");
        return false;
    }
    fprintf(stderr, "%s [y/N] ", question);
    fflush(stderr);
    char line[32];
    if (!fgets(line, sizeof line, stdin)) {
        return false;
    }
    return line[0] == 'y' || line[0] == 'Y';
}

static int destructive(int argc, char **argv, bool delete_schemas)
{
    pdc_opts o;
    int ex = pdc_parse_args(argc, argv, "config,instance,yes", 0, NULL, &o);
    if (ex != PDC_EXIT_OK) {
        return ex;
    }
    pd_config *cfg = NULL;
    pd_store *store = NULL;
    ex = PDC_EXIT_FAIL;
    if (open_store(&o, &cfg, &store) != PD_OK) {
        goto out;
    }
    char question[1024];
    if (delete_schemas) {
        snprintf(question, sizeof question,
                 "Delete every schema of instance '%s' (prefix '%s', suffix '%s') in %s?",
                 cfg->instance, cfg->table_store.schema_prefix, cfg->table_store.schema_suffix,
                 pdi_store_describe(store));
    } else {
        snprintf(question, sizeof question,
                 "Delete the pipedag metadata of instance '%s' in %s? All cache "
                 "information is lost.",
                 cfg->instance, pdi_store_describe(store));
    }
    if (!confirm(question, o.yes)) {
        ex = PDC_EXIT_FAIL;
        goto out;
    }
    if (delete_schemas) {
        pd_strv deleted = PD_STRV_INIT;
        if (pdi_store_delete_schemas(store, &deleted) != PD_OK) {
            pdc_error("delete-schemas");
        } else {
            for (size_t i = 0; i < deleted.n; i++) {
                printf("dropped %s\n", deleted.items[i]);
            }
            fprintf(stderr, "%zu schema(s) deleted\n", deleted.n);
            ex = PDC_EXIT_OK;
        }
        pdi_strv_free(&deleted);
    } else {
        if (pdi_store_clear_metadata(store) != PD_OK) {
            pdc_error("clear-metadata");
        } else {
            fprintf(stderr, "metadata cleared\n");
            ex = PDC_EXIT_OK;
        }
    }
out:
    pdi_store_close(store);
    pd_config_free(cfg);
    pdc_opts_free(&o);
    return ex;
}

int pdc_cmd_delete_schemas(int argc, char **argv)
{
    return destructive(argc, argv, true);
}

int pdc_cmd_clear_metadata(int argc, char **argv)
{
    return destructive(argc, argv, false);
}
