/*
 * pipedag/parquet.h - Parquet reader and writer, usable on its own.
 *
 * Reads files written by DuckDB, Arrow (pyarrow, arrow-rs), polars, Spark,
 * Impala and parquet-java into Arrow C Data Interface batches; writes Arrow
 * streams to Parquet files every one of them reads. Corrupt input yields
 * PD_ERR_CORRUPT with a message naming column, row group and page; it never
 * crashes, hangs or allocates without bound. Encrypted files yield
 * PD_ERR_UNSUPPORTED.
 *
 * Threading: one reader/writer handle is used by one thread at a time. A
 * stream with read option threads > 1 decodes on worker threads of its own:
 * its read_at callback is then called from those threads (never two calls at
 * once). Arrays handed out may be released on any thread, also after the
 * reader is closed.
 */
#ifndef PIPEDAG_PARQUET_H
#define PIPEDAG_PARQUET_H

#include "arrow.h"
#include "common.h"
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ reader */

typedef struct pd_parquet_reader pd_parquet_reader;

/* Read `len` bytes at `offset` into buf. Return the number of bytes read
 * (== len unless at end of file) or a negative PD_ERR_* code (the callback
 * sets the message with pd_set_error). */
typedef int64_t (*pd_parquet_read_at_fn)(void *user, uint64_t offset, void *buf, size_t len);

PD_API int pd_parquet_open_path(const char *path, pd_parquet_reader **out);
/* The buffer is borrowed and must outlive the reader. */
PD_API int pd_parquet_open_memory(const void *data, size_t len, pd_parquet_reader **out);
PD_API int pd_parquet_open_callback(pd_parquet_read_at_fn read_at,
                                    void *user,
                                    uint64_t file_size,
                                    pd_parquet_reader **out);
PD_API void pd_parquet_close(pd_parquet_reader *r);

PD_API int64_t pd_parquet_num_rows(const pd_parquet_reader *r);
PD_API int pd_parquet_num_row_groups(const pd_parquet_reader *r);
/* The range of top-level integer column `column` over the whole file, from
 * the footer's statistics alone (no data read): *min, *max of its non-NULL
 * values and *nulls, when every row group states all three exactly and the
 * column is a flat signed INT32/INT64 (no logical type, or a signed integer
 * one). A column with no non-NULL value answers *min > *max. With min and
 * max NULL, only the NULL count: any flat column. Anything else (statistics
 * missing or inexact, other types, nested columns): PD_ERR_UNSUPPORTED. */
PD_API int pd_parquet_int_range(
    const pd_parquet_reader *r, int column, int64_t *min, int64_t *max, int64_t *nulls);
PD_API int64_t pd_parquet_row_group_num_rows(const pd_parquet_reader *r, int row_group);
/* Number of top-level fields (the Arrow table's columns). */
PD_API int pd_parquet_num_columns(const pd_parquet_reader *r);
PD_API const char *pd_parquet_created_by(const pd_parquet_reader *r); /* "" if absent */
PD_API size_t pd_parquet_kv_count(const pd_parquet_reader *r);
PD_API const char *pd_parquet_kv_key(const pd_parquet_reader *r, size_t i);
PD_API const char *pd_parquet_kv_value(const pd_parquet_reader *r, size_t i); /* may be NULL */

/* Arrow schema of the whole file (struct "+s" with one child per top-level
 * field). Type mapping: see README ("Parquet type mapping"). */
PD_API int pd_parquet_get_schema(const pd_parquet_reader *r, struct ArrowSchema *out);

/* The Arrow unit INT96 timestamps (Impala/Hive/Spark legacy: nanoseconds of
 * the day + Julian day) are read at. A value outside the unit's range is
 * PD_ERR_UNSUPPORTED naming column and row, never a wrapped date. */
typedef enum pd_parquet_int96_unit {
    PD_PARQUET_INT96_US = 0, /* timestamp[us] (default; what Spark means): years
                                -290308 .. 294247, digits below 1 us are dropped
                                (rounded towards the past) */
    PD_PARQUET_INT96_NS = 1  /* timestamp[ns]: 1677-09-21 00:12:43.145224192 ..
                                2262-04-11 23:47:16.854775807 */
} pd_parquet_int96_unit;

/* Versions 1 (up to max_batch_rows) and 2 (up to verify_checksums) are
 * still accepted. */
