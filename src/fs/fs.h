/*
 * fs/fs.h - files on local disk and on S3 behind one interface.
 *
 * A location is a URL or a path:
 *   /abs/path, rel/path, file:///abs/path      local file system
 *   s3://bucket/key                            S3 (or an S3-compatible server)
 * One pd_fs handle serves both kinds: it holds the S3 settings (endpoint,
 * addressing style, region), the credentials resolved once at open, and a
 * pool of HTTP connections. It may be used from several threads at once;
 * each pd_fs_file / pd_fs_writer is used by one thread at a time.
 *
 * S3 requests are signed with SigV4 by libcurl (CURLOPT_AWS_SIGV4). Reads of
 * an object are ranged GETs of just the bytes asked for; writers stream in
 * multipart uploads with several parts in flight, and the object becomes
 * visible only at pdi_fs_writer_commit. Failures are retried (5xx, 429/503
 * SlowDown, reset connections, truncated bodies) with exponential backoff and
 * jitter; what still fails comes back as one message naming the bucket, key,
 * HTTP status, S3 error code and endpoint. Secrets never appear in messages.
 *
 * Errors: PD_ERR_NOT_FOUND for a missing file/object/bucket, PD_ERR_INVALID
 * for a bad URL or unsafe name, PD_ERR_UNSUPPORTED for an operation a file
 * system cannot do correctly (e.g. an atomic rename on S3), PD_ERR_IO for
 * everything else. See docs/fs.md.
 */
#ifndef PD_FS_H
#define PD_FS_H

#include "pipedag/common.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ configuration */

#define PD_FS_CONFIG_VERSION 1
typedef struct pd_fs_config {
    int version; /* PD_FS_CONFIG_VERSION */
    /* S3 settings as a table store gives them; NULL/0 = resolve like awscli:
     * endpoint: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS
     *           (https://s3.<region>.amazonaws.com);
     * url_style: "path" or "virtual"; else the profile's `s3 =
     *           addressing_style` in ~/.aws/config, and path style whenever
     *           the endpoint host is an IP address or localhost;
     * region:   AWS_REGION, AWS_DEFAULT_REGION, the profile's region,
     *           us-east-1. */
    const char *endpoint_url; /* s3_endpoint_url, e.g. "http://127.0.0.1:9000" */
    const char *url_style;    /* s3_url_style: "path" | "virtual" | NULL */
    const char *region;       /* s3_region */
    const char *profile;      /* NULL = AWS_PROFILE, else "default" */
    /* Explicit credentials; NULL = AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
     * AWS_SESSION_TOKEN, then the profile in AWS_SHARED_CREDENTIALS_FILE
     * (~/.aws/credentials) and AWS_CONFIG_FILE (~/.aws/config). */
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;
    /* Transfers; 0 = default. */
    size_t part_size;        /* multipart part size (default 16 MiB, min 5 MiB) */
    int concurrency;         /* parts/ranges in flight per transfer (default 4) */
    int max_retries;         /* retries per request (default 8; -1 = none) */
    long connect_timeout_ms; /* default 10000 */
    long low_speed_time_s;   /* abort a transfer slower than 1 KiB/s for this long (default 30) */
} pd_fs_config;
#define PD_FS_CONFIG_INIT               \
    {                                   \
        .version = PD_FS_CONFIG_VERSION \
    }

typedef struct pd_fs pd_fs;

/* Open a file-system handle; cfg may be NULL (all defaults). S3 credentials
 * are resolved lazily at the first S3 request (a local-only user needs none);
 * a missing credential is a clear PD_ERR_CONFIG then. */
int pdi_fs_open(const pd_fs_config *cfg, pd_fs **out);
void pdi_fs_close(pd_fs *fs); /* NULL-safe */

/* One line describing the handle for logs / `pipedag config`:
 * endpoint, style, region, access key id source - never a secret.
 * Caller frees. */
char *pdi_fs_describe(pd_fs *fs);

/* ------------------------------------------------------------------- URLs */

bool pdi_fs_is_s3(const char *url); /* "s3://..." */

/* Join a base location and one name (a table/stage/file name):
 * "<base>/<name>", with exactly one '/' between. The name must be safe
 * (pdi_fs_check_name), so the result never addresses outside `base`.
 * Caller frees; NULL with PD_ERR_INVALID set when the name is unsafe. */
char *pdi_fs_join(const char *base, const char *name);

/* A name that becomes one path segment / key segment: refused (PD_ERR_INVALID
 * naming it) when empty, ".", "..", containing '/', '\\', a control character
 * or DEL, starting with '/', or longer than 255 bytes. */
int pdi_fs_check_name(const char *name);

/* ------------------------------------------------------------------- stat */

typedef struct pd_fs_stat {
    uint64_t size;
    int64_t mtime; /* seconds since the epoch (0 if unknown) */
    char etag[72]; /* S3 ETag without quotes ("" locally) */
    bool is_dir;   /* local directories; never on S3 */
} pd_fs_stat;

/* Stat / HEAD. PD_ERR_NOT_FOUND when missing (message names the URL). */
int pdi_fs_stat_url(pd_fs *fs, const char *url, pd_fs_stat *out);

/* Does the base location exist? Local: the directory (created when
 * `create` is true). S3: the bucket (HEAD bucket); PD_ERR_NOT_FOUND with
 * "bucket ... does not exist" otherwise. */
int pdi_fs_check_base(pd_fs *fs, const char *url, bool create);

