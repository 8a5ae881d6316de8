/*
 * core/cache.c - cache decisions (PIPEDAG_SEMANTICS.md §2.2-§2.5): the
 * cache mode, the eager lookup of a committed run with the same key (a hit
 * places the stored tables and blobs), lazy tables (reuse by query hash or
 * materialize), and for dry runs (pd_show, pd_explain) why a task would run.
 */
#include "core_int.h"
#include <stdlib.h>
#include <string.h>

bool pdi_is_forced(pdi_run *r, const pd_task *t)
{
    bool has_cf = t->cache_fn || t->kind == PD_TASK_LOAD;
    return r->mode == PD_CACHE_FORCE_CACHE_INVALID ||
           (r->mode == PD_CACHE_FORCE_FRESH_INPUT && has_cf);
}

/* pd_show: why a task would run, from a comparison of its current key parts
 * with the last committed run of the task (NULL if nothing specific). */
char *pdi_dry_reason(pdi_run *r, const pd_task *t, const char *table, const char *qh)
{
    pdi_trun *tr = &r->t[t->id];
    pd_task_meta m;
    memset(&m, 0, sizeof m);
    bool found = false;
    if (pdi_meta_latest_task(r->store, t->table, t->stage->name, NULL, true, &m, &found) ||
        !found) {
        pd_clear_error();
        pdi_task_meta_clear(&m);
        return pdi_strdup("no committed run of this task in this stage");
    }
    pd_buf b = PD_BUF_INIT;
    pd_jval *v = m.output_json ? pdi_json_parse(m.output_json, strlen(m.output_json)) : NULL;
    const pd_jval *key = v ? pdi_jval_get(v, "key") : NULL;
    const char *old_ver = key ? pdi_jval_str(pdi_jval_get(key, "version")) : NULL;
    const char *now_ver = t->version ? t->version : (t->kind == PD_TASK_LOAD ? "load" : "None");
    if (old_ver && !pdi_str_eq(old_ver, now_ver))
        pdi_buf_printf(&b, "version %s -> %s", old_ver, now_ver);
    const pd_jval *oi = key ? pdi_jval_get(key, "inputs") : NULL;
    pd_jval *ni = tr->inputs_json ? pdi_json_parse(tr->inputs_json, strlen(tr->inputs_json)) : NULL;
    for (size_t i = 0; ni && ni->type == PD_J_OBJ && i < ni->n; i++) {
        const char *o = oi ? pdi_jval_str(pdi_jval_get(oi, ni->keys[i])) : NULL;
        if (!pdi_str_eq(o, pdi_jval_str(ni->items[i])))
            pdi_buf_printf(&b, "%sinput %s changed", b.len ? ", " : "", ni->keys[i]);
    }
    pdi_jval_free(ni);
    if (!pdi_str_eq(m.cache_fn_hash ? m.cache_fn_hash : "", tr->cache_fn_hash))
        pdi_buf_printf(&b, "%scache function output changed", b.len ? ", " : "");
    const pd_jval *oq = key ? pdi_jval_get(key, "query_hash") : NULL;
    if (qh && table && oq && !pdi_str_eq(pdi_jval_str(pdi_jval_get(oq, table)), qh))
        pdi_buf_printf(&b, "%squery of %s changed", b.len ? ", " : "", table);
    pdi_jval_free(v);
    pdi_task_meta_clear(&m);
    if (!b.len) {
        pdi_buf_free(&b);
        return NULL;
    }
    return pdi_buf_detach(&b);
}

static int
add_table_out(pdi_trun *tr, const pd_table *tbl, const char *ck, const char *qh, const char *where)
{
    int rc = pdi_add_out(tr, tbl->name, PDI_OUT_TABLE, ck, qh, where);
    if (!rc && tbl->kind == PD_OBJ_EXTERNAL) {
        pdi_out *o = &tr->outs[tr->n_outs - 1];
        o->ext_schema = pdi_strdup(tbl->ext_schema);
        o->ext_name = pdi_strdup(tbl->ext_name);
        if (!o->ext_schema || !o->ext_name)
            rc = PD_ERR_NOMEM;
    }
    return rc;
}

