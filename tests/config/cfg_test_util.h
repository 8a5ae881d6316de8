/*
 * tests/config/cfg_test_util.h - helpers shared by the config and flow
 * tests: a plain file write and the seeded garbling of the robustness loops.
 */
#ifndef PD_TESTS_CFG_TEST_UTIL_H
#define PD_TESTS_CFG_TEST_UTIL_H

#include "pipedag/common.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Plain write (no fsync: the tests write thousands of small files). */
static inline int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        return PD_ERR_IO;
    }
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    return fclose(f) == 0 && w == len ? PD_OK : PD_ERR_IO;
}

/* buf = src (len > 0 bytes) with `changes` bytes replaced by characters of
 * `junk`, positions and characters from the LCG state *rng. */
static inline void
garble(char *buf, const char *src, size_t len, uint32_t *rng, int changes, const char *junk)
{
    size_t njunk = strlen(junk);
    memcpy(buf, src, len);
    for (int k = 0; k < changes; k++) {
        *rng = *rng * 1103515245u + 12345u;
        size_t pos = (*rng >> 8) % len;
        *rng = *rng * 1103515245u + 12345u;
        buf[pos] = junk[(*rng >> 8) % njunk];
    }
}

#endif
