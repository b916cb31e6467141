/* fixtures.h: the repositories the emulated hub serves in the hub tests. */
#ifndef HUB_FIXTURES_H
#define HUB_FIXTURES_H

#include "hub_server.h"

#define FX_COMMIT "4a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
#define FX_COMMIT2 "b00b1e5b00b1e5b00b1e5b00b1e5b00b1e5b00b1"
#define FX_TOKEN "hf_TestSecretToken_9f8e7d6c5b4a"
#define FX_WRONG_TOKEN "hf_WrongToken_0a1b2c3d4e5f"

/* Builds every fixture repository (contents generated deterministically); big_mb > 0 adds
 * "test-org/big" with one LFS file of that many MiB. */
hs_repo *fx_repos(int32_t *n, int32_t big_mb);
void fx_free(hs_repo *repos, int32_t n);
hs_repo *fx_find(hs_repo *repos, int32_t n, const char *id);
hs_file *fx_file(hs_repo *r, const char *path);

#endif /* HUB_FIXTURES_H */
