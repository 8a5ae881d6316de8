/*
 * parquet/reader_int.h - internals of the Parquet reader (private to the
 * reader files: thrift_read.c, meta.c, decode*.c, reader.c).
 *
 * The footer is decoded into plain C structs (pdi_file), the flat schema list
 * into a node tree (pdi_node) and an Arrow-shaped field tree (pdi_field).
 */
#ifndef PD_PARQUET_READER_INT_H
#define PD_PARQUET_READER_INT_H

#include "pipedag/parquet.h"
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- limits */
#define PDI_MAX_SCHEMA_DEPTH  64 /* nesting of schema groups */
#define PDI_MAX_THRIFT_DEPTH  64 /* nesting of Thrift structs/lists */
#define PDI_MAX_COLUMN_VALUES ((int64_t)INT32_MAX)
#define PDI_MAX_READ_THREADS  64
/* Largest single allocation the reader makes for decoded data (bytes). The
 * fuzzer lowers it; real files never come near the default. */
extern size_t pdi_pq_alloc_limit;

/* ---------------------------------------------------------------- thrift */
enum {
    PDI_T_STOP = 0,
    PDI_T_TRUE = 1,
    PDI_T_FALSE = 2,
    PDI_T_I8 = 3,
    PDI_T_I16 = 4,
    PDI_T_I32 = 5,
    PDI_T_I64 = 6,
    PDI_T_DOUBLE = 7,
    PDI_T_BINARY = 8,
    PDI_T_LIST = 9,
    PDI_T_SET = 10,
    PDI_T_MAP = 11,
    PDI_T_STRUCT = 12,
    PDI_T_UUID = 13
};

typedef struct pdi_thrift {
    const uint8_t *p;
    const uint8_t *end;
    const uint8_t *start;
    int depth;
} pdi_thrift;

void pdi_tr_init(pdi_thrift *t, const void *data, size_t len);
/* All return PD_OK or PD_ERR_CORRUPT (with message). */
int pdi_tr_varint(pdi_thrift *t, uint64_t *v);
int pdi_tr_i64(pdi_thrift *t, int64_t *v);
int pdi_tr_i32(pdi_thrift *t, int32_t *v);
int pdi_tr_i8(pdi_thrift *t, int8_t *v);
int pdi_tr_double(pdi_thrift *t, double *v);
int pdi_tr_binary(pdi_thrift *t, const uint8_t **data, size_t *len);
/* Read a field header. *type receives PDI_T_STOP at the end of the struct.
 * *last is the previous field id of this struct (start with 0). */
int pdi_tr_field(pdi_thrift *t, int16_t *last, int16_t *id, int *type);
/* List/set header: element type and size (size checked against the bytes left). */
int pdi_tr_list(pdi_thrift *t, int *elem_type, uint32_t *n);
/* Skip one value of the given wire type (recursively). */
int pdi_tr_skip(pdi_thrift *t, int type);
/* Bool value of a field (its type nibble) or a list element. */
int pdi_tr_bool_elem(pdi_thrift *t, bool *v);
int pdi_tr_enter(pdi_thrift *t);
void pdi_tr_leave(pdi_thrift *t);

