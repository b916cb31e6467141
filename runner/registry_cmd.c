/* registry_cmd.c: `emolab registry import | merge | info`: one leaderboard for a team whose members
 * (or whose machines) keep their own registries. The copying itself is el_registry_import. */
#define _GNU_SOURCE
#include "commands.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void registry_usage(FILE *out) {
    fprintf(out,
            "usage: emolab registry import OTHER.db [--registry FILE]\n"
            "       emolab registry merge A.db B.db ... -o TEAM.db\n"
            "       emolab registry info [--registry FILE]\n\n"
            "import: copies every run of OTHER.db that this registry lacks (with its metrics, curves,\n"
            "  data facts, sweeps) and records where it came from (run_origins: registry, host, owner).\n"
            "  Idempotent by run uuid; a run both have must be identical, else nothing is imported.\n"
            "  Runs still running in OTHER.db are left out. OTHER.db is only read.\n"
            "merge: the same for several registries (up to 8) into TEAM.db (created, or added to), in one\n"
            "  transaction: all of them or nothing.\n"
            "info: the registry's id, schema version and counts.\n\n"
            "A registry that is not an emolab registry, is damaged, or has a newer schema is refused\n"
            "before anything is written.\n\n"
            "examples:\n"
            "  emolab registry merge ~/marina/registry.db ~/ivan/registry.db -o team.db\n"
            "  emolab report --registry team.db          # the team's leaderboard\n"
            "  emolab registry import /mnt/cluster/registry.db --registry registry.db\n"
            "  sqlite3 team.db \"select registry_path, owner, count(*) from run_origins group by 1, 2\"\n\n"
            "exit codes: 0 done, 1 refused or failed (the target unchanged), 2 usage.\n");
}

static void print_stats(const char *src, const el_import_stats *s) {
    printf("%s: %lld run(s) added, %lld already here (identical)", src, (long long)s->runs_added,
           (long long)s->runs_identical);
    if (s->runs_running) printf(", %lld still running there (left out)", (long long)s->runs_running);
    if (s->sweeps_added || s->trials_added)
        printf(", %lld sweep(s) and %lld trial(s) added", (long long)s->sweeps_added, (long long)s->trials_added);
    printf("\n");
}

static int cmd_import(int argc, char **argv) {
    const char *reg_opt = NULL, *src = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--registry") && i + 1 < argc) reg_opt = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            registry_usage(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "emolab registry import: unknown option %s (emolab registry --help)\n", argv[i]);
            return 2;
        } else if (!src) src = argv[i];
        else {
            fprintf(stderr, "emolab registry import: one registry at a time (or: emolab registry merge)\n");
            return 2;
        }
    }
    if (!src) {
        registry_usage(stderr);
        return 2;
    }
    if (el_registry_check_source(src, NULL)) { /* before the target is opened (and maybe created) */
        fprintf(stderr, "emolab registry import: %s\n", el_last_error());
        return 1;
    }
    const char *path = el_registry_default_path(reg_opt);
    el_registry *r = el_registry_open(path, false);
    if (!r) {
        fprintf(stderr, "emolab registry import: %s\n", el_last_error());
        return 1;
    }
    el_import_stats st;
    double t0 = el_now();
    int rc = el_registry_import(r, src, &st);
    el_registry_close(r);
    if (rc) {
        fprintf(stderr, "emolab registry import: %s\n", el_last_error());
        return 1;
    }
    print_stats(src, &st);
    fprintf(stderr, "into %s in %.2fs\n", path, el_now() - t0);
    return 0;
}

/* A page copy of a registry (its committed content, WAL included) into a new file; the source is
 * opened read-only. */
static int copy_registry(const char *from, const char *to) {
    sqlite3 *src = NULL, *dst = NULL;
    int rc = sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_open_v2(to, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(src, 30000);
        sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
        if (!b) {
            rc = sqlite3_errcode(dst);
        } else {
            rc = sqlite3_backup_step(b, -1);
            sqlite3_backup_finish(b);
            if (rc == SQLITE_DONE) rc = SQLITE_OK;
        }
    }
    int out = rc == SQLITE_OK ? EL_OK : el_err("copying %s: %s", from, sqlite3_errstr(rc));
    sqlite3_close(src);
    sqlite3_close(dst);
    return out;
}

static void remove_db(const char *path) {
    const char *sfx[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        char *p = el_printf("%s%s", path, sfx[i]);
        unlink(p);
        free(p);
    }
}

