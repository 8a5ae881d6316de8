/*
 * parquet/decode_page.c - decoding one column chunk: page headers, dictionary
 * pages, data pages v1/v2 (levels + values) in every Parquet value encoding,
 * into a pdi_leafbuf (levels per slot, dense physical values).
 *
 * Errors name the column path, row group and page index.
 */
#include "parquet/codec.h"
#include "parquet/reader_int.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct chunkctx {
    pd_parquet_reader *r;
    pdi_scratch *s;
    const pdi_column *col;
    const pdi_chunk *ch;
    unsigned flags; /* PDI_VERIFY_CRC */
    int codec;
    bool have_dict;
    int64_t dict_n;
    uint8_t *dict_vals; /* fixed width */
    pdi_bytes dict_ba;
    pdi_leafbuf *out;
} chunkctx;

void pdi_leafbuf_free(pdi_leafbuf *lb)
{
    if (!lb)
        return;
    pdi_bfree(lb->def);
    pdi_bfree(lb->rep);
    pdi_bfree(lb->vals);
    pdi_bytes_free(&lb->ba);
    memset(lb, 0, sizeof *lb);
}

void pdi_scratch_free(pdi_scratch *s)
{
    if (!s)
        return;
    free(s->page);
    free(s->idx);
    free(s->tmp32);
    memset(s, 0, sizeof *s);
}

static int corrupt(const char *what)
{
    return pd_set_error(PD_ERR_CORRUPT, "%s", what);
}

static int grow(void **buf, size_t *cap, size_t need)
{
    if (need <= *cap && *buf)
        return PD_OK;
    size_t c = *cap ? *cap : 4096;
    while (c < need)
        c = c > SIZE_MAX / 2 ? need : c * 2;
    void *p = pdi_pq_realloc(*buf, c);
    if (!p)
        return pd_last_error_code();
    *buf = p;
    *cap = c;
    return PD_OK;
}

/* Payload as uncompressed bytes: either the stored bytes or the scratch. */
static int page_bytes(
    chunkctx *c, const uint8_t *src, size_t clen, size_t ulen, const uint8_t **out, size_t *out_len)
{
    if (c->codec == PD_CODEC_UNCOMPRESSED) {
        *out = src;
        *out_len = clen < ulen ? clen : ulen;
        if (clen != ulen)
            return pd_set_error(PD_ERR_CORRUPT,
                                "uncompressed page: compressed size %zu != uncompressed size %zu",
                                clen, ulen);
        return PD_OK;
    }
    int rc = grow((void **)&c->s->page, &c->s->page_cap, ulen ? ulen : 1);
    if (rc)
        return rc;
    rc = pdi_pq_decompress(c->codec, src, clen, c->s->page, ulen);
    if (rc)
        return rc;
    *out = c->s->page;
    *out_len = ulen;
    return PD_OK;
}

/* Copy n bytes; when n <= 16 copy 16 (the caller guarantees 16 readable
 * bytes at src and 16 writable bytes at dst). */
static inline void copy_short(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n <= 16)
        memcpy(dst, src, 16);
    else
        memcpy(dst, src, n);
}

/* ------------------------------------------------------------------ PLAIN */
static int plain_bytes(pdi_bytes *b, const uint8_t *p, size_t len, int64_t n)
{
    int rc = pdi_bytes_reserve(b, n, len);
    if (rc)
        return rc;
    const uint8_t *end = p + len;
    int32_t *offs = b->offs + b->n;
    uint8_t *data = b->data;
    size_t dl = b->len;
    for (int64_t i = 0; i < n; i++) {
        if (end - p < 4)
            return corrupt("PLAIN byte array value beyond end of page");
        uint32_t l;
        memcpy(&l, p, 4);
        p += 4;
        if (l > (size_t)(end - p))
            return corrupt("PLAIN byte array length beyond end of page");
        if (end - p >= 16)
            copy_short(data + dl, p, l);
        else
            memcpy(data + dl, p, l);
        p += l;
        dl += l;
        offs[i + 1] = (int32_t)dl;
    }
    b->len = dl;
    b->n += n;
    return PD_OK;
}

