/*
 * pipedag/pipedag.h - umbrella header: flows, stages, tasks, computed-task
 * context, configuration and runs.
 *
 * A flow is a list of stages; a stage is a group of tasks and one schema in
 * the table store; a task has a name, an optional version, inputs and a body
 * (SQL, raw SQL script, CSV load, view, external table, or a C function).
 * Build a flow with this API (or load a flow file with pd_flow_load), load a
 * configuration with pd_config_load, then call pd_run.
 *
 * Ownership: pd_flow owns its stages and tasks (returned pointers are
 * borrowed and valid until pd_flow_free). Strings passed in are copied.
 */
#ifndef PIPEDAG_PIPEDAG_H
#define PIPEDAG_PIPEDAG_H

#include "arrow.h"
#include "common.h"
#include "config.h"
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pd_flow pd_flow;
typedef struct pd_stage pd_stage;
typedef struct pd_task pd_task;
typedef struct pd_task_ctx pd_task_ctx;
typedef struct pd_result pd_result;

/* ------------------------------------------------------------------ flows */

PD_API pd_flow *pd_flow_new(const char *name);
PD_API void pd_flow_free(pd_flow *flow);
PD_API const char *pd_flow_name(const pd_flow *flow);
/* Where the flow was loaded from (NULL for flows built in C). Relative paths
 * of tasks (sql_file, load, library) are resolved against its directory. */
PD_API const char *pd_flow_file(const pd_flow *flow);
PD_API void pd_flow_set_file(pd_flow *flow, const char *path);

/* Stages run in the order they are added. Names are normalized (lower-case,
 * trimmed, '/' -> '_'); a duplicate name is an error (NULL + pd_last_error). */
PD_API pd_stage *pd_flow_add_stage(pd_flow *flow, const char *name);
PD_API size_t pd_flow_stage_count(const pd_flow *flow);
PD_API pd_stage *pd_flow_stage(const pd_flow *flow, size_t i);
PD_API pd_stage *pd_flow_find_stage(const pd_flow *flow, const char *name);
PD_API const char *pd_stage_name(const pd_stage *stage);
PD_API size_t pd_stage_task_count(const pd_stage *stage);
PD_API pd_task *pd_stage_task(const pd_stage *stage, size_t i);
/* Find "task" or "stage.task". */
PD_API pd_task *pd_flow_find_task(const pd_flow *flow, const char *ref);

/* Finish construction: resolve every input reference ({{ t }} and
 * {{ stage.t }} in SQL, declared inputs), check for unknown references,
 * duplicate table names within a stage and cycles, and order the tasks.
 * Errors name the flow file and line when the task has one. Must be called
 * before pd_run; no changes afterwards. */
PD_API int pd_flow_finalize(pd_flow *flow);

/* ------------------------------------------------------------------ tasks */

typedef enum pd_task_kind {
    PD_TASK_SQL,      /* SELECT text (lazy): one table named after the task */
    PD_TASK_RAW_SQL,  /* script creating several objects in {{ this_stage }} (lazy) */
    PD_TASK_LOAD,     /* CSV file read into a table; cache follows file content */
    PD_TASK_VIEW,     /* a view over other tables */
    PD_TASK_EXTERNAL, /* an existing table outside pipedag */
    PD_TASK_C         /* computed task: a C function */
} pd_task_kind;

/* SQL may reference tables as {{ table }} or {{ stage.table }}; the table
 * produced by a task is named after the task. */
PD_API pd_task *pd_stage_add_sql(pd_stage *stage, const char *name, const char *sql);
/* Raw SQL script; {{ this_stage }} expands to the stage's (transaction)
 * schema, {{ t }} / {{ stage.t }} as above. Statements are separated by ';'. */
PD_API pd_task *pd_stage_add_raw_sql(pd_stage *stage, const char *name, const char *script);
/* Load a file or a glob of files (CSV, plain or gzip/zstd/bzip2/xz
 * compressed, or Parquet) into a table; CSV column types are inferred from a
 * sample of rows unless given. A glob makes one table per file (named after
 * the file without its suffixes) unless the options say union. */
