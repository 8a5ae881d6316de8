/*
 * fs/s3.c - S3 requests: settings and credentials resolved once, a pool of
 * libcurl easy handles, SigV4 signing through CURLOPT_AWS_SIGV4, retries with
 * exponential backoff and full jitter, resumption of truncated bodies, and S3
 * error XML turned into one message. No secret ever reaches a message.
 */
#include "fs/fs_int.h"
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------- settings */

void pdi_s3_free(pdi_s3 *s)
{
    free(s->err);
    free(s->scheme);
    free(s->hostport);
    free(s->endpoint);
    free(s->region);
    free(s->sigv4);
    free(s->ak);
    if (s->sk)
        memset(s->sk, 0, strlen(s->sk));
    free(s->sk);
    if (s->token)
        memset(s->token, 0, strlen(s->token));
    free(s->token);
    free(s->cred_source);
    memset(s, 0, sizeof *s);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static bool host_is_ip_or_localhost(const char *hostport)
{
    char host[256];
    const char *h = hostport;
    size_t n;
    if (*h == '[') /* IPv6 literal */
        return true;
    const char *colon = strrchr(h, ':');
    n = colon ? (size_t)(colon - h) : strlen(h);
    if (n >= sizeof host)
        return false;
    memcpy(host, h, n);
    host[n] = 0;
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) == 1)
        return true;
    return strcmp(host, "localhost") == 0;
}

static int resolve(pd_fs *fs, pdi_s3 *s)
{
    const pd_fs_config *c = &fs->cfg;
    const char *profile = c->profile ? c->profile : env("AWS_PROFILE");
    if (!profile)
        profile = "default";
    pdi_profile p = {0};
    int rc = pdi_profile_load(profile, &p);
    if (rc)
        return rc;
    /* region */
    const char *region = c->region && *c->region ? c->region : NULL;
    if (!region)
        region = env("AWS_REGION");
    if (!region)
        region = env("AWS_DEFAULT_REGION");
    if (!region)
        region = p.region;
    if (!region)
        region = "us-east-1";
    for (const char *q = region; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-')) {
            pdi_profile_free(&p);
            return pd_set_error(PD_ERR_CONFIG, "S3 region '%s' is not a region name", region);
        }
    s->region = pdi_strdup(region);
    s->sigv4 = pdi_asprintf("aws:amz:%s:s3", region);
    /* endpoint */
    const char *ep = c->endpoint_url && *c->endpoint_url ? c->endpoint_url : NULL;
    if (!ep)
        ep = env("AWS_ENDPOINT_URL_S3");
    if (!ep)
        ep = env("AWS_ENDPOINT_URL");
    char *aws = NULL;
    if (!ep)
        ep = aws = pdi_asprintf("https://s3.%s.amazonaws.com", region);
    const char *hp = NULL;
    if (ep && strncmp(ep, "http://", 7) == 0) {
        s->scheme = pdi_strdup("http");
        hp = ep + 7;
    } else if (ep && strncmp(ep, "https://", 8) == 0) {
        s->scheme = pdi_strdup("https");
        hp = ep + 8;
    } else {
        rc = pd_set_error(PD_ERR_CONFIG, "S3 endpoint '%s' must start with http:// or https://",
                          ep ? ep : "");
    }
    if (!rc) {
        size_t n = strcspn(hp, "/?#");
        if (n == 0 || (hp[n] && strcmp(hp + n, "/") != 0) || memchr(hp, '@', n))
            rc = pd_set_error(PD_ERR_CONFIG,
                              "S3 endpoint '%s' must be scheme://host[:port] (no path, no user)",
                              ep);
        else
            s->hostport = pdi_strndup(hp, n);
    }
    free(aws);
    if (!rc)
        s->endpoint = pdi_asprintf("%s://%s", s->scheme, s->hostport);
    /* addressing style */
    const char *style = c->url_style && *c->url_style ? c->url_style : NULL;
    bool explicit_style = style != NULL;
    if (!style)
        style = p.addressing_style;
    if (!rc) {
        if (!style || strcmp(style, "auto") == 0)
            s->style = 0;
        else if (strcmp(style, "path") == 0)
            s->style = 1;
        else if (strcmp(style, "virtual") == 0)
            s->style = 2;
        else
            rc = pd_set_error(PD_ERR_CONFIG,
                              "s3_url_style '%s': expected 'path', 'virtual' or 'auto'", style);
    }
    if (!rc && host_is_ip_or_localhost(s->hostport)) {
        if (s->style == 2 && explicit_style && s->hostport[0] != 'l')
            rc = pd_set_error(PD_ERR_CONFIG,
                              "s3_url_style 'virtual' cannot address a bucket on IP endpoint %s",
                              s->endpoint);
        else if (s->style == 0 || !explicit_style)
            s->style = 1;
    }
    /* credentials */
    if (!rc) {
        if (c->access_key_id && c->secret_access_key) {
            s->ak = pdi_strdup(c->access_key_id);
            s->sk = pdi_strdup(c->secret_access_key);
            s->token = pdi_strdup(c->session_token);
            s->cred_source = pdi_strdup("configuration");
        } else if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
            s->ak = pdi_strdup(env("AWS_ACCESS_KEY_ID"));
            s->sk = pdi_strdup(env("AWS_SECRET_ACCESS_KEY"));
            s->token = pdi_strdup(env("AWS_SESSION_TOKEN"));
            s->cred_source = pdi_strdup("environment (AWS_ACCESS_KEY_ID)");
        } else if (p.ak && p.sk) {
            s->ak = p.ak;
            s->sk = p.sk;
            s->token = p.token;
            p.ak = p.sk = p.token = NULL;
            s->cred_source = pdi_strdup(p.source ? p.source : "profile");
        } else {
            rc = pd_set_error(PD_ERR_CONFIG,
                              "no S3 credentials: set AWS_ACCESS_KEY_ID and "
                              "AWS_SECRET_ACCESS_KEY, or give profile '%s' keys in the shared "
                              "credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials)",
                              profile);
        }
    }
    pdi_profile_free(&p);
    if (!rc && (!s->region || !s->sigv4 || !s->endpoint || !s->ak || !s->sk || !s->cred_source))
        rc = pd_set_error(PD_ERR_NOMEM, "out of memory");
    return rc;
}

