/* registry.h: the SQLite registry of runs (schema in registry.db.sql, applied and versioned
 * here; migrations forward-only).
 *
 * Plain SQLite anyone can query with the sqlite3 shell. WAL mode, busy timeout (30 s), one
 * transaction per write (BEGIN IMMEDIATE, retried while another process holds the lock).
 * synchronous=NORMAL for progress writes (in WAL mode a kill -9 never loses a commit; only a power
 * loss can drop the last ones) and FULL for the commit of el_run_finish, so that a finished run
 * survives a power loss as well.
 *
 * A run is inserted as `running` when it starts (with pid, the process start time, boot id and
 * host); when emolab opens the registry read-write it marks `interrupted` every `running` run of
 * this host whose process no longer exists (or whose pid now belongs to another process).
 *
 * Statuses: running -> finished | failed | stopped | interrupted. finished, failed and stopped are
 * final: every later write to such a run returns an error (and schema triggers refuse it from any
 * SQL client too). An `interrupted` run may still be completed by the process that owns it
 * (when it was marked by mistake, e.g. a pid namespace the recovering process cannot see).
 *
 * One el_registry per process and thread: open it in each worker (never carry an open registry
 * across fork()); every process may write concurrently, SQLite serialises the transactions.
 *
 * Errors name the registry path and say what to do. Functions return 0 (or a count) on success,
 * -1 with el_last_error() on failure; bad arguments are errors, never crashes.
 *
 * Copying a finished run into another registry (merge): insert the runs row with status
 * 'running', then its rows, then UPDATE the status, all in one transaction (the triggers refuse
 * rows added to a run that is already final).
 */
#ifndef EL_REGISTRY_H
#define EL_REGISTRY_H

#include "data.h"
#include "metrics.h"
#include <stdint.h>

typedef struct el_registry el_registry;

/* Opens (creating and migrating when read-write) the registry, then (read-write) marks the
 * runs of dead processes `interrupted`. Read-only opens never write and refuse a missing file, a
 * file that is not an emolab registry, a damaged one, or one whose schema version is newer (or
 * older: open it read-write once to upgrade it). Both refuse a non-emolab SQLite file that has
 * tables and a newer schema, leaving the file untouched. NULL + el_last_error() on failure. */
el_registry *el_registry_open(const char *path, bool readonly);
/* For a registry only this process writes, on a filesystem shared between machines (sweep shards):
 * no -shm file (SQLite's exclusive locking mode); the file stays locked while it is open. */
el_registry *el_registry_open_private(const char *path);
/* Before closing such a registry: back to a rollback journal, so that readers (on any machine) need
 * no WAL index. */
int el_registry_seal_private(el_registry *r);
void el_registry_close(el_registry *r);
int32_t el_registry_schema_version(el_registry *r);
const char *el_registry_path(el_registry *r);
/* The underlying handle for read queries by reports (never for writes outside registry.c). */
struct sqlite3 *el_registry_db(el_registry *r);
/* Default location: option when given, else $EMOLAB_REGISTRY, else ./registry.db */
const char *el_registry_default_path(const char *option);
/* The schema version this emolab writes, and the embedded registry.db.sql text. */
int32_t el_registry_latest_version(void);
const char *el_registry_schema_sql(void);
/* Marks `interrupted` every `running` run of this host whose process is gone (done by every
 * read-write open; sweeps may call it again). Returns the number of runs marked, or -1. */
int el_registry_recover(el_registry *r);
/* Lock wait for writes and reads (default 30000 ms). */
void el_registry_set_busy_timeout(el_registry *r, int32_t ms);