static int store_table(pdi_run *r, pd_task *t, pd_table *tbl);
static int store_table_checks(pdi_run *r, pd_task *t, pd_table *tbl);

/* The task's checks handed to the store with the table; a reference is
 * resolved to where its table is read right now. */
static int store_table_checks(pdi_run *r, pd_task *t, pd_table *tbl)
{
    if (tbl->checks || !t->n_checks)
        return store_table(r, t, tbl);
    pd_table_check *cs = pdi_calloc(t->n_checks, sizeof *cs);
    if (!cs)
        return PD_ERR_NOMEM;
    int rc = PD_OK;
    for (size_t i = 0; i < t->n_checks && rc == PD_OK; i++) {
        const pdi_check *c = &t->checks[i];
        cs[i].kind = c->kind;
        cs[i].column = c->column;
        cs[i].values = (const char *const *)c->values.items;
        cs[i].n_values = c->values.n;
        if (c->kind == PD_CHECK_REFERENCES && !r->dry) {
            pd_task *p = NULL;
            pdi_out *o = NULL;
            const char *val = NULL;
            rc = pdi_ref_output(r, t, c->ref, &p, &o, &val);
            if (rc == PD_OK && (!o || o->kind != PDI_OUT_TABLE))
                rc = pd_set_error(PD_ERR_INVALID,
                                  "check references on column '%s': '%s' is not a table", c->column,
                                  c->ref);
            if (rc == PD_OK) {
                cs[i].ref_schema = pdi_out_schema(r, t, p, o);
                cs[i].ref_table = pdi_out_table(o);
                cs[i].ref_column = c->ref_column;
            }
        }
    }
    if (rc == PD_OK) {
        tbl->checks = cs;
        tbl->n_checks = t->n_checks;
        rc = store_table(r, t, tbl);
        tbl->checks = NULL;
        tbl->n_checks = 0;
    }
    free(cs);
    return rc;
}

/* The task's `indexes:` handed to the store with the table (as
 * NULL-terminated column lists), so that they are created. */
int pdi_store_table(pdi_run *r, pd_task *t, pd_table *tbl)
{
    if (tbl->indexes || !t->n_indexes)
        return store_table_checks(r, t, tbl);
    const char ***ix = pdi_calloc(t->n_indexes, sizeof *ix);
    int rc = ix ? PD_OK : PD_ERR_NOMEM;
    for (size_t i = 0; i < t->n_indexes && rc == PD_OK; i++) {
        ix[i] = pdi_calloc(t->indexes[i].n + 1, sizeof *ix[i]);
        for (size_t k = 0; ix[i] && k < t->indexes[i].n; k++)
            ix[i][k] = t->indexes[i].items[k];
        if (!ix[i])
            rc = PD_ERR_NOMEM;
    }
    if (rc == PD_OK) {
        tbl->indexes = (const char *const *const *)ix;
        tbl->n_indexes = t->n_indexes;
        rc = store_table_checks(r, t, tbl);
        tbl->indexes = NULL;
        tbl->n_indexes = 0;
    }
    for (size_t i = 0; ix && i < t->n_indexes; i++)
        free(ix[i]);
    free(ix);
    return rc;
}

