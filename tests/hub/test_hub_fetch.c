/* test_hub_fetch.c: el_hub_fetch against the emulated hub: the cache layout, caching, revisions,
 * patterns, single files, bad names and revisions, HTML answers, unsafe listings, corrupt
 * bodies, 500s, dropped and stalled connections, resumes, tokens, offline mode, an unreachable
 * hub, an unusable cache and a disk too small. */
#define _GNU_SOURCE
#include "fixtures.h"
#include "hub.h"
#include "testkit.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static hub_server *srv;
static hs_repo *repos;
static int32_t n_repos;

static el_hub_params params(const char *cache) {
    el_hub_params p = el_hub_default_params();
    p.endpoint = hs_url(srv);
    p.cache_dir = cache;
    p.token = "";
    p.offline = 0;
    p.quiet = true;
    p.http.progress = false;
    p.http.backoff_initial_s = 0.01;
    p.http.max_attempts = 4;
    p.http.stall_timeout_s = 1;
    return p;
}

static char *path_in(const char *cache, const char *fmt, const char *a) {
    char *rel = el_printf(fmt, a);
    char *p = el_path_join(cache, rel);
    free(rel);
    return p;
}

static bool has(const char *s, const char *needle) { return s && strstr(s, needle) != NULL; }

static void test_layout_and_cache(void) {
    char *cache = tk_tempdir("hub-layout");
    el_hub_params p = params(cache);
    hs_repo *r = fx_find(repos, n_repos, "test-org/tiny");
    el_hub_snapshot s;
    int rc = el_hub_fetch("test-org/tiny", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc != EL_OK) goto out;
    CHECK(!strcmp(s.commit, FX_COMMIT));
    CHECK(!strcmp(s.revision, "main"));
    CHECK(s.n_files == 4); /* config, tokenizer, safetensors, vocab: not README, not .bin */
    CHECK(s.n_downloaded == 4 && s.n_cached == 0);
    char *want_snap = path_in(cache, "models--test-org--tiny/snapshots/%s", FX_COMMIT);
    char real[4096];
    CHECK(realpath(want_snap, real) && !strcmp(real, s.snapshot_dir));
    const char *expect[] = {"config.json", "tokenizer.json", "model.safetensors",
                            "sub/dir/vocab.txt"};
    for (int i = 0; i < 4; i++) {
        hs_file *f = fx_file(r, expect[i]);
        char *link = el_printf("%s/%s", want_snap, expect[i]);
        CHECK_MSG(tk_is_symlink(link), "%s is not a symlink", link);
        char *t = tk_readlink(link);
        const char *etag = f->lfs ? f->sha256 : f->git_blob;
        char *want = el_printf("%sblobs/%s", strchr(expect[i], '/') ? "../../../../" : "../../",
                               etag);
        CHECK_MSG(t && !strcmp(t, want), "%s -> %s, want %s", expect[i], t ? t : "?", want);
        CHECK_MSG(tk_file_equals(link, f->data, f->size), "content of %s", expect[i]);
        char *blob = el_printf("%s/models--test-org--tiny/blobs/%s", cache, etag);
        CHECK(tk_exists(blob) && !tk_is_symlink(blob));
        free(blob);
        free(want);
        free(t);
        free(link);
    }
    char *readme = el_printf("%s/README.md", want_snap);
    CHECK(!tk_exists(readme));
    free(readme);
    char *ref = path_in(cache, "models--test-org--tiny/refs/%s", "main");
    size_t len = 0;
    char *refc = tk_slurp(ref, &len);
    CHECK(refc && len == 40 && !memcmp(refc, FX_COMMIT, 40));
    free(refc);
    free(ref);
    CHECK(tk_count_files(cache, ".incomplete") == 0);
    char *lock = el_printf("%s/.locks/models--test-org--tiny/%s.lock", cache,
                           fx_file(r, "model.safetensors")->sha256);
    CHECK(tk_exists(lock));
    free(lock);
    /* the LFS file went through the 302 to /cdn once; the HEAD did not follow it */
    hs_stats st = hs_file_stats(srv, "test-org/tiny", "model.safetensors");
    CHECK_MSG(st.content_gets == 1 && st.heads == 1, "gets %d heads %d", st.content_gets, st.heads);
    el_hub_snapshot_free(&s);

    /* a second fetch asks the API only: no HEAD, no GET */
    hs_reset(srv);
    rc = el_hub_fetch("test-org/tiny@main", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) {
        CHECK(s.n_downloaded == 0 && s.n_cached == 4 && s.bytes_downloaded == 0);
        el_hub_snapshot_free(&s);
    }
    CHECK(hs_api_calls(srv) == 1);
    CHECK_MSG(hs_requests(srv) == 1, "%d requests", hs_requests(srv));

    /* a tag resolves to the same commit and gets its own ref; a commit gets none */
    rc = el_hub_fetch("test-org/tiny@v1.0", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) el_hub_snapshot_free(&s);
    char *tag = path_in(cache, "models--test-org--tiny/refs/%s", "v1.0");
    CHECK(tk_exists(tag));
    free(tag);
    rc = el_hub_fetch("test-org/tiny@" FX_COMMIT, &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) {
        CHECK(s.n_downloaded == 0);
        el_hub_snapshot_free(&s);
    }
    char *cref = path_in(cache, "models--test-org--tiny/refs/%s", FX_COMMIT);
    CHECK(!tk_exists(cref));
    free(cref);

    /* a renamed repository: the hub's relative redirects are followed, the cache keeps the
     * name that was asked for (as huggingface_hub does) */
    rc = el_hub_fetch("test-org/old-name", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) {
        CHECK(s.n_files == 4 && has(s.snapshot_dir, "models--test-org--old-name/snapshots/"));
        el_hub_snapshot_free(&s);
    }

    /* --force downloads and verifies again */
    p.force = true;
    rc = el_hub_fetch("test-org/tiny", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) {
        CHECK(s.n_downloaded == 4);
        el_hub_snapshot_free(&s);
    }
    p.force = false;

    /* offline: the cache alone, zero requests */
    hs_reset(srv);
    p.offline = 1;
    rc = el_hub_fetch("test-org/tiny", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) {
        CHECK(s.from_cache && s.n_files == 4 && !strcmp(s.commit, FX_COMMIT));
        el_hub_snapshot_free(&s);
    }
    CHECK(hs_requests(srv) == 0);
    rc = el_hub_fetch("test-org/tiny@v2", &p, &s);
    CHECK(rc == EL_ERR && has(el_last_error(), "HF_HUB_OFFLINE") &&
          has(el_last_error(), "emolab fetch test-org/tiny@v2"));
    rc = el_hub_fetch("test-org/gated", &p, &s);
    CHECK(rc == EL_ERR && has(el_last_error(), "not in the cache"));
    const char *readme_only[] = {"README.md"};
    p.include = readme_only;
    p.n_include = 1;
    rc = el_hub_fetch("test-org/tiny", &p, &s);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "README.md"), "%s", el_last_error());
    p.include = NULL;
    p.n_include = 0;
    /* HF_HUB_OFFLINE=1 in the environment does the same */
    p.offline = -1;
    setenv("HF_HUB_OFFLINE", "1", 1);
    rc = el_hub_fetch("test-org/tiny", &p, &s);
    CHECK(rc == EL_OK);
    if (rc == EL_OK) el_hub_snapshot_free(&s);
    rc = el_hub_fetch("test-org/flaky", &p, &s);
    CHECK(rc == EL_ERR && has(el_last_error(), "HF_HUB_OFFLINE"));
    unsetenv("HF_HUB_OFFLINE");
    CHECK(hs_requests(srv) == 0);
    p.offline = 0;

    /* the hub unreachable: the cached snapshot is used, an uncached one fails clearly */
    el_hub_params q = p;
    q.endpoint = "http://127.0.0.1:1";
    rc = el_hub_fetch("test-org/tiny", &q, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) {
        CHECK(s.from_cache);
        el_hub_snapshot_free(&s);
    }
    rc = el_hub_fetch("test-org/gated", &q, &s);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "127.0.0.1:1") &&
                  has(el_last_error(), "network"), "%s", el_last_error());
    free(want_snap);
