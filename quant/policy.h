/* policy.h - which type each tensor of a model gets when quantizing to a scheme.
 *
 * A scheme is a requested type name ("q4_0", "q4_k_m", "fp8_e4m3"): a base type for the
 * weight matrices, llama.cpp's file_type number, and for llama.cpp's mixes (q4_k_m ...)
 * the per-tensor upgrades of llama.cpp's llama_tensor_get_type (facts looked up in
 * llama-quant.cpp, rewritten here). When a row length fits no block of the chosen type,
 * policy_fallback() picks the nearest type that fits with at least as many bits. */
#ifndef SCARCE_POLICY_H
#define SCARCE_POLICY_H

#include <stddef.h>
#include <stdint.h>

enum quant_mix {
    MIX_NONE,   /* every matrix in the base type (output rule still applies, see below) */
    MIX_PURE,   /* every matrix in the base type, no exception at all (f32/f16/bf16, own types) */
    MIX_Q2_K,   /* llama.cpp Q2_K   */
    MIX_Q2_K_S, /* llama.cpp Q2_K_S */
    MIX_Q3_K_S,
    MIX_Q3_K_M,
    MIX_Q3_K_L,
    MIX_Q4_K_S,
    MIX_Q4_K_M,
    MIX_Q5_K_S,
    MIX_Q5_K_M,
    MIX_IQ2_M,    /* llama.cpp IQ2_M: IQ2_S with IQ3_S / Q4_K upgrades */
    MIX_IQ3_XS,   /* llama.cpp IQ3_XS: IQ3_S, q/k and the middle gate/up in IQ3_XXS */
    MIX_IQ3_M,    /* llama.cpp IQ3_M: IQ3_S, attn_v/attn_output in Q4_K */
    MIX_MXFP4_MOE /* llama.cpp MXFP4_MOE: experts MXFP4, every other matrix Q8_0 */
};

typedef struct {
    const char *name;   /* what the user types */
    uint32_t base;      /* quant type id of most matrices */
    uint32_t file_type; /* general.file_type: llama.cpp's LLAMA_FTYPE, ours >= 200 */
    int mix;            /* enum quant_mix */
} quant_scheme;

/* NULL when the name is unknown (case-insensitive). */
const quant_scheme *quant_scheme_by_name(const char *name);
/* i = 0, 1, ... until NULL. */
const quant_scheme *quant_scheme_at(int i);

/* What the policy needs to know of the model. */
typedef struct {
    int n_layer;     /* {arch}.block_count */
    int n_gqa;       /* n_head / n_head_kv */
    int has_output;  /* output.weight present (else token_embd doubles as output) */
    int n_expert;    /* {arch}.expert_count (0: dense) */
    int has_imatrix; /* llama.cpp changes a few choices when an importance matrix is given */
    int pure;        /* --pure: no per-tensor upgrades at all */
} policy_model;

/* Type for tensor `name` of n_dims dims with rows of ne0 elements. reason (cap bytes) is
 * set to "" when the type is the scheme's base, else to why it differs ("1-D", "output",
 * "use_more_bits layer 3", "ne0 172 % 32 != 0: fallback q4_k -> f16" ...). */
uint32_t policy_tensor_type(const quant_scheme *s, const policy_model *pm, const char *name,
                            int n_dims, int64_t ne0, char *reason, size_t cap);

/* A type whose block divides ne0, at least as many bits per weight as `type`
 * (llama.cpp's table for its types: the IQ types of 256 -> iq4_nl; q2_k, q3_k, tq1_0,
 * tq2_0, q2_0 -> q4_0; q4_k -> q5_0; q5_k -> q5_1; q6_k -> q8_0; f16 when nothing fits).
 * Returns `type` itself when it fits. */
uint32_t policy_fallback(uint32_t type, int64_t ne0);

/* 1 when llama.cpp refuses to write tensor `name` in `type` without an importance matrix
 * (the sub-3-bit IQ types, and Q2_K in a q2_k_s file; never token_embd or output): their
 * codebook searches need to know which columns matter. */
int policy_needs_imatrix(const quant_scheme *s, const char *name, uint32_t type);

#endif
