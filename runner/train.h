/* train.h: one experiment from a validated spec and loaded data to a scored, saved model.
 *
 * Training: AdamW/SGD with parameter groups (backbone lr = lr * backbone.lr_scale; no weight
 * decay on embeddings, biases and norms), constant/linear/cosine schedules with linear warmup,
 * gradient clipping, BCE-with-logits with optional `balanced` class weights (pos_weight =
 * negatives/positives per class) or focal loss. After every epoch the validation set is
 * scored with thresholds tuned on it; early stopping keeps the best epoch. Test is scored once,
 * at the end, with the best epoch's weights and validation-tuned thresholds: test never
 * influences any choice.
 */
#ifndef EL_TRAIN_H
#define EL_TRAIN_H

#include "data.h"
#include "metrics.h"
#include "model.h"
#include "registry.h"
#include "spec.h"

#include <signal.h>

#define EL_CURVE_POINTS 19 /* global thresholds 0.05, 0.10, ..., 0.95 */

typedef struct {
    const el_spec *spec;
    const el_dataset *data;
    el_registry *reg;             /* may be NULL (tests) */
    const char *uuid;             /* registry run id */
    const char *run_dir;          /* where the checkpoint goes; NULL = do not save */
    volatile sig_atomic_t *stop;  /* set by a signal handler: finish the step and stop */
    /* Called after each epoch with the validation metric (sweeps: hyperband). Return 1 to
     * stop the run early (recorded as `stopped`). May be NULL. */
    int (*on_epoch)(void *ctx, int32_t epoch, double val_metric);
    void *on_epoch_ctx;
} el_train_ctx;

typedef struct {
    const char *status;           /* finished | failed | interrupted | stopped */
    char error[1024];
    int32_t best_epoch, epochs_run;
    float thresholds[EL_MAX_LABELS];
    el_metrics val, test;
    bool have_val, have_test;
    float curve_x[EL_CURVE_POINTS], curve_val_f1[EL_CURVE_POINTS];
    double train_seconds;
    double samples_per_s;         /* training throughput over all epochs */
    int64_t n_params;
    char checkpoint[4096];        /* path of the saved model, "" when none */
} el_train_result;

/* Runs the experiment. Returns 0 when it finished (or was stopped/interrupted cleanly, see
 * res->status) and -1 when it failed (res->status = "failed", res->error says why). */
int el_train_run(const el_train_ctx *ctx, el_train_result *res);

/* Memory a run of this spec needs (upper estimate, bytes), and a check of it against the
 * address-space limit and the available memory: a run that cannot fit is refused before any
 * allocation, with the estimate, instead of failing half-way. */
int64_t el_train_estimate_bytes(const el_spec *spec, int64_t n_texts);
int el_train_check_memory(const el_spec *spec, int64_t n_texts);

/* Probabilities [n, n_labels] for every row of prepared inputs, in eval mode, batched. */
int el_predict_probs(el_model *m, const void *inputs, int64_t n, float *probs);

/* Checkpoint: model.safetensors with every parameter (sparse tables as their non-zero rows),
 * resolved config, labels and thresholds in the metadata. */
int el_checkpoint_save(const char *path, el_model *m, const el_spec *spec,
                       const el_labelset *labels, const float *thresholds);
int el_checkpoint_load(const char *path, el_model *m);

#endif /* EL_TRAIN_H */
