/* spec.c: the experiment spec. A YAML tree (yaml_tree.c) is checked against the schema table
 * below, every default is filled in, and the result becomes an el_spec plus its resolved tree,
 * canonical JSON and config hash. See spec.h.
 *
 * The schema is data: one row per key. To add a backbone type (tfidf, cnn, rnn, transformer,
 * hf), add its name to the choices of `backbone.type` and add rows for its own keys with
 * `.when = "backbone.type=NAME"` (a key shared by several types lists them: "=cnn|rnn"; a
 * key whose allowed values differ by type gets one row per type, e.g. `backbone.pooling`).
 * Rows are processed in table order within a section, so a row may depend (`when`, computed
 * defaults) on any row above it.
 */
#define _GNU_SOURCE
#include "spec.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the schema ------------------------------------------------------------------------------ */
typedef enum {
    K_SECTION,     /* a mapping of further keys */
    K_INT,         /* integer in [lo, hi] (ends per lo_b/hi_b) */
    K_FLOAT,       /* finite number in range */
    K_BOOL,        /* true | false */
    K_STRING,      /* one line of text */
    K_TEXT,        /* free text (newlines allowed) */
    K_NAME,        /* a safe file-name component: letters, digits, - _ . (no "..", no leading ./-) */
    K_LABELSET,    /* a label-set name (configs/labels/NAME.yaml) or a path to a .yaml file */
    K_ENUM,        /* one of `choices` */
    K_INT_LIST,    /* list of integers, each in range, at most max_items */
    K_INT_PAIR,    /* [min, max], integers in range, min <= max */
    K_SOURCE,      /* a data source: a mapping checked against the "source." rows */
    K_SOURCE_LIST, /* a non-empty list of sources, at most max_items */
} key_type;

typedef struct {
    const char *path;    /* dotted; "source.X" rows describe every data source */
    key_type type;
    const char *def;     /* default as YAML text; NULL = required; "=rule" = computed */
    const char *choices; /* K_ENUM: "a|b|c" */
    double lo, hi;       /* numbers (and list items) */
    char lo_b, hi_b;     /* '[' / '(' closed / open lower end, ']' / ')' upper; 0 = unbounded */
    int32_t max_items;   /* lists */
    const char *when;    /* "backbone.type=bow|tfidf": the key exists only then */
    const char *help;    /* one line; for computed defaults it says what the default is */
} schema_key;

#define RANGE(a, l, h, b) .lo_b = (a), .lo = (l), .hi = (h), .hi_b = (b)
#define AT_LEAST(l) .lo_b = '[', .lo = (l)
#define ABOVE(l) .lo_b = '(', .lo = (l)

