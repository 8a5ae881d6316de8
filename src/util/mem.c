/*
 * util/mem.c - allocation wrappers, growable buffers, string helpers and
 * string vectors shared by every subsystem.
 *
 * Allocation failures set PD_ERR_NOMEM in the thread-local error record so
 * callers can simply return it.
 */
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void *pdi_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        pd_set_error(PD_ERR_NOMEM, "out of memory (%zu bytes)", n);
    }
    return p;
}

void *pdi_calloc(size_t n, size_t size)
{
    size_t total;
    if (!pdi_mul_size(n, size, &total)) {
        pd_set_error(PD_ERR_NOMEM, "allocation size overflow");
        return NULL;
    }
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        pd_set_error(PD_ERR_NOMEM, "out of memory (%zu bytes)", total);
    }
    return p;
}

void *pdi_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        pd_set_error(PD_ERR_NOMEM, "out of memory (%zu bytes)", n);
    }
    return q;
}

void *pdi_grow(void *arr, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap) {
        return arr;
    }
    size_t nc = *cap ? *cap : first, bytes;
    if ((*cap && !pdi_mul_size(nc, 2, &nc)) || !pdi_mul_size(nc, elem, &bytes)) {
        pd_set_error(PD_ERR_NOMEM, "allocation size overflow");
        return NULL;
    }
    void *p = pdi_realloc(arr, bytes);
    if (p) {
        *cap = nc;
    }
    return p;
}

char *pdi_strdup(const char *s)
{
    if (!s) {
        return NULL;
    }
    return pdi_strndup(s, strlen(s));
}

char *pdi_strndup(const char *s, size_t n)
{
    if (!s) {
        return NULL;
    }
    char *p = pdi_malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *pdi_vasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        pd_set_error(PD_ERR_INVALID, "bad format string");
        return NULL;
    }
    char *p = pdi_malloc((size_t)n + 1);
    if (p) {
        vsnprintf(p, (size_t)n + 1, fmt, ap);
    }
    return p;
}

char *pdi_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = pdi_vasprintf(fmt, ap);
    va_end(ap);
    return p;
}

/* ---- pd_buf ---- */

int pdi_buf_reserve(pd_buf *b, size_t extra)
{
    size_t need;
    if (b->oom) {
        return PD_ERR_NOMEM;
    }
    if (!pdi_add_size(b->len, extra, &need) || !pdi_add_size(need, 1, &need)) {
        b->oom = true;
        return pd_set_error(PD_ERR_NOMEM, "buffer size overflow");
    }
    if (need <= b->cap) {
        return PD_OK;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = pdi_realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return PD_ERR_NOMEM;
    }
    b->data = p;
    b->cap = cap;
    return PD_OK;
}

int pdi_buf_append(pd_buf *b, const void *data, size_t len)
{
    int rc = pdi_buf_reserve(b, len);
    if (rc) {
        return rc;
    }
    if (len) {
        memcpy(b->data + b->len, data, len);
    }
    b->len += len;
    b->data[b->len] = '\0';
    return PD_OK;
}

int pdi_buf_puts(pd_buf *b, const char *s)
{
    return pdi_buf_append(b, s, strlen(s));
}

int pdi_buf_putc(pd_buf *b, char c)
{
    return pdi_buf_append(b, &c, 1);
}

int pdi_buf_vprintf(pd_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        return pd_set_error(PD_ERR_INVALID, "bad format string");
    }
    int rc = pdi_buf_reserve(b, (size_t)n);
    if (rc) {
        return rc;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return PD_OK;
}

int pdi_buf_printf(pd_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = pdi_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void pdi_buf_clear(pd_buf *b)
{
    b->len = 0;
    if (b->data) {
        b->data[0] = '\0';
    }
}

void pdi_buf_free(pd_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

char *pdi_buf_detach(pd_buf *b)
{
    if (b->oom) {
        pdi_buf_free(b);
        return NULL;
    }
    char *p = b->data;
    if (!p) {
        p = pdi_strdup("");
    }
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

/* ---- strings ---- */

bool pdi_str_eq(const char *a, const char *b)
{
    if (!a || !b) {
        return a == b;
    }
    return strcmp(a, b) == 0;
}

bool pdi_str_ieq(const char *a, const char *b)
{
    if (!a || !b) {
        return a == b;
    }
    return strcasecmp(a, b) == 0;
}

bool pdi_str_starts(const char *s, const char *prefix)
{
    return s && prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool pdi_str_ends(const char *s, const char *suffix)
{
    if (!s || !suffix) {
        return false;
    }
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

char *pdi_str_lower(const char *s)
{
    char *p = pdi_strdup(s);
    for (char *q = p; q && *q; q++) {
        *q = (char)tolower((unsigned char)*q);
    }
    return p;
}

char *pdi_str_trim(const char *s)
{
    if (!s) {
        return NULL;
    }
    while (*s && isspace((unsigned char)*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) {
        n--;
    }
    return pdi_strndup(s, n);
}

char *pdi_str_replace(const char *s, const char *from, const char *to)
{
    pd_buf b = PD_BUF_INIT;
    size_t fl = strlen(from);
    if (fl == 0) {
        return pdi_strdup(s);
    }
    const char *p = s;
    const char *hit;
    while ((hit = strstr(p, from)) != NULL) {
        pdi_buf_append(&b, p, (size_t)(hit - p));
        pdi_buf_puts(&b, to);
        p = hit + fl;
    }
    pdi_buf_puts(&b, p);
    return pdi_buf_detach(&b);
}

/* ---- pd_strv ---- */

int pdi_strv_push_owned(pd_strv *v, char *s)
{
    if (!s) {
        return PD_ERR_NOMEM;
    }
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        char **items = pdi_realloc(v->items, cap * sizeof *items);
        if (!items) {
            free(s);
            return PD_ERR_NOMEM;
        }
        v->items = items;
        v->cap = cap;
    }
    v->items[v->n++] = s;
    return PD_OK;
}

int pdi_strv_push(pd_strv *v, const char *s)
{
    return pdi_strv_push_owned(v, pdi_strdup(s ? s : ""));
}

bool pdi_strv_contains(const pd_strv *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->items[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void pdi_strv_sort(pd_strv *v)
{
    if (v->n > 1) {
        qsort(v->items, v->n, sizeof *v->items, cmp_str);
    }
}

void pdi_strv_free(pd_strv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->items[i]);
    }
    free(v->items);
    v->items = NULL;
    v->n = v->cap = 0;
}
