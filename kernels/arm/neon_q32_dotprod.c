/* neon_q32_dotprod.c - neon_q32.c's kernels again, compiled for ARMv8.2's int8 dot product
 * (sdot); neon_install picks them when the CPU has it (neon_util.h). */
#if !defined(__clang__)
#pragma GCC target("arch=armv8.2-a+dotprod")
#endif
/* (clang's arm_neon.h, 14, offers vdotq_s32 only to files built with +dotprod: under clang
 * this copy is the plain NEON code again, correct but not faster) */
#define NEON_DOTPROD_COPY 1
#include "neon_q32.c"
