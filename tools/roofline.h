/* roofline.h - the roofline picture of `scarce bench --svg` and `scarce run --svg`: where each
 * measured run sits against the machine's two limits. x = arithmetic intensity (FLOP per
 * byte read), y = achieved GFLOP/s, both log scale. The memory roof is y = bandwidth x
 * intensity with the read bandwidth `scarce membw` measured and cached; the compute roof of
 * a weight type is the rate of that type's kernels on data already in cache, measured when
 * the picture is drawn (roofline_compute_peak). See docs/bandwidth.md. */
#ifndef SCARCE_ROOFLINE_H
#define SCARCE_ROOFLINE_H

#include "../engine/error.h"

typedef struct {
    char type[16], test[32]; /* weight type; "pp128", "tg64" */
    int threads;
    double intensity; /* FLOPs / (weight + KV bytes) per token */
    double gflops;    /* FLOPs per token x tok/s / 1e9 */
} roofline_point;

/* The compute roof of a weight type at `threads` threads, measured now (~0.2 s): the best of
 * 3 tries of the larger of (a) its dot kernel (vec_dot_tile, else vec_dot) on rows in L1,
 * each thread timing itself, summed, and (b) matmul() of a 32-token batch over a matrix in
 * L2 (the prefill path, with the GEMMs of kernels/gemm.c). GFLOP/s; 0 ok, -1 with err set. */
int roofline_compute_peak(const char *type, int threads, double *gflops, scarce_error *err);

/* Draws the points, the memory roof (when scarce membw has cached a peak; otherwise the
 * picture says so) and one compute roof per weight type of the points (at the most threads
 * its points used); written atomically. Each point is one <circle class="point">. */
int roofline_write(const char *path, const roofline_point *pts, int n, scarce_error *err);

/* The points of bench's rows (a run's: run_roofline_svg, tools/roofline_svg.h). */
#include "bench_rows.h"
int roofline_write_bench(const char *path, const bench_result *rows, int n, scarce_error *err);

#endif
