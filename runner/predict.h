/* predict.h: recorded runs used on new texts (`emolab predict`) and combined into ensembles
 * (`emolab ensemble`, ensemble.c).
 *
 * A predictor is what a registry run saved, nothing else: the checkpoint (verified against the
 * sha256 and size the registry recorded for its `checkpoint` artifact), the resolved config in
 * its metadata (backbone, featurizer, head), the label names in model-output order and the
 * thresholds tuned on validation. Probabilities are computed exactly as training scored val and
 * test (el_predict_probs: eval mode, batches of EL_PREDICT_BATCH rows counted from the first
 * text of each call), so predicting a run's own test split reproduces its recorded test metrics
 * bit for bit. (The same text in batches of other sizes may differ in the last bit of its
 * probabilities, as BLAS kernels depend on the batch size; a file is always cut the same way.)
 *
 * An ensemble run (kind "ensemble", made by el_ensemble_build) predicts by loading every member
 * run listed in its config and averaging their probabilities with el_probs_mean (the same
 * function that scored the ensemble); its thresholds are the ones recorded for it in the
 * registry (tuned on val).
 *
 * Empty or whitespace-only texts are predicted like any other: a bow model sees no features and
 * answers from its biases alone (one fixed answer for every empty text). They are counted.
 */
#ifndef EL_PREDICT_H
#define EL_PREDICT_H

#include "metrics.h"
#include "registry.h"
#include "spec.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define EL_PREDICT_BATCH 512 /* rows per forward pass and per streamed CSV chunk */

typedef struct {
    int32_t threads; /* libtorch threads; 0 = 1 (results do not depend on it) */
    bool quiet;      /* no notes on stderr (interrupted runs, ...) */
} el_predictor_params;

el_predictor_params el_predictor_default_params(void);

typedef struct el_predictor el_predictor;

/* Opens the run `ref` names (full uuid, uuid prefix or run name: el_registry_resolve_run) for
 * prediction and loads its model(s). Refused with a message that says what to do: an unknown or
 * ambiguous reference (candidates listed), a run still running, a run without a checkpoint
 * (failed, interrupted early, trained with --no-checkpoint), a checkpoint file that is missing or
 * differs from what the registry recorded (size or sha256), a checkpoint whose config is not the
 * run's. A relative checkpoint path is tried from the current directory, then from the
 * registry's directory. NULL + el_last_error() on failure. */
el_predictor *el_predictor_open(el_registry *reg, const char *ref, const el_predictor_params *p);
/* Same for an explicit list of single runs averaged as an ensemble (thresholds: the first
 * member's until set with el_predictor_set_thresholds). Used to build ensembles. */
el_predictor *el_predictor_open_members(el_registry *reg, const char *const *refs, int32_t n,
                                        const el_predictor_params *p);
void el_predictor_free(el_predictor *p);

const el_run_ref *el_predictor_run(const el_predictor *p); /* the run opened (ensemble: itself) */
int32_t el_predictor_n_labels(const el_predictor *p);
const char *const *el_predictor_labels(const el_predictor *p); /* model-output order */
const float *el_predictor_thresholds(const el_predictor *p);
void el_predictor_set_thresholds(el_predictor *p, const float *thr);
int32_t el_predictor_n_members(const el_predictor *p);     /* 1 for a single run */
const el_run_ref *el_predictor_member(const el_predictor *p, int32_t i);
/* The resolved config of member i (JSON text), e.g. for its data spec. */
const char *el_predictor_member_config(const el_predictor *p, int32_t i);
/* The text column of the run's (first member's) test source, e.g. "ru_text". */
const char *el_predictor_text_column(const el_predictor *p);

/* probs [n, n_labels] (row-major) for n texts, batched by EL_PREDICT_BATCH from texts[0].
 * Texts must be valid UTF-8 without NUL bytes (see el_predict_check_text). */
int el_predictor_probs(el_predictor *p, char *const *texts, int64_t n, float *probs);

/* The ensemble average: out[i] = (float)(sum over members m, in order, of (double)probs[m][i]
 * / n_members). One function for building and for predicting, so both give the same bits. */
void el_probs_mean(const float *const *member_probs, int32_t n_members, int64_t count, float *out);

/* A run's resolved config JSON (as recorded) -> el_spec, for its model and data spec. */
int el_predict_spec_from_config(const char *config_json, const char *where, el_spec *out);

/* -1 with "invalid UTF-8 at byte B (0xXX)" / "NUL byte at byte B" when the text is unusable. */
int el_predict_check_text(const char *text, size_t len);

