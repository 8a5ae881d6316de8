/*
 * load/load_int.h - inside the loader: byte sources (plain or compressed
 * files, Latin-1 transcoding), the options record, and the CSV reader.
 */
#ifndef PD_LOAD_INT_H
#define PD_LOAD_INT_H

#include "load/load.h"
#include <stddef.h>
#include <stdint.h>

/* ---- byte sources ---- */
typedef enum pdi_comp {
    PDI_COMP_NONE,
    PDI_COMP_GZIP,
    PDI_COMP_ZSTD,
    PDI_COMP_BZIP2,
    PDI_COMP_XZ,
} pdi_comp;

typedef struct pdi_src pdi_src;
/* Open a file; compression is found from its first bytes. */
int pdi_src_open(const char *path, bool latin1, pdi_src **out);
/* Read up to cap decoded bytes; *got = 0 at the end. Errors name the file
 * and, for a damaged or truncated compressed stream, the format. */
int pdi_src_read(pdi_src *s, char *buf, size_t cap, size_t *got);
pdi_comp pdi_src_comp(const pdi_src *s);
const char *pdi_comp_name(pdi_comp c);
void pdi_src_close(pdi_src *s);
/* What the file starts with: 1 = Parquet ("PAR1"), 0 = other. */
int pdi_file_is_parquet(const char *path, bool *is_parquet);

/* ---- options ---- */
/* Column types a load can give or infer. */
typedef enum pdi_ctype {
    PDI_CT_NULL, /* inference only: nothing seen yet */
    PDI_CT_BOOL,
    PDI_CT_INT8,
    PDI_CT_INT16,
    PDI_CT_INT32,
    PDI_CT_INT64,
    PDI_CT_DECIMAL, /* precision/scale beside it */
    PDI_CT_FLOAT32,
    PDI_CT_FLOAT64,
    PDI_CT_DATE,
    PDI_CT_TIMESTAMP, /* microseconds, no time zone */
    PDI_CT_TEXT,
} pdi_ctype;

typedef struct pdi_coltype {
    pdi_ctype t;
    int precision, scale; /* decimal */
} pdi_coltype;

typedef struct pdi_colspec {
    char *name;
    pdi_coltype type;
} pdi_colspec;

typedef enum pdi_format { PDI_FMT_AUTO, PDI_FMT_CSV, PDI_FMT_PARQUET } pdi_format;

struct pdi_load_opts {
    char delimiter;
    int quote; /* -1 = no quoting */
    bool header;
    char *null_str; /* besides the empty field */
    bool latin1;
    bool union_files;
    pdi_format format;
    int64_t sample_rows; /* -1 = the whole file (a first pass) */
    int64_t batch_rows;
    pdi_colspec *cols;
    size_t n_cols;
};

/* Parse a type name ("int32", "text", "decimal(10,2)", ...). */
int pdi_coltype_parse(const char *name, pdi_coltype *out);
/* Arrow format of a type into buf. */
const char *pdi_coltype_format(const pdi_coltype *t, char *buf, size_t cap);

/* ---- CSV ---- */
typedef struct pdi_csv pdi_csv;
/* Open a CSV file: read its header and infer the column types from the first
 * sample_rows rows (all given types are used as given). With `forced`, the
 * types of every column are taken from it (union loads) and the header must
 * have `n_forced` columns named as `forced_names`. */
int pdi_csv_open(const char *path, const pdi_load_opts *o, pdi_csv **out);
size_t pdi_csv_ncols(const pdi_csv *c);
const char *pdi_csv_col_name(const pdi_csv *c, size_t i);
const pdi_coltype *pdi_csv_col_type(const pdi_csv *c, size_t i);
/* Give every column's type (before the first batch). */
int pdi_csv_force_types(pdi_csv *c, const pdi_coltype *types);
/* Join two inferred types (union of files). */
pdi_coltype pdi_coltype_join(pdi_coltype a, pdi_coltype b);
/* Turn into a stream (takes c over, success or failure). */
int pdi_csv_stream(pdi_csv *c, struct ArrowArrayStream *out);
void pdi_csv_close(pdi_csv *c);

#endif