PD_API pd_task *pd_stage_add_load(pd_stage *stage, const char *name, const char *csv_path);
/* Options of a load task as a JSON object (see docs/config.md, `load:`):
 * {"columns": {"age": "int32"}, "delimiter": ";", "quote": "\"", "header": true,
 *  "null": "NA", "encoding": "latin-1", "format": "auto|csv|parquet",
 *  "sample_rows": 20000 or "all", "union": true}. Checked now; part of the key. */
PD_API int pd_task_set_load_options(pd_task *task, const char *json);
/* View: union (ALL) of the listed sources ("t" or "stage.t"). */
PD_API pd_task *
pd_stage_add_view(pd_stage *stage, const char *name, const char *const *sources, size_t n_sources);
/* Shape of a view (PIPEDAG_SEMANTICS.md §1.3) as a JSON object, applied to
 * the union of its sources; part of the view's cache key:
 *   {"columns": ["a", {"new_name": "source_col"}]  (or a mapping, or one name),
 *    "sort_by": ["a", {"column": "b", "order": "desc", "nulls_first": true}],
 *    "limit": 10}
 * Sort columns name source columns; nulls sort last unless nulls_first.
 * Rows that tie on every sort column keep no defined order between them
 * (as in SQL): sort on a key when a limit must pick the same rows
 * everywhere. Checked now (PD_ERR_INVALID naming the task). */
PD_API int pd_task_set_view_options(pd_task *task, const char *json);
/* External table: schema.table that exists in the store, not made by pipedag. */
PD_API pd_task *
pd_stage_add_external(pd_stage *stage, const char *name, const char *schema, const char *table);

/* Computed task. Return PD_OK, or an error code after pd_set_error(). */
typedef int (*pd_task_fn)(pd_task_ctx *ctx, void *user_data);
PD_API pd_task *pd_stage_add_c(pd_stage *stage, const char *name, pd_task_fn fn, void *user_data);
/* Computed task from a shared library (flow files: `c: {library, symbol}`),
 * resolved with dlopen/dlsym at run time. */
PD_API pd_task *
pd_stage_add_c_symbol(pd_stage *stage, const char *name, const char *library, const char *symbol);

/* Version: NULL (default) = for computed tasks, always run (fresh cache key
 * each run); a string = reuse the cached output while name, version, inputs
 * and cache-function output are unchanged. For SQL tasks it is part of the
 * task hash. */
PD_API int pd_task_set_version(pd_task *task, const char *version);
/* Inputs of computed tasks ("t" or "stage.t"); SQL tasks get theirs from
 * their {{ }} references automatically. */
PD_API int pd_task_add_input(pd_task *task, const char *ref);
/* Tables a computed or raw SQL task produces under names other than its own
 * (so that consumers can reference them as {{ t }} / {{ stage.t }}). Raw SQL
 * scripts declare theirs implicitly with CREATE TABLE {{ this_stage }}.t. */
PD_API int pd_task_add_output(pd_task *task, const char *name);
/* A computed task that only returns SQL (pd_ctx_output_sql) may be lazy:
 * it runs every time and its tables are cached by query hash. */
PD_API int pd_task_set_lazy(pd_task *task, bool lazy);
/* Cache function (computed tasks): its output is hashed into the task key,
 * for tasks whose real input is outside pipedag (files, dates). The function
 * writes a string into *out (malloc'd; the core frees it). */
typedef int (*pd_cache_fn)(pd_task_ctx *ctx, void *user_data, char **out);
PD_API int pd_task_set_cache_fn(pd_task *task, pd_cache_fn fn, void *user_data);
/* Primary key columns and indexes of the task's table(s). */
PD_API int pd_task_set_primary_key(pd_task *task, const char *const *cols, size_t n);
PD_API int pd_task_add_index(pd_task *task, const char *const *cols, size_t n);
/* Column checks (docs/checks.md), run as SQL in the store on every table
 * the task materializes, after it is written and before its primary key is
 * created (a primary key is itself checked as not null and unique first).
 * A failing check fails the task with the check, the column and up to 5
 * offending values; the stage is then not committed. Checks are part of
 * the task's cache key.
 *   values: JSON scalars - numbers (0, 1.5), strings ("\"a\""), true/false.
 *   PD_CHECK_NOT_NULL, PD_CHECK_UNIQUE: no values (NULLs are not compared
 *     by unique);
 *   PD_CHECK_MIN, PD_CHECK_MAX: one value (inclusive bound);
 *   PD_CHECK_ACCEPTED_VALUES: one or more values (NULL is accepted; add
 *     not_null to refuse it);
 *   PD_CHECK_REFERENCES: one value, "stage.table.column" or "table.column"
 *     as a plain string (not JSON): every non-NULL value must occur in that
 *     column; the table becomes an input of the task. */
