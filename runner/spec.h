/* spec.h: experiment specs. YAML (libyaml) -> a position-carrying tree -> validated against a
 * schema (unknown keys, types, ranges, choices; defaults filled) -> el_spec, plus the fully
 * resolved config as canonical JSON and its hash.
 *
 * Errors name the place: "configs/bow.yaml:12:5: head.dropout: 1.5 is out of range, allowed
 * [0, 1)". Overrides (`--set head.dropout=0.5`) and sweep parameters are applied to the tree
 * before validation, so they are validated the same way ("--set head.dropout: ...").
 */
#ifndef EL_SPEC_H
#define EL_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EL_MAX_LABELS 64
#define EL_MAX_SOURCES 8
#define EL_MAX_LAYERS 16
#define EL_MAX_KERNELS 16

/* ---- a YAML document as a tree -------------------------------------------------------- */
typedef enum { EL_NODE_NULL = 0, EL_NODE_SCALAR, EL_NODE_SEQ, EL_NODE_MAP } el_node_kind;

typedef struct el_node {
    el_node_kind kind;
    char *scalar;           /* EL_NODE_SCALAR: the text as written */
    bool quoted;            /* the scalar was quoted: a string, never a number/bool */
    char **keys;            /* EL_NODE_MAP: n keys, in document order */
    struct el_node **items; /* EL_NODE_MAP: n values; EL_NODE_SEQ: n items */
    int32_t n;
    int32_t line, col;      /* 1-based position in the source (0 when made by code) */
    char *file;             /* source name ("configs/bow.yaml", "--set", "sweep.yaml") */
    int32_t *key_line;      /* EL_NODE_MAP: 1-based position of each key (0 = unknown); the */
    int32_t *key_col;       /*   key's file is its value's `file` */
    int32_t cap;            /* allocated slots of keys/items (internal) */
} el_node;

/* Input limits of el_yaml_parse (issue #11): the whole tree, aliases expanded, may hold at
 * most EL_YAML_MAX_NODES nodes and EL_YAML_MAX_BYTES bytes of keys and scalars; nesting at
 * most EL_YAML_MAX_DEPTH levels; a mapping at most EL_YAML_MAX_KEYS keys. */
#define EL_YAML_MAX_NODES 100000
#define EL_YAML_MAX_BYTES (16 * 1024 * 1024)
#define EL_YAML_MAX_DEPTH 64
#define EL_YAML_MAX_KEYS 4096

/* Parses one YAML document. Aliases are expanded with a bound on the total expanded size
 * (a "billion laughs" document is refused). On error returns NULL with "file:line:col: what". */
el_node *el_yaml_parse(const char *buf, size_t len, const char *filename);
el_node *el_yaml_load(const char *path);
el_node *el_node_clone(const el_node *n);
void el_node_free(el_node *n);
el_node *el_node_get(const el_node *map, const char *dotted); /* NULL when absent */
/* Sets root[dotted] to a value given as YAML text ("0.5", "[256, 512]", "{type: bow}"),
 * creating intermediate maps. Positions of the new nodes point at `origin` (e.g. "--set"). */
int el_node_set_yaml(el_node *root, const char *dotted, const char *yaml_value, const char *origin);
/* Same with an already built value: takes ownership of `value` (also on error). When `origin`
 * is not NULL, every node of `value` gets file=origin and no line/column. */
int el_node_set(el_node *root, const char *dotted, el_node *value, const char *origin);
/* Canonical JSON: keys sorted, numbers normalised, no whitespace (pretty=false). malloc'd.
 * Quoted scalars are strings; plain scalars that are YAML numbers are numbers (integers as
 * integers, other numbers in the shortest round-trip form: 0.5, .5 and 5e-1 all give 0.5,
 * 2e-3 gives 0.002, 1e-05 and 1e+16 switch to exponents as Python's repr does); plain
 * true/false/null are literals; everything else is a string. */
char *el_node_to_json(const el_node *n, bool pretty);

/* Building trees in code (sweeps). New nodes have no position; `file` may be NULL. */
el_node *el_node_new(el_node_kind kind, const char *file);
el_node *el_node_new_scalar(const char *text, bool quoted, const char *file);
/* Sets map[key] = value (replacing and freeing an existing value); takes ownership. */
void el_node_map_put(el_node *map, const char *key, el_node *value);
void el_node_seq_push(el_node *seq, el_node *item); /* takes ownership */
/* Removes map[key] (frees it); returns whether it was there. */
bool el_node_map_del(el_node *map, const char *key);
/* Structural equality of two trees by their canonical JSON (positions are ignored). */
bool el_node_equal(const el_node *a, const el_node *b);

/* Numbers as the spec grammar reads them (decimal only, no YAML 1.1 sexagesimal/hex/_):
 * 0 = not a number, 1 = integer ("-12"), 2 = other number ("0.5", ".5", "5e-1", "1e3"). */
