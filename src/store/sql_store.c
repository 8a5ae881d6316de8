/*
 * store/sql_store.c - the SQL table store: lifecycle, connection pool,
 * stage transactions, tables, and the hook registry.
 *
 * Dialect (SQL text) and connector (execution) come from store/sql.h. On
 * SQLite a schema is a file <dir>/<schema>.sqlite and a SCHEMA_SWAP commit
 * is a crash-safe file rename guarded by a journal row in the metadata
 * (docs/stores.md lists the crash points). Metadata access is in
 * sql_meta.c; the default hooks in sql_hooks.c.
 */
#include "store/parquet/parquet_store.h"
#include "store/pg_store.h"
#include "store/sql_int.h"
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------- helpers */

char *pdi_phys(pd_store *s, const char *logical)
{
    return pdi_sql_physical_schema(s->prefix, logical, s->suffix);
}

char *pd_store_sql_name(pd_store *s, const char *schema, const char *name)
{
    char *ph = pdi_phys(s, schema);
    if (!ph)
        return NULL;
    char *r = pdi_sql_qualified(s->d, ph, name);
    free(ph);
    return r;
}

static char *schema_file(pd_store *s, const char *phys)
{
    return pd_asprintf("%s/%s.sqlite", s->dir, phys);
}

/* ---------------------------------------------------------------- pool */

static int open_conn(pd_store *s, pdi_conn **out)
{
    int rc;
    if (s->is_sqlite)
        rc = pdi_sqlite_conn_open_dir(s->dir, out);
    else
        rc = s->open_fn(s->sc, out);
    if (rc == PD_OK)
        (*out)->print_sql = s->print_sql;
    if (rc == PD_OK && s->pq && (rc = pdi_pq_store_conn_ready(s, *out)) != PD_OK) {
        (*out)->ops->close(*out);
        *out = NULL;
    }
    return rc;
}

int pdi_pool_get(pd_store *s, pdi_conn **out)
{
    *out = NULL;
    pthread_mutex_lock(&s->pool_mu);
    for (;;) {
        for (size_t i = 0; i < s->npool; i++) {
            if (!s->pool[i].conn->in_use) {
                pdi_pooled *p = &s->pool[i];
                p->conn->in_use = true;
                /* detaches requested while the connection was busy */
                pd_strv pend = p->pending;
                memset(&p->pending, 0, sizeof p->pending);
                pthread_mutex_unlock(&s->pool_mu);
                for (size_t k = 0; k < pend.n; k++)
                    pdi_sqlite_conn_detach(p->conn, pend.items[k]);
                pd_strv_free(&pend);
                *out = p->conn;
                return PD_OK;
            }
        }
        if (s->npool < PDI_POOL_MAX) {
            pdi_conn *c = NULL;
            int rc = open_conn(s, &c);
            if (rc) {
                pthread_mutex_unlock(&s->pool_mu);
                return rc;
            }
            c->in_use = true;
            s->pool[s->npool].conn = c;
            memset(&s->pool[s->npool].pending, 0, sizeof(pd_strv));
            s->npool++;
            pthread_mutex_unlock(&s->pool_mu);
            *out = c;
            return PD_OK;
        }
        pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    }
}

void pdi_pool_put(pd_store *s, pdi_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&s->pool_mu);
    c->in_use = false;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

/* SQLite: make every pooled connection (and the metadata connection)
 * forget `phys`, now for idle ones, at next checkout for busy ones. */
