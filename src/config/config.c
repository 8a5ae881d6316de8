/*
 * config/config.c - pipedag.yaml loading: file discovery, instance selection
 * (`instances.__any__` deep-merged under the chosen instance), connection and
 * technical-setup references, {$ENV_VAR} / {instance_id} / {name} /
 * {username} expansion, validation of every section with "file:line:column:"
 * errors, and the built-in default instance used when no file exists.
 */
#include "config/cfg_int.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct cfg_priv {
    pdi_arena arena;
} cfg_priv;

#define DEFAULT_FILE "<built-in default>"

/* The built-in default instance (no pipedag.yaml found): a SQLite store,
 * file locks and blobs under ./.pipedag/. The two "%s" are the project name
 * and the instance_id (see pdi_config_default_yaml). */
#define DEFAULT_YAML_FMT                                  \
    "name: %s\n"                                          \
    "instances:\n"                                        \
    "  default:\n"                                        \
    "    instance_id: %s\n"                               \
    "    table_store:\n"                                  \
    "      class: SQLTableStore\n"                        \
    "      args:\n"                                       \
    "        url: \"sqlite:///.pipedag/{instance_id}\"\n" \
    "        create_database_if_not_exists: true\n"       \
    "    stage_commit_technique: SCHEMA_SWAP\n"           \
    "    lock_manager:\n"                                 \
    "      class: FileLockManager\n"                      \
    "      args:\n"                                       \
    "        base_path: .pipedag/locks\n"                 \
    "    blob_store:\n"                                   \
    "      class: FileBlobStore\n"                        \
    "      args:\n"                                       \
    "        base_path: .pipedag/blobs\n"                 \
    "    orchestration:\n"                                \
    "      class: SequentialEngine\n"

char *pdi_config_default_yaml(const char *name, const char *instance_id)
{
    return pdi_asprintf(DEFAULT_YAML_FMT, name, instance_id);
}

/* --------------------------------------------------------------- discovery */

static char *find_in_dir(const char *dir)
{
    static const char *const names[] = {"pipedag.yaml", "pipedag.yml"};
    for (size_t i = 0; i < 2; i++) {
        char *p = pdi_path_join(dir, names[i]);
        if (p && pdi_path_exists(p) && !pdi_is_dir(p)) {
            return p;
        }
        free(p);
    }
    return NULL;
}

/* Resolve the config path; *out NULL = use the built-in default. */
static int discover(const char *path, char **out)
{
    *out = NULL;
    if (path && *path) {
        if (pdi_is_dir(path)) {
            *out = find_in_dir(path);
            if (!*out) {
                return pd_set_error(PD_ERR_NOT_FOUND,
                                    "%s: no pipedag.yaml or pipedag.yml in "
                                    "this directory",
                                    path);
            }
            return PD_OK;
        }
        if (!pdi_path_exists(path)) {
            return pd_set_error(PD_ERR_NOT_FOUND, "%s: config file not found", path);
        }
        *out = pdi_strdup(path);
        return *out ? PD_OK : PD_ERR_NOMEM;
    }
    const char *env = getenv("PIPEDAG_CONFIG");
    if (env && *env) {
        int rc = discover(env, out);
        if (rc != PD_OK) {
            pd_error_prefix("PIPEDAG_CONFIG");
        }
        return rc;
    }
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd)) {
        char *dir = pdi_strdup(cwd);
        while (dir) {
            *out = find_in_dir(dir);
            if (*out) {
                free(dir);
                return PD_OK;
            }
            if (strcmp(dir, "/") == 0 || !*dir) {
                free(dir);
                break;
            }
            char *parent = pdi_path_dirname(dir);
            free(dir);
            dir = parent;
        }
    }
    const char *home = getenv("HOME");
    if (home && *home) {
        *out = find_in_dir(home);
    }
    return PD_OK;
}

/* -------------------------------------------------------------- expansion */

static char *username(void)
{
    const char *u = getenv("USER");
    if (u && *u) {
        return pdi_strdup(u);
    }
    struct passwd *pw = getpwuid(getuid());
    return pdi_strdup(pw && pw->pw_name ? pw->pw_name : "unknown");
}

/* Expand {$VAR} in n->scalar; missing variable = error at the node. */
static int expand_env(pd_cfg_node *n)
{
    if (!n->scalar || !strstr(n->scalar, "{$")) {
        return PD_OK;
    }
    pd_buf b = PD_BUF_INIT;
    const char *s = n->scalar;
    while (*s) {
        if (s[0] == '{' && s[1] == '$') {
            const char *p = s + 2;
            while (isalnum((unsigned char)*p) || *p == '_') {
                p++;
            }
            if (*p == '}' && p > s + 2 && !isdigit((unsigned char)s[2])) {
                char var[256];
                snprintf(var, sizeof var, "%.*s", (int)(p - s - 2), s + 2);
                const char *val = getenv(var);
                if (!val) {
                    pdi_buf_free(&b);
                    return pdi_node_error(n, "environment variable %s is not set", var);
                }
                pdi_buf_puts(&b, val);
                s = p + 1;
                continue;
            }
        }
        pdi_buf_putc(&b, *s++);
    }
    if (b.oom) {
        pdi_buf_free(&b);
        return PD_ERR_NOMEM;
    }
    free(n->scalar);
    n->scalar = pdi_buf_detach(&b);
    if (!n->scalar) {
        n->scalar = pdi_strdup("");
    }
    return n->scalar ? PD_OK : PD_ERR_NOMEM;
}

static int expand_env_tree(pd_cfg_node *n)
{
    if (!n) {
        return PD_OK;
    }
    if (n->type == PD_CFG_SCALAR) {
        return expand_env(n);
    }
    for (size_t i = 0; i < n->n; i++) {
        int rc = expand_env_tree(n->items[i]);
        if (rc != PD_OK) {
            return rc;
        }
    }
    return PD_OK;
}

typedef struct placeholders {
    const char *instance_id, *name, *username;
} placeholders;

static int replace_in(pd_cfg_node *n, const char *from, const char *to)
{
    if (!strstr(n->scalar, from)) {
        return PD_OK;
    }
    char *r = pdi_str_replace(n->scalar, from, to);
    if (!r) {
        return PD_ERR_NOMEM;
    }
    free(n->scalar);
    n->scalar = r;
    return PD_OK;
}

