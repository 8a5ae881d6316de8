/*
 * core/run.c - running a flow: options and cache modes, opening the store,
 * locks and blob store, the per-task decision procedure of
 * PIPEDAG_SEMANTICS.md §2.2-§2.5 (eager lookups, lazy tables, raw SQL,
 * deferred copies of cache-valid tables), stage transactions (§3), the
 * engine (one code path: the calling thread alone, or N worker threads on a
 * ready queue) and the result object.
 */
#include "core_int.h"
#include <stdlib.h>
#include <string.h>

struct pd_result {
    pd_flow *flow;
    char *instance;
    bool ok;
    double seconds;
    size_t n;
    const pd_task **tasks;
    pd_task_state *states;
    char **errors;
};

/* ------------------------------------------------------------ small helpers */

static int task_fail(pdi_trun *tr, const pd_task *t, const char *what)
{
    free(tr->error);
    const char *origin = pdi_task_origin(t);
    const char *msg = pd_last_error();
    if (strstr(msg, t->stage->name) && strstr(msg, t->name) && (!*origin || strstr(msg, origin)))
        tr->error = pd_asprintf("%s%s", what ? what : "", msg);
    else if (*origin)
        tr->error = pd_asprintf("task %s.%s (%s): %s%s", t->stage->name, t->name, origin,
                                what ? what : "", msg);
    else
        tr->error = pd_asprintf("task %s.%s: %s%s", t->stage->name, t->name, what ? what : "", msg);
    tr->state = PD_STATE_FAILED;
    return PD_ERR_TASK;
}

int pdi_add_out(pdi_trun *tr,
                const char *name,
                int kind,
                const char *cache_key,
                const char *query_hash,
                const char *schema)
{
    pdi_out *outs = pd_grow(tr->outs, &tr->cap_outs, tr->n_outs, sizeof *outs, 4);
    if (!outs)
        return PD_ERR_NOMEM;
    tr->outs = outs;
    pdi_out *o = &tr->outs[tr->n_outs];
    memset(o, 0, sizeof *o);
    o->name = pd_strdup(name);
    o->kind = kind;
    o->cache_key = pd_strdup(cache_key ? cache_key : "");
    o->query_hash = pd_strdup(query_hash);
    o->schema = pd_strdup(schema);
    if (!o->name || !o->cache_key || (query_hash && !o->query_hash) || (schema && !o->schema)) {
        free(o->name);
        free(o->cache_key);
        free(o->query_hash);
        free(o->schema);
        return PD_ERR_NOMEM;
    }
    tr->n_outs++;
    return PD_OK;
}

static void trun_clear_outs(pdi_trun *tr)
{
    for (size_t i = 0; i < tr->n_outs; i++) {
        free(tr->outs[i].name);
        free(tr->outs[i].cache_key);
        free(tr->outs[i].query_hash);
        free(tr->outs[i].schema);
        free(tr->outs[i].ext_schema);
        free(tr->outs[i].ext_name);
    }
    tr->n_outs = 0;
    free(tr->value_json);
    tr->value_json = NULL;
}

static void trun_free(pdi_trun *tr)
{
    trun_clear_outs(tr);
    free(tr->outs);
    free(tr->error);
    free(tr->why);
    free(tr->version_used);
    free(tr->inputs_json);
}

static const char *tx_schema(pdi_run *r, const pd_stage *st)
{
    return r->s[st->id].tx.transaction_name;
}

