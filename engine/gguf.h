/* gguf.h - GGUF v2/v3 reader (mmap, strict validation) and atomic writer.
 *
 * Format: magic "GGUF", u32 version, u64 n_tensors, u64 n_kv, then n_kv key/value pairs,
 * n_tensors tensor infos (name, n_dims, ne[], type, offset), padding to general.alignment
 * (default 32), then the tensor data. All little-endian. Strings are u64 length + bytes. */
#ifndef SCARCE_GGUF_H
#define SCARCE_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum gguf_vtype {
    GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5,
    GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10,
    GGUF_I64 = 11, GGUF_F64 = 12, GGUF_NTYPES
};

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32

typedef struct {
    char *key;         /* NUL-terminated copy */
    uint32_t type;     /* enum gguf_vtype */
    /* scalars, widened: integers in i64 (u64 values above INT64_MAX in u64), floats in f64 */
    int64_t i64;
    uint64_t u64;
    double f64;
    char *str;         /* GGUF_STRING: NUL-terminated copy (may hold NULs: use str_len) */
    uint64_t str_len;
    /* GGUF_ARRAY */
    uint32_t arr_type; /* element type */
    uint64_t arr_n;
    const void *arr_data; /* numeric arrays: raw little-endian elements inside the mapping */
    char **arr_str;       /* string arrays: NUL-terminated copies */
    uint64_t *arr_str_len;
} gguf_kv;

typedef struct {
    char *name;
    uint32_t type; /* quant type id (quant/types.h) */
    int n_dims;
    int64_t ne[GGUF_MAX_DIMS]; /* ne[0] is the row length; unused dims are 1 */
    uint64_t offset;           /* from the start of the data section */
    size_t bytes;
    const void *data; /* inside the mapping */
} gguf_tensor;

typedef struct {
    char *path;
    uint32_t version;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;
    gguf_tensor *tensors;
    size_t alignment;
    size_t data_offset; /* file offset of the data section */
    const uint8_t *map;
    size_t size;
} gguf_file;

/* Maps and validates a whole file; NULL with err filled on any problem. */
gguf_file *gguf_open(const char *path, scarce_error *err);
void gguf_close(gguf_file *f);

const gguf_kv *gguf_find(const gguf_file *f, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);

/* Typed getters: 0 ok; -1 when absent or of the wrong type or range, with err naming the
 * key, the expected and the found type ("x: expected float32, found uint32"). Integer
 * getters accept any integer type whose value fits; float getters float32 and float64 only
 * (an integer in a float key is the sign of a type lie, as in llama.cpp); bool only bool.
 * For an optional key: gguf_find(f, key) && gguf_get_...(...) fails only when present. */
int gguf_get_i64(const gguf_file *f, const char *key, int64_t *out, scarce_error *err);
int gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out, scarce_error *err);
int gguf_get_f32(const gguf_file *f, const char *key, float *out, scarce_error *err);
int gguf_get_bool(const gguf_file *f, const char *key, int *out, scarce_error *err);
/* A string without NUL bytes inside; *out points into f. */
int gguf_get_string(const gguf_file *f, const char *key, const char **out, scarce_error *err);
/* NULL when absent or not a string, no error: for tools that only display a key. */
const char *gguf_get_str(const gguf_file *f, const char *key);

/* An array whose element type is one of elem_types (GGUF_TYPE_BIT(GGUF_F32) | ...) and,
 * unless n is GGUF_ANY_LENGTH, of exactly n elements; NULL with err otherwise
 * ("tokenizer.ggml.scores: expected array of float32, found array of int32"). */
#define GGUF_TYPE_BIT(t) (1u << (t))
#define GGUF_ANY_LENGTH UINT64_MAX
const gguf_kv *gguf_get_array(const gguf_file *f, const char *key, unsigned elem_types,
                              uint64_t n, scarce_error *err);
/* Element i of a numeric array as double / int64 (caller checks i < arr_n). */
double gguf_arr_f64(const gguf_kv *kv, uint64_t i);
int64_t gguf_arr_i64(const gguf_kv *kv, uint64_t i);
/* Size in bytes of one element of a numeric value type; 0 for string/array/unknown. */
size_t gguf_vtype_size(uint32_t type);
const char *gguf_vtype_name(uint32_t type);

/* ---- writer ---------------------------------------------------------------------------
 * Usage: w = gguf_writer_new(); set keys; add tensors (infos); gguf_writer_open(w, path);
 * gguf_writer_write_tensor() once per tensor in the order added; gguf_writer_finish().
 * Data goes to PATH.tmp.PID, is fsynced and renamed over PATH only by finish(); free()
 * before finish() removes the temp file, so an interrupted write leaves nothing behind. */
typedef struct gguf_writer gguf_writer;

gguf_writer *gguf_writer_new(void);
void gguf_writer_free(gguf_writer *w);
/* Setting a key that exists replaces its value, keeping its position. */
void gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v);
void gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v);
void gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v);
void gguf_writer_set_f32(gguf_writer *w, const char *key, float v);
void gguf_writer_set_bool(gguf_writer *w, const char *key, int v);
void gguf_writer_set_str(gguf_writer *w, const char *key, const char *v);
void gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *v, uint64_t n);
/* Numeric array of element type `type` (enum gguf_vtype), raw little-endian elements. */
void gguf_writer_set_arr(gguf_writer *w, const char *key, uint32_t type, const void *data,
                         uint64_t n);
/* Copies a key/value pair read by gguf_open (any type), under its own key. */
void gguf_writer_copy_kv(gguf_writer *w, const gguf_kv *kv);
void gguf_writer_remove(gguf_writer *w, const char *key);
/* Declares a tensor; ne[0] is the row length. Fails on unknown type or bad shape. */
int gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, int n_dims,
                           const int64_t *ne, scarce_error *err);
int gguf_writer_open(gguf_writer *w, const char *path, scarce_error *err);
/* Writes the next tensor's data (bytes must equal its declared size); may be called in
 * pieces: the data of one tensor may be passed in several calls that add up. */
int gguf_writer_write(gguf_writer *w, const void *data, size_t bytes, scarce_error *err);
int gguf_writer_finish(gguf_writer *w, scarce_error *err);
/* The keys set so far with every tensor of f (its shapes, types and bytes), written to
 * path: add_tensor, open, write and finish in one call (tests and fuzzers that rewrite a
 * file's metadata). */
int gguf_writer_write_tensors_of(gguf_writer *w, const gguf_file *f, const char *path,
                                 scarce_error *err);

#endif
