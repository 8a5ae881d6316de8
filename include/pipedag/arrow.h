/*
 * pipedag/arrow.h - Arrow C Data Interface structs and small helpers.
 *
 * In-memory tables travel through libpipedag as Arrow C Data Interface
 * values: a table is a struct-typed ArrowSchema ("+s") whose children are the
 * columns, and a batch is a struct ArrowArray with one child per column.
 * A stream (ArrowArrayStream) yields batches. The struct definitions are the
 * ABI fixed by the Arrow project; the helpers below are ours.
 *
 * Ownership follows the spec: whoever holds a struct with a non-NULL release
 * callback owns it and must call release exactly once (or move it).
 */
#ifndef PIPEDAG_ARROW_H
#define PIPEDAG_ARROW_H

#include "common.h"
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ARROW_C_DATA_INTERFACE
#    define ARROW_C_DATA_INTERFACE

#    define ARROW_FLAG_DICTIONARY_ORDERED 1
#    define ARROW_FLAG_NULLABLE           2
#    define ARROW_FLAG_MAP_KEYS_SORTED    4

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};
#endif

#ifndef ARROW_C_STREAM_INTERFACE
#    define ARROW_C_STREAM_INTERFACE
struct ArrowArrayStream {
    int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
    int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
    const char *(*get_last_error)(struct ArrowArrayStream *);
    void (*release)(struct ArrowArrayStream *);
    void *private_data;
};
#endif

/* ---- Release / move helpers (NULL-safe; leave the struct released). ---- */
PD_API void pd_arrow_schema_release(struct ArrowSchema *s);
PD_API void pd_arrow_array_release(struct ArrowArray *a);
PD_API void pd_arrow_stream_release(struct ArrowArrayStream *st);
/* Move: *dst takes ownership, *src is marked released. */
PD_API void pd_arrow_schema_move(struct ArrowSchema *src, struct ArrowSchema *dst);
PD_API void pd_arrow_array_move(struct ArrowArray *src, struct ArrowArray *dst);
PD_API void pd_arrow_stream_move(struct ArrowArrayStream *src, struct ArrowArrayStream *dst);

/* ---- Schemas ---- */
/* Deep copy of a schema (including children, dictionary, metadata). */
PD_API int pd_arrow_schema_copy(const struct ArrowSchema *src, struct ArrowSchema *dst);
/* Build a schema node with its own allocated copies of format and name and
 * room for n_children children (each initialised released, to be filled with
 * pd_arrow_schema_init too). metadata may be NULL (copied otherwise; it is the
 * binary-encoded Arrow metadata map). */
PD_API int pd_arrow_schema_init(
    struct ArrowSchema *s, const char *format, const char *name, int64_t flags, int64_t n_children);
/* Set binary Arrow metadata from key/value string pairs (copies). */
PD_API int pd_arrow_schema_set_metadata(struct ArrowSchema *s,
                                        const char *const *keys,
                                        const char *const *values,
                                        size_t n);
/* Look a key up in binary Arrow metadata (NULL-safe). Returns a pointer into
 * `metadata` (not NUL-terminated) and its length, or NULL if absent. */
PD_API const char *pd_arrow_metadata_get(const char *metadata, const char *key, size_t *len);
PD_API int64_t pd_arrow_metadata_count(const char *metadata);
/* For nodes made by pd_arrow_schema_init: allocate (once) the dictionary node,
 * owned by s, set s->dictionary and return it (released, to be filled with
 * pd_arrow_schema_init). NULL on failure. */
PD_API struct ArrowSchema *pd_arrow_schema_alloc_dictionary(struct ArrowSchema *s);

/* ---- Arrays ---- */
/* Allocate an array node owning n_buffers buffer slots (NULL) and n_children
 * child nodes (released). Buffers set through pd_arrow_array_set_buffer are
 * owned (free()d on release). */
PD_API int pd_arrow_array_init(struct ArrowArray *a, int64_t n_buffers, int64_t n_children);
PD_API void pd_arrow_array_set_buffer(struct ArrowArray *a, int64_t i, void *owned_buffer);
/* Same as pd_arrow_schema_alloc_dictionary, for arrays made by
 * pd_arrow_array_init. */
PD_API struct ArrowArray *pd_arrow_array_alloc_dictionary(struct ArrowArray *a);

/* ---- Streams ---- */
/* A stream over batches already in memory. Takes ownership of schema and of
 * the n arrays (the caller's structs are marked released). */
PD_API int pd_arrow_stream_from_batches(struct ArrowSchema *schema,
                                        struct ArrowArray *batches,
                                        size_t n,
                                        struct ArrowArrayStream *out);
/* Validate that an array matches a schema (buffer counts, offsets within
 * bounds, children count). Returns PD_ERR_INVALID with a message naming the
 * column otherwise. */
PD_API int pd_arrow_array_validate(const struct ArrowSchema *schema, const struct ArrowArray *a);

