/* test_hub_cli.c: `emolab fetch` as a user runs it: help and usage errors, the progress bar,
 * --json, the token in no output and no file (even when the hub echoes it), HF_HUB_OFFLINE, two
 * concurrent processes fetching one file (one download), a disk that fills up mid-download
 * (cache consistent, the next run resumes) and a disk too small from the start. */
#define _GNU_SOURCE
#include "fixtures.h"
#include "testkit.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static hub_server *srv;
static hs_repo *repos;
static int32_t n_repos;
static const char *bin;
static char *home; /* HF_HOME: keeps the user's own token file out of the tests */

static bool has(const char *s, const char *needle) { return s && strstr(s, needle) != NULL; }

/* Runs `emolab fetch ARGS...` with HF_ENDPOINT/HF_HUB_CACHE/HF_HOME set and extra env. */
static int run_fetch(const char *cache, const char *const *extra_env, tk_run *r, ...) {
    const char *argv[16] = {bin, "fetch"};
    int n = 2;
    va_list ap;
    va_start(ap, r);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 15) argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char *e1 = el_printf("HF_ENDPOINT=%s", hs_url(srv));
    char *e2 = el_printf("HF_HUB_CACHE=%s", cache);
    char *e3 = el_printf("HF_HOME=%s", home);
    const char *env[24] = {e1, e2, e3, "HF_TOKEN=", "HF_TOKEN_PATH=", "HF_HUB_OFFLINE=",
                           "EMOLAB_HTTP_BACKOFF=0.01", "EMOLAB_HTTP_ATTEMPTS=4"};
    int k = 8;
    for (int i = 0; extra_env && extra_env[i] && k < 23; i++) env[k++] = extra_env[i];
    env[k] = NULL;
    int st = tk_exec(argv, env, r);
    free(e1);
    free(e2);
    free(e3);
    return st;
}

static void test_usage(void) {
    tk_run r;
    const char *h[] = {bin, "fetch", "--help", NULL};
    CHECK(tk_exec(h, NULL, &r) == 0 && has(r.out, "HF_TOKEN") && has(r.out, "--include") &&
          has(r.out, "HF_HUB_OFFLINE") && has(r.out, "example"));
    tk_run_free(&r);
    const char *n[] = {bin, "fetch", NULL};
    CHECK(tk_exec(n, NULL, &r) == 2 && has(r.err, "ORG/NAME"));
    tk_run_free(&r);
    const char *bad[] = {bin, "fetch", "bad name", NULL};
    CHECK(tk_exec(bad, NULL, &r) == 1 && has(r.err, "not allowed"));
    tk_run_free(&r);
}

static void test_fetch_json_progress_offline(void) {
    char *cache = tk_tempdir("cli-basic");
    tk_run r;
    /* offline and nothing cached: a clear error, no request */
    int32_t before = hs_requests(srv);
    const char *off[] = {"HF_HUB_OFFLINE=1", NULL};
    CHECK(run_fetch(cache, off, &r, "test-org/tiny", NULL) == 1);
    CHECK_MSG(has(r.err, "HF_HUB_OFFLINE") && has(r.err, "emolab fetch test-org/tiny@main") &&
                  r.out[0] == 0, "%s", r.err);
    CHECK(hs_requests(srv) == before);
    tk_run_free(&r);
    /* online, with the bar forced as on a terminal, JSON on stdout */
    const char *bar[] = {"EMOLAB_PROGRESS=1", NULL};
    CHECK(run_fetch(cache, bar, &r, "test-org/tiny", "--json", NULL) == 0);
    CHECK_MSG(has(r.out, "\"commit\":\"" FX_COMMIT "\"") && has(r.out, "\"snapshot\":"), "%s",
              r.out);
    CHECK_MSG(has(r.err, "KiB/s") && has(r.err, "took") && has(r.err, "model.safetensors") &&
                  has(r.err, "commit " FX_COMMIT) && has(r.err, "4 downloaded"), "%s", r.err);
    tk_run_free(&r);
    /* now offline works from the cache and prints the snapshot path */
    CHECK(run_fetch(cache, off, &r, "test-org/tiny", "-q", NULL) == 0);
    CHECK_MSG(has(r.out, "/models--test-org--tiny/snapshots/" FX_COMMIT), "%s", r.out);
    CHECK(r.err[0] == 0); /* -q: nothing on stderr */
    tk_run_free(&r);
    tk_rmrf(cache);
    free(cache);
}

