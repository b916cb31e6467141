/* tokenize_normalize.c: the normalizers of Hugging Face tokenizers (BertNormalizer, Unicode
 * normal forms, Lowercase, Strip, StripAccents, Nmt, Replace, Prepend, Precompiled, Sequence),
 * over UTF-8 strings. Unicode data comes from utf8proc; the places where HF's older Unicode
 * tables differ are corrected by tokenize_unitab.c. */
#include "tokenize_impl.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---- code point arrays ------------------------------------------------------------------- */
typedef struct {
    int32_t *v;
    int64_t n, cap;
} cps;

static void cps_push(cps *a, int32_t c) {
    el_grow(a->v, &a->cap, a->n + 1);
    a->v[a->n++] = c;
}

static void decode_all(const char *s, size_t n, cps *out) {
    out->n = 0;
    el_grow(out->v, &out->cap, (int64_t)n + 1);
    size_t i = 0;
    while (i < n) {
        int32_t c;
        i += (size_t)tk_utf8_dec(s + i, n - i, &c);
        out->v[out->n++] = c;
    }
}

static void encode_all(const cps *a, el_buf *out) {
    for (int64_t i = 0; i < a->n; i++) tk_utf8_put(out, a->v[i]);
}

/* ---- Unicode normal forms with HF's decomposition tables ----------------------------------- */
static int ccc(int32_t c) { return tk_uni_ccc(c); }

/* Decomposes (canonically, or with compatibility mappings) and orders the marks; composes when
 * asked. Code points HF's tables do not decompose are kept as they are. */
static int nf_apply(const char *s, size_t n, bool compat, bool compose, el_buf *out) {
    cps in = {0}, d = {0};
    decode_all(s, n, &in);
    int32_t tmp[64];
    for (int64_t i = 0; i < in.n; i++) {
        int32_t c = in.v[i];
        bool keep = compat ? tk_uni_no_compat_decomp(c) : tk_uni_no_canon_decomp(c);
        if (keep) {
            cps_push(&d, c);
            continue;
        }
        int bc = 0;
        utf8proc_option_t o = UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0);
        utf8proc_ssize_t k = utf8proc_decompose_char(c, tmp, 64, o, &bc);
        if (k < 0 || k > 64) {
            cps_push(&d, c);
            continue;
        }
        for (utf8proc_ssize_t j = 0; j < k; j++) cps_push(&d, tmp[j]);
    }
    /* canonical ordering: stable sort of each run of non-starters by combining class */
    for (int64_t i = 1; i < d.n; i++) {
        int32_t c = d.v[i];
        int cc = ccc(c);
        if (cc == 0) continue;
        int64_t j = i;
        while (j > 0) {
            int pc = ccc(d.v[j - 1]);
            if (pc == 0 || pc <= cc) break;
            d.v[j] = d.v[j - 1];
            j--;
        }
        d.v[j] = c;
    }
    if (compose && d.n > 0) {
        utf8proc_ssize_t k = utf8proc_normalize_utf32(d.v, d.n, UTF8PROC_COMPOSE | UTF8PROC_STABLE);
        if (k < 0) {
            free(in.v);
            free(d.v);
            return el_err("Unicode normalization failed: %s", utf8proc_errmsg(k));
        }
        d.n = k;
    }
    encode_all(&d, out);
    free(in.v);
    free(d.v);
    return EL_OK;
}

static void lower_put(el_buf *out, int32_t c) {
    if (c == 0x130) { /* Rust's to_lowercase: the one unconditional multi-char mapping */
        tk_utf8_put(out, 'i');
        tk_utf8_put(out, 0x307);
        return;
    }
    tk_utf8_put(out, utf8proc_tolower(c));
}

static void lowercase(const char *s, size_t n, el_buf *out) {
    size_t i = 0;
    while (i < n) {
        int32_t c;
        i += (size_t)tk_utf8_dec(s + i, n - i, &c);
        lower_put(out, c);
    }
}

/* ---- BertNormalizer ---------------------------------------------------------------------- */
static int bert_apply(const tk_norm *nm, const char *s, size_t n, el_buf *out) {
    el_buf a = {0}, b = {0};
    size_t i = 0;
    while (i < n) {
        int32_t c;
        i += (size_t)tk_utf8_dec(s + i, n - i, &c);
        if (nm->clean_text) {
            if (c == 0 || c == 0xFFFD) continue;
            bool ctl = c != '\t' && c != '\n' && c != '\r' && tk_uni_is_other(c);
            if (ctl) continue;
            if (tk_uni_is_ws(c)) c = ' ';
        }
        if (nm->chinese && tk_uni_is_chinese(c)) {
            el_buf_putc(&a, ' ');
            tk_utf8_put(&a, c);
            el_buf_putc(&a, ' ');
        } else {
            tk_utf8_put(&a, c);
        }
    }
    const char *cur = a.s ? a.s : "";
    size_t cn = a.len;
    if (nm->strip_accents) {
        if (nf_apply(cur, cn, false, false, &b) != 0) {
            el_buf_free(&a);
            el_buf_free(&b);
            return EL_ERR;
        }
        a.len = 0;
        size_t j = 0;
        while (j < b.len) {
            int32_t c;
            j += (size_t)tk_utf8_dec(b.s + j, b.len - j, &c);
            if (!tk_uni_is_mn(c)) tk_utf8_put(&a, c);
        }
        cur = a.s ? a.s : "";
        cn = a.len;
    }
    if (nm->lowercase) lowercase(cur, cn, out);
    else el_buf_append(out, cur, cn);
    el_buf_free(&a);
    el_buf_free(&b);
    return EL_OK;
}