static int plain_fixed(const chunkctx *c, uint8_t *dst, const uint8_t *p, size_t len, int64_t n)
{
    const pdi_column *col = c->col;
    if (col->ptype == PDI_BOOLEAN) {
        if ((size_t)((n + 7) / 8) > len)
            return corrupt("PLAIN booleans beyond end of page");
        for (int64_t i = 0; i < n; i++)
            dst[i] = (p[i >> 3] >> (i & 7)) & 1;
        return PD_OK;
    }
    size_t need = (size_t)n * (size_t)col->pw;
    if (need > len)
        return pd_set_error(PD_ERR_CORRUPT, "page holds %zu value bytes, %lld values need %zu", len,
                            (long long)n, need);
    memcpy(dst, p, need);
    return PD_OK;
}

/* ------------------------------------------------------------------ dictionary */
static int read_dict_page(chunkctx *c, const pdi_page_header *h, const uint8_t *payload)
{
    if (c->have_dict)
        return corrupt("more than one dictionary page");
    if (c->out->n_slots > 0)
        return corrupt("dictionary page after data pages");
    if (h->dict_num_values < 0)
        return pd_set_error(PD_ERR_CORRUPT, "dictionary page with %d entries",
                            (int)h->dict_num_values);
    const uint8_t *p;
    size_t len;
    int rc =
        page_bytes(c, payload, (size_t)h->compressed_size, (size_t)h->uncompressed_size, &p, &len);
    if (rc)
        return rc;
    int64_t n = h->dict_num_values;
    c->dict_n = n;
    c->have_dict = true;
    if (c->col->ptype == PDI_BYTE_ARRAY) {
        if ((size_t)n > len / 4)
            return corrupt("dictionary entries beyond end of page");
        return plain_bytes(&c->dict_ba, p, len, n);
    }
    size_t pw = (size_t)c->col->pw;
    if ((size_t)n > (len + 1) * 8 / (pw ? pw : 1))
        return corrupt("dictionary entries beyond end of page");
    c->dict_vals = pdi_balloc(c->r->pool, (size_t)n * pw);
    if (!c->dict_vals)
        return pd_last_error_code();
    return plain_fixed(c, c->dict_vals, p, len, n);
}

static int dict_values(chunkctx *c, const uint8_t *p, size_t len, int64_t n)
{
    pdi_leafbuf *o = c->out;
    if (!c->have_dict)
        return corrupt("dictionary-encoded page without a dictionary page");
    if (len < 1)
        return corrupt("dictionary-encoded page without bit width");
    int bw = p[0];
    if (bw > 32)
        return pd_set_error(PD_ERR_CORRUPT, "dictionary index bit width %d", bw);
    int rc = grow((void **)&c->s->idx, &c->s->idx_cap, (size_t)n * sizeof(uint32_t));
    if (rc)
        return rc;
    rc = pdi_rle_u32(p + 1, len - 1, bw, c->s->idx, n);
    if (rc)
        return rc;
    const uint32_t *idx = c->s->idx;
    uint32_t dn = (uint32_t)c->dict_n;
    for (int64_t i = 0; i < n; i++)
        if (idx[i] >= dn)
            return pd_set_error(PD_ERR_CORRUPT,
                                "dictionary index %u out of range (dictionary has %u entries)",
                                idx[i], dn);
    if (c->col->ptype == PDI_BYTE_ARRAY) {
        const int32_t *doff = c->dict_ba.offs;
        size_t total = 0;
        for (int64_t i = 0; i < n; i++)
            total += (size_t)(doff[idx[i] + 1] - doff[idx[i]]);
        if ((rc = pdi_bytes_reserve(&o->ba, n, total)))
            return rc;
        const uint8_t *dd = c->dict_ba.data;
        int32_t *offs = o->ba.offs + o->ba.n;
        uint8_t *data = o->ba.data;
        size_t dl = o->ba.len;
        for (int64_t i = 0; i < n; i++) {
            int32_t a = doff[idx[i]], l = doff[idx[i] + 1] - a;
            copy_short(data + dl, dd + a, (size_t)l); /* dictionary data has 16 bytes slack */
            dl += (size_t)l;
            offs[i + 1] = (int32_t)dl;
        }
        o->ba.len = dl;
        o->ba.n += n;
        return PD_OK;
    }
    size_t pw = (size_t)c->col->pw;
    uint8_t *dst = o->vals + (size_t)o->n_values * pw;
    const uint8_t *dv = c->dict_vals;
    if (pw == 8) {
        uint64_t *d = (uint64_t *)(void *)dst;
        for (int64_t i = 0; i < n; i++)
            memcpy(&d[i], dv + (size_t)idx[i] * 8, 8);
    } else if (pw == 4) {
        uint32_t *d = (uint32_t *)(void *)dst;
        for (int64_t i = 0; i < n; i++)
            memcpy(&d[i], dv + (size_t)idx[i] * 4, 4);
    } else {
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + (size_t)i * pw, dv + (size_t)idx[i] * pw, pw);
    }
    return PD_OK;
}