#define PD_PARQUET_READ_OPTIONS_VERSION 3
typedef struct pd_parquet_read_options {
    int version;        /* PD_PARQUET_READ_OPTIONS_VERSION */
    const int *columns; /* top-level field indices to read; NULL = all */
    int n_columns;
    const int *row_groups; /* row groups to read; NULL = all */
    int n_row_groups;
    int64_t max_batch_rows; /* split row groups into batches of at most this many rows; 0 = one
                               batch per row group */
    /* version >= 2: */
    int threads;          /* streams: worker threads decoding row groups ahead of the consumer
                             (at most `threads` row groups in flight); 0 or 1 = decode on the
                             calling thread (max 64). With a read_at callback, reads are
                             serialized (never concurrent). */
    int verify_checksums; /* 1 = check the CRC-32 of every page that carries one; a mismatch is
                             PD_ERR_CORRUPT naming column, row group and page (default 0) */
    /* version >= 3: */
    int int96_unit; /* pd_parquet_int96_unit (default PD_PARQUET_INT96_US; older versions
                       read INT96 as microseconds too) */
} pd_parquet_read_options;
#define PD_PARQUET_READ_OPTIONS_INIT                                                    \
    {                                                                                   \
        PD_PARQUET_READ_OPTIONS_VERSION, NULL, 0, NULL, 0, 0, 0, 0, PD_PARQUET_INT96_US \
    }

/* Read one row group (selected columns) as one struct batch. schema_out may
 * be NULL; otherwise it receives the schema of the selected columns. */
PD_API int pd_parquet_read_row_group(pd_parquet_reader *r,
                                     int row_group,
                                     const pd_parquet_read_options *opts,
                                     struct ArrowSchema *schema_out,
                                     struct ArrowArray *out);
/* Stream over the selected row groups. The stream borrows the reader: the
 * reader must outlive the stream. opts may be NULL. */
PD_API int pd_parquet_read_stream(pd_parquet_reader *r,
                                  const pd_parquet_read_options *opts,
                                  struct ArrowArrayStream *out);
/* Convenience: open a file and return a stream that owns the reader. */
PD_API int pd_parquet_read_file_stream(const char *path,
                                       const pd_parquet_read_options *opts,
                                       struct ArrowArrayStream *out);

/* Check a value against the Bloom filter of a column chunk, so a row group
 * that certainly lacks it can be skipped. `column` is the leaf's dotted path
 * (as `pipedag parquet meta` shows it); `value` is the value's PLAIN bytes:
 * 4/8-byte little-endian INT32/INT64/FLOAT/DOUBLE, the raw bytes of a
 * BYTE_ARRAY (no length prefix) or FIXED_LEN_BYTE_ARRAY. Returns 1 = may be
 * present, 0 = certainly absent, PD_ERR_NOT_FOUND = the chunk has no Bloom
 * filter, PD_ERR_INVALID = no such column, wrong value size or a BOOLEAN
 * column, PD_ERR_CORRUPT / PD_ERR_UNSUPPORTED for a bad or unknown filter. */
PD_API int pd_parquet_bloom_check(
    pd_parquet_reader *r, int row_group, const char *column, const void *value, size_t len);
/* The same with the value as text: an integer for INT32/INT64 columns, a
 * number for FLOAT/DOUBLE, the bytes themselves for BYTE_ARRAY and
 * FIXED_LEN_BYTE_ARRAY (`pipedag parquet bloom FILE COLUMN VALUE`). */
PD_API int pd_parquet_bloom_check_text(pd_parquet_reader *r,
                                       int row_group,
                                       const char *column,
                                       const char *text);

/* Human-readable footer dump (row groups, column chunks, encodings, codecs,
 * sizes, statistics) as printed by `pipedag parquet meta`. Returns a malloc'd
 * string the caller frees. */
PD_API char *pd_parquet_describe(const pd_parquet_reader *r);

/* ------------------------------------------------------------------ writer */

/* Values equal Parquet's CompressionCodec enum. */
typedef enum pd_parquet_codec {
    PD_CODEC_UNCOMPRESSED = 0,
    PD_CODEC_SNAPPY = 1,
    PD_CODEC_GZIP = 2,
    PD_CODEC_LZO = 3, /* not supported */
    PD_CODEC_BROTLI = 4,
    PD_CODEC_LZ4 = 5, /* legacy (hadoop framing); read only */
    PD_CODEC_ZSTD = 6,
    PD_CODEC_LZ4_RAW = 7
} pd_parquet_codec;

/* Parse "snappy", "zstd", "gzip", "none"/"uncompressed", "lz4_raw"/"lz4",
 * "brotli" (case-insensitive). Returns PD_ERR_INVALID if unknown. */
