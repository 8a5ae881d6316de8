/*
 * fs/s3_ops.c - S3 object operations on top of pdi_s3_request: HEAD,
 * bucket check, ListObjectsV2, DeleteObjects, (multipart) server-side copy,
 * cleanup of incomplete uploads, parallel ranged GETs, and the streaming
 * multipart writer with several parts in flight.
 */
#include "fs/fs_int.h"
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ HEAD, bucket */

int pdi_s3_bucket_exists(pd_fs *fs, const char *bucket)
{
    pdi_req r = {.method = "HEAD", .bucket = bucket, .not_found_ok = true, .sink_fd = -1};
    int rc = pdi_s3_request(fs, &r);
    if (rc == PD_ERR_NOT_FOUND)
        return pd_set_error(PD_ERR_NOT_FOUND, "S3 bucket '%s' does not exist (endpoint %s)", bucket,
                            fs->s3.endpoint);
    if (rc && r.status == 403) {
        /* HEAD has no body: ask again with a GET to learn the error code */
        pd_buf out = {0};
        pdi_req g = {.method = "GET",
                     .bucket = bucket,
                     .query = "list-type=2&max-keys=0",
                     .out = &out,
                     .sink_fd = -1};
        rc = pdi_s3_request(fs, &g);
        pdi_buf_free(&out);
    }
    return rc;
}

int pdi_s3_stat(pd_fs *fs, const pdi_loc *l, pd_fs_stat *out)
{
    memset(out, 0, sizeof *out);
    if (!*l->key)
        return pd_set_error(PD_ERR_INVALID, "s3://%s/: a bucket is not an object", l->bucket);
    pdi_req r = {
        .method = "HEAD", .bucket = l->bucket, .key = l->key, .not_found_ok = true, .sink_fd = -1};
    int rc = pdi_s3_request(fs, &r);
    if (rc == PD_ERR_NOT_FOUND) {
        int brc = pdi_s3_bucket_exists(fs, l->bucket);
        if (brc)
            return brc;
        return pd_set_error(PD_ERR_NOT_FOUND, "s3://%s/%s does not exist (endpoint %s)", l->bucket,
                            l->key, fs->s3.endpoint);
    }
    if (rc && (r.status == 403 || r.status == 400)) {
        pd_buf body = {0};
        uint8_t one;
        pdi_req g = {.method = "GET",
                     .bucket = l->bucket,
                     .key = l->key,
                     .ranged = true,
                     .range_len = 1,
                     .sink_buf = &one,
                     .sink_fd = -1,
                     .out = &body};
        int grc = pdi_s3_request(fs, &g);
        pdi_buf_free(&body);
        if (grc)
            return grc;
    }
    if (rc)
        return rc;
    out->size = r.content_length;
    out->mtime = r.mtime;
    snprintf(out->etag, sizeof out->etag, "%s", r.etag);
    return PD_OK;
}

/* ---------------------------------------------------------------- listing */

