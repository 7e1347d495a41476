/* mla.c - multi-head latent attention (see mla.h): the model keys and tensors, and the
 * attention of one layer. Facts: llama.cpp's src/models/deepseek2.cpp (the is_mla path). */
#include "mla.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/ops.h"
#include "machine.h"
#include "model_impl.h"

int mla_cache_width(const model_config *c) {
    return c->n_lora_kv + c->n_rot;
}

int mla_expanded_width(const model_config *c) {
    return c->n_head * (c->n_embd_head_k_mla + c->n_embd_head_v_mla);
}

/* attention.kv_lora_rank, q_lora_rank, key_length_mla / value_length_mla (the heads'
 * widths), rope.dimension_count; key_length / value_length are the cache row's widths. */
int mla_read_config(model *m, scarce_error *err) {
    model_config *c = &m->cfg;
    const char *path = m->file->path;
    char key[128];
    snprintf(key, sizeof key, "%s.attention.key_length_mla", c->arch);
    if (!gguf_find(m->file, key))
        return scarce_fail(err,
                           "%s: missing key %s: the older %s layout (attn_kv_b) is not "
                           "supported; convert with a current llama.cpp",
                           path, key, c->arch);
    if (model_key_int(m, "attention.kv_lora_rank", 1, &c->n_lora_kv, err) ||
        model_key_int(m, "attention.q_lora_rank", 0, &c->n_lora_q, err) ||
        model_key_int(m, "attention.key_length_mla", 1, &c->n_embd_head_k_mla, err) ||
        model_key_int(m, "attention.value_length_mla", 1, &c->n_embd_head_v_mla, err) ||
        model_key_int(m, "rope.dimension_count", 2, &c->n_rot, err))
        return -1;
    if (!c->n_lora_kv || !c->n_rot || c->n_rot % 2 || c->n_rot >= c->n_embd_head_k_mla)
        return scarce_fail(err,
                           "%s: %s.attention.kv_lora_rank %d, rope.dimension_count %d, "
                           "key_length_mla %d: need a rank, an even rope part < the head",
                           path, c->arch, c->n_lora_kv, c->n_rot, c->n_embd_head_k_mla);
    int k_len = mla_cache_width(c), v_len = c->n_lora_kv;
    if (model_key_int(m, "attention.key_length", 1, &k_len, err) ||
        model_key_int(m, "attention.value_length", 1, &v_len, err))
        return -1;
    if (k_len != mla_cache_width(c) || v_len != c->n_lora_kv)
        return scarce_fail(err,
                           "%s: %s.attention.key_length %d / value_length %d, expected "
                           "kv_lora_rank + rope %d / kv_lora_rank %d",
                           path, c->arch, k_len, v_len, mla_cache_width(c), c->n_lora_kv);
    c->head_dim = c->n_embd_head_k_mla; /* a query head; scores / sqrt(it) */
    c->n_head_kv = c->n_head;
    return 0;
}

#define LAYER_NAME(buf, l, suffix) (snprintf(buf, sizeof buf, "blk.%d." suffix, l), buf)

int mla_bind_layer(model *m, int l, scarce_error *err) {
    const model_config *c = &m->cfg;
    layer_weights *w = &m->layers[l];
    const int64_t q_dim = (int64_t)c->n_head * c->n_embd_head_k_mla;
    const int nope = c->n_embd_head_k_mla - c->n_rot, R = c->n_lora_kv;
    char name[96];
    if (c->n_lora_q) {
        if (model_bind_required(m, LAYER_NAME(name, l, "attn_q_a_norm.weight"), c->n_lora_q,
                                &w->q_a_norm, err) ||
            model_bind_matrix(m, LAYER_NAME(name, l, "attn_q_a.weight"), c->n_embd, c->n_lora_q,
                              &w->wq_a, err) ||
            model_bind_matrix(m, LAYER_NAME(name, l, "attn_q_b.weight"), c->n_lora_q, q_dim,
                              &w->wq_b, err))
            return -1;
    } else if (model_bind_matrix(m, LAYER_NAME(name, l, "attn_q.weight"), c->n_embd, q_dim, &w->wq,
                                 err)) {
        return -1;
    }
    return model_bind_required(m, LAYER_NAME(name, l, "attn_kv_a_norm.weight"), R, &w->kv_a_norm,
                               err) ||
                   model_bind_matrix(m, LAYER_NAME(name, l, "attn_kv_a_mqa.weight"), c->n_embd,
                                     mla_cache_width(c), &w->wkv_a, err) ||
                   model_bind_stack(m, LAYER_NAME(name, l, "attn_k_b.weight"), nope, R, c->n_head,
                                    &w->wk_b, err) ||
                   model_bind_stack(m, LAYER_NAME(name, l, "attn_v_b.weight"), R,
                                    c->n_embd_head_v_mla, c->n_head, &w->wv_b, err) ||
                   model_bind_matrix(m, LAYER_NAME(name, l, "attn_output.weight"),
                                     (int64_t)c->n_head * c->n_embd_head_v_mla, c->n_embd, &w->wo,
                                     err)
               ? -1
               : 0;
}