static int store_table(pdi_run *r, pd_task *t, pd_table *tbl)
{
    pdi_trun *tr = &r->t[t->id];
    pd_stage *st = t->stage;
    pdi_srun *sr = &r->s[st->id];
    int rc;
    for (size_t i = 0; i < tr->n_outs; i++)
        if (strcmp(tr->outs[i].name, tbl->name) == 0)
            return pd_set_error(PD_ERR_INVALID, "task %s.%s outputs table '%s' twice", st->name,
                                t->name, tbl->name);
    if (!tbl->primary_key && t->primary_key.n) {
        tbl->primary_key = (const char *const *)t->primary_key.items;
        tbl->n_primary_key = t->primary_key.n;
    }
    tbl->task_name = t->name;
    if (!t->lazy) {
        if (r->dry)
            return pdi_add_out(tr, tbl->name, PDI_OUT_TABLE, tr->task_hash, NULL, NULL);
        if ((rc = pdi_stage_mark_changed(r, st)))
            return rc;
        pthread_rwlock_rdlock(&sr->rw);
        rc = pdi_store_materialize(r->store, tbl, pdi_tx_schema(r, st));
        pthread_rwlock_unlock(&sr->rw);
        if (tbl->kind == PD_OBJ_ARROW && tbl->stream && tbl->stream->release)
            tbl->stream->release(tbl->stream);
        if (rc)
            return pd_error_prefix("materializing table %s", tbl->name);
        tr->cache_valid = false;
        return pdi_add_out(tr, tbl->name, PDI_OUT_TABLE, tr->task_hash, NULL, pdi_tx_schema(r, st));
    }
    /* lazy table: identity by query string */
    char *q = NULL;
    if (tbl->kind == PD_OBJ_ARROW && tbl->stream && tbl->stream->release)
        rc = pdi_arrow_content_str(tbl->stream, &q);
    else
        rc = pdi_lazy_query_string(r, tbl, &q);
    if (rc)
        return rc;
    char *canon = pdi_canonical_sql(q);
    free(q);
    if (!canon)
        return PD_ERR_NOMEM;
    char qh[PD_HASH_LEN + 1], ck[PD_HASH_LEN + 1];
    const char *qp[] = {"LAZY-TABLE", canon};
    pdi_stable_hash(qp, 2, qh);
    free(canon);
    const char *kp[] = {"LAZY_TABLE", tr->task_hash, qh};
    pdi_stable_hash(kp, 3, ck);
    bool hit = false;
    const char *where = NULL;
    if (!pdi_is_forced(r, t) && r->caching_ok) {
        pd_lazy_meta m;
        memset(&m, 0, sizeof m);
        int count = 0;
        rc = pdi_meta_find_lazy(r->store, st->name, qh, tr->task_hash, &m, &count);
        if (rc) {
            pdi_lazy_meta_clear(&m);
            return rc;
        }
        if (count == 1 && m.name) {
            bool exists = true;
            if (tbl->kind != PD_OBJ_EXTERNAL && (pdi_base_has(r, st, m.name, &exists) || !exists)) {
                pd_clear_error();
                exists = false;
            }
            if (exists && tbl->kind == PD_OBJ_EXTERNAL) {
                hit = true;
            } else if (exists) {
                hit = true;
                if (strcmp(m.name, tbl->name) != 0 && !r->dry) {
                    /* renamed output: copy physically under the new name */
                    if ((rc = pdi_stage_mark_changed(r, st))) {
                        pdi_lazy_meta_clear(&m);
                        return rc;
                    }
                }
                rc = pdi_place_cached_table(r, st, m.name, tbl->name, &where);
            }
        }
        pdi_lazy_meta_clear(&m);
        if (rc)
            return rc;
    }
    if (!hit) {
        tr->cache_valid = false;
        if (r->mode == PD_CACHE_ASSERT_NO_FRESH_INPUT)
            return pd_set_error(PD_ERR_CACHE,
                                "ASSERT_NO_FRESH_INPUT: lazy table %s would be materialized",
                                tbl->name);
        if (r->dry) {
            tr->would_run = true;
            if (!tr->why)
                tr->why = pdi_dry_reason(r, t, tbl->name, qh);
            if (!tr->why)
                tr->why = pdi_asprintf("no cached copy of table %s", tbl->name);
            return add_table_out(tr, tbl, ck, qh, st->name);
        }
        if ((rc = pdi_stage_mark_changed(r, st)))
            return rc;
        pthread_rwlock_rdlock(&sr->rw);
        rc = pdi_store_materialize(r->store, tbl, pdi_tx_schema(r, st));
        pthread_rwlock_unlock(&sr->rw);
        if (rc)
            return pd_error_prefix("materializing table %s", tbl->name);
        where = pdi_tx_schema(r, st);
    }
    if (!r->dry) {
        pd_lazy_meta lm = {(char *)tbl->name, (char *)st->name, qh, tr->task_hash, true};
        if ((rc = pdi_meta_insert_lazy(r->store, &lm)))
            return rc;
    }
    return add_table_out(tr, tbl, ck, qh, where);
}

