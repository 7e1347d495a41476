/* cpu.h - feature detection and the dispatch table (vec_dot / from_float of every type).
 *
 * kernels_init() runs once at start-up: it detects the ISA (or takes SCARCE_ISA=scalar|avx2|
 * avx512|neon from the environment, or the argument) and fills each quant_type's vec_dot
 * and from_float with the best kernel this CPU has, the scalar reference (kernels/ref/)
 * where there is none. This is the only global mutable state of the program. */
#ifndef SCARCE_CPU_H
#define SCARCE_CPU_H

#include <stddef.h>

typedef enum { ISA_SCALAR = 0, ISA_AVX2, ISA_AVX512, ISA_NEON } isa_level;

/* isa: NULL = $SCARCE_ISA or the best available. Returns 0, or -1 when the requested ISA
 * is unknown or not supported by this CPU (msg, if not NULL, says why; 128 bytes). */
int kernels_init(const char *isa, char *msg);
isa_level kernels_isa(void);
const char *kernels_isa_name(isa_level isa);
/* How many of the features the avx512 kernels need (AVX-512 F, BW, VL, DQ, VNNI) this CPU
 * lacks: 0 = all there. names (size bytes, may be NULL) gets the missing ones, as
 * "avx512f/avx512vnni". */
int cpu_missing_avx512(char *names, size_t size);
/* Best ISA the CPU supports. */
isa_level cpu_best_isa(void);

#endif
