/* tokenize_bow.c: see tokenize_bow.h. */
#include "tokenize_bow.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

#define SEED_WORD 0x9e3779b97f4a7c15ULL
#define SEED_NGRAM 0xc2b2ae3d27d4eb4fULL
#define SEED_CHAR 0x165667b19e3779f9ULL
#define MAX_WORD_NGRAMS 5

el_bow_params el_bow_default_params(void) {
    el_bow_params p = {.word_ngrams = 2, .char_min = 3, .char_max = 5, .buckets = 1 << 20,
                       .lowercase = true};
    return p;
}

el_cp_class el_cp_classify(int32_t cp) {
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return EL_CP_WORD;
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CS: case UTF8PROC_CATEGORY_CO:
        return EL_CP_SPACE;
    default:
        return EL_CP_OTHER;
    }
}

void el_utf8_encode_offsets(const int32_t *cps, int64_t n, char **buf, int64_t *buf_cap,
                            int64_t **off, int64_t *off_cap) {
    el_grow(*buf, buf_cap, n * 4 + 1);
    el_grow(*off, off_cap, n + 1);
    int64_t b = 0;
    for (int64_t i = 0; i < n; i++) {
        (*off)[i] = b;
        b += utf8proc_encode_char(cps[i], (utf8proc_uint8_t *)*buf + b);
    }
    (*off)[n] = b;
    (*buf)[b] = 0;
}

typedef struct {
    int64_t *ids;
    int64_t n, cap;
} id_vec;

static void push_id(id_vec *v, uint64_t h, int64_t buckets) {
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->ids = xrealloc(v->ids, (size_t)v->cap * sizeof *v->ids);
    }
    v->ids[v->n++] = (int64_t)(h % (uint64_t)buckets);
}

/* Scratch space reused across texts by one worker. */
typedef struct {
    char *low;             /* lowercased text */
    size_t low_cap;
    int32_t *tok_start, *tok_len; /* byte ranges in low */
    uint8_t *tok_word;     /* 1 = word token (gets char n-grams) */
    uint64_t *tok_hash;
    int64_t tok_cap;
    char *wbuf;            /* "<word>" */
    size_t wbuf_cap;
    int32_t *cp_off;       /* code point offsets in wbuf */
    size_t cp_cap;
} scratch;

static void scratch_free(scratch *s) {
    free(s->low);
    free(s->tok_start);
    free(s->tok_len);
    free(s->tok_word);
    free(s->tok_hash);
    free(s->wbuf);
    free(s->cp_off);
}

static void add_token(scratch *s, int64_t *nt, int32_t start, int32_t len, uint8_t word) {
    if (*nt == s->tok_cap) {
        s->tok_cap = s->tok_cap ? s->tok_cap * 2 : 64;
        s->tok_start = xrealloc(s->tok_start, (size_t)s->tok_cap * sizeof(int32_t));
        s->tok_len = xrealloc(s->tok_len, (size_t)s->tok_cap * sizeof(int32_t));
        s->tok_word = xrealloc(s->tok_word, (size_t)s->tok_cap);
        s->tok_hash = xrealloc(s->tok_hash, (size_t)s->tok_cap * sizeof(uint64_t));
    }
    s->tok_start[*nt] = start;
    s->tok_len[*nt] = len;
    s->tok_word[*nt] = word;
    (*nt)++;
}

static void char_ngrams(const el_bow_params *p, scratch *s, const char *w, int32_t wl,
                        id_vec *out) {
    size_t need = (size_t)wl + 3;
    if (need > s->wbuf_cap) {
        s->wbuf_cap = need * 2;
        s->wbuf = xrealloc(s->wbuf, s->wbuf_cap);
    }
    if (need > s->cp_cap) {
        s->cp_cap = need * 2;
        s->cp_off = xrealloc(s->cp_off, s->cp_cap * sizeof(int32_t));
    }
    s->wbuf[0] = '<';
    memcpy(s->wbuf + 1, w, (size_t)wl);
    s->wbuf[wl + 1] = '>';
    int32_t total = wl + 2, ncp = 0, i = 0;
    while (i < total) {
        s->cp_off[ncp++] = i;
        unsigned char c = (unsigned char)s->wbuf[i];
        i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    }
    s->cp_off[ncp] = total;
    for (int32_t n = p->char_min; n <= p->char_max; n++) {
        for (int32_t st = 0; st + n <= ncp; st++) {
            int32_t b = s->cp_off[st], e = s->cp_off[st + n];
            push_id(out, el_hash64(s->wbuf + b, (size_t)(e - b), SEED_CHAR), p->buckets);
        }
    }
}

