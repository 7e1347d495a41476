/* cmd_bench.c - scarce bench: prefill and decode speed with llama-bench's habits: one row per
 * model x threads x test (ppN = one batched forward of N tokens, tgN = N single-token decode
 * steps), random token ids, one warm-up run not counted, mean +/- stddev over repetitions;
 * plus what each token cost in weight bytes and the bandwidth that achieved. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <time.h>

#include "../include/scarce.h"
#include "api_setup.h"
#include "bench_rows.h"
#include "bench_spec.h"
#include "roofline_svg.h"
#include "cli.h"
#include "summary.h"

enum { MAX_LIST = 16 };

static void usage(FILE *out) {
    fprintf(out,
            "usage: scarce bench -m FILE[,FILE...] [options]\n"
            "  -m FILES     GGUF models, comma-separated\n"
            "  -p N         prompt test ppN: one batched forward of N tokens (default 128, 0 = off)\n"
            "  -n N         generation test tgN: N single-token steps (default 64, 0 = off)\n"
            "  -t LIST      thread counts, comma-separated (default 1,2)\n"
            "  -r R         timed repetitions after one warm-up (default 5)\n"
            "  -o FORMAT    md (default), csv or json\n"
            "  --svg FILE   also draw the roofline: every row against the memory and compute\n"
            "               roofs of this machine (docs/bandwidth.md)\n"
            "Token ids are random (no tokenizer; --draft starts from 8 of them).\n"
            "GB/s = (weight + KV bytes/token) x tok/s;\n"
            "%% of peak needs scarce membw to have run once.\n");
    bench_spec_cli_usage(out);
}

/* splitmix64: reproducible random token ids */
uint64_t bench_next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Seconds of one test run from an empty context: prompt (one pass over n tokens) or
 * generation (n passes of one token); 0 ok or a status. */
static int run_test(scarce_context *ctx, const int32_t *ids, int n, int is_prompt, double *t) {
    const float *logits;
    int rc = scarce_context_reset(ctx);
    const double t0 = now_s();
    if (is_prompt) {
        if (!rc) rc = scarce_eval(ctx, ids, n, 0, &logits);
    } else {
        for (int i = 0; i < n && !rc; i++) rc = scarce_eval(ctx, ids + i, 1, 0, &logits);
    }
    *t = now_s() - t0;
    return rc;
}

/* One warm-up, then reps timed runs: tok/s mean and stddev, and per token what the runs
 * read (each run's counters start at its reset: scarce_context_stats sums them). */
static int bench_test(scarce_context *ctx, const int32_t *ids, int n, int is_prompt, int reps,
                      bench_result *row, scarce_stats *last) {
    double t, sum = 0, sq = 0, weight = 0, kv = 0, flops = 0, threads = 0;
    int rc = run_test(ctx, ids, n, is_prompt, &t); /* warm-up */
    for (int r = 0; r < reps && !rc; r++) {
        if ((rc = run_test(ctx, ids, n, is_prompt, &t))) break;
        const double tok_s = n / (t > 0 ? t : 1e-9);
        sum += tok_s, sq += tok_s * tok_s;
        /* eval alone: the whole run is the context's "prompt" phase */
        scarce_context_stats(ctx, last);
        weight += last->weight_bytes_per_token, kv += last->kv_bytes_per_token;
        flops += last->flops_per_token, threads += last->threads_prefill;
    }
    if (rc) return rc;
    row->tok_s = sum / reps;
    const double var = reps > 1 ? (sq - sum * sum / reps) / (reps - 1) : 0;
    row->tok_s_sd = var > 0 ? sqrt(var) : 0;
    /* every run reads the same n tokens: the mean of the runs' per-token figures is the
     * total over the runs per token */
    row->weight_bytes_per_token = weight / reps, row->kv_bytes_per_token = kv / reps;
    row->flops_per_token = flops / reps, row->threads_used = threads / reps;
    row->gb_s = (row->weight_bytes_per_token + row->kv_bytes_per_token) * row->tok_s / 1e9;
    snprintf(row->test, sizeof row->test, "%s%d", is_prompt ? "pp" : "tg", n);
    return SCARCE_OK;
}

