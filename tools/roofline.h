/* roofline.h - the roofline picture of `scarce bench --svg` and `scarce run --svg`: where each
 * measured run sits against the machine's two limits. x = arithmetic intensity (FLOP per
 * byte read), y = achieved GFLOP/s, both log scale. The memory roof is y = bandwidth x
 * intensity with the read bandwidth `scarce membw` measured and cached
 * (scarce_membw_cached_peak); the compute roof of a weight type is the rate of that type's
 * kernels on data already in cache, measured when the picture is drawn
 * (scarce_kernel_peak_measure). See docs/bandwidth.md. The commands call it through
 * roofline_svg.h. */
#ifndef SCARCE_ROOFLINE_H
#define SCARCE_ROOFLINE_H

#include "roofline_svg.h"

typedef struct {
    char type[16], test[32]; /* weight type; "pp128", "tg64" */
    int threads;
    double intensity; /* FLOPs / (weight + KV bytes) per token */
    double gflops;    /* FLOPs per token x tok/s / 1e9 */
} roofline_point;

/* Draws the points, the memory roof (when scarce membw has cached a peak; otherwise the
 * picture says so) and one compute roof per weight type of the points (at the most threads
 * its points used, in the process's kernel configuration); written atomically. Each point
 * is one <circle class="point">. 0, or -1 with msg (512 bytes) set. */
int roofline_write(const char *path, const roofline_point *pts, int n, char *msg);

#endif
