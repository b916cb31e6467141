/* sweep_spec.h: sweep files -> a validated search space -> trial spec trees (issue #5).
 *
 * A sweep file follows the Weights & Biases sweep schema where it fits, plus emolab's `base`
 * and `seeds`:
 *
 *   name: head-dropout            # default: the file name; trials are named NAME-<index>
 *   base: bow.yaml                # the spec every trial starts from (relative to this file)
 *   method: grid                  # grid | random | bayes
 *   metric: {name: val_weighted_f1, goal: maximize}
 *   parameters:                   # keyed by dotted spec paths (W&B's nested form works too)
 *     head.dropout: {values: [0.1, 0.5, 0.85]}
 *     head.layers: {value: [768]}
 *     train.lr: {distribution: log_uniform_values, min: 1e-4, max: 1e-2}
 *   seeds: [1, 2, 3]              # every configuration once per seed (sets train.seed)
 *   run_cap: 30                   # trials (runs) at most; required for random and bayes
 *   early_terminate: {type: hyperband, min_iter: 2, eta: 3}
 *
 * Everything is checked before any trial exists: unknown keys and parameter paths (with the
 * closest name), missing bounds, min > max, empty values, grid over a continuous distribution,
 * and every value against the spec schema (the spec's own messages, at the value's place in
 * the sweep file). Trials are pure functions of (sweep, index): grid trials in a fixed order,
 * random trials drawn from a generator seeded by (sampler_seed, configuration index), so that a
 * resumed sweep regenerates exactly the same trials.
 */
#ifndef EL_SWEEP_SPEC_H
#define EL_SWEEP_SPEC_H

#include "spec.h"

#include <stdbool.h>
#include <stdint.h>

#define EL_SWEEP_MAX_PARAMS 64
#define EL_SWEEP_MAX_VALUES 4096       /* items of one `values` list */
#define EL_SWEEP_MAX_CONFIGS 1000000   /* grid configurations */
#define EL_SWEEP_MAX_SEEDS 1000

typedef enum { EL_SWEEP_GRID = 0, EL_SWEEP_RANDOM, EL_SWEEP_BAYES } el_sweep_method;

typedef enum {
    EL_PARAM_VALUE = 0,        /* value: X (a constant) */
    EL_PARAM_CATEGORICAL,      /* values: [...] (optionally distribution: categorical, probabilities) */
    EL_PARAM_UNIFORM,          /* min..max, continuous */
    EL_PARAM_INT_UNIFORM,      /* integers min..max (inclusive) */
    EL_PARAM_LOG_UNIFORM_VALUES, /* exp(uniform(log min, log max)), min > 0 */
    EL_PARAM_Q_UNIFORM,        /* min + k*q for k = 0..floor((max-min)/q) */
    EL_PARAM_NORMAL,           /* mu + sigma * N(0, 1) */
} el_param_kind;

typedef struct {
    char *path;                /* dotted spec path ("head.dropout") */
    el_param_kind kind;
    el_node **values;          /* VALUE: 1, CATEGORICAL: n_values (with sweep-file positions) */
    int32_t n_values;
    double *probs;             /* CATEGORICAL: probabilities (n_values), NULL = uniform */
    double min, max, q, mu, sigma;
    bool int_path;             /* the spec path takes integers: samples are rounded */
    int32_t line, col;         /* where the parameter is declared in the sweep file */
} el_sweep_param;

typedef struct {
    char *file;                /* the sweep file */
    char *name;                /* sweep name (a safe name) */
    char *description;
    el_sweep_method method;
    char *metric_name;         /* val_weighted_f1 | val_macro_f1 | val_micro_f1 | val_loss */
    bool maximize;             /* goal */
    int64_t run_cap;           /* 0 = none (grid only) */
    bool hyperband;            /* early_terminate given */
    int32_t hb_min_iter, hb_max_iter; /* 0 when not given (one of them is) */
    double hb_eta;             /* default 3 */
    int32_t hb_s;              /* brackets (W&B `s`, default 0 = derived) */
    char *base_path;           /* the base spec as resolved (relative to the sweep file) */
    el_node *base;             /* its tree */
    int64_t *seeds;            /* n_seeds; 0 = the base spec's train.seed */
    int32_t n_seeds;
    uint64_t sampler_seed;     /* `sampler_seed`, default 0 */
    el_sweep_param *params;
    int32_t n_params;
    int64_t n_configs;         /* grid: product of the parameters' sizes; random/bayes: configs
                                  needed for n_trials (ceil(n_trials / seeds)) */
    int64_t n_trials;          /* grid: n_configs * max(1, n_seeds), capped by run_cap;
                                  random/bayes: run_cap */
} el_sweep;

/* Loads and validates a sweep file (and its base spec). On error: -1 with every problem as
 * "file:line:col: key: what is wrong, what is allowed", one per line. */
int el_sweep_load(const char *path, el_sweep *out);
/* Same from a buffer. The base spec is read from `base` (relative to base_dir, or to the
 * directory of filename when base_dir is NULL), unless `base_tree` is given (cloned; for
 * fuzzing and tests). */
int el_sweep_parse(const char *buf, size_t len, const char *filename, const char *base_dir,
                   const el_node *base_tree, el_sweep *out);
void el_sweep_free(el_sweep *s);

/* The values of configuration `config` (0-based): grid: the config-th combination (the last
 * parameter varies fastest); random/bayes: a draw seeded by (sampler_seed, config). values[j]
 * (new nodes, caller frees each) for params[j]. */
int el_sweep_config_values(const el_sweep *s, int64_t config, el_node **values);
/* The spec tree of a configuration with a given seed (seed < 0: keep the base's): the base
 * with every parameter set, train.seed set, and name = "<sweep name>-<index>". */
el_node *el_sweep_make_trial(const el_sweep *s, el_node *const *values, int64_t seed, int64_t index);
/* Trial `index` in [0, n_trials): configuration index / max(1, n_seeds), seed
 * seeds[index % n_seeds]. Validated as a spec (errors point into the sweep or base file).
 * When assignment_json is not NULL it receives {"head.dropout":0.5,...,"train.seed":1}.
 * For bayes this is the model-free draw; the runner uses el_sweep_suggest (below) with the
 * finished trials and then el_sweep_make_trial. */
el_node *el_sweep_trial(const el_sweep *s, int64_t index, char **assignment_json);

/* ---- bayes: model-based search ------------------------------------------------------------ */
/* A finished trial as the search sees it: its configuration's values (params order, as
 * el_sweep_config_values / el_sweep_suggest gave them) and its metric (NaN = failed: the worst). */
typedef struct {
    el_node *const *values;
    double metric;
} el_sweep_obs;

#define EL_SWEEP_BAYES_STARTUP 10 /* random configurations before the model is used */

/* The values of configuration `config` given the observations so far. bayes: a Tree-structured
 * Parzen Estimator (Bergstra et al. 2011; independent per parameter): the observations are split
 * into the best quarter (by metric and goal, at most 25) and the rest, each parameter gets a
 * Parzen density for both (Gaussian kernels with neighbour bandwidths, truncated to the range,
 * log scale for log_uniform_values, plus the prior), and the best of 24 candidates drawn from the
 * good density by l(x)/g(x) is taken. Below EL_SWEEP_BAYES_STARTUP observations, and for grid or
 * random, it is el_sweep_config_values. Deterministic in (sampler_seed, config, observations). */
int el_sweep_suggest(const el_sweep *s, int64_t config, const el_sweep_obs *obs, int32_t n_obs,
                     el_node **values);

#endif /* EL_SWEEP_SPEC_H */
