/*
 * store/store_int.h - internals shared by the files of the SQL store's
 * shared layer (store.c, commit.c, meta.c, hooks.c, registry.c). Not for
 * backends (they see store/backend.h) nor other subsystems (store/store.h).
 */
#ifndef PD_STORE_STORE_INT_H
#define PD_STORE_STORE_INT_H

#include "store/backend.h"
#include "util/util.h"
#include <errno.h>
#include <pthread.h>

#define PDI_POOL_MAX         16
#define PDI_METADATA_VERSION "0.3.2+pipedag-c.1"

typedef struct pdi_pooled {
    pdi_conn *conn;
    bool in_use;
    pd_strv pending; /* schemas to forget at the next checkout */
} pdi_pooled;

struct pd_store {
    const pd_store_config *sc; /* borrowed from the config */
    const pdi_backend *be;
    pdi_db *db;
    const pdi_dialect *d;
    bool print_sql;
    char *prefix, *suffix, *desc, *instance_id;

    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    pdi_pooled pool[PDI_POOL_MAX];
    size_t npool;

    /* metadata: a dedicated session, so metadata transactions never
     * interleave with table writes; on a separate metadata_table_store
     * (mbe/mdb) when one is configured, else on be/db. */
    pthread_mutex_t meta_mu; /* guards meta, msql, pending, lazy cache */
    const pdi_backend *mbe;
    pdi_db *mdb;
    pdi_conn *meta;
    const pdi_dialect *md;
    const pd_store_config *msc;
    bool separate_meta;
    char *meta_phys; /* physical name of pipedag_metadata */
    char *msql[PDI_MQ_N];
    bool msql_built;
    /* metadata INSERTs of uncommitted rows are queued and written in one
     * transaction before anything reads uncommitted rows (or commits) */
    struct pdi_pending_row *pending;
    size_t npending, cap_pending;
    /* stages some of whose uncommitted rows were written to the database
     * (not only queued) since the stage's last promotion or init */
    pd_strv written_stages;
    /* stages with uncommitted rows in the database when the first stage
     * was initialized (the run holds its stages' locks by then): only
     * those need the deletion at stage init */
    bool unc_known;
    pd_strv unc_stages;
    /* committed lazy_tables rows of one stage, loaded by the first lookup
     * in that stage; dropped by every write that may change committed rows */
    char *lazy_cache_stage;
    pd_lazy_meta *lazy_cache;
    size_t lazy_cache_n, lazy_cache_cap;

    /* stage -> its committed READ_VIEWS slot ("" for none), noted at stage
     * init, so that copies of cache-valid tables need no lookup */
    pthread_mutex_t slot_mu;
    pd_strv slot_stage, slot_name;

    pthread_mutex_t hook_mu;
    const pd_table_hook **hooks;
    size_t nhooks;
};

/* store.c: names, pool, statements */
char *pdi_phys(pd_store *s, const char *logical);
int pdi_pool_get(pd_store *s, pdi_conn **out);
void pdi_pool_put(pd_store *s, pdi_conn *c);
int pdi_exec(pd_store *s, const char *sql);
int pdi_exec_free(pd_store *s, char *sql); /* frees sql; "" = nothing to do; NULL = OOM */
int pdi_query(pd_store *s,
              const char *sql,
              size_t nparams,
              const char *const *params,
              pd_row_fn row,
              void *user);
int pdi_query_strv(pd_store *s, const char *sql, pd_strv *out);
/* Every pooled session (and the metadata session when it is on this
 * database) forgets `phys` (backend op forget_schema). */
int pdi_forget_everywhere(pd_store *s, const char *phys);

/* store.c: backend operations with their generic defaults (physical names) */
int pdi_be_create_schema(pd_store *s, pdi_conn *c, const char *phys);
int pdi_be_drop_schema(pd_store *s, pdi_conn *c, const char *phys);
int pdi_be_list_objects(pd_store *s, pdi_conn *c, const char *phys, pd_strv *out);
int pdi_be_table_exists(pd_store *s, pdi_conn *c, const char *phys, const char *name, bool *ex);
int pdi_be_copy_table(pd_store *s,
                      pdi_conn *c,
                      const char *from_ph,
                      const char *from,
                      const char *to_ph,
                      const char *to);