/* One pass's buffers (carved from the session's run_state.scratch): the absorbed queries
 * and attention outputs [B][n_head][R + n_rot], the q bottleneck [B][n_lora_q], the heads'
 * gathered inputs [n_head][B][max(nope, R)] and results [n_head][B][max(R, v)], the heads'
 * values side by side [B][n_head * v], one matmul_item per head. */
typedef struct {
    float *q_abs, *att, *q_low, *gather, *head_out, *values;
    matmul_item *items;
} mla_scratch;

/* The pieces at p (or their total size from p = NULL), each 64-byte aligned. */
static size_t scratch_layout(mla_scratch *sc, char *p, const model_config *c, int B) {
    const size_t W = mla_cache_width(c), H = c->n_head, R = c->n_lora_kv, v = c->n_embd_head_v_mla,
                 nope = c->n_embd_head_k_mla - c->n_rot;
    const size_t sizes[6] = {B * H * W,
                             B * H * W,
                             B * (size_t)(c->n_lora_q + 1),
                             B * H * (nope > R ? nope : R),
                             B * H * (R > v ? R : v),
                             B * H * v};
    float **dst[6] = {&sc->q_abs, &sc->att, &sc->q_low, &sc->gather, &sc->head_out, &sc->values};
    size_t total = 0;
    for (int i = 0; i < 6; i++) {
        if (p) *dst[i] = (float *)(p + total);
        total += (sizes[i] * sizeof(float) + 63) / 64 * 64;
    }
    if (p) sc->items = (matmul_item *)(p + total);
    return total + H * sizeof(matmul_item);
}

size_t mla_scratch_bytes(const model_config *c, int B) {
    mla_scratch sc;
    return scratch_layout(&sc, NULL, c, B);
}

/* q = wq x or wq_b rmsnorm(wq_a x) into rs->q ([B][n_head][nope + n_rot]). */
static int project_q(session *s, const layer_weights *w, mla_scratch *sc, int B) {
    const model_config *c = &s->m->cfg;
    run_state *rs = &s->rs;
    if (!w->wq_a.data) return matmul(s->m->kernels, &w->wq, rs->xb, B, rs->q);
    if (matmul(s->m->kernels, &w->wq_a, rs->xb, B, sc->q_low)) return -1;
    for (int b = 0; b < B; b++) {
        float *r = sc->q_low + (size_t)b * c->n_lora_q;
        rmsnorm(r, r, w->q_a_norm, c->n_lora_q, c->rms_eps);
    }
    return matmul(s->m->kernels, &w->wq_b, sc->q_low, B, rs->q);
}

/* The cache rows of the B tokens: [rmsnorm(c), rope(k)] = wkv_a x. */
static int append_latents(session *s, int l, const layer_weights *w, int B, int pos0,
                          const rope_params *rp) {
    const model_config *c = &s->m->cfg;
    const int W = mla_cache_width(c), R = c->n_lora_kv;
    float *rows = kvcache_k(&s->cache, l, pos0); /* B consecutive rows */
    if (matmul(s->m->kernels, &w->wkv_a, s->rs.xb, B, rows)) return -1;
    for (int b = 0; b < B; b++) {
        float *row = rows + (size_t)b * W;
        rmsnorm(row, row, w->kv_a_norm, R, c->rms_eps);
        rope_ext(row + R, 1, c->n_rot, pos0 + b, rp);
    }
    return 0;
}

/* Per head h: y[b] = M_h x_h[b] for the B tokens, where x_h[b] is the M_h.cols floats at
 * src + b * src_stride + h * src_head, and y goes to dst + b * dst_stride + h * dst_head:
 * all heads in one matmul_each. One token reads and writes in place; a batch is gathered
 * head by head ([h][b][cols]) and scattered back. */
