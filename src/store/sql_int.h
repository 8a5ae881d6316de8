/*
 * store/sql_int.h - internals shared by the SQL store's files
 * (sql_store.c, sql_meta.c, sql_hooks.c). Not for other subsystems.
 */
#ifndef PD_STORE_SQL_INT_H
#define PD_STORE_SQL_INT_H

#include "store/sql.h"
#include "util/util.h"
#include <errno.h>
#include <pthread.h>

#define PDI_POOL_MAX         16
#define PDI_METADATA_VERSION "0.3.2+pipedag-c.1"

typedef struct pdi_pooled {
    pdi_conn *conn;
    pd_strv pending; /* sqlite schemas to detach at next checkout */
} pdi_pooled;

/* Metadata statements, built once per store (physical names inside). */
typedef struct pdi_meta_sql {
    bool built;
    char *insert_task, *find_task, *find_task_fn, *latest_task, *latest_task_pos;
    char *insert_lazy, *stage_lazy, *insert_raw, *find_raw;
    char *del_unc[3], *del_com[3], *promote[3];
    char *journal_add, *journal_del, *journal_list, *journal_list_stage;
    char *stage_get, *stage_del, *stage_ins;
} pdi_meta_sql;

struct pd_store {
    const pd_store_config *sc; /* borrowed from the config */
    const pdi_dialect *d;
    char *dialect_name;
    bool is_sqlite;
    bool print_sql;
    char *dir; /* sqlite: store directory */
    char *prefix, *suffix, *desc, *instance_id;
    char *meta_phys; /* physical name of pipedag_metadata */
    pdi_conn_open_fn open_fn;

    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    pdi_pooled pool[PDI_POOL_MAX];
    size_t npool;

    pthread_mutex_t meta_mu; /* guards meta + msql */
    pdi_conn *meta;
    const pdi_dialect *md; /* dialect of the metadata connection */
    bool meta_is_sqlite;
    bool separate_meta; /* metadata_table_store configured */
    char *meta_dir;     /* sqlite metadata store directory */
    pdi_meta_sql msql;
    /* metadata INSERTs of uncommitted rows are queued and written in one
     * transaction before anything reads uncommitted rows (or commits) */
    struct pdi_pending_row *pending;
    size_t npending, cap_pending;
    /* committed lazy_tables rows of one stage, loaded by the first lookup
     * in that stage (one round trip instead of one per task); dropped by
     * every metadata write that may change committed rows */
    char *lazy_cache_stage;
    pd_lazy_meta *lazy_cache;
    size_t lazy_cache_n, lazy_cache_cap;

    pthread_mutex_t hook_mu;
    const pd_table_hook **hooks;
    size_t nhooks;

    struct pdi_pq *pq; /* ParquetTableStore: files side (store/parquet/) */
};

char *pdi_phys(pd_store *s, const char *logical);
int pdi_pool_get(pd_store *s, pdi_conn **out);
void pdi_pool_put(pd_store *s, pdi_conn *c);
int pdi_exec(pd_store *s, const char *sql);
int pdi_exec_free(pd_store *s, char *sql); /* frees sql; "" = nothing to do; NULL = OOM */
/* One query on a pooled connection, with `nparams` text parameters bound to
 * its `?` (none: a plain query); rows to `row`. */
int pdi_query(pd_store *s,
              const char *sql,
              size_t nparams,
              const char *const *params,
              pd_row_fn row,
              void *user);
int pdi_query_strv(pd_store *s, const char *sql, pd_strv *out);
int pdi_create_schema(pd_store *s, const char *logical);
int pdi_drop_schema(pd_store *s, const char *logical);
int pdi_table_exists_phys(pd_store *s, const char *phys, const char *name, bool *exists);
int pdi_add_keys(pd_store *s, const char *phys, const char *name, const pd_table *t);
int pdi_create_like_and_fill(pd_store *s,
                             const char *from_ph,
                             const char *from_name,
                             const char *to_ph,
                             const char *to_name,
                             const char *select);

void pdi_forget_local_metadata(pd_store *s);

/* sql_meta.c */
int pdi_meta_flush(pd_store *s); /* write queued metadata rows */
void pdi_meta_pending_free(pd_store *s);
void pdi_meta_sql_free(pd_store *s);
int pdi_meta_recover(pd_store *s, const char *stage); /* stage NULL = all */
int pdi_meta_delete_uncommitted(pd_store *s, const char *stage);
int pdi_meta_promote(pd_store *s, const char *stage, bool clear_journal);
int pdi_meta_journal_add(pd_store *s, const char *stage, const char *run_id);
int pdi_meta_get_stage_slot(pd_store *s, const char *stage, char *out, size_t cap);
int pdi_meta_set_stage_slot(pd_store *s, const char *stage, const char *slot);
/* In ONE metadata transaction: the stages row (slot != NULL), the
 * promotion of the stage's rows, then `extra` (may be NULL) on the metadata
 * connection - the Parquet store re-points its catalog views there when
 * the metadata lives in the catalog. */
int pdi_meta_promote_slot(pd_store *s,
                          const char *stage,
                          const char *slot,
                          int (*extra)(pd_store *, pdi_conn *, void *),
                          void *user);

/* sql_hooks.c */
const pd_table_hook *const *pdi_default_hooks(size_t *n);

#endif
