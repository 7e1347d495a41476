/* spec_report.c - the speculative part of the run summary (spec_report.h): counters, the
 * in-memory draft, the lookup sources and what the cost model measured and chose, as
 * text and as the "speculative" JSON object (docs/numbers.md lists every key). */
#include "spec_report.h"

#include <math.h>
#include <string.h>

#include "summary.h"

static double ratio(uint64_t a, uint64_t b) {
    return b ? (double)a / b : NAN;
}

static void quant_text(FILE *out, const scarce_draft_quant_info *q) {
    fprintf(out, "  draft-quant: %s copy in memory of %d matrices (%d %s", q->type, q->n_matrices,
            q->n_quantized, q->type);
    if (q->n_fallback)
        fprintf(out, ", %d %s: rows not a multiple of its block, or no kernel", q->n_fallback,
                q->fallback);
    if (q->n_kept) fprintf(out, ", %d kept", q->n_kept);
    fprintf(out, "), %.1f MB", q->bytes / 1e6);
    if (q->packed_bytes) fprintf(out, " + %.1f MB repacked", q->packed_bytes / 1e6);
    fprintf(out, ", built in %.2f s; reads %.1f of the target's %.1f MB per step\n", q->seconds,
            q->weight_bytes_per_token / 1e6, q->target_weight_bytes_per_token / 1e6);
}

static void cost_text(FILE *out, const spec_summary *sp) {
    const scarce_spec_report *st = &sp->stats;
    if (!st->cost_known) {
        fprintf(out, "  cost model: no plain step was timed, so no figures\n");
        return;
    }
    fprintf(out,
            "  cost model: acceptance %.2f, draft step %.3f plain steps (%.2f ms), "
            "verify(k+1)/decode(1):",
            st->acceptance, st->draft_cost, st->plain_step_s * 1e3);
    for (int k = 1; k <= st->k_max; k++) fprintf(out, " %d:%.2f", k, st->verify_cost[k]);
    fputc('\n', out);
    if (!strcmp(st->last_why, "fixed by policy"))
        fprintf(out,
                "  length %d (%s policy): expected %.2fx; the model's best would be k=%d, "
                "%.2fx\n",
                st->last_length, sp->policy, st->expected_speedup, st->best_length,
                st->best_speedup);
    else if (st->best_speedup > 1)
        fprintf(out,
                "  chosen: k=%d, the largest expected speed-up %.2fx = E %.2f tokens / "
                "(verify %.2f + %d x draft %.3f)\n",
                st->best_length, st->best_speedup, st->best_expected_tokens,
                st->verify_cost[st->best_length], st->best_length, st->draft_cost);
    else
        fprintf(out,
                "  no draft length pays: the best, k=%d, expects %.2fx; decoded plain "
                "(a %d-token probe every %d passes)\n",
                st->best_length, st->best_speedup, st->best_length, st->probe_every);
    fprintf(out,
            "  speed-up of this run against its own timed plain steps: %.2fx "
            "(%llu of %llu passes plain)\n",
            st->run_speedup, (unsigned long long)st->passes_by_length[0],
            (unsigned long long)st->passes);
}

void report_spec_text(FILE *out, const spec_summary *sp) {
    const scarce_spec_report *st = &sp->stats;
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
    for (int i = 0; i < SCARCE_MAX_DRAFT && st->drafted_at[i]; i++)
        fprintf(out, " %d:%.0f%%", i + 1, 100.0 * st->accepted_at[i] / st->drafted_at[i]);
    fprintf(out, "\n  passes by draft length:");
    for (int k = 0; k <= SCARCE_MAX_DRAFT; k++)
        if (st->passes_by_length[k])
            fprintf(out, " %d:%llu", k, (unsigned long long)st->passes_by_length[k]);
    fprintf(out, "\n  time: draft %.3f s, target %.3f s\n", st->t_draft_s, st->t_target_s);
    if (st->has_quant) quant_text(out, &st->quant);
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

static void quant_json(FILE *out, const scarce_draft_quant_info *q) {
    fputs(", \"draft_quant\": {\"type\": ", out), json_str(out, q->type);
    fprintf(out, ", \"matrices\": %d, \"quantized\": %d, \"fallback\": %d, \"fallback_type\": ",
            q->n_matrices, q->n_quantized, q->n_fallback);
    if (q->fallback)
        json_str(out, q->fallback);
    else
        fputs("null", out);
    fprintf(out,
            ", \"kept\": %d, \"bytes\": %llu, \"packed_bytes\": %llu, "
            "\"weight_bytes_per_token\": %llu, \"target_weight_bytes_per_token\": %llu, "
            "\"seconds\": ",
            q->n_kept, (unsigned long long)q->bytes, (unsigned long long)q->packed_bytes,
            (unsigned long long)q->weight_bytes_per_token,
            (unsigned long long)q->target_weight_bytes_per_token);
    json_num(out, q->seconds);
    fputc('}', out);
}

static void cost_json(FILE *out, const scarce_spec_report *st) {
    const int known = st->cost_known;
    fputs(", \"cost_model\": {\"plain_step_s\": ", out);
    json_num(out, known ? st->plain_step_s : NAN);
    fputs(", \"acceptance_estimate\": ", out), json_num(out, st->acceptance);
    fputs(", \"draft_cost\": ", out), json_num(out, known ? st->draft_cost : NAN);
    fputs(", \"verify_cost\": [", out);
    for (int k = 1; known && k <= st->k_max; k++)
        fputs(k > 1 ? ", " : "", out), json_num(out, st->verify_cost[k]);
    fprintf(out, "], \"last_length\": %d, \"why\": ", st->last_length);
    json_str(out, st->last_why);
    fputs(", \"expected_speedup\": ", out), json_num(out, known ? st->expected_speedup : NAN);
    fprintf(out, ", \"best_length\": %d, \"best_expected_speedup\": ", st->best_length);
    json_num(out, known ? st->best_speedup : NAN);
    fputs(", \"run_speedup\": ", out), json_num(out, st->run_speedup);
    fputc('}', out);
}

void report_spec_json(FILE *out, const spec_summary *sp) {
    const scarce_spec_report *st = &sp->stats;
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
    for (int i = 0; i < SCARCE_MAX_DRAFT && st->drafted_at[i]; i++)
        fputs(i ? ", " : "", out), json_num(out, ratio(st->accepted_at[i], st->drafted_at[i]));
    fputs("], \"passes_by_length\": [", out);
    for (int k = 0; k <= st->k_max && k <= SCARCE_MAX_DRAFT; k++)
        fprintf(out, "%s%llu", k ? ", " : "", (unsigned long long)st->passes_by_length[k]);
    fputs("], \"mean_tokens_per_target_pass\": ", out);
    json_num(out, ratio(st->emitted, st->passes));
    fputs(", \"t_draft_s\": ", out), json_num(out, st->t_draft_s);
    fputs(", \"t_target_s\": ", out), json_num(out, st->t_target_s);
    if (st->has_quant) quant_json(out, &st->quant);
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
