/*
 * load/source.c - byte sources for the loader: a file read in chunks,
 * decompressed on the fly when its first bytes say gzip, zstd, bzip2 or xz
 * (concatenated members/frames/streams too), and transcoded from Latin-1 to
 * UTF-8 on request. A compressed stream that ends early or is damaged is an
 * error naming the file and the format, never a short table.
 */
#include "load/load_int.h"
#include <bzlib.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define SRC_IN_CAP (256u * 1024u)

struct pdi_src {
    char *path;
    int fd;
    pdi_comp comp;
    bool latin1;
    unsigned char *in;
    size_t in_len, in_pos;
    bool in_eof;
    bool done;        /* decoder reached the end of the data */
    bool member_end;  /* gzip/bzip2: a member just ended */
    size_t last_zstd; /* last ZSTD_decompressStream result (0 = frame complete) */
    bool started;     /* zstd: saw any input */
    z_stream z;
    bool z_init;
    ZSTD_DStream *zs;
    bz_stream bz;
    bool bz_init;
    lzma_stream xz;
    bool xz_init;
    char *scratch; /* latin-1: raw bytes before transcoding */
    size_t scratch_cap;
};

const char *pdi_comp_name(pdi_comp c)
{
    switch (c) {
    case PDI_COMP_GZIP: return "gzip";
    case PDI_COMP_ZSTD: return "zstd";
    case PDI_COMP_BZIP2: return "bzip2";
    case PDI_COMP_XZ: return "xz";
    default: return "plain";
    }
}

pdi_comp pdi_src_comp(const pdi_src *s)
{
    return s->comp;
}

static int fill(pdi_src *s)
{
    if (s->in_pos < s->in_len || s->in_eof)
        return PD_OK;
    s->in_pos = s->in_len = 0;
    for (;;) {
        ssize_t n = read(s->fd, s->in, SRC_IN_CAP);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return pd_set_error(PD_ERR_IO, "%s: read failed: %s", s->path, strerror(errno));
        if (n == 0)
            s->in_eof = true;
        s->in_len = (size_t)n;
        return PD_OK;
    }
}

static int truncated(const pdi_src *s)
{
    return pd_set_error(PD_ERR_CORRUPT, "%s: the %s data ends early (truncated or incomplete file)",
                        s->path, pdi_comp_name(s->comp));
}

static int damaged(const pdi_src *s, const char *detail)
{
    return pd_set_error(PD_ERR_CORRUPT, "%s: damaged %s data (%s)", s->path, pdi_comp_name(s->comp),
                        detail ? detail : "decoder error");
}

