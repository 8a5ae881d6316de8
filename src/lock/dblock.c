/*
 * lock/dblock.c - DatabaseLockManager: one dedicated backend session holds
 * session-level advisory locks (Postgres: pg_advisory_lock(id)), id = first
 * 8 bytes of SHA-256("<instance_id>#<stage>") as a signed big-endian int64
 * (the same ids as the original tool). The session is opened through the
 * store's backend interface (pdi_backend_open_conn) and locks through the
 * backend's lock operation. A lost session means every lock is lost:
 * pdi_dblock_check then answers PD_ERR_LOCK and writers stop.
 */
#include "lock/dblock.h"
#include "store/backend.h"
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

struct pdi_dblock {
    const pdi_backend *be;
    pdi_db *db;
    pdi_conn *conn;
    char *instance_id;
    held *locks;
    size_t n, cap;
    bool lost;
    pthread_mutex_t mu;
};

int64_t pdi_dblock_id(const char *lock_name)
{
    uint8_t h[PD_SHA256_LEN];
    pdi_sha256(lock_name, strlen(lock_name), h);
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | h[i];
    return (int64_t)u;
}

static bool alive(pdi_dblock *l)
{
    return l->conn && (!l->be->alive || l->be->alive(l->conn));
}

static int open_sc(const pd_store_config *sc, const char *instance_id, pdi_dblock **out)
{
    *out = NULL;
    pdi_dblock *l = pdi_calloc(1, sizeof *l);
    if (!l)
        return PD_ERR_NOMEM;
    l->instance_id = pdi_strdup(instance_id ? instance_id : "pipeline");
    pthread_mutex_init(&l->mu, NULL);
    int rc = l->instance_id ? pdi_backend_open_conn(sc, l->instance_id, &l->be, &l->db, &l->conn)
                            : PD_ERR_NOMEM;
    if (rc == PD_OK && (!(l->be->caps & PDI_CAP_LOCKS) || !l->be->lock))
        rc = pd_set_error(PD_ERR_CONFIG,
                          "%s:%d: the %s database has no advisory locks; use FileLockManager",
                          sc->file ? sc->file : "config", sc->line, l->be->name);
    if (rc) {
        pd_error_prefix("DatabaseLockManager");
        pdi_dblock_close(l);
        return rc;
    }
    *out = l;
    return PD_OK;
}

int pdi_dblock_open_url(const char *url, bool create_db, const char *instance_id, pdi_dblock **out)
{
    pd_store_config sc;
    memset(&sc, 0, sizeof sc);
    sc.url = (char *)url;
    sc.create_database_if_not_exists = create_db;
    return open_sc(&sc, instance_id, out);
}

int pdi_dblock_open(const pd_config *cfg, pdi_dblock **out)
{
    const pd_store_config *sc = cfg->table_store.metadata_table_store
                                    ? cfg->table_store.metadata_table_store
                                    : &cfg->table_store;
    char buf[64];
    const char *d = pdi_backend_dialect_of(sc, buf, sizeof buf);
    const pdi_backend *be = pdi_backend_find(d);
    if (!be || !(be->caps & PDI_CAP_LOCKS)) {
        pd_clear_error();
        return pd_set_error(PD_ERR_CONFIG,
                            "%s:%d: DatabaseLockManager needs a table store or "
                            "metadata_table_store with advisory locks (Postgres; this one is "
                            "'%s'); use FileLockManager",
                            sc->file ? sc->file : "config", sc->line, d);
    }
    return open_sc(sc, cfg->instance_id, out);
}

static held *find(pdi_dblock *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->locks[i].name, name) == 0)
            return &l->locks[i];
    return NULL;
}

static int lost_error(pdi_dblock *l, const char *name)
{
    return pd_set_error(PD_ERR_LOCK, "lock '%s#%s' lost: the lock session to %s was closed",
                        l->instance_id, name, l->db && l->db->desc ? l->db->desc : "?");
}

int pdi_dblock_acquire(pdi_dblock *l, const char *name)
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
        held *nl = pdi_realloc(l->locks, nc * sizeof *nl);
        if (!nl) {
            rc = PD_ERR_NOMEM;
            goto out;
        }
        l->locks = nl;
        l->cap = nc;
    }
    char *full = pdi_asprintf("%s#%s", l->instance_id, name);
    if (!full) {
        rc = PD_ERR_NOMEM;
        goto out;
    }
    int64_t id = pdi_dblock_id(full);
    pdi_log(PD_LOG_DEBUG, "locking '%s' (advisory lock %lld)", full, (long long)id);
    rc = l->be->lock(l->conn, id, PDI_LOCK_ACQUIRE);
    if (rc) {
        if (!alive(l))
            l->lost = true;
        pd_error_prefix("acquiring lock '%s'", full);
        free(full);
        rc = PD_ERR_LOCK;
        goto out;
    }
    free(full);
    l->locks[l->n].name = pdi_strdup(name);
    l->locks[l->n].id = id;
    l->locks[l->n].count = 1;
    if (!l->locks[l->n].name) {
        l->be->lock(l->conn, id, PDI_LOCK_RELEASE);
        rc = PD_ERR_NOMEM;
        goto out;
    }
    l->n++;
out:
    pthread_mutex_unlock(&l->mu);
    return rc;
}

static void drop_at(pdi_dblock *l, size_t i)
{
    free(l->locks[i].name);
    l->locks[i] = l->locks[l->n - 1];
    l->n--;
}

int pdi_dblock_release(pdi_dblock *l, const char *name)
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
        rc = l->be->lock(l->conn, id, PDI_LOCK_RELEASE);
        if (rc && !alive(l))
            l->lost = true;
        rc = PD_OK; /* a lost session holds nothing any more */
    }
out:
    pthread_mutex_unlock(&l->mu);
    return rc;
}

int pdi_dblock_check(pdi_dblock *l, const char *name)
{
    pthread_mutex_lock(&l->mu);
    int rc = PD_OK;
    if (!find(l, name)) {
        rc = pd_set_error(PD_ERR_LOCK, "lock '%s#%s' is not held", l->instance_id, name);
    } else if (l->lost || !alive(l)) {
        l->lost = true;
        rc = lost_error(l, name);
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void pdi_dblock_release_all(pdi_dblock *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    while (l->n)
        drop_at(l, l->n - 1);
    if (!l->lost && l->conn && l->be->lock(l->conn, 0, PDI_LOCK_RELEASE_ALL) != PD_OK)
        pd_clear_error();
    pthread_mutex_unlock(&l->mu);
}

void pdi_dblock_close(pdi_dblock *l)
{
    if (!l)
        return;
    if (l->conn)
        pdi_dblock_release_all(l);
    free(l->locks);
    /* closing the session frees every advisory lock anyway */
    pdi_backend_disconnect_close(l->be, l->db, l->conn);
    free(l->instance_id);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
