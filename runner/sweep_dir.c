/* sweep_dir.c: sweep directories. A sweep whose workers run on several machines (a Slurm job
 * array) must not write the SQLite registry over a network filesystem: SQLite's locks are not
 * reliable there, and WAL needs memory shared on one host. So such a sweep works in a directory
 * on the shared filesystem, where every write is a whole file published atomically, and the
 * controller (on one machine) consolidates it into the registry.
 *
 *   DIR/sweep.json            the sweep: id, file, definition hash, trials, registry (controller)
 *   DIR/trials/IDX.json       trial IDX: config hash, seed, values (controller; bayes: the worker
 *                             that makes it, published with link(): exactly one maker)
 *   DIR/claims/IDX            the claim: token, host, pid (+ start time, boot id), job, lease; made
 *                             with link() (fails when it exists: one holder); its mtime is the
 *                             heartbeat. A stale claim (holder gone on this host, or no heartbeat
 *                             for a lease on another) is taken over by rename() to
 *                             claims/IDX.dead.TOKEN (one taker wins); a holder that stops cleanly
 *                             renames it to claims/IDX.released.TOKEN.
 *   DIR/runs/IDX-TOKEN.db     the claim's run: a one-run emolab registry written by that worker
 *                             only, closed before the result is published
 *   DIR/results/IDX.json      the trial's result (status, run, metric, epochs, error, shard),
 *                             published with link(): the first result wins, a later one (a holder
 *                             whose claim was taken over) is refused, so a trial has one result
 *   DIR/rungs/EPOCH/IDX       hyperband: the trial's metric at that rung
 *   DIR/hosts/HOST-PID        touched to read the file server's clock (leases compare mtimes)
 *   DIR/tmp/                  files being written (then linked or renamed into place)
 *   DIR/logs/                 worker logs (Slurm: JOBID_TASK.log)
 *
 * At least once per trial, exactly one result: a trial may run twice (a holder presumed dead that
 * was only slow), but only one result is published, and the controller imports only the run that
 * result names (el_registry_import: idempotent by uuid), so the registry never holds doubled or
 * lost trials. Consolidating is idempotent: --collect may run any number of times. */
#define _GNU_SOURCE
#include "sweep.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- files ---------------------------------------------------------------------------------------- */
static char *dpath(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *dpath(const char *dir, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    el_buf b = {0};
    el_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *p = el_path_join(dir, b.s);
    el_buf_free(&b);
    return p;
}

static void random_token(char out[33]) {
    uint8_t b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t x = (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(el_now() * 1e9);
        for (int i = 0; i < 16; i++) b[i] = (uint8_t)((x = x * 6364136223846793005ULL + 1) >> 56);
    }
    for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Writes text to a fresh file under DIR/tmp (flushed to disk); returns its path. */
static char *write_tmp(const char *dir, const char *text) {
    char tok[33];
    random_token(tok);
    char *tmp = dpath(dir, "tmp/%s-%d", tok, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        el_err("%s: %s (is the sweep directory writable from this machine?)", tmp, strerror(errno));
        free(tmp);
        return NULL;
    }
    size_t n = strlen(text), off = 0;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            el_err("%s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return NULL;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        el_err("%s: %s", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return NULL;
    }
    return tmp;
}

/* Publishes a new file atomically: 1 = created, 0 = it existed already (left alone), -1 = error.
 * link() is atomic and fails on an existing name, also over NFS. */
static int publish_new(const char *dir, const char *target, const char *text) {
    char *tmp = write_tmp(dir, text);
    if (!tmp) return EL_ERR;
    int rc = link(tmp, target);
    int err = errno;
    unlink(tmp);
    free(tmp);
    if (rc == 0) return 1;
    if (err == EEXIST) return 0;
    return el_err("%s: %s", target, strerror(err));
}

/* Replaces a file atomically (rename). */
static int publish_replace(const char *dir, const char *target, const char *text) {
    char *tmp = write_tmp(dir, text);
    if (!tmp) return EL_ERR;
    int rc = rename(tmp, target);
    int err = errno;
    if (rc != 0) unlink(tmp);
    free(tmp);
    return rc == 0 ? EL_OK : el_err("%s: %s", target, strerror(err));
}

static json_t *read_json(const char *path) {
    json_error_t e;
    return json_load_file(path, 0, &e);
}

static const char *jstr(const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s;
}

static int64_t jint(const json_t *o, const char *key, int64_t dflt) {
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static double jreal(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static char *json_text(json_t *o) {
    char *t = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    char *out = el_printf("%s\n", t ? t : "{}");
    free(t);
    return out;
}

/* Whether a name is all digits (a trial index) and its value. */
static bool index_name(const char *name, const char *suffix, int64_t *idx) {
    const char *p = name;
    if (!*p) return false;
    int64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) v = v * 10 + (*p - '0');
    if (p == name || strcmp(p, suffix) != 0) return false;
    *idx = v;
    return true;
}

/* Marks in `have` (n entries) the trial indexes of DIR/sub whose names are IDX + suffix. */
static void scan_indexes(const char *dir, const char *sub, const char *suffix, bool *have, int64_t n) {
    char *p = el_path_join(dir, sub);
    DIR *d = opendir(p);
    free(p);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        int64_t idx;
        if (index_name(e->d_name, suffix, &idx) && idx >= 0 && idx < n) have[idx] = true;
    }
    closedir(d);
}

/* Counts DIR/claims/IDX.KIND.* (claims that were taken over or released). */
static int32_t count_claim_files(const char *dir, int64_t idx, const char *kind) {
    char *p = el_path_join(dir, "claims");
    DIR *d = opendir(p);
    free(p);
    if (!d) return 0;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%lld.%s.", (long long)idx, kind);
    int32_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) n++;
    closedir(d);
    return n;
}

/* The file server's clock: touch our own file, read its mtime (leases compare mtimes written by
 * other machines, whose clocks may differ from ours). */
static double server_now(const char *dir, const char *host) {
    char *p = dpath(dir, "hosts/%s-%d", host, (int)getpid());
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    double now = NAN;
    if (fd >= 0) {
        futimens(fd, NULL);
        struct stat sb;
        if (fstat(fd, &sb) == 0) now = (double)sb.st_mtim.tv_sec + (double)sb.st_mtim.tv_nsec * 1e-9;
        close(fd);
    }
    free(p);
    if (!isfinite(now)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        now = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    }
    return now;
}

/* ---- process identity ------------------------------------------------------------------------------ */
static int64_t proc_start(int64_t pid) { /* -1: no such process (or a zombie) */
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ') return -1;
    p += 2;
    if (*p == 'Z' || *p == 'X') return -1;
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p) return -1;
        p++;
    }
    return strtoll(p, NULL, 10);
}

