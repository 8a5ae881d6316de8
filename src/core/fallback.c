/*
 * core/fallback.c - weak stand-ins for the lock manager and blob store
 * interfaces (src/lock/lock.h, src/blob/blob.h), so that the library and
 * the CLI link and run before (or without) those subsystems. The real
 * implementations define the same functions as strong symbols and replace
 * these at link time. The lock stand-in locks nothing; the blob stand-in is
 * a minimal FileBlobStore (<base>/<instance_id>/<stage>[__tmp]/<name>.blob).
 */
#include "core_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PDI_WEAK __attribute__((weak))

struct pd_lock_manager {
    int unused;
};

PDI_WEAK int pd_lock_manager_open(const pd_config *cfg, pd_lock_manager **out)
{
    (void)cfg;
    *out = pd_calloc(1, sizeof **out);
    return *out ? PD_OK : PD_ERR_NOMEM;
}
PDI_WEAK int pd_lock_acquire(pd_lock_manager *lm, const char *name)
{
    (void)lm;
    (void)name;
    return PD_OK;
}
PDI_WEAK int pd_lock_release(pd_lock_manager *lm, const char *name)
{
    (void)lm;
    (void)name;
    return PD_OK;
}
PDI_WEAK int pd_lock_check(pd_lock_manager *lm, const char *name)
{
    (void)lm;
    (void)name;
    return PD_OK;
}
PDI_WEAK void pd_lock_release_all(pd_lock_manager *lm)
{
    (void)lm;
}
PDI_WEAK void pd_lock_manager_close(pd_lock_manager *lm)
{
    free(lm);
}

struct pd_blob_store {
    char *dir;
};

PDI_WEAK int pd_blob_store_open(const pd_config *cfg, pd_blob_store **out)
{
    *out = NULL;
    pd_blob_store *b = pd_calloc(1, sizeof *b);
    if (!b)
        return PD_ERR_NOMEM;
    const char *base = cfg->blob_base_path ? cfg->blob_base_path : ".pipedag/blobs";
    b->dir = pd_path_join(base, cfg->instance_id ? cfg->instance_id : "default");
    if (!b->dir || pd_mkdir_p(b->dir)) {
        free(b->dir);
        free(b);
        return pd_error_prefix("blob store");
    }
    *out = b;
    return PD_OK;
}

PDI_WEAK void pd_blob_store_close(pd_blob_store *b)
{
    if (!b)
        return;
    free(b->dir);
    free(b);
}

static char *stage_dir(pd_blob_store *b, const char *stage, bool tx)
{
    return pd_asprintf("%s/%s%s", b->dir, stage, tx ? "__tmp" : "");
}

PDI_WEAK int pd_blob_init_stage(pd_blob_store *b, const char *stage)
{
    char *d = stage_dir(b, stage, true);
    int rc = d ? pd_rm_rf(d) : PD_ERR_NOMEM;
    if (!rc)
        rc = pd_mkdir_p(d);
    free(d);
    return rc;
}

PDI_WEAK int pd_blob_commit_stage(pd_blob_store *b, const char *stage)
{
    char *tx = stage_dir(b, stage, true), *base = stage_dir(b, stage, false);
    char *old = pd_asprintf("%s/%s__old", b->dir, stage);
    int rc = tx && base && old ? PD_OK : PD_ERR_NOMEM;
    if (!rc)
        rc = pd_rm_rf(old);
    if (!rc && pd_path_exists(base) && rename(base, old) != 0)
        rc = pd_set_error(PD_ERR_IO, "cannot rename %s", base);
    if (!rc && rename(tx, base) != 0)
        rc = pd_set_error(PD_ERR_IO, "cannot rename %s", tx);
    if (!rc)
        pd_rm_rf(old);
    free(tx);
    free(base);
    free(old);
    return rc;
}

PDI_WEAK int
pd_blob_put(pd_blob_store *b, const char *stage, const char *name, const void *data, size_t len)
{
    char *p = pd_asprintf("%s/%s__tmp/%s.blob", b->dir, stage, name);
    int rc = p ? pd_file_write_atomic(p, data, len) : PD_ERR_NOMEM;
    free(p);
    return rc;
}

PDI_WEAK int pd_blob_get(
    pd_blob_store *b, const char *stage, const char *name, int committed, void **data, size_t *len)
{
    char *p = pd_asprintf("%s/%s%s/%s.blob", b->dir, stage, committed ? "" : "__tmp", name);
    if (!p)
        return PD_ERR_NOMEM;
    *data = pd_file_read(p, len);
    int rc = *data ? PD_OK : pd_set_error(PD_ERR_NOT_FOUND, "blob %s.%s not found", stage, name);
    free(p);
    return rc;
}

PDI_WEAK int pd_blob_copy_to_transaction(pd_blob_store *b, const char *stage, const char *name)
{
    void *data = NULL;
    size_t len = 0;
    int rc = pd_blob_get(b, stage, name, 1, &data, &len);
    if (!rc)
        rc = pd_blob_put(b, stage, name, data, len);
    free(data);
    return rc;
}
