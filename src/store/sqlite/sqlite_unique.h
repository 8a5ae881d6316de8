/*
 * store/sqlite/sqlite_unique.h - the hash probe of the `unique` check on
 * the native SQLite backend (docs/checks.md): an aggregate function
 * pd_unique_hash(value, pass, passes) registered on each connection.
 */
#ifndef PD_STORE_SQLITE_UNIQUE_H
#define PD_STORE_SQLITE_UNIQUE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/* Register pd_unique_hash on db when this SQLite compares INTEGER with REAL
 * values exactly (3.40 and later: where the canonical hash is checked);
 * false when not registered (then the probe is not offered). */
bool pdi_sq_unique_register(sqlite3 *db);

/* The canonical 64-bit hash of one non-NULL value, equal for every two
 * values SQLite's GROUP BY under the BINARY collation puts together:
 * INTEGER 1 and REAL 1.0 hash alike (a REAL holding an integer in int64
 * range hashes as that integer; -0.0 as 0), TEXT and BLOB of the same
 * bytes do not (the storage class is part of the hash). */
uint64_t pdi_sq_value_hash(sqlite3_value *v);

#endif
