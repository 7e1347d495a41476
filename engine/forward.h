/* forward.h - the transformer forward pass over one or a batch of tokens.
 *
 * A session is a model plus everything one sequence needs: the KV cache and the
 * activation buffers. forward() appends n tokens at positions cache.n_pos.. and
 * returns their logits. */
#ifndef SCARCE_FORWARD_H
#define SCARCE_FORWARD_H

#include "kvcache.h"
#include "model.h"
#include "stats.h"

typedef struct {
    int batch_cap;       /* tokens the buffers hold */
    float *x;            /* [B][n_embd] residual stream */
    float *xb, *xb2;     /* [B][n_embd] */
    float *q;            /* [B][n_head*head_dim] */
    float *k, *v;        /* [B][kv_dim] */
    float *hb, *hb2;     /* [B][n_ff] */
    float *moe_out;      /* [B][n_embd] */
    float *router;       /* [B][n_expert] */
    float *logits;       /* [B][n_vocab] */
    void *scratch;       /* moe_ffn's and mla_attention's per-pass buffers (moe.h, mla.h) */
} run_state;

typedef struct moe_stats moe_stats; /* engine/moe.h */

typedef struct {
    const model *m;
    kvcache cache;
    run_state rs;
    run_stats stats;
    int n_layer_run; /* layers actually run (< n_layer only for self-speculative drafts) */
    moe_stats *moe;  /* MoE routing counters when set by the caller (owned by the caller) */
    /* Optional observer of weight-matmul inputs (scarce imatrix), NULL = off: called with
     * the weight's GGUF name ("blk.0.attn_q.weight") and the B rows of cols activations
     * it is about to multiply (dense layers and output; not MoE experts). */
    void (*act_hook)(void *ctx, const char *weight, const float *x, int B, int64_t cols);
    void *act_hook_ctx;
} session;

/* n_ctx: positions the cache holds (0 = the model's training context). */
int session_init(session *s, const model *m, int n_ctx, scarce_error *err);
void session_free(session *s);

/* Runs tokens[0..n) at positions cache.n_pos..; fails (without changing the cache) when
 * they do not fit in the context or an id is out of range. On success returns a pointer
 * to logits: n rows of n_vocab when all_logits, else one row for the last token. */
const float *forward(session *s, const int *tokens, int n, int all_logits, scarce_error *err);

#endif
