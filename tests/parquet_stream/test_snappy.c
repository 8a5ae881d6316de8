/*
 * tests/parquet_stream/test_snappy.c - our Snappy decoder against
 * libsnappy: data of every shape compressed by libsnappy decodes to the
 * original; hand-made blocks cover every tag form (extra literal length
 * bytes, 1/2/4-byte offsets, overlapping copies with offsets 1-70); and for
 * thousands of corrupted blocks both decoders agree on valid vs invalid, with
 * identical output when valid. Output buffers are exactly the page size, so
 * ASan catches any write past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "parquet/codec.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Input of `n` bytes in one of several shapes. */
static uint8_t *make_input(int shape, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        switch (shape) {
        case 0: p[i] = 0; break;
        case 1: p[i] = (uint8_t)next(); break;                            /* incompressible */
        case 2: p[i] = (uint8_t)("0123456789abcdef"[next() & 15]); break; /* hex text */
        case 3: {                                                         /* sequential int64 */
            uint64_t v = i / 8;
            p[i] = (uint8_t)(v >> (8 * (i % 8)));
            break;
        }
        case 4: p[i] = (uint8_t)(i % (1 + (n % 13))); break; /* short periods */
        default: p[i] = (next() % 7 == 0) ? (uint8_t)next() : (uint8_t)(i % 251); break;
        }
    }
    return p;
}

/* Decode with both; they must agree. Returns 1 if the block was valid. */
static int both_agree(const uint8_t *c, size_t clen, size_t want)
{
    size_t n = 0;
    int lib_ok = snappy_uncompressed_length((const char *)c, clen, &n) == SNAPPY_OK && n == want;
    uint8_t *a = malloc(want ? want : 1), *b = malloc(want ? want : 1);
    assert_non_null(a);
    assert_non_null(b);
    if (lib_ok) {
        size_t got = want;
        lib_ok =
            snappy_uncompress((const char *)c, clen, (char *)a, &got) == SNAPPY_OK && got == want;
    }
    int ours_ok = pdi_pq_snappy_decompress(c, clen, b, want) == PD_OK;
    if (lib_ok != ours_ok)
        fail_msg("libsnappy %s, ours %s (block of %zu bytes, %zu expected)",
                 lib_ok ? "ok" : "fails", ours_ok ? "ok" : "fails", clen, want);
    if (lib_ok)
        assert_memory_equal(a, b, want);
    free(a);
    free(b);
    return lib_ok;
}

static void t_roundtrip_shapes(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 15, 16, 17, 63, 64, 65, 100, 4095, 65536, 65537, 300000};
    for (int shape = 0; shape < 6; shape++) {
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            size_t n = sizes[k];
            uint8_t *in = make_input(shape, n);
            size_t cap = snappy_max_compressed_length(n);
            uint8_t *c = malloc(cap);
            assert_non_null(c);
            size_t clen = cap;
            assert_int_equal(snappy_compress((const char *)in, n, (char *)c, &clen), SNAPPY_OK);
            uint8_t *out = malloc(n ? n : 1);
            assert_non_null(out);
            assert_int_equal(pdi_pq_snappy_decompress(c, clen, out, n), PD_OK);
            assert_memory_equal(out, in, n);
            /* a wrong expected size is refused */
            assert_int_equal(pdi_pq_snappy_decompress(c, clen, out, n ? n - 1 : 0),
                             n ? PD_ERR_CORRUPT : PD_OK);
            free(out);
            free(c);
            free(in);
        }
    }
}

