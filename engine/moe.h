/* moe.h - mixture-of-experts FFN.
 *
 * Per token x (normed, [n_embd]):
 *   logits = W_gate_inp x                      ([n_expert], the router)
 *   p      = gating(logits)                    (softmax for Mixtral)
 *   S      = the k largest p (k = n_expert_used)
 *   w_e    = p_e / sum_{j in S} p_j            (Mixtral renormalises over the chosen k)
 *   y      = sum_{e in S} w_e * down_e(silu(gate_e x) * up_e x)
 * Only the chosen experts run. In a batch, tokens are grouped by expert so that each
 * chosen expert's weights are read once per pass, whatever the number of its tokens. */
#ifndef SCARCE_MOE_H
#define SCARCE_MOE_H

#include <stdint.h>

#include "forward.h"

#define MOE_MAX_EXPERT 256 /* experts per layer (Mixtral 8, DeepSeek 256) */
#define MOE_MAX_USED 16    /* k of top-k */

/* How router logits become expert weights; new families add a value here. */
enum moe_gating {
    MOE_GATING_SOFTMAX_RENORM = 0, /* softmax over all, top-k, renormalise (Mixtral) */
    MOE_GATING_SOFTMAX = 1,        /* softmax over all, top-k, weights used as they are */
    MOE_GATING_SIGMOID = 2,        /* sigmoid per expert, top-k, weights as they are */
};
const char *moe_gating_name(int gating);

/* The routing of one token: chosen[0..k) by descending weight, their weights. Ties go to
 * the lower expert index. */
void moe_route(const float *router_logits, int n_expert, int k, int gating, int *chosen,
               float *weights);

/* out[b] = MoE FFN of x[b] for b < B (x: [B][n_embd], normed). Adds the router's bytes and
 * each distinct chosen expert's bytes (once per pass) to s->stats; updates s->moe when set. */
int moe_ffn(session *s, int layer, const float *x, int B, float *out, scarce_error *err);

/* Bytes of one expert (gate + up + down) of a layer. */
uint64_t moe_expert_bytes(const model *m, int layer);
/* Weight bytes one token reads when routed alone: everything but the experts (embedding
 * row included), plus the router and k of the n_expert experts of every layer. */
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
