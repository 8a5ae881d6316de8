/*
 * store/meta.c - pipedag_metadata tables (PIPEDAG_SEMANTICS.md §4) on any
 * backend: setup and version check, the pd_meta_* lookups (dialect
 * statements, prepared and cached by the backend, on a dedicated session),
 * metadata promotion at stage commit, and crash recovery of journaled stage
 * commits from the commit_journal table.
 */
#include "store/store_int.h"
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ statements */

static void pending_clear(pd_store *s);
static int lazy_cache_load(pd_store *s, const char *stage);

void pdi_meta_sql_free(pd_store *s)
{
    pending_clear(s); /* queued rows belong to the metadata being dropped */
    for (int i = 0; i < PDI_MQ_N; i++) {
        free(s->msql[i]);
        s->msql[i] = NULL;
    }
    s->msql_built = false;
}

static int build_sql(pd_store *s)
{
    if (s->msql_built)
        return PD_OK;
    for (int i = 0; i < PDI_MQ_N; i++) {
        s->msql[i] = pdi_sql_meta(s->md, s->meta_phys, (pdi_meta_q)i);
        if (!s->msql[i]) {
            pdi_meta_sql_free(s);
            return pd_set_error(PD_ERR_NOMEM, "out of memory");
        }
    }
    s->msql_built = true;
    return PD_OK;
}

/* Run a metadata statement (caller holds meta_mu). */
static int
mq(pd_store *s, const char *sql, size_t np, const char *const *params, pd_row_fn row, void *user)
{
    return s->mbe->query(s->meta, sql, np, params, row, user);
}

/* Lock without flushing the queued rows (cache lookups read committed
 * rows only, inserts add to the queue). */
static int lock_meta_nf(pd_store *s)
{
    pthread_mutex_lock(&s->meta_mu);
    int rc = build_sql(s);
    if (rc)
        pthread_mutex_unlock(&s->meta_mu);
    return rc;
}

#define PDI_MAX_PENDING 512

typedef struct pdi_pending_row {
    int kind; /* 0 tasks, 1 lazy_tables, 2 raw_sql */
    size_t n;
    char *p[10];
} pdi_pending_row;

static void pending_clear(pd_store *s)
{
    for (size_t i = 0; i < s->npending; i++)
        for (size_t k = 0; k < s->pending[i].n; k++)
            free(s->pending[i].p[k]);
    s->npending = 0;
}

#define PDI_INSERT_BATCH 64

/* INSERT k queued rows of one kind with one statement: the single-row
 * INSERT of the metadata SQL with its VALUES tuple repeated k times. */
static int insert_rows(pd_store *s, pdi_pending_row *rows, size_t k)
{
    static const pdi_meta_q ins[3] = {PDI_MQ_TASK_INSERT, PDI_MQ_LAZY_INSERT, PDI_MQ_RAW_INSERT};
    size_t n = rows[0].n;
    if (k == 1)
        return mq(s, s->msql[ins[rows[0].kind]], n, (const char *const *)rows[0].p, NULL, NULL);
    char *sql = pdi_sql_meta_insert_rows(s->md, s->meta_phys, ins[rows[0].kind], k);
    const char **params = pdi_calloc(k * n, sizeof *params);
    if (!sql || !params) {
        free(sql);
        free(params);
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < n; j++)
            params[i * n + j] = rows[i].p[j];
    int rc = mq(s, sql, k * n, params, NULL, NULL);
    free(params);
    free(sql);
    return rc;
}

static const char *row_stage(const pdi_pending_row *r)
{
    return r->kind == 2 ? r->p[2] : r->p[1];
}

/* The stages of the queued rows now have uncommitted rows in the database
 * (caller holds meta_mu). */
static int note_written(pd_store *s)
{
    for (size_t i = 0; i < s->npending; i++) {
        const char *st = row_stage(&s->pending[i]);
        if (st && !pdi_strv_contains(&s->written_stages, st) &&
            pdi_strv_push(&s->written_stages, st) != PD_OK)
            return PD_ERR_NOMEM;
    }
    return PD_OK;
}

static void strv_remove(pd_strv *w, const char *v);

static void forget_written(pd_store *s, const char *stage)
{
    strv_remove(&s->written_stages, stage);
}

/* INSERT the queued rows inside the caller's transaction (caller holds
 * meta_mu). Rows of one table go out as multi-row INSERTs (one round trip
 * per PDI_INSERT_BATCH rows on a server), in queue order within a table.
 * The queue is left as it is: the caller clears it. */
