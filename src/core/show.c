/*
 * core/show.c - looking without writing: pd_show (what a run would do and
 * why), pd_explain (which part of a task's cache key changed) and
 * pd_last_states (the state of every task in the last run).
 */
#include "core_int.h"
#include <stdlib.h>
#include <string.h>

/* Decide every selected task as a run with options o would, writing
 * nothing (no locks, no metadata, no tables; see pdi_meta_setup_readonly). */
static int dry_run(pd_flow *flow, const pd_config *cfg, const pd_run_options *o, pdi_run *r)
{
    pd_run_options ro = PD_RUN_OPTIONS_INIT;
    if (o) {
        ro = *o;
        ro.progress = NULL;
        ro.progress_user = NULL;
    }
    int rc = pdi_run_open(r, flow, cfg, &ro, true);
    if (rc)
        return rc;
    return pdi_run_engine(r, 1);
}

int pd_show(pd_flow *flow, const pd_config *cfg, char **report)
{
    return pd_show_v2(flow, cfg, NULL, report);
}

int pd_show_v2(pd_flow *flow, const pd_config *cfg, const pd_run_options *opts, char **report)
{
    if (!report)
        return pd_set_error(PD_ERR_INVALID, "pd_show: NULL report");
    *report = NULL;
    pdi_run r;
    int rc = dry_run(flow, cfg, opts, &r);
    if (rc) {
        char *msg = pdi_strdup(pd_last_error());
        pdi_run_free(&r);
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
        if (!tr->selected)
            continue;
        if (tr->state == PD_STATE_FAILED)
            pdi_buf_printf(&b, "%s.%s: would run (cannot decide: %s)\n", t->stage->name, t->name,
                           tr->error ? tr->error : "error");
        else if (tr->state == PD_STATE_NOT_RUN)
            pdi_buf_printf(&b, "%s.%s: would run (an input cannot be decided)\n", t->stage->name,
                           t->name);
        else if (tr->would_run || !tr->cache_valid)
            pdi_buf_printf(&b, "%s.%s: would run (%s)\n", t->stage->name, t->name,
                           tr->why ? tr->why : "changed");
        else
            pdi_buf_printf(&b, "%s.%s: cache valid (%s)\n", t->stage->name, t->name,
                           t->lazy ? "query and inputs unchanged" : "committed run with same key");
    }
    pdi_run_free(&r);
    if (b.oom) {
        pdi_buf_free(&b);
        return PD_ERR_NOMEM;
    }
    *report = pdi_buf_detach(&b);
    if (!*report)
        *report = pdi_strdup("");
    return PD_OK;
}

