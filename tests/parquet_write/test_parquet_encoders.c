/*
 * tests/parquet_write/test_parquet_encoders.c - byte-exact checks of the
 * writer's low-level encoders: Thrift compact fields (short and long form,
 * nested structs, lists), RLE/bit-packed hybrid (spec examples, padding,
 * long runs), DELTA_BINARY_PACKED (header, miniblocks, wrap-around) and
 * BYTE_STREAM_SPLIT, and the compression round trip of every codec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "parquet/codec.h"
#include "parquet/writer_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_thrift(void **state)
{
    (void)state;
    pdw_buf b = {0};
    pdw_thrift t;
    pdw_t_init(&t, &b);
    pdw_t_i32(&t, 1, 1);              /* 15 02 */
    pdw_t_str(&t, 4, "ab");           /* 38 02 'a' 'b' */
    pdw_t_struct(&t, 10);             /* 6C */
    pdw_t_struct(&t, 2555);           /* 0C F6 27: long form */
    pdw_t_end(&t);                    /* 00 */
    pdw_t_bool(&t, 2556, 1);          /* 11: delta 1 from 2555 */
    pdw_t_end(&t);                    /* 00 */
    pdw_t_list(&t, 11, PDW_T_I32, 2); /* 19 25 */
    pdw_t_raw_i32(&t, -1);            /* 01 */
    pdw_t_raw_i32(&t, 64);            /* 80 01 */
    pdw_t_i64(&t, 9, 300);            /* long form: id delta -2 -> 06 12, value D8 04 */
    pdw_t_end(&t);
    static const uint8_t exp[] = {0x15, 0x02, 0x38, 0x02, 'a',  'b',  0x6C, 0x0C,
                                  0xF6, 0x27, 0x00, 0x11, 0x00, 0x19, 0x25, 0x01,
                                  0x80, 0x01, 0x06, 0x12, 0xD8, 0x04, 0x00};
    assert_int_equal(t.err, PD_OK);
    assert_int_equal(b.len, sizeof exp);
    assert_memory_equal(b.p, exp, sizeof exp);
    /* lists of 15+ elements use the long header */
    b.len = 0;
    pdw_t_init(&t, &b);
    pdw_t_list(&t, 1, PDW_T_STRUCT, 20);
    static const uint8_t exp2[] = {0x19, 0xFC, 0x14};
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.p, exp2, 3);
    pdw_buf_free(&b);
}

static void test_rle(void **state)
{
    (void)state;
    pdw_buf b = {0};
    /* spec example: 0..7 at width 3 -> one bit-packed group 88 C6 FA */
    const uint8_t v[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    assert_int_equal(pdw_rle_u8(&b, v, 8, 3), PD_OK);
    static const uint8_t e1[] = {0x03, 0x88, 0xC6, 0xFA};
    assert_int_equal(b.len, sizeof e1);
    assert_memory_equal(b.p, e1, sizeof e1);
    /* 25 x 1 at width 1 -> RLE run 32 01 */
    uint8_t ones[25];
    memset(ones, 1, sizeof ones);
    b.len = 0;
    assert_int_equal(pdw_rle_u8(&b, ones, 25, 1), PD_OK);
    static const uint8_t e2[] = {0x32, 0x01};
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.p, e2, 2);
    /* 3 literals then a run of 20: the literal group is padded with run
     * values to 8, the remaining 15 become an RLE run */
    uint8_t mix[23] = {1, 0, 1};
    memset(mix + 3, 1, 20);
    b.len = 0;
    assert_int_equal(pdw_rle_u8(&b, mix, 23, 1), PD_OK);
    static const uint8_t e3[] = {0x03, 0xFD, 0x1E, 0x01};
    assert_int_equal(b.len, sizeof e3);
    assert_memory_equal(b.p, e3, sizeof e3);
    /* 5 values at width 2: one padded group (2 bytes) */
    const uint8_t five[5] = {3, 2, 1, 0, 3};
    b.len = 0;
    assert_int_equal(pdw_rle_u8(&b, five, 5, 2), PD_OK);
    static const uint8_t e4[] = {0x03, 0x1B, 0x03};
    assert_int_equal(b.len, sizeof e4);
    assert_memory_equal(b.p, e4, sizeof e4);
    /* u32 indices: a run of 300 x 1000 at width 10 -> D8 04 E8 03 */
    uint32_t *ix = malloc(300 * sizeof *ix);
    for (int i = 0; i < 300; i++) {
        ix[i] = 1000;
    }
    b.len = 0;
    assert_int_equal(pdw_rle_u32(&b, ix, 300, 10), PD_OK);
    static const uint8_t e5[] = {0xD8, 0x04, 0xE8, 0x03};
    assert_int_equal(b.len, sizeof e5);
    assert_memory_equal(b.p, e5, sizeof e5);
    free(ix);
    pdw_buf_free(&b);
}

