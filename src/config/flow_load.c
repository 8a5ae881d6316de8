/*
 * config/flow_load.c - flow files (YAML) -> pd_flow through the public
 * flow-building API. Checks the file first so that every mistake (unknown
 * key, zero or two bodies, duplicate names, unknown references, reference
 * cycles, references to later stages) is reported as "file:line:column:";
 * relative paths (sql_file, raw_sql_file, load, c.library) are resolved
 * against the flow file's directory.
 */
#include "config/cfg_int.h"
#include "pipedag/pipedag.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tspec {
    const pd_cfg_node *node; /* the task mapping */
    const char *name;        /* as written */
    char *table;             /* normalized */
    const char *body;        /* body key */
    const pd_cfg_node *body_node;
    char *text;           /* sql / raw_sql text (files read) */
    pd_strv refs;         /* "stage.table" or "table" references */
    pd_cfg_node *ref_pos; /* position of each reference (file/line/column only) */
    size_t ref_cap;
    pd_strv outputs; /* declared extra outputs (normalized) */
    int mark;        /* DFS state */
    char *load_path; /* load: the file or glob (absolute) */
    char *load_opts; /* load: options JSON or NULL */
    char *view_opts; /* view: columns / sort_by / limit as JSON, or NULL */
} tspec;

typedef struct sspec {
    const pd_cfg_node *node;
    const char *name;
    char *norm;
    tspec *tasks;
    size_t n;
    bool has_raw;
} sspec;

typedef struct fspec {
    const char *path;
    pdi_arena *arena;
    const char *src; /* flow file text (to locate {{ }} references) */
    char *dir;       /* absolute directory of the flow file */
    sspec *stages;
    size_t n;
    bool any_raw;
} fspec;

static char *normalize(const char *s)
{
    char *t = pdi_str_trim(s);
    if (!t) {
        return NULL;
    }
    for (char *p = t; *p; p++) {
        *p = *p == '/' ? '_' : (char)tolower((unsigned char)*p);
    }
    return t;
}

static void fspec_free(fspec *f)
{
    for (size_t i = 0; i < f->n; i++) {
        sspec *s = &f->stages[i];
        for (size_t k = 0; k < s->n; k++) {
            free(s->tasks[k].table);
            free(s->tasks[k].text);
            pdi_strv_free(&s->tasks[k].refs);
            free(s->tasks[k].ref_pos);
            pdi_strv_free(&s->tasks[k].outputs);
            free(s->tasks[k].load_path);
            free(s->tasks[k].load_opts);
            free(s->tasks[k].view_opts);
        }
        free(s->tasks);
        free(s->norm);
    }
    free(f->stages);
    free(f->dir);
}

/* Path relative to the flow file's directory (absolute result). */
static char *rel_path(const fspec *f, const char *p)
{
    if (p[0] == '/') {
        return pdi_strdup(p);
    }
    return pdi_path_join(f->dir, p);
}

static int read_text(const fspec *f, const pd_cfg_node *n, char **out)
{
    char *p = rel_path(f, n->scalar);
    if (!p) {
        return PD_ERR_NOMEM;
    }
    *out = pdi_file_read(p, NULL);
    free(p);
    if (!*out) {
        return pdi_node_error(n, "cannot read '%s'", n->scalar);
    }
    return PD_OK;
}

/* Add a reference (owned string) written at file:line:column. */
static int push_ref(tspec *t, char *ref, const char *file, int line, int col)
{
    pd_cfg_node *np = pdi_grow(t->ref_pos, &t->ref_cap, t->refs.n, sizeof *np, 4);
    if (!np) {
        free(ref);
        return PD_ERR_NOMEM;
    }
    t->ref_pos = np;
    pd_cfg_node *pos = &t->ref_pos[t->refs.n];
    memset(pos, 0, sizeof *pos);
    pos->type = PD_CFG_SCALAR;
    pos->file = file;
    pos->line = line;
    pos->column = col;
    return pdi_strv_push_owned(&t->refs, ref);
}

/* Byte offset of 1-based (line, col) in text (clamped to the end). */
static size_t offset_of(const char *text, int line, int col)
{
    const char *p = text;
    for (int l = 1; l < line && *p; p++) {
        if (*p == '\n') {
            l++;
        }
    }
    for (int c = 1; c < col && *p && *p != '\n'; c++) {
        p++;
    }
    return (size_t)(p - text);
}

