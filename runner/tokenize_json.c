/* tokenize_json.c: loads a Hugging Face tokenizer.json (jansson) into an el_tokenizer.
 * Every refusal names the file and the JSON key path, e.g.
 *   "x/tokenizer.json: normalizer.normalizers[1].type: unsupported normalizer 'Foo' (...)". */
#include "tokenize_impl.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 32
/* Ids are dense array indices: 2^24 is far above any real vocabulary (the largest are ~256k). */
#define TK_MAX_ID (1 << 24)

typedef struct {
    const char *name; /* file name for messages */
    const char *buf;  /* the raw text (Unigram scores are re-read from it) */
    size_t len;
} jctx;

static int jerr(const jctx *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int jerr(const jctx *c, const char *path, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return el_err("%s: %s: %s", c->name, path, msg);
}

static const char *jtype(const json_t *v) {
    if (!v) return "missing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* path helpers: "a.b", "a[3]" into a caller buffer */
static void sub(char *out, size_t n, const char *path, const char *key) {
    snprintf(out, n, "%s%s%s", path, *path ? "." : "", key);
}
static void subi(char *out, size_t n, const char *path, size_t i) { snprintf(out, n, "%s[%zu]", path, i); }

/* Optional bool: absent or null -> def. */
static int get_bool(const jctx *c, const json_t *o, const char *path, const char *key, bool def, bool *out) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return EL_OK;
    }
    if (!json_is_boolean(v)) {
        char p[512];
        sub(p, sizeof p, path, key);
        return jerr(c, p, "expected a boolean, found %s", jtype(v));
    }
    *out = json_is_true(v);
    return EL_OK;
}

/* Optional string: absent or null -> *out = NULL. */
static int get_str(const jctx *c, const json_t *o, const char *path, const char *key, const char **out,
                   size_t *len, bool required) {
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (len) *len = 0;
    if (!v || json_is_null(v)) {
        if (!required) return EL_OK;
        char p[512];
        sub(p, sizeof p, path, key);
        return jerr(c, p, "required string is %s", jtype(v));
    }
    if (!json_is_string(v)) {
        char p[512];
        sub(p, sizeof p, path, key);
        return jerr(c, p, "expected a string, found %s", jtype(v));
    }
    *out = json_string_value(v);
    if (len) *len = json_string_length(v);
    return EL_OK;
}

static int get_int(const jctx *c, const json_t *o, const char *path, const char *key, int64_t def,
                   int64_t lo, int64_t hi, int64_t *out) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return EL_OK;
    }
    char p[512];
    sub(p, sizeof p, path, key);
    if (!json_is_integer(v)) return jerr(c, p, "expected an integer, found %s", jtype(v));
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi) return jerr(c, p, "%lld is out of range [%lld, %lld]", (long long)x, (long long)lo, (long long)hi);
    *out = x;
    return EL_OK;
}

static const char *type_of(const json_t *o) {
    json_t *t = json_object_get(o, "type");
    return json_is_string(t) ? json_string_value(t) : NULL;
}

static int need_type(const jctx *c, const json_t *o, const char *path, const char **t) {
    if (!json_is_object(o)) return jerr(c, path, "expected an object, found %s", jtype(o));
    *t = type_of(o);
    if (!*t) {
        char p[512];
        sub(p, sizeof p, path, "type");
        return jerr(c, p, "missing or not a string");
    }
    return EL_OK;
}

