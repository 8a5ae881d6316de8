/*
 * core/flow.c - the flow graph: building flows, stages and tasks through the
 * public API, parsing {{ }} references out of SQL, resolving them to producer
 * tasks at finalize, checking duplicates and cycles, ordering the graph
 * (tasks plus one commit node per stage) and computing position hashes.
 */
#include "core_int.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

char *pdi_normalize_name(const char *s)
{
    if (!s)
        return NULL;
    char *t = pdi_str_trim(s);
    if (!t)
        return NULL;
    for (char *p = t; *p; p++) {
        *p = (char)tolower((unsigned char)*p);
        if (*p == '/')
            *p = '_';
    }
    return t;
}

const char *pdi_task_origin(const pd_task *t)
{
    static _Thread_local char buf[600];
    if (!t || !t->origin_file) {
        buf[0] = 0;
        return buf;
    }
    snprintf(buf, sizeof buf, "%s:%d", t->origin_file, t->origin_line);
    return buf;
}

static int task_error(const pd_task *t, int code, const char *fmt, ...) PD_PRINTF(3, 4);
static int task_error(const pd_task *t, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = pdi_vasprintf(fmt, ap);
    va_end(ap);
    if (t->origin_file)
        pd_set_error(code, "%s: task %s.%s: %s", pdi_task_origin(t), t->stage->name, t->name,
                     msg ? msg : "error");
    else
        pd_set_error(code, "task %s.%s: %s", t->stage->name, t->name, msg ? msg : "error");
    free(msg);
    return code;
}

#define PDI_NAME_CHARS "ASCII letters, digits and _, starting with a letter or _"

static bool ascii_ident(const char *s)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Why a normalized stage or task name cannot be used (NULL if it can). The
 * same flow must run on every store, so a name one store cannot hold is
 * refused everywhere. */
static const char *name_problem(const char *n, bool stage)
{
    if (!ascii_ident(n))
        return "allowed are " PDI_NAME_CHARS;
    /* Postgres cuts identifiers at 63 bytes without an error: longer names
     * could collide, and a stage's slot schemas add up to 6 bytes */
    if (stage && strlen(n) > 56)
        return "at most 56 characters (a stage's transaction schema adds __even and Postgres "
               "cuts names at 63)";
    if (!stage && strlen(n) > 63)
        return "at most 63 characters (Postgres cuts longer names)";
    if (ends_with(n, "__tmp") || ends_with(n, "__odd") || ends_with(n, "__even"))
        return "names ending in __tmp, __odd or __even are reserved for transaction schemas";
    if (!stage)
        return NULL;
    if (strcmp(n, "pipedag_metadata") == 0)
        return "pipedag_metadata is the schema of pipedag's own metadata";
    if (strcmp(n, "main") == 0 || strcmp(n, "temp") == 0)
        return "main and temp are SQLite's own schemas (the flow must run on every store)";
    if (strcmp(n, "information_schema") == 0 || strncmp(n, "pg_", 3) == 0)
        return "information_schema and names starting with pg_ are system schemas of Postgres "
               "(the flow must run on every store)";
    return NULL;
}

static bool valid_ident(const char *s)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '$'))
            return false;
    return true;
}

int pdi_scan_refs(const char *text, pdi_ref_fn fn, void *user)
{
    if (!text)
        return PD_OK;
    const char *p = text;
    while ((p = strstr(p, "{{")) != NULL) {
        const char *e = strstr(p + 2, "}}");
        if (!e)
            return pd_set_error(PD_ERR_INVALID, "unterminated '{{' at offset %zu",
                                (size_t)(p - text));
        const char *a = p + 2, *b = e;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        char *inner = pdi_strndup(a, (size_t)(b - a));
        if (!inner)
            return PD_ERR_NOMEM;
        int rc = fn(user, inner, (size_t)(p - text), (size_t)(e + 2 - text));
        free(inner);
        if (rc)
            return rc;
        p = e + 2;
    }
    return PD_OK;
}

/* ------------------------------------------------------------ flows */

pd_flow *pd_flow_new(const char *name)
{
    pd_flow *f = pdi_calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->name = pdi_strdup(name ? name : "default");
    if (!f->name) {
        free(f);
        return NULL;
    }
    return f;
}

static void task_free(pd_task *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->table);
    free(t->sql);
    free(t->csv_path);
    free(t->load_opts);
    pdi_strv_free(&t->view_sources);
    free(t->view_opts);
    free(t->ext_schema);
    free(t->ext_table);
    free(t->library);
    free(t->symbol);
    free(t->version);
    pdi_strv_free(&t->primary_key);
    for (size_t i = 0; i < t->n_indexes; i++)
        pdi_strv_free(&t->indexes[i]);
    free(t->indexes);
    for (size_t i = 0; i < t->n_checks; i++) {
        free(t->checks[i].column);
        pdi_strv_free(&t->checks[i].values);
        free(t->checks[i].ref);
        free(t->checks[i].ref_column);
    }
    free(t->checks);
    free(t->origin_file);
    pdi_strv_free(&t->declared_outputs);
    for (size_t i = 0; i < t->n_refs; i++) {
        free(t->refs[i].text);
        free(t->refs[i].stage);
        free(t->refs[i].table);
    }
    free(t->refs);
    free(t->inputs);
    free(t);
}

