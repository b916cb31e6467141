/* cache_cmd.c: `emolab cache ls / rm` over the feature cache directory (feature_cache.h).
 * Plain file work: reads entry headers and metadata, never libtorch. */
#define _GNU_SOURCE
#include "commands.h"
#include "feature_cache.h"
#include "safetensors.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *el_feature_cache_dir(void) {
    const char *d = getenv("EMOLAB_CACHE");
    if (d && *d) return xstrdup(d);
    const char *x = getenv("XDG_CACHE_HOME");
    if (x && *x) return el_printf("%s/emolab/features", x);
    const char *h = getenv("HOME");
    return el_printf("%s/.cache/emolab/features", h && *h ? h : ".");
}

/* ---- emolab cache ---------------------------------------------------------------------------- */
typedef struct {
    char *file;    /* name in the directory */
    char *path;
    char key[65];
    char backbone[32], split[16], created[32];
    int64_t rows, dim, bytes;
    time_t used;
    bool ok;
    char *problem;
} entry_info;

static bool is_hex64_name(const char *name) {
    size_t n = strlen(name);
    if (n != 64 + strlen(".safetensors") || strcmp(name + 64, ".safetensors") != 0) return false;
    for (size_t i = 0; i < 64; i++)
        if (!strchr("0123456789abcdef", name[i])) return false;
    return true;
}

static bool is_temp_name(const char *name) {
    return strlen(name) > 64 && is_hex64_name(name) == false && strstr(name, ".safetensors.tmp.") != NULL;
}

static int cmp_entry(const void *a, const void *b) {
    const entry_info *x = a, *y = b;
    if (x->used != y->used) return x->used > y->used ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* entries (and temporaries, flagged by key "") of the directory; -1 when it cannot be read */
static int list_entries(const char *dir, entry_info **out, int64_t *n_out) {
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return EL_OK;
        return el_err("%s: %s", dir, strerror(errno));
    }
    entry_info *es = NULL;
    int64_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        bool entry = is_hex64_name(de->d_name), temp = is_temp_name(de->d_name);
        if (!entry && !temp) continue;
        el_grow(es, &cap, n + 1);
        entry_info *e = &es[n++];
        memset(e, 0, sizeof *e);
        e->file = xstrdup(de->d_name);
        e->path = el_path_join(dir, de->d_name);
        struct stat sb;
        if (stat(e->path, &sb) == 0) {
            e->bytes = (int64_t)sb.st_size;
            e->used = sb.st_mtime;
        }
        if (temp) {
            e->problem = xstrdup("temporary file of an unfinished write");
            continue;
        }
        snprintf(e->key, sizeof e->key, "%.64s", de->d_name);
        el_safetensors st;
        if (el_st_open(e->path, &st) != 0) {
            e->problem = xstrdup(el_last_error());
            continue;
        }
        const char *fmt = el_st_meta(&st, "emolab.cache");
        const el_st_tensor *f = el_st_find(&st, "features");
        if (!el_streq(fmt, EL_FEATURE_CACHE_FORMAT) || !f || f->ndim != 2) {
            e->problem = xstrdup("not a feature-cache entry of this emolab");
        } else {
            e->ok = true;
            e->rows = f->shape[0];
            e->dim = f->shape[1];
            const char *v;
            snprintf(e->backbone, sizeof e->backbone, "%s", (v = el_st_meta(&st, "emolab.backbone")) ? v : "?");
            snprintf(e->split, sizeof e->split, "%s", (v = el_st_meta(&st, "emolab.split")) ? v : "?");
            snprintf(e->created, sizeof e->created, "%s", (v = el_st_meta(&st, "emolab.created")) ? v : "?");
        }
        el_st_close(&st);
    }
    closedir(d);
    el_qsort(es, (size_t)n, sizeof *es, cmp_entry);
    *out = es;
    *n_out = n;
    return EL_OK;
}

static void free_entries(entry_info *es, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        free(es[i].file);
        free(es[i].path);
        free(es[i].problem);
    }
    free(es);
}

static void fmt_size(int64_t b, char out[32]) {
    if (b < 1024) snprintf(out, 32, "%lldB", (long long)b);
    else if (b < 1024 * 1024) snprintf(out, 32, "%.1fK", (double)b / 1024);
    else if (b < 1024LL * 1024 * 1024) snprintf(out, 32, "%.1fM", (double)b / 1048576);
    else snprintf(out, 32, "%.2fG", (double)b / 1073741824.0);
}

