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
    pdi_stable_hash(parts, 5, out);
}

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$';
}

/* Length of the transaction-schema suffix (__tmp, __odd, __even) that
 * ends the identifier text [s, e), or 0. */
static size_t tx_suffix_len(const char *s, const char *e)
{
    static const char *const sfx[] = {"__tmp", "__odd", "__even"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(sfx[i]);
        if ((size_t)(e - s) > n && memcmp(e - n, sfx[i], n) == 0)
            return n;
    }
    return 0;
}

/* The canonical form of SQL text for lazy cache keys (one canonicaliser
 * for the whole program). Only what pipedag itself writes into a query is
 * normalised, plus insignificant whitespace:
 *  - a schema qualifier (an identifier directly followed by `.`, quoted or
 *    bare) ending in __tmp, __odd or __even loses that suffix, so the
 *    same query on the transaction schema and on the published one, or on
 *    the odd and even READ_VIEWS slots, has one key;
 *  - runs of whitespace outside literals, quoted identifiers and comments
 *    become one space; leading and trailing whitespace is dropped.
 * The text of string literals, quoted identifiers and comments is kept
 * byte for byte, and nothing is case-folded: 'de' and 'DE' are different
 * queries. */
char *pdi_canonical_sql(const char *sql)
{
    if (!sql)
        return NULL;
    pd_buf b = PD_BUF_INIT;
    const char *p = sql;
    bool pending_space = false;
    while (isspace((unsigned char)*p))
        p++;
    while (*p) {
        char c = *p;
        if (isspace((unsigned char)c)) {
            pending_space = true;
            p++;
            continue;
        }
        if (pending_space) {
            pdi_buf_putc(&b, ' ');
            pending_space = false;
        }
        const char *start = p, *end = NULL;
        if ((c == '-' && p[1] == '-') || (c == '/' && p[1] == '*')) {
            if (c == '-') {
                while (*p && *p != '\n')
                    p++;
            } else {
                const char *e = strstr(p + 2, "*/");
                p = e ? e + 2 : p + strlen(p);
            }
            pdi_buf_append(&b, start, (size_t)(p - start));
            continue;
        }
        if (c == '\'' || c == '"' || c == '`' || c == '[') {
            char close = c == '[' ? ']' : c;
            p++;
            while (*p && !(*p == close && p[1] != close))
                p += *p == close ? 2 : 1;
            end = p; /* at the closing quote (or the end) */
            if (*p)
                p++;
            size_t cut = c != '\'' && *p == '.' ? tx_suffix_len(start + 1, end) : 0;
            pdi_buf_append(&b, start, (size_t)(end - start) - cut);
            pdi_buf_append(&b, end, (size_t)(p - end));
            continue;
        }
        if (ident_char(c)) {
            while (ident_char(*p))
                p++;
            size_t cut = *p == '.' ? tx_suffix_len(start, p) : 0;
            pdi_buf_append(&b, start, (size_t)(p - start) - cut);
            continue;
        }
        pdi_buf_putc(&b, c);
        p++;
    }
    return pdi_buf_detach(&b);
}

/* ------------------------------------------------------------ names */

static const char *const mode_names[] = {"normal", "assert_no_fresh_input", "ignore_fresh_input",
                                         "force_fresh_input", "force_cache_invalid"};

int pd_cache_mode_from_name(const char *name, pd_cache_mode *out)
{
    if (!name || !out)
        return pd_set_error(PD_ERR_INVALID, "cache mode: NULL argument");
    for (int i = 0; i < 5; i++)
        if (pdi_str_ieq(name, mode_names[i])) {
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
