/* cmd_run.c - scarce run: load a model, encode the prompt, prefill it in batches, then
 * decode token by token, streaming the text to stdout. Statistics go to stderr. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gen.h"
#include "report.h"
#include "moe_report.h"
#include "roofline.h"
#include "run_spec.h"

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) { interrupted = sig; }

static void usage(FILE *out) {
    fprintf(out, "usage: scarce run -m FILE [options]\n"
                 "  -p TEXT        prompt (default: start from BOS alone)\n"
                 "  --moe-stats    MoE models: per-layer expert choice counts, balance, reuse\n"
                 "  --trace-moe    MoE models: per token, each layer's experts and gate weights\n"
                 "  --json         summary as one JSON object on stdout (the text goes to stderr)\n"
                 "  --svg FILE     the roofline: this run against the machine's limits\n");
    gen_opts_usage(out);
    run_spec_usage(out);
    fprintf(out, "Text goes to stdout; the summary (tokens, tok/s) to stderr.\n");
}

typedef struct {
    gen_opts gen;
    const char *prompt;
    run_spec_args spec; /* -md / --lookup / --draft-layers: tools/run_spec.c */
    int moe_stats, trace_moe; /* tools/moe_report.c */
    int json; /* summary as JSON on stdout, generated text on stderr (tools/report.c) */
    const char *svg; /* --svg FILE: the roofline (tools/roofline.c) */
} run_args;

/* 0 ok, 1 = -h printed, -1 usage error printed */
static int parse_args(int argc, char **argv, run_args *a) {
    memset(a, 0, sizeof *a);
    gen_opts_default(&a->gen);
    for (int i = 1; i < argc; i++) {
        int r = gen_opts_parse("run", argc, argv, &i, &a->gen);
        if (!r) r = run_spec_parse(argc, argv, &i, &a->spec);
        if (r < 0) return -1;
        if (r > 0) continue;
        const char *f = argv[i];
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(f, "--json")) {
            a->json = 1;
        } else if (!strcmp(f, "--moe-stats")) {
            a->moe_stats = 1;
        } else if (!strcmp(f, "--trace-moe")) {
            a->trace_moe = 1;
        } else if (!strcmp(f, "--svg")) {
            if (!(a->svg = cli_value("run", argc, argv, &i))) return -1;
        } else if (!strcmp(f, "-p")) {
            if (!(a->prompt = cli_value("run", argc, argv, &i))) return -1;
        } else {
            cli_error("run", EXIT_USAGE, "unknown option %s (see scarce run -h)", f);
            return -1;
        }
    }
    return gen_opts_finish("run", &a->gen);
}

/* --svg: 0, or EXIT_RUNTIME with the error printed */
static int write_svg(const run_args *a, const run_summary *sum) {
    scarce_error err = {0};
    if (!a->svg || !roofline_write_run(a->svg, sum, &err)) return 0;
    return cli_error("run", EXIT_RUNTIME, "%s", err.msg);
}

/* The run summary (stderr) and, with --json, the same as one JSON object (stdout); with
 * --svg the roofline. Returns 0 or the exit code of a failed --svg. */
static int print_summary(const gen_ctx *g, const run_args *a, run_summary *sum) {
    const gen_opts *o = &a->gen;
    sum->model_path = o->model_path, sum->type_name = model_type_name(g->m->file);
    sum->kernels = model_kernel_config(g->m);
    sum->isa = kernels_isa_name(sum->kernels->isa), sum->threads = sum->kernels->threads;
    sum->model_bytes = model_weight_bytes(g->m);
    sum->output_bytes = (size_t)g->m->output.rows * g->m->output.row_bytes;
    sum->n_vocab = g->m->cfg.n_vocab;
    kernels_run kr;
    report_kernels_run(g->m, &kr);
    sum->kernels_run = &kr;
    moe_summary moe;
    if (g->m->cfg.n_expert) moe = report_moe_summary(g->m, a->moe_stats ? g->s.moe : NULL),
                            sum->moe = &moe;
    report_run_text(stderr, sum);
    if (sum->spec) report_spec_text(stderr, sum->spec);
    if (g->m->cfg.n_expert) moe_report_bytes(stderr, g->m, &sum->decode);
    if (a->moe_stats && g->s.moe) moe_report_stats(stderr, g->s.moe);
    if (a->json) report_run_json(stdout, sum);
    return write_svg(a, sum);
}

