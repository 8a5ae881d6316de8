/*
 * core/key.c - the parts of a task's cache key (PIPEDAG_SEMANTICS.md §2.1):
 * the input hash over the input outputs' cache keys, the cache-function
 * hash (a load task's is its file's content), the identity of a lazy
 * table (query string or Arrow content), and the metadata row recording
 * them (output_json).
 */
#include "core_int.h"
#include <stdlib.h>
#include <string.h>

int pdi_lazy_query_string(pdi_run *r, const pd_table *tbl, char **out)
{
    *out = NULL;
    if (r->store && pdi_store_lazy_query_str(r->store, tbl, out) == PD_OK && *out)
        return PD_OK;
    pd_clear_error();
    switch (tbl->kind) {
    case PD_OBJ_SQL: *out = pdi_strdup(tbl->sql); break;
    case PD_OBJ_EXTERNAL:
        *out = pdi_asprintf("ExternalTableReference(name=%s, schema=%s)", tbl->ext_name,
                            tbl->ext_schema);
        break;
    case PD_OBJ_VIEW: {
        pd_buf b = PD_BUF_INIT;
        pdi_buf_puts(&b, "View(src=[");
        for (size_t i = 0; i < tbl->n_view_sources; i++)
            pdi_buf_printf(&b, "%s%s", i ? "," : "", tbl->view_sources[i]);
        pdi_buf_puts(&b, "]");
        if (tbl->view_shape_json)
            pdi_buf_printf(&b, ", shape=%s", tbl->view_shape_json);
        pdi_buf_puts(&b, ")");
        *out = pdi_buf_detach(&b);
        break;
    }
    default: {
        char rnd[PD_HASH_LEN + 1];
        pdi_random_id(rnd);
        *out = pdi_asprintf("random:%s", rnd);
    }
    }
    return *out ? PD_OK : PD_ERR_NOMEM;
}

/* Content identity of an in-memory table (lazy computed tasks): SHA-256 over
 * the schema JSON and every row as JSON. The stream is drained into memory
 * and replaced by an equivalent stream over the same batches. */
int pdi_arrow_content_str(struct ArrowArrayStream *st, char **out)
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
    if (pdi_sha256_init(&h)) {
        sch.release(&sch);
        return PD_ERR_NOMEM;
    }
    char *sj = pd_arrow_schema_to_json(&sch);
    if (sj)
        pdi_sha256_update(&h, sj, strlen(sj));
    free(sj);
    for (;;) {
        struct ArrowArray *nb = pdi_grow(batches, &cap, n, sizeof *nb, 8);
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
            pdi_sha256_update(&h, row, len);
            pdi_sha256_update(&h, "\n", 1);
            free(row);
        }
        n++;
        if (rc)
            break;
    }
    uint8_t d[PD_SHA256_LEN];
    pdi_sha256_final(&h, d);
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
    pdi_hex(d, PD_SHA256_LEN, hex);
    *out = pdi_asprintf("arrow-content:%s", hex);
    return *out ? PD_OK : PD_ERR_NOMEM;
}

/* canonical JSON description of one input reference */
static void json_out_desc(pd_json *j, const pd_task *p, const pdi_out *o)
{
    pdi_json_obj_begin(j);
    pdi_json_key(j, "__pipedag_type__");
    pdi_json_str(j, o->kind == PDI_OUT_BLOB ? "blob" : "table");
    pdi_json_key(j, "cache_key");
    pdi_json_str(j, o->cache_key);
    pdi_json_key(j, "name");
    pdi_json_str(j, o->name);
    if (o->kind == PDI_OUT_TABLE) {
        pdi_json_key(j, "primary_key");
        pdi_json_arr_begin(j);
        for (size_t i = 0; i < p->primary_key.n; i++)
            pdi_json_str(j, p->primary_key.items[i]);
        pdi_json_arr_end(j);
    }
    pdi_json_key(j, "stage");
    pdi_json_str(j, p->stage->name);
    pdi_json_obj_end(j);
}

char *pdi_materialization_json(const pd_task *t)
{
    if (!t->primary_key.n && !t->n_indexes)
        return NULL;
    pd_json j;
    pdi_json_init(&j);
    pdi_json_obj_begin(&j);
    pdi_json_key(&j, "indexes");
    pdi_json_arr_begin(&j);
    for (size_t i = 0; i < t->n_indexes; i++) {
        pdi_json_arr_begin(&j);
        for (size_t k = 0; k < t->indexes[i].n; k++)
            pdi_json_str(&j, t->indexes[i].items[k]);
        pdi_json_arr_end(&j);
    }
    pdi_json_arr_end(&j);
    pdi_json_key(&j, "primary_key");
    pdi_json_arr_begin(&j);
    for (size_t i = 0; i < t->primary_key.n; i++)
        pdi_json_str(&j, t->primary_key.items[i]);
    pdi_json_arr_end(&j);
    pdi_json_obj_end(&j);
    return pdi_json_finish(&j);
}