/* ---------------------------------------------------------------- enums */
enum {
    PDI_BOOLEAN,
    PDI_INT32,
    PDI_INT64,
    PDI_INT96,
    PDI_FLOAT,
    PDI_DOUBLE,
    PDI_BYTE_ARRAY,
    PDI_FLBA
};
enum { PDI_REQUIRED, PDI_OPTIONAL, PDI_REPEATED };
enum {
    PDI_CT_UTF8 = 0,
    PDI_CT_MAP = 1,
    PDI_CT_MAP_KEY_VALUE = 2,
    PDI_CT_LIST = 3,
    PDI_CT_ENUM = 4,
    PDI_CT_DECIMAL = 5,
    PDI_CT_DATE = 6,
    PDI_CT_TIME_MILLIS = 7,
    PDI_CT_TIME_MICROS = 8,
    PDI_CT_TIMESTAMP_MILLIS = 9,
    PDI_CT_TIMESTAMP_MICROS = 10,
    PDI_CT_UINT_8 = 11,
    PDI_CT_UINT_16 = 12,
    PDI_CT_UINT_32 = 13,
    PDI_CT_UINT_64 = 14,
    PDI_CT_INT_8 = 15,
    PDI_CT_INT_16 = 16,
    PDI_CT_INT_32 = 17,
    PDI_CT_INT_64 = 18,
    PDI_CT_JSON = 19,
    PDI_CT_BSON = 20,
    PDI_CT_INTERVAL = 21
};
/* LogicalType union member ids. */
enum {
    PDI_LT_NONE = 0,
    PDI_LT_STRING = 1,
    PDI_LT_MAP = 2,
    PDI_LT_LIST = 3,
    PDI_LT_ENUM = 4,
    PDI_LT_DECIMAL = 5,
    PDI_LT_DATE = 6,
    PDI_LT_TIME = 7,
    PDI_LT_TIMESTAMP = 8,
    PDI_LT_INTEGER = 10,
    PDI_LT_UNKNOWN = 11,
    PDI_LT_JSON = 12,
    PDI_LT_BSON = 13,
    PDI_LT_UUID = 14,
    PDI_LT_FLOAT16 = 15,
    PDI_LT_VARIANT = 16,
    PDI_LT_GEOMETRY = 17,
    PDI_LT_GEOGRAPHY = 18,
    PDI_LT_OTHER = 99
};
enum { PDI_UNIT_MS = 1, PDI_UNIT_US = 2, PDI_UNIT_NS = 3 };
enum {
    PDI_ENC_PLAIN = 0,
    PDI_ENC_PLAIN_DICTIONARY = 2,
    PDI_ENC_RLE = 3,
    PDI_ENC_BIT_PACKED = 4,
    PDI_ENC_DELTA_BINARY_PACKED = 5,
    PDI_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    PDI_ENC_DELTA_BYTE_ARRAY = 7,
    PDI_ENC_RLE_DICTIONARY = 8,
    PDI_ENC_BYTE_STREAM_SPLIT = 9
};
enum { PDI_PAGE_DATA = 0, PDI_PAGE_INDEX = 1, PDI_PAGE_DICT = 2, PDI_PAGE_DATA_V2 = 3 };

const char *pdi_type_name(int t);
const char *pdi_encoding_name(int e);
const char *pdi_converted_name(int c);

/* ---------------------------------------------------------------- footer */
typedef struct pdi_stats {
    bool has_null_count, has_distinct, has_min, has_max;
    bool min_exact, max_exact;
    int64_t null_count, distinct_count;
    uint8_t *min, *max; /* owned copies (min_value/max_value preferred) */
    size_t min_len, max_len;
    bool deprecated_minmax; /* min/max came from fields 1/2 */
} pdi_stats;

typedef struct pdi_chunk {
    bool has_meta;
    bool encrypted;  /* crypto_metadata or encrypted_column_metadata */
    char *file_path; /* external file; unsupported */
    int type;
    int codec;
    int n_encodings;
    int *encodings;
    char *path; /* dotted path_in_schema */
    int64_t num_values;
    int64_t total_uncompressed;
    int64_t total_compressed;
    int64_t data_page_offset;
    int64_t dict_page_offset; /* -1 if absent */
    int64_t bloom_offset;     /* -1 if absent */
    int32_t bloom_length;     /* header + bitset bytes; -1 if absent */
    int64_t column_index_offset, offset_index_offset;
    int n_kv;
    pdi_stats stats;
    bool has_stats;
} pdi_chunk;

typedef struct pdi_rowgroup {
    int64_t num_rows;
    int64_t total_byte_size;
    int64_t total_compressed; /* -1 if absent */
    int n_sorting;
    int n_columns;
    pdi_chunk *columns;
} pdi_rowgroup;

typedef struct pdi_node {
    char *name;
    int repetition; /* -1 = absent */
    int ptype;      /* -1 = group */
    int type_length;
    int converted; /* -1 = none */
    int logical;   /* PDI_LT_* */
    int lt_unit;
    bool lt_utc;
    int lt_bits;
    bool lt_signed;
    int precision, scale; /* -1 if absent */
    int field_id;
    bool has_field_id;
    int num_children; /* -1 = leaf */
    /* tree */
    struct pdi_node **children;
    struct pdi_node *parent;
    int def, rep; /* levels at this node (root: 0, 0) */
    int leaf;     /* leaf index or -1 */
} pdi_node;