/* ------------------------------------------------------------------ delta encodings */
static int get_tmp32(chunkctx *c, int64_t n)
{
    return grow((void **)&c->s->tmp32, &c->s->tmp32_cap, (size_t)(n ? n : 1) * sizeof(int32_t));
}

static int delta_length(chunkctx *c, const uint8_t *p, size_t len, int64_t n)
{
    pdi_bytes *b = &c->out->ba;
    size_t used;
    int rc = get_tmp32(c, n);
    if (!rc)
        rc = pdi_delta_decode(p, len, n, 4, c->s->tmp32, &used);
    if (rc)
        return rc;
    p += used;
    len -= used;
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        if (c->s->tmp32[i] < 0)
            return corrupt("negative DELTA_LENGTH_BYTE_ARRAY length");
        total += (size_t)c->s->tmp32[i];
        if (total > len)
            return corrupt("DELTA_LENGTH_BYTE_ARRAY data beyond end of page");
    }
    if ((rc = pdi_bytes_reserve(b, n, total)))
        return rc;
    memcpy(b->data + b->len, p, total);
    int32_t *offs = b->offs + b->n;
    size_t dl = b->len;
    for (int64_t i = 0; i < n; i++) {
        dl += (size_t)c->s->tmp32[i];
        offs[i + 1] = (int32_t)dl;
    }
    b->len = dl;
    b->n += n;
    return PD_OK;
}

static int delta_byte_array(chunkctx *c, const uint8_t *p, size_t len, int64_t n)
{
    pdi_leafbuf *o = c->out;
    size_t used;
    int rc = get_tmp32(c, 2 * n);
    if (rc)
        return rc;
    int32_t *pre = c->s->tmp32, *suf = c->s->tmp32 + n;
    if ((rc = pdi_delta_decode(p, len, n, 4, pre, &used)))
        return rc;
    p += used;
    len -= used;
    if ((rc = pdi_delta_decode(p, len, n, 4, suf, &used)))
        return rc;
    p += used;
    len -= used;
    size_t total = 0, stotal = 0;
    for (int64_t i = 0; i < n; i++) {
        if (pre[i] < 0 || suf[i] < 0)
            return corrupt("negative DELTA_BYTE_ARRAY length");
        stotal += (size_t)suf[i];
        total += (size_t)pre[i] + (size_t)suf[i];
        if (stotal > len)
            return corrupt("DELTA_BYTE_ARRAY data beyond end of page");
        if (total > (size_t)INT32_MAX)
            return corrupt("DELTA_BYTE_ARRAY values too large");
    }
    if (c->col->ptype == PDI_BYTE_ARRAY) {
        pdi_bytes *b = &o->ba;
        if ((rc = pdi_bytes_reserve(b, n, total)))
            return rc;
        for (int64_t i = 0; i < n; i++) {
            size_t prev_len = b->n ? (size_t)(b->offs[b->n] - b->offs[b->n - 1]) : 0;
            if ((size_t)pre[i] > prev_len)
                return corrupt("DELTA_BYTE_ARRAY prefix longer than the previous value");
            if (pre[i])
                memmove(b->data + b->len, b->data + b->offs[b->n - 1], (size_t)pre[i]);
            memcpy(b->data + b->len + (size_t)pre[i], p, (size_t)suf[i]);
            p += suf[i];
            b->len += (size_t)pre[i] + (size_t)suf[i];
            b->offs[b->n + 1] = (int32_t)b->len;
            b->n++;
        }
        return PD_OK;
    }
    /* FIXED_LEN_BYTE_ARRAY */
    size_t pw = (size_t)c->col->pw;
    for (int64_t i = 0; i < n; i++) {
        int64_t vi = o->n_values + i;
        if ((size_t)pre[i] + (size_t)suf[i] != pw)
            return corrupt("DELTA_BYTE_ARRAY value length differs from the fixed length");
        if (pre[i] && vi == 0)
            return corrupt("DELTA_BYTE_ARRAY prefix without a previous value");
        uint8_t *dst = o->vals + (size_t)vi * pw;
        if (pre[i])
            memcpy(dst, dst - pw, (size_t)pre[i]);
        memcpy(dst + pre[i], p, (size_t)suf[i]);
        p += suf[i];
    }
    return PD_OK;
}

