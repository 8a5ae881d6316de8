/*
 * tests/parquet_write/test_parquet_write_random.c - randomized nested round
 * trips for the Parquet writer.
 *
 * Builds random schemas (structs, lists, large lists, fixed size lists, maps
 * over int32/int64/utf8/bool leaves, random nullability, up to 4 levels
 * deep) and random data with nulls and empty lists at every level and random
 * offsets on every array, writes them with random options (page version,
 * dictionary, encoding, codec, page and row group sizes) and compares every
 * row read back by our reader with the source (JSON rendering).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipedag/parquet.h"
#include "pqw_table.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int rn(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

static void *xcalloc(size_t n, size_t s)
{
    void *p = calloc(n ? n : 1, s ? s : 1);
    if (!p) {
        abort();
    }
    return p;
}

static char names[64][8];

/* Random schema node; depth limits nesting. */
static void gen_schema(struct ArrowSchema *s, int depth, int *counter, int force_required)
{
    int kind = depth >= 4 ? rn(4) : rn(9);
    int nullable = force_required ? 0 : rn(3) != 0;
    const char *name = names[(*counter)++ % 64];
    int64_t flags = nullable ? ARROW_FLAG_NULLABLE : 0;
    switch (kind) {
    case 0: pd_arrow_schema_init(s, "i", name, flags, 0); break;
    case 1: pd_arrow_schema_init(s, "l", name, flags, 0); break;
    case 2: pd_arrow_schema_init(s, "u", name, flags, 0); break;
    case 3: pd_arrow_schema_init(s, "b", name, flags, 0); break;
    case 4:
    case 5: {
        int nc = 1 + rn(3);
        pd_arrow_schema_init(s, "+s", name, flags, nc);
        for (int i = 0; i < nc; i++) {
            gen_schema(s->children[i], depth + 1, counter, 0);
        }
        break;
    }
    case 6:
        pd_arrow_schema_init(s, rn(2) ? "+l" : "+L", name, flags, 1);
        gen_schema(s->children[0], depth + 1, counter, 0);
        break;
    case 7:
        pd_arrow_schema_init(s, "+w:2", name, flags, 1);
        gen_schema(s->children[0], depth + 1, counter, 0);
        break;
    default:
        pd_arrow_schema_init(s, "+m", name, flags, 1);
        pd_arrow_schema_init(s->children[0], "+s", "entries", 0, 2);
        pd_arrow_schema_init(s->children[0]->children[0], "u", "key", 0, 0);
        gen_schema(s->children[0]->children[1], depth + 1, counter, 0);
        break;
    }
}

