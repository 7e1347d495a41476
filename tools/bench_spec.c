/* bench_spec.c - scarce bench --draft (see bench_spec.h). */
#include "bench_spec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/api_impl.h"
#include "../engine/machine.h"
#include "cli.h"
#include "kernel_setup.h"

enum { N_PROMPT = 8 }; /* random token ids the generation starts from */

void bench_spec_usage(FILE *out) {
    fprintf(out,
            "  --draft N    also time speculative decoding of the tgN tokens (greedy, drafts of\n"
            "               up to N tokens, default 8) against plain decoding, for each of:\n"
            "  -md FILE     a draft model      --draft-quant T   an in-memory copy in type T\n"
            "  --lookup N   n-gram lookup      --draft-layers L  the first L layers\n"
            "               (each adds a row; several may be given)\n"
            "  --draft-policy P  cost (default) or adapt (see scarce run -h)\n"
            "               and times a verify pass of k+1 tokens against a decode step\n");
}

int bench_spec_parse(int argc, char **argv, int *i, bench_spec *bs) {
    static const char *const flags[] = {"-md",     "--draft-quant", "--lookup", "--draft-layers",
                                        "--draft", "--draft-policy"};
    static const spec_source sources[] = {SPEC_MODEL, SPEC_QUANT, SPEC_LOOKUP, SPEC_LAYERS};
    const char *f = argv[*i], *v;
    int which = -1;
    for (int k = 0; k < 6; k++)
        if (!strcmp(f, flags[k])) which = k;
    if (which < 0) return 0;
    if (!(v = cli_value("bench", argc, argv, i))) return -1;
    bs->want = 1;
    if (which == 5) return bs->policy = v, 1;
    if (which == 4) return cli_int("bench", f, v, 1, SPEC_MAX_DRAFT, &bs->n_draft) ? -1 : 1;
    if (bs->n_drafts == BENCH_MAX_DRAFTS) {
        cli_error("bench", EXIT_USAGE, "at most %d drafts", BENCH_MAX_DRAFTS);
        return -1;
    }
    bench_draft *d = &bs->drafts[bs->n_drafts];
    *d = (bench_draft){.source = sources[which], .arg = v};
    if ((which == 2 || which == 3) &&
        cli_int("bench", f, v, 1, which == 2 ? LOOKUP_MAX_N : 1 << 20, &d->n))
        return -1;
    bs->n_drafts++;
    return 1;
}

