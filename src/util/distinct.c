/*
 * util/distinct.c - the pieces of the hash probe of a `unique` column check
 * (docs/checks.md): "do two of these 64-bit values repeat?" answered by
 * hash sets that fit the cache (the 64-bit hashes themselves are inline in
 * util.h).
 *
 * The probe is exact by construction: equal values hash equal, so distinct
 * hashes prove distinct values; a repeated hash (a duplicate, or a
 * collision) only sends the caller to the exact query. The hash therefore
 * needs to spread values well, not to resist an adversary: a crafted
 * collision costs time, never a wrong answer.
 */
#include "util.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__SSE2__)
#    include <emmintrin.h>
#endif

#define GOLD PDI_HASH_GOLD

/* the test hook: 0 = every bit */
static atomic_int g_bits;

void pdi_test_set_unique_hash_bits(int bits)
{
    atomic_store(&g_bits, bits > 0 && bits < 64 ? bits : 0);
}

int pdi_unique_hash_bits(void)
{
    int b = atomic_load(&g_bits);
    return b ? b : 64;
}

int64_t pdi_unique_passes(int64_t values)
{
    return (values > 0 ? values : 0) / (PDI_UNIQUE_MAX_HASHES / 4 * 3) + 1;
}

uint64_t pdi_unique_hash_reduce(uint64_t h)
{
    int b = atomic_load(&g_bits);
    return b ? h >> (64 - b) : h;
}

/* An open-addressing set of the n values (2n to 4n slots, 0 = empty; the
 * value 0 tracked apart): true at the first value seen twice. */
static bool set_repeats(const uint64_t *v, size_t n, uint64_t *table, size_t slots)
{
    int k = 1;
    while (((size_t)1 << k) < 2 * n)
        k++;
    size_t mask = ((size_t)1 << k) - 1;
    if (mask + 1 > slots)
        return false; /* not reached: callers size the table */
    memset(table, 0, (mask + 1) * sizeof *table);
    bool zero = false;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = v[i];
        if (i + 16 < n) /* the slot of a value a little ahead: misses overlap */
            __builtin_prefetch(&table[(size_t)((v[i + 16] * GOLD) >> (64 - k))], 1);
        if (!x) {
            if (zero)
                return true;
            zero = true;
            continue;
        }
        size_t at = (size_t)((x * GOLD) >> (64 - k));
        while (table[at]) {
            if (table[at] == x)
                return true;
            at = (at + 1) & mask;
        }
        table[at] = x;
    }
    return false;
}

static size_t slots_for(size_t n)
{
    size_t s = 2;
    while (s < 2 * n)
        s *= 2;
    return s;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Without memory for a set: qsort (in place), then neighbours. */
static bool sorted_repeats(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_u64);
    for (size_t i = 1; i < n; i++)
        if (v[i] == v[i - 1])
            return true;
    return false;
}

bool pdi_u64_repeats(uint64_t *v, size_t n)
{
    if (n < 2)
        return false;
    size_t slots = slots_for(n);
    uint64_t *table = malloc(slots * sizeof *table);
    if (!table)
        return sorted_repeats(v, n);
    bool r = set_repeats(v, n, table, slots);
    free(table);
    return r;
}

void pdi_u64_parts_init(pd_u64_parts *p)
{
    memset(p, 0, sizeof *p);
}

void pdi_u64_parts_free(pd_u64_parts *p)
{
    for (int i = 0; i < PDI_U64_PARTS; i++)
        free(p->v[i]);
    memset(p, 0, sizeof *p);
}

int pdi_u64_parts_reserve(pd_u64_parts *p, size_t expected)
{
    size_t each = expected / PDI_U64_PARTS;
    each += each / 16 + 64; /* a part's share varies by about its square root */
    for (int i = 0; i < PDI_U64_PARTS; i++) {
        if (p->cap[i] >= each)
            continue;
        uint64_t *nv = realloc(p->v[i], each * sizeof *nv);
        if (!nv)
            return pd_set_error(PD_ERR_NOMEM, "out of memory (unique check: %zu hashes)", expected);
        p->v[i] = nv;
        p->cap[i] = each;
    }
    return PD_OK;
}

static int parts_grow(pd_u64_parts *p, unsigned part, size_t need)
{
    size_t cap = p->cap[part] ? p->cap[part] * 2 : 1024;
    while (cap < need)
        cap *= 2;
    uint64_t *nv = realloc(p->v[part], cap * sizeof *nv);
    if (!nv)
        return pd_set_error(PD_ERR_NOMEM, "out of memory (unique check: %zu hashes)", p->total);
    p->v[part] = nv;
    p->cap[part] = cap;
    return PD_OK;
}

/* Append a part's buffered values (k of them) to its array. */
static int parts_drain(pd_u64_parts *p, unsigned part, unsigned k)
{
    if (p->n[part] + k > p->cap[part] && parts_grow(p, part, p->n[part] + k))
        return PD_ERR_NOMEM;
    uint64_t *to = p->v[part] + p->n[part];
#if defined(__x86_64__) && defined(__SSE2__)
    if (k == PDI_U64_LINE && ((uintptr_t)to & 15) == 0) {
        /* non-temporal: the line is written whole, never read first */
        for (unsigned i = 0; i < PDI_U64_LINE; i += 2)
            _mm_stream_si128((__m128i *)(to + i),
                             _mm_loadu_si128((const __m128i *)&p->line[part][i]));
        k = 0;
        p->n[part] += PDI_U64_LINE;
    }
#endif
    memcpy(to, p->line[part], k * sizeof *to);
    p->n[part] += k;
    p->in_line[part] = 0;
    return PD_OK;
}

int pdi_u64_parts_flush(pd_u64_parts *p, unsigned part)
{
    return parts_drain(p, part, PDI_U64_LINE);
}

/* Each part on its own: a set the size of the cache for ten million
 * values in all (about 40,000 a part, 1 MiB of slots), reused. */
bool pdi_u64_parts_repeats(pd_u64_parts *p)
{
    for (unsigned i = 0; i < PDI_U64_PARTS; i++)
        if (p->in_line[i] && parts_drain(p, i, p->in_line[i]))
            return true; /* no memory to decide: "maybe", the exact query decides */
#if defined(__x86_64__) && defined(__SSE2__)
    _mm_sfence();
#endif
    size_t most = 0;
    for (int i = 0; i < PDI_U64_PARTS; i++)
        if (p->n[i] > most)
            most = p->n[i];
    size_t slots = slots_for(most);
    uint64_t *table = most > 1 ? malloc(slots * sizeof *table) : NULL;
    bool r = false;
    for (int i = 0; i < PDI_U64_PARTS && !r; i++) {
        if (p->n[i] < 2)
            continue;
        r = table ? set_repeats(p->v[i], p->n[i], table, slots) : sorted_repeats(p->v[i], p->n[i]);
    }
    free(table);
    return r;
}
