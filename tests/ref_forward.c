/* ref_forward.c - see ref_forward.h. Written from the equations of each architecture's
 * llama.cpp graph (src/models/<arch>.cpp), in double. It decides from the architecture
 * name and from the tensors the file holds, on its own: nothing here comes from
 * engine/arch.c, so a wrong row there shows up as a difference. */
#include "ref_forward.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../quant/types.h"
#include "ref_moe.h"

struct ref_model {
    const gguf_file *f;
    char arch[32];
    int n_embd, n_layer, n_head, n_head_kv, head_dim, n_rot, n_ff, n_vocab, n_ctx, pos;
    int neox, gelu, n_swa, swa_period, no_rope_step;
    double eps, base, base_swa, freq_scale, attn_factor, embd_scale, attn_scale, attn_softcap,
        softcap;
    double *rope_freqs; /* [n_rot/2] or NULL */
    int yarn, n_ctx_orig; /* rope.scaling.type yarn over original_context_length */
    double *kc, *vc;    /* [layer][n_ctx][kv_dim] */
    int mla;            /* deepseek2: latent attention (ref_moe.c) */
    ref_mla_shape mla_shape;
    double *latent;     /* [layer][n_ctx][kv_lora + n_rot] */
    int chosen[64][REF_MAX_USED], n_chosen[64]; /* MoE: the last token's experts per layer */
};

static long key_int(const ref_model *r, const char *suffix, long def) {
    char k[128];
    int64_t v;
    snprintf(k, sizeof k, "%s.%s", r->arch, suffix);
    return gguf_find(r->f, k) && gguf_get_i64(r->f, k, &v, NULL) == 0 ? (long)v : def;
}

static double key_float(const ref_model *r, const char *suffix, double def) {
    char k[128];
    float v;
    snprintf(k, sizeof k, "%s.%s", r->arch, suffix);
    return gguf_find(r->f, k) && gguf_get_f32(r->f, k, &v, NULL) == 0 ? v : def;
}

/* Whole tensor as doubles (caller frees); NULL when the file has no such tensor. */
static double *tensor_d(const gguf_file *f, const char *name) {
    const gguf_tensor *t = gguf_find_tensor(f, name);
    if (!t) return NULL;
    long n = (long)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
    float *tmp = malloc(sizeof(float) * n);
    qtype(t->type)->dequantize(t->data, tmp, n);
    double *d = malloc(sizeof(double) * n);
    for (long i = 0; i < n; i++) d[i] = tmp[i];
    free(tmp);
    return d;
}

static double *layer_tensor(const ref_model *r, int l, const char *what) {
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s", l, what);
    return tensor_d(r->f, name);
}

static int is(const ref_model *r, const char *a) {
    return !strcmp(r->arch, a);
}