int pdi_be_drop_contents(const pdi_backend *be, pdi_conn *c, const char *phys);
/* On the metadata session (caller holds meta_mu). */
int pdi_meta_exec(pd_store *s, const char *sql);
int pdi_meta_query(
    pd_store *s, const char *sql, size_t np, const char *const *params, pd_row_fn row, void *user);

/* logical-schema helpers */
int pdi_create_schema(pd_store *s, const char *logical);
int pdi_drop_schema(pd_store *s, const char *logical);
int pdi_table_exists_phys(pd_store *s, const char *phys, const char *name, bool *exists);
/* Create primary key / indexes of t on phys.name after checking that
 * every column exists (error naming task and column). */
int pdi_add_keys(pd_store *s, const char *phys, const char *name, const pd_table *t);
/* The column names of phys.name, in order. */
int pdi_table_columns(pd_store *s, const char *phys, const char *name, pd_strv *out);
/* The checks of t (checks.c), primary key first: PD_ERR_CHECK on failure. */
int pdi_run_checks(pd_store *s, const char *phys, const pd_table *t);
/* Creating t's primary key failed with rc: PD_ERR_CHECK naming the
 * duplicated key values when there are any, else rc (message kept). */
int pdi_pk_failure(pd_store *s, const char *phys, const pd_table *t, int rc);
/* Re-create the keys and indexes of from_ph.from on to_ph.to. */
int pdi_copy_keys(
    pd_store *s, const char *from_ph, const char *from, const char *to_ph, const char *to);
void pdi_forget_local_metadata(pd_store *s);

/* meta.c */
int pdi_meta_lock(pd_store *s); /* locks meta_mu, builds statements */
void pdi_meta_unlock(pd_store *s);
int pdi_meta_flush(pd_store *s); /* write queued metadata rows */
void pdi_meta_pending_free(pd_store *s);
void pdi_meta_sql_free(pd_store *s);
int pdi_meta_recover(pd_store *s, const char *stage); /* stage NULL = all */
int pdi_meta_delete_uncommitted(pd_store *s, const char *stage);
/* Promote in one metadata transaction; slot != NULL: also set the stage's
 * READ_VIEWS slot; clear_journal: delete the commit_journal row. */
int pdi_meta_promote(pd_store *s, const char *stage, const char *slot, bool clear_journal);
/* The promotion of a stage whose tables did not change: when this run's
 * rows of the stage (still queued) equal its committed rows, nothing is
 * written (the queued rows are dropped); else pdi_meta_promote. */
int pdi_meta_promote_unchanged(pd_store *s, const char *stage);
int pdi_meta_journal_add(pd_store *s, const char *stage, const char *run_id);
int pdi_meta_get_stage_slot(pd_store *s, const char *stage, char *out, size_t cap);
/* The promotion statements of `stage` (+ the slot upsert when slot !=
 * NULL) for a commit inside one transaction; caller holds meta_mu. */
size_t pdi_meta_promote_stmts(pd_store *s, const char *stage, const char *slot, pdi_stmt *out);
size_t pdi_meta_promote_stmts_for(const pdi_dialect *d,
                                  const char *meta_phys,
                                  const char *stage,
                                  const char *slot,
                                  pdi_stmt *out);
/* commit.c: publish + `meta` statements in one database transaction on c
 * (the transactional protocol; tests call it directly). */
int pdi_commit_tx(const pdi_backend *be,
                  pdi_conn *c,
                  const pdi_stage_names *st,
                  const pdi_stmt *meta,
                  size_t nmeta);
/* Note / look up the committed slot of a stage (see slot_stage). */
void pdi_slot_note(pd_store *s, const char *stage, const char *slot);
bool pdi_slot_lookup(pd_store *s, const char *stage, char *out, size_t cap);
/* PD_ERR_CONFIG (config file:line, the backend's reason) when the backend
 * cannot do commit technique t. */
int pdi_check_technique(pd_store *s, pd_commit_technique t);
/* stage names of a transaction (physical), freed by pdi_stage_names_free */
int pdi_stage_names_make(pd_store *s, const pd_stage_tx *tx, pdi_stage_names *out);
void pdi_stage_names_free(pdi_stage_names *n);

/* hooks.c */
const pd_table_hook *const *pdi_default_hooks(size_t *n);

#endif
