/* ref_moe.h - double-precision references of the mixture-of-experts FFN (every routing
 * rule of llama.cpp's build_moe_ffn: softmax or sigmoid, renormalised or not, scaled,
 * selection bias, expert groups, shared experts) and of DeepSeek's multi-head latent
 * attention, in the expanded form (keys and values rebuilt per head from the cached
 * latent: the engine computes the absorbed form, so the two agree only if both are
 * right). Used by tests/ref_forward.c; nothing here comes from engine/. */
#ifndef SCARCE_REF_MOE_H
#define SCARCE_REF_MOE_H

#include "../engine/gguf.h"

enum { REF_MAX_USED = 16 };

/* out[n_embd] = the MoE FFN of layer l on h (normed); chosen[k] the experts by descending
 * selection score. Returns k, or 0 when layer l has no router (a dense layer). The rule
 * comes from the architecture name and, for deepseek2, the file's keys. */
int ref_moe_ffn(const gguf_file *f, const char *arch, int l, const double *h, int n_embd,
                double *out, int *chosen);

/* The angle of rope pair j at pos (ggml_rope_ext): pos base^(-2j/n_rot) / ff[j] (ff NULL:
 * 1) times scale, or with yarn (ext_factor 1) that mixed with the unscaled angle by YaRN's
 * ramp over n_ctx_orig; *mag is multiplied by YaRN's 1 + 0.1 ln(1 / scale). */
double ref_rope_theta(int j, int n_rot, int pos, double base, double scale, const double *ff,
                      int yarn, int n_ctx_orig, double *mag);

typedef struct {
    int n_embd, n_head, n_rot, kv_lora, q_lora, k_mla, v_mla;
    double eps, base;
    double freq_scale; /* 1 / rope.scaling.factor */
    int yarn, n_ctx_orig;
    double kq_scale;  /* 1 / sqrt(k_mla), times DeepSeek's YaRN mscale^2 */
    double rope_attn; /* the attn_factor llama.cpp gives ggml_rope_ext */
} ref_mla_shape;

/* The shape from the file's keys (deepseek2). */
ref_mla_shape ref_mla_read(const gguf_file *f, const char *arch);
/* Latent attention of layer l for the token at pos with normed input h: appends its
 * latent and rope key to cache (rows of kv_lora + n_rot, positions 0..pos) and writes
 * o[n_head * v_mla], the input of attn_output. */
void ref_mla_attention(const gguf_file *f, const ref_mla_shape *s, int l, int pos, const double *h,
                       double *cache, double *o);

#endif
