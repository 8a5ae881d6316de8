/*
 * arrow/arrow_int.h - internals shared by the src/arrow files: format string
 * classification and the private data behind the schema and array nodes that
 * pd_arrow_schema_init / pd_arrow_array_init allocate.
 */
#ifndef PD_ARROW_INT_H
#define PD_ARROW_INT_H

#include "pipedag/arrow.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

__extension__ typedef __int128 pdi_i128;

/* What a format string describes. */
typedef enum pdi_kind {
    PDI_K_INVALID = 0,
    PDI_K_NULL,       /* "n" */
    PDI_K_BOOL,       /* "b" */
    PDI_K_INT,        /* signed fixed width: c s i l, dates, times, timestamps, durations */
    PDI_K_UINT,       /* C S I L */
    PDI_K_FLOAT,      /* e f g */
    PDI_K_DECIMAL,    /* d:P,S[,W] */
    PDI_K_FIXED_BIN,  /* w:N */
    PDI_K_BIN,        /* z u (int32 offsets) */
    PDI_K_LARGE_BIN,  /* Z U (int64 offsets) */
    PDI_K_VIEW,       /* vz vu */
    PDI_K_LIST,       /* +l */
    PDI_K_LARGE_LIST, /* +L */
    PDI_K_FIXED_LIST, /* +w:N */
    PDI_K_STRUCT,     /* +s */
    PDI_K_MAP,        /* +m */
    PDI_K_SPARSE_UNION,
    PDI_K_DENSE_UNION,
    PDI_K_RUN_END,   /* +r */
    PDI_K_LIST_VIEW, /* +vl +vL */
    PDI_K_INTERVAL   /* tiM tiD tin: fixed width, not integers */
} pdi_kind;

/* Sub-kinds of PDI_K_INT that carry a temporal meaning. */
typedef enum pdi_temporal {
    PDI_T_NONE = 0,
    PDI_T_DATE32,
    PDI_T_DATE64,
    PDI_T_TIME,      /* time32/time64, unit in `unit` */
    PDI_T_TIMESTAMP, /* unit in `unit`, tz in fmt after ':' */
    PDI_T_DURATION
} pdi_temporal;

typedef struct pdi_format {
    pdi_kind kind;
    pdi_temporal temporal;
    int bit_width;        /* fixed-width value size in bits (1 for bool, 0 if none) */
    int unit;             /* 0 s, 1 ms, 2 us, 3 ns (times, timestamps, durations) */
    int precision, scale; /* decimal */
    int64_t fixed_size;   /* w:N byte width, +w:N list size */
    bool is_utf8;         /* u U vu */
    const char *tz;       /* timestamp time zone ("" if none), points into fmt */
    int n_buffers;        /* buffers in the C data interface (-1: variable) */
} pdi_format;

/* Parse an Arrow format string. Returns PD_ERR_INVALID (with a message) if it
 * is not recognised. */
int pdi_format_parse(const char *fmt, pdi_format *out);

/* Units per second for unit 0..3. */
int64_t pdi_unit_per_second(int unit);

/* Decimal helpers (decimal128 only). */
int pdi_decimal_parse(const char *text, size_t len, int precision, int scale, pdi_i128 *out);
/* Writes text for v with `scale` fraction digits; buf needs 48 bytes. Returns length. */
size_t pdi_decimal_format(pdi_i128 v, int scale, char *buf);

/* Text to temporal values. Return 0 on success, -1 if the text does not parse. */
int pdi_parse_date(const char *s, size_t n, int64_t *days);
/* "HH:MM:SS[.fffffffff]" -> value in `unit`. */
int pdi_parse_time(const char *s, size_t n, int unit, int64_t *out);
/* "YYYY-MM-DD[ T]HH:MM:SS[.f][Z|+hh[:mm]]" (time optional) -> UTC value in `unit`. */
int pdi_parse_timestamp(const char *s, size_t n, int unit, int64_t *out);
int64_t pdi_days_from_civil(int64_t y, unsigned m, unsigned d);
void pdi_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif
