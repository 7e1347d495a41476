/* quantize_run.h - the end-to-end check the format tests share: the scarce binary quantizes
 * a model to a type and generates from the result. */
#ifndef SCARCE_QUANTIZE_RUN_H
#define SCARCE_QUANTIZE_RUN_H

/* `scarce quantize IN OUT TYPE`, then greedy `scarce run -m OUT -n n_tokens` from "Once upon
 * a time". Returns the printed text (malloc'd) when both exit 0 and the text continues the
 * prompt, else NULL after recording a test failure that names the step and its output. */
char *quantize_and_run(const char *in, const char *out, const char *type, int n_tokens);

/* A synthetic one-layer model (n_embd 256, the given n_ff and seed, stories260K's
 * vocabulary) quantized to each of the types and run as quantize_and_run does. Returns how
 * many ran, or -1 when stories260K is missing (the caller skips). */
int synthetic_model_runs(const char *const *types, int n_types, int n_ff, int seed);

#endif
