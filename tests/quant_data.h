/* quant_data.h - deterministic test data for the quant tests (header-only, test-local). */
#ifndef SCARCE_QUANT_DATA_H
#define SCARCE_QUANT_DATA_H

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint64_t s;
} test_rng;

static inline double rng_uniform(test_rng *r) { /* [0, 1) */
    r->s ^= r->s << 13, r->s ^= r->s >> 7, r->s ^= r->s << 17;
    return (double)(r->s >> 11) * (1.0 / 9007199254740992.0);
}
static inline double rng_gauss(test_rng *r) {
    double u = rng_uniform(r) + 1e-12, v = rng_uniform(r);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

enum { DATA_UNIFORM, DATA_GAUSS, DATA_OUTLIERS, DATA_ZERO, N_DATA };
__attribute__((unused)) static const char *data_names[N_DATA] = {"uniform", "gauss", "outliers",
                                                                 "zero"};

/* n values of the given kind: uniform in [-1, 1), standard normal, normal with one value in
 * 64 multiplied by 100, or all zeros. */
static inline void fill_data(int kind, float *x, int64_t n, uint64_t seed) {
    test_rng r = {seed * 2654435761u + 1};
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case DATA_UNIFORM:
            x[i] = (float)(2 * rng_uniform(&r) - 1);
            break;
        case DATA_GAUSS:
            x[i] = (float)rng_gauss(&r);
            break;
        case DATA_OUTLIERS:
            x[i] = (float)rng_gauss(&r);
            if (rng_uniform(&r) < 1.0 / 64) x[i] *= 100;
            break;
        default:
            x[i] = 0;
        }
    }
}

static inline double rms_of(const float *x, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s / n);
}
static inline double rmse_of(const float *x, const float *y, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
    return sqrt(s / n);
}
/* How many blocks of `block` values y (our round trip of x) reconstructs worse than g
 * (ggml's rule's round trip): a search must never lose to the rule it replaces. */
static inline int blocks_worse(const float *x, const float *y, const float *g, int64_t n,
                               int64_t block) {
    int worse = 0;
    for (int64_t o = 0; o < n; o += block)
        worse += rmse_of(x + o, y + o, block) > rmse_of(x + o, g + o, block) * (1 + 1e-6);
    return worse;
}

/* The blocks the throwaway ggml probes of test_iq.c / test_lowbit.c filled: nb blocks of
 * `bytes` xorshift bytes seeded with 0x9E3779B97F4A7C15 ^ id, then (d_offset >= 0) the
 * fp16 d of block i set to 1, -0.333, 2^-10, 255.9 for i % 4 = 0..3. */
static inline void ggml_probe_blocks(uint8_t *b, size_t bytes, int nb, uint32_t id, int d_offset) {
    static const uint16_t block_d[4] = {0x3C00, 0xB555, 0x1400, 0x5BFF};
    uint64_t s = 0x9E3779B97F4A7C15ull ^ id;
    for (int i = 0; i < nb; i++) {
        for (size_t j = 0; j < bytes; j++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            b[i * bytes + j] = (uint8_t)(s >> 32);
        }
        if (d_offset >= 0) memcpy(b + i * bytes + d_offset, &block_d[i % 4], 2);
    }
}

/* FNV-1a 64 of the bits of n floats (what those probes printed). */
static inline uint64_t hash_floats(const float *y, int64_t n) {
    uint64_t h = 1469598103934665603ull;
    for (int64_t k = 0; k < n; k++) {
        uint32_t u;
        memcpy(&u, &y[k], 4);
        for (int s = 0; s < 4; s++) h = (h ^ ((u >> 8 * s) & 255)) * 1099511628211ull;
    }
    return h;
}

#endif
