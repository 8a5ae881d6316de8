/*
 * fs/fs.c - the pd_fs handle, locations and names, and the dispatch of every
 * operation to the local file system (local.c) or S3 (s3.c, s3_ops.c).
 */
#include "fs/fs_int.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *u)
{
    pd_fs *fs = u;
    pthread_mutex_lock(&fs->share_mu[d]);
}
static void share_unlock(CURL *h, curl_lock_data d, void *u)
{
    pd_fs *fs = u;
    pthread_mutex_unlock(&fs->share_mu[d]);
}

int pdi_fs_open(const pd_fs_config *cfg, pd_fs **out)
{
    *out = NULL;
    if (cfg && cfg->version != PD_FS_CONFIG_VERSION)
        return pd_set_error(PD_ERR_INVALID, "pd_fs_config version %d (expected %d)", cfg->version,
                            PD_FS_CONFIG_VERSION);
    pthread_once(&curl_once, curl_init_once);
    pd_fs *fs = pdi_calloc(1, sizeof *fs);
    if (!fs)
        return PD_ERR_NOMEM;
    pd_fs_config c = PD_FS_CONFIG_INIT;
    if (cfg)
        c = *cfg;
    fs->s_endpoint = pdi_strdup(c.endpoint_url);
    fs->s_style = pdi_strdup(c.url_style);
    fs->s_region = pdi_strdup(c.region);
    fs->s_profile = pdi_strdup(c.profile);
    fs->s_ak = pdi_strdup(c.access_key_id);
    fs->s_sk = pdi_strdup(c.secret_access_key);
    fs->s_token = pdi_strdup(c.session_token);
    c.endpoint_url = fs->s_endpoint;
    c.url_style = fs->s_style;
    c.region = fs->s_region;
    c.profile = fs->s_profile;
    c.access_key_id = fs->s_ak;
    c.secret_access_key = fs->s_sk;
    c.session_token = fs->s_token;
    if (c.part_size == 0)
        c.part_size = PDI_DEFAULT_PART;
    if (c.part_size < PDI_MIN_PART)
        c.part_size = PDI_MIN_PART;
    if (c.concurrency <= 0)
        c.concurrency = 4;
    if (c.concurrency > 64)
        c.concurrency = 64;
    if (c.max_retries == 0)
        c.max_retries = 8;
    if (c.max_retries < 0)
        c.max_retries = 0;
    if (c.connect_timeout_ms <= 0)
        c.connect_timeout_ms = 10000;
    if (c.low_speed_time_s <= 0)
        c.low_speed_time_s = 30;
    fs->cfg = c;
    pthread_mutex_init(&fs->mu, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&fs->share_mu[i], NULL);
    fs->share = curl_share_init();
    if (fs->share) {
        curl_share_setopt(fs->share, CURLSHOPT_LOCKFUNC, share_lock);
        curl_share_setopt(fs->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
        curl_share_setopt(fs->share, CURLSHOPT_USERDATA, fs);
        curl_share_setopt(fs->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(fs->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
    *out = fs;
    return PD_OK;
}

static void wipe(char *s)
{
    if (s) {
        volatile char *p = s;
        while (*p)
            *p++ = 0;
    }
    free(s);
}

void pdi_fs_close(pd_fs *fs)
{
    if (!fs)
        return;
    for (size_t i = 0; i < fs->n_idle; i++)
        curl_easy_cleanup(fs->idle[i]);
    free(fs->idle);
    if (fs->share)
        curl_share_cleanup(fs->share);
    pdi_s3_free(&fs->s3);
    free(fs->s_endpoint);
    free(fs->s_style);
    free(fs->s_region);
    free(fs->s_profile);
    free(fs->s_ak);
    wipe(fs->s_sk);
    wipe(fs->s_token);
    pthread_mutex_destroy(&fs->mu);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&fs->share_mu[i]);
    free(fs);
}

char *pdi_fs_describe(pd_fs *fs)
{
    if (pdi_s3_ready(fs))
        return pdi_asprintf("s3: not configured (%s)", pd_last_error());
    const pdi_s3 *s = &fs->s3;
    return pdi_asprintf("s3: endpoint %s, %s style, region %s, credentials from %s, "
                        "part size %zu MiB, %d in flight",
                        s->endpoint,
                        s->style == 1   ? "path"
                        : s->style == 2 ? "virtual"
                                        : "auto",
                        s->region, s->cred_source, fs->cfg.part_size / PDI_MIB,
                        fs->cfg.concurrency);
}

/* ------------------------------------------------------------ locations */

bool pdi_fs_is_s3(const char *url)
{
    return url && strncmp(url, "s3://", 5) == 0;
}

int pdi_loc_parse(const char *url, pdi_loc *out)
{
    memset(out, 0, sizeof *out);
    if (!url || !*url)
        return pd_set_error(PD_ERR_INVALID, "empty file location");
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return pd_set_error(PD_ERR_INVALID, "control character in location '%s'", url);
    if (pdi_fs_is_s3(url)) {
        const char *b = url + 5, *slash = strchr(b, '/');
        size_t blen = slash ? (size_t)(slash - b) : strlen(b);
        if (blen < 3 || blen > 63)
            return pd_set_error(PD_ERR_INVALID, "%s: bucket name must be 3 to 63 characters", url);
        for (size_t i = 0; i < blen; i++) {
            char ch = b[i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
                  ch == '_' || (ch >= 'A' && ch <= 'Z')))
                return pd_set_error(PD_ERR_INVALID, "%s: invalid character '%c' in bucket name",
                                    url, ch);
        }
        const char *key = slash ? slash + 1 : "";
        if (strlen(key) > PDI_MAX_KEY)
            return pd_set_error(PD_ERR_INVALID, "%s: key longer than %d bytes", url, PDI_MAX_KEY);
        out->s3 = true;
        out->bucket = pdi_strndup(b, blen);
        out->key = pdi_strdup(key);
        if (!out->bucket || !out->key) {
            pdi_loc_free(out);
            return PD_ERR_NOMEM;
        }
        return PD_OK;
    }
    if (strncmp(url, "file://", 7) == 0) {
        const char *p = url + 7;
        if (strncmp(p, "localhost/", 10) == 0)
            p += 9;
        if (*p != '/')
            return pd_set_error(PD_ERR_INVALID, "%s: file:// URL needs an absolute path", url);
        url = p;
    } else if (strstr(url, "://")) {
        return pd_set_error(PD_ERR_UNSUPPORTED,
                            "%s: unsupported URL scheme (file://, s3:// or a path)", url);
    }
    out->path = pdi_strdup(url);
    return out->path ? PD_OK : PD_ERR_NOMEM;
}

void pdi_loc_free(pdi_loc *l)
{
    free(l->path);
    free(l->bucket);
    free(l->key);
    memset(l, 0, sizeof *l);
}

int pdi_fs_check_name(const char *name)
{
    if (!name || !*name)
        return pd_set_error(PD_ERR_INVALID, "empty name cannot be a file or key name");
    size_t n = strlen(name);
    if (n > PDI_MAX_NAME)
        return pd_set_error(PD_ERR_INVALID, "name '%.40s...' is longer than %d bytes", name,
                            PDI_MAX_NAME);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return pd_set_error(PD_ERR_INVALID, "name '%s' would address a parent or itself", name);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return pd_set_error(PD_ERR_INVALID,
                                "name contains control character 0x%02x at byte %zu", c, i);
        if (c == '/' || c == '\\')
            return pd_set_error(PD_ERR_INVALID, "name '%s' contains '%c'", name, c);
    }
    return PD_OK;
}

char *pdi_fs_join(const char *base, const char *name)
{
    if (!base || !*base) {
        pd_set_error(PD_ERR_INVALID, "empty base location");
        return NULL;
    }
    if (pdi_fs_check_name(name))
        return NULL;
    size_t bl = strlen(base);
    bool slash = base[bl - 1] == '/';
    if (pdi_fs_is_s3(base) && bl == 5) {
        pd_set_error(PD_ERR_INVALID, "s3:// location without a bucket");
        return NULL;
    }
    char *r = pdi_asprintf("%s%s%s", base, slash ? "" : "/", name);
    if (r && pdi_fs_is_s3(r)) {
        const char *k = strchr(r + 5, '/');
        if (k && strlen(k + 1) > PDI_MAX_KEY) {
            pd_set_error(PD_ERR_INVALID, "%s: key longer than %d bytes", r, PDI_MAX_KEY);
            free(r);
            return NULL;
        }
    }
    return r;
}

/* ------------------------------------------------------------------ stat */

int pdi_fs_stat_url(pd_fs *fs, const char *url, pd_fs_stat *out)
{
    pdi_loc l;
    int rc = pdi_loc_parse(url, &l);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    rc = l.s3 ? pdi_s3_stat(fs, &l, out) : pdi_local_stat(l.path, out);
    pdi_loc_free(&l);
    return rc;
}

int pdi_fs_check_base(pd_fs *fs, const char *url, bool create)
{
    pdi_loc l;
    int rc = pdi_loc_parse(url, &l);
    if (rc)
        return rc;
    if (l.s3) {
        rc = pdi_s3_bucket_exists(fs, l.bucket);
    } else if (create) {
        rc = pdi_mkdir_p(l.path);
    } else if (!pdi_is_dir(l.path)) {
        rc = pd_set_error(PD_ERR_NOT_FOUND, "directory %s does not exist", l.path);
    }
    pdi_loc_free(&l);
    return rc;
}

/* --------------------------------------------------------------- reading */

#define PDI_WINDOW ((size_t)64 << 10)

struct pd_fs_file {
    pd_fs *fs;
    pdi_loc loc;
    char *url;
    int fd; /* local */
    uint64_t size;
    char etag[72];
    uint64_t fetched;
    /* S3: one small read-ahead window, so the footer and page headers of a
     * Parquet file cost one request each, not one per field. */
    uint8_t *win;
    uint64_t win_off;
    size_t win_len;
    /* pdi_fs_file_set_sequential: two read-ahead blocks, the older one
     * replaced on a miss */
    bool seq;
    struct {
        uint8_t *buf;
        uint64_t off;
        size_t len, cap;
        uint64_t used; /* tick of the last hit */
    } ra[2];
    uint64_t tick;
    /* the block after the last one fetched, fetched by a thread meanwhile */
    struct {
        pthread_t th;
        bool active;
        uint64_t off, got;
        size_t len, cap;
        uint8_t *buf;
        int rc;
        char *msg;
    } pf;
};

/* read-ahead block of a sequential S3 file */
#define PDI_RA_BLOCK ((size_t)64 << 20)

int pdi_fs_file_open(pd_fs *fs, const char *url, pd_fs_file **out)
{
    *out = NULL;
    pd_fs_file *f = pdi_calloc(1, sizeof *f);
    if (!f)
        return PD_ERR_NOMEM;
    f->fs = fs;
    f->fd = -1;
    int rc = pdi_loc_parse(url, &f->loc);
    if (!rc && !(f->url = pdi_strdup(url)))
        rc = PD_ERR_NOMEM;
    if (!rc && f->loc.s3) {
        pd_fs_stat st;
        rc = pdi_s3_stat(fs, &f->loc, &st);
        if (!rc) {
            f->size = st.size;
            memcpy(f->etag, st.etag, sizeof f->etag);
        }
    } else if (!rc) {
        f->fd = open(f->loc.path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (f->fd < 0)
            rc = pd_set_error(errno == ENOENT ? PD_ERR_NOT_FOUND : PD_ERR_IO, "cannot open %s: %s",
                              f->loc.path, strerror(errno));
        else if (fstat(f->fd, &st) != 0 || S_ISDIR(st.st_mode))
            rc = pd_set_error(PD_ERR_IO, "cannot read %s: %s", f->loc.path,
                              S_ISDIR(st.st_mode) ? "is a directory" : strerror(errno));
        else
            f->size = (uint64_t)st.st_size;
    }
    if (rc) {
        pdi_fs_file_close(f);
        return rc;
    }
    *out = f;
    return PD_OK;
}

uint64_t pdi_fs_file_size(const pd_fs_file *f)
{
    return f->size;
}

uint64_t pdi_fs_file_bytes_fetched(const pd_fs_file *f)
{
    return f->fetched;
}

void pdi_fs_file_close(pd_fs_file *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    pdi_loc_free(&f->loc);
    free(f->url);
    free(f->win);
    if (f->pf.active)
        pthread_join(f->pf.th, NULL);
    free(f->pf.buf);
    free(f->pf.msg);
    for (int i = 0; i < 2; i++)
        free(f->ra[i].buf);
    free(f);
}

void pdi_fs_file_set_sequential(pd_fs_file *f, bool on)
{
    if (f)
        f->seq = on;
}

static int s3_fetch(pd_fs_file *f, uint64_t off, size_t len, uint8_t *buf);

/* The read-ahead block of a sequential file holding [offset, offset + len),
 * or -1. */
static int ra_block(const pd_fs_file *f, uint64_t offset, size_t len)
{
    for (int i = 0; i < 2; i++)
        if (f->ra[i].len && offset >= f->ra[i].off && offset + len <= f->ra[i].off + f->ra[i].len)
            return i;
    return -1;
}

static void *prefetch_main(void *arg)
{
    pd_fs_file *f = arg;
    f->pf.rc =
        pdi_s3_get_range(f->fs, &f->loc, f->etag, f->pf.off, f->pf.len, f->pf.buf, -1, &f->pf.got);
    if (f->pf.rc)
        f->pf.msg = pdi_strdup(pd_last_error());
    return NULL;
}

/* Start fetching the block that follows [.., end) unless one is in flight
 * or the file ends there. Failing to start is harmless (read on demand). */
static void prefetch_from(pd_fs_file *f, uint64_t end)
{
    if (f->pf.active || end >= f->size)
        return;
    uint64_t n = f->size - end < PDI_RA_BLOCK ? f->size - end : PDI_RA_BLOCK;
    if (f->pf.cap < n) {
        free(f->pf.buf);
        f->pf.cap = 0;
        if (!(f->pf.buf = malloc((size_t)n)))
            return;
        f->pf.cap = (size_t)n;
    }
    f->pf.off = end;
    f->pf.len = (size_t)n;
    f->pf.got = 0;
    f->pf.rc = 0;
    free(f->pf.msg);
    f->pf.msg = NULL;
    f->pf.active = pthread_create(&f->pf.th, NULL, prefetch_main, f) == 0;
}

/* Wait for the block in flight and make it read-ahead block v (its buffer
 * swapped in). Returns PD_OK or the fetch's error. */
static int prefetch_take(pd_fs_file *f, int v)
{
    pthread_join(f->pf.th, NULL);
    f->pf.active = false;
    f->fetched += f->pf.got;
    if (f->pf.rc)
        return pd_set_error(f->pf.rc, "%s", f->pf.msg ? f->pf.msg : "ranged read failed");
    uint8_t *b = f->ra[v].buf;
    size_t cap = f->ra[v].cap;
    f->ra[v].buf = f->pf.buf;
    f->ra[v].cap = f->pf.cap;
    f->ra[v].off = f->pf.off;
    f->ra[v].len = f->pf.len;
    f->pf.buf = b;
    f->pf.cap = cap;
    return PD_OK;
}

/* A sequential S3 file: serve [offset, offset + len) from a read-ahead
 * block, fetching a new block (the older of the two) from offset on a miss.
 * Returns len or a negative PD_ERR_*. */
static int64_t s3_read_ahead(pd_fs_file *f, uint64_t offset, void *buf, size_t len)
{
    f->tick++;
    int h = ra_block(f, offset, len);
    if (h >= 0) {
        memcpy(buf, f->ra[h].buf + (offset - f->ra[h].off), len);
        f->ra[h].used = f->tick;
        return (int64_t)len;
    }
    int v = f->ra[0].used <= f->ra[1].used ? 0 : 1;
    if (f->pf.active && offset >= f->pf.off && offset + len <= f->pf.off + f->pf.len) {
        f->ra[v].len = 0;
        int rc = prefetch_take(f, v);
        if (rc)
            return rc;
        memcpy(buf, f->ra[v].buf + (offset - f->ra[v].off), len);
        f->ra[v].used = f->tick;
        prefetch_from(f, f->ra[v].off + f->ra[v].len);
        return (int64_t)len;
    }
    uint64_t want = len > PDI_RA_BLOCK ? len : PDI_RA_BLOCK;
    if (want > f->size - offset)
        want = f->size - offset;
    if (f->ra[v].cap < want) {
        free(f->ra[v].buf);
        f->ra[v].len = f->ra[v].cap = 0;
        if (!(f->ra[v].buf = pdi_malloc((size_t)want)))
            return PD_ERR_NOMEM;
        f->ra[v].cap = (size_t)want;
    }
    f->ra[v].len = 0;
    int rc = s3_fetch(f, offset, (size_t)want, f->ra[v].buf);
    if (rc)
        return rc;
    f->ra[v].off = offset;
    f->ra[v].len = (size_t)want;
    f->ra[v].used = f->tick;
    memcpy(buf, f->ra[v].buf, len);
    prefetch_from(f, offset + want);
    return (int64_t)len;
}

static int64_t local_pread(pd_fs_file *f, uint64_t off, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(f->fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return pd_set_error(PD_ERR_IO, "cannot read %s at offset %llu: %s", f->loc.path,
                                (unsigned long long)(off + done), strerror(errno));
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    f->fetched += done;
    return (int64_t)done;
}

static int s3_fetch(pd_fs_file *f, uint64_t off, size_t len, uint8_t *buf)
{
    uint64_t got = 0;
    int rc = pdi_s3_get_range(f->fs, &f->loc, f->etag, off, len, buf, -1, &got);
    f->fetched += got;
    return rc;
}

int64_t pdi_fs_read_at(pd_fs_file *f, uint64_t offset, void *buf, size_t len)
{
    if (offset >= f->size || len == 0)
        return 0;
    if (len > f->size - offset)
        len = (size_t)(f->size - offset);
    if (f->fd >= 0)
        return local_pread(f, offset, buf, len);
    /* served from the window? */
    if (f->win && offset >= f->win_off && offset + len <= f->win_off + f->win_len) {
        memcpy(buf, f->win + (offset - f->win_off), len);
        return (int64_t)len;
    }
    if (f->seq && (len >= PDI_WINDOW || ra_block(f, offset, len) >= 0))
        return s3_read_ahead(f, offset, buf, len);
    if (len >= PDI_WINDOW) {
        int rc = s3_fetch(f, offset, len, buf);
        return rc ? rc : (int64_t)len;
    }
    /* small read: fetch a window around it (biased forward; backward near
     * the end so the footer's pieces come in one request) */
    if (!f->win && !(f->win = pdi_malloc(PDI_WINDOW)))
        return PD_ERR_NOMEM;
    uint64_t wlen = f->size < PDI_WINDOW ? f->size : PDI_WINDOW;
    uint64_t woff = offset;
    if (woff + wlen > f->size)
        woff = f->size - wlen;
    f->win_len = 0;
    int rc = s3_fetch(f, woff, (size_t)wlen, f->win);
    if (rc)
        return rc;
    f->win_off = woff;
    f->win_len = (size_t)wlen;
    memcpy(buf, f->win + (offset - woff), len);
    return (int64_t)len;
}

int64_t pdi_fs_read_at_cb(void *file, uint64_t offset, void *buf, size_t len)
{
    return pdi_fs_read_at(file, offset, buf, len);
}

int pdi_fs_read_all(pd_fs *fs, const char *url, void **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    pd_fs_file *f;
    int rc = pdi_fs_file_open(fs, url, &f);
    if (rc)
        return rc;
    if (f->size > SIZE_MAX - 1) {
        pdi_fs_file_close(f);
        return pd_set_error(PD_ERR_NOMEM, "%s: too large to hold in memory", url);
    }
    uint8_t *b = pdi_malloc((size_t)f->size + 1);
    if (!b) {
        pdi_fs_file_close(f);
        return PD_ERR_NOMEM;
    }
    if (f->loc.s3) {
        rc = f->size ? s3_fetch(f, 0, (size_t)f->size, b) : PD_OK;
    } else {
        int64_t got = local_pread(f, 0, b, (size_t)f->size);
        rc = got < 0 ? (int)got
             : (uint64_t)got != f->size
                 ? pd_set_error(PD_ERR_IO, "%s changed size while being read", url)
                 : PD_OK;
    }
    if (rc) {
        free(b);
    } else {
        b[f->size] = 0;
        *data = b;
        *len = (size_t)f->size;
    }
    pdi_fs_file_close(f);
    return rc;
}

int pdi_fs_download(pd_fs *fs, const char *url, const char *local_path)
{
    pdi_loc l;
    int rc = pdi_loc_parse(url, &l);
    if (rc)
        return rc;
    if (!l.s3) {
        rc = pdi_local_copy(l.path, local_path, __atomic_fetch_add(&fs->tmp_seq, 1, 0));
        pdi_loc_free(&l);
        return rc;
    }
    pd_fs_stat st;
    if ((rc = pdi_s3_stat(fs, &l, &st))) {
        pdi_loc_free(&l);
        return rc;
    }
    char *tmp = pdi_asprintf("%s.tmp-%ld-%u", local_path, (long)getpid(),
                             __atomic_fetch_add(&fs->tmp_seq, 1, 0));
    int fd = tmp ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    if (!tmp)
        rc = PD_ERR_NOMEM;
    else if (fd < 0)
        rc = pd_set_error(PD_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    else if (ftruncate(fd, (off_t)st.size) != 0)
        rc = pd_set_error(PD_ERR_IO, "cannot size %s: %s", tmp, strerror(errno));
    if (!rc && st.size) {
        uint64_t got = 0;
        rc = pdi_s3_get_range(fs, &l, st.etag, 0, (size_t)st.size, NULL, fd, &got);
    }
    if (fd >= 0 && close(fd) != 0 && !rc)
        rc = pd_set_error(PD_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, local_path) != 0)
        rc =
            pd_set_error(PD_ERR_IO, "cannot rename %s to %s: %s", tmp, local_path, strerror(errno));
    if (rc && tmp)
        unlink(tmp);
    free(tmp);
    pdi_loc_free(&l);
    return rc;
}

/* --------------------------------------------------------------- writing */

struct pd_fs_writer {
    pd_fs *fs;
    char *path, *tmp; /* local */
    int fd;
    pdi_s3_writer *s3;
};

int pdi_fs_writer_open(pd_fs *fs, const char *url, pd_fs_writer **out)
{
    *out = NULL;
    pdi_loc l;
    int rc = pdi_loc_parse(url, &l);
    if (rc)
        return rc;
    pd_fs_writer *w = pdi_calloc(1, sizeof *w);
    if (!w) {
        pdi_loc_free(&l);
        return PD_ERR_NOMEM;
    }
    w->fs = fs;
    w->fd = -1;
    if (l.s3) {
        if (!*l.key || l.key[strlen(l.key) - 1] == '/')
            rc = pd_set_error(PD_ERR_INVALID, "%s: an object needs a key not ending in '/'", url);
        else
            rc = pdi_s3_writer_open(fs, &l, &w->s3);
    } else {
        w->path = l.path;
        l.path = NULL;
        w->tmp = pdi_asprintf("%s.tmp-%ld-%u", w->path, (long)getpid(),
                              __atomic_fetch_add(&fs->tmp_seq, 1, 0));
        if (!w->tmp)
            rc = PD_ERR_NOMEM;
        else if ((w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
            rc = pd_set_error(PD_ERR_IO, "cannot create %s: %s", w->tmp, strerror(errno));
    }
    pdi_loc_free(&l);
    if (rc) {
        free(w->path);
        free(w->tmp);
        free(w);
        return rc;
    }
    *out = w;
    return PD_OK;
}

int pdi_fs_write(pd_fs_writer *w, const void *buf, size_t len)
{
    if (w->s3)
        return pdi_s3_writer_write(w->s3, buf, len);
    const char *p = buf;
    while (len) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return pd_set_error(PD_ERR_IO, "cannot write %s: %s", w->path, strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return PD_OK;
}

int pdi_fs_write_cb(void *writer, const void *buf, size_t len)
{
    return pdi_fs_write(writer, buf, len);
}

int pdi_fs_writer_commit(pd_fs_writer *w)
{
    int rc = PD_OK;
    if (w->s3) {
        rc = pdi_s3_writer_commit(w->s3);
    } else {
        if (fsync(w->fd) != 0)
            rc = pd_set_error(PD_ERR_IO, "cannot sync %s: %s", w->tmp, strerror(errno));
        if (close(w->fd) != 0 && !rc)
            rc = pd_set_error(PD_ERR_IO, "cannot write %s: %s", w->tmp, strerror(errno));
        if (!rc && rename(w->tmp, w->path) != 0)
            rc = pd_set_error(PD_ERR_IO, "cannot rename %s to %s: %s", w->tmp, w->path,
                              strerror(errno));
        if (rc) {
            unlink(w->tmp);
        } else {
            char *dir = pdi_path_dirname(w->path);
            if (dir)
                pdi_fsync_dir(dir);
            free(dir);
        }
    }
    free(w->path);
    free(w->tmp);
    free(w);
    return rc;
}

void pdi_fs_writer_abort(pd_fs_writer *w)
{
    if (!w)
        return;
    if (w->s3) {
        pdi_s3_writer_abort(w->s3);
    } else {
        close(w->fd);
        unlink(w->tmp);
    }
    free(w->path);
    free(w->tmp);
    free(w);
}

int pdi_fs_write_all(pd_fs *fs, const char *url, const void *data, size_t len)
{
    pd_fs_writer *w;
    int rc = pdi_fs_writer_open(fs, url, &w);
    if (rc)
        return rc;
    if ((rc = pdi_fs_write(w, data, len))) {
        pdi_fs_writer_abort(w);
        return rc;
    }
    return pdi_fs_writer_commit(w);
}

int pdi_fs_upload(pd_fs *fs, const char *local_path, const char *url)
{
    int fd = open(local_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pd_set_error(errno == ENOENT ? PD_ERR_NOT_FOUND : PD_ERR_IO, "cannot open %s: %s",
                            local_path, strerror(errno));
    pd_fs_writer *w;
    int rc = pdi_fs_writer_open(fs, url, &w);
    if (rc) {
        close(fd);
        return rc;
    }
    size_t cap = fs->cfg.part_size;
    uint8_t *buf = pdi_malloc(cap);
    if (!buf)
        rc = PD_ERR_NOMEM;
    while (!rc) {
        ssize_t n = read(fd, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = pd_set_error(PD_ERR_IO, "cannot read %s: %s", local_path, strerror(errno));
        else if (n == 0)
            break;
        else
            rc = pdi_fs_write(w, buf, (size_t)n);
    }
    free(buf);
    close(fd);
    if (rc) {
        pdi_fs_writer_abort(w);
        return rc;
    }
    return pdi_fs_writer_commit(w);
}

/* ------------------------------------------------------ list and delete */

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const pd_fs_entry *)a)->url, ((const pd_fs_entry *)b)->url);
}

int pdi_fs_list(pd_fs *fs, const char *prefix, pd_fs_entry **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pdi_loc l;
    int rc = pdi_loc_parse(prefix, &l);
    if (rc)
        return rc;
    rc = l.s3 ? pdi_s3_list(fs, &l, out, n) : pdi_local_list(l.path, out, n);
    pdi_loc_free(&l);
    if (!rc && *n > 1)
        qsort(*out, *n, sizeof **out, cmp_entry);
    return rc;
}

void pdi_fs_entries_free(pd_fs_entry *e, size_t n)
{
    for (size_t i = 0; e && i < n; i++)
        free(e[i].url);
    free(e);
}

int pdi_fs_delete(pd_fs *fs, const char *url)
{
    return pdi_fs_delete_many(fs, &url, 1);
}

int pdi_fs_delete_many(pd_fs *fs, const char *const *urls, size_t n)
{
    if (n == 0)
        return PD_OK;
    pdi_loc *ls = pdi_calloc(n, sizeof *ls);
    const char **keys = pdi_calloc(n, sizeof *keys);
    int rc = ls && keys ? PD_OK : PD_ERR_NOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        rc = pdi_loc_parse(urls[i], &ls[i]);
        if (!rc && (ls[i].s3 != ls[0].s3 || (ls[i].s3 && strcmp(ls[i].bucket, ls[0].bucket))))
            rc = pd_set_error(PD_ERR_INVALID, "delete: %s and %s are not in one bucket/file system",
                              urls[0], urls[i]);
        if (!rc && ls[i].s3 && !*ls[i].key)
            rc = pd_set_error(PD_ERR_INVALID, "delete: %s names a bucket, not an object", urls[i]);
        if (!rc)
            keys[i] = ls[i].s3 ? ls[i].key : ls[i].path;
    }
    if (!rc && ls[0].s3) {
        rc = pdi_s3_delete_keys(fs, ls[0].bucket, keys, n);
    } else {
        for (size_t i = 0; !rc && i < n; i++)
            if (unlink(keys[i]) != 0 && errno != ENOENT)
                rc = pd_set_error(PD_ERR_IO, "cannot delete %s: %s", keys[i], strerror(errno));
    }
    for (size_t i = 0; ls && i < n; i++)
        pdi_loc_free(&ls[i]);
    free(ls);
    free(keys);
    return rc;
}

int pdi_fs_delete_prefix(pd_fs *fs, const char *prefix)
{
    pdi_loc l;
    int rc = pdi_loc_parse(prefix, &l);
    if (rc)
        return rc;
    if (!l.s3) {
        rc = pdi_rm_rf(l.path);
        pdi_loc_free(&l);
        return rc;
    }
    if (!*l.key) {
        pdi_loc_free(&l);
        return pd_set_error(PD_ERR_INVALID,
                            "%s: refusing to delete a whole bucket (give a key prefix)", prefix);
    }
    pdi_loc_free(&l);
    pd_fs_entry *e;
    size_t n;
    if ((rc = pdi_fs_list(fs, prefix, &e, &n)))
        return rc;
    const char **urls = n ? pdi_calloc(n, sizeof *urls) : NULL;
    if (n && !urls)
        rc = PD_ERR_NOMEM;
    for (size_t i = 0; !rc && i < n; i++)
        urls[i] = e[i].url;
    if (!rc)
        rc = pdi_fs_delete_many(fs, urls, n);
    free(urls);
    pdi_fs_entries_free(e, n);
    return rc;
}

int pdi_fs_cleanup_incomplete(pd_fs *fs, const char *prefix, size_t *n_cleaned)
{
    size_t dummy;
    if (!n_cleaned)
        n_cleaned = &dummy;
    *n_cleaned = 0;
    pdi_loc l;
    int rc = pdi_loc_parse(prefix, &l);
    if (rc)
        return rc;
    rc = l.s3 ? pdi_s3_cleanup(fs, &l, n_cleaned) : pdi_local_cleanup(l.path, n_cleaned);
    pdi_loc_free(&l);
    return rc;
}

/* ------------------------------------------------------- copy and rename */

int pdi_fs_copy(pd_fs *fs, const char *src, const char *dst)
{
    pdi_loc a, b;
    int rc = pdi_loc_parse(src, &a);
    if (rc)
        return rc;
    if ((rc = pdi_loc_parse(dst, &b))) {
        pdi_loc_free(&a);
        return rc;
    }
    if (a.s3 != b.s3) {
        rc = pd_set_error(PD_ERR_UNSUPPORTED,
                          "copy %s -> %s: across file systems (use download/upload)", src, dst);
    } else if (a.s3) {
        pd_fs_stat st;
        rc = pdi_s3_stat(fs, &a, &st);
        if (!rc)
            rc = pdi_s3_copy(fs, &a, &b, st.size);
    } else {
        rc = pdi_local_copy(a.path, b.path, __atomic_fetch_add(&fs->tmp_seq, 1, 0));
    }
    pdi_loc_free(&a);
    pdi_loc_free(&b);
    return rc;
}

int pdi_fs_rename(pd_fs *fs, const char *src, const char *dst)
{
    pdi_loc a, b;
    int rc = pdi_loc_parse(src, &a);
    if (rc)
        return rc;
    if ((rc = pdi_loc_parse(dst, &b))) {
        pdi_loc_free(&a);
        return rc;
    }
    if (a.s3 || b.s3)
        rc = pd_set_error(PD_ERR_UNSUPPORTED,
                          "rename %s -> %s: S3 has no atomic rename (copy, then delete)", src, dst);
    else if (rename(a.path, b.path) != 0)
        rc = pd_set_error(errno == ENOENT ? PD_ERR_NOT_FOUND : PD_ERR_IO,
                          "cannot rename %s to %s: %s", a.path, b.path, strerror(errno));
    pdi_loc_free(&a);
    pdi_loc_free(&b);
    return rc;
}
