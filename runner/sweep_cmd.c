/* sweep_cmd.c: `emolab sweep` (the controller: create or resume a sweep, start the workers, show
 * progress, --dry-run, --status) and `emolab worker` (one worker process). See sweep.h. */
#define _GNU_SOURCE
#include "commands.h"
#include "run.h"
#include "sweep.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS 256

static int32_t usable_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int32_t)n : 1;
}

static void fmt_metric(double v, char out[32]) {
    if (isfinite(v)) snprintf(out, 32, "%.4f", v);
    else snprintf(out, 32, "-");
}

/* ---- usage ----------------------------------------------------------------------------------------- */
static void sweep_usage(FILE *out) {
    fprintf(out,
            "usage: emolab sweep FILE [-j N] [options]\n"
            "       emolab sweep FILE --launcher slurm [-j TASKS] [slurm options]\n"
            "       emolab sweep FILE --resume          continue the latest sweep of FILE\n"
            "       emolab sweep --sweep-id ID          continue sweep ID (FILE optional)\n"
            "       emolab sweep [FILE | --sweep-id ID] --status | --collect\n"
            "       emolab sweep FILE --dry-run\n\n"
            "Runs every trial of a Weights & Biases-style sweep file (method grid | random | bayes,\n"
            "parameters keyed by dotted spec paths, seeds, run_cap, early_terminate: hyperband) with N\n"
            "worker processes. Every trial is a registry run tagged with the sweep id. A trial whose\n"
            "resolved config already has a finished run is reused, not retrained (--rerun trains it).\n"
            "Trials are claimed atomically, so a sweep survives anything: after a crash or kill -9,\n"
            "--resume restarts the interrupted trials and keeps the finished, failed and stopped ones.\n\n"
            "options:\n"
            "  -j, --jobs N        worker processes (default 1; slurm: array tasks, default up to 8);\n"
            "                      locally each gets cores/N libtorch threads\n"
            "  --threads T         libtorch threads per local worker instead (trials whose spec sets\n"
            "                      train.threads keep theirs)\n"
            "  --registry FILE     the registry (default $EMOLAB_REGISTRY or ./registry.db)\n"
            "  --experiments DIR   run outputs and worker logs (DIR/sweeps/ID/; default\n"
            "                      $EMOLAB_EXPERIMENTS or ./experiments)\n"
            "  --data-root DIR     where data paths are relative to (default $EMOLAB_DATA)\n"
            "  --rerun             train trials even when a run with the same config finished\n"
            "  --resume            continue the latest sweep of FILE\n"
            "  --sweep-id ID       continue that sweep (emolab sweep --status lists them)\n"
            "  --no-checkpoint     do not save the trials' models\n"
            "  --dry-run           list the trials (and which would be reused); start nothing\n"
            "  --status            pending / claimed (by which host, pid, job) / done / failed /\n"
            "                      stopped trials and the best; without FILE or ID: every sweep\n"
            "  --collect           consolidate a sweep directory into the registry (idempotent)\n"
            "  --max-retries K     a trial whose worker dies K times is marked failed (default 3)\n"
            "  --lease SECONDS     claim lease, renewed by each worker's heartbeat; a claim without\n"
            "                      heartbeat for that long is given to another worker (default %.0f,\n"
            "                      120 with a sweep directory)\n"
            "  --sweep-dir DIR     keep claims, results and runs in a sweep directory DIR/ID (on a\n"
            "                      filesystem every worker machine sees) instead of the registry\n\n"
            "Slurm (--launcher slurm): one job array whose tasks run `emolab worker` on a sweep\n"
            "directory (default EXPERIMENTS/sweeps/ID); the registry is written by this command only,\n"
            "never over the network. Ctrl-C cancels the array (running trials are given back).\n"
            "  --partition P  --time T  --cpus-per-trial C  --gpus-per-trial G\n"
            "  --max-parallel K    at most K tasks at once (--array=0-N%%K)\n"
            "  --sbatch-arg ARG    passed to sbatch as is (repeatable), e.g. --sbatch-arg=--qos=low\n"
            "  --no-wait           submit and return; --status / --collect later\n\n"
            "examples:\n"
            "  emolab sweep configs/sweeps/bow-dropout.yaml -j 2\n"
            "  emolab sweep configs/sweeps/bow-dropout.yaml --dry-run\n"
            "  emolab sweep configs/sweeps/bow-dropout.yaml --resume -j 2     # after a crash\n"
            "  emolab sweep configs/sweeps/bow-random.yaml --status\n"
            "  emolab sweep configs/sweeps/bow-hidden.yaml --launcher slurm -j 16 --partition gpu \\\n"
            "      --gpus-per-trial 1 --cpus-per-trial 4 --time 02:00:00 --sweep-dir /shared/sweeps\n"
            "  sqlite3 registry.db \"select idx, status, metric, run from sweep_trials where sweep_id = 'ID'\"\n\n"
            "exit codes: 0 every trial has a result (failed trials are listed), 1 trials are left\n"
            "(see the worker logs; --resume continues) or Slurm refused, 2 usage or sweep-file error\n"
            "(nothing started), 130 interrupted (Ctrl-C: running trials are recorded as interrupted).\n",
            EL_SWEEP_DEFAULT_LEASE_S);
}

static void worker_usage(FILE *out) {
    fprintf(out,
            "usage: emolab worker --sweep-id ID [--registry FILE] [options]\n"
            "       emolab worker --sweep-dir DIR [options]\n\n"
            "One sweep worker: claims the next pending trial of a sweep (atomically), runs it, records\n"
            "it, and takes the next, until none is left. `emolab sweep -j N` starts N of these, `emolab\n"
            "sweep --launcher slurm` a job array of them; more can be started by hand (they share the\n"
            "claims). With --sweep-id the claims and runs are in the registry (one machine); with\n"
            "--sweep-dir in a sweep directory on a filesystem shared by the machines (no SQLite file is\n"
            "written by two machines), consolidated into the registry by `emolab sweep --collect`.\n\n"
            "options:\n"
            "  --registry FILE     the registry (default $EMOLAB_REGISTRY or ./registry.db)\n"
            "  --host NAME         the host name claims carry (default: this host's, or\n"
            "                      $EMOLAB_WORKER_HOST, where %%j is replaced by --job; containers whose\n"
            "                      host names collide set it)\n"
            "  --file FILE         the sweep file (default: the path recorded with the sweep)\n"
            "  --experiments DIR   run outputs (default $EMOLAB_EXPERIMENTS or ./experiments)\n"
            "  --data-root DIR     where data paths are relative to\n"
            "  --threads T         libtorch threads (default: all cores)\n"
            "  --job ID            scheduler job id recorded with the claims\n"
            "  --rerun             train even when a finished run has the trial's config\n"
            "  --no-checkpoint     do not save models\n"
            "  --lease SECONDS     claim lease, renewed by a heartbeat (default %.0f)\n"
            "  --max-retries K     a trial whose worker died K times fails (default 3)\n\n"
            "exit codes: 0 nothing left to claim, 1 error, 2 usage, 130 stopped by a signal.\n",
            EL_SWEEP_DEFAULT_LEASE_S);
}

/* The host name a worker's claims carry: $EMOLAB_WORKER_HOST when set (%j replaced by the job id,
 * so that workers sharing one machine can be told apart), else NULL (this host's name). */
