/* model_moe.c - the mixture-of-experts part of a model: its routing rule from the
 * architecture row and the file's keys, the experts' tensors, the shared experts, and the
 * bytes a token reads (from the tensor table, so that the report counts exactly what is
 * mapped). Facts: llama.cpp's llama_model::load_hparams and src/models/<arch>.cpp. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../quant/types.h"
#include "model_impl.h"
#include "moe.h"

int model_layer_is_moe(const model_config *c, int l) {
    return c->n_expert > 0 && l >= c->n_layer_dense_lead;
}

static const char *gating_name(int gating) {
    switch (gating) {
    case MOE_GATING_SIGMOID:
        return "sigmoid";
    case MOE_GATING_SOFTMAX_WEIGHT:
        return "softmax-of-top-k";
    default:
        return "softmax";
    }
}

/* "softmax+renorm", "sigmoid+renorm x2.5, groups 4 of 8": the rule in a few words. */
static void name_route(model_config *c) {
    const moe_rule *r = &c->route;
    int n = snprintf(c->route_name, sizeof c->route_name, "%s%s", gating_name(r->gating),
                     r->norm ? "+renorm" : "");
    if (r->scale != 1.0f && n < (int)sizeof c->route_name)
        n += snprintf(c->route_name + n, sizeof c->route_name - n, " x%g", r->scale);
    if (r->n_group > 1 && n < (int)sizeof c->route_name)
        snprintf(c->route_name + n, sizeof c->route_name - n, ", groups %d of %d", r->n_group_used,
                 r->n_group);
}

/* Gating function, weight normalisation and scale: the row's, or the file's (DeepSeek). */
static int read_rule(model *m, scarce_error *err) {
    model_config *c = &m->cfg;
    const arch_desc *d = c->desc;
    moe_rule *r = &c->route;
    r->gating = d->moe_gating ? d->moe_gating : MOE_GATING_SOFTMAX;
    r->norm = d->moe_norm;
    r->scale = 1.0f;
    if (d->moe_reads_keys) {
        char key[128];
        int gating = 0;
        if (model_key_int(m, "expert_gating_func", 0, &gating, err)) return -1;
        if (gating > MOE_GATING_SOFTMAX_WEIGHT)
            return scarce_fail(err,
                               "%s: %s.expert_gating_func = %d: expected 1 (softmax), 2 "
                               "(sigmoid) or 3",
                               m->file->path, c->arch, gating);
        if (gating) r->gating = gating;
        snprintf(key, sizeof key, "%s.expert_weights_norm", c->arch);
        if (gguf_find(m->file, key) && gguf_get_bool(m->file, key, &r->norm, err)) return -1;
        float scale = 0.0f;
        if (model_key_float(m, "expert_weights_scale", &scale, err)) return -1;
        if (!(scale >= 0.0f && scale < 1e6f))
            return scarce_fail(err, "%s: %s.expert_weights_scale = %g is out of range",
                               m->file->path, c->arch, scale);
        if (scale != 0.0f) r->scale = scale; /* llama.cpp: 0 and 1 both mean none */
    }
    if (model_key_int(m, "expert_group_count", 0, &r->n_group, err) ||
        model_key_int(m, "expert_group_used_count", 0, &r->n_group_used, err))
        return -1;
    if (r->n_group > 1 &&
        (c->n_expert % r->n_group || r->n_group_used < 1 || r->n_group_used >= r->n_group ||
         r->n_group_used * (c->n_expert / r->n_group) < c->n_expert_used))
        return scarce_fail(err,
                           "%s: expert_group_count %d / expert_group_used_count %d do not "
                           "fit %d experts with %d used",
                           m->file->path, r->n_group, r->n_group_used, c->n_expert,
                           c->n_expert_used);
    if (r->n_group <= 1) r->n_group = r->n_group_used = 0;
    name_route(c);
    return 0;
}

/* Expert widths and the shared experts, from the keys each family's llama.cpp loader
 * reads (the others are ignored there, so here too). */
