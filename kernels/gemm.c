/* gemm.c - batched matmul paths for large batches (see gemm.h): panels, packing, BLAS.
 *
 * GEMM_OWN, per thread, for a panel of rows (OWN_PANEL_BYTES of floats, L2):
 *   dequantize each row once, sequentially (the prefetchers follow one row at a time),
 *   chunk-major (wbuf[chunk of KC columns][row][KC]); then per chunk and group of 16
 *   tokens (16 KiB of packed activations: L1) run the 6 x 16 micro-kernel over the
 *   panel, accumulating in c[group][row][token], written out transposed into Y at the end.
 * GEMM_BLAS, per thread: dequantize BLAS_PANEL_BYTES of whole rows, one cblas_sgemm
 *   Y[B x P] = X[B x cols] * panel^T with ldc = rows. OpenBLAS runs single-threaded inside
 *   our OpenMP threads (its own threads would fight OpenMP's for the same cores).
 * GEMM_I8X8 (q4_0, q8_0 on AVX2), per thread, for weights not packed at load: repack
 *   I8X8_PANEL_BYTES of rows into repack.h's 8-row interleaved layout and run its kernel
 *   (8 rows x 4 tokens per weight unpack) on the q8_0 activations matmul already made. */
#include "gemm.h"
#include "repack.h"

#include <stdlib.h>
#include <string.h>

#include "../quant/blocks.h"
#include "../quant/types.h"
#include "cpu.h"

#ifdef SCARCE_BLAS
#include <cblas.h>
#endif

/* Columns per chunk of GEMM_OWN: a multiple of every block size (1, 32, 256). */
#define KC 256
/* Dequantized bytes per panel of GEMM_OWN, and a cap on its rows (a multiple of GEMM_NR). */
#define OWN_PANEL_BYTES (256 * 1024)
#define OWN_PANEL_MAX 96
/* Dequantized bytes per panel of GEMM_BLAS (about half of a 512 KiB L2). */
#define BLAS_PANEL_BYTES (256 * 1024)

/* Cache-line aligned buffer (C11 aligned_alloc wants the size a multiple of it). */
static void *alloc64(size_t bytes) {
    return aligned_alloc(64, (bytes + 63) / 64 * 64);
}

const char *gemm_method_name(gemm_method m) {
    static const char *names[] = {"tiles", "own", "blas", "i8x8"};
    return m >= GEMM_TILES && m <= GEMM_I8X8 ? names[m] : "?";
}

int gemm_have_blas(void) {
#ifdef SCARCE_BLAS
    return 1;
#else
    return 0;
#endif
}

/* $SCARCE_GEMM, or -1 for the measured default. */
static int forced_method(void) {
    const char *e = getenv("SCARCE_GEMM");
    if (!e || !*e || strcmp(e, "auto") == 0) return -1;
    if (strcmp(e, "tiles") == 0) return GEMM_TILES;
    if (strcmp(e, "own") == 0) return GEMM_OWN;
    if (strcmp(e, "blas") == 0) return gemm_have_blas() ? GEMM_BLAS : GEMM_OWN;
    if (strcmp(e, "i8x8") == 0) return GEMM_I8X8;
    return -1;
}

/* The kernels of a type on the default ISA, until each model carries its kernel
 * configuration. */
static const type_kernels *kernels_of_type(uint32_t type) {
    return kernels_for(kernels_isa(), type);
}

gemm_method gemm_choose(uint32_t type, int64_t cols, int64_t B) {
    if (B < 2) return GEMM_TILES;
    const quant_type *t = qtype(type);
    const type_kernels *k = kernels_of_type(type);
    if (!t || !k || !k->dequantize || KC % t->block != 0) return GEMM_TILES;
    const int i8x8 = k->gemm_i8x8;
    int forced = forced_method();
    if (forced == GEMM_I8X8 && !i8x8) forced = GEMM_TILES;
    if (forced >= 0) return (gemm_method)forced;
    /* Measured (SCARCE_KBENCH=1 make test T=gemm_bench, Zen1, 1 thread, loaded machine,
     * 16384 x 2048, GFLOP/s at B = 2 / 8 / 64):
     *   q4_0 tiles 16 / 18 / 19    i8x8 17 / 33 / 44    own 2 / 8 / 18   blas 4 / 12 / 16
     *   q8_0 tiles 16 / 20 / 21    i8x8 14 / 24 / 30    own 2 / 8 / 18   blas 5 / 14 / 17
     *   f16  tiles 8.5 / 8.2 / 8.9 own 1.5 / 5.8 / 12.8 blas 3.5 / 10.5 / 11.1
     *   f32  tiles 10 / 16 / 17.5  own 2 / 7.6 / 18.2   (k-quants: tiles 16-24, f32 <= 8)
     * f32 FMAs are no faster than int8 maddubs on this core and dequantizing costs on
     * top, so the f32 GEMMs only win for float weights; OpenBLAS never beats ours at the
     * B where the f32 path is taken (B < 16 pads ours to 16 tokens, hence its low
     * figures there). B < 16 (speculative verification, B = 2..9) stays on the tiles
     * even where i8x8 is faster (q4_0 B = 8: 33 vs 18): the tiles sum in the same order
     * as matvec, so a verified token's logits are bit-identical to decoding it alone and
     * greedy speculative output equals plain greedy output exactly. */
    if (i8x8 && B >= 16) return GEMM_I8X8;
    if (t->dot_type == QT_F32 && B >= 16) return GEMM_OWN;
    return GEMM_TILES;
}