int bench_spec_check(const bench_spec *bs, long n_gen) {
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

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* verify(k+1) / decode(1): passes with all logits at one position after the prompt, the
 * sizes interleaved in each repetition (so load changes hit all alike), medians. */
static int verify_costs(const model *m, const int *ids, double out[4], scarce_error *err) {
    enum { REPS = 7 };
    static const int sizes[5] = {1, 2, 3, 5, 9};
    session s;
    if (session_init(&s, m, N_PROMPT + 9, err)) return -1;
    double t[5][REPS];
    int rc = forward(&s, ids, N_PROMPT, 0, err) ? 0 : -1;
    for (int r = -1; r < REPS && !rc; r++) /* r = -1: warm-up, not kept */
        for (int i = 0; i < 5 && !rc; i++) {
            const double t0 = now_seconds();
            if (!forward(&s, ids, sizes[i], 1, err)) rc = -1;
            if (r >= 0) t[i][r] = now_seconds() - t0;
            kvcache_truncate(&s.cache, N_PROMPT);
        }
    session_free(&s);
    if (rc) return -1;
    for (int i = 0; i < 5; i++) qsort(t[i], REPS, sizeof(double), cmp_double);
    for (int j = 0; j < 4; j++) out[j] = t[j + 1][REPS / 2] / t[0][REPS / 2];
    return 0;
}

/* The draft model of d for target m (NULL for lookup and layers; close_draft frees it). */
static int open_draft(const bench_draft *d, model *m, int n_threads, draft_quant_info *quant,
                      model **dm, scarce_error *err) {
    *dm = NULL;
    const model_options opts = kernel_setup_options(n_threads);
    if (d->source == SPEC_MODEL &&
        (!(*dm = model_load(d->arg, &opts, err)) || spec_check_vocab(m, *dm, err))) {
        model_free(*dm);
        *dm = NULL;
        return -1;
    }
    if (d->source == SPEC_QUANT) {
        if (!(*dm = draft_quant_new(m, d->arg, &opts, quant, err))) return -1;
    }
    return 0;
}

static void close_draft(const bench_draft *d, model *dm) {
    if (d->source == SPEC_QUANT)
        draft_quant_free(dm);
    else
        model_free(dm);
}

static int draft_row(model *m, const int *ids, int n_threads, int n_gen, const bench_spec *bs,
                     const bench_draft *d, bench_row *row, scarce_error *err) {
    static const char *const names[] = {"model", "layers", "lookup", "quant"};
    const int n = bs->n_draft ? (int)bs->n_draft : 8;
    const char *policy = bs->policy ? bs->policy : "cost";
    const spec_params p = {.source = d->source,
                           .policy = strcmp(policy, "adapt") ? SPEC_COST : SPEC_ADAPT,
                           .n_draft = n,
                           .n_draft_min = 1,
                           .n_draft_max = n,
                           .lookup_n = d->source == SPEC_LOOKUP ? (int)d->n : 0,
                           .draft_layers = d->source == SPEC_LAYERS ? (int)d->n : 0};
    row->has_spec = 1;
    row->spec = (spec_summary){.source = names[d->source],
                               .n_draft = n,
                               .policy = policy,
                               .param = d->n,
                               .tok_s_plain = NAN,
                               .tok_s_spec = NAN};
    if (d->source == SPEC_MODEL || d->source == SPEC_QUANT) row->spec.draft = d->arg;
    model *dm;
    draft_quant_info quant;
    if (open_draft(d, m, n_threads, &quant, &dm, err)) return -1;
    const sampler_params greedy = {.temp = 0, .top_p = 1, .seed = 1};
    spec_bench_result r;
    const int rc = spec_bench(m, dm, &p, &greedy, ids, N_PROMPT, n_gen, N_PROMPT + n_gen, &r, err);
    close_draft(d, dm);
    if (rc) return -1;
    api_spec_report(&r.stats, d->source == SPEC_QUANT ? &quant : NULL, &row->spec.stats);
    row->spec.tok_s_plain = r.tok_s_plain, row->spec.tok_s_spec = r.tok_s_spec;
    row->spec.compare_reps = r.reps;
    return 0;
}

int bench_spec_rows(const char *path, int n_threads, int n_gen, const bench_spec *bs, bench_row *tg,
                    scarce_error *err) {
    const model_options opts = kernel_setup_options(n_threads);
    model *m = model_load(path, &opts, err);
    if (!m) return -1;
    int ids[N_PROMPT + 9], rc = -1;
    uint64_t seed = 1234;
    for (int i = 0; i < N_PROMPT + 9; i++)
        ids[i] = (int)(bench_next_random(&seed) % (uint64_t)m->cfg.n_vocab);
    if (verify_costs(m, ids, tg->verify_cost, err)) goto done;
    for (int d = 0; d < bs->n_drafts; d++) {
        bench_row *row = tg + d;
        if (d) *row = *tg, row->spec_extra = 1;
        if (draft_row(m, ids, n_threads, n_gen, bs, &bs->drafts[d], row, err)) goto done;
    }
    rc = 0;
done:
    model_free(m);
    return rc;
}

/* the length the run used most */
static int usual_length(const scarce_spec_report *st) {
    int best = 0;
    for (int k = 1; k <= SCARCE_MAX_DRAFT; k++)
        if (st->passes_by_length[k] > st->passes_by_length[best]) best = k;
    return best;
}

void bench_spec_print_md(const bench_row *rows, int n) {
    printf("\n| model | threads | draft | policy | plain t/s | speculative t/s | accepted | "
           "tokens/pass | usual k | expected | speed-up |\n"
           "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        if (!r->has_spec) continue;
        const scarce_spec_report *st = &r->spec.stats;
        char src[300], acc[32] = "-";
        if (st->drafted) snprintf(acc, sizeof acc, "%.1f%%", 100.0 * st->accepted / st->drafted);
        if (r->spec.draft)
            snprintf(src, sizeof src, "%s %s", r->spec.source, path_base_name(r->spec.draft));
        else
            snprintf(src, sizeof src, "%s %ld", r->spec.source, r->spec.param);
        printf("| %s | %d | %s | %s | %.2f | %.2f | %s | %.2f | %d | %.2fx | %.2fx |\n",
               path_base_name(r->base.model), r->base.threads, src, r->spec.policy, r->spec.tok_s_plain,
               r->spec.tok_s_spec, acc, st->passes ? (double)st->emitted / st->passes : 0.0,
               usual_length(st), st->chosen_best_speedup,
               r->spec.tok_s_spec / r->spec.tok_s_plain);
    }
    printf(
        "\nverify(k+1)/decode(1): a target pass over k+1 tokens against one decode step\n\n"
        "| model | type | threads | k=1 | k=2 | k=4 | k=8 |\n|---|---|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        if (!r->has_spec || r->spec_extra) continue;
        printf("| %s | %s | %d |", path_base_name(r->base.model), r->base.type, r->base.threads);
        for (int j = 0; j < 4; j++) printf(" %.2f |", r->verify_cost[j]);
        printf("\n");
    }
}
