/* labels.c: see labels.h. Parsed with libyaml's document API; the schema is shallow (three
 * levels), so the walk never recurses and aliases cannot blow it up. */
#include "labels.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define LABELS_MAX_FILE (1 << 20)

#ifndef EMOLAB_CONFIG_DIR
#define EMOLAB_CONFIG_DIR "configs"
#endif

/* ---- small helpers ----------------------------------------------------------------------- */
int32_t el_labelset_index(const el_labelset *s, const char *name) {
    if (!name) return -1;
    for (int32_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0) return i;
    return -1;
}

char *el_labelset_list(const el_labelset *s) {
    el_buf b = {0};
    for (int32_t i = 0; i < s->n; i++) el_buf_printf(&b, "%s%s", i ? ", " : "", s->names[i]);
    return el_buf_take(&b);
}

void el_labelset_copy(el_labelset *dst, const el_labelset *src) {
    memset(dst, 0, sizeof *dst);
    dst->n = src->n;
    for (int32_t i = 0; i < src->n; i++) dst->names[i] = xstrdup(src->names[i]);
}

void el_labelset_free(el_labelset *s) {
    for (int32_t i = 0; i < s->n; i++) free(s->names[i]);
    memset(s, 0, sizeof *s);
}

int32_t el_label_map_find(const el_label_map *m, const char *source) {
    if (!source) return -1;
    for (int32_t i = 0; i < m->n; i++)
        if (strcmp(m->sources[i], source) == 0) return i;
    return -1;
}

const el_label_map *el_labels_get_map(const el_label_config *c, const char *name) {
    for (int32_t i = 0; i < c->n_maps; i++)
        if (el_streq(c->maps[i].name, name)) return &c->maps[i];
    el_buf b = {0};
    for (int32_t i = 0; i < c->n_maps; i++) el_buf_printf(&b, "%s%s", i ? ", " : "", c->maps[i].name);
    el_err("%s: label set '%s' has no map '%s' (maps: %s); add a `maps: %s:` section that maps "
           "the source labels onto %s, or choose another map with the source's `map:` key",
           c->path ? c->path : c->name, c->name, name ? name : "(none)", b.s ? b.s : "none",
           name ? name : "NAME", c->name);
    el_buf_free(&b);
    return NULL;
}

void el_labels_free(el_label_config *c) {
    if (!c) return;
    free(c->name);
    free(c->path);
    el_labelset_free(&c->set);
    for (int32_t m = 0; m < c->n_maps; m++) {
        el_label_map *lm = &c->maps[m];
        for (int32_t i = 0; i < lm->n; i++) free(lm->sources[i]);
        free(lm->sources);
        free(lm->targets);
        free(lm->lines);
        free(lm->name);
    }
    memset(c, 0, sizeof *c);
}

/* ---- finding the file -------------------------------------------------------------------- */
static bool is_path(const char *v) {
    size_t n = strlen(v);
    return strchr(v, '/') || (n >= 5 && strcmp(v + n - 5, ".yaml") == 0) ||
           (n >= 4 && strcmp(v + n - 4, ".yml") == 0);
}

char *el_labels_find(const char *v) {
    if (!v || !*v) {
        el_err("empty label-set name; give a label-set name (e.g. ekman7, found as "
               "configs/labels/ekman7.yaml) or a path to a label-set YAML file");
        return NULL;
    }
    if (is_path(v)) {
        if (!el_file_exists(v)) {
            el_err("%s: label-set file not found", v);
            return NULL;
        }
        return xstrdup(v);
    }
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.') {
            el_err("'%s' is not a label-set name (letters, digits, _ - . only) nor "
                   "a path (contains '/' or ends in .yaml)", v);
            return NULL;
        }
    const char *dirs[2] = {getenv("EMOLAB_CONFIGS"), EMOLAB_CONFIG_DIR};
    el_buf tried = {0};
    for (int i = 0; i < 2; i++) {
        if (!dirs[i] || !*dirs[i]) continue;
        char *path = el_printf("%s/labels/%s.yaml", dirs[i], v);
        if (el_file_exists(path)) {
            el_buf_free(&tried);
            return path;
        }
        el_buf_printf(&tried, "%s%s", tried.len ? ", " : "", path);
        free(path);
    }
    el_err("no label set '%s' (looked for %s); set $EMOLAB_CONFIGS to the configs "
           "directory or give a path to the YAML file", v, tried.s ? tried.s : "nowhere");
    el_buf_free(&tried);
    return NULL;
}