static int insert_pending(pd_store *s)
{
    if (s->npending == 0)
        return PD_OK;
    if (note_written(s) != PD_OK)
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    pdi_pending_row *batch = pdi_calloc(PDI_INSERT_BATCH, sizeof *batch);
    int rc = batch ? PD_OK : PD_ERR_NOMEM;
    for (int kind = 0; rc == PD_OK && kind < 3; kind++) {
        size_t k = 0;
        for (size_t i = 0; rc == PD_OK && i <= s->npending; i++) {
            if (i < s->npending && s->pending[i].kind == kind)
                batch[k++] = s->pending[i];
            if (k > 0 && (k == PDI_INSERT_BATCH || i == s->npending)) {
                rc = insert_rows(s, batch, k);
                k = 0;
            }
        }
    }
    free(batch);
    if (rc)
        pd_error_prefix("writing metadata rows");
    return rc;
}

static int flush_locked(pd_store *s)
{
    if (s->npending == 0)
        return PD_OK;
    int rc = s->mbe->begin(s->meta);
    if (rc == PD_OK)
        rc = insert_pending(s);
    if (rc == PD_OK)
        rc = s->mbe->commit(s->meta);
    if (rc) {
        char *saved = pdi_strdup(pd_last_error());
        s->mbe->rollback(s->meta);
        pd_set_error(rc, "%s", saved ? saved : "writing metadata rows failed");
        free(saved);
    }
    pending_clear(s);
    return rc;
}

static int enqueue(pd_store *s, int kind, size_t n, const char *const *params)
{
    pdi_pending_row *np = pdi_grow(s->pending, &s->cap_pending, s->npending, sizeof *np, 64);
    if (!np)
        return PD_ERR_NOMEM;
    s->pending = np;
    pdi_pending_row *r = &s->pending[s->npending];
    r->kind = kind;
    r->n = n;
    for (size_t k = 0; k < n; k++) {
        r->p[k] = params[k] ? pdi_strdup(params[k]) : NULL;
        if (params[k] && !r->p[k]) {
            for (size_t j = 0; j < k; j++)
                free(r->p[j]);
            return PD_ERR_NOMEM;
        }
    }
    s->npending++;
    return s->npending >= PDI_MAX_PENDING ? flush_locked(s) : PD_OK;
}

/* Forget the cached committed lazy rows (caller holds meta_mu). */
static void lazy_cache_drop(pd_store *s)
{
    for (size_t i = 0; i < s->lazy_cache_n; i++)
        pdi_lazy_meta_clear(&s->lazy_cache[i]);
    free(s->lazy_cache);
    free(s->lazy_cache_stage);
    s->lazy_cache = NULL;
    s->lazy_cache_stage = NULL;
    s->lazy_cache_n = 0;
    s->lazy_cache_cap = 0;
}

static int lock_meta(pd_store *s)
{
    int rc = lock_meta_nf(s);
    if (rc == PD_OK)
        lazy_cache_drop(s);
    if (rc == PD_OK) {
        rc = flush_locked(s);
        if (rc)
            pthread_mutex_unlock(&s->meta_mu);
    }
    return rc;
}

int pdi_meta_flush(pd_store *s)
{
    if (!s->meta)
        return PD_OK;
    pthread_mutex_lock(&s->meta_mu);
    lazy_cache_drop(s);
    int rc = s->npending ? flush_locked(s) : PD_OK;
    pthread_mutex_unlock(&s->meta_mu);
    return rc;
}

void pdi_meta_pending_free(pd_store *s)
{
    lazy_cache_drop(s);
    pending_clear(s);
    pdi_strv_free(&s->written_stages);
    pdi_strv_free(&s->unc_stages);
    s->unc_known = false;
    free(s->pending);
    s->pending = NULL;
    s->cap_pending = 0;
}

static void unlock_meta(pd_store *s)
{
    pthread_mutex_unlock(&s->meta_mu);
}

int pdi_meta_lock(pd_store *s)
{
    return lock_meta(s);
}

void pdi_meta_unlock(pd_store *s)
{
    unlock_meta(s);
}

/* ----------------------------------------------------------------- setup */

static int first_col_row(void *user, int ncols, const char *const *names, const char *const *v)
{
    (void)names;
    pd_strv *out = user;
    return pdi_strv_push(out, ncols > 0 && v[0] ? v[0] : "");
}