/* How a leaf's physical values become its Arrow buffer. */
enum {
    PDI_CV_COPY,    /* same bytes (width pw) */
    PDI_CV_BOOL,    /* bytes -> bitmap */
    PDI_CV_I8,      /* int32 -> int8/uint8 */
    PDI_CV_I16,     /* int32 -> int16/uint16 */
    PDI_CV_INT96,   /* INT96 -> int64 us or ns (read option) */
    PDI_CV_DEC_I32, /* int32 -> decimal128 */
    PDI_CV_DEC_I64, /* int64 -> decimal128 */
    PDI_CV_DEC_BE,  /* big-endian bytes (FLBA) -> decimal128 */
    PDI_CV_DEC_BA,  /* big-endian BYTE_ARRAY -> decimal128 */
    PDI_CV_BINARY,  /* BYTE_ARRAY -> utf8/binary */
    PDI_CV_NULL     /* null type */
};

enum { PDI_F_LEAF, PDI_F_STRUCT, PDI_F_LIST, PDI_F_MAP };

typedef struct pdi_field {
    int kind;
    const char *name;
    bool nullable;
    int def;      /* value non-null iff def level >= def */
    int elem_def; /* list/map: list non-empty iff def >= elem_def */
    int rep;      /* list/map: repetition level of the elements */
    int n_children;
    struct pdi_field *children;
    int first_leaf, n_leaves;
    int leaf; /* PDI_F_LEAF: leaf column index */
    char format[40];
} pdi_field;

typedef struct pdi_column { /* one leaf */
    pdi_node *node;
    char *path; /* dotted path */
    int ptype;
    int type_length;
    int max_def, max_rep;
    int conv;
    int pw; /* physical value width (bytes) for fixed-width types, 0 for BYTE_ARRAY */
    int aw; /* Arrow value width (bytes), 0 for binary/bool/null */
    int dec_precision, dec_scale;
} pdi_column;

typedef struct pdi_file {
    int32_t version;
    int n_nodes;
    pdi_node *nodes;
    int64_t num_rows;
    int n_rowgroups;
    pdi_rowgroup *rowgroups;
    size_t n_kv;
    char **kv_keys;
    char **kv_values;
    char *created_by;
    int n_column_orders;
    bool encrypted_footer_alg; /* plaintext-footer encryption */
    /* derived */
    int n_leaves;
    pdi_column *leaves;
    pdi_field root; /* struct of the top-level fields */
} pdi_file;

/* meta.c */
int pdi_parse_footer(const uint8_t *buf, size_t len, uint64_t file_size, pdi_file *f);
void pdi_file_free(pdi_file *f);

typedef struct pdi_page_header {
    int type;
    int32_t uncompressed_size;
    int32_t compressed_size;
    bool has_crc;
    int32_t crc; /* CRC-32 of the stored page bytes after the header */
    /* data page v1/v2 */
    int32_t num_values;
    int32_t num_nulls;
    int32_t num_rows;
    int encoding;
    int def_encoding, rep_encoding;
    int32_t def_len, rep_len; /* v2 */
    bool is_compressed;       /* v2, default true */
    bool has_data_header, has_dict_header, has_v2_header;
    /* dictionary */
    int32_t dict_num_values;
    int dict_encoding;
} pdi_page_header;

int pdi_parse_page_header(const uint8_t *buf, size_t len, pdi_page_header *h, size_t *consumed);

/* ---------------------------------------------------------------- decode */
/* RLE/bit-packed hybrid into bytes (levels, booleans). Values > maxv are
 * corrupt. Returns PD_OK / PD_ERR_CORRUPT. */
int pdi_rle_u8(const uint8_t *p, size_t len, int bw, uint8_t *out, int64_t n, int maxv);
/* RLE/bit-packed hybrid into u32 (dictionary indices). */
int pdi_rle_u32(const uint8_t *p, size_t len, int bw, uint32_t *out, int64_t n);
/* Legacy BIT_PACKED (MSB first) levels; *used receives the bytes consumed. */
int pdi_bitpacked_msb_u8(
    const uint8_t *p, size_t len, int bw, uint8_t *out, int64_t n, int maxv, size_t *used);
/* DELTA_BINARY_PACKED: decode exactly n values (32- or 64-bit output). */
int pdi_delta_decode(const uint8_t *p, size_t len, int64_t n, int width, void *out, size_t *used);
/* Number of values announced in a DELTA_BINARY_PACKED header. */
int pdi_delta_count(const uint8_t *p, size_t len, int64_t *n);
int pdi_bit_width(uint32_t v);