out:
    tk_rmrf(cache);
    free(cache);
}

static void test_patterns_and_single_files(void) {
    char *cache = tk_tempdir("hub-include");
    el_hub_params p = params(cache);
    const char *json[] = {"*.json"};
    p.include = json;
    p.n_include = 1;
    el_hub_snapshot s;
    int rc = el_hub_fetch("test-org/tiny", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) {
        CHECK(s.n_files == 2);
        el_hub_snapshot_free(&s);
    }
    char *w = path_in(cache, "models--test-org--tiny/snapshots/%s/model.safetensors", FX_COMMIT);
    CHECK(!tk_exists(w));
    free(w);
    const char *nope[] = {"nope.txt"};
    p.include = nope;
    rc = el_hub_fetch("test-org/tiny", &p, &s);
    CHECK(rc == EL_ERR && has(el_last_error(), "nope.txt") && has(el_last_error(), "not a file"));
    const char *none[] = {"*.onnx"};
    p.include = none;
    rc = el_hub_fetch("test-org/tiny", &p, &s);
    CHECK(rc == EL_ERR && has(el_last_error(), "config.json")); /* lists what there is */
    p.include = NULL;
    p.all_files = true;
    rc = el_hub_fetch("test-org/tiny", &p, &s);
    CHECK(rc == EL_OK && s.n_files == 6);
    if (rc == EL_OK) el_hub_snapshot_free(&s);
    p.all_files = false;
    /* no safetensors in the repo: pytorch_model.bin is taken */
    rc = el_hub_fetch("test-org/onlybin", &p, &s);
    CHECK_MSG(rc == EL_OK && s.n_files == 2, "%s", el_last_error());
    if (rc == EL_OK) el_hub_snapshot_free(&s);

    /* one file without the API, like hf_hub_download */
    char *local = NULL;
    char commit[41];
    hs_reset(srv);
    rc = el_hub_fetch_file("test-org/tiny@v1.0", "sub/dir/vocab.txt", &p, &local, commit);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) {
        hs_file *f = fx_file(fx_find(repos, n_repos, "test-org/tiny"), "sub/dir/vocab.txt");
        CHECK(tk_file_equals(local, f->data, f->size));
        CHECK(!strcmp(commit, FX_COMMIT));
        free(local);
    }
    CHECK(hs_api_calls(srv) == 0);
    rc = el_hub_fetch_file("test-org/tiny", "no/such.json", &p, &local, commit);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "no/such.json") &&
                  has(el_last_error(), "does not exist"), "%s", el_last_error());
    char *ns = path_in(cache, "models--test-org--tiny/snapshots/%s/no", FX_COMMIT);
    CHECK(!tk_exists(ns));
    free(ns);
    rc = el_hub_fetch_file("test-org/tiny", "../x", &p, &local, commit);
    CHECK(rc == EL_ERR);
    tk_rmrf(cache);
    free(cache);
}

