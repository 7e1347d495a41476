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
 * floats per head (n_head * n_pos). Heads are split over threads. The spec (two-pass
 * softmax, libm expf) that attention_batch and its kernels are tested against. */
void attention(float *out, const float *q, const float *k, const float *v, int n_pos,
               int n_head, int n_head_kv, int head_dim, int kv_stride, float *att);

/* Causal attention of a batch: query b (at position pos0 + b) sees positions
 * 0..pos0+b. q, out: B rows of n_head * head_dim; k, v: the cache from position 0,
 * rows of kv_stride floats. Equals attention() per query up to float rounding; runs
 * all B * n_head_kv (query, kv group) items in one parallel region, split by cost. */
void attention_batch(float *out, const float *q, const float *k, const float *v, int B,
                     int pos0, int n_head, int n_head_kv, int head_dim, int kv_stride);

/* One work item of attention_batch: the n_group heads sharing one kv head, for one query
 * over n_pos positions. q, out: n_group * head_dim floats; k, v: that kv head's first
 * element at position 0, rows kv_stride apart; scale = 1/sqrt(head_dim). */
typedef void (*attention_heads_fn)(float *out, const float *q, const float *k, const float *v,
                                   int n_pos, int n_group, int head_dim, int kv_stride,
                                   float scale);
/* Scalar reference: online softmax (running max, rescaled sum), libm expf. */
void attention_heads_ref(float *out, const float *q, const float *k, const float *v, int n_pos,
                         int n_group, int head_dim, int kv_stride, float scale);
void swiglu_ref(float *gate, const float *up, int n);

/* The ISA-specific ops; NULL fields (or k == NULL) select the scalar references.
 * Set by kernels_init (ref_install, then an ISA's install), like the type table. */
typedef struct {
    attention_heads_fn attention_heads;
    void (*swiglu)(float *gate, const float *up, int n);
} ops_kernels;
void ops_install(const ops_kernels *k);

#endif