int pdi_store_setup(pd_store *s, bool *caching_ok)
{
    if (caching_ok)
        *caching_ok = true;
    int rc = PD_OK;
    pthread_mutex_lock(&s->meta_mu);
    if (s->mbe->create_schema) {
        rc = s->mbe->create_schema(s->meta, s->meta_phys);
    } else if (!s->msc->avoid_drop_create_schema) {
        char *sql = pdi_sql_create_schema(s->md, s->meta_phys);
        rc = sql ? pdi_meta_exec(s, sql) : PD_ERR_NOMEM;
        free(sql);
    }
    char **ddl = NULL;
    if (rc == PD_OK) {
        ddl = pdi_sql_metadata_ddl(s->md, s->meta_phys);
        if (!ddl)
            rc = PD_ERR_NOMEM;
    }
    /* Dialects without IF NOT EXISTS (MSSQL, DB2): errors about existing
     * objects are expected there; the version check below catches real
     * problems. */
    bool tolerant = !s->md->if_not_exists;
    for (size_t i = 0; rc == PD_OK && ddl && ddl[i]; i++) {
        rc = pdi_meta_exec(s, ddl[i]);
        if (rc && tolerant) {
            pd_clear_error();
            rc = PD_OK;
        }
    }
    pdi_sql_strv_free(ddl);
    pd_strv ver = {0};
    if (rc == PD_OK)
        rc = build_sql(s);
    if (rc == PD_OK) {
        rc = mq(s, s->msql[PDI_MQ_VERSION_GET], 0, NULL, first_col_row, &ver);
        if (rc == PD_OK && ver.n == 0) {
            const char *p = PDI_METADATA_VERSION;
            rc = mq(s, s->msql[PDI_MQ_VERSION_PUT], 1, &p, NULL, NULL);
        } else if (rc == PD_OK && (ver.n != 1 || strcmp(ver.items[0], PDI_METADATA_VERSION))) {
            pdi_log(PD_LOG_WARN,
                    "metadata version of %s is '%s', expected '%s': caching is disabled for "
                    "this run (run `pipedag clear-metadata` to reset)",
                    s->desc, ver.n ? ver.items[0] : "", PDI_METADATA_VERSION);
            if (caching_ok)
                *caching_ok = false;
        }
    }
    pdi_strv_free(&ver);
    pthread_mutex_unlock(&s->meta_mu);
    if (rc == PD_OK && s->separate_meta)
        pdi_forget_local_metadata(s);
    if (rc == PD_OK)
        rc = pdi_meta_recover(s, NULL);
    if (rc)
        pd_error_prefix("metadata setup in %s", s->desc);
    return rc;
}

/* -------------------------------------------------------- transactions */

static int in_tx(pd_store *s, int (*body)(pd_store *, void *), void *user)
{
    int rc = s->mbe->begin(s->meta);
    if (rc)
        return rc;
    rc = body(s, user);
    if (rc == PD_OK)
        rc = s->mbe->commit(s->meta);
    if (rc) {
        char *saved = pdi_strdup(pd_last_error());
        s->mbe->rollback(s->meta);
        if (saved) {
            pd_set_error(rc, "%s", saved);
            free(saved);
        }
    }
    return rc;
}

typedef struct promote_args {
    const char *stage, *slot;
    bool clear_journal;
} promote_args;

static int promote_body(pd_store *s, void *u)
{
    promote_args *a = u;
    /* the rows queued for this stage go in the promoting transaction: one
     * commit (one log flush) per stage instead of two */
    int rc = insert_pending(s);
    for (int i = 0; i < 3 && rc == PD_OK; i++) {
        rc = mq(s, s->msql[PDI_MQ_DEL_COMMITTED_TASKS + i], 1, &a->stage, NULL, NULL);
        if (rc == PD_OK)
            rc = mq(s, s->msql[PDI_MQ_PROMOTE_TASKS + i], 1, &a->stage, NULL, NULL);
    }
    if (rc == PD_OK && a->slot) {
        const char *p[2] = {a->stage, a->slot};
        rc = mq(s, s->msql[PDI_MQ_STAGE_DEL], 1, p, NULL, NULL);
        if (rc == PD_OK)
            rc = mq(s, s->msql[PDI_MQ_STAGE_PUT], 2, p, NULL, NULL);
    }
    if (rc == PD_OK && a->clear_journal)
        rc = mq(s, s->msql[PDI_MQ_JOURNAL_DEL], 1, &a->stage, NULL, NULL);
    return rc;
}

int pdi_meta_promote(pd_store *s, const char *stage, const char *slot, bool clear_journal)
{
    int rc = lock_meta_nf(s);
    if (rc)
        return rc;
    lazy_cache_drop(s);
    promote_args a = {stage, slot, clear_journal};
    rc = in_tx(s, promote_body, &a);
    pending_clear(s); /* inserted and promoted, or rolled back with the promotion */
    if (rc == PD_OK)
        forget_written(s, stage);
    unlock_meta(s);
    return rc;
}

