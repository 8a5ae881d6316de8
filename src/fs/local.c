/*
 * fs/local.c - the local file system: stat, recursive listing, copy by hard
 * link (or bytes), and cleanup of temp files left by dead processes.
 */
#include "fs/fs_int.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pdi_local_stat(const char *path, pd_fs_stat *out)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return pd_set_error(errno == ENOENT || errno == ENOTDIR ? PD_ERR_NOT_FOUND : PD_ERR_IO,
                            "%s: %s", path, strerror(errno));
    memset(out, 0, sizeof *out);
    out->size = (uint64_t)st.st_size;
    out->mtime = (int64_t)st.st_mtime;
    out->is_dir = S_ISDIR(st.st_mode);
    return PD_OK;
}

typedef struct list_acc {
    pd_fs_entry *e;
    size_t n, cap;
} list_acc;

static int walk(const char *dir, list_acc *acc, int depth)
{
    if (depth > 64)
        return pd_set_error(PD_ERR_IO, "%s: directory tree deeper than 64 levels", dir);
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT && depth == 0)
            return PD_OK; /* nothing under a missing prefix */
        return pd_set_error(PD_ERR_IO, "cannot list %s: %s", dir, strerror(errno));
    }
    int rc = PD_OK;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *p = pdi_path_join(dir, de->d_name);
        struct stat st;
        if (!p) {
            rc = PD_ERR_NOMEM;
        } else if (lstat(p, &st) != 0) {
            if (errno != ENOENT)
                rc = pd_set_error(PD_ERR_IO, "cannot stat %s: %s", p, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk(p, acc, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            pd_fs_entry *ne = pdi_grow(acc->e, &acc->cap, acc->n, sizeof *acc->e, 16);
            if (!ne) {
                rc = PD_ERR_NOMEM;
            } else {
                acc->e = ne;
                acc->e[acc->n].url = p;
                acc->e[acc->n].size = (uint64_t)st.st_size;
                acc->e[acc->n].mtime = (int64_t)st.st_mtime;
                acc->n++;
                p = NULL;
            }
        }
        free(p);
    }
    closedir(d);
    return rc;
}

int pdi_local_list(const char *dir, pd_fs_entry **out, size_t *n)
{
    list_acc acc = {0};
    int rc = walk(dir, &acc, 0);
    if (rc) {
        pdi_fs_entries_free(acc.e, acc.n);
        return rc;
    }
    *out = acc.e;
    *n = acc.n;
    return PD_OK;
}

static int copy_bytes(const char *src, const char *tmp)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return pd_set_error(errno == ENOENT ? PD_ERR_NOT_FOUND : PD_ERR_IO, "cannot open %s: %s",
                            src, strerror(errno));
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        int rc = pd_set_error(PD_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        close(in);
        return rc;
    }
    int rc = PD_OK;
    size_t cap = (size_t)1 << 20;
    char *buf = pdi_malloc(cap);
    if (!buf)
        rc = PD_ERR_NOMEM;
    while (!rc) {
        ssize_t n = read(in, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = pd_set_error(PD_ERR_IO, "cannot read %s: %s", src, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; !rc && done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                rc = pd_set_error(PD_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
            else
                done += w;
        }
    }
    free(buf);
    close(in);
    if (!rc && fsync(out) != 0)
        rc = pd_set_error(PD_ERR_IO, "cannot sync %s: %s", tmp, strerror(errno));
    if (close(out) != 0 && !rc)
        rc = pd_set_error(PD_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    return rc;
}

/* dst is replaced atomically: a hard link (or a byte copy) under a temp name
 * beside dst, then rename(2) over dst. */
int pdi_local_copy(const char *src, const char *dst, unsigned seq)
{
    if (strcmp(src, dst) == 0)
        return PD_OK;
    struct stat st;
    if (stat(src, &st) != 0)
        return pd_set_error(errno == ENOENT ? PD_ERR_NOT_FOUND : PD_ERR_IO, "cannot copy %s: %s",
                            src, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return pd_set_error(PD_ERR_INVALID, "cannot copy %s: not a regular file", src);
    char *tmp = pdi_asprintf("%s.tmp-%ld-%u", dst, (long)getpid(), seq);
    if (!tmp)
        return PD_ERR_NOMEM;
    int rc = PD_OK;
    if (link(src, tmp) != 0) {
        if (errno == ENOENT && !pdi_path_exists(src))
            rc = pd_set_error(PD_ERR_NOT_FOUND, "cannot copy %s: it vanished", src);
        else
            rc = copy_bytes(src, tmp); /* EXDEV, EPERM, EMLINK, ...: copy the bytes */
    }
    if (!rc && rename(tmp, dst) != 0)
        rc = pd_set_error(PD_ERR_IO, "cannot rename %s to %s: %s", tmp, dst, strerror(errno));
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* "<name>.tmp-<pid>-<seq>" whose pid is not alive */
static bool stale_tmp(const char *path)
{
    const char *t = strstr(path, ".tmp-");
    if (!t)
        return false;
    const char *last;
    while ((last = strstr(t + 1, ".tmp-")))
        t = last;
    char *end;
    long pid = strtol(t + 5, &end, 10);
    if (end == t + 5 || *end != '-' || pid <= 0)
        return false;
    if (pid == (long)getpid())
        return false;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int pdi_local_cleanup(const char *dir, size_t *n)
{
    pd_fs_entry *e;
    size_t ne;
    int rc = pdi_local_list(dir, &e, &ne);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < ne; i++)
        if (stale_tmp(e[i].url)) {
            if (unlink(e[i].url) == 0)
                (*n)++;
            else if (errno != ENOENT)
                rc = pd_set_error(PD_ERR_IO, "cannot delete %s: %s", e[i].url, strerror(errno));
        }
    pdi_fs_entries_free(e, ne);
    return rc;
}
