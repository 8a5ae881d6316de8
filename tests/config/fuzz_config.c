/*
 * tests/config/fuzz_config.c - fuzz target for the YAML tree builder and the
 * pipedag.yaml loader: any input must either load (and dump) or fail with a
 * message; never crash, leak or read out of bounds.
 */
#include "config/cfg_int.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pd_config *cfg = NULL;
    if (pdi_config_load_text("fuzz.yaml", (const char *)data, size, NULL, &cfg) == PD_OK) {
        free(pd_config_dump(cfg));
        pd_config_free(cfg);
    }
    pdi_arena a = {0};
    pd_cfg_node *root = NULL;
    (void)pdi_yaml_parse(&a, "fuzz.yaml", (const char *)data, size, &root);
    pdi_arena_free(&a);
    return 0;
}
