/* ref_moe.c - see ref_moe.h. Equations from llama.cpp's src/llama-graph.cpp
 * (build_moe_ffn) and src/models/{qwen2moe,qwen3moe,olmoe,deepseek2}.cpp. */
#include "ref_moe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../quant/types.h"

/* Rows [r0, r0 + n) of a tensor (any type) as doubles; NULL when absent. */
static double *rows_d(const gguf_file *f, const char *name, int64_t r0, int64_t n) {
    const gguf_tensor *t = gguf_find_tensor(f, name);
    if (!t) return NULL;
    const size_t rb = qtype_row_bytes(t->type, t->ne[0]);
    float *row = malloc(sizeof(float) * t->ne[0]);
    double *d = malloc(sizeof(double) * t->ne[0] * n);
    for (int64_t r = 0; r < n; r++) {
        qtype(t->type)->dequantize((const char *)t->data + (r0 + r) * rb, row, t->ne[0]);
        for (int64_t j = 0; j < t->ne[0]; j++) d[r * t->ne[0] + j] = row[j];
    }
    free(row);
    return d;
}

static double *blk(const gguf_file *f, int l, const char *what, int64_t r0, int64_t n) {
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s", l, what);
    return rows_d(f, name, r0, n);
}

static long key(const gguf_file *f, const char *arch, const char *suffix, long def) {
    char k[128];
    int64_t v;
    snprintf(k, sizeof k, "%s.%s", arch, suffix);
    return gguf_find(f, k) && gguf_get_i64(f, k, &v, NULL) == 0 ? (long)v : def;
}

static double keyf(const gguf_file *f, const char *arch, const char *suffix, double def) {
    char k[128];
    float v;
    snprintf(k, sizeof k, "%s.%s", arch, suffix);
    return gguf_find(f, k) && gguf_get_f32(f, k, &v, NULL) == 0 ? v : def;
}

static void matvec(double *y, const double *W, const double *x, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int c = 0; c < cols; c++) s += W[(size_t)r * cols + c] * x[c];
        y[r] = s;
    }
}

static double silu(double x) {
    return x / (1 + exp(-x));
}

/* gpt-oss's clamped SwiGLU: min(g, 7) sigmoid(1.702 min(g, 7)) (clamp(u, -7, 7) + 1) */
static double swiglu_oai(double g, double u) {
    g = fmin(g, 7.0), u = fmax(-7.0, fmin(u, 7.0));
    return g / (1 + exp(-1.702 * g)) * (u + 1);
}

/* Row e of a per-expert bias blk.l.<what> ([cols, n_expert]) added to v, when present. */
static void add_row(const gguf_file *f, int l, const char *what, int e, double *v, int cols) {
    double *b = e < 0 ? NULL : blk(f, l, what, e, 1);
    for (int i = 0; b && i < cols; i++) v[i] += b[i];
    free(b);
}

/* y[n_embd] = down(act(gate h) * up h) with rows [e * n_ff, (e+1) * n_ff) of the stacked
 * tensors blk.l.<gate>_exps, <up> and matrix e of <down> (or the plain matrices
 * blk.l.<gate>_shexp... when e < 0); gpt-oss: the experts' biases and its activation. */
static void swiglu_ffn(const gguf_file *f, int l, const char *kind, int e, int n_ff,
                       const double *h, int n_embd, int oai, double *y) {
    char gate[64], up[64], down[64];
    snprintf(gate, sizeof gate, "ffn_gate_%s.weight", kind);
    snprintf(up, sizeof up, "ffn_up_%s.weight", kind);
    snprintf(down, sizeof down, "ffn_down_%s.weight", kind);
    const int64_t r0 = e < 0 ? 0 : (int64_t)e * n_ff;
    double *wg = blk(f, l, gate, r0, n_ff), *wu = blk(f, l, up, r0, n_ff);
    double *wd = blk(f, l, down, e < 0 ? 0 : (int64_t)e * n_embd, n_embd);
    double *g = malloc(sizeof(double) * n_ff), *u = malloc(sizeof(double) * n_ff);
    matvec(g, wg, h, n_ff, n_embd);
    matvec(u, wu, h, n_ff, n_embd);
    add_row(f, l, "ffn_gate_exps.bias", oai ? e : -1, g, n_ff);
    add_row(f, l, "ffn_up_exps.bias", oai ? e : -1, u, n_ff);
    for (int i = 0; i < n_ff; i++) g[i] = oai ? swiglu_oai(g[i], u[i]) : silu(g[i]) * u[i];
    matvec(y, wd, g, n_embd, n_ff);
    add_row(f, l, "ffn_down_exps.bias", oai ? e : -1, y, n_embd);
    free(wg), free(wu), free(wd), free(g), free(u);
}

