/*
 * examples/c_api/main.c - building and running a flow with the C API instead
 * of a flow file: a SQL task, a computed task that reads its input as an
 * Arrow stream and returns a new Arrow table, and a SQL task over the
 * computed table. The flow runs twice; the second run is fully cached.
 * Uses the default configuration (SQLite store under ./.pipedag/) unless a
 * pipedag.yaml is found.
 */
#include <pipedag/pipedag.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* squares: n -> (n, n*n), computed in C on Arrow data. */
static int squares(pd_task_ctx *ctx, void *user)
{
    (void)user;
    struct ArrowArrayStream in;
    int rc = pd_ctx_read_table(ctx, "seq", &in);
    if (rc)
        return rc;
    struct ArrowSchema schema;
    if (in.get_schema(&in, &schema) != 0) {
        in.release(&in);
        return pd_set_error(PD_ERR, "squares: cannot read the input schema");
    }
    pd_arrow_builder *b = NULL;
    rc = pd_arrow_builder_new(&b);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "n", "l", 0);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "sq", "l", 0);
    while (!rc) {
        struct ArrowArray batch;
        if (in.get_next(&in, &batch) != 0) {
            rc = pd_set_error(PD_ERR, "squares: cannot read a batch");
            break;
        }
        if (!batch.release)
            break; /* end of stream */
        for (int64_t i = 0; !rc && i < batch.length; i++) {
            int64_t n = pd_arrow_get_int(schema.children[0], batch.children[0], i);
            rc = pd_arrow_builder_append_int(b, 0, n);
            if (!rc)
                rc = pd_arrow_builder_append_int(b, 1, n * n);
        }
        batch.release(&batch);
    }
    schema.release(&schema);
    in.release(&in);
    struct ArrowSchema out_schema;
    struct ArrowArray out_batch;
    struct ArrowArrayStream out;
    if (!rc)
        rc = pd_arrow_builder_finish(b, &out_schema, &out_batch);
    pd_arrow_builder_free(b);
    if (!rc)
        rc = pd_arrow_stream_from_batches(&out_schema, &out_batch, 1, &out);
    if (!rc)
        rc = pd_ctx_output_table(ctx, NULL, &out); /* table named after the task */
    return rc;
}

static pd_flow *build_flow(void)
{
    pd_flow *flow = pd_flow_new("c_api_example");
    pd_stage *numbers = flow ? pd_flow_add_stage(flow, "numbers") : NULL;
    pd_stage *report = flow ? pd_flow_add_stage(flow, "report") : NULL;
    if (!numbers || !report)
        goto fail;
    if (!pd_stage_add_sql(numbers, "seq",
                          "SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4"))
        goto fail;
    pd_task *sq = pd_stage_add_c(numbers, "squares", squares, NULL);
    if (!sq || pd_task_add_input(sq, "seq") || pd_task_set_version(sq, "1"))
        goto fail;
    const char *pk[] = {"n"};
    if (pd_task_set_primary_key(sq, pk, 1))
        goto fail;
    if (!pd_stage_add_sql(report, "total",
                          "SELECT SUM(sq) AS total, COUNT(*) AS rows FROM {{ numbers.squares }}"))
        goto fail;
    if (pd_flow_finalize(flow))
        goto fail;
    return flow;
fail:
    fprintf(stderr, "building the flow failed: %s\n", pd_last_error());
    pd_flow_free(flow);
    return NULL;
}

static int run_once(pd_flow *flow, const pd_config *cfg, const char *label)
{
    pd_run_options opts = PD_RUN_OPTIONS_INIT;
    pd_result *res = NULL;
    int rc = pd_run(flow, cfg, &opts, &res);
    if (!res) {
        fprintf(stderr, "%s: run failed: %s\n", label, pd_last_error());
        return 1;
    }
    size_t ran = 0, cached = 0, failed = 0;
    for (size_t i = 0; i < pd_result_count(res); i++) {
        pd_task_state s = pd_result_state(res, i);
        ran += s == PD_STATE_COMPLETED;
        cached += s == PD_STATE_CACHE_VALID;
        if (s == PD_STATE_FAILED) {
            failed++;
            fprintf(stderr, "task %s failed: %s\n", pd_task_name(pd_result_task(res, i)),
                    pd_result_error(res, i));
        }
    }
    printf("%s: %zu ran, %zu cache-valid, %zu failed\n", label, ran, cached, failed);
    pd_result_free(res);
    return rc == PD_OK && failed == 0 ? 0 : 1;
}

int main(void)
{
    pd_config *cfg = NULL;
    if (pd_config_load(NULL, NULL, &cfg) != PD_OK) {
        fprintf(stderr, "config: %s\n", pd_last_error());
        return 1;
    }
    pd_flow *flow = build_flow();
    int ex = 1;
    if (flow && run_once(flow, cfg, "first run") == 0 && run_once(flow, cfg, "second run") == 0)
        ex = 0;
    pd_flow_free(flow);
    pd_config_free(cfg);
    return ex;
}