static void line_col(const char *text, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* Collect {{ ref }} references from SQL text. `src` is the text as written
 * in `file` (the flow file, or the SQL file), searched from `start` so that
 * each reference gets its own line and column. */
static int scan_refs(tspec *t,
                     const char *text,
                     const pd_cfg_node *n,
                     const char *file,
                     const char *src,
                     size_t start)
{
    const char *p = text;
    size_t cursor = start;
    while ((p = strstr(p, "{{")) != NULL) {
        const char *e = strstr(p + 2, "}}");
        if (!e) {
            return pdi_node_error(n, "task '%s': unterminated '{{' in SQL", t->name);
        }
        char *inner = pdi_strndup(p + 2, (size_t)(e - p - 2));
        char *ref = inner ? normalize(inner) : NULL;
        free(inner);
        if (!ref) {
            return PD_ERR_NOMEM;
        }
        int line = n->line, col = n->column;
        const char *hit = src ? strstr(src + cursor, "{{") : NULL;
        if (hit) {
            cursor = (size_t)(hit - src) + 2;
            line_col(src, (size_t)(hit - src), &line, &col);
        }
        if (strcmp(ref, "this_stage") == 0) {
            free(ref);
        } else if (push_ref(t, ref, file, line, col) != PD_OK) {
            return PD_ERR_NOMEM;
        }
        p = e + 2;
    }
    return PD_OK;
}

/* References listed in a YAML list (or a single string). */
static int list_refs(tspec *t, const pd_cfg_node *n)
{
    if (n->type == PD_CFG_SCALAR) {
        char *r = normalize(n->scalar);
        return r ? push_ref(t, r, n->file, n->line, n->column) : PD_ERR_NOMEM;
    }
    for (size_t i = 0; i < n->n; i++) {
        const pd_cfg_node *it = n->items[i];
        char *r = normalize(it->scalar);
        if (!r || push_ref(t, r, it->file, it->line, it->column) != PD_OK) {
            return PD_ERR_NOMEM;
        }
    }
    return PD_OK;
}

static int str_list(const pd_cfg_node *n, const char *what, bool allow_single, pd_strv *out)
{
    if (n->type == PD_CFG_SCALAR && allow_single) {
        return pdi_strv_push(out, n->scalar);
    }
    if (n->type != PD_CFG_LIST) {
        return pdi_node_error(n, "%s must be a list%s", what, allow_single ? " or a string" : "");
    }
    for (size_t i = 0; i < n->n; i++) {
        if (n->items[i]->type != PD_CFG_SCALAR) {
            return pdi_node_error(n->items[i], "%s entries must be strings", what);
        }
        if (pdi_strv_push(out, n->items[i]->scalar) != PD_OK) {
            return PD_ERR_NOMEM;
        }
    }
    if (n->n == 0) {
        return pdi_node_error(n, "%s must not be empty", what);
    }
    return PD_OK;
}

/* A YAML scalar as a JSON scalar for pd_task_add_check: quoted -> string;
 * plain: a number as written, true/false, anything else a string. */
static char *check_json_value(const pd_cfg_node *v)
{
    const char *t = v->scalar;
    if (!v->quoted && t[0]) {
        char *end = NULL;
        errno = 0;
        (void)strtod(t, &end);
        bool num = end && *end == 0 && strspn(t, "+-0123456789.eE") == strlen(t);
        if (num)
            return pdi_strdup(t[0] == '+' ? t + 1 : t);
        if (!strcmp(t, "true") || !strcmp(t, "false"))
            return pdi_strdup(t);
    }
    pd_buf b = PD_BUF_INIT;
    pdi_json_escape(&b, t, strlen(t));
    char *out = b.oom ? NULL : pdi_buf_detach(&b);
    if (!out)
        pdi_buf_free(&b);
    return out;
}

/* checks: {column: {not_null: true, unique: true, min: 0, max: 9,
 * accepted_values: [..], references: stage.table.column}} */
static int apply_checks(pd_task *task, const pd_cfg_node *v)
{
    if (v->type != PD_CFG_MAP)
        return pdi_node_error(v, "checks must be a mapping of column names to checks "
                                 "(e.g. checks: {age: {min: 0}})");
    static const char *const kinds[] = {"not_null",        "unique",     "min", "max",
                                        "accepted_values", "references", NULL};
    for (size_t i = 0; i < v->n; i++) {
        const char *col = v->keys[i];
        const pd_cfg_node *c = v->items[i];
        const pd_cfg_node *kn = pdi_key_node(v, i);
        if (c->type != PD_CFG_MAP)
            return pdi_node_error(c ? c : kn, "checks of column '%s' must be a mapping", col);
        int rc = pdi_check_keys(c, "check", kinds);
        if (rc)
            return rc;
        for (size_t k = 0; k < c->n; k++) {
            pd_check_kind kind;
            pd_check_kind_from_name(c->keys[k], &kind);
            const pd_cfg_node *a = c->items[k];
            pd_strv vals = PD_STRV_INIT;
            bool skip = false;
            if (kind == PD_CHECK_NOT_NULL || kind == PD_CHECK_UNIQUE) {
                bool on = false;
                if ((rc = pdi_get_bool(a, &on)))
                    return rc;
                skip = !on;
            } else if (kind == PD_CHECK_ACCEPTED_VALUES) {
                if (a->type != PD_CFG_LIST || !a->n) {
                    return pdi_node_error(a,
                                          "accepted_values of column '%s' must be a non-empty "
                                          "list",
                                          col);
                }
                for (size_t j = 0; j < a->n && !rc; j++) {
                    if (a->items[j]->type != PD_CFG_SCALAR) {
                        pdi_strv_free(&vals);
                        return pdi_node_error(a->items[j],
                                              "accepted_values of column '%s': a value must be "
                                              "a number, string or boolean",
                                              col);
                    }
                    rc = pdi_strv_push_owned(&vals, check_json_value(a->items[j]));
                }
            } else {
                if (a->type != PD_CFG_SCALAR || !a->scalar[0]) {
                    return pdi_node_error(a, "check %s of column '%s' needs %s", c->keys[k], col,
                                          kind == PD_CHECK_REFERENCES ? "stage.table.column"
                                                                      : "a value");
                }
                rc = kind == PD_CHECK_REFERENCES ? pdi_strv_push(&vals, a->scalar)
                                                 : pdi_strv_push_owned(&vals, check_json_value(a));
            }
            if (!rc && !skip)
                rc = pd_task_add_check(task, col, kind, (const char *const *)vals.items, vals.n);
            pdi_strv_free(&vals);
            if (rc)
                return pdi_node_error(a, "%s", pd_last_error());
        }
    }
    return PD_OK;
}

static const char *const body_keys[] = {
    "sql", "sql_file", "raw_sql", "raw_sql_file", "load", "view", "external", "c", NULL};

/* A YAML node as JSON (scalars as strings; the view shape parser reads
 * numbers and booleans from strings too). */
static void node_json(pd_json *j, const pd_cfg_node *n)
{
    if (n->type == PD_CFG_MAP) {
        pdi_json_obj_begin(j);
        for (size_t i = 0; i < n->n; i++) {
            pdi_json_key(j, n->keys[i]);
            node_json(j, n->items[i]);
        }
        pdi_json_obj_end(j);
    } else if (n->type == PD_CFG_LIST) {
        pdi_json_arr_begin(j);
        for (size_t i = 0; i < n->n; i++)
            node_json(j, n->items[i]);
        pdi_json_arr_end(j);
    } else {
        pdi_json_str(j, n->scalar ? n->scalar : "");
    }
}

/* view: {sources, columns, sort_by, limit}: the shape as JSON. */
static int view_opts_json(const pd_cfg_node *b, tspec *t)
{
    static const char *const keys[] = {"columns", "sort_by", "limit"};
    pd_json j;
    pdi_json_init(&j);
    pdi_json_obj_begin(&j);
    bool any = false;
    for (size_t i = 0; i < 3; i++) {
        const pd_cfg_node *n = pd_cfg_get(b, keys[i]);
        if (!n)
            continue;
        any = true;
        pdi_json_key(&j, keys[i]);
        node_json(&j, n);
    }
    pdi_json_obj_end(&j);
    char *js = pdi_json_finish(&j);
    if (!js)
        return PD_ERR_NOMEM;
    if (!any) {
        free(js);
        return PD_OK;
    }
    t->view_opts = js; /* checked by pd_task_set_view_options */
    return PD_OK;
}

static int parse_task(fspec *f, sspec *s, tspec *t, const pd_cfg_node *n)
{
    static const char *const keys[] = {
        "name",   "sql",      "sql_file", "raw_sql",     "raw_sql_file", "load",
        "view",   "external", "c",        "version",     "primary_key",  "indexes",
        "inputs", "outputs",  "lazy",     "description", "checks",       NULL};
    if (n->type != PD_CFG_MAP) {
        return pdi_node_error(n, "a task must be a mapping with 'name' and a body");
    }
    int rc = pdi_check_keys(n, "task", keys);
    if (rc) {
        return rc;
    }
    t->node = n;
    const pd_cfg_node *name = pd_cfg_get(n, "name");
    if (!name || name->type != PD_CFG_SCALAR || !name->scalar[0]) {
        return pdi_node_error(name ? name : n, "task needs a non-empty 'name'");
    }
    t->name = name->scalar;
    if (!(t->table = normalize(t->name))) {
        return PD_ERR_NOMEM;
    }
    bool ok = t->table[0] && !(t->table[0] >= '0' && t->table[0] <= '9');
    for (const char *p = t->table; *p; p++) {
        ok = ok && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
    }
    if (!ok) {
        return pdi_node_error(name,
                              "task name '%s': allowed are ASCII letters, digits and _, "
                              "starting with a letter or _",
                              t->name);
    }
    for (size_t i = 0; i < n->n; i++) {
        for (const char *const *b = body_keys; *b; b++) {
            if (strcmp(*b, n->keys[i]) == 0) {
                if (t->body) {
                    return pdi_node_error(pdi_key_node(n, i),
                                          "task '%s' has two bodies ('%s' "
                                          "and '%s'); give exactly one",
                                          t->name, t->body, n->keys[i]);
                }
                t->body = *b;
                t->body_node = n->items[i];
            }
        }
    }
    if (!t->body) {
        return pdi_node_error(n,
                              "task '%s' has no body: give one of sql, sql_file, raw_sql, "
                              "raw_sql_file, load, view, external, c",
                              t->name);
    }
    const pd_cfg_node *b = t->body_node;
    bool is_c = !strcmp(t->body, "c");
    if (!strcmp(t->body, "load") &&
        (rc = pdi_flow_load_spec(b, t->name, f->dir, &t->load_path, &t->load_opts, &t->outputs)) !=
            PD_OK) {
        return rc;
    }
    if (!strcmp(t->body, "sql") || !strcmp(t->body, "raw_sql") || !strcmp(t->body, "sql_file") ||
        !strcmp(t->body, "raw_sql_file")) {
        if (b->type != PD_CFG_SCALAR || !b->scalar[0]) {
            return pdi_node_error(b, "task '%s': '%s' must be a non-empty string", t->name,
                                  t->body);
        }
    }
    if (!strcmp(t->body, "sql") || !strcmp(t->body, "raw_sql")) {
        t->text = pdi_strdup(b->scalar);
        if (!t->text) {
            return PD_ERR_NOMEM;
        }
    } else if (!strcmp(t->body, "sql_file") || !strcmp(t->body, "raw_sql_file")) {
        if ((rc = read_text(f, b, &t->text)) != PD_OK) {
            return rc;
        }
    }
    if (!strcmp(t->body, "raw_sql") || !strcmp(t->body, "raw_sql_file")) {
        s->has_raw = true;
        f->any_raw = true;
    }
    if (t->text && b->scalar && (!strcmp(t->body, "sql") || !strcmp(t->body, "raw_sql"))) {
        size_t start = f->src ? offset_of(f->src, b->line, b->column) : 0;
        rc = scan_refs(t, t->text, b, b->file, f->src, start);
    } else if (t->text) {
        /* positions inside the SQL file itself, named relative to the flow */
        char *dir = pdi_path_dirname(f->path);
        char *shown = dir ? pdi_path_join(dir, b->scalar) : NULL;
        const char *file = shown ? pdi_arena_file(f->arena, shown) : NULL;
        free(dir);
        free(shown);
        rc = file ? scan_refs(t, t->text, b, file, t->text, 0) : PD_ERR_NOMEM;
    }
    if (rc) {
        return rc;
    }
    if (!strcmp(t->body, "view")) {
        const pd_cfg_node *src = b;
        if (b->type == PD_CFG_MAP) {
            static const char *const vkeys[] = {"sources", "columns", "sort_by", "limit", NULL};
            if ((rc = pdi_check_keys(b, "view", vkeys)) != PD_OK) {
                return rc;
            }
            src = pd_cfg_get(b, "sources");
            if (!src) {
                return pdi_node_error(b, "task '%s': view needs 'sources'", t->name);
            }
            if ((rc = view_opts_json(b, t)) != PD_OK) {
                return rc;
            }
        }
        pd_strv raw = PD_STRV_INIT;
        rc = str_list(src, "view sources", true, &raw);
        pdi_strv_free(&raw);
        if (rc || (rc = list_refs(t, src)) != PD_OK) {
            return rc;
        }
    } else if (!strcmp(t->body, "external")) {
        static const char *const ekeys[] = {"schema", "table", NULL};
        if ((rc = pdi_check_keys(b, "external", ekeys)) != PD_OK) {
            return rc;
        }
        const pd_cfg_node *sch = pd_cfg_get(b, "schema"), *tb = pd_cfg_get(b, "table");
        if (!sch || !tb || sch->type != PD_CFG_SCALAR || tb->type != PD_CFG_SCALAR) {
            return pdi_node_error(b, "task '%s': external needs 'schema' and 'table' strings",
                                  t->name);
        }
    } else if (is_c) {
        static const char *const ckeys[] = {"library", "symbol", NULL};
        if ((rc = pdi_check_keys(b, "c", ckeys)) != PD_OK) {
            return rc;
        }
        const pd_cfg_node *lib = pd_cfg_get(b, "library"), *sym = pd_cfg_get(b, "symbol");
        if (!lib || !sym || lib->type != PD_CFG_SCALAR || sym->type != PD_CFG_SCALAR) {
            return pdi_node_error(b, "task '%s': c needs 'library' and 'symbol' strings", t->name);
        }
    }
    const pd_cfg_node *in = pd_cfg_get(n, "inputs");
    if (in) {
        if (!is_c) {
            return pdi_node_error(in,
                                  "task '%s': 'inputs' is only for c tasks (SQL tasks "
                                  "reference tables as {{ table }})",
                                  t->name);
        }
        pd_strv raw = PD_STRV_INIT;
        rc = str_list(in, "inputs", true, &raw);
        pdi_strv_free(&raw);
        if (rc || (rc = list_refs(t, in)) != PD_OK) {
            return rc;
        }
    }
    const pd_cfg_node *outs = pd_cfg_get(n, "outputs");
    if (outs) {
        if (!is_c && strcmp(t->body, "raw_sql") && strcmp(t->body, "raw_sql_file")) {
            return pdi_node_error(outs, "task '%s': 'outputs' is only for c and raw_sql tasks",
                                  t->name);
        }
        pd_strv raw = PD_STRV_INIT;
        rc = str_list(outs, "outputs", true, &raw);
        for (size_t i = 0; rc == PD_OK && i < raw.n; i++) {
            char *r = normalize(raw.items[i]);
            rc = r ? pdi_strv_push_owned(&t->outputs, r) : PD_ERR_NOMEM;
        }
        pdi_strv_free(&raw);
        if (rc) {
            return rc;
        }
    }
    const pd_cfg_node *lazy = pd_cfg_get(n, "lazy");
    if (lazy) {
        bool v;
        if ((rc = pdi_get_bool(lazy, &v)) != PD_OK) {
            return rc;
        }
        if (!is_c) {
            return pdi_node_error(lazy,
                                  "task '%s': 'lazy' is only for c tasks (SQL tasks are "
                                  "always lazy)",
                                  t->name);
        }
    }
    const pd_cfg_node *ver = pd_cfg_get(n, "version");
    if (ver && ver->type != PD_CFG_SCALAR && ver->type != PD_CFG_NULL) {
        return pdi_node_error(ver, "task '%s': 'version' must be a string", t->name);
    }
    const pd_cfg_node *pk = pd_cfg_get(n, "primary_key");
    if (pk) {
        pd_strv cols = PD_STRV_INIT;
        rc = str_list(pk, "primary_key", true, &cols);
        pdi_strv_free(&cols);
        if (rc) {
            return rc;
        }
    }
    const pd_cfg_node *idx = pd_cfg_get(n, "indexes");
    if (idx) {
        if (idx->type != PD_CFG_LIST) {
            return pdi_node_error(idx, "indexes must be a list (of column lists)");
        }
        for (size_t i = 0; i < idx->n; i++) {
            pd_strv cols = PD_STRV_INIT;
            rc = str_list(idx->items[i], "an index", true, &cols);
            pdi_strv_free(&cols);
            if (rc) {
                return rc;
            }
        }
    }
    return PD_OK;
}

static int parse_flow(fspec *f, const pd_cfg_node *root, const char **name)
{
    static const char *const keys[] = {"name", "stages", "description", NULL};
    if (!root) {
        return pd_set_error(PD_ERR_CONFIG, "%s: empty flow file", f->path);
    }
    if (root->type != PD_CFG_MAP) {
        return pdi_node_error(root, "a flow file must be a mapping with 'name' and 'stages'");
    }
    int rc = pdi_check_keys(root, "the flow", keys);
    if (rc) {
        return rc;
    }
    const pd_cfg_node *nm = pd_cfg_get(root, "name");
    if (nm && (nm->type != PD_CFG_SCALAR || !nm->scalar[0])) {
        return pdi_node_error(nm, "flow 'name' must be a non-empty string");
    }
    *name = nm ? nm->scalar : NULL;
    const pd_cfg_node *st = pd_cfg_get(root, "stages");
    if (!st) {
        return pdi_node_error(root, "the flow has no 'stages'");
    }
    if (st->type != PD_CFG_LIST || st->n == 0) {
        return pdi_node_error(st, "'stages' must be a non-empty list");
    }
    f->stages = pdi_calloc(st->n, sizeof *f->stages);
    if (!f->stages) {
        return PD_ERR_NOMEM;
    }
    static const char *const skeys[] = {"name", "tasks", "description", NULL};
    for (size_t i = 0; i < st->n; i++) {
        const pd_cfg_node *sn = st->items[i];
        sspec *s = &f->stages[f->n++];
        if (sn->type != PD_CFG_MAP) {
            return pdi_node_error(sn, "a stage must be a mapping with 'name' and 'tasks'");
        }
        if ((rc = pdi_check_keys(sn, "stage", skeys)) != PD_OK) {
            return rc;
        }
        s->node = sn;
        const pd_cfg_node *sname = pd_cfg_get(sn, "name");
        if (!sname || sname->type != PD_CFG_SCALAR || !sname->scalar[0]) {
            return pdi_node_error(sname ? sname : sn, "stage needs a non-empty 'name'");
        }
        s->name = sname->scalar;
        if (!(s->norm = normalize(s->name))) {
            return PD_ERR_NOMEM;
        }
        for (size_t k = 0; k + 1 < f->n; k++) {
            if (!strcmp(f->stages[k].norm, s->norm)) {
                return pdi_node_error(sname, "duplicate stage name '%s' (first at line %d)",
                                      s->name, f->stages[k].node->line);
            }
        }
        /* An empty stage (no 'tasks', 'tasks:' or 'tasks: []') is run and
         * committed like any other, as in the original and the C API. */
        const pd_cfg_node *tasks = pd_cfg_get(sn, "tasks");
        if (!tasks || tasks->type == PD_CFG_NULL) {
            continue;
        }
        if (tasks->type != PD_CFG_LIST) {
            return pdi_node_error(tasks, "stage '%s': 'tasks' must be a list", s->name);
        }
        s->tasks = pdi_calloc(tasks->n ? tasks->n : 1, sizeof *s->tasks);
        if (!s->tasks) {
            return PD_ERR_NOMEM;
        }
        for (size_t k = 0; k < tasks->n; k++) {
            tspec *t = &s->tasks[s->n++];
            if ((rc = parse_task(f, s, t, tasks->items[k])) != PD_OK) {
                return rc;
            }
            for (size_t q = 0; q + 1 < s->n; q++) {
                tspec *o = &s->tasks[q];
                if (!strcmp(o->table, t->table) || pdi_strv_contains(&o->outputs, t->table)) {
                    return pdi_node_error(pd_cfg_get(t->node, "name"),
                                          "duplicate task/table name '%s' in stage '%s' "
                                          "(first at line %d)",
                                          t->name, s->name, o->node->line);
                }
            }
        }
    }
    return PD_OK;
}

/* Find the producer of `table` in stage s (task name or declared output). */
static tspec *stage_table(sspec *s, const char *table)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!strcmp(s->tasks[i].table, table) || pdi_strv_contains(&s->tasks[i].outputs, table)) {
            return &s->tasks[i];
        }
    }
    return NULL;
}

