/* registry.c: see registry.h.
 *
 * Schema: registry.db.sql, embedded at build time (gen/registry_schema.h), is applied as a whole
 * to a new registry. Older registries are upgraded by MIGRATIONS below, one numbered step at a
 * time, forward only, each step in the same transaction as the row that records it in
 * emolab_schema. tests/registry/test_registry.c builds every frozen older schema
 * (tests/registry/schemas/vN.sql), migrates it and checks that the result is exactly the schema
 * of registry.db.sql, so the two cannot drift.
 *
 * Writes: every public write is one BEGIN IMMEDIATE transaction run by with_write_tx(), which
 * retries (with backoff, up to the busy timeout) when another process holds the write lock.
 */
#define _GNU_SOURCE
#include "registry.h"
#include "emolab_version.h"
#include "registry_schema.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- migrations ------------------------------------------------------------------------------ */
typedef struct {
    int32_t version;         /* the version this step produces */
    const char *description; /* recorded in emolab_schema */
    const char *sql;         /* upgrades version-1 -> version; NULL for the initial schema */
} reg_migration;

/* Version 2 (sweeps): the sweeps and sweep_trials tables, exactly as registry.db.sql has them. */
static const char MIGRATION_V2[] =
    "CREATE TABLE sweeps (\n"
    "    id              TEXT PRIMARY KEY NOT NULL,  -- NAME-YYYYMMDD-HHMMSS-XXXX\n"
    "    name            TEXT NOT NULL,\n"
    "    file            TEXT NOT NULL,              -- the sweep file (absolute path when created)\n"
    "    definition      TEXT NOT NULL,              -- canonical JSON of everything that makes the trials\n"
    "    definition_hash TEXT NOT NULL,              -- sha256 of definition: --resume finds the sweep by it\n"
    "    method          TEXT NOT NULL CHECK (method IN ('grid', 'random', 'bayes')),\n"
    "    metric          TEXT NOT NULL,              -- val_weighted_f1 | val_macro_f1 | val_micro_f1 | val_loss\n"
    "    goal            TEXT NOT NULL CHECK (goal IN ('maximize', 'minimize')),\n"
    "    n_trials        INTEGER NOT NULL CHECK (n_trials >= 0),\n"
    "    created         TEXT NOT NULL,\n"
    "    host            TEXT NOT NULL,\n"
    "    owner           TEXT NOT NULL DEFAULT '',\n"
    "    dir             TEXT                        -- its sweep directory (--launcher slurm), NULL: all in here\n"
    ");\n"
    "CREATE INDEX sweeps_definition ON sweeps (definition_hash, created);\n"
    "\n"
    "CREATE TABLE sweep_trials (\n"
    "    sweep_id        TEXT NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,\n"
    "    idx             INTEGER NOT NULL CHECK (idx >= 0), -- trial index in the sweep (0-based)\n"
    "    config_hash     TEXT NOT NULL,              -- runs.config_hash of the trial's resolved config\n"
    "    seed            INTEGER,\n"
    "    assignment      TEXT NOT NULL,              -- JSON: {\"head.dropout\":0.5,\"train.seed\":1}\n"
    "    param_values    TEXT NOT NULL,              -- JSON array: the values in the sweep's parameter order\n"
    "    status          TEXT NOT NULL DEFAULT 'pending'\n"
    "                    CHECK (status IN ('pending', 'claimed', 'done', 'failed', 'stopped')),\n"
    "    run             TEXT REFERENCES runs (uuid) ON DELETE SET NULL, -- the run that did it\n"
    "    reused          INTEGER NOT NULL DEFAULT 0 CHECK (reused IN (0, 1)), -- run is an earlier one\n"
    "    claims          INTEGER NOT NULL DEFAULT 0, -- times the trial was claimed\n"
    "    lost_claims     INTEGER NOT NULL DEFAULT 0, -- claims whose holder died without a result\n"
    "    claim_token     TEXT,                       -- random, per claim\n"
    "    claim_host      TEXT,\n"
    "    claim_pid       INTEGER,\n"
    "    claim_pid_start INTEGER,                    -- /proc/PID/stat field 22 (pid reuse check)\n"
    "    claim_boot_id   TEXT,\n"
    "    claim_job       TEXT,                       -- scheduler job (Slurm: JOBID_TASKID), NULL locally\n"
    "    claimed_at      TEXT,\n"
    "    lease_expires   REAL,                       -- unix seconds; renewed by the holder's heartbeat\n"
    "    finished        TEXT,                       -- final status recorded\n"
    "    metric          REAL,                       -- the sweep's metric (val), NULL when none\n"
    "    epochs          INTEGER,                    -- epochs run (stopped: the rung it reached)\n"
    "    error           TEXT,                       -- why failed / stopped / last claim lost\n"
    "    PRIMARY KEY (sweep_id, idx)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX sweep_trials_status ON sweep_trials (sweep_id, status, idx);\n"
    "CREATE INDEX sweep_trials_run ON sweep_trials (run) WHERE run IS NOT NULL;\n"
    "\n"
    "-- ---- version 2: registry identity and merges --------------------------------------------------------\n"
    "-- Who this registry is (`registry_id`, random, made once), so that merged runs can say where they\n"
    "-- were recorded first.\n"
    "CREATE TABLE registry_info (\n"
    "    key   TEXT PRIMARY KEY NOT NULL,\n"
    "    value TEXT NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "INSERT INTO registry_info (key, value) VALUES ('registry_id', lower(hex(randomblob(16))));\n"
    "\n"
    "-- Runs copied from another registry (`emolab registry import` / `merge`): where each came from.\n"
    "-- A run imported again from a registry that imported it keeps its first origin.\n"
    "CREATE TABLE run_origins (\n"
    "    run           TEXT PRIMARY KEY NOT NULL REFERENCES runs (uuid) ON DELETE CASCADE,\n"
    "    registry_id   TEXT,                         -- registry_info.registry_id of the registry it came from\n"
    "    registry_path TEXT NOT NULL,                -- that registry's path, as the import saw it\n"
    "    host          TEXT NOT NULL,                -- where the run ran (runs.host)\n"
    "    owner         TEXT NOT NULL,                -- who ran it (runs.owner)\n"
    "    imported      TEXT NOT NULL,                -- when it was copied\n"
    "    imported_by   TEXT NOT NULL                 -- the host that copied it\n"
    ") WITHOUT ROWID;\n";

/* Append only; never edit a step that was released. Version 1 exists only as created from
 * registry.db.sql (frozen copy: tests/registry/schemas/v1.sql). */
static const reg_migration MIGRATIONS[] = {
    {1, "initial schema", NULL},
    {2, "sweeps, sweep trials (claims, leases), registry identity, run origins", MIGRATION_V2},
};
#define N_MIGRATIONS ((int32_t)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

int32_t el_registry_latest_version(void) { return MIGRATIONS[N_MIGRATIONS - 1].version; }
const char *el_registry_schema_sql(void) { return EL_REGISTRY_SCHEMA_SQL; }

/* ---- the handle ------------------------------------------------------------------------------ */
#define DEFAULT_BUSY_MS 30000

struct el_registry {
    sqlite3 *db;
    char *path;
    bool readonly;
    int32_t version;
    int32_t busy_ms;
    int last_rc; /* sqlite result code of the last failed call (for retry decisions) */
    double busy_since; /* start of the current lock wait (busy_wait) */
    uint64_t jitter;   /* state of the retry-jitter generator */
};

static const char *FINAL_STATUSES[] = {"finished", "failed", "stopped"};

static bool status_is_final(const char *s) {
    for (size_t i = 0; i < sizeof FINAL_STATUSES / sizeof FINAL_STATUSES[0]; i++)
        if (el_streq(s, FINAL_STATUSES[i])) return true;
    return false;
}

/* What to do about a failure, by SQLite result code. */
static const char *advice(int rc, const char *path) {
    static _Thread_local char buf[1200];
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        snprintf(buf, sizeof buf, "another process kept the registry locked; retry, or find it with "
                                  "`fuser %s`", path);
        return buf;
    case SQLITE_FULL: return "the disk is full: free space and retry (the registry itself is intact)";
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return "no permission to write: check the file's and its directory's permissions";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        snprintf(buf, sizeof buf, "the file is damaged: restore it from a backup, or try "
                                  "`sqlite3 %s .recover`", path);
        return buf;
    case SQLITE_IOERR: return "an I/O error: check the disk and the filesystem (a registry must be on a "
                              "local filesystem, not NFS)";
    case SQLITE_CANTOPEN: return "check that the directory exists and is writable";
    case SQLITE_NOMEM: return "out of memory";
    case SQLITE_CONSTRAINT: return "the values were refused by the schema";
    default: return "see the SQLite message";
    }
}

static int reg_err(el_registry *r, int rc, const char *what) {
    r->last_rc = rc;
    const char *msg = r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc);
    if (!msg || !*msg || !strcmp(msg, "not an error")) msg = sqlite3_errstr(rc);
    /* A write past the file-size limit (EFBIG) or onto a full disk often reaches us as a plain
     * I/O error (a failed -shm or journal allocation), and SQLite does not keep the errno
     * reliably: look at the limit and the free space, and say which it was. */
    if ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL) {
        struct rlimit rl;
        struct statvfs vfs;
        char *dir = el_dirname(r->path);
        bool full = statvfs(dir, &vfs) == 0 &&
                    (unsigned long long)vfs.f_bavail * vfs.f_frsize < ((unsigned long long)1 << 20);
        unsigned long long free_kib =
            full ? (unsigned long long)vfs.f_bavail * vfs.f_frsize / 1024 : 0;
        free(dir);
        if (full)
            return el_err("%s: %s: %s (the disk is full: %llu KiB free; free space and retry; the "
                          "registry itself is intact)", r->path, what, msg, free_kib);
        if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
            return el_err("%s: %s: %s (a file-size limit is set, ulimit -f = %llu KiB, and "
                          "writes beyond it fail: raise the limit and retry; the registry itself "
                          "is intact)", r->path, what, msg, (unsigned long long)(rl.rlim_cur / 1024));
    }
    return el_err("%s: %s: %s (%s)", r->path, what, msg, advice(rc, r->path));
}

/* ---- small statement helpers ----------------------------------------------------------------- */
static int prep(el_registry *r, const char *sql, sqlite3_stmt **st) {
    int rc = sqlite3_prepare_v2(r->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return reg_err(r, rc, "preparing a query");
    }
    return EL_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
    if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, i);
}

static void bind_real(sqlite3_stmt *st, int i, double v) {
    if (isfinite(v)) sqlite3_bind_double(st, i, v);
    else sqlite3_bind_null(st, i); /* NaN/inf: unknown */
}

/* Runs a statement that returns no rows, then resets it for reuse. */
static int step_done(el_registry *r, sqlite3_stmt *st, const char *what) {
    int rc = sqlite3_step(st);
    int out = EL_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) out = reg_err(r, rc, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return out;
}

static int exec_sql(el_registry *r, const char *sql, const char *what) {
    char *msg = NULL;
    int rc = sqlite3_exec(r->db, sql, NULL, NULL, &msg);
    sqlite3_free(msg);
    if (rc != SQLITE_OK) return reg_err(r, rc, what);
    return EL_OK;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* Lock waits: SQLite's own busy_timeout handler sleeps up to 100 ms per retry, which wastes most
 * of the time when several workers commit small transactions. This one polls every 0.2-4 ms (with
 * jitter, so waiting processes do not retry in lockstep) until the busy timeout. */
static int busy_wait(void *ctx, int count) {
    el_registry *r = ctx;
    double now = el_now();
    if (count == 0) r->busy_since = now;
    if ((now - r->busy_since) * 1000.0 >= (double)r->busy_ms) return 0;
    int cap_us = count < 8 ? 200 << (count / 2) : 4000;
    if (cap_us > 4000) cap_us = 4000;
    r->jitter = r->jitter * 6364136223846793005ULL + 1442695040888963407ULL;
    int us = cap_us / 2 + (int)((r->jitter >> 33) % (uint64_t)(cap_us / 2 + 1));
    struct timespec ts = {0, (long)us * 1000L};
    nanosleep(&ts, NULL);
    return 1;
}

static bool is_busy(int rc) { return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED; }

/* Runs fn inside BEGIN IMMEDIATE ... COMMIT. Retries the whole transaction while the registry is
 * locked by another process (SQLite's busy handler already waits inside each call; this loop
 * covers the busy results the handler does not see), up to the busy timeout. fn returns EL_OK or
 * EL_ERR after reg_err()/el_err(); any error rolls back everything fn did. */
typedef int (*tx_fn)(el_registry *r, void *ctx);

static int with_write_tx(el_registry *r, const char *what, tx_fn fn, void *ctx) {
    if (r->readonly) return el_err("%s: %s: the registry was opened read-only", r->path, what);
    double deadline = el_now() + (double)r->busy_ms / 1000.0;
    int backoff = 2;
    for (;;) {
        r->last_rc = SQLITE_OK;
        int rc = sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK) {
            int frc = fn(r, ctx);
            if (frc == EL_OK) {
                rc = sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
                while (is_busy(rc) && el_now() < deadline) { /* rollback journal: readers */
                    sleep_ms(backoff);
                    rc = sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
                }
                if (rc == SQLITE_OK) return EL_OK;
                reg_err(r, rc, what);
            }
            int saved = r->last_rc;
            char msg[4096];
            snprintf(msg, sizeof msg, "%s", el_last_error());
            if (!sqlite3_get_autocommit(r->db)) sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
            el_err("%s", msg);
            if (!is_busy(saved) || el_now() >= deadline) return EL_ERR;
        } else if (!is_busy(rc) || el_now() >= deadline) {
            return reg_err(r, rc, what);
        }
        sleep_ms(backoff);
        if (backoff < 100) backoff *= 2;
    }
}

/* The shortest decimal that converts back to f through double -> float: thresholds and curve
 * points read as 0.3 in the sqlite3 shell (and `WHERE threshold = 0.3` finds them), while
 * (float)value gives the exact float back. */
static double float_as_short_double(float f) {
    if (!isfinite(f)) return (double)f;
    char buf[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f) return d;
    }
    return (double)f;
}

/* ---- time, uuid, process identity ------------------------------------------------------------ */
static void iso_now_ms(char out[32]) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char s[24];
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", s, (int)(ts.tv_nsec / 1000000L));
}

