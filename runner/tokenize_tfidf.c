/* tokenize_tfidf.c: see tokenize_tfidf.h. */
#include "tokenize_tfidf.h"
#include "tokenize_bow.h"
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

#define SEED_WORD_TERM 0x6a09e667f3bcc908ULL
#define SEED_CHAR_TERM 0xbb67ae8584caa73bULL

el_tfidf_params el_tfidf_default_params(void) {
    el_tfidf_params p = {.word_min = 1, .word_max = 2, .char_min = 2, .char_max = 5,
                         .char_wb = true, .lowercase = true, .min_df = 2, .max_df = 1.0,
                         .word_max_features = 200000, .char_max_features = 300000,
                         .sublinear_tf = true, .use_idf = true, .smooth_idf = true,
                         .norm = EL_TFIDF_NORM_L2};
    return p;
}

uint64_t el_tfidf_term_hash(int analyzer, const char *term, int64_t len) {
    return el_hash64(term, (size_t)len, analyzer ? SEED_CHAR_TERM : SEED_WORD_TERM);
}

/* ---- code points ---------------------------------------------------------------------------- */
/* Python's \w: letters, numbers, '_' (str.isalnum() or '_'). */
static bool is_word_cp(int32_t cp) {
    if (cp == '_') return true;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return true;
    default:
        return false;
    }
}

/* Python's str.isspace() (also what re's \s matches in a str pattern). */
static bool is_space_cp(int32_t cp) {
    if (cp < 0x80) return cp == ' ' || (cp >= 9 && cp <= 13) || (cp >= 0x1c && cp <= 0x1f);
    return cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/* Scratch space of one worker, reused across texts. */
typedef struct {
    int32_t *cps;         /* code points of the (lowercased) text */
    int64_t cps_cap;
    int32_t *tmp;         /* transformed code points (char analyzer, padded words) */
    int64_t tmp_cap;
    char *enc;            /* UTF-8 of a code point sequence */
    int64_t enc_cap;
    int64_t *off;         /* byte offset of each code point in enc (+ the end) */
    int64_t off_cap;
    char *term;           /* a word n-gram being joined */
    int64_t term_cap;
    int64_t *tok_b, *tok_e; /* word tokens: byte ranges in enc */
    int64_t tok_cap;
} scratch;

static void scratch_free(scratch *s) {
    free(s->cps);
    free(s->tmp);
    free(s->enc);
    free(s->off);
    free(s->term);
    free(s->tok_b);
    free(s->tok_e);
}

/* Python's str.lower() context rules: Unicode's "cased" and "case-ignorable" properties. */
static bool is_cased(int32_t cp) {
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT ||
           utf8proc_tolower(cp) != cp || utf8proc_toupper(cp) != cp;
}

static bool is_case_ignorable(int32_t cp) {
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_SK:
        return true;
    default: /* Word_Break MidLetter, MidNumLet, Single_Quote */
        return cp == 0x27 || cp == 0x2e || cp == 0x3a || cp == 0xb7 || cp == 0x387 || cp == 0x5f4 ||
               cp == 0x2018 || cp == 0x2019 || cp == 0x2024 || cp == 0x2027 || cp == 0xfe13 ||
               cp == 0xfe52 || cp == 0xfe55 || cp == 0xff07 || cp == 0xff0e || cp == 0xff1a;
    }
}

/* Capital sigma lowercases to final sigma after a cased letter and not before one (case-
 * ignorable code points skipped), as Python's str.lower() does. */
static int32_t lower_sigma(const int32_t *raw, int64_t n, int64_t i) {
    int64_t j = i - 1;
    while (j >= 0 && is_case_ignorable(raw[j])) j--;
    if (j < 0 || !is_cased(raw[j])) return 0x3c3;
    j = i + 1;
    while (j < n && is_case_ignorable(raw[j])) j++;
    return j < n && is_cased(raw[j]) ? 0x3c3 : 0x3c2;
}

/* Code points of the text into s->cps, lowercased as Python's str.lower() (full mapping:
 * U+0130 becomes "i" + U+0307; final sigma in context; otherwise the simple mapping). */
