/*
 * core/core_int.h - internal structures of the core: the flow graph (flows,
 * stages, tasks, references), the per-run state, and helpers shared by the
 * graph, hashing, decision and engine files of src/core.
 */
#ifndef PD_CORE_INT_H
#define PD_CORE_INT_H

#include "blob/blob.h"
#include "load/load.h"
#include "lock/lock.h"
#include "pipedag/pipedag.h"
#include "store/store.h"
#include "util/util.h"
#include <pthread.h>

/* One {{ }} reference written in SQL or declared as an input. */
typedef struct pdi_ref {
    char *text;        /* as written, normalized: "t" or "stage.t" (lower-case) */
    char *stage;       /* explicit stage part or NULL */
    char *table;       /* table part */
    pd_task *producer; /* resolved at finalize */
} pdi_ref;

/* One column check (pd_task_add_check). */
typedef struct pdi_check {
    char *column;
    pd_check_kind kind;
    pd_strv values;   /* canonical JSON scalars; references: the "stage.table.column" text */
    char *ref;        /* references: the input reference "stage.table" or "table" */
    char *ref_column; /* references: the column */
} pdi_check;

struct pd_task {
    char *name;  /* as given */
    char *table; /* normalized name (lower-case): the table an SQL task produces */
    pd_task_kind kind;
    pd_stage *stage;
    size_t id; /* index in flow->tasks (declaration order) */
    char *sql; /* SQL / raw SQL text */
    /* load: a file or a glob, and the options JSON (src/load/load.h; NULL = defaults) */
    char *csv_path;
    char *load_opts;
    pd_strv view_sources;
    char *view_opts; /* view: canonical shape JSON (store/store.h pd_view_shape) or NULL */
    char *ext_schema, *ext_table;
    pd_task_fn fn;
    void *user;
    char *library, *symbol;
    char *version; /* NULL = none */
    bool lazy;
    pd_cache_fn cache_fn;
    void *cache_user;
    pd_strv primary_key;
    pd_strv *indexes;
    size_t n_indexes;
    pdi_check *checks; /* in declaration order */
    size_t n_checks;
    char *origin_file;
    int origin_line;
    pd_strv declared_outputs; /* raw SQL CREATE targets, pd_task_add_output */
    pdi_ref *refs;            /* SQL references then declared inputs, unique by text */
    size_t n_refs, cap_refs;
    pd_task **inputs; /* unique producers, resolved */
    size_t n_inputs;
    char pos_hash[PD_HASH_LEN + 1];
    size_t topo; /* position in topological order */
};

struct pd_stage {
    char *name;
    pd_flow *flow;
    size_t id;
    pd_task **tasks;
    size_t n_tasks, cap_tasks;
};

struct pd_flow {
    char *name;
    char *file;
    pd_stage **stages;
    size_t n_stages, cap_stages;
    pd_task **tasks;
    size_t n_tasks, cap_tasks;
    bool finalized;
    size_t *order; /* node ids in topological order: tasks 0..n-1, commits n+stage */
    size_t n_order;
    size_t *adj_start; /* CSR: dependents of node v are adj[adj_start[v]..adj_start[v+1]) */
    size_t *adj;
    size_t *indeg; /* number of dependencies of each node */
    size_t *rank;  /* position of each node in order */
};

/* Nodes of the execution graph: tasks, then one commit node per stage. */
static inline size_t pdi_commit_node(const pd_flow *f, size_t stage_id)
{
    return f->n_tasks + stage_id;
}

/* ---- graph helpers (flow.c) ---- */
char *pdi_normalize_name(const char *s);
/* Describe where a task was declared: "file:line" or "" (static buffer per thread). */
const char *pdi_task_origin(const pd_task *t);
/* Parse {{ }} references in text; calls fn for each (inner text trimmed). */
typedef int (*pdi_ref_fn)(void *user, const char *inner, size_t start, size_t end);
int pdi_scan_refs(const char *text, pdi_ref_fn fn, void *user);
/* Find the reference of a task by text ("t" or "stage.t"); NULL if absent. */
const pdi_ref *pdi_task_find_ref(const pd_task *t, const char *text);
/* Resolve a reference text for task t against the flow (same as finalize). */
int pdi_resolve(
    const pd_flow *f, const pd_task *t, const char *stage, const char *table, pd_task **out);

/* Binary min-heap of node ids keyed by key[] (a: room for every node). */
typedef struct pdi_heap {
    size_t *a;
    size_t n;
    const size_t *key;
} pdi_heap;
void pdi_heap_push(pdi_heap *h, size_t v);
size_t pdi_heap_pop(pdi_heap *h); /* h->n > 0 */

/* The references of t sorted by text (*out NULL when t has none; caller
 * frees the array, not the references). */
int pdi_sorted_refs(const pd_task *t, const pdi_ref ***out);
/* The JSON object of a task's hash arguments: pdi_json_task_args_begin()
 * opens it with the external table (if any); the caller adds "inputs";
 * pdi_json_task_args_end() adds the CSV path of a load task and closes it. */
