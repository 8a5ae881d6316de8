/*
 * tests/load/csv_fuzzer.c - libFuzzer target for the loader's CSV reader and
 * decompressors: the first byte picks options (delimiter, quote, header,
 * encoding, sample and batch sizes), the rest is the file. Every input must
 * load or fail cleanly; a loaded table must be valid Arrow.
 */
#include "load/load.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t k = data[0];
    char path[64];
    snprintf(path, sizeof path, "/tmp/pd_csv_fuzz_%d.csv", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data + 1, 1, size - 1, f);
    fclose(f);
    char opts[200];
    snprintf(opts, sizeof opts,
             "{\"delimiter\":\"%s\",\"quote\":\"%s\",\"header\":%s,\"encoding\":\"%s\","
             "\"sample_rows\":%d%s}",
             (k & 3) == 0   ? ","
             : (k & 3) == 1 ? ";"
             : (k & 3) == 2 ? "\\t"
                            : "|",
             (k & 4) ? "'" : "\\\"", (k & 8) ? "false" : "true", (k & 16) ? "latin-1" : "utf-8",
             (k & 32) ? 2 : 1000, (k & 64) ? ",\"null\":\"NA\"" : "");
    pdi_load_opts *o = NULL;
    if (pdi_load_opts_parse(opts, &o) != PD_OK) {
        unlink(path);
        return 0;
    }
    pdi_load_opts_set_batch_rows(o, (k & 128) ? 3 : 1000);
    struct ArrowArrayStream st;
    if (pdi_load_open(path, o, &st) == PD_OK) {
        struct ArrowSchema s;
        if (st.get_schema(&st, &s) == 0) {
            for (;;) {
                struct ArrowArray a;
                if (st.get_next(&st, &a) != 0 || !a.release)
                    break;
                if (pd_arrow_array_validate(&s, &a) != PD_OK)
                    abort();
                a.release(&a);
            }
            s.release(&s);
        }
        st.release(&st);
    }
    pdi_load_opts_free(o);
    unlink(path);
    return 0;
}
