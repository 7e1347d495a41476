/* report.c - the run summary: what each token cost in bytes, FLOPs and seconds. */
#include "report.h"

#include <math.h>
#include <string.h>

#include "../engine/api_impl.h"
#include "../engine/machine.h"
#include "../engine/membw.h"
#include "../kernels/cpu.h"
#include "../quant/types.h"
#include "kernel_setup.h"

peak_context report_peak(double achieved_gb_s, size_t model_bytes) {
    peak_context p = {.llc = llc_bytes(), .pct = -1};
    p.have_peak = membw_peak(&p.peak_gb_s, 0) == 0;
    p.fits_in_cache = p.llc && model_bytes < p.llc;
    if (p.have_peak && !p.fits_in_cache && p.peak_gb_s > 0)
        p.pct = 100 * achieved_gb_s / p.peak_gb_s;
    return p;
}

const char *model_type_name(const gguf_file *f) {
    uint64_t bytes[QT_MAX_ID] = {0};
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (f->tensors[i].n_dims >= 2 && f->tensors[i].type < QT_MAX_ID)
            bytes[f->tensors[i].type] += f->tensors[i].bytes;
    int best = 0;
    for (int t = 1; t < QT_MAX_ID; t++)
        if (bytes[t] > bytes[best]) best = t;
    const quant_type *qt = qtype((uint32_t)best);
    return qt ? qt->name : "?";
}

void report_kernels_run(const model *m, kernels_run *out) { api_kernels_run(m, out); }

phase_figures report_main_phase(const run_summary *s) {
    if (s->decode.tokens) return stats_figures(&s->decode, s->t_decode);
    return stats_figures(&s->prompt, s->t_prompt);
}

static double pct(double part, double whole) { return whole > 0 ? 100 * part / whole : 0; }

/* ", 1.6 of 2 threads" (the matmuls' work-weighted mean: adaptive threads may run small
 * matrices on one) and the end of the line */
static void phase_threads(FILE *out, const run_stats *phase, int threads) {
    if (phase->mm_work > 0) fprintf(out, ", %.1f of %d threads", stats_mean_threads(phase), threads);
    fputc('\n', out);
}

void report_run_text(FILE *out, const run_summary *s) {
    const phase_figures pp = stats_figures(&s->prompt, s->t_prompt);
    const phase_figures tg = stats_figures(&s->decode, s->t_decode);
    const phase_figures f = report_main_phase(s);
    fprintf(out, "prompt: %llu tokens in %.3f s (%.1f tok/s)", (unsigned long long)pp.tokens,
            s->t_prompt, pp.tok_s);
    phase_threads(out, &s->prompt, s->threads);
    fprintf(out, "decode: %llu tokens in %.3f s (%.1f tok/s)", (unsigned long long)tg.tokens,
            s->t_decode, tg.tok_s);
    phase_threads(out, &s->decode, s->threads);
    char cpu[128], kr[256];
    cpu_model_name(cpu, sizeof cpu);
    if (s->kernels_run) summary_kernels_run_text(s->kernels_run, kr, sizeof kr);
    else snprintf(kr, sizeof kr, "%s set", s->isa);
    fprintf(out, "kernels: %s; CPU %s, %d physical cores\n", kr, cpu, cpu_physical_cores());
    fprintf(out, "per %s token: weights %.3f MB, KV %.3f MB, %.3f MFLOP, intensity %.2f FLOP/byte\n",
            s->decode.tokens ? "decoded" : "prompt", f.weight_bytes_per_token / 1e6,
            f.kv_bytes_per_token / 1e6, f.flops_per_token / 1e6, f.intensity);
    /* A large vocabulary makes the output matrix the largest read of a token (Gemma 3:
     * 262,144 rows, ~70% of a 270M model's bytes). */
    if (s->output_bytes && s->decode.tokens)
        fprintf(out, "output matrix: %.3f MB of them (%.0f%%, %d-token vocabulary)\n",
                s->output_bytes / 1e6, pct((double)s->output_bytes, f.weight_bytes_per_token),
                s->n_vocab);
    const peak_context p = report_peak(f.achieved_gb_s, s->model_bytes);
    fprintf(out, "bandwidth: %.2f GB/s achieved", f.achieved_gb_s);
    if (p.fits_in_cache)
        fprintf(out, "; model fits in cache (%.1f MB < LLC %.1f MB): no %% of DRAM peak\n",
                s->model_bytes / 1e6, p.llc / 1e6);
    else if (p.have_peak)
        fprintf(out, " = %.0f%% of measured peak %.2f GB/s\n", p.pct, p.peak_gb_s);
    else
        fprintf(out, "; run scarce membw once to get %% of peak\n");
    const run_stats *ph = s->decode.tokens ? &s->decode : &s->prompt;
    const double wall = s->decode.tokens ? s->t_decode : s->t_prompt;
    fprintf(out, "time: matmul %.0f%%, attention %.0f%%, other ops %.0f%%, outside forward "
                 "(sampling, output) %.0f%%\n",
            pct(ph->t_matmul, wall), pct(ph->t_attention, wall),
            pct(ph->t_forward - ph->t_matmul - ph->t_attention, wall),
            pct(wall - ph->t_forward, wall));
}

