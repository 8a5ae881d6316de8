/*
 * store/sqlite/sqlite_files.h - the on-disk layout of a SQLite table store:
 * a directory holding one database file per schema, <dir>/<schema>.sqlite.
 * Shared by the native SQLite backend and the SQLite store through ODBC
 * (libsqliteodbc), which use the same directory.
 */
#ifndef PD_STORE_SQLITE_FILES_H
#define PD_STORE_SQLITE_FILES_H

#include "util/util.h"

/* <dir>/<schema>.sqlite (caller frees; NULL when out of memory). */
char *pdi_sqlite_schema_file(const char *dir, const char *schema);
/* Delete <dir>/<schema>.sqlite and its -journal, -wal and -shm files; a
 * missing file is not an error. */
int pdi_sqlite_delete_schema_files(const char *dir, const char *schema);
/* Append the schema of every <name>.sqlite file of dir to out. */
int pdi_sqlite_list_schema_files(const char *dir, pd_strv *out);

#endif