static void featurize_text(const el_bow_params *p, scratch *s, const char *text, id_vec *out) {
    size_t len = strlen(text);
    if (len * 4 + 8 > s->low_cap) {
        s->low_cap = len * 4 + 64;
        s->low = xrealloc(s->low, s->low_cap);
    }
    /* lowercase and tokenise in one pass */
    int64_t nt = 0;
    size_t pos = 0, wpos = 0;
    int32_t word_start = -1;
    while (pos < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + pos,
                                              (utf8proc_ssize_t)(len - pos), &cp);
        if (k <= 0) { /* invalid byte: treat as a space (data loading rejects invalid UTF-8) */
            k = 1;
            cp = ' ';
        }
        pos += (size_t)k;
        el_cp_class c = el_cp_classify(cp);
        if (p->lowercase) cp = utf8proc_tolower(cp);
        if (c == EL_CP_WORD) {
            if (word_start < 0) word_start = (int32_t)wpos;
            wpos += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)s->low + wpos);
            continue;
        }
        if (word_start >= 0) {
            add_token(s, &nt, word_start, (int32_t)wpos - word_start, 1);
            word_start = -1;
        }
        if (c == EL_CP_OTHER) {
            int32_t st = (int32_t)wpos;
            wpos += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)s->low + wpos);
            add_token(s, &nt, st, (int32_t)wpos - st, 0);
        }
    }
    if (word_start >= 0) add_token(s, &nt, word_start, (int32_t)wpos - word_start, 1);

    for (int64_t t = 0; t < nt; t++)
        s->tok_hash[t] = el_hash64(s->low + s->tok_start[t], (size_t)s->tok_len[t], SEED_WORD);
    for (int32_t n = 1; n <= p->word_ngrams && n <= MAX_WORD_NGRAMS; n++) {
        for (int64_t t = 0; t + n <= nt; t++) {
            uint64_t h = n == 1 ? s->tok_hash[t]
                                : el_hash64(s->tok_hash + t, (size_t)n * sizeof(uint64_t),
                                            SEED_NGRAM + (uint64_t)n);
            push_id(out, h, p->buckets);
        }
    }
    if (p->char_min > 0)
        for (int64_t t = 0; t < nt; t++)
            if (s->tok_word[t]) char_ngrams(p, s, s->low + s->tok_start[t], s->tok_len[t], out);
}

int64_t el_bow_featurize_one(const el_bow_params *p, const char *text, int64_t **ids,
                             int64_t *cap) {
    scratch s = {0};
    id_vec v = {.ids = *ids, .n = 0, .cap = *cap};
    featurize_text(p, &s, text, &v);
    scratch_free(&s);
    *ids = v.ids;
    *cap = v.cap;
    return v.n;
}

typedef struct {
    const el_bow_params *p;
    char *const *texts;
    int64_t begin, end;
    id_vec ids;
    int64_t *counts; /* end - begin */
} chunk;

static void *featurize_chunk(void *arg) {
    chunk *c = arg;
    scratch s = {0};
    for (int64_t i = c->begin; i < c->end; i++) {
        int64_t before = c->ids.n;
        featurize_text(c->p, &s, c->texts[i], &c->ids);
        c->counts[i - c->begin] = c->ids.n - before;
    }
    scratch_free(&s);
    return NULL;
}

static int check_params(const el_bow_params *p) {
    if (p->buckets <= 0) return el_err("bow: buckets must be > 0");
    if (p->word_ngrams < 0 || p->word_ngrams > MAX_WORD_NGRAMS)
        return el_err("bow: word_ngrams must be in [0, %d]", MAX_WORD_NGRAMS);
    if (p->char_min < 0 || (p->char_min > 0 && p->char_max < p->char_min))
        return el_err("bow: char_ngrams must be [min, max] with 1 <= min <= max");
    if (p->word_ngrams == 0 && p->char_min == 0)
        return el_err("bow: no features: set word_ngrams >= 1 or char_ngrams");
    return EL_OK;
}

int el_bow_featurize(const el_bow_params *p, char *const *texts, int64_t n, el_bow_features *out) {
    memset(out, 0, sizeof *out);
    if (check_params(p) != 0) return EL_ERR;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int32_t nth = n < 4096 ? 1 : (int32_t)(ncpu > 8 ? 8 : ncpu < 1 ? 1 : ncpu);
    chunk *ch = xcalloc((size_t)nth, sizeof *ch);
    pthread_t *th = xcalloc((size_t)nth, sizeof *th);
    for (int32_t t = 0; t < nth; t++) {
        ch[t].p = p;
        ch[t].texts = texts;
        ch[t].begin = n * t / nth;
        ch[t].end = n * (t + 1) / nth;
        ch[t].counts = xcalloc((size_t)(ch[t].end - ch[t].begin + 1), sizeof(int64_t));
    }
    int32_t started = 0;
    for (int32_t t = 1; t < nth; t++)
        if (pthread_create(&th[t], NULL, featurize_chunk, &ch[t]) == 0) started = t;
        else break;
    featurize_chunk(&ch[0]);
    for (int32_t t = 1; t <= started; t++) pthread_join(th[t], NULL);
    for (int32_t t = started + 1; t < nth; t++) featurize_chunk(&ch[t]); /* threads unavailable */

    int64_t total = 0;
    for (int32_t t = 0; t < nth; t++) total += ch[t].ids.n;
    out->n = n;
    out->offsets = xmalloc((size_t)(n + 1) * sizeof(int64_t));
    out->ids = xmalloc((size_t)(total ? total : 1) * sizeof(int64_t));
    int64_t at = 0, row = 0;
    out->offsets[0] = 0;
    for (int32_t t = 0; t < nth; t++) {
        if (ch[t].ids.n) memcpy(out->ids + at, ch[t].ids.ids, (size_t)ch[t].ids.n * sizeof(int64_t));
        for (int64_t i = 0; i < ch[t].end - ch[t].begin; i++) {
            out->offsets[row + 1] = out->offsets[row] + ch[t].counts[i];
            row++;
        }
        at += ch[t].ids.n;
        free(ch[t].ids.ids);
        free(ch[t].counts);
    }
    free(ch);
    free(th);
    return EL_OK;
}

void el_bow_features_free(el_bow_features *f) {
    free(f->offsets);
    free(f->ids);
    memset(f, 0, sizeof *f);
}
