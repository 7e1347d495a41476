/* imatrix.h - importance matrix: for each weight matrix, the mean squared activation of
 * each input column, E[x_j^2], over the tokens of a text. A weight w_ij multiplies x_j, so
 * its rounding error costs about E[x_j^2] * err_ij^2 in the output: that is the weight the
 * quantizers give each column (quant_type.quantize's `importance`).
 *
 * File: llama-imatrix's GGUF, so that llama-quantize --imatrix reads it: per weight matrix
 * "<weight>.in_sum2" (f32 [cols, 1], sum of x_j^2) and "<weight>.counts" (f32 [1, 1], the
 * rows summed), with general.type = imatrix, imatrix.datasets (array of strings, the text
 * file), imatrix.chunk_count and imatrix.chunk_size (u32). */
#ifndef SCARCE_IMATRIX_H
#define SCARCE_IMATRIX_H

#include <stdint.h>

#include "error.h"

typedef struct imatrix imatrix;

imatrix *imatrix_new(void);
void imatrix_free(imatrix *im);
/* Accumulates B rows of cols activations for `weight`; the signature of session.act_hook
 * (ctx is the imatrix). Out of memory is remembered and reported by imatrix_write. */
void imatrix_observe(void *ctx, const char *weight, const float *x, int B, int64_t cols);
/* Number of weight matrices seen so far. */
int imatrix_count(const imatrix *im);
/* Writes the means atomically. */
int imatrix_write(const imatrix *im, const char *path, int n_chunks, int chunk_size,
                  const char *dataset, scarce_error *err);

/* ---- reading (imatrix_read.c): the three files quantizers meet ----
 *   - llama-imatrix's GGUF, which scarce imatrix writes too: "<weight>.in_sum2" (f32
 *     [cols, n_mat]) and "<weight>.counts" (f32 [n_mat]): mean = sum / count (the first
 *     matrix when there are several; count 0 gives 1, as llama-quantize does);
 *   - scarce imatrix's files before it wrote llama.cpp's layout: one f32 tensor of means
 *     per weight, named like the weight;
 *   - llama-imatrix's legacy .dat: int32 n_entries, then per entry int32 len, name[len],
 *     int32 ncall, int32 n_values, float values[n_values] holding mean * ncall.
 * (layouts from llama.cpp common/imatrix-loader.cpp and tools/quantize/quantize.cpp) */
typedef struct imatrix_file imatrix_file;

imatrix_file *imatrix_open(const char *path, scarce_error *err);
void imatrix_close(imatrix_file *f);
/* Chunks the file says it was computed over (0 when it does not say). */
int imatrix_chunks(const imatrix_file *f);
/* The cols mean squared activations of `weight` into out: 1 found, 0 absent, -1 (err) when
 * the entry has another length or a negative or non-finite value. */
int imatrix_get(const imatrix_file *f, const char *weight, int64_t cols, float *out,
                scarce_error *err);

#endif
