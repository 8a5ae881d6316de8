/*
 * core/run.c - running a flow: options and cache modes, opening the store,
 * locks and blob store, selecting the tasks and stages of the run, and the
 * engine (one code path: the calling thread alone, or N worker threads on a
 * ready queue of the execution graph's nodes). Tasks are executed by
 * tasks.c, stages committed by stage.c, results built by result.c.
 */
#include "core_int.h"
#include <stdlib.h>
#include <string.h>

typedef struct engine {
    pdi_run *r;
    size_t nn;
    size_t *pending; /* remaining dependencies */
    bool *dep_failed;
    bool *ok;       /* node finished successfully */
    pdi_heap ready; /* by rank */
    size_t n_finished;
    size_t running;
} engine;

/* Node v finished (ok or not); caller holds r->mu. Nodes whose dependencies
 * failed are finished here as not run. */
static void node_done(engine *e, size_t v, bool ok)
{
    pd_flow *f = e->r->flow;
    size_t *stack = NULL, ns = 0, cap = 0;
    e->ok[v] = ok;
    e->n_finished++;
    for (;;) {
        for (size_t k = f->adj_start[v]; k < f->adj_start[v + 1]; k++) {
            size_t w = f->adj[k];
            if (!e->ok[v])
                e->dep_failed[w] = true;
            if (--e->pending[w] == 0) {
                if (e->dep_failed[w] || e->r->stop) {
                    size_t *s2 = pdi_grow(stack, &cap, ns, sizeof *s2, 16);
                    if (!s2)
                        abort();
                    stack = s2;
                    stack[ns++] = w;
                } else {
                    pdi_heap_push(&e->ready, w);
                }
            }
        }
        if (!ns)
            break;
        v = stack[--ns];
        e->ok[v] = false;
        e->n_finished++;
        if (v < f->n_tasks)
            e->r->t[v].state = PD_STATE_NOT_RUN;
        else
            e->r->s[v - f->n_tasks].failed = true;
    }
    free(stack);
}

static bool exec_node(engine *e, size_t v)
{
    pdi_run *r = e->r;
    pd_flow *f = r->flow;
    if (v < f->n_tasks) {
        pdi_trun *tr = &r->t[v];
        if (!tr->selected)
            return true;
        int rc = pdi_exec_task(r, f->tasks[v]);
        if (r->progress) {
            pthread_mutex_lock(&r->mu);
            size_t done = ++r->done;
            pthread_mutex_unlock(&r->mu);
            r->progress(r->progress_user, f->tasks[v], tr->state, done, r->total);
        }
        return rc == PD_OK;
    }
    pd_stage *st = f->stages[v - f->n_tasks];
    int rc = pdi_commit_stage(r, st);
    if (rc) {
        r->s[st->id].failed = true;
        /* attribute the failure to the stage's tasks for the result */
        for (size_t i = 0; i < st->n_tasks; i++) {
            pdi_trun *tr = &r->t[st->tasks[i]->id];
            if (tr->selected && !tr->error) {
                tr->error = pdi_asprintf("stage %s: %s", st->name, pd_last_error());
                tr->state = PD_STATE_FAILED;
            }
        }
        return false;
    }
    return true;
}

