/* spec_report.c - the speculative part of the run summary (report.h): counters, the
 * in-memory draft, the lookup sources and what the cost model measured and chose, as
 * text and as the "speculative" JSON object (docs/numbers.md lists every key). */
#include <math.h>
#include <string.h>

#include "report.h"

static double ratio(uint64_t a, uint64_t b) {
    return b ? (double)a / b : NAN;
}

/* The cost model's figures at the end of the run. */
typedef struct {
    int known;
    double v[SPEC_MAX_DRAFT + 1], d, plain_s, run_speedup;
    int k_max;
} cost_view;

static cost_view cost_of(const spec_stats *st) {
    cost_view c = {.k_max = st->cost.k_max, .plain_s = spec_cost_plain_seconds(&st->cost)};
    c.known = spec_cost_figures(&st->cost, c.v, &c.d);
    const double spent = st->t_draft + st->t_target;
    c.run_speedup = spent > 0 && c.plain_s > 0 ? st->emitted * c.plain_s / spent : NAN;
    return c;
}

static void quant_text(FILE *out, const draft_quant_info *q) {
    fprintf(out, "  draft-quant: %s copy in memory of %d matrices (%d %s", q->type, q->n_matrices,
            q->n_quantized, q->type);
    if (q->n_fallback)
        fprintf(out, ", %d %s: rows not a multiple of its block, or no kernel", q->n_fallback,
                q->fallback);
    if (q->n_shared) fprintf(out, ", %d kept", q->n_shared);
    fprintf(out, "), %.1f MB", q->bytes / 1e6);
    if (q->packed_bytes) fprintf(out, " + %.1f MB repacked", q->packed_bytes / 1e6);
    fprintf(out, ", built in %.2f s; reads %.1f of the target's %.1f MB per token\n", q->seconds,
            q->weight_bytes / 1e6, q->target_bytes / 1e6);
}

/* The last pass's length judged on the final figures (the choice itself was made on the
 * figures of its time). */
static spec_choice final_choice(const spec_stats *st) {
    return spec_cost_at(&st->cost, st->cost.last.k, st->cost.last.why);
}

static void cost_text(FILE *out, const spec_summary *sp) {
    const spec_stats *st = &sp->stats;
    const cost_view c = cost_of(st);
    const spec_choice now = final_choice(st), *ch = &now;
    if (!c.known) {
        fprintf(out, "  cost model: no plain step was timed, so no figures\n");
        return;
    }
    fprintf(out,
            "  cost model: acceptance %.2f, draft step %.3f plain steps (%.2f ms), "
            "verify(k+1)/decode(1):",
            ch->acceptance, c.d, c.plain_s * 1e3);
    for (int k = 1; k <= c.k_max; k++) fprintf(out, " %d:%.2f", k, c.v[k]);
    fputc('\n', out);
    if (ch->why == SPEC_WHY_FIXED)
        fprintf(out,
                "  length %d (%s policy): expected %.2fx; the model's best would be k=%d, "
                "%.2fx\n",
                ch->k, sp->policy, ch->expected_speedup, ch->best_k, ch->best_speedup);
    else if (ch->best_speedup > 1)
        fprintf(out,
                "  chosen: k=%d, the largest expected speed-up %.2fx = E %.2f tokens / "
                "(verify %.2f + %d x draft %.3f)\n",
                ch->best_k, ch->best_speedup, spec_expected_tokens(ch->acceptance, ch->best_k),
                c.v[ch->best_k], ch->best_k, c.d);
    else
        fprintf(out,
                "  no draft length pays: the best, k=%d, expects %.2fx; decoded plain "
                "(a %d-token probe every %d passes)\n",
                ch->best_k, ch->best_speedup, ch->best_k, SPEC_COST_PROBE);
    fprintf(out,
            "  speed-up of this run against its own timed plain steps: %.2fx "
            "(%llu of %llu passes plain)\n",
            c.run_speedup, (unsigned long long)st->passes_by_length[0],
            (unsigned long long)st->passes);
}

void report_spec_text(FILE *out, const spec_summary *sp) {
    const spec_stats *st = &sp->stats;
    fprintf(out, "speculative (%s", sp->source);
    if (sp->draft)
        fprintf(out, " %s", sp->draft);
    else
        fprintf(out, " %ld", sp->param);
    fprintf(out,
            ", draft %d, %s): %llu target passes, %llu drafted, %llu accepted (%.1f%%), "
            "%.2f tokens/pass\n",
            sp->n_draft, sp->policy ? sp->policy : "adapt", (unsigned long long)st->passes,
            (unsigned long long)st->drafted, (unsigned long long)st->accepted,
            st->drafted ? 100.0 * st->accepted / st->drafted : 0.0,
            st->passes ? (double)st->emitted / st->passes : 0.0);
    fprintf(out, "  acceptance by draft position:");
    for (int i = 0; i < SPEC_MAX_DRAFT && st->drafted_at[i]; i++)
        fprintf(out, " %d:%.0f%%", i + 1, 100.0 * st->accepted_at[i] / st->drafted_at[i]);
    fprintf(out, "\n  passes by draft length:");
    for (int k = 0; k <= SPEC_MAX_DRAFT; k++)
        if (st->passes_by_length[k])
            fprintf(out, " %d:%llu", k, (unsigned long long)st->passes_by_length[k]);
    fprintf(out, "\n  time: draft %.3f s, target %.3f s\n", st->t_draft, st->t_target);
    if (sp->quant) quant_text(out, sp->quant);
    if (!strcmp(sp->source, "lookup")) {
        fprintf(out, "  lookup: %llu passes found no n-gram",
                (unsigned long long)st->lookup_misses);
        if (sp->lookup_file)
            fprintf(out, "; also searched %s (%d tokens)", sp->lookup_file, sp->n_lookup_file);
        fputc('\n', out);
    }
    cost_text(out, sp);
    if (isfinite(sp->tok_s_plain) && isfinite(sp->tok_s_spec) && sp->tok_s_plain > 0)
        fprintf(out,
                "spec-compare (no stop at end of text; medians of %d runs each, interleaved): "
                "plain %.1f tok/s, speculative %.1f tok/s, speed-up %.2fx\n",
                sp->compare_reps, sp->tok_s_plain, sp->tok_s_spec,
                sp->tok_s_spec / sp->tok_s_plain);
}

