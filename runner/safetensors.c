/* safetensors.c: see safetensors.h. */
#include "safetensors.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HEADER (100u << 20) /* the format's own limit: 100 MB of JSON */

static const struct {
    const char *name;
    el_st_dtype dtype;
    size_t size;
} DTYPES[] = {
    {"F32", EL_ST_F32, 4}, {"F16", EL_ST_F16, 2}, {"BF16", EL_ST_BF16, 2}, {"F64", EL_ST_F64, 8},
    {"I64", EL_ST_I64, 8}, {"I32", EL_ST_I32, 4}, {"I16", EL_ST_I16, 2},   {"I8", EL_ST_I8, 1},
    {"U8", EL_ST_U8, 1},   {"BOOL", EL_ST_BOOL, 1},
};
#define N_DTYPES (sizeof DTYPES / sizeof DTYPES[0])

size_t el_st_dtype_size(el_st_dtype d) {
    for (size_t i = 0; i < N_DTYPES; i++)
        if (DTYPES[i].dtype == d) return DTYPES[i].size;
    return 0;
}

const char *el_st_dtype_name(el_st_dtype d) {
    for (size_t i = 0; i < N_DTYPES; i++)
        if (DTYPES[i].dtype == d) return DTYPES[i].name;
    return "?";
}

typedef struct {
    uint64_t begin, end;
    int32_t idx;
} span;

