/* model.h - what a model is: its configuration (from GGUF metadata) and its weights
 * (pointers into the mmapped file). Architectures: llama, mixtral (llama + experts). */
#ifndef SCARCE_MODEL_H
#define SCARCE_MODEL_H

#include "../kernels/matmul.h"
#include "error.h"
#include "gguf.h"

typedef struct {
    char arch[32];   /* general.architecture */
    int n_vocab;
    int n_embd;      /* model width */
    int n_layer;
    int n_head;      /* query heads */
    int n_head_kv;   /* key/value heads (GQA: n_head_kv divides n_head) */
    int head_dim;    /* n_embd / n_head */
    int n_ff;        /* FFN hidden width (of one expert for MoE) */
    int n_ctx_train; /* context length the model was trained with */
    int n_rot;       /* rope dimensions (head_dim unless the file says otherwise) */
    float rope_freq_base;
    float rms_eps;
    int n_expert;      /* 0 for dense models */
    int n_expert_used; /* k of top-k routing */
    int expert_gating; /* enum moe_gating (engine/moe.h): how router logits become weights */
} model_config;

typedef struct {
    float *attn_norm, *ffn_norm;    /* [n_embd], converted to f32 at load */
    qmatrix wq, wk, wv, wo;         /* [n_embd -> n_head*head_dim], [.. -> n_head_kv*head_dim] */
    qmatrix ffn_gate, ffn_up;       /* dense FFN: [n_embd -> n_ff] */
    qmatrix ffn_down;               /* [n_ff -> n_embd] */
    qmatrix ffn_gate_inp;           /* MoE router: [n_embd -> n_expert] */
    qmatrix *gate_exps, *up_exps, *down_exps; /* MoE: n_expert matrices each */
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
    layer_weights *layers;
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

#endif
