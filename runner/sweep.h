/* sweep.h: running sweeps (issue #5): a sweep file's trials recorded in the registry, taken by
 * worker processes through atomic claims, early-terminated by hyperband, resumable after a crash,
 * with live progress. sweep_spec.h turns the file into trials; this file runs them.
 *
 *   controller (emolab sweep FILE -j N)          workers (emolab worker --sweep-id ID), N of them
 *   ---------------------------------------      ----------------------------------------------
 *   load + validate the sweep (exit 2 on error)  load the sweep file, check it is the same sweep
 *   create the sweep: every trial a row          loop: claim the lowest pending trial
 *     (grid/random; bayes makes them on claim)         (one BEGIN IMMEDIATE transaction)
 *     reuse: a finished run with the trial's          reuse, or el_run_spec (tagged with the
 *     config hash marks it done, unless --rerun        sweep id, libtorch threads = cores / N)
 *   or --resume: find it, free dead claims            hyperband at the rungs -> stopped
 *   start N workers, redraw progress, respawn         record done | failed | stopped
 *   workers that die, wait, summarise                until nothing is left to claim
 *
 * Claims and leases: see registry.h (el_sweep_claim). A worker on this host that dies (kill -9,
 * crash, OOM) gives its trial back as soon as anyone claims or the sweep resumes (its pid is gone);
 * a worker on another host gives it back when its lease expires (a heartbeat thread renews it).
 */
#ifndef EL_SWEEP_H
#define EL_SWEEP_H

#include "registry.h"
#include "sweep_spec.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define EL_SWEEP_ID_MAX 160
#define EL_HB_MAX_RUNGS 32

/* What a sweep is, as canonical JSON (method, metric, parameters, seeds, sampler seed, run cap,
 * early termination, the base spec without name/owner/notes): comments, key order and the file's
 * location do not change it. hash receives its sha256. malloc'd. */
char *el_sweep_definition(const el_sweep *s, char hash[65]);

/* Hyperband rungs (epochs at which trials are compared) for a trial of `epochs` epochs, W&B's
 * semantics: min_iter * eta^k (k = 0, 1, ...) or, given max_iter and s, max_iter / eta^k (k = s..1);
 * only rungs before the last epoch. Returns how many (0 without early_terminate). */
int32_t el_hyperband_rungs(const el_sweep *s, int32_t epochs, int32_t *rungs, int32_t max);
/* The rung decision. values: the metric of every trial that reached the rung, `mine` among them.
 * The best ceil(n / eta) go on; a trial with at least that many strictly better values stops.
 * *keep, *rank (trials strictly better than mine) and *cutoff (the worst value still kept) are
 * set when not NULL. Returns true = stop. NaN mine never stops (the run fails on its own). */
bool el_hyperband_should_stop(double mine, const double *values, int32_t n, double eta, bool maximize,
                              int32_t *keep, int32_t *rank, double *cutoff);

typedef struct {
    int64_t n_trials;             /* the sweep's trials (bayes: run_cap) */
    int64_t rows;                 /* trials that exist (bayes makes them on claim) */
    int64_t pending, claimed, done, reused, failed, stopped;
    int64_t best_idx;             /* -1 when no trial is done */
    double best;
    char best_run[37];
} el_sweep_counts;
int el_sweep_counts_get(el_registry *r, const char *sweep_id, const char *metric, bool maximize,
                        el_sweep_counts *c);

typedef struct {
    const char *registry;         /* registry path (with sweep_id; not with sweep_dir) */
    const char *sweep_id;
    const char *sweep_dir;        /* a sweep directory (sweep_dir.c) instead of the registry */
    const char *host;             /* the host name claims carry (NULL: this host's) */
    const char *file;             /* the sweep file; NULL = the path recorded with the sweep */
    const char *experiments_dir;  /* run outputs (NULL = $EMOLAB_EXPERIMENTS or ./experiments) */
    const char *data_root;        /* NULL = the spec's / $EMOLAB_DATA */
    const char *job;              /* scheduler job id recorded with claims (NULL locally) */
    int32_t threads;              /* libtorch threads when the spec says 0 (0 = all cores) */
    bool rerun;                   /* train even when a finished run has the trial's config */
    bool save_checkpoint;         /* default true */
    double lease_s;               /* claim lease (default EL_SWEEP_DEFAULT_LEASE_S) */
    int32_t max_lost;             /* a trial whose worker died this often fails (default 3) */
    volatile sig_atomic_t *stop;  /* set by a signal: the current run ends as interrupted */
} el_worker_params;
el_worker_params el_worker_default_params(void);

