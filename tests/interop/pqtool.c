/*
 * tests/interop/pqtool.c - our side of the Parquet interop tests:
 *   pqtool cat FILE            rows read by our reader, one JSON object a line
 *   pqtool schema FILE         the Arrow schema our reader reports, as JSON
 *   pqtool rewrite IN OUT CODEC [--v2] [--nodict] [--rg N]
 *                              read IN with our reader, write OUT with our writer
 *   pqtool gen OUT JSONL SCHEMA CODEC [--v2] [--nodict] [--rg N]
 *                              write a generated flat table (every type our
 *                              builder makes, edge values, NULLs) with our
 *                              writer, and the data it holds as JSON lines
 * JSON rendering is pd_arrow_value_to_json (see include/pipedag/arrow.h).
 */
#include "pipedag/arrow.h"
#include "pipedag/parquet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int die(const char *what)
{
    fprintf(stderr, "pqtool: %s: %s (%s)\n", what, pd_last_error(),
            pd_status_name(pd_last_error_code()));
    return 1;
}

static int print_batch(const struct ArrowSchema *s, const struct ArrowArray *a, FILE *out)
{
    for (int64_t i = 0; i < a->length; i++) {
        size_t len = 0;
        char *j = pd_arrow_value_to_json(s, a, i, &len);
        if (!j) {
            return die("render row");
        }
        fwrite(j, 1, len, out);
        fputc('\n', out);
        free(j);
    }
    return 0;
}

static int cmd_cat(const char *path)
{
    pd_parquet_reader *r = NULL;
    if (pd_parquet_open_path(path, &r) != PD_OK) {
        return die(path);
    }
    pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
    o.max_batch_rows = 777; /* exercise batches that split row groups and pages */
    struct ArrowArrayStream st;
    if (pd_parquet_read_stream(r, &o, &st) != PD_OK) {
        pd_parquet_close(r);
        return die(path);
    }
    struct ArrowSchema s;
    int rc = 0;
    if (st.get_schema(&st, &s) != 0) {
        fprintf(stderr, "pqtool: %s: get_schema: %s\n", path, st.get_last_error(&st));
        rc = 1;
    }
    int64_t rows = 0;
    while (rc == 0) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0) {
            fprintf(stderr, "pqtool: %s: get_next after %lld rows: %s\n", path, (long long)rows,
                    st.get_last_error(&st));
            rc = 1;
            break;
        }
        if (!a.release) {
            break;
        }
        if (pd_arrow_array_validate(&s, &a) != PD_OK) {
            rc = die("invalid batch from the reader");
        } else {
            rc = print_batch(&s, &a, stdout);
        }
        rows += a.length;
        pd_arrow_array_release(&a);
    }
    if (rc == 0 && rows != pd_parquet_num_rows(r)) {
        fprintf(stderr, "pqtool: %s: read %lld rows, footer says %lld\n", path, (long long)rows,
                (long long)pd_parquet_num_rows(r));
        rc = 1;
    }
    pd_arrow_schema_release(&s);
    pd_arrow_stream_release(&st);
    pd_parquet_close(r);
    return rc;
}

static int cmd_schema(const char *path)
{
    pd_parquet_reader *r = NULL;
    if (pd_parquet_open_path(path, &r) != PD_OK) {
        return die(path);
    }
    struct ArrowSchema s;
    if (pd_parquet_get_schema(r, &s) != PD_OK) {
        pd_parquet_close(r);
        return die(path);
    }
    char *j = pd_arrow_schema_to_json(&s);
    int rc = j ? 0 : die("schema json");
    if (j) {
        puts(j);
    }
    free(j);
    pd_arrow_schema_release(&s);
    pd_parquet_close(r);
    return rc;
}

static int parse_write_opts(int argc, char **argv, int first, pd_parquet_write_options *o)
{
    if (pd_parquet_codec_from_name(argv[first], &o->codec) != PD_OK) {
        return die(argv[first]);
    }
    for (int i = first + 1; i < argc; i++) {
        if (strcmp(argv[i], "--v2") == 0) {
            o->page_version = 2;
        } else if (strcmp(argv[i], "--nodict") == 0) {
            o->dictionary = 0;
        } else if (strcmp(argv[i], "--rg") == 0 && i + 1 < argc) {
            o->row_group_rows = atoll(argv[++i]);
        } else if (strcmp(argv[i], "--page") == 0 && i + 1 < argc) {
            o->page_size = atoll(argv[++i]);
        } else {
            fprintf(stderr, "pqtool: unknown option %s\n", argv[i]);
            return 1;
        }
    }
    return 0;
}

