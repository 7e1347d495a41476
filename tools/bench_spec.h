/* bench_spec.h - scarce bench --draft: plain against speculative decoding of the same tgN
 * tokens, for one or several drafts in one run (each -md, --draft-quant, --lookup,
 * --draft-layers adds one), and what a verify pass of k + 1 tokens costs against a decode
 * step. cmd_bench.c parses through here and adds the rows. */
#ifndef SCARCE_BENCH_SPEC_H
#define SCARCE_BENCH_SPEC_H

#include <stdint.h>

#include "report.h"

#define BENCH_MAX_DRAFTS 8

typedef struct {
    spec_source source;
    const char *arg; /* -md: the path; --draft-quant: the type */
    long n;          /* --lookup: longest n-gram; --draft-layers: L */
} bench_draft;

typedef struct {
    int want;           /* --draft or a draft source was given */
    long n_draft;       /* --draft N: the longest draft (default 8) */
    const char *policy; /* --draft-policy: cost (default) or adapt */
    bench_draft drafts[BENCH_MAX_DRAFTS];
    int n_drafts;
} bench_spec;

void bench_spec_usage(FILE *out);
/* argv[*i] (and its value): 1 consumed, 0 not ours, -1 error printed. */
int bench_spec_parse(int argc, char **argv, int *i, bench_spec *bs);
/* After parsing: 0, or an exit code with the error printed. */
int bench_spec_check(const bench_spec *bs, long n_gen);
/* For the tgN row tg of the model at path: one speculative result per draft, the first in
 * tg itself and the others in copies of it at tg[1..n_drafts) (marked spec_extra), and
 * the verify costs. */
int bench_spec_rows(const char *path, int n_threads, int n_gen, const bench_spec *bs, bench_row *tg,
                    scarce_error *err);
/* md: the acceptance / speed-up table and the verify-cost table. */
void bench_spec_print_md(const bench_row *rows, int n);

/* Shared with cmd_bench.c: splitmix64 for reproducible token ids; a path's file name. */
uint64_t bench_next_random(uint64_t *state);
const char *path_base_name(const char *path);

#endif
