/* tokenize_pretok.c: pre-tokenizers of Hugging Face tokenizers: BertPreTokenizer, ByteLevel
 * (GPT-2 regex, hand-written), Metaspace, WhitespaceSplit, Sequence. */
#include "tokenize_impl.h"

#include <stdlib.h>
#include <string.h>

/* GPT-2's byte -> printable code point map: printable Latin-1 bytes map to themselves, the
 * others to 256, 257, ... in byte order. */
int32_t tk_byte_char(uint8_t b) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) return b;
    if (b <= 32) return 256 + b;       /* 0..32    -> 256..288 */
    if (b <= 160) return b + 162;      /* 127..160 -> 289..322 */
    return 323;                        /* 173 */
}

/* ---- BertPreTokenizer / WhitespaceSplit -------------------------------------------------- */
static void split_bert(const char *s, size_t n, bool first, bool punct, tk_pieces *out) {
    size_t i = 0, start = 0;
    bool at_first = first;
    while (i < n) {
        int32_t c;
        int l = tk_utf8_dec(s + i, n - i, &c);
        if (tk_uni_is_ws(c)) {
            if (i > start) {
                tk_pieces_add(out, s + start, i - start, at_first && start == 0);
            }
            start = i + (size_t)l;
        } else if (punct && tk_uni_is_punct(c)) {
            if (i > start) tk_pieces_add(out, s + start, i - start, at_first && start == 0);
            tk_pieces_add(out, s + i, (size_t)l, at_first && i == 0);
            start = i + (size_t)l;
        }
        i += (size_t)l;
    }
    if (n > start) tk_pieces_add(out, s + start, n - start, at_first && start == 0);
}

/* ---- ByteLevel --------------------------------------------------------------------------- */
typedef enum { CL_L, CL_N, CL_WS, CL_O } cls_t;
static cls_t cls_of(int32_t c) {
    if (tk_uni_is_ws(c)) return CL_WS;
    if (tk_uni_re_letter(c)) return CL_L;
    if (tk_uni_re_number(c)) return CL_N;
    return CL_O;
}

/* Length of the match of 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * at s[i..n) (always >= 1 byte). */
static size_t gpt2_match(const char *s, size_t n, size_t i) {
    if (s[i] == '\'' && i + 1 < n) {
        char a = s[i + 1];
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if (i + 2 < n) {
            char b = s[i + 2];
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
        }
    }
    int32_t c;
    size_t l = (size_t)tk_utf8_dec(s + i, n - i, &c);
    cls_t k = cls_of(c);
    size_t j = i;
    if (k == CL_WS && c == ' ' && i + l < n) {
        int32_t d;
        tk_utf8_dec(s + i + l, n - i - l, &d);
        cls_t kd = cls_of(d);
        if (kd != CL_WS) { /* " ?X+" with the optional space */
            j = i + l;
            k = kd;
        }
    }
    if (k != CL_WS) {
        while (j < n) {
            int32_t d;
            size_t m = (size_t)tk_utf8_dec(s + j, n - j, &d);
            if (cls_of(d) != k) break;
            j += m;
        }
        return j - i;
    }
    /* whitespace run [i, e) */
    size_t e = i, last = i;
    int count = 0;
    while (e < n) {
        int32_t d;
        size_t m = (size_t)tk_utf8_dec(s + e, n - e, &d);
        if (!tk_uni_is_ws(d)) break;
        last = e;
        e += m;
        count++;
    }
    if (e == n || count == 1) return e - i; /* \s+ to the end, or a single \s */
    return last - i;                        /* \s+(?!\S): leave the last one for the next token */
}

static void bytes_to_chars(const char *s, size_t n, el_buf *out) {
    for (size_t i = 0; i < n; i++) tk_utf8_put(out, tk_byte_char((uint8_t)s[i]));
}