/* ------------------------------------------------------------------ reading */

typedef struct pd_fs_file pd_fs_file;

/* Open for ranged reads (one stat/HEAD; the size is fixed at open, and on S3
 * every read is pinned to the ETag seen at open, so a concurrent overwrite is
 * an error, never a mix of two versions). */
int pdi_fs_file_open(pd_fs *fs, const char *url, pd_fs_file **out);
uint64_t pdi_fs_file_size(const pd_fs_file *f);
/* Read len bytes at offset. Returns the bytes read (== len unless the range
 * passes the end of the file) or a negative PD_ERR_*. Never returns short
 * because of a network fault: a truncated body is resumed from the missing
 * offset. Same shape as pd_parquet_read_at_fn: pass pdi_fs_read_at_cb with
 * the file as user pointer. */
int64_t pdi_fs_read_at(pd_fs_file *f, uint64_t offset, void *buf, size_t len);
int64_t pdi_fs_read_at_cb(void *file, uint64_t offset, void *buf, size_t len);
/* Declare that (nearly) the whole file will be read, in mostly ascending
 * order (a full scan of every column): on S3, a read of PDI_WINDOW bytes or
 * more then fetches a block of up to 64 MiB from its offset with parallel
 * ranged GETs, and the next reads are served from it (two blocks are kept,
 * for decoding threads that read two row groups at once), while a thread
 * fetches the block after it. Never set it for a read of a few columns: it
 * fetches bytes the reader may skip. No effect on local files. */
void pdi_fs_file_set_sequential(pd_fs_file *f, bool on);
/* Bytes fetched from storage through this file so far (for tests/benches). */
uint64_t pdi_fs_file_bytes_fetched(const pd_fs_file *f);
void pdi_fs_file_close(pd_fs_file *f); /* NULL-safe */

/* Whole file into memory (caller frees *data). */
int pdi_fs_read_all(pd_fs *fs, const char *url, void **data, size_t *len);
/* Download into a local file (parallel ranges on S3). */
int pdi_fs_download(pd_fs *fs, const char *url, const char *local_path);

/* ------------------------------------------------------------------ writing */

typedef struct pd_fs_writer pd_fs_writer;

/* Streaming writer. Nothing is visible at `url` until pdi_fs_writer_commit:
 * locally the bytes go to "<path>.tmp-<pid>-<n>" and are renamed into place;
 * on S3 parts of cfg.part_size are uploaded while writing (up to
 * cfg.concurrency in flight; memory stays about part_size * (concurrency+1))
 * and completed at commit; a small object is one PUT at commit. Every part
 * carries Content-MD5. */
int pdi_fs_writer_open(pd_fs *fs, const char *url, pd_fs_writer **out);
int pdi_fs_write(pd_fs_writer *w, const void *buf, size_t len);
int pdi_fs_write_cb(void *writer, const void *buf, size_t len); /* pd_parquet_write_fn shape */
/* Finish: make the object visible, free the writer (also on failure, which
 * aborts the upload). */
int pdi_fs_writer_commit(pd_fs_writer *w);
/* Drop everything written (S3: abort the multipart upload). NULL-safe. */
void pdi_fs_writer_abort(pd_fs_writer *w);

int pdi_fs_write_all(pd_fs *fs, const char *url, const void *data, size_t len);
/* Upload a local file (multipart with parts in flight for big files). */
int pdi_fs_upload(pd_fs *fs, const char *local_path, const char *url);

/* ---------------------------------------------------- listing and deleting */

typedef struct pd_fs_entry {
    char *url; /* full location, same scheme/form as the prefix given */
    uint64_t size;
    int64_t mtime;
} pd_fs_entry;

/* Every file under a prefix (recursively). For S3 the prefix is a key prefix
 * ("s3://b/dir/" lists dir's objects; "s3://b/dir" also "dir2/..."); locally
 * `prefix` is a directory. Sorted by url. Free with pdi_fs_entries_free. */
int pdi_fs_list(pd_fs *fs, const char *prefix, pd_fs_entry **out, size_t *n);
void pdi_fs_entries_free(pd_fs_entry *e, size_t n);

/* Delete one file; a missing one is fine. */
int pdi_fs_delete(pd_fs *fs, const char *url);
/* Delete many (S3: DeleteObjects, 1000 keys a request); all must have the
 * same scheme (and bucket). */
int pdi_fs_delete_many(pd_fs *fs, const char *const *urls, size_t n);
/* Delete everything under a prefix (as pdi_fs_list sees it), locally also
 * the emptied directories. */
int pdi_fs_delete_prefix(pd_fs *fs, const char *prefix);

/* Abort incomplete multipart uploads under an S3 prefix (what a killed run
 * left behind); locally remove stale "*.tmp-<pid>-*" files of dead pids.
 * *n_cleaned (may be NULL) = how many. */
int pdi_fs_cleanup_incomplete(pd_fs *fs, const char *prefix, size_t *n_cleaned);

/* ------------------------------------------------------ copying and moving */

/* Copy src to dst (same file system): S3 server-side copy (multipart copy
 * above 5 GiB), locally a hard link when possible, else a byte copy through
 * a temp file and rename. dst is replaced. */
int pdi_fs_copy(pd_fs *fs, const char *src, const char *dst);
/* Atomic rename: local only (rename(2)); PD_ERR_UNSUPPORTED on S3. */
int pdi_fs_rename(pd_fs *fs, const char *src, const char *dst);

#endif