static const char *this_boot_id(void) {
    static char id[64];
    if (!id[0]) {
        FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
        if (f) {
            if (fgets(id, sizeof id, f)) id[strcspn(id, "\n")] = 0;
            fclose(f);
        }
    }
    return id;
}

/* ---- sweep.json ----------------------------------------------------------------------------------- */
int el_sweep_dir_read_info(const char *dir, el_sweep_dir_info *out) {
    memset(out, 0, sizeof *out);
    char *p = el_path_join(dir, "sweep.json");
    json_error_t e;
    json_t *o = json_load_file(p, 0, &e);
    if (!o) {
        el_err("%s: %s: not a sweep directory (made by `emolab sweep --launcher slurm`), or not visible from this "
               "machine (the sweep directory must be on a filesystem every worker sees at the same path)",
               p, e.text);
        free(p);
        return EL_ERR;
    }
    const char *id = jstr(o, "id"), *file = jstr(o, "file"), *hash = jstr(o, "definition_hash");
    if (!id || !file || !hash) {
        el_err("%s: id, file or definition_hash missing: the file is damaged", p);
        json_decref(o);
        free(p);
        return EL_ERR;
    }
    out->id = xstrdup(id);
    out->file = xstrdup(file);
    out->definition_hash = xstrdup(hash);
    out->registry = xstrdup(jstr(o, "registry") ? jstr(o, "registry") : "");
    out->method = xstrdup(jstr(o, "method") ? jstr(o, "method") : "grid");
    out->metric = xstrdup(jstr(o, "metric") ? jstr(o, "metric") : "val_weighted_f1");
    out->maximize = !el_streq(jstr(o, "goal"), "minimize");
    out->n_trials = jint(o, "n_trials", 0);
    json_decref(o);
    free(p);
    return EL_OK;
}

void el_sweep_dir_info_free(el_sweep_dir_info *di) {
    free(di->id);
    free(di->file);
    free(di->definition_hash);
    free(di->registry);
    free(di->method);
    free(di->metric);
    memset(di, 0, sizeof *di);
}

static char *trial_json(int64_t idx, const char *hash, int64_t seed, const char *assignment, const char *values) {
    json_t *o = json_object();
    json_object_set_new(o, "idx", json_integer(idx));
    json_object_set_new(o, "config_hash", json_string(hash));
    json_object_set_new(o, "seed", json_integer(seed));
    json_object_set_new(o, "assignment", json_string(assignment));
    json_object_set_new(o, "param_values", json_string(values));
    return json_text(o);
}

typedef struct {
    const char *status, *run, *error, *shard, *token, *host, *job;
    bool reused;
    double metric;
    int32_t epochs, lost_claims;
} result_fields;

static char *result_json(int64_t idx, const result_fields *r) {
    json_t *o = json_object();
    char now[32];
    el_iso_time(now);
    json_object_set_new(o, "idx", json_integer(idx));
    json_object_set_new(o, "status", json_string(r->status));
    json_object_set_new(o, "run", r->run ? json_string(r->run) : json_null());
    json_object_set_new(o, "reused", json_boolean(r->reused));
    json_object_set_new(o, "metric", isfinite(r->metric) ? json_real(r->metric) : json_null());
    json_object_set_new(o, "epochs", json_integer(r->epochs));
    json_object_set_new(o, "error", r->error ? json_string(r->error) : json_null());
    json_object_set_new(o, "shard", r->shard ? json_string(r->shard) : json_null());
    json_object_set_new(o, "token", r->token ? json_string(r->token) : json_null());
    json_object_set_new(o, "host", r->host ? json_string(r->host) : json_null());
    json_object_set_new(o, "job", r->job ? json_string(r->job) : json_null());
    json_object_set_new(o, "lost_claims", json_integer(r->lost_claims));
    json_object_set_new(o, "finished", json_string(now));
    return json_text(o);
}