/* ---- Builder for flat tables (what SQL stores and CSV loading need) ----
 * Column types use Arrow format strings: "b" bool, "c"/"s"/"i"/"l" int8..64,
 * "C"/"S"/"I"/"L" uint8..64, "e"/"f"/"g" float16/32/64, "u" utf8, "U" large
 * utf8, "z" binary, "Z" large binary, "tdD" date32, "tsu:" / "tsu:UTC" etc.
 * timestamps, "ttu" time64 us, "d:P,S" decimal128.
 * Appends convert where it is lossless: integers into float/decimal/text
 * columns, integral doubles into integer columns, and text into every type
 * (integers, floats incl. "inf"/"nan", bool "true/false/t/f/1/0/yes/no",
 * decimals "-12.5e3" rounded half away from zero to the scale, dates
 * "YYYY-MM-DD", times "HH:MM:SS[.f]", timestamps "YYYY-MM-DD[ T]HH:MM:SS[.f]"
 * with an optional "Z"/"+hh:mm" offset converted to UTC). Out-of-range values
 * and unparsable text fail with PD_ERR_INVALID naming column and row. */
typedef struct pd_arrow_builder pd_arrow_builder;
PD_API int pd_arrow_builder_new(pd_arrow_builder **out);
/* Add a column; call before appending rows. */
PD_API int pd_arrow_builder_add_column(pd_arrow_builder *b,
                                       const char *name,
                                       const char *format,
                                       int nullable);
PD_API size_t pd_arrow_builder_num_columns(const pd_arrow_builder *b);
PD_API const char *pd_arrow_builder_column_format(const pd_arrow_builder *b, size_t col);
/* Append one value to column `col`; rows are complete when every column has
 * the same number of values. */
PD_API int pd_arrow_builder_append_null(pd_arrow_builder *b, size_t col);
PD_API int pd_arrow_builder_append_int(pd_arrow_builder *b, size_t col, int64_t v);
PD_API int pd_arrow_builder_append_uint(pd_arrow_builder *b, size_t col, uint64_t v);
PD_API int pd_arrow_builder_append_double(pd_arrow_builder *b, size_t col, double v);
PD_API int pd_arrow_builder_append_bool(pd_arrow_builder *b, size_t col, int v);
/* utf8 / binary / decimal (decimal given as text "123.45") */
PD_API int
pd_arrow_builder_append_bytes(pd_arrow_builder *b, size_t col, const void *data, size_t len);
PD_API int64_t pd_arrow_builder_num_rows(const pd_arrow_builder *b);
/* Emit what has been appended as one batch (struct array) and reset the row
 * count (columns are kept). Schema is emitted on request (may be NULL). */
PD_API int pd_arrow_builder_finish(pd_arrow_builder *b,
                                   struct ArrowSchema *schema_out,
                                   struct ArrowArray *array_out);
PD_API void pd_arrow_builder_free(pd_arrow_builder *b);

/* ---- Reading values (for SQL binding, CSV printing, comparisons) ---- */
/* Is row i (relative to the array's offset) of a flat array null? */
PD_API int pd_arrow_is_null(const struct ArrowArray *a, int64_t i);
/* Fixed-width integer (any signed/unsigned width, date32, timestamp, time),
 * floating and bool access by format. */
PD_API int64_t pd_arrow_get_int(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i);
PD_API double
pd_arrow_get_double(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i);
/* utf8 / large utf8 / binary / large binary / fixed size binary. */
PD_API const uint8_t *
pd_arrow_get_bytes(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, size_t *len);
/* Text form of a flat, non-null value, snprintf-style: writes at most cap
 * bytes (NUL-terminated) and returns the full length, or a negative PD_ERR_*
 * for nested types. bool "true"/"false"; integers; floats in shortest
 * round-trip form ("NaN", "Infinity"); decimals "-123.45"; date32/64
 * "2024-01-31"; times "13:45:07[.123456]" (fraction only when non-zero, with
 * the unit's digits); timestamps "2024-01-31 13:45:07[.fff]" plus "+00:00"
 * when the type has a time zone; utf8 as is; binary as lower-case hex.
 * Dictionary-encoded arrays are resolved. */
PD_API int pd_arrow_get_text(
    const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, char *buf, size_t cap);
/* JSON form of value i of any array (nested types included); malloc'd, NUL-
 * terminated, *len (may be NULL) gets its length; NULL on error. A struct
 * batch row becomes an object {"col": value, ...} in field order. Mapping:
 * null; bool; integers and decimals as JSON numbers (exact digits);
 * floats in shortest round-trip form, NaN/Infinity/-Infinity as strings;
 * dates, times and timestamps as strings (see pd_arrow_get_text); utf8 as
 * strings; binary as lower-case hex strings; lists as arrays; structs as
 * objects; maps as arrays of [key, value] pairs; dictionaries resolved. */
PD_API char *pd_arrow_value_to_json(const struct ArrowSchema *s,
                                    const struct ArrowArray *a,
                                    int64_t i,
                                    size_t *len);
/* {"name":..,"format":..,"nullable":..,"children":[...]} (dictionary-encoded
 * fields show their value type); malloc'd, NULL on error. */
PD_API char *pd_arrow_schema_to_json(const struct ArrowSchema *s);
/* Shortest round-trip text of a double (same rules as pd_arrow_get_text). */
PD_API int pd_arrow_format_double(double v, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
