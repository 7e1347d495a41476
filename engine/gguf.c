/* gguf.c - GGUF v2/v3 reader: mmap the file, validate every byte before it is read.
 *
 * A hostile file must not make us read outside the mapping or allocate more than the file
 * could describe: every length and count is checked against the bytes that remain, every
 * dimension product is overflow-checked, every tensor must lie inside the file. The writer
 * is in gguf_write.c. */
#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../quant/types.h"

/* The public struct plus a by-name index of the tensors (sorted), for gguf_find_tensor. */
typedef struct {
    gguf_file pub;
    uint32_t *by_name;
} gguf_file_impl;

/* ---- bounded cursor over the mapping ----------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t pos, size;
    const char *path;
    scarce_error *err;
} cursor;

static size_t remaining(const cursor *c) { return c->size - c->pos; }

static int need(cursor *c, uint64_t n, const char *what) {
    if (n > remaining(c))
        return scarce_fail(c->err, "%s: truncated at byte %zu: %s needs %llu bytes, %zu left",
                           c->path, c->pos, what, (unsigned long long)n, remaining(c));
    return 0;
}

static int rd_u32(cursor *c, uint32_t *v, const char *what) {
    if (need(c, 4, what)) return -1;
    const uint8_t *b = c->p + c->pos;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    c->pos += 4;
    return 0;
}

static int rd_u64(cursor *c, uint64_t *v, const char *what) {
    uint32_t lo, hi;
    if (need(c, 8, what) || rd_u32(c, &lo, what) || rd_u32(c, &hi, what)) return -1;
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

/* A string as a NUL-terminated malloc'd copy; the length is checked before any allocation. */
static int rd_str(cursor *c, char **out, uint64_t *len_out, const char *what) {
    uint64_t len;
    if (rd_u64(c, &len, what)) return -1;
    if (len > remaining(c))
        return scarce_fail(c->err, "%s: %s at byte %zu has length %llu, only %zu bytes left",
                           c->path, what, c->pos - 8, (unsigned long long)len, remaining(c));
    char *s = malloc(len + 1);
    if (!s) return scarce_fail(c->err, "%s: out of memory reading %s", c->path, what);
    memcpy(s, c->p + c->pos, len);
    s[len] = 0;
    c->pos += len;
    *out = s;
    if (len_out) *len_out = len;
    return 0;
}

/* ---- value types ------------------------------------------------------------------------- */

size_t gguf_vtype_size(uint32_t type) {
    static const size_t sizes[GGUF_NTYPES] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return type < GGUF_NTYPES ? sizes[type] : 0;
}

const char *gguf_vtype_name(uint32_t type) {
    /* llama.cpp's gguf_type_name spelling, so that messages read the same in both */
    static const char *names[GGUF_NTYPES] = {"uint8",  "int8",    "uint16", "int16", "uint32",
                                             "int32",  "float32", "bool",   "string", "array",
                                             "uint64", "int64",   "float64"};
    return type < GGUF_NTYPES ? names[type] : "unknown";
}

/* Reads one little-endian scalar of a numeric type at b, widened into kv's fields. */
static void widen(uint32_t type, const uint8_t *b, gguf_kv *kv) {
    uint64_t raw = 0;
    for (size_t i = 0; i < gguf_vtype_size(type); i++) raw |= (uint64_t)b[i] << (8 * i);
    switch (type) {
    case GGUF_I8: kv->i64 = (int8_t)raw; break;
    case GGUF_I16: kv->i64 = (int16_t)raw; break;
    case GGUF_I32: kv->i64 = (int32_t)raw; break;
    case GGUF_I64: kv->i64 = (int64_t)raw; break;
    case GGUF_F32: {
        uint32_t u = (uint32_t)raw;
        float f;
        memcpy(&f, &u, 4);
        kv->f64 = f;
        return;
    }
    case GGUF_F64: memcpy(&kv->f64, &raw, 8); return;
    default: /* unsigned and bool */
        kv->u64 = raw;
        kv->i64 = raw > INT64_MAX ? INT64_MAX : (int64_t)raw;
        kv->f64 = (double)raw;
        return;
    }
    kv->u64 = (uint64_t)kv->i64;
    kv->f64 = (double)kv->i64;
}