/* ---- YAML walk ----------------------------------------------------------------------------- */
typedef struct {
    yaml_document_t *doc;
    const char *file;
    el_label_config *out;
} lctx;

static int pos_err(lctx *x, const yaml_node_t *n, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int pos_err(lctx *x, const yaml_node_t *n, const char *key, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return el_err("%s:%d:%d: %s: %s", x->file, n ? (int)n->start_mark.line + 1 : 1,
                  n ? (int)n->start_mark.column + 1 : 1, key, msg);
}

static const char *scalar(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool is_null(const yaml_node_t *n) {
    if (!n) return true;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const char *s = scalar(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static bool valid_label_name(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.') return false;
    return true;
}

/* Numeric source labels are canonical decimal ("07" -> "7") so "7" in a CSV finds them. */
static char *canon_source(const char *s) {
    size_t n = strlen(s);
    bool digits = n > 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) digits = false;
    if (!digits) return xstrdup(s);
    while (n > 1 && *s == '0') s++, n--;
    return xstrdup(s);
}

static int parse_labels(lctx *x, const yaml_node_t *n) {
    el_labelset *set = &x->out->set;
    if (n->type != YAML_SEQUENCE_NODE)
        return pos_err(x, n, "labels", "expected a list of label names, e.g. [anger, joy, neutral]");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        yaml_node_t *v = yaml_document_get_node(x->doc, *it);
        const char *s = scalar(v);
        if (!s || !valid_label_name(s))
            return pos_err(x, v, "labels", "a label name is one word of letters, digits, _ - . "
                                           "(got %s)", s ? (*s ? s : "an empty string") : "a list or map");
        if (el_labelset_index(set, s) >= 0) return pos_err(x, v, "labels", "'%s' is listed twice", s);
        if (set->n >= EL_MAX_LABELS)
            return pos_err(x, v, "labels", "more than %d labels (the limit)", EL_MAX_LABELS);
        set->names[set->n++] = xstrdup(s);
    }
    if (set->n == 0) return pos_err(x, n, "labels", "empty; list the labels in model-output order");
    return 0;
}

static int target_one(lctx *x, const yaml_node_t *t, const char *key, uint64_t *mask) {
    const el_labelset *set = &x->out->set;
    const char *s = scalar(t);
    int32_t i = el_labelset_index(set, s);
    if (i < 0) {
        char *list = el_labelset_list(set);
        pos_err(x, t, key, "'%s' is not a label of this set (labels: %s; ~ for none)",
                s ? s : "(a list or map)", list);
        free(list);
        return -1;
    }
    *mask |= (uint64_t)1 << i;
    return 0;
}

static int parse_target(lctx *x, const yaml_node_t *v, const char *key, uint64_t *mask) {
    *mask = 0;
    if (is_null(v)) return 0;
    if (v->type == YAML_SCALAR_NODE) return target_one(x, v, key, mask);
    if (v->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++)
            if (target_one(x, yaml_document_get_node(x->doc, *it), key, mask)) return -1;
        return 0;
    }
    return pos_err(x, v, key, "expected a label, a list of labels, or ~ for none");
}

static int parse_map(lctx *x, const char *name, const yaml_node_t *n, el_label_map *m) {
    m->name = xstrdup(name);
    if (n->type != YAML_MAPPING_NODE)
        return pos_err(x, n, name, "expected a map from source labels to labels of the set");
    int64_t cap = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
        const char *ks = scalar(k);
        if (!ks || !*ks) return pos_err(x, k, name, "a source label must be a non-empty scalar");
        char key[512];
        snprintf(key, sizeof key, "maps.%s.%s", name, ks);
        char *src = canon_source(ks);
        if (el_label_map_find(m, src) >= 0) {
            free(src);
            return pos_err(x, k, key, "source label listed twice");
        }
        uint64_t mask;
        if (parse_target(x, v, key, &mask)) {
            free(src);
            return -1;
        }
        if (m->n >= cap) {
            cap = cap ? cap * 2 : 32;
            m->sources = xrealloc(m->sources, sizeof(char *) * (size_t)cap);
            m->targets = xrealloc(m->targets, sizeof(uint64_t) * (size_t)cap);
            m->lines = xrealloc(m->lines, sizeof(int32_t) * (size_t)cap);
        }
        m->sources[m->n] = src;
        m->targets[m->n] = mask;
        m->lines[m->n] = (int32_t)k->start_mark.line + 1;
        m->n++;
    }
    if (m->n == 0) return pos_err(x, n, name, "empty map");
    return 0;
}