static int byte_stream_split(chunkctx *c, const uint8_t *p, size_t len, int64_t n)
{
    size_t k = (size_t)c->col->pw;
    int t = c->col->ptype;
    if (t != PDI_FLOAT && t != PDI_DOUBLE && t != PDI_INT32 && t != PDI_INT64 && t != PDI_FLBA)
        return corrupt("BYTE_STREAM_SPLIT on an unsupported physical type");
    if ((size_t)n * k > len)
        return corrupt("BYTE_STREAM_SPLIT data shorter than the values");
    uint8_t *dst = c->out->vals + (size_t)c->out->n_values * k;
    for (size_t j = 0; j < k; j++) {
        const uint8_t *s = p + j * (size_t)n;
        for (int64_t i = 0; i < n; i++)
            dst[(size_t)i * k + j] = s[i];
    }
    return PD_OK;
}

/* ------------------------------------------------------------------ values */
static int decode_values(chunkctx *c, int enc, const uint8_t *p, size_t len, int64_t n)
{
    pdi_leafbuf *o = c->out;
    int t = c->col->ptype;
    int rc = PD_OK;
    if (n == 0)
        return PD_OK;
    if (o->n_values + n > o->cap_slots)
        return corrupt("more values than the column chunk declares");
    switch (enc) {
    case PDI_ENC_PLAIN:
        if (t == PDI_BYTE_ARRAY)
            return plain_bytes(&o->ba, p, len, n);
        return plain_fixed(c, o->vals + (size_t)o->n_values * (size_t)c->col->pw, p, len, n);
    case PDI_ENC_PLAIN_DICTIONARY:
    case PDI_ENC_RLE_DICTIONARY: return dict_values(c, p, len, n);
    case PDI_ENC_RLE: {
        if (t != PDI_BOOLEAN)
            return corrupt("RLE value encoding on a non-boolean column");
        if (len < 4)
            return corrupt("RLE booleans without length prefix");
        uint32_t l;
        memcpy(&l, p, 4);
        if (l > len - 4)
            return corrupt("RLE boolean length beyond end of page");
        return pdi_rle_u8(p + 4, l, 1, o->vals + o->n_values, n, 1);
    }
    case PDI_ENC_DELTA_BINARY_PACKED: {
        size_t used;
        if (t != PDI_INT32 && t != PDI_INT64)
            return corrupt("DELTA_BINARY_PACKED on a non-integer column");
        rc = pdi_delta_decode(p, len, n, c->col->pw,
                              o->vals + (size_t)o->n_values * (size_t)c->col->pw, &used);
        return rc;
    }
    case PDI_ENC_DELTA_LENGTH_BYTE_ARRAY:
        if (t != PDI_BYTE_ARRAY)
            return corrupt("DELTA_LENGTH_BYTE_ARRAY on a non-binary column");
        return delta_length(c, p, len, n);
    case PDI_ENC_DELTA_BYTE_ARRAY:
        if (t != PDI_BYTE_ARRAY && t != PDI_FLBA)
            return corrupt("DELTA_BYTE_ARRAY on a non-binary column");
        return delta_byte_array(c, p, len, n);
    case PDI_ENC_BYTE_STREAM_SPLIT: return byte_stream_split(c, p, len, n);
    default:
        return pd_set_error(PD_ERR_UNSUPPORTED, "unsupported value encoding %s (%d)",
                            pdi_encoding_name(enc), enc);
    }
}