int pdi_s3_ready(pd_fs *fs)
{
    pthread_mutex_lock(&fs->mu);
    if (!fs->s3.ready) {
        pdi_s3 s = {0};
        int rc = resolve(fs, &s);
        if (rc) {
            pdi_s3_free(&s);
            s.err = pdi_strdup(pd_last_error());
            s.rc = rc;
        }
        s.ready = true;
        fs->s3 = s;
    }
    int rc = fs->s3.rc;
    if (rc)
        pd_set_error(rc, "%s", fs->s3.err ? fs->s3.err : "S3 is not configured");
    pthread_mutex_unlock(&fs->mu);
    return rc;
}

/* ----------------------------------------------------------- handle pool */

CURL *pdi_curl_get(pd_fs *fs)
{
    CURL *h = NULL;
    pthread_mutex_lock(&fs->mu);
    if (fs->n_idle)
        h = fs->idle[--fs->n_idle];
    pthread_mutex_unlock(&fs->mu);
    if (!h)
        h = curl_easy_init();
    else
        curl_easy_reset(h); /* options cleared; the connection stays */
    if (!h)
        pd_set_error(PD_ERR_NOMEM, "cannot create a curl handle");
    return h;
}

void pdi_curl_put(pd_fs *fs, CURL *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&fs->mu);
    CURL **n = pdi_grow(fs->idle, &fs->cap_idle, fs->n_idle, sizeof *n, 8);
    if (n) {
        fs->idle = n;
        fs->idle[fs->n_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&fs->mu);
    if (h)
        curl_easy_cleanup(h);
}

/* --------------------------------------------------------------- helpers */

char *pdi_uri_encode(const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    pd_buf b = {0};
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            pdi_buf_putc(&b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            pdi_buf_append(&b, e, 3);
        }
    }
    return pdi_buf_detach(&b);
}

static bool dns_bucket(const char *b, bool https)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || (c == '.' && !https)))
            return false;
    }
    return b[0] != '-' && b[n - 1] != '-';
}

