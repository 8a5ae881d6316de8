/*
 * tests/fs/fs_parse_fuzzer.c - libFuzzer target for what src/fs parses from
 * outside: S3 response XML (blocks, texts, entities; escape/unescape must
 * round-trip) and the AWS shared credentials/config files. The first byte
 * picks the parser. Replayed over tests/fs/corpus in every build.
 */
#include "fs/fs_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void xml(const char *s)
{
    const char *pos = s, *end, *blk;
    int n = 0;
    while (n++ < 1000 && (blk = pdi_xml_block(pos, "Contents", &end))) {
        char *chunk = pdi_strndup(blk, (size_t)(end - blk));
        char *k = chunk ? pdi_xml_text(chunk, "Key", NULL) : NULL;
        char *z = chunk ? pdi_xml_text(chunk, "Size", NULL) : NULL;
        free(k);
        free(z);
        free(chunk);
        pos = end;
    }
    const char *tags[] = {"Code", "Message", "UploadId", "NextContinuationToken", "ETag"};
    for (size_t i = 0; i < sizeof tags / sizeof *tags; i++) {
        const char *p = NULL;
        char *t;
        while ((t = pdi_xml_text(s, tags[i], &p)))
            free(t);
    }
    /* a key escaped for DeleteObjects reads back as itself */
    char *e = pdi_xml_escape(s);
    char *wrapped = e ? pdi_asprintf("<Key>%s</Key>", e) : NULL;
    char *back = wrapped ? pdi_xml_text(wrapped, "Key", NULL) : NULL;
    if (back && strcmp(back, s) != 0)
        abort();
    free(back);
    free(wrapped);
    free(e);
    char *u = pdi_uri_encode(s, true);
    free(u);
}

static void profile(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/pd_fs_fuzz_%ld", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(data, 1, size, f);
    fclose(f);
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    setenv("AWS_CONFIG_FILE", path, 1);
    const char *names[] = {"default", "p", "profile p"};
    for (size_t i = 0; i < 3; i++) {
        pdi_profile p;
        if (pdi_profile_load(names[i], &p) == PD_OK)
            pdi_profile_free(&p);
    }
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    if (data[0] & 1) {
        profile(data + 1, size - 1);
    } else {
        char *s = pdi_strndup((const char *)data + 1, size - 1);
        if (s)
            xml(s);
        free(s);
    }
    return 0;
}
