/* test_ops.c - the f32 blocks against their definitions. */
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
