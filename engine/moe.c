/* moe.c - mixture-of-experts routing, expert dispatch grouped by expert, and statistics. */
#include "moe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/ops.h"

/* Keeps the n_group_used groups of experts whose two best selection scores sum highest;
 * the others' scores become -inf (llama.cpp's build_moe_ffn, after DeepSeek-V3's
 * modeling_deepseek.py). */
static void mask_groups(float *sel, int n_expert, int n_group, int n_group_used) {
    const int per = n_expert / n_group;
    float score[MOE_MAX_EXPERT];
    for (int g = 0; g < n_group; g++) {
        const float *v = sel + (size_t)g * per;
        float best = -INFINITY, second = -INFINITY;
        for (int i = 0; i < per; i++)
            if (v[i] > best)
                second = best, best = v[i];
            else if (v[i] > second)
                second = v[i];
        score[g] = per > 1 ? best + second : best;
    }
    unsigned char keep[MOE_MAX_EXPERT] = {0};
    for (int j = 0; j < n_group_used; j++) {
        int top = -1;
        for (int g = 0; g < n_group; g++)
            if (!keep[g] && (top < 0 || score[g] > score[top])) top = g;
        keep[top] = 1;
    }
    for (int e = 0; e < n_expert; e++)
        if (!keep[e / per]) sel[e] = -INFINITY;
}

void moe_route(const moe_rule *rule, const float *router_logits, const float *sel_bias,
               int n_expert, int k, int *chosen, float *weights) {
    float p[MOE_MAX_EXPERT], sel[MOE_MAX_EXPERT];
    memcpy(p, router_logits, (size_t)n_expert * sizeof(float));
    if (rule->gating == MOE_GATING_SIGMOID)
        for (int e = 0; e < n_expert; e++) p[e] = 1.0f / (1.0f + expf(-p[e]));
    else if (rule->gating != MOE_GATING_SOFTMAX_WEIGHT)
        softmax(p, n_expert);
    for (int e = 0; e < n_expert; e++) sel[e] = p[e] + (sel_bias ? sel_bias[e] : 0.0f);
    if (rule->n_group > 1) mask_groups(sel, n_expert, rule->n_group, rule->n_group_used);
    /* top-k by repeated selection: k is small; strict > keeps the lower index on ties */
    unsigned char taken[MOE_MAX_EXPERT] = {0};
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int e = 0; e < n_expert; e++)
            if (!taken[e] && (best < 0 || sel[e] > sel[best])) best = e;
        taken[best] = 1;
        chosen[j] = best;
        weights[j] = p[best];
    }
    if (rule->gating == MOE_GATING_SOFTMAX_WEIGHT) softmax(weights, k);
    if (rule->norm) {
        float sum = 0.0f;
        for (int j = 0; j < k; j++) sum += weights[j];
        if (sum < 6.103515625e-5f) sum = 6.103515625e-5f; /* llama.cpp's clamp (fp16 min) */
        for (int j = 0; j < k; j++) weights[j] /= sum;
    }
    if (rule->scale != 1.0f)
        for (int j = 0; j < k; j++) weights[j] *= rule->scale;
}

uint64_t moe_expert_bytes(const model *m, int layer) {
    return m->layers[layer].expert_bytes;
}

uint64_t moe_active_bytes(const model *m) {
    const model_config *c = &m->cfg;
    uint64_t bytes = m->global_pass_bytes + m->token_embd.row_bytes;
    for (int l = 0; l < c->n_layer; l++) {
        const layer_weights *w = &m->layers[l];
        bytes += w->pass_bytes + (w->gate_exps ? (uint64_t)c->n_expert_used * w->expert_bytes : 0);
    }
    return bytes;
}

/* Per-pass scratch (carved from the session's run_state.scratch): the routing of B tokens,
 * the tokens grouped by expert, and per choice (in slot order) the gathered input, the
 * expert's gate and up outputs and its output, so that all chosen experts run in two
 * matmul_each calls. */
typedef struct {
    int *chosen;        /* [B][k] */
    float *weight;      /* [B][k] */
    int *slot;          /* [B*k] indices b*k+j sorted by expert */
    int *start;         /* [n_expert+1] slot range of each expert */
    float *xe, *ye;     /* [B*k][n_embd] gathered inputs, expert outputs */
    float *gate, *up;   /* [B*k][n_ff_exp] */
    matmul_item *items; /* [2][n_expert] */
} moe_scratch;

