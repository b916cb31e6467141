/* feature_cache.h: outputs of frozen backbones, computed once per split and reused.
 *
 * When a backbone says its eval-mode output is frozen (el_backbone_ops.frozen: a frozen
 * pretrained encoder, a fixed featurizer such as tfidf with freeze: all), el_model_prepare
 * (model.h) turns each split into its [rows, out_dim] features instead of the backbone's own
 * inputs, and el_model_forward feeds them straight to the head: a sweep over heads costs the
 * heads only.
 *
 * On disk: one safetensors file per (backbone, split) under the cache directory
 * ($EMOLAB_CACHE, else $XDG_CACHE_HOME/emolab/features, else ~/.cache/emolab/features), named
 * by its key, the SHA-256 of:
 *   - the backbone's resolved spec (canonical JSON; lr_scale left out: it does not change a
 *     frozen backbone's output), which holds revision, pooling, max_len, text prefix, ...;
 *   - what the backbone adds through the hook (a resolved revision, its featurizer version);
 *   - the split's texts fingerprint (SHA-256 over the texts in order; labels play no part);
 *   - for a backbone fitted on train (EL_FEATURES_FITTED): the role (fit = train, or apply)
 *     and, for apply, the train texts fingerprint;
 *   - the row count and output width.
 * Tensors: "features" f32 [rows, dim]; for a fit entry also "state.NAME" = the backbone's
 * buffers after fitting (so a run that hits the cache still saves a complete checkpoint).
 * Metadata: emolab.cache (format), key, backbone type and config, split, role, rows, dim,
 * texts/fit fingerprints, created (UTC), sha256 (over every tensor: name, NUL, bytes, in name
 * order). Files are written to a unique temporary name and renamed into place (concurrent
 * runs computing the same entry are harmless). A hit refreshes the file's mtime ("last used").
 *
 * Reading checks everything: format, key, fingerprints (a mismatch = stale: recomputed, never
 * served), shapes and the checksum (a mismatch = corrupt: recomputed and rewritten). A cache
 * that cannot be written only costs a warning. EMOLAB_FEATURE_CACHE=0 turns the cache off.
 */
#ifndef EL_FEATURE_CACHE_H
#define EL_FEATURE_CACHE_H

#include "model.h"

#include <stdint.h>

/* What the cache did in this process (tests, logs). */
typedef struct {
    int64_t hits;      /* entries served */
    int64_t misses;    /* entries absent: computed and stored */
    int64_t stale;     /* entries whose fingerprints no longer match: recomputed */
    int64_t corrupt;   /* unreadable entries or checksum mismatches: recomputed */
    int64_t stored;    /* entries written */
} el_feature_cache_stats;

el_feature_cache_stats el_feature_cache_stats_get(void);
void el_feature_cache_stats_reset(void);

#define EL_FEATURE_CACHE_FORMAT "emolab-features-v1" /* metadata emolab.cache of an entry */

/* The cache directory (malloc'd; cache_cmd.c). */
char *el_feature_cache_dir(void);

/* The head's input for the given rows of cached features (see el_model_forward). */
ts_tensor el_feature_cache_rows(el_feature_cache *c, const void *inputs, const int64_t *rows,
                                int32_t n_rows);
void el_feature_cache_free(el_feature_cache *c);

/* SHA-256 over the texts in order (each as its byte length, ':', the bytes, '\n'). */
void el_texts_fingerprint(char *const *texts, int64_t n, char hex[65]);

#endif /* EL_FEATURE_CACHE_H */