static char *dupn(const char *s, size_t n) {
    char *p = xmalloc(n + 1);
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* ---- normalizers ------------------------------------------------------------------------- */
/* Parses "X", "X+", "X*", "X{n}", "X{n,}", "X{n,m}" with X a literal char, an escaped char or
 * \s. Anything else is refused. */
static int parse_mini_regex(const char *re, size_t n, tk_norm *nm) {
    size_t i = 0;
    if (n == 0) return EL_ERR;
    if (re[0] == '\\') {
        if (n < 2) return EL_ERR;
        if (re[1] == 's') nm->atom_cp = -1;
        else if (strchr(".\\+*?()[]{}|^$ -/", re[1])) nm->atom_cp = (unsigned char)re[1];
        else if (re[1] == 't') nm->atom_cp = '\t';
        else if (re[1] == 'n') nm->atom_cp = '\n';
        else return EL_ERR;
        i = 2;
    } else {
        if (strchr(".+*?()[]{}|^$", re[0])) return EL_ERR;
        int32_t c;
        i = (size_t)tk_utf8_dec(re, n, &c);
        nm->atom_cp = c;
    }
    nm->rmin = 1;
    nm->rmax = 1;
    if (i == n) return EL_OK;
    if (re[i] == '+' && i + 1 == n) {
        nm->rmax = -1;
        return EL_OK;
    }
    if (re[i] != '{') return EL_ERR;
    i++;
    long a = 0, b = -1;
    size_t d = 0;
    while (i < n && re[i] >= '0' && re[i] <= '9' && d < 6) a = a * 10 + (re[i++] - '0'), d++;
    if (d == 0 || i >= n) return EL_ERR;
    if (re[i] == '}') b = a;
    else if (re[i] == ',') {
        i++;
        if (i < n && re[i] == '}') b = -1;
        else {
            b = 0;
            d = 0;
            while (i < n && re[i] >= '0' && re[i] <= '9' && d < 6) b = b * 10 + (re[i++] - '0'), d++;
            if (d == 0 || i >= n || re[i] != '}' || b < a) return EL_ERR;
        }
    } else return EL_ERR;
    if (re[i] != '}' || i + 1 != n || a < 1) return EL_ERR;
    nm->rmin = (int32_t)a;
    nm->rmax = (int32_t)b;
    return EL_OK;
}

static int parse_norm(const jctx *c, const json_t *o, const char *path, tk_norm *nm, int depth) {
    memset(nm, 0, sizeof *nm);
    if (depth > MAX_DEPTH) return jerr(c, path, "nested more than %d levels", MAX_DEPTH);
    const char *t;
    if (need_type(c, o, path, &t) != 0) return EL_ERR;
    char p[512];
    if (!strcmp(t, "BertNormalizer")) {
        nm->type = TK_N_BERT;
        if (get_bool(c, o, path, "clean_text", true, &nm->clean_text) || get_bool(c, o, path, "handle_chinese_chars", true, &nm->chinese) ||
            get_bool(c, o, path, "lowercase", true, &nm->lowercase))
            return EL_ERR;
        /* strip_accents: null means "same as lowercase" */
        if (get_bool(c, o, path, "strip_accents", nm->lowercase, &nm->strip_accents)) return EL_ERR;
    } else if (!strcmp(t, "NFC")) nm->type = TK_N_NFC;
    else if (!strcmp(t, "NFD")) nm->type = TK_N_NFD;
    else if (!strcmp(t, "NFKC")) nm->type = TK_N_NFKC;
    else if (!strcmp(t, "NFKD")) nm->type = TK_N_NFKD;
    else if (!strcmp(t, "Lowercase")) nm->type = TK_N_LOWER;
    else if (!strcmp(t, "Nmt")) nm->type = TK_N_NMT;
    else if (!strcmp(t, "StripAccents")) nm->type = TK_N_STRIP_ACCENTS;
    else if (!strcmp(t, "Strip")) {
        nm->type = TK_N_STRIP;
        if (get_bool(c, o, path, "strip_left", true, &nm->strip_left) || get_bool(c, o, path, "strip_right", true, &nm->strip_right))
            return EL_ERR;
    } else if (!strcmp(t, "Prepend")) {
        nm->type = TK_N_PREPEND;
        const char *s;
        size_t n;
        if (get_str(c, o, path, "prepend", &s, &n, true)) return EL_ERR;
        nm->content = dupn(s, n);
        nm->content_len = (int32_t)n;
    } else if (!strcmp(t, "Replace")) {
        nm->type = TK_N_REPLACE;
        const char *s;
        size_t n;
        if (get_str(c, o, path, "content", &s, &n, true)) return EL_ERR;
        nm->content = dupn(s, n);
        nm->content_len = (int32_t)n;
        json_t *pat = json_object_get(o, "pattern");
        sub(p, sizeof p, path, "pattern");
        if (!json_is_object(pat)) return jerr(c, p, "expected {\"String\": ...} or {\"Regex\": ...}, found %s", jtype(pat));
        json_t *ps = json_object_get(pat, "String"), *pr = json_object_get(pat, "Regex");
        if (json_is_string(ps)) {
            nm->pat = dupn(json_string_value(ps), json_string_length(ps));
            nm->pat_len = (int32_t)json_string_length(ps);
        } else if (json_is_string(pr)) {
            nm->pat_regex = true;
            nm->pat = dupn(json_string_value(pr), json_string_length(pr));
            nm->pat_len = (int32_t)json_string_length(pr);
            if (parse_mini_regex(nm->pat, (size_t)nm->pat_len, nm) != 0) {
                char q[560];
                sub(q, sizeof q, p, "Regex");
                return jerr(c, q, "unsupported regex '%s' (supported: one char or \\s with +, {n}, {n,}, {n,m})", nm->pat);
            }
        } else {
            return jerr(c, p, "expected {\"String\": ...} or {\"Regex\": ...}");
        }
    } else if (!strcmp(t, "Precompiled")) {
        nm->type = TK_N_PRECOMPILED;
        json_t *v = json_object_get(o, "precompiled_charsmap");
        sub(p, sizeof p, path, "precompiled_charsmap");
        if (!v || json_is_null(v)) {
            nm->type = TK_N_SEQ; /* no charsmap: identity */
            return EL_OK;
        }
        if (!json_is_string(v)) return jerr(c, p, "expected a base64 string, found %s", jtype(v));
        if (tk_precompiled_init(nm, json_string_value(v), json_string_length(v)) != 0)
        {
            char why[512];
            snprintf(why, sizeof why, "%s", el_last_error() + strlen("precompiled_charsmap: "));
            return el_err("%s: %s: %s", c->name, p, why);
        }
    } else if (!strcmp(t, "Sequence")) {
        nm->type = TK_N_SEQ;
        json_t *a = json_object_get(o, "normalizers");
        sub(p, sizeof p, path, "normalizers");
        if (!json_is_array(a)) return jerr(c, p, "expected an array, found %s", jtype(a));
        size_t n = json_array_size(a);
        nm->kids = xcalloc(n ? n : 1, sizeof(tk_norm));
        for (size_t i = 0; i < n; i++) {
            char q[560];
            subi(q, sizeof q, p, i);
            nm->n_kids = (int32_t)i + 1;
            if (parse_norm(c, json_array_get(a, i), q, &nm->kids[i], depth + 1) != 0) return EL_ERR;
        }
    } else {
        sub(p, sizeof p, path, "type");
        return jerr(c, p, "unsupported normalizer '%s' (supported: BertNormalizer, Precompiled, NFC, NFD, NFKC, NFKD, "
                          "Lowercase, Strip, StripAccents, Nmt, Replace, Prepend, Sequence)", t);
    }
    return EL_OK;
}

/* ---- pre-tokenizers ---------------------------------------------------------------------- */
static int parse_pretok(const jctx *c, const json_t *o, const char *path, tk_pretok *pt, int depth) {
    memset(pt, 0, sizeof *pt);
    if (depth > MAX_DEPTH) return jerr(c, path, "nested more than %d levels", MAX_DEPTH);
    const char *t;
    if (need_type(c, o, path, &t) != 0) return EL_ERR;
    char p[512];
    if (!strcmp(t, "BertPreTokenizer")) pt->type = TK_P_BERT;
    else if (!strcmp(t, "WhitespaceSplit")) pt->type = TK_P_WSSPLIT;
    else if (!strcmp(t, "ByteLevel")) {
        pt->type = TK_P_BYTELEVEL;
        if (get_bool(c, o, path, "add_prefix_space", true, &pt->add_prefix_space) || get_bool(c, o, path, "use_regex", true, &pt->use_regex))
            return EL_ERR;
    } else if (!strcmp(t, "Metaspace")) {
        pt->type = TK_P_METASPACE;
        const char *r;
        size_t n;
        if (get_str(c, o, path, "replacement", &r, &n, false)) return EL_ERR;
        if (!r) {
            r = "\xe2\x96\x81";
            n = 3;
        }
        int32_t cp;
        sub(p, sizeof p, path, "replacement");
        if (n == 0 || n > 4 || el_utf8_invalid_at(r, n) >= 0 || (size_t)tk_utf8_dec(r, n, &cp) != n)
            return jerr(c, p, "expected exactly one character");
        memcpy(pt->rep, r, n);
        pt->rep_len = (int32_t)n;
        pt->rep_cp = cp;
        bool aps;
        if (get_bool(c, o, path, "add_prefix_space", true, &aps) || get_bool(c, o, path, "split", true, &pt->split)) return EL_ERR;
        pt->prepend = aps ? TK_PREPEND_ALWAYS : TK_PREPEND_NEVER;
        const char *ps;
        if (get_str(c, o, path, "prepend_scheme", &ps, NULL, false)) return EL_ERR;
        if (ps) {
            sub(p, sizeof p, path, "prepend_scheme");
            if (!strcmp(ps, "always")) pt->prepend = TK_PREPEND_ALWAYS;
            else if (!strcmp(ps, "never")) pt->prepend = TK_PREPEND_NEVER;
            else if (!strcmp(ps, "first")) pt->prepend = TK_PREPEND_FIRST;
            else return jerr(c, p, "'%s' is not one of always, never, first", ps);
        }
    } else if (!strcmp(t, "Sequence")) {
        pt->type = TK_P_SEQ;
        json_t *a = json_object_get(o, "pretokenizers");
        sub(p, sizeof p, path, "pretokenizers");
        if (!json_is_array(a)) return jerr(c, p, "expected an array, found %s", jtype(a));
        size_t n = json_array_size(a);
        pt->kids = xcalloc(n ? n : 1, sizeof(tk_pretok));
        for (size_t i = 0; i < n; i++) {
            char q[560];
            subi(q, sizeof q, p, i);
            pt->n_kids = (int32_t)i + 1;
            if (parse_pretok(c, json_array_get(a, i), q, &pt->kids[i], depth + 1) != 0) return EL_ERR;
        }
    } else {
        sub(p, sizeof p, path, "type");
        return jerr(c, p, "unsupported pre-tokenizer '%s' (supported: BertPreTokenizer, ByteLevel, Metaspace, "
                          "WhitespaceSplit, Sequence)", t);
    }
    return EL_OK;
}

/* ---- models ------------------------------------------------------------------------------ */
static int vocab_object(const jctx *c, const json_t *o, const char *path, tk_map *m) {
    json_t *v = json_object_get(o, "vocab");
    char p[512];
    sub(p, sizeof p, path, "vocab");
    if (!json_is_object(v)) return jerr(c, p, "expected an object {token: id}, found %s", jtype(v));
    tk_map_init(m, (int32_t)json_object_size(v));
    void *it = json_object_iter((json_t *)v);
    while (it) {
        const char *k = json_object_iter_key(it);
        size_t kl = json_object_iter_key_len(it);
        json_t *id = json_object_iter_value(it);
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= TK_MAX_ID)
        {
            if (json_is_integer(id))
                return jerr(c, p, "token '%.60s': id %lld is out of range [0, 2^24)", k, (long long)json_integer_value(id));
            return jerr(c, p, "token '%.60s': id must be an integer, found %s", k, jtype(id));
        }
        tk_map_put(m, k, kl, (int32_t)json_integer_value(id));
        it = json_object_iter_next((json_t *)v, it);
    }
    return EL_OK;
}