char *pdi_checks_json(const pd_task *t)
{
    if (!t->n_checks)
        return NULL;
    pd_json j;
    pdi_json_init(&j);
    pdi_json_arr_begin(&j);
    for (size_t i = 0; i < t->n_checks; i++) {
        const pdi_check *c = &t->checks[i];
        pdi_json_obj_begin(&j);
        pdi_json_key(&j, "column");
        pdi_json_str(&j, c->column);
        pdi_json_key(&j, "kind");
        pdi_json_str(&j, pd_check_kind_name(c->kind));
        pdi_json_key(&j, "values");
        pdi_json_arr_begin(&j);
        for (size_t k = 0; k < c->values.n; k++) {
            if (c->kind == PD_CHECK_REFERENCES)
                pdi_json_str(&j, c->values.items[k]);
            else
                pdi_json_raw(&j, c->values.items[k]);
        }
        pdi_json_arr_end(&j);
        pdi_json_obj_end(&j);
    }
    pdi_json_arr_end(&j);
    return pdi_json_finish(&j);
}

/* input_hash and the explain summary {"ref": cache_key | value} */
int pdi_compute_inputs(pdi_run *r, pd_task *t)
{
    pdi_trun *tr = &r->t[t->id];
    const pdi_ref **refs = NULL;
    int rc = pdi_sorted_refs(t, &refs);
    if (rc)
        return rc;
    pd_json j, e;
    pdi_json_init(&j);
    pdi_json_init(&e);
    pdi_json_task_args_begin(&j, t);
    pdi_json_obj_begin(&e);
    pdi_json_key(&j, "inputs");
    pdi_json_obj_begin(&j);
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
        pdi_json_key(&j, ref->text);
        pdi_json_key(&e, ref->text);
        pdi_trun *pt = &r->t[p->id];
        if (o && !(val && strcmp(p->table, ref->table) == 0 && pt->n_outs > 1)) {
            json_out_desc(&j, p, o);
            pdi_json_str(&e, o->cache_key);
        } else {
            /* the whole task: all outputs and its literal value */
            pdi_json_obj_begin(&j);
            pdi_json_key(&j, "__pipedag_type__");
            pdi_json_str(&j, "task");
            pdi_json_key(&j, "outputs");
            pdi_json_arr_begin(&j);
            pd_buf keys = PD_BUF_INIT;
            for (size_t k = 0; k < pt->n_outs; k++) {
                json_out_desc(&j, p, &pt->outs[k]);
                pdi_buf_printf(&keys, "%s%s", k ? "," : "", pt->outs[k].cache_key);
            }
            pdi_json_arr_end(&j);
            pdi_json_key(&j, "value");
            if (val)
                pdi_json_raw(&j, val);
            else
                pdi_json_null(&j);
            pdi_json_obj_end(&j);
            if (val && !pt->n_outs)
                pdi_buf_printf(&keys, "value=%s", val);
            pdi_json_str(&e, keys.data ? keys.data : "");
            pdi_buf_free(&keys);
        }
    }
    pdi_json_obj_end(&j);
    /* column checks: a changed one re-runs the task (and checks its table) */
    char *chk = rc ? NULL : pdi_checks_json(t);
    if (chk) {
        pdi_json_key(&j, "checks");
        pdi_json_raw(&j, chk);
        free(chk);
    }
    /* primary key and indexes: a changed one re-creates the table */
    char *mat = rc ? NULL : pdi_materialization_json(t);
    if (mat) {
        pdi_json_key(&j, "materialization");
        pdi_json_raw(&j, mat);
        free(mat);
    }
    pdi_json_task_args_end(&j, t);
    pdi_json_obj_end(&e);
    free(refs);
    char *js = pdi_json_finish(&j);
    char *es = pdi_json_finish(&e);
    if (!rc && (!js || !es))
        rc = PD_ERR_NOMEM;
    if (!rc) {
        const char *parts[] = {"INPUT", js};
        pdi_stable_hash(parts, 2, tr->input_hash);
        free(tr->inputs_json);
        tr->inputs_json = es;
        es = NULL;
    }
    free(js);
    free(es);
    return rc;
}

char *pdi_resolve_path(pdi_run *r, const char *path)
{
    if (!path || path[0] == '/' || !r->flow->file)
        return pdi_strdup(path);
    char *dir = pdi_path_dirname(r->flow->file);
    char *p = dir ? pdi_path_join(dir, path) : NULL;
    free(dir);
    return p;
}

