/* quantize_model.h - whole-model quantization: GGUF in, GGUF out, tensor by tensor.
 *
 * Every matrix gets the type quant/policy.c chooses for the requested scheme (with a
 * per-tensor fallback when its rows fit no block), 1-D tensors stay f32, all metadata and
 * the tokenizer are copied, general.file_type is set, and `scarce.types` lists our own
 * types (ids >= 200) when any tensor uses one. The output is written atomically: on any
 * error (NaN in a tensor, full disk, opts->cancel) no file is left behind. Rows are
 * quantized in parallel, each by a pure function of its values: any thread count gives
 * the same bytes. */
#ifndef SCARCE_QUANTIZE_MODEL_H
#define SCARCE_QUANTIZE_MODEL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Where a run is, for a progress line: after each chunk of rows of each tensor. */
typedef struct {
    int tensor, n_tensors; /* tensor (0-based) being written, of n_tensors */
    const char *name;      /* its name */
    int64_t bytes_done;    /* source tensor bytes read so far, of bytes_total */
    int64_t bytes_total;
} quantize_progress;

typedef struct {
    int n_threads;            /* 0: OpenMP's default; the output is the same for any count */
    const char *imatrix_path; /* NULL: no importance; else a file written by scarce imatrix */
    int pure;                 /* 1: no per-tensor upgrades of llama.cpp's mixes */
    /* called after each chunk of rows; may be NULL */
    void (*progress)(void *ctx, const quantize_progress *p);
    void *progress_ctx;
    /* when set and non-zero (a signal handler's flag), the run stops at the next chunk with
     * an error and removes its temporary file; may be NULL */
    const volatile sig_atomic_t *cancel;
} quantize_opts;

typedef struct {
    char name[96];
    uint32_t src_type, type;
    char reason[160]; /* "" when the type is the scheme's base type */
    int n_dims;
    int64_t ne[4];
    int64_t n_elements;
    size_t bytes;
    double rmse;       /* sqrt(mean((dequantized - source)^2)) */
    double rms_source; /* sqrt(mean(source^2)), to read rmse relative to the weights */
    int has_importance;
} quantize_tensor_info;

typedef struct {
    int n_tensors;
    quantize_tensor_info *tensors; /* malloc'd; quantize_report_free() */
    uint32_t file_type;
    size_t total_bytes; /* tensor data bytes written */
    int64_t n_elements;
    double bits_per_weight; /* over all tensors */
    int dequantized_input;  /* 1 when the input held quantized tensors (dequantized first) */
    int imatrix_chunks;     /* chunk count stored in the imatrix file (0 without) */
    int n_imatrix_used;     /* tensors that got importance values */
} quantize_report;

/* Quantizes `in` into `out` with scheme `type_name` (quant/policy.h: "q4_0", "q4_k_m",
 * "fp8_e4m3" ...). opts and rep may be NULL. 0 ok; -1 with err filled. */
int quantize_model(const char *in, const char *out, const char *type_name,
                   const quantize_opts *opts, quantize_report *rep, scarce_error *err);
void quantize_report_free(quantize_report *rep);

#endif