void pd_flow_free(pd_flow *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_tasks; i++)
        task_free(f->tasks[i]);
    for (size_t i = 0; i < f->n_stages; i++) {
        free(f->stages[i]->name);
        free(f->stages[i]->tasks);
        free(f->stages[i]);
    }
    free(f->tasks);
    free(f->stages);
    free(f->order);
    free(f->adj_start);
    free(f->adj);
    free(f->indeg);
    free(f->rank);
    free(f->name);
    free(f->file);
    free(f);
}

const char *pd_flow_name(const pd_flow *f)
{
    return f ? f->name : NULL;
}
const char *pd_flow_file(const pd_flow *f)
{
    return f ? f->file : NULL;
}
void pd_flow_set_file(pd_flow *f, const char *path)
{
    if (!f)
        return;
    free(f->file);
    f->file = pdi_strdup(path);
}

pd_stage *pd_flow_add_stage(pd_flow *f, const char *name)
{
    if (!f || !name) {
        pd_set_error(PD_ERR_INVALID, "pd_flow_add_stage: NULL argument");
        return NULL;
    }
    if (f->finalized) {
        pd_set_error(PD_ERR_INVALID, "flow %s is finalized; cannot add stage %s", f->name, name);
        return NULL;
    }
    char *n = pdi_normalize_name(name);
    if (!n)
        return NULL;
    const char *why = name_problem(n, true);
    if (why) {
        pd_set_error(PD_ERR_INVALID, "invalid stage name '%s': %s", name, why);
        free(n);
        return NULL;
    }
    if (pd_flow_find_stage(f, n)) {
        pd_set_error(PD_ERR_INVALID, "duplicate stage name '%s' in flow %s", n, f->name);
        free(n);
        return NULL;
    }
    pd_stage *s = pdi_calloc(1, sizeof *s);
    pd_stage **stages =
        s ? pdi_grow(f->stages, &f->cap_stages, f->n_stages, sizeof *stages, 8) : NULL;
    if (!stages) {
        free(s);
        free(n);
        return NULL;
    }
    f->stages = stages;
    s->name = n;
    s->flow = f;
    s->id = f->n_stages;
    f->stages[f->n_stages++] = s;
    return s;
}

size_t pd_flow_stage_count(const pd_flow *f)
{
    return f ? f->n_stages : 0;
}
pd_stage *pd_flow_stage(const pd_flow *f, size_t i)
{
    return f && i < f->n_stages ? f->stages[i] : NULL;
}
pd_stage *pd_flow_find_stage(const pd_flow *f, const char *name)
{
    if (!f || !name)
        return NULL;
    char *n = pdi_normalize_name(name);
    pd_stage *r = NULL;
    for (size_t i = 0; n && i < f->n_stages; i++)
        if (strcmp(f->stages[i]->name, n) == 0) {
            r = f->stages[i];
            break;
        }
    free(n);
    return r;
}
const char *pd_stage_name(const pd_stage *s)
{
    return s ? s->name : NULL;
}
size_t pd_stage_task_count(const pd_stage *s)
{
    return s ? s->n_tasks : 0;
}
pd_task *pd_stage_task(const pd_stage *s, size_t i)
{
    return s && i < s->n_tasks ? s->tasks[i] : NULL;
}

static pd_task *stage_find_table(const pd_stage *s, const char *table)
{
    for (size_t i = 0; i < s->n_tasks; i++) {
        pd_task *t = s->tasks[i];
        if (strcmp(t->table, table) == 0)
            return t;
    }
    for (size_t i = 0; i < s->n_tasks; i++) {
        pd_task *t = s->tasks[i];
        if (pdi_strv_contains(&t->declared_outputs, table))
            return t;
    }
    return NULL;
}

pd_task *pd_flow_find_task(const pd_flow *f, const char *ref)
{
    if (!f || !ref)
        return NULL;
    char *n = pdi_normalize_name(ref);
    if (!n)
        return NULL;
    pd_task *r = NULL;
    char *dot = strchr(n, '.');
    if (dot) {
        *dot = 0;
        pd_stage *s = pd_flow_find_stage(f, n);
        if (s)
            for (size_t i = 0; i < s->n_tasks && !r; i++)
                if (strcmp(s->tasks[i]->table, dot + 1) == 0)
                    r = s->tasks[i];
    } else {
        for (size_t i = 0; i < f->n_tasks && !r; i++)
            if (strcmp(f->tasks[i]->table, n) == 0)
                r = f->tasks[i];
    }
    free(n);
    return r;
}

/* ------------------------------------------------------------ tasks */

