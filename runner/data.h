/* data.h: the data a spec declares -> three labelled splits in memory.
 *
 * Reads CSV sources (csv.h) by column name, maps their labels onto the spec's label set through
 * a label map loaded from YAML (labels.h, configs/labels/), concatenates the train sources,
 * drops train rows whose normalised text also occurs in val or test (counted), and fingerprints
 * each split's content. Errors name the file and the row/field: "ru_izard_emotions/train.csv:
 * row 1234 (line 1240): text: invalid UTF-8 at byte 17" (rows count data rows from 1; the line
 * is where the record starts in the file).
 *
 * Formats (columns are read by name, in any order):
 *   goemotions  text column (default ru_text) + `labels` column of id lists: [27], [ 4 27],
 *               [4, 27], ['4', '27'], [] (ids looked up in the label set's map, default
 *               `goemotions`);
 *   izard       text column (default text) + one 0/1 column per key of the map (default
 *               `izard`); every other column except the id column is an error;
 *   columns     text column (default text) + one 0/1 column named after each label of the set
 *               (other columns ignored), or per key of `map:` when one is given.
 * A label outside the map is an error naming file, row and value, never a silent drop.
 *
 * Per row, in this order: labels parsed and mapped (the source's `enthusiasm: drop|LABEL`
 * overrides the map's target of the source label `enthusiasm`; `neutral: clear_if_emotion`,
 * the default for izard, removes neutral when another label is set); text checked (valid UTF-8,
 * no NUL); train only: a row whose normalised text (non-empty) occurs in val or test is counted
 * (rows_overlap_val/test) and, with drop_train_overlapping_eval, dropped; a row with no label
 * left is dropped (rows_dropped_unmapped, all splits); an empty (whitespace-only) text is
 * counted (rows_empty_text), dropped from train and kept in val/test. val and test are read
 * first; train sources are concatenated in spec order.
 */
#ifndef EL_DATA_H
#define EL_DATA_H

#include "labels.h" /* el_labelset */
#include "spec.h"
#include <stdint.h>
#include <stdio.h>

typedef struct {
    int64_t n;          /* rows */
    char **texts;       /* n UTF-8 strings (NUL-terminated; may be empty "") */
    char **ids;         /* n row ids (source id column, or "file:row") */
    uint8_t *y;         /* n * n_labels, row-major, 0/1 */
    int32_t n_labels;
    char fingerprint[65]; /* sha256 over (text, labels) of every row, in order; the encoding
                             is "emolab-split-v1\nlabels:" + label names joined by ',' + "\n",
                             then per row: decimal byte length of the text, ':', the text, ' ',
                             n_labels characters '0'/'1', '\n' */
} el_split;

typedef struct {
    char *path;           /* resolved file path */
    char sha256[65];      /* of the file bytes */
    int64_t rows_read;    /* data rows in the file (after limit) */
    int64_t rows_kept;    /* rows that reached the split */
    int64_t rows_dropped_unmapped;  /* no label left after mapping rules */
    int64_t rows_dropped_overlap;   /* train only: normalised text seen in val/test */
    /* added by the data module: */
    char *spec_path;      /* the path as the spec wrote it */
    int64_t rows_empty_text;  /* empty (whitespace-only) texts: kept in val/test, dropped from train */
    int64_t rows_overlap_val, rows_overlap_test; /* train: rows whose normalised text occurs in
                                                    val / in test (a row may count in both) */
} el_source_stats;

typedef struct {
    el_labelset labels;
    el_split train, val, test;
    el_source_stats train_src[EL_MAX_SOURCES];
    int32_t n_train_src;
    el_source_stats val_src, test_src;
    int64_t n_dropped_overlap;  /* total train rows dropped for overlapping val/test */
    /* added by the data module: */
    char *root;                 /* the data root the paths were resolved against */
    char *labels_path;          /* the label-set file */
    double load_seconds;
} el_dataset;

/* Loads everything the data spec declares. On error: -1 and a message naming the file/place. */
int el_data_load(const el_data_spec *spec, el_dataset *out);
void el_data_free(el_dataset *d);

/* Normalised form for overlap checks: lowercase (Unicode), every run of non-letter/non-digit
 * characters collapsed to one space, trimmed. malloc'd. */
char *el_text_normalize(const char *text);

/* Resolves the data root: explicit (option) > $EMOLAB_DATA > "data". */
const char *el_data_root(const char *option);

/* The one place a spec's data path becomes a file: an absolute path is used as is, a relative
 * one is joined to `root`; http(s) URLs are refused for now ("not supported yet": the hub
 * module will download them into a cache here). malloc'd into *out; -1 + error. */
int el_data_resolve_path(const char *root, const char *path, char **out);

/* Per-label positive counts of a split (counts has split->n_labels entries). */
void el_split_label_counts(const el_split *s, int64_t *counts);

/* A few lines per split and source: rows, drops and why, label counts, fingerprints. */
void el_data_print_summary(const el_dataset *d, FILE *out);

#endif /* EL_DATA_H */
