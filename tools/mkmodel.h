/* mkmodel.h - scarce mkmodel's arguments and tensor list, shared by cmd_mkmodel.c (the
 * common layers, metadata and writing) and mkmodel_moe.c (experts, shared experts, latent
 * attention). */
#ifndef SCARCE_MKMODEL_H
#define SCARCE_MKMODEL_H

#include <stdint.h>
#include <stdio.h>

#include "../include/scarce.h"

#define CMD "mkmodel"

typedef struct {
    const char *out, *vocab, *type_name, *arch_name;
    scarce_arch_info arch;
    long n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx, n_expert, n_expert_used, seed;
    long head_dim, n_rot, swa;                          /* 0 = n_embd / n_head, head_dim, none */
    long rope_base, rope_freqs, longrope, random_norms; /* the last three: 0/1 */
    double attn_softcap, final_softcap;                 /* written when > 0 */
    /* MoE (mkmodel_moe.c); 0 = the architecture's default */
    long n_ff_exp, n_ff_shexp, n_expert_shared, n_dense_lead, gating, weights_norm;
    long n_group, n_group_used, probs_bias;
    double weights_scale;
    /* latent attention (deepseek2): ranks; value head width (0 = head_dim) */
    long q_lora_rank, kv_lora_rank, v_head_dim;
    double yarn,
        yarn_log_mul; /* YaRN factor (> 1: rope.scaling.type yarn), DeepSeek's mscale_all_dim */
} mk_args;

typedef struct {
    char name[64];
    const char *type; /* "f32", the --type, or "f16" for rows not a multiple of its block */
    int n_dims;
    int64_t ne[3];
    int is_norm;       /* all ones (or 1 + noise with --random-norms) */
    int is_rope_freqs; /* Llama 3.1 frequency factors */
    float longrope;    /* > 0: Phi-3 style factors 1 + longrope * i */
} mk_tensor;

typedef struct {
    mk_tensor *t;
    int n, cap;
} tensor_list;

/* Appends a tensor (1-D ones are norms: set is_norm = 0 for a random vector). */
int mk_add(tensor_list *l, const char *name, int n_dims, int64_t ne0, int64_t ne1, int64_t ne2);
void arch_u32(scarce_gguf_writer *w, const mk_args *a, const char *suffix, long v);
void arch_f32(scarce_gguf_writer *w, const mk_args *a, const char *suffix, float v);

/* mkmodel_moe.c */
void mk_moe_usage(FILE *out);
long *mk_moe_int_flag(mk_args *a, const char *flag, long *hi);
int mk_moe_zero_ok(const mk_args *a, const long *field);
/* Defaults and checks of the MoE / MLA flags against the architecture; 0 or an exit code. */
int mk_moe_check(mk_args *a);
/* The FFN tensors of MoE layer i: router, experts, selection bias, shared experts. */
int mk_moe_ffn_tensors(const mk_args *a, long i, tensor_list *l);
/* The attention tensors of an MLA layer i. */
int mk_mla_tensors(const mk_args *a, long i, tensor_list *l);
void mk_moe_keys(scarce_gguf_writer *w, const mk_args *a);

#endif
