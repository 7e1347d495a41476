/* mla.h - multi-head latent attention (DeepSeek-V2/V3, llama.cpp's deepseek2 with
 * attn_k_b / attn_v_b), in the absorbed form.
 *
 * Per token (x normed, [n_embd]); R = kv_lora_rank, nope = key_length_mla - n_rot:
 *   q      = wq x, or wq_b rmsnorm(wq_a x)          [n_head][nope + n_rot]
 *   [c, k] = wkv_a x;  c = rmsnorm(c) [R];  k = rope(k) [n_rot]  -> the cache row [c, k]
 *   q_h    = [W_kb,h q_h,nope ; rope(q_h,rope)]     [R + n_rot] (W_kb,h: [R x nope])
 *   a_h,t  = softmax_t(q_h . [c_t, k_t] / sqrt(nope + n_rot))
 *   o_h    = W_vb,h sum_t a_h,t c_t                 [value_length_mla]
 *   out    = wo [o_1 .. o_n_head]
 * The expanded form would rebuild per head k_t = [W_kb,h^T c_t, k_t] and v_t = W_vb,h c_t
 * for every cached position at every step (or cache them, n_head * (nope + n_rot + v) floats
 * per position instead of R + n_rot); absorbing W_kb into the query and W_vb after the
 * weighted sum reads only the R + n_rot floats per cached position: one key/value head
 * shared by all query heads (multi-query attention over the latent). */
#ifndef SCARCE_MLA_H
#define SCARCE_MLA_H

#include "forward.h"

/* Floats per cached position and layer: kv_lora_rank + n_rot. */
int mla_cache_width(const model_config *c);
/* Floats per position and layer ordinary attention would cache for the same heads:
 * n_head * (key_length_mla + value_length_mla). */
int mla_expanded_width(const model_config *c);
/* Bytes of mla_attention's per-pass buffers for up to B tokens (run_state.scratch). */
size_t mla_scratch_bytes(const model_config *c, int B);
/* Attention block of layer l for B tokens at pos0.. (x normed in rs->xb); result in rs->xb. */
int mla_attention(session *s, int l, int B, int pos0, scarce_error *err);

#endif