static void *worker(void *arg)
{
    engine *e = arg;
    pdi_run *r = e->r;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!e->ready.n && e->n_finished < e->nn)
            pthread_cond_wait(&r->cv, &r->mu);
        if (e->n_finished >= e->nn)
            break;
        size_t v = pdi_heap_pop(&e->ready);
        bool ok;
        if (r->stop) {
            ok = false;
            if (v < r->flow->n_tasks && r->t[v].selected)
                r->t[v].state = PD_STATE_NOT_RUN;
        } else {
            e->running++;
            pthread_mutex_unlock(&r->mu);
            ok = exec_node(e, v);
            pthread_mutex_lock(&r->mu);
            e->running--;
            if (!ok && r->fail_fast)
                r->stop = true;
        }
        node_done(e, v, ok);
        pthread_cond_broadcast(&r->cv);
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int pdi_run_engine(pdi_run *r, int jobs)
{
    pd_flow *f = r->flow;
    engine e;
    memset(&e, 0, sizeof e);
    e.r = r;
    e.nn = f->n_tasks + f->n_stages;
    e.pending = pdi_calloc(e.nn + 1, sizeof *e.pending);
    e.dep_failed = pdi_calloc(e.nn + 1, sizeof *e.dep_failed);
    e.ok = pdi_calloc(e.nn + 1, sizeof *e.ok);
    e.ready.a = pdi_calloc(e.nn + 1, sizeof *e.ready.a);
    e.ready.key = f->rank;
    int rc = PD_OK;
    if (!e.pending || !e.dep_failed || !e.ok || !e.ready.a) {
        rc = PD_ERR_NOMEM;
        goto out;
    }
    for (size_t v = 0; v < e.nn; v++) {
        e.pending[v] = f->indeg[v];
        if (!e.pending[v])
            pdi_heap_push(&e.ready, v);
    }
    if (jobs <= 1) {
        worker(&e);
    } else {
        pthread_t *th = pdi_calloc((size_t)jobs, sizeof *th);
        if (!th) {
            rc = PD_ERR_NOMEM;
            goto out;
        }
        int started = 0;
        for (int i = 0; i < jobs; i++) {
            if (pthread_create(&th[i], NULL, worker, &e) != 0)
                break;
            started++;
        }
        if (!started)
            worker(&e);
        for (int i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        free(th);
    }
out:
    free(e.pending);
    free(e.dep_failed);
    free(e.ok);
    free(e.ready.a);
    return rc;
}

void pdi_run_free(pdi_run *r)
{
    if (!r)
        return;
    if (r->t)
        for (size_t i = 0; i < r->flow->n_tasks; i++)
            pdi_trun_free(&r->t[i]);
    if (r->s)
        for (size_t i = 0; i < r->flow->n_stages; i++) {
            pdi_srun *sr = &r->s[i];
            for (size_t k = 0; k < sr->n_pending; k++) {
                free(sr->pending[k].from);
                free(sr->pending[k].to);
            }
            free(sr->pending);
            pdi_strv_free(&sr->base_objs);
            free(sr->init_error);
            pthread_mutex_destroy(&sr->mu);
            pthread_rwlock_destroy(&sr->rw);
        }
    free(r->t);
    free(r->s);
    if (r->locks) {
        pdi_lock_release_all(r->locks);
        pdi_lock_manager_close(r->locks);
    }
    if (r->blobs)
        pdi_blob_store_close(r->blobs);
    if (r->store)
        pdi_store_close(r->store);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->list_mu);
}

static int select_nodes(pdi_run *r, const pd_run_options *o)
{
    pd_flow *f = r->flow;
    if (o && o->n_stages && o->n_tasks)
        return pd_set_error(PD_ERR_INVALID, "run either a stage subset or a task subset, not both");
    if (o && o->n_tasks) {
        r->task_subset = true;
        for (size_t i = 0; i < o->n_tasks; i++) {
            pd_task *t = pd_flow_find_task(f, o->tasks[i]);
            if (!t)
                return pd_set_error(PD_ERR_NOT_FOUND, "unknown task '%s' in flow %s", o->tasks[i],
                                    f->name);
            r->t[t->id].selected = true;
            r->s[t->stage->id].selected = true;
        }
    } else if (o && o->n_stages) {
        r->stage_subset = true;
        for (size_t i = 0; i < o->n_stages; i++) {
            pd_stage *s = pd_flow_find_stage(f, o->stages[i]);
            if (!s)
                return pd_set_error(PD_ERR_NOT_FOUND, "unknown stage '%s' in flow %s", o->stages[i],
                                    f->name);
            r->s[s->id].selected = true;
            for (size_t k = 0; k < s->n_tasks; k++)
                r->t[s->tasks[k]->id].selected = true;
        }
    } else {
        for (size_t i = 0; i < f->n_tasks; i++)
            r->t[i].selected = true;
        for (size_t i = 0; i < f->n_stages; i++)
            r->s[i].selected = true;
    }
    return PD_OK;
}