static pd_task *add_task(pd_stage *s, const char *name, pd_task_kind kind)
{
    if (!s || !name) {
        pd_set_error(PD_ERR_INVALID, "add task: NULL argument");
        return NULL;
    }
    pd_flow *f = s->flow;
    if (f->finalized) {
        pd_set_error(PD_ERR_INVALID, "flow %s is finalized; cannot add task %s", f->name, name);
        return NULL;
    }
    char *tbl = pdi_normalize_name(name);
    if (!tbl)
        return NULL;
    const char *why = name_problem(tbl, false);
    if (why) {
        pd_set_error(PD_ERR_INVALID, "invalid task name '%s' in stage %s: %s", name, s->name, why);
        free(tbl);
        return NULL;
    }
    pd_task *t = pdi_calloc(1, sizeof *t);
    pd_task **ft = t ? pdi_grow(f->tasks, &f->cap_tasks, f->n_tasks, sizeof *ft, 8) : NULL;
    if (ft)
        f->tasks = ft;
    pd_task **st = ft ? pdi_grow(s->tasks, &s->cap_tasks, s->n_tasks, sizeof *st, 8) : NULL;
    if (!st) {
        free(t);
        free(tbl);
        return NULL;
    }
    s->tasks = st;
    t->name = pdi_strdup(name);
    t->table = tbl;
    t->kind = kind;
    t->stage = s;
    t->id = f->n_tasks;
    if (!t->name) {
        free(tbl);
        free(t);
        return NULL;
    }
    f->tasks[f->n_tasks++] = t;
    s->tasks[s->n_tasks++] = t;
    return t;
}

static int add_ref(pd_task *t, const char *text)
{
    char *n = pdi_normalize_name(text);
    if (!n)
        return PD_ERR_NOMEM;
    for (size_t i = 0; i < t->n_refs; i++)
        if (strcmp(t->refs[i].text, n) == 0) {
            free(n);
            return PD_OK;
        }
    if (!valid_ident(n)) {
        int rc = task_error(t, PD_ERR_INVALID, "invalid reference '{{ %s }}'", text);
        free(n);
        return rc;
    }
    pdi_ref *refs = pdi_grow(t->refs, &t->cap_refs, t->n_refs, sizeof *refs, 8);
    if (!refs) {
        free(n);
        return PD_ERR_NOMEM;
    }
    t->refs = refs;
    pdi_ref *r = &t->refs[t->n_refs];
    memset(r, 0, sizeof *r);
    r->text = n;
    char *dot = strchr(n, '.');
    if (dot) {
        if (strchr(dot + 1, '.') || dot == n || !dot[1]) {
            int rc = task_error(t, PD_ERR_INVALID, "invalid reference '{{ %s }}'", text);
            free(n);
            return rc;
        }
        r->stage = pdi_strndup(n, (size_t)(dot - n));
        r->table = pdi_strdup(dot + 1);
    } else {
        r->table = pdi_strdup(n);
    }
    if (!r->table || (dot && !r->stage)) {
        free(r->stage);
        free(r->table);
        free(n);
        return PD_ERR_NOMEM;
    }
    t->n_refs++;
    return PD_OK;
}

/* Raw SQL: note `CREATE TABLE|VIEW [IF NOT EXISTS] {{ this_stage }}.name`. */
typedef struct scan_state {
    pd_task *t;
    const char *text;
} scan_state;

static void note_created(pd_task *t, const char *text, size_t start, size_t end)
{
    if (t->kind != PD_TASK_RAW_SQL)
        return;
    /* statement prefix before the reference */
    size_t b = start;
    while (b > 0 && text[b - 1] != ';')
        b--;
    char *pre = pdi_strndup(text + b, start - b);
    char *low = pre ? pdi_str_lower(pre) : NULL;
    free(pre);
    if (!low)
        return;
    bool create = strstr(low, "create") && (strstr(low, "table") || strstr(low, "view")) &&
                  !strstr(low, "select") && !strstr(low, " from ");
    free(low);
    if (!create || text[end] != '.')
        return;
    const char *p = text + end + 1;
    char q = 0;
    if (*p == '"' || *p == '[' || *p == '`')
        q = *p == '[' ? ']' : *p, p++;
    const char *s = p;
    while (*p && (q ? *p != q : (isalnum((unsigned char)*p) || *p == '_')))
        p++;
    if (p == s)
        return;
    char *name = pdi_strndup(s, (size_t)(p - s));
    char *n = pdi_normalize_name(name);
    free(name);
    if (n && !pdi_strv_contains(&t->declared_outputs, n))
        pdi_strv_push(&t->declared_outputs, n);
    free(n);
}

static int scan_cb(void *user, const char *inner, size_t start, size_t end)
{
    scan_state *st = user;
    char *n = pdi_normalize_name(inner);
    if (!n)
        return PD_ERR_NOMEM;
    bool this_stage = strcmp(n, "this_stage") == 0;
    free(n);
    if (this_stage) {
        note_created(st->t, st->text, start, end);
        return PD_OK;
    }
    return add_ref(st->t, inner);
}

static int scan_task_sql(pd_task *t, const char *sql)
{
    scan_state st = {t, sql};
    int rc = pdi_scan_refs(sql, scan_cb, &st);
    if (rc && rc != PD_ERR_NOMEM && !strstr(pd_last_error(), "task "))
        task_error(t, rc, "%s", pd_last_error());
    return rc;
}

pd_task *pd_stage_add_sql(pd_stage *s, const char *name, const char *sql)
{
    if (!sql) {
        pd_set_error(PD_ERR_INVALID, "task %s: SQL is NULL", name ? name : "?");
        return NULL;
    }
    pd_task *t = add_task(s, name, PD_TASK_SQL);
    if (!t)
        return NULL;
    t->lazy = true;
    t->sql = pdi_strdup(sql);
    if (!t->sql || scan_task_sql(t, sql))
        return NULL; /* task stays in the flow; finalize would fail anyway */
    return t;
}

