/* ops.h - the non-matmul blocks of a transformer, f32. Names follow the math. */
#ifndef SCARCE_OPS_H
#define SCARCE_OPS_H

#include <stdint.h>

/* out = x / sqrt(mean(x^2) + eps) * weight */
void rmsnorm(float *out, const float *x, const float *weight, int n, float eps);
/* Rotary position embedding on consecutive pairs (x[2i], x[2i+1]) of each head
 * (llama's "normal" rope): angle = pos * freq_base^(-2i / n_rot), for 2i < n_rot. */
void rope(float *x, int n_head, int head_dim, int n_rot, int pos, float freq_base);
/* In place, numerically stable (subtracts the max). */
void softmax(float *x, int n);
/* gate = silu(gate) * up, silu(x) = x / (1 + exp(-x)) */
void swiglu(float *gate, const float *up, int n);
/* One query position over n_pos cached positions, grouped-query attention:
 * out[h] = sum_t softmax_t(q[h].k[t][h/group] / sqrt(head_dim)) v[t][h/group].
 * k, v: n_pos rows of kv_stride floats (n_head_kv * head_dim used). att: n_pos scratch
 * floats per head (n_head * n_pos). Heads are split over threads. */
void attention(float *out, const float *q, const float *k, const float *v, int n_pos,
               int n_head, int n_head_kv, int head_dim, int kv_stride, float *att);

#endif
