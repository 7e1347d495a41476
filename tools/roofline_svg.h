/* roofline_svg.h - `scarce run --svg FILE` and `scarce bench --svg FILE`: the measured
 * phases or rows against the machine's roofs (tools/roofline.c). */
#ifndef SCARCE_ROOFLINE_SVG_H
#define SCARCE_ROOFLINE_SVG_H

#include "../include/scarce.h"
#include "bench_rows.h"

/* A run's prompt and decode phases; 0, or -1 with msg (512 bytes). */
int run_roofline_svg(const char *path, const char *type, int threads, const scarce_stats *st,
                     char *msg);
/* Every bench row; 0, or -1 with msg (512 bytes). */
int bench_roofline_svg(const char *path, const bench_result *rows, int n, char *msg);

#endif
