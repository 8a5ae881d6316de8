/*
 * store/view_shape.c - the shape of a View task (column selection and
 * renaming, sort, limit; PIPEDAG_SEMANTICS.md §1.3): parsed from the
 * task's options JSON, checked, and written back as canonical JSON (part
 * of the view's cache key).
 */
#include "store/store.h"
#include <stdlib.h>
#include <string.h>

void pdi_view_shape_free(pd_view_shape *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n_cols; i++) {
        free(v->cols[i].name);
        free(v->cols[i].source);
    }
    for (size_t i = 0; i < v->n_sort; i++)
        free(v->sort[i].column);
    free(v->cols);
    free(v->sort);
    memset(v, 0, sizeof *v);
    v->limit = -1;
}

bool pdi_view_shape_active(const pd_view_shape *v)
{
    return v && (v->n_cols || v->n_sort || v->limit >= 0);
}

static int bad(const char *what, const char *msg)
{
    return pd_set_error(PD_ERR_INVALID, "%s: %s", what, msg);
}

static int add_col(pd_view_shape *v, const char *what, const char *name, const char *src)
{
    if (!name || !*name || !src || !*src)
        return bad(what, "a view column needs a non-empty name and source column");
    for (size_t i = 0; i < v->n_cols; i++)
        if (!strcmp(v->cols[i].name, name))
            return pd_set_error(PD_ERR_INVALID, "%s: view column '%s' is named twice", what, name);
    pd_view_col *c = pdi_realloc(v->cols, (v->n_cols + 1) * sizeof *c);
    if (!c)
        return PD_ERR_NOMEM;
    v->cols = c;
    c[v->n_cols].name = pdi_strdup(name);
    c[v->n_cols].source = pdi_strdup(src);
    v->n_cols++;
    return c[v->n_cols - 1].name && c[v->n_cols - 1].source ? PD_OK : PD_ERR_NOMEM;
}

static int parse_cols(pd_view_shape *v, const char *what, const pd_jval *j)
{
    if (j->type == PD_J_STR)
        return add_col(v, what, j->str, j->str);
    if (j->type == PD_J_OBJ) {
        int rc = PD_OK;
        for (size_t i = 0; i < j->n && rc == PD_OK; i++)
            rc = add_col(v, what, j->keys[i], pdi_jval_str(j->items[i]));
        return rc;
    }
    if (j->type != PD_J_ARR)
        return bad(what, "'columns' must be a column name, a list or a mapping new: source");
    int rc = PD_OK;
    for (size_t i = 0; i < j->n && rc == PD_OK; i++) {
        const pd_jval *e = j->items[i];
        if (e->type == PD_J_STR)
            rc = add_col(v, what, e->str, e->str);
        else if (e->type == PD_J_OBJ && e->n == 1)
            rc = add_col(v, what, e->keys[0], pdi_jval_str(e->items[0]));
        else
            rc = bad(what, "each entry of 'columns' is a column name or {new: source}");
    }
    if (rc == PD_OK && !v->n_cols)
        rc = bad(what, "'columns' is empty");
    return rc;
}

static int truth(const pd_jval *j, bool *out)
{
    if (j->type == PD_J_BOOL) {
        *out = j->b;
        return 0;
    }
    const char *s = pdi_jval_str(j);
    if (s && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "yes"))) {
        *out = true;
        return 0;
    }
    if (s && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "no"))) {
        *out = false;
        return 0;
    }
    return -1;
}

static int add_sort(pd_view_shape *v, const char *what, const pd_jval *e)
{
    const char *col = NULL;
    bool desc = false, nf = false;
    if (e->type == PD_J_STR) {
        col = e->str;
    } else if (e->type == PD_J_OBJ) {
        for (size_t i = 0; i < e->n; i++) {
            const char *k = e->keys[i];
            const pd_jval *x = e->items[i];
            if (!strcmp(k, "column")) {
                col = pdi_jval_str(x);
            } else if (!strcmp(k, "order")) {
                const char *o = pdi_jval_str(x);
                if (o && (!strcmp(o, "asc") || !strcmp(o, "ASC")))
                    desc = false;
                else if (o && (!strcmp(o, "desc") || !strcmp(o, "DESC")))
                    desc = true;
                else
                    return bad(what, "sort 'order' is asc or desc");
            } else if (!strcmp(k, "nulls_first")) {
                if (truth(x, &nf))
                    return bad(what, "sort 'nulls_first' is true or false");
            } else {
                return pd_set_error(PD_ERR_INVALID,
                                    "%s: unknown sort key '%s' (known: column, order, nulls_first)",
                                    what, k);
            }
        }
    }
    if (!col || !*col)
        return bad(what, "each entry of 'sort_by' is a column name or {column: c, order: "
                         "asc|desc, nulls_first: bool}");
    pd_view_sort *s = pdi_realloc(v->sort, (v->n_sort + 1) * sizeof *s);
    if (!s)
        return PD_ERR_NOMEM;
    v->sort = s;
    s[v->n_sort].column = pdi_strdup(col);
    s[v->n_sort].desc = desc;
    s[v->n_sort].nulls_first = nf;
    v->n_sort++;
    return s[v->n_sort - 1].column ? PD_OK : PD_ERR_NOMEM;
}