/* Resolve one reference of task t in stage si; *out NULL when undecidable
 * (raw SQL may create it). */
static int resolve(fspec *f, size_t si, tspec *t, size_t ri, size_t *osi, tspec **out)
{
    const char *ref = t->refs.items[ri];
    const pd_cfg_node *pos = &t->ref_pos[ri];
    *out = NULL;
    const char *dot = strchr(ref, '.');
    if (dot) {
        char stage[256];
        snprintf(stage, sizeof stage, "%.*s", (int)(dot - ref), ref);
        for (size_t i = 0; i < f->n; i++) {
            if (!strcmp(f->stages[i].norm, stage)) {
                *out = stage_table(&f->stages[i], dot + 1);
                *osi = i;
                if (!*out && !f->stages[i].has_raw) {
                    return pdi_node_error(pos,
                                          "task '%s': unknown reference '%s' "
                                          "(stage '%s' has no table '%s')",
                                          t->name, ref, stage, dot + 1);
                }
                return PD_OK;
            }
        }
        return pdi_node_error(pos, "task '%s': unknown reference '%s' (no stage '%s')", t->name,
                              ref, stage);
    }
    if ((*out = stage_table(&f->stages[si], ref))) {
        *osi = si;
        return PD_OK;
    }
    size_t found = 0;
    for (size_t i = 0; i < f->n; i++) {
        tspec *p = i == si ? NULL : stage_table(&f->stages[i], ref);
        if (p) {
            found++;
            *out = p;
            *osi = i;
        }
    }
    if (found > 1) {
        return pdi_node_error(pos,
                              "task '%s': reference '%s' is ambiguous (several "
                              "stages produce it; write stage.%s)",
                              t->name, ref, ref);
    }
    if (!found) {
        *out = NULL;
        if (!f->any_raw) {
            return pdi_node_error(pos,
                                  "task '%s': unknown reference '%s' (no task "
                                  "produces a table of that name)",
                                  t->name, ref);
        }
    }
    return PD_OK;
}

