/*
 * util/distinct.c - the pieces of the hash probe of a `unique` column check
 * (docs/checks.md): a 64-bit hash of bytes, and "do two of these 64-bit
 * values repeat?" answered by an in-place radix partition.
 *
 * The probe is exact by construction: equal values hash equal, so distinct
 * hashes prove distinct values; a repeated hash (a duplicate, or a
 * collision) only sends the caller to the exact query. The hash therefore
 * needs to spread values well, not to resist an adversary: a crafted
 * collision costs time, never a wrong answer.
 */
#include "util.h"

#include <stdatomic.h>
#include <string.h>

#define GOLD 0x9E3779B97F4A7C15ULL

/* splitmix64's finalizer: every input bit moves every output bit. */
static uint64_t fmix(uint64_t k)
{
    k ^= k >> 30;
    k *= 0xBF58476D1CE4E5B9ULL;
    k ^= k >> 27;
    k *= 0x94D049BB133111EBULL;
    k ^= k >> 31;
    return k;
}

static uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

uint64_t pdi_hash64(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h = fmix(seed ^ ((uint64_t)len * GOLD));
    while (len >= 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        h = rotl(h ^ fmix(k), 29) * GOLD;
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t k = 0;
        memcpy(&k, p, len);
        h = rotl(h ^ fmix(k ^ ((uint64_t)len << 56)), 29) * GOLD;
    }
    return fmix(h);
}

uint64_t pdi_hash64_u64(uint64_t v, uint64_t seed)
{
    return fmix(fmix(seed ^ GOLD) ^ v);
}

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

uint64_t pdi_unique_hash_reduce(uint64_t h)
{
    int b = atomic_load(&g_bits);
    return b ? h >> (64 - b) : h;
}

/* Small runs: insertion sort, then a look at neighbours. */
static bool small_repeats(uint64_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint64_t x = v[i];
        size_t j = i;
        while (j && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    for (size_t i = 1; i < n; i++)
        if (v[i] == v[i - 1])
            return true;
    return false;
}

/* In-place partition by the byte at `shift` (American flag sort), then
 * each bucket by the next byte; equal values always share a bucket. */
static bool radix_repeats(uint64_t *v, size_t n, int shift)
{
    if (n < 2)
        return false;
    if (n <= 48)
        return small_repeats(v, n);
    size_t count[256] = {0}, next[256], end[256];
    for (size_t i = 0; i < n; i++)
        count[(v[i] >> shift) & 255]++;
    size_t at = 0;
    for (int b = 0; b < 256; b++) {
        next[b] = at;
        at += count[b];
        end[b] = at;
    }
    for (int b = 0; b < 256; b++) {
        while (next[b] < end[b]) {
            uint64_t x = v[next[b]];
            int d = (int)((x >> shift) & 255);
            while (d != b) { /* carry x to its bucket, take what was there */
                uint64_t y = v[next[d]];
                v[next[d]++] = x;
                x = y;
                d = (int)((x >> shift) & 255);
            }
            v[next[b]++] = x;
        }
    }
    size_t start = 0;
    for (int b = 0; b < 256; b++) {
        size_t m = count[b];
        if (m > 1) {
            if (shift == 0) /* every byte equal: a repeat */
                return true;
            if (radix_repeats(v + start, m, shift - 8))
                return true;
        }
        start += m;
    }
    return false;
}

bool pdi_u64_repeats(uint64_t *v, size_t n)
{
    return radix_repeats(v, n, 56);
}
