/*
 * lock/dblock.h - the DatabaseLockManager: session advisory locks on one
 * dedicated session of a database backend that has them (Postgres), used
 * by the `database` lock class. The session comes through the store's
 * backend interface (store/backend.h), never a connector's internals.
 */
#ifndef PD_LOCK_DBLOCK_H
#define PD_LOCK_DBLOCK_H

#include "pipedag/config.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct pdi_dblock pdi_dblock;

/* Advisory lock id of a lock name: the first 8 bytes of SHA-256(name) as a
 * signed big-endian int64 (the ids of the original tool). */
int64_t pdi_dblock_id(const char *lock_name);

/* Open a session on the database of `url` (create_db: create the database
 * if missing). */
int pdi_dblock_open_url(const char *url, bool create_db, const char *instance_id, pdi_dblock **out);
/* Open on the metadata_table_store if configured, else the table store;
 * PD_ERR_CONFIG (with file:line) if that database has no advisory locks. */
int pdi_dblock_open(const pd_config *cfg, pdi_dblock **out);
/* `name` is a stage name (or "_pipedag_setup_"); the lock name is
 * "<instance_id>#<name>". Blocks until held; re-entrant (counted). */
int pdi_dblock_acquire(pdi_dblock *l, const char *name);
int pdi_dblock_release(pdi_dblock *l, const char *name);
/* PD_OK while held; PD_ERR_LOCK if not held or the session was lost. */
int pdi_dblock_check(pdi_dblock *l, const char *name);
void pdi_dblock_release_all(pdi_dblock *l);
void pdi_dblock_close(pdi_dblock *l);

#endif