double gguf_arr_f64(const gguf_kv *kv, uint64_t i) {
    gguf_kv tmp = {0};
    size_t sz = gguf_vtype_size(kv->arr_type);
    widen(kv->arr_type, (const uint8_t *)kv->arr_data + i * sz, &tmp);
    return tmp.f64;
}

int64_t gguf_arr_i64(const gguf_kv *kv, uint64_t i) {
    gguf_kv tmp = {0};
    size_t sz = gguf_vtype_size(kv->arr_type);
    widen(kv->arr_type, (const uint8_t *)kv->arr_data + i * sz, &tmp);
    if (kv->arr_type == GGUF_F32 || kv->arr_type == GGUF_F64) return (int64_t)tmp.f64;
    return tmp.i64;
}

static int check_bool(cursor *c, const gguf_kv *kv, uint8_t b) {
    if (b > 1)
        return scarce_fail(c->err, "%s: key %s: bool value %u is not 0 or 1", c->path, kv->key,
                           b);
    return 0;
}

static int rd_array(cursor *c, gguf_kv *kv) {
    uint64_t n;
    if (rd_u32(c, &kv->arr_type, "array type") || rd_u64(c, &n, "array count")) return -1;
    if (kv->arr_type == GGUF_ARRAY)
        return scarce_fail(c->err, "%s: key %s: arrays of arrays are not supported", c->path,
                           kv->key);
    if (kv->arr_type == GGUF_STRING) {
        if (n > remaining(c) / 8) /* each string needs at least its u64 length */
            return scarce_fail(c->err, "%s: key %s: %llu strings cannot fit in %zu bytes",
                               c->path, kv->key, (unsigned long long)n, remaining(c));
        kv->arr_str = calloc(n ? n : 1, sizeof *kv->arr_str);
        kv->arr_str_len = calloc(n ? n : 1, sizeof *kv->arr_str_len);
        if (!kv->arr_str || !kv->arr_str_len)
            return scarce_fail(c->err, "%s: out of memory for key %s", c->path, kv->key);
        kv->arr_n = n; /* set first so that a partial array is freed */
        for (uint64_t i = 0; i < n; i++)
            if (rd_str(c, &kv->arr_str[i], &kv->arr_str_len[i], kv->key)) return -1;
        return 0;
    }
    size_t sz = gguf_vtype_size(kv->arr_type);
    if (!sz)
        return scarce_fail(c->err, "%s: key %s: unknown array element type %u", c->path,
                           kv->key, kv->arr_type);
    if (n > remaining(c) / sz)
        return scarce_fail(c->err, "%s: key %s: array of %llu %s needs more than the %zu bytes left",
                           c->path, kv->key, (unsigned long long)n,
                           gguf_vtype_name(kv->arr_type), remaining(c));
    kv->arr_n = n;
    kv->arr_data = c->p + c->pos;
    if (kv->arr_type == GGUF_BOOL)
        for (uint64_t i = 0; i < n; i++)
            if (check_bool(c, kv, c->p[c->pos + i])) return -1;
    c->pos += n * sz;
    return 0;
}

static int rd_value(cursor *c, gguf_kv *kv) {
    if (kv->type == GGUF_STRING) return rd_str(c, &kv->str, &kv->str_len, kv->key);
    if (kv->type == GGUF_ARRAY) return rd_array(c, kv);
    size_t sz = gguf_vtype_size(kv->type);
    if (!sz)
        return scarce_fail(c->err, "%s: key %s: unknown value type %u", c->path, kv->key,
                           kv->type);
    if (need(c, sz, kv->key)) return -1;
    if (kv->type == GGUF_BOOL && check_bool(c, kv, c->p[c->pos])) return -1;
    widen(kv->type, c->p + c->pos, kv);
    c->pos += sz;
    return 0;
}

/* ---- header, metadata, tensor infos ------------------------------------------------------ */