static int64_t decode(scratch *s, const char *text, bool lowercase) {
    size_t len = strlen(text);
    el_grow(s->tmp, &s->tmp_cap, (int64_t)len + 1);
    el_grow(s->cps, &s->cps_cap, (int64_t)len + 1);
    int32_t *raw = lowercase ? s->tmp : s->cps;
    int64_t n = 0;
    size_t pos = 0;
    while (pos < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + pos,
                                              (utf8proc_ssize_t)(len - pos), &cp);
        if (k <= 0) { /* invalid byte (data loading rejects these): U+FFFD */
            k = 1;
            cp = 0xfffd;
        }
        pos += (size_t)k;
        raw[n++] = cp;
    }
    if (!lowercase) return n;
    int64_t m = 0; /* U+0130 (2 bytes) becomes 2 code points: m <= len */
    for (int64_t i = 0; i < n; i++) {
        int32_t cp = raw[i];
        if (cp == 0x130) {
            s->cps[m++] = 'i';
            s->cps[m++] = 0x307;
        } else {
            s->cps[m++] = cp == 0x3a3 ? lower_sigma(raw, n, i) : utf8proc_tolower(cp);
        }
    }
    return m;
}

static void encode(scratch *s, const int32_t *cps, int64_t n) {
    el_utf8_encode_offsets(cps, n, &s->enc, &s->enc_cap, &s->off, &s->off_cap);
}

typedef void (*term_fn)(void *ctx, int analyzer, const char *term, int64_t len);

static void word_terms(const el_tfidf_params *p, scratch *s, int64_t n, term_fn fn, void *ctx) {
    encode(s, s->cps, n);
    int64_t nt = 0;
    for (int64_t i = 0; i < n;) {
        if (!is_word_cp(s->cps[i])) {
            i++;
            continue;
        }
        int64_t j = i;
        while (j < n && is_word_cp(s->cps[j])) j++;
        if (j - i >= 2) {
            if (nt + 1 > s->tok_cap) {
                s->tok_cap = (nt + 1) * 2;
                s->tok_b = xrealloc(s->tok_b, (size_t)s->tok_cap * sizeof(int64_t));
                s->tok_e = xrealloc(s->tok_e, (size_t)s->tok_cap * sizeof(int64_t));
            }
            s->tok_b[nt] = s->off[i];
            s->tok_e[nt] = s->off[j];
            nt++;
        }
        i = j;
    }
    for (int32_t g = p->word_min; g <= p->word_max; g++) {
        for (int64_t t = 0; t + g <= nt; t++) {
            int64_t len = 0;
            for (int32_t k = 0; k < g; k++) len += s->tok_e[t + k] - s->tok_b[t + k] + 1;
            el_grow(s->term, &s->term_cap, len + 1);
            int64_t at = 0;
            for (int32_t k = 0; k < g; k++) {
                if (k) s->term[at++] = ' ';
                int64_t tl = s->tok_e[t + k] - s->tok_b[t + k];
                memcpy(s->term + at, s->enc + s->tok_b[t + k], (size_t)tl);
                at += tl;
            }
            fn(ctx, 0, s->term, at);
        }
    }
}

static void char_wb_terms(const el_tfidf_params *p, scratch *s, int64_t n, term_fn fn, void *ctx) {
    for (int64_t i = 0; i < n;) {
        if (is_space_cp(s->cps[i])) {
            i++;
            continue;
        }
        int64_t j = i;
        while (j < n && !is_space_cp(s->cps[j])) j++;
        /* " w " */
        int64_t wl = j - i + 2;
        el_grow(s->tmp, &s->tmp_cap, wl);
        s->tmp[0] = ' ';
        memcpy(s->tmp + 1, s->cps + i, (size_t)(j - i) * sizeof(int32_t));
        s->tmp[wl - 1] = ' ';
        encode(s, s->tmp, wl);
        for (int32_t g = p->char_min; g <= p->char_max; g++) {
            int64_t e = g < wl ? g : wl;
            fn(ctx, 1, s->enc, s->off[e]);
            int64_t o = 0;
            while (o + g < wl) {
                o++;
                fn(ctx, 1, s->enc + s->off[o], s->off[o + g] - s->off[o]);
            }
            if (o == 0) break; /* a short word counts once */
        }
        i = j;
    }
}

