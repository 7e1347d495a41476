/* kconfig.h - how the kernels run: which ISA, whether weights are repacked at load, the
 * batch path, the thread policy and the thread count.
 *
 * Read from the environment once, at start-up, by tools/ (kernel_config_from_env); from
 * then on it is a value: each loaded model owns a copy in its kernel context (matmul.h),
 * so a target and a draft model can run differently, and library code never calls
 * getenv. Environment (all optional):
 *   SCARCE_ISA=scalar|avx2|avx512|amx|neon kernels (default: the best this CPU has)
 *   SCARCE_REPACK=0                      keep the file layout (no 8-row interleaving)
 *   SCARCE_GEMM=auto|tiles|own|blas|i8x8|x16 force one batch path (kernels/gemm.h)
 *   SCARCE_ADAPT_THREADS=0               always use all threads (no solo mode, pool.h)
 *   SCARCE_STEAL=0                       static row shares (no work stealing)
 *   SCARCE_RESCUE=0                      wait for a worker's piece however long (pool.h)
 *   SCARCE_LUT=auto|0|1                  lookup-table kernels for Q1_0/Q2_0/TQ2_0 (lut.h):
 *                                        as measured per type, never, wherever there is one */
#ifndef SCARCE_KCONFIG_H
#define SCARCE_KCONFIG_H

#include <stddef.h>

#include "cpu.h"

#define KERNEL_MAX_THREADS 64

typedef struct {
    isa_level isa;     /* kernels to run; supported by this CPU */
    int repack;        /* 1: Q4_0/Q8_0/... weights re-laid 8 rows at a time at load */
    int gemm;          /* -1: the measured choice (gemm_choose); else the gemm_method used */
    int adapt_threads; /* 1: calls run on the caller alone while workers lose (pool.h) */
    int steal;         /* 1: a thread done early takes rows from a late one's share */
    int threads;       /* 1 .. KERNEL_MAX_THREADS */
    int lut;           /* -1: LUT kernels where measured faster (LUT_ON); 0: never; 1: all */
    /* 1: a one-token product may return while a worker still finishes a piece the caller
     * took back from it (pool.h); the weights and inputs it read must then stay mapped
     * until kernel_ctx_quiesce or kernel_ctx_free (matmul.h) */
    int rescue;
} kernel_config;

/* The defaults, without reading the environment: the ISA kernels_init installed, repack
 * on, measured batch path, adaptive threads, stealing, one thread. */
kernel_config kernel_config_default(void);
/* The defaults overridden by the environment variables above. 0, or -1 when a value is
 * unknown or the ISA is not supported by this CPU (msg, 128 bytes, names the variable). */
int kernel_config_from_env(kernel_config *cfg, char *msg);
/* 0 when every field is in range and the ISA runs on this CPU; else -1 with msg (128). */
int kernel_config_check(const kernel_config *cfg, char *msg);
/* 1 when matrices of `type` are packed at load under cfg (repack on, and for a type whose
 * packed kernel is a LUT one, the lut choice says so). */
int kernel_config_packs(const kernel_config *cfg, uint32_t type);
/* "isa=avx2 repack=on gemm=auto adapt_threads=on steal=on threads=2 lut=auto rescue=on" */
void kernel_config_describe(const kernel_config *cfg, char *buf, size_t size);
/* The gemm field for a SCARCE_GEMM name: -1 ("auto" or ""), a gemm_method, or -2 when
 * unknown. "blas" without OpenBLAS is our own GEMM. */
int kernel_config_parse_gemm(const char *name);
/* Name of cfg->gemm: "auto", or gemm_method_name(). */
const char *kernel_config_gemm_name(const kernel_config *cfg);

#endif
