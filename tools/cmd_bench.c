/* cmd_bench.c - scarce bench: prefill and decode speed with llama-bench's habits: one row per
 * model x threads x test (ppN = one batched forward of N tokens, tgN = N single-token decode
 * steps), random token ids, one warm-up run not counted, mean +/- stddev over repetitions;
 * plus what each token cost in weight bytes and the bandwidth that achieved. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/forward.h"
#include "../engine/machine.h"
#include "../engine/moe.h"
#include "../engine/speculative.h"
#include "cli.h"
#include "kernel_setup.h"
#include "report.h"
#include "roofline.h"

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
            "  --draft N    also time speculative decoding of the tgN tokens (greedy, N drafted\n"
            "               per target pass, adaptive 1..N) against plain decoding, with one of:\n"
            "  -md FILE     draft model;  --lookup N  n-gram lookup;  --draft-layers L  self-draft\n"
            "Token ids are random (no tokenizer; --draft starts from 8 of them).\n"
            "GB/s = (weight + KV bytes/token) x tok/s;\n"
            "%% of peak needs scarce membw to have run once.\n");
}

/* splitmix64: reproducible random token ids */
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Seconds of one test run from an empty cache: prompt (one forward of n tokens) or
 * generation (n forwards of one token). */
static double run_test(session *s, const int *ids, int n, int is_prompt, scarce_error *err) {
    kvcache_truncate(&s->cache, 0);
    const double t0 = now_seconds();
    if (is_prompt) {
        if (!forward(s, ids, n, 0, err)) return -1;
    } else {
        for (int i = 0; i < n; i++)
            if (!forward(s, ids + i, 1, 0, err)) return -1;
    }
    return now_seconds() - t0;
}

static int bench_test(session *s, const int *ids, int n, int is_prompt, int reps, bench_row *row,
                      scarce_error *err) {
    if (run_test(s, ids, n, is_prompt, err) < 0) return -1; /* warm-up */
    double sum = 0, sq = 0;
    const run_stats before = s->stats;
    for (int r = 0; r < reps; r++) {
        const double t = run_test(s, ids, n, is_prompt, err);
        if (t < 0) return -1;
        const double tok_s = n / (t > 0 ? t : 1e-9);
        sum += tok_s, sq += tok_s * tok_s;
    }
    const run_stats d = stats_delta(&s->stats, &before);
    row->tok_s = sum / reps;
    const double var = reps > 1 ? (sq - sum * sum / reps) / (reps - 1) : 0;
    row->tok_s_sd = var > 0 ? sqrt(var) : 0;
    row->weight_bytes_per_token = (double)d.weight_bytes / d.tokens;
    row->kv_bytes_per_token = (double)d.kv_bytes / d.tokens;
    row->flops_per_token = (double)d.flops / d.tokens;
    row->gb_s = (row->weight_bytes_per_token + row->kv_bytes_per_token) * row->tok_s / 1e9;
    snprintf(row->test, sizeof row->test, "%s%d", is_prompt ? "pp" : "tg", n);
    return 0;
}

int bench_model(const char *path, int n_threads, int n_prompt, int n_gen, int reps,
                bench_row *rows, int *n_rows, scarce_error *err) {
    *n_rows = 0;
    const model_options opts = kernel_setup_options(n_threads);
    model *m = model_load(path, &opts, err);
    if (!m) return -1;
    session s;
    const int n_max = n_prompt > n_gen ? n_prompt : n_gen;
    int *ids = malloc((size_t)(n_max + 1) * sizeof *ids), rc = -1;
    if (!ids || session_init(&s, m, n_max + 1, err)) {
        if (!ids) scarce_fail(err, "out of memory");
        free(ids);
        model_free(m);
        return -1;
    }
    uint64_t seed = 1234;
    for (int i = 0; i < n_max; i++) ids[i] = (int)(next_random(&seed) % (uint64_t)m->cfg.n_vocab);
    const int tests[2][2] = {{n_prompt, 1}, {n_gen, 0}};
    for (int t = 0; t < 2; t++) {
        if (tests[t][0] <= 0) continue;
        bench_row *row = &rows[*n_rows];
        memset(row, 0, sizeof *row);
        snprintf(row->model, sizeof row->model, "%s", path);
        snprintf(row->type, sizeof row->type, "%s", model_type_name(m->file));
        row->model_bytes = model_weight_bytes(m);
        row->threads = n_threads;
        row->kernels = *model_kernel_config(m);
        if (m->cfg.n_expert) row->active_bytes_per_token = (double)moe_active_bytes(m),
                             row->total_weight_bytes = (double)row->model_bytes;
        if (bench_test(&s, ids, tests[t][0], tests[t][1], reps, row, err)) goto done;
        const peak_context p = report_peak(row->gb_s, row->model_bytes);
        row->pct_of_peak = p.pct, row->fits_in_cache = p.fits_in_cache;
        row->peak_gb_s = p.have_peak ? p.peak_gb_s : NAN;
        (*n_rows)++;
    }
    rc = 0;
done:
    session_free(&s);
    free(ids);
    model_free(m);
    return rc;
}