int el_sweep_dir_create(const char *dir, el_registry *reg, const char *sweep_id, const char *registry_path) {
    static const char *const subs[] = {"trials", "claims", "results", "runs", "rungs", "hosts", "tmp", "logs"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char *p = el_path_join(dir, subs[i]);
        int rc = el_mkdirs(p, 0755);
        free(p);
        if (rc) return el_err_prefix("creating the sweep directory %s", dir);
    }
    el_sweep_row row;
    int f = el_sweep_row_get(reg, sweep_id, &row);
    if (f != 1) return f == 0 ? el_err("no sweep %s in %s", sweep_id, el_registry_path(reg)) : EL_ERR;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(row.id));
    json_object_set_new(o, "name", json_string(row.name));
    json_object_set_new(o, "file", json_string(row.file));
    json_object_set_new(o, "definition_hash", json_string(row.definition_hash));
    json_object_set_new(o, "method", json_string(row.method));
    json_object_set_new(o, "metric", json_string(row.metric));
    json_object_set_new(o, "goal", json_string(row.maximize ? "maximize" : "minimize"));
    json_object_set_new(o, "n_trials", json_integer(row.n_trials));
    char *abs = realpath(registry_path, NULL);
    json_object_set_new(o, "registry", json_string(abs ? abs : registry_path));
    free(abs);
    el_sweep_row_free(&row);
    char *text = json_text(o);
    char *p = el_path_join(dir, "sweep.json");
    int rc = publish_replace(dir, p, text);
    free(p);
    free(text);
    if (rc) return EL_ERR;
    /* every trial the registry has; final ones (reused at creation, done before a resume) as results */
    sqlite3 *db = el_registry_db(reg);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT idx, config_hash, seed, assignment, param_values, status, run, reused, metric,"
                               " epochs, error, lost_claims FROM sweep_trials WHERE sweep_id = ? ORDER BY idx", -1, &st, NULL))
        return el_err("%s: %s", el_registry_path(reg), sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, sweep_id, -1, SQLITE_TRANSIENT);
    int e = EL_OK;
    while (!e && sqlite3_step(st) == SQLITE_ROW) {
        int64_t idx = sqlite3_column_int64(st, 0);
        char *tp = dpath(dir, "trials/%lld.json", (long long)idx);
        if (!el_file_exists(tp)) {
            char *t = trial_json(idx, (const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2),
                                 (const char *)sqlite3_column_text(st, 3), (const char *)sqlite3_column_text(st, 4));
            e = publish_new(dir, tp, t) < 0 ? EL_ERR : EL_OK;
            free(t);
        }
        free(tp);
        const char *status = (const char *)sqlite3_column_text(st, 5);
        if (e || (!el_streq(status, "done") && !el_streq(status, "failed") && !el_streq(status, "stopped"))) continue;
        result_fields r = {.status = status, .run = (const char *)sqlite3_column_text(st, 6),
                           .reused = sqlite3_column_int(st, 7) != 0,
                           .metric = sqlite3_column_type(st, 8) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 8),
                           .epochs = sqlite3_column_int(st, 9), .error = (const char *)sqlite3_column_text(st, 10),
                           .lost_claims = sqlite3_column_int(st, 11), .host = "registry"};
        char *rp = dpath(dir, "results/%lld.json", (long long)idx);
        char *t = result_json(idx, &r);
        e = publish_new(dir, rp, t) < 0 ? EL_ERR : EL_OK;
        free(t);
        free(rp);
    }
    sqlite3_finalize(st);
    return e;
}

/* ---- claims ---------------------------------------------------------------------------------------- */
typedef struct {
    char token[40], host[256], boot[64], job[128];
    int64_t pid, pid_start;
    double lease_s, mtime;
    char claimed_at[32];
} claim_file;

static int read_claim(const char *path, claim_file *c) {
    memset(c, 0, sizeof *c);
    struct stat sb;
    if (stat(path, &sb) != 0) return 0;
    json_t *o = read_json(path);
    if (!o) return 0;
    snprintf(c->token, sizeof c->token, "%s", jstr(o, "token") ? jstr(o, "token") : "");
    snprintf(c->host, sizeof c->host, "%s", jstr(o, "host") ? jstr(o, "host") : "");
    snprintf(c->boot, sizeof c->boot, "%s", jstr(o, "boot_id") ? jstr(o, "boot_id") : "");
    snprintf(c->job, sizeof c->job, "%s", jstr(o, "job") ? jstr(o, "job") : "");
    snprintf(c->claimed_at, sizeof c->claimed_at, "%s", jstr(o, "claimed_at") ? jstr(o, "claimed_at") : "");
    c->pid = jint(o, "pid", 0);
    c->pid_start = jint(o, "pid_start", -1);
    c->lease_s = jreal(o, "lease_s");
    if (!isfinite(c->lease_s) || c->lease_s <= 0) c->lease_s = EL_SWEEP_DEFAULT_LEASE_S;
    c->mtime = (double)sb.st_mtim.tv_sec + (double)sb.st_mtim.tv_nsec * 1e-9;
    json_decref(o);
    return 1;
}

