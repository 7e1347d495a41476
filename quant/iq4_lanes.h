/* iq4_lanes.h - IQ4_NL's non-linear grid (kvalues_iq4nl) for 16 values at once, as GNU C
 * vectors (one AVX-512 register; two AVX2 ones elsewhere), for the IQ4_NL and IQ4_XS
 * searches. The nearest grid index is the count of the grid's midpoints below v (iq4_nl.c,
 * ties to the lower value) or at or below it (iq4_xs.c, ties to the upper, as ggml's
 * best_index_int8): found by a binary search, four probes of the midpoints as lane permutes
 * (a compare and add per midpoint, 15 a value, was most of the searches' time: Xeon SPR perf,
 * SmolLM2 rows). NaN counts 0, as the compares did. */
#ifndef SCARCE_IQ4_LANES_H
#define SCARCE_IQ4_LANES_H

#include <math.h>
#include <stdint.h>

typedef float f32x16 __attribute__((vector_size(64)));
typedef int32_t i32x16 __attribute__((vector_size(64)));
typedef float f32x8 __attribute__((vector_size(32)));
typedef double f64x8 __attribute__((vector_size(64)));
typedef union {
    f32x16 v;
    f32x8 half[2];
} f32x16_halves;

static inline f32x16 splat16(float v) {
    return (f32x16){v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v};
}

/* the midpoints of kvalues_iq4nl (multiples of 0.5, exact), padded with +inf (never probed) */
static const f32x16 iq4_mids = {-115.5f, -93.5f, -74.0f, -57.0f, -42.0f, -28.5f, -16.0f, -4.5f,
                                7.0f,    19.0f,  31.5f,  45.5f,  61.0f,  79.0f,  101.0f, INFINITY};
static const f32x16 iq4_values = {-127.0f, -104.0f, -83.0f, -65.0f, -49.0f, -35.0f, -22.0f, -10.0f,
                                  1.0f,    13.0f,   25.0f,  38.0f,  53.0f,  69.0f,  89.0f,  113.0f};

/* table[idx[l] % 16] in each lane l: GNU C's variable shuffle (one vpermps on AVX-512); clang
 * (the fuzz build) has no variable form, so lane by lane there, the same values */
static inline f32x16 lanes16(f32x16 table, i32x16 idx) {
#if defined(__clang__)
    f32x16 r;
    for (int l = 0; l < 16; l++) r[l] = table[idx[l] & 15];
    return r;
#else
    return __builtin_shuffle(table, idx);
#endif
}

/* indices of the grid values nearest to v: ties to the lower value (ties_up = 0) or upper */
static inline i32x16 iq4_index16(f32x16 v, int ties_up) {
    i32x16 idx = {0};
    for (int step = 8; step; step >>= 1) {
        const f32x16 probe = lanes16(iq4_mids, idx + (step - 1));
        idx += (ties_up ? v >= probe : v > probe) & step;
    }
    return idx;
}

static inline f32x16 iq4_value16(i32x16 idx) {
    return lanes16(iq4_values, idx);
}

#endif
