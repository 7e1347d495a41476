/* bench_spec.c - scarce bench --draft (see bench_spec.h) on include/scarce.h: a verify
 * pass of k+1 tokens timed against a decode step (scarce_eval, scarce_context_truncate), and
 * each draft's plain against speculative decoding (scarce_spec_compare). */
#include "bench_spec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_setup.h"
#include "cli.h"
#include "spec_report.h"
#include "summary.h"

enum { N_PROMPT = 8, MAX_DRAFTS = 8 }; /* random token ids the generation starts from */

typedef struct {
    scarce_draft_source source;
    const char *arg; /* -md: the path; --draft-quant: the type */
    long n;          /* --lookup: longest n-gram; --draft-layers: L */
} bench_draft;

/* A bench --draft row: the tgN row bench measured and what the draft added. */
typedef struct {
    bench_result base;     /* the plain tgN row */
    spec_summary spec;     /* tok_s_plain / tok_s_spec measured by scarce_spec_compare */
    int spec_extra;        /* a copy of the tgN row for a further draft */
    double verify_cost[4]; /* verify(k+1) / decode(1), k = 1, 2, 4, 8 */
} bench_row;

struct bench_spec_cli {
    int want;           /* --draft or a draft source was given */
    long n_draft;       /* --draft N: the longest draft (default 8) */
    const char *policy; /* --draft-policy: cost (default) or adapt */
    bench_draft drafts[MAX_DRAFTS];
    int n_drafts;
    bench_row *rows; /* one per speculative row, in the order of the bench's rows */
    int n_rows;
};

bench_spec_cli *bench_spec_cli_new(void) {
    return calloc(1, sizeof(bench_spec_cli));
}

void bench_spec_cli_free(bench_spec_cli *sc) {
    if (sc) free(sc->rows);
    free(sc);
}

void bench_spec_cli_usage(FILE *out) {
    fprintf(out,
            "  --draft N    also time speculative decoding of the tgN tokens (greedy, drafts of\n"
            "               up to N tokens, default 8) against plain decoding, for each of:\n"
            "  -md FILE     a draft model      --draft-quant T   an in-memory copy in type T\n"
            "  --lookup N   n-gram lookup      --draft-layers L  the first L layers\n"
            "               (each adds a row; several may be given)\n"
            "  --draft-policy P  cost (default) or adapt (see scarce run -h)\n"
            "               and times a verify pass of k+1 tokens against a decode step\n");
}

int bench_spec_cli_parse(bench_spec_cli *bs, int argc, char **argv, int *i) {
    static const char *const flags[] = {"-md",     "--draft-quant", "--lookup", "--draft-layers",
                                        "--draft", "--draft-policy"};
    static const scarce_draft_source sources[] = {SCARCE_DRAFT_MODEL, SCARCE_DRAFT_QUANT,
                                                  SCARCE_DRAFT_LOOKUP, SCARCE_DRAFT_LAYERS};
    const char *f = argv[*i], *v;
    int which = -1;
    for (int k = 0; k < 6; k++)
        if (!strcmp(f, flags[k])) which = k;
    if (which < 0) return 0;
    if (!(v = cli_value("bench", argc, argv, i))) return -1;
    bs->want = 1;
    if (which == 5) return bs->policy = v, 1;
    if (which == 4) return cli_int("bench", f, v, 1, SCARCE_MAX_DRAFT, &bs->n_draft) ? -1 : 1;
    if (bs->n_drafts == MAX_DRAFTS) {
        cli_error("bench", EXIT_USAGE, "at most %d drafts", MAX_DRAFTS);
        return -1;
    }
    bench_draft *d = &bs->drafts[bs->n_drafts];
    *d = (bench_draft){.source = sources[which], .arg = v};
    if ((which == 2 || which == 3) &&
        cli_int("bench", f, v, 1, which == 2 ? SCARCE_MAX_LOOKUP_N : 1 << 20, &d->n))
        return -1;
    bs->n_drafts++;
    return 1;
}

int bench_spec_cli_check(const bench_spec_cli *bs, long n_gen) {
    if (!bs->want) return 0;
    if (!bs->n_drafts)
        return cli_error(
            "bench", EXIT_USAGE,
            "--draft needs at least one of -md, --draft-quant, --lookup, --draft-layers");
    if (bs->policy && strcmp(bs->policy, "cost") && strcmp(bs->policy, "adapt"))
        return cli_error("bench", EXIT_USAGE, "--draft-policy expects cost or adapt, got '%s'",
                         bs->policy);
    if (!n_gen) return cli_error("bench", EXIT_USAGE, "--draft times the tgN test, and -n is 0");
    return 0;
}

