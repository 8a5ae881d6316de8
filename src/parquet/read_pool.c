/*
 * parquet/read_pool.c - the reader's buffers: every buffer the reader hands
 * out in an Arrow array (and its large scratch buffers) carries a small header
 * naming its capacity and the reader's pool. Freeing a large buffer returns
 * it to the pool, so the next row group reuses memory that is already mapped
 * instead of faulting in fresh pages. The pool is reference counted (one
 * reference per live buffer plus the reader's), so arrays may outlive the
 * reader; it caches at most `limit` bytes and is thread safe.
 */
#include "parquet/reader_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define POOL_SLOTS     64
#define POOL_MIN_BYTES ((size_t)64 << 10) /* smaller buffers go straight to malloc */
#define HDR            64                 /* header bytes; keeps payloads 64-byte aligned */

typedef struct hdr {
    size_t cap;
    pdi_pool *pool;
} hdr;

struct pdi_pool {
    pthread_mutex_t mu;
    atomic_long refs;
    size_t limit, cached;
    int n;
    void *ptr[POOL_SLOTS]; /* base pointers (header included) */
    size_t cap[POOL_SLOTS];
};

_Static_assert(sizeof(hdr) <= HDR, "buffer header too large");

pdi_pool *pdi_pool_new(size_t limit)
{
    pdi_pool *p = calloc(1, sizeof *p);
    if (!p) {
        pd_set_error(PD_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    atomic_init(&p->refs, 1);
    p->limit = limit;
    return p;
}

void pdi_pool_set_limit(pdi_pool *p, size_t limit)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    if (limit > p->limit)
        p->limit = limit;
    pthread_mutex_unlock(&p->mu);
}

static void pool_ref(pdi_pool *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void pdi_pool_close(pdi_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->n; i++)
        free(p->ptr[i]);
    p->n = 0;
    p->cached = 0;
    p->limit = 0; /* buffers released from now on are freed */
    pthread_mutex_unlock(&p->mu);
    pdi_pool_unref(p);
}

size_t pdi_pool_cached(pdi_pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->cached;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void pdi_pool_unref(pdi_pool *p)
{
    if (!p || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (int i = 0; i < p->n; i++)
        free(p->ptr[i]);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* A cached block of at least `need` bytes and at most twice that, or NULL. */
static void *pool_take(pdi_pool *p, size_t need, size_t *cap)
{
    void *got = NULL;
    pthread_mutex_lock(&p->mu);
    int best = -1;
    for (int i = 0; i < p->n; i++)
        if (p->cap[i] >= need && p->cap[i] / 2 <= need && (best < 0 || p->cap[i] < p->cap[best]))
            best = i;
    if (best >= 0) {
        got = p->ptr[best];
        *cap = p->cap[best];
        p->cached -= p->cap[best];
        p->n--;
        p->ptr[best] = p->ptr[p->n];
        p->cap[best] = p->cap[p->n];
    }
    pthread_mutex_unlock(&p->mu);
    return got;
}

/* Keep a block if there is room; false if the caller must free it. */
static bool pool_keep(pdi_pool *p, void *base, size_t cap)
{
    bool kept = false;
    pthread_mutex_lock(&p->mu);
    if (p->n < POOL_SLOTS && cap <= p->limit - (p->cached < p->limit ? p->cached : p->limit)) {
        p->ptr[p->n] = base;
        p->cap[p->n] = cap;
        p->n++;
        p->cached += cap;
        kept = true;
    }
    pthread_mutex_unlock(&p->mu);
    return kept;
}

void *pdi_balloc(pdi_pool *pool, size_t n)
{
    if (pdi_alloc_check(n))
        return NULL;
    size_t cap = n ? n : 1;
    void *base = NULL;
    if (pool && cap >= POOL_MIN_BYTES)
        base = pool_take(pool, cap, &cap);
    if (!base) {
        if (cap > SIZE_MAX - HDR || posix_memalign(&base, HDR, HDR + cap) != 0) {
            pd_set_error(PD_ERR_NOMEM, "out of memory (%zu bytes)", n);
            return NULL;
        }
    }
    hdr *h = base;
    h->cap = cap;
    h->pool = cap >= POOL_MIN_BYTES ? pool : NULL;
    if (h->pool)
        pool_ref(h->pool);
    return (uint8_t *)base + HDR;
}

size_t pdi_bcap(const void *buf)
{
    return buf ? ((const hdr *)(const void *)((const uint8_t *)buf - HDR))->cap : 0;
}

void pdi_bfree(void *buf)
{
    if (!buf)
        return;
    void *base = (uint8_t *)buf - HDR;
    hdr *h = base;
    pdi_pool *p = h->pool;
    if (!p || !pool_keep(p, base, h->cap))
        free(base);
    pdi_pool_unref(p);
}

void *pdi_bgrow(pdi_pool *pool, void *buf, size_t keep, size_t n)
{
    if (buf && pdi_bcap(buf) >= n)
        return buf;
    void *q = pdi_balloc(pool, n);
    if (!q)
        return NULL;
    if (buf) {
        memcpy(q, buf, keep);
        pdi_bfree(buf);
    }
    return q;
}
