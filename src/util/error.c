/*
 * util/error.c - the thread-local last-error record behind pd_last_error().
 *
 * Each thread has one fixed-size message buffer and a code; setting an error
 * never allocates, so it works on out-of-memory paths too.
 */
#include "util.h"

#include <stdio.h>
#include <string.h>

#define PD_ERRMSG_MAX 4096

static _Thread_local char tl_msg[PD_ERRMSG_MAX];
static _Thread_local int tl_code;

const char *pd_last_error(void)
{
    return tl_msg;
}

int pd_last_error_code(void)
{
    return tl_code;
}

int pd_set_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tl_msg, sizeof tl_msg, fmt, ap);
    va_end(ap);
    tl_code = code;
    return code;
}

int pd_error_prefix(const char *fmt, ...)
{
    char prefix[1024];
    char old[PD_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, tl_msg, sizeof old);
    if (old[0]) {
        snprintf(tl_msg, sizeof tl_msg, "%s: %s", prefix, old);
    } else {
        snprintf(tl_msg, sizeof tl_msg, "%s", prefix);
    }
    if (tl_code == PD_OK) {
        tl_code = PD_ERR;
    }
    return tl_code;
}

void pd_clear_error(void)
{
    tl_msg[0] = '\0';
    tl_code = PD_OK;
}

const char *pd_status_name(int code)
{
    switch (code) {
    case PD_OK: return "PD_OK";
    case PD_ERR: return "PD_ERR";
    case PD_ERR_NOMEM: return "PD_ERR_NOMEM";
    case PD_ERR_IO: return "PD_ERR_IO";
    case PD_ERR_CORRUPT: return "PD_ERR_CORRUPT";
    case PD_ERR_UNSUPPORTED: return "PD_ERR_UNSUPPORTED";
    case PD_ERR_INVALID: return "PD_ERR_INVALID";
    case PD_ERR_SQL: return "PD_ERR_SQL";
    case PD_ERR_NOT_FOUND: return "PD_ERR_NOT_FOUND";
    case PD_ERR_LOCK: return "PD_ERR_LOCK";
    case PD_ERR_CONFIG: return "PD_ERR_CONFIG";
    case PD_ERR_TASK: return "PD_ERR_TASK";
    case PD_ERR_CANCELLED: return "PD_ERR_CANCELLED";
    case PD_ERR_CACHE: return "PD_ERR_CACHE";
    case PD_ERR_CHECK: return "PD_ERR_CHECK";
    default: return "PD_ERR_UNKNOWN";
    }
}

const char *pd_version(void)
{
    return PD_VERSION_STRING;
}
