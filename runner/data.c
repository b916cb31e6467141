/* data.c: see data.h. One pass over each CSV file (parse + SHA-256), labels mapped through the
 * label set's maps into a bit mask per row, then the train/eval overlap check and the split
 * fingerprints. */
#include "data.h"
#include "datasets.h"
#include "csv.h"
#include "labels.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---- text normalisation ------------------------------------------------------------------ */
static bool is_word_cp(utf8proc_int32_t cp) {
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return true;
    default:
        return false;
    }
}

/* Precisely: decode UTF-8 (an invalid byte counts as one separator); map each code point by the
 * Unicode simple lowercase mapping; keep code points whose general category is a letter (L*) or
 * a number (N*); every maximal run of other code points (spaces, punctuation, symbols, marks,
 * '_', controls) becomes one space; leading/trailing spaces are removed. */
char *el_text_normalize(const char *text) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)(text ? text : "");
    size_t n = strlen((const char *)p);
    /* lowercasing grows a code point by at most 1.5x (2 -> 3 bytes); one space per run */
    char *out = xmalloc(2 * n + 8);
    size_t o = 0;
    bool sep = false;
    size_t i = 0;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0) {
            sep = true;
            i++;
            continue;
        }
        i += (size_t)k;
        if (!is_word_cp(cp)) {
            sep = true;
            continue;
        }
        if (sep && o > 0) out[o++] = ' ';
        sep = false;
        o += (size_t)utf8proc_encode_char(utf8proc_tolower(cp), (utf8proc_uint8_t *)out + o);
    }
    out[o] = 0;
    return out;
}

/* ---- paths ------------------------------------------------------------------------------- */
const char *el_data_root(const char *option) {
    if (option && *option) return option;
    return el_env("EMOLAB_DATA", "data");
}

static const char *root_origin(const char *option) {
    if (option && *option) return "given by the spec / --data-root";
    if (getenv("EMOLAB_DATA") && *getenv("EMOLAB_DATA")) return "from $EMOLAB_DATA";
    return "the default, as neither --data-root nor $EMOLAB_DATA is set";
}

int el_data_resolve_path(const char *root, const char *path, char **out) {
    *out = NULL;
    if (!path || !*path) return el_err("empty data path");
    if (el_datasets_is_url(path)) /* pinned download into the data cache (or the mirror) */
        return el_datasets_resolve_url(NULL, path, NULL, out);
    if (strstr(path, "://"))
        return el_err("%s: URL scheme not supported; give a file path", path);
    *out = path[0] == '/' ? xstrdup(path) : el_path_join(root && *root ? root : ".", path);
    return EL_OK;
}

/* ---- a set of normalised strings with flags ---------------------------------------------- */
typedef struct {
    char **keys;
    uint64_t *hashes;
    uint8_t *flags;
    int64_t cap, n; /* cap: power of two */
} strset;

static void strset_free(strset *s) {
    for (int64_t i = 0; i < s->cap; i++) free(s->keys[i]);
    free(s->keys);
    free(s->hashes);
    free(s->flags);
    memset(s, 0, sizeof *s);
}

static int64_t strset_slot(const strset *s, const char *key, uint64_t h) {
    int64_t m = s->cap - 1, i = (int64_t)(h & (uint64_t)m);
    while (s->keys[i] && (s->hashes[i] != h || strcmp(s->keys[i], key) != 0)) i = (i + 1) & m;
    return i;
}