/* The fields of a row that describe the model and how it runs. */
static void describe_row(scarce_model *m, const char *path, int n_threads, bench_result *row) {
    memset(row, 0, sizeof *row);
    snprintf(row->model, sizeof row->model, "%s", path);
    snprintf(row->type, sizeof row->type, "%s", scarce_model_type(m));
    row->model_bytes = scarce_model_weight_bytes(m);
    row->threads = n_threads;
    scarce_model_get_params(m, &row->kernels);
    row->kernels_run.size = sizeof row->kernels_run;
    scarce_model_kernels_run(m, &row->kernels_run);
    scarce_moe_info moe = {.size = sizeof moe};
    if (scarce_model_moe_info(m, &moe) == SCARCE_OK)
        row->active_bytes_per_token = (double)moe.active_bytes_per_token,
        row->total_weight_bytes = (double)row->model_bytes;
}

int bench_model(const char *path, int n_threads, int n_prompt, int n_gen, int reps,
                bench_result *rows, int *n_rows, char *msg) {
    *n_rows = 0;
    const scarce_model_params mp = api_setup_model_params(n_threads);
    scarce_model *m;
    if (scarce_model_open(path, &mp, &m, msg, 512)) return -1;
    scarce_context *ctx = NULL;
    scarce_context_params cp = scarce_context_default_params();
    const int n_max = n_prompt > n_gen ? n_prompt : n_gen;
    cp.n_ctx = n_max + 1;
    int32_t *ids = malloc((size_t)(n_max + 1) * sizeof *ids);
    int rc = !ids ? SCARCE_ERR_MEMORY : scarce_context_new(m, &cp, &ctx);
    if (rc) snprintf(msg, 512, "%s", ids ? scarce_model_error(m) : "out of memory");
    uint64_t seed = 1234;
    const uint64_t n_vocab = (uint64_t)scarce_model_n_vocab(m);
    for (int i = 0; !rc && i < n_max; i++) ids[i] = (int32_t)(bench_next_random(&seed) % n_vocab);
    const int tests[2][2] = {{n_prompt, 1}, {n_gen, 0}};
    for (int t = 0; t < 2 && !rc; t++) {
        if (tests[t][0] <= 0) continue;
        bench_result *row = &rows[*n_rows];
        describe_row(m, path, n_threads, row);
        scarce_stats st;
        if ((rc = bench_test(ctx, ids, tests[t][0], tests[t][1], reps, row, &st))) {
            snprintf(msg, 512, "%s", scarce_context_error(ctx));
            break;
        }
        /* as run's summary: no % of a DRAM peak for a model the last-level cache holds */
        row->fits_in_cache = st.fits_in_cache;
        row->peak_gb_s = st.peak_gb_s > 0 ? st.peak_gb_s : NAN;
        row->pct_of_peak = st.peak_gb_s > 0 && !st.fits_in_cache ? 100 * row->gb_s / st.peak_gb_s : -1;
        (*n_rows)++;
    }
    scarce_context_free(ctx);
    free(ids);
    scarce_model_close(m);
    return rc ? -1 : 0;
}

const char *path_base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* "fits in LLC", "42%" or "-": the % of peak column of one row */
static void pct_cell(const bench_result *r, char *out, size_t cap) {
    if (r->fits_in_cache) snprintf(out, cap, "fits in LLC");
    else if (r->pct_of_peak >= 0) snprintf(out, cap, "%.0f%%", r->pct_of_peak);
    else snprintf(out, cap, "-");
}