/* Eager cache hit: place stored tables and blobs, re-insert the row.
 * Returns PD_OK with *hit=false when a stored table vanished (re-run). */
static int eager_hit(pdi_run *r, pd_task *t, pd_task_meta *m, bool *hit)
{
    pdi_trun *tr = &r->t[t->id];
    pd_stage *st = t->stage;
    *hit = false;
    pdi_trun_clear_outs(tr);
    int rc = pdi_decode_outputs(tr, m->output_json ? m->output_json : "{}", st->name);
    if (rc)
        return rc;
    for (size_t i = 0; i < tr->n_outs; i++) {
        if (tr->outs[i].kind == PDI_OUT_BLOB && r->blobs && !r->dry) {
            /* the published blob must be the one this metadata row describes
             * (a run killed between the table and blob commits leaves an
             * older one): otherwise re-run the task */
            bool match = false;
            if (pdi_blob_committed_key_matches(r->blobs, st->name, tr->outs[i].name, tr->task_hash,
                                               &match) ||
                !match) {
                pd_clear_error();
                pdi_log(PD_LOG_INFO, "task %s.%s: cached blob %s is stale or missing; re-running",
                        st->name, t->name, tr->outs[i].name);
                pdi_trun_clear_outs(tr);
                return PD_OK;
            }
            continue;
        }
        if (tr->outs[i].kind != PDI_OUT_TABLE || tr->outs[i].ext_schema)
            continue;
        bool exists = false;
        if (pdi_base_has(r, st, tr->outs[i].name, &exists) || !exists) {
            pd_clear_error();
            pdi_log(PD_LOG_INFO, "task %s.%s: cached table %s vanished; re-running", st->name,
                    t->name, tr->outs[i].name);
            pdi_trun_clear_outs(tr);
            return PD_OK;
        }
    }
    for (size_t i = 0; i < tr->n_outs && !rc; i++) {
        pdi_out *o = &tr->outs[i];
        if (o->ext_schema) {
            continue;
        } else if (o->kind == PDI_OUT_TABLE) {
            const char *where = NULL;
            rc = pdi_place_cached_table(r, st, o->name, o->name, &where);
            if (!rc) {
                char *w = pdi_strdup(where);
                free(o->schema);
                o->schema = w;
            }
        } else if (r->blobs && !r->dry) {
            rc = pdi_blob_copy_to_transaction(r->blobs, st->name, o->name);
        }
    }
    if (rc)
        return rc;
    free(tr->version_used);
    tr->version_used = pdi_strdup(m->version);
    *hit = true;
    return pdi_insert_task_row(r, t, PD_STATE_CACHE_VALID, m);
}

/* pd_show: the outputs a task that would run is expected to produce. */
int pdi_dry_outputs(pdi_trun *tr, const pd_task *t, const char *cache_key)
{
    int rc = PD_OK;
    for (size_t i = 0; i < t->declared_outputs.n && !rc; i++)
        rc = pdi_add_out(tr, t->declared_outputs.items[i], PDI_OUT_TABLE, cache_key, NULL,
                         t->stage->name);
    if (!rc && !t->declared_outputs.n) /* a glob load declares its per-file tables */
        rc = pdi_add_out(tr, t->table, PDI_OUT_TABLE, cache_key, NULL, t->stage->name);
    return rc;
}

/* The cache decision for one task before its body runs (§2.2): the input and
 * cache-function hashes, the eager lookup (a hit places the stored outputs),
 * and the task hash. Sets *settled when nothing more is to be done (cache
 * valid, or a dry run of an eager task); a failure fails the task. */
