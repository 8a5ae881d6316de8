/*
 * store/commit.c - stage transactions (PIPEDAG_SEMANTICS.md §3) on any
 * backend: init (base schema, fresh transaction schema or READ_VIEWS
 * slot), and the commit protocol of store/backend.h:
 *
 *  - transactional (PDI_CAP_TRANSACTIONAL_DDL, metadata in the same
 *    database): publish + metadata promotion in ONE database transaction on
 *    the metadata session (or the backend's own commit_stage_tx);
 *  - journaled (otherwise): commit_journal row, publish, then promotion and
 *    journal deletion in one metadata transaction; recovery asks the
 *    backend whether publish completed (pdi_meta_recover).
 *
 * The generic publish: SCHEMA_SWAP renames base->swap, tx->base, swap->tx;
 * READ_VIEWS replaces the contents of base by one view per object of the
 * slot. Crash points (PD_TEST_CRASH_AT) are listed in docs/stores.md.
 */
#include "store/store_int.h"
#include <stdlib.h>
#include <string.h>

int pdi_stage_names_make(pd_store *s, const pd_stage_tx *tx, pdi_stage_names *out)
{
    memset(out, 0, sizeof *out);
    char *swap_l = pdi_asprintf("%s__swap", tx->stage);
    out->stage = tx->stage;
    out->tx_logical = tx->transaction_name;
    out->technique = tx->technique;
    out->base = pdi_phys(s, tx->stage);
    out->tx = pdi_phys(s, tx->transaction_name);
    out->swap = swap_l ? pdi_phys(s, swap_l) : NULL;
    free(swap_l);
    if (!out->base || !out->tx || !out->swap) {
        pdi_stage_names_free(out);
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    }
    return PD_OK;
}

void pdi_stage_names_free(pdi_stage_names *n)
{
    free((char *)n->base);
    free((char *)n->tx);
    free((char *)n->swap);
    memset(n, 0, sizeof *n);
}

static int tx_name(pd_stage_tx *tx, const char *suffix)
{
    int n = snprintf(tx->transaction_name, sizeof tx->transaction_name, "%s%s", tx->stage, suffix);
    if (n < 0 || (size_t)n >= sizeof tx->transaction_name)
        return pd_set_error(PD_ERR_INVALID, "stage name too long: %s", tx->stage);
    return PD_OK;
}

/* SCHEMA_SWAP / READ_VIEWS allowed on this backend? A config error with
 * the backend's reason otherwise. */
int pdi_check_technique(pd_store *s, pd_commit_technique t)
{
    const pdi_backend *be = s->be;
    if (t == PD_COMMIT_SCHEMA_SWAP && !(be->caps & PDI_CAP_SCHEMA_SWAP))
        return pd_set_error(PD_ERR_CONFIG,
                            "%s:%d: stage_commit_technique SCHEMA_SWAP is not possible on the %s "
                            "table store: %s; use READ_VIEWS",
                            s->sc->file ? s->sc->file : "config", s->sc->line, be->name,
                            be->no_schema_swap_reason ? be->no_schema_swap_reason
                                                      : "it cannot rename schemas");
    if (t == PD_COMMIT_READ_VIEWS && !(be->caps & PDI_CAP_READ_VIEWS))
        return pd_set_error(PD_ERR_CONFIG,
                            "%s:%d: stage_commit_technique READ_VIEWS is not possible on the %s "
                            "table store: %s; use SCHEMA_SWAP",
                            s->sc->file ? s->sc->file : "config", s->sc->line, be->name,
                            be->no_read_views_reason ? be->no_read_views_reason
                                                     : "views cannot read other schemas");
    return PD_OK;
}

/* A backend's init_stage or begin_stage on a pooled session. */
static int
backend_stage_op(pd_store *s, pd_stage_tx *tx, int (*op)(pdi_conn *c, const pdi_stage_names *st))
{
    pdi_stage_names n;
    int rc = pdi_stage_names_make(s, tx, &n);
    pdi_conn *c = NULL;
    if (rc == PD_OK)
        rc = pdi_pool_get(s, &c);
    if (rc == PD_OK) {
        rc = op(c, &n);
        pdi_pool_put(s, c);
    }
    pdi_stage_names_free(&n);
    return rc;
}

/* Drop and re-create the transaction schema, then the backend's
 * init_stage. */
static int prepare_tx(pd_store *s, pd_stage_tx *tx)
{
    int rc = pdi_drop_schema(s, tx->transaction_name);
    if (rc == PD_OK)
        rc = pdi_create_schema(s, tx->transaction_name);
    if (rc == PD_OK && s->be->init_stage)
        rc = backend_stage_op(s, tx, s->be->init_stage);
    if (rc == PD_OK)
        tx->tx_ready = true;
    return rc;
}