static const char *worker_host(const char *job, char buf[256]) {
    const char *h = getenv("EMOLAB_WORKER_HOST");
    if (!h || !*h) return NULL;
    const char *j = strstr(h, "%j");
    if (j) snprintf(buf, 256, "%.*s%s%s", (int)(j - h), h, job ? job : "", j + 2);
    else snprintf(buf, 256, "%s", h);
    return buf;
}

/* ---- emolab worker ----------------------------------------------------------------------------------- */
int cmd_worker(int argc, char **argv) {
    el_worker_params p = el_worker_default_params();
    const char *reg_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t v;
        double d;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            worker_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--sweep-id") && next) {
            p.sweep_id = argv[++i];
        } else if (!strcmp(a, "--sweep-dir") && next) {
            p.sweep_dir = argv[++i];
        } else if (!strcmp(a, "--host") && next) {
            p.host = argv[++i];
        } else if (!strcmp(a, "--registry") && next) {
            reg_path = argv[++i];
        } else if (!strcmp(a, "--file") && next) {
            p.file = argv[++i];
        } else if (!strcmp(a, "--experiments") && next) {
            p.experiments_dir = argv[++i];
        } else if (!strcmp(a, "--data-root") && next) {
            p.data_root = argv[++i];
        } else if (!strcmp(a, "--job") && next) {
            p.job = argv[++i];
        } else if (!strcmp(a, "--threads") && next && el_parse_i64(argv[i + 1], &v) == 0 && v >= 1 && v <= 1024) {
            p.threads = (int32_t)v;
            i++;
        } else if (!strcmp(a, "--lease") && next && el_parse_double(argv[i + 1], &d) == 0 && d > 0) {
            p.lease_s = d;
            i++;
        } else if (!strcmp(a, "--max-retries") && next && el_parse_i64(argv[i + 1], &v) == 0 && v >= 0 && v < 1000) {
            p.max_lost = (int32_t)v;
            i++;
        } else if (!strcmp(a, "--rerun")) {
            p.rerun = true;
        } else if (!strcmp(a, "--no-checkpoint")) {
            p.save_checkpoint = false;
        } else {
            fprintf(stderr, "emolab worker: %s %s (emolab worker --help)\n",
                    a[0] == '-' ? "unknown option or bad value:" : "unexpected argument", a);
            return 2;
        }
    }
    if (!p.sweep_id && !p.sweep_dir) {
        worker_usage(stderr);
        return 2;
    }
    if (p.sweep_dir && (p.sweep_id || reg_path)) {
        fprintf(stderr, "emolab worker: --sweep-dir works without the registry: drop --sweep-id / --registry\n");
        return 2;
    }
    char host_buf[256];
    if (!p.host) p.host = worker_host(p.job, host_buf);
    if (!p.sweep_dir) p.registry = el_registry_default_path(reg_path);
    static volatile sig_atomic_t stop;
    el_install_stop_handlers(&stop);
    p.stop = &stop;
    int rc = el_sweep_worker(&p);
    if (rc == 1 || rc == 2) fprintf(stderr, "emolab worker: %s\n", el_last_error());
    return rc;
}

/* ---- listing: --dry-run ----------------------------------------------------------------------------- */
static int dry_run(const el_sweep *s, const char *reg_path, bool rerun) {
    el_registry *reg = NULL;
    struct stat sb;
    if (stat(reg_path, &sb) == 0) {
        reg = el_registry_open(reg_path, true);
        if (!reg) fprintf(stderr, "note: not checking for reusable runs: %s\n", el_last_error());
    }
    int64_t ns = s->n_seeds > 0 ? s->n_seeds : 1;
    printf("sweep %s (%s): %s, %lld trial(s)", s->name, s->file, el_sweep_method_name(s->method),
           (long long)s->n_trials);
    if (s->method == EL_SWEEP_GRID)
        printf(" = %lld configuration(s) x %lld seed(s)%s", (long long)s->n_configs, (long long)ns,
               s->run_cap > 0 && s->run_cap < s->n_configs * ns ? ", capped by run_cap" : "");
    printf(", metric %s (%s)\n", s->metric_name, s->maximize ? "maximize" : "minimize");
    if (s->hyperband) {
        int32_t rungs[EL_HB_MAX_RUNGS];
        int32_t epochs = 0;
        el_node *e = el_node_get(s->base, "train.epochs");
        if (e && e->kind == EL_NODE_SCALAR) epochs = atoi(e->scalar);
        int32_t n = el_hyperband_rungs(s, epochs > 0 ? epochs : 1000, rungs, EL_HB_MAX_RUNGS);
        printf("hyperband: eta %g, rungs at epoch", s->hb_eta);
        for (int32_t i = 0; i < n && i < 8; i++) printf("%s %d", i ? "," : "", (int)rungs[i]);
        printf("%s: at each rung a trial outside the best 1/eta of those that reached it stops\n", n > 8 ? ", ..." : "");
    }
    int64_t shown = s->n_trials;
    if (s->method == EL_SWEEP_BAYES && shown > EL_SWEEP_BAYES_STARTUP * ns) shown = EL_SWEEP_BAYES_STARTUP * ns;
    printf("%-6s %-6s %-12s %-22s %s\n", "trial", "seed", "config", reg ? "reuse" : "", "parameters");
    int64_t reusable = 0;
    int rc = EL_OK;
    for (int64_t i = 0; i < shown; i++) {
        el_node *values[EL_SWEEP_MAX_PARAMS] = {0};
        el_spec spec;
        if (el_sweep_trial_values(s, i, values) || el_sweep_trial_spec(s, i, values, &spec)) {
            el_sweep_values_free(s, values);
            fprintf(stderr, "emolab sweep: %s\n", el_last_error());
            rc = EL_ERR;
            break;
        }
        char *asg = el_sweep_assignment_json(s, values, el_sweep_trial_seed(s, i));
        char reuse[40] = "";
        if (reg && !rerun) {
            char uuid[37], st[16];
            if (el_sweep_find_reusable(reg, spec.config_hash, s->hyperband, uuid, st) == 1) {
                snprintf(reuse, sizeof reuse, "%.8s (%s)", uuid, st);
                reusable++;
            }
        }
        printf("%-6lld %-6lld %-12.12s %-22s %s\n", (long long)i, (long long)spec.train.seed, spec.config_hash,
               reg ? (reuse[0] ? reuse : "-") : "", asg);
        free(asg);
        el_spec_free(&spec);
        el_sweep_values_free(s, values);
    }
    if (shown < s->n_trials)
        printf("... trials %lld..%lld are suggested by the TPE model from the results so far\n", (long long)shown,
               (long long)s->n_trials - 1);
    if (reg) printf("%lld of these would be reused%s\n", (long long)reusable, rerun ? " (not with --rerun)" : "");
    el_registry_close(reg);
    return rc == EL_OK ? 0 : 2;
}

/* ---- --status ----------------------------------------------------------------------------------------- */
static void print_counts_line(FILE *out, const el_sweep_counts *c) {
    int64_t left = c->n_trials - c->done - c->failed - c->stopped;
    fprintf(out, "%lld/%lld done (%lld reused), %lld running, %lld failed, %lld stopped, %lld left",
            (long long)c->done, (long long)c->n_trials, (long long)c->reused, (long long)c->claimed,
            (long long)c->failed, (long long)c->stopped, (long long)(left - c->claimed > 0 ? left - c->claimed : 0));
}

