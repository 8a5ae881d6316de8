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

/* ---- run state (run.c, ctx.c) ---- */
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
    char run_id[PD_HASH_LEN + 1];
    pdi_trun *t;
    pdi_srun *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
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
/* Materialize a table output of the running task (eager or lazy). */
int pdi_store_table(pdi_run *r, pd_task *t, pd_table *tbl);
int pdi_stage_mark_changed(pdi_run *r, pd_stage *st);
int pdi_ensure_stage(pdi_run *r, pd_stage *st);
/* PD_ERR_LOCK unless the stage lock is still held (checked before writes). */
int pdi_check_lock(pdi_run *r, pd_stage *st);
int pdi_add_out(pdi_trun *tr,
                const char *name,
                int kind,
                const char *cache_key,
                const char *query_hash,
                const char *schema);
int pdi_run_c_task(pdi_run *r, pd_task *t);
int pdi_call_cache_fn(pdi_run *r, pd_task *t, char **out);

#endif