static int random_bytes(uint8_t *b, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = getrandom(b + got, n - got, 0);
        if (k < 0) {
            if (errno == EINTR) continue;
            break;
        }
        got += (size_t)k;
    }
    if (got == n) return EL_OK;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return el_err("cannot read random bytes for a run id: /dev/urandom: %s", strerror(errno));
    got = 0;
    while (got < n) {
        ssize_t k = read(fd, b + got, n - got);
        if (k <= 0) {
            if (k < 0 && errno == EINTR) continue;
            close(fd);
            return el_err("cannot read random bytes for a run id: /dev/urandom: %s",
                          k < 0 ? strerror(errno) : "end of file");
        }
        got += (size_t)k;
    }
    close(fd);
    return EL_OK;
}

static int uuid_v4(char out[37]) {
    uint8_t b[16];
    if (random_bytes(b, sizeof b)) return EL_ERR;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10 */
    static const char hex[] = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = 0;
    return EL_OK;
}

static bool uuid_ok(const char *u) {
    if (!u || strlen(u) != 36) return false;
    for (int i = 0; i < 36; i++) {
        char c = u[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

/* Process state and start time (clock ticks after boot) from /proc/PID/stat.
 * 1 = exists, 0 = no such process, -1 = cannot tell. */
static int proc_stat(int64_t pid, char *state, int64_t *start) {
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ESRCH) return 0;
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return n == 0 ? 0 : -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may contain spaces and parentheses */
    if (!p || p[1] != ' ') return -1;
    p += 2;
    *state = *p;
    /* after ')' come fields 3 (state) ... 22 (starttime) */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p) return -1;
        p++;
    }
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p) return -1;
    *start = v;
    return 1;
}

static const char *boot_id(void) {
    static char id[64];
    if (!id[0]) {
        int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, id, sizeof id - 1);
            close(fd);
            if (n > 0) {
                id[n] = 0;
                id[strcspn(id, "\n")] = 0;
            } else {
                id[0] = 0;
            }
        }
    }
    return id;
}

typedef enum { PROC_ALIVE, PROC_GONE, PROC_REUSED, PROC_REBOOTED, PROC_UNKNOWN } proc_fate;

static proc_fate process_fate(int64_t pid, bool has_start, int64_t start, const char *run_boot) {
    const char *boot = boot_id();
    if (run_boot && *run_boot && *boot && strcmp(run_boot, boot) != 0) return PROC_REBOOTED;
    if (pid <= 0) return PROC_UNKNOWN;
    char state = 0;
    int64_t now_start = 0;
    int e = proc_stat(pid, &state, &now_start);
    if (e == 0) return PROC_GONE;
    if (e < 0) { /* no /proc: ask the kernel whether the pid exists */
        if (kill((pid_t)pid, 0) == -1 && errno == ESRCH) return PROC_GONE;
        return PROC_UNKNOWN;
    }
    if (state == 'Z' || state == 'X') return PROC_GONE; /* exited, not yet reaped */
    if (has_start && now_start != start) return PROC_REUSED;
    return PROC_ALIVE;
}

/* ---- opening --------------------------------------------------------------------------------- */
const char *el_registry_default_path(const char *option) {
    if (option && *option) return option;
    return el_env("EMOLAB_REGISTRY", "registry.db");
}

const char *el_registry_path(el_registry *r) { return r ? r->path : NULL; }
struct sqlite3 *el_registry_db(el_registry *r) { return r ? r->db : NULL; }
int32_t el_registry_schema_version(el_registry *r) { return r ? r->version : -1; }

void el_registry_set_busy_timeout(el_registry *r, int32_t ms) {
    if (!r) return;
    r->busy_ms = ms < 0 ? 0 : ms;
}

void el_registry_close(el_registry *r) {
    if (!r) return;
    if (r->db) sqlite3_close_v2(r->db);
    free(r->path);
    free(r);
}

/* Reads one text (first column of the first row) into out (cap bytes); out = "" when there is no
 * row or it is NULL. Errors, preparing included, are reported as `what`. */
static int query_text(el_registry *r, const char *sql, char *out, size_t cap, const char *what) {
    sqlite3_stmt *st;
    out[0] = 0;
    int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) return reg_err(r, rc, what);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return reg_err(r, rc, what);
    return EL_OK;
}

/* Reads one integer (first column of the first row); *found = whether there was a non-NULL row. */
static int query_int(el_registry *r, const char *sql, int64_t *out, bool *found, const char *what) {
    sqlite3_stmt *st;
    if (prep(r, sql, &st)) return EL_ERR;
    int rc = sqlite3_step(st);
    *found = false;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
            *out = sqlite3_column_int64(st, 0);
            *found = true;
        }
        rc = SQLITE_DONE;
    }
    if (rc != SQLITE_DONE) {
        reg_err(r, rc, what);
        sqlite3_finalize(st);
        return EL_ERR;
    }
    sqlite3_finalize(st);
    return EL_OK;
}

/* What the file holds: *objects = schema objects that are not SQLite's own, *has_schema =
 * whether emolab's version table is there. Any error here means "not a (healthy) database". */
static int probe(el_registry *r, int64_t *objects, bool *has_schema) {
    bool found;
    if (query_int(r, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
                  objects, &found, "reading the schema"))
        return EL_ERR;
    int64_t n = 0;
    if (query_int(r, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'emolab_schema'",
                  &n, &found, "reading the schema"))
        return EL_ERR;
    *has_schema = n > 0;
    return EL_OK;
}

static int read_version(el_registry *r, int32_t *version) {
    int64_t v = 0;
    bool found;
    if (query_int(r, "SELECT max(version) FROM emolab_schema", &v, &found, "reading the schema version"))
        return EL_ERR;
    if (!found || v < 1 || v > INT32_MAX)
        return el_err("%s: the emolab_schema table holds no valid version: the file is damaged (restore it "
                      "from a backup)", r->path);
    *version = (int32_t)v;
    return EL_OK;
}

static int newer_error(el_registry *r, int32_t v) {
    return el_err("%s has schema version %d, this emolab knows up to %d: upgrade emolab", r->path, (int)v,
                  (int)el_registry_latest_version());
}

typedef struct {
    int32_t from, to;
} migrate_ctx;

static int migrate_tx(el_registry *r, void *vctx) {
    migrate_ctx *c = vctx;
    int64_t objects = 0;
    bool has_schema = false;
    if (probe(r, &objects, &has_schema)) return EL_ERR;
    const int32_t latest = el_registry_latest_version();
    if (!has_schema) {
        if (objects > 0)
            return el_err("not an emolab registry: %s (no emolab schema table): it holds other tables, "
                          "which emolab will not touch; choose another registry path",
                          r->path);
        if (exec_sql(r, EL_REGISTRY_SCHEMA_SQL, "creating the registry schema")) return EL_ERR;
        int32_t v = 0;
        if (read_version(r, &v)) return EL_ERR;
        if (v != latest)
            return el_err("%s: registry.db.sql creates schema version %d but registry.c's migrations end at "
                          "%d: this emolab build is inconsistent (add the migration)",
                          r->path, (int)v, (int)latest);
        c->from = 0;
        c->to = v;
        return EL_OK;
    }
    int32_t v = 0;
    if (read_version(r, &v)) return EL_ERR;
    c->from = v;
    if (v > latest) return newer_error(r, v);
    for (int32_t i = 0; i < N_MIGRATIONS; i++) {
        const reg_migration *m = &MIGRATIONS[i];
        if (m->version <= v) continue;
        if (!m->sql)
            return el_err("%s: schema version %d has no upgrade step to %d: this emolab build is broken",
                          r->path, (int)v, (int)m->version);
        char what[96];
        snprintf(what, sizeof what, "upgrading the schema to version %d", (int)m->version);
        if (exec_sql(r, m->sql, what)) return EL_ERR;
        sqlite3_stmt *st;
        if (prep(r, "INSERT INTO emolab_schema (version, applied, description) VALUES (?, ?, ?)", &st))
            return EL_ERR;
        char now[32];
        iso_now_ms(now);
        sqlite3_bind_int(st, 1, m->version);
        bind_text(st, 2, now);
        bind_text(st, 3, m->description);
        int e = step_done(r, st, what);
        sqlite3_finalize(st);
        if (e) return EL_ERR;
        v = m->version;
    }
    c->to = v;
    return EL_OK;
}

static int set_wal(el_registry *r) {
    double deadline = el_now() + (double)r->busy_ms / 1000.0;
    for (;;) {
        sqlite3_stmt *st;
        if (prep(r, "PRAGMA journal_mode=WAL", &st)) return EL_ERR;
        int rc = sqlite3_step(st);
        bool wal = rc == SQLITE_ROW && sqlite3_column_text(st, 0) &&
                   !strcmp((const char *)sqlite3_column_text(st, 0), "wal");
        if (rc == SQLITE_ROW) rc = SQLITE_OK;
        if (rc != SQLITE_OK) rc = sqlite3_reset(st);
        sqlite3_finalize(st);
        if (wal) return EL_OK;
        if ((rc != SQLITE_OK && !is_busy(rc)) || el_now() >= deadline) {
            if (rc != SQLITE_OK) return reg_err(r, rc, "switching to WAL mode");
            return el_err("%s: cannot switch the registry to WAL mode: the registry must be on a local "
                          "filesystem that supports shared memory (not NFS)", r->path);
        }
        sleep_ms(10);
    }
}

