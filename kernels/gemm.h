/* gemm.h - batched matmul paths for large batches (prompt prefill).
 *
 * With B tokens each weight byte feeds B multiply-adds, so prefill is compute-bound and
 * the question is which instructions do the most multiply-adds per cycle:
 *  - GEMM_I8X8: rows repacked per batch into repack.h's 8 interleaved rows (for weights not
 *    packed at load), so one int8 maddubs serves 8 rows and the block scaling is one fma
 *    per 8 rows (the types whose kernels set gemm_i8x8: q4_0 / q8_0 on AVX2, and q5_0 /
 *    iq4_nl rewritten as Q8_0 per panel, type_kernels.to_q8_0).
 *  - GEMM_OWN: rows dequantized to f32 per batch (f32 rows read in place), then a
 *    register-tiled f32 micro-kernel (up to 8 rows x 2 groups of 16 tokens; the ISA
 *    table's gemm_tile: AVX-512 or AVX2 where the CPU has it, plain C otherwise).
 *  - GEMM_BLAS: the same dequantized panels through OpenBLAS sgemm (BLAS=1 builds).
 *  - GEMM_X16 (AVX-512, B >= 16): 16 tokens in the lanes of one register, each weight dword
 *    broadcast into one vpdpbusd (act_x16.h); matmul.c takes it from the ISA table's
 *    packed_gemm / row_gemm, and GEMM_I8X8's panels take it when the runner has one.
 * Each weight row is converted once per batch, so the conversion is spread over B tokens.
 * gemm_choose() says which path matmul() takes for a type and B (measured; see there). */
#ifndef SCARCE_GEMM_H
#define SCARCE_GEMM_H

#include <stddef.h>
#include <stdint.h>

struct quant_type;
struct isa_kernels; /* kernels/cpu.h: the kernel table of one ISA */

typedef enum {
    GEMM_TILES = 0, /* quantized dot products (vec_dot_tile / vec_dot), no f32 GEMM */
    GEMM_OWN,       /* dequantized panel x our micro-kernel */
    GEMM_BLAS,      /* dequantized panel x OpenBLAS sgemm (BLAS=1 builds only) */
    GEMM_I8X8,      /* q4_0 / q8_0 (q5_0 / iq4_nl as q8_0) panel repacked 8 rows
                       interleaved x q8_0 activations
                       (AVX2) */
    GEMM_X16,       /* packed q4_0 / q4_1 / q8_0 x 16 tokens a register (act_x16.h) */
} gemm_method;

/* Tokens per group of packed activations (the micro-kernel's width). */
#define GEMM_NT 16
/* Weight rows per micro-kernel call at most. */
#define GEMM_NR 8
/* Groups of GEMM_NT tokens per micro-kernel call at most. */
#define GEMM_NG 2

/* Path for B tokens of weight type `type` with rows of `cols` elements on the kernels of
 * isa. forced: -1 for the measured choice, or the method a kernel configuration forces
 * (kernels/kconfig.h; i8x8 where the type or ISA has none runs the tiles). */
gemm_method gemm_choose(const struct isa_kernels *isa, uint32_t type, int64_t cols, int64_t B,
                        int forced);
/* 1 when this build links OpenBLAS. */
int gemm_have_blas(void);
const char *gemm_method_name(gemm_method m);

/* Scratch of one thread for gemm_rows / gemm_i8x8_rows, allocated once (matmul.c: per
 * thread of a kernel context, at model load) so that no batch allocates. */
typedef struct {
    void *panel;       /* dequantized (own, blas) or repacked (i8x8) rows; 64-byte aligned */
    size_t panel_bytes;
    float *acc;        /* GEMM_OWN's accumulators [groups][panel rows][GEMM_NT]; aligned */
    size_t acc_bytes;
} gemm_scratch;
/* Bytes a gemm_scratch needs for every matrix of at most max_cols columns and
 * max_row_bytes bytes per row, and batches of at most max_B tokens. */
void gemm_scratch_size(int64_t max_cols, size_t max_row_bytes, int64_t max_B,
                       size_t *panel_bytes, size_t *acc_bytes);
/* Bytes of gemm_pack_x's output for B tokens of cols. */
size_t gemm_pack_x_bytes(int64_t B, int64_t cols);

/* X[B][cols] transposed into groups of GEMM_NT tokens, xt[g][k][GEMM_NT], tokens past B
 * zero, into xt (gemm_pack_x_bytes, 64-byte aligned); what GEMM_OWN reads. */
void gemm_pack_x(const float *X, int64_t B, int64_t cols, float *xt);
/* The activations method m reads, from the calling (single) thread before gemm_rows:
 * gemm_pack_x(X) into xt for GEMM_OWN, X for GEMM_BLAS (and OpenBLAS is set to one
 * thread: it runs inside ours). NULL when xt_bytes is too small for B x cols. */
const float *gemm_prepare(gemm_method m, const float *X, int64_t B, int64_t cols, float *xt,
                          size_t xt_bytes);

/* Y[b * ldy + r] = dot(row r of W, X[b]) for r in [r0, r1), b < B. W has `rows` rows,
 * row_bytes apart, of type t (rows past r1 may be prefetched, never used); x is what
 * gemm_prepare(m, X, ...) returned. Called from several threads at once on disjoint row
 * ranges, each with its own scratch. Returns -1 when the scratch is too small for cols
 * and B. */
int gemm_rows(gemm_method m, const struct quant_type *t, const char *w, size_t row_bytes,
              int64_t r0, int64_t r1, int64_t rows, int64_t cols, const float *x, int64_t B,
              float *Y, size_t ldy, const struct isa_kernels *isa, const gemm_scratch *scratch);

/* GEMM_I8X8: Y[b * ldy + r] for r in [r0, r1), b < B, from q4_0 or q8_0 rows (type) and
 * the q8_0 activations act (B rows of act_row bytes, as matmul converts them). act_x16:
 * NULL, or the same activations in act_x16.h's layout, which the panels then go through
 * (the packed layout's packed_gemm, gemm_i8x8_x16). -1: the scratch is too small for
 * row_bytes, or no kernel for the type. */
int gemm_i8x8_rows(uint32_t type, const char *w, size_t row_bytes, int64_t r0, int64_t r1,
                   int64_t cols, const void *act, size_t act_row, const void *act_x16, int64_t B,
                   float *Y, size_t ldy, const struct isa_kernels *isa,
                   const gemm_scratch *scratch);
/* 1 when GEMM_I8X8 panels of `type` have a token-lane kernel on isa (act_x16.h). */
int gemm_i8x8_x16(const struct isa_kernels *isa, uint32_t type);

/* The micro-kernel: c[g * ldc + r * GEMM_NT + t] (+)= sum_k w[r * ldw + k] *
 * xt[g * ldx + k * GEMM_NT + t] for groups g < ng <= GEMM_NG, rows r < nr <= GEMM_NR,
 * tokens t < GEMM_NT; accumulate = 0 overwrites c. */
typedef void (*gemm_tile_fn)(int64_t kc, const float *xt, size_t ldx, const float *w, size_t ldw,
                             float *c, size_t ldc, int nr, int ng, int accumulate);
void gemm_tile_f32_ref(int64_t kc, const float *xt, size_t ldx, const float *w, size_t ldw, float *c,
                       size_t ldc, int nr, int ng, int accumulate);
/* A dequantizer (quant_type.dequantize's signature); the fastest one of each type on each
 * ISA fills the f32 panels (type_kernels.dequantize, kernels/cpu.h). */
typedef void (*dequantize_fn)(const void *src, float *dst, int64_t n);

#endif