static void merges_insert(tk_model *m, int32_t a, int32_t b, int32_t rank, int32_t id) {
    uint32_t mask = m->merge_slots - 1;
    uint64_t h = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) * 0x9E3779B97F4A7C15ULL;
    uint32_t i = (uint32_t)(h >> 32) & mask;
    for (;;) {
        tk_merge *e = &m->merges[i];
        if (e->a == -1 || (e->a == a && e->b == b)) {
            if (e->a == -1) m->n_merges++;
            *e = (tk_merge){a, b, rank, id};
            return;
        }
        i = (i + 1) & mask;
    }
}

static int parse_bpe(const jctx *c, const json_t *o, const char *path, tk_model *m) {
    char p[512];
    if (vocab_object(c, o, path, &m->vocab) != 0) return EL_ERR;
    const char *s;
    size_t n;
    if (get_str(c, o, path, "unk_token", &s, &n, false)) return EL_ERR;
    m->unk_id = s ? tk_map_get(&m->vocab, s, n) : -1;
    if (get_str(c, o, path, "continuing_subword_prefix", &s, &n, false)) return EL_ERR;
    if (s) {
        m->prefix = dupn(s, n);
        m->prefix_len = (int32_t)n;
    }
    if (get_str(c, o, path, "end_of_word_suffix", &s, &n, false)) return EL_ERR;
    if (s) {
        m->suffix = dupn(s, n);
        m->suffix_len = (int32_t)n;
    }
    if (get_bool(c, o, path, "fuse_unk", false, &m->fuse_unk) || get_bool(c, o, path, "byte_fallback", false, &m->byte_fallback) ||
        get_bool(c, o, path, "ignore_merges", false, &m->ignore_merges))
        return EL_ERR;
    json_t *d = json_object_get(o, "dropout");
    if (d && !json_is_null(d)) {
        sub(p, sizeof p, path, "dropout");
        if (!json_is_number(d)) return jerr(c, p, "expected a number or null, found %s", jtype(d));
        if (json_number_value(d) > 0.0) return jerr(c, p, "BPE dropout %g is random at encode time: unsupported (set it to null)", json_number_value(d));
    }
    json_t *mg = json_object_get(o, "merges");
    sub(p, sizeof p, path, "merges");
    if (!mg || json_is_null(mg)) mg = NULL;
    else if (!json_is_array(mg)) return jerr(c, p, "expected an array, found %s", jtype(mg));
    size_t nm = mg ? json_array_size(mg) : 0;
    uint32_t slots = 16;
    while (slots < nm * 2 + 2 && slots < (1u << 30)) slots <<= 1;
    m->merge_slots = slots;
    m->merges = xmalloc(sizeof(tk_merge) * slots);
    for (uint32_t i = 0; i < slots; i++) m->merges[i].a = -1;
    el_buf nt = {0};
    for (size_t i = 0; i < nm; i++) {
        json_t *e = json_array_get(mg, i);
        const char *a, *b;
        size_t al, bl;
        char q[560];
        subi(q, sizeof q, p, i);
        if (json_is_string(e)) {
            a = json_string_value(e);
            size_t l = json_string_length(e);
            const char *sp = memchr(a, ' ', l);
            if (!sp || memchr(sp + 1, ' ', l - (size_t)(sp - a) - 1)) {
                el_buf_free(&nt);
                return jerr(c, q, "expected \"left right\" (one space), found '%.60s'", a);
            }
            al = (size_t)(sp - a);
            b = sp + 1;
            bl = l - al - 1;
        } else if (json_is_array(e) && json_array_size(e) == 2 && json_is_string(json_array_get(e, 0)) &&
                   json_is_string(json_array_get(e, 1))) {
            a = json_string_value(json_array_get(e, 0));
            al = json_string_length(json_array_get(e, 0));
            b = json_string_value(json_array_get(e, 1));
            bl = json_string_length(json_array_get(e, 1));
        } else {
            el_buf_free(&nt);
            return jerr(c, q, "expected \"left right\" or [left, right], found %s", jtype(e));
        }
        int32_t ia = tk_map_get(&m->vocab, a, al), ib = tk_map_get(&m->vocab, b, bl);
        if (ia < 0 || ib < 0) {
            el_buf_free(&nt);
            return jerr(c, q, "token '%.60s' is not in model.vocab", ia < 0 ? a : b);
        }
        if ((size_t)m->prefix_len > bl) {
            el_buf_free(&nt);
            return jerr(c, q, "right token '%.60s' is shorter than continuing_subword_prefix", b);
        }
        nt.len = 0;
        el_buf_append(&nt, a, al);
        el_buf_append(&nt, b + m->prefix_len, bl - (size_t)m->prefix_len);
        int32_t id = tk_map_get(&m->vocab, nt.s, nt.len);
        if (id < 0) {
            el_buf_free(&nt);
            return jerr(c, q, "merged token '%.60s' is not in model.vocab", nt.s);
        }
        merges_insert(m, ia, ib, (int32_t)i, id);
    }
    el_buf_free(&nt);
    return EL_OK;
}

