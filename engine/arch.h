/* arch.h - one row per model architecture: what its GGUF file holds beyond the llama
 * baseline and how its transformer differs. model.c binds tensors and reads keys through
 * this description; forward.c reads the flags it leaves in the model and layer structs
 * and never looks at the architecture's name. Adding an architecture = adding a row (and,
 * for a new kind of difference, a flag and the step that honours it).
 *
 * Facts are llama.cpp's (src/llama-arch.cpp names, src/models/<arch>.cpp graphs, the
 * LLAMA_ROPE_TYPE of each arch in src/llama-model.cpp). */
#ifndef SCARCE_ARCH_H
#define SCARCE_ARCH_H

#include <stddef.h>

/* Rotary embedding layouts (ggml's rope modes). */
enum rope_style {
    ROPE_NORM = 0, /* llama: rotates consecutive pairs (x[2i], x[2i+1]) */
    ROPE_NEOX = 1, /* GPT-NeoX: rotates (x[i], x[i + n_rot/2]) */
};

/* Activation of the gated FFN: act(x Wgate) * (x Wup). */
enum ffn_act {
    FFN_SILU = 0,      /* SwiGLU */
    FFN_GELU_TANH = 1, /* GeGLU with the tanh approximation of GELU (Gemma) */
    /* gpt-oss: g = min(gate, 7), u = clamp(up, -7, 7), g sigmoid(1.702 g) (u + 1)
     * (ggml_swiglu_oai with llama.cpp's alpha 1.702, limit 7) */
    FFN_SWIGLU_OAI = 2,
};

/* Optional parts; a flag set = the file must have them (checked at load). */
enum {
    ARCH_QKV_BIAS = 1 << 0,   /* blk.N.attn_{q,k,v}.bias (Qwen2); optional elsewhere */
    ARCH_QK_NORM = 1 << 1,    /* blk.N.attn_{q,k}_norm.weight: RMSNorm per head before rope */
    ARCH_POST_NORMS = 1 << 2, /* blk.N.post_attention_norm, blk.N.post_ffw_norm (Gemma) */
    ARCH_EMBD_SCALE = 1 << 3, /* embeddings times sqrt(n_embd) (Gemma) */
    /* blk.N.attn_qkv.weight holds the q, k, v rows (Phi-3 files). Any architecture may
     * come fused or not (llama.cpp's create_tensor_qkv); the flag says what mkmodel writes */
    ARCH_FUSED_QKV = 1 << 4,
    ARCH_FUSED_UP = 1 << 5,    /* blk.N.ffn_up.weight holds gate rows then up rows (Phi-3) */
    ARCH_MOE = 1 << 6,         /* may have experts (<arch>.expert_count) */
    ARCH_TIED_OUTPUT = 1 << 7, /* the output matrix is token_embd (what mkmodel writes) */
    /* q/k norms span the whole q and k vectors, not one head (OLMoE: attn_q_norm is
     * [n_embd], applied before the heads are split) */
    ARCH_QK_NORM_FULL = 1 << 8,
    ARCH_EXPERTS = 1 << 9,  /* experts required (expert_count > 0): qwen3moe, olmoe, ... */
    ARCH_SHEXP = 1 << 10,   /* MoE layers add shared experts blk.N.ffn_{gate,up,down}_shexp */
    /* the shared expert's output is scaled by sigmoid(ffn_gate_inp_shexp . x) (Qwen2-MoE) */
    ARCH_SHEXP_GATE = 1 << 11,
    /* multi-head latent attention (DeepSeek-V2/V3): attn_kv_a_mqa, attn_k_b, attn_v_b, ... */
    ARCH_MLA = 1 << 12,
    /* gpt-oss: attn_sinks (a per-head logit in every softmax's denominator), biases on the
     * attention output, the router and every expert; the FFN's norm is post_attention_norm */
    ARCH_SINKS = 1 << 13,
};

/* How router logits become expert weights (llama.cpp's llama_expert_gating_func_type
 * numbers, the values of <arch>.expert_gating_func). */
enum moe_gating {
    MOE_GATING_SOFTMAX = 1,        /* p = softmax(logits) over all experts; top-k of p */
    MOE_GATING_SIGMOID = 2,        /* p = sigmoid(logits) per expert; top-k of p */
    MOE_GATING_SOFTMAX_WEIGHT = 3, /* top-k of the logits, softmax over the k (gpt-oss) */
};

typedef struct {
    const char *name; /* general.architecture */
    unsigned flags;
    enum rope_style rope;
    enum ffn_act ffn;
    /* Attention scores are q.k / sqrt(key_length), except for a model of exactly this many
     * layers: / sqrt(n_embd / n_head) (the Gemma 27B's query_pre_attn_scalar; llama.cpp
     * tells them by layer count). 0 = no exception. */
    int attn_scale_embd_layers;
    /* Interleaved sliding-window layers: with <arch>.attention.sliding_window set, layer l
     * is local unless l % swa_pattern == swa_pattern - 1 (Gemma 3: 5 local, 1 global);
     * <arch>.attention.sliding_window_pattern overrides it. 0 = no sliding window. Local
     * layers use rope base swa_rope_base (or <arch>.rope.freq_base_swa), no scaling. */
    int swa_pattern;
    int swa_window;      /* window when the file has no attention.sliding_window (0: none) */
    float swa_rope_base; /* 0: local layers rope as the global ones (Gemma 2) */
    /* Soft-capping s -> cap tanh(s / cap) of attention scores and of the final logits;
     * defaults when <arch>.attn_logit_softcapping / final_logit_softcapping are absent
     * (read only for architectures with reads_softcap; 0 = none). */
    int reads_softcap;
    float attn_softcap, final_softcap;
    /* Layers without rope: layer l skips it when (l + 1) % no_rope_step == 0 (SmolLM3: 4).
     * 0 = every layer uses rope. */
    int no_rope_step;
    /* Routing of MoE layers (the teaching output prints it): the gating function (0 =
     * softmax), whether the k chosen weights are renormalised to sum 1, and whether the file's
     * expert_gating_func / expert_weights_norm / expert_weights_scale keys override them
     * (DeepSeek); llama.cpp ignores those keys for the other architectures. */
    int moe_gating, moe_norm, moe_reads_keys;
    /* Without <arch>.expert_feed_forward_length an expert is n_ff / n_expert_used wide
     * (Qwen2/3-MoE in llama.cpp), else n_ff wide (Mixtral). */
    int moe_ff_per_used;
} arch_desc;

/* The row for general.architecture = name, or NULL. */
const arch_desc *arch_find(const char *name);
/* "llama, mixtral, ..." into buf (for error messages). */
void arch_names(char *buf, size_t size);
/* Row i (0..), NULL past the end: for tools that list or build every architecture. */
const arch_desc *arch_at(int i);

#endif