static int64_t count_eq(const uint8_t *d, int64_t n, uint8_t v)
{
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        k += d[i] == v;
    return k;
}

/* v1 levels: RLE with a u32 length prefix, or legacy BIT_PACKED. */
static int
levels_v1(int enc, const uint8_t **pp, const uint8_t *end, int maxv, uint8_t *out, int64_t n)
{
    const uint8_t *p = *pp;
    int bw = pdi_bit_width((uint32_t)maxv);
    if (enc == PDI_ENC_RLE) {
        if (end - p < 4)
            return corrupt("level data truncated");
        uint32_t l;
        memcpy(&l, p, 4);
        p += 4;
        if (l > (size_t)(end - p))
            return corrupt("level length beyond end of page");
        int rc = pdi_rle_u8(p, l, bw, out, n, maxv);
        if (rc)
            return rc;
        *pp = p + l;
        return PD_OK;
    }
    if (enc == PDI_ENC_BIT_PACKED) {
        size_t used;
        int rc = pdi_bitpacked_msb_u8(p, (size_t)(end - p), bw, out, n, maxv, &used);
        if (rc)
            return rc;
        *pp = p + used;
        return PD_OK;
    }
    return pd_set_error(PD_ERR_CORRUPT, "unsupported level encoding %d", enc);
}

/* PLAIN fixed-width values that can be decompressed straight into the output
 * buffer: `ulen` bytes are exactly the n values. */
static bool direct_plain(const chunkctx *c, int enc, size_t ulen, int64_t n)
{
    const pdi_column *col = c->col;
    return enc == PDI_ENC_PLAIN && c->codec != PD_CODEC_UNCOMPRESSED && col->pw > 0 &&
           col->ptype != PDI_BOOLEAN && col->ptype != PDI_BYTE_ARRAY &&
           c->out->n_values + n <= c->out->cap_slots && ulen == (size_t)n * (size_t)col->pw;
}

static int decompress_direct(chunkctx *c, const uint8_t *src, size_t clen, size_t ulen, int64_t n)
{
    pdi_leafbuf *o = c->out;
    int rc = pdi_pq_decompress(c->codec, src, clen,
                               o->vals + (size_t)o->n_values * (size_t)c->col->pw, ulen);
    if (!rc)
        o->n_values += n;
    return rc;
}