typedef struct {
    int sigmoid, norm, n_group, n_group_used;
    double scale;
} rule;

/* mixtral, qwen3moe: softmax, renormalised; olmoe, qwen2moe: softmax as is; deepseek2:
 * the file's expert_gating_func (1 softmax, 2 sigmoid), expert_weights_norm, _scale. */
static rule read_rule(const gguf_file *f, const char *arch) {
    rule r = {.norm =
                  !strcmp(arch, "mixtral") || !strcmp(arch, "llama") || !strcmp(arch, "qwen3moe"),
              .scale = 1.0};
    if (!strcmp(arch, "deepseek2")) {
        char k[128];
        snprintf(k, sizeof k, "%s.expert_weights_norm", arch);
        r.sigmoid = key(f, arch, "expert_gating_func", 1) == 2;
        r.norm = gguf_find(f, k) && gguf_get_bool(f, k, &r.norm, NULL) == 0 ? r.norm : 0;
        double s = keyf(f, arch, "expert_weights_scale", 0.0);
        r.scale = s != 0 ? s : 1.0;
    }
    r.n_group = (int)key(f, arch, "expert_group_count", 0);
    r.n_group_used = (int)key(f, arch, "expert_group_used_count", 0);
    return r;
}

/* Chooses k experts: p = softmax or sigmoid of the logits; selection score p + bias,
 * restricted to the best n_group_used groups (by the sum of their two best scores) */
static void choose(const rule *r, const double *p, const double *bias, int n, int k, int *chosen) {
    double *s = malloc(sizeof(double) * n);
    for (int e = 0; e < n; e++) s[e] = p[e] + (bias ? bias[e] : 0);
    if (r->n_group > 1) {
        const int per = n / r->n_group;
        double *gs = malloc(sizeof(double) * r->n_group);
        for (int g = 0; g < r->n_group; g++) { /* sum of the two best */
            int a = -1, b = -1;
            for (int i = g * per; i < (g + 1) * per; i++)
                if (a < 0 || s[i] > s[a])
                    b = a, a = i;
                else if (b < 0 || s[i] > s[b])
                    b = i;
            gs[g] = s[a] + (b >= 0 ? s[b] : 0);
        }
        for (int g = 0; g < r->n_group; g++) {
            int better = 0; /* groups ahead of g: g is kept when fewer than n_group_used */
            for (int o = 0; o < r->n_group; o++)
                better += gs[o] > gs[g] || (gs[o] == gs[g] && o < g);
            if (better >= r->n_group_used)
                for (int i = g * per; i < (g + 1) * per; i++) s[i] = -INFINITY;
        }
        free(gs);
    }
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int e = 0; e < n; e++) {
            int taken = 0;
            for (int i = 0; i < j; i++) taken |= chosen[i] == e;
            if (!taken && (best < 0 || s[e] > s[best])) best = e;
        }
        chosen[j] = best;
    }
    free(s);
}

int ref_moe_ffn(const gguf_file *f, const char *arch, int l, const double *h, int n_embd,
                double *out, int *chosen) {
    char name[96];
    snprintf(name, sizeof name, "blk.%d.ffn_gate_inp.weight", l);
    const gguf_tensor *router = gguf_find_tensor(f, name);
    if (!router) return 0;
    const int n = (int)router->ne[1], k = (int)key(f, arch, "expert_used_count", 0);
    snprintf(name, sizeof name, "blk.%d.ffn_gate_exps.weight", l);
    const int ff = (int)gguf_find_tensor(f, name)->ne[1]; /* an expert's width */
    const rule r = read_rule(f, arch);
    double *W = blk(f, l, "ffn_gate_inp.weight", 0, n), *p = malloc(sizeof(double) * n);
    matvec(p, W, h, n, n_embd);
    const int oai = !strcmp(arch, "gpt-oss"); /* router bias; top-k of logits, softmax of k */
    add_row(f, l, "ffn_gate_inp.bias", oai ? 0 : -1, p, n);
    if (r.sigmoid) {
        for (int e = 0; e < n; e++) p[e] = 1 / (1 + exp(-p[e]));
    } else if (!oai) { /* gpt-oss selects on the logits themselves */
        double mx = p[0], z = 0;
        for (int e = 1; e < n; e++) mx = fmax(mx, p[e]);
        for (int e = 0; e < n; e++) z += p[e] = exp(p[e] - mx);
        for (int e = 0; e < n; e++) p[e] /= z;
    }
    double *bias = blk(f, l, "exp_probs_b.bias", 0, 1);
    choose(&r, p, bias, n, k, chosen);
    double w[REF_MAX_USED], sum = 0;
    for (int j = 0; j < k; j++) sum += w[j] = p[chosen[j]];
    if (oai) { /* softmax over the k chosen logits (no renormalisation after) */
        double mx = w[0], z = 0;
        for (int j = 1; j < k; j++) mx = fmax(mx, w[j]);
        for (int j = 0; j < k; j++) z += w[j] = exp(w[j] - mx);
        for (int j = 0; j < k; j++) w[j] /= z;
    }
    for (int j = 0; j < k; j++) w[j] = (r.norm ? w[j] / fmax(sum, 6.103515625e-5) : w[j]) * r.scale;
    double *y = malloc(sizeof(double) * n_embd);
    memset(out, 0, sizeof(double) * n_embd);
    for (int j = 0; j < k; j++) {
        swiglu_ffn(f, l, "exps", chosen[j], ff, h, n_embd, oai, y);
        for (int i = 0; i < n_embd; i++) out[i] += w[j] * y[i];
    }
    snprintf(name, sizeof name, "blk.%d.ffn_gate_shexp.weight", l);
    const gguf_tensor *sh = gguf_find_tensor(f, name);
    if (sh) { /* shared experts, with qwen2moe's sigmoid gate when present */
        swiglu_ffn(f, l, "shexp", -1, (int)sh->ne[1], h, n_embd, 0, y);
        double *gi = blk(f, l, "ffn_gate_inp_shexp.weight", 0, 1), g = 1;
        if (gi) {
            double dot = 0;
            for (int i = 0; i < n_embd; i++) dot += gi[i] * h[i];
            g = 1 / (1 + exp(-dot));
        }
        for (int i = 0; i < n_embd; i++) out[i] += g * y[i];
        free(gi);
    }
    free(W), free(p), free(bias), free(y);
    return k;
}

