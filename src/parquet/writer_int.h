/*
 * parquet/writer_int.h - internal interface of the Parquet writer.
 *
 * Shared between thrift_write.c (Thrift compact encoder), encode_*.c (level,
 * dictionary-index, delta and byte-stream-split encoders), codec_compress.c
 * (page compression with reusable contexts) and writer.c (schema mapping,
 * shredding, pages, column chunks, footer). Nothing here is public API.
 */
#ifndef PD_PARQUET_WRITER_INT_H
#define PD_PARQUET_WRITER_INT_H

#include "pipedag/parquet.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- growable byte buffer (fast path inline) ---- */
typedef struct pdw_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
} pdw_buf;

/* Ensure room for `extra` more bytes; PD_OK or PD_ERR_NOMEM (message set). */
int pdw_buf_grow(pdw_buf *b, size_t extra);
void pdw_buf_free(pdw_buf *b);
static inline int pdw_buf_reserve(pdw_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra) {
        return PD_OK;
    }
    return pdw_buf_grow(b, extra);
}
static inline int pdw_buf_put(pdw_buf *b, const void *p, size_t n)
{
    if (pdw_buf_reserve(b, n) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    if (n) {
        memcpy(b->p + b->len, p, n);
    }
    b->len += n;
    return PD_OK;
}

/* ---- Thrift compact protocol encoder ---- */
enum {
    PDW_T_TRUE = 1,
    PDW_T_FALSE = 2,
    PDW_T_I8 = 3,
    PDW_T_I16 = 4,
    PDW_T_I32 = 5,
    PDW_T_I64 = 6,
    PDW_T_DOUBLE = 7,
    PDW_T_BINARY = 8,
    PDW_T_LIST = 9,
    PDW_T_STRUCT = 12
};
#define PDW_T_MAX_DEPTH 32
typedef struct pdw_thrift {
    pdw_buf *b;
    int16_t last[PDW_T_MAX_DEPTH];
    int depth;
    int err; /* sticky PD_ERR_NOMEM / PD_ERR_INVALID */
} pdw_thrift;

void pdw_t_init(pdw_thrift *t, pdw_buf *b); /* starts at depth 0, previous id 0 */
void pdw_t_field(pdw_thrift *t, int id, int type);
void pdw_t_i32(pdw_thrift *t, int id, int32_t v);
void pdw_t_i64(pdw_thrift *t, int id, int64_t v);
void pdw_t_i8(pdw_thrift *t, int id, int8_t v);
void pdw_t_bool(pdw_thrift *t, int id, int v);
void pdw_t_bin(pdw_thrift *t, int id, const void *p, size_t n);
void pdw_t_str(pdw_thrift *t, int id, const char *s);
/* Field header of type STRUCT + push; close with pdw_t_end. */
void pdw_t_struct(pdw_thrift *t, int id);
/* Begin a nested struct without field header (list element / top level). */
void pdw_t_begin(pdw_thrift *t);
/* Write STOP and pop. */
void pdw_t_end(pdw_thrift *t);
/* Field header of type LIST with `n` elements of element type `etype`. */
void pdw_t_list(pdw_thrift *t, int id, int etype, size_t n);
/* Bare values (list elements). */
void pdw_t_raw_varint(pdw_thrift *t, uint64_t v);
void pdw_t_raw_i32(pdw_thrift *t, int32_t v);
void pdw_t_raw_i64(pdw_thrift *t, int64_t v);
void pdw_t_raw_bin(pdw_thrift *t, const void *p, size_t n);
void pdw_t_raw_bytes(pdw_thrift *t, const void *p, size_t n); /* pre-encoded */

/* ---- value encoders (encode_rle.c, encode_delta.c) ---- */
/* Bits needed for v (0 for 0). */
static inline int pdw_bit_width(uint64_t v)
{
    return v ? 64 - __builtin_clzll(v) : 0;
}
/* RLE/bit-packed hybrid of n levels (uint8) at bit width w (0..8), appended
 * to out without length prefix. */
int pdw_rle_u8(pdw_buf *out, const uint8_t *v, size_t n, int w);
/* Same for uint32 values (dictionary indices), w 0..32. */
int pdw_rle_u32(pdw_buf *out, const uint32_t *v, size_t n, int w);
/* DELTA_BINARY_PACKED of n int32/int64 values. */
int pdw_delta_i32(pdw_buf *out, const int32_t *v, size_t n);
int pdw_delta_i64(pdw_buf *out, const int64_t *v, size_t n);
/* BYTE_STREAM_SPLIT of n values of `width` bytes. */
int pdw_bss(pdw_buf *out, const uint8_t *v, size_t n, size_t width);

/* ---- split-block Bloom filters (write_bloom.c; hashing in bloom.c, codec.h) ---- */
size_t pdw_bloom_size(size_t ndv);
/* BloomFilterHeader (BLOCK / XXHASH / UNCOMPRESSED) as a top-level struct. */
void pdw_bloom_header(pdw_thrift *t, size_t nbytes);

/* ---- compression with a reusable context (codec_compress.c) ---- */
typedef struct pdw_cctx {
    void *zstd; /* ZSTD_CCtx */
    int zstd_level;
} pdw_cctx;
int pdw_compress(
    pdw_cctx *ctx, int codec, int level, const uint8_t *src, size_t src_len, pdw_buf *out);
void pdw_cctx_free(pdw_cctx *ctx);

/* ---- schema mapping (write_schema.c) ---- */
/* How Arrow values become Parquet physical values. */
enum pdw_conv {
    PDW_CV_NULL,    /* Arrow null type: every slot null */
    PDW_CV_BOOL,    /* bitmap -> one byte per value (packed at page time) */
    PDW_CV_I8,      /* int8 -> INT32 */
    PDW_CV_I16,     /* int16 -> INT32 */
    PDW_CV_U8,      /* uint8 -> INT32 */
    PDW_CV_U16,     /* uint16 -> INT32 */
    PDW_CV_I32,     /* 4-byte copy: int32, uint32, date32, time32[ms] */
    PDW_CV_I32_MUL, /* int32 * mul (time32[s] -> ms) */
    PDW_CV_I64,     /* 8-byte copy */
    PDW_CV_I64_MUL, /* int64 * mul (timestamp[s] -> ms) */
    PDW_CV_DATE64,  /* ms -> days (floor) */
    PDW_CV_F32,
    PDW_CV_F64,
    PDW_CV_FIXED, /* fixed size binary / float16: copy type_length bytes */
    PDW_CV_BIN32, /* utf8 / binary: int32 offsets -> PLAIN BYTE_ARRAY */
    PDW_CV_BIN64, /* large utf8 / large binary */
    PDW_CV_DEC32, /* decimal128 -> INT32 */
    PDW_CV_DEC64, /* decimal128 -> INT64 */
    PDW_CV_DECFIX /* decimal128 -> FLBA big-endian (type_length bytes) */
};
/* Statistics sort order of a leaf. */
enum pdw_sort {
    PDW_SO_NONE,
    PDW_SO_BOOL,
    PDW_SO_SIGNED,
    PDW_SO_UNSIGNED,
    PDW_SO_FLOAT,
    PDW_SO_F16,
    PDW_SO_BYTES,
    PDW_SO_DECBE
};
enum pdw_step_kind {
    PDW_ST_STRUCT,
    PDW_ST_LIST,
    PDW_ST_LARGE_LIST,
    PDW_ST_FIXED_LIST,
    PDW_ST_LEAF
};
typedef struct pdw_step {
    int kind;
    int nullable;  /* adds a definition level */
    int child;     /* struct: child index to descend into */
    int64_t fixed; /* fixed size list: list size */
} pdw_step;
#define PDW_MAX_STEPS 64

/* One Parquet SchemaElement. */
typedef struct pdw_selem {
    char *name;
    int type; /* -1 for groups */
    int type_length;
    int repetition; /* 0 required, 1 optional, 2 repeated */
    int num_children;
    int converted; /* -1 none */
    int scale, precision, has_decimal;
    int logical; /* LogicalType member id, 0 none */
    int lt_unit; /* TimeUnit member: 1 ms, 2 us, 3 ns */
    int lt_utc;
    int lt_bits, lt_signed;
} pdw_selem;

/* Parquet physical types. */
enum { T_BOOLEAN, T_INT32, T_INT64, T_INT96, T_FLOAT, T_DOUBLE, T_BYTE_ARRAY, T_FLBA };

/* Column chunk metadata gathered while encoding. */
typedef struct pdw_chunk_meta {
    int64_t num_values;
    int64_t total_uncompressed, total_compressed;
    int64_t dict_rel;   /* -1 without dictionary page */
    int64_t data_rel;   /* offset of the first data page within the chunk */
    uint32_t encodings; /* bit set of Encoding values used */
    int dict_pages;
    int data_pages_by_enc[10];
    int data_page_type; /* 0 v1, 3 v2 */
    int has_minmax, signed_legacy;
    pdw_buf min, max;
    int64_t null_count;
    int64_t nan_count;            /* -1: not written */
    int64_t bloom_rel, bloom_len; /* -1 without Bloom filter */
} pdw_chunk_meta;

/* One leaf column: schema facts, the row group's accumulated levels and
 * values, and the encoded chunk. The schema holds one template per leaf
 * (owning path and dotted); the writer fills struct copies of the templates
 * (one set per row group buffer) that borrow those names and own only their
 * row group data (freed by pdw_leaf_data_free). */
typedef struct pdw_leaf {
    int col; /* top-level field */
    pdw_step steps[PDW_MAX_STEPS];
    int nsteps;
    char **path;
    int npath;
    char *dotted; /* "a.list.element" for messages */
    int phys, type_length, conv, sort;
    int64_t mul;
    char dict_index_fmt; /* 0 unless the Arrow input is dictionary-encoded */
    int max_def, max_rep;
    /* accumulated row group data */
    pdw_buf def, rep; /* uint8 levels */
    pdw_buf vals;     /* fixed width values, or PLAIN BYTE_ARRAY (u32 len + bytes) */
    int64_t nlev, nval, nnull;
    /* encoded chunk */
    pdw_buf enc;
    pdw_chunk_meta meta;
    int rc;
    char *err;
} pdw_leaf;

/* Bytes per value in a leaf's value buffer (booleans: one byte each), 0
 * for BYTE_ARRAY (u32 length + bytes). */
static inline size_t pdw_value_width(const pdw_leaf *lf)
{
    switch (lf->phys) {
    case T_BOOLEAN: return 1;
    case T_INT32:
    case T_FLOAT: return 4;
    case T_INT64:
    case T_DOUBLE: return 8;
    case T_FLBA: return (size_t)lf->type_length;
    default: return 0;
    }
}

typedef struct pdw_schema {
    pdw_selem *el;
    size_t nel, capel;
    pdw_leaf *leaves;
    size_t nleaves, capleaves;
    int ncols;
} pdw_schema;

int pdw_schema_build(const struct ArrowSchema *s, pdw_schema *out);
void pdw_schema_free(pdw_schema *s);
/* Free a leaf's row group data (levels, values, encoded chunk, statistics
 * buffers, error), not its schema facts or names. */
void pdw_leaf_data_free(pdw_leaf *lf);
void pdw_schema_serialize(const pdw_schema *s, pdw_thrift *t); /* FileMetaData field 2 */

/* ---- shredding (write_shred.c) ---- */
typedef struct pdw_shred_scratch {
    int64_t *idx, *idx2;
    uint8_t *def, *def2, *rep, *rep2;
    size_t cap, cap2;
} pdw_shred_scratch;
/* Append rows [row0, row0+n) of the struct batch to the buffers of one
 * leaf (a copy of a schema leaf). Leaves are independent: different leaves
 * may be shredded from the same batch at once (one scratch per thread). */
int pdw_shred(
    pdw_leaf *lf, const struct ArrowArray *batch, int64_t row0, int64_t n, pdw_shred_scratch *sc);
void pdw_shred_scratch_free(pdw_shred_scratch *sc);

/* ---- column chunk encoding (write_chunk.c) ---- */
typedef struct pdw_enc_opts {
    int codec, level;
    int64_t page_size;
    int dictionary;
    int64_t dict_limit;
    int page_version;
    int statistics;
    int encoding; /* forced non-dictionary encoding, -1 = auto */
    int bloom;    /* Bloom filters for dictionary-encoded chunks */
} pdw_enc_opts;
typedef struct pdw_worker {
    pdw_shred_scratch sc;
    pdw_cctx cctx;
    pdw_buf body, lv, vbuf, comp, hdr, dict, tmp;
    uint32_t *ind;
    size_t ind_cap;
    uint32_t *table;
    size_t table_cap;
    uint32_t *ehash;
    uint32_t *eoff;
    size_t e_cap;
} pdw_worker;
/* Encode the leaf's accumulated data as one column chunk into leaf->enc and
 * leaf->meta (offsets relative to the chunk start). */
int pdw_encode_chunk(const pdw_enc_opts *o, pdw_leaf *leaf, pdw_worker *wk);
void pdw_worker_free(pdw_worker *wk);
/* Serialize a ColumnChunk (with absolute offsets from `base`). */
void pdw_chunk_serialize(const pdw_leaf *leaf, int codec, int64_t base, pdw_thrift *t);

#endif
