/* kernel_setup.h - the kernel configuration of this process: read from the environment
 * once at start-up (scarce.c), handed to every model the tools load (with their -t, as
 * scarce_model_params through api_setup.h), and printed by `scarce --version`. */
#ifndef SCARCE_KERNEL_SETUP_H
#define SCARCE_KERNEL_SETUP_H

#include <stdio.h>

/* scarce_model_params_from_env, then the dispatch table for its ISA (scarce_backend_init).
 * 0, or -1 with msg (512 bytes) set. */
int kernel_setup_from_env(char *msg);

/* `scarce --version`: version, build flags, ISA compiled / detected / configured, BLAS,
 * the kernel configuration. */
void kernel_setup_print_version(FILE *out);

#endif
