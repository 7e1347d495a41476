/* model.h - what a model is: its configuration (from GGUF metadata) and its weights
 * (pointers into the mmapped file). The architectures are the rows of engine/arch.c;
 * their differences end up here as numbers, flags and optional (NULL) tensors that
 * forward.c applies without knowing which architecture it runs. */
#ifndef SCARCE_MODEL_H
#define SCARCE_MODEL_H

#include "../kernels/matmul.h"
#include "arch.h"
#include "error.h"
#include "gguf.h"

/* The routing rule of MoE layers (engine/moe.h applies it; --moe-stats prints it). */
typedef struct {
    int gating;     /* enum moe_gating (arch.h) */
    int norm;       /* the k chosen weights are divided by their sum */
    float scale;    /* then multiplied by it (expert_weights_scale; 1 = none) */
    int n_group;    /* group-limited routing: experts in n_group groups (0 = none) ... */
    int n_group_used; /* ... of which the best n_group_used (by their top-2 sum) compete */
} moe_rule;

typedef struct {
    char arch[32];   /* general.architecture */
    const arch_desc *desc; /* its row in engine/arch.c */
    int n_vocab;
    int n_embd;      /* model width */
    int n_layer;
    int n_head;      /* query heads */
    int n_head_kv;   /* key/value heads (GQA: n_head_kv divides n_head) */
    int head_dim;    /* attention.key_length, else n_embd / n_head (may differ: Qwen3) */
    int n_ff;        /* FFN hidden width (of one expert for MoE) */
    int n_ctx_train; /* context length the model was trained with */
    int n_rot;       /* rope dimensions (head_dim unless the file says otherwise) */
    float rope_freq_base;   /* global layers' base (local ones: layer_weights.rope_base) */
    float rope_freq_scale;  /* 1 / rope.scaling.factor (linear scaling; 1 = none; YaRN's
                               scaling is in model.rope_freqs, layers rope with scale 1) */
    float rope_attn_factor; /* rope.scaling.attn_factor: scales rotated values (Phi-3) */
    int rope_neox;          /* rope pairs (x[i], x[i + n_rot/2]) instead of (x[2i], x[2i+1]) */
    int n_ctx_orig;         /* rope.scaling.original_context_length: above it Phi-3 uses its
                               long rope factors */
    int rope_yarn;          /* YaRN (engine/yarn.c): model.rope_freqs holds its factors */
    float attn_mscale;      /* scores times attn_mscale^2 (DeepSeek's YaRN mscale; 1 = none) */
    float rms_eps;
    float embd_scale;       /* embeddings are multiplied by it (Gemma: sqrt(n_embd)) */
    float attn_scale;       /* attention scores are q.k times it (1/sqrt(head_dim) mostly) */
    float attn_softcap;     /* scores = c tanh(scores / c) when > 0 (attn_logit_softcapping) */
    float final_softcap;    /* logits = c tanh(logits / c) when > 0 (final_logit_softcapping) */
    int ffn_act;            /* enum ffn_act (arch.h): SiLU or GELU(tanh) gate */
    int n_swa;              /* attention.sliding_window of the local layers (0 = none) */
    int n_expert;      /* 0 for dense models */
    int n_expert_used; /* k of top-k routing */
    moe_rule route;    /* how router logits become the chosen experts and their weights */
    char route_name[48]; /* e.g. "softmax+renorm" (the report's `gating`) */
    int n_ff_exp;      /* one routed expert's hidden width (expert_feed_forward_length) */
    int n_expert_shared; /* shared experts (DeepSeek: expert_shared_count; Qwen2-MoE: 1) */
    int n_ff_shexp;    /* hidden width of the shared experts together */
    int n_layer_dense_lead; /* the first layers have a dense FFN (leading_dense_block_count) */
    int n_ff_max;      /* the widest FFN hidden layer (scratch size) */
    /* multi-head latent attention (ARCH_MLA; engine/mla.c), 0 otherwise: */
    int n_lora_q;       /* attention.q_lora_rank: q through a rank-n_lora_q bottleneck (0 = none) */
    int n_lora_kv;      /* attention.kv_lora_rank: the cached latent's width */
    int n_embd_head_k_mla, n_embd_head_v_mla; /* attention.key_length_mla, value_length_mla */
} model_config;