int pdi_s3_list(pd_fs *fs, const pdi_loc *l, pd_fs_entry **out, size_t *n)
{
    pd_fs_entry *e = NULL;
    size_t ne = 0, cap = 0;
    char *token = NULL;
    char *eprefix = pdi_uri_encode(l->key, false);
    int rc = eprefix ? PD_OK : PD_ERR_NOMEM;
    pd_buf body = {0};
    while (!rc) {
        char *etok = token ? pdi_uri_encode(token, false) : NULL;
        char *q = token ? pdi_asprintf("continuation-token=%s&list-type=2&prefix=%s", etok, eprefix)
                        : pdi_asprintf("list-type=2&prefix=%s", eprefix);
        free(etok);
        if (!q) {
            rc = PD_ERR_NOMEM;
            break;
        }
        pdi_req r = {.method = "GET", .bucket = l->bucket, .query = q, .out = &body, .sink_fd = -1};
        rc = pdi_s3_request(fs, &r);
        free(q);
        if (rc)
            break;
        const char *pos = body.data, *end;
        const char *blk;
        while (!rc && (blk = pdi_xml_block(pos, "Contents", &end))) {
            size_t blen = (size_t)(end - blk);
            char *chunk = pdi_strndup(blk, blen);
            char *key = chunk ? pdi_xml_text(chunk, "Key", NULL) : NULL;
            char *size = chunk ? pdi_xml_text(chunk, "Size", NULL) : NULL;
            char *lm = chunk ? pdi_xml_text(chunk, "LastModified", NULL) : NULL;
            pd_fs_entry *ne2 = key ? pdi_grow(e, &cap, ne, sizeof *e, 64) : NULL;
            if (!ne2) {
                rc = pd_set_error(PD_ERR_IO, "s3://%s/%s: malformed ListObjectsV2 response",
                                  l->bucket, l->key);
            } else {
                e = ne2;
                e[ne].url = pdi_asprintf("s3://%s/%s", l->bucket, key);
                e[ne].size = size ? strtoull(size, NULL, 10) : 0;
                e[ne].mtime = lm ? (int64_t)curl_getdate(lm, NULL) : 0;
                if (!e[ne].url)
                    rc = PD_ERR_NOMEM;
                else
                    ne++;
            }
            free(chunk);
            free(key);
            free(size);
            free(lm);
            pos = end;
        }
        char *trunc = pdi_xml_text(body.data, "IsTruncated", NULL);
        bool more = trunc && strcmp(trunc, "true") == 0;
        free(trunc);
        free(token);
        token = more ? pdi_xml_text(body.data, "NextContinuationToken", NULL) : NULL;
        if (!more)
            break;
        if (!token) {
            rc = pd_set_error(PD_ERR_IO,
                              "s3://%s/%s: truncated listing without a continuation token",
                              l->bucket, l->key);
        }
    }
    free(token);
    free(eprefix);
    pdi_buf_free(&body);
    if (rc) {
        pdi_fs_entries_free(e, ne);
        return rc;
    }
    *out = e;
    *n = ne;
    return PD_OK;
}

/* --------------------------------------------------------------- deleting */

int pdi_s3_delete_keys(pd_fs *fs, const char *bucket, const char *const *keys, size_t n)
{
    int rc = PD_OK;
    if (n == 1) {
        pdi_req r = {.method = "DELETE",
                     .bucket = bucket,
                     .key = keys[0],
                     .not_found_ok = true,
                     .sink_fd = -1};
        rc = pdi_s3_request(fs, &r);
        if (rc == PD_ERR_NOT_FOUND)
            return strcmp(r.code, "NoSuchBucket") == 0 ? pdi_s3_fail(fs, &r, rc, NULL) : PD_OK;
        return rc;
    }
    pd_buf out = {0};
    for (size_t at = 0; !rc && at < n; at += 1000) {
        size_t m = n - at < 1000 ? n - at : 1000;
        pd_buf x = {0};
        pdi_buf_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>");
        for (size_t i = 0; i < m; i++) {
            char *k = pdi_xml_escape(keys[at + i]);
            pdi_buf_printf(&x, "<Object><Key>%s</Key></Object>", k ? k : "");
            free(k);
        }
        pdi_buf_puts(&x, "</Delete>");
        if (x.oom) {
            pdi_buf_free(&x);
            return PD_ERR_NOMEM;
        }
        pdi_req r = {.method = "POST",
                     .bucket = bucket,
                     .query = "delete=",
                     .body = x.data,
                     .body_len = x.len,
                     .md5 = true,
                     .hdr = {"Content-Type: application/xml"},
                     .out = &out,
                     .sink_fd = -1};
        rc = pdi_s3_request(fs, &r);
        if (!rc && out.data && strstr(out.data, "<Error>")) {
            const char *pos = strstr(out.data, "<Error>");
            char *key = pdi_xml_text(pos, "Key", NULL);
            char *code = pdi_xml_text(pos, "Code", NULL);
            char *msg = pdi_xml_text(pos, "Message", NULL);
            rc = pd_set_error(PD_ERR_IO, "s3://%s/%s: delete failed: %s: %s (endpoint %s)", bucket,
                              key ? key : "?", code ? code : "?", msg ? msg : "", fs->s3.endpoint);
            free(key);
            free(code);
            free(msg);
        }
        pdi_buf_free(&x);
    }
    pdi_buf_free(&out);
    return rc;
}