static int rd_header(cursor *c, gguf_file *f) {
    if (c->size < 4 || memcmp(c->p, "GGUF", 4) != 0)
        return scarce_fail(c->err, "%s: not a GGUF file (magic is not \"GGUF\")", c->path);
    c->pos = 4;
    if (rd_u32(c, &f->version, "version")) return -1;
    if (f->version == 1)
        return scarce_fail(c->err, "%s: GGUF version 1 is not supported (only 2 and 3); "
                           "convert it with a newer llama.cpp", c->path);
    if (f->version == 0x02000000u || f->version == 0x03000000u)
        return scarce_fail(c->err, "%s: big-endian GGUF is not supported", c->path);
    if (f->version != 2 && f->version != 3)
        return scarce_fail(c->err, "%s: unknown GGUF version %u (expected 2 or 3)", c->path,
                           f->version);
    if (rd_u64(c, &f->n_tensors, "tensor count") || rd_u64(c, &f->n_kv, "key count")) return -1;
    /* smallest encodings: kv = key len 8 + 1 byte + type 4 + 1 byte value; tensor info =
     * name len 8 + 1 + n_dims 4 + one ne 8 + type 4 + offset 8 */
    if (f->n_kv > remaining(c) / 14)
        return scarce_fail(c->err, "%s: %llu keys cannot fit in %zu bytes", c->path,
                           (unsigned long long)f->n_kv, remaining(c));
    if (f->n_tensors > remaining(c) / 33 || f->n_tensors > UINT32_MAX)
        return scarce_fail(c->err, "%s: %llu tensors cannot fit in %zu bytes", c->path,
                           (unsigned long long)f->n_tensors, remaining(c));
    return 0;
}

static int rd_kvs(cursor *c, gguf_file *f) {
    f->kv = calloc(f->n_kv ? f->n_kv : 1, sizeof *f->kv);
    if (!f->kv) return scarce_fail(c->err, "%s: out of memory", c->path);
    for (uint64_t i = 0; i < f->n_kv; i++) {
        gguf_kv *kv = &f->kv[i];
        uint64_t len;
        if (rd_str(c, &kv->key, &len, "key")) return -1;
        if (len == 0 || strlen(kv->key) != len)
            return scarce_fail(c->err, "%s: key %llu is empty or holds a NUL byte", c->path,
                               (unsigned long long)i);
        for (uint64_t j = 0; j < i; j++)
            if (!strcmp(f->kv[j].key, kv->key))
                return scarce_fail(c->err, "%s: duplicate key %s", c->path, kv->key);
        if (rd_u32(c, &kv->type, kv->key) || rd_value(c, kv)) return -1;
    }
    return 0;
}

static int alignment_of(cursor *c, gguf_file *f) {
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv *kv = gguf_find(f, "general.alignment");
    if (!kv) return 0;
    if (kv->type != GGUF_U32)
        return scarce_fail(c->err, "%s: general.alignment is a %s, expected u32", c->path,
                           gguf_vtype_name(kv->type));
    if (kv->u64 == 0 || (kv->u64 & (kv->u64 - 1)))
        return scarce_fail(c->err, "%s: general.alignment %llu is not a power of two", c->path,
                           (unsigned long long)kv->u64);
    f->alignment = kv->u64;
    return 0;
}

