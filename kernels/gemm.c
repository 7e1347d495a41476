/* gemm.c - batched matmul paths for large batches (see gemm.h): panels, packing, BLAS.
 *
 * GEMM_OWN, per thread, for a panel of rows (OWN_AHEAD_BYTES of the file, at most 64 rows):
 *   per chunk of KC columns, dequantize the panel's rows (from L2: the panel's bytes were
 *   prefetched while the previous panel computed), then per two groups of 16 tokens
 *   (2 x 16 KiB of packed activations: L1) run the 8-row micro-kernel over the panel,
 *   accumulating in c[group][row][token], written out transposed into Y at the end.
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
#define KC_SMALL 128
/* File bytes per panel of GEMM_OWN (prefetched into L2 while the panel before it computes),
 * and a cap on its rows (a multiple of GEMM_NR). */
#define OWN_AHEAD_BYTES (256 * 1024)
#define OWN_PANEL_MAX 64
/* Dequantized bytes per panel of GEMM_BLAS (about half of a 512 KiB L2). */
#define BLAS_PANEL_BYTES (256 * 1024)

const char *gemm_method_name(gemm_method m) {
    static const char *names[] = {"tiles", "own", "blas", "i8x8", "x16"};
    return m >= GEMM_TILES && m <= GEMM_X16 ? names[m] : "?";
}

int gemm_have_blas(void) {
#ifdef SCARCE_BLAS
    return 1;
#else
    return 0;
#endif
}

/* The kernels of a type on one ISA's table. */
static const type_kernels *of_type(const isa_kernels *isa, uint32_t type) {
    const int i = qtype_index(type);
    return isa && i >= 0 ? &isa->type[i] : NULL;
}

gemm_method gemm_choose(const isa_kernels *isa, uint32_t type, int64_t cols, int64_t B,
                        int forced) {
    if (B < 2) return GEMM_TILES;
    const quant_type *t = qtype(type);
    const type_kernels *k = of_type(isa, type);
    if (!t || !k || !k->dequantize || KC % t->block != 0) return GEMM_TILES;
    const int i8x8 = k->gemm_i8x8;
    if (forced == GEMM_BLAS && !gemm_have_blas()) forced = GEMM_OWN;
    if (forced == GEMM_I8X8 && !i8x8) forced = GEMM_TILES;
    if (forced == GEMM_X16) forced = -1; /* packed matrices only (matmul.c make_job) */
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
    /* Block-32 types with neither a tile nor a packed kernel (mxfp4, ...) would take one
     * row dot per row and token; their panels dequantize cheaply, so the f32 GEMM wins. Its
     * activations stay f32 (not rounded to Q8_0 as in decode). Measured with q5_0 before it
     * had its tile and to_q8_0: Gemma 3 270M Q4_K_M (81 of 127 matrices q5_0), pp128 tok/s
     * at 1 / 2 threads, 2-core AMD EPYC VM (AVX2), alternating runs: row dots 89-98 /
     * 120-146, this path 146-155 / 234-277. q5_0 and iq4_nl now take GEMM_I8X8 (rewritten
     * as Q8_0, exact), q5_1 its int8 tile. */
    if ((t->block == 32 || type == QT_IQ4_XS) && !k->vec_dot_tile && !k->packed_tile && B >= 16)
        return GEMM_OWN;
    return GEMM_TILES;
}

size_t gemm_pack_x_bytes(int64_t B, int64_t cols) {
    return (size_t)((B + GEMM_NT - 1) / GEMM_NT) * (size_t)cols * GEMM_NT * sizeof(float);
}

void gemm_pack_x(const float *X, int64_t B, int64_t cols, float *xt) {
    int64_t groups = (B + GEMM_NT - 1) / GEMM_NT;
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
}

const float *gemm_prepare(gemm_method m, const float *X, int64_t B, int64_t cols, float *xt,
                          size_t xt_bytes) {
#ifdef SCARCE_BLAS
    if (m == GEMM_BLAS) {
        /* OpenBLAS's thread count is its own global; setting it is idempotent, and this
         * runs on the one thread that calls matmul, before our threads call sgemm. */
        static int single_threaded;
        if (!single_threaded) openblas_set_num_threads(1), single_threaded = 1;
        return X;
    }
#endif
    if (gemm_pack_x_bytes(B, cols) > xt_bytes) return NULL;
    gemm_pack_x(X, B, cols, xt);
    return xt;
}

