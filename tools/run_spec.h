/* run_spec.h - `scarce run` with speculative decoding (-md FILE, --draft-quant TYPE,
 * --lookup N, --lookup-file FILE, --draft-layers L). cmd_run.c hands its flags and, when one of them was given, the
 * generation loop over to this file. */
#ifndef SCARCE_RUN_SPEC_H
#define SCARCE_RUN_SPEC_H

#include <signal.h>
#include <stdio.h>

#include "../engine/speculative.h"
#include "../engine/tokenizer.h"
#include "report.h"

typedef struct {
    int enabled; /* one of -md / --draft-quant / --lookup / --draft-layers given */
    int n_sources;
    const char *draft_path, *draft_quant, *lookup_file;
    long lookup_n, lookup_min, draft_layers;
    long n_draft, draft_min, draft_max; /* 0 = default */
    long draft_vocab;                   /* --draft-vocab (0 = the whole vocabulary) */
    const char *policy; /* --draft-policy: "cost" (default) or "adapt" */
    int trace;   /* --trace-spec */
    int compare; /* --spec-compare: also time plain decoding of the same length */
} run_spec_args;

void run_spec_usage(FILE *out);
/* Consumes argv[*i] (and its value) when it is a speculative flag: 1; not ours: 0;
 * bad value: -1 (error printed). */
int run_spec_parse(int argc, char **argv, int *i, run_spec_args *sa);
/* What a speculative run did, for the run summary (text or JSON) of cmd_run.c. */
typedef struct {
    spec_summary spec;        /* counters and source; tok_s_* NAN unless --spec-compare */
    run_stats prompt, decode; /* target + draft counters of the prefill and of the rounds;
                                 decode.tokens = tokens emitted (rejected drafts included in
                                 the bytes, so bytes/token are per token the user got) */
    double t_prompt, t_decode;
    const char *stop;
    spec_stats stats;       /* the decoder's own counters (spec.stats is their public form) */
    int has_quant;          /* --draft-quant: */
    draft_quant_info quant; /* the copy it built */
} run_spec_result;

/* Generates up to n_predict tokens after the prompt with speculative decoding into the
 * fresh session s, streaming text to `text`; --trace-spec lines and errors go to stderr.
 * Returns an exit code; *res receives the counters (res->spec.draft points into sa). */
int run_spec(const run_spec_args *sa, model *m, const tokenizer *tok, session *s,
             sampler *smp, const int *prompt, int n_prompt, long n_predict, FILE *text,
             volatile sig_atomic_t *interrupted, run_spec_result *res);

#endif