static int configure(el_registry *r) {
    sqlite3_extended_result_codes(r->db, 1);
    r->jitter = (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(el_now() * 1e9);
    sqlite3_busy_handler(r->db, busy_wait, r);
    /* a registry from elsewhere is data, not code: no schema functions with side effects, no
     * writable_schema tricks */
    sqlite3_db_config(r->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    sqlite3_db_config(r->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    return exec_sql(r, "PRAGMA foreign_keys = ON", "enabling foreign keys");
}

static el_registry *registry_open(const char *path, bool readonly, bool exclusive);

el_registry *el_registry_open(const char *path, bool readonly) { return registry_open(path, readonly, false); }

/* One writer process only (a sweep worker's run registry on a shared filesystem): the WAL index
 * lives in this process's memory instead of a -shm file (SQLite's exclusive locking mode), so
 * nothing needs memory shared between machines; the file is locked while it is open. */
el_registry *el_registry_open_private(const char *path) { return registry_open(path, false, true); }

int el_registry_seal_private(el_registry *r) {
    if (!r || r->readonly) return el_err("el_registry_seal_private: no writable registry");
    return exec_sql(r, "PRAGMA journal_mode = DELETE", "leaving WAL mode");
}

static el_registry *registry_open(const char *path, bool readonly, bool exclusive) {
    if (!path || !*path) {
        el_err("no registry path given: pass --registry PATH or set EMOLAB_REGISTRY");
        return NULL;
    }
    struct stat sb;
    bool exists = stat(path, &sb) == 0;
    if (exists && S_ISDIR(sb.st_mode)) {
        el_err("%s is a directory, not a registry file: pass the path of the .db file", path);
        return NULL;
    }
    if (readonly && !exists) {
        el_err("%s: no such registry (%s): check the path, or create it by running an experiment "
               "(`emolab run SPEC`); the registry is chosen with --registry or EMOLAB_REGISTRY",
               path, strerror(errno));
        return NULL;
    }
    if (exists && !S_ISREG(sb.st_mode)) {
        el_err("%s is not a regular file: a registry is an SQLite database file", path);
        return NULL;
    }
    if (!exists) {
        char *dir = el_dirname(path);
        struct stat db;
        bool ok = stat(dir, &db) == 0 && S_ISDIR(db.st_mode);
        if (!ok) el_err("%s: cannot create the registry: directory %s does not exist (create it first)", path, dir);
        free(dir);
        if (!ok) return NULL;
    }

    el_registry *r = xcalloc(1, sizeof *r);
    r->path = xstrdup(path);
    r->readonly = readonly;
    r->busy_ms = DEFAULT_BUSY_MS;
    int flags = readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(path, &r->db, flags, NULL);
    if (rc != SQLITE_OK) {
        reg_err(r, rc, readonly ? "cannot open the registry read-only" : "cannot open the registry");
        goto fail;
    }
    if (configure(r)) goto fail;
    if (exclusive && exec_sql(r, "PRAGMA locking_mode = EXCLUSIVE", "locking the registry")) goto fail;

    int64_t objects = 0;
    bool has_schema = false;
    if (probe(r, &objects, &has_schema)) {
        int prc = r->last_rc & 0xff;
        if (prc == SQLITE_NOTADB)
            el_err("%s is not an SQLite database (file is not a database), so not an emolab registry: "
                   "check the path (--registry / EMOLAB_REGISTRY)", path);
        else if (prc == SQLITE_CORRUPT)
            el_err("%s is a damaged SQLite database (%s): restore it from a backup, or try "
                   "`sqlite3 %s .recover`", path, sqlite3_errmsg(r->db), path);
        goto fail;
    }
    if (readonly) {
        if (!has_schema) {
            el_err("not an emolab registry: %s (no emolab schema table): check the path "
                   "(--registry / EMOLAB_REGISTRY)", path);
            goto fail;
        }
        if (read_version(r, &r->version)) goto fail;
        if (r->version > el_registry_latest_version()) {
            newer_error(r, r->version);
            goto fail;
        }
        if (r->version < el_registry_latest_version()) {
            el_err("%s has schema version %d, older than this emolab's %d: open it once read-write "
                   "(any emolab command that records runs upgrades it) and retry",
                   path, (int)r->version, (int)el_registry_latest_version());
            goto fail;
        }
        return r;
    }

    /* read-write: never touch a file that is something else, nor one from a newer emolab */
    if (!has_schema && objects > 0) {
        el_err("not an emolab registry: %s (no emolab schema table): it holds other tables, which "
               "emolab will not touch; choose another registry path", path);
        goto fail;
    }
    if (has_schema) {
        int32_t v = 0;
        if (read_version(r, &v)) goto fail;
        if (v > el_registry_latest_version()) {
            newer_error(r, v);
            goto fail;
        }
    }
    if (set_wal(r)) goto fail;
    bool need_schema = !has_schema;
    if (has_schema) {
        int32_t v = 0;
        if (read_version(r, &v)) goto fail;
        need_schema = v < el_registry_latest_version();
        r->version = v;
    }
    /* NORMAL in WAL mode: commits survive a killed process; el_run_finish switches to FULL for
     * its own commit so that results also survive a power loss. */
    if (exec_sql(r, "PRAGMA synchronous = NORMAL", "setting synchronous")) goto fail;
    if (need_schema) { /* the common case (current schema) takes no write lock */
        migrate_ctx mc = {0, 0};
        if (with_write_tx(r, "creating or upgrading the schema", migrate_tx, &mc)) goto fail;
        r->version = mc.to;
    }
    if (el_registry_recover(r) < 0) goto fail;
    return r;

fail:
    el_registry_close(r);
    return NULL;
}

/* ---- recovery of runs whose process died ----------------------------------------------------- */
typedef struct {
    int marked;
} recover_ctx;

static int recover_tx(el_registry *r, void *vctx) {
    recover_ctx *c = vctx;
    c->marked = 0;
    sqlite3_stmt *sel, *upd;
    if (prep(r, "SELECT uuid, pid, pid_start, boot_id FROM runs WHERE status = 'running' AND host = ?", &sel))
        return EL_ERR;
    if (prep(r, "UPDATE runs SET status = 'interrupted', finished = ?, error = ? "
                "WHERE uuid = ? AND status = 'running'", &upd)) {
        sqlite3_finalize(sel);
        return EL_ERR;
    }
    bind_text(sel, 1, el_hostname());
    int rc, err = EL_OK;
    char now[32];
    iso_now_ms(now);
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        const char *uuid = (const char *)sqlite3_column_text(sel, 0);
        int64_t pid = sqlite3_column_int64(sel, 1);
        bool has_start = sqlite3_column_type(sel, 2) != SQLITE_NULL;
        int64_t start = sqlite3_column_int64(sel, 2);
        const char *boot = (const char *)sqlite3_column_text(sel, 3);
        proc_fate f = process_fate(pid, has_start, start, boot);
        if (f == PROC_ALIVE || f == PROC_UNKNOWN || !uuid) continue;
        char *why = el_printf("interrupted: the process (pid %lld on %s) %s without recording a result; "
                              "noticed by pid %lld at %s",
                              (long long)pid, el_hostname(),
                              f == PROC_GONE     ? "ended"
                              : f == PROC_REUSED ? "ended (its pid now belongs to another process)"
                                                 : "ended when the machine restarted",
                              (long long)getpid(), now);
        bind_text(upd, 1, now);
        bind_text(upd, 2, why);
        bind_text(upd, 3, uuid);
        free(why);
        if ((err = step_done(r, upd, "marking an interrupted run"))) break;
        c->marked += sqlite3_changes(r->db);
    }
    if (!err && rc != SQLITE_DONE) err = reg_err(r, rc, "looking for interrupted runs");
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return err;
}

int el_registry_recover(el_registry *r) {
    if (!r) return el_err("el_registry_recover: no registry");
    if (r->readonly) return 0; /* read-only opens never write */
    /* cheap read first: most opens find nothing to do and need no write lock */
    sqlite3_stmt *st;
    if (prep(r, "SELECT pid, pid_start, boot_id FROM runs WHERE status = 'running' AND host = ?", &st))
        return EL_ERR;
    bind_text(st, 1, el_hostname());
    bool any = false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        proc_fate f = process_fate(sqlite3_column_int64(st, 0), sqlite3_column_type(st, 1) != SQLITE_NULL,
                                   sqlite3_column_int64(st, 1), (const char *)sqlite3_column_text(st, 2));
        if (f != PROC_ALIVE && f != PROC_UNKNOWN) any = true;
    }
    if (rc != SQLITE_DONE) {
        reg_err(r, rc, "looking for interrupted runs");
        sqlite3_finalize(st);
        return EL_ERR;
    }
    sqlite3_finalize(st);
    if (!any) return 0;
    recover_ctx c = {0};
    if (with_write_tx(r, "marking interrupted runs", recover_tx, &c)) return EL_ERR;
    return c.marked;
}

/* ---- run writes ------------------------------------------------------------------------------ */
/* Inside a write transaction: the run must exist and not be final. */
static int check_writable(el_registry *r, const char *uuid, const char *what) {
    sqlite3_stmt *st;
    if (prep(r, "SELECT status FROM runs WHERE uuid = ?", &st)) return EL_ERR;
    bind_text(st, 1, uuid);
    int rc = sqlite3_step(st);
    int out = EL_OK;
    if (rc == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        if (status_is_final(s))
            out = el_err("%s: %s: run %s is already %s, and a finished, failed or stopped run is final "
                         "(start a new run instead)", r->path, what, uuid, s);
    } else if (rc == SQLITE_DONE) {
        out = el_err("%s: %s: no run %s in this registry (was it recorded in another registry? check "
                     "--registry / EMOLAB_REGISTRY)", r->path, what, uuid);
    } else {
        out = reg_err(r, rc, what);
    }
    sqlite3_finalize(st);
    return out;
}

static int check_args(el_registry *r, const char *uuid, const char *fn) {
    if (!r) return el_err("%s: no registry (open one with el_registry_open)", fn);
    if (r->readonly)
        return el_err("%s: %s: the registry was opened read-only (open it read-write to record runs)", r->path, fn);
    if (!uuid_ok(uuid))
        return el_err("%s: %s: '%s' is not a run id (36-character uuid)", r->path, fn, uuid ? uuid : "(null)");
    return EL_OK;
}

typedef struct {
    const el_run_info *info;
    const char *uuid;
    int64_t pid, pid_start;
    bool has_start;
} begin_ctx;

static int begin_tx(el_registry *r, void *vctx) {
    begin_ctx *c = vctx;
    const el_run_info *in = c->info;
    char now[32];
    iso_now_ms(now);
    sqlite3_stmt *st;
    if (prep(r,
             "INSERT INTO runs (uuid, name, owner, kind, status, created, started, config_json, config_hash,"
             " git_commit, host, pid, pid_start, boot_id, seed, data_variant, sweep_id, run_dir, spec_file)"
             " VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
             &st))
        return EL_ERR;
    bind_text(st, 1, c->uuid);
    bind_text(st, 2, in->name);
    bind_text(st, 3, in->owner ? in->owner : "");
    bind_text(st, 4, in->kind && *in->kind ? in->kind : "single");
    bind_text(st, 5, now);
    bind_text(st, 6, in->config_json);
    bind_text(st, 7, in->config_hash);
    bind_text(st, 8, in->git_commit ? in->git_commit : EMOLAB_GIT_COMMIT);
    bind_text(st, 9, el_hostname());
    sqlite3_bind_int64(st, 10, c->pid);
    if (c->has_start) sqlite3_bind_int64(st, 11, c->pid_start);
    else sqlite3_bind_null(st, 11);
    bind_text(st, 12, *boot_id() ? boot_id() : NULL);
    sqlite3_bind_int64(st, 13, in->seed);
    bind_text(st, 14, in->data_variant);
    bind_text(st, 15, in->sweep_id);
    bind_text(st, 16, in->run_dir);
    bind_text(st, 17, in->spec_file);
    int e = step_done(r, st, "recording the new run");
    sqlite3_finalize(st);
    if (e) return EL_ERR;
    if (in->n_params <= 0) return EL_OK;
    if (prep(r, "INSERT INTO params (run, key, value) VALUES (?, ?, ?)", &st)) return EL_ERR;
    for (int32_t i = 0; i < in->n_params && !e; i++) {
        bind_text(st, 1, c->uuid);
        bind_text(st, 2, in->param_keys[i]);
        bind_text(st, 3, in->param_values[i]);
        if ((e = step_done(r, st, "recording the run's parameters")))
            el_err_prefix("parameter %s = %s", in->param_keys[i], in->param_values[i]);
    }
    sqlite3_finalize(st);
    return e;
}

int el_run_begin(el_registry *r, const el_run_info *info, char uuid[37]) {
    if (uuid) uuid[0] = 0;
    if (!r) return el_err("el_run_begin: no registry (open one with el_registry_open)");
    if (r->readonly) return el_err("%s: cannot record a run: the registry was opened read-only", r->path);
    if (!info || !uuid) return el_err("%s: el_run_begin: no run info", r->path);
    if (!info->name) return el_err("%s: cannot record a run without a name", r->path);
    if (!info->config_hash || !*info->config_hash)
        return el_err("%s: cannot record run '%s': no config hash", r->path, info->name);
    if (!info->config_json) return el_err("%s: cannot record run '%s': no resolved config", r->path, info->name);
    json_error_t jerr;
    json_t *j = json_loads(info->config_json, JSON_DECODE_ANY, &jerr);
    if (!j)
        return el_err("%s: cannot record run '%s': the resolved config is not valid JSON (%d:%d: %s)", r->path,
                      info->name, jerr.line, jerr.column, jerr.text);
    json_decref(j);
    if (info->kind && *info->kind && !el_streq(info->kind, "single") && !el_streq(info->kind, "ensemble"))
        return el_err("%s: cannot record run '%s': kind '%s' is not single or ensemble", r->path, info->name,
                      info->kind);
    if (info->n_params < 0 || (info->n_params > 0 && (!info->param_keys || !info->param_values)))
        return el_err("%s: cannot record run '%s': bad parameter list (%d)", r->path, info->name,
                      (int)info->n_params);
    for (int32_t i = 0; i < info->n_params; i++) {
        if (!info->param_keys[i] || !*info->param_keys[i] || !info->param_values[i])
            return el_err("%s: cannot record run '%s': parameter %d has no key or value", r->path, info->name,
                          (int)i);
        j = json_loads(info->param_values[i], JSON_DECODE_ANY, &jerr);
        if (!j)
            return el_err("%s: cannot record run '%s': parameter %s: '%s' is not JSON text (%s)", r->path,
                          info->name, info->param_keys[i], info->param_values[i], jerr.text);
        json_decref(j);
    }

    begin_ctx c = {.info = info, .pid = (int64_t)getpid()};
    char state;
    c.has_start = proc_stat(c.pid, &state, &c.pid_start) == 1;
    char id[37];
    for (int attempt = 0;; attempt++) {
        if (uuid_v4(id)) return el_err_prefix("%s", r->path);
        c.uuid = id;
        if (with_write_tx(r, "recording a new run", begin_tx, &c) == EL_OK) break;
        /* a uuid collision (2^-122) would be a PRIMARY KEY failure: draw again once */
        if ((r->last_rc & 0xff) != SQLITE_CONSTRAINT || attempt > 0) return EL_ERR;
        if (!strstr(el_last_error(), "runs.uuid")) return EL_ERR;
    }
    memcpy(uuid, id, 37);
    return EL_OK;
}

/* ---- run dir ---------------------------------------------------------------------------------- */
typedef struct {
    const char *uuid, *run_dir;
} dir_ctx;

static int dir_tx(el_registry *r, void *vctx) {
    dir_ctx *c = vctx;
    if (check_writable(r, c->uuid, "recording the run directory")) return EL_ERR;
    sqlite3_stmt *st;
    if (prep(r, "UPDATE runs SET run_dir = ? WHERE uuid = ?", &st)) return EL_ERR;
    bind_text(st, 1, c->run_dir);
    bind_text(st, 2, c->uuid);
    int e = step_done(r, st, "recording the run directory");
    sqlite3_finalize(st);
    return e;
}

int el_run_set_run_dir(el_registry *r, const char *uuid, const char *run_dir) {
    if (check_args(r, uuid, "el_run_set_run_dir")) return EL_ERR;
    if (!run_dir || !*run_dir) return el_err("%s: el_run_set_run_dir: run %s: no directory given", r->path, uuid);
    dir_ctx c = {uuid, run_dir};
    return with_write_tx(r, "recording the run directory", dir_tx, &c);
}

/* ---- data ------------------------------------------------------------------------------------- */
typedef struct {
    const char *uuid;
    const el_dataset *d;
} data_ctx;

static char *label_counts_json(const el_dataset *d, const el_split *s) {
    json_t *o = json_object();
    int32_t k = s->n_labels;
    if (k < 0 || k > EL_MAX_LABELS) k = 0;
    int64_t cnt[EL_MAX_LABELS] = {0};
    if (s->y && s->n > 0)
        for (int64_t i = 0; i < s->n; i++)
            for (int32_t j = 0; j < k; j++) cnt[j] += s->y[i * k + j] != 0;
    for (int32_t j = 0; j < k; j++) {
        char idx[16];
        snprintf(idx, sizeof idx, "%d", (int)j);
        const char *name = j < d->labels.n && d->labels.names[j] ? d->labels.names[j] : idx;
        json_object_set_new(o, name, json_integer(cnt[j]));
    }
    char *txt = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    char *out = xstrdup(txt ? txt : "{}");
    free(txt);
    return out;
}

static int put_source(el_registry *r, sqlite3_stmt *st, const char *uuid, const char *split, int idx,
                      const el_source_stats *s) {
    if (!s->path) return EL_OK;
    bind_text(st, 1, uuid);
    bind_text(st, 2, split);
    sqlite3_bind_int(st, 3, idx);
    bind_text(st, 4, s->path);
    bind_text(st, 5, s->sha256);
    sqlite3_bind_int64(st, 6, s->rows_read);
    sqlite3_bind_int64(st, 7, s->rows_kept);
    sqlite3_bind_int64(st, 8, s->rows_dropped_unmapped);
    sqlite3_bind_int64(st, 9, s->rows_dropped_overlap);
    return step_done(r, st, "recording a data source");
}

static int data_tx(el_registry *r, void *vctx) {
    data_ctx *c = vctx;
    const el_dataset *d = c->d;
    if (check_writable(r, c->uuid, "recording data facts")) return EL_ERR;
    sqlite3_stmt *st;
    if (prep(r, "DELETE FROM data_sources WHERE run = ?", &st)) return EL_ERR;
    bind_text(st, 1, c->uuid);
    int e = step_done(r, st, "replacing data facts");
    sqlite3_finalize(st);
    if (e) return EL_ERR;
    if (prep(r, "INSERT OR REPLACE INTO data (run, split, fingerprint, rows, dropped_overlap, label_counts)"
                " VALUES (?, ?, ?, ?, ?, ?)", &st))
        return EL_ERR;
    const char *names[3] = {"train", "val", "test"};
    const el_split *splits[3] = {&d->train, &d->val, &d->test};
    for (int i = 0; i < 3 && !e; i++) {
        char *counts = label_counts_json(d, splits[i]);
        bind_text(st, 1, c->uuid);
        bind_text(st, 2, names[i]);
        bind_text(st, 3, splits[i]->fingerprint);
        sqlite3_bind_int64(st, 4, splits[i]->n);
        sqlite3_bind_int64(st, 5, i == 0 ? d->n_dropped_overlap : 0);
        bind_text(st, 6, counts);
        e = step_done(r, st, "recording data facts");
        free(counts);
    }
    sqlite3_finalize(st);
    if (e) return EL_ERR;
    if (prep(r, "INSERT INTO data_sources (run, split, idx, path, sha256, rows_read, rows_kept,"
                " rows_dropped_unmapped, rows_dropped_overlap) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", &st))
        return EL_ERR;
    for (int32_t i = 0; i < d->n_train_src && !e; i++) e = put_source(r, st, c->uuid, "train", i, &d->train_src[i]);
    if (!e) e = put_source(r, st, c->uuid, "val", 0, &d->val_src);
    if (!e) e = put_source(r, st, c->uuid, "test", 0, &d->test_src);
    sqlite3_finalize(st);
    return e;
}

int el_run_set_data(el_registry *r, const char *uuid, const el_dataset *data) {
    if (check_args(r, uuid, "el_run_set_data")) return EL_ERR;
    if (!data) return el_err("%s: el_run_set_data: no data", r->path);
    if (data->n_train_src < 0 || data->n_train_src > EL_MAX_SOURCES)
        return el_err("%s: el_run_set_data: %d train sources (at most %d)", r->path, (int)data->n_train_src,
                      EL_MAX_SOURCES);
    const el_split *splits[3] = {&data->train, &data->val, &data->test};
    for (int i = 0; i < 3; i++)
        if (splits[i]->n > 0 && splits[i]->y && (splits[i]->n_labels < 0 || splits[i]->n_labels > EL_MAX_LABELS))
            return el_err("%s: el_run_set_data: a split has %d labels (at most %d)", r->path,
                          (int)splits[i]->n_labels, EL_MAX_LABELS);
    data_ctx c = {uuid, data};
    return with_write_tx(r, "recording data facts", data_tx, &c);
}

/* ---- epochs ----------------------------------------------------------------------------------- */
typedef struct {
    const char *uuid;
    const el_epoch_row *row;
} epoch_ctx;

static int epoch_tx(el_registry *r, void *vctx) {
    epoch_ctx *c = vctx;
    const el_epoch_row *e = c->row;
    if (check_writable(r, c->uuid, "recording an epoch")) return EL_ERR;
    sqlite3_stmt *st;
    if (prep(r, "INSERT OR REPLACE INTO epochs (run, epoch, train_loss, val_loss, val_weighted_f1, val_macro_f1,"
                " val_micro_f1, lr, seconds, samples_per_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st))
        return EL_ERR;
    bind_text(st, 1, c->uuid);
    sqlite3_bind_int(st, 2, e->epoch);
    bind_real(st, 3, e->train_loss);
    bind_real(st, 4, e->val_loss);
    bind_real(st, 5, e->val_weighted_f1);
    bind_real(st, 6, e->val_macro_f1);
    bind_real(st, 7, e->val_micro_f1);
    bind_real(st, 8, e->lr);
    bind_real(st, 9, e->seconds);
    bind_real(st, 10, e->samples_per_s);
    int err = step_done(r, st, "recording an epoch");
    sqlite3_finalize(st);
    if (err) return EL_ERR;
    if (prep(r, "UPDATE runs SET epochs_run = max(epochs_run, ?) WHERE uuid = ?", &st)) return EL_ERR;
    sqlite3_bind_int(st, 1, e->epoch);
    bind_text(st, 2, c->uuid);
    err = step_done(r, st, "recording an epoch");
    sqlite3_finalize(st);
    return err;
}

int el_run_epoch(el_registry *r, const char *uuid, const el_epoch_row *row) {
    if (check_args(r, uuid, "el_run_epoch")) return EL_ERR;
    if (!row) return el_err("%s: el_run_epoch: no epoch row", r->path);
    if (row->epoch < 1) return el_err("%s: el_run_epoch: epoch %d (epochs count from 1)", r->path, (int)row->epoch);
    epoch_ctx c = {uuid, row};
    return with_write_tx(r, "recording an epoch", epoch_tx, &c);
}

/* ---- finish ------------------------------------------------------------------------------------ */
typedef struct {
    const char *uuid;
    const el_run_result *res;
} finish_ctx;

static const char *label_name(const el_run_result *res, int32_t j, char buf[16]) {
    if (res->label_names && j < res->n_labels && res->label_names[j]) return res->label_names[j];
    snprintf(buf, 16, "%d", (int)j);
    return buf;
}

static int put_metric(el_registry *r, sqlite3_stmt *st, const char *uuid, const char *split,
                      const char *name, double v) {
    bind_text(st, 1, uuid);
    bind_text(st, 2, split);
    bind_text(st, 3, name);
    bind_real(st, 4, v);
    return step_done(r, st, "recording metrics");
}

static int put_split_metrics(el_registry *r, const char *uuid, const el_run_result *res, const el_split_metrics *sm) {
    const el_metrics *m = sm->m;
    sqlite3_stmt *st;
    if (prep(r, "INSERT OR REPLACE INTO metrics (run, split, name, value) VALUES (?, ?, ?, ?)", &st)) return EL_ERR;
    struct {
        const char *name;
        double v;
    } vals[] = {
        {"weighted_f1", m->weighted_f1},       {"macro_f1", m->macro_f1},
        {"micro_f1", m->micro_f1},             {"samples_f1", m->samples_f1},
        {"weighted_precision", m->weighted_precision}, {"weighted_recall", m->weighted_recall},
        {"macro_precision", m->macro_precision},       {"macro_recall", m->macro_recall},
        {"micro_precision", m->micro_precision},       {"micro_recall", m->micro_recall},
        {"samples_precision", m->samples_precision},   {"samples_recall", m->samples_recall},
        {"rows", (double)m->n_rows},           {"support", (double)m->support},
    };
    int e = EL_OK;
    for (size_t i = 0; i < sizeof vals / sizeof vals[0] && !e; i++)
        e = put_metric(r, st, uuid, sm->split, vals[i].name, vals[i].v);
    sqlite3_finalize(st);
    if (e) return EL_ERR;
    if (prep(r, "INSERT OR REPLACE INTO class_metrics (run, split, label, label_idx, precision, recall, f1,"
                " support, tp, fp, fn) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st))
        return EL_ERR;
    for (int32_t j = 0; j < m->n_labels && !e; j++) {
        char buf[16];
        const el_class_metrics *c = &m->cls[j];
        bind_text(st, 1, uuid);
        bind_text(st, 2, sm->split);
        bind_text(st, 3, label_name(res, j, buf));
        sqlite3_bind_int(st, 4, j);
        bind_real(st, 5, c->precision);
        bind_real(st, 6, c->recall);
        bind_real(st, 7, c->f1);
        sqlite3_bind_int64(st, 8, c->support);
        sqlite3_bind_int64(st, 9, c->tp);
        sqlite3_bind_int64(st, 10, c->fp);
        sqlite3_bind_int64(st, 11, c->fn);
        e = step_done(r, st, "recording class metrics");
    }
    sqlite3_finalize(st);
    return e;
}

static int finish_tx(el_registry *r, void *vctx) {
    finish_ctx *c = vctx;
    const el_run_result *res = c->res;
    if (check_writable(r, c->uuid, "recording the result")) return EL_ERR;
    sqlite3_stmt *st;
    /* an interrupted run completed later: what an earlier call recorded is replaced */
    static const char *const clear[] = {
        "DELETE FROM metrics WHERE run = ?", "DELETE FROM class_metrics WHERE run = ?",
        "DELETE FROM thresholds WHERE run = ?", "DELETE FROM threshold_curve WHERE run = ?"};
    for (size_t i = 0; i < sizeof clear / sizeof clear[0]; i++) {
        if (prep(r, clear[i], &st)) return EL_ERR;
        bind_text(st, 1, c->uuid);
        int e = step_done(r, st, "recording the result");
        sqlite3_finalize(st);
        if (e) return EL_ERR;
    }
    /* rows first: once the status is final, the schema refuses anything more for the run */
    for (int32_t i = 0; i < res->n_metrics; i++)
        if (put_split_metrics(r, c->uuid, res, &res->metrics[i])) return EL_ERR;
    int e = EL_OK;
    if (res->thresholds && res->n_labels > 0) {
        if (prep(r, "INSERT OR REPLACE INTO thresholds (run, label, label_idx, value) VALUES (?, ?, ?, ?)", &st))
            return EL_ERR;
        for (int32_t j = 0; j < res->n_labels && !e; j++) {
            char buf[16];
            bind_text(st, 1, c->uuid);
            bind_text(st, 2, label_name(res, j, buf));
            sqlite3_bind_int(st, 3, j);
            sqlite3_bind_double(st, 4, isfinite(res->thresholds[j]) ? float_as_short_double(res->thresholds[j]) : 0.5);
            e = step_done(r, st, "recording thresholds");
        }
        sqlite3_finalize(st);
        if (e) return EL_ERR;
    }
    if (res->n_thr_curve > 0) {
        if (prep(r, "INSERT OR REPLACE INTO threshold_curve (run, threshold, val_weighted_f1) VALUES (?, ?, ?)", &st))
            return EL_ERR;
        for (int32_t i = 0; i < res->n_thr_curve && !e; i++) {
            if (!isfinite(res->thr_curve_x[i])) continue;
            bind_text(st, 1, c->uuid);
            sqlite3_bind_double(st, 2, float_as_short_double(res->thr_curve_x[i]));
            bind_real(st, 3, float_as_short_double(res->thr_curve_val_f1[i]));
            e = step_done(r, st, "recording the threshold curve");
        }
        sqlite3_finalize(st);
        if (e) return EL_ERR;
    }
    char now[32];
    iso_now_ms(now);
    if (prep(r, "UPDATE runs SET status = ?, error = ?, finished = ?, best_epoch = ?,"
                " epochs_run = CASE WHEN ? > 0 THEN ? ELSE epochs_run END, train_seconds = ? WHERE uuid = ?", &st))
        return EL_ERR;
    bind_text(st, 1, res->status);
    bind_text(st, 2, el_streq(res->status, "finished") ? res->error
                     : res->error                      ? res->error
                                                       : "no reason given");
    bind_text(st, 3, now);
    if (res->best_epoch > 0) sqlite3_bind_int(st, 4, res->best_epoch);
    else sqlite3_bind_null(st, 4);
    sqlite3_bind_int(st, 5, res->epochs_run);
    sqlite3_bind_int(st, 6, res->epochs_run);
    bind_real(st, 7, res->train_seconds);
    bind_text(st, 8, c->uuid);
    e = step_done(r, st, "recording the result");
    sqlite3_finalize(st);
    return e;
}

int el_run_finish(el_registry *r, const char *uuid, const el_run_result *res) {
    if (check_args(r, uuid, "el_run_finish")) return EL_ERR;
    if (!res) return el_err("%s: el_run_finish: no result for run %s", r->path, uuid);
    if (!el_streq(res->status, "finished") && !el_streq(res->status, "failed") &&
        !el_streq(res->status, "interrupted") && !el_streq(res->status, "stopped"))
        return el_err("%s: el_run_finish: run %s: status '%s' is not finished, failed, interrupted or stopped",
                      r->path, uuid, res->status ? res->status : "(null)");
    if (res->n_labels < 0 || res->n_labels > EL_MAX_LABELS)
        return el_err("%s: el_run_finish: run %s: %d labels (at most %d)", r->path, uuid, (int)res->n_labels,
                      EL_MAX_LABELS);
    if (res->n_metrics < 0 || (res->n_metrics > 0 && !res->metrics))
        return el_err("%s: el_run_finish: run %s: bad metrics list", r->path, uuid);
    for (int32_t i = 0; i < res->n_metrics; i++) {
        const el_split_metrics *sm = &res->metrics[i];
        if (!sm->split || !*sm->split || !sm->m)
            return el_err("%s: el_run_finish: run %s: metrics entry %d has no split name or values", r->path,
                          uuid, (int)i);
        if (sm->m->n_labels < 0 || sm->m->n_labels > EL_MAX_LABELS)
            return el_err("%s: el_run_finish: run %s: %s metrics have %d labels", r->path, uuid, sm->split,
                          (int)sm->m->n_labels);
    }
    if (res->n_thr_curve < 0 || (res->n_thr_curve > 0 && (!res->thr_curve_x || !res->thr_curve_val_f1)))
        return el_err("%s: el_run_finish: run %s: bad threshold curve", r->path, uuid);
    finish_ctx c = {uuid, res};
    /* the commit that records a result is also made durable against power loss */
    exec_sql(r, "PRAGMA synchronous = FULL", "setting synchronous");
    int e = with_write_tx(r, "recording the result", finish_tx, &c);
    char msg[4096];
    snprintf(msg, sizeof msg, "%s", el_last_error());
    exec_sql(r, "PRAGMA synchronous = NORMAL", "setting synchronous");
    if (e) el_err("%s", msg);
    return e;
}

/* ---- artifacts -------------------------------------------------------------------------------- */
typedef struct {
    const char *uuid, *kind, *path, *sha256;
    int64_t bytes;
} artifact_ctx;

static int artifact_tx(el_registry *r, void *vctx) {
    artifact_ctx *c = vctx;
    if (check_writable(r, c->uuid, "recording an artifact")) return EL_ERR;
    char now[32];
    iso_now_ms(now);
    sqlite3_stmt *st;
    if (prep(r, "INSERT OR REPLACE INTO artifacts (run, kind, path, sha256, bytes, created) VALUES (?, ?, ?, ?, ?, ?)",
             &st))
        return EL_ERR;
    bind_text(st, 1, c->uuid);
    bind_text(st, 2, c->kind);
    bind_text(st, 3, c->path);
    bind_text(st, 4, c->sha256 && *c->sha256 ? c->sha256 : NULL);
    if (c->bytes >= 0) sqlite3_bind_int64(st, 5, c->bytes);
    else sqlite3_bind_null(st, 5);
    bind_text(st, 6, now);
    int e = step_done(r, st, "recording an artifact");
    sqlite3_finalize(st);
    return e;
}

int el_run_artifact(el_registry *r, const char *uuid, const char *kind, const char *path,
                    const char *sha256, int64_t bytes) {
    if (check_args(r, uuid, "el_run_artifact")) return EL_ERR;
    if (!kind || !*kind || !path || !*path)
        return el_err("%s: el_run_artifact: run %s: an artifact needs a kind and a path", r->path, uuid);
    artifact_ctx c = {uuid, kind, path, sha256, bytes};
    return with_write_tx(r, "recording an artifact", artifact_tx, &c);
}

/* ---- queries ---------------------------------------------------------------------------------- */
int el_registry_find_finished(el_registry *r, const char *config_hash, char uuid[37]) {
    if (uuid) uuid[0] = 0;
    if (!r || !uuid) return el_err("el_registry_find_finished: no registry");
    if (!config_hash || !*config_hash) return el_err("%s: el_registry_find_finished: no config hash", r->path);
    sqlite3_stmt *st;
    if (prep(r, "SELECT uuid FROM runs WHERE config_hash = ? AND status = 'finished'"
                " ORDER BY finished DESC, uuid LIMIT 1", &st))
        return EL_ERR;
    bind_text(st, 1, config_hash);
    int rc = sqlite3_step(st), out = 0;
    if (rc == SQLITE_ROW) {
        const char *u = (const char *)sqlite3_column_text(st, 0);
        if (u && strlen(u) == 36) {
            memcpy(uuid, u, 37);
            out = 1;
        }
    } else if (rc != SQLITE_DONE) {
        out = reg_err(r, rc, "looking for a finished run with the same config");
    }
    sqlite3_finalize(st);
    return out;
}

int el_run_get_status(el_registry *r, const char *uuid, char status[16]) {
    if (status) status[0] = 0;
    if (!r || !status) return el_err("el_run_get_status: no registry");
    if (!uuid_ok(uuid)) return el_err("%s: '%s' is not a run id (36-character uuid)", r->path, uuid ? uuid : "(null)");
    sqlite3_stmt *st;
    if (prep(r, "SELECT status FROM runs WHERE uuid = ?", &st)) return EL_ERR;
    bind_text(st, 1, uuid);
    int rc = sqlite3_step(st), out = 0;
    if (rc == SQLITE_ROW) {
        snprintf(status, 16, "%s", (const char *)sqlite3_column_text(st, 0));
        out = 1;
    } else if (rc != SQLITE_DONE) {
        out = reg_err(r, rc, "reading a run's status");
    }
    sqlite3_finalize(st);
    return out;
}

/* ---- resolving a run reference ---------------------------------------------------------------- */

/* ---- sweeps (schema v2): trials, claims, leases ----------------------------------------------- */
/* Everything below only touches the sweeps and sweep_trials tables (see registry.db.sql). A claim
 * is one BEGIN IMMEDIATE transaction, so two workers can never take the same trial: SQLite
 * serialises the writers and each one sees the previous one's claim. */

static double unix_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int check_sweep_args(el_registry *r, const char *sweep_id, const char *fn) {
    if (!r) return el_err("%s: no registry (open one with el_registry_open)", fn);
    if (r->readonly) return el_err("%s: %s: the registry was opened read-only", r->path, fn);
    if (!sweep_id || !*sweep_id) return el_err("%s: %s: no sweep id", r->path, fn);
    if (r->version < 2)
        return el_err("%s: %s: the registry has schema version %d, sweeps need 2 (open it read-write "
                      "with this emolab to upgrade it)", r->path, fn, (int)r->version);
    return EL_OK;
}

typedef struct {
    const el_reg_sweep *s;
    const el_trial_init *t;
    int64_t n;
} sweep_create_ctx;

static int sweep_create_tx(el_registry *r, void *vctx) {
    sweep_create_ctx *c = vctx;
    const el_reg_sweep *s = c->s;
    char now[32];
    iso_now_ms(now);
    sqlite3_stmt *st;
    if (prep(r, "INSERT INTO sweeps (id, name, file, definition, definition_hash, method, metric, goal, n_trials,"
                " created, host, owner, dir) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st))
        return EL_ERR;
    bind_text(st, 1, s->id);
    bind_text(st, 2, s->name);
    bind_text(st, 3, s->file);
    bind_text(st, 4, s->definition);
    bind_text(st, 5, s->definition_hash);
    bind_text(st, 6, s->method);
    bind_text(st, 7, s->metric);
    bind_text(st, 8, s->maximize ? "maximize" : "minimize");
    sqlite3_bind_int64(st, 9, s->n_trials);
    bind_text(st, 10, now);
    bind_text(st, 11, el_hostname());
    bind_text(st, 12, s->owner ? s->owner : "");
    bind_text(st, 13, s->dir);
    int e = step_done(r, st, "recording the sweep");
    sqlite3_finalize(st);
    if (e) return EL_ERR;
    if (c->n <= 0) return EL_OK;
    if (prep(r, "INSERT INTO sweep_trials (sweep_id, idx, config_hash, seed, assignment, param_values, status, run,"
                " reused, finished, metric, epochs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st))
        return EL_ERR;
    for (int64_t i = 0; i < c->n && !e; i++) {
        const el_trial_init *t = &c->t[i];
        bool reused = t->reuse_run && *t->reuse_run;
        bind_text(st, 1, s->id);
        sqlite3_bind_int64(st, 2, t->idx);
        bind_text(st, 3, t->config_hash);
        if (t->has_seed) sqlite3_bind_int64(st, 4, t->seed);
        else sqlite3_bind_null(st, 4);
        bind_text(st, 5, t->assignment);
        bind_text(st, 6, t->param_values);
        bind_text(st, 7, reused ? (t->reuse_status ? t->reuse_status : "done") : "pending");
        bind_text(st, 8, reused ? t->reuse_run : NULL);
        sqlite3_bind_int(st, 9, reused);
        bind_text(st, 10, reused ? now : NULL);
        if (reused) bind_real(st, 11, t->reuse_metric);
        else sqlite3_bind_null(st, 11);
        if (reused && t->reuse_epochs > 0) sqlite3_bind_int(st, 12, t->reuse_epochs);
        else sqlite3_bind_null(st, 12);
        e = step_done(r, st, "recording the sweep's trials");
    }
    sqlite3_finalize(st);
    return e;
}

int el_sweep_create(el_registry *r, const el_reg_sweep *s, const el_trial_init *trials, int64_t n) {
    if (check_sweep_args(r, s ? s->id : NULL, "el_sweep_create")) return EL_ERR;
    if (!s->name || !s->file || !s->definition || !s->definition_hash || !s->method || !s->metric)
        return el_err("%s: el_sweep_create: sweep %s: name, file, definition, method and metric are required",
                      r->path, s->id);
    if (n < 0 || (n > 0 && !trials)) return el_err("%s: el_sweep_create: bad trial list", r->path);
    for (int64_t i = 0; i < n; i++)
        if (!trials[i].config_hash || !trials[i].assignment || !trials[i].param_values)
            return el_err("%s: el_sweep_create: trial %lld has no config hash or values", r->path,
                          (long long)trials[i].idx);
    sweep_create_ctx c = {s, trials, n};
    return with_write_tx(r, "recording a new sweep", sweep_create_tx, &c);
}

/* Returns to `pending` (or fails, after max_lost) the claims whose holder is gone. Inside a write
 * transaction. count_lost: whether such a death counts against the trial (a worker that died while
 * the sweep went on) or not (the whole sweep was killed and is being resumed). */
static int release_dead_claims(el_registry *r, const char *sweep_id, int32_t max_lost, bool count_lost,
                               int *released) {
    *released = 0;
    sqlite3_stmt *sel, *upd;
    if (prep(r, "SELECT idx, claim_host, claim_pid, claim_pid_start, claim_boot_id, lease_expires, lost_claims,"
                " claim_job FROM sweep_trials WHERE sweep_id = ? AND status = 'claimed'", &sel))
        return EL_ERR;
    if (prep(r, "UPDATE sweep_trials SET status = ?, lost_claims = ?, error = ?, claim_token = NULL,"
                " lease_expires = NULL, finished = ? WHERE sweep_id = ? AND idx = ? AND status = 'claimed'", &upd)) {
        sqlite3_finalize(sel);
        return EL_ERR;
    }
    bind_text(sel, 1, sweep_id);
    double now_s = unix_now();
    char now[32];
    iso_now_ms(now);
    int rc, err = EL_OK;
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        int64_t idx = sqlite3_column_int64(sel, 0);
        const char *host = (const char *)sqlite3_column_text(sel, 1);
        int64_t pid = sqlite3_column_int64(sel, 2);
        bool has_start = sqlite3_column_type(sel, 3) != SQLITE_NULL;
        int64_t start = sqlite3_column_int64(sel, 3);
        const char *boot = (const char *)sqlite3_column_text(sel, 4);
        bool has_lease = sqlite3_column_type(sel, 5) != SQLITE_NULL;
        double lease = sqlite3_column_double(sel, 5);
        int32_t lost = (int32_t)sqlite3_column_int(sel, 6);
        const char *job = (const char *)sqlite3_column_text(sel, 7);
        const char *why = NULL;
        if (host && el_streq(host, el_hostname())) {
            proc_fate f = process_fate(pid, has_start, start, boot);
            if (f == PROC_GONE || f == PROC_REUSED) why = "its process ended";
            else if (f == PROC_REBOOTED) why = "the machine restarted";
            else if (f == PROC_UNKNOWN && has_lease && lease < now_s) why = "its lease expired";
        } else if (!has_lease || lease < now_s) {
            why = "its lease expired (no heartbeat)";
        }
        if (!why) continue;
        int32_t n_lost = lost + (count_lost ? 1 : 0);
        bool give_up = count_lost && max_lost > 0 && n_lost >= max_lost;
        char *msg = el_printf(give_up ? "the worker running it died %d times (last: pid %lld on %s%s%s, %s): see "
                                        "the worker logs; fix the cause and start a new sweep or --rerun"
                                      : "claim %d lost: pid %lld on %s%s%s held it, %s; noticed by pid %lld at %s",
                              give_up ? (int)n_lost : (int)(lost + 1), (long long)pid, host ? host : "?",
                              job ? ", job " : "", job ? job : "", why,
                              (long long)getpid(), now);
        bind_text(upd, 1, give_up ? "failed" : "pending");
        sqlite3_bind_int(upd, 2, n_lost);
        bind_text(upd, 3, msg);
        bind_text(upd, 4, give_up ? now : NULL);
        bind_text(upd, 5, sweep_id);
        sqlite3_bind_int64(upd, 6, idx);
        free(msg);
        if ((err = step_done(r, upd, "releasing a dead worker's claim"))) break;
        *released += sqlite3_changes(r->db);
    }
    if (!err && rc != SQLITE_DONE) err = reg_err(r, rc, "looking for dead workers' claims");
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return err;
}

typedef struct {
    const char *sweep_id;
    int32_t max_lost;
    bool count_lost;
    int released;
} sweep_recover_ctx;

static int sweep_recover_tx(el_registry *r, void *vctx) {
    sweep_recover_ctx *c = vctx;
    return release_dead_claims(r, c->sweep_id, c->max_lost, c->count_lost, &c->released);
}

int el_sweep_recover(el_registry *r, const char *sweep_id, int32_t max_lost, bool count_lost) {
    if (check_sweep_args(r, sweep_id, "el_sweep_recover")) return EL_ERR;
    sweep_recover_ctx c = {sweep_id, max_lost, count_lost, 0};
    if (with_write_tx(r, "releasing dead workers' claims", sweep_recover_tx, &c)) return EL_ERR;
    return c.released;
}

void el_trial_claim_free(el_trial_claim *c) {
    if (!c) return;
    free(c->assignment);
    free(c->param_values);
    c->assignment = c->param_values = NULL;
}

typedef struct {
    const char *sweep_id;
    const el_claim_params *p;
    el_trial_make_fn make;
    void *make_ctx;
    el_trial_claim *out;
    int found;
} claim_ctx;

static char *col_dup(sqlite3_stmt *st, int i) {
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? xstrdup(s) : NULL;
}

void el_run_ref_free(el_run_ref *ref) {
    if (!ref) return;
    free(ref->name);
    free(ref->kind);
    free(ref->status);
    free(ref->created);
    free(ref->run_dir);
    free(ref->config_json);
    free(ref->error);
    free(ref->checkpoint);
    memset(ref, 0, sizeof *ref);
}

/* "  UUID  NAME  STATUS  CREATED\n" for up to `max` rows of a (uuid, name, status, created)
 * query; returns the number of rows seen (all of them, also past max). */
static int64_t list_runs(sqlite3_stmt *st, el_buf *b, int64_t max) {
    int64_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n < max)
            el_buf_printf(b, "\n  %s  %-24s %-11s %s", (const char *)sqlite3_column_text(st, 0),
                          (const char *)sqlite3_column_text(st, 1),
                          (const char *)sqlite3_column_text(st, 2),
                          (const char *)sqlite3_column_text(st, 3));
        n++;
    }
    return n;
}

int el_registry_resolve_run(el_registry *r, const char *ref, el_run_ref *out) {
    if (!r || !out) return el_err("el_registry_resolve_run: no registry");
    memset(out, 0, sizeof *out);
    out->checkpoint_bytes = -1;
    if (!ref || !*ref)
        return el_err("%s: an empty run reference; give a run uuid (or its first characters) or a run "
                      "name", r->path);
    /* uuids are lowercase hex: a prefix is compared in lowercase */
    char *low = xstrdup(ref);
    bool hexish = true;
    for (char *p = low; *p; p++) {
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || *p == '-')) hexish = false;
    }
    static const char *COLS = "SELECT uuid, name, status, created FROM runs ";
    sqlite3_stmt *st;
    char *sql = el_printf("%s WHERE uuid = ?1 OR (?2 AND substr(uuid, 1, length(?1)) = ?1) OR name = ?3"
                          " ORDER BY uuid = ?1 DESC, created DESC", COLS);
    int e = prep(r, sql, &st);
    free(sql);
    if (e) {
        free(low);
        return EL_ERR;
    }
    bind_text(st, 1, low);
    sqlite3_bind_int(st, 2, hexish && strlen(low) <= 36);
    bind_text(st, 3, ref);
    char uuid[37] = "";
    int64_t n = 0;
    bool exact = false;
    el_buf cands = {0};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *u = (const char *)sqlite3_column_text(st, 0);
        if (n == 0) {
            snprintf(uuid, sizeof uuid, "%s", u);
            exact = !strcmp(u, low);
        }
        if (n < 20)
            el_buf_printf(&cands, "\n  %s  %-24s %-11s %s", u, (const char *)sqlite3_column_text(st, 1),
                          (const char *)sqlite3_column_text(st, 2),
                          (const char *)sqlite3_column_text(st, 3));
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        el_buf_free(&cands);
        free(low);
        return reg_err(r, rc, "looking up a run");
    }
    if (n == 0) {
        el_buf hint = {0};
        int64_t total = 0;
        if (prep(r, "SELECT uuid, name, status, created FROM runs ORDER BY created DESC", &st) == EL_OK) {
            total = list_runs(st, &hint, 5);
            sqlite3_finalize(st);
        }
        if (total == 0)
            el_err("%s: no run matches '%s': the registry has no runs (is this the registry you "
                   "meant? --registry FILE or EMOLAB_REGISTRY)", r->path, ref);
        else
            el_err("%s: no run matches '%s' (neither a uuid prefix nor a run name); the latest of "
                   "its %lld runs:%s", r->path, ref, (long long)total, hint.s);
        el_buf_free(&hint);
        el_buf_free(&cands);
        free(low);
        return EL_ERR;
    }
    if (n > 1 && !exact) {
        el_err("%s: '%s' is ambiguous: %lld runs match it (by uuid prefix or name)%s%s\ngive more of "
               "the uuid to pick one", r->path, ref, (long long)n, cands.s, n > 20 ? "\n  ..." : "");
        el_buf_free(&cands);
        free(low);
        return EL_ERR;
    }
    el_buf_free(&cands);
    free(low);

    if (prep(r, "SELECT uuid, name, kind, status, created, run_dir, config_json, error FROM runs WHERE uuid = ?",
             &st))
        return EL_ERR;
    bind_text(st, 1, uuid);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? el_err("%s: run %s vanished while it was being read", r->path, uuid)
                                 : reg_err(r, rc, "reading a run");
    }
    memcpy(out->uuid, uuid, 37);
    out->name = col_dup(st, 1);
    out->kind = col_dup(st, 2);
    out->status = col_dup(st, 3);
    out->created = col_dup(st, 4);
    out->run_dir = col_dup(st, 5);
    out->config_json = col_dup(st, 6);
    out->error = col_dup(st, 7);
    sqlite3_finalize(st);

    if (prep(r, "SELECT path, sha256, bytes FROM artifacts WHERE run = ? AND kind = 'checkpoint'"
                " ORDER BY created DESC LIMIT 1", &st)) {
        el_run_ref_free(out);
        return EL_ERR;
    }
    bind_text(st, 1, uuid);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->checkpoint = col_dup(st, 0);
        const char *h = (const char *)sqlite3_column_text(st, 1);
        snprintf(out->checkpoint_sha256, sizeof out->checkpoint_sha256, "%s", h ? h : "");
        if (sqlite3_column_type(st, 2) != SQLITE_NULL) out->checkpoint_bytes = sqlite3_column_int64(st, 2);
    } else if (rc != SQLITE_DONE) {
        sqlite3_finalize(st);
        el_run_ref_free(out);
        return reg_err(r, rc, "reading a run's checkpoint");
    }
    sqlite3_finalize(st);
    return EL_OK;
}

static int claim_tx(el_registry *r, void *vctx) {
    claim_ctx *c = vctx;
    el_trial_claim *o = c->out;
    el_trial_claim_free(o);
    memset(o, 0, sizeof *o);
    c->found = 0;
    int released = 0;
    if (release_dead_claims(r, c->sweep_id, c->p->max_lost, true, &released)) return EL_ERR;
    sqlite3_stmt *st;
    if (prep(r, "SELECT idx, config_hash, seed, assignment, param_values, claims FROM sweep_trials"
                " WHERE sweep_id = ? AND status = 'pending' ORDER BY idx LIMIT 1", &st))
        return EL_ERR;
    bind_text(st, 1, c->sweep_id);
    int rc = sqlite3_step(st);
    bool fresh = false;
    if (rc == SQLITE_ROW) {
        o->idx = sqlite3_column_int64(st, 0);
        snprintf(o->config_hash, sizeof o->config_hash, "%s", (const char *)sqlite3_column_text(st, 1));
        o->has_seed = sqlite3_column_type(st, 2) != SQLITE_NULL;
        o->seed = sqlite3_column_int64(st, 2);
        o->assignment = col_dup(st, 3);
        o->param_values = col_dup(st, 4);
        o->claims = (int32_t)sqlite3_column_int(st, 5);
        rc = SQLITE_DONE;
        c->found = 1;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return reg_err(r, rc, "looking for a pending trial");
    if (!c->found && c->make) { /* trials made on demand (bayes): the next one, when under n_trials */
        int64_t n_trials = 0, next = 0;
        bool found = false;
        char *q = sqlite3_mprintf("SELECT n_trials FROM sweeps WHERE id = %Q", c->sweep_id);
        int e = query_int(r, q, &n_trials, &found, "reading the sweep");
        sqlite3_free(q);
        if (e) return EL_ERR;
        if (!found) return el_err("%s: no sweep %s in this registry", r->path, c->sweep_id);
        q = sqlite3_mprintf("SELECT coalesce(max(idx) + 1, 0) FROM sweep_trials WHERE sweep_id = %Q", c->sweep_id);
        e = query_int(r, q, &next, &found, "counting the sweep's trials");
        sqlite3_free(q);
        if (e) return EL_ERR;
        if (next < n_trials) {
            o->idx = next;
            if (c->make(c->make_ctx, r, next, o) != EL_OK) return EL_ERR;
            if (!o->config_hash[0] || !o->assignment || !o->param_values)
                return el_err("%s: sweep %s: trial %lld was made without a config hash or values", r->path,
                              c->sweep_id, (long long)next);
            fresh = true;
            c->found = 1;
        }
    }
    if (!c->found) return EL_OK;
    if (uuid_v4(o->token)) return EL_ERR;
    const char *host = c->p->host && *c->p->host ? c->p->host : el_hostname();
    int64_t pid = c->p->pid > 0 ? c->p->pid : (int64_t)getpid(), start = 0;
    char state;
    bool has_start = c->p->pid > 0 ? c->p->pid_start > 0 : proc_stat(pid, &state, &start) == 1;
    if (c->p->pid > 0) start = c->p->pid_start;
    double lease = c->p->lease_s > 0 ? c->p->lease_s : EL_SWEEP_DEFAULT_LEASE_S;
    char now[32];
    iso_now_ms(now);
    if (fresh) {
        if (prep(r, "INSERT INTO sweep_trials (sweep_id, idx, config_hash, seed, assignment, param_values, status)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'pending')", &st))
            return EL_ERR;
        bind_text(st, 1, c->sweep_id);
        sqlite3_bind_int64(st, 2, o->idx);
        bind_text(st, 3, o->config_hash);
        if (o->has_seed) sqlite3_bind_int64(st, 4, o->seed);
        else sqlite3_bind_null(st, 4);
        bind_text(st, 5, o->assignment);
        bind_text(st, 6, o->param_values);
        int e = step_done(r, st, "recording a new trial");
        sqlite3_finalize(st);
        if (e) return EL_ERR;
    }
    if (prep(r, "UPDATE sweep_trials SET status = 'claimed', claims = claims + 1, claim_token = ?, claim_host = ?,"
                " claim_pid = ?, claim_pid_start = ?, claim_boot_id = ?, claim_job = ?, claimed_at = ?,"
                " lease_expires = ? WHERE sweep_id = ? AND idx = ? AND status = 'pending'", &st))
        return EL_ERR;
    bind_text(st, 1, o->token);
    bind_text(st, 2, host);
    sqlite3_bind_int64(st, 3, pid);
    if (has_start) sqlite3_bind_int64(st, 4, start);
    else sqlite3_bind_null(st, 4);
    bind_text(st, 5, *boot_id() ? boot_id() : NULL);
    bind_text(st, 6, c->p->job);
    bind_text(st, 7, now);
    sqlite3_bind_double(st, 8, unix_now() + lease);
    bind_text(st, 9, c->sweep_id);
    sqlite3_bind_int64(st, 10, o->idx);
    int e = step_done(r, st, "claiming a trial");
    int changed = sqlite3_changes(r->db);
    sqlite3_finalize(st);
    if (e) return EL_ERR;
    if (changed != 1) return el_err("%s: sweep %s: trial %lld could not be claimed", r->path, c->sweep_id,
                                    (long long)o->idx);
    o->claims++;
    return EL_OK;
}

int el_sweep_claim(el_registry *r, const char *sweep_id, const el_claim_params *p, el_trial_make_fn make,
                   void *make_ctx, el_trial_claim *out) {
    if (out) memset(out, 0, sizeof *out);
    if (check_sweep_args(r, sweep_id, "el_sweep_claim")) return EL_ERR;
    if (!out) return el_err("%s: el_sweep_claim: nowhere to put the claim", r->path);
    el_claim_params defaults = {0};
    claim_ctx c = {sweep_id, p ? p : &defaults, make, make_ctx, out, 0};
    if (with_write_tx(r, "claiming a trial", claim_tx, &c)) {
        el_trial_claim_free(out);
        return EL_ERR;
    }
    return c.found;
}

typedef struct {
    const char *sweep_id, *token;
    int64_t idx;
    double lease_s;
    const char *why;
    const el_trial_result *res;
    int changed;
} trial_write_ctx;

static int heartbeat_tx(el_registry *r, void *vctx) {
    trial_write_ctx *c = vctx;
    sqlite3_stmt *st;
    if (prep(r, "UPDATE sweep_trials SET lease_expires = ? WHERE sweep_id = ? AND idx = ? AND status = 'claimed'"
                " AND claim_token = ?", &st))
        return EL_ERR;
    sqlite3_bind_double(st, 1, unix_now() + (c->lease_s > 0 ? c->lease_s : EL_SWEEP_DEFAULT_LEASE_S));
    bind_text(st, 2, c->sweep_id);
    sqlite3_bind_int64(st, 3, c->idx);
    bind_text(st, 4, c->token);
    int e = step_done(r, st, "renewing a claim's lease");
    c->changed = sqlite3_changes(r->db);
    sqlite3_finalize(st);
    return e;
}

int el_sweep_heartbeat(el_registry *r, const char *sweep_id, int64_t idx, const char *token, double lease_s) {
    if (check_sweep_args(r, sweep_id, "el_sweep_heartbeat")) return EL_ERR;
    if (!token || !*token) return el_err("%s: el_sweep_heartbeat: no claim token", r->path);
    trial_write_ctx c = {.sweep_id = sweep_id, .token = token, .idx = idx, .lease_s = lease_s};
    if (with_write_tx(r, "renewing a claim's lease", heartbeat_tx, &c)) return EL_ERR;
    return c.changed == 1;
}

static int release_tx(el_registry *r, void *vctx) {
    trial_write_ctx *c = vctx;
    sqlite3_stmt *st;
    if (prep(r, "UPDATE sweep_trials SET status = 'pending', claim_token = NULL, lease_expires = NULL, error = ?"
                " WHERE sweep_id = ? AND idx = ? AND status = 'claimed' AND claim_token = ?", &st))
        return EL_ERR;
    bind_text(st, 1, c->why);
    bind_text(st, 2, c->sweep_id);
    sqlite3_bind_int64(st, 3, c->idx);
    bind_text(st, 4, c->token);
    int e = step_done(r, st, "releasing a claim");
    c->changed = sqlite3_changes(r->db);
    sqlite3_finalize(st);
    return e;
}

int el_sweep_release(el_registry *r, const char *sweep_id, int64_t idx, const char *token, const char *why) {
    if (check_sweep_args(r, sweep_id, "el_sweep_release")) return EL_ERR;
    if (!token || !*token) return el_err("%s: el_sweep_release: no claim token", r->path);
    trial_write_ctx c = {.sweep_id = sweep_id, .token = token, .idx = idx, .why = why};
    if (with_write_tx(r, "releasing a claim", release_tx, &c)) return EL_ERR;
    return c.changed == 1;
}

static int complete_tx(el_registry *r, void *vctx) {
    trial_write_ctx *c = vctx;
    const el_trial_result *t = c->res;
    char now[32];
    iso_now_ms(now);
    sqlite3_stmt *st;
    if (prep(r, "UPDATE sweep_trials SET status = ?, run = ?, reused = ?, metric = ?, epochs = ?, error = ?,"
                " finished = ?, claim_token = NULL, lease_expires = NULL"
                " WHERE sweep_id = ? AND idx = ? AND status = 'claimed' AND claim_token = ?", &st))
        return EL_ERR;
    bind_text(st, 1, t->status);
    bind_text(st, 2, t->run && *t->run ? t->run : NULL);
    sqlite3_bind_int(st, 3, t->reused ? 1 : 0);
    bind_real(st, 4, t->metric);
    if (t->epochs > 0) sqlite3_bind_int(st, 5, t->epochs);
    else sqlite3_bind_null(st, 5);
    bind_text(st, 6, t->error);
    bind_text(st, 7, now);
    bind_text(st, 8, c->sweep_id);
    sqlite3_bind_int64(st, 9, c->idx);
    bind_text(st, 10, c->token);
    int e = step_done(r, st, "recording a trial's result");
    c->changed = sqlite3_changes(r->db);
    sqlite3_finalize(st);
    return e;
}

int el_sweep_complete(el_registry *r, const char *sweep_id, int64_t idx, const char *token,
                      const el_trial_result *res) {
    if (check_sweep_args(r, sweep_id, "el_sweep_complete")) return EL_ERR;
    if (!token || !*token || !res) return el_err("%s: el_sweep_complete: no claim token or result", r->path);
    if (!el_streq(res->status, "done") && !el_streq(res->status, "failed") && !el_streq(res->status, "stopped"))
        return el_err("%s: el_sweep_complete: trial %lld: status '%s' is not done, failed or stopped", r->path,
                      (long long)idx, res->status ? res->status : "(null)");
    if (res->run && *res->run && !uuid_ok(res->run))
        return el_err("%s: el_sweep_complete: trial %lld: '%s' is not a run id", r->path, (long long)idx, res->run);
    trial_write_ctx c = {.sweep_id = sweep_id, .token = token, .idx = idx, .res = res};
    if (with_write_tx(r, "recording a trial's result", complete_tx, &c)) return EL_ERR;
    return c.changed == 1;
}

/* ---- import and merge (schema v2): copying runs from another registry -------------------------- */
/* The source is attached read-only (a URI with mode=ro: it is never written, not even its journal)
 * and copied with set-based INSERT ... SELECT in one transaction: runs the target lacks are added
 * (as `running`, then their rows, then their real status, because the schema's triggers freeze a
 * final run's rows), runs both have must be identical in every table, otherwise nothing is written.
 * Runs still `running` in the source are not copied (they have no result yet). */

static const char *const RUN_TABLES[] = {"params", "data", "data_sources", "metrics", "class_metrics",
                                          "thresholds", "epochs", "threshold_curve", "artifacts"};
#define N_RUN_TABLES ((int)(sizeof RUN_TABLES / sizeof RUN_TABLES[0]))

/* "file:/abs/path?mode=ro" with the characters URIs reserve escaped. */
static char *ro_uri(const char *path) {
    char *abs = realpath(path, NULL);
    const char *p = abs ? abs : path;
    el_buf b = {0};
    el_buf_puts(&b, "file:");
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '%' || c == '?' || c == '#' || c < 0x20 || c == 0x7f) el_buf_printf(&b, "%%%02X", c);
        else el_buf_putc(&b, (char)c);
    }
    el_buf_puts(&b, "?mode=ro");
    free(abs);
    return el_buf_take(&b);
}