static int read_widths(model *m, scarce_error *err) {
    model_config *c = &m->cfg;
    const arch_desc *d = c->desc;
    c->n_ff_exp = d->moe_ff_per_used ? c->n_ff / c->n_expert_used : c->n_ff;
    c->n_expert_shared = d->flags & ARCH_SHEXP ? 1 : 0;
    if (((d->moe_ff_per_used || d->moe_reads_keys) &&
         model_key_int(m, "expert_feed_forward_length", 1, &c->n_ff_exp, err)) ||
        (d->moe_reads_keys &&
         (model_key_int(m, "expert_shared_count", 0, &c->n_expert_shared, err) ||
          model_key_int(m, "leading_dense_block_count", 0, &c->n_layer_dense_lead, err))))
        return -1;
    if (c->n_ff_exp < 1)
        return scarce_fail(err, "%s: expert width %d (feed_forward_length / expert_used_count)",
                           m->file->path, c->n_ff_exp);
    if (c->n_layer_dense_lead >= c->n_layer) /* then no tensor would check the expert widths */
        return scarce_fail(err, "%s: %s.leading_dense_block_count %d leaves no MoE layer of %d",
                           m->file->path, c->arch, c->n_layer_dense_lead, c->n_layer);
    if ((d->flags & ARCH_SHEXP) && c->n_expert_shared < 1)
        return scarce_fail(err,
                           "%s: %s.expert_shared_count is 0: architecture %s has shared "
                           "experts",
                           m->file->path, c->arch, c->arch);
    if (d->moe_reads_keys) { /* DeepSeek: n_expert_shared experts of n_ff_exp side by side */
        const int64_t width = (int64_t)c->n_ff_exp * c->n_expert_shared;
        if (width > INT32_MAX) /* the tensors' widths are checked later; the int must hold it */
            return scarce_fail(err, "%s: %s.expert_shared_count %d x expert width %d is too wide",
                               m->file->path, c->arch, c->n_expert_shared, c->n_ff_exp);
        c->n_ff_shexp = (int)width;
        return 0;
    }
    c->n_ff_shexp = c->n_ff; /* Qwen2-MoE: its own key, else n_ff */
    return model_key_int(m, "expert_shared_feed_forward_length", 1, &c->n_ff_shexp, err);
}

int model_read_moe(model *m, scarce_error *err) {
    model_config *c = &m->cfg;
    const unsigned flags = c->desc->flags;
    /* the widths the run state is sized for are only those some layer's tensors are checked
     * against: a metadata width no tensor uses could otherwise ask for gigabytes */
    c->n_ff_max = c->n_ff;
    /* the last nextn_predict_layers blocks predict further tokens (GLM-4.x MTP); the main
     * pass, like llama.cpp's, runs the others and never reads them */
    int nextn = 0;
    if (model_key_int(m, "nextn_predict_layers", 0, &nextn, err)) return -1;
    if (nextn >= c->n_layer)
        return scarce_fail(err, "%s: %s.nextn_predict_layers %d leaves no layer of %d",
                           m->file->path, c->arch, nextn, c->n_layer);
    c->n_layer -= nextn;
    if (c->n_expert && !(flags & ARCH_MOE))
        return scarce_fail(err, "%s: %s.expert_count %d: experts are not supported for %s",
                           m->file->path, c->arch, c->n_expert, c->arch);
    if (!c->n_expert && (flags & ARCH_EXPERTS))
        return scarce_fail(err,
                           "%s: %s.expert_count is missing or 0: architecture %s has "
                           "experts",
                           m->file->path, c->arch, c->arch);
    if (!c->n_expert) return 0;
    if (c->n_expert_used < 1 || c->n_expert_used > c->n_expert)
        return scarce_fail(err, "%s: %s.expert_used_count %d must be in [1, expert_count %d]",
                           m->file->path, c->arch, c->n_expert_used, c->n_expert);
    if (c->n_expert > MOE_MAX_EXPERT || c->n_expert_used > MOE_MAX_USED)
        return scarce_fail(err, "%s: %d experts with %d used: at most %d and %d supported",
                           m->file->path, c->n_expert, c->n_expert_used, MOE_MAX_EXPERT,
                           MOE_MAX_USED);
    if (read_rule(m, err) || read_widths(m, err)) return -1;
    if (c->n_layer_dense_lead == 0) c->n_ff_max = 0; /* no dense FFN reads n_ff */
    if (c->n_ff_exp > c->n_ff_max) c->n_ff_max = c->n_ff_exp;
    if (c->n_expert_shared && c->n_ff_shexp > c->n_ff_max) c->n_ff_max = c->n_ff_shexp;
    return 0;
}