static int summarize_plain(const gen_ctx *g, const gen_result *r, const run_args *a) {
    fprintf(stderr, "\nstopped: %s\n", r->stop);
    /* a one-token prompt is a one-token pass: counted (and timed) with the decode steps */
    const int one = r->n_prompt == 1;
    run_summary sum = {.prompt = stats_batched_part(&g->s.stats),
                       .decode = stats_decode_part(&g->s.stats),
                       .t_prompt = one ? 0 : r->t_prompt,
                       .t_decode = r->t_gen + (one ? r->t_prompt : 0)};
    return print_summary(g, a, &sum);
}

static int summarize_spec(const gen_ctx *g, const run_spec_result *r, const run_args *a) {
    fprintf(stderr, "\nstopped: %s\n", r->stop);
    run_summary sum = {.prompt = r->prompt, .decode = r->decode, .t_prompt = r->t_prompt,
                       .t_decode = r->t_decode, .spec = &r->spec};
    return print_summary(g, a, &sum);
}

static void trace_moe(void *user, const gen_ctx *g, int prev, int token) {
    (void)user;
    moe_report_trace(stderr, g->tok, prev, token, g->s.moe);
}

int cmd_run(int argc, char **argv) {
    run_args a;
    int p = parse_args(argc, argv, &a);
    if (p) return p > 0 ? EXIT_OK : EXIT_USAGE;
    scarce_error err = {0};
    gen_ctx g;
    if (gen_ctx_open(&g, &a.gen, &err)) return cli_error("run", EXIT_RUNTIME, "%s", err.msg);
    int rc = EXIT_RUNTIME;
    if (a.moe_stats || a.trace_moe) g.s.moe = moe_stats_new(g.m); /* NULL for dense models */
    if (a.trace_moe && g.s.moe) g.on_token = trace_moe;
    FILE *text = a.json ? stderr : stdout;
    const char *prompt = a.prompt ? a.prompt : "";
    size_t max_ids = tokenizer_max_ids(strlen(prompt));
    int *ids = malloc(max_ids * sizeof(int));
    /* with no prompt, generation starts from BOS alone */
    int n = ids ? tokenizer_encode(g.tok, prompt, tokenizer_add_bos(g.tok) || !*prompt, ids,
                                   (int)max_ids, &err)
                : -1;
    if (n <= 0) {
        cli_error("run", EXIT_RUNTIME, "prompt: %s",
                  n == 0 ? "empty, and the vocabulary has no BOS to start from" : err.msg);
        goto done;
    }
    if (n > g.n_ctx) {
        cli_error("run", EXIT_RUNTIME, "prompt is %d tokens, longer than the context of %d (-c)",
                  n, g.n_ctx);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        char piece[256];
        int len = tokenizer_piece(g.tok, i ? ids[i - 1] : -1, ids[i], piece, sizeof piece);
        fwrite(piece, 1, (size_t)len, text);
    }
    fflush(text);
    signal(SIGINT, on_sigint);
    if (a.spec.enabled) {
        run_spec_result sr;
        rc = run_spec(&a.spec, g.m, g.tok, &g.s, &g.smp, ids, n, a.gen.n_predict, text,
                      &interrupted, &sr);
        if ((rc == EXIT_OK || (rc == EXIT_RUNTIME && interrupted)) && summarize_spec(&g, &sr, &a))
            rc = EXIT_RUNTIME;
        goto done;
    }
    gen_result res;
    if (gen_stream(&g, ids, n, a.gen.n_predict, -1, text, &interrupted, &res, &err)) {
        cli_error("run", EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    fputc('\n', text);
    fflush(text);
    rc = summarize_plain(&g, &res, &a) || interrupted ? EXIT_RUNTIME : EXIT_OK;
done:
    free(ids);
    moe_stats_free(g.s.moe);
    gen_ctx_close(&g);
    return rc;
}
