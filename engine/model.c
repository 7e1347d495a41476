/* model.c - configuration from GGUF metadata and weights bound to the mapped tensors.
 * Every tensor's shape is checked against the configuration before anything runs. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../kernels/repack.h"
#include "../quant/types.h"
#include "meta_check.h"
#include "model_impl.h"
#include "moe.h"

/* "<arch>.<suffix>" as a key */
static const char *arch_key(const model *m, const char *suffix, char key[128]) {
    snprintf(key, 128, "%s.%s", m->cfg.arch, suffix);
    return key;
}

static int get_int(const model *m, const char *suffix, int lo, int *out, int required,
                   scarce_error *err) {
    char buf[128];
    const char *key = arch_key(m, suffix, buf);
    int64_t v;
    if (!gguf_find(m->file, key)) {
        if (required) return scarce_fail(err, "%s: missing key %s", m->file->path, key);
        return 0;
    }
    if (gguf_get_i64(m->file, key, &v, err)) return -1;
    if (v < lo || v > (1 << 24))
        return scarce_fail(err, "%s: %s = %lld is out of range", m->file->path, key,
                           (long long)v);
    *out = (int)v;
    return 0;
}

/* An optional float key "<arch>.<suffix>": out keeps its default when absent. */
static int get_float(const model *m, const char *suffix, float *out, scarce_error *err) {
    char buf[128];
    const char *key = arch_key(m, suffix, buf);
    return gguf_find(m->file, key) && gguf_get_f32(m->file, key, out, err) ? -1 : 0;
}

/* Head sizes: key_length (Qwen3 and Gemma 3 have heads wider than n_embd / n_head). */
static int read_heads(model *m, scarce_error *err) {
    model_config *c = &m->cfg;
    if (c->n_head % c->n_head_kv)
        return scarce_fail(err, "%s: n_head %d is not a multiple of n_head_kv %d",
                           m->file->path, c->n_head, c->n_head_kv);
    c->head_dim = c->n_embd % c->n_head ? 0 : c->n_embd / c->n_head;
    if (get_int(m, "attention.key_length", 1, &c->head_dim, 0, err)) return -1;
    if (c->head_dim == 0)
        return scarce_fail(err, "%s: n_embd %d is not a multiple of n_head %d and %s.%s is "
                           "missing", m->file->path, c->n_embd, c->n_head, c->arch,
                           "attention.key_length");
    int value_length = c->head_dim;
    if (get_int(m, "attention.value_length", 1, &value_length, 0, err)) return -1;
    if (value_length != c->head_dim)
        return scarce_fail(err, "%s: %s.attention.value_length %d differs from key_length %d: "
                           "not supported", m->file->path, c->arch, value_length, c->head_dim);
    c->n_rot = c->head_dim;
    if (get_int(m, "rope.dimension_count", 2, &c->n_rot, 0, err)) return -1;
    if (c->n_rot > c->head_dim || c->n_rot % 2)
        return scarce_fail(err, "%s: %s.rope.dimension_count %d must be even and <= head_dim "
                           "%d (%s.attention.head_count %d)", m->file->path, c->arch, c->n_rot,
                           c->head_dim, c->arch, c->n_head);
    return 0;
}

/* YaRN's magnitude, and DeepSeek's score scale (src/models/deepseek2.cpp: kq_scale =
 * mscale^2 / sqrt(key_length_mla) with its yarn_log_multiplier, stored / 0.1). */
static int read_yarn(model *m, const char *type, scarce_error *err) {
    model_config *c = &m->cfg;
    const float factor = 1.0f / c->rope_freq_scale, ln = logf(factor);
    float log_mul = 0.0f;
    const int mla = c->desc->flags & ARCH_MLA;
    if (mla && get_float(m, "rope.scaling.yarn_log_multiplier", &log_mul, err)) return -1;
    log_mul /= 0.1f;
    c->rope_yarn = type && !strcmp(type, "yarn") && factor != 1.0f;
    const float a = c->rope_yarn ? yarn_attn_factor(factor, c->rope_attn_factor, log_mul, mla)
                                 : c->rope_attn_factor;
    if (c->rope_yarn) c->rope_attn_factor = a * (1.0f + 0.1f * ln); /* ggml's own factor */
    c->attn_mscale = mla ? a * (1.0f + 0.1f * ln) * (1.0f + 0.1f * log_mul * ln) : 1.0f;
    return 0;
}