int pdi_store_init_stage(pd_store *s, pd_stage_tx *tx)
{
    int rc = pdi_check_technique(s, tx->technique);
    if (rc)
        return rc;
    rc = pdi_meta_recover(s, tx->stage);
    if (rc)
        return rc;
    if (tx->technique == PD_COMMIT_READ_VIEWS) {
        char cur[256] = "";
        rc = pdi_meta_get_stage_slot(s, tx->stage, cur, sizeof cur);
        if (rc)
            return rc;
        pdi_slot_note(s, tx->stage, cur);
        rc = tx_name(tx, pdi_str_ends(cur, "__odd") ? "__even" : "__odd");
    } else {
        pdi_slot_note(s, tx->stage, "");
        rc = tx_name(tx, "__tmp");
    }
    if (rc)
        return rc;
    tx->tx_ready = false;
    rc = pdi_create_schema(s, tx->stage);
    if (rc == PD_OK && s->be->begin_stage)
        rc = backend_stage_op(s, tx, s->be->begin_stage);
    /* an init_stage without begin_stage may be what a read of the stage
     * needs: the transaction schema is prepared at once there */
    if (rc == PD_OK && (!tx->defer_tx || (s->be->init_stage && !s->be->begin_stage)))
        rc = prepare_tx(s, tx);
    if (rc == PD_OK)
        rc = pdi_meta_delete_uncommitted(s, tx->stage);
    if (rc)
        pd_error_prefix("init of stage '%s' in %s", tx->stage, s->desc);
    return rc;
}

int pdi_store_prepare_tx(pd_store *s, pd_stage_tx *tx)
{
    if (tx->tx_ready)
        return PD_OK;
    int rc = prepare_tx(s, tx);
    if (rc)
        pd_error_prefix("init of stage '%s' in %s", tx->stage, s->desc);
    return rc;
}

/* ------------------------------------------------------ generic publish */

static int run(const pdi_backend *be, pdi_conn *c, char *sql)
{
    if (!sql)
        return PD_ERR_NOMEM;
    int rc = *sql ? be->exec(c, sql) : PD_OK;
    free(sql);
    return rc;
}

static int strv_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    if (ncols < 1 || !vals[0])
        return PD_OK;
    return pdi_strv_push(user, vals[0]);
}

/* The generic publish of backend.h (never formats SQL: dialect text). */
static int publish_generic(const pdi_backend *be, pdi_conn *c, const pdi_stage_names *st)
{
    const pdi_dialect *d = c->db->d;
    if (st->technique == PD_COMMIT_SCHEMA_SWAP) {
        int rc = PD_OK;
        if (be->drop_schema) {
            rc = be->drop_schema(c, st->swap);
        } else {
            if (!d->drop_cascades)
                rc = pdi_be_drop_contents(be, c, st->swap);
            if (rc == PD_OK)
                rc = run(be, c, pdi_sql_drop_schema(d, st->swap));
        }
        if (rc == PD_OK)
            rc = run(be, c, pdi_sql_rename_schema(d, st->base, st->swap));
        if (rc == PD_OK)
            rc = run(be, c, pdi_sql_rename_schema(d, st->tx, st->base));
        if (rc == PD_OK)
            rc = run(be, c, pdi_sql_rename_schema(d, st->swap, st->tx));
        return rc;
    }
    int rc = pdi_be_drop_contents(be, c, st->base);
    pd_strv objs = {0};
    if (rc == PD_OK && be->list_objects) {
        rc = be->list_objects(c, st->tx, &objs);
    } else if (rc == PD_OK) {
        char *q = pdi_sql_list_objects(d, st->tx);
        rc = q ? be->query(c, q, 0, NULL, strv_row, &objs) : PD_ERR_NOMEM;
        free(q);
    }
    pdi_strv_sort(&objs);
    for (size_t i = 0; i < objs.n && rc == PD_OK; i++) {
        char *sel = pdi_sql_select_all(d, st->tx, objs.items[i]);
        rc = sel ? run(be, c, pdi_sql_create_view(d, st->base, objs.items[i], sel)) : PD_ERR_NOMEM;
        free(sel);
    }
    pdi_strv_free(&objs);
    return rc;
}

static int publish(const pdi_backend *be, pdi_conn *c, const pdi_stage_names *st)
{
    return be->publish ? be->publish(c, st) : publish_generic(be, c, st);
}

