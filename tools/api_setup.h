/* api_setup.h - the process's kernel configuration (SCARCE_ISA, SCARCE_REPACK, SCARCE_GEMM,
 * SCARCE_ADAPT_THREADS, SCARCE_STEAL, SCARCE_RESCUE, SCARCE_LUT, read once at start-up by
 * tools/kernel_setup.c through scarce_model_params_from_env) as the model parameters of
 * include/scarce.h: how the commands open their models. */
#ifndef SCARCE_API_SETUP_H
#define SCARCE_API_SETUP_H

#include "../include/scarce.h"

/* The start-up configuration with n_threads (0 = the physical cores) for scarce_model_open. */
scarce_model_params api_setup_model_params(int n_threads);

#endif