/* ---------------------------------------------------------------- buffers */
/* Reader buffers (read_pool.c): 64-byte aligned, with a hidden header naming
 * their capacity and pool. Large ones go back to the pool when freed and are
 * reused by later row groups. pool may be NULL (plain heap buffers). */
typedef struct pdi_pool pdi_pool;
pdi_pool *pdi_pool_new(size_t limit);
void pdi_pool_set_limit(pdi_pool *p, size_t limit); /* raises the cached-bytes limit */
void pdi_pool_unref(pdi_pool *p);
/* The owner is done: drop the cache and stop caching, then unref. */
void pdi_pool_close(pdi_pool *p);
size_t pdi_pool_cached(pdi_pool *p);        /* bytes cached (tests) */
void *pdi_balloc(pdi_pool *pool, size_t n); /* bounded by pdi_pq_alloc_limit */
/* Capacity of at least n, keeping the first `keep` bytes (may move). */
void *pdi_bgrow(pdi_pool *pool, void *buf, size_t keep, size_t n);
size_t pdi_bcap(const void *buf);
void pdi_bfree(void *buf);

/* Growable byte-array values: offsets (int32, n+1) and data (reader buffers). */
typedef struct pdi_bytes {
    pdi_pool *pool;
    int32_t *offs;
    int64_t n, cap; /* values */
    uint8_t *data;
    size_t len, dcap;
} pdi_bytes;
int pdi_bytes_reserve(pdi_bytes *b, int64_t n, size_t bytes);
void pdi_bytes_free(pdi_bytes *b);

/* Checked allocation bounded by pdi_pq_alloc_limit (sets PD_ERR_NOMEM or
 * PD_ERR_CORRUPT "too large"). */
void *pdi_alloc(size_t n);
void *pdi_pq_realloc(void *p, size_t n);
int pdi_alloc_check(size_t n);

/* ---------------------------------------------------------------- chunks */
/* Decoded contents of one column chunk: levels for every slot and the dense
 * (non-null) values in physical form. */
typedef struct pdi_leafbuf {
    int64_t n_slots, cap_slots;
    uint8_t *def; /* NULL if max_def == 0 */
    uint8_t *rep; /* NULL if max_rep == 0 */
    int64_t n_values;
    uint8_t *vals; /* fixed width: cap_slots * pw bytes */
    pdi_bytes ba;  /* BYTE_ARRAY values */
} pdi_leafbuf;

void pdi_leafbuf_free(pdi_leafbuf *lb);

/* Scratch buffers of one decoding thread, reused from chunk to chunk. */
typedef struct pdi_scratch {
    uint8_t *page; /* decompressed page */
    size_t page_cap;
    uint32_t *idx; /* dictionary indices */
    size_t idx_cap;
    int32_t *tmp32; /* delta-decoded lengths */
    size_t tmp32_cap;
} pdi_scratch;
void pdi_scratch_free(pdi_scratch *s);

struct pd_parquet_reader;
/* Read and decode the chunk of leaf `leaf` in row group `rg` (thread safe for
 * distinct scratch and out). */
#define PDI_VERIFY_CRC 1u /* flags: check the CRC-32 of pages that carry one */
int pdi_read_chunk(struct pd_parquet_reader *r,
                   pdi_scratch *s,
                   int rg,
                   int leaf,
                   unsigned flags,
                   pdi_leafbuf *out);

/* Bytes [off, off + len) of the file: a pointer into the mapping/memory, or
 * a reader buffer read through read_at (serialized) that the caller frees
 * with pdi_bfree(*owned). */
int pdi_read_range(
    struct pd_parquet_reader *r, uint64_t off, size_t len, const uint8_t **out, uint8_t **owned);

/* ---------------------------------------------------------------- reader */
struct pd_parquet_reader {
    pd_parquet_read_at_fn read_at;
    void *user;
    uint64_t file_size;
    const uint8_t *mem; /* whole file in memory (borrowed or mmap) */
    void *map;          /* mmap base (owned) */
    size_t map_len;
    int fd;
    uint64_t meta_start;   /* offset of the footer (FileMetaData) */
    pthread_mutex_t io_mu; /* serializes read_at calls from decoding threads */
    pdi_pool *pool;        /* buffers of this reader's arrays */
    pdi_scratch scratch;   /* the calling thread's scratch buffers */
    pdi_file f;
};

#endif
