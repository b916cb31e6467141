/* yaml_tree.c: one YAML document (libyaml event API) -> an el_node tree with positions, plus
 * the tree utilities of spec.h (lookup and dotted set, clone, canonical JSON).
 *
 * What the builder adds to libyaml: positions on every node and key; anchors/aliases expanded
 * by copying, under a budget of nodes and bytes for the whole tree (a "billion laughs"
 * document stops at the budget, with the alias that crossed it); YAML 1.1 merge keys
 * (`<<: *base`, explicit keys win); duplicate keys, complex keys, unknown tags, NUL bytes
 * and multi-document streams refused; nesting bounded. Every error is "file:line:col: what".
 */
#include "spec.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- nodes ----------------------------------------------------------------------------- */
static el_node *node_alloc(el_node_kind kind, const char *file, int32_t line, int32_t col) {
    el_node *n = xcalloc(1, sizeof *n);
    n->kind = kind;
    n->file = file ? xstrdup(file) : NULL;
    n->line = line;
    n->col = col;
    return n;
}

el_node *el_node_new(el_node_kind kind, const char *file) { return node_alloc(kind, file, 0, 0); }

el_node *el_node_new_scalar(const char *text, bool quoted, const char *file) {
    el_node *n = node_alloc(EL_NODE_SCALAR, file, 0, 0);
    n->scalar = xstrdup(text ? text : "");
    n->quoted = quoted;
    return n;
}

static void node_reserve(el_node *n, int32_t need) {
    if (need <= n->cap) return;
    int32_t c = n->cap ? n->cap : 4;
    while (c < need) c *= 2;
    n->items = xrealloc(n->items, (size_t)c * sizeof *n->items);
    if (n->kind == EL_NODE_MAP) {
        n->keys = xrealloc(n->keys, (size_t)c * sizeof *n->keys);
        n->key_line = xrealloc(n->key_line, (size_t)c * sizeof *n->key_line);
        n->key_col = xrealloc(n->key_col, (size_t)c * sizeof *n->key_col);
    }
    n->cap = c;
}

void el_node_free(el_node *n) {
    if (!n) return;
    for (int32_t i = 0; i < n->n; i++) {
        el_node_free(n->items[i]);
        if (n->keys) free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->key_line);
    free(n->key_col);
    free(n->scalar);
    free(n->file);
    free(n);
}

el_node *el_node_clone(const el_node *n) {
    if (!n) return NULL;
    el_node *c = node_alloc(n->kind, n->file, n->line, n->col);
    c->quoted = n->quoted;
    c->scalar = n->scalar ? xstrdup(n->scalar) : NULL;
    if (n->kind == EL_NODE_MAP || n->kind == EL_NODE_SEQ) {
        node_reserve(c, n->n);
        for (int32_t i = 0; i < n->n; i++) {
            c->items[i] = el_node_clone(n->items[i]);
            if (n->kind == EL_NODE_MAP) {
                c->keys[i] = xstrdup(n->keys[i]);
                c->key_line[i] = n->key_line ? n->key_line[i] : 0;
                c->key_col[i] = n->key_col ? n->key_col[i] : 0;
            }
        }
        c->n = n->n;
    }
    return c;
}

static int32_t map_find(const el_node *map, const char *key) {
    if (!map || map->kind != EL_NODE_MAP) return -1;
    for (int32_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0) return i;
    return -1;
}

static void map_append(el_node *map, char *key_owned, el_node *value, int32_t kline, int32_t kcol) {
    node_reserve(map, map->n + 1);
    map->keys[map->n] = key_owned;
    map->items[map->n] = value;
    map->key_line[map->n] = kline;
    map->key_col[map->n] = kcol;
    map->n++;
}

void el_node_map_put(el_node *map, const char *key, el_node *value) {
    if (!map || map->kind != EL_NODE_MAP) {
        el_node_free(value);
        return;
    }
    int32_t i = map_find(map, key);
    if (i >= 0) {
        el_node_free(map->items[i]);
        map->items[i] = value;
        map->key_line[i] = map->key_col[i] = 0;
        return;
    }
    map_append(map, xstrdup(key), value, 0, 0);
}