pd_task *pd_stage_add_raw_sql(pd_stage *s, const char *name, const char *script)
{
    if (!script) {
        pd_set_error(PD_ERR_INVALID, "task %s: script is NULL", name ? name : "?");
        return NULL;
    }
    pd_task *t = add_task(s, name, PD_TASK_RAW_SQL);
    if (!t)
        return NULL;
    t->lazy = true;
    t->sql = pdi_strdup(script);
    if (!t->sql || scan_task_sql(t, script))
        return NULL;
    return t;
}

pd_task *pd_stage_add_load(pd_stage *s, const char *name, const char *csv_path)
{
    if (!csv_path) {
        pd_set_error(PD_ERR_INVALID, "task %s: CSV path is NULL", name ? name : "?");
        return NULL;
    }
    pd_task *t = add_task(s, name, PD_TASK_LOAD);
    if (!t)
        return NULL;
    t->csv_path = pdi_strdup(csv_path);
    return t->csv_path ? t : NULL;
}

int pd_task_set_load_options(pd_task *t, const char *json)
{
    if (!t || t->kind != PD_TASK_LOAD)
        return pd_set_error(PD_ERR_INVALID, "pd_task_set_load_options: not a load task");
    if (t->stage->flow->finalized)
        return pd_set_error(PD_ERR_INVALID, "flow is finalized");
    /* the loader checks the keys when it runs; the text must be JSON now */
    pd_jval *v = json && *json ? pdi_json_parse(json, strlen(json)) : NULL;
    if (json && *json && (!v || v->type != PD_J_OBJ)) {
        pdi_jval_free(v);
        return task_error(t, PD_ERR_INVALID, "load options must be a JSON object");
    }
    pdi_jval_free(v);
    char *c = json && *json ? pdi_strdup(json) : NULL;
    if (json && *json && !c)
        return PD_ERR_NOMEM;
    free(t->load_opts);
    t->load_opts = c;
    return PD_OK;
}

pd_task *pd_stage_add_view(pd_stage *s, const char *name, const char *const *sources, size_t n)
{
    if (!sources || !n) {
        pd_set_error(PD_ERR_INVALID, "view %s: no sources", name ? name : "?");
        return NULL;
    }
    pd_task *t = add_task(s, name, PD_TASK_VIEW);
    if (!t)
        return NULL;
    t->lazy = true;
    for (size_t i = 0; i < n; i++) {
        char *norm = pdi_normalize_name(sources[i]);
        if (!norm || pdi_strv_push_owned(&t->view_sources, norm) || add_ref(t, sources[i]))
            return NULL;
    }
    return t;
}

int pd_task_set_view_options(pd_task *t, const char *json)
{
    if (!t || t->kind != PD_TASK_VIEW)
        return pd_set_error(PD_ERR_INVALID, "pd_task_set_view_options: not a view task");
    if (t->stage->flow->finalized)
        return pd_set_error(PD_ERR_INVALID, "flow is finalized");
    pd_view_shape v;
    char *canon = NULL;
    char *what = pdi_asprintf("view task %s", t->name);
    int rc = what ? pdi_view_shape_parse(json, what, &v, &canon) : PD_ERR_NOMEM;
    free(what);
    if (rc)
        return task_error(t, rc, "%s", pd_last_error());
    pdi_view_shape_free(&v);
    free(t->view_opts);
    t->view_opts = canon;
    return PD_OK;
}

pd_task *pd_stage_add_external(pd_stage *s, const char *name, const char *schema, const char *table)
{
    if (!schema || !table) {
        pd_set_error(PD_ERR_INVALID, "external %s: schema and table required", name ? name : "?");
        return NULL;
    }
    pd_task *t = add_task(s, name, PD_TASK_EXTERNAL);
    if (!t)
        return NULL;
    t->lazy = true;
    t->ext_schema = pdi_strdup(schema);
    t->ext_table = pdi_strdup(table);
    return t->ext_schema && t->ext_table ? t : NULL;
}

pd_task *pd_stage_add_c(pd_stage *s, const char *name, pd_task_fn fn, void *user_data)
{
    if (!fn) {
        pd_set_error(PD_ERR_INVALID, "task %s: function is NULL", name ? name : "?");
        return NULL;
    }
    pd_task *t = add_task(s, name, PD_TASK_C);
    if (!t)
        return NULL;
    t->fn = fn;
    t->user = user_data;
    return t;
}

pd_task *
pd_stage_add_c_symbol(pd_stage *s, const char *name, const char *library, const char *symbol)
{
    if (!library || !symbol) {
        pd_set_error(PD_ERR_INVALID, "task %s: library and symbol required", name ? name : "?");
        return NULL;
    }
    pd_task *t = add_task(s, name, PD_TASK_C);
    if (!t)
        return NULL;
    t->library = pdi_strdup(library);
    t->symbol = pdi_strdup(symbol);
    return t->library && t->symbol ? t : NULL;
}

int pd_task_set_version(pd_task *t, const char *version)
{
    if (!t)
        return pd_set_error(PD_ERR_INVALID, "pd_task_set_version: NULL task");
    char *v = NULL;
    if (version && !(v = pdi_strdup(version)))
        return PD_ERR_NOMEM;
    free(t->version);
    t->version = v;
    return PD_OK;
}