int pdi_meta_setup_readonly(pd_store *store, bool *caching_ok, bool *no_metadata)
{
    *caching_ok = true;
    *no_metadata = false;
    pd_task_meta m;
    memset(&m, 0, sizeof m);
    bool found = false;
    int rc = pdi_meta_latest_task(store, PDI_RUN_RECORD_STAGE, PDI_RUN_RECORD_STAGE, NULL, false,
                                  &m, &found);
    pdi_task_meta_clear(&m);
    if (rc) {
        /* no metadata tables: a fresh instance, where nothing is cached */
        pd_clear_error();
        *caching_ok = false;
        *no_metadata = true;
        return PD_OK;
    }
    /* the metadata exists: setup creates nothing, and checks its version */
    return pdi_store_setup(store, caching_ok);
}

char *pdi_run_record_name(const pd_flow *f)
{
    if (strlen(f->name) <= 100)
        return pdi_asprintf("flow:%s", f->name);
    char h[PD_HASH_LEN + 1];
    const char *parts[] = {"FLOW", f->name};
    pdi_stable_hash(parts, 2, h);
    return pdi_asprintf("flow#%s", h);
}

/* The states of this run's selected tasks, for `pipedag visualize`: one
 * metadata row per run in the pseudo-stage PDI_RUN_RECORD_STAGE (a name no
 * stage can have, so stage commits and cache lookups never see it). */
static void record_run(pdi_run *r)
{
    if (!r->caching_ok)
        return;
    pd_flow *f = r->flow;
    pd_json j;
    pdi_json_init(&j);
    pdi_json_obj_begin(&j);
    pdi_json_key(&j, "run_id");
    pdi_json_str(&j, r->run_id);
    pdi_json_key(&j, "states");
    pdi_json_obj_begin(&j);
    for (size_t i = 0; i < f->n_tasks; i++) {
        if (!r->t[i].selected)
            continue;
        char *k = pdi_asprintf("%s.%s", f->tasks[i]->stage->name, f->tasks[i]->name);
        pdi_json_key(&j, k ? k : "");
        pdi_json_str(&j, pd_task_state_name(r->t[i].state));
        free(k);
    }
    pdi_json_obj_end(&j);
    pdi_json_obj_end(&j);
    char *js = pdi_json_finish(&j);
    char *name = pdi_run_record_name(f);
    int rc = PD_ERR_NOMEM;
    if (js && name) {
        pd_task_meta m;
        memset(&m, 0, sizeof m);
        m.name = name;
        m.stage = PDI_RUN_RECORD_STAGE;
        m.version = "";
        m.timestamp = pdi_unix_micros();
        m.run_id = r->run_id;
        m.position_hash = "";
        m.input_hash = "";
        m.cache_fn_hash = "";
        m.output_json = js;
        rc = pdi_meta_insert_task(r->store, &m);
    }
    if (rc) {
        pdi_log(PD_LOG_WARN, "could not record the states of this run (for visualize): %s",
                pd_last_error());
        pd_clear_error();
    }
    free(js);
    free(name);
}