bool el_node_map_del(el_node *map, const char *key) {
    int32_t i = map_find(map, key);
    if (i < 0) return false;
    el_node_free(map->items[i]);
    free(map->keys[i]);
    for (int32_t j = i + 1; j < map->n; j++) {
        map->items[j - 1] = map->items[j];
        map->keys[j - 1] = map->keys[j];
        map->key_line[j - 1] = map->key_line[j];
        map->key_col[j - 1] = map->key_col[j];
    }
    map->n--;
    return true;
}

void el_node_seq_push(el_node *seq, el_node *item) {
    if (!seq || seq->kind != EL_NODE_SEQ) {
        el_node_free(item);
        return;
    }
    node_reserve(seq, seq->n + 1);
    seq->items[seq->n++] = item;
}

/* ---- the YAML builder ---------------------------------------------------------------------- */
typedef struct {
    el_node *node;      /* the open map or sequence */
    char *anchor;       /* its anchor, registered when it closes */
    char *key;          /* map: the key waiting for its value */
    int32_t key_line, key_col;
    bool key_is_merge;  /* the waiting key is a plain `<<` */
    int32_t merge_at;   /* index of the `<<` entry, -1 when none */
} frame;

typedef struct {
    char *name;
    el_node *copy;      /* owned copy of the anchored node */
    int64_t nodes, bytes;
} anchor;

typedef struct {
    const char *file;
    frame stack[EL_YAML_MAX_DEPTH + 1];
    int32_t depth;
    el_node *root;
    anchor *anchors;
    int64_t n_anchors, cap_anchors;
    int64_t nodes, bytes;  /* the budget spent so far (aliases count their full expansion) */
} builder;

