/* float_tile_walk.h - the row walk of the float batch tiles, shared by avx2_f16_tile.c and
 * avx512_f16_tile.c (only the register width differs; why and how: avx2_f16_tile.c).
 *
 * Per row and block of MAX_ACT tokens, chunk by chunk: convert KC weights to f32 into an L1
 * buffer (f32 rows are read in place), run every token over them (chunk_tokens); then each
 * (row, token)'s finish, the row dot's last steps. One token calls the row dot itself
 * (nothing to share the conversion with). The including file defines acc4 (one token's 4
 * accumulators, field q), KC, MAX_ACT, chunk_tokens() and finish_<name>() first. */
#ifndef SCARCE_FLOAT_TILE_WALK_H
#define SCARCE_FLOAT_TILE_WALK_H

#include <string.h>

/* group_<NT>: acc[t] += the STEP-element steps (4 registers of LANES) of wf[0, kc) x token
 * t's activations y + t * ys, t < NT: one weight load for NT FMAs, NT x 4 accumulators in
 * registers (each group size its own function, so they unroll). */
#define FLOAT_TILE_GROUP(NT, VEC, LANES, LOADU, FMADD)                                             \
    static void group_##NT(const float *wf, int64_t kc, const float *y, size_t ys, acc4 *acc) {    \
        VEC c[NT][4];                                                                              \
        for (int t = 0; t < NT; t++)                                                               \
            for (int q = 0; q < 4; q++) c[t][q] = acc[t].q[q];                                     \
        for (int64_t i = 0; i < kc; i += 4 * (LANES))                                              \
            for (int q = 0; q < 4; q++) {                                                          \
                const VEC w = LOADU(wf + i + (LANES)*q);                                           \
                for (int t = 0; t < NT; t++)                                                       \
                    c[t][q] = FMADD(w, LOADU(y + t * ys + i + (LANES)*q), c[t][q]);                \
            }                                                                                      \
        for (int t = 0; t < NT; t++)                                                               \
            for (int q = 0; q < 4; q++) acc[t].q[q] = c[t][q];                                     \
    }

/* isa: the name suffix; STEP: elements per 4-accumulator step; VEC, LANES, SETZERO: the
 * register type, its floats, its zero. */
#define FLOAT_TILE_WALK(isa, name, elem_t, load, in_place, STEP, VEC, LANES, SETZERO)              \
    void vec_dot_tile_##name##_##isa(int64_t n, float *s, size_t s_stride, const void *w,          \
                                     size_t w_stride, int nrows, const void *a, size_t a_stride,   \
                                     int nact) {                                                   \
        const size_t ys = a_stride / sizeof(float);                                                \
        const int64_t n_steps = n / (STEP) * (STEP);                                               \
        _Alignas(64) float buf[KC];                                                                \
        acc4 acc[MAX_ACT];                                                                         \
        for (int r = 0; r < nrows; r++) {                                                          \
            const elem_t *x = (const elem_t *)((const char *)w + r * w_stride);                    \
            if (nact == 1) {                                                                       \
                vec_dot_##name##_##isa(n, &s[r], x, a);                                            \
                continue;                                                                          \
            }                                                                                      \
            for (int j0 = 0; j0 < nact; j0 += MAX_ACT) {                                           \
                const int nb = nact - j0 < MAX_ACT ? nact - j0 : MAX_ACT;                          \
                const float *y = (const float *)a + j0 * ys;                                       \
                for (int j = 0; j < nb; j++)                                                       \
                    for (int q = 0; q < 4; q++) acc[j].q[q] = SETZERO();                           \
                for (int64_t k0 = 0; k0 < n_steps; k0 += KC) {                                     \
                    const int64_t kc = n_steps - k0 < KC ? n_steps - k0 : KC;                      \
                    const float *wf = in_place ? (const float *)(const void *)(x + k0) : buf;      \
                    for (int64_t i = 0; !in_place && i < kc; i += (LANES)) {                       \
                        const VEC v = load(x + k0 + i); /* memcpy: one unaligned store */          \
                        memcpy(buf + i, &v, sizeof v);                                             \
                    }                                                                              \
                    chunk_tokens(wf, kc, y + k0, ys, nb, acc);                                     \
                }                                                                                  \
                for (int j = 0; j < nb; j++)                                                       \
                    s[(j0 + j) * s_stride + r] = finish_##name(x, y + j * ys, n_steps, n, acc[j]); \
            }                                                                                      \
        }                                                                                          \
    }

#endif