static const schema_key SCHEMA[] = {
    {"name", K_NAME, "=stem", .help = "run name: letters, digits, '-', '_', '.' (no '..', not starting "
                                      "with '.' or '-'); part of experiments/ paths. Default: the "
                                      "spec file's name without .yaml"},
    {"owner", K_STRING, "\"\"", .help = "who runs it (the leaderboard's researcher column)"},
    {"notes", K_TEXT, "\"\"", .help = "free text kept with the run"},

    {"data", K_SECTION, "{}", .help = "what to train and evaluate on"},
    {"data.labels", K_LABELSET, "ekman7",
     .help = "label set: a name under configs/labels/ (ekman7) or a path to a label-map .yaml"},
    {"data.train", K_SOURCE_LIST, NULL, .max_items = EL_MAX_SOURCES,
     .help = "training sources, concatenated (one source = the 'orig' variant, more = 'ext')"},
    {"data.val", K_SOURCE, NULL, .help = "validation source (early stopping, threshold tuning)"},
    {"data.test", K_SOURCE, NULL, .help = "test source (reported only, never used for a choice)"},
    {"data.variant", K_NAME, "=variant",
     .help = "data variant name for reports. Default: orig with one train source, ext with more"},
    {"data.drop_train_overlapping_eval", K_BOOL, "true",
     .help = "drop train rows whose normalised text occurs in val or test"},
    {"data.root", K_STRING, "\"\"",
     .help = "data root for relative source paths (\"\" = --data-root, else $EMOLAB_DATA)"},

    {"source.path", K_STRING, NULL, .help = "CSV file: relative to the data root, absolute, or http(s) URL"},
    {"source.format", K_ENUM, NULL, "goemotions|izard|columns",
     .help = "goemotions: a list of GoEmotions ids in one column; izard: its 10 binary columns; "
             "columns: one 0/1 column per label"},
    {"source.text", K_STRING, "=text", .help = "text column. Default: ru_text for goemotions, text otherwise"},
    {"source.labels", K_STRING, "labels", .help = "goemotions: the column holding the id list"},
    {"source.id", K_STRING, "\"\"", .help = "row id column (\"\" = the id column when present, else file:row)"},
    {"source.map", K_STRING, "=map",
     .help = "label map of the label set to read this source with (\"\" = none: columns named "
             "as the labels). Default: goemotions / izard for those formats, \"\" for columns"},
    {"source.enthusiasm", K_ENUM, "=enthusiasm", "drop|joy|surprise",
     .help = "what the source label enthusiasm becomes (drop = ignored; rows left without a label "
             "are dropped); only for maps with that label. Default: drop for izard, \"\" (no "
             "rule) otherwise"},
    {"source.neutral", K_ENUM, "=neutral", "keep|clear_if_emotion",
     .help = "clear_if_emotion: unset neutral where an emotion is set. Default: clear_if_emotion "
             "for izard, keep otherwise"},
    {"source.limit", K_INT, "0", AT_LEAST(0), .help = "read only the first N rows (0 = all)"},

    {"backbone", K_SECTION, "{}", .help = "the text encoder"},
    {"backbone.type", K_ENUM, "bow", "bow|hf|tfidf|cnn|rnn|transformer",
     .help = "bow: fastText-style hashed n-gram embedding bag; hf: a pretrained Hugging Face encoder "
             "(BERT, RoBERTa, XLM-RoBERTa, DistilBERT); tfidf: scikit-learn-style TF-IDF word + char "
             "n-grams (vocabulary fitted on train) times a trained table; cnn: convolutions over "
             "token embeddings; rnn: a (bidirectional) GRU or LSTM; transformer: a BERT-style encoder "
             "trained from scratch over hashed tokens"},
    {"backbone.dim", K_INT, "128", RANGE('[', 1, 65536, ']'), .when = "backbone.type=bow",
     .help = "embedding width"},
    {"backbone.word_ngrams", K_INT, "2", RANGE('[', 0, 8, ']'), .when = "backbone.type=bow",
     .help = "word n-grams of length 1..N (0 = no word features)"},
    {"backbone.char_ngrams", K_INT_PAIR, "[3, 5]", RANGE('[', 0, 16, ']'), .when = "backbone.type=bow",
     .help = "[min, max] character n-grams of each word with boundary marks ([0, 0] = none)"},
    {"backbone.buckets", K_INT, "1048576", RANGE('[', 1, 1073741824, ']'), .when = "backbone.type=bow",
     .help = "hash buckets (rows of the embedding table)"},
    {"backbone.pooling", K_ENUM, "mean", "mean|sum|sqrt|idf", .when = "backbone.type=bow",
     .help = "how the bag is reduced: mean, sum, sum / sqrt(count), or the mean weighted by each "
             "n-gram's inverse document frequency in train (unseen n-grams weigh 0)"},
    {"backbone.lowercase", K_BOOL, "true", .when = "backbone.type=bow", .help = "lowercase before hashing"},
    {"backbone.lr_scale", K_FLOAT, "1.0", RANGE('(', 0, 1e6, ']'), .when = "backbone.type=bow|hf",
     .help = "backbone learning rate = train.lr * lr_scale"},
    {"backbone.path", K_STRING, "\"\"", .when = "backbone.type=hf",
     .help = "local Hugging Face model directory (config.json, model.safetensors or its sharded "
             "index, tokenizer.json); give path or name"},
    {"backbone.name", K_STRING, "\"\"", .when = "backbone.type=hf",
     .help = "ORG/NAME[@REV] on the Hugging Face hub, fetched into HF's cache; give path or name"},
    {"backbone.max_len", K_INT, "0", RANGE('[', 0, 8192, ']'), .when = "backbone.type=hf",
     .help = "tokens per text, special tokens included; longer texts are truncated (0 = the "
             "model's limit, at most 512)"},
    {"backbone.pooling", K_ENUM, "cls", "cls|mean|max|attention|cls_concat|pooler", .when = "backbone.type=hf",
     .help = "text vector: CLS token, masked mean or max over tokens, attention (a learned query), "
             "cls_concat (CLS of the last last_k layers), pooler (BERT's pretrained dense+tanh)"},
    {"backbone.last_k", K_INT, "4", RANGE('[', 1, 128, ']'), .when = "backbone.type=hf",
     .help = "cls_concat: how many of the last layers' CLS vectors are concatenated"},
    {"backbone.text_prefix", K_STRING, "\"\"", .when = "backbone.type=hf",
     .help = "prepended to every text before tokenizing (e5 models: \"query: \")"},
    {"backbone.freeze", K_ENUM, "none", "none|all|first_k", .when = "backbone.type=hf",
     .help = "none: fine-tune everything; all: the encoder is fixed (no-grad, eval mode; features "
             "cached); first_k: embeddings and the first freeze_k layers are fixed"},
    {"backbone.freeze_k", K_INT, "0", RANGE('[', 0, 128, ']'), .when = "backbone.type=hf",
     .help = "freeze: first_k: number of lowest layers frozen (with the embeddings)"},
    {"backbone.layer_lr_decay", K_FLOAT, "1.0", RANGE('(', 0, 1, ']'), .when = "backbone.type=hf",
     .help = "layer-wise lr decay: a layer at depth d (0 = embeddings, L = top layer) gets "
             "lr * decay^(L + 1 - d) (1 = off)"},

    /* ---- tfidf, cnn, rnn (model_tfidf.c, model_cnn.c, model_rnn.c) ---- */
    {"backbone.dim", K_INT, "128", RANGE('[', 1, 65536, ']'), .when = "backbone.type=tfidf",
     .help = "output width: columns of the [vocabulary, dim] table the tf-idf row multiplies "
             "(freeze all: signed-hash projection width)"},
    {"backbone.word_ngrams", K_INT_PAIR, "[1, 2]", RANGE('[', 0, 8, ']'), .when = "backbone.type=tfidf",
     .help = "[min, max] word n-grams (scikit-learn analyzer word, token pattern \\b\\w\\w+\\b; "
             "[0, 0] = none)"},
    {"backbone.char_ngrams", K_INT_PAIR, "[2, 5]", RANGE('[', 0, 16, ']'), .when = "backbone.type=tfidf",
     .help = "[min, max] character n-grams of backbone.char_analyzer ([0, 0] = none)"},
    {"backbone.char_analyzer", K_ENUM, "char_wb", "char_wb|char", .when = "backbone.type=tfidf",
     .help = "char_wb: n-grams inside whitespace-separated words padded with spaces; char: n-grams "
             "of the whole text (as scikit-learn's analyzers)"},
    {"backbone.min_df", K_INT, "2", RANGE('[', 1, 1000000000, ']'), .when = "backbone.type=tfidf",
     .help = "keep terms in at least this many train texts"},
    {"backbone.max_df", K_FLOAT, "1.0", RANGE('(', 0, 1, ']'), .when = "backbone.type=tfidf",
     .help = "keep terms in at most this fraction of train texts"},
    {"backbone.word_max_features", K_INT, "200000", RANGE('[', 1, 4000000, ']'), .when = "backbone.type=tfidf",
     .help = "word terms kept: the most frequent in train (also the table's word rows)"},
    {"backbone.char_max_features", K_INT, "300000", RANGE('[', 1, 4000000, ']'), .when = "backbone.type=tfidf",
     .help = "character terms kept: the most frequent in train (also the table's char rows)"},
    {"backbone.sublinear_tf", K_BOOL, "true", .when = "backbone.type=tfidf", .help = "tf = 1 + ln(count)"},
    {"backbone.use_idf", K_BOOL, "true", .when = "backbone.type=tfidf", .help = "weight by inverse document frequency"},
    {"backbone.smooth_idf", K_BOOL, "true", .when = "backbone.type=tfidf",
     .help = "idf = ln((1 + n) / (1 + df)) + 1 (false: ln(n / df) + 1)"},
    {"backbone.norm", K_ENUM, "l2", "l2|l1|none", .when = "backbone.type=tfidf",
     .help = "row normalisation, per analyzer (as two TfidfVectorizers side by side)"},
    {"backbone.feature_dropout", K_FLOAT, "0.0", RANGE('[', 0, 1, ')'), .when = "backbone.type=tfidf",
     .help = "training only: each tf-idf term of a row is dropped with this probability (the "
             "others scaled by 1 / (1 - p))"},
    {"backbone.lowercase", K_BOOL, "true", .when = "backbone.type=tfidf|cnn|rnn|transformer", .help = "lowercase first"},
    {"backbone.freeze", K_ENUM, "none", "none|all", .when = "backbone.type=tfidf",
     .help = "all: no trained table; the tf-idf row is projected to dim columns by signed feature "
             "hashing (a fixed featurizer: its outputs are cached, see emolab cache)"},
    {"backbone.tokens", K_ENUM, "word", "word|char", .when = "backbone.type=cnn|rnn|transformer",
     .help = "sequence unit: word (words and single punctuation/symbol marks) or char (code points)"},
    {"backbone.char_ngrams", K_INT_PAIR, "[3, 5]", RANGE('[', 0, 16, ']'), .when = "backbone.type=cnn|rnn",
     .help = "a token's vector is the mean of its own hashed embedding and those of its character "
             "n-grams: of <word> for word tokens, ending at the position for char tokens ([0, 0] = none)"},
    {"backbone.buckets", K_INT, "524288", RANGE('[', 1, 1073741824, ']'), .when = "backbone.type=cnn|rnn",
     .help = "hash buckets (rows of the embedding table)"},
    {"backbone.dim", K_INT, "128", RANGE('[', 1, 65536, ']'), .when = "backbone.type=cnn|rnn",
     .help = "token embedding width"},
    {"backbone.max_len", K_INT, "128", RANGE('[', 1, 100000, ']'), .when = "backbone.type=cnn|rnn|transformer",
     .help = "tokens per text; longer texts keep their first max_len tokens"},
    {"backbone.emb_dropout", K_FLOAT, "0.2", RANGE('[', 0, 1, ')'), .when = "backbone.type=cnn|rnn",
     .help = "dropout on token embeddings"},
    {"backbone.emb_init_std", K_FLOAT, "0.0", RANGE('[', 0, 10, ']'), .when = "backbone.type=cnn|rnn",
     .help = "embedding init N(0, std^2); 0 = zeros (untouched rows stay zero: sparse checkpoint)"},
    {"backbone.kernels", K_INT_LIST, "[2, 3, 4]", RANGE('[', 1, 64, ']'), .max_items = 16,
     .when = "backbone.type=cnn", .help = "convolution widths, one conv1d of `filters` channels each"},
    {"backbone.filters", K_INT, "128", RANGE('[', 1, 65536, ']'), .when = "backbone.type=cnn",
     .help = "output channels per kernel width"},
    {"backbone.pooling", K_ENUM, "max", "max|mean|maxmean", .when = "backbone.type=cnn",
     .help = "over time, padding masked: max, mean, or both concatenated"},
    {"backbone.cell", K_ENUM, "gru", "gru|lstm", .when = "backbone.type=rnn", .help = "recurrent cell"},
    {"backbone.hidden", K_INT, "128", RANGE('[', 1, 65536, ']'), .when = "backbone.type=rnn",
     .help = "hidden size per direction"},
    {"backbone.layers", K_INT, "1", RANGE('[', 1, 16, ']'), .when = "backbone.type=rnn",
     .help = "stacked recurrent layers"},
    {"backbone.bidirectional", K_BOOL, "true", .when = "backbone.type=rnn", .help = "both directions"},
    {"backbone.dropout", K_FLOAT, "0.0", RANGE('[', 0, 1, ')'), .when = "backbone.type=rnn",
     .help = "dropout between stacked recurrent layers"},
    {"backbone.pooling", K_ENUM, "max", "max|mean|maxmean|last", .when = "backbone.type=rnn",
     .help = "over time, padding masked: max, mean, both, or last (final state of each direction)"},
    {"backbone.buckets", K_INT, "32768", RANGE('[', 1, 16777214, ']'), .when = "backbone.type=transformer",
     .help = "hash buckets of tokens (the vocabulary: buckets + 2 rows, with [PAD] and [CLS])"},
    {"backbone.hidden", K_INT, "128", RANGE('[', 1, 65536, ']'), .when = "backbone.type=transformer",
     .help = "model width (d_model)"},
    {"backbone.layers", K_INT, "2", RANGE('[', 0, 128, ']'), .when = "backbone.type=transformer",
     .help = "encoder layers (0 = embeddings only)"},
    {"backbone.heads", K_INT, "4", RANGE('[', 1, 65536, ']'), .when = "backbone.type=transformer",
     .help = "attention heads (must divide hidden)"},
    {"backbone.intermediate", K_INT, "512", RANGE('[', 1, 1048576, ']'), .when = "backbone.type=transformer",
     .help = "feed-forward width"},
    {"backbone.dropout", K_FLOAT, "0.1", RANGE('[', 0, 1, ')'), .when = "backbone.type=transformer",
     .help = "dropout on embeddings, attention output and feed-forward output"},
    {"backbone.attn_dropout", K_FLOAT, "0.1", RANGE('[', 0, 1, ')'), .when = "backbone.type=transformer",
     .help = "dropout on attention probabilities"},
    {"backbone.init_std", K_FLOAT, "0.02", RANGE('(', 0, 10, ']'), .when = "backbone.type=transformer",
     .help = "init of matrices and tables: N(0, init_std^2); biases 0, LayerNorm 1 / 0 (BERT's)"},
    {"backbone.pooling", K_ENUM, "cls", "cls|mean|max", .when = "backbone.type=transformer",
     .help = "text vector: the [CLS] token's (prepended to every text), or the masked mean or max "
             "over [CLS] and the tokens"},
    {"backbone.lr_scale", K_FLOAT, "1.0", RANGE('(', 0, 1e6, ']'), .when = "backbone.type=tfidf|cnn|rnn|transformer",
     .help = "backbone learning rate = train.lr * lr_scale"},

    {"head", K_SECTION, "{}", .help = "the classifier on top of the pooled features"},
    {"head.layers", K_INT_LIST, "[]", RANGE('[', 1, 1048576, ']'), .max_items = EL_MAX_LAYERS,
     .help = "hidden sizes; depth = len + 1 linear layers ([] = a single linear layer, legitimate)"},
    {"head.dropout", K_FLOAT, "0.1", RANGE('[', 0, 1, ')'), .help = "dropout before each linear layer"},
    {"head.activation", K_ENUM, "relu", "relu|gelu|silu|leaky_relu|tanh",
     .help = "activation after each hidden layer"},
    {"head.norm", K_ENUM, "none", "none|layer|batch|group",
     .help = "normalisation after each hidden layer (needs at least one hidden layer)"},
    {"head.norm_groups", K_INT, "8", RANGE('[', 1, 4096, ']'),
     .help = "groups of group norm (must divide every hidden size)"},
    {"head.residual", K_BOOL, "false",
     .help = "residual connections around hidden layers whose input and output sizes match"},
    {"head.heads", K_INT, "1", RANGE('[', 1, 16, ']'), .help = "parallel heads combined by head.meta"},
    {"head.meta", K_ENUM, "linear", "linear|mean",
     .help = "how parallel heads combine: linear (a meta-layer over their outputs) or mean"},

    {"train", K_SECTION, "{}", .help = "optimisation"},
    {"train.epochs", K_INT, "10", RANGE('[', 1, 100000, ']'), .help = "maximum epochs"},
    {"train.batch_size", K_INT, "64", RANGE('[', 1, 1048576, ']'), .help = "examples per step"},
    {"train.optimizer", K_ENUM, "adamw", "adamw|sgd", .help = "optimizer"},
    {"train.lr", K_FLOAT, "0.001", ABOVE(0), .help = "peak learning rate"},
    {"train.weight_decay", K_FLOAT, "0.01", AT_LEAST(0), .help = "decoupled (adamw) or L2 (sgd) weight decay"},
    {"train.momentum", K_FLOAT, "0.9", RANGE('[', 0, 1, ')'), .help = "sgd momentum (unused by adamw)"},
    {"train.scheduler", K_ENUM, "constant", "constant|linear|cosine",
     .help = "learning-rate schedule after warmup (linear and cosine decay to 0)"},
    {"train.warmup", K_FLOAT, "0.0", RANGE('[', 0, 1, ')'), .help = "linear warmup, fraction of all steps"},
    {"train.loss", K_ENUM, "bce", "bce|focal", .help = "BCE with logits, or focal loss"},
    {"train.focal_gamma", K_FLOAT, "2.0", RANGE('[', 0, 100, ']'), .help = "focal loss gamma (loss: focal)"},
    {"train.class_weights", K_ENUM, "none", "none|balanced",
     .help = "balanced: positive weight = negatives / positives per class"},
    {"train.grad_clip", K_FLOAT, "0.0", AT_LEAST(0), .help = "clip the gradient norm to this (0 = off)"},
    {"train.seed", K_INT, "42", AT_LEAST(0), .help = "seed of every random choice (init, shuffling, dropout)"},
    {"train.early_stopping", K_SECTION, "{}", .help = "stop when the metric stops improving"},
    {"train.early_stopping.metric", K_ENUM, "val_weighted_f1", "val_weighted_f1|val_macro_f1|val_loss",
     .help = "the metric that picks the best epoch (the kept checkpoint)"},
    {"train.early_stopping.patience", K_INT, "0", RANGE('[', 0, 100000, ']'),
     .help = "epochs without improvement before stopping (0 = never stop early)"},
    {"train.threads", K_INT, "0", RANGE('[', 0, 1024, ']'), .help = "libtorch threads (0 = all cores)"},
    {"train.device", K_ENUM, "cpu", "cpu|cuda", .help = "where to train"},
    {"train.head_lr", K_FLOAT, "0.0", AT_LEAST(0), .when = "backbone.type=hf",
     .help = "learning rate of the head (and pooling) parameters (0 = train.lr)"},
    {"train.grad_accum", K_INT, "1", RANGE('[', 1, 4096, ']'), .when = "backbone.type=hf",
     .help = "micro-batches of batch_size accumulated per optimizer step"},

    {"threshold", K_SECTION, "{}", .help = "decision thresholds on the sigmoid outputs"},
    {"threshold.mode", K_ENUM, "per_class", "fixed|global|per_class",
     .help = "fixed: threshold.value; global: one tuned on val; per_class: one per label tuned on val"},
    {"threshold.value", K_FLOAT, "0.5", RANGE('(', 0, 1, ')'), .help = "the threshold of mode fixed"},
    {"threshold.grid_step", K_FLOAT, "0.01", RANGE('(', 0, 0.5, ']'), .help = "step of the tuning grid"},
};
#define N_SCHEMA ((int32_t)(sizeof SCHEMA / sizeof SCHEMA[0]))