/* After a gzip member or bzip2 stream ended: more input must start another. */
static int next_member(pdi_src *s, const unsigned char *magic, size_t mlen, bool *more)
{
    *more = false;
    int rc = fill(s);
    if (rc)
        return rc;
    if (s->in_pos == s->in_len && s->in_eof)
        return PD_OK;
    /* need the magic: at most a few bytes may straddle a refill */
    size_t have = s->in_len - s->in_pos;
    if (have < mlen && !s->in_eof) {
        memmove(s->in, s->in + s->in_pos, have);
        s->in_pos = 0;
        s->in_len = have;
        while (s->in_len < mlen && !s->in_eof) {
            ssize_t n = read(s->fd, s->in + s->in_len, SRC_IN_CAP - s->in_len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return pd_set_error(PD_ERR_IO, "%s: read failed: %s", s->path, strerror(errno));
            if (n == 0)
                s->in_eof = true;
            s->in_len += (size_t)n;
        }
        have = s->in_len;
    }
    if (have < mlen || memcmp(s->in + s->in_pos, magic, mlen) != 0)
        return damaged(s, "unexpected bytes after the end of the compressed data");
    *more = true;
    return PD_OK;
}

static int read_raw(pdi_src *s, char *buf, size_t cap, size_t *got)
{
    *got = 0;
    int rc;
    while (*got == 0 && !s->done) {
        if ((rc = fill(s)))
            return rc;
        size_t avail = s->in_len - s->in_pos;
        switch (s->comp) {
        case PDI_COMP_NONE:
            if (!avail) {
                s->done = true;
                break;
            }
            if (avail > cap)
                avail = cap;
            memcpy(buf, s->in + s->in_pos, avail);
            s->in_pos += avail;
            *got = avail;
            break;
        case PDI_COMP_GZIP: {
            if (s->member_end) {
                static const unsigned char gz[2] = {0x1f, 0x8b};
                bool more = false;
                if ((rc = next_member(s, gz, 2, &more)))
                    return rc;
                if (!more) {
                    s->done = true;
                    break;
                }
                inflateReset(&s->z);
                s->member_end = false;
                avail = s->in_len - s->in_pos;
            }
            s->z.next_in = s->in + s->in_pos;
            s->z.avail_in = (uInt)avail;
            s->z.next_out = (Bytef *)buf;
            s->z.avail_out = (uInt)(cap > UINT32_MAX ? UINT32_MAX : cap);
            int zr = inflate(&s->z, Z_NO_FLUSH);
            s->in_pos = s->in_len - s->z.avail_in;
            *got = (size_t)((char *)s->z.next_out - buf);
            if (zr == Z_STREAM_END)
                s->member_end = true;
            else if (zr != Z_OK && zr != Z_BUF_ERROR)
                return damaged(s, s->z.msg);
            else if (!*got && s->in_eof && s->in_pos == s->in_len)
                return truncated(s);
            break;
        }
        case PDI_COMP_ZSTD: {
            if (!avail && s->in_eof && s->started && s->last_zstd == 0) {
                s->done = true;
                break;
            }
            s->started = true;
            ZSTD_inBuffer in = {s->in + s->in_pos, avail, 0};
            ZSTD_outBuffer out = {buf, cap, 0};
            size_t zr = ZSTD_decompressStream(s->zs, &out, &in);
            if (ZSTD_isError(zr))
                return damaged(s, ZSTD_getErrorName(zr));
            s->last_zstd = zr;
            s->in_pos += in.pos;
            *got = out.pos;
            if (!*got && s->in_eof && s->in_pos == s->in_len && zr != 0)
                return truncated(s);
            break;
        }
        case PDI_COMP_BZIP2: {
            if (s->member_end) {
                static const unsigned char bzm[3] = {'B', 'Z', 'h'};
                bool more = false;
                if ((rc = next_member(s, bzm, 3, &more)))
                    return rc;
                if (!more) {
                    s->done = true;
                    break;
                }
                BZ2_bzDecompressEnd(&s->bz);
                memset(&s->bz, 0, sizeof s->bz);
                if (BZ2_bzDecompressInit(&s->bz, 0, 0) != BZ_OK) {
                    s->bz_init = false;
                    return pd_set_error(PD_ERR_NOMEM, "%s: cannot start bzip2 decoder", s->path);
                }
                s->member_end = false;
                avail = s->in_len - s->in_pos;
            }
            s->bz.next_in = (char *)s->in + s->in_pos;
            s->bz.avail_in = (unsigned)avail;
            s->bz.next_out = buf;
            s->bz.avail_out = (unsigned)(cap > UINT32_MAX ? UINT32_MAX : cap);
            int br = BZ2_bzDecompress(&s->bz);
            s->in_pos = s->in_len - s->bz.avail_in;
            *got = (size_t)(s->bz.next_out - buf);
            if (br == BZ_STREAM_END)
                s->member_end = true;
            else if (br != BZ_OK)
                return damaged(s, br == BZ_DATA_ERROR_MAGIC ? "bad magic" : "data error");
            else if (!*got && s->in_eof && s->in_pos == s->in_len)
                return truncated(s);
            break;
        }
        case PDI_COMP_XZ: {
            s->xz.next_in = s->in + s->in_pos;
            s->xz.avail_in = avail;
            s->xz.next_out = (uint8_t *)buf;
            s->xz.avail_out = cap;
            lzma_ret xr = lzma_code(&s->xz, s->in_eof ? LZMA_FINISH : LZMA_RUN);
            s->in_pos = s->in_len - s->xz.avail_in;
            *got = (size_t)((char *)s->xz.next_out - buf);
            if (xr == LZMA_STREAM_END)
                s->done = true;
            else if (xr == LZMA_BUF_ERROR && s->in_eof)
                return truncated(s);
            else if (xr != LZMA_OK && xr != LZMA_BUF_ERROR)
                return damaged(s, xr == LZMA_MEM_ERROR ? "out of memory" : "data error");
            break;
        }
        }
    }
    return PD_OK;
}

int pdi_src_read(pdi_src *s, char *buf, size_t cap, size_t *got)
{
    if (!s->latin1)
        return read_raw(s, buf, cap, got);
    /* each byte becomes at most two */
    size_t want = cap / 2 ? cap / 2 : 1;
    if (s->scratch_cap < want) {
        char *n = pdi_realloc(s->scratch, want);
        if (!n)
            return PD_ERR_NOMEM;
        s->scratch = n;
        s->scratch_cap = want;
    }
    size_t n = 0;
    int rc = read_raw(s, s->scratch, want, &n);
    if (rc)
        return rc;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s->scratch[i];
        if (c < 0x80) {
            buf[o++] = (char)c;
        } else {
            buf[o++] = (char)(0xC0 | (c >> 6));
            buf[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    *got = o;
    return PD_OK;
}

void pdi_src_close(pdi_src *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    if (s->z_init)
        inflateEnd(&s->z);
    if (s->zs)
        ZSTD_freeDStream(s->zs);
    if (s->bz_init)
        BZ2_bzDecompressEnd(&s->bz);
    if (s->xz_init)
        lzma_end(&s->xz);
    free(s->in);
    free(s->scratch);
    free(s->path);
    free(s);
}

static pdi_comp sniff(const unsigned char *p, size_t n)
{
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return PDI_COMP_GZIP;
    if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
        return PDI_COMP_ZSTD;
    if (n >= 4 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h' && p[3] >= '1' && p[3] <= '9')
        return PDI_COMP_BZIP2;
    if (n >= 6 && !memcmp(p,
                          "\xfd"
                          "7zXZ\0",
                          6))
        return PDI_COMP_XZ;
    return PDI_COMP_NONE;
}

int pdi_src_open(const char *path, bool latin1, pdi_src **out)
{
    *out = NULL;
    pdi_src *s = pdi_calloc(1, sizeof *s);
    if (!s)
        return PD_ERR_NOMEM;
    s->fd = -1;
    s->latin1 = latin1;
    s->path = pdi_strdup(path);
    s->in = pdi_malloc(SRC_IN_CAP);
    if (!s->path || !s->in) {
        pdi_src_close(s);
        return PD_ERR_NOMEM;
    }
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        int rc = pd_set_error(errno == ENOENT ? PD_ERR_NOT_FOUND : PD_ERR_IO, "%s: cannot open: %s",
                              path, strerror(errno));
        pdi_src_close(s);
        return rc;
    }
    /* read until we have 6 bytes or the end, for the magic */
    while (s->in_len < 6 && !s->in_eof) {
        ssize_t n = read(s->fd, s->in + s->in_len, SRC_IN_CAP - s->in_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int rc = pd_set_error(PD_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            pdi_src_close(s);
            return rc;
        }
        if (n == 0)
            s->in_eof = true;
        s->in_len += (size_t)n;
    }
    s->comp = sniff(s->in, s->in_len);
    int rc = PD_OK;
    switch (s->comp) {
    case PDI_COMP_GZIP:
        if (inflateInit2(&s->z, 15 + 16) != Z_OK)
            rc = pd_set_error(PD_ERR_NOMEM, "%s: cannot start gzip decoder", path);
        else
            s->z_init = true;
        break;
    case PDI_COMP_ZSTD:
        s->zs = ZSTD_createDStream();
        if (!s->zs || ZSTD_isError(ZSTD_initDStream(s->zs)))
            rc = pd_set_error(PD_ERR_NOMEM, "%s: cannot start zstd decoder", path);
        break;
    case PDI_COMP_BZIP2:
        if (BZ2_bzDecompressInit(&s->bz, 0, 0) != BZ_OK)
            rc = pd_set_error(PD_ERR_NOMEM, "%s: cannot start bzip2 decoder", path);
        else
            s->bz_init = true;
        break;
    case PDI_COMP_XZ: {
        lzma_stream init = LZMA_STREAM_INIT;
        s->xz = init;
        if (lzma_stream_decoder(&s->xz, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
            rc = pd_set_error(PD_ERR_NOMEM, "%s: cannot start xz decoder", path);
        else
            s->xz_init = true;
        break;
    }
    default: break;
    }
    if (rc) {
        pdi_src_close(s);
        return rc;
    }
    *out = s;
    return PD_OK;
}

int pdi_file_is_parquet(const char *path, bool *is_parquet)
{
    *is_parquet = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pd_set_error(errno == ENOENT ? PD_ERR_NOT_FOUND : PD_ERR_IO, "%s: cannot open: %s",
                            path, strerror(errno));
    char m[4];
    ssize_t n = pread(fd, m, 4, 0);
    close(fd);
    *is_parquet = n == 4 && !memcmp(m, "PAR1", 4);
    return PD_OK;
}