int el_number_kind(const char *s);
/* Shortest round-trip text of a finite double, always with '.' or an exponent ("1.0"). */
void el_format_double(double v, char out[40]);

/* ---- the experiment spec ---------------------------------------------------------------- */
typedef struct {
    char *path;       /* relative to the data root, absolute, or an http(s) URL */
    char *format;     /* goemotions | izard | columns */
    char *text;       /* text column (default: ru_text for goemotions, text otherwise) */
    char *labels;     /* goemotions: the column with the id list (default "labels") */
    char *id;         /* id column; NULL = the "id" column when present, else file:row */
    char *map;        /* label map of the label set to use; NULL = none (columns format: columns
                         named as the labels). Default: "goemotions" / "izard" for those formats */
    char *enthusiasm; /* drop | joy | surprise: what the source label enthusiasm becomes; NULL =
                         no rule (default; "drop" for izard) */
    char *neutral;    /* keep | clear_if_emotion (drop neutral where an emotion is present) */
    int64_t limit;    /* read only the first N rows (0 = all); for quick runs and tests */
} el_source_spec;

typedef struct {
    char *labels;     /* label set: a name under configs/labels/ (ekman7) or a YAML path */
    char *variant;    /* data variant for reports: "orig" / "ext" / any (default: orig when
                         there is one train source, ext otherwise) */
    el_source_spec train[EL_MAX_SOURCES];
    int32_t n_train;
    el_source_spec val, test;
    bool drop_train_overlapping_eval;
    char *root;       /* resolved data root (option --data-root, $EMOLAB_DATA, spec data.root) */
} el_data_spec;

typedef struct {
    char *type;             /* bow | hf | tfidf | cnn | rnn | transformer */
    /* bow: fastText-style hashed n-grams into an embedding bag */
    int32_t dim;            /* embedding width (default 128) */
    int32_t word_ngrams;    /* word n-grams 1..word_ngrams (default 2; 0 = no words) */
    int32_t char_ngram_min; /* char n-grams of words with boundary marks; 0 = none */
    int32_t char_ngram_max; /* spec key: char_ngrams: [3, 5] */
    int64_t buckets;        /* hash buckets (default 2^20) */
    char *pooling;          /* mean | sum | sqrt (bow); later cls | mean | max | attention */
    bool lowercase;         /* default true */
    double lr_scale;        /* backbone lr = train.lr * lr_scale (default 1) */
    /* hf: a pretrained Hugging Face encoder (model_hf.c); pooling cls | mean | max |
     * attention | cls_concat | pooler (BERT's pretrained dense+tanh over CLS) */
    char *path;             /* local model directory: config.json, *.safetensors, tokenizer.json */
    char *name;             /* or ORG/NAME[@REV] on the hub, resolved to a local snapshot */
    int32_t max_len;        /* tokens per text, special tokens included (0 = the model's limit) */
    int32_t last_k;         /* cls_concat: CLS vectors of the last k layers (default 4) */
    char *text_prefix;      /* prepended to every text before tokenizing (e5: "query: ") */
    char *freeze;           /* none | all | first_k (default none) */
    int32_t freeze_k;       /* first_k: the embeddings and the first k layers are frozen */
    double layer_lr_decay;  /* (0, 1]: lr scale decay^(L + 1 - depth), depth 0 = embeddings,
                               1..L = layers, the head keeps 1 (default 1 = off) */
    /* tfidf (model_tfidf.c): scikit-learn TfidfVectorizer semantics, a word and a character
     * analyzer side by side; also dim, char_ngram_min/max, lowercase, lr_scale */
    int32_t word_ngram_min, word_ngram_max; /* spec key: word_ngrams: [1, 2]; [0, 0] = none */
    char *char_analyzer;    /* char_wb | char */
    int32_t min_df;         /* terms in at least min_df train texts */
    double max_df;          /* terms in at most this fraction of train texts */
    int64_t word_max_features, char_max_features; /* most frequent terms kept per analyzer */
    bool sublinear_tf, use_idf, smooth_idf;
    char *norm;             /* l2 | l1 | none, per analyzer */
    /* freeze (shared with hf): none | all (tfidf all: a fixed featurizer, outputs cached) */
    double feature_dropout; /* training: a row's terms dropped with this probability */
    /* cnn, rnn (model_cnn.c, model_rnn.c): token sequences; also dim, buckets, char_ngram_min/
     * max, lowercase, lr_scale, pooling */
    char *tokens;           /* word | char */
    /* max_len (shared with hf): tokens per text */
    double emb_dropout;     /* on token embeddings */
    double emb_init_std;    /* 0 = zero-initialised table */
    int32_t kernels[EL_MAX_KERNELS]; /* cnn: conv widths */
    int32_t n_kernels;
    int32_t filters;        /* cnn: channels per width */
    char *cell;             /* rnn: gru | lstm */
    int32_t hidden, layers; /* rnn: per direction, stacked */
    bool bidirectional;     /* rnn */
    double dropout;         /* rnn: between stacked layers; transformer: hidden dropout */
    /* transformer (model_transformer.c): a BERT-style encoder trained from scratch over hashed
     * word or char tokens; also tokens, buckets, max_len, lowercase, lr_scale, pooling (cls |
     * mean | max), hidden (d_model), layers, dropout */
    int32_t heads;          /* attention heads (divide hidden) */
    int32_t intermediate;   /* FFN width */
    double attn_dropout;    /* on attention probabilities */
    double init_std;        /* N(0, init_std^2) init of matrices and tables */
} el_backbone_spec;

