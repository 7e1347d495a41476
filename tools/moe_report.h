/* moe_report.h - printing of mixture-of-experts statistics and the routing trace
 * (scarce run --moe-stats / --trace-moe). */
#ifndef SCARCE_MOE_REPORT_H
#define SCARCE_MOE_REPORT_H

#include <stdio.h>

#include "../engine/moe.h"
#include "../engine/tokenizer.h"

/* One line: "piece" (padded to a column) | L0 3:.62 1:.38 | L1 ... (the routing of the
 * token last run); each expert in its own colour when out is a terminal. */
void moe_report_trace(FILE *out, const tokenizer *tok, int prev, int id, const moe_stats *st);
/* Per layer: how often each expert was chosen, load balance, reuse by consecutive tokens. */
void moe_report_stats(FILE *out, const moe_stats *st);
/* Total vs active (per token) weight bytes, and what the run measured per token. */
void moe_report_bytes(FILE *out, const model *m, const run_stats *rs);

#endif
