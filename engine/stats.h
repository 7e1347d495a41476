/* stats.h - what a run costs: counters filled by the forward pass itself. */
#ifndef SCARCE_STATS_H
#define SCARCE_STATS_H

#include <stdint.h>

typedef struct {
    /* accumulated over every forward() call */
    uint64_t weight_bytes;  /* weight bytes read (a batch reads each row once) */
    uint64_t kv_bytes;      /* K/V bytes read by attention */
    uint64_t flops;         /* 2 x multiply-adds */
    uint64_t tokens;        /* tokens processed */
    uint64_t passes;        /* forward() calls */
    double t_forward;       /* seconds inside forward() */
} run_stats;

double now_seconds(void);

#endif
