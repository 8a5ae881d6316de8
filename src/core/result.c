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
