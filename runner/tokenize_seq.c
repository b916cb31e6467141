/* tokenize_seq.c: see tokenize_seq.h. */
#include "tokenize_seq.h"
#include "tokenize_bow.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define SEED_TOKEN 0x510e527fade682d1ULL
#define SEED_SUBWORD 0x9b05688c2b3e6c1fULL

el_seq_params el_seq_default_params(void) {
    el_seq_params p = {.chars = false, .char_min = 3, .char_max = 5, .buckets = 1 << 19,
                       .max_len = 128, .lowercase = true};
    return p;
}

typedef struct {
    int32_t *cps;
    int64_t cps_cap;
    char *buf;           /* UTF-8 of "<token>" or a char n-gram */
    int64_t buf_cap;
    int64_t *off;        /* code point offsets in buf */
    int64_t off_cap;
} scratch;

typedef struct {
    int64_t *v;
    int64_t n, cap;
} i64_vec;

static void push(i64_vec *a, int64_t x) {
    el_grow(a->v, &a->cap, a->n + 1);
    a->v[a->n++] = x;
}

static int64_t bucket_of(uint64_t h, int64_t buckets) { return (int64_t)(h % (uint64_t)buckets); }

static void encode(scratch *s, const int32_t *cps, int64_t n) {
    el_utf8_encode_offsets(cps, n, &s->buf, &s->buf_cap, &s->off, &s->off_cap);
}

/* One token's bag: the token, then its n-grams. `tok` is cps[0..n) of the token. */
static void word_bag(const el_seq_params *p, scratch *s, const int32_t *tok, int64_t n,
                     i64_vec *ids) {
    el_grow(s->cps, &s->cps_cap, n + 2);
    int32_t *w = s->cps;
    w[0] = '<';
    memcpy(w + 1, tok, (size_t)n * sizeof(int32_t));
    w[n + 1] = '>';
    encode(s, w, n + 2);
    push(ids, bucket_of(el_hash64(s->buf + s->off[1], (size_t)(s->off[n + 1] - s->off[1]), SEED_TOKEN),
                        p->buckets));
    if (p->char_min <= 0) return;
    for (int32_t g = p->char_min; g <= p->char_max; g++)
        for (int64_t i = 0; i + g <= n + 2; i++)
            push(ids, bucket_of(el_hash64(s->buf + s->off[i], (size_t)(s->off[i + g] - s->off[i]),
                                          SEED_SUBWORD + (uint64_t)g),
                                p->buckets));
}

static void featurize_text(const el_seq_params *p, scratch *s, int32_t **cps, int64_t *cps_cap,
                           const char *text, i64_vec *ids, i64_vec *id_off, int32_t *len_out) {
    size_t len = strlen(text);
    el_grow(*cps, cps_cap, (int64_t)len + 1);
    int32_t *c = *cps;
    int64_t n = 0;
    size_t pos = 0;
    while (pos < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + pos,
                                              (utf8proc_ssize_t)(len - pos), &cp);
        if (k <= 0) {
            k = 1;
            cp = ' ';
        }
        pos += (size_t)k;
        c[n++] = p->lowercase ? utf8proc_tolower(cp) : cp;
    }
    int32_t nt = 0;
    if (p->chars) {
        /* whitespace runs -> one space, trimmed */
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++) {
            if (el_cp_classify(c[i]) == EL_CP_SPACE) {
                if (m > 0 && c[m - 1] != ' ') c[m++] = ' ';
            } else {
                c[m++] = c[i];
            }
        }
        while (m > 0 && c[m - 1] == ' ') m--;
        if (m > p->max_len) m = p->max_len;
        encode(s, c, m);
        for (int64_t t = 0; t < m; t++) {
            push(id_off, ids->n);
            push(ids, bucket_of(el_hash64(s->buf + s->off[t], (size_t)(s->off[t + 1] - s->off[t]),
                                          SEED_TOKEN),
                                p->buckets));
            for (int32_t g = p->char_min > 2 ? p->char_min : 2; p->char_min > 0 && g <= p->char_max; g++)
                if (t + 1 - g >= 0)
                    push(ids, bucket_of(el_hash64(s->buf + s->off[t + 1 - g],
                                                  (size_t)(s->off[t + 1] - s->off[t + 1 - g]),
                                                  SEED_SUBWORD + (uint64_t)g),
                                        p->buckets));
        }
        nt = (int32_t)m;
    } else {
        for (int64_t i = 0; i < n && nt < p->max_len;) {
            el_cp_class k = el_cp_classify(c[i]);
            if (k == EL_CP_SPACE) {
                i++;
                continue;
            }
            int64_t j = i + 1;
            if (k == EL_CP_WORD)
                while (j < n && el_cp_classify(c[j]) == EL_CP_WORD) j++;
            push(id_off, ids->n);
            word_bag(p, s, c + i, j - i, ids);
            nt++;
            i = j;
        }
    }
    *len_out = nt;
}

