/*
 * bench/s3/fscp.c - `pd_fscp`: copy one file between any two locations src/fs
 * understands (path, file://, s3://), for the awscli cross-check test and the
 * S3 benchmark. Also `pd_fscp --ls PREFIX`, `pd_fscp --rm URL`.
 *
 *   pd_fscp [--part-mb N] [--concurrency N] [--endpoint URL] [--style S] SRC DST
 *
 * Local -> S3 is a streaming multipart upload, S3 -> local a parallel ranged
 * download, S3 -> S3 a server-side copy. Prints seconds and MiB/s on stderr
 * with -v.
 */
#include "fs/fs.h"
#include "util/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    pd_fs_config c = PD_FS_CONFIG_INIT;
    const char *args[2] = {0};
    int na = 0, verbose = 0;
    const char *ls = NULL, *rm = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--part-mb") == 0 && i + 1 < argc)
            c.part_size = (size_t)atol(argv[++i]) << 20;
        else if (strcmp(argv[i], "--concurrency") == 0 && i + 1 < argc)
            c.concurrency = atoi(argv[++i]);
        else if (strcmp(argv[i], "--endpoint") == 0 && i + 1 < argc)
            c.endpoint_url = argv[++i];
        else if (strcmp(argv[i], "--style") == 0 && i + 1 < argc)
            c.url_style = argv[++i];
        else if (strcmp(argv[i], "--ls") == 0 && i + 1 < argc)
            ls = argv[++i];
        else if (strcmp(argv[i], "--rm") == 0 && i + 1 < argc)
            rm = argv[++i];
        else if (strcmp(argv[i], "-v") == 0)
            verbose = 1;
        else if (na < 2 && (argv[i][0] != '-' || !argv[i][1]))
            args[na++] = argv[i];
        else {
            fprintf(stderr, "usage: pd_fscp [--part-mb N] [--concurrency N] [--endpoint URL] "
                            "[--style path|virtual] [-v] SRC DST | --ls PREFIX | --rm URL\n");
            return 2;
        }
    }
    pd_fs *fs;
    if (pdi_fs_open(&c, &fs)) {
        fprintf(stderr, "pd_fscp: %s\n", pd_last_error());
        return 1;
    }
    int rc;
    double t0 = now();
    uint64_t bytes = 0;
    if (ls) {
        pd_fs_entry *e;
        size_t n;
        rc = pdi_fs_list(fs, ls, &e, &n);
        for (size_t i = 0; !rc && i < n; i++)
            printf("%12llu %s\n", (unsigned long long)e[i].size, e[i].url);
        if (!rc)
            pdi_fs_entries_free(e, n);
    } else if (rm) {
        rc = pdi_fs_delete(fs, rm);
    } else if (na != 2) {
        fprintf(stderr, "pd_fscp: need SRC and DST\n");
        pdi_fs_close(fs);
        return 2;
    } else {
        bool s3a = pdi_fs_is_s3(args[0]), s3b = pdi_fs_is_s3(args[1]);
        pd_fs_stat st;
        rc = pdi_fs_stat_url(fs, args[0], &st);
        bytes = st.size;
        if (!rc) {
            if (s3a && !s3b)
                rc = pdi_fs_download(fs, args[0], args[1]);
            else if (!s3a && s3b)
                rc = pdi_fs_upload(fs, args[0], args[1]);
            else
                rc = pdi_fs_copy(fs, args[0], args[1]);
        }
    }
    double dt = now() - t0;
    if (rc)
        fprintf(stderr, "pd_fscp: %s\n", pd_last_error());
    else if (verbose && bytes)
        fprintf(stderr, "pd_fscp: %llu bytes in %.3f s = %.1f MiB/s\n", (unsigned long long)bytes,
                dt, (double)bytes / (1 << 20) / dt);
    pdi_fs_close(fs);
    return rc ? 1 : 0;
}