static int per_head(session *s, const qmatrix *M, mla_scratch *sc, int B, const float *src,
                    int src_stride, int src_head, float *dst, int dst_stride, int dst_head) {
    const int H = s->m->cfg.n_head;
    const size_t cols = (size_t)M[0].cols, rows = (size_t)M[0].rows;
    for (int h = 0; h < H; h++) {
        float *x = sc->gather + (size_t)h * B * cols, *y = sc->head_out + (size_t)h * B * rows;
        if (B == 1) {
            sc->items[h] =
                (matmul_item){&M[h], src + (size_t)h * src_head, 1, dst + (size_t)h * dst_head};
            continue;
        }
        for (int b = 0; b < B; b++)
            memcpy(x + b * cols, src + (size_t)b * src_stride + (size_t)h * src_head,
                   cols * sizeof(float));
        sc->items[h] = (matmul_item){&M[h], x, B, y};
    }
    if (matmul_each(s->m->kernels, sc->items, H)) return -1;
    for (int h = 0; B > 1 && h < H; h++)
        for (int b = 0; b < B; b++)
            memcpy(dst + (size_t)b * dst_stride + (size_t)h * dst_head,
                   sc->head_out + ((size_t)h * B + b) * rows, rows * sizeof(float));
    return 0;
}

int mla_attention(session *s, int l, int B, int pos0, scarce_error *err) {
    const model *m = s->m;
    const model_config *c = &m->cfg;
    const layer_weights *w = &m->layers[l];
    run_state *rs = &s->rs;
    const int W = mla_cache_width(c), R = c->n_lora_kv, H = c->n_head;
    const int k_mla = c->n_embd_head_k_mla, nope = k_mla - c->n_rot, v = c->n_embd_head_v_mla;
    const rope_params rp = {.n_rot = c->n_rot,
                            .neox = c->rope_neox,
                            .freq_base = w->rope_base,
                            .freq_scale = w->rope_scale,
                            .attn_factor = c->rope_attn_factor,
                            .freq_factors = m->rope_freqs}; /* YaRN's, when the file has it */
    mla_scratch sc;
    scratch_layout(&sc, s->rs.scratch, c, B); /* session_init sized it: mla_scratch_bytes */
    double t0 = now_seconds();
    if (project_q(s, w, &sc, B) || append_latents(s, l, w, B, pos0, &rp)) goto failed;
    for (int b = 0; b < B; b++) { /* the rope part of each head: q_abs[b][h][R..] */
        float *q = rs->q + (size_t)b * H * k_mla;
        rope_ext(q + nope, H, k_mla, pos0 + b, &rp);
        for (int h = 0; h < H; h++)
            memcpy(sc.q_abs + ((size_t)b * H + h) * W + R, q + (size_t)h * k_mla + nope,
                   c->n_rot * sizeof(float));
    }
    /* absorb W_kb into the no-rope part: q_abs[b][h][0..R) = W_kb,h q[b][h][0..nope) */
    if (per_head(s, w->wk_b, &sc, B, rs->q, H * k_mla, k_mla, sc.q_abs, H * W, W)) goto failed;
    s->stats.t_matmul += now_seconds() - t0;
    /* one key/value head of W floats: the values' last n_rot outputs are not used */
    double t_att = now_seconds();
    const attention_args att = {.ops = kernel_ctx_ops(m->kernels),
                                .out = sc.att,
                                .q = sc.q_abs,
                                .k = kvcache_k(&s->cache, l, 0),
                                .v = kvcache_k(&s->cache, l, 0),
                                .B = B,
                                .pos0 = pos0,
                                .n_head = H,
                                .n_head_kv = 1,
                                .head_dim = W,
                                .kv_stride = W,
                                .scale = c->attn_scale};
    kernel_ctx_attention(m->kernels, &att);
    for (int b = 0; b < B; b++) {
        const uint64_t n_pos = (uint64_t)pos0 + b + 1;
        s->stats.kv_bytes += n_pos * W * sizeof(float);
        s->stats.flops += 4ull * n_pos * H * W;
    }
    s->stats.t_attention += now_seconds() - t_att;
    t0 = now_seconds();
    /* o_h = W_vb,h (sum_t a_t c_t) (the first R of the head's W outputs), then wo over the
     * heads side by side */
    if (per_head(s, w->wv_b, &sc, B, sc.att, H * W, W, sc.values, H * v, v)) goto failed;
    if (matmul(m->kernels, &w->wo, sc.values, B, rs->xb)) goto failed;
    s->stats.t_matmul += now_seconds() - t0;
    s->stats.flops += 2ull * B * H * ((uint64_t)nope * R + (uint64_t)R * v);
    return 0;
failed:
    return scarce_fail(err, "blk.%d latent attention: %s", l, kernel_ctx_error(m->kernels));
}
