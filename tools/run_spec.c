/* run_spec.c - the speculative side of `scarce run` on scarce_generate_spec: flags, the
 * draft (a model file, an in-memory low-bit copy, lookup sources), the --trace-spec teaching
 * trace and --spec-compare. The summary is tools/spec_report.c. */
#include "run_spec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "readfile.h"
#include "spec_report.h"

typedef struct {
    int enabled; /* one of -md / --draft-quant / --lookup / --draft-layers given */
    int n_sources;
    const char *draft_path, *draft_quant, *lookup_file;
    long lookup_n, lookup_min, draft_layers;
    long n_draft, draft_min, draft_max; /* 0 = default */
    long draft_vocab;                   /* --draft-vocab (0 = the whole vocabulary) */
    const char *policy;                 /* --draft-policy: "cost" (default) or "adapt" */
    int trace;                          /* --trace-spec */
    int compare; /* --spec-compare: also time plain decoding of the same length */
} run_spec_args;

struct run_spec_cli {
    run_spec_args args;
    spec_summary sum; /* after the run */
};

run_spec_cli *run_spec_cli_new(void) {
    return calloc(1, sizeof(run_spec_cli));
}

void run_spec_cli_free(run_spec_cli *sc) {
    free(sc);
}

int run_spec_cli_enabled(const run_spec_cli *sc) {
    return sc->args.enabled;
}

void run_spec_cli_usage(FILE *out) {
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
            SCARCE_MAX_DRAFT);
}

static int parse(int argc, char **argv, int *i, run_spec_args *sa) {
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
                                            "--draft",  "--draft-min",    "--draft-max"};
    const char **text[] = {&sa->draft_path, &sa->draft_quant, &sa->lookup_file, &sa->policy};
    long *num[] = {&sa->lookup_n, &sa->draft_layers, &sa->lookup_min,
                   &sa->n_draft,  &sa->draft_min,    &sa->draft_max};
    const long hi[] = {SCARCE_MAX_LOOKUP_N, 1 << 20,          SCARCE_MAX_LOOKUP_N,
                       SCARCE_MAX_DRAFT,    SCARCE_MAX_DRAFT, SCARCE_MAX_DRAFT};
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

int run_spec_cli_parse(run_spec_cli *sc, int argc, char **argv, int *i) {
    return parse(argc, argv, i, &sc->args);
}

/* ---- the teaching trace ------------------------------------------------------------- */

typedef struct {
    const char *ok, *bad, *skip, *own, *off;
} palette;

/* piece of id after prev, with newlines made visible */
static void piece_text(scarce_model *m, int32_t prev, int32_t id, char *out, int cap) {
    char raw[128];
    if (scarce_token_piece(m, prev, id, raw, sizeof raw) < 0) raw[0] = 0;
    int n = 0;
    for (const char *c = raw; *c && n < cap - 3; c++) {
        if (*c == '\n')
            out[n++] = '\\', out[n++] = 'n';
        else
            out[n++] = *c;
    }
    out[n] = 0;
}

static void trace_pass(scarce_model *m, const scarce_spec_pass *ps, int32_t prev, long pass_no) {
    static const palette colour = {"\033[32m", "\033[31m", "\033[2m", "\033[1;36m", "\033[0m"};
    static const palette plain = {"", "", "", "", ""};
    const palette *c = isatty(STDERR_FILENO) ? &colour : &plain;
    char text[160];
    /* fixed columns first (pass, accepted/drafted), so the lines align on a terminal */
    fprintf(stderr, "spec %4ld: %2d/%-2d |", pass_no, ps->n_accepted, ps->n_drafted);
    for (int i = 0; i < ps->n_drafted; i++) {
        piece_text(m, prev, ps->drafted[i], text, sizeof text);
        prev = ps->drafted[i];
        const char *mark = i < ps->n_accepted ? "+" : i == ps->n_accepted ? "-" : "~";
        const char *col = i < ps->n_accepted ? c->ok : i == ps->n_accepted ? c->bad : c->skip;
        fprintf(stderr, " %s%s\"%s\"", col, mark, text);
        if (ps->sampling && i <= ps->n_accepted) fprintf(stderr, "(%.2f)", ps->ratio[i]);
        fputs(c->off, stderr);
    }
    prev = ps->n_accepted ? ps->drafted[ps->n_accepted - 1] : prev;
    piece_text(m, prev, ps->next, text, sizeof text);
    fprintf(stderr, " => %s\"%s\"%s %s", c->own, text, c->off,
            !ps->n_drafted                    ? "(no draft)"
            : ps->n_accepted == ps->n_drafted ? "(bonus)"
                                              : "(correction)");
    fprintf(stderr, "  [k=%d %s", ps->n_asked, ps->why);
    if (ps->expected_speedup > 0) fprintf(stderr, ", expects %.2fx", ps->expected_speedup);
    if (ps->running_speedup > 0) fprintf(stderr, "; run %.2fx", ps->running_speedup);
    fputs("]\n", stderr);
}

