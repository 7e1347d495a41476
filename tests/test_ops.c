/* test_ops.c - the f32 blocks against their definitions. */
#include <math.h>
#include <string.h>

#include "../kernels/ops.h"
#include "test.h"

TEST(ops_softmax_sums_to_one) {
    float x[5] = {1000.0f, 1001.0f, -5.0f, 0.0f, 1000.5f};
    softmax(x, 5);
    double sum = 0;
    for (int i = 0; i < 5; i++) sum += x[i];
    CHECK_NEAR(sum, 1.0, 1e-6);
    CHECK(x[1] > x[4] && x[4] > x[0]);
}

TEST(ops_rmsnorm_unit_rms) {
    float x[4] = {1, -2, 3, -4}, w[4] = {1, 1, 1, 1}, out[4];
    rmsnorm(out, x, w, 4, 0.0f);
    double ss = 0;
    for (int i = 0; i < 4; i++) ss += out[i] * out[i];
    CHECK_NEAR(ss / 4, 1.0, 1e-6);
}

TEST(ops_rope_position_zero_is_identity_and_norm_preserving) {
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8];
    for (int i = 0; i < 8; i++) y[i] = x[i];
    rope(y, 2, 4, 4, 0, 10000.0f);
    for (int i = 0; i < 8; i++) CHECK_NEAR(y[i], x[i], 0);
    rope(y, 2, 4, 4, 7, 10000.0f);
    for (int p = 0; p < 8; p += 2)
        CHECK_NEAR(y[p] * y[p] + y[p + 1] * y[p + 1], x[p] * x[p] + x[p + 1] * x[p + 1], 1e-4);
}

/* rmsnorm's lane sum (16 lanes, a fixed tree) against a double sum, on lengths with and
 * without a tail of fewer than 16 and with values spanning 12 orders of magnitude. */
TEST(ops_rmsnorm_lane_sum_matches_double) {
    enum { N = 2048 + 37 };
    static float x[N], w[N], out[N];
    for (int n = 1; n <= N; n = n < 40 ? n + 1 : n * 3 / 2 + 5) {
        double ss = 0;
        for (int i = 0; i < n; i++) {
            x[i] = (float)((i % 7) - 3) * (i % 5 == 0 ? 1e-6f : i % 3 == 0 ? 1e3f : 0.5f);
            w[i] = 1.0f + 0.001f * (float)(i % 11);
            ss += (double)x[i] * x[i];
        }
        rmsnorm(out, x, w, n, 1e-5f);
        const double scale = 1.0 / sqrt(ss / n + 1e-5);
        for (int i = 0; i < n; i++)
            CHECK_NEAR(out[i], x[i] * scale * w[i], 2e-6 * fabs(x[i] * scale * w[i]) + 1e-12);
    }
}

/* The rope of one tensor as the definition reads (ops.h), angle by angle: the reference. */
static void rope_by_definition(float *x, int n_head, int head_dim, int pos, const rope_params *p) {
    const int half = p->n_rot / 2;
    for (int i = 0; i < half; i++) {
        float theta = p->freq_scale * pos * powf(p->freq_base, -(float)(2 * i) / p->n_rot);
        if (p->freq_factors) theta /= p->freq_factors[i];
        const float c = cosf(theta) * p->attn_factor, s = sinf(theta) * p->attn_factor;
        const int i0 = p->neox ? i : 2 * i, i1 = p->neox ? i + half : 2 * i + 1;
        for (int h = 0; h < n_head; h++) {
            float *v = x + (size_t)h * head_dim;
            const float a = v[i0], b = v[i1];
            v[i0] = a * c - b * s;
            v[i1] = a * s + b * c;
        }
    }
}

/* rope_ext_qk (one angle table for q and k, in chunks) gives exactly the definition's bits
 * on each, for both pair layouts, frequency factors, more pairs than one angle chunk, and
 * n_rot < head_dim (the rest passes through). */
TEST(ops_rope_qk_equals_definition) {
    enum { HEAD_DIM = 320, NQ = 3, NK = 2 };
    static float factors[HEAD_DIM / 2];
    for (int i = 0; i < HEAD_DIM / 2; i++) factors[i] = 1.0f + 0.01f * (float)i;
    for (int variant = 0; variant < 4; variant++) {
        const rope_params p = {.n_rot = variant == 3 ? 64 : HEAD_DIM,
                               .neox = variant & 1,
                               .freq_base = 10000.0f,
                               .freq_scale = 0.5f,
                               .attn_factor = 1.1f,
                               .freq_factors = variant == 2 ? factors : NULL};
        float q[NQ * HEAD_DIM], k[NK * HEAD_DIM], q2[NQ * HEAD_DIM], k2[NK * HEAD_DIM];
        for (int i = 0; i < NQ * HEAD_DIM; i++) q[i] = q2[i] = sinf(0.37f * (float)i);
        for (int i = 0; i < NK * HEAD_DIM; i++) k[i] = k2[i] = cosf(0.53f * (float)i);
        rope_ext_qk(q, NQ, k, NK, HEAD_DIM, 4321, &p);
        rope_by_definition(q2, NQ, HEAD_DIM, 4321, &p);
        rope_by_definition(k2, NK, HEAD_DIM, 4321, &p);
        CHECK(memcmp(q, q2, sizeof q) == 0);
        CHECK(memcmp(k, k2, sizeof k) == 0);
        rope_ext(q, NQ, HEAD_DIM, 7, &p); /* one tensor alone: the same walk */
        rope_by_definition(q2, NQ, HEAD_DIM, 7, &p);
        CHECK(memcmp(q, q2, sizeof q) == 0);
    }
}