void gemm_tile_f32_ref(int64_t kc, const float *xt, size_t ldx, const float *w, size_t ldw, float *c,
                       size_t ldc, int nr, int ng, int accumulate) {
    for (int g = 0; g < ng; g++)
        for (int r = 0; r < nr; r++) {
            float acc[GEMM_NT], *cr = c + g * ldc + r * GEMM_NT;
            for (int t = 0; t < GEMM_NT; t++) acc[t] = accumulate ? cr[t] : 0;
            for (int64_t k = 0; k < kc; k++)
                for (int t = 0; t < GEMM_NT; t++)
                    acc[t] += w[r * ldw + k] * xt[g * ldx + k * GEMM_NT + t];
            memcpy(cr, acc, sizeof acc);
        }
}

/* Columns per chunk of GEMM_OWN for type t: KC_SMALL (two groups' activations, 16 KiB,
 * and a tile's rows, 4 KiB, stay in L1 while the tile runs) unless t's block is longer. */
static int64_t own_chunk(const quant_type *t) {
    return t->block > KC_SMALL ? KC : KC_SMALL;
}

/* Rows per panel of GEMM_OWN for rows of row_bytes in the file: OWN_AHEAD_BYTES of them
 * (the look-ahead, see own_panel), a multiple of GEMM_NR in [GEMM_NR, OWN_PANEL_MAX]. */
static int own_panel_rows(size_t row_bytes) {
    int64_t p = (int64_t)(OWN_AHEAD_BYTES / row_bytes) / GEMM_NR * GEMM_NR;
    return p < GEMM_NR ? GEMM_NR : p > OWN_PANEL_MAX ? OWN_PANEL_MAX : (int)p;
}

#ifdef SCARCE_BLAS
/* Rows per panel of GEMM_BLAS: BLAS_PANEL_BYTES of floats, at least 8. */
static int64_t blas_panel_rows(int64_t cols) {
    int64_t panel = BLAS_PANEL_BYTES / ((size_t)cols * sizeof(float));
    return panel < 8 ? 8 : panel;
}
#endif

/* Packed bytes per panel of GEMM_I8X8 (half of L2: the panel is reread per 4 tokens). */
#define I8X8_PANEL_BYTES (128 * 1024)

/* Rows per panel of GEMM_I8X8: I8X8_PANEL_BYTES of them, whole packed groups. */
static int64_t i8x8_panel_rows(size_t row_bytes) {
    int64_t panel = (int64_t)(I8X8_PANEL_BYTES / row_bytes) / REPACK_ROWS * REPACK_ROWS;
    return panel < REPACK_ROWS ? REPACK_ROWS : panel;
}

/* Each panel size above is at most max(its byte budget, its minimum rows x the row), so
 * the largest matrix bounds every smaller one. */
void gemm_scratch_size(int64_t max_cols, size_t max_row_bytes, int64_t max_B,
                       size_t *panel_bytes, size_t *acc_bytes) {
    size_t f32_row = (size_t)max_cols * sizeof(float), need = OWN_PANEL_MAX * KC * sizeof(float);
    if (BLAS_PANEL_BYTES > need) need = BLAS_PANEL_BYTES;
    if (8 * f32_row > need) need = 8 * f32_row;
    if (I8X8_PANEL_BYTES > need) need = I8X8_PANEL_BYTES;
    if (REPACK_ROWS * max_row_bytes > need) need = REPACK_ROWS * max_row_bytes;
    *panel_bytes = need;
    const size_t groups = (size_t)((max_B + GEMM_NT - 1) / GEMM_NT);
    *acc_bytes = groups * OWN_PANEL_MAX * GEMM_NT * sizeof(float);
}

/* Prefetches lines [from, to) of the n_lines 64-byte lines at p into L2. */
static void prefetch_lines(const char *p, int64_t from, int64_t to) {
    for (int64_t i = from; i < to; i++) __builtin_prefetch(p + i * 64, 0, 2);
}

/* Rows [p0, p0 + np) of W against all groups; c is [groups][panel][GEMM_NT]. Per chunk of
 * KC columns, the panel's rows are dequantized into wbuf[row][KC] (f32 rows: read in
 * place, wbuf NULL, ldw = the row) and the micro-kernel runs over them, GEMM_NG groups of
 * tokens a call (their activations, 2 x 16 KiB, stay in L1 while the rows pass).
 * Meanwhile the `ahead` bytes of the next panel's rows are prefetched into L2, a slice
 * before each kernel call, so the chunks read L2, not DRAM: dequantizing whole panels
 * from DRAM before computing them left the core waiting on memory for 26% of TinyLlama
 * f16 pp64 (perf, 1 thread, Sapphire-Rapids-class Xeon), and that memory phase is what
 * two threads share. */