int el_registry_check_source(const char *path, int32_t *version) {
    if (version) *version = 0;
    struct stat sb;
    if (!path || stat(path, &sb) != 0)
        return el_err("%s: no such registry (%s)", path ? path : "(null)", strerror(errno));
    if (!S_ISREG(sb.st_mode)) return el_err("%s is not a regular file: a registry is an SQLite database file", path);
    char *uri = ro_uri(path);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
    free(uri);
    int out = EL_OK;
    sqlite3_stmt *st = NULL;
    if (rc != SQLITE_OK) {
        out = el_err("%s: cannot open it read-only: %s", path, sqlite3_errstr(rc));
        goto done;
    }
    sqlite3_busy_timeout(db, 30000);
    rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'emolab_schema'",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        int ec = sqlite3_extended_errcode(db) & 0xff;
        out = el_err("%s is %s (%s): refused; check the path, or restore the file from a backup", path,
                     ec == SQLITE_NOTADB ? "not an SQLite database" : "a damaged or unreadable SQLite database",
                     sqlite3_errmsg(db));
        goto done;
    }
    if (sqlite3_column_int(st, 0) != 1) {
        out = el_err("%s is not an emolab registry (no emolab_schema table): refused", path);
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    rc = sqlite3_prepare_v2(db, "SELECT max(version) FROM emolab_schema", -1, &st, NULL);
    if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) == SQLITE_NULL) {
        out = el_err("%s: its emolab_schema table holds no version: the file is damaged; refused", path);
        goto done;
    }
    int32_t v = sqlite3_column_int(st, 0);
    if (version) *version = v;
    if (v > el_registry_latest_version()) {
        out = el_err("%s has schema version %d, this emolab knows up to %d: refused (upgrade emolab to merge it)",
                     path, (int)v, (int)el_registry_latest_version());
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL);
    if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
        out = el_err("%s is damaged (quick_check: %s): refused; try `sqlite3 %s .recover`", path,
                     rc == SQLITE_OK && sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0)
                                                                   : sqlite3_errmsg(db), path);
        goto done;
    }
done:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

/* The target's column list of a table ("a, b, c"); with `status_as` the column status is replaced
 * by that expression (for the INSERT of runs as running). */
static char *column_list(el_registry *r, const char *table, const char *status_as, const char *prefix) {
    char *q = sqlite3_mprintf("SELECT name FROM pragma_table_info(%Q, 'main') ORDER BY cid", table);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(r->db, q, -1, &st, NULL);
    sqlite3_free(q);
    if (rc != SQLITE_OK) return NULL;
    el_buf b = {0};
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 0);
        if (n++) el_buf_puts(&b, ", ");
        if (status_as && !strcmp(c, "status")) el_buf_puts(&b, status_as);
        else el_buf_printf(&b, "%s\"%s\"", prefix ? prefix : "", c);
    }
    sqlite3_finalize(st);
    if (!n) {
        el_buf_free(&b);
        return NULL;
    }
    return el_buf_take(&b);
}

static bool src_has_table(el_registry *r, const char *src, const char *table) {
    char *q = sqlite3_mprintf("SELECT count(*) FROM %s.sqlite_master WHERE type = 'table' AND name = %Q", src, table);
    int64_t n = 0;
    bool found = false;
    query_int(r, q, &n, &found, "reading the source's schema");
    sqlite3_free(q);
    return n > 0;
}