typedef enum pd_check_kind {
    PD_CHECK_NOT_NULL = 0,
    PD_CHECK_UNIQUE,
    PD_CHECK_MIN,
    PD_CHECK_MAX,
    PD_CHECK_ACCEPTED_VALUES,
    PD_CHECK_REFERENCES
} pd_check_kind;
PD_API int pd_task_add_check(pd_task *task,
                             const char *column,
                             pd_check_kind kind,
                             const char *const *values,
                             size_t n_values);
/* "not_null", "unique", "min", "max", "accepted_values", "references". */
PD_API const char *pd_check_kind_name(pd_check_kind kind);
PD_API int pd_check_kind_from_name(const char *name, pd_check_kind *out);
/* Where the task was declared (flow files), used in error messages. */
PD_API void pd_task_set_origin(pd_task *task, const char *file, int line);

PD_API const char *pd_task_name(const pd_task *task);
PD_API pd_task_kind pd_task_get_kind(const pd_task *task);
PD_API pd_stage *pd_task_stage(const pd_task *task);
PD_API const char *pd_task_version(const pd_task *task); /* NULL if none */
/* Upstream tasks (valid after pd_flow_finalize). */
PD_API size_t pd_task_input_count(const pd_task *task);
PD_API pd_task *pd_task_input(const pd_task *task, size_t i);

/* --------------------------------------------------- computed-task context */

PD_API const char *pd_ctx_task_name(const pd_task_ctx *ctx);
PD_API const char *pd_ctx_stage_name(const pd_task_ctx *ctx);
/* Read an input table ("t" or "stage.t") as an Arrow stream. */
PD_API int pd_ctx_read_table(pd_task_ctx *ctx, const char *ref, struct ArrowArrayStream *out);
/* Physical, quoted SQL name of an input table, for tasks that return SQL.
 * Borrowed; valid during the call. */
PD_API const char *pd_ctx_table_sql_name(pd_task_ctx *ctx, const char *ref);
/* Output a table computed in memory; takes ownership of the stream. */
PD_API int pd_ctx_output_table(pd_task_ctx *ctx, const char *name, struct ArrowArrayStream *in);
/* Output a table defined by a SELECT ({{ }} references allowed). */
PD_API int pd_ctx_output_sql(pd_task_ctx *ctx, const char *name, const char *select_sql);
/* Output a blob (non-table data), stored in the blob store with the stage. */
PD_API int pd_ctx_output_blob(pd_task_ctx *ctx, const char *name, const void *data, size_t len);
/* Read a blob written by an upstream task ("name" or "stage.name"). *data is
 * malloc'd; the caller frees it. */
PD_API int pd_ctx_read_blob(pd_task_ctx *ctx, const char *ref, void **data, size_t *len);
/* Output a literal value (canonical JSON text); consumers see it through
 * pd_ctx_read_value and it is part of their cache key. */
PD_API int pd_ctx_output_value(pd_task_ctx *ctx, const char *json);
PD_API const char *pd_ctx_read_value(pd_task_ctx *ctx, const char *task_ref);

/* ------------------------------------------------------------------- runs */

typedef enum pd_cache_mode {
    PD_CACHE_DEFAULT = -1, /* use the config's cache_validation.mode */
    PD_CACHE_NORMAL = 0,
    PD_CACHE_ASSERT_NO_FRESH_INPUT,
    PD_CACHE_IGNORE_FRESH_INPUT,
    PD_CACHE_FORCE_FRESH_INPUT,
    PD_CACHE_FORCE_CACHE_INVALID
} pd_cache_mode;
PD_API int pd_cache_mode_from_name(const char *name, pd_cache_mode *out);
PD_API const char *pd_cache_mode_name(pd_cache_mode mode);

