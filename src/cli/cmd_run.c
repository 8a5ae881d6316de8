/*
 * cli/cmd_run.c - `pipedag run`, `pipedag show`, `pipedag explain`: load the
 * config and the flow file, run (with a progress line on a terminal and a
 * one-line summary on stderr), or report cache decisions without running.
 */
#include "cli/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct progress {
    bool tty;
    size_t width;
} progress;

static void
on_progress(void *user, const pd_task *task, pd_task_state state, size_t done, size_t total)
{
    progress *p = user;
    if (!p->tty) {
        return;
    }
    const pd_stage *s = pd_task_stage(task);
    char line[512];
    int n = snprintf(line, sizeof line, "[%zu/%zu] %s.%s: %s", done, total,
                     s ? pd_stage_name(s) : "?", pd_task_name(task), pd_task_state_name(state));
    if (n < 0) {
        return;
    }
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    fprintf(stderr, "\r%s%*s", line, p->width > len ? (int)(p->width - len) : 0, "");
    p->width = len;
    if (state == PD_STATE_FAILED) {
        fputc('\n', stderr);
        p->width = 0;
    }
    fflush(stderr);
}

/* The config and the flow file (first positional argument) of run, show and
 * explain; errors are printed. The caller frees both, also on failure. */
static int load_config_and_flow(const pdc_opts *o, pd_config **cfg, pd_flow **flow)
{
    int rc = pdc_load_config(o, cfg);
    if (rc != PD_OK) {
        return rc;
    }
    rc = pd_flow_load(o->args.items[0], flow);
    if (rc != PD_OK) {
        pdc_error(NULL);
    }
    return rc;
}

/* --json when the run could not start: still exactly one object. */
static void print_error_json(const pd_flow *flow, const pd_config *cfg, double secs)
{
    char *msg = pdi_strdup(pd_last_error());
    pd_json j;
    pdi_json_init(&j);
    pdi_json_obj_begin(&j);
    pdi_json_key(&j, "error");
    pdi_json_str(&j, msg ? msg : "run could not start");
    pdi_json_key(&j, "flow");
    pdi_json_str(&j, flow ? pd_flow_name(flow) : NULL);
    pdi_json_key(&j, "instance");
    pdi_json_str(&j, cfg ? cfg->instance : NULL);
    pdi_json_key(&j, "seconds");
    pdi_json_double(&j, secs);
    pdi_json_key(&j, "successful");
    pdi_json_bool(&j, false);
    pdi_json_key(&j, "tasks");
    pdi_json_arr_begin(&j);
    pdi_json_arr_end(&j);
    pdi_json_obj_end(&j);
    char *text = pdi_json_finish(&j);
    if (text) {
        puts(text);
        free(text);
    }
    free(msg);
}

