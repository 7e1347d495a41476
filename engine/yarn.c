/* yarn.c - YaRN rope scaling (rope.scaling.type = yarn: gpt-oss, DeepSeek-V2/V3) as
 * frequency factors, so that rope_ext applies it unchanged. From ggml's rope_yarn and
 * ggml_rope_yarn_corr_dims and llama.cpp's llama_context constructor:
 *   pair i turns by theta_i = pos base^(-2i/n_rot) (extrapolation) mixed with
 *   theta_i / factor (interpolation): theta_i ((1 - r_i) / factor + r_i), where the ramp
 *   r_i is 1 for the fast pairs (i <= low) and 0 for the slow ones (i >= high); low and
 *   high are the pairs that turn beta_fast = 32 and beta_slow = 1 times over the original
 *   context. The rotated values are scaled by attn_factor (1 + 0.1 ln factor). */
#include <math.h>

#include "model_impl.h"

/* The dimension whose pair turns n_turns times over n_ctx_orig positions. */
static float corr_dim(int n_rot, int n_ctx_orig, float n_turns, float base) {
    return n_rot * logf(n_ctx_orig / (n_turns * 2 * (float)M_PI)) / (2 * logf(base));
}

void yarn_factors(float *factors, int n_rot, int n_ctx_orig, float base, float freq_scale) {
    float low = floorf(corr_dim(n_rot, n_ctx_orig, 32.0f, base));
    float high = ceilf(corr_dim(n_rot, n_ctx_orig, 1.0f, base));
    low = low > 0 ? low : 0, high = high < n_rot - 1 ? high : n_rot - 1;
    for (int i = 0; i < n_rot / 2; i++) {
        /* ggml's rope_yarn_ramp takes i0 / 2 with i0 = 2i: the pair index */
        float y = (i - low) / fmaxf(0.001f, high - low);
        const float ramp = 1 - fminf(1, fmaxf(0, y));
        factors[i] *= 1.0f / (freq_scale * (1 - ramp) + ramp); /* rope_ext divides by it */
    }
}

/* llama.cpp's mscale(scale, m) = 1 + 0.1 m ln(scale) above 1, else 1. */
static float mscale(float scale, float m) {
    return scale <= 1.0f ? 1.0f : 0.1f * m * logf(scale) + 1.0f;
}

float yarn_attn_factor(float factor, float rope_attn_factor, float log_mul, int log_mul_own) {
    float a = mscale(factor, 1.0f);
    if (log_mul != 0.0f) /* DeepSeek: mscale and mscale_all_dim; 1 when they are equal */
        a = mscale(factor, log_mul_own && log_mul != 1.0f ? log_mul : 1.0f) /
            mscale(factor, log_mul);
    /* llama.cpp cancels the factor ggml's rope_yarn multiplies in again */
    return a / (1.0f + 0.1f * logf(factor)) * rope_attn_factor;
}