int bench_spec_cli_rows_per_tg(const bench_spec_cli *sc) {
    return sc->want ? sc->n_drafts : 0;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* verify(k+1) / decode(1): passes with all logits at one position after the prompt, the
 * sizes interleaved in each repetition (so load changes hit all alike), medians. 0, or a
 * status with the context's message. */
static int verify_costs(scarce_context *ctx, const int32_t *ids, double out[4]) {
    enum { REPS = 7 };
    static const int sizes[5] = {1, 2, 3, 5, 9};
    double t[5][REPS];
    const float *logits;
    int rc = scarce_eval(ctx, ids, N_PROMPT, 0, &logits);
    for (int r = -1; r < REPS && !rc; r++) /* r = -1: warm-up, not kept */
        for (int i = 0; i < 5 && !rc; i++) {
            const double t0 = now_seconds();
            rc = scarce_eval(ctx, ids, sizes[i], 1, &logits);
            if (r >= 0) t[i][r] = now_seconds() - t0;
            if (!rc) rc = scarce_context_truncate(ctx, N_PROMPT);
        }
    if (rc) return rc;
    for (int i = 0; i < 5; i++) qsort(t[i], REPS, sizeof(double), cmp_double);
    for (int j = 0; j < 4; j++) out[j] = t[j + 1][REPS / 2] / t[0][REPS / 2];
    return 0;
}

/* One draft's row: plain against speculative greedy decoding of n_gen tokens after the
 * prompt ids, on ctx's model (the draft model -md opened as the target runs). 0, or -1
 * with msg. */
static int draft_row(scarce_context *ctx, const int32_t *ids, int n_threads, int n_gen,
                     const bench_spec_cli *bs, const bench_draft *d, bench_row *row, char *msg) {
    static const char *const names[] = {"model", "layers", "lookup", "quant"};
    const int n = bs->n_draft ? (int)bs->n_draft : 8;
    const char *policy = bs->policy ? bs->policy : "cost";
    scarce_spec_params p = {.source = d->source,
                            .adapt = !strcmp(policy, "adapt"),
                            .n_draft = n,
                            .n_draft_min = 1,
                            .n_draft_max = n,
                            .lookup_n = d->source == SCARCE_DRAFT_LOOKUP ? (int)d->n : 0,
                            .draft_layers = d->source == SCARCE_DRAFT_LAYERS ? (int)d->n : 0,
                            .draft_type = d->source == SCARCE_DRAFT_QUANT ? d->arg : NULL};
    row->spec = (spec_summary){.source = names[d->source],
                               .n_draft = n,
                               .policy = policy,
                               .param = d->n,
                               .tok_s_plain = NAN,
                               .tok_s_spec = NAN};
    if (d->source == SCARCE_DRAFT_MODEL || d->source == SCARCE_DRAFT_QUANT)
        row->spec.draft = d->arg;
    if (d->source == SCARCE_DRAFT_MODEL) {
        const scarce_model_params mp = api_setup_model_params(n_threads);
        if (scarce_model_open(d->arg, &mp, &p.draft_model, msg, 512)) return -1;
    }
    scarce_spec_compare_result r = {.spec.size = sizeof r.spec};
    const int rc = scarce_spec_compare(ctx, ids, N_PROMPT, n_gen, &p, &r);
    if (rc) snprintf(msg, 512, "%s", scarce_context_error(ctx));
    scarce_model_close(p.draft_model);
    if (rc) return -1;
    row->spec.stats = r.spec;
    row->spec.tok_s_plain = r.plain_tok_s, row->spec.tok_s_spec = r.spec_tok_s;
    row->spec.compare_reps = r.reps;
    return 0;
}

/* The verify costs and one row per draft into w[0 .. n_drafts), for the model at path. */
static int measure_rows(const bench_spec_cli *bs, const char *path, int n_threads, int n_gen,
                        bench_row *w, char *msg) {
    const scarce_model_params mp = api_setup_model_params(n_threads);
    scarce_model *m = NULL;
    scarce_context *ctx = NULL;
    if (scarce_model_open(path, &mp, &m, msg, 512)) return -1;
    /* greedy, with the context the generation needs */
    scarce_context_params cp = {
        .n_ctx = N_PROMPT + (n_gen > 9 ? n_gen : 9), .temp = 0, .top_p = 1, .seed = 1};
    int32_t ids[N_PROMPT + 9];
    int rc = -1;
    if (scarce_context_new(m, &cp, &ctx)) {
        snprintf(msg, 512, "%s", scarce_model_error(m));
        goto done;
    }
    uint64_t seed = 1234;
    for (int i = 0; i < N_PROMPT + 9; i++)
        ids[i] = (int32_t)(bench_next_random(&seed) % (uint64_t)scarce_model_n_vocab(m));
    if (verify_costs(ctx, ids, w->verify_cost)) {
        snprintf(msg, 512, "%s", scarce_context_error(ctx));
        goto done;
    }
    for (int d = 0; d < bs->n_drafts; d++) {
        if (d) w[d] = w[0], w[d].spec_extra = 1;
        if (draft_row(ctx, ids, n_threads, n_gen, bs, &bs->drafts[d], &w[d], msg)) goto done;
    }
    rc = 0;
done:
    scarce_context_free(ctx);
    scarce_model_close(m);
    return rc;
}

/* the length the run used most */
static int usual_length(const scarce_spec_report *st) {
    int best = 0;
    for (int k = 1; k <= SCARCE_MAX_DRAFT; k++)
        if (st->passes_by_length[k] > st->passes_by_length[best]) best = k;
    return best;
}

static void print_md(const bench_row *rows, int n) {
    printf("\n| model | threads | draft | policy | plain t/s | speculative t/s | accepted | "
           "tokens/pass | usual k | expected | speed-up |\n"
           "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        const scarce_spec_report *st = &r->spec.stats;
        char src[300], acc[32] = "-";
        if (st->drafted) snprintf(acc, sizeof acc, "%.1f%%", 100.0 * st->accepted / st->drafted);
        if (r->spec.draft)
            snprintf(src, sizeof src, "%s %s", r->spec.source, path_base_name(r->spec.draft));
        else
            snprintf(src, sizeof src, "%s %ld", r->spec.source, r->spec.param);
        printf("| %s | %d | %s | %s | %.2f | %.2f | %s | %.2f | %d | %.2fx | %.2fx |\n",
               path_base_name(r->base.model), r->base.threads, src, r->spec.policy,
               r->spec.tok_s_plain, r->spec.tok_s_spec, acc,
               st->passes ? (double)st->emitted / st->passes : 0.0, usual_length(st),
               st->chosen_best_speedup, r->spec.tok_s_spec / r->spec.tok_s_plain);
    }
    printf(
        "\nverify(k+1)/decode(1): a target pass over k+1 tokens against one decode step\n\n"
        "| model | type | threads | k=1 | k=2 | k=4 | k=8 |\n|---|---|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        if (r->spec_extra) continue;
        printf("| %s | %s | %d |", path_base_name(r->base.model), r->base.type, r->base.threads);
        for (int j = 0; j < 4; j++) printf(" %.2f |", r->verify_cost[j]);
        printf("\n");
    }
}

int bench_spec_cli_rows(bench_spec_cli *sc, const char *path, int n_threads, int n_gen,
                        bench_result *tg, char *msg) {
    const int n = sc->n_drafts;
    bench_row *grown = realloc(sc->rows, (size_t)(sc->n_rows + n) * sizeof *grown);
    if (!grown) return snprintf(msg, 512, "out of memory"), -1;
    sc->rows = grown;
    bench_row *w = sc->rows + sc->n_rows;
    *w = (bench_row){.base = *tg};
    if (measure_rows(sc, path, n_threads, n_gen, w, msg)) return -1;
    for (int d = 0; d < n; d++) {
        if (d) tg[d] = tg[0], tg[d].spec_extra = 1;
        tg[d].spec = sc->n_rows + d + 1;
    }
    sc->n_rows += n;
    return 0;
}

void bench_spec_cli_csv(const bench_spec_cli *sc, FILE *out, const bench_result *r) {
    if (!r->spec) {
        fprintf(out, ",,,,,,,,,,,,\n");
        return;
    }
    const bench_row *w = &sc->rows[r->spec - 1];
    const spec_summary *sp = &w->spec;
    if (!strcmp(sp->source, "quant"))
        fprintf(out, "quant:%s,", sp->draft);
    else
        fprintf(out, "%s,", sp->draft ? sp->draft : sp->source);
    fprintf(out, "%ld,%d,%.3f,%.3f,", sp->param, sp->n_draft, sp->tok_s_plain, sp->tok_s_spec);
    if (sp->stats.drafted) fprintf(out, "%.4f", (double)sp->stats.accepted / sp->stats.drafted);
    fprintf(out, ",%.4f,%s,%.4f", sp->tok_s_spec / sp->tok_s_plain, sp->policy,
            sp->stats.chosen_best_speedup);
    for (int j = 0; j < 4; j++) fprintf(out, ",%.4f", w->verify_cost[j]);
    fprintf(out, "\n");
}

void bench_spec_cli_json(const bench_spec_cli *sc, FILE *out, const bench_result *r) {
    if (!r->spec) return;
    const bench_row *w = &sc->rows[r->spec - 1];
    fprintf(out, ", \"verify_over_decode\": [");
    for (int j = 0; j < 4; j++) fprintf(out, j ? ", " : ""), json_num(out, w->verify_cost[j]);
    fprintf(out, "], "), report_spec_json(out, &w->spec);
}

void bench_spec_cli_md(const bench_spec_cli *sc) {
    if (sc->n_rows) print_md(sc->rows, sc->n_rows);
}