/* ------------------------------------------- promotion of an unchanged stage
 * A stage whose tables did not change (every task cache-valid) keeps its
 * committed tables; its promotion would delete the committed rows and
 * insert this run's. When this run's rows equal the committed ones, that
 * rewrite changes nothing a lookup reads, so it is skipped: the rows are
 * compared as multisets of their key fields (tasks: name, version,
 * position_hash, input_hash, cache_fn_hash, output_json - which holds the
 * state, the outputs and their cache keys; lazy tables: name, query_hash,
 * task_hash; raw SQL: every field). Only run_id and timestamp of a lazy
 * task's row are not compared: the committed row keeps naming the run that
 * recorded it. Any difference, or rows of the stage already written to the
 * database, and the stage is promoted as usual. */

#define SEP "\x1f"

/* A comparable key of fields f[0..n) (NULL distinct from ""). */
static int key_push(pd_strv *out, size_t n, const char *const *f)
{
    pd_buf b = PD_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        pdi_buf_puts(&b, f[i] ? f[i] : "\x1e");
        pdi_buf_puts(&b, SEP);
    }
    if (b.oom) {
        pdi_buf_free(&b);
        return PD_ERR_NOMEM;
    }
    return pdi_strv_push_owned(out, pdi_buf_detach(&b));
}

static int task_key_row(void *user, int n, const char *const *names, const char *const *v)
{
    (void)names;
    if (n < 9)
        return PD_ERR_CORRUPT;
    /* version, position_hash, input_hash, cache_fn_hash, output_json */
    const char *f[6] = {v[0], v[2], v[5], v[6], v[7] ? v[7] : "", v[8]};
    return key_push(user, 6, f);
}

static int raw_key_row(void *user, int n, const char *const *names, const char *const *v)
{
    (void)names;
    if (n < 5)
        return PD_ERR_CORRUPT;
    const char *f[4] = {v[0], v[1], v[3], v[4]};
    return key_push(user, 4, f);
}

static bool same_keys(pd_strv *a, pd_strv *b)
{
    if (a->n != b->n)
        return false;
    pdi_strv_sort(a);
    pdi_strv_sort(b);
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->items[i], b->items[i]) != 0)
            return false;
    return true;
}

/* Do the queued rows of `stage` equal its committed rows? (caller holds
 * meta_mu) */
static int unchanged_rows(pd_store *s, const char *stage, bool *same)
{
    *same = false;
    if (pdi_strv_contains(&s->written_stages, stage))
        return PD_OK;
    pd_strv q[3] = {PD_STRV_INIT, PD_STRV_INIT, PD_STRV_INIT};
    pd_strv c[3] = {PD_STRV_INIT, PD_STRV_INIT, PD_STRV_INIT};
    int rc = PD_OK;
    for (size_t i = 0; i < s->npending && rc == PD_OK; i++) {
        const pdi_pending_row *r = &s->pending[i];
        if (!pdi_str_eq(row_stage(r), stage))
            continue;
        const char *const *p = (const char *const *)r->p;
        if (r->kind == 0) {
            const char *f[6] = {p[0], p[2], p[5], p[6], p[7] ? p[7] : "", p[8]};
            rc = key_push(&q[0], 6, f);
        } else if (r->kind == 1) {
            const char *f[3] = {p[0], p[2], p[3]};
            rc = key_push(&q[1], 3, f);
        } else {
            const char *f[4] = {p[0], p[1], p[3], p[4]};
            rc = key_push(&q[2], 4, f);
        }
    }
    const char *p1[1] = {stage};
    if (rc == PD_OK)
        rc = mq(s, s->msql[PDI_MQ_TASK_STAGE], 1, p1, task_key_row, &c[0]);
    if (rc == PD_OK && !pdi_str_eq(s->lazy_cache_stage, stage))
        rc = lazy_cache_load(s, stage);
    for (size_t i = 0; rc == PD_OK && i < s->lazy_cache_n; i++) {
        const pd_lazy_meta *m = &s->lazy_cache[i];
        const char *f[3] = {m->name, m->query_hash, m->task_hash};
        rc = key_push(&c[1], 3, f);
    }
    if (rc == PD_OK)
        rc = mq(s, s->msql[PDI_MQ_RAW_STAGE], 1, p1, raw_key_row, &c[2]);
    if (rc == PD_OK)
        *same = same_keys(&q[0], &c[0]) && same_keys(&q[1], &c[1]) && same_keys(&q[2], &c[2]);
    for (int k = 0; k < 3; k++) {
        pdi_strv_free(&q[k]);
        pdi_strv_free(&c[k]);
    }
    return rc;
}