static void set_bit(uint8_t *bm, int64_t i, int v)
{
    if (v) {
        bm[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
}

/* Random array of `n` logical values for schema s, with a random offset. */
static void gen_array(const struct ArrowSchema *s, int64_t n, struct ArrowArray *a)
{
    int64_t off = rn(4);
    int64_t tot = n + off;
    const char *f = s->format;
    int nullable = (s->flags & ARROW_FLAG_NULLABLE) != 0;
    int nb = f[0] == 'u' ? 3 : (f[0] == '+' && f[1] == 's') || (f[0] == '+' && f[1] == 'w') ? 1 : 2;
    pd_arrow_array_init(a, nb, s->n_children);
    a->length = n;
    a->offset = off;
    uint8_t *bm = xcalloc((size_t)(tot + 7) / 8, 1);
    int64_t nulls = 0;
    for (int64_t j = 0; j < tot; j++) {
        int valid = !nullable || rn(5) != 0;
        set_bit(bm, j, valid);
        nulls += j >= off && !valid;
    }
    a->null_count = nulls;
    pd_arrow_array_set_buffer(a, 0, bm);
    switch (f[0]) {
    case 'i': {
        int32_t *d = xcalloc((size_t)tot, 4);
        for (int64_t j = 0; j < tot; j++) {
            d[j] = (int32_t)(rn(7) - 3);
        }
        pd_arrow_array_set_buffer(a, 1, d);
        return;
    }
    case 'l': {
        int64_t *d = xcalloc((size_t)tot, 8);
        for (int64_t j = 0; j < tot; j++) {
            d[j] = (int64_t)rnd();
        }
        pd_arrow_array_set_buffer(a, 1, d);
        return;
    }
    case 'b': {
        uint8_t *d = xcalloc((size_t)(tot + 7) / 8, 1);
        for (int64_t j = 0; j < tot; j++) {
            set_bit(d, j, rn(2));
        }
        pd_arrow_array_set_buffer(a, 1, d);
        return;
    }
    case 'u': {
        int32_t *of = xcalloc((size_t)tot + 1, 4);
        char *data = xcalloc((size_t)tot * 4 + 1, 1);
        int32_t pos = 0;
        for (int64_t j = 0; j < tot; j++) {
            int len = rn(4);
            for (int k = 0; k < len; k++) {
                data[pos++] = (char)('a' + rn(3));
            }
            of[j + 1] = pos;
        }
        pd_arrow_array_set_buffer(a, 1, of);
        pd_arrow_array_set_buffer(a, 2, data);
        return;
    }
    default: break;
    }
    if (f[1] == 's') {
        for (int64_t c = 0; c < s->n_children; c++) {
            /* children indexed by the struct's physical index */
            gen_array(s->children[c], tot, a->children[c]);
        }
        return;
    }
    if (f[1] == 'w') {
        gen_array(s->children[0], tot * 2, a->children[0]);
        return;
    }
    int large = f[1] == 'L';
    void *of = xcalloc((size_t)tot + 1, large ? 8 : 4);
    int64_t pos = 0;
    for (int64_t j = 0; j < tot; j++) {
        pos += rn(4);
        if (large) {
            ((int64_t *)of)[j + 1] = pos;
        } else {
            ((int32_t *)of)[j + 1] = (int32_t)pos;
        }
    }
    pd_arrow_array_set_buffer(a, 1, of);
    if (f[1] == 'm') {
        /* entries struct without offset or nulls; keys unique per map */
        struct ArrowArray *e = a->children[0];
        pd_arrow_array_init(e, 1, 2);
        e->length = pos;
        e->null_count = 0;
        struct ArrowArray *k = e->children[0];
        pd_arrow_array_init(k, 3, 0);
        k->length = pos;
        k->null_count = 0;
        int32_t *kof = xcalloc((size_t)pos + 1, 4);
        char *kd = xcalloc((size_t)pos * 2 + 1, 1);
        for (int64_t j = 0; j < pos; j++) {
            kd[2 * j] = 'k';
            kd[2 * j + 1] = (char)('0' + j % 10);
            kof[j + 1] = (int32_t)(2 * j + 2);
        }
        pd_arrow_array_set_buffer(k, 1, kof);
        pd_arrow_array_set_buffer(k, 2, kd);
        gen_array(s->children[0]->children[1], pos, e->children[1]);
        return;
    }
    gen_array(s->children[0], pos, a->children[0]);
}

static void noop_release(struct ArrowArray *a)
{
    a->release = NULL;
}

static int one_round(int iter, const char *dir)
{
    struct ArrowSchema s;
    int counter = 0, ncols = 1 + rn(4);
    pd_arrow_schema_init(&s, "+s", "", 0, ncols);
    for (int c = 0; c < ncols; c++) {
        gen_schema(s.children[c], 0, &counter, 0);
    }
    int64_t n = 1 + rn(600);
    struct ArrowArray a;
    pd_arrow_array_init(&a, 1, ncols);
    a.length = n;
    a.offset = rn(3);
    a.null_count = 0;
    for (int c = 0; c < ncols; c++) {
        gen_array(s.children[c], n + a.offset, a.children[c]);
    }
    pd_parquet_write_options o = PD_PARQUET_WRITE_OPTIONS_INIT;
    o.page_version = 1 + rn(2);
    o.dictionary = rn(2);
    o.encoding = (pd_parquet_encoding)rn(7);
    static const pd_parquet_codec codecs[] = {PD_CODEC_UNCOMPRESSED, PD_CODEC_SNAPPY, PD_CODEC_ZSTD,
                                              PD_CODEC_GZIP, PD_CODEC_LZ4_RAW};
    o.codec = codecs[rn(5)];
    o.page_size = 64 + rn(4000);
    o.row_group_rows = 1 + rn(400);
    o.threads = 1 + rn(2);
    char path[300];
    snprintf(path, sizeof path, "%s/rand-%d.parquet", dir, iter);
    pd_parquet_writer *w = NULL;
    int rc = pd_parquet_writer_open_path(path, &s, &o, &w);
    int64_t bs = 1 + rn(300);
    for (int64_t r = 0; rc == PD_OK && r < n; r += bs) {
        struct ArrowArray view = a;
        view.offset = a.offset + r;
        view.length = n - r < bs ? n - r : bs;
        view.release = noop_release;
        rc = pd_parquet_writer_write(w, &view);
    }
    if (rc == PD_OK) {
        rc = pd_parquet_writer_close(w);
    } else {
        pd_parquet_writer_abort(w);
    }
    int bad = 0;
    char *sj = pd_arrow_schema_to_json(&s);
    if (rc != PD_OK) {
        fprintf(stderr, "iteration %d: write failed: %s\nschema %s\n", iter, pd_last_error(), sj);
        bad = 1;
    }
    struct ArrowArrayStream st;
    if (!bad && pd_parquet_read_file_stream(path, NULL, &st) != PD_OK) {
        fprintf(stderr, "iteration %d: read failed: %s\nschema %s\n", iter, pd_last_error(), sj);
        bad = 1;
    }
    if (!bad) {
        char what[512];
        snprintf(what, sizeof what,
                 "iteration %d (v%d dict %d enc %d codec %d page %lld rg %lld), schema %.300s",
                 iter, o.page_version, o.dictionary, (int)o.encoding, (int)o.codec,
                 (long long)o.page_size, (long long)o.row_group_rows, sj ? sj : "?");
        bad = pqw_compare_stream(&st, &s, &a, n, what) != 0;
    }
    free(sj);
    pd_arrow_schema_release(&s);
    pd_arrow_array_release(&a);
    unlink(path);
    return bad;
}

static void test_random_roundtrips(void **state)
{
    (void)state;
    char dir[] = "/tmp/pqw-rand-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *seed = getenv("PQW_SEED");
    rng_state = seed ? strtoull(seed, NULL, 10) : 12345;
    int iters = getenv("PQW_ITERS") ? atoi(getenv("PQW_ITERS")) : 150;
    int fails = 0;
    for (int i = 0; i < iters && fails < 3; i++) {
        fails += one_round(i, dir);
    }
    rmdir(dir);
    assert_int_equal(fails, 0);
}

int main(void)
{
    for (int i = 0; i < 64; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_random_roundtrips)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
