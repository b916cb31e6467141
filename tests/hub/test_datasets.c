/* test_datasets.c: configs/datasets.yaml and the data cache: every pin checked against the real
 * copies in ../shared/data (sha256, git blob id, size), `emolab data fetch` through a mirror
 * directory, a corrupted mirror file refused, a corrupted cache file replaced, files missing
 * from a mirror or without an upstream URL, URLs in specs (catalogued, pinned by fragment,
 * unpinned), an HTTP mirror with a dropped connection, and catalog errors with file:line:col. */
#define _GNU_SOURCE
#include "datasets.h"
#include "digest.h"
#include "fixtures.h"
#include "testkit.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *data_dir;
static char *catalog_path;
static el_datasets_catalog cat;

static bool has(const char *s, const char *needle) { return s && strstr(s, needle) != NULL; }

static el_datasets_params params(const char *cache, const char *mirror) {
    el_datasets_params p = el_datasets_default_params();
    p.cache_dir = cache;
    p.mirror = mirror;
    p.quiet = true;
    p.http.progress = false;
    p.http.backoff_initial_s = 0.01;
    p.http.max_attempts = 4;
    return p;
}

static void test_catalog_pins(void) {
    CHECK(cat.n_sets >= 6);
    int verified = 0, with_url = 0;
    for (int32_t i = 0; i < cat.n_files; i++) {
        const el_datasets_file *f = &cat.files[i];
        CHECK(f->sha256[0] || f->git_blob[0]);
        if (f->url) {
            with_url++;
            CHECK_MSG(el_starts_with(f->url, "https://raw.githubusercontent.com/"), "%s", f->url);
            /* the URL pins a commit: owner/repo/<40 hex>/... */
            const char *p = f->url + strlen("https://raw.githubusercontent.com/");
            for (int k = 0; k < 2 && p; k++) p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL;
            CHECK_MSG(p && strlen(p) > 41 && p[40] == '/', "%s", f->url);
            if (p) {
                char c[41];
                memcpy(c, p, 40);
                c[40] = 0;
                CHECK_MSG(el_is_hex(c, 40), "%s", f->url);
            }
        }
        char *local = el_path_join(data_dir, f->path);
        if (tk_exists(local)) {
            CHECK_MSG(el_datasets_verify(f, local) == EL_OK, "%s", el_last_error());
            CHECK(f->bytes >= 0);
            verified++;
        }
        free(local);
    }
    /* every data file in ../shared/data is catalogued and matches */
    CHECK_MSG(verified == 11, "verified %d", verified);
    CHECK(with_url == cat.n_files - 1); /* only the derived train file has no URL */
    /* the full train split upstream, pinned by its git blob ids from SOURCE.md */
    const el_datasets_entry *full = el_datasets_find(&cat, "ru_go_emotions_train_full");
    CHECK(full && full->n_files == 2);
    bool head = false, old = false;
    for (int32_t i = 0; full && i < full->n_files; i++) {
        const el_datasets_file *f = &cat.files[full->files[i]];
        head |= !strcmp(f->git_blob, "dcceb163ccd25c45681fbea73cc7b4e9c1c42226");
        old |= !strcmp(f->git_blob, "052bee7945e3afd2071eb54f26d669e603cec2e8");
    }
    CHECK(head && old);
    const el_datasets_entry *b = el_datasets_find(&cat, "ru-go-ekman");
    CHECK(b && b->n_files == 3);
    /* git blob ids as git computes them */
    char hex[41];
    el_git_blob_sha1("", 0, hex);
    CHECK(!strcmp(hex, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"));
    el_git_blob_sha1("hello\n", 6, hex);
    CHECK(!strcmp(hex, "ce013625030ba8dba906f756967f9e9ca394464a"));
}

static void test_mirror_fetch(void) {
    char *cache = tk_tempdir("data-cache");
    el_datasets_params p = params(cache, data_dir);
    CHECK_MSG(el_datasets_fetch_set(&cat, "ru-go-ekman-ext", &p) == EL_OK, "%s", el_last_error());
    const el_datasets_entry *e = el_datasets_find(&cat, "ru-go-ekman-ext");
    for (int32_t i = 0; e && i < e->n_files; i++) {
        const el_datasets_file *f = &cat.files[e->files[i]];
        char *c = el_path_join(cache, f->path), *m = el_path_join(data_dir, f->path);
        size_t n = 0;
        char *want = tk_slurp(m, &n);
        CHECK_MSG(want && tk_file_equals(c, want, n), "%s", c);
        free(want);
        free(c);
        free(m);
    }
    CHECK(tk_count_files(cache, ".incomplete") == 0);
    /* the catalogued URL of a file resolves to the same cached file */
    const el_datasets_file *val =
        el_datasets_find_path(&cat, "ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-validation.csv");
    char *local = NULL;
    CHECK(val && el_datasets_resolve_url(&cat, val->url, &p, &local) == EL_OK);
    char *want = el_path_join(cache, val->path);
    CHECK(local && !strcmp(local, want));
    free(want);
    free(local);
    /* a cached file that went bad is fetched again */
    char *c = el_path_join(cache, val->path);
    FILE *f = fopen(c, "r+b");
    fseek(f, 1000, SEEK_SET);
    fputc('#', f);
    fclose(f);
    CHECK(el_datasets_verify(val, c) == EL_ERR);
    CHECK(el_datasets_fetch_file(val, &p, &local) == EL_OK);
    CHECK(el_datasets_verify(val, c) == EL_OK);
    free(local);
    free(c);
    /* not in the mirror (the full train split exists upstream only) */
    int rc = el_datasets_fetch_set(&cat, "ru_go_emotions_train_full", &p);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "not in the mirror"), "%s", el_last_error());
    /* a derived file has no upstream: without a mirror it cannot be fetched */
    el_datasets_params nm = params(cache, "");
    nm.force = true;
    const el_datasets_file *der =
        el_datasets_find_path(&cat, "ru_go_emotions_djacon/derived/train_aligned_to_goemotions.csv");
    rc = el_datasets_fetch_file(der, &nm, &local);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "no upstream URL") &&
                  has(el_last_error(), "EMOLAB_DATA_MIRROR"), "%s", el_last_error());
    /* an unknown data set */
    rc = el_datasets_fetch_set(&cat, "nope", &p);
    CHECK(rc == EL_ERR && has(el_last_error(), "ru-go-ekman"));
    tk_rmrf(cache);
    free(cache);
}