int pdc_cmd_run(int argc, char **argv)
{
    pdc_opts o;
    int ex = pdc_parse_args(argc, argv,
                            "config,instance,stage,task,cache,jobs,fail-fast,no-fail-fast,json", 1,
                            "run: expected exactly one flow file", &o);
    if (ex != PDC_EXIT_OK) {
        return ex;
    }
    pd_run_options ro = PD_RUN_OPTIONS_INIT;
    if (o.cache && pd_cache_mode_from_name(o.cache, &ro.cache_mode) != PD_OK) {
        pdc_opts_free(&o);
        return pdc_usage("run: unknown cache mode '%s' (normal, assert_no_fresh_input, "
                         "ignore_fresh_input, force_fresh_input, force_cache_invalid)",
                         o.cache);
    }
    pd_config *cfg = NULL;
    pd_flow *flow = NULL;
    pd_result *res = NULL;
    size_t ran = 0, cached = 0, failed = 0;
    double t0 = pdi_now_seconds(), secs = 0;
    ex = PDC_EXIT_FAIL;
    if (load_config_and_flow(&o, &cfg, &flow) != PD_OK) {
        goto out;
    }
    ro.stages = (const char *const *)o.stages.items;
    ro.n_stages = o.stages.n;
    ro.tasks = (const char *const *)o.tasks.items;
    ro.n_tasks = o.tasks.n;
    ro.jobs = o.jobs;
    ro.fail_fast = o.fail_fast;
    progress prog = {isatty(STDERR_FILENO) != 0, 0};
    ro.progress = on_progress;
    ro.progress_user = &prog;
    int rc = pd_run(flow, cfg, &ro, &res);
    if (prog.tty && prog.width) {
        fprintf(stderr, "\r%*s\r", (int)prog.width, "");
    }
    if (!res) {
        pdc_error("run");
        goto out;
    }
    for (size_t i = 0; i < pd_result_count(res); i++) {
        pd_task_state st = pd_result_state(res, i);
        ran += st == PD_STATE_COMPLETED;
        cached += st == PD_STATE_CACHE_VALID;
        if (st == PD_STATE_FAILED) {
            failed++;
            const pd_task *t = pd_result_task(res, i);
            const pd_stage *s = pd_task_stage(t);
            const char *err = pd_result_error(res, i);
            fprintf(stderr, "pipedag: task %s.%s failed: %s\n", s ? pd_stage_name(s) : "?",
                    pd_task_name(t), err ? err : "(no message)");
        }
    }
    if (o.json) {
        char *js = pd_result_json(res);
        if (js) {
            fputs(js, stdout);
            fputc('\n', stdout);
            free(js);
        }
    }
    if (rc != PD_OK && rc != PD_ERR_TASK) {
        pdc_error("run");
    }
    ex = rc == PD_OK && failed == 0 && pd_result_successful(res) ? PDC_EXIT_OK : PDC_EXIT_FAIL;
out:
    /* the summary line ends every run attempt, also one that could not start */
    secs = res && pd_result_seconds(res) > 0 ? pd_result_seconds(res) : pdi_now_seconds() - t0;
    if (o.json && !res) {
        print_error_json(flow, cfg, secs);
    }
    fprintf(stderr, "%zu ran, %zu cache-valid, %zu failed in %.2fs\n", ran, cached, failed, secs);
    pd_result_free(res);
    pd_flow_free(flow);
    pd_config_free(cfg);
    pdc_opts_free(&o);
    return ex;
}

/* show (task == NULL) or explain one task: print the report of the core. */
static int report(const pdc_opts *o, const char *task)
{
    pd_config *cfg = NULL;
    pd_flow *flow = NULL;
    char *text = NULL;
    int ex = PDC_EXIT_FAIL;
    if (load_config_and_flow(o, &cfg, &flow) != PD_OK) {
        goto out;
    }
    if (task && !pd_flow_find_task(flow, task)) {
        fprintf(stderr, "pipedag: error: explain: no task '%s' in flow %s\n", task,
                pd_flow_name(flow));
        goto out;
    }
    pd_run_options ro = PD_RUN_OPTIONS_INIT;
    ro.stages = (const char *const *)o->stages.items;
    ro.n_stages = o->stages.n;
    ro.tasks = (const char *const *)o->tasks.items;
    ro.n_tasks = o->tasks.n;
    if (o->cache && pd_cache_mode_from_name(o->cache, &ro.cache_mode) != PD_OK) {
        ex = pdc_usage("show: unknown cache mode '%s' (normal, assert_no_fresh_input, "
                       "ignore_fresh_input, force_fresh_input, force_cache_invalid)",
                       o->cache);
        goto out;
    }
    if ((task ? pd_explain(flow, cfg, task, &text) : pd_show_v2(flow, cfg, &ro, &text)) != PD_OK) {
        pdc_error(task ? "explain" : "show");
        goto out;
    }
    fputs(text ? text : "", stdout);
    ex = PDC_EXIT_OK;
out:
    free(text);
    pd_flow_free(flow);
    pd_config_free(cfg);
    return ex;
}

int pdc_cmd_show(int argc, char **argv)
{
    pdc_opts o;
    int ex = pdc_parse_args(argc, argv, "config,instance,stage,task,cache", 1,
                            "show: expected exactly one flow file", &o);
    if (ex == PDC_EXIT_OK) {
        ex = report(&o, NULL);
        pdc_opts_free(&o);
    }
    return ex;
}

int pdc_cmd_explain(int argc, char **argv)
{
    pdc_opts o;
    int ex =
        pdc_parse_args(argc, argv, "config,instance", 2,
                       "explain: expected a flow file and a task (\"task\" or \"stage.task\")", &o);
    if (ex == PDC_EXIT_OK) {
        ex = report(&o, o.args.items[1]);
        pdc_opts_free(&o);
    }
    return ex;
}
