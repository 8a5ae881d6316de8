/*
 * config/flow_load_opts.c - the `load:` body of a flow-file task: a path or
 * glob, or a mapping {path, union, columns, delimiter, quote, header, null,
 * encoding, format, sample_rows}. Turns the mapping into the loader's
 * canonical options JSON (sorted keys), checks it with file:line:column
 * errors, and names the tables a one-table-per-file glob makes so that
 * references to them resolve when the flow loads.
 */
#include "config/cfg_int.h"
#include "load/load.h"
#include <stdlib.h>
#include <string.h>

static const char *const g_load_keys[] = {"columns",     "delimiter", "encoding", "format",
                                          "header",      "null",      "path",     "quote",
                                          "sample_rows", "union",     NULL};

static int scalar(const pd_cfg_node *n, const char *key, const char **out)
{
    if (n->type != PD_CFG_SCALAR || !n->scalar)
        return pdi_node_error(n, "load: '%s' must be a single value", key);
    *out = n->scalar;
    return PD_OK;
}

static int cmp_idx(const void *a, const void *b, void *keys)
{
    char **k = keys;
    return strcmp(k[*(const size_t *)a], k[*(const size_t *)b]);
}

/* keys of a mapping in sorted order (canonical JSON) */
static size_t *sorted_keys(const pd_cfg_node *m)
{
    size_t *ix = pdi_calloc(m->n ? m->n : 1, sizeof *ix);
    if (!ix)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        ix[i] = i;
    /* insertion sort: a handful of keys */
    for (size_t i = 1; i < m->n; i++)
        for (size_t j = i; j > 0 && cmp_idx(&ix[j - 1], &ix[j], m->keys) > 0; j--) {
            size_t t = ix[j];
            ix[j] = ix[j - 1];
            ix[j - 1] = t;
        }
    return ix;
}

static int mapping_json(const pd_cfg_node *b, const pd_cfg_node **path, char **json)
{
    int rc = pdi_check_keys(b, "load", g_load_keys);
    if (rc)
        return rc;
    *path = pd_cfg_get(b, "path");
    if (!*path || (*path)->type != PD_CFG_SCALAR || !(*path)->scalar || !(*path)->scalar[0])
        return pdi_node_error(*path ? *path : b, "load: needs a non-empty 'path' (a file or glob)");
    size_t *ix = sorted_keys(b);
    if (!ix)
        return PD_ERR_NOMEM;
    pd_json j;
    pdi_json_init(&j);
    pdi_json_obj_begin(&j);
    for (size_t q = 0; q < b->n && !rc; q++) {
        const char *k = b->keys[ix[q]];
        const pd_cfg_node *v = b->items[ix[q]];
        const char *s = NULL;
        if (!strcmp(k, "path"))
            continue;
        if (!strcmp(k, "header") || !strcmp(k, "union")) {
            bool x = false;
            if ((rc = pdi_get_bool(v, &x)))
                break;
            pdi_json_key(&j, k);
            pdi_json_bool(&j, x);
        } else if (!strcmp(k, "sample_rows")) {
            if ((rc = scalar(v, k, &s)))
                break;
            if (!strcmp(s, "all")) {
                pdi_json_key(&j, k);
                pdi_json_str(&j, "all");
            } else {
                long x = 0;
                if ((rc = pdi_get_int(v, &x)))
                    break;
                if (x < 1) {
                    rc = pdi_node_error(v, "load: sample_rows must be at least 1 (or all)");
                    break;
                }
                pdi_json_key(&j, k);
                pdi_json_int(&j, x);
            }
        } else if (!strcmp(k, "columns")) {
            if (v->type != PD_CFG_MAP) {
                rc = pdi_node_error(v, "load: columns must map column names to types, e.g. "
                                       "{age: int32, pk: text}");
                break;
            }
            size_t *cx = sorted_keys(v);
            if (!cx) {
                rc = PD_ERR_NOMEM;
                break;
            }
            pdi_json_key(&j, k);
            pdi_json_obj_begin(&j);
            for (size_t c = 0; c < v->n && !rc; c++) {
                const pd_cfg_node *tv = v->items[cx[c]];
                if ((rc = scalar(tv, v->keys[cx[c]], &s)))
                    break;
                pdi_json_key(&j, v->keys[cx[c]]);
                pdi_json_str(&j, s);
            }
            pdi_json_obj_end(&j);
            free(cx);
        } else {
            if ((rc = scalar(v, k, &s)))
                break;
            pdi_json_key(&j, k);
            pdi_json_str(&j, s);
        }
    }
    pdi_json_obj_end(&j);
    free(ix);
    char *out = pdi_json_finish(&j);
    if (rc || !out) {
        free(out);
        return rc ? rc : PD_ERR_NOMEM;
    }
    /* the loader's own check, positioned at the mapping */
    pdi_load_opts *o = NULL;
    rc = pdi_load_opts_parse(out, &o);
    pdi_load_opts_free(o);
    if (rc) {
        char *msg = pdi_strdup(pd_last_error());
        rc = pdi_node_error(b, "%s", msg ? msg : "bad options");
        free(msg);
        free(out);
        return rc;
    }
    *json = strcmp(out, "{}") ? out : NULL;
    if (!*json)
        free(out);
    return PD_OK;
}

int pdi_flow_load_spec(const pd_cfg_node *b,
                       const char *task,
                       const char *dir,
                       char **abs_path,
                       char **opts_json,
                       pd_strv *tables)
{
    *abs_path = *opts_json = NULL;
    const pd_cfg_node *path = b;
    int rc = PD_OK;
    if (b->type == PD_CFG_MAP)
        rc = mapping_json(b, &path, opts_json);
    else if (b->type != PD_CFG_SCALAR || !b->scalar || !b->scalar[0])
        rc = pdi_node_error(b, "load: give a file or glob, or a mapping with 'path'");
    if (rc)
        return rc;
    const char *p = path->scalar;
    *abs_path = p[0] == '/' ? pdi_strdup(p) : pdi_path_join(dir, p);
    if (!*abs_path) {
        free(*opts_json);
        *opts_json = NULL;
        return PD_ERR_NOMEM;
    }
    pd_strv files = PD_STRV_INIT;
    rc = pdi_load_files(*abs_path, &files);
    pdi_strv_free(&files);
    if (rc) {
        if (pdi_load_is_glob(p))
            rc = pdi_node_error(path, "task '%s': no file matches '%s'", task, p);
        else
            rc = pdi_node_error(path, "task '%s': CSV file '%s' not found", task, p);
    } else {
        rc = pdi_load_table_names(*abs_path, *opts_json, tables);
        if (rc) {
            char *msg = pdi_strdup(pd_last_error());
            rc = pdi_node_error(path, "task '%s': %s", task, msg ? msg : "error");
            free(msg);
        }
    }
    if (rc) {
        free(*abs_path);
        free(*opts_json);
        *abs_path = *opts_json = NULL;
    }
    return rc;
}