/* ---- Nmt --------------------------------------------------------------------------------- */
static void nmt_apply(const char *s, size_t n, el_buf *out) {
    size_t i = 0;
    while (i < n) {
        int32_t c;
        i += (size_t)tk_utf8_dec(s + i, n - i, &c);
        if ((c >= 1 && c <= 8) || c == 0xB || (c >= 0xE && c <= 0x1F) || c == 0x7F || c == 0x8F ||
            c == 0x9F)
            continue;
        switch (c) {
        case 0x9: case 0xA: case 0xC: case 0xD: case 0x1680: case 0x2028: case 0x2029:
        case 0x2581: case 0xFEFF: case 0xFFFD:
            c = ' ';
            break;
        default:
            if (c >= 0x200B && c <= 0x200F) c = ' ';
        }
        tk_utf8_put(out, c);
    }
}

/* ---- Replace ----------------------------------------------------------------------------- */
static bool atom_match(const tk_norm *nm, int32_t c) {
    return nm->atom_cp < 0 ? tk_uni_is_ws(c) : c == nm->atom_cp;
}

static void replace_apply(const tk_norm *nm, const char *s, size_t n, el_buf *out) {
    if (!nm->pat_regex) {
        size_t pl = (size_t)nm->pat_len, i = 0;
        if (pl == 0) {
            el_buf_append(out, s, n);
            return;
        }
        while (i < n) {
            if (i + pl <= n && memcmp(s + i, nm->pat, pl) == 0) {
                el_buf_append(out, nm->content, (size_t)nm->content_len);
                i += pl;
            } else {
                el_buf_append(out, s + i, 1);
                i++;
            }
        }
        return;
    }
    size_t i = 0;
    while (i < n) {
        /* count a run of atoms starting at i */
        size_t j = i;
        int32_t count = 0;
        while (j < n && (nm->rmax < 0 || count < nm->rmax)) {
            int32_t c;
            int l = tk_utf8_dec(s + j, n - j, &c);
            if (!atom_match(nm, c)) break;
            j += (size_t)l;
            count++;
        }
        if (count >= nm->rmin && count > 0) {
            el_buf_append(out, nm->content, (size_t)nm->content_len);
            i = j;
        } else {
            int32_t c;
            int l = tk_utf8_dec(s + i, n - i, &c);
            el_buf_append(out, s + i, (size_t)l);
            i += (size_t)l;
        }
    }
}

