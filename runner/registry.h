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

#endif /* EL_REGISTRY_H */
