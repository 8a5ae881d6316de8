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

#endif