typedef enum pd_task_state {
    PD_STATE_NOT_RUN = 0,
    PD_STATE_COMPLETED,
    PD_STATE_CACHE_VALID,
    PD_STATE_FAILED
} pd_task_state;
PD_API const char *pd_task_state_name(pd_task_state s); /* "completed", "cache_valid", ... */

/* Progress callback: called on the engine's thread after each task ends. */
typedef void (*pd_progress_fn)(
    void *user, const pd_task *task, pd_task_state state, size_t done, size_t total);

#define PD_RUN_OPTIONS_VERSION 1
typedef struct pd_run_options {
    int version;               /* PD_RUN_OPTIONS_VERSION */
    const char *const *stages; /* stage subset (run + commit); NULL = all */
    size_t n_stages;
    const char *const *tasks; /* task subset ("t" or "stage.t"): run, never commit */
    size_t n_tasks;
    pd_cache_mode cache_mode;   /* PD_CACHE_DEFAULT = from config */
    int disable_cache_function; /* -1 = from config */
    int ignore_task_version;    /* -1 = from config */
    int jobs;                   /* 0 = from config (orchestration); 1 = sequential; N = N workers */
    int fail_fast;              /* -1 = from config */
    pd_progress_fn progress;
    void *progress_user;
} pd_run_options;
#define PD_RUN_OPTIONS_INIT                                                                   \
    {                                                                                         \
        PD_RUN_OPTIONS_VERSION, NULL, 0, NULL, 0, PD_CACHE_DEFAULT, -1, -1, 0, -1, NULL, NULL \
    }

/* Run the flow on the instance `cfg`. Returns PD_OK when every selected task
 * succeeded, PD_ERR_TASK when some failed (details in the result), another
 * code when the run could not start (config, store, lock). *out is set
 * whenever the run started; free it with pd_result_free. */
PD_API int pd_run(pd_flow *flow, const pd_config *cfg, const pd_run_options *opts, pd_result **out);

PD_API bool pd_result_successful(const pd_result *r);
PD_API size_t pd_result_count(const pd_result *r);
PD_API const pd_task *pd_result_task(const pd_result *r, size_t i);
PD_API pd_task_state pd_result_state(const pd_result *r, size_t i);
PD_API const char *pd_result_error(const pd_result *r, size_t i); /* NULL unless failed */
PD_API double pd_result_seconds(const pd_result *r);
/* The result as JSON: {"flow":..,"instance":..,"successful":..,"seconds":..,
 * "tasks":[{"stage":..,"task":..,"state":..,"error":..},...]} (malloc'd). */
PD_API char *pd_result_json(const pd_result *r);
PD_API void pd_result_free(pd_result *r);

/* What would run and why, without running anything (`pipedag show`): one
 * line per task: "stage.task: <would run|cache valid> (<reason>)". */
PD_API int pd_show(pd_flow *flow, const pd_config *cfg, char **report);
/* pd_show for a run with these options (stage or task subset, cache mode;
 * NULL = defaults): lists the selected tasks only. Neither writes anything:
 * on a fresh instance no metadata is created and every task would run. */
PD_API int
pd_show_v2(pd_flow *flow, const pd_config *cfg, const pd_run_options *opts, char **report);
/* Which part of the task's cache key changed since the last committed run
 * (`pipedag explain`): version, inputs (which), cache function, query. */
PD_API int pd_explain(pd_flow *flow, const pd_config *cfg, const char *task_ref, char **report);
/* State of every task in the last run of the flow (for visualization; a
 * failed run shows its failed tasks): fills states[i] for the i-th task in
 * flow order. Tasks outside the last run (stage or task subsets) have their
 * last committed state, unknown ones PD_STATE_NOT_RUN. Writes nothing. */
PD_API int pd_last_states(pd_flow *flow, const pd_config *cfg, pd_task_state *states, size_t n);

/* ---------------------------------------------------------- flow files */

/* Load a flow file (YAML + SQL). Errors carry "file:line:column: ...". */
PD_API int pd_flow_load(const char *path, pd_flow **out);

#ifdef __cplusplus
}
#endif
#endif