static int expand_placeholders(pd_cfg_node *n, const placeholders *ph)
{
    if (n->type != PD_CFG_SCALAR) {
        return PD_OK;
    }
    if (replace_in(n, "{instance_id}", ph->instance_id) != PD_OK ||
        replace_in(n, "{name}", ph->name) != PD_OK ||
        replace_in(n, "{username}", ph->username) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    return PD_OK;
}

/* Every string except per_user_template (which keeps {id}/{username}). */
static int expand_placeholders_tree(pd_cfg_node *n, const placeholders *ph)
{
    if (!n) {
        return PD_OK;
    }
    if (n->type == PD_CFG_SCALAR) {
        return expand_placeholders(n, ph);
    }
    for (size_t i = 0; i < n->n; i++) {
        if (n->type == PD_CFG_MAP && strcmp(n->keys[i], "per_user_template") == 0) {
            continue;
        }
        int rc = expand_placeholders_tree(n->items[i], ph);
        if (rc != PD_OK) {
            return rc;
        }
    }
    return PD_OK;
}

/* url, schema_prefix, schema_suffix must not keep an unknown {placeholder}. */
static int check_no_placeholder(const pd_cfg_node *n, const char *what)
{
    const char *s = n->scalar;
    const char *o = s ? strchr(s, '{') : NULL;
    if (o) {
        const char *c = strchr(o, '}');
        if (c) {
            return pdi_node_error(n,
                                  "unknown placeholder '%.*s' in %s (known: {instance_id}, "
                                  "{name}, {username}, {$ENV_VAR})",
                                  (int)(c - o + 1), o, what);
        }
    }
    return PD_OK;
}

/* ----------------------------------------------------------- small helpers */

static const char *short_class(const char *cls)
{
    const char *dot = strrchr(cls, '.');
    return dot ? dot + 1 : cls;
}

static int opt_bool(const pd_cfg_node *map, const char *key, bool *out)
{
    const pd_cfg_node *n = pd_cfg_get(map, key);
    if (!n || n->type == PD_CFG_NULL) {
        return PD_OK;
    }
    if (pdi_get_bool(n, out) != PD_OK) {
        return pdi_node_error(n, "'%s' must be a boolean (true/false), got %s%s%s", key,
                              n->type == PD_CFG_SCALAR ? "'" : "",
                              n->type == PD_CFG_SCALAR ? n->scalar : pdi_cfg_type_name(n->type),
                              n->type == PD_CFG_SCALAR ? "'" : "");
    }
    return PD_OK;
}

/* The options of one materialization_details label, per dialect
 * (PIPEDAG_SEMANTICS.md §1.6 / §5.3; strict: anything else is an error):
 * Postgres (and dialects treated like it) `unlogged`; MSSQL `columnstore`;
 * DB2 `compression` (one or a list of COMPRESS YES [STATIC|ADAPTIVE],
 * VALUE COMPRESSION, or "" for none) and `table_space_data`,
 * `table_space_index`, `table_space_long`; SQLite, DuckDB, Snowflake none.
 * Only `unlogged` has an effect in this build: the others are checked, and
 * a warning says they are not applied. */
static int detail_options(const pd_cfg_node *d, const char *label, const char *dialect)
{
    static const char *const pg[] = {"unlogged", NULL};
    static const char *const ms[] = {"columnstore", NULL};
    static const char *const db2[] = {"compression", "table_space_data", "table_space_index",
                                      "table_space_long", NULL};
    static const char *const none[] = {NULL};
    const char *dn = dialect ? dialect : "";
    const char *const *allowed =
        strcmp(dn, "mssql") == 0 ? ms
        : strcmp(dn, "db2") == 0 ? db2
        : strcmp(dn, "sqlite") == 0 || strcmp(dn, "duckdb") == 0 || strcmp(dn, "snowflake") == 0
            ? none
            : pg;
    for (size_t k = 0; k < d->n; k++) {
        const char *key = d->keys[k];
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++) {
            ok = strcmp(key, *a) == 0;
        }
        if (!ok) {
            pd_buf opts = PD_BUF_INIT;
            for (const char *const *a = allowed; *a; a++) {
                pdi_buf_printf(&opts, "%s%s", a == allowed ? "" : ", ", *a);
            }
            const pd_cfg_node *at = d->key_nodes && d->key_nodes[k] ? d->key_nodes[k] : d;
            int rc = pdi_node_error(at,
                                    "materialization_details.%s: '%s' is not an option of the "
                                    "%s table store (%s%s)",
                                    label, key, dn, opts.len ? "options: " : "it has none",
                                    opts.len ? opts.data : "");
            pdi_buf_free(&opts);
            return rc;
        }
        const pd_cfg_node *v = d->items[k];
        if (strcmp(key, "unlogged") == 0 || strcmp(key, "columnstore") == 0) {
            bool b = false;
            int rc = opt_bool(d, key, &b);
            if (rc) {
                return rc;
            }
        } else if (strcmp(key, "compression") == 0) {
            static const char *const kinds[] = {"COMPRESS YES",
                                                "COMPRESS YES STATIC",
                                                "COMPRESS YES ADAPTIVE",
                                                "VALUE COMPRESSION",
                                                "",
                                                NULL};
            size_t nv = v->type == PD_CFG_LIST ? v->n : 1;
            for (size_t j = 0; j < nv; j++) {
                const pd_cfg_node *e = v->type == PD_CFG_LIST ? v->items[j] : v;
                bool known = false;
                for (const char *const *c = kinds; *c && !known && e->type == PD_CFG_SCALAR; c++) {
                    known = pdi_str_ieq(e->scalar, *c);
                }
                if (!known) {
                    return pdi_node_error(
                        e,
                        "materialization_details.%s.compression: expected COMPRESS "
                        "YES [STATIC|ADAPTIVE], VALUE COMPRESSION or \"\"",
                        label);
                }
            }
        } else if (v->type != PD_CFG_SCALAR) {
            return pdi_node_error(v, "materialization_details.%s.%s must be a string", label, key);
        }
        if (strcmp(key, "unlogged") != 0) {
            pdi_log(PD_LOG_WARN,
                    "materialization_details.%s.%s is accepted for %s but not applied by this "
                    "build",
                    label, key, dn);
        }
    }
    return PD_OK;
}

/* materialization_details: {label: {unlogged: bool}, __any__: {...}}; the
 * effective details are __any__ overridden by default_materialization_details.
 * Only Postgres' `unlogged` has an effect (other labels' keys are checked). */
static int materialization_details(const pd_cfg_node *args, pd_store_config *sc)
{
    const pd_cfg_node *md = pd_cfg_get(args, "materialization_details");
    const pd_cfg_node *def = pd_cfg_get(args, "default_materialization_details");
    if (!md || md->type == PD_CFG_NULL) {
        return PD_OK;
    }
    if (md->type != PD_CFG_MAP) {
        return pdi_node_error(md, "'materialization_details' must be a mapping of labels");
    }
    if (def && def->type != PD_CFG_NULL && def->type != PD_CFG_SCALAR) {
        return pdi_node_error(def, "'default_materialization_details' must be a label name");
    }
    const char *def_label = def && def->type == PD_CFG_SCALAR ? def->scalar : NULL;
    if (def_label && !pd_cfg_get(md, def_label)) {
        return pdi_node_error(def,
                              "default_materialization_details '%s' is not a label of "
                              "materialization_details",
                              def_label);
    }
    for (size_t i = 0; i < md->n; i++) {
        const pd_cfg_node *d = md->items[i];
        if (d->type != PD_CFG_MAP) {
            return pdi_node_error(d, "materialization_details.%s must be a mapping", md->keys[i]);
        }
        int rc = detail_options(d, md->keys[i], sc->dialect);
        if (rc) {
            return rc;
        }
    }
    const char *order[2] = {"__any__", def_label};
    for (int k = 0; k < 2; k++) {
        const pd_cfg_node *d = order[k] ? pd_cfg_get(md, order[k]) : NULL;
        if (d) {
            int rc = opt_bool(d, "unlogged", &sc->unlogged);
            if (rc) {
                return rc;
            }
        }
    }
    return PD_OK;
}

