/* kernel_setup.h - the kernel configuration of this process: read from the environment
 * once at start-up (scarce.c), handed to every model the tools load (with their -t; as
 * scarce_model_params through api_setup.h), and printed by `scarce --version`. */
#ifndef SCARCE_KERNEL_SETUP_H
#define SCARCE_KERNEL_SETUP_H

#include <stdio.h>

#include "../engine/model.h"

/* kernel_config_from_env, then the dispatch table for its ISA. 0, or -1 with msg (128). */
int kernel_setup_from_env(char *msg);
/* Load options for a model run on n_threads: the start-up configuration with that count. */
model_options kernel_setup_options(int n_threads);
/* The start-up configuration. */
const kernel_config *kernel_setup_config(void);

/* `scarce --version`: version, build flags, ISA compiled / detected / configured, BLAS,
 * the kernel configuration. */
void kernel_setup_print_version(FILE *out);

#endif
