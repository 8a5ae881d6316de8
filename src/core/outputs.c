/*
 * core/outputs.c - the run state of one task: its failure message, its
 * outputs (added while it runs, or decoded from stored metadata for tasks
 * outside a sub-flow run), resolving a {{ reference }} to the output it
 * denotes, and rendering SQL with physical table names.
 */
#include "core_int.h"
#include <stdlib.h>
#include <string.h>

int pdi_task_fail(pdi_trun *tr, const pd_task *t, const char *what)
{
    free(tr->error);
    const char *origin = pdi_task_origin(t);
    const char *msg = pd_last_error();
    if (strstr(msg, t->stage->name) && strstr(msg, t->name) && (!*origin || strstr(msg, origin)))
        tr->error = pdi_asprintf("%s%s", what ? what : "", msg);
    else if (*origin)
        tr->error = pdi_asprintf("task %s.%s (%s): %s%s", t->stage->name, t->name, origin,
                                 what ? what : "", msg);
    else
        tr->error =
            pdi_asprintf("task %s.%s: %s%s", t->stage->name, t->name, what ? what : "", msg);
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
    pdi_out *outs = pdi_grow(tr->outs, &tr->cap_outs, tr->n_outs, sizeof *outs, 4);
    if (!outs)
        return PD_ERR_NOMEM;
    tr->outs = outs;
    pdi_out *o = &tr->outs[tr->n_outs];
    memset(o, 0, sizeof *o);
    o->name = pdi_strdup(name);
    o->kind = kind;
    o->cache_key = pdi_strdup(cache_key ? cache_key : "");
    o->query_hash = pdi_strdup(query_hash);
    o->schema = pdi_strdup(schema);
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

void pdi_trun_clear_outs(pdi_trun *tr)
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

void pdi_trun_free(pdi_trun *tr)
{
    pdi_trun_clear_outs(tr);
    free(tr->outs);
    free(tr->error);
    free(tr->why);
    free(tr->version_used);
    free(tr->inputs_json);
}

int pdi_decode_outputs(pdi_trun *tr, const char *json, const char *schema)
{
    pd_jval *v = pdi_json_parse(json, strlen(json));
    if (!v)
        return pd_error_prefix("decoding stored output_json");
    int rc = PD_OK;
    const pd_jval *outs = pdi_jval_get(v, "outputs");
    for (size_t i = 0; outs && outs->type == PD_J_ARR && i < outs->n && !rc; i++) {
        const pd_jval *o = outs->items[i];
        const char *kind = pdi_jval_str(pdi_jval_get(o, "kind"));
        const char *name = pdi_jval_str(pdi_jval_get(o, "name"));
        if (!name)
            continue;
        rc = pdi_add_out(tr, name, pdi_str_eq(kind, "blob") ? PDI_OUT_BLOB : PDI_OUT_TABLE,
                         pdi_jval_str(pdi_jval_get(o, "cache_key")),
                         pdi_jval_str(pdi_jval_get(o, "query_hash")), schema);
        const char *es = pdi_jval_str(pdi_jval_get(o, "ext_schema"));
        const char *en = pdi_jval_str(pdi_jval_get(o, "ext_name"));
        if (!rc && es && en) {
            pdi_out *last = &tr->outs[tr->n_outs - 1];
            last->ext_schema = pdi_strdup(es);
            last->ext_name = pdi_strdup(en);
        }
    }
    const pd_jval *val = pdi_jval_get(v, "value");
    if (!rc && val && val->type != PD_J_NULL) {
        const pd_jval *raw = pdi_jval_get(v, "value_json");
        if (raw && raw->type == PD_J_STR)
            tr->value_json = pdi_strdup(raw->str);
    }
    pdi_jval_free(v);
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
    int rc = pdi_meta_latest_task(r->store, p->table, p->stage->name, p->pos_hash, !r->task_subset,
                                  &m, &found);
    if (rc)
        return rc;
    if (!found) {
        pdi_task_meta_clear(&m);
        return pd_set_error(PD_ERR_CACHE,
                            "no stored output of task %s.%s (position hash %s): run the stage "
                            "first",
                            p->stage->name, p->name, p->pos_hash);
    }
    rc = pdi_decode_outputs(tr, m.output_json ? m.output_json : "{}", p->stage->name);
    pdi_task_meta_clear(&m);
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
    char *n = pdi_store_sql_name(r->store, schema, name);
    if (!n || pdi_strv_push_owned(owned, n))
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
    char *n = pdi_store_sql_name(r->store, schema, probe);
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
    pdi_buf_append(&st->out, st->sql + st->pos, start - st->pos);
    st->pos = end;
    char *n = pdi_normalize_name(inner);
    if (!n)
        return PD_ERR_NOMEM;
    int rc = PD_OK;
    if (strcmp(n, "this_stage") == 0) {
        char *s = schema_sql_name(st->r, pdi_tx_schema(st->r, st->t->stage));
        if (!s)
            rc = pd_set_error(PD_ERR, "cannot name the schema of stage %s", st->t->stage->name);
        else
            pdi_buf_puts(&st->out, s);
        free(s);
    } else {
        pd_task *p = NULL;
        pdi_out *o = NULL;
        const char *val = NULL;
        const pdi_ref *ref = pdi_task_find_ref(st->t, n);
        if (ref && !ref->producer && st->t->kind == PD_TASK_RAW_SQL) {
            const char *nm = physical_name(st->r, NULL, pdi_tx_schema(st->r, st->t->stage),
                                           ref->table, &st->owned);
            if (nm)
                pdi_buf_puts(&st->out, nm);
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
                    pdi_buf_puts(&st->out, nm);
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
        rc = pdi_buf_puts(&st.out, sql + st.pos);
    pdi_strv_free(&st.owned);
    if (rc || st.out.oom) {
        pdi_buf_free(&st.out);
        return rc ? rc : PD_ERR_NOMEM;
    }
    *out = pdi_buf_detach(&st.out);
    return *out ? PD_OK : PD_ERR_NOMEM;
}