static void char_terms(const el_tfidf_params *p, scratch *s, int64_t n, term_fn fn, void *ctx) {
    /* \s\s+ -> " " */
    el_grow(s->tmp, &s->tmp_cap, n + 1);
    int64_t m = 0;
    for (int64_t i = 0; i < n;) {
        if (is_space_cp(s->cps[i]) && i + 1 < n && is_space_cp(s->cps[i + 1])) {
            while (i < n && is_space_cp(s->cps[i])) i++;
            s->tmp[m++] = ' ';
        } else {
            s->tmp[m++] = s->cps[i++];
        }
    }
    encode(s, s->tmp, m);
    for (int32_t g = p->char_min; g <= p->char_max && g <= m; g++)
        for (int64_t i = 0; i + g <= m; i++) fn(ctx, 1, s->enc + s->off[i], s->off[i + g] - s->off[i]);
}

static void text_terms(const el_tfidf_params *p, scratch *s, const char *text, term_fn fn,
                       void *ctx) {
    int64_t n = decode(s, text, p->lowercase);
    if (p->word_min > 0) word_terms(p, s, n, fn, ctx);
    if (p->char_min > 0) {
        if (p->char_wb)
            char_wb_terms(p, s, n, fn, ctx);
        else
            char_terms(p, s, n, fn, ctx);
    }
}

/* ---- fit ------------------------------------------------------------------------------------ */
typedef struct {
    uint64_t h;
    int64_t count, last_doc, str_off;
    int32_t df, str_len;
    int32_t analyzer;
} term_stat;

typedef struct {
    term_stat *e;
    int64_t n, cap;
    int64_t *slots; /* index into e, -1 empty */
    int64_t n_slots;
    char *arena;
    int64_t arena_len, arena_cap;
    int64_t doc;
} fit_map;

static void fit_rehash(fit_map *m, int64_t n_slots) {
    free(m->slots);
    m->n_slots = n_slots;
    m->slots = xmalloc((size_t)n_slots * sizeof(int64_t));
    for (int64_t i = 0; i < n_slots; i++) m->slots[i] = -1;
    for (int64_t k = 0; k < m->n; k++) {
        int64_t i = (int64_t)(m->e[k].h & (uint64_t)(n_slots - 1));
        while (m->slots[i] >= 0) i = (i + 1) & (n_slots - 1);
        m->slots[i] = k;
    }
}

static void fit_add(void *ctx, int analyzer, const char *term, int64_t len) {
    fit_map *m = ctx;
    uint64_t h = el_tfidf_term_hash(analyzer, term, len);
    if ((m->n + 1) * 2 > m->n_slots) fit_rehash(m, m->n_slots * 2);
    int64_t i = (int64_t)(h & (uint64_t)(m->n_slots - 1));
    while (m->slots[i] >= 0 && m->e[m->slots[i]].h != h) i = (i + 1) & (m->n_slots - 1);
    term_stat *t;
    if (m->slots[i] < 0) {
        el_grow(m->e, &m->cap, m->n + 1);
        m->slots[i] = m->n;
        t = &m->e[m->n++];
        el_grow(m->arena, &m->arena_cap, m->arena_len + len + 1);
        memcpy(m->arena + m->arena_len, term, (size_t)len);
        *t = (term_stat){.h = h, .last_doc = -1, .str_off = m->arena_len, .str_len = (int32_t)len,
                         .analyzer = analyzer};
        m->arena_len += len;
    } else {
        t = &m->e[m->slots[i]];
    }
    t->count++;
    if (t->last_doc != m->doc) {
        t->last_doc = m->doc;
        t->df++;
    }
}

static const char *g_arena; /* qsort comparators' view of the term strings (fit only) */

static int cmp_term(const term_stat *a, const term_stat *b) {
    int32_t n = a->str_len < b->str_len ? a->str_len : b->str_len;
    int c = memcmp(g_arena + a->str_off, g_arena + b->str_off, (size_t)n);
    if (c) return c;
    return (a->str_len > b->str_len) - (a->str_len < b->str_len);
}

