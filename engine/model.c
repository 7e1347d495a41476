/* model.c - configuration from GGUF metadata and weights bound to the mapped tensors.
 * Every tensor's shape is checked against the configuration before anything runs. */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../kernels/repack.h"
#include "../quant/types.h"
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

static int read_config(model *m, scarce_error *err) {
    model_config *c = &m->cfg;
    const char *arch = gguf_get_str(m->file, "general.architecture");
    if (!arch) return scarce_fail(err, "%s: missing key general.architecture", m->file->path);
    if (strcmp(arch, "llama") && strcmp(arch, "mixtral"))
        return scarce_fail(err, "%s: architecture '%s' is not supported (llama, mixtral)",
                           m->file->path, arch);
    snprintf(c->arch, sizeof c->arch, "%s", arch);
    if (get_int(m, "embedding_length", 1, &c->n_embd, 1, err) ||
        get_int(m, "block_count", 1, &c->n_layer, 1, err) ||
        get_int(m, "feed_forward_length", 1, &c->n_ff, 1, err) ||
        get_int(m, "attention.head_count", 1, &c->n_head, 1, err))
        return -1;
    c->n_head_kv = c->n_head;
    c->n_ctx_train = 2048;
    c->rope_freq_base = 10000.0f;
    c->rms_eps = 1e-5f;
    if (get_int(m, "attention.head_count_kv", 1, &c->n_head_kv, 0, err) ||
        get_int(m, "context_length", 1, &c->n_ctx_train, 0, err) ||
        get_int(m, "expert_count", 0, &c->n_expert, 0, err) ||
        get_int(m, "expert_used_count", 0, &c->n_expert_used, 0, err))
        return -1;
    if (c->n_embd % c->n_head)
        return scarce_fail(err, "%s: n_embd %d is not a multiple of n_head %d", m->file->path,
                           c->n_embd, c->n_head);
    if (c->n_head % c->n_head_kv)
        return scarce_fail(err, "%s: n_head %d is not a multiple of n_head_kv %d",
                           m->file->path, c->n_head, c->n_head_kv);
    c->head_dim = c->n_embd / c->n_head;
    c->n_rot = c->head_dim;
    if (get_int(m, "rope.dimension_count", 2, &c->n_rot, 0, err)) return -1;
    if (c->n_rot > c->head_dim || c->n_rot % 2)
        return scarce_fail(err, "%s: rope.dimension_count %d must be even and <= head_dim %d",
                           m->file->path, c->n_rot, c->head_dim);
    char buf[128];
    const char *k = arch_key(m, "rope.freq_base", buf);
    if (gguf_find(m->file, k) && gguf_get_f32(m->file, k, &c->rope_freq_base, err)) return -1;
    k = arch_key(m, "attention.layer_norm_rms_epsilon", buf);
    if (gguf_find(m->file, k) && gguf_get_f32(m->file, k, &c->rms_eps, err)) return -1;
    if (c->n_expert && (c->n_expert_used < 1 || c->n_expert_used > c->n_expert))
        return scarce_fail(err, "%s: expert_used_count %d must be in [1, expert_count %d]",
                           m->file->path, c->n_expert_used, c->n_expert);
    if (c->n_expert > MOE_MAX_EXPERT || c->n_expert_used > MOE_MAX_USED)
        return scarce_fail(err, "%s: %d experts with %d used: at most %d and %d supported",
                           m->file->path, c->n_expert, c->n_expert_used, MOE_MAX_EXPERT,
                           MOE_MAX_USED);
    c->expert_gating = MOE_GATING_SOFTMAX_RENORM; /* llama/Mixtral; other families set theirs */
    return 0;
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

static int bind_matrix(const model *m, const char *name, int64_t cols, int64_t rows,
                       qmatrix *out, scarce_error *err) {
    const gguf_tensor *t = find_shaped(m, name, cols, rows, 1, err);
    if (!t) return -1;
    *out = (qmatrix){.data = t->data, .type = t->type, .rows = rows, .cols = cols,
                     .row_bytes = qtype_row_bytes(t->type, cols)};
    return 0;
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

/* Experts: one 3-D tensor blk.L.<what>_exps [cols, rows, n_expert] (llama.cpp today) or
 * the older per-expert blk.L.<what>.E.weight matrices. */
static int bind_experts(const model *m, int l, const char *what, int64_t cols, int64_t rows,
                        qmatrix **out, scarce_error *err) {
    int n = m->cfg.n_expert;
    char name[96];
    qmatrix *e = calloc((size_t)n, sizeof *e);
    if (!e) return scarce_fail(err, "out of memory");
    *out = e;
    snprintf(name, sizeof name, "blk.%d.%s_exps.weight", l, what);
    if (gguf_find_tensor(m->file, name)) {
        const gguf_tensor *t = find_shaped(m, name, cols, rows, n, err);
        if (!t) return -1;
        size_t row_bytes = qtype_row_bytes(t->type, cols);
        for (int i = 0; i < n; i++)
            e[i] = (qmatrix){.data = (const char *)t->data + (size_t)i * rows * row_bytes,
                             .type = t->type, .rows = rows, .cols = cols, .row_bytes = row_bytes};
        return 0;
    }
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "blk.%d.%s.%d.weight", l, what, i);
        if (bind_matrix(m, name, cols, rows, &e[i], err)) return -1;
    }
    return 0;
}

