/*
 * blob/blob.c - FileBlobStore: <base>/<instance_id>/<stage>/<name>.blob,
 * written into <stage>__tmp during a run. Commit publishes the directory
 * atomically (renameat2 RENAME_EXCHANGE, then the old content is deleted;
 * where exchange is unsupported: a rename dance through <stage>__swap that
 * pdi_blob_init_stage / reads complete after a crash). Cache hits hard-link
 * the committed file (blobs are immutable) or copy it.
 * NoBlobStore (class none): stage operations succeed, blob use fails.
 */
#include "blob/blob.h"
#include "util/util.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#    define RENAME_EXCHANGE (1 << 1)
#endif
int renameat2(
    int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);

struct pd_blob_store {
    pd_blob_class klass;
    char *dir; /* <base>/<instance_id> */
};

int pdi_blob_store_open(const pd_config *cfg, pd_blob_store **out)
{
    *out = NULL;
    pd_blob_store *b = pdi_calloc(1, sizeof *b);
    if (!b)
        return PD_ERR_NOMEM;
    b->klass = cfg->blob_store;
    if (b->klass == PD_BLOB_FILE) {
        const char *base = cfg->blob_base_path ? cfg->blob_base_path : ".pipedag/blobs";
        b->dir = pdi_path_join(base, cfg->instance_id ? cfg->instance_id : "default");
        int rc = b->dir ? pdi_mkdir_p(b->dir) : PD_ERR_NOMEM;
        if (rc) {
            pd_error_prefix("FileBlobStore");
            pdi_blob_store_close(b);
            return rc;
        }
    }
    *out = b;
    return PD_OK;
}

void pdi_blob_store_close(pd_blob_store *b)
{
    if (!b)
        return;
    free(b->dir);
    free(b);
}

/* Test hook: $PD_TEST_CRASH_AT == point -> _exit(99) (docs/stores.md). */
static void crash_point(const char *point)
{
    const char *at = getenv("PD_TEST_CRASH_AT");
    if (at && strcmp(at, point) == 0)
        _exit(99);
}

static int no_blobs(void)
{
    return pd_set_error(PD_ERR_UNSUPPORTED,
                        "no blob store is configured (blob_store: NoBlobStore): configure "
                        "FileBlobStore to use blobs");
}

static bool valid_name(const char *n)
{
    return n && *n && !strchr(n, '/') && strcmp(n, ".") != 0 && strcmp(n, "..") != 0;
}

/* Stage and (unless NULL) blob names must be single path components. */
static int check_names(const char *stage, const char *name)
{
    if (!valid_name(stage))
        return pd_set_error(PD_ERR_INVALID, "invalid stage name '%s' for the blob store",
                            stage ? stage : "");
    if (name && !valid_name(name))
        return pd_set_error(PD_ERR_INVALID, "invalid blob name '%s' (stage '%s')", name, stage);
    return PD_OK;
}

static char *stage_dir(pd_blob_store *b, const char *stage, const char *suffix)
{
    return pdi_asprintf("%s/%s%s", b->dir, stage, suffix);
}

/* Finish a commit interrupted in the rename dance (fallback path). */
static int recover(pd_blob_store *b, const char *stage)
{
    char *base = stage_dir(b, stage, "");
    char *swap = stage_dir(b, stage, "__swap");
    char *old = stage_dir(b, stage, "__old");
    int rc = (base && swap && old) ? PD_OK : PD_ERR_NOMEM;
    if (rc == PD_OK && pdi_is_dir(swap)) {
        /* swap holds the new version: the table store already committed */
        if (pdi_is_dir(base)) {
            pdi_rm_rf(old);
            if (rename(base, old) != 0)
                rc = pd_set_error(PD_ERR_IO, "cannot rename %s: %s", base, strerror(errno));
        }
        if (rc == PD_OK && rename(swap, base) != 0)
            rc = pd_set_error(PD_ERR_IO, "cannot rename %s: %s", swap, strerror(errno));
    }
    if (rc == PD_OK && pdi_is_dir(old))
        rc = pdi_rm_rf(old);
    free(base);
    free(swap);
    free(old);
    return rc;
}