static int cmp_by_term(const void *x, const void *y) { return cmp_term(x, y); }

static int cmp_by_count(const void *x, const void *y) {
    const term_stat *a = x, *b = y;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return cmp_term(a, b);
}

static pthread_mutex_t g_fit_lock = PTHREAD_MUTEX_INITIALIZER;

static int build_lookup(el_tfidf_vocab *v) {
    int64_t nt = v->n_word + v->n_char, ns = 16;
    while (ns < nt * 2 + 2) ns *= 2;
    free(v->slots);
    v->n_slots = ns;
    v->slots = xmalloc((size_t)ns * sizeof(int64_t));
    for (int64_t i = 0; i < ns; i++) v->slots[i] = -1;
    for (int64_t id = 0; id < nt; id++) {
        int64_t i = (int64_t)(v->hash[id] & (uint64_t)(ns - 1));
        while (v->slots[i] >= 0) {
            if (v->hash[v->slots[i]] == v->hash[id])
                return el_err("tfidf vocabulary: term %lld and %lld have the same key", (long long)id,
                              (long long)v->slots[i]);
            i = (i + 1) & (ns - 1);
        }
        v->slots[i] = id;
    }
    return EL_OK;
}

static double idf_of(const el_tfidf_params *p, int64_t n, int64_t df) {
    if (!p->use_idf) return 1.0;
    if (p->smooth_idf) return log((1.0 + (double)n) / (1.0 + (double)df)) + 1.0;
    return log((double)n / (double)df) + 1.0;
}

int el_tfidf_fit(const el_tfidf_params *p, char *const *texts, int64_t n, el_tfidf_vocab *v) {
    memset(v, 0, sizeof *v);
    if (p->word_min <= 0 && p->char_min <= 0)
        return el_err("backbone.word_ngrams, backbone.char_ngrams: both [0, 0] leave no features");
    if (n <= 0) return el_err("tfidf: no training texts to fit the vocabulary on");
    double max_doc = p->max_df * (double)n;
    if (max_doc < (double)p->min_df)
        return el_err("backbone.max_df: %g of %lld train texts is fewer than backbone.min_df (%d); "
                      "raise max_df or lower min_df", p->max_df, (long long)n, p->min_df);
    fit_map m = {0};
    fit_rehash(&m, 1 << 16);
    scratch s = {0};
    for (int64_t d = 0; d < n; d++) {
        m.doc = d;
        text_terms(p, &s, texts[d], fit_add, &m);
    }
    scratch_free(&s);
    free(m.slots);

    int rc = EL_OK;
    term_stat *kept[2] = {NULL, NULL};
    int64_t nk[2] = {0, 0};
    for (int a = 0; a < 2 && rc == EL_OK; a++) {
        if (a == 0 ? p->word_min <= 0 : p->char_min <= 0) continue;
        int64_t maxf = a == 0 ? p->word_max_features : p->char_max_features;
        kept[a] = xmalloc((size_t)(m.n + 1) * sizeof(term_stat));
        for (int64_t k = 0; k < m.n; k++) {
            const term_stat *t = &m.e[k];
            if (t->analyzer == a && t->df >= p->min_df && (double)t->df <= max_doc) kept[a][nk[a]++] = *t;
        }
        if (nk[a] == 0) {
            rc = el_err("backbone.%s: no %s term is in at least min_df = %d of the %lld train texts "
                        "(and at most max_df); lower backbone.min_df or widen the n-gram range",
                        a == 0 ? "word_ngrams" : "char_ngrams", a == 0 ? "word" : "character",
                        p->min_df, (long long)n);
            break;
        }
        pthread_mutex_lock(&g_fit_lock);
        g_arena = m.arena;
        if (nk[a] > maxf) {
            el_qsort(kept[a], (size_t)nk[a], sizeof(term_stat), cmp_by_count);
            nk[a] = maxf;
        }
        el_qsort(kept[a], (size_t)nk[a], sizeof(term_stat), cmp_by_term);
        g_arena = NULL;
        pthread_mutex_unlock(&g_fit_lock);
    }
    if (rc == EL_OK) {
        int64_t nt = nk[0] + nk[1];
        v->n_word = nk[0];
        v->n_char = nk[1];
        v->hash = xmalloc((size_t)(nt + 1) * sizeof(uint64_t));
        v->idf = xmalloc((size_t)(nt + 1) * sizeof(float));
        v->terms = xcalloc((size_t)(nt + 1), sizeof(char *));
        int64_t id = 0;
        for (int a = 0; a < 2; a++)
            for (int64_t k = 0; k < nk[a]; k++, id++) {
                const term_stat *t = &kept[a][k];
                v->hash[id] = t->h;
                v->idf[id] = (float)idf_of(p, n, t->df);
                v->terms[id] = el_strndup(m.arena + t->str_off, (size_t)t->str_len);
            }
        rc = build_lookup(v);
    }
    free(kept[0]);
    free(kept[1]);
    free(m.e);
    free(m.arena);
    if (rc != EL_OK) el_tfidf_vocab_free(v);
    return rc;
}