/* ---- Unigram scores exactly as HF reads them ----------------------------------------------
 * HF parses tokenizer.json with serde_json, whose default float parser is not correctly rounded:
 * it collects up to 19 digits into a u64, converts that to f64 and then multiplies or divides by
 * a power of ten (two roundings). Scores written with 17 significant digits often land one ulp
 * away from strtod's value, which changes Viterbi ties. So the vocab scores are re-read from the
 * raw text with the same arithmetic. (jansson has already validated the syntax.) */
typedef struct {
    const char *s;
    size_t n, i;
} rawp;

static void r_ws(rawp *r) {
    while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' || r->s[r->i] == '\r')) r->i++;
}

/* skips a string at r->i ('"'); returns false on malformed input */
static bool r_str(rawp *r, size_t *b, size_t *e) {
    if (r->i >= r->n || r->s[r->i] != '"') return false;
    *b = ++r->i;
    while (r->i < r->n && r->s[r->i] != '"') r->i += r->s[r->i] == '\\' ? 2 : 1;
    if (r->i >= r->n) return false;
    *e = r->i++;
    return true;
}

static bool r_skip(rawp *r) {
    int depth = 0;
    for (;;) {
        r_ws(r);
        if (r->i >= r->n) return false;
        char ch = r->s[r->i];
        size_t b, e;
        if (ch == '"') {
            if (!r_str(r, &b, &e)) return false;
        } else if (ch == '{' || ch == '[') {
            depth++;
            r->i++;
            continue;
        } else if (ch == '}' || ch == ']') {
            if (depth == 0) return false;
            depth--;
            r->i++;
        } else if (ch == ',' || ch == ':') {
            if (depth == 0) return false;
            r->i++;
            continue;
        } else {
            size_t s0 = r->i;
            while (r->i < r->n && r->s[r->i] && !strchr(",]} \t\r\n", r->s[r->i])) r->i++;
            if (r->i == s0) return false;
        }
        if (depth == 0) return true;
    }
}

/* Positions r at the value of the last occurrence of KEY in the object at r->i. */
static bool r_find_key(rawp *r, const char *key) {
    r_ws(r);
    if (r->i >= r->n || r->s[r->i] != '{') return false;
    r->i++;
    size_t found = (size_t)-1, kl = strlen(key);
    for (;;) {
        r_ws(r);
        if (r->i < r->n && r->s[r->i] == '}') break;
        size_t b, e;
        if (!r_str(r, &b, &e)) return false;
        r_ws(r);
        if (r->i >= r->n || r->s[r->i] != ':') return false;
        r->i++;
        r_ws(r);
        if (e - b == kl && memcmp(r->s + b, key, kl) == 0) found = r->i;
        if (!r_skip(r)) return false;
        r_ws(r);
        if (r->i < r->n && r->s[r->i] == ',') r->i++;
        else break;
    }
    if (found == (size_t)-1) return false;
    r->i = found;
    return true;
}

static double g_pow10[309];
static void pow10_init(void) {
    char lit[16];
    for (int k = 0; k <= 308; k++) {
        snprintf(lit, sizeof lit, "1e%d", k);
        g_pow10[k] = strtod(lit, NULL); /* correctly rounded, like Rust's float literals */
    }
}
static const double *pow10_table(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, pow10_init);
    return g_pow10;
}

static bool serde_f64(const char *s, size_t n, double *out) {
    const double *p10 = pow10_table();
    size_t i = 0;
    bool pos = true;
    if (i < n && s[i] == '-') {
        pos = false;
        i++;
    }
    if (i >= n || s[i] < '0' || s[i] > '9') return false;
    uint64_t sig = 0;
    int64_t ex = 0;
    bool over = false;
    const uint64_t M = UINT64_MAX;
#define OVF(a, d) ((a) >= M / 10 && ((a) > M / 10 || (uint64_t)(d) > M % 10))
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        int d = s[i] - '0';
        if (over) ex++;
        else if (OVF(sig, d)) {
            over = true;
            ex++;
        } else sig = sig * 10 + (uint64_t)d;
    }
    if (i < n && s[i] == '.') {
        i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            int d = s[i] - '0';
            if (over) continue;
            if (OVF(sig, d)) {
                over = true;
                continue;
            }
            sig = sig * 10 + (uint64_t)d;
            ex--;
        }
    }
#undef OVF
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool pe = true;
        if (i < n && (s[i] == '+' || s[i] == '-')) pe = s[i++] == '+';
        int64_t e = 0;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (e < 100000) e = e * 10 + (s[i] - '0');
        ex = pe ? ex + e : ex - e;
    }
    if (i != n) return false;
    double f = (double)sig;
    for (;;) {
        int64_t a = ex < 0 ? -ex : ex;
        if (a <= 308) {
            if (ex >= 0) f *= p10[a];
            else f /= p10[a];
            break;
        }
        if (f == 0.0) break;
        if (ex >= 0) return false;
        f /= 1e308;
        ex += 308;
    }
    *out = pos ? f : -f;
    return true;
}

/* Overwrites scores[0..n) with serde_json's reading of model.vocab[i][1]; false if the raw text
 * does not have the expected shape (the jansson values are kept then). */
