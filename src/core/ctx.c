/*
 * core/ctx.c - the computed-task context (pd_ctx_*): what a C task sees
 * while it runs (inputs as Arrow streams or SQL names, literal values,
 * blobs) and how its outputs reach the store; resolving C tasks from shared
 * libraries (dlopen/dlsym). Load tasks read files through src/load.
 */
#include "core_int.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static const char *keep(pd_task_ctx *c, char *s)
{
    if (!s)
        return NULL;
    if (pdi_strv_push_owned(&c->names, s))
        return NULL;
    return s;
}

const char *pd_ctx_task_name(const pd_task_ctx *c)
{
    return c ? c->task->name : NULL;
}
const char *pd_ctx_stage_name(const pd_task_ctx *c)
{
    return c ? c->task->stage->name : NULL;
}

static int ctx_table(pd_task_ctx *c, const char *ref, pdi_out **o, const char **schema)
{
    pd_task *p = NULL;
    const char *val = NULL;
    int rc = pdi_ref_output(c->run, c->task, ref, &p, o, &val);
    if (rc)
        return rc;
    if (!*o || (*o)->kind != PDI_OUT_TABLE)
        return pd_set_error(PD_ERR_NOT_FOUND, "input '%s' of task %s.%s is not a table", ref,
                            c->task->stage->name, c->task->name);
    *schema = pdi_out_schema(c->run, c->task, p, *o);
    return PD_OK;
}

int pd_ctx_read_table(pd_task_ctx *c, const char *ref, struct ArrowArrayStream *out)
{
    if (!c || !ref || !out)
        return pd_set_error(PD_ERR_INVALID, "pd_ctx_read_table: NULL argument");
    if (c->in_cache_fn)
        return pd_set_error(PD_ERR_INVALID, "cache functions cannot read tables");
    pdi_out *o = NULL;
    const char *schema = NULL;
    int rc = ctx_table(c, ref, &o, &schema);
    if (rc)
        return rc;
    rc = pdi_store_retrieve(c->run->store, schema, pdi_out_table(o), PD_AS_ARROW, -1, out);
    if (rc)
        pd_error_prefix("reading table %s.%s", schema, pdi_out_table(o));
    return rc;
}

const char *pd_ctx_table_sql_name(pd_task_ctx *c, const char *ref)
{
    if (!c || !ref) {
        pd_set_error(PD_ERR_INVALID, "pd_ctx_table_sql_name: NULL argument");
        return NULL;
    }
    pdi_out *o = NULL;
    const char *schema = NULL;
    if (ctx_table(c, ref, &o, &schema))
        return NULL;
    return keep(c, pdi_store_sql_name(c->run->store, schema, pdi_out_table(o)));
}

static int check_output(pd_task_ctx *c)
{
    if (c->in_cache_fn)
        return pd_set_error(PD_ERR_INVALID, "cache functions cannot output anything");
    return PD_OK;
}

int pd_ctx_output_table(pd_task_ctx *c, const char *name, struct ArrowArrayStream *in)
{
    if (!c || !in) {
        if (in && in->release)
            in->release(in);
        return pd_set_error(PD_ERR_INVALID, "pd_ctx_output_table: NULL argument");
    }
    int rc = check_output(c);
    char *n = rc ? NULL : pdi_normalize_name(name ? name : c->task->name);
    if (!rc && !n)
        rc = PD_ERR_NOMEM;
    if (rc) {
        if (in->release)
            in->release(in);
        return rc;
    }
    struct ArrowArrayStream st;
    pd_arrow_stream_move(in, &st);
    pd_table tbl;
    memset(&tbl, 0, sizeof tbl);
    tbl.name = n;
    tbl.kind = PD_OBJ_ARROW;
    tbl.stream = &st;
    rc = pdi_store_table(c->run, c->task, &tbl);
    if (st.release)
        st.release(&st);
    free(n);
    return rc;
}

int pd_ctx_output_sql(pd_task_ctx *c, const char *name, const char *select_sql)
{
    if (!c || !select_sql)
        return pd_set_error(PD_ERR_INVALID, "pd_ctx_output_sql: NULL argument");
    int rc = check_output(c);
    if (rc)
        return rc;
    char *n = pdi_normalize_name(name ? name : c->task->name);
    char *sql = NULL;
    if (!n)
        return PD_ERR_NOMEM;
    rc = pdi_render_sql(c->run, c->task, select_sql, &sql);
    if (!rc) {
        pd_table tbl;
        memset(&tbl, 0, sizeof tbl);
        tbl.name = n;
        tbl.kind = PD_OBJ_SQL;
        tbl.sql = sql;
        rc = pdi_store_table(c->run, c->task, &tbl);
    }
    free(sql);
    free(n);
    return rc;
}

int pd_ctx_output_blob(pd_task_ctx *c, const char *name, const void *data, size_t len)
{
    if (!c || !name || (!data && len))
        return pd_set_error(PD_ERR_INVALID, "pd_ctx_output_blob: bad argument");
    int rc = check_output(c);
    if (rc)
        return rc;
    if (c->task->lazy)
        return pd_set_error(PD_ERR_INVALID, "lazy tasks cannot output blobs");
    pdi_run *r = c->run;
    if (!r->blobs)
        return pd_set_error(PD_ERR_CONFIG, "no blob store configured (blob_store)");
    char *n = pdi_normalize_name(name);
    if (!n)
        return PD_ERR_NOMEM;
    pdi_trun *tr = &r->t[c->task->id];
    for (size_t i = 0; i < tr->n_outs; i++)
        if (strcmp(tr->outs[i].name, n) == 0) {
            free(n);
            return pd_set_error(PD_ERR_INVALID, "output '%s' written twice", name);
        }
    rc = pdi_check_lock(r, c->task->stage);
    if (!rc)
        rc = pdi_blob_put(r->blobs, c->task->stage->name, n, data, len);
    if (!rc)
        rc = pdi_blob_set_key(r->blobs, c->task->stage->name, n, tr->task_hash);
    if (!rc)
        rc = pdi_add_out(tr, n, PDI_OUT_BLOB, tr->task_hash, NULL, c->task->stage->name);
    free(n);
    return rc;
}