static void test_corrupt_mirror(void) {
    char *cache = tk_tempdir("data-cache2");
    char *mirror = tk_tempdir("data-mirror");
    const char *rel = "ru_izard_emotions/val.csv";
    char *src = el_path_join(data_dir, rel);
    size_t n = 0;
    char *bytes = tk_slurp(src, &n);
    CHECK(bytes && n == 363419);
    bytes[n / 2] ^= 0x01; /* one bit */
    char *dir = el_printf("%s/ru_izard_emotions", mirror);
    el_mkdirs(dir, 0755);
    char *dst = el_path_join(mirror, rel);
    FILE *f = fopen(dst, "wb");
    fwrite(bytes, 1, n, f);
    fclose(f);
    el_datasets_params p = params(cache, mirror);
    const el_datasets_file *val = el_datasets_find_path(&cat, rel);
    char *local = NULL;
    int rc = el_datasets_fetch_file(val, &p, &local);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "does not match its pin") &&
                  has(el_last_error(), "mirror"), "%s", el_last_error());
    char *c = el_path_join(cache, rel);
    CHECK(!tk_exists(c));
    CHECK(tk_count_files(cache, ".incomplete") == 0);
    /* a truncated copy is refused too */
    f = fopen(dst, "wb");
    fwrite(bytes, 1, n - 10, f);
    fclose(f);
    rc = el_datasets_fetch_file(val, &p, &local);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "363409 bytes") && !tk_exists(c), "%s",
              el_last_error());
    /* a partial file left by an interrupted copy of the bad mirror file is not trusted */
    char *inc = el_printf("%s.incomplete", c);
    el_mkdirs(dir, 0755);
    char *cdir = el_dirname(c);
    el_mkdirs(cdir, 0755);
    FILE *g = fopen(inc, "wb");
    fwrite(bytes, 1, n - 1000, g); /* still holds the flipped bit */
    fclose(g);
    free(cdir);
    /* the intact copy passes */
    bytes[n / 2] ^= 0x01;
    f = fopen(dst, "wb");
    fwrite(bytes, 1, n, f);
    fclose(f);
    rc = el_datasets_fetch_file(val, &p, &local);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    CHECK(!tk_exists(inc) && el_datasets_verify(val, c) == EL_OK);
    free(inc);
    free(local);
    free(c);
    free(dst);
    free(dir);
    free(bytes);
    free(src);
    tk_rmrf(cache);
    tk_rmrf(mirror);
    free(cache);
    free(mirror);
}