/* ------------------------------------------------------------ stages */

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
    if (r->dry) {
        snprintf(sr->tx.transaction_name, sizeof sr->tx.transaction_name, "%s__tmp", st->name);
    } else {
        if (r->locks && (rc = pd_lock_check(r->locks, st->name)) == PD_OK)
            rc = PD_OK;
        if (!rc)
            rc = pd_store_init_stage(r->store, &sr->tx);
        if (!rc && r->blobs)
            rc = pd_blob_init_stage(r->blobs, st->name);
        if (rc) {
            pd_error_prefix("initializing stage %s", st->name);
            sr->init_failed = true;
            sr->init_error = pd_strdup(pd_last_error());
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
    int rc = pd_store_copy_table(r->store, st->name, from, tx_schema(r, st), to, &m);
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
    int rc = pd_lock_check(r->locks, st->name);
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
    if (!sr->changed) {
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

/* Does the committed (base) schema of st hold `name`? The schema is listed
 * once per run (it does not change before the stage's commit), so checks
 * cost O(log n) instead of one catalog query each. */
static int base_has(pdi_run *r, pd_stage *st, const char *name, bool *exists)
{
    pdi_srun *sr = &r->s[st->id];
    *exists = false;
    pthread_mutex_lock(&sr->mu);
    if (!sr->base_listed && !sr->committed) {
        if (pd_store_list_objects(r->store, st->name, &sr->base_objs) == PD_OK) {
            qsort(sr->base_objs.items, sr->base_objs.n, sizeof *sr->base_objs.items, cmp_str);
            sr->base_listed = true;
        } else {
            pd_clear_error();
            pd_strv_free(&sr->base_objs);
        }
    }
    bool listed = sr->base_listed && !sr->committed;
    if (listed)
        *exists = bsearch(&name, sr->base_objs.items, sr->base_objs.n, sizeof *sr->base_objs.items,
                          cmp_str) != NULL;
    pthread_mutex_unlock(&sr->mu);
    if (listed)
        return PD_OK;
    return pd_store_table_exists(r->store, st->name, name, exists);
}

/* A cache-valid table of stage st: copy now if the stage changed, else read it
 * from the base schema and copy later if the stage becomes changed. Sets
 * *schema_out to the schema where readers find it. */
static int place_cached_table(
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
        *schema_out = tx_schema(r, st);
    } else {
        if (sr->n_pending == sr->cap_pending) {
            size_t nc = sr->cap_pending ? sr->cap_pending * 2 : 16;
            pdi_pending *p = pd_realloc(sr->pending, nc * sizeof *p);
            if (!p) {
                pthread_mutex_unlock(&sr->mu);
                return PD_ERR_NOMEM;
            }
            sr->pending = p;
            sr->cap_pending = nc;
        }
        sr->pending[sr->n_pending].from = pd_strdup(from);
        sr->pending[sr->n_pending].to = pd_strdup(to);
        sr->n_pending++;
        *schema_out = st->name;
    }
    pthread_mutex_unlock(&sr->mu);
    return rc;
}

static int commit_stage(pdi_run *r, pd_stage *st)
{
    pdi_srun *sr = &r->s[st->id];
    if (r->dry || r->task_subset || !sr->selected || !sr->initialized)
        return PD_OK;
    int rc = PD_OK;
    pthread_mutex_lock(&sr->mu);
    if (r->locks)
        rc = pd_lock_check(r->locks, st->name);
    if (!rc)
        rc = pd_store_commit_stage(r->store, &sr->tx, sr->changed);
    if (!rc && r->blobs)
        rc = pd_blob_commit_stage(r->blobs, st->name);
    if (rc)
        pd_error_prefix("committing stage %s", st->name);
    else
        sr->committed = true;
    pthread_mutex_unlock(&sr->mu);
    return rc;
}

/* ------------------------------------------------------------ outputs */

static int decode_outputs(pdi_trun *tr, const char *json, const char *schema)
{
    pd_jval *v = pd_json_parse(json, strlen(json));
    if (!v)
        return pd_error_prefix("decoding stored output_json");
    int rc = PD_OK;
    const pd_jval *outs = pd_jval_get(v, "outputs");
    for (size_t i = 0; outs && outs->type == PD_J_ARR && i < outs->n && !rc; i++) {
        const pd_jval *o = outs->items[i];
        const char *kind = pd_jval_str(pd_jval_get(o, "kind"));
        const char *name = pd_jval_str(pd_jval_get(o, "name"));
        if (!name)
            continue;
        rc = pdi_add_out(tr, name, pd_str_eq(kind, "blob") ? PDI_OUT_BLOB : PDI_OUT_TABLE,
                         pd_jval_str(pd_jval_get(o, "cache_key")),
                         pd_jval_str(pd_jval_get(o, "query_hash")), schema);
        const char *es = pd_jval_str(pd_jval_get(o, "ext_schema"));
        const char *en = pd_jval_str(pd_jval_get(o, "ext_name"));
        if (!rc && es && en) {
            pdi_out *last = &tr->outs[tr->n_outs - 1];
            last->ext_schema = pd_strdup(es);
            last->ext_name = pd_strdup(en);
        }
    }
    const pd_jval *val = pd_jval_get(v, "value");
    if (!rc && val && val->type != PD_J_NULL) {
        const pd_jval *raw = pd_jval_get(v, "value_json");
        if (raw && raw->type == PD_J_STR)
            tr->value_json = pd_strdup(raw->str);
    }
    pd_jval_free(v);
    return rc;
}

/* Outputs of a task that is not part of this sub-flow run: the newest stored
 * output of the producer (by position hash). Caller holds r->mu. */
static int load_stored_outputs(pdi_run *r, pd_task *p)
{
    pdi_trun *tr = &r->t[p->id];
    if (tr->loaded)
        return PD_OK;
    pd_task_meta m;
    memset(&m, 0, sizeof m);
    bool found = false;
    int rc = pd_meta_latest_task(r->store, p->table, p->stage->name, p->pos_hash, !r->task_subset,
                                 &m, &found);
    if (rc)
        return rc;
    if (!found) {
        pd_task_meta_clear(&m);
        return pd_set_error(PD_ERR_CACHE,
                            "no stored output of task %s.%s (position hash %s): run the stage "
                            "first",
                            p->stage->name, p->name, p->pos_hash);
    }
    rc = decode_outputs(tr, m.output_json ? m.output_json : "{}", p->stage->name);
    pd_task_meta_clear(&m);
    if (!rc)
        tr->loaded = true;
    return rc;
}

int pdi_ref_output(pdi_run *r,
                   pd_task *t,
                   const char *ref_text,
                   pd_task **producer,
                   pdi_out **out,
                   const char **value)
{
    *out = NULL;
    *value = NULL;
    const pdi_ref *ref = pdi_task_find_ref(t, ref_text);
    if (!ref) {
        /* lenient: "t" for a declared "stage.t" (unique), "stage.t" for a declared "t" */
        char *n = pdi_normalize_name(ref_text);
        const char *dot = n ? strchr(n, '.') : NULL;
        size_t found = 0;
        for (size_t i = 0; n && i < t->n_refs; i++) {
            const pdi_ref *c = &t->refs[i];
            if (!c->producer)
                continue;
            bool match = dot ? (strcmp(c->table, dot + 1) == 0 &&
                                strncmp(c->producer->stage->name, n, (size_t)(dot - n)) == 0 &&
                                c->producer->stage->name[dot - n] == 0)
                             : strcmp(c->table, n) == 0;
            if (match) {
                ref = c;
                found++;
            }
        }
        free(n);
        if (found > 1)
            return pd_set_error(PD_ERR_INVALID, "reference '%s' of task %s.%s is ambiguous",
                                ref_text, t->stage->name, t->name);
    }
    if (!ref || !ref->producer)
        return pd_set_error(PD_ERR_INVALID,
                            "reference '%s' is not an input of task %s.%s (declare it with "
                            "pd_task_add_input / inputs:)",
                            ref_text, t->stage->name, t->name);
    pd_task *p = ref->producer;
    *producer = p;
    pdi_trun *pt = &r->t[p->id];
    if (!pt->selected) {
        pthread_mutex_lock(&r->mu);
        int rc = load_stored_outputs(r, p);
        pthread_mutex_unlock(&r->mu);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < pt->n_outs; i++)
        if (strcmp(pt->outs[i].name, ref->table) == 0) {
            *out = &pt->outs[i];
            return PD_OK;
        }
    if (strcmp(p->table, ref->table) == 0) {
        size_t ntab = 0;
        pdi_out *only = NULL;
        for (size_t i = 0; i < pt->n_outs; i++)
            if (pt->outs[i].kind == PDI_OUT_TABLE) {
                ntab++;
                only = &pt->outs[i];
            }
        if (ntab == 1)
            *out = only;
        *value = pt->value_json;
        return PD_OK;
    }
    return pd_set_error(PD_ERR_NOT_FOUND, "task %s.%s did not produce table '%s'", p->stage->name,
                        p->name, ref->table);
}

static const char *
physical_name(pdi_run *r, pd_task_ctx *keep, const char *schema, const char *name, pd_strv *owned)
{
    (void)keep;
    char *n = pd_store_sql_name(r->store, schema, name);
    if (!n || pd_strv_push_owned(owned, n))
        return NULL;
    return n;
}

const char *pdi_out_schema(pdi_run *r, const pd_task *t, const pd_task *p, const pdi_out *o)
{
    (void)t;
    if (o->ext_schema)
        return o->ext_schema;
    if (!r->t[p->id].selected || r->s[p->stage->id].committed || !o->schema)
        return p->stage->name;
    return o->schema;
}

/* The physical schema name (for {{ this_stage }}). */
static char *schema_sql_name(pdi_run *r, const char *schema)
{
    static const char probe[] = "pd__probe__";
    char *n = pd_store_sql_name(r->store, schema, probe);
    if (!n)
        return NULL;
    char *p = strstr(n, probe);
    if (p && p > n) {
        char *cut = p;
        if (cut > n && (cut[-1] == '"' || cut[-1] == '[' || cut[-1] == '`'))
            cut--;
        if (cut > n && cut[-1] == '.')
            cut--;
        *cut = 0;
    }
    return n;
}

typedef struct render_st {
    pdi_run *r;
    pd_task *t;
    const char *sql;
    pd_buf out;
    size_t pos;
    pd_strv owned;
} render_st;

static int render_cb(void *user, const char *inner, size_t start, size_t end)
{
    render_st *st = user;
    pd_buf_append(&st->out, st->sql + st->pos, start - st->pos);
    st->pos = end;
    char *n = pdi_normalize_name(inner);
    if (!n)
        return PD_ERR_NOMEM;
    int rc = PD_OK;
    if (strcmp(n, "this_stage") == 0) {
        char *s = schema_sql_name(st->r, tx_schema(st->r, st->t->stage));
        if (!s)
            rc = pd_set_error(PD_ERR, "cannot name the schema of stage %s", st->t->stage->name);
        else
            pd_buf_puts(&st->out, s);
        free(s);
    } else {
        pd_task *p = NULL;
        pdi_out *o = NULL;
        const char *val = NULL;
        const pdi_ref *ref = pdi_task_find_ref(st->t, n);
        if (ref && !ref->producer && st->t->kind == PD_TASK_RAW_SQL) {
            const char *nm =
                physical_name(st->r, NULL, tx_schema(st->r, st->t->stage), ref->table, &st->owned);
            if (nm)
                pd_buf_puts(&st->out, nm);
            else
                rc = PD_ERR_NOMEM;
        } else {
            rc = pdi_ref_output(st->r, st->t, n, &p, &o, &val);
            if (!rc && (!o || o->kind != PDI_OUT_TABLE))
                rc = pd_set_error(PD_ERR_INVALID, "{{ %s }} does not denote a table", inner);
            if (!rc) {
                const char *nm = physical_name(st->r, NULL, pdi_out_schema(st->r, st->t, p, o),
                                               pdi_out_table(o), &st->owned);
                if (!nm)
                    rc = pd_set_error(PD_ERR, "cannot name table %s.%s", o->schema, o->name);
                else
                    pd_buf_puts(&st->out, nm);
            }
        }
    }
    free(n);
    return rc;
}

int pdi_render_sql(pdi_run *r, pd_task *t, const char *sql, char **out)
{
    render_st st;
    memset(&st, 0, sizeof st);
    st.r = r;
    st.t = t;
    st.sql = sql;
    int rc = pdi_scan_refs(sql, render_cb, &st);
    if (!rc)
        rc = pd_buf_puts(&st.out, sql + st.pos);
    pd_strv_free(&st.owned);
    if (rc || st.out.oom) {
        pd_buf_free(&st.out);
        return rc ? rc : PD_ERR_NOMEM;
    }
    *out = pd_buf_detach(&st.out);
    return *out ? PD_OK : PD_ERR_NOMEM;
}

/* ------------------------------------------------------------ decisions */

static bool is_forced(pdi_run *r, const pd_task *t)
{
    bool has_cf = t->cache_fn || t->kind == PD_TASK_LOAD;
    return r->mode == PD_CACHE_FORCE_CACHE_INVALID ||
           (r->mode == PD_CACHE_FORCE_FRESH_INPUT && has_cf);
}

static int lazy_query_string(pdi_run *r, const pd_table *tbl, char **out)
{
    *out = NULL;
    if (r->store && pd_store_lazy_query_str(r->store, tbl, out) == PD_OK && *out)
        return PD_OK;
    pd_clear_error();
    switch (tbl->kind) {
    case PD_OBJ_SQL: *out = pd_strdup(tbl->sql); break;
    case PD_OBJ_EXTERNAL:
        *out = pd_asprintf("ExternalTableReference(name=%s, schema=%s)", tbl->ext_name,
                           tbl->ext_schema);
        break;
    case PD_OBJ_VIEW: {
        pd_buf b = PD_BUF_INIT;
        pd_buf_puts(&b, "View(src=[");
        for (size_t i = 0; i < tbl->n_view_sources; i++)
            pd_buf_printf(&b, "%s%s", i ? "," : "", tbl->view_sources[i]);
        pd_buf_puts(&b, "])");
        *out = pd_buf_detach(&b);
        break;
    }
    default: {
        char rnd[PD_HASH_LEN + 1];
        pd_random_id(rnd);
        *out = pd_asprintf("random:%s", rnd);
    }
    }
    return *out ? PD_OK : PD_ERR_NOMEM;
}

/* pd_show: why a task would run, from a comparison of its current key parts
 * with the last committed run of the task (NULL if nothing specific). */
static char *dry_reason(pdi_run *r, const pd_task *t, const char *table, const char *qh)
{
    pdi_trun *tr = &r->t[t->id];
    pd_task_meta m;
    memset(&m, 0, sizeof m);
    bool found = false;
    if (pd_meta_latest_task(r->store, t->table, t->stage->name, NULL, true, &m, &found) || !found) {
        pd_clear_error();
        pd_task_meta_clear(&m);
        return pd_strdup("no committed run of this task in this stage");
    }
    pd_buf b = PD_BUF_INIT;
    pd_jval *v = m.output_json ? pd_json_parse(m.output_json, strlen(m.output_json)) : NULL;
    const pd_jval *key = v ? pd_jval_get(v, "key") : NULL;
    const char *old_ver = key ? pd_jval_str(pd_jval_get(key, "version")) : NULL;
    const char *now_ver = t->version ? t->version : (t->kind == PD_TASK_LOAD ? "load" : "None");
    if (old_ver && !pd_str_eq(old_ver, now_ver))
        pd_buf_printf(&b, "version %s -> %s", old_ver, now_ver);
    const pd_jval *oi = key ? pd_jval_get(key, "inputs") : NULL;
    pd_jval *ni = tr->inputs_json ? pd_json_parse(tr->inputs_json, strlen(tr->inputs_json)) : NULL;
    for (size_t i = 0; ni && ni->type == PD_J_OBJ && i < ni->n; i++) {
        const char *o = oi ? pd_jval_str(pd_jval_get(oi, ni->keys[i])) : NULL;
        if (!pd_str_eq(o, pd_jval_str(ni->items[i])))
            pd_buf_printf(&b, "%sinput %s changed", b.len ? ", " : "", ni->keys[i]);
    }
    pd_jval_free(ni);
    if (!pd_str_eq(m.cache_fn_hash ? m.cache_fn_hash : "", tr->cache_fn_hash))
        pd_buf_printf(&b, "%scache function output changed", b.len ? ", " : "");
    const pd_jval *oq = key ? pd_jval_get(key, "query_hash") : NULL;
    if (qh && table && oq && !pd_str_eq(pd_jval_str(pd_jval_get(oq, table)), qh))
        pd_buf_printf(&b, "%squery of %s changed", b.len ? ", " : "", table);
    pd_jval_free(v);
    pd_task_meta_clear(&m);
    if (!b.len) {
        pd_buf_free(&b);
        return NULL;
    }
    return pd_buf_detach(&b);
}

static int
add_table_out(pdi_trun *tr, const pd_table *tbl, const char *ck, const char *qh, const char *where)
{
    int rc = pdi_add_out(tr, tbl->name, PDI_OUT_TABLE, ck, qh, where);
    if (!rc && tbl->kind == PD_OBJ_EXTERNAL) {
        pdi_out *o = &tr->outs[tr->n_outs - 1];
        o->ext_schema = pd_strdup(tbl->ext_schema);
        o->ext_name = pd_strdup(tbl->ext_name);
        if (!o->ext_schema || !o->ext_name)
            rc = PD_ERR_NOMEM;
    }
    return rc;
}

/* Content identity of an in-memory table (lazy computed tasks): SHA-256 over
 * the schema JSON and every row as JSON. The stream is drained into memory
 * and replaced by an equivalent stream over the same batches. */
static int arrow_content_str(struct ArrowArrayStream *st, char **out)
{
    *out = NULL;
    struct ArrowSchema sch;
    memset(&sch, 0, sizeof sch);
    if (st->get_schema(st, &sch) != 0)
        return pd_set_error(PD_ERR_INVALID, "reading the schema of an output table");
    struct ArrowArray *batches = NULL;
    size_t n = 0, cap = 0;
    int rc = PD_OK;
    pd_sha256_ctx h;
    if (pd_sha256_init(&h)) {
        sch.release(&sch);
        return PD_ERR_NOMEM;
    }
    char *sj = pd_arrow_schema_to_json(&sch);
    if (sj)
        pd_sha256_update(&h, sj, strlen(sj));
    free(sj);
    for (;;) {
        struct ArrowArray *nb = pd_grow(batches, &cap, n, sizeof *nb, 8);
        if (!nb) {
            rc = PD_ERR_NOMEM;
            break;
        }
        batches = nb;
        memset(&batches[n], 0, sizeof batches[n]);
        if (st->get_next(st, &batches[n]) != 0) {
            rc = pd_set_error(PD_ERR_INVALID, "reading an output table");
            break;
        }
        if (!batches[n].release)
            break;
        for (int64_t i = 0; i < batches[n].length && !rc; i++) {
            size_t len = 0;
            char *row = pd_arrow_value_to_json(&sch, &batches[n], i, &len);
            if (!row) {
                rc = PD_ERR_INVALID;
                break;
            }
            pd_sha256_update(&h, row, len);
            pd_sha256_update(&h, "\n", 1);
            free(row);
        }
        n++;
        if (rc)
            break;
    }
    uint8_t d[PD_SHA256_LEN];
    pd_sha256_final(&h, d);
    st->release(st);
    if (!rc) {
        rc = pd_arrow_stream_from_batches(&sch, batches, n, st);
    } else {
        for (size_t i = 0; i < n; i++)
            if (batches[i].release)
                batches[i].release(&batches[i]);
        if (sch.release)
            sch.release(&sch);
    }
    free(batches);
    if (rc)
        return rc;
    char hex[2 * PD_SHA256_LEN + 1];
    pd_hex(d, PD_SHA256_LEN, hex);
    *out = pd_asprintf("arrow-content:%s", hex);
    return *out ? PD_OK : PD_ERR_NOMEM;
}

static int store_table(pdi_run *r, pd_task *t, pd_table *tbl);

/* The task's `indexes:` handed to the store with the table (as
 * NULL-terminated column lists), so that they are created. */
int pdi_store_table(pdi_run *r, pd_task *t, pd_table *tbl)
{
    if (tbl->indexes || !t->n_indexes)
        return store_table(r, t, tbl);
    const char ***ix = pd_calloc(t->n_indexes, sizeof *ix);
    int rc = ix ? PD_OK : PD_ERR_NOMEM;
    for (size_t i = 0; i < t->n_indexes && rc == PD_OK; i++) {
        ix[i] = pd_calloc(t->indexes[i].n + 1, sizeof *ix[i]);
        for (size_t k = 0; ix[i] && k < t->indexes[i].n; k++)
            ix[i][k] = t->indexes[i].items[k];
        if (!ix[i])
            rc = PD_ERR_NOMEM;
    }
    if (rc == PD_OK) {
        tbl->indexes = (const char *const *const *)ix;
        tbl->n_indexes = t->n_indexes;
        rc = store_table(r, t, tbl);
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
        rc = pd_store_materialize(r->store, tbl, tx_schema(r, st));
        pthread_rwlock_unlock(&sr->rw);
        if (tbl->kind == PD_OBJ_ARROW && tbl->stream && tbl->stream->release)
            tbl->stream->release(tbl->stream);
        if (rc)
            return pd_error_prefix("materializing table %s", tbl->name);
        tr->cache_valid = false;
        return pdi_add_out(tr, tbl->name, PDI_OUT_TABLE, tr->task_hash, NULL, tx_schema(r, st));
    }
    /* lazy table: identity by query string */
    char *q = NULL;
    if (tbl->kind == PD_OBJ_ARROW && tbl->stream && tbl->stream->release)
        rc = arrow_content_str(tbl->stream, &q);
    else
        rc = lazy_query_string(r, tbl, &q);
    if (rc)
        return rc;
    char *canon = pdi_canonical_sql(q);
    free(q);
    if (!canon)
        return PD_ERR_NOMEM;
    char qh[PD_HASH_LEN + 1], ck[PD_HASH_LEN + 1];
    const char *qp[] = {"LAZY-TABLE", canon};
    pd_stable_hash(qp, 2, qh);
    free(canon);
    const char *kp[] = {"LAZY_TABLE", tr->task_hash, qh};
    pd_stable_hash(kp, 3, ck);
    bool hit = false;
    const char *where = NULL;
    if (!is_forced(r, t) && r->caching_ok) {
        pd_lazy_meta m;
        memset(&m, 0, sizeof m);
        int count = 0;
        rc = pd_meta_find_lazy(r->store, st->name, qh, tr->task_hash, &m, &count);
        if (rc) {
            pd_lazy_meta_clear(&m);
            return rc;
        }
        if (count == 1 && m.name) {
            bool exists = true;
            if (tbl->kind != PD_OBJ_EXTERNAL && (base_has(r, st, m.name, &exists) || !exists)) {
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
                        pd_lazy_meta_clear(&m);
                        return rc;
                    }
                }
                rc = place_cached_table(r, st, m.name, tbl->name, &where);
            }
        }
        pd_lazy_meta_clear(&m);
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
                tr->why = dry_reason(r, t, tbl->name, qh);
            if (!tr->why)
                tr->why = pd_asprintf("no cached copy of table %s", tbl->name);
            return add_table_out(tr, tbl, ck, qh, st->name);
        }
        if ((rc = pdi_stage_mark_changed(r, st)))
            return rc;
        pthread_rwlock_rdlock(&sr->rw);
        rc = pd_store_materialize(r->store, tbl, tx_schema(r, st));
        pthread_rwlock_unlock(&sr->rw);
        if (rc)
            return pd_error_prefix("materializing table %s", tbl->name);
        where = tx_schema(r, st);
    }
    if (!r->dry) {
        pd_lazy_meta lm = {(char *)tbl->name, (char *)st->name, qh, tr->task_hash, true};
        if ((rc = pd_meta_insert_lazy(r->store, &lm)))
            return rc;
    }
    return add_table_out(tr, tbl, ck, qh, where);
}