PD_API int pd_parquet_codec_from_name(const char *name, pd_parquet_codec *out);
PD_API const char *pd_parquet_codec_name(pd_parquet_codec codec);

/* Value encoding for pages that are not dictionary-encoded (no dictionary,
 * or after the dictionary fell back). AUTO: PLAIN with v1 pages; with v2
 * pages DELTA_BINARY_PACKED for mostly sorted integers,
 * DELTA_LENGTH_BYTE_ARRAY for strings/binary, RLE for booleans, PLAIN
 * otherwise. An encoding that does not apply to a column's physical type
 * falls back to PLAIN for that column. */
typedef enum pd_parquet_encoding {
    PD_PARQUET_ENC_AUTO = 0,
    PD_PARQUET_ENC_PLAIN = 1,
    PD_PARQUET_ENC_RLE = 2,                     /* booleans */
    PD_PARQUET_ENC_DELTA_BINARY_PACKED = 3,     /* INT32 / INT64 */
    PD_PARQUET_ENC_DELTA_LENGTH_BYTE_ARRAY = 4, /* BYTE_ARRAY */
    PD_PARQUET_ENC_DELTA_BYTE_ARRAY = 5,        /* BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY */
    PD_PARQUET_ENC_BYTE_STREAM_SPLIT = 6        /* FLOAT / DOUBLE */
} pd_parquet_encoding;

#define PD_PARQUET_WRITE_OPTIONS_VERSION 2
typedef struct pd_parquet_write_options {
    int version;                /* PD_PARQUET_WRITE_OPTIONS_VERSION */
    pd_parquet_codec codec;     /* default SNAPPY */
    int level;                  /* codec level; 0 = codec default */
    int64_t row_group_rows;     /* max rows per row group; 0 = default (122,880) */
    int64_t page_size;          /* target uncompressed data page bytes; 0 = default (1 MiB) */
    int dictionary;             /* 1 = dictionary encoding with fallback to plain (default) */
    int page_version;           /* 1 or 2 (default 1) */
    int statistics;             /* 1 = write min/max/null_count (default) */
    const char *const *kv_keys; /* key-value metadata written in the footer */
    const char *const *kv_values;
    size_t n_kv;
    int threads; /* encoder threads; 0 or 1 = calling thread only */
    /* version >= 2: */
    pd_parquet_encoding encoding; /* non-dictionary value encoding (default AUTO) */
    int64_t dictionary_limit;     /* max PLAIN dictionary bytes per chunk; 0 = default (1 MiB) */
    int bloom_filters;            /* 1 = split-block Bloom filter for every dictionary-encoded
                                     column chunk (default 0) */
} pd_parquet_write_options;
#define PD_PARQUET_WRITE_OPTIONS_INIT                                                          \
    {                                                                                          \
        PD_PARQUET_WRITE_OPTIONS_VERSION, PD_CODEC_SNAPPY, 0, 0, 0, 1, 1, 1, NULL, NULL, 0, 0, \
            PD_PARQUET_ENC_AUTO, 0, 0                                                          \
    }

typedef struct pd_parquet_writer pd_parquet_writer;

/* Write `len` bytes; return PD_OK or a negative code (with pd_set_error). */
typedef int (*pd_parquet_write_fn)(void *user, const void *buf, size_t len);

/* The schema is copied. opts may be NULL (defaults). */
PD_API int pd_parquet_writer_open_path(const char *path,
                                       const struct ArrowSchema *schema,
                                       const pd_parquet_write_options *opts,
                                       pd_parquet_writer **out);
PD_API int pd_parquet_writer_open_callback(pd_parquet_write_fn write,
                                           void *user,
                                           const struct ArrowSchema *schema,
                                           const pd_parquet_write_options *opts,
                                           pd_parquet_writer **out);
/* Append one struct batch; the writer does not take ownership. */
PD_API int pd_parquet_writer_write(pd_parquet_writer *w, const struct ArrowArray *batch);
/* Flush the last row group, write the footer, free the writer. */
PD_API int pd_parquet_writer_close(pd_parquet_writer *w);
/* Free without finishing (the output is incomplete). NULL-safe. */
PD_API void pd_parquet_writer_abort(pd_parquet_writer *w);

/* Convenience: drain a stream into a file (written to "<path>.tmp-<pid>" and
 * renamed into place on success, so a reader never sees a partial file).
 * The stream is released. */
PD_API int pd_parquet_write_stream(const char *path,
                                   struct ArrowArrayStream *in,
                                   const pd_parquet_write_options *opts);

#ifdef __cplusplus
}
#endif
#endif