/* ----------------------------------------------------------------- copying */

size_t pdi_copy_parts(uint64_t size, uint64_t part, uint64_t *first_len)
{
    size_t n = (size_t)((size + part - 1) / part);
    if (first_len)
        *first_len = size < part ? size : part;
    return n ? n : 1;
}

static char *copy_source(const pdi_loc *src)
{
    char *ek = pdi_uri_encode(src->key, true);
    char *h = ek ? pdi_asprintf("x-amz-copy-source: /%s/%s", src->bucket, ek) : NULL;
    free(ek);
    return h;
}

static int create_upload(pd_fs *fs, const pdi_loc *l, char **upload_id)
{
    pd_buf out = {0};
    pdi_req r = {.method = "POST",
                 .bucket = l->bucket,
                 .key = l->key,
                 .query = "uploads=", /* libcurl 7.88 signs a bare "?uploads" wrongly */
                 .out = &out,
                 .sink_fd = -1};
    int rc = pdi_s3_request(fs, &r);
    if (!rc) {
        *upload_id = pdi_xml_text(out.data, "UploadId", NULL);
        if (!*upload_id)
            rc = pd_set_error(PD_ERR_IO,
                              "s3://%s/%s: CreateMultipartUpload answered without an UploadId",
                              l->bucket, l->key);
    }
    pdi_buf_free(&out);
    return rc;
}

static void abort_upload(pd_fs *fs, const char *bucket, const char *key, const char *upload_id)
{
    char *eid = pdi_uri_encode(upload_id, false);
    char *q = eid ? pdi_asprintf("uploadId=%s", eid) : NULL;
    pdi_req r = {.method = "DELETE",
                 .bucket = bucket,
                 .key = key,
                 .query = q,
                 .not_found_ok = true,
                 .sink_fd = -1};
    if (q && pdi_s3_request(fs, &r) && r.status != 404 && r.status != 405 && r.status != 501)
        pdi_log(PD_LOG_WARN, "s3://%s/%s: could not abort multipart upload: %s", bucket, key,
                pd_last_error());
    free(q);
    free(eid);
}

/* The ETag S3 gives a multipart object: hex MD5 of the concatenated binary
 * part MD5s, "-", the number of parts. */
static int multipart_etag(char *const *etags, size_t n, char out[48])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || !EVP_DigestInit_ex(c, EVP_md5(), NULL)) {
        EVP_MD_CTX_free(c);
        return PD_ERR;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char d[16];
        if (!etags[i] || strlen(etags[i]) != 32) {
            EVP_MD_CTX_free(c);
            return PD_ERR;
        }
        for (int k = 0; k < 16; k++) {
            unsigned v;
            if (sscanf(etags[i] + 2 * k, "%2x", &v) != 1) {
                EVP_MD_CTX_free(c);
                return PD_ERR;
            }
            d[k] = (unsigned char)v;
        }
        EVP_DigestUpdate(c, d, 16);
    }
    unsigned char md[16];
    unsigned int ml = 0;
    EVP_DigestFinal_ex(c, md, &ml);
    EVP_MD_CTX_free(c);
    pdi_hex(md, 16, out);
    snprintf(out + 32, 16, "-%zu", n);
    return PD_OK;
}