/* canonical JSON description of one input reference */
static void json_out_desc(pd_json *j, const pd_task *p, const pdi_out *o)
{
    pd_json_obj_begin(j);
    pd_json_key(j, "__pipedag_type__");
    pd_json_str(j, o->kind == PDI_OUT_BLOB ? "blob" : "table");
    pd_json_key(j, "cache_key");
    pd_json_str(j, o->cache_key);
    pd_json_key(j, "name");
    pd_json_str(j, o->name);
    if (o->kind == PDI_OUT_TABLE) {
        pd_json_key(j, "primary_key");
        pd_json_arr_begin(j);
        for (size_t i = 0; i < p->primary_key.n; i++)
            pd_json_str(j, p->primary_key.items[i]);
        pd_json_arr_end(j);
    }
    pd_json_key(j, "stage");
    pd_json_str(j, p->stage->name);
    pd_json_obj_end(j);
}

/* input_hash and the explain summary {"ref": cache_key | value} */
static int compute_inputs(pdi_run *r, pd_task *t)
{
    pdi_trun *tr = &r->t[t->id];
    const pdi_ref **refs = NULL;
    int rc = pdi_sorted_refs(t, &refs);
    if (rc)
        return rc;
    pd_json j, e;
    pd_json_init(&j);
    pd_json_init(&e);
    pdi_json_task_args_begin(&j, t);
    pd_json_obj_begin(&e);
    pd_json_key(&j, "inputs");
    pd_json_obj_begin(&j);
    for (size_t i = 0; i < t->n_refs && !rc; i++) {
        const pdi_ref *ref = refs[i];
        if (!ref->producer)
            continue;
        pd_task *p = NULL;
        pdi_out *o = NULL;
        const char *val = NULL;
        rc = pdi_ref_output(r, t, ref->text, &p, &o, &val);
        if (rc)
            break;
        pd_json_key(&j, ref->text);
        pd_json_key(&e, ref->text);
        pdi_trun *pt = &r->t[p->id];
        if (o && !(val && strcmp(p->table, ref->table) == 0 && pt->n_outs > 1)) {
            json_out_desc(&j, p, o);
            pd_json_str(&e, o->cache_key);
        } else {
            /* the whole task: all outputs and its literal value */
            pd_json_obj_begin(&j);
            pd_json_key(&j, "__pipedag_type__");
            pd_json_str(&j, "task");
            pd_json_key(&j, "outputs");
            pd_json_arr_begin(&j);
            pd_buf keys = PD_BUF_INIT;
            for (size_t k = 0; k < pt->n_outs; k++) {
                json_out_desc(&j, p, &pt->outs[k]);
                pd_buf_printf(&keys, "%s%s", k ? "," : "", pt->outs[k].cache_key);
            }
            pd_json_arr_end(&j);
            pd_json_key(&j, "value");
            if (val)
                pd_json_raw(&j, val);
            else
                pd_json_null(&j);
            pd_json_obj_end(&j);
            if (val && !pt->n_outs)
                pd_buf_printf(&keys, "value=%s", val);
            pd_json_str(&e, keys.data ? keys.data : "");
            pd_buf_free(&keys);
        }
    }
    pd_json_obj_end(&j);
    pdi_json_task_args_end(&j, t);
    pd_json_obj_end(&e);
    free(refs);
    char *js = pd_json_finish(&j);
    char *es = pd_json_finish(&e);
    if (!rc && (!js || !es))
        rc = PD_ERR_NOMEM;
    if (!rc) {
        const char *parts[] = {"INPUT", js};
        pd_stable_hash(parts, 2, tr->input_hash);
        free(tr->inputs_json);
        tr->inputs_json = es;
        es = NULL;
    }
    free(js);
    free(es);
    return rc;
}