static void print_rows_md(const bench_result *rows, int n, const bench_spec_cli *sc) {
    int any_moe = 0, any_spec = 0;
    for (int i = 0; i < n; i++)
        any_moe |= rows[i].active_bytes_per_token > 0, any_spec |= rows[i].spec > 0;
    printf("| model | type | size | threads | test | t/s | weight MB/tok |%s GB/s | %% of peak |\n"
           "|---|---|---:|---:|---|---:|---:|%s---:|---:|\n",
           any_moe ? " MoE active/total MB |" : "", any_moe ? "---:|" : "");
    for (int i = 0; i < n; i++) {
        const bench_result *r = &rows[i];
        if (r->spec_extra) continue; /* the same tgN row with another draft */
        char pct[48], moe[64] = "";
        pct_cell(r, pct, sizeof pct);
        if (any_moe && r->active_bytes_per_token > 0)
            snprintf(moe, sizeof moe, " %.2f / %.2f |", r->active_bytes_per_token / 1e6,
                     r->total_weight_bytes / 1e6);
        else if (any_moe) snprintf(moe, sizeof moe, " - |");
        printf("| %s | %s | %.2f MiB | %d | %s | %.2f ± %.2f | %.3f |%s %.2f | %s |\n",
               path_base_name(r->model), r->type, r->model_bytes / 1048576.0, r->threads, r->test,
               r->tok_s, r->tok_s_sd, r->weight_bytes_per_token / 1e6, moe, r->gb_s, pct);
    }
    /* under the table, as llama-bench's "build:" line: the kernel code each model really
     * ran (an avx512 set runs avx2 code where a format has no AVX-512 kernel) and the CPU */
    scarce_machine cpu;
    scarce_machine_info(&cpu);
    for (int i = 0; i < n; i++) {
        if (i && !strcmp(rows[i].model, rows[i - 1].model)) continue;
        printf("%s%s ", i ? "" : "\n", path_base_name(rows[i].model));
        summary_kernels_line(stdout, &rows[i].kernels_run, &cpu);
    }
    if (any_spec) bench_spec_cli_md(sc);
}

/* One line per row; the MoE and speculative columns stay empty where they do not apply. */
static void print_rows_csv(const bench_result *rows, int n, const bench_spec_cli *sc) {
    printf("model,type,size_bytes,threads,test,tok_s,tok_s_sd,weight_bytes_per_token,"
           "kv_bytes_per_token,gb_s,pct_of_peak,moe_active_bytes_per_token,"
           "moe_total_weight_bytes,spec_source,spec_param,spec_n_draft,spec_plain_tok_s,"
           "spec_tok_s,spec_acceptance_rate,spec_speedup,spec_policy,spec_expected_speedup,"
           "verify_k1,verify_k2,verify_k4,verify_k8\n");
    for (int i = 0; i < n; i++) {
        const bench_result *r = &rows[i];
        char pct[48];
        pct_cell(r, pct, sizeof pct);
        printf("%s,%s,%zu,%d,%s,%.3f,%.3f,%.0f,%.0f,%.4f,%s,", r->model, r->type,
               r->model_bytes, r->threads, r->test, r->tok_s, r->tok_s_sd,
               r->weight_bytes_per_token, r->kv_bytes_per_token, r->gb_s,
               r->pct_of_peak >= 0 ? pct : "");
        if (r->active_bytes_per_token > 0)
            printf("%.0f,%.0f,", r->active_bytes_per_token, r->total_weight_bytes);
        else printf(",,");
        bench_spec_cli_csv(sc, stdout, r);
    }
}