#define MAX_ERRORS 20

/* ---- small helpers --------------------------------------------------------------------------- */
static const char *leaf_of(const char *path) {
    const char *d = strrchr(path, '.');
    return d ? d + 1 : path;
}

/* Is `path` a direct child of namespace `ns` ("" = the root)? */
static bool is_child(const char *path, const char *ns) {
    size_t n = strlen(ns);
    if (n == 0) return strchr(path, '.') == NULL;
    return strncmp(path, ns, n) == 0 && path[n] == '.' && strchr(path + n + 1, '.') == NULL;
}

static bool choice_in(const char *choices, const char *v) {
    size_t n = strlen(v);
    const char *p = choices;
    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

/* Optimal-string-alignment distance (a transposition costs 1), capped at 99. */
static int32_t edit_distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64) return 99;
    int32_t d[65][65];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int32_t)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int32_t)j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            int32_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int32_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best) best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[n][m];
}

static int32_t close_enough(const char *word) {
    int32_t n = (int32_t)strlen(word);
    int32_t t = n / 3;
    return t < 1 ? 1 : t > 3 ? 3 : t;
}

/* The closest of `choices` ("a|b|c") to `v`, or NULL. Writes into out. */
static const char *closest_choice(const char *choices, const char *v, char *out, size_t cap) {
    int32_t best = 99;
    const char *p = choices;
    out[0] = 0;
    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        char c[128];
        snprintf(c, sizeof c, "%.*s", (int)(len < 127 ? len : 127), p);
        int32_t d = strcasecmp(v, c) == 0 ? 0 : edit_distance(v, c); /* GELU -> gelu */
        if (d < best) {
            best = d;
            snprintf(out, cap, "%s", c);
        }
        p = bar ? bar + 1 : NULL;
    }
    return best <= close_enough(v) ? out : NULL;
}

/* A safe file-name component: [A-Za-z0-9._-]+, not starting with '.' or '-', no "..". */
static bool safe_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 128 || s[0] == '.' || s[0] == '-' || strstr(s, "..")) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '-' || c == '_' || c == '.')) return false;
    }
    return true;
}

static bool ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* ---- validation context and errors ------------------------------------------------------------ */
typedef struct {
    char *text;          /* "file:line:col: key: what" */
    int32_t line, col;
    int64_t seq;
} verror;

typedef struct {
    const char *file;    /* the spec's name (positions of values that came from defaults) */
    el_node *out;        /* the resolved root being built */
    verror *errs;
    int64_t n_errs, cap_errs;
} vctx;

static void verr(vctx *v, const el_node *at, int32_t line, int32_t col, const char *key,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void verr(vctx *v, const el_node *at, int32_t line, int32_t col, const char *key,
                 const char *fmt, ...) {
    const char *file = at && at->file ? at->file : v->file;
    if (at && line <= 0) {
        line = at->line;
        col = at->col;
    }
    el_buf b = {0};
    if (line > 0)
        el_buf_printf(&b, "%s:%d:%d: ", file, line, col);
    else
        el_buf_printf(&b, "%s: ", file);
    if (key && *key) el_buf_printf(&b, "%s: ", key);
    va_list ap;
    va_start(ap, fmt);
    el_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    el_grow(v->errs, &v->cap_errs, v->n_errs + 1);
    v->errs[v->n_errs] = (verror){el_buf_take(&b), line, col, v->n_errs};
    v->n_errs++;
}

static int cmp_err(const void *a, const void *b) {
    const verror *x = a, *y = b;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    if (x->col != y->col) return x->col < y->col ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Sets el_err to the errors in document order, one per line; frees them. */
static int flush_errors(vctx *v) {
    el_qsort(v->errs, (size_t)v->n_errs, sizeof *v->errs, cmp_err);
    el_buf b = {0};
    for (int64_t i = 0; i < v->n_errs; i++) {
        if (i < MAX_ERRORS) {
            if (i) el_buf_putc(&b, '\n');
            el_buf_puts(&b, v->errs[i].text);
        }
        free(v->errs[i].text);
    }
    if (v->n_errs > MAX_ERRORS) el_buf_printf(&b, "\n(and %lld more errors)", (long long)(v->n_errs - MAX_ERRORS));
    free(v->errs);
    v->errs = NULL;
    v->n_errs = v->cap_errs = 0;
    el_err("%s", b.s ? b.s : "invalid spec");
    el_buf_free(&b);
    return EL_ERR;
}

/* "the number 1.5", "a string (\"abc\")", "a list", ... */
static void describe(const el_node *n, char *out, size_t cap) {
    if (!n || n->kind == EL_NODE_NULL) {
        snprintf(out, cap, "nothing (null)");
        return;
    }
    if (n->kind == EL_NODE_MAP) {
        snprintf(out, cap, "a mapping");
        return;
    }
    if (n->kind == EL_NODE_SEQ) {
        snprintf(out, cap, "a list");
        return;
    }
    const char *s = n->scalar ? n->scalar : "";
    const char *ell = strlen(s) > 40 ? "..." : "";
    if (n->quoted) {
        snprintf(out, cap, "a string (\"%.40s%s\")", s, ell);
    } else if (el_number_kind(s) == 1) {
        snprintf(out, cap, "the integer %.40s%s", s, ell);
    } else if (el_number_kind(s) == 2) {
        snprintf(out, cap, "the number %.40s%s", s, ell);
    } else if (!strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "True") ||
               !strcmp(s, "False") || !strcmp(s, "TRUE") || !strcmp(s, "FALSE")) {
        snprintf(out, cap, "the boolean %s", s);
    } else {
        snprintf(out, cap, "a string (\"%.40s%s\")", s, ell);
    }
}

static void fmt_num(const schema_key *k, double x, char *out, size_t cap) {
    if (k->type == K_FLOAT)
        snprintf(out, cap, "%g", x);
    else
        snprintf(out, cap, "%lld", (long long)x);
}

/* "[0, 1)", "> 0", ">= 0", "<= 5" */
static void fmt_range(const schema_key *k, char *out, size_t cap) {
    char lo[32], hi[32];
    fmt_num(k, k->lo, lo, sizeof lo);
    fmt_num(k, k->hi, hi, sizeof hi);
    if (k->lo_b && k->hi_b)
        snprintf(out, cap, "%c%s, %s%c", k->lo_b, lo, hi, k->hi_b);
    else if (k->lo_b)
        snprintf(out, cap, "%s %s", k->lo_b == '[' ? ">=" : ">", lo);
    else if (k->hi_b)
        snprintf(out, cap, "%s %s", k->hi_b == ']' ? "<=" : "<", hi);
    else
        snprintf(out, cap, "any");
}

static bool in_range(const schema_key *k, double x) {
    if (k->lo_b == '[' && !(x >= k->lo)) return false;
    if (k->lo_b == '(' && !(x > k->lo)) return false;
    if (k->hi_b == ']' && !(x <= k->hi)) return false;
    if (k->hi_b == ')' && !(x < k->hi)) return false;
    return true;
}

static void type_name(const schema_key *k, char *out, size_t cap) {
    switch (k->type) {
    case K_SECTION: snprintf(out, cap, "a mapping"); break;
    case K_INT: snprintf(out, cap, "an integer"); break;
    case K_FLOAT: snprintf(out, cap, "a number"); break;
    case K_BOOL: snprintf(out, cap, "true or false"); break;
    case K_STRING:
    case K_TEXT: snprintf(out, cap, "a string"); break;
    case K_NAME: snprintf(out, cap, "a name (letters, digits, '-', '_', '.')"); break;
    case K_LABELSET: snprintf(out, cap, "a label-set name or a .yaml path"); break;
    case K_ENUM: snprintf(out, cap, "one of %s", k->choices); break;
    case K_INT_LIST: snprintf(out, cap, "a list of integers"); break;
    case K_INT_PAIR: snprintf(out, cap, "a list of two integers [min, max]"); break;
    case K_SOURCE: snprintf(out, cap, "a source mapping {path, format, ...}"); break;
    case K_SOURCE_LIST: snprintf(out, cap, "a list of sources [{path, format, ...}, ...]"); break;
    }
}

static void wrong_type(vctx *v, const schema_key *k, const el_node *n, const char *disp) {
    char want[160], got[96];
    type_name(k, want, sizeof want);
    describe(n, got, sizeof got);
    verr(v, n, 0, 0, disp, "expected %s, got %s", want, got);
}

/* A resolved scalar carrying the position of the node it came from. */
static el_node *out_scalar(const char *text, bool quoted, const el_node *from) {
    el_node *o = el_node_new_scalar(text, quoted, from ? from->file : NULL);
    if (from) {
        o->line = from->line;
        o->col = from->col;
    }
    return o;
}

static el_node *out_container(el_node_kind kind, const el_node *from) {
    el_node *o = el_node_new(kind, from ? from->file : NULL);
    if (from) {
        o->line = from->line;
        o->col = from->col;
    }
    return o;
}

/* ---- condition rows ("backbone.type=bow|tfidf") ------------------------------------------------ */
/* 1 the row applies, 0 it does not, -1 unknown (the key it depends on is invalid or missing). */
static int when_state(const schema_key *k, const el_node *out_root) {
    if (!k->when) return 1;
    const char *eq = strchr(k->when, '=');
    char key[128];
    snprintf(key, sizeof key, "%.*s", (int)(eq - k->when), k->when);
    const el_node *n = el_node_get(out_root, key);
    if (!n || n->kind != EL_NODE_SCALAR) return -1;
    return choice_in(eq + 1, n->scalar) ? 1 : 0;
}

/* ---- value checks ------------------------------------------------------------------------------ */
static void check_section(vctx *v, const char *ns, const el_node *in, const char *disp_prefix,
                          el_node *out, const el_node *pos);

static bool parse_int_node(vctx *v, const schema_key *k, const el_node *n, const char *disp,
                           int64_t *val) {
    if (n->kind != EL_NODE_SCALAR || n->quoted) {
        schema_key as_int = *k;
        as_int.type = K_INT;
        wrong_type(v, &as_int, n, disp);
        return false;
    }
    const char *s = n->scalar;
    int kind = el_number_kind(s);
    char range[128];
    fmt_range(k, range, sizeof range);
    if (kind == 2) {
        verr(v, n, 0, 0, disp, "expected an integer, got the number %.40s (write integers without "
                               "a fraction or exponent), allowed %s", s, range);
        return false;
    }
    if (kind != 1) {
        schema_key as_int = *k;
        as_int.type = K_INT;
        wrong_type(v, &as_int, n, disp);
        return false;
    }
    if (el_parse_i64(s, val) != EL_OK) {
        verr(v, n, 0, 0, disp, "%.40s%s is too large for an integer, allowed %s", s,
             strlen(s) > 40 ? "..." : "", range);
        return false;
    }
    if (!in_range(k, (double)*val)) {
        verr(v, n, 0, 0, disp, "%lld is out of range, allowed %s", (long long)*val, range);
        return false;
    }
    return true;
}

static el_node *check_int(vctx *v, const schema_key *k, const el_node *n, const char *disp) {
    int64_t x;
    if (!parse_int_node(v, k, n, disp, &x)) return NULL;
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)x);
    return out_scalar(t, false, n);
}