/* Why a claim's holder is gone (NULL: it may be alive). `host` is the identity this process
 * claims with: on that host the pid is checked; elsewhere only the lease counts. */
static const char *claim_stale(const claim_file *c, const char *host, double now) {
    if (el_streq(c->host, host)) {
        if (c->boot[0] && this_boot_id()[0] && strcmp(c->boot, this_boot_id()) != 0) return "the machine restarted";
        int64_t start = proc_start(c->pid);
        if (start < 0) return "its process ended";
        if (c->pid_start >= 0 && start != c->pid_start) return "its process ended (the pid was reused)";
        return NULL;
    }
    if (now - c->mtime > c->lease_s) return "its lease expired (no heartbeat)";
    return NULL;
}

/* Moves a stale claim aside (rename: one taker wins). 1 = moved, 0 = someone else did. */
static int take_over(const char *dir, int64_t idx, const claim_file *c, bool count_lost) {
    char *from = dpath(dir, "claims/%lld", (long long)idx);
    char *to = dpath(dir, "claims/%lld.%s.%s", (long long)idx, count_lost ? "dead" : "released", c->token);
    int rc = rename(from, to);
    free(from);
    free(to);
    return rc == 0 ? 1 : 0;
}

int el_sweep_dir_recover(const char *dir, const char *host, bool count_lost) {
    el_sweep_dir_info di;
    if (el_sweep_dir_read_info(dir, &di)) return EL_ERR;
    int64_t n = di.n_trials;
    el_sweep_dir_info_free(&di);
    bool *claimed = xcalloc((size_t)n + 1, 1);
    scan_indexes(dir, "claims", "", claimed, n);
    double now = server_now(dir, host ? host : el_hostname());
    int released = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!claimed[i]) continue;
        char *p = dpath(dir, "claims/%lld", (long long)i);
        claim_file c;
        if (read_claim(p, &c) && claim_stale(&c, host ? host : el_hostname(), now)) released += take_over(dir, i, &c, count_lost);
        free(p);
    }
    free(claimed);
    return released;
}

/* ---- the dir store ---------------------------------------------------------------------------------- */
typedef struct {
    el_trial_store base;
    char *dir, *sweep_id;
    const el_sweep *s;
    const el_worker_params *p;
    char host[256], job[128];
    int64_t pid, pid_start, n_trials;
    double lease_s;
    int32_t max_lost;
    char *shard;      /* relative path of the current trial's run registry ("runs/IDX-TOKEN.db") */
} dir_store;

static int read_trial(dir_store *ds, int64_t idx, el_trial_claim *out) {
    char *p = dpath(ds->dir, "trials/%lld.json", (long long)idx);
    json_t *o = read_json(p);
    if (!o) {
        el_err("%s: missing or unreadable", p);
        free(p);
        return EL_ERR;
    }
    free(p);
    out->idx = idx;
    snprintf(out->config_hash, sizeof out->config_hash, "%s", jstr(o, "config_hash") ? jstr(o, "config_hash") : "");
    out->seed = jint(o, "seed", 0);
    out->has_seed = true;
    out->assignment = xstrdup(jstr(o, "assignment") ? jstr(o, "assignment") : "{}");
    out->param_values = xstrdup(jstr(o, "param_values") ? jstr(o, "param_values") : "[]");
    json_decref(o);
    return EL_OK;
}

/* Bayes: makes trial idx from the results so far; 1 = made (or someone else made it), -1 error. */
static int make_trial_file(dir_store *ds, int64_t idx, const bool *made) {
    const el_sweep *s = ds->s;
    int64_t ns = s->n_seeds > 0 ? s->n_seeds : 1;
    el_trial_claim t;
    memset(&t, 0, sizeof t);
    int rc;
    if (idx % ns != 0) {
        el_trial_claim first;
        memset(&first, 0, sizeof first);
        if (read_trial(ds, idx - idx % ns, &first)) return EL_ERR;
        rc = el_sweep_bayes_trial(s, idx, first.param_values, NULL, 0, &t);
        el_trial_claim_free(&first);
    } else {
        el_sweep_seen *seen = xcalloc((size_t)ds->n_trials + 1, sizeof *seen);
        char **keep = xcalloc((size_t)ds->n_trials + 1, sizeof *keep);
        int32_t n = 0;
        for (int64_t i = 0; i < ds->n_trials; i++) {
            if (!made[i]) continue;
            char *rp = dpath(ds->dir, "results/%lld.json", (long long)i);
            json_t *r = read_json(rp);
            free(rp);
            if (!r) continue;
            el_trial_claim ti;
            memset(&ti, 0, sizeof ti);
            if (read_trial(ds, i, &ti) == EL_OK) {
                keep[n] = ti.param_values;
                ti.param_values = NULL;
                seen[n].param_values = keep[n];
                seen[n].failed = el_streq(jstr(r, "status"), "failed");
                seen[n].metric = jreal(r, "metric");
                n++;
            }
            el_trial_claim_free(&ti);
            json_decref(r);
        }
        rc = el_sweep_bayes_trial(s, idx, NULL, seen, n, &t);
        for (int32_t i = 0; i < n; i++) free(keep[i]);
        free(keep);
        free(seen);
    }
    if (rc) return EL_ERR;
    char *tp = dpath(ds->dir, "trials/%lld.json", (long long)idx);
    char *text = trial_json(idx, t.config_hash, t.seed, t.assignment, t.param_values);
    rc = publish_new(ds->dir, tp, text);
    free(text);
    free(tp);
    el_trial_claim_free(&t);
    return rc < 0 ? EL_ERR : 1;
}