void pdi_json_task_args_begin(pd_json *j, const pd_task *t);
void pdi_json_task_args_end(pd_json *j, const pd_task *t);

/* ---- hashing (hash.c) ---- */
/* Canonicalize SQL for query hashes (§2.1): drop '"', '[', ']', lower-case,
 * drop __tmp/__even/__odd before whitespace, '.', ';', '"' or end. */
char *pdi_canonical_sql(const char *sql);
void pdi_task_hash(const char *name,
                   const char *version,
                   const char *input_hash,
                   const char *cache_fn_hash,
                   char out[PD_HASH_LEN + 1]);

/* ---- run state (run.c and the files it drives, ctx.c) ---- */
enum { PDI_OUT_TABLE = 0, PDI_OUT_BLOB = 1 };

typedef struct pdi_out {
    char *name;
    int kind;
    char *cache_key;
    char *query_hash; /* lazy tables, raw SQL */
    char *schema;     /* logical schema where readers find it in this run */
    char *ext_schema; /* external tables: where the table really is */
    char *ext_name;
} pdi_out;

typedef struct pdi_trun {
    pd_task_state state;
    char *error;
    bool selected; /* runs in this run */
    bool loaded;   /* outputs loaded from stored metadata (sub-flow input) */
    bool cache_valid;
    bool would_run; /* dry runs: the task would execute */
    char *why;      /* dry runs: reason */
    char input_hash[PD_HASH_LEN + 1];
    char cache_fn_hash[PD_HASH_LEN + 1];
    char task_hash[PD_HASH_LEN + 1];
    char *version_used;
    char *inputs_json; /* {"ref":cache_key,...} for explain */
    pdi_out *outs;
    size_t n_outs, cap_outs;
    char *value_json;
    pdi_out **sorted; /* unused */
} pdi_trun;

typedef struct pdi_pending {
    char *from, *to;
} pdi_pending;

typedef struct pdi_srun {
    pthread_mutex_t mu;
    pthread_rwlock_t rw; /* raw SQL tasks take it exclusively */
    bool selected;
    bool initialized, init_failed, changed, committed, failed;
    char *init_error;
    pd_stage_tx tx;
    char base_sql[512]; /* unused */
    pdi_pending *pending;
    size_t n_pending, cap_pending;
    bool base_listed; /* base_objs holds the committed schema's objects */
    pd_strv base_objs;
    size_t n_done;
} pdi_srun;

typedef struct pdi_run {
    pd_flow *flow;
    const pd_config *cfg;
    pd_store *store;
    pd_lock_manager *locks;
    pd_blob_store *blobs;
    pd_cache_mode mode;
    bool disable_cache_fn, ignore_version, fail_fast;
    bool task_subset, stage_subset;
    bool dry; /* pd_show / pd_explain: decide, never write */
    bool caching_ok;
    bool no_metadata; /* dry runs on a fresh instance: no metadata tables */
    char run_id[PD_HASH_LEN + 1];
    pdi_trun *t;
    pdi_srun *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_mutex_t list_mu; /* the one listing of every stage's base schema */
    bool bases_listed;       /* tried (stage.c) */
    bool stop;
    size_t done, total;
    pd_progress_fn progress;
    void *progress_user;
} pdi_run;

struct pd_task_ctx {
    pdi_run *run;
    pd_task *task;
    pdi_trun *tr;
    pd_strv names; /* borrowed strings handed out (sql names, values) */
    bool in_cache_fn;
    int status;
};

/* A run's data flows one way through the files below, from the public
 * entry points down to the stage transaction:
 *   show.c (pd_show, pd_explain, pd_last_states)
 *   run.c (pd_run: setup, engine) -> result.c (pd_result)
 *   tasks.c (task kinds; ctx.c: computed C tasks)
 *   cache.c (cache decisions) -> key.c (key parts, metadata rows)
 *   outputs.c (outputs, references, SQL rendering)
 *   stage.c (stage transaction)
 * The one call back up is key.c running a C task's cache function through
 * ctx.c (pdi_call_cache_fn), which is user code, not run state. */

/* ---- run.c ---- */
/* Open a run: options, store, locks and blob store (dry: store only, never
 * locks). On failure the caller still calls pdi_run_free. */
int pdi_run_open(pdi_run *r, pd_flow *f, const pd_config *cfg, const pd_run_options *o, bool dry);
void pdi_run_free(pdi_run *r);
/* Execute the selected nodes with `jobs` threads (1: the calling thread). */
int pdi_run_engine(pdi_run *r, int jobs);
/* Metadata for runs that never write (show, explain, visualize): set up
 * only when it exists already; on a fresh instance *no_metadata is set and
 * *caching_ok cleared, and nothing is created. */
int pdi_meta_setup_readonly(pd_store *store, bool *caching_ok, bool *no_metadata);
/* The run record: the states of the last run of a flow, one metadata task
 * row per run named pdi_run_record_name(flow) in this pseudo-stage (its ':'
 * cannot occur in a stage name). */
#define PDI_RUN_RECORD_STAGE "pipedag:runs"
char *pdi_run_record_name(const pd_flow *f);