static char *resolve_path(pdi_run *r, const char *path)
{
    if (!path || path[0] == '/' || !r->flow->file)
        return pd_strdup(path);
    char *dir = pd_path_dirname(r->flow->file);
    char *p = dir ? pd_path_join(dir, path) : NULL;
    free(dir);
    return p;
}

static int compute_cache_fn(pdi_run *r, pd_task *t)
{
    pdi_trun *tr = &r->t[t->id];
    tr->cache_fn_hash[0] = 0;
    bool has_cf = t->cache_fn || t->kind == PD_TASK_LOAD;
    if (!has_cf)
        return PD_OK;
    if (r->disable_cache_fn) {
        char rnd[PD_HASH_LEN + 1];
        pd_random_id(rnd);
        const char *parts[] = {"CACHE_FN", rnd};
        pd_stable_hash(parts, 2, tr->cache_fn_hash);
        return PD_OK;
    }
    char *val = NULL;
    int rc;
    if (t->kind == PD_TASK_LOAD) {
        char *path = resolve_path(r, t->csv_path);
        size_t len = 0;
        char *data = path ? pd_file_read(path, &len) : NULL;
        if (!data) {
            rc = pd_set_error(PD_ERR_IO, "cannot read CSV file %s", path ? path : t->csv_path);
            free(path);
            return rc;
        }
        free(path);
        uint8_t d[PD_SHA256_LEN];
        char hex[2 * PD_SHA256_LEN + 1];
        pd_sha256(data, len, d);
        pd_hex(d, PD_SHA256_LEN, hex);
        free(data);
        val = pd_strdup(hex);
    } else {
        if ((rc = pdi_call_cache_fn(r, t, &val)))
            return rc;
    }
    pd_buf b = PD_BUF_INIT;
    pd_json_escape(&b, val ? val : "", val ? strlen(val) : 0);
    free(val);
    if (b.oom) {
        pd_buf_free(&b);
        return PD_ERR_NOMEM;
    }
    const char *parts[] = {"CACHE_FN", b.data ? b.data : "\"\""};
    pd_stable_hash(parts, 2, tr->cache_fn_hash);
    pd_buf_free(&b);
    return PD_OK;
}