/* Rope base and scaling as llama.cpp reads them (llama_model::load_hparams): linear
 * scaling divides positions by rope.scaling.factor; "longrope" (Phi-3) is frequency
 * factors plus attn_factor; YaRN (engine/yarn.c) becomes frequency factors and a
 * magnitude (and, for DeepSeek's latent attention, a score scale). */
static int read_rope(model *m, scarce_error *err) {
    model_config *c = &m->cfg;
    char buf[128];
    c->rope_freq_base = 10000.0f, c->rope_freq_scale = 1.0f, c->rope_attn_factor = 1.0f;
    c->rope_neox = c->desc->rope == ROPE_NEOX;
    c->n_ctx_orig = c->n_ctx_train;
    const char *type = NULL;
    if (gguf_find(m->file, arch_key(m, "rope.scaling.type", buf)) &&
        gguf_get_string(m->file, buf, &type, err))
        return -1;
    if (type && strcmp(type, "none") && strcmp(type, "linear") && strcmp(type, "longrope") &&
        strcmp(type, "yarn"))
        return scarce_fail(err, "%s: %s = '%s' is not supported (none, linear, longrope, yarn)",
                           m->file->path, buf, type);
    float factor = 0.0f;
    if (get_float(m, "rope.freq_base", &c->rope_freq_base, err) ||
        get_float(m, "rope.scale_linear", &factor, err) || /* the older key */
        get_float(m, "rope.scaling.factor", &factor, err) ||
        get_float(m, "rope.scaling.attn_factor", &c->rope_attn_factor, err) ||
        get_int(m, "rope.scaling.original_context_length", 1, &c->n_ctx_orig, 0, err))
        return -1;
    if (!(c->rope_freq_base > 0.0f) || factor < 0.0f)
        return scarce_fail(err, "%s: rope.freq_base %g / rope.scaling.factor %g out of range",
                           m->file->path, c->rope_freq_base, factor);
    if (factor > 0.0f && !(type && !strcmp(type, "none"))) c->rope_freq_scale = 1.0f / factor;
    return read_yarn(m, type, err);
}

/* What the architecture row implies: activation, embedding and attention scales, window. */
static int read_arch_numbers(model *m, scarce_error *err) {
    model_config *c = &m->cfg;
    const arch_desc *d = c->desc;
    c->ffn_act = d->ffn;
    c->embd_scale = d->flags & ARCH_EMBD_SCALE ? sqrtf((float)c->n_embd) : 1.0f;
    c->attn_scale = c->attn_mscale * c->attn_mscale / sqrtf((float)c->head_dim);
    if (d->attn_scale_embd_layers && c->n_layer == d->attn_scale_embd_layers)
        c->attn_scale = 1.0f / sqrtf((float)(c->n_embd / c->n_head));
    c->attn_softcap = d->attn_softcap, c->final_softcap = d->final_softcap;
    if (d->reads_softcap && (get_float(m, "attn_logit_softcapping", &c->attn_softcap, err) ||
                             get_float(m, "final_logit_softcapping", &c->final_softcap, err)))
        return -1;
    c->n_swa = d->swa_window;
    if (d->swa_pattern && get_int(m, "attention.sliding_window", 0, &c->n_swa, 0, err)) return -1;
    return 0;
}