double ref_rope_theta(int j, int n_rot, int pos, double base, double scale, const double *ff,
                      int yarn, int n_ctx_orig, double *mag) {
    double extrap = pos * pow(base, -2.0 * j / n_rot);
    if (ff) extrap /= ff[j];
    if (!yarn) return scale * extrap;
    /* the pairs that turn 32 and 1 times over the original context bound the ramp */
    const double lo = fmax(0, floor(n_rot * log(n_ctx_orig / (32 * 2 * M_PI)) / (2 * log(base))));
    const double hi = fmin(n_rot - 1, ceil(n_rot * log(n_ctx_orig / (2 * M_PI)) / (2 * log(base))));
    const double ramp = 1 - fmin(1, fmax(0, (j - lo) / fmax(0.001, hi - lo)));
    *mag *= 1 + 0.1 * log(1 / scale);
    return scale * extrap * (1 - ramp) + extrap * ramp;
}

static const char *rope_type(const gguf_file *f, const char *arch) {
    char k[128];
    snprintf(k, sizeof k, "%s.rope.scaling.type", arch);
    return gguf_get_str(f, k);
}

ref_mla_shape ref_mla_read(const gguf_file *f, const char *arch) {
    const double factor = keyf(f, arch, "rope.scaling.factor", 1.0);
    const char *type = rope_type(f, arch);
    const int yarn = type && !strcmp(type, "yarn");
    /* deepseek2.cpp: kq_scale = mscale^2 / sqrt(k_mla), mscale = attn_factor (1 + 0.1 ln f)
     * (1 + 0.1 log_mul ln f); attn_factor is 1 / (1 + 0.1 ln f) with YaRN and the file's
     * yarn_log_multiplier (stored as 0.1 log_mul), else 1 (rope.scaling.attn_factor absent) */
    const double lm = keyf(f, arch, "rope.scaling.yarn_log_multiplier", 0.0) / 0.1,
                 ln = log(factor);
    double attn = 1;
    if (yarn && factor > 1) attn = (lm != 0 ? 1.0 : 1 + 0.1 * ln) / (1 + 0.1 * ln);
    const double ms = attn * (1 + 0.1 * ln) * (1 + 0.1 * lm * ln);
    return (ref_mla_shape){.freq_scale = 1 / factor,
                           .rope_attn = attn,
                           .yarn = yarn,
                           .n_ctx_orig = (int)key(f, arch, "rope.scaling.original_context_length",
                                                  key(f, arch, "context_length", 2048)),
                           .kq_scale =
                               ms * ms / sqrt((double)key(f, arch, "attention.key_length_mla", 1)),
                           .n_embd = (int)key(f, arch, "embedding_length", 0),
                           .n_head = (int)key(f, arch, "attention.head_count", 0),
                           .n_rot = (int)key(f, arch, "rope.dimension_count", 0),
                           .kv_lora = (int)key(f, arch, "attention.kv_lora_rank", 0),
                           .q_lora = (int)key(f, arch, "attention.q_lora_rank", 0),
                           .k_mla = (int)key(f, arch, "attention.key_length_mla", 0),
                           .v_mla = (int)key(f, arch, "attention.value_length_mla", 0),
                           .eps = keyf(f, arch, "attention.layer_norm_rms_epsilon", 1e-5),
                           .base = keyf(f, arch, "rope.freq_base", 10000.0)};
}

