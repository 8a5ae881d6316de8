/*
 * config/yaml_tree.c - YAML text -> pd_cfg_node tree with file:line:column
 * for every node, built from libyaml parser events. Also the arena that owns
 * the nodes, deep merge/copy, typed accessors and positioned errors used by
 * both the pipedag.yaml loader and the flow-file loader.
 */
#include "config/cfg_int.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ------------------------------------------------------------------ arena */

static void node_free(pd_cfg_node *n)
{
    if (!n) {
        return;
    }
    free(n->scalar);
    if (n->keys) {
        for (size_t i = 0; i < n->n; i++) {
            free(n->keys[i]);
        }
    }
    free(n->keys);
    free(n->key_nodes);
    free(n->items);
    free(n);
}

void pdi_arena_free(pdi_arena *a)
{
    if (!a) {
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        node_free(a->nodes[i]);
    }
    free(a->nodes);
    a->nodes = NULL;
    a->n = a->cap = 0;
    pdi_strv_free(&a->files);
}

const char *pdi_arena_file(pdi_arena *a, const char *path)
{
    for (size_t i = 0; i < a->files.n; i++) {
        if (strcmp(a->files.items[i], path) == 0) {
            return a->files.items[i];
        }
    }
    if (pdi_strv_push(&a->files, path) != PD_OK) {
        return NULL;
    }
    return a->files.items[a->files.n - 1];
}

/* Upper bound on nodes per document set: aliases are expanded by merging, so
 * a small file of nested aliases ("billion laughs") could otherwise explode. */
#define MAX_NODES 250000

pd_cfg_node *pdi_node_new(pdi_arena *a, pd_cfg_type type, const char *file, int line, int col)
{
    if (a->n >= MAX_NODES) {
        pd_set_error(PD_ERR_CONFIG,
                     "%s:%d:%d: YAML too large after alias expansion (more than "
                     "%d nodes)",
                     file ? file : "?", line, col, MAX_NODES);
        return NULL;
    }
    pd_cfg_node **nn = pdi_grow(a->nodes, &a->cap, a->n, sizeof *nn, 64);
    if (!nn) {
        return NULL;
    }
    a->nodes = nn;
    pd_cfg_node *n = pdi_calloc(1, sizeof *n);
    if (!n) {
        return NULL;
    }
    n->type = type;
    n->file = file;
    n->line = line;
    n->column = col;
    a->nodes[a->n++] = n;
    return n;
}

static int grow_items(pd_cfg_node *n, bool with_keys)
{
    /* capacity is implicit: 2 for n == 0, 2n whenever n is a power of two */
    size_t cap = 0;
    if (n->n == 0) {
        cap = 2;
    } else if ((n->n & (n->n - 1)) == 0) {
        if (!pdi_mul_size(n->n, 2, &cap)) {
            return PD_ERR_NOMEM;
        }
    }
    if (cap) {
        pd_cfg_node **items = pdi_realloc(n->items, cap * sizeof *items);
        if (!items) {
            return PD_ERR_NOMEM;
        }
        n->items = items;
        if (with_keys) {
            char **keys = pdi_realloc(n->keys, cap * sizeof *keys);
            if (!keys) {
                return PD_ERR_NOMEM;
            }
            n->keys = keys;
            pd_cfg_node **kn = pdi_realloc(n->key_nodes, cap * sizeof *kn);
            if (!kn) {
                return PD_ERR_NOMEM;
            }
            n->key_nodes = kn;
        }
    }
    return PD_OK;
}

int pdi_node_map_add(pd_cfg_node *map, const char *key, pd_cfg_node *val)
{
    return pdi_node_map_add_at(map, key, NULL, val);
}

const pd_cfg_node *pdi_key_node(const pd_cfg_node *map, size_t i)
{
    if (map->key_nodes && map->key_nodes[i]) {
        return map->key_nodes[i];
    }
    return map->items[i];
}