static int detach_everywhere(pd_store *s, const char *phys)
{
    if (!s->is_sqlite)
        return PD_OK;
    int rc = PD_OK;
    pthread_mutex_lock(&s->pool_mu);
    for (size_t i = 0; i < s->npool; i++) {
        pdi_pooled *p = &s->pool[i];
        if (p->conn->in_use) {
            if (!pd_strv_contains(&p->pending, phys))
                pd_strv_push(&p->pending, phys);
        } else {
            int r = pdi_sqlite_conn_detach(p->conn, phys);
            if (r && !rc)
                rc = r;
        }
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (s->meta && s->meta_is_sqlite && !s->separate_meta) {
        pthread_mutex_lock(&s->meta_mu);
        pdi_sqlite_conn_detach(s->meta, phys);
        pthread_mutex_unlock(&s->meta_mu);
    }
    return rc;
}

/* Run one statement on a pooled connection. */
int pdi_exec(pd_store *s, const char *sql)
{
    pdi_conn *c;
    int rc = pdi_pool_get(s, &c);
    if (rc)
        return rc;
    rc = c->ops->exec(c, sql);
    pdi_pool_put(s, c);
    return rc;
}

int pdi_exec_free(pd_store *s, char *sql)
{
    if (!sql)
        return PD_ERR_NOMEM;
    int rc = *sql ? pdi_exec(s, sql) : PD_OK;
    free(sql);
    return rc;
}

/* ----------------------------------------------------------- lifecycle */

static const pd_table_hook *const *default_hooks(size_t *n);

/* The metadata connection: dedicated, so metadata transactions never
 * interleave with table writes; from metadata_table_store if configured. */
static int open_meta(pd_store *s, const pd_store_config *sc)
{
    const pd_store_config *msc = sc->metadata_table_store;
    int rc;
    if (!msc) {
        s->md = s->d;
        s->meta_is_sqlite = s->is_sqlite;
        s->meta_phys = pdi_phys(s, "pipedag_metadata");
        if (!s->meta_phys)
            return PD_ERR_NOMEM;
        return open_conn(s, &s->meta);
    }
    s->separate_meta = true;
    const char *md = msc->dialect;
    if (!md && msc->url && pd_str_starts(msc->url, "sqlite:"))
        md = "sqlite";
    s->md = pdi_dialect_get(md);
    s->meta_is_sqlite = s->md->id == PDI_DIALECT_SQLITE;
    s->meta_phys =
        pdi_sql_physical_schema(msc->schema_prefix, "pipedag_metadata", msc->schema_suffix);
    if (!s->meta_phys)
        return PD_ERR_NOMEM;
    if (s->meta_is_sqlite) {
        rc = pdi_sqlite_url_dir(msc->url ? msc->url : "", &s->meta_dir);
        if (rc == PD_OK)
            rc = pd_mkdir_p(s->meta_dir);
        if (rc == PD_OK)
            rc = pdi_sqlite_conn_open_dir(s->meta_dir, &s->meta);
    } else {
        rc = pdi_connector_for(md ? md : "postgresql")(msc, &s->meta);
    }
    if (rc == PD_OK)
        s->meta->print_sql = msc->print_sql;
    else
        pd_error_prefix("metadata_table_store");
    return rc;
}

/* With a metadata_table_store, the table store's own metadata_version rows
 * are deleted so that switching back later does not trust stale metadata. */
void pdi_forget_local_metadata(pd_store *s)
{
    char *ph = pdi_phys(s, "pipedag_metadata");
    if (!ph)
        return;
    bool ex = false;
    if (pdi_table_exists_phys(s, ph, "metadata_version", &ex) == PD_OK && ex) {
        char *q = pdi_sql_qualified(s->d, ph, "metadata_version");
        char *sql = q ? pd_asprintf("DELETE FROM %s", q) : NULL;
        if (sql && pdi_exec(s, sql) != PD_OK)
            pd_clear_error();
        free(sql);
        free(q);
    }
    pd_clear_error();
    free(ph);
}

int pd_store_open(const pd_config *cfg, pd_store **out)
{
    *out = NULL;
    const pd_store_config *sc = &cfg->table_store;
    if (sc->klass != PD_STORE_SQL && sc->klass != PD_STORE_PARQUET)
        return pd_set_error(PD_ERR_UNSUPPORTED, "%s is not available in this build",
                            sc->class_name ? sc->class_name : "?");
    pd_store *s = pd_calloc(1, sizeof *s);
    if (!s)
        return PD_ERR_NOMEM;
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cv, NULL);
    pthread_mutex_init(&s->meta_mu, NULL);
    pthread_mutex_init(&s->hook_mu, NULL);
    s->sc = sc;
    const char *dialect = sc->dialect;
    if (!dialect && sc->url && pd_str_starts(sc->url, "sqlite:"))
        dialect = "sqlite";
    s->d = pdi_dialect_get(dialect);
    s->dialect_name = pd_strdup(dialect ? dialect : s->d->name);
    s->is_sqlite = s->d->id == PDI_DIALECT_SQLITE;
    s->prefix = pd_strdup(sc->schema_prefix ? sc->schema_prefix : "");
    s->suffix = pd_strdup(sc->schema_suffix ? sc->schema_suffix : "");
    s->desc = pd_url_mask_password(sc->url ? sc->url : "");
    s->print_sql = sc->print_sql;
    s->instance_id = pd_strdup(cfg->instance_id ? cfg->instance_id : "");
    int rc = PD_OK;
    if (!s->dialect_name || !s->prefix || !s->suffix || !s->desc || !s->instance_id) {
        rc = PD_ERR_NOMEM;
        goto fail;
    }
    if (s->is_sqlite) {
        rc = pdi_sqlite_url_dir(sc->url ? sc->url : "sqlite:///.pipedag", &s->dir);
        if (rc)
            goto fail;
        rc = pd_mkdir_p(s->dir);
        if (rc) {
            pd_error_prefix("table store %s", s->desc);
            goto fail;
        }
    } else {
        s->open_fn = pdi_connector_for(s->dialect_name);
    }
    rc = open_meta(s, sc);
    if (rc) {
        pd_error_prefix("table store %s", s->desc);
        goto fail;
    }
    size_t nh;
    const pd_table_hook *const *hooks = default_hooks(&nh);
    for (size_t i = 0; i < nh; i++)
        pd_store_register_hook(s, hooks[i]);
    if (sc->klass == PD_STORE_PARQUET && (rc = pdi_pq_store_open(s, cfg)) != PD_OK) {
        pd_error_prefix("ParquetTableStore (catalog %s)", s->desc);
        goto fail;
    }
    *out = s;
    return PD_OK;
fail:
    pd_store_close(s);
    return rc;
}

void pd_store_close(pd_store *s)
{
    if (!s)
        return;
    if (s->meta && pdi_meta_flush(s) != PD_OK)
        pd_log(PD_LOG_WARN, "%s", pd_last_error());
    pdi_meta_pending_free(s);
    for (size_t i = 0; i < s->npool; i++) {
        s->pool[i].conn->ops->close(s->pool[i].conn);
        pd_strv_free(&s->pool[i].pending);
    }
    if (s->meta)
        s->meta->ops->close(s->meta);
    if (s->pq)
        pdi_pq_store_close(s);
    pdi_meta_sql_free(s);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cv);
    pthread_mutex_destroy(&s->meta_mu);
    pthread_mutex_destroy(&s->hook_mu);
    free(s->hooks);
    free(s->dir);
    free(s->prefix);
    free(s->suffix);
    free(s->desc);
    free(s->dialect_name);
    free(s->instance_id);
    free(s->meta_phys);
    free(s->meta_dir);
    free(s);
}

const char *pd_store_dialect(const pd_store *s)
{
    return s->d->name;
}

const char *pd_store_describe(const pd_store *s)
{
    return s->desc;
}

bool pd_store_supports(const pd_store *s, pd_commit_technique t)
{
    if (t == PD_COMMIT_SCHEMA_SWAP)
        return s->d->schema_swap;
    return s->d->read_views;
}

/* ---------------------------------------------------------- SQLite files */

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return pd_set_error(PD_ERR_IO, "cannot open %s for fsync", path);
    int r = fsync(fd);
    close(fd);
    return r == 0 ? PD_OK : pd_set_error(PD_ERR_IO, "fsync %s failed", path);
}

static int touch_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0)
        return pd_set_error(PD_ERR_IO, "cannot create %s", path);
    close(fd);
    return PD_OK;
}