static void split_bytelevel(const tk_pretok *pt, const char *s, size_t n, bool first, tk_pieces *out) {
    el_buf tmp = {0};
    el_buf src = {0};
    if (pt->add_prefix_space && n > 0 && s[0] != ' ') {
        el_buf_putc(&src, ' ');
        el_buf_append(&src, s, n);
        s = src.s;
        n = src.len;
    }
    size_t i = 0;
    while (i < n) {
        size_t m = pt->use_regex ? gpt2_match(s, n, i) : n - i;
        tmp.len = 0;
        bytes_to_chars(s + i, m, &tmp);
        tk_pieces_add(out, tmp.s, tmp.len, first && i == 0);
        i += m;
    }
    el_buf_free(&tmp);
    el_buf_free(&src);
}

/* ---- Metaspace --------------------------------------------------------------------------- */
static void split_metaspace(const tk_pretok *pt, const char *s, size_t n, bool first, tk_pieces *out) {
    el_buf t = {0};
    size_t rl = (size_t)pt->rep_len;
    if (n > 0) {
        bool starts = false;
        /* after replacing ' ' by the replacement, does the text start with it? */
        if (s[0] == ' ') starts = true;
        else if (n >= rl && memcmp(s, pt->rep, rl) == 0) starts = true;
        bool pre = !starts && (pt->prepend == TK_PREPEND_ALWAYS || (pt->prepend == TK_PREPEND_FIRST && first));
        if (pre) el_buf_append(&t, pt->rep, rl);
        for (size_t i = 0; i < n; i++) {
            if (s[i] == ' ') el_buf_append(&t, pt->rep, rl);
            else el_buf_append(&t, s + i, 1);
        }
    }
    if (!pt->split) {
        if (t.len) tk_pieces_add(out, t.s, t.len, first);
        el_buf_free(&t);
        return;
    }
    /* split before every replacement char */
    size_t start = 0, i = 0;
    while (i < t.len) {
        if (i > start && t.len - i >= rl && memcmp(t.s + i, pt->rep, rl) == 0) {
            tk_pieces_add(out, t.s + start, i - start, first && start == 0);
            start = i;
            i += rl;
            continue;
        }
        int32_t c;
        i += (size_t)tk_utf8_dec(t.s + i, t.len - i, &c);
    }
    if (t.len > start) tk_pieces_add(out, t.s + start, t.len - start, first && start == 0);
    el_buf_free(&t);
}

/* ---- dispatch ---------------------------------------------------------------------------- */
int tk_pretok_apply(const tk_pretok *pt, const tk_pieces *in, tk_pieces *out) {
    if (pt->type == TK_P_SEQ) {
        tk_pieces a = {0}, b = {0};
        for (int32_t j = 0; j < in->n; j++) tk_pieces_add(&a, in->text.s + in->off[j], (size_t)in->len[j], in->first[j]);
        for (int32_t k = 0; k < pt->n_kids; k++) {
            tk_pieces_clear(&b);
            if (tk_pretok_apply(&pt->kids[k], &a, &b) != 0) {
                tk_pieces_free(&a);
                tk_pieces_free(&b);
                return EL_ERR;
            }
            tk_pieces t = a;
            a = b;
            b = t;
        }
        for (int32_t j = 0; j < a.n; j++) tk_pieces_add(out, a.text.s + a.off[j], (size_t)a.len[j], a.first[j]);
        tk_pieces_free(&a);
        tk_pieces_free(&b);
        return EL_OK;
    }
    for (int32_t j = 0; j < in->n; j++) {
        const char *s = in->text.s + in->off[j];
        size_t n = (size_t)in->len[j];
        bool first = in->first[j];
        switch (pt->type) {
        case TK_P_BERT: split_bert(s, n, first, true, out); break;
        case TK_P_WSSPLIT: split_bert(s, n, first, false, out); break;
        case TK_P_BYTELEVEL: split_bytelevel(pt, s, n, first, out); break;
        case TK_P_METASPACE: split_metaspace(pt, s, n, first, out); break;
        case TK_P_SEQ: break;
        }
    }
    return EL_OK;
}

void tk_pretok_free(tk_pretok *pt) {
    if (!pt) return;
    for (int32_t k = 0; k < pt->n_kids; k++) tk_pretok_free(&pt->kids[k]);
    free(pt->kids);
    memset(pt, 0, sizeof *pt);
}