ref_model *ref_model_open(const gguf_file *f) {
    ref_model *r = calloc(1, sizeof *r);
    r->f = f;
    const char *arch = gguf_get_str(f, "general.architecture");
    snprintf(r->arch, sizeof r->arch, "%s", arch ? arch : "llama");
    r->n_embd = key_int(r, "embedding_length", 0);
    r->n_layer = key_int(r, "block_count", 0);
    r->n_head = key_int(r, "attention.head_count", 0);
    r->n_head_kv = key_int(r, "attention.head_count_kv", r->n_head);
    r->n_ff = key_int(r, "feed_forward_length", 0);
    r->head_dim = key_int(r, "attention.key_length", r->n_embd / r->n_head);
    r->n_rot = key_int(r, "rope.dimension_count", r->head_dim);
    r->eps = key_float(r, "attention.layer_norm_rms_epsilon", 1e-5);
    r->base = key_float(r, "rope.freq_base", 10000.0);
    double factor = key_float(r, "rope.scaling.factor", 0.0);
    r->freq_scale = factor > 0 ? 1.0 / factor : 1.0;
    /* LLAMA_ROPE_TYPE_NEOX for these (llama_model_rope_type), NORM for llama/smollm3 */
    const int gemma2 = is(r, "gemma2"), gemma = gemma2 || is(r, "gemma3");
    const int oss = is(r, "gpt-oss"); /* even layers local, global rope; sinks */
    r->neox = gemma || is(r, "qwen2") || is(r, "qwen3") || is(r, "phi3") || is(r, "qwen2moe") ||
              is(r, "qwen3moe") || is(r, "olmoe") || oss;
    r->gelu = gemma;
    r->embd_scale = gemma ? sqrt((double)r->n_embd) : 1.0;
    r->attn_scale = 1.0 / sqrt((double)r->head_dim);
    /* gemma2: even layers local (window 4096 by default), rope as the global ones;
     * gemma3: layers l % 6 < 5 local, rope base 10000 unscaled */
    r->n_swa = gemma || oss ? key_int(r, "attention.sliding_window", gemma2 ? 4096 : 0) : 0;
    r->swa_period = gemma2 || oss ? 2 : 6;
    r->base_swa = key_float(r, "rope.freq_base_swa", gemma2 || oss ? 0.0 : 10000.0);
    r->no_rope_step = is(r, "smollm3") ? 4 : 0;
    r->attn_softcap = gemma2 ? key_float(r, "attn_logit_softcapping", 50.0) : 0.0;
    r->softcap = gemma ? key_float(r, "final_logit_softcapping", gemma2 ? 30.0 : 0.0) : 0.0;
    r->attn_factor = key_float(r, "rope.scaling.attn_factor", 1.0);
    char type_key[128];
    snprintf(type_key, sizeof type_key, "%s.rope.scaling.type", r->arch);
    const char *type = gguf_get_str(f, type_key);
    r->yarn = type && !strcmp(type, "yarn");
    r->n_ctx_orig = (int)key_int(r, "rope.scaling.original_context_length",
                                 key_int(r, "context_length", 2048));
    r->n_vocab = (int)gguf_find_tensor(f, "token_embd.weight")->ne[1];
    r->n_ctx = 256;
    /* Llama 3 factors; else Phi-3's long ones when the context passes the original */
    const long orig =
        key_int(r, "rope.scaling.original_context_length", key_int(r, "context_length", 2048));
    r->rope_freqs = tensor_d(f, "rope_freqs.weight");
    if (!r->rope_freqs)
        r->rope_freqs =
            tensor_d(f, r->n_ctx > orig ? "rope_factors_long.weight" : "rope_factors_short.weight");
    size_t kv = (size_t)r->n_layer * r->n_ctx * r->n_head_kv * r->head_dim;
    r->kc = calloc(kv, sizeof(double));
    r->vc = calloc(kv, sizeof(double));
    if ((r->mla = is(r, "deepseek2"))) {
        r->mla_shape = ref_mla_read(f, r->arch);
        r->latent = calloc((size_t)r->n_layer * r->n_ctx *
                               (r->mla_shape.kv_lora + r->mla_shape.n_rot),
                           sizeof(double));
    }
    return r;
}

void ref_model_free(ref_model *r) {
    if (!r) return;
    free(r->kc);
    free(r->vc);
    free(r->rope_freqs);
    free(r->latent);
    free(r);
}

int ref_model_vocab(const ref_model *r) {
    return r->n_vocab;
}

int ref_model_chosen(const ref_model *r, int l, int *chosen) {
    memcpy(chosen, r->chosen[l], sizeof(int) * r->n_chosen[l]);
    return r->n_chosen[l];
}

static void rms(double *out, const double *x, const double *w, int n, double eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    double s = 1.0 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) out[i] = x[i] * s * w[i];
}

/* y[rows] = W[rows][cols] x (+ b) */
static void mv(double *y, const double *W, const double *x, int rows, int cols, const double *b) {
    for (int r = 0; r < rows; r++) {
        double s = b ? b[r] : 0;
        for (int c = 0; c < cols; c++) s += W[(size_t)r * cols + c] * x[c];
        y[r] = s;
    }
}

/* ggml_rope_ext: pair j turns by pos * scale * base^(-2j/n_rot) / factor_j (YaRN: ref_moe.c);
 * the pair is (2j, 2j+1) (normal) or (j, j + n_rot/2) (NeoX). */
static void rot(const ref_model *r, double *v, int n_heads, int pos, double base, double scale) {
    const int hd = r->head_dim, half = r->n_rot / 2;
    for (int h = 0; h < n_heads; h++)
        for (int j = 0; j < half; j++) {
            double mag = r->attn_factor;
            const double th = ref_rope_theta(j, r->n_rot, pos, base, scale, r->rope_freqs, r->yarn,
                                             r->n_ctx_orig, &mag);
            int i0 = r->neox ? j : 2 * j, i1 = r->neox ? j + half : 2 * j + 1;
            double a = v[h * hd + i0], b = v[h * hd + i1];
            double c = cos(th) * mag, s = sin(th) * mag;
            v[h * hd + i0] = a * c - b * s;
            v[h * hd + i1] = a * s + b * c;
        }
}

/* Causal attention of one query at position p over the layer's cache, positions
 * [first, p]; o[n_head * head_dim]. sinks (gpt-oss): a logit per head in the softmax's
 * denominator only. */