int pd_task_add_input(pd_task *t, const char *ref)
{
    if (!t || !ref)
        return pd_set_error(PD_ERR_INVALID, "pd_task_add_input: NULL argument");
    if (t->stage->flow->finalized)
        return pd_set_error(PD_ERR_INVALID, "flow is finalized");
    return add_ref(t, ref);
}

int pd_task_add_output(pd_task *t, const char *name)
{
    if (!t || !name)
        return pd_set_error(PD_ERR_INVALID, "pd_task_add_output: NULL argument");
    if (t->stage->flow->finalized)
        return pd_set_error(PD_ERR_INVALID, "flow is finalized");
    char *n = pdi_normalize_name(name);
    if (!n)
        return PD_ERR_NOMEM;
    if (!valid_ident(n) || strchr(n, '.')) {
        int rc = task_error(t, PD_ERR_INVALID, "invalid output name '%s'", name);
        free(n);
        return rc;
    }
    if (pdi_strv_contains(&t->declared_outputs, n)) {
        free(n);
        return PD_OK;
    }
    return pdi_strv_push_owned(&t->declared_outputs, n);
}

int pd_task_set_lazy(pd_task *t, bool lazy)
{
    if (!t)
        return pd_set_error(PD_ERR_INVALID, "pd_task_set_lazy: NULL task");
    if (t->kind != PD_TASK_C)
        return task_error(t, PD_ERR_INVALID, "only computed tasks can change laziness");
    t->lazy = lazy;
    return PD_OK;
}

int pd_task_set_cache_fn(pd_task *t, pd_cache_fn fn, void *user_data)
{
    if (!t)
        return pd_set_error(PD_ERR_INVALID, "pd_task_set_cache_fn: NULL task");
    t->cache_fn = fn;
    t->cache_user = user_data;
    return PD_OK;
}

int pd_task_set_primary_key(pd_task *t, const char *const *cols, size_t n)
{
    if (!t)
        return pd_set_error(PD_ERR_INVALID, "pd_task_set_primary_key: NULL task");
    pdi_strv_free(&t->primary_key);
    for (size_t i = 0; i < n; i++)
        if (pdi_strv_push(&t->primary_key, cols[i]))
            return PD_ERR_NOMEM;
    return PD_OK;
}

int pd_task_add_index(pd_task *t, const char *const *cols, size_t n)
{
    if (!t || !cols || !n)
        return pd_set_error(PD_ERR_INVALID, "pd_task_add_index: bad argument");
    pd_strv *ix = pdi_realloc(t->indexes, (t->n_indexes + 1) * sizeof *ix);
    if (!ix)
        return PD_ERR_NOMEM;
    t->indexes = ix;
    pd_strv *v = &ix[t->n_indexes];
    memset(v, 0, sizeof *v);
    t->n_indexes++;
    for (size_t i = 0; i < n; i++)
        if (pdi_strv_push(v, cols[i]))
            return PD_ERR_NOMEM;
    return PD_OK;
}

static const char *const check_names[] = {"not_null", "unique",          "min",
                                          "max",      "accepted_values", "references"};

const char *pd_check_kind_name(pd_check_kind kind)
{
    if ((unsigned)kind >= sizeof check_names / sizeof *check_names)
        return "?";
    return check_names[kind];
}

int pd_check_kind_from_name(const char *name, pd_check_kind *out)
{
    for (size_t i = 0; name && i < sizeof check_names / sizeof *check_names; i++)
        if (strcmp(name, check_names[i]) == 0) {
            *out = (pd_check_kind)i;
            return PD_OK;
        }
    return pd_set_error(PD_ERR_INVALID,
                        "unknown check '%s' (not_null, unique, min, max, accepted_values, "
                        "references)",
                        name ? name : "");
}

/* A check value: one JSON scalar (number, string, true/false), returned in
 * canonical form (numbers as written, strings re-escaped). */
static char *check_value(const pd_task *t, const char *column, const char *v)
{
    pd_jval *j = v ? pdi_json_parse(v, strlen(v)) : NULL;
    char *out = NULL;
    if (j && j->type == PD_J_NUM) {
        out = pdi_strdup(j->str);
    } else if (j && j->type == PD_J_STR) {
        pd_buf b = PD_BUF_INIT;
        pdi_json_escape(&b, j->str, strlen(j->str));
        out = b.oom ? NULL : pdi_buf_detach(&b);
        if (!out)
            pdi_buf_free(&b);
    } else if (j && j->type == PD_J_BOOL) {
        out = pdi_strdup(j->b ? "true" : "false");
    } else {
        pd_clear_error();
        task_error(t, PD_ERR_INVALID,
                   "check on column '%s': value '%s' is not a JSON number, string or boolean",
                   column, v ? v : "(null)");
    }
    pdi_jval_free(j);
    return out;
}