static void test_bad_input(void) {
    char *cache = tk_tempdir("hub-bad");
    el_hub_params p = params(cache);
    el_hub_snapshot s;
    const char *bad[] = {"",          "org/na me",    "a/b/c",       "../etc",     "org/",
                         "/org",      "org/--x",      "org/x..y",    "org/x.git",  "org/-x",
                         "org/x@",    "org/x@a..b",   "org/x@a b",   "org/x@/abs", "org/x@a:b",
                         "org/na\tme", "org/name;rm", "org/ünicode", "org/x@refs/../main"};
    int32_t before = hs_requests(srv);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = el_hub_fetch(bad[i], &p, &s);
        CHECK_MSG(rc == EL_ERR && strlen(el_last_error()) > 20, "'%s' accepted", bad[i]);
    }
    CHECK(hs_requests(srv) == before); /* refused before any request */
    CHECK(tk_count_files(cache, "") == 0);
    /* long names */
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    longname[3] = '/';
    CHECK(el_hub_fetch(longname, &p, &s) == EL_ERR);
    /* good names pass the checks */
    CHECK(el_hub_check_repo_id("ai-forever/ru-en-RoSBERTa") == EL_OK);
    CHECK(el_hub_check_repo_id("gpt2") == EL_OK);
    CHECK(el_hub_check_revision("refs/pr/1") == EL_OK);
    CHECK(el_hub_check_revision(FX_COMMIT) == EL_OK);
    CHECK(el_hub_check_filename("a/b.json") == EL_OK);
    CHECK(el_hub_check_filename("a//b") == EL_ERR);
    CHECK(el_hub_check_filename("a/./b") == EL_ERR);
    CHECK(el_hub_check_filename("a\\b") == EL_ERR);
    char *fn = el_hub_folder_name("ai-forever/ru-en-RoSBERTa");
    CHECK(!strcmp(fn, "models--ai-forever--ru-en-RoSBERTa"));
    free(fn);

    /* a revision that does not exist */
    int rc = el_hub_fetch("test-org/tiny@nope", &p, &s);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "revision 'nope' does not exist"), "%s",
              el_last_error());
    /* a repository that does not exist */
    rc = el_hub_fetch("test-org/absent", &p, &s);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "not found") && has(el_last_error(), "HF_TOKEN"),
              "%s", el_last_error());
    char *d = path_in(cache, "models--test-org--%s", "tiny");
    CHECK(!tk_exists(d)); /* nothing was created for failed resolutions */
    free(d);
    /* an HTML page instead of JSON */
    rc = el_hub_fetch("test-org/html", &p, &s);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "HTML") && has(el_last_error(), "HF_ENDPOINT"),
              "%s", el_last_error());
    /* an endpoint that is a web site, not a hub: HTML 404 */
    char *site = el_printf("%s/some/site", hs_url(srv));
    el_hub_params q = p;
    q.endpoint = site;
    rc = el_hub_fetch("test-org/tiny", &q, &s);
    CHECK_MSG(rc == EL_ERR, "%s", el_last_error());
    free(site);
    /* unsafe names in the listing: nothing written anywhere */
    rc = el_hub_fetch("test-org/evil", &p, &s);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "unsafe") && has(el_last_error(), "../evil.txt"),
              "%s", el_last_error());
    rc = el_hub_fetch("test-org/evil-abs", &p, &s);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "absolute"), "%s", el_last_error());
    CHECK(!tk_exists("/tmp/emolab-evil-abs.json"));
    char *ev = el_printf("%s/../evil.txt", cache);
    CHECK(!tk_exists(ev));
    free(ev);
    char *evd = path_in(cache, "models--test-org--%s", "evil");
    CHECK(!tk_exists(evd));
    free(evd);
    /* listed but missing on resolve */
    rc = el_hub_fetch("test-org/missing", &p, &s);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "model.safetensors"), "%s", el_last_error());
    char *mref = path_in(cache, "models--test-org--missing/refs/%s", "main");
    CHECK(!tk_exists(mref));
    free(mref);
    /* not enough space: refused before downloading */
    hs_reset(srv);
    rc = el_hub_fetch("test-org/huge", &p, &s);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "free") && has(el_last_error(), "HF_HUB_CACHE"),
              "%s", el_last_error());
    CHECK(hs_file_stats(srv, "test-org/huge", "model.safetensors").content_gets == 0);
    /* an unusable cache directory: a file where a directory must be */
    char *file = el_printf("%s/afile", cache);
    FILE *f = fopen(file, "w");
    fputs("x", f);
    fclose(f);
    char *under = el_printf("%s/sub", file);
    el_hub_params u = p;
    u.cache_dir = under;
    rc = el_hub_fetch("test-org/tiny", &u, &s);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "HF_HUB_CACHE") &&
                  has(el_last_error(), "Not a directory"), "%s", el_last_error());
    free(under);
    free(file);
    tk_rmrf(cache);
    free(cache);
}