/* Delete <dir>/<phys>.sqlite and its journal files. */
static int sqlite_drop_file(pd_store *s, const char *phys)
{
    int rc = detach_everywhere(s, phys);
    if (rc)
        return rc;
    static const char *const ext[] = {"", "-journal", "-wal", "-shm"};
    for (size_t i = 0; i < 4; i++) {
        char *f = pd_asprintf("%s/%s.sqlite%s", s->dir, phys, ext[i]);
        if (!f)
            return PD_ERR_NOMEM;
        if (unlink(f) != 0 && errno != ENOENT) {
            rc = pd_set_error(PD_ERR_IO, "cannot delete %s", f);
            free(f);
            return rc;
        }
        free(f);
    }
    return PD_OK;
}

int pdi_create_schema(pd_store *s, const char *logical)
{
    char *ph = pdi_phys(s, logical);
    if (!ph)
        return PD_ERR_NOMEM;
    int rc;
    if (s->is_sqlite) {
        char *f = schema_file(s, ph);
        rc = f ? (pd_path_exists(f) ? PD_OK : touch_file(f)) : PD_ERR_NOMEM;
        free(f);
    } else if (s->sc->avoid_drop_create_schema) {
        rc = PD_OK;
    } else {
        rc = pdi_exec_free(s, pdi_sql_create_schema(s->d, ph));
    }
    free(ph);
    return rc;
}

static int drop_schema_contents(pd_store *s, const char *ph)
{
    pd_strv objs = {0};
    char *q = pdi_sql_list_objects(s->d, ph);
    if (!q)
        return PD_ERR_NOMEM;
    int rc = pdi_query_strv(s, q, &objs);
    free(q);
    for (size_t i = 0; i < objs.n && rc == PD_OK; i++) {
        char *sql = pdi_sql_drop_table(s->d, ph, objs.items[i]);
        rc = pdi_exec_free(s, sql);
        if (rc)
            rc = pdi_exec_free(s, pdi_sql_drop_view(s->d, ph, objs.items[i]));
    }
    pd_strv_free(&objs);
    return rc;
}

int pdi_drop_schema(pd_store *s, const char *logical)
{
    char *ph = pdi_phys(s, logical);
    if (!ph)
        return PD_ERR_NOMEM;
    int rc;
    if (s->is_sqlite)
        rc = sqlite_drop_file(s, ph);
    else if (s->sc->avoid_drop_create_schema || s->d->id == PDI_DIALECT_MSSQL ||
             s->d->id == PDI_DIALECT_DB2) {
        rc = drop_schema_contents(s, ph);
        if (rc == PD_OK && !s->sc->avoid_drop_create_schema)
            rc = pdi_exec_free(s, pdi_sql_drop_schema(s->d, ph));
    } else
        rc = pdi_exec_free(s, pdi_sql_drop_schema(s->d, ph));
    free(ph);
    return rc;
}

/* ---------------------------------------------------------------- stages */

static int tx_name(pd_stage_tx *tx, const char *suffix)
{
    int n = snprintf(tx->transaction_name, sizeof tx->transaction_name, "%s%s", tx->stage, suffix);
    if (n < 0 || (size_t)n >= sizeof tx->transaction_name)
        return pd_set_error(PD_ERR_INVALID, "stage name too long: %s", tx->stage);
    return PD_OK;
}

int pd_store_init_stage(pd_store *s, pd_stage_tx *tx)
{
    int rc;
    if (tx->technique == PD_COMMIT_READ_VIEWS && !s->d->read_views)
        return pd_set_error(PD_ERR_UNSUPPORTED, "READ_VIEWS is not supported by the %s store",
                            s->is_sqlite ? "SQLite" : s->d->name);
    if (tx->technique == PD_COMMIT_SCHEMA_SWAP && !s->d->schema_swap)
        return pd_set_error(PD_ERR_UNSUPPORTED,
                            "SCHEMA_SWAP is not supported by the %s store (use READ_VIEWS)",
                            s->d->name);
    rc = pdi_meta_recover(s, tx->stage);
    if (rc)
        return rc;
    if (tx->technique == PD_COMMIT_READ_VIEWS) {
        char cur[256] = "";
        rc = pdi_meta_get_stage_slot(s, tx->stage, cur, sizeof cur);
        if (rc)
            return rc;
        rc = tx_name(tx, pd_str_ends(cur, "__odd") ? "__even" : "__odd");
    } else {
        rc = tx_name(tx, "__tmp");
    }
    if (rc)
        return rc;
    rc = pdi_create_schema(s, tx->stage);
    if (rc == PD_OK)
        rc = pdi_drop_schema(s, tx->transaction_name);
    if (rc == PD_OK)
        rc = pdi_create_schema(s, tx->transaction_name);
    if (rc == PD_OK && s->pq)
        rc = pdi_pq_store_init_stage(s, tx->stage, tx->transaction_name);
    if (rc == PD_OK)
        rc = pdi_meta_delete_uncommitted(s, tx->stage);
    if (rc)
        pd_error_prefix("init of stage '%s' in %s", tx->stage, s->desc);
    return rc;
}

/* Remove the qualifier `schema.` (bare or quoted, any case) outside string
 * literals: a view stored in <stage>__tmp.sqlite that names its own
 * schema would break once the file is published as <stage>.sqlite. */
static char *strip_qualifier(const char *sql, const char *schema)
{
    pd_buf b = {0};
    size_t n = strlen(schema);
    const char *p = sql;
    while (*p) {
        if (*p == '\'') {
            const char *e = pdi_sql_skip_quoted(p);
            pd_buf_append(&b, p, (size_t)(e - p));
            p = e;
            continue;
        }
        bool boundary = p == sql || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        if (boundary) {
            char open = *p, close = 0;
            if (open == '"' || open == '`')
                close = open;
            else if (open == '[')
                close = ']';
            const char *id = close ? p + 1 : p;
            if (strncasecmp(id, schema, n) == 0) {
                const char *after = id + n;
                if (close && *after == close && after[1] == '.') {
                    p = after + 2;
                    continue;
                }
                if (!close && *after == '.') {
                    p = after + 1;
                    continue;
                }
            }
        }
        pd_buf_putc(&b, *p++);
    }
    return pd_buf_detach(&b);
}

