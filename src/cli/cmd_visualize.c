/*
 * cli/cmd_visualize.c - `pipedag visualize FLOW`: Graphviz DOT of the flow
 * (stages as clusters, tasks coloured by their last committed state:
 * completed #adef9b, cache valid #e8ffc6, failed #ff453a, not run white),
 * written as DOT or converted to SVG by running graphviz `dot -Tsvg`.
 */
#include "cli/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void dot_id(pd_buf *b, const char *s)
{
    pdi_buf_putc(b, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            pdi_buf_putc(b, '\\');
        }
        pdi_buf_putc(b, *p == '\n' ? ' ' : *p);
    }
    pdi_buf_putc(b, '"');
}

static const char *state_color(pd_task_state s)
{
    switch (s) {
    case PD_STATE_COMPLETED: return "#adef9b";
    case PD_STATE_CACHE_VALID: return "#e8ffc6";
    case PD_STATE_FAILED: return "#ff453a";
    default: return "#ffffff";
    }
}

static void task_id(pd_buf *b, const pd_task *t)
{
    char *id = pdi_asprintf("%s.%s", pd_stage_name(pd_task_stage(t)), pd_task_name(t));
    dot_id(b, id ? id : "?");
    free(id);
}

/* DOT text for the flow; states[i] for the i-th task in stage order. */
static char *flow_dot(const pd_flow *flow, const pd_task_state *states)
{
    pd_buf b = PD_BUF_INIT;
    pdi_buf_puts(&b, "digraph ");
    dot_id(&b, pd_flow_name(flow));
    pdi_buf_puts(&b, " {\n  compound=true;\n  rankdir=TB;\n"
                     "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", "
                     "fontname=\"Helvetica\"];\n");
    size_t k = 0;
    for (size_t si = 0; si < pd_flow_stage_count(flow); si++) {
        const pd_stage *s = pd_flow_stage(flow, si);
        pdi_buf_printf(&b, "  subgraph \"cluster_%zu\" {\n    label=", si);
        dot_id(&b, pd_stage_name(s));
        pdi_buf_puts(&b, ";\n    style=rounded;\n");
        for (size_t ti = 0; ti < pd_stage_task_count(s); ti++, k++) {
            const pd_task *t = pd_stage_task(s, ti);
            pdi_buf_puts(&b, "    ");
            task_id(&b, t);
            pdi_buf_puts(&b, " [label=");
            dot_id(&b, pd_task_name(t));
            pdi_buf_printf(&b, ", fillcolor=\"%s\"];\n", state_color(states[k]));
        }
        pdi_buf_puts(&b, "  }\n");
    }
    for (size_t si = 0; si < pd_flow_stage_count(flow); si++) {
        const pd_stage *s = pd_flow_stage(flow, si);
        for (size_t ti = 0; ti < pd_stage_task_count(s); ti++) {
            const pd_task *t = pd_stage_task(s, ti);
            for (size_t i = 0; i < pd_task_input_count(t); i++) {
                pdi_buf_puts(&b, "  ");
                task_id(&b, pd_task_input(t, i));
                pdi_buf_puts(&b, " -> ");
                task_id(&b, t);
                pdi_buf_puts(&b, ";\n");
            }
        }
    }
    pdi_buf_puts(&b, "}\n");
    if (b.oom) {
        pdi_buf_free(&b);
        return NULL;
    }
    return pdi_buf_detach(&b);
}

/* Run `dot -Tsvg` with the DOT text on stdin, output to `out_path` (or
 * stdout when NULL). */
static int to_svg(const char *dot, const char *out_path)
{
    char tmpl[] = "/tmp/pipedag-dot-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        fprintf(stderr, "pipedag: error: cannot create a temporary file\n");
        return PDC_EXIT_FAIL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        unlink(tmpl);
        return PDC_EXIT_FAIL;
    }
    fputs(dot, f);
    fclose(f);
    pid_t pid = fork();
    if (pid < 0) {
        unlink(tmpl);
        return PDC_EXIT_FAIL;
    }
    if (pid == 0) {
        if (out_path) {
            execlp("dot", "dot", "-Tsvg", "-o", out_path, tmpl, (char *)NULL);
        } else {
            execlp("dot", "dot", "-Tsvg", tmpl, (char *)NULL);
        }
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    unlink(tmpl);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        fprintf(stderr, "pipedag: error: graphviz `dot` not found (install graphviz, or use "
                        "--format dot)\n");
        return PDC_EXIT_FAIL;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "pipedag: error: `dot -Tsvg` failed\n");
        return PDC_EXIT_FAIL;
    }
    return PDC_EXIT_OK;
}

int pdc_cmd_visualize(int argc, char **argv)
{
    pdc_opts o;
    static const char usage[] = "visualize: usage: visualize FLOW [--format dot|svg] [-o FILE]";
    int ex = pdc_parse_args(argc, argv, "config,instance,format,output", 1, usage, &o);
    if (ex != PDC_EXIT_OK) {
        return ex;
    }
    const char *fmt = o.format ? o.format : "dot";
    if (strcmp(fmt, "dot") && strcmp(fmt, "svg")) {
        pdc_opts_free(&o);
        return pdc_usage("%s", usage);
    }
    pd_config *cfg = NULL;
    pd_flow *flow = NULL;
    pd_task_state *states = NULL;
    char *dot = NULL;
    ex = PDC_EXIT_FAIL;
    if (pd_flow_load(o.args.items[0], &flow) != PD_OK) {
        pdc_error(NULL);
        goto out;
    }
    size_t n = 0;
    for (size_t si = 0; si < pd_flow_stage_count(flow); si++) {
        n += pd_stage_task_count(pd_flow_stage(flow, si));
    }
    states = pdi_calloc(n ? n : 1, sizeof *states);
    if (!states) {
        goto out;
    }
    /* States are optional: without a config or store the graph is white. */
    if (pd_config_load(o.config, o.instance, &cfg) == PD_OK) {
        if (pd_last_states(flow, cfg, states, n) != PD_OK) {
            for (size_t i = 0; i < n; i++) {
                states[i] = PD_STATE_NOT_RUN;
            }
        }
    } else if (o.config || o.instance) {
        pdc_error("config");
        goto out;
    }
    dot = flow_dot(flow, states);
    if (!dot) {
        goto out;
    }
    if (!strcmp(fmt, "svg")) {
        ex = to_svg(dot, o.output);
        goto out;
    }
    if (o.output) {
        if (pdi_file_write_atomic(o.output, dot, strlen(dot)) != PD_OK) {
            pdc_error(o.output);
            goto out;
        }
    } else {
        fputs(dot, stdout);
    }
    ex = PDC_EXIT_OK;
out:
    free(dot);
    free(states);
    pd_flow_free(flow);
    pd_config_free(cfg);
    pdc_opts_free(&o);
    return ex;
}
