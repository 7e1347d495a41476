/* api_kernel_peak.c - scarce_kernel_peak_measure: the compute roof of a weight format, its
 * kernels timed on data already in cache (the roofline of `scarce run --svg`,
 * tools/roofline.c), and scarce_membw_cached_peak, the memory roof beside it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../kernels/matmul.h"
#include "../quant/types.h"
#include "api_impl.h"
#include "machine.h"
#include "membw.h"

/* 96 rows x 512 columns: at most 192 KB (f32), in L2; the dot kernel's 4 rows are in L1 */
enum { PEAK_COLS = 512, PEAK_ROWS = 96, PEAK_BATCH = 32, DOT_ROWS = 4 };
#define PEAK_SECONDS 0.02 /* long enough for the clock, short enough to run on every --svg */
enum { PEAK_TRIES = 3 };

/* a row of PEAK_COLS floats in type t (its quantizer; else its fast conversion; else zeros) */
static void fill_row(const quant_type *t, const type_kernels *k, const float *x, void *out) {
    if (t->id == QT_F32)
        memcpy(out, x, PEAK_COLS * sizeof(float));
    else if (t->quantize)
        t->quantize(x, out, PEAK_COLS, NULL);
    else if (k && k->from_float)
        k->from_float(x, out, PEAK_COLS);
    else
        memset(out, 0, qtype_row_bytes(t->id, PEAK_COLS));
}

/* 4 x 4 dot products of w's first rows with a's (the tile kernel when the type has one) */
static void dot_tile(const type_kernels *wk, const char *w, size_t w_row, const char *a,
                     size_t a_row, float *s) {
    if (wk->vec_dot_tile) {
        wk->vec_dot_tile(PEAK_COLS, s, DOT_ROWS, w, w_row, DOT_ROWS, a, a_row, DOT_ROWS);
        return;
    }
    for (int j = 0; j < DOT_ROWS; j++)
        for (int i = 0; i < DOT_ROWS; i++)
            wk->vec_dot(PEAK_COLS, &s[j * DOT_ROWS + i], w + i * w_row, a + j * a_row);
}

/* GFLOP/s of the dot kernel on L1 rows, summed over threads that each time themselves (a
 * thread the OS parks for a while on a busy machine then does not pull the others down) */
static double dot_rate(const type_kernels *wk, const char *w, size_t w_row, const char *a,
                       size_t a_row, int threads) {
    double total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
        float s[DOT_ROWS * DOT_ROWS];
        double t = 0;
        long calls = 16;
        for (; t < PEAK_SECONDS && calls < (1L << 30); calls *= 2) {
            const double t0 = now_seconds();
            for (long c = 0; c < calls; c++) {
                dot_tile(wk, w, w_row, a, a_row, s);
                __asm__ volatile("" : : "r"(s) : "memory"); /* keep the results */
            }
            t = now_seconds() - t0;
        }
        total += 2.0 * PEAK_COLS * DOT_ROWS * DOT_ROWS * (double)(calls / 2) / t / 1e9;
    }
    return total;
}

/* GFLOP/s of matmul() of a batch of PEAK_BATCH over an L2-resident matrix: the path prefill
 * takes (the register-tiled GEMMs of kernels/gemm.c where the type has one), in a kernel
 * context of cfg; 0 when it cannot run */
static double matmul_rate(const kernel_config *cfg, const qmatrix *W, const float *X, float *Y) {
    kernel_shape shape = {.max_batch = PEAK_BATCH};
    kernel_shape_add(&shape, W);
    char msg[128];
    kernel_ctx *k = kernel_ctx_new(cfg, &shape, msg);
    double t = 0;
    long calls = 1;
    if (!k || matmul(k, W, X, PEAK_BATCH, Y)) { /* warm-up: threads started, caches filled */
        kernel_ctx_free(k);
        return 0;
    }
    for (; t < PEAK_SECONDS && calls < (1L << 24); calls *= 2) {
        const double t0 = now_seconds();
        for (long c = 0; c < calls; c++) matmul(k, W, X, PEAK_BATCH, Y);
        t = now_seconds() - t0;
    }
    kernel_ctx_free(k);
    return 2.0 * PEAK_ROWS * PEAK_COLS * PEAK_BATCH * (double)(calls / 2) / t / 1e9;
}