static void attend(const ref_model *r, double *o, const double *q, const double *kc,
                   const double *vc, int first, int p, const double *sinks) {
    const int hd = r->head_dim, kvd = r->n_head_kv * hd;
    double *att = calloc((size_t)p + 1, sizeof(double));
    for (int hh = 0; hh < r->n_head; hh++) {
        int kh = hh / (r->n_head / r->n_head_kv);
        double mx = -1e300, sum = 0;
        for (int t = first; t <= p; t++) {
            double s = 0;
            for (int i = 0; i < hd; i++) s += q[hh * hd + i] * kc[(size_t)t * kvd + kh * hd + i];
            att[t] = s * r->attn_scale;
            if (r->attn_softcap > 0) att[t] = r->attn_softcap * tanh(att[t] / r->attn_softcap);
            if (att[t] > mx) mx = att[t];
        }
        if (sinks) mx = fmax(mx, sinks[hh]);
        for (int t = first; t <= p; t++) sum += att[t] = exp(att[t] - mx);
        if (sinks) sum += exp(sinks[hh] - mx);
        for (int i = 0; i < hd; i++) {
            double acc = 0;
            for (int t = first; t <= p; t++)
                acc += att[t] / sum * vc[(size_t)t * kvd + kh * hd + i];
            o[hh * hd + i] = acc;
        }
    }
    free(att);
}

/* Sliding-window layer: all but every swa_period-th (llama_hparams::set_swa_pattern). */
static int is_local(const ref_model *r, int l) {
    return r->n_swa > 0 && l % r->swa_period < r->swa_period - 1;
}

/* q, k, v of layer l from the normed input h: separate or fused weights, optional biases,
 * optional per-head q/k norms, rope unless the layer has none. */
static void qkv(const ref_model *r, int l, const double *h, double *q, double *k, double *v) {
    const int E = r->n_embd, qd = r->n_head * r->head_dim, kvd = r->n_head_kv * r->head_dim;
    double *fused = layer_tensor(r, l, "attn_qkv.weight");
    double *wq = fused ? fused : layer_tensor(r, l, "attn_q.weight");
    double *wk = fused ? fused + (size_t)qd * E : layer_tensor(r, l, "attn_k.weight");
    double *wv = fused ? fused + (size_t)(qd + kvd) * E : layer_tensor(r, l, "attn_v.weight");
    double *bq = layer_tensor(r, l, "attn_q.bias"), *bk = layer_tensor(r, l, "attn_k.bias"),
           *bv = layer_tensor(r, l, "attn_v.bias");
    mv(q, wq, h, qd, E, bq);
    mv(k, wk, h, kvd, E, bk);
    mv(v, wv, h, kvd, E, bv);
    double *qn = layer_tensor(r, l, "attn_q_norm.weight"),
           *kn = layer_tensor(r, l, "attn_k_norm.weight");
    char name[96];
    snprintf(name, sizeof name, "blk.%d.attn_q_norm.weight", l);
    /* a norm as wide as all heads (olmoe) normalises the whole vector at once */
    const int full = qn && gguf_find_tensor(r->f, name)->ne[0] == qd && qd != r->head_dim;
    if (full) {
        rms(q, q, qn, qd, r->eps);
        rms(k, k, kn, kvd, r->eps);
    }
    for (int hh = 0; qn && !full && hh < r->n_head; hh++)
        rms(q + hh * r->head_dim, q + hh * r->head_dim, qn, r->head_dim, r->eps);
    for (int hh = 0; kn && !full && hh < r->n_head_kv; hh++)
        rms(k + hh * r->head_dim, k + hh * r->head_dim, kn, r->head_dim, r->eps);
    const int local = is_local(r, l);
    const int use_rope = !(r->no_rope_step && (l + 1) % r->no_rope_step == 0);
    const int own = local && r->base_swa > 0; /* the local layers' own rope */
    if (use_rope) {
        rot(r, q, r->n_head, r->pos, own ? r->base_swa : r->base, own ? 1.0 : r->freq_scale);
        rot(r, k, r->n_head_kv, r->pos, own ? r->base_swa : r->base, own ? 1.0 : r->freq_scale);
    }
    if (!fused) free(wq), free(wk), free(wv);
    free(fused), free(bq), free(bk), free(bv), free(qn), free(kn);
}

/* The gated FFN of layer l on h, into out[n_embd]: gate/up separate or one ffn_up holding
 * gate rows then up rows (phi3); SiLU or GELU(tanh). */