typedef struct {
    const char *name, *owner;
    const char *kind;         /* "single" | "ensemble" */
    const char *sweep_id;     /* NULL when not part of a sweep */
    const char *git_commit;   /* emolab's commit (with "-dirty" when the tree had changes) */
    const char *run_dir;      /* experiments/RUN_ID/ (may be NULL, then set with el_run_set_run_dir) */
    const char *spec_file;    /* the spec path as given */
    const char *config_json;  /* the fully resolved config, canonical JSON */
    const char *config_hash;  /* sha256 hex of the resolved config without name/owner/notes */
    int64_t seed;
    const char *data_variant; /* "orig" | "ext" | ... */
    /* flattened resolved parameters ("head.dropout" -> "0.85"), values as JSON text */
    const char *const *param_keys;
    const char *const *param_values;
    int32_t n_params;
} el_run_info;

/* Inserts the run as `running` with its resolved config, hash and params (one transaction).
 * name and config_hash are required, config_json must be valid JSON, each param value valid JSON
 * text; git_commit NULL means this build's commit. Writes the new uuid (v4, 36 chars + NUL). */
int el_run_begin(el_registry *r, const el_run_info *info, char uuid[37]);
/* Sets runs.run_dir once the directory is known (it usually contains the uuid); only while the
 * run is not final. */
int el_run_set_run_dir(el_registry *r, const char *uuid, const char *run_dir);
/* Data facts known after loading (fingerprints, rows, positives per label, per-source files and
 * counts); replaces what an earlier call recorded for the run. */
int el_run_set_data(el_registry *r, const char *uuid, const el_dataset *data);

typedef struct {
    int32_t epoch;            /* 1-based */
    double train_loss, val_loss;
    double val_weighted_f1, val_macro_f1, val_micro_f1; /* at the tuned thresholds */
    double lr;                /* at the end of the epoch */
    double seconds;           /* wall time of the epoch (training + validation) */
    double samples_per_s;
} el_epoch_row;
/* Records (or replaces) one epoch and raises runs.epochs_run to it. Non-finite values -> NULL. */
int el_run_epoch(el_registry *r, const char *uuid, const el_epoch_row *row);

typedef struct {
    const char *split;        /* "val" | "test" */
    const el_metrics *m;
} el_split_metrics;

typedef struct {
    const char *status;       /* "finished" | "failed" | "interrupted" | "stopped" */
    const char *error;        /* reason for failed/interrupted/stopped (NULL when finished) */
    int32_t best_epoch;
    int32_t epochs_run;
    const float *thresholds;  /* n_labels, NULL when none */
    int32_t n_labels;
    const char *const *label_names;
    const el_split_metrics *metrics; /* val and test when available */
    int32_t n_metrics;
    /* val F1 against one global threshold, for the report's threshold curve (may be NULL) */
    const float *thr_curve_x, *thr_curve_val_f1;
    int32_t n_thr_curve;
    double train_seconds;
} el_run_result;
/* Final state of the run, in one transaction: status, error, times, metrics per split, class
 * metrics, thresholds, threshold curve. Label names default to "0", "1", ... when NULL. Refused
 * (error) when the run is already finished, failed or stopped. epochs_run 0 keeps the count
 * el_run_epoch recorded. */
int el_run_finish(el_registry *r, const char *uuid, const el_run_result *res);
/* Records (or replaces) a file the run produced; only while the run is not final. */
int el_run_artifact(el_registry *r, const char *uuid, const char *kind, const char *path,
                    const char *sha256, int64_t bytes);

/* Finished run with the same config hash (for reuse by sweeps; the most recently finished one);
 * 1 found, 0 none, -1 error. Works on read-only registries too. */
int el_registry_find_finished(el_registry *r, const char *config_hash, char uuid[37]);
/* Current status of a run ("running", "finished", ...): 1 found, 0 no such run, -1 error. */
int el_run_get_status(el_registry *r, const char *uuid, char status[16]);

/* ---- resolving a run reference (emolab predict / ensemble) ---------------------------------
 * What a command needs to use a recorded run: its identity, state, outputs and checkpoint. */
typedef struct {
    char uuid[37];
    char *name, *kind, *status; /* kind "single" | "ensemble"; status as in runs.status */
    char *created;              /* ISO UTC time */
    char *run_dir;              /* NULL when none was recorded */
    char *config_json;          /* the resolved config (for ensembles: members, thresholds mode) */
    char *error;                /* runs.error (why it failed / was interrupted), NULL when none */
    char *checkpoint;           /* path of the newest `checkpoint` artifact, NULL when none */
    char checkpoint_sha256[65]; /* "" when the artifact has no hash */
    int64_t checkpoint_bytes;   /* -1 when unknown */
} el_run_ref;