typedef struct {
    const char *const *paths;
    int32_t n;
    el_import_stats *st;
    int32_t failed; /* the source that was refused */
    bool bulk;      /* triggers and secondary indexes dropped for the load (see import_tx) */
} import_ctx;

static int exec_fmt(el_registry *r, const char *what, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    int e = exec_sql(r, sql, what);
    sqlite3_free(sql);
    return e;
}

/* First run (uuid) whose rows in `table` differ between src and main, among the overlapping runs:
 * a source row without an identical target row (joined on the primary key), or a different number
 * of rows (with unique keys, equal counts and every source row matched means equal sets). */
static int first_difference(el_registry *r, const char *src, const char *table, const char *key, char uuid[64]) {
    uuid[0] = 0;
    char *q = sqlite3_mprintf("SELECT name, pk FROM pragma_table_info(%Q, 'main') ORDER BY cid", table);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(r->db, q, -1, &st, NULL);
    sqlite3_free(q);
    if (rc != SQLITE_OK) return reg_err(r, rc, "reading a table's columns");
    el_buf on = {0}, diff = {0};
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 0);
        el_buf *b = sqlite3_column_int(st, 1) > 0 ? &on : &diff;
        el_buf_printf(b, b == &on ? "%sm.\"%s\" = x.\"%s\"" : "%sx.\"%s\" IS NOT m.\"%s\"",
                      b->len ? (b == &on ? " AND " : " OR ") : "", c, c);
    }
    sqlite3_finalize(st);
    if (!on.len) {
        el_buf_free(&diff);
        return el_err("%s: table %s has no primary key", r->path, table);
    }
    q = sqlite3_mprintf("SELECT x.%s FROM %s.%s x LEFT JOIN main.%s m ON %s WHERE x.%s IN (SELECT uuid FROM temp.el_overlap)"
                        " AND (m.%s IS NULL%s%s) LIMIT 1",
                        key, src, table, table, on.s, key, key, diff.len ? " OR " : "", diff.len ? diff.s : "");
    el_buf_free(&on);
    el_buf_free(&diff);
    rc = query_text(r, q, uuid, 64, "comparing runs both registries have");
    sqlite3_free(q);
    if (rc != EL_OK || uuid[0]) return rc;
    /* rows the target has and the source lacks: per run, compare the counts */
    q = sqlite3_mprintf("SELECT o.uuid FROM temp.el_overlap o WHERE (SELECT count(*) FROM %s.%s WHERE %s = o.uuid)"
                        " != (SELECT count(*) FROM main.%s WHERE %s = o.uuid) LIMIT 1", src, table, key, table, key);
    rc = query_text(r, q, uuid, 64, "comparing runs both registries have");
    sqlite3_free(q);
    return rc;
}

