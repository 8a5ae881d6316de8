/*
 * util/log.c - time helpers, stderr logging with levels, URL password masking.
 *
 * Logging is deliberately tiny: one level threshold per process, set once by
 * the CLI before any thread starts. Callers never pass secrets; URLs go
 * through pdi_url_mask_password first.
 */
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static pd_log_level g_level = PD_LOG_WARN; /* written once at start-up */

double pdi_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int64_t pdi_unix_micros(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void pdi_log_set_level(pd_log_level lvl)
{
    g_level = lvl;
}

void pdi_log(pd_log_level lvl, const char *fmt, ...)
{
    if (lvl < g_level) {
        return;
    }
    static const char *names[] = {"debug", "info", "warning", "error"};
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "pipedag: %s: %s\n", names[lvl], msg);
}

char *pdi_url_mask_password(const char *url)
{
    if (!url) {
        return NULL;
    }
    const char *scheme = strstr(url, "://");
    if (!scheme) {
        return pdi_strdup(url);
    }
    const char *auth = scheme + 3;
    const char *end = auth + strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < end; p++) {
        if (*p == '@') {
            at = p; /* last '@' before the path */
        }
    }
    if (!at) {
        return pdi_strdup(url);
    }
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    if (!colon) {
        return pdi_strdup(url);
    }
    return pdi_asprintf("%.*s***%s", (int)(colon + 1 - url), url, at);
}