typedef struct name_sql {
    pd_strv names, sqls, types;
} name_sql;

static int name_sql_row(void *user, int n, const char *const *names, const char *const *v)
{
    (void)names;
    name_sql *ns = user;
    if (n < 3)
        return PD_OK;
    int rc = pd_strv_push(&ns->names, v[0] ? v[0] : "");
    if (rc == PD_OK)
        rc = pd_strv_push(&ns->sqls, v[1] ? v[1] : "");
    if (rc == PD_OK)
        rc = pd_strv_push(&ns->types, v[2] ? v[2] : "");
    return rc;
}

static void name_sql_free(name_sql *ns)
{
    pd_strv_free(&ns->names);
    pd_strv_free(&ns->sqls);
    pd_strv_free(&ns->types);
}

/* Before publishing <stage>__tmp.sqlite: views and triggers that qualify
 * names with the transaction schema are rewritten unqualified (SQLite
 * resolves unqualified names of a view in the view's own file). */
static int sqlite_fix_views(pd_store *s, const char *tmp_ph)
{
    char *qs = pdi_sql_quote(s->d, tmp_ph);
    char *q = qs ? pd_asprintf("SELECT name, sql, type FROM %s.sqlite_master WHERE type IN "
                               "('view', 'trigger') AND sql IS NOT NULL",
                               qs)
                 : NULL;
    char *upd =
        qs ? pd_asprintf("UPDATE %s.sqlite_master SET sql = ? WHERE type = ? AND name = ?", qs)
           : NULL;
    char *on = qs ? pd_asprintf("PRAGMA %s.writable_schema = ON", qs) : NULL;
    char *off = qs ? pd_asprintf("PRAGMA %s.writable_schema = OFF", qs) : NULL;
    int rc = (q && upd && on && off) ? PD_OK : PD_ERR_NOMEM;
    pdi_conn *c = NULL;
    name_sql ns = {0};
    if (rc == PD_OK)
        rc = pdi_pool_get(s, &c);
    if (rc == PD_OK) {
        rc = c->ops->query(c, q, name_sql_row, &ns);
        bool writable = false;
        for (size_t i = 0; rc == PD_OK && i < ns.names.n; i++) {
            char *fixed = strip_qualifier(ns.sqls.items[i], tmp_ph);
            if (!fixed) {
                rc = PD_ERR_NOMEM;
                break;
            }
            if (strcmp(fixed, ns.sqls.items[i]) != 0) {
                if (!writable) {
                    rc = c->ops->exec(c, on);
                    writable = rc == PD_OK;
                }
                const char *p[3] = {fixed, ns.types.items[i], ns.names.items[i]};
                if (rc == PD_OK)
                    rc = c->ops->query_params(c, upd, 3, p, NULL, NULL);
            }
            free(fixed);
        }
        if (writable) {
            int r2 = c->ops->exec(c, off);
            if (rc == PD_OK)
                rc = r2;
        }
        pdi_pool_put(s, c);
    }
    name_sql_free(&ns);
    free(qs);
    free(q);
    free(upd);
    free(on);
    free(off);
    return rc;
}

static int commit_sqlite_swap(pd_store *s, pd_stage_tx *tx)
{
    char *base = pdi_phys(s, tx->stage);
    char *tmp = pdi_phys(s, tx->transaction_name);
    char *fbase = base ? schema_file(s, base) : NULL;
    char *ftmp = tmp ? schema_file(s, tmp) : NULL;
    int rc = (base && tmp && fbase && ftmp) ? PD_OK : PD_ERR_NOMEM;
    if (rc == PD_OK && !pd_path_exists(ftmp))
        rc = pd_set_error(PD_ERR_NOT_FOUND, "transaction file %s is missing", ftmp);
    if (rc == PD_OK)
        rc = sqlite_fix_views(s, tmp);
    pdi_crash_point("commit_begin");
    if (rc == PD_OK)
        rc = pdi_meta_journal_add(s, tx->stage, tx->run_id ? tx->run_id : "");
    pdi_crash_point("commit_after_journal");
    if (rc == PD_OK)
        rc = detach_everywhere(s, tmp);
    if (rc == PD_OK)
        rc = detach_everywhere(s, base);
    if (rc == PD_OK)
        rc = fsync_path(ftmp);
    pdi_crash_point("commit_before_rename");
    if (rc == PD_OK && rename(ftmp, fbase) != 0)
        rc = pd_set_error(PD_ERR_IO, "cannot rename %s to %s", ftmp, fbase);
    if (rc == PD_OK)
        rc = pd_fsync_dir(s->dir);
    pdi_crash_point("commit_after_rename");
    if (rc == PD_OK)
        rc = pdi_meta_promote(s, tx->stage, true);
    pdi_crash_point("commit_after_promote");
    free(base);
    free(tmp);
    free(fbase);
    free(ftmp);
    return rc;
}

static int commit_generic_swap(pd_store *s, pd_stage_tx *tx)
{
    char *base = pdi_phys(s, tx->stage);
    char *tmp = pdi_phys(s, tx->transaction_name);
    char *swap_l = pd_asprintf("%s__swap", tx->stage);
    char *swap = swap_l ? pdi_phys(s, swap_l) : NULL;
    int rc = (base && tmp && swap) ? PD_OK : PD_ERR_NOMEM;
    if (rc == PD_OK)
        rc = pdi_drop_schema(s, swap_l);
    if (rc == PD_OK)
        rc = pdi_exec_free(s, pdi_sql_rename_schema(s->d, base, swap));
    if (rc == PD_OK)
        rc = pdi_exec_free(s, pdi_sql_rename_schema(s->d, tmp, base));
    if (rc == PD_OK)
        rc = pdi_exec_free(s, pdi_sql_rename_schema(s->d, swap, tmp));
    if (rc == PD_OK)
        rc = pdi_meta_promote(s, tx->stage, false);
    free(base);
    free(tmp);
    free(swap);
    free(swap_l);
    return rc;
}

