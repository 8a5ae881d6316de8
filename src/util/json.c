/*
 * util/json.c - canonical JSON writer (no whitespace, keys in the order the
 * caller writes them) and a small, hardened DOM parser.
 *
 * Canonical JSON is what task inputs and outputs are hashed from, so the
 * writer must be deterministic: doubles use the shortest form that round-
 * trips, strings escape only what JSON requires.
 */
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void pdi_json_init(pd_json *j)
{
    memset(j, 0, sizeof *j);
}

static void sep(pd_json *j)
{
    if (j->depth > 0 && j->depth < 64) {
        if (j->need_comma[j->depth]) {
            pdi_buf_putc(&j->out, ',');
        }
        j->need_comma[j->depth] = true;
    }
}

static void open_(pd_json *j, char c)
{
    sep(j);
    pdi_buf_putc(&j->out, c);
    j->depth++;
    if (j->depth < 64) {
        j->need_comma[j->depth] = false;
    }
}

void pdi_json_obj_begin(pd_json *j)
{
    open_(j, '{');
}

void pdi_json_obj_end(pd_json *j)
{
    pdi_buf_putc(&j->out, '}');
    j->depth--;
}

void pdi_json_arr_begin(pd_json *j)
{
    open_(j, '[');
}

void pdi_json_arr_end(pd_json *j)
{
    pdi_buf_putc(&j->out, ']');
    j->depth--;
}

int pdi_json_escape(pd_buf *b, const char *s, size_t n)
{
    pdi_buf_putc(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c < 0x20) {
            pdi_buf_append(b, s + start, i - start);
            switch (c) {
            case '"': pdi_buf_puts(b, "\\\""); break;
            case '\\': pdi_buf_puts(b, "\\\\"); break;
            case '\n': pdi_buf_puts(b, "\\n"); break;
            case '\r': pdi_buf_puts(b, "\\r"); break;
            case '\t': pdi_buf_puts(b, "\\t"); break;
            case '\b': pdi_buf_puts(b, "\\b"); break;
            case '\f': pdi_buf_puts(b, "\\f"); break;
            default: pdi_buf_printf(b, "\\u%04x", c); break;
            }
            start = i + 1;
        }
    }
    pdi_buf_append(b, s + start, n - start);
    return pdi_buf_putc(b, '"');
}

void pdi_json_key(pd_json *j, const char *key)
{
    sep(j);
    pdi_json_escape(&j->out, key, strlen(key));
    pdi_buf_putc(&j->out, ':');
    if (j->depth < 64) {
        j->need_comma[j->depth] = false; /* the value follows without a comma */
    }
}

/* After a value inside an object, the next key needs a comma. */
static void after_value(pd_json *j)
{
    if (j->depth > 0 && j->depth < 64) {
        j->need_comma[j->depth] = true;
    }
}

void pdi_json_strn(pd_json *j, const char *s, size_t n)
{
    sep(j);
    pdi_json_escape(&j->out, s, n);
    after_value(j);
}

void pdi_json_str(pd_json *j, const char *s)
{
    if (!s) {
        pdi_json_null(j);
        return;
    }
    pdi_json_strn(j, s, strlen(s));
}

void pdi_json_int(pd_json *j, int64_t v)
{
    sep(j);
    pdi_buf_printf(&j->out, "%lld", (long long)v);
    after_value(j);
}

void pdi_json_double(pd_json *j, double v)
{
    sep(j);
    if (!isfinite(v)) {
        pdi_buf_puts(&j->out, "null");
    } else {
        char tmp[40];
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, v);
            if (strtod(tmp, NULL) == v) {
                break;
            }
        }
        pdi_buf_puts(&j->out, tmp);
    }
    after_value(j);
}

void pdi_json_bool(pd_json *j, bool v)
{
    sep(j);
    pdi_buf_puts(&j->out, v ? "true" : "false");
    after_value(j);
}

void pdi_json_null(pd_json *j)
{
    sep(j);
    pdi_buf_puts(&j->out, "null");
    after_value(j);
}

void pdi_json_raw(pd_json *j, const char *raw)
{
    sep(j);
    pdi_buf_puts(&j->out, raw);
    after_value(j);
}

