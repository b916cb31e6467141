/* tokenize_core.c: the encode pipeline (added tokens -> normalizer -> pre-tokenizer -> model ->
 * truncation -> post-processor), shared containers, accessors, batches and length buckets. */
#include "tokenize_impl.h"

#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ------------------------------------------------------------------------------- */
int tk_utf8_dec(const char *s, size_t n, int32_t *cp) {
    const unsigned char *p = (const unsigned char *)s;
    unsigned c = p[0];
    if (c < 0x80) {
        *cp = (int32_t)c;
        return 1;
    }
    int k = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 0;
    if (k == 0 || (size_t)k >= n) {
        *cp = 0xFFFD;
        return 1;
    }
    uint32_t v = c & (0x3F >> k);
    for (int j = 1; j <= k; j++) {
        if ((p[j] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (p[j] & 0x3F);
    }
    *cp = (int32_t)v;
    return k + 1;
}

int tk_utf8_len(int32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

void tk_utf8_put(el_buf *b, int32_t cp) {
    char t[4];
    uint32_t c = (uint32_t)cp;
    int n;
    if (c < 0x80) {
        t[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        t[0] = (char)(0xC0 | (c >> 6));
        t[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        t[0] = (char)(0xE0 | (c >> 12));
        t[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        t[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        t[0] = (char)(0xF0 | (c >> 18));
        t[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        t[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    el_buf_append(b, t, (size_t)n);
}

/* ---- string -> id map -------------------------------------------------------------------- */
static inline uint64_t tk_hash(const char *p, size_t np, const char *s, size_t ns) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < np; i++) h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
    for (size_t i = 0; i < ns; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

void tk_map_init(tk_map *m, int32_t expected) {
    memset(m, 0, sizeof *m);
    uint32_t ns = 16;
    while (ns < (uint32_t)expected * 2u + 2u && ns < (1u << 30)) ns <<= 1;
    m->nslots = ns;
    m->slots = xmalloc(sizeof(int32_t) * ns);
    memset(m->slots, 0xff, sizeof(int32_t) * ns);
}

void tk_map_free(tk_map *m) {
    free(m->arena);
    free(m->key_off);
    free(m->key_len);
    free(m->val);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static int32_t map_find(const tk_map *m, const char *p, size_t np, const char *s, size_t ns,
                        uint32_t *slot) {
    uint32_t mask = m->nslots - 1;
    uint32_t i = (uint32_t)tk_hash(p, np, s, ns) & mask;
    for (;;) {
        int32_t e = m->slots[i];
        if (e < 0) {
            *slot = i;
            return -1;
        }
        if ((size_t)m->key_len[e] == np + ns) {
            const char *k = m->arena + m->key_off[e];
            if ((np == 0 || memcmp(k, p, np) == 0) && (ns == 0 || memcmp(k + np, s, ns) == 0)) {
                *slot = i;
                return e;
            }
        }
        i = (i + 1) & mask;
    }
}

static void map_rehash(tk_map *m) {
    uint32_t ns = m->nslots * 2;
    free(m->slots);
    m->slots = xmalloc(sizeof(int32_t) * ns);
    memset(m->slots, 0xff, sizeof(int32_t) * ns);
    m->nslots = ns;
    for (int32_t e = 0; e < m->n; e++) {
        uint32_t i = (uint32_t)tk_hash(NULL, 0, m->arena + m->key_off[e], (size_t)m->key_len[e]) & (ns - 1);
        while (m->slots[i] >= 0) i = (i + 1) & (ns - 1);
        m->slots[i] = e;
    }
}

int32_t tk_map_put(tk_map *m, const char *s, size_t n, int32_t val) {
    if (!m->slots) tk_map_init(m, 16);
    uint32_t slot;
    int32_t e = map_find(m, NULL, 0, s, n, &slot);
    if (e >= 0) {
        m->val[e] = val;
        return e;
    }
    el_grow(m->arena, &m->arena_cap, m->arena_len + (int64_t)n + 1);
    if (n) memcpy(m->arena + m->arena_len, s, n);
    m->arena[m->arena_len + (int64_t)n] = 0;
    int64_t cap = m->cap;
    el_grow(m->key_off, &cap, m->n + 1);
    cap = m->cap;
    el_grow(m->key_len, &cap, m->n + 1);
    cap = m->cap;
    el_grow(m->val, &cap, m->n + 1);
    m->cap = cap;
    e = m->n++;
    m->key_off[e] = m->arena_len;
    m->key_len[e] = (int32_t)n;
    m->val[e] = val;
    m->arena_len += (int64_t)n + 1;
    m->slots[slot] = e;
    if ((uint64_t)m->n * 2u > m->nslots) map_rehash(m);
    return e;
}

int32_t tk_map_get(const tk_map *m, const char *s, size_t n) {
    if (!m->slots) return -1;
    uint32_t slot;
    int32_t e = map_find(m, NULL, 0, s, n, &slot);
    return e < 0 ? -1 : m->val[e];
}

int32_t tk_map_get2(const tk_map *m, const char *p, size_t np, const char *s, size_t ns) {
    if (!m->slots) return -1;
    uint32_t slot;
    int32_t e = map_find(m, p, np, s, ns, &slot);
    return e < 0 ? -1 : m->val[e];
}

/* ---- small containers -------------------------------------------------------------------- */
void tk_ids_push(tk_ids *ids, int32_t id) {
    el_grow(ids->v, &ids->cap, ids->n + 1);
    ids->v[ids->n++] = id;
}

void tk_pieces_clear(tk_pieces *p) {
    p->text.len = 0;
    p->n = 0;
}

void tk_pieces_free(tk_pieces *p) {
    el_buf_free(&p->text);
    free(p->off);
    free(p->len);
    free(p->first);
    memset(p, 0, sizeof *p);
}

void tk_pieces_add(tk_pieces *p, const char *s, size_t n, bool first) {
    if (p->n + 1 > p->cap) {
        int64_t cap = p->cap;
        el_grow(p->off, &cap, p->n + 1);
        cap = p->cap;
        el_grow(p->len, &cap, p->n + 1);
        cap = p->cap;
        el_grow(p->first, &cap, p->n + 1);
        p->cap = cap;
    }
    p->off[p->n] = (int64_t)p->text.len;
    p->len[p->n] = (int32_t)n;
    p->first[p->n] = first;
    p->n++;
    el_buf_append(&p->text, s, n);
}

void el_encoding_free(el_encoding *e) {
    free(e->ids);
    free(e->type_ids);
    free(e->attention_mask);
    memset(e, 0, sizeof *e);
}

/* ---- added tokens ------------------------------------------------------------------------ */
/* One segment of the input: either text (id < 0) or an added token. */
typedef struct {
    int64_t off;
    int64_t len;
    int32_t id;
    bool first;
} tk_seg;

typedef struct {
    tk_seg *v;
    int32_t n;
    int64_t cap;
} tk_segs;

static void segs_push(tk_segs *s, int64_t off, int64_t len, int32_t id, bool first) {
    el_grow(s->v, &s->cap, s->n + 1);
    s->v[s->n++] = (tk_seg){off, len, id, first};
}

static int32_t last_cp(const char *s, size_t n) {
    if (n == 0) return -1;
    size_t i = n - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    int32_t cp;
    tk_utf8_dec(s + i, n - i, &cp);
    return cp;
}

/* Finds the added tokens of the chosen kind (normalized or not) in s[0..n) and appends the
 * segments (offsets relative to base) to out. Leftmost-longest, non-overlapping, then the
 * single_word / lstrip / rstrip rules of HF's AddedVocabulary. */
static void split_added(const el_tokenizer *tok, bool normalized, const char *s, size_t n,
                        int64_t base, bool first, tk_segs *out) {
    int64_t start_off = 0;
    size_t i = 0;
    bool any = false;
    for (int32_t k = 0; k < tok->n_added; k++)
        if (tok->added[k].normalized == normalized) any = true;
    const bool *fb = tok->added_first[normalized ? 1 : 0];
    while (any && i < n) {
        if (!fb[(unsigned char)s[i]]) {
            i++;
            continue;
        }
        int32_t best = -1;
        int32_t best_len = 0;
        for (int32_t k = 0; k < tok->n_added; k++) {
            const tk_added *a = &tok->added[k];
            if (a->normalized != normalized) continue;
            const char *c = normalized ? a->norm_content : a->content;
            int32_t cl = normalized ? a->norm_len : a->len;
            if (cl <= best_len || cl == 0 || (size_t)cl > n - i) continue;
            if (c[0] == s[i] && memcmp(c, s + i, (size_t)cl) == 0) {
                best = k;
                best_len = cl;
            }
        }
        if (best < 0) {
            i++;
            continue;
        }
        const tk_added *a = &tok->added[best];
        int64_t start = (int64_t)i, stop = (int64_t)i + best_len;
        i = (size_t)stop;
        if (a->single_word) {
            int32_t before = last_cp(s, (size_t)start);
            int32_t after = -1;
            if ((size_t)stop < n) tk_utf8_dec(s + stop, n - (size_t)stop, &after);
            bool wb = before < 0 || !(tk_uni_is_alnum(before) || before == '_');
            bool wa = after < 0 || !(tk_uni_is_alnum(after) || after == '_');
            if (!wb || !wa) continue;
        }
        if (a->lstrip) {
            int64_t ns = start;
            while (ns > 0) {
                int64_t j = ns - 1;
                while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80) j--;
                int32_t cp;
                tk_utf8_dec(s + j, n - (size_t)j, &cp);
                if (!tk_uni_is_ws(cp)) break;
                ns = j;
            }
            start = ns > start_off ? ns : start_off;
        }
        if (a->rstrip) {
            while ((size_t)stop < n) {
                int32_t cp;
                int l = tk_utf8_dec(s + stop, n - (size_t)stop, &cp);
                if (!tk_uni_is_ws(cp)) break;
                stop += l;
            }
            i = (size_t)stop;
        }
        if (start < start_off) start = start_off;
        if (start_off < start) segs_push(out, base + start_off, start - start_off, -1, first && start_off == 0);
        segs_push(out, base + start, stop - start, a->id, false);
        start_off = stop;
    }
    if ((size_t)start_off < n || n == 0)
        segs_push(out, base + start_off, (int64_t)n - start_off, -1, first && start_off == 0);
}

/* ---- the pipeline ------------------------------------------------------------------------ */
static int model_run(const tk_model *m, const char *s, size_t n, tk_ids *ids) {
    switch (m->kind) {
    case EL_TOK_WORDPIECE: return tk_wordpiece(m, s, n, ids);
    case EL_TOK_BPE: return tk_bpe(m, s, n, ids);
    case EL_TOK_UNIGRAM: return tk_unigram(m, s, n, ids);
    }
    return el_err("unknown model kind");
}

typedef struct {
    tk_segs raw, normd;
    el_buf norm;
    tk_pieces p0, p1;
    tk_ids ids;
} tk_scratch;

static void scratch_free(tk_scratch *s) {
    free(s->raw.v);
    free(s->normd.v);
    el_buf_free(&s->norm);
    tk_pieces_free(&s->p0);
    tk_pieces_free(&s->p1);
    free(s->ids.v);
}

static void enc_reserve(el_encoding *e, int32_t n) {
    if (n <= e->cap) return;
    int32_t c = e->cap ? e->cap : 64;
    while (c < n) c *= 2;
    e->ids = xrealloc(e->ids, sizeof(int32_t) * (size_t)c);
    e->type_ids = xrealloc(e->type_ids, sizeof(int32_t) * (size_t)c);
    e->attention_mask = xrealloc(e->attention_mask, sizeof(int32_t) * (size_t)c);
    e->cap = c;
}

/* Runs normalizer + pre-tokenizer + model over one text segment, appending to ids. */
static int encode_text(const el_tokenizer *tok, const char *s, size_t n, bool first, tk_scratch *sc) {
    const char *t = s;
    size_t tn = n;
    if (tok->norm) {
        sc->norm.len = 0;
        if (tk_norm_apply(tok->norm, s, n, &sc->norm) != 0) return EL_ERR;
        t = sc->norm.s ? sc->norm.s : "";
        tn = sc->norm.len;
    }
    sc->normd.n = 0;
    split_added(tok, true, t, tn, 0, first, &sc->normd);
    for (int32_t k = 0; k < sc->normd.n; k++) {
        tk_seg g = sc->normd.v[k];
        if (g.id >= 0) {
            tk_ids_push(&sc->ids, g.id);
            continue;
        }
        if (g.len == 0) continue;
        tk_pieces_clear(&sc->p0);
        tk_pieces_add(&sc->p0, t + g.off, (size_t)g.len, g.first);
        const tk_pieces *pc = &sc->p0;
        if (tok->pretok) {
            tk_pieces_clear(&sc->p1);
            if (tk_pretok_apply(tok->pretok, &sc->p0, &sc->p1) != 0) return EL_ERR;
            pc = &sc->p1;
        }
        for (int32_t j = 0; j < pc->n; j++) {
            if (pc->len[j] == 0) continue;
            if (model_run(&tok->model, pc->text.s + pc->off[j], (size_t)pc->len[j], &sc->ids) != 0)
                return EL_ERR;
        }
    }
    return EL_OK;
}

int el_tokenize_ex(const el_tokenizer *tok, const char *text, size_t len, el_encoding *out,
                   int32_t max_len, bool add_special_tokens) {
    if (!tok || !out) return el_err("el_tokenize: NULL argument");
    if (!text) {
        if (len) return el_err("el_tokenize: NULL text");
        text = "";
    }
    if (len > (size_t)INT32_MAX / 2) return el_err("el_tokenize: text of %zu bytes is too long", len);
    int64_t bad = el_utf8_invalid_at(text, len);
    if (bad >= 0) return el_err("text is not valid UTF-8 (byte %lld)", (long long)bad);
    tk_scratch sc;
    memset(&sc, 0, sizeof sc);
    split_added(tok, false, text, len, 0, true, &sc.raw);
    int rc = EL_OK;
    for (int32_t k = 0; k < sc.raw.n && rc == EL_OK; k++) {
        tk_seg g = sc.raw.v[k];
        if (g.id >= 0) tk_ids_push(&sc.ids, g.id);
        else if (g.len > 0) rc = encode_text(tok, text + g.off, (size_t)g.len, g.first, &sc);
    }
    if (rc != EL_OK) {
        scratch_free(&sc);
        return el_err_prefix("%s", tok->name);
    }
    int32_t n_sp = add_special_tokens && tok->has_post ? tok->n_pre + tok->n_post : 0;
    int32_t keep = sc.ids.n;
    out->n_truncated = 0;
    if (max_len > 0) {
        int32_t room = max_len - n_sp;
        if (room < 0) {
            scratch_free(&sc);
            return el_err("%s: max_len %d leaves no room for the %d special tokens", tok->name,
                          (int)max_len, (int)n_sp);
        }
        if (keep > room) {
            out->n_truncated = keep - room;
            keep = room;
        }
    }
    enc_reserve(out, keep + n_sp);
    int32_t o = 0;
    if (n_sp) {
        for (int32_t i = 0; i < tok->n_pre; i++) {
            out->ids[o] = tok->pre_sp[i].id;
            out->type_ids[o++] = tok->pre_sp[i].type_id;
        }
    }
    int32_t tid = tok->has_post ? tok->seq_type_id : 0; /* HF sets A's type id even without specials */
    for (int32_t i = 0; i < keep; i++) {
        out->ids[o] = sc.ids.v[i];
        out->type_ids[o++] = tid;
    }
    if (n_sp) {
        for (int32_t i = 0; i < tok->n_post; i++) {
            out->ids[o] = tok->post_sp[i].id;
            out->type_ids[o++] = tok->post_sp[i].type_id;
        }
    }
    for (int32_t i = 0; i < o; i++) out->attention_mask[i] = 1;
    out->len = o;
    scratch_free(&sc);
    return EL_OK;
}

int el_tokenize(const el_tokenizer *tok, const char *text, size_t len, el_encoding *out,
                int32_t max_len) {
    return el_tokenize_ex(tok, text, len, out, max_len, true);
}

int el_tokenizer_normalize(const el_tokenizer *tok, const char *text, size_t len, el_buf *out) {
    if (el_utf8_invalid_at(text, len) >= 0) return el_err("text is not valid UTF-8");
    if (!tok->norm) {
        el_buf_append(out, text, len);
        return EL_OK;
    }
    return tk_norm_apply(tok->norm, text, len, out);
}

int el_tokenizer_pre_tokenize(const el_tokenizer *tok, const char *text, size_t len, el_buf *out,
                              int32_t **piece_lens) {
    *piece_lens = NULL;
    el_buf nb = {0};
    if (el_tokenizer_normalize(tok, text, len, &nb) != 0) return EL_ERR;
    tk_pieces a = {0}, b = {0};
    tk_pieces_add(&a, nb.s ? nb.s : "", nb.len, true);
    const tk_pieces *pc = &a;
    int rc = EL_OK;
    if (tok->pretok) {
        rc = tk_pretok_apply(tok->pretok, &a, &b);
        pc = &b;
    }
    int count = 0;
    if (rc == EL_OK) {
        *piece_lens = xmalloc(sizeof(int32_t) * (size_t)(pc->n + 1));
        for (int32_t j = 0; j < pc->n; j++) {
            if (pc->len[j] == 0) continue;
            el_buf_append(out, pc->text.s + pc->off[j], (size_t)pc->len[j]);
            (*piece_lens)[count++] = pc->len[j];
        }
    }
    el_buf_free(&nb);
    tk_pieces_free(&a);
    tk_pieces_free(&b);
    return rc == EL_OK ? count : EL_ERR;
}

/* ---- accessors --------------------------------------------------------------------------- */
el_tok_model el_tokenizer_model(const el_tokenizer *tok) { return tok->model.kind; }
const char *el_tokenizer_model_name(const el_tokenizer *tok) {
    switch (tok->model.kind) {
    case EL_TOK_WORDPIECE: return "WordPiece";
    case EL_TOK_BPE: return "BPE";
    case EL_TOK_UNIGRAM: return "Unigram";
    }
    return "?";
}
int32_t el_tokenizer_vocab_size(const el_tokenizer *tok) { return tok->vocab_size; }
int32_t el_tokenizer_pad_id(const el_tokenizer *tok) { return tok->pad_id; }
int32_t el_tokenizer_cls_id(const el_tokenizer *tok) { return tok->cls_id; }
int32_t el_tokenizer_sep_id(const el_tokenizer *tok) { return tok->sep_id; }
int32_t el_tokenizer_unk_id(const el_tokenizer *tok) { return tok->model.unk_id; }
int32_t el_tokenizer_mask_id(const el_tokenizer *tok) { return tok->mask_id; }
int32_t el_tokenizer_num_special(const el_tokenizer *tok) {
    return tok->has_post ? tok->n_pre + tok->n_post : 0;
}
int32_t el_tokenizer_max_len_hint(const el_tokenizer *tok) { return tok->max_len_hint; }

int32_t el_tokenizer_token_to_id(const el_tokenizer *tok, const char *token, size_t n) {
    int32_t k = tk_map_get(&tok->added_map, token, n);
    if (k >= 0) return tok->added[k].id;
    return tk_map_get(&tok->model.vocab, token, n);
}

const char *el_tokenizer_id_to_token(const el_tokenizer *tok, int32_t id, size_t *n) {
    if (id < 0 || id >= tok->vocab_size || !tok->id_tok[id]) return NULL;
    if (n) *n = (size_t)tok->id_tok_len[id];
    return tok->id_tok[id];
}

/* ---- batches ----------------------------------------------------------------------------- */
void el_batch_free(el_batch *b) {
    free(b->ids);
    free(b->attention_mask);
    free(b->type_ids);
    free(b->lengths);
    memset(b, 0, sizeof *b);
}

int el_tokenize_batch(const el_tokenizer *tok, const char *const *texts, const size_t *lens,
                      int32_t n, int32_t max_len, el_batch *b) {
    if (n < 0 || (n > 0 && !texts)) return el_err("el_tokenize_batch: bad arguments");
    el_encoding *encs = xcalloc((size_t)(n ? n : 1), sizeof *encs);
    int32_t longest = 0;
    int rc = EL_OK;
    for (int32_t i = 0; i < n; i++) {
        const char *t = texts[i] ? texts[i] : "";
        size_t l = lens ? lens[i] : strlen(t);
        if (el_tokenize(tok, t, l, &encs[i], max_len) != 0) {
            el_err_prefix("batch row %d", (int)i);
            rc = EL_ERR;
            break;
        }
        if (encs[i].len > longest) longest = encs[i].len;
    }
    if (rc == EL_OK) {
        int64_t need = (int64_t)n * longest;
        if (need > b->cap) {
            int64_t c = need;
            b->ids = xrealloc(b->ids, sizeof(int32_t) * (size_t)c);
            b->attention_mask = xrealloc(b->attention_mask, sizeof(int32_t) * (size_t)c);
            b->type_ids = xrealloc(b->type_ids, sizeof(int32_t) * (size_t)c);
            b->cap = c;
        }
        if (n > b->rows_cap) {
            b->lengths = xrealloc(b->lengths, sizeof(int32_t) * (size_t)n);
            b->rows_cap = n;
        }
        int32_t pad = tok->pad_id >= 0 ? tok->pad_id : 0;
        for (int32_t i = 0; i < n; i++) {
            int32_t *ids = b->ids + (int64_t)i * longest;
            int32_t *m = b->attention_mask + (int64_t)i * longest;
            int32_t *ty = b->type_ids + (int64_t)i * longest;
            int32_t l = encs[i].len;
            if (l) {
                memcpy(ids, encs[i].ids, sizeof(int32_t) * (size_t)l);
                memcpy(ty, encs[i].type_ids, sizeof(int32_t) * (size_t)l);
            }
            for (int32_t j = 0; j < l; j++) m[j] = 1;
            for (int32_t j = l; j < longest; j++) {
                ids[j] = pad;
                m[j] = 0;
                ty[j] = 0;
            }
            b->lengths[i] = l;
        }
        b->n_rows = n;
        b->seq_len = longest;
    }
    for (int32_t i = 0; i < n; i++) el_encoding_free(&encs[i]);
    free(encs);
    return rc;
}

/* ---- length buckets ---------------------------------------------------------------------- */
el_bucket_params el_bucket_default_params(void) {
    return (el_bucket_params){.batch_size = 32, .bucket_batches = 50, .seed = 42, .shuffle = true};
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rand_below(uint64_t *s, uint64_t n) {
    /* rejection sampling: unbiased */
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do r = splitmix64(s);
    while (r >= lim);
    return r % n;
}

static void shuffle_i32(int32_t *v, int32_t n, uint64_t *s) {
    for (int32_t i = n - 1; i > 0; i--) {
        int32_t j = (int32_t)rand_below(s, (uint64_t)i + 1);
        int32_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

static _Thread_local const int32_t *t_sort_len;
static int cmp_len(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    int32_t lx = t_sort_len[x], ly = t_sort_len[y];
    if (lx != ly) return lx < ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

int el_bucket_plan(const int32_t *lengths, int32_t n, el_bucket_params p, el_batch_plan *out) {
    memset(out, 0, sizeof *out);
    if (n < 0 || (n > 0 && !lengths)) return el_err("el_bucket_plan: bad arguments");
    if (p.batch_size <= 0) return el_err("el_bucket_plan: batch_size must be > 0 (got %d)", (int)p.batch_size);
    if (p.bucket_batches <= 0) p.bucket_batches = 1;
    out->n = n;
    out->order = xmalloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    for (int32_t i = 0; i < n; i++) out->order[i] = i;
    uint64_t st = p.seed ^ 0x656d6f6c6162ULL; /* "emolab" */
    if (p.shuffle) shuffle_i32(out->order, n, &st);
    int64_t bucket = (int64_t)p.batch_size * p.bucket_batches;
    t_sort_len = lengths;
    for (int64_t s = 0; s < n; s += bucket) {
        int64_t e = s + bucket < n ? s + bucket : n;
        el_qsort(out->order + s, (size_t)(e - s), sizeof(int32_t), cmp_len);
    }
    t_sort_len = NULL;
    int32_t nb = (int32_t)((n + p.batch_size - 1) / p.batch_size);
    out->n_batches = nb;
    out->offsets = xmalloc(sizeof(int32_t) * (size_t)(nb + 1));
    /* batches are consecutive runs of the sorted order; shuffle the order of the batches */
    int32_t *perm = xmalloc(sizeof(int32_t) * (size_t)(nb ? nb : 1));
    for (int32_t i = 0; i < nb; i++) perm[i] = i;
    if (p.shuffle) shuffle_i32(perm, nb, &st);
    int32_t *ord = xmalloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    int32_t o = 0;
    for (int32_t k = 0; k < nb; k++) {
        int32_t s = perm[k] * p.batch_size;
        int32_t e = s + p.batch_size < n ? s + p.batch_size : n;
        out->offsets[k] = o;
        for (int32_t i = s; i < e; i++) ord[o++] = out->order[i];
    }
    out->offsets[nb] = o;
    free(out->order);
    out->order = ord;
    free(perm);
    return EL_OK;
}

void el_batch_plan_free(el_batch_plan *p) {
    free(p->order);
    free(p->offsets);
    memset(p, 0, sizeof *p);
}
