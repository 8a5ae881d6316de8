/*
 * config/dump.c - pd_config_dump: the resolved instance as YAML text for
 * `pipedag config`. Passwords in URLs are masked and values of keys that look
 * like secrets (password, secret, token, key ids) are replaced by "***", so
 * the output can be pasted into bug reports.
 */
#include "config/cfg_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool secret_key(const char *k)
{
    static const char *const words[] = {"password",   "passwd",     "secret", "token",
                                        "access_key", "credential", NULL};
    char *l = pdi_str_lower(k);
    bool hit = false;
    for (const char *const *w = words; l && *w && !hit; w++) {
        hit = strstr(l, *w) != NULL;
    }
    free(l);
    return hit;
}

static bool needs_quotes(const char *s)
{
    if (!*s) {
        return true;
    }
    if (isspace((unsigned char)s[0]) || isspace((unsigned char)s[strlen(s) - 1])) {
        return true;
    }
    if (strchr("!&*-?{}[]|>'\"%@`#,:~", s[0])) {
        return true;
    }
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == '"' || c == '\\' || (c == ':' && (p[1] == ' ' || !p[1])) ||
            (c == '#' && p > s && p[-1] == ' ') || c == '{' || c == '}') {
            return true;
        }
    }
    return false;
}

static void put_scalar(pd_buf *b, const pd_cfg_node *n, const char *key)
{
    if (n->type == PD_CFG_NULL) {
        pdi_buf_puts(b, "null");
        return;
    }
    char *masked = NULL;
    const char *s = n->scalar;
    if (key && secret_key(key)) {
        s = "***";
    } else if (strstr(s, "://")) {
        masked = pdi_url_mask_password(s);
        s = masked ? masked : "***";
    }
    if (!n->quoted && !needs_quotes(s)) {
        pdi_buf_puts(b, s);
    } else {
        pdi_json_escape(b, s, strlen(s));
    }
    free(masked);
}

static void put_key(pd_buf *b, const char *k)
{
    if (needs_quotes(k)) {
        pdi_json_escape(b, k, strlen(k));
    } else {
        pdi_buf_puts(b, k);
    }
}

static void emit(pd_buf *b, const pd_cfg_node *n, int indent, const char *key);

static void emit_value_after_key(pd_buf *b, const pd_cfg_node *v, int indent, const char *key)
{
    if ((v->type == PD_CFG_MAP || v->type == PD_CFG_LIST) && v->n > 0) {
        pdi_buf_putc(b, '\n');
        emit(b, v, indent, key);
    } else if (v->type == PD_CFG_MAP) {
        pdi_buf_puts(b, " {}\n");
    } else if (v->type == PD_CFG_LIST) {
        pdi_buf_puts(b, " []\n");
    } else {
        pdi_buf_putc(b, ' ');
        put_scalar(b, v, key);
        pdi_buf_putc(b, '\n');
    }
}

static void emit(pd_buf *b, const pd_cfg_node *n, int indent, const char *key)
{
    if (n->type == PD_CFG_MAP) {
        for (size_t i = 0; i < n->n; i++) {
            pdi_buf_printf(b, "%*s", indent, "");
            put_key(b, n->keys[i]);
            pdi_buf_putc(b, ':');
            emit_value_after_key(b, n->items[i], indent + 2, n->keys[i]);
        }
    } else if (n->type == PD_CFG_LIST) {
        for (size_t i = 0; i < n->n; i++) {
            const pd_cfg_node *it = n->items[i];
            pdi_buf_printf(b, "%*s-", indent, "");
            if ((it->type == PD_CFG_MAP || it->type == PD_CFG_LIST) && it->n > 0) {
                pdi_buf_putc(b, '\n');
                emit(b, it, indent + 2, key);
            } else {
                emit_value_after_key(b, it, indent + 2, key);
            }
        }
    } else {
        pdi_buf_printf(b, "%*s", indent, "");
        put_scalar(b, n, key);
        pdi_buf_putc(b, '\n');
    }
}

char *pd_config_dump(const pd_config *cfg)
{
    if (!cfg) {
        return NULL;
    }
    pd_buf b = PD_BUF_INIT;
    pdi_buf_printf(&b, "# config: %s\n", cfg->path ? cfg->path : "(built-in default)");
    pdi_buf_printf(&b, "# instance: %s\n", cfg->instance ? cfg->instance : "");
    pdi_buf_printf(&b, "# dialect: %s\n", cfg->table_store.dialect ? cfg->table_store.dialect : "");
    pdi_buf_puts(&b, "name: ");
    pd_cfg_node tmp = {0};
    tmp.type = PD_CFG_SCALAR;
    tmp.scalar = cfg->name ? cfg->name : (char *)"pipedag";
    put_scalar(&b, &tmp, "name");
    pdi_buf_puts(&b, "\ninstance: ");
    tmp.scalar = cfg->instance ? cfg->instance : (char *)"";
    put_scalar(&b, &tmp, "instance");
    pdi_buf_puts(&b, "\ninstance_id: ");
    tmp.scalar = cfg->instance_id ? cfg->instance_id : (char *)"";
    put_scalar(&b, &tmp, "instance_id");
    pdi_buf_printf(&b, "\nfail_fast: %s\n", cfg->fail_fast ? "true" : "false");
    pdi_buf_printf(&b, "stage_commit_technique: %s\n",
                   cfg->stage_commit_technique == PD_COMMIT_READ_VIEWS ? "READ_VIEWS"
                                                                       : "SCHEMA_SWAP");
    pdi_buf_printf(&b,
                   "cache_validation:\n  mode: %s\n  disable_cache_function: %s\n"
                   "  ignore_task_version: %s\n",
                   cfg->cache_mode ? cfg->cache_mode : "normal",
                   cfg->disable_cache_function ? "true" : "false",
                   cfg->ignore_task_version ? "true" : "false");
    pdi_buf_printf(&b, "engine_workers: %d\n", cfg->engine_workers);
    if (cfg->root && cfg->root->type == PD_CFG_MAP) {
        /* the merged instance section, minus what was printed above */
        for (size_t i = 0; i < cfg->root->n; i++) {
            const char *k = cfg->root->keys[i];
            if (!strcmp(k, "instance_id") || !strcmp(k, "fail_fast") ||
                !strcmp(k, "stage_commit_technique") || !strcmp(k, "cache_validation")) {
                continue;
            }
            put_key(&b, k);
            pdi_buf_putc(&b, ':');
            emit_value_after_key(&b, cfg->root->items[i], 2, k);
        }
    }
    return pdi_buf_detach(&b);
}
