/*
 * tests/pg/pg_test_util.h - where the private test cluster is: the URL comes
 * from $PD_TEST_PG_URL, or from the file <$PD_TEST_PG_STATE>/url written by
 * scripts/pg-test-cluster.sh (the ctest fixture).
 */
#ifndef PD_TESTS_PG_UTIL_H
#define PD_TESTS_PG_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline char *pg_test_url(void)
{
    const char *u = getenv("PD_TEST_PG_URL");
    if (u && *u)
        return strdup(u);
    const char *st = getenv("PD_TEST_PG_STATE");
    char path[1024];
    snprintf(path, sizeof path, "%s/url", st ? st : "/tmp/pipedag-pg-test");
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char buf[1024];
    char *r = fgets(buf, sizeof buf, f);
    fclose(f);
    if (!r)
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return strdup(buf);
}

/* pg_test_url(), or the test binary exits 1 saying how to get a cluster. */
static inline char *pg_test_url_required(void)
{
    char *u = pg_test_url();
    if (!u) {
        fprintf(stderr, "no test cluster: set PD_TEST_PG_URL or run scripts/pg-test-cluster.sh\n");
        exit(1);
    }
    return u;
}

/* Same URL with another database name (caller frees; NULL if the URL has no
 * '/' or memory is out). */
static inline char *pg_test_url_db(const char *url, const char *db)
{
    const char *slash = strrchr(url, '/');
    if (!slash)
        return NULL;
    size_t n = (size_t)(slash - url);
    char *out = malloc(n + strlen(db) + 2);
    if (!out)
        return NULL;
    memcpy(out, url, n);
    sprintf(out + n, "/%s", db);
    return out;
}

#endif