static int pos_err(const builder *b, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int pos_err(const builder *b, const yaml_mark_t *m, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return el_err("%s:%zu:%zu: %s", b->file, m->line + 1, m->column + 1, msg);
}

static void tree_size(const el_node *n, int64_t *nodes, int64_t *bytes) {
    if (!n) return;
    (*nodes)++;
    if (n->scalar) *bytes += (int64_t)strlen(n->scalar);
    for (int32_t i = 0; i < n->n; i++) {
        if (n->keys) *bytes += (int64_t)strlen(n->keys[i]);
        tree_size(n->items[i], nodes, bytes);
    }
}

static int spend(builder *b, const yaml_mark_t *m, int64_t nodes, int64_t bytes, const char *what) {
    if (b->nodes + nodes > EL_YAML_MAX_NODES || b->bytes + bytes > EL_YAML_MAX_BYTES)
        return pos_err(b, m,
                       "%s: the document expands to more than %d nodes or %d MiB (aliases are "
                       "expanded: a \"billion laughs\" document?); refused",
                       what, EL_YAML_MAX_NODES, EL_YAML_MAX_BYTES >> 20);
    b->nodes += nodes;
    b->bytes += bytes;
    return EL_OK;
}

static const anchor *find_anchor(const builder *b, const char *name) {
    for (int64_t i = b->n_anchors - 1; i >= 0; i--) /* the latest definition wins */
        if (strcmp(b->anchors[i].name, name) == 0) return &b->anchors[i];
    return NULL;
}

static int add_anchor(builder *b, const yaml_mark_t *m, const char *name, const el_node *n) {
    int64_t nodes = 0, bytes = 0;
    tree_size(n, &nodes, &bytes);
    char what[160];
    snprintf(what, sizeof what, "anchor &%.100s", name);
    if (spend(b, m, nodes, bytes, what)) return EL_ERR; /* the kept copy costs memory too */
    el_grow(b->anchors, &b->cap_anchors, b->n_anchors + 1);
    anchor *a = &b->anchors[b->n_anchors++];
    a->name = xstrdup(name);
    a->copy = el_node_clone(n);
    a->nodes = nodes;
    a->bytes = bytes;
    return EL_OK;
}

/* Attaches a finished value (scalar, alias copy) or a just-opened container to its parent. */
static int attach(builder *b, el_node *n, const yaml_mark_t *m) {
    if (b->depth == 0) {
        if (b->root) {
            el_node_free(n);
            return pos_err(b, m, "more than one node at the top of the document");
        }
        b->root = n;
        return EL_OK;
    }
    frame *f = &b->stack[b->depth - 1];
    if (f->node->kind == EL_NODE_SEQ) {
        el_node_seq_push(f->node, n);
        return EL_OK;
    }
    /* a map value: its key is waiting */
    int32_t dup = map_find(f->node, f->key);
    if (dup >= 0) {
        int rc = el_err("%s:%d:%d: duplicate key '%.200s' (first at line %d, column %d); each key "
                        "may appear once in a mapping",
                        b->file, f->key_line, f->key_col, f->key, f->node->key_line[dup],
                        f->node->key_col[dup]);
        el_node_free(n);
        return rc;
    }
    if (f->node->n >= EL_YAML_MAX_KEYS) {
        el_node_free(n);
        return pos_err(b, m, "a mapping with more than %d keys; refused", EL_YAML_MAX_KEYS);
    }
    if (f->key_is_merge) f->merge_at = f->node->n;
    map_append(f->node, f->key, n, f->key_line, f->key_col);
    f->key = NULL;
    f->key_is_merge = false;
    return EL_OK;
}

static bool in_map_awaiting_key(const builder *b) {
    if (b->depth == 0) return false;
    const frame *f = &b->stack[b->depth - 1];
    return f->node->kind == EL_NODE_MAP && f->key == NULL;
}

#define TAG_PREFIX "tag:yaml.org,2002:"

/* Scalar tags: !!str (and the non-specific "!") make a string; the other core tags are
 * accepted as plain; anything else (e.g. !python/object) is refused. */
static int scalar_tag(builder *b, const yaml_mark_t *m, const char *tag, bool *quoted, bool *null) {
    if (!tag) return EL_OK;
    if (!strcmp(tag, "!") || !strcmp(tag, TAG_PREFIX "str")) {
        *quoted = true;
        return EL_OK;
    }
    if (!strcmp(tag, TAG_PREFIX "null")) {
        *null = true;
        return EL_OK;
    }
    if (!strcmp(tag, TAG_PREFIX "int") || !strcmp(tag, TAG_PREFIX "float") ||
        !strcmp(tag, TAG_PREFIX "bool"))
        return EL_OK;
    return pos_err(b, m, "unsupported YAML tag '%.100s' (only the standard !!str, !!int, !!float, "
                         "!!bool, !!null, !!map, !!seq)", tag);
}

static bool is_null_text(const char *s) {
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int on_scalar(builder *b, const yaml_event_t *ev) {
    const yaml_mark_t *m = &ev->start_mark;
    const char *value = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (memchr(value, 0, len)) return pos_err(b, m, "a scalar contains a NUL character; refused");
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    bool quoted = !plain, null = false;
    if (scalar_tag(b, m, (const char *)ev->data.scalar.tag, &quoted, &null)) return EL_ERR;
    const char *anchor_name = (const char *)ev->data.scalar.anchor;

    if (in_map_awaiting_key(b)) {
        if (anchor_name) return pos_err(b, m, "anchors on mapping keys are not supported");
        if (spend(b, m, 0, (int64_t)len, "key")) return EL_ERR;
        frame *f = &b->stack[b->depth - 1];
        f->key = el_strndup(value, len);
        f->key_line = (int32_t)m->line + 1;
        f->key_col = (int32_t)m->column + 1;
        f->key_is_merge = plain && !strcmp(f->key, "<<");
        return EL_OK;
    }
    if (spend(b, m, 1, (int64_t)len, "scalar")) return EL_ERR;
    el_node *n;
    if (null || (!quoted && is_null_text(value))) {
        n = node_alloc(EL_NODE_NULL, b->file, (int32_t)m->line + 1, (int32_t)m->column + 1);
    } else {
        n = node_alloc(EL_NODE_SCALAR, b->file, (int32_t)m->line + 1, (int32_t)m->column + 1);
        n->scalar = el_strndup(value, len);
        n->quoted = quoted;
    }
    if (anchor_name && add_anchor(b, m, anchor_name, n)) {
        el_node_free(n);
        return EL_ERR;
    }
    return attach(b, n, m);
}

static int on_alias(builder *b, const yaml_event_t *ev) {
    const yaml_mark_t *m = &ev->start_mark;
    const char *name = (const char *)ev->data.alias.anchor;
    const anchor *a = find_anchor(b, name);
    if (!a)
        return pos_err(b, m, "alias *%.100s refers to no anchor defined before it (an alias "
                             "cannot refer to a node that contains it)", name);
    char what[160];
    snprintf(what, sizeof what, "alias *%.100s", name);
    if (in_map_awaiting_key(b)) {
        if (a->copy->kind != EL_NODE_SCALAR)
            return pos_err(b, m, "alias *%.100s used as a key must refer to a scalar", name);
        if (spend(b, m, 0, a->bytes, what)) return EL_ERR;
        frame *f = &b->stack[b->depth - 1];
        f->key = xstrdup(a->copy->scalar);
        f->key_line = (int32_t)m->line + 1;
        f->key_col = (int32_t)m->column + 1;
        f->key_is_merge = false;
        return EL_OK;
    }
    if (spend(b, m, a->nodes, a->bytes, what)) return EL_ERR;
    return attach(b, el_node_clone(a->copy), m);
}

static int on_start(builder *b, const yaml_event_t *ev, el_node_kind kind) {
    const yaml_mark_t *m = &ev->start_mark;
    const char *tag, *anchor_name;
    if (kind == EL_NODE_MAP) {
        tag = (const char *)ev->data.mapping_start.tag;
        anchor_name = (const char *)ev->data.mapping_start.anchor;
    } else {
        tag = (const char *)ev->data.sequence_start.tag;
        anchor_name = (const char *)ev->data.sequence_start.anchor;
    }
    if (in_map_awaiting_key(b))
        return pos_err(b, m, "a %s used as a mapping key; keys must be plain strings",
                       kind == EL_NODE_MAP ? "mapping" : "list");
    if (tag && strcmp(tag, kind == EL_NODE_MAP ? TAG_PREFIX "map" : TAG_PREFIX "seq") != 0)
        return pos_err(b, m, "unsupported YAML tag '%.100s'", tag);
    if (b->depth >= EL_YAML_MAX_DEPTH)
        return pos_err(b, m, "nesting deeper than %d levels; refused", EL_YAML_MAX_DEPTH);
    if (spend(b, m, 1, 0, kind == EL_NODE_MAP ? "mapping" : "list")) return EL_ERR;
    el_node *n = node_alloc(kind, b->file, (int32_t)m->line + 1, (int32_t)m->column + 1);
    if (attach(b, n, m)) return EL_ERR;
    frame *f = &b->stack[b->depth++];
    memset(f, 0, sizeof *f);
    f->node = n;
    f->merge_at = -1;
    f->anchor = anchor_name ? xstrdup(anchor_name) : NULL;
    return EL_OK;
}

/* Applies a `<<` merge entry: keys of the merged mapping(s) that the mapping does not set
 * itself are added (earlier mappings in a merge list win over later ones). */
static int apply_merge(builder *b, frame *f, const yaml_mark_t *m) {
    el_node *map = f->node;
    int32_t at = f->merge_at;
    el_node *src = map->items[at];
    yaml_mark_t km = {0};
    km.line = (size_t)(map->key_line[at] > 0 ? map->key_line[at] - 1 : 0);
    km.column = (size_t)(map->key_col[at] > 0 ? map->key_col[at] - 1 : 0);
    /* take the `<<` entry out of the map */
    free(map->keys[at]);
    for (int32_t j = at + 1; j < map->n; j++) {
        map->items[j - 1] = map->items[j];
        map->keys[j - 1] = map->keys[j];
        map->key_line[j - 1] = map->key_line[j];
        map->key_col[j - 1] = map->key_col[j];
    }
    map->n--;
    int rc = EL_OK;
    el_node **srcs = &src;
    int32_t n_srcs = 1;
    if (src->kind == EL_NODE_SEQ) {
        srcs = src->items;
        n_srcs = src->n;
    }
    for (int32_t s = 0; s < n_srcs && rc == EL_OK; s++) {
        el_node *one = srcs[s];
        if (!one || one->kind != EL_NODE_MAP) {
            rc = pos_err(b, &km, "the merge key << needs a mapping or a list of mappings");
            break;
        }
        for (int32_t i = 0; i < one->n; i++) {
            if (map_find(map, one->keys[i]) >= 0) continue;
            if (map->n >= EL_YAML_MAX_KEYS) {
                rc = pos_err(b, m, "a mapping with more than %d keys; refused", EL_YAML_MAX_KEYS);
                break;
            }
            map_append(map, one->keys[i], one->items[i], one->key_line[i], one->key_col[i]);
            one->keys[i] = NULL;
            one->items[i] = NULL;
        }
    }
    el_node_free(src); /* moved-out entries are NULL; el_node_free skips them */
    f->merge_at = -1;
    return rc;
}

static int on_end(builder *b, const yaml_event_t *ev) {
    const yaml_mark_t *m = &ev->start_mark;
    if (b->depth == 0) return pos_err(b, m, "unbalanced end of a collection");
    frame *f = &b->stack[b->depth - 1];
    int rc = EL_OK;
    if (f->merge_at >= 0) rc = apply_merge(b, f, m);
    if (rc == EL_OK && f->anchor) rc = add_anchor(b, m, f->anchor, f->node);
    free(f->anchor);
    free(f->key);
    memset(f, 0, sizeof *f);
    b->depth--;
    return rc;
}

static void builder_free(builder *b) {
    for (int32_t i = 0; i < b->depth; i++) {
        free(b->stack[i].anchor);
        free(b->stack[i].key);
    }
    for (int64_t i = 0; i < b->n_anchors; i++) {
        free(b->anchors[i].name);
        el_node_free(b->anchors[i].copy);
    }
    free(b->anchors);
}

/* "file:line:col: problem" from libyaml's own error state. */
static void parser_error(const builder *b, const yaml_parser_t *p, const char *buf, size_t len) {
    size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_READER_ERROR) {
        /* reader errors carry a byte offset only */
        line = 1;
        col = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++) {
            if (buf[i] == '\n') {
                line++;
                col = 1;
            } else if (((unsigned char)buf[i] & 0xC0) != 0x80) {
                col++;
            }
        }
        if (p->problem_value != -1)
            el_err("%s:%zu:%zu: %s (byte 0x%02x at offset %zu)", b->file, line, col, problem,
                   (unsigned)p->problem_value & 0xFFu, p->problem_offset);
        else
            el_err("%s:%zu:%zu: %s (at offset %zu)", b->file, line, col, problem, p->problem_offset);
        return;
    }
    if (p->context)
        el_err("%s:%zu:%zu: %s (%s, which started at line %zu, column %zu)", b->file, line, col,
               problem, p->context, p->context_mark.line + 1, p->context_mark.column + 1);
    else
        el_err("%s:%zu:%zu: %s", b->file, line, col, problem);
}