static int data_page(chunkctx *c, const pdi_page_header *h, const uint8_t *payload)
{
    pdi_leafbuf *o = c->out;
    const pdi_column *col = c->col;
    bool v2 = h->type == PDI_PAGE_DATA_V2;
    if (v2 ? !h->has_v2_header : !h->has_data_header)
        return corrupt("data page without its data page header");
    int64_t nv = h->num_values;
    if (nv < 0)
        return corrupt("negative num_values in data page");
    if (nv > o->cap_slots - o->n_slots)
        return pd_set_error(PD_ERR_CORRUPT,
                            "data pages hold more values than the column chunk's %lld",
                            (long long)o->cap_slots);
    const uint8_t *vp = payload;
    size_t vlen = (size_t)h->compressed_size, ulen = (size_t)h->uncompressed_size;
    bool pending = false; /* vp/vlen are still stored bytes for page_bytes (ulen when inflated) */
    int rc = PD_OK;
    uint8_t *def = o->def ? o->def + o->n_slots : NULL;
    uint8_t *rep = o->rep ? o->rep + o->n_slots : NULL;
    if (!v2) {
        /* levels come first inside the (compressed) page */
        pending = true;
        if (col->max_def > 0 || col->max_rep > 0) {
            const uint8_t *buf;
            size_t blen;
            if ((rc = page_bytes(c, payload, vlen, ulen, &buf, &blen)))
                return rc;
            const uint8_t *p = buf, *end = buf + blen;
            if (col->max_rep > 0 &&
                (rc = levels_v1(h->rep_encoding, &p, end, col->max_rep, rep, nv)))
                return rc;
            if (col->max_def > 0 &&
                (rc = levels_v1(h->def_encoding, &p, end, col->max_def, def, nv)))
                return rc;
            vp = p;
            vlen = (size_t)(end - p);
            pending = false;
        }
    } else {
        int32_t rl = h->rep_len, dl = h->def_len;
        if (rl < 0 || dl < 0 || (int64_t)rl + dl > h->compressed_size ||
            (int64_t)rl + dl > h->uncompressed_size)
            return corrupt("bad level lengths in data page v2 header");
        if (col->max_rep > 0 &&
            (rc = pdi_rle_u8(payload, (size_t)rl, pdi_bit_width((uint32_t)col->max_rep), rep, nv,
                             col->max_rep)))
            return rc;
        if (col->max_def > 0 &&
            (rc = pdi_rle_u8(payload + rl, (size_t)dl, pdi_bit_width((uint32_t)col->max_def), def,
                             nv, col->max_def)))
            return rc;
        vp = payload + rl + dl;
        vlen -= (size_t)rl + (size_t)dl;
        ulen -= (size_t)rl + (size_t)dl;
        pending = vlen > 0 && h->is_compressed && c->codec != PD_CODEC_UNCOMPRESSED;
    }
    if (rep && nv > 0 && o->n_slots == 0 && rep[0] != 0)
        return corrupt("first repetition level of the column chunk is not 0");
    int64_t nn = col->max_def > 0 ? count_eq(def, nv, (uint8_t)col->max_def) : nv;
    if (pending && direct_plain(c, h->encoding, ulen, nn)) {
        if ((rc = decompress_direct(c, vp, vlen, ulen, nn)))
            return rc;
        o->n_slots += nv;
        return PD_OK;
    }
    if (pending && (rc = page_bytes(c, vp, vlen, ulen, &vp, &vlen)))
        return rc;
    rc = decode_values(c, h->encoding, vp, vlen, nn);
    if (rc)
        return rc;
    o->n_slots += nv;
    o->n_values += nn;
    return PD_OK;
}