/* The scratch's pieces at p (or their total size from p = NULL), each 64-byte aligned. */
static size_t scratch_layout(moe_scratch *sc, char *p, const model_config *c, int B) {
    const size_t nk = (size_t)B * c->n_expert_used, n_ff = c->n_ff_exp;
    const size_t sizes[8] = {nk * sizeof(int),
                             nk * sizeof(float),
                             nk * sizeof(int),
                             (c->n_expert + 1) * sizeof(int),
                             nk * c->n_embd * sizeof(float),
                             nk * c->n_embd * sizeof(float),
                             nk * n_ff * sizeof(float),
                             nk * n_ff * sizeof(float)};
    void **dst[8] = {(void **)&sc->chosen, (void **)&sc->weight, (void **)&sc->slot,
                     (void **)&sc->start,  (void **)&sc->xe,     (void **)&sc->ye,
                     (void **)&sc->gate,   (void **)&sc->up};
    size_t total = 0;
    for (int i = 0; i < 8; i++) {
        if (p) *dst[i] = p + total;
        total += (sizes[i] + 63) / 64 * 64;
    }
    if (p) sc->items = (matmul_item *)(p + total);
    return total + 2 * (size_t)c->n_expert * sizeof(matmul_item);
}

size_t moe_scratch_bytes(const model_config *c, int B) {
    moe_scratch sc;
    return c->n_expert ? scratch_layout(&sc, NULL, c, B) : 0;
}

/* Counting sort of the B*k (token, expert) choices by expert. */
static void group_by_expert(moe_scratch *sc, int B, int k, int n_expert) {
    int *start = sc->start;
    memset(start, 0, (n_expert + 1) * sizeof(int));
    for (int i = 0; i < B * k; i++) start[sc->chosen[i] + 1]++;
    for (int e = 0; e < n_expert; e++) start[e + 1] += start[e];
    int fill[MOE_MAX_EXPERT];
    memcpy(fill, start, n_expert * sizeof(int));
    for (int i = 0; i < B * k; i++) sc->slot[fill[sc->chosen[i]]++] = i;
}

/* Counts choices and reuse by consecutive tokens (token b-1 of the batch, or the last token
 * of the previous pass for b = 0). */
static void stats_update(moe_stats *st, int l, const int *chosen, const float *weight, int B) {
    const int k = st->k;
    int *last = st->last_chosen + (size_t)l * k;
    for (int b = 0; b < B; b++) {
        const int *cur = chosen + (size_t)b * k;
        const int *prev = b > 0 ? cur - k : st->has_last[l] ? last : NULL;
        for (int j = 0; j < k; j++) {
            st->chosen[(size_t)l * st->n_expert + cur[j]]++;
            for (int i = 0; prev && i < k; i++) st->reused[l] += prev[i] == cur[j];
        }
        st->pairs[l] += prev != NULL;
    }
    st->tokens[l] += B;
    memcpy(last, chosen + (size_t)(B - 1) * k, k * sizeof(int));
    memcpy(st->last_weight + (size_t)l * k, weight + (size_t)(B - 1) * k, k * sizeof(float));
    st->has_last[l] = 1;
}

/* gpt-oss's clamped SwiGLU (ggml_swiglu_oai, alpha 1.702, limit 7):
 * gate = min(gate, 7) sigmoid(1.702 min(gate, 7)) (clamp(up, -7, 7) + 1). */
void moe_swiglu_oai(float *gate, const float *up, int n) {
    const float alpha = 1.702f, limit = 7.0f;
    for (int i = 0; i < n; i++) {
        const float x = fminf(gate[i], limit), y = fminf(fmaxf(up[i], -limit), limit);
        gate[i] = x / (1.0f + expf(-alpha * x)) * (y + 1.0f);
    }
}

/* Gathers the tokens routed to each chosen expert (none when the expert has all B: x
 * itself, so that decode converts x once for every expert) and lists its gate and up
 * products: items[0..n) gate, items[n..2n) up. The number n of experts chosen. */
static int list_gate_up(const model_config *c, const layer_weights *w, const float *x,
                        moe_scratch *sc, int B) {
    const int k = c->n_expert_used, n_embd = c->n_embd, n_ff = c->n_ff_exp;
    int n = 0;
    for (int e = 0; e < c->n_expert; e++) {
        const int first = sc->start[e], n_tok = sc->start[e + 1] - first;
        if (n_tok) n++;
    }
    for (int e = 0, i = 0; e < c->n_expert; e++) {
        const int first = sc->start[e], n_tok = sc->start[e + 1] - first;
        if (!n_tok) continue;
        const float *in = x;
        if (n_tok < B) {
            float *xe = sc->xe + (size_t)first * n_embd;
            for (int t = 0; t < n_tok; t++)
                memcpy(xe + (size_t)t * n_embd, x + (size_t)(sc->slot[first + t] / k) * n_embd,
                       n_embd * sizeof(float));
            in = xe;
        }
        sc->items[i] = (matmul_item){&w->gate_exps[e], in, n_tok, sc->gate + (size_t)first * n_ff};
        sc->items[n + i] = (matmul_item){&w->up_exps[e], in, n_tok, sc->up + (size_t)first * n_ff};
        i++;
    }
    return n;
}

