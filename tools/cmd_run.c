/* cmd_run.c - scarce run: load a model, encode the prompt, prefill it in batches, then
 * decode token by token, streaming the text to stdout. Statistics go to stderr. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/scarce.h"
#include "cli.h"
#include "gen.h"
#include "moe_report.h"
#include "run_report.h"
#include "roofline_svg.h"
#include "run_spec.h"

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
    interrupted = sig;
}

static void usage(FILE *out) {
    fprintf(out, "usage: scarce run -m FILE [options]\n"
                 "  -p TEXT        prompt (default: start from BOS alone)\n"
                 "  --moe-stats    MoE models: per-layer expert choice counts, balance, reuse\n"
                 "  --trace-moe    MoE models: per token, each layer's experts and gate weights\n"
                 "  --json         summary as one JSON object on stdout (the text goes to stderr)\n"
                 "  --svg FILE     the roofline: this run against the machine's limits\n");
    gen_opts_usage(out);
    run_spec_cli_usage(out);
    fprintf(out, "Text goes to stdout; the summary (tokens, tok/s) to stderr.\n");
}

typedef struct {
    gen_opts gen;
    const char *prompt;
    run_spec_cli *spec;       /* -md / --lookup / --draft-layers: tools/run_spec.c */
    int moe_stats, trace_moe; /* tools/moe_report.c */
    int json;        /* summary as JSON on stdout, generated text on stderr (tools/report.c) */
    const char *svg; /* --svg FILE: the roofline (tools/roofline.c) */
} run_args;

