/*
 * lock/lock.h - lock managers: per instance and stage, so that two runs of
 * one instance never interleave inside a stage (the second waits).
 *
 * Lock names are "<instance_id>#<stage>" (plus "_pipedag_setup_"). Managers:
 * none, file (flock on <base>/<instance_id>/<stage>.lock), database
 * (Postgres session advisory locks on a dedicated connection).
 */
#ifndef PD_LOCK_H
#define PD_LOCK_H

#include "pipedag/config.h"
#include <stdbool.h>

typedef enum pd_lock_state { PD_LOCK_UNLOCKED, PD_LOCK_LOCKED, PD_LOCK_INVALID } pd_lock_state;

typedef struct pd_lock_manager pd_lock_manager;

/* Build the manager the config asks for (lock_manager class). */
int pdi_lock_manager_open(const pd_config *cfg, pd_lock_manager **out);
/* Blocks until the lock is held (re-entrant per manager). */
int pdi_lock_acquire(pd_lock_manager *lm, const char *name);
int pdi_lock_release(pd_lock_manager *lm, const char *name);
/* Check before writing: PD_ERR_LOCK if the lock was lost. */
int pdi_lock_check(pd_lock_manager *lm, const char *name);
void pdi_lock_release_all(pd_lock_manager *lm);
void pdi_lock_manager_close(pd_lock_manager *lm);

#endif