/* Claims and runs trials until none is left, the stop flag is set, or an error. Returns 0 when
 * nothing is left, 130 when stopped by a signal, 1 on an error (el_last_error()). */
int el_sweep_worker(const el_worker_params *p);

/* ---- trial stores: where claims, results and runs live ------------------------------------------
 * The worker loop is the same for every launcher; the store decides where things go:
 *  - registry (local sweeps, `-j N`): claims and results in sweep_trials, runs in the registry;
 *  - dir (Slurm, any machines sharing a filesystem; sweep_dir.c): claims and results are files of
 *    a sweep directory, each trial's run a one-run registry file of its own, consolidated into the
 *    registry by the controller (el_sweep_dir_collect). */
typedef struct el_trial_store el_trial_store;
struct el_trial_store {
    const char *kind;
    int (*claim)(el_trial_store *st, el_trial_claim *out);                            /* 1, 0 none left, -1 */
    int (*complete)(el_trial_store *st, const el_trial_claim *c, const el_trial_result *r); /* 1, 0 lost, -1 */
    int (*release)(el_trial_store *st, const el_trial_claim *c, const char *why);
    int (*heartbeat)(el_trial_store *st, int64_t idx, const char *token); /* heartbeat thread; 1, 0 lost, -1 */
    el_registry *(*run_registry)(el_trial_store *st, const el_trial_claim *c);         /* where the run goes */
    void (*run_registry_done)(el_trial_store *st, el_registry *r);
    /* hyperband: the metric (epochs column `col`) at `epoch` of every trial that reached it */
    int (*rung_values)(el_trial_store *st, el_registry *run_reg, const char *run_uuid, int64_t idx, int32_t epoch,
                       const char *col, double **vals, int32_t *n, double *mine);
    /* a final run of this trial recorded before its worker died; 1 = found (res, uuid filled) */
    int (*find_own)(el_trial_store *st, const el_trial_claim *c, const el_spec *spec, el_trial_result *res,
                    char uuid[37]);
    /* an earlier run with the trial's config to reuse; 1 = found */
    int (*find_reusable)(el_trial_store *st, const el_spec *spec, el_trial_result *res, char uuid[37]);
    void (*free)(el_trial_store *st);
};
el_trial_store *el_store_registry(el_registry *reg, const char *registry_path, const char *sweep_id,
                                  const el_sweep *s, const el_worker_params *p);
el_trial_store *el_store_dir(const char *dir, const char *sweep_id, const el_sweep *s, const el_worker_params *p);

/* Bayes trials made when claimed: the finished ones as the model sees them. */
typedef struct {
    const char *param_values; /* JSON array */
    double metric;
    bool failed;
} el_sweep_seen;
/* Trial idx: another seed of a configuration takes first_seed_values (the values of trial
 * idx - idx % n_seeds); a new configuration is suggested by the TPE model from `seen`. Fills out
 * (config_hash, seed, assignment, param_values). */
int el_sweep_bayes_trial(const el_sweep *s, int64_t idx, const char *first_seed_values, const el_sweep_seen *seen,
                         int32_t n_seen, el_trial_claim *out);

/* ---- sweep directories (sweep_dir.c) ------------------------------------------------------------ */
typedef struct {
    char *id, *file, *definition_hash, *registry;
    char *method, *metric;
    bool maximize;
    int64_t n_trials;
} el_sweep_dir_info;
int el_sweep_dir_read_info(const char *dir, el_sweep_dir_info *out);
void el_sweep_dir_info_free(el_sweep_dir_info *di);
/* Makes (or completes: idempotent) the sweep directory of a sweep recorded in the registry: its
 * layout, sweep.json, every trial, and the results of trials already final (reused ones). */