static el_node *check_float(vctx *v, const schema_key *k, const el_node *n, const char *disp) {
    if (n->kind != EL_NODE_SCALAR || n->quoted) {
        wrong_type(v, k, n, disp);
        return NULL;
    }
    const char *s = n->scalar;
    char range[128];
    fmt_range(k, range, sizeof range);
    if (!el_number_kind(s)) {
        const char *t = s + (*s == '+' || *s == '-');
        if (!strcasecmp(t, ".inf") || !strcasecmp(t, "inf") || !strcasecmp(t, ".nan") ||
            !strcasecmp(t, "nan") || !strcasecmp(t, "infinity"))
            verr(v, n, 0, 0, disp, "expected a finite number, got %.40s, allowed %s", s, range);
        else
            wrong_type(v, k, n, disp);
        return NULL;
    }
    errno = 0;
    double x = strtod(s, NULL);
    if (errno == ERANGE || !isfinite(x)) {
        verr(v, n, 0, 0, disp, "%.40s%s is %s to be represented as a double, allowed %s", s,
             strlen(s) > 40 ? "..." : "", fabs(x) > 1 || !isfinite(x) ? "too large" : "too small",
             range);
        return NULL;
    }
    if (!in_range(k, x)) {
        verr(v, n, 0, 0, disp, "%.40s is out of range, allowed %s", s, range);
        return NULL;
    }
    char t[40];
    el_format_double(x, t);
    return out_scalar(t, false, n);
}

static el_node *check_bool(vctx *v, const schema_key *k, const el_node *n, const char *disp) {
    if (n->kind == EL_NODE_SCALAR && !n->quoted) {
        const char *s = n->scalar;
        if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) return out_scalar("true", false, n);
        if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) return out_scalar("false", false, n);
        if (!strcasecmp(s, "yes") || !strcasecmp(s, "no") || !strcasecmp(s, "on") || !strcasecmp(s, "off") ||
            !strcasecmp(s, "y") || !strcasecmp(s, "n")) {
            verr(v, n, 0, 0, disp, "expected true or false, got %.40s (yes/no/on/off are not booleans "
                                   "here)", s);
            return NULL;
        }
    }
    wrong_type(v, k, n, disp);
    return NULL;
}

static el_node *check_string(vctx *v, const schema_key *k, const el_node *n, const char *disp) {
    if (n->kind != EL_NODE_SCALAR) {
        wrong_type(v, k, n, disp);
        return NULL;
    }
    const char *s = n->scalar;
    size_t len = strlen(s), max = k->type == K_TEXT ? 65536 : 4096;
    if (len > max) {
        verr(v, n, 0, 0, disp, "a string of %zu bytes, allowed at most %zu", len, max);
        return NULL;
    }
    if (el_utf8_invalid_at(s, len) >= 0) {
        verr(v, n, 0, 0, disp, "invalid UTF-8");
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 || c == 0x7f) && !(k->type == K_TEXT && (c == '\n' || c == '\t'))) {
            verr(v, n, 0, 0, disp, "a control character (0x%02x) in the string; %s", c,
                 k->type == K_TEXT ? "only newlines and tabs are allowed" : "it must be one line");
            return NULL;
        }
    }
    if (k->type == K_NAME && !safe_name(s)) {
        verr(v, n, 0, 0, disp, "'%.60s' is not a safe name: use letters, digits, '-', '_', '.' (no "
                               "'/', no '..', not starting with '.' or '-', at most 128 characters)",
             s);
        return NULL;
    }
    if (k->type == K_LABELSET && !safe_name(s) && !ends_with(s, ".yaml") && !ends_with(s, ".yml")) {
        verr(v, n, 0, 0, disp, "'%.60s' is neither a label-set name (letters, digits, '-', '_', '.') "
                               "nor a path to a .yaml file", s);
        return NULL;
    }
    if ((k->type == K_STRING) && !strcmp(k->path, "source.path") && len == 0) {
        verr(v, n, 0, 0, disp, "an empty path; give the CSV file");
        return NULL;
    }
    return out_scalar(s, true, n);
}

static el_node *check_enum(vctx *v, const schema_key *k, const el_node *n, const char *disp) {
    if (n->kind != EL_NODE_SCALAR) {
        wrong_type(v, k, n, disp);
        return NULL;
    }
    if (choice_in(k->choices, n->scalar)) return out_scalar(n->scalar, true, n);
    char sug[128];
    if (closest_choice(k->choices, n->scalar, sug, sizeof sug))
        verr(v, n, 0, 0, disp, "unknown value '%.60s', did you mean %s? allowed %s", n->scalar, sug,
             k->choices);
    else
        verr(v, n, 0, 0, disp, "unknown value '%.60s', allowed %s", n->scalar, k->choices);
    return NULL;
}

static el_node *check_int_list(vctx *v, const schema_key *k, const el_node *n, const char *disp) {
    if (n->kind != EL_NODE_SEQ) {
        wrong_type(v, k, n, disp);
        return NULL;
    }
    if (k->type == K_INT_PAIR && n->n != 2) {
        verr(v, n, 0, 0, disp, "expected two integers [min, max], got a list of %d", n->n);
        return NULL;
    }
    if (k->max_items && n->n > k->max_items) {
        verr(v, n, 0, 0, disp, "a list of %d items, allowed at most %d", n->n, k->max_items);
        return NULL;
    }
    el_node *o = out_container(EL_NODE_SEQ, n);
    bool ok = true;
    int64_t first = 0;
    for (int32_t i = 0; i < n->n; i++) {
        char d[256];
        snprintf(d, sizeof d, "%s[%d]", disp, i);
        int64_t x;
        if (!parse_int_node(v, k, n->items[i], d, &x)) {
            ok = false;
            continue;
        }
        if (i == 0) first = x;
        if (k->type == K_INT_PAIR && i == 1 && x < first) {
            verr(v, n, 0, 0, disp, "min %lld is larger than max %lld; write [min, max]",
                 (long long)first, (long long)x);
            ok = false;
        }
        char t[32];
        snprintf(t, sizeof t, "%lld", (long long)x);
        el_node_seq_push(o, out_scalar(t, false, n->items[i]));
    }
    if (!ok) {
        el_node_free(o);
        return NULL;
    }
    return o;
}