int pdi_decide_task(pdi_run *r, pd_task *t, bool *settled)
{
    pdi_trun *tr = &r->t[t->id];
    pd_stage *st = t->stage;
    int rc;
    *settled = false;
    tr->cache_valid = true;
    if ((rc = pdi_ensure_stage(r, st)))
        return pdi_task_fail(tr, t, NULL);
    if ((rc = pdi_compute_inputs(r, t)))
        return pdi_task_fail(tr, t, "inputs: ");
    if ((rc = pdi_compute_cache_fn(r, t)))
        return pdi_task_fail(tr, t, "cache function: ");
    bool has_cf = t->cache_fn || t->kind == PD_TASK_LOAD;
    bool forced = pdi_is_forced(r, t);
    const char *version = t->version;
    if (!version && t->kind == PD_TASK_LOAD)
        version = "load";
    if (!t->lazy) {
        bool skip_lookup = !version || (r->ignore_version && t->version);
        if (!skip_lookup && !forced && r->caching_ok) {
            pd_task_meta m;
            memset(&m, 0, sizeof m);
            int count = 0;
            const char *cfh = r->mode == PD_CACHE_IGNORE_FRESH_INPUT ? NULL : tr->cache_fn_hash;
            rc = pdi_meta_find_task(r->store, t->table, st->name, version, tr->input_hash, cfh, &m,
                                    &count);
            if (!rc && count == 1) {
                bool hit = false;
                pdi_task_hash(t->name, m.version, tr->input_hash,
                              m.cache_fn_hash ? m.cache_fn_hash : "", tr->task_hash);
                rc = eager_hit(r, t, &m, &hit);
                pdi_task_meta_clear(&m);
                if (rc)
                    return pdi_task_fail(tr, t, "cache hit: ");
                if (hit) {
                    tr->state = PD_STATE_CACHE_VALID;
                    *settled = true;
                    return PD_OK;
                }
            } else {
                pdi_task_meta_clear(&m);
                if (rc)
                    return pdi_task_fail(tr, t, "metadata lookup: ");
            }
        }
        if (r->mode == PD_CACHE_ASSERT_NO_FRESH_INPUT && has_cf) {
            pd_set_error(PD_ERR_CACHE,
                         "ASSERT_NO_FRESH_INPUT: task with a cache function would run");
            return pdi_task_fail(tr, t, NULL);
        }
        free(tr->version_used);
        if (skip_lookup) {
            char rnd[PD_HASH_LEN + 1];
            pdi_random_id(rnd);
            tr->version_used = pdi_strdup(rnd);
        } else {
            tr->version_used = pdi_strdup(version);
        }
        pdi_task_hash(t->name, tr->version_used, tr->input_hash, tr->cache_fn_hash, tr->task_hash);
        tr->cache_valid = false;
        if (r->dry) {
            tr->would_run = true;
            if (!tr->why && !skip_lookup && !forced)
                tr->why = pdi_dry_reason(r, t, NULL, NULL);
            if (!tr->why)
                tr->why = pdi_strdup(skip_lookup ? "no version: always runs"
                                     : forced    ? "forced by cache mode"
                                                 : "no committed run with the same key");
            pdi_dry_outputs(tr, t, tr->task_hash);
            tr->state = PD_STATE_COMPLETED;
            *settled = true;
            return PD_OK;
        }
    } else {
        if (r->mode == PD_CACHE_IGNORE_FRESH_INPUT && has_cf && r->caching_ok) {
            pd_task_meta m;
            memset(&m, 0, sizeof m);
            bool found = false;
            if (pdi_meta_latest_task(r->store, t->table, st->name, NULL, true, &m, &found) ==
                    PD_OK &&
                found && m.cache_fn_hash)
                snprintf(tr->cache_fn_hash, sizeof tr->cache_fn_hash, "%s", m.cache_fn_hash);
            pdi_task_meta_clear(&m);
            pd_clear_error();
        }
        free(tr->version_used);
        tr->version_used = pdi_strdup(version ? version : "None");
        pdi_task_hash(t->name, tr->version_used, tr->input_hash, tr->cache_fn_hash, tr->task_hash);
    }
    return PD_OK;
}
