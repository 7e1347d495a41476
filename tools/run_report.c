/* run_report.c - the run summary: what each token cost in bytes, FLOPs and seconds
 * (docs/numbers.md explains every figure). */
#include "run_report.h"

#include <math.h>

#include "summary.h"

int run_report_of(scarce_model *m, const scarce_context *ctx, const char *path, run_report *r) {
    *r = (run_report){.model_path = path, .type = scarce_model_type(m)};
    r->kernels_run.size = sizeof r->kernels_run;
    int rc = scarce_model_get_params(m, &r->params);
    if (!rc) rc = scarce_model_kernels_run(m, &r->kernels_run);
    if (!rc) rc = scarce_machine_info(&r->machine);
    if (!rc) rc = scarce_context_stats(ctx, &r->st);
    return rc;
}

static double pct(double part, double whole) {
    return whole > 0 ? 100 * part / whole : 0;
}

/* ", 1.6 of 2 threads" (the matmuls' work-weighted mean: adaptive threads may run small
 * matrices on one; none when the phase ran no matmul) and the end of the line */
static void phase_threads(FILE *out, double mean, int threads) {
    if (mean > 0) fprintf(out, ", %.1f of %d threads", mean, threads);
    fputc('\n', out);
}

/* FLOPs per byte read of the main phase */
static double intensity(const scarce_stats *st) {
    const double bytes = st->weight_bytes_per_token + st->kv_bytes_per_token;
    return bytes > 0 ? st->flops_per_token / bytes : 0;
}

void run_report_text(FILE *out, const run_report *r) {
    const scarce_stats *st = &r->st;
    const int threads = r->params.n_threads;
    fprintf(out, "prompt: %llu tokens in %.3f s (%.1f tok/s)",
            (unsigned long long)st->prompt_tokens, st->t_prompt_s, st->prompt_tok_s);
    phase_threads(out, st->threads_prefill, threads);
    fprintf(out, "decode: %llu tokens in %.3f s (%.1f tok/s)",
            (unsigned long long)st->decode_tokens, st->t_decode_s, st->decode_tok_s);
    phase_threads(out, st->threads_decode, threads);
    summary_kernels_line(out, &r->kernels_run, &r->machine);
    const int decoded = st->decode_tokens > 0;
    fprintf(out,
            "per %s token: weights %.3f MB, KV %.3f MB, %.3f MFLOP, intensity %.2f FLOP/byte\n",
            decoded ? "decoded" : "prompt", st->weight_bytes_per_token / 1e6,
            st->kv_bytes_per_token / 1e6, st->flops_per_token / 1e6, intensity(st));
    /* A large vocabulary makes the output matrix the largest read of a token (Gemma 3:
     * 262,144 rows, ~70% of a 270M model's bytes). */
    const scarce_kernels_run *kr = &r->kernels_run;
    if (kr->output_bytes && decoded)
        fprintf(out, "output matrix: %.3f MB of them (%.0f%%, %d-token vocabulary)\n",
                kr->output_bytes / 1e6, pct((double)kr->output_bytes, st->weight_bytes_per_token),
                kr->n_vocab);
    fprintf(out, "bandwidth: %.2f GB/s achieved", st->achieved_gb_s);
    if (st->fits_in_cache)
        fprintf(out, "; model fits in cache (%.1f MB < LLC %.1f MB): no %% of DRAM peak\n",
                st->model_bytes / 1e6, st->llc_bytes / 1e6);
    else if (st->peak_gb_s > 0)
        fprintf(out, " = %.0f%% of measured peak %.2f GB/s\n", st->pct_of_peak, st->peak_gb_s);
    else
        fprintf(out, "; run scarce membw once to get %% of peak\n");
    const double wall = decoded ? st->t_decode_s : st->t_prompt_s;
    const double fwd = decoded ? st->t_forward_decode_s : st->t_forward_prompt_s;
    const double mm = decoded ? st->t_matmul_decode_s : st->t_matmul_prompt_s;
    const double att = decoded ? st->t_attention_decode_s : st->t_attention_prompt_s;
    fprintf(out,
            "time: matmul %.0f%%, attention %.0f%%, other ops %.0f%%, outside forward "
            "(sampling, output) %.0f%%\n",
            pct(mm, wall), pct(att, wall), pct(fwd - mm - att, wall), pct(wall - fwd, wall));
}

void run_report_json(FILE *out, const run_report *r, run_report_more more, void *user) {
    const scarce_stats *st = &r->st;
    fputs("{\"model\": ", out), json_str(out, r->model_path);
    fputs(", \"type\": ", out), json_str(out, r->type);
    fprintf(out, ", \"threads\": %d, \"isa\": ", r->params.n_threads), json_str(out, r->params.isa);
    fprintf(out, ", \"model_bytes\": %llu", (unsigned long long)st->model_bytes);
    fputs(", \"kernels\": ", out), summary_params_json(out, &r->params);
    fputs(", \"kernels_run\": ", out), summary_kernels_run_json(out, &r->kernels_run);
    fputs(", \"cpu_model\": ", out), json_str(out, r->machine.cpu_name);
    fprintf(out, ", \"physical_cores\": %d", r->machine.physical_cores);
    fputs(", \"threads_prefill\": ", out), json_num(out, st->threads_prefill);
    fputs(", \"threads_decode\": ", out), json_num(out, st->threads_decode);
    fprintf(out,
            ", \"prompt_tokens\": %llu, \"prompt_tok_s\": ", (unsigned long long)st->prompt_tokens);
    json_num(out, st->prompt_tok_s);
    fprintf(out,
            ", \"decode_tokens\": %llu, \"decode_tok_s\": ", (unsigned long long)st->decode_tokens);
    json_num(out, st->decode_tok_s);
    fputs(", \"weight_bytes_per_token\": ", out), json_num(out, st->weight_bytes_per_token);
    fprintf(out, ", \"output_bytes_per_pass\": %llu",
            (unsigned long long)r->kernels_run.output_bytes);
    fputs(", \"kv_bytes_per_token\": ", out), json_num(out, st->kv_bytes_per_token);
    fputs(", \"flops_per_token\": ", out), json_num(out, st->flops_per_token);
    fputs(", \"arithmetic_intensity\": ", out), json_num(out, intensity(st));
    fputs(", \"achieved_gb_s\": ", out), json_num(out, st->achieved_gb_s);
    fputs(", \"peak_gb_s\": ", out), json_num(out, st->peak_gb_s > 0 ? st->peak_gb_s : NAN);
    fputs(", \"pct_of_peak\": ", out), json_num(out, st->pct_of_peak >= 0 ? st->pct_of_peak : NAN);
    fprintf(out, ", \"fits_in_cache\": %s, \"llc_bytes\": %llu",
            st->fits_in_cache ? "true" : "false", (unsigned long long)st->llc_bytes);
    fputs(", \"t_prompt_s\": ", out), json_num(out, st->t_prompt_s);
    fputs(", \"t_decode_s\": ", out), json_num(out, st->t_decode_s);
    fputs(", \"t_matmul_s\": ", out), json_num(out, st->t_matmul_prompt_s + st->t_matmul_decode_s);
    fputs(", \"t_attention_s\": ", out),
        json_num(out, st->t_attention_prompt_s + st->t_attention_decode_s);
    fputs(", \"t_sampling_s\": ", out), json_num(out, st->t_decode_s - st->t_forward_decode_s);
    if (more) more(out, user);
    fputs("}\n", out);
}