/* Drop the queued rows of `stage` (caller holds meta_mu). */
static void drop_queued(pd_store *s, const char *stage)
{
    size_t k = 0;
    for (size_t i = 0; i < s->npending; i++) {
        pdi_pending_row *r = &s->pending[i];
        if (pdi_str_eq(row_stage(r), stage)) {
            for (size_t j = 0; j < r->n; j++)
                free(r->p[j]);
        } else {
            s->pending[k++] = *r;
        }
    }
    s->npending = k;
}

int pdi_meta_promote_unchanged(pd_store *s, const char *stage)
{
    int rc = lock_meta_nf(s);
    if (rc)
        return rc;
    bool same = false;
    rc = unchanged_rows(s, stage, &same);
    if (rc == PD_OK && same)
        drop_queued(s, stage);
    unlock_meta(s);
    if (rc)
        return rc;
    return same ? PD_OK : pdi_meta_promote(s, stage, NULL, false);
}

size_t pdi_meta_promote_stmts_for(
    const pdi_dialect *d, const char *meta_phys, const char *stage, const char *slot, pdi_stmt *out)
{
    static const pdi_meta_q q[] = {PDI_MQ_DEL_COMMITTED_TASKS, PDI_MQ_PROMOTE_TASKS,
                                   PDI_MQ_DEL_COMMITTED_LAZY,  PDI_MQ_PROMOTE_LAZY,
                                   PDI_MQ_DEL_COMMITTED_RAW,   PDI_MQ_PROMOTE_RAW,
                                   PDI_MQ_STAGE_DEL,           PDI_MQ_STAGE_PUT};
    size_t n = slot ? 8 : 6;
    for (size_t i = 0; i < n; i++) {
        out[i] = (pdi_stmt){pdi_sql_meta(d, meta_phys, q[i]), 1, {stage, NULL}};
        if (q[i] == PDI_MQ_STAGE_PUT) {
            out[i].nparams = 2;
            out[i].params[1] = slot;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!out[i].sql) {
            for (size_t k = 0; k < n; k++)
                free(out[k].sql);
            return 0;
        }
    return n;
}

size_t pdi_meta_promote_stmts(pd_store *s, const char *stage, const char *slot, pdi_stmt *out)
{
    return pdi_meta_promote_stmts_for(s->md, s->meta_phys, stage, slot, out);
}

static int del_unc_body(pd_store *s, void *u)
{
    const char *stage = u;
    int rc = PD_OK;
    for (int i = 0; i < 3 && rc == PD_OK; i++)
        rc = mq(s, s->msql[PDI_MQ_DEL_UNCOMMITTED_TASKS + i], 1, &stage, NULL, NULL);
    return rc;
}

static void strv_remove(pd_strv *w, const char *v)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->items[i], v) == 0) {
            free(w->items[i]);
            w->items[i] = w->items[--w->n];
            return;
        }
}

int pdi_meta_delete_uncommitted(pd_store *s, const char *stage)
{
    /* no flush: the queued rows are this run's, never of a stage not yet
     * initialized, and deleting uncommitted rows changes no committed one */
    int rc = lock_meta_nf(s);
    if (rc)
        return rc;
    if (!s->unc_known) {
        rc = mq(s, s->msql[PDI_MQ_UNCOMMITTED_STAGES], 0, NULL, first_col_row, &s->unc_stages);
        s->unc_known = rc == PD_OK;
    }
    if (rc == PD_OK && (pdi_strv_contains(&s->unc_stages, stage) ||
                        pdi_strv_contains(&s->written_stages, stage))) {
        rc = in_tx(s, del_unc_body, (void *)stage);
        if (rc == PD_OK) {
            forget_written(s, stage);
            strv_remove(&s->unc_stages, stage);
        }
    }
    unlock_meta(s);
    return rc;
}

int pdi_meta_journal_add(pd_store *s, const char *stage, const char *run_id)
{
    int rc = lock_meta(s);
    if (rc)
        return rc;
    char ts[32];
    snprintf(ts, sizeof ts, "%lld", (long long)pdi_unix_micros());
    const char *p[3] = {stage, run_id, ts};
    rc = mq(s, s->msql[PDI_MQ_JOURNAL_ADD], 3, p, NULL, NULL);
    unlock_meta(s);
    return rc;
}

static int pair_row(void *user, int ncols, const char *const *names, const char *const *v)
{
    (void)names;
    pd_strv *out = user;
    int rc = pdi_strv_push(out, ncols > 0 && v[0] ? v[0] : "");
    if (rc == PD_OK)
        rc = pdi_strv_push(out, ncols > 1 && v[1] ? v[1] : "");
    return rc;
}