static void test_urls_over_http(void) {
    /* the data files served over HTTP by the test server as the "static" repository */
    const char *rel = "ru_izard_emotions/val.csv";
    char *src = el_path_join(data_dir, rel);
    size_t n = 0;
    unsigned char *bytes = (unsigned char *)tk_slurp(src, &n);
    hs_file files[2] = {{0}, {0}};
    files[0].path = rel;
    files[0].data = bytes;
    files[0].size = n;
    files[0].drop_at = 100000; /* the first GET is cut: the second resumes */
    files[1].path = "some/other.csv";
    files[1].data = (const unsigned char *)"a,b\n1,2\n";
    files[1].size = 8;
    files[1].drop_at = -1;
    hs_repo repo = {.id = "static", .commit = FX_COMMIT, .files = files, .n_files = 2};
    hub_server *srv = hs_start(&repo, 1);
    CHECK(srv != NULL);
    if (!srv) return;
    char *cache = tk_tempdir("data-http");
    char *mirror = el_printf("%s/static", hs_url(srv));
    el_datasets_params p = params(cache, mirror);
    const el_datasets_file *val = el_datasets_find_path(&cat, rel);
    char *local = NULL;
    int rc = el_datasets_fetch_file(val, &p, &local);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    hs_stats st = hs_file_stats(srv, "static", rel);
    CHECK_MSG(st.content_gets == 2 && st.range_gets == 1 && st.last_range_start > 0, "gets %d",
              st.content_gets);
    CHECK(local && tk_file_equals(local, bytes, n));
    free(local);
    /* an uncatalogued URL: refused without a pin, accepted with the right #sha256= */
    el_datasets_params np = params(cache, "");
    char *url = el_printf("%s/static/some/other.csv", hs_url(srv));
    rc = el_datasets_resolve_url(&cat, url, &np, &local);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "not pinned") && has(el_last_error(), "#sha256="),
              "%s", el_last_error());
    char *pinned = el_printf("%s#sha256=%s", url, files[1].sha256);
    rc = el_datasets_resolve_url(&cat, pinned, &np, &local);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    CHECK(local && tk_file_equals(local, files[1].data, files[1].size));
    free(local);
    char *blob = el_printf("%s#git_blob=%s", url, files[1].git_blob);
    rc = el_datasets_resolve_url(&cat, blob, &np, &local);
    CHECK_MSG(rc == EL_OK, "%s", el_last_error());
    free(local);
    char *wrong = el_printf("%s#sha256=%064d", url, 0);
    np.force = true;
    rc = el_datasets_resolve_url(&cat, wrong, &np, &local);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "does not match its pin"), "%s", el_last_error());
    /* a 404 */
    char *missing = el_printf("%s/static/none.csv#sha256=%s", hs_url(srv), files[1].sha256);
    rc = el_datasets_resolve_url(&cat, missing, &np, &local);
    CHECK_MSG(rc == EL_ERR && has(el_last_error(), "404"), "%s", el_last_error());
    CHECK(!el_datasets_is_url("ru_izard_emotions/val.csv"));
    free(missing);
    free(wrong);
    free(blob);
    free(pinned);
    free(url);
    hs_stop(srv);
    tk_rmrf(cache);
    free(cache);
    free(mirror);
    free(bytes);
    free(src);
}

