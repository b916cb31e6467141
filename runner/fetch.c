/* fetch.c: `emolab fetch` (Hugging Face models) and `emolab data` (the pinned data sets). */
#define _GNU_SOURCE
#include "commands.h"
#include "datasets.h"
#include "hub.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fetch_usage(FILE *out) {
    fprintf(out,
        "usage: emolab fetch ORG/NAME[@REVISION] ... [options]\n"
        "\n"
        "Downloads models from the Hugging Face hub into the Hugging Face cache, in the layout\n"
        "huggingface_hub and transformers use (downloads are shared with them both ways), and\n"
        "prints each snapshot directory. REVISION is a branch, tag or commit (default main).\n"
        "Files are verified (sha256 for LFS files, git blob id for the others, and size) before\n"
        "they enter the cache; interrupted downloads resume; concurrent runs download a file once.\n"
        "\n"
        "options:\n"
        "  --include PATTERN  only files matching PATTERN (shell pattern, '*' also crosses '/');\n"
        "                     repeatable. Default: *.json *.safetensors *.txt *.model, plus\n"
        "                     pytorch_model*.bin when the repository has no safetensors\n"
        "  --all              every file of the repository\n"
        "  --cache-dir DIR    the hub cache (default: $HF_HUB_CACHE, $HF_HOME/hub,\n"
        "                     ~/.cache/huggingface/hub)\n"
        "  --endpoint URL     the hub (default: $HF_ENDPOINT or https://huggingface.co)\n"
        "  --offline          use the cache only, like HF_HUB_OFFLINE=1\n"
        "  --force            download again (and verify) even what is cached\n"
        "  --json             print {repo, revision, commit, snapshot, files} instead of the path\n"
        "  -q, --quiet        no progress bars or summary\n"
        "\n"
        "environment:\n"
        "  HF_TOKEN           token for private or gated repositories, sent as a Bearer header\n"
        "                     and never printed; else the file $HF_TOKEN_PATH or $HF_HOME/token\n"
        "  HF_HUB_OFFLINE=1   no network: resolve from the cache or fail saying what is missing\n"
        "  EMOLAB_HTTP_ATTEMPTS, EMOLAB_HTTP_BACKOFF, EMOLAB_HTTP_TIMEOUT\n"
        "                     tries per request (6), first retry wait in seconds (1, doubling),\n"
        "                     seconds without a byte before a transfer is retried (30)\n"
        "  EMOLAB_PROGRESS    0 = no progress output, 1 = force the progress bar\n"
        "\n"
        "examples:\n"
        "  emolab fetch ai-forever/ru-en-RoSBERTa\n"
        "  emolab fetch cointegrated/rubert-tiny2@main --include '*.json' --include "
        "model.safetensors\n"
        "  HF_HUB_OFFLINE=1 emolab fetch ai-forever/ru-en-RoSBERTa   # the cached snapshot\n"
        "\n"
        "exit status: 0 ok, 1 failure (the message says what to do), 2 usage error\n");
}

static int need_value(int argc, char **argv, int i) {
    if (i + 1 >= argc) {
        fprintf(stderr, "emolab %s: %s needs a value (see --help)\n", argv[0], argv[i]);
        return 0;
    }
    return 1;
}