static int commit_read_views(pd_store *s, pd_stage_tx *tx)
{
    char *base = pdi_phys(s, tx->stage);
    char *slot = pdi_phys(s, tx->transaction_name);
    int rc = (base && slot) ? drop_schema_contents(s, base) : PD_ERR_NOMEM;
    pd_strv objs = {0};
    if (rc == PD_OK) {
        char *q = pdi_sql_list_objects(s->d, slot);
        rc = q ? pdi_query_strv(s, q, &objs) : PD_ERR_NOMEM;
        free(q);
    }
    for (size_t i = 0; i < objs.n && rc == PD_OK; i++) {
        char *src = pdi_sql_qualified(s->d, slot, objs.items[i]);
        char *sel = src ? pd_asprintf("SELECT * FROM %s", src) : NULL;
        rc = sel ? pdi_exec_free(s, pdi_sql_create_view(s->d, base, objs.items[i], sel))
                 : PD_ERR_NOMEM;
        free(src);
        free(sel);
    }
    pd_strv_free(&objs);
    if (rc == PD_OK)
        rc = pdi_meta_set_stage_slot(s, tx->stage, tx->transaction_name);
    if (rc == PD_OK)
        rc = pdi_meta_promote(s, tx->stage, false);
    free(base);
    free(slot);
    return rc;
}

/* Postgres: the whole commit in one transaction (store/pg_commit.c). */
static int commit_pg(pd_store *s, pd_stage_tx *tx, bool changed)
{
    char *base = pdi_phys(s, tx->stage);
    char *txp = pdi_phys(s, tx->transaction_name);
    char *swap_l = pd_asprintf("%s__swap", tx->stage);
    char *swap = swap_l ? pdi_phys(s, swap_l) : NULL;
    int rc = (base && txp && swap) ? PD_OK : PD_ERR_NOMEM;
    if (rc == PD_OK)
        rc = pdi_meta_flush(s); /* queued rows must be part of the promotion */
    if (rc == PD_OK) {
        pdi_pg_commit_args a = {.stage = tx->stage,
                                .slot = tx->transaction_name,
                                .base_phys = base,
                                .tx_phys = txp,
                                .swap_phys = swap,
                                .meta_phys = s->separate_meta ? NULL : s->meta_phys,
                                .technique = tx->technique,
                                .changed = changed,
                                .crash_point = pdi_crash_point};
        if (!s->separate_meta) {
            pthread_mutex_lock(&s->meta_mu);
            rc = pdi_pg_commit_tx(s->meta, &a);
            pthread_mutex_unlock(&s->meta_mu);
        } else {
            pdi_conn *c;
            rc = pdi_pool_get(s, &c);
            if (rc == PD_OK) {
                rc = pdi_pg_commit_tx(c, &a);
                pdi_pool_put(s, c);
            }
            if (rc == PD_OK)
                rc = pdi_meta_promote(s, tx->stage, false);
        }
    }
    free(base);
    free(txp);
    free(swap);
    free(swap_l);
    return rc;
}

int pd_store_commit_stage(pd_store *s, pd_stage_tx *tx, bool changed)
{
    int rc;
    if (s->pq)
        rc = pdi_pq_store_commit(s, tx, changed);
    else if (s->d->id == PDI_DIALECT_POSTGRES)
        rc = commit_pg(s, tx, changed);
    else if (!changed)
        rc = pdi_meta_promote(s, tx->stage, false);
    else if (tx->technique == PD_COMMIT_READ_VIEWS)
        rc = commit_read_views(s, tx);
    else if (s->is_sqlite)
        rc = commit_sqlite_swap(s, tx);
    else
        rc = commit_generic_swap(s, tx);
    if (rc)
        pd_error_prefix("commit of stage '%s' in %s", tx->stage, s->desc);
    return rc;
}

/* ------------------------------------------------------------ queries */

static int strv_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    pd_strv *v = user;
    if (ncols < 1)
        return PD_OK;
    return pd_strv_push(v, vals[0] ? vals[0] : "");
}

int pdi_query(pd_store *s,
              const char *sql,
              size_t nparams,
              const char *const *params,
              pd_row_fn row,
              void *user)
{
    pdi_conn *c;
    int rc = pdi_pool_get(s, &c);
    if (rc)
        return rc;
    rc = nparams ? c->ops->query_params(c, sql, nparams, params, row, user)
                 : c->ops->query(c, sql, row, user);
    pdi_pool_put(s, c);
    return rc;
}

int pdi_query_strv(pd_store *s, const char *sql, pd_strv *out)
{
    return pdi_query(s, sql, 0, NULL, strv_row, out);
}

int pd_store_query(pd_store *s, const char *sql, pd_row_fn row, void *user)
{
    int rc = pdi_meta_flush(s);
    return rc ? rc : pdi_query(s, sql, 0, NULL, row, user);
}

int pd_store_execute_script(pd_store *s, const char *script)
{
    int rc = pdi_exec(s, script);
    if (rc)
        pd_error_prefix("raw SQL in %s", s->desc);
    return rc;
}

/* ---------------------------------------------------------------- tables */

int pd_store_table_exists(pd_store *s, const char *schema, const char *name, bool *exists)
{
    *exists = false;
    char *ph = pdi_phys(s, schema);
    if (!ph)
        return PD_ERR_NOMEM;
    int rc = pdi_table_exists_phys(s, ph, name, exists);
    free(ph);
    return rc;
}

/* SQLite: "SELECT <cols> FROM <ph>.sqlite_master WHERE <where>" with `name`
 * bound to the one `?` of `where`, rows to `row`. */
