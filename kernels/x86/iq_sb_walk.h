/* iq_sb_walk.h - the row dot and the tile of the IQ super-block kernels, written once for the
 * AVX2 and AVX-512 files (avx2_iq_sb.c, avx512_iq_sb.c). The including file defines its
 * unpacked super-block type `sbt` (d, and what sb_isum reads), sb_<fmt>() filling it from a
 * block, and sb_isum(&u, q8 codes) the block's integer sum. */
#ifndef SCARCE_IQ_SB_WALK_H
#define SCARCE_IQ_SB_WALK_H

enum { SB_NA = 8 }; /* tokens per pass of the tile */

/* The row dot of fmt (vec_dot_<fmt>_<isa>). */
#define IQ_SB_DOT(fmt, factor, isa, sbt)                                                           \
    void vec_dot_##fmt##_##isa(int64_t n, float *s, const void *w, const void *act) {              \
        const block_##fmt *b = w;                                                                  \
        const block_q8_K *a = act;                                                                 \
        float sum = 0;                                                                             \
        for (int64_t i = 0; i < n / QK_K; i++) {                                                   \
            sbt u;                                                                                 \
            sb_##fmt(b + i, &u);                                                                   \
            sum += u.d * a[i].d * (float)sb_isum(&u, a[i].qs);                                     \
        }                                                                                          \
        *s = factor * sum;                                                                         \
    }

/* nrows x nact dot products, each super-block unpacked once per row and pass of up to SB_NA
 * tokens; (row, token) sums in the row dot's order. `decl`: the function's storage class,
 * type and name (vec_dot_tile_<fmt>_<isa> in IQ_SB_KERNELS). */
#define IQ_SB_TILE(fmt, factor, sbt, decl)                                                         \
    decl(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride, int nrows,          \
         const void *act, size_t a_stride, int nact) {                                             \
        for (int r = 0; r < nrows; r++) {                                                          \
            const block_##fmt *b = (const block_##fmt *)((const char *)w + r * w_stride);          \
            for (int j0 = 0; j0 < nact; j0 += SB_NA) {                                             \
                const int na = nact - j0 < SB_NA ? nact - j0 : SB_NA;                              \
                float sum[SB_NA] = {0};                                                            \
                for (int64_t i = 0; i < n / QK_K; i++) {                                           \
                    sbt u;                                                                         \
                    sb_##fmt(b + i, &u);                                                           \
                    for (int j = 0; j < na; j++) {                                                 \
                        const block_q8_K *a =                                                      \
                            (const block_q8_K *)((const char *)act + (j0 + j) * a_stride) + i;     \
                        sum[j] += u.d * a->d * (float)sb_isum(&u, a->qs);                          \
                    }                                                                              \
                }                                                                                  \
                for (int j = 0; j < na; j++) s[(size_t)(j0 + j) * s_stride + r] = factor * sum[j]; \
            }                                                                                      \
        }                                                                                          \
    }

#define IQ_SB_KERNELS(fmt, factor, isa, sbt)                                                       \
    IQ_SB_DOT(fmt, factor, isa, sbt)                                                               \
    IQ_SB_TILE(fmt, factor, sbt, void vec_dot_tile_##fmt##_##isa)

#endif