static int read_config(model *m, scarce_error *err) {
    model_config *c = &m->cfg;
    const char *arch;
    if (!gguf_find(m->file, "general.architecture"))
        return scarce_fail(err, "%s: missing key general.architecture", m->file->path);
    if (gguf_get_string(m->file, "general.architecture", &arch, err)) return -1;
    if (!(c->desc = arch_find(arch))) {
        char names[256];
        arch_names(names, sizeof names);
        return scarce_fail(err, "%s: architecture '%s' is not supported (%s)", m->file->path,
                           arch, names);
    }
    snprintf(c->arch, sizeof c->arch, "%s", arch);
    if (get_int(m, "embedding_length", 1, &c->n_embd, 1, err) ||
        get_int(m, "block_count", 1, &c->n_layer, 1, err) ||
        get_int(m, "feed_forward_length", 1, &c->n_ff, 1, err) ||
        get_int(m, "attention.head_count", 1, &c->n_head, 1, err))
        return -1;
    c->n_head_kv = c->n_head;
    c->n_ctx_train = 2048;
    c->rms_eps = 1e-5f;
    if (get_int(m, "attention.head_count_kv", 1, &c->n_head_kv, 0, err) ||
        get_int(m, "context_length", 1, &c->n_ctx_train, 0, err) ||
        get_int(m, "expert_count", 0, &c->n_expert, 0, err) ||
        get_int(m, "expert_used_count", 0, &c->n_expert_used, 0, err))
        return -1;
    if ((c->desc->flags & ARCH_MLA ? mla_read_config(m, err) : read_heads(m, err)) ||
        read_rope(m, err) || read_arch_numbers(m, err) ||
        get_float(m, "attention.layer_norm_rms_epsilon", &c->rms_eps, err))
        return -1;
    return model_read_moe(m, err);
}

/* Looks a tensor up and checks its shape is [ne0, ne1, ne2] (ne2 = 1 for matrices). */
static const gguf_tensor *find_shaped(const model *m, const char *name, int64_t ne0,
                                      int64_t ne1, int64_t ne2, scarce_error *err) {
    const gguf_tensor *t = gguf_find_tensor(m->file, name);
    if (!t) {
        scarce_fail(err, "%s: missing tensor %s", m->file->path, name);
        return NULL;
    }
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != ne2 || t->ne[3] != 1) {
        scarce_fail(err, "tensor %s: shape [%lld, %lld, %lld, %lld], expected [%lld, %lld, %lld]",
                    name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                    (long long)t->ne[3], (long long)ne0, (long long)ne1, (long long)ne2);
        return NULL;
    }
    const quant_type *qt = qtype(t->type);
    const type_kernels *k = kernels_for(kernels_isa(), t->type);
    if (!qt || !k || !k->vec_dot) {
        scarce_fail(err, "tensor %s: type %s (id %u) cannot be computed with", name,
                    qt ? qt->name : "unknown", t->type);
        return NULL;
    }
    return t;
}

/* The per-tensor scales of weight `name` ("X.weight"): the n values of "X.scale" (NVFP4
 * checkpoints' second-level scale; one per expert for a stack), or all 0 (none) when the
 * file has no such tensor. llama.cpp 0c1e570 loads them the same way (llama-model.cpp's
 * generic ".scale" pass) and multiplies the matmul result by them. */
static int bind_scales(const model *m, const char *name, int n, float *out, scarce_error *err) {
    char scale_name[160];
    const size_t len = strlen(name);
    for (int i = 0; i < n; i++) out[i] = 0;
    if (len < 7 || strcmp(name + len - 7, ".weight") || len + 1 > sizeof scale_name) return 0;
    snprintf(scale_name, sizeof scale_name, "%.*s.scale", (int)(len - 7), name);
    const gguf_tensor *t = gguf_find_tensor(m->file, scale_name);
    if (!t) return 0;
    const quant_type *qt = qtype(t->type);
    if (!qt || qt->block != 1 || t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3] != n)
        return scarce_fail(err, "tensor %s: expected %d float scale%s for %s", scale_name, n,
                           n == 1 ? "" : "s", name);
    qt->dequantize(t->data, out, n);
    for (int i = 0; i < n; i++) /* 0 means "no scale" in qmatrix: a stored 0 cannot be honoured */
        if (!isfinite(out[i]) || out[i] == 0)
            return scarce_fail(err, "tensor %s: scale %d is %g (must be finite and non-zero)",
                               scale_name, i, out[i]);
    return 0;
}

static int bind_matrix(const model *m, const char *name, int64_t cols, int64_t rows,
                       qmatrix *out, scarce_error *err) {
    const gguf_tensor *t = find_shaped(m, name, cols, rows, 1, err);
    if (!t) return -1;
    *out = (qmatrix){.data = t->data, .type = t->type, .rows = rows, .cols = cols,
                     .row_bytes = qtype_row_bytes(t->type, cols)};
    return bind_scales(m, name, 1, &out->scale, err);
}

/* Rows [row0, row0 + rows) of a bound matrix as a matrix of their own: the fused
 * attn_qkv / ffn_up tensors are split this way, reading the file's bytes in place. */