static int bind_layer(model *m, int l, scarce_error *err) {
    const model_config *c = &m->cfg;
    layer_weights *w = &m->layers[l];
    const int64_t q_dim = (int64_t)c->n_head * c->head_dim, kv_dim = (int64_t)c->n_head_kv * c->head_dim;
    char name[96];
#define NAME(suffix) (snprintf(name, sizeof name, "blk.%d." suffix, l), name)
    if (!(w->attn_norm = bind_vector(m, NAME("attn_norm.weight"), c->n_embd, err)) ||
        !(w->ffn_norm = bind_vector(m, NAME("ffn_norm.weight"), c->n_embd, err)) ||
        bind_matrix(m, NAME("attn_q.weight"), c->n_embd, q_dim, &w->wq, err) ||
        bind_matrix(m, NAME("attn_k.weight"), c->n_embd, kv_dim, &w->wk, err) ||
        bind_matrix(m, NAME("attn_v.weight"), c->n_embd, kv_dim, &w->wv, err) ||
        bind_matrix(m, NAME("attn_output.weight"), q_dim, c->n_embd, &w->wo, err))
        return -1;
    if (c->n_expert == 0)
        return bind_matrix(m, NAME("ffn_gate.weight"), c->n_embd, c->n_ff, &w->ffn_gate, err) ||
                       bind_matrix(m, NAME("ffn_up.weight"), c->n_embd, c->n_ff, &w->ffn_up, err) ||
                       bind_matrix(m, NAME("ffn_down.weight"), c->n_ff, c->n_embd, &w->ffn_down, err)
                   ? -1
                   : 0;
    if (bind_matrix(m, NAME("ffn_gate_inp.weight"), c->n_embd, c->n_expert, &w->ffn_gate_inp, err))
        return -1;
#undef NAME
    return bind_experts(m, l, "ffn_gate", c->n_embd, c->n_ff, &w->gate_exps, err) ||
                   bind_experts(m, l, "ffn_up", c->n_embd, c->n_ff, &w->up_exps, err) ||
                   bind_experts(m, l, "ffn_down", c->n_ff, c->n_embd, &w->down_exps, err)
               ? -1
               : 0;
}

/* Calls fn on every matrix used as a matmul weight. token_embd is read row by row
 * (embedding lookup) and is not one; a tied output is its own qmatrix (a copy of
 * token_embd's), so it can be packed while the lookup keeps reading the file. */
static int each_matmul_weight(model *m, int (*fn)(qmatrix *)) {
    int rc = fn(&m->output);
    for (int l = 0; m->layers && l < m->cfg.n_layer; l++) {
        layer_weights *w = &m->layers[l];
        qmatrix *dense[] = {&w->wq, &w->wk, &w->wv, &w->wo, &w->ffn_gate, &w->ffn_up,
                            &w->ffn_down, &w->ffn_gate_inp};
        for (size_t i = 0; i < sizeof dense / sizeof *dense; i++)
            if (dense[i]->data) rc |= fn(dense[i]);
        qmatrix *exps[] = {w->gate_exps, w->up_exps, w->down_exps};
        for (int k = 0; k < 3; k++)
            for (int e = 0; exps[k] && e < m->cfg.n_expert; e++) rc |= fn(&exps[k][e]);
    }
    return rc;
}

static int release_packed(qmatrix *w) {
    repack_release(w);
    return 0;
}

model *model_from_gguf(gguf_file *f, scarce_error *err) {
    model *m = calloc(1, sizeof *m);
    if (!m) {
        scarce_fail(err, "out of memory");
        return NULL;
    }
    m->file = f;
    if (read_config(m, err)) goto fail;
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
    if (bind_matrix(m, "token_embd.weight", m->cfg.n_embd, m->cfg.n_vocab, &m->token_embd, err))
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
    /* Decode kernels read Q4_0/Q8_0 weights 8 rows interleaved (kernels/repack.h); the
     * copies add their size to RSS. SCARCE_REPACK=0 keeps the file layout. */
    if (each_matmul_weight(m, repack_matrix)) {
        scarce_fail(err, "%s: out of memory for the repacked weights (SCARCE_REPACK=0 reads "
                    "them in place)", f->path);
        goto fail;
    }
    return m;
fail:
    m->file = NULL; /* the caller still owns f on failure */
    model_free(m);
    return NULL;
}

model *model_load(const char *path, scarce_error *err) {
    gguf_file *f = gguf_open(path, err);
    if (!f) return NULL;
    model *m = model_from_gguf(f, err);
    if (!m) gguf_close(f);
    return m;
}

void model_free(model *m) {
    if (!m) return;
    each_matmul_weight(m, release_packed);
    for (int l = 0; m->layers && l < m->cfg.n_layer; l++) {
        layer_weights *w = &m->layers[l];
        free(w->attn_norm);
        free(w->ffn_norm);
        free(w->gate_exps);
        free(w->up_exps);
        free(w->down_exps);
    }
    free(m->layers);
    free(m->output_norm);
    if (m->file) gguf_close(m->file);
    free(m);
}

size_t model_weight_bytes(const model *m) {
    size_t total = 0;
    for (uint64_t i = 0; i < m->file->n_tensors; i++) total += m->file->tensors[i].bytes;
    return total;
}
