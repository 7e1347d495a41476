/* moe.c - mixture-of-experts routing and expert dispatch. */
#include "moe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/ops.h"

void moe_route(const float *router_logits, int n_expert, int k, int *chosen, float *weights) {
    float p[256];
    int n = n_expert < 256 ? n_expert : 256;
    memcpy(p, router_logits, (size_t)n * sizeof(float));
    softmax(p, n);
    /* top-k by selection: k is small (2 of 8) */
    float sum = 0.0f;
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int e = 0; e < n; e++) {
            int taken = 0;
            for (int i = 0; i < j; i++) taken |= chosen[i] == e;
            if (!taken && (best < 0 || p[e] > p[best])) best = e;
        }
        chosen[j] = best;
        weights[j] = p[best];
        sum += p[best];
    }
    for (int j = 0; j < k; j++) weights[j] /= sum; /* renormalise over the chosen k */
}

int moe_ffn(session *s, int layer, const float *x, int B, float *out, scarce_error *err) {
    const model_config *c = &s->m->cfg;
    const layer_weights *w = &s->m->layers[layer];
    run_state *rs = &s->rs;
    const int k = c->n_expert_used, n_embd = c->n_embd, n_ff = c->n_ff;
    matmul(&w->ffn_gate_inp, x, B, rs->router);
    s->stats.weight_bytes += (uint64_t)w->ffn_gate_inp.rows * w->ffn_gate_inp.row_bytes;
    memset(out, 0, (size_t)B * n_embd * sizeof(float));
    int chosen[64];
    float weight[64];
    unsigned char used[256] = {0};
    for (int b = 0; b < B; b++) {
        moe_route(rs->router + (size_t)b * c->n_expert, c->n_expert, k, chosen, weight);
        for (int j = 0; j < k; j++) {
            int e = chosen[j];
            matvec(&w->gate_exps[e], x + (size_t)b * n_embd, rs->hb);
            matvec(&w->up_exps[e], x + (size_t)b * n_embd, rs->hb2);
            swiglu(rs->hb, rs->hb2, n_ff);
            matvec(&w->down_exps[e], rs->hb, rs->xb2);
            for (int i = 0; i < n_embd; i++) out[(size_t)b * n_embd + i] += weight[j] * rs->xb2[i];
            if (!used[e]) {
                used[e] = 1;
                s->stats.weight_bytes += (uint64_t)w->gate_exps[e].rows * w->gate_exps[e].row_bytes +
                                         (uint64_t)w->up_exps[e].rows * w->up_exps[e].row_bytes +
                                         (uint64_t)w->down_exps[e].rows * w->down_exps[e].row_bytes;
            }
            s->stats.flops += 2ull * 3 * n_embd * n_ff;
        }
    }
    (void)err;
    return 0;
}
