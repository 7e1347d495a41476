/* types.h - the type table: one row per number format (see ../shared/DESIGN.md), generated
 * from the list in type_list.h (which also says what adding a format touches). Ids of ggml
 * types are ggml's; ours start at 200. The kernels that compute with a format live in
 * kernels/, per ISA (kernels/cpu.h: kernels_for). */
#ifndef SCARCE_TYPES_H
#define SCARCE_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* QT_F32 = 0, QT_Q4_0 = 2, ...: the GGUF/ggml type ids */
enum {
#define QTYPE(NAME, fmt, id, ...) QT_##NAME = id,
#include "type_list.h"
    QT_MAX_ID = 256 /* ids are < QT_MAX_ID */
};

/* QT_INDEX_F32 = 0, ...: a format's position in the table (qtype_at), QT_COUNT formats */
enum {
#define QTYPE(NAME, ...) QT_INDEX_##NAME,
#include "type_list.h"
    QT_COUNT
};

/* What a format is for (quant_type.kind; the kind column of type_list.h). */
enum {
    QT_KIND_W = 1,  /* weights: matrices can be stored in it */
    QT_KIND_A = 2,  /* activations: the dot format of some weight format */
    QT_KIND_WA = 3, /* both */
};

/* s = dot(w, a) over n elements: w is one row of weights in the row's type, a the
 * activation vector already converted to that type's dot_type. */
typedef void (*vec_dot_fn)(int64_t n, float *s, const void *w, const void *a);
/* Tile of dot products: s[j * s_stride + i] = dot(row i of w, activation row j) for
 * i < nrows, j < nact; weight rows are w_stride bytes apart, activation rows a_stride.
 * Optional (NULL: vec_dot per pair): several rows share each activation load and several
 * activations each weight unpack. */
typedef void (*vec_dot_tile_fn)(int64_t n, float *s, size_t s_stride, const void *w,
                                size_t w_stride, int nrows, const void *a, size_t a_stride,
                                int nact);
/* Converts n floats to this type (used for activations: fast, no error search). */
typedef void (*from_float_fn)(const float *x, void *y, int64_t n);

typedef struct quant_type {
    const char *name;   /* "q4_0" */
    uint32_t id;        /* GGUF/ggml type id */
    int block;          /* elements per block (1 for f32/f16/bf16) */
    size_t block_bytes; /* bytes per block */
    int file_type;      /* general.file_type of a file of this type, -1 when none */
    int is_scarce;      /* 1 for our own types (need scarce.types metadata) */
    unsigned kind;      /* QT_KIND_W / QT_KIND_A bits */
    /* scalar reference (quant/): the spec */
    void (*dequantize)(const void *src, float *dst, int64_t n);
    /* error-minimising quantizer; importance (n weights, may be NULL) weights the error.
     * Input must be finite (callers check). */
    void (*quantize)(const float *src, void *dst, int64_t n, const float *importance);
    uint32_t dot_type; /* activation format of the dot products: QT_F32, QT_Q8_0, QT_Q8_K */
} quant_type;

/* NULL when the id is not known. */
const quant_type *qtype(uint32_t id);
/* Position of the id in the table (0 .. QT_COUNT-1), -1 when not known. */
int qtype_index(uint32_t id);
/* By name, case-insensitive ("q4_0", "Q4_K", "fp8_e4m3"); NULL when unknown. */
const quant_type *qtype_by_name(const char *name);
/* Bytes of a row of n elements; 0 when n is not a multiple of the block or the id unknown. */
size_t qtype_row_bytes(uint32_t id, int64_t n);
/* Bits per weight of a type (block_bytes * 8 / block). */
double qtype_bpw(uint32_t id);
/* Q8_K's scale source (ggml's): the signed value of largest magnitude among QK_K floats,
 * the first on ties; 0 for an all-zero block. SIMD Q8_K quantizers call it too, so every
 * ISA picks the same element. */
float q8_k_signed_max(const float *x);
/* Index of the first NaN or infinity in x[0..n), or -1 when all are finite. Quantizers
 * assume finite input: callers run this first and refuse the tensor otherwise. */
int quant_check_finite(const float *x, int64_t n);
/* Iterates over the known types: i = 0, 1, ... until NULL (i = the type's index). */
const quant_type *qtype_at(int i);

#endif