static char *claim_text(dir_store *ds, const char *token) {
    json_t *o = json_object();
    char now[32];
    el_iso_time(now);
    json_object_set_new(o, "token", json_string(token));
    json_object_set_new(o, "host", json_string(ds->host));
    json_object_set_new(o, "pid", json_integer(ds->pid));
    json_object_set_new(o, "pid_start", json_integer(ds->pid_start));
    json_object_set_new(o, "boot_id", json_string(this_boot_id()));
    json_object_set_new(o, "job", ds->job[0] ? json_string(ds->job) : json_null());
    json_object_set_new(o, "lease_s", json_real(ds->lease_s));
    json_object_set_new(o, "claimed_at", json_string(now));
    return json_text(o);
}

static int publish_failed(dir_store *ds, int64_t idx, const char *why, int32_t lost) {
    char *rp = dpath(ds->dir, "results/%lld.json", (long long)idx);
    result_fields r = {.status = "failed", .error = why, .metric = NAN, .host = ds->host,
                       .job = ds->job[0] ? ds->job : NULL, .lost_claims = lost};
    char *t = result_json(idx, &r);
    int rc = publish_new(ds->dir, rp, t);
    free(t);
    free(rp);
    return rc;
}

static int dir_claim(el_trial_store *st, el_trial_claim *out) {
    dir_store *ds = (dir_store *)st;
    memset(out, 0, sizeof *out);
    int64_t n = ds->n_trials;
    for (int attempt = 0; attempt < 1000; attempt++) {
        bool *done = xcalloc((size_t)n + 1, 1), *claimed = xcalloc((size_t)n + 1, 1), *made = xcalloc((size_t)n + 1, 1);
        scan_indexes(ds->dir, "results", ".json", done, n);
        scan_indexes(ds->dir, "claims", "", claimed, n);
        scan_indexes(ds->dir, "trials", ".json", made, n);
        double now = server_now(ds->dir, ds->host);
        int64_t n_made = 0;
        for (int64_t i = 0; i < n && made[i]; i++) n_made = i + 1;
        int found = 0;
        for (int64_t i = 0; i < n_made && !found; i++) {
            if (done[i]) continue;
            char *cp = dpath(ds->dir, "claims/%lld", (long long)i);
            if (claimed[i]) {
                claim_file c;
                const char *why = read_claim(cp, &c) ? claim_stale(&c, ds->host, now) : NULL;
                if (!why || !take_over(ds->dir, i, &c, true)) {
                    free(cp);
                    continue;
                }
                int32_t lost = count_claim_files(ds->dir, i, "dead");
                fprintf(stderr, "worker: trial %lld: the claim of pid %lld on %s%s%s was stale (%s): taken over (%d lost)\n",
                        (long long)i, (long long)c.pid, c.host, c.job[0] ? ", job " : "", c.job, why, (int)lost);
                if (ds->max_lost > 0 && lost >= ds->max_lost) {
                    char *msg = el_printf("the worker running it died %d times (last: pid %lld on %s%s%s, %s): see the "
                                          "worker logs in %s/logs", (int)lost, (long long)c.pid, c.host,
                                          c.job[0] ? ", job " : "", c.job, why, ds->dir);
                    publish_failed(ds, i, msg, lost);
                    free(msg);
                    free(cp);
                    continue;
                }
            }
            char token[33];
            random_token(token);
            char *text = claim_text(ds, token);
            int rc = publish_new(ds->dir, cp, text);
            free(text);
            if (rc < 0) {
                free(cp);
                free(done);
                free(claimed);
                free(made);
                return EL_ERR;
            }
            if (rc == 1) {
                char *rp = dpath(ds->dir, "results/%lld.json", (long long)i);
                bool late = el_file_exists(rp); /* a result appeared since the scan */
                free(rp);
                if (late) {
                    unlink(cp);
                } else if (read_trial(ds, i, out) == EL_OK) {
                    snprintf(out->token, sizeof out->token, "%s", token);
                    out->claims = 1 + count_claim_files(ds->dir, i, "dead") + count_claim_files(ds->dir, i, "released");
                    found = 1;
                } else {
                    char *why = el_printf("its trial file is unreadable: %s", el_last_error());
                    publish_failed(ds, i, why, 0);
                    free(why);
                    unlink(cp);
                }
            }
            free(cp);
        }
        bool more = !found && ds->s->method == EL_SWEEP_BAYES && n_made < n;
        int mrc = more ? make_trial_file(ds, n_made, made) : 0;
        free(done);
        free(claimed);
        free(made);
        if (found) return 1;
        if (mrc < 0) return EL_ERR;
        if (!more) return 0;
    }
    return el_err("%s: could not claim a trial after 1000 attempts (too many workers racing?)", ds->dir);
}

