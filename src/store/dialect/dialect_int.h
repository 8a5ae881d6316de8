/*
 * store/dialect/dialect_int.h - helpers shared by the dialect files (not
 * for other subsystems: they use store/dialect/dialect.h).
 */
#ifndef PD_STORE_DIALECT_INT_H
#define PD_STORE_DIALECT_INT_H

#include "store/dialect/dialect.h"
#include "util/util.h"
#include <stdio.h>

/* Detach the buffer; NULL (error set) on OOM. */
char *pdi_dl_finish(pd_buf *b);
/* The one quoter: d->quote_open, text with quote_close doubled, quote_close. */
void pdi_dl_quoted(pd_buf *b, const pdi_dialect *d, const char *id);
void pdi_dl_qualified(pd_buf *b, const pdi_dialect *d, const char *schema, const char *name);
/* '<s>' with ' doubled. */
void pdi_dl_literal(pd_buf *b, const char *s);
/* " IN ('a', 'b', ...)" of n literals. */
void pdi_dl_in_list(pd_buf *b, const char *const *v, size_t n);
/* Length of `select` without trailing `;` and blanks. */
size_t pdi_dl_trimmed_len(const char *select);
/* "d:p,s" into buf from "name(p,s)"; NULL when there is no (p[,s]). */
const char *pdi_dl_decimal_format(const char *type, char *buf, size_t cap);
/* The column list and FROM of a shaped view's SELECT, written after
 * "SELECT " (and anything the dialect puts first): sources[i] AS names[i]
 * for n_cols columns ("*" for none), " FROM ", from_item. */
void pdi_dl_shaped_columns(pd_buf *b,
                           const pdi_dialect *d,
                           const char *from_item,
                           const char *const *names,
                           const char *const *sources,
                           size_t n_cols);
/* Arrow decimal "d:p,s[,128]" -> precision/scale; false if not decimal128. */
bool pdi_dl_arrow_decimal(const char *format, int *p, int *s);

/* One Arrow format and its column type. */
typedef struct pdi_dl_type_name {
    const char *fmt, *type;
} pdi_dl_type_name;
/* The column types of a dialect that names Arrow types by one pattern. */
typedef struct pdi_dl_types {
    const pdi_dl_type_name *names; /* exact formats; ends with {NULL, NULL} */
    const char *timestamp;         /* "ts<unit>:" without a time zone */
    const char *timestamp_tz;      /* with one; NULL: not storable */
    const char *time;              /* "tt<unit>" */
    const char *decimal;           /* decimal128 p,s (0 <= s <= p) as "<decimal>(p,s)" */
    int max_precision;             /* of decimals; 0: any */
} pdi_dl_types;
/* The column type of Arrow format f by t (buf holds a decimal's text);
 * NULL when not storable. */
const char *pdi_dl_type_by(const pdi_dl_types *t, const char *f, char *buf, size_t cap);

#endif