static int
complete_upload(pd_fs *fs, const pdi_loc *l, const char *upload_id, char *const *etags, size_t n)
{
    pd_buf x = {0}, out = {0};
    pdi_buf_puts(&x, "<CompleteMultipartUpload>");
    for (size_t i = 0; i < n; i++)
        pdi_buf_printf(&x, "<Part><PartNumber>%zu</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1,
                       etags[i]);
    pdi_buf_puts(&x, "</CompleteMultipartUpload>");
    char *eid = pdi_uri_encode(upload_id, false);
    char *q = eid ? pdi_asprintf("uploadId=%s", eid) : NULL;
    int rc = x.oom || !q ? PD_ERR_NOMEM : PD_OK;
    if (!rc) {
        pdi_req r = {.method = "POST",
                     .bucket = l->bucket,
                     .key = l->key,
                     .query = q,
                     .body = x.data,
                     .body_len = x.len,
                     .hdr = {"Content-Type: application/xml"},
                     .out = &out,
                     .sink_fd = -1};
        rc = pdi_s3_request(fs, &r);
    }
    if (rc && rc != PD_ERR_NOMEM) {
        /* The answer to an earlier attempt may have been lost after the
         * server completed the upload (a retry then finds no upload). The
         * object's ETag is MD5(part MD5s)-N: if it is ours, our bytes are
         * there. */
        char want[48];
        pd_fs_stat st;
        char *msg = pdi_strdup(pd_last_error());
        if (multipart_etag(etags, n, want) == PD_OK && pdi_s3_stat(fs, l, &st) == PD_OK &&
            strcmp(st.etag, want) == 0) {
            pdi_log(PD_LOG_DEBUG, "s3://%s/%s: upload was completed by an earlier attempt",
                    l->bucket, l->key);
            rc = PD_OK;
        } else {
            pd_set_error(rc, "%s", msg ? msg : "CompleteMultipartUpload failed");
        }
        free(msg);
    }
    free(q);
    free(eid);
    pdi_buf_free(&x);
    pdi_buf_free(&out);
    return rc;
}

int pdi_s3_copy(pd_fs *fs, const pdi_loc *src, const pdi_loc *dst, uint64_t size)
{
    if (!*dst->key)
        return pd_set_error(PD_ERR_INVALID, "copy to s3://%s/: no key", dst->bucket);
    char *hsrc = copy_source(src);
    if (!hsrc)
        return PD_ERR_NOMEM;
    int rc;
    if (size <= PDI_COPY_PART_MAX) {
        pd_buf out = {0};
        pdi_req r = {.method = "PUT",
                     .bucket = dst->bucket,
                     .key = dst->key,
                     .hdr = {hsrc},
                     .out = &out,
                     .sink_fd = -1};
        rc = pdi_s3_request(fs, &r);
        if (!rc && out.data && strstr(out.data, "<Error>")) {
            char *code = pdi_xml_text(out.data, "Code", NULL);
            rc = pd_set_error(PD_ERR_IO, "copy s3://%s/%s -> s3://%s/%s failed: %s", src->bucket,
                              src->key, dst->bucket, dst->key, code ? code : "error");
            free(code);
        }
        pdi_buf_free(&out);
        free(hsrc);
        return rc;
    }
    /* above 5 GiB: UploadPartCopy of byte ranges */
    char *id = NULL;
    size_t n = pdi_copy_parts(size, PDI_COPY_PART_SIZE, NULL);
    char **etags = pdi_calloc(n, sizeof *etags);
    rc = etags ? create_upload(fs, dst, &id) : PD_ERR_NOMEM;
    char *eid = id ? pdi_uri_encode(id, false) : NULL;
    for (size_t i = 0; !rc && i < n; i++) {
        uint64_t a = (uint64_t)i * PDI_COPY_PART_SIZE;
        uint64_t b = a + PDI_COPY_PART_SIZE > size ? size : a + PDI_COPY_PART_SIZE;
        char range[96];
        snprintf(range, sizeof range, "x-amz-copy-source-range: bytes=%llu-%llu",
                 (unsigned long long)a, (unsigned long long)(b - 1));
        char *q = pdi_asprintf("partNumber=%zu&uploadId=%s", i + 1, eid ? eid : "");
        pd_buf out = {0};
        pdi_req r = {.method = "PUT",
                     .bucket = dst->bucket,
                     .key = dst->key,
                     .query = q,
                     .hdr = {hsrc, range},
                     .out = &out,
                     .sink_fd = -1};
        rc = q ? pdi_s3_request(fs, &r) : PD_ERR_NOMEM;
        if (!rc) {
            char *et = pdi_xml_text(out.data, "ETag", NULL);
            if (et && et[0] == '"') {
                memmove(et, et + 1, strlen(et));
                char *qq = strchr(et, '"');
                if (qq)
                    *qq = 0;
            }
            etags[i] = et;
            if (!et)
                rc = pd_set_error(PD_ERR_IO, "UploadPartCopy answered without an ETag");
        }
        pdi_buf_free(&out);
        free(q);
    }
    if (!rc)
        rc = complete_upload(fs, dst, id, etags, n);
    else if (id)
        abort_upload(fs, dst->bucket, dst->key, id);
    for (size_t i = 0; etags && i < n; i++)
        free(etags[i]);
    free(etags);
    free(eid);
    free(id);
    free(hsrc);
    return rc;
}