/* The chosen experts: gate and up of all of them in one matmul_each (each expert's rows
 * one sequential stream, the threads splitting all experts' rows end to end), SwiGLU,
 * down of all of them in a second, then the scatter-add with the gate weights in expert
 * order. */
static int run_experts(session *s, int layer, const float *x, moe_scratch *sc, int B, float *out) {
    const model_config *c = &s->m->cfg;
    const layer_weights *w = &s->m->layers[layer];
    kernel_ctx *kc = s->m->kernels;
    const int k = c->n_expert_used, n_embd = c->n_embd, n_ff = c->n_ff_exp;
    const int n = list_gate_up(c, w, x, sc, B);
    if (matmul_each(kc, sc->items, 2 * n)) return -1;
    for (int e = 0, i = 0; e < c->n_expert; e++) {
        const int first = sc->start[e], n_tok = sc->start[e + 1] - first;
        if (!n_tok) continue;
        float *gate = sc->gate + (size_t)first * n_ff, *up = sc->up + (size_t)first * n_ff;
        if (w->gate_exps_b) { /* gpt-oss: each expert's biases */
            add_bias(gate, w->gate_exps_b + (size_t)e * n_ff, n_tok, n_ff);
            add_bias(up, w->up_exps_b + (size_t)e * n_ff, n_tok, n_ff);
        }
        if (c->ffn_act == FFN_SWIGLU_OAI)
            moe_swiglu_oai(gate, up, n_tok * n_ff);
        else
            ops_swiglu(kernel_ctx_ops(kc), gate, up, n_tok * n_ff);
        sc->items[i++] =
            (matmul_item){&w->down_exps[e], gate, n_tok, sc->ye + (size_t)first * n_embd};
        s->stats.weight_bytes += w->expert_bytes; /* once per pass */
        s->stats.flops += 2ull * 3 * n_embd * n_ff * n_tok;
    }
    if (matmul_each(kc, sc->items, n)) return -1;
    memset(out, 0, (size_t)B * n_embd * sizeof(float));
    for (int e = 0; e < c->n_expert; e++) {
        const int first = sc->start[e], n_tok = sc->start[e + 1] - first;
        if (w->down_exps_b)
            add_bias(sc->ye + (size_t)first * n_embd, w->down_exps_b + (size_t)e * n_embd, n_tok,
                     n_embd);
        for (int i = first; i < first + n_tok; i++) { /* scatter-add with the gate weight */
            const int choice = sc->slot[i];
            const float g = sc->weight[choice];
            float *o = out + (size_t)(choice / k) * n_embd;
            const float *y = sc->ye + (size_t)i * n_embd;
            for (int d = 0; d < n_embd; d++) o[d] += g * y[d];
        }
    }
    return 0;
}

/* Shared experts: every token, out += g * down(silu(gate x) * up x), g = sigmoid(w . x)
 * when the layer has the gate vector (Qwen2-MoE), else 1. */
static int run_shared(session *s, int layer, const float *x, moe_scratch *sc, int B, float *out) {
    const model_config *c = &s->m->cfg;
    const layer_weights *w = &s->m->layers[layer];
    run_state *rs = &s->rs;
    kernel_ctx *kc = s->m->kernels;
    const int n_embd = c->n_embd, n_ff = c->n_ff_shexp;
    const qmatrix *const gate_up[2] = {&w->shexp_gate, &w->shexp_up};
    float *const gate_up_out[2] = {rs->hb, rs->hb2};
    if (matmul_multi(kc, gate_up, 2, x, B, gate_up_out)) return -1;
    ops_swiglu(kernel_ctx_ops(kc), rs->hb, rs->hb2, B * n_ff);
    if (matmul(kc, &w->shexp_down, rs->hb, B, sc->ye)) return -1;
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * n_embd, *y = sc->ye + (size_t)b * n_embd;
        float g = 1.0f;
        if (w->shexp_gate_inp) {
            float dot = 0.0f;
            for (int d = 0; d < n_embd; d++) dot += w->shexp_gate_inp[d] * xb[d];
            g = 1.0f / (1.0f + expf(-dot));
        }
        float *o = out + (size_t)b * n_embd;
        for (int d = 0; d < n_embd; d++) o[d] += g * y[d];
    }
    s->stats.flops += 2ull * 3 * n_embd * n_ff * B + (w->shexp_gate_inp ? 2ull * n_embd * B : 0);
    return 0;
}