static el_node *check_source(vctx *v, const schema_key *k, const el_node *n, const char *disp) {
    if (n->kind != EL_NODE_MAP) {
        wrong_type(v, k, n, disp);
        return NULL;
    }
    el_node *o = out_container(EL_NODE_MAP, n);
    int64_t before = v->n_errs;
    check_section(v, "source", n, disp, o, n);
    if (v->n_errs != before) {
        el_node_free(o);
        return NULL;
    }
    return o;
}

static el_node *check_source_list(vctx *v, const schema_key *k, const el_node *n, const char *disp) {
    if (n->kind != EL_NODE_SEQ) {
        wrong_type(v, k, n, disp);
        return NULL;
    }
    if (n->n == 0) {
        verr(v, n, 0, 0, disp, "an empty list; give at least one source {path, format}");
        return NULL;
    }
    if (n->n > k->max_items) {
        verr(v, n, 0, 0, disp, "%d sources, allowed at most %d", n->n, k->max_items);
        return NULL;
    }
    el_node *o = out_container(EL_NODE_SEQ, n);
    bool ok = true;
    schema_key one = *k;
    one.type = K_SOURCE;
    for (int32_t i = 0; i < n->n; i++) {
        char d[256];
        snprintf(d, sizeof d, "%s[%d]", disp, i);
        el_node *s = check_source(v, &one, n->items[i], d);
        if (!s) {
            ok = false;
            continue;
        }
        el_node_seq_push(o, s);
    }
    if (!ok) {
        el_node_free(o);
        return NULL;
    }
    return o;
}

static el_node *check_value(vctx *v, const schema_key *k, const el_node *n, const char *disp) {
    switch (k->type) {
    case K_INT: return check_int(v, k, n, disp);
    case K_FLOAT: return check_float(v, k, n, disp);
    case K_BOOL: return check_bool(v, k, n, disp);
    case K_STRING:
    case K_TEXT:
    case K_NAME:
    case K_LABELSET: return check_string(v, k, n, disp);
    case K_ENUM: return check_enum(v, k, n, disp);
    case K_INT_LIST:
    case K_INT_PAIR: return check_int_list(v, k, n, disp);
    case K_SOURCE: return check_source(v, k, n, disp);
    case K_SOURCE_LIST: return check_source_list(v, k, n, disp);
    case K_SECTION: {
        if (n->kind != EL_NODE_MAP) {
            wrong_type(v, k, n, disp);
            return NULL;
        }
        el_node *o = out_container(EL_NODE_MAP, n);
        check_section(v, k->path, n, disp, o, n);
        return o;
    }
    }
    return NULL;
}

/* ---- defaults -------------------------------------------------------------------------------- */
static void strip_positions(el_node *n) {
    if (!n) return;
    free(n->file);
    n->file = NULL;
    n->line = n->col = 0;
    for (int32_t i = 0; i < n->n; i++) {
        if (n->key_line) n->key_line[i] = n->key_col[i] = 0;
        strip_positions(n->items[i]);
    }
}

static const char *sibling(const el_node *out, const char *key) {
    const el_node *n = el_node_get(out, key);
    return n && n->kind == EL_NODE_SCALAR ? n->scalar : "";
}

