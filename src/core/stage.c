/*
 * core/stage.c - the stage transaction of a run (PIPEDAG_SEMANTICS.md §3):
 * initializing a stage's transaction schema, the stage lock check before
 * every write, the deferred copies of cache-valid tables into the
 * transaction once the stage changes, the listing of the committed schema,
 * and the commit.
 */
#include "core_int.h"
#include <stdlib.h>
#include <string.h>

const char *pdi_tx_schema(pdi_run *r, const pd_stage *st)
{
    return r->s[st->id].tx.transaction_name;
}

int pdi_ensure_stage(pdi_run *r, pd_stage *st)
{
    pdi_srun *sr = &r->s[st->id];
    pthread_mutex_lock(&sr->mu);
    int rc = PD_OK;
    if (sr->initialized) {
        pthread_mutex_unlock(&sr->mu);
        return PD_OK;
    }
    if (sr->init_failed) {
        rc = pd_set_error(PD_ERR, "stage %s could not be initialized: %s", st->name,
                          sr->init_error ? sr->init_error : "");
        pthread_mutex_unlock(&sr->mu);
        return rc;
    }
    sr->tx.stage = st->name;
    sr->tx.technique = r->cfg->stage_commit_technique;
    sr->tx.run_id = r->run_id;
    sr->tx.defer_tx = true; /* made by pdi_stage_mark_changed */
    if (r->dry) {
        snprintf(sr->tx.transaction_name, sizeof sr->tx.transaction_name, "%s__tmp", st->name);
    } else {
        if (r->locks && (rc = pdi_lock_check(r->locks, st->name)) == PD_OK)
            rc = PD_OK;
        if (!rc)
            rc = pdi_store_init_stage(r->store, &sr->tx);
        if (!rc && r->blobs)
            rc = pdi_blob_init_stage(r->blobs, st->name);
        if (rc) {
            pd_error_prefix("initializing stage %s", st->name);
            sr->init_failed = true;
            sr->init_error = pdi_strdup(pd_last_error());
            pthread_mutex_unlock(&sr->mu);
            return rc;
        }
    }
    sr->initialized = true;
    pthread_mutex_unlock(&sr->mu);
    return PD_OK;
}

/* Caller holds sr->mu. */
static int copy_to_tx(pdi_run *r, const pd_stage *st, const char *from, const char *to)
{
    pd_table m;
    memset(&m, 0, sizeof m);
    m.name = to;
    m.kind = PD_OBJ_SQL;
    int rc = pdi_store_copy_table(r->store, st->name, from, pdi_tx_schema(r, st), to, &m);
    if (rc)
        pd_error_prefix("copying cache-valid table %s.%s into the transaction", st->name, from);
    return rc;
}

/* Before every write into a stage: the stage lock must still be held (a
 * lost database lock stops the run before it writes). */
int pdi_check_lock(pdi_run *r, pd_stage *st)
{
    if (r->dry || !r->locks)
        return PD_OK;
    int rc = pdi_lock_check(r->locks, st->name);
    if (rc)
        pd_error_prefix("stage %s: not writing", st->name);
    return rc;
}

