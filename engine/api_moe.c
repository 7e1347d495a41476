/* api_moe.c - include/scarce.h's view of a mixture-of-experts router: per-layer choice
 * counts, their balance, and the last token's routing (engine/moe.h keeps them). */
#include <string.h>

#include "api_impl.h"
#include "arch.h"
#include "mla.h"
#include "moe.h"

int scarce_model_moe_info(const scarce_model *sm, scarce_moe_info *out) {
    if (!sm) return SCARCE_ERR_ARGUMENT;
    char *err = ((scarce_model *)sm)->error; /* the message is the only thing written */
    if (!out || out->size != sizeof *out || !sm->m || !sm->m->cfg.n_expert)
        return api_fail(err, SCARCE_ERR_ARGUMENT, "scarce_model_moe_info: %s",
                        !out                       ? "out is NULL"
                        : out->size != sizeof *out ? "out->size is not sizeof(scarce_moe_info)"
                        : !sm->m                   ? "the model was opened vocab_only"
                                                   : "the model has no experts");
    const model *m = sm->m;
    const model_config *c = &m->cfg;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->n_expert = c->n_expert, out->n_expert_used = c->n_expert_used;
    out->gating = c->route_name;
    out->total_bytes = model_weight_bytes(m);
    out->active_bytes_per_token = moe_active_bytes(m);
    for (int l = 0; l < c->n_layer; l++)
        out->total_expert_bytes += moe_expert_bytes(m, l) * (uint64_t)c->n_expert;
    out->n_layer = c->n_layer;
    if (c->desc->flags & ARCH_MLA) {
        out->mla_cache_width = mla_cache_width(c), out->mla_expanded_width = mla_expanded_width(c);
        out->kv_lora_rank = c->n_lora_kv, out->n_rot = c->n_rot;
    }
    return SCARCE_OK;
}

int scarce_context_moe_track(scarce_context *ctx, int on) {
    if (!ctx) return SCARCE_ERR_ARGUMENT;
    if (!on) {
        moe_stats_free(ctx->s.moe);
        ctx->s.moe = NULL;
        return SCARCE_OK;
    }
    if (!ctx->model->m->cfg.n_expert)
        return api_fail(ctx->error, SCARCE_ERR_ARGUMENT,
                        "scarce_context_moe_track: the model has no experts");
    if (ctx->s.moe) return SCARCE_OK;
    ctx->s.moe = moe_stats_new(ctx->model->m);
    return ctx->s.moe
               ? SCARCE_OK
               : api_fail(ctx->error, SCARCE_ERR_MEMORY, "scarce_context_moe_track: out of memory");
}

int scarce_context_moe_layer(const scarce_context *ctx, int layer, scarce_moe_layer *out) {
    if (!ctx) return SCARCE_ERR_ARGUMENT;
    char *err = ((scarce_context *)ctx)->error; /* the message is the only thing written */
    if (!out || out->size != sizeof *out)
        return api_fail(err, SCARCE_ERR_ARGUMENT, "scarce_context_moe_layer: %s",
                        out ? "out->size is not sizeof(scarce_moe_layer)" : "out is NULL");
    const moe_stats *st = ctx->s.moe;
    if (!st)
        return api_fail(err, SCARCE_ERR_ARGUMENT,
                        "scarce_context_moe_layer: not tracking (scarce_context_moe_track)");
    if (layer < 0 || layer >= st->n_layer)
        return api_fail(err, SCARCE_ERR_ARGUMENT,
                        "scarce_context_moe_layer: layer %d outside 0..%d", layer, st->n_layer - 1);
    const size_t size = out->size;
    memset(out, 0, sizeof *out);
    out->size = size;
    out->n_expert = st->n_expert, out->k = st->k;
    out->tokens = st->tokens[layer];
    out->counts = st->chosen + (size_t)layer * st->n_expert;
    out->cv = moe_stats_cv(st, layer);
    out->entropy = moe_stats_entropy(st, layer);
    out->reuse = moe_stats_reuse(st, layer);
    if (st->has_last[layer]) {
        out->n_last = st->k;
        out->last_experts = st->last_chosen + (size_t)layer * st->k;
        out->last_weights = st->last_weight + (size_t)layer * st->k;
    }
    return SCARCE_OK;
}