static bool raw_unigram_scores(const char *buf, size_t len, double *scores, size_t n) {
    rawp r = {buf, len, 0};
    if (!r_find_key(&r, "model") || !r_find_key(&r, "vocab")) return false;
    r_ws(&r);
    if (r.i >= r.n || r.s[r.i] != '[') return false;
    r.i++;
    double *tmp = xmalloc(sizeof(double) * (n ? n : 1));
    size_t k = 0;
    bool ok = false;
    for (;;) {
        r_ws(&r);
        if (r.i < r.n && r.s[r.i] == ']') {
            ok = k == n;
            break;
        }
        if (k >= n || r.i >= r.n || r.s[r.i] != '[') break;
        r.i++;
        r_ws(&r);
        size_t b, e;
        if (!r_str(&r, &b, &e)) break;
        r_ws(&r);
        if (r.i >= r.n || r.s[r.i] != ',') break;
        r.i++;
        r_ws(&r);
        size_t nb = r.i;
        while (r.i < r.n && r.s[r.i] && !strchr(",] \t\r\n", r.s[r.i])) r.i++;
        if (!serde_f64(r.s + nb, r.i - nb, &tmp[k])) break;
        k++;
        r_ws(&r);
        if (r.i >= r.n || r.s[r.i] != ']') break;
        r.i++;
        r_ws(&r);
        if (r.i < r.n && r.s[r.i] == ',') r.i++;
    }
    if (ok) memcpy(scores, tmp, sizeof(double) * n);
    free(tmp);
    return ok;
}

static int parse_unigram(const jctx *c, const json_t *o, const char *path, tk_model *m) {
    char p[512];
    json_t *v = json_object_get(o, "vocab");
    sub(p, sizeof p, path, "vocab");
    if (!json_is_array(v)) return jerr(c, p, "expected an array of [piece, score], found %s", jtype(v));
    size_t n = json_array_size(v);
    if (n == 0) return jerr(c, p, "empty vocabulary");
    if (n >= TK_MAX_ID) return jerr(c, p, "%zu pieces: too large (at most 2^24)", n);
    tk_map_init(&m->vocab, (int32_t)n);
    m->scores = xmalloc(sizeof(double) * n);
    m->n_pieces = (int32_t)n;
    double mn = 1e300;
    int32_t maxc = 1;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        json_t *s = json_array_get(e, 0), *sc = json_array_get(e, 1);
        if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_string(s) || !json_is_number(sc)) {
            char q[560];
            subi(q, sizeof q, p, i);
            return jerr(c, q, "expected [piece, score]");
        }
        size_t l = json_string_length(s);
        const char *str = json_string_value(s);
        tk_map_put(&m->vocab, str, l, (int32_t)i);
        m->scores[i] = json_number_value(sc);
        if (m->scores[i] < mn) mn = m->scores[i];
        int32_t ch = 0;
        for (size_t k = 0; k < l; k++)
            if (((unsigned char)str[k] & 0xC0) != 0x80) ch++;
        if (ch > maxc) maxc = ch;
    }
    if (raw_unigram_scores(c->buf, c->len, m->scores, n)) {
        mn = 1e300;
        for (size_t i = 0; i < n; i++)
            if (m->scores[i] < mn) mn = m->scores[i];
    }
    m->unk_score = mn - 10.0;
    m->max_piece_chars = maxc;
    int64_t unk;
    if (get_int(c, o, path, "unk_id", -1, -1, (int64_t)n - 1, &unk)) return EL_ERR;
    m->unk_id = (int32_t)unk;
    if (get_bool(c, o, path, "byte_fallback", false, &m->byte_fallback)) return EL_ERR;
    return EL_OK;
}

static int parse_model(const jctx *c, const json_t *o, tk_model *m) {
    const char *t;
    if (!o) return el_err("%s: model: missing (a tokenizer.json has a \"model\" object)", c->name);
    if (need_type(c, o, "model", &t) != 0) return EL_ERR;
    m->unk_id = -1;
    for (int i = 0; i < 256; i++) m->byte_ids[i] = -1;
    int rc;
    if (!strcmp(t, "WordPiece")) {
        m->kind = EL_TOK_WORDPIECE;
        rc = vocab_object(c, o, "model", &m->vocab);
        if (rc) return rc;
        const char *s;
        size_t n;
        if (get_str(c, o, "model", "unk_token", &s, &n, false)) return EL_ERR;
        if (!s) {
            s = "[UNK]";
            n = 5;
        }
        m->unk_id = tk_map_get(&m->vocab, s, n);
        if (get_str(c, o, "model", "continuing_subword_prefix", &s, &n, false)) return EL_ERR;
        if (!s) {
            s = "##";
            n = 2;
        }
        m->prefix = dupn(s, n);
        m->prefix_len = (int32_t)n;
        int64_t mc;
        if (get_int(c, o, "model", "max_input_chars_per_word", 100, 0, INT32_MAX, &mc)) return EL_ERR;
        m->max_chars = (int32_t)mc;
        for (int32_t e = 0; e < m->vocab.n; e++)
            if (m->vocab.key_len[e] > m->max_key_bytes) m->max_key_bytes = m->vocab.key_len[e];
    } else if (!strcmp(t, "BPE")) {
        m->kind = EL_TOK_BPE;
        if (parse_bpe(c, o, "model", m)) return EL_ERR;
    } else if (!strcmp(t, "Unigram")) {
        m->kind = EL_TOK_UNIGRAM;
        if (parse_unigram(c, o, "model", m)) return EL_ERR;
    } else {
        return el_err("%s: model.type: unsupported model '%s' (supported: WordPiece, BPE, Unigram)", c->name, t);
    }
    char key[16];
    for (int i = 0; i < 256; i++) {
        snprintf(key, sizeof key, "<0x%02X>", i);
        m->byte_ids[i] = tk_map_get(&m->vocab, key, strlen(key));
    }
    return EL_OK;
}

void tk_model_free(tk_model *m) {
    tk_map_free(&m->vocab);
    free(m->prefix);
    free(m->suffix);
    free(m->merges);
    free(m->scores);
    memset(m, 0, sizeof *m);
}

/* ---- post-processors --------------------------------------------------------------------- */
static void add_sp(tk_special **v, int32_t *n, int32_t id, int32_t type_id) {
    *v = xrealloc(*v, sizeof(tk_special) * (size_t)(*n + 1));
    (*v)[*n] = (tk_special){id, type_id};
    (*n)++;
}

static int pair_token(const jctx *c, const json_t *o, const char *path, const char *key, int32_t *id) {
    json_t *v = json_object_get(o, key);
    char p[512];
    sub(p, sizeof p, path, key);
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_string(json_array_get(v, 0)) ||
        !json_is_integer(json_array_get(v, 1)))
        return jerr(c, p, "expected [token, id]");
    json_int_t x = json_integer_value(json_array_get(v, 1));
    if (x < 0 || x >= TK_MAX_ID) return jerr(c, p, "id %lld out of range", (long long)x);
    *id = (int32_t)x;
    return EL_OK;
}