static int mul_ok(uint64_t a, uint64_t b, uint64_t *out) {
    if (a && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

/* Shape and type of one tensor: n_dims, ne[] and the byte size (overflow-checked). */
static int check_shape(cursor *c, const gguf_file *f, gguf_tensor *t) {
    const quant_type *qt = qtype(t->type);
    if (!qt)
        return scarce_fail(c->err, "%s: tensor %s: unknown type id %u (%s)", c->path, t->name,
                           t->type,
                           gguf_find(f, "scarce.types") ? "file declares scarce.types"
                                                        : "file does not declare scarce.types");
    if (t->ne[0] % qt->block)
        return scarce_fail(c->err, "%s: tensor %s: row length %lld is not a multiple of %s's block %d",
                           c->path, t->name, (long long)t->ne[0], qt->name, qt->block);
    uint64_t bytes = qtype_row_bytes(t->type, t->ne[0]);
    for (int d = 1; d < GGUF_MAX_DIMS; d++)
        if (!mul_ok(bytes, (uint64_t)t->ne[d], &bytes) || bytes > SIZE_MAX)
            return scarce_fail(c->err, "%s: tensor %s: size of shape overflows", c->path,
                               t->name);
    t->bytes = bytes;
    return 0;
}

static int rd_tensor_info(cursor *c, gguf_file *f, gguf_tensor *t) {
    uint64_t len;
    uint32_t n_dims;
    if (rd_str(c, &t->name, &len, "tensor name")) return -1;
    if (len == 0 || strlen(t->name) != len)
        return scarce_fail(c->err, "%s: a tensor name is empty or holds a NUL byte", c->path);
    if (rd_u32(c, &n_dims, t->name)) return -1;
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return scarce_fail(c->err, "%s: tensor %s: n_dims %u, expected 1..%d", c->path, t->name,
                           n_dims, GGUF_MAX_DIMS);
    t->n_dims = (int)n_dims;
    uint64_t elems = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) {
        uint64_t ne = 1;
        if (d < t->n_dims && rd_u64(c, &ne, t->name)) return -1;
        if (!mul_ok(elems, ne, &elems) || elems > INT64_MAX)
            return scarce_fail(c->err, "%s: tensor %s: element count overflows", c->path,
                               t->name);
        t->ne[d] = (int64_t)ne;
    }
    if (rd_u32(c, &t->type, t->name) || rd_u64(c, &t->offset, t->name)) return -1;
    return check_shape(c, f, t);
}

/* ---- tensor index ------------------------------------------------------------------------ */

/* qsort_r (glibc) comparators: ctx is the tensor array. */
static int by_name_cmp(const void *a, const void *b, void *ctx) {
    const gguf_tensor *t = ctx;
    return strcmp(t[*(const uint32_t *)a].name, t[*(const uint32_t *)b].name);
}

static int by_offset_cmp(const void *a, const void *b, void *ctx) {
    const gguf_tensor *t = ctx;
    uint64_t x = t[*(const uint32_t *)a].offset, y = t[*(const uint32_t *)b].offset;
    return x < y ? -1 : x > y;
}

/* Sorted index for lookups; also finds duplicate names and overlapping data. */
static int index_tensors(cursor *c, gguf_file_impl *fi) {
    gguf_file *f = &fi->pub;
    uint32_t n = (uint32_t)f->n_tensors;
    uint32_t *idx = malloc((n ? n : 1) * sizeof *idx);
    fi->by_name = malloc((n ? n : 1) * sizeof *fi->by_name);
    if (!idx || !fi->by_name) {
        free(idx);
        return scarce_fail(c->err, "%s: out of memory", c->path);
    }
    for (uint32_t i = 0; i < n; i++) idx[i] = fi->by_name[i] = i;
    qsort_r(fi->by_name, n, sizeof *idx, by_name_cmp, f->tensors);
    qsort_r(idx, n, sizeof *idx, by_offset_cmp, f->tensors);
    int rc = 0;
    for (uint32_t i = 1; i < n && !rc; i++) {
        const gguf_tensor *a = &f->tensors[fi->by_name[i - 1]], *b = &f->tensors[fi->by_name[i]];
        if (!strcmp(a->name, b->name))
            rc = scarce_fail(c->err, "%s: duplicate tensor name %s", c->path, a->name);
    }
    for (uint32_t i = 1; i < n && !rc; i++) {
        const gguf_tensor *a = &f->tensors[idx[i - 1]], *b = &f->tensors[idx[i]];
        if (a->offset + a->bytes > b->offset)
            rc = scarce_fail(c->err, "%s: tensors %s and %s overlap (offsets %llu and %llu)",
                             c->path, a->name, b->name, (unsigned long long)a->offset,
                             (unsigned long long)b->offset);
    }
    free(idx);
    return rc;
}

static int rd_tensors(cursor *c, gguf_file_impl *fi) {
    gguf_file *f = &fi->pub;
    f->tensors = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *f->tensors);
    if (!f->tensors) return scarce_fail(c->err, "%s: out of memory", c->path);
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (rd_tensor_info(c, f, &f->tensors[i])) return -1;
    /* the data section starts at the next multiple of the alignment */
    size_t pad = (f->alignment - c->pos % f->alignment) % f->alignment;
    f->data_offset = c->pos + pad;
    if (!f->n_tensors && f->data_offset > c->size) f->data_offset = c->size; /* vocab files */
    if (f->data_offset > c->size)
        return scarce_fail(c->err, "%s: truncated: data section would start at %zu, file is %zu bytes",
                           c->path, f->data_offset, c->size);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        if (t->offset % f->alignment)
            return scarce_fail(c->err, "%s: tensor %s: offset %llu is not a multiple of the alignment %zu",
                               c->path, t->name, (unsigned long long)t->offset, f->alignment);
        uint64_t room = c->size - f->data_offset;
        if (t->offset > room)
            return scarce_fail(c->err, "%s: tensor %s: data starts at %llu + %zu, file is %zu bytes",
                               c->path, t->name, (unsigned long long)t->offset,
                               f->data_offset, c->size);
        if (t->bytes > room - t->offset)
            return scarce_fail(c->err, "%s: tensor %s: data ends at %llu, file is %zu bytes",
                               c->path, t->name, /* may wrap only for absurd sizes */
                               (unsigned long long)(f->data_offset + t->offset + t->bytes),
                               c->size);
        t->data = c->p + f->data_offset + t->offset;
    }
    return index_tensors(c, fi);
}