static int opt_str(const pd_cfg_node *map, const char *key, char **out)
{
    const pd_cfg_node *n = pd_cfg_get(map, key);
    if (!n || n->type == PD_CFG_NULL) {
        return PD_OK;
    }
    if (n->type != PD_CFG_SCALAR) {
        return pdi_node_error(n, "'%s' must be a string, not %s", key, pdi_cfg_type_name(n->type));
    }
    free(*out);
    *out = pdi_strdup(n->scalar);
    return *out ? PD_OK : PD_ERR_NOMEM;
}

static int section_class(const pd_cfg_node *sec,
                         const char *what,
                         const char **cls,
                         const pd_cfg_node **cls_node)
{
    const pd_cfg_node *c = pd_cfg_get(sec, "class");
    if (!c) {
        return pdi_node_error(sec, "%s: missing 'class'", what);
    }
    if (c->type != PD_CFG_SCALAR) {
        return pdi_node_error(c, "%s: 'class' must be a string", what);
    }
    *cls = short_class(c->scalar);
    *cls_node = c;
    return PD_OK;
}

static int section_args(const pd_cfg_node *sec, const char *what, const pd_cfg_node **args)
{
    *args = pd_cfg_get(sec, "args");
    if (*args && (*args)->type == PD_CFG_NULL) {
        *args = NULL;
    }
    if (*args && (*args)->type != PD_CFG_MAP) {
        return pdi_node_error(*args, "%s: 'args' must be a mapping, not %s", what,
                              pdi_cfg_type_name((*args)->type));
    }
    return PD_OK;
}

/* A section made of only 'class' and optional 'args' (lock_manager,
 * blob_store, orchestration): check its keys, return both. */
static int section_head(const pd_cfg_node *sec,
                        const char *what,
                        const char **cls,
                        const pd_cfg_node **cls_node,
                        const pd_cfg_node **args)
{
    static const char *const keys[] = {"class", "args", NULL};
    int rc = pdi_check_keys(sec, what, keys);
    if (rc == PD_OK) {
        rc = section_class(sec, what, cls, cls_node);
    }
    if (rc == PD_OK) {
        rc = section_args(sec, what, args);
    }
    return rc;
}

/* A class without arguments: 'args' (`args_what`, for messages) absent or empty. */
static int check_no_args(const pd_cfg_node *args, const char *args_what)
{
    static const char *const none[] = {NULL};
    return args ? pdi_check_keys(args, args_what, none) : PD_OK;
}

