/* model_impl.h - what model.c lends to the binding code of the other engine files
 * (model_moe.c: experts and shared experts; mla.c: latent attention). Not for tools. */
#ifndef SCARCE_MODEL_IMPL_H
#define SCARCE_MODEL_IMPL_H

#include "model.h"

/* Optional key "<arch>.<suffix>" into *out (kept when absent); range lo .. 2^24. */
int model_key_int(const model *m, const char *suffix, int lo, int *out, scarce_error *err);
int model_key_float(const model *m, const char *suffix, float *out, scarce_error *err);
/* A matrix [cols -> rows] (GGUF shape [cols, rows]) bound in place. */
int model_bind_matrix(const model *m, const char *name, int64_t cols, int64_t rows, qmatrix *out,
                      scarce_error *err);
/* A 3-D tensor [cols, rows, n] bound as n matrices (calloc'ed into *out). */
int model_bind_stack(const model *m, const char *name, int64_t cols, int64_t rows, int n,
                     qmatrix **out, scarce_error *err);
/* Vectors converted to f32: required (the message names the architecture) or optional. */
int model_bind_required(const model *m, const char *name, int64_t n, float **out,
                        scarce_error *err);
int model_bind_optional(const model *m, const char *name, int64_t n, float **out,
                        scarce_error *err);

/* model_moe.c: the MoE keys (after n_expert / n_expert_used / n_ff are read). */
int model_read_moe(model *m, scarce_error *err);
/* The FFN of MoE layer l: router, experts, selection bias, shared experts. */
int model_bind_moe_ffn(model *m, int l, scarce_error *err);
/* Layer l has routed experts (not one of DeepSeek's leading dense layers). */
int model_layer_is_moe(const model_config *c, int l);
/* layer pass_bytes / expert_bytes and global_pass_bytes from the file's tensor table. */
void model_count_bytes(model *m);

/* mla.c: key_length_mla, value_length_mla, q/kv ranks; the layer's MLA tensors. */
int mla_read_config(model *m, scarce_error *err);
int mla_bind_layer(model *m, int l, scarce_error *err);

/* yarn.c: factors[i] *= 1 / YaRN's per-pair scale (see yarn.c); the attention factor
 * llama.cpp hands ggml (before ggml's own 1 + 0.1 ln factor). log_mul_own: DeepSeek's
 * yarn_log_multiplier is both mscale and mscale_all_dim. */
void yarn_factors(float *factors, int n_rot, int n_ctx_orig, float base, float freq_scale);
float yarn_attn_factor(float factor, float rope_attn_factor, float log_mul, int log_mul_own);

#endif
