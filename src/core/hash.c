/*
 * core/hash.c - cache keys of PIPEDAG_SEMANTICS.md §2.1 (task hash, query
 * canonicalization) and the names of cache modes and task states.
 */
#include "core_int.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void pdi_task_hash(const char *name,
                   const char *version,
                   const char *input_hash,
                   const char *cache_fn_hash,
                   char out[PD_HASH_LEN + 1])
{
    const char *parts[] = {"TASK", name, version ? version : "None", input_hash,
                           cache_fn_hash ? cache_fn_hash : ""};
    pd_stable_hash(parts, 5, out);
}

static bool suffix_end(char c)
{
    return c == 0 || isspace((unsigned char)c) || c == '.' || c == ';' || c == '"';
}

char *pdi_canonical_sql(const char *sql)
{
    if (!sql)
        return NULL;
    size_t n = strlen(sql);
    char *a = pd_malloc(n + 1);
    if (!a)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = sql[i];
        if (c == '[' || c == ']' || c == '"')
            continue;
        a[k++] = (char)tolower((unsigned char)c);
    }
    a[k] = 0;
    /* second pass: drop transaction-schema suffixes */
    size_t o = 0;
    for (size_t i = 0; i < k; i++) {
        if (a[i] == '_' && a[i + 1] == '_') {
            static const char *const sfx[] = {"__tmp", "__even", "__odd"};
            size_t skip = 0;
            for (size_t s = 0; s < 3 && !skip; s++) {
                size_t L = strlen(sfx[s]);
                if (strncmp(a + i, sfx[s], L) == 0 && suffix_end(a[i + L]))
                    skip = L;
            }
            if (skip) {
                i += skip - 1;
                continue;
            }
        }
        a[o++] = a[i];
    }
    a[o] = 0;
    return a;
}

/* ------------------------------------------------------------ names */

static const char *const mode_names[] = {"normal", "assert_no_fresh_input", "ignore_fresh_input",
                                         "force_fresh_input", "force_cache_invalid"};

int pd_cache_mode_from_name(const char *name, pd_cache_mode *out)
{
    if (!name || !out)
        return pd_set_error(PD_ERR_INVALID, "cache mode: NULL argument");
    for (int i = 0; i < 5; i++)
        if (pd_str_ieq(name, mode_names[i])) {
            *out = (pd_cache_mode)i;
            return PD_OK;
        }
    return pd_set_error(PD_ERR_INVALID,
                        "unknown cache validation mode '%s' (expected normal, "
                        "assert_no_fresh_input, ignore_fresh_input, force_fresh_input or "
                        "force_cache_invalid)",
                        name);
}

const char *pd_cache_mode_name(pd_cache_mode m)
{
    if (m == PD_CACHE_DEFAULT)
        return "default";
    if ((int)m < 0 || (int)m > 4)
        return "unknown";
    return mode_names[m];
}

const char *pd_task_state_name(pd_task_state s)
{
    switch (s) {
    case PD_STATE_NOT_RUN: return "not_run";
    case PD_STATE_COMPLETED: return "completed";
    case PD_STATE_CACHE_VALID: return "cache_valid";
    case PD_STATE_FAILED: return "failed";
    }
    return "unknown";
}