static int list_sweeps(el_registry *reg) {
    sqlite3 *db = el_registry_db(reg);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id, file, created, n_trials, method,"
                               " (SELECT count(*) FROM sweep_trials t WHERE t.sweep_id = s.id AND t.status = 'done'),"
                               " (SELECT count(*) FROM sweep_trials t WHERE t.sweep_id = s.id AND t.status IN ('failed', 'stopped')),"
                               " (SELECT count(*) FROM sweep_trials t WHERE t.sweep_id = s.id AND t.status = 'claimed')"
                               " FROM sweeps s ORDER BY created", -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "emolab sweep: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (!n++) printf("%-44s %-7s %-24s %s\n", "sweep", "method", "created", "trials (done, failed or stopped, running)");
        printf("%-44s %-7s %-24s %lld (%lld, %lld, %lld)  %s\n", sqlite3_column_text(st, 0), sqlite3_column_text(st, 4),
               sqlite3_column_text(st, 2), (long long)sqlite3_column_int64(st, 3),
               (long long)sqlite3_column_int64(st, 5), (long long)sqlite3_column_int64(st, 6),
               (long long)sqlite3_column_int64(st, 7), sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    if (!n) printf("no sweeps in %s\n", el_registry_path(reg));
    return 0;
}

static int show_status(el_registry *reg, const char *id) {
    el_sweep_row row;
    int f = el_sweep_row_get(reg, id, &row);
    if (f != 1) {
        fprintf(stderr, "emolab sweep: %s\n",
                f == 0 ? "no such sweep (emolab sweep --status without arguments lists them)" : el_last_error());
        return f == 0 ? 2 : 1;
    }
    el_sweep_counts c;
    if (el_sweep_counts_get(reg, id, row.metric, row.maximize, &c)) {
        fprintf(stderr, "emolab sweep: %s\n", el_last_error());
        el_sweep_row_free(&row);
        return 1;
    }
    printf("sweep %s\n  file %s\n  %s, %lld trials, metric %s (%s), created %s on %s\n  ", row.id, row.file,
           row.method, (long long)row.n_trials, row.metric, row.maximize ? "maximize" : "minimize", row.created,
           row.host);
    print_counts_line(stdout, &c);
    printf("\n  pending %lld, claimed %lld, done %lld, failed %lld, stopped %lld%s\n", (long long)c.pending,
           (long long)c.claimed, (long long)c.done, (long long)c.failed, (long long)c.stopped,
           c.rows < c.n_trials ? " (bayes: the other trials are made when claimed)" : "");
    char m[32];
    fmt_metric(c.best, m);
    if (c.best_idx >= 0) printf("  best %s %s: trial %lld, run %s\n", row.metric, m, (long long)c.best_idx, c.best_run);
    sqlite3 *db = el_registry_db(reg);
    sqlite3_stmt *st;
    const char *sql = "SELECT idx, status, claim_host, claim_pid, claim_job, claimed_at, lease_expires, run, metric,"
                      " epochs, error, reused FROM sweep_trials WHERE sweep_id = ? AND status IN ('claimed', 'failed', 'stopped')"
                      " ORDER BY status, idx";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        const char *last = "";
        char lastbuf[16] = "";
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *status = (const char *)sqlite3_column_text(st, 1);
            if (strcmp(status, last)) {
                printf("%s:\n", status);
                snprintf(lastbuf, sizeof lastbuf, "%s", status);
                last = lastbuf;
            }
            long long idx = sqlite3_column_int64(st, 0);
            if (!strcmp(status, "claimed")) {
                double left = sqlite3_column_double(st, 6) - (double)ts.tv_sec;
                printf("  trial %-5lld by %s pid %lld%s%s since %s (lease %.0fs left)\n", idx, sqlite3_column_text(st, 2),
                       (long long)sqlite3_column_int64(st, 3), sqlite3_column_type(st, 4) != SQLITE_NULL ? " job " : "",
                       sqlite3_column_type(st, 4) != SQLITE_NULL ? (const char *)sqlite3_column_text(st, 4) : "",
                       sqlite3_column_text(st, 5), left);
            } else {
                const char *err = (const char *)sqlite3_column_text(st, 10);
                const char *run = (const char *)sqlite3_column_text(st, 7);
                printf("  trial %-5lld run %.8s%s epochs %d: %s\n", idx, run ? run : "-",
                       sqlite3_column_int(st, 11) ? " (reused)" : "", sqlite3_column_int(st, 9), err ? err : "");
            }
        }
        sqlite3_finalize(st);
    }
    el_sweep_row_free(&row);
    return 0;
}

/* ---- the controller -------------------------------------------------------------------------------- */
typedef struct {
    pid_t pid;
    int32_t k;
} worker_slot;

typedef struct {
    char exe[PATH_MAX];
    const char *reg_path, *sweep_id, *file, *exp_dir, *data_root, *log_dir;
    const char *dir; /* the sweep directory: workers use the directory store */
    int32_t threads, max_lost;
    double lease_s;
    bool rerun, save_checkpoint;
} spawn_info;

static volatile sig_atomic_t g_worker_stop;

/* Starts worker k: a fork of this process that runs el_sweep_worker (libtorch is already loaded,
 * nothing of it initialised: no second load), or with EMOLAB_SWEEP_EXEC=1 a fresh `emolab worker`.
 * The controller's registry connection is closed across the fork (SQLite connections must never
 * cross a fork) and reopened. */
static pid_t spawn_worker(const spawn_info *si, int32_t k, el_registry **regp) {
    char threads[16], lease[32], retries[16];
    snprintf(threads, sizeof threads, "%d", (int)si->threads);
    snprintf(lease, sizeof lease, "%g", si->lease_s);
    snprintf(retries, sizeof retries, "%d", (int)si->max_lost);
    const char *argv[32];
    int n = 0;
    argv[n++] = "emolab";
    argv[n++] = "worker";
    if (si->dir) {
        argv[n++] = "--sweep-dir";
        argv[n++] = si->dir;
    } else {
        argv[n++] = "--sweep-id";
        argv[n++] = si->sweep_id;
        argv[n++] = "--registry";
        argv[n++] = si->reg_path;
    }
    argv[n++] = "--file";
    argv[n++] = si->file;
    argv[n++] = "--threads";
    argv[n++] = threads;
    argv[n++] = "--lease";
    argv[n++] = lease;
    argv[n++] = "--max-retries";
    argv[n++] = retries;
    if (si->exp_dir) {
        argv[n++] = "--experiments";
        argv[n++] = si->exp_dir;
    }
    if (si->data_root) {
        argv[n++] = "--data-root";
        argv[n++] = si->data_root;
    }
    if (si->rerun) argv[n++] = "--rerun";
    if (!si->save_checkpoint) argv[n++] = "--no-checkpoint";
    argv[n] = NULL;
    char *log = el_printf("%s/worker-%d.log", si->log_dir, (int)k);
    pid_t parent = getpid();
    bool use_exec = el_streq(getenv("EMOLAB_SWEEP_EXEC"), "1");
    fflush(NULL);
    el_registry_close(*regp);
    *regp = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        /* the worker stops (as interrupted, its trial back in the queue) when the controller dies */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(1);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0) dup2(null, 0);
        setenv("EMOLAB_PROGRESS", "0", 1);
        signal(SIGCHLD, SIG_DFL);
        if (!use_exec) {
            g_worker_stop = 0;
            el_install_stop_handlers(&g_worker_stop);
            el_worker_params wp = el_worker_default_params();
            wp.registry = si->reg_path;
            wp.sweep_id = si->sweep_id;
            wp.sweep_dir = si->dir;
            char host_buf[256];
            wp.host = worker_host(NULL, host_buf);
            wp.file = si->file;
            wp.experiments_dir = si->exp_dir;
            wp.data_root = si->data_root;
            wp.threads = si->threads;
            wp.rerun = si->rerun;
            wp.save_checkpoint = si->save_checkpoint;
            wp.lease_s = si->lease_s;
            wp.max_lost = si->max_lost;
            wp.stop = &g_worker_stop;
            int rc = el_sweep_worker(&wp);
            if (rc == 1 || rc == 2) fprintf(stderr, "emolab worker: %s\n", el_last_error());
            fflush(NULL);
            _exit(rc);
        }
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execv(si->exe, (char *const *)argv);
        fprintf(stderr, "emolab sweep: cannot start a worker: %s: %s\n", si->exe, strerror(errno));
        _exit(127);
    }
    if (pid < 0) fprintf(stderr, "emolab sweep: cannot start a worker: fork: %s\n", strerror(errno));
    free(log);
    *regp = el_registry_open(si->reg_path, false);
    if (!*regp) fprintf(stderr, "emolab sweep: warning: reopening the registry: %s\n", el_last_error());
    return pid;
}