static void fmt_time(time_t t, char out[32]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void cache_usage(FILE *out) {
    fprintf(out,
            "usage: emolab cache ls\n"
            "       emolab cache rm KEY... | --all | --older-than DAYS\n\n"
            "The feature cache keeps the outputs of frozen backbones (a frozen hf encoder, tfidf\n"
            "with freeze: all) per data split, so that later runs and sweep trials skip them.\n"
            "  ls                 every entry: key, backbone, split, rows, width, size, created,\n"
            "                     last used (newest first)\n"
            "  rm KEY...          remove entries by key (any unambiguous prefix of 4+ characters)\n"
            "  rm --all           remove every entry (and leftover temporary files)\n"
            "  rm --older-than D  remove entries not used for D days (a number, e.g. 7 or 0.5)\n\n"
            "directory: $EMOLAB_CACHE, else $XDG_CACHE_HOME/emolab/features, else\n"
            "~/.cache/emolab/features. EMOLAB_FEATURE_CACHE=0 turns the cache off for a run.\n");
}

static int cache_ls(const char *dir) {
    entry_info *es;
    int64_t n;
    if (list_entries(dir, &es, &n) != 0) {
        fprintf(stderr, "emolab cache ls: %s\n", el_last_error());
        return 1;
    }
    printf("feature cache %s\n", dir);
    if (n == 0) {
        printf("(empty)\n");
        free(es);
        return 0;
    }
    printf("%-12s  %-9s  %-6s  %8s  %6s  %8s  %-20s  %-20s\n", "KEY", "BACKBONE", "SPLIT", "ROWS",
           "DIM", "SIZE", "CREATED", "LAST USED");
    int64_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        entry_info *e = &es[i];
        char size[32], used[32];
        fmt_size(e->bytes, size);
        fmt_time(e->used, used);
        total += e->bytes;
        if (e->ok)
            printf("%-12.12s  %-9s  %-6s  %8lld  %6lld  %8s  %-20s  %-20s\n", e->key, e->backbone,
                   e->split, (long long)e->rows, (long long)e->dim, size, e->created, used);
        else
            printf("%-12.12s  (%s: %s)  %s\n", e->key[0] ? e->key : e->file,
                   e->key[0] ? "unreadable, rebuilt on next use" : "leftover", e->problem, size);
    }
    char tot[32];
    fmt_size(total, tot);
    printf("%lld entries, %s\n", (long long)n, tot);
    free_entries(es, n);
    return 0;
}

static int remove_entry(const entry_info *e, int64_t *removed, int64_t *bytes) {
    if (unlink(e->path) != 0 && errno != ENOENT) {
        fprintf(stderr, "emolab cache rm: %s: %s\n", e->path, strerror(errno));
        return 1;
    }
    (*removed)++;
    *bytes += e->bytes;
    return 0;
}

static int cache_rm(const char *dir, int argc, char **argv) {
    bool all = false;
    double days = -1;
    int32_t n_keys = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--all")) {
            all = true;
        } else if (!strcmp(argv[i], "--older-than")) {
            if (i + 1 >= argc || el_parse_double(argv[i + 1], &days) != 0 || days < 0 || days > 1e6) {
                fprintf(stderr, "emolab cache rm: --older-than wants a number of days >= 0 (e.g. 7 "
                                "or 0.5), got %s\n", i + 1 < argc ? argv[i + 1] : "nothing");
                return 2;
            }
            i++;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "emolab cache rm: unknown option %s (emolab cache --help)\n", argv[i]);
            return 2;
        } else {
            size_t len = strlen(argv[i]);
            bool hex = len >= 4 && len <= 64;
            for (size_t j = 0; j < len && hex; j++) hex = strchr("0123456789abcdef", argv[i][j]) != NULL;
            if (!hex) {
                fprintf(stderr, "emolab cache rm: '%s' is not a key: give 4 to 64 lowercase hex "
                                "characters as `emolab cache ls` shows them\n", argv[i]);
                return 2;
            }
            n_keys++;
        }
    }
    if ((all ? 1 : 0) + (days >= 0 ? 1 : 0) + (n_keys > 0 ? 1 : 0) != 1) {
        fprintf(stderr, "emolab cache rm: give KEY..., --all or --older-than DAYS (one of them)\n");
        return 2;
    }
    entry_info *es;
    int64_t n;
    if (list_entries(dir, &es, &n) != 0) {
        fprintf(stderr, "emolab cache rm: %s\n", el_last_error());
        return 1;
    }
    int64_t removed = 0, bytes = 0;
    int code = 0;
    if (n_keys > 0) {
        /* every key must match exactly one entry before anything is removed */
        int64_t *pick = xcalloc((size_t)argc + 1, sizeof(int64_t));
        int32_t np = 0;
        for (int i = 1; i < argc && code == 0; i++) {
            if (argv[i][0] == '-') continue;
            int64_t match = -1, count = 0;
            for (int64_t j = 0; j < n; j++)
                if (es[j].key[0] && el_starts_with(es[j].key, argv[i])) {
                    match = j;
                    count++;
                }
            if (count == 0) {
                fprintf(stderr, "emolab cache rm: no entry with key %s in %s (emolab cache ls)\n",
                        argv[i], dir);
                code = 1;
            } else if (count > 1) {
                fprintf(stderr, "emolab cache rm: key %s matches %lld entries; give more characters\n",
                        argv[i], (long long)count);
                code = 1;
            } else {
                pick[np++] = match;
            }
        }
        for (int32_t i = 0; i < np && code == 0; i++) code |= remove_entry(&es[pick[i]], &removed, &bytes);
        free(pick);
    } else {
        time_t now = time(NULL);
        for (int64_t j = 0; j < n; j++) {
            double age_days = difftime(now, es[j].used) / 86400.0;
            if (all || age_days > days) code |= remove_entry(&es[j], &removed, &bytes);
        }
    }
    char sz[32];
    fmt_size(bytes, sz);
    printf("removed %lld entr%s (%s) from %s\n", (long long)removed, removed == 1 ? "y" : "ies", sz, dir);
    free_entries(es, n);
    return code;
}

int cmd_cache(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        cache_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    char *dir = el_feature_cache_dir();
    int code;
    if (!strcmp(argv[1], "ls")) {
        if (argc > 2) {
            fprintf(stderr, "emolab cache ls: no arguments expected (got %s)\n", argv[2]);
            code = 2;
        } else {
            code = cache_ls(dir);
        }
    } else if (!strcmp(argv[1], "rm")) {
        code = cache_rm(dir, argc - 1, argv + 1);
    } else {
        fprintf(stderr, "emolab cache: unknown subcommand '%s' (ls, rm; emolab cache --help)\n", argv[1]);
        code = 2;
    }
    free(dir);
    return code;
}