static char *build_output_json(pdi_run *r, pd_task *t, pd_task_state state)
{
    pdi_trun *tr = &r->t[t->id];
    pd_json j;
    pd_json_init(&j);
    pd_json_obj_begin(&j);
    pd_json_key(&j, "key");
    pd_json_obj_begin(&j);
    pd_json_key(&j, "cache_fn_hash");
    pd_json_str(&j, tr->cache_fn_hash);
    pd_json_key(&j, "input_hash");
    pd_json_str(&j, tr->input_hash);
    pd_json_key(&j, "inputs");
    pd_json_raw(&j, tr->inputs_json ? tr->inputs_json : "{}");
    pd_json_key(&j, "query_hash");
    pd_json_obj_begin(&j);
    for (size_t i = 0; i < tr->n_outs; i++)
        if (tr->outs[i].query_hash) {
            pd_json_key(&j, tr->outs[i].name);
            pd_json_str(&j, tr->outs[i].query_hash);
        }
    pd_json_obj_end(&j);
    pd_json_key(&j, "task_hash");
    pd_json_str(&j, tr->task_hash);
    pd_json_key(&j, "version");
    pd_json_str(&j, t->version ? t->version : (t->kind == PD_TASK_LOAD ? "load" : "None"));
    pd_json_obj_end(&j);
    pd_json_key(&j, "outputs");
    pd_json_arr_begin(&j);
    for (size_t i = 0; i < tr->n_outs; i++) {
        pdi_out *o = &tr->outs[i];
        pd_json_obj_begin(&j);
        pd_json_key(&j, "cache_key");
        pd_json_str(&j, o->cache_key);
        if (o->ext_schema) {
            pd_json_key(&j, "ext_name");
            pd_json_str(&j, o->ext_name);
            pd_json_key(&j, "ext_schema");
            pd_json_str(&j, o->ext_schema);
        }
        pd_json_key(&j, "kind");
        pd_json_str(&j, o->kind == PDI_OUT_BLOB ? "blob" : "table");
        pd_json_key(&j, "name");
        pd_json_str(&j, o->name);
        if (o->query_hash) {
            pd_json_key(&j, "query_hash");
            pd_json_str(&j, o->query_hash);
        }
        pd_json_obj_end(&j);
    }
    pd_json_arr_end(&j);
    pd_json_key(&j, "state");
    pd_json_str(&j, pd_task_state_name(state));
    pd_json_key(&j, "value");
    if (tr->value_json)
        pd_json_raw(&j, tr->value_json);
    else
        pd_json_null(&j);
    pd_json_key(&j, "value_json");
    pd_json_str(&j, tr->value_json);
    pd_json_obj_end(&j);
    return pd_json_finish(&j);
}

static int insert_task_row(pdi_run *r, pd_task *t, pd_task_state state, const pd_task_meta *orig)
{
    if (r->dry || !r->caching_ok)
        return PD_OK;
    pdi_trun *tr = &r->t[t->id];
    char *oj = build_output_json(r, t, state);
    if (!oj)
        return PD_ERR_NOMEM;
    pd_task_meta m;
    memset(&m, 0, sizeof m);
    m.name = t->table;
    m.stage = t->stage->name;
    m.version = orig ? orig->version : tr->version_used;
    m.timestamp = orig ? orig->timestamp : pd_unix_micros();
    m.run_id = orig ? orig->run_id : r->run_id;
    m.position_hash = t->pos_hash;
    m.input_hash = orig && orig->input_hash ? orig->input_hash : tr->input_hash;
    m.cache_fn_hash = orig && orig->cache_fn_hash ? orig->cache_fn_hash : tr->cache_fn_hash;
    m.output_json = oj;
    m.in_transaction_schema = true;
    int rc = pd_meta_insert_task(r->store, &m);
    free(oj);
    return rc;
}

/* Eager cache hit: place stored tables and blobs, re-insert the row.
 * Returns PD_OK with *hit=false when a stored table vanished (re-run). */
static int eager_hit(pdi_run *r, pd_task *t, pd_task_meta *m, bool *hit)
{
    pdi_trun *tr = &r->t[t->id];
    pd_stage *st = t->stage;
    *hit = false;
    trun_clear_outs(tr);
    int rc = decode_outputs(tr, m->output_json ? m->output_json : "{}", st->name);
    if (rc)
        return rc;
    for (size_t i = 0; i < tr->n_outs; i++) {
        if (tr->outs[i].kind == PDI_OUT_BLOB && r->blobs && !r->dry) {
            /* the published blob must be the one this metadata row describes
             * (a run killed between the table and blob commits leaves an
             * older one): otherwise re-run the task */
            bool match = false;
            if (pd_blob_committed_key_matches(r->blobs, st->name, tr->outs[i].name, tr->task_hash,
                                              &match) ||
                !match) {
                pd_clear_error();
                pd_log(PD_LOG_INFO, "task %s.%s: cached blob %s is stale or missing; re-running",
                       st->name, t->name, tr->outs[i].name);
                trun_clear_outs(tr);
                return PD_OK;
            }
            continue;
        }
        if (tr->outs[i].kind != PDI_OUT_TABLE || tr->outs[i].ext_schema)
            continue;
        bool exists = false;
        if (base_has(r, st, tr->outs[i].name, &exists) || !exists) {
            pd_clear_error();
            pd_log(PD_LOG_INFO, "task %s.%s: cached table %s vanished; re-running", st->name,
                   t->name, tr->outs[i].name);
            trun_clear_outs(tr);
            return PD_OK;
        }
    }
    for (size_t i = 0; i < tr->n_outs && !rc; i++) {
        pdi_out *o = &tr->outs[i];
        if (o->ext_schema) {
            continue;
        } else if (o->kind == PDI_OUT_TABLE) {
            const char *where = NULL;
            rc = place_cached_table(r, st, o->name, o->name, &where);
            if (!rc) {
                char *w = pd_strdup(where);
                free(o->schema);
                o->schema = w;
            }
        } else if (r->blobs && !r->dry) {
            rc = pd_blob_copy_to_transaction(r->blobs, st->name, o->name);
        }
    }
    if (rc)
        return rc;
    free(tr->version_used);
    tr->version_used = pd_strdup(m->version);
    *hit = true;
    return insert_task_row(r, t, PD_STATE_CACHE_VALID, m);
}

static int run_sql_task(pdi_run *r, pd_task *t)
{
    char *sql = NULL;
    int rc = pdi_render_sql(r, t, t->sql, &sql);
    if (rc)
        return rc;
    pd_table tbl;
    memset(&tbl, 0, sizeof tbl);
    tbl.name = t->table;
    tbl.kind = PD_OBJ_SQL;
    tbl.sql = sql;
    rc = pdi_store_table(r, t, &tbl);
    free(sql);
    return rc;
}

static int strv_from_json(const char *json, pd_strv *out)
{
    pd_jval *v = json ? pd_json_parse(json, strlen(json)) : NULL;
    if (!v)
        return json ? PD_ERR_CORRUPT : PD_OK;
    int rc = PD_OK;
    for (size_t i = 0; v->type == PD_J_ARR && i < v->n && !rc; i++)
        if (v->items[i]->type == PD_J_STR)
            rc = pd_strv_push(out, v->items[i]->str);
    pd_jval_free(v);
    return rc;
}

static char *strv_to_json(const pd_strv *v)
{
    pd_json j;
    pd_json_init(&j);
    pd_json_arr_begin(&j);
    for (size_t i = 0; i < v->n; i++)
        pd_json_str(&j, v->items[i]);
    pd_json_arr_end(&j);
    return pd_json_finish(&j);
}

static int run_raw_sql(pdi_run *r, pd_task *t)
{
    pdi_trun *tr = &r->t[t->id];
    pd_stage *st = t->stage;
    pdi_srun *sr = &r->s[st->id];
    char *script = NULL;
    int rc = pdi_render_sql(r, t, t->sql, &script);
    if (rc)
        return rc;
    char *canon = pdi_canonical_sql(script);
    if (!canon) {
        free(script);
        return PD_ERR_NOMEM;
    }
    char qh[PD_HASH_LEN + 1], ck[PD_HASH_LEN + 1];
    const char *qp[] = {"RAW-SQL", canon};
    pd_stable_hash(qp, 2, qh);
    free(canon);
    const char *kp[] = {"LAZY_TABLE", tr->task_hash, qh};
    pd_stable_hash(kp, 3, ck);
    pd_strv prev = PD_STRV_INIT, after = PD_STRV_INIT, created = PD_STRV_INIT;
    bool hit = false;
    if (!is_forced(r, t) && r->caching_ok) {
        pd_raw_sql_meta m;
        memset(&m, 0, sizeof m);
        int count = 0;
        rc = pd_meta_find_raw_sql(r->store, st->name, qh, tr->task_hash, &m, &count);
        if (!rc && count == 1) {
            pd_strv objs = PD_STRV_INIT;
            rc = strv_from_json(m.new_objects, &objs);
            bool all = !rc;
            for (size_t i = 0; all && i < objs.n; i++) {
                bool ex = false;
                if (base_has(r, st, objs.items[i], &ex) || !ex) {
                    pd_clear_error();
                    all = false;
                }
            }
            if (all) {
                hit = true;
                strv_from_json(m.prev_objects, &prev);
                for (size_t i = 0; i < objs.n && !rc; i++) {
                    const char *where = NULL;
                    rc = place_cached_table(r, st, objs.items[i], objs.items[i], &where);
                    if (!rc)
                        rc = pdi_add_out(tr, objs.items[i], PDI_OUT_TABLE, ck, qh, where);
                }
                for (size_t i = 0; i < objs.n; i++)
                    pd_strv_push(&created, objs.items[i]);
            }
            pd_strv_free(&objs);
        }
        pd_raw_sql_meta_clear(&m);
    }
    if (!rc && !hit) {
        tr->cache_valid = false;
        if (r->mode == PD_CACHE_ASSERT_NO_FRESH_INPUT) {
            rc = pd_set_error(PD_ERR_CACHE, "ASSERT_NO_FRESH_INPUT: raw SQL would be executed");
        } else if (r->dry) {
            tr->would_run = true;
            if (!tr->why)
                tr->why = dry_reason(r, t, NULL, NULL);
            if (!tr->why)
                tr->why = pd_strdup("script changed or no cached copy");
            for (size_t i = 0; i < t->declared_outputs.n && !rc; i++)
                rc = pdi_add_out(tr, t->declared_outputs.items[i], PDI_OUT_TABLE, ck, qh, st->name);
        } else if (!(rc = pdi_stage_mark_changed(r, st))) {
            const char *txs = tx_schema(r, st);
            pthread_rwlock_wrlock(&sr->rw);
            rc = pd_store_list_objects(r->store, txs, &prev);
            if (!rc)
                rc = pd_store_execute_script(r->store, script);
            if (!rc)
                rc = pd_store_list_objects(r->store, txs, &after);
            pthread_rwlock_unlock(&sr->rw);
            for (size_t i = 0; !rc && i < after.n; i++)
                if (!pd_strv_contains(&prev, after.items[i])) {
                    rc = pd_strv_push(&created, after.items[i]);
                    if (!rc)
                        rc = pdi_add_out(tr, after.items[i], PDI_OUT_TABLE, ck, qh, txs);
                }
            if (rc)
                pd_error_prefix("running raw SQL script");
        }
    }
    if (!rc && !r->dry) {
        pd_strv_sort(&created);
        char *pj = strv_to_json(&prev), *nj = strv_to_json(&created);
        pd_raw_sql_meta m = {pj, nj, (char *)st->name, qh, tr->task_hash, true};
        rc = (pj && nj) ? pd_meta_insert_raw_sql(r->store, &m) : PD_ERR_NOMEM;
        free(pj);
        free(nj);
    }
    pd_strv_free(&prev);
    pd_strv_free(&after);
    pd_strv_free(&created);
    free(script);
    return rc;
}