static int parse_post(const jctx *c, const json_t *o, const char *path, el_tokenizer *tok, int depth) {
    if (depth > MAX_DEPTH) return jerr(c, path, "nested more than %d levels", MAX_DEPTH);
    const char *t;
    if (need_type(c, o, path, &t) != 0) return EL_ERR;
    char p[512];
    if (!strcmp(t, "BertProcessing") || !strcmp(t, "RobertaProcessing")) {
        if (tok->has_post) return jerr(c, path, "more than one templating post-processor");
        int32_t cls, sep;
        if (pair_token(c, o, path, "cls", &cls) || pair_token(c, o, path, "sep", &sep)) return EL_ERR;
        tok->has_post = true;
        add_sp(&tok->pre_sp, &tok->n_pre, cls, 0);
        add_sp(&tok->post_sp, &tok->n_post, sep, 0);
        tok->seq_type_id = 0;
        tok->cls_id = cls;
        tok->sep_id = sep;
    } else if (!strcmp(t, "ByteLevel")) {
        /* offsets only */
    } else if (!strcmp(t, "TemplateProcessing")) {
        if (tok->has_post) return jerr(c, path, "more than one templating post-processor");
        json_t *single = json_object_get(o, "single"), *sts = json_object_get(o, "special_tokens");
        sub(p, sizeof p, path, "single");
        if (!json_is_array(single)) return jerr(c, p, "expected an array, found %s", jtype(single));
        bool seen_a = false;
        for (size_t i = 0; i < json_array_size(single); i++) {
            json_t *e = json_array_get(single, i);
            char q[560];
            subi(q, sizeof q, p, i);
            json_t *sp = json_object_get(e, "SpecialToken"), *sq = json_object_get(e, "Sequence");
            json_t *ty = json_object_get(sp ? sp : sq, "type_id");
            int32_t type_id = json_is_integer(ty) ? (int32_t)json_integer_value(ty) : 0;
            if (ty && (!json_is_integer(ty) || json_integer_value(ty) < 0 || json_integer_value(ty) > 1000))
                return jerr(c, q, "type_id must be a small non-negative integer");
            if (json_is_object(sq)) {
                json_t *sid = json_object_get(sq, "id");
                if (!json_is_string(sid) || strcmp(json_string_value(sid), "A") != 0 || seen_a)
                    return jerr(c, q, "the single-sequence template must hold sequence A exactly once");
                seen_a = true;
                tok->seq_type_id = type_id;
            } else if (json_is_object(sp)) {
                json_t *sid = json_object_get(sp, "id");
                if (!json_is_string(sid)) return jerr(c, q, "SpecialToken.id must be a string");
                json_t *def = json_is_object(sts) ? json_object_get(sts, json_string_value(sid)) : NULL;
                json_t *ids = json_object_get(def, "ids");
                if (!json_is_array(ids)) {
                    char r[600];
                    snprintf(r, sizeof r, "%s%sspecial_tokens.%s.ids", path, *path ? "." : "", json_string_value(sid));
                    return jerr(c, r, "missing: the template uses '%s'", json_string_value(sid));
                }
                for (size_t k = 0; k < json_array_size(ids); k++) {
                    json_t *x = json_array_get(ids, k);
                    if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) >= TK_MAX_ID)
                        return jerr(c, q, "special token '%s': ids must be integers in [0, 2^24)", json_string_value(sid));
                    int32_t id = (int32_t)json_integer_value(x);
                    if (seen_a) add_sp(&tok->post_sp, &tok->n_post, id, type_id);
                    else add_sp(&tok->pre_sp, &tok->n_pre, id, type_id);
                }
            } else {
                return jerr(c, q, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
            }
        }
        if (!seen_a) return jerr(c, p, "the template has no sequence A");
        tok->has_post = true;
        if (tok->n_pre) tok->cls_id = tok->pre_sp[0].id;
        if (tok->n_post) tok->sep_id = tok->post_sp[0].id;
    } else if (!strcmp(t, "Sequence")) {
        json_t *a = json_object_get(o, "processors");
        sub(p, sizeof p, path, "processors");
        if (!json_is_array(a)) return jerr(c, p, "expected an array, found %s", jtype(a));
        for (size_t i = 0; i < json_array_size(a); i++) {
            char q[560];
            subi(q, sizeof q, p, i);
            if (parse_post(c, json_array_get(a, i), q, tok, depth + 1)) return EL_ERR;
        }
    } else {
        sub(p, sizeof p, path, "type");
        return jerr(c, p, "unsupported post-processor '%s' (supported: BertProcessing, RobertaProcessing, "
                          "TemplateProcessing, ByteLevel, Sequence)", t);
    }
    return EL_OK;
}

/* ---- added tokens ------------------------------------------------------------------------ */
static int parse_added(const jctx *c, const json_t *a, el_tokenizer *tok) {
    if (!a || json_is_null(a)) return EL_OK;
    if (!json_is_array(a)) return jerr(c, "added_tokens", "expected an array, found %s", jtype(a));
    size_t n = json_array_size(a);
    tok->added = xcalloc(n ? n : 1, sizeof(tk_added));
    tk_map_init(&tok->added_map, (int32_t)n);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(a, i);
        char p[64];
        subi(p, sizeof p, "added_tokens", i);
        if (!json_is_object(e)) return jerr(c, p, "expected an object, found %s", jtype(e));
        const char *s;
        size_t l;
        int64_t id;
        if (get_str(c, e, p, "content", &s, &l, true) || get_int(c, e, p, "id", -1, 0, TK_MAX_ID - 1, &id)) return EL_ERR;
        if (id < 0) return jerr(c, p, "id: missing");
        tk_added *t = &tok->added[tok->n_added];
        memset(t, 0, sizeof *t);
        bool special;
        if (get_bool(c, e, p, "special", false, &special)) return EL_ERR;
        t->special = special;
        if (get_bool(c, e, p, "normalized", !special, &t->normalized) || get_bool(c, e, p, "lstrip", false, &t->lstrip) ||
            get_bool(c, e, p, "rstrip", false, &t->rstrip) || get_bool(c, e, p, "single_word", false, &t->single_word))
            return EL_ERR;
        if (l == 0) continue; /* never matches */
        t->content = dupn(s, l);
        t->len = (int32_t)l;
        /* HF re-derives the id: the model's id when the model has the token */
        int32_t mid = tk_map_get(&tok->model.vocab, s, l);
        t->id = mid >= 0 ? mid : (int32_t)id;
        int32_t prev = tk_map_get(&tok->added_map, s, l);
        if (prev >= 0) { /* duplicate content: the later definition wins */
            free(tok->added[prev].content);
            tok->added[prev] = *t;
            memset(t, 0, sizeof *t);
            continue;
        }
        tk_map_put(&tok->added_map, s, l, tok->n_added);
        tok->n_added++;
    }
    return EL_OK;
}