/* ---------------------------------------------------------------- cleanup */

int pdi_s3_cleanup(pd_fs *fs, const pdi_loc *l, size_t *n)
{
    char *ep = pdi_uri_encode(l->key, false);
    char *q = ep ? pdi_asprintf("prefix=%s&uploads=", ep) : NULL;
    pd_buf out = {0};
    pdi_req r = {.method = "GET", .bucket = l->bucket, .query = q, .out = &out, .sink_fd = -1};
    int rc = q ? pdi_s3_request(fs, &r) : PD_ERR_NOMEM;
    if (rc && (r.status == 501 || r.status == 405 || strcmp(r.code, "NotImplemented") == 0)) {
        /* a server without ListMultipartUploads (s3rver) keeps no
         * incomplete upload visible either */
        pdi_log(PD_LOG_DEBUG, "s3://%s/%s: server cannot list multipart uploads", l->bucket,
                l->key);
        rc = PD_OK;
    } else if (!rc) {
        const char *pos = out.data, *end, *blk;
        while ((blk = pdi_xml_block(pos, "Upload", &end))) {
            char *chunk = pdi_strndup(blk, (size_t)(end - blk));
            char *key = chunk ? pdi_xml_text(chunk, "Key", NULL) : NULL;
            char *id = chunk ? pdi_xml_text(chunk, "UploadId", NULL) : NULL;
            if (key && id && strncmp(key, l->key, strlen(l->key)) == 0) {
                abort_upload(fs, l->bucket, key, id);
                (*n)++;
            }
            free(chunk);
            free(key);
            free(id);
            pos = end;
        }
    }
    pdi_buf_free(&out);
    free(q);
    free(ep);
    return rc;
}

/* ------------------------------------------------------ parallel ranges */

typedef struct range_job {
    pd_fs *fs;
    const pdi_loc *l;
    const char *etag;
    uint64_t off;
    size_t len, chunk;
    uint8_t *buf;
    int fd;
    size_t next, n_chunks; /* atomic */
    uint64_t fetched;      /* atomic */
    int rc;
    char *msg;
    pthread_mutex_t mu;
} range_job;