/* ---- open / close / find ----------------------------------------------------------------- */

static int map_file(const char *path, gguf_file *f, scarce_error *err) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return scarce_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return scarce_fail(err, "%s: not a regular file", path);
    }
    if (st.st_size < 24) {
        close(fd);
        return scarce_fail(err, "%s: file of %lld bytes is too short for a GGUF header", path,
                           (long long)st.st_size);
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int mmap_errno = errno;
    close(fd);
    if (m == MAP_FAILED) return scarce_fail(err, "%s: mmap failed: %s", path, strerror(mmap_errno));
    f->map = m;
    f->size = (size_t)st.st_size;
    return 0;
}

gguf_file *gguf_open(const char *path, scarce_error *err) {
    gguf_file_impl *fi = calloc(1, sizeof *fi);
    if (!fi) {
        scarce_fail(err, "%s: out of memory", path);
        return NULL;
    }
    gguf_file *f = &fi->pub;
    f->path = strdup(path);
    if (!f->path || map_file(path, f, err)) {
        if (!f->path) scarce_fail(err, "%s: out of memory", path);
        gguf_close(f);
        return NULL;
    }
    /* each step allocates zeroed arrays, so gguf_close can free a partial parse */
    cursor c = {f->map, 0, f->size, path, err};
    int rc = rd_header(&c, f);
    if (!rc) rc = rd_kvs(&c, f);
    if (!rc) rc = alignment_of(&c, f);
    if (!rc) rc = rd_tensors(&c, fi);
    if (rc) {
        gguf_close(f);
        return NULL;
    }
    return f;
}

static void free_kv(gguf_kv *kv) {
    free(kv->key);
    free(kv->str);
    if (kv->arr_str)
        for (uint64_t i = 0; i < kv->arr_n; i++) free(kv->arr_str[i]);
    free(kv->arr_str);
    free(kv->arr_str_len);
}