static int span_cmp(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

static int parse_tensor(const char *name, const char *key, json_t *v, const uint8_t *data,
                        uint64_t data_len, el_st_tensor *t, span *sp) {
    if (!json_is_object(v)) return el_err("%s: tensor '%s': expected an object", name, key);
    json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
           *offs = json_object_get(v, "data_offsets");
    if (!json_is_string(dt)) return el_err("%s: tensor '%s': missing dtype", name, key);
    size_t esize = 0;
    for (size_t i = 0; i < N_DTYPES; i++)
        if (!strcmp(DTYPES[i].name, json_string_value(dt))) {
            t->dtype = DTYPES[i].dtype;
            esize = DTYPES[i].size;
        }
    if (!esize)
        return el_err("%s: tensor '%s': unsupported dtype '%s' (supported: F32, F16, BF16, F64, "
                      "I64, I32, I16, I8, U8, BOOL)",
                      name, key, json_string_value(dt));
    if (!json_is_array(shape) || json_array_size(shape) > EL_ST_MAX_DIMS)
        return el_err("%s: tensor '%s': shape must be a list of at most %d sizes", name, key,
                      EL_ST_MAX_DIMS);
    t->ndim = (int32_t)json_array_size(shape);
    uint64_t numel = 1;
    for (int32_t d = 0; d < t->ndim; d++) {
        json_t *s = json_array_get(shape, (size_t)d);
        if (!json_is_integer(s) || json_integer_value(s) < 0)
            return el_err("%s: tensor '%s': shape[%d] is not a non-negative integer", name, key, d);
        uint64_t sz = (uint64_t)json_integer_value(s);
        if (sz && numel > UINT64_MAX / sz / esize)
            return el_err("%s: tensor '%s': shape overflows", name, key);
        numel *= sz;
        t->shape[d] = (int64_t)sz;
    }
    if (!json_is_array(offs) || json_array_size(offs) != 2 ||
        !json_is_integer(json_array_get(offs, 0)) || !json_is_integer(json_array_get(offs, 1)))
        return el_err("%s: tensor '%s': data_offsets must be [begin, end]", name, key);
    json_int_t b = json_integer_value(json_array_get(offs, 0)),
               e = json_integer_value(json_array_get(offs, 1));
    if (b < 0 || e < b || (uint64_t)e > data_len)
        return el_err("%s: tensor '%s': data_offsets [%lld, %lld] outside the data (%llu bytes): "
                      "the file is truncated or corrupt",
                      name, key, (long long)b, (long long)e, (unsigned long long)data_len);
    if ((uint64_t)(e - b) != numel * esize)
        return el_err("%s: tensor '%s': %lld bytes for shape of %llu %s elements (%llu bytes)",
                      name, key, (long long)(e - b), (unsigned long long)numel,
                      json_string_value(dt), (unsigned long long)(numel * esize));
    t->numel = (int64_t)numel;
    t->nbytes = (size_t)(e - b);
    t->data = data + b;
    sp->begin = (uint64_t)b;
    sp->end = (uint64_t)e;
    return EL_OK;
}

static int tensor_name_cmp(const void *a, const void *b) {
    return strcmp((*(el_st_tensor *const *)a)->name, (*(el_st_tensor *const *)b)->name);
}

int el_st_parse(const void *buf, size_t len, const char *name, el_safetensors *out) {
    memset(out, 0, sizeof *out);
    out->path = xstrdup(name);
    const uint8_t *p = buf;
    if (len < 8) {
        el_err("%s: not a safetensors file (%zu bytes, shorter than the 8-byte header length)",
               name, len);
        goto fail;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | p[i];
    if (hlen > MAX_HEADER || hlen > len - 8) {
        el_err("%s: header length %llu is beyond the file (%zu bytes): truncated or not "
               "safetensors",
               name, (unsigned long long)hlen, len);
        goto fail;
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)p + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        el_err("%s: header JSON: %s (column %d)", name, jerr.text, jerr.column);
        goto fail;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        el_err("%s: header JSON is not an object", name);
        goto fail;
    }
    const uint8_t *data = p + 8 + hlen;
    uint64_t data_len = len - 8 - hlen;
    size_t cap = json_object_size(root);
    out->tensors = xcalloc(cap ? cap : 1, sizeof *out->tensors);
    span *spans = xcalloc(cap ? cap : 1, sizeof *spans);
    const char *key;
    json_t *v;
    int rc = EL_OK;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(v)) {
                rc = el_err("%s: __metadata__ must be an object of strings", name);
                break;
            }
            size_t nm = json_object_size(v);
            out->meta_keys = xcalloc(nm ? nm : 1, sizeof(char *));
            out->meta_values = xcalloc(nm ? nm : 1, sizeof(char *));
            const char *mk;
            json_t *mv;
            json_object_foreach(v, mk, mv) {
                if (!json_is_string(mv)) {
                    rc = el_err("%s: __metadata__.%s must be a string", name, mk);
                    break;
                }
                out->meta_keys[out->n_meta] = xstrdup(mk);
                out->meta_values[out->n_meta++] = xstrdup(json_string_value(mv));
            }
            if (rc) break;
            continue;
        }
        el_st_tensor *t = &out->tensors[out->n];
        if (parse_tensor(name, key, v, data, data_len, t, &spans[out->n]) != 0) {
            rc = EL_ERR;
            break;
        }
        t->name = xstrdup(key);
        spans[out->n].idx = out->n;
        out->n++;
    }
    json_decref(root);
    if (rc == EL_OK) {
        el_qsort(spans, (size_t)out->n, sizeof *spans, span_cmp);
        int32_t far = -1; /* the non-empty span reaching furthest so far */
        for (int32_t i = 0; i < out->n; i++) {
            if (spans[i].end == spans[i].begin) continue;
            if (far >= 0 && spans[i].begin < spans[far].end) {
                rc = el_err("%s: tensors '%s' and '%s' overlap in the data: corrupt file", name,
                            out->tensors[spans[far].idx].name, out->tensors[spans[i].idx].name);
                break;
            }
            if (far < 0 || spans[i].end > spans[far].end) far = i;
        }
    }
    free(spans);
    if (rc != EL_OK) goto fail;
    /* names are unique (duplicate keys are refused): a sorted view makes el_st_find a binary
     * search, so looking up every tensor of a file with many is not quadratic */
    out->by_name = xcalloc((size_t)(out->n ? out->n : 1), sizeof *out->by_name);
    for (int32_t i = 0; i < out->n; i++) out->by_name[i] = &out->tensors[i];
    el_qsort(out->by_name, (size_t)out->n, sizeof *out->by_name, tensor_name_cmp);
    return EL_OK;