#define LAYER_NAME(buf, l, suffix) (snprintf(buf, sizeof buf, "blk.%d." suffix, l), buf)

/* Experts: one 3-D tensor blk.L.<what>_exps [cols, rows, n_expert] (llama.cpp today) or
 * the older per-expert blk.L.<what>.E.weight matrices. The 3-D tensor's expert count
 * must be expert_count. */
static int bind_experts(const model *m, int l, const char *what, int64_t cols, int64_t rows,
                        qmatrix **out, scarce_error *err) {
    const int n = m->cfg.n_expert;
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s_exps.weight", l, what);
    const gguf_tensor *t = gguf_find_tensor(m->file, name);
    if (t) {
        if (t->ne[2] != n && t->ne[0] == cols && t->ne[1] == rows)
            return scarce_fail(err, "tensor %s holds %lld experts, %s.expert_count says %d", name,
                               (long long)t->ne[2], m->cfg.arch, n);
        return model_bind_stack(m, name, cols, rows, n, out, err);
    }
    qmatrix *e = calloc((size_t)n, sizeof *e);
    if (!e) return scarce_fail(err, "out of memory");
    *out = e;
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "blk.%d.%s.%d.weight", l, what, i);
        if (model_bind_matrix(m, name, cols, rows, &e[i], err)) return -1;
    }
    return 0;
}

/* Shared experts: gate, up, down of n_ff_shexp; Qwen2-MoE's sigmoid gate vector. */
static int bind_shared(model *m, int l, scarce_error *err) {
    const model_config *c = &m->cfg;
    layer_weights *w = &m->layers[l];
    char name[96];
    if (!gguf_find_tensor(m->file, LAYER_NAME(name, l, "ffn_gate_shexp.weight")))
        return scarce_fail(err, "%s: missing tensor %s (architecture %s has shared experts)",
                           m->file->path, name, c->arch);
    if (model_bind_matrix(m, name, c->n_embd, c->n_ff_shexp, &w->shexp_gate, err) ||
        model_bind_matrix(m, LAYER_NAME(name, l, "ffn_up_shexp.weight"), c->n_embd, c->n_ff_shexp,
                          &w->shexp_up, err) ||
        model_bind_matrix(m, LAYER_NAME(name, l, "ffn_down_shexp.weight"), c->n_ff_shexp, c->n_embd,
                          &w->shexp_down, err))
        return -1;
    if (!(c->desc->flags & ARCH_SHEXP_GATE)) return 0;
    return model_bind_required(m, LAYER_NAME(name, l, "ffn_gate_inp_shexp.weight"), c->n_embd,
                               &w->shexp_gate_inp, err);
}

