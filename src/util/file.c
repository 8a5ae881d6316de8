/*
 * util/file.c - file system helpers: whole-file reads, atomic writes
 * (temp file + fsync + rename + directory fsync), mkdir -p, rm -rf, paths.
 *
 * Atomic writes are what makes published state crash-safe: a reader sees the
 * old file or the new one, never a mixture.
 */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *pdi_file_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        pd_set_error(PD_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    pd_buf b = PD_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (pdi_buf_append(&b, chunk, n)) {
            fclose(f);
            pdi_buf_free(&b);
            return NULL;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        pdi_buf_free(&b);
        pd_set_error(PD_ERR_IO, "cannot read %s", path);
        return NULL;
    }
    if (len) {
        *len = b.len;
    }
    return pdi_buf_detach(&b);
}

int pdi_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return pd_set_error(PD_ERR_IO, "cannot open directory %s: %s", dir, strerror(errno));
    }
    fsync(fd);
    close(fd);
    return PD_OK;
}

int pdi_file_write_atomic(const char *path, const void *data, size_t len)
{
    char *tmp = pdi_asprintf("%s.tmp-%ld", path, (long)getpid());
    if (!tmp) {
        return PD_ERR_NOMEM;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        int rc = pd_set_error(PD_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            int rc = pd_set_error(PD_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return rc;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int rc = pd_set_error(PD_ERR_IO, "cannot sync %s: %s", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    if (rename(tmp, path) != 0) {
        int rc = pd_set_error(PD_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    char *dir = pdi_path_dirname(path);
    if (dir) {
        pdi_fsync_dir(dir);
        free(dir);
    }
    return PD_OK;
}

int pdi_mkdir_p(const char *path)
{
    char *p = pdi_strdup(path);
    if (!p) {
        return PD_ERR_NOMEM;
    }
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] == '/' || p[i] == '\0') {
            char c = p[i];
            p[i] = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                int rc =
                    pd_set_error(PD_ERR_IO, "cannot create directory %s: %s", p, strerror(errno));
                free(p);
                return rc;
            }
            p[i] = c;
        }
    }
    free(p);
    if (!pdi_is_dir(path)) {
        return pd_set_error(PD_ERR_IO, "%s exists and is not a directory", path);
    }
    return PD_OK;
}

int pdi_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return errno == ENOENT
                   ? PD_OK
                   : pd_set_error(PD_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) {
            return pd_set_error(PD_ERR_IO, "cannot open directory %s: %s", path, strerror(errno));
        }
        struct dirent *e;
        int rc = PD_OK;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                continue;
            }
            char *child = pdi_path_join(path, e->d_name);
            if (!child) {
                rc = PD_ERR_NOMEM;
                break;
            }
            rc = pdi_rm_rf(child);
            free(child);
            if (rc) {
                break;
            }
        }
        closedir(d);
        if (rc) {
            return rc;
        }
        if (rmdir(path) != 0 && errno != ENOENT) {
            return pd_set_error(PD_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
        }
        return PD_OK;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        return pd_set_error(PD_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    }
    return PD_OK;
}

bool pdi_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

bool pdi_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *pdi_path_join(const char *a, const char *b)
{
    if (!a || !*a || (b && b[0] == '/')) {
        return pdi_strdup(b);
    }
    size_t n = strlen(a);
    return pdi_asprintf("%s%s%s", a, (n && a[n - 1] == '/') ? "" : "/", b);
}

char *pdi_path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        return pdi_strdup(".");
    }
    if (slash == path) {
        return pdi_strdup("/");
    }
    return pdi_strndup(path, (size_t)(slash - path));
}
