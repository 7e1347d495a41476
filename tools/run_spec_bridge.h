/* run_spec_bridge.h - what `scarce run` (tools/cmd_run.c, on include/scarce.h) needs of the
 * speculative decoding of tools/run_spec.c and of the roofline picture of tools/roofline.c,
 * in the terms of the public header. Both still run on the engine's own types; this header
 * keeps them out of cmd_run.c until they move onto scarce_generate_spec (tools/ uses only
 * include/scarce.h: run_spec_bridge.c is the one place that reaches behind the handles). */
#ifndef SCARCE_RUN_SPEC_BRIDGE_H
#define SCARCE_RUN_SPEC_BRIDGE_H

#include <signal.h>
#include <stdio.h>

#include "../include/scarce.h"

/* The speculative flags of one run (-md, --draft-quant, --lookup ...) and, after the run,
 * its counters. */
typedef struct run_spec_cli run_spec_cli;

run_spec_cli *run_spec_cli_new(void); /* NULL: out of memory */
void run_spec_cli_free(run_spec_cli *sc);
void run_spec_cli_usage(FILE *out);
/* argv[*i] (and its value): 1 consumed, 0 not a speculative flag, -1 bad value (printed). */
int run_spec_cli_parse(run_spec_cli *sc, int argc, char **argv, int *i);
/* 1 when a flag asked for speculative decoding */
int run_spec_cli_enabled(const run_spec_cli *sc);

/* Generates up to n_predict tokens after the prompt ids[0..n) into the fresh context ctx,
 * streaming text to `text` (and a newline after it); errors go to stderr. The context's
 * statistics (scarce_context_stats) are then the run's: target + draft, per emitted token.
 * Returns an exit code; *stop says why generation ended. */
int run_spec_cli_run(run_spec_cli *sc, scarce_context *ctx, const int32_t *ids, int n,
                     long n_predict, FILE *text, volatile sig_atomic_t *interrupted,
                     const char **stop);
/* The speculative paragraph of the text summary; the JSON member ", \"speculative\": {...}"
 * (a run_report_more: user is the run_spec_cli). */
void run_spec_cli_text(FILE *out, const run_spec_cli *sc);
void run_spec_cli_json(FILE *out, void *sc);

/* --svg FILE: the run's prompt and decode phases against the machine's roofs; 0, or -1
 * with msg (512 bytes). */
int run_roofline_svg(const char *path, const char *type, int threads, const scarce_stats *st,
                     char *msg);

#endif