static void strset_add(strset *s, char *key /* taken */, uint8_t flag) {
    if ((s->n + 1) * 2 > s->cap) {
        strset old = *s;
        s->cap = old.cap ? old.cap * 2 : 1024;
        s->keys = xcalloc((size_t)s->cap, sizeof(char *));
        s->hashes = xcalloc((size_t)s->cap, sizeof(uint64_t));
        s->flags = xcalloc((size_t)s->cap, 1);
        s->n = 0;
        for (int64_t i = 0; i < old.cap; i++)
            if (old.keys[i]) {
                int64_t j = strset_slot(s, old.keys[i], old.hashes[i]);
                s->keys[j] = old.keys[i];
                s->hashes[j] = old.hashes[i];
                s->flags[j] = old.flags[i];
                s->n++;
            }
        free(old.keys);
        free(old.hashes);
        free(old.flags);
    }
    uint64_t h = el_hash64(key, strlen(key), 0);
    int64_t i = strset_slot(s, key, h);
    if (s->keys[i]) {
        s->flags[i] |= flag;
        free(key);
        return;
    }
    s->keys[i] = key;
    s->hashes[i] = h;
    s->flags[i] = flag;
    s->n++;
}

static uint8_t strset_get(const strset *s, const char *key) {
    if (!s->cap) return 0;
    uint64_t h = el_hash64(key, strlen(key), 0);
    int64_t i = strset_slot(s, key, h);
    return s->keys[i] ? s->flags[i] : 0;
}

/* ---- split builder ----------------------------------------------------------------------- */
typedef struct {
    el_split *s;
    int64_t cap_texts, cap_ids, cap_y;
} builder;

static void builder_add(builder *b, const char *text, size_t len, char *id /* taken */,
                        uint64_t mask) {
    el_split *s = b->s;
    el_grow(s->texts, &b->cap_texts, s->n + 1);
    el_grow(s->ids, &b->cap_ids, s->n + 1);
    el_grow(s->y, &b->cap_y, (s->n + 1) * s->n_labels);
    s->texts[s->n] = el_strndup(text, len);
    s->ids[s->n] = id;
    uint8_t *y = s->y + s->n * s->n_labels;
    for (int32_t j = 0; j < s->n_labels; j++) y[j] = (uint8_t)((mask >> j) & 1);
    s->n++;
}

/* ---- loading one source ------------------------------------------------------------------ */
typedef enum { FMT_GOEMOTIONS, FMT_IZARD, FMT_COLUMNS } fmt_kind;

typedef struct {
    const el_data_spec *spec;
    const el_label_config *lc;
    const el_labelset *set;
    const char *root;
    const char *root_from;
    const strset *eval; /* normalised val/test texts (flag 1 = val, 2 = test); for train */
    bool drop_overlap;
} dctx;

typedef struct {
    const el_source_spec *src;
    const char *where;   /* "data.train[0]" */
    bool train;
    el_csv *csv;
    const char *file;    /* resolved path (for messages) */
    fmt_kind fmt;
    const el_label_map *map;
    uint64_t *targets;   /* per map entry, after the source's rules */
    int32_t text_col, id_col, labels_col;
    int32_t *bin_cols;   /* binary formats: column index per map entry (or per label) */
    int32_t n_bin;
    uint64_t *bin_masks;
    int32_t neutral;     /* label index to clear when an emotion is present, or -1 */
} srcctx;

static bool is_ws_only(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i])) return false;
    return true;
}

