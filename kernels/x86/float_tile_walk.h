/* float_tile_walk.h - the float batch tiles' row walk, shared by avx2_f16_tile.c and
 * avx512_f16_tile.c (only the register width differs; why and how: avx2_f16_tile.c).
 *
 * GROUP tokens at a time (their activation rows stay in L1), every row: one pass over the
 * row converting each weight register once for the group's tokens, then each (row, token)'s
 * finish, the row dot's last steps. The rows (matmul's panel, PANEL_BYTES) come from L1/L2
 * again for the next group. One token calls the row dot itself. The
 * including file defines acc4 (one token's 4 accumulators, field q), GROUP, and
 * finish_<name>() first. */
#ifndef SCARCE_FLOAT_TILE_WALK_H
#define SCARCE_FLOAT_TILE_WALK_H

/* group_<name>_<NT>: acc[t] = the 4 accumulators of the STEP-element steps [0, n_steps) of
 * row x against token t's activations y + t * ys, t < NT: one weight load (and conversion)
 * for NT FMAs, NT x 4 accumulators in registers (each size its own function, so it unrolls). */
#define FLOAT_TILE_GROUP(NT, name, elem_t, load, VEC, LANES, SETZERO, LOADU, FMADD)                \
    static void group_##name##_##NT(const elem_t *x, int64_t n_steps, const float *y, size_t ys,   \
                                    acc4 *acc) {                                                   \
        VEC c[NT][4];                                                                              \
        for (int t = 0; t < NT; t++)                                                               \
            for (int q = 0; q < 4; q++) c[t][q] = SETZERO();                                       \
        for (int64_t i = 0; i < n_steps; i += 4 * (LANES))                                         \
            for (int q = 0; q < 4; q++) {                                                          \
                const VEC w = load(x + i + (LANES)*q);                                             \
                for (int t = 0; t < NT; t++)                                                       \
                    c[t][q] = FMADD(w, LOADU(y + t * ys + i + (LANES)*q), c[t][q]);                \
            }                                                                                      \
        for (int t = 0; t < NT; t++)                                                               \
            for (int q = 0; q < 4; q++) acc[t].q[q] = c[t][q];                                     \
    }

/* vec_dot_tile_<name>_<isa>: groups[g] runs g tokens (g = 1 .. GROUP); STEP elements per
 * 4-accumulator step. */
#define FLOAT_TILE_WALK(isa, name, elem_t, STEP, groups)                                           \
    void vec_dot_tile_##name##_##isa(int64_t n, float *s, size_t s_stride, const void *w,          \
                                     size_t w_stride, int nrows, const void *a, size_t a_stride,   \
                                     int nact) {                                                   \
        const size_t ys = a_stride / sizeof(float);                                                \
        const int64_t n_steps = n / (STEP) * (STEP);                                               \
        acc4 acc[GROUP];                                                                           \
        if (nact == 1) {                                                                           \
            for (int r = 0; r < nrows; r++)                                                        \
                vec_dot_##name##_##isa(n, &s[r], (const char *)w + r * w_stride, a);               \
            return;                                                                                \
        }                                                                                          \
        for (int j = 0; j < nact; j += GROUP) {                                                    \
            const int nt = nact - j < GROUP ? nact - j : GROUP;                                    \
            const float *y = (const float *)a + j * ys;                                            \
            for (int r = 0; r < nrows; r++) {                                                      \
                const elem_t *x = (const elem_t *)((const char *)w + r * w_stride);                \
                groups[nt](x, n_steps, y, ys, acc);                                                \
                for (int t = 0; t < nt; t++)                                                       \
                    s[(j + t) * s_stride + r] = finish_##name(x, y + t * ys, n_steps, n, acc[t]);  \
            }                                                                                      \
        }                                                                                          \
    }

#endif