static int run_view_or_external(pdi_run *r, pd_task *t)
{
    pd_table tbl;
    memset(&tbl, 0, sizeof tbl);
    tbl.name = t->table;
    int rc = PD_OK;
    pd_strv srcs = PD_STRV_INIT;
    if (t->kind == PD_TASK_EXTERNAL) {
        tbl.kind = PD_OBJ_EXTERNAL;
        tbl.ext_schema = t->ext_schema;
        tbl.ext_name = t->ext_table;
    } else {
        tbl.kind = PD_OBJ_VIEW;
        for (size_t i = 0; i < t->view_sources.n && !rc; i++) {
            pd_task *p = NULL;
            pdi_out *o = NULL;
            const char *val = NULL;
            rc = pdi_ref_output(r, t, t->view_sources.items[i], &p, &o, &val);
            if (!rc && (!o || o->kind != PDI_OUT_TABLE))
                rc = pd_set_error(PD_ERR_INVALID, "view source %s is not a table",
                                  t->view_sources.items[i]);
            if (!rc)
                rc = pd_strv_push_owned(
                    &srcs, pd_asprintf("%s.%s", pdi_out_schema(r, t, p, o), pdi_out_table(o)));
        }
        tbl.view_sources = (const char *const *)srcs.items;
        tbl.n_view_sources = srcs.n;
    }
    if (!rc)
        rc = pdi_store_table(r, t, &tbl);
    pd_strv_free(&srcs);
    return rc;
}

static int run_load(pdi_run *r, pd_task *t)
{
    char *path = resolve_path(r, t->csv_path);
    if (!path)
        return PD_ERR_NOMEM;
    struct ArrowArrayStream st;
    memset(&st, 0, sizeof st);
    int rc = pdi_load_csv(path, &st);
    free(path);
    if (rc)
        return rc;
    pd_table tbl;
    memset(&tbl, 0, sizeof tbl);
    tbl.name = t->table;
    tbl.kind = PD_OBJ_ARROW;
    tbl.stream = &st;
    rc = pdi_store_table(r, t, &tbl);
    if (st.release)
        st.release(&st);
    return rc;
}

/* pd_show: the outputs a task that would run is expected to produce. */
static int dry_outputs(pdi_trun *tr, const pd_task *t, const char *cache_key)
{
    int rc = PD_OK;
    for (size_t i = 0; i < t->declared_outputs.n && !rc; i++)
        rc = pdi_add_out(tr, t->declared_outputs.items[i], PDI_OUT_TABLE, cache_key, NULL,
                         t->stage->name);
    if (!rc && (!t->declared_outputs.n || t->kind == PD_TASK_LOAD))
        rc = pdi_add_out(tr, t->table, PDI_OUT_TABLE, cache_key, NULL, t->stage->name);
    return rc;
}

/* The decision procedure for one task (§2.2). */
static int exec_task(pdi_run *r, pd_task *t)
{
    pdi_trun *tr = &r->t[t->id];
    pd_stage *st = t->stage;
    int rc;
    tr->cache_valid = true;
    if ((rc = pdi_ensure_stage(r, st)))
        return task_fail(tr, t, NULL);
    if ((rc = compute_inputs(r, t)))
        return task_fail(tr, t, "inputs: ");
    if ((rc = compute_cache_fn(r, t)))
        return task_fail(tr, t, "cache function: ");
    bool has_cf = t->cache_fn || t->kind == PD_TASK_LOAD;
    bool forced = is_forced(r, t);
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
            rc = pd_meta_find_task(r->store, t->table, st->name, version, tr->input_hash, cfh, &m,
                                   &count);
            if (!rc && count == 1) {
                bool hit = false;
                pdi_task_hash(t->name, m.version, tr->input_hash,
                              m.cache_fn_hash ? m.cache_fn_hash : "", tr->task_hash);
                rc = eager_hit(r, t, &m, &hit);
                pd_task_meta_clear(&m);
                if (rc)
                    return task_fail(tr, t, "cache hit: ");
                if (hit) {
                    tr->state = PD_STATE_CACHE_VALID;
                    return PD_OK;
                }
            } else {
                pd_task_meta_clear(&m);
                if (rc)
                    return task_fail(tr, t, "metadata lookup: ");
            }
        }
        if (r->mode == PD_CACHE_ASSERT_NO_FRESH_INPUT && has_cf) {
            pd_set_error(PD_ERR_CACHE,
                         "ASSERT_NO_FRESH_INPUT: task with a cache function would run");
            return task_fail(tr, t, NULL);
        }
        free(tr->version_used);
        if (skip_lookup) {
            char rnd[PD_HASH_LEN + 1];
            pd_random_id(rnd);
            tr->version_used = pd_strdup(rnd);
        } else {
            tr->version_used = pd_strdup(version);
        }
        pdi_task_hash(t->name, tr->version_used, tr->input_hash, tr->cache_fn_hash, tr->task_hash);
        tr->cache_valid = false;
        if (r->dry) {
            tr->would_run = true;
            if (!tr->why && !skip_lookup && !forced)
                tr->why = dry_reason(r, t, NULL, NULL);
            if (!tr->why)
                tr->why = pd_strdup(skip_lookup ? "no version: always runs"
                                    : forced    ? "forced by cache mode"
                                                : "no committed run with the same key");
            dry_outputs(tr, t, tr->task_hash);
            tr->state = PD_STATE_COMPLETED;
            return PD_OK;
        }
    } else {
        if (r->mode == PD_CACHE_IGNORE_FRESH_INPUT && has_cf && r->caching_ok) {
            pd_task_meta m;
            memset(&m, 0, sizeof m);
            bool found = false;
            if (pd_meta_latest_task(r->store, t->table, st->name, NULL, true, &m, &found) ==
                    PD_OK &&
                found && m.cache_fn_hash)
                snprintf(tr->cache_fn_hash, sizeof tr->cache_fn_hash, "%s", m.cache_fn_hash);
            pd_task_meta_clear(&m);
            pd_clear_error();
        }
        free(tr->version_used);
        tr->version_used = pd_strdup(version ? version : "None");
        pdi_task_hash(t->name, tr->version_used, tr->input_hash, tr->cache_fn_hash, tr->task_hash);
    }
    switch (t->kind) {
    case PD_TASK_SQL: rc = run_sql_task(r, t); break;
    case PD_TASK_RAW_SQL: rc = run_raw_sql(r, t); break;
    case PD_TASK_VIEW:
    case PD_TASK_EXTERNAL: rc = run_view_or_external(r, t); break;
    case PD_TASK_LOAD: rc = run_load(r, t); break;
    case PD_TASK_C:
        if (r->dry) {
            tr->would_run = true;
            if (!tr->why)
                tr->why = pd_strdup("lazy computed task: always runs");
            char rnd[PD_HASH_LEN + 1];
            pd_random_id(rnd);
            rc = dry_outputs(tr, t, rnd);
        } else {
            rc = pdi_run_c_task(r, t);
        }
        break;
    }
    if (rc)
        return task_fail(tr, t, NULL);
    pd_task_state state = tr->cache_valid ? PD_STATE_CACHE_VALID : PD_STATE_COMPLETED;
    if ((rc = insert_task_row(r, t, state, NULL)))
        return task_fail(tr, t, "metadata: ");
    tr->state = state;
    return PD_OK;
}