void report_run_json(FILE *out, const run_summary *s) {
    const phase_figures pp = stats_figures(&s->prompt, s->t_prompt);
    const phase_figures tg = stats_figures(&s->decode, s->t_decode);
    const phase_figures f = report_main_phase(s);
    const peak_context p = report_peak(f.achieved_gb_s, s->model_bytes);
    fputs("{\"model\": ", out), json_str(out, s->model_path);
    fputs(", \"type\": ", out), json_str(out, s->type_name);
    fprintf(out, ", \"threads\": %d, \"isa\": ", s->threads), json_str(out, s->isa);
    fprintf(out, ", \"model_bytes\": %zu", s->model_bytes);
    if (s->kernels) fputs(", \"kernels\": ", out), kernel_config_json(out, s->kernels);
    if (s->kernels_run) fputs(", \"kernels_run\": ", out), summary_kernels_run_json(out, s->kernels_run);
    char cpu[128];
    cpu_model_name(cpu, sizeof cpu);
    fputs(", \"cpu_model\": ", out), json_str(out, cpu);
    fprintf(out, ", \"physical_cores\": %d", cpu_physical_cores());
    fputs(", \"threads_prefill\": ", out), json_num(out, stats_mean_threads(&s->prompt));
    fputs(", \"threads_decode\": ", out), json_num(out, stats_mean_threads(&s->decode));
    fprintf(out, ", \"prompt_tokens\": %llu, \"prompt_tok_s\": ", (unsigned long long)pp.tokens);
    json_num(out, pp.tok_s);
    fprintf(out, ", \"decode_tokens\": %llu, \"decode_tok_s\": ", (unsigned long long)tg.tokens);
    json_num(out, tg.tok_s);
    fputs(", \"weight_bytes_per_token\": ", out), json_num(out, f.weight_bytes_per_token);
    fprintf(out, ", \"output_bytes_per_pass\": %zu", s->output_bytes);
    fputs(", \"kv_bytes_per_token\": ", out), json_num(out, f.kv_bytes_per_token);
    fputs(", \"flops_per_token\": ", out), json_num(out, f.flops_per_token);
    fputs(", \"arithmetic_intensity\": ", out), json_num(out, f.intensity);
    fputs(", \"achieved_gb_s\": ", out), json_num(out, f.achieved_gb_s);
    fputs(", \"peak_gb_s\": ", out), json_num(out, p.have_peak ? p.peak_gb_s : NAN);
    fputs(", \"pct_of_peak\": ", out), json_num(out, p.pct >= 0 ? p.pct : NAN);
    fprintf(out, ", \"fits_in_cache\": %s, \"llc_bytes\": %zu", p.fits_in_cache ? "true" : "false",
            p.llc);
    fputs(", \"t_prompt_s\": ", out), json_num(out, s->t_prompt);
    fputs(", \"t_decode_s\": ", out), json_num(out, s->t_decode);
    fputs(", \"t_matmul_s\": ", out), json_num(out, s->prompt.t_matmul + s->decode.t_matmul);
    fputs(", \"t_attention_s\": ", out),
        json_num(out, s->prompt.t_attention + s->decode.t_attention);
    fputs(", \"t_sampling_s\": ", out), json_num(out, s->t_decode - s->decode.t_forward);
    if (s->spec) fputs(", ", out), report_spec_json(out, s->spec);
    if (s->moe) fputs(", ", out), report_moe_json(out, s->moe);
    fputs("}\n", out);
}

/* ---- speculative decoding: tools/spec_report.c ------------------------------------------ */

/* ---- mixture of experts ------------------------------------------------------------------ */

moe_summary report_moe_summary(const model *m, const moe_stats *st) {
    moe_summary ms = {.n_expert = m->cfg.n_expert, .n_expert_used = m->cfg.n_expert_used,
                      .gating = m->cfg.route_name,
                      .active_bytes_per_token = moe_active_bytes(m),
                      .total_bytes = model_weight_bytes(m), .st = st};
    for (int l = 0; l < m->cfg.n_layer; l++)
        ms.total_expert_bytes += moe_expert_bytes(m, l) * (uint64_t)m->cfg.n_expert;
    return ms;
}

/* "key": [f(0), f(1), ...] over the layers */
static void layer_array(FILE *out, const char *key, const moe_stats *st,
                        double (*f)(const moe_stats *, int)) {
    fprintf(out, ", \"%s\": [", key);
    for (int l = 0; l < st->n_layer; l++) fputs(l ? ", " : "", out), json_num(out, f(st, l));
    fputs("]", out);
}

void report_moe_json(FILE *out, const moe_summary *ms) {
    fprintf(out, "\"moe\": {\"n_expert\": %d, \"n_expert_used\": %d, \"gating\": ",
            ms->n_expert, ms->n_expert_used);
    json_str(out, ms->gating);
    fprintf(out, ", \"active_bytes_per_token\": %llu, \"total_expert_bytes\": %llu, "
            "\"total_weight_bytes\": %llu", (unsigned long long)ms->active_bytes_per_token,
            (unsigned long long)ms->total_expert_bytes, (unsigned long long)ms->total_bytes);
    const moe_stats *st = ms->st;
    if (st) {
        fputs(", \"tokens_routed\": [", out);
        for (int l = 0; l < st->n_layer; l++)
            fprintf(out, "%s%llu", l ? ", " : "", (unsigned long long)st->tokens[l]);
        fputs("], \"expert_counts\": [", out);
        for (int l = 0; l < st->n_layer; l++) {
            fputs(l ? ", [" : "[", out);
            for (int e = 0; e < st->n_expert; e++)
                fprintf(out, "%s%llu", e ? ", " : "",
                        (unsigned long long)st->chosen[(size_t)l * st->n_expert + e]);
            fputs("]", out);
        }
        fputs("]", out);
        layer_array(out, "cv", st, moe_stats_cv);
        layer_array(out, "entropy", st, moe_stats_entropy);
        layer_array(out, "reuse", st, moe_stats_reuse);
    }
    fputs("}", out);
}