static void ffn(ref_model *r, int l, const double *h, double *out) {
    const int E = r->n_embd, F = r->n_ff;
    if ((r->n_chosen[l] = ref_moe_ffn(r->f, r->arch, l, h, E, out, r->chosen[l]))) return;
    double *g = calloc(F, 8), *u = calloc(F, 8);
    double *wg = layer_tensor(r, l, "ffn_gate.weight"), *wu = layer_tensor(r, l, "ffn_up.weight"),
           *wd = layer_tensor(r, l, "ffn_down.weight");
    mv(g, wg ? wg : wu, h, F, E, NULL);
    mv(u, wg ? wu : wu + (size_t)F * E, h, F, E, NULL);
    for (int i = 0; i < F; i++) {
        double x = g[i];
        double act = r->gelu ? 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)))
                             : x / (1 + exp(-x));
        g[i] = act * u[i];
    }
    mv(out, wd, g, E, F, NULL);
    free(g), free(u), free(wg), free(wu), free(wd);
}

/* x = x + rmsnorm(y) with the post-norm when the file has it, else x + y. */
static void add_post_normed(const ref_model *r, int l, const char *post, double *x, double *y) {
    double *pn = layer_tensor(r, l, post);
    if (pn) rms(y, y, pn, r->n_embd, r->eps);
    for (int i = 0; i < r->n_embd; i++) x[i] += y[i];
    free(pn);
}

void ref_model_step(ref_model *r, int token, double *logits) {
    const int E = r->n_embd, qd = r->n_head * r->head_dim, kvd = r->n_head_kv * r->head_dim;
    const int p = r->pos;
    double *x = calloc(E, 8), *h = calloc(E, 8), *q = calloc(qd, 8), *k = calloc(kvd, 8),
           *v = calloc(kvd, 8), *o = calloc(qd, 8);
    double *emb = tensor_d(r->f, "token_embd.weight");
    for (int i = 0; i < E; i++) x[i] = emb[(size_t)token * E + i] * r->embd_scale;
    free(emb);
    for (int l = 0; l < r->n_layer; l++) {
        double *an = layer_tensor(r, l, "attn_norm.weight"),
               *fn = layer_tensor(r, l, "ffn_norm.weight"),
               *sinks = layer_tensor(r, l, "attn_sinks.weight"),
               *bo = layer_tensor(r, l, "attn_output.bias"),
               *wo = layer_tensor(r, l, "attn_output.weight");
        rms(h, x, an, E, r->eps);
        if (r->mla) {
            const ref_mla_shape *ms = &r->mla_shape;
            double *o_mla = calloc((size_t)ms->n_head * ms->v_mla, 8);
            ref_mla_attention(r->f, ms, l, p, h,
                              r->latent + (size_t)l * r->n_ctx * (ms->kv_lora + ms->n_rot), o_mla);
            mv(h, wo, o_mla, E, ms->n_head * ms->v_mla, NULL);
            free(o_mla);
        } else {
            qkv(r, l, h, q, k, v);
            double *kc = r->kc + (size_t)l * r->n_ctx * kvd, *vc = r->vc + (size_t)l * r->n_ctx * kvd;
            memcpy(kc + (size_t)p * kvd, k, sizeof(double) * kvd);
            memcpy(vc + (size_t)p * kvd, v, sizeof(double) * kvd);
            const int local = is_local(r, l);
            attend(r, o, q, kc, vc, local && p >= r->n_swa ? p - r->n_swa + 1 : 0, p, sinks);
            mv(h, wo, o, E, qd, bo);
        }
        if (!fn) { /* gpt-oss: its post_attention_norm is the FFN's input norm */
            for (int i = 0; i < E; i++) x[i] += h[i];
            fn = layer_tensor(r, l, "post_attention_norm.weight");
        } else {
            add_post_normed(r, l, "post_attention_norm.weight", x, h);
        }
        rms(h, x, fn, E, r->eps);
        double *f = calloc(E, 8);
        ffn(r, l, h, f);
        add_post_normed(r, l, "post_ffw_norm.weight", x, f);
        free(f), free(an), free(fn), free(wo), free(sinks), free(bo);
    }
    double *onorm = tensor_d(r->f, "output_norm.weight");
    double *out = tensor_d(r->f, "output.weight");
    if (!out) out = tensor_d(r->f, "token_embd.weight");
    rms(h, x, onorm, E, r->eps);
    mv(logits, out, h, r->n_vocab, E, NULL);
    for (int i = 0; r->softcap > 0 && i < r->n_vocab; i++)
        logits[i] = r->softcap * tanh(logits[i] / r->softcap);
    free(onorm), free(out);
    free(x), free(h), free(q), free(k), free(v), free(o);
    r->pos++;
}