/* The default of row k (NULL after an error). `siblings` = the section being built. */
static el_node *default_value(vctx *v, const schema_key *k, const char *disp, const el_node *siblings,
                              const el_node *pos) {
    if (!k->def) {
        char want[160];
        type_name(k, want, sizeof want);
        verr(v, pos, 0, 0, disp, "missing, required (%s)", want);
        return NULL;
    }
    if (k->def[0] == '=') {
        const char *rule = k->def + 1;
        if (!strcmp(rule, "stem")) {
            const char *f = v->file ? v->file : "";
            const char *base = strrchr(f, '/');
            base = base ? base + 1 : f;
            char stem[160];
            snprintf(stem, sizeof stem, "%s", base);
            char *dot = strrchr(stem, '.');
            if (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml"))) *dot = 0;
            if (!safe_name(stem)) {
                verr(v, pos, 0, 0, disp, "missing, and the file name does not give a safe one; set a "
                                         "name (letters, digits, '-', '_', '.')");
                return NULL;
            }
            return el_node_new_scalar(stem, true, NULL);
        }
        if (!strcmp(rule, "variant")) {
            const el_node *train = el_node_get(siblings, "train");
            return el_node_new_scalar(train && train->n > 1 ? "ext" : "orig", true, NULL);
        }
        const char *format = sibling(siblings, "format");
        if (!strcmp(rule, "text"))
            return el_node_new_scalar(!strcmp(format, "goemotions") ? "ru_text" : "text", true, NULL);
        if (!strcmp(rule, "map"))
            return el_node_new_scalar(!strcmp(format, "columns") ? "" : format, true, NULL);
        if (!strcmp(rule, "enthusiasm")) /* no rule outside izard: null, which reads back as is */
            return !strcmp(format, "izard") ? el_node_new_scalar("drop", true, NULL)
                                            : el_node_new(EL_NODE_NULL, NULL);
        if (!strcmp(rule, "neutral"))
            return el_node_new_scalar(!strcmp(format, "izard") ? "clear_if_emotion" : "keep", true, NULL);
        verr(v, pos, 0, 0, disp, "internal error: unknown default rule %s", rule);
        return NULL;
    }
    if (k->type == K_SECTION) {
        el_node *o = el_node_new(EL_NODE_MAP, NULL);
        check_section(v, k->path, NULL, disp, o, pos);
        return o;
    }
    el_node *parsed = el_yaml_parse(k->def, strlen(k->def), "schema");
    if (!parsed) {
        verr(v, pos, 0, 0, disp, "internal error: bad default: %s", el_last_error());
        return NULL;
    }
    el_node *o = check_value(v, k, parsed, disp);
    el_node_free(parsed);
    strip_positions(o);
    return o;
}

/* ---- sections ---------------------------------------------------------------------------------- */
static void unknown_key(vctx *v, const char *ns, const el_node *in, int32_t i, const char *disp_prefix) {
    const char *key = in->keys[i];
    const el_node *val = in->items[i];
    char disp[512];
    if (disp_prefix && *disp_prefix)
        snprintf(disp, sizeof disp, "%s.%.200s", disp_prefix, key);
    else
        snprintf(disp, sizeof disp, "%.200s", key);
    int32_t line = in->key_line ? in->key_line[i] : 0, col = in->key_col ? in->key_col[i] : 0;
    const el_node *at = val;

    /* a row of this namespace that exists but not for the current condition */
    char path[512];
    snprintf(path, sizeof path, "%s%s%.200s", ns, *ns ? "." : "", key);
    for (int32_t r = 0; r < N_SCHEMA; r++) {
        if (strcmp(SCHEMA[r].path, path) != 0) continue;
        int st = when_state(&SCHEMA[r], v->out);
        if (st < 0) return; /* the condition key is already reported */
        const char *eq = strchr(SCHEMA[r].when, '=');
        char ck[128];
        snprintf(ck, sizeof ck, "%.*s", (int)(eq - SCHEMA[r].when), SCHEMA[r].when);
        verr(v, at, line, col, disp, "not a key when %s is %s (it belongs to %s %s)", ck,
             sibling(v->out, ck), ck, eq + 1);
        return;
    }
    /* the closest sibling */
    int32_t best = 99;
    const char *best_leaf = NULL;
    el_buf all = {0};
    for (int32_t r = 0; r < N_SCHEMA; r++) {
        if (!is_child(SCHEMA[r].path, ns) || when_state(&SCHEMA[r], v->out) != 1) continue;
        const char *leaf = leaf_of(SCHEMA[r].path);
        if (all.len) el_buf_puts(&all, ", ");
        el_buf_puts(&all, leaf);
        int32_t d = edit_distance(key, leaf);
        if (d < best) {
            best = d;
            best_leaf = leaf;
        }
    }
    if (best_leaf && best <= close_enough(key)) {
        if (disp_prefix && *disp_prefix)
            verr(v, at, line, col, disp, "unknown key, did you mean %s.%s?", disp_prefix, best_leaf);
        else
            verr(v, at, line, col, disp, "unknown key, did you mean %s?", best_leaf);
        el_buf_free(&all);
        return;
    }
    /* the same name in another section ("head.lr" -> train.lr) */
    for (int32_t r = 0; r < N_SCHEMA; r++) {
        if (SCHEMA[r].type == K_SECTION || strcmp(leaf_of(SCHEMA[r].path), key) != 0) continue;
        if (el_starts_with(SCHEMA[r].path, "source.")) continue;
        verr(v, at, line, col, disp, "unknown key here, did you mean %s?", SCHEMA[r].path);
        el_buf_free(&all);
        return;
    }
    if (disp_prefix && *disp_prefix)
        verr(v, at, line, col, disp, "unknown key; the keys of %s are: %s", disp_prefix, all.s ? all.s : "");
    else
        verr(v, at, line, col, disp, "unknown key; the top-level keys are: %s", all.s ? all.s : "");
    el_buf_free(&all);
}

static void check_section(vctx *v, const char *ns, const el_node *in, const char *disp_prefix,
                          el_node *out, const el_node *pos) {
    if (in && in->kind == EL_NODE_NULL) in = NULL;
    if (in && in->kind != EL_NODE_MAP) return; /* the caller reported the type */
    /* the rows of this namespace, in table order */
    for (int32_t r = 0; r < N_SCHEMA; r++) {
        const schema_key *k = &SCHEMA[r];
        if (!is_child(k->path, ns)) continue;
        if (when_state(k, v->out) != 1) continue;
        const char *leaf = leaf_of(k->path);
        char disp[512];
        if (disp_prefix && *disp_prefix)
            snprintf(disp, sizeof disp, "%s.%s", disp_prefix, leaf);
        else
            snprintf(disp, sizeof disp, "%s", leaf);
        const el_node *val = NULL;
        int32_t kline = 0, kcol = 0;
        if (in) {
            for (int32_t i = 0; i < in->n; i++) {
                if (strcmp(in->keys[i], leaf) == 0) {
                    val = in->items[i];
                    kline = in->key_line ? in->key_line[i] : 0;
                    kcol = in->key_col ? in->key_col[i] : 0;
                    break;
                }
            }
        }
        if (val && val->kind == EL_NODE_NULL) val = NULL;
        if (k->type == K_SECTION) {
            /* attached before it is filled, so that rows below can depend on its keys */
            if (val && val->kind != EL_NODE_MAP) {
                wrong_type(v, k, val, disp);
                continue;
            }
            el_node *sec = out_container(EL_NODE_MAP, val);
            el_node_map_put(out, leaf, sec);
            out->key_line[out->n - 1] = kline;
            out->key_col[out->n - 1] = kcol;
            check_section(v, k->path, val, disp, sec, val ? val : in ? in : pos);
            continue;
        }
        el_node *o;
        if (val)
            o = check_value(v, k, val, disp);
        else
            o = default_value(v, k, disp, out, in ? in : pos);
        if (!o) continue;
        el_node_map_put(out, leaf, o);
        out->key_line[out->n - 1] = kline;
        out->key_col[out->n - 1] = kcol;
    }
    if (!in) return;
    /* keys no row knows */
    for (int32_t i = 0; i < in->n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s%s%.200s", ns, *ns ? "." : "", in->keys[i]);
        bool known = false;
        for (int32_t r = 0; r < N_SCHEMA && !known; r++)
            known = !strcmp(SCHEMA[r].path, path) && when_state(&SCHEMA[r], v->out) == 1;
        if (!known) unknown_key(v, ns, in, i, disp_prefix);
    }
}

/* ---- checks across keys ------------------------------------------------------------------------- */
static int64_t node_int(const el_node *n) {
    int64_t x = 0;
    if (n && n->kind == EL_NODE_SCALAR) el_parse_i64(n->scalar, &x);
    return x;
}

/* A node's own position, or (for a default) the position of its section. */
static const el_node *placed(const el_node *n, const el_node *section) {
    return n && n->file ? n : section; /* defaults have no file */
}

/* tfidf, cnn, rnn: n-gram ranges that leave no feature, empty kernel lists. */
static void check_ngram_pair(vctx *v, const el_node *bb, const char *key, bool zero_ok) {
    const el_node *n = el_node_get(bb, key);
    if (!n || n->n != 2) return;
    int64_t lo = node_int(n->items[0]), hi = node_int(n->items[1]);
    char disp[64];
    snprintf(disp, sizeof disp, "backbone.%s", key);
    if ((lo == 0) != (hi == 0))
        verr(v, placed(n, bb), 0, 0, disp, "[%lld, %lld]: use [0, 0] for none, otherwise "
                                           "1 <= min <= max", (long long)lo, (long long)hi);
    else if (lo == 0 && !zero_ok)
        verr(v, placed(n, bb), 0, 0, disp, "[0, 0] here leaves no features; enable word or "
                                           "character n-grams");
}

static void cross_checks_backbones(vctx *v) {
    const el_node *bb = el_node_get(v->out, "backbone");
    const el_node *type = el_node_get(bb, "type");
    if (!type || type->kind != EL_NODE_SCALAR) return;
    if (!strcmp(type->scalar, "tfidf")) {
        const el_node *wn = el_node_get(bb, "word_ngrams");
        bool words = wn && wn->n == 2 && node_int(wn->items[0]) > 0;
        check_ngram_pair(v, bb, "word_ngrams", true);
        check_ngram_pair(v, bb, "char_ngrams", words);
    } else if (!strcmp(type->scalar, "cnn") || !strcmp(type->scalar, "rnn")) {
        check_ngram_pair(v, bb, "char_ngrams", true);
        const el_node *k = el_node_get(bb, "kernels");
        if (k && k->kind == EL_NODE_SEQ && k->n == 0)
            verr(v, placed(k, bb), 0, 0, "backbone.kernels", "an empty list; give at least one "
                                                             "convolution width, e.g. [2, 3, 4]");
    } else if (!strcmp(type->scalar, "transformer")) {
        const el_node *h = el_node_get(bb, "hidden"), *nh = el_node_get(bb, "heads");
        int64_t hv = h ? node_int(h) : 0, nv = nh ? node_int(nh) : 0;
        if (hv > 0 && nv > 0 && hv % nv != 0) {
            int64_t d = nv; /* the nearest divisor below */
            while (d > 1 && hv % d) d--;
            verr(v, placed(nh, bb), 0, 0, "backbone.heads", "%lld attention heads do not divide "
                 "backbone.hidden %lld; choose a divisor (e.g. %lld)", (long long)nv, (long long)hv,
                 (long long)d);
        }
    }
}

static void cross_checks(vctx *v) {
    const el_node *head = el_node_get(v->out, "head");
    const el_node *layers = el_node_get(head, "layers"), *norm = el_node_get(head, "norm");
    const el_node *residual = el_node_get(head, "residual"), *groups = el_node_get(head, "norm_groups");
    if (layers && norm && layers->n == 0 && strcmp(norm->scalar, "none") != 0)
        verr(v, placed(norm, head), 0, 0, "head.norm", "%s normalisation needs hidden layers, but head.layers is "
                                         "empty (a single linear layer); add hidden sizes or use none",
             norm->scalar);
    if (layers && residual && layers->n == 0 && !strcmp(residual->scalar, "true"))
        verr(v, placed(residual, head), 0, 0, "head.residual", "residual blocks need hidden layers, but head.layers "
                                                 "is empty (a single linear layer); add hidden sizes "
                                                 "or set false");
    if (layers && norm && groups && !strcmp(norm->scalar, "group")) {
        int64_t g = node_int(groups);
        for (int32_t i = 0; i < layers->n; i++) {
            int64_t h = node_int(layers->items[i]);
            if (g > 0 && h % g != 0) {
                verr(v, placed(groups, placed(norm, head)), 0, 0, "head.norm_groups", "%lld groups do not divide hidden size %lld "
                                                          "(head.layers[%d]); group norm needs sizes "
                                                          "divisible by the number of groups",
                     (long long)g, (long long)h, i);
                break;
            }
        }
    }
    const el_node *bb = el_node_get(v->out, "backbone");
    const el_node *type = el_node_get(bb, "type");
    if (type && !strcmp(type->scalar, "hf")) {
        const el_node *path = el_node_get(bb, "path"), *name = el_node_get(bb, "name");
        bool has_path = path && path->kind == EL_NODE_SCALAR && path->scalar[0];
        bool has_name = name && name->kind == EL_NODE_SCALAR && name->scalar[0];
        if (has_path == has_name)
            verr(v, placed(has_path ? path : NULL, bb), 0, 0, "backbone.path",
                 has_path ? "give path or name, not both (path: a local model directory, name: "
                            "ORG/NAME@REV on the hub)"
                          : "type hf needs path (a local model directory) or name (ORG/NAME@REV "
                            "on the hub)");
    }
    if (type && !strcmp(type->scalar, "bow")) {
        const el_node *cn = el_node_get(bb, "char_ngrams"), *wn = el_node_get(bb, "word_ngrams");
        if (cn && cn->n == 2 && wn) {
            int64_t lo = node_int(cn->items[0]), hi = node_int(cn->items[1]);
            if ((lo == 0) != (hi == 0))
                verr(v, placed(cn, bb), 0, 0, "backbone.char_ngrams", "[%lld, %lld]: use [0, 0] for no character "
                                                          "n-grams, otherwise 1 <= min <= max",
                     (long long)lo, (long long)hi);
            else if (lo == 0 && node_int(wn) == 0)
                verr(v, placed(wn, bb), 0, 0, "backbone.word_ngrams", "0 with char_ngrams [0, 0] leaves no "
                                                          "features; enable words or characters");
        }
    }
    cross_checks_backbones(v);
}

/* ---- el_spec ------------------------------------------------------------------------------------- */
static char *get_str(const el_node *r, const char *path) {
    const el_node *n = el_node_get(r, path);
    return xstrdup(n && n->kind == EL_NODE_SCALAR ? n->scalar : "");
}

static char *get_str_or_null(const el_node *r, const char *path) {
    const el_node *n = el_node_get(r, path);
    return n && n->kind == EL_NODE_SCALAR && n->scalar[0] ? xstrdup(n->scalar) : NULL;
}

static int64_t get_int(const el_node *r, const char *path) { return node_int(el_node_get(r, path)); }

static double get_float(const el_node *r, const char *path) {
    const el_node *n = el_node_get(r, path);
    double x = 0;
    if (n && n->kind == EL_NODE_SCALAR) el_parse_double(n->scalar, &x);
    return x;
}

static bool get_bool(const el_node *r, const char *path) {
    const el_node *n = el_node_get(r, path);
    return n && n->kind == EL_NODE_SCALAR && !strcmp(n->scalar, "true");
}

static void fill_source(el_source_spec *s, const el_node *m) {
    s->path = get_str(m, "path");
    s->format = get_str(m, "format");
    s->text = get_str(m, "text");
    s->labels = get_str(m, "labels");
    s->id = get_str_or_null(m, "id");
    s->map = get_str_or_null(m, "map");
    s->enthusiasm = get_str_or_null(m, "enthusiasm");
    s->neutral = get_str(m, "neutral");
    s->limit = get_int(m, "limit");
}

static void free_source(el_source_spec *s) {
    free(s->path);
    free(s->format);
    free(s->text);
    free(s->labels);
    free(s->id);
    free(s->map);
    free(s->enthusiasm);
    free(s->neutral);
}

/* tfidf, cnn, rnn (see spec.h) */
static void fill_backbone_seq(el_backbone_spec *b, const el_node *r) {
    bool tfidf = !strcmp(b->type, "tfidf");
    b->dim = (int32_t)get_int(r, "backbone.dim");
    b->char_ngram_min = (int32_t)get_int(r, "backbone.char_ngrams.0");
    b->char_ngram_max = (int32_t)get_int(r, "backbone.char_ngrams.1");
    b->lowercase = get_bool(r, "backbone.lowercase");
    b->lr_scale = get_float(r, "backbone.lr_scale");
    if (tfidf) {
        b->word_ngram_min = (int32_t)get_int(r, "backbone.word_ngrams.0");
        b->word_ngram_max = (int32_t)get_int(r, "backbone.word_ngrams.1");
        b->char_analyzer = get_str(r, "backbone.char_analyzer");
        b->min_df = (int32_t)get_int(r, "backbone.min_df");
        b->max_df = get_float(r, "backbone.max_df");
        b->word_max_features = get_int(r, "backbone.word_max_features");
        b->char_max_features = get_int(r, "backbone.char_max_features");
        b->sublinear_tf = get_bool(r, "backbone.sublinear_tf");
        b->use_idf = get_bool(r, "backbone.use_idf");
        b->smooth_idf = get_bool(r, "backbone.smooth_idf");
        b->norm = get_str(r, "backbone.norm");
        b->freeze = get_str(r, "backbone.freeze");
        b->feature_dropout = get_float(r, "backbone.feature_dropout");
        return;
    }
    b->tokens = get_str(r, "backbone.tokens");
    b->buckets = get_int(r, "backbone.buckets");
    b->max_len = (int32_t)get_int(r, "backbone.max_len");
    b->emb_dropout = get_float(r, "backbone.emb_dropout");
    b->emb_init_std = get_float(r, "backbone.emb_init_std");
    if (!strcmp(b->type, "cnn")) {
        const el_node *k = el_node_get(r, "backbone.kernels");
        b->n_kernels = k ? k->n : 0;
        for (int32_t i = 0; i < b->n_kernels && i < EL_MAX_KERNELS; i++)
            b->kernels[i] = (int32_t)node_int(k->items[i]);
        b->filters = (int32_t)get_int(r, "backbone.filters");
    } else {
        b->cell = get_str(r, "backbone.cell");
        b->hidden = (int32_t)get_int(r, "backbone.hidden");
        b->layers = (int32_t)get_int(r, "backbone.layers");
        b->bidirectional = get_bool(r, "backbone.bidirectional");
        b->dropout = get_float(r, "backbone.dropout");
    }
}

static void fill_spec(el_spec *s, el_node *r) {
    s->name = get_str(r, "name");
    s->owner = get_str(r, "owner");
    s->notes = get_str(r, "notes");

    el_data_spec *d = &s->data;
    d->labels = get_str(r, "data.labels");
    d->variant = get_str(r, "data.variant");
    const el_node *train = el_node_get(r, "data.train");
    d->n_train = train ? train->n : 0;
    for (int32_t i = 0; i < d->n_train && i < EL_MAX_SOURCES; i++) fill_source(&d->train[i], train->items[i]);
    fill_source(&d->val, el_node_get(r, "data.val"));
    fill_source(&d->test, el_node_get(r, "data.test"));
    d->drop_train_overlapping_eval = get_bool(r, "data.drop_train_overlapping_eval");
    d->root = get_str_or_null(r, "data.root");

    el_backbone_spec *b = &s->backbone;
    b->type = get_str(r, "backbone.type");
    b->pooling = get_str_or_null(r, "backbone.pooling");
    if (!strcmp(b->type, "bow")) {
        b->dim = (int32_t)get_int(r, "backbone.dim");
        b->word_ngrams = (int32_t)get_int(r, "backbone.word_ngrams");
        b->char_ngram_min = (int32_t)get_int(r, "backbone.char_ngrams.0");
        b->char_ngram_max = (int32_t)get_int(r, "backbone.char_ngrams.1");
        b->buckets = get_int(r, "backbone.buckets");
        b->lowercase = get_bool(r, "backbone.lowercase");
        b->lr_scale = get_float(r, "backbone.lr_scale");
    } else if (!strcmp(b->type, "hf")) {
        b->path = get_str_or_null(r, "backbone.path");
        b->name = get_str_or_null(r, "backbone.name");
        b->max_len = (int32_t)get_int(r, "backbone.max_len");
        b->last_k = (int32_t)get_int(r, "backbone.last_k");
        b->text_prefix = get_str_or_null(r, "backbone.text_prefix");
        b->freeze = get_str(r, "backbone.freeze");
        b->freeze_k = (int32_t)get_int(r, "backbone.freeze_k");
        b->layer_lr_decay = get_float(r, "backbone.layer_lr_decay");
        b->lr_scale = get_float(r, "backbone.lr_scale");
        s->train.head_lr = get_float(r, "train.head_lr");
        s->train.grad_accum = (int32_t)get_int(r, "train.grad_accum");
    } else if (!strcmp(b->type, "tfidf") || !strcmp(b->type, "cnn") || !strcmp(b->type, "rnn")) {
        fill_backbone_seq(b, r);
    } else if (!strcmp(b->type, "transformer")) {
        b->tokens = get_str(r, "backbone.tokens");
        b->buckets = get_int(r, "backbone.buckets");
        b->max_len = (int32_t)get_int(r, "backbone.max_len");
        b->lowercase = get_bool(r, "backbone.lowercase");
        b->lr_scale = get_float(r, "backbone.lr_scale");
        b->hidden = (int32_t)get_int(r, "backbone.hidden");
        b->layers = (int32_t)get_int(r, "backbone.layers");
        b->heads = (int32_t)get_int(r, "backbone.heads");
        b->intermediate = (int32_t)get_int(r, "backbone.intermediate");
        b->dropout = get_float(r, "backbone.dropout");
        b->attn_dropout = get_float(r, "backbone.attn_dropout");
        b->init_std = get_float(r, "backbone.init_std");
    }

    el_head_spec *h = &s->head;
    const el_node *layers = el_node_get(r, "head.layers");
    h->n_layers = layers ? layers->n : 0;
    for (int32_t i = 0; i < h->n_layers && i < EL_MAX_LAYERS; i++) h->layers[i] = (int32_t)node_int(layers->items[i]);
    h->dropout = get_float(r, "head.dropout");
    h->activation = get_str(r, "head.activation");
    h->norm = get_str(r, "head.norm");
    h->norm_groups = (int32_t)get_int(r, "head.norm_groups");
    h->residual = get_bool(r, "head.residual");
    h->heads = (int32_t)get_int(r, "head.heads");
    h->meta = get_str(r, "head.meta");

    el_train_spec *t = &s->train;
    t->epochs = (int32_t)get_int(r, "train.epochs");
    t->batch_size = (int32_t)get_int(r, "train.batch_size");
    t->optimizer = get_str(r, "train.optimizer");
    t->lr = get_float(r, "train.lr");
    t->weight_decay = get_float(r, "train.weight_decay");
    t->momentum = get_float(r, "train.momentum");
    t->scheduler = get_str(r, "train.scheduler");
    t->warmup = get_float(r, "train.warmup");
    t->loss = get_str(r, "train.loss");
    t->focal_gamma = get_float(r, "train.focal_gamma");
    t->class_weights = get_str(r, "train.class_weights");
    t->grad_clip = get_float(r, "train.grad_clip");
    t->seed = get_int(r, "train.seed");
    t->es_metric = get_str(r, "train.early_stopping.metric");
    t->es_patience = (int32_t)get_int(r, "train.early_stopping.patience");
    t->threads = (int32_t)get_int(r, "train.threads");
    t->device = get_str(r, "train.device");

    el_threshold_spec *th = &s->threshold;
    th->mode = get_str(r, "threshold.mode");
    th->value = get_float(r, "threshold.value");
    th->grid_step = get_float(r, "threshold.grid_step");

    s->resolved = r;
    s->resolved_json = el_node_to_json(r, false);
    el_node *hashed = el_node_clone(r);
    el_node_map_del(hashed, "name");
    el_node_map_del(hashed, "owner");
    el_node_map_del(hashed, "notes");
    char *json = el_node_to_json(hashed, false);
    el_sha256_hex(json, strlen(json), s->config_hash);
    free(json);
    el_node_free(hashed);
}

void el_spec_free(el_spec *s) {
    if (!s) return;
    free(s->name);
    free(s->owner);
    free(s->notes);
    free(s->data.labels);
    free(s->data.variant);
    for (int32_t i = 0; i < s->data.n_train && i < EL_MAX_SOURCES; i++) free_source(&s->data.train[i]);
    free_source(&s->data.val);
    free_source(&s->data.test);
    free(s->data.root);
    free(s->backbone.type);
    free(s->backbone.pooling);
    free(s->backbone.path);
    free(s->backbone.name);
    free(s->backbone.text_prefix);
    free(s->backbone.freeze);
    free(s->backbone.char_analyzer);
    free(s->backbone.norm);
    free(s->backbone.tokens);
    free(s->backbone.cell);
    free(s->head.activation);
    free(s->head.norm);
    free(s->head.meta);
    free(s->train.optimizer);
    free(s->train.scheduler);
    free(s->train.loss);
    free(s->train.class_weights);
    free(s->train.es_metric);
    free(s->train.device);
    free(s->threshold.mode);
    free(s->file);
    el_node_free(s->resolved);
    free(s->resolved_json);
    memset(s, 0, sizeof *s);
}

/* Validates `tree` (not consumed) into `out`. */
static int validate(const el_node *tree, const char *file, el_spec *out) {
    memset(out, 0, sizeof *out);
    const char *f = file ? file : "<spec>";
    if (!tree || tree->kind == EL_NODE_NULL)
        return el_err("%s:1:1: the spec is empty; expected a mapping with the keys name, data, "
                      "backbone, head, train, threshold (emolab run --help-spec lists them)", f);
    if (tree->kind != EL_NODE_MAP) {
        char got[96];
        describe(tree, got, sizeof got);
        return el_err("%s:%d:%d: the spec must be a mapping of keys (name, data, backbone, ...), "
                      "got %s", tree->file ? tree->file : f, tree->line, tree->col, got);
    }
    vctx v = {.file = f};
    v.out = out_container(EL_NODE_MAP, tree);
    check_section(&v, "", tree, "", v.out, tree);
    if (v.n_errs == 0) cross_checks(&v);
    if (v.n_errs) {
        el_node_free(v.out);
        return flush_errors(&v);
    }
    free(v.errs);
    out->file = xstrdup(f);
    fill_spec(out, v.out);
    return EL_OK;
}

int el_spec_from_node(const el_node *root, const char *file, el_spec *out) {
    return validate(root, file, out);
}

int el_spec_parse(const char *buf, size_t len, const char *filename, el_spec *out) {
    memset(out, 0, sizeof *out);
    el_node *tree = el_yaml_parse(buf, len, filename ? filename : "<spec>");
    if (!tree) return EL_ERR;
    int rc = validate(tree, filename, out);
    el_node_free(tree);
    return rc;
}

int el_spec_apply_override(el_node *root, const char *override) {
    const char *eq = override ? strchr(override, '=') : NULL;
    if (!eq || eq == override)
        return el_err("--set %s: expected KEY=VALUE (like head.dropout=0.5 or head.layers=[512,256])",
                      override ? override : "");
    char *key = el_strndup(override, (size_t)(eq - override));
    char *origin = el_printf("--set %s", override);
    int rc = el_node_set_yaml(root, key, eq + 1, origin);
    free(key);
    free(origin);
    return rc;
}

int el_spec_load(const char *path, const char *const *overrides, int32_t n_overrides, el_spec *out) {
    memset(out, 0, sizeof *out);
    el_node *tree = el_yaml_load(path);
    if (!tree) return EL_ERR;
    for (int32_t i = 0; i < n_overrides; i++) {
        if (el_spec_apply_override(tree, overrides[i])) {
            el_node_free(tree);
            return EL_ERR;
        }
    }
    int rc = validate(tree, path, out);
    el_node_free(tree);
    return rc;
}

/* ---- parameter paths -------------------------------------------------------------------------- */
static void path_candidates(el_buf *list) {
    /* every addressable path, NUL-separated */
    for (int32_t r = 0; r < N_SCHEMA; r++) {
        const char *p = SCHEMA[r].path;
        if (el_starts_with(p, "source.")) {
            el_buf_printf(list, "data.val.%s", p + 7);
            el_buf_putc(list, 0);
            el_buf_printf(list, "data.test.%s", p + 7);
            el_buf_putc(list, 0);
            el_buf_printf(list, "data.train.0.%s", p + 7);
        } else {
            el_buf_puts(list, p);
        }
        el_buf_putc(list, 0);
    }
}

static const schema_key *find_row(const char *path) {
    for (int32_t r = 0; r < N_SCHEMA; r++)
        if (!strcmp(SCHEMA[r].path, path)) return &SCHEMA[r];
    return NULL;
}

const char *el_spec_path_type(const char *dotted) {
    if (!dotted || !*dotted || strlen(dotted) > 400 || dotted[0] == '.' || strstr(dotted, "..") ||
        dotted[strlen(dotted) - 1] == '.')
        return NULL;
    char store[512];
    snprintf(store, sizeof store, "%s", dotted);
    /* "a[1].b" -> "a.1.b" */
    char norm[512];
    size_t o = 0;
    for (const char *p = store; *p && o + 1 < sizeof norm; p++) {
        if (*p == '[') {
            if (o && norm[o - 1] != '.') norm[o++] = '.';
        } else if (*p == ']') {
            continue;
        } else {
            norm[o++] = *p;
        }
    }
    norm[o] = 0;
    char ns[512] = "";
    const schema_key *cur = NULL;
    bool in_list = false;
    char *save = NULL;
    for (char *seg = strtok_r(norm, ".", &save); seg; seg = strtok_r(NULL, ".", &save)) {
        if (in_list) {
            int64_t idx;
            if (el_parse_i64(seg, &idx) || idx < 0 || idx >= EL_MAX_SOURCES) return NULL;
            in_list = false;
            snprintf(ns, sizeof ns, "source");
            cur = NULL; /* one source */
            continue;
        }
        if (cur && cur->type != K_SECTION && cur->type != K_SOURCE) return NULL; /* below a leaf */
        char path[512];
        snprintf(path, sizeof path, "%.250s%s%.250s", ns, *ns ? "." : "", seg);
        cur = find_row(path);
        if (!cur) return NULL;
        if (cur->type == K_SOURCE)
            snprintf(ns, sizeof ns, "source");
        else if (cur->type == K_SECTION)
            snprintf(ns, sizeof ns, "%s", path);
        else if (cur->type == K_SOURCE_LIST)
            in_list = true;
    }
    if (!cur) return in_list ? "list" : "source";
    switch (cur->type) {
    case K_SECTION: return "section";
    case K_INT: return "int";
    case K_FLOAT: return "float";
    case K_BOOL: return "bool";
    case K_STRING:
    case K_TEXT:
    case K_NAME:
    case K_LABELSET: return "string";
    case K_ENUM: return "enum";
    case K_INT_LIST:
    case K_INT_PAIR: return "list";
    case K_SOURCE: return "source";
    case K_SOURCE_LIST: return "list";
    }
    return NULL;
}

bool el_spec_path_known(const char *dotted) {
    if (el_spec_path_type(dotted)) return true;
    const char *d = dotted ? dotted : "";
    el_buf cands = {0};
    path_candidates(&cands);
    const char *best = NULL;
    int32_t best_d = 99;
    const char *leaf = strrchr(d, '.');
    leaf = leaf ? leaf + 1 : d;
    for (size_t off = 0; off < cands.len; off += strlen(cands.s + off) + 1) {
        int32_t dist = edit_distance(d, cands.s + off);
        if (dist < best_d) {
            best_d = dist;
            best = cands.s + off;
        }
    }
    /* also: the same last segment under another section ("head.lr" -> train.lr) */
    const char *same_leaf = NULL;
    for (int32_t r = 0; r < N_SCHEMA && !same_leaf; r++)
        if (!el_starts_with(SCHEMA[r].path, "source.") && strchr(SCHEMA[r].path, '.') &&
            !strcmp(leaf_of(SCHEMA[r].path), leaf))
            same_leaf = SCHEMA[r].path;
    if (best && best_d <= close_enough(leaf))
        el_err("%.200s: unknown parameter path, did you mean %s? (emolab run --help-spec lists them)", d, best);
    else if (same_leaf)
        el_err("%.200s: unknown parameter path, did you mean %s? (emolab run --help-spec lists them)", d,
               same_leaf);
    else
        el_err("%.200s: unknown parameter path (emolab run --help-spec lists them)", d);
    el_buf_free(&cands);
    return false;
}

/* ---- flattened parameters ----------------------------------------------------------------------- */
typedef struct {
    char *key, *json;
} param;

static void flatten(const el_node *n, const char *prefix, param **ps, int64_t *np, int64_t *cap) {
    if (n->kind == EL_NODE_MAP) {
        for (int32_t i = 0; i < n->n; i++) {
            char *k = *prefix ? el_printf("%s.%s", prefix, n->keys[i]) : xstrdup(n->keys[i]);
            flatten(n->items[i], k, ps, np, cap);
            free(k);
        }
        return;
    }
    el_grow(*ps, cap, *np + 1);
    (*ps)[*np] = (param){xstrdup(prefix), el_node_to_json(n, false)};
    (*np)++;
}

static int cmp_param(const void *a, const void *b) {
    return strcmp(((const param *)a)->key, ((const param *)b)->key);
}

void el_spec_params(const el_spec *s, void (*fn)(const char *key, const char *json, void *ctx), void *ctx) {
    if (!s || !s->resolved || !fn) return;
    param *ps = NULL;
    int64_t np = 0, cap = 0;
    flatten(s->resolved, "", &ps, &np, &cap);
    el_qsort(ps, (size_t)np, sizeof *ps, cmp_param);
    for (int64_t i = 0; i < np; i++) {
        fn(ps[i].key, ps[i].json, ctx);
        free(ps[i].key);
        free(ps[i].json);
    }
    free(ps);
}

/* ---- the documented schema ---------------------------------------------------------------------- */
static void print_row(FILE *out, const schema_key *k, const char *shown) {
    char type[160], range[96] = "", def[200];
    switch (k->type) {
    case K_SECTION: snprintf(type, sizeof type, "section"); break;
    case K_INT: snprintf(type, sizeof type, "int"); break;
    case K_FLOAT: snprintf(type, sizeof type, "float"); break;
    case K_BOOL: snprintf(type, sizeof type, "bool"); break;
    case K_STRING:
    case K_TEXT: snprintf(type, sizeof type, "string"); break;
    case K_NAME: snprintf(type, sizeof type, "name"); break;
    case K_LABELSET: snprintf(type, sizeof type, "label set"); break;
    case K_ENUM: snprintf(type, sizeof type, "%s", k->choices); break;
    case K_INT_LIST: snprintf(type, sizeof type, "list of int"); break;
    case K_INT_PAIR: snprintf(type, sizeof type, "[min, max] of int"); break;
    case K_SOURCE: snprintf(type, sizeof type, "source"); break;
    case K_SOURCE_LIST: snprintf(type, sizeof type, "list of sources (1..%d)", k->max_items); break;
    }
    if (k->lo_b || k->hi_b) fmt_range(k, range, sizeof range);
    if (k->type == K_SECTION)
        def[0] = 0;
    else if (!k->def)
        snprintf(def, sizeof def, "required");
    else if (k->def[0] == '=')
        snprintf(def, sizeof def, "computed default (see help)");
    else
        snprintf(def, sizeof def, "default %s", k->def);
    fprintf(out, "  %-32s %s", shown, type);
    if (range[0]) fprintf(out, ", %s%s", k->type == K_INT_LIST || k->type == K_INT_PAIR ? "each " : "", range);
    if (def[0]) fprintf(out, "; %s", def);
    fprintf(out, "\n      %s", k->help);
    if (k->when) {
        const char *eq = strchr(k->when, '=');
        fprintf(out, " (only when %.*s is %s)", (int)(eq - k->when), k->when, eq + 1);
    }
    fputc('\n', out);
}

void el_spec_print_schema(FILE *out) {
    fprintf(out,
            "An experiment spec is one YAML mapping. Every key is optional unless marked required;\n"
            "a key set to null (~) takes its default. Numbers are decimal and finite; integers are\n"
            "written without fraction or exponent. `--set KEY=VALUE` overrides any key before\n"
            "validation (VALUE is YAML: 0.5, gelu, [256, 512], {path: x.csv, format: izard}).\n"
            "Errors read file:line:column: key: what is wrong, what is allowed.\n\n");
    for (int32_t r = 0; r < N_SCHEMA; r++) {
        const schema_key *k = &SCHEMA[r];
        if (el_starts_with(k->path, "source.")) continue;
        if (k->type == K_SECTION) fputc('\n', out);
        print_row(out, k, k->path);
    }
    fprintf(out, "\n  a source (each item of data.train; data.val; data.test) is a mapping:\n");
    for (int32_t r = 0; r < N_SCHEMA; r++) {
        const schema_key *k = &SCHEMA[r];
        if (!el_starts_with(k->path, "source.")) continue;
        char shown[128];
        snprintf(shown, sizeof shown, "  %s", k->path + 7);
        print_row(out, k, shown);
    }
}
