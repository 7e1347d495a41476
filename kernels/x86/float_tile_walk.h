/* float_tile_walk.h - the float batch tiles' row walk, shared by avx2_f16_tile.c and
 * avx512_f16_tile.c (only the register width differs; why and how: avx2_f16_tile.c).
 *
 * GROUP tokens at a time (their activation rows stay in L1), every row: one pass over the
 * row converting each weight register once for the group's tokens, then each (row, token)'s
 * finish, the row dot's last steps, straight from the registers. The rows (matmul's panel,
 * PANEL_BYTES) come from L1/L2 again for the next group. One token takes the same walk
 * (bit for bit the row dot, with the prefetch below): f16 decode runs here too. The
 * including file defines acc4 (one token's 4 accumulators, field q), GROUP, and
 * finish_<name>() first.
 *
 * Software prefetch, TILE_PREFETCH bytes ahead of the weight loads. The rows of a thread's
 * share are contiguous, so the address ahead is the rest of this row or the next ones.
 * Without it the core waits for each line and then computes: measured (Xeon, Sapphire
 * Rapids class, AVX-512, one thread, 576-column f16 rows streamed from a 512 MB buffer,
 * thread CPU time, machine loaded by other jobs, /work/cache/spec/h/tbench.c): 6 tokens
 * 5.0-5.6 GB/s, one 7.3-9.2 (the row dot), against 7.8-8.9 and 10.3-11.6 with 2048 bytes
 * ahead (wall clock, 6 tokens: 1024 ahead 7.3, 2048 9.5, 4096 8.2); membw's one-thread read
 * peak 10.9. SmolLM2-135M f16, one thread, thread CPU time of a decode step: 58.7-70.1 ms
 * before, 28.4-28.6 after. */
#ifndef SCARCE_FLOAT_TILE_WALK_H
#define SCARCE_FLOAT_TILE_WALK_H

#ifndef TILE_PREFETCH
#define TILE_PREFETCH 2048
#endif

/* rows_<name>_<NT>: s[t x s_stride + r] = row r . token t for nrows rows of x (w_stride
 * bytes apart) and NT tokens y + t x ys: one weight load (and conversion) per register for
 * NT FMAs, NT x 4 accumulators in registers (each size its own function, so it unrolls),
 * STEP = 4 x LANES elements a step, then finish_<name> from the registers. */
#define FLOAT_TILE_ROWS(NT, name, elem_t, load, VEC, LANES, SETZERO, LOADU, FMADD)                 \
    static void rows_##name##_##NT(int64_t n, float *s, size_t s_stride, const void *w,            \
                                   size_t w_stride, int nrows, const float *y, size_t ys) {        \
        const int64_t n_steps = n / (4 * (LANES)) * (4 * (LANES));                                 \
        for (int r = 0; r < nrows; r++) {                                                          \
            const elem_t *x = (const elem_t *)((const char *)w + r * w_stride);                    \
            VEC c[NT][4];                                                                          \
            for (int t = 0; t < NT; t++)                                                           \
                for (int q = 0; q < 4; q++) c[t][q] = SETZERO();                                   \
            for (int64_t i = 0; i < n_steps; i += 4 * (LANES)) {                                   \
                for (int l = 0; l < (int)(4 * (LANES) * sizeof(elem_t)); l += 64)                  \
                    _mm_prefetch((const char *)(x + i) + TILE_PREFETCH + l, _MM_HINT_T0);          \
                for (int q = 0; q < 4; q++) {                                                      \
                    const VEC wq = load(x + i + (LANES)*q);                                        \
                    for (int t = 0; t < NT; t++)                                                   \
                        c[t][q] = FMADD(wq, LOADU(y + t * ys + i + (LANES)*q), c[t][q]);           \
                }                                                                                  \
            }                                                                                      \
            _Pragma("GCC unroll 8") for (int t = 0; t < NT; t++) {                                 \
                acc4 a;                                                                            \
                for (int q = 0; q < 4; q++) a.q[q] = c[t][q];                                      \
                s[t * s_stride + r] = finish_##name(x, y + t * ys, n_steps, n, a);                 \
            }                                                                                      \
        }                                                                                          \
    }

/* vec_dot_tile_<name>_<isa>: rows[g] runs g tokens (g = 1 .. GROUP) over all the rows. */
#define FLOAT_TILE_WALK(isa, name, rows)                                                           \
    void vec_dot_tile_##name##_##isa(int64_t n, float *s, size_t s_stride, const void *w,          \
                                     size_t w_stride, int nrows, const void *a, size_t a_stride,   \
                                     int nact) {                                                   \
        const size_t ys = a_stride / sizeof(float);                                                \
        for (int j = 0; j < nact; j += GROUP) {                                                    \
            const int nt = nact - j < GROUP ? nact - j : GROUP;                                    \
            rows[nt](n, s + j * s_stride, s_stride, w, w_stride, nrows, (const float *)a + j * ys, \
                     ys);                                                                          \
        }                                                                                          \
    }

#endif
