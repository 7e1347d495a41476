/* run_spec.h - `scarce run` with speculative decoding (-md FILE, --lookup N,
 * --draft-layers L). cmd_run.c hands its flags and, when one of them was given, the
 * generation loop over to this file. */
#ifndef SCARCE_RUN_SPEC_H
#define SCARCE_RUN_SPEC_H

#include <signal.h>
#include <stdio.h>

#include "../engine/speculative.h"
#include "../engine/tokenizer.h"

typedef struct {
    int enabled; /* one of -md / --lookup / --draft-layers given */
    int n_sources;
    const char *draft_path;
    long lookup_n, draft_layers;
    long n_draft, draft_min, draft_max; /* 0 = default */
    int trace;   /* --trace-spec */
    int compare; /* --spec-compare: also time plain decoding of the same length */
} run_spec_args;

void run_spec_usage(FILE *out);
/* Consumes argv[*i] (and its value) when it is a speculative flag: 1; not ours: 0;
 * bad value: -1 (error printed). */
int run_spec_parse(int argc, char **argv, int *i, run_spec_args *sa);
/* Generates up to n_predict tokens after the prompt with speculative decoding into the
 * fresh session s, streaming text to stdout and the report to stderr. Returns an exit
 * code; *stats (may be NULL) receives the counters for a JSON printer. */
int run_spec(const run_spec_args *sa, model *m, const tokenizer *tok, session *s,
             sampler *smp, const int *prompt, int n_prompt, long n_predict,
             volatile sig_atomic_t *interrupted, spec_stats *stats);

#endif
