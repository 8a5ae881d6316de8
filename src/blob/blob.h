/*
 * blob/blob.h - blob store: files for non-table outputs of computed tasks,
 * committed together with their stage.
 *
 * FileBlobStore layout: <base>/<instance_id>/<stage>/<name>.blob, written in
 * <stage>__tmp during a run; the commit swaps the directories (crash-safe).
 */
#ifndef PD_BLOB_H
#define PD_BLOB_H

#include "pipedag/config.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct pd_blob_store pd_blob_store;

int pdi_blob_store_open(const pd_config *cfg, pd_blob_store **out);
void pdi_blob_store_close(pd_blob_store *b);
int pdi_blob_init_stage(pd_blob_store *b, const char *stage);
int pdi_blob_commit_stage(pd_blob_store *b, const char *stage);
int pdi_blob_put(
    pd_blob_store *b, const char *stage, const char *name, const void *data, size_t len);
/* Read from the committed stage (committed = true) or the transaction. */
int pdi_blob_get(
    pd_blob_store *b, const char *stage, const char *name, int committed, void **data, size_t *len);
/* Cache hit: copy a committed blob (and its key) into the transaction. */
int pdi_blob_copy_to_transaction(pd_blob_store *b, const char *stage, const char *name);
/* Record the cache key of a blob written in the transaction
 * (<name>.blob.key beside it; committed with the stage). */
int pdi_blob_set_key(pd_blob_store *b, const char *stage, const char *name, const char *key);
/* Does the committed blob carry this cache key? *match = false when the key
 * differs or is missing - e.g. a run killed between the table-store commit
 * and the blob commit left an older blob published; the caller re-runs the
 * task instead of reusing it. */
int pdi_blob_committed_key_matches(
    pd_blob_store *b, const char *stage, const char *name, const char *key, bool *match);

#endif