static int read_chunk(chunkctx *c, int rg, int *page_no)
{
    pd_parquet_reader *r = c->r;
    const pdi_chunk *ch = c->ch;
    const pdi_column *col = c->col;
    pdi_leafbuf *o = c->out;
    int rc = PD_OK;
    if (ch->encrypted)
        return pd_set_error(PD_ERR_UNSUPPORTED,
                            "column is encrypted (Parquet modular encryption is not supported)");
    if (ch->file_path)
        return pd_set_error(PD_ERR_UNSUPPORTED,
                            "column chunk in an external file is not supported");
    if (!ch->has_meta)
        return corrupt("column chunk without metadata");
    if (ch->num_values < 0 || ch->num_values > PDI_MAX_COLUMN_VALUES)
        return pd_set_error(PD_ERR_CORRUPT, "bad column chunk num_values %lld",
                            (long long)ch->num_values);
    int64_t rows = r->f.rowgroups[rg].num_rows;
    if (col->max_rep == 0 && ch->num_values != rows)
        return pd_set_error(PD_ERR_CORRUPT, "column chunk has %lld values, row group has %lld rows",
                            (long long)ch->num_values, (long long)rows);
    if (col->max_rep > 0 && ch->num_values < rows)
        return pd_set_error(PD_ERR_CORRUPT, "column chunk has %lld values, row group has %lld rows",
                            (long long)ch->num_values, (long long)rows);
    c->codec = ch->codec;
    if (c->codec < 0 || c->codec > PD_CODEC_LZ4_RAW || c->codec == PD_CODEC_LZO)
        return pd_set_error(PD_ERR_UNSUPPORTED, "unsupported compression codec %d", c->codec);
    int64_t cap = ch->num_values;
    o->cap_slots = cap;
    size_t pw = col->ptype == PDI_BYTE_ARRAY ? 0 : (size_t)col->pw;
    pdi_pool *pool = r->pool;
    o->ba.pool = pool;
    if (col->max_def > 0 && !(o->def = pdi_balloc(pool, (size_t)cap)))
        return pd_last_error_code();
    if (col->max_rep > 0 && !(o->rep = pdi_balloc(pool, (size_t)cap)))
        return pd_last_error_code();
    if (pw) {
        size_t bytes;
        if (!pdi_mul_size((size_t)cap, pw, &bytes))
            return corrupt("column chunk too large");
        if (!(o->vals = pdi_balloc(pool, bytes)))
            return pd_last_error_code();
    } else if ((rc = pdi_bytes_reserve(&o->ba, cap, 0))) {
        return rc;
    }
    if (cap == 0)
        return PD_OK;
    /* locate the pages */
    int64_t start = ch->data_page_offset;
    if (ch->dict_page_offset > 0 && ch->dict_page_offset < start)
        start = ch->dict_page_offset;
    int64_t total = ch->total_compressed;
    if (start < 4 || (uint64_t)start >= r->meta_start || total <= 0)
        return pd_set_error(PD_ERR_CORRUPT, "bad column chunk location (offset %lld, size %lld)",
                            (long long)start, (long long)total);
    if ((uint64_t)total > r->meta_start - (uint64_t)start)
        return corrupt("column chunk extends into the footer");
    /* old writers left the dictionary page header out of the total: allow slack */
    uint64_t span = (uint64_t)total + 4096;
    if (span > r->meta_start - (uint64_t)start)
        span = r->meta_start - (uint64_t)start;
    if (!pw) {
        /* PLAIN string bytes never exceed the chunk's uncompressed size; the
         * guess saves regrowing, bounded by 16 times the bytes present */
        uint64_t guess = ch->total_uncompressed > 0 ? (uint64_t)ch->total_uncompressed : 0;
        if (guess > span * 16)
            guess = span * 16;
        if ((rc = pdi_bytes_reserve(&o->ba, 0, guess < (1u << 30) ? (size_t)guess : 0)))
            return rc;
    }
    const uint8_t *buf;
    uint8_t *owned;
    if ((rc = pdi_read_range(r, (uint64_t)start, (size_t)span, &buf, &owned)))
        return rc;
    size_t pos = 0, len = (size_t)span;
    while (o->n_slots < cap) {
        if (pos >= len) {
            rc = pd_set_error(PD_ERR_CORRUPT, "column chunk ends after %lld of %lld values",
                              (long long)o->n_slots, (long long)cap);
            break;
        }
        pdi_page_header h;
        size_t hl;
        if ((rc = pdi_parse_page_header(buf + pos, len - pos, &h, &hl)))
            break;
        pos += hl;
        if ((size_t)h.compressed_size > len - pos) {
            rc = corrupt("page extends beyond the column chunk");
            break;
        }
        const uint8_t *payload = buf + pos;
        pos += (size_t)h.compressed_size;
        if ((c->flags & PDI_VERIFY_CRC) && h.has_crc) {
            uint32_t crc = (uint32_t)crc32(0L, payload, (uInt)h.compressed_size);
            if (crc != (uint32_t)h.crc) {
                rc = pd_set_error(PD_ERR_CORRUPT,
                                  "page checksum mismatch (stored CRC-32 %08x, computed %08x)",
                                  (uint32_t)h.crc, crc);
                break;
            }
        }
        if (h.type == PDI_PAGE_DICT) {
            rc = read_dict_page(c, &h, payload);
        } else if (h.type == PDI_PAGE_DATA || h.type == PDI_PAGE_DATA_V2) {
            rc = data_page(c, &h, payload);
        } /* index pages and unknown page types are skipped */
        if (rc)
            break;
        (*page_no)++;
    }
    pdi_bfree(owned);
    return rc;
}

int pdi_read_chunk(
    pd_parquet_reader *r, pdi_scratch *s, int rg, int leaf, unsigned flags, pdi_leafbuf *out)
{
    chunkctx c;
    memset(&c, 0, sizeof c);
    memset(out, 0, sizeof *out);
    c.r = r;
    c.s = s;
    c.flags = flags;
    c.col = &r->f.leaves[leaf];
    c.ch = &r->f.rowgroups[rg].columns[leaf];
    c.out = out;
    c.dict_ba.pool = r->pool;
    int page = 0;
    int rc = read_chunk(&c, rg, &page);
    pdi_bfree(c.dict_vals);
    pdi_bytes_free(&c.dict_ba);
    if (rc) {
        pd_error_prefix("column '%s', row group %d, page %d", c.col->path, rg, page);
        pdi_leafbuf_free(out);
    }
    return rc;
}