typedef struct {
    bool tty, quiet, drawn;
    double t0, last_draw, last_log;
    int64_t final0, reused0;
    char last_line[512];
} progress;

static void progress_draw(progress *pr, const el_sweep_row *row, const el_sweep_counts *c, bool final) {
    if (pr->quiet && !final) return;
    double now = el_now();
    int64_t fin = c->done + c->failed + c->stopped;
    int64_t trained = (fin - c->reused) - (pr->final0 - pr->reused0);
    int64_t left = c->n_trials - fin;
    char el[32], eta[32] = "?", best[160] = "none yet", m[32];
    el_format_duration(now - pr->t0, el);
    if (left <= 0) snprintf(eta, sizeof eta, "0s");
    else if (trained > 0) el_format_duration((now - pr->t0) / (double)trained * (double)left, eta);
    if (c->best_idx >= 0) {
        fmt_metric(c->best, m);
        snprintf(best, sizeof best, "%s (trial %lld)", m, (long long)c->best_idx);
    }
    char line[512];
    snprintf(line, sizeof line,
             "sweep %s: %lld/%lld done (%lld reused), %lld running, %lld failed, %lld stopped | best %s %s | %s, ETA %s",
             row->name, (long long)c->done, (long long)c->n_trials, (long long)c->reused, (long long)c->claimed,
             (long long)c->failed, (long long)c->stopped, row->metric, best, el, eta);
    if (pr->tty && !final) {
        if (now - pr->last_draw < 0.2) return;
        struct winsize ws; /* one line: cut to the terminal's width (bytes; the line is ASCII) */
        if (ioctl(fileno(stderr), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10 && strlen(line) >= ws.ws_col)
            line[ws.ws_col - 1] = 0;
        fprintf(stderr, "\r\033[K%s", line);
        pr->drawn = true;
        pr->last_draw = now;
        return;
    }
    if (pr->tty && pr->drawn) fprintf(stderr, "\r\033[K");
    /* log lines: when the counts change (at most every 2 s), or every 30 s, and at the end */
    char key[512];
    snprintf(key, sizeof key, "%lld %lld %lld %lld %lld", (long long)c->done, (long long)c->claimed,
             (long long)c->failed, (long long)c->stopped, (long long)c->best_idx);
    bool changed = strcmp(key, pr->last_line) != 0;
    if (final || (changed && now - pr->last_log >= 2.0) || now - pr->last_log >= 30.0) {
        char ts[32];
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(ts, sizeof ts, "%H:%M:%S", &tm);
        fprintf(stderr, "[%s] %s\n", ts, line);
        snprintf(pr->last_line, sizeof pr->last_line, "%s", key);
        pr->last_log = now;
    }
}

static void print_failures(el_registry *reg, const char *id) {
    sqlite3 *db = el_registry_db(reg);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT idx, error FROM sweep_trials WHERE sweep_id = ? AND status = 'failed' ORDER BY idx",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n < 10) fprintf(stderr, "  failed: trial %lld: %s\n", (long long)sqlite3_column_int64(st, 0),
                            sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "");
        n++;
    }
    if (n > 10) fprintf(stderr, "  ... and %d more (emolab sweep --status --sweep-id %s)\n", n - 10, id);
    sqlite3_finalize(st);
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    nanosleep(&ts, NULL); /* a signal (SIGCHLD, SIGINT) ends it early: fine */
}

static void on_sigchld(int sig) { (void)sig; }

/* The trial counts; a sweep directory is consolidated into the registry first. */
static int refresh(el_registry *reg, const el_sweep_row *row, const char *dir, el_sweep_counts *c) {
    if (!reg) return el_err("the registry is not open");
    if (dir && el_sweep_dir_collect(reg, dir, row->id, NULL)) return EL_ERR;
    return el_sweep_counts_get(reg, row->id, row->metric, row->maximize, c);
}

/* The end of a sweep: failures, what is left, the best trial. */
static int finish(el_registry *reg, const el_sweep_row *row, const el_sweep_counts *c, bool stopped,
                  const char *logs) {
    int64_t left = c->n_trials - c->done - c->failed - c->stopped;
    if (c->failed > 0) print_failures(reg, row->id);
    if (stopped) {
        fprintf(stderr, "emolab sweep: interrupted; %lld trial(s) left: emolab sweep %s --resume (or --sweep-id %s)\n",
                (long long)left, row->file, row->id);
        return 130;
    }
    if (left > 0) {
        fprintf(stderr, "emolab sweep: %lld trial(s) left undone (workers failed: see %s); emolab sweep --sweep-id %s "
                        "continues\n", (long long)left, logs, row->id);
        return 1;
    }
    char m[32];
    fmt_metric(c->best, m);
    printf("sweep %s: %lld trials: %lld done (%lld reused), %lld failed, %lld stopped; best %s %s (trial %lld, run %s)\n",
           row->id, (long long)c->n_trials, (long long)c->done, (long long)c->reused, (long long)c->failed,
           (long long)c->stopped, row->metric, m, (long long)c->best_idx, c->best_run[0] ? c->best_run : "-");
    return 0;
}