static qmatrix row_view(const qmatrix *w, int64_t row0, int64_t rows) {
    return (qmatrix){.data = (const char *)w->data + (size_t)row0 * w->row_bytes,
                     .type = w->type, .rows = rows, .cols = w->cols, .row_bytes = w->row_bytes,
                     .scale = w->scale};
}

/* A norm weight vector, converted to f32 whatever its stored type. */
static float *bind_vector(const model *m, const char *name, int64_t n, scarce_error *err) {
    const gguf_tensor *t = gguf_find_tensor(m->file, name);
    if (!t) {
        scarce_fail(err, "%s: missing tensor %s", m->file->path, name);
        return NULL;
    }
    if (t->ne[0] != n || t->ne[1] * t->ne[2] * t->ne[3] != 1 || !qtype(t->type)) {
        scarce_fail(err, "tensor %s: expected a vector of %lld elements", name, (long long)n);
        return NULL;
    }
    float *v = malloc((size_t)n * sizeof(float));
    if (!v) {
        scarce_fail(err, "tensor %s: out of memory", name);
        return NULL;
    }
    qtype(t->type)->dequantize(t->data, v, n);
    return v;
}

/* A vector the architecture may have: *out = NULL when the file has no such tensor. */
static int bind_optional(const model *m, const char *name, int64_t n, float **out,
                         scarce_error *err) {
    *out = NULL;
    if (!gguf_find_tensor(m->file, name)) return 0;
    return (*out = bind_vector(m, name, n, err)) ? 0 : -1;
}

/* A vector the architecture requires: the message says which architecture wants it. */
static int bind_required(const model *m, const char *name, int64_t n, float **out,
                         scarce_error *err) {
    if (!gguf_find_tensor(m->file, name))
        return scarce_fail(err, "%s: missing tensor %s (architecture %s has it)", m->file->path,
                           name, m->cfg.arch);
    return (*out = bind_vector(m, name, n, err)) ? 0 : -1;
}

#define LAYER_NAME(buf, l, suffix) (snprintf(buf, sizeof buf, "blk.%d." suffix, l), buf)

/* Q, K, V (separate, or views of a fused attn_qkv), their biases, q/k norms, output. */
static int bind_attention(model *m, int l, scarce_error *err) {
    const model_config *c = &m->cfg;
    const unsigned flags = c->desc->flags;
    layer_weights *w = &m->layers[l];
    if (flags & ARCH_MLA) return mla_bind_layer(m, l, err);
    const int64_t q_dim = (int64_t)c->n_head * c->head_dim;
    const int64_t kv_dim = (int64_t)c->n_head_kv * c->head_dim;
    char name[96];
    if (gguf_find_tensor(m->file, LAYER_NAME(name, l, "attn_qkv.weight"))) {
        qmatrix qkv;
        if (bind_matrix(m, name, c->n_embd, q_dim + 2 * kv_dim, &qkv, err)) return -1;
        w->wq = row_view(&qkv, 0, q_dim);
        w->wk = row_view(&qkv, q_dim, kv_dim);
        w->wv = row_view(&qkv, q_dim + kv_dim, kv_dim);
        w->fused_qkv = 1;
    } else if ((flags & ARCH_FUSED_QKV) && !gguf_find_tensor(m->file, LAYER_NAME(name, l, "attn_q.weight"))) {
        return scarce_fail(err, "%s: missing tensor %s (or attn_q/attn_k/attn_v)",
                           m->file->path, LAYER_NAME(name, l, "attn_qkv.weight"));
    } else if (bind_matrix(m, LAYER_NAME(name, l, "attn_q.weight"), c->n_embd, q_dim, &w->wq, err) ||
               bind_matrix(m, LAYER_NAME(name, l, "attn_k.weight"), c->n_embd, kv_dim, &w->wk, err) ||
               bind_matrix(m, LAYER_NAME(name, l, "attn_v.weight"), c->n_embd, kv_dim, &w->wv, err)) {
        return -1;
    }
    int (*bias)(const model *, const char *, int64_t, float **, scarce_error *) =
        flags & ARCH_QKV_BIAS ? bind_required : bind_optional;
    if (bias(m, LAYER_NAME(name, l, "attn_q.bias"), q_dim, &w->bq, err) ||
        bias(m, LAYER_NAME(name, l, "attn_k.bias"), kv_dim, &w->bk, err) ||
        bias(m, LAYER_NAME(name, l, "attn_v.bias"), kv_dim, &w->bv, err))
        return -1;
    const int full = flags & ARCH_QK_NORM_FULL; /* one norm over all heads (OLMoE) */
    if ((flags & ARCH_QK_NORM) &&
        (bind_required(m, LAYER_NAME(name, l, "attn_q_norm.weight"), full ? q_dim : c->head_dim,
                       &w->q_norm, err) ||
         bind_required(m, LAYER_NAME(name, l, "attn_k_norm.weight"), full ? kv_dim : c->head_dim,
                       &w->k_norm, err)))
        return -1;
    if ((flags & ARCH_POST_NORMS) &&
        bind_required(m, LAYER_NAME(name, l, "post_attention_norm.weight"), c->n_embd,
                      &w->post_attn_norm, err))
        return -1;
    if ((flags & ARCH_SINKS) &&
        (bind_required(m, LAYER_NAME(name, l, "attn_sinks.weight"), c->n_head, &w->sinks, err) ||
         bind_required(m, LAYER_NAME(name, l, "attn_output.bias"), c->n_embd, &w->bo, err)))
        return -1;
    return bind_matrix(m, LAYER_NAME(name, l, "attn_output.weight"), q_dim, c->n_embd, &w->wo, err);
}

