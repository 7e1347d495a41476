/* ops.c - rmsnorm, rope, softmax, swiglu, attention (f32), and the batched attention
 * driver over the ISA's attention kernel. */
#include "ops.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Part of the dispatch table (kernels/cpu.h): set by kernels_init only. */
static ops_kernels current = {attention_heads_ref, swiglu_ref, geglu_tanh};

void ops_install(const ops_kernels *k) {
    current.attention_heads = k && k->attention_heads ? k->attention_heads : attention_heads_ref;
    current.swiglu = k && k->swiglu ? k->swiglu : swiglu_ref;
    current.geglu = k && k->geglu ? k->geglu : geglu_tanh;
}

/* Lanes of rmsnorm's sum of squares: 16 running sums (one 512-bit register, two 256-bit
 * ones) that the compiler vectorizes without reordering any lane's additions, then a fixed
 * tree, so every build and ISA gets the same bits. The one-accumulator loop it replaced is a
 * chain of n dependent adds (2048: ~8000 cycles); TinyLlama decode runs 45 norms a token,
 * 0.22 ms of a 1-thread q4_0 token (perf, 2-core Sapphire-Rapids-class Xeon), all of it on
 * the caller while a 2-thread pool's worker waits. */
#define NORM_LANES 16

static float sum_of_squares(const float *x, int n) {
    float lane[NORM_LANES] = {0};
    int i = 0;
    for (; i + NORM_LANES <= n; i += NORM_LANES)
        for (int j = 0; j < NORM_LANES; j++) lane[j] += x[i + j] * x[i + j];
    for (int j = 0; i + j < n; j++) lane[j] += x[i + j] * x[i + j];
    for (int w = NORM_LANES / 2; w > 0; w /= 2)
        for (int j = 0; j < w; j++) lane[j] += lane[j + w];
    return lane[0];
}

/* x * rsqrt(mean(x^2) + eps) * w  (llama: RMSNorm) */
void rmsnorm(float *out, const float *x, const float *weight, int n, float eps) {
    float scale = 1.0f / sqrtf(sum_of_squares(x, n) / n + eps);
    for (int i = 0; i < n; i++) out[i] = x[i] * scale * weight[i];
}

/* Pairs whose angles rope_ext_qk computes at once (more are done in chunks of this). */
#define ROPE_CHUNK 64

/* Turns pairs [i0, i0 + count) of each of n_head heads by the angles' cos c[] and sin s[]. */
static void rope_turn(float *x, int n_head, int head_dim, const rope_params *p, int i0, int count,
                      const float *c, const float *s) {
    const int half = p->n_rot / 2;
    for (int h = 0; h < n_head; h++) {
        float *v = x + (size_t)h * head_dim;
        for (int j = 0; j < count; j++) {
            const int i = i0 + j;
            /* the pair's two elements: adjacent (llama) or half the rotated span apart (NeoX) */
            const int e0 = p->neox ? i : 2 * i, e1 = p->neox ? i + half : 2 * i + 1;
            const float a = v[e0], b = v[e1];
            v[e0] = a * c[j] - b * s[j];
            v[e1] = a * s[j] + b * c[j];
        }
    }
}

/* The angles are computed once for q and k (a powf and a sincos a pair: 64 heads' worth of
 * them were 0.1 ms of a TinyLlama token when q and k each took their own). */
void rope_ext_qk(float *q, int n_head, float *k, int n_head_kv, int head_dim, int pos,
                 const rope_params *p) {
    const int half = p->n_rot / 2;
    for (int i0 = 0; i0 < half; i0 += ROPE_CHUNK) {
        const int count = half - i0 < ROPE_CHUNK ? half - i0 : ROPE_CHUNK;
        float c[ROPE_CHUNK], s[ROPE_CHUNK];
        for (int j = 0; j < count; j++) {
            const int i = i0 + j;
            float theta = p->freq_scale * pos * powf(p->freq_base, -(float)(2 * i) / p->n_rot);
            if (p->freq_factors) theta /= p->freq_factors[i];
            c[j] = cosf(theta) * p->attn_factor, s[j] = sinf(theta) * p->attn_factor;
        }
        rope_turn(q, n_head, head_dim, p, i0, count, c, s);
        if (k) rope_turn(k, n_head_kv, head_dim, p, i0, count, c, s);
    }
}

void rope_ext(float *x, int n_head, int head_dim, int pos, const rope_params *p) {
    rope_ext_qk(x, n_head, NULL, 0, head_dim, pos, p);
}

void rmsnorm_heads(float *x, const float *weight, int n_head, int head_dim, float eps) {
    for (int h = 0; h < n_head; h++)
        rmsnorm(x + (size_t)h * head_dim, x + (size_t)h * head_dim, weight, head_dim, eps);
}