static int run_controller(el_registry **regp, const el_sweep_row *row, spawn_info *si, int32_t jobs,
                          volatile sig_atomic_t *stop) {
    worker_slot *slots = xcalloc((size_t)jobs, sizeof *slots);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);

    progress pr = {.t0 = el_now()};
    const char *pe = getenv("EMOLAB_PROGRESS");
    pr.tty = isatty(fileno(stderr)) || el_streq(pe, "1");
    pr.quiet = el_streq(pe, "0");
    el_sweep_counts c;
    if (refresh(*regp, row, si->dir, &c)) {
        free(slots);
        return -1;
    }
    pr.final0 = c.done + c.failed + c.stopped;
    pr.reused0 = c.reused;
    if (c.pending == 0 && c.claimed == 0 && c.rows >= c.n_trials) { /* everything reused or done */
        progress_draw(&pr, row, &c, true);
        free(slots);
        goto summary;
    }
    int32_t next_k = 0, respawns = 0, rounds = 0;
    int32_t max_respawns = 2 * jobs + 2;
    bool forwarded = false;
    int64_t fin_at_round = -1;
    for (int32_t i = 0; i < jobs; i++) {
        slots[i].k = next_k++;
        slots[i].pid = spawn_worker(si, slots[i].k, regp);
    }
    for (;;) {
        if (!*regp) *regp = el_registry_open(si->reg_path, false); /* a failed reopen: try again */
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            for (int32_t i = 0; i < jobs; i++) {
                if (slots[i].pid != pid) continue;
                slots[i].pid = 0;
                bool clean = WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 130);
                if (clean) break;
                char how[64];
                if (WIFSIGNALED(status)) snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
                else snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
                if (pr.tty && pr.drawn) fprintf(stderr, "\r\033[K");
                fprintf(stderr, "emolab sweep: worker %d (pid %d) %s: see %s/worker-%d.log\n", (int)slots[i].k, (int)pid,
                        how, si->log_dir, (int)slots[i].k);
                if (!*stop && respawns < max_respawns) { /* its trial returns to the queue at the next claim */
                    respawns++;
                    slots[i].k = next_k++;
                    slots[i].pid = spawn_worker(si, slots[i].k, regp);
                }
                break;
            }
        }
        if (*stop && !forwarded) {
            for (int32_t i = 0; i < jobs; i++)
                if (slots[i].pid > 0) kill(slots[i].pid, SIGTERM);
            forwarded = true;
        }
        int32_t alive = 0;
        for (int32_t i = 0; i < jobs; i++) alive += slots[i].pid > 0;
        if (refresh(*regp, row, si->dir, &c) == EL_OK) progress_draw(&pr, row, &c, false);
        if (alive == 0) {
            if (*stop) break;
            /* every worker is gone: trials given back by workers that died meanwhile start again */
            if (si->dir) el_sweep_dir_recover(si->dir, NULL, true);
            else el_sweep_recover(*regp, row->id, si->max_lost, true);
            if (refresh(*regp, row, si->dir, &c)) break;
            int64_t fin = c.done + c.failed + c.stopped;
            int64_t left = c.n_trials - fin - c.claimed;
            if (left <= 0 || rounds >= 3 || fin == fin_at_round) break;
            fin_at_round = fin;
            rounds++;
            for (int32_t i = 0; i < jobs; i++) {
                slots[i].k = next_k++;
                slots[i].pid = spawn_worker(si, slots[i].k, regp);
            }
            continue;
        }
        sleep_s(0.1);
    }
    refresh(*regp, row, si->dir, &c);
    progress_draw(&pr, row, &c, true);
    free(slots);
summary:
    signal(SIGCHLD, SIG_DFL);
    return finish(*regp, row, &c, *stop, si->log_dir);
}

/* ---- Slurm ------------------------------------------------------------------------------------------ */
/* The full path of a program on PATH, or NULL. malloc'd. */
static char *find_on_path(const char *prog) {
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    char *copy = xstrdup(path), *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char *p = el_path_join(*d ? d : ".", prog);
        if (access(p, X_OK) == 0) {
            free(copy);
            return p;
        }
        free(p);
    }
    free(copy);
    return NULL;
}

/* Runs argv (argv[0] a path) with stdout and stderr captured, killed after timeout_s. Returns its
 * exit status, 124 on timeout, -1 when it could not start. */