static int sqlite_master_rows(pd_store *s,
                              const char *ph,
                              const char *cols,
                              const char *where,
                              const char *name,
                              pd_row_fn row,
                              void *user)
{
    char *qs = pdi_sql_quote(s->d, ph);
    char *q = qs ? pd_asprintf("SELECT %s FROM %s.sqlite_master WHERE %s", cols, qs, where) : NULL;
    free(qs);
    if (!q)
        return PD_ERR_NOMEM;
    int rc = pdi_query(s, q, 1, &name, row, user);
    free(q);
    return rc;
}

int pdi_table_exists_phys(pd_store *s, const char *ph, const char *name, bool *exists)
{
    *exists = false;
    int rc;
    pd_strv v = {0};
    if (s->is_sqlite) {
        char *f = schema_file(s, ph);
        if (!f || !pd_path_exists(f)) {
            free(f);
            return f ? PD_OK : PD_ERR_NOMEM;
        }
        free(f);
        rc = sqlite_master_rows(s, ph, "name", "type IN ('table', 'view') AND name = ?", name,
                                strv_row, &v);
    } else {
        const char *params[2] = {ph, name};
        rc = pdi_query(s,
                       "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
                       "AND table_name = ?",
                       2, params, strv_row, &v);
    }
    *exists = v.n > 0;
    pd_strv_free(&v);
    return rc;
}

int pd_store_list_objects(pd_store *s, const char *schema, pd_strv *out)
{
    char *ph = pdi_phys(s, schema);
    if (!ph)
        return PD_ERR_NOMEM;
    if (s->is_sqlite) {
        char *f = schema_file(s, ph);
        bool ex = f && pd_path_exists(f);
        free(f);
        if (!ex) {
            free(ph);
            return PD_OK;
        }
    }
    char *q = pdi_sql_list_objects(s->d, ph);
    int rc = q ? pdi_query_strv(s, q, out) : PD_ERR_NOMEM;
    free(q);
    free(ph);
    if (rc == PD_OK)
        pd_strv_sort(out);
    return rc;
}

int pd_store_drop_table(pd_store *s, const char *schema, const char *name)
{
    char *ph = pdi_phys(s, schema);
    if (!ph)
        return PD_ERR_NOMEM;
    int rc = pdi_exec_free(s, pdi_sql_drop_table(s->d, ph, name));
    if (rc) /* it may be a view */
        rc = pdi_exec_free(s, pdi_sql_drop_view(s->d, ph, name));
    else if (s->is_sqlite)
        rc = pdi_exec_free(s, pdi_sql_drop_view(s->d, ph, name));
    free(ph);
    return rc;
}

int pdi_add_keys(pd_store *s, const char *ph, const char *name, const pd_table *t)
{
    int rc = PD_OK;
    if (t->primary_key && t->n_primary_key)
        rc = pdi_exec_free(
            s, pdi_sql_add_primary_key(s->d, ph, name, t->primary_key, t->n_primary_key));
    for (size_t i = 0; i < t->n_indexes && rc == PD_OK; i++) {
        size_t n = 0;
        while (t->indexes[i][n])
            n++;
        if (n)
            rc = pdi_exec_free(s, pdi_sql_create_index(s->d, ph, name, t->indexes[i], n));
    }
    return rc;
}

int pd_store_materialize(pd_store *s, const pd_table *t, const char *schema)
{
    const pd_table_hook *h = pd_store_find_materialize_hook(s, t->kind);
    if (!h)
        return pd_set_error(PD_ERR_UNSUPPORTED, "no hook of %s can materialize table '%s'", s->desc,
                            t->name);
    if (s->sc->print_materialize)
        pd_log(PD_LOG_INFO, "Writing table '%s.%s'", schema, t->name);
    int rc = h->materialize(s, t, schema);
    if (rc == PD_OK && t->kind != PD_OBJ_EXTERNAL && !s->pq) { /* Parquet: no keys */
        char *ph = pdi_phys(s, schema);
        rc = ph ? pdi_add_keys(s, ph, t->name, t) : PD_ERR_NOMEM;
        free(ph);
    }
    if (rc)
        pd_error_prefix("task '%s', table '%s.%s'", t->task_name ? t->task_name : "?", schema,
                        t->name);
    return rc;
}

int pd_store_retrieve(
    pd_store *s, const char *schema, const char *name, pd_as_kind as, int64_t limit, void *out)
{
    const pd_table_hook *h = pd_store_find_retrieve_hook(s, as);
    if (!h)
        return pd_set_error(PD_ERR_UNSUPPORTED, "no hook of %s can retrieve table '%s'", s->desc,
                            name);
    return h->retrieve(s, schema, name, as, limit, out);
}

int pd_store_lazy_query_str(pd_store *s, const pd_table *t, char **out)
{
    const pd_table_hook *h = pd_store_find_materialize_hook(s, t->kind);
    if (!h || !h->lazy_query_str)
        return pd_set_error(PD_ERR_UNSUPPORTED, "no lazy query string for table '%s'", t->name);
    return h->lazy_query_str(s, t, out);
}

/* SQLite: the CREATE TABLE text of schema.name with the target name
 * substituted, so declared column types survive the copy. */
static int sqlite_table_ddl(pd_store *s,
                            const char *from_ph,
                            const char *from_name,
                            const char *to_ph,
                            const char *to_name,
                            char **ddl)
{
    *ddl = NULL;
    pd_strv v = {0};
    int rc = sqlite_master_rows(s, from_ph, "sql", "type = 'table' AND name = ?", from_name,
                                strv_row, &v);
    if (rc == PD_OK && v.n == 0)
        rc = pd_set_error(PD_ERR_NOT_FOUND, "table %s.%s does not exist", from_ph, from_name);
    if (rc == PD_OK) {
        /* "CREATE TABLE <name>(" or "CREATE TABLE <name> (" */
        const char *p = strchr(v.items[0], '(');
        char *target = pdi_sql_qualified(s->d, to_ph, to_name);
        *ddl = (p && target) ? pd_asprintf("CREATE TABLE %s %s", target, p) : NULL;
        free(target);
        if (!*ddl)
            rc =
                pd_set_error(PD_ERR_SQL, "cannot read the definition of %s.%s", from_ph, from_name);
    }
    pd_strv_free(&v);
    return rc;
}