static int row_err(srcctx *sc, const char *col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int row_err(srcctx *sc, const char *col, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return el_err("%s: row %lld (line %lld): %s: %s", sc->file, (long long)el_csv_row(sc->csv),
                  (long long)el_csv_line(sc->csv), col, msg);
}

/* Shortens a value for a message: at most 60 bytes, cut on a UTF-8 boundary. */
static void show(const char *v, size_t len, char out[80]) {
    size_t n = len < 60 ? len : 60;
    while (n < len && n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80) n--;
    snprintf(out, 80, "%.*s%s", (int)n, v, n < len ? "..." : "");
}

static char *map_sources_list(const el_label_map *m) {
    el_buf b = {0};
    for (int32_t i = 0; i < m->n && i < 40; i++)
        el_buf_printf(&b, "%s%s", i ? ", " : "", m->sources[i]);
    if (m->n > 40) el_buf_puts(&b, ", ...");
    return el_buf_take(&b);
}

static int unknown_label(srcctx *sc, const dctx *x, const char *col, const char *tok,
                         const char *value) {
    char *known = map_sources_list(sc->map);
    row_err(sc, col, "label '%s' (in '%s') is not in the label map '%s' of label set '%s' (%s; "
            "known: %s); add it to that map (with ~ to ignore it) or fix the data",
            tok, value, sc->map->name, x->lc->name, x->lc->path ? x->lc->path : "?", known);
    free(known);
    return EL_ERR;
}

/* goemotions: "[27]", "[ 4 27]", "[4, 27]", "['4', '27']", "4 27", "[]". */
static int parse_label_list(srcctx *sc, const dctx *x, const char *v, size_t len, uint64_t *mask) {
    const char *col = el_csv_column_name(sc->csv, sc->labels_col);
    char shown[80];
    show(v, len, shown);
    const char *p = v, *end = v + len;
    *mask = 0;
#define SKIP_WS(cond) while (p < end && (isspace((unsigned char)*p) || (cond))) p++
    SKIP_WS(0);
    if (p == end)
        return row_err(sc, col, "empty; expected a list of label ids like [27] or [4 27] ([] for none)");
    bool bracket = *p == '[';
    if (bracket) p++;
    for (;;) {
        SKIP_WS(*p == ',');
        if (p == end) {
            if (bracket) return row_err(sc, col, "'%s': missing the closing ']'", shown);
            break;
        }
        if (*p == ']') {
            if (!bracket) return row_err(sc, col, "'%s': ']' without '['", shown);
            p++;
            SKIP_WS(0);
            if (p != end) return row_err(sc, col, "'%s': text after the closing ']'", shown);
            break;
        }
        char tok[128];
        size_t tn;
        if (*p == '\'' || *p == '"') {
            const char *q = memchr(p + 1, *p, (size_t)(end - p - 1));
            if (!q) return row_err(sc, col, "'%s': unterminated quote in the label list", shown);
            tn = (size_t)(q - p - 1);
            if (tn >= sizeof tok) return row_err(sc, col, "'%s': label too long", shown);
            memcpy(tok, p + 1, tn);
            p = q + 1;
        } else {
            const char *b = p;
            while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.')) p++;
            if (p == b)
                return row_err(sc, col, "'%s': unexpected character '%c'; expected a list of label "
                               "ids like [27], [4 27] or [4, 27]", shown,
                               (unsigned char)*p >= 32 && (unsigned char)*p < 127 ? *p : '?');
            tn = (size_t)(p - b);
            if (tn >= sizeof tok) return row_err(sc, col, "'%s': label too long", shown);
            memcpy(tok, b, tn);
        }
        tok[tn] = 0;
        /* numeric ids are canonical decimal, as the label map's keys */
        char *t = tok;
        bool digits = tn > 0;
        for (size_t i = 0; i < tn; i++)
            if (!isdigit((unsigned char)tok[i])) digits = false;
        if (digits)
            while (t[0] == '0' && t[1]) t++;
        int32_t k = el_label_map_find(sc->map, t);
        if (k < 0) return unknown_label(sc, x, col, t, shown);
        *mask |= sc->targets[k];
    }
#undef SKIP_WS
    return 0;
}

static int parse_binary(srcctx *sc, uint64_t *mask) {
    *mask = 0;
    for (int32_t i = 0; i < sc->n_bin; i++) {
        size_t n;
        const char *v = el_csv_field(sc->csv, sc->bin_cols[i], &n);
        const char *col = el_csv_column_name(sc->csv, sc->bin_cols[i]);
        if (n == 1 && v[0] == '1')
            *mask |= sc->bin_masks[i];
        else if (!(n == 1 && v[0] == '0')) {
            char shown[80];
            show(v, n, shown);
            return row_err(sc, col, "'%s' is not 0 or 1 (this format has one 0/1 column per label)",
                           shown);
        }
    }
    return 0;
}

static int check_text(srcctx *sc, const char *col, const char *v, size_t n) {
    int64_t bad = el_utf8_invalid_at(v, n);
    if (bad >= 0)
        return row_err(sc, col, "invalid UTF-8 at byte %lld of the text (byte 0x%02x); the file "
                       "must be UTF-8 (convert it, e.g. iconv -f cp1251 -t utf-8)",
                       (long long)bad, (unsigned char)v[bad]);
    const char *z = memchr(v, 0, n);
    if (z) return row_err(sc, col, "NUL byte at byte %lld of the text", (long long)(z - v));
    return 0;
}

static void srcctx_free(srcctx *sc) {
    el_csv_close(sc->csv);
    free(sc->targets);
    free(sc->bin_cols);
    free(sc->bin_masks);
}

static int missing_column(srcctx *sc, const char *key, const char *name, const char *why) {
    char *cols = el_csv_columns_list(sc->csv);
    el_err("%s: no column '%s' (%s; the header has: %s); %s", sc->file, name, key, cols, why);
    free(cols);
    return EL_ERR;
}

/* Sets up the columns, the map and the rules of one source (after the file is open). */
static int source_setup(srcctx *sc, const dctx *x) {
    const el_source_spec *src = sc->src;
    const el_labelset *set = x->set;
    /* text / id columns */
    const char *text = src->text && *src->text ? src->text : sc->fmt == FMT_GOEMOTIONS ? "ru_text" : "text";
    sc->text_col = el_csv_column(sc->csv, text);
    if (sc->text_col < 0)
        return missing_column(sc, "the text column", text,
                              "set the source's `text:` to the column that holds the text");
    sc->id_col = -1;
    if (src->id && *src->id) {
        sc->id_col = el_csv_column(sc->csv, src->id);
        if (sc->id_col < 0)
            return missing_column(sc, "the id column", src->id, "fix the source's `id:` or remove it");
    } else {
        sc->id_col = el_csv_column(sc->csv, "id");
    }
    /* the map */
    const char *mapname = src->map && *src->map ? src->map : NULL;
    if (!mapname && sc->fmt != FMT_COLUMNS) mapname = sc->fmt == FMT_GOEMOTIONS ? "goemotions" : "izard";
    if (mapname) {
        sc->map = el_labels_get_map(x->lc, mapname);
        if (!sc->map) return el_err_prefix("%s", sc->where);
        sc->targets = xmalloc(sizeof(uint64_t) * (size_t)sc->map->n);
        memcpy(sc->targets, sc->map->targets, sizeof(uint64_t) * (size_t)sc->map->n);
    }
    /* enthusiasm: drop | LABEL (overrides the map's target of the source label 'enthusiasm') */
    if (src->enthusiasm && *src->enthusiasm) {
        int32_t k = sc->map ? el_label_map_find(sc->map, "enthusiasm") : -1;
        if (k < 0)
            return el_err("%s.enthusiasm: the source's label map (%s) has no label 'enthusiasm'; "
                          "this rule is for izard sources, remove it", sc->where,
                          sc->map ? sc->map->name : "none");
        if (el_streq(src->enthusiasm, "drop")) {
            sc->targets[k] = 0;
        } else {
            int32_t t = el_labelset_index(set, src->enthusiasm);
            if (t < 0) {
                char *list = el_labelset_list(set);
                el_err("%s.enthusiasm: '%s' is not allowed; use drop (ignore the label) or a label "
                       "of %s (%s), e.g. joy or surprise", sc->where, src->enthusiasm, x->lc->name, list);
                free(list);
                return EL_ERR;
            }
            sc->targets[k] = (uint64_t)1 << t;
        }
    }
    /* neutral: keep | clear_if_emotion (default: clear_if_emotion for izard, keep otherwise) */
    const char *neutral = src->neutral && *src->neutral ? src->neutral
                          : sc->fmt == FMT_IZARD ? "clear_if_emotion" : "keep";
    sc->neutral = -1;
    if (el_streq(neutral, "clear_if_emotion")) {
        sc->neutral = el_labelset_index(set, "neutral");
        if (sc->neutral < 0 && src->neutral && *src->neutral)
            return el_err("%s.neutral: clear_if_emotion needs a label named 'neutral' in label set "
                          "'%s'; use keep", sc->where, x->lc->name);
    } else if (!el_streq(neutral, "keep")) {
        return el_err("%s.neutral: '%s' is not allowed; use keep or clear_if_emotion", sc->where, neutral);
    }
    /* label columns */
    if (sc->fmt == FMT_GOEMOTIONS) {
        const char *lab = src->labels && *src->labels ? src->labels : "labels";
        sc->labels_col = el_csv_column(sc->csv, lab);
        if (sc->labels_col < 0)
            return missing_column(sc, "the label-id column", lab,
                                  "set the source's `labels:` to the column with the id lists");
        return 0;
    }
    int32_t n = sc->map ? sc->map->n : set->n;
    sc->bin_cols = xmalloc(sizeof(int32_t) * (size_t)n);
    sc->bin_masks = xmalloc(sizeof(uint64_t) * (size_t)n);
    sc->n_bin = n;
    for (int32_t i = 0; i < n; i++) {
        const char *name = sc->map ? sc->map->sources[i] : set->names[i];
        sc->bin_cols[i] = el_csv_column(sc->csv, name);
        sc->bin_masks[i] = sc->map ? sc->targets[i] : (uint64_t)1 << i;
        if (sc->bin_cols[i] < 0) {
            char why[512];
            if (sc->map)
                snprintf(why, sizeof why, "map '%s' of %s expects one 0/1 column per source label",
                         sc->map->name, x->lc->path ? x->lc->path : x->lc->name);
            else
                snprintf(why, sizeof why, "format columns expects one 0/1 column per label of %s",
                         x->lc->name);
            return missing_column(sc, "a label column", name, why);
        }
        if (sc->bin_cols[i] == sc->text_col || sc->bin_cols[i] == sc->id_col)
            return el_err("%s: column '%s' is both a label column and the text/id column", sc->file, name);
    }
    if (sc->fmt == FMT_IZARD) {
        /* every other column must be a label the map knows: an unknown one is an error */
        int32_t nc = el_csv_n_columns(sc->csv);
        for (int32_t c = 0; c < nc; c++) {
            if (c == sc->text_col || c == sc->id_col) continue;
            bool known = false;
            for (int32_t i = 0; i < n; i++) known |= sc->bin_cols[i] == c;
            if (!known) {
                char *list = map_sources_list(sc->map);
                el_err("%s: column '%s' is not a label of map '%s' in %s (known: %s); add it to the "
                       "map (~ to ignore it)", sc->file, el_csv_column_name(sc->csv, c), sc->map->name,
                       x->lc->path ? x->lc->path : x->lc->name, list);
                free(list);
                return EL_ERR;
            }
        }
    }
    return 0;
}

/* Reads one source into b. Per train row, in this order: a text also in val/test (non-empty
 * normalised form) is counted and, when asked, dropped; then a row without a label after the
 * mapping rules is dropped; then an empty text is dropped (train) or kept (val/test), counted. */
static int load_source(const dctx *x, const el_source_spec *src, const char *where, bool train,
                       builder *b, el_source_stats *st) {
    srcctx sc = {0};
    sc.src = src;
    sc.where = where;
    sc.train = train;
    st->spec_path = xstrdup(src->path ? src->path : "");
    if (!src->path || !*src->path)
        return el_err("%s.path: missing; give the CSV file (relative to the data root %s)", where, x->root);
    if (!src->format || !*src->format)
        return el_err("%s.format: missing; allowed: goemotions, izard, columns", where);
    if (el_streq(src->format, "goemotions"))
        sc.fmt = FMT_GOEMOTIONS;
    else if (el_streq(src->format, "izard"))
        sc.fmt = FMT_IZARD;
    else if (el_streq(src->format, "columns"))
        sc.fmt = FMT_COLUMNS;
    else
        return el_err("%s.format: '%s' is not a format; allowed: goemotions, izard, columns", where,
                      src->format);
    if (src->limit < 0) return el_err("%s.limit: %lld; must be >= 0 (0 = all rows)", where, (long long)src->limit);
    if (el_data_resolve_path(x->root, src->path, &st->path)) return el_err_prefix("%s.path", where);
    sc.file = st->path;
    if (!el_file_exists(st->path))
        return el_err("%s: %s: file not found (data root: %s, %s); point the data root at the "
                      "directory that holds the data (--data-root DIR or EMOLAB_DATA=DIR) or give "
                      "an absolute path", where, st->path, x->root, x->root_from);
    sc.csv = el_csv_open(st->path, el_csv_default_params());
    if (!sc.csv) return el_err_prefix("%s", where);
    int rc = EL_ERR;
    if (source_setup(&sc, x)) goto out;

    int r = 0;
    while ((src->limit == 0 || st->rows_read < src->limit) && (r = el_csv_next(sc.csv)) == 1) {
        st->rows_read++;
        uint64_t mask = 0;
        if (sc.fmt == FMT_GOEMOTIONS) {
            size_t ln;
            const char *lv = el_csv_field(sc.csv, sc.labels_col, &ln);
            if (parse_label_list(&sc, x, lv, ln, &mask)) goto out;
        } else if (parse_binary(&sc, &mask)) {
            goto out;
        }
        size_t tn;
        const char *tv = el_csv_field(sc.csv, sc.text_col, &tn);
        if (check_text(&sc, el_csv_column_name(sc.csv, sc.text_col), tv, tn)) goto out;
        char *id;
        if (sc.id_col >= 0) {
            size_t idn;
            const char *iv = el_csv_field(sc.csv, sc.id_col, &idn);
            if (check_text(&sc, el_csv_column_name(sc.csv, sc.id_col), iv, idn)) goto out;
            id = el_strndup(iv, idn);
        } else {
            id = el_printf("%s:%lld", st->spec_path, (long long)el_csv_row(sc.csv));
        }
        if (train && x->eval) {
            char *norm = el_text_normalize(tv);
            uint8_t f = *norm ? strset_get(x->eval, norm) : 0;
            free(norm);
            if (f & 1) st->rows_overlap_val++;
            if (f & 2) st->rows_overlap_test++;
            if (f && x->drop_overlap) {
                st->rows_dropped_overlap++;
                free(id);
                continue;
            }
        }
        if (sc.neutral >= 0 && (mask & ((uint64_t)1 << sc.neutral)) && (mask & ~((uint64_t)1 << sc.neutral)))
            mask &= ~((uint64_t)1 << sc.neutral);
        if (mask == 0) {
            st->rows_dropped_unmapped++;
            free(id);
            continue;
        }
        if (is_ws_only(tv, tn)) {
            st->rows_empty_text++;
            if (train) {
                free(id);
                continue;
            }
        }
        builder_add(b, tv, tn, id, mask);
        st->rows_kept++;
    }
    if (src->limit == 0 || st->rows_read < src->limit) {
        if (r < 0) {
            el_err_prefix("%s", where);
            goto out;
        }
    }
    if (el_csv_sha256(sc.csv, st->sha256)) goto out;
    rc = EL_OK;
out:
    srcctx_free(&sc);
    return rc;
}

/* ---- fingerprints ------------------------------------------------------------------------ */
static void split_fingerprint(el_split *s, const el_labelset *set) {
    el_sha256 *h = el_sha256_new();
    el_buf b = {0};
    el_buf_puts(&b, "emolab-split-v1\nlabels:");
    for (int32_t j = 0; j < set->n; j++) el_buf_printf(&b, "%s%s", j ? "," : "", set->names[j]);
    el_buf_putc(&b, '\n');
    el_sha256_update(h, b.s, b.len);
    char *lab = xmalloc((size_t)s->n_labels + 2);
    for (int64_t i = 0; i < s->n; i++) {
        size_t tn = strlen(s->texts[i]);
        char len[32];
        int k = snprintf(len, sizeof len, "%zu:", tn);
        el_sha256_update(h, len, (size_t)k);
        el_sha256_update(h, s->texts[i], tn);
        lab[0] = ' ';
        for (int32_t j = 0; j < s->n_labels; j++) lab[j + 1] = s->y[i * s->n_labels + j] ? '1' : '0';
        lab[s->n_labels + 1] = '\n';
        el_sha256_update(h, lab, (size_t)s->n_labels + 2);
    }
    free(lab);
    el_buf_free(&b);
    el_sha256_final(h, s->fingerprint);
}

void el_split_label_counts(const el_split *s, int64_t *counts) {
    for (int32_t j = 0; j < s->n_labels; j++) counts[j] = 0;
    for (int64_t i = 0; i < s->n; i++)
        for (int32_t j = 0; j < s->n_labels; j++) counts[j] += s->y[i * s->n_labels + j];
}

/* ---- the whole data spec ----------------------------------------------------------------- */
static void split_free(el_split *s) {
    for (int64_t i = 0; i < s->n; i++) {
        free(s->texts[i]);
        free(s->ids[i]);
    }
    free(s->texts);
    free(s->ids);
    free(s->y);
    memset(s, 0, sizeof *s);
}

static void stats_free(el_source_stats *st) {
    free(st->path);
    free(st->spec_path);
    memset(st, 0, sizeof *st);
}

void el_data_free(el_dataset *d) {
    if (!d) return;
    el_labelset_free(&d->labels);
    split_free(&d->train);
    split_free(&d->val);
    split_free(&d->test);
    for (int32_t i = 0; i < d->n_train_src; i++) stats_free(&d->train_src[i]);
    stats_free(&d->val_src);
    stats_free(&d->test_src);
    free(d->root);
    free(d->labels_path);
    memset(d, 0, sizeof *d);
}

/* The normalised texts of val and test (flag 1 = val, 2 = test); empty forms are left out. */
static void eval_set(const el_dataset *d, strset *eval) {
    const el_split *ev[2] = {&d->val, &d->test};
    for (int k = 0; k < 2; k++)
        for (int64_t i = 0; i < ev[k]->n; i++) {
            char *t = el_text_normalize(ev[k]->texts[i]);
            if (!*t) {
                free(t);
                continue;
            }
            strset_add(eval, t, (uint8_t)(1 << k));
        }
}

int el_data_load(const el_data_spec *spec, el_dataset *out) {
    memset(out, 0, sizeof *out);
    double t0 = el_now();
    el_label_config lc;
    const char *labels = spec->labels && *spec->labels ? spec->labels : "ekman7";
    if (el_labels_load(labels, &lc)) return el_err_prefix("data.labels");
    out->labels_path = xstrdup(lc.path);
    el_labelset_copy(&out->labels, &lc.set);
    out->root = xstrdup(el_data_root(spec->root));
    strset eval = {0};
    dctx x = {spec, &lc, &out->labels, out->root, root_origin(spec->root), NULL, false};
    builder tb = {.s = &out->train}, vb = {.s = &out->val}, eb = {.s = &out->test};
    out->train.n_labels = out->val.n_labels = out->test.n_labels = out->labels.n;
    int rc = EL_ERR;

    if (spec->n_train <= 0 || spec->n_train > EL_MAX_SOURCES) {
        el_err("data.train: %s; list 1 to %d sources", spec->n_train <= 0 ? "no sources" : "too many sources",
               EL_MAX_SOURCES);
        goto out;
    }
    if (!spec->val.path || !spec->test.path) {
        el_err("data.%s: missing; a val and a test source are required (thresholds are tuned on "
               "val, scores reported on test)", !spec->val.path ? "val" : "test");
        goto out;
    }
    /* val and test first: train rows are checked against them as they are read */
    if (load_source(&x, &spec->val, "data.val", false, &vb, &out->val_src)) goto out;
    if (load_source(&x, &spec->test, "data.test", false, &eb, &out->test_src)) goto out;
    eval_set(out, &eval);
    x.eval = &eval;
    x.drop_overlap = spec->drop_train_overlapping_eval;
    out->n_train_src = spec->n_train;
    for (int32_t i = 0; i < spec->n_train; i++) {
        char where[64];
        snprintf(where, sizeof where, "data.train[%d]", (int)i);
        if (load_source(&x, &spec->train[i], where, true, &tb, &out->train_src[i])) goto out;
        out->n_dropped_overlap += out->train_src[i].rows_dropped_overlap;
    }

    if (out->train.n == 0) {
        el_buf b = {0};
        for (int32_t i = 0; i < out->n_train_src; i++) {
            const el_source_stats *st = &out->train_src[i];
            el_buf_printf(&b, "%s%s: %lld rows read, %lld overlapping val/test, %lld without a "
                          "label after mapping, %lld with an empty text", i ? "; " : "", st->path,
                          (long long)st->rows_read, (long long)st->rows_dropped_overlap,
                          (long long)st->rows_dropped_unmapped, (long long)st->rows_empty_text);
        }
        el_err("data.train: the train split is empty after dropping rows (%s); check the train "
               "paths (are they the val/test files?), the label map and the enthusiasm/neutral "
               "rules, the `limit`, or set drop_train_overlapping_eval: false if train and eval "
               "are meant to share texts", b.s);
        el_buf_free(&b);
        goto out;
    }
    split_fingerprint(&out->train, &out->labels);
    split_fingerprint(&out->val, &out->labels);
    split_fingerprint(&out->test, &out->labels);
    out->load_seconds = el_now() - t0;
    rc = EL_OK;
out:
    strset_free(&eval);
    el_labels_free(&lc);
    if (rc != EL_OK) el_data_free(out);
    return rc;
}

/* ---- summary ------------------------------------------------------------------------------ */
static void print_source(FILE *f, const char *split, const el_source_stats *st, bool train) {
    fprintf(f, "  %-5s %s: %lld rows read, %lld kept", split, st->spec_path ? st->spec_path : "?",
            (long long)st->rows_read, (long long)st->rows_kept);
    if (st->rows_dropped_unmapped) fprintf(f, ", %lld without a label", (long long)st->rows_dropped_unmapped);
    if (st->rows_empty_text)
        fprintf(f, ", %lld empty texts%s", (long long)st->rows_empty_text, train ? " dropped" : " kept");
    if (train && st->rows_dropped_overlap)
        fprintf(f, ", %lld dropped as their text is also in val/test (%lld in val, %lld in test)",
                (long long)st->rows_dropped_overlap, (long long)st->rows_overlap_val,
                (long long)st->rows_overlap_test);
    else if (train && (st->rows_overlap_val || st->rows_overlap_test))
        fprintf(f, ", WARNING: texts also in val: %lld, in test: %lld (not dropped)",
                (long long)st->rows_overlap_val, (long long)st->rows_overlap_test);
    fprintf(f, "; sha256 %.12s\n", st->sha256);
}

void el_data_print_summary(const el_dataset *d, FILE *f) {
    fprintf(f, "data (root %s, labels %s), loaded in %.2fs\n", d->root ? d->root : "?",
            d->labels_path ? d->labels_path : "?", d->load_seconds);
    for (int32_t i = 0; i < d->n_train_src; i++) print_source(f, "train", &d->train_src[i], true);
    print_source(f, "val", &d->val_src, false);
    print_source(f, "test", &d->test_src, false);
    const el_split *sp[3] = {&d->train, &d->val, &d->test};
    const char *nm[3] = {"train", "val", "test"};
    int64_t counts[EL_MAX_LABELS];
    for (int k = 0; k < 3; k++) {
        el_split_label_counts(sp[k], counts);
        fprintf(f, "  %-5s %lld rows, fingerprint %.12s:", nm[k], (long long)sp[k]->n, sp[k]->fingerprint);
        for (int32_t j = 0; j < d->labels.n; j++)
            fprintf(f, " %s %lld", d->labels.names[j], (long long)counts[j]);
        fputc('\n', f);
    }
}