static int cmd_rewrite(const char *in, const char *out, pd_parquet_write_options *o)
{
    pd_parquet_reader *r = NULL;
    if (pd_parquet_open_path(in, &r) != PD_OK) {
        return die(in);
    }
    struct ArrowArrayStream st;
    if (pd_parquet_read_stream(r, NULL, &st) != PD_OK) {
        pd_parquet_close(r);
        return die(in);
    }
    struct ArrowSchema s;
    pd_parquet_writer *w = NULL;
    int rc = 0;
    if (st.get_schema(&st, &s) != 0) {
        fprintf(stderr, "pqtool: %s: %s\n", in, st.get_last_error(&st));
        rc = 1;
    } else if (pd_parquet_writer_open_path(out, &s, o, &w) != PD_OK) {
        rc = die(out);
    }
    while (rc == 0) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0) {
            fprintf(stderr, "pqtool: %s: %s\n", in, st.get_last_error(&st));
            rc = 1;
            break;
        }
        if (!a.release) {
            break;
        }
        if (pd_parquet_writer_write(w, &a) != PD_OK) {
            rc = die(out);
        }
        pd_arrow_array_release(&a);
    }
    if (w) {
        if (rc == 0) {
            if (pd_parquet_writer_close(w) != PD_OK) {
                rc = die(out);
            }
        } else {
            pd_parquet_writer_abort(w);
        }
    }
    pd_arrow_schema_release(&s);
    pd_arrow_stream_release(&st);
    pd_parquet_close(r);
    return rc;
}

/* ---- generated flat table ---- */