int el_sweep_dir_create(const char *dir, el_registry *reg, const char *sweep_id, const char *registry_path);
/* Moves aside the claims of dead holders (host: the identity to check pids for, NULL = this
 * host's); count_lost = false when the whole sweep was stopped and is resumed. Returns how many. */
int el_sweep_dir_recover(const char *dir, const char *host, bool count_lost);
typedef struct {
    int64_t collected;     /* results read this time */
    int64_t runs_imported; /* runs copied into the registry */
    int64_t claimed, final;
} el_collect_stats;
/* Consolidates the directory into the registry: imports the runs of published results (from their
 * run files, idempotent by uuid) and records every trial's state (done/failed/stopped, claimed by
 * whom, pending). Idempotent: run it as often as wanted. */
int el_sweep_dir_collect(el_registry *reg, const char *dir, const char *sweep_id, el_collect_stats *out);

/* ---- shared by sweep.c and sweep_cmd.c ----------------------------------------------------------- */
const char *el_sweep_method_name(el_sweep_method m);
/* The epochs-table column of a sweep metric; NULL when unknown. */
const char *el_sweep_metric_column(const char *metric);
/* Trial idx: its seed (-1 = the base spec's), its configuration, its values (grid/random:
 * regenerated from the index), its validated spec. */
int64_t el_sweep_trial_seed(const el_sweep *s, int64_t idx);
int64_t el_sweep_trial_config(const el_sweep *s, int64_t idx);
int el_sweep_trial_values(const el_sweep *s, int64_t idx, el_node **values);
int el_sweep_trial_spec(const el_sweep *s, int64_t idx, el_node *const *values, el_spec *spec);
void el_sweep_values_free(const el_sweep *s, el_node **values);
/* Values as recorded in sweep_trials.param_values (a JSON array) and back. */
char *el_sweep_values_json(const el_sweep *s, el_node *const *values);
int el_sweep_values_parse(const el_sweep *s, const char *json, el_node **values);
char *el_sweep_assignment_json(const el_sweep *s, el_node *const *values, int64_t seed);

/* A run to reuse for a config hash: the latest finished one (or stopped, when include_stopped).
 * 1 found, 0 none, -1 error. */
int el_sweep_find_reusable(el_registry *r, const char *config_hash, bool include_stopped, char uuid[37],
                           char status[16]);
/* A run's value of a sweep metric (val F1 scores at its best epoch, or its best epoch's val loss). */
int el_sweep_run_metric(el_registry *r, const char *uuid, const char *metric, double *value, int32_t *epochs);

typedef struct {
    char *id, *name, *file, *definition_hash, *method, *metric, *created, *host;
    char *dir;                   /* the sweep directory; NULL when the trials live in the registry */
    bool maximize;
    int64_t n_trials;
} el_sweep_row;
/* 1 found, 0 no such sweep, -1 error. */
int el_sweep_row_get(el_registry *r, const char *sweep_id, el_sweep_row *out);
void el_sweep_row_free(el_sweep_row *row);
/* The most recent sweep with this definition hash: 1 found (id filled), 0 none, -1 error. */
int el_sweep_find_latest(el_registry *r, const char *definition_hash, char id[EL_SWEEP_ID_MAX]);

/* A new sweep id: NAME-YYYYMMDD-HHMMSS-XXXX. */
void el_sweep_new_id(const el_sweep *s, char id[EL_SWEEP_ID_MAX]);
/* Creates a new sweep in the registry: every trial of a grid/random sweep as a row (bayes: none
 * yet), trials whose config hash has a finished run (or stopped, with hyperband) recorded as done
 * with it unless rerun. file_abs: the sweep file's absolute path; dir: its sweep directory (NULL:
 * none). id: given (id[0] != 0) or made. */
int el_sweep_create_new(el_registry *r, const el_sweep *s, const char *file_abs, bool rerun, const char *owner,
                        const char *dir, char id[EL_SWEEP_ID_MAX], int64_t *n_reused);

#endif /* EL_SWEEP_H */
