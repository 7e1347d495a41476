/* run_spec.c - the speculative side of `scarce run`: flags, the draft (a model file, an
 * in-memory low-bit copy, lookup sources), the generation loop over spec_step() and the
 * --trace-spec teaching trace. The summary is tools/spec_report.c. */
#include "run_spec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/api_impl.h"
#include "../engine/machine.h"
#include "cli.h"
#include "textfile.h"

void run_spec_usage(FILE *out) {
    fprintf(out,
            "speculative decoding (exact: same text when greedy, same distribution otherwise):\n"
            "  -md FILE          draft model (same vocabulary as -m)\n"
            "  --draft-quant T   draft with a copy of -m quantized to type T in memory (q4_0,\n"
            "                    q2_k, tq2_0, ...; RAM and build time are reported)\n"
            "  --draft-layers L  self-speculation: the target's first L layers + output head\n"
            "  --lookup N        draft by n-gram lookup in the context: the longest n <= N\n"
            "  --lookup-min N    ... down to n-grams of N tokens (default 1)\n"
            "  --lookup-file F   also find n-grams in the text of F (lookup; implies --lookup 4)\n"
            "  --draft N         the longest draft (default 8, at most %d)\n"
            "  --draft-policy P  cost (default): each pass drafts the length with the best\n"
            "                    expected speed-up from measured costs and acceptance, plain\n"
            "                    steps when none pays; adapt: one longer after a fully accepted\n"
            "                    draft, one shorter after a rejection\n"
            "  --draft-min N     the shortest draft (default 1; = --draft-max: a fixed length)\n"
            "  --draft-max N     the longest draft (default --draft)\n"
            "  --draft-vocab N   greedy model drafts score the N first ids + the text's\n"
            "                    tokens, not the whole vocabulary (default 0 = all; fewer\n"
            "                    bytes per draft step, lower acceptance)\n"
            "  --trace-spec      one line per target pass: drafted, accepted, correction, the\n"
            "                    length chosen and why, the run's speed-up so far\n"
            "  --spec-compare    afterwards time plain decoding of as many tokens (speed-up)\n",
            SPEC_MAX_DRAFT);
}

int run_spec_parse(int argc, char **argv, int *i, run_spec_args *sa) {
    const char *f = argv[*i], *v;
    /* any of them turns speculation on; build_params() then insists on one source */
    if (!strcmp(f, "--trace-spec")) return sa->enabled = sa->trace = 1;
    if (!strcmp(f, "--spec-compare")) return sa->enabled = sa->compare = 1;
    if (!strcmp(f, "--draft-vocab")) { /* 0 is a value: the whole vocabulary */
        if (!(v = cli_value("run", argc, argv, i)) ||
            cli_int("run", f, v, 0, 1 << 24, &sa->draft_vocab))
            return -1;
        return sa->enabled = 1;
    }
    static const char *const text_flags[] = {"-md", "--draft-quant", "--lookup-file",
                                              "--draft-policy"};
    static const char *const int_flags[] = {"--lookup", "--draft-layers", "--lookup-min",
                                            "--draft", "--draft-min", "--draft-max"};
    const char **text[] = {&sa->draft_path, &sa->draft_quant, &sa->lookup_file, &sa->policy};
    long *num[] = {&sa->lookup_n, &sa->draft_layers, &sa->lookup_min, &sa->n_draft,
                   &sa->draft_min, &sa->draft_max};
    const long hi[] = {LOOKUP_MAX_N, 1 << 20, LOOKUP_MAX_N, SPEC_MAX_DRAFT, SPEC_MAX_DRAFT,
                       SPEC_MAX_DRAFT};
    for (int k = 0; k < 4; k++) {
        if (strcmp(f, text_flags[k])) continue;
        if (!(*text[k] = cli_value("run", argc, argv, i))) return -1;
        sa->n_sources += k < 2; /* -md, --draft-quant */
        return sa->enabled = 1;
    }
    for (int k = 0; k < 6; k++) {
        if (strcmp(f, int_flags[k])) continue;
        if (!(v = cli_value("run", argc, argv, i)) || cli_int("run", f, v, 1, hi[k], num[k]))
            return -1;
        sa->n_sources += k < 2; /* --lookup, --draft-layers */
        return sa->enabled = 1;
    }
    return 0;
}