int pdi_meta_recover(pd_store *s, const char *stage)
{
    int rc = lock_meta_nf(s);
    if (rc)
        return rc;
    pd_strv rows = {0};
    rc = stage ? mq(s, s->msql[PDI_MQ_JOURNAL_LIST_STAGE], 1, &stage, pair_row, &rows)
               : mq(s, s->msql[PDI_MQ_JOURNAL_LIST], 0, NULL, pair_row, &rows);
    /* a recovery promotes or rolls back: the queued rows go first, and the
     * cached committed lazy rows may change (nothing to do: no flush) */
    if (rc == PD_OK && rows.n) {
        lazy_cache_drop(s);
        rc = flush_locked(s);
    }
    for (size_t i = 0; rc == PD_OK && i + 1 < rows.n; i += 2) {
        const char *st = rows.items[i];
        bool forward = false;
        pd_stage_tx tx = {.stage = st, .technique = PD_COMMIT_SCHEMA_SWAP};
        snprintf(tx.transaction_name, sizeof tx.transaction_name, "%s__tmp", st);
        if (s->be->published && !(s->be->caps & PDI_CAP_SCHEMA_SWAP)) {
            /* READ_VIEWS: the interrupted commit published into the slot
             * after the one the stages row still names */
            pd_strv v = {0};
            rc = mq(s, s->msql[PDI_MQ_STAGE_GET], 1, &st, first_col_row, &v);
            const char *cur = rc == PD_OK && v.n ? v.items[v.n - 1] : "";
            tx.technique = PD_COMMIT_READ_VIEWS;
            snprintf(tx.transaction_name, sizeof tx.transaction_name, "%s%s", st,
                     pdi_str_ends(cur, "__odd") ? "__even" : "__odd");
            pdi_strv_free(&v);
            if (rc)
                break;
        }
        if (s->be->published) {
            pdi_stage_names n;
            rc = pdi_stage_names_make(s, &tx, &n);
            if (rc == PD_OK)
                rc = s->be->published(s->db, &n, &forward);
            pdi_stage_names_free(&n);
        }
        if (rc)
            break;
        if (forward) {
            pdi_log(PD_LOG_WARN, "stage '%s': completing the commit of run %s interrupted earlier",
                    st, rows.items[i + 1]);
            promote_args a = {st, tx.technique == PD_COMMIT_READ_VIEWS ? tx.transaction_name : NULL,
                              true};
            rc = in_tx(s, promote_body, &a);
        } else {
            pdi_log(PD_LOG_WARN,
                    "stage '%s': rolling back the commit of run %s interrupted earlier", st,
                    rows.items[i + 1]);
            rc = mq(s, s->msql[PDI_MQ_JOURNAL_DEL], 1, &st, NULL, NULL);
        }
    }
    pdi_strv_free(&rows);
    unlock_meta(s);
    return rc;
}

int pdi_meta_get_stage_slot(pd_store *s, const char *stage, char *out, size_t cap)
{
    out[0] = 0;
    /* `stages` rows change only at commit, which flushes: no flush here */
    int rc = lock_meta_nf(s);
    if (rc)
        return rc;
    pd_strv v = {0};
    rc = mq(s, s->msql[PDI_MQ_STAGE_GET], 1, &stage, first_col_row, &v);
    if (rc == PD_OK && v.n)
        snprintf(out, cap, "%s", v.items[v.n - 1]);
    pdi_strv_free(&v);
    unlock_meta(s);
    return rc;
}

/* ------------------------------------------------------------ task rows */

void pdi_task_meta_clear(pd_task_meta *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->stage);
    free(m->version);
    free(m->run_id);
    free(m->position_hash);
    free(m->input_hash);
    free(m->cache_fn_hash);
    free(m->output_json);
    memset(m, 0, sizeof *m);
}

void pdi_lazy_meta_clear(pd_lazy_meta *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->stage);
    free(m->query_hash);
    free(m->task_hash);
    memset(m, 0, sizeof *m);
}

void pdi_raw_sql_meta_clear(pd_raw_sql_meta *m)
{
    if (!m)
        return;
    free(m->prev_objects);
    free(m->new_objects);
    free(m->stage);
    free(m->query_hash);
    free(m->task_hash);
    memset(m, 0, sizeof *m);
}

static bool text_true(const char *v)
{
    return v && (v[0] == '1' || v[0] == 't' || v[0] == 'T');
}

typedef struct fetch_ctx {
    int count;
    bool first_only;     /* stop after the first row */
    bool committed_only; /* skip rows still in the transaction schema */
    void *out;
} fetch_ctx;