int el_seq_featurize(const el_seq_params *p, char *const *texts, int64_t n, el_seq_features *out) {
    memset(out, 0, sizeof *out);
    if (p->buckets <= 0) return el_err("backbone.buckets must be > 0");
    if (p->max_len <= 0) return el_err("backbone.max_len must be > 0");
    if (p->char_min < 0 || (p->char_min > 0 && p->char_max < p->char_min))
        return el_err("backbone.char_ngrams must be [0, 0] or [min, max] with 1 <= min <= max");
    scratch s = {0};
    int32_t *cps = NULL;
    int64_t cps_cap = 0;
    i64_vec ids = {0}, id_off = {0};
    out->n = n;
    out->lengths = xmalloc((size_t)(n + 1) * sizeof(int32_t));
    out->tok_off = xmalloc((size_t)(n + 1) * sizeof(int64_t));
    out->tok_off[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        featurize_text(p, &s, &cps, &cps_cap, texts[i], &ids, &id_off, &out->lengths[i]);
        out->tok_off[i + 1] = out->tok_off[i] + out->lengths[i];
    }
    push(&id_off, ids.n);
    out->id_off = id_off.v;
    out->ids = ids.v ? ids.v : xmalloc(sizeof(int64_t));
    free(cps);
    free(s.cps);
    free(s.buf);
    free(s.off);
    return EL_OK;
}

void el_seq_features_free(el_seq_features *f) {
    free(f->lengths);
    free(f->tok_off);
    free(f->id_off);
    free(f->ids);
    memset(f, 0, sizeof *f);
}

int64_t el_seq_batch_fill(el_seq_batch *b, const el_seq_features *f, const int64_t *rows,
                          int32_t n_rows, int64_t min_t) {
    int64_t T = min_t > 1 ? min_t : 1, total = 0;
    for (int32_t i = 0; i < n_rows; i++) {
        int64_t r = rows[i];
        if (f->lengths[r] > T) T = f->lengths[r];
        total += f->id_off[f->tok_off[r + 1]] - f->id_off[f->tok_off[r]];
    }
    el_grow(b->ids, &b->ids_cap, total + 1);
    el_grow(b->offsets, &b->offsets_cap, (int64_t)n_rows * T + 1);
    el_grow(b->lengths, &b->lengths_cap, n_rows + 1);
    el_grow(b->mask, &b->mask_cap, (int64_t)n_rows * T + 1);
    int64_t at = 0;
    for (int32_t i = 0; i < n_rows; i++) {
        int64_t r = rows[i], L = f->lengths[r];
        b->lengths[i] = L;
        for (int64_t t = 0; t < T; t++) {
            b->offsets[(int64_t)i * T + t] = at;
            b->mask[(int64_t)i * T + t] = t < L ? 1.0f : 0.0f;
            if (t < L) {
                int64_t tok = f->tok_off[r] + t, s = f->id_off[tok], e = f->id_off[tok + 1];
                memcpy(b->ids + at, f->ids + s, (size_t)(e - s) * sizeof(int64_t));
                at += e - s;
            }
        }
    }
    b->n_ids = at;
    return T;
}

void el_seq_batch_free(el_seq_batch *b) {
    free(b->ids);
    free(b->offsets);
    free(b->lengths);
    free(b->mask);
    memset(b, 0, sizeof *b);
}

/* ---- length-sorted evaluation ------------------------------------------------------------------------ */
typedef struct {
    int32_t len;
    int64_t row;
    int64_t pos; /* position in the shuffled order (a stable tie-break) */
} keyed;

static int cmp_keyed(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

void el_seq_sort_rows(const el_seq_features *f, const int64_t *rows, int32_t n, int64_t *order) {
    keyed *k = xmalloc((size_t)(n + 1) * sizeof *k);
    for (int32_t i = 0; i < n; i++) k[i] = (keyed){f->lengths[rows[i]], i, i};
    el_qsort(k, (size_t)n, sizeof *k, cmp_keyed);
    for (int32_t i = 0; i < n; i++) order[i] = k[i].row;
    free(k);
}
