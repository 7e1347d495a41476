/* ref_forward.c - see ref_forward.h. Written from the llama equations, in double. */
#include "ref_forward.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../quant/types.h"

struct ref_model {
    const gguf_file *f;
    int n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx, pos;
    double eps, base;
    double *kc, *vc; /* [layer][n_ctx][kv_dim] */
};

static long key_int(const gguf_file *f, const char *k, long def) {
    int64_t v;
    return gguf_find(f, k) && gguf_get_i64(f, k, &v, NULL) == 0 ? (long)v : def;
}

/* Whole tensor as doubles (caller frees). */
static double *tensor_d(const gguf_file *f, const char *name, long *n_out) {
    const gguf_tensor *t = gguf_find_tensor(f, name);
    if (!t) return NULL;
    long n = (long)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
    float *tmp = malloc(sizeof(float) * n);
    qtype(t->type)->dequantize(t->data, tmp, n);
    double *d = malloc(sizeof(double) * n);
    for (long i = 0; i < n; i++) d[i] = tmp[i];
    free(tmp);
    if (n_out) *n_out = n;
    return d;
}

static double *layer_tensor(const ref_model *r, int l, const char *what) {
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s.weight", l, what);
    return tensor_d(r->f, name, NULL);
}

ref_model *ref_model_open(const gguf_file *f) {
    ref_model *r = calloc(1, sizeof *r);
    r->f = f;
    r->n_embd = key_int(f, "llama.embedding_length", 0);
    r->n_layer = key_int(f, "llama.block_count", 0);
    r->n_head = key_int(f, "llama.attention.head_count", 0);
    r->n_head_kv = key_int(f, "llama.attention.head_count_kv", r->n_head);
    r->n_ff = key_int(f, "llama.feed_forward_length", 0);
    r->head_dim = r->n_embd / r->n_head;
    float v;
    r->eps = gguf_get_f32(f, "llama.attention.layer_norm_rms_epsilon", &v, NULL) == 0 ? v : 1e-5;
    r->base = gguf_get_f32(f, "llama.rope.freq_base", &v, NULL) == 0 ? v : 10000.0;
    r->n_vocab = (int)gguf_find_tensor(f, "token_embd.weight")->ne[1];
    r->n_ctx = 256;
    size_t kv = (size_t)r->n_layer * r->n_ctx * r->n_head_kv * r->head_dim;
    r->kc = calloc(kv, sizeof(double));
    r->vc = calloc(kv, sizeof(double));
    return r;
}

void ref_model_free(ref_model *r) {
    if (!r) return;
    free(r->kc);
    free(r->vc);
    free(r);
}

int ref_model_vocab(const ref_model *r) { return r->n_vocab; }

static void rms(double *out, const double *x, const double *w, int n, double eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    double s = 1.0 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) out[i] = x[i] * s * w[i];
}

/* y[rows] = W[rows][cols] x */
static void mv(double *y, const double *W, const double *x, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int c = 0; c < cols; c++) s += W[(size_t)r * cols + c] * x[c];
        y[r] = s;
    }
}

static void rot(double *v, int n_heads, int hd, int pos, double base) {
    for (int h = 0; h < n_heads; h++)
        for (int i = 0; i < hd; i += 2) {
            double th = pos * pow(base, -(double)i / hd), a = v[h * hd + i], b = v[h * hd + i + 1];
            v[h * hd + i] = a * cos(th) - b * sin(th);
            v[h * hd + i + 1] = a * sin(th) + b * cos(th);
        }
}

void ref_model_step(ref_model *r, int token, double *logits) {
    const int E = r->n_embd, hd = r->head_dim, kvd = r->n_head_kv * hd, F = r->n_ff, p = r->pos;
    double *x = calloc(E, 8), *h = calloc(E, 8), *q = calloc(E, 8), *k = calloc(kvd, 8),
           *v = calloc(kvd, 8), *o = calloc(E, 8), *g = calloc(F, 8), *u = calloc(F, 8),
           *att = calloc(r->n_ctx, 8);
    double *emb = tensor_d(r->f, "token_embd.weight", NULL);
    memcpy(x, emb + (size_t)token * E, sizeof(double) * E);
    free(emb);
    for (int l = 0; l < r->n_layer; l++) {
        double *an = layer_tensor(r, l, "attn_norm"), *wq = layer_tensor(r, l, "attn_q"),
               *wk = layer_tensor(r, l, "attn_k"), *wv = layer_tensor(r, l, "attn_v"),
               *wo = layer_tensor(r, l, "attn_output"), *fn = layer_tensor(r, l, "ffn_norm"),
               *wg = layer_tensor(r, l, "ffn_gate"), *wu = layer_tensor(r, l, "ffn_up"),
               *wd = layer_tensor(r, l, "ffn_down");
        rms(h, x, an, E, r->eps);
        mv(q, wq, h, E, E);
        mv(k, wk, h, kvd, E);
        mv(v, wv, h, kvd, E);
        rot(q, r->n_head, hd, p, r->base);
        rot(k, r->n_head_kv, hd, p, r->base);
        double *kc = r->kc + (size_t)l * r->n_ctx * kvd, *vc = r->vc + (size_t)l * r->n_ctx * kvd;
        memcpy(kc + (size_t)p * kvd, k, sizeof(double) * kvd);
        memcpy(vc + (size_t)p * kvd, v, sizeof(double) * kvd);
        for (int hh = 0; hh < r->n_head; hh++) {
            int kh = hh / (r->n_head / r->n_head_kv);
            double mx = -1e300, sum = 0;
            for (int t = 0; t <= p; t++) {
                double s = 0;
                for (int i = 0; i < hd; i++) s += q[hh * hd + i] * kc[(size_t)t * kvd + kh * hd + i];
                att[t] = s / sqrt((double)hd);
                if (att[t] > mx) mx = att[t];
            }
            for (int t = 0; t <= p; t++) sum += att[t] = exp(att[t] - mx);
            for (int i = 0; i < hd; i++) {
                double acc = 0;
                for (int t = 0; t <= p; t++) acc += att[t] / sum * vc[(size_t)t * kvd + kh * hd + i];
                o[hh * hd + i] = acc;
            }
        }
        mv(h, wo, o, E, E);
        for (int i = 0; i < E; i++) x[i] += h[i];
        rms(h, x, fn, E, r->eps);
        mv(g, wg, h, F, E);
        mv(u, wu, h, F, E);
        for (int i = 0; i < F; i++) g[i] = g[i] / (1 + exp(-g[i])) * u[i];
        mv(h, wd, g, E, F);
        for (int i = 0; i < E; i++) x[i] += h[i];
        free(an), free(wq), free(wk), free(wv), free(wo), free(fn), free(wg), free(wu), free(wd);
    }
    double *onorm = tensor_d(r->f, "output_norm.weight", NULL);
    double *out = tensor_d(r->f, "output.weight", NULL);
    if (!out) out = tensor_d(r->f, "token_embd.weight", NULL);
    rms(h, x, onorm, E, r->eps);
    mv(logits, out, h, r->n_vocab, E);
    free(onorm), free(out);
    free(x), free(h), free(q), free(k), free(v), free(o), free(g), free(u), free(att);
    r->pos++;
}