/* ---- speculative decoding (--draft) ----------------------------------------------------- */

typedef struct {
    spec_params p;
    spec_summary sum;   /* source, param, n_draft */
    const char *draft_path;
    model *draft;       /* SPEC_MODEL */
} bench_spec;

/* Plain vs speculative decoding of n_gen greedy tokens after 8 random ids (spec_bench),
 * added to the tgN row. */
static int bench_spec_row(const char *path, int n_threads, int n_gen, const bench_spec *bs,
                          bench_row *row, scarce_error *err) {
    const model_options opts = kernel_setup_options(n_threads);
    model *m = model_load(path, &opts, err);
    if (!m) return -1;
    int prompt[8], rc = -1;
    uint64_t seed = 1234;
    for (int i = 0; i < 8; i++) prompt[i] = (int)(next_random(&seed) % (uint64_t)m->cfg.n_vocab);
    if (bs->draft && spec_check_vocab(m, bs->draft, err)) goto done;
    if (bs->draft && model_set_threads(bs->draft, n_threads, err)) goto done;
    const sampler_params greedy = {.temp = 0, .top_p = 1, .seed = 1};
    spec_bench_result r;
    if (spec_bench(m, bs->draft, &bs->p, &greedy, prompt, 8, n_gen, 8 + n_gen, &r, err)) goto done;
    row->has_spec = 1;
    row->spec = bs->sum;
    row->spec.stats = r.stats;
    row->spec.tok_s_plain = r.tok_s_plain, row->spec.tok_s_spec = r.tok_s_spec;
    rc = 0;
done:
    model_free(m);
    return rc;
}