static bool claim_is_mine(dir_store *ds, int64_t idx, const char *token) {
    char *cp = dpath(ds->dir, "claims/%lld", (long long)idx);
    claim_file c;
    bool mine = read_claim(cp, &c) && !strcmp(c.token, token);
    free(cp);
    return mine;
}

static int dir_complete(el_trial_store *st, const el_trial_claim *c, const el_trial_result *r) {
    dir_store *ds = (dir_store *)st;
    char *rp = dpath(ds->dir, "results/%lld.json", (long long)c->idx);
    int32_t lost = count_claim_files(ds->dir, c->idx, "dead");
    result_fields f = {.status = r->status, .run = r->run, .error = r->error, .reused = r->reused, .metric = r->metric,
                       .epochs = r->epochs, .shard = r->run && !r->reused ? ds->shard : NULL, .token = c->token,
                       .host = ds->host, .job = ds->job[0] ? ds->job : NULL, .lost_claims = lost};
    char *t = result_json(c->idx, &f);
    int rc = publish_new(ds->dir, rp, t);
    free(t);
    free(rp);
    free(ds->shard);
    ds->shard = NULL;
    if (rc == 1 && claim_is_mine(ds, c->idx, c->token)) {
        char *cp = dpath(ds->dir, "claims/%lld", (long long)c->idx);
        unlink(cp);
        free(cp);
    }
    return rc;
}

static int dir_release(el_trial_store *st, const el_trial_claim *c, const char *why) {
    (void)why;
    dir_store *ds = (dir_store *)st;
    free(ds->shard);
    ds->shard = NULL;
    char *cp = dpath(ds->dir, "claims/%lld", (long long)c->idx);
    char *to = dpath(ds->dir, "claims/%lld.released.%s", (long long)c->idx, c->token);
    int out = 0;
    if (rename(cp, to) == 0) {
        claim_file moved;
        if (read_claim(to, &moved) && strcmp(moved.token, c->token) != 0) {
            /* not ours any more (taken over meanwhile): put the new holder's claim back */
            if (link(to, cp) == 0) unlink(to);
        } else {
            out = 1;
        }
    }
    free(cp);
    free(to);
    return out;
}

static int dir_heartbeat(el_trial_store *st, int64_t idx, const char *token) {
    dir_store *ds = (dir_store *)st;
    char *cp = dpath(ds->dir, "claims/%lld", (long long)idx);
    claim_file c;
    int out = 0;
    if (read_claim(cp, &c) && !strcmp(c.token, token)) {
        out = utimensat(AT_FDCWD, cp, NULL, 0) == 0 ? 1 : el_err("%s: %s", cp, strerror(errno));
    }
    free(cp);
    return out;
}

static el_registry *dir_run_registry(el_trial_store *st, const el_trial_claim *c) {
    dir_store *ds = (dir_store *)st;
    free(ds->shard);
    ds->shard = el_printf("runs/%lld-%s.db", (long long)c->idx, c->token);
    char *p = el_path_join(ds->dir, ds->shard);
    el_registry *r = el_registry_open_private(p);
    free(p);
    return r;
}

static void dir_run_registry_done(el_trial_store *st, el_registry *r) {
    (void)st;
    /* a plain rollback-journal file from now on: whoever reads it (the controller, on another
     * machine) needs no WAL index */
    el_registry_seal_private(r);
    el_registry_close(r);
}

static int dir_rung_values(el_trial_store *st, el_registry *run_reg, const char *run_uuid, int64_t idx, int32_t epoch,
                           const char *col, double **vals, int32_t *n, double *mine) {
    dir_store *ds = (dir_store *)st;
    *n = 0;
    *mine = NAN;
    sqlite3 *db = el_registry_db(run_reg);
    char *q = sqlite3_mprintf("SELECT %s FROM epochs WHERE run = %Q AND epoch = %d", col, run_uuid, (int)epoch);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, q, -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) *mine = sqlite3_column_double(s, 0);
        sqlite3_finalize(s);
    }
    sqlite3_free(q);
    if (!isfinite(*mine)) return EL_OK;
    char *rd = dpath(ds->dir, "rungs/%d", (int)epoch);
    el_mkdirs(rd, 0755);
    char *mp = dpath(ds->dir, "rungs/%d/%lld", (int)epoch, (long long)idx);
    char txt[64];
    snprintf(txt, sizeof txt, "%.17g\n", *mine);
    int rc = publish_replace(ds->dir, mp, txt);
    free(mp);
    if (rc) {
        free(rd);
        return EL_ERR;
    }
    DIR *d = opendir(rd);
    int64_t cap = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int64_t other;
        if (!index_name(e->d_name, "", &other)) continue;
        char *fp = el_path_join(rd, e->d_name);
        char *text = NULL;
        size_t len = 0;
        if (el_read_file(fp, &text, &len) == 0) {
            char *end;
            double v = strtod(text, &end);
            if (end != text && isfinite(v)) {
                el_grow(*vals, &cap, *n + 1);
                (*vals)[(*n)++] = v;
            }
        }
        free(text);
        free(fp);
    }
    if (d) closedir(d);
    free(rd);
    return EL_OK;
}