/* Create to_ph.to_name empty with the same columns as from (sqlite: same
 * declared types) and fill it with `select`. */
int pdi_create_like_and_fill(pd_store *s,
                             const char *from_ph,
                             const char *from_name,
                             const char *to_ph,
                             const char *to_name,
                             const char *select)
{
    int rc;
    if (s->is_sqlite) {
        char *ddl;
        rc = sqlite_table_ddl(s, from_ph, from_name, to_ph, to_name, &ddl);
        if (rc)
            return rc;
        rc = pdi_exec_free(s, ddl);
        if (rc == PD_OK)
            rc = pdi_exec_free(s, pdi_sql_insert_select(s->d, to_ph, to_name, select));
        return rc;
    }
    return pdi_exec_free(s, pdi_sql_ctas(s->d, to_ph, to_name, select, s->sc->unlogged));
}

/* SQLite: copy the index definitions of a table (used when no pd_table
 * with keys is given). */
static int sqlite_copy_indexes(
    pd_store *s, const char *from_ph, const char *from_name, const char *to_ph, const char *to_name)
{
    pd_strv v = {0};
    int rc =
        sqlite_master_rows(s, from_ph, "sql", "type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                           from_name, strv_row, &v);
    for (size_t i = 0; i < v.n && rc == PD_OK; i++) {
        /* CREATE [UNIQUE] INDEX <name> ON <table> (<cols>) */
        const char *on = strstr(v.items[i], " ON ");
        const char *cols = on ? strchr(on, '(') : NULL;
        const char *ix = strstr(v.items[i], "INDEX ");
        if (!on || !cols || !ix)
            continue;
        bool unique = strstr(v.items[i], "UNIQUE") && strstr(v.items[i], "UNIQUE") < ix;
        char *iname = pd_strndup(ix + 6, (size_t)(on - ix - 6));
        char *tn = pdi_sql_qualified(s->d, to_ph, iname ? iname : "");
        char *tq = pdi_sql_quote(s->d, to_name);
        char *sql = (tn && tq) ? pd_asprintf("CREATE %sINDEX %s ON %s %s", unique ? "UNIQUE " : "",
                                             tn, tq, cols)
                               : NULL;
        /* the index name was quoted already: strip our extra quotes */
        if (sql && iname && iname[0] == '"') {
            free(sql);
            char *qph = pdi_sql_quote(s->d, to_ph);
            sql = qph ? pd_asprintf("CREATE %sINDEX %s.%s ON %s %s", unique ? "UNIQUE " : "", qph,
                                    iname, tq, cols)
                      : NULL;
            free(qph);
        }
        rc = pdi_exec_free(s, sql);
        free(iname);
        free(tn);
        free(tq);
    }
    pd_strv_free(&v);
    (void)to_name;
    return rc;
}

/* SQLite: copy a view's definition (*is_view = false if it is no view). */
static int sqlite_copy_view(pd_store *s,
                            const char *from_ph,
                            const char *from_name,
                            const char *to_ph,
                            const char *to_name,
                            bool *is_view)
{
    *is_view = false;
    name_sql ns = {0};
    int rc = sqlite_master_rows(s, from_ph, "name, sql, type", "type = 'view' AND name = ?",
                                from_name, name_sql_row, &ns);
    if (rc == PD_OK && ns.names.n == 1) {
        *is_view = true;
        /* "CREATE VIEW <name> <rest>": re-target the name */
        char *fixed = strip_qualifier(ns.sqls.items[0], from_ph);
        const char *rest = NULL;
        if (fixed && strncasecmp(fixed, "CREATE VIEW", 11) == 0) {
            const char *p = fixed + 11;
            while (isspace((unsigned char)*p))
                p++;
            if (strncasecmp(p, "IF NOT EXISTS", 13) == 0) {
                p += 13;
                while (isspace((unsigned char)*p))
                    p++;
            }
            if (*p == '"' || *p == '[' || *p == '`') {
                p = pdi_sql_skip_quoted(p);
            } else {
                while (isalnum((unsigned char)*p) || *p == '_' || *p == '$')
                    p++;
            }
            rest = p;
        }
        char *target = pdi_sql_qualified(s->d, to_ph, to_name);
        char *sql = (rest && target) ? pd_asprintf("CREATE VIEW %s %s", target, rest) : NULL;
        rc = sql ? pdi_exec_free(s, sql)
                 : pd_set_error(PD_ERR_SQL, "cannot read the definition of view %s.%s", from_ph,
                                from_name);
        free(target);
        free(fixed);
    }
    name_sql_free(&ns);
    return rc;
}

int pd_store_copy_table(pd_store *s,
                        const char *from_schema,
                        const char *from_name,
                        const char *to_schema,
                        const char *to_name,
                        const pd_table *meta)
{
    if (s->pq) {
        int r = pdi_pq_store_copy(s, from_schema, from_name, to_schema, to_name);
        if (r)
            pd_error_prefix("copy of %s.%s to %s.%s", from_schema, from_name, to_schema, to_name);
        return r;
    }
    char *fph = pdi_phys(s, from_schema);
    char *tph = pdi_phys(s, to_schema);
    char *src = fph ? pdi_sql_qualified(s->d, fph, from_name) : NULL;
    char *sel = src ? pd_asprintf("SELECT * FROM %s", src) : NULL;
    int rc = (fph && tph && sel) ? PD_OK : PD_ERR_NOMEM;
    bool view = false;
    if (rc == PD_OK && s->is_sqlite) {
        rc = sqlite_copy_view(s, fph, from_name, tph, to_name, &view);
        if (view) {
            free(fph);
            free(tph);
            free(src);
            free(sel);
            return rc;
        }
    }
    if (rc == PD_OK)
        rc = pdi_create_like_and_fill(s, fph, from_name, tph, to_name, sel);
    if (rc == PD_OK) {
        if (meta && (meta->n_primary_key || meta->n_indexes))
            rc = pdi_add_keys(s, tph, to_name, meta);
        else if (s->is_sqlite)
            rc = sqlite_copy_indexes(s, fph, from_name, tph, to_name);
    }
    if (rc)
        pd_error_prefix("copy of %s.%s to %s.%s", from_schema, from_name, to_schema, to_name);
    free(fph);
    free(tph);
    free(src);
    free(sel);
    return rc;
}

/* --------------------------------------------------------------- schemas */

int pd_store_delete_schemas(pd_store *s, pd_strv *deleted)
{
    int rc = PD_OK;
    if (s->is_sqlite) {
        DIR *d = opendir(s->dir);
        if (!d)
            return pd_set_error(PD_ERR_IO, "cannot list %s", s->dir);
        pd_strv names = {0};
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t n = strlen(e->d_name);
            if (n <= 7 || strcmp(e->d_name + n - 7, ".sqlite") != 0)
                continue;
            char *nm = pd_strndup(e->d_name, n - 7);
            if (nm && pd_str_starts(nm, s->prefix) && pd_str_ends(nm, s->suffix))
                pd_strv_push_owned(&names, nm);
            else
                free(nm);
        }
        closedir(d);
        pd_strv_sort(&names);
        for (size_t i = 0; i < names.n && rc == PD_OK; i++) {
            rc = sqlite_drop_file(s, names.items[i]);
            if (rc == PD_OK && deleted)
                pd_strv_push(deleted, names.items[i]);
        }
        pd_strv_free(&names);
        pdi_meta_sql_free(s);
        return rc;
    }
    pd_strv names = {0};
    rc =
        pdi_query_strv(s, "SELECT schema_name FROM information_schema.schemata ORDER BY 1", &names);
    for (size_t i = 0; i < names.n && rc == PD_OK; i++) {
        const char *nm = names.items[i];
        if (!pd_str_starts(nm, s->prefix) || !pd_str_ends(nm, s->suffix))
            continue;
        if (!*s->prefix && !*s->suffix &&
            (pd_str_starts(nm, "pg_") || pd_str_eq(nm, "information_schema") ||
             pd_str_eq(nm, "public")))
            continue;
        rc = pdi_exec_free(s, pdi_sql_drop_schema(s->d, nm));
        if (rc == PD_OK && deleted)
            pd_strv_push(deleted, nm);
    }
    pd_strv_free(&names);
    pdi_meta_sql_free(s);
    return rc;
}

