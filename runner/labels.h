/* labels.h: label sets and label maps, loaded from YAML (configs/labels/NAME.yaml).
 *
 * A label-set file names the labels a model predicts, in output order, and for each source
 * format a map from the labels a data file uses onto them:
 *
 *     name: ekman7
 *     labels: [anger, disgust, fear, joy, sadness, surprise, neutral]
 *     maps:
 *       goemotions:          # the ids in a goemotions `labels` column
 *         2: anger           # a target label,
 *         4: [joy]           # a list of them,
 *       izard:               # the 0/1 columns of an izard file
 *         enthusiasm: ~      # or none (~, [], null): the source label is ignored
 *
 * Every source label a file may contain must be a key of the map (a label outside the map is an
 * error, not a silent drop); a key with no target says explicitly "ignore this one".
 * Sets have at most EL_MAX_LABELS labels, so a row's labels fit in one uint64_t bit mask.
 */
#ifndef EL_LABELS_H
#define EL_LABELS_H

#include "spec.h"
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t n;                      /* number of labels */
    char *names[EL_MAX_LABELS];     /* in model-output order */
} el_labelset;

typedef struct {
    char *name;        /* map name ("goemotions", "izard") */
    int32_t n;         /* source labels */
    char **sources;    /* source labels as written in the YAML key ("27", "guilt") */
    uint64_t *targets; /* bit i = label i of the set; 0 = no target (the label is ignored) */
    int32_t *lines;    /* 1-based YAML line of each entry, for messages */
} el_label_map;

#define EL_MAX_LABEL_MAPS 32

typedef struct {
    char *name;        /* the set's name ("ekman7") */
    char *path;        /* the file it was loaded from */
    el_labelset set;
    el_label_map maps[EL_MAX_LABEL_MAPS];
    int32_t n_maps;
} el_label_config;

/* Finds the file for a label-set name or path: a value containing '/' or ending in .yaml is a
 * path (used as is); otherwise NAME is looked up as labels/NAME.yaml under $EMOLAB_CONFIGS,
 * then under the compile-time EMOLAB_CONFIG_DIR. malloc'd path, or NULL + error listing the
 * places tried. */
char *el_labels_find(const char *name_or_path);

/* Loads a label-set file (by name or path, see el_labels_find). -1 + "file:line:col: key: what"
 * on error. */
int el_labels_load(const char *name_or_path, el_label_config *out);
/* Same from a buffer (tests, fuzzing); `filename` is used in messages and as the default name. */
int el_labels_parse(const char *buf, size_t len, const char *filename, el_label_config *out);
void el_labels_free(el_label_config *c);

/* The map called `name`, or NULL + an error that lists the maps the file has. */
const el_label_map *el_labels_get_map(const el_label_config *c, const char *name);
/* Index of a source label in a map, or -1. */
int32_t el_label_map_find(const el_label_map *m, const char *source);
/* Index of a label in the set, or -1. */
int32_t el_labelset_index(const el_labelset *s, const char *name);
/* "anger, disgust, ..." malloc'd. */
char *el_labelset_list(const el_labelset *s);
/* Deep copy / free of a label set. */
void el_labelset_copy(el_labelset *dst, const el_labelset *src);
void el_labelset_free(el_labelset *s);

#endif /* EL_LABELS_H */