int el_tfidf_vocab_from(el_tfidf_vocab *v, int64_t n_word, int64_t n_char, const int64_t *hash,
                        const float *idf) {
    memset(v, 0, sizeof *v);
    if (n_word < 0 || n_char < 0) return el_err("tfidf vocabulary: negative size");
    int64_t nt = n_word + n_char;
    v->n_word = n_word;
    v->n_char = n_char;
    v->hash = xmalloc((size_t)(nt + 1) * sizeof(uint64_t));
    v->idf = xmalloc((size_t)(nt + 1) * sizeof(float));
    if (nt) {
        memcpy(v->hash, hash, (size_t)nt * sizeof(uint64_t));
        memcpy(v->idf, idf, (size_t)nt * sizeof(float));
    }
    if (build_lookup(v) != 0) {
        el_tfidf_vocab_free(v);
        return EL_ERR;
    }
    return EL_OK;
}

static int64_t vocab_find(const el_tfidf_vocab *v, uint64_t h) {
    int64_t i = (int64_t)(h & (uint64_t)(v->n_slots - 1));
    while (v->slots[i] >= 0) {
        if (v->hash[v->slots[i]] == h) return v->slots[i];
        i = (i + 1) & (v->n_slots - 1);
    }
    return -1;
}

/* ---- transform ------------------------------------------------------------------------------ */
typedef struct {
    const el_tfidf_params *p;
    const el_tfidf_vocab *v;
    char *const *texts;
    int64_t begin, end;
    /* output of this chunk */
    int64_t *counts; /* per text: entries */
    int64_t *ids;
    float *values;
    int64_t n, cap;
    /* per-text term ids */
    int64_t *tids;
    int64_t nt, tcap;
} chunk;

