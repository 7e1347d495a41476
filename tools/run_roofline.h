/* run_roofline.h - `scarce run --svg FILE`: the run's prompt and decode phases against the
 * machine's roofs (tools/roofline.c, not yet on include/scarce.h alone). */
#ifndef SCARCE_RUN_ROOFLINE_H
#define SCARCE_RUN_ROOFLINE_H

#include "../include/scarce.h"

/* 0, or -1 with msg (512 bytes). */
int run_roofline_svg(const char *path, const char *type, int threads, const scarce_stats *st,
                     char *msg);

#endif