/* A per-expert bias blk.l.<what>_exps.bias of [cols, n_expert] as f32 rows (gpt-oss). */
static int bind_expert_bias(const model *m, int l, const char *what, int64_t cols, float **out,
                            scarce_error *err) {
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s_exps.bias", l, what);
    const gguf_tensor *t = gguf_find_tensor(m->file, name);
    if (!t)
        return scarce_fail(err, "%s: missing tensor %s (architecture %s has it)", m->file->path,
                           name, m->cfg.arch);
    if (t->ne[0] != cols || t->ne[1] != m->cfg.n_expert || t->ne[2] * t->ne[3] != 1 ||
        !qtype(t->type))
        return scarce_fail(err, "tensor %s: expected [%lld, %d]", name, (long long)cols,
                           m->cfg.n_expert);
    if (!(*out = malloc((size_t)cols * m->cfg.n_expert * sizeof(float))))
        return scarce_fail(err, "tensor %s: out of memory", name);
    qtype(t->type)->dequantize(t->data, *out, cols * m->cfg.n_expert);
    return 0;
}

/* gpt-oss: biases of the router and of every expert's three matrices. */
static int bind_biases(model *m, int l, scarce_error *err) {
    const model_config *c = &m->cfg;
    layer_weights *w = &m->layers[l];
    char name[96];
    return model_bind_required(m, LAYER_NAME(name, l, "ffn_gate_inp.bias"), c->n_expert,
                               &w->gate_inp_b, err) ||
                   bind_expert_bias(m, l, "ffn_gate", c->n_ff_exp, &w->gate_exps_b, err) ||
                   bind_expert_bias(m, l, "ffn_up", c->n_ff_exp, &w->up_exps_b, err) ||
                   bind_expert_bias(m, l, "ffn_down", c->n_embd, &w->down_exps_b, err)
               ? -1
               : 0;
}

int model_bind_moe_ffn(model *m, int l, scarce_error *err) {
    const model_config *c = &m->cfg;
    layer_weights *w = &m->layers[l];
    char name[96];
    const gguf_tensor *router =
        gguf_find_tensor(m->file, LAYER_NAME(name, l, "ffn_gate_inp.weight"));
    if (router && router->ne[0] == c->n_embd && router->ne[1] != c->n_expert)
        return scarce_fail(err, "tensor %s routes to %lld experts, %s.expert_count says %d", name,
                           (long long)router->ne[1], c->arch, c->n_expert);
    if (model_bind_matrix(m, name, c->n_embd, c->n_expert, &w->ffn_gate_inp, err) ||
        model_bind_optional(m, LAYER_NAME(name, l, "exp_probs_b.bias"), c->n_expert,
                            &w->exp_probs_b, err) ||
        bind_experts(m, l, "ffn_gate", c->n_embd, c->n_ff_exp, &w->gate_exps, err) ||
        bind_experts(m, l, "ffn_up", c->n_embd, c->n_ff_exp, &w->up_exps, err) ||
        bind_experts(m, l, "ffn_down", c->n_ff_exp, c->n_embd, &w->down_exps, err) ||
        ((c->desc->flags & ARCH_SINKS) && bind_biases(m, l, err)))
        return -1;
    return c->n_expert_shared ? bind_shared(m, l, err) : 0;
}

void model_count_bytes(model *m) {
    const gguf_file *f = m->file;
    const gguf_tensor *embd = gguf_find_tensor(f, "token_embd.weight");
    m->global_pass_bytes = m->output.data == m->token_embd.data ? embd->bytes : 0;
    for (int l = 0; l < m->cfg.n_layer; l++)
        m->layers[l].pass_bytes = m->layers[l].expert_bytes = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        int l, e;
        if (t == embd) continue; /* its rows are counted per token */
        if (sscanf(t->name, "blk.%d.", &l) != 1)
            m->global_pass_bytes += t->bytes;
        else if (l < 0 || l >= m->cfg.n_layer) /* blocks the pass does not run (MTP) */
            continue;
        else if (strstr(t->name, "_exps.") && m->cfg.n_expert)
            m->layers[l].expert_bytes += t->bytes / (uint64_t)m->cfg.n_expert;
        else if (sscanf(t->name, "blk.%*d.ffn_%*[a-z].%d.weight", &e) == 1)
            m->layers[l].expert_bytes += e == 0 ? t->bytes : 0; /* per-expert matrices */
        else
            m->layers[l].pass_bytes += t->bytes;
    }
}
