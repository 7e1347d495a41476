/* forward.c - the transformer over a batch of B tokens (B = 1 for decode).
 *
 * Per layer (PyTorch-style notation, x: [B, n_embd]; [..] = only when the model has it):
 *   h = rmsnorm(x) ; q, k, v = h Wq [+ bq], h Wk [+ bk], h Wv [+ bv]
 *   [q, k = rmsnorm per head (q_norm, k_norm)] ; [rope(q, k)] ; cache <- k, v
 *   a = attention(q * scale, cache [within the layer's window]) Wo ; [a = rmsnorm(a)]
 *   x = x + a
 *   h = rmsnorm(x) ; f = (act(h Wgate) * (h Wup)) Wdown (or the MoE FFN) ; [f = rmsnorm(f)]
 *   x = x + f
 * with x = embedding * embd_scale at the start and act = SiLU or GELU(tanh). Which parts a
 * model has comes from its architecture's row (engine/arch.c) through model.c.
 * Each weight matrix is read once per batch (matmul over B rows), which is what makes
 * prefill and speculative verification cheaper per token than decode. */
#include "forward.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/ops.h"
#include "machine.h"
#include "mla.h"
#include "moe.h"

#define BATCH_CAP FORWARD_BATCH_CAP /* tokens per pass; longer inputs are split */

/* Weight bytes one pass reads whatever its batch: every tensor of the layers run but the
 * routed experts (counted by moe_ffn), the output matrix and norm (model.c counts them from
 * the tensor table); embedding rows are counted per token. */
static uint64_t dense_pass_bytes(const model *m, int n_layer) {
    uint64_t bytes = m->global_pass_bytes;
    for (int l = 0; l < n_layer; l++) bytes += m->layers[l].pass_bytes;
    return bytes;
}

int session_init(session *s, const model *m, int n_ctx, scarce_error *err) {
    const model_config *c = &m->cfg;
    memset(s, 0, sizeof *s);
    s->m = m;
    s->n_layer_run = c->n_layer;
    if (n_ctx <= 0) n_ctx = c->n_ctx_train;
    const int kv_dim = c->n_head_kv * c->head_dim, q_dim = c->n_head * c->head_dim;
    /* latent attention caches one row of kv_lora_rank + n_rot per position, no values */
    const int mla = c->desc->flags & ARCH_MLA;
    if (kvcache_init(&s->cache, c->n_layer, n_ctx, mla ? mla_cache_width(c) : kv_dim,
                     mla ? 0 : kv_dim, err))
        return -1;
    run_state *rs = &s->rs;
    const size_t B = BATCH_CAP, ff = (size_t)c->n_ff_max;
    rs->batch_cap = BATCH_CAP;
    rs->x = calloc(B * c->n_embd, sizeof(float));
    rs->xb = calloc(B * (q_dim > c->n_embd ? q_dim : c->n_embd), sizeof(float));
    rs->xb2 = calloc(B * (q_dim > c->n_embd ? q_dim : c->n_embd), sizeof(float));
    rs->q = calloc(B * q_dim, sizeof(float));
    rs->k = calloc(B * kv_dim, sizeof(float));
    rs->v = calloc(B * kv_dim, sizeof(float));
    rs->hb = calloc(B * ff, sizeof(float));
    rs->hb2 = calloc(B * ff, sizeof(float));
    rs->moe_out = calloc(B * c->n_embd, sizeof(float));
    rs->router = calloc(B * (c->n_expert ? c->n_expert : 1), sizeof(float));
    rs->logits = calloc(B * (size_t)c->n_vocab, sizeof(float));
    /* the MoE FFN and latent attention run one after the other: one buffer serves both */
    const size_t moe_bytes = moe_scratch_bytes(c, B);
    const size_t mla_bytes = mla ? mla_scratch_bytes(c, B) : 0;
    rs->scratch = aligned_alloc(64, (moe_bytes > mla_bytes ? moe_bytes : mla_bytes) / 64 * 64 + 64);
    if (!rs->scratch || !rs->x || !rs->xb || !rs->xb2 || !rs->q || !rs->k || !rs->v || !rs->hb ||
        !rs->hb2 || !rs->moe_out || !rs->router || !rs->logits) {
        session_free(s);
        return scarce_fail(err, "out of memory for the run state (context %d)", n_ctx);
    }
    return 0;
}