int moe_ffn(session *s, int layer, const float *x, int B, float *out, scarce_error *err) {
    const model_config *c = &s->m->cfg;
    const layer_weights *w = &s->m->layers[layer];
    run_state *rs = &s->rs;
    const int k = c->n_expert_used, n_expert = c->n_expert;
    moe_scratch sc;
    scratch_layout(&sc, rs->scratch, c, B); /* session_init sized it: moe_scratch_bytes */
    /* router: [B][n_expert] = x W_gate_inp^T */
    kernel_ctx *kc = s->m->kernels;
    if (matmul(kc, &w->ffn_gate_inp, x, B, rs->router)) goto kernel_failed;
    if (w->gate_inp_b) add_bias(rs->router, w->gate_inp_b, B, n_expert);
    for (int b = 0; b < B; b++)
        moe_route(&c->route, rs->router + (size_t)b * n_expert, w->exp_probs_b, n_expert, k,
                  sc.chosen + (size_t)b * k, sc.weight + (size_t)b * k);
    group_by_expert(&sc, B, k, n_expert);
    if (run_experts(s, layer, x, &sc, B, out)) goto kernel_failed;
    if (w->shexp_gate.data && run_shared(s, layer, x, &sc, B, out)) goto kernel_failed;
    s->stats.flops += 2ull * c->n_embd * n_expert * B;
    if (s->moe) stats_update(s->moe, layer, sc.chosen, sc.weight, B);
    return 0;
kernel_failed:
    return scarce_fail(err, "blk.%d experts: %s", layer, kernel_ctx_error(kc));
}

/* ---- statistics ---------------------------------------------------------------------------- */

moe_stats *moe_stats_new(const model *m) {
    const model_config *c = &m->cfg;
    if (!c->n_expert) return NULL;
    moe_stats *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->n_layer = c->n_layer, st->n_expert = c->n_expert, st->k = c->n_expert_used;
    const size_t L = (size_t)c->n_layer;
    st->tokens = calloc(L, sizeof(uint64_t));
    st->chosen = calloc(L * c->n_expert, sizeof(uint64_t));
    st->pairs = calloc(L, sizeof(uint64_t));
    st->reused = calloc(L, sizeof(uint64_t));
    st->last_chosen = calloc(L * st->k, sizeof(int));
    st->last_weight = calloc(L * st->k, sizeof(float));
    st->has_last = calloc(L, sizeof(int));
    if (!st->tokens || !st->chosen || !st->pairs || !st->reused || !st->last_chosen ||
        !st->last_weight || !st->has_last) {
        moe_stats_free(st);
        return NULL;
    }
    return st;
}

void moe_stats_free(moe_stats *st) {
    if (!st) return;
    free(st->tokens), free(st->chosen), free(st->pairs), free(st->reused);
    free(st->last_chosen), free(st->last_weight), free(st->has_last);
    free(st);
}

void moe_stats_reset(moe_stats *st) {
    const size_t L = (size_t)st->n_layer;
    memset(st->tokens, 0, L * sizeof(uint64_t));
    memset(st->chosen, 0, L * st->n_expert * sizeof(uint64_t));
    memset(st->pairs, 0, L * sizeof(uint64_t));
    memset(st->reused, 0, L * sizeof(uint64_t));
    memset(st->has_last, 0, L * sizeof(int));
}

double moe_stats_cv(const moe_stats *st, int l) {
    const uint64_t *n = st->chosen + (size_t)l * st->n_expert;
    double mean = 0, var = 0;
    for (int e = 0; e < st->n_expert; e++) mean += (double)n[e];
    mean /= st->n_expert;
    if (mean == 0) return 0;
    for (int e = 0; e < st->n_expert; e++) var += ((double)n[e] - mean) * ((double)n[e] - mean);
    return sqrt(var / st->n_expert) / mean;
}

double moe_stats_entropy(const moe_stats *st, int l) {
    const uint64_t *n = st->chosen + (size_t)l * st->n_expert;
    double total = 0, h = 0;
    for (int e = 0; e < st->n_expert; e++) total += (double)n[e];
    for (int e = 0; e < st->n_expert; e++)
        if (n[e]) h -= n[e] / total * log(n[e] / total);
    return h;
}

double moe_stats_reuse(const moe_stats *st, int l) {
    return st->pairs[l] ? (double)st->reused[l] / ((double)st->pairs[l] * st->k) : 0;
}
