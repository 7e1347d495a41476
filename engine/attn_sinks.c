/* attn_sinks.c - see attn_sinks.h. Scalar, threads over (query, head): only gpt-oss uses
 * it, and its sinks change the normalisation, not the reads. */
#include "attn_sinks.h"

#include <math.h>
#include <stdlib.h>

void attention_sinks(float *out, const float *q, const float *k, const float *v, int B, int pos0,
                     int n_head, int n_head_kv, int head_dim, int kv_stride, float scale,
                     int window, const float *sinks) {
    const int group = n_head / n_head_kv, q_dim = n_head * head_dim;
#pragma omp parallel for schedule(dynamic, 1) collapse(2)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < n_head; h++) {
            const int p = pos0 + b, first = window && p >= window ? p - window + 1 : 0;
            const float *qh = q + (size_t)b * q_dim + (size_t)h * head_dim;
            const size_t off = (size_t)(h / group) * head_dim;
            float *o = out + (size_t)b * q_dim + (size_t)h * head_dim;
            float *s = malloc(sizeof(float) * (p - first + 1));
            float mx = sinks[h], sum = 0.0f;
            for (int t = first; t <= p; t++) {
                float dot = 0.0f;
                for (int i = 0; i < head_dim; i++)
                    dot += qh[i] * k[(size_t)t * kv_stride + off + i];
                s[t - first] = dot * scale;
                mx = fmaxf(mx, s[t - first]);
            }
            for (int t = first; t <= p; t++) sum += s[t - first] = expf(s[t - first] - mx);
            sum += expf(sinks[h] - mx);
            for (int i = 0; i < head_dim; i++) o[i] = 0.0f;
            for (int t = first; t <= p; t++) {
                const float a = s[t - first] / sum, *vt = v + (size_t)t * kv_stride + off;
                for (int i = 0; i < head_dim; i++) o[i] += a * vt[i];
            }
            free(s);
        }
}