/* ---- the teaching trace ------------------------------------------------------------- */

typedef struct {
    const char *ok, *bad, *skip, *own, *off;
} palette;

/* piece of id after prev, with newlines made visible */
static void piece_text(const tokenizer *tok, int prev, int id, char *out, int cap) {
    char raw[128];
    tokenizer_piece(tok, prev, id, raw, sizeof raw);
    int n = 0;
    for (const char *c = raw; *c && n < cap - 3; c++) {
        if (*c == '\n') out[n++] = '\\', out[n++] = 'n';
        else out[n++] = *c;
    }
    out[n] = 0;
}

static void trace_pass(const tokenizer *tok, const spec_pass *ps, int prev, long pass_no) {
    static const palette colour = {"\033[32m", "\033[31m", "\033[2m", "\033[1;36m", "\033[0m"};
    static const palette plain = {"", "", "", "", ""};
    const palette *c = isatty(STDERR_FILENO) ? &colour : &plain;
    char text[160];
    /* fixed columns first (pass, accepted/drafted), so the lines align on a terminal */
    fprintf(stderr, "spec %4ld: %2d/%-2d |", pass_no, ps->n_accepted, ps->n_drafted);
    for (int i = 0; i < ps->n_drafted; i++) {
        piece_text(tok, prev, ps->drafted[i], text, sizeof text);
        prev = ps->drafted[i];
        const char *mark = i < ps->n_accepted ? "+" : i == ps->n_accepted ? "-" : "~";
        const char *col = i < ps->n_accepted ? c->ok : i == ps->n_accepted ? c->bad : c->skip;
        fprintf(stderr, " %s%s\"%s\"", col, mark, text);
        if (ps->sampling && i <= ps->n_accepted) fprintf(stderr, "(%.2f)", ps->ratio[i]);
        fputs(c->off, stderr);
    }
    prev = ps->n_accepted ? ps->drafted[ps->n_accepted - 1] : prev;
    piece_text(tok, prev, ps->next, text, sizeof text);
    fprintf(stderr, " => %s\"%s\"%s %s", c->own, text, c->off,
            !ps->n_drafted ? "(no draft)"
            : ps->n_accepted == ps->n_drafted ? "(bonus)" : "(correction)");
    const spec_choice *ch = &ps->choice;
    fprintf(stderr, "  [k=%d %s", ch->k, spec_why_name(ch->why));
    if (ch->expected_speedup > 0) fprintf(stderr, ", expects %.2fx", ch->expected_speedup);
    if (ps->running_speedup > 0) fprintf(stderr, "; run %.2fx", ps->running_speedup);
    fputs("]\n", stderr);
}