int cmd_fetch(int argc, char **argv) {
    el_hub_params p = el_hub_default_params();
    const char **inc = xcalloc((size_t)argc, sizeof *inc);
    const char **refs = xcalloc((size_t)argc, sizeof *refs);
    int32_t n_inc = 0, n_refs = 0;
    bool json = false;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fetch_usage(stdout);
            goto out;
        } else if (!strcmp(a, "--include")) {
            if (!need_value(argc, argv, i)) { rc = 2; goto out; }
            inc[n_inc++] = argv[++i];
        } else if (el_starts_with(a, "--include=")) {
            inc[n_inc++] = a + 10;
        } else if (!strcmp(a, "--all")) {
            p.all_files = true;
        } else if (!strcmp(a, "--cache-dir")) {
            if (!need_value(argc, argv, i)) { rc = 2; goto out; }
            p.cache_dir = argv[++i];
        } else if (!strcmp(a, "--endpoint")) {
            if (!need_value(argc, argv, i)) { rc = 2; goto out; }
            p.endpoint = argv[++i];
        } else if (!strcmp(a, "--offline")) {
            p.offline = 1;
        } else if (!strcmp(a, "--force")) {
            p.force = true;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            p.quiet = true;
            p.http.progress = false;
        } else if (a[0] == '-') {
            fprintf(stderr, "emolab fetch: unknown option %s (see emolab fetch --help)\n", a);
            rc = 2;
            goto out;
        } else {
            refs[n_refs++] = a;
        }
    }
    if (n_refs == 0) {
        fprintf(stderr, "emolab fetch: no model given: emolab fetch ORG/NAME[@REVISION] "
                        "(see --help)\n");
        rc = 2;
        goto out;
    }
    if (n_inc) {
        p.include = inc;
        p.n_include = n_inc;
    }
    for (int32_t k = 0; k < n_refs; k++) {
        el_hub_snapshot s;
        if (el_hub_fetch(refs[k], &p, &s) != EL_OK) {
            /* belt and braces: no message may carry the token, whatever a server echoed */
            char *msg = xstrdup(el_last_error());
            char *tok = NULL;
            if (el_hub_token(&tok) == EL_OK && tok) {
                el_http_scrub(msg, tok);
                explicit_bzero(tok, strlen(tok));
                free(tok);
            }
            fprintf(stderr, "emolab fetch: %s\n", msg);
            free(msg);
            rc = 1;
            continue;
        }
        if (!p.quiet) {
            char total[32], got[32];
            el_format_bytes(s.bytes_total, total);
            el_format_bytes(s.bytes_downloaded, got);
            double rate = s.seconds > 0 ? (double)s.bytes_downloaded / s.seconds : 0;
            char r[32];
            el_format_bytes((int64_t)rate, r);
            fprintf(stderr, "fetch: %s@%s = commit %s: %d files (%s), %d downloaded (%s in "
                            "%.2fs, %s/s), %d already cached%s\n",
                    s.repo, s.revision, s.commit, (int)s.n_files, total, (int)s.n_downloaded,
                    got, s.seconds, r, (int)s.n_cached,
                    s.from_cache ? " (from the cache, the hub was not asked)" : "");
        }
        if (json) {
            json_t *o = json_object();
            json_object_set_new(o, "repo", json_string(s.repo));
            json_object_set_new(o, "revision", json_string(s.revision));
            json_object_set_new(o, "commit", json_string(s.commit));
            json_object_set_new(o, "snapshot", json_string(s.snapshot_dir));
            json_t *fa = json_array();
            for (int32_t i = 0; i < s.n_files; i++) json_array_append_new(fa, json_string(s.files[i]));
            json_object_set_new(o, "files", fa);
            json_object_set_new(o, "downloaded", json_integer(s.n_downloaded));
            json_object_set_new(o, "bytes_downloaded", json_integer(s.bytes_downloaded));
            char *txt = json_dumps(o, JSON_COMPACT);
            printf("%s\n", txt);
            free(txt);
            json_decref(o);
        } else {
            printf("%s\n", s.snapshot_dir);
        }
        el_hub_snapshot_free(&s);
    }
out:
    free(inc);
    free(refs);
    return rc;
}

