/*
 * parquet/bloom.c - split-block Bloom filters as the Parquet spec defines
 * them, shared by the writer (building filters) and the reader (checking
 * values): XXH64 with seed 0 of the value's PLAIN bytes; the upper 32 bits
 * of the hash choose a 32-byte block, the lower 32 bits times eight fixed
 * salts choose one bit in each of the block's eight little-endian words.
 */
#include "parquet/codec.h"

#include <string.h>

#define P1 11400714785074694791ULL
#define P2 14029467366897019727ULL
#define P3 1609587929392839161ULL
#define P4 9650029242287828579ULL
#define P5 2870177450012600261ULL

static inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t xround(uint64_t acc, uint64_t in)
{
    acc += in * P2;
    acc = rotl(acc, 31);
    return acc * P1;
}

static inline uint64_t xmerge(uint64_t acc, uint64_t v)
{
    acc ^= xround(0, v);
    return acc * P1 + P4;
}

uint64_t pdi_pq_xxh64(const void *data, size_t len)
{
    const uint8_t *p = data, *end = p + len;
    uint64_t h;
    if (len >= 32) {
        uint64_t v1 = P1 + P2, v2 = P2, v3 = 0, v4 = 0 - P1;
        const uint8_t *limit = end - 32;
        do {
            v1 = xround(v1, rd64(p));
            v2 = xround(v2, rd64(p + 8));
            v3 = xround(v3, rd64(p + 16));
            v4 = xround(v4, rd64(p + 24));
            p += 32;
        } while (p <= limit);
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
        h = xmerge(h, v1);
        h = xmerge(h, v2);
        h = xmerge(h, v3);
        h = xmerge(h, v4);
    } else {
        h = P5;
    }
    h += (uint64_t)len;
    while (p + 8 <= end) {
        h ^= xround(0, rd64(p));
        h = rotl(h, 27) * P1 + P4;
        p += 8;
    }
    if (p + 4 <= end) {
        h ^= (uint64_t)rd32(p) * P1;
        h = rotl(h, 23) * P2 + P3;
        p += 4;
    }
    while (p < end) {
        h ^= (uint64_t)(*p) * P5;
        h = rotl(h, 11) * P1;
        p++;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

static const uint32_t salt[8] = {0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU,
                                 0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U};

/* The block of `hash` and the bit of each of its eight words. */
static size_t block_of(size_t nbytes, uint64_t hash, uint32_t bits[8])
{
    uint64_t nblocks = nbytes / 32;
    uint32_t key = (uint32_t)hash;
    for (int i = 0; i < 8; i++)
        bits[i] = 1u << ((key * salt[i]) >> 27);
    return (size_t)(((hash >> 32) * nblocks) >> 32) * 32;
}

void pdi_pq_bloom_insert(uint8_t *bitset, size_t nbytes, uint64_t hash)
{
    uint32_t bits[8];
    uint8_t *b = bitset + block_of(nbytes, hash, bits);
    for (int i = 0; i < 8; i++) {
        uint32_t w = rd32(b + 4 * i) | bits[i];
        memcpy(b + 4 * i, &w, 4);
    }
}

bool pdi_pq_bloom_check(const uint8_t *bitset, size_t nbytes, uint64_t hash)
{
    if (nbytes < 32)
        return true; /* no blocks: cannot rule anything out */
    uint32_t bits[8];
    const uint8_t *b = bitset + block_of(nbytes, hash, bits);
    for (int i = 0; i < 8; i++)
        if (!(rd32(b + 4 * i) & bits[i]))
            return false;
    return true;
}