int pd_task_add_check(
    pd_task *t, const char *column, pd_check_kind kind, const char *const *values, size_t n_values)
{
    if (!t || !column || !column[0] || (n_values && !values))
        return pd_set_error(PD_ERR_INVALID, "pd_task_add_check: bad argument");
    if (t->stage->flow->finalized)
        return pd_set_error(PD_ERR_INVALID, "flow is finalized");
    if ((unsigned)kind > PD_CHECK_REFERENCES)
        return task_error(t, PD_ERR_INVALID, "unknown check kind %d", (int)kind);
    const char *kn = pd_check_kind_name(kind);
    if (t->kind == PD_TASK_EXTERNAL)
        return task_error(t, PD_ERR_INVALID,
                          "check %s on column '%s': an external table is not checked", kn, column);
    size_t want_min = kind == PD_CHECK_NOT_NULL || kind == PD_CHECK_UNIQUE ? 0 : 1;
    size_t want_max = kind == PD_CHECK_ACCEPTED_VALUES ? SIZE_MAX : want_min;
    if (n_values < want_min || n_values > want_max)
        return task_error(
            t, PD_ERR_INVALID, "check %s on column '%s': %s", kn, column,
            want_min == 0 ? "takes no value"
            : want_max == 1
                ? (kind == PD_CHECK_REFERENCES ? "takes one stage.table.column" : "takes one value")
                : "takes a non-empty list of values");
    pdi_check c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    int rc = PD_OK;
    if (!(c.column = pdi_strdup(column)))
        rc = PD_ERR_NOMEM;
    if (!rc && kind == PD_CHECK_REFERENCES) {
        const char *v = values[0];
        const char *dot = v ? strrchr(v, '.') : NULL;
        if (!dot || dot == v || !dot[1])
            rc = task_error(t, PD_ERR_INVALID,
                            "check references on column '%s': '%s' is not stage.table.column "
                            "(or table.column)",
                            column, v ? v : "");
        if (!rc && (!(c.ref = pdi_strndup(v, (size_t)(dot - v))) ||
                    !(c.ref_column = pdi_strdup(dot + 1)) || pdi_strv_push(&c.values, v)))
            rc = PD_ERR_NOMEM;
        if (!rc)
            rc = add_ref(t, c.ref);
    }
    for (size_t i = 0; !rc && kind != PD_CHECK_REFERENCES && i < n_values; i++) {
        char *cv = check_value(t, column, values[i]);
        if (!cv)
            rc = pd_last_error_code() ? pd_last_error_code() : PD_ERR_NOMEM;
        else if (pdi_strv_push_owned(&c.values, cv))
            rc = PD_ERR_NOMEM;
    }
    pdi_check *nc = rc ? NULL : pdi_realloc(t->checks, (t->n_checks + 1) * sizeof *nc);
    if (!rc && !nc)
        rc = PD_ERR_NOMEM;
    if (rc) {
        free(c.column);
        pdi_strv_free(&c.values);
        free(c.ref);
        free(c.ref_column);
        return rc;
    }
    t->checks = nc;
    t->checks[t->n_checks++] = c;
    return PD_OK;
}

void pd_task_set_origin(pd_task *t, const char *file, int line)
{
    if (!t)
        return;
    free(t->origin_file);
    t->origin_file = pdi_strdup(file);
    t->origin_line = line;
}

const char *pd_task_name(const pd_task *t)
{
    return t ? t->name : NULL;
}
pd_task_kind pd_task_get_kind(const pd_task *t)
{
    return t ? t->kind : PD_TASK_SQL;
}
pd_stage *pd_task_stage(const pd_task *t)
{
    return t ? t->stage : NULL;
}
const char *pd_task_version(const pd_task *t)
{
    return t ? t->version : NULL;
}
size_t pd_task_input_count(const pd_task *t)
{
    return t ? t->n_inputs : 0;
}
pd_task *pd_task_input(const pd_task *t, size_t i)
{
    return t && i < t->n_inputs ? t->inputs[i] : NULL;
}

const pdi_ref *pdi_task_find_ref(const pd_task *t, const char *text)
{
    char *n = pdi_normalize_name(text);
    const pdi_ref *r = NULL;
    for (size_t i = 0; n && i < t->n_refs; i++)
        if (strcmp(t->refs[i].text, n) == 0) {
            r = &t->refs[i];
            break;
        }
    free(n);
    return r;
}

/* ------------------------------------------------------------ finalize */

int pdi_resolve(
    const pd_flow *f, const pd_task *t, const char *stage, const char *table, pd_task **out)
{
    *out = NULL;
    if (stage) {
        pd_stage *s = pd_flow_find_stage(f, stage);
        if (!s)
            return task_error(t, PD_ERR_CONFIG, "reference {{ %s.%s }}: unknown stage '%s'", stage,
                              table, stage);
        pd_task *p = stage_find_table(s, table);
        if (!p)
            return task_error(t, PD_ERR_CONFIG, "reference {{ %s.%s }}: stage %s has no table '%s'",
                              stage, table, stage, table);
        *out = p;
        return PD_OK;
    }
    pd_task *p = stage_find_table(t->stage, table);
    if (p) {
        *out = p;
        return PD_OK;
    }
    pd_buf names = PD_BUF_INIT;
    size_t found = 0;
    for (size_t i = 0; i < f->n_stages; i++) {
        if (f->stages[i] == t->stage)
            continue;
        pd_task *q = stage_find_table(f->stages[i], table);
        if (q) {
            if (found++)
                pdi_buf_puts(&names, ", ");
            pdi_buf_puts(&names, f->stages[i]->name);
            p = q;
        }
    }
    int rc = PD_OK;
    if (found == 0)
        rc = task_error(t, PD_ERR_CONFIG, "reference {{ %s }}: no task produces table '%s'", table,
                        table);
    else if (found > 1)
        rc = task_error(t, PD_ERR_CONFIG,
                        "reference {{ %s }} is ambiguous: produced in stages %s (write {{ "
                        "stage.%s }})",
                        table, names.data ? names.data : "", table);
    else
        *out = p;
    pdi_buf_free(&names);
    return rc;
}