char *pdi_json_finish(pd_json *j)
{
    char *s = pdi_buf_detach(&j->out);
    pdi_json_init(j);
    return s;
}

void pdi_json_free(pd_json *j)
{
    pdi_buf_free(&j->out);
}

/* ---- parser ---- */

typedef struct jp {
    const char *s;
    size_t n, i;
    int depth;
    bool err;
} jp;

static void ws(jp *p)
{
    while (p->i < p->n &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) {
        p->i++;
    }
}

static pd_jval *jerr(jp *p, const char *what)
{
    if (!p->err) {
        pd_set_error(PD_ERR_CORRUPT, "invalid JSON at byte %zu: %s", p->i, what);
    }
    p->err = true;
    return NULL;
}

static void put_utf8(pd_buf *b, unsigned cp)
{
    if (cp < 0x80) {
        pdi_buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        pdi_buf_putc(b, (char)(0xC0 | (cp >> 6)));
        pdi_buf_putc(b, (char)(0x80 | (cp & 63)));
    } else if (cp < 0x10000) {
        pdi_buf_putc(b, (char)(0xE0 | (cp >> 12)));
        pdi_buf_putc(b, (char)(0x80 | ((cp >> 6) & 63)));
        pdi_buf_putc(b, (char)(0x80 | (cp & 63)));
    } else {
        pdi_buf_putc(b, (char)(0xF0 | (cp >> 18)));
        pdi_buf_putc(b, (char)(0x80 | ((cp >> 12) & 63)));
        pdi_buf_putc(b, (char)(0x80 | ((cp >> 6) & 63)));
        pdi_buf_putc(b, (char)(0x80 | (cp & 63)));
    }
}