int pdi_stage_mark_changed(pdi_run *r, pd_stage *st)
{
    pdi_srun *sr = &r->s[st->id];
    int rc = pdi_check_lock(r, st);
    if (rc)
        return rc;
    pthread_mutex_lock(&sr->mu);
    if (!sr->changed && !r->dry)
        rc = pdi_store_prepare_tx(r->store, &sr->tx);
    if (!sr->changed && !rc) {
        sr->changed = true;
        for (size_t i = 0; i < sr->n_pending && !rc; i++)
            rc = copy_to_tx(r, st, sr->pending[i].from, sr->pending[i].to);
        for (size_t i = 0; i < sr->n_pending; i++) {
            free(sr->pending[i].from);
            free(sr->pending[i].to);
        }
        sr->n_pending = 0;
    }
    pthread_mutex_unlock(&sr->mu);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first time a base schema is needed, every selected stage's base
 * schema is listed in one query where the store can (one catalog scan
 * instead of one per stage: DuckDB's scans every table of the file). A
 * base schema changes only at its stage's commit, and stages of this run
 * are locked, so a listing taken early stays right until then. */
static void list_bases(pdi_run *r)
{
    pthread_mutex_lock(&r->list_mu);
    if (r->bases_listed) {
        pthread_mutex_unlock(&r->list_mu);
        return;
    }
    r->bases_listed = true;
    pd_flow *f = r->flow;
    const char **names = pdi_calloc(f->n_stages + 1, sizeof *names);
    size_t *ids = pdi_calloc(f->n_stages + 1, sizeof *ids);
    pd_strv *outs = pdi_calloc(f->n_stages + 1, sizeof *outs);
    size_t n = 0;
    for (size_t i = 0; names && ids && outs && i < f->n_stages; i++) {
        pdi_srun *sr = &r->s[i];
        pthread_mutex_lock(&sr->mu);
        bool need = sr->selected && !sr->base_listed && !sr->committed;
        pthread_mutex_unlock(&sr->mu);
        if (need) {
            names[n] = f->stages[i]->name;
            ids[n++] = i;
        }
    }
    if (n > 1 && pdi_store_list_objects_in(r->store, names, n, outs) == PD_OK) {
        for (size_t k = 0; k < n; k++) {
            pdi_srun *sr = &r->s[ids[k]];
            pthread_mutex_lock(&sr->mu);
            if (!sr->base_listed && !sr->committed) {
                if (outs[k].n)
                    qsort(outs[k].items, outs[k].n, sizeof *outs[k].items, cmp_str);
                pdi_strv_free(&sr->base_objs);
                sr->base_objs = outs[k];
                memset(&outs[k], 0, sizeof outs[k]);
                sr->base_listed = true;
            }
            pthread_mutex_unlock(&sr->mu);
        }
    }
    pd_clear_error(); /* unsupported or failed: each stage lists its own */
    for (size_t k = 0; outs && k < n; k++)
        pdi_strv_free(&outs[k]);
    free(names);
    free(ids);
    free(outs);
    pthread_mutex_unlock(&r->list_mu);
}

/* Does the committed (base) schema of st hold `name`? The schema is listed
 * once per run (it does not change before the stage's commit), so checks
 * cost O(log n) instead of one catalog query each. */
int pdi_base_has(pdi_run *r, pd_stage *st, const char *name, bool *exists)
{
    pdi_srun *sr = &r->s[st->id];
    *exists = false;
    list_bases(r);
    pthread_mutex_lock(&sr->mu);
    if (!sr->base_listed && !sr->committed) {
        if (pdi_store_list_objects(r->store, st->name, &sr->base_objs) == PD_OK) {
            if (sr->base_objs.n)
                qsort(sr->base_objs.items, sr->base_objs.n, sizeof *sr->base_objs.items, cmp_str);
            sr->base_listed = true;
        } else {
            pd_clear_error();
            pdi_strv_free(&sr->base_objs);
        }
    }
    bool listed = sr->base_listed && !sr->committed;
    if (listed)
        *exists = bsearch(&name, sr->base_objs.items, sr->base_objs.n, sizeof *sr->base_objs.items,
                          cmp_str) != NULL;
    pthread_mutex_unlock(&sr->mu);
    if (listed)
        return PD_OK;
    return pdi_store_table_exists(r->store, st->name, name, exists);
}

/* A cache-valid table of stage st: copy now if the stage changed, else read it
 * from the base schema and copy later if the stage becomes changed. Sets
 * *schema_out to the schema where readers find it. */
int pdi_place_cached_table(
    pdi_run *r, pd_stage *st, const char *from, const char *to, const char **schema_out)
{
    pdi_srun *sr = &r->s[st->id];
    int rc = PD_OK;
    if (r->dry) {
        *schema_out = st->name;
        return PD_OK;
    }
    pthread_mutex_lock(&sr->mu);
    if (sr->changed) {
        rc = copy_to_tx(r, st, from, to);
        *schema_out = pdi_tx_schema(r, st);
    } else {
        if (sr->n_pending == sr->cap_pending) {
            size_t nc = sr->cap_pending ? sr->cap_pending * 2 : 16;
            pdi_pending *p = pdi_realloc(sr->pending, nc * sizeof *p);
            if (!p) {
                pthread_mutex_unlock(&sr->mu);
                return PD_ERR_NOMEM;
            }
            sr->pending = p;
            sr->cap_pending = nc;
        }
        sr->pending[sr->n_pending].from = pdi_strdup(from);
        sr->pending[sr->n_pending].to = pdi_strdup(to);
        sr->n_pending++;
        *schema_out = st->name;
    }
    pthread_mutex_unlock(&sr->mu);
    return rc;
}

int pdi_commit_stage(pdi_run *r, pd_stage *st)
{
    pdi_srun *sr = &r->s[st->id];
    if (r->dry || r->task_subset || !sr->selected || !sr->initialized)
        return PD_OK;
    int rc = PD_OK;
    pthread_mutex_lock(&sr->mu);
    if (r->locks)
        rc = pdi_lock_check(r->locks, st->name);
    if (!rc)
        rc = pdi_store_commit_stage(r->store, &sr->tx, sr->changed);
    if (!rc && r->blobs)
        rc = pdi_blob_commit_stage(r->blobs, st->name);
    if (rc)
        pd_error_prefix("committing stage %s", st->name);
    else
        sr->committed = true;
    pthread_mutex_unlock(&sr->mu);
    return rc;
}
