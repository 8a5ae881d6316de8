/*
 * store/sqlite/sqlite_files.c - the directory of one file per schema.
 */
#include "store/sqlite/sqlite_files.h"
#include "pipedag/pipedag.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *pdi_sqlite_schema_file(const char *dir, const char *schema)
{
    return pdi_asprintf("%s/%s.sqlite", dir, schema);
}

int pdi_sqlite_delete_schema_files(const char *dir, const char *schema)
{
    static const char *const ext[] = {"", "-journal", "-wal", "-shm"};
    int rc = PD_OK;
    for (size_t i = 0; i < 4 && rc == PD_OK; i++) {
        char *f = pdi_asprintf("%s/%s.sqlite%s", dir, schema, ext[i]);
        if (!f)
            return PD_ERR_NOMEM;
        if (unlink(f) != 0 && errno != ENOENT)
            rc = pd_set_error(PD_ERR_IO, "cannot delete %s", f);
        free(f);
    }
    return rc;
}

int pdi_sqlite_list_schema_files(const char *dir, pd_strv *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return pd_set_error(PD_ERR_IO, "cannot list %s", dir);
    struct dirent *e;
    int rc = PD_OK;
    while ((e = readdir(d)) != NULL && rc == PD_OK) {
        size_t n = strlen(e->d_name);
        if (n <= 7 || strcmp(e->d_name + n - 7, ".sqlite") != 0)
            continue;
        char *nm = pdi_strndup(e->d_name, n - 7);
        rc = nm ? pdi_strv_push_owned(out, nm) : PD_ERR_NOMEM;
    }
    closedir(d);
    return rc;
}
