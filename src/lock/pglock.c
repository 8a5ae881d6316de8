/*
 * lock/pglock.c - DatabaseLockManager on Postgres: one dedicated connection
 * holds session-level advisory locks pg_advisory_lock(id), id = first 8
 * bytes of SHA-256("<instance_id>#<stage>") as a signed big-endian int64
 * (the same ids as the original tool). A lost connection means every lock
 * is lost: pdi_pglock_check then answers PD_ERR_LOCK and writers stop.
 */
#include "lock/pglock.h"
#include "store/conn/libpq.h"
#include "util/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct held {
    char *name; /* stage name */
    int64_t id;
    int count;
} held;

struct pdi_pglock {
    pdi_pg *pg;
    char *instance_id;
    held *locks;
    size_t n, cap;
    bool lost;
    pthread_mutex_t mu;
};

int64_t pdi_pglock_id(const char *lock_name)
{
    uint8_t h[PD_SHA256_LEN];
    pd_sha256(lock_name, strlen(lock_name), h);
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | h[i];
    return (int64_t)u;
}

int pdi_pglock_open_url(const char *url, bool create_db, const char *instance_id, pdi_pglock **out)
{
    *out = NULL;
    pdi_pglock *l = pd_calloc(1, sizeof *l);
    if (!l)
        return PD_ERR_NOMEM;
    l->instance_id = pd_strdup(instance_id ? instance_id : "pipeline");
    pthread_mutex_init(&l->mu, NULL);
    int rc = l->instance_id ? pdi_pg_connect(url, create_db, &l->pg) : PD_ERR_NOMEM;
    if (rc) {
        pd_error_prefix("DatabaseLockManager");
        pdi_pglock_close(l);
        return rc;
    }
    *out = l;
    return PD_OK;
}

int pdi_pglock_open(const pd_config *cfg, pdi_pglock **out)
{
    const pd_store_config *sc = cfg->table_store.metadata_table_store
                                    ? cfg->table_store.metadata_table_store
                                    : &cfg->table_store;
    const char *d = sc->dialect ? sc->dialect : "";
    if (!pd_str_ieq(d, "postgresql") && !pd_str_ieq(d, "postgres"))
        return pd_set_error(PD_ERR_CONFIG,
                            "%s:%d: DatabaseLockManager needs a Postgres table store or "
                            "metadata_table_store (this one is '%s'); use FileLockManager",
                            sc->file ? sc->file : "config", sc->line, d);
    return pdi_pglock_open_url(sc->url, sc->create_database_if_not_exists, cfg->instance_id, out);
}

static held *find(pdi_pglock *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->locks[i].name, name) == 0)
            return &l->locks[i];
    return NULL;
}

static int lost_error(pdi_pglock *l, const char *name)
{
    return pd_set_error(PD_ERR_LOCK,
                        "lock '%s#%s' lost: the lock connection to postgres %s was closed",
                        l->instance_id, name, pdi_pg_server(l->pg));
}

int pdi_pglock_acquire(pdi_pglock *l, const char *name)
{
    pthread_mutex_lock(&l->mu);
    int rc = PD_OK;
    held *h = find(l, name);
    if (h) {
        h->count++;
        goto out;
    }
    if (l->lost) {
        rc = lost_error(l, name);
        goto out;
    }
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 8;
        held *nl = pd_realloc(l->locks, nc * sizeof *nl);
        if (!nl) {
            rc = PD_ERR_NOMEM;
            goto out;
        }
        l->locks = nl;
        l->cap = nc;
    }
    char *full = pd_asprintf("%s#%s", l->instance_id, name);
    if (!full) {
        rc = PD_ERR_NOMEM;
        goto out;
    }
    int64_t id = pdi_pglock_id(full);
    pd_log(PD_LOG_DEBUG, "locking '%s' (advisory lock %lld)", full, (long long)id);
    rc = pdi_pg_execf(l->pg, "SELECT pg_advisory_lock(%lld)", (long long)id);
    if (rc) {
        if (!pdi_pg_alive(l->pg))
            l->lost = true;
        pd_error_prefix("acquiring lock '%s'", full);
        free(full);
        rc = PD_ERR_LOCK;
        goto out;
    }
    free(full);
    l->locks[l->n].name = pd_strdup(name);
    l->locks[l->n].id = id;
    l->locks[l->n].count = 1;
    if (!l->locks[l->n].name) {
        pdi_pg_execf(l->pg, "SELECT pg_advisory_unlock(%lld)", (long long)id);
        rc = PD_ERR_NOMEM;
        goto out;
    }
    l->n++;
out:
    pthread_mutex_unlock(&l->mu);
    return rc;
}

static void drop_at(pdi_pglock *l, size_t i)
{
    free(l->locks[i].name);
    l->locks[i] = l->locks[l->n - 1];
    l->n--;
}

int pdi_pglock_release(pdi_pglock *l, const char *name)
{
    pthread_mutex_lock(&l->mu);
    int rc = PD_OK;
    held *h = find(l, name);
    if (!h) {
        rc = pd_set_error(PD_ERR_LOCK, "lock '%s#%s' is not held", l->instance_id, name);
        goto out;
    }
    if (--h->count > 0)
        goto out;
    int64_t id = h->id;
    drop_at(l, (size_t)(h - l->locks));
    if (!l->lost) {
        rc = pdi_pg_execf(l->pg, "SELECT pg_advisory_unlock(%lld)", (long long)id);
        if (rc && !pdi_pg_alive(l->pg))
            l->lost = true;
        rc = PD_OK; /* a lost session holds nothing any more */
    }
out:
    pthread_mutex_unlock(&l->mu);
    return rc;
}

int pdi_pglock_check(pdi_pglock *l, const char *name)
{
    pthread_mutex_lock(&l->mu);
    int rc = PD_OK;
    if (!find(l, name)) {
        rc = pd_set_error(PD_ERR_LOCK, "lock '%s#%s' is not held", l->instance_id, name);
    } else if (l->lost || !pdi_pg_alive(l->pg)) {
        l->lost = true;
        rc = lost_error(l, name);
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void pdi_pglock_release_all(pdi_pglock *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    while (l->n)
        drop_at(l, l->n - 1);
    if (!l->lost && l->pg)
        pdi_pg_exec(l->pg, "SELECT pg_advisory_unlock_all()");
    pthread_mutex_unlock(&l->mu);
}

void pdi_pglock_close(pdi_pglock *l)
{
    if (!l)
        return;
    pdi_pglock_release_all(l);
    free(l->locks);
    pdi_pg_close(l->pg); /* closing the session frees every advisory lock anyway */
    free(l->instance_id);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
