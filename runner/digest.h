/* digest.h: content checks for downloaded files: the git blob id (what SOURCE.md files and a
 * hub's ETag of a plain file name) and Git LFS pointer detection. SHA-256 lives in util.h. */
#ifndef EL_DIGEST_H
#define EL_DIGEST_H

#include <stdbool.h>
#include <stdint.h>

/* sha1("blob <size>\0" + content) of a file, as `git hash-object` prints it. */
int el_git_blob_sha1_file(const char *path, char hex[41]);
/* The same for a buffer. */
void el_git_blob_sha1(const void *data, int64_t n, char hex[41]);
/* Whether a file starts like a Git LFS pointer ("version https://git-lfs..."): what a raw URL
 * serves instead of the content when the repository keeps the file in LFS. */
bool el_is_lfs_pointer_file(const char *path);
/* Lowercase hex of exactly n digits. */
bool el_is_hex(const char *s, int32_t n);

#endif /* EL_DIGEST_H */