/* A final run of this trial in a shard of an earlier claim (its worker died after closing the run
 * and before publishing the result). */
static int dir_find_own(el_trial_store *st, const el_trial_claim *c, const el_spec *spec, el_trial_result *res,
                        char uuid[37]) {
    dir_store *ds = (dir_store *)st;
    char *rd = el_path_join(ds->dir, "runs");
    DIR *d = opendir(rd);
    char prefix[48];
    snprintf(prefix, sizeof prefix, "%lld-", (long long)c->idx);
    int found = 0;
    struct dirent *e;
    while (d && !found && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, prefix, strlen(prefix)) || len < 4 || strcmp(e->d_name + len - 3, ".db")) continue;
        char *rel = el_printf("runs/%s", e->d_name);
        char *p = el_path_join(ds->dir, rel);
        el_registry *r = el_registry_open(p, true);
        if (r) {
            sqlite3_stmt *s;
            if (sqlite3_prepare_v2(el_registry_db(r), "SELECT uuid, status FROM runs WHERE name = ? AND config_hash = ?"
                                                      " AND status IN ('finished', 'stopped') LIMIT 1", -1, &s, NULL) == SQLITE_OK) {
                sqlite3_bind_text(s, 1, spec->name, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(s, 2, spec->config_hash, -1, SQLITE_TRANSIENT);
                if (sqlite3_step(s) == SQLITE_ROW) {
                    snprintf(uuid, 37, "%s", (const char *)sqlite3_column_text(s, 0));
                    res->status = el_streq((const char *)sqlite3_column_text(s, 1), "finished") ? "done" : "stopped";
                    found = 1;
                }
                sqlite3_finalize(s);
            }
            if (found) {
                el_sweep_run_metric(r, uuid, ds->s->metric_name, &res->metric, &res->epochs);
                free(ds->shard);
                ds->shard = rel;
                rel = NULL;
            }
            el_registry_close(r);
        }
        free(rel);
        free(p);
    }
    if (d) closedir(d);
    free(rd);
    return found;
}

static int dir_find_reusable(el_trial_store *st, const el_spec *spec, el_trial_result *res, char uuid[37]) {
    /* the controller decided reuse from the registry when it made the sweep directory */
    (void)st;
    (void)spec;
    (void)res;
    (void)uuid;
    return 0;
}

static void dir_free(el_trial_store *st) {
    dir_store *ds = (dir_store *)st;
    free(ds->dir);
    free(ds->sweep_id);
    free(ds->shard);
    free(ds);
}

el_trial_store *el_store_dir(const char *dir, const char *sweep_id, const el_sweep *s, const el_worker_params *p) {
    el_sweep_dir_info di;
    if (el_sweep_dir_read_info(dir, &di)) return NULL;
    dir_store *ds = xcalloc(1, sizeof *ds);
    ds->base = (el_trial_store){.kind = "directory", .claim = dir_claim, .complete = dir_complete,
                                .release = dir_release, .heartbeat = dir_heartbeat, .run_registry = dir_run_registry,
                                .run_registry_done = dir_run_registry_done, .rung_values = dir_rung_values,
                                .find_own = dir_find_own, .find_reusable = dir_find_reusable, .free = dir_free};
    ds->dir = xstrdup(dir);
    ds->sweep_id = xstrdup(sweep_id);
    ds->s = s;
    ds->p = p;
    ds->n_trials = di.n_trials;
    el_sweep_dir_info_free(&di);
    snprintf(ds->host, sizeof ds->host, "%s", p->host && *p->host ? p->host : el_hostname());
    snprintf(ds->job, sizeof ds->job, "%s", p->job ? p->job : "");
    ds->pid = (int64_t)getpid();
    ds->pid_start = proc_start(ds->pid);
    ds->lease_s = p->lease_s > 0 ? p->lease_s : EL_SWEEP_DEFAULT_LEASE_S;
    ds->max_lost = p->max_lost;
    return &ds->base;
}