el_node *el_yaml_parse(const char *buf, size_t len, const char *filename) {
    builder b;
    memset(&b, 0, sizeof b);
    b.file = filename ? filename : "<input>";
    if (!buf) {
        buf = "";
        len = 0;
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        el_err("%s: cannot initialise the YAML parser (out of memory)", b.file);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    int rc = EL_OK, docs = 0;
    bool done = false;
    while (!done && rc == EL_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            parser_error(&b, &parser, buf, len);
            rc = EL_ERR;
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                rc = pos_err(&b, &ev.start_mark, "a second YAML document ('---'); a file holds "
                                                 "exactly one document");
            break;
        case YAML_SCALAR_EVENT: rc = on_scalar(&b, &ev); break;
        case YAML_ALIAS_EVENT: rc = on_alias(&b, &ev); break;
        case YAML_MAPPING_START_EVENT: rc = on_start(&b, &ev, EL_NODE_MAP); break;
        case YAML_SEQUENCE_START_EVENT: rc = on_start(&b, &ev, EL_NODE_SEQ); break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT: rc = on_end(&b, &ev); break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    builder_free(&b);
    if (rc != EL_OK) {
        el_node_free(b.root);
        return NULL;
    }
    if (!b.root) b.root = node_alloc(EL_NODE_NULL, b.file, 1, 1); /* empty document */
    return b.root;
}

el_node *el_yaml_load(const char *path) {
    char *data = NULL;
    size_t len = 0;
    /* a YAML file larger than what its tree may hold is refused before it is all read */
    if (el_read_file_max(path, &data, &len, EL_YAML_MAX_BYTES)) return NULL;
    el_node *n = el_yaml_parse(data, len, path);
    free(data);
    return n;
}

/* ---- dotted paths ------------------------------------------------------------------------- */
/* Splits "data.train[1].path" / "data.train.1.path" into segments; indices become their own
 * segments ("1"). Returns the count, or -1 for a malformed path. */
#define MAX_SEGS EL_YAML_MAX_DEPTH
static int32_t split_path(const char *dotted, char *store, size_t store_cap, char *segs[MAX_SEGS]) {
    size_t n = strlen(dotted);
    if (n == 0 || n + 1 > store_cap) return -1;
    int32_t ns = 0;
    size_t o = 0;
    const char *p = dotted;
    bool need_seg = true; /* a segment must follow (start, after '.') */
    while (*p) {
        if (ns >= MAX_SEGS) return -1;
        if (*p == '[') {
            if (need_seg && ns == 0) return -1;
            p++;
            segs[ns++] = store + o;
            if (!isdigit((unsigned char)*p)) return -1;
            while (isdigit((unsigned char)*p)) store[o++] = *p++;
            if (*p != ']') return -1;
            p++;
            store[o++] = 0;
            if (*p == '.') {
                p++;
                if (!*p) return -1;
                need_seg = true;
            } else if (*p && *p != '[') {
                return -1;
            } else {
                need_seg = false;
            }
            continue;
        }
        segs[ns++] = store + o;
        size_t start = o;
        while (*p && *p != '.' && *p != '[') store[o++] = *p++;
        if (o == start) return -1;
        store[o++] = 0;
        if (*p == '.') {
            p++;
            if (!*p) return -1;
        }
        need_seg = false;
    }
    return ns;
}

static bool seg_index(const char *seg, int32_t *idx) {
    int64_t v;
    if (!isdigit((unsigned char)seg[0]) || el_parse_i64(seg, &v) || v > INT32_MAX) return false;
    *idx = (int32_t)v;
    return true;
}

el_node *el_node_get(const el_node *map, const char *dotted) {
    if (!map || !dotted) return NULL;
    char store[1024];
    char *segs[MAX_SEGS];
    int32_t ns = split_path(dotted, store, sizeof store, segs);
    if (ns < 0) return NULL;
    const el_node *cur = map;
    for (int32_t i = 0; i < ns && cur; i++) {
        int32_t idx;
        if (cur->kind == EL_NODE_MAP) {
            int32_t k = map_find(cur, segs[i]);
            cur = k >= 0 ? cur->items[k] : NULL;
        } else if (cur->kind == EL_NODE_SEQ && seg_index(segs[i], &idx)) {
            cur = idx < cur->n ? cur->items[idx] : NULL;
        } else {
            cur = NULL;
        }
    }
    return (el_node *)cur;
}

static void set_origin(el_node *n, const char *origin) {
    if (!n) return;
    free(n->file);
    n->file = xstrdup(origin);
    n->line = n->col = 0;
    for (int32_t i = 0; i < n->n; i++) {
        if (n->key_line) n->key_line[i] = n->key_col[i] = 0;
        set_origin(n->items[i], origin);
    }
}

int el_node_set(el_node *root, const char *dotted, el_node *value, const char *origin) {
    char store[1024];
    char *segs[MAX_SEGS];
    const char *who = origin ? origin : (dotted ? dotted : "?");
    if (!root || !value) {
        el_node_free(value);
        return el_err("%s: nothing to set", who);
    }
    int32_t ns = dotted ? split_path(dotted, store, sizeof store, segs) : -1;
    if (ns < 0) {
        el_node_free(value);
        return el_err("%s: '%.200s' is not a dotted key path (like head.dropout or "
                      "data.train[0].path)", who, dotted ? dotted : "");
    }
    if (origin) set_origin(value, origin);
    if (root->kind == EL_NODE_NULL) { /* an empty document becomes a mapping */
        root->kind = EL_NODE_MAP;
    }
    el_node *cur = root;
    for (int32_t i = 0; i < ns; i++) {
        bool last = i == ns - 1;
        int32_t idx;
        if (cur->kind == EL_NODE_SEQ) {
            if (!seg_index(segs[i], &idx) || idx >= cur->n) {
                el_node_free(value);
                return el_err("%s: %s: there is no item %s in this list of %d", who, dotted,
                              segs[i], cur->n);
            }
            if (last) {
                el_node_free(cur->items[idx]);
                cur->items[idx] = value;
                return EL_OK;
            }
            cur = cur->items[idx];
        } else {
            if (cur->kind == EL_NODE_NULL) cur->kind = EL_NODE_MAP; /* `head:` with no value */
            if (cur->kind != EL_NODE_MAP) {
                el_node_free(value);
                return el_err("%s: %s: cannot set '%s' inside a value that is not a mapping", who,
                              dotted, segs[i]);
            }
            int32_t k = map_find(cur, segs[i]);
            if (last) {
                el_node_map_put(cur, segs[i], value);
                return EL_OK;
            }
            if (k < 0) {
                el_node *m = node_alloc(EL_NODE_MAP, origin ? origin : value->file, 0, 0);
                map_append(cur, xstrdup(segs[i]), m, 0, 0);
                cur = m;
            } else {
                cur = cur->items[k];
            }
        }
    }
    el_node_free(value);
    return el_err("%s: empty key path", who);
}

int el_node_set_yaml(el_node *root, const char *dotted, const char *yaml_value, const char *origin) {
    const char *who = origin ? origin : "value";
    el_node *v = el_yaml_parse(yaml_value ? yaml_value : "", yaml_value ? strlen(yaml_value) : 0,
                               "value");
    if (!v) return el_err_prefix("%s: not a valid YAML value", who);
    return el_node_set(root, dotted, v, origin ? origin : "value");
}

/* ---- numbers ------------------------------------------------------------------------------ */
int el_number_kind(const char *s) {
    if (!s) return 0;
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    int int_digits = 0, frac_digits = 0;
    bool dot = false, expo = false;
    while (isdigit((unsigned char)*p)) p++, int_digits++;
    if (*p == '.') {
        dot = true;
        p++;
        while (isdigit((unsigned char)*p)) p++, frac_digits++;
    }
    if (int_digits + frac_digits == 0) return 0;
    if (*p == 'e' || *p == 'E') {
        expo = true;
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!isdigit((unsigned char)*p)) return 0;
        while (isdigit((unsigned char)*p)) p++;
    }
    if (*p) return 0;
    return dot || expo ? 2 : 1;
}

void el_format_double(double v, char out[40]) {
    if (v == 0) { /* also -0.0: one canonical zero */
        snprintf(out, 40, "0.0");
        return;
    }
    if (!isfinite(v)) {
        snprintf(out, 40, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
        return;
    }
    char tmp[48];
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
        if (strtod(tmp, NULL) == v) break;
    }
    /* tmp = [-]d[.ddd]e(+|-)XX */
    const char *s = tmp;
    bool neg = *s == '-';
    if (neg) s++;
    char digits[24];
    int nd = 0;
    while (*s && *s != 'e') {
        if (isdigit((unsigned char)*s) && nd < 20) digits[nd++] = *s;
        s++;
    }
    int e = *s == 'e' ? atoi(s + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    el_buf b = {0};
    if (neg) el_buf_putc(&b, '-');
    if (e >= -4 && e < 16) { /* fixed notation, as Python's repr */
        if (e >= 0) {
            for (int i = 0; i <= e; i++) el_buf_putc(&b, i < nd ? digits[i] : '0');
            el_buf_putc(&b, '.');
            if (nd > e + 1)
                el_buf_append(&b, digits + e + 1, (size_t)(nd - e - 1));
            else
                el_buf_putc(&b, '0');
        } else {
            el_buf_puts(&b, "0.");
            for (int i = 0; i < -e - 1; i++) el_buf_putc(&b, '0');
            el_buf_append(&b, digits, (size_t)nd);
        }
    } else {
        el_buf_putc(&b, digits[0]);
        if (nd > 1) {
            el_buf_putc(&b, '.');
            el_buf_append(&b, digits + 1, (size_t)(nd - 1));
        }
        el_buf_printf(&b, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    snprintf(out, 40, "%s", b.s);
    el_buf_free(&b);
}

/* ---- JSON ------------------------------------------------------------------------------------ */
static void json_string(el_buf *b, const char *s) {
    el_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': el_buf_puts(b, "\\\""); break;
        case '\\': el_buf_puts(b, "\\\\"); break;
        case '\n': el_buf_puts(b, "\\n"); break;
        case '\r': el_buf_puts(b, "\\r"); break;
        case '\t': el_buf_puts(b, "\\t"); break;
        case '\b': el_buf_puts(b, "\\b"); break;
        case '\f': el_buf_puts(b, "\\f"); break;
        default:
            if (*p < 0x20)
                el_buf_printf(b, "\\u%04x", *p);
            else
                el_buf_putc(b, (char)*p);
        }
    }
    el_buf_putc(b, '"');
}

static void json_scalar(el_buf *b, const el_node *n) {
    const char *s = n->scalar ? n->scalar : "";
    if (n->quoted) {
        json_string(b, s);
        return;
    }
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
        el_buf_puts(b, "true");
        return;
    }
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
        el_buf_puts(b, "false");
        return;
    }
    int kind = el_number_kind(s);
    int64_t iv;
    if (kind == 1 && el_parse_i64(s, &iv) == EL_OK) {
        el_buf_printf(b, "%lld", (long long)iv);
        return;
    }
    if (kind) {
        errno = 0;
        double d = strtod(s, NULL);
        if (isfinite(d) && errno != ERANGE) {
            char t[40];
            el_format_double(d, t);
            el_buf_puts(b, t);
            return;
        }
    }
    json_string(b, s);
}

