/*
 * lock/lock.c - lock managers: none, file (flock on
 * <lock_base_path>/<instance_id>/<name>.lock, blocking, re-entrant
 * counting per manager) and database (advisory locks of the database, through
 * lock/dblock.h).
 */
#include "lock/lock.h"
#include "lock/dblock.h"
#include "util/util.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

typedef struct lock_entry {
    char *name;
    int fd;
    int count;
} lock_entry;

struct pd_lock_manager {
    pd_lock_class klass;
    char *dir; /* file: <base>/<instance_id> */
    pthread_mutex_t mu;
    pthread_mutex_t acquire_mu; /* serializes blocking acquisitions */
    lock_entry *e;
    size_t n, cap;
    pdi_dblock *dbl;
};

int pdi_lock_manager_open(const pd_config *cfg, pd_lock_manager **out)
{
    *out = NULL;
    pd_lock_manager *lm = pdi_calloc(1, sizeof *lm);
    if (!lm)
        return PD_ERR_NOMEM;
    lm->klass = cfg->lock_manager;
    pthread_mutex_init(&lm->mu, NULL);
    pthread_mutex_init(&lm->acquire_mu, NULL);
    int rc = PD_OK;
    if (lm->klass == PD_LOCK_FILE) {
        const char *base = cfg->lock_base_path ? cfg->lock_base_path : ".pipedag/locks";
        lm->dir = pdi_path_join(base, cfg->instance_id ? cfg->instance_id : "default");
        rc = lm->dir ? pdi_mkdir_p(lm->dir) : PD_ERR_NOMEM;
        if (rc)
            pd_error_prefix("FileLockManager");
    } else if (lm->klass == PD_LOCK_DATABASE) {
        rc = pdi_dblock_open(cfg, &lm->dbl); /* its messages name the manager */
    }
    if (rc) {
        pdi_lock_manager_close(lm);
        return rc;
    }
    *out = lm;
    return PD_OK;
}

static lock_entry *find(pd_lock_manager *lm, const char *name)
{
    for (size_t i = 0; i < lm->n; i++)
        if (strcmp(lm->e[i].name, name) == 0)
            return &lm->e[i];
    return NULL;
}

static char *lock_path(pd_lock_manager *lm, const char *name)
{
    char *safe = pdi_strdup(name);
    if (!safe)
        return NULL;
    for (char *p = safe; *p; p++)
        if (*p == '/' || *p == '\\')
            *p = '_';
    char *r = pdi_asprintf("%s/%s.lock", lm->dir, safe);
    free(safe);
    return r;
}

static int file_acquire(pd_lock_manager *lm, const char *name)
{
    pthread_mutex_lock(&lm->mu);
    lock_entry *e = find(lm, name);
    if (e && e->count > 0) {
        e->count++;
        pthread_mutex_unlock(&lm->mu);
        return PD_OK;
    }
    pthread_mutex_unlock(&lm->mu);

    pthread_mutex_lock(&lm->acquire_mu);
    /* another thread of this manager may have taken it meanwhile */
    pthread_mutex_lock(&lm->mu);
    e = find(lm, name);
    if (e && e->count > 0) {
        e->count++;
        pthread_mutex_unlock(&lm->mu);
        pthread_mutex_unlock(&lm->acquire_mu);
        return PD_OK;
    }
    pthread_mutex_unlock(&lm->mu);
    int rc = PD_OK;
    char *path = lock_path(lm, name);
    int fd = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
    if (fd < 0) {
        rc = path ? pd_set_error(PD_ERR_LOCK, "cannot open lock file %s: %s", path, strerror(errno))
                  : PD_ERR_NOMEM;
    } else {
        int r;
        do {
            r = flock(fd, LOCK_EX);
        } while (r != 0 && errno == EINTR);
        if (r != 0) {
            rc = pd_set_error(PD_ERR_LOCK, "cannot lock %s: %s", path, strerror(errno));
            close(fd);
        }
    }
    if (rc == PD_OK) {
        pthread_mutex_lock(&lm->mu);
        if (lm->n == lm->cap) {
            size_t nc = lm->cap ? 2 * lm->cap : 8;
            lock_entry *ne = pdi_realloc(lm->e, nc * sizeof *ne);
            if (!ne)
                rc = PD_ERR_NOMEM;
            else {
                lm->e = ne;
                lm->cap = nc;
            }
        }
        char *nm = rc == PD_OK ? pdi_strdup(name) : NULL;
        if (rc == PD_OK && nm) {
            lm->e[lm->n++] = (lock_entry){nm, fd, 1};
        } else {
            rc = PD_ERR_NOMEM;
            close(fd);
        }
        pthread_mutex_unlock(&lm->mu);
    }
    pthread_mutex_unlock(&lm->acquire_mu);
    free(path);
    return rc;
}

static int file_release(pd_lock_manager *lm, const char *name)
{
    pthread_mutex_lock(&lm->mu);
    lock_entry *e = find(lm, name);
    if (!e) {
        pthread_mutex_unlock(&lm->mu);
        return pd_set_error(PD_ERR_LOCK, "lock '%s' is not held", name);
    }
    if (--e->count == 0) {
        flock(e->fd, LOCK_UN);
        close(e->fd);
        free(e->name);
        *e = lm->e[--lm->n];
    }
    pthread_mutex_unlock(&lm->mu);
    return PD_OK;
}

int pdi_lock_acquire(pd_lock_manager *lm, const char *name)
{
    switch (lm->klass) {
    case PD_LOCK_FILE: return file_acquire(lm, name);
    case PD_LOCK_DATABASE: return pdi_dblock_acquire(lm->dbl, name);
    default: return PD_OK;
    }
}

int pdi_lock_release(pd_lock_manager *lm, const char *name)
{
    switch (lm->klass) {
    case PD_LOCK_FILE: return file_release(lm, name);
    case PD_LOCK_DATABASE: return pdi_dblock_release(lm->dbl, name);
    default: return PD_OK;
    }
}

int pdi_lock_check(pd_lock_manager *lm, const char *name)
{
    switch (lm->klass) {
    case PD_LOCK_FILE: {
        pthread_mutex_lock(&lm->mu);
        lock_entry *e = find(lm, name);
        int rc =
            e && e->count > 0 ? PD_OK : pd_set_error(PD_ERR_LOCK, "lock '%s' is not held", name);
        pthread_mutex_unlock(&lm->mu);
        return rc;
    }
    case PD_LOCK_DATABASE: return pdi_dblock_check(lm->dbl, name);
    default: return PD_OK;
    }
}

void pdi_lock_release_all(pd_lock_manager *lm)
{
    if (!lm)
        return;
    if (lm->klass == PD_LOCK_DATABASE) {
        if (lm->dbl)
            pdi_dblock_release_all(lm->dbl);
        return;
    }
    pthread_mutex_lock(&lm->mu);
    for (size_t i = 0; i < lm->n; i++) {
        flock(lm->e[i].fd, LOCK_UN);
        close(lm->e[i].fd);
        free(lm->e[i].name);
    }
    lm->n = 0;
    pthread_mutex_unlock(&lm->mu);
}

void pdi_lock_manager_close(pd_lock_manager *lm)
{
    if (!lm)
        return;
    pdi_lock_release_all(lm);
    if (lm->dbl)
        pdi_dblock_close(lm->dbl);
    pthread_mutex_destroy(&lm->mu);
    pthread_mutex_destroy(&lm->acquire_mu);
    free(lm->e);
    free(lm->dir);
    free(lm);
}