static void test_token_never_shown(void) {
    char *cache = tk_tempdir("cli-token");
    char *tokdir = tk_tempdir("cli-tokfile");
    tk_run r;
    const char *bar[] = {"EMOLAB_PROGRESS=1", "HF_TOKEN=" FX_TOKEN, NULL};
    CHECK(run_fetch(cache, bar, &r, "test-org/gated", NULL) == 0);
    CHECK(!has(r.out, FX_TOKEN) && !has(r.err, FX_TOKEN) && !has(r.err, "TestSecret"));
    tk_run_free(&r);
    /* a wrong token that the hub echoes back in its error message */
    char *cache2 = tk_tempdir("cli-token2");
    const char *wrong[] = {"EMOLAB_PROGRESS=1", "HF_TOKEN=" FX_WRONG_TOKEN, NULL};
    CHECK(run_fetch(cache2, wrong, &r, "test-org/gated", NULL) == 1);
    CHECK_MSG(has(r.err, "refused the token") && has(r.err, "Invalid credentials"), "%s", r.err);
    CHECK_MSG(!has(r.out, FX_WRONG_TOKEN) && !has(r.err, FX_WRONG_TOKEN) &&
                  !has(r.err, "WrongToken"), "%s", r.err);
    tk_run_free(&r);
    /* the token file */
    char *tf = el_printf("%s/token", tokdir);
    FILE *f = fopen(tf, "w");
    fprintf(f, "%s\n", FX_TOKEN);
    fclose(f);
    char *tp = el_printf("HF_TOKEN_PATH=%s", tf);
    const char *file_env[] = {tp, "EMOLAB_PROGRESS=1", NULL};
    CHECK(run_fetch(cache2, file_env, &r, "test-org/gated", NULL) == 0);
    CHECK(!has(r.out, FX_TOKEN) && !has(r.err, FX_TOKEN));
    tk_run_free(&r);
    /* nothing written anywhere carries either token */
    CHECK(!tk_tree_contains(cache, FX_TOKEN) && !tk_tree_contains(cache2, FX_TOKEN));
    CHECK(!tk_tree_contains(cache2, FX_WRONG_TOKEN) && !tk_tree_contains(home, FX_TOKEN));
    free(tp);
    free(tf);
    tk_rmrf(cache);
    tk_rmrf(cache2);
    tk_rmrf(tokdir);
    free(cache);
    free(cache2);
    free(tokdir);
}

static void test_concurrent(void) {
    char *cache = tk_tempdir("cli-conc");
    hs_reset(srv);
    char *e1 = el_printf("HF_ENDPOINT=%s", hs_url(srv));
    char *e2 = el_printf("HF_HUB_CACHE=%s", cache);
    char *e3 = el_printf("HF_HOME=%s", home);
    const char *env[] = {e1, e2, e3, "HF_TOKEN=", "HF_HUB_OFFLINE=", "EMOLAB_PROGRESS=1", NULL};
    const char *argv[] = {bin, "fetch", "test-org/slow", NULL};
    char *o[2], *e[2];
    int pid[2];
    char *logs = tk_tempdir("cli-conc-logs");
    for (int i = 0; i < 2; i++) {
        o[i] = el_printf("%s/out%d", logs, i);
        e[i] = el_printf("%s/err%d", logs, i);
        pid[i] = tk_spawn(argv, env, o[i], e[i]);
    }
    int st0 = tk_wait(pid[0]), st1 = tk_wait(pid[1]);
    CHECK(st0 == 0 && st1 == 0);
    hs_stats st = hs_file_stats(srv, "test-org/slow", "model.safetensors");
    CHECK_MSG(st.content_gets == 1 && st.bytes_sent == (2 << 20) && st.heads == 2,
              "gets %d sent %lld",
              st.content_gets, (long long)st.bytes_sent);
    char *err0 = tk_slurp(e[0], NULL), *err1 = tk_slurp(e[1], NULL);
    CHECK_MSG(has(err0, "waiting for another process") || has(err1, "waiting for another process"),
              "no process waited:\n%s\n%s", err0 ? err0 : "", err1 ? err1 : "");
    CHECK(has(err0, "ETA") || has(err1, "ETA")); /* the bar showed an estimate on the way */
    char *out0 = tk_slurp(o[0], NULL), *out1 = tk_slurp(o[1], NULL);
    CHECK(out0 && out1 && !strcmp(out0, out1) && has(out0, FX_COMMIT2));
    hs_file *f = fx_file(fx_find(repos, n_repos, "test-org/slow"), "model.safetensors");
    char *snap = el_printf("%s/models--test-org--slow/snapshots/%s/model.safetensors", cache,
                           FX_COMMIT2);
    CHECK(tk_file_equals(snap, f->data, f->size));
    char *blobs = el_printf("%s/models--test-org--slow/blobs", cache);
    CHECK(tk_count_files(blobs, "") == 1 && tk_count_files(blobs, ".incomplete") == 0);
    for (int i = 0; i < 2; i++) {
        unlink(o[i]);
        unlink(e[i]);
        free(o[i]);
        free(e[i]);
    }
    free(err0);
    free(err1);
    free(out0);
    free(out1);
    free(snap);
    free(blobs);
    free(e1);
    free(e2);
    free(e3);
    tk_rmrf(logs);
    free(logs);
    tk_rmrf(cache);
    free(cache);
}

