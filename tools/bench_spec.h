/* bench_spec.h - scarce bench --draft: plain against speculative decoding of the same tgN
 * tokens, for one or several drafts in one run (each -md, --draft-quant, --lookup,
 * --draft-layers adds one), and what a verify pass of k + 1 tokens costs against a decode
 * step, in the terms of bench_rows.h (tools/bench_spec.c, on include/scarce.h). */
#ifndef SCARCE_BENCH_SPEC_H
#define SCARCE_BENCH_SPEC_H

#include <stdio.h>

#include "bench_rows.h"

/* The --draft flags of one bench and the speculative results of its rows. */
typedef struct bench_spec_cli bench_spec_cli;

bench_spec_cli *bench_spec_cli_new(void); /* NULL: out of memory */
void bench_spec_cli_free(bench_spec_cli *sc);
void bench_spec_cli_usage(FILE *out);
/* argv[*i] (and its value): 1 consumed, 0 not ours, -1 error printed. */
int bench_spec_cli_parse(bench_spec_cli *sc, int argc, char **argv, int *i);
/* After parsing: 0, or an exit code with the error printed. */
int bench_spec_cli_check(const bench_spec_cli *sc, long n_gen);
/* The rows each tgN row becomes: 0 without --draft, else one per draft. */
int bench_spec_cli_rows_per_tg(const bench_spec_cli *sc);
/* For the tgN row tg of the model at path: one speculative result per draft, the first in
 * tg itself and the others in copies at tg[1 .. rows_per_tg) (marked spec_extra), and the
 * verify costs. 0, or -1 with msg (512 bytes). */
int bench_spec_cli_rows(bench_spec_cli *sc, const char *path, int n_threads, int n_gen,
                        bench_result *tg, char *msg);
/* The speculative cells of a row: csv (from spec_source on, with the newline), json
 * (", \"verify_over_decode\": [...], \"speculative\": {...}"; nothing for a plain row). */
void bench_spec_cli_csv(const bench_spec_cli *sc, FILE *out, const bench_result *r);
void bench_spec_cli_json(const bench_spec_cli *sc, FILE *out, const bench_result *r);
/* md: the acceptance / speed-up table and the verify-cost table. */
void bench_spec_cli_md(const bench_spec_cli *sc);

#endif