static const struct {
    const char *name, *format;
} gen_cols[] = {
    {"id", "l"},       {"i8", "c"},           {"i16", "s"},        {"i32", "i"},
    {"i64", "l"},      {"u8", "C"},           {"u16", "S"},        {"u32", "I"},
    {"u64", "L"},      {"f32", "f"},          {"f64", "g"},        {"flag", "b"},
    {"s", "u"},        {"bin", "z"},          {"fixed", "w:16"},   {"d", "tdD"},
    {"ts_us", "tsu:"}, {"ts_utc", "tsu:UTC"}, {"ts_ms", "tsm:"},   {"ts_ns", "tsn:"},
    {"tm", "ttu"},     {"dec9", "d:9,2"},     {"dec18", "d:18,4"}, {"dec38", "d:38,10"},
    {"s_const", "u"},  {"s_req", "u"},
};
#define GEN_NCOLS (sizeof gen_cols / sizeof gen_cols[0])
#define GEN_ROWS  5000

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int gen_value(pd_arrow_builder *b, size_t c, int64_t row)
{
    uint64_t x = rnd();
    if (strcmp(gen_cols[c].name, "s_req") != 0 && c != 0 && (row % 97 == 5 || x % 13 == 0)) {
        return pd_arrow_builder_append_null(b, c);
    }
    char t[128];
    int n;
    if (row < 2) {
        /* rows 0 and 1: extremes */
        static const char *lo[] = {"0",
                                   "-128",
                                   "-32768",
                                   "-2147483648",
                                   "-9223372036854775808",
                                   "0",
                                   "0",
                                   "0",
                                   "0",
                                   "-3.4028234663852886e38",
                                   "-1.7976931348623157e308",
                                   "false",
                                   "",
                                   "",
                                   "",
                                   "0001-01-01",
                                   "1677-09-22 00:12:44",
                                   "1900-01-01 00:00:00Z",
                                   "0001-01-01 00:00:00",
                                   "1677-09-22 00:12:44",
                                   "00:00:00",
                                   "-9999999.99",
                                   "-99999999999999.9999",
                                   "-9999999999999999999999999999.9999999999",
                                   "same",
                                   "r"};
        static const char *hi[] = {"1",
                                   "127",
                                   "32767",
                                   "2147483647",
                                   "9223372036854775807",
                                   "255",
                                   "65535",
                                   "4294967295",
                                   "18446744073709551615",
                                   "3.4028234663852886e38",
                                   "1.7976931348623157e308",
                                   "true",
                                   "h\xc3\xa9llo \"w\" \\ \n\t\x01 \xe2\x9c\x93",
                                   "\x01\xff",
                                   "0123456789abcdef",
                                   "9999-12-31",
                                   "2262-04-11 23:47:16.854775",
                                   "2262-04-11 23:47:16.854775Z",
                                   "9999-12-31 23:59:59.999",
                                   "2262-04-11 23:47:16.854775806",
                                   "23:59:59.999999",
                                   "9999999.99",
                                   "99999999999999.9999",
                                   "9999999999999999999999999999.9999999999",
                                   "same",
                                   "r"};
        const char *v = row == 0 ? lo[c] : hi[c];
        if (strcmp(gen_cols[c].format, "w:16") == 0) {
            if (row == 0) {
                return pd_arrow_builder_append_bytes(b, c, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
            }
        }
        if (c == 0) {
            return pd_arrow_builder_append_int(b, c, row);
        }
        size_t len = strlen(v);
        if (strcmp(gen_cols[c].format, "z") == 0 && row == 1) {
            len = 2;
        }
        return pd_arrow_builder_append_bytes(b, c, v, len);
    }
    const char *f = gen_cols[c].format;
    const char *name = gen_cols[c].name;
    if (c == 0) {
        return pd_arrow_builder_append_int(b, c, row);
    }
    if (strcmp(name, "s_const") == 0) {
        return pd_arrow_builder_append_bytes(b, c, "same", 4);
    }
    if (strcmp(name, "s_req") == 0) {
        n = snprintf(t, sizeof t, "r%lld", (long long)(x % 50));
        return pd_arrow_builder_append_bytes(b, c, t, (size_t)n);
    }
    switch (f[0]) {
    case 'c': return pd_arrow_builder_append_int(b, c, (int8_t)x);
    case 's': return pd_arrow_builder_append_int(b, c, (int16_t)x);
    case 'i': return pd_arrow_builder_append_int(b, c, (int32_t)x);
    case 'l':
        return pd_arrow_builder_append_int(b, c, (int64_t)(x >> (1 + x % 60)) * ((x & 1) ? -1 : 1));
    case 'C': return pd_arrow_builder_append_uint(b, c, (uint8_t)x);
    case 'S': return pd_arrow_builder_append_uint(b, c, (uint16_t)x);
    case 'I': return pd_arrow_builder_append_uint(b, c, (uint32_t)x);
    case 'L': return pd_arrow_builder_append_uint(b, c, x >> (x % 64));
    case 'f':
    case 'g': {
        double v;
        switch (row % 50) {
        case 7: v = NAN; break;
        case 8: v = INFINITY; break;
        case 9: v = -INFINITY; break;
        case 10: v = -0.0; break;
        default: v = ((double)(int64_t)x / 1e15) * (f[0] == 'f' ? 1.0 : 1.0 / 3.0); break;
        }
        return pd_arrow_builder_append_double(b, c, v);
    }
    case 'b': return pd_arrow_builder_append_bool(b, c, (int)(x & 1));
    case 'u':
        n = snprintf(t, sizeof t, "v%llu-%s", (unsigned long long)(x % 300),
                     (x & 4) ? "\xc3\xbc\xc3\xb1\xc3\xaf" : "ascii");
        return pd_arrow_builder_append_bytes(b, c, t, (size_t)n);
    case 'z': {
        unsigned char bytes[24];
        size_t len = x % 24;
        for (size_t k = 0; k < len; k++) {
            bytes[k] = (unsigned char)(rnd() & 0xff);
        }
        return pd_arrow_builder_append_bytes(b, c, bytes, len);
    }
    case 'w': {
        unsigned char bytes[16];
        for (size_t k = 0; k < 16; k++) {
            bytes[k] = (unsigned char)(rnd() & 0xff);
        }
        return pd_arrow_builder_append_bytes(b, c, bytes, 16);
    }
    case 't':
        if (f[1] == 'd') {
            return pd_arrow_builder_append_int(b, c, (int64_t)(x % 200000) - 100000);
        }
        if (f[1] == 't') {
            return pd_arrow_builder_append_int(b, c, (int64_t)(x % 86400000000ull));
        }
        if (f[2] == 'n') {
            return pd_arrow_builder_append_int(b, c, (int64_t)(x >> 2) - (int64_t)(x >> 3));
        }
        if (f[2] == 'm') {
            return pd_arrow_builder_append_int(b, c,
                                               (int64_t)(x % 250000000000000ull) - 62000000000000);
        }
        return pd_arrow_builder_append_int(b, c,
                                           (int64_t)(x % 8000000000000000ull) - 4000000000000000);
    case 'd': {
        int p = atoi(f + 2);
        int s = atoi(strchr(f, ',') + 1);
        /* random digits, at most p of them, with the scale's fraction */
        char digits[64];
        int nd = 1 + (int)(rnd() % (uint64_t)p);
        for (int k = 0; k < nd; k++) {
            digits[k] = (char)('0' + rnd() % 10);
        }
        digits[nd] = '\0';
        int pos = (x & 1) ? snprintf(t, sizeof t, "-") : 0;
        if (nd <= s) {
            pos += snprintf(t + pos, sizeof t - (size_t)pos, "0.%.*s%s", s - nd,
                            "0000000000000000000000000000000000000000", digits);
        } else if (s == 0) {
            pos += snprintf(t + pos, sizeof t - (size_t)pos, "%s", digits);
        } else {
            pos += snprintf(t + pos, sizeof t - (size_t)pos, "%.*s.%s", nd - s, digits,
                            digits + nd - s);
        }
        return pd_arrow_builder_append_bytes(b, c, t, (size_t)pos);
    }
    default: return pd_set_error(PD_ERR_INVALID, "gen: format %s", f);
    }
}

static int
cmd_gen(const char *out, const char *jsonl, const char *schema_path, pd_parquet_write_options *o)
{
    pd_arrow_builder *b = NULL;
    if (pd_arrow_builder_new(&b) != PD_OK) {
        return die("builder");
    }
    for (size_t c = 0; c < GEN_NCOLS; c++) {
        int nullable = strcmp(gen_cols[c].name, "s_req") != 0 && c != 0;
        if (pd_arrow_builder_add_column(b, gen_cols[c].name, gen_cols[c].format, nullable) !=
            PD_OK) {
            pd_arrow_builder_free(b);
            return die("add column");
        }
    }
    FILE *jf = fopen(jsonl, "w");
    FILE *sf = fopen(schema_path, "w");
    if (!jf || !sf) {
        perror("pqtool gen");
        return 1;
    }
    pd_parquet_writer *w = NULL;
    struct ArrowSchema s;
    s.release = NULL;
    int rc = 0;
    for (int64_t row = 0; row < GEN_ROWS && rc == 0;) {
        int64_t end = row + 1200 < GEN_ROWS ? row + 1200 : GEN_ROWS;
        for (; row < end && rc == 0; row++) {
            for (size_t c = 0; c < GEN_NCOLS && rc == 0; c++) {
                if (gen_value(b, c, row) != PD_OK) {
                    fprintf(stderr, "pqtool gen: row %lld column %s: %s\n", (long long)row,
                            gen_cols[c].name, pd_last_error());
                    rc = 1;
                }
            }
        }
        if (rc) {
            break;
        }
        struct ArrowArray a;
        if (pd_arrow_builder_finish(b, s.release ? NULL : &s, &a) != PD_OK) {
            rc = die("finish");
            break;
        }
        if (!w) {
            char *sj = pd_arrow_schema_to_json(&s);
            fprintf(sf, "%s\n", sj ? sj : "");
            free(sj);
            if (pd_parquet_writer_open_path(out, &s, o, &w) != PD_OK) {
                rc = die(out);
            }
        }
        if (rc == 0) {
            rc = print_batch(&s, &a, jf);
        }
        if (rc == 0 && pd_parquet_writer_write(w, &a) != PD_OK) {
            rc = die(out);
        }
        pd_arrow_array_release(&a);
    }
    if (w) {
        if (rc == 0) {
            if (pd_parquet_writer_close(w) != PD_OK) {
                rc = die(out);
            }
        } else {
            pd_parquet_writer_abort(w);
        }
    }
    fclose(jf);
    fclose(sf);
    pd_arrow_schema_release(&s);
    pd_arrow_builder_free(b);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "cat") == 0) {
        return cmd_cat(argv[2]);
    }
    if (argc == 3 && strcmp(argv[1], "schema") == 0) {
        return cmd_schema(argv[2]);
    }
    pd_parquet_write_options o = PD_PARQUET_WRITE_OPTIONS_INIT;
    if (argc >= 5 && strcmp(argv[1], "rewrite") == 0) {
        if (parse_write_opts(argc, argv, 4, &o)) {
            return 1;
        }
        return cmd_rewrite(argv[2], argv[3], &o);
    }
    if (argc >= 6 && strcmp(argv[1], "gen") == 0) {
        if (parse_write_opts(argc, argv, 5, &o)) {
            return 1;
        }
        return cmd_gen(argv[2], argv[3], argv[4], &o);
    }
    fprintf(stderr, "usage: pqtool cat|schema FILE | rewrite IN OUT CODEC [opts] | gen OUT JSONL "
                    "SCHEMA CODEC [opts]\n");
    return 2;
}