static void test_delta(void **state)
{
    (void)state;
    pdw_buf b = {0};
    /* one value: header only */
    const int32_t one[1] = {7};
    assert_int_equal(pdw_delta_i32(&b, one, 1), PD_OK);
    static const uint8_t e1[] = {0x80, 0x01, 0x04, 0x01, 0x0E};
    assert_int_equal(b.len, sizeof e1);
    assert_memory_equal(b.p, e1, sizeof e1);
    /* 1..5: constant delta 1 -> min delta 1, widths 0, no bodies */
    const int64_t seq[5] = {1, 2, 3, 4, 5};
    b.len = 0;
    assert_int_equal(pdw_delta_i64(&b, seq, 5), PD_OK);
    static const uint8_t e2[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0};
    assert_int_equal(b.len, sizeof e2);
    assert_memory_equal(b.p, e2, sizeof e2);
    /* INT32 extremes: deltas wrap in 32 bits, widths stay <= 32 */
    const int32_t ext[3] = {INT32_MIN, INT32_MAX, INT32_MIN};
    b.len = 0;
    assert_int_equal(pdw_delta_i32(&b, ext, 3), PD_OK);
    /* header 80 01 04 03 <zz(INT32_MIN)=FF FF FF FF 0F>; block: min delta
     * zz(1)=02 (deltas -1 and 1 as int32), widths 2 0 0 0, one miniblock of
     * 32 values at width 2 = 8 bytes */
    assert_int_equal(b.len, 4 + 5 + 1 + 4 + 8);
    assert_int_equal(b.p[9], 0x01); /* zz(-1) */
    assert_int_equal(b.p[10], 2);
    assert_int_equal(b.p[14], 0x08); /* packed (delta - min): 0, 2 -> 0b1000 */
    pdw_buf_free(&b);
}

static void test_bss(void **state)
{
    (void)state;
    pdw_buf b = {0};
    const uint8_t v[12] = {0xAA, 0xBB, 0xCC, 0xDD, 0x00, 0x11, 0x22, 0x33, 0xA3, 0xB4, 0xC5, 0xD6};
    static const uint8_t e[12] = {0xAA, 0x00, 0xA3, 0xBB, 0x11, 0xB4,
                                  0xCC, 0x22, 0xC5, 0xDD, 0x33, 0xD6};
    assert_int_equal(pdw_bss(&b, v, 3, 4), PD_OK);
    assert_int_equal(b.len, 12);
    assert_memory_equal(b.p, e, 12);
    pdw_buf_free(&b);
}

/* The parquet-testing filter holding "hello", "parquet", "bloom", "filter":
 * same header bytes and same 1024-byte bitset. */
static void test_bloom(void **state)
{
    (void)state;
    FILE *f = fopen(PQW_BLOOM_FILE, "rb");
    if (!f) {
        skip();
    }
    uint8_t file[2048];
    size_t n = fread(file, 1, sizeof file, f);
    fclose(f);
    assert_int_equal(n, 16 + 1024);
    pdw_buf b = {0};
    pdw_thrift t;
    pdw_t_init(&t, &b);
    pdw_bloom_header(&t, 1024);
    assert_int_equal(b.len, 16);
    assert_memory_equal(b.p, file, 16);
    uint8_t bits[1024];
    memset(bits, 0, sizeof bits);
    const char *words[] = {"hello", "parquet", "bloom", "filter"};
    for (int i = 0; i < 4; i++) {
        pdi_pq_bloom_insert(bits, sizeof bits, pdi_pq_xxh64(words[i], strlen(words[i])));
    }
    assert_memory_equal(bits, file + 16, 1024);
    /* XXH64 of the empty input (reference value) */
    assert_true(pdi_pq_xxh64("", 0) == 0xEF46DB3751D8E999ULL);
    assert_int_equal(pdw_bloom_size(0), 32);
    assert_int_equal(pdw_bloom_size(1000), 2048);
    pdw_buf_free(&b);
}

static void test_codecs_roundtrip(void **state)
{
    (void)state;
    const int codecs[] = {PD_CODEC_UNCOMPRESSED, PD_CODEC_SNAPPY, PD_CODEC_GZIP,
                          PD_CODEC_BROTLI,       PD_CODEC_ZSTD,   PD_CODEC_LZ4_RAW};
    size_t n = 100000;
    uint8_t *src = malloc(n), *back = malloc(n);
    for (size_t i = 0; i < n; i++) {
        src[i] = (uint8_t)((i * 7) ^ (i >> 5));
    }
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        for (int level = 0; level <= 4; level += 4) {
            size_t cap = pdi_pq_compress_bound(codecs[c], n), out = 0;
            assert_true(cap >= 1);
            uint8_t *dst = malloc(cap);
            assert_int_equal(pdi_pq_compress(codecs[c], level, src, n, dst, cap, &out), PD_OK);
            assert_true(out <= cap);
            memset(back, 0, n);
            assert_int_equal(pdi_pq_decompress(codecs[c], dst, out, back, n), PD_OK);
            assert_memory_equal(src, back, n);
            free(dst);
        }
    }
    /* reusable contexts produce the same bytes as the one-shot API */
    pdw_cctx ctx = {0};
    pdw_buf a = {0};
    assert_int_equal(pdw_compress(&ctx, PD_CODEC_ZSTD, 0, src, n, &a), PD_OK);
    size_t cap = pdi_pq_compress_bound(PD_CODEC_ZSTD, n), out = 0;
    uint8_t *dst = malloc(cap);
    assert_int_equal(pdi_pq_compress(PD_CODEC_ZSTD, 0, src, n, dst, cap, &out), PD_OK);
    assert_int_equal(out, a.len);
    assert_memory_equal(dst, a.p, out);
    free(dst);
    pdw_buf_free(&a);
    pdw_cctx_free(&ctx);
    free(src);
    free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thrift), cmocka_unit_test(test_rle),
        cmocka_unit_test(test_delta),  cmocka_unit_test(test_bss),
        cmocka_unit_test(test_bloom),  cmocka_unit_test(test_codecs_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