int pdi_run_open(pdi_run *r, pd_flow *f, const pd_config *cfg, const pd_run_options *o, bool dry)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    pthread_mutex_init(&r->list_mu, NULL);
    r->flow = f;
    r->cfg = cfg;
    r->dry = dry;
    r->caching_ok = true;
    pdi_random_id(r->run_id);
    int rc;
    if (!f || !cfg)
        return pd_set_error(PD_ERR_INVALID, "pd_run: NULL flow or config");
    if (!f->finalized && (rc = pd_flow_finalize(f)))
        return rc;
    r->t = pdi_calloc(f->n_tasks + 1, sizeof *r->t);
    r->s = pdi_calloc(f->n_stages + 1, sizeof *r->s);
    if (!r->t || !r->s)
        return PD_ERR_NOMEM;
    for (size_t i = 0; i < f->n_stages; i++) {
        pthread_mutex_init(&r->s[i].mu, NULL);
        pthread_rwlock_init(&r->s[i].rw, NULL);
    }
    /* cache options */
    pd_cache_mode mode = PD_CACHE_NORMAL;
    if (o && o->cache_mode != PD_CACHE_DEFAULT)
        mode = o->cache_mode;
    else if (o && o->n_tasks)
        mode = PD_CACHE_FORCE_CACHE_INVALID;
    else if (cfg->cache_mode && (rc = pd_cache_mode_from_name(cfg->cache_mode, &mode)))
        return rc;
    r->mode = mode;
    r->disable_cache_fn = o && o->disable_cache_function >= 0 ? o->disable_cache_function
                                                              : cfg->disable_cache_function;
    r->ignore_version =
        o && o->ignore_task_version >= 0 ? o->ignore_task_version : cfg->ignore_task_version;
    r->fail_fast = o && o->fail_fast >= 0 ? o->fail_fast : cfg->fail_fast;
    if (mode == PD_CACHE_NORMAL && r->disable_cache_fn)
        return pd_set_error(PD_ERR_CONFIG,
                            "disable_cache_function is not allowed with cache mode normal");
    if (o) {
        r->progress = o->progress;
        r->progress_user = o->progress_user;
    }
    if ((rc = select_nodes(r, o)))
        return rc;
    for (size_t i = 0; i < f->n_tasks; i++)
        r->total += r->t[i].selected;
    if ((rc = pdi_store_open(cfg, &r->store)))
        return pd_error_prefix("opening the table store");
    if (!dry) {
        if ((rc = pdi_lock_manager_open(cfg, &r->locks)))
            return pd_error_prefix("opening the lock manager");
        if (cfg->blob_store != PD_BLOB_NONE && (rc = pdi_blob_store_open(cfg, &r->blobs)))
            return pd_error_prefix("opening the blob store");
        if ((rc = pdi_lock_acquire(r->locks, "_pipedag_setup_")))
            return rc;
    }
    rc = dry ? pdi_meta_setup_readonly(r->store, &r->caching_ok, &r->no_metadata)
             : pdi_store_setup(r->store, &r->caching_ok);
    if (rc) {
        if (r->locks)
            pdi_lock_release(r->locks, "_pipedag_setup_");
        return pd_error_prefix("setting up metadata");
    }
    if (!dry) {
        for (size_t i = 0; i < f->n_stages && !rc; i++)
            rc = pdi_lock_acquire(r->locks, f->stages[i]->name);
        pdi_lock_release(r->locks, "_pipedag_setup_");
        if (rc)
            return rc;
    }
    return PD_OK;
}

int pd_run(pd_flow *flow, const pd_config *cfg, const pd_run_options *opts, pd_result **out)
{
    if (out)
        *out = NULL;
    double t0 = pdi_now_seconds();
    pdi_run r;
    int rc = pdi_run_open(&r, flow, cfg, opts, false);
    if (rc) {
        char *msg = pdi_strdup(pd_last_error());
        pdi_run_free(&r);
        pd_set_error(rc, "%s", msg ? msg : "run could not start");
        free(msg);
        return rc;
    }
    int jobs = opts && opts->jobs > 0 ? opts->jobs : cfg->engine_workers;
    if (jobs < 1)
        jobs = 1;
    rc = pdi_run_engine(&r, jobs);
    if (!rc)
        record_run(&r);
    pd_result *res = pdi_make_result(&r, pdi_now_seconds() - t0);
    pdi_run_free(&r);
    if (!res)
        return PD_ERR_NOMEM;
    if (rc) {
        pd_result_free(res);
        return rc;
    }
    bool ok = pd_result_successful(res);
    if (!ok) {
        for (size_t i = 0; i < pd_result_count(res); i++)
            if (pd_result_error(res, i)) {
                pd_set_error(PD_ERR_TASK, "%s", pd_result_error(res, i));
                break;
            }
    }
    if (out)
        *out = res;
    else
        pd_result_free(res);
    return ok ? PD_OK : PD_ERR_TASK;
}