int pdi_blob_init_stage(pd_blob_store *b, const char *stage)
{
    if (b->klass != PD_BLOB_FILE)
        return PD_OK;
    int rc = check_names(stage, NULL);
    if (rc)
        return rc;
    rc = recover(b, stage);
    char *base = stage_dir(b, stage, "");
    char *tmp = stage_dir(b, stage, "__tmp");
    if (rc == PD_OK)
        rc = (base && tmp) ? pdi_mkdir_p(base) : PD_ERR_NOMEM;
    if (rc == PD_OK)
        rc = pdi_rm_rf(tmp);
    if (rc == PD_OK)
        rc = pdi_mkdir_p(tmp);
    if (rc)
        pd_error_prefix("blob store init of stage '%s'", stage);
    free(base);
    free(tmp);
    return rc;
}

int pdi_blob_commit_stage(pd_blob_store *b, const char *stage)
{
    if (b->klass != PD_BLOB_FILE)
        return PD_OK;
    int vrc = check_names(stage, NULL);
    if (vrc)
        return vrc;
    char *base = stage_dir(b, stage, "");
    char *tmp = stage_dir(b, stage, "__tmp");
    char *swap = stage_dir(b, stage, "__swap");
    char *old = stage_dir(b, stage, "__old");
    int rc = (base && tmp && swap && old) ? PD_OK : PD_ERR_NOMEM;
    if (rc == PD_OK && !pdi_is_dir(tmp))
        rc = pd_set_error(PD_ERR_NOT_FOUND, "blob transaction directory %s is missing", tmp);
    crash_point("blob_commit_begin");
    if (rc == PD_OK && !pdi_is_dir(base)) {
        if (rename(tmp, base) != 0)
            rc = pd_set_error(PD_ERR_IO, "cannot rename %s: %s", tmp, strerror(errno));
    } else if (rc == PD_OK) {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, base, RENAME_EXCHANGE) == 0) {
            /* tmp now holds the previous version */
            crash_point("blob_commit_after_exchange");
            rc = pdi_fsync_dir(b->dir);
            if (rc == PD_OK)
                rc = pdi_rm_rf(tmp);
        } else {
            /* no atomic exchange here: tmp -> swap, base -> old, swap -> base */
            if (rename(tmp, swap) != 0)
                rc = pd_set_error(PD_ERR_IO, "cannot rename %s: %s", tmp, strerror(errno));
            if (rc == PD_OK)
                rc = recover(b, stage);
        }
    }
    if (rc == PD_OK)
        rc = pdi_fsync_dir(b->dir);
    if (rc)
        pd_error_prefix("blob store commit of stage '%s'", stage);
    free(base);
    free(tmp);
    free(swap);
    free(old);
    return rc;
}

static char *blob_path(pd_blob_store *b, const char *stage, const char *name, bool committed)
{
    return pdi_asprintf("%s/%s%s/%s.blob", b->dir, stage, committed ? "" : "__tmp", name);
}

int pdi_blob_put(
    pd_blob_store *b, const char *stage, const char *name, const void *data, size_t len)
{
    if (b->klass != PD_BLOB_FILE)
        return no_blobs();
    int vrc = check_names(stage, name ? name : "");
    if (vrc)
        return vrc;
    char *p = blob_path(b, stage, name, false);
    if (!p)
        return PD_ERR_NOMEM;
    int rc = pdi_file_write_atomic(p, data, len);
    if (rc)
        pd_error_prefix("blob '%s' of stage '%s'", name, stage);
    free(p);
    return rc;
}