static int dfs(fspec *f, size_t si, tspec *t)
{
    if (t->mark == 2) {
        return PD_OK;
    }
    if (t->mark == 1) {
        return pdi_node_error(t->node,
                              "cycle: task '%s' depends on itself through its "
                              "references",
                              t->name);
    }
    t->mark = 1;
    for (size_t i = 0; i < t->refs.n; i++) {
        size_t osi = si;
        tspec *p = NULL;
        int rc = resolve(f, si, t, i, &osi, &p);
        if (rc) {
            return rc;
        }
        if (!p) {
            continue;
        }
        if (p == t && strcmp(t->body, "raw_sql") && strcmp(t->body, "raw_sql_file")) {
            return pdi_node_error(&t->ref_pos[i], "cycle: task '%s' references its own table",
                                  t->name);
        }
        if (osi > si) {
            return pdi_node_error(&t->ref_pos[i],
                                  "cycle: task '%s' in stage '%s' uses '%s' from "
                                  "the later stage '%s' (stages run in the "
                                  "order listed)",
                                  t->name, f->stages[si].name, t->refs.items[i],
                                  f->stages[osi].name);
        }
        if (osi == si && p != t && (rc = dfs(f, si, p)) != PD_OK) {
            return rc;
        }
    }
    t->mark = 2;
    return PD_OK;
}