static void quant_json(FILE *out, const draft_quant_info *q) {
    fputs(", \"draft_quant\": {\"type\": ", out), json_str(out, q->type);
    fprintf(out, ", \"matrices\": %d, \"quantized\": %d, \"fallback\": %d, \"fallback_type\": ",
            q->n_matrices, q->n_quantized, q->n_fallback);
    if (q->fallback)
        json_str(out, q->fallback);
    else
        fputs("null", out);
    fprintf(out,
            ", \"kept\": %d, \"bytes\": %zu, \"packed_bytes\": %zu, "
            "\"weight_bytes_per_token\": %zu, \"target_weight_bytes_per_token\": %zu, "
            "\"seconds\": ",
            q->n_shared, q->bytes, q->packed_bytes, q->weight_bytes, q->target_bytes);
    json_num(out, q->seconds);
    fputc('}', out);
}

static void cost_json(FILE *out, const spec_stats *st) {
    const cost_view c = cost_of(st);
    const spec_choice now = final_choice(st), *ch = &now;
    fputs(", \"cost_model\": {\"plain_step_s\": ", out), json_num(out, c.known ? c.plain_s : NAN);
    fputs(", \"acceptance_estimate\": ", out), json_num(out, ch->acceptance);
    fputs(", \"draft_cost\": ", out), json_num(out, c.known ? c.d : NAN);
    fputs(", \"verify_cost\": [", out);
    for (int k = 1; c.known && k <= c.k_max; k++)
        fputs(k > 1 ? ", " : "", out), json_num(out, c.v[k]);
    fprintf(out, "], \"last_length\": %d, \"why\": ", ch->k), json_str(out, spec_why_name(ch->why));
    fputs(", \"expected_speedup\": ", out), json_num(out, c.known ? ch->expected_speedup : NAN);
    fprintf(out, ", \"best_length\": %d, \"best_expected_speedup\": ", ch->best_k);
    json_num(out, c.known ? ch->best_speedup : NAN);
    fputs(", \"run_speedup\": ", out), json_num(out, c.run_speedup);
    fputc('}', out);
}

void report_spec_json(FILE *out, const spec_summary *sp) {
    const spec_stats *st = &sp->stats;
    fputs("\"speculative\": {\"source\": ", out), json_str(out, sp->source);
    if (!strcmp(sp->source, "model"))
        fputs(", \"draft_model\": ", out), json_str(out, sp->draft);
    else if (!strcmp(sp->source, "quant"))
        fputs(", \"draft_type\": ", out), json_str(out, sp->draft);
    else
        fprintf(out, ", \"%s\": %ld", !strcmp(sp->source, "lookup") ? "lookup_n" : "draft_layers",
                sp->param);
    fputs(", \"policy\": ", out), json_str(out, sp->policy ? sp->policy : "adapt");
    fprintf(out,
            ", \"n_draft\": %d, \"target_passes\": %llu, \"drafted\": %llu, "
            "\"accepted\": %llu, \"emitted\": %llu, \"acceptance_rate\": ",
            sp->n_draft, (unsigned long long)st->passes, (unsigned long long)st->drafted,
            (unsigned long long)st->accepted, (unsigned long long)st->emitted);
    json_num(out, ratio(st->accepted, st->drafted));
    fputs(", \"acceptance_by_position\": [", out);
    for (int i = 0; i < SPEC_MAX_DRAFT && st->drafted_at[i]; i++)
        fputs(i ? ", " : "", out), json_num(out, ratio(st->accepted_at[i], st->drafted_at[i]));
    fputs("], \"passes_by_length\": [", out);
    for (int k = 0; k <= st->cost.k_max && k <= SPEC_MAX_DRAFT; k++)
        fprintf(out, "%s%llu", k ? ", " : "", (unsigned long long)st->passes_by_length[k]);
    fputs("], \"mean_tokens_per_target_pass\": ", out);
    json_num(out, ratio(st->emitted, st->passes));
    fputs(", \"t_draft_s\": ", out), json_num(out, st->t_draft);
    fputs(", \"t_target_s\": ", out), json_num(out, st->t_target);
    if (sp->quant) quant_json(out, sp->quant);
    if (!strcmp(sp->source, "lookup")) {
        fprintf(out, ", \"lookup_misses\": %llu, \"lookup_file\": ",
                (unsigned long long)st->lookup_misses);
        if (sp->lookup_file)
            json_str(out, sp->lookup_file);
        else
            fputs("null", out);
        fprintf(out, ", \"lookup_file_tokens\": %d", sp->n_lookup_file);
    }
    cost_json(out, st);
    if (isfinite(sp->tok_s_plain) && isfinite(sp->tok_s_spec) && sp->tok_s_plain > 0) {
        fputs(", \"plain_tok_s\": ", out), json_num(out, sp->tok_s_plain);
        fputs(", \"spec_tok_s\": ", out), json_num(out, sp->tok_s_spec);
        fputs(", \"speedup_vs_plain\": ", out), json_num(out, sp->tok_s_spec / sp->tok_s_plain);
        fprintf(out, ", \"compare_reps\": %d", sp->compare_reps);
    }
    fputs("}", out);
}