void add_bias(float *x, const float *bias, int B, int n) {
    for (int b = 0; b < B; b++)
        for (int i = 0; i < n; i++) x[(size_t)b * n + i] += bias[i];
}

void geglu_tanh(float *gate, const float *up, int n) {
    const float sqrt_2_over_pi = 0.79788456080286535588f;
    for (int i = 0; i < n; i++) {
        const float x = gate[i];
        gate[i] = 0.5f * x * (1.0f + tanhf(sqrt_2_over_pi * (x + 0.044715f * x * x * x))) * up[i];
    }
}

void ops_geglu(const ops_kernels *ops, float *gate, const float *up, int n) {
    (ops && ops->geglu ? ops->geglu : current.geglu)(gate, up, n);
}

void rope(float *x, int n_head, int head_dim, int n_rot, int pos, float freq_base) {
    const rope_params p = {
        .n_rot = n_rot, .freq_base = freq_base, .freq_scale = 1.0f, .attn_factor = 1.0f};
    rope_ext(x, n_head, head_dim, pos, &p);
}

void softmax(float *x, int n) {
    float max = x[0];
    for (int i = 1; i < n; i++) max = x[i] > max ? x[i] : max;
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    for (int i = 0; i < n; i++) x[i] /= sum;
}

void ops_swiglu(const ops_kernels *ops, float *gate, const float *up, int n) {
    (ops && ops->swiglu ? ops->swiglu : current.swiglu)(gate, up, n);
}

void swiglu(float *gate, const float *up, int n) {
    ops_swiglu(NULL, gate, up, n);
}