static void chunk_add(void *ctx, int analyzer, const char *term, int64_t len) {
    chunk *c = ctx;
    int64_t id = vocab_find(c->v, el_tfidf_term_hash(analyzer, term, len));
    if (id < 0) return;
    el_grow(c->tids, &c->tcap, c->nt + 1);
    c->tids[c->nt++] = id;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void normalise(const el_tfidf_params *p, double *val, int64_t n) {
    if (p->norm == EL_TFIDF_NORM_NONE || n == 0) return;
    double z = 0;
    for (int64_t i = 0; i < n; i++) z += p->norm == EL_TFIDF_NORM_L1 ? fabs(val[i]) : val[i] * val[i];
    if (p->norm == EL_TFIDF_NORM_L2) z = sqrt(z);
    if (z > 0)
        for (int64_t i = 0; i < n; i++) val[i] /= z;
}

static void *transform_chunk(void *arg) {
    chunk *c = arg;
    scratch s = {0};
    double *val = NULL;
    int64_t val_cap = 0;
    for (int64_t d = c->begin; d < c->end; d++) {
        c->nt = 0;
        text_terms(c->p, &s, c->texts[d], chunk_add, c);
        el_qsort(c->tids, (size_t)c->nt, sizeof(int64_t), cmp_i64);
        int64_t before = c->n, nw = 0;
        if (c->n + c->nt + 1 > c->cap) {
            c->cap = (c->n + c->nt + 1) * 2;
            c->ids = xrealloc(c->ids, (size_t)c->cap * sizeof(int64_t));
            c->values = xrealloc(c->values, (size_t)c->cap * sizeof(float));
        }
        el_grow(val, &val_cap, c->nt + 1);
        for (int64_t i = 0; i < c->nt;) {
            int64_t j = i;
            while (j < c->nt && c->tids[j] == c->tids[i]) j++;
            int64_t id = c->tids[i];
            double tf = (double)(j - i);
            if (c->p->sublinear_tf) tf = 1.0 + log(tf);
            val[c->n - before] = tf * (double)c->v->idf[id];
            c->ids[c->n++] = id;
            if (id < c->v->n_word) nw++;
            i = j;
        }
        int64_t cnt = c->n - before;
        normalise(c->p, val, nw);
        normalise(c->p, val + nw, cnt - nw);
        for (int64_t i = 0; i < cnt; i++) c->values[before + i] = (float)val[i];
        c->counts[d - c->begin] = cnt;
    }
    free(val);
    scratch_free(&s);
    return NULL;
}

int el_tfidf_transform(const el_tfidf_params *p, const el_tfidf_vocab *v, char *const *texts,
                       int64_t n, el_tfidf_rows *out) {
    memset(out, 0, sizeof *out);
    if (!v->slots) return el_err("tfidf: the vocabulary is not fitted");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int32_t nth = n < 4096 ? 1 : (int32_t)(ncpu > 8 ? 8 : ncpu < 1 ? 1 : ncpu);
    chunk *ch = xcalloc((size_t)nth, sizeof *ch);
    pthread_t *th = xcalloc((size_t)nth, sizeof *th);
    for (int32_t t = 0; t < nth; t++) {
        ch[t] = (chunk){.p = p, .v = v, .texts = texts, .begin = n * t / nth, .end = n * (t + 1) / nth};
        ch[t].counts = xcalloc((size_t)(ch[t].end - ch[t].begin + 1), sizeof(int64_t));
    }
    int32_t started = 0;
    for (int32_t t = 1; t < nth; t++)
        if (pthread_create(&th[t], NULL, transform_chunk, &ch[t]) == 0) started = t;
        else break;
    transform_chunk(&ch[0]);
    for (int32_t t = 1; t <= started; t++) pthread_join(th[t], NULL);
    for (int32_t t = started + 1; t < nth; t++) transform_chunk(&ch[t]);

    int64_t total = 0;
    for (int32_t t = 0; t < nth; t++) total += ch[t].n;
    out->n = n;
    out->offsets = xmalloc((size_t)(n + 1) * sizeof(int64_t));
    out->ids = xmalloc((size_t)(total + 1) * sizeof(int64_t));
    out->values = xmalloc((size_t)(total + 1) * sizeof(float));
    out->offsets[0] = 0;
    int64_t at = 0, row = 0;
    for (int32_t t = 0; t < nth; t++) {
        if (ch[t].n) {
            memcpy(out->ids + at, ch[t].ids, (size_t)ch[t].n * sizeof(int64_t));
            memcpy(out->values + at, ch[t].values, (size_t)ch[t].n * sizeof(float));
        }
        at += ch[t].n;
        for (int64_t i = 0; i < ch[t].end - ch[t].begin; i++, row++)
            out->offsets[row + 1] = out->offsets[row] + ch[t].counts[i];
        free(ch[t].counts);
        free(ch[t].ids);
        free(ch[t].values);
        free(ch[t].tids);
    }
    free(ch);
    free(th);
    return EL_OK;
}

void el_tfidf_vocab_free(el_tfidf_vocab *v) {
    if (v->terms)
        for (int64_t i = 0; i < v->n_word + v->n_char; i++) free(v->terms[i]);
    free(v->terms);
    free(v->hash);
    free(v->idf);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

void el_tfidf_rows_free(el_tfidf_rows *r) {
    free(r->offsets);
    free(r->ids);
    free(r->values);
    memset(r, 0, sizeof *r);
}