/* Dialect from the URL scheme. */
static char *dialect_of(const char *url)
{
    const char *colon = strchr(url, ':');
    if (!colon) {
        return pdi_strdup("");
    }
    char *scheme = pdi_strndup(url, (size_t)(colon - url));
    if (!scheme) {
        return NULL;
    }
    for (char *p = scheme; *p; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    char *plus = strchr(scheme, '+');
    char base[64];
    snprintf(base, sizeof base, "%.*s", plus ? (int)(plus - scheme) : (int)strlen(scheme), scheme);
    const char *d = NULL;
    if (!strcmp(base, "postgresql") || !strcmp(base, "postgres")) {
        d = "postgresql";
    } else if (!strcmp(base, "sqlite") || !strcmp(base, "duckdb") || !strcmp(base, "mssql") ||
               !strcmp(base, "snowflake")) {
        d = base;
    } else if (!strcmp(base, "db2") || !strcmp(base, "ibm_db_sa")) {
        d = "db2";
    }
    if (!d) {
        return scheme; /* unknown kept as written */
    }
    char *r = pdi_strdup(d);
    free(scheme);
    return r;
}

/* url_attrs_file: YAML mapping whose values replace {key} in the url. */
static int
apply_url_attrs(pdi_arena *a, const char *cfg_path, pd_cfg_node *url, const pd_cfg_node *file_node)
{
    if (file_node->type != PD_CFG_SCALAR) {
        return pdi_node_error(file_node, "'url_attrs_file' must be a path");
    }
    char *path;
    if (file_node->scalar[0] == '/' || !cfg_path) {
        path = pdi_strdup(file_node->scalar);
    } else {
        char *dir = pdi_path_dirname(cfg_path);
        path = pdi_path_join(dir, file_node->scalar);
        free(dir);
    }
    if (!path) {
        return PD_ERR_NOMEM;
    }
    if (!pdi_path_exists(path)) {
        free(path);
        return pdi_node_error(file_node, "url_attrs_file '%s' not found", file_node->scalar);
    }
    pd_cfg_node *root = NULL;
    int rc = pdi_yaml_parse_file(a, path, &root);
    free(path);
    if (rc != PD_OK) {
        return rc;
    }
    if (!root) {
        return PD_OK;
    }
    if (root->type != PD_CFG_MAP) {
        return pdi_node_error(root, "url_attrs_file must contain a mapping");
    }
    for (size_t i = 0; i < root->n; i++) {
        if (root->items[i]->type != PD_CFG_SCALAR) {
            return pdi_node_error(root->items[i], "url_attrs_file values must be scalars");
        }
        char key[300];
        snprintf(key, sizeof key, "{%s}", root->keys[i]);
        if (replace_in(url, key, root->items[i]->scalar) != PD_OK) {
            return PD_ERR_NOMEM;
        }
    }
    return PD_OK;
}

/* ----------------------------------------------------------- table store */

/* args of both store classes (kept in this order for "did you mean") */
#define STORE_ARGS_HEAD                                                                         \
    "url", "url_attrs_file", "create_database_if_not_exists", "print_materialize", "print_sql", \
        "schema_prefix", "schema_suffix", "avoid_drop_create_schema", "lock_wait_seconds"
#define STORE_ARGS_TAIL                                                      \
    "strict_materialization_details", "materialization_details",             \
        "default_materialization_details", "max_concurrent_copy_operations", \
        "sqlalchemy_pool_size", "sqlalchemy_pool_timeout", "max_query_print_length"

static const char *const sql_store_args[] = {STORE_ARGS_HEAD, "disable_pytsql",
                                             "pytsql_isolation_level", STORE_ARGS_TAIL, NULL};
static const char *const parquet_store_args[] = {STORE_ARGS_HEAD,
                                                 STORE_ARGS_TAIL,
                                                 "parquet_base_path",
                                                 "s3_endpoint_url",
                                                 "s3_url_style",
                                                 "s3_region",
                                                 "allow_overwrite",
                                                 "parquet_data_page_version",
                                                 NULL};

static int check_hook_args(const pd_cfg_node *h)
{
    static const char *const top[] = {"pandas", "polars", "sql", NULL};
    static const char *const pandas[] = {"dtype_backend", NULL};
    static const char *const polars[] = {"disable_materialize_annotation_action",
                                         "disable_retrieve_annotation_action",
                                         "fault_tolerant_annotation_action", NULL};
    static const char *const sql[] = {"disable_materialize_annotation_action",
                                      "disable_retrieve_annotation_action",
                                      "fault_tolerant_annotation_action",
                                      "cleanup_annotation_action_on_success",
                                      "cleanup_annotation_action_intermediate_state",
                                      NULL};
    int rc = pdi_check_keys(h, "hook_args", top);
    for (size_t i = 0; rc == PD_OK && i < h->n; i++) {
        const pd_cfg_node *sub = h->items[i];
        if (sub->type == PD_CFG_NULL) {
            continue;
        }
        const char *k = h->keys[i];
        char what[64];
        snprintf(what, sizeof what, "hook_args.%s", k);
        rc = pdi_check_keys(sub, what,
                            !strcmp(k, "pandas")   ? pandas
                            : !strcmp(k, "polars") ? polars
                                                   : sql);
        if (rc != PD_OK) {
            break;
        }
        for (size_t j = 0; j < sub->n; j++) {
            const pd_cfg_node *v = sub->items[j];
            if (!strcmp(sub->keys[j], "dtype_backend")) {
                if (v->type != PD_CFG_SCALAR ||
                    (strcmp(v->scalar, "numpy") && strcmp(v->scalar, "arrow"))) {
                    return pdi_node_error(v, "hook_args.pandas.dtype_backend must be 'numpy' "
                                             "or 'arrow'");
                }
            } else {
                bool b;
                rc = opt_bool(sub, sub->keys[j], &b);
                if (rc != PD_OK) {
                    return rc;
                }
            }
        }
    }
    return rc;
}

static void store_config_clear(pd_store_config *sc);

static int
load_store(pdi_arena *a, const char *cfg_path, pd_cfg_node *sec, pd_store_config *sc, bool is_meta)
{
    const char *what = is_meta ? "table_store.metadata_table_store" : "table_store";
    static const char *const keys[] = {
        "class", "args", "hook_args", "local_table_cache", "metadata_table_store", NULL};
    static const char *const meta_keys[] = {"class", "args", "hook_args", NULL};
    int rc = pdi_check_keys(sec, what, is_meta ? meta_keys : keys);
    if (rc != PD_OK) {
        return rc;
    }
    const char *cls = NULL;
    const pd_cfg_node *cls_node = NULL;
    if ((rc = section_class(sec, what, &cls, &cls_node)) != PD_OK) {
        return rc;
    }
    sc->file = cls_node->file;
    sc->line = cls_node->line;
    sc->column = cls_node->column;
    if (!(sc->class_name = pdi_strdup(cls_node->scalar))) {
        return PD_ERR_NOMEM;
    }
    if (!strcmp(cls, "SQLTableStore")) {
        sc->klass = PD_STORE_SQL;
    } else if (!strcmp(cls, "ParquetTableStore")) {
        sc->klass = PD_STORE_PARQUET;
    } else {
        return pdi_node_error(cls_node,
                              "%s: unknown class '%s' (expected SQLTableStore or "
                              "ParquetTableStore)",
                              what, cls_node->scalar);
    }
    const pd_cfg_node *args;
    if ((rc = section_args(sec, what, &args)) != PD_OK) {
        return rc;
    }
    if (!args) {
        return pdi_node_error(sec, "%s: missing 'args' with a 'url'", what);
    }
    char awhat[96];
    snprintf(awhat, sizeof awhat, "%s.args", what);
    rc = pdi_check_keys(args, awhat,
                        sc->klass == PD_STORE_PARQUET ? parquet_store_args : sql_store_args);
    if (rc != PD_OK) {
        return rc;
    }
    sc->args = args;
    pd_cfg_node *url = (pd_cfg_node *)pd_cfg_get(args, "url");
    if (!url || url->type != PD_CFG_SCALAR || !url->scalar[0]) {
        return pdi_node_error(url ? url : args, "%s: 'url' must be a non-empty string", awhat);
    }
    const pd_cfg_node *uaf = pd_cfg_get(args, "url_attrs_file");
    if (uaf && (rc = apply_url_attrs(a, cfg_path, url, uaf)) != PD_OK) {
        return rc;
    }
    if ((rc = check_no_placeholder(url, "url")) != PD_OK) {
        return rc;
    }
    sc->url = pdi_strdup(url->scalar);
    sc->dialect = dialect_of(url->scalar);
    if (!sc->url || !sc->dialect) {
        return PD_ERR_NOMEM;
    }
    if ((rc =
             opt_bool(args, "create_database_if_not_exists", &sc->create_database_if_not_exists)) ||
        (rc = opt_bool(args, "print_materialize", &sc->print_materialize)) ||
        (rc = opt_bool(args, "print_sql", &sc->print_sql)) ||
        (rc = opt_bool(args, "avoid_drop_create_schema", &sc->avoid_drop_create_schema)) ||
        (rc = opt_bool(args, "allow_overwrite", &sc->allow_overwrite)) ||
        (rc = opt_str(args, "schema_prefix", &sc->schema_prefix)) ||
        (rc = opt_str(args, "schema_suffix", &sc->schema_suffix)) ||
        (rc = opt_str(args, "parquet_base_path", &sc->parquet_base_path)) ||
        (rc = opt_str(args, "s3_endpoint_url", &sc->s3_endpoint_url)) ||
        (rc = opt_str(args, "s3_url_style", &sc->s3_url_style)) ||
        (rc = opt_str(args, "s3_region", &sc->s3_region)) ||
        (rc = materialization_details(args, sc))) {
        return rc;
    }
    sc->parquet_data_page_version = 2;
    const pd_cfg_node *pv = pd_cfg_get(args, "parquet_data_page_version");
    if (pv && pv->type != PD_CFG_NULL) {
        if (pv->type != PD_CFG_SCALAR || (strcmp(pv->scalar, "1") && strcmp(pv->scalar, "2")))
            return pdi_node_error(pv, "parquet_data_page_version must be 1 or 2");
        sc->parquet_data_page_version = pv->scalar[0] - '0';
    }
    const pd_cfg_node *lw = pd_cfg_get(args, "lock_wait_seconds");
    if (lw && lw->type != PD_CFG_NULL) {
        char *end = NULL;
        double v = lw->type == PD_CFG_SCALAR ? strtod(lw->scalar, &end) : -1;
        if (lw->type != PD_CFG_SCALAR || end == lw->scalar || *end || !(v >= 0 && v <= 86400)) {
            return pdi_node_error(lw, "lock_wait_seconds must be a number of seconds from 0 to "
                                      "86400");
        }
    }
    static const char *const ph_keys[] = {"schema_prefix", "schema_suffix", NULL};
    for (const char *const *k = ph_keys; *k; k++) {
        const pd_cfg_node *n = pd_cfg_get(args, *k);
        if (n && n->type == PD_CFG_SCALAR && (rc = check_no_placeholder(n, *k)) != PD_OK) {
            return rc;
        }
    }
    if ((!sc->schema_prefix && !(sc->schema_prefix = pdi_strdup(""))) ||
        (!sc->schema_suffix && !(sc->schema_suffix = pdi_strdup("")))) {
        return pd_set_error(PD_ERR_NOMEM, "%s: out of memory", awhat);
    }
    if (sc->s3_url_style) {
        const pd_cfg_node *n = pd_cfg_get(args, "s3_url_style");
        if (!strcmp(sc->s3_url_style, "vhost")) {
            free(sc->s3_url_style);
            if (!(sc->s3_url_style = pdi_strdup("virtual"))) {
                return PD_ERR_NOMEM;
            }
        } else if (strcmp(sc->s3_url_style, "path") && strcmp(sc->s3_url_style, "virtual")) {
            return pdi_node_error(n, "s3_url_style must be 'path' or 'virtual', not '%s'",
                                  sc->s3_url_style);
        }
    }
    if (sc->klass == PD_STORE_PARQUET && !sc->parquet_base_path) {
        return pdi_node_error(args, "%s: ParquetTableStore needs 'parquet_base_path'", awhat);
    }
    const pd_cfg_node *h = pd_cfg_get(sec, "hook_args");
    if (h && h->type != PD_CFG_NULL) {
        if ((rc = check_hook_args(h)) != PD_OK) {
            return rc;
        }
        sc->hook_args = h;
    }
    const pd_cfg_node *ltc = pd_cfg_get(sec, "local_table_cache");
    if (ltc && ltc->type != PD_CFG_NULL && ltc->type != PD_CFG_MAP) {
        return pdi_node_error(ltc, "local_table_cache must be a mapping");
    }
    pd_cfg_node *meta = (pd_cfg_node *)pd_cfg_get(sec, "metadata_table_store");
    if (meta && meta->type != PD_CFG_NULL) {
        if (meta->type != PD_CFG_MAP) {
            return pdi_node_error(meta, "metadata_table_store must be a mapping");
        }
        sc->metadata_table_store = pdi_calloc(1, sizeof *sc->metadata_table_store);
        if (!sc->metadata_table_store) {
            return PD_ERR_NOMEM;
        }
        rc = load_store(a, cfg_path, meta, sc->metadata_table_store, true);
        if (rc != PD_OK) {
            return rc;
        }
    }
    return sc->class_name && sc->schema_prefix && sc->schema_suffix ? PD_OK : PD_ERR_NOMEM;
}

static void store_config_clear(pd_store_config *sc)
{
    if (!sc) {
        return;
    }
    free(sc->class_name);
    free(sc->url);
    free(sc->dialect);
    free(sc->schema_prefix);
    free(sc->schema_suffix);
    free(sc->parquet_base_path);
    free(sc->s3_endpoint_url);
    free(sc->s3_url_style);
    free(sc->s3_region);
    if (sc->metadata_table_store) {
        store_config_clear(sc->metadata_table_store);
        free(sc->metadata_table_store);
    }
    memset(sc, 0, sizeof *sc);
}

/* ------------------------------------------------- other instance sections */

/* One class that a 'class' + 'args' section accepts. `value` is what the
 * section yields; `read_args` reads the args map (may change the value;
 * NULL: the class takes no args). A class with `unsupported` set is
 * rejected, naming those to use instead. A name ending in '*' is a prefix. */
typedef struct {
    const char *name;
    int value;
    int (*read_args)(pd_config *cfg, const pd_cfg_node *sec, const pd_cfg_node *args, int *value);
    const char *unsupported;
} section_choice;

/* An instance section made of 'class' and optional 'args' (lock_manager,
 * blob_store, orchestration). */
typedef struct {
    const char *key;
    int absent_value;          /* when the section is absent or null */
    const char *expected;      /* the supported classes, for "unknown class" */
    section_choice choices[5]; /* ends with a NULL name */
} section_def;

static int
lock_file_args(pd_config *cfg, const pd_cfg_node *sec, const pd_cfg_node *args, int *value)
{
    static const char *const file_args[] = {"base_path", NULL};
    int rc = PD_OK;
    if (args && (rc = pdi_check_keys(args, "lock_manager.args", file_args)) == PD_OK) {
        rc = opt_str(args, "base_path", &cfg->lock_base_path);
    }
    return rc; /* the default base_path is set by load_doc */
}

static int
blob_file_args(pd_config *cfg, const pd_cfg_node *sec, const pd_cfg_node *args, int *value)
{
    static const char *const file_args[] = {"base_path", NULL};
    if (!args || !pd_cfg_get(args, "base_path")) {
        return pdi_node_error(args ? args : sec, "blob_store: FileBlobStore needs "
                                                 "args.base_path");
    }
    int rc = pdi_check_keys(args, "blob_store.args", file_args);
    return rc != PD_OK ? rc : opt_str(args, "base_path", &cfg->blob_base_path);
}

/* ParallelEngine: *value is the number of workers. */
static int
parallel_args(pd_config *cfg, const pd_cfg_node *sec, const pd_cfg_node *args, int *value)
{
    static const char *const par_args[] = {"max_workers", NULL};
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    *value = ncpu > 0 ? (int)ncpu : 1;
    if (!args) {
        return PD_OK;
    }
    int rc = pdi_check_keys(args, "orchestration.args", par_args);
    if (rc != PD_OK) {
        return rc;
    }
    const pd_cfg_node *mw = pd_cfg_get(args, "max_workers");
    if (mw && mw->type != PD_CFG_NULL) {
        long v;
        if ((rc = pdi_get_int(mw, &v)) != PD_OK) {
            return rc;
        }
        if (v < 1 || v > 1024) {
            return pdi_node_error(mw, "max_workers must be between 1 and 1024");
        }
        *value = (int)v;
    }
    return PD_OK;
}

static const section_def lock_section = {
    "lock_manager",
    PD_LOCK_FILE,
    "NoLockManager, FileLockManager or DatabaseLockManager",
    {{"NoLockManager", PD_LOCK_NONE, NULL, NULL},
     {"DatabaseLockManager", PD_LOCK_DATABASE, NULL, NULL},
     {"FileLockManager", PD_LOCK_FILE, lock_file_args, NULL},
     {"ZooKeeperLockManager", 0, NULL, "FileLockManager, DatabaseLockManager or NoLockManager"},
     {NULL, 0, NULL, NULL}}};

static const section_def blob_section = {"blob_store",
                                         PD_BLOB_FILE,
                                         "FileBlobStore or NoBlobStore",
                                         {{"NoBlobStore", PD_BLOB_NONE, NULL, NULL},
                                          {"FileBlobStore", PD_BLOB_FILE, blob_file_args, NULL},
                                          {NULL, 0, NULL, NULL}}};

/* the value is the number of workers */
static const section_def engine_section = {
    "orchestration",
    1,
    "SequentialEngine or ParallelEngine",
    {{"SequentialEngine", 1, NULL, NULL},
     {"ParallelEngine", 1, parallel_args, NULL},
     {"DaskEngine", 0, NULL, "SequentialEngine or ParallelEngine"},
     {"Prefect*", 0, NULL, "SequentialEngine or ParallelEngine"},
     {NULL, 0, NULL, NULL}}};

static bool class_matches(const char *pattern, const char *cls)
{
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*') {
        return strncmp(cls, pattern, n - 1) == 0;
    }
    return strcmp(cls, pattern) == 0;
}