float *gemm_pack_x(const float *X, int64_t B, int64_t cols) {
    int64_t groups = (B + GEMM_NT - 1) / GEMM_NT;
    float *xt = alloc64((size_t)groups * cols * GEMM_NT * sizeof(float));
    if (!xt) return NULL;
    for (int64_t g = 0; g < groups; g++) {
        float *dst = xt + g * cols * GEMM_NT;
        for (int t = 0; t < GEMM_NT; t++) {
            int64_t b = g * GEMM_NT + t;
            if (b >= B) {
                for (int64_t k = 0; k < cols; k++) dst[k * GEMM_NT + t] = 0;
                continue;
            }
            for (int64_t k = 0; k < cols; k++) dst[k * GEMM_NT + t] = X[b * cols + k];
        }
    }
    return xt;
}

const float *gemm_prepare(gemm_method m, const float *X, int64_t B, int64_t cols, float **owned) {
    *owned = NULL;
#ifdef SCARCE_BLAS
    if (m == GEMM_BLAS) {
        /* OpenBLAS's thread count is its own global; setting it is idempotent, and this
         * runs on the one thread that calls matmul, before our threads call sgemm. */
        static int single_threaded;
        if (!single_threaded) openblas_set_num_threads(1), single_threaded = 1;
        return X;
    }
#endif
    return *owned = gemm_pack_x(X, B, cols);
}

void gemm_tile_f32_ref(int64_t kc, const float *xt, const float *w, size_t ldw, float *c, int nr,
                       int accumulate) {
    for (int r = 0; r < nr; r++) {
        float acc[GEMM_NT];
        for (int t = 0; t < GEMM_NT; t++) acc[t] = accumulate ? c[r * GEMM_NT + t] : 0;
        for (int64_t k = 0; k < kc; k++)
            for (int t = 0; t < GEMM_NT; t++) acc[t] += w[r * ldw + k] * xt[k * GEMM_NT + t];
        memcpy(c + r * GEMM_NT, acc, sizeof acc);
    }
}

/* Rows per panel of GEMM_OWN for rows of `cols` floats: OWN_PANEL_BYTES of them, a
 * multiple of GEMM_NR, at least GEMM_NR. */
static int own_panel_rows(int64_t cols) {
    int64_t p = OWN_PANEL_BYTES / ((size_t)cols * sizeof(float)) / GEMM_NR * GEMM_NR;
    return p < GEMM_NR ? GEMM_NR : p > OWN_PANEL_MAX ? OWN_PANEL_MAX : (int)p;
}

/* Rows [p0, p0 + np) of W against all groups; c is [groups][panel][GEMM_NT]. The panel is
 * dequantized row by row first (one sequential read of each row: the prefetchers follow
 * it, where chunk-by-chunk reads of many rows would wait on DRAM), chunk-major:
 * wbuf[chunk][row][KC], so the micro-kernel reads each chunk of rows contiguously. f32
 * rows need no conversion: the kernel reads them in place (wbuf NULL, ldw = the row). */
static void own_panel(const quant_type *t, dequantize_fn dequantize, const char *w,
                      size_t row_bytes, int64_t p0, int np, int panel, int64_t cols,
                      const float *xt, int64_t groups, float *wbuf, float *c, gemm_tile_fn kernel) {
    for (int r = 0; wbuf && r < np; r++) {
        const char *src = w + (p0 + r) * row_bytes;
        for (int64_t k0 = 0; k0 < cols; k0 += KC) { /* KC is a multiple of the block */
            int64_t kc = cols - k0 < KC ? cols - k0 : KC;
            dequantize(src + k0 / t->block * t->block_bytes, wbuf + k0 * np + r * kc, kc);
        }
    }
    for (int64_t k0 = 0; k0 < cols; k0 += KC) {
        int64_t kc = cols - k0 < KC ? cols - k0 : KC;
        const float *wk = wbuf ? wbuf + k0 * np : (const float *)(w + p0 * row_bytes) + k0;
        size_t ldw = wbuf ? (size_t)kc : row_bytes / sizeof(float);
        for (int64_t g = 0; g < groups; g++) {
            const float *xg = xt + (g * cols + k0) * GEMM_NT;
            float *cg = c + g * panel * GEMM_NT;
            for (int r = 0; r < np; r += GEMM_NR)
                kernel(kc, xg, wk + r * ldw, ldw, cg + r * GEMM_NT,
                       np - r < GEMM_NR ? np - r : GEMM_NR, k0 > 0);
        }
    }
}