static int hex4(jp *p, unsigned *out)
{
    if (p->i + 4 > p->n) {
        return -1;
    }
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p->s[p->i++];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (unsigned)(c - 'A' + 10);
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

static char *parse_str(jp *p)
{
    pd_buf b = PD_BUF_INIT;
    p->i++; /* opening quote */
    while (p->i < p->n) {
        char c = p->s[p->i++];
        if (c == '"') {
            char *r = pdi_buf_detach(&b);
            return r;
        }
        if (c == '\\') {
            if (p->i >= p->n) {
                break;
            }
            char e = p->s[p->i++];
            switch (e) {
            case '"': pdi_buf_putc(&b, '"'); break;
            case '\\': pdi_buf_putc(&b, '\\'); break;
            case '/': pdi_buf_putc(&b, '/'); break;
            case 'b': pdi_buf_putc(&b, '\b'); break;
            case 'f': pdi_buf_putc(&b, '\f'); break;
            case 'n': pdi_buf_putc(&b, '\n'); break;
            case 'r': pdi_buf_putc(&b, '\r'); break;
            case 't': pdi_buf_putc(&b, '\t'); break;
            case 'u': {
                unsigned cp;
                if (hex4(p, &cp)) {
                    pdi_buf_free(&b);
                    jerr(p, "bad \\u escape");
                    return NULL;
                }
                if (cp >= 0xD800 && cp < 0xDC00 && p->i + 6 <= p->n && p->s[p->i] == '\\' &&
                    p->s[p->i + 1] == 'u') {
                    unsigned lo;
                    p->i += 2;
                    if (hex4(p, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                }
                put_utf8(&b, cp);
                break;
            }
            default:
                pdi_buf_free(&b);
                jerr(p, "bad escape");
                return NULL;
            }
        } else {
            pdi_buf_putc(&b, c);
        }
    }
    pdi_buf_free(&b);
    jerr(p, "unterminated string");
    return NULL;
}

static pd_jval *parse_val(jp *p);

static int push_item(pd_jval *v, pd_jval *item, char *key)
{
    pd_jval **items = pdi_realloc(v->items, (v->n + 1) * sizeof *items);
    if (!items) {
        return PD_ERR_NOMEM;
    }
    v->items = items;
    if (v->type == PD_J_OBJ) {
        char **keys = pdi_realloc(v->keys, (v->n + 1) * sizeof *keys);
        if (!keys) {
            return PD_ERR_NOMEM;
        }
        v->keys = keys;
        v->keys[v->n] = key;
    }
    v->items[v->n++] = item;
    return PD_OK;
}

static pd_jval *parse_val(jp *p)
{
    ws(p);
    if (p->i >= p->n) {
        return jerr(p, "unexpected end");
    }
    if (++p->depth > 200) {
        return jerr(p, "nesting too deep");
    }
    pd_jval *v = pdi_calloc(1, sizeof *v);
    if (!v) {
        p->err = true;
        return NULL;
    }
    char c = p->s[p->i];
    if (c == '{' || c == '[') {
        v->type = c == '{' ? PD_J_OBJ : PD_J_ARR;
        char close = c == '{' ? '}' : ']';
        p->i++;
        ws(p);
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
        } else {
            for (;;) {
                char *key = NULL;
                ws(p);
                if (v->type == PD_J_OBJ) {
                    if (p->i >= p->n || p->s[p->i] != '"') {
                        jerr(p, "expected key");
                        goto fail;
                    }
                    key = parse_str(p);
                    if (!key) {
                        goto fail;
                    }
                    ws(p);
                    if (p->i >= p->n || p->s[p->i] != ':') {
                        free(key);
                        jerr(p, "expected ':'");
                        goto fail;
                    }
                    p->i++;
                }
                pd_jval *item = parse_val(p);
                if (!item || push_item(v, item, key)) {
                    pdi_jval_free(item);
                    free(key);
                    goto fail;
                }
                ws(p);
                if (p->i < p->n && p->s[p->i] == ',') {
                    p->i++;
                    continue;
                }
                if (p->i < p->n && p->s[p->i] == close) {
                    p->i++;
                    break;
                }
                jerr(p, "expected ',' or end of container");
                goto fail;
            }
        }
    } else if (c == '"') {
        v->type = PD_J_STR;
        v->str = parse_str(p);
        if (!v->str) {
            goto fail;
        }
    } else if (p->n - p->i >= 4 && memcmp(p->s + p->i, "true", 4) == 0) {
        v->type = PD_J_BOOL;
        v->b = true;
        p->i += 4;
    } else if (p->n - p->i >= 5 && memcmp(p->s + p->i, "false", 5) == 0) {
        v->type = PD_J_BOOL;
        p->i += 5;
    } else if (p->n - p->i >= 4 && memcmp(p->s + p->i, "null", 4) == 0) {
        v->type = PD_J_NULL;
        p->i += 4;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        size_t st = p->i;
        while (p->i < p->n && strchr("+-0123456789.eE", p->s[p->i])) {
            p->i++;
        }
        v->type = PD_J_NUM;
        v->str = pdi_strndup(p->s + st, p->i - st);
        if (!v->str) {
            goto fail;
        }
        char *end;
        v->num = strtod(v->str, &end);
        if (*end) {
            jerr(p, "bad number");
            goto fail;
        }
    } else {
        jerr(p, "unexpected character");
        goto fail;
    }
    p->depth--;
    return v;
fail:
    p->err = true;
    pdi_jval_free(v);
    return NULL;
}

pd_jval *pdi_json_parse(const char *text, size_t len)
{
    jp p = {text, len, 0, 0, false};
    pd_jval *v = parse_val(&p);
    if (!v) {
        return NULL;
    }
    ws(&p);
    if (p.i != p.n) {
        pdi_jval_free(v);
        return jerr(&p, "trailing characters");
    }
    return v;
}

void pdi_jval_free(pd_jval *v)
{
    if (!v) {
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        pdi_jval_free(v->items[i]);
        if (v->keys) {
            free(v->keys[i]);
        }
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

const pd_jval *pdi_jval_get(const pd_jval *obj, const char *key)
{
    if (!obj || obj->type != PD_J_OBJ) {
        return NULL;
    }
    for (size_t i = 0; i < obj->n; i++) {
        if (strcmp(obj->keys[i], key) == 0) {
            return obj->items[i];
        }
    }
    return NULL;
}

const char *pdi_jval_str(const pd_jval *v)
{
    return v && v->type == PD_J_STR ? v->str : NULL;
}
