/* ops.h - the non-matmul blocks of a transformer, f32. Names follow the math. */
#ifndef SCARCE_OPS_H
#define SCARCE_OPS_H

#include <stdint.h>

/* out = x / sqrt(mean(x^2) + eps) * weight */
void rmsnorm(float *out, const float *x, const float *weight, int n, float eps);
/* Rotary position embedding on consecutive pairs (x[2i], x[2i+1]) of each head
 * (llama's "normal" rope): angle = pos * freq_base^(-2i / n_rot), for 2i < n_rot. */
void rope(float *x, int n_head, int head_dim, int n_rot, int pos, float freq_base);
/* Rope with every variant the architectures use (ggml_rope_ext without YaRN):
 * pair i < n_rot/2 turns by theta_i = freq_scale * pos * freq_base^(-2i/n_rot) /
 * freq_factors[i] (factors: Llama 3.x rope_freqs, Phi-3 long/short; NULL = 1), and the
 * rotated values are scaled by attn_factor. Dimensions >= n_rot pass through. */
typedef struct {
    int n_rot;
    int neox; /* 0: pairs (x[2i], x[2i+1]) (llama); 1: pairs (x[i], x[i + n_rot/2]) (NeoX) */
    float freq_base, freq_scale, attn_factor;
    const float *freq_factors; /* [n_rot/2] or NULL */
} rope_params;
void rope_ext(float *x, int n_head, int head_dim, int pos, const rope_params *p);
/* rope_ext of q (n_head heads) and k (n_head_kv heads, or NULL) at the same position, the
 * angles computed once: the same bits as two rope_ext calls. */
void rope_ext_qk(float *q, int n_head, float *k, int n_head_kv, int head_dim, int pos,
                 const rope_params *p);
/* rmsnorm of each of n_head vectors of head_dim, one weight[head_dim] for all (q/k norm). */
void rmsnorm_heads(float *x, const float *weight, int n_head, int head_dim, float eps);
/* x[b][i] += bias[i] for B rows of n. */
void add_bias(float *x, const float *bias, int B, int n);
/* gate = gelu(gate) * up with GELU's tanh approximation:
 * gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
void geglu_tanh(float *gate, const float *up, int n);
/* geglu_tanh with the ISA's kernel (NULL: the start-up set); geglu_tanh is its reference. */
typedef struct ops_kernels ops_kernels;
void ops_geglu(const ops_kernels *ops, float *gate, const float *up, int n);
/* In place, numerically stable (subtracts the max). */
void softmax(float *x, int n);
/* The ISA-specific ops of one kernel set (defined below). Functions taking one use it;
 * NULL means the set kernels_init chose at start-up. */
/* gate = silu(gate) * up, silu(x) = x / (1 + exp(-x)); swiglu() with the start-up set. */
void ops_swiglu(const ops_kernels *ops, float *gate, const float *up, int n);
void swiglu(float *gate, const float *up, int n);
/* One query position over n_pos cached positions, grouped-query attention:
 * out[h] = sum_t softmax_t(q[h].k[t][h/group] / sqrt(head_dim)) v[t][h/group].
 * k, v: n_pos rows of kv_stride floats (n_head_kv * head_dim used). att: n_pos scratch
 * floats per head (n_head * n_pos). Heads are split over threads. The spec (two-pass
 * softmax, libm expf) that attention_batch and its kernels are tested against. */
void attention(float *out, const float *q, const float *k, const float *v, int n_pos, int n_head,
               int n_head_kv, int head_dim, int kv_stride, float *att);

/* Causal attention of a batch: query b (at position pos0 + b) sees positions
 * 0..pos0+b. q, out: B rows of n_head * head_dim; k, v: the cache from position 0,
 * rows of kv_stride floats. Equals attention() per query up to float rounding; runs
 * its B * n_head_kv (query, kv group) items on the calling thread (a model's forward pass
 * runs them on its threads: kernel_ctx_attention, matmul.h). */
void attention_batch(float *out, const float *q, const float *k, const float *v, int B, int pos0,
                     int n_head, int n_head_kv, int head_dim, int kv_stride);
/* attention_batch with the score scale given (not 1/sqrt(head_dim)); when window > 0, a
 * sliding window: query at position p sees positions max(0, p - window + 1)..p (llama.cpp's
 * LLAMA_SWA_TYPE_STANDARD masks p - p_key >= window); when softcap > 0, scores s become
 * softcap tanh(s / softcap) (Gemma 2; scalar code). */
void attention_batch_window(const ops_kernels *ops, float *out, const float *q, const float *k,
                            const float *v, int B, int pos0, int n_head, int n_head_kv,
                            int head_dim, int kv_stride, float scale, int window, float softcap);

/* attention_batch_window's arguments, for running its items on several threads. */
typedef struct {
    const ops_kernels *ops;
    float *out;
    const float *q, *k, *v;
    int B, pos0, n_head, n_head_kv, head_dim, kv_stride, window;
    float scale, softcap;
    const float *sinks; /* [n_head] gpt-oss's sink logits (attention_heads_sinks), or NULL */
} attention_args;
/* Items [i0, i1) of the B * n_head_kv, item i = (query i / n_head_kv, kv head i % n_head_kv):
 * each writes only its own heads of out, so any split gives the same bits. */
void attention_items(const attention_args *a, int64_t i0, int64_t i1);
/* The first item of share k of n when items are split by cost (key positions read). */
int64_t attention_boundary(const attention_args *a, int k, int n);
/* Multiply-adds of the whole batch (positions read x query width). */
int64_t attention_work(const attention_args *a);

/* One work item of attention_batch: the n_group heads sharing one kv head, for one query
 * over n_pos positions. q, out: n_group * head_dim floats; k, v: that kv head's first
 * element at position 0, rows kv_stride apart; scale = 1/sqrt(head_dim). */
typedef void (*attention_heads_fn)(float *out, const float *q, const float *k, const float *v,
                                   int n_pos, int n_group, int head_dim, int kv_stride,
                                   float scale);
/* Scalar reference: online softmax (running max, rescaled sum), libm expf. */
void attention_heads_ref(float *out, const float *q, const float *k, const float *v, int n_pos,
                         int n_group, int head_dim, int kv_stride, float scale);
/* attention_heads_ref with scores soft-capped: s -> softcap tanh(s / softcap) (0 = off). */
void attention_heads_capped(float *out, const float *q, const float *k, const float *v, int n_pos,
                            int n_group, int head_dim, int kv_stride, float scale, float softcap);
/* attention_heads_ref with a sink per head (gpt-oss): sink_h is one more logit in every
 * softmax's denominator and contributes no value,
 *   a_t = exp(s_t - M) / (sum_u exp(s_u - M) + exp(sink_h - M)),  M = max(max_u s_u, sink_h)
 * (ggml_soft_max_add_sinks): the online softmax starts from max = sink_h, sum = 1.
 * Scalar code. */
void attention_heads_sinks(float *out, const float *q, const float *k, const float *v, int n_pos,
                           int n_group, int head_dim, int kv_stride, float scale,
                           const float *sinks);
void swiglu_ref(float *gate, const float *up, int n);

/* The ISA-specific ops; NULL fields (or k == NULL) select the scalar references.
 * Set by kernels_init (ref_install, then an ISA's install), like the type table. */
struct ops_kernels {
    attention_heads_fn attention_heads;
    void (*swiglu)(float *gate, const float *up, int n);
    void (*geglu)(float *gate, const float *up, int n);
};
void ops_install(const ops_kernels *k);

#endif