/* Load the section `def` of instance `inst` into *value. */
static int load_section(pd_config *cfg, const pd_cfg_node *inst, const section_def *def, int *value)
{
    *value = def->absent_value;
    const pd_cfg_node *sec = pd_cfg_get(inst, def->key);
    if (!sec || sec->type == PD_CFG_NULL) {
        return PD_OK;
    }
    const char *cls = NULL;
    const pd_cfg_node *cn = NULL, *args = NULL;
    int rc = section_head(sec, def->key, &cls, &cn, &args);
    if (rc != PD_OK) {
        return rc;
    }
    for (const section_choice *c = def->choices; c->name; c++) {
        if (!class_matches(c->name, cls)) {
            continue;
        }
        if (c->unsupported) {
            return pdi_node_error(cn, "%s: %s is not supported by pipedag-c (use %s)", def->key,
                                  cls, c->unsupported);
        }
        *value = c->value;
        if (c->read_args) {
            return c->read_args(cfg, sec, args, value);
        }
        char awhat[64];
        snprintf(awhat, sizeof awhat, "%s.args", def->key);
        return check_no_args(args, awhat);
    }
    return pdi_node_error(cn, "%s: unknown class '%s' (expected %s)", def->key, cn->scalar,
                          def->expected);
}

static int load_cache_validation(pd_config *cfg, const pd_cfg_node *sec)
{
    static const char *const keys[] = {"mode", "disable_cache_function", "ignore_task_version",
                                       NULL};
    int rc = pdi_check_keys(sec, "cache_validation", keys);
    if (rc) {
        return rc;
    }
    const pd_cfg_node *m = pd_cfg_get(sec, "mode");
    if (m && m->type != PD_CFG_NULL) {
        static const char *const modes[] = {"normal",
                                            "assert_no_fresh_input",
                                            "ignore_fresh_input",
                                            "force_fresh_input",
                                            "force_cache_invalid",
                                            NULL};
        if (m->type != PD_CFG_SCALAR) {
            return pdi_node_error(m, "cache_validation.mode must be a string");
        }
        char *lower = pdi_str_lower(m->scalar);
        if (!lower) {
            return PD_ERR_NOMEM;
        }
        bool ok = false;
        for (const char *const *k = modes; *k; k++) {
            ok = ok || !strcmp(*k, lower);
        }
        if (!ok) {
            free(lower);
            return pdi_node_error(m,
                                  "cache_validation.mode '%s' is not one of normal, "
                                  "assert_no_fresh_input, ignore_fresh_input, "
                                  "force_fresh_input, force_cache_invalid",
                                  m->scalar);
        }
        free(cfg->cache_mode);
        cfg->cache_mode = lower;
    }
    if ((rc = opt_bool(sec, "disable_cache_function", &cfg->disable_cache_function)) ||
        (rc = opt_bool(sec, "ignore_task_version", &cfg->ignore_task_version))) {
        return rc;
    }
    if (cfg->disable_cache_function && !strcmp(cfg->cache_mode, "normal")) {
        return pdi_node_error(pd_cfg_get(sec, "disable_cache_function"),
                              "cache_validation: disable_cache_function: true is not allowed "
                              "with mode 'normal' (use e.g. force_cache_invalid or "
                              "ignore_fresh_input)");
    }
    return PD_OK;
}