static void test_bad_catalogs(void) {
    char *dir = tk_tempdir("data-cat");
    struct {
        const char *yaml, *want;
    } cases[] = {
        {"datasets:\n  a:\n    files:\n      - path: x.csv\n        url: https://h/x.csv\n", "no pin"},
        {"datasets:\n  a:\n    files:\n      - path: ../x.csv\n        sha256: " 
         "0000000000000000000000000000000000000000000000000000000000000000\n", ":4:"},
        {"datasets:\n  a:\n    files:\n      - path: x.csv\n        sha256: abc\n", "64"},
        {"datasets:\n  a:\n    files:\n      - path: x.csv\n        colour: red\n", "unknown key"},
        {"datasets:\n  a:\n    files:\n      - y.csv\n", "not defined"},
        {"datasets:\n  a:\n    files: []\n", "non-empty"},
        {"datasets: [1, 2]\n", "mapping"},
        {"datasets:\n  a: {files: [ {path: x.csv\n", ":3:1:"},
        {"other: 1\n", "unknown top-level key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *path = el_printf("%s/c%zu.yaml", dir, i);
        FILE *f = fopen(path, "w");
        fputs(cases[i].yaml, f);
        fclose(f);
        el_datasets_catalog c;
        int rc = el_datasets_load(path, &c);
        CHECK_MSG(rc == EL_ERR && has(el_last_error(), cases[i].want) && has(el_last_error(), path),
                  "case %zu: %s", i, rc == EL_ERR ? el_last_error() : "accepted");
        if (rc == EL_OK) el_datasets_free(&c);
        free(path);
    }
    tk_rmrf(dir);
    free(dir);
}

static void test_cli(void) {
    const char *bin = tk_emolab_bin();
    char *cache = tk_tempdir("data-cli");
    char *ce = el_printf("EMOLAB_DATA_CACHE=%s", cache);
    char *me = el_printf("EMOLAB_DATA_MIRROR=%s", data_dir);
    char *ke = el_printf("EMOLAB_DATASETS=%s", catalog_path);
    const char *env[] = {ce, me, ke, NULL};
    tk_run r;
    const char *fetch[] = {bin, "data", "fetch", "ru_izard_emotions", NULL};
    CHECK(tk_exec(fetch, env, &r) == 0);
    CHECK_MSG(has(r.out, "ru_izard_emotions/train.csv") && has(r.err, "verified"), "%s%s", r.out,
              r.err);
    tk_run_free(&r);
    const char *ls[] = {bin, "data", "ls", "--verify", NULL};
    CHECK(tk_exec(ls, env, &r) == 0);
    CHECK_MSG(has(r.out, "verified") && has(r.out, "ru-go-ekman") && has(r.out, "mirror only"), "%s",
              r.out);
    tk_run_free(&r);
    const char *bad[] = {bin, "data", "fetch", "nope", NULL};
    CHECK(tk_exec(bad, env, &r) == 1 && has(r.err, "no data set 'nope'"));
    tk_run_free(&r);
    const char *none[] = {bin, "data", NULL};
    CHECK(tk_exec(none, env, &r) == 2 && has(r.err, "usage"));
    tk_run_free(&r);
    free(ce);
    free(me);
    free(ke);
    tk_rmrf(cache);
    free(cache);
}

int main(void) {
    data_dir = getenv("EMOLAB_DATA");
    const char *srcdir = getenv("EMOLAB_SOURCE_DIR");
    if (!data_dir || !srcdir) {
        fprintf(stderr, "EMOLAB_DATA and EMOLAB_SOURCE_DIR must be set (run through ctest)\n");
        return 1;
    }
    catalog_path = el_printf("%s/configs/datasets.yaml", srcdir);
    if (el_datasets_load(catalog_path, &cat) != EL_OK) {
        fprintf(stderr, "%s\n", el_last_error());
        return 1;
    }
    test_catalog_pins();
    test_mirror_fetch();
    test_corrupt_mirror();
    test_urls_over_http();
    test_bad_catalogs();
    test_cli();
    el_datasets_free(&cat);
    free(catalog_path);
    return tk_finish("test_datasets");
}
