/*
 * load/options.c - the options of a load (JSON, as the task's key carries
 * them) and the column type names a user may give.
 */
#include "load/load_int.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SAMPLE_ROWS 20000
#define DEFAULT_BATCH_ROWS  65536

static const struct {
    const char *name;
    pdi_ctype t;
} g_types[] = {
    {"bool", PDI_CT_BOOL},          {"boolean", PDI_CT_BOOL}, {"int8", PDI_CT_INT8},
    {"tinyint", PDI_CT_INT8},       {"int16", PDI_CT_INT16},  {"smallint", PDI_CT_INT16},
    {"int32", PDI_CT_INT32},        {"int", PDI_CT_INT32},    {"integer", PDI_CT_INT32},
    {"int64", PDI_CT_INT64},        {"bigint", PDI_CT_INT64}, {"float32", PDI_CT_FLOAT32},
    {"float", PDI_CT_FLOAT32},      {"real", PDI_CT_FLOAT32}, {"float64", PDI_CT_FLOAT64},
    {"double", PDI_CT_FLOAT64},     {"date", PDI_CT_DATE},    {"timestamp", PDI_CT_TIMESTAMP},
    {"datetime", PDI_CT_TIMESTAMP}, {"text", PDI_CT_TEXT},    {"string", PDI_CT_TEXT},
    {"str", PDI_CT_TEXT},           {"varchar", PDI_CT_TEXT},
};

int pdi_coltype_parse(const char *name, pdi_coltype *out)
{
    memset(out, 0, sizeof *out);
    char *l = pdi_str_lower(name);
    if (!l)
        return PD_ERR_NOMEM;
    int rc = PD_OK;
    for (size_t i = 0; i < sizeof g_types / sizeof g_types[0]; i++)
        if (!strcmp(l, g_types[i].name)) {
            out->t = g_types[i].t;
            free(l);
            return PD_OK;
        }
    int p = 0, s = 0, n = 0;
    if ((sscanf(l, "decimal(%d,%d)%n", &p, &s, &n) == 2 && l[n] == 0) ||
        (sscanf(l, "numeric(%d,%d)%n", &p, &s, &n) == 2 && l[n] == 0)) {
        if (p < 1 || p > 38 || s < 0 || s > p)
            rc = pd_set_error(PD_ERR_CONFIG,
                              "column type '%s': precision must be 1..38 and scale 0..precision",
                              name);
        out->t = PDI_CT_DECIMAL;
        out->precision = p;
        out->scale = s;
    } else {
        rc = pd_set_error(PD_ERR_CONFIG,
                          "unknown column type '%s' (known: bool, int8, int16, int32, int64, "
                          "float32, float64, decimal(P,S), date, timestamp, text)",
                          name);
    }
    free(l);
    return rc;
}

const char *pdi_coltype_format(const pdi_coltype *t, char *buf, size_t cap)
{
    const char *f = "u";
    switch (t->t) {
    case PDI_CT_BOOL: f = "b"; break;
    case PDI_CT_INT8: f = "c"; break;
    case PDI_CT_INT16: f = "s"; break;
    case PDI_CT_INT32: f = "i"; break;
    case PDI_CT_INT64: f = "l"; break;
    case PDI_CT_FLOAT32: f = "f"; break;
    case PDI_CT_FLOAT64: f = "g"; break;
    case PDI_CT_DATE: f = "tdD"; break;
    case PDI_CT_TIMESTAMP: f = "tsu:"; break;
    case PDI_CT_DECIMAL: snprintf(buf, cap, "d:%d,%d", t->precision, t->scale); return buf;
    default: break;
    }
    snprintf(buf, cap, "%s", f);
    return buf;
}

void pdi_load_opts_free(pdi_load_opts *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n_cols; i++)
        free(o->cols[i].name);
    free(o->cols);
    free(o->null_str);
    free(o);
}

void pdi_load_opts_set_batch_rows(pdi_load_opts *o, int64_t rows)
{
    if (o && rows > 0)
        o->batch_rows = rows;
}

static int one_char(const pd_jval *v, const char *key, int *out, bool allow_none)
{
    const char *s = pdi_jval_str(v);
    if (!s)
        return pd_set_error(PD_ERR_CONFIG, "load option '%s' must be a string", key);
    if (allow_none && !*s) {
        *out = -1;
        return PD_OK;
    }
    if (!strcmp(s, "\\t") || !strcmp(s, "tab"))
        s = "\t";
    if (strlen(s) != 1 || s[0] == '\n' || s[0] == '\r' || (unsigned char)s[0] >= 0x80)
        return pd_set_error(PD_ERR_CONFIG,
                            "load option '%s' must be one ASCII character (got '%s')%s", key, s,
                            allow_none ? " or \"\" for none" : "");
    *out = (unsigned char)s[0];
    return PD_OK;
}