/* The draft settings of the flags into p and the summary's description into sum; 0 or an
 * exit code (printed). */
static int build_params(const run_spec_args *sa, scarce_spec_params *p, spec_summary *sum) {
    const int lookup = sa->lookup_n || sa->lookup_file;
    if (sa->n_sources + (sa->lookup_file && !sa->lookup_n) != 1)
        return cli_error("run", EXIT_USAGE,
                         "give exactly one of -md, --draft-quant, --lookup "
                         "(or --lookup-file), --draft-layers");
    const char *policy = sa->policy ? sa->policy : "cost";
    if (strcmp(policy, "cost") && strcmp(policy, "adapt"))
        return cli_error("run", EXIT_USAGE, "--draft-policy expects cost or adapt, got '%s'",
                         policy);
    const int n = sa->n_draft ? (int)sa->n_draft : 8;
    *p = (scarce_spec_params){.adapt = !strcmp(policy, "adapt"),
                              .n_draft = n,
                              .n_draft_min = sa->draft_min ? (int)sa->draft_min : 1,
                              .n_draft_max = sa->draft_max ? (int)sa->draft_max : n,
                              .lookup_n = lookup ? (sa->lookup_n ? (int)sa->lookup_n : 4) : 0,
                              .lookup_min = (int)sa->lookup_min,
                              .draft_layers = (int)sa->draft_layers,
                              .draft_type = sa->draft_quant,
                              .draft_vocab = (int)sa->draft_vocab};
    /* the first length inside the range (as scarce_generate_spec takes it) */
    const int first = n < p->n_draft_min ? p->n_draft_min : n > p->n_draft_max ? p->n_draft_max : n;
    *sum = (spec_summary){.n_draft = first,
                          .policy = policy,
                          .tok_s_plain = NAN,
                          .tok_s_spec = NAN,
                          .lookup_file = sa->lookup_file};
    if (sa->draft_path)
        p->source = SCARCE_DRAFT_MODEL, sum->source = "model", sum->draft = sa->draft_path;
    else if (sa->draft_quant)
        p->source = SCARCE_DRAFT_QUANT, sum->source = "quant", sum->draft = sa->draft_quant;
    else if (lookup)
        p->source = SCARCE_DRAFT_LOOKUP, sum->source = "lookup", sum->param = p->lookup_n;
    else
        p->source = SCARCE_DRAFT_LAYERS, sum->source = "layers", sum->param = sa->draft_layers;
    if (p->n_draft_min > p->n_draft_max)
        return cli_error("run", EXIT_USAGE, "--draft-min %d is above --draft-max %d",
                         p->n_draft_min, p->n_draft_max);
    if (p->lookup_min > p->lookup_n && lookup)
        return cli_error("run", EXIT_USAGE, "--lookup-min %d is above --lookup %d", p->lookup_min,
                         p->lookup_n);
    return 0;
}

/* What the callbacks of one generation share. */
typedef struct {
    scarce_model *model;
    FILE *text;
    long passes, n_gen;
    int32_t prev; /* the last token written */
    volatile sig_atomic_t *interrupted;
} stream;

static int on_pass(void *user, const scarce_spec_pass *pass) {
    stream *st = user;
    trace_pass(st->model, pass, st->prev, ++st->passes);
    return 0;
}

static int on_token(void *user, int32_t token, const char *piece, size_t len) {
    stream *st = user;
    fwrite(piece, 1, len, st->text);
    st->prev = token, st->n_gen++;
    fflush(st->text);
    return *st->interrupted != 0;
}

/* The draft's own sources: the -md model (opened as the target runs: same kernel
 * configuration and -t) and the --lookup-file's tokens. 0, or -1 with the error printed. */
