/*
 * cli/cmd_sync.c - `pipedag sync-metadata`: bring this catalog file of a
 * ParquetTableStore in line with the shared metadata store (sync_views)
 * without running anything (docs/parquet_store.md, "Team sharing").
 */
#include "cli/cmd.h"
#include "store/store.h"
#include <stdio.h>

int pdc_cmd_sync_metadata(int argc, char **argv)
{
    pdc_opts o;
    int ex = pdc_parse_args(argc, argv, "config,instance", 0, NULL, &o);
    if (ex != PDC_EXIT_OK) {
        return ex;
    }
    pd_config *cfg = NULL;
    pd_store *store = NULL;
    pd_strv synced = PD_STRV_INIT;
    ex = PDC_EXIT_FAIL;
    if (pdc_load_config(&o, &cfg) != PD_OK) {
        goto out;
    }
    if (pd_store_open(cfg, &store) != PD_OK) {
        pdc_error("table store");
        goto out;
    }
    if (pd_store_sync_metadata(store, &synced) != PD_OK) {
        pdc_error("sync-metadata");
        goto out;
    }
    for (size_t i = 0; i < synced.n; i++) {
        printf("synced %s\n", synced.items[i]);
    }
    fprintf(stderr, "%zu schema(s) synced from the metadata store\n", synced.n);
    ex = PDC_EXIT_OK;
out:
    pd_strv_free(&synced);
    pd_store_close(store);
    pd_config_free(cfg);
    pdc_opts_free(&o);
    return ex;
}