/* Resolves `ref` to one run: a full uuid (any case), a uuid prefix, or a run name (exact).
 * All runs matching by prefix or by name are candidates; exactly one must match (a full uuid
 * always wins). 0 with *out filled, or -1 with a message: "no run matches 'x'" (with the most
 * recent runs as hints) or "'x' is ambiguous" listing the candidates (uuid, name, status,
 * created), telling to give more of the uuid. Works on read-only registries. Free with
 * el_run_ref_free. (Added for `emolab predict`: keep it minimal; reports may share it.) */
int el_registry_resolve_run(el_registry *r, const char *ref, el_run_ref *out);
void el_run_ref_free(el_run_ref *ref);

/* ---- sweeps (schema v2): trials, claims, leases -------------------------------------------------
 * A sweep's trials are rows of sweep_trials: pending -> claimed -> done | failed | stopped. A worker
 * takes the lowest pending trial with el_sweep_claim (one BEGIN IMMEDIATE transaction: no two
 * workers ever hold the same trial), runs it, and records the result with el_sweep_complete and the
 * claim's token. A claim whose holder is gone returns to pending at the next claim: on this host
 * when its pid no longer exists (or was reused, or the machine restarted), on another host when its
 * lease expired (holders renew it with el_sweep_heartbeat). */
#define EL_SWEEP_DEFAULT_LEASE_S 600.0

typedef struct {
    const char *id, *name, *file;
    const char *definition, *definition_hash; /* canonical JSON of the trials' source and its sha256 */
    const char *method, *metric, *owner;
    const char *dir;          /* the sweep directory (--launcher slurm), NULL: trials in the registry */
    bool maximize;
    int64_t n_trials;
} el_reg_sweep;

typedef struct {
    int64_t idx;
    const char *config_hash;
    int64_t seed;
    bool has_seed;
    const char *assignment;   /* JSON object of the trial's parameter values (and train.seed) */
    const char *param_values; /* JSON array of the values, in the sweep's parameter order */
    /* reuse found at creation: the trial is recorded as done (or reuse_status) with this run */
    const char *reuse_run, *reuse_status;
    double reuse_metric;
    int32_t reuse_epochs;
} el_trial_init;

/* Records a sweep and its trials (all pending unless reused) in one transaction. */
int el_sweep_create(el_registry *r, const el_reg_sweep *s, const el_trial_init *trials, int64_t n);

typedef struct {
    const char *host;   /* NULL: this host */
    const char *job;    /* scheduler job id (Slurm JOBID_TASKID), NULL locally */
    int64_t pid, pid_start; /* 0: this process (tests may claim as another process) */
    double lease_s;     /* 0: EL_SWEEP_DEFAULT_LEASE_S */
    int32_t max_lost;   /* a trial whose holder died this many times fails (0 = never) */
} el_claim_params;

typedef struct {
    int64_t idx;
    char token[37];
    char config_hash[65];
    int64_t seed;
    bool has_seed;
    char *assignment, *param_values; /* malloc'd; el_trial_claim_free */
    int32_t claims;                  /* times claimed, this claim included */
} el_trial_claim;
void el_trial_claim_free(el_trial_claim *c);

/* Makes trial `idx` of a sweep whose trials are generated on demand (bayes), inside the claim's
 * transaction (reads through el_registry_db(r) see it): fills config_hash, seed, has_seed,
 * assignment and param_values (malloc'd). EL_OK or EL_ERR (the claim fails, nothing changes). */
typedef int (*el_trial_make_fn)(void *ctx, el_registry *r, int64_t idx, el_trial_claim *out);