/* ------------------------------------------------------------ engine */

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
                    size_t *s2 = pd_grow(stack, &cap, ns, sizeof *s2, 16);
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
        int rc = exec_task(r, f->tasks[v]);
        if (r->progress) {
            pthread_mutex_lock(&r->mu);
            size_t done = ++r->done;
            pthread_mutex_unlock(&r->mu);
            r->progress(r->progress_user, f->tasks[v], tr->state, done, r->total);
        }
        return rc == PD_OK;
    }
    pd_stage *st = f->stages[v - f->n_tasks];
    int rc = commit_stage(r, st);
    if (rc) {
        r->s[st->id].failed = true;
        /* attribute the failure to the stage's tasks for the result */
        for (size_t i = 0; i < st->n_tasks; i++) {
            pdi_trun *tr = &r->t[st->tasks[i]->id];
            if (tr->selected && !tr->error) {
                tr->error = pd_asprintf("stage %s: %s", st->name, pd_last_error());
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

static int run_engine(pdi_run *r, int jobs)
{
    pd_flow *f = r->flow;
    engine e;
    memset(&e, 0, sizeof e);
    e.r = r;
    e.nn = f->n_tasks + f->n_stages;
    e.pending = pd_calloc(e.nn + 1, sizeof *e.pending);
    e.dep_failed = pd_calloc(e.nn + 1, sizeof *e.dep_failed);
    e.ok = pd_calloc(e.nn + 1, sizeof *e.ok);
    e.ready.a = pd_calloc(e.nn + 1, sizeof *e.ready.a);
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
        pthread_t *th = pd_calloc((size_t)jobs, sizeof *th);
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

/* ------------------------------------------------------------ setup */

static void run_free(pdi_run *r)
{
    if (!r)
        return;
    if (r->t)
        for (size_t i = 0; i < r->flow->n_tasks; i++)
            trun_free(&r->t[i]);
    if (r->s)
        for (size_t i = 0; i < r->flow->n_stages; i++) {
            pdi_srun *sr = &r->s[i];
            for (size_t k = 0; k < sr->n_pending; k++) {
                free(sr->pending[k].from);
                free(sr->pending[k].to);
            }
            free(sr->pending);
            pd_strv_free(&sr->base_objs);
            free(sr->init_error);
            pthread_mutex_destroy(&sr->mu);
            pthread_rwlock_destroy(&sr->rw);
        }
    free(r->t);
    free(r->s);
    if (r->locks) {
        pd_lock_release_all(r->locks);
        pd_lock_manager_close(r->locks);
    }
    if (r->blobs)
        pd_blob_store_close(r->blobs);
    if (r->store)
        pd_store_close(r->store);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
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

static int run_open(pdi_run *r, pd_flow *f, const pd_config *cfg, const pd_run_options *o, bool dry)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->flow = f;
    r->cfg = cfg;
    r->dry = dry;
    r->caching_ok = true;
    pd_random_id(r->run_id);
    int rc;
    if (!f || !cfg)
        return pd_set_error(PD_ERR_INVALID, "pd_run: NULL flow or config");
    if (!f->finalized && (rc = pd_flow_finalize(f)))
        return rc;
    r->t = pd_calloc(f->n_tasks + 1, sizeof *r->t);
    r->s = pd_calloc(f->n_stages + 1, sizeof *r->s);
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
    if ((rc = pd_store_open(cfg, &r->store)))
        return pd_error_prefix("opening the table store");
    if (!dry) {
        if ((rc = pd_lock_manager_open(cfg, &r->locks)))
            return pd_error_prefix("opening the lock manager");
        if (cfg->blob_store != PD_BLOB_NONE && (rc = pd_blob_store_open(cfg, &r->blobs)))
            return pd_error_prefix("opening the blob store");
        if ((rc = pd_lock_acquire(r->locks, "_pipedag_setup_")))
            return rc;
    }
    rc = pd_store_setup(r->store, &r->caching_ok);
    if (rc) {
        if (r->locks)
            pd_lock_release(r->locks, "_pipedag_setup_");
        return pd_error_prefix("setting up metadata");
    }
    if (!dry) {
        for (size_t i = 0; i < f->n_stages && !rc; i++)
            rc = pd_lock_acquire(r->locks, f->stages[i]->name);
        pd_lock_release(r->locks, "_pipedag_setup_");
        if (rc)
            return rc;
    }
    return PD_OK;
}

/* ------------------------------------------------------------ results */

static pd_result *make_result(pdi_run *r, double secs)
{
    pd_flow *f = r->flow;
    pd_result *res = pd_calloc(1, sizeof *res);
    if (!res)
        return NULL;
    res->flow = f;
    res->instance = pd_strdup(r->cfg->instance ? r->cfg->instance : "");
    res->seconds = secs;
    res->tasks = pd_calloc(f->n_tasks + 1, sizeof *res->tasks);
    res->states = pd_calloc(f->n_tasks + 1, sizeof *res->states);
    res->errors = pd_calloc(f->n_tasks + 1, sizeof *res->errors);
    if (!res->tasks || !res->states || !res->errors) {
        pd_result_free(res);
        return NULL;
    }
    res->ok = true;
    for (size_t i = 0; i < f->n_tasks; i++) {
        pdi_trun *tr = &r->t[i];
        if (!tr->selected)
            continue;
        size_t k = res->n++;
        res->tasks[k] = f->tasks[i];
        res->states[k] = tr->state;
        if (tr->error) {
            res->errors[k] = tr->error;
            tr->error = NULL;
        }
        if (tr->state != PD_STATE_COMPLETED && tr->state != PD_STATE_CACHE_VALID)
            res->ok = false;
    }
    for (size_t i = 0; i < f->n_stages; i++)
        if (r->s[i].failed && r->s[i].selected)
            res->ok = false;
    return res;
}

int pd_run(pd_flow *flow, const pd_config *cfg, const pd_run_options *opts, pd_result **out)
{
    if (out)
        *out = NULL;
    double t0 = pd_now_seconds();
    pdi_run r;
    int rc = run_open(&r, flow, cfg, opts, false);
    if (rc) {
        char *msg = pd_strdup(pd_last_error());
        run_free(&r);
        pd_set_error(rc, "%s", msg ? msg : "run could not start");
        free(msg);
        return rc;
    }
    int jobs = opts && opts->jobs > 0 ? opts->jobs : cfg->engine_workers;
    if (jobs < 1)
        jobs = 1;
    rc = run_engine(&r, jobs);
    pd_result *res = make_result(&r, pd_now_seconds() - t0);
    run_free(&r);
    if (!res)
        return PD_ERR_NOMEM;
    if (rc) {
        pd_result_free(res);
        return rc;
    }
    bool ok = res->ok;
    if (!ok) {
        for (size_t i = 0; i < res->n; i++)
            if (res->errors[i]) {
                pd_set_error(PD_ERR_TASK, "%s", res->errors[i]);
                break;
            }
    }
    if (out)
        *out = res;
    else
        pd_result_free(res);
    return ok ? PD_OK : PD_ERR_TASK;
}

bool pd_result_successful(const pd_result *r)
{
    return r && r->ok;
}
size_t pd_result_count(const pd_result *r)
{
    return r ? r->n : 0;
}
const pd_task *pd_result_task(const pd_result *r, size_t i)
{
    return r && i < r->n ? r->tasks[i] : NULL;
}
pd_task_state pd_result_state(const pd_result *r, size_t i)
{
    return r && i < r->n ? r->states[i] : PD_STATE_NOT_RUN;
}
const char *pd_result_error(const pd_result *r, size_t i)
{
    return r && i < r->n ? r->errors[i] : NULL;
}
double pd_result_seconds(const pd_result *r)
{
    return r ? r->seconds : 0;
}

char *pd_result_json(const pd_result *r)
{
    if (!r)
        return NULL;
    pd_json j;
    pd_json_init(&j);
    pd_json_obj_begin(&j);
    pd_json_key(&j, "flow");
    pd_json_str(&j, r->flow->name);
    pd_json_key(&j, "instance");
    pd_json_str(&j, r->instance);
    pd_json_key(&j, "seconds");
    pd_json_double(&j, r->seconds);
    pd_json_key(&j, "successful");
    pd_json_bool(&j, r->ok);
    pd_json_key(&j, "tasks");
    pd_json_arr_begin(&j);
    for (size_t i = 0; i < r->n; i++) {
        pd_json_obj_begin(&j);
        pd_json_key(&j, "error");
        pd_json_str(&j, r->errors[i]);
        pd_json_key(&j, "stage");
        pd_json_str(&j, r->tasks[i]->stage->name);
        pd_json_key(&j, "state");
        pd_json_str(&j, pd_task_state_name(r->states[i]));
        pd_json_key(&j, "task");
        pd_json_str(&j, r->tasks[i]->name);
        pd_json_obj_end(&j);
    }
    pd_json_arr_end(&j);
    pd_json_obj_end(&j);
    return pd_json_finish(&j);
}

void pd_result_free(pd_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->errors && i < r->n; i++)
        free(r->errors[i]);
    free(r->errors);
    free(r->tasks);
    free(r->states);
    free(r->instance);
    free(r);
}

/* ------------------------------------------------------------ show / explain */

static int dry_run(pd_flow *flow, const pd_config *cfg, pdi_run *r)
{
    int rc = run_open(r, flow, cfg, NULL, true);
    if (rc)
        return rc;
    return run_engine(r, 1);
}

int pd_show(pd_flow *flow, const pd_config *cfg, char **report)
{
    if (!report)
        return pd_set_error(PD_ERR_INVALID, "pd_show: NULL report");
    *report = NULL;
    pdi_run r;
    int rc = dry_run(flow, cfg, &r);
    if (rc) {
        char *msg = pd_strdup(pd_last_error());
        run_free(&r);
        pd_set_error(rc, "%s", msg ? msg : "show failed");
        free(msg);
        return rc;
    }
    pd_buf b = PD_BUF_INIT;
    for (size_t i = 0; i < flow->n_order; i++) {
        size_t v = flow->order[i];
        if (v >= flow->n_tasks)
            continue;
        pd_task *t = flow->tasks[v];
        pdi_trun *tr = &r.t[v];
        if (tr->state == PD_STATE_FAILED)
            pd_buf_printf(&b, "%s.%s: would run (cannot decide: %s)\n", t->stage->name, t->name,
                          tr->error ? tr->error : "error");
        else if (tr->state == PD_STATE_NOT_RUN)
            pd_buf_printf(&b, "%s.%s: would run (an input cannot be decided)\n", t->stage->name,
                          t->name);
        else if (tr->would_run || !tr->cache_valid)
            pd_buf_printf(&b, "%s.%s: would run (%s)\n", t->stage->name, t->name,
                          tr->why ? tr->why : "changed");
        else
            pd_buf_printf(&b, "%s.%s: cache valid (%s)\n", t->stage->name, t->name,
                          t->lazy ? "query and inputs unchanged" : "committed run with same key");
    }
    run_free(&r);
    if (b.oom) {
        pd_buf_free(&b);
        return PD_ERR_NOMEM;
    }
    *report = pd_buf_detach(&b);
    if (!*report)
        *report = pd_strdup("");
    return PD_OK;
}

static void explain_cmp(pd_buf *b, const char *what, const char *old, const char *now)
{
    if (pd_str_eq(old ? old : "", now ? now : ""))
        pd_buf_printf(b, "  %s: unchanged\n", what);
    else
        pd_buf_printf(b, "  %s: CHANGED (%s -> %s)\n", what, old ? old : "(none)",
                      now ? now : "(none)");
}

int pd_explain(pd_flow *flow, const pd_config *cfg, const char *task_ref, char **report)
{
    if (!report || !task_ref)
        return pd_set_error(PD_ERR_INVALID, "pd_explain: NULL argument");
    *report = NULL;
    if (flow && !flow->finalized) {
        int rc = pd_flow_finalize(flow);
        if (rc)
            return rc;
    }
    pd_task *t = pd_flow_find_task(flow, task_ref);
    if (!t)
        return pd_set_error(PD_ERR_NOT_FOUND, "unknown task '%s'", task_ref);
    pdi_run r;
    int rc = dry_run(flow, cfg, &r);
    if (rc) {
        char *msg = pd_strdup(pd_last_error());
        run_free(&r);
        pd_set_error(rc, "%s", msg ? msg : "explain failed");
        free(msg);
        return rc;
    }
    pdi_trun *tr = &r.t[t->id];
    pd_task_meta m;
    memset(&m, 0, sizeof m);
    bool found = false;
    rc = pd_meta_latest_task(r.store, t->table, t->stage->name, NULL, true, &m, &found);
    pd_buf b = PD_BUF_INIT;
    if (!rc) {
        pd_buf_printf(&b, "%s.%s: %s\n", t->stage->name, t->name,
                      tr->would_run || !tr->cache_valid ? "would run" : "cache valid");
        if (!found) {
            pd_buf_puts(&b, "  no committed run of this task in this stage\n");
        } else {
            pd_jval *v = m.output_json ? pd_json_parse(m.output_json, strlen(m.output_json)) : NULL;
            const pd_jval *key = v ? pd_jval_get(v, "key") : NULL;
            const char *old_ver = key ? pd_jval_str(pd_jval_get(key, "version")) : m.version;
            const char *now_ver =
                t->version ? t->version : (t->kind == PD_TASK_LOAD ? "load" : "None");
            explain_cmp(&b, "version", old_ver, now_ver);
            /* inputs */
            const pd_jval *oi = key ? pd_jval_get(key, "inputs") : NULL;
            pd_jval *ni =
                tr->inputs_json ? pd_json_parse(tr->inputs_json, strlen(tr->inputs_json)) : NULL;
            for (size_t i = 0; ni && ni->type == PD_J_OBJ && i < ni->n; i++) {
                char *what = pd_asprintf("input %s", ni->keys[i]);
                explain_cmp(&b, what ? what : "input",
                            oi ? pd_jval_str(pd_jval_get(oi, ni->keys[i])) : NULL,
                            pd_jval_str(ni->items[i]));
                free(what);
            }
            for (size_t i = 0; oi && oi->type == PD_J_OBJ && i < oi->n; i++)
                if (!ni || !pd_jval_get(ni, oi->keys[i]))
                    pd_buf_printf(&b, "  input %s: REMOVED\n", oi->keys[i]);
            pd_jval_free(ni);
            explain_cmp(&b, "cache function", m.cache_fn_hash, tr->cache_fn_hash);
            const pd_jval *oq = key ? pd_jval_get(key, "query_hash") : NULL;
            for (size_t i = 0; i < tr->n_outs; i++)
                if (tr->outs[i].query_hash) {
                    char *what = pd_asprintf("query of %s", tr->outs[i].name);
                    explain_cmp(&b, what ? what : "query",
                                oq ? pd_jval_str(pd_jval_get(oq, tr->outs[i].name)) : NULL,
                                tr->outs[i].query_hash);
                    free(what);
                }
            if (!t->version && !t->lazy && t->kind == PD_TASK_C)
                pd_buf_puts(&b, "  (no version: computed task always runs)\n");
            pd_jval_free(v);
        }
    }
    pd_task_meta_clear(&m);
    run_free(&r);
    if (rc || b.oom) {
        pd_buf_free(&b);
        return rc ? rc : PD_ERR_NOMEM;
    }
    *report = pd_buf_detach(&b);
    return PD_OK;
}

int pd_last_states(pd_flow *flow, const pd_config *cfg, pd_task_state *states, size_t n)
{
    if (!flow || !cfg || (!states && n))
        return pd_set_error(PD_ERR_INVALID, "pd_last_states: bad argument");
    for (size_t i = 0; i < n; i++)
        states[i] = PD_STATE_NOT_RUN;
    pd_store *s = NULL;
    int rc = pd_store_open(cfg, &s);
    bool ok = true;
    if (!rc)
        rc = pd_store_setup(s, &ok);
    for (size_t i = 0; !rc && i < n && i < flow->n_tasks; i++) {
        pd_task *t = flow->tasks[i];
        pd_task_meta m;
        memset(&m, 0, sizeof m);
        bool found = false;
        rc = pd_meta_latest_task(s, t->table, t->stage->name, NULL, true, &m, &found);
        if (!rc && found) {
            states[i] = PD_STATE_COMPLETED;
            if (m.output_json && strstr(m.output_json, "\"state\":\"cache_valid\""))
                states[i] = PD_STATE_CACHE_VALID;
        }
        pd_task_meta_clear(&m);
    }
    pd_store_close(s);
    return rc;
}