static void print_rows_json(const bench_result *rows, int n, const bench_spec_cli *sc) {
    scarce_machine cpu;
    scarce_machine_info(&cpu);
    printf("[");
    for (int i = 0; i < n; i++) {
        const bench_result *r = &rows[i];
        printf("%s\n  {\"model\": ", i ? "," : "");
        json_str(stdout, r->model);
        printf(", \"type\": "), json_str(stdout, r->type);
        printf(", \"size_bytes\": %zu, \"threads\": %d, \"test\": ", r->model_bytes, r->threads);
        json_str(stdout, r->test);
        printf(", \"tok_s\": "), json_num(stdout, r->tok_s);
        printf(", \"tok_s_sd\": "), json_num(stdout, r->tok_s_sd);
        printf(", \"weight_bytes_per_token\": "), json_num(stdout, r->weight_bytes_per_token);
        printf(", \"kv_bytes_per_token\": "), json_num(stdout, r->kv_bytes_per_token);
        printf(", \"flops_per_token\": "), json_num(stdout, r->flops_per_token);
        printf(", \"gb_s\": "), json_num(stdout, r->gb_s);
        printf(", \"peak_gb_s\": "), json_num(stdout, r->peak_gb_s);
        printf(", \"pct_of_peak\": "), json_num(stdout, r->pct_of_peak >= 0 ? r->pct_of_peak : NAN);
        printf(", \"fits_in_cache\": %s", r->fits_in_cache ? "true" : "false");
        if (r->active_bytes_per_token > 0) {
            printf(", \"moe_active_bytes_per_token\": ");
            json_num(stdout, r->active_bytes_per_token);
            printf(", \"moe_total_weight_bytes\": "), json_num(stdout, r->total_weight_bytes);
        }
        bench_spec_cli_json(sc, stdout, r);
        printf(", \"kernels\": "), summary_params_json(stdout, &r->kernels);
        printf(", \"kernels_run\": "), summary_kernels_run_json(stdout, &r->kernels_run);
        printf(", \"threads_used\": "), json_num(stdout, r->threads_used);
        printf(", \"cpu_model\": "), json_str(stdout, cpu.cpu_name);
        printf("}");
    }
    printf("\n]\n");
}

typedef void (*rows_printer)(const bench_result *rows, int n, const bench_spec_cli *sc);

/* The printer of -o FORMAT, or NULL when there is none. */
static rows_printer printer_of(const char *format) {
    static const struct {
        const char *name;
        rows_printer print;
    } printers[] = {{"md", print_rows_md}, {"csv", print_rows_csv}, {"json", print_rows_json}};
    for (size_t i = 0; i < sizeof printers / sizeof printers[0]; i++)
        if (!strcmp(format, printers[i].name)) return printers[i].print;
    return NULL;
}

/* "a,b,c" -> items (the string is modified) */
static int split_list(char *s, char **items, int cap) {
    int n = 0;
    for (char *tok = strtok(s, ","); tok && n < cap; tok = strtok(NULL, ",")) items[n++] = tok;
    return n;
}

/* The rows of every model x thread count into rows[0..*n_rows); 0 or an exit code printed. */
static int bench_all(char **models, int n_models, const int *threads, int n_threads,
                     long n_prompt, long n_gen, long reps, bench_spec_cli *sc, bench_result *rows,
                     int *n_rows) {
    char msg[512];
    *n_rows = 0;
    for (int mi = 0; mi < n_models; mi++)
        for (int t = 0; t < n_threads; t++) {
            int added;
            if (bench_model(models[mi], threads[t], (int)n_prompt, (int)n_gen, (int)reps,
                            rows + *n_rows, &added, msg))
                return cli_error("bench", EXIT_RUNTIME, "%s", msg);
            *n_rows += added;
            const int per_tg = bench_spec_cli_rows_per_tg(sc);
            if (!per_tg) continue;
            if (bench_spec_cli_rows(sc, models[mi], threads[t], (int)n_gen, &rows[*n_rows - 1],
                                    msg))
                return cli_error("bench", EXIT_RUNTIME, "%s --draft: %s", models[mi], msg);
            *n_rows += per_tg - 1;
        }
    return EXIT_OK;
}

/* The options after -h; 0, or an exit code (-1: -h printed). */
typedef struct {
    char *model_list, *thread_list;
    const char *format, *svg_path;
    long n_prompt, n_gen, reps;
} bench_args;