/* 0 ok, 1 = -h printed, -1 usage error printed */
static int parse_args(int argc, char **argv, run_args *a) {
    run_spec_cli *spec = a->spec;
    memset(a, 0, sizeof *a);
    a->spec = spec;
    gen_opts_default(&a->gen);
    for (int i = 1; i < argc; i++) {
        int r = gen_opts_parse("run", argc, argv, &i, &a->gen);
        if (!r) r = run_spec_cli_parse(a->spec, argc, argv, &i);
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
static int write_svg(const run_args *a, const run_report *r) {
    char msg[512];
    if (!a->svg || !run_roofline_svg(a->svg, r->type, r->params.n_threads, &r->st, msg)) return 0;
    return cli_error("run", EXIT_RUNTIME, "%s", msg);
}

typedef struct {
    const run_args *a;
    const scarce_moe_info *moe; /* MoE models, else NULL */
    const scarce_context *ctx;
} json_extra;

/* the members after the common ones: "speculative", then "moe" */
static void more_json(FILE *out, void *user) {
    const json_extra *x = user;
    if (run_spec_cli_enabled(x->a->spec)) run_spec_cli_json(out, x->a->spec);
    if (x->moe) moe_report_json(out, x->moe, x->a->moe_stats ? x->ctx : NULL);
}

/* "stopped: why", the run summary (stderr) and, with --json, the same as one JSON object
 * (stdout); with --svg the roofline. Returns 0 or the exit code of a failure. */
static int print_summary(const gen_ctx *g, const run_args *a, const char *stop) {
    fprintf(stderr, "\nstopped: %s\n", stop);
    run_report r;
    scarce_moe_info moe = {.size = sizeof moe};
    const int is_moe = scarce_model_moe_info(g->model, &moe) == SCARCE_OK;
    if (run_report_of(g->model, g->ctx, a->gen.model_path, &r))
        return cli_error("run", EXIT_RUNTIME, "summary: %s", scarce_context_error(g->ctx));
    run_report_text(stderr, &r);
    if (run_spec_cli_enabled(a->spec)) run_spec_cli_text(stderr, a->spec);
    if (is_moe) moe_report_bytes(stderr, &moe, &r.st);
    if (a->moe_stats && is_moe) moe_report_stats(stderr, &moe, g->ctx);
    json_extra x = {.a = a, .moe = is_moe ? &moe : NULL, .ctx = g->ctx};
    if (a->json) run_report_json(stdout, &r, more_json, &x);
    return write_svg(a, &r);
}

typedef struct {
    scarce_model *model;
    const scarce_context *ctx;
} trace_target;

static void trace_moe(void *user, int32_t prev, int32_t token) {
    const trace_target *t = user;
    moe_report_trace(stderr, t->model, t->ctx, prev, token);
}

/* The prompt's ids as scarce_generate makes them (BOS when the vocabulary asks for it; an
 * empty prompt starts from BOS alone) into *ids (malloc'ed); their number, or -1 printed. */
static int prompt_ids(scarce_model *m, const char *prompt, int n_ctx, int32_t **ids) {
    const size_t cap = 3 * strlen(prompt) + 5; /* the tokenizer's bound: 3 ids per byte */
    int n = -1;
    if (cap > (size_t)1 << 30 || !(*ids = malloc(cap * sizeof **ids)))
        return cli_error("run", EXIT_RUNTIME, "prompt: out of memory"), -1;
    const int add = scarce_token_add_flags(m);
    n = scarce_tokenize(m, prompt,
                        (add > 0 && (add & SCARCE_ADD_BOS)) || !*prompt ? SCARCE_ADD_BOS : 0, *ids,
                        (int)cap);
    if (n <= 0)
        return cli_error("run", EXIT_RUNTIME, "prompt: %s",
                         n == 0 ? "empty, and the vocabulary has no BOS to start from"
                                : scarce_model_error(m)),
               -1;
    if (n > n_ctx)
        return cli_error("run", EXIT_RUNTIME,
                         "prompt is %d tokens, longer than the context of %d (-c)", n, n_ctx),
               -1;
    return n;
}

int cmd_run(int argc, char **argv) {
    run_args a = {.spec = run_spec_cli_new()};
    if (!a.spec) return cli_error("run", EXIT_RUNTIME, "out of memory");
    int p = parse_args(argc, argv, &a), rc = EXIT_RUNTIME;
    if (p) {
        run_spec_cli_free(a.spec);
        return p > 0 ? EXIT_OK : EXIT_USAGE;
    }
    char msg[512];
    gen_ctx g;
    if (gen_ctx_open(&g, &a.gen, msg)) {
        run_spec_cli_free(a.spec);
        return cli_error("run", EXIT_RUNTIME, "%s", msg);
    }
    /* routing is counted only for MoE models (SCARCE_ERR_ARGUMENT for dense ones) */
    const int tracking = (a.moe_stats || a.trace_moe) && !scarce_context_moe_track(g.ctx, 1);
    trace_target trace = {g.model, g.ctx};
    FILE *text = a.json ? stderr : stdout;
    const char *prompt = a.prompt ? a.prompt : "";
    int32_t *ids = NULL;
    const int n = prompt_ids(g.model, prompt, g.n_ctx, &ids);
    if (n <= 0) goto done;
    for (int i = 0; i < n; i++) {
        char piece[256];
        int len = scarce_token_piece(g.model, i ? ids[i - 1] : -1, ids[i], piece, sizeof piece);
        fwrite(piece, 1, len > 0 ? (size_t)len : 0, text);
    }
    fflush(text);
    signal(SIGINT, on_sigint);
    if (run_spec_cli_enabled(a.spec)) {
        const char *stop;
        rc = run_spec_cli_run(a.spec, g.model, g.ctx, prompt, ids, n, a.gen.n_predict, text,
                              &interrupted, &stop);
        if ((rc == EXIT_OK || (rc == EXIT_RUNTIME && interrupted)) && print_summary(&g, &a, stop))
            rc = EXIT_RUNTIME;
        goto done;
    }
    gen_result res;
    if (gen_stream(&g, prompt, ids[n - 1], a.gen.n_predict, text, &interrupted,
                   tracking && a.trace_moe ? trace_moe : NULL, &trace, &res, msg)) {
        cli_error("run", EXIT_RUNTIME, "%s", msg);
        goto done;
    }
    fputc('\n', text);
    fflush(text);
    rc = print_summary(&g, &a, res.stop) || interrupted ? EXIT_RUNTIME : EXIT_OK;
done:
    free(ids);
    gen_ctx_close(&g);
    run_spec_cli_free(a.spec);
    return rc;
}