int pdi_compute_cache_fn(pdi_run *r, pd_task *t)
{
    pdi_trun *tr = &r->t[t->id];
    tr->cache_fn_hash[0] = 0;
    bool has_cf = t->cache_fn || t->kind == PD_TASK_LOAD;
    if (!has_cf)
        return PD_OK;
    if (r->disable_cache_fn) {
        char rnd[PD_HASH_LEN + 1];
        pdi_random_id(rnd);
        const char *parts[] = {"CACHE_FN", rnd};
        pdi_stable_hash(parts, 2, tr->cache_fn_hash);
        return PD_OK;
    }
    char *val = NULL;
    int rc;
    if (t->kind == PD_TASK_LOAD) {
        char *path = pdi_resolve_path(r, t->csv_path);
        rc = path ? pdi_load_cache_key(path, t->load_opts, &val) : PD_ERR_NOMEM;
        free(path);
        if (rc)
            return rc;
    } else {
        if ((rc = pdi_call_cache_fn(r, t, &val)))
            return rc;
    }
    pd_buf b = PD_BUF_INIT;
    pdi_json_escape(&b, val ? val : "", val ? strlen(val) : 0);
    free(val);
    if (b.oom) {
        pdi_buf_free(&b);
        return PD_ERR_NOMEM;
    }
    const char *parts[] = {"CACHE_FN", b.data ? b.data : "\"\""};
    pdi_stable_hash(parts, 2, tr->cache_fn_hash);
    pdi_buf_free(&b);
    return PD_OK;
}

static char *build_output_json(pdi_run *r, pd_task *t, pd_task_state state)
{
    pdi_trun *tr = &r->t[t->id];
    pd_json j;
    pdi_json_init(&j);
    pdi_json_obj_begin(&j);
    pdi_json_key(&j, "key");
    pdi_json_obj_begin(&j);
    pdi_json_key(&j, "cache_fn_hash");
    pdi_json_str(&j, tr->cache_fn_hash);
    char *chk = pdi_checks_json(t);
    if (chk) {
        pdi_json_key(&j, "checks");
        pdi_json_str(&j, chk);
        free(chk);
    }
    pdi_json_key(&j, "input_hash");
    pdi_json_str(&j, tr->input_hash);
    pdi_json_key(&j, "inputs");
    pdi_json_raw(&j, tr->inputs_json ? tr->inputs_json : "{}");
    char *mat = pdi_materialization_json(t);
    if (mat) {
        pdi_json_key(&j, "materialization");
        pdi_json_str(&j, mat);
        free(mat);
    }
    pdi_json_key(&j, "query_hash");
    pdi_json_obj_begin(&j);
    for (size_t i = 0; i < tr->n_outs; i++)
        if (tr->outs[i].query_hash) {
            pdi_json_key(&j, tr->outs[i].name);
            pdi_json_str(&j, tr->outs[i].query_hash);
        }
    pdi_json_obj_end(&j);
    pdi_json_key(&j, "task_hash");
    pdi_json_str(&j, tr->task_hash);
    pdi_json_key(&j, "version");
    pdi_json_str(&j, t->version ? t->version : (t->kind == PD_TASK_LOAD ? "load" : "None"));
    pdi_json_obj_end(&j);
    pdi_json_key(&j, "outputs");
    pdi_json_arr_begin(&j);
    for (size_t i = 0; i < tr->n_outs; i++) {
        pdi_out *o = &tr->outs[i];
        pdi_json_obj_begin(&j);
        pdi_json_key(&j, "cache_key");
        pdi_json_str(&j, o->cache_key);
        if (o->ext_schema) {
            pdi_json_key(&j, "ext_name");
            pdi_json_str(&j, o->ext_name);
            pdi_json_key(&j, "ext_schema");
            pdi_json_str(&j, o->ext_schema);
        }
        pdi_json_key(&j, "kind");
        pdi_json_str(&j, o->kind == PDI_OUT_BLOB ? "blob" : "table");
        pdi_json_key(&j, "name");
        pdi_json_str(&j, o->name);
        if (o->query_hash) {
            pdi_json_key(&j, "query_hash");
            pdi_json_str(&j, o->query_hash);
        }
        pdi_json_obj_end(&j);
    }
    pdi_json_arr_end(&j);
    pdi_json_key(&j, "state");
    pdi_json_str(&j, pd_task_state_name(state));
    pdi_json_key(&j, "value");
    if (tr->value_json)
        pdi_json_raw(&j, tr->value_json);
    else
        pdi_json_null(&j);
    pdi_json_key(&j, "value_json");
    pdi_json_str(&j, tr->value_json);
    pdi_json_obj_end(&j);
    return pdi_json_finish(&j);
}

int pdi_insert_task_row(pdi_run *r, pd_task *t, pd_task_state state, const pd_task_meta *orig)
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
    m.timestamp = orig ? orig->timestamp : pdi_unix_micros();
    m.run_id = orig ? orig->run_id : r->run_id;
    m.position_hash = t->pos_hash;
    m.input_hash = orig && orig->input_hash ? orig->input_hash : tr->input_hash;
    m.cache_fn_hash = orig && orig->cache_fn_hash ? orig->cache_fn_hash : tr->cache_fn_hash;
    m.output_json = oj;
    m.in_transaction_schema = true;
    int rc = pdi_meta_insert_task(r->store, &m);
    free(oj);
    return rc;
}