/* ---- batch prediction over a CSV file --------------------------------------------------------
 * Output: a header, then one row per input row in input order:
 *   ID, one 0/1 column per label (model-output order), [p_LABEL probability columns]
 * ID is the input's id column (same name and values), or `row` (1-based data row number) when
 * the input has none. Probabilities are written as the shortest decimal that reads back as the
 * exact float the decision was made from (1 iff p >= threshold; at most 9 digits). The file is written to
 * OUTPUT.tmp.PID and renamed when complete: an error or Ctrl-C leaves no output file. */
typedef struct {
    const char *input;       /* CSV with a header row */
    const char *output;      /* "-" = stdout (not atomic) */
    const char *text_column; /* NULL = the run's test text column (el_predictor_text_column) */
    const char *id_column;   /* NULL = "id" when the input has it, else a `row` column */
    bool probabilities;      /* add p_LABEL columns */
    volatile sig_atomic_t *stop; /* set by a signal handler: abort, remove the partial output */
} el_predict_csv_params;

el_predict_csv_params el_predict_csv_default_params(void);

typedef struct {
    int64_t rows;            /* rows written */
    int64_t empty;           /* empty or whitespace-only texts among them */
    int64_t positives[EL_MAX_LABELS];
    double seconds;          /* reading, featurizing, predicting and writing */
    bool interrupted;
} el_predict_csv_stats;

int el_predict_csv(el_predictor *p, const el_predict_csv_params *cp, el_predict_csv_stats *stats);

/* ---- ensembles (ensemble.c) ------------------------------------------------------------------
 * An ensemble = the mean of its members' probabilities, thresholds tuned on val only, scored on
 * val and test, recorded as a run of kind "ensemble": config_json = {"kind": "ensemble",
 * "members": [uuid, ...], "member_names": [...], "combine": "mean", "labels": [...],
 * "threshold": {mode, value, grid_step}, "data": {val, test fingerprints, variant}, name,
 * owner}; params ensemble.members / ensemble.size / ensemble.combine / threshold.* /
 * data.variant; the data facts of the split that was scored; its thresholds, metrics and
 * threshold curve like any run; an `ensemble` artifact RUN_DIR/ensemble.json (members, labels,
 * thresholds). Members must be finished single runs with checkpoints, with the same labels and
 * the same val and test fingerprints (train may differ: orig and ext models can be combined). */
typedef struct {
    const char *name;            /* default "ensemble-K:FIRST_MEMBER_NAME+..." */
    const char *owner;           /* default $USER */
    const char *data_root;       /* for the val/test data (default $EMOLAB_DATA) */
    const char *experiments_dir; /* ensemble.json goes to DIR/UUID/ (default $EMOLAB_EXPERIMENTS
                                    or ./experiments) */
    const char *threshold_mode;  /* per_class (default) | global | fixed */
    double threshold_value;      /* fixed mode, and classes without positives (default 0.5) */
    double grid_step;            /* tuning grid (default 0.01) */
    int32_t threads;
    bool reuse;                  /* an identical finished ensemble is returned, not redone
                                    (default true) */
    bool quiet;
} el_ensemble_params;

el_ensemble_params el_ensemble_default_params(void);

typedef struct {
    char uuid[37];
    bool reused;                 /* an identical ensemble was already recorded */
    el_metrics val, test;
    double seconds;
} el_ensemble_result;

int el_ensemble_build(el_registry *reg, const char *const *refs, int32_t n,
                      const el_ensemble_params *p, el_ensemble_result *res);

/* The best `k` finished single runs with a checkpoint by a validation metric ("val_weighted_f1",
 * "val_macro_f1", ... any val metric the registry records; test metrics are refused: test never
 * chooses). Only runs that share the best run's val/test fingerprints and labels qualify, one
 * per config hash (a rerun of the same config adds nothing); `variant` (NULL = any) filters on
 * data_variant. Writes up to k uuids (malloc'd array of malloc'd strings) and their count. */
int el_ensemble_top(el_registry *reg, int32_t k, const char *metric, const char *variant,
                    char ***uuids, int32_t *n);

/* `emolab ensemble`'s options in argv[1..] (argv[0] = command name) -> build, print, and the
 * ensemble's uuid; returns an exit code. Shared with `emolab predict --ensemble`. */
int el_ensemble_cli(el_registry *reg, const char *const *refs, int32_t n, int argc, char **argv,
                    char uuid[37]);

#endif /* EL_PREDICT_H */