static char *build_url(const pdi_s3 *s, const char *bucket, const char *key, const char *query)
{
    char *ekey = pdi_uri_encode(key ? key : "", true);
    if (!ekey)
        return NULL;
    bool https = strcmp(s->scheme, "https") == 0;
    bool vhost = s->style == 2 || (s->style == 0 && dns_bucket(bucket, https));
    char *u;
    if (vhost)
        u = pdi_asprintf("%s://%s.%s/%s%s%s", s->scheme, bucket, s->hostport, ekey,
                         query ? "?" : "", query ? query : "");
    else
        u = pdi_asprintf("%s://%s/%s%s%s%s%s", s->scheme, s->hostport, bucket,
                         key && *key ? "/" : "", ekey, query ? "?" : "", query ? query : "");
    free(ekey);
    return u;
}

/* --------------------------------------------------------------- XML */

static char *xml_unescape(const char *s, size_t n)
{
    pd_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '&') {
            pdi_buf_putc(&b, s[i]);
            continue;
        }
        const char *semi = memchr(s + i, ';', n - i);
        size_t el = semi ? (size_t)(semi - (s + i)) + 1 : 0;
        if (el == 5 && !strncmp(s + i, "&amp;", 5))
            pdi_buf_putc(&b, '&');
        else if (el == 4 && !strncmp(s + i, "&lt;", 4))
            pdi_buf_putc(&b, '<');
        else if (el == 4 && !strncmp(s + i, "&gt;", 4))
            pdi_buf_putc(&b, '>');
        else if (el == 6 && !strncmp(s + i, "&quot;", 6))
            pdi_buf_putc(&b, '"');
        else if (el == 6 && !strncmp(s + i, "&apos;", 6))
            pdi_buf_putc(&b, '\'');
        else if (el >= 4 && s[i + 1] == '#') {
            unsigned long cp =
                s[i + 2] == 'x' ? strtoul(s + i + 3, NULL, 16) : strtoul(s + i + 2, NULL, 10);
            char u[4];
            size_t k = 0;
            if (cp < 0x80) {
                u[k++] = (char)cp;
            } else if (cp < 0x800) {
                u[k++] = (char)(0xc0 | (cp >> 6));
                u[k++] = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                u[k++] = (char)(0xe0 | (cp >> 12));
                u[k++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                u[k++] = (char)(0x80 | (cp & 0x3f));
            } else {
                u[k++] = (char)(0xf0 | (cp >> 18));
                u[k++] = (char)(0x80 | ((cp >> 12) & 0x3f));
                u[k++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                u[k++] = (char)(0x80 | (cp & 0x3f));
            }
            pdi_buf_append(&b, u, k);
        } else {
            pdi_buf_putc(&b, '&');
            continue;
        }
        i += el - 1;
    }
    return pdi_buf_detach(&b);
}

const char *pdi_xml_block(const char *xml, const char *tag, const char **end)
{
    char open[80], close[80];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = xml ? strstr(xml, open) : NULL;
    if (!a)
        return NULL;
    a += strlen(open);
    const char *e = strstr(a, close);
    if (!e)
        return NULL;
    *end = e + strlen(close);
    return a;
}

char *pdi_xml_text(const char *xml, const char *tag, const char **pos)
{
    char open[80], close[80];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *start = pos && *pos ? *pos : xml;
    const char *a = start ? strstr(start, open) : NULL;
    if (!a)
        return NULL;
    a += strlen(open);
    const char *e = strstr(a, close);
    if (!e)
        return NULL;
    if (pos)
        *pos = e + strlen(close);
    return xml_unescape(a, (size_t)(e - a));
}

char *pdi_xml_escape(const char *s)
{
    pd_buf b = {0};
    for (; *s; s++) {
        switch (*s) {
        case '&': pdi_buf_puts(&b, "&amp;"); break;
        case '<': pdi_buf_puts(&b, "&lt;"); break;
        case '>': pdi_buf_puts(&b, "&gt;"); break;
        case '"': pdi_buf_puts(&b, "&quot;"); break;
        case '\'': pdi_buf_puts(&b, "&apos;"); break;
        default:
            if ((unsigned char)*s < 0x20)
                pdi_buf_printf(&b, "&#%d;", *s);
            else
                pdi_buf_putc(&b, *s);
        }
    }
    return pdi_buf_detach(&b);
}

