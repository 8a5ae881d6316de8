/*
 * config/cfg_int.h - internals shared by the pipedag.yaml loader and the
 * flow-file loader: a YAML node tree (libyaml events) that remembers
 * file:line:column for every node, an arena that owns all nodes, deep merge,
 * and "file:line:column: message" error helpers.
 */
#ifndef PD_CFG_INT_H
#define PD_CFG_INT_H

#include "pipedag/config.h"
#include "util/util.h"
#include <stdbool.h>

/* Owns every node and every file-name string of one loaded document set. */
typedef struct pdi_arena {
    pd_cfg_node **nodes;
    size_t n, cap;
    pd_strv files;
} pdi_arena;

void pdi_arena_free(pdi_arena *a);
pd_cfg_node *pdi_node_new(pdi_arena *a, pd_cfg_type type, const char *file, int line, int col);
/* Append to a map (key copied) or a list. */
int pdi_node_map_add(pd_cfg_node *map, const char *key, pd_cfg_node *val);
/* Same, remembering the key's own node (for "unknown key" positions). */
int pdi_node_map_add_at(pd_cfg_node *map,
                        const char *key,
                        const pd_cfg_node *key_node,
                        pd_cfg_node *val);
/* Position node of the i-th key (the key scalar, else the value). */
const pd_cfg_node *pdi_key_node(const pd_cfg_node *map, size_t i);
int pdi_node_list_add(pd_cfg_node *list, pd_cfg_node *val);
/* Interned file name (owned by the arena). */
const char *pdi_arena_file(pdi_arena *a, const char *path);

/* Parse YAML text (one document; empty -> NULL root). `file` is used for
 * positions. Anchors/aliases and `<<` merge keys are supported; duplicate
 * keys and non-scalar keys are errors. */
int pdi_yaml_parse(
    pdi_arena *a, const char *file, const char *text, size_t len, pd_cfg_node **root);
int pdi_yaml_parse_file(pdi_arena *a, const char *path, pd_cfg_node **root);

/* Deep merge: maps merged key by key (over wins), anything else replaced by
 * `over`. New nodes in the arena; inputs unchanged. */
pd_cfg_node *pdi_merge(pdi_arena *a, const pd_cfg_node *base, const pd_cfg_node *over);
/* Deep copy. */
pd_cfg_node *pdi_copy(pdi_arena *a, const pd_cfg_node *n);

/* Error at a node: "file:line:column: message" (PD_ERR_CONFIG). */
int pdi_node_error(const pd_cfg_node *n, const char *fmt, ...) PD_PRINTF(2, 3);
const char *pdi_cfg_type_name(pd_cfg_type t);

/* Typed accessors: error (naming the node) on a wrong type. */
int pdi_get_bool(const pd_cfg_node *n, bool *out);
int pdi_get_int(const pd_cfg_node *n, long *out);
int pdi_get_str(const pd_cfg_node *n, const char **out); /* scalar (not null) */
/* Check that every key of `map` is in the NULL-terminated list `allowed`. */
int pdi_check_keys(const pd_cfg_node *map, const char *what, const char *const *allowed);
int pdi_expect(const pd_cfg_node *n, pd_cfg_type t, const char *what);

/* A task's `load:` body (flow_load_opts.c): the file or glob resolved against
 * dir, the loader's options JSON (NULL = defaults) and, for a glob making one
 * table per file, the tables' names appended to `tables`. */
int pdi_flow_load_spec(const pd_cfg_node *body,
                       const char *task,
                       const char *dir,
                       char **abs_path,
                       char **opts_json,
                       pd_strv *tables);

/* The built-in default pipedag.yaml (SQLite store, file locks and blobs
 * under ./.pipedag/, sequential engine) with top-level `name` and the
 * instance_id of its one instance "default" (plain YAML words); the config
 * used when no file is found is pdi_config_default_yaml("pipedag",
 * "default"). Caller frees; NULL when out of memory. */
char *pdi_config_default_yaml(const char *name, const char *instance_id);

/* pd_config_load on YAML text instead of a file (`file` names it in
 * messages; relative url_attrs_file paths are resolved against it). */
int pdi_config_load_text(
    const char *file, const char *text, size_t len, const char *instance, pd_config **out);

#endif