static int cmd_merge(int argc, char **argv) {
    const char *out = NULL;
    const char **srcs = xcalloc((size_t)argc + 1, sizeof(char *));
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            registry_usage(stdout);
            free(srcs);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "emolab registry merge: unknown option %s (emolab registry --help)\n", argv[i]);
            free(srcs);
            return 2;
        } else srcs[n++] = argv[i];
    }
    if (!out || n == 0) {
        fprintf(stderr, "emolab registry merge: give the registries and -o TEAM.db (emolab registry --help)\n");
        free(srcs);
        return 2;
    }
    /* every source is checked before anything is written (el_registry_import_many checks its sources;
     * a new TEAM.db is only renamed into place at the end) */
    /* one transaction for all of them (a new TEAM.db is removed again on failure) */
    struct stat sb;
    bool exists = stat(out, &sb) == 0;
    if (exists && el_registry_check_source(out, NULL)) {
        fprintf(stderr, "emolab registry merge: the target: %s\n%s is unchanged\n", el_last_error(), out);
        free(srcs);
        return 1;
    }
    double t0 = el_now();
    el_import_stats *st = xcalloc((size_t)n, sizeof *st);
    int rc;
    if (exists) { /* add to it: one transaction */
        el_registry *r = el_registry_open(out, false);
        rc = r ? el_registry_import_many(r, srcs, n, st) : EL_ERR;
        el_registry_close(r);
    } else { /* a new file: a page copy of the first source, the others imported, renamed into place */
        char *tmp = el_printf("%s.merge-%d.tmp", out, (int)getpid());
        remove_db(tmp);
        rc = el_registry_check_source(srcs[0], NULL);
        if (rc == EL_OK) rc = copy_registry(srcs[0], tmp);
        el_registry *r = rc == EL_OK ? el_registry_open(tmp, false) : NULL; /* upgrades an older copy */
        if (rc == EL_OK && !r) rc = EL_ERR;
        /* a private file until the rename: no WAL while it is built (every page written once) */
        if (rc == EL_OK) sqlite3_exec(el_registry_db(r), "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
        if (rc == EL_OK) rc = el_registry_adopt_copy(r, srcs[0], &st[0]);
        if (rc == EL_OK && n > 1) rc = el_registry_import_many(r, srcs + 1, n - 1, st + 1);
        if (rc == EL_OK && sqlite3_exec(el_registry_db(r), "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK)
            rc = el_err("%s: switching back to WAL mode: %s", tmp, sqlite3_errmsg(el_registry_db(r)));
        el_registry_close(r); /* the last connection: checkpoints and removes the -wal */
        if (rc == EL_OK && rename(tmp, out) != 0) rc = el_err("renaming %s to %s: %s", tmp, out, strerror(errno));
        remove_db(tmp);
        free(tmp);
    }
    if (rc != EL_OK) {
        fprintf(stderr, "emolab registry merge: %s\n%s is unchanged%s\n", el_last_error(), out,
                exists ? "" : " (not created)");
    } else {
        for (int i = 0; i < n; i++) print_stats(srcs[i], &st[i]);
        fprintf(stderr, "merged into %s in %.2fs\n", out, el_now() - t0);
    }
    free(st);
    free(srcs);
    return rc == EL_OK ? 0 : 1;
}

static int cmd_info(int argc, char **argv) {
    const char *reg_opt = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--registry") && i + 1 < argc) reg_opt = argv[++i];
        else {
            fprintf(stderr, "emolab registry info: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    el_registry *r = el_registry_open(el_registry_default_path(reg_opt), true);
    if (!r) {
        fprintf(stderr, "emolab registry info: %s\n", el_last_error());
        return 1;
    }
    sqlite3 *db = el_registry_db(r);
    const char *q[][2] = {
        {"registry id", "SELECT value FROM registry_info WHERE key = 'registry_id'"},
        {"schema version", "SELECT max(version) FROM emolab_schema"},
        {"runs", "SELECT count(*) FROM runs"},
        {"finished runs", "SELECT count(*) FROM runs WHERE status = 'finished'"},
        {"imported runs", "SELECT count(*) FROM run_origins"},
        {"sweeps", "SELECT count(*) FROM sweeps"},
    };
    printf("%s\n", el_registry_path(r));
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, q[i][1], -1, &st, NULL) != SQLITE_OK) continue;
        if (sqlite3_step(st) == SQLITE_ROW) printf("  %-15s %s\n", q[i][0], (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    el_registry_close(r);
    return 0;
}

int cmd_registry(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        registry_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "import")) return cmd_import(argc - 1, argv + 1);
    if (!strcmp(argv[1], "merge")) return cmd_merge(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info")) return cmd_info(argc - 1, argv + 1);
    fprintf(stderr, "emolab registry: unknown subcommand '%s' (import, merge, info)\n", argv[1]);
    return 2;
}