void gguf_close(gguf_file *f) {
    if (!f) return;
    gguf_file_impl *fi = (gguf_file_impl *)f;
    if (f->kv)
        for (uint64_t i = 0; i < f->n_kv; i++) free_kv(&f->kv[i]);
    if (f->tensors)
        for (uint64_t i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    free(f->kv);
    free(f->tensors);
    free(fi->by_name);
    if (f->map) munmap((void *)f->map, f->size);
    free(f->path);
    free(fi);
}

const gguf_kv *gguf_find(const gguf_file *f, const char *key) {
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (f->kv[i].key && !strcmp(f->kv[i].key, key)) return &f->kv[i];
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name) {
    const uint32_t *idx = ((const gguf_file_impl *)f)->by_name;
    size_t lo = 0, hi = idx ? f->n_tensors : 0;
    while (lo < hi) { /* binary search in the name-sorted index */
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(f->tensors[idx[mid]].name, name);
        if (!cmp) return &f->tensors[idx[mid]];
        if (cmp < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* ---- typed getters ----------------------------------------------------------------------
 * What a key may hold is what llama.cpp's loader accepts (llama_model_loader::get_key and
 * get_arr, llama_vocab::load), with one widening: an integer key may be of any integer type
 * whose value fits, because the value is decoded at its declared width and no byte is
 * reinterpreted. A float key must be a float: the bits of 1e-5f declared u32 read as
 * 925353388. The error names the key, the expected and the found type. */

static int is_int_type(uint32_t t) {
    return t <= GGUF_I32 || t == GGUF_U64 || t == GGUF_I64;
}

/* "uint32", or "array of float32" for an array value */
static const char *type_desc(const gguf_kv *kv, char buf[40]) {
    if (kv->type != GGUF_ARRAY) return gguf_vtype_name(kv->type);
    snprintf(buf, 40, "array of %s", gguf_vtype_name(kv->arr_type));
    return buf;
}

static int wrong_type(const gguf_file *f, const gguf_kv *kv, const char *expected,
                      scarce_error *err) {
    char buf[40];
    return scarce_fail(err, "%s: %s: expected %s, found %s", f->path, kv->key, expected,
                       type_desc(kv, buf));
}

static const gguf_kv *find_or_fail(const gguf_file *f, const char *key, scarce_error *err) {
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv) scarce_fail(err, "%s: key %s not found", f->path, key);
    return kv;
}

int gguf_get_i64(const gguf_file *f, const char *key, int64_t *out, scarce_error *err) {
    const gguf_kv *kv = find_or_fail(f, key, err);
    if (!kv) return -1;
    if (!is_int_type(kv->type)) return wrong_type(f, kv, "an integer", err);
    if (kv->type == GGUF_U64 && kv->u64 > INT64_MAX)
        return scarce_fail(err, "%s: %s = %llu does not fit in int64", f->path, key,
                           (unsigned long long)kv->u64);
    *out = kv->i64;
    return 0;
}

int gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out, scarce_error *err) {
    int64_t v;
    if (gguf_get_i64(f, key, &v, err)) return -1;
    if (v < 0 || v > UINT32_MAX)
        return scarce_fail(err, "%s: %s = %lld is out of the uint32 range", f->path, key,
                           (long long)v);
    *out = (uint32_t)v;
    return 0;
}

int gguf_get_f32(const gguf_file *f, const char *key, float *out, scarce_error *err) {
    const gguf_kv *kv = find_or_fail(f, key, err);
    if (!kv) return -1;
    if (kv->type != GGUF_F32 && kv->type != GGUF_F64) return wrong_type(f, kv, "float32", err);
    *out = (float)kv->f64;
    return 0;
}

int gguf_get_bool(const gguf_file *f, const char *key, int *out, scarce_error *err) {
    const gguf_kv *kv = find_or_fail(f, key, err);
    if (!kv) return -1;
    if (kv->type != GGUF_BOOL) return wrong_type(f, kv, "bool", err);
    *out = (int)kv->i64;
    return 0;
}

int gguf_get_string(const gguf_file *f, const char *key, const char **out, scarce_error *err) {
    const gguf_kv *kv = find_or_fail(f, key, err);
    if (!kv) return -1;
    if (kv->type != GGUF_STRING) return wrong_type(f, kv, "string", err);
    if (strlen(kv->str) != kv->str_len)
        return scarce_fail(err, "%s: %s: string holds a NUL byte", f->path, key);
    *out = kv->str;
    return 0;
}

const char *gguf_get_str(const gguf_file *f, const char *key) {
    const gguf_kv *kv = gguf_find(f, key);
    return kv && kv->type == GGUF_STRING ? kv->str : NULL;
}

/* "float32 or int32" for a mask of element types */
static void mask_desc(unsigned mask, char *buf, size_t size) {
    size_t n = (size_t)snprintf(buf, size, "array of ");
    const char *sep = "";
    for (uint32_t t = 0; t < GGUF_NTYPES && n < size; t++)
        if (mask & GGUF_TYPE_BIT(t)) {
            n += (size_t)snprintf(buf + n, size - n, "%s%s", sep, gguf_vtype_name(t));
            sep = " or ";
        }
}

const gguf_kv *gguf_get_array(const gguf_file *f, const char *key, unsigned elem_types,
                              uint64_t n, scarce_error *err) {
    const gguf_kv *kv = find_or_fail(f, key, err);
    if (!kv) return NULL;
    char expected[160];
    mask_desc(elem_types, expected, sizeof expected);
    if (kv->type != GGUF_ARRAY || kv->arr_type >= GGUF_NTYPES ||
        !(elem_types & GGUF_TYPE_BIT(kv->arr_type))) {
        wrong_type(f, kv, expected, err);
        return NULL;
    }
    if (n != GGUF_ANY_LENGTH && kv->arr_n != n) {
        scarce_fail(err, "%s: %s: expected %llu elements, found %llu", f->path, key,
                    (unsigned long long)n, (unsigned long long)kv->arr_n);
        return NULL;
    }
    return kv;
}
