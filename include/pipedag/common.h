/*
 * pipedag/common.h - status codes, the thread-local last error, export macro.
 *
 * Every fallible function of libpipedag returns an int: PD_OK (0) on success
 * or one of the negative PD_ERR_* codes. The human-readable message of the
 * most recent failure on the calling thread is pd_last_error(). Messages name
 * the object (file:line, task, table, column, row group, page, server) and
 * never contain secrets.
 */
#ifndef PIPEDAG_COMMON_H
#define PIPEDAG_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#    define PD_API          __attribute__((visibility("default")))
#    define PD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#    define PD_API
#    define PD_PRINTF(f, a)
#endif

typedef enum pd_status {
    PD_OK = 0,
    PD_ERR = -1,             /* generic failure */
    PD_ERR_NOMEM = -2,       /* out of memory */
    PD_ERR_IO = -3,          /* file system or network I/O */
    PD_ERR_CORRUPT = -4,     /* malformed input data (Parquet, CSV, ...) */
    PD_ERR_UNSUPPORTED = -5, /* valid but not supported (feature, store, encryption) */
    PD_ERR_INVALID = -6,     /* invalid argument or API misuse */
    PD_ERR_SQL = -7,         /* database reported an error */
    PD_ERR_NOT_FOUND = -8,   /* object does not exist */
    PD_ERR_LOCK = -9,        /* lock could not be taken or was lost */
    PD_ERR_CONFIG = -10,     /* bad configuration or flow file */
    PD_ERR_TASK = -11,       /* a task failed */
    PD_ERR_CANCELLED = -12,  /* run cancelled */
    PD_ERR_CACHE = -13,      /* cache inconsistency (e.g. cached table vanished) */
    PD_ERR_CHECK = -14       /* a column check (or primary key check) failed on a table */
} pd_status;

/* Message of the last failure on this thread ("" if none). Never NULL. */
PD_API const char *pd_last_error(void);
/* Code of the last failure on this thread (PD_OK if none). */
PD_API int pd_last_error_code(void);
/* Record a failure; returns `code` so callers can `return pd_set_error(...)`. */
PD_API int pd_set_error(int code, const char *fmt, ...) PD_PRINTF(2, 3);
/* Prefix the current message with more context: "<prefix>: <old message>". */
PD_API int pd_error_prefix(const char *fmt, ...) PD_PRINTF(1, 2);
PD_API void pd_clear_error(void);
/* Short name of a status code ("PD_ERR_IO"). */
PD_API const char *pd_status_name(int code);

/* Library version. */
#define PD_VERSION_MAJOR  0
#define PD_VERSION_MINOR  1
#define PD_VERSION_PATCH  0
#define PD_VERSION_STRING "0.1.0"
PD_API const char *pd_version(void);

#ifdef __cplusplus
}
#endif
#endif