static int build_task(fspec *f, pd_stage *stage, tspec *t, pd_task **out)
{
    const pd_cfg_node *b = t->body_node;
    pd_task *task = NULL;
    const char *body = t->body;
    int rc = PD_OK;
    if (!strcmp(body, "sql") || !strcmp(body, "sql_file")) {
        task = pd_stage_add_sql(stage, t->name, t->text);
    } else if (!strcmp(body, "raw_sql") || !strcmp(body, "raw_sql_file")) {
        task = pd_stage_add_raw_sql(stage, t->name, t->text);
    } else if (!strcmp(body, "load")) {
        task = pd_stage_add_load(stage, t->name, t->load_path);
        if (task && t->load_opts && pd_task_set_load_options(task, t->load_opts) != PD_OK) {
            task = NULL;
        }
    } else if (!strcmp(body, "view")) {
        const char **srcs = pdi_calloc(t->refs.n ? t->refs.n : 1, sizeof *srcs);
        if (!srcs) {
            return PD_ERR_NOMEM;
        }
        for (size_t i = 0; i < t->refs.n; i++) {
            srcs[i] = t->refs.items[i];
        }
        task = pd_stage_add_view(stage, t->name, srcs, t->refs.n);
        free(srcs);
        if (task && t->view_opts && pd_task_set_view_options(task, t->view_opts) != PD_OK) {
            return pdi_node_error(t->body_node ? t->body_node : t->node, "%s", pd_last_error());
        }
    } else if (!strcmp(body, "external")) {
        task = pd_stage_add_external(stage, t->name, pd_cfg_get(b, "schema")->scalar,
                                     pd_cfg_get(b, "table")->scalar);
    } else {
        const char *lib = pd_cfg_get(b, "library")->scalar;
        const char *sym = pd_cfg_get(b, "symbol")->scalar;
        char *p = rel_path(f, lib);
        if (!p) {
            return PD_ERR_NOMEM;
        }
        /* a bare name not next to the flow file is left to the loader's search path */
        bool local = strchr(lib, '/') || pdi_path_exists(p);
        task = pd_stage_add_c_symbol(stage, t->name, local ? p : lib, sym);
        free(p);
    }
    if (!task) {
        return pdi_node_error(t->node, "task '%s': %s", t->name, pd_last_error());
    }
    const pd_cfg_node *n = t->node, *v;
    if ((v = pd_cfg_get(n, "version")) && v->type == PD_CFG_SCALAR) {
        rc = pd_task_set_version(task, v->scalar);
    }
    if (!strcmp(body, "c")) {
        for (size_t i = 0; rc == PD_OK && i < t->refs.n; i++) {
            rc = pd_task_add_input(task, t->refs.items[i]);
        }
        if (rc == PD_OK && (v = pd_cfg_get(n, "lazy"))) {
            bool lazy = false;
            pdi_get_bool(v, &lazy);
            rc = pd_task_set_lazy(task, lazy);
        }
    }
    for (size_t i = 0; rc == PD_OK && i < t->outputs.n; i++) {
        rc = pd_task_add_output(task, t->outputs.items[i]);
    }
    if (rc == PD_OK && (v = pd_cfg_get(n, "primary_key"))) {
        pd_strv cols = PD_STRV_INIT;
        rc = str_list(v, "primary_key", true, &cols);
        if (rc == PD_OK) {
            rc = pd_task_set_primary_key(task, (const char *const *)cols.items, cols.n);
        }
        pdi_strv_free(&cols);
    }
    if (rc == PD_OK && (v = pd_cfg_get(n, "indexes"))) {
        for (size_t i = 0; rc == PD_OK && i < v->n; i++) {
            pd_strv cols = PD_STRV_INIT;
            rc = str_list(v->items[i], "an index", true, &cols);
            if (rc == PD_OK) {
                rc = pd_task_add_index(task, (const char *const *)cols.items, cols.n);
            }
            pdi_strv_free(&cols);
        }
    }
    if (rc != PD_OK) {
        return pdi_node_error(n, "task '%s': %s", t->name, pd_last_error());
    }
    if ((v = pd_cfg_get(n, "checks")) && (rc = apply_checks(task, v)) != PD_OK) {
        return rc;
    }
    /* after the settings: their errors carry the node's position already */
    pd_task_set_origin(task, f->path, t->node->line);
    *out = task;
    return PD_OK;
}