/* Copy the text fields of a metadata row: *dst[k] = copy of src[k] (NULL
 * stays NULL). PD_ERR_NOMEM if a copy failed (what was copied stays owned by
 * the destination, for its clear function). */
static int dup_fields(size_t n, char **const dst[], const char *const src[])
{
    int rc = PD_OK;
    for (size_t k = 0; k < n; k++) {
        *dst[k] = pdi_strdup(src[k]);
        if (src[k] && !*dst[k])
            rc = pd_set_error(PD_ERR_NOMEM, "metadata: out of memory copying a row");
    }
    return rc;
}

static int task_row(void *user, int n, const char *const *names, const char *const *v)
{
    (void)names;
    fetch_ctx *f = user;
    if (f->committed_only && n >= 10 && text_true(v[9]))
        return PD_OK;
    f->count++;
    if (f->count == 1 && n >= 10) {
        pd_task_meta *m = f->out;
        pdi_task_meta_clear(m);
        m->timestamp = v[3] ? strtoll(v[3], NULL, 10) : 0;
        m->in_transaction_schema = text_true(v[9]);
        char **const dst[] = {&m->name,          &m->stage,         &m->version,
                              &m->run_id,        &m->position_hash, &m->input_hash,
                              &m->cache_fn_hash, &m->output_json};
        const char *const src[] = {v[0], v[1], v[2], v[4], v[5], v[6], v[7] ? v[7] : "", v[8]};
        int rc = dup_fields(8, dst, src);
        if (rc)
            return rc;
    }
    return f->first_only ? 1 : PD_OK;
}

int pdi_meta_insert_task(pd_store *s, const pd_task_meta *m)
{
    int rc = lock_meta_nf(s);
    if (rc)
        return rc;
    char ts[32];
    snprintf(ts, sizeof ts, "%lld", (long long)m->timestamp);
    const char *p[10] = {m->name,        m->stage,
                         m->version,     ts,
                         m->run_id,      m->position_hash,
                         m->input_hash,  m->cache_fn_hash ? m->cache_fn_hash : "",
                         m->output_json, m->in_transaction_schema ? "1" : "0"};
    rc = enqueue(s, 0, 10, p);
    unlock_meta(s);
    return rc;
}

int pdi_meta_find_task(pd_store *s,
                       const char *name,
                       const char *stage,
                       const char *version,
                       const char *input_hash,
                       const char *cache_fn_hash,
                       pd_task_meta *out,
                       int *count)
{
    *count = 0;
    int rc = lock_meta_nf(s);
    if (rc)
        return rc;
    pd_task_meta tmp = {0};
    fetch_ctx f = {0, false, false, &tmp};
    const char *p[5] = {name, stage, version, input_hash, cache_fn_hash};
    rc = mq(s, cache_fn_hash ? s->msql[PDI_MQ_TASK_FIND_FN] : s->msql[PDI_MQ_TASK_FIND],
            cache_fn_hash ? 5 : 4, p, task_row, &f);
    unlock_meta(s);
    *count = f.count;
    if (rc == PD_OK && f.count == 1 && out) {
        pdi_task_meta_clear(out);
        *out = tmp;
    } else {
        pdi_task_meta_clear(&tmp);
    }
    return rc;
}

int pdi_meta_latest_task(pd_store *s,
                         const char *name,
                         const char *stage,
                         const char *position_hash,
                         bool committed_only,
                         pd_task_meta *out,
                         bool *found)
{
    *found = false;
    int rc = lock_meta(s);
    if (rc)
        return rc;
    /* rows arrive newest first; task_row skips uncommitted ones if asked */
    pd_task_meta tmp = {0};
    const char *p[3] = {name, stage, position_hash};
    fetch_ctx f = {0, true, committed_only, &tmp};
    rc = mq(s, position_hash ? s->msql[PDI_MQ_TASK_LATEST_POS] : s->msql[PDI_MQ_TASK_LATEST],
            position_hash ? 3 : 2, p, task_row, &f);
    if (rc == 1)
        rc = PD_OK;
    unlock_meta(s);
    *found = f.count > 0;
    if (rc == PD_OK && *found && out) {
        pdi_task_meta_clear(out);
        *out = tmp;
    } else {
        pdi_task_meta_clear(&tmp);
    }
    return rc;
}

int pdi_meta_insert_lazy(pd_store *s, const pd_lazy_meta *m)
{
    int rc = lock_meta_nf(s);
    if (rc)
        return rc;
    const char *p[5] = {m->name, m->stage, m->query_hash, m->task_hash,
                        m->in_transaction_schema ? "1" : "0"};
    rc = enqueue(s, 1, 5, p);
    unlock_meta(s);
    return rc;
}