static int build_params(const run_spec_args *sa, spec_params *p, spec_summary *sum) {
    const int lookup = sa->lookup_n || sa->lookup_file;
    if (sa->n_sources + (sa->lookup_file && !sa->lookup_n) != 1)
        return cli_error("run", EXIT_USAGE, "give exactly one of -md, --draft-quant, --lookup "
                         "(or --lookup-file), --draft-layers");
    const char *policy = sa->policy ? sa->policy : "cost";
    if (strcmp(policy, "cost") && strcmp(policy, "adapt"))
        return cli_error("run", EXIT_USAGE, "--draft-policy expects cost or adapt, got '%s'",
                         policy);
    int n = sa->n_draft ? (int)sa->n_draft : 8;
    *p = (spec_params){.policy = !strcmp(policy, "cost") ? SPEC_COST : SPEC_ADAPT,
                       .n_draft = n, .n_draft_min = sa->draft_min ? (int)sa->draft_min : 1,
                       .n_draft_max = sa->draft_max ? (int)sa->draft_max : n,
                       .lookup_n = lookup ? (sa->lookup_n ? (int)sa->lookup_n : 4) : 0,
                       .lookup_min = (int)sa->lookup_min, .draft_layers = (int)sa->draft_layers,
                       .draft_vocab = (int)sa->draft_vocab};
    if (p->n_draft < p->n_draft_min) p->n_draft = p->n_draft_min;
    if (p->n_draft > p->n_draft_max) p->n_draft = p->n_draft_max;
    *sum = (spec_summary){.n_draft = p->n_draft, .policy = policy, .tok_s_plain = NAN,
                          .tok_s_spec = NAN, .lookup_file = sa->lookup_file};
    if (sa->draft_path)
        p->source = SPEC_MODEL, sum->source = "model", sum->draft = sa->draft_path;
    else if (sa->draft_quant)
        p->source = SPEC_QUANT, sum->source = "quant", sum->draft = sa->draft_quant;
    else if (lookup)
        p->source = SPEC_LOOKUP, sum->source = "lookup", sum->param = p->lookup_n;
    else
        p->source = SPEC_LAYERS, sum->source = "layers", sum->param = sa->draft_layers;
    if (p->n_draft_min > p->n_draft_max)
        return cli_error("run", EXIT_USAGE, "--draft-min %d is above --draft-max %d",
                         p->n_draft_min, p->n_draft_max);
    if (p->lookup_min > p->lookup_n && lookup)
        return cli_error("run", EXIT_USAGE, "--lookup-min %d is above --lookup %d",
                         p->lookup_min, p->lookup_n);
    return 0;
}

/* Streams the speculative generation; returns the number of tokens or -1. */
static long generate(spec_decoder *sd, const run_spec_args *sa, const tokenizer *tok,
                     long n_predict, FILE *text, volatile sig_atomic_t *interrupted,
                     const char **stop,
                     scarce_error *err) {
    long n_gen = 0;
    int out[SPEC_MAX_DRAFT + 1], prev = sd->tokens[sd->n_tokens - 1];
    spec_pass pass;
    while (n_gen < n_predict) {
        if (*interrupted) return *stop = "interrupted (SIGINT)", n_gen;
        int got = spec_step(sd, (int)(n_predict - n_gen), out, &pass, err);
        if (got < 0) return -1;
        if (got == 0) return *stop = "context full (-c)", n_gen;
        if (sa->trace) trace_pass(tok, &pass, prev, (long)sd->stats.passes);
        for (int i = 0; i < got; i++) {
            if (out[i] == tokenizer_eos(tok) || out[i] == tokenizer_bos(tok))
                return *stop = "end of text", n_gen;
            char piece[256];
            int len = tokenizer_piece(tok, prev, out[i], piece, sizeof piece);
            fwrite(piece, 1, (size_t)len, text);
            prev = out[i];
            n_gen++;
        }
        fflush(text);
    }
    return n_gen;
}

/* --spec-compare: plain and speculative speed of n_gen tokens, measured afresh */
static void compare_plain(model *m, const model *dm, const spec_params *p, const sampler *smp,
                          const int *prompt, int n_prompt, long n_gen, int n_ctx,
                          spec_summary *sum) {
    spec_bench_result r;
    scarce_error err = {0};
    if (n_gen < 1) return;
    if (spec_bench(m, dm, p, &smp->p, prompt, n_prompt, (int)n_gen, n_ctx, &r, &err)) {
        fprintf(stderr, "spec-compare: %s\n", err.msg);
        return;
    }
    sum->tok_s_plain = r.tok_s_plain, sum->tok_s_spec = r.tok_s_spec;
    sum->compare_reps = r.reps;
}

/* what target and draft have read so far */
static run_stats both_stats(const spec_decoder *sd) {
    return sd->has_draft_session ? stats_add(sd->target->stats, &sd->draft.stats)
                                 : sd->target->stats;
}

/* What the draft side owns: the draft model (-md file or --draft-quant copy) and the
 * lookup file's tokens. */
typedef struct {
    model *dm;
    int is_copy; /* dm came from draft_quant_new */
    int *file_ids;
} draft_side;

