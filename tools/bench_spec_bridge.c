/* bench_spec_bridge.c - tools/bench_spec.c and tools/roofline.c on bench_rows.h's rows (see
 * bench_spec_bridge.h): the one file of `scarce bench` on report.h's engine types. */
#include "bench_spec_bridge.h"

#include <stdlib.h>
#include <string.h>

#include "bench_spec.h"
#include "cli.h"
#include "roofline.h"

struct bench_spec_cli {
    bench_spec bs;
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
    bench_spec_usage(out);
}

int bench_spec_cli_parse(bench_spec_cli *sc, int argc, char **argv, int *i) {
    return bench_spec_parse(argc, argv, i, &sc->bs);
}

int bench_spec_cli_check(const bench_spec_cli *sc, long n_gen) {
    return bench_spec_check(&sc->bs, n_gen);
}

int bench_spec_cli_rows_per_tg(const bench_spec_cli *sc) {
    return sc->bs.want ? sc->bs.n_drafts : 0;
}

int bench_spec_cli_rows(bench_spec_cli *sc, const char *path, int n_threads, int n_gen,
                        bench_result *tg, char *msg) {
    const int n = sc->bs.n_drafts;
    bench_row *grown = realloc(sc->rows, (size_t)(sc->n_rows + n) * sizeof *grown);
    if (!grown) return snprintf(msg, 512, "out of memory"), -1;
    sc->rows = grown;
    bench_row *w = sc->rows + sc->n_rows;
    *w = (bench_row){.base = *tg};
    scarce_error err = {0};
    if (bench_spec_rows(path, n_threads, n_gen, &sc->bs, w, &err))
        return snprintf(msg, 512, "%s", err.msg), -1;
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
    if (sc->n_rows) bench_spec_print_md(sc->rows, sc->n_rows);
}

int bench_roofline_svg(const char *path, const bench_result *rows, int n, char *msg) {
    scarce_error err = {0};
    const int rc = roofline_write_bench(path, rows, n, &err);
    if (rc) snprintf(msg, 512, "%s", err.msg);
    return rc;
}
