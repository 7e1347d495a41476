/* api_spec.c - include/scarce.h's speculative report: the decoder's counters, its cost model
 * (engine/spec_cost.h) at the end of the run and the in-memory draft, in public types. */
#include <math.h>
#include <string.h>

#include "api_impl.h"

/* The copy's figures; per token, what its one-token steps read when there were any (a
 * greedy draft reads the coarse head, draft_quant.h), else what the copy would read. */
static void quant_of(const draft_quant_info *q, const spec_stats *st,
                     scarce_draft_quant_info *out) {
    const uint64_t step_bytes =
        st->draft_steps ? st->draft_step_bytes / st->draft_steps : q->weight_bytes;
    *out = (scarce_draft_quant_info){.type = q->type,
                                     .fallback = q->fallback,
                                     .n_matrices = q->n_matrices,
                                     .n_quantized = q->n_quantized,
                                     .n_fallback = q->n_fallback,
                                     .n_kept = q->n_shared,
                                     .bytes = q->bytes,
                                     .packed_bytes = q->packed_bytes,
                                     .weight_bytes_per_token = step_bytes,
                                     .target_weight_bytes_per_token = q->target_bytes,
                                     .seconds = q->seconds};
}

/* The cost model's figures at the end of the run, and the last pass's length judged on
 * them (the choice itself was made on the figures of its time). */
static void cost_of(const spec_stats *st, scarce_spec_report *o) {
    const spec_cost *c = &st->cost;
    double v[SPEC_MAX_DRAFT + 1] = {0};
    o->k_max = c->k_max;
    o->plain_step_s = spec_cost_plain_seconds(c);
    o->cost_known = spec_cost_figures(c, v, &o->draft_cost);
    for (int k = 1; k <= c->k_max && k <= SPEC_MAX_DRAFT; k++) o->verify_cost[k] = v[k];
    const double spent = st->t_draft + st->t_target;
    o->run_speedup = spent > 0 && o->plain_step_s > 0 ? st->emitted * o->plain_step_s / spent : NAN;
    const spec_choice now = spec_cost_at(c, c->last.k, c->last.why);
    o->last_length = now.k, o->last_why = spec_why_name(now.why);
    o->chosen_best_speedup = c->last.best_speedup;
    o->acceptance = now.acceptance, o->expected_speedup = now.expected_speedup;
    o->best_length = now.best_k, o->best_speedup = now.best_speedup;
    o->best_expected_tokens = spec_expected_tokens(now.acceptance, now.best_k);
    o->probe_every = SPEC_COST_PROBE;
}

void api_spec_report(const spec_stats *st, const draft_quant_info *q, scarce_spec_report *out) {
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->passes = st->passes, out->drafted = st->drafted;
    out->accepted = st->accepted, out->emitted = st->emitted;
    memcpy(out->drafted_at, st->drafted_at, sizeof out->drafted_at);
    memcpy(out->accepted_at, st->accepted_at, sizeof out->accepted_at);
    memcpy(out->passes_by_length, st->passes_by_length, sizeof out->passes_by_length);
    out->lookup_misses = st->lookup_misses;
    out->t_draft_s = st->t_draft, out->t_target_s = st->t_target;
    cost_of(st, out);
    if (q) out->has_quant = 1, quant_of(q, st, &out->quant);
}

_Static_assert(sizeof(((spec_stats *)0)->drafted_at) ==
                   sizeof(((scarce_spec_report *)0)->drafted_at),
               "scarce_spec_report's by-position counters are the engine's");
_Static_assert(sizeof(((spec_stats *)0)->passes_by_length) ==
                   sizeof(((scarce_spec_report *)0)->passes_by_length),
               "scarce_spec_report's by-length counters are the engine's");

int scarce_context_spec_report(const scarce_context *ctx, scarce_spec_report *out) {
    if (!ctx || !out || out->size != sizeof *out) return SCARCE_ERR_ARGUMENT;
    if (!ctx->run.valid || !ctx->run.is_spec) return SCARCE_ERR_ARGUMENT;
    api_spec_report(&ctx->run.spec, ctx->run.has_quant ? &ctx->run.quant : NULL, out);
    return SCARCE_OK;
}