/* ------------------------------------------------------------ one request */

typedef struct xfer {
    pdi_req *r;
    CURL *h;
    /* upload body */
    size_t up_pos;
    /* download */
    uint64_t got;   /* bytes of the wanted range written (across attempts) */
    uint64_t start; /* offset of this attempt's first byte within the range */
    bool err_body;  /* response is an error: collect into err */
    bool checked;
    pd_buf err;
    int sink_rc;
} xfer;

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *u)
{
    xfer *x = u;
    size_t want = size * nmemb, left = x->r->body_len - x->up_pos;
    if (want > left)
        want = left;
    if (want)
        memcpy(dst, (const char *)x->r->body + x->up_pos, want);
    x->up_pos += want;
    return want;
}

static int seek_cb(void *u, curl_off_t off, int origin)
{
    xfer *x = u;
    if (origin != SEEK_SET || off < 0 || (uint64_t)off > x->r->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->up_pos = (size_t)off;
    return CURL_SEEKFUNC_OK;
}

static size_t write_cb(char *src, size_t size, size_t nmemb, void *u)
{
    xfer *x = u;
    size_t n = size * nmemb;
    pdi_req *r = x->r;
    if (!x->checked) {
        long st = 0;
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &st);
        x->err_body = st >= 300;
        x->checked = true;
        if (r->ranged && st == 200 && r->range_off + x->got != 0) {
            /* the server ignored Range: these bytes start at offset 0 */
            x->sink_rc = pd_set_error(PD_ERR_IO, "server ignored the Range header (HTTP 200)");
            return 0;
        }
    }
    if (x->err_body) {
        if (x->err.len < 65536)
            pdi_buf_append(&x->err, src, n);
        return n;
    }
    r->fetched += n;
    if (r->ranged) {
        if (x->got + n > r->range_len) {
            x->sink_rc = pd_set_error(PD_ERR_IO, "server sent more bytes than the range asked");
            return 0;
        }
        if (r->sink_buf) {
            memcpy(r->sink_buf + x->got, src, n);
        } else {
            size_t done = 0;
            while (done < n) {
                ssize_t w =
                    pwrite(r->sink_fd, src + done, n - done, (off_t)(r->range_off + x->got + done));
                if (w < 0 && errno == EINTR)
                    continue;
                if (w < 0) {
                    x->sink_rc =
                        pd_set_error(PD_ERR_IO, "cannot write download: %s", strerror(errno));
                    return 0;
                }
                done += (size_t)w;
            }
        }
        x->got += n;
        return n;
    }
    if (r->out && pdi_buf_append(r->out, src, n)) {
        x->sink_rc = PD_ERR_NOMEM;
        return 0;
    }
    return n;
}

static bool hdr_is(const char *line, size_t n, const char *name, const char **val, size_t *vlen)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return false;
    const char *v = line + k + 1;
    const char *e = line + n;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
        e--;
    *val = v;
    *vlen = (size_t)(e - v);
    return true;
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *u)
{
    xfer *x = u;
    size_t n = size * nmemb;
    const char *v;
    size_t vl;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        x->checked = false; /* a new response (after 100-continue, say) */
        x->r->etag[0] = 0;
    } else if (hdr_is(line, n, "ETag", &v, &vl)) {
        if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
            v++;
            vl -= 2;
        }
        if (vl < sizeof x->r->etag) {
            memcpy(x->r->etag, v, vl);
            x->r->etag[vl] = 0;
        }
    } else if (hdr_is(line, n, "Content-Length", &v, &vl)) {
        x->r->content_length = strtoull(v, NULL, 10);
    } else if (hdr_is(line, n, "Last-Modified", &v, &vl)) {
        char tmp[64];
        if (vl < sizeof tmp) {
            memcpy(tmp, v, vl);
            tmp[vl] = 0;
            x->r->mtime = (int64_t)curl_getdate(tmp, NULL);
        }
    }
    return n;
}

/* PD_FS_TRACE=1: one line per S3 request attempt on stderr (no secrets) */
static bool trace_on(void)
{
    static int on = -1;
    if (on < 0) {
        const char *v = getenv("PD_FS_TRACE");
        on = v && *v && strcmp(v, "0") != 0;
    }
    return on;
}

