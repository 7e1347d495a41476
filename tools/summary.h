/* summary.h - the pieces of run's and bench's summaries that are said in the terms of
 * include/scarce.h alone: JSON values, a model's kernel parameters, the kernel code that
 * really ran, the CPU. */
#ifndef SCARCE_SUMMARY_H
#define SCARCE_SUMMARY_H

#include <stdio.h>

#include "../include/scarce.h"

/* JSON pieces: a quoted, escaped string; a number (null when not finite). */
void json_str(FILE *out, const char *s);
void json_num(FILE *out, double v);

/* The parameters a model runs with as one JSON object:
 * {"isa": "avx2", "repack": true, "gemm": "auto", "adapt_threads": true, "steal": true,
 *  "threads": 2} */
void summary_params_json(FILE *out, const scarce_model_params *p);

/* "avx2 set; matmul f32 avx2, q6_k avx2; attention avx2" */
void summary_kernels_run_text(const scarce_kernels_run *kr, char *buf, size_t cap);
/* {"set": "avx2", "matmul": [{"type": "q6_k", "isa": "avx2", "bytes": N}, ...],
 *  "attention": "avx2"} */
void summary_kernels_run_json(FILE *out, const scarce_kernels_run *kr);

/* "kernels: <the kernels run text>; CPU <model>, N physical cores" (and a newline) */
void summary_kernels_line(FILE *out, const scarce_kernels_run *kr, const scarce_machine *mach);

#endif
