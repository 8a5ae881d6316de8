/*
 * fs/fs_int.h - private to src/fs: the handle, the parsed location, and the
 * split between fs.c (dispatch, names), local.c, s3.c (requests, retries,
 * errors), s3_ops.c (object operations), s3_cred.c (credentials, profile).
 */
#ifndef PD_FS_INT_H
#define PD_FS_INT_H

#include "fs/fs.h"
#include "util/util.h"
#include <curl/curl.h>
#include <pthread.h>

#define PDI_MIB            ((size_t)1 << 20)
#define PDI_DEFAULT_PART   (16 * PDI_MIB)
#define PDI_MIN_PART       (5 * PDI_MIB)
#define PDI_MAX_PARTS      10000
#define PDI_MAX_KEY        1024
#define PDI_MAX_NAME       255
#define PDI_COPY_PART_MAX  ((uint64_t)5 << 30) /* single CopyObject limit */
#define PDI_COPY_PART_SIZE ((uint64_t)512 << 20)

/* A parsed location: local path or S3 bucket + key. */
typedef struct pdi_loc {
    bool s3;
    char *path;   /* local: the file system path */
    char *bucket; /* s3 */
    char *key;    /* s3: without leading '/'; may be "" */
} pdi_loc;
int pdi_loc_parse(const char *url, pdi_loc *out);
void pdi_loc_free(pdi_loc *l);

/* Resolved S3 settings (filled once, under fs->mu). */
typedef struct pdi_s3 {
    bool ready;
    int rc;         /* resolution result (sticky) */
    char *err;      /* its message */
    char *scheme;   /* "http" | "https" */
    char *hostport; /* "127.0.0.1:9000", "s3.us-east-1.amazonaws.com" */
    char *endpoint; /* scheme://hostport (for messages) */
    int style;      /* 0 auto (virtual when DNS-safe), 1 path, 2 virtual */
    char *region;
    char *sigv4; /* "aws:amz:<region>:s3" */
    char *ak, *sk, *token;
    char *cred_source; /* "environment", "profile default in <file>", ... */
} pdi_s3;

struct pd_fs {
    pd_fs_config cfg; /* strings below owned */
    char *s_endpoint, *s_style, *s_region, *s_profile, *s_ak, *s_sk, *s_token;
    pthread_mutex_t mu;
    pdi_s3 s3;
    CURL **idle; /* pool of easy handles (each keeps its connections) */
    size_t n_idle, cap_idle;
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    unsigned tmp_seq;
};

/* s3.c */
int pdi_s3_ready(pd_fs *fs); /* resolve settings/credentials once */
void pdi_s3_free(pdi_s3 *s);
CURL *pdi_curl_get(pd_fs *fs);
void pdi_curl_put(pd_fs *fs, CURL *h);
char *pdi_uri_encode(const char *s, bool keep_slash);

/* One S3 request, retried on transient faults. */
typedef struct pdi_req {
    const char *method; /* GET PUT POST DELETE HEAD */
    const char *bucket;
    const char *key;   /* NULL/"" = bucket request */
    const char *query; /* canonical (sorted, encoded) query without '?', or NULL */
    /* request body (PUT/POST) */
    const void *body;
    size_t body_len;
    bool md5;           /* send Content-MD5 of the body */
    const char *hdr[6]; /* extra "Name: value" headers */
    /* response body: into `sink_buf` at offset 0.. (ranged GET) or into `out` */
    bool ranged;
    uint64_t range_off;
    size_t range_len;
    uint8_t *sink_buf; /* ranged: destination of range_len bytes */
    int sink_fd;       /* ranged: or pwrite at range_off (-1 = unused) */
    pd_buf *out;       /* otherwise collected here (may be NULL) */
    bool not_found_ok; /* 404 is returned as PD_ERR_NOT_FOUND without a retry */
    /* results */
    long status;
    char etag[72];
    uint64_t content_length;
    int64_t mtime;
    char code[64];    /* S3 error code */
    uint64_t fetched; /* body bytes received (all attempts) */
} pdi_req;
int pdi_s3_request(pd_fs *fs, pdi_req *r);
/* Build the message for a failed request; returns rc. */
int pdi_s3_fail(pd_fs *fs, const pdi_req *r, int rc, const char *what);

/* tiny XML helpers (S3 responses): the text of the first <tag>...</tag>
 * at or after *pos (entities decoded, caller frees), NULL if none. */
char *pdi_xml_text(const char *xml, const char *tag, const char **pos);
/* Start of the next <tag> block's content and its end, or NULL. */
const char *pdi_xml_block(const char *xml, const char *tag, const char **end);
char *pdi_xml_escape(const char *s);

/* local.c */
int pdi_local_stat(const char *path, pd_fs_stat *out);
int pdi_local_list(const char *dir, pd_fs_entry **out, size_t *n);
int pdi_local_copy(const char *src, const char *dst, unsigned seq);
int pdi_local_cleanup(const char *dir, size_t *n);

/* s3_ops.c */
int pdi_s3_stat(pd_fs *fs, const pdi_loc *l, pd_fs_stat *out);
int pdi_s3_bucket_exists(pd_fs *fs, const char *bucket);
int pdi_s3_list(pd_fs *fs, const pdi_loc *l, pd_fs_entry **out, size_t *n);
int pdi_s3_delete_keys(pd_fs *fs, const char *bucket, const char *const *keys, size_t n);
int pdi_s3_copy(pd_fs *fs, const pdi_loc *src, const pdi_loc *dst, uint64_t size);
int pdi_s3_cleanup(pd_fs *fs, const pdi_loc *l, size_t *n);
/* Parallel ranged GET of [off, off+len) into buf or (fd >= 0) a file. */
int pdi_s3_get_range(pd_fs *fs,
                     const pdi_loc *l,
                     const char *etag,
                     uint64_t off,
                     size_t len,
                     uint8_t *buf,
                     int fd,
                     uint64_t *fetched);
/* Multipart copy plan: part i of n for an object of `size` bytes. */
size_t pdi_copy_parts(uint64_t size, uint64_t part, uint64_t *first_len);

/* s3_cred.c */
typedef struct pdi_profile {
    char *ak, *sk, *token, *region, *addressing_style, *source;
} pdi_profile;
/* Read the profile from the credentials and config files (env overrides
 * the file names). Missing files are fine. */
int pdi_profile_load(const char *profile, pdi_profile *out);
void pdi_profile_free(pdi_profile *p);

/* writer internals shared by fs.c and s3_ops.c */
typedef struct pdi_s3_writer pdi_s3_writer;
int pdi_s3_writer_open(pd_fs *fs, const pdi_loc *l, pdi_s3_writer **out);
int pdi_s3_writer_write(pdi_s3_writer *w, const void *buf, size_t len);
int pdi_s3_writer_commit(pdi_s3_writer *w);
void pdi_s3_writer_abort(pdi_s3_writer *w);

#endif