static void test_faults(void) {
    char *cache = tk_tempdir("hub-faults");
    el_hub_params p = params(cache);
    el_hub_snapshot s;
    hs_reset(srv);
    /* a body that does not match its sha256: refused, nothing left */
    hs_repo *bad = fx_find(repos, n_repos, "test-org/badsha");
    int rc = el_hub_fetch("test-org/badsha", &p, &s);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "sha256") && has(el_last_error(), "corrupt"),
              "%s", el_last_error());
    char *lnk = path_in(cache, "models--test-org--badsha/snapshots/%s/model.safetensors", FX_COMMIT);
    CHECK(!tk_exists(lnk));
    free(lnk);
    char *blobs = path_in(cache, "models--test-org--%s/blobs", "badsha");
    CHECK(tk_count_files(blobs, ".incomplete") == 0);
    char *adv = el_printf("%s/%s", blobs, fx_file(bad, "model.safetensors")->sha256);
    CHECK(!tk_exists(adv));
    free(adv);
    CHECK(tk_count_files(blobs, "") == 1); /* config.json only */
    free(blobs);
    char *bref = path_in(cache, "models--test-org--badsha/refs/%s", "main");
    CHECK(!tk_exists(bref));
    free(bref);

    /* 500 twice then 200 */
    rc = el_hub_fetch("test-org/flaky", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) el_hub_snapshot_free(&s);
    CHECK(hs_file_stats(srv, "test-org/flaky", "config.json").content_gets == 3);
    CHECK(hs_file_stats(srv, "test-org/flaky", "model.safetensors").content_gets == 3);
    /* 500 forever: gives up after max_attempts with a clear message */
    rc = el_hub_fetch("test-org/always500", &p, &s);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "500") && has(el_last_error(), "4 attempts"),
              "%s", el_last_error());
    CHECK(hs_file_stats(srv, "test-org/always500", "model.safetensors").content_gets == 4);

    /* the connection closed mid-body: the next try resumes with Range */
    rc = el_hub_fetch("test-org/dropper", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) {
        hs_file *f = fx_file(fx_find(repos, n_repos, "test-org/dropper"), "model.safetensors");
        char *path = el_printf("%s/model.safetensors", s.snapshot_dir);
        CHECK(tk_file_equals(path, f->data, f->size));
        free(path);
        el_hub_snapshot_free(&s);
    }
    hs_stats st = hs_file_stats(srv, "test-org/dropper", "model.safetensors");
    CHECK_MSG(st.content_gets == 2 && st.range_gets == 1 && st.last_range_start > 0 &&
                  st.last_range_start <= 400000,
              "gets %d ranges %d start %lld", st.content_gets, st.range_gets,
              (long long)st.last_range_start);

    /* a stalled transfer times out and resumes */
    double t0 = el_now();
    rc = el_hub_fetch("test-org/stall", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) el_hub_snapshot_free(&s);
    st = hs_file_stats(srv, "test-org/stall", "model.safetensors");
    CHECK_MSG(st.range_gets == 1 && st.last_range_start == 100000, "ranges %d start %lld",
              st.range_gets, (long long)st.last_range_start);
    CHECK(el_now() - t0 < 10);

    /* a partial download left by an earlier run is resumed from its end */
    hs_file *pf = fx_file(fx_find(repos, n_repos, "test-org/partial"), "model.safetensors");
    char *pblobs = path_in(cache, "models--test-org--%s/blobs", "partial");
    el_mkdirs(pblobs, 0755);
    char *inc = el_printf("%s/%s.incomplete", pblobs, pf->sha256);
    FILE *f = fopen(inc, "wb");
    fwrite(pf->data, 1, 120000, f);
    fclose(f);
    rc = el_hub_fetch("test-org/partial", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) {
        CHECK(s.bytes_downloaded == 80000);
        el_hub_snapshot_free(&s);
    }
    st = hs_file_stats(srv, "test-org/partial", "model.safetensors");
    CHECK_MSG(st.range_gets == 1 && st.last_range_start == 120000 && st.bytes_sent == 80000,
              "ranges %d start %lld sent %lld", st.range_gets, (long long)st.last_range_start,
              (long long)st.bytes_sent);
    CHECK(!tk_exists(inc));
    /* a corrupt partial download: the resumed result fails verification, one fresh try */
    p.force = true;
    f = fopen(inc, "wb");
    for (int i = 0; i < 50000; i++) fputc('z', f);
    fclose(f);
    p.force = false;
    char *pblob = el_printf("%s/%s", pblobs, pf->sha256);
    unlink(pblob);
    char *plink = path_in(cache, "models--test-org--partial/snapshots/%s/model.safetensors", FX_COMMIT);
    unlink(plink);
    hs_reset(srv);
    rc = el_hub_fetch("test-org/partial", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) el_hub_snapshot_free(&s);
    CHECK(tk_file_equals(plink, pf->data, pf->size));
    st = hs_file_stats(srv, "test-org/partial", "model.safetensors");
    CHECK_MSG(st.content_gets == 2, "gets %d", st.content_gets);
    free(plink);
    free(pblob);
    free(inc);
    free(pblobs);

    /* a server that ignores Range: the partial file is replaced by the full body */
    hs_file *nf = fx_file(fx_find(repos, n_repos, "test-org/norange"), "model.safetensors");
    char *nblobs = path_in(cache, "models--test-org--%s/blobs", "norange");
    el_mkdirs(nblobs, 0755);
    char *ninc = el_printf("%s/%s.incomplete", nblobs, nf->sha256);
    f = fopen(ninc, "wb");
    fwrite(nf->data, 1, 1000, f);
    fclose(f);
    rc = el_hub_fetch("test-org/norange", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) {
        char *path = el_printf("%s/model.safetensors", s.snapshot_dir);
        CHECK(tk_file_equals(path, nf->data, nf->size));
        free(path);
        el_hub_snapshot_free(&s);
    }
    free(ninc);
    free(nblobs);
    tk_rmrf(cache);
    free(cache);
}