/* Dense FFN: gate, up (or one ffn_up of gate rows then up rows), down; post-norm. */
static int bind_dense_ffn(model *m, int l, scarce_error *err) {
    const model_config *c = &m->cfg;
    layer_weights *w = &m->layers[l];
    char name[96];
    if (c->desc->flags & ARCH_FUSED_UP) {
        qmatrix gate_up;
        if (bind_matrix(m, LAYER_NAME(name, l, "ffn_up.weight"), c->n_embd, 2 * (int64_t)c->n_ff,
                        &gate_up, err))
            return -1;
        w->ffn_gate = row_view(&gate_up, 0, c->n_ff); /* ggml_swiglu: first half is the gate */
        w->ffn_up = row_view(&gate_up, c->n_ff, c->n_ff);
        w->fused_up = 1;
    } else if (bind_matrix(m, LAYER_NAME(name, l, "ffn_gate.weight"), c->n_embd, c->n_ff, &w->ffn_gate, err) ||
               bind_matrix(m, LAYER_NAME(name, l, "ffn_up.weight"), c->n_embd, c->n_ff, &w->ffn_up, err)) {
        return -1;
    }
    return bind_matrix(m, LAYER_NAME(name, l, "ffn_down.weight"), c->n_ff, c->n_embd,
                       &w->ffn_down, err);
}

static int bind_layer(model *m, int l, scarce_error *err) {
    const model_config *c = &m->cfg;
    layer_weights *w = &m->layers[l];
    char name[96];
    if (!(w->attn_norm = bind_vector(m, LAYER_NAME(name, l, "attn_norm.weight"), c->n_embd, err)) ||
        !(w->ffn_norm = bind_vector(m, c->desc->flags & ARCH_SINKS /* gpt-oss's name for it */
                                           ? LAYER_NAME(name, l, "post_attention_norm.weight")
                                           : LAYER_NAME(name, l, "ffn_norm.weight"),
                                    c->n_embd, err)) ||
        bind_attention(m, l, err))
        return -1;
    if ((c->desc->flags & ARCH_POST_NORMS) &&
        bind_required(m, LAYER_NAME(name, l, "post_ffw_norm.weight"), c->n_embd, &w->post_ffn_norm,
                      err))
        return -1;
    return model_layer_is_moe(c, l) ? model_bind_moe_ffn(m, l, err) : bind_dense_ffn(m, l, err);
}

/* Per-layer attention settings: sliding window (local) or global, its rope base and
 * scaling, rope or none. The local layers are those of llama_hparams::set_swa_pattern
 * unless <arch>.attention.sliding_window_pattern gives a period or a per-layer array. */
