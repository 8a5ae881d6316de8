/*
 * store/sqlite/sqlite_unique.c - the aggregate behind the hash probe of a
 * `unique` check on SQLite (docs/checks.md).
 *
 * pd_unique_hash(value, pass, passes) hashes every non-NULL value to 64
 * bits (pdi_sq_value_hash: equal values under BINARY, equal hashes) and
 * keeps those with hash % passes == pass, in 256 parts by their top bits
 * (pd_u64_parts); at the end each part is checked by a hash set that fits
 * the cache (pdi_u64_parts_repeats) and the result is
 *     0   no hash repeats: the kept values are all distinct (exact),
 *     1   a hash repeats: a duplicate or a collision (the caller runs the
 *         exact GROUP BY),
 *    -N   more than PDI_UNIQUE_MAX_HASHES were to be kept: nothing is
 *         decided; N is the number of non-NULL values seen (all of them),
 *         from which the caller picks the number of passes.
 * SQLite calls the final function also when a statement is reset before
 * its end, so the array is always freed.
 */
#include "store/sqlite/sqlite_unique.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_NUM = 1, TAG_REAL = 2, TAG_TEXT = 3, TAG_BLOB = 4 };

uint64_t pdi_sq_value_hash(sqlite3_value *v)
{
    switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER: return pdi_hash64_u64((uint64_t)sqlite3_value_int64(v), TAG_NUM);
    case SQLITE_FLOAT: {
        double r = sqlite3_value_double(v);
        /* an integral REAL in int64 range equals the INTEGER of that value
         * (SQLite compares the two exactly); -0.0 == 0.0 lands here too */
        if (r >= -9223372036854775808.0 && r < 9223372036854775808.0 && r == floor(r))
            return pdi_hash64_u64((uint64_t)(int64_t)r, TAG_NUM);
        uint64_t bits;
        if (isnan(r))
            r = NAN; /* one NaN (SQLite stores NaN as NULL anyway) */
        memcpy(&bits, &r, sizeof bits);
        return pdi_hash64_u64(bits, TAG_REAL);
    }
    case SQLITE_TEXT: {
        const unsigned char *t = sqlite3_value_text(v);
        return pdi_hash64(t ? (const void *)t : "", (size_t)sqlite3_value_bytes(v), TAG_TEXT);
    }
    default: {
        const void *b = sqlite3_value_blob(v);
        return pdi_hash64(b ? b : "", (size_t)sqlite3_value_bytes(v), TAG_BLOB);
    }
    }
}

typedef struct uh_state {
    pd_u64_parts *parts; /* the kept hashes (NULL until the first) */
    int64_t seen;        /* non-NULL values */
    bool over;           /* more than the bound: not collecting any more */
} uh_state;

static void uh_step(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    uh_state *s = sqlite3_aggregate_context(cx, (int)sizeof *s);
    if (!s) {
        sqlite3_result_error_nomem(cx);
        return;
    }
    if (argc != 3 || sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    s->seen++;
    if (s->over)
        return;
    uint64_t h = pdi_unique_hash_reduce(pdi_sq_value_hash(argv[0]));
    int64_t passes = sqlite3_value_int64(argv[2]);
    if (passes > 1 && (int64_t)(h % (uint64_t)passes) != sqlite3_value_int64(argv[1]))
        return;
    if (!s->parts) {
        s->parts = malloc(sizeof *s->parts);
        if (!s->parts) {
            sqlite3_result_error_nomem(cx);
            return;
        }
        pdi_u64_parts_init(s->parts);
    }
    if ((int64_t)s->parts->total >= PDI_UNIQUE_MAX_HASHES) {
        pdi_u64_parts_free(s->parts);
        free(s->parts);
        s->parts = NULL;
        s->over = true;
        return;
    }
    if (pdi_u64_parts_add(s->parts, h))
        sqlite3_result_error_nomem(cx);
}

static void uh_final(sqlite3_context *cx)
{
    uh_state *s = sqlite3_aggregate_context(cx, 0);
    if (!s) { /* no row at all */
        sqlite3_result_int64(cx, 0);
        return;
    }
    if (s->over)
        sqlite3_result_int64(cx, -s->seen);
    else
        sqlite3_result_int64(cx, s->parts && pdi_u64_parts_repeats(s->parts) ? 1 : 0);
    if (s->parts) {
        pdi_u64_parts_free(s->parts);
        free(s->parts);
        s->parts = NULL;
    }
}

bool pdi_sq_unique_register(sqlite3 *db)
{
    /* the canonical hash assumes INTEGER = REAL is exact (checked on 3.40:
     * 9007199254740993 <> 9007199254740992.0); older releases: no probe */
    if (sqlite3_libversion_number() < 3040000)
        return false;
    return sqlite3_create_function_v2(db, "pd_unique_hash", 3,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
                                      NULL, uh_step, uh_final, NULL) == SQLITE_OK;
}
