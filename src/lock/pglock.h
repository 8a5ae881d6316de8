/*
 * lock/pglock.h - the Postgres DatabaseLockManager (session advisory locks
 * on one dedicated connection), used by the `database` lock class.
 */
#ifndef PD_LOCK_PGLOCK_H
#define PD_LOCK_PGLOCK_H

#include "pipedag/config.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct pdi_pglock pdi_pglock;

/* Advisory lock id of a lock name: the first 8 bytes of SHA-256(name) as a
 * signed big-endian int64. */
int64_t pdi_pglock_id(const char *lock_name);

/* Connect to `url` (create_db: create the database if missing). */
int pdi_pglock_open_url(const char *url, bool create_db, const char *instance_id, pdi_pglock **out);
/* Connect to the metadata_table_store if configured, else the table store;
 * PD_ERR_CONFIG if that store is not Postgres. */
int pdi_pglock_open(const pd_config *cfg, pdi_pglock **out);
/* `name` is a stage name (or "_pipedag_setup_"); the lock name is
 * "<instance_id>#<name>". Blocks until held; re-entrant (counted). */
int pdi_pglock_acquire(pdi_pglock *l, const char *name);
int pdi_pglock_release(pdi_pglock *l, const char *name);
/* PD_OK while held; PD_ERR_LOCK if not held or the connection was lost. */
int pdi_pglock_check(pdi_pglock *l, const char *name);
void pdi_pglock_release_all(pdi_pglock *l);
void pdi_pglock_close(pdi_pglock *l);

#endif