static bool retryable_curl(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_READ_ERROR: return true;
    default: return false;
    }
}

static bool retryable_status(long st, const char *code)
{
    if (st == 500 || st == 502 || st == 503 || st == 504 || st == 429)
        return true;
    return st == 400 &&
           (strcmp(code, "RequestTimeout") == 0 || strcmp(code, "RequestTimeTooSkewed") == 0);
}

static void backoff(int attempt)
{
    /* full jitter: uniform in [0, min(cap, base * 2^attempt)] */
    unsigned long cap_ms = 50UL << (attempt < 7 ? attempt : 7);
    if (cap_ms > 5000)
        cap_ms = 5000;
    static _Thread_local unsigned int seed;
    if (!seed)
        seed = (unsigned int)((uintptr_t)time(NULL) ^ (uintptr_t)&seed ^ (uintptr_t)getpid()) | 1;
    unsigned long ms = (unsigned long)rand_r(&seed) % (cap_ms + 1);
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int base64_md5(const void *data, size_t len, char *out, size_t cap, char hex[33])
{
    unsigned char d[16];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, d, &n, EVP_md5(), NULL))
        return pd_set_error(PD_ERR, "MD5 failed");
    char *b = pdi_base64_encode(d, 16);
    if (!b)
        return PD_ERR_NOMEM;
    snprintf(out, cap, "%s", b);
    free(b);
    pdi_hex(d, 16, hex);
    return PD_OK;
}

int pdi_s3_fail(pd_fs *fs, const pdi_req *r, int rc, const char *what)
{
    (void)rc;
    const char *ep = fs->s3.endpoint ? fs->s3.endpoint : "?";
    const char *k = r->key && *r->key ? r->key : "";
    if (strcmp(r->code, "NoSuchBucket") == 0)
        return pd_set_error(PD_ERR_NOT_FOUND,
                            "S3 bucket '%s' does not exist (%s s3://%s/%s: HTTP %ld NoSuchBucket, "
                            "endpoint %s)",
                            r->bucket, r->method, r->bucket, k, r->status, ep);
    if (strcmp(r->code, "SignatureDoesNotMatch") == 0)
        return pd_set_error(PD_ERR_IO,
                            "s3://%s/%s: %s: signature does not match: the secret access key of "
                            "access key id '%s' is not the one endpoint %s expects (HTTP %ld "
                            "SignatureDoesNotMatch)",
                            r->bucket, k, r->method, fs->s3.ak ? fs->s3.ak : "", ep, r->status);
    if (strcmp(r->code, "InvalidAccessKeyId") == 0)
        return pd_set_error(PD_ERR_IO,
                            "s3://%s/%s: %s: access key id '%s' is unknown to endpoint %s (HTTP "
                            "%ld InvalidAccessKeyId)",
                            r->bucket, k, r->method, fs->s3.ak ? fs->s3.ak : "", ep, r->status);
    int code = r->status == 404 ? PD_ERR_NOT_FOUND : PD_ERR_IO;
    char detail[512];
    snprintf(detail, sizeof detail, "%s", pd_last_error()); /* the server's Message */
    if (r->status == 404 && !r->code[0])
        return pd_set_error(code, "s3://%s/%s: %s: not found (HTTP 404, endpoint %s)", r->bucket, k,
                            r->method, ep);
    return pd_set_error(code, "s3://%s/%s: %s failed: HTTP %ld %s%s%s (endpoint %s)", r->bucket, k,
                        what ? what : r->method, r->status, r->code[0] ? r->code : "",
                        r->code[0] ? ": " : "", detail, ep);
}