/* Releases dead holders' claims, then claims the lowest pending trial; when there is none and
 * `make` is given, makes trial max(idx)+1 if the sweep has fewer than n_trials. 1 = claimed (out
 * filled), 0 = nothing left to claim, -1 = error. */
int el_sweep_claim(el_registry *r, const char *sweep_id, const el_claim_params *p, el_trial_make_fn make,
                   void *make_ctx, el_trial_claim *out);
/* Returns the claims of dead holders to pending; count_lost = false when resuming a sweep that
 * was killed as a whole (those deaths do not count against the trials). Returns how many. */
int el_sweep_recover(el_registry *r, const char *sweep_id, int32_t max_lost, bool count_lost);
/* Renews the lease; 1 = the claim is still ours, 0 = lost (the trial was given to another). */
int el_sweep_heartbeat(el_registry *r, const char *sweep_id, int64_t idx, const char *token, double lease_s);
/* Gives a claimed trial back (pending; e.g. interrupted by the user); why is kept in its error. */
int el_sweep_release(el_registry *r, const char *sweep_id, int64_t idx, const char *token, const char *why);

typedef struct {
    const char *status;  /* done | failed | stopped */
    const char *run;     /* the run (uuid) that did it, or the reused one; may be NULL (failed) */
    bool reused;
    double metric;       /* the sweep's metric; NaN = none */
    int32_t epochs;
    const char *error;
} el_trial_result;
/* Records a claimed trial's result; 1 = recorded, 0 = the claim was lost (nothing written). */
int el_sweep_complete(el_registry *r, const char *sweep_id, int64_t idx, const char *token,
                      const el_trial_result *res);

/* Trial states known elsewhere (a sweep directory, see sweep_dir.c) mirrored into sweep_trials, in
 * one transaction. A trial that does not exist yet is added (config_hash, assignment and
 * param_values given). Final states are written once: a done, failed or stopped trial keeps its
 * result; claimed and pending replace only pending and claimed. The run is linked when it is in
 * this registry. Returns how many rows changed. */
typedef struct {
    int64_t idx;
    const char *status; /* pending | claimed | done | failed | stopped */
    const char *config_hash, *assignment, *param_values;
    int64_t seed;
    bool has_seed;
    const char *run, *error, *finished;
    bool reused;
    double metric;
    int32_t epochs, lost_claims;
    const char *claim_host, *claim_job, *claimed_at;
    int64_t claim_pid;
    double lease_expires;
} el_trial_state;
int el_sweep_sync(el_registry *r, const char *sweep_id, const el_trial_state *t, int64_t n);

/* ---- import and merge (schema v2) ---------------------------------------------------------------
 * Copies runs recorded in another registry (another machine, a teammate, a sweep shard): every run
 * this registry lacks, with all its rows, its sweep and trial rows, and where it came from
 * (run_origins: the source's registry_id and path, the run's host and owner). Idempotent by run
 * uuid: a run both registries have must be identical in every table, else the import is refused
 * and nothing is written. Runs still running in the source are left out. The source is opened
 * read-only and never written; a source that is not an emolab registry, is damaged, or has a newer
 * schema is refused before anything is written. */
typedef struct {
    int64_t runs_added, runs_identical, runs_running; /* running in the source: not copied */
    int64_t sweeps_added, trials_added;
} el_import_stats;
/* The read-only checks alone (emolab registry, version <= ours, quick_check); *version = its
 * schema version. Writes nothing anywhere. */
int el_registry_check_source(const char *path, int32_t *version);
int el_registry_import(el_registry *r, const char *src_path, el_import_stats *st);
/* A registry made as a page copy of the registry at src_path (a fast merge into a new file) becomes
 * one of its own: a new registry_id, the source's running runs removed, every run's origin
 * recorded (st: what it holds). */
int el_registry_adopt_copy(el_registry *r, const char *src_path, el_import_stats *st);
/* Several sources (1..8) in one transaction: all of them or nothing. st: n entries. */
int el_registry_import_many(el_registry *r, const char *const *paths, int32_t n, el_import_stats *st);

#endif /* EL_REGISTRY_H */
