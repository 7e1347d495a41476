/* attn_sinks.h - causal attention with sinks (gpt-oss): each head h has a learned logit
 * sink_h that joins every softmax's denominator and contributes no value:
 *   a_t = exp(s_t - M) / (sum_u exp(s_u - M) + exp(sink_h - M)),  M = max(max_u s_u, sink_h)
 * with s_t = scale q.k_t (ggml_soft_max_add_sinks). Layout as attention_batch_window. */
#ifndef SCARCE_ATTN_SINKS_H
#define SCARCE_ATTN_SINKS_H

void attention_sinks(float *out, const float *q, const float *k, const float *v, int B, int pos0,
                     int n_head, int n_head_kv, int head_dim, int kv_stride, float scale,
                     int window, const float *sinks);

#endif