/* -md / --lookup / --draft-layers / --draft: 1 consumed, 0 not ours, -1 error printed */
static int parse_spec(int argc, char **argv, int *i, bench_spec *bs, int *n_sources) {
    const char *f = argv[*i], *v;
    if (strcmp(f, "-md") && strcmp(f, "--lookup") && strcmp(f, "--draft-layers") &&
        strcmp(f, "--draft"))
        return 0;
    if (!(v = cli_value("bench", argc, argv, i))) return -1;
    long n;
    if (!strcmp(f, "-md")) {
        bs->draft_path = v, bs->p.source = SPEC_MODEL, bs->sum.source = "model", bs->sum.draft = v;
        return ++*n_sources, 1;
    }
    if (cli_int("bench", f, v, 1, !strcmp(f, "--draft") ? SPEC_MAX_DRAFT : 1 << 20, &n)) return -1;
    if (!strcmp(f, "--draft")) bs->p.n_draft = bs->p.n_draft_max = bs->sum.n_draft = (int)n;
    else if (!strcmp(f, "--lookup"))
        bs->p.source = SPEC_LOOKUP, bs->p.lookup_n = (int)n, bs->sum.source = "lookup";
    else
        bs->p.source = SPEC_LAYERS, bs->p.draft_layers = (int)n, bs->sum.source = "layers";
    if (strcmp(f, "--draft")) bs->sum.param = n, ++*n_sources;
    return 1;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static double accept_rate(const spec_stats *st) {
    return st->drafted ? (double)st->accepted / st->drafted : NAN;
}

/* md: a second table, one line per row that ran --draft */
static void print_spec_md(const bench_row *rows, int n) {
    printf("\n| model | threads | draft | n_draft | plain t/s | speculative t/s | accepted | "
           "tokens/pass | speed-up |\n|---|---:|---|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        if (!r->has_spec) continue;
        const spec_stats *st = &r->spec.stats;
        char src[300], acc[32] = "-";
        if (st->drafted) snprintf(acc, sizeof acc, "%.1f%%", 100 * accept_rate(st));
        if (r->spec.draft) snprintf(src, sizeof src, "model %s", base_name(r->spec.draft));
        else snprintf(src, sizeof src, "%s %ld", r->spec.source, r->spec.param);
        printf("| %s | %d | %s | %d | %.2f | %.2f | %s | %.2f | %.2fx |\n", base_name(r->model),
               r->threads, src, r->spec.n_draft, r->spec.tok_s_plain, r->spec.tok_s_spec, acc,
               st->passes ? (double)st->emitted / st->passes : 0.0,
               r->spec.tok_s_spec / r->spec.tok_s_plain);
    }
}

/* "fits in LLC", "42%" or "-": the % of peak column of one row */
static void pct_cell(const bench_row *r, char *out, size_t cap) {
    if (r->fits_in_cache) snprintf(out, cap, "fits in LLC");
    else if (r->pct_of_peak >= 0) snprintf(out, cap, "%.0f%%", r->pct_of_peak);
    else snprintf(out, cap, "-");
}

static void print_rows_md(const bench_row *rows, int n) {
    int any_moe = 0, any_spec = 0;
    for (int i = 0; i < n; i++)
        any_moe |= rows[i].active_bytes_per_token > 0, any_spec |= rows[i].has_spec;
    printf("| model | type | size | threads | test | t/s | weight MB/tok |%s GB/s | %% of peak |\n"
           "|---|---|---:|---:|---|---:|---:|%s---:|---:|\n",
           any_moe ? " MoE active/total MB |" : "", any_moe ? "---:|" : "");
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        char pct[48], moe[64] = "";
        pct_cell(r, pct, sizeof pct);
        if (any_moe && r->active_bytes_per_token > 0)
            snprintf(moe, sizeof moe, " %.2f / %.2f |", r->active_bytes_per_token / 1e6,
                     r->total_weight_bytes / 1e6);
        else if (any_moe) snprintf(moe, sizeof moe, " - |");
        printf("| %s | %s | %.2f MiB | %d | %s | %.2f ± %.2f | %.3f |%s %.2f | %s |\n",
               base_name(r->model), r->type, r->model_bytes / 1048576.0, r->threads, r->test,
               r->tok_s, r->tok_s_sd, r->weight_bytes_per_token / 1e6, moe, r->gb_s, pct);
    }
    if (any_spec) print_spec_md(rows, n);
}

/* One line per row; the MoE and speculative columns stay empty where they do not apply. */
static void print_rows_csv(const bench_row *rows, int n) {
    printf("model,type,size_bytes,threads,test,tok_s,tok_s_sd,weight_bytes_per_token,"
           "kv_bytes_per_token,gb_s,pct_of_peak,moe_active_bytes_per_token,"
           "moe_total_weight_bytes,spec_source,spec_param,spec_n_draft,spec_plain_tok_s,"
           "spec_tok_s,spec_acceptance_rate,spec_speedup\n");
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        char pct[48];
        pct_cell(r, pct, sizeof pct);
        printf("%s,%s,%zu,%d,%s,%.3f,%.3f,%.0f,%.0f,%.4f,%s,", r->model, r->type,
               r->model_bytes, r->threads, r->test, r->tok_s, r->tok_s_sd,
               r->weight_bytes_per_token, r->kv_bytes_per_token, r->gb_s,
               r->pct_of_peak >= 0 ? pct : "");
        if (r->active_bytes_per_token > 0)
            printf("%.0f,%.0f,", r->active_bytes_per_token, r->total_weight_bytes);
        else printf(",,");
        if (r->has_spec) {
            const spec_summary *sp = &r->spec;
            printf("%s,%ld,%d,%.3f,%.3f,", sp->draft ? sp->draft : sp->source, sp->param,
                   sp->n_draft, sp->tok_s_plain, sp->tok_s_spec);
            if (sp->stats.drafted) printf("%.4f", accept_rate(&sp->stats));
            printf(",%.4f\n", sp->tok_s_spec / sp->tok_s_plain);
        } else {
            printf(",,,,,,\n");
        }
    }
}

static void print_rows_json(const bench_row *rows, int n) {
    printf("[");
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
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
        if (r->has_spec) printf(", "), report_spec_json(stdout, &r->spec);
        printf(", \"kernels\": "), kernel_config_json(stdout, &r->kernels);
        printf("}");
    }
    printf("\n]\n");
}

typedef void (*rows_printer)(const bench_row *rows, int n);

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