int pd_store_clear_metadata(pd_store *s)
{
    pdi_meta_sql_free(s);
    int rc;
    if (!s->separate_meta) {
        rc = pdi_drop_schema(s, "pipedag_metadata");
    } else if (s->meta_is_sqlite) {
        pthread_mutex_lock(&s->meta_mu);
        pdi_sqlite_conn_detach(s->meta, s->meta_phys);
        pthread_mutex_unlock(&s->meta_mu);
        rc = PD_OK;
        static const char *const ext[] = {"", "-journal", "-wal", "-shm"};
        for (size_t i = 0; i < 4 && rc == PD_OK; i++) {
            char *f = pd_asprintf("%s/%s.sqlite%s", s->meta_dir, s->meta_phys, ext[i]);
            if (!f)
                rc = PD_ERR_NOMEM;
            else if (unlink(f) != 0 && errno != ENOENT)
                rc = pd_set_error(PD_ERR_IO, "cannot delete %s", f);
            free(f);
        }
    } else {
        char *sql = pdi_sql_drop_schema(s->md, s->meta_phys);
        pthread_mutex_lock(&s->meta_mu);
        rc = sql ? s->meta->ops->exec(s->meta, sql) : PD_ERR_NOMEM;
        pthread_mutex_unlock(&s->meta_mu);
        free(sql);
    }
    if (rc)
        pd_error_prefix("clear-metadata in %s", s->desc);
    return rc;
}

/* ----------------------------------------------------------------- hooks */

int pd_store_register_hook(pd_store *s, const pd_table_hook *hook)
{
    pthread_mutex_lock(&s->hook_mu);
    const pd_table_hook **n = pd_realloc(s->hooks, (s->nhooks + 1) * sizeof *n);
    if (!n) {
        pthread_mutex_unlock(&s->hook_mu);
        return PD_ERR_NOMEM;
    }
    s->hooks = n;
    s->hooks[s->nhooks++] = hook;
    pthread_mutex_unlock(&s->hook_mu);
    return PD_OK;
}

const pd_table_hook *pd_store_find_materialize_hook(pd_store *s, pd_obj_kind kind)
{
    const pd_table_hook *r = NULL;
    pthread_mutex_lock(&s->hook_mu);
    for (size_t i = s->nhooks; i-- > 0 && !r;) {
        pd_can c = s->hooks[i]->can_materialize ? s->hooks[i]->can_materialize(kind) : PD_CAN_NO;
        if (c == PD_CAN_YES || c == PD_CAN_YES_BUT_DONT_CACHE)
            r = s->hooks[i];
    }
    pthread_mutex_unlock(&s->hook_mu);
    return r;
}

const pd_table_hook *pd_store_find_retrieve_hook(pd_store *s, pd_as_kind as)
{
    const pd_table_hook *r = NULL;
    pthread_mutex_lock(&s->hook_mu);
    for (size_t i = s->nhooks; i-- > 0 && !r;) {
        pd_can c = s->hooks[i]->can_retrieve ? s->hooks[i]->can_retrieve(as) : PD_CAN_NO;
        if (c == PD_CAN_YES)
            r = s->hooks[i];
    }
    pthread_mutex_unlock(&s->hook_mu);
    return r;
}

static const pd_table_hook *const *default_hooks(size_t *n)
{
    return pdi_default_hooks(n);
}