static void explain_cmp(pd_buf *b, const char *what, const char *old, const char *now)
{
    if (pdi_str_eq(old ? old : "", now ? now : ""))
        pdi_buf_printf(b, "  %s: unchanged\n", what);
    else
        pdi_buf_printf(b, "  %s: CHANGED (%s -> %s)\n", what, old ? old : "(none)",
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
    int rc = dry_run(flow, cfg, NULL, &r);
    if (rc) {
        char *msg = pdi_strdup(pd_last_error());
        pdi_run_free(&r);
        pd_set_error(rc, "%s", msg ? msg : "explain failed");
        free(msg);
        return rc;
    }
    pdi_trun *tr = &r.t[t->id];
    pd_task_meta m;
    memset(&m, 0, sizeof m);
    bool found = false;
    if (!r.no_metadata)
        rc = pdi_meta_latest_task(r.store, t->table, t->stage->name, NULL, true, &m, &found);
    pd_buf b = PD_BUF_INIT;
    if (!rc) {
        pdi_buf_printf(&b, "%s.%s: %s\n", t->stage->name, t->name,
                       tr->would_run || !tr->cache_valid ? "would run" : "cache valid");
        if (!found) {
            pdi_buf_puts(&b, "  no committed run of this task in this stage\n");
        } else {
            pd_jval *v =
                m.output_json ? pdi_json_parse(m.output_json, strlen(m.output_json)) : NULL;
            const pd_jval *key = v ? pdi_jval_get(v, "key") : NULL;
            const char *old_ver = key ? pdi_jval_str(pdi_jval_get(key, "version")) : m.version;
            const char *now_ver =
                t->version ? t->version : (t->kind == PD_TASK_LOAD ? "load" : "None");
            explain_cmp(&b, "version", old_ver, now_ver);
            /* inputs */
            const pd_jval *oi = key ? pdi_jval_get(key, "inputs") : NULL;
            pd_jval *ni =
                tr->inputs_json ? pdi_json_parse(tr->inputs_json, strlen(tr->inputs_json)) : NULL;
            for (size_t i = 0; ni && ni->type == PD_J_OBJ && i < ni->n; i++) {
                char *what = pdi_asprintf("input %s", ni->keys[i]);
                explain_cmp(&b, what ? what : "input",
                            oi ? pdi_jval_str(pdi_jval_get(oi, ni->keys[i])) : NULL,
                            pdi_jval_str(ni->items[i]));
                free(what);
            }
            for (size_t i = 0; oi && oi->type == PD_J_OBJ && i < oi->n; i++)
                if (!ni || !pdi_jval_get(ni, oi->keys[i]))
                    pdi_buf_printf(&b, "  input %s: REMOVED\n", oi->keys[i]);
            pdi_jval_free(ni);
            explain_cmp(&b, "cache function", m.cache_fn_hash, tr->cache_fn_hash);
            char *chk = pdi_checks_json(t);
            explain_cmp(&b, "checks", key ? pdi_jval_str(pdi_jval_get(key, "checks")) : NULL, chk);
            free(chk);
            char *mat = pdi_materialization_json(t);
            explain_cmp(&b, "primary key and indexes",
                        key ? pdi_jval_str(pdi_jval_get(key, "materialization")) : NULL, mat);
            free(mat);
            const pd_jval *oq = key ? pdi_jval_get(key, "query_hash") : NULL;
            for (size_t i = 0; i < tr->n_outs; i++)
                if (tr->outs[i].query_hash) {
                    char *what = pdi_asprintf("query of %s", tr->outs[i].name);
                    explain_cmp(&b, what ? what : "query",
                                oq ? pdi_jval_str(pdi_jval_get(oq, tr->outs[i].name)) : NULL,
                                tr->outs[i].query_hash);
                    free(what);
                }
            if (!t->version && !t->lazy && t->kind == PD_TASK_C)
                pdi_buf_puts(&b, "  (no version: computed task always runs)\n");
            pdi_jval_free(v);
        }
    }
    pdi_task_meta_clear(&m);
    pdi_run_free(&r);
    if (rc || b.oom) {
        pdi_buf_free(&b);
        return rc ? rc : PD_ERR_NOMEM;
    }
    *report = pdi_buf_detach(&b);
    return PD_OK;
}

/* The states recorded by the newest run of the flow (see record_run in
 * run.c), one per task in flow order; false when there is no record. */
static bool run_record_states(pd_store *s, pd_flow *flow, pd_task_state *states, size_t n)
{
    char *name = pdi_run_record_name(flow);
    pd_task_meta m;
    memset(&m, 0, sizeof m);
    bool found = false;
    if (!name ||
        pdi_meta_latest_task(s, name, PDI_RUN_RECORD_STAGE, NULL, false, &m, &found) != PD_OK) {
        pd_clear_error();
        found = false;
    }
    free(name);
    pd_jval *v =
        found && m.output_json ? pdi_json_parse(m.output_json, strlen(m.output_json)) : NULL;
    const pd_jval *sv = v ? pdi_jval_get(v, "states") : NULL;
    bool ok = sv && sv->type == PD_J_OBJ;
    for (size_t i = 0; ok && i < n && i < flow->n_tasks; i++) {
        pd_task *t = flow->tasks[i];
        char *key = pdi_asprintf("%s.%s", t->stage->name, t->name);
        const char *st = key ? pdi_jval_str(pdi_jval_get(sv, key)) : NULL;
        free(key);
        for (int k = PD_STATE_NOT_RUN; st && k <= PD_STATE_FAILED; k++)
            if (strcmp(st, pd_task_state_name((pd_task_state)k)) == 0)
                states[i] = (pd_task_state)k;
    }
    pdi_jval_free(v);
    pdi_task_meta_clear(&m);
    return ok;
}

int pd_last_states(pd_flow *flow, const pd_config *cfg, pd_task_state *states, size_t n)
{
    if (!flow || !cfg || (!states && n))
        return pd_set_error(PD_ERR_INVALID, "pd_last_states: bad argument");
    for (size_t i = 0; i < n; i++)
        states[i] = PD_STATE_NOT_RUN;
    if (!flow->finalized) {
        int rc = pd_flow_finalize(flow);
        if (rc)
            return rc;
    }
    pd_store *s = NULL;
    int rc = pdi_store_open(cfg, &s);
    bool ok = true, no_metadata = false;
    if (!rc)
        rc = pdi_meta_setup_readonly(s, &ok, &no_metadata);
    /* tasks outside the last run keep their last committed state */
    for (size_t i = 0; !rc && !no_metadata && i < n && i < flow->n_tasks; i++) {
        pd_task *t = flow->tasks[i];
        pd_task_meta m;
        memset(&m, 0, sizeof m);
        bool found = false;
        rc = pdi_meta_latest_task(s, t->table, t->stage->name, NULL, true, &m, &found);
        if (!rc && found) {
            states[i] = PD_STATE_COMPLETED;
            if (m.output_json && strstr(m.output_json, "\"state\":\"cache_valid\""))
                states[i] = PD_STATE_CACHE_VALID;
        }
        pdi_task_meta_clear(&m);
    }
    if (!rc && !no_metadata)
        run_record_states(s, flow, states, n);
    pdi_store_close(s);
    return rc;
}