static void close_draft(draft_side *ds) {
    if (ds->is_copy) draft_quant_free(ds->dm);
    else model_free(ds->dm);
    free(ds->file_ids);
    memset(ds, 0, sizeof *ds);
}

static int open_draft(const run_spec_args *sa, model *m, const tokenizer *tok, spec_params *p,
                      run_spec_result *res, draft_side *ds, scarce_error *err) {
    memset(ds, 0, sizeof *ds);
    /* the draft runs as the target does (same start-up configuration and -t) */
    const model_options draft_opts = {.kernels = *model_kernel_config(m)};
    if (sa->draft_path && !(ds->dm = model_load(sa->draft_path, &draft_opts, err))) return -1;
    if (sa->draft_quant) {
        ds->is_copy = 1;
        if (!(ds->dm = draft_quant_new(m, sa->draft_quant, &draft_opts, &res->quant, err)))
            return -1;
        res->has_quant = 1;
    }
    if (sa->lookup_file) {
        int n = 0;
        if (!(ds->file_ids = tokenize_file(sa->lookup_file, tok, &n, err))) return -1;
        const int skip = n > 0 && ds->file_ids[0] == tokenizer_bos(tok); /* not text */
        if (n - skip < 2) /* no n-gram with a token after it: nothing could ever be found */
            return scarce_fail(err, "%s: --lookup-file has %d tokens of text, need 2 or more",
                               sa->lookup_file, n - skip);
        p->lookup_file = ds->file_ids + skip, p->n_lookup_file = n - skip;
        res->spec.n_lookup_file = p->n_lookup_file;
    }
    return 0;
}

int run_spec(const run_spec_args *sa, model *m, const tokenizer *tok, session *s,
             sampler *smp, const int *prompt, int n_prompt, long n_predict, FILE *text,
             volatile sig_atomic_t *interrupted, run_spec_result *res) {
    spec_params p;
    memset(res, 0, sizeof *res);
    if (build_params(sa, &p, &res->spec)) return EXIT_USAGE;
    scarce_error err = {0};
    draft_side ds;
    spec_decoder sd;
    if (open_draft(sa, m, tok, &p, res, &ds, &err) || spec_init(&sd, s, smp, ds.dm, &p, &err)) {
        close_draft(&ds);
        return cli_error("run", EXIT_RUNTIME, "%s", err.msg);
    }
    int rc = EXIT_RUNTIME;
    res->stop = "-n tokens generated";
    const run_stats start = both_stats(&sd);
    double t0 = now_seconds();
    long n_gen = spec_prefill(&sd, prompt, n_prompt, &err) ? -1 : 0;
    const run_stats after_prefill = both_stats(&sd);
    double t1 = now_seconds();
    if (n_gen == 0) n_gen = generate(&sd, sa, tok, n_predict, text, interrupted, &res->stop, &err);
    res->t_prompt = t1 - t0, res->t_decode = now_seconds() - t1;
    fputc('\n', text);
    fflush(text);
    if (n_gen < 0) {
        cli_error("run", EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    const run_stats end = both_stats(&sd);
    res->prompt = stats_delta(&after_prefill, &start);
    res->decode = stats_delta(&end, &after_prefill);
    memset(&res->prompt.decode, 0, sizeof res->prompt.decode);
    memset(&res->decode.decode, 0, sizeof res->decode.decode);
    res->prompt.tokens = (uint64_t)n_prompt - 1; /* the last one is fed with the first draft */
    res->decode.tokens = (uint64_t)n_gen;
    res->stats = sd.stats;
    api_spec_report(&sd.stats, res->has_quant ? &res->quant : NULL, &res->spec.stats);
    if (sa->compare)
        compare_plain(m, ds.dm, &p, smp, prompt, n_prompt, n_gen, s->cache.n_ctx, &res->spec);
    rc = *interrupted ? EXIT_RUNTIME : EXIT_OK;
done:
    spec_free(&sd);
    close_draft(&ds);
    return rc;
}