int pdi_blob_get(
    pd_blob_store *b, const char *stage, const char *name, int committed, void **data, size_t *len)
{
    *data = NULL;
    if (len)
        *len = 0;
    if (b->klass != PD_BLOB_FILE)
        return no_blobs();
    int vrc = check_names(stage, name ? name : "");
    if (vrc)
        return vrc;
    if (committed)
        recover(b, stage);
    char *p = blob_path(b, stage, name, committed != 0);
    if (!p)
        return PD_ERR_NOMEM;
    int rc = PD_OK;
    if (!pdi_path_exists(p)) {
        rc = pd_set_error(PD_ERR_NOT_FOUND, "blob '%s' of stage '%s' does not exist (%s)", name,
                          stage, p);
    } else {
        size_t n = 0;
        char *d = pdi_file_read(p, &n);
        if (!d)
            rc = pd_error_prefix("blob '%s' of stage '%s'", name, stage);
        *data = d;
        if (len)
            *len = n;
    }
    free(p);
    return rc;
}

static int copy_file(const char *from, const char *to)
{
    size_t n = 0;
    char *d = pdi_file_read(from, &n);
    if (!d)
        return pd_last_error_code() ? pd_last_error_code() : PD_ERR_IO;
    int rc = pdi_file_write_atomic(to, d, n);
    free(d);
    return rc;
}

static char *key_path(pd_blob_store *b, const char *stage, const char *name, bool committed)
{
    return pdi_asprintf("%s/%s%s/%s.blob.key", b->dir, stage, committed ? "" : "__tmp", name);
}

int pdi_blob_set_key(pd_blob_store *b, const char *stage, const char *name, const char *key)
{
    if (b->klass != PD_BLOB_FILE)
        return no_blobs();
    int rc = check_names(stage, name ? name : "");
    if (rc)
        return rc;
    char *p = key_path(b, stage, name, false);
    if (!p)
        return PD_ERR_NOMEM;
    rc = pdi_file_write_atomic(p, key, strlen(key));
    if (rc)
        pd_error_prefix("key of blob '%s' of stage '%s'", name, stage);
    free(p);
    return rc;
}

int pdi_blob_committed_key_matches(
    pd_blob_store *b, const char *stage, const char *name, const char *key, bool *match)
{
    *match = false;
    if (b->klass != PD_BLOB_FILE)
        return no_blobs();
    int rc = check_names(stage, name ? name : "");
    if (rc)
        return rc;
    recover(b, stage);
    char *p = key_path(b, stage, name, true);
    if (!p)
        return PD_ERR_NOMEM;
    if (pdi_path_exists(p)) {
        size_t n = 0;
        char *got = pdi_file_read(p, &n);
        *match = got && strcmp(got, key) == 0;
        free(got);
    }
    free(p);
    return PD_OK;
}

int pdi_blob_copy_to_transaction(pd_blob_store *b, const char *stage, const char *name)
{
    if (b->klass != PD_BLOB_FILE)
        return no_blobs();
    int vrc = check_names(stage, name ? name : "");
    if (vrc)
        return vrc;
    char *from = blob_path(b, stage, name, true);
    char *to = blob_path(b, stage, name, false);
    int rc = (from && to) ? PD_OK : PD_ERR_NOMEM;
    if (rc == PD_OK && !pdi_path_exists(from))
        rc = pd_set_error(PD_ERR_CACHE, "cached blob '%s' of stage '%s' is missing (%s)", name,
                          stage, from);
    if (rc == PD_OK) {
        unlink(to);
        if (link(from, to) != 0)
            rc = copy_file(from, to);
    }
    free(from);
    free(to);
    /* the key travels with the blob */
    char *kf = rc == PD_OK ? key_path(b, stage, name, true) : NULL;
    char *kt = rc == PD_OK ? key_path(b, stage, name, false) : NULL;
    if (rc == PD_OK && (!kf || !kt))
        rc = PD_ERR_NOMEM;
    if (rc == PD_OK && pdi_path_exists(kf)) {
        unlink(kt);
        if (link(kf, kt) != 0)
            rc = copy_file(kf, kt);
    }
    free(kf);
    free(kt);
    return rc;
}