static void own_panel(const quant_type *t, dequantize_fn dequantize, const char *w,
                      size_t row_bytes, int64_t p0, int np, int panel, int64_t cols,
                      const float *xt, int64_t groups, float *wbuf, float *c, gemm_tile_fn kernel,
                      const char *ahead, size_t ahead_bytes) {
    const int64_t chunks = (cols + own_chunk(t) - 1) / own_chunk(t), pairs = (groups + GEMM_NG - 1) / GEMM_NG;
    const int64_t tiles = (np + GEMM_NR - 1) / GEMM_NR, calls = chunks * pairs * tiles;
    const int64_t lines = (int64_t)((ahead_bytes + 63) / 64);
    int64_t call = 0;
    const int64_t step = own_chunk(t);
    for (int64_t k0 = 0; k0 < cols; k0 += step) {
        int64_t kc = cols - k0 < step ? cols - k0 : step;
        for (int r = 0; wbuf && r < np; r++) /* step is a multiple of the block */
            dequantize(w + (p0 + r) * row_bytes + k0 / t->block * t->block_bytes, wbuf + r * kc,
                       kc);
        const float *wk = wbuf ? wbuf : (const float *)(w + p0 * row_bytes) + k0;
        size_t ldw = wbuf ? (size_t)kc : row_bytes / sizeof(float);
        for (int64_t g = 0; g < groups; g += GEMM_NG) {
            const float *xg = xt + (g * cols + k0) * GEMM_NT;
            float *cg = c + g * panel * GEMM_NT;
            int ng = groups - g < GEMM_NG ? (int)(groups - g) : GEMM_NG;
            for (int r = 0; r < np; r += GEMM_NR, call++) {
                prefetch_lines(ahead, lines * call / calls, lines * (call + 1) / calls);
                kernel(kc, xg, (size_t)cols * GEMM_NT, wk + r * ldw, ldw, cg + r * GEMM_NT,
                       (size_t)panel * GEMM_NT, np - r < GEMM_NR ? np - r : GEMM_NR, ng, k0 > 0);
            }
        }
    }
}

/* Rows [r0, r1) of the rows of W; the look-ahead of the last panel runs into the rows
 * after r1 (below `rows`), which the caller's next piece usually holds (pool.h: a thread
 * claims its share front to back). */
static int own_rows(const quant_type *t, const char *w, size_t row_bytes, int64_t r0, int64_t r1,
                    int64_t rows, int64_t cols, const float *xt, int64_t B, float *Y, size_t ldy,
                    const isa_kernels *isa, const gemm_scratch *scratch) {
    int64_t groups = (B + GEMM_NT - 1) / GEMM_NT;
    int panel = own_panel_rows(row_bytes), in_place = t->id == QT_F32;
    if ((!in_place && (size_t)panel * KC * sizeof(float) > scratch->panel_bytes) ||
        (size_t)groups * panel * GEMM_NT * sizeof(float) > scratch->acc_bytes)
        return -1;
    float *wbuf = in_place ? NULL : scratch->panel, *c = scratch->acc;
    dequantize_fn dequantize = of_type(isa, t->id)->dequantize;
    gemm_tile_fn kernel = isa->gemm_tile;
    for (int64_t p0 = r0; p0 < r1; p0 += panel) {
        int np = r1 - p0 < panel ? (int)(r1 - p0) : panel;
        int64_t next = p0 + np, next_np = rows - next < panel ? rows - next : panel;
        if (next_np < 0) next_np = 0;
        own_panel(t, dequantize, w, row_bytes, p0, np, panel, cols, xt, groups, wbuf, c, kernel,
                  w + next * row_bytes, (size_t)next_np * row_bytes);
        for (int64_t b = 0; b < B; b++) {
            const float *cb = c + (b / GEMM_NT) * panel * GEMM_NT + b % GEMM_NT;
            float *y = Y + b * ldy + p0;
            for (int r = 0; r < np; r++) y[r] = cb[r * GEMM_NT];
        }
    }
    return 0;
}