static int layer_attention(model *m, scarce_error *err) {
    const model_config *c = &m->cfg;
    const arch_desc *d = c->desc;
    char key[128];
    float base_swa = d->swa_rope_base;
    int period = d->swa_pattern;
    if (get_float(m, "rope.freq_base_swa", &base_swa, err)) return -1;
    if (!isfinite(base_swa) || base_swa < 0.0f)
        return scarce_fail(err, "%s: rope.freq_base_swa = %g is out of range", m->file->path,
                           base_swa);
    const gguf_kv *pattern = gguf_find(m->file, arch_key(m, "attention.sliding_window_pattern", key));
    const int per_layer = pattern && pattern->type == GGUF_ARRAY;
    /* one bool (or int32/uint32, as llama.cpp's get_key_or_arr takes) per layer */
    if (per_layer && !gguf_get_array(m->file, key,
                                     GGUF_TYPE_BIT(GGUF_BOOL) | GGUF_TYPE_BIT(GGUF_I32) |
                                         GGUF_TYPE_BIT(GGUF_U32),
                                     (uint64_t)c->n_layer, err))
        return -1;
    if (pattern && !per_layer && get_int(m, "attention.sliding_window_pattern", 0, &period, 0, err))
        return -1;
    for (int l = 0; l < c->n_layer; l++) {
        layer_weights *w = &m->layers[l];
        int local = 0;
        if (c->n_swa > 0)
            local = per_layer ? gguf_arr_i64(pattern, (uint64_t)l) != 0
                              : period == 0 || l % period < period - 1;
        w->window = local ? c->n_swa : 0;
        /* local layers have their own base, unscaled (Gemma 3), or the global rope (Gemma 2) */
        const int own_rope = local && base_swa > 0.0f;
        w->rope_base = own_rope ? base_swa : c->rope_freq_base;
        w->rope_scale = own_rope ? 1.0f : c->rope_freq_scale;
        w->use_rope = !(d->no_rope_step && (l + 1) % d->no_rope_step == 0);
    }
    return 0;
}

/* Frequency factors of rope: Llama 3.x rope_freqs, Phi-3 rope_factors_long/short. */
static int bind_rope_factors(model *m, scarce_error *err) {
    const model_config *c = &m->cfg;
    const int64_t n = c->n_rot / 2;
    if (bind_optional(m, "rope_freqs.weight", n, &m->rope_freqs, err) ||
        bind_optional(m, "rope_factors_long.weight", n, &m->rope_long, err) ||
        bind_optional(m, "rope_factors_short.weight", n, &m->rope_short, err))
        return -1;
    if (!c->rope_yarn) return 0;
    /* YaRN as factors (on top of rope_freqs when both), applied with freq_scale 1 */
    if (!m->rope_freqs && !(m->rope_freqs = malloc(n * sizeof(float))))
        return scarce_fail(err, "out of memory");
    for (int64_t i = 0; !gguf_find_tensor(m->file, "rope_freqs.weight") && i < n; i++)
        m->rope_freqs[i] = 1.0f;
    yarn_factors(m->rope_freqs, c->n_rot, c->n_ctx_orig, c->rope_freq_base, c->rope_freq_scale);
    for (int l = 0; l < c->n_layer; l++) m->layers[l].rope_scale = 1.0f;
    return 0;
}

/* Calls fn(matrix, arg) on every matrix used as a matmul weight. token_embd is read row by
 * row (embedding lookup) and is not one; a tied output is its own qmatrix (a copy of
 * token_embd's), so it can be packed while the lookup keeps reading the file. */
static int each_matmul_weight(model *m, int (*fn)(qmatrix *, void *), void *arg) {
    int rc = fn(&m->output, arg);
    for (int l = 0; m->layers && l < m->cfg.n_layer; l++) {
        layer_weights *w = &m->layers[l];
        qmatrix *dense[] = {&w->wq,         &w->wk,        &w->wv,          &w->wo,
                            &w->ffn_gate,   &w->ffn_up,    &w->ffn_down,    &w->ffn_gate_inp,
                            &w->shexp_gate, &w->shexp_up,  &w->shexp_down,  &w->wq_a,
                            &w->wq_b,       &w->wkv_a};
        for (size_t i = 0; i < sizeof dense / sizeof *dense; i++)
            if (dense[i]->data) rc |= fn(dense[i], arg);
        qmatrix *exps[] = {w->gate_exps, w->up_exps, w->down_exps};
        for (int k = 0; k < 3; k++)
            for (int e = 0; exps[k] && e < m->cfg.n_expert; e++) rc |= fn(&exps[k][e], arg);
        qmatrix *heads[] = {w->wk_b, w->wv_b}; /* MLA: one matrix per head */
        for (int k = 0; k < 2; k++)
            for (int h = 0; heads[k] && h < m->cfg.n_head; h++) rc |= fn(&heads[k][h], arg);
    }
    return rc;
}