static const char *const instance_keys[] = {"instance_id",
                                            "fail_fast",
                                            "table_store",
                                            "stage_commit_technique",
                                            "lock_manager",
                                            "blob_store",
                                            "orchestration",
                                            "cache_validation",
                                            "attrs",
                                            "network_interface",
                                            "auto_table",
                                            "auto_blob",
                                            "disable_kroki",
                                            "kroki_url",
                                            "per_user_template",
                                            "strict_result_get_locking",
                                            "visualization",
                                            "technical_setup",
                                            "tags",
                                            "stage_tags",
                                            NULL};

static int check_misc(const pd_cfg_node *inst)
{
    int rc;
    bool b;
    static const char *const bools[] = {"disable_kroki", "strict_result_get_locking", NULL};
    for (const char *const *k = bools; *k; k++) {
        if ((rc = opt_bool(inst, *k, &b)) != PD_OK) {
            return rc;
        }
    }
    static const char *const strs[] = {"network_interface", "kroki_url", "per_user_template", NULL};
    for (const char *const *k = strs; *k; k++) {
        const pd_cfg_node *n = pd_cfg_get(inst, *k);
        if (n && n->type != PD_CFG_SCALAR && n->type != PD_CFG_NULL) {
            return pdi_node_error(n, "'%s' must be a string", *k);
        }
    }
    static const char *const lists[] = {"auto_table", "auto_blob", NULL};
    for (const char *const *k = lists; *k; k++) {
        const pd_cfg_node *n = pd_cfg_get(inst, *k);
        if (!n || n->type == PD_CFG_NULL) {
            continue;
        }
        if (n->type != PD_CFG_LIST) {
            return pdi_node_error(n, "'%s' must be a list of class names", *k);
        }
        for (size_t i = 0; i < n->n; i++) {
            if (n->items[i]->type != PD_CFG_SCALAR) {
                return pdi_node_error(n->items[i], "'%s' entries must be class names", *k);
            }
        }
    }
    const pd_cfg_node *v = pd_cfg_get(inst, "visualization");
    if (v && v->type != PD_CFG_NULL && v->type != PD_CFG_MAP) {
        return pdi_node_error(v, "'visualization' must be a mapping");
    }
    const pd_cfg_node *at = pd_cfg_get(inst, "attrs");
    if (at && at->type != PD_CFG_NULL && at->type != PD_CFG_MAP) {
        return pdi_node_error(at, "'attrs' must be a mapping");
    }
    return PD_OK;
}

/* `<section>.<conn_key>: X` merges `<conns_key>.X` under the section. */
static int resolve_connection(pdi_arena *a,
                              const pd_cfg_node *doc,
                              pd_cfg_node *parent,
                              const char *section,
                              const char *conn_key,
                              const char *conns_key)
{
    for (size_t i = 0; i < parent->n; i++) {
        if (strcmp(parent->keys[i], section) != 0 || parent->items[i]->type != PD_CFG_MAP) {
            continue;
        }
        pd_cfg_node *sec = parent->items[i];
        const pd_cfg_node *ref = pd_cfg_get(sec, conn_key);
        if (!ref) {
            return PD_OK;
        }
        if (ref->type != PD_CFG_SCALAR) {
            return pdi_node_error(ref, "'%s' must be a name", conn_key);
        }
        const pd_cfg_node *conns = pd_cfg_get(doc, conns_key);
        const pd_cfg_node *conn = pd_cfg_get(conns, ref->scalar);
        if (!conn) {
            return pdi_node_error(ref, "%s '%s' is not defined in top-level '%s'", conn_key,
                                  ref->scalar, conns_key);
        }
        /* section without the reference key */
        pd_cfg_node *stripped = pdi_node_new(a, PD_CFG_MAP, sec->file, sec->line, sec->column);
        if (!stripped) {
            return PD_ERR_NOMEM;
        }
        for (size_t j = 0; j < sec->n; j++) {
            if (strcmp(sec->keys[j], conn_key) != 0 &&
                pdi_node_map_add_at(stripped, sec->keys[j], pdi_key_node(sec, j), sec->items[j]) !=
                    PD_OK) {
                return PD_ERR_NOMEM;
            }
        }
        pd_cfg_node *m = pdi_merge(a, conn, stripped);
        if (!m) {
            return PD_ERR_NOMEM;
        }
        parent->items[i] = m;
        return PD_OK;
    }
    return PD_OK;
}

/* ------------------------------------------------------------------- load */