void swiglu_ref(float *gate, const float *up, int n) {
    for (int i = 0; i < n; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void attention(float *out, const float *q, const float *k, const float *v, int n_pos, int n_head,
               int n_head_kv, int head_dim, int kv_stride, float *att) {
    const int group = n_head / n_head_kv;
    const float scale = 1.0f / sqrtf((float)head_dim);
#pragma omp parallel for schedule(static) if (n_head * n_pos * head_dim > 65536)
    for (int h = 0; h < n_head; h++) {
        const float *qh = q + h * head_dim;
        const int kv_off = (h / group) * head_dim;
        float *a = att + (size_t)h * n_pos;
        for (int t = 0; t < n_pos; t++) {
            const float *kt = k + (size_t)t * kv_stride + kv_off;
            float score = 0.0f;
            for (int i = 0; i < head_dim; i++) score += qh[i] * kt[i];
            a[t] = score * scale;
        }
        softmax(a, n_pos);
        float *oh = out + h * head_dim;
        for (int i = 0; i < head_dim; i++) oh[i] = 0.0f;
        for (int t = 0; t < n_pos; t++) {
            const float *vt = v + (size_t)t * kv_stride + kv_off;
            for (int i = 0; i < head_dim; i++) oh[i] += a[t] * vt[i];
        }
    }
}

/* Online softmax (Milakov & Gimelshein 2018): one pass over t keeping the running max m,
 * sum l = sum_t exp(s_t - m) and o = sum_t exp(s_t - m) v_t; when m grows to m', l and o
 * are rescaled by exp(m - m'). out = o / l, no n_pos scratch. */
void attention_heads_ref(float *out, const float *q, const float *k, const float *v, int n_pos,
                         int n_group, int head_dim, int kv_stride, float scale) {
    attention_heads_capped(out, q, k, v, n_pos, n_group, head_dim, kv_stride, scale, 0.0f);
}

/* The scalar online softmax; sinks (or NULL) seed each head's max and sum. */
static void heads_scalar(float *out, const float *q, const float *k, const float *v, int n_pos,
                         int n_group, int head_dim, int kv_stride, float scale, float softcap,
                         const float *sinks) {
    for (int h = 0; h < n_group; h++) {
        const float *qh = q + (size_t)h * head_dim;
        float *oh = out + (size_t)h * head_dim;
        float max = sinks ? sinks[h] : -INFINITY, sum = sinks ? 1.0f : 0.0f;
        for (int i = 0; i < head_dim; i++) oh[i] = 0.0f;
        for (int t = 0; t < n_pos; t++) {
            const float *kt = k + (size_t)t * kv_stride, *vt = v + (size_t)t * kv_stride;
            float score = 0.0f;
            for (int i = 0; i < head_dim; i++) score += qh[i] * kt[i];
            score *= scale;
            if (softcap > 0.0f) score = softcap * tanhf(score / softcap);
            if (score > max) {
                float rescale = expf(max - score);
                sum *= rescale;
                for (int i = 0; i < head_dim; i++) oh[i] *= rescale;
                max = score;
            }
            float p = expf(score - max);
            sum += p;
            for (int i = 0; i < head_dim; i++) oh[i] += p * vt[i];
        }
        for (int i = 0; i < head_dim; i++) oh[i] /= sum;
    }
}

void attention_heads_capped(float *out, const float *q, const float *k, const float *v, int n_pos,
                            int n_group, int head_dim, int kv_stride, float scale, float softcap) {
    heads_scalar(out, q, k, v, n_pos, n_group, head_dim, kv_stride, scale, softcap, NULL);
}

void attention_heads_sinks(float *out, const float *q, const float *k, const float *v, int n_pos,
                           int n_group, int head_dim, int kv_stride, float scale,
                           const float *sinks) {
    heads_scalar(out, q, k, v, n_pos, n_group, head_dim, kv_stride, scale, 0.0f, sinks);
}

/* Cost of query b's items in key positions, plus a fixed per-item overhead. */
static int64_t item_cost(int pos0, int b) {
    return pos0 + b + 1 + 8;
}

/* Items (b, g) in b-major order: share k of n starts at the first item whose cost prefix
 * reaches k/n of the total, so contiguous runs cost about total / n each and the threads
 * that take the late (long) queries take fewer of them. */
int64_t attention_boundary(const attention_args *a, int k, int n) {
    int64_t total = 0, start = 0;
    for (int b = 0; b < a->B; b++) total += item_cost(a->pos0, b) * a->n_head_kv;
    for (int b = 0; b < a->B; b++)
        for (int g = 0; g < a->n_head_kv; g++, start += item_cost(a->pos0, b))
            if (start * n >= total * k) return (int64_t)b * a->n_head_kv + g;
    return (int64_t)a->B * a->n_head_kv;
}

void attention_items(const attention_args *a, int64_t i0, int64_t i1) {
    const attention_heads_fn heads =
        a->ops && a->ops->attention_heads ? a->ops->attention_heads : current.attention_heads;
    const int group = a->n_head / a->n_head_kv, q_dim = a->n_head * a->head_dim;
    for (int64_t i = i0; i < i1; i++) {
        const int b = (int)(i / a->n_head_kv), g = (int)(i % a->n_head_kv);
        const size_t qo = (size_t)b * q_dim + (size_t)g * group * a->head_dim;
        /* the window's first position: earlier keys are masked, so skipped */
        const int pos = a->pos0 + b;
        const int first = a->window > 0 && pos >= a->window ? pos - a->window + 1 : 0;
        const size_t kvo = (size_t)first * a->kv_stride + (size_t)g * a->head_dim;
        if (a->sinks) /* scalar only: gpt-oss */
            attention_heads_sinks(a->out + qo, a->q + qo, a->k + kvo, a->v + kvo, pos - first + 1,
                                  group, a->head_dim, a->kv_stride, a->scale,
                                  a->sinks + (size_t)g * group);
        else if (a->softcap > 0.0f) /* scalar only: Gemma 2's capped scores */
            attention_heads_capped(a->out + qo, a->q + qo, a->k + kvo, a->v + kvo, pos - first + 1,
                                   group, a->head_dim, a->kv_stride, a->scale, a->softcap);
        else
            heads(a->out + qo, a->q + qo, a->k + kvo, a->v + kvo, pos - first + 1, group,
                  a->head_dim, a->kv_stride, a->scale);
    }
}

int64_t attention_work(const attention_args *a) {
    return ((int64_t)a->B * a->pos0 + (int64_t)a->B * (a->B + 1) / 2) * a->n_head * a->head_dim;
}

void attention_batch(float *out, const float *q, const float *k, const float *v, int B, int pos0,
                     int n_head, int n_head_kv, int head_dim, int kv_stride) {
    attention_batch_window(NULL, out, q, k, v, B, pos0, n_head, n_head_kv, head_dim, kv_stride,
                           1.0f / sqrtf((float)head_dim), 0, 0.0f);
}

void attention_batch_window(const ops_kernels *ops, float *out, const float *q, const float *k,
                            const float *v, int B, int pos0, int n_head, int n_head_kv,
                            int head_dim, int kv_stride, float scale, int window, float softcap) {
    const attention_args a = {.ops = ops,
                              .out = out,
                              .q = q,
                              .k = k,
                              .v = v,
                              .B = B,
                              .pos0 = pos0,
                              .n_head = n_head,
                              .n_head_kv = n_head_kv,
                              .head_dim = head_dim,
                              .kv_stride = kv_stride,
                              .scale = scale,
                              .window = window,
                              .softcap = softcap};
    attention_items(&a, 0, (int64_t)B * n_head_kv);
}