fail:
    el_st_close(out);
    return EL_ERR;
}

int el_st_open(const char *path, el_safetensors *out) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return el_err("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return el_err("%s: cannot stat: %s", path, strerror(errno));
    }
    size_t len = (size_t)st.st_size;
    void *map = NULL;
    if (len > 0) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            close(fd);
            return el_err("%s: cannot map: %s", path, strerror(errno));
        }
    }
    close(fd);
    static const uint8_t empty[1];
    if (el_st_parse(map ? map : empty, len, path, out) != 0) {
        if (map) munmap(map, len);
        return EL_ERR;
    }
    out->map = map;
    out->map_len = len;
    return EL_OK;
}

const el_st_tensor *el_st_find(const el_safetensors *st, const char *name) {
    if (!st->by_name) { /* not from el_st_parse */
        for (int32_t i = 0; i < st->n; i++)
            if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
        return NULL;
    }
    int32_t lo = 0, hi = st->n - 1;
    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(st->by_name[mid]->name, name);
        if (c == 0) return st->by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

const char *el_st_meta(const el_safetensors *st, const char *key) {
    for (int32_t i = 0; i < st->n_meta; i++)
        if (!strcmp(st->meta_keys[i], key)) return st->meta_values[i];
    return NULL;
}

void el_st_close(el_safetensors *st) {
    free(st->by_name);
    for (int32_t i = 0; i < st->n; i++) free(st->tensors[i].name);
    free(st->tensors);
    for (int32_t i = 0; i < st->n_meta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_values[i]);
    }
    free(st->meta_keys);
    free(st->meta_values);
    if (st->map) munmap(st->map, st->map_len);
    free(st->path);
    memset(st, 0, sizeof *st);
}

int el_st_write(const char *path, const el_st_entry *entries, int32_t n,
                const char *const *meta_keys, const char *const *meta_values, int32_t n_meta) {
    json_t *root = json_object();
    if (n_meta > 0) {
        json_t *m = json_object();
        for (int32_t i = 0; i < n_meta; i++)
            json_object_set_new(m, meta_keys[i], json_string(meta_values[i]));
        json_object_set_new(root, "__metadata__", m);
    }
    uint64_t off = 0;
    for (int32_t i = 0; i < n; i++) {
        const el_st_entry *e = &entries[i];
        json_t *t = json_object(), *shape = json_array();
        int64_t numel = 1;
        for (int32_t d = 0; d < e->ndim; d++) {
            json_array_append_new(shape, json_integer(e->shape[d]));
            numel *= e->shape[d];
        }
        if ((size_t)numel * el_st_dtype_size(e->dtype) != e->nbytes) {
            json_decref(root);
            json_decref(t);
            json_decref(shape);
            return el_err("%s: tensor '%s': %zu bytes do not match its shape", path, e->name,
                          e->nbytes);
        }
        json_object_set_new(t, "dtype", json_string(el_st_dtype_name(e->dtype)));
        json_object_set_new(t, "shape", shape);
        json_t *offs = json_array();
        json_array_append_new(offs, json_integer((json_int_t)off));
        json_array_append_new(offs, json_integer((json_int_t)(off + e->nbytes)));
        json_object_set_new(t, "data_offsets", offs);
        json_object_set_new(root, e->name, t);
        off += e->nbytes;
    }
    char *hdr = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!hdr) return el_err("%s: cannot encode the header", path);
    size_t hl = strlen(hdr), padded = (hl + 7) / 8 * 8;
    uint8_t lenbuf[8];
    for (int i = 0; i < 8; i++) lenbuf[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    el_afile *f = el_afile_open(path);
    if (!f) {
        free(hdr);
        return EL_ERR;
    }
    int rc = el_afile_write(f, lenbuf, 8);
    if (!rc) rc = el_afile_write(f, hdr, hl);
    for (size_t i = hl; i < padded && !rc; i++) rc = el_afile_write(f, " ", 1);
    free(hdr);
    for (int32_t i = 0; i < n && !rc; i++) rc = el_afile_write(f, entries[i].data, entries[i].nbytes);
    if (rc) {
        el_afile_abort(f);
        return EL_ERR;
    }
    return el_afile_commit(f);
}