void pdi_heap_push(pdi_heap *h, size_t v)
{
    size_t i = h->n++;
    h->a[i] = v;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->key[h->a[p]] <= h->key[h->a[i]])
            break;
        size_t tmp = h->a[p];
        h->a[p] = h->a[i];
        h->a[i] = tmp;
        i = p;
    }
}
size_t pdi_heap_pop(pdi_heap *h)
{
    size_t r = h->a[0];
    h->a[0] = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < h->n && h->key[h->a[l]] < h->key[h->a[m]])
            m = l;
        if (l + 1 < h->n && h->key[h->a[l + 1]] < h->key[h->a[m]])
            m = l + 1;
        if (m == i)
            break;
        size_t tmp = h->a[m];
        h->a[m] = h->a[i];
        h->a[i] = tmp;
        i = m;
    }
    return r;
}

int pdi_sorted_refs(const pd_task *t, const pdi_ref ***out)
{
    *out = NULL;
    if (!t->n_refs)
        return PD_OK;
    const pdi_ref **s = pdi_calloc(t->n_refs, sizeof *s);
    if (!s)
        return PD_ERR_NOMEM;
    for (size_t i = 0; i < t->n_refs; i++) {
        size_t k = i;
        while (k > 0 && strcmp(s[k - 1]->text, t->refs[i].text) > 0) {
            s[k] = s[k - 1];
            k--;
        }
        s[k] = &t->refs[i];
    }
    *out = s;
    return PD_OK;
}

void pdi_json_task_args_begin(pd_json *j, const pd_task *t)
{
    pdi_json_obj_begin(j);
    if (t->kind == PD_TASK_EXTERNAL) {
        pdi_json_key(j, "external");
        pdi_json_arr_begin(j);
        pdi_json_str(j, t->ext_schema);
        pdi_json_str(j, t->ext_table);
        pdi_json_arr_end(j);
    }
}

void pdi_json_task_args_end(pd_json *j, const pd_task *t)
{
    if (t->kind == PD_TASK_LOAD) {
        if (t->load_opts) {
            pdi_json_key(j, "options");
            pdi_json_raw(j, t->load_opts);
        }
        pdi_json_key(j, "path");
        pdi_json_str(j, t->csv_path);
    }
    pdi_json_obj_end(j);
}

static int compute_pos_hash(pd_task *t)
{
    const pdi_ref **refs = NULL;
    int rc = pdi_sorted_refs(t, &refs);
    if (rc)
        return rc;
    pd_json j;
    pdi_json_init(&j);
    pdi_json_task_args_begin(&j, t);
    pdi_json_key(&j, "inputs");
    pdi_json_obj_begin(&j);
    for (size_t i = 0; i < t->n_refs; i++) {
        pdi_json_key(&j, refs[i]->text);
        pdi_json_str(&j, refs[i]->producer ? refs[i]->producer->pos_hash : "");
    }
    pdi_json_obj_end(&j);
    pdi_json_task_args_end(&j, t);
    free(refs);
    char *args = pdi_json_finish(&j);
    if (!args)
        return PD_ERR_NOMEM;
    const char *parts[] = {"POS_TASK", t->table, t->stage->name, args};
    pdi_stable_hash(parts, 4, t->pos_hash);
    free(args);
    return PD_OK;
}

