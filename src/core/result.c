/*
 * core/result.c - the result of a run (pd_result_*): per selected task its
 * state and error, and the JSON form printed by `pipedag run --json`.
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

pd_result *pdi_make_result(pdi_run *r, double secs)
{
    pd_flow *f = r->flow;
    pd_result *res = pdi_calloc(1, sizeof *res);
    if (!res)
        return NULL;
    res->flow = f;
    res->instance = pdi_strdup(r->cfg->instance ? r->cfg->instance : "");
    res->seconds = secs;
    res->tasks = pdi_calloc(f->n_tasks + 1, sizeof *res->tasks);
    res->states = pdi_calloc(f->n_tasks + 1, sizeof *res->states);
    res->errors = pdi_calloc(f->n_tasks + 1, sizeof *res->errors);
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
    pdi_json_init(&j);
    pdi_json_obj_begin(&j);
    pdi_json_key(&j, "flow");
    pdi_json_str(&j, r->flow->name);
    pdi_json_key(&j, "instance");
    pdi_json_str(&j, r->instance);
    pdi_json_key(&j, "seconds");
    pdi_json_double(&j, r->seconds);
    pdi_json_key(&j, "successful");
    pdi_json_bool(&j, r->ok);
    pdi_json_key(&j, "tasks");
    pdi_json_arr_begin(&j);
    for (size_t i = 0; i < r->n; i++) {
        pdi_json_obj_begin(&j);
        pdi_json_key(&j, "error");
        pdi_json_str(&j, r->errors[i]);
        pdi_json_key(&j, "stage");
        pdi_json_str(&j, r->tasks[i]->stage->name);
        pdi_json_key(&j, "state");
        pdi_json_str(&j, pd_task_state_name(r->states[i]));
        pdi_json_key(&j, "task");
        pdi_json_str(&j, r->tasks[i]->name);
        pdi_json_obj_end(&j);
    }
    pdi_json_arr_end(&j);
    pdi_json_obj_end(&j);
    return pdi_json_finish(&j);
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
