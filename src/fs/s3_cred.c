/*
 * fs/s3_cred.c - the AWS shared files as awscli reads them: the profile's
 * keys from the credentials file ([name]) and the config file ([default] or
 * [profile name]; keys there count too), its region, and the nested
 * `s3 =` block's addressing_style.
 */
#include "fs/fs_int.h"
#include <stdlib.h>
#include <string.h>

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = 0;
    return s;
}

static void set(char **dst, const char *v)
{
    if (!*dst)
        *dst = pdi_strdup(v);
}

/* Read one file; `config` selects "[profile name]" section names. */
static int load(const char *path, const char *profile, bool config, pdi_profile *p)
{
    size_t len;
    char *text = pdi_file_read(path, &len);
    if (!text)
        return PD_OK; /* a missing file is fine */
    pd_clear_error();
    bool in = false, in_s3 = false;
    bool found = false;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        bool indented = line[0] == ' ' || line[0] == '\t';
        char *t = trim(line);
        if (!*t || *t == '#' || *t == ';')
            continue;
        if (*t == '[') {
            in_s3 = false;
            char *e = strchr(t, ']');
            if (!e) {
                in = false;
                continue;
            }
            *e = 0;
            char *name = trim(t + 1);
            if (config && strncmp(name, "profile ", 8) == 0)
                name = trim(name + 8);
            else if (config && strcmp(name, "default") != 0)
                name = ""; /* [sso-session x], [services x] ... */
            in = strcmp(name, profile) == 0;
            found |= in;
            continue;
        }
        if (!in)
            continue;
        char *eq = strchr(t, '=');
        if (!eq)
            continue;
        *eq = 0;
        char *k = trim(t), *v = trim(eq + 1);
        if (indented && in_s3) {
            if (strcmp(k, "addressing_style") == 0)
                set(&p->addressing_style, v);
            continue;
        }
        in_s3 = false;
        if (strcmp(k, "s3") == 0 && !*v) {
            in_s3 = true;
        } else if (strcmp(k, "aws_access_key_id") == 0) {
            if (!p->ak && !p->source)
                p->source = pdi_asprintf("profile '%s' in %s", profile, path);
            set(&p->ak, v);
        } else if (strcmp(k, "aws_secret_access_key") == 0) {
            set(&p->sk, v);
        } else if (strcmp(k, "aws_session_token") == 0) {
            set(&p->token, v);
        } else if (strcmp(k, "region") == 0) {
            set(&p->region, v);
        }
    }
    memset(text, 0, len);
    free(text);
    (void)found;
    return PD_OK;
}

int pdi_profile_load(const char *profile, pdi_profile *out)
{
    memset(out, 0, sizeof *out);
    const char *home = getenv("HOME");
    const char *cf = getenv("AWS_SHARED_CREDENTIALS_FILE");
    const char *gf = getenv("AWS_CONFIG_FILE");
    char *c1 = cf && *cf ? pdi_strdup(cf) : home ? pdi_asprintf("%s/.aws/credentials", home) : NULL;
    char *c2 = gf && *gf ? pdi_strdup(gf) : home ? pdi_asprintf("%s/.aws/config", home) : NULL;
    int rc = PD_OK;
    if (c1)
        rc = load(c1, profile, false, out);
    if (!rc && c2)
        rc = load(c2, profile, true, out);
    free(c1);
    free(c2);
    return rc;
}

void pdi_profile_free(pdi_profile *p)
{
    free(p->ak);
    if (p->sk)
        memset(p->sk, 0, strlen(p->sk));
    free(p->sk);
    if (p->token)
        memset(p->token, 0, strlen(p->token));
    free(p->token);
    free(p->region);
    free(p->addressing_style);
    free(p->source);
    memset(p, 0, sizeof *p);
}