typedef struct {
    const char *key;
    int32_t idx;
} key_idx;

static int cmp_key(const void *a, const void *b) {
    const key_idx *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static void indent(el_buf *b, int level) {
    el_buf_putc(b, '\n');
    for (int i = 0; i < level; i++) el_buf_puts(b, "  ");
}

static void json_node(el_buf *b, const el_node *n, bool pretty, int level) {
    if (!n || n->kind == EL_NODE_NULL) {
        el_buf_puts(b, "null");
        return;
    }
    if (n->kind == EL_NODE_SCALAR) {
        json_scalar(b, n);
        return;
    }
    if (n->kind == EL_NODE_SEQ) {
        el_buf_putc(b, '[');
        for (int32_t i = 0; i < n->n; i++) {
            if (i) el_buf_putc(b, ',');
            if (pretty) indent(b, level + 1);
            json_node(b, n->items[i], pretty, level + 1);
        }
        if (pretty && n->n) indent(b, level);
        el_buf_putc(b, ']');
        return;
    }
    key_idx *order = xmalloc((size_t)(n->n ? n->n : 1) * sizeof *order);
    for (int32_t i = 0; i < n->n; i++) order[i] = (key_idx){n->keys[i], i};
    el_qsort(order, (size_t)n->n, sizeof *order, cmp_key);
    el_buf_putc(b, '{');
    for (int32_t i = 0; i < n->n; i++) {
        if (i) el_buf_putc(b, ',');
        if (pretty) indent(b, level + 1);
        json_string(b, order[i].key);
        el_buf_puts(b, pretty ? ": " : ":");
        json_node(b, n->items[order[i].idx], pretty, level + 1);
    }
    if (pretty && n->n) indent(b, level);
    el_buf_putc(b, '}');
    free(order);
}

char *el_node_to_json(const el_node *n, bool pretty) {
    el_buf b = {0};
    json_node(&b, n, pretty, 0);
    return el_buf_take(&b);
}

bool el_node_equal(const el_node *a, const el_node *b) {
    char *x = el_node_to_json(a, false), *y = el_node_to_json(b, false);
    bool eq = strcmp(x, y) == 0;
    free(x);
    free(y);
    return eq;
}