typedef struct {
    float *attn_norm, *ffn_norm;    /* [n_embd], converted to f32 at load */
    qmatrix wq, wk, wv, wo;         /* [n_embd -> n_head*head_dim], [.. -> n_head_kv*head_dim];
                                       views into attn_qkv when the file fuses them */
    /* optional (NULL = absent): */
    float *bq, *bk, *bv;            /* q/k/v biases (Qwen2) */
    float *q_norm, *k_norm;         /* [head_dim] RMSNorm weights per head, before rope */
    float *post_attn_norm, *post_ffn_norm; /* [n_embd] norms of the block outputs (Gemma) */
    /* per-layer attention: */
    int fused_qkv, fused_up; /* wq/wk/wv, ffn_gate/ffn_up are views of one file tensor */
    int window;        /* sliding window (positions seen, current included); 0 = all */
    int use_rope;      /* 0: this layer has no positional encoding (SmolLM3) */
    float rope_base, rope_scale; /* local layers have their own base and no scaling */
    qmatrix ffn_gate, ffn_up;       /* dense FFN: [n_embd -> n_ff]; views into ffn_up when it
                                       holds gate and up rows (Phi-3) */
    qmatrix ffn_down;               /* [n_ff -> n_embd] */
    qmatrix ffn_gate_inp;           /* MoE router: [n_embd -> n_expert] */
    qmatrix *gate_exps, *up_exps, *down_exps; /* MoE: n_expert matrices each; NULL = dense layer */
    float *sinks, *bo;              /* gpt-oss: [n_head] attention sinks, [n_embd] output bias */
    float *gate_inp_b;              /* [n_expert] router bias (gpt-oss) or NULL */
    float *gate_exps_b, *up_exps_b, *down_exps_b; /* [n_expert][n_ff_exp], .., [n_expert][n_embd] */
    float *exp_probs_b;             /* [n_expert] bias added to choose experts, not to weigh
                                       them (DeepSeek-V3) or NULL */
    qmatrix shexp_gate, shexp_up, shexp_down; /* shared experts (data NULL = none) */
    float *shexp_gate_inp;          /* [n_embd]: shared expert scaled by sigmoid(. x) or NULL */
    /* MLA (ARCH_MLA): q = wq x or wq_b rmsnorm(wq_a x); [latent, k_pe] = wkv_a x */
    qmatrix wq_a, wq_b, wkv_a;
    float *q_a_norm, *kv_a_norm;    /* [n_lora_q], [n_lora_kv] */
    qmatrix *wk_b, *wv_b;           /* n_head matrices: [nope -> n_lora_kv], [n_lora_kv -> v] */
    uint64_t pass_bytes;   /* bytes of this layer's tensors read once per pass (all but the
                              routed experts' ones), from the file's tensor table */
    uint64_t expert_bytes; /* bytes of one routed expert (its rows of every _exps tensor) */
} layer_weights;

/* Tokens per forward pass (longer inputs are split): the kernel scratch is sized for it. */
#define FORWARD_BATCH_CAP 64

typedef struct {
    model_config cfg;
    gguf_file *file;
    kernel_ctx *kernels; /* this model's kernel configuration, thread choices and scratch */
    qmatrix token_embd;  /* [n_vocab rows of n_embd] */
    float *output_norm;  /* [n_embd] */
    qmatrix output;      /* [n_vocab rows of n_embd]; token_embd when tied */
    float *rope_freqs;   /* [n_rot/2] frequency divisors (Llama 3.x rope_freqs.weight) or NULL */
    float *rope_long, *rope_short; /* Phi-3 longrope factors [n_rot/2] or NULL */
    layer_weights *layers;
    uint64_t global_pass_bytes; /* bytes read once per pass outside the layers: the output
                                   matrix (token_embd when tied), output_norm, rope factors */
} model;

/* How a model is loaded: how its kernels run (tools: kernel_config_from_env at start-up,
 * then the -t threads). */
typedef struct {
    kernel_config kernels;
} model_options;

/* The defaults: kernel_config_default() (no environment read). */
model_options model_options_default(void);

/* Opens and binds a GGUF model; every shape is checked against the configuration.
 * opts NULL: model_options_default(). */
model *model_load(const char *path, const model_options *opts, scarce_error *err);
/* Binds an already open file (takes ownership of f on success). */
model *model_from_gguf(gguf_file *f, const model_options *opts, scarce_error *err);
void model_free(model *m);
/* Threads of this model's matmuls (1 .. KERNEL_MAX_THREADS). */
int model_set_threads(model *m, int n_threads, scarce_error *err);
const kernel_config *model_kernel_config(const model *m);
/* Total bytes of all weight tensors. */
size_t model_weight_bytes(const model *m);
/* Calls fn(matrix, arg) on every matrix used as a matmul weight (output, attention, FFN,
 * router, experts; not token_embd, read row by row); returns the OR of the results. */
int model_each_matmul_weight(model *m, int (*fn)(qmatrix *, void *), void *arg);

#endif