int pd_ctx_read_blob(pd_task_ctx *c, const char *ref, void **data, size_t *len)
{
    if (!c || !ref || !data || !len)
        return pd_set_error(PD_ERR_INVALID, "pd_ctx_read_blob: NULL argument");
    pdi_run *r = c->run;
    if (!r->blobs)
        return pd_set_error(PD_ERR_CONFIG, "no blob store configured (blob_store)");
    pd_task *p = NULL;
    pdi_out *o = NULL;
    const char *val = NULL;
    int rc = pdi_ref_output(r, c->task, ref, &p, &o, &val);
    if (rc)
        return rc;
    if (!o || o->kind != PDI_OUT_BLOB)
        return pd_set_error(PD_ERR_NOT_FOUND, "input '%s' is not a blob", ref);
    /* same stage and still running: the transaction; else committed */
    bool committed =
        p->stage != c->task->stage || !r->t[p->id].selected || (r->s[p->stage->id].committed);
    return pdi_blob_get(r->blobs, p->stage->name, o->name, committed ? 1 : 0, data, len);
}

int pd_ctx_output_value(pd_task_ctx *c, const char *json)
{
    if (!c || !json)
        return pd_set_error(PD_ERR_INVALID, "pd_ctx_output_value: NULL argument");
    int rc = check_output(c);
    if (rc)
        return rc;
    pd_jval *v = pdi_json_parse(json, strlen(json));
    if (!v)
        return pd_error_prefix("task %s: output value is not JSON", c->task->name);
    pdi_jval_free(v);
    pdi_trun *tr = &c->run->t[c->task->id];
    char *copy = pdi_strdup(json);
    if (!copy)
        return PD_ERR_NOMEM;
    free(tr->value_json);
    tr->value_json = copy;
    return PD_OK;
}

const char *pd_ctx_read_value(pd_task_ctx *c, const char *task_ref)
{
    if (!c || !task_ref) {
        pd_set_error(PD_ERR_INVALID, "pd_ctx_read_value: NULL argument");
        return NULL;
    }
    pd_task *p = NULL;
    pdi_out *o = NULL;
    const char *val = NULL;
    if (pdi_ref_output(c->run, c->task, task_ref, &p, &o, &val))
        return NULL;
    if (!val)
        pd_set_error(PD_ERR_NOT_FOUND, "task %s.%s output no value", p->stage->name, p->name);
    return val;
}

/* ------------------------------------------------------------ running */

static int resolve_fn(pdi_run *r, pd_task *t, pd_task_fn *fn, void **handle)
{
    *handle = NULL;
    if (t->fn) {
        *fn = t->fn;
        return PD_OK;
    }
    char *path = NULL;
    if (t->library[0] != '/' && r->flow->file && strchr(t->library, '/')) {
        char *dir = pdi_path_dirname(r->flow->file);
        path = dir ? pdi_path_join(dir, t->library) : NULL;
        free(dir);
    } else if (t->library[0] != '/' && r->flow->file) {
        char *dir = pdi_path_dirname(r->flow->file);
        char *cand = dir ? pdi_path_join(dir, t->library) : NULL;
        free(dir);
        if (cand && pdi_path_exists(cand))
            path = cand;
        else {
            free(cand);
            path = pdi_strdup(t->library);
        }
    } else {
        path = pdi_strdup(t->library);
    }
    if (!path)
        return PD_ERR_NOMEM;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        int rc = pd_set_error(PD_ERR_NOT_FOUND, "cannot load library %s: %s", path,
                              e ? e : "unknown error");
        free(path);
        return rc;
    }
    dlerror();
    void *sym = dlsym(h, t->symbol);
    if (!sym) {
        int rc = pd_set_error(PD_ERR_NOT_FOUND, "symbol %s not found in %s", t->symbol, path);
        dlclose(h);
        free(path);
        return rc;
    }
    free(path);
    /* function pointer from data pointer: POSIX guarantees this works */
    memcpy(fn, &sym, sizeof *fn);
    *handle = h;
    return PD_OK;
}

int pdi_run_c_task(pdi_run *r, pd_task *t)
{
    pd_task_fn fn = NULL;
    void *h = NULL;
    int rc = resolve_fn(r, t, &fn, &h);
    if (rc)
        return rc;
    pd_task_ctx c;
    memset(&c, 0, sizeof c);
    c.run = r;
    c.task = t;
    c.tr = &r->t[t->id];
    pd_clear_error();
    rc = fn(&c, t->user);
    if (rc && pd_last_error_code() == PD_OK)
        pd_set_error(rc, "task function returned %s", pd_status_name(rc));
    pdi_strv_free(&c.names);
    if (h)
        dlclose(h);
    return rc;
}

int pdi_call_cache_fn(pdi_run *r, pd_task *t, char **out)
{
    pd_task_ctx c;
    memset(&c, 0, sizeof c);
    c.run = r;
    c.task = t;
    c.tr = &r->t[t->id];
    c.in_cache_fn = true;
    *out = NULL;
    pd_clear_error();
    int rc = t->cache_fn(&c, t->cache_user, out);
    pdi_strv_free(&c.names);
    if (rc) {
        free(*out);
        *out = NULL;
        if (pd_last_error_code() == PD_OK)
            pd_set_error(rc, "cache function returned %s", pd_status_name(rc));
    }
    return rc;
}