static int get_one(range_job *j, uint64_t off, size_t len, uint8_t *buf)
{
    char ifm[100];
    snprintf(ifm, sizeof ifm, "If-Match: \"%s\"", j->etag ? j->etag : "");
    pdi_req r = {.method = "GET",
                 .bucket = j->l->bucket,
                 .key = j->l->key,
                 .ranged = true,
                 .range_off = off,
                 .range_len = len,
                 .sink_buf = buf,
                 .sink_fd = j->fd,
                 .hdr = {j->etag && *j->etag ? ifm : NULL}};
    int rc = pdi_s3_request(j->fs, &r);
    __atomic_fetch_add(&j->fetched, r.fetched, __ATOMIC_RELAXED);
    if (rc && r.status == 412)
        rc = pd_set_error(PD_ERR_IO,
                          "s3://%s/%s changed while being read (ETag no longer %s); refusing to "
                          "mix two versions",
                          j->l->bucket, j->l->key, j->etag);
    return rc;
}

static void *range_worker(void *arg)
{
    range_job *j = arg;
    for (;;) {
        size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->n_chunks || __atomic_load_n(&j->rc, __ATOMIC_RELAXED))
            break;
        uint64_t a = (uint64_t)i * j->chunk;
        size_t len = j->len - a < j->chunk ? (size_t)(j->len - a) : j->chunk;
        int rc = get_one(j, j->off + a, len, j->buf ? j->buf + a : NULL);
        if (rc) {
            pthread_mutex_lock(&j->mu);
            if (!j->rc) {
                j->rc = rc;
                j->msg = pdi_strdup(pd_last_error());
            }
            pthread_mutex_unlock(&j->mu);
            break;
        }
    }
    return NULL;
}

int pdi_s3_get_range(pd_fs *fs,
                     const pdi_loc *l,
                     const char *etag,
                     uint64_t off,
                     size_t len,
                     uint8_t *buf,
                     int fd,
                     uint64_t *fetched)
{
    range_job j = {.fs = fs, .l = l, .etag = etag, .off = off, .len = len, .buf = buf, .fd = fd};
    /* ranges of at least part_size, few enough that each stream is one
     * long request when the transfer is no more than `concurrency` parts */
    size_t per = len / (size_t)fs->cfg.concurrency + 1;
    per = (per + PDI_MIB - 1) / PDI_MIB * PDI_MIB;
    j.chunk = per > fs->cfg.part_size ? per : fs->cfg.part_size;
    if (j.chunk > 8 * fs->cfg.part_size)
        j.chunk = 8 * fs->cfg.part_size;
    j.n_chunks = (len + j.chunk - 1) / j.chunk;
    int nt = fs->cfg.concurrency < (int)j.n_chunks ? fs->cfg.concurrency : (int)j.n_chunks;
    if (nt <= 1) {
        j.chunk = len;
        int rc = get_one(&j, off, len, buf);
        *fetched = j.fetched;
        return rc;
    }
    pthread_mutex_init(&j.mu, NULL);
    pthread_t th[64];
    int started = 0;
    for (; started < nt; started++)
        if (pthread_create(&th[started], NULL, range_worker, &j) != 0)
            break;
    if (started == 0)
        range_worker(&j);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&j.mu);
    *fetched = j.fetched;
    if (j.rc)
        pd_set_error(j.rc, "%s", j.msg ? j.msg : "ranged read failed");
    free(j.msg);
    return j.rc;
}

/* ------------------------------------------------------------- the writer */

typedef struct part {
    struct pdi_s3_writer *w;
    size_t num; /* 1-based */
    uint8_t *buf;
    size_t len;
    pthread_t th;
    bool started;
} part;

struct pdi_s3_writer {
    pd_fs *fs;
    pdi_loc loc;
    char *upload_id, *eid;
    uint8_t *cur;
    size_t cur_len, cur_cap;
    part **parts;
    char **etags;
    size_t n_parts, cap_parts, cap_etags;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight;
    int rc;
    char *msg;
    uint8_t **spare;
    size_t n_spare, cap_spare;
};

/* part size grows with the part number so 10,000 parts reach 5 TiB */
static size_t part_cap(const pdi_s3_writer *w)
{
    size_t base = w->fs->cfg.part_size;
    size_t shift = w->n_parts / 2000;
    return shift > 8 ? base << 8 : base << shift;
}

