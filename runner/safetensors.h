/* safetensors.h: reading (validated, mmap'd) and writing the safetensors format:
 *   8 bytes little-endian header length N | N bytes JSON header | data
 * header: {"NAME": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *          "__metadata__": {"key": "string", ...}} with offsets relative to the data start.
 * The reader checks the header length against the file, the JSON, dtypes, shapes against
 * byte sizes, offsets inside the data, and that no two tensors overlap; errors name the file
 * and the tensor. No code is ever executed from a checkpoint.
 */
#ifndef EL_SAFETENSORS_H
#define EL_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EL_ST_MAX_DIMS 8

typedef enum {
    EL_ST_F32, EL_ST_F16, EL_ST_BF16, EL_ST_F64, EL_ST_I64, EL_ST_I32, EL_ST_I16, EL_ST_I8,
    EL_ST_U8, EL_ST_BOOL
} el_st_dtype;

typedef struct {
    char *name;
    el_st_dtype dtype;
    int32_t ndim;
    int64_t shape[EL_ST_MAX_DIMS];
    int64_t numel;
    const void *data; /* inside the mapping */
    size_t nbytes;
} el_st_tensor;

typedef struct {
    char *path;
    void *map;        /* mmap of the whole file (NULL for buffers) */
    size_t map_len;
    el_st_tensor *tensors;
    int32_t n;
    char **meta_keys, **meta_values;
    int32_t n_meta;
    el_st_tensor **by_name; /* the tensors sorted by name, for el_st_find */
} el_safetensors;

int el_st_open(const char *path, el_safetensors *out);
/* Parses a buffer that stays alive and unchanged while `out` is used (fuzzing, tests). */
int el_st_parse(const void *buf, size_t len, const char *name, el_safetensors *out);
const el_st_tensor *el_st_find(const el_safetensors *st, const char *name);
const char *el_st_meta(const el_safetensors *st, const char *key);
void el_st_close(el_safetensors *st);
size_t el_st_dtype_size(el_st_dtype d);
const char *el_st_dtype_name(el_st_dtype d);

typedef struct {
    const char *name;
    el_st_dtype dtype;
    int32_t ndim;
    const int64_t *shape;
    const void *data;
    size_t nbytes;
} el_st_entry;

/* Copies t's values, converted to float32, into dst[0..n) (n must equal t->numel). F32, F16,
 * BF16 and F64 are accepted; file names the source in messages. Unaligned data is fine. */
int el_st_read_f32(const el_st_tensor *t, float *dst, int64_t n, const char *file);

/* ---- a model's weights: one file or shards ------------------------------------------------ */
/* DIR/model.safetensors, or the shards that DIR/model.safetensors.index.json lists
 * ({"weight_map": {"TENSOR": "SHARD.safetensors", ...}}). Shard names must be plain file
 * names inside DIR; every tensor the index lists must be in its shard. */
typedef struct {
    char *dir;
    char *index;          /* the index path, NULL for a single file */
    el_safetensors *files;
    int32_t n_files;
    char **map_names;     /* index: tensor -> file number */
    int32_t *map_files;
    int32_t n_map;
} el_st_model;

int el_st_model_open(const char *dir, el_st_model *out);
/* The index's JSON in buf[0..len) (name: for messages; dir: the directory shard names must stay
 * in): fills out->map_names / map_files / n_map and returns the distinct shard file names
 * (malloc'd array of malloc'd strings), at most EL_ST_MAX_SHARDS. Opens nothing. The caller
 * frees the shard names and, on success or failure, `out` with el_st_model_close. */
#define EL_ST_MAX_SHARDS 1024
int el_st_index_parse(const char *buf, size_t len, const char *name, const char *dir,
                      el_st_model *out, char ***shards, int32_t *n_shards);
/* The tensor, and in *file (may be NULL) the path of the file that holds it. */
const el_st_tensor *el_st_model_find(const el_st_model *m, const char *name, const char **file);
void el_st_model_close(el_st_model *m);

/* Writes atomically (temp file, fsync, rename). meta: n_meta key/value pairs. */
int el_st_write(const char *path, const el_st_entry *entries, int32_t n, const char *const *meta_keys,
                const char *const *meta_values, int32_t n_meta);

#endif /* EL_SAFETENSORS_H */