static const char *base_name(const char *file, char *out, size_t n) {
    const char *b = strrchr(file, '/');
    b = b ? b + 1 : file;
    snprintf(out, n, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml"))) *dot = 0;
    return out;
}

int el_labels_parse(const char *buf, size_t len, const char *filename, el_label_config *out) {
    memset(out, 0, sizeof *out);
    const char *file = filename ? filename : "<labels>";
    if (len > LABELS_MAX_FILE)
        return el_err("%s: %zu bytes, larger than a label-set file may be (%d)", file, len,
                      LABELS_MAX_FILE);
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return el_err("%s: cannot initialise libyaml", file);
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &doc)) {
        el_err("%s:%d:%d: YAML: %s%s%s", file, (int)parser.problem_mark.line + 1,
               (int)parser.problem_mark.column + 1, parser.problem ? parser.problem : "syntax error",
               parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return EL_ERR;
    }
    yaml_parser_delete(&parser);
    lctx x = {&doc, file, out};
    int rc = EL_ERR;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    const yaml_node_t *labels = NULL, *maps = NULL;
    if (!root) {
        el_err("%s:1:1: empty document; expected `labels:` and `maps:`", file);
        goto done;
    }
    if (root->type != YAML_MAPPING_NODE) {
        pos_err(&x, root, "(top level)", "expected a map with keys name, description, labels, maps");
        goto done;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&doc, p->value);
        const char *ks = scalar(k);
        if (el_streq(ks, "name")) {
            if (!scalar(v) || !valid_label_name(scalar(v))) {
                pos_err(&x, v, "name", "expected one word (letters, digits, _ - .)");
                goto done;
            }
            free(out->name);
            out->name = xstrdup(scalar(v));
        } else if (el_streq(ks, "description")) {
            if (v->type != YAML_SCALAR_NODE) {
                pos_err(&x, v, "description", "expected text");
                goto done;
            }
        } else if (el_streq(ks, "labels")) {
            labels = v;
        } else if (el_streq(ks, "maps")) {
            maps = v;
        } else {
            pos_err(&x, k, ks ? ks : "(key)", "unknown key; allowed: name, description, labels, maps");
            goto done;
        }
    }
    if (!labels) {
        pos_err(&x, root, "labels", "missing; list the labels in model-output order");
        goto done;
    }
    if (parse_labels(&x, labels)) goto done;
    if (maps) {
        if (maps->type != YAML_MAPPING_NODE) {
            pos_err(&x, maps, "maps", "expected a map of map names (goemotions, izard, ...)");
            goto done;
        }
        for (yaml_node_pair_t *p = maps->data.mapping.pairs.start; p < maps->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(&doc, p->key);
            yaml_node_t *v = yaml_document_get_node(&doc, p->value);
            const char *ks = scalar(k);
            if (!ks || !valid_label_name(ks)) {
                pos_err(&x, k, "maps", "a map name is one word (letters, digits, _ - .)");
                goto done;
            }
            for (int32_t i = 0; i < out->n_maps; i++)
                if (!strcmp(out->maps[i].name, ks)) {
                    pos_err(&x, k, "maps", "map '%s' defined twice", ks);
                    goto done;
                }
            if (out->n_maps >= EL_MAX_LABEL_MAPS) {
                pos_err(&x, k, "maps", "more than %d maps", EL_MAX_LABEL_MAPS);
                goto done;
            }
            if (parse_map(&x, ks, v, &out->maps[out->n_maps++])) goto done;
        }
    }
    if (!out->name) {
        char b[256];
        out->name = xstrdup(base_name(file, b, sizeof b));
    }
    rc = EL_OK;
done:
    yaml_document_delete(&doc);
    if (rc != EL_OK) el_labels_free(out);
    return rc;
}

int el_labels_load(const char *name_or_path, el_label_config *out) {
    memset(out, 0, sizeof *out);
    char *path = el_labels_find(name_or_path);
    if (!path) return EL_ERR;
    char *buf = NULL;
    size_t len = 0;
    if (el_read_file_max(path, &buf, &len, (size_t)16 << 20)) { /* a label map is small */
        free(path);
        return EL_ERR;
    }
    int rc = el_labels_parse(buf, len, path, out);
    free(buf);
    if (rc) {
        free(path);
        return rc;
    }
    out->path = path;
    return EL_OK;
}