/* ---- consolidation into the registry ------------------------------------------------------------- */
int el_sweep_dir_collect(el_registry *reg, const char *dir, const char *sweep_id, el_collect_stats *out) {
    el_collect_stats dummy;
    if (!out) out = &dummy;
    memset(out, 0, sizeof *out);
    el_sweep_dir_info di;
    if (el_sweep_dir_read_info(dir, &di)) return EL_ERR;
    if (strcmp(di.id, sweep_id) != 0) {
        el_err("%s holds sweep %s, not %s", dir, di.id, sweep_id);
        el_sweep_dir_info_free(&di);
        return EL_ERR;
    }
    int64_t n = di.n_trials;
    el_sweep_dir_info_free(&di);
    /* what the registry already knows: final trials are not looked at again */
    char **reg_status = xcalloc((size_t)n + 1, sizeof *reg_status);
    sqlite3 *db = el_registry_db(reg);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT idx, status FROM sweep_trials WHERE sweep_id = ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, sweep_id, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(st) == SQLITE_ROW) {
            int64_t i = sqlite3_column_int64(st, 0);
            if (i >= 0 && i < n) reg_status[i] = xstrdup((const char *)sqlite3_column_text(st, 1));
        }
        sqlite3_finalize(st);
    }
    bool *done = xcalloc((size_t)n + 1, 1), *claimed = xcalloc((size_t)n + 1, 1), *made = xcalloc((size_t)n + 1, 1);
    scan_indexes(dir, "results", ".json", done, n);
    scan_indexes(dir, "claims", "", claimed, n);
    scan_indexes(dir, "trials", ".json", made, n);
    el_trial_state *ts = xcalloc((size_t)n + 1, sizeof *ts);
    json_t **keep = xcalloc((size_t)n * 2 + 1, sizeof *keep); /* the JSON objects the strings point into */
    int64_t nt = 0, nk = 0;
    char **shards = xcalloc((size_t)n + 1, sizeof *shards);
    int64_t ns = 0;
    claim_file *claims = xcalloc((size_t)n + 1, sizeof *claims);
    int rc = EL_OK;
    for (int64_t i = 0; i < n; i++) {
        bool final_here = reg_status[i] && (el_streq(reg_status[i], "done") || el_streq(reg_status[i], "failed") ||
                                            el_streq(reg_status[i], "stopped"));
        if (final_here) {
            out->final++;
            continue;
        }
        el_trial_state *t = &ts[nt];
        t->idx = i;
        t->metric = NAN;
        if (!reg_status[i] && made[i]) { /* bayes trials made by workers */
            char *tp = dpath(dir, "trials/%lld.json", (long long)i);
            json_t *o = read_json(tp);
            free(tp);
            if (o) {
                keep[nk++] = o;
                t->config_hash = jstr(o, "config_hash");
                t->assignment = jstr(o, "assignment");
                t->param_values = jstr(o, "param_values");
                t->seed = jint(o, "seed", 0);
                t->has_seed = true;
            }
        }
        if (done[i]) {
            char *rp = dpath(dir, "results/%lld.json", (long long)i);
            json_t *o = read_json(rp);
            free(rp);
            if (!o) continue; /* being written: next time */
            keep[nk++] = o;
            t->status = jstr(o, "status");
            t->run = jstr(o, "run");
            t->error = jstr(o, "error");
            t->finished = jstr(o, "finished");
            t->reused = json_is_true(json_object_get(o, "reused"));
            t->metric = jreal(o, "metric");
            t->epochs = (int32_t)jint(o, "epochs", 0);
            t->lost_claims = (int32_t)jint(o, "lost_claims", 0);
            t->claim_host = jstr(o, "host"); /* who ran it */
            t->claim_job = jstr(o, "job");
            const char *shard = jstr(o, "shard");
            if (shard) shards[ns++] = el_path_join(dir, shard);
            out->collected++;
        } else if (claimed[i]) {
            char *cp = dpath(dir, "claims/%lld", (long long)i);
            claim_file *c = &claims[i];
            if (!read_claim(cp, c)) {
                free(cp);
                t->status = "pending";
            } else {
                free(cp);
                t->status = "claimed";
                t->claim_host = c->host;
                t->claim_pid = c->pid;
                t->claim_job = c->job[0] ? c->job : NULL;
                t->claimed_at = c->claimed_at;
                t->lease_expires = c->mtime + c->lease_s;
                out->claimed++;
            }
            t->lost_claims = count_claim_files(dir, i, "dead");
        } else if (made[i]) {
            t->status = "pending";
            t->lost_claims = count_claim_files(dir, i, "dead");
        } else {
            continue;
        }
        if (!t->status) continue;
        nt++;
    }
    /* the runs first (the trials link to them), 8 shards per transaction */
    for (int64_t i = 0; i < ns && rc == EL_OK; i += 8) {
        int32_t k = (int32_t)(ns - i < 8 ? ns - i : 8);
        el_import_stats is[8];
        const char *paths[8];
        int32_t m = 0;
        for (int32_t j = 0; j < k; j++)
            if (el_file_exists(shards[i + j])) paths[m++] = shards[i + j];
        if (m && (rc = el_registry_import_many(reg, paths, m, is)) == EL_OK)
            for (int32_t j = 0; j < m; j++) out->runs_imported += is[j].runs_added;
    }
    if (rc == EL_OK && nt > 0 && el_sweep_sync(reg, sweep_id, ts, nt) < 0) rc = EL_ERR;
    for (int64_t i = 0; i < ns; i++) free(shards[i]);
    free(shards);
    for (int64_t i = 0; i < nk; i++) json_decref(keep[i]);
    free(keep);
    free(ts);
    free(claims);
    for (int64_t i = 0; i < n; i++) free(reg_status[i]);
    free(reg_status);
    free(done);
    free(claimed);
    free(made);
    return rc;
}