static int parse_limit(pd_view_shape *v, const char *what, const pd_jval *j)
{
    const char *t = j->type == PD_J_NUM || j->type == PD_J_STR ? j->str : NULL;
    char *end = NULL;
    long long n = t && *t ? strtoll(t, &end, 10) : -1;
    if (!t || !*t || *end || n < 0)
        return bad(what, "'limit' is a non-negative integer");
    v->limit = n;
    return PD_OK;
}

static char *canonical(const pd_view_shape *v)
{
    pd_json j;
    pdi_json_init(&j);
    pdi_json_obj_begin(&j);
    if (v->n_cols) {
        pdi_json_key(&j, "columns");
        pdi_json_arr_begin(&j);
        for (size_t i = 0; i < v->n_cols; i++) {
            pdi_json_arr_begin(&j);
            pdi_json_str(&j, v->cols[i].name);
            pdi_json_str(&j, v->cols[i].source);
            pdi_json_arr_end(&j);
        }
        pdi_json_arr_end(&j);
    }
    if (v->n_sort) {
        pdi_json_key(&j, "sort_by");
        pdi_json_arr_begin(&j);
        for (size_t i = 0; i < v->n_sort; i++) {
            pdi_json_arr_begin(&j);
            pdi_json_str(&j, v->sort[i].column);
            pdi_json_str(&j, v->sort[i].desc ? "desc" : "asc");
            pdi_json_str(&j, v->sort[i].nulls_first ? "nulls_first" : "nulls_last");
            pdi_json_arr_end(&j);
        }
        pdi_json_arr_end(&j);
    }
    if (v->limit >= 0) {
        pdi_json_key(&j, "limit");
        pdi_json_int(&j, v->limit);
    }
    pdi_json_obj_end(&j);
    return pdi_json_finish(&j);
}

/* The canonical form read back: {"columns":[[n,s],..],"sort_by":[[c,o,nf]..]}. */
static int parse_canonical_sort(pd_view_shape *v, const char *what, const pd_jval *e)
{
    if (e->type != PD_J_ARR || e->n != 3)
        return bad(what, "malformed sort entry");
    const char *c = pdi_jval_str(e->items[0]), *o = pdi_jval_str(e->items[1]),
               *nf = pdi_jval_str(e->items[2]);
    if (!c || !o || !nf)
        return bad(what, "malformed sort entry");
    pd_view_sort *s = pdi_realloc(v->sort, (v->n_sort + 1) * sizeof *s);
    if (!s)
        return PD_ERR_NOMEM;
    v->sort = s;
    s[v->n_sort].column = pdi_strdup(c);
    s[v->n_sort].desc = !strcmp(o, "desc");
    s[v->n_sort].nulls_first = !strcmp(nf, "nulls_first");
    v->n_sort++;
    return s[v->n_sort - 1].column ? PD_OK : PD_ERR_NOMEM;
}

int pdi_view_shape_parse(const char *json, const char *what, pd_view_shape *out, char **canon)
{
    memset(out, 0, sizeof *out);
    out->limit = -1;
    if (canon)
        *canon = NULL;
    if (!json || !*json)
        return PD_OK;
    pd_jval *j = pdi_json_parse(json, strlen(json));
    if (!j)
        return pd_set_error(PD_ERR_INVALID, "%s: view options are not JSON: %s", what,
                            pd_last_error());
    int rc = j->type == PD_J_OBJ ? PD_OK : bad(what, "view options must be a JSON object");
    for (size_t i = 0; j->type == PD_J_OBJ && i < j->n && rc == PD_OK; i++) {
        const char *k = j->keys[i];
        const pd_jval *x = j->items[i];
        if (!strcmp(k, "columns")) {
            /* canonical [[name, source], ...] */
            if (x->type == PD_J_ARR && x->n && x->items[0]->type == PD_J_ARR) {
                for (size_t c = 0; c < x->n && rc == PD_OK; c++) {
                    const pd_jval *e = x->items[c];
                    rc = e->type == PD_J_ARR && e->n == 2
                             ? add_col(out, what, pdi_jval_str(e->items[0]),
                                       pdi_jval_str(e->items[1]))
                             : bad(what, "malformed column entry");
                }
            } else {
                rc = parse_cols(out, what, x);
            }
        } else if (!strcmp(k, "sort_by")) {
            if (x->type == PD_J_STR || x->type == PD_J_OBJ)
                rc = add_sort(out, what, x);
            else if (x->type != PD_J_ARR)
                rc = bad(what, "'sort_by' must be a column name or a list");
            for (size_t s = 0; x->type == PD_J_ARR && s < x->n && rc == PD_OK; s++)
                rc = x->items[s]->type == PD_J_ARR ? parse_canonical_sort(out, what, x->items[s])
                                                   : add_sort(out, what, x->items[s]);
        } else if (!strcmp(k, "limit")) {
            rc = parse_limit(out, what, x);
        } else {
            rc = pd_set_error(PD_ERR_INVALID,
                              "%s: unknown view option '%s' (known: columns, sort_by, limit)", what,
                              k);
        }
    }
    pdi_jval_free(j);
    if (rc == PD_OK && canon && pdi_view_shape_active(out)) {
        *canon = canonical(out);
        if (!*canon)
            rc = PD_ERR_NOMEM;
    }
    if (rc)
        pdi_view_shape_free(out);
    return rc;
}
