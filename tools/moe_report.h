/* moe_report.h - what `scarce run` prints of a mixture-of-experts model, on
 * include/scarce.h: its total and active bytes, the routing statistics (--moe-stats) and
 * the per-token routing trace (--trace-moe) of a context that tracks its router. */
#ifndef SCARCE_MOE_REPORT_H
#define SCARCE_MOE_REPORT_H

#include <stdio.h>

#include "../include/scarce.h"

/* One line: "piece" (padded to a column) | L0 3:.62 1:.38 | L1 ... (the routing of the
 * token the context ran last, id after prev); each expert in its own colour when out is a
 * terminal. */
void moe_report_trace(FILE *out, scarce_model *m, const scarce_context *ctx, int32_t prev,
                      int32_t id);
/* Per layer: how often each expert was chosen, load balance, reuse by consecutive tokens. */
void moe_report_stats(FILE *out, const scarce_moe_info *info, const scarce_context *ctx);
/* Total vs active (per token) weight bytes, and what the run read per decoded token. */
void moe_report_bytes(FILE *out, const scarce_moe_info *info, const scarce_stats *st);
/* ", \"moe\": {...}": the bytes and, with ctx (may be NULL), the routing counts per layer. */
void moe_report_json(FILE *out, const scarce_moe_info *info, const scarce_context *ctx);

#endif
