/* moe.h - mixture-of-experts FFN.
 *
 * Per token x (normed, [n_embd]), with the layer's routing rule (model_config.route):
 *   logits = W_gate_inp x                      ([n_expert], the router)
 *   p      = gating(logits)                    (softmax, or sigmoid per expert)
 *   s      = p + exp_probs_b                   (selection only: DeepSeek-V3's bias)
 *   groups: with n_group > 1 only the n_group_used groups of experts with the best
 *           top-2 sums of s compete (DeepSeek-V3's group-limited routing)
 *   S      = the k largest s (k = n_expert_used)
 *   w_e    = p_e [/ sum_{j in S} p_j if norm] [* scale]
 *   y      = sum_{e in S} w_e * down_e(silu(gate_e x) * up_e x)
 *            [+ g * down_sh(silu(gate_sh x) * up_sh x), g = sigmoid(w_sh . x) or 1]
 * (llama.cpp's build_moe_ffn). Only the chosen experts run. In a batch, tokens are grouped
 * by expert so that each chosen expert's weights are read once per pass, whatever the
 * number of its tokens. */
#ifndef SCARCE_MOE_H
#define SCARCE_MOE_H

#include <stddef.h>
#include <stdint.h>

#include "forward.h"

#define MOE_MAX_EXPERT 256 /* experts per layer (Mixtral 8, Qwen3 128, DeepSeek-V3 256) */
#define MOE_MAX_USED 16    /* k of top-k */

/* The routing of one token: chosen[0..k) by descending selection score, their weights.
 * Ties go to the lower expert index. sel_bias: [n_expert] or NULL. */
void moe_route(const moe_rule *rule, const float *router_logits, const float *sel_bias,
               int n_expert, int k, int *chosen, float *weights);

/* gpt-oss's clamped SwiGLU in place: gate = min(gate, 7) sigmoid(1.702 min(gate, 7))
 * (clamp(up, -7, 7) + 1). */
void moe_swiglu_oai(float *gate, const float *up, int n);

/* Bytes of moe_ffn's per-pass buffers for up to B tokens (run_state.scratch holds them,
 * allocated once per session); 0 for a dense model. */
size_t moe_scratch_bytes(const model_config *c, int B);
/* out[b] = MoE FFN of x[b] for b < B (x: [B][n_embd], normed). Adds
 * each distinct chosen expert's bytes (once per pass) to s->stats (the router's and the
 * shared experts' are in the layer's pass_bytes); updates s->moe when set. */
int moe_ffn(session *s, int layer, const float *x, int B, float *out, scarce_error *err);

/* Bytes of one routed expert (its rows of every _exps tensor) of a layer; 0 for a dense one. */
uint64_t moe_expert_bytes(const model *m, int layer);
/* Weight bytes one token reads when routed alone: every tensor but the embedding matrix
 * and the routed experts, one embedding row, and k routed experts of every MoE layer. */
uint64_t moe_active_bytes(const model *m);

/* ---- routing statistics (kept by moe_ffn when session.moe points to one) ---------------- */
struct moe_stats {
    int n_layer, n_expert, k;
    uint64_t *tokens;       /* [n_layer] tokens routed */
    uint64_t *chosen;       /* [n_layer][n_expert] times each expert was chosen */
    uint64_t *pairs;        /* [n_layer] consecutive token pairs seen */
    uint64_t *reused;       /* [n_layer] experts of a token also chosen by the previous one */
    int *last_chosen;       /* [n_layer][k] routing of the last token routed */
    float *last_weight;     /* [n_layer][k] */
    int *has_last;          /* [n_layer] */
};

/* NULL when out of memory or the model is dense. */
moe_stats *moe_stats_new(const model *m);
void moe_stats_free(moe_stats *st);
/* Forgets everything (a new sequence: its first token has no predecessor). */
void moe_stats_reset(moe_stats *st);

/* Load balance of layer l: coefficient of variation of the choice counts (std / mean; 0 =
 * perfectly even), entropy of the choice frequencies in nats (max log(n_expert)), and the
 * fraction of a token's experts that the previous token also chose (k/N expected at random). */
double moe_stats_cv(const moe_stats *st, int l);
double moe_stats_entropy(const moe_stats *st, int l);
double moe_stats_reuse(const moe_stats *st, int l);

#endif