int pdi_load_opts_parse(const char *json, pdi_load_opts **out)
{
    *out = NULL;
    pdi_load_opts *o = pdi_calloc(1, sizeof *o);
    if (!o)
        return PD_ERR_NOMEM;
    o->delimiter = ',';
    o->quote = '"';
    o->header = true;
    o->sample_rows = DEFAULT_SAMPLE_ROWS;
    o->batch_rows = DEFAULT_BATCH_ROWS;
    if (!json || !*json) {
        *out = o;
        return PD_OK;
    }
    pd_jval *v = pdi_json_parse(json, strlen(json));
    int rc = PD_OK;
    if (!v) {
        rc = pd_error_prefix("load options are not JSON");
        goto out;
    }
    if (v->type != PD_J_OBJ) {
        rc = pd_set_error(PD_ERR_CONFIG, "load options must be a JSON object");
        goto out;
    }
    for (size_t i = 0; i < v->n && !rc; i++) {
        const char *k = v->keys[i];
        const pd_jval *x = v->items[i];
        if (!strcmp(k, "delimiter")) {
            int c = 0;
            rc = one_char(x, k, &c, false);
            o->delimiter = (char)c;
        } else if (!strcmp(k, "quote")) {
            rc = one_char(x, k, &o->quote, true);
        } else if (!strcmp(k, "header") || !strcmp(k, "union")) {
            if (x->type != PD_J_BOOL)
                rc = pd_set_error(PD_ERR_CONFIG, "load option '%s' must be true or false", k);
            else if (!strcmp(k, "header"))
                o->header = x->b;
            else
                o->union_files = x->b;
        } else if (!strcmp(k, "null")) {
            const char *s = pdi_jval_str(x);
            if (!s)
                rc = pd_set_error(PD_ERR_CONFIG, "load option 'null' must be a string");
            else if (*s && !(o->null_str = pdi_strdup(s)))
                rc = PD_ERR_NOMEM;
        } else if (!strcmp(k, "encoding")) {
            const char *s = pdi_jval_str(x);
            char *l = s ? pdi_str_lower(s) : NULL;
            if (l && (!strcmp(l, "utf-8") || !strcmp(l, "utf8")))
                o->latin1 = false;
            else if (l && (!strcmp(l, "latin-1") || !strcmp(l, "latin1") ||
                           !strcmp(l, "iso-8859-1") || !strcmp(l, "iso8859-1")))
                o->latin1 = true;
            else
                rc = pd_set_error(PD_ERR_CONFIG,
                                  "load option 'encoding' must be utf-8 or latin-1 (got %s)",
                                  s ? s : "a non-string");
            free(l);
        } else if (!strcmp(k, "format")) {
            const char *s = pdi_jval_str(x);
            if (s && !strcmp(s, "auto"))
                o->format = PDI_FMT_AUTO;
            else if (s && !strcmp(s, "csv"))
                o->format = PDI_FMT_CSV;
            else if (s && !strcmp(s, "parquet"))
                o->format = PDI_FMT_PARQUET;
            else
                rc = pd_set_error(PD_ERR_CONFIG,
                                  "load option 'format' must be auto, csv or parquet");
        } else if (!strcmp(k, "sample_rows")) {
            const char *s = pdi_jval_str(x);
            if (s && !strcmp(s, "all"))
                o->sample_rows = -1;
            else if (x->type == PD_J_NUM && x->num >= 1 && x->num <= 1e12 &&
                     x->num == (double)(int64_t)x->num)
                o->sample_rows = (int64_t)x->num;
            else
                rc = pd_set_error(PD_ERR_CONFIG,
                                  "load option 'sample_rows' must be a positive integer or "
                                  "\"all\"");
        } else if (!strcmp(k, "columns")) {
            if (x->type != PD_J_OBJ) {
                rc = pd_set_error(PD_ERR_CONFIG,
                                  "load option 'columns' must map column names to types");
                break;
            }
            o->cols = pdi_calloc(x->n ? x->n : 1, sizeof *o->cols);
            if (!o->cols) {
                rc = PD_ERR_NOMEM;
                break;
            }
            for (size_t c = 0; c < x->n && !rc; c++) {
                const char *ty = pdi_jval_str(x->items[c]);
                if (!ty) {
                    rc = pd_set_error(PD_ERR_CONFIG, "columns: the type of '%s' must be a string",
                                      x->keys[c]);
                    break;
                }
                pdi_colspec *cs = &o->cols[o->n_cols];
                if ((rc = pdi_coltype_parse(ty, &cs->type))) {
                    pd_error_prefix("columns: '%s'", x->keys[c]);
                    break;
                }
                if (!(cs->name = pdi_strdup(x->keys[c]))) {
                    rc = PD_ERR_NOMEM;
                    break;
                }
                o->n_cols++;
            }
        } else {
            rc = pd_set_error(PD_ERR_CONFIG,
                              "unknown load option '%s' (known: columns, delimiter, encoding, "
                              "format, header, null, quote, sample_rows, union)",
                              k);
        }
    }
    if (!rc && o->quote >= 0 && o->quote == (unsigned char)o->delimiter)
        rc = pd_set_error(PD_ERR_CONFIG, "load options: quote and delimiter must differ");
out:
    pdi_jval_free(v);
    if (rc) {
        pdi_load_opts_free(o);
        return rc;
    }
    *out = o;
    return PD_OK;
}