/* ---- result.c ---- */
/* The result of a finished run (takes over the tasks' error messages). */
pd_result *pdi_make_result(pdi_run *r, double secs);

/* ---- tasks.c ---- */
/* Decide, run and record one task; PD_ERR_TASK with tr->error on failure. */
int pdi_exec_task(pdi_run *r, pd_task *t);
int pdi_run_c_task(pdi_run *r, pd_task *t);                /* ctx.c */
int pdi_call_cache_fn(pdi_run *r, pd_task *t, char **out); /* ctx.c */

/* ---- cache.c ---- */
/* The cache mode forces t to run. */
bool pdi_is_forced(pdi_run *r, const pd_task *t);
/* Dry runs: why t would run, comparing its key parts with its last
 * committed run (NULL if nothing specific). */
char *pdi_dry_reason(pdi_run *r, const pd_task *t, const char *table, const char *qh);
/* Dry runs: the outputs a task that would run is expected to produce. */
int pdi_dry_outputs(pdi_trun *tr, const pd_task *t, const char *cache_key);
/* Materialize a table output of the running task (eager or lazy). */
int pdi_store_table(pdi_run *r, pd_task *t, pd_table *tbl);
/* The cache decision before a task's body runs; *settled when the task is
 * done (cache valid, or a dry run of an eager task). Fails the task on error. */
int pdi_decide_task(pdi_run *r, pd_task *t, bool *settled);

/* ---- key.c ---- */
/* Input hash and the explain summary of t's inputs. */
/* {"indexes":[[..]],"primary_key":[..]} of a task's table, NULL without
 * either (part of the input hash and of explain). */
char *pdi_materialization_json(const pd_task *t);
/* [{"column":..,"kind":..,"values":[..]},..] of a task's checks, NULL
 * without any (part of the input hash and of explain). */
char *pdi_checks_json(const pd_task *t);
int pdi_compute_inputs(pdi_run *r, pd_task *t);
/* Cache-function hash (a load task's: its file's content). */
int pdi_compute_cache_fn(pdi_run *r, pd_task *t);
/* A path of the flow file, relative to the flow file's folder. */
char *pdi_resolve_path(pdi_run *r, const char *path);
/* The query string identifying a lazy table. */
int pdi_lazy_query_string(pdi_run *r, const pd_table *tbl, char **out);
/* Content identity of an in-memory table; the stream is replaced by an
 * equivalent one over the same batches. */
int pdi_arrow_content_str(struct ArrowArrayStream *st, char **out);
/* The uncommitted metadata row of t (orig: the row of a cache hit). */
int pdi_insert_task_row(pdi_run *r, pd_task *t, pd_task_state state, const pd_task_meta *orig);

/* ---- outputs.c ---- */
/* Fail t with the last error (prefixed by what); returns PD_ERR_TASK. */
int pdi_task_fail(pdi_trun *tr, const pd_task *t, const char *what);
int pdi_add_out(pdi_trun *tr,
                const char *name,
                int kind,
                const char *cache_key,
                const char *query_hash,
                const char *schema);
void pdi_trun_clear_outs(pdi_trun *tr);
void pdi_trun_free(pdi_trun *tr);
/* Add the outputs recorded in a metadata row's output_json. */
int pdi_decode_outputs(pdi_trun *tr, const char *json, const char *schema);
/* Render {{ }} references in sql for task t: produces physical names. */
int pdi_render_sql(pdi_run *r, pd_task *t, const char *sql, char **out);
/* Find the output a reference denotes; *value set when it denotes a literal. */
int pdi_ref_output(pdi_run *r,
                   pd_task *t,
                   const char *ref_text,
                   pd_task **producer,
                   pdi_out **out,
                   const char **value);
/* Schema where consumer t reads output o of producer p right now. */
const char *pdi_out_schema(pdi_run *r, const pd_task *t, const pd_task *p, const pdi_out *o);
/* Name of the output's table inside its schema. */
static inline const char *pdi_out_table(const pdi_out *o)
{
    return o->ext_name ? o->ext_name : o->name;
}

/* ---- stage.c ---- */
/* The transaction schema of st in this run. */
const char *pdi_tx_schema(pdi_run *r, const pd_stage *st);
int pdi_ensure_stage(pdi_run *r, pd_stage *st);
/* PD_ERR_LOCK unless the stage lock is still held (checked before writes). */
int pdi_check_lock(pdi_run *r, pd_stage *st);
/* The stage gets a new state: pending copies of cache-valid tables are made. */
int pdi_stage_mark_changed(pdi_run *r, pd_stage *st);
/* Does the committed schema of st hold `name`? */
int pdi_base_has(pdi_run *r, pd_stage *st, const char *name, bool *exists);
/* Place a cache-valid table `from` of st as `to` (now or at the first
 * change); *schema_out: where readers find it. */
int pdi_place_cached_table(
    pdi_run *r, pd_stage *st, const char *from, const char *to, const char **schema_out);
int pdi_commit_stage(pdi_run *r, pd_stage *st);

#endif