static int release_packed(qmatrix *w, void *unused) {
    repack_release(w);
    return 0;
}

static int pack(qmatrix *w, void *kernels) {
    const kernel_config *cfg = kernel_ctx_config(kernels);
    return kernel_config_packs(cfg, w->type) ? repack_matrix(w, cfg->isa) : 0;
}

static int add_to_shape(qmatrix *w, void *shape) {
    kernel_shape_add(shape, w);
    return 0;
}

model_options model_options_default(void) {
    return (model_options){.kernels = kernel_config_default()};
}

/* The kernel context (configuration + scratch for the largest matrix) and, when the
 * configuration says so, the repacked weights. */
static int bind_kernels(model *m, const model_options *opts, scarce_error *err) {
    const model_options defaults = model_options_default();
    if (!opts) opts = &defaults;
    kernel_shape shape = {.max_batch = FORWARD_BATCH_CAP}; /* the largest matrix, a full pass */
    each_matmul_weight(m, add_to_shape, &shape);
    char msg[128];
    if (!(m->kernels = kernel_ctx_new(&opts->kernels, &shape, msg)))
        return scarce_fail(err, "%s: %s", m->file->path, msg);
    /* Decode kernels read Q4_0/Q8_0 weights 8 rows interleaved (kernels/repack.h); the
     * copies add their size to RSS. repack = 0 (SCARCE_REPACK=0) keeps the file layout. */
    if (opts->kernels.repack && each_matmul_weight(m, pack, m->kernels))
        return scarce_fail(err, "%s: out of memory for the repacked weights (SCARCE_REPACK=0 "
                           "reads them in place)", m->file->path);
    return 0;
}

model *model_from_gguf(gguf_file *f, const model_options *opts, scarce_error *err) {
    model *m = calloc(1, sizeof *m);
    if (!m) {
        scarce_fail(err, "out of memory");
        return NULL;
    }
    m->file = f;
    if (read_config(m, err) || meta_check_config(f, &m->cfg, err) ||
        meta_check_block_count(f, &m->cfg, err))
        goto fail;
    const gguf_tensor *embd = gguf_find_tensor(f, "token_embd.weight");
    if (!embd) {
        scarce_fail(err, "%s: missing tensor token_embd.weight", f->path);
        goto fail;
    }
    m->cfg.n_vocab = (int)embd->ne[1];
    if (embd->ne[1] < 1 || embd->ne[1] > (1 << 24)) {
        scarce_fail(err, "tensor token_embd.weight: vocabulary of %lld", (long long)embd->ne[1]);
        goto fail;
    }
    if (meta_check_vocab(f, m->cfg.n_vocab, err) ||
        bind_matrix(m, "token_embd.weight", m->cfg.n_embd, m->cfg.n_vocab, &m->token_embd, err))
        goto fail;
    if (gguf_find_tensor(f, "output.weight")) {
        if (bind_matrix(m, "output.weight", m->cfg.n_embd, m->cfg.n_vocab, &m->output, err))
            goto fail;
    } else {
        m->output = m->token_embd; /* tied embeddings */
    }
    if (!(m->output_norm = bind_vector(m, "output_norm.weight", m->cfg.n_embd, err))) goto fail;
    m->layers = calloc((size_t)m->cfg.n_layer, sizeof *m->layers);
    if (!m->layers) {
        scarce_fail(err, "out of memory");
        goto fail;
    }
    for (int l = 0; l < m->cfg.n_layer; l++)
        if (bind_layer(m, l, err)) goto fail;
    if (layer_attention(m, err) || bind_rope_factors(m, err)) goto fail;
    model_count_bytes(m);
    if (bind_kernels(m, opts, err)) goto fail;
    return m;
fail:
    m->file = NULL; /* the caller still owns f on failure */
    model_free(m);
    return NULL;
}