static int own_rows(const quant_type *t, const char *w, size_t row_bytes, int64_t r0, int64_t r1,
                    int64_t cols, const float *xt, int64_t B, float *Y, size_t ldy) {
    int64_t groups = (B + GEMM_NT - 1) / GEMM_NT;
    int panel = own_panel_rows(cols), in_place = t->id == QT_F32;
    float *wbuf = in_place ? NULL : alloc64((size_t)panel * cols * sizeof(float));
    float *c = alloc64((size_t)groups * panel * GEMM_NT * sizeof(float));
    int ok = (wbuf || in_place) && c;
    dequantize_fn dequantize = kernels_of_type(t->id)->dequantize;
    gemm_tile_fn kernel = kernels_of(kernels_isa())->gemm_tile;
    for (int64_t p0 = r0; ok && p0 < r1; p0 += panel) {
        int np = r1 - p0 < panel ? (int)(r1 - p0) : panel;
        own_panel(t, dequantize, w, row_bytes, p0, np, panel, cols, xt, groups, wbuf, c, kernel);
        for (int64_t b = 0; b < B; b++) {
            const float *cb = c + (b / GEMM_NT) * panel * GEMM_NT + b % GEMM_NT;
            float *y = Y + b * ldy + p0;
            for (int r = 0; r < np; r++) y[r] = cb[r * GEMM_NT];
        }
    }
    free(wbuf), free(c);
    return ok ? 0 : -1;
}

#ifdef SCARCE_BLAS
static int blas_rows(const quant_type *t, const char *w, size_t row_bytes, int64_t r0, int64_t r1,
                     int64_t cols, const float *X, int64_t B, float *Y, size_t ldy) {
    int64_t panel = BLAS_PANEL_BYTES / ((size_t)cols * sizeof(float));
    if (panel < 8) panel = 8;
    float *wbuf = alloc64((size_t)panel * cols * sizeof(float));
    if (!wbuf) return -1;
    dequantize_fn dequantize = kernels_of_type(t->id)->dequantize;
    for (int64_t p0 = r0; p0 < r1; p0 += panel) {
        int64_t np = r1 - p0 < panel ? r1 - p0 : panel;
        for (int64_t r = 0; r < np; r++)
            dequantize(w + (p0 + r) * row_bytes, wbuf + r * cols, cols);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)np, (int)cols, 1.0f, X,
                    (int)cols, wbuf, (int)cols, 0.0f, Y + p0, (int)ldy);
    }
    free(wbuf);
    return 0;
}
#endif

int gemm_rows(gemm_method m, const quant_type *t, const char *w, size_t row_bytes, int64_t r0,
              int64_t r1, int64_t cols, const float *x, int64_t B, float *Y, size_t ldy) {
#ifdef SCARCE_BLAS
    if (m == GEMM_BLAS) return blas_rows(t, w, row_bytes, r0, r1, cols, x, B, Y, ldy);
#endif
    return own_rows(t, w, row_bytes, r0, r1, cols, x, B, Y, ldy);
}

/* ---- GEMM_I8X8 ---- */

/* Packed bytes per panel of GEMM_I8X8 (half of L2: the panel is reread per 4 tokens). */
#define I8X8_PANEL_BYTES (128 * 1024)

/* The load-time layout of repack.h, made per batch for weights that were not packed at
 * load (SCARCE_REPACK=0): panels of rows into the 8-row interleaved layout, then repack.h's
 * kernel; the last rows % 8 go through the type's own tile. */
int gemm_i8x8_rows(uint32_t type, const char *w, size_t row_bytes, int64_t r0, int64_t r1,
                   int64_t cols, const void *act, size_t act_row, int64_t B, float *Y, size_t ldy) {
    const type_kernels *k = kernels_of_type(type);
    if (!k || !k->packed_tile || !k->packed_layout) return -1;
    int64_t panel = (int64_t)(I8X8_PANEL_BYTES / row_bytes) / REPACK_ROWS * REPACK_ROWS;
    if (panel < REPACK_ROWS) panel = REPACK_ROWS;
    char *buf = alloc64((size_t)panel * row_bytes);
    if (!buf) return -1;
    for (int64_t p0 = r0; p0 < r1; p0 += panel) {
        int64_t np = r1 - p0 < panel ? r1 - p0 : panel, full = np / REPACK_ROWS * REPACK_ROWS;
        if (full) {
            repack_rows(k->packed_layout, full, cols, w + p0 * row_bytes, buf);
            k->packed_tile(cols, Y + p0, ldy, buf, row_bytes, (int)full, act, act_row, (int)B);
        }
        for (int64_t r = p0 + full; r < p0 + np; r++)
            for (int64_t b = 0; b < B; b++)
                k->vec_dot(cols, &Y[b * ldy + r], w + r * row_bytes,
                           (const char *)act + b * act_row);
    }
    free(buf);
    return 0;
}