/* ---- the whole file ---------------------------------------------------------------------- */
void el_tokenizer_free(el_tokenizer *tok) {
    if (!tok) return;
    free(tok->name);
    tk_model_free(&tok->model);
    if (tok->norm) {
        tk_norm_free(tok->norm);
        free(tok->norm);
    }
    if (tok->pretok) {
        tk_pretok_free(tok->pretok);
        free(tok->pretok);
    }
    for (int32_t i = 0; i < tok->n_added; i++) {
        free(tok->added[i].content);
        free(tok->added[i].norm_content);
    }
    free(tok->added);
    tk_map_free(&tok->added_map);
    free(tok->pre_sp);
    free(tok->post_sp);
    free(tok->id_tok);
    free(tok->id_tok_len);
    free(tok);
}

static int32_t find_tok(const el_tokenizer *tok, const char *const *names) {
    for (int i = 0; names[i]; i++) {
        int32_t id = el_tokenizer_token_to_id(tok, names[i], strlen(names[i]));
        if (id >= 0) return id;
    }
    return -1;
}

el_tokenizer *el_tokenizer_from_json(const char *buf, size_t len, const char *name) {
    jctx c = {name ? name : "tokenizer.json", buf, len};
    if (!buf) {
        el_err("%s: no data", c.name);
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_ALLOW_NUL, &je);
    if (!root) {
        el_err("%s:%d:%d: invalid JSON: %s", c.name, je.line, je.column, je.text);
        return NULL;
    }
    el_tokenizer *tok = xcalloc(1, sizeof *tok);
    tok->name = xstrdup(c.name);
    tok->pad_id = tok->cls_id = tok->sep_id = tok->mask_id = -1;
    tok->model.unk_id = -1;
    if (!json_is_object(root)) {
        jerr(&c, "(top level)", "expected an object, found %s", jtype(root));
        goto fail;
    }
    if (parse_model(&c, json_object_get(root, "model"), &tok->model)) goto fail;
    json_t *v = json_object_get(root, "normalizer");
    if (v && !json_is_null(v)) {
        tok->norm = xcalloc(1, sizeof(tk_norm));
        if (parse_norm(&c, v, "normalizer", tok->norm, 0)) goto fail;
    }
    v = json_object_get(root, "pre_tokenizer");
    if (v && !json_is_null(v)) {
        tok->pretok = xcalloc(1, sizeof(tk_pretok));
        if (parse_pretok(&c, v, "pre_tokenizer", tok->pretok, 0)) goto fail;
    }
    v = json_object_get(root, "post_processor");
    if (v && !json_is_null(v) && parse_post(&c, v, "post_processor", tok, 0)) goto fail;
    if (parse_added(&c, json_object_get(root, "added_tokens"), tok)) goto fail;
    for (int32_t i = 0; i < tok->n_added; i++) {
        tk_added *a = &tok->added[i];
        if (!a->normalized) continue;
        if (tok->norm) {
            el_buf b = {0};
            if (el_utf8_invalid_at(a->content, (size_t)a->len) >= 0 || tk_norm_apply(tok->norm, a->content, (size_t)a->len, &b)) {
                el_buf_free(&b);
                jerr(&c, "added_tokens", "cannot normalize '%.60s'", a->content);
                goto fail;
            }
            a->norm_len = (int32_t)b.len;
            a->norm_content = b.s ? el_buf_take(&b) : xstrdup("");
        } else {
            a->norm_content = dupn(a->content, (size_t)a->len);
            a->norm_len = a->len;
        }
    }
    for (int32_t i = 0; i < tok->n_added; i++) {
        tk_added *a = &tok->added[i];
        if (a->normalized && a->norm_len > 0) tok->added_first[1][(unsigned char)a->norm_content[0]] = true;
        if (!a->normalized && a->len > 0) tok->added_first[0][(unsigned char)a->content[0]] = true;
    }
    v = json_object_get(root, "truncation");
    if (json_is_object(v)) {
        int64_t ml;
        if (get_int(&c, v, "truncation", "max_length", 0, 0, INT32_MAX, &ml)) goto fail;
        tok->max_len_hint = (int32_t)ml;
    }
    v = json_object_get(root, "padding");
    if (json_is_object(v)) {
        int64_t pid;
        if (get_int(&c, v, "padding", "pad_id", -1, 0, TK_MAX_ID - 1, &pid)) goto fail;
        tok->pad_id = (int32_t)pid;
    }
    /* vocab size and id -> token */
    int32_t vs = 0;
    for (int32_t e = 0; e < tok->model.vocab.n; e++)
        if (tok->model.vocab.val[e] + 1 > vs) vs = tok->model.vocab.val[e] + 1;
    for (int32_t i = 0; i < tok->n_added; i++)
        if (tok->added[i].id + 1 > vs) vs = tok->added[i].id + 1;
    tok->vocab_size = vs;
    tok->id_tok = xcalloc((size_t)(vs ? vs : 1), sizeof(char *));
    tok->id_tok_len = xcalloc((size_t)(vs ? vs : 1), sizeof(int32_t));
    for (int32_t e = 0; e < tok->model.vocab.n; e++) {
        int32_t id = tok->model.vocab.val[e];
        tok->id_tok[id] = tok->model.vocab.arena + tok->model.vocab.key_off[e];
        tok->id_tok_len[id] = tok->model.vocab.key_len[e];
    }
    for (int32_t i = 0; i < tok->n_added; i++) {
        tok->id_tok[tok->added[i].id] = tok->added[i].content;
        tok->id_tok_len[tok->added[i].id] = tok->added[i].len;
    }
    for (int32_t i = 0; i < tok->n_pre; i++)
        if (tok->pre_sp[i].id >= vs) {
            jerr(&c, "post_processor", "special token id %d is outside the vocab (size %d)", (int)tok->pre_sp[i].id, (int)vs);
            goto fail;
        }
    for (int32_t i = 0; i < tok->n_post; i++)
        if (tok->post_sp[i].id >= vs) {
            jerr(&c, "post_processor", "special token id %d is outside the vocab (size %d)", (int)tok->post_sp[i].id, (int)vs);
            goto fail;
        }
    static const char *const pads[] = {"[PAD]", "<pad>", "<|padding|>", NULL};
    static const char *const clss[] = {"[CLS]", "<s>", NULL};
    static const char *const seps[] = {"[SEP]", "</s>", NULL};
    static const char *const masks[] = {"[MASK]", "<mask>", NULL};
    if (tok->pad_id < 0) tok->pad_id = find_tok(tok, pads);
    if (tok->cls_id < 0) tok->cls_id = find_tok(tok, clss);
    if (tok->sep_id < 0) tok->sep_id = find_tok(tok, seps);
    tok->mask_id = find_tok(tok, masks);
    json_decref(root);
    return tok;
fail:
    json_decref(root);
    el_tokenizer_free(tok);
    return NULL;
}