/* ---- Precompiled (sentencepiece charsmap) ------------------------------------------------ */
static int b64v(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int tk_precompiled_init(tk_norm *nm, const char *b64, size_t n) {
    while (n > 0 && b64[n - 1] == '=') n--;
    uint8_t *blob = xmalloc(n * 3 / 4 + 4);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64v((unsigned char)b64[i]);
        if (v < 0) {
            free(blob);
            return el_err("precompiled_charsmap: invalid base64 at character %zu", i);
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            blob[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (o < 4) {
        free(blob);
        return el_err("precompiled_charsmap: %zu bytes, too short for a sentencepiece charsmap", o);
    }
    uint32_t trie_size = (uint32_t)blob[0] | (uint32_t)blob[1] << 8 | (uint32_t)blob[2] << 16 |
                         (uint32_t)blob[3] << 24;
    if (trie_size % 4 != 0 || trie_size == 0 || (size_t)trie_size > o - 4) {
        free(blob);
        return el_err("precompiled_charsmap: trie size %u does not fit the %zu-byte blob", trie_size, o);
    }
    nm->blob = blob;
    nm->trie = (const uint32_t *)(blob + 4);
    nm->trie_units = trie_size / 4;
    nm->norm_strs = (const char *)(blob + 4 + trie_size);
    nm->norm_len = (uint32_t)(o - 4 - trie_size);
    return EL_OK;
}

static inline uint32_t unit_at(const tk_norm *nm, uint32_t i) {
    if (i >= nm->trie_units) return 0;
    uint32_t u;
    memcpy(&u, nm->trie + i, 4); /* little-endian host assumed (x86-64, aarch64) */
    return u;
}

/* Double-array (darts-clone layout) common-prefix search; returns the value of the shortest
 * matching prefix, or -1. */
static int64_t da_first_prefix(const tk_norm *nm, const char *key, size_t n) {
    uint32_t pos = 0;
    uint32_t u = unit_at(nm, pos);
    pos ^= (u >> 10) << ((u & (1u << 9)) >> 6);
    for (size_t i = 0; i < n; i++) {
        uint32_t c = (unsigned char)key[i];
        pos ^= c;
        u = unit_at(nm, pos);
        if ((u & ((1u << 31) | 0xFFu)) != c) return -1;
        pos ^= (u >> 10) << ((u & (1u << 9)) >> 6);
        if ((u >> 8) & 1u) return (int64_t)(unit_at(nm, pos) & ((1u << 31) - 1));
    }
    return -1;
}

/* The replacement for chunk, or NULL. */
static const char *pc_transform(const tk_norm *nm, const char *chunk, size_t n, size_t *rlen) {
    int64_t v = da_first_prefix(nm, chunk, n);
    if (v < 0 || (uint64_t)v >= nm->norm_len) return NULL;
    const char *r = nm->norm_strs + v;
    size_t k = 0;
    while ((uint64_t)v + k < nm->norm_len && r[k] != 0) k++;
    *rlen = k;
    return r;
}

static void precompiled_apply(const tk_norm *nm, const char *s, size_t n, el_buf *out) {
    size_t i = 0;
    while (i < n) {
        /* one extended grapheme cluster [i, j) */
        int32_t c, state = 0;
        size_t j = i + (size_t)tk_utf8_dec(s + i, n - i, &c);
        while (j < n) {
            int32_t d;
            int l = tk_utf8_dec(s + j, n - j, &d);
            if (utf8proc_grapheme_break_stateful(c, d, &state)) break;
            c = d;
            j += (size_t)l;
        }
        size_t rl;
        const char *r;
        if (j - i < 6 && (r = pc_transform(nm, s + i, j - i, &rl)) != NULL) {
            el_buf_append(out, r, rl);
        } else {
            size_t k = i;
            while (k < j) {
                int32_t e;
                size_t l = (size_t)tk_utf8_dec(s + k, j - k, &e);
                r = pc_transform(nm, s + k, l, &rl);
                if (r) el_buf_append(out, r, rl);
                else el_buf_append(out, s + k, l);
                k += l;
            }
        }
        i = j;
    }
}

/* ---- dispatch ---------------------------------------------------------------------------- */
static bool is_strip_ws(int32_t c) { return tk_uni_is_ws(c); }

int tk_norm_apply(const tk_norm *nm, const char *s, size_t n, el_buf *out) {
    switch (nm->type) {
    case TK_N_BERT: return bert_apply(nm, s, n, out);
    case TK_N_NFC: return nf_apply(s, n, false, true, out);
    case TK_N_NFD: return nf_apply(s, n, false, false, out);
    case TK_N_NFKC: return nf_apply(s, n, true, true, out);
    case TK_N_NFKD: return nf_apply(s, n, true, false, out);
    case TK_N_LOWER: lowercase(s, n, out); return EL_OK;
    case TK_N_NMT: nmt_apply(s, n, out); return EL_OK;
    case TK_N_REPLACE: replace_apply(nm, s, n, out); return EL_OK;
    case TK_N_PRECOMPILED: precompiled_apply(nm, s, n, out); return EL_OK;
    case TK_N_PREPEND:
        if (n > 0) el_buf_append(out, nm->content, (size_t)nm->content_len);
        el_buf_append(out, s, n);
        return EL_OK;
    case TK_N_STRIP_ACCENTS: {
        size_t i = 0;
        while (i < n) {
            int32_t c;
            int l = tk_utf8_dec(s + i, n - i, &c);
            if (!tk_uni_is_mark(c)) el_buf_append(out, s + i, (size_t)l);
            i += (size_t)l;
        }
        return EL_OK;
    }
    case TK_N_STRIP: {
        size_t b = 0, e = n;
        if (nm->strip_left) {
            while (b < e) {
                int32_t c;
                int l = tk_utf8_dec(s + b, e - b, &c);
                if (!is_strip_ws(c)) break;
                b += (size_t)l;
            }
        }
        if (nm->strip_right) {
            while (e > b) {
                size_t k = e - 1;
                while (k > b && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
                int32_t c;
                tk_utf8_dec(s + k, e - k, &c);
                if (!is_strip_ws(c)) break;
                e = k;
            }
        }
        el_buf_append(out, s + b, e - b);
        return EL_OK;
    }
    case TK_N_SEQ: {
        el_buf a = {0}, b = {0};
        el_buf_append(&a, s, n);
        for (int32_t k = 0; k < nm->n_kids; k++) {
            b.len = 0;
            if (tk_norm_apply(&nm->kids[k], a.s ? a.s : "", a.len, &b) != 0) {
                el_buf_free(&a);
                el_buf_free(&b);
                return EL_ERR;
            }
            el_buf t = a;
            a = b;
            b = t;
        }
        el_buf_append(out, a.s ? a.s : "", a.len);
        el_buf_free(&a);
        el_buf_free(&b);
        return EL_OK;
    }
    }
    return el_err("unknown normalizer");
}

void tk_norm_free(tk_norm *nm) {
    if (!nm) return;
    free(nm->pat);
    free(nm->content);
    free(nm->blob);
    for (int32_t k = 0; k < nm->n_kids; k++) tk_norm_free(&nm->kids[k]);
    free(nm->kids);
    memset(nm, 0, sizeof *nm);
}