static int open_draft(const run_spec_args *sa, scarce_model *target, scarce_spec_params *p,
                      spec_summary *sum, scarce_model **draft, int32_t **file_ids) {
    char msg[512];
    *draft = NULL, *file_ids = NULL;
    scarce_model_params mp;
    if (sa->draft_path && (scarce_model_get_params(target, &mp) ||
                           scarce_model_open(sa->draft_path, &mp, draft, msg, sizeof msg)))
        return cli_error("run", EXIT_RUNTIME, "%s", msg), -1;
    p->draft_model = *draft;
    if (!sa->lookup_file) return 0;
    int n = 0;
    if (!(*file_ids = read_text_ids(target, sa->lookup_file, &n, msg)))
        return cli_error("run", EXIT_RUNTIME, "%s", msg), -1;
    const int skip = n > 0 && (*file_ids)[0] == scarce_token_bos(target); /* not text */
    if (n - skip < 2) /* no n-gram with a token after it: nothing could ever be found */
        return cli_error("run", EXIT_RUNTIME,
                         "%s: --lookup-file has %d tokens of text, need 2 or more", sa->lookup_file,
                         n - skip),
               -1;
    p->lookup_tokens = *file_ids + skip, p->n_lookup_tokens = n - skip;
    sum->n_lookup_file = p->n_lookup_tokens;
    return 0;
}

/* Why the generation of n_gen tokens ended. */
static const char *stop_reason(const stream *st, const scarce_context *ctx, long n_predict) {
    if (*st->interrupted) return "interrupted (SIGINT)";
    if (st->n_gen >= n_predict) return "-n tokens generated";
    if (scarce_context_n_pos(ctx) >= scarce_context_n_ctx(ctx)) return "context full (-c)";
    return "end of text";
}

int run_spec_cli_run(run_spec_cli *sc, scarce_model *model, scarce_context *ctx, const char *prompt,
                     const int32_t *ids, int n_ids, long n_predict, FILE *text,
                     volatile sig_atomic_t *interrupted, const char **stop) {
    const run_spec_args *sa = &sc->args;
    spec_summary *sum = &sc->sum;
    scarce_spec_params p;
    *stop = "error";
    if (build_params(sa, &p, sum)) return EXIT_USAGE;
    scarce_model *draft = NULL;
    int32_t *file_ids = NULL;
    int rc = EXIT_RUNTIME;
    stream st = {.model = model, .text = text, .interrupted = interrupted};
    if (open_draft(sa, model, &p, sum, &draft, &file_ids)) goto done;
    if (sa->trace) p.on_pass = on_pass, p.pass_user = &st;
    st.prev = ids[n_ids - 1];
    int n_gen = 0;
    const int gen_rc = scarce_generate_spec(ctx, prompt, (int)n_predict, &p, on_token, &st, &n_gen);
    /* the line of text ends unless the draft could not be set up (nothing ran) */
    if (gen_rc != SCARCE_ERR_ARGUMENT && gen_rc != SCARCE_ERR_TOKEN) fputc('\n', text);
    fflush(text);
    if (gen_rc) {
        cli_error("run", EXIT_RUNTIME, "%s", scarce_context_error(ctx));
        goto done;
    }
    *stop = stop_reason(&st, ctx, n_predict);
    sum->stats = (scarce_spec_report){.size = sizeof sum->stats};
    scarce_context_spec_report(ctx, &sum->stats);
    if (sa->compare && n_gen >= 1) {
        /* after the run's statistics: the comparison runs on contexts of its own */
        scarce_spec_compare_result cr;
        if (scarce_spec_compare(ctx, ids, n_ids, n_gen, &p, &cr))
            fprintf(stderr, "spec-compare: %s\n", scarce_context_error(ctx));
        else
            sum->tok_s_plain = cr.plain_tok_s, sum->tok_s_spec = cr.spec_tok_s,
            sum->compare_reps = cr.reps;
    }
    rc = *interrupted ? EXIT_RUNTIME : EXIT_OK;
done:
    free(file_ids);
    scarce_model_close(draft);
    return rc;
}

void run_spec_cli_text(FILE *out, const run_spec_cli *sc) {
    report_spec_text(out, &sc->sum);
}

void run_spec_cli_json(FILE *out, void *sc) {
    fputs(", ", out);
    report_spec_json(out, &((run_spec_cli *)sc)->sum);
}