int pd_flow_finalize(pd_flow *f)
{
    if (!f)
        return pd_set_error(PD_ERR_INVALID, "pd_flow_finalize: NULL flow");
    if (f->finalized)
        return PD_OK;
    const char *where = f->file ? f->file : f->name;
    /* duplicate table names within a stage */
    for (size_t si = 0; si < f->n_stages; si++) {
        pd_stage *s = f->stages[si];
        for (size_t i = 0; i < s->n_tasks; i++) {
            pd_task *a = s->tasks[i];
            for (size_t k = 0; k < i; k++) {
                pd_task *b = s->tasks[k];
                if (strcmp(a->table, b->table) == 0 ||
                    pdi_strv_contains(&b->declared_outputs, a->table))
                    return task_error(a, PD_ERR_CONFIG,
                                      "duplicate table name '%s' in stage %s (also produced "
                                      "by task %s%s%s)",
                                      a->table, s->name, b->name, b->origin_file ? " at " : "",
                                      b->origin_file ? pdi_task_origin(b) : "");
                for (size_t o = 0; o < a->declared_outputs.n; o++) {
                    const char *on = a->declared_outputs.items[o];
                    if (strcmp(on, b->table) == 0 || pdi_strv_contains(&b->declared_outputs, on))
                        return task_error(a, PD_ERR_CONFIG,
                                          "duplicate table name '%s' in stage %s (also "
                                          "produced by task %s)",
                                          on, s->name, b->name);
                }
            }
        }
    }
    /* resolve references */
    for (size_t i = 0; i < f->n_tasks; i++) {
        pd_task *t = f->tasks[i];
        free(t->inputs);
        t->inputs = NULL;
        t->n_inputs = 0;
        if (t->n_refs && !(t->inputs = pdi_calloc(t->n_refs, sizeof *t->inputs)))
            return PD_ERR_NOMEM;
        for (size_t k = 0; k < t->n_refs; k++) {
            pdi_ref *r = &t->refs[k];
            int rc = pdi_resolve(f, t, r->stage, r->table, &r->producer);
            if (rc)
                return rc;
            if (r->producer == t) {
                if (t->kind == PD_TASK_RAW_SQL) {
                    r->producer = NULL; /* its own table */
                    continue;
                }
                return task_error(t, PD_ERR_CONFIG, "task references its own table {{ %s }}",
                                  r->text);
            }
            bool dup = false;
            for (size_t q = 0; q < t->n_inputs; q++)
                dup |= t->inputs[q] == r->producer;
            if (!dup)
                t->inputs[t->n_inputs++] = r->producer;
        }
    }
    /* order: tasks + commit nodes, Kahn with declaration-order priority */
    size_t nt = f->n_tasks, nn = nt + f->n_stages;
    size_t *indeg = pdi_calloc(nn + 1, sizeof *indeg);
    size_t *key = pdi_calloc(nn + 1, sizeof *key);
    size_t *order = pdi_calloc(nn + 1, sizeof *order);
    size_t *hp = pdi_calloc(nn + 1, sizeof *hp);
    /* adjacency: CSR built from edge list */
    size_t ne = 0;
    for (size_t i = 0; i < nt; i++)
        ne += f->tasks[i]->n_inputs + 1;
    size_t *eu = pdi_calloc(ne + 1, sizeof *eu), *ev = pdi_calloc(ne + 1, sizeof *ev);
    size_t *start = pdi_calloc(nn + 2, sizeof *start), *adj = pdi_calloc(ne + 1, sizeof *adj);
    int rc = PD_OK;
    if (!indeg || !key || !order || !hp || !eu || !ev || !start || !adj) {
        rc = PD_ERR_NOMEM;
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < nt; i++) {
        pd_task *t = f->tasks[i];
        for (size_t q = 0; q < t->n_inputs; q++) {
            pd_task *p = t->inputs[q];
            eu[k] = p->stage == t->stage ? p->id : pdi_commit_node(f, p->stage->id);
            ev[k++] = i;
        }
        eu[k] = i;
        ev[k++] = pdi_commit_node(f, t->stage->id);
    }
    ne = k;
    for (size_t e = 0; e < ne; e++) {
        start[eu[e] + 1]++;
        indeg[ev[e]]++;
    }
    for (size_t v = 0; v < nn; v++)
        start[v + 1] += start[v];
    {
        size_t *fill = pdi_calloc(nn + 1, sizeof *fill);
        if (!fill) {
            rc = PD_ERR_NOMEM;
            goto out;
        }
        for (size_t e = 0; e < ne; e++)
            adj[start[eu[e]] + fill[eu[e]]++] = ev[e];
        free(fill);
    }
    /* keys: stage order, then position in the stage; commit after its tasks */
    for (size_t si = 0; si < f->n_stages; si++) {
        pd_stage *s = f->stages[si];
        for (size_t i = 0; i < s->n_tasks; i++)
            key[s->tasks[i]->id] = si * (nt + 1) + i;
        key[pdi_commit_node(f, si)] = si * (nt + 1) + nt;
    }
    pdi_heap h = {hp, 0, key};
    for (size_t v = 0; v < nn; v++)
        if (!indeg[v])
            pdi_heap_push(&h, v);
    size_t no = 0;
    while (h.n) {
        size_t v = pdi_heap_pop(&h);
        order[no++] = v;
        for (size_t e = start[v]; e < start[v + 1]; e++)
            if (--indeg[adj[e]] == 0)
                pdi_heap_push(&h, adj[e]);
    }
    if (no != nn) {
        /* name one task on the cycle */
        const pd_task *bad = NULL;
        for (size_t v = 0; v < nt && !bad; v++)
            if (indeg[v])
                bad = f->tasks[v];
        if (bad)
            rc = task_error(bad, PD_ERR_CONFIG,
                            "dependency cycle in flow %s (through this task's inputs or its "
                            "stage's commit)",
                            where);
        else
            rc = pd_set_error(PD_ERR_CONFIG, "dependency cycle between stages in flow %s", where);
        goto out;
    }
    free(f->order);
    f->order = order;
    f->n_order = no;
    order = NULL;
    for (size_t v = 0; v < nn; v++)
        indeg[v] = 0;
    for (size_t e = 0; e < ne; e++)
        indeg[ev[e]]++;
    free(f->adj_start);
    free(f->adj);
    free(f->indeg);
    free(f->rank);
    f->adj_start = start;
    f->adj = adj;
    f->indeg = indeg;
    start = adj = indeg = NULL;
    if (!(f->rank = pdi_calloc(nn + 1, sizeof *f->rank))) {
        rc = PD_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < f->n_order; i++)
        f->rank[f->order[i]] = i;
    size_t pos = 0;
    for (size_t i = 0; i < f->n_order; i++)
        if (f->order[i] < nt) {
            pd_task *t = f->tasks[f->order[i]];
            t->topo = pos++;
            if ((rc = compute_pos_hash(t)))
                goto out;
        }
    f->finalized = true;
out:
    free(indeg);
    free(key);
    free(order);
    free(hp);
    free(eu);
    free(ev);
    free(start);
    free(adj);
    return rc;
}