void session_free(session *s) {
    run_state *rs = &s->rs;
    if (s->m) kernel_ctx_quiesce(s->m->kernels); /* a worker may still read rs (pool.h) */
    free(rs->x), free(rs->xb), free(rs->xb2), free(rs->q), free(rs->k), free(rs->v);
    free(rs->hb), free(rs->hb2), free(rs->moe_out), free(rs->router);
    free(rs->logits), free(rs->scratch);
    kvcache_free(&s->cache);
    memset(s, 0, sizeof *s);
}

/* The model's kernel context's error, as the forward pass's, naming the weight. */
static int kernel_failed(session *s, int l, const char *what, scarce_error *err) {
    if (l < 0) return scarce_fail(err, "%s.weight: %s", what, kernel_ctx_error(s->m->kernels));
    return scarce_fail(err, "blk.%d.%s.weight: %s", l, what, kernel_ctx_error(s->m->kernels));
}

/* y = W x for B tokens (W is blk.l.<what>.weight, or <what>.weight when l < 0): shows x to
 * the session's observer if any (imatrix), and counts the time in stats.t_matmul (two
 * clock reads: ~50 ns per call). */
static int weight_matmul(session *s, int l, const char *what, const qmatrix *w, const float *x,
                         int B, float *y, scarce_error *err) {
    if (s->act_hook) {
        char name[96];
        if (l >= 0)
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, what);
        else
            snprintf(name, sizeof name, "%s.weight", what);
        s->act_hook(s->act_hook_ctx, name, x, B, w->cols);
    }
    double t0 = now_seconds();
    if (matmul(s->m->kernels, w, x, B, y)) return kernel_failed(s, l, what, err);
    s->stats.t_matmul += now_seconds() - t0;
    return 0;
}

/* Y[i] = W[i] x for matrices that share their input (q/k/v, gate/up): weight_matmul's
 * observer per matrix (per file tensor: what[i] NULL for views of a fused one) and time, one fused
 * matmul_multi call (one pool call per group instead of one per matrix). */
static int weight_matmul_multi(session *s, int l, const char *const *what, const qmatrix *const *w,
                               int n, const float *x, int B, float *const *y, scarce_error *err) {
    for (int i = 0; s->act_hook && i < n; i++) {
        if (!what[i]) continue;
        char name[96];
        snprintf(name, sizeof name, "blk.%d.%s.weight", l, what[i]);
        s->act_hook(s->act_hook_ctx, name, x, B, w[i]->cols);
    }
    double t0 = now_seconds();
    if (matmul_multi(s->m->kernels, w, n, x, B, y)) return kernel_failed(s, l, what[0], err);
    s->stats.t_matmul += now_seconds() - t0;
    return 0;
}