int cmd_bench(int argc, char **argv) {
    char *models[MAX_LIST], *thread_items[MAX_LIST], threads_default[] = "1,2";
    char *model_list = NULL, *thread_list = threads_default;
    const char *format = "md", *svg_path = NULL;
    long n_prompt = 128, n_gen = 64, reps = 5;
    bench_spec bs = {.p = {.n_draft = 5, .n_draft_min = 1, .n_draft_max = 5},
                     .sum = {.n_draft = 5, .tok_s_plain = NAN, .tok_s_spec = NAN}};
    int n_sources = 0, want_spec = 0;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) return usage(stdout), EXIT_OK;
        const int sp = parse_spec(argc, argv, &i, &bs, &n_sources);
        if (sp < 0) return EXIT_USAGE;
        if (sp > 0) { want_spec = 1; continue; }
        if (!(v = cli_value("bench", argc, argv, &i))) return EXIT_USAGE;
        if (!strcmp(f, "-m")) model_list = argv[i];
        else if (!strcmp(f, "-t")) thread_list = argv[i];
        else if (!strcmp(f, "-o")) format = v;
        else if (!strcmp(f, "--svg")) svg_path = v;
        else if (!strcmp(f, "-p")) { if (cli_int("bench", f, v, 0, 1 << 16, &n_prompt)) return EXIT_USAGE; }
        else if (!strcmp(f, "-n")) { if (cli_int("bench", f, v, 0, 1 << 16, &n_gen)) return EXIT_USAGE; }
        else if (!strcmp(f, "-r")) { if (cli_int("bench", f, v, 1, 1000, &reps)) return EXIT_USAGE; }
        else return cli_error("bench", EXIT_USAGE, "unknown option %s (see scarce bench -h)", f);
    }
    if (!model_list) return cli_error("bench", EXIT_USAGE, "-m FILE[,FILE...] is required");
    const rows_printer print_rows = printer_of(format);
    if (!print_rows)
        return cli_error("bench", EXIT_USAGE, "-o expects md, csv or json, got '%s'", format);
    if (!n_prompt && !n_gen) return cli_error("bench", EXIT_USAGE, "-p 0 and -n 0: nothing to run");
    if (want_spec && n_sources != 1)
        return cli_error("bench", EXIT_USAGE,
                         "--draft needs exactly one of -md, --lookup, --draft-layers");
    if (want_spec && !n_gen)
        return cli_error("bench", EXIT_USAGE, "--draft times the tgN test, and -n is 0");
    const int n_models = split_list(model_list, models, MAX_LIST);
    const int n_threads = split_list(thread_list, thread_items, MAX_LIST);
    int threads[MAX_LIST];
    for (int t = 0; t < n_threads; t++) {
        long v;
        if (cli_int("bench", "-t", thread_items[t], 1, 1024, &v)) return EXIT_USAGE;
        threads[t] = (int)v;
    }
    bench_row *rows = calloc((size_t)(2 * n_models * n_threads), sizeof *rows);
    if (!rows) return cli_error("bench", EXIT_RUNTIME, "out of memory");
    int n_rows = 0, rc = EXIT_OK;
    scarce_error err = {0};
    const model_options draft_opts = kernel_setup_options(threads[0]);
    if (bs.draft_path && !(bs.draft = model_load(bs.draft_path, &draft_opts, &err))) {
        free(rows);
        return cli_error("bench", EXIT_RUNTIME, "%s", err.msg);
    }
    for (int mi = 0; mi < n_models && rc == EXIT_OK; mi++)
        for (int t = 0; t < n_threads; t++) {
            int added;
            if (bench_model(models[mi], threads[t], (int)n_prompt, (int)n_gen, (int)reps,
                            rows + n_rows, &added, &err)) {
                rc = cli_error("bench", EXIT_RUNTIME, "%s", err.msg);
                break;
            }
            n_rows += added;
            if (want_spec && bench_spec_row(models[mi], threads[t], (int)n_gen, &bs,
                                            &rows[n_rows - 1], &err)) {
                rc = cli_error("bench", EXIT_RUNTIME, "%s --draft: %s", models[mi], err.msg);
                break;
            }
        }
    if (rc == EXIT_OK) print_rows(rows, n_rows);
    if (rc == EXIT_OK && svg_path && roofline_write_bench(svg_path, rows, n_rows, &err))
        rc = cli_error("bench", EXIT_RUNTIME, "%s", err.msg);
    model_free(bs.draft);
    free(rows);
    return rc;
}