typedef struct {
    int32_t layers[EL_MAX_LAYERS]; /* hidden sizes; depth = n_layers + 1 linear layers */
    int32_t n_layers;
    double dropout;         /* before each linear layer, [0, 1) */
    char *activation;       /* relu | gelu | silu | leaky_relu | tanh */
    char *norm;             /* none | layer | batch | group */
    int32_t norm_groups;    /* group norm groups (default 8) */
    bool residual;          /* residual blocks where in == out size */
    int32_t heads;          /* parallel heads (>= 1) */
    char *meta;             /* how heads combine: linear (a meta-layer over their outputs) | mean */
} el_head_spec;

typedef struct {
    int32_t epochs;
    int32_t batch_size;
    char *optimizer;        /* adamw | sgd */
    double lr, weight_decay, momentum;
    char *scheduler;        /* constant | linear | cosine */
    double warmup;          /* fraction of total steps, [0, 1) */
    char *loss;             /* bce | focal */
    double focal_gamma;     /* default 2 */
    char *class_weights;    /* none | balanced */
    double grad_clip;       /* 0 = off */
    int64_t seed;
    char *es_metric;        /* early_stopping.metric: val_weighted_f1 | val_macro_f1 | val_loss */
    int32_t es_patience;    /* early_stopping.patience; 0 = off */
    int32_t threads;        /* libtorch threads (0 = all cores) */
    char *device;           /* cpu | cuda */
    double head_lr;         /* lr of the head (and pooling) parameters; 0 = train.lr */
    int32_t grad_accum;     /* micro-batches of batch_size per optimizer step (default 1) */
} el_train_spec;

typedef struct {
    char *mode;             /* fixed | global | per_class */
    double value;           /* fixed: the threshold (default 0.5) */
    double grid_step;       /* candidates step for tuning (default 0.01) */
} el_threshold_spec;

typedef struct {
    char *name;
    char *owner;
    char *notes;
    el_data_spec data;
    el_backbone_spec backbone;
    el_head_spec head;
    el_train_spec train;
    el_threshold_spec threshold;

    char *file;             /* the spec file it came from */
    el_node *resolved;      /* the validated tree with every default filled in */
    char *resolved_json;    /* canonical JSON of `resolved` */
    char config_hash[65];   /* sha256 of the resolved JSON without name/owner/notes */
} el_spec;

/* Loads a spec file, applies overrides ("head.dropout=0.5"), validates, fills defaults. */
int el_spec_load(const char *path, const char *const *overrides, int32_t n_overrides,
                 el_spec *out);
/* Same from an already parsed tree (the tree is cloned; used by sweeps). */
int el_spec_from_node(const el_node *root, const char *file, el_spec *out);
/* Same from a buffer (for fuzzing and tests). */
int el_spec_parse(const char *buf, size_t len, const char *filename, el_spec *out);
void el_spec_free(el_spec *s);

/* Applies one "KEY=VALUE" override (VALUE is YAML) to a parsed spec tree; the new nodes carry
 * the origin "--set KEY=VALUE", so later validation errors start with it. */
int el_spec_apply_override(el_node *root, const char *override);

/* Whether a dotted path names a spec parameter (for sweeps: "head.dropout" yes, "head.x" no).
 * Accepts sections ("head"), sources ("data.val", "data.train[1]" = "data.train.1") and keys of
 * any backbone type. On no, sets an error that names the closest path ("did you mean ..."). */
bool el_spec_path_known(const char *dotted);
/* The kind of value a known path takes: "int", "float", "bool", "string", "enum", "list",
 * "source", "section"; NULL when the path is unknown (no error set). */
const char *el_spec_path_type(const char *dotted);
/* Flattened resolved parameters: calls fn(key, json_value) for every leaf, dotted keys, in
 * sorted order ("head.layers" -> "[768]"). */
void el_spec_params(const el_spec *s, void (*fn)(const char *key, const char *json, void *ctx),
                    void *ctx);
/* Prints the documented schema (every key, type, default, allowed values) for `--help`. */
void el_spec_print_schema(FILE *out);

#endif /* EL_SPEC_H */