int pdi_commit_tx(const pdi_backend *be,
                  pdi_conn *c,
                  const pdi_stage_names *st,
                  const pdi_stmt *meta,
                  size_t nmeta)
{
    if (be->commit_stage_tx)
        return be->commit_stage_tx(c, st, meta, nmeta);
    int rc = be->begin(c);
    if (rc)
        return rc;
    rc = publish(be, c, st);
    for (size_t i = 0; i < nmeta && rc == PD_OK; i++)
        rc = be->query(c, meta[i].sql, meta[i].nparams, meta[i].params, NULL, NULL);
    if (rc == PD_OK)
        pdi_crash_point("pg_commit_before_commit");
    if (rc == PD_OK)
        rc = be->commit(c);
    if (rc) {
        char *keep = pdi_strdup(pd_last_error());
        be->rollback(c);
        pd_set_error(rc, "%s (rolled back: stage '%s' and its metadata unchanged)",
                     keep ? keep : "commit failed", st->stage);
        free(keep);
    }
    return rc;
}

/* ------------------------------------------------------------- protocols */

static void stmts_free(pdi_stmt *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].sql);
}

/* Tables and (same database) metadata in one database transaction. */
static int commit_transactional(pd_store *s, pd_stage_tx *tx, const pdi_stage_names *st)
{
    const char *slot = tx->technique == PD_COMMIT_READ_VIEWS ? tx->transaction_name : NULL;
    int rc = pdi_meta_flush(s); /* queued rows must be part of the promotion */
    if (rc)
        return rc;
    pdi_stmt meta[16];
    size_t nmeta = 0;
    pdi_conn *c = NULL;
    bool meta_here = !s->separate_meta;
    if (meta_here) {
        rc = pdi_meta_lock(s);
        if (rc)
            return rc;
        c = s->meta;
        nmeta = pdi_meta_promote_stmts(s, tx->stage, slot, meta);
        if (nmeta == 0)
            rc = pd_set_error(PD_ERR_NOMEM, "out of memory");
    } else {
        rc = pdi_pool_get(s, &c);
    }
    if (rc == PD_OK)
        rc = pdi_commit_tx(s->be, c, st, meta, nmeta);
    stmts_free(meta, nmeta);
    if (meta_here) {
        pdi_meta_unlock(s);
    } else {
        if (c)
            pdi_pool_put(s, c);
        /* tables published, metadata not yet: the next init must see the
         * old version (a Parquet catalog re-points its views there) */
        if (rc == PD_OK)
            pdi_crash_point("commit_before_promote");
        if (rc == PD_OK)
            rc = pdi_meta_promote(s, tx->stage, slot, false);
    }
    return rc;
}

/* Journal row, publish, promotion; recovery by published(). */
static int commit_journaled(pd_store *s, pd_stage_tx *tx, const pdi_stage_names *st)
{
    const char *slot = tx->technique == PD_COMMIT_READ_VIEWS ? tx->transaction_name : NULL;
    pdi_crash_point("commit_begin");
    int rc = pdi_meta_journal_add(s, tx->stage, tx->run_id ? tx->run_id : "");
    pdi_crash_point("commit_after_journal");
    if (rc == PD_OK)
        rc = pdi_forget_everywhere(s, st->tx);
    if (rc == PD_OK)
        rc = pdi_forget_everywhere(s, st->base);
    pdi_conn *c = NULL;
    if (rc == PD_OK)
        rc = pdi_pool_get(s, &c);
    if (rc == PD_OK) {
        /* atomic where the database allows */
        rc = (s->be->caps & PDI_CAP_TRANSACTIONAL_DDL) ? pdi_commit_tx(s->be, c, st, NULL, 0)
                                                       : publish(s->be, c, st);
        pdi_pool_put(s, c);
    }
    if (rc == PD_OK)
        pdi_crash_point("commit_before_promote");
    if (rc == PD_OK)
        rc = pdi_meta_promote(s, tx->stage, slot, true);
    pdi_crash_point("commit_after_promote");
    return rc;
}

int pdi_store_commit_stage(pd_store *s, pd_stage_tx *tx, bool changed)
{
    int rc;
    if (!changed) {
        rc = pdi_meta_promote_unchanged(s, tx->stage);
    } else {
        pdi_stage_names st;
        rc = pdi_stage_names_make(s, tx, &st);
        if (rc == PD_OK) {
            /* tables and metadata in two databases: journaled whenever the
             * backend can tell afterwards whether publish completed */
            if ((s->be->caps & PDI_CAP_TRANSACTIONAL_DDL) &&
                !(s->separate_meta && s->be->published))
                rc = commit_transactional(s, tx, &st);
            else
                rc = commit_journaled(s, tx, &st);
            pdi_stage_names_free(&st);
        }
    }
    if (rc == PD_OK && changed)
        pdi_slot_note(s, tx->stage,
                      tx->technique == PD_COMMIT_READ_VIEWS ? tx->transaction_name : "");
    if (rc)
        pd_error_prefix("commit of stage '%s' in %s", tx->stage, s->desc);
    return rc;
}