/* m's text fields from f = {name, stage, query_hash, task_hash}. */
static int lazy_set(pd_lazy_meta *m, const char *const f[4], bool in_transaction_schema)
{
    char **const dst[] = {&m->name, &m->stage, &m->query_hash, &m->task_hash};
    m->in_transaction_schema = in_transaction_schema;
    return dup_fields(4, dst, f);
}

static int lazy_cache_row(void *user, int n, const char *const *names, const char *const *v)
{
    (void)names;
    pd_store *s = user;
    if (n < 5)
        return PD_OK;
    pd_lazy_meta *rows =
        pdi_grow(s->lazy_cache, &s->lazy_cache_cap, s->lazy_cache_n, sizeof *rows, 64);
    if (!rows)
        return PD_ERR_NOMEM;
    s->lazy_cache = rows;
    pd_lazy_meta *m = &s->lazy_cache[s->lazy_cache_n++];
    memset(m, 0, sizeof *m);
    return lazy_set(m, v, text_true(v[4]));
}

/* Load every committed lazy_tables row of `stage` (caller holds meta_mu). */
static int lazy_cache_load(pd_store *s, const char *stage)
{
    lazy_cache_drop(s);
    const char *p[1] = {stage};
    int rc = mq(s, s->msql[PDI_MQ_LAZY_STAGE], 1, p, lazy_cache_row, s);
    if (rc == PD_OK) {
        s->lazy_cache_stage = pdi_strdup(stage);
        if (!s->lazy_cache_stage)
            rc = PD_ERR_NOMEM;
    }
    if (rc)
        lazy_cache_drop(s);
    return rc;
}

int pdi_meta_find_lazy(pd_store *s,
                       const char *stage,
                       const char *query_hash,
                       const char *task_hash,
                       pd_lazy_meta *out,
                       int *count)
{
    *count = 0;
    int rc = lock_meta_nf(s);
    if (rc)
        return rc;
    if (!pdi_str_eq(s->lazy_cache_stage, stage))
        rc = lazy_cache_load(s, stage);
    const pd_lazy_meta *hit = NULL;
    for (size_t i = 0; rc == PD_OK && i < s->lazy_cache_n; i++) {
        const pd_lazy_meta *m = &s->lazy_cache[i];
        if (pdi_str_eq(m->query_hash, query_hash) && pdi_str_eq(m->task_hash, task_hash)) {
            hit = m;
            (*count)++;
        }
    }
    if (rc == PD_OK && *count == 1 && out) {
        pdi_lazy_meta_clear(out);
        const char *const f[4] = {hit->name, hit->stage, hit->query_hash, hit->task_hash};
        rc = lazy_set(out, f, hit->in_transaction_schema);
    }
    unlock_meta(s);
    return rc;
}

static int raw_row(void *user, int n, const char *const *names, const char *const *v)
{
    (void)names;
    fetch_ctx *f = user;
    f->count++;
    if (f->count == 1 && n >= 6) {
        pd_raw_sql_meta *m = f->out;
        pdi_raw_sql_meta_clear(m);
        m->in_transaction_schema = text_true(v[5]);
        char **const dst[] = {&m->prev_objects, &m->new_objects, &m->stage, &m->query_hash,
                              &m->task_hash};
        return dup_fields(5, dst, v);
    }
    return PD_OK;
}

int pdi_meta_insert_raw_sql(pd_store *s, const pd_raw_sql_meta *m)
{
    int rc = lock_meta_nf(s);
    if (rc)
        return rc;
    const char *p[6] = {m->prev_objects, m->new_objects, m->stage,
                        m->query_hash,   m->task_hash,   m->in_transaction_schema ? "1" : "0"};
    rc = enqueue(s, 2, 6, p);
    unlock_meta(s);
    return rc;
}

int pdi_meta_find_raw_sql(pd_store *s,
                          const char *stage,
                          const char *query_hash,
                          const char *task_hash,
                          pd_raw_sql_meta *out,
                          int *count)
{
    *count = 0;
    int rc = lock_meta_nf(s);
    if (rc)
        return rc;
    pd_raw_sql_meta tmp = {0};
    fetch_ctx f = {0, false, false, &tmp};
    const char *p[3] = {stage, query_hash, task_hash};
    rc = mq(s, s->msql[PDI_MQ_RAW_FIND], 3, p, raw_row, &f);
    unlock_meta(s);
    *count = f.count;
    if (rc == PD_OK && f.count == 1 && out) {
        pdi_raw_sql_meta_clear(out);
        *out = tmp;
    } else {
        pdi_raw_sql_meta_clear(&tmp);
    }
    return rc;
}