/* x = x + y over n floats */
static void add_into(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

/* The rope of layer l: its base and scaling (local layers differ), the model's style,
 * and frequency factors (Llama 3.x; Phi-3's long ones past the original context). */
static rope_params layer_rope(const session *s, const layer_weights *w) {
    const model *m = s->m;
    const model_config *c = &m->cfg;
    const float *factors = m->rope_freqs;
    if (!factors) factors = s->cache.n_ctx > c->n_ctx_orig ? m->rope_long : m->rope_short;
    return (rope_params){.n_rot = c->n_rot,
                         .neox = c->rope_neox,
                         .freq_base = w->rope_base,
                         .freq_scale = w->rope_scale,
                         .attn_factor = c->rope_attn_factor,
                         .freq_factors = factors};
}

/* rmsnorm of B rows of n_embd in place (Gemma's post-attention / post-FFN norms). */
static void rmsnorm_rows(float *x, const float *weight, int B, const model_config *c) {
    for (int b = 0; b < B; b++)
        rmsnorm(x + (size_t)b * c->n_embd, x + (size_t)b * c->n_embd, weight, c->n_embd,
                c->rms_eps);
}

/* Attention block of layer l for B tokens at positions pos0..pos0+B-1; result in rs->xb. */
static int attention_block(session *s, int l, int B, int pos0, scarce_error *err) {
    const model *m = s->m;
    const model_config *c = &m->cfg;
    const layer_weights *w = &m->layers[l];
    run_state *rs = &s->rs;
    const int kv_dim = c->n_head_kv * c->head_dim, q_dim = c->n_head * c->head_dim;
    for (int b = 0; b < B; b++)
        rmsnorm(rs->xb + (size_t)b * c->n_embd, rs->x + (size_t)b * c->n_embd, w->attn_norm,
                c->n_embd, c->rms_eps);
    if (c->desc->flags & ARCH_MLA) return mla_attention(s, l, B, pos0, err);
    const char *const qkv_names[3] = {w->fused_qkv ? "attn_qkv" : "attn_q",
                                      w->fused_qkv ? NULL : "attn_k",
                                      w->fused_qkv ? NULL : "attn_v"};
    const qmatrix *const qkv[3] = {&w->wq, &w->wk, &w->wv};
    float *const qkv_out[3] = {rs->q, rs->k, rs->v};
    if (weight_matmul_multi(s, l, qkv_names, qkv, 3, rs->xb, B, qkv_out, err)) return -1;
    if (w->bq) add_bias(rs->q, w->bq, B, q_dim);
    if (w->bk) add_bias(rs->k, w->bk, B, kv_dim);
    if (w->bv) add_bias(rs->v, w->bv, B, kv_dim);
    const rope_params rp = layer_rope(s, w);
    for (int b = 0; b < B; b++) {
        const int pos = pos0 + b;
        float *q = rs->q + (size_t)b * q_dim, *k = rs->k + (size_t)b * kv_dim;
        /* per head, or over the whole vector (OLMoE) */
        const int full = c->desc->flags & ARCH_QK_NORM_FULL;
        if (w->q_norm)
            rmsnorm_heads(q, w->q_norm, full ? 1 : c->n_head, full ? q_dim : c->head_dim,
                          c->rms_eps);
        if (w->k_norm)
            rmsnorm_heads(k, w->k_norm, full ? 1 : c->n_head_kv, full ? kv_dim : c->head_dim,
                          c->rms_eps);
        if (w->use_rope) rope_ext_qk(q, c->n_head, k, c->n_head_kv, c->head_dim, pos, &rp);
        memcpy(kvcache_k(&s->cache, l, pos), k, (size_t)kv_dim * sizeof(float));
        memcpy(kvcache_v(&s->cache, l, pos), rs->v + (size_t)b * kv_dim,
               (size_t)kv_dim * sizeof(float));
    }
    double t_att = now_seconds();
    /* causal: token b sees positions 0..pos0+b, or its last `window` of them */
    const attention_args att = {.ops = kernel_ctx_ops(m->kernels),
                                .out = rs->xb2,
                                .q = rs->q,
                                .k = kvcache_k(&s->cache, l, 0),
                                .v = kvcache_v(&s->cache, l, 0),
                                .B = B,
                                .pos0 = pos0,
                                .n_head = c->n_head,
                                .n_head_kv = c->n_head_kv,
                                .head_dim = c->head_dim,
                                .kv_stride = kv_dim,
                                .scale = c->attn_scale,
                                .window = w->window,
                                .softcap = c->attn_softcap,
                                .sinks = w->sinks}; /* gpt-oss */
    kernel_ctx_attention(m->kernels, &att);
    for (int b = 0; b < B; b++) {
        int n_pos = pos0 + b + 1;
        if (w->window && n_pos > w->window) n_pos = w->window;
        s->stats.kv_bytes += 2ull * n_pos * kv_dim * sizeof(float);
        s->stats.flops += 4ull * n_pos * q_dim;
    }
    s->stats.t_attention += now_seconds() - t_att;
    if (weight_matmul(s, l, "attn_output", &w->wo, rs->xb2, B, rs->xb, err)) return -1;
    if (w->bo) add_bias(rs->xb, w->bo, B, c->n_embd);
    if (w->post_attn_norm) rmsnorm_rows(rs->xb, w->post_attn_norm, B, c);
    return 0;
}

/* Dense gated FFN of layer l on rs->xb; result in rs->xb2. */
static int dense_ffn(session *s, int l, int B, scarce_error *err) {
    const model_config *c = &s->m->cfg;
    const layer_weights *w = &s->m->layers[l];
    run_state *rs = &s->rs;
    const char *const gate_up_names[2] = {w->fused_up ? "ffn_up" : "ffn_gate",
                                          w->fused_up ? NULL : "ffn_up"};
    const qmatrix *const gate_up[2] = {&w->ffn_gate, &w->ffn_up};
    float *const gate_up_out[2] = {rs->hb, rs->hb2};
    if (weight_matmul_multi(s, l, gate_up_names, gate_up, 2, rs->xb, B, gate_up_out, err))
        return -1;
    if (c->ffn_act == FFN_GELU_TANH)
        ops_geglu(kernel_ctx_ops(s->m->kernels), rs->hb, rs->hb2, B * c->n_ff);
    else
        ops_swiglu(kernel_ctx_ops(s->m->kernels), rs->hb, rs->hb2, B * c->n_ff);
    return weight_matmul(s, l, "ffn_down", &w->ffn_down, rs->hb, B, rs->xb2, err);
}

/* FFN block of layer l; result in rs->xb2. */
static int ffn_block(session *s, int l, int B, scarce_error *err) {
    const model_config *c = &s->m->cfg;
    const layer_weights *w = &s->m->layers[l];
    run_state *rs = &s->rs;
    for (int b = 0; b < B; b++)
        rmsnorm(rs->xb + (size_t)b * c->n_embd, rs->x + (size_t)b * c->n_embd, w->ffn_norm,
                c->n_embd, c->rms_eps);
    if (w->gate_exps) {
        double t0 = now_seconds();
        if (moe_ffn(s, l, rs->xb, B, rs->moe_out, err)) return -1;
        s->stats.t_matmul += now_seconds() - t0; /* the experts' matmuls dominate */
        memcpy(rs->xb2, rs->moe_out, (size_t)B * c->n_embd * sizeof(float));
    } else {
        if (dense_ffn(s, l, B, err)) return -1;
    }
    if (w->post_ffn_norm) rmsnorm_rows(rs->xb2, w->post_ffn_norm, B, c);
    return 0;
}
/* FLOPs of the dense matmuls of a pass: B tokens through n_layer layers, and the output
 * matrix only for the n_logits rows of logits it computes (a prompt needs the last one). */
static uint64_t matrix_macs(const qmatrix *w) {
    return w->data ? (uint64_t)w->rows * w->cols : 0;
}

static uint64_t dense_flops(const model *m, int n_layer, int B, int n_logits) {
    const model_config *c = &m->cfg;
    uint64_t macs = (uint64_t)c->n_embd * c->n_vocab * n_logits;
    for (int l = 0; l < n_layer; l++) { /* MoE layers count their experts in moe_ffn, MLA
                                           its per-head matrices in mla.c */
        const layer_weights *w = &m->layers[l];
        const qmatrix *each[] = {&w->wq,   &w->wk,    &w->wv,       &w->wo,     &w->wq_a,
                                 &w->wq_b, &w->wkv_a, &w->ffn_gate, &w->ffn_up, &w->ffn_down};
        for (size_t i = 0; i < sizeof each / sizeof *each; i++) macs += matrix_macs(each[i]) * B;
    }
    return 2 * macs;
}

/* One pass over B <= batch_cap tokens; logits of the last token or of all B. */
static int forward_batch(session *s, const int *tokens, int B, float *logits, int all_logits,
                         scarce_error *err) {
    const model *m = s->m;
    const model_config *c = &m->cfg;
    run_state *rs = &s->rs;
    const int pos0 = s->cache.n_pos;
    for (int b = 0; b < B; b++)
        qmatrix_row(&m->token_embd, tokens[b], rs->x + (size_t)b * c->n_embd);
    if (c->embd_scale != 1.0f)
        for (size_t i = 0; i < (size_t)B * c->n_embd; i++) rs->x[i] *= c->embd_scale;
    for (int l = 0; l < s->n_layer_run; l++) {
        if (attention_block(s, l, B, pos0, err)) return -1;
        add_into(rs->x, rs->xb, (size_t)B * c->n_embd);
        if (ffn_block(s, l, B, err)) return -1;
        add_into(rs->x, rs->xb2, (size_t)B * c->n_embd);
    }
    const int first = all_logits ? 0 : B - 1;
    for (int b = first; b < B; b++)
        rmsnorm(rs->xb + (size_t)(b - first) * c->n_embd, rs->x + (size_t)b * c->n_embd,
                m->output_norm, c->n_embd, c->rms_eps);
    if (weight_matmul(s, -1, "output", &m->output, rs->xb, B - first, logits, err)) return -1;
    if (c->final_softcap > 0.0f)
        for (size_t i = 0; i < (size_t)(B - first) * c->n_vocab; i++)
            logits[i] = c->final_softcap * tanhf(logits[i] / c->final_softcap);
    s->cache.n_pos += B;
    s->stats.weight_bytes +=
        dense_pass_bytes(m, s->n_layer_run) + (uint64_t)B * m->token_embd.row_bytes;
    s->stats.flops += dense_flops(m, s->n_layer_run, B, B - first);
    return 0;
}

const float *forward(session *s, const int *tokens, int n, int all_logits, scarce_error *err) {
    const model_config *c = &s->m->cfg;
    run_state *rs = &s->rs;
    if (n <= 0) {
        scarce_fail(err, "forward: no tokens");
        return NULL;
    }
    if (s->cache.n_pos + n > s->cache.n_ctx) {
        scarce_fail(err, "context full: %d positions used + %d new > context %d", s->cache.n_pos, n,
                    s->cache.n_ctx);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->n_vocab) {
            scarce_fail(err, "token id %d out of range [0, %d)", tokens[i], c->n_vocab);
            return NULL;
        }
    if (all_logits && n > rs->batch_cap) {
        float *grown = realloc(rs->logits, (size_t)n * c->n_vocab * sizeof(float));
        if (!grown) {
            scarce_fail(err, "out of memory for %d rows of logits", n);
            return NULL;
        }
        rs->logits = grown;
    }
    const int start_pos = s->cache.n_pos;
    const run_stats before = s->stats;
    const kernel_usage used = kernel_ctx_usage(s->m->kernels);
    double t0 = now_seconds();
    for (int done = 0; done < n; done += rs->batch_cap) {
        int B = n - done < rs->batch_cap ? n - done : rs->batch_cap;
        float *out = all_logits ? rs->logits + (size_t)done * c->n_vocab : rs->logits;
        if (forward_batch(s, tokens + done, B, out, all_logits, err)) {
            kvcache_truncate(&s->cache, start_pos);
            return NULL;
        }
    }
    s->stats.t_forward += now_seconds() - t0;
    s->stats.tokens += n;
    s->stats.passes++;
    const kernel_usage now = kernel_ctx_usage(s->m->kernels);
    s->stats.mm_work += now.work - used.work;
    s->stats.mm_thread_work += now.thread_work - used.thread_work;
    if (n == 1) stats_count_decode(&s->stats, &before); /* the decode phase */
    return rs->logits;
}
