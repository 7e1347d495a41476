/* ops.c - rmsnorm, rope, softmax, swiglu, attention (f32). */
#include "ops.h"

#include <math.h>
#include <stddef.h>

/* x * rsqrt(mean(x^2) + eps) * w  (llama: RMSNorm) */
void rmsnorm(float *out, const float *x, const float *weight, int n, float eps) {
    float ss = 0.0f;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    float scale = 1.0f / sqrtf(ss / n + eps);
    for (int i = 0; i < n; i++) out[i] = x[i] * scale * weight[i];
}

void rope(float *x, int n_head, int head_dim, int n_rot, int pos, float freq_base) {
    for (int i = 0; i < n_rot; i += 2) {
        float theta = pos * powf(freq_base, -(float)i / n_rot);
        float c = cosf(theta), s = sinf(theta);
        for (int h = 0; h < n_head; h++) {
            float *v = x + h * head_dim + i;
            float a = v[0], b = v[1];
            v[0] = a * c - b * s;
            v[1] = a * s + b * c;
        }
    }
}

void softmax(float *x, int n) {
    float max = x[0];
    for (int i = 1; i < n; i++) max = x[i] > max ? x[i] : max;
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    for (int i = 0; i < n; i++) x[i] /= sum;
}

void swiglu(float *gate, const float *up, int n) {
    for (int i = 0; i < n; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void attention(float *out, const float *q, const float *k, const float *v, int n_pos,
               int n_head, int n_head_kv, int head_dim, int kv_stride, float *att) {
    const int group = n_head / n_head_kv;
    const float scale = 1.0f / sqrtf((float)head_dim);
#pragma omp parallel for schedule(static) if (n_head * n_pos * head_dim > 65536)
    for (int h = 0; h < n_head; h++) {
        const float *qh = q + h * head_dim;
        const int kv_off = (h / group) * head_dim;
        float *a = att + (size_t)h * n_pos;
        for (int t = 0; t < n_pos; t++) {
            const float *kt = k + (size_t)t * kv_stride + kv_off;
            float score = 0.0f;
            for (int i = 0; i < head_dim; i++) score += qh[i] * kt[i];
            a[t] = score * scale;
        }
        softmax(a, n_pos);
        float *oh = out + h * head_dim;
        for (int i = 0; i < head_dim; i++) oh[i] = 0.0f;
        for (int t = 0; t < n_pos; t++) {
            const float *vt = v + (size_t)t * kv_stride + kv_off;
            for (int i = 0; i < head_dim; i++) oh[i] += a[t] * vt[i];
        }
    }
}