static int run_capture(const char *const *argv, double timeout_s, char **out, char **err) {
    *out = *err = NULL;
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) dup2(null, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    el_buf bo = {0}, be = {0};
    el_buf_puts(&bo, "");
    el_buf_puts(&be, "");
    double deadline = el_now() + timeout_s;
    bool open_o = true, open_e = true, timed_out = false;
    while (open_o || open_e) {
        double left = deadline - el_now();
        if (left <= 0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
        int n = poll(fds, 2, (int)(left * 1000) + 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        char buf[4096];
        for (int i = 0; i < 2; i++) {
            if (!fds[i].revents) continue;
            ssize_t k = read(fds[i].fd, buf, sizeof buf);
            if (k > 0) el_buf_append(i ? &be : &bo, buf, (size_t)k);
            else if (i) open_e = false;
            else open_o = false;
            if (k <= 0) fds[i].fd = -1;
        }
        if (!open_o) po[0] = po[0] >= 0 ? (close(po[0]), -1) : -1;
        if (!open_e) pe[0] = pe[0] >= 0 ? (close(pe[0]), -1) : -1;
    }
    if (po[0] >= 0) close(po[0]);
    if (pe[0] >= 0) close(pe[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    *out = el_buf_take(&bo);
    *err = el_buf_take(&be);
    if (timed_out) return 124;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A shell word: 'text' with every ' written as '\'' */
static void sh_quote(el_buf *b, const char *s) {
    el_buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'') el_buf_puts(b, "'\\''");
        else el_buf_putc(b, *s);
    }
    el_buf_putc(b, '\'');
}

typedef struct {
    const char *partition, *time, *gpus, *cpus;
    int32_t max_parallel, tasks;
    const char **extra;
    int32_t n_extra;
    bool no_wait;
} slurm_opts;

static char *trim(char *s) {
    while (*s == ' ' || *s == '\n' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = 0;
    return s;
}

/* Writes DIR/worker.sbatch and submits it as a job array; job_id receives the array's id. */
static int slurm_submit(const spawn_info *si, const el_sweep_row *row, const slurm_opts *o, char *job_id, size_t cap) {
    char *sbatch = find_on_path("sbatch");
    if (!sbatch)
        return el_err("--launcher slurm: no sbatch on PATH (install Slurm's client commands, e.g. Debian's "
                      "slurm-client, or load your cluster's Slurm module); nothing was submitted");
    el_buf b = {0};
    el_buf_printf(&b, "#!/bin/sh\n# made by emolab sweep for sweep %s: one emolab worker per array task\n", row->id);
    el_buf_printf(&b, "#SBATCH --job-name=emolab-%s\n#SBATCH --output=%s/logs/%%A_%%a.log\n", row->name, si->dir);
    if (o->cpus) el_buf_printf(&b, "#SBATCH --cpus-per-task=%s\n", o->cpus);
    if (o->gpus) el_buf_printf(&b, "#SBATCH --gpus-per-task=%s\n", o->gpus);
    if (o->partition) el_buf_printf(&b, "#SBATCH --partition=%s\n", o->partition);
    if (o->time) el_buf_printf(&b, "#SBATCH --time=%s\n", o->time);
    /* the controller's working directory: relative paths (data root, experiments) mean the same */
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "%s", si->dir);
    el_buf_puts(&b, "cd ");
    sh_quote(&b, cwd);
    el_buf_puts(&b, " || exit 1\nexec ");
    sh_quote(&b, si->exe);
    el_buf_puts(&b, " worker --sweep-dir ");
    sh_quote(&b, si->dir);
    el_buf_puts(&b, " --file ");
    sh_quote(&b, si->file);
    el_buf_printf(&b, " --job \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\" --threads %s --lease %g --max-retries %d",
                  o->cpus ? o->cpus : "1", si->lease_s, (int)si->max_lost);
    if (si->exp_dir) {
        el_buf_puts(&b, " --experiments ");
        sh_quote(&b, si->exp_dir);
    }
    if (si->data_root) {
        el_buf_puts(&b, " --data-root ");
        sh_quote(&b, si->data_root);
    }
    if (si->rerun) el_buf_puts(&b, " --rerun");
    if (!si->save_checkpoint) el_buf_puts(&b, " --no-checkpoint");
    el_buf_puts(&b, "\n");
    char *script = el_path_join(si->dir, "worker.sbatch");
    int rc = el_write_file_atomic(script, b.s, b.len);
    el_buf_free(&b);
    if (rc) {
        free(script);
        free(sbatch);
        return EL_ERR;
    }
    char array[64];
    if (o->max_parallel > 0) snprintf(array, sizeof array, "--array=0-%d%%%d", (int)o->tasks - 1, (int)o->max_parallel);
    else snprintf(array, sizeof array, "--array=0-%d", (int)o->tasks - 1);
    const char **argv = xcalloc((size_t)o->n_extra + 8, sizeof *argv);
    int n = 0;
    argv[n++] = sbatch;
    argv[n++] = "--parsable";
    argv[n++] = array;
    for (int32_t i = 0; i < o->n_extra; i++) argv[n++] = o->extra[i];
    argv[n++] = script;
    argv[n] = NULL;
    char *out, *err;
    int st = run_capture(argv, 120, &out, &err);
    free(argv);
    if (st != 0) {
        rc = el_err("--launcher slurm: sbatch %s: %s%s\n(the sweep %s is recorded with its trials pending: fix the "
                    "cause and run `emolab sweep --sweep-id %s --launcher slurm`)",
                    st == 124 ? "did not answer within 120 s" : st < 0 ? "could not be started" : "refused the job array",
                    st == 124 ? "" : "Slurm says: ", st == 124 ? "" : trim(err), row->id, row->id);
    } else {
        char *t = trim(out);
        t[strcspn(t, ";\n")] = 0; /* --parsable: JOBID[;CLUSTER] */
        snprintf(job_id, cap, "%s", t);
        if (!*job_id) rc = el_err("--launcher slurm: sbatch printed no job id (it said: %s %s)", out, err);
    }
    free(out);
    free(err);
    free(script);
    free(sbatch);
    return rc;
}

/* Array tasks of a job still pending or running (squeue); -1 when squeue cannot tell. */
static int slurm_active_tasks(const char *job_id, char *why, size_t cap) {
    char *squeue = find_on_path("squeue");
    if (!squeue) {
        snprintf(why, cap, "no squeue on PATH");
        return -1;
    }
    const char *argv[] = {squeue, "-h", "-j", job_id, "-o", "%i %T", NULL};
    char *out, *err;
    int st = run_capture(argv, 30, &out, &err);
    free(squeue);
    int n = -1;
    if (st == 0) {
        n = 0;
        for (char *p = out; *p; p++)
            if (*p == '\n') n++;
    } else if (strstr(err, "Invalid job id")) {
        n = 0; /* the job left the controller's memory: it ended */
    } else {
        snprintf(why, cap, "squeue: %s", st == 124 ? "no answer within 30 s" : trim(err));
    }
    free(out);
    free(err);
    return n;
}

static int slurm_cancel(const char *job_id) {
    char *scancel = find_on_path("scancel");
    if (!scancel) return EL_ERR;
    const char *argv[] = {scancel, job_id, NULL};
    char *out, *err;
    int st = run_capture(argv, 30, &out, &err);
    free(out);
    free(err);
    free(scancel);
    return st == 0 ? EL_OK : EL_ERR;
}

static int slurm_controller(el_registry **regp, const el_sweep_row *row, spawn_info *si, const slurm_opts *o,
                            volatile sig_atomic_t *stop) {
    progress pr = {.t0 = el_now()};
    const char *pe = getenv("EMOLAB_PROGRESS");
    pr.tty = isatty(fileno(stderr)) || el_streq(pe, "1");
    pr.quiet = el_streq(pe, "0");
    el_sweep_counts c;
    if (refresh(*regp, row, si->dir, &c)) return -1;
    pr.final0 = c.done + c.failed + c.stopped;
    pr.reused0 = c.reused;
    if (c.done + c.failed + c.stopped >= c.n_trials) {
        progress_draw(&pr, row, &c, true);
        return finish(*regp, row, &c, false, si->log_dir);
    }
    char job[128];
    if (slurm_submit(si, row, o, job, sizeof job)) return -1;
    char *jobs_file = el_path_join(si->dir, "jobs.txt");
    FILE *jf = fopen(jobs_file, "a");
    if (jf) {
        char now[32];
        el_iso_time(now);
        fprintf(jf, "%s %s %d task(s)\n", now, job, (int)o->tasks);
        fclose(jf);
    }
    free(jobs_file);
    fprintf(stderr, "submitted job array %s: %d task(s)%s, each one `emolab worker`; logs in %s/logs/\n", job,
            (int)o->tasks, o->max_parallel > 0 ? " (at most that many at once: --max-parallel)" : "", si->dir);
    if (o->no_wait) {
        printf("sweep %s: job array %s submitted; emolab sweep --sweep-id %s --status (or --collect) later\n", row->id,
               job, row->id);
        return 0;
    }
    double last_q = 0;
    int gone_rounds = 0;
    bool cancelled = false;
    for (;;) {
        if (refresh(*regp, row, si->dir, &c) == EL_OK) progress_draw(&pr, row, &c, false);
        if (c.done + c.failed + c.stopped >= c.n_trials) break;
        if (*stop && !cancelled) { /* Ctrl-C: the workers get SIGTERM and give their trials back */
            if (pr.tty && pr.drawn) fprintf(stderr, "\r\033[K");
            fprintf(stderr, "emolab sweep: cancelling job array %s\n", job);
            slurm_cancel(job);
            cancelled = true;
        }
        if (el_now() - last_q >= (cancelled ? 1.0 : 5.0)) {
            char why[512] = "";
            int active = slurm_active_tasks(job, why, sizeof why);
            last_q = el_now();
            if (active < 0) {
                if (pr.tty && pr.drawn) fprintf(stderr, "\r\033[K");
                fprintf(stderr, "emolab sweep: warning: cannot ask Slurm about job %s (%s); watching the sweep "
                                "directory\n", job, why);
            } else if (active == 0 && ++gone_rounds >= 2) {
                break; /* the array ended; what its workers left is collected below */
            }
        }
        if (cancelled && el_now() - last_q > 60) break;
        sleep_s(0.5);
    }
    refresh(*regp, row, si->dir, &c);
    progress_draw(&pr, row, &c, true);
    /* tasks still queued have nothing left to do */
    if (!cancelled && c.done + c.failed + c.stopped >= c.n_trials && slurm_active_tasks(job, (char[8]){0}, 8) > 0)
        slurm_cancel(job);
    return finish(*regp, row, &c, *stop, si->log_dir);
}

/* ---- emolab sweep --------------------------------------------------------------------------------- */
int cmd_sweep(int argc, char **argv) {
    const char *file = NULL, *reg_opt = NULL, *exp_dir = NULL, *data_root = NULL, *sweep_id = NULL;
    const char *launcher = "local", *sweep_dir_opt = NULL;
    int32_t jobs = 0, threads = 0, max_lost = 3;
    double lease_s = 0;
    bool rerun = false, resume = false, dry = false, status = false, save = true, collect = false;
    slurm_opts so = {0};
    so.extra = xcalloc((size_t)argc + 1, sizeof(char *));
    int code = 0;
#define USAGE_ERROR(...)                                                                                               \
    do {                                                                                                               \
        fprintf(stderr, "emolab sweep: " __VA_ARGS__);                                                                 \
        free(so.extra);                                                                                                \
        return 2;                                                                                                      \
    } while (0)
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t v;
        double d;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            sweep_usage(stdout);
            free(so.extra);
            return 0;
        } else if ((!strcmp(a, "-j") || !strcmp(a, "--jobs")) && next) {
            if (el_parse_i64(argv[++i], &v) != 0 || v < 1 || v > MAX_JOBS)
                USAGE_ERROR("%s wants a number of workers from 1 to %d, got '%s'\n", a, MAX_JOBS, argv[i]);
            jobs = (int32_t)v;
        } else if (!strncmp(a, "-j", 2) && a[2] && el_parse_i64(a + 2, &v) == 0 && v >= 1 && v <= MAX_JOBS) {
            jobs = (int32_t)v;
        } else if (!strcmp(a, "--threads") && next) {
            if (el_parse_i64(argv[++i], &v) != 0 || v < 1 || v > 1024) USAGE_ERROR("--threads wants a number from 1 to 1024\n");
            threads = (int32_t)v;
        } else if (!strcmp(a, "--max-retries") && next) {
            if (el_parse_i64(argv[++i], &v) != 0 || v < 0 || v > 999)
                USAGE_ERROR("--max-retries wants a number from 0 (never give up) to 999\n");
            max_lost = (int32_t)v;
        } else if (!strcmp(a, "--lease") && next) {
            if (el_parse_double(argv[++i], &d) != 0 || d <= 0) USAGE_ERROR("--lease wants seconds > 0\n");
            lease_s = d;
        } else if (!strcmp(a, "--launcher") && next) {
            launcher = argv[++i];
            if (strcmp(launcher, "local") && strcmp(launcher, "slurm"))
                USAGE_ERROR("--launcher %s: use local (worker processes here, the default) or slurm (a job array)\n", launcher);
        } else if (!strcmp(a, "--max-parallel") && next) {
            if (el_parse_i64(argv[++i], &v) != 0 || v < 1 || v > 100000) USAGE_ERROR("--max-parallel wants a number >= 1\n");
            so.max_parallel = (int32_t)v;
        } else if ((!strcmp(a, "--cpus-per-trial") || !strcmp(a, "--gpus-per-trial")) && next) {
            if (el_parse_i64(argv[++i], &v) != 0 || v < (a[2] == 'g' ? 0 : 1) || v > 1024)
                USAGE_ERROR("%s wants a number, got '%s'\n", a, argv[i]);
            if (a[2] == 'c') so.cpus = argv[i];
            else so.gpus = argv[i];
        } else if (!strcmp(a, "--partition") && next) {
            so.partition = argv[++i];
        } else if (!strcmp(a, "--time") && next) {
            so.time = argv[++i];
        } else if (!strcmp(a, "--sbatch-arg") && next) {
            so.extra[so.n_extra++] = argv[++i];
        } else if (!strncmp(a, "--sbatch-arg=", 13)) {
            so.extra[so.n_extra++] = a + 13;
        } else if (!strcmp(a, "--sweep-dir") && next) {
            sweep_dir_opt = argv[++i];
        } else if (!strcmp(a, "--no-wait")) {
            so.no_wait = true;
        } else if (!strcmp(a, "--collect")) {
            collect = true;
        } else if (!strcmp(a, "--registry") && next) {
            reg_opt = argv[++i];
        } else if (!strcmp(a, "--experiments") && next) {
            exp_dir = argv[++i];
        } else if (!strcmp(a, "--data-root") && next) {
            data_root = argv[++i];
        } else if (!strcmp(a, "--sweep-id") && next) {
            sweep_id = argv[++i];
        } else if (!strcmp(a, "--rerun")) {
            rerun = true;
        } else if (!strcmp(a, "--resume")) {
            resume = true;
        } else if (!strcmp(a, "--dry-run")) {
            dry = true;
        } else if (!strcmp(a, "--status")) {
            status = true;
        } else if (!strcmp(a, "--no-checkpoint")) {
            save = false;
        } else if (a[0] == '-') {
            USAGE_ERROR("unknown option or missing value: %s (emolab sweep --help)\n", a);
        } else if (!file) {
            file = a;
        } else {
            USAGE_ERROR("one sweep file at a time (got %s and %s)\n", file, a);
        }
    }
    bool slurm = !strcmp(launcher, "slurm");
    const char *reg_path = el_registry_default_path(reg_opt);
    if (status && !file && !sweep_id) {
        el_registry *reg = el_registry_open(reg_path, true);
        if (!reg) {
            fprintf(stderr, "emolab sweep: %s\n", el_last_error());
            free(so.extra);
            return 1;
        }
        int rc = list_sweeps(reg);
        el_registry_close(reg);
        free(so.extra);
        return rc;
    }
    if (!file && !sweep_id) {
        sweep_usage(stderr);
        free(so.extra);
        return 2;
    }
    if (resume && sweep_id) USAGE_ERROR("give --resume (the latest sweep of FILE) or --sweep-id ID, not both\n");
    if (dry && !file) USAGE_ERROR("--dry-run needs the sweep file\n");
    if (!slurm && (so.partition || so.time || so.gpus || so.cpus || so.max_parallel || so.n_extra || so.no_wait))
        USAGE_ERROR("--partition, --time, --gpus-per-trial, --cpus-per-trial, --max-parallel, --sbatch-arg and "
                    "--no-wait go with --launcher slurm\n");
    char *sbatch = slurm && !dry && !status && !collect ? find_on_path("sbatch") : NULL;
    if (slurm && !dry && !status && !collect && !sbatch) {
        fprintf(stderr, "emolab sweep: --launcher slurm: no sbatch on PATH (install Slurm's client commands, e.g. "
                        "Debian's slurm-client, or load your cluster's Slurm module); nothing was started\n");
        free(so.extra);
        return 1;
    }
    free(sbatch);

    /* the sweep file, validated before anything starts */
    el_registry *reg = NULL;
    el_sweep_row row = {0};
    char id[EL_SWEEP_ID_MAX] = "";
    el_sweep s;
    memset(&s, 0, sizeof s);
    bool have_s = false;
    if (!file) { /* --sweep-id alone: the file recorded with the sweep */
        /* read-write: --status consolidates a sweep directory first (read-only when not allowed) */
        reg = el_registry_open(reg_path, false);
        if (!reg && status) reg = el_registry_open(reg_path, true);
        if (!reg) {
            fprintf(stderr, "emolab sweep: %s\n", el_last_error());
            free(so.extra);
            return 1;
        }
        int f = el_sweep_row_get(reg, sweep_id, &row);
        if (f != 1) {
            fprintf(stderr, "emolab sweep: %s\n", f == 0 ? "no such sweep (emolab sweep --status lists them)"
                                                         : el_last_error());
            el_registry_close(reg);
            free(so.extra);
            return f == 0 ? 2 : 1;
        }
        file = row.file;
    }
    if (el_sweep_load(file, &s) != EL_OK) {
        fprintf(stderr, "emolab sweep: %s\n", el_last_error());
        if (!row.id) fprintf(stderr, "emolab sweep: nothing was started\n");
        code = 2;
        goto done;
    }
    have_s = true;
    if (dry) {
        code = dry_run(&s, reg_path, rerun);
        goto done;
    }
    char def_hash[65];
    free(el_sweep_definition(&s, def_hash));
    if (!reg) {
        reg = el_registry_open(reg_path, false);
        if (!reg && status) reg = el_registry_open(reg_path, true);
        if (!reg) {
            fprintf(stderr, "emolab sweep: %s\n", el_last_error());
            code = 1;
            goto done;
        }
    }
    const char *exp = exp_dir ? exp_dir : el_env("EMOLAB_EXPERIMENTS", "experiments");
    if (sweep_id || resume || status || collect) {
        if (!row.id) {
            int f = sweep_id ? el_sweep_row_get(reg, sweep_id, &row) : el_sweep_find_latest(reg, def_hash, id);
            if (f == 1 && !sweep_id) f = el_sweep_row_get(reg, id, &row);
            if (f != 1) {
                if (f == 0 && sweep_id)
                    fprintf(stderr, "emolab sweep: no sweep %s in %s (emolab sweep --status lists them)\n", sweep_id, reg_path);
                else if (f == 0 && (status || collect))
                    fprintf(stderr, "emolab sweep: no sweep of %s in %s yet\n", file, reg_path);
                else if (f == 0)
                    fprintf(stderr, "emolab sweep: no sweep of %s in %s to resume (this file, as it is now, never ran "
                                    "there; emolab sweep --status lists the sweeps): run it without --resume to start it\n",
                            file, reg_path);
                else
                    fprintf(stderr, "emolab sweep: %s\n", el_last_error());
                code = f == 0 ? 2 : 1;
                goto done;
            }
        }
        if (strcmp(row.definition_hash, def_hash) != 0) {
            fprintf(stderr, "emolab sweep: %s does not define sweep %s any more (the file or its base spec changed "
                            "since the sweep started): restore them, or start a new sweep without --resume/--sweep-id\n",
                    file, row.id);
            code = 2;
            goto done;
        }
        if (status || collect) { /* a sweep directory is consolidated first: its claims and results */
            el_collect_stats cs = {0};
            if (row.dir && el_sweep_dir_collect(reg, row.dir, row.id, &cs)) {
                fprintf(stderr, "emolab sweep: %s%s\n", el_last_error(),
                        collect ? "" : " (showing what the registry knows)");
                if (collect) {
                    code = 1;
                    goto done;
                }
            }
            if (collect)
                printf("sweep %s: %lld result(s) read from %s, %lld run(s) imported\n", row.id, (long long)cs.collected,
                       row.dir ? row.dir : "(no sweep directory: everything is in the registry already)",
                       (long long)cs.runs_imported);
            code = status ? show_status(reg, row.id) : 0;
            goto done;
        }
        if (slurm && !row.dir) {
            fprintf(stderr, "emolab sweep: sweep %s runs in the registry (it was started without a sweep directory): "
                            "resume it without --launcher slurm\n", row.id);
            code = 2;
            goto done;
        }
        int freed = row.dir ? el_sweep_dir_recover(row.dir, NULL, false)
                            : el_sweep_recover(reg, row.id, max_lost, false);
        if (freed < 0) {
            fprintf(stderr, "emolab sweep: %s\n", el_last_error());
            code = 1;
            goto done;
        }
        fprintf(stderr, "resuming sweep %s%s", row.id, freed ? "" : "\n");
        if (freed) fprintf(stderr, ": %d interrupted trial(s) start again\n", freed);
    } else {
        char prev[EL_SWEEP_ID_MAX];
        if (el_sweep_find_latest(reg, def_hash, prev) == 1) {
            el_sweep_counts pc;
            el_sweep_row pr;
            if (el_sweep_row_get(reg, prev, &pr) == 1) {
                if (el_sweep_counts_get(reg, prev, pr.metric, pr.maximize, &pc) == EL_OK &&
                    pc.done + pc.failed + pc.stopped < pc.n_trials)
                    fprintf(stderr, "note: sweep %s of this file is unfinished; --resume continues it (this starts a new "
                                    "sweep that reuses its finished runs)\n", prev);
                el_sweep_row_free(&pr);
            }
        }
        char *abs = realpath(file, NULL);
        const el_node *owner = el_node_get(s.base, "owner");
        int64_t n_reused = 0;
        el_sweep_new_id(&s, id);
        char *dir = NULL;
        if (slurm || sweep_dir_opt) { /* a sweep directory, on storage every worker sees */
            char *base = sweep_dir_opt ? xstrdup(sweep_dir_opt) : el_path_join(exp, "sweeps");
            char *d = el_path_join(base, id);
            el_mkdirs(d, 0755);
            dir = realpath(d, NULL);
            if (!dir) dir = xstrdup(d);
            free(d);
            free(base);
        }
        int rc = el_sweep_create_new(reg, &s, abs ? abs : file, rerun,
                                     owner && owner->kind == EL_NODE_SCALAR ? owner->scalar : NULL, dir, id, &n_reused);
        free(abs);
        free(dir);
        if (rc || el_sweep_row_get(reg, id, &row) != 1) {
            fprintf(stderr, "emolab sweep: %s\n", el_last_error());
            code = 1;
            goto done;
        }
        fprintf(stderr, "sweep %s: %lld trial(s)%s", id, (long long)s.n_trials, n_reused ? "" : "\n");
        if (n_reused) fprintf(stderr, ", %lld reused from earlier runs with the same config\n", (long long)n_reused);
    }
    if (row.dir && el_sweep_dir_create(row.dir, reg, row.id, reg_path)) {
        fprintf(stderr, "emolab sweep: %s\n", el_last_error());
        code = 1;
        goto done;
    }
    {
        spawn_info si = {.reg_path = reg_path, .sweep_id = row.id, .file = row.file, .exp_dir = exp_dir,
                         .data_root = data_root, .dir = row.dir, .max_lost = max_lost,
                         .lease_s = lease_s > 0 ? lease_s : row.dir ? 120.0 : EL_SWEEP_DEFAULT_LEASE_S, .rerun = rerun,
                         .save_checkpoint = save};
        ssize_t n = readlink("/proc/self/exe", si.exe, sizeof si.exe - 1);
        if (n <= 0) {
            fprintf(stderr, "emolab sweep: cannot find this program (/proc/self/exe): %s\n", strerror(errno));
            code = 1;
            goto done;
        }
        si.exe[n] = 0;
        char *log_dir = row.dir ? el_path_join(row.dir, "logs") : NULL;
        if (!log_dir) {
            char *sub = el_printf("sweeps/%s", row.id);
            log_dir = el_path_join(exp, sub);
            free(sub);
        }
        if (el_mkdirs(log_dir, 0755) != 0) {
            fprintf(stderr, "emolab sweep: cannot create the log directory %s: %s\n", log_dir, el_last_error());
            free(log_dir);
            code = 1;
            goto done;
        }
        si.log_dir = log_dir;
        static volatile sig_atomic_t stop;
        el_install_stop_handlers(&stop);
        if (slurm) {
            el_sweep_counts c0;
            int64_t left = el_sweep_counts_get(reg, row.id, row.metric, row.maximize, &c0) == EL_OK
                               ? c0.n_trials - c0.done - c0.failed - c0.stopped
                               : 1;
            so.tasks = jobs > 0 ? jobs : (int32_t)(left < 8 ? (left > 0 ? left : 1) : 8);
            fprintf(stderr, "sweep directory %s\n", row.dir);
            code = slurm_controller(&reg, &row, &si, &so, &stop);
        } else {
            int32_t cores = usable_cores();
            if (jobs <= 0) jobs = 1;
            si.threads = threads > 0 ? threads : (cores / jobs > 0 ? cores / jobs : 1);
            fprintf(stderr, "%d worker(s), %d libtorch thread(s) each (%d core(s)); logs in %s/%s\n", (int)jobs,
                    (int)si.threads, (int)cores, log_dir, row.dir ? " (sweep directory store)" : "");
            code = run_controller(&reg, &row, &si, jobs, &stop);
        }
        if (code < 0) {
            fprintf(stderr, "emolab sweep: %s\n", el_last_error());
            code = 1;
        }
        free(log_dir);
    }
done:
    if (file == row.file) file = NULL;
    el_sweep_row_free(&row);
    if (have_s) el_sweep_free(&s);
    el_registry_close(reg);
    free(so.extra);
    return code;
#undef USAGE_ERROR
}