int pdi_node_map_add_at(pd_cfg_node *map,
                        const char *key,
                        const pd_cfg_node *key_node,
                        pd_cfg_node *val)
{
    if (grow_items(map, true) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    char *k = pdi_strdup(key);
    if (!k) {
        return PD_ERR_NOMEM;
    }
    map->keys[map->n] = k;
    map->key_nodes[map->n] = (pd_cfg_node *)key_node;
    map->items[map->n] = val;
    map->n++;
    return PD_OK;
}

int pdi_node_list_add(pd_cfg_node *list, pd_cfg_node *val)
{
    if (grow_items(list, false) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    list->items[list->n++] = val;
    return PD_OK;
}

static size_t cfg_index(const pd_cfg_node *map, const char *key)
{
    for (size_t i = 0; i < map->n; i++) {
        if (strcmp(map->keys[i], key) == 0) {
            return i;
        }
    }
    return 0;
}

const pd_cfg_node *pd_cfg_get(const pd_cfg_node *map, const char *key)
{
    if (!map || map->type != PD_CFG_MAP || !key) {
        return NULL;
    }
    for (size_t i = 0; i < map->n; i++) {
        if (strcmp(map->keys[i], key) == 0) {
            return map->items[i];
        }
    }
    return NULL;
}

/* ----------------------------------------------------------------- errors */

int pdi_node_error(const pd_cfg_node *n, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n && n->file) {
        return pd_set_error(PD_ERR_CONFIG, "%s:%d:%d: %s", n->file, n->line, n->column, msg);
    }
    return pd_set_error(PD_ERR_CONFIG, "%s", msg);
}

const char *pdi_cfg_type_name(pd_cfg_type t)
{
    switch (t) {
    case PD_CFG_NULL: return "null";
    case PD_CFG_SCALAR: return "a scalar";
    case PD_CFG_MAP: return "a mapping";
    case PD_CFG_LIST: return "a list";
    }
    return "?";
}

int pdi_expect(const pd_cfg_node *n, pd_cfg_type t, const char *what)
{
    if (n->type != t) {
        return pdi_node_error(n, "%s must be %s, not %s", what, pdi_cfg_type_name(t),
                              pdi_cfg_type_name(n->type));
    }
    return PD_OK;
}

int pdi_get_bool(const pd_cfg_node *n, bool *out)
{
    if (n->type == PD_CFG_SCALAR && !n->quoted) {
        const char *s = n->scalar;
        if (pdi_str_ieq(s, "true") || pdi_str_ieq(s, "yes") || pdi_str_ieq(s, "on")) {
            *out = true;
            return PD_OK;
        }
        if (pdi_str_ieq(s, "false") || pdi_str_ieq(s, "no") || pdi_str_ieq(s, "off")) {
            *out = false;
            return PD_OK;
        }
    }
    if (n->type == PD_CFG_SCALAR) {
        return pdi_node_error(n, "expected a boolean (true/false), got '%s'", n->scalar);
    }
    return pdi_node_error(n, "expected a boolean (true/false), got %s", pdi_cfg_type_name(n->type));
}

int pdi_get_int(const pd_cfg_node *n, long *out)
{
    if (n->type == PD_CFG_SCALAR && !n->quoted && n->scalar[0]) {
        char *end = NULL;
        errno = 0;
        long v = strtol(n->scalar, &end, 10);
        if (errno == 0 && end && *end == '\0') {
            *out = v;
            return PD_OK;
        }
    }
    if (n->type == PD_CFG_SCALAR) {
        return pdi_node_error(n, "expected an integer, got '%s'", n->scalar);
    }
    return pdi_node_error(n, "expected an integer, got %s", pdi_cfg_type_name(n->type));
}

int pdi_get_str(const pd_cfg_node *n, const char **out)
{
    if (n->type != PD_CFG_SCALAR) {
        return pdi_node_error(n, "expected a string, got %s", pdi_cfg_type_name(n->type));
    }
    *out = n->scalar;
    return PD_OK;
}

/* Levenshtein distance of two short keys (capped at 64 characters). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) {
        return 64;
    }
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++) {
        prev[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

int pdi_check_keys(const pd_cfg_node *map, const char *what, const char *const *allowed)
{
    if (map->type != PD_CFG_MAP) {
        return pdi_node_error(map, "%s must be a mapping, not %s", what,
                              pdi_cfg_type_name(map->type));
    }
    for (size_t i = 0; i < map->n; i++) {
        bool ok = false;
        for (const char *const *k = allowed; *k; k++) {
            if (strcmp(*k, map->keys[i]) == 0) {
                ok = true;
                break;
            }
        }
        if (!ok) {
            const char *close = NULL;
            size_t best = 3;
            for (const char *const *k = allowed; *k; k++) {
                size_t d = edit_distance(map->keys[i], *k);
                if (d < best) {
                    best = d;
                    close = *k;
                }
            }
            if (close) {
                return pdi_node_error(pdi_key_node(map, i),
                                      "unknown key '%s' in %s (did you mean '%s'?)", map->keys[i],
                                      what, close);
            }
            pd_buf b = PD_BUF_INIT;
            for (const char *const *k = allowed; *k; k++) {
                pdi_buf_printf(&b, "%s%s", k == allowed ? "" : ", ", *k);
            }
            int rc = pdi_node_error(pdi_key_node(map, i), "unknown key '%s' in %s (allowed: %s)",
                                    map->keys[i], what, b.data ? b.data : "");
            pdi_buf_free(&b);
            return rc;
        }
    }
    return PD_OK;
}

/* ------------------------------------------------------------ merge/copy */

pd_cfg_node *pdi_copy(pdi_arena *a, const pd_cfg_node *n)
{
    if (!n) {
        return NULL;
    }
    pd_cfg_node *c = pdi_node_new(a, n->type, n->file, n->line, n->column);
    if (!c) {
        return NULL;
    }
    c->quoted = n->quoted;
    if (n->scalar && !(c->scalar = pdi_strdup(n->scalar))) {
        return NULL;
    }
    for (size_t i = 0; i < n->n; i++) {
        pd_cfg_node *ci = pdi_copy(a, n->items[i]);
        if (!ci) {
            return NULL;
        }
        int rc = n->type == PD_CFG_MAP ? pdi_node_map_add_at(c, n->keys[i], pdi_key_node(n, i), ci)
                                       : pdi_node_list_add(c, ci);
        if (rc != PD_OK) {
            return NULL;
        }
    }
    return c;
}

pd_cfg_node *pdi_merge(pdi_arena *a, const pd_cfg_node *base, const pd_cfg_node *over)
{
    if (!base) {
        return pdi_copy(a, over);
    }
    if (!over) {
        return pdi_copy(a, base);
    }
    if (base->type != PD_CFG_MAP || over->type != PD_CFG_MAP) {
        return pdi_copy(a, over);
    }
    pd_cfg_node *m = pdi_node_new(a, PD_CFG_MAP, over->file, over->line, over->column);
    if (!m) {
        return NULL;
    }
    for (size_t i = 0; i < base->n; i++) {
        const pd_cfg_node *o = pd_cfg_get(over, base->keys[i]);
        pd_cfg_node *v = o ? pdi_merge(a, base->items[i], o) : pdi_copy(a, base->items[i]);
        if (!v || pdi_node_map_add_at(m, base->keys[i],
                                      o ? pdi_key_node(over, cfg_index(over, base->keys[i]))
                                        : pdi_key_node(base, i),
                                      v) != PD_OK) {
            return NULL;
        }
    }
    for (size_t i = 0; i < over->n; i++) {
        if (pd_cfg_get(base, over->keys[i])) {
            continue;
        }
        pd_cfg_node *v = pdi_copy(a, over->items[i]);
        if (!v || pdi_node_map_add_at(m, over->keys[i], pdi_key_node(over, i), v) != PD_OK) {
            return NULL;
        }
    }
    return m;
}

/* ---------------------------------------------------------------- parser */

typedef struct anchor {
    char *name;
    pd_cfg_node *node;
} anchor;

typedef struct frame {
    pd_cfg_node *node;
    char *pending_key; /* map: key waiting for its value */
    pd_cfg_node *key_node;
    bool merge_key; /* pending key is "<<" */
    pd_strv merged; /* keys that came from "<<" (explicit keys override them) */
    char *anchor;   /* registered when the collection ends (no self-reference) */
} frame;

#define MAX_DEPTH 200

typedef struct parse_state {
    pdi_arena *a;
    const char *file;
    anchor *anchors;
    size_t n_anchors;
    frame stack[MAX_DEPTH];
    int depth;
    pd_cfg_node *root;
} parse_state;

static int add_anchor(parse_state *st, const char *name, pd_cfg_node *n)
{
    anchor *na = pdi_realloc(st->anchors, (st->n_anchors + 1) * sizeof *na);
    if (!na) {
        return PD_ERR_NOMEM;
    }
    st->anchors = na;
    na[st->n_anchors].name = pdi_strdup(name);
    na[st->n_anchors].node = n;
    if (!na[st->n_anchors].name) {
        return PD_ERR_NOMEM;
    }
    st->n_anchors++;
    return PD_OK;
}

static pd_cfg_node *find_anchor(parse_state *st, const char *name)
{
    for (size_t i = st->n_anchors; i > 0; i--) {
        if (strcmp(st->anchors[i - 1].name, name) == 0) {
            return st->anchors[i - 1].node;
        }
    }
    return NULL;
}

/* Merge `src` map entries into `dst` map without overriding existing keys. */
static int apply_merge_key(parse_state *st, frame *f, pd_cfg_node *src)
{
    pd_cfg_node *dst = f->node;
    if (src->type == PD_CFG_LIST) {
        for (size_t i = 0; i < src->n; i++) {
            int rc = apply_merge_key(st, f, src->items[i]);
            if (rc != PD_OK) {
                return rc;
            }
        }
        return PD_OK;
    }
    if (src->type != PD_CFG_MAP) {
        return pdi_node_error(src, "'<<' merge value must be a mapping or a list of mappings");
    }
    for (size_t i = 0; i < src->n; i++) {
        if (pd_cfg_get(dst, src->keys[i])) {
            continue;
        }
        int rc = pdi_node_map_add_at(dst, src->keys[i], pdi_key_node(src, i), src->items[i]);
        if (rc == PD_OK) {
            rc = pdi_strv_push(&f->merged, src->keys[i]);
        }
        if (rc != PD_OK) {
            return rc;
        }
    }
    return PD_OK;
}

/* Attach a finished node to the current container (or make it the root). */
static int attach(parse_state *st, pd_cfg_node *n)
{
    if (st->depth == 0) {
        st->root = n;
        return PD_OK;
    }
    frame *f = &st->stack[st->depth - 1];
    if (f->node->type == PD_CFG_LIST) {
        return pdi_node_list_add(f->node, n);
    }
    /* mapping */
    if (!f->pending_key) {
        if (n->type != PD_CFG_SCALAR && n->type != PD_CFG_NULL) {
            return pdi_node_error(n, "mapping keys must be scalars");
        }
        f->pending_key = pdi_strdup(n->scalar ? n->scalar : "");
        f->key_node = n;
        f->merge_key = n->type == PD_CFG_SCALAR && !n->quoted && strcmp(n->scalar, "<<") == 0;
        return f->pending_key ? PD_OK : PD_ERR_NOMEM;
    }
    int rc;
    if (f->merge_key) {
        rc = apply_merge_key(st, f, n);
    } else if (pd_cfg_get(f->node, f->pending_key)) {
        rc = pdi_node_error(f->key_node, "duplicate key '%s'", f->pending_key);
        if (pdi_strv_contains(&f->merged, f->pending_key)) {
            for (size_t i = 0; i < f->node->n; i++) {
                if (strcmp(f->node->keys[i], f->pending_key) == 0) {
                    f->node->items[i] = n;
                }
            }
            rc = PD_OK;
        }
    } else {
        rc = pdi_node_map_add_at(f->node, f->pending_key, f->key_node, n);
    }
    free(f->pending_key);
    f->pending_key = NULL;
    return rc;
}

static int event_error(parse_state *st, const yaml_mark_t *m, const char *what)
{
    return pd_set_error(PD_ERR_CONFIG, "%s:%d:%d: %s", st->file, (int)m->line + 1,
                        (int)m->column + 1, what);
}

int pdi_yaml_parse(pdi_arena *a, const char *file, const char *text, size_t len, pd_cfg_node **root)
{
    *root = NULL;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        return pd_set_error(PD_ERR_NOMEM, "libyaml: cannot initialize parser");
    }
    parse_state st;
    memset(&st, 0, sizeof st);
    st.a = a;
    st.file = pdi_arena_file(a, file ? file : "<string>");
    if (!st.file) {
        yaml_parser_delete(&p);
        return PD_ERR_NOMEM;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = PD_OK;
    int docs = 0;
    bool done = false;
    while (!done && rc == PD_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            const yaml_mark_t *m = &p.problem_mark;
            char msg[512];
            snprintf(msg, sizeof msg, "YAML syntax error: %s%s%s",
                     p.problem ? p.problem : "unknown problem", p.context ? " " : "",
                     p.context ? p.context : "");
            rc = event_error(&st, m, msg);
            break;
        }
        int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                rc = event_error(&st, &ev.start_mark, "only one YAML document is allowed");
            }
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            bool quoted = ev.data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                          ev.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE ||
                          ev.data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
                          ev.data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
            bool is_null = !quoted && (ev.data.scalar.length == 0 || strcmp(v, "~") == 0 ||
                                       strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
                                       strcmp(v, "NULL") == 0);
            if (strlen(v) != ev.data.scalar.length) {
                rc = event_error(&st, &ev.start_mark, "NUL byte in scalar");
                break;
            }
            pd_cfg_node *n =
                pdi_node_new(a, is_null ? PD_CFG_NULL : PD_CFG_SCALAR, st.file, line, col);
            if (!n || !(n->scalar = pdi_strdup(v))) {
                rc = PD_ERR_NOMEM;
                break;
            }
            n->quoted = quoted;
            if (ev.data.scalar.anchor) {
                rc = add_anchor(&st, (const char *)ev.data.scalar.anchor, n);
            }
            if (rc == PD_OK) {
                rc = attach(&st, n);
            }
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            if (st.depth >= MAX_DEPTH) {
                rc = event_error(&st, &ev.start_mark, "YAML nested too deeply");
                break;
            }
            bool is_map = ev.type == YAML_MAPPING_START_EVENT;
            pd_cfg_node *n = pdi_node_new(a, is_map ? PD_CFG_MAP : PD_CFG_LIST, st.file, line, col);
            if (!n) {
                rc = PD_ERR_NOMEM;
                break;
            }
            const yaml_char_t *anc =
                is_map ? ev.data.mapping_start.anchor : ev.data.sequence_start.anchor;
            frame *f = &st.stack[st.depth++];
            memset(f, 0, sizeof *f);
            f->node = n;
            if (anc && !(f->anchor = pdi_strdup((const char *)anc))) {
                rc = PD_ERR_NOMEM;
            }
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            frame *f = &st.stack[--st.depth];
            pd_cfg_node *n = f->node;
            free(f->pending_key);
            f->pending_key = NULL;
            pdi_strv_free(&f->merged);
            if (f->anchor) {
                rc = add_anchor(&st, f->anchor, n);
                free(f->anchor);
                f->anchor = NULL;
            }
            if (rc == PD_OK) {
                rc = attach(&st, n);
            }
            break;
        }
        case YAML_ALIAS_EVENT: {
            pd_cfg_node *n = find_anchor(&st, (const char *)ev.data.alias.anchor);
            if (!n) {
                rc = event_error(&st, &ev.start_mark, "unknown YAML alias");
                break;
            }
            rc = attach(&st, n);
            break;
        }
        default: break;
        }
        yaml_event_delete(&ev);
    }
    while (st.depth > 0) {
        st.depth--;
        free(st.stack[st.depth].pending_key);
        free(st.stack[st.depth].anchor);
        pdi_strv_free(&st.stack[st.depth].merged);
    }
    for (size_t i = 0; i < st.n_anchors; i++) {
        free(st.anchors[i].name);
    }
    free(st.anchors);
    yaml_parser_delete(&p);
    if (rc == PD_OK) {
        *root = st.root;
    }
    return rc;
}

int pdi_yaml_parse_file(pdi_arena *a, const char *path, pd_cfg_node **root)
{
    size_t len = 0;
    char *text = pdi_file_read(path, &len);
    if (!text) {
        return pd_set_error(PD_ERR_IO, "%s: cannot read file: %s", path, strerror(errno));
    }
    int rc = pdi_yaml_parse(a, path, text, len, root);
    free(text);
    return rc;
}