/* ---- float conversion -------------------------------------------------------------------- */
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13); /* inf / nan */
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

int el_st_read_f32(const el_st_tensor *t, float *dst, int64_t n, const char *file) {
    if (n != t->numel)
        return el_err("%s: tensor '%s': %lld values, %lld expected", file, t->name,
                      (long long)t->numel, (long long)n);
    const uint8_t *p = t->data;
    switch (t->dtype) {
    case EL_ST_F32:
        memcpy(dst, p, (size_t)n * 4);
        return EL_OK;
    case EL_ST_F16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = half_to_float(h);
        }
        return EL_OK;
    case EL_ST_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            uint32_t bits = (uint32_t)h << 16;
            memcpy(&dst[i], &bits, 4);
        }
        return EL_OK;
    case EL_ST_F64:
        for (int64_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            dst[i] = (float)d;
        }
        return EL_OK;
    default:
        return el_err("%s: tensor '%s': dtype %s is not a floating type (F32, F16, BF16, F64)",
                      file, t->name, el_st_dtype_name(t->dtype));
    }
}

/* ---- sharded models ---------------------------------------------------------------------- */
static bool plain_file_name(const char *s) {
    if (!s[0] || !strcmp(s, ".") || !strcmp(s, "..")) return false;
    for (const char *c = s; *c; c++)
        if (*c == '/' || *c == '\\' || (unsigned char)*c < 0x20) return false;
    return true;
}

int el_st_model_open(const char *dir, el_st_model *out) {
    memset(out, 0, sizeof *out);
    out->dir = xstrdup(dir);
    char *single = el_path_join(dir, "model.safetensors");
    char *index = el_path_join(dir, "model.safetensors.index.json");
    int rc = EL_OK;
    if (el_file_exists(single)) {
        out->files = xcalloc(1, sizeof *out->files);
        rc = el_st_open(single, &out->files[0]);
        if (rc == EL_OK) out->n_files = 1;
        free(single);
        free(index);
        if (rc != EL_OK) el_st_model_close(out);
        return rc;
    }
    free(single);
    if (!el_file_exists(index)) {
        char *bin = el_path_join(dir, "pytorch_model.bin");
        bool has_bin = el_file_exists(bin);
        free(bin);
        if (has_bin)
            rc = el_err("%s: has pytorch_model.bin only; emolab reads safetensors (never pickle): "
                        "convert it once with transformers (model.save_pretrained(dir, "
                        "safe_serialization=True)) or take the repository's safetensors revision",
                        dir);
        else
            rc = el_err("%s: no model.safetensors or model.safetensors.index.json", dir);
        free(index);
        el_st_model_close(out);
        return rc;
    }
    out->index = index;
    char *buf = NULL;
    size_t len = 0;
    if (el_read_file(index, &buf, &len) != 0) {
        el_st_model_close(out);
        return EL_ERR;
    }
    char **shards = NULL;
    int32_t n_shards = 0;
    rc = el_st_index_parse(buf, len, index, dir, out, &shards, &n_shards);
    free(buf);
    if (rc == EL_OK) {
        out->files = xcalloc((size_t)n_shards, sizeof *out->files);
        for (int32_t k = 0; k < n_shards && rc == EL_OK; k++) {
            char *p = el_path_join(dir, shards[k]);
            rc = el_st_open(p, &out->files[k]);
            if (rc == EL_OK) out->n_files++;
            else el_err_prefix("%s lists it", index);
            free(p);
        }
    }
    for (int32_t i = 0; i < out->n_map && rc == EL_OK; i++) {
        const el_safetensors *f = &out->files[out->map_files[i]];
        if (!el_st_find(f, out->map_names[i]))
            rc = el_err("%s: tensor '%s' is listed in shard %s, which does not hold it", index,
                        out->map_names[i], f->path);
    }
    for (int32_t k = 0; k < n_shards; k++) free(shards[k]);
    free(shards);
    if (rc != EL_OK) el_st_model_close(out);
    return rc;
}