static int import_one(el_registry *r, const char *src, const char *src_path, bool bulk, el_import_stats *s) {
    memset(s, 0, sizeof *s);
    const char *what = "importing runs";
    if (exec_fmt(r, what,
                 "DROP TABLE IF EXISTS temp.el_new; DROP TABLE IF EXISTS temp.el_overlap;"
                 "CREATE TEMP TABLE el_new (uuid TEXT PRIMARY KEY, status TEXT) WITHOUT ROWID;"
                 "CREATE TEMP TABLE el_overlap (uuid TEXT PRIMARY KEY) WITHOUT ROWID;"
                 "INSERT INTO temp.el_new SELECT s.uuid, s.status FROM %s.runs s"
                 " WHERE s.status != 'running' AND NOT EXISTS (SELECT 1 FROM main.runs m WHERE m.uuid = s.uuid);"
                 "INSERT INTO temp.el_overlap SELECT s.uuid FROM %s.runs s"
                 " WHERE s.status != 'running' AND EXISTS (SELECT 1 FROM main.runs m WHERE m.uuid = s.uuid);",
                 src, src))
        return EL_ERR;
    bool found;
    char *qr = sqlite3_mprintf("SELECT count(*) FROM %s.runs WHERE status = 'running'", src);
    int qe = query_int(r, "SELECT count(*) FROM temp.el_new", &s->runs_added, &found, what) ||
             query_int(r, "SELECT count(*) FROM temp.el_overlap", &s->runs_identical, &found, what) ||
             query_int(r, qr, &s->runs_running, &found, what);
    sqlite3_free(qr);
    if (qe) return EL_ERR;
    /* runs both have: identical, or nothing is imported */
    if (s->runs_identical > 0) {
        char u[64];
        if (first_difference(r, src, "runs", "uuid", u)) return EL_ERR;
        const char *where = u[0] ? "runs" : NULL;
        for (int i = 0; i < N_RUN_TABLES && !u[0]; i++) {
            if (first_difference(r, src, RUN_TABLES[i], "run", u)) return EL_ERR;
            if (u[0]) where = RUN_TABLES[i];
        }
        if (u[0])
            return el_err("%s: run %s is in both registries with different content (table %s differs): refused, "
                          "nothing was imported (compare them: sqlite3 %s \"select * from %s where %s = '%s'\")",
                          src_path, u, where, src_path, where, strcmp(where, "runs") ? "run" : "uuid", u);
    }
    int64_t n_src = 0;
    char *qn = sqlite3_mprintf("SELECT count(*) FROM %s.runs", src);
    qe = query_int(r, qn, &n_src, &found, what);
    sqlite3_free(qn);
    if (qe) return EL_ERR;
    bool all_new = s->runs_added == n_src;
    if (s->runs_added > 0) {
        /* bulk: no final-run triggers to respect, the real status at once */
        char *cols = column_list(r, "runs", NULL, NULL), *sel = column_list(r, "runs", bulk ? NULL : "'running'", NULL);
        if (!cols || !sel) {
            free(cols);
            free(sel);
            return el_err("%s: reading the columns of runs", r->path);
        }
        int e = exec_fmt(r, what, "INSERT INTO main.runs (%s) SELECT %s FROM %s.runs WHERE uuid IN (SELECT uuid FROM temp.el_new)",
                         cols, sel, src);
        free(cols);
        free(sel);
        if (e) return EL_ERR;
        for (int i = 0; i < N_RUN_TABLES; i++) {
            if (!src_has_table(r, src, RUN_TABLES[i])) continue;
            cols = column_list(r, RUN_TABLES[i], NULL, NULL);
            if (!cols) return el_err("%s: reading the columns of %s", r->path, RUN_TABLES[i]);
            /* every run of the source is new: no per-row filter (a lookup per row otherwise) */
            e = exec_fmt(r, what, "INSERT INTO main.%s (%s) SELECT %s FROM %s.%s%s", RUN_TABLES[i], cols, cols, src,
                         RUN_TABLES[i], all_new ? "" : " WHERE run IN (SELECT uuid FROM temp.el_new)");
            free(cols);
            if (e) return EL_ERR;
        }
        if (!bulk && exec_sql(r, "UPDATE main.runs SET status = (SELECT status FROM temp.el_new n WHERE n.uuid = runs.uuid)"
                                 " WHERE uuid IN (SELECT uuid FROM temp.el_new)", what))
            return EL_ERR;
        /* where they came from: the source's own record when it imported them, else the source */
        char *abs = realpath(src_path, NULL);
        char now[32];
        iso_now_ms(now);
        char *id_expr = src_has_table(r, src, "registry_info")
                            ? sqlite3_mprintf("(SELECT value FROM %s.registry_info WHERE key = 'registry_id')", src)
                            : sqlite3_mprintf("NULL");
        if (src_has_table(r, src, "run_origins") &&
            exec_fmt(r, what, "INSERT INTO main.run_origins SELECT o.* FROM %s.run_origins o"
                              " WHERE o.run IN (SELECT uuid FROM temp.el_new)", src)) {
            free(abs);
            sqlite3_free(id_expr);
            return EL_ERR;
        }
        e = exec_fmt(r, what,
                     "INSERT INTO main.run_origins (run, registry_id, registry_path, host, owner, imported, imported_by)"
                     " SELECT s.uuid, %s, %Q, s.host, s.owner, %Q, %Q FROM %s.runs s"
                     " WHERE s.uuid IN (SELECT uuid FROM temp.el_new)"
                     " AND NOT EXISTS (SELECT 1 FROM main.run_origins o WHERE o.run = s.uuid)",
                     id_expr, abs ? abs : src_path, now, el_hostname(), src);
        sqlite3_free(id_expr);
        free(abs);
        if (e) return EL_ERR;
    }
    /* sweeps and their trials (a trial keeps its run only when the run is here) */
    if (src_has_table(r, src, "sweeps")) {
        int64_t before = 0, after = 0;
        if (query_int(r, "SELECT count(*) FROM main.sweeps", &before, &found, what)) return EL_ERR;
        char *cols = column_list(r, "sweeps", NULL, NULL);
        int e = cols ? exec_fmt(r, what, "INSERT OR IGNORE INTO main.sweeps (%s) SELECT %s FROM %s.sweeps", cols, cols, src)
                     : el_err("%s: reading the columns of sweeps", r->path);
        free(cols);
        if (e || query_int(r, "SELECT count(*) FROM main.sweeps", &after, &found, what)) return EL_ERR;
        s->sweeps_added = after - before;
        if (query_int(r, "SELECT count(*) FROM main.sweep_trials", &before, &found, what)) return EL_ERR;
        cols = column_list(r, "sweep_trials", NULL, NULL);
        char *sel = column_list(r, "sweep_trials", NULL, "t.");
        if (cols && sel) {
            char *run_col = strstr(sel, "t.\"run\"");
            el_buf b = {0};
            el_buf_append(&b, sel, (size_t)(run_col - sel));
            el_buf_puts(&b, "CASE WHEN t.run IN (SELECT uuid FROM main.runs) THEN t.run END");
            el_buf_puts(&b, run_col + strlen("t.\"run\""));
            e = exec_fmt(r, what, "INSERT OR IGNORE INTO main.sweep_trials (%s) SELECT %s FROM %s.sweep_trials t"
                                  " WHERE t.sweep_id IN (SELECT id FROM main.sweeps)", cols, b.s, src);
            el_buf_free(&b);
        } else {
            e = el_err("%s: reading the columns of sweep_trials", r->path);
        }
        free(cols);
        free(sel);
        if (e || query_int(r, "SELECT count(*) FROM main.sweep_trials", &after, &found, what)) return EL_ERR;
        s->trials_added = after - before;
    }
    return exec_sql(r, "DROP TABLE temp.el_new; DROP TABLE temp.el_overlap;", what);
}