/* The rates of weight type wt under cfg into out; 0 or a status with msg set. */
static int measure(const quant_type *wt, const kernel_config *cfg, scarce_kernel_peak *out,
                   char *msg) {
    const quant_type *at = qtype(wt->dot_type);
    const type_kernels *wk = kernels_for(cfg->isa, wt->id);
    if (!at || !wk || !wk->vec_dot)
        return api_fail(msg, SCARCE_ERR_ARGUMENT,
                        "kernel peak: no dot kernel for '%s' in the %s set", wt->name,
                        kernels_isa_name(cfg->isa));
    const size_t w_row = qtype_row_bytes(wt->id, PEAK_COLS),
                 a_row = qtype_row_bytes(at->id, PEAK_COLS);
    if (!w_row || !a_row)
        return api_fail(msg, SCARCE_ERR_ARGUMENT, "kernel peak: %s rows of %d do not fit its block",
                        wt->name, PEAK_COLS);
    char *w = calloc(PEAK_ROWS, w_row), *a = calloc(DOT_ROWS, a_row);
    float *x = malloc(PEAK_BATCH * PEAK_COLS * sizeof *x),
          *y = malloc(PEAK_BATCH * PEAK_ROWS * sizeof *y);
    if (!w || !a || !x || !y) {
        free(w), free(a), free(x), free(y);
        return api_fail(msg, SCARCE_ERR_MEMORY, "kernel peak: out of memory");
    }
    uint32_t seed = 12345;
    for (int i = 0; i < PEAK_BATCH * PEAK_COLS; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / (1 << 24) - 0.5f;
    }
    for (int r = 0; r < PEAK_ROWS; r++)
        fill_row(wt, wk, x + (r % PEAK_BATCH) * PEAK_COLS, w + r * w_row);
    for (int r = 0; r < DOT_ROWS; r++)
        fill_row(at, kernels_for(cfg->isa, at->id), x + r * PEAK_COLS, a + r * a_row);
    const qmatrix W = {
        .data = w, .type = wt->id, .rows = PEAK_ROWS, .cols = PEAK_COLS, .row_bytes = w_row};
    /* a peak: the best of a few tries, so a moment of contention on a shared machine does
     * not lower the roof below what the runs themselves reached */
    for (int tries = 0; tries < PEAK_TRIES; tries++) {
        out->dot_gflops = fmax(out->dot_gflops, dot_rate(wk, w, w_row, a, a_row, cfg->threads));
        out->matmul_gflops = fmax(out->matmul_gflops, matmul_rate(cfg, &W, x, y));
    }
    out->gflops = fmax(out->dot_gflops, out->matmul_gflops);
    free(w), free(a), free(x), free(y);
    return SCARCE_OK;
}

int scarce_kernel_peak_measure(const char *type, const scarce_model_params *params,
                               scarce_kernel_peak *out, char *errbuf, size_t errcap) {
    char msg[API_ERROR_CAP] = "";
    const scarce_model_params defaults = scarce_model_default_params();
    const quant_type *wt = type ? qtype_by_name(type) : NULL;
    model_options o;
    int rc;
    if (!out || out->size != sizeof *out || !type)
        rc = api_fail(msg, SCARCE_ERR_ARGUMENT, "scarce_kernel_peak_measure: %s",
                      !type  ? "type is NULL"
                      : !out ? "out is NULL"
                             : "out->size is not sizeof(scarce_kernel_peak)");
    else if (!wt)
        rc = api_fail(msg, SCARCE_ERR_ARGUMENT, "kernel peak: unknown weight format '%s'", type);
    else if (!(rc = api_kernels_ready(msg)) &&
             !(rc = api_model_options(params ? params : &defaults, &o, msg))) {
        *out = (scarce_kernel_peak){.size = sizeof *out, .n_threads = o.kernels.threads};
        rc = measure(wt, &o.kernels, out, msg);
    }
    if (errbuf && errcap) snprintf(errbuf, errcap, "%s", rc ? msg : "");
    return rc;
}

int scarce_membw_cached_peak(double *read_gb_s) {
    if (!read_gb_s) return SCARCE_ERR_ARGUMENT;
    return membw_peak(read_gb_s, 0) ? SCARCE_ERR_IO : SCARCE_OK;
}
