/* tfidf_dump: emolab's tf-idf features of a case file, for tfidf_sklearn.py.
 *
 * usage: tfidf_dump CASES.json   (a JSON list of cases; prints a list of results, one per line)
 * a case: {"params": {word_min, word_max, char_min, char_max, char_wb, lowercase, min_df, max_df,
 *                   word_max_features, char_max_features, sublinear_tf, use_idf, smooth_idf,
 *                   norm: "l2"|"l1"|"none"},
 *        "fit": [texts], "apply": [texts]}
 * prints {"n_word": W, "terms": [term by id], "idf": [by id], "rows": [[[id, value], ...], ...]}
 * or {"error": "message"} when fitting fails.
 */
#include "tokenize_tfidf.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char **texts_of(json_t *a, int64_t *n) {
    *n = (int64_t)json_array_size(a);
    char **t = calloc((size_t)*n + 1, sizeof(char *));
    for (int64_t i = 0; i < *n; i++) t[i] = (char *)json_string_value(json_array_get(a, (size_t)i));
    return t;
}

static int64_t geti(json_t *p, const char *k, int64_t def) {
    json_t *v = json_object_get(p, k);
    return v ? json_integer_value(v) : def;
}

static bool getb(json_t *p, const char *k, bool def) {
    json_t *v = json_object_get(p, k);
    return v ? json_is_true(v) : def;
}

static void run_case(json_t *c) {
    json_t *pj = json_object_get(c, "params");
    el_tfidf_params p = el_tfidf_default_params();
    p.word_min = (int32_t)geti(pj, "word_min", p.word_min);
    p.word_max = (int32_t)geti(pj, "word_max", p.word_max);
    p.char_min = (int32_t)geti(pj, "char_min", p.char_min);
    p.char_max = (int32_t)geti(pj, "char_max", p.char_max);
    p.char_wb = getb(pj, "char_wb", p.char_wb);
    p.lowercase = getb(pj, "lowercase", p.lowercase);
    p.min_df = (int32_t)geti(pj, "min_df", p.min_df);
    json_t *md = json_object_get(pj, "max_df");
    if (md) p.max_df = json_number_value(md);
    p.word_max_features = geti(pj, "word_max_features", p.word_max_features);
    p.char_max_features = geti(pj, "char_max_features", p.char_max_features);
    p.sublinear_tf = getb(pj, "sublinear_tf", p.sublinear_tf);
    p.use_idf = getb(pj, "use_idf", p.use_idf);
    p.smooth_idf = getb(pj, "smooth_idf", p.smooth_idf);
    const char *norm = json_string_value(json_object_get(pj, "norm"));
    p.norm = norm && !strcmp(norm, "l1") ? EL_TFIDF_NORM_L1
             : norm && !strcmp(norm, "none") ? EL_TFIDF_NORM_NONE
                                             : EL_TFIDF_NORM_L2;
    int64_t nf, na;
    char **fit = texts_of(json_object_get(c, "fit"), &nf);
    char **apply = texts_of(json_object_get(c, "apply"), &na);
    el_tfidf_vocab v;
    json_t *out = json_object();
    if (el_tfidf_fit(&p, fit, nf, &v) != 0) {
        json_object_set_new(out, "error", json_string(el_last_error()));
    } else {
        /* the vocabulary as a checkpoint keeps it (hashes + idf), to check that path too */
        el_tfidf_vocab w;
        el_tfidf_vocab_from(&w, v.n_word, v.n_char, (const int64_t *)v.hash, v.idf);
        el_tfidf_rows r;
        el_tfidf_transform(&p, &w, apply, na, &r);
        json_t *terms = json_array(), *idf = json_array(), *rows = json_array();
        for (int64_t i = 0; i < v.n_word + v.n_char; i++) {
            json_array_append_new(terms, json_string(v.terms[i]));
            json_array_append_new(idf, json_real(v.idf[i]));
        }
        for (int64_t i = 0; i < r.n; i++) {
            json_t *row = json_array();
            for (int64_t j = r.offsets[i]; j < r.offsets[i + 1]; j++) {
                json_t *e = json_array();
                json_array_append_new(e, json_integer(r.ids[j]));
                json_array_append_new(e, json_real(r.values[j]));
                json_array_append_new(row, e);
            }
            json_array_append_new(rows, row);
        }
        json_object_set_new(out, "n_word", json_integer(v.n_word));
        json_object_set_new(out, "terms", terms);
        json_object_set_new(out, "idf", idf);
        json_object_set_new(out, "rows", rows);
        el_tfidf_rows_free(&r);
        el_tfidf_vocab_free(&w);
        el_tfidf_vocab_free(&v);
    }
    json_dumpf(out, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(out);
    free(fit);
    free(apply);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: tfidf_dump CASE.json\n");
        return 2;
    }
    json_error_t jerr;
    json_t *c = json_load_file(argv[1], 0, &jerr);
    if (!c) {
        fprintf(stderr, "%s: %s\n", argv[1], jerr.text);
        return 2;
    }
    for (size_t ci = 0; ci < json_array_size(c); ci++) run_case(json_array_get(c, ci));
    json_decref(c);
    return 0;
}