int pdi_s3_writer_open(pd_fs *fs, const pdi_loc *l, pdi_s3_writer **out)
{
    int rc = pdi_s3_ready(fs);
    if (rc)
        return rc;
    pdi_s3_writer *w = pdi_calloc(1, sizeof *w);
    if (!w)
        return PD_ERR_NOMEM;
    w->fs = fs;
    w->loc.s3 = true;
    w->loc.bucket = pdi_strdup(l->bucket);
    w->loc.key = pdi_strdup(l->key);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (!w->loc.bucket || !w->loc.key) {
        pdi_s3_writer_abort(w);
        return PD_ERR_NOMEM;
    }
    *out = w;
    return PD_OK;
}

static void *part_worker(void *arg)
{
    part *p = arg;
    pdi_s3_writer *w = p->w;
    char *q = pdi_asprintf("partNumber=%zu&uploadId=%s", p->num, w->eid);
    pdi_req r = {.method = "PUT",
                 .bucket = w->loc.bucket,
                 .key = w->loc.key,
                 .query = q,
                 .body = p->buf,
                 .body_len = p->len,
                 .md5 = true,
                 .sink_fd = -1};
    int rc = q ? pdi_s3_request(w->fs, &r) : PD_ERR_NOMEM;
    free(q);
    char *etag = rc ? NULL : pdi_strdup(r.etag);
    if (!rc && (!etag || !*etag))
        rc = pd_set_error(PD_ERR_IO, "s3://%s/%s: part %zu: no ETag in the answer", w->loc.bucket,
                          w->loc.key, p->num);
    pthread_mutex_lock(&w->mu);
    if (rc && !w->rc) {
        w->rc = rc;
        w->msg = pdi_strdup(pd_last_error());
    }
    w->etags[p->num - 1] = etag;
    /* keep the buffer for the next part */
    uint8_t **ns = pdi_grow(w->spare, &w->cap_spare, w->n_spare, sizeof *ns, 8);
    if (ns) {
        w->spare = ns;
        w->spare[w->n_spare++] = p->buf;
    } else {
        free(p->buf);
    }
    p->buf = NULL;
    w->inflight--;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static int writer_error(pdi_s3_writer *w)
{
    return pd_set_error(w->rc, "%s", w->msg ? w->msg : "upload failed");
}

/* Hand the current buffer to a part thread; waits while `concurrency` parts
 * are in flight. */
static int submit_part(pdi_s3_writer *w)
{
    int rc;
    if (!w->upload_id) {
        if ((rc = create_upload(w->fs, &w->loc, &w->upload_id)))
            return rc;
        if (!(w->eid = pdi_uri_encode(w->upload_id, false)))
            return PD_ERR_NOMEM;
    }
    if (w->n_parts >= PDI_MAX_PARTS)
        return pd_set_error(PD_ERR_IO, "s3://%s/%s: more than %d parts", w->loc.bucket, w->loc.key,
                            PDI_MAX_PARTS);
    part *p = pdi_calloc(1, sizeof *p);
    part **np = p ? pdi_grow(w->parts, &w->cap_parts, w->n_parts, sizeof *np, 16) : NULL;
    if (!np) {
        free(p);
        return PD_ERR_NOMEM;
    }
    w->parts = np;
    pthread_mutex_lock(&w->mu);
    char **ne = pdi_grow(w->etags, &w->cap_etags, w->n_parts, sizeof *ne, 16);
    if (ne) {
        w->etags = ne;
        w->etags[w->n_parts] = NULL;
    }
    while (w->inflight >= w->fs->cfg.concurrency && !w->rc)
        pthread_cond_wait(&w->cv, &w->mu);
    rc = w->rc;
    if (!rc && ne)
        w->inflight++;
    pthread_mutex_unlock(&w->mu);
    if (!ne) {
        free(p);
        return PD_ERR_NOMEM;
    }
    if (rc) {
        free(p);
        return writer_error(w);
    }
    p->w = w;
    p->num = w->n_parts + 1;
    p->buf = w->cur;
    p->len = w->cur_len;
    w->parts[w->n_parts++] = p;
    w->cur = NULL;
    w->cur_len = w->cur_cap = 0;
    if (pthread_create(&p->th, NULL, part_worker, p) != 0) {
        part_worker(p); /* no thread: upload on this one */
    } else {
        p->started = true;
    }
    return PD_OK;
}

int pdi_s3_writer_write(pdi_s3_writer *w, const void *buf, size_t len)
{
    const uint8_t *src = buf;
    while (len) {
        if (w->rc)
            return writer_error(w);
        if (!w->cur) {
            size_t want = part_cap(w);
            pthread_mutex_lock(&w->mu);
            if (w->n_spare)
                w->cur = w->spare[--w->n_spare];
            pthread_mutex_unlock(&w->mu);
            /* spare buffers have the base size; a grown part size needs more */
            if (w->cur && want > w->fs->cfg.part_size) {
                free(w->cur);
                w->cur = NULL;
            }
            if (!w->cur && !(w->cur = pdi_malloc(want)))
                return PD_ERR_NOMEM;
            w->cur_cap = want;
            w->cur_len = 0;
        }
        size_t room = w->cur_cap - w->cur_len;
        size_t n = len < room ? len : room;
        memcpy(w->cur + w->cur_len, src, n);
        w->cur_len += n;
        src += n;
        len -= n;
        if (w->cur_len == w->cur_cap) {
            int rc = submit_part(w);
            if (rc)
                return rc;
        }
    }
    return PD_OK;
}

static void join_all(pdi_s3_writer *w)
{
    for (size_t i = 0; i < w->n_parts; i++)
        if (w->parts[i]->started) {
            pthread_join(w->parts[i]->th, NULL);
            w->parts[i]->started = false;
        }
}

static void writer_free(pdi_s3_writer *w)
{
    join_all(w);
    for (size_t i = 0; i < w->n_parts; i++) {
        free(w->parts[i]->buf);
        free(w->parts[i]);
        free(w->etags ? w->etags[i] : NULL);
    }
    free(w->parts);
    free(w->etags);
    for (size_t i = 0; i < w->n_spare; i++)
        free(w->spare[i]);
    free(w->spare);
    free(w->cur);
    free(w->upload_id);
    free(w->eid);
    free(w->msg);
    pdi_loc_free(&w->loc);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

int pdi_s3_writer_commit(pdi_s3_writer *w)
{
    int rc = w->rc ? writer_error(w) : PD_OK;
    if (!rc && !w->upload_id) {
        /* small object: one PUT */
        pdi_req r = {.method = "PUT",
                     .bucket = w->loc.bucket,
                     .key = w->loc.key,
                     .body = w->cur ? w->cur : (const void *)"",
                     .body_len = w->cur_len,
                     .md5 = true,
                     .sink_fd = -1};
        rc = pdi_s3_request(w->fs, &r);
        writer_free(w);
        return rc;
    }
    if (!rc && w->cur_len)
        rc = submit_part(w);
    join_all(w);
    if (!rc && w->rc)
        rc = writer_error(w);
    if (!rc)
        rc = complete_upload(w->fs, &w->loc, w->upload_id, w->etags, w->n_parts);
    if (rc) {
        char *msg = pdi_strdup(pd_last_error());
        abort_upload(w->fs, w->loc.bucket, w->loc.key, w->upload_id);
        pd_set_error(rc, "%s", msg ? msg : "upload failed");
        free(msg);
    }
    writer_free(w);
    return rc;
}

void pdi_s3_writer_abort(pdi_s3_writer *w)
{
    if (!w)
        return;
    join_all(w);
    if (w->upload_id)
        abort_upload(w->fs, w->loc.bucket, w->loc.key, w->upload_id);
    writer_free(w);
}