/* A special token of tokenizer_config.json: a string or {"content": ...}; def when absent. */
static const char *cfg_token(const json_t *cfg, const char *key, const char *def) {
    json_t *v = json_object_get(cfg, key);
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_object(v) && json_is_string(json_object_get(v, "content"))) return json_string_value(json_object_get(v, "content"));
    return def;
}

el_tokenizer *el_tokenizer_load_bert_vocab(const char *vocab_path, const char *config_path) {
    char *data = NULL, *cdata = NULL;
    size_t n = 0, cn = 0;
    if (el_read_file(vocab_path, &data, &n) != 0) return NULL;
    json_t *cfg = NULL;
    if (config_path && el_file_exists(config_path)) {
        if (el_read_file(config_path, &cdata, &cn) != 0) {
            free(data);
            return NULL;
        }
        json_error_t je;
        cfg = json_loadb(cdata, cn, 0, &je);
        free(cdata);
        if (!json_is_object(cfg)) {
            el_err("%s:%d:%d: invalid JSON: %s", config_path, je.line, je.column, cfg ? "expected an object" : je.text);
            json_decref(cfg);
            free(data);
            return NULL;
        }
    }
    if (el_utf8_invalid_at(data, n) >= 0) {
        el_err("%s: not valid UTF-8 (byte %lld)", vocab_path, (long long)el_utf8_invalid_at(data, n));
        json_decref(cfg);
        free(data);
        return NULL;
    }
    /* like transformers' load_vocab: one token per line (universal newlines), id = line index */
    json_t *vocab = json_object();
    int32_t id = 0;
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && data[e] != '\n' && data[e] != '\r') e++;
        json_object_setn_new_nocheck(vocab, data + i, e - i, json_integer(id));
        id++;
        if (e < n && data[e] == '\r' && e + 1 < n && data[e + 1] == '\n') e++;
        i = e + 1;
    }
    free(data);
    bool lower = true, chinese = true;
    json_t *v = json_object_get(cfg, "do_lower_case");
    if (json_is_boolean(v)) lower = json_is_true(v);
    v = json_object_get(cfg, "tokenize_chinese_chars");
    if (json_is_boolean(v)) chinese = json_is_true(v);
    json_t *strip = json_object_get(cfg, "strip_accents");
    const char *unk = cfg_token(cfg, "unk_token", "[UNK]"), *cls = cfg_token(cfg, "cls_token", "[CLS]"),
               *sep = cfg_token(cfg, "sep_token", "[SEP]"), *pad = cfg_token(cfg, "pad_token", "[PAD]"),
               *mask = cfg_token(cfg, "mask_token", "[MASK]");
    json_t *doc = json_object();
    json_t *added = json_array();
    const char *specials[] = {unk, sep, pad, cls, mask};
    for (int k = 0; k < 5; k++) {
        json_t *tid = json_object_get(vocab, specials[k]);
        if (!json_is_integer(tid)) continue;
        json_array_append_new(added, json_pack("{s:I,s:s,s:b,s:b,s:b,s:b,s:b}", "id", json_integer_value(tid), "content",
                                               specials[k], "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 0, "special", 1));
    }
    json_object_set_new(doc, "added_tokens", added);
    json_object_set_new(doc, "normalizer",
                        json_pack("{s:s,s:b,s:b,s:O,s:b}", "type", "BertNormalizer", "clean_text", 1, "handle_chinese_chars", chinese,
                                  "strip_accents", json_is_boolean(strip) ? strip : json_null(), "lowercase", lower));
    json_object_set_new(doc, "pre_tokenizer", json_pack("{s:s}", "type", "BertPreTokenizer"));
    json_t *cid = json_object_get(vocab, cls), *sid = json_object_get(vocab, sep);
    if (json_is_integer(cid) && json_is_integer(sid))
        json_object_set_new(doc, "post_processor",
                            json_pack("{s:s,s:[s,I],s:[s,I]}", "type", "BertProcessing", "sep", sep, json_integer_value(sid), "cls",
                                      cls, json_integer_value(cid)));
    json_object_set_new(doc, "model", json_pack("{s:s,s:s,s:s,s:i,s:o}", "type", "WordPiece", "unk_token", unk,
                                                "continuing_subword_prefix", "##", "max_input_chars_per_word", 100, "vocab", vocab));
    v = json_object_get(cfg, "model_max_length");
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < INT32_MAX)
        json_object_set_new(doc, "truncation", json_pack("{s:I}", "max_length", json_integer_value(v)));
    json_decref(cfg);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text) {
        el_err("%s: cannot build the tokenizer", vocab_path);
        return NULL;
    }
    el_tokenizer *tok = el_tokenizer_from_json(text, strlen(text), vocab_path);
    free(text);
    return tok;
}

el_tokenizer *el_tokenizer_load(const char *path) {
    if (!path) {
        el_err("el_tokenizer_load: NULL path");
        return NULL;
    }
    struct stat st;
    char *file = NULL;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        file = el_path_join(path, "tokenizer.json");
        if (!el_file_exists(file)) {
            char *vt = el_path_join(path, "vocab.txt");
            if (el_file_exists(vt)) { /* a BERT checkpoint without the fast-tokenizer file */
                char *cfg = el_path_join(path, "tokenizer_config.json");
                el_tokenizer *tok = el_tokenizer_load_bert_vocab(vt, cfg);
                free(cfg);
                free(vt);
                free(file);
                return tok;
            }
            free(vt);
        }
    } else {
        file = xstrdup(path);
    }
    char *data = NULL;
    size_t n = 0;
    if (el_read_file(file, &data, &n) != 0) {
        if (file && strcmp(file, path) != 0)
            el_err_prefix("%s has neither tokenizer.json nor vocab.txt (emolab reads the fast-tokenizer file, or a "
                          "BERT vocab.txt)", path);
        free(file);
        return NULL;
    }
    el_tokenizer *tok = el_tokenizer_from_json(data, n, file);
    free(data);
    free(file);
    return tok;
}
