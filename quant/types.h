/* types.h - the type table: one row per number format (see ../shared/DESIGN.md).
 *
 * Adding a format = one file in quant/ with its scalar quantize/dequantize, one row in
 * types.c, and its kernels in kernels/. Ids of ggml types are ggml's; ours start at 200. */
#ifndef SCARCE_TYPES_H
#define SCARCE_TYPES_H

#include <stddef.h>
#include <stdint.h>

enum {
    QT_F32 = 0,
    QT_F16 = 1,
    QT_Q4_0 = 2,
    QT_Q4_1 = 3,
    QT_Q5_0 = 6,
    QT_Q5_1 = 7,
    QT_Q8_0 = 8,
    QT_Q8_1 = 9,
    QT_Q2_K = 10,
    QT_Q3_K = 11,
    QT_Q4_K = 12,
    QT_Q5_K = 13,
    QT_Q6_K = 14,
    QT_Q8_K = 15,
    QT_IQ4_NL = 20,
    QT_BF16 = 30,
    QT_FP8_E4M3 = 200, /* scarce: 32 x E4M3 + fp16 scale */
    QT_FP8_E5M2 = 201, /* scarce: 32 x E5M2 + fp16 scale */
    QT_Q2_0 = 202,     /* scarce: 2-bit, block 32, for rows that are not multiples of 256 */
    QT_MAX_ID = 256    /* ids are < QT_MAX_ID */
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
    int is_scarce;      /* 1 for our own types (need scarce.types metadata) */
    /* scalar reference (quant/): the spec */
    void (*dequantize)(const void *src, float *dst, int64_t n);
    /* error-minimising quantizer; importance (n weights, may be NULL) weights the error.
     * Input must be finite (callers check). NULL for types that are only read. */
    void (*quantize)(const float *src, void *dst, int64_t n, const float *importance);
    uint32_t dot_type;       /* activation format of vec_dot: QT_F32, QT_Q8_0, QT_Q8_K ... */
    /* filled by kernels_init() for this CPU (kernels/cpu.c) */
    vec_dot_fn vec_dot;
    from_float_fn from_float; /* fast activation conversion when this type is a dot_type */
    vec_dot_tile_fn vec_dot_tile; /* optional, same results as vec_dot up to float order */
} quant_type;

/* NULL when the id is not known. */
const quant_type *qtype(uint32_t id);
/* By name, case-insensitive ("q4_0", "Q4_K", "fp8_e4m3"); NULL when unknown. */
const quant_type *qtype_by_name(const char *name);
/* Writable row for kernels_init() only. */
quant_type *qtype_mut(uint32_t id);
/* Bytes of a row of n elements; 0 when n is not a multiple of the block or the id unknown. */
size_t qtype_row_bytes(uint32_t id, int64_t n);
/* Bits per weight of a type (block_bytes * 8 / block). */
double qtype_bpw(uint32_t id);
/* Index of the first NaN or infinity in x[0..n), or -1 when all are finite. Quantizers
 * assume finite input: callers run this first and refuse the tensor otherwise. */
int quant_check_finite(const float *x, int64_t n);
/* Iterates over the known types: i = 0, 1, ... until NULL. */
const quant_type *qtype_at(int i);

#endif
