/*
 * tests/acceptance/tasks_lib.c - a shared library with computed tasks, loaded
 * by the core through dlopen/dlsym (pd_stage_add_c_symbol).
 */
#include "pipedag/pipedag.h"

int pd_acc_lib_calls;

int pd_acc_lib_task(pd_task_ctx *ctx, void *user);
int pd_acc_lib_task(pd_task_ctx *ctx, void *user)
{
    (void)user;
    pd_acc_lib_calls++;
    return pd_ctx_output_sql(ctx, NULL, "SELECT 'from_lib' AS origin");
}
