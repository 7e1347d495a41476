/* run_spec.h - `scarce run` with speculative decoding (-md FILE, --draft-quant TYPE,
 * --lookup N, --lookup-file FILE, --draft-layers L) on scarce_generate_spec: cmd_run.c hands
 * its flags and, when one of them was given, the generation over to tools/run_spec.c. */
#ifndef SCARCE_RUN_SPEC_H
#define SCARCE_RUN_SPEC_H

#include <signal.h>
#include <stdio.h>

#include "../include/scarce.h"

/* The speculative flags of one run and, after the run, its summary. */
typedef struct run_spec_cli run_spec_cli;

run_spec_cli *run_spec_cli_new(void); /* NULL: out of memory */
void run_spec_cli_free(run_spec_cli *sc);
void run_spec_cli_usage(FILE *out);
/* argv[*i] (and its value): 1 consumed, 0 not a speculative flag, -1 bad value (printed). */
int run_spec_cli_parse(run_spec_cli *sc, int argc, char **argv, int *i);
/* 1 when a flag asked for speculative decoding */
int run_spec_cli_enabled(const run_spec_cli *sc);

/* Generates up to n_predict tokens after prompt (its ids[0..n_ids), as scarce_generate_spec
 * makes them, for the trace and --spec-compare) with
 * model's context ctx, streaming text to `text` (and a newline after it); --trace-spec lines
 * and errors go to stderr. The
 * context's statistics (scarce_context_stats) are then the run's: target + draft, per
 * emitted token. Returns an exit code; *stop says why generation ended. */
int run_spec_cli_run(run_spec_cli *sc, scarce_model *model, scarce_context *ctx, const char *prompt,
                     const int32_t *ids, int n_ids, long n_predict, FILE *text,
                     volatile sig_atomic_t *interrupted, const char **stop);
/* The speculative paragraph of the text summary; the JSON member ", \"speculative\": {...}"
 * (a run_report_more: user is the run_spec_cli). */
void run_spec_cli_text(FILE *out, const run_spec_cli *sc);
void run_spec_cli_json(FILE *out, void *sc);

#endif
