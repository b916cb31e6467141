/* test_hub_python.c: the cache is shared with Python's huggingface_hub both ways. Skipped (77)
 * when huggingface_hub is not importable (it is not a dependency; no network is needed).
 *  1. emolab fetches from the emulated hub; huggingface_hub reads the cache offline
 *     (hf_hub_download, snapshot_download, scan_cache_dir without warnings).
 *  2. huggingface_hub downloads from the emulated hub; emolab resolves it offline. */
#define _GNU_SOURCE
#include "fixtures.h"
#include "hub.h"
#include "testkit.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool has(const char *s, const char *needle) { return s && strstr(s, needle) != NULL; }

static const char *find_python(void) {
    static char buf[4096];
    const char *e = getenv("EMOLAB_PYTHON");
    if (e && *e && access(e, X_OK) == 0) return e;
    const char *path = getenv("PATH");
    if (!path) return NULL;
    char *copy = strdup(path), *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(buf, sizeof buf, "%s/python3", d);
        if (access(buf, X_OK) == 0) {
            free(copy);
            return buf;
        }
    }
    free(copy);
    return NULL;
}

int main(void) {
    const char *py = find_python();
    const char *src = getenv("EMOLAB_SOURCE_DIR");
    if (!py || !src) {
        printf("skipped: no python3\n");
        return 77;
    }
    tk_run r;
    const char *probe[] = {py, "-c", "import huggingface_hub", NULL};
    if (tk_exec(probe, NULL, &r) != 0) {
        printf("skipped: huggingface_hub is not importable by %s\n", py);
        tk_run_free(&r);
        return 77;
    }
    tk_run_free(&r);
    char *script = el_printf("%s/tests/hub/hf_compat.py", src);
    int32_t n_repos;
    hs_repo *repos = fx_repos(&n_repos, 0);
    hub_server *srv = hs_start(repos, n_repos);
    if (!srv) return 1;
    hs_repo *tiny = fx_find(repos, n_repos, "test-org/tiny");
    char *cache = tk_tempdir("py-cache");
    char *home = tk_tempdir("py-home");
    char *ep = el_printf("HF_ENDPOINT=%s", hs_url(srv));
    char *hh = el_printf("HF_HOME=%s", home);
    const char *env[] = {ep, hh, "HF_TOKEN=", "HF_HUB_OFFLINE=", "HF_HUB_DISABLE_TELEMETRY=1",
                         "PYTHONDONTWRITEBYTECODE=1", NULL};

    /* 1. emolab writes, huggingface_hub reads */
    el_hub_params p = el_hub_default_params();
    p.endpoint = hs_url(srv);
    p.cache_dir = cache;
    p.token = "";
    p.offline = 0;
    p.quiet = true;
    p.http.progress = false;
    el_hub_snapshot s;
    int rc = el_hub_fetch("test-org/tiny@v1.0", &p, &s);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    if (rc == EL_OK) {
        const char *argv[] = {py, script, "read", cache, "test-org/tiny", "v1.0",
                              "config.json", "model.safetensors", "sub/dir/vocab.txt", NULL};
        int st = tk_exec(argv, env, &r);
        CHECK_MSG(st == 0, "python exit %d: %s", st, r.err);
        printf("huggingface_hub read: %s", r.out);
        const char *names[] = {"config.json", "model.safetensors", "sub/dir/vocab.txt"};
        for (int i = 0; i < 3; i++) {
            char *want = el_printf("\"sha256\": \"%s\"", fx_file(tiny, names[i])->sha256);
            CHECK_MSG(has(r.out, want), "%s not read back", names[i]);
            free(want);
        }
        char *snap = el_printf("\"snapshot\": \"%s\"", s.snapshot_dir);
        CHECK_MSG(has(r.out, snap) || has(r.out, "/snapshots/" FX_COMMIT "\""), "%s", r.out);
        free(snap);
        CHECK_MSG(has(r.out, "\"warnings\": []"), "scan_cache_dir warned: %s", r.out);
        CHECK(has(r.out, "\"refs\": [\"v1.0\"]") && has(r.out, "\"nb_files\": 4") &&
              has(r.out, "\"revisions\": [\"" FX_COMMIT "\"]"));
        tk_run_free(&r);
        el_hub_snapshot_free(&s);
    }

    /* 2. huggingface_hub writes (from the emulated hub), emolab reads offline */
    char *cache2 = tk_tempdir("py-cache2");
    const char *argv2[] = {py, script, "download", cache2, "test-org/tiny", "main",
                           "config.json", "model.safetensors", "tokenizer.json",
                           "sub/dir/vocab.txt", NULL};
    int st = tk_exec(argv2, env, &r);
    CHECK_MSG(st == 0, "python download exit %d: %s", st, r.err);
    tk_run_free(&r);
    if (st == 0) {
        p.cache_dir = cache2;
        p.offline = 1;
        rc = el_hub_fetch("test-org/tiny", &p, &s);
        CHECK_MSG(rc == EL_OK, "%s", el_last_error());
        if (rc == EL_OK) {
            CHECK(!strcmp(s.commit, FX_COMMIT) && s.n_files == 4);
            for (int32_t i = 0; i < s.n_files; i++) {
                hs_file *f = fx_file(tiny, s.files[i]);
                char *path = el_printf("%s/%s", s.snapshot_dir, s.files[i]);
                CHECK_MSG(f && tk_file_equals(path, f->data, f->size), "%s", s.files[i]);
                free(path);
            }
            el_hub_snapshot_free(&s);
        }
        /* and online, emolab finds everything in place: no download */
        p.offline = 0;
        hs_reset(srv);
        rc = el_hub_fetch("test-org/tiny", &p, &s);
        CHECK_MSG(rc == EL_OK && s.n_downloaded == 0, "%s", el_last_error());
        if (rc == EL_OK) el_hub_snapshot_free(&s);
        CHECK(hs_file_stats(srv, "test-org/tiny", "model.safetensors").content_gets == 0);
    }
    hs_stop(srv);
    fx_free(repos, n_repos);
    tk_rmrf(cache);
    tk_rmrf(cache2);
    tk_rmrf(home);
    free(cache);
    free(cache2);
    free(home);
    free(ep);
    free(hh);
    free(script);
    return tk_finish("test_hub_python");
}