model *model_load(const char *path, const model_options *opts, scarce_error *err) {
    gguf_file *f = gguf_open(path, err);
    if (!f) return NULL;
    model *m = model_from_gguf(f, opts, err);
    if (!m) gguf_close(f);
    return m;
}

void model_free(model *m) {
    if (!m) return;
    kernel_ctx_free(m->kernels); /* first: its workers may still read weights (pool.h) */
    each_matmul_weight(m, release_packed, NULL);
    for (int l = 0; m->layers && l < m->cfg.n_layer; l++) {
        layer_weights *w = &m->layers[l];
        free(w->attn_norm);
        free(w->ffn_norm);
        free(w->bq), free(w->bk), free(w->bv), free(w->q_norm), free(w->k_norm);
        free(w->post_attn_norm), free(w->post_ffn_norm);
        free(w->gate_exps);
        free(w->up_exps);
        free(w->down_exps);
        free(w->exp_probs_b), free(w->shexp_gate_inp), free(w->sinks), free(w->bo);
        free(w->gate_inp_b), free(w->gate_exps_b), free(w->up_exps_b), free(w->down_exps_b);
        free(w->q_a_norm), free(w->kv_a_norm), free(w->wk_b), free(w->wv_b);
    }
    free(m->layers);
    free(m->output_norm);
    free(m->rope_freqs), free(m->rope_long), free(m->rope_short);
    if (m->file) gguf_close(m->file);
    free(m);
}

int model_set_threads(model *m, int n_threads, scarce_error *err) {
    char msg[128];
    if (kernel_ctx_set_threads(m->kernels, n_threads, msg))
        return scarce_fail(err, "%s: %s", m->file->path, msg);
    return 0;
}

const kernel_config *model_kernel_config(const model *m) {
    return kernel_ctx_config(m->kernels);
}

size_t model_weight_bytes(const model *m) {
    size_t total = 0;
    for (uint64_t i = 0; i < m->file->n_tensors; i++) total += m->file->tensors[i].bytes;
    return total;
}

/* ---- for the binding code of model_moe.c and mla.c (model_impl.h) -------------------------- */

int model_key_int(const model *m, const char *suffix, int lo, int *out, scarce_error *err) {
    return get_int(m, suffix, lo, out, 0, err);
}

int model_key_float(const model *m, const char *suffix, float *out, scarce_error *err) {
    return get_float(m, suffix, out, err);
}

int model_bind_matrix(const model *m, const char *name, int64_t cols, int64_t rows, qmatrix *out,
                      scarce_error *err) {
    return bind_matrix(m, name, cols, rows, out, err);
}

int model_bind_stack(const model *m, const char *name, int64_t cols, int64_t rows, int n,
                     qmatrix **out, scarce_error *err) {
    qmatrix *e = *out = calloc((size_t)n, sizeof *e);
    if (!e) return scarce_fail(err, "out of memory");
    const gguf_tensor *t = find_shaped(m, name, cols, rows, n, err);
    if (!t) return -1;
    const size_t row_bytes = qtype_row_bytes(t->type, cols);
    float *scales = malloc((size_t)n * sizeof *scales);
    if (!scales) return scarce_fail(err, "out of memory");
    const int rc = bind_scales(m, name, n, scales, err);
    for (int i = 0; i < n; i++)
        e[i] = (qmatrix){.data = (const char *)t->data + (size_t)i * rows * row_bytes,
                         .type = t->type, .rows = rows, .cols = cols, .row_bytes = row_bytes,
                         .scale = scales[i]};
    free(scales);
    return rc;
}

int model_bind_required(const model *m, const char *name, int64_t n, float **out,
                        scarce_error *err) {
    return bind_required(m, name, n, out, err);
}

int model_bind_optional(const model *m, const char *name, int64_t n, float **out,
                        scarce_error *err) {
    return bind_optional(m, name, n, out, err);
}

/* For engine/draft_quant.c, which builds a model whose matrices are its own copies. */
int model_each_matmul_weight(model *m, int (*fn)(qmatrix *, void *), void *arg) {
    return each_matmul_weight(m, fn, arg);
}