int el_st_index_parse(const char *buf, size_t len, const char *name, const char *dir,
                      el_st_model *out, char ***shards_out, int32_t *n_shards_out) {
    *shards_out = NULL;
    *n_shards_out = 0;
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *wm = root ? json_object_get(root, "weight_map") : NULL;
    int rc = EL_OK;
    if (!root) {
        rc = el_err("%s:%d:%d: not valid JSON: %s", name, jerr.line, jerr.column, jerr.text);
    } else if (!json_is_object(wm)) {
        rc = el_err("%s: weight_map: missing or not an object of tensor -> shard file", name);
    } else {
        size_t n = json_object_size(wm);
        out->map_names = xcalloc(n + 1, sizeof(char *));
        out->map_files = xcalloc(n + 1, sizeof(int32_t));
        char **shards = xcalloc(n + 1, sizeof(char *));
        int32_t n_shards = 0;
        const char *key;
        json_t *v;
        json_object_foreach(wm, key, v) {
            if (!json_is_string(v) || !plain_file_name(json_string_value(v))) {
                rc = el_err("%s: weight_map.%s: the shard must be a file name inside %s", name,
                            key, dir);
                break;
            }
            const char *f = json_string_value(v);
            int32_t k = 0;
            while (k < n_shards && strcmp(shards[k], f)) k++;
            if (k == n_shards) {
                /* the lookup above is linear: bounded, so that a hostile index with a shard per
                 * tensor cannot make it quadratic (the largest models have a few hundred) */
                if (n_shards == EL_ST_MAX_SHARDS) {
                    rc = el_err("%s: more than %d shard files; refused", name, EL_ST_MAX_SHARDS);
                    break;
                }
                shards[n_shards++] = xstrdup(f);
            }
            out->map_names[out->n_map] = xstrdup(key);
            out->map_files[out->n_map++] = k;
        }
        if (rc == EL_OK && n_shards == 0) rc = el_err("%s: weight_map is empty", name);
        if (rc == EL_OK) {
            *shards_out = shards;
            *n_shards_out = n_shards;
        } else {
            for (int32_t k = 0; k < n_shards; k++) free(shards[k]);
            free(shards);
        }
    }
    json_decref(root);
    return rc;
}

const el_st_tensor *el_st_model_find(const el_st_model *m, const char *name, const char **file) {
    if (!m->index) {
        if (m->n_files < 1) return NULL;
        if (file) *file = m->files[0].path;
        return el_st_find(&m->files[0], name);
    }
    for (int32_t i = 0; i < m->n_map; i++)
        if (!strcmp(m->map_names[i], name)) {
            const el_safetensors *f = &m->files[m->map_files[i]];
            if (file) *file = f->path;
            return el_st_find(f, name);
        }
    return NULL;
}

void el_st_model_close(el_st_model *m) {
    for (int32_t i = 0; i < m->n_files; i++) el_st_close(&m->files[i]);
    free(m->files);
    for (int32_t i = 0; i < m->n_map; i++) free(m->map_names[i]);
    free(m->map_names);
    free(m->map_files);
    free(m->index);
    free(m->dir);
    memset(m, 0, sizeof *m);
}