static void test_token(void) {
    char *cache = tk_tempdir("hub-token");
    el_hub_params p = params(cache);
    el_hub_snapshot s;
    int rc = el_hub_fetch("test-org/gated", &p, &s);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "401") && has(el_last_error(), "HF_TOKEN"), "%s",
              el_last_error());
    p.token = FX_WRONG_TOKEN; /* the server echoes a wrong token back in its error */
    rc = el_hub_fetch("test-org/gated", &p, &s);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "refused the token") &&
                  !has(el_last_error(), FX_WRONG_TOKEN) && !has(el_last_error(), "WrongToken"),
              "%s", el_last_error());
    p.token = FX_TOKEN;
    rc = el_hub_fetch("test-org/gated", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) el_hub_snapshot_free(&s);
    CHECK(!tk_tree_contains(cache, FX_TOKEN));
    CHECK(hs_cdn_auth_seen(srv) == 0); /* the token never left the hub's origin */
    /* the token file, when HF_TOKEN is not set */
    tk_rmrf(cache);
    el_mkdirs(cache, 0755);
    char *tf = el_printf("%s/token", cache);
    FILE *f = fopen(tf, "w");
    fprintf(f, "  %s\n", FX_TOKEN);
    fclose(f);
    unsetenv("HF_TOKEN");
    unsetenv("HUGGING_FACE_HUB_TOKEN");
    setenv("HF_TOKEN_PATH", tf, 1);
    char *tok = NULL;
    CHECK(el_hub_token(&tok) == EL_OK && tok && !strcmp(tok, FX_TOKEN));
    free(tok);
    char *sub = el_printf("%s/hub", cache);
    p.cache_dir = sub;
    p.token = NULL;
    rc = el_hub_fetch("test-org/gated", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) el_hub_snapshot_free(&s);
    /* a token with a line break is refused without being quoted */
    f = fopen(tf, "w");
    fprintf(f, "hf_abc def\n");
    fclose(f);
    CHECK(el_hub_token(&tok) == EL_ERR && !has(el_last_error(), "hf_abc"));
    unsetenv("HF_TOKEN_PATH");
    free(sub);
    free(tf);
    tk_rmrf(cache);
    free(cache);
}

int main(void) {
    unsetenv("HF_HUB_OFFLINE");
    unsetenv("HF_TOKEN");
    repos = fx_repos(&n_repos, 0);
    srv = hs_start(repos, n_repos);
    if (!srv) return 1;
    test_layout_and_cache();
    test_patterns_and_single_files();
    test_bad_input();
    test_faults();
    test_token();
    hs_stop(srv);
    fx_free(repos, n_repos);
    return tk_finish("test_hub_fetch");
}