static void rms_in_place(double *x, int n, const double *w, double eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    const double s = 1 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) x[i] *= s * w[i];
}

/* deepseek2 ropes consecutive pairs (LLAMA_ROPE_TYPE_NORM); YaRN's attn_factor here is
 * the 1 / (1 + 0.1 ln f) that ggml's own factor cancels when the file has a log_mul */
static void rope_pairs(const ref_mla_shape *s, double *v, int pos) {
    for (int j = 0; j < s->n_rot / 2; j++) {
        double mag = s->rope_attn;
        const double th = ref_rope_theta(j, s->n_rot, pos, s->base, s->freq_scale, NULL, s->yarn,
                                         s->n_ctx_orig, &mag);
        const double a = v[2 * j], b = v[2 * j + 1];
        v[2 * j] = (a * cos(th) - b * sin(th)) * mag;
        v[2 * j + 1] = (a * sin(th) + b * cos(th)) * mag;
    }
}

/* q of every head: wq h, or wq_b rmsnorm(wq_a h) */
static double *mla_query(const gguf_file *f, const ref_mla_shape *s, int l, const double *h) {
    const int qd = s->n_head * s->k_mla;
    double *q = malloc(sizeof(double) * qd);
    if (s->q_lora) {
        double *wa = blk(f, l, "attn_q_a.weight", 0, s->q_lora),
               *wb = blk(f, l, "attn_q_b.weight", 0, qd);
        double *na = blk(f, l, "attn_q_a_norm.weight", 0, 1),
               *qa = malloc(sizeof(double) * s->q_lora);
        matvec(qa, wa, h, s->q_lora, s->n_embd);
        rms_in_place(qa, s->q_lora, na, s->eps);
        matvec(q, wb, qa, qd, s->q_lora);
        free(wa), free(wb), free(na), free(qa);
    } else {
        double *wq = blk(f, l, "attn_q.weight", 0, qd);
        matvec(q, wq, h, qd, s->n_embd);
        free(wq);
    }
    return q;
}

void ref_mla_attention(const gguf_file *f, const ref_mla_shape *s, int l, int pos, const double *h,
                       double *cache, double *o) {
    const int R = s->kv_lora, row = R + s->n_rot, nope = s->k_mla - s->n_rot;
    double *q = mla_query(f, s, l, h);
    double *wkv = blk(f, l, "attn_kv_a_mqa.weight", 0, row),
           *na = blk(f, l, "attn_kv_a_norm.weight", 0, 1);
    double *c = cache + (size_t)pos * row;
    matvec(c, wkv, h, row, s->n_embd);
    rms_in_place(c, R, na, s->eps);
    rope_pairs(s, c + R, pos);
    /* expanded: per head, k_nope_t = W_kb^T c_t and v_t = W_vb c_t from every cached latent */
    double *wkb = blk(f, l, "attn_k_b.weight", 0, (int64_t)R * s->n_head);
    double *wvb = blk(f, l, "attn_v_b.weight", 0, (int64_t)s->v_mla * s->n_head);
    double *a = malloc(sizeof(double) * (pos + 1));
    for (int hd = 0; hd < s->n_head; hd++) {
        double *qh = q + (size_t)hd * s->k_mla, mx = -INFINITY, z = 0;
        const double *kb = wkb + (size_t)hd * R * nope, *vb = wvb + (size_t)hd * s->v_mla * R;
        rope_pairs(s, qh + nope, pos);
        for (int t = 0; t <= pos; t++) {
            const double *ct = cache + (size_t)t * row;
            double score = 0;
            for (int i = 0; i < nope; i++) {
                double k_i = 0;
                for (int r = 0; r < R; r++) k_i += kb[(size_t)r * nope + i] * ct[r];
                score += qh[i] * k_i;
            }
            for (int j = 0; j < s->n_rot; j++) score += qh[nope + j] * ct[R + j];
            a[t] = score * s->kq_scale;
            mx = fmax(mx, a[t]);
        }
        for (int t = 0; t <= pos; t++) z += a[t] = exp(a[t] - mx);
        for (int d = 0; d < s->v_mla; d++) {
            double acc = 0;
            for (int t = 0; t <= pos; t++) {
                double v = 0;
                for (int r = 0; r < R; r++) v += vb[(size_t)d * R + r] * cache[(size_t)t * row + r];
                acc += a[t] / z * v;
            }
            o[hd * s->v_mla + d] = acc;
        }
    }
    free(q), free(wkv), free(na), free(wkb), free(wvb), free(a);
}