/* ---- emolab data ------------------------------------------------------------------------- */
static void data_usage(FILE *out) {
    fprintf(out,
        "usage: emolab data ls [--verify] [options]\n"
        "       emolab data fetch NAME|URL ... [options]\n"
        "\n"
        "The public data sets listed in configs/datasets.yaml, each file pinned by sha256 and/or\n"
        "its git blob id, downloaded from its upstream repository at a fixed commit into the data\n"
        "cache and verified. The cache keeps the files at the same relative paths as\n"
        "../shared/data, so it can serve as a data root (EMOLAB_DATA).\n"
        "\n"
        "  ls           every data set and file: cached / verified / CORRUPT / - (not cached)\n"
        "  fetch NAME   every file of the data set NAME; prints the local paths\n"
        "  fetch URL    one URL, from the catalog or pinned by a #sha256=HEX fragment\n"
        "\n"
        "options:\n"
        "  --mirror DIR|URL  take files from a mirror instead of upstream: a catalogued file\n"
        "                    from DIR/<path>, another URL from DIR/<host>/<path> (default\n"
        "                    $EMOLAB_DATA_MIRROR). Mirror copies are verified like downloads.\n"
        "  --cache-dir DIR   the data cache (default $EMOLAB_DATA_CACHE, else\n"
        "                    ~/.cache/emolab/data)\n"
        "  --catalog FILE    the catalog (default $EMOLAB_DATASETS, else configs/datasets.yaml)\n"
        "  --verify          ls: check the pins of cached files (reads them)\n"
        "  --force           fetch again even when the cached copy verifies\n"
        "  -q, --quiet       no progress output\n"
        "\n"
        "examples:\n"
        "  emolab data ls\n"
        "  emolab data fetch ru_izard_emotions\n"
        "  EMOLAB_DATA_MIRROR=../shared/data emolab data fetch ru-go-ekman   # no network needed\n"
        "\n"
        "exit status: 0 ok, 1 failure (the message says what to do), 2 usage error\n");
}

int cmd_data(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        data_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "ls") != 0 && strcmp(sub, "fetch") != 0) {
        fprintf(stderr, "emolab data: unknown subcommand '%s' (ls, fetch; see --help)\n", sub);
        return 2;
    }
    el_datasets_params p = el_datasets_default_params();
    p.paths_out = stdout;
    const char *catalog = NULL;
    bool verify = false;
    const char **names = xcalloc((size_t)argc, sizeof *names);
    int32_t n_names = 0;
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            data_usage(stdout);
            goto out;
        } else if (!strcmp(a, "--mirror")) {
            if (!need_value(argc, argv, i)) { rc = 2; goto out; }
            p.mirror = argv[++i];
        } else if (!strcmp(a, "--cache-dir")) {
            if (!need_value(argc, argv, i)) { rc = 2; goto out; }
            p.cache_dir = argv[++i];
        } else if (!strcmp(a, "--catalog")) {
            if (!need_value(argc, argv, i)) { rc = 2; goto out; }
            catalog = argv[++i];
        } else if (!strcmp(a, "--verify")) {
            verify = true;
        } else if (!strcmp(a, "--force")) {
            p.force = true;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            p.quiet = true;
            p.http.progress = false;
        } else if (a[0] == '-') {
            fprintf(stderr, "emolab data: unknown option %s (see emolab data --help)\n", a);
            rc = 2;
            goto out;
        } else {
            names[n_names++] = a;
        }
    }
    el_datasets_catalog cat;
    if (el_datasets_load(catalog, &cat) != EL_OK) {
        fprintf(stderr, "emolab data: %s\n", el_last_error());
        rc = 1;
        goto out;
    }
    if (!strcmp(sub, "ls")) {
        if (n_names) {
            fprintf(stderr, "emolab data ls: takes no names (see --help)\n");
            rc = 2;
        } else {
            el_datasets_print(&cat, &p, stdout, verify);
        }
    } else if (n_names == 0) {
        fprintf(stderr, "emolab data fetch: name a data set or a URL (emolab data ls lists "
                        "them)\n");
        rc = 2;
    } else {
        for (int32_t k = 0; k < n_names; k++) {
            int r;
            if (el_datasets_is_url(names[k])) {
                char *local = NULL;
                r = el_datasets_resolve_url(&cat, names[k], &p, &local);
                if (r == EL_OK) printf("%s\n", local);
                free(local);
            } else {
                r = el_datasets_fetch_set(&cat, names[k], &p);
            }
            if (r != EL_OK) {
                fprintf(stderr, "emolab data: %s\n", el_last_error());
                rc = 1;
            }
        }
    }
    el_datasets_free(&cat);
out:
    free(names);
    return rc;
}
