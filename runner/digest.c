/* digest.c: see digest.h. */
#define _POSIX_C_SOURCE 200809L
#include "digest.h"

#include "util.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void to_hex(const unsigned char *md, int n, char *hex) {
    for (int i = 0; i < n; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[2 * n] = 0;
}

void el_git_blob_sha1(const void *data, int64_t n, char hex[41]) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    char head[40];
    int hn = snprintf(head, sizeof head, "blob %lld", (long long)n);
    EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
    EVP_DigestUpdate(ctx, head, (size_t)hn + 1); /* with the NUL */
    EVP_DigestUpdate(ctx, data, (size_t)n);
    unsigned char md[20];
    unsigned int mn = 0;
    EVP_DigestFinal_ex(ctx, md, &mn);
    EVP_MD_CTX_free(ctx);
    to_hex(md, 20, hex);
}

int el_git_blob_sha1_file(const char *path, char hex[41]) {
    FILE *f = fopen(path, "rb");
    if (!f) return el_err("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return el_err("%s: cannot stat: %s", path, strerror(errno));
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    char head[40];
    int hn = snprintf(head, sizeof head, "blob %lld", (long long)st.st_size);
    EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
    EVP_DigestUpdate(ctx, head, (size_t)hn + 1);
    char buf[1 << 16];
    size_t got;
    int64_t total = 0;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        EVP_DigestUpdate(ctx, buf, got);
        total += (int64_t)got;
    }
    int bad = ferror(f);
    fclose(f);
    unsigned char md[20];
    unsigned int mn = 0;
    EVP_DigestFinal_ex(ctx, md, &mn);
    EVP_MD_CTX_free(ctx);
    if (bad || total != (int64_t)st.st_size) return el_err("%s: read error", path);
    to_hex(md, 20, hex);
    return EL_OK;
}

bool el_is_lfs_pointer_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    char buf[64] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return el_starts_with(buf, "version https://git-lfs.github.com/spec/");
}

bool el_is_hex(const char *s, int32_t n) {
    if (!s) return false;
    for (int32_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return s[n] == 0;
}