static char *default_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? pdi_strndup(base, (size_t)(dot - base)) : pdi_strdup(base);
}

int pd_flow_load(const char *path, pd_flow **out)
{
    if (!path || !out) {
        return pd_set_error(PD_ERR_INVALID, "pd_flow_load: NULL argument");
    }
    *out = NULL;
    pdi_arena arena = {0};
    fspec f;
    memset(&f, 0, sizeof f);
    f.path = path;
    f.arena = &arena;
    pd_cfg_node *root = NULL;
    pd_flow *flow = NULL;
    char *src = NULL;
    int rc = pdi_yaml_parse_file(&arena, path, &root);
    if (rc != PD_OK) {
        goto out;
    }
    src = pdi_file_read(path, NULL);
    f.src = src;
    char *dir = pdi_path_dirname(path);
    char abs[PATH_MAX];
    if (dir && realpath(dir, abs)) {
        f.dir = pdi_strdup(abs);
    } else {
        f.dir = pdi_strdup(dir ? dir : ".");
    }
    free(dir);
    if (!f.dir) {
        rc = PD_ERR_NOMEM;
        goto out;
    }
    const char *name = NULL;
    if ((rc = parse_flow(&f, root, &name)) != PD_OK) {
        goto out;
    }
    for (size_t si = 0; si < f.n; si++) {
        for (size_t k = 0; k < f.stages[si].n; k++) {
            if ((rc = dfs(&f, si, &f.stages[si].tasks[k])) != PD_OK) {
                goto out;
            }
        }
    }
    char *dn = name ? NULL : default_name(path);
    flow = pd_flow_new(name ? name : dn);
    free(dn);
    if (!flow) {
        rc = pd_set_error(PD_ERR_NOMEM, "%s: cannot create flow", path);
        goto out;
    }
    pd_flow_set_file(flow, path);
    for (size_t si = 0; si < f.n; si++) {
        pd_stage *stage = pd_flow_add_stage(flow, f.stages[si].name);
        if (!stage) {
            rc = pdi_node_error(f.stages[si].node, "stage '%s': %s", f.stages[si].name,
                                pd_last_error());
            goto out;
        }
        for (size_t k = 0; k < f.stages[si].n; k++) {
            pd_task *task = NULL;
            if ((rc = build_task(&f, stage, &f.stages[si].tasks[k], &task)) != PD_OK) {
                goto out;
            }
        }
    }
    rc = pd_flow_finalize(flow);
    if (rc != PD_OK && !strstr(pd_last_error(), path)) {
        pd_error_prefix("%s", path);
    }
out:
    if (rc != PD_OK) {
        pd_flow_free(flow);
        flow = NULL;
        if (rc == PD_ERR_INVALID) {
            rc = PD_ERR_CONFIG;
        }
    }
    fspec_free(&f);
    free(src);
    pdi_arena_free(&arena);
    *out = flow;
    return rc;
}