/* The schema objects a bulk load sets aside: the final-run triggers and the secondary indexes of
 * the run tables (re-created from their own SQL, in the same transaction, so nobody ever sees the
 * registry without them). */
typedef struct {
    char **sql;
    int32_t n;
} saved_objects;

static int set_aside(el_registry *r, saved_objects *o) {
    memset(o, 0, sizeof *o);
    sqlite3_stmt *st;
    if (prep(r, "SELECT type, name, sql FROM main.sqlite_master WHERE sql IS NOT NULL AND type = 'trigger'", &st))
        return EL_ERR;
    char **drops = NULL;
    int64_t cap = 0, cap2 = 0;
    int32_t nd = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        el_grow(o->sql, &cap, o->n + 1);
        el_grow(drops, &cap2, nd + 1);
        o->sql[o->n++] = xstrdup((const char *)sqlite3_column_text(st, 2));
        drops[nd++] = el_printf("DROP %s main.\"%s\"", (const char *)sqlite3_column_text(st, 0),
                                (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    int e = EL_OK;
    for (int32_t i = 0; i < nd; i++) {
        if (!e) e = exec_sql(r, drops[i], "setting indexes aside for the import");
        free(drops[i]);
    }
    free(drops);
    return e;
}

static int put_back(el_registry *r, saved_objects *o) {
    int e = EL_OK;
    for (int32_t i = 0; i < o->n; i++) {
        if (!e) e = exec_sql(r, o->sql[i], "re-creating indexes after the import");
        free(o->sql[i]);
    }
    free(o->sql);
    memset(o, 0, sizeof *o);
    return e;
}

static int import_tx(el_registry *r, void *vctx) {
    import_ctx *c = vctx;
    /* many new runs (as many as the target has, and at least 1000): load them without triggers and
     * secondary indexes, then rebuild those (sorting once beats inserting into them row by row) */
    int64_t existing = 0, incoming = 0, v = 0;
    bool found;
    if (query_int(r, "SELECT count(*) FROM main.runs", &existing, &found, "counting runs")) return EL_ERR;
    for (int32_t i = 0; i < c->n; i++) {
        char *q = sqlite3_mprintf("SELECT count(*) FROM el_src%d.runs", (int)i);
        int e = query_int(r, q, &v, &found, "counting runs");
        sqlite3_free(q);
        if (e) return EL_ERR;
        incoming += v;
    }
    c->bulk = incoming >= 1000 && incoming >= existing;
    saved_objects saved = {0};
    if (c->bulk && set_aside(r, &saved)) {
        put_back(r, &saved);
        return EL_ERR;
    }
    int e = EL_OK;
    for (int32_t i = 0; i < c->n && !e; i++) {
        char src[32];
        snprintf(src, sizeof src, "el_src%d", (int)i);
        if (import_one(r, src, c->paths[i], c->bulk, &c->st[i])) {
            c->failed = i;
            e = EL_ERR;
        }
    }
    if (c->bulk) { /* also on error: the rollback restores them anyway, this frees the text */
        char msg[4096];
        snprintf(msg, sizeof msg, "%s", el_last_error());
        int pe = put_back(r, &saved);
        if (e) el_err("%s", msg);
        else e = pe;
    }
    return e;
}

#define MAX_IMPORT_SOURCES 8 /* attached at once (SQLite allows 10) */

int el_registry_import_many(el_registry *r, const char *const *paths, int32_t n, el_import_stats *st) {
    if (!r) return el_err("el_registry_import: no registry");
    if (r->readonly) return el_err("%s: cannot import into a registry opened read-only", r->path);
    if (r->version < 2) return el_err("%s: schema version %d; open it read-write once to upgrade it", r->path, (int)r->version);
    if (n < 1 || n > MAX_IMPORT_SOURCES)
        return el_err("%s: %d registries at once; give 1 to %d (merge more in several steps)", r->path, (int)n,
                      MAX_IMPORT_SOURCES);
    memset(st, 0, sizeof *st * (size_t)n);
    struct stat tb;
    bool have_t = stat(r->path, &tb) == 0;
    for (int32_t i = 0; i < n; i++) {
        if (el_registry_check_source(paths[i], NULL)) return EL_ERR;
        struct stat a;
        if (have_t && stat(paths[i], &a) == 0 && a.st_dev == tb.st_dev && a.st_ino == tb.st_ino)
            return el_err("%s: this is the target registry itself: nothing to import", paths[i]);
    }
    int e = EL_OK;
    int32_t attached = 0;
    for (; attached < n && e == EL_OK; attached++) {
        char *uri = ro_uri(paths[attached]);
        char *sql = sqlite3_mprintf("ATTACH DATABASE %Q AS el_src%d", uri, (int)attached);
        free(uri);
        e = exec_sql(r, sql, "attaching a source registry");
        sqlite3_free(sql);
        if (e) {
            el_err_prefix("%s", paths[attached]);
            break;
        }
    }
    if (e == EL_OK) {
        import_ctx c = {paths, n, st, -1, false};
        exec_sql(r, "PRAGMA cache_size = -131072", "sizing the cache"); /* 128 MiB for the load */
        exec_sql(r, "PRAGMA threads = 2", "sorting threads");            /* index rebuilds sort in parallel */
        e = with_write_tx(r, "importing runs", import_tx, &c);
        char msg[4096];
        snprintf(msg, sizeof msg, "%s", el_last_error());
        exec_sql(r, "PRAGMA cache_size = -2000", "sizing the cache");
        el_err("%s", msg);
    }
    char msg[4096];
    snprintf(msg, sizeof msg, "%s", el_last_error());
    for (int32_t i = 0; i < attached; i++) {
        char *sql = sqlite3_mprintf("DETACH DATABASE el_src%d", (int)i);
        exec_sql(r, sql, "detaching a source registry");
        sqlite3_free(sql);
    }
    if (e) el_err("%s", msg);
    return e;
}

int el_registry_import(el_registry *r, const char *src_path, el_import_stats *st) {
    el_import_stats dummy;
    return el_registry_import_many(r, &src_path, 1, st ? st : &dummy);
}

/* A registry that was made as a page copy of src_path (emolab registry merge into a new file: the
 * fastest way to import everything of the first source): it becomes a registry of its own (a new
 * registry_id), without the source's running runs, and with the origin of every run. */
typedef struct {
    const char *src_path;
    el_import_stats *st;
} adopt_ctx;

static int adopt_tx(el_registry *r, void *vctx) {
    adopt_ctx *c = vctx;
    const char *what = "adopting a copied registry";
    bool found;
    int64_t old_id_n = 0;
    if (query_int(r, "SELECT count(*) FROM registry_info WHERE key = 'registry_id'", &old_id_n, &found, what) ||
        query_int(r, "SELECT count(*) FROM runs WHERE status = 'running'", &c->st->runs_running, &found, what))
        return EL_ERR;
    char *abs = realpath(c->src_path, NULL);
    char now[32];
    iso_now_ms(now);
    int e = exec_sql(r, "DELETE FROM runs WHERE status = 'running'", what);
    if (!e) e = exec_fmt(r, what,
                         "INSERT INTO run_origins (run, registry_id, registry_path, host, owner, imported, imported_by)"
                         " SELECT uuid, (SELECT value FROM registry_info WHERE key = 'registry_id'), %Q, host, owner, %Q, %Q"
                         " FROM runs WHERE uuid NOT IN (SELECT run FROM run_origins)",
                         abs ? abs : c->src_path, now, el_hostname());
    free(abs);
    if (!e) e = exec_sql(r, "INSERT OR REPLACE INTO registry_info (key, value) VALUES ('registry_id', lower(hex(randomblob(16))))",
                         what);
    if (!e) e = query_int(r, "SELECT count(*) FROM runs", &c->st->runs_added, &found, what);
    if (!e) e = query_int(r, "SELECT count(*) FROM sweeps", &c->st->sweeps_added, &found, what);
    if (!e) e = query_int(r, "SELECT count(*) FROM sweep_trials", &c->st->trials_added, &found, what);
    return e;
}

int el_registry_adopt_copy(el_registry *r, const char *src_path, el_import_stats *st) {
    el_import_stats dummy;
    if (!st) st = &dummy;
    memset(st, 0, sizeof *st);
    if (!r || r->readonly) return el_err("el_registry_adopt_copy: no writable registry");
    adopt_ctx c = {src_path, st};
    return with_write_tx(r, "adopting a copied registry", adopt_tx, &c);
}

/* ---- sweeps run elsewhere (sweep directories): mirroring their trial states ---------------------- */
static bool trial_final(const char *s) { return el_streq(s, "done") || el_streq(s, "failed") || el_streq(s, "stopped"); }

typedef struct {
    const char *sweep_id;
    const el_trial_state *t;
    int64_t n;
    int changed;
} sync_ctx;

static int sync_tx(el_registry *r, void *vctx) {
    sync_ctx *c = vctx;
    c->changed = 0;
    sqlite3_stmt *ins, *fin, *cl, *pend;
    if (prep(r, "INSERT OR IGNORE INTO sweep_trials (sweep_id, idx, config_hash, seed, assignment, param_values, status)"
                " VALUES (?, ?, ?, ?, ?, ?, 'pending')", &ins))
        return EL_ERR;
    if (prep(r, "UPDATE sweep_trials SET status = ?3, run = CASE WHEN ?4 IN (SELECT uuid FROM runs) THEN ?4 END,"
                " reused = ?5, metric = ?6, epochs = ?7, error = ?8, finished = ?9, lost_claims = max(lost_claims, ?10),"
                " claims = CASE WHEN ?5 = 1 THEN claims ELSE max(claims, ?10 + 1) END, claim_token = NULL, lease_expires = NULL,"
                " claim_host = coalesce(?11, claim_host), claim_job = coalesce(?12, claim_job)"
                " WHERE sweep_id = ?1 AND idx = ?2 AND status NOT IN ('done', 'failed', 'stopped')", &fin)) {
        sqlite3_finalize(ins);
        return EL_ERR;
    }
    if (prep(r, "UPDATE sweep_trials SET status = 'claimed', claim_host = ?3, claim_pid = ?4, claim_job = ?5,"
                " claimed_at = ?6, lease_expires = ?7, lost_claims = max(lost_claims, ?8),"
                " claims = max(claims, lost_claims + 1)"
                " WHERE sweep_id = ?1 AND idx = ?2 AND status IN ('pending', 'claimed')", &cl)) {
        sqlite3_finalize(ins);
        sqlite3_finalize(fin);
        return EL_ERR;
    }
    if (prep(r, "UPDATE sweep_trials SET status = 'pending', claim_token = NULL, lease_expires = NULL,"
                " lost_claims = max(lost_claims, ?3) WHERE sweep_id = ?1 AND idx = ?2 AND status = 'claimed'", &pend)) {
        sqlite3_finalize(ins);
        sqlite3_finalize(fin);
        sqlite3_finalize(cl);
        return EL_ERR;
    }
    char now[32];
    iso_now_ms(now);
    int e = EL_OK;
    for (int64_t i = 0; i < c->n && !e; i++) {
        const el_trial_state *t = &c->t[i];
        if (t->config_hash && t->assignment && t->param_values) {
            bind_text(ins, 1, c->sweep_id);
            sqlite3_bind_int64(ins, 2, t->idx);
            bind_text(ins, 3, t->config_hash);
            if (t->has_seed) sqlite3_bind_int64(ins, 4, t->seed);
            else sqlite3_bind_null(ins, 4);
            bind_text(ins, 5, t->assignment);
            bind_text(ins, 6, t->param_values);
            if ((e = step_done(r, ins, "recording a trial"))) break;
        }
        sqlite3_stmt *st;
        if (trial_final(t->status)) {
            st = fin;
            bind_text(st, 3, t->status);
            bind_text(st, 4, t->run);
            sqlite3_bind_int(st, 5, t->reused ? 1 : 0);
            bind_real(st, 6, t->metric);
            if (t->epochs > 0) sqlite3_bind_int(st, 7, t->epochs);
            else sqlite3_bind_null(st, 7);
            bind_text(st, 8, t->error);
            bind_text(st, 9, t->finished ? t->finished : now);
            sqlite3_bind_int(st, 10, t->lost_claims);
            bind_text(st, 11, t->claim_host);
            bind_text(st, 12, t->claim_job);
        } else if (el_streq(t->status, "claimed")) {
            st = cl;
            bind_text(st, 3, t->claim_host);
            sqlite3_bind_int64(st, 4, t->claim_pid);
            bind_text(st, 5, t->claim_job);
            bind_text(st, 6, t->claimed_at);
            bind_real(st, 7, t->lease_expires);
            sqlite3_bind_int(st, 8, t->lost_claims);
        } else {
            st = pend;
            sqlite3_bind_int(st, 3, t->lost_claims);
        }
        bind_text(st, 1, c->sweep_id);
        sqlite3_bind_int64(st, 2, t->idx);
        e = step_done(r, st, "recording a trial's state");
        c->changed += sqlite3_changes(r->db);
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(fin);
    sqlite3_finalize(cl);
    sqlite3_finalize(pend);
    return e;
}

int el_sweep_sync(el_registry *r, const char *sweep_id, const el_trial_state *t, int64_t n) {
    if (check_sweep_args(r, sweep_id, "el_sweep_sync")) return EL_ERR;
    if (n < 0 || (n > 0 && !t)) return el_err("%s: el_sweep_sync: bad trial list", r->path);
    for (int64_t i = 0; i < n; i++)
        if (!t[i].status || (!trial_final(t[i].status) && !el_streq(t[i].status, "claimed") &&
                             !el_streq(t[i].status, "pending")))
            return el_err("%s: el_sweep_sync: trial %lld: bad status '%s'", r->path, (long long)t[i].idx,
                          t[i].status ? t[i].status : "(null)");
    sync_ctx c = {sweep_id, t, n, 0};
    if (with_write_tx(r, "recording trial states", sync_tx, &c)) return EL_ERR;
    return c.changed;
}
