/* moe.h - mixture-of-experts FFN: router -> softmax -> top-k -> renormalised weights ->
 * only the chosen experts' FFNs run, summed with their weights (Mixtral's rule). */
#ifndef SCARCE_MOE_H
#define SCARCE_MOE_H

#include "forward.h"

/* out[b] = sum_{e in topk(b)} weight_e * down_e(swiglu(gate_e x[b], up_e x[b])) for b < B.
 * x: [B][n_embd] (normed). Adds the bytes of the router and of every expert read to the
 * session's stats (an expert chosen by several tokens of a batch is read once). */
int moe_ffn(session *s, int layer, const float *x, int B, float *out, scarce_error *err);

/* The routing of one token: the k chosen experts (descending weight) and their weights. */
void moe_route(const float *router_logits, int n_expert, int k, int *chosen, float *weights);

#endif