static int choose_instance(const pd_cfg_node *instances,
                           const char *instance,
                           bool strict,
                           const char **chosen)
{
    if (instance) {
        if (pd_cfg_get(instances, instance) || !strict) {
            *chosen = instance;
            return PD_OK;
        }
        pd_buf b = PD_BUF_INIT;
        for (size_t i = 0; i < instances->n; i++) {
            if (strcmp(instances->keys[i], "__any__") != 0) {
                pdi_buf_printf(&b, "%s%s", b.len ? ", " : "", instances->keys[i]);
            }
        }
        int rc = pdi_node_error(instances, "instance '%s' not found (known: %s)", instance,
                                b.data ? b.data : "none");
        pdi_buf_free(&b);
        return rc;
    }
    if (pd_cfg_get(instances, "default")) {
        *chosen = "default";
        return PD_OK;
    }
    const char *only = NULL;
    size_t count = 0;
    for (size_t i = 0; i < instances->n; i++) {
        if (strcmp(instances->keys[i], "__any__") != 0) {
            only = instances->keys[i];
            count++;
        }
    }
    if (count == 1) {
        *chosen = only;
        return PD_OK;
    }
    if (count == 0) {
        *chosen = "__any__";
        return PD_OK;
    }
    pd_buf b = PD_BUF_INIT;
    for (size_t i = 0; i < instances->n; i++) {
        if (strcmp(instances->keys[i], "__any__") != 0) {
            pdi_buf_printf(&b, "%s%s", b.len ? ", " : "", instances->keys[i]);
        }
    }
    int rc = pdi_node_error(instances, "several instances (%s): choose one with --instance",
                            b.data ? b.data : "");
    pdi_buf_free(&b);
    return rc;
}

static int load_doc(pd_config *cfg, pdi_arena *a, const pd_cfg_node *doc, const char *instance)
{
    int rc;
    if (!doc) {
        return pd_set_error(PD_ERR_CONFIG, "%s: empty config file", cfg->path ? cfg->path : "");
    }
    if (doc->type != PD_CFG_MAP) {
        return pdi_node_error(doc, "the config must be a mapping with 'instances:'");
    }
    static const char *const top[] = {"name",
                                      "strict_instance_lookup",
                                      "instances",
                                      "flows",
                                      "technical_setups",
                                      "table_store_connections",
                                      "blob_store_connections",
                                      NULL};
    if ((rc = pdi_check_keys(doc, "the top level", top)) != PD_OK) {
        return rc;
    }
    cfg->name = NULL;
    if ((rc = opt_str(doc, "name", &cfg->name)) != PD_OK) {
        return rc;
    }
    if (!cfg->name && !(cfg->name = pdi_strdup("pipedag"))) {
        return PD_ERR_NOMEM;
    }
    bool strict = true;
    if ((rc = opt_bool(doc, "strict_instance_lookup", &strict)) != PD_OK) {
        return rc;
    }
    const pd_cfg_node *instances = pd_cfg_get(doc, "instances");
    if (!instances) {
        return pdi_node_error(doc, "missing 'instances:' section");
    }
    if (instances->type != PD_CFG_MAP) {
        return pdi_node_error(instances, "'instances' must be a mapping of instance names");
    }
    for (size_t i = 0; i < instances->n; i++) {
        const pd_cfg_node *n = instances->items[i];
        if (n->type != PD_CFG_MAP && n->type != PD_CFG_NULL) {
            return pdi_node_error(n, "instance '%s' must be a mapping", instances->keys[i]);
        }
        if (n->type == PD_CFG_MAP) {
            char what[300];
            snprintf(what, sizeof what, "instance '%s'", instances->keys[i]);
            if ((rc = pdi_check_keys(n, what, instance_keys)) != PD_OK) {
                return rc;
            }
        }
    }
    const pd_cfg_node *flows = pd_cfg_get(doc, "flows");
    if (flows && flows->type != PD_CFG_NULL) {
        /* refuse rather than silently ignore per-flow overrides */
        return pdi_node_error(flows, "per-flow sections ('flows:') are not supported by "
                                     "pipedag-c; put the settings under 'instances:'");
    }
    const char *chosen = NULL;
    if ((rc = choose_instance(instances, instance, strict, &chosen)) != PD_OK) {
        return rc;
    }
    if (!(cfg->instance = pdi_strdup(chosen))) {
        return PD_ERR_NOMEM;
    }
    const pd_cfg_node *any = pd_cfg_get(instances, "__any__");
    const pd_cfg_node *mine = strcmp(chosen, "__any__") ? pd_cfg_get(instances, chosen) : NULL;
    if (any && any->type == PD_CFG_NULL) {
        any = NULL;
    }
    if (mine && mine->type == PD_CFG_NULL) {
        mine = NULL;
    }
    pd_cfg_node *inst = pdi_merge(a, any, mine);
    if (!inst) {
        inst = pdi_node_new(a, PD_CFG_MAP, doc->file, doc->line, doc->column);
    }
    if (!inst) {
        return PD_ERR_NOMEM;
    }
    /* technical_setup: X -> merge technical_setups.X under the instance */
    const pd_cfg_node *ts = pd_cfg_get(inst, "technical_setup");
    if (ts) {
        if (ts->type != PD_CFG_SCALAR) {
            return pdi_node_error(ts, "'technical_setup' must be a name");
        }
        const pd_cfg_node *setup = pd_cfg_get(pd_cfg_get(doc, "technical_setups"), ts->scalar);
        if (!setup) {
            return pdi_node_error(ts,
                                  "technical_setup '%s' is not defined in top-level "
                                  "'technical_setups'",
                                  ts->scalar);
        }
        if (setup->type != PD_CFG_MAP) {
            return pdi_node_error(setup, "technical setup '%s' must be a mapping", ts->scalar);
        }
        if ((rc = pdi_check_keys(setup, "technical setup", instance_keys)) != PD_OK) {
            return rc;
        }
        inst = pdi_merge(a, setup, inst);
        if (!inst) {
            return PD_ERR_NOMEM;
        }
    }
    if ((rc = resolve_connection(a, doc, inst, "table_store", "table_store_connection",
                                 "table_store_connections")) ||
        (rc = resolve_connection(a, doc, inst, "blob_store", "blob_store_connection",
                                 "blob_store_connections"))) {
        return rc;
    }
    pd_cfg_node *tsec = (pd_cfg_node *)pd_cfg_get(inst, "table_store");
    if (tsec && tsec->type == PD_CFG_MAP &&
        (rc = resolve_connection(a, doc, tsec, "metadata_table_store", "table_store_connection",
                                 "table_store_connections")) != PD_OK) {
        return rc;
    }
    cfg->root = inst;

    /* environment variables everywhere, then instance_id, then placeholders */
    if ((rc = expand_env_tree(inst)) != PD_OK) {
        return rc;
    }
    const pd_cfg_node *iid = pd_cfg_get(inst, "instance_id");
    if (iid && iid->type != PD_CFG_NULL) {
        if (iid->type != PD_CFG_SCALAR || !iid->scalar[0]) {
            return pdi_node_error(iid, "'instance_id' must be a non-empty string");
        }
        cfg->instance_id = pdi_strdup(iid->scalar);
    } else {
        cfg->instance_id = pdi_strdup("pipeline");
    }
    char *user = username();
    if (!cfg->instance_id || !user) {
        free(user);
        return PD_ERR_NOMEM;
    }
    placeholders ph = {cfg->instance_id, cfg->name, user};
    rc = expand_placeholders_tree(inst, &ph);
    free(user);
    if (rc != PD_OK) {
        return rc;
    }

    /* typed sections (built-in defaults for the absent ones) */
    if ((rc = opt_bool(inst, "fail_fast", &cfg->fail_fast)) != PD_OK) {
        return rc;
    }
    const pd_cfg_node *sct = pd_cfg_get(inst, "stage_commit_technique");
    if (sct && sct->type != PD_CFG_NULL) {
        if (sct->type == PD_CFG_SCALAR && pdi_str_ieq(sct->scalar, "schema_swap")) {
            cfg->stage_commit_technique = PD_COMMIT_SCHEMA_SWAP;
        } else if (sct->type == PD_CFG_SCALAR && pdi_str_ieq(sct->scalar, "read_views")) {
            cfg->stage_commit_technique = PD_COMMIT_READ_VIEWS;
        } else {
            return pdi_node_error(sct, "stage_commit_technique must be SCHEMA_SWAP or "
                                       "READ_VIEWS");
        }
    }
    if (!tsec || tsec->type == PD_CFG_NULL) {
        return pdi_node_error(inst, "instance '%s': missing 'table_store' section", chosen);
    }
    if (tsec->type != PD_CFG_MAP) {
        return pdi_node_error(tsec, "'table_store' must be a mapping");
    }
    if ((rc = load_store(a, cfg->path, tsec, &cfg->table_store, false)) != PD_OK) {
        return rc;
    }
    /* ParquetTableStore: the catalog is a DuckDB file, and the stage
     * transaction is READ_VIEWS only (files never move). */
    if (cfg->table_store.klass == PD_STORE_PARQUET) {
        const pd_cfg_node *u = pd_cfg_get(cfg->table_store.args, "url");
        if (!pdi_str_eq(cfg->table_store.dialect, "duckdb")) {
            return pdi_node_error(u ? u : tsec,
                                  "ParquetTableStore: 'url' must name the DuckDB catalog file "
                                  "(duckdb:////abs/path/{instance_id}.duckdb), not '%s'",
                                  cfg->table_store.url);
        }
        if (sct && sct->type == PD_CFG_SCALAR &&
            cfg->stage_commit_technique == PD_COMMIT_SCHEMA_SWAP) {
            return pdi_node_error(sct, "stage_commit_technique SCHEMA_SWAP is not possible with "
                                       "ParquetTableStore: it supports only READ_VIEWS (tables "
                                       "are files that are never moved, and its DuckDB catalog "
                                       "cannot rename schemas)");
        }
        cfg->stage_commit_technique = PD_COMMIT_READ_VIEWS;
    }
    /* DuckDB has no ALTER SCHEMA .. RENAME: its stores commit by READ_VIEWS,
     * which is also their default. */
    if (pdi_str_eq(cfg->table_store.dialect, "duckdb")) {
        if (sct && sct->type == PD_CFG_SCALAR &&
            cfg->stage_commit_technique == PD_COMMIT_SCHEMA_SWAP) {
            return pdi_node_error(sct, "stage_commit_technique SCHEMA_SWAP is not possible with a "
                                       "DuckDB table store: DuckDB cannot rename schemas (use "
                                       "READ_VIEWS, the default for DuckDB)");
        }
        cfg->stage_commit_technique = PD_COMMIT_READ_VIEWS;
    }
    int lock, blob, workers;
    if ((rc = load_section(cfg, inst, &lock_section, &lock)) != PD_OK ||
        (rc = load_section(cfg, inst, &blob_section, &blob)) != PD_OK ||
        (rc = load_section(cfg, inst, &engine_section, &workers)) != PD_OK) {
        return rc;
    }
    cfg->lock_manager = (pd_lock_class)lock;
    cfg->blob_store = (pd_blob_class)blob;
    cfg->engine_workers = workers;
    /* default paths of the file-based lock manager and blob store */
    if ((cfg->lock_manager == PD_LOCK_FILE && !cfg->lock_base_path &&
         !(cfg->lock_base_path = pdi_strdup(".pipedag/locks"))) ||
        (cfg->blob_store == PD_BLOB_FILE && !cfg->blob_base_path &&
         !(cfg->blob_base_path = pdi_strdup(".pipedag/blobs")))) {
        return PD_ERR_NOMEM;
    }
    const pd_cfg_node *sec;
    if (!(cfg->cache_mode = pdi_strdup("normal"))) {
        return PD_ERR_NOMEM;
    }
    if ((sec = pd_cfg_get(inst, "cache_validation")) && sec->type != PD_CFG_NULL) {
        if ((rc = load_cache_validation(cfg, sec)) != PD_OK) {
            return rc;
        }
    }
    if ((rc = check_misc(inst)) != PD_OK) {
        return rc;
    }
    const pd_cfg_node *attrs = pd_cfg_get(inst, "attrs");
    cfg->attrs = attrs && attrs->type == PD_CFG_MAP ? attrs : NULL;
    return PD_OK;
}

