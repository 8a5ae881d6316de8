/*
 * store/parquet/pq_names.c - file names and keys of the Parquet store:
 * <parquet_base_path>/<instance_id>/<slot>/<table>.parquet, every name an
 * escaped single segment (see pq_int.h).
 */
#include "store/parquet/pq_int.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PQ_MAX_SEGMENT 255

static bool keep_byte(unsigned char c, bool first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
        c == '-' || c >= 0x80)
        return true;
    return c == '.' && !first;
}

char *pdi_pq_encode_name(const char *name, const char *what)
{
    if (!name || !*name) {
        pd_set_error(PD_ERR_INVALID, "%s name is empty", what);
        return NULL;
    }
    static const char hex[] = "0123456789ABCDEF";
    pd_buf b = {0};
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (keep_byte(*p, p == (const unsigned char *)name)) {
            pd_buf_putc(&b, (char)*p);
        } else {
            char e[3] = {'~', hex[*p >> 4], hex[*p & 15]};
            pd_buf_append(&b, e, 3);
        }
    }
    char *r = pd_buf_detach(&b);
    if (r && strlen(r) + strlen(".parquet") > PQ_MAX_SEGMENT) {
        pd_set_error(PD_ERR_INVALID,
                     "%s name '%.64s...' is too long for a file name (%zu bytes once "
                     "escaped, at most %d)",
                     what, name, strlen(r), PQ_MAX_SEGMENT - (int)strlen(".parquet"));
        free(r);
        return NULL;
    }
    return r;
}

static char *with_slash(const char *s)
{
    size_t n = strlen(s);
    return n && s[n - 1] == '/' ? pd_strdup(s) : pd_asprintf("%s/", s);
}

char *pdi_pq_normalize_base(const char *base)
{
    if (!base || !*base) {
        pd_set_error(PD_ERR_CONFIG, "parquet_base_path is empty");
        return NULL;
    }
    if (pd_fs_is_s3(base))
        return with_slash(base);
    const char *p = pd_str_starts(base, "file://") ? base + strlen("file://") : base;
    if (p[0] == '/')
        return with_slash(p);
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) {
        pd_set_error(PD_ERR_IO, "parquet_base_path '%s': cannot read the current directory", base);
        return NULL;
    }
    const char *rel = pd_str_starts(p, "./") ? p + 2 : p;
    char *abs = pd_asprintf("%s/%s", cwd, rel);
    char *r = abs ? with_slash(abs) : NULL;
    free(abs);
    return r;
}

char *pdi_pq_instance_prefix(const char *base, const char *instance_id)
{
    char *id = pdi_pq_encode_name(instance_id, "instance_id");
    char *b = id ? with_slash(base) : NULL;
    char *r = b ? pd_asprintf("%s%s/", b, id) : NULL;
    free(id);
    free(b);
    return r;
}

char *pdi_pq_slot_prefix(const char *instance_prefix, const char *slot)
{
    char *s = pdi_pq_encode_name(slot, "schema");
    char *r = s ? pd_asprintf("%s%s/", instance_prefix, s) : NULL;
    free(s);
    return r;
}

char *pdi_pq_table_url(const char *slot_prefix, const char *table)
{
    char *t = pdi_pq_encode_name(table, "table");
    char *r = t ? pd_asprintf("%s%s.parquet", slot_prefix, t) : NULL;
    free(t);
    return r;
}