#ifdef SCARCE_BLAS
static int blas_rows(const quant_type *t, const char *w, size_t row_bytes, int64_t r0, int64_t r1,
                     int64_t cols, const float *X, int64_t B, float *Y, size_t ldy,
                     const isa_kernels *isa, const gemm_scratch *scratch) {
    int64_t panel = blas_panel_rows(cols);
    if ((size_t)panel * cols * sizeof(float) > scratch->panel_bytes) return -1;
    float *wbuf = scratch->panel;
    dequantize_fn dequantize = of_type(isa, t->id)->dequantize;
    for (int64_t p0 = r0; p0 < r1; p0 += panel) {
        int64_t np = r1 - p0 < panel ? r1 - p0 : panel;
        for (int64_t r = 0; r < np; r++)
            dequantize(w + (p0 + r) * row_bytes, wbuf + r * cols, cols);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)np, (int)cols, 1.0f, X,
                    (int)cols, wbuf, (int)cols, 0.0f, Y + p0, (int)ldy);
    }
    return 0;
}
#endif

int gemm_rows(gemm_method m, const quant_type *t, const char *w, size_t row_bytes, int64_t r0,
              int64_t r1, int64_t rows, int64_t cols, const float *x, int64_t B, float *Y,
              size_t ldy, const isa_kernels *isa, const gemm_scratch *scratch) {
#ifdef SCARCE_BLAS
    if (m == GEMM_BLAS)
        return blas_rows(t, w, row_bytes, r0, r1, cols, x, B, Y, ldy, isa, scratch);
#endif
    return own_rows(t, w, row_bytes, r0, r1, rows, cols, x, B, Y, ldy, isa, scratch);
}

/* ---- GEMM_I8X8 ---- */

/* The load-time layout of repack.h, made per batch for weights that were not packed at
 * load (SCARCE_REPACK=0): panels of rows into the 8-row interleaved layout, then repack.h's
 * kernel; the last rows % 8 go through the type's own tile. */
/* The kernels that run the packed panels of type: Q8_0's for types rewritten as Q8_0. */
static const type_kernels *i8x8_runner(const isa_kernels *isa, uint32_t type) {
    const type_kernels *k = of_type(isa, type);
    return k && k->to_q8_0 ? of_type(isa, QT_Q8_0) : k;
}

int gemm_i8x8_x16(const isa_kernels *isa, uint32_t type) {
    const type_kernels *run = i8x8_runner(isa, type);
    return run && run->packed_gemm && run->packed_layout;
}

int gemm_i8x8_rows(uint32_t type, const char *w, size_t row_bytes, int64_t r0, int64_t r1,
                   int64_t cols, const void *act, size_t act_row, const void *act_x16, int64_t B,
                   float *Y, size_t ldy, const isa_kernels *isa, const gemm_scratch *scratch) {
    const type_kernels *k = of_type(isa, type), *run = i8x8_runner(isa, type);
    if (!run || !run->packed_tile || !run->packed_layout) return -1;
    const size_t packed_row = k->to_q8_0 ? qtype_row_bytes(QT_Q8_0, cols) : row_bytes;
    int64_t panel = i8x8_panel_rows(packed_row);
    if ((size_t)panel * packed_row > scratch->panel_bytes) return -1;
    char *buf = scratch->panel;
    for (int64_t p0 = r0; p0 < r1; p0 += panel) {
        int64_t np = r1 - p0 < panel ? r1 - p0 : panel, full = np / REPACK_ROWS * REPACK_ROWS;
        if (full) {
            if (k->to_q8_0)
                repack_rows_to_q8_0(run->packed_layout, k->to_q8_0, type, full, cols,
                                    w + p0 * row_bytes, buf);
            else
                repack_rows(k->packed_layout, full, cols, w + p0 * row_bytes, buf);
            if (act_x16 && run->packed_gemm)
                run->packed_gemm(cols, Y + p0, ldy, buf, packed_row, (int)full, act_x16, B);
            else
                run->packed_tile(cols, Y + p0, ldy, buf, packed_row, (int)full, act, act_row,
                                 (int)B);
        }
        for (int64_t r = p0 + full; r < p0 + np; r++)
            for (int64_t b = 0; b < B; b++)
                k->vec_dot(cols, &Y[b * ldy + r], w + r * row_bytes,
                           (const char *)act + b * act_row);
    }
    return 0;
}