/* An empty config owning `path` (may be NULL; freed here when out of memory). */
static pd_config *config_new(char *path)
{
    pd_config *cfg = pdi_calloc(1, sizeof *cfg);
    cfg_priv *priv = pdi_calloc(1, sizeof *priv);
    if (!cfg || !priv) {
        free(cfg);
        free(priv);
        free(path);
        return NULL;
    }
    cfg->priv = priv;
    cfg->path = path;
    return cfg;
}

/* After parsing (status `rc`, tree `doc`): resolve the instance and hand the
 * config to *out, or free it. */
static int
config_finish(pd_config *cfg, int rc, const pd_cfg_node *doc, const char *instance, pd_config **out)
{
    if (rc == PD_OK) {
        rc = load_doc(cfg, &((cfg_priv *)cfg->priv)->arena, doc, instance);
    }
    if (rc != PD_OK) {
        pd_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return PD_OK;
}

int pd_config_load(const char *path, const char *instance, pd_config **out)
{
    if (!out) {
        return pd_set_error(PD_ERR_INVALID, "pd_config_load: out is NULL");
    }
    *out = NULL;
    char *file = NULL;
    int rc = discover(path, &file);
    if (rc != PD_OK) {
        return rc;
    }
    pd_config *cfg = config_new(file);
    if (!cfg) {
        return PD_ERR_NOMEM;
    }
    cfg_priv *priv = cfg->priv;
    pd_cfg_node *doc = NULL;
    if (file) {
        rc = pdi_yaml_parse_file(&priv->arena, file, &doc);
    } else {
        char *text = pdi_config_default_yaml("pipedag", "default");
        rc = text ? pdi_yaml_parse(&priv->arena, DEFAULT_FILE, text, strlen(text), &doc)
                  : PD_ERR_NOMEM;
        free(text);
    }
    return config_finish(cfg, rc, doc, instance, out);
}

int pdi_config_load_text(
    const char *file, const char *text, size_t len, const char *instance, pd_config **out)
{
    *out = NULL;
    char *path = pdi_strdup(file ? file : "<string>");
    pd_config *cfg = path ? config_new(path) : NULL;
    if (!cfg) {
        return PD_ERR_NOMEM;
    }
    cfg_priv *priv = cfg->priv;
    pd_cfg_node *doc = NULL;
    int rc = pdi_yaml_parse(&priv->arena, cfg->path, text, len, &doc);
    return config_finish(cfg, rc, doc, instance, out);
}

void pd_config_free(pd_config *cfg)
{
    if (!cfg) {
        return;
    }
    free(cfg->path);
    free(cfg->name);
    free(cfg->instance);
    free(cfg->instance_id);
    store_config_clear(&cfg->table_store);
    free(cfg->lock_base_path);
    free(cfg->blob_base_path);
    free(cfg->cache_mode);
    cfg_priv *priv = cfg->priv;
    if (priv) {
        pdi_arena_free(&priv->arena);
        free(priv);
    }
    free(cfg);
}