int pdi_s3_request(pd_fs *fs, pdi_req *r)
{
    int rc = pdi_s3_ready(fs);
    if (rc)
        return rc;
    const pdi_s3 *s = &fs->s3;
    char *url = build_url(s, r->bucket, r->key, r->query);
    if (!url)
        return PD_ERR_NOMEM;
    /* headers: the payload hash (libcurl does not add it for S3), the
     * session token, MD5. (An "Expect:" line to drop 100-continue would be
     * signed by libcurl 7.88 as an empty header and fail the signature.) */
    struct curl_slist *hl = NULL;
    char line[256];
    uint8_t sha[PD_SHA256_LEN];
    char shahex[2 * PD_SHA256_LEN + 1];
    if (r->md5 && r->body_len >= PDI_MIB) {
        /* Large bodies carry Content-MD5, which is signed: the body stays
         * tamper-evident and checked, without a second full hash of it on
         * both ends (as the AWS SDKs do for uploads). */
        snprintf(shahex, sizeof shahex, "UNSIGNED-PAYLOAD");
    } else {
        pdi_sha256(r->body ? r->body : "", r->body ? r->body_len : 0, sha);
        pdi_hex(sha, sizeof sha, shahex);
    }
    snprintf(line, sizeof line, "x-amz-content-sha256: %s", shahex);
    hl = curl_slist_append(hl, line);
    char md5hex[33] = "";
    if (r->md5) {
        char b64[40];
        if ((rc = base64_md5(r->body ? r->body : "", r->body_len, b64, sizeof b64, md5hex))) {
            free(url);
            curl_slist_free_all(hl);
            return rc;
        }
        snprintf(line, sizeof line, "Content-MD5: %s", b64);
        hl = curl_slist_append(hl, line);
    }
    if (s->token) {
        char *t = pdi_asprintf("x-amz-security-token: %s", s->token);
        if (t) {
            hl = curl_slist_append(hl, t);
            memset(t, 0, strlen(t));
        }
        free(t);
    }
    for (size_t i = 0; i < sizeof r->hdr / sizeof r->hdr[0] && r->hdr[i]; i++)
        hl = curl_slist_append(hl, r->hdr[i]);
    if (!hl) {
        free(url);
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    }

    xfer x = {.r = r};
    int attempts = fs->cfg.max_retries + 1;
    char errbuf[CURL_ERROR_SIZE];
    rc = PD_ERR_IO;
    r->fetched = 0;
    for (int attempt = 0; attempt < attempts; attempt++) {
        if (attempt)
            backoff(attempt - 1);
        CURL *h = pdi_curl_get(fs);
        if (!h) {
            rc = PD_ERR_NOMEM;
            break;
        }
        x.h = h;
        x.up_pos = 0;
        x.checked = false;
        x.err_body = false;
        x.sink_rc = PD_OK;
        pdi_buf_clear(&x.err);
        if (r->out && !r->ranged)
            pdi_buf_clear(r->out);
        r->status = 0;
        r->code[0] = 0;
        r->etag[0] = 0;
        r->content_length = 0;
        errbuf[0] = 0;
        struct curl_slist *hl2 = NULL;
        char range[96];
        if (r->ranged) {
            if (x.got >= r->range_len) {
                pdi_curl_put(fs, h);
                rc = PD_OK;
                break;
            }
            snprintf(range, sizeof range, "Range: bytes=%llu-%llu",
                     (unsigned long long)(r->range_off + x.got),
                     (unsigned long long)(r->range_off + r->range_len - 1));
            hl2 = curl_slist_append(NULL, range);
            x.start = x.got;
        }
        /* the per-attempt Range rides on a copy of the list */
        struct curl_slist *all = NULL;
        for (struct curl_slist *p = hl; p; p = p->next)
            all = curl_slist_append(all, p->data);
        for (struct curl_slist *p = hl2; p; p = p->next)
            all = curl_slist_append(all, p->data);
        curl_slist_free_all(hl2);

        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_SHARE, fs->share);
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
        curl_easy_setopt(h, CURLOPT_USERNAME, s->ak);
        curl_easy_setopt(h, CURLOPT_PASSWORD, s->sk);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, all);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, fs->cfg.connect_timeout_ms);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, fs->cfg.low_speed_time_s);
        curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
        curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
        if (strcmp(r->method, "HEAD") == 0) {
            curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (strcmp(r->method, "PUT") == 0) {
            curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
            curl_easy_setopt(h, CURLOPT_READDATA, &x);
            curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
            curl_easy_setopt(h, CURLOPT_SEEKDATA, &x);
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
        } else if (strcmp(r->method, "POST") == 0) {
            curl_easy_setopt(h, CURLOPT_POST, 1L);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? (const char *)r->body : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        } else if (strcmp(r->method, "DELETE") == 0) {
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
        }
        CURLcode cc = curl_easy_perform(h);
        long st = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
        if (trace_on()) {
            double t = 0;
            curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &t);
            fprintf(stderr, "pd_fs: %s s3://%s/%s%s%s attempt %d: HTTP %ld, curl %d, %.3f s\n",
                    r->method, r->bucket, r->key ? r->key : "", r->query ? "?" : "",
                    r->query ? r->query : "", attempt + 1, st, (int)cc, t);
        }
        r->status = st;
        curl_slist_free_all(all);
        if (cc != CURLE_OK && x.sink_rc) {
            pdi_curl_put(fs, h);
            rc = x.sink_rc;
            break;
        }
        if (st >= 300 || (st == 200 && strcmp(r->method, "POST") == 0 && r->out && r->out->data &&
                          strstr(r->out->data, "<Error>"))) {
            const char *body = x.err.len ? x.err.data : r->out ? r->out->data : NULL;
            char *code = body ? pdi_xml_text(body, "Code", NULL) : NULL;
            char *msg = body ? pdi_xml_text(body, "Message", NULL) : NULL;
            snprintf(r->code, sizeof r->code, "%s", code ? code : "");
            pd_set_error(PD_ERR_IO, "%s", msg ? msg : "");
            free(code);
            free(msg);
            pdi_curl_put(fs, h);
            if (st == 404 && r->not_found_ok) {
                rc = PD_ERR_NOT_FOUND;
                break;
            }
            if (retryable_status(st, r->code) && attempt + 1 < attempts) {
                if (r->ranged) /* keep nothing of an error body */
                    x.got = x.start;
                continue;
            }
            rc = pdi_s3_fail(fs, r, PD_ERR_IO, NULL);
            goto done;
        }
        if (cc != CURLE_OK) {
            pdi_curl_put(fs, h);
            pd_set_error(PD_ERR_IO, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
            if (retryable_curl(cc) && attempt + 1 < attempts)
                continue; /* a ranged GET resumes at x.got */
            rc = pd_set_error(
                PD_ERR_IO, "s3://%s/%s: %s failed after %d attempt%s: %s (endpoint %s)", r->bucket,
                r->key ? r->key : "", r->method, attempt + 1, attempt ? "s" : "",
                errbuf[0] ? errbuf : curl_easy_strerror(cc), s->endpoint);
            goto done;
        }
        pdi_curl_put(fs, h);
        if (r->ranged && x.got < r->range_len) {
            /* body shorter than asked without a transport error: resume */
            pd_set_error(PD_ERR_IO, "short body (%llu of %zu bytes)", (unsigned long long)x.got,
                         r->range_len);
            if (attempt + 1 < attempts)
                continue;
            rc = pd_set_error(PD_ERR_IO,
                              "s3://%s/%s: GET returned %llu of %zu bytes after %d attempts "
                              "(endpoint %s)",
                              r->bucket, r->key, (unsigned long long)x.got, r->range_len,
                              attempt + 1, s->endpoint);
            goto done;
        }
        if (r->md5 && md5hex[0] && strlen(r->etag) == 32 && strcasecmp(r->etag, md5hex) != 0) {
            /* the server stored other bytes than we sent */
            pd_set_error(PD_ERR_IO, "ETag %s does not match the MD5 %s of the body sent", r->etag,
                         md5hex);
            if (attempt + 1 < attempts)
                continue;
            rc = pd_set_error(PD_ERR_IO,
                              "s3://%s/%s: %s: stored bytes differ from the bytes sent "
                              "(ETag %s, MD5 %s; endpoint %s)",
                              r->bucket, r->key ? r->key : "", r->method, r->etag, md5hex,
                              s->endpoint);
            goto done;
        }
        rc = PD_OK;
        break;
    }
    if (rc == PD_ERR_IO && !pd_last_error()[0])
        pd_set_error(PD_ERR_IO, "s3://%s/%s: %s failed", r->bucket, r->key ? r->key : "",
                     r->method);
done:
    pdi_buf_free(&x.err);
    curl_slist_free_all(hl);
    free(url);
    return rc;
}