static void test_disk_full(void) {
    char *cache = tk_tempdir("cli-full");
    char *e1 = el_printf("HF_ENDPOINT=%s", hs_url(srv));
    char *e2 = el_printf("HF_HUB_CACHE=%s", cache);
    char *e3 = el_printf("HF_HOME=%s", home);
    const char *env[] = {e1, e2, e3, "HF_TOKEN=", "HF_HUB_OFFLINE=", "EMOLAB_HTTP_BACKOFF=0.01",
                         NULL};
    const char *argv[] = {bin, "fetch", "test-org/fat", NULL};
    tk_run r;
    /* writes fail at 1 MiB of the 2 MiB weights (RLIMIT_FSIZE: EFBIG, as ENOSPC would) */
    hs_reset(srv);
    CHECK(tk_exec_fsize(argv, env, 1 << 20, &r) == 1);
    CHECK_MSG(has(r.err, "write failed") && has(r.err, "model.safetensors"), "%s", r.err);
    tk_run_free(&r);
    hs_file *f = fx_file(fx_find(repos, n_repos, "test-org/fat"), "model.safetensors");
    char *link = el_printf("%s/models--test-org--fat/snapshots/%s/model.safetensors", cache,
                           FX_COMMIT);
    char *blob = el_printf("%s/models--test-org--fat/blobs/%s", cache, f->sha256);
    char *inc = el_printf("%s.incomplete", blob);
    char *ref = el_printf("%s/models--test-org--fat/refs/main", cache);
    CHECK(!tk_exists(link) && !tk_exists(blob) && !tk_exists(ref));
    struct stat st;
    CHECK(stat(inc, &st) == 0 && st.st_size > 0 && st.st_size <= (1 << 20));
    /* with room again, the next run resumes from the partial file */
    CHECK(tk_exec(argv, env, &r) == 0);
    tk_run_free(&r);
    hs_stats s = hs_file_stats(srv, "test-org/fat", "model.safetensors");
    CHECK_MSG(s.range_gets == 1 && s.last_range_start == (int64_t)st.st_size, "ranges %d at %lld",
              s.range_gets, (long long)s.last_range_start);
    CHECK(tk_file_equals(link, f->data, f->size) && !tk_exists(inc) && tk_exists(ref));
    free(link);
    free(blob);
    free(inc);
    free(ref);

    /* a real 1 MiB file system (tmpfs in a private mount namespace) for 2 MiB of weights: refused
     * before any download, the cache left without a blob or a link */
    if (access("/usr/bin/unshare", X_OK) == 0) {
        char *c2 = tk_tempdir("cli-tmpfs");
        char *e2b = el_printf("HF_HUB_CACHE=%s", c2);
        const char *env2[] = {e1, e2b, e3, "HF_TOKEN=", "HF_HUB_OFFLINE=", NULL};
        const char *script =
            "mount -t tmpfs -o size=1m tmpfs \"$0\" 2>/dev/null || exit 99; \"$@\"; rc=$?; "
            "echo ---; find \"$0\" -type l -o -name '*.incomplete' -o -path '*/blobs/*'; exit $rc";
        const char *argv2[] = {"/usr/bin/unshare", "-m", "/bin/sh", "-c", script, c2, bin,
                               "fetch", "test-org/fat", NULL};
        int rc = tk_exec(argv2, env2, &r);
        if (rc == 99 || (rc != 1 && has(r.err, "unshare"))) {
            printf("note: no tmpfs mount here (%d); the small-disk case is skipped\n", rc);
        } else {
            CHECK_MSG(rc == 1 && has(r.err, "free") && has(r.err, "HF_HUB_CACHE"), "rc %d: %s",
                      rc, r.err);
            const char *listing = strstr(r.out, "---");
            CHECK_MSG(listing && strlen(listing) <= 4, "left in the cache: %s", r.out);
        }
        tk_run_free(&r);
        tk_rmrf(c2);
        free(c2);
        free(e2b);
    }
    free(e1);
    free(e2);
    free(e3);
    tk_rmrf(cache);
    free(cache);
}

int main(void) {
    bin = tk_emolab_bin();
    home = tk_tempdir("cli-home");
    repos = fx_repos(&n_repos, 0);
    srv = hs_start(repos, n_repos);
    if (!srv) return 1;
    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {{"usage", test_usage},
                 {"fetch_json_progress_offline", test_fetch_json_progress_offline},
                 {"token_never_shown", test_token_never_shown},
                 {"concurrent", test_concurrent},
                 {"disk_full", test_disk_full}};
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) {
        double t0 = el_now();
        tests[i].fn();
        printf("%-30s %.2fs\n", tests[i].name, el_now() - t0);
    }
    hs_stop(srv);
    fx_free(repos, n_repos);
    tk_rmrf(home);
    free(home);
    return tk_finish("test_hub_cli");
}