static int parse_args(int argc, char **argv, bench_args *a, bench_spec_cli *sc) {
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) return usage(stdout), -1;
        const int sp = bench_spec_cli_parse(sc, argc, argv, &i);
        if (sp < 0) return EXIT_USAGE;
        if (sp > 0) continue;
        if (!(v = cli_value("bench", argc, argv, &i))) return EXIT_USAGE;
        if (!strcmp(f, "-m")) a->model_list = argv[i];
        else if (!strcmp(f, "-t")) a->thread_list = argv[i];
        else if (!strcmp(f, "-o")) a->format = v;
        else if (!strcmp(f, "--svg")) a->svg_path = v;
        else if (!strcmp(f, "-p")) { if (cli_int("bench", f, v, 0, 1 << 16, &a->n_prompt)) return EXIT_USAGE; }
        else if (!strcmp(f, "-n")) { if (cli_int("bench", f, v, 0, 1 << 16, &a->n_gen)) return EXIT_USAGE; }
        else if (!strcmp(f, "-r")) { if (cli_int("bench", f, v, 1, 1000, &a->reps)) return EXIT_USAGE; }
        else return cli_error("bench", EXIT_USAGE, "unknown option %s (see scarce bench -h)", f);
    }
    if (!a->model_list) return cli_error("bench", EXIT_USAGE, "-m FILE[,FILE...] is required");
    if (!printer_of(a->format))
        return cli_error("bench", EXIT_USAGE, "-o expects md, csv or json, got '%s'", a->format);
    if (!a->n_prompt && !a->n_gen)
        return cli_error("bench", EXIT_USAGE, "-p 0 and -n 0: nothing to run");
    return bench_spec_cli_check(sc, a->n_gen);
}

static int bench_with(bench_spec_cli *sc, int argc, char **argv) {
    char *models[MAX_LIST], *thread_items[MAX_LIST], threads_default[] = "1,2";
    bench_args a = {.thread_list = threads_default, .format = "md", .n_prompt = 128,
                    .n_gen = 64, .reps = 5};
    const int parsed = parse_args(argc, argv, &a, sc);
    if (parsed) return parsed < 0 ? EXIT_OK : parsed;
    const int n_models = split_list(a.model_list, models, MAX_LIST);
    const int n_threads = split_list(a.thread_list, thread_items, MAX_LIST);
    int threads[MAX_LIST];
    for (int t = 0; t < n_threads; t++) {
        long v;
        if (cli_int("bench", "-t", thread_items[t], 1, 1024, &v)) return EXIT_USAGE;
        threads[t] = (int)v;
    }
    /* ppN, tgN and a copy of tgN for each further draft */
    const int per_tg = bench_spec_cli_rows_per_tg(sc);
    const int per_run = 2 + (per_tg > 1 ? per_tg - 1 : 0);
    bench_result *rows = calloc((size_t)(per_run * n_models * n_threads), sizeof *rows);
    if (!rows) return cli_error("bench", EXIT_RUNTIME, "out of memory");
    int n_rows;
    int rc = bench_all(models, n_models, threads, n_threads, a.n_prompt, a.n_gen, a.reps, sc,
                       rows, &n_rows);
    if (rc == EXIT_OK) printer_of(a.format)(rows, n_rows, sc);
    char msg[512];
    if (rc == EXIT_OK && a.svg_path && bench_roofline_svg(a.svg_path, rows, n_rows, msg))
        rc = cli_error("bench", EXIT_RUNTIME, "%s", msg);
    free(rows);
    return rc;
}

int cmd_bench(int argc, char **argv) {
    bench_spec_cli *sc = bench_spec_cli_new();
    if (!sc) return cli_error("bench", EXIT_RUNTIME, "out of memory");
    const int rc = bench_with(sc, argc, argv);
    bench_spec_cli_free(sc);
    return rc;
}