/* Blocks built by hand: every tag form and overlapping copies. */
static void t_hand_made_tags(void **state)
{
    (void)state;
    for (size_t off = 1; off <= 70; off++) {
        for (size_t len = 1; len <= 64; len += 7) {
            /* literal of `off` bytes, then a copy of `len` bytes from `off` back
             * (2-byte offset form), then a literal, to end with 100 bytes of slack */
            uint8_t blk[512], want[512];
            size_t total = off + len + 100, w = 0, o = 0;
            uint32_t v = (uint32_t)total; /* varint preamble */
            while (v >= 0x80) {
                blk[o++] = (uint8_t)(v | 0x80);
                v >>= 7;
            }
            blk[o++] = (uint8_t)v;
            if (off <= 60) {
                blk[o++] = (uint8_t)((off - 1) << 2); /* literal, length in the tag */
            } else {
                blk[o++] = 60 << 2; /* literal, length - 1 in one extra byte */
                blk[o++] = (uint8_t)(off - 1);
            }
            for (size_t i = 0; i < off; i++)
                blk[o++] = want[w++] = (uint8_t)(i * 37 + 1);
            blk[o++] = (uint8_t)(((len - 1) << 2) | 2); /* copy, 2-byte offset */
            blk[o++] = (uint8_t)off;
            blk[o++] = 0;
            for (size_t i = 0; i < len; i++, w++)
                want[w] = want[w - off];
            blk[o++] = (60 << 2); /* literal, 1 extra length byte */
            blk[o++] = 99;        /* 100 bytes */
            for (size_t i = 0; i < 100; i++)
                blk[o++] = want[w++] = (uint8_t)(i ^ 0x5a);
            assert_int_equal(w, total);
            uint8_t *out = malloc(total);
            assert_non_null(out);
            if (pdi_pq_snappy_decompress(blk, o, out, total) != PD_OK)
                fail_msg("off %zu len %zu: %s", off, len, pd_last_error());
            assert_memory_equal(out, want, total);
            assert_int_equal(both_agree(blk, o, total), 1);
            free(out);
        }
    }
    /* 1-byte offset form (len 4-11) and 4-byte offset form */
    const uint8_t one[] = {
        10, 1 << 2, 'a', 'b', (uint8_t)((3 << 2) | 1), 2, (uint8_t)((0 << 2) | 3), 1, 0, 0, 0};
    uint8_t out[10];
    assert_int_equal(pdi_pq_snappy_decompress(one, sizeof one, out, 10), PD_OK);
    assert_memory_equal(out, "ababababaa", 10); /* ab, 7 from 2 back, 1 from 1 back */
    assert_int_equal(both_agree(one, sizeof one, 10), 1);
    /* a literal length of 0xffffffff + 1 wraps to an empty literal, as in libsnappy */
    const uint8_t wrap[] = {0, 63 << 2, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(both_agree(wrap, sizeof wrap, 0), 1);
    /* offset 0, offset beyond the output, truncated input */
    const uint8_t zero_off[] = {5, 0, 'x', (uint8_t)((3 << 2) | 2), 0, 0};
    assert_int_equal(pdi_pq_snappy_decompress(zero_off, sizeof zero_off, out, 5), PD_ERR_CORRUPT);
    const uint8_t far[] = {5, 0, 'x', (uint8_t)((3 << 2) | 2), 2, 0};
    assert_int_equal(pdi_pq_snappy_decompress(far, sizeof far, out, 5), PD_ERR_CORRUPT);
    assert_int_equal(pdi_pq_snappy_decompress(far, 4, out, 5), PD_ERR_CORRUPT);
}

static void t_corrupt_blocks_agree(void **state)
{
    (void)state;
    int valid = 0, total = 0;
    for (int shape = 0; shape < 6; shape++) {
        size_t n = 3000 + (size_t)shape * 977;
        uint8_t *in = make_input(shape, n);
        size_t cap = snappy_max_compressed_length(n);
        uint8_t *c = malloc(cap), *m = malloc(cap);
        assert_non_null(c);
        assert_non_null(m);
        size_t clen = cap;
        assert_int_equal(snappy_compress((const char *)in, n, (char *)c, &clen), SNAPPY_OK);
        for (int k = 0; k < 1500; k++) {
            memcpy(m, c, clen);
            size_t mlen = clen;
            int muts = 1 + (int)(next() % 3);
            for (int j = 0; j < muts; j++) {
                size_t at = (size_t)(next() % mlen);
                switch (next() % 3) {
                case 0: m[at] = (uint8_t)next(); break;
                case 1: m[at] ^= (uint8_t)(1u << (next() % 8)); break;
                default: mlen = at + 1; break; /* truncate */
                }
            }
            valid += both_agree(m, mlen, n);
            total++;
        }
        free(in);
        free(c);
        free(m);
    }
    assert_true(valid < total); /* some corruptions were caught */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_roundtrip_shapes),
        cmocka_unit_test(t_hand_made_tags),
        cmocka_unit_test(t_corrupt_blocks_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
